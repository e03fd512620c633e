//! End to end: the bundled OpenClaw example (`examples/openclaw/openclaw.agentpol`)
//! run unmodified with `agentpolc run --agent assistant`, a small shell script
//! as the agent that
//!
//! (a) reads `~/.ssh/id_ed25519` — denied by Landlock: the script sees
//!     EACCES ("Permission denied"); Landlock reports no per-access events,
//!     so the log must hold no record about it either way
//!     (lang-spec/events.md, "What is not logged");
//! (b) connects to the metadata address 169.254.169.254 port 80 — denied by
//!     the cgroup BPF program (`std::net::no_internal`): EPERM, and the event
//!     log names the deny rule, whose `at` points at `deny all metadata` in
//!     the stdlib source;
//! (c) reads a file in its workspace — allowed.
//!
//! The policy hard-codes `home "/home/claw"`, so the test creates the real
//! `/home/claw` (refusing to run if it exists: it never clobbers a real
//! home) and removes it afterwards, also when an assertion fails. The key
//! file is world-readable on purpose: only Landlock, not file permissions,
//! can then stop the agent (who runs as `nobody`), so (a) can fail.
//!
//! Everything runs inside a network namespace the test creates: the policy's
//! resolver 1.1.1.1 is an address on that namespace's loopback, served by the
//! scripted DNS server (every name NXDOMAIN), so no query leaves the host;
//! the denied connect never reaches routing (BPF refuses it first).
//!
//! Privileged (root, netns, cgroup v2, clang-built BPF object): runs when
//! `AGENTPOL_PRIVILEGED_TESTS=1` and fails, never skips, when it is set.

mod firewall_support;

use agentpol_testkit::dns_script::{Script, Server};
use firewall_support::{privileged, run, tag, Netns};
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_agentpolc");
const HOME: &str = "/home/claw";

/// Removes `/home/claw` on drop (only if this test created it).
struct FakeHome(PathBuf);

impl FakeHome {
    fn create() -> FakeHome {
        let home = PathBuf::from(HOME);
        assert!(
            !home.exists(),
            "{HOME} exists on this machine: refusing to create (and later remove) a test home over it"
        );
        let guard = FakeHome(home.clone());
        for d in [".ssh", "workspace"] {
            std::fs::create_dir_all(home.join(d)).expect("mkdir");
        }
        std::fs::write(
            home.join(".ssh/id_ed25519"),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nTEST KEY, NOT A SECRET\n",
        )
        .expect("write the test key");
        std::fs::write(home.join("workspace/todo.md"), "buy milk\n").expect("write");
        // World-readable and traversable: file modes would not stop
        // `nobody`, so a denial can only come from Landlock.
        run(std::process::Command::new("chmod").args(["-R", "a+rwX", HOME]));
        guard
    }
}

impl Drop for FakeHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/openclaw/openclaw.agentpol")
}

#[test]
fn openclaw_example_denies_key_and_metadata_allows_workspace() {
    if !privileged("openclaw_example_denies_key_and_metadata_allows_workspace") {
        return;
    }
    let _home = FakeHome::create();
    let ns = Netns::new(&tag("e2e"));
    run(&mut ns.cmd("ip", &["addr", "add", "1.1.1.1/32", "dev", "lo"]));
    let _dns = Server::start(
        "1.1.1.1".parse().expect("addr"),
        Some(Path::new(&ns.path())),
        Script::new(),
    )
    .unwrap_or_else(|e| panic!("cannot start the scripted DNS server: {e}"));
    let dir = PathBuf::from(format!("/tmp/agentpol-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).expect("mkdir");
    let log = dir.join("events.jsonl");
    // One line per step, `a:`/`b:`/`c:` then the outcome, so a step's result
    // cannot be mistaken for another's.
    let script = r#"
cd ~/workspace || exit 90
if out=$(cat ~/.ssh/id_ed25519 2>&1); then echo "a: read: $out"; else echo "a: $out"; fi
# bash's /dev/tcp: python3 is not among std::system's common binaries.
if out=$(bash -c 'exec 3<>/dev/tcp/169.254.169.254/80' 2>&1); then echo "b: connected"; else echo "b: $out"; fi
if out=$(cat ~/workspace/todo.md 2>&1); then echo "c: ok $out"; else echo "c: $out"; fi
"#;
    let out = ns
        .cmd(
            BIN,
            &[
                "run",
                // Its names (imap.fastmail.com…) are held by the addresses
                // resolved at start: an approximation the plan lists.
                "--accept-loss",
                "--policy",
                &example().display().to_string(),
                "--agent",
                "assistant",
                "--log",
                &log.display().to_string(),
                "--",
                "sh",
                "-c",
                script,
            ],
        )
        .env("AGENTPOL_STATE_ROOT", dir.join("state"))
        .env("HOME", HOME)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let ctx = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{ctx}");
    let line = |p: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(p))
            .unwrap_or_else(|| panic!("no `{p}` line; {ctx}"))
            .to_owned()
    };
    // (a) Landlock: EACCES, shown by cat as "Permission denied".
    let a = line("a:");
    assert!(a.contains("Permission denied"), "{a}; {ctx}");
    assert!(!a.contains("TEST KEY"), "the key was read: {ctx}");
    // (b) BPF: EPERM, "Operation not permitted" (a connect that left the
    // namespace would say "Network is unreachable" instead).
    let b = line("b:");
    assert!(b.contains("Operation not permitted"), "{b}; {ctx}");
    // (c) the workspace.
    assert_eq!(line("c:"), "c: ok buy milk", "{ctx}");

    // The log: exactly the metadata denial, with a rule whose source is
    // the stdlib's `deny all metadata`; nothing about the key (no record of
    // any other kind exists, and none claims an allow).
    let text = std::fs::read_to_string(&log).expect("the event log");
    let recs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(recs.len(), 1, "{text}");
    let r = &recs[0];
    assert_eq!(r["kind"], "net", "{text}");
    assert_eq!(r["action"], "connect", "{text}");
    assert_eq!(r["proto"], "tcp", "{text}");
    assert_eq!(r["addr"], "169.254.169.254", "{text}");
    assert_eq!(r["port"], 80, "{text}");
    assert_eq!(r["decision"], "deny", "{text}");
    assert_eq!(r["layer"], "agent", "{text}");
    let rule = r["rule"].as_str().expect("a rule id, not a default deny");
    assert!(rule.starts_with("assistant/net/"), "{rule}");
    // `at` = file:line:col; the line there is the deny rule.
    let at = r["at"].as_str().expect("at");
    let mut parts = at.rsplitn(3, ':');
    let col: usize = parts.next().and_then(|c| c.parse().ok()).expect("col");
    let lno: usize = parts.next().and_then(|c| c.parse().ok()).expect("line");
    let file = parts.next().expect("file");
    // The stdlib's files are named `std/<module>.agentpol` (compiled into
    // the binary from stdlib-policies/).
    let on_disk = match file.strip_prefix("std/") {
        Some(m) => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("stdlib-policies")
            .join(m),
        None => PathBuf::from(file),
    };
    let src = std::fs::read_to_string(&on_disk)
        .unwrap_or_else(|e| panic!("cannot read the rule's source {}: {e}", on_disk.display()));
    let src_line = src.lines().nth(lno - 1).expect("the line exists");
    assert!(
        src_line[col - 1..].starts_with("deny all metadata"),
        "{at} is {src_line:?}"
    );
    assert!(
        !text.contains("id_ed25519") && !text.contains("\"fs\""),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
