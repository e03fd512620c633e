//! Tool URLs vs net: a tool rule that grants calls whose URL argument the
//! net rules never let connect (AP0506).

use super::super::ask::{Answer, Inconclusive, Question, STATE_LIMIT};
use super::super::{schema, Ctx, Dec, RInfo, Side, Unit};
use crate::formula::{Atom, Part, Slot, F, HOST_DOMAIN, HOST_V4, HOST_V6};
use crate::prune::net_range;
use crate::report::{Finding, FindingKind, RuleRef};
use crate::witness::{request, Who};
use agentpol_core::ir::{Action, Effect, Host, Matcher};
use agentpol_core::request::{Request, Resource};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use z3::ast::Bool;

/// Representative addresses: one per region that the networks cut the
/// address space into (per family), plus "no address". A net decision that
/// denies all of them denies every address.
fn representatives(nets: &[IpNet]) -> Vec<Option<IpAddr>> {
    let mut out: Vec<Option<IpAddr>> = vec![None];
    for v4 in [true, false] {
        let max: u128 = if v4 { u128::from(u32::MAX) } else { u128::MAX };
        let mut cuts: Vec<u128> = vec![0];
        for n in nets {
            let (f, lo, hi) = net_range(n);
            if f == v4 {
                cuts.push(lo);
                if hi < max {
                    cuts.push(hi + 1);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for c in cuts {
            out.push(Some(if v4 {
                IpAddr::V4(Ipv4Addr::from(u32::try_from(c).unwrap_or(0)))
            } else {
                // Skip the IPv4-mapped block: those addresses are IPv4 requests.
                let mapped_lo = 0xffff_u128 << 32;
                let c = if (mapped_lo..=mapped_lo | 0xffff_ffff).contains(&c) {
                    (mapped_lo | 0xffff_ffff) + 1
                } else {
                    c
                };
                IpAddr::V6(Ipv6Addr::from(c))
            }));
        }
    }
    out.dedup();
    out
}

fn contains(net: &IpNet, a: IpAddr) -> bool {
    agentpol_core::eval::matching::cidr_contains(net, a)
}

impl<'p> Ctx<'p> {
    pub(super) fn tool_net(
        &mut self,
        unit: &Unit<'_>,
        i: usize,
        u: &str,
        net_own: &[RInfo<'p>],
        net_agent: &[RInfo<'p>],
        out: &mut Vec<Finding>,
    ) {
        let owner = unit.who.owner();
        let Some(r) = unit.own.get(i) else { return };
        let e = r.rule.effect;
        if e == Effect::Deny {
            return;
        }
        let Ok(fr) = &r.f else { return };
        let tool_own = self.overlapping(r.rule, &unit.own);
        let tool_agent = self.overlapping(r.rule, &unit.agent);
        if tool_own.iter().chain(&tool_agent).any(|x| x.f.is_err())
            || net_own.iter().chain(net_agent).any(|x| x.f.is_err())
        {
            return;
        }
        let nets: Vec<IpNet> = net_own
            .iter()
            .chain(net_agent)
            .flat_map(|x| match &x.rule.matcher {
                Matcher::Net {
                    hosts: Some(hs), ..
                } => hs
                    .iter()
                    .filter_map(|h| match h {
                        Host::Cidr(n) => Some(crate::formula::canonical_net(n)),
                        Host::Domain(_) => None,
                    })
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect();
        let reps = representatives(&nets);
        let ua = u.to_string();
        // A net rule's formula on this URL's host and port, for one address.
        let inst = |f: &F, addr: Option<Option<IpAddr>>| -> F {
            f.subst(&|a: &Atom| match a {
                Atom::Bool(Slot::NetTcp) => Some(F::Const(true)),
                Atom::Bool(Slot::NetDomainSome) => Some(F::Const(addr.is_some())),
                Atom::Pat(Slot::NetDomain, p) => {
                    Some(F::atom(Atom::Pat(Slot::UrlHost(ua.clone()), p.clone())))
                }
                Atom::Bool(Slot::NetAddrSome) => Some(F::Const(match addr {
                    Some(a) => a.is_some(),
                    None => true,
                })),
                Atom::Cidr(Slot::NetAddr, n) => Some(match addr {
                    Some(Some(a)) => F::Const(contains(n, a)),
                    Some(None) => F::Const(false),
                    None => F::atom(Atom::Cidr(Slot::UrlIp(ua.clone()), *n)),
                }),
                Atom::IntCmp(Slot::NetPort, op, t) => Some(F::atom(Atom::IntCmp(
                    Slot::UrlPort(ua.clone()),
                    *op,
                    t.clone(),
                ))),
                Atom::IntEq(Slot::NetPort, t) => {
                    Some(F::atom(Atom::IntEq(Slot::UrlPort(ua.clone()), t.clone())))
                }
                _ => None,
            })
        };
        // `Some(rep)`: a domain host resolved to `rep`; `None`: the URL's own IP.
        let mut variants: Vec<Option<Option<IpAddr>>> = reps.iter().map(|r| Some(*r)).collect();
        variants.push(None);
        let net_fs: Vec<(Effect, bool, Vec<F>)> = net_own
            .iter()
            .map(|x| (x.rule.effect, false, x))
            .chain(net_agent.iter().map(|x| (x.rule.effect, true, x)))
            .filter_map(|(e, ag, x)| {
                x.f.as_ref()
                    .ok()
                    .map(|f| (e, ag, variants.iter().map(|v| inst(f, *v)).collect()))
            })
            .collect();
        let tf: Vec<(Effect, bool, &F)> = tool_own
            .iter()
            .map(|x| (x.rule.effect, false, x))
            .chain(tool_agent.iter().map(|x| (x.rule.effect, true, x)))
            .filter_map(|(e, ag, x)| x.f.as_ref().ok().map(|f| (e, ag, f)))
            .collect();
        let mut all: Vec<&F> = vec![fr];
        all.extend(tf.iter().map(|x| x.2));
        for (_, _, fs) in &net_fs {
            all.extend(fs.iter());
        }
        let kind_atom = |k| F::atom(Atom::HostKind(Slot::UrlHostKind(ua.clone()), k));
        let port_known = F::atom(Atom::Bool(Slot::UrlPortKnown(ua.clone())));
        // A rule that says nothing about the port is read as meaning the default
        // port of its scheme, and one that says nothing about the scheme as
        // `https://host/`: other ports being closed is then expected, not a finding.
        let mut atoms = Vec::new();
        fr.atoms(&mut atoms);
        let explicit = atoms.iter().any(|a| {
            let s = match a {
                Atom::Pat(s, _) | Atom::IntCmp(s, _, _) | Atom::IntEq(s, _) | Atom::StrEq(s, _) => {
                    s
                }
                Atom::InIntParam(s, _) | Atom::InStrParam(s, _) => s,
                _ => return false,
            };
            *s == Slot::UrlPort(ua.clone())
        });
        let names_scheme = atoms.iter().any(|a| {
            matches!(a, Atom::Pat(s, _) | Atom::StrEq(s, _) | Atom::InStrParam(s, _)
                if *s == Slot::UrlScheme(ua.clone()))
        });
        let scheme_is = |x: &str| {
            F::atom(Atom::Pat(
                Slot::UrlScheme(ua.clone()),
                crate::strings::CharPattern::literal(x),
            ))
        };
        // Without a scheme in the rule, the URL meant is `https://...`.
        let defaults: &[(&str, i64)] = if names_scheme {
            &[
                ("https", 443),
                ("http", 80),
                ("wss", 443),
                ("ws", 80),
                ("ftp", 21),
            ]
        } else {
            &[("https", 443)]
        };
        let default_port = F::and(
            std::iter::once(F::or(defaults.iter().map(|(x, _)| scheme_is(x)).collect()))
                .chain(defaults.iter().map(|(x, p)| {
                    F::or(vec![
                        F::not(scheme_is(x)),
                        F::atom(Atom::IntEq(
                            Slot::UrlPort(ua.clone()),
                            crate::formula::IntTerm::Lit(*p),
                        )),
                    ])
                }))
                .collect(),
        );
        let scope = if explicit {
            F::Const(true)
        } else {
            default_port
        };
        let parts = host_parts(&r.rule.matcher, &ua);
        all.push(&scope);
        let guard = F::and(vec![port_known.clone(), kind_atom(HOST_DOMAIN)]);
        all.push(&guard);
        let ipg = F::or(vec![kind_atom(HOST_V4), kind_atom(HOST_V6)]);
        all.push(&ipg);
        let sc = schema(self.policy, &unit.part);
        let mut enc = self.encoder(sc, &all);
        let approx = enc.approx;
        let m_r = enc.lower(fr);
        // Tool decision = e, with r among the deciding rules.
        let t_lits: Vec<(Effect, bool, Bool)> = tf
            .iter()
            .map(|(e, ag, f)| (*e, *ag, enc.lower(f)))
            .collect();
        let side = |lits: &[(Effect, bool, Bool)], agent: bool| {
            Side::of(
                &lits
                    .iter()
                    .filter(|x| x.1 == agent)
                    .map(|x| (x.0, x.2.clone()))
                    .collect::<Vec<_>>(),
            )
        };
        let mut own_tool: Vec<(Effect, bool, Bool)> = t_lits.clone();
        own_tool.push((e, false, m_r.clone()));
        let tool_dec = if unit.is_skill() {
            Dec(vec![side(&own_tool, false), side(&t_lits, true)])
        } else {
            Dec(vec![side(&own_tool, false)])
        };
        let net_deny = |v: usize| -> Bool {
            let lits: Vec<(Effect, bool, Bool)> = net_fs
                .iter()
                .filter_map(|(e, ag, fs)| fs.get(v).map(|f| (*e, *ag, enc.lower(f))))
                .collect();
            let dec = if unit.is_skill() {
                Dec(vec![side(&lits, false), side(&lits, true)])
            } else {
                Dec(vec![side(&lits, false)])
            };
            dec.is(Effect::Deny)
        };
        let n = variants.len();
        let domain_blocked = Bool::and(&(0..n - 1).map(net_deny).collect::<Vec<_>>());
        let ip_blocked = net_deny(n - 1);
        let blocked = Bool::and(&[
            enc.lower(&port_known),
            Bool::or(&[
                Bool::and(&[enc.lower(&kind_atom(HOST_DOMAIN)), domain_blocked]),
                Bool::and(&[enc.lower(&ipg), ip_blocked]),
            ]),
        ]);
        let has_host = enc.lower(&F::not(kind_atom(crate::formula::HOST_NONE)));
        let base = Bool::and(&[
            m_r,
            tool_dec.is(e),
            enc.lower(&scope),
            enc.lower(&port_known),
            has_host,
        ]);
        // Each part of the grant the rule names (a host it lists), or the whole
        // grant: a finding when the net layer makes all of it impossible.
        let q = Question::rule(&owner, &unit.part, r, "allows an unreachable URL", approx);
        for (desc, part) in &parts {
            let pb = Bool::and(&[base.clone(), enc.lower(part)]);
            let reach = enc.define(&Bool::and(&[pb.clone(), blocked.not()]));
            let limit = Inconclusive::Report(STATE_LIMIT);
            if !matches!(
                self.ask(&mut enc, &[reach], &q, true, limit, out),
                Answer::Unsat
            ) {
                continue;
            }
            let query = enc.define(&Bool::and(&[pb, blocked.clone()]));
            let Answer::Sat(v) = self.ask(&mut enc, &[query], &q, true, limit, out) else {
                continue;
            };
            let req = request(self.policy, &unit.who, &unit.part, &v);
            let host_kind = v.int(&Slot::UrlHostKind(ua.clone())).unwrap_or(HOST_DOMAIN);
            let port = u16::try_from(v.int(&Slot::UrlPort(ua.clone())).unwrap_or(0)).unwrap_or(0);
            let net_reqs: Vec<Request> = if host_kind == HOST_DOMAIN {
                let host = v.str(&Slot::UrlHost(ua.clone())).unwrap_or("").to_string();
                reps.iter()
                    .map(|a| net_request(&unit.who, Some(host.clone()), *a, port))
                    .collect()
            } else {
                vec![net_request(
                    &unit.who,
                    None,
                    v.addr(&Slot::UrlIp(ua.clone())),
                    port,
                )]
            };
            let claim = "the tool call is allowed and every connection denied";
            let f = self.confirm(&q, req, |cx, req| {
                let tool_d = cx.replay(req);
                let mut net_ok = true;
                let mut blockers: Vec<RuleRef> = Vec::new();
                let mut got = String::new();
                for nr in &net_reqs {
                    match cx.replay(nr) {
                        Ok(d) if d.effect == Effect::Deny => {
                            for m in &d.deciding {
                                if let Some(x) =
                                    net_own.iter().chain(net_agent).find(|x| x.rule.id == m.id)
                                {
                                    if !blockers.contains(&x.rref()) {
                                        blockers.push(x.rref());
                                    }
                                }
                            }
                        }
                        Ok(d) => {
                            net_ok = false;
                            got = format!(
                                "the connection {} is decided {}",
                                crate::report::request_json(nr),
                                d.effect
                            );
                        }
                        Err(err) => {
                            net_ok = false;
                            got = err;
                        }
                    }
                }
                match tool_d {
                    Ok(d)
                        if d.effect == e
                            && d.deciding.iter().any(|m| m.id == r.rule.id)
                            && net_ok =>
                    {
                        let mut f = cx.about(
                            &q,
                            FindingKind::ToolNetMismatch,
                            if desc.is_empty() {
                                format!(
                                    "rule {} {}s calls to tool {} whose `{u}` can never connect: the net rules of {owner} block every one",
                                    r.rule.id, e, unit_tool(&unit.part)
                                )
                            } else {
                                format!(
                                    "rule {} {}s calls to tool {} with `{u}` on {desc}, which the net rules of {owner} never let connect",
                                    r.rule.id, e, unit_tool(&unit.part)
                                )
                            },
                        );
                        f.related = blockers;
                        f.witness = Some(req.clone());
                        f.other_witnesses = net_reqs.into_iter().take(1).collect();
                        Ok(f)
                    }
                    Ok(d) => Err(Question::refuted(
                        claim,
                        if net_ok {
                            format!("the tool call is decided {} ({})", d.effect, d.reason)
                        } else {
                            got
                        },
                    )),
                    Err(err) => Err(Question::refuted(claim, err)),
                }
            });
            out.push(f);
        }
    }
}

/// The hosts a tool rule names for url argument `u` (from its first positive
/// host test), each with its formula; or the whole grant when it names none.
fn host_parts(m: &Matcher, u: &str) -> Vec<(String, F)> {
    use agentpol_core::ir::{Scalar, SetOperand, Test, UrlField, Value};
    let Matcher::Tool { conditions, .. } = m else {
        return vec![(String::new(), F::Const(true))];
    };
    let host = |op: &agentpol_core::ir::Operand| op.arg == u && op.field == Some(UrlField::Host);
    let lit = |s: &str| {
        (
            format!("`{s}`"),
            F::atom(Atom::Pat(
                Slot::UrlHost(u.to_string()),
                crate::strings::CharPattern::literal(s),
            )),
        )
    };
    for a in conditions.iter().filter(|a| !a.negated) {
        let parts: Vec<(String, F)> = match &a.test {
            Test::HostIn { lhs, hosts } if host(lhs) => hosts
                .iter()
                .map(|h| match h {
                    Host::Domain(d) => {
                        let name = if d.wildcard {
                            format!("*.{}", d.name)
                        } else {
                            d.name.clone()
                        };
                        (
                            format!("`{name}`"),
                            F::and(vec![
                                F::atom(Atom::HostKind(
                                    Slot::UrlHostKind(u.to_string()),
                                    HOST_DOMAIN,
                                )),
                                F::atom(Atom::Pat(
                                    Slot::UrlHost(u.to_string()),
                                    crate::strings::CharPattern::domain(&d.name, d.wildcard),
                                )),
                            ]),
                        )
                    }
                    Host::Cidr(n) => {
                        let n = crate::formula::canonical_net(n);
                        let k = if matches!(n, IpNet::V4(_)) {
                            HOST_V4
                        } else {
                            HOST_V6
                        };
                        (
                            format!("`{n}`"),
                            F::and(vec![
                                F::atom(Atom::HostKind(Slot::UrlHostKind(u.to_string()), k)),
                                F::atom(Atom::Cidr(Slot::UrlIp(u.to_string()), n)),
                            ]),
                        )
                    }
                })
                .collect(),
            Test::Eq {
                lhs,
                rhs: Scalar::Lit(Value::Str(s)),
            } if host(lhs) => vec![lit(s)],
            Test::In {
                lhs,
                set: SetOperand::Lit(items),
            } if host(lhs) => items
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(lit(s)),
                    _ => None,
                })
                .collect(),
            _ => continue,
        };
        if !parts.is_empty() {
            return parts;
        }
    }
    vec![(String::new(), F::Const(true))]
}

fn unit_tool(p: &Part) -> String {
    match p {
        Part::Tool(t) => t.clone(),
        other => other.describe(),
    }
}

fn net_request(who: &Who, domain: Option<String>, addr: Option<IpAddr>, port: u16) -> Request {
    Request {
        agent: who.agent.clone(),
        skill: who.skill.clone(),
        resource: Resource::Net {
            action: Action::Connect,
            proto: agentpol_core::ir::Proto::Tcp,
            addr,
            domain,
            port,
        },
    }
}
