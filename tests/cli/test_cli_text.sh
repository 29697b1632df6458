#!/usr/bin/env bash
# test_cli_text.sh - every relayprobe command's --help, its usage errors and
# the requests and text of the inventory commands (targets, schedule,
# history, events, hooks, retention), byte for byte against
# tests/cli/cli_text.golden: the CLI's words must not drift when cli/ is
# restructured. The controller is rp_fake_admin on an ipc socket in a
# temporary directory; no network traffic at all.
#
#   relayprobe --REQ--> ipc://$TMP/admin.sock (rp_fake_admin) -> requests.log
#
# Usage: test_cli_text.sh /path/to/relayprobe [/path/to/rp_fake_admin]
#        RP_GOLDEN_WRITE=1 test_cli_text.sh ...   rewrites the golden file
set -euo pipefail

RP=${1:?usage: $0 /path/to/relayprobe [/path/to/rp_fake_admin]}
FAKE=${2:-$(dirname "$RP")/rp_fake_admin}
GOLDEN=$(dirname "$0")/cli_text.golden
TMP=$(mktemp -d /tmp/rp-cli-text.XXXXXX)
FAKE_PID=
cleanup() {
	if [[ -n $FAKE_PID ]]; then kill "$FAKE_PID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT

if [[ ! -x $FAKE ]]; then
	echo "not ok - rp_fake_admin not found at $FAKE (build it: target rp_fake_admin)"
	exit 1
fi

cat >"$TMP/replies.json" <<'EOF'
{
 "targets.import": {"ok":true,"added":2,"updated":1},
 "targets.list": {"ok":true,"targets":[{"client":"acme","target":"mx.example.org:25",
   "port":25,"tags":["prod","eu"]}]},
 "targets.remove": {"ok":true,"removed":1,"missing":["mx2.example.org:25"]},
 "exclude.add": [{"ok":true,"entry":"198.51.100.0/24","added":true},
   {"ok":true,"entry":"198.51.100.0/24","added":false}],
 "exclude.list": {"ok":true,"exclusions":[{"entry":"198.51.100.0/24","reason":"partner range",
   "by":"alice","added_at":1714564800},{"entry":"example.net","reason":"","by":"",
   "added_at":1714651200}]},
 "exclude.remove": {"ok":true},
 "schedule.add": {"ok":true,"schedule":{"name":"nightly","next_run":1714564800}},
 "schedule.list": {"ok":true,"schedules":[{"name":"nightly","every":86400,"at":7200,
   "selector":"tag","value":"prod","next_run":1714564800,"last_audit":3}]},
 "schedule.remove": {"ok":true},
 "schedule.run-now": {"ok":true,"audit":12},
 "history": {"ok":true,"target":"mx.example.org:25","history":[{"audit":3,
   "finished":1714564800,"verdict":"closed"},{"audit":4,"finished":1714651200,
   "verdict":"open"}]},
 "events.list": {"ok":true,"events":[{"id":1,"at":1714564800,"target":"mx.example.org:25",
   "client":"acme","from":"closed","to":"open","audit":4}]},
 "hooks.status": {"ok":true,"hooks":[{"name":"webhook","pending":1,"sending":0,
   "delivered":5,"failed":2}]},
 "audit.start": {"ok":true,"audit":9,"orders":6},
 "retention.run": [{"ok":true,"stripped":7},{"ok":true,"forever":true,"stripped":0}]
}
EOF
SOCK=ipc://$TMP/admin.sock
"$FAKE" "$SOCK" "$TMP/replies.json" "$TMP/requests.log" 2>"$TMP/fake.err" &
FAKE_PID=$!
for _ in $(seq 50); do [[ -S $TMP/admin.sock ]] && break; sleep 0.1; done
export RELAYPROBE_ADMIN=$SOCK
: >"$TMP/requests.log"

printf 'client,target,port,tags\nacme,mx.example.org,25,prod;eu\nacme,mx2.example.org,,\n' \
	>"$TMP/inv.csv"
printf 'client,target,port,tags\nacme,bad host!,25,\nacme\n' >"$TMP/bad.csv"
printf '# targets\n127.0.0.1\n\n127.0.0.2:2525   # with port\nbad_name.example.com\n' \
	>"$TMP/targets.txt"

# one ARGS...: a block of the transcript: the command, its exit status,
# stdout, stderr and the requests it sent.
one() {
	local rc=0 seen
	seen=$(wc -l <"$TMP/requests.log")
	"$RP" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
	sleep 0.05 # the fake logs after it answers
	echo "=== relayprobe $*"
	echo "--- exit $rc"
	echo "--- stdout"
	cat "$TMP/out"
	echo "--- stderr"
	cat "$TMP/err"
	echo "--- requests"
	tail -n +"$((seen + 1))" "$TMP/requests.log"
}

transcript() {
	local cmd
	# no arguments (the short usage), --help of every command, and a usage
	# error of each
	one
	one --help
	for cmd in probe audit report transcript agents targets schedule history events hooks \
		retention keygen; do
		one "$cmd" --help
		one "$cmd" -h
		one "$cmd" --bogus
		one "$cmd" -Z
	done
	# options that need a value, bad admin options
	for cmd in audit report transcript agents targets schedule history events hooks retention; do
		one "$cmd" --admin-timeout
		one "$cmd" --admin-timeout abc
		one "$cmd" --admin tcp://127.0.0.1:1
	done
	one keygen --role
	one keygen --role boss
	one keygen --name .hidden --role agent
	one keygen --role agent --name x
	one keygen --role agent --name x --out "$TMP/k" extra
	one agents
	one agents frob
	one agents list extra
	one agents approve
	one agents approve 'a b'
	one audit
	one audit --tls sometimes 127.0.0.1
	one audit --port 0 127.0.0.1
	one audit --ehlo 'bad name' 127.0.0.1
	one audit --to nobody 127.0.0.1
	one audit --vantages 'a,,b' 127.0.0.1
	one audit --tests bogus 127.0.0.1
	one report --format xml 1
	one report --latest --format
	one transcript
	one probe
	one probe --port
	one probe --rate abc 127.0.0.1
	one probe --timeout 0 127.0.0.1
	one probe --canary nowhere --canary-domain c.example.org 127.0.0.1
	one probe --canary 127.0.0.1:x --canary-domain c.example.org 127.0.0.1
	one probe --canary 127.0.0.1:2525 127.0.0.1
	one probe --tests list
	one probe --no-mx --data --json --transcript -q -v --tests bogus 127.0.0.1
	one probe --ehlo 'bad name' 127.0.0.1
	one probe --to nobody 127.0.0.1
	one probe --local-domain 'a b' 127.0.0.1
	one probe --bind nowhere 127.0.0.1
	one probe --targets "$TMP/none"
	one probe --targets "$TMP/targets.txt"
	one probe --targets - 127.0.0.1:99999
	one audit --targets "$TMP/none"
	one audit --targets "$TMP/targets.txt"
	one audit 'bad host!'
	one audit - -
	one audit --json --vantages a,b --tls off --port 2525 --to t@example.org --from f@example.org \
		--ehlo probe.example.org --timeout 30 --retry-after 0 --data --tests all \
		127.0.0.1 '[::1]:2526' mx.example.org
	one transcript --latest 1
	# the inventory commands against the fake controller
	one targets
	one targets frob
	one targets import
	one targets import "$TMP/bad.csv"
	one targets import "$TMP/inv.csv"
	one targets import "$TMP/inv.csv" --json
	one targets list
	one targets list --client acme --tag prod
	one targets list extra
	one targets remove
	one targets remove 'bad host!'
	one targets remove --client acme mx.example.org mx2.example.org
	one targets exclude
	one targets exclude add
	one targets exclude add 198.51.100.0/24 --reason 'partner range' --by alice
	one targets exclude add 198.51.100.0/24 --reason 'partner range' --by alice
	one targets exclude add 198.51.100.0/24 --reason "$(printf 'a\tb')"
	one targets list --reason x
	one targets exclude list
	one targets exclude list --json
	one targets exclude remove 198.51.100.0/24
	one schedule
	one schedule frob
	one schedule add nightly
	one schedule add nightly --every 0s
	one schedule add nightly --every 1d --at 25:00
	one schedule add nightly --every 1d --tag prod --all
	one schedule add nightly --every 1d --at 02:00 --tag prod --vantages a,b --tests all
	one schedule add nightly --every 30m --client acme --json
	one schedule list
	one schedule list extra
	one schedule remove nightly
	one schedule run-now nightly
	one schedule remove
	one history
	one history a b
	one history 'bad host!'
	one history mx.example.org
	one history mx.example.org --json
	one events
	one events extra
	one events --json
	one hooks
	one hooks status
	one hooks frob
	one hooks status extra
	one retention
	one retention frob
	one retention run
	one retention run
	one retention run extra
	# the controller unreachable
	RELAYPROBE_ADMIN=ipc://$TMP/none.sock one events
	RELAYPROBE_ADMIN=ipc://$TMP/none.sock one history mx.example.org
	RELAYPROBE_ADMIN=ipc://$TMP/none.sock one targets list
	RELAYPROBE_ADMIN=tcp://127.0.0.1:1 one hooks
}

transcript | sed "s#$TMP#TMP#g" >"$TMP/got"
if [[ ${RP_GOLDEN_WRITE:-} == 1 ]]; then
	cp "$TMP/got" "$GOLDEN"
	echo "wrote $GOLDEN"
	exit 0
fi
if diff -u "$GOLDEN" "$TMP/got"; then
	echo "ok - $(grep -c '^=== ' "$GOLDEN") invocations as in $(basename "$GOLDEN")"
	exit 0
fi
echo "not ok - relayprobe's text differs from $(basename "$GOLDEN") (diff above)"
exit 1
