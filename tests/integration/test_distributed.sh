#!/usr/bin/env bash
# test_distributed.sh - the controller and three agents as real processes,
# real ZeroMQ CURVE sockets and a real SQLite file, against a real Postfix
# that trusts one vantage only. Everything on loopback:
#
#   relayprobe CLI --ipc--> relayprobe-controller (tcp://127.0.0.1:$CTL_PORT)
#                              ^        ^        ^
#            agent "fra1" (probes from 127.0.0.5, trusted by TRUST_ONE)
#            agent "ams1" (probes from 127.0.0.3)
#            agent "nyc1" (probes from 127.0.0.4)
#                              |
#                 Postfix lab: 127.0.0.1:$LAB_PORT_TRUST_ONE (mynetworks 127.0.0.5/32)
#                              127.0.0.1:$LAB_PORT_CLOSED
#
# Checks: matrix open/closed/closed with DISAGREE and aggregated open; the
# open cell's transcript shows the 250; an agent offline at audit start gets
# its order when it connects; kill -9 of the controller mid-audit loses and
# duplicates nothing; an unknown key is pending and gets no order; a revoked
# agent is dropped.
# $1 = relayprobe binary; relayprobe-controller and relayprobe-agent beside it.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_daemons_init "$@"
rp_tmpdir rpdist
rp_lab_start

CTL_PORT=$(lab_free_ports 1)
rp_admin_init
rp_keygen fra1 ams1 nyc1 rogue
rp_controller_conf

if rp_start_controller; then ok "controller starts and answers on the admin socket"; else
	not_ok "controller starts"
	cat "$T/controller.log"
	echo "$passed passed, $((failed + 1)) failed"
	exit 1
fi

for a in fra1 ams1 nyc1; do
	"$RP" agents import "$T/keys/$a.pub" >/dev/null || not_ok "import $a"
done
rp_agent_conf fra1 127.0.0.5
rp_agent_conf ams1 127.0.0.3
rp_agent_conf nyc1 127.0.0.4 100
# nyc1 takes 2 orders at once ([agent] capacity): its order window is 3
sed -i '/^bind = /a capacity = 2' "$T/nyc1.conf"
rp_agent_conf rogue 127.0.0.6
for a in fra1 ams1 nyc1; do rp_start_agent $a; done
if rp_wait_connected 3; then ok "three imported agents connect"; else not_ok "three agents connect"; fi

# --- the matrix ---------------------------------------------------------
TRUST="127.0.0.1:$LAB_PORT_TRUST_ONE"
CLOSED="127.0.0.1:$LAB_PORT_CLOSED"
"$RP" audit --wait --wait-timeout 120 --tests basic --to relaytest@example.net \
	"$TRUST" "$CLOSED" >"$T/audit.txt" 2>"$T/audit.err"
rc=$?
if [[ $rc -eq 1 ]]; then ok "audit exits 1 (an open relay was found)"; else
	not_ok "audit exit status $rc (want 1)"
	cat "$T/audit.txt" "$T/audit.err"
fi
grep -q DISAGREE "$T/audit.txt" && ok "text matrix flags DISAGREE" || not_ok "no DISAGREE in the matrix"

"$RP" report --latest --json >"$T/report.json" 2>/dev/null
if python3 - "$T/report.json" "$TRUST" "$CLOSED" <<'EOF'; then ok "report: trust-one open from fra1 only, disagree; closed target closed"; else not_ok "report matrix"; fi
import json, sys
r = json.load(open(sys.argv[1]))
t = {x["target"]: x for x in r["targets"]}
a, b = t[sys.argv[2]], t[sys.argv[3]]
assert a["verdict"] == "open", a
assert a["disagree"] is True, a
assert a["cells"] == {"fra1": "open", "ams1": "closed", "nyc1": "closed"}, a["cells"]
assert "external-sender" in a["accepted"]["fra1"], a["accepted"]
assert b["verdict"] == "closed", b
assert b["disagree"] is False, b
assert set(b["cells"].values()) == {"closed"}, b
EOF
AUDIT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["audit"])' "$T/report.json")

"$RP" transcript "$AUDIT" "$TRUST" fra1 >"$T/tr.txt" 2>&1
if grep -qE '<-  250 2\.1\.5' "$T/tr.txt" && grep -q 'RCPT TO:<relaytest@example.net>' "$T/tr.txt"; then
	ok "open cell's transcript shows the RCPT and its 250"
else
	not_ok "transcript of the open cell"
	head -40 "$T/tr.txt"
fi
n=$(python3 - "$T/controller.db" "$AUDIT" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select count(*) from results r join orders o on o.id = r.order_id where o.audit_id = ?", (int(sys.argv[2]),)).fetchone()[0])
EOF
)
if [[ $n == 6 ]]; then ok "six results stored (2 targets x 3 vantages)"; else not_ok "results stored: $n (want 6)"; fi

# --- an agent offline when the audit starts --------------------------------
kill "${APID[nyc1]}"
wait "${APID[nyc1]}" 2>/dev/null
"$RP" audit --tests basic --to relaytest@example.net "$CLOSED" >"$T/a2.txt" 2>&1
sleep 1
rp_start_agent nyc1
if "$RP" report --latest --json 2>/dev/null >/dev/null && timeout 60 bash -c "
	until \"$RP\" report --latest --json 2>/dev/null | python3 -c '
import json,sys
r=json.load(sys.stdin); c=r[\"targets\"][0][\"cells\"]
sys.exit(0 if c.get(\"nyc1\")==\"closed\" and len(c)==3 else 1)'; do sleep 0.3; done"; then
	ok "an agent offline at audit start gets its order when it connects"
else
	not_ok "offline agent's order"
fi

# --- kill -9 of the controller mid-audit ------------------------------------
"$RP" audit --tests all --to relaytest@example.net "$TRUST" "$CLOSED" >"$T/a3.txt" 2>&1
A3=$("$RP" report --latest --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["audit"])')
kill -9 "$CPID"
wait "$CPID" 2>/dev/null
sleep 2 # the agents go on probing and spool their results
rp_start_controller || not_ok "controller restarts"
if timeout 120 bash -c "
	until \"$RP\" report $A3 --json 2>/dev/null | python3 -c '
import json,sys
r=json.load(sys.stdin)
sys.exit(0 if all(len(t[\"cells\"])==3 for t in r[\"targets\"]) and len(r[\"targets\"])==2 else 1)'; do sleep 0.5; done"; then
	ok "after kill -9 and restart the audit completes"
else
	not_ok "audit after controller kill -9"
fi
n=$(python3 - "$T/controller.db" "$A3" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select r.agent_id, r.order_id, r.target, r.address, r.port from results r join orders o on o.id = r.order_id where o.audit_id = ?", (int(sys.argv[2]),)).fetchall()
print(len(rows), len(set(rows)))
EOF
)
if [[ $n == "6 6" ]]; then ok "every result stored exactly once after the kill ($n)"; else not_ok "results after kill: $n (want 6 6)"; fi

# --- kill -9 of an agent mid-order -----------------------------------------------
# A server that waits 3 s before its greeting (slow_smtp.py) keeps fra1 busy;
# fra1 dies with the order accepted and no result yet, restarts, and
# finishes the order.
SLOW_PORT=$(lab_free_ports 1)
python3 "$HERE/slow_smtp.py" "$SLOW_PORT" 5 >"$T/slow.log" 2>&1 &
APID[slow]=$!
sleep 0.5
# fra1 must hold a session with the (restarted) controller before the audit,
# or the order only reaches it after the restart below and nothing is resumed.
rp_wait_agent_connected fra1 || not_ok "fra1 did not reconnect to the restarted controller"
accepted_before=$(grep -c "order accepted" "$T/agent-fra1.log")
"$RP" audit --vantages fra1 --tests basic --to relaytest@example.net \
	"127.0.0.1:$SLOW_PORT" >"$T/a5.txt" 2>&1
A5=$("$RP" report --latest --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["audit"])')
accepted=0
for _ in $(seq 1 300); do
	if [[ $(grep -c "order accepted" "$T/agent-fra1.log") -gt $accepted_before ]]; then
		accepted=1
		break
	fi
	sleep 0.1
done
[[ $accepted -eq 1 ]] || not_ok "fra1 did not accept the slow order within 30 s"
sleep 1 # connected, waiting for the greeting
kill -9 "${APID[fra1]}"
wait "${APID[fra1]}" 2>/dev/null
rp_start_agent fra1
cat >"$T/cell.py" <<'PY'
import json, sys
r = json.load(sys.stdin)
sys.exit(0 if r["targets"] and r["targets"][0]["cells"].get("fra1") == "closed" else 1)
PY
resumed=0
for _ in $(seq 1 150); do
	if "$RP" report "$A5" --json 2>/dev/null | python3 "$T/cell.py"; then
		resumed=1
		break
	fi
	sleep 0.3
done
if [[ $resumed -eq 1 ]]; then ok "an agent killed mid-order finishes the order after restart"; else not_ok "agent kill -9 mid-order"; fi
grep -q "resuming order" "$T/agent-fra1.log" && ok "the restarted agent resumed the accepted order" || not_ok "no 'resuming order' in the agent log"

# --- an unknown key: pending, no orders ---------------------------------------
rp_start_agent rogue
sleep 2
if "$RP" agents list --json | python3 -c '
import json,sys
a=[x for x in json.load(sys.stdin)["agents"] if x["status"]=="pending"]
assert len(a)==1 and a[0]["fingerprint"], a
assert not a[0].get("connected"), a'; then ok "unknown agent key is listed as pending, not connected"; else not_ok "pending agent"; fi
if grep -q "order" "$T/agent-rogue.log" && grep -qE "order (accepted|verified)" "$T/agent-rogue.log"; then
	not_ok "pending agent received an order"
else
	ok "pending agent received no order"
fi

# --- revoke -------------------------------------------------------------------
"$RP" agents revoke ams1 >/dev/null || not_ok "revoke ams1"
sleep 1
if "$RP" agents list --json | python3 -c '
import json,sys
a={x["name"]:x for x in json.load(sys.stdin)["agents"] if x.get("name")}
assert a["ams1"]["status"]=="revoked" and not a["ams1"].get("connected"), a["ams1"]'; then
	ok "revoked agent shows revoked and disconnected"
else
	not_ok "revoked agent"
fi
"$RP" audit --wait --wait-timeout 60 --tests basic --to relaytest@example.net "$CLOSED" >"$T/a4.txt" 2>&1
if "$RP" report --latest --json | python3 -c '
import json,sys
c=json.load(sys.stdin)["targets"][0]["cells"]
assert "ams1" not in c and set(c)=={"fra1","nyc1"}, c'; then ok "a revoked agent gets no order"; else not_ok "revoked agent still used"; fi

# --- an address-literal recipient, CLI -> controller -> agents -----------------
# One mailbox rule (common/syntax.c): what `audit --to` accepts the agents run
# (they used to refuse every target with "bad rcpt_to"). 192.0.2.1 is only
# text in RCPT TO; the agents dial the loopback lab server.
"$RP" audit --wait --wait-timeout 60 --tests external-sender --to 'relaytest@[192.0.2.1]' \
	"$TRUST" >"$T/a-literal.txt" 2>&1
"$RP" report --latest --json >"$T/literal.json" 2>/dev/null
AL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["audit"])' "$T/literal.json")
"$RP" transcript "$AL" "$TRUST" fra1 >"$T/tr-literal.txt" 2>&1
if python3 -c '
import json,sys
c=json.load(open(sys.argv[1]))["targets"][0]["cells"]
assert set(c)=={"fra1","nyc1"} and "error" not in c.values(), c' "$T/literal.json" &&
	grep -qF 'RCPT TO:<relaytest@[192.0.2.1]>' "$T/tr-literal.txt" &&
	! grep -q 'bad rcpt_to' "$T/tr-literal.txt"; then
	ok "audit --to x@[192.0.2.1]: the agents run it"
else
	not_ok "audit --to x@[192.0.2.1]"
	cat "$T/a-literal.txt"
	head -20 "$T/tr-literal.txt"
fi

# --- a large audit through the order window ------------------------------------
# nyc1 takes 100 targets per order (the controller's floor,
# RP_CTL_TARGETS_PER_ORDER_MIN): 1,701 targets make 18 orders, more than the
# agent queues (16). The controller keeps nyc1's capacity (2) plus one out
# at a time, never more; every target gets its result and the audit
# finishes.
DEAD_PORT=$(lab_free_ports 1)
many=()
for i in $(seq 0 1700); do many+=("127.0.$((1 + i / 250)).$((1 + i % 250)):$DEAD_PORT"); done
"$RP" audit --vantages nyc1 --wait --wait-timeout 300 --tests external-sender \
	--to relaytest@example.net "${many[@]}" >"$T/a-many.txt" 2>&1
"$RP" report --latest --json >"$T/many.json" 2>&1 # exit 3: unreachable is inconclusive
if python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))
assert r["status"] == "done", r["status"]
assert len(r["targets"]) == 1701, len(r["targets"])
assert all(t["cells"].get("nyc1") == "unreachable" for t in r["targets"]), r["targets"]' "$T/many.json"; then
	ok "1,701 targets in 18 orders through a window of 3: all done, all results"
else
	not_ok "large audit through the window"
	tail -5 "$T/a-many.txt"
fi
out=$(grep -c "agent=nyc1 sent sequence=" "$T/controller.log")
[[ $out -ge 18 ]] && ok "orders signed at send time ($out sends)" || not_ok "sends logged: $out"
# The most orders out to nyc1 at once, from the controller's log (sent, not
# yet done): its window, capacity + 1.
most=$(python3 -c '
import re,sys
out,most=set(),0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"order=(\S+) agent=nyc1 sent sequence=", line)
    if m:
        out.add(m.group(1)); most = max(most, len(out))
    m = re.search(r" order=(\S+) done results=", line)
    if m:
        out.discard(m.group(1))
print(most)' "$T/controller.log")
grep -q "agent=nyc1 hello .*max_orders=2 " "$T/controller.log" &&
	grep -q "agent=fra1 hello .*max_orders=4 " "$T/controller.log" &&
	[[ $most == 3 ]] && ok "the window follows HELLO's max_orders (nyc1: at most $most out)" ||
	not_ok "window by capacity: at most $most out to nyc1"

if [[ $failed -gt 0 ]]; then
	echo "--- controller log"
	tail -30 "$T/controller.log"
	for a in fra1 ams1 nyc1 rogue; do
		echo "--- agent $a log"
		tail -10 "$T/agent-$a.log" 2>/dev/null
	done
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
