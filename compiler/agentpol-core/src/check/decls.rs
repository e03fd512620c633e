//! Module-level declarations with a meaning of their own: tool signatures
//! (global by name, module-level or inline), params and secrets.

use super::ctx::{Checker, DefKind, SecretData, ToolInfo};
use super::misc::check_env_var;
use crate::diag::{codes, Diag};
use crate::ir;
use crate::span::Span;
use crate::syntax::ast::{self, Item, Member, SecretSource, TypeKind};
use std::collections::HashSet;

impl Checker<'_> {
    /// Registers every tool signature: module-level `tool` items and inline
    /// signatures in `tool NAME(...) { }` blocks anywhere (agents, profiles,
    /// skills), in module order then source order.
    pub fn declare_tools(&mut self) {
        for m in self.modules {
            for item in &m.parsed.ast.items {
                match item {
                    Item::Tool(decl) => self.add_tool(&decl.name, &decl.sig, decl.span),
                    Item::Profile(b) | Item::Agent(b) => {
                        let mut stack: Vec<&[Member]> = vec![&b.members];
                        while let Some(members) = stack.pop() {
                            for member in members {
                                match member {
                                    Member::Tool(tb) => {
                                        if let Some(sig) = &tb.sig {
                                            self.add_tool(&tb.name, sig, tb.name.span.to(sig.span));
                                        }
                                    }
                                    Member::Skill(s) => stack.push(&s.members),
                                    _ => {}
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn lower_sig(&mut self, sig: &ast::ToolSig) -> (Vec<ir::ArgSig>, Vec<Span>, Vec<ir::Label>) {
        let mut args = Vec::with_capacity(sig.args.len());
        let mut spans = Vec::with_capacity(sig.args.len());
        let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
        for a in &sig.args {
            if let Some(&first) = seen.get(a.name.name.as_str()) {
                self.diags.push(
                    Diag::error(
                        &codes::DUPLICATE_ARGUMENT,
                        a.name.span,
                        format!("the argument `{}` is declared twice", a.name.name),
                    )
                    .label("declared again")
                    .with_label(first, "first declared here")
                    .help("rename or remove one of them"),
                );
                continue;
            }
            seen.insert(&a.name.name, a.name.span);
            let ty = match &a.ty.kind {
                TypeKind::String => ir::ArgType::String,
                TypeKind::Int => ir::ArgType::Int,
                TypeKind::Bool => ir::ArgType::Bool,
                TypeKind::Url => ir::ArgType::Url,
                TypeKind::Path => ir::ArgType::Path,
                TypeKind::Set(_) => {
                    self.diags.push(
                        Diag::error(
                            &codes::INVALID_TYPE,
                            a.ty.span,
                            "tool arguments cannot be sets",
                        )
                        .label("a set type")
                        .help("argument types are `string`, `int`, `bool`, `url` and `path`"),
                    );
                    ir::ArgType::String
                }
            };
            args.push(ir::ArgSig {
                name: a.name.name.clone(),
                ty,
                secret: a.secret.is_some(),
            });
            spans.push(a.name.span);
        }
        let mut labels = Vec::new();
        for l in &sig.labels {
            if l.name == "untrusted" {
                if !labels.contains(&ir::Label::Untrusted) {
                    labels.push(ir::Label::Untrusted);
                }
            } else {
                self.diags.push(
                    Diag::error(
                        &codes::UNKNOWN_LABEL,
                        l.span,
                        format!("unknown output label `{}`", l.name),
                    )
                    .label("not a label")
                    .help("the only output label is `untrusted` (`-> untrusted`)"),
                );
            }
        }
        (args, spans, labels)
    }

    fn add_tool(&mut self, name: &ast::Ident, sig: &ast::ToolSig, decl_span: Span) {
        let (args, arg_spans, labels) = self.lower_sig(sig);
        match self.tool_index.get(&name.name).copied() {
            None => {
                let src = self.sref(decl_span);
                self.tools.push(ToolInfo {
                    sig: ir::ToolSig {
                        name: name.name.clone(),
                        args,
                        labels,
                        src,
                    },
                    arg_spans,
                    name_span: name.span,
                });
                self.tool_index
                    .insert(name.name.clone(), self.tools.len() - 1);
            }
            Some(i) => {
                let Some(first) = self.tools.get(i).cloned() else {
                    return;
                };
                let first_span = first.name_span;
                self.reference(name.span, first_span, name.name.clone());
                if first.sig.args != args || first.sig.labels != labels {
                    let shown = |args: &[ir::ArgSig], labels: &[ir::Label]| {
                        let a: Vec<String> = args
                            .iter()
                            .map(|a| {
                                format!(
                                    "{}: {}{}",
                                    a.name,
                                    if a.secret { "secret " } else { "" },
                                    arg_type_word(a.ty)
                                )
                            })
                            .collect();
                        let l = if labels.is_empty() {
                            ""
                        } else {
                            " -> untrusted"
                        };
                        format!("({}){l}", a.join(", "))
                    };
                    let first_shown = shown(&first.sig.args, &first.sig.labels);
                    let this_shown = shown(&args, &labels);
                    self.diags.push(
                        Diag::error(
                            &codes::CONFLICTING_TOOL_SIGNATURE,
                            sig.span,
                            format!("the tool `{}` is declared with a different signature", name.name),
                        )
                        .label(format!("declared here as {this_shown}"))
                        .with_label(first_span, format!("first declared as {first_shown}"))
                        .help("tool names are global: make the signatures agree, or declare the tool once and write `tool NAME { ... }`"),
                    );
                }
            }
        }
    }

    /// Checks param types.
    pub fn declare_params(&mut self) {
        for def in 0..self.defs.len() {
            if self.kind(def) != Some(DefKind::Param) {
                continue;
            }
            let Some(Item::Param(p)) = self.item(def) else {
                continue;
            };
            let ty = match &p.ty.kind {
                TypeKind::String => Some(ir::ParamType::String),
                TypeKind::Int => Some(ir::ParamType::Int),
                TypeKind::Bool => Some(ir::ParamType::Bool),
                TypeKind::Set(inner) => match inner.kind {
                    TypeKind::String => Some(ir::ParamType::SetString),
                    TypeKind::Int => Some(ir::ParamType::SetInt),
                    _ => None,
                },
                TypeKind::Url | TypeKind::Path => None,
            };
            match ty {
                Some(t) => {
                    self.params.insert(def, t);
                }
                None => self.diags.push(
                    Diag::error(
                        &codes::INVALID_TYPE,
                        p.ty.span,
                        "this type is not allowed for a param",
                    )
                    .label("not a param type")
                    .help("param types are `string`, `int`, `bool`, `set<string>` and `set<int>`"),
                ),
            }
        }
    }

    /// Validates every secret's files and environment variables.
    pub fn declare_secrets(&mut self) {
        for def in 0..self.defs.len() {
            if self.kind(def) != Some(DefKind::Secret) {
                continue;
            }
            let Some(Item::Secret(s)) = self.item(def) else {
                continue;
            };
            let module = self.defs.get(def).map(|d| d.module).unwrap_or(0);
            let mut data = SecretData::default();
            let mut seen_env = HashSet::new();
            for source in &s.sources {
                match source {
                    SecretSource::File(expr) => {
                        self.in_secret_decl = true;
                        let p = self.path_targets(module, expr);
                        self.in_secret_decl = false;
                        if let Some(p) = p {
                            data.files.extend(p);
                        }
                    }
                    SecretSource::Env(vars) => {
                        for v in vars {
                            let Some(name) = self.interpolate(module, v) else {
                                continue;
                            };
                            match check_env_var(&name) {
                                Ok(()) => {
                                    if seen_env.insert(name.clone()) {
                                        data.env.push(name);
                                    }
                                }
                                Err(e) => self.diags.push(e.error_at(v.span)),
                            }
                        }
                    }
                }
            }
            self.secrets.insert(def, data);
        }
    }

    /// Every declared param, for the IR.
    pub fn ir_params(&self) -> Vec<ir::ParamSig> {
        let mut out = Vec::new();
        for (def, d) in self.defs.iter().enumerate() {
            if d.kind != DefKind::Param {
                continue;
            }
            let (Some(ty), Some(item)) = (self.params.get(&def), self.item(def)) else {
                continue;
            };
            out.push(ir::ParamSig {
                name: self.qualified(def),
                ty: *ty,
                src: self.sref(item.span()),
            });
        }
        out
    }

    /// Every declared secret, for the IR.
    pub fn ir_secrets(&self) -> Vec<ir::SecretInfo> {
        let mut out = Vec::new();
        for (def, d) in self.defs.iter().enumerate() {
            if d.kind != DefKind::Secret {
                continue;
            }
            let (Some(data), Some(item)) = (self.secrets.get(&def), self.item(def)) else {
                continue;
            };
            out.push(ir::SecretInfo {
                name: self.qualified(def),
                files: data.files.iter().map(|p| p.display()).collect(),
                env: data.env.clone(),
                src: self.sref(item.span()),
            });
        }
        out
    }
}

/// The type keyword.
pub fn arg_type_word(t: ir::ArgType) -> &'static str {
    match t {
        ir::ArgType::String => "string",
        ir::ArgType::Int => "int",
        ir::ArgType::Bool => "bool",
        ir::ArgType::Url => "url",
        ir::ArgType::Path => "path",
    }
}
