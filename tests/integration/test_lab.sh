#!/usr/bin/env bash
# test_lab.sh - relayprobe in the lab of deploy/lab/lab.sh: namespaces that
# play outside networks (RFC 5737 addresses only), six real Postfix
# instances, a controller and three agents reaching it through a router.
#
#   relayprobe CLI --ipc--> controller (rp-PID-ctl 203.0.113.130:7411)
#                                 |  via rp-PID-core
#        agent partner 198.51.100.10   agent cloud 198.51.100.130   agent far 203.0.113.10
#                                 |  via rp-PID-core
#        rp-PID-mail: closed .10, open .11, partner-trust .12 (trusts 198.51.100.0/26),
#                     tls-first .13, submission .14:587, late-reject .15 (192.0.2.x),
#                     smtp-sink 192.0.2.100 (where relayed mail ends)
#
# Checks: the full verdict matrix of every server from every vantage (JSON
# report), the accepted tests and the 250 in every open cell's transcript,
# TLS and AUTH facts, what the sink received; late-reject open without DATA;
# submission relays after AUTH. Faults: a vantage's link cut before its order
# arrives and while it probes (results arrive late, stored once); kill -9 of
# the controller mid-audit; Postfix "open" stopped mid-audit (unreachable
# from everywhere, inconclusive, never closed).
# $1 = relayprobe binary; relayprobe-controller and relayprobe-agent beside it.
set -uo pipefail

RP=${1:?usage: test_lab.sh path/to/relayprobe}
RP=$(readlink -f "$RP")
BIN=$(dirname "$RP")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}

# shellcheck source=../../deploy/lab/lab.sh
. "$ROOT/deploy/lab/lab.sh"

W=$(mktemp -d /tmp/rplabtest.XXXXXX)
cleanup() {
	local rc=$?
	if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
		if [ -n "$LAB_DIR" ]; then
			echo "--- controller log"
			tail -n 20 "$LAB_DIR/controller.log" 2>/dev/null
			for v in "${LAB_VANTAGES[@]}"; do
				echo "--- agent $v log"
				tail -n 8 "$LAB_DIR/agent-$v.log" 2>/dev/null
			done
		fi
	fi
	lab_down
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
if lab_up "$BIN"; then
	ok "lab up: 6 Postfix instances, smtp-sink, controller and 3 agents connected through the core ($((SECONDS - t0)) s)"
else
	not_ok "lab up"
	echo "$passed passed, $failed failed"
	exit 1
fi

ALL=()
for s in "${LAB_SERVERS[@]}"; do ALL+=("$(lab_target "$s")"); done

# The expected matrix with --data, as JSON for the checker below.
EXPECT=$(
	cat <<EOF
{"$(lab_target closed)": ["closed", {"partner": "closed", "cloud": "closed", "far": "closed"}],
 "$(lab_target open)": ["open", {"partner": "open", "cloud": "open", "far": "open"}],
 "$(lab_target partner-trust)": ["open", {"partner": "open", "cloud": "closed", "far": "closed"}],
 "$(lab_target tls-first)": ["closed", {"partner": "closed", "cloud": "closed", "far": "closed"}],
 "$(lab_target submission)": ["auth-required", {"partner": "auth-required", "cloud": "auth-required", "far": "auth-required"}],
 "$(lab_target late-reject)": ["closed", {"partner": "closed", "cloud": "closed", "far": "closed"}]}
EOF
)
export EXPECT

# check_matrix REPORT.json [ONLY-VANTAGE-CELLS]: every cell and verdict as
# EXPECT says, DISAGREE on partner-trust only, accepted tests on open cells.
cat >"$W/matrix.py" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
want = json.loads(os.environ["EXPECT"])
t = {x["target"]: x for x in r["targets"]}
errs = []
if set(t) != set(want):
    errs.append("targets %s" % sorted(t))
for target, (verdict, cells) in want.items():
    x = t.get(target)
    if x is None:
        continue
    if x["cells"] != cells:
        errs.append("%s cells %s, want %s" % (target, x["cells"], cells))
    if x["verdict"] != verdict:
        errs.append("%s verdict %s, want %s" % (target, x["verdict"], verdict))
    dis = len(set(cells.values())) > 1
    if x["disagree"] != dis:
        errs.append("%s disagree %s" % (target, x["disagree"]))
    if x["inconclusive"] or x.get("partial"):
        errs.append("%s inconclusive/partial" % target)
    for v, c in cells.items():
        acc = x.get("accepted", {}).get(v, [])
        if c == "open" and not ("external-sender" in acc and "null-sender" in acc):
            errs.append("%s from %s: accepted %s" % (target, v, acc))
        if c != "open" and acc:
            errs.append("%s from %s: accepted %s on a %s cell" % (target, v, acc, c))
if errs:
    print("\n".join(errs))
    sys.exit(1)
EOF

# audit_id FILE: the audit id in a controller reply.
audit_id() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["audit"])' "$1" 2>/dev/null
}

# wait_report AUDIT NCELLS SECONDS: until the report has NCELLS cells and
# status done; leaves it in $W/r-AUDIT.json.
wait_report() {
	local i
	for ((i = 0; i < $3 * 4; i++)); do
		# (report's exit status says open/inconclusive: not an error here)
		"$RP" report "$1" --json >"$W/r-$1.json" 2>/dev/null
		if python3 - "$W/r-$1.json" "$2" 2>/dev/null <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
n = sum(len(t["cells"]) for t in r["targets"])
sys.exit(0 if r.get("status") == "done" and n == int(sys.argv[2]) else 1)
EOF
			return 0
		fi
		sleep 0.25
	done
	return 1
}

# rows AUDIT: "stored distinct" result rows of an audit in the SQLite store.
rows() {
	python3 - "$LAB_DIR/controller.db" "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
rows = db.execute("select r.agent_id, r.order_id, r.target, r.address, r.port from results r "
                  "join orders o on o.id = r.order_id where o.audit_id = ?", (int(sys.argv[2]),)).fetchall()
print(len(rows), len(set(rows)))
EOF
}

# cells AUDIT VANTAGE: how many cells VANTAGE has in the audit's report now.
cells() {
	local n
	n=$("$RP" report "$1" --json 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(sum(1 for t in r["targets"] if sys.argv[1] in t["cells"]))' "$2" 2>/dev/null)
	echo "${n:-0}"
}

# sink_from ADDR: messages the smtp-sink received from the Postfix at ADDR.
sink_from() {
	grep -lx "X-Client-Addr: $1" "$LAB_DIR"/sink/* 2>/dev/null | wc -l
}

AUDIT_ARGS=(--data --tests all --timeout 10 --to "$LAB_TO")

# --- 1. the matrix ------------------------------------------------------------
t1=$SECONDS
"$RP" audit --wait --wait-timeout 120 "${AUDIT_ARGS[@]}" "${ALL[@]}" >"$W/audit.txt" 2>"$W/audit.err"
rc=$?
echo "# matrix audit: $((SECONDS - t1)) s"
sed -n '1,8s/^/#   /p' "$W/audit.txt"
if [ $rc -eq 1 ]; then ok "audit --wait exits 1 (open relays found)"; else
	not_ok "audit exit status $rc (want 1)"
	cat "$W/audit.err"
fi
if grep -E "^$(lab_target partner-trust) .*DISAGREE" "$W/audit.txt" >/dev/null &&
	[ "$(grep -c DISAGREE "$W/audit.txt")" -eq 1 ]; then
	ok "text matrix flags DISAGREE on partner-trust only"
else
	not_ok "DISAGREE flag in the text matrix"
fi
"$RP" report --latest --json >"$W/report.json" 2>/dev/null
A1=$(audit_id "$W/report.json")
if python3 "$W/matrix.py" "$W/report.json" >"$W/m.err" 2>&1; then
	ok "report: every cell of 6 servers x 3 vantages as expected; partner-trust open from partner only"
else
	not_ok "report matrix: $(head -c 600 "$W/m.err")"
fi

# every open cell: the transcript shows RCPT to the external address, its 250
# and the relayed message queued (250 after the dot)
open_cells=0
for cell in "open partner" "open cloud" "open far" "partner-trust partner"; do
	read -r s v <<<"$cell"
	"$RP" transcript "$A1" "$(lab_target "$s")" "$v" >"$W/tr.txt" 2>&1
	if grep -qF "RCPT TO:<$LAB_TO>" "$W/tr.txt" && grep -qE '^ +[0-9.]+ <-  250 2\.1\.5 ' "$W/tr.txt" &&
		grep -qE '<-  250 2\.0\.0 Ok: queued' "$W/tr.txt"; then
		open_cells=$((open_cells + 1))
	else
		not_ok "transcript of $s from $v lacks the RCPT/250/queued lines"
		head -30 "$W/tr.txt"
	fi
done
[ $open_cells -eq 4 ] && ok "each of the 4 open cells' transcripts shows RCPT TO:<$LAB_TO>, 250 2.1.5 and 250 queued"

# tls-first: STARTTLS first, every RCPT sent over TLS and refused over TLS
"$RP" transcript "$A1" "$(lab_target tls-first)" far >"$W/tls.txt" 2>&1
if grep -q '=== TLS started: TLSv1' "$W/tls.txt" && grep -qE '<~\* 554 5\.7\.1 .*Relay access denied' "$W/tls.txt" &&
	! grep -qE '^ +[0-9.]+  -> (MAIL|RCPT)' "$W/tls.txt"; then
	ok "tls-first: STARTTLS before any MAIL/RCPT, relaying refused over TLS (closed with TLS facts)"
else
	not_ok "tls-first transcript"
	head -30 "$W/tls.txt"
fi
"$RP" transcript "$A1" "$(lab_target submission)" partner >"$W/sub.txt" 2>&1
if grep -qE '<~?\*? ?530 5\.7\.0 .*Authentication required' "$W/sub.txt"; then
	ok "submission: unauthenticated RCPT refused with 530 5.7.0 (auth-required)"
else
	not_ok "submission transcript"
	head -30 "$W/sub.txt"
fi
"$RP" transcript "$A1" "$(lab_target late-reject)" cloud >"$W/late.txt" 2>&1
if grep -qE '<-  250 2\.1\.5' "$W/late.txt" && grep -q '<-  354 ' "$W/late.txt" &&
	grep -qE '<\*\* 5[0-9][0-9] 5\.7\.1 .*content filter' "$W/late.txt"; then
	ok "late-reject: RCPT accepted (250), message refused at the end of DATA"
else
	not_ok "late-reject transcript"
	head -30 "$W/late.txt"
fi
n=$(rows "$A1")
if [ "$n" = "18 18" ]; then ok "18 results stored, each once"; else not_ok "results stored: $n (want 18 18)"; fi

# what reached the sink: mail relayed by open and partner-trust, none by the others
for _ in $(seq 40); do
	[ "$(sink_from "${LAB_ADDR[open]}")" -ge 3 ] && [ "$(sink_from "${LAB_ADDR[partner-trust]}")" -ge 1 ] && break
	sleep 0.25
done
sink_open=$(sink_from "${LAB_ADDR[open]}")
sink_pt=$(sink_from "${LAB_ADDR[partner-trust]}")
sink_other=0
for s in closed tls-first submission late-reject; do
	sink_other=$((sink_other + $(sink_from "${LAB_ADDR[$s]}")))
done
if [ "$sink_open" -ge 3 ] && [ "$sink_pt" -ge 1 ] && [ "$sink_other" -eq 0 ]; then
	ok "smtp-sink got the relayed test mail: $sink_open via open, $sink_pt via partner-trust, 0 via the others"
else
	not_ok "sink: open=$sink_open partner-trust=$sink_pt others=$sink_other"
fi

# --- 2. late-reject without DATA: open (accept-then-drop) ------------------------
"$RP" audit --wait --wait-timeout 60 --tests basic --to "$LAB_TO" "$(lab_target late-reject)" >"$W/a2.txt" 2>&1
rc=$?
"$RP" report --latest --json >"$W/r2.json" 2>/dev/null
if [ $rc -eq 1 ] && python3 - "$W/r2.json" 2>/dev/null <<'EOF'; then
import json, sys
t = json.load(open(sys.argv[1]))["targets"][0]
assert set(t["cells"].values()) == {"open"} and len(t["cells"]) == 3, t
EOF
	ok "late-reject without --data reads open from every vantage (the refusal comes only after DATA)"
else
	not_ok "late-reject without --data (exit $rc)"
	cat "$W/a2.txt"
fi

# --- 3. submission relays after AUTH (the lab itself) ---------------------------
before=$(sink_from "${LAB_ADDR[submission]}")
if lab_in partner python3 - "${LAB_ADDR[submission]}" "$LAB_SASL_USER" "$LAB_SASL_PASS" "$LAB_TO" <<'EOF'; then
import smtplib, ssl, sys
host, user, pw, to = sys.argv[1:5]
s = smtplib.SMTP(host, 587, timeout=10)
s.ehlo("partner.lab.relayprobe.test")
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s.starttls(context=ctx)
s.ehlo("partner.lab.relayprobe.test")
code, _ = s.docmd("MAIL FROM:<x@partner.example>")
assert code == 250, code
code, msg = s.docmd("RCPT TO:<%s>" % to)
assert code == 530, (code, msg)          # not before AUTH
s.rset()
s.login(user, pw)
s.sendmail("x@partner.example", [to], b"Subject: lab auth\r\n\r\nrelayed after AUTH\r\n")
s.quit()
EOF
	for _ in $(seq 40); do
		[ "$(sink_from "${LAB_ADDR[submission]}")" -gt "$before" ] && break
		sleep 0.25
	done
	if [ "$(sink_from "${LAB_ADDR[submission]}")" -gt "$before" ]; then
		ok "submission: 530 before AUTH, relays after AUTH PLAIN (the message reached the sink)"
	else
		not_ok "submission: accepted after AUTH but nothing reached the sink"
	fi
else
	not_ok "submission: AUTH and relay from partner"
fi

# --- 4a. far's link cut before its order arrives ---------------------------------
lab_link_cut far
"$RP" audit --json "${AUDIT_ARGS[@]}" "${ALL[@]}" >"$W/a4.json" 2>&1
A4=$(audit_id "$W/a4.json")
others=0
for _ in $(seq 80); do
	others=$(($(cells "$A4" partner) + $(cells "$A4" cloud)))
	[ "$others" -eq 12 ] && break
	sleep 0.25
done
sleep 1
far_during=$(cells "$A4" far)
if [ "$others" -eq 12 ] && [ "$far_during" -eq 0 ]; then
	ok "far's link down: partner and cloud finish, far has 0 of 6 cells"
else
	not_ok "during the cut: partner+cloud $others of 12 cells, far $far_during (want 0)"
fi
lab_link_restore far
if wait_report "$A4" 18 90 && python3 "$W/matrix.py" "$W/r-$A4.json" >"$W/m.err" 2>&1; then
	ok "link restored: far's order arrives late, its 6 cells fill in with the right verdicts"
else
	not_ok "after the link came back: $(head -c 600 "$W/m.err" 2>/dev/null)"
fi
n=$(rows "$A4")
if [ "$n" = "18 18" ]; then ok "link cut: 18 results stored, each once"; else not_ok "link cut: results $n (want 18 18)"; fi

# --- 4b. far's link cut while it probes --------------------------------------------
# far is paused (SIGSTOP) so that it holds the order when the link goes down:
# its probes then fail during the cut, its results wait in its spool.
kill -STOP "${LAB_AGENT_PID[far]}"
"$RP" audit --json "${AUDIT_ARGS[@]}" "${ALL[@]}" >"$W/a5.json" 2>&1
A5=$(audit_id "$W/a5.json")
sleep 0.5
lab_link_cut far
kill -CONT "${LAB_AGENT_PID[far]}"
# far's connections fail (no route to host) within a few seconds; the
# results cannot reach the controller while the link is down
for _ in $(seq 60); do
	grep -q "order done order=a$A5-" "$LAB_DIR/agent-far.log" && break
	sleep 0.25
done
sleep 1
far_during=$(cells "$A5" far)
spooled=$(find "$LAB_DIR/state-far/spool" -type f 2>/dev/null | wc -l)
if grep -q "order done order=a$A5-" "$LAB_DIR/agent-far.log" && [ "$far_during" -eq 0 ] && [ "$spooled" -ge 6 ]; then
	ok "link down while far probes: it finishes, $spooled results wait in its spool, 0 cells at the controller"
else
	not_ok "far during the cut: cells $far_during, spooled $spooled"
fi
lab_link_restore far
if wait_report "$A5" 18 90 && python3 - "$W/r-$A5.json" <<'EOF'; then
import json, os, sys
r = json.load(open(sys.argv[1]))
want = json.loads(os.environ["EXPECT"])
for t in r["targets"]:
    verdict, cells = want[t["target"]]
    assert t["cells"]["far"] == "unreachable", t
    assert t["cells"]["partner"] == cells["partner"] and t["cells"]["cloud"] == cells["cloud"], t
    assert t["verdict"] == verdict, t          # never "closed" for an open one
    assert t["partial"] is True, t
EOF
	ok "link restored: far's spooled results arrive late (unreachable, flagged partial; verdicts unchanged)"
else
	not_ok "far's late results after the cut"
fi
n=$(rows "$A5")
if [ "$n" = "18 18" ]; then ok "link cut mid-probe: 18 results stored, each once"; else not_ok "results $n (want 18 18)"; fi

# --- 5. kill -9 of the controller mid-audit ------------------------------------------
"$RP" audit --json "${AUDIT_ARGS[@]}" "${ALL[@]}" >"$W/a6.json" 2>&1
A6=$(audit_id "$W/a6.json")
sleep 0.3
lab_controller_kill9
sleep 2 # the agents go on probing and spool their results
if lab_controller_start; then ok "controller restarted after kill -9"; else not_ok "controller restart"; fi
if wait_report "$A6" 18 120 && python3 "$W/matrix.py" "$W/r-$A6.json" >"$W/m.err" 2>&1; then
	ok "after kill -9 and restart the audit completes with the full matrix"
else
	not_ok "audit after controller kill -9: $(head -c 600 "$W/m.err" 2>/dev/null)"
fi
n=$(rows "$A6")
if [ "$n" = "18 18" ]; then ok "controller kill -9: 18 results stored, each once"; else not_ok "results $n (want 18 18)"; fi

# --- 6. Postfix "open" stopped mid-audit --------------------------------------------
# the agents are paused so that the audit is running (orders sent) when the
# server goes away and before any probe reaches it
for v in "${LAB_VANTAGES[@]}"; do kill -STOP "${LAB_AGENT_PID[$v]}"; done
"$RP" audit --json "${AUDIT_ARGS[@]}" "$(lab_target open)" "$(lab_target closed)" >"$W/a7.json" 2>&1
A7=$(audit_id "$W/a7.json")
lab_postfix_stop open
for v in "${LAB_VANTAGES[@]}"; do kill -CONT "${LAB_AGENT_PID[$v]}"; done
if wait_report "$A7" 6 90 && python3 - "$W/r-$A7.json" "$(lab_target open)" "$(lab_target closed)" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
t = {x["target"]: x for x in r["targets"]}
o, c = t[sys.argv[2]], t[sys.argv[3]]
assert o["cells"] == {"partner": "unreachable", "cloud": "unreachable", "far": "unreachable"}, o
assert o["inconclusive"] is True and o["verdict"] not in ("closed", "open"), o
assert set(c["cells"].values()) == {"closed"} and c["verdict"] == "closed", c
EOF
	ok "Postfix open stopped: unreachable from all 3 vantages, target inconclusive ($(python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); print([t["verdict"] for t in r["targets"] if t["target"]==sys.argv[2]][0])' "$W/r-$A7.json" "$(lab_target open)")), not closed"
else
	not_ok "Postfix open stopped mid-audit"
	head -c 800 "$W/r-$A7.json" 2>/dev/null
fi
"$RP" report "$A7" >/dev/null 2>&1
rc=$?
if [ $rc -eq 3 ]; then ok "report exits 3 (nothing open, some target inconclusive)"; else not_ok "report exit $rc (want 3)"; fi
if lab_postfix_start open; then ok "Postfix open restarted"; else not_ok "Postfix open restart"; fi

alive=1
for p in "$LAB_CTL_PID" "${LAB_AGENT_PID[@]}"; do
	kill -0 "$p" 2>/dev/null || alive=0
done
if [ $alive -eq 1 ]; then ok "controller and the 3 agents still running after the faults"; else
	not_ok "a daemon died during the faults"
fi
# sanitizer builds: the daemons' reports land in their logs
if grep -q __asan_init "$BIN/relayprobe-agent" 2>/dev/null; then
	if grep -lE 'ERROR: AddressSanitizer|runtime error:' "$LAB_DIR"/*.log >"$W/san.txt" 2>/dev/null; then
		not_ok "sanitizer reports in $(tr '\n' ' ' <"$W/san.txt")"
		grep -hE -A12 'ERROR: AddressSanitizer|runtime error:' "$LAB_DIR"/*.log | head -60
	else
		ok "no AddressSanitizer/UBSan report in the controller's or agents' logs"
	fi
fi

echo "# total $((SECONDS - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
