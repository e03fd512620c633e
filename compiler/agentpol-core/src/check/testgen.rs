//! Generates large valid policies for benchmarks (`agentpolc bench`, the
//! `check` criterion bench) and scale tests.
//!
//! The policy is self-contained (no imports), valid (compiles without
//! errors), and mixes every rule kind the way a real policy would: agents
//! with homes and skills, a shared profile, consts, sets, params, secrets,
//! tool conditions with `and`/`or`/`not`.

use std::fmt::Write;

/// Source rules per agent (agent body plus its skills).
const RULES_PER_AGENT: usize = 500;

/// A valid policy with about `n_rules` source rules (at least one agent).
pub fn generate_policy(n_rules: usize) -> String {
    let mut s = String::with_capacity(n_rules * 80 + 4096);
    s.push_str("version 1\n\n");
    s.push_str("const WORK = \"/srv/work\"\nconst API = \"api.example.com\"\nconst LIMIT = 1000\n");
    s.push_str("set private = { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, \"fc00::/7\" }\n");
    s.push_str("set web = { 80, 443, 8000..8080 }\n");
    s.push_str("set dotfiles = { \"~/.ssh/**\", \"~/.gnupg/**\", \"~/.aws/**\" }\n");
    s.push_str("param contacts: set<string>\nparam owner: string\n");
    s.push_str("secret aws { file { \"~/.aws/credentials\", \"~/.aws/config\" } env \"AWS_SECRET_ACCESS_KEY\" }\n");
    s.push_str("secret gh { env \"GITHUB_TOKEN\" }\n");
    s.push_str("tool send_email(to: string, body: string)\n");
    s.push_str("tool fetch(u: url) -> untrusted\n");
    s.push_str("tool pay(amount: int, to: string, memo: string)\n");
    s.push_str("tool open_file(p: path, write: bool)\n\n");
    s.push_str("profile baseline {\n  fs {\n    deny all dotfiles\n    allow read { \"/usr/**\", \"/etc/ssl/**\" }\n  }\n");
    s.push_str("  net { deny all private }\n  secrets { deny read aws }\n}\n\n");
    let agents = n_rules.div_ceil(RULES_PER_AGENT).max(1);
    let mut written = 0usize;
    for a in 0..agents {
        let budget = RULES_PER_AGENT.min(n_rules.saturating_sub(written)).max(1);
        written += budget;
        let _ = writeln!(
            s,
            "agent a{a} {{\n  home \"/home/a{a}\"\n  include baseline"
        );
        // Grants every skill below narrows, so no skill escalates.
        s.push_str("  fs { allow read, write \"~/**\" }\n");
        s.push_str("  net { allow connect tcp port web }\n");
        s.push_str("  exec { allow \"/usr/bin/*\" }\n");
        s.push_str("  tool send_email { allow when to in param contacts }\n");
        s.push_str("  tool fetch { allow when u.scheme == \"https\" }\n");
        s.push_str("  tool pay { allow when amount <= LIMIT }\n");
        s.push_str("  tool open_file { allow when p in { \"~/**\" } }\n");
        let mut used = 7usize;
        let skill_at = budget * 4 / 5;
        let mut in_skill = false;
        let mut i = 0usize;
        while used < budget {
            let n = a * RULES_PER_AGENT + i;
            if used >= skill_at && !in_skill {
                let _ = writeln!(s, "  skill s{a} {{");
                in_skill = true;
            }
            let pad = if in_skill { "    " } else { "  " };
            if in_skill {
                match i % 4 {
                    0 => {
                        let _ = writeln!(s, "{pad}fs {{ allow read \"~/docs/d{n}/**\" }}");
                    }
                    1 => {
                        let _ = writeln!(
                            s,
                            "{pad}net {{ allow connect tcp \"h{n}.example.com\" port 443 }}"
                        );
                    }
                    2 => {
                        let _ = writeln!(s, "{pad}tool send_email {{ allow when to == \"u{n}@example.com\" and not tainted(body) }}");
                    }
                    _ => {
                        let _ = writeln!(
                            s,
                            "{pad}tool pay {{ allow when amount < {n} or to == param owner }}"
                        );
                    }
                }
            } else {
                match i % 10 {
                    0 => {
                        let _ =
                            writeln!(s, "{pad}fs {{ allow read, write \"${{WORK}}/p{n}/**\" }}");
                    }
                    1 => {
                        let _ = writeln!(s, "{pad}fs {{ deny write {{ \"/var/lib/x{n}/*.db\", \"~/.cache/c{n}/{{a,b}}\" }} }}");
                    }
                    2 => {
                        let _ = writeln!(s, "{pad}fs {{ allow read \"/opt/app{n}/[a-z]*.conf\" }}");
                    }
                    3 => {
                        let _ = writeln!(
                            s,
                            "{pad}net {{ allow connect tcp {{ \"h{n}.example.com\", \"*.s{n}.example.net\", {}.{}.{}.0/24 }} port {{ 443, 8443 }} }}",
                            1 + n % 200,
                            (n / 200) % 256,
                            (n / 51200) % 256
                        );
                    }
                    4 => {
                        let _ = writeln!(
                            s,
                            "{pad}net {{ deny sendto udp \"2001:db8::{:x}\" port {} }}",
                            n % 65536,
                            1 + n % 65535
                        );
                    }
                    5 => {
                        let _ = writeln!(
                            s,
                            "{pad}exec {{ allow \"/usr/bin/git\" args [\"log\", \"-n{n}\", ..] }}"
                        );
                    }
                    6 => {
                        let _ = writeln!(
                            s,
                            "{pad}tool send_email {{ ask when (to like \"*@d{n}.example\" or to == param owner) and not body like \"*password*\" }}"
                        );
                    }
                    7 => {
                        let _ = writeln!(s, "{pad}tool fetch {{ deny when u.host in {{ \"*.bad{n}.example\", 10.0.0.0/8 }} or u.port != 443 }}");
                    }
                    8 => {
                        let _ = writeln!(s, "{pad}tool open_file {{ deny when p in {{ \"~/.ssh/**\", \"/etc/s{n}\" }} and write == true }}");
                    }
                    _ => {
                        let _ = writeln!(s, "{pad}secrets {{ allow read gh }}");
                    }
                }
            }
            used += 1;
            i += 1;
        }
        if in_skill {
            s.push_str("  }\n");
        }
        s.push_str("}\n\n");
    }
    s.push_str("assert never * fs read \"/etc/shadow\"\n");
    s.push_str("test \"baseline\" {\n  expect deny a0 fs read \"~/.ssh/id_ed25519\"\n  expect allow a0 fs read \"/usr/lib/os-release\"\n}\n");
    s
}
