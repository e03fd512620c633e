//! `agentpolc run` with real processes: Landlock file/exec confinement,
//! the deny-under-an-allowed-tree expansion, links to a denied file,
//! grandchildren after `setsid`, environment scrubbing, no network, fail
//! closed, and bad input before anything is created.
//!
//! The kernel tests need root: they run when `AGENTPOL_PRIVILEGED_TESTS=1`
//! (and fail if something is missing); otherwise they print why they skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GATE: &str = "AGENTPOL_PRIVILEGED_TESTS";

fn privileged(test: &str) -> bool {
    if std::env::var(GATE).as_deref() == Ok("1") {
        assert!(
            rustix_is_root(),
            "{GATE}=1 but not running as root: `run` needs root"
        );
        for tool in ["unshare", "setsid", "python3"] {
            assert!(
                Path::new("/usr/bin").join(tool).exists(),
                "{GATE}=1 but /usr/bin/{tool} is missing (apt-get install util-linux python3)"
            );
        }
        true
    } else {
        eprintln!("skipping {test}: needs root and Landlock; set {GATE}=1 to run it");
        false
    }
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A scratch tree the agent's `nobody` user can use, removed on drop.
struct Scratch {
    root: PathBuf,
    state: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let root = PathBuf::from(format!("/tmp/agentpol-run-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["work/sub", "secret", "state"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(root.join("work/.env"), "TOKEN=hunter2\n").expect("write");
        std::fs::write(root.join("work/sub/a.txt"), "sibling\n").expect("write");
        std::fs::write(root.join("work/b.txt"), "b\n").expect("write");
        std::fs::write(root.join("secret/key"), "PRIVATE\n").expect("write");
        std::fs::copy("/usr/bin/cat", root.join("work/mycat")).expect("copy");
        std::os::unix::fs::symlink(root.join("work/.env"), root.join("work/link"))
            .expect("symlink");
        Command::new("chmod")
            .args(["-R", "a+rwX"])
            .arg(&root)
            .status()
            .expect("chmod");
        let state = root.join("state");
        Scratch { root, state }
    }

    fn policy(&self, extra: &str) -> PathBuf {
        let r = self.root.display();
        let text = format!(
            "version 1\n\
             agent t {{\n\
               fs {{\n\
                 allow read {{ \"/usr/**\", \"/etc/**\" }}\n\
                 allow read, write, create, delete \"{r}/work/**\"\n\
                 deny read \"{r}/work/.env\"\n\
                 allow read, write \"/dev/null\"\n\
               }}\n\
               exec {{ allow \"/usr/**\" }}\n\
               {extra}\n\
             }}\n"
        );
        let p = self.root.join("t.agentpol");
        std::fs::write(&p, text).expect("write policy");
        p
    }

    fn run(&self, policy: &Path, flags: &[&str], script: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_agentpolc"))
            .arg("run")
            .arg("--policy")
            .arg(policy)
            .args(["--agent", "t"])
            .args(flags)
            .args(["--", "/bin/sh", "-c", script])
            .env("AGENTPOL_STATE_ROOT", &self.state)
            .env("KEEP_ME", "kept")
            .env("AWS_SECRET_ACCESS_KEY", "leak")
            .output()
            .expect("run agentpolc")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One probe line; its output goes to `/dev/null`, which the policy allows
/// (without that grant every redirection fails and every probe reads "denied").
fn try_line(label: &str, cmd: &str) -> String {
    format!("if {cmd} >/dev/null 2>&1; then echo {label}=ok; else echo {label}=denied; fi; ")
}

#[test]
fn files_and_exec_are_confined_by_landlock() {
    if !privileged("files_and_exec_are_confined_by_landlock") {
        return;
    }
    let s = Scratch::new("fs");
    let r = s.root.display().to_string();
    let policy = s.policy("");
    let script = [
        try_line("read_sibling", &format!("cat {r}/work/sub/a.txt")),
        try_line("read_b", &format!("cat {r}/work/b.txt")),
        try_line("read_denied", &format!("cat {r}/work/.env")),
        try_line("read_symlink", &format!("cat {r}/work/link")),
        try_line("read_proc_root", &format!("cat /proc/self/root{r}/work/.env")),
        try_line("read_outside", &format!("cat {r}/secret/key")),
        try_line("write", &format!("sh -c 'echo x > {r}/work/new.txt'")),
        try_line("delete", &format!("rm {r}/work/b.txt")),
        try_line("write_outside", &format!("sh -c 'echo x > {r}/secret/new'")),
        try_line("exec_usr", "/usr/bin/true"),
        try_line("exec_copy", &format!("{r}/work/mycat {r}/work/sub/a.txt")),
        format!("setsid sh -c 'sleep 0.3; if cat {r}/secret/key >/dev/null 2>&1; then echo ok; else echo denied; fi > {r}/work/grandchild' &"),
    ]
    .concat();
    let out = s.run(&policy, &["--accept-loss"], &script);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {text}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expect in [
        "read_sibling=ok",
        "read_b=ok",
        "read_denied=denied",
        "read_symlink=denied",
        "read_proc_root=denied",
        "read_outside=denied",
        "write=ok",
        "delete=ok",
        "write_outside=denied",
        "exec_usr=ok",
        "exec_copy=denied",
    ] {
        assert!(text.contains(expect), "expected {expect} in:\n{text}");
    }
    // The supervisor waited for the detached grandchild, which was confined too.
    let gc = std::fs::read_to_string(s.root.join("work/grandchild")).unwrap_or_default();
    assert_eq!(gc.trim(), "denied");
    // Nothing left behind.
    assert_eq!(
        std::fs::read_dir(&s.state).map(|d| d.count()).unwrap_or(0),
        0
    );
}

#[test]
fn env_is_scrubbed_and_there_is_no_network() {
    if !privileged("env_is_scrubbed_and_there_is_no_network") {
        return;
    }
    let s = Scratch::new("env");
    let policy = s.policy("");
    let script = "echo \"keep=$KEEP_ME aws=$AWS_SECRET_ACCESS_KEY\"; \
        python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 9), 1)' 2>/dev/null \
        && echo net=ok || echo net=denied";
    // The policy declares no secret: only an undeclared variable passes.
    let out = s.run(&policy, &["--accept-loss"], script);
    let text = stdout(&out);
    assert!(text.contains("keep=kept aws=leak"), "{text}");
    assert!(text.contains("net=denied"), "{text}");
    // With std::secrets imported, AWS_SECRET_ACCESS_KEY is a declared secret
    // variable that no rule allows: removed.
    let p2 = s.root.join("t2.agentpol");
    let text2 = std::fs::read_to_string(&policy)
        .unwrap_or_default()
        .replace("version 1\n", "version 1\nimport std::secrets\n");
    std::fs::write(&p2, text2).expect("write");
    let out = s.run(&p2, &["--accept-loss"], script);
    let text = stdout(&out);
    assert!(text.contains("keep=kept aws="), "{text}");
    assert!(!text.contains("leak"), "{text}");
}

#[test]
fn approximations_need_accept_loss_and_nothing_is_left_behind() {
    if !privileged("approximations_need_accept_loss_and_nothing_is_left_behind") {
        return;
    }
    let s = Scratch::new("loss");
    // A wildcard domain cannot be held by address: a loss entry (narrower).
    let policy = s.policy("net { allow connect tcp \"*.example.com\" port 443 }");
    let marker = s.root.join("work/started");
    let out = s.run(&policy, &[], &format!("touch {}", marker.display()));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--accept-loss"), "{err}");
    assert!(stdout(&out).contains("loss:"), "{}", stdout(&out));
    assert!(
        !marker.exists(),
        "the command ran although the plan was refused"
    );
    assert_eq!(
        std::fs::read_dir(&s.state).map(|d| d.count()).unwrap_or(0),
        0
    );
}

#[test]
fn the_child_exit_status_is_the_run_exit_status() {
    if !privileged("the_child_exit_status_is_the_run_exit_status") {
        return;
    }
    let s = Scratch::new("exit");
    let out = s.run(&s.policy(""), &["--accept-loss"], "exit 7");
    assert_eq!(out.status.code(), Some(7));
}

/// Bad input is exit 2, before anything is created (no root needed to see it).
#[test]
fn bad_input_is_exit_2_before_anything_is_created() {
    let s = Scratch::new("bad");
    let policy = s.policy("");
    let cases: [(&[&str], &str); 4] = [
        (&["--agent", "nope"], "no agent `nope`"),
        (
            &["--agent", "t", "--user", "no-such-user-xyz"],
            "does not exist",
        ),
        (
            &["--agent", "t", "--log", "/proc/agentpol-no/x.jsonl"],
            "cannot write the log",
        ),
        (&["--agent", "t.nope"], "no skill `nope`"),
    ];
    for (flags, msg) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
            .arg("run")
            .arg("--policy")
            .arg(&policy)
            .args(flags)
            .args(["--", "/bin/true"])
            .env("AGENTPOL_STATE_ROOT", &s.state)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(msg), "{flags:?}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--agent", "t", "--", "no-such-command-xyz"])
        .env("AGENTPOL_STATE_ROOT", &s.state)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    assert_eq!(
        std::fs::read_dir(&s.state).map(|d| d.count()).unwrap_or(0),
        0
    );
}

/// `--explain-plan` names each kind's enforcer and every loss with its span.
#[test]
fn explain_plan_lists_enforcers_and_losses() {
    let s = Scratch::new("plan");
    let policy = s.policy("exec { allow \"/usr/bin/git\" args [\"status\"] }");
    let out = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(["run", "--explain-plan", "--policy"])
        .arg(&policy)
        .args(["--agent", "t", "--", "/bin/true"])
        .output()
        .expect("run");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("enforcer plan for t:"), "{text}");
    assert!(text.contains("exec  → landlock"), "{text}");
    // run starts no gate, so it must not call the tool rules enforced.
    assert!(text.contains("tool  → not enforced by run"), "{text}");
    assert!(text.contains("argument patterns"), "{text}");
    assert!(
        text.contains("t.agentpol:10:"),
        "loss without its source line: {text}"
    );
    assert!(text.contains("expanded at start"), "{text}");
}
