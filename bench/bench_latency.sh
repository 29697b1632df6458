#!/usr/bin/env bash
# bench_latency.sh - relayprobe over real round trips (issue 12): a vantage
# namespace and a servers namespace joined only by bench/delayline.c (a TUN
# device in each; every packet held DELAY ms +- JITTER ms each way, a flow's
# order kept; these kernels have no sch_netem). smtp-sink answers every
# address of 203.0.113.0/24 and 192.0.2.0/24 in the servers namespace (local
# routes on lo). From the vantage, side by side in one run: the minimal
# client (bench/minimal_client.c), `relayprobe probe --json --tests all`,
# and nmap's smtp-open-relay, on the same N targets. Reports each tool's
# wall time against the round-trip floor: the slowest dialog's round trips
# (relayprobe's "round_trips", + 1 for the TCP connect) x RTT x waves
# (targets over the concurrency), and the round trips per dialog.
#
#   vantage ns                          servers ns
#   198.51.100.1 rplv0 ==[delayline]== rpls0 198.51.100.254
#   relayprobe / minimal / nmap         smtp-sink 0.0.0.0:25 on
#                                       203.0.113.1-254, 192.0.2.1-254
#
#   bash bench/bench_latency.sh [build/relayprobe]
#   env: RP_LAT_N targets (500, at most 508), RP_LAT_DELAY_MS one way (25),
#        RP_LAT_JITTER_MS one way (5), RP_LAT_CONC (1000), RP_BENCH_REPEAT
#        rounds of the two fast tools, medians reported (3), RP_BENCH_NMAP (1;
#        nmap runs once: it takes about a minute)
# Root only. Not a timed test: it fails only when it cannot run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RP=$(realpath "${1:-$HERE/../build/relayprobe}" 2>/dev/null || echo "")
OUT=$HERE/out/latency
N=${RP_LAT_N:-500}
DELAY=${RP_LAT_DELAY_MS:-25}
JITTER=${RP_LAT_JITTER_MS:-5}
CONC=${RP_LAT_CONC:-1000}
USE_NMAP=${RP_BENCH_NMAP:-1}
REPEAT=${RP_BENCH_REPEAT:-3}
TIME=/usr/bin/time
NV=rplatv$$
NS=rplats$$

die() {
	echo "bench_latency.sh: $*" >&2
	exit 1
}
[ -x "$RP" ] || die "relayprobe binary not found at '${1:-build/relayprobe}' (build first)"
[ "$(id -u)" -eq 0 ] || die "run as root (namespaces, TUN devices, smtp-sink -u postfix)"
[ -x "$TIME" ] || die "$TIME missing (apt-get install time)"
[ -c /dev/net/tun ] || die "no /dev/net/tun"
[ "$N" -ge 1 ] && [ "$N" -le 508 ] || die "RP_LAT_N must be 1..508"
SINK=$(command -v smtp-sink || true)
[ -n "$SINK" ] || SINK=/usr/lib/postfix/sbin/smtp-sink
[ -x "$SINK" ] || die "smtp-sink not found (apt-get install postfix)"
mkdir -p "$OUT"

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del "$NV" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$OUT/delayline" "$HERE/delayline.c" ||
	die "building delayline.c"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$OUT/minimal_client" "$HERE/minimal_client.c" ||
	die "building minimal_client.c"

ip netns add "$NV" && ip netns add "$NS" || die "ip netns add"
"$OUT/delayline" "$NV" rplv0 "$NS" rpls0 "$DELAY" "$JITTER" >"$OUT/delayline.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
	ip -n "$NS" link show rpls0 >/dev/null 2>&1 && break
	sleep 0.1
done
ip -n "$NS" link show rpls0 >/dev/null 2>&1 || die "the delay line made no devices ($(cat "$OUT/delayline.out"))"
set -e
ip -n "$NV" link set lo up
ip -n "$NV" addr add 198.51.100.1/24 dev rplv0
ip -n "$NV" link set rplv0 up
ip -n "$NV" route add 203.0.113.0/24 dev rplv0
ip -n "$NV" route add 192.0.2.0/24 dev rplv0
ip -n "$NS" link set lo up
ip -n "$NS" addr add 198.51.100.254/24 dev rpls0
ip -n "$NS" link set rpls0 up
ip -n "$NS" route add local 203.0.113.0/24 dev lo
ip -n "$NS" route add local 192.0.2.0/24 dev lo
set +e
ip netns exec "$NS" sh -c 'echo 16384 >/proc/sys/net/core/somaxconn'
ip netns exec "$NS" "$SINK" -u postfix -m 20000 0.0.0.0:25 16384 >"$OUT/sink.log" 2>&1 &
PIDS+=($!)

python3 - "$N" "$OUT" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
addrs = ["203.0.113.%d" % i for i in range(1, 255)] + ["192.0.2.%d" % i for i in range(1, 255)]
with open(out + "/targets.txt", "w") as f, open(out + "/addrs.txt", "w") as g:
    for a in addrs[:n]:
        f.write(a + ":25\n")
        g.write(a + "\n")
PY
# The sink greets across the delay line.
ok=0
for _ in $(seq 1 50); do
	if ip netns exec "$NV" python3 -c "import socket; s=socket.create_connection(('203.0.113.1',25),2); assert s.recv(100).startswith(b'220')" 2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.2
done
[ "$ok" = 1 ] || die "smtp-sink does not greet across the delay line"

timed() { # timed NAME CMD...: in the vantage namespace; "wall user sys rss rc"
	local name=$1 rc=0
	shift
	ip netns exec "$NV" "$TIME" -f '%e %U %S %M' -o "$OUT/$name.rusage" "$@" \
		>"$OUT/$name.stdout" 2>"$OUT/$name.stderr" || rc=$?
	echo "$(tail -n 1 "$OUT/$name.rusage") $rc" >"$OUT/$name.time"
}

echo "bench: N=$N RTT=$((2 * DELAY)) ms (+-$((2 * JITTER)) ms) concurrency=$CONC relayprobe=$RP"
for r in $(seq "$REPEAT"); do
	timed "minimal.$r" "$OUT/minimal_client" "$OUT/targets.txt"
	timed "relayprobe.$r" "$RP" probe --json --tests all --rate 0 --pause 0 \
		--concurrency "$CONC" --timeout 30 --targets "$OUT/targets.txt"
done
have_nmap=0
if [ "$USE_NMAP" = 1 ] && command -v nmap >/dev/null; then
	have_nmap=1
	timed nmap nmap -Pn -n -p 25 --script smtp-open-relay -iL "$OUT/addrs.txt"
fi

kill "${PIDS[0]}" 2>/dev/null # the delay line's statistics
wait "${PIDS[0]}" 2>/dev/null
python3 - "$OUT" "$N" "$DELAY" "$CONC" "$have_nmap" "$REPEAT" <<'PY' | tee "$OUT/results.txt"
import json, math, os, statistics, sys
out, n, delay, conc, have_nmap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
repeat = int(sys.argv[6])
rtt = 2 * delay / 1000.0
def rus1(name):
    wall, user, sys_, rss, rc = open(os.path.join(out, name + ".time")).read().split()
    return float(wall), float(user) + float(sys_), int(rc)
def rus(tool):  # medians over the rounds
    if tool == "nmap":
        return rus1("nmap")
    rs = [rus1("%s.%d" % (tool, r)) for r in range(1, repeat + 1)]
    return statistics.median(x[0] for x in rs), statistics.median(x[1] for x in rs), max(x[2] for x in rs)
ds = [json.loads(l) for l in open(os.path.join(out, "relayprobe.1.stdout")) if l.strip()]
opened = sum(1 for d in ds if d.get("verdict") == "open")
rts = [d.get("round_trips", 0) for d in ds]
waves = math.ceil(n / conc)
slowest = max(rts) + 1 if rts else 0
floor = slowest * rtt * waves
print()
print("N=%d targets, RTT %.0f ms, waves %d (concurrency %d), medians of %d rounds (nmap: 1)" % (n, rtt * 1000, waves, conc, repeat))
print("round trips per dialog (relayprobe, connect not counted): min %d, median %s, max %d" %
      (min(rts), statistics.median(rts), max(rts)) if rts else "no relayprobe result")
print("round-trip floor: (%d + 1 connect) x %.0f ms x %d = %.2f s" % (slowest - 1, rtt * 1000, waves, floor))
print("%-12s %8s %10s %8s   %s" % ("tool", "wall s", "x floor", "CPU s", "result"))
w, c, rc = rus("minimal")
kv = dict(x.split("=") for x in open(os.path.join(out, "minimal.1.stdout")).read().split() if "=" in x)
print("%-12s %8.2f %10.2f %8.2f   ok=%s failed=%s" % ("minimal", w, w / floor if floor else 0, c, kv.get("ok"), kv.get("failed")))
w, c, rc = rus("relayprobe")
print("%-12s %8.2f %10.2f %8.2f   %d results, %d open (smtp-sink accepts all)" % ("relayprobe", w, w / floor if floor else 0, c, len(ds), opened))
if have_nmap:
    w, c, rc = rus("nmap")
    txt = open(os.path.join(out, "nmap.stdout")).read()
    print("%-12s %8.2f %10.2f %8.2f   %d hosts 'Server is an open relay'" % ("nmap", w, w / floor if floor else 0, c, txt.count("Server is an open relay")))
print("target (issue 12): relayprobe wall within 1.3x of the floor")
PY
echo "$(tail -n 1 "$OUT/delayline.out")"
