#!/usr/bin/env bash
# Cost of connect() under `agentpolc run`'s BPF network enforcer: N extra
# rules (0, 100, 10,000 /24 allows) plus the one rule the loop needs, vs the
# same loop unconfined. Each iteration is socket() + connect() to
# 127.0.0.1:9 (refused: no listener) + close(), timed in Python, so compare
# the differences, not the absolute numbers. A benchmark, not a test; root.
#   scripts/bench-run-net.sh [path/to/agentpolc]
set -euo pipefail
BIN=${1:-target/debug/agentpolc}
ITER=${ITER:-20000}
TMP=$(mktemp -d /tmp/agentpol-bench-net.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export AGENTPOL_STATE_ROOT="$TMP/state"
LOOP="import socket,time
n=$ITER
t=time.perf_counter()
for _ in range(n):
    s=socket.socket()
    try: s.connect(('127.0.0.1',9))
    except OSError: pass
    s.close()
print('%.2f' % ((time.perf_counter()-t)/n*1e6))"
policy() { # $1 = number of extra rules
  {
    echo 'version 1'
    echo 'agent b {'
    echo '  fs { allow read { "/usr/**", "/etc/**", "/proc/**" } }'
    echo '  exec { allow "/usr/**" }'
    echo '  net {'
    echo '    allow connect tcp 127.0.0.1 port 9'
    for ((i = 0; i < $1; i++)); do
      echo "    allow connect tcp 10.$((i / 256)).$((i % 256)).0/24 port 443"
    done
    echo '  }'
    echo '}'
  } > "$TMP/p$1.agentpol"
}
echo "unconfined: $(/usr/bin/python3 -c "$LOOP") µs per connect"
for n in 0 100 10000; do
  policy "$n"
  us=$("$BIN" run --policy "$TMP/p$n.agentpol" --agent b -- /usr/bin/python3 -c "$LOOP" 2>/dev/null)
  echo "run, $n extra rules: $us µs per connect"
done
