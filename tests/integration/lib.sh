# shellcheck shell=bash
# lib.sh - sourced by the integration tests: with daemons_lib.sh (finds the
# binaries, keeps the "ok - ..." / "not ok - ..." tally) and postfix_lab.sh
# (the Postfix lab, free loopback ports), makes the test's temp dir and
# removes it (and stops every process the test started) on exit, writes
# keys and configs for a controller and its agents, starts and stops them
# and waits for them. Nothing here sends traffic anywhere but 127.0.0.0/8.
#
# Use:
#   . "$(dirname "$0")/lib.sh"
#   rp_daemons_init "$@"      # RP, BIN, CTL, AGENT, HERE, passed, failed
#                             # (rp_probe_init "$@": RP and HERE only)
#   rp_tmpdir rpfoo           # T=/tmp/rpfoo.XXXXXX, cleanup trap on EXIT
#   rp_lab_start              # the Postfix lab (postfix_lab.sh), or exit
#   CTL_PORT=$(lab_free_ports 1); rp_admin_init
#   rp_keygen fra1 ams1; rp_controller_conf; rp_agent_conf fra1 127.0.0.5
#   rp_start_controller && rp_start_agent fra1 && rp_wait_connected 1
#
# The cleanup kills the controller ($CPID), the agents (${APID[@]}) and every
# PID given to rp_track, calls rp_cleanup_hook when the test defines it,
# stops the lab, and removes $T (kept with RP_KEEP_TMP=1).

# ok, not_ok and rp_daemons_init (RP, BIN, CTL, AGENT, HERE, passed, failed).
# shellcheck source=daemons_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemons_lib.sh"
# lab_start, lab_stop, lab_free_ports N, lab_wait_banner HOST PORT SECONDS;
# the cleanup below stops the lab (lab_stop does nothing when none runs).
LAB_NO_TRAP=1
# shellcheck source=postfix_lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/postfix_lab.sh"

# rp_probe_init RELAYPROBE: for the tests of `relayprobe probe` alone (no
# daemons needed): RP, HERE, passed, failed; exit 2 when RELAYPROBE is not
# an executable.
# shellcheck disable=SC2034 # RP, HERE, passed: for the script that sources this
rp_probe_init() {
	RP=${1:-}
	if [ -z "$RP" ] || [ ! -x "$RP" ]; then
		echo "usage: $0 PATH/TO/relayprobe (not executable: '${RP}')" >&2
		exit 2
	fi
	HERE=$(cd "$(dirname "$0")" && pwd)
	passed=0
	failed=0
}

CPID=""
declare -A APID=()
RP_PIDS=()

# rp_track PID...: stop these at exit too.
rp_track() {
	RP_PIDS+=("$@")
}

rp_cleanup() {
	local p
	if declare -F rp_cleanup_hook >/dev/null; then
		rp_cleanup_hook
	fi
	for p in "${RP_PIDS[@]}" "${APID[@]}" $CPID; do
		kill "$p" 2>/dev/null || true # also under set -e
	done
	sleep 0.3
	for p in "${RP_PIDS[@]}" "${APID[@]}" $CPID; do
		kill -9 "$p" 2>/dev/null || true
	done
	lab_stop
	if [[ -n ${T:-} ]]; then
		if [[ ${RP_KEEP_TMP:-0} == 1 ]]; then echo "kept $T"; else rm -rf "$T"; fi
	fi
}

# rp_wait_port PORT [HOST]: until HOST (127.0.0.1) accepts on PORT (10 s),
# or the test exits as failed.
rp_wait_port() {
	local host=${2:-127.0.0.1}
	for _ in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection(('$host', $1), 0.2)" \
			2>/dev/null && return 0
		sleep 0.1
	done
	echo "server on $host:$1 did not start" >&2
	exit 1
}

# rp_tmpdir PREFIX: T=/tmp/PREFIX.XXXXXX and the cleanup trap (on exit, and
# on SIGINT or SIGTERM, which then exit 130).
rp_tmpdir() {
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	trap rp_cleanup EXIT
	trap 'rp_cleanup; exit 130' INT TERM
}

# rp_lab_start: the Postfix lab of postfix_lab.sh (LAB_PORT_* set), stopped
# by the cleanup; exits as a failed test when it does not start.
rp_lab_start() {
	lab_start || {
		echo "$passed passed, $((failed + 1)) failed (Postfix lab did not start)"
		exit 1
	}
}

# rp_admin_init: the admin socket in $T, for the controller and the CLI.
rp_admin_init() {
	ADMIN=ipc://$T/admin.sock
	export RELAYPROBE_ADMIN=$ADMIN
}

# rp_keygen AGENT...: the controller's keys (ctl) and each agent's in $T/keys.
rp_keygen() {
	local a
	"$RP" keygen --role controller --name ctl --out "$T/keys" >/dev/null || not_ok "keygen controller"
	for a in "$@"; do
		"$RP" keygen --role agent --name "$a" --out "$T/keys" >/dev/null || not_ok "keygen $a"
	done
}

# rp_controller_conf [LINE...]: $T/controller.conf, [controller] listening
# on $CTL_PORT, keys ctl, database $T/controller.db, admin $ADMIN, then each
# LINE (more [controller] keys, or further sections).
# shellcheck disable=SC2120 # most callers give no LINE
rp_controller_conf() {
	cat >"$T/controller.conf" <<EOF
[controller]
listen = tcp://127.0.0.1:$CTL_PORT
keys = $T/keys/ctl.secret
database = $T/controller.db
admin = $ADMIN
EOF
	[[ $# -eq 0 ]] || printf '%s\n' "$@" >>"$T/controller.conf"
}

# rp_agent_conf NAME SOURCE-ADDRESS [TARGETS-PER-ORDER [CONCURRENCY [LABELS]]]:
# $T/NAME.conf and its state dir $T/state-NAME (mode 0700); the agent binds
# SOURCE-ADDRESS, may dial loopback (Postfix listens there) and is labelled
# location=NAME unless LABELS says otherwise ("" for no labels).
rp_agent_conf() {
	local labels=${5-location=$1}
	mkdir -p "$T/state-$1"
	chmod 700 "$T/state-$1"
	{
		cat <<EOF
[agent]
controller = tcp://127.0.0.1:$CTL_PORT
controller_key = $T/keys/ctl.pub
keys = $T/keys/$1.secret
state = $T/state-$1
bind = $2
EOF
		[[ -n $labels ]] && echo "labels = $labels"
		cat <<EOF

[limits]
targets_per_order = ${3:-1000}
concurrency = ${4:-50}
rate = 0

[scope]
allow = 127.0.0.0/8
; Postfix listens on loopback, which the agent never dials unless allowed by name.
allow_special = loopback
EOF
	} >"$T/$1.conf"
}

# rp_wait_socket PATH [TRIES]: until PATH is a socket (TRIES x 0.1 s, 50).
rp_wait_socket() {
	local i
	for ((i = 0; i < ${2:-50}; i++)); do
		[[ -S $1 ]] && return 0
		sleep 0.1
	done
	return 1
}

# rp_start_controller: the controller on $T/controller.conf (log
# $T/controller.log), until its admin socket answers (5 s); PID in CPID.
rp_start_controller() {
	"$CTL" --config "$T/controller.conf" >>"$T/controller.log" 2>&1 &
	CPID=$!
	for _ in $(seq 1 50); do
		[[ -S $T/admin.sock ]] && "$RP" agents list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# rp_stop_controller: SIGTERM, and wait for it to exit.
rp_stop_controller() {
	kill "$CPID" 2>/dev/null
	wait "$CPID" 2>/dev/null
	CPID=""
}

# rp_start_agent NAME: the agent on $T/NAME.conf (log $T/agent-NAME.log);
# PID in APID[NAME].
rp_start_agent() {
	"$AGENT" --config "$T/$1.conf" >>"$T/agent-$1.log" 2>&1 &
	APID[$1]=$!
}

# rp_wait_agent_connected NAME: until agent NAME shows as connected (30 s).
rp_wait_agent_connected() {
	for _ in $(seq 1 300); do
		"$RP" agents list --json 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if any(a.get("name") == sys.argv[1] and a.get("connected") for a in json.load(sys.stdin)["agents"]) else 1)' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# rp_wait_connected N: until N agents show as connected (10 s).
rp_wait_connected() {
	local n
	for _ in $(seq 1 100); do
		n=$("$RP" agents list --json 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["agents"] if a.get("connected")))' 2>/dev/null)
		[[ ${n:-0} -ge $1 ]] && return 0
		sleep 0.1
	done
	return 1
}
