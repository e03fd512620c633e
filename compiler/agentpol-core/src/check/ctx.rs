//! The checker's shared state: modules, definitions, tables and the
//! diagnostic sink. Passes are `impl Checker` blocks in sibling modules.

use super::glob::PathPat;
use super::load::Module;
use super::Reference;
use crate::diag::Diag;
use crate::ir;
use crate::source::SourceMap;
use crate::span::Span;
use crate::syntax::ast::Item;
use std::collections::HashMap;
use std::rc::Rc;

/// Index into [`Checker::defs`].
pub type DefId = usize;

/// What a module-level name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefKind {
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
}

impl DefKind {
    /// The keyword, for messages.
    pub fn word(self) -> &'static str {
        match self {
            DefKind::Const => "const",
            DefKind::Set => "set",
            DefKind::Param => "param",
            DefKind::Secret => "secret",
            DefKind::Profile => "profile",
            DefKind::Agent => "agent",
        }
    }

    /// "a const", "an agent".
    pub fn article(self) -> &'static str {
        match self {
            DefKind::Agent => "an agent",
            DefKind::Const => "a const",
            DefKind::Set => "a set",
            DefKind::Param => "a param",
            DefKind::Secret => "a secret",
            DefKind::Profile => "a profile",
        }
    }
}

/// A module-level definition.
#[derive(Clone, Debug)]
pub struct Def {
    /// Its kind.
    pub kind: DefKind,
    /// The defining module.
    pub module: usize,
    /// Its item index in the module's AST.
    pub item: usize,
    /// Its name.
    pub name: String,
    /// Where the name is written.
    pub name_span: Span,
}

/// A module's namespace.
#[derive(Default)]
pub struct ModNs {
    /// Items by name.
    pub items: HashMap<String, DefId>,
    /// Imported modules by alias and by canonical path (`std::secrets`).
    pub modules: HashMap<String, usize>,
    /// Import alias spans (for duplicate reporting).
    pub alias_spans: HashMap<String, Span>,
}

/// A declared tool.
#[derive(Clone, Debug)]
pub struct ToolInfo {
    /// The signature (src = first declaration).
    pub sig: ir::ToolSig,
    /// Name spans of the first declaration's arguments, in order.
    pub arg_spans: Vec<Span>,
    /// The first declaration's name.
    pub name_span: Span,
}

/// The value of a const.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConstVal {
    /// A string.
    Str(String),
    /// A non-negative integer.
    Int(u64),
}

/// Evaluation state of a const or set (iterative DFS).
#[derive(Clone, Debug, Default)]
pub enum State<T> {
    /// Not looked at yet.
    #[default]
    Unvisited,
    /// On the DFS stack.
    InProgress,
    /// Done; `None` if it failed (already reported).
    Done(Option<T>),
}

/// An element of a flattened set, context-free: what it becomes depends on
/// where the set is used.
#[derive(Clone, Debug)]
pub enum Elem {
    /// A string (interpolated).
    Str(String, Span),
    /// An integer.
    Int(u64, Span),
    /// A bare IPv4 address or CIDR, verbatim.
    Ip(String, Span),
    /// `lo..hi`.
    Range(u64, u64, Span),
    /// `true` / `false`.
    Bool(bool, Span),
    /// A secret's files.
    Secret(DefId, Span),
}

impl Elem {
    /// Where the element was written.
    pub fn span(&self) -> Span {
        match self {
            Elem::Str(_, s)
            | Elem::Int(_, s)
            | Elem::Ip(_, s)
            | Elem::Range(_, _, s)
            | Elem::Bool(_, s)
            | Elem::Secret(_, s) => *s,
        }
    }
}

/// An element of a set literal before named sets are spliced in.
#[derive(Clone, Debug)]
pub enum Pending {
    /// A value.
    Ready(Elem),
    /// A named set to splice in, and where it is named.
    Splice(DefId, Span),
}

/// A named set's own elements, names resolved, splices not yet expanded.
#[derive(Clone, Debug)]
pub struct SetDef {
    /// In written order.
    pub items: Vec<Pending>,
    /// False if an element was invalid (reported).
    pub ok: bool,
}

/// A validated secret.
#[derive(Clone, Debug, Default)]
pub struct SecretData {
    /// File globs, `~` pending.
    pub files: Vec<PathPat>,
    /// Environment variables.
    pub env: Vec<String>,
}

/// Contexts a named set is interpreted in (cache keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetCtx {
    /// Path globs.
    Paths,
    /// Net hosts.
    Hosts,
    /// Ports.
    Ports,
    /// Strings (tool conditions).
    Strings,
    /// Ints (tool conditions).
    Ints,
}

/// A named set interpreted in a context.
#[derive(Clone, Debug)]
pub enum Interp {
    /// Path globs.
    Paths(Rc<Vec<PathPat>>),
    /// Hosts.
    Hosts(Rc<Vec<ir::Host>>),
    /// Ports.
    Ports(Rc<Vec<ir::PortRange>>),
    /// Values.
    Values(Rc<Vec<ir::Value>>),
}

/// Suggestions are computed for at most this many undefined names (each
/// scans a namespace, so unbounded suggestions could go quadratic).
pub const MAX_SUGGESTIONS: usize = 64;

/// Shared state of one compilation.
pub struct Checker<'a> {
    /// Loaded modules (index 0 is the root).
    pub modules: &'a [Module],
    /// Their texts.
    pub sources: &'a SourceMap,
    /// Diagnostics so far.
    pub diags: Vec<Diag>,
    /// Name uses so far.
    pub refs: Vec<Reference>,
    /// Every module-level definition.
    pub defs: Vec<Def>,
    /// Namespaces by module.
    pub ns: Vec<ModNs>,
    /// Tools in declaration order.
    pub tools: Vec<ToolInfo>,
    /// Tool index by name.
    pub tool_index: HashMap<String, usize>,
    /// Const states by def.
    pub consts: Vec<State<ConstVal>>,
    /// Materialised named sets by def (only those used).
    pub sets: Vec<State<Rc<Vec<Elem>>>>,
    /// Named sets' own elements by def.
    pub set_defs: Vec<Option<Rc<SetDef>>>,
    /// Sets in a cycle (reported).
    pub set_bad: Vec<bool>,
    /// Names a const's value depends on, resolved once.
    pub const_deps: HashMap<DefId, Vec<Option<DefId>>>,
    /// Validated secrets by def.
    pub secrets: HashMap<DefId, SecretData>,
    /// Param types by def (absent if the type was invalid).
    pub params: HashMap<DefId, ir::ParamType>,
    /// Named sets interpreted per context.
    pub set_cache: HashMap<(DefId, SetCtx), Option<Interp>>,
    /// Undefined-name suggestions still allowed.
    pub suggestions_left: usize,
    /// Set while a secret's files are checked (they cannot name secrets).
    pub in_secret_decl: bool,
    /// (agent, rule span) pairs already reported for AP0310.
    pub no_home_reported: std::collections::HashSet<(String, Span)>,
}

impl<'a> Checker<'a> {
    /// A checker over loaded modules.
    pub fn new(modules: &'a [Module], sources: &'a SourceMap, diags: Vec<Diag>) -> Self {
        Checker {
            modules,
            sources,
            diags,
            refs: Vec::new(),
            defs: Vec::new(),
            ns: Vec::new(),
            tools: Vec::new(),
            tool_index: HashMap::new(),
            consts: Vec::new(),
            sets: Vec::new(),
            set_defs: Vec::new(),
            set_bad: Vec::new(),
            const_deps: HashMap::new(),
            secrets: HashMap::new(),
            params: HashMap::new(),
            set_cache: HashMap::new(),
            suggestions_left: MAX_SUGGESTIONS,
            in_secret_decl: false,
            no_home_reported: std::collections::HashSet::new(),
        }
    }

    /// A span with line and column, for the IR.
    pub fn sref(&self, span: Span) -> ir::SourceRef {
        let (line, col) = self
            .sources
            .get(span.file)
            .map_or((0, 0), |f| f.line_col(span.start));
        ir::SourceRef { span, line, col }
    }

    /// The source text a span covers.
    pub fn text(&self, span: Span) -> &'a str {
        self.sources
            .get(span.file)
            .map(|f| f.slice(span))
            .unwrap_or("")
    }

    /// Records a diagnostic.
    pub fn emit(&mut self, d: Diag) {
        self.diags.push(d);
    }

    /// Records a name use.
    pub fn reference(&mut self, use_span: Span, def_span: Span, name: impl Into<String>) {
        self.refs.push(Reference {
            use_span,
            def_span,
            name: name.into(),
        });
    }

    /// The AST item of a definition.
    pub fn item(&self, def: DefId) -> Option<&'a Item> {
        let d = self.defs.get(def)?;
        self.modules.get(d.module)?.parsed.ast.items.get(d.item)
    }

    /// The qualified (IR) name of a definition.
    pub fn qualified(&self, def: DefId) -> String {
        match self.defs.get(def) {
            Some(d) => self
                .modules
                .get(d.module)
                .map(|m| m.qualify(&d.name))
                .unwrap_or_else(|| d.name.clone()),
            None => String::new(),
        }
    }

    /// The kind of a definition.
    pub fn kind(&self, def: DefId) -> Option<DefKind> {
        self.defs.get(def).map(|d| d.kind)
    }

    /// The closest of `candidates` to `name`, if close enough to suggest.
    pub fn suggest<'c>(
        &mut self,
        name: &str,
        candidates: impl Iterator<Item = &'c str>,
    ) -> Option<String> {
        if self.suggestions_left == 0 {
            return None;
        }
        self.suggestions_left -= 1;
        closest(name, candidates)
    }
}

/// The closest candidate by edit distance (ties: first in sorted order), if
/// within a third of the name's length (at least 1, at most 3 edits).
pub fn closest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}
