#!/usr/bin/env bash
# The Debian 12 packages agentpol needs to build and test, in one place.
#   scripts/deps.sh            install them when run as root, else print the apt line and fail
#   scripts/deps.sh --print    just print the apt line
set -euo pipefail

PACKAGES=(
  build-essential pkg-config   # the z3 crate's build script
  libz3-dev                    # the verifier (Debian's libz3 4.8.12; see ARCHITECTURE.md)
  nftables iptables ipset iproute2  # firewall backend tests (nft -c, netns) and apply --target iptables
  util-linux                   # nsenter and setpriv for the firewall namespace tests
  clang libbpf-dev linux-libc-dev  # the BPF network enforcer of `run` (runtime/agentpol-bpf/build.rs)
  python3                      # /usr/bin/python3 as the test client in namespaces
  neovim                       # the editor client test (tests/editor_nvim.rs; Debian 0.7.2)
  python3-venv                 # the MCP Python SDK for the gate's tests (tests/mcp/requirements.txt)
  nodejs npm                   # the MCP filesystem server (tests/mcp) and the VS Code extension (editor/vscode)
)

# Node from another source (e.g. NodeSource's nodejs, which bundles npm and
# conflicts with Debian's npm package) counts as installed when its commands are there.
provided_by_command() {
  case "$1" in
    nodejs) command -v node >/dev/null ;;
    npm) command -v npm >/dev/null ;;
    *) return 1 ;;
  esac
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
  provided_by_command "$p" || missing+=("$p")
done

if [ "${1:-}" = "--print" ]; then
  echo "apt-get install -y --no-install-recommends ${PACKAGES[*]}"
  exit 0
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "agentpol needs these Debian packages: ${missing[*]}" >&2
  echo "install them as root with:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
