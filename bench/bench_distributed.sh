#!/usr/bin/env bash
# bench_distributed.sh - the distributed side of relayprobe, all on loopback:
# (1) ingest: relayprobe-controller ingesting signed results (verify, commit,
#     ack) from bench_ingest, a synthetic agent, in results/s;
# (2) e2e: an audit of 1,000 targets 127.1.x.y (one Postfix smtp-sink) from 3
#     agents binding 127.0.0.2/.3/.4, `relayprobe audit --wait` start to exit,
#     against `relayprobe probe` run 3 times (--bind each vantage address).
# Medians of RP_BENCH_REPEAT rounds; raw outputs in bench/out/dist/. Root.
#   bash bench/bench_distributed.sh [PATH/TO/relayprobe [BUILD-DIR]]
#   env: RP_BENCH_PART (all|ingest|e2e), RP_BENCH_INGEST_N (20000),
#        RP_BENCH_WINDOW (1000), RP_BENCH_E2E_N (1000), RP_BENCH_REPEAT (3),
#        RP_BENCH_PER_ORDER (1000, targets per order the synthetic agent accepts),
#        RP_BENCH_PERF=1 (perf record the controller in the last round of each part)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RP=$(readlink -f "${1:-$ROOT/build/relayprobe}")
BIN=$(dirname "$RP")
BUILD=${2:-$BIN}
CTL=$BIN/relayprobe-controller
AGENT=$BIN/relayprobe-agent
PART=${RP_BENCH_PART:-all}
NI=${RP_BENCH_INGEST_N:-20000}
WINDOW=${RP_BENCH_WINDOW:-1000}
NE=${RP_BENCH_E2E_N:-1000}
REPEAT=${RP_BENCH_REPEAT:-3}
OUT="$ROOT/bench/out/dist"
TIME=/usr/bin/time

die() {
	echo "bench_distributed.sh: $*" >&2
	exit 1
}
for b in "$RP" "$CTL" "$AGENT"; do
	[ -x "$b" ] || die "$b not found (build first, or pass the relayprobe path)"
done
[ -x "$TIME" ] || die "$TIME missing (apt-get install time)"
[ "$(id -u)" -eq 0 ] || die "run as root (smtp-sink -u postfix)"
[ "$NE" -le 62500 ] || die "at most 62500 targets"
case $PART in all | ingest | e2e) ;; *) die "RP_BENCH_PART: all, ingest or e2e" ;; esac
rm -rf "$OUT"
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 8000 ] || die "ulimit -n is $(ulimit -n), need 8000"

T=$(mktemp -d /tmp/rpbenchdist.XXXXXX)
PIDS=()
old_somaxconn=$(cat /proc/sys/net/core/somaxconn)
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$(cat /proc/sys/net/core/somaxconn)" != "$old_somaxconn" ]; then
		echo "$old_somaxconn" >/proc/sys/net/core/somaxconn 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

. "$HERE/bench_lib.sh"
export RELAYPROBE_ADMIN=ipc://$T/admin.sock
start_controller() { bench_start_controller "$@"; }
stop_controller() {
	kill "$CPID" 2>/dev/null || true
	wait "$CPID" 2>/dev/null || true
	rm -f "$T/admin.sock"
}

"$RP" keygen --role controller --name ctl --out "$T/keys" >/dev/null
"$RP" keygen --role agent --name bench --out "$T/keys" >/dev/null

# --- (1) ingestion ----------------------------------------------------------
if [ "$PART" != e2e ]; then
	echo "bench: building bench_ingest in $BUILD"
	cmake --build "$BUILD" --target bench_ingest >"$OUT/build.log" 2>&1 ||
		die "cannot build bench_ingest (see $OUT/build.log)"
	BI=$BUILD/bench_ingest
	[ -x "$BI" ] || die "$BI not built"
	start_controller ingest
	"$RP" agents import "$T/keys/bench.pub" >/dev/null
	python3 -c '
import sys
n = int(sys.argv[1])
for i in range(n):
    print("127.%d.%d.%d" % (2 + i // 62500, (i % 62500) // 250, i % 250 + 1))' "$NI" >"$T/ingest-targets.txt"
	echo "bench: ingest: $NI signed results, window $WINDOW, $REPEAT rounds (controller pid $CPID)"
	for r in $(seq "$REPEAT"); do
		read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$CPID/stat")
		PERF_PID=""
		if [ "${RP_BENCH_PERF:-0}" = 1 ] && [ "$r" = "$REPEAT" ]; then
			perf record -F 499 --call-graph dwarf,16384 -p "$CPID" -o "$OUT/ingest.perf.data" >"$OUT/perf.log" 2>&1 &
			PERF_PID=$!
			sleep 0.5
		fi
		"$BI" --keys "$T/keys/bench.secret" --controller-pub "$T/keys/ctl.pub" \
			--connect "tcp://127.0.0.1:$CTL_PORT" --results "$NI" --window "$WINDOW" \
			--per-order "${RP_BENCH_PER_ORDER:-1000}" -- "$RP" audit --targets "$T/ingest-targets.txt" \
			--vantages bench --tests all >"$OUT/ingest.$r.stdout" 2>"$OUT/ingest.$r.stderr" ||
			die "bench_ingest round $r failed: $(tail -n 3 "$OUT/ingest.$r.stderr")"
		read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$CPID/stat")
		if [ -n "$PERF_PID" ]; then
			kill -INT "$PERF_PID" 2>/dev/null || true
			wait "$PERF_PID" 2>/dev/null || true
			perf report -i "$OUT/ingest.perf.data" --stdio --children --sort symbol \
				--percent-limit 3 -g none >"$OUT/ingest.perf.txt" 2>/dev/null || true
			echo "bench: perf profile of the controller (last round) in $OUT/ingest.perf.txt"
		fi
		echo "ctl_cpu_ticks=$((u1 + s1 - u0 - s0)) hz=$(getconf CLK_TCK)" >>"$OUT/ingest.$r.stdout"
		tr '\n' ' ' <"$OUT/ingest.$r.stdout"
		echo
	done
	stored=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from results").fetchone()[0])' "$T/ingest.db")
	echo "stored_results=$stored" >"$OUT/ingest.stored"
	stop_controller
fi

# --- (2) end to end -----------------------------------------------------------
if [ "$PART" != ingest ]; then
	bench_find_sink
	if [ "$old_somaxconn" -lt 16384 ]; then
		echo 16384 >/proc/sys/net/core/somaxconn 2>/dev/null || true
	fi
	SPORT=25
	python3 -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 25))' 2>/dev/null ||
		SPORT=$(bench_free_port)
	bench_start_sink "$SPORT" "$OUT/smtp-sink.log"
	python3 -c '
import sys
n, port = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    print("127.1.%d.%d:%s" % (i // 250, i % 250 + 1, port))' "$NE" "$SPORT" >"$OUT/e2e-targets.txt"

	start_controller e2e
	APIDS=()
	# cpu_ticks PID...: user+system clock ticks of each process so far
	cpu_ticks() {
		local p
		for p in "$@"; do awk '{printf "%d ", $14 + $15}' "/proc/$p/stat"; done
	}
	declare -A BIND=([v2]=127.0.0.2 [v3]=127.0.0.3 [v4]=127.0.0.4)
	for a in v2 v3 v4; do
		bench_start_agent "$a" "${BIND[$a]}"
		APIDS+=("$APID")
	done
	bench_wait_agents 3 || die "the 3 agents did not connect (see $OUT/agent-*.log)"

	COMMON=(--tests all --to relaytest@example.net)
	echo "bench: e2e: $NE targets on smtp-sink :$SPORT, 3 agents (127.0.0.2/.3/.4), $REPEAT rounds"
	for r in $(seq "$REPEAT"); do
		rc=0
		cpu0=$(cpu_ticks "$CPID" "${APIDS[@]}")
		PERF_PID=""
		if [ "${RP_BENCH_PERF:-0}" = 1 ] && [ "$r" = "$REPEAT" ]; then
			perf record -F 499 --call-graph dwarf,16384 -p "$CPID" -o "$OUT/e2e.perf.data" >"$OUT/perf-e2e.log" 2>&1 &
			PERF_PID=$!
			sleep 0.5
		fi
		"$TIME" -f '%e' -o "$OUT/audit.$r.time" "$RP" audit --wait --wait-timeout 900 --json \
			"${COMMON[@]}" --targets "$OUT/e2e-targets.txt" \
			>"$OUT/audit.$r.stdout" 2>"$OUT/audit.$r.stderr" || rc=$?
		# exit 1 = an open relay was found: what smtp-sink must give
		[ "$rc" = 1 ] || die "audit round $r exited $rc (want 1): $(tail -n 3 "$OUT/audit.$r.stderr")"
		if [ -n "$PERF_PID" ]; then
			kill -INT "$PERF_PID" 2>/dev/null || true
			wait "$PERF_PID" 2>/dev/null || true
			perf report -i "$OUT/e2e.perf.data" --stdio --children --sort symbol \
				--percent-limit 3 -g none >"$OUT/e2e.perf.txt" 2>/dev/null || true
			echo "bench: perf profile of the controller (last audit) in $OUT/e2e.perf.txt"
		fi
		cpu1=$(cpu_ticks "$CPID" "${APIDS[@]}")
		# the final report alone (audit --wait ends with one): how much of the wall it is
		"$TIME" -f '%e' -o "$OUT/report.$r.time" "$RP" report --latest --json >/dev/null 2>&1 || true
		python3 -c 'import sys; a=sys.argv[1].split(); b=sys.argv[2].split(); hz=float(sys.argv[3]); print("controller=%.2f agents=%.2f" % ((int(b[0])-int(a[0]))/hz, sum(int(y)-int(x) for x, y in zip(a[1:], b[1:]))/hz))' \
			"$cpu0" "$cpu1" "$(getconf CLK_TCK)" >"$OUT/audit.$r.cpu"
		start=$(date +%s.%N)
		for a in v2 v3 v4; do
			"$RP" probe --json "${COMMON[@]}" --rate 0 --concurrency 1000 --pause 0 \
				--bind "${BIND[$a]}" --targets "$OUT/e2e-targets.txt" \
				>"$OUT/probe.$r.$a.stdout" 2>"$OUT/probe.$r.$a.stderr" || true
		done
		end=$(date +%s.%N)
		python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' \
			"$start" "$end" >"$OUT/probe.$r.time"
		echo "round $r: audit $(tail -n 1 "$OUT/audit.$r.time") s (a report alone: $(tail -n 1 "$OUT/report.$r.time") s) (CPU s: $(cat "$OUT/audit.$r.cpu")), probe x3 $(cat "$OUT/probe.$r.time") s"
	done
fi

python3 - "$OUT" "$PART" "$REPEAT" "$NI" "$NE" <<'EOF' | tee "$OUT/results.txt"
import json, os, statistics, sys
out, part, repeat, ni, ne = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rd = lambda n: open(os.path.join(out, n)).read()
print()
if part != "e2e":
    rows = []
    for r in range(1, repeat + 1):
        kv = dict(x.split("=") for x in rd("ingest.%d.stdout" % r).split())
        kv["ctl_cpu_s"] = int(kv["ctl_cpu_ticks"]) / int(kv["hz"])
        rows.append(kv)
    rates = [float(k["results_per_s"]) for k in rows]
    print("ingest: %d signed results per round (~%s B each), window %s, %d rounds" %
          (ni, rows[0]["avg_msg_bytes"], rows[0]["window"], repeat))
    print("%-6s %10s %9s %12s %16s" % ("round", "results/s", "seconds", "acked", "controller CPU s"))
    for i, k in enumerate(rows):
        print("%-6d %10.0f %9s %12s %16.2f" % (i + 1, float(k["results_per_s"]), k["seconds"],
              k["acked"], k["ctl_cpu_s"]))
    med = statistics.median(rates)
    print("median %.0f results/s (target >= 5000: %s); %s" %
          (med, "met" if med >= 5000 else "NOT met", rd("ingest.stored").strip()))
    print()
if part != "ingest":
    au, pr, bad = [], [], []
    for r in range(1, repeat + 1):
        au.append(float(rd("audit.%d.time" % r).split()[-1]))
        pr.append(float(rd("probe.%d.time" % r)))
        rep = json.loads(rd("audit.%d.stdout" % r))  # --wait --json: the report
        cells = sum(1 for t in rep["targets"] for v in t["cells"].values() if v == "open")
        if len(rep["targets"]) != ne or cells != 3 * ne:
            bad.append("audit round %d: %d targets, %d open cells (want %d, %d)" %
                       (r, len(rep["targets"]), cells, ne, 3 * ne))
        for a in ("v2", "v3", "v4"):
            lines = [json.loads(l) for l in open(os.path.join(out, "probe.%d.%s.stdout" % (r, a))) if l.strip()]
            n = sum(1 for d in lines if d.get("verdict") == "open")
            if n != ne:
                bad.append("probe round %d %s: %d open of %d" % (r, a, n, ne))
    ma, mp = statistics.median(au), statistics.median(pr)
    print("e2e: %d targets x 3 vantages (127.0.0.2/.3/.4), smtp-sink, --tests all, %d rounds" % (ne, repeat))
    print("%-34s %9s   %s" % ("", "median s", "per round"))
    print("%-34s %9.2f   %s" % ("relayprobe audit --wait (3 agents)", ma, " ".join("%.2f" % x for x in au)))
    print("%-34s %9.2f   %s" % ("relayprobe probe x3 (--bind each)", mp, " ".join("%.2f" % x for x in pr)))
    rep_s = statistics.median(float(rd("report.%d.time" % r).split()[-1]) for r in range(1, repeat + 1))
    print("%-34s %9.2f   (the report the audit prints at the end; included above)" % ("relayprobe report --latest --json", rep_s))
    print("distributed / probe: x%.2f (target <= 1.5: %s)" % (ma / mp, "met" if ma / mp <= 1.5 else "NOT met"))
    print("correctness: " + ("every cell open (%d results per round)" % (3 * ne) if not bad else "; ".join(bad)))
EOF
echo "bench: raw outputs and results.txt in $OUT"
