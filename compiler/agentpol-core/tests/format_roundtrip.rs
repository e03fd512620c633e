//! Property tests over generated valid trees:
//! * `parse(print(t)) == t` up to spans (parse ∘ print = id);
//! * the printed text is a fixpoint of the formatter;
//! * with comments inserted at random token boundaries, formatting keeps
//!   every comment, keeps the tree, and is idempotent.

use agentpol_core::format::{format_source, print_file};
use agentpol_core::span::{FileId, Span, Spanned};
use agentpol_core::syntax::ast::*;
use agentpol_core::syntax::lexer::{lex, KEYWORDS};
use agentpol_core::syntax::{erase_spans, parse};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

fn sp() -> Span {
    Span::default()
}

fn spd<T>(t: T) -> Spanned<T> {
    Spanned::new(t, sp())
}

fn id(name: String) -> Ident {
    Ident { name, span: sp() }
}

fn ident_name() -> BoxedStrategy<String> {
    "[a-zA-Z_][a-zA-Z0-9_-]{0,5}"
        .prop_filter("not a keyword", |s| !KEYWORDS.contains(&s.as_str()))
        .boxed()
}

fn ident() -> BoxedStrategy<Ident> {
    ident_name().prop_map(id).boxed()
}

/// An identifier or a keyword.
fn word() -> BoxedStrategy<Ident> {
    prop_oneof![
        3 => ident(),
        1 => proptest::sample::select(KEYWORDS).prop_map(|k| id(k.to_string())),
    ]
    .boxed()
}

fn operand_word() -> BoxedStrategy<Ident> {
    word()
        .prop_filter("`not` cannot start an operand", |w| w.name != "not")
        .boxed()
}

fn qual_of(parts: Vec<Ident>) -> QualName {
    QualName { parts, span: sp() }
}

/// A name: one identifier, or two or more words joined by `::`.
fn name() -> BoxedStrategy<QualName> {
    prop_oneof![
        3 => ident().prop_map(|i| qual_of(vec![i])),
        1 => proptest::collection::vec(word(), 2..4).prop_map(qual_of),
    ]
    .boxed()
}

fn word_path() -> BoxedStrategy<QualName> {
    proptest::collection::vec(word(), 1..3)
        .prop_map(qual_of)
        .boxed()
}

fn str_lit() -> BoxedStrategy<StrLit> {
    let text = "[a-z/*.~ ${}\"\\\\\n\t#é💥]{1,8}";
    let interp = proptest::collection::vec("[a-zA-Z_][a-zA-Z0-9_-]{0,4}".prop_map(id), 1..3)
        .prop_map(|p| StrPart::Interp(qual_of(p)));
    let part = prop_oneof![3 => text.prop_map(|t| StrPart::Text(t, sp())), 1 => interp];
    proptest::collection::vec(part, 0..4)
        .prop_map(|parts| {
            // The parser never yields two text parts in a row.
            let mut merged: Vec<StrPart> = Vec::new();
            for p in parts {
                match (merged.last_mut(), p) {
                    (Some(StrPart::Text(prev, _)), StrPart::Text(t, _)) => prev.push_str(&t),
                    (_, p) => merged.push(p),
                }
            }
            StrLit {
                parts: merged,
                span: sp(),
            }
        })
        .boxed()
}

fn int() -> BoxedStrategy<Spanned<u64>> {
    prop_oneof![0u64..100_000, any::<u64>()]
        .prop_map(spd)
        .boxed()
}

fn ip() -> BoxedStrategy<Spanned<String>> {
    (any::<[u8; 4]>(), proptest::option::of(0u8..33))
        .prop_map(|(o, p)| {
            let mut s = format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]);
            if let Some(p) = p {
                s.push_str(&format!("/{p}"));
            }
            spd(s)
        })
        .boxed()
}

fn range() -> BoxedStrategy<Expr> {
    (int(), int())
        .prop_map(|(a, b)| Expr::Range(a, b, sp()))
        .boxed()
}

fn elem() -> BoxedStrategy<Expr> {
    prop_oneof![
        str_lit().prop_map(Expr::Str),
        int().prop_map(Expr::Int),
        ip().prop_map(Expr::Ip),
        range(),
        name().prop_map(Expr::Name),
    ]
    .boxed()
}

fn set_lit() -> BoxedStrategy<SetLit> {
    proptest::collection::vec(elem(), 0..4)
        .prop_map(|elems| SetLit { elems, span: sp() })
        .boxed()
}

fn targets_no_any() -> BoxedStrategy<Expr> {
    prop_oneof![
        str_lit().prop_map(Expr::Str),
        ip().prop_map(Expr::Ip),
        name().prop_map(Expr::Name),
        set_lit().prop_map(Expr::Set),
    ]
    .boxed()
}

fn targets() -> BoxedStrategy<Expr> {
    prop_oneof![4 => targets_no_any(), 1 => Just(Expr::Any(sp()))].boxed()
}

fn port_item() -> BoxedStrategy<Expr> {
    prop_oneof![
        int().prop_map(Expr::Int),
        range(),
        name().prop_map(Expr::Name)
    ]
    .boxed()
}

fn ports() -> BoxedStrategy<Expr> {
    prop_oneof![
        port_item(),
        Just(Expr::Any(sp())),
        proptest::collection::vec(port_item(), 1..4)
            .prop_map(|elems| Expr::Set(SetLit { elems, span: sp() })),
    ]
    .boxed()
}

fn ty() -> BoxedStrategy<TypeExpr> {
    let leaf = prop_oneof![
        Just(TypeKind::String),
        Just(TypeKind::Int),
        Just(TypeKind::Bool),
        Just(TypeKind::Url),
        Just(TypeKind::Path),
    ]
    .prop_map(|kind| TypeExpr { kind, span: sp() });
    leaf.prop_recursive(3, 4, 1, |inner| {
        inner.prop_map(|t| TypeExpr {
            kind: TypeKind::Set(Box::new(t)),
            span: sp(),
        })
    })
    .boxed()
}

fn sig() -> BoxedStrategy<ToolSig> {
    let arg = (word(), ty(), any::<bool>()).prop_map(|(name, ty, secret)| ArgDecl {
        name,
        ty,
        secret: secret.then(sp),
        span: sp(),
    });
    (
        proptest::collection::vec(arg, 0..3),
        proptest::collection::vec(ident(), 0..3),
    )
        .prop_map(|(args, labels)| ToolSig {
            args,
            labels,
            span: sp(),
        })
        .boxed()
}

fn effect() -> BoxedStrategy<Spanned<EffectKw>> {
    prop_oneof![
        Just(EffectKw::Allow),
        Just(EffectKw::Deny),
        Just(EffectKw::Ask)
    ]
    .prop_map(spd)
    .boxed()
}

fn fs_action() -> BoxedStrategy<FsActionKw> {
    proptest::sample::select(vec![
        FsActionKw::Read,
        FsActionKw::Write,
        FsActionKw::Create,
        FsActionKw::Delete,
        FsActionKw::Rename,
        FsActionKw::Link,
        FsActionKw::Mkdir,
    ])
    .boxed()
}

fn net_action() -> BoxedStrategy<NetActionKw> {
    proptest::sample::select(vec![
        NetActionKw::Connect,
        NetActionKw::Listen,
        NetActionKw::Sendto,
    ])
    .boxed()
}

fn proto() -> BoxedStrategy<Spanned<ProtoKw>> {
    proptest::sample::select(vec![ProtoKw::Tcp, ProtoKw::Udp, ProtoKw::Any])
        .prop_map(spd)
        .boxed()
}

fn actions<A: Clone + std::fmt::Debug + 'static>(a: BoxedStrategy<A>) -> BoxedStrategy<Actions<A>> {
    prop_oneof![
        1 => Just(Actions::All(sp())),
        3 => proptest::collection::vec(a.prop_map(spd), 1..3).prop_map(Actions::List),
    ]
    .boxed()
}

fn fs_match() -> BoxedStrategy<FsMatch> {
    (actions(fs_action()), targets())
        .prop_map(|(actions, targets)| FsMatch { actions, targets })
        .boxed()
}

fn exec_match() -> BoxedStrategy<ExecMatch> {
    let args =
        (proptest::collection::vec(str_lit(), 0..3), any::<bool>()).prop_map(|(items, rest)| {
            ArgsPattern {
                items,
                rest: rest.then(sp),
                span: sp(),
            }
        });
    (targets(), proptest::option::of(args))
        .prop_map(|(binaries, args)| ExecMatch { binaries, args })
        .boxed()
}

fn net_match() -> BoxedStrategy<NetMatch> {
    (
        actions(net_action()),
        proptest::option::of(proto()),
        proptest::option::of(targets()),
        proptest::option::of(ports()),
    )
        .prop_map(|(actions, proto, targets, ports)| {
            // `any` right after the actions is the protocol.
            let targets = match (&proto, targets) {
                (None, Some(Expr::Any(_))) => None,
                (_, t) => t,
            };
            NetMatch {
                actions,
                proto,
                targets,
                ports,
            }
        })
        .boxed()
}

fn operand() -> BoxedStrategy<Operand> {
    (operand_word(), proptest::option::of(word()))
        .prop_map(|(arg, field)| Operand {
            arg,
            field,
            span: sp(),
        })
        .boxed()
}

fn atom() -> BoxedStrategy<Atom> {
    let op = proptest::sample::select(vec![
        CmpOpKw::Eq,
        CmpOpKw::Ne,
        CmpOpKw::Lt,
        CmpOpKw::Le,
        CmpOpKw::Gt,
        CmpOpKw::Ge,
    ]);
    let value = prop_oneof![
        str_lit().prop_map(Expr::Str),
        int().prop_map(Expr::Int),
        any::<bool>().prop_map(|b| Expr::Bool(spd(b))),
        name().prop_map(Expr::Name),
        name().prop_map(|n| Expr::Param(n, sp())),
    ];
    let set_expr = prop_oneof![
        set_lit().prop_map(Expr::Set),
        name().prop_map(Expr::Name),
        name().prop_map(|n| Expr::Param(n, sp())),
    ];
    prop_oneof![
        (operand(), op, value).prop_map(|(lhs, op, rhs)| Atom::Compare {
            lhs,
            op: spd(op),
            rhs,
            span: sp()
        }),
        (operand(), any::<bool>(), set_expr).prop_map(|(lhs, negated, set)| Atom::In {
            lhs,
            negated,
            set,
            span: sp()
        }),
        (operand(), any::<bool>(), str_lit()).prop_map(|(lhs, negated, pattern)| Atom::Like {
            lhs,
            negated,
            pattern,
            span: sp()
        }),
        word().prop_map(|arg| Atom::Tainted { arg, span: sp() }),
    ]
    .boxed()
}

/// Adds the parentheses the parser would have needed to build `c`.
fn canon(c: Cond) -> Cond {
    fn paren(c: Cond) -> Cond {
        Cond::Paren(Box::new(c), sp())
    }
    match c {
        Cond::Or(v, s) => Cond::Or(
            v.into_iter()
                .map(|c| match canon(c) {
                    c @ Cond::Or(..) => paren(c),
                    c => c,
                })
                .collect(),
            s,
        ),
        Cond::And(v, s) => Cond::And(
            v.into_iter()
                .map(|c| match canon(c) {
                    c @ (Cond::Or(..) | Cond::And(..)) => paren(c),
                    c => c,
                })
                .collect(),
            s,
        ),
        Cond::Not(inner, s) => Cond::Not(
            Box::new(match canon(*inner) {
                c @ (Cond::Or(..) | Cond::And(..)) => paren(c),
                c => c,
            }),
            s,
        ),
        Cond::Paren(inner, s) => Cond::Paren(Box::new(canon(*inner)), s),
        a @ Cond::Atom(_) => a,
    }
}

fn cond() -> BoxedStrategy<Cond> {
    atom()
        .prop_map(Cond::Atom)
        .prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(|v| Cond::Or(v, sp())),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(|v| Cond::And(v, sp())),
                inner.clone().prop_map(|c| Cond::Not(Box::new(c), sp())),
                inner.prop_map(|c| Cond::Paren(Box::new(c), sp())),
            ]
        })
        .prop_map(canon)
        .boxed()
}

fn member(depth: u32) -> BoxedStrategy<Member> {
    let mut options: Vec<BoxedStrategy<Member>> = vec![
        str_lit().prop_map(|s| Member::Home(s, sp())).boxed(),
        proptest::option::of(str_lit())
            .prop_map(|p| {
                Member::Scope(ScopeDecl {
                    kind: ScopeKind::Cgroup(p),
                    span: sp(),
                })
            })
            .boxed(),
        int()
            .prop_map(|n| {
                Member::Scope(ScopeDecl {
                    kind: ScopeKind::Uid(n),
                    span: sp(),
                })
            })
            .boxed(),
        targets().prop_map(|t| Member::Resolvers(t, sp())).boxed(),
        (
            proptest::option::of(str_lit()),
            proptest::collection::vec((word(), str_lit()), 0..3),
        )
            .prop_map(|(namespace, labels)| {
                Member::Selector(SelectorDecl {
                    namespace,
                    labels,
                    span: sp(),
                })
            })
            .boxed(),
        name().prop_map(|n| Member::Include(n, sp())).boxed(),
        proptest::collection::vec(
            (effect(), fs_match()).prop_map(|(effect, body)| FsRule {
                effect,
                body,
                span: sp(),
            }),
            0..3,
        )
        .prop_map(|rules| Member::Fs(RuleBlock { rules, span: sp() }))
        .boxed(),
        proptest::collection::vec(
            (effect(), exec_match()).prop_map(|(effect, body)| ExecRule {
                effect,
                body,
                span: sp(),
            }),
            0..3,
        )
        .prop_map(|rules| Member::Exec(RuleBlock { rules, span: sp() }))
        .boxed(),
        proptest::collection::vec(
            (effect(), net_match()).prop_map(|(effect, body)| NetRule {
                effect,
                body,
                span: sp(),
            }),
            0..3,
        )
        .prop_map(|rules| Member::Net(RuleBlock { rules, span: sp() }))
        .boxed(),
        (
            word(),
            proptest::option::of(sig()),
            proptest::collection::vec(
                (effect(), proptest::option::of(cond())).prop_map(|(effect, cond)| ToolRule {
                    effect,
                    cond,
                    span: sp(),
                }),
                0..3,
            ),
        )
            .prop_map(|(name, sig, rules)| {
                Member::Tool(ToolBlock {
                    name,
                    sig,
                    rules,
                    span: sp(),
                })
            })
            .boxed(),
        proptest::collection::vec(
            (effect(), proptest::collection::vec(name(), 1..3)).prop_map(|(effect, names)| {
                SecretRule {
                    effect,
                    names,
                    span: sp(),
                }
            }),
            0..3,
        )
        .prop_map(|rules| Member::Secrets(RuleBlock { rules, span: sp() }))
        .boxed(),
    ];
    if depth > 0 {
        options.push(
            (ident(), proptest::collection::vec(member(depth - 1), 0..3))
                .prop_map(|(name, members)| {
                    Member::Skill(Block {
                        kind: BlockKind::Skill,
                        name,
                        members,
                        span: sp(),
                    })
                })
                .boxed(),
        );
    }
    proptest::strategy::Union::new(options).boxed()
}

fn block(kind: BlockKind) -> BoxedStrategy<Block> {
    (ident(), proptest::collection::vec(member(1), 0..5))
        .prop_map(move |(name, members)| Block {
            kind,
            name,
            members,
            span: sp(),
        })
        .boxed()
}

fn agent_or_skill() -> BoxedStrategy<AgentRef> {
    prop_oneof![
        ident().prop_map(AgentRef::Agent),
        (ident(), ident()).prop_map(|(a, s)| AgentRef::Skill(a, s)),
    ]
    .boxed()
}

fn field() -> BoxedStrategy<Field> {
    let value = prop_oneof![
        str_lit().prop_map(Expr::Str),
        int().prop_map(Expr::Int),
        any::<bool>().prop_map(|b| Expr::Bool(spd(b))),
        ip().prop_map(Expr::Ip),
        set_lit().prop_map(Expr::Set),
    ];
    (word_path(), value)
        .prop_map(|(name, value)| Field { name, value })
        .boxed()
}

fn concrete() -> BoxedStrategy<ConcreteRequest> {
    prop_oneof![
        (fs_action(), str_lit()).prop_map(|(a, path)| ConcreteRequest::Fs {
            action: spd(a),
            path
        }),
        (str_lit(), proptest::collection::vec(str_lit(), 0..3))
            .prop_map(|(path, args)| ConcreteRequest::Exec { path, args }),
        (
            net_action(),
            proptest::option::of(proto()),
            prop_oneof![str_lit().prop_map(Expr::Str), ip().prop_map(Expr::Ip)],
            int()
        )
            .prop_map(|(a, proto, addr, port)| ConcreteRequest::Net {
                action: spd(a),
                proto,
                addr,
                port
            }),
        (
            word(),
            proptest::collection::vec(field(), 0..3),
            proptest::collection::vec(field(), 0..2),
            proptest::collection::vec(word(), 0..3)
        )
            .prop_map(|(name, args, params, tainted)| ConcreteRequest::Tool {
                name,
                args,
                params,
                tainted
            }),
        str_lit().prop_map(|var| ConcreteRequest::Env { var }),
    ]
    .boxed()
}

fn pattern() -> BoxedStrategy<RequestPattern> {
    prop_oneof![
        fs_match().prop_map(|m| RequestPattern::Fs(m, sp())),
        exec_match().prop_map(|m| RequestPattern::Exec(m, sp())),
        net_match().prop_map(|m| RequestPattern::Net(m, sp())),
        (word(), proptest::option::of(cond())).prop_map(|(w, c)| RequestPattern::Tool(w, c, sp())),
        str_lit().prop_map(|s| RequestPattern::Env(s, sp())),
        targets().prop_map(|t| RequestPattern::Read(t, sp())),
    ]
    .boxed()
}

fn item() -> BoxedStrategy<Item> {
    prop_oneof![
        (name(), proptest::option::of(ident())).prop_map(|(n, alias)| Item::Import(Import {
            target: ImportTarget::Module(n),
            alias,
            span: sp()
        })),
        (str_lit(), ident()).prop_map(|(f, a)| Item::Import(Import {
            target: ImportTarget::File(f),
            alias: Some(a),
            span: sp()
        })),
        (
            ident(),
            prop_oneof![
                str_lit().prop_map(Expr::Str),
                int().prop_map(Expr::Int),
                name().prop_map(Expr::Name)
            ]
        )
            .prop_map(|(name, value)| Item::Const(ConstDecl {
                name,
                value,
                span: sp()
            })),
        (ident(), set_lit()).prop_map(|(name, value)| Item::Set(SetDecl {
            name,
            value,
            span: sp()
        })),
        (ident(), ty()).prop_map(|(name, ty)| Item::Param(ParamDecl {
            name,
            ty,
            span: sp()
        })),
        (
            ident(),
            proptest::collection::vec(
                prop_oneof![
                    targets().prop_map(SecretSource::File),
                    proptest::collection::vec(str_lit(), 1..3).prop_map(SecretSource::Env),
                ],
                0..3
            )
        )
            .prop_map(|(name, sources)| Item::Secret(SecretDecl {
                name,
                sources,
                span: sp()
            })),
        (word(), sig()).prop_map(|(name, sig)| Item::Tool(ToolDecl {
            name,
            sig,
            span: sp()
        })),
        block(BlockKind::Profile).prop_map(Item::Profile),
        block(BlockKind::Agent).prop_map(Item::Agent),
        (
            any::<bool>(),
            prop_oneof![Just(AgentRef::All(sp())), agent_or_skill()],
            pattern()
        )
            .prop_map(|(only, target, pattern)| Item::Assert(Assert {
                only_allow: only.then(sp),
                target,
                pattern,
                span: sp()
            })),
        (
            str_lit(),
            proptest::collection::vec(
                (effect(), agent_or_skill(), concrete()).prop_map(|(effect, target, request)| {
                    Expect {
                        effect,
                        target,
                        request,
                        span: sp(),
                    }
                }),
                0..3
            )
        )
            .prop_map(|(name, expects)| Item::Test(TestDecl {
                name,
                expects,
                span: sp()
            })),
    ]
    .boxed()
}

fn file() -> BoxedStrategy<File> {
    (
        proptest::option::of(any::<u32>().prop_map(spd)),
        proptest::collection::vec(item(), 0..6),
    )
        .prop_map(|(version, items)| File {
            version,
            items,
            span: sp(),
        })
        .boxed()
}

fn check_round_trip(tree: &File) -> Result<String, TestCaseError> {
    let text = print_file(tree);
    let parsed = parse(FileId(0), &text);
    prop_assert!(
        parsed.diagnostics.is_empty(),
        "printed text does not parse: {:?}\n{}",
        parsed.diagnostics.first().map(|d| &d.message),
        text
    );
    prop_assert_eq!(erase_spans(&parsed.ast), erase_spans(tree), "\n{}", text);
    let formatted = format_source(FileId(0), &text).map_err(|_| TestCaseError::fail("refused"))?;
    prop_assert_eq!(&formatted, &text, "printed text is not canonical");
    Ok(text)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn print_then_parse_is_identity(tree in file()) {
        check_round_trip(&tree)?;
    }

    #[test]
    fn comments_survive_and_formatting_is_idempotent(
        tree in file(),
        picks in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
    ) {
        let text = check_round_trip(&tree)?;
        let tokens = lex(FileId(0), &text).tokens;
        if tokens.is_empty() {
            return Ok(());
        }
        // Insert a numbered comment after some tokens.
        let mut after: Vec<usize> = picks.iter().map(|p| tokens[p.index(tokens.len())].2).collect();
        after.sort_unstable();
        after.dedup();
        let mut with_comments = String::new();
        let mut last = 0;
        for (n, &at) in after.iter().enumerate() {
            with_comments.push_str(&text[last..at]);
            with_comments.push_str(&format!(" #c{n}\n"));
            last = at;
        }
        with_comments.push_str(&text[last..]);
        let once = format_source(FileId(0), &with_comments)
            .map_err(|d| TestCaseError::fail(format!("refused: {}\n{with_comments}", d[0].message)))?;
        for n in 0..after.len() {
            prop_assert_eq!(once.matches(&format!("#c{n}\n")).count(), 1, "comment {} lost:\n{}\n---\n{}", n, with_comments, once);
        }
        let reparsed = parse(FileId(0), &once);
        prop_assert_eq!(erase_spans(&reparsed.ast), erase_spans(&tree));
        prop_assert_eq!(reparsed.comments.len(), after.len());
        let twice = format_source(FileId(0), &once).map_err(|_| TestCaseError::fail("refused twice"))?;
        prop_assert_eq!(&twice, &once, "not idempotent; input:\n{}", with_comments);
    }
}
