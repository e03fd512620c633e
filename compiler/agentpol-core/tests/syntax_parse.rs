//! Parse tests for every construct of lang-spec/grammar.md. Snapshots show
//! the tree with each span replaced by the source text it covers.

mod support;

use agentpol_core::span::FileId;
use agentpol_core::syntax::ast::*;
use agentpol_core::syntax::parse;
use support::syntax::{codes, dump};

macro_rules! snap {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(dump($src));
        }
    };
}

snap!(file_version_and_imports, "version 1\nimport std::secrets\nimport std::net as n\nimport \"lib/common.agentpol\" as common\n");
snap!(consts_sets_params, "const W = \"/w\"\nconst N = 42\nconst A = std::paths::HOME\nset s = { \"a\", 1, 10.0.0.0/8, 80..90, W, }\nset e = {}\nparam p: set<string>\nparam q: url\n");
snap!(
    secret_decl,
    "secret aws { file \"~/.aws/credentials\" env \"A\", \"B\" file any }"
);
snap!(
    tool_decl,
    "tool send-email(to: string, key: secret string,) -> untrusted, other\ntool noargs()"
);
snap!(agent_members, "agent a {\n  home \"/h\"\n  scope cgroup\n  scope cgroup \"x\"\n  scope uid 7\n  resolvers { 1.1.1.1 }\n  selector { namespace \"ns\" labels { app: \"x\", port: \"y\" } }\n  include p::q\n}");
snap!(
    profile_and_skill,
    "profile p { include q }\nagent a { skill s { fs { allow read \"/x\" } } }"
);
snap!(fs_rules, "agent a { fs { allow read, write \"/a\" deny all secrets::keys ask create { \"/b\", \"/c\" } } }");
snap!(exec_rules, "agent a { exec { allow \"/bin/git\" args [\"status\", ..] allow any args [] deny \"/bin/sh\" args [..] } }");
snap!(net_rules, "agent a { net { allow connect tcp { \"x.example\", 1.2.3.0/24 } port 443 allow listen any any port 8000..8080 allow sendto port { 53, dns } deny all } }");
snap!(tool_block_conditions, "agent a { tool t(x: int, u: url) { allow when x <= 10 and u.host in { \"*.ok\" } or not tainted(x) ask when (x == 1 or x != 2) and u.port > 3 deny } }");
snap!(
    secrets_block,
    "agent a { secrets { deny read aws, std::secrets::gcp } }"
);
snap!(assertions, "assert never a fs read \"/x\"\nassert never allow * net connect\nassert never a.s exec \"/bin/sh\"\nassert never * tool t when x like \"a*\"\nassert never a env \"K\"");
snap!(read_assertions, "assert never * read \"/x/**\"\nassert never allow a.s read { \"/a\", \"/b\" }\nassert never a read secrets::keys");
snap!(tests_and_expects, "test \"t\" {\n  expect deny a fs read \"/x\"\n  expect allow a.s exec \"/bin/ls\" args [\"-l\"]\n  expect allow a net connect udp 1.1.1.1 port 53\n  expect ask a tool t { x: 1, u: \"https://x\", ok: true, ip: 1.2.3.4, s: { \"a\" } } with { std::p: 2 } tainted(x, u)\n  expect deny a env \"K\"\n}");
snap!(
    string_parts,
    "const S = \"a\\n\\t\\\\\\\"\\$${X}mid${std::c}\""
);

fn first_rule_cond(text: &str) -> Cond {
    let p = parse(FileId(0), text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    for item in p.ast.items {
        if let Item::Agent(b) = item {
            for m in b.members {
                if let Member::Tool(t) = m {
                    return t
                        .rules
                        .into_iter()
                        .next()
                        .and_then(|r| r.cond)
                        .expect("a condition");
                }
            }
        }
    }
    panic!("no tool rule")
}

fn in_tool(cond: &str) -> String {
    format!("agent a {{ tool t {{ allow when {cond} }} }}")
}

#[test]
fn precedence_and_flat_chains() {
    // a or b and c or not d  ==>  Or[a, And[b, c], Not(d)]
    match first_rule_cond(&in_tool("a == 1 or b == 2 and c == 3 or not d == 4")) {
        Cond::Or(v, _) => {
            assert_eq!(v.len(), 3);
            assert!(matches!(v[0], Cond::Atom(_)));
            assert!(matches!(&v[1], Cond::And(w, _) if w.len() == 2));
            assert!(matches!(&v[2], Cond::Not(inner, _) if matches!(**inner, Cond::Atom(_))));
        }
        other => panic!("{other:?}"),
    }
    // Parentheses are kept.
    assert!(matches!(
        first_rule_cond(&in_tool("(a == 1)")),
        Cond::Paren(..)
    ));
    // `not in` is an atom, `not x in` a negation.
    assert!(matches!(
        first_rule_cond(&in_tool("x not in S")),
        Cond::Atom(Atom::In { negated: true, .. })
    ));
    assert!(matches!(
        first_rule_cond(&in_tool("not x in S")),
        Cond::Not(..)
    ));
}

#[test]
fn keywords_are_names_where_grammar_md_says_so() {
    let text = "tool read_file(path: path, file: string, port: int)\nagent a {\n  tool read_file {\n    allow when path in { \"/x\" } and url.port == 443 and file like \"*\" and tainted(path)\n  }\n  selector { labels { app: \"x\", file: \"y\" } }\n}\ntest \"t\" { expect allow a tool read_file { path: \"/x\", file: \"f\", port: 1 } }";
    assert_eq!(codes(text), Vec::<&str>::new());
    // Keywords inside qualified names (grammar.md's own example).
    assert_eq!(
        codes("import std::secrets\nagent a { fs { deny all secrets::credential_files } }"),
        Vec::<&str>::new()
    );
    // A lone keyword is not a name where an identifier is required.
    assert_eq!(codes("const file = 1"), vec!["AP0003"]);
    assert_eq!(codes("agent a { include secrets }"), vec!["AP0003"]);
    // `not` cannot start an operand (it is the negation there).
    assert_eq!(codes(&in_tool("not == 1")), vec!["AP0003"]);
    // ...but can be a field or an argument name elsewhere.
    assert_eq!(
        codes("tool t(not: int)\nagent a { tool t { allow when u.not == 1 } }"),
        Vec::<&str>::new()
    );
}

#[test]
fn any_after_net_actions_is_the_protocol() {
    let p = parse(
        FileId(0),
        "agent a { net { allow connect any allow connect tcp any } }",
    );
    assert!(p.diagnostics.is_empty());
    let Some(Item::Agent(b)) = p.ast.items.first() else {
        panic!()
    };
    let Some(Member::Net(n)) = b.members.first() else {
        panic!()
    };
    let r0 = &n.rules[0].body;
    assert_eq!(r0.proto.as_ref().map(|p| p.node), Some(ProtoKw::Any));
    assert!(r0.targets.is_none());
    let r1 = &n.rules[1].body;
    assert_eq!(r1.proto.as_ref().map(|p| p.node), Some(ProtoKw::Tcp));
    assert!(matches!(r1.targets, Some(Expr::Any(_))));
}

#[test]
fn expect_rejects_star() {
    assert_eq!(
        codes("test \"t\" { expect deny * env \"X\" }"),
        vec!["AP0003"]
    );
}

#[test]
fn lexical_details() {
    // Identifiers may contain `-`; IPv4 versus ranges and dotted fields.
    assert_eq!(
        codes("tool send-email(to: string)\nset s = { 1..2, 1.2.3.4, 1.2.3.4/8 }"),
        Vec::<&str>::new()
    );
    let p = parse(FileId(0), "set s = { 1..2 }");
    let Some(Item::Set(s)) = p.ast.items.first() else {
        panic!()
    };
    assert!(matches!(s.value.elems[0], Expr::Range(ref a, ref b, _) if a.node == 1 && b.node == 2));
    // Comments are collected with exact spans, `\r` excluded.
    let p = parse(FileId(0), "# one\r\nconst A = 1 # two\n#three");
    let texts: Vec<&str> = p.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["# one", "# two", "#three"]);
    assert_eq!((p.comments[1].span.start, p.comments[1].span.end), (19, 24));
    // u64::MAX fits, one more does not.
    assert_eq!(
        codes("agent a { scope uid 18446744073709551615 }"),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes("agent a { scope uid 18446744073709551616 }"),
        vec!["AP0007"]
    );
}

#[test]
fn one_bad_rule_does_not_lose_the_rest() {
    let text = "agent a {\n  fs {\n    allow read \"/a\"\n    allow bogus \"/b\"\n    deny write \"/c\"\n  }\n  net { allow connect }\n}\nagent b { home \"/b\" }";
    let p = parse(FileId(0), text);
    assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
    let Some(Item::Agent(a)) = p.ast.items.first() else {
        panic!()
    };
    let Some(Member::Fs(fs)) = a.members.first() else {
        panic!()
    };
    assert_eq!(fs.rules.len(), 2);
    assert!(matches!(a.members.get(1), Some(Member::Net(_))));
    assert!(matches!(p.ast.items.get(1), Some(Item::Agent(b)) if b.name.name == "b"));
    // A bad member becomes Member::Error, a bad item Item::Error.
    let p = parse(
        FileId(0),
        "agent a { bogus home \"/h\" }\nbogus\nagent b {}",
    );
    let Some(Item::Agent(a)) = p.ast.items.first() else {
        panic!()
    };
    assert!(matches!(a.members[0], Member::Error(_)));
    assert!(matches!(a.members[1], Member::Home(..)));
    assert!(matches!(p.ast.items[1], Item::Error(_)));
    assert!(matches!(p.ast.items[2], Item::Agent(_)));
}
