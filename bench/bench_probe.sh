#!/usr/bin/env bash
# bench_probe.sh - relayprobe's throughput benchmark, all on loopback: N
# distinct targets 127.1.x.y answered by one Postfix smtp-sink, probed side
# by side in one session by (1) bench/minimal_client.c (the floor), (2)
# `relayprobe probe --json --tests all`, (3) nmap's smtp-open-relay script;
# then peak RSS at 5,000 concurrent dialogs, and round trips per relay test.
# Results in bench/out/ (gitignored). See bench/README.md. Needs root.
#   bash bench/bench_probe.sh [PATH/TO/relayprobe]    (default build/relayprobe)
#   env: RP_BENCH_N (2000), RP_BENCH_CONC (5000), RP_BENCH_REPEAT (3), RP_BENCH_NMAP (1)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RP=${1:-$ROOT/build/relayprobe}
N=${RP_BENCH_N:-2000}
NC=${RP_BENCH_CONC:-5000}
REPEAT=${RP_BENCH_REPEAT:-3}
USE_NMAP=${RP_BENCH_NMAP:-1}
OUT="$ROOT/bench/out"
TIME=/usr/bin/time

die() {
	echo "bench_probe.sh: $*" >&2
	exit 1
}
[ -x "$RP" ] || die "relayprobe binary not found at '$RP' (build first, or pass its path)"
[ -x "$TIME" ] || die "$TIME missing (apt-get install time)"
SINK=$(command -v smtp-sink || true)
[ -n "$SINK" ] || SINK=/usr/lib/postfix/sbin/smtp-sink
[ -x "$SINK" ] || die "smtp-sink not found (apt-get install postfix)"
[ "$(id -u)" -eq 0 ] || die "run as root (smtp-sink -u postfix, nmap raw sockets)"
if [ "$N" -gt 62500 ] || [ "$NC" -gt 62500 ]; then
	die "at most 62500 targets (127.1.0.1 .. 127.1.249.250)"
fi
mkdir -p "$OUT"

# File descriptors: 5,000 dialogs need 5,000 sockets here and as many in
# smtp-sink. Raise the soft limit as far as the hard limit allows.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((NC + 200)) ] || die "ulimit -n is $(ulimit -n), need $((NC + 200))"

# The listen backlog is capped by net.core.somaxconn: raise it for the run
# (this network namespace only) and restore it on exit.
old_somaxconn=$(cat /proc/sys/net/core/somaxconn)
sink_pids=()
cleanup() {
	local p
	for p in "${sink_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${sink_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$(cat /proc/sys/net/core/somaxconn)" != "$old_somaxconn" ]; then
		echo "$old_somaxconn" >/proc/sys/net/core/somaxconn 2>/dev/null || true
	fi
}
trap cleanup EXIT
if [ "$old_somaxconn" -lt 16384 ]; then
	echo 16384 >/proc/sys/net/core/somaxconn 2>/dev/null || true
fi

. "$HERE/bench_lib.sh"
free_port() { bench_free_port; }

# start_sink PORT [extra smtp-sink options...]: smtp-sink on all addresses
# (127.0.0.0/8 is local on Linux), waits until it greets.
start_sink() {
	local port=$1
	shift
	"$SINK" -u postfix -m 20000 "$@" "0.0.0.0:$port" 16384 &
	sink_pids+=($!)
	bench_wait_greeting 127.0.0.1 "$port" || die "smtp-sink on port $port never greeted"
}

# targets COUNT PORT FILE [addrs-only]: 127.1.x.y, y in 1..250.
targets() {
	python3 - "$@" <<'EOF'
import sys
n, port, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
only = len(sys.argv) > 4
with open(path, "w") as f:
    for i in range(n):
        a = "127.1.%d.%d" % (i // 250, i % 250 + 1)
        f.write(a + "\n" if only else "%s:%s\n" % (a, port))
EOF
}

# timed NAME CMD...: run CMD with GNU time; "wall user sys maxrss_kib rc" in $OUT/NAME.time
timed() {
	local name=$1 rc=0
	shift
	"$TIME" -f '%e %U %S %M' -o "$OUT/$name.rusage" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" || rc=$?
	echo "$(tail -n 1 "$OUT/$name.rusage") $rc" >"$OUT/$name.time"
}

echo "bench: relayprobe=$RP N=$N concurrent=$NC repeat=$REPEAT smtp-sink=$SINK ulimit-n=$(ulimit -n)"
echo "bench: building bench/minimal_client.c"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$OUT/minimal_client" "$HERE/minimal_client.c"

# nmap's smtp-open-relay only runs on ports 25, 465 and 587 (or a port whose
# service nmap identified as SMTP): use 25 or 587 when free.
port_free() {
	python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", int(sys.argv[1])))' "$1" 2>/dev/null
}
PORT=""
for p in 25 587; do
	if port_free "$p"; then
		PORT=$p
		break
	fi
done
if [ -z "$PORT" ]; then
	PORT=$(free_port)
	if [ "$USE_NMAP" = 1 ]; then
		echo "bench: ports 25 and 587 are busy; nmap's script would not run on $PORT, skipping nmap"
		USE_NMAP=0
	fi
fi
start_sink "$PORT"
targets "$N" "$PORT" "$OUT/targets.txt"
targets "$N" "$PORT" "$OUT/targets-addrs.txt" addrs-only

RP_ARGS=(probe --json --tests all --rate 0 --concurrency 5000 --pause 0 --timeout 30)
have_nmap=0
if [ "$USE_NMAP" = 1 ] && command -v nmap >/dev/null; then
	have_nmap=1
fi

for r in $(seq "$REPEAT"); do
	echo "bench: round $r/$REPEAT: minimal client, relayprobe$([ $have_nmap = 1 ] && echo ", nmap")"
	timed "minimal.$r" "$OUT/minimal_client" "$OUT/targets.txt"
	timed "relayprobe.$r" "$RP" "${RP_ARGS[@]}" --targets "$OUT/targets.txt"
	# the same in text mode (-q: only the result lines): what --json costs
	timed "relayprobe-text.$r" "$RP" "${RP_ARGS[@]/--json/-q}" --targets "$OUT/targets.txt"
	if [ "$have_nmap" = 1 ]; then
		timed "nmap.$r" nmap -Pn -n -p "$PORT" --script smtp-open-relay -iL "$OUT/targets-addrs.txt"
	fi
done

# Memory: NC dialogs at once. A second smtp-sink delays each greeting by 2 s,
# so every dialog is connected and waiting at the same time.
PORT2=$(free_port)
start_sink "$PORT2" -W connect:2
targets "$NC" "$PORT2" "$OUT/targets-conc.txt"
echo "bench: $NC concurrent dialogs (greeting delayed 2 s)"
timed "relayprobe.conc" "$RP" "${RP_ARGS[@]}" --concurrency "$NC" --timeout 60 --targets "$OUT/targets-conc.txt"
timed "minimal.conc" "$OUT/minimal_client" "$OUT/targets-conc.txt"
head -n 1 "$OUT/targets-conc.txt" >"$OUT/targets-one.txt"
timed "relayprobe.one" "$RP" "${RP_ARGS[@]}" --targets "$OUT/targets-one.txt"

python3 - "$OUT" "$N" "$NC" "$REPEAT" "$have_nmap" <<'EOF' | tee "$OUT/results.txt"
import json, statistics, sys, os
out, n, nc, repeat, have_nmap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"

def rus(name):
    wall, user, sys_, rss, rc = open(os.path.join(out, name + ".time")).read().split()
    return {"wall": float(wall), "cpu": float(user) + float(sys_), "rss": int(rss), "rc": int(rc)}

def jsonl(name):
    ds = []
    with open(os.path.join(out, name + ".stdout")) as f:
        for line in f:
            line = line.strip()
            if line:
                ds.append(json.loads(line))
    return ds

def rp_failures(ds, want):
    bad = [d for d in ds if d.get("verdict") != "open"]
    return len(bad) + max(0, want - len(ds)), bad

def minimal_failures(name):
    txt = open(os.path.join(out, name + ".stdout")).read()
    kv = dict(x.split("=") for x in txt.split())
    return int(kv.get("failed", n)) + max(0, n - int(kv.get("targets", 0)))

def text_failures(name):
    lines = [l.split() for l in open(os.path.join(out, name + ".stdout")) if l.strip()]
    return n - sum(1 for l in lines if len(l) >= 3 and l[2] == "open")

def nmap_failures(name):
    txt = open(os.path.join(out, name + ".stdout")).read()
    return n - txt.count("Server is an open relay")

rows = {}
for tool in ["minimal", "relayprobe", "relayprobe-text"] + (["nmap"] if have_nmap else []):
    runs = []
    for r in range(1, repeat + 1):
        u = rus("%s.%d" % (tool, r))
        if tool == "relayprobe":
            ds = jsonl("relayprobe.%d" % r)
            u["fail"], bad = rp_failures(ds, n)
            if r == 1:
                rt = [d["round_trips"] for d in ds if d.get("tests")]
                nt = [len(d["tests"]) for d in ds if d.get("tests")]
                ses = [d.get("sessions", 0) for d in ds]
                rows["rt"] = (rt, nt, ses)
                if bad:
                    rows["bad_sample"] = [(d.get("target"), d.get("verdict"), d.get("reason")) for d in bad[:5]]
        elif tool == "relayprobe-text":
            u["fail"] = text_failures("relayprobe-text.%d" % r)
        elif tool == "minimal":
            u["fail"] = minimal_failures("minimal.%d" % r)
        else:
            u["fail"] = nmap_failures("nmap.%d" % r)
        runs.append(u)
    med = lambda k: statistics.median(x[k] for x in runs)
    rows[tool] = {"wall": med("wall"), "cpu_us": med("cpu") * 1e6 / n,
                  "rss": max(x["rss"] for x in runs), "fail": max(x["fail"] for x in runs),
                  "walls": [x["wall"] for x in runs]}

print()
print("N=%d targets (127.1.x.y), one smtp-sink, medians of %d rounds in one session" % (n, repeat))
print("%-15s %9s %14s %10s %9s   %s" % ("tool", "wall s", "CPU us/target", "RSS MiB", "failures", "wall per round"))
for tool in ("minimal", "relayprobe", "relayprobe-text", "nmap"):
    if tool in rows:
        r = rows[tool]
        print("%-15s %9.3f %14.1f %10.1f %9d   %s" % (tool, r["wall"], r["cpu_us"], r["rss"] / 1024.0,
              r["fail"], " ".join("%.2f" % w for w in r["walls"])))
m, p = rows["minimal"], rows["relayprobe"]
print()
print("relayprobe / minimal client: wall x%.2f (target <= 1.5), CPU x%.2f (target <= 2)" %
      (p["wall"] / m["wall"], p["cpu_us"] / m["cpu_us"]))
t = rows["relayprobe-text"]
print("relayprobe text (-q) / minimal: wall x%.2f, CPU x%.2f (the rest is the cost of --json)" %
      (t["wall"] / m["wall"], t["cpu_us"] / m["cpu_us"]))
if "nmap" in rows:
    q = rows["nmap"]
    print("nmap / relayprobe:           wall x%.1f, CPU x%.1f (nmap runs 16 tests, relayprobe %s)" %
          (q["wall"] / p["wall"], q["cpu_us"] / p["cpu_us"],
           max(rows["rt"][1]) if rows["rt"][1] else "?"))

rt, nt, ses = rows["rt"]
if rt:
    tot_rt, tot_nt = sum(rt), sum(nt)
    print()
    print("round trips per dialog: mean %.1f, max %d; tests per dialog %d; sessions per dialog max %d" %
          (tot_rt / len(rt), max(rt), max(nt), max(ses)))
    print("round trips per relay test: %.2f overall; %.2f excluding banner, EHLO and QUIT (3 per session)" %
          (tot_rt / tot_nt, (tot_rt - 3 * sum(ses)) / tot_nt))
if "bad_sample" in rows:
    print("non-open verdicts (sample):", rows["bad_sample"])

c, one, mc = rus("relayprobe.conc"), rus("relayprobe.one"), rus("minimal.conc")
ds = jsonl("relayprobe.conc")
cfail, bad = rp_failures(ds, nc)
print()
print("%d concurrent dialogs (greeting delayed 2 s): relayprobe wall %.2f s, peak RSS %.1f MiB, "
      "%.1f KiB per dialog (%.1f KiB over a 1-target run of %.1f MiB), failures %d" %
      (nc, c["wall"], c["rss"] / 1024.0, c["rss"] / nc, (c["rss"] - one["rss"]) / nc, one["rss"] / 1024.0, cfail))
print("   minimal client, same %d: wall %.2f s, peak RSS %.1f MiB" % (nc, mc["wall"], mc["rss"] / 1024.0))
if bad:
    print("   non-open verdicts (sample):", [(d.get("target"), d.get("verdict"), d.get("reason")) for d in bad[:5]])
EOF
echo "bench: raw outputs and results.txt in $OUT"
