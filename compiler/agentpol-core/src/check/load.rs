//! Loading modules: the root, `import std::x` (compiled-in) and
//! `import "file" as x` (through the [`Loader`]), each parsed once.

use crate::diag::{codes, Diag};
use crate::source::{Loader, SourceMap};
use crate::span::{FileId, Span};
use crate::syntax::ast::{ImportTarget, Item};
use crate::syntax::{self, ParsedFile};
use std::collections::{HashMap, HashSet};

/// One loaded module (one file).
pub struct Module {
    /// Its file.
    pub file: FileId,
    /// The parse.
    pub parsed: ParsedFile,
    /// Canonical module path used to qualify its names in the IR: empty for
    /// the root, `std::x` for std modules, the alias of the first import
    /// (deduplicated with `_2`, `_3`, ...) for file modules.
    pub path: String,
    /// The root file.
    pub is_root: bool,
    /// For each `Import` item (by item index): the module it resolved to.
    pub imports: Vec<(usize, Option<usize>)>,
}

impl Module {
    /// `path::name`, or `name` for the root.
    pub fn qualify(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}::{name}", self.path)
        }
    }
}

/// The default alias of an import: the last module path part, or for a file
/// its stem.
pub fn import_alias(target: &ImportTarget, alias: Option<&str>) -> Option<String> {
    if let Some(a) = alias {
        return Some(a.to_string());
    }
    match target {
        ImportTarget::Module(q) => q.parts.last().map(|p| p.name.clone()),
        ImportTarget::File(s) => {
            let text = s.as_plain()?;
            let base = text.rsplit('/').next().unwrap_or(&text).to_string();
            Some(base.strip_suffix(".agentpol").unwrap_or(&base).to_string())
        }
    }
}

/// Loads the root and everything it imports, breadth first. Import cycles
/// are reported here (AP0108).
pub fn load(
    root_name: &str,
    root_text: &str,
    loader: &dyn Loader,
    sources: &mut SourceMap,
    diags: &mut Vec<Diag>,
) -> Vec<Module> {
    let root = sources.add(root_name, root_text);
    let parsed = syntax::parse(root, root_text);
    diags.extend(parsed.diagnostics.iter().cloned());
    let mut modules = vec![Module {
        file: root,
        parsed,
        path: String::new(),
        is_root: true,
        imports: Vec::new(),
    }];
    let mut by_name: HashMap<String, usize> = HashMap::new();
    by_name.insert(root_name.to_string(), 0);
    let mut paths_taken: HashSet<String> = HashSet::new();
    let mut next = 0;
    while next < modules.len() {
        let current = next;
        next += 1;
        let from_name = sources
            .get(modules.get(current).map(|m| m.file).unwrap_or_default())
            .map(|f| f.name.clone())
            .unwrap_or_default();
        let mut resolved = Vec::new();
        // Only the imports are copied out: the module list grows below.
        let imports: Vec<(usize, crate::syntax::ast::Import)> = modules
            .get(current)
            .map(|m| {
                m.parsed
                    .ast
                    .items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, it)| match it {
                        Item::Import(imp) => Some((i, imp.clone())),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (idx, imp) in &imports {
            let idx = *idx;
            let found = match &imp.target {
                ImportTarget::Module(q) => {
                    let parts: Vec<String> = q.parts.iter().map(|p| p.name.clone()).collect();
                    match parts.split_first() {
                        Some((first, rest)) if first == "std" && !rest.is_empty() => {
                            match crate::stdlib::module(rest) {
                                Some((name, text)) => {
                                    Some((name.to_string(), text.to_string(), parts.join("::")))
                                }
                                None => {
                                    diags.push(unknown_std(q.span, &parts));
                                    None
                                }
                            }
                        }
                        _ => {
                            diags.push(
                                Diag::error(
                                    &codes::UNKNOWN_MODULE,
                                    q.span,
                                    format!("no module `{}`", parts.join("::")),
                                )
                                .label("not a standard-library module")
                                .help(format!(
                                    "standard modules are imported as `std::NAME`; other files as `import \"{}.agentpol\" as {}`",
                                    parts.join("/"),
                                    parts.last().map(String::as_str).unwrap_or("x")
                                )),
                            );
                            None
                        }
                    }
                }
                ImportTarget::File(s) => match s.as_plain() {
                    None => {
                        diags.push(
                            Diag::error(
                                &codes::UNKNOWN_MODULE,
                                s.span,
                                "a file import cannot use `${...}`",
                            )
                            .label("here")
                            .help("write the file name out"),
                        );
                        None
                    }
                    Some(path) => match loader.load_file(&from_name, &path) {
                        Ok((name, text)) => {
                            let alias = import_alias(
                                &imp.target,
                                imp.alias.as_ref().map(|a| a.name.as_str()),
                            )
                            .unwrap_or_else(|| "module".into());
                            Some((name, text, alias))
                        }
                        Err(msg) => {
                            diags.push(
                                Diag::error(
                                    &codes::UNKNOWN_MODULE,
                                    s.span,
                                    format!("cannot load {path:?}: {msg}"),
                                )
                                .label("imported here")
                                .help("file imports are relative to the importing file; check the path"),
                            );
                            None
                        }
                    },
                },
            };
            let Some((name, text, wanted_path)) = found else {
                resolved.push((idx, None));
                continue;
            };
            let target = match by_name.get(&name) {
                Some(&m) => m,
                None => {
                    let file = sources.add(name.clone(), text.clone());
                    let parsed = syntax::parse(file, &text);
                    diags.extend(parsed.diagnostics.iter().cloned());
                    let mut path = wanted_path.clone();
                    let mut n = 2;
                    while path.is_empty() || paths_taken.contains(&path) {
                        path = format!("{wanted_path}_{n}");
                        n += 1;
                    }
                    paths_taken.insert(path.clone());
                    modules.push(Module {
                        file,
                        parsed,
                        path,
                        is_root: false,
                        imports: Vec::new(),
                    });
                    let id = modules.len() - 1;
                    by_name.insert(name, id);
                    id
                }
            };
            resolved.push((idx, Some(target)));
        }
        if let Some(m) = modules.get_mut(current) {
            m.imports = resolved;
        }
    }
    report_cycles(&modules, sources, diags);
    modules
}

fn unknown_std(span: Span, parts: &[String]) -> Diag {
    let wanted = parts.get(1..).map(|p| p.join("::")).unwrap_or_default();
    let known: Vec<&str> = crate::stdlib::MODULES.iter().map(|(p, _, _)| *p).collect();
    let best = known
        .iter()
        .map(|k| (strsim::levenshtein(k, &wanted), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(1))
        .min();
    let help = match best {
        Some((_, k)) => format!("did you mean `std::{k}`?"),
        None => format!(
            "the standard modules are {}",
            known
                .iter()
                .map(|k| format!("`std::{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Diag::error(
        &codes::UNKNOWN_MODULE,
        span,
        format!("no standard-library module `{}`", parts.join("::")),
    )
    .label("unknown module")
    .help(help)
}

/// Finds import cycles with an iterative DFS and reports the import that
/// closes each one.
fn report_cycles(modules: &[Module], sources: &SourceMap, diags: &mut Vec<Diag>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Grey,
        Black,
    }
    let mut color = vec![Color::White; modules.len()];
    let name_of = |m: usize| {
        modules
            .get(m)
            .and_then(|md| sources.get(md.file))
            .map(|f| f.name.clone())
            .unwrap_or_default()
    };
    for start in 0..modules.len() {
        if color.get(start) != Some(&Color::White) {
            continue;
        }
        // (module, next import position)
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        if let Some(c) = color.get_mut(start) {
            *c = Color::Grey;
        }
        while let Some(&mut (m, ref mut pos)) = stack.last_mut() {
            let edge = modules.get(m).and_then(|md| md.imports.get(*pos)).copied();
            *pos += 1;
            match edge {
                None => {
                    if let Some(c) = color.get_mut(m) {
                        *c = Color::Black;
                    }
                    stack.pop();
                }
                Some((_, None)) => {}
                Some((item, Some(t))) => match color.get(t) {
                    Some(Color::White) => {
                        if let Some(c) = color.get_mut(t) {
                            *c = Color::Grey;
                        }
                        stack.push((t, 0));
                    }
                    Some(Color::Grey) => {
                        let from = stack.iter().position(|(x, _)| *x == t).unwrap_or(0);
                        let mut chain: Vec<String> = stack
                            .get(from..)
                            .unwrap_or(&[])
                            .iter()
                            .map(|(x, _)| name_of(*x))
                            .collect();
                        chain.push(name_of(t));
                        let span = modules
                            .get(m)
                            .and_then(|md| md.parsed.ast.items.get(item))
                            .map(Item::span)
                            .unwrap_or_default();
                        diags.push(
                            Diag::error(
                                &codes::IMPORT_CYCLE,
                                span,
                                format!("import cycle: {}", chain.join(" -> ")),
                            )
                            .label("this import closes the cycle")
                            .help("modules cannot import each other; move what both need into a third module"),
                        );
                    }
                    _ => {}
                },
            }
        }
    }
}
