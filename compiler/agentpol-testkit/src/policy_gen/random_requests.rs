//! Random requests for a policy: values harvested from its rules so requests
//! hit (and just miss) them, and some malformed requests.

use super::rng::*;
use agentpol_core::ir::*;
use agentpol_core::request::{Request, Resource};
use std::collections::BTreeMap;

fn realise_glob(rng: &mut Rng, g: &Glob) -> String {
    let mut out = String::new();
    for s in &g.segments {
        match s {
            Segment::Lit(l) => {
                out.push('/');
                out.push_str(l);
            }
            Segment::Any => {
                for _ in 0..rng.below(3) {
                    out.push('/');
                    out.push_str(rng.pick(SEGS).copied().unwrap_or("a"));
                }
            }
            Segment::Wild(pieces) => {
                out.push('/');
                let mut seg = String::new();
                for p in pieces {
                    match p {
                        Piece::Lit(l) => seg.push_str(l),
                        Piece::Star => {
                            for _ in 0..rng.below(3) {
                                seg.push_str(rng.pick(PIECE_LITS).copied().unwrap_or("a"));
                            }
                        }
                        Piece::Any => seg.push(*rng.pick(&['q', '.', '7']).unwrap_or(&'q')),
                        Piece::Class { ranges, .. } => {
                            let (lo, _) = ranges.first().copied().unwrap_or(('a', 'a'));
                            seg.push(if rng.chance(3, 4) { lo } else { 'z' });
                        }
                    }
                }
                if seg.is_empty() {
                    seg.push('e');
                }
                out.push_str(&seg);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn rand_path(rng: &mut Rng, globs: &[Glob]) -> String {
    match rng.below(20) {
        0 => "relative/path".into(),
        1 => "/a//b".into(),
        2 => "/a/./b".into(),
        3 => "/a/b/".into(),
        4 => "/".into(),
        5..=7 => {
            let n = rng.below(20);
            let mut s = String::new();
            for _ in 0..n {
                s.push('/');
                s.push_str(rng.pick(SEGS).copied().unwrap_or("a"));
            }
            if s.is_empty() {
                s.push('/');
            }
            s
        }
        _ => match rng.pick(globs) {
            Some(g) => realise_glob(rng, g),
            None => "/a/b".into(),
        },
    }
}

fn globs_of(policy: &Policy) -> Vec<Glob> {
    let mut out = Vec::new();
    for (_, r) in policy.all_rules() {
        match &r.matcher {
            Matcher::Fs { globs } => out.extend(globs.iter().cloned()),
            Matcher::Exec { binaries, .. } => out.extend(binaries.iter().cloned()),
            Matcher::Tool { conditions, .. } => {
                for a in conditions {
                    if let Test::PathIn { globs, .. } = &a.test {
                        out.extend(globs.iter().cloned());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Values taken from a policy's rules, so requests hit (and just miss) them.
#[derive(Clone, Debug, Default)]
struct Harvest {
    globs: Vec<Glob>,
    domains: Vec<String>,
    addrs: Vec<std::net::IpAddr>,
    ports: Vec<u16>,
    vars: Vec<String>,
    strs: Vec<String>,
    ints: Vec<i64>,
    urls: Vec<String>,
    argv: Vec<String>,
}

fn realise_like(rng: &mut Rng, p: &LikePattern) -> String {
    p.pieces
        .iter()
        .map(|x| match x {
            LikePiece::Lit(l) => l.clone(),
            LikePiece::Star => rng
                .pick(&["", "x", "a/b", "@example.com"])
                .copied()
                .unwrap_or("")
                .to_string(),
        })
        .collect()
}

fn harvest(policy: &Policy, rng: &mut Rng) -> Harvest {
    let mut h = Harvest {
        globs: globs_of(policy),
        ..Harvest::default()
    };
    let host = |h: &mut Harvest, host: &Host| match host {
        Host::Cidr(net) => {
            let a = net.network();
            h.addrs.push(a);
            h.addrs.push(net.broadcast());
            if let std::net::IpAddr::V4(v4) = a {
                h.addrs.push(std::net::IpAddr::V6(v4.to_ipv6_mapped()));
                let n = u32::from(v4).wrapping_sub(1);
                h.addrs.push(std::net::IpAddr::V4(n.into()));
            }
            h.urls.push(format!("https://{}/x", a));
        }
        Host::Domain(d) => {
            let names = if d.wildcard {
                vec![
                    format!("x.{}", d.name),
                    format!("a.b.{}", d.name),
                    d.name.clone(),
                    format!("x{}", d.name),
                ]
            } else {
                vec![
                    d.name.clone(),
                    format!("www.{}", d.name),
                    d.name.to_uppercase(),
                ]
            };
            for n in names {
                h.urls.push(format!("https://{n}/api/v1"));
                h.urls.push(format!("http://{n}:8080/"));
                h.domains.push(n);
            }
        }
    };
    for (_, r) in policy.all_rules() {
        match &r.matcher {
            Matcher::Net { hosts, ports, .. } => {
                for x in hosts.iter().flatten() {
                    host(&mut h, x);
                }
                for p in ports.iter().flatten() {
                    h.ports
                        .extend([p.lo, p.hi, p.lo.saturating_sub(1), p.hi.saturating_add(1)]);
                }
            }
            Matcher::Env { vars } => h.vars.extend(vars.iter().cloned()),
            Matcher::Exec { args: Some(a), .. } => {
                for item in &a.items {
                    h.argv.push(realise_like(rng, item));
                }
            }
            Matcher::Tool { conditions, .. } => {
                for a in conditions {
                    match &a.test {
                        Test::Eq {
                            rhs: Scalar::Lit(v),
                            ..
                        }
                        | Test::Cmp {
                            rhs: Scalar::Lit(v),
                            ..
                        } => match v {
                            Value::Str(x) => h.strs.push(x.clone()),
                            Value::Int(i) => {
                                h.ints
                                    .extend([*i, i.saturating_add(1), i.saturating_sub(1)])
                            }
                            Value::Bool(_) => {}
                        },
                        Test::In {
                            set: SetOperand::Lit(vs),
                            ..
                        } => {
                            for v in vs {
                                match v {
                                    Value::Str(x) => h.strs.push(x.clone()),
                                    Value::Int(i) => h.ints.push(*i),
                                    Value::Bool(_) => {}
                                }
                            }
                        }
                        Test::Like { pattern, .. } => {
                            let v = realise_like(rng, pattern);
                            h.urls.push(format!(
                                "https://example.com{}",
                                if v.starts_with('/') {
                                    v.clone()
                                } else {
                                    format!("/{v}")
                                }
                            ));
                            h.strs.push(v);
                        }
                        Test::HostIn { hosts, .. } => {
                            for x in hosts {
                                host(&mut h, x);
                            }
                        }
                        Test::ContainsSecret { var, .. } => h.vars.push(var.clone()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    for s in &policy.secrets {
        h.vars.extend(s.env.iter().cloned());
    }
    h
}

/// A pick from the harvest (when it has any) or from the static pool.
fn pick_str(rng: &mut Rng, harvested: &[String], pool: &[&str]) -> String {
    if !harvested.is_empty() && rng.chance(2, 3) {
        harvested
            .get(rng.below(harvested.len()))
            .cloned()
            .unwrap_or_default()
    } else {
        rng.pick(pool).copied().unwrap_or("").to_string()
    }
}

fn rand_json_value(rng: &mut Rng, ty: ArgType, h: &Harvest) -> serde_json::Value {
    // Mostly well-typed; sometimes not, to exercise the errors.
    if rng.chance(1, 40) {
        return serde_json::json!(1.5);
    }
    match ty {
        ArgType::String => serde_json::json!(pick_str(rng, &h.strs, STRS)),
        ArgType::Int => {
            if !h.ints.is_empty() && rng.chance(2, 3) {
                serde_json::json!(h.ints.get(rng.below(h.ints.len())).copied().unwrap_or(0))
            } else {
                serde_json::json!(*rng.pick(INTS).unwrap_or(&0))
            }
        }
        ArgType::Bool => serde_json::json!(rng.chance(1, 2)),
        ArgType::Url => serde_json::json!(if rng.chance(1, 30) {
            "not a url".to_string()
        } else {
            pick_str(rng, &h.urls, URLS)
        }),
        ArgType::Path => serde_json::json!(rand_path(rng, &h.globs)),
    }
}

/// Random requests for `policy`: mostly well-formed, aimed at its rules,
/// with some malformed ones (unknown names, wrong types, bad paths).
pub fn random_requests(policy: &Policy, seed: u64, n: usize) -> Vec<Request> {
    let mut rng = Rng::new(seed);
    let h = harvest(policy, &mut rng);
    let globs = h.globs.clone();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (agent, skill) = match policy.agents.get(rng.below(policy.agents.len())) {
            Some(a) if rng.chance(1, 60) => (format!("{}x", a.name), None),
            Some(a) => {
                let skill = if !a.skills.is_empty() && rng.chance(1, 2) {
                    a.skills
                        .get(rng.below(a.skills.len()))
                        .map(|s| s.name.clone())
                } else if rng.chance(1, 80) {
                    Some("nosuchskill".to_string())
                } else {
                    None
                };
                (a.name.clone(), skill)
            }
            None => ("nobody".into(), None),
        };
        let resource = match rng.below(10) {
            0..=2 => Resource::Fs {
                action: if rng.chance(1, 50) {
                    Action::Connect
                } else {
                    *rng.pick(&Action::FS).unwrap_or(&Action::Read)
                },
                path: rand_path(&mut rng, &globs),
            },
            3 => Resource::Exec {
                path: rand_path(&mut rng, &globs),
                args: (0..rng.below(4))
                    .map(|_| pick_str(&mut rng, &h.argv, &["-c", "--x=1", "a", "b"]))
                    .collect(),
            },
            4 | 5 => Resource::Net {
                action: *rng.pick(&Action::NET).unwrap_or(&Action::Connect),
                proto: *rng
                    .pick(&[Proto::Tcp, Proto::Udp, Proto::Tcp, Proto::Udp, Proto::Any])
                    .unwrap_or(&Proto::Tcp),
                addr: if rng.chance(1, 4) {
                    None
                } else if !h.addrs.is_empty() && rng.chance(2, 3) {
                    h.addrs.get(rng.below(h.addrs.len())).copied()
                } else {
                    rng.pick(ADDRS).and_then(|a| a.parse().ok())
                },
                domain: if rng.chance(1, 3) {
                    None
                } else if !h.domains.is_empty() && rng.chance(2, 3) {
                    h.domains.get(rng.below(h.domains.len())).cloned()
                } else {
                    Some(
                        rng.pick(&[
                            "example.com",
                            "api.example.com",
                            "a.b.example.com",
                            "EXAMPLE.com.",
                            "x.org",
                            ".example.com",
                            "ex ample.com",
                        ])
                        .copied()
                        .unwrap_or("x")
                        .to_string(),
                    )
                },
                port: if !h.ports.is_empty() && rng.chance(2, 3) {
                    h.ports
                        .get(rng.below(h.ports.len()))
                        .copied()
                        .unwrap_or(443)
                } else {
                    *rng.pick(PORTS).unwrap_or(&443)
                },
            },
            6 => Resource::Env {
                var: pick_str(&mut rng, &h.vars, VARS),
            },
            _ => {
                let tool = if rng.chance(1, 60) {
                    policy
                        .tools
                        .first()
                        .map(|t| format!("{}_x", t.name))
                        .unwrap_or_default()
                } else {
                    policy
                        .tools
                        .get(rng.below(policy.tools.len()))
                        .map(|t| t.name.clone())
                        .unwrap_or_default()
                };
                let mut args = BTreeMap::new();
                if let Some(sig) = policy.tool(&tool) {
                    for a in &sig.args {
                        if rng.chance(1, 60) {
                            continue; // missing
                        }
                        args.insert(a.name.clone(), rand_json_value(&mut rng, a.ty, &h));
                    }
                    if rng.chance(1, 60) {
                        args.insert("extra".into(), serde_json::json!("x"));
                    }
                }
                let mut params = BTreeMap::new();
                for p in &policy.params {
                    if rng.chance(1, 25) {
                        continue;
                    }
                    let v = match p.ty {
                        ParamType::String => serde_json::json!(pick_str(&mut rng, &h.strs, STRS)),
                        ParamType::Int => serde_json::json!(*rng.pick(INTS).unwrap_or(&0)),
                        ParamType::Bool => serde_json::json!(rng.chance(1, 2)),
                        ParamType::SetString => serde_json::json!((0..rng.below(3))
                            .map(|_| pick_str(&mut rng, &h.strs, STRS))
                            .collect::<Vec<_>>()),
                        ParamType::SetInt => serde_json::json!((0..rng.below(3))
                            .map(|_| *rng.pick(INTS).unwrap_or(&0))
                            .collect::<Vec<_>>()),
                    };
                    let v = if rng.chance(1, 80) {
                        serde_json::json!("wrong")
                    } else {
                        v
                    };
                    params.insert(p.name.clone(), v);
                }
                if rng.chance(1, 80) {
                    params.insert("undeclared".into(), serde_json::json!(1));
                }
                let tainted = policy
                    .tool(&tool)
                    .map(|t| {
                        t.args
                            .iter()
                            .filter(|_| rng.chance(1, 3))
                            .map(|a| a.name.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let mut secrets = BTreeMap::new();
                let vars: Vec<String> = VARS
                    .iter()
                    .map(|v| v.to_string())
                    .chain(h.vars.iter().cloned())
                    .collect();
                for v in vars {
                    if rng.chance(1, 3) {
                        secrets.insert(
                            v,
                            rng.pick(&["secret-123", "", "a@", "zzz"])
                                .copied()
                                .unwrap_or("")
                                .to_string(),
                        );
                    }
                }
                Resource::Tool {
                    tool,
                    args,
                    params,
                    tainted,
                    secrets,
                }
            }
        };
        out.push(Request {
            agent,
            skill,
            resource,
        });
    }
    out
}
