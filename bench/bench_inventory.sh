#!/usr/bin/env bash
# bench_inventory.sh - the issue-5 scale benchmark, real processes on loopback:
# a controller, one agent (127.0.0.2; RP_BENCH_AGENTS=2 adds 127.0.0.3) and a
# Postfix smtp-sink answering every target 127.1.x.y. Measures: `targets
# import` of a TARGETS-row CSV (10 clients), twice; a `schedule run-now` of an
# --all schedule until done; `report` in text, json, csv and html; and the
# controller's VmRSS/VmHWM across RUNS scheduled runs of one client.
#   bash bench/bench_inventory.sh [BUILD-DIR | PATH/TO/relayprobe] [TARGETS] [RUNS]
#   env: RP_BENCH_AGENTS (1 or 2), RP_BENCH_KEEP=1 (keep the temporary directory)
#   defaults: build/, 10000 targets (at most 62500), 100 runs. Outputs in
#   bench/out/inventory/ (results.txt is the table). Root is not needed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ARG=$(readlink -f "${1:-$ROOT/build}")
if [ -d "$ARG" ]; then BIN=$ARG; else BIN=$(dirname "$ARG"); fi
RP=$BIN/relayprobe
CTL=$BIN/relayprobe-controller
AGENT=$BIN/relayprobe-agent
N=${2:-10000}
RUNS=${3:-100}
NAGENTS=${RP_BENCH_AGENTS:-1}
CLIENTS=10
PER=$((N / CLIENTS))
OUT="$ROOT/bench/out/inventory"
TIME=/usr/bin/time
HELP="$HERE/inv_targets.py"
ADM=(--admin-timeout 600)

die() {
	echo "bench_inventory.sh: $*" >&2
	exit 1
}
for b in "$RP" "$CTL" "$AGENT"; do
	[ -x "$b" ] || die "$b not found (build first, or pass the build directory)"
done
[ -x "$TIME" ] || die "$TIME missing (apt-get install time)"
case $N in '' | *[!0-9]*) die "TARGETS must be a number" ;; esac
case $RUNS in '' | *[!0-9]*) die "RUNS must be a number" ;; esac
if [ "$N" -lt "$CLIENTS" ] || [ "$N" -gt 62500 ] || [ $((N % CLIENTS)) -ne 0 ]; then
	die "TARGETS: a multiple of $CLIENTS from $CLIENTS to 62500"
fi
[ "$RUNS" -ge 1 ] || die "RUNS: at least 1"
case $NAGENTS in 1 | 2) ;; *) die "RP_BENCH_AGENTS: 1 or 2" ;; esac
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 4000 ] || die "ulimit -n is $(ulimit -n), need 4000"
rm -rf "$OUT"
mkdir -p "$OUT"

T=$(mktemp -d /tmp/rpbenchinv.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${RP_BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $T (database, keys, configs)"; else rm -rf "$T"; fi
}
trap cleanup EXIT

. "$HERE/bench_lib.sh"
bench_find_sink
export RELAYPROBE_ADMIN=ipc://$T/admin.sock

# --- smtp-sink: every 127.1.x.y:SPORT answers, every RCPT accepted (open) ----
SPORT=$(bench_free_port)
bench_start_sink "$SPORT" "$OUT/smtp-sink.log"

# --- controller and agents (bench_lib.sh) ------------------------------------
bench_start_controller controller
AGENTS=()
for i in $(seq 1 "$NAGENTS"); do
	AGENTS+=("v$((i + 1))")
	bench_start_agent "v$((i + 1))" "127.0.0.$((i + 1))"
done
bench_wait_agents "$NAGENTS" || die "the agents did not connect (see $OUT/agent-*.log)"

# mem LABEL: the controller's VmRSS and VmHWM (KiB) into memory.txt
mem() {
	awk -v l="$1" '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print l, r, h}' \
		"/proc/$CPID/status" >>"$OUT/memory.txt"
}
# wait_audit ID SECONDS: until the audit is done; dies with the controller's
# log when it is not (an audit that does not finish is a finding, not noise)
wait_audit() {
	local st
	if ! st=$(python3 "$HELP" wait "$T/controller.db" "$1" "$2"); then
		echo "bench_inventory.sh: audit $1 not done after $2 s (status orders done results: $st)" >&2
		echo "--- last lines of $OUT/controller.log:" >&2
		tail -n 20 "$OUT/controller.log" >&2
		exit 1
	fi
	echo "$st"
}
# run_now NAME: starts the schedule's audit, prints its id
run_now() {
	local out
	out=$("$RP" schedule run-now "$1" "${ADM[@]}" 2>&1) || die "schedule run-now $1: $out"
	[[ $out =~ audit\ ([0-9]+)\ started ]] || die "schedule run-now $1: unexpected \"$out\""
	echo "${BASH_REMATCH[1]}"
}
now() { date +%s.%N; }
# ctl_ticks: the controller's user + system CPU so far, in clock ticks
ctl_ticks() { awk '{print $14 + $15}' "/proc/$CPID/stat"; }
HZ=$(getconf CLK_TCK)
# ctl_cpu NAME T0: the controller's CPU seconds since ticks T0 into NAME.ctlcpu
ctl_cpu() { echo "$(($(ctl_ticks) - $2)) $HZ" >"$OUT/$1.ctlcpu"; }
elapsed() { python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
mem started

# --- (1) inventory import --------------------------------------------------------
python3 "$HELP" csv "$N" "$SPORT" "$CLIENTS" >"$OUT/inventory.csv"
echo "bench: $N targets on smtp-sink :$SPORT, $CLIENTS clients, agents: ${AGENTS[*]}, controller pid $CPID"
for k in 1 2; do
	c0=$(ctl_ticks)
	"$TIME" -f '%e %M %U %S' -o "$OUT/import$k.time" "$RP" targets import "${ADM[@]}" "$OUT/inventory.csv" \
		>"$OUT/import$k.stdout" 2>&1 || die "targets import ($k): $(tail -n 3 "$OUT/import$k.stdout")"
	if [ "$k" = 1 ]; then want="$N added, 0 updated"; else want="0 added, $N updated"; fi
	grep -q "$want" "$OUT/import$k.stdout" ||
		die "targets import ($k): \"$(cat "$OUT/import$k.stdout")\", want \"$want\""
	ctl_cpu "import$k" "$c0"
	echo "bench: import $k: $(tail -n 1 "$OUT/import$k.time" | cut -d' ' -f1) s ($(cat "$OUT/import$k.stdout"))"
done
mem imported

# --- (2) one audit of every target ------------------------------------------------
"$RP" schedule add inv-all --every 1d --all --tests basic "${ADM[@]}" >/dev/null ||
	die "schedule add inv-all"
c0=$(ctl_ticks)
t0=$(now)
ALL=$(run_now inv-all)
st=$(wait_audit "$ALL" 1200)
t1=$(now)
ctl_cpu audit "$c0"
elapsed "$t0" "$t1" >"$OUT/audit.time"
read -r _ _ _ nres <<<"$st"
[ "$nres" = $((N * NAGENTS)) ] || die "audit $ALL: $nres results (want $((N * NAGENTS)))"
echo "bench: audit $ALL of $N targets: $(cat "$OUT/audit.time") s (status orders done results: $st)"
mem audit_all

# --- (3) reports over it ------------------------------------------------------------
for fmt in text json csv html; do
	rc=0
	c0=$(ctl_ticks)
	"$TIME" -f '%e %M %U %S' -o "$OUT/report-$fmt.time" "$RP" report "$ALL" --format "$fmt" "${ADM[@]}" \
		--output "$OUT/report.$fmt" 2>"$OUT/report-$fmt.stderr" || rc=$?
	# exit 1 = at least one target open: what smtp-sink must give
	[ "$rc" = 1 ] || die "report --format $fmt exited $rc (want 1): $(tail -n 3 "$OUT/report-$fmt.stderr")"
	ctl_cpu "report-$fmt" "$c0"
	echo "bench: report --format $fmt: $(tail -n 1 "$OUT/report-$fmt.time" | cut -d' ' -f1) s, $(stat -c %s "$OUT/report.$fmt") bytes"
done
bad=$(python3 "$HELP" check-json "$OUT/report.json" "$N" "$NAGENTS") || die "report json: $bad"
rows=$(($(wc -l <"$OUT/report.csv") - 1))
[ "$rows" = $((N * NAGENTS)) ] || die "report csv: $rows rows (want $((N * NAGENTS)))"
grep -q "127.1.0.1:$SPORT" "$OUT/report.html" || die "report html: no row for 127.1.0.1:$SPORT"
mem reports

# --- (4) controller memory across RUNS scheduled runs of one client -----------------
"$RP" schedule add inv-one --every 1d --client client00 --tests basic "${ADM[@]}" >/dev/null ||
	die "schedule add inv-one"
: >"$OUT/runs.wall"
echo "bench: $RUNS scheduled runs of client00 ($PER targets)"
LAST=""
for r in $(seq 1 "$RUNS"); do
	t0=$(now)
	LAST=$(run_now inv-one)
	st=$(wait_audit "$LAST" 600)
	t1=$(now)
	elapsed "$t0" "$t1" >>"$OUT/runs.wall"
	read -r _ _ _ nres <<<"$st"
	[ "$nres" = $((PER * NAGENTS)) ] || die "run $r (audit $LAST): $nres results (want $((PER * NAGENTS)))"
	case $r in 1 | 10 | 25 | 50 | 75 | 100 | "$RUNS")
		mem "run_$r"
		echo "bench: run $r: $(tail -n 1 "$OUT/runs.wall") s, controller $(tail -n 1 "$OUT/memory.txt" | cut -d' ' -f2) KiB RSS"
		;;
	esac
done
c0=$(ctl_ticks)
"$TIME" -f '%e %M %U %S' -o "$OUT/report-last.time" "$RP" report "$LAST" --json "${ADM[@]}" \
	>"$OUT/last-run.json" 2>/dev/null || true
ctl_cpu report-last "$c0"
bad=$(python3 "$HELP" check-json "$OUT/last-run.json" "$PER" "$NAGENTS") || die "last run's report: $bad"
kill -0 "$CPID" 2>/dev/null || die "the controller died (see $OUT/controller.log)"
naudits=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True).execute("select count(*) from audits").fetchone()[0])' "$T/controller.db")
echo "$(($(stat -c %s "$T/controller.db") + $(stat -c %s "$T/controller.db-wal" 2>/dev/null || echo 0))) $naudits" >"$OUT/db.size"

python3 "$HELP" table "$OUT" "$N" "$RUNS" "$NAGENTS" | tee "$OUT/results.txt"
echo "bench: raw outputs and results.txt in $OUT"
