//! Path globs → what an enforcer can hold: the one place that approximates
//! an IR [`Glob`] for targets that do not match globs.
//!
//! Kernel and cluster enforcers hold paths in a few fixed shapes
//! ([`PathShape`]): an exact path, the entries directly inside a directory,
//! or a whole directory tree. Which shapes a target holds is a [`Holds`]:
//!
//! | target | exact path | direct children | tree |
//! |---|---|---|---|
//! | Landlock (`path_beneath` on a file or a directory) | yes | no | yes |
//! | BPF maps (exact-path hash, directory-prefix trie) | yes | no | yes |
//! | KubeArmor (`matchPaths`, `matchDirectories` with/without `recursive`) | yes | yes | yes |
//!
//! [`approximate`] turns a glob into shapes, soundly in the direction of the
//! rule's effect ([`Direction`]): for an **allow** the shapes match a subset
//! of what the glob matches (narrower: the target refuses some paths the
//! policy allows), for a **deny** a superset (wider: it refuses some paths
//! the policy allows). When the shapes are not exactly the glob, the result
//! says what was lost, in words a loss report can carry ([`loss_entry`]).
//!
//! Exact cases: a literal glob (`/etc/hosts`) is an exact path; literal
//! segments followed only by `**` (`/srv/**`) are a tree, because a trailing
//! `**` also matches zero segments, i.e. the directory itself (semantics.md),
//! exactly like a tree rooted there; literal segments then a lone `*`
//! (`/tmp/*`) are the direct children, for targets that hold them. Anything
//! else is widened, for a deny, to the tree at the glob's literal prefix (the
//! smallest tree holding every match) and narrowed, for an allow, to nothing
//! (no tree or path list is inside a pattern such as `/w/**/*.rs` without
//! enumerating files, and a target must not guess).
//!
//! The property test in `tests/approx_props.rs` checks both directions
//! against the reference evaluator's glob matcher on random globs and paths.
//! (The Cedar backend's `glob.rs` has its own `Bound` for the same two
//! directions; its encoding is Cedar-specific — `like` patterns over a path
//! record — and stays there.)

use crate::backend::{Approximation, LossEntry};
use crate::ir::{Glob, Piece, RuleId, Segment, SourceRef};

/// Which way an approximation may err.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// For an allow: match a subset of the glob's paths (narrower).
    Allow,
    /// For a deny: match a superset of the glob's paths (wider).
    Deny,
}

/// The path shapes a target can hold. Every target holds directory trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Holds {
    /// One exact path (a file or a directory, nothing below it).
    pub exact: bool,
    /// The entries directly inside a directory (one segment below it).
    pub children: bool,
}

impl Holds {
    /// Landlock: `path_beneath` rules on files (exact) and directories (trees).
    pub const LANDLOCK: Holds = Holds {
        exact: true,
        children: false,
    };
    /// BPF maps: an exact-path hash map and a directory-prefix trie.
    pub const BPF: Holds = Holds {
        exact: true,
        children: false,
    };
    /// KubeArmor: `matchPaths`, `matchDirectories` (`recursive: false` is
    /// the direct children, `recursive: true` the tree).
    pub const KUBEARMOR: Holds = Holds {
        exact: true,
        children: true,
    };
}

/// One path set a target can hold. Paths are absolute and normalised (no
/// `//`, no trailing `/`, no `.` or `..`), as the evaluator takes them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathShape {
    /// Exactly this path.
    Exact(String),
    /// Every path one segment below this directory (not the directory).
    Children(String),
    /// This directory and every path below it (`/` is every path).
    Tree(String),
}

impl PathShape {
    /// True if the shape holds `path` (normalised, absolute).
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathShape::Exact(p) => path == p,
            PathShape::Children(d) => below(d, path).is_some_and(|rest| !rest.contains('/')),
            PathShape::Tree(d) => path == d || below(d, path).is_some(),
        }
    }
}

/// The non-empty remainder of `path` strictly below directory `dir`.
fn below<'p>(dir: &str, path: &'p str) -> Option<&'p str> {
    let rest = if dir == "/" {
        path.strip_prefix('/')?
    } else {
        path.strip_prefix(dir)?.strip_prefix('/')?
    };
    (!rest.is_empty()).then_some(rest)
}

/// A glob approximated for one target in one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobApprox {
    /// The shapes; their union is the approximated path set (empty: no path).
    pub shapes: Vec<PathShape>,
    /// `None` if the shapes match exactly the glob's paths; otherwise what
    /// the approximation gives up, for a loss report.
    pub lost: Option<String>,
}

impl GlobApprox {
    /// True if the shapes match exactly the glob's paths.
    pub fn is_exact(&self) -> bool {
        self.lost.is_none()
    }

    /// True if any shape holds `path`.
    pub fn matches(&self, path: &str) -> bool {
        self.shapes.iter().any(|s| s.matches(path))
    }
}

/// The shapes of `glob` a target with `holds` can carry, narrower for an
/// allow and wider for a deny (see the module docs).
pub fn approximate(glob: &Glob, direction: Direction, holds: Holds) -> GlobApprox {
    let lits = glob
        .segments
        .iter()
        .take_while(|s| matches!(s, Segment::Lit(_)))
        .count();
    let prefix = glob.literal_prefix();
    let rest = glob.segments.get(lits..).unwrap_or(&[]);
    let pattern = &glob.pattern;
    let exact = |shape| GlobApprox {
        shapes: vec![shape],
        lost: None,
    };
    // The fallbacks when the target cannot hold the glob as it is.
    let widened = |what: &str| GlobApprox {
        shapes: vec![PathShape::Tree(prefix.clone())],
        lost: Some(format!(
            "`{pattern}` denied as the whole tree `{prefix}`: {what} are denied too"
        )),
    };
    let narrowed = |why: &str| GlobApprox {
        shapes: Vec::new(),
        lost: Some(format!("`{pattern}` allows nothing here: {why}")),
    };
    if rest.is_empty() {
        if holds.exact {
            return exact(PathShape::Exact(prefix));
        }
        return match direction {
            Direction::Deny => widened("paths below it"),
            Direction::Allow => narrowed("the target cannot hold one exact path"),
        };
    }
    if rest.iter().all(|s| matches!(s, Segment::Any)) {
        return exact(PathShape::Tree(prefix));
    }
    if let [Segment::Wild(pieces)] = rest {
        if matches!(pieces.as_slice(), [Piece::Star]) {
            if holds.children {
                return exact(PathShape::Children(prefix));
            }
            return match direction {
                Direction::Deny => widened("the directory itself and paths deeper than one level"),
                Direction::Allow => narrowed(
                    "the target cannot hold the entries of one directory without those below them",
                ),
            };
        }
    }
    match direction {
        Direction::Deny => widened("paths under it that the pattern does not match"),
        Direction::Allow => narrowed(
            "the target holds only exact paths and directory trees, and no tree lies inside the pattern",
        ),
    }
}

/// The loss-report entry for an inexact approximation of a rule's glob
/// (`None` if it is exact).
pub fn loss_entry(
    target: &str,
    rule: &RuleId,
    src: &SourceRef,
    direction: Direction,
    approx: &GlobApprox,
) -> Option<LossEntry> {
    let lost = approx.lost.as_ref()?;
    Some(LossEntry {
        target: target.to_string(),
        rule: rule.clone(),
        src: *src,
        approximation: match direction {
            Direction::Allow => Approximation::AllowNarrowed,
            Direction::Deny => Approximation::DenyWidened,
        },
        reason: lost.clone(),
        enforced_by: None,
    })
}
