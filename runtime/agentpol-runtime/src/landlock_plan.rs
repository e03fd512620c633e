//! From the checked IR of one agent (or skill) to the Landlock rules that hold
//! its `fs` and `exec` allows, soundly.
//!
//! Landlock grants a set of rights on a directory *and everything below it*,
//! or on one file, and denies every handled right nowhere granted. So a policy
//! rule becomes a grant only when the whole granted subtree is allowed by the
//! policy for that action and touched by no `deny`. Where that fails, the tree
//! is expanded at start into its existing children (bounded depth and count)
//! and each child is tried again; what still cannot be granted exactly is
//! left out (narrower than the policy) and reported as a [`Loss`]. A wider grant
//! is never kept.
//!
//! Pure: the host's directory tree is read through [`HostFs`], so the planner
//! is tested against a fake tree and the supervisor passes the real one.

use agentpol_core::eval::matching::glob_matches;
use agentpol_core::ir::{Action, Effect, Glob, Matcher, Rule, RuleId, Segment, SourceRef};
use std::collections::BTreeMap;

/// What a path is on the host, as far as planning needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A directory (a grant on it covers its whole subtree).
    Dir,
    /// Anything else (a grant on it covers only itself).
    File,
}

/// Read-only view of the host file tree.
pub trait HostFs {
    /// The kind of `path` after following symlinks; None if it does not exist.
    fn kind(&self, path: &str) -> Option<FileKind>;
    /// `path` with every symlink resolved (Landlock grants the resolved inode).
    fn canonical(&self, path: &str) -> Option<String>;
    /// The names in directory `path`, sorted.
    fn children(&self, path: &str) -> Vec<String>;
}

/// The real file system.
pub struct RealFs;

impl HostFs for RealFs {
    fn kind(&self, path: &str) -> Option<FileKind> {
        let m = std::fs::metadata(path).ok()?;
        Some(if m.is_dir() {
            FileKind::Dir
        } else {
            FileKind::File
        })
    }
    fn canonical(&self, path: &str) -> Option<String> {
        let p = std::fs::canonicalize(path).ok()?;
        p.to_str().map(str::to_owned)
    }
    fn children(&self, path: &str) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

/// The rights the planner grants, independent of the `landlock` crate (so the
/// plan is plain data); [`crate::landlock`] maps them to `AccessFs`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// Open a file for reading.
    ReadFile,
    /// List a directory.
    ReadDir,
    /// Open a file for writing.
    WriteFile,
    /// Truncate a file.
    Truncate,
    /// Create a regular file.
    MakeReg,
    /// Create a directory.
    MakeDir,
    /// Unlink a file.
    RemoveFile,
    /// Remove a directory.
    RemoveDir,
    /// Link or rename across directories.
    Refer,
    /// Execute a file.
    Execute,
}

impl Right {
    /// Rights that only make sense on directories (dropped on a file grant).
    pub fn dir_only(self) -> bool {
        matches!(
            self,
            Right::ReadDir
                | Right::MakeReg
                | Right::MakeDir
                | Right::RemoveFile
                | Right::RemoveDir
                | Right::Refer
        )
    }
}

/// The Landlock rights that hold one IR action. `rename` and `link` need the
/// create/delete rights of their own rules as well (Landlock checks both ends),
/// so alone they grant only `Refer`: narrower, never wider.
pub fn rights_of(action: Action) -> &'static [Right] {
    match action {
        Action::Read => &[Right::ReadFile, Right::ReadDir],
        Action::Write => &[Right::WriteFile, Right::Truncate],
        Action::Create => &[Right::MakeReg],
        Action::Mkdir => &[Right::MakeDir],
        Action::Delete => &[Right::RemoveFile, Right::RemoveDir],
        Action::Rename | Action::Link => &[Right::Refer],
        Action::Exec => &[Right::Execute],
        _ => &[],
    }
}

/// A rule the kernel cannot hold exactly, and what was done instead.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Loss {
    /// The rule (None for a loss about the whole layer, e.g. an ABI gap).
    pub rule: Option<RuleId>,
    /// Its source location.
    pub src: Option<SourceRef>,
    /// What the enforcer does instead, e.g. "not granted (narrower)".
    pub message: String,
}

/// One grant: rights on a path (a whole subtree when the path is a directory).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    /// Absolute path, as written (the kernel resolves it at start).
    pub path: String,
    /// The rights.
    pub rights: Vec<Right>,
    /// The rules it comes from.
    pub rules: Vec<RuleId>,
}

/// Bounds of the start-time expansion.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest directory level expanded below a rule's literal prefix.
    pub max_depth: usize,
    /// Paths visited in total over all rules.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_entries: 20_000,
        }
    }
}

/// The Landlock layer of one agent or skill.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LandlockPlan {
    /// Grants, by path.
    pub grants: Vec<Grant>,
    /// Approximations.
    pub losses: Vec<Loss>,
    /// Paths visited while expanding (how much of the budget was used).
    pub expanded_entries: usize,
    /// True when some expansion hit a limit.
    pub truncated: bool,
}

/// Plans the `fs` and `exec` rules of one rule set (an agent's, or a skill's:
/// the supervisor stacks the two, and Landlock layers intersect just as the
/// evaluator's skill semantics do).
pub fn plan(rules: &[Rule], host: &dyn HostFs, limits: Limits) -> LandlockPlan {
    let mut p = Planner {
        host,
        limits,
        entries: 0,
        truncated: false,
        grants: BTreeMap::new(),
        losses: Vec::new(),
    };
    let actions: Vec<Action> = {
        let mut a: Vec<Action> = rules
            .iter()
            .filter(|r| matches!(r.matcher, Matcher::Fs { .. } | Matcher::Exec { .. }))
            .map(|r| r.action)
            .collect();
        a.sort();
        a.dedup();
        a
    };
    for action in actions {
        let denies: Vec<&Glob> = rules
            .iter()
            .filter(|r| r.action == action && r.effect == Effect::Deny)
            .flat_map(|r| {
                if let Matcher::Exec { args: Some(_), .. } = &r.matcher {
                    p.loss(
                        r,
                        "argument patterns are not visible to the kernel: the binary is denied \
                         for every argument list (wider deny)",
                    );
                }
                globs(r)
            })
            .collect();
        let allows: Vec<&Rule> = rules
            .iter()
            .filter(|r| r.action == action && r.effect == Effect::Allow)
            .collect();
        let allow_globs: Vec<&Glob> = allows
            .iter()
            .filter(|r| !has_args(r))
            .flat_map(|r| globs(r))
            .collect();
        let ctx = ActionCtx {
            rights: rights_of(action),
            allows: &allow_globs,
            denies: &denies,
        };
        for rule in allows {
            if has_args(rule) {
                p.loss(
                    rule,
                    "argument patterns are not visible to the kernel: the binary is not granted \
                     (narrower; the tool layer enforces arguments)",
                );
                continue;
            }
            for g in globs(rule) {
                p.walk(&ctx, rule, g, "/", 0, 0);
            }
        }
    }
    let grants = p
        .grants
        .into_iter()
        .map(|(path, (rights, rules))| Grant {
            path,
            rights: rights.into_iter().collect(),
            rules: rules.into_iter().collect(),
        })
        .collect();
    LandlockPlan {
        grants,
        losses: p.losses,
        expanded_entries: p.entries,
        truncated: p.truncated,
    }
}

fn has_args(r: &Rule) -> bool {
    matches!(r.matcher, Matcher::Exec { args: Some(_), .. })
}

fn globs(r: &Rule) -> Vec<&Glob> {
    match &r.matcher {
        Matcher::Fs { globs } => globs.iter().collect(),
        Matcher::Exec { binaries, .. } => binaries.iter().collect(),
        _ => Vec::new(),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn segments(path: &str) -> Vec<&str> {
    if path == "/" {
        Vec::new()
    } else {
        path.split('/').skip(1).collect()
    }
}

// Glob questions the planner asks. Kept together (and conservative: "may"
// answers err towards expanding) so they can move onto core's shared
// "glob → what an enforcer can hold" module when it lands.

/// Does `g` match every path in the subtree of `path` (the path itself and
/// everything below)? True only for a literal prefix of `path` followed by a
/// trailing `**`.
fn covers_subtree(g: &Glob, path: &str) -> bool {
    let Some((Segment::Any, lits)) = g.segments.split_last() else {
        return false;
    };
    let segs = segments(path);
    lits.len() <= segs.len()
        && lits
            .iter()
            .zip(&segs)
            .all(|(l, s)| matches!(l, Segment::Lit(t) if t == s))
}

/// Could `g` match `path` or anything below it? (Conservative: true when unsure.)
fn may_touch_subtree(g: &Glob, path: &str) -> bool {
    let segs = segments(path);
    for (i, s) in segs.iter().enumerate() {
        match g.segments.get(i) {
            // The glob ends above `path`: it matches only an ancestor.
            None => return false,
            Some(Segment::Any) => return true,
            Some(Segment::Lit(l)) if l != s => return false,
            Some(Segment::Lit(_)) => {}
            Some(Segment::Wild(pieces)) => {
                let one = Glob {
                    pattern: String::new(),
                    segments: vec![Segment::Wild(pieces.clone())],
                };
                if !glob_matches(&one, &format!("/{s}")) {
                    return false;
                }
            }
        }
    }
    true
}

struct ActionCtx<'a> {
    rights: &'static [Right],
    allows: &'a [&'a Glob],
    denies: &'a [&'a Glob],
}

impl ActionCtx<'_> {
    /// May the whole subtree of `path` be granted (for a directory), or the
    /// path itself (for a file)?
    fn exact(&self, path: &str, kind: FileKind) -> bool {
        let allowed = match kind {
            FileKind::Dir => self.allows.iter().any(|g| covers_subtree(g, path)),
            FileKind::File => self.allows.iter().any(|g| glob_matches(g, path)),
        };
        // A file grant covers that one inode: only a deny matching the file
        // itself stands in its way. Asking whether a deny may touch "its
        // subtree" treated every file as a directory, so `~/**/.env` (via
        // `/home/u/w/todo.md/.env`) refused every file of an expanded tree.
        let denied = match kind {
            FileKind::Dir => self.denies.iter().any(|d| may_touch_subtree(d, path)),
            FileKind::File => self.denies.iter().any(|d| glob_matches(d, path)),
        };
        allowed && !denied
    }
}

type GrantMap = BTreeMap<
    String,
    (
        std::collections::BTreeSet<Right>,
        std::collections::BTreeSet<RuleId>,
    ),
>;

struct Planner<'h> {
    host: &'h dyn HostFs,
    limits: Limits,
    entries: usize,
    truncated: bool,
    grants: GrantMap,
    losses: Vec<Loss>,
}

impl Planner<'_> {
    fn loss(&mut self, r: &Rule, message: &str) {
        let l = Loss {
            rule: Some(r.id.clone()),
            src: Some(r.src),
            message: message.to_owned(),
        };
        if !self.losses.contains(&l) {
            self.losses.push(l);
        }
    }

    fn grant(&mut self, ctx: &ActionCtx, rule: &Rule, path: &str, kind: FileKind) {
        // Landlock grants the inode the path resolves to: through a symlink
        // that can be somewhere the policy does not allow.
        let canon = self.host.canonical(path);
        if canon.as_deref() != Some(path) {
            match canon {
                Some(c) if ctx.exact(&c, kind) => {}
                _ => {
                    self.loss(
                        rule,
                        &format!(
                            "{path} resolves through a symlink to a path the policy does not \
                             allow as a whole: not granted (narrower)"
                        ),
                    );
                    return;
                }
            }
        }
        let entry = self.grants.entry(path.to_owned()).or_default();
        for r in ctx.rights {
            if kind == FileKind::Dir || !r.dir_only() {
                entry.0.insert(*r);
            }
        }
        entry.1.insert(rule.id.clone());
    }

    fn budget(&mut self, rule: &Rule, depth: usize) -> bool {
        self.entries += 1;
        if self.entries > self.limits.max_entries || depth > self.limits.max_depth {
            self.truncated = true;
            self.loss(
                rule,
                &format!(
                    "start-time expansion stopped at its limit ({} paths, depth {}): the rest \
                     of the tree is not granted (narrower)",
                    self.limits.max_entries, self.limits.max_depth
                ),
            );
            return false;
        }
        true
    }

    /// Grants what of `g` (from segment `i` on, below host path `path`) can be
    /// granted exactly. `depth` counts expanded (listed) levels.
    fn walk(&mut self, ctx: &ActionCtx, rule: &Rule, g: &Glob, path: &str, i: usize, depth: usize) {
        let Some(seg) = g.segments.get(i) else {
            // The glob matches `path` itself (and, for a directory, nothing below).
            match self.host.kind(path) {
                Some(FileKind::File) if ctx.exact(path, FileKind::File) => {
                    self.grant(ctx, rule, path, FileKind::File);
                }
                Some(FileKind::File) => {}
                Some(FileKind::Dir) => {
                    if ctx.rights.iter().any(|r| !r.dir_only()) || g.is_literal() {
                        self.loss(
                            rule,
                            &format!(
                                "{path} is a directory: a grant would cover everything below it, \
                                 which the rule does not allow; not granted (narrower; write \
                                 `{path}/**` to allow the tree)"
                            ),
                        );
                    }
                }
                None => {
                    if g.is_literal() {
                        self.loss(
                            rule,
                            &format!("{path} does not exist at start: not granted (narrower)"),
                        );
                    }
                }
            }
            return;
        };
        match seg {
            Segment::Lit(l) => {
                let next = join(path, l);
                if i + 1 == g.segments.len() || self.host.kind(&next).is_some() {
                    self.walk(ctx, rule, g, &next, i + 1, depth);
                } else if i + 1 < g.segments.len() {
                    self.loss(
                        rule,
                        &format!("{next} does not exist at start: not granted (narrower)"),
                    );
                }
            }
            Segment::Any => {
                let kind = self.host.kind(path);
                let last = i + 1 == g.segments.len();
                match kind {
                    None => {
                        self.loss(
                            rule,
                            &format!("{path} does not exist at start: not granted (narrower)"),
                        );
                    }
                    // A file: `**` can only match zero segments here.
                    Some(FileKind::File) => self.walk(ctx, rule, g, path, i + 1, depth),
                    Some(FileKind::Dir) => {
                        if last && ctx.exact(path, FileKind::Dir) {
                            self.grant(ctx, rule, path, FileKind::Dir);
                            return;
                        }
                        if ctx.denies.iter().any(|d| covers_subtree(d, path)) {
                            return; // all of it is denied: nothing to expand
                        }
                        self.loss(
                            rule,
                            "a denied path lies inside the allowed tree: the tree is expanded at \
                             start into its existing entries minus the denied ones; entries \
                             created later are not granted (narrower)",
                        );
                        // `**` matching zero segments here (a directory matched
                        // by the whole glob cannot be granted without its subtree)…
                        if !last {
                            self.walk(ctx, rule, g, path, i + 1, depth);
                        }
                        // …or one more.
                        self.expand(ctx, rule, g, path, i, depth, None);
                    }
                }
            }
            Segment::Wild(_) => {
                if self.host.kind(path) == Some(FileKind::Dir) {
                    self.expand(ctx, rule, g, path, i + 1, depth, Some(seg));
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn expand(
        &mut self,
        ctx: &ActionCtx,
        rule: &Rule,
        g: &Glob,
        dir: &str,
        next_i: usize,
        depth: usize,
        filter: Option<&Segment>,
    ) {
        for name in self.host.children(dir) {
            if let Some(seg) = filter {
                let one = Glob {
                    pattern: String::new(),
                    segments: vec![seg.clone()],
                };
                if !glob_matches(&one, &format!("/{name}")) {
                    continue;
                }
            }
            if !self.budget(rule, depth + 1) {
                return;
            }
            let child = join(dir, &name);
            self.walk(ctx, rule, g, &child, next_i, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentpol_core::source::NoFiles;
    use std::collections::BTreeSet;

    /// A fake tree: directories end in `/`.
    struct Fake(BTreeSet<String>);

    impl Fake {
        fn new(paths: &[&str]) -> Self {
            Fake(paths.iter().map(|p| (*p).to_owned()).collect())
        }
    }

    impl HostFs for Fake {
        fn kind(&self, path: &str) -> Option<FileKind> {
            if path == "/" || self.0.contains(&format!("{path}/")) {
                Some(FileKind::Dir)
            } else if self.0.contains(path) {
                Some(FileKind::File)
            } else {
                None
            }
        }
        fn canonical(&self, path: &str) -> Option<String> {
            self.kind(path).map(|_| path.to_owned())
        }
        fn children(&self, path: &str) -> Vec<String> {
            let prefix = if path == "/" {
                "/".to_owned()
            } else {
                format!("{path}/")
            };
            let mut out: Vec<String> = self
                .0
                .iter()
                .filter_map(|p| p.strip_prefix(&prefix))
                .filter_map(|rest| rest.trim_end_matches('/').split('/').next())
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            out.dedup();
            out
        }
    }

    fn rules(body: &str) -> Vec<Rule> {
        let src = format!("version 1\nagent a {{\n{body}\n}}\n");
        let comp = agentpol_core::compile("t.agentpol", &src, &NoFiles);
        let policy = comp
            .policy
            .unwrap_or_else(|| panic!("{:?}", comp.diagnostics));
        policy
            .agents
            .into_iter()
            .next()
            .map(|a| a.rules)
            .unwrap_or_default()
    }

    fn grants(p: &LandlockPlan) -> Vec<(String, Vec<Right>)> {
        p.grants
            .iter()
            .map(|g| (g.path.clone(), g.rights.clone()))
            .collect()
    }

    const TREE: &[&str] = &[
        "/w/",
        "/w/.env",
        "/w/a.txt",
        "/w/src/",
        "/w/src/main.rs",
        "/w/src/key.pem",
        "/usr/",
        "/usr/bin/",
        "/usr/bin/git",
        "/usr/bin/sudo",
    ];

    #[test]
    fn a_whole_tree_without_denies_is_one_subtree_grant() {
        let p = plan(
            &rules(r#"fs { allow read "/w/**" }"#),
            &Fake::new(TREE),
            Limits::default(),
        );
        assert_eq!(
            grants(&p),
            vec![("/w".into(), vec![Right::ReadFile, Right::ReadDir])]
        );
        assert!(p.losses.is_empty(), "{:?}", p.losses);
    }

    #[test]
    fn a_deny_inside_an_allowed_tree_expands_it_and_never_keeps_the_wide_grant() {
        let p = plan(
            &rules(r#"fs { allow read "/w/**"  deny read "/w/.env" }"#),
            &Fake::new(TREE),
            Limits::default(),
        );
        let paths: Vec<String> = p.grants.iter().map(|g| g.path.clone()).collect();
        assert_eq!(paths, vec!["/w/a.txt", "/w/src"]);
        // The file grant carries no directory rights.
        assert_eq!(
            p.grants.first().map(|g| g.rights.clone()),
            Some(vec![Right::ReadFile])
        );
        assert!(p
            .losses
            .iter()
            .any(|l| l.message.contains("expanded at start")));
        assert_eq!(p.expanded_entries, 3);
    }

    #[test]
    fn a_deny_that_can_only_match_below_a_file_does_not_refuse_the_file() {
        // `/w/**/.env` cannot match `/w/a.txt` (a file has nothing below
        // it): the file is granted. Before, every file of the expanded tree
        // was refused, so the OpenClaw example could not read its workspace.
        let p = plan(
            &rules(r#"fs { allow read "/w/**"  deny read "/w/**/.env" }"#),
            &Fake::new(TREE),
            Limits::default(),
        );
        let paths: Vec<String> = p.grants.iter().map(|g| g.path.clone()).collect();
        assert!(paths.contains(&"/w/a.txt".to_owned()), "{paths:?}");
        assert!(!paths.contains(&"/w/.env".to_owned()), "{paths:?}");
    }

    #[test]
    fn suffix_globs_become_expansions_of_existing_files() {
        let p = plan(
            &rules(r#"fs { allow read "/w/src/*.pem" }"#),
            &Fake::new(TREE),
            Limits::default(),
        );
        assert_eq!(
            grants(&p),
            vec![("/w/src/key.pem".into(), vec![Right::ReadFile])]
        );
    }

    #[test]
    fn exec_grants_execute_on_allowed_binaries_only_and_args_are_losses() {
        let p = plan(
            &rules(r#"exec { allow "/usr/bin/git"  allow "/usr/bin/sudo" args ["-i"] }"#),
            &Fake::new(TREE),
            Limits::default(),
        );
        assert_eq!(
            grants(&p),
            vec![("/usr/bin/git".into(), vec![Right::Execute])]
        );
        assert_eq!(p.losses.len(), 1);
        assert!(p
            .losses
            .iter()
            .all(|l| l.message.contains("argument patterns")));
    }

    #[test]
    fn expansion_is_bounded_and_reported() {
        let p = plan(
            &rules(r#"fs { allow read "/w/**"  deny read "/w/.env" }"#),
            &Fake::new(TREE),
            Limits {
                max_depth: 12,
                max_entries: 2,
            },
        );
        assert!(p.truncated);
        assert!(p.losses.iter().any(|l| l.message.contains("limit")));
        assert!(p.grants.iter().all(|g| g.path != "/w"));
    }

    #[test]
    fn a_directory_named_without_its_tree_is_not_granted() {
        let p = plan(
            &rules(r#"fs { allow read "/w" }"#),
            &Fake::new(TREE),
            Limits::default(),
        );
        assert!(p.grants.is_empty());
        assert!(p
            .losses
            .iter()
            .any(|l| l.message.contains("is a directory")));
    }

    #[test]
    fn missing_paths_are_reported_not_granted() {
        let p = plan(
            &rules(r#"fs { allow read "/nope/**" }"#),
            &Fake::new(TREE),
            Limits::default(),
        );
        assert!(p.grants.is_empty());
        assert!(p
            .losses
            .iter()
            .any(|l| l.message.contains("does not exist")));
    }
}
