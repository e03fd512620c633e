//! Generates large valid policies for benchmarks and scale tests.

/// A policy with `rules` rules spread over agents of 1000 rules each, cycling
/// through fs, exec, net and tool rules with conditions: about 50 bytes a rule.
pub fn big_policy(rules: usize) -> String {
    let mut out = String::with_capacity(rules * 60 + 256);
    out.push_str("version 1\nimport std::secrets\nconst WORK = \"/home/agent/work\"\n");
    out.push_str("tool send(to: string, amount: int, u: url)\n");
    let mut n = 0;
    let mut agent = 0;
    while n < rules {
        out.push_str(&format!("agent a{agent} {{\n  home \"/home/a{agent}\"\n"));
        let in_this = (rules - n).min(1000);
        let quarter = in_this / 4;
        out.push_str("  fs {\n");
        for i in 0..quarter {
            out.push_str(&format!(
                "    allow read, write \"${{WORK}}/dir{i}/**\" # c{i}\n"
            ));
        }
        out.push_str("  }\n  exec {\n");
        for i in 0..quarter {
            out.push_str(&format!(
                "    allow \"/usr/bin/tool{i}\" args [\"x\", ..]\n"
            ));
        }
        out.push_str("  }\n  net {\n");
        for i in 0..quarter {
            out.push_str(&format!(
                "    allow connect tcp {{ \"h{i}.example\", 10.{}.0.0/16 }} port {}\n",
                i % 256,
                1 + i % 65535
            ));
        }
        out.push_str("  }\n  tool send {\n");
        for i in 0..(in_this - 3 * quarter) {
            out.push_str(&format!(
                "    allow when amount <= {i} and (to == \"a{i}\" or u.host in {{ \"*.x\" }})\n"
            ));
        }
        out.push_str("  }\n}\n");
        n += in_this;
        agent += 1;
    }
    out
}
