//! Formatter output (insta snapshots), with the invariants checked on each:
//! the tree is unchanged, every comment survives, formatting is idempotent.

use agentpol_core::format::format_source;
use agentpol_core::span::FileId;
use agentpol_core::syntax::{parse, same_modulo_spans};

/// Formats `text`, checks the invariants, returns the output.
fn fmt(text: &str) -> String {
    let out = match format_source(FileId(0), text) {
        Ok(out) => out,
        Err(d) => panic!("refused: {}", d[0].message),
    };
    let before = parse(FileId(0), text);
    let after = parse(FileId(0), &out);
    assert!(
        after.diagnostics.is_empty(),
        "output does not parse:\n{out}"
    );
    assert!(
        same_modulo_spans(&before.ast, &after.ast),
        "tree changed:\n{out}"
    );
    let texts = |p: &agentpol_core::syntax::ParsedFile| {
        let mut v: Vec<String> = p
            .comments
            .iter()
            .map(|c| c.text.trim_end().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(texts(&before), texts(&after), "comments changed:\n{out}");
    let again = format_source(FileId(0), &out).ok();
    assert_eq!(again.as_deref(), Some(out.as_str()), "not idempotent");
    out
}

#[test]
fn every_construct_messy_layout() {
    let text = r#"version   1
import std :: secrets
import "common.agentpol"   as   common
import std::net as n
const WORK="/home/agent/work"
const N = 007
const ALIAS = WORK
set private={10.0.0.0/8,"fc00::/7",8000..8080,WORK,}
param contacts : set < string >
param limit: int
secret aws { file "~/.aws/credentials" env "AWS_SECRET_ACCESS_KEY","AWS_SESSION_TOKEN" file { "~/.aws/config" } }
tool send_email( to : string , body: secret string, ) -> untrusted , external
tool read_file(path: path)
profile baseline { fs { deny all secrets::ssh_keys } }
agent openclaw {
  home "/home/agent" scope cgroup scope cgroup "agents/oc" scope uid 1000
  resolvers { 1.1.1.1, "2606:4700:4700::1111" }
  selector { namespace "agents" labels { app: "openclaw", file: "x", } labels { tier: "a" } }
  include baseline include std::openclaw::baseline
  fs { allow read,write "${WORK}/**" deny all any allow mkdir { "/tmp/a", "/tmp/b" } }
  exec { allow "/usr/bin/git" args ["status", "log", ..] allow "/bin/ls" args [] allow "/bin/x" args [..] deny any }
  net {
    allow connect tcp { "api.github.com", 140.82.112.0/20 } port 443
    allow connect any port { 80, 443, 8000..8080, }
    allow listen udp any port any
    allow sendto "1.1.1.1" port 53
    deny all
    allow connect private port n::https
  }
  tool send_email(to: string, body: string) {
    allow when to in param contacts and not (body like "*password*" or tainted(body))
    ask when to not in param contacts
    deny when url.host not like "*.evil" or amount >= 10 and x != true
    deny
  }
  tool read_file { allow when path in { "~/docs/**" } }
  secrets { deny read aws, std::secrets::gcp }
  skill pdf_summary { fs { allow read "${WORK}/docs/**" } net { deny all } skill inner {} }
}
assert never openclaw fs read "~/.ssh/**"
assert never allow * net connect tcp port 22
assert never openclaw.pdf_summary exec "/bin/sh" args [..]
assert never * tool send_email when to not in param contacts
assert never openclaw env "AWS_SECRET_ACCESS_KEY"
assert never *   read   {"~/.ssh/**","~/.aws/**"}
test "no ssh keys" {
  expect deny openclaw fs read "/home/agent/.ssh/id_ed25519"
  expect allow openclaw exec "/usr/bin/git" args ["status"]
  expect allow openclaw net connect tcp "api.github.com" port 443
  expect deny openclaw.pdf_summary net connect udp 1.1.1.1 port 53
  expect ask openclaw tool send_email { to: "x@evil.example", body: "hi", } with { contacts: { "a@example.com" }, std::openclaw::limit: 3 } tainted(body, to)
  expect deny openclaw env "AWS_SECRET_ACCESS_KEY"
}
test "empty" {}
"#;
    insta::assert_snapshot!(fmt(text));
}

#[test]
fn comments_are_kept_in_place() {
    let text = r#"# Policy for the openclaw agent.
# Second header line.

version 1   # language version


import std::secrets # for credential_files
# a comment before a const

const WORK = "/home/agent/work"
agent openclaw { # the main agent
  # where it lives
  home "/home/agent"

  fs {
    allow read, write "${WORK}/**" # its work tree
    # keys stay out
    deny all secrets::credential_files
    # trailing note in fs
  }
  net { allow connect tcp { # inside a set
      "api.github.com", # github
      140.82.112.0/20 } port 443 } # after net
  tool send_email(to: string, # recipient
                  body: string) {
    allow when to == "a" # the owner
      or to == "b" # the deputy
  }

  # end of agent body
} # after agent
test "t" { # test header
  expect deny openclaw fs read "/x" # expectation
}
# end of file
"#;
    insta::assert_snapshot!(fmt(text));
}

#[test]
fn blank_lines_collapse_to_one() {
    let text = "version 1\n\n\n\nconst A = 1\n\n\n\n\n# c\n\n\nconst B = 2\nagent a {\n\n\n  home \"/h\"\n\n\n\n  include p\n\n\n}\n\n\n";
    insta::assert_snapshot!(fmt(text));
}

#[test]
fn strings_are_escaped_canonically() {
    let text = r#"const A = "tab\there \"quoted\" back\\slash \$HOME \${not} ${A} $${B} end$"
const E = ""
"#;
    insta::assert_snapshot!(fmt(text));
}

#[test]
fn empty_blocks_and_files() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n  \n"), "");
    assert_eq!(fmt("# only a comment"), "# only a comment\n");
    assert_eq!(fmt("agent a {  }"), "agent a {}\n");
    assert_eq!(fmt("agent a { fs {} }"), "agent a {\n  fs {}\n}\n");
    assert_eq!(fmt("agent a { # c\n}"), "agent a { # c\n}\n");
    assert_eq!(fmt("agent a {\n# c\n}"), "agent a {\n  # c\n}\n");
    assert_eq!(fmt("agent a {} # c"), "agent a {} # c\n");
    assert_eq!(
        fmt("agent a { selector {} }"),
        "agent a {\n  selector {}\n}\n"
    );
}

#[test]
fn crlf_input() {
    let text = "version 1\r\n\r\nagent a { # c\r\n  home \"/h\"\r\n}\r\n";
    assert_eq!(fmt(text), "version 1\n\nagent a { # c\n  home \"/h\"\n}\n");
}

#[test]
fn refuses_files_with_errors() {
    for bad in [
        "agent a {",
        "agent a { fs { allow raed \"/x\" } }",
        "const x = \"unterminated",
        "@",
    ] {
        match format_source(FileId(0), bad) {
            Ok(out) => panic!("formatted a broken file {bad:?} into {out:?}"),
            Err(d) => assert!(!d.is_empty()),
        }
    }
}

#[test]
fn long_sets_are_broken_one_element_per_line() {
    let text = "set readonly = { \"/usr/**\", \"/lib/**\", \"/lib64/**\", \"/etc/ssl/**\", \"/etc/ca-certificates/**\", \"/etc/resolv.conf\" }\nset short = { 80, 443 }\nagent a {\n  home \"/home/a\"\n  fs { allow read, write, create, delete, rename, mkdir { \"~/.cargo/registry/**\", \"~/.cargo/git/**\", \"~/.npm/_cacache/**\" } }\n  net { allow connect tcp { \"api.example.com\", \"cdn.example.com\", \"static.example.com\", \"assets.example.com\" } port { 80, 443 } }\n}\n";
    insta::assert_snapshot!(fmt(text));
}
