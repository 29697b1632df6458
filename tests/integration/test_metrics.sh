#!/usr/bin/env bash
# test_metrics.sh - the controller's Prometheus endpoint with real processes,
# everything on loopback:
#
#   relayprobe CLI --ipc--> relayprobe-controller (tcp://127.0.0.1:$CTL_PORT)
#   python3 HTTP client --> 127.0.0.1:$MET_PORT (metrics = ...)
#                              ^
#            agent "fra1" --> Postfix lab 127.0.0.1:$LAB_PORT_CLOSED
#
# Checks: agents and orders by state, results counters equal to the rows in
# the database, the audit's closed target counted, 404/405/431 answers, a
# bad metrics address refused at start-up, and stalled clients (connect,
# send nothing) neither block the admin socket nor the endpoint and are
# dropped after the timeout; [metrics] token_file (401 without or with a
# wrong bearer token, 200 with it; a readable token file refused), a GET
# flood served from one snapshot (relayprobe_metrics_snapshots_total), a bare
# port bound on 127.0.0.1, a wildcard address without a token refused.
# $1 = relayprobe binary; relayprobe-controller and relayprobe-agent beside it.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_daemons_init "$@"
rp_tmpdir rpmet
rp_lab_start

read -r CTL_PORT MET_PORT < <(lab_free_ports 2 | tr '\n' ' ')
rp_admin_init
rp_keygen fra1

# write_ctl_conf METRICS [METRICS-SECTION-LINE]
write_ctl_conf() {
	rp_controller_conf "metrics = $1" "[metrics]" "${2:-snapshot_seconds = 0}"
}

# http METHOD PATH [RAW]: prints "STATUS\n<headers>\n\n<body>" of one request.
cat >"$T/http.py" <<'PY'
import os, socket, sys
port, method, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = sys.argv[4].encode() if len(sys.argv) > 4 else None
auth = f"Authorization: Bearer {os.environ['RP_TOKEN']}\r\n" if os.environ.get("RP_TOKEN") else ""
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(raw if raw is not None else f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, body = data.partition(b"\r\n\r\n")
lines = head.decode().split("\r\n")
print(lines[0].split(" ")[1])
print("\n".join(lines[1:]))
print()
sys.stdout.write(body.decode())
PY
http() { python3 "$T/http.py" "$MET_PORT" "$@"; }
# status METHOD PATH [RAW]: the status code only
status() {
	http "$@" >"$T/resp.txt" 2>&1
	head -1 "$T/resp.txt"
}
# metric 'NAME{labels}': its value in the last scrape, or "absent"
metric() {
	awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "absent" }' "$T/scrape.txt"
}
scrape() { http GET /metrics >"$T/scrape.txt"; }

# --- a bad address is refused at start-up -------------------------------------
write_ctl_conf "localhost:$MET_PORT"
"$CTL" --config "$T/controller.conf" >"$T/bad.log" 2>&1
rc=$?
if [[ $rc -ne 0 ]] && grep -qF "[controller] metrics: " "$T/bad.log"; then
	ok "metrics = localhost:PORT refused (numeric addresses only), exit $rc"
else
	not_ok "bad metrics address: exit $rc"
	cat "$T/bad.log"
fi

write_ctl_conf "127.0.0.1:$MET_PORT"
rp_start_controller
if grep -q "metrics listening on 127.0.0.1:$MET_PORT" "$T/controller.log"; then
	ok "controller listens for metrics"
else
	not_ok "controller metrics listener"
	cat "$T/controller.log"
	echo "$passed passed, $failed failed"
	exit 1
fi

scrape
if [[ $(head -1 "$T/scrape.txt") == 200 ]] &&
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/scrape.txt" &&
	grep -qi '^Connection: close' "$T/scrape.txt" &&
	[[ $(metric relayprobe_agents_connected) == 0 ]] &&
	[[ $(metric relayprobe_last_audit_timestamp_seconds) == absent ]]; then
	ok "empty controller: 200, format 0.0.4, 0 agents connected, no audit yet"
else
	not_ok "first scrape"
	cat "$T/scrape.txt"
fi

"$RP" agents import "$T/keys/fra1.pub" >/dev/null || not_ok "import fra1"
rp_agent_conf fra1 127.0.0.1 1000 10 ""
rp_start_agent fra1
for _ in $(seq 1 100); do
	scrape
	[[ $(metric relayprobe_agents_connected) == 1 ]] && break
	sleep 0.1
done
if [[ $(metric relayprobe_agents_connected) == 1 && $(metric 'relayprobe_agents{status="approved"}') == 1 ]]; then
	ok "one approved agent, connected"
else
	not_ok "agent connected: $(metric relayprobe_agents_connected)"
fi

CLOSED="127.0.0.1:$LAB_PORT_CLOSED"
DEAD="127.0.0.1:$(lab_free_ports 1)" # nothing listens: unreachable, inconclusive
"$RP" audit --wait --wait-timeout 120 --tests basic --to relaytest@example.net "$CLOSED" "$DEAD" \
	>"$T/audit.txt" 2>&1
grep -q closed "$T/audit.txt" || not_ok "audit did not finish: $(cat "$T/audit.txt")"
scrape
read -r nres nerr < <(python3 - "$T/controller.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select count(*) from results").fetchone()[0],
      db.execute("select count(*) from results where verdict='unreachable'").fetchone()[0])
PY
)
if [[ $nres -ge 1 && $(metric relayprobe_results_ingested_total) == "$nres" &&
	$(metric relayprobe_results_stored) == "$nres" ]]; then
	ok "results_ingested_total = results_stored = $nres rows in the database"
else
	not_ok "results counters: ingested=$(metric relayprobe_results_ingested_total) stored=$(metric relayprobe_results_stored) db=$nres"
fi
if [[ $nerr -ge 1 && $(metric 'relayprobe_probe_errors_total{class="unreachable"}') == "$nerr" &&
	$(metric 'relayprobe_probe_errors_total{class="error"}') == 0 ]]; then
	ok "probe_errors_total{class=unreachable} = $nerr"
else
	not_ok "probe errors: $(metric 'relayprobe_probe_errors_total{class="unreachable"}') want $nerr"
fi
if [[ $(metric 'relayprobe_targets{verdict="closed",client=""}') == 1 &&
	$(metric 'relayprobe_targets{verdict="inconclusive",client=""}') == 1 &&
	$(metric 'relayprobe_targets{verdict="unreachable",client=""}') == 0 &&
	$(metric 'relayprobe_targets{verdict="open",client=""}') == 0 ]]; then
	ok "targets{verdict=closed} 1, inconclusive 1 (the unreachable one), open 0"
else
	not_ok "targets by verdict"
	grep relayprobe_targets "$T/scrape.txt"
fi
if [[ $(metric 'relayprobe_orders{state="done"}') == 1 && $(metric 'relayprobe_orders{state="pending"}') == 0 ]]; then
	ok "orders{state=done} 1, none pending"
else
	not_ok "orders by state"
	grep relayprobe_orders "$T/scrape.txt"
fi
ts=$(metric relayprobe_last_audit_timestamp_seconds)
dur=$(metric relayprobe_last_audit_duration_seconds)
now=$(date +%s)
if [[ $ts =~ ^[0-9]+$ && $dur =~ ^[0-9]+$ ]] && ((now - ts < 300 && dur < 200)); then
	ok "last audit timestamp $ts, duration ${dur}s"
else
	not_ok "last audit times: ts=$ts dur=$dur now=$now"
fi

# --- other requests ------------------------------------------------------------
[[ $(status GET /other) == 404 ]] && ok "GET /other is 404" || not_ok "GET /other"
[[ $(status POST /metrics) == 405 ]] && ok "POST /metrics is 405" || not_ok "POST /metrics"
big="GET /metrics HTTP/1.1\r\nX: $(head -c 6000 /dev/zero | tr '\0' a)\r\n\r\n"
[[ $(status GET /metrics "$(printf "$big")") == 431 ]] && ok "a request over 4 KiB is 431" ||
	not_ok "huge request"

# --- stalled clients --------------------------------------------------------------
# 20 connections that send nothing (more than the 16 slots), held open.
cat >"$T/stall.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
print("open", flush=True)
time.sleep(4)
# After the 2 s timeout the controller has closed every one of them.
closed = 0
for s in socks:
    s.settimeout(0.5)
    try:
        if s.recv(1) == b"":
            closed += 1
    except (ConnectionResetError, socket.timeout):
        closed += 1 if not isinstance(sys.exc_info()[1], socket.timeout) else 0
print("closed", closed, flush=True)
time.sleep(30)
PY
python3 "$T/stall.py" "$MET_PORT" >"$T/stall.out" 2>&1 &
rp_track $!
for _ in $(seq 1 50); do grep -q open "$T/stall.out" && break; sleep 0.1; done
t0=$(date +%s%N)
timeout 5 "$RP" agents list >/dev/null 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [[ $rc -eq 0 && $ms -lt 1500 ]]; then ok "agents list answers in ${ms} ms with 20 stalled metrics clients"; else
	not_ok "agents list with stalled clients: rc=$rc ${ms} ms"
fi
scrape
[[ $(head -1 "$T/scrape.txt") == 200 ]] && ok "a scrape still succeeds beside stalled clients" ||
	not_ok "scrape with stalled clients"
for _ in $(seq 1 60); do grep -q closed "$T/stall.out" && break; sleep 0.1; done
if grep -q "closed 20" "$T/stall.out"; then ok "stalled clients are dropped after the timeout"; else
	not_ok "stalled clients: $(cat "$T/stall.out")"
fi

kill "$CPID"
wait "$CPID" 2>/dev/null
rc=$?
if [[ $rc -eq 0 ]] && grep -q "controller stopping" "$T/controller.log"; then
	ok "controller stops cleanly (exit 0)"
else
	not_ok "controller stop: exit $rc"
fi
CPID=""

# --- bearer token, snapshots, loopback by default ----------------------------------
printf 's3cret-%s\n' "$RANDOM$RANDOM" >"$T/token"
chmod 0644 "$T/token"
write_ctl_conf "127.0.0.1:$MET_PORT" "token_file = $T/token"
"$CTL" --config "$T/controller.conf" >"$T/badtok.log" 2>&1
rc=$?
if [[ $rc -ne 0 ]] && grep -q "token_file $T/token: must be a regular file owned by" "$T/badtok.log"; then
	ok "a token file others may read is refused (exit $rc)"
else
	not_ok "token file mode 0644: exit $rc"
	cat "$T/badtok.log"
fi
chmod 0600 "$T/token"
TOKEN=$(head -1 "$T/token")
rp_start_controller
st_none=$(status GET /metrics)
st_wrong=$(RP_TOKEN=wrong-token status GET /metrics)
st_other=$(status GET /other)
st_good=$(RP_TOKEN=$TOKEN status GET /metrics)
# (to a file first: grep -q closing the pipe early fails the pipeline)
http GET /metrics >"$T/unauth.txt" 2>&1
if [[ $st_none == 401 && $st_wrong == 401 && $st_other == 401 && $st_good == 200 ]] &&
	grep -qi '^WWW-Authenticate: Bearer' "$T/unauth.txt"; then
	ok "token: 401 without it, 401 with a wrong one (and for any path), 200 with it"
else
	not_ok "token: none=$st_none wrong=$st_wrong other=$st_other good=$st_good"
fi
# snapshot_seconds defaults to 10: a flood of GETs (one process, no pause)
# recomputes at most once per 10 s started.
cat >"$T/flood.py" <<'PY'
import re, socket, sys, time
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
t0 = time.monotonic()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(f"GET /metrics HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
m = re.search(rb"^relayprobe_metrics_snapshots_total (\d+)$", data, re.M)
print(m.group(1).decode() if m else "absent", int(time.monotonic() - t0))
PY
read -r snaps secs < <(python3 "$T/flood.py" "$MET_PORT" "$TOKEN" 200)
if [[ $snaps =~ ^[0-9]+$ && $snaps -le $((2 + secs / 10)) ]]; then
	ok "201 GETs in ${secs}s: $snaps recomputation(s) (relayprobe_metrics_snapshots_total)"
else
	not_ok "201 GETs in ${secs}s: relayprobe_metrics_snapshots_total=$snaps"
fi
rp_stop_controller

write_ctl_conf "$MET_PORT"
rp_start_controller
if grep -q "metrics listening on 127.0.0.1:$MET_PORT " "$T/controller.log" &&
	ss -Hltn "sport = :$MET_PORT" | awk '{ print $4 }' | grep -qx "127.0.0.1:$MET_PORT"; then
	ok "metrics = PORT listens on 127.0.0.1 only"
else
	not_ok "metrics = PORT: $(ss -Hltn "sport = :$MET_PORT")"
fi
rp_stop_controller

for wild in "0.0.0.0:$MET_PORT" "[::]:$MET_PORT"; do
	write_ctl_conf "$wild"
	"$CTL" --config "$T/controller.conf" >"$T/wild.log" 2>&1
	rc=$?
	if [[ $rc -ne 0 ]] && grep -qF "metrics = $wild listens on every interface: give [metrics] token_file" "$T/wild.log"; then
		ok "metrics = $wild without a token refused (exit $rc)"
	else
		not_ok "metrics = $wild without a token: exit $rc"
		cat "$T/wild.log"
	fi
done

if [[ $failed -gt 0 ]]; then
	echo "--- controller log"
	tail -30 "$T/controller.log"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
