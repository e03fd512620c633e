//! The verifier's symbolic view of rules: formulas over request attributes.
//!
//! Each IR matcher becomes an [`F`] over [`Slot`]s (the attributes of a request
//! of one partition: the fs path, the net port, a tool argument, a URL's
//! host, a param...). [`crate::encode`] turns a set of formulas into Z3 terms;
//! keeping this symbolic layer separate lets the per-rule formula be built
//! once and reused in every query (the encoding cache), and lets the
//! cross-layer checks instantiate net or fs formulas on a tool call's URL or
//! an exec's binary by substitution.

use crate::strings::CharPattern;
use agentpol_core::ir::{
    Action, ArgType, Atom as IrAtom, CmpOp, Glob, Host, Matcher, Operand, ParamType, Policy, Proto,
    Rule, Scalar, SetOperand, Test, ToolSig, UrlField, Value,
};
use ipnet::IpNet;

/// A request attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Slot {
    /// The fs request's path.
    FsPath,
    /// The exec request's binary.
    ExecPath,
    /// Number of exec arguments (argv[1..]).
    ExecArgc,
    /// Exec argument `i` (argv[i + 1]).
    ExecArg(u32),
    /// Net: the protocol is tcp (else udp).
    NetTcp,
    /// Net: an address is given.
    NetAddrSome,
    /// Net: the address.
    NetAddr,
    /// Net: a domain is given.
    NetDomainSome,
    /// Net: the domain.
    NetDomain,
    /// Net: the port.
    NetPort,
    /// A tool argument (string, int, bool or path, by its signature).
    Arg(String),
    /// A url argument's scheme.
    UrlScheme(String),
    /// A url argument's host kind: 0 none, 1 domain, 2 IPv4, 3 IPv6.
    UrlHostKind(String),
    /// A url argument's host string.
    UrlHost(String),
    /// A url argument's host address (when an IP).
    UrlIp(String),
    /// A url argument has a port (explicit or the scheme's default).
    UrlPortKnown(String),
    /// A url argument's port.
    UrlPort(String),
    /// A url argument's path.
    UrlPath(String),
    /// `tainted(arg)`.
    Tainted(String),
    /// A scalar param (string, int or bool, by its declaration).
    Param(String),
    /// Some string argument contains the value of this environment variable.
    Secret(String),
    /// The env request's variable name.
    EnvVar,
}

/// Host kinds of a URL ([`Slot::UrlHostKind`]).
pub(crate) const HOST_NONE: i64 = 0;
/// A domain host.
pub(crate) const HOST_DOMAIN: i64 = 1;
/// An IPv4 host.
pub(crate) const HOST_V4: i64 = 2;
/// An IPv6 host.
pub(crate) const HOST_V6: i64 = 3;

/// An integer operand.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IntTerm {
    /// A constant.
    Lit(i64),
    /// An int slot.
    Slot(Slot),
}

/// An atomic test.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Atom {
    /// A path slot matches a glob.
    Glob(Slot, Glob),
    /// A string slot matches a character pattern.
    Pat(Slot, CharPattern),
    /// A bool slot is true.
    Bool(Slot),
    /// Two bool slots are equal.
    BoolEq(Slot, Slot),
    /// `slot op term` on ints.
    IntCmp(Slot, CmpOp, IntTerm),
    /// `slot == term` on ints.
    IntEq(Slot, IntTerm),
    /// Two string slots hold the same string.
    StrEq(Slot, Slot),
    /// An int slot is in a set<int> param.
    InIntParam(Slot, String),
    /// A string slot is in a set<string> param.
    InStrParam(Slot, String),
    /// An address slot lies in the network (families are never mixed).
    Cidr(Slot, IpNet),
    /// A URL's host kind is this.
    HostKind(Slot, i64),
}

/// A formula.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum F {
    /// Constant.
    Const(bool),
    /// Conjunction (empty = true).
    And(Vec<F>),
    /// Disjunction (empty = false).
    Or(Vec<F>),
    /// Negation.
    Not(Box<F>),
    /// An atom.
    A(Atom),
}

impl F {
    pub(crate) fn atom(a: Atom) -> F {
        F::A(a)
    }

    pub(crate) fn not(f: F) -> F {
        match f {
            F::Const(b) => F::Const(!b),
            F::Not(inner) => *inner,
            f => F::Not(Box::new(f)),
        }
    }

    pub(crate) fn and(fs: Vec<F>) -> F {
        let mut out = Vec::new();
        for f in fs {
            match f {
                F::Const(true) => {}
                F::Const(false) => return F::Const(false),
                F::And(inner) => out.extend(inner),
                f => out.push(f),
            }
        }
        if out.len() == 1 {
            out.pop().unwrap_or(F::Const(true))
        } else {
            F::And(out)
        }
    }

    pub(crate) fn or(fs: Vec<F>) -> F {
        let mut out = Vec::new();
        for f in fs {
            match f {
                F::Const(false) => {}
                F::Const(true) => return F::Const(true),
                F::Or(inner) => out.extend(inner),
                f => out.push(f),
            }
        }
        if out.len() == 1 {
            out.pop().unwrap_or(F::Const(false))
        } else {
            F::Or(out)
        }
    }

    /// Visits every atom.
    pub(crate) fn atoms<'a>(&'a self, out: &mut Vec<&'a Atom>) {
        match self {
            F::Const(_) => {}
            F::And(fs) | F::Or(fs) => fs.iter().for_each(|f| f.atoms(out)),
            F::Not(f) => f.atoms(out),
            F::A(a) => out.push(a),
        }
    }

    /// Replaces atoms: `sub` returns the replacement, or None to keep the atom.
    pub(crate) fn subst(&self, sub: &dyn Fn(&Atom) -> Option<F>) -> F {
        match self {
            F::Const(b) => F::Const(*b),
            F::And(fs) => F::and(fs.iter().map(|f| f.subst(sub)).collect()),
            F::Or(fs) => F::or(fs.iter().map(|f| f.subst(sub)).collect()),
            F::Not(f) => F::not(f.subst(sub)),
            F::A(a) => sub(a).unwrap_or_else(|| F::A(a.clone())),
        }
    }
}

/// A partition of the request space: requests of one kind and action (and,
/// for tools, one tool). Rules only ever interact within a partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Part {
    /// fs requests with this action.
    Fs(Action),
    /// exec requests.
    Exec,
    /// net requests with this action.
    Net(Action),
    /// calls of this tool.
    Tool(String),
    /// env requests.
    Env,
}

impl Part {
    /// Does `rule` belong to this partition?
    pub(crate) fn contains(&self, rule: &Rule) -> bool {
        match (self, &rule.matcher) {
            (Part::Fs(a), Matcher::Fs { .. }) | (Part::Net(a), Matcher::Net { .. }) => {
                rule.action == *a
            }
            (Part::Exec, Matcher::Exec { .. }) => rule.action == Action::Exec,
            (Part::Tool(t), Matcher::Tool { tool, .. }) => {
                rule.action == Action::Call && tool.as_ref().is_none_or(|n| n == t)
            }
            (Part::Env, Matcher::Env { .. }) => rule.action == Action::ReadEnv,
            _ => false,
        }
    }

    /// Every partition a policy's rules (and assertions) can fall into.
    pub(crate) fn all(policy: &Policy) -> Vec<Part> {
        let mut out: Vec<Part> = Action::FS.iter().map(|a| Part::Fs(*a)).collect();
        out.push(Part::Exec);
        out.extend(Action::NET.iter().map(|a| Part::Net(*a)));
        out.extend(policy.tools.iter().map(|t| Part::Tool(t.name.clone())));
        out.push(Part::Env);
        out
    }

    /// The partition of `action` (tools need the tool name).
    pub(crate) fn of_action(action: Action, tool: Option<&str>) -> Option<Part> {
        Some(match action {
            Action::Exec => Part::Exec,
            Action::Call => Part::Tool(tool?.to_string()),
            Action::ReadEnv => Part::Env,
            a if Action::NET.contains(&a) => Part::Net(a),
            a => Part::Fs(a),
        })
    }

    /// Words for messages: `fs read`, `tool send_email`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Part::Fs(a) => format!("fs {}", a.as_str()),
            Part::Exec => "exec".into(),
            Part::Net(a) => format!("net {}", a.as_str()),
            Part::Tool(t) => format!("tool {t}"),
            Part::Env => "env".into(),
        }
    }
}

/// Why a matcher could not be encoded (the rule is then reported as unknown).
pub(crate) type Unsupported = String;

/// What the encoder needs to know about the partition's schema.
#[derive(Clone, Copy)]
pub(crate) struct Schema<'a> {
    /// The policy (for params).
    pub(crate) policy: &'a Policy,
    /// The tool, for a tool partition.
    pub(crate) tool: Option<&'a ToolSig>,
}

impl Schema<'_> {
    pub(crate) fn arg_type(&self, name: &str) -> Option<ArgType> {
        self.tool.and_then(|t| t.arg(name)).map(|a| a.ty)
    }

    pub(crate) fn param_type(&self, name: &str) -> Option<ParamType> {
        self.policy.param(name).map(|p| p.ty)
    }
}

/// The formula of a matcher within its partition.
pub(crate) fn matcher_formula(matcher: &Matcher, schema: &Schema<'_>) -> Result<F, Unsupported> {
    Ok(match matcher {
        Matcher::Fs { globs } => globs_formula(Slot::FsPath, globs),
        Matcher::Exec { binaries, args } => {
            let bin = globs_formula(Slot::ExecPath, binaries);
            let args = match args {
                None => F::Const(true),
                Some(p) => {
                    let n = i64::try_from(p.items.len()).unwrap_or(i64::MAX);
                    let count = if p.rest {
                        F::atom(Atom::IntCmp(Slot::ExecArgc, CmpOp::Ge, IntTerm::Lit(n)))
                    } else {
                        F::atom(Atom::IntEq(Slot::ExecArgc, IntTerm::Lit(n)))
                    };
                    let mut parts = vec![count];
                    for (i, item) in p.items.iter().enumerate() {
                        let i =
                            u32::try_from(i).map_err(|_| "too many exec arguments".to_string())?;
                        parts.push(F::atom(Atom::Pat(
                            Slot::ExecArg(i),
                            CharPattern::like(&item.pieces),
                        )));
                    }
                    F::and(parts)
                }
            };
            F::and(vec![bin, args])
        }
        Matcher::Net {
            proto,
            hosts,
            ports,
        } => {
            let proto = match proto {
                Proto::Tcp => F::atom(Atom::Bool(Slot::NetTcp)),
                Proto::Udp => F::not(F::atom(Atom::Bool(Slot::NetTcp))),
                Proto::Any => F::Const(true),
            };
            let hosts = match hosts {
                None => F::Const(true),
                Some(hs) => F::or(
                    hs.iter()
                        .map(|h| match h {
                            Host::Cidr(net) => F::and(vec![
                                F::atom(Atom::Bool(Slot::NetAddrSome)),
                                F::atom(Atom::Cidr(Slot::NetAddr, canonical_net(net))),
                            ]),
                            Host::Domain(d) => F::and(vec![
                                F::atom(Atom::Bool(Slot::NetDomainSome)),
                                F::atom(Atom::Pat(
                                    Slot::NetDomain,
                                    CharPattern::domain(&d.name, d.wildcard),
                                )),
                            ]),
                        })
                        .collect(),
                ),
            };
            let ports = match ports {
                None => F::Const(true),
                Some(rs) => F::or(
                    rs.iter()
                        .map(|r| port_range(Slot::NetPort, r.lo, r.hi))
                        .collect(),
                ),
            };
            F::and(vec![proto, hosts, ports])
        }
        Matcher::Tool { conditions, .. } => {
            let mut parts = Vec::new();
            for atom in conditions {
                parts.push(atom_formula(atom, schema)?);
            }
            F::and(parts)
        }
        Matcher::Env { vars } => F::or(
            vars.iter()
                .map(|v| F::atom(Atom::Pat(Slot::EnvVar, CharPattern::literal(v))))
                .collect(),
        ),
    })
}

fn globs_formula(slot: Slot, globs: &[Glob]) -> F {
    F::or(
        globs
            .iter()
            .map(|g| F::atom(Atom::Glob(slot.clone(), g.clone())))
            .collect(),
    )
}

/// `lo <= slot <= hi` (ports: 0 is never in a range since `lo >= 1`).
pub(crate) fn port_range(slot: Slot, lo: u16, hi: u16) -> F {
    F::and(vec![
        F::atom(Atom::IntCmp(
            slot.clone(),
            CmpOp::Ge,
            IntTerm::Lit(i64::from(lo)),
        )),
        F::atom(Atom::IntCmp(slot, CmpOp::Le, IntTerm::Lit(i64::from(hi)))),
    ])
}

/// IPv4-mapped IPv6 networks as IPv4 (as the evaluator matches them).
pub(crate) fn canonical_net(net: &IpNet) -> IpNet {
    agentpol_core::eval::matching::canonical_net(net)
}

fn atom_formula(atom: &IrAtom, schema: &Schema<'_>) -> Result<F, Unsupported> {
    let f = test_formula(&atom.test, schema)?;
    Ok(if atom.negated { F::not(f) } else { f })
}

/// An operand's slot and what it holds.
enum Op {
    Str(Slot),
    Int(Slot),
    Bool(Slot),
    Path(Slot),
    /// A url part that only exists when the URL has a host (or a port):
    /// the test is false without it.
    Guarded(F, Box<Op>),
}

fn operand(op: &Operand, schema: &Schema<'_>) -> Result<Op, Unsupported> {
    let ty = schema
        .arg_type(&op.arg)
        .ok_or_else(|| format!("argument `{}` is not declared by the tool", op.arg))?;
    let a = op.arg.clone();
    Ok(match (ty, op.field) {
        (ArgType::String, None) => Op::Str(Slot::Arg(a)),
        (ArgType::Int, None) => Op::Int(Slot::Arg(a)),
        (ArgType::Bool, None) => Op::Bool(Slot::Arg(a)),
        (ArgType::Path, None) => Op::Path(Slot::Arg(a)),
        (ArgType::Url, Some(UrlField::Scheme)) => Op::Str(Slot::UrlScheme(a)),
        (ArgType::Url, Some(UrlField::Path)) => Op::Str(Slot::UrlPath(a)),
        (ArgType::Url, Some(UrlField::Host)) => Op::Guarded(
            F::not(F::atom(Atom::HostKind(
                Slot::UrlHostKind(a.clone()),
                HOST_NONE,
            ))),
            Box::new(Op::Str(Slot::UrlHost(a))),
        ),
        (ArgType::Url, Some(UrlField::Port)) => Op::Guarded(
            F::atom(Atom::Bool(Slot::UrlPortKnown(a.clone()))),
            Box::new(Op::Int(Slot::UrlPort(a))),
        ),
        (ArgType::Url, None) => {
            return Err(format!(
                "the whole url argument `{}` is compared (only its parts compare)",
                op.arg
            ))
        }
        (_, Some(_)) => return Err(format!("argument `{}` is not a url", op.arg)),
    })
}

fn guarded(op: Op, f: impl FnOnce(Op) -> Result<F, Unsupported>) -> Result<F, Unsupported> {
    match op {
        Op::Guarded(g, inner) => Ok(F::and(vec![g, f(*inner)?])),
        op => f(op),
    }
}

fn int_term(s: &Scalar, schema: &Schema<'_>) -> Result<IntTerm, Unsupported> {
    match s {
        Scalar::Lit(Value::Int(i)) => Ok(IntTerm::Lit(*i)),
        Scalar::Param(p) if schema.param_type(p) == Some(ParamType::Int) => {
            Ok(IntTerm::Slot(Slot::Param(p.clone())))
        }
        other => Err(format!("an int comparison with {other:?}")),
    }
}

fn test_formula(test: &Test, schema: &Schema<'_>) -> Result<F, Unsupported> {
    match test {
        Test::Eq { lhs, rhs } => guarded(operand(lhs, schema)?, |op| match (op, rhs) {
            (Op::Str(s), Scalar::Lit(Value::Str(v))) => {
                Ok(F::atom(Atom::Pat(s, CharPattern::literal(v))))
            }
            (Op::Str(s), Scalar::Param(p)) if schema.param_type(p) == Some(ParamType::String) => {
                Ok(F::atom(Atom::StrEq(s, Slot::Param(p.clone()))))
            }
            (Op::Int(s), rhs) => Ok(F::atom(Atom::IntEq(s, int_term(rhs, schema)?))),
            (Op::Bool(s), Scalar::Lit(Value::Bool(b))) => {
                let f = F::atom(Atom::Bool(s));
                Ok(if *b { f } else { F::not(f) })
            }
            (Op::Bool(s), Scalar::Param(p)) if schema.param_type(p) == Some(ParamType::Bool) => {
                Ok(F::atom(Atom::BoolEq(s, Slot::Param(p.clone()))))
            }
            _ => Err(format!(
                "an equality test {test:?} of a shape the verifier does not model"
            )),
        }),
        Test::Cmp { lhs, op, rhs } => guarded(operand(lhs, schema)?, |o| match o {
            Op::Int(s) => Ok(F::atom(Atom::IntCmp(s, *op, int_term(rhs, schema)?))),
            _ => Err("an ordering test on a value that is not an int".into()),
        }),
        Test::In { lhs, set } => guarded(operand(lhs, schema)?, |o| match (o, set) {
            (Op::Str(s), SetOperand::Lit(items)) => Ok(F::or(
                items
                    .iter()
                    .map(|v| match v {
                        Value::Str(v) => Ok(F::atom(Atom::Pat(s.clone(), CharPattern::literal(v)))),
                        _ => Err("a string tested against a set of non-strings".to_string()),
                    })
                    .collect::<Result<Vec<F>, _>>()?,
            )),
            (Op::Int(s), SetOperand::Lit(items)) => Ok(F::or(
                items
                    .iter()
                    .map(|v| match v {
                        Value::Int(i) => Ok(F::atom(Atom::IntEq(s.clone(), IntTerm::Lit(*i)))),
                        _ => Err("an int tested against a set of non-ints".to_string()),
                    })
                    .collect::<Result<Vec<F>, _>>()?,
            )),
            (Op::Str(s), SetOperand::Param(p))
                if schema.param_type(p) == Some(ParamType::SetString) =>
            {
                Ok(F::atom(Atom::InStrParam(s, p.clone())))
            }
            (Op::Int(s), SetOperand::Param(p))
                if schema.param_type(p) == Some(ParamType::SetInt) =>
            {
                Ok(F::atom(Atom::InIntParam(s, p.clone())))
            }
            _ => Err(format!(
                "a membership test {test:?} of a shape the verifier does not model"
            )),
        }),
        Test::Like { lhs, pattern } => guarded(operand(lhs, schema)?, |o| match o {
            Op::Str(s) => Ok(F::atom(Atom::Pat(s, CharPattern::like(&pattern.pieces)))),
            _ => Err("`like` on a value that is not a string".into()),
        }),
        Test::HostIn { lhs, hosts } => {
            let ty = schema.arg_type(&lhs.arg);
            if ty != Some(ArgType::Url) || lhs.field != Some(UrlField::Host) {
                return Err("a host test on something that is not a url's host".into());
            }
            let a = lhs.arg.clone();
            let kind = |k| F::atom(Atom::HostKind(Slot::UrlHostKind(a.clone()), k));
            Ok(F::or(
                hosts
                    .iter()
                    .map(|h| match h {
                        Host::Domain(d) => F::and(vec![
                            kind(HOST_DOMAIN),
                            F::atom(Atom::Pat(
                                Slot::UrlHost(a.clone()),
                                CharPattern::domain(&d.name, d.wildcard),
                            )),
                        ]),
                        Host::Cidr(net) => {
                            let net = canonical_net(net);
                            let k = if matches!(net, IpNet::V4(_)) {
                                HOST_V4
                            } else {
                                HOST_V6
                            };
                            F::and(vec![
                                kind(k),
                                F::atom(Atom::Cidr(Slot::UrlIp(a.clone()), net)),
                            ])
                        }
                    })
                    .collect(),
            ))
        }
        Test::PathIn { lhs, globs } => match operand(lhs, schema)? {
            Op::Path(s) => Ok(globs_formula(s, globs)),
            _ => Err("a path test on something that is not a path argument".into()),
        },
        Test::Tainted { arg } => {
            if schema.arg_type(arg).is_none() {
                return Err(format!("tainted({arg}) names an undeclared argument"));
            }
            Ok(F::atom(Atom::Bool(Slot::Tainted(arg.clone()))))
        }
        Test::ContainsSecret { var, .. } => Ok(F::atom(Atom::Bool(Slot::Secret(var.clone())))),
    }
}
