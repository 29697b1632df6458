# shellcheck shell=bash
# bench_lib.sh - what the bench scripts share (sourced, not run): a free
# loopback port, smtp-sink found and waited for, a controller and agents on
# loopback with their keys and configs. Expects RP, CTL, AGENT (binaries),
# T (the temporary directory), OUT (outputs), PIDS (an array the caller's
# cleanup kills) and die(). Loopback only: 127.0.0.0/8.

# bench_free_port: a TCP port free on all addresses now.
bench_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])'
}

# bench_find_sink: sets SINK to Postfix's smtp-sink, or dies.
bench_find_sink() {
	SINK=$(command -v smtp-sink || true)
	[ -n "$SINK" ] || SINK=/usr/sbin/smtp-sink
	[ -x "$SINK" ] || SINK=/usr/lib/postfix/sbin/smtp-sink
	[ -x "$SINK" ] || die "smtp-sink not found (apt-get install postfix)"
}

# bench_wait_greeting HOST PORT: until a 220 greeting comes (10 s), or 1.
bench_wait_greeting() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        if s.recv(100).startswith(b"220"):
            s.sendall(b"QUIT\r\n"); s.close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# bench_start_sink PORT LOG [smtp-sink options...]: smtp-sink on every
# address (127.0.0.0/8 is local), every RCPT accepted; waits for it.
bench_start_sink() {
	local port=$1 log=$2 user=()
	shift 2
	[ "$(id -u)" -ne 0 ] || user=(-u postfix) # smtp-sink refuses to run as root
	"$SINK" "${user[@]}" -m 20000 "$@" "0.0.0.0:$port" 16384 >"$log" 2>&1 &
	PIDS+=($!)
	bench_wait_greeting 127.0.0.1 "$port" || die "smtp-sink on port $port never greeted (see $log)"
}

# bench_start_controller NAME: keys in $T/keys (made once), a controller
# with its database in $T/NAME.db, admin socket $RELAYPROBE_ADMIN; sets
# CTL_PORT and CPID.
bench_start_controller() {
	[ -f "$T/keys/ctl.secret" ] || "$RP" keygen --role controller --name ctl --out "$T/keys" >/dev/null
	CTL_PORT=$(bench_free_port)
	cat >"$T/$1.conf" <<EOF
[controller]
listen = tcp://127.0.0.1:$CTL_PORT
keys = $T/keys/ctl.secret
database = $T/$1.db
admin = $RELAYPROBE_ADMIN
EOF
	"$CTL" --config "$T/$1.conf" >>"$OUT/$1.log" 2>&1 &
	CPID=$!
	PIDS+=("$CPID")
	for _ in $(seq 1 100); do
		[ -S "${RELAYPROBE_ADMIN#ipc://}" ] && "$RP" agents list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "controller did not start (see $OUT/$1.log)"
}

# bench_start_agent NAME BIND: keys, import, config, start (log
# $OUT/agent-NAME.log); sets APID.
bench_start_agent() {
	[ -f "$T/keys/$1.secret" ] || "$RP" keygen --role agent --name "$1" --out "$T/keys" >/dev/null
	"$RP" agents import "$T/keys/$1.pub" >/dev/null || die "agents import $1"
	mkdir -p "$T/state-$1"
	chmod 700 "$T/state-$1"
	cat >"$T/$1.conf" <<EOF
[agent]
controller = tcp://127.0.0.1:$CTL_PORT
controller_key = $T/keys/ctl.pub
keys = $T/keys/$1.secret
state = $T/state-$1
bind = $2
labels = location=$1

[limits]
targets_per_order = 1000
concurrency = 1000
rate = 0

[scope]
allow = 127.0.0.0/8
; Postfix listens on loopback, which the agent never dials unless allowed by name.
allow_special = loopback
EOF
	"$AGENT" --config "$T/$1.conf" >>"$OUT/agent-$1.log" 2>&1 &
	APID=$!
	PIDS+=("$APID")
}

# bench_wait_agents N: until N agents show connected (10 s), or 1.
bench_wait_agents() {
	local n
	for _ in $(seq 1 100); do
		n=$("$RP" agents list --json 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["agents"] if a.get("connected")))' 2>/dev/null || echo 0)
		[ "${n:-0}" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
