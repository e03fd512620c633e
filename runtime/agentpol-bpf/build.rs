//! Compiles `bpf/net.bpf.c` into a BPF object with clang. Without clang (or
//! without the kernel/libbpf headers) the crate still builds, without the
//! object: `agentpol_bpf::OBJECT` is then `None`, and `run` reports the network
//! enforcer as unavailable and fails closed instead of breaking the build of
//! the whole workspace.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(agentpol_bpf_object)");
    println!("cargo:rerun-if-changed=bpf/net.bpf.c");
    println!("cargo:rerun-if-env-changed=AGENTPOL_BPF_CLANG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let obj = out.join("net.bpf.o");
    let clang = std::env::var("AGENTPOL_BPF_CLANG").unwrap_or_else(|_| "clang".into());
    // <linux/bpf.h> includes <asm/types.h>, which Debian keeps under the
    // multiarch directory of the host; `-target bpf` does not search it.
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let multiarch = format!("/usr/include/{arch}-linux-gnu");
    let result = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
        .arg(format!("-I{multiarch}"))
        .arg("-c")
        .arg("bpf/net.bpf.c")
        .arg("-o")
        .arg(&obj)
        .output();
    match result {
        Ok(o) if o.status.success() => {
            println!("cargo:rustc-cfg=agentpol_bpf_object");
        }
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let first = err.lines().next().unwrap_or("(no output)");
            println!(
                "cargo:warning=agentpol-bpf: clang could not compile bpf/net.bpf.c ({first}); \
                 building without the network enforcer (apt-get install clang libbpf-dev)"
            );
        }
        Err(e) => {
            println!(
                "cargo:warning=agentpol-bpf: `{clang}` not found ({e}); building without the \
                 network enforcer (apt-get install clang libbpf-dev)"
            );
        }
    }
}
