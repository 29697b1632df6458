#!/usr/bin/env bash
# test_daemons_valgrind.sh - relayprobe-controller and two relayprobe-agents
# run a full small audit (2 targets x 2 vantages) under valgrind
# (--leak-check=full, definite leaks and memory errors are errors), then get
# SIGTERM; each must exit 0. With ASan-built binaries valgrind cannot run
# them: the same scenario runs unwrapped and ASan/LSan decide the exit code.
#
#   relayprobe CLI --ipc--> controller (tcp://127.0.0.1:$CTL_PORT)
#                             ^ agent a1 (from 127.0.0.2)  ^ agent a2 (from 127.0.0.3)
#                             |
#       python3 asyncio SMTP on 127.0.0.1: $OPEN_PORT (accepts every RCPT),
#                                          $CLOSED_PORT (554 relay denied)
# $1 = relayprobe binary; relayprobe-controller and relayprobe-agent beside it.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_daemons_init "$@"
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

is_asan() {
	nm "$1" 2>/dev/null | grep -q '__asan_init' || ldd "$1" 2>/dev/null | grep -q 'libasan'
}
ASAN=0
if is_asan "$CTL" || is_asan "$AGENT"; then
	ASAN=1
	echo "# ASan build detected: daemons run without valgrind; ASan/LSan check errors and leaks"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
	WRAP=()
elif command -v valgrind >/dev/null; then
	echo "# daemons run under valgrind --leak-check=full --errors-for-leak-kinds=definite"
else
	echo "test_daemons_valgrind.sh: valgrind not installed (apt-get install valgrind)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

rp_tmpdir rpvg
declare -A PID=()
SMTP_PID=""

# wrap NAME: the command prefix for daemon NAME (valgrind log in $T/NAME.vg)
wrap() {
	if [[ $ASAN == 1 ]]; then
		WRAP=()
	else
		WRAP=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
			--num-callers=30 --log-file="$T/$1.vg")
	fi
}

# the daemons (valgrind is slow to exit) and the SMTP server; rp_cleanup
# removes $T.
rp_cleanup_hook() {
	for p in "${PID[@]}" $SMTP_PID; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PID[@]}" $SMTP_PID; do kill -9 "$p" 2>/dev/null; done
}

# --- a tiny SMTP server: one port open (accepts any RCPT), one closed ------------
read -r OPEN_PORT CLOSED_PORT CTL_PORT <<<"$(lab_free_ports 3)"
cat >"$T/smtpd.py" <<'EOF'
import asyncio, sys

async def session(reader, writer, open_relay):
    writer.write(b"220 vg.test ESMTP\r\n")
    data = False
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), 60)
            if not line:
                break
            if data:
                if line.rstrip(b"\r\n") == b".":
                    data = False
                    writer.write(b"250 2.0.0 queued\r\n")
                continue
            cmd = line[:4].upper()
            if cmd in (b"EHLO",):
                writer.write(b"250-vg.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif cmd == b"HELO":
                writer.write(b"250 vg.test\r\n")
            elif cmd == b"RCPT":
                writer.write(b"250 2.1.5 Ok\r\n" if open_relay else
                             b"554 5.7.1 Relay access denied\r\n")
            elif cmd == b"DATA":
                data = True
                writer.write(b"354 go ahead\r\n")
            elif cmd == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                break
            else:  # MAIL, RSET, NOOP
                writer.write(b"250 2.0.0 Ok\r\n")
            await writer.drain()
    except (asyncio.TimeoutError, ConnectionError):
        pass
    writer.close()

async def main():
    a = await asyncio.start_server(lambda r, w: session(r, w, True), "127.0.0.1", int(sys.argv[1]))
    b = await asyncio.start_server(lambda r, w: session(r, w, False), "127.0.0.1", int(sys.argv[2]))
    print("ready", flush=True)
    await asyncio.gather(a.serve_forever(), b.serve_forever())

asyncio.run(main())
EOF
python3 "$T/smtpd.py" "$OPEN_PORT" "$CLOSED_PORT" >"$T/smtpd.out" 2>&1 &
SMTP_PID=$!
for _ in $(seq 1 50); do
	grep -q ready "$T/smtpd.out" 2>/dev/null && break
	sleep 0.1
done
grep -q ready "$T/smtpd.out" || {
	not_ok "SMTP server did not start"
	finish
}

# --- keys, configs ---------------------------------------------------------------
rp_admin_init
mkdir -m 700 "$T/keys"
rp_keygen a1 a2
rp_controller_conf
rp_agent_conf a1 127.0.0.2 10 10
rp_agent_conf a2 127.0.0.3 10 10

# --- the controller -------------------------------------------------------------
wrap controller
"${WRAP[@]}" "$CTL" --config "$T/controller.conf" >"$T/controller.log" 2>&1 &
PID[controller]=$!
up=0
for _ in $(seq 1 300); do
	if [[ -S $T/admin.sock ]] && "$RP" agents list >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.1
done
if [[ $up == 1 ]]; then ok "controller starts and answers on the admin socket"; else
	not_ok "controller did not answer within 30 s"
	tail -20 "$T/controller.log"
	finish
fi

for a in a1 a2; do
	"$RP" agents import "$T/keys/$a.pub" >/dev/null || not_ok "import $a"
	wrap "$a"
	"${WRAP[@]}" "$AGENT" --config "$T/$a.conf" >"$T/agent-$a.log" 2>&1 &
	PID[$a]=$!
done
connected=0
for _ in $(seq 1 300); do
	n=$("$RP" agents list --json 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["agents"] if a.get("connected")))' 2>/dev/null)
	if [[ ${n:-0} -ge 2 ]]; then
		connected=1
		break
	fi
	sleep 0.1
done
if [[ $connected == 1 ]]; then ok "both agents connect"; else not_ok "agents did not connect within 30 s"; fi

# --- a full audit ------------------------------------------------------------------
OPEN=127.0.0.1:$OPEN_PORT
CLOSED=127.0.0.1:$CLOSED_PORT
"$RP" audit --wait --wait-timeout 120 --tests basic --to relaytest@example.net \
	"$OPEN" "$CLOSED" >"$T/audit.txt" 2>"$T/audit.err"
rc=$?
if [[ $rc -eq 1 ]]; then ok "audit completes and exits 1 (an open relay was found)"; else
	not_ok "audit exit status $rc (want 1)"
	cat "$T/audit.txt" "$T/audit.err"
fi
"$RP" report --latest --json >"$T/report.json" 2>/dev/null
if python3 - "$T/report.json" "$OPEN" "$CLOSED" <<'EOF'; then ok "report: open target open from a1 and a2, closed target closed"; else not_ok "report matrix"; fi
import json, sys
r = json.load(open(sys.argv[1]))
t = {x["target"]: x for x in r["targets"]}
assert t[sys.argv[2]]["cells"] == {"a1": "open", "a2": "open"}, t[sys.argv[2]]
assert t[sys.argv[3]]["cells"] == {"a1": "closed", "a2": "closed"}, t[sys.argv[3]]
EOF

# --- SIGTERM: every daemon exits 0 (valgrind: 99 on an error or definite leak) ----
# agents first (they hold no state the controller needs), then the controller
for name in a1 a2 controller; do
	p=${PID[$name]}
	kill -TERM "$p" 2>/dev/null
	st=""
	for _ in $(seq 1 300); do
		if ! kill -0 "$p" 2>/dev/null; then
			wait "$p"
			st=$?
			break
		fi
		sleep 0.1
	done
	unset "PID[$name]"
	if [[ -z $st ]]; then
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		not_ok "$name did not exit within 30 s of SIGTERM"
		continue
	fi
	log=$T/$name.vg
	[[ $name == controller ]] || alog=$T/agent-$name.log
	if [[ $st -eq 0 && $ASAN == 0 ]] && ! grep -q 'ERROR SUMMARY' "$log" 2>/dev/null; then
		not_ok "$name exited 0 but left no valgrind summary (was it run under valgrind?)"
	elif [[ $st -eq 0 ]]; then
		if [[ $ASAN == 1 ]]; then
			ok "$name exits 0 after SIGTERM (ASan: no error, no leak)"
		else
			ok "$name exits 0 under valgrind after SIGTERM ($(grep -o 'ERROR SUMMARY: [0-9]* errors' "$log"), $(grep -o 'definitely lost: [0-9,]* bytes' "$log" || echo 'definitely lost: 0 bytes'))"
		fi
	else
		not_ok "$name exit status $st after SIGTERM"
		if [[ $ASAN == 1 ]]; then
			tail -40 "${alog:-$T/controller.log}"
			tail -40 "$T/controller.log"
		else
			grep -A30 -E 'definitely lost in|Invalid|uninitialised|ERROR SUMMARY' "$log" | head -80
		fi
	fi
	alog=""
done

finish
