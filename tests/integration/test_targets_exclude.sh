#!/usr/bin/env bash
# test_targets_exclude.sh - the controller's do-not-test list end to end:
#
#   relayprobe targets exclude ... --REQ--> ipc://$T/admin.sock
#                                           relayprobe-controller ($T/controller.db)
#
# Adds an address, a CIDR block and a domain (with a reason and who asked),
# updates one, lists them (text and --json), refuses a bad entry naming it,
# refuses an audit of a covered target (by its entry),
# removes one and a second time refuses, and finds the list intact after a
# controller restart. No traffic: the controller listens on 127.0.0.1 only.
# $1 = relayprobe binary; relayprobe-controller beside it.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_daemons_init "$@"

rp_tmpdir rpexcl
CTL_PORT=$(lab_free_ports 1)
rp_admin_init
rp_keygen
rp_controller_conf
if ! rp_start_controller; then
	not_ok "controller did not start"
	cat "$T/controller.log"
	echo "$passed passed, $failed failed"
	exit 1
fi

# expect NAME WANT_RC PATTERN CMD...: exit status and PATTERN in stdout+stderr.
expect() {
	local name=$1 want=$2 pat=$3 rc=0
	shift 3
	"$@" >"$T/out" 2>&1 </dev/null || rc=$?
	if [[ $rc -eq $want ]] && grep -qF -- "$pat" "$T/out"; then
		ok "$name"
	else
		not_ok "$name: exit $rc (want $want), output:"
		sed 's/^/#   /' "$T/out" | head -10
	fi
}

expect "add a CIDR block" 0 "198.51.100.0/24: excluded" \
	"$RP" targets exclude add 198.51.100.0/24 --reason "partner's range" --by alice
expect "add an address" 0 "192.0.2.25: excluded" "$RP" targets exclude add 192.0.2.25
expect "add a domain" 0 "example.com: excluded" \
	"$RP" targets exclude add example.com --reason "owner asked" --by bob
expect "add again updates" 0 "already excluded" \
	"$RP" targets exclude add example.com --reason "owner asked, ticket 42" --by carol
expect "bad entry refused, named" 2 "192.0.2.1/24" "$RP" targets exclude add 192.0.2.1/24
expect "bad name refused, named" 2 "bad_host!" "$RP" targets exclude add 'bad_host!'

expect "list" 0 "ENTRY" "$RP" targets exclude list
if grep -qE '^198\.51\.100\.0/24 +[0-9TZ:-]+ +alice +partner.s range$' "$T/out" &&
	grep -qE '^example\.com +[0-9TZ:-]+ +carol +owner asked, ticket 42$' "$T/out" &&
	grep -qE '^192\.0\.2\.25 +[0-9TZ:-]+ +- +-$' "$T/out" && [[ $(wc -l <"$T/out") -eq 4 ]]; then
	ok "list shows each entry once with its reason and requester"
else
	not_ok "list rows"
	sed 's/^/#   /' "$T/out"
fi
expect "list --json" 0 '"entry":"example.com","reason":"owner asked, ticket 42","by":"carol"' \
	"$RP" targets exclude list --json

expect "an audit of an excluded target is refused, naming it and its entry" 2 \
	"on the do-not-test list: mx1.example.com (excluded by example.com (carol)" \
	"$RP" audit 192.0.2.1 mx1.example.com
expect "remove" 0 "192.0.2.25: no longer excluded" "$RP" targets exclude remove 192.0.2.25
expect "remove again refused" 2 "no exclusion 192.0.2.25" \
	"$RP" targets exclude remove 192.0.2.25

rp_stop_controller
if ! rp_start_controller; then
	not_ok "controller did not restart"
	cat "$T/controller.log"
fi
"$RP" targets exclude list --json >"$T/out" 2>&1 || true
if [[ $(grep -o '"entry"' "$T/out" | wc -l) -eq 2 ]] && grep -qF '"198.51.100.0/24"' "$T/out" &&
	! grep -qF '192.0.2.25' "$T/out"; then
	ok "the list survives a restart"
else
	not_ok "after restart"
	sed 's/^/#   /' "$T/out"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
