#!/usr/bin/env bash
# test_probe_exclude.sh - `relayprobe probe --exclude FILE` (issue 13): a
# loopback listener counts the connections it accepts; a target the list
# covers (by address, and a name whose resolved address a CIDR entry covers)
# is reported "excluded" with its entry, FILE:LINE and reason, and the
# listener counts zero; without the list the same target is dialled (the
# counter works). Traffic: 127.0.0.1 only.
#
#   relayprobe probe --exclude ex.txt --x--> 127.0.0.1:$P  counting listener
# Usage: test_probe_exclude.sh /path/to/relayprobe
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_probe_init "$@"
rp_tmpdir rpexcl

P=$(lab_free_ports 1)
python3 - "$P" "$T/count" <<'PY' &
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
open(path, "w").write("0")
n = 0
while True:
    c, _ = s.accept()
    n += 1
    open(path, "w").write(str(n))
    c.close()
PY
rp_track $!
for _ in $(seq 1 100); do [ -s "$T/count" ] && break; sleep 0.1; done

printf '# do-not-test\n127.0.0.1  lab listener\n' >"$T/addr.txt"
printf '127.0.0.0/8 loopback block\n' >"$T/cidr.txt"

check() { # NAME EXPECTED-LINE-PART ARGS...
	local name=$1 want=$2
	shift 2
	"$RP" probe -q --timeout 2 --connect-timeout 2 "$@" >"$T/$name.out" 2>&1 || true
	if grep -qF -- "$want" "$T/$name.out" && [ "$(cat "$T/count")" = 0 ]; then
		ok "$name: excluded, zero connections"
	else
		not_ok "$name: excluded, zero connections (count $(cat "$T/count"))"
		sed 's/^/# /' "$T/$name.out"
	fi
}

check address "excluded by 127.0.0.1 ($T/addr.txt:2): lab listener" \
	--exclude "$T/addr.txt" "127.0.0.1:$P"
check name "excluded by 127.0.0.0/8 ($T/cidr.txt:1): loopback block" \
	--exclude "$T/cidr.txt" "localhost:$P"
"$RP" probe -q --json --exclude "$T/addr.txt" "127.0.0.1:$P" >"$T/json.out" 2>&1 || true
if python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
assert o["verdict"] == "excluded", o
assert "lab listener" in o["reason"] and "addr.txt:2" in o["reason"], o
' "$T/json.out" && [ "$(cat "$T/count")" = 0 ]; then
	ok "--json: verdict excluded with the reason and FILE:LINE"
else
	not_ok "--json: verdict excluded with the reason and FILE:LINE"
	sed 's/^/# /' "$T/json.out"
fi

# The counter counts: without the list the target is dialled.
"$RP" probe -q --timeout 2 --connect-timeout 2 "127.0.0.1:$P" >/dev/null 2>&1 || true
if [ "$(cat "$T/count")" -ge 1 ]; then
	ok "without --exclude the listener is dialled"
else
	not_ok "without --exclude the listener is dialled"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
