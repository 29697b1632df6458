#!/usr/bin/env bash
# demo.sh - the README's first command, as root on Debian 12: installs the
# dependencies, builds relayprobe (build/) and runs the lab demo
# (deploy/lab/demo.sh): network namespaces with RFC 5737 addresses only, six
# real Postfix instances, a controller and three agents; an audit of every
# server from every vantage, the matrix printed, everything torn down.
# --probe: the older probe-only demo instead: a private Postfix on loopback
# with a closed and an open listener, `relayprobe probe` against both.
#   bash scripts/demo.sh [--no-deps] [--probe]   env: RP_BUILD_DIR (default build)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${RP_BUILD_DIR:-build}
deps=1
probe=0
for arg in "$@"; do
	case "$arg" in
	--no-deps) deps=0 ;;
	--probe) probe=1 ;;
	*)
		echo "demo.sh: unknown option '$arg' (--no-deps, --probe)" >&2
		exit 2
		;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: must run as root (network namespaces, private Postfix): run it in a root shell" >&2
	exit 2
fi
if [ "$deps" -eq 1 ]; then
	bash scripts/install-deps.sh
fi

echo "=== building relayprobe ($BUILD/)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ "$probe" -eq 0 ]; then
	cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" \
		--target relayprobe relayprobe-controller relayprobe-agent >/dev/null
	exec bash "$ROOT/deploy/lab/demo.sh" "$BUILD"
fi
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target relayprobe >/dev/null
RP="$ROOT/$BUILD/relayprobe"

# shellcheck source=../tests/integration/postfix_lab.sh
. "$ROOT/tests/integration/postfix_lab.sh"
echo "=== starting a private Postfix on loopback (config under /tmp, not /etc/postfix)"
lab_start
closed="127.0.0.1:$LAB_PORT_CLOSED"
open="127.0.0.1:$LAB_PORT_OPEN"
echo "    $closed  closed: relays only for mynetworks=127.0.0.250/32 (not us)"
echo "    $open  open:   mynetworks=127.0.0.0/8 trusts the client"

echo
echo "=== relayprobe probe --pause 0 $closed $open"
set +e
"$RP" probe --pause 0 --timeout 20 "$closed" "$open"
status=$?
set -e
echo "(exit status $status: 0 = no open relay, 1 = open relay found, 3 = inconclusive)"

echo
echo "=== verdicts"
json=$("$RP" probe --json --pause 0 --timeout 20 "$closed" "$open" || true)
CLOSED="$closed" OPEN="$open" python3 -c '
import json, os, sys
want = {os.environ["CLOSED"]: "closed", os.environ["OPEN"]: "open"}
seen = {}
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    d = json.loads(line)
    key = "%s:%s" % (d.get("address"), d.get("port"))
    acc = [t["id"] for t in d.get("tests", []) if t.get("outcome") == "accepted"]
    seen[key] = d.get("verdict")
    role = "closed listener" if want.get(key) == "closed" else "open listener  "
    print("%s %-22s verdict=%-8s accepted=%d of %d tests%s" % (
        role, key, d.get("verdict"), len(acc), len(d.get("tests", [])),
        (" (" + ", ".join(acc[:4]) + (", ..." if len(acc) > 4 else "") + ")") if acc else ""))
bad = [k for k, v in want.items() if seen.get(k) != v]
if bad:
    print("demo: unexpected verdicts for " + ", ".join(bad))
    sys.exit(1)
print("demo: as expected, the closed listener is closed and the open one is an open relay")
' <<<"$json"
echo
echo "=== the demo left: $ROOT/$BUILD/relayprobe (the private Postfix stops as the demo exits)"
echo "=== next: test a server you run, from this machine (use a recipient domain you control):"
echo "    $RP probe --to postmaster@your-domain.example mx.your-domain.example"
