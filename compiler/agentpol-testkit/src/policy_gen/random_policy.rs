//! Random policies from a seed: globs, tool conditions, rules of every kind
//! over 1–3 agents and their skills.

use super::build::*;
use super::rng::*;
use agentpol_core::ir::*;
use std::collections::BTreeSet;

fn rand_piece(rng: &mut Rng) -> Piece {
    match rng.below(8) {
        0..=2 => Piece::Lit(rng.pick(PIECE_LITS).copied().unwrap_or("a").to_string()),
        3 | 4 => Piece::Star,
        5 => Piece::Any,
        6 => Piece::Class {
            negated: false,
            ranges: vec![('a', 'c'), ('x', 'x')],
        },
        _ => Piece::Class {
            negated: rng.chance(1, 2),
            ranges: vec![('0', '9')],
        },
    }
}

fn piece_text(p: &Piece) -> String {
    match p {
        Piece::Lit(l) => l.replace('*', "\\*"),
        Piece::Star => "*".into(),
        Piece::Any => "?".into(),
        Piece::Class { negated, ranges } => {
            let mut s = String::from("[");
            if *negated {
                s.push('!');
            }
            for (lo, hi) in ranges {
                s.push(*lo);
                if lo != hi {
                    s.push('-');
                    s.push(*hi);
                }
            }
            s.push(']');
            s
        }
    }
}

/// A random glob (up to 5 segments; wildcards, classes, `**`).
pub fn rand_glob(rng: &mut Rng) -> Glob {
    let n = rng.below(5) + usize::from(rng.chance(1, 20)) * 14;
    let mut segs = Vec::new();
    let mut text = String::new();
    for _ in 0..n {
        let seg = match rng.below(10) {
            0..=4 => Segment::Lit(rng.pick(SEGS).copied().unwrap_or("a").to_string()),
            5 | 6 => Segment::Any,
            _ => {
                let k = rng.below(3) + 1;
                let mut pieces: Vec<Piece> = Vec::new();
                for _ in 0..k {
                    let p = rand_piece(rng);
                    // Keep the parse canonical: no two adjacent literals or stars.
                    match (pieces.last(), &p) {
                        (Some(Piece::Lit(_)), Piece::Lit(_)) | (Some(Piece::Star), Piece::Star) => {
                        }
                        _ => pieces.push(p),
                    }
                }
                if pieces.iter().all(|p| matches!(p, Piece::Lit(_))) {
                    pieces.push(Piece::Star);
                }
                Segment::Wild(pieces)
            }
        };
        text.push('/');
        text.push_str(&match &seg {
            Segment::Lit(l) => l.clone(),
            Segment::Any => "**".into(),
            Segment::Wild(p) => p.iter().map(piece_text).collect(),
        });
        segs.push(seg);
    }
    // `**` twice in a row means the same as once; the checker would not emit it.
    segs.dedup_by(|a, b| matches!((a, b), (Segment::Any, Segment::Any)));
    if text.is_empty() {
        text.push('/');
    }
    Glob {
        pattern: text,
        segments: segs,
    }
}

/// Tool signatures the random policies use.
fn rand_tools(b: &mut PolicyBuilder) {
    b.tool(
        "send",
        &[
            ("to", ArgType::String),
            ("amount", ArgType::Int),
            ("urgent", ArgType::Bool),
            ("url", ArgType::Url),
            ("file", ArgType::Path),
        ],
    );
    b.tool("fetch", &[("url", ArgType::Url), ("in", ArgType::String)]);
    b.tool("noop", &[]);
    b.param("contacts", ParamType::SetString);
    b.param("limit", ParamType::Int);
    b.param("owner", ParamType::String);
    b.param("flag", ParamType::Bool);
    b.param("codes", ParamType::SetInt);
}

fn rand_str_set(rng: &mut Rng) -> BTreeSet<Value> {
    (0..rng.below(3))
        .filter_map(|_| rng.pick(STRS).map(|s| Value::Str(s.to_string())))
        .collect()
}

fn rand_atom(rng: &mut Rng, tool: &str) -> Atom {
    let negated = rng.chance(1, 4);
    let test = if tool == "fetch" {
        match rng.below(6) {
            0 => Test::HostIn {
                lhs: url_part("url", UrlField::Host),
                hosts: (0..rng.below(3) + 1)
                    .map(|_| {
                        if rng.chance(1, 2) {
                            domain(
                                rng.pick(&[
                                    "*.example.com",
                                    "example.com",
                                    "evil.org",
                                    "*.b.example.com",
                                ])
                                .copied()
                                .unwrap_or("x"),
                            )
                        } else {
                            cidr(rng.pick(NETS).copied().unwrap_or("10.0.0.0/8"))
                        }
                    })
                    .collect(),
            },
            1 => Test::Eq {
                lhs: url_part("url", UrlField::Scheme),
                rhs: Scalar::Lit(Value::Str(
                    rng.pick(&["https", "http", "mailto"])
                        .copied()
                        .unwrap_or("https")
                        .into(),
                )),
            },
            2 => Test::Cmp {
                lhs: url_part("url", UrlField::Port),
                op: *rng
                    .pick(&[CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge])
                    .unwrap_or(&CmpOp::Lt),
                rhs: Scalar::Lit(Value::Int(
                    *rng.pick(&[80, 443, 1024, 8080]).unwrap_or(&443),
                )),
            },
            3 => Test::Like {
                lhs: url_part("url", UrlField::Path),
                pattern: like(
                    rng.pick(&["/v1/*", "*", "/", "*x*"])
                        .copied()
                        .unwrap_or("*"),
                ),
            },
            4 => Test::Eq {
                lhs: url_part("url", UrlField::Host),
                rhs: Scalar::Lit(Value::Str(
                    rng.pick(&["api.example.com", "10.1.2.3", "2001:db8::1"])
                        .copied()
                        .unwrap_or("x")
                        .into(),
                )),
            },
            _ => Test::In {
                lhs: arg("in"),
                set: SetOperand::Lit(rand_str_set(rng)),
            },
        }
    } else {
        match rng.below(13) {
            0 => Test::Eq {
                lhs: arg("to"),
                rhs: Scalar::Lit(Value::Str(rng.pick(STRS).copied().unwrap_or("a").into())),
            },
            1 => Test::In {
                lhs: arg("to"),
                set: if rng.chance(1, 2) {
                    SetOperand::Param("contacts".into())
                } else {
                    SetOperand::Lit(rand_str_set(rng))
                },
            },
            2 => Test::Cmp {
                lhs: arg("amount"),
                op: *rng
                    .pick(&[CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge])
                    .unwrap_or(&CmpOp::Lt),
                rhs: if rng.chance(1, 3) {
                    Scalar::Param("limit".into())
                } else {
                    Scalar::Lit(Value::Int(*rng.pick(INTS).unwrap_or(&0)))
                },
            },
            3 => Test::Eq {
                lhs: arg("urgent"),
                rhs: if rng.chance(1, 3) {
                    Scalar::Param("flag".into())
                } else {
                    Scalar::Lit(Value::Bool(rng.chance(1, 2)))
                },
            },
            4 => Test::Like {
                lhs: arg("to"),
                pattern: like(
                    rng.pick(&["*@example.com", "a*", "x\\*y", "*"])
                        .copied()
                        .unwrap_or("*"),
                ),
            },
            5 => Test::PathIn {
                lhs: arg("file"),
                globs: (0..rng.below(2) + 1).map(|_| rand_glob(rng)).collect(),
            },
            6 => Test::Tainted {
                arg: rng
                    .pick(&["to", "amount", "file"])
                    .copied()
                    .unwrap_or("to")
                    .into(),
            },
            7 => Test::ContainsSecret {
                secret: "aws".into(),
                var: rng.pick(VARS).copied().unwrap_or("TOKEN").into(),
            },
            8 => Test::In {
                lhs: arg("amount"),
                set: if rng.chance(1, 2) {
                    SetOperand::Param("codes".into())
                } else {
                    SetOperand::Lit([Value::Int(1), Value::Int(10)].into())
                },
            },
            9 => Test::Eq {
                lhs: arg("to"),
                rhs: Scalar::Param("owner".into()),
            },
            10 => Test::Eq {
                lhs: arg("file"),
                rhs: Scalar::Lit(Value::Str(
                    rng.pick(&["/tmp/a", "/a/b"])
                        .copied()
                        .unwrap_or("/a")
                        .into(),
                )),
            },
            11 => Test::HostIn {
                lhs: url_part("url", UrlField::Host),
                hosts: vec![domain("*.example.com"), cidr("10.0.0.0/8")],
            },
            _ => Test::Cmp {
                lhs: url_part("url", UrlField::Port),
                op: CmpOp::Ge,
                rhs: Scalar::Lit(Value::Int(443)),
            },
        }
    };
    Atom { negated, test }
}

fn rand_rule(rng: &mut Rng, b: &mut PolicyBuilder, who: Who<'_>) {
    let kind = rng.below(10);
    let effect = match rng.below(10) {
        0..=4 => Effect::Allow,
        5..=7 => Effect::Deny,
        _ => Effect::Ask,
    };
    let non_tool_effect = if effect == Effect::Ask {
        Effect::Allow
    } else {
        effect
    };
    match kind {
        0..=2 => {
            let action = *rng.pick(&Action::FS).unwrap_or(&Action::Read);
            let globs = (0..rng.below(3) + 1).map(|_| rand_glob(rng)).collect();
            b.rule(who, non_tool_effect, action, Matcher::Fs { globs });
        }
        3 => {
            let binaries = (0..rng.below(2) + 1).map(|_| rand_glob(rng)).collect();
            let args = if rng.chance(1, 2) {
                None
            } else {
                Some(ArgsPattern {
                    items: (0..rng.below(3))
                        .map(|_| like(rng.pick(&["-c", "*", "--x=*", "a"]).copied().unwrap_or("*")))
                        .collect(),
                    rest: rng.chance(1, 2),
                })
            };
            b.rule(
                who,
                non_tool_effect,
                Action::Exec,
                Matcher::Exec { binaries, args },
            );
        }
        4 | 5 => {
            let action = *rng.pick(&Action::NET).unwrap_or(&Action::Connect);
            let proto = *rng
                .pick(&[Proto::Tcp, Proto::Udp, Proto::Any])
                .unwrap_or(&Proto::Any);
            let hosts = if rng.chance(1, 3) {
                None
            } else {
                Some(
                    (0..rng.below(3))
                        .map(|_| {
                            if rng.chance(1, 2) {
                                cidr(rng.pick(NETS).copied().unwrap_or("10.0.0.0/8"))
                            } else {
                                domain(
                                    rng.pick(&[
                                        "example.com",
                                        "*.example.com",
                                        "api.example.com",
                                        "*.org",
                                    ])
                                    .copied()
                                    .unwrap_or("x"),
                                )
                            }
                        })
                        .collect(),
                )
            };
            let ports = if rng.chance(1, 3) {
                None
            } else {
                Some(
                    (0..rng.below(3))
                        .map(|_| {
                            let lo = *rng.pick(&[22u16, 80, 443, 8000, 1]).unwrap_or(&80);
                            let hi = if rng.chance(1, 2) {
                                lo
                            } else {
                                lo.saturating_add(100)
                            };
                            PortRange { lo, hi }
                        })
                        .collect(),
                )
            };
            b.rule(
                who,
                non_tool_effect,
                action,
                Matcher::Net {
                    proto,
                    hosts,
                    ports,
                },
            );
        }
        6 => {
            let vars = (0..rng.below(2) + 1)
                .map(|_| rng.pick(VARS).copied().unwrap_or("HOME").to_string())
                .collect();
            b.rule(who, non_tool_effect, Action::ReadEnv, Matcher::Env { vars });
        }
        _ => {
            if rng.chance(1, 12) {
                // A denied secret: every tool.
                b.rule(
                    who,
                    Effect::Deny,
                    Action::Call,
                    Matcher::Tool {
                        tool: None,
                        conditions: vec![atom(
                            false,
                            Test::ContainsSecret {
                                secret: "aws".into(),
                                var: "AWS_KEY".into(),
                            },
                        )],
                    },
                );
                return;
            }
            let t = *rng
                .pick(&["send", "send", "fetch", "noop"])
                .unwrap_or(&"send");
            let conditions = if t == "noop" {
                Vec::new()
            } else {
                (0..rng.below(3)).map(|_| rand_atom(rng, t)).collect()
            };
            b.rule(who, effect, Action::Call, tool(t, conditions));
        }
    }
}

/// A random policy: 1–3 agents, 0–2 skills each, about `rules` rules in all.
pub fn random_policy(seed: u64, rules: usize) -> Policy {
    let mut rng = Rng::new(seed);
    let mut b = PolicyBuilder::new("random.agentpol");
    rand_tools(&mut b);
    let agents = rng.below(3) + 1;
    let mut owners: Vec<(String, Option<String>)> = Vec::new();
    for i in 0..agents {
        let name = format!("ag{i}");
        b.agent(&name);
        owners.push((name.clone(), None));
        for j in 0..rng.below(3) {
            let s = format!("sk{j}");
            b.skill(&name, &s);
            owners.push((name.clone(), Some(s)));
        }
    }
    for _ in 0..rules {
        let Some((a, s)) = rng.pick(&owners).cloned() else {
            break;
        };
        let who = match &s {
            Some(s) => Who::Skill(&a, s),
            None => Who::Agent(&a),
        };
        rand_rule(&mut rng, &mut b, who);
    }
    b.build()
}
