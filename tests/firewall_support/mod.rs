//! Shared helpers for the privileged firewall tests: the opt-in gate, guards
//! that remove network namespaces, cgroups, processes and temp files on drop
//! (also when a test panics), and running programs inside a namespace.
//!
//! Traffic stays inside namespaces these helpers create, on documentation
//! ranges (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32) and loopback.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The env var that turns the kernel tests on (CI sets it).
pub const GATE: &str = "AGENTPOL_PRIVILEGED_TESTS";

/// True when the privileged tests must run. When not asked for, prints why the
/// test is skipped. When asked for, missing tools make the test fail (not skip).
pub fn privileged(test: &str) -> bool {
    if std::env::var(GATE).as_deref() == Ok("1") {
        for tool in [
            "nft",
            "ip",
            "nsenter",
            "iptables-restore",
            "ip6tables-restore",
            "iptables-save",
            "ip6tables-save",
            "ipset",
        ] {
            let found = std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
                .unwrap_or(false);
            assert!(found, "{GATE}=1 but `{tool}` is not on PATH (install nftables iptables ipset iproute2 util-linux)");
        }
        assert!(
            Path::new("/usr/bin/python3").exists(),
            "{GATE}=1 but /usr/bin/python3 is missing (install python3)"
        );
        true
    } else {
        // Written past libtest's output capture, so the skip is visible in a
        // plain `cargo test` run (never a silent pass).
        let _ = writeln!(
            std::io::stderr(),
            "skipping {test}: kernel test; set {GATE}=1 to run it (needs root, nftables, iptables, ipset, iproute2, python3)"
        );
        false
    }
}

/// Runs a command; panics with its output when it fails.
pub fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A unique name part for this test process.
pub fn tag(t: &str) -> String {
    format!("apfw{}{t}", std::process::id())
}

/// A network namespace, deleted on drop.
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
}

impl Netns {
    /// Creates `name` with loopback up.
    pub fn new(name: &str) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        run(Command::new("ip").args(["netns", "add", name]));
        let ns = Netns {
            name: name.to_string(),
        };
        run(&mut ns.cmd("ip", &["link", "set", "lo", "up"]));
        ns
    }

    /// The path nsenter takes.
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// `program args` inside the namespace. `nsenter --net` is used, not `ip
    /// netns exec`, which remounts /sys and breaks nft's cgroupv2 paths.
    pub fn cmd(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.path()))
            .arg(program)
            .args(args);
        c
    }

    /// Same, with stdin from a string; returns the output without asserting.
    pub fn cmd_stdin(&self, program: &str, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd(program, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        if let Some(mut i) = child.stdin.take() {
            let _ = i.write_all(stdin.as_bytes());
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("{program}: {e}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A cgroup directory (and its parent, if created here), removed on drop after
/// killing whatever is still inside.
pub struct Cgroup {
    /// Absolute directory.
    pub dir: PathBuf,
    /// Path relative to the cgroup2 root.
    pub rel: String,
    created: Vec<PathBuf>,
}

impl Cgroup {
    /// Creates `<mount>/<rel>` and any missing parents.
    pub fn new(mount_point: &str, rel: &str) -> Cgroup {
        let mut created = Vec::new();
        let mut cur = PathBuf::from(mount_point);
        for comp in rel.split('/') {
            cur.push(comp);
            if !cur.exists() {
                std::fs::create_dir(&cur)
                    .unwrap_or_else(|e| panic!("mkdir {}: {e}", cur.display()));
                created.push(cur.clone());
            }
        }
        Cgroup {
            dir: cur,
            rel: rel.to_string(),
            created,
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for dir in self.created.iter().rev() {
            // cgroup.kill (Linux 5.14) ends stragglers; then rmdir may need a moment.
            let _ = std::fs::write(dir.join("cgroup.kill"), "1");
            let deadline = Instant::now() + Duration::from_secs(3);
            while std::fs::remove_dir(dir).is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Cgroups removed in reverse order of creation (children before parents),
/// also when a test panics.
#[derive(Default)]
pub struct Cgroups(pub Vec<Cgroup>);

impl Cgroups {
    /// Creates one more.
    pub fn add(&mut self, mount_point: &str, rel: &str) {
        self.0.push(Cgroup::new(mount_point, rel));
    }

    /// Takes ownership of a cgroup someone else (the code under test) created.
    pub fn adopt(&mut self, mount_point: &str, rel: &str) {
        let dir = PathBuf::from(mount_point).join(rel);
        self.0.push(Cgroup {
            dir: dir.clone(),
            rel: rel.to_string(),
            created: vec![dir],
        });
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        while let Some(c) = self.0.pop() {
            drop(c);
        }
    }
}

/// The cgroup2 mount as the firewall crate sees it.
pub fn cgroup_mount() -> agentpol_runtime::host::CgroupMount {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    agentpol_runtime::host::cgroup_root_from_mountinfo(&text)
        .unwrap_or_else(|d| panic!("{}", d.message))
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory under the system temp dir.
    pub fn new(t: &str) -> TempDir {
        let p = std::env::temp_dir().join(tag(t));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    /// Writes a file and returns its path as a string.
    pub fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write temp file");
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Loads a script into a namespace with `nft -f`; returns nft's output.
pub fn nft_load(ns: &Netns, file: &str) -> Output {
    ns.cmd("nft", &["-f", file]).output().expect("run nft")
}

/// The JSON listing of table inet agentpol in a namespace.
pub fn nft_list_json(ns: &Netns) -> String {
    String::from_utf8(run(&mut ns.cmd("nft", &["-j", "list", "table", "inet", "agentpol"])).stdout)
        .expect("utf-8")
}

/// The text listing of table inet agentpol in a namespace.
pub fn nft_list_text(ns: &Netns) -> String {
    String::from_utf8(run(&mut ns.cmd("nft", &["list", "table", "inet", "agentpol"])).stdout)
        .expect("utf-8")
}
