//! The tool layers of a cross-layer read assertion
//! (`assert never WHO read "GLOB"`): every tool argument that can name a
//! file (`agentpol_core::eval::reads` is the definition; the replay goes
//! through it).
//!
//! * A `path` argument: the pattern's globs moved onto the argument, by the
//!   same substitution the AP0514 finding uses
//!   ([`super::super::cross_layer::fs_path_on`]), so the question is exact.
//! * A `url` argument: the question is whether a call with a `file:` URL
//!   there gets a forbidden decision. The URL's path is a string slot (rules
//!   compare it with `like`), not a path; the file a `file:` URL names is its
//!   path decoded and resolved, which no string pattern ties to a glob. So
//!   the solver finds the call, and the file is put in afterwards
//!   ([`file_url_candidates`]). When no rule of the unit reads the URL's
//!   path, that cannot change the decision and the answer is exact; when
//!   one does and no candidate is confirmed, the layer is reported as
//!   undecided (AP0510), never as proved.

use super::super::cross_layer::fs_path_on;
use super::{Layer, Via};
use crate::encode::{Val, Values};
use crate::formula::{matcher_formula, Atom, Part, Schema, Slot, Unsupported, F};
use crate::paths::path_universe;
use crate::report::RuleRef;
use crate::strings::CharPattern;
use crate::witness::{request, Who};
use agentpol_core::eval::reads::url_path_of;
use agentpol_core::ir::{Action, ArgType, Assertion, Effect, Matcher, Policy};
use agentpol_core::request::Request;

/// One layer per tool argument that can name a file: every `path` argument
/// and every `url` argument of every declared tool.
pub(super) fn tool_layers(policy: &Policy) -> Vec<Layer> {
    let mut out = Vec::new();
    for t in &policy.tools {
        for arg in &t.args {
            let via = match arg.ty {
                ArgType::Path => Via::PathArg(arg.name.clone()),
                ArgType::Url => Via::FileUrl(arg.name.clone()),
                _ => continue,
            };
            out.push(Layer {
                action: Action::Read,
                part: Part::Tool(t.name.clone()),
                via,
            });
        }
    }
    out
}

/// The assertion's globs on path argument `arg`.
pub(super) fn on_path_arg(a: &Assertion, sc: &Schema<'_>, arg: &str) -> Result<F, Unsupported> {
    if !matches!(a.matcher, Matcher::Fs { .. }) {
        return Err("a cross-layer assertion whose pattern is not a set of paths".into());
    }
    let f = matcher_formula(&a.matcher, sc)?;
    Ok(fs_path_on(&f, &Slot::Arg(arg.to_string())))
}

/// URL argument `arg` has scheme `file`.
pub(super) fn file_scheme(arg: &str) -> F {
    F::atom(Atom::Pat(
        Slot::UrlScheme(arg.to_string()),
        CharPattern::literal("file"),
    ))
}

/// Calls to try for a solver model of the `file:` URL layer: the model with
/// the URL's path replaced by a file each glob matches; then, for rules that
/// want the URL's path to look a certain way, the model's own path followed
/// by enough `..%2F` to climb to `/` and the file with its `/`s encoded
/// (`file:///pub/..%2F..%2Fhome%2Fa%2F.ssh`, which URL parsing leaves alone
/// and a reader that decodes it opens as `/home/a/.ssh`).
pub(super) fn file_url_candidates(
    policy: &Policy,
    max_states: usize,
    a: &Assertion,
    who: &Who,
    part: &Part,
    arg: &str,
    v: &Values,
) -> Vec<Request> {
    let Matcher::Fs { globs } = &a.matcher else {
        return Vec::new();
    };
    let slot = Slot::UrlPath(arg.to_string());
    let model_path = v
        .str(&slot)
        .unwrap_or("/")
        .trim_end_matches('/')
        .to_string();
    let depth = model_path.matches('/').count() + model_path.matches("%2F").count() + 1;
    let with_path = |path: String| {
        let mut w = v.clone();
        w.slots.insert(slot.clone(), Val::Str(path));
        request(policy, who, part, &w)
    };
    let mut out = Vec::new();
    let mut climbs = Vec::new();
    for g in globs {
        let u = path_universe(&[g], max_states);
        let Some(file) = (0..u.len())
            .find(|&c| u.accepts(c, 0))
            .map(|c| u.witness(c))
        else {
            continue;
        };
        let encoded = url_path_of(&file);
        let tail = encoded.trim_start_matches('/').replace('/', "%2F");
        out.push(with_path(encoded));
        climbs.push(with_path(format!(
            "{model_path}/{}{tail}",
            "..%2F".repeat(depth)
        )));
    }
    out.extend(climbs);
    out
}

/// Does a rule of the unit read url argument `arg`'s path?
pub(super) fn tests_url_path(
    own: &[(Effect, F, RuleRef)],
    agent: &[(Effect, F, RuleRef)],
    arg: &str,
) -> bool {
    let slot = Slot::UrlPath(arg.to_string());
    own.iter().chain(agent).any(|(_, f, _)| {
        let mut atoms = Vec::new();
        f.atoms(&mut atoms);
        atoms.iter().any(|x| match x {
            Atom::Pat(s, _) | Atom::InStrParam(s, _) => *s == slot,
            Atom::StrEq(s, t) => *s == slot || *t == slot,
            _ => false,
        })
    })
}

/// Why a `file:` URL layer stays open when the rules read the URL's path.
pub(super) fn url_path_undecided(arg: &str) -> String {
    format!(
        "a call whose argument `{arg}` is a `file:` URL gets a forbidden decision, and the \
         tool's rules test `{arg}.path`; no such URL found names a file the assertion \
         covers, but the verifier does not relate `{arg}.path` patterns to the file a \
         `file:` URL names, so it cannot rule one out"
    )
}
