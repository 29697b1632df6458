# daemons_lib.sh - sourced by the integration tests that run the daemons:
# finds relayprobe, relayprobe-controller and relayprobe-agent, and keeps the
# "ok - ..." / "not ok - ..." tally that each test prints as "N passed, M failed".
#
# Use:  . "$(dirname "$0")/daemons_lib.sh"; rp_daemons_init "$@"
# Sets RP, BIN, CTL, AGENT, HERE, passed, failed; exits (as a failed test)
# when a daemon is not built beside the relayprobe binary given as $1.

ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $*"
}

rp_daemons_init() {
	local b
	RP=${1:?usage: $(basename "$0") path/to/relayprobe}
	RP=$(readlink -f "$RP")
	BIN=$(dirname "$RP")
	CTL=$BIN/relayprobe-controller
	AGENT=$BIN/relayprobe-agent
	HERE=$(cd "$(dirname "$0")" && pwd)
	passed=0
	failed=0
	for b in "$CTL" "$AGENT"; do
		if [[ ! -x $b ]]; then
			echo "$(basename "$0"): $b not built" >&2
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
}
