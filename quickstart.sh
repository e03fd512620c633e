#!/usr/bin/env bash
# Builds agentpolc and compiles the bundled OpenClaw example.
# Needs Rust >= 1.85 from rustup (Debian 12's own rustc 1.63 is too old).
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs); Debian's rustc is too old" >&2
  exit 1
fi
cargo build --release --locked --bin agentpolc
# cargo puts the binary under CARGO_TARGET_DIR when it is set.
# Every target: the example's denies of host names (std::net's metadata set)
# become load-time sets (nft sets, ipset sets for iptables) that
# `agentpolc apply` fills when it loads a firewall.
"${CARGO_TARGET_DIR:-target}/release/agentpolc" build examples/openclaw/openclaw.agentpol --target all -o out/openclaw "$@"
