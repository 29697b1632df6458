#!/usr/bin/env bash
# test_hooks.sh - the controller's event hooks and transcript retention with
# real processes on loopback: relayprobe-controller (real SQLite file), one
# agent, flip_smtp.py (closed, then open), a python3 HTTP receiver that
# answers its first POST 500 and the rest 200, and a python3 SMTP sink.
# Checks: no delivery without a verdict change; a closed -> open change
# reaches the webhook as exactly one accepted document (after one retry)
# and the sink as one mail; open -> open sends nothing; retention.run strips
# transcripts while history and report still work; bad [hooks] values are
# refused with FILE:LINE. $1 = relayprobe binary; the daemons beside it.
set -uo pipefail

# shellcheck source=daemons_lib.sh
. "$(dirname "$0")/daemons_lib.sh"
rp_daemons_init "$@"

T=$(mktemp -d /tmp/rphooks.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	[[ ${RP_KEEP_TMP:-0} == 1 ]] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

read -r CTL_PORT FLIP_PORT HTTP_PORT SMTP_PORT <<<"$(python3 - <<'EOF'
import socket
socks = []
for _ in range(4):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)"
ADMIN=ipc://$T/admin.sock
export RELAYPROBE_ADMIN=$ADMIN
FLAG=$T/flip-open

# The webhook receiver: one line per POST in posts.log: "STATUS BODY".
cat >"$T/receiver.py" <<'EOF'
import http.server, sys
port, log = int(sys.argv[1]), sys.argv[2]
count = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        count[0] += 1
        status = 500 if count[0] == 1 else 200
        with open(log, "a") as f:
            f.write("%d %s %s\n" % (status, self.headers.get("Content-Type"), body.decode()))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
# The SMTP sink: each message's DATA in mail.N.
cat >"$T/sink.py" <<'EOF'
import asyncio, sys
port, out = int(sys.argv[1]), sys.argv[2]
n = [0]
async def session(r, w):
    w.write(b"220 sink ESMTP\r\n")
    data = None
    while True:
        line = await r.readline()
        if not line:
            break
        if data is not None:
            if line == b".\r\n":
                n[0] += 1
                with open("%s/mail.%d" % (out, n[0]), "wb") as f:
                    f.write(b"".join(data))
                data = None
                w.write(b"250 ok\r\n")
            else:
                data.append(line)
            continue
        cmd = line[:4].upper()
        if cmd == b"DATA":
            data = []
            w.write(b"354 go\r\n")
        elif cmd == b"QUIT":
            w.write(b"221 bye\r\n")
            await w.drain()
            break
        else:
            w.write(b"250 ok\r\n")
        await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(session, "127.0.0.1", port)
    await srv.serve_forever()
asyncio.run(main())
EOF
# A raw admin request through libzmq (REQ), for commands the CLI lacks.
admin_cmd() {
	python3 - "$T/admin.sock" "$1" <<'EOF'
import ctypes, sys
z = ctypes.CDLL("libzmq.so.5")
z.zmq_ctx_new.restype = ctypes.c_void_p
z.zmq_socket.restype = ctypes.c_void_p
z.zmq_socket.argtypes = [ctypes.c_void_p, ctypes.c_int]
z.zmq_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
z.zmq_send.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
z.zmq_recv.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
z.zmq_setsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
ctx = z.zmq_ctx_new()
s = z.zmq_socket(ctx, 3)  # ZMQ_REQ
t = ctypes.c_int(10000)
z.zmq_setsockopt(s, 27, ctypes.byref(t), 4)  # ZMQ_RCVTIMEO
z.zmq_connect(s, ("ipc://" + sys.argv[1]).encode())
req = sys.argv[2].encode()
z.zmq_send(s, req, len(req), 0)
buf = ctypes.create_string_buffer(1 << 20)
n = z.zmq_recv(s, buf, len(buf), 0)
if n < 0:
    sys.exit(1)
print(buf.raw[:n].decode())
EOF
}
db() {
	python3 - "$T/controller.db" "$1" <<'EOF'
import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print(*row)
EOF
}
posts() { [[ -f $T/posts.log ]] && wc -l <"$T/posts.log" || echo 0; }
mails() { find "$T" -maxdepth 1 -name 'mail.*' | wc -l; }

python3 "$HERE/flip_smtp.py" "$FLIP_PORT" "$FLAG" >"$T/flip.log" 2>&1 &
PIDS+=($!)
python3 "$T/receiver.py" "$HTTP_PORT" "$T/posts.log" >"$T/receiver.log" 2>&1 &
PIDS+=($!)
python3 "$T/sink.py" "$SMTP_PORT" "$T" >"$T/sink.log" 2>&1 &
PIDS+=($!)

"$RP" keygen --role controller --name ctl --out "$T/keys" >/dev/null || not_ok "keygen controller"
"$RP" keygen --role agent --name v1 --out "$T/keys" >/dev/null || not_ok "keygen agent"

# --- config validation ---------------------------------------------------------
bad_conf() { # $1 = expected line, $2 = key, rest: file lines
	local line=$1 key=$2
	shift 2
	printf '%s\n' "$@" >"$T/bad.conf"
	"$CTL" --config "$T/bad.conf" >"$T/bad.out" 2>&1 && return 1
	grep -q "$T/bad.conf:$line: \[[a-z]*\] $key: " "$T/bad.out"
}
bad_conf 3 webhook "[controller]" "[hooks]" "webhook = ftp://127.0.0.1/x" &&
	ok "webhook must be http(s): FILE:LINE" || not_ok "bad webhook: $(cat "$T/bad.out")"
bad_conf 2 hook_retry_base "[hooks]" "hook_retry_base = 0" &&
	ok "hook_retry_base 0 refused" || not_ok "bad hook_retry_base: $(cat "$T/bad.out")"
bad_conf 2 syslog "[hooks]" "syslog = maybe" && ok "syslog must be yes/no" ||
	not_ok "bad syslog: $(cat "$T/bad.out")"
bad_conf 2 transcript_retention_days "[controller]" "transcript_retention_days = -1" &&
	ok "negative retention refused" || not_ok "bad retention: $(cat "$T/bad.out")"
bad_conf 2 webhook "[controller]" "webhook = http://127.0.0.1/x" &&
	ok "webhook outside [hooks] refused" || not_ok "webhook in [controller]: $(cat "$T/bad.out")"

cat >"$T/controller.conf" <<EOF
[controller]
listen = tcp://127.0.0.1:$CTL_PORT
keys = $T/keys/ctl.secret
database = $T/controller.db
admin = $ADMIN
transcript_retention_seconds = 2

[hooks]
webhook = http://127.0.0.1:$HTTP_PORT/relayprobe
syslog = yes
smtp_server = 127.0.0.1:$SMTP_PORT
mail_from = relayprobe@example.test
mail_to = ops@example.test
hook_retry_base = 1
EOF
mkdir -p "$T/state-v1" && chmod 700 "$T/state-v1"
cat >"$T/v1.conf" <<EOF
[agent]
controller = tcp://127.0.0.1:$CTL_PORT
controller_key = $T/keys/ctl.pub
keys = $T/keys/v1.secret
state = $T/state-v1
bind = 127.0.0.3

[limits]
targets_per_order = 1000
concurrency = 10
rate = 0

[scope]
allow = 127.0.0.0/8
; Postfix listens on loopback, which the agent never dials unless allowed by name.
allow_special = loopback
EOF

"$CTL" --config "$T/controller.conf" >>"$T/controller.log" 2>&1 &
CPID=$!
PIDS+=("$CPID")
up=0
for _ in $(seq 1 50); do
	[[ -S $T/admin.sock ]] && "$RP" agents list >/dev/null 2>&1 && up=1 && break
	sleep 0.1
done
if [[ $up == 1 ]]; then ok "controller starts with [hooks]"; else
	not_ok "controller starts"
	cat "$T/controller.log"
	echo "$passed passed, $failed failed"
	exit 1
fi
"$RP" agents import "$T/keys/v1.pub" >/dev/null || not_ok "agents import"
"$AGENT" --config "$T/v1.conf" >>"$T/agent.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
	"$RP" agents list --json 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if any(a.get("connected") for a in json.load(sys.stdin)["agents"]) else 1)' && break
	sleep 0.1
done

wait_audits() { # N SECONDS: N audits exist and all are done
	for _ in $(seq 1 $(($2 * 5))); do
		[[ $(db "select count(*), sum(status = 'done') from audits") == "$1 $1" ]] && return 0
		sleep 0.2
	done
	return 1
}

FLIP="127.0.0.1:$FLIP_PORT"
printf 'client,target,port,tags\nacme,127.0.0.1,%s,lab\n' "$FLIP_PORT" >"$T/inv.csv"
"$RP" targets import "$T/inv.csv" >/dev/null || not_ok "targets import"
"$RP" schedule add manual --every 1d --client acme >/dev/null || not_ok "schedule add"

# --- audit 1 (closed): a first verdict is no change ----------------------------------
"$RP" schedule run-now manual >/dev/null || not_ok "run-now 1"
wait_audits 1 60 && ok "audit 1 done (closed)" || not_ok "audit 1 not done"
sleep 3
[[ $(posts) == 0 && $(mails) == 0 ]] && ok "no event, nothing sent" ||
	not_ok "sent without an event: posts=$(posts) mails=$(mails)"

# --- audit 2 (open): one event, 500 then 200 ------------------------------------------
touch "$FLAG"
"$RP" schedule run-now manual >/dev/null || not_ok "run-now 2"
wait_audits 2 60 && ok "audit 2 done (open)" || not_ok "audit 2 not done"
for _ in $(seq 1 100); do
	[[ $(posts) -ge 2 && $(mails) -ge 1 ]] && break
	sleep 0.2
done
if python3 - "$T/posts.log" "$FLIP" "$T/advice.key" <<'EOF'; then ok "webhook: 500 then one accepted document for the event"; else not_ok "webhook posts"; cat "$T/posts.log"; fi
import json, sys
lines = [l.rstrip("\n").split(" ", 2) for l in open(sys.argv[1])]
assert [l[0] for l in lines] == ["500", "200"], lines
assert all(l[1] == "application/json" for l in lines), lines
docs = [json.loads(l[2]) for l in lines]
assert docs[0] == docs[1], docs
d = docs[1]
assert set(d) == {"event_id", "time", "target", "client", "from", "to", "audit",
                  "software", "advice"}, d
assert (d["event_id"], d["target"], d["client"], d["from"], d["to"], d["audit"]) == \
    (1, sys.argv[2], "acme", "closed", "open", 2), d
assert d["time"].endswith("Z") and "T" in d["time"], d
# what the operator is to fix: the software named, and the open relay's advice
assert set(d["software"]) == {"name", "label", "confidence"}, d
assert d["advice"] and d["advice"][0]["key"].endswith("/open-relay"), d
assert all(a["summary"] and a["finding"] for a in d["advice"]), d
open(sys.argv[3], "w").write(d["advice"][0]["key"] + "\n")
EOF
if [[ $(mails) == 1 ]] && grep -q "^Subject: relayprobe: $FLIP closed -> open" "$T/mail.1" &&
	grep -q "^To: <ops@example.test>" "$T/mail.1" && grep -q "^Audit: 2" "$T/mail.1" &&
	grep -q "^Software: " "$T/mail.1" &&
	grep -qF "Fix ($(cat "$T/advice.key" 2>/dev/null)): " "$T/mail.1"; then
	ok "email: one message for the event, with the software and the fix"
else
	not_ok "email: $(mails) messages"
	cat "$T"/mail.* 2>/dev/null
fi
# The receiver logs before it answers; the controller notes the answer on its
# next loop turn (at most a second later).
for _ in $(seq 1 25); do
	st=$(db "select hook, state, attempts from hook_deliveries order by hook")
	[[ $st == *"webhook delivered"* ]] && break
	sleep 0.2
done
[[ $st == $'email delivered 1\nsyslog delivered 1\nwebhook delivered 2' ]] &&
	ok "delivery state: webhook delivered after 2 attempts, email and syslog after 1" ||
	not_ok "hook_deliveries: $st"
out=$(admin_cmd '{"cmd":"hooks.status"}')
[[ $out == *'"webhook": {"delivered": 1}'* || $out == *'"webhook":{"delivered":1}'* ]] &&
	ok "hooks.status" || not_ok "hooks.status: $out"
out=$("$RP" hooks 2>&1)
[[ $out == *"webhook delivered=1"* && $out == *"email delivered=1"* ]] &&
	ok "relayprobe hooks: per-hook delivery counts" || not_ok "relayprobe hooks: $out"

# --- audit 3 (open again): no change, nothing sent ----------------------------------
"$RP" schedule run-now manual >/dev/null || not_ok "run-now 3"
wait_audits 3 60 && ok "audit 3 done (open)" || not_ok "audit 3 not done"
sleep 3
[[ $(posts) == 2 && $(mails) == 1 ]] && ok "open -> open sends nothing" ||
	not_ok "after audit 3: posts=$(posts) mails=$(mails)"

# --- retention ----------------------------------------------------------------
n=$(db "select count(*) from results where json_type(result_json, '\$.transcript') is not null")
[[ $n -ge 3 ]] && ok "transcripts stored before retention ($n)" || not_ok "transcripts before: $n"
"$RP" transcript 2 "$FLIP" v1 >"$T/tr.before" 2>&1 && [[ -s $T/tr.before ]] &&
	ok "transcript readable before retention" || not_ok "transcript before: $(cat "$T/tr.before")"
sleep 3 # every result is now older than transcript_retention_seconds = 2
out=$(admin_cmd '{"cmd":"retention.run"}')
[[ $out == *'"stripped": 3'* || $out == *'"stripped":3'* ]] && ok "retention.run strips 3 transcripts" ||
	not_ok "retention.run: $out"
n=$(db "select count(*) from results where json_type(result_json, '\$.transcript') is not null")
[[ $n == 0 ]] && ok "no transcript left" || not_ok "$n transcripts left"
v=$(db "select verdict, json_extract(result_json, '\$.verdict') from results order by id" | tr '\n' ' ')
[[ $v == "closed closed open open open open " ]] && ok "verdicts kept in results and result_json" ||
	not_ok "results after retention: $v"
"$RP" history "$FLIP" --json >"$T/hist.json" 2>&1
python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))["history"]
assert [x["verdict"] for x in h] == ["closed", "open", "open"], h' "$T/hist.json" &&
	ok "history intact after retention" || not_ok "history: $(cat "$T/hist.json")"
"$RP" report 2 --json >"$T/report.json" 2>&1
grep -q '"open"' "$T/report.json" && ok "report still works after retention" ||
	not_ok "report: $(head -c 400 "$T/report.json")"
out=$("$RP" retention run 2>&1)
[[ $out == "0 transcripts removed" ]] && ok "second run (relayprobe retention run) strips nothing" ||
	not_ok "relayprobe retention run again: $out"

kill "$CPID" 2>/dev/null
rc=0
for _ in $(seq 1 50); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
wait "$CPID" 2>/dev/null || rc=$?
[[ $rc == 0 ]] && ok "controller stops cleanly (SIGTERM)" || not_ok "controller exit status $rc"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
