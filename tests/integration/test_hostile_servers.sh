#!/usr/bin/env bash
# test_hostile_servers.sh - `relayprobe probe` against hostile SMTP servers
# in one run: one whose STARTTLS offers a 10,000-bit DH group, one
# tarpit answering every command 0.9 s after it (the command timeout is 1 s),
# and an honest fast one, each on its own loopback address (the engine runs
# one session at a time per address). The DH handshake is refused with its reason and
# costs the process no CPU to speak of, the tarpit's dialog ends at its 30 s
# deadline as error, the honest dialog is not held up. Traffic: 127.0.0.1 only.
# Usage: test_hostile_servers.sh /path/to/relayprobe
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_probe_init "$@"
rp_tmpdir rphostile
TMP=$T

wait_port() {
	for _ in $(seq 1 200); do
		python3 -c "import socket; socket.create_connection(('$1', $2), 0.2)" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "server on $1:$2 did not start" >&2
	exit 1
}

read -r DH TP HON <<<"$(lab_free_ports 3)"
python3 "$HERE/hostile_smtp.py" "127.0.0.2:$DH" dh 10000 2>"$TMP/dh.err" &
rp_track $!
python3 "$HERE/hostile_smtp.py" "127.0.0.3:$TP" tarpit 0.9 2>"$TMP/tp.err" &
rp_track $!
python3 "$HERE/slow_smtp.py" "$HON" 0 2>"$TMP/hon.err" &
rp_track $!
wait_port 127.0.0.2 "$DH"
wait_port 127.0.0.3 "$TP"
wait_port 127.0.0.1 "$HON"

# Runs the probe; its own CPU (user + system, from wait4) and wall seconds.
python3 - "$RP" "$DH" "$TP" "$HON" "$TMP" <<'EOF'
import os, subprocess, sys, time
rp, dh, tp, hon, tmp = sys.argv[1:]
t0 = time.monotonic()
with open(tmp + "/out", "w") as out, open(tmp + "/err", "w") as err:
    p = subprocess.Popen([rp, "probe", "--json", "--timeout", "1", "--pause", "0",
                          "127.0.0.2:" + dh, "127.0.0.3:" + tp, "127.0.0.1:" + hon],
                         stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
with open(tmp + "/cost", "w") as f:
    f.write("%.2f %.2f\n" % (ru.ru_utime + ru.ru_stime, wall))
EOF
read -r cpu wall <"$TMP/cost"
echo "# probe: ${cpu} s of CPU, ${wall} s wall"

python3 - "$TMP/out" "$DH" "$TP" "$HON" "$cpu" "$wall" <<'EOF'
import json, sys
path, dh, tp, hon, cpu, wall = sys.argv[1:]
res = {}
for line in open(path):
    o = json.loads(line)
    res[str(o["port"])] = o
bad = 0
def check(name, cond):
    global bad
    print(("ok - " if cond else "not ok - ") + name)
    bad += not cond
def text(o):
    return "\n".join(e["text"] for e in o.get("transcript", []))
d, t, h = res.get(dh), res.get(tp), res.get(hon)
check("three results", d is not None and t is not None and h is not None)
if d:
    check("DH over the cap refused with its reason",
          "server DH group of 10000 bits over the 8192-bit cap" in text(d))
    check("DH server then tested in plain text: closed", d["verdict"] == "closed")
    if d["verdict"] != "closed":
        print("# " + text(d).replace("\n", "\n# "))
if t:
    check("tarpit ends as error at its dialog deadline",
          t["verdict"] == "error" and t["reason"] == "dialog deadline of 30 s passed")
    check("tarpit transcript says so", "Dialog deadline of 30 s passed" in text(t))
if h:
    check("honest server closed", h["verdict"] == "closed")
check("the run lasts the tarpit's deadline, not more (%s s)" % wall,
      30 <= float(wall) < 36)
# One 10,000-bit DH handshake alone cost 1.2-1.3 s of CPU before the cap.
check("the hostile handshake costs no CPU to speak of (%s s)" % cpu, float(cpu) < 0.5)
sys.exit(1 if bad else 0)
EOF
