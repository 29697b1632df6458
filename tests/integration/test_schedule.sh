#!/usr/bin/env bash
# test_schedule.sh - inventory, schedules, history and events with real
# processes on loopback: relayprobe-controller (real SQLite file), one agent,
# the Postfix lab (its closed listener) and flip_smtp.py, an SMTP server
# whose behaviour the test switches from closed to open between runs.
# Checks: a CSV with a bad row imports nothing and names FILE:LINE; a good
# CSV of 3 clients imports (re-import updates, not duplicates); a 6 s
# schedule by tag runs; the controller is down across several slots, and
# after its restart the missed run happens once (audits counted, not lost,
# not repeated); history shows closed then open; events holds exactly one
# closed -> open event. $1 = relayprobe binary; the daemons beside it.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_daemons_init "$@"
rp_tmpdir rpsched
rp_lab_start

read -r CTL_PORT FLIP_PORT <<<"$(lab_free_ports 2)"
rp_admin_init
FLAG=$T/flip-open
python3 "$HERE/flip_smtp.py" "$FLIP_PORT" "$FLAG" >"$T/flip.log" 2>&1 &
rp_track $!
lab_wait_banner 127.0.0.1 "$FLIP_PORT" 10 || not_ok "flip server answers"

rp_keygen v1
rp_controller_conf
rp_agent_conf v1 127.0.0.3 1000 10 ""

audits() {
	python3 - "$T/controller.db" <<'EOF'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from audits").fetchone()[0])
EOF
}
# wait_audits N SECONDS: until N audits exist and all are done
wait_audits() {
	for _ in $(seq 1 $(($2 * 5))); do
		r=$(python3 - "$T/controller.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, d = db.execute("select count(*), sum(status = 'done') from audits").fetchone()
print(n, d or 0)
EOF
)
		[[ $r == "$1 $1" ]] && return 0
		sleep 0.2
	done
	return 1
}

if rp_start_controller; then ok "controller starts"; else
	not_ok "controller starts"
	cat "$T/controller.log"
	echo "$passed passed, $failed failed"
	exit 1
fi
"$RP" agents import "$T/keys/v1.pub" >/dev/null || not_ok "agents import"
rp_start_agent v1
rp_wait_connected 1 && ok "agent connects" || not_ok "agent connects"

FLIP="127.0.0.1:$FLIP_PORT"
CLOSED="127.0.0.1:$LAB_PORT_CLOSED"

# --- inventory import --------------------------------------------------------
cat >"$T/bad.csv" <<EOF
client,target,port,tags
acme,127.0.0.1,$FLIP_PORT,lab
"globex, inc",127.0.0.1,$LAB_PORT_CLOSED,"lab;eu"
initech,bad..host,25,other
initech,127.0.0.1,99999,other
EOF
"$RP" targets import "$T/bad.csv" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
if [[ $rc -eq 2 ]] && grep -q "^$T/bad.csv:4: " "$T/bad.err" && grep -q "^$T/bad.csv:5: " "$T/bad.err" &&
	grep -q "nothing imported" "$T/bad.err"; then
	ok "bad rows: exit 2, every bad row named FILE:LINE"
else
	not_ok "bad CSV: rc=$rc"
	cat "$T/bad.err"
fi
n=$("$RP" targets list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["targets"]))')
[[ $n == 0 ]] && ok "nothing imported from the bad file" || not_ok "bad file imported $n targets"

cat >"$T/inv.csv" <<EOF
client,target,port,tags
acme,127.0.0.1,$FLIP_PORT,lab
"globex, inc","127.0.0.1:$LAB_PORT_CLOSED",,"lab;eu"
initech,127.0.0.1,1,other
EOF
out=$("$RP" targets import "$T/inv.csv" 2>&1)
[[ $out == *"3 added, 0 updated"* ]] && ok "3 clients imported" || not_ok "import: $out"
out=$("$RP" targets import "$T/inv.csv" 2>&1)
[[ $out == *"0 added, 3 updated"* ]] && ok "re-import updates, no duplicates" || not_ok "re-import: $out"
"$RP" targets list --json >"$T/list.json"
if python3 - "$T/list.json" "$FLIP" "$CLOSED" <<'EOF'; then ok "targets list: clients, canonical targets, tags"; else not_ok "targets list"; fi
import json, sys
t = {(x["client"], x["target"]): x["tags"] for x in json.load(open(sys.argv[1]))["targets"]}
assert len(t) == 3, t
assert t[("acme", sys.argv[2])] == ["lab"], t
assert t[("globex, inc", sys.argv[3])] == ["lab", "eu"], t
assert ("initech", "127.0.0.1:1") in t, t
EOF
n=$("$RP" targets list --tag lab --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["targets"]))')
[[ $n == 2 ]] && ok "targets list --tag lab: 2" || not_ok "--tag lab gave $n"
n=$("$RP" targets list --client "globex, inc" | tail -n +2 | wc -l)
[[ $n == 1 ]] && ok "targets list --client (text)" || not_ok "--client gave $n lines"

# --- schedule -------------------------------------------------------------
# Slots far enough apart that a slow start (ASan, a loaded machine) cannot
# reach the next slot before the checks below: 15 s.
EVERY=15
out=$("$RP" schedule add lab-check --every ${EVERY}s --tag lab --tests basic 2>&1)
[[ $out == *"next run"* ]] && ok "schedule add" || not_ok "schedule add: $out"
"$RP" schedule add lab-check --every 5s --all >/dev/null 2>&1 && not_ok "duplicate schedule accepted" ||
	ok "duplicate schedule name refused"
"$RP" schedule add x --every 5s --tag a --client b >/dev/null 2>&1 && not_ok "two selectors accepted" ||
	ok "--tag and --client together refused"

# run 1: the flip server is closed
if wait_audits 1 30; then ok "first scheduled run done"; else not_ok "first run: $(audits) audits"; fi
sched_field() {
	"$RP" schedule list --json | python3 -c "import json,sys; print(json.load(sys.stdin)['schedules'][0]['$1'])"
}
N1=$(sched_field next_run)
rp_stop_controller
# Down across three slots (N1, N1+E, N1+2E); the server turns open meanwhile.
# The restart comes 1 s after a slot, so the next legitimate slot (N1+3E) is
# seconds away and anything more than one new audit is a repeated run.
touch "$FLAG"
while [[ $(date +%s) -lt $((N1 + 2 * EVERY + 1)) ]]; do sleep 0.2; done
[[ $(audits) == 1 ]] && ok "no run while the controller is down" || not_ok "audits while down: $(audits)"
rp_start_controller || not_ok "controller restarts"
for _ in $(seq 1 15); do [[ $(audits) -ge 2 ]] && break; sleep 0.2; done
sleep 1
n=$(audits)
[[ $n == 2 ]] && ok "3 missed slots: exactly one catch-up run (2 audits)" || not_ok "$n audits after catch-up (want 2)"
nr=$(sched_field next_run)
la=$(sched_field last_audit)
[[ $nr == $((N1 + 3 * EVERY)) && $la == 2 ]] && ok "next_run is the first slot after now" ||
	not_ok "next_run $nr (want $((N1 + 3 * EVERY))), last_audit $la"
"$RP" schedule remove lab-check >/dev/null && ok "schedule remove" || not_ok "schedule remove"
if wait_audits 2 60; then ok "catch-up run done"; else not_ok "catch-up run not done"; fi
"$RP" schedule list --json | grep -q lab-check && not_ok "removed schedule still listed" || ok "schedule gone"

# --- history and events ------------------------------------------------------
"$RP" history "$FLIP" --json >"$T/hist.json" 2>"$T/hist.err"
if python3 - "$T/hist.json" <<'EOF'; then ok "history: closed then open"; else not_ok "history"; cat "$T/hist.json" "$T/hist.err"; fi
import json, sys
h = json.load(open(sys.argv[1]))["history"]
assert [x["verdict"] for x in h] == ["closed", "open"], h
assert [x["audit"] for x in h] == [1, 2], h
assert h[1]["vantages"] == {"v1": "open"}, h
EOF
"$RP" history "$FLIP" | grep -qE '^2 +[0-9T:Z-]+ +open +v1=open' && ok "history text" || not_ok "history text"
"$RP" events --json >"$T/events.json"
if python3 - "$T/events.json" "$FLIP" <<'EOF'; then ok "exactly one closed -> open event"; else not_ok "events"; cat "$T/events.json"; fi
import json, sys
e = json.load(open(sys.argv[1]))["events"]
assert len(e) == 1, e
assert (e[0]["target"], e[0]["client"], e[0]["from"], e[0]["to"], e[0]["audit"]) == \
    (sys.argv[2], "acme", "closed", "open", 2), e
EOF
"$RP" report 2 --json >"$T/report2.json" 2>&1
if python3 - "$T/report2.json" "$FLIP" <<'EOF'; then ok "report: clients, previous verdict, new open since audit 1, summary"; else not_ok "report fields"; cat "$T/report2.json"; fi
import json, sys
r = json.load(open(sys.argv[1]))
t = {x["target"]: x for x in r["targets"]}
f = t[sys.argv[2]]
assert (f["client"], f["verdict"], f["previous"], f["new"]) == ("acme", "open", "closed", True), f
assert r["previous_audit"] == 1, r["previous_audit"]
assert [x["client"] for x in r["targets"]] == sorted(x["client"] for x in r["targets"]), r["targets"]
s = r["summary"]
assert s["targets"] == len(r["targets"]) == 2 and s["open"] == 1 and s["new_open"] == 1, s
assert s["changed"] == 1 and s["open"] + s["closed"] + s["inconclusive"] + s["other"] == 2, s
EOF
"$RP" history "$CLOSED" --json | python3 -c '
import json, sys
h = json.load(sys.stdin)["history"]
assert [x["verdict"] for x in h] == ["closed", "closed"], h' && ok "the Postfix closed listener stays closed" ||
	not_ok "closed listener history"

# --- run-now and refused schedules -------------------------------------------
"$RP" schedule add bad --every 1d --tests no-such-test >/dev/null 2>"$T/badtests.err" &&
	not_ok "unknown test accepted" || ok "schedule with an unknown test refused"
"$RP" schedule add manual --every 1d --client acme >/dev/null || not_ok "schedule add manual"
nr=$(sched_field next_run)
out=$("$RP" schedule run-now manual 2>&1)
[[ $out == *"audit 3 started"* ]] && ok "schedule run-now starts an audit" || not_ok "run-now: $out"
wait_audits 3 60 || not_ok "run-now audit not done"
[[ $(sched_field next_run) == "$nr" && $(sched_field last_audit) == 3 ]] &&
	ok "run-now keeps next_run, records the audit" || not_ok "run-now schedule fields"
n=$("$RP" events --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
[[ $n == 1 ]] && ok "open -> open is not an event" || not_ok "$n events after run-now (want 1)"

# --- remove -------------------------------------------------------------------
out=$("$RP" targets remove --client initech 127.0.0.1:1 2>&1)
[[ $out == "1 removed" ]] && ok "targets remove" || not_ok "targets remove: $out"
"$RP" targets remove 127.0.0.1:1 >/dev/null 2>&1 && not_ok "removing a missing target succeeds" ||
	ok "removing a missing target fails"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
