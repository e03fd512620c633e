//! The binary's handling of files, pipes and build directories (issue 10
//! points 7, 11, 13, 14) and of `build`'s tests, enforcement table and
//! onboarding files (issue 11 points 1, 7, 9). Each test runs the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn agentpolc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run agentpolc")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write fixture");
    p.to_string_lossy().into_owned()
}

const OPENCLAW: &str = "examples/openclaw/openclaw.agentpol";

const PASSING: &str = "agent a {\n  home \"/home/a\"\n  fs { allow read \"~/**\" }\n}\ntest \"right\" {\n  expect allow a fs read \"/home/a/x\"\n}\n";
const FAILING: &str = "agent a {\n  home \"/home/a\"\n  fs { allow read \"~/**\" }\n}\ntest \"wrong\" {\n  expect deny a fs read \"/home/a/x\"\n  expect allow a fs read \"/home/a/y\"\n}\n";

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn build_runs_the_tests_and_fails_on_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.agentpol", FAILING.as_bytes());
    let out = dir.path().join("out");
    let o = agentpolc(&["build", &bad, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("AP0850"), "{}", text(&o));
    assert!(
        !out.join("manifest.json").exists(),
        "a failed build writes nothing"
    );

    // The JSON manifest counts the real failure (1 of 2), not a constant.
    let o = agentpolc(&["build", &bad, "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["manifest"]["tests"]["failed"], 1);
    assert_eq!(v["manifest"]["tests"]["expectations"], 2);

    let o = agentpolc(&["build", &bad, "--no-tests", "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("not run (--no-tests)"), "{}", text(&o));
    assert_eq!(manifest(&out)["tests"]["ran"], false);

    let good = write(dir.path(), "good.agentpol", PASSING.as_bytes());
    let o = agentpolc(&["build", &good, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).contains("1 of 1 test expectation(s) passed"),
        "{}",
        text(&o)
    );
    let m = manifest(&out);
    assert_eq!(m["tests"]["ran"], true);
    assert_eq!(m["tests"]["failed"], 0);
}

#[test]
fn the_manifest_says_which_target_enforces_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = agentpolc(&[
        "build",
        OPENCLAW,
        "--target",
        "cedar,nft",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let m = manifest(&out);
    let agent = &m["enforcement"][0];
    assert_eq!(agent["agent"], "assistant");
    let row = |kind: &str| {
        agent["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} row in {agent}"))
    };
    assert_eq!(row("fs")["status"], "none");
    assert!(row("fs")["targets"].as_array().unwrap().is_empty());
    // "none" among the built files, but named at run time.
    assert!(
        row("fs")["runtime"]
            .as_str()
            .unwrap()
            .contains("agentpolc run"),
        "{agent}"
    );
    assert!(
        row("tool")["runtime"]
            .as_str()
            .unwrap()
            .contains("agentpolc gate"),
        "{agent}"
    );
    assert!(
        text(&o).contains("none among the built targets; at run time `agentpolc run`"),
        "{}",
        text(&o)
    );
    let net = row("net");
    let targets: Vec<&str> = net["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["nft"]);
    // The nft loss report has entries for this agent's net rules, so the
    // table must not claim exact enforcement.
    let loss_rules = m["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "nft")
        .unwrap()["loss"]
        .as_array()
        .unwrap()
        .len();
    assert!(loss_rules > 0);
    assert_eq!(net["targets"][0]["status"], "approximated");
    assert_eq!(row("tool")["targets"][0]["target"], "cedar");
    assert!(
        text(&o).contains("enforced   agent assistant"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("fs "), "{}", text(&o));
}

#[test]
fn an_edited_build_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = agentpolc(&[
        "build",
        OPENCLAW,
        "--target",
        "cedar",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let m = manifest(&out);
    let arts = m["artifacts"].as_array().unwrap();
    assert!(arts.iter().any(|a| a["path"] == "ir/policy.json"));
    assert!(arts
        .iter()
        .any(|a| a["path"] == "cedar/policy.cedar"
            || a["path"].as_str().unwrap().starts_with("cedar/")));
    let req = write(
        dir.path(),
        "r.json",
        br#"{"agent": "assistant", "kind": "fs", "action": "read", "path": "/home/claw/.ssh/id_ed25519"}"#,
    );
    let policy = out.to_str().unwrap();
    let o = agentpolc(&["authorize", "--policy", policy, "--request", &req]);
    assert_eq!(code(&o), 0, "{}", text(&o));

    // The edit keeps the IR valid JSON (a trailing newline), so only the hash
    // can catch it.
    let ir = out.join("ir/policy.json");
    let mut bytes = std::fs::read(&ir).unwrap();
    bytes.push(b'\n');
    std::fs::write(&ir, bytes).unwrap();
    let o = agentpolc(&["authorize", "--policy", policy, "--request", &req]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("AP0904"), "{}", text(&o));
    assert!(text(&o).contains("ir/policy.json"), "{}", text(&o));
}

#[test]
fn non_regular_and_oversized_files_are_coded_errors() {
    let o = agentpolc(&["check", "/dev/zero"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("AP0902"), "{}", text(&o));

    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "imp.agentpol",
        b"import \"/dev/zero\" as z\nagent a { home \"/home/a\" }\n",
    );
    let o = agentpolc(&["check", &f]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("AP0902"), "{}", text(&o));

    let big = dir.path().join("big.agentpol");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(9 << 20).unwrap();
    let o = agentpolc(&["check", big.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("AP0901"), "{}", text(&o));

    let policy = write(dir.path(), "p.agentpol", PASSING.as_bytes());
    let o = agentpolc(&["eval", &policy, "--request", "/dev/zero"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("AP0902"), "{}", text(&o));
}

#[test]
fn invalid_utf8_has_a_code_and_an_offset_and_a_bom_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "bad.agentpol", b"agent a {\xff }\n");
    let o = agentpolc(&["check", &f]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("AP0903"), "{}", text(&o));
    assert!(text(&o).contains("byte 9"), "{}", text(&o));

    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(PASSING.as_bytes());
    let f = write(dir.path(), "bom.agentpol", &bom);
    let o = agentpolc(&["check", &f]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // The read end is closed before the child starts, so every write fails
    // with EPIPE: deterministic, unlike `| head`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(["build", OPENCLAW, "--emit", "ir"])
        .current_dir(repo())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(!text(&o).contains("panicked"), "{}", text(&o));

    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(["check", "/nonexistent.agentpol"])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(writer)
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
}

#[test]
fn quickstart_honours_cargo_target_dir() {
    // A stand-in `cargo` records that the build ran and puts a stand-in
    // agentpolc where cargo would: under $CARGO_TARGET_DIR.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let target = dir.path().join("tgt");
    let log = dir.path().join("log");
    let cargo = format!(
        "#!/bin/sh\nmkdir -p \"$CARGO_TARGET_DIR/release\"\nprintf '#!/bin/sh\\necho \"$@\" > {}\\n' > \"$CARGO_TARGET_DIR/release/agentpolc\"\nchmod +x \"$CARGO_TARGET_DIR/release/agentpolc\"\n",
        log.display()
    );
    let cargo_path = bin.join("cargo");
    std::fs::write(&cargo_path, cargo).unwrap();
    std::fs::set_permissions(
        &cargo_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("bash")
        .arg(repo().join("quickstart.sh"))
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let ran = std::fs::read_to_string(&log).expect("the built binary ran");
    assert!(
        ran.contains("build examples/openclaw/openclaw.agentpol"),
        "{ran}"
    );
}

/// The fenced code blocks of a CommonMark document: `(opening line, closed)`.
/// A fence is 3+ backticks or tildes after at most 3 spaces; it closes on a
/// line of the same character, at least as long, with nothing after it.
fn fences(markdown: &str) -> Vec<(usize, bool)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, char, usize)> = None;
    for (n, line) in markdown.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent > 3 {
            continue;
        }
        let rest = &line[indent..];
        let Some(ch) = rest.chars().next().filter(|c| *c == '`' || *c == '~') else {
            continue;
        };
        let len = rest.chars().take_while(|c| *c == ch).count();
        if len < 3 {
            continue;
        }
        match open {
            None => {
                // A backtick fence's info string cannot contain a backtick;
                // "``` The packages" (the old README bug) is an opening.
                if ch == '`' && rest[len..].contains('`') {
                    continue;
                }
                open = Some((n + 1, ch, len));
            }
            Some((start, och, olen)) => {
                if ch == och && len >= olen && rest[len..].trim().is_empty() {
                    out.push((start, true));
                    open = None;
                }
            }
        }
    }
    if let Some((start, _, _)) = open {
        out.push((start, false));
    }
    out
}

#[test]
fn the_readme_closes_every_fence_and_shows_the_quick_start() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks = fences(&readme);
    assert!(!blocks.is_empty());
    let unclosed: Vec<usize> = blocks.iter().filter(|b| !b.1).map(|b| b.0).collect();
    assert!(
        unclosed.is_empty(),
        "README fences opened at lines {unclosed:?} never close"
    );
    for cmd in ["./quickstart.sh", "cargo test --workspace"] {
        assert!(readme.contains(cmd), "README lacks {cmd}");
    }
    // The checker itself: the old README's pattern is an unclosed fence.
    let old = "```sh\necho\n``` The packages\nare listed\n";
    assert_eq!(fences(old), vec![(1, false)]);
}

#[test]
fn fmt_check_takes_directories_and_prints_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("nested");
    std::fs::create_dir(&sub).unwrap();
    // Already in `fmt`'s layout: no diff for it.
    write(
        dir.path(),
        "ok.agentpol",
        b"agent a {\n  home \"/home/a\"\n  fs {\n    allow read \"~/**\"\n  }\n}\n",
    );
    let messy = write(
        &sub,
        "messy.agentpol",
        b"agent   a {\n  home    \"/home/a\"\n}\n",
    );
    write(&sub, "notes.txt", b"not a policy {");
    let o = agentpolc(&["fmt", "--check", dir.path().to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains(&format!("--- {messy}")), "{out}");
    assert!(out.contains("-agent   a {"), "{out}");
    assert!(out.contains("+agent a {"), "{out}");
    assert!(!text(&o).contains("notes.txt"), "{}", text(&o));
    assert!(!out.contains("ok.agentpol"), "{out}");
}

#[test]
fn json_carries_a_format_version_and_eval_refuses_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.agentpol", PASSING.as_bytes());
    let o = agentpolc(&["check", &policy, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    let req = write(
        dir.path(),
        "r.json",
        br#"{"agent": "a", "kind": "fs", "action": "read", "path": "/home/a/x"}"#,
    );
    let o = agentpolc(&["eval", &policy, "--request", &req, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["effect"], "allow");
    let o = agentpolc(&["eval", &policy, "--request", &req, "--format", "sarif"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

#[test]
fn allow_and_deny_flags_silence_or_raise_a_code() {
    let warnings_of = |o: &Output, code: &str| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"] == code)
            .count()
    };
    // A wildcard domain allow is narrowed at the firewall: warning AP0705.
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "w.agentpol",
        b"agent a {\n  home \"/home/a\"\n  net { allow connect tcp \"*.example.com\" port 443 }\n}\n",
    );
    let base = [
        "build",
        policy.as_str(),
        "--target",
        "nft",
        "--format",
        "json",
    ];
    let o = agentpolc(&base);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(warnings_of(&o, "AP0705") > 0, "{}", text(&o));

    let o = agentpolc(&[&base[..], &["--allow", "AP0705"]].concat());
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(warnings_of(&o, "AP0705"), 0);

    let o = agentpolc(&[&base[..], &["--deny", "ap0705"]].concat());
    assert_eq!(code(&o), 1, "{}", text(&o));

    let o = agentpolc(&["check", OPENCLAW, "--allow", "AP9999"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

/// `#[allow(CODE)]` in the source silences a warning on the next rule only;
/// a stale one is AP0411 where the run could have produced its code, and
/// `--deny-warnings` fails `verify` and `build` (which then writes nothing).
#[test]
fn source_allow_comments_and_deny_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let src = "agent a {\n  home \"/home/a\"\n  fs {\n    allow read \"/srv/**\"\n    #[allow(AP0502)]\n    allow read \"/srv/www/*\"\n    allow read \"/srv/db/*\"\n  }\n}\n";
    let policy = write(dir.path(), "p.agentpol", src.as_bytes());
    let codes_of = |o: &Output| -> Vec<(String, u64)> {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let line = d["location"]["line"].as_u64().unwrap_or(0);
                (d["code"].as_str().unwrap_or("").to_owned(), line)
            })
            .collect()
    };
    // The redundant rule on line 7 is reported; the one on line 6 is allowed.
    let o = agentpolc(&["verify", policy.as_str(), "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let found = codes_of(&o);
    let redundant: Vec<u64> = found
        .iter()
        .filter(|(c, _)| c == "AP0502")
        .map(|(_, l)| *l)
        .collect();
    assert_eq!(redundant, [7], "{found:?}");
    assert!(!found.iter().any(|(c, _)| c == "AP0411"), "{found:?}");
    let o = agentpolc(&["verify", policy.as_str(), "--deny-warnings"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = dir.path().join("out");
    let o = agentpolc(&[
        "build",
        policy.as_str(),
        "-o",
        out.to_str().unwrap(),
        "--deny-warnings",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(!out.join("manifest.json").exists());
    // The summary says why nothing was written: there are no errors, so
    // "(errors)" would contradict its own "0 error(s)" line.
    assert!(
        text(&o).contains("0 error(s), 1 warning(s)")
            && text(&o).contains("wrote      nothing (warnings are errors under --deny-warnings)"),
        "{}",
        text(&o)
    );
    // `check` does not run the verifier: the pragma is not judged there.
    let o = agentpolc(&["check", policy.as_str(), "--deny-warnings"]);
    assert_eq!(code(&o), 0, "{}", text(&o));

    // Once the wider rule is gone, the pragma is stale: AP0411 in verify.
    let stale = src.replace("    allow read \"/srv/**\"\n", "");
    let policy = write(dir.path(), "q.agentpol", stale.as_bytes());
    let o = agentpolc(&["verify", policy.as_str(), "--format", "json"]);
    let found = codes_of(&o);
    assert!(found.iter().any(|(c, _)| c == "AP0411"), "{found:?}");
}

/// A finding about a rule of `std` points at the user's `include` (the only
/// place the user can act on), and `#[allow]` there silences it.
#[test]
fn std_findings_point_at_the_include() {
    let dir = tempfile::tempdir().unwrap();
    let src = "import std::openclaw\nagent a {\n  home \"/home/a\"\n  include openclaw::baseline\n  fs { allow read \"/home/a/**\" }\n}\n";
    let policy = write(dir.path(), "p.agentpol", src.as_bytes());
    let o = agentpolc(&["verify", policy.as_str(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diags = v["diagnostics"].as_array().unwrap();
    let redundant: Vec<_> = diags.iter().filter(|d| d["code"] == "AP0502").collect();
    assert!(!redundant.is_empty(), "{}", text(&o));
    for d in &redundant {
        assert_eq!(d["location"]["file"], policy.as_str(), "{d}");
        assert_eq!(d["location"]["line"], 4, "{d}");
    }
    assert!(
        diags.iter().all(|d| !d["location"]["file"]
            .as_str()
            .unwrap_or("")
            .starts_with("std/")),
        "{}",
        text(&o)
    );
    let allowed = src.replace("  include", "  #[allow(AP0502, AP0506)]\n  include");
    let policy = write(dir.path(), "q.agentpol", allowed.as_bytes());
    let o = agentpolc(&["verify", policy.as_str(), "--deny-warnings"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

/// `check`, `test` and `verify` take several files and directories: the
/// worst exit code wins, and JSON / JUnit stay one document on stdout.
#[test]
fn several_files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("policies");
    std::fs::create_dir_all(sub.join("team")).unwrap();
    let good = "agent a {\n  home \"/home/a\"\n  fs { allow read \"~/**\" }\n}\ntest \"t\" {\n  expect allow a fs read \"/home/a/x\"\n}\n";
    write(&sub, "a.agentpol", good.as_bytes());
    write(
        &sub.join("team"),
        "b.agentpol",
        good.replace("allow a fs", "deny a fs").as_bytes(),
    );
    let broken = write(
        dir.path(),
        "broken.agentpol",
        b"agent a {\n  fs { allow reed \"/x\" }\n}\n",
    );
    let subdir = sub.to_string_lossy().into_owned();

    let o = agentpolc(&["check", &subdir]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = agentpolc(&["check", &subdir, &broken, "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<i64> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["exit_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [0, 0, 1], "{v}");
    assert!(v["files"][2]["file"]
        .as_str()
        .unwrap()
        .ends_with("broken.agentpol"));

    // One test fails in team/b: exit 1; the merged JUnit counts both files.
    let o = agentpolc(&["test", &subdir, "--format", "junit"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let xml = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        xml.contains("<testsuites name=\"agentpol\" tests=\"2\" failures=\"1\">"),
        "{xml}"
    );
    assert_eq!(xml.matches("<testsuites").count(), 1, "{xml}");

    let o = agentpolc(&["verify", &subdir, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), 2, "{v}");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_eq!(code(&agentpolc(&["check", empty.to_str().unwrap()])), 2);
}

/// `test --filter` runs only matching blocks; `--format junit` is well-formed
/// XML (checked with Python's parser) that escapes the author's names.
#[test]
fn test_filter_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let src = "agent a {\n  home \"/home/a\"\n  fs { allow read \"~/**\" }\n}\n\
        test \"reads <ok> & \\\"quoted\\\"\" {\n  expect allow a fs read \"/home/a/x\"\n}\n\
        test \"wrong\" {\n  expect deny a fs read \"/home/a/x\"\n  expect allow a fs read \"/home/a/y\"\n}\n";
    let policy = write(dir.path(), "t.agentpol", src.as_bytes());

    let o = agentpolc(&["test", &policy, "--filter", "reads"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).contains("1 of 1 expectation(s) passed in 1 test(s)"),
        "{}",
        text(&o)
    );
    let o = agentpolc(&["test", &policy, "--filter", "nothing-matches"]);
    assert_eq!(code(&o), 2, "{}", text(&o));

    let o = agentpolc(&["test", &policy, "--format", "junit"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let xml = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        xml.contains(r#"<testsuites name="agentpol" tests="3" failures="1">"#),
        "{xml}"
    );
    assert!(
        xml.contains("reads &lt;ok&gt; &amp; &quot;quoted&quot;"),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="expected deny, got allow"/>"#),
        "{xml}"
    );
    let xml_file = dir.path().join("report.xml");
    std::fs::write(&xml_file, &xml).unwrap();
    let parsed = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); print(len(d.getElementsByTagName('testcase')))",
        ])
        .arg(&xml_file)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&parsed.stdout).trim(), "3", "{xml}");
}
