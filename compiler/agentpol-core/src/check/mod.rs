//! Module loading, name resolution, type checking and lowering to the IR.
//!
//! Architecture invariant: this is the only place that builds [`ir::Policy`]
//! values; everything downstream reads them.
//!
//! Passes, in order (each an `impl Checker` block in its own file):
//!
//! 1. `load`: parse the root and follow imports (each file once; cycles AP0108).
//! 2. `names`: namespaces per module; `decls`: tool signatures (global),
//!    params, secrets; consts and sets evaluated once (iteratively).
//! 3. `blocks`: every profile, agent and skill body is checked once into a
//!    home-independent form (rules with validated literals, `~` pending).
//! 4. `lower`: agents flattened with their includes, `~` expanded per agent,
//!    stable rule ids, skill escalation (AP0401).
//! 5. `asserts`: assertions and tests of the root file.
//!
//! Decisions not fixed by the spec:
//!
//! * Agents in imported modules are an **error** (AP0402): they would
//!   otherwise be silently ignored. Assertions and tests in imported modules
//!   are ignored with a **warning** (AP0407), so a library can carry its own
//!   tests and still be imported.
//! * Imports are not re-exported: `a::b::c` resolves `a::b` as an import alias
//!   or imported module path of the current file, then `c` in that module.
//! * A file module's qualified name (for params and secrets in the IR) is the
//!   alias under which it was first imported (breadth first from the root),
//!   made unique with `_2`, `_3`...; std modules are `std::NAME`; the root's
//!   names are bare.
//! * `assert never * ...` with a `~` pattern becomes one assertion per agent
//!   (target `Agent`), each with that agent's home; skills can only narrow
//!   their agent, so this covers them.

mod asserts;
mod blocks;
mod cond;
mod ctx;
mod decls;
pub mod glob;
pub mod lit;
mod load;
mod lower;
pub mod misc;
mod names;
pub mod net;
pub mod ruleid;
#[doc(hidden)]
pub mod testgen;
mod values;

use crate::diag::{codes, Diag};
use crate::ir;
use crate::source::{Loader, SourceMap};
use crate::span::{FileId, Span};
use crate::syntax::ast::Item;
use crate::syntax::ParsedFile;
use ctx::{Checker, DefKind};

pub use cond::MAX_DISJUNCTS;
pub use glob::MAX_ALTERNATIVES;
pub use load::import_alias;
pub use names::MAX_SET_ELEMS;
use std::collections::{HashMap, HashSet};

/// A use of a name and the definition it resolved to (for the LSP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Where the name is used.
    pub use_span: Span,
    /// Where it is defined.
    pub def_span: Span,
    /// The name as written.
    pub name: String,
}

/// What a module-level name defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefinitionKind {
    /// `const`.
    Const,
    /// `set`.
    Set,
    /// `param`.
    Param,
    /// `secret`.
    Secret,
    /// `profile`.
    Profile,
    /// `agent`.
    Agent,
    /// `tool` (a signature; tools are global, first declaration wins).
    Tool,
}

impl DefinitionKind {
    /// The keyword that introduces it.
    pub fn word(self) -> &'static str {
        match self {
            DefinitionKind::Tool => "tool",
            DefinitionKind::Const => DefKind::Const.word(),
            DefinitionKind::Set => DefKind::Set.word(),
            DefinitionKind::Param => DefKind::Param.word(),
            DefinitionKind::Secret => DefKind::Secret.word(),
            DefinitionKind::Profile => DefKind::Profile.word(),
            DefinitionKind::Agent => DefKind::Agent.word(),
        }
    }
}

impl From<DefKind> for DefinitionKind {
    fn from(k: DefKind) -> Self {
        match k {
            DefKind::Const => DefinitionKind::Const,
            DefKind::Set => DefinitionKind::Set,
            DefKind::Param => DefinitionKind::Param,
            DefKind::Secret => DefinitionKind::Secret,
            DefKind::Profile => DefinitionKind::Profile,
            DefKind::Agent => DefinitionKind::Agent,
        }
    }
}

/// One module-level definition (for the LSP: outlines, go-to-definition,
/// hover), kept whether or not the compilation has errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// What it is.
    pub kind: DefinitionKind,
    /// The name as written.
    pub name: String,
    /// The name as the IR spells it (`std::net::private`, or bare in the root).
    pub qualified: String,
    /// Where the name is written.
    pub name_span: Span,
    /// The whole item.
    pub item_span: Span,
}

/// Everything one compilation produced.
#[derive(Clone, Debug)]
pub struct Compilation {
    /// Every file loaded (the root first, then imports).
    pub sources: SourceMap,
    /// The root file.
    pub root: FileId,
    /// The checked IR; `None` when there are errors.
    pub policy: Option<ir::Policy>,
    /// When there are errors: the IR as far as it could be built (rules,
    /// agents or assertions with errors are missing or incomplete); `None`
    /// when [`Compilation::policy`] is set (not cloned: the IR can be large).
    /// For editors that navigate a file being edited, through
    /// [`Compilation::navigable_policy`]; never to enforce or verify.
    pub partial_policy: Option<ir::Policy>,
    /// Every module-level definition of every loaded file (in definition
    /// order: by file, then source order), then every tool's first
    /// declaration; kept when there are errors.
    pub definitions: Vec<Definition>,
    /// All diagnostics, errors and warnings, in a stable order (by file,
    /// then span, then emission order).
    pub diagnostics: Vec<Diag>,
    /// Name uses and their definitions.
    pub references: Vec<Reference>,
    /// The parse of every file, indexed by [`FileId`] (for the LSP and formatter).
    pub parsed: Vec<ParsedFile>,
    /// The `#[allow(…)]` comments of every file. They are applied by whoever
    /// shows the diagnostics ([`crate::diag::suppress::apply`]), after the
    /// verifier and backends have added theirs.
    pub pragmas: Vec<crate::diag::suppress::Pragma>,
}

impl Compilation {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diag::is_error)
    }

    /// The checked IR, or with errors the partial one: for navigation only.
    pub fn navigable_policy(&self) -> Option<&ir::Policy> {
        self.policy.as_ref().or(self.partial_policy.as_ref())
    }

    /// The definition a name use at byte `offset` of `file` resolves to.
    pub fn definition_at(&self, file: FileId, offset: u32) -> Option<&Reference> {
        self.references
            .iter()
            .filter(|r| {
                r.use_span.file == file && r.use_span.start <= offset && offset < r.use_span.end
            })
            .min_by_key(|r| r.use_span.len())
    }
}

/// Compiles the root file `root_name` with text `root_text`; imports go through `loader`.
pub fn compile(root_name: &str, root_text: &str, loader: &dyn Loader) -> Compilation {
    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    let modules = load::load(root_name, root_text, loader, &mut sources, &mut diags);
    let (policy, mut diagnostics, references, definitions) = {
        let mut ck = Checker::new(&modules, &sources, diags);
        let policy = run(&mut ck);
        let definitions = definitions(&ck);
        (policy, ck.diags, ck.refs, definitions)
    };
    let mut pragmas = Vec::new();
    for m in &modules {
        let (p, d) = crate::diag::suppress::pragmas(&m.parsed);
        pragmas.extend(p);
        diagnostics.extend(d);
    }
    sort_and_dedup(&mut diagnostics);
    let has_errors = diagnostics.iter().any(Diag::is_error);
    let (policy, partial_policy) = if has_errors {
        (None, policy)
    } else {
        (policy, None)
    };
    Compilation {
        root: modules.first().map(|m| m.file).unwrap_or_default(),
        parsed: modules.into_iter().map(|m| m.parsed).collect(),
        sources,
        policy,
        partial_policy,
        definitions,
        diagnostics,
        references,
        pragmas,
    }
}

/// The definitions table of a checker that has run.
fn definitions(ck: &Checker<'_>) -> Vec<Definition> {
    let mut out: Vec<Definition> = (0..ck.defs.len())
        .filter_map(|id| {
            let d = ck.defs.get(id)?;
            Some(Definition {
                kind: d.kind.into(),
                name: d.name.clone(),
                qualified: ck.qualified(id),
                name_span: d.name_span,
                item_span: ck.item(id).map_or(d.name_span, Item::span),
            })
        })
        .collect();
    out.extend(ck.tools.iter().map(|t| Definition {
        kind: DefinitionKind::Tool,
        name: t.sig.name.clone(),
        qualified: t.sig.name.clone(),
        name_span: t.name_span,
        item_span: t.sig.src.span,
    }));
    out
}

fn run(ck: &mut Checker<'_>) -> Option<ir::Policy> {
    ck.declare();
    ck.declare_tools();
    ck.declare_params();
    ck.eval_all_consts();
    ck.declare_secrets();

    let mut profiles = HashMap::new();
    let mut agents = Vec::new();
    for def in 0..ck.defs.len() {
        let Some(d) = ck.defs.get(def).cloned() else {
            continue;
        };
        let Some(item) = ck.item(def) else { continue };
        match (d.kind, item) {
            (DefKind::Profile, Item::Profile(b)) => {
                let body = ck.elab_profile(d.module, b);
                profiles.insert(def, body);
            }
            (DefKind::Agent, Item::Agent(b)) => {
                if ck.modules.get(d.module).is_some_and(|m| m.is_root) {
                    agents.push(ck.elab_agent(d.module, b));
                } else {
                    ck.emit(
                        Diag::error(
                            &codes::AGENT_IN_MODULE,
                            b.name.span,
                            format!("agent `{}` is in an imported module", b.name.name),
                        )
                        .label("agents are compiled from the root file only")
                        .help("turn it into a `profile` and `include` it from an agent in the root file"),
                    );
                }
            }
            _ => {}
        }
    }
    ck.check_include_cycles(&profiles);
    let ir_agents: Vec<ir::Agent> = agents
        .iter_mut()
        .map(|a| ck.lower_agent(a, &profiles))
        .collect();

    let table = asserts::AgentTable::new(&agents);
    let mut assertions = Vec::new();
    let mut tests = Vec::new();
    for m in ck.modules {
        for item in &m.parsed.ast.items {
            match item {
                Item::Assert(a) if m.is_root => assertions.extend(ck.lower_assert(a, &table)),
                Item::Test(t) if m.is_root => {
                    if let Some(tc) = ck.lower_test(t, &table) {
                        tests.push(tc);
                    }
                }
                Item::Assert(_) | Item::Test(_) => ck.emit(
                    Diag::warning(&codes::IGNORED_IN_MODULE, item.span(), "this is ignored: assertions and tests come from the root file only")
                        .label("in an imported module")
                        .help("run `agentpolc test`/`verify` on this module itself, or move it to the root file"),
                ),
                _ => {}
            }
        }
    }

    Some(ir::Policy {
        ir_version: ir::IR_VERSION,
        files: ck
            .sources
            .files()
            .iter()
            .map(|f| ir::FileInfo {
                name: f.name.clone(),
                sha256: f.sha256(),
            })
            .collect(),
        agents: ir_agents,
        tools: ck.tools.iter().map(|t| t.sig.clone()).collect(),
        params: ck.ir_params(),
        secrets: ck.ir_secrets(),
        assertions,
        tests,
    })
}

/// Sorts diagnostics by file and span (stable, so emission order breaks
/// ties) and drops exact repeats.
fn sort_and_dedup(diags: &mut Vec<Diag>) {
    diags.sort_by_key(|d| {
        (
            d.primary.span.file,
            d.primary.span.start,
            d.primary.span.end,
        )
    });
    let mut seen = HashSet::new();
    diags.retain(|d| seen.insert((d.code.code, d.primary.span, d.message.clone())));
}
