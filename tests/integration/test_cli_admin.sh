#!/usr/bin/env bash
# test_cli_admin.sh - the controller commands of relayprobe (agents, audit,
# report, transcript, keygen) against rp_fake_admin, a canned admin socket:
#
#   relayprobe --REQ--> ipc://$TMP/admin.sock (rp_fake_admin, ROUTER)
#                       answers from $TMP/replies.json, logs each request
#
# Checks the text a user reads, the requests sent (docs/distributed.md), the
# exit statuses, errors that name the bad option, and the unreachable cases.
# No network traffic at all: ipc sockets in a temporary directory only.
# Usage: test_cli_admin.sh /path/to/relayprobe [/path/to/rp_fake_admin]
set -euo pipefail

RP=${1:?usage: $0 /path/to/relayprobe [/path/to/rp_fake_admin]}
FAKE=${2:-$(dirname "$RP")/rp_fake_admin}
TMP=$(mktemp -d /tmp/rp-cli-admin.XXXXXX)
FAKE_PID=
cleanup() {
	if [[ -n $FAKE_PID ]]; then kill "$FAKE_PID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
	if [[ -s $TMP/err ]]; then sed 's/^/#   stderr: /' "$TMP/err" | head -5; fi
	if [[ -s $TMP/out ]]; then sed 's/^/#   stdout: /' "$TMP/out" | head -12; fi
}
run() {
	rc=0
	"$@" </dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
}
# check NAME WANT_RC CMD... then fixed strings that stdout must contain: "--" ends CMD.
check() {
	local name=$1 want=$2
	shift 2
	local cmd=()
	while [[ $# -gt 0 && $1 != -- ]]; do
		cmd+=("$1")
		shift
	done
	[[ $# -gt 0 ]] && shift
	run "${cmd[@]}"
	if [[ $rc -ne $want ]]; then
		not_ok "$name: exit $rc, want $want"
		return
	fi
	for pat in "$@"; do
		if ! grep -qF -- "$pat" "$TMP/out"; then
			not_ok "$name: stdout lacks \"$pat\""
			return
		fi
	done
	ok "$name"
}
# expect_error NAME STATUS PATTERN CMD...: status, PATTERN in stderr, one line, no stdout.
expect_error() {
	local name=$1 status=$2 pattern=$3
	shift 3
	run "$@"
	if [[ $rc -ne $status ]]; then
		not_ok "$name: exit $rc, want $status"
	elif ! grep -qF -- "$pattern" "$TMP/err"; then
		not_ok "$name: stderr lacks \"$pattern\""
	elif [[ $(wc -l <"$TMP/err") -ne 1 || -s $TMP/out ]]; then
		not_ok "$name: error is not one line on stderr alone"
	else
		ok "$name"
	fi
}
# last_request: the last request the fake admin received.
last_request() { tail -n 1 "$TMP/requests.log"; }

if [[ ! -x $FAKE ]]; then
	echo "not ok - rp_fake_admin not found at $FAKE (build it: target rp_fake_admin)"
	echo "0 passed, 1 failed"
	exit 1
fi

SOCK=ipc://$TMP/admin.sock
cat >"$TMP/replies.json" <<'EOF'
{
 "agents.list": {"ok":true,"agents":[
   {"id":"agent1","name":"agent1","fingerprint":"ab12:cd34:ef56:7890","status":"approved",
    "connected":true,"last_seen":1714564800000,"labels":{"location":"fra1","network":"AS64500"}},
   {"id":"9f00:aa11:bb22:cc33","name":null,"fingerprint":"9f00:aa11:bb22:cc33","status":"pending",
    "connected":false,"last_seen":null,"labels":null}]},
 "agents.approve": {"ok":true,"agent":{"id":"9f00:aa11:bb22:cc33","name":"agent2",
    "fingerprint":"9f00:aa11:bb22:cc33","status":"approved","connected":false}},
 "agents.approve:nosuch": {"ok":false,"error":"no agent named or fingerprinted nosuch"},
 "agents.revoke": {"ok":true,"agent":{"id":"agent2","name":"agent2",
    "fingerprint":"9f00:aa11:bb22:cc33","status":"revoked","connected":false}},
 "agents.import": {"ok":true,"agent":{"id":"agent9","name":"agent9","fingerprint":"IMPORTED",
    "status":"approved","connected":false}},
 "audit.start": {"ok":true,"audit":7,"orders":3},
 "events.list": {"ok":true,"events":[{"id":1,"at":1714564800,"target":"mx\u001b[31m.example",
   "client":"acme","from":"closed","audit":3}]},
 "audit.status": [
   {"ok":true,"audit":7,"status":"running","orders":3,"done":0,"results":0},
   {"ok":true,"audit":7,"status":"running","orders":3,"done":2,"results":2},
   {"ok":true,"audit":7,"status":"done","orders":3,"done":3,"results":6}],
 "report": {"ok":true,"audit":7,"vantages":["agent1","agent2","agent3"],"targets":[
   {"target":"127.0.0.1:2525","verdict":"open","disagree":true,"inconclusive":false,
    "cells":{"agent1":"open","agent2":"closed","agent3":"closed"},
    "accepted":{"agent1":["external-sender","percent-hack"]}},
   {"target":"127.0.0.1:2526","verdict":"closed","disagree":false,"inconclusive":false,
    "cells":{"agent1":"closed","agent2":"closed","agent3":"closed"},"accepted":{}}]},
 "transcript": {"ok":true,"results":[{"target":"127.0.0.1:2525","address":"127.0.0.1",
   "port":2525,"verdict":"open","reason":null,"transcript":[
   {"i":0,"t":1714564800000,"dir":"event","tls":false,"text":"connected to 127.0.0.1:2525"},
   {"i":1,"t":1714564800012,"dir":"recv","tls":false,"text":"220 mx ESMTP"},
   {"i":2,"t":1714564800013,"dir":"sent","tls":false,"text":"EHLO probe.example"},
   {"i":3,"t":1714564800100,"dir":"sent","tls":true,"text":"RCPT TO:<relaytest@example.net>"},
   {"i":4,"t":1714564800250,"dir":"recv","tls":true,"text":"250 2.1.5 Ok"},
   {"i":5,"t":1714564800300,"dir":"recv","tls":true,"text":"554 5.7.1 Relay access denied"},
   {"i":6,"t":1714564800400,"dir":"error","tls":false,"text":"session lost"}]}]}
}
EOF
"$FAKE" "$SOCK" "$TMP/replies.json" "$TMP/requests.log" 2>"$TMP/fake.err" &
FAKE_PID=$!
for _ in $(seq 50); do [[ -S $TMP/admin.sock ]] && break; sleep 0.1; done
export RELAYPROBE_ADMIN=$SOCK

# --- agents ----------------------------------------------------------------
check "agents list: table" 0 "$RP" agents list -- \
	"NAME" "FINGERPRINT" "STATUS" "CONNECTED" "LAST-SEEN" "LABELS"
if grep -qE '^agent1 +ab12:cd34:ef56:7890 +approved +yes +2024-05-01T12:00:00Z +location=fra1,network=AS64500$' "$TMP/out" &&
	grep -qE '^9f00:aa11:bb22:cc33 +9f00:aa11:bb22:cc33 +pending +no +never +-$' "$TMP/out"; then
	ok "agents list: one row per agent, pending agent shown by fingerprint"
else
	not_ok "agents list: rows"
fi
[[ $(last_request) == '{"cmd":"agents.list"}' ]] && ok "agents list: request" || not_ok "agents list: request $(last_request)"

check "agents list --json: raw reply" 0 "$RP" agents list --json -- '"agents":[{"id":"agent1"'
if [[ $(head -c 1 "$TMP/out") == "{" ]] && [[ $(wc -l <"$TMP/out") -eq 1 ]]; then ok "agents list --json: one JSON line"; else not_ok "agents list --json: shape"; fi

check "agents approve: text" 0 "$RP" agents approve 9f00:aa11:bb22:cc33 -- \
	"approved: agent2 (9f00:aa11:bb22:cc33): approved"
[[ $(last_request) == '{"cmd":"agents.approve","id":"9f00:aa11:bb22:cc33"}' ]] &&
	ok "agents approve: request" || not_ok "agents approve: request $(last_request)"
check "agents revoke: text" 0 "$RP" agents revoke agent2 -- "revoked: agent2 (9f00:aa11:bb22:cc33): revoked"
[[ $(last_request) == '{"cmd":"agents.revoke","id":"agent2"}' ]] &&
	ok "agents revoke: request" || not_ok "agents revoke: request $(last_request)"
expect_error "agents approve: controller refusal exits 2 with its reason" 2 \
	"the controller refused: no agent named or fingerprinted nosuch" "$RP" agents approve nosuch
expect_error "agents approve: bad id" 2 'is not an agent name or fingerprint' "$RP" agents approve 'a b'
expect_error "agents: unknown action" 2 '"frob"' "$RP" agents frob

# --- keygen, then import the agent's .pub ------------------------------------
mkdir "$TMP/keys"
check "keygen agent" 0 "$RP" keygen --role agent --name agent9 --out "$TMP/keys" -- \
	"$TMP/keys/agent9.secret" "$TMP/keys/agent9.pub" "fingerprint: " "pending on the controller as "
fp=$(sed -n 's/^fingerprint: //p' "$TMP/out")
if [[ $(stat -c %a "$TMP/keys/agent9.secret") == 600 && $(stat -c %a "$TMP/keys/agent9.pub") == 644 ]]; then
	ok "keygen: .secret 0600, .pub 0644"
else
	not_ok "keygen: modes $(stat -c %a "$TMP/keys/agent9.secret") $(stat -c %a "$TMP/keys/agent9.pub")"
fi
if grep -qx "fingerprint=$fp" "$TMP/keys/agent9.pub"; then ok "keygen: printed fingerprint is the file's"; else not_ok "keygen: fingerprint $fp not in .pub"; fi
before=$(sha256sum "$TMP/keys/agent9.secret" "$TMP/keys/agent9.pub" 2>/dev/null || true)
expect_error "keygen: refuses to overwrite" 2 "agent9" "$RP" keygen --role agent --name agent9 --out "$TMP/keys"
[[ -n $before && $(sha256sum "$TMP/keys/agent9.secret" "$TMP/keys/agent9.pub" 2>/dev/null || true) == "$before" ]] &&
	ok "keygen: existing files untouched" || not_ok "keygen: existing files changed"
check "keygen controller" 0 "$RP" keygen --role controller --name ctl --out "$TMP/keys" -- "$TMP/keys/ctl.pub"
expect_error "keygen: bad role" 2 '--role: "boss"' "$RP" keygen --role boss --name x --out "$TMP/keys"
expect_error "keygen: bad name" 2 '--name: ".hidden"' "$RP" keygen --role agent --name .hidden --out "$TMP/keys"
expect_error "keygen: missing --out" 2 '--out is required' "$RP" keygen --role agent --name x

check "agents import: text" 0 "$RP" agents import "$TMP/keys/agent9.pub" -- "imported: agent9"
if last_request | grep -qF '"cmd":"agents.import","pub":"' && last_request | grep -qF "fingerprint=$fp"; then
	ok "agents import: sends the .pub contents"
else
	not_ok "agents import: request $(last_request)"
fi
expect_error "agents import: refuses a controller key" 2 "a controller key, not an agent's" \
	"$RP" agents import "$TMP/keys/ctl.pub"
expect_error "agents import: refuses a secret file" 2 "agent9.secret" "$RP" agents import "$TMP/keys/agent9.secret"

# --- audit, report, transcript ------------------------------------------------
printf '# targets\n127.0.0.1:2525\n\n127.0.0.1:2526  # second\n' >"$TMP/targets"
start=$(date +%s%N)
check "audit --wait: matrix" 1 "$RP" audit --targets "$TMP/targets" --vantages agent1,agent2,agent3 \
	--tests all --port 2525 --tls off --to relaytest@example.org --from probe@example.org \
	--ehlo probe.example.org --timeout 30 --retry-after 0 --wait -- \
	"Accepted relay tests:" "127.0.0.1:2525 from agent1: external-sender,percent-hack"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if grep -qE '^TARGET +agent1 +agent2 +agent3 +VERDICT +FLAGS$' "$TMP/out" &&
	grep -qE '^127\.0\.0\.1:2525 +open +closed +closed +open +DISAGREE$' "$TMP/out" &&
	grep -qE '^127\.0\.0\.1:2526 +closed +closed +closed +closed +-$' "$TMP/out"; then
	ok "audit --wait: rows with cells, verdict and the DISAGREE flag"
else
	not_ok "audit --wait: rows"
fi
start_req=$(grep -F '"cmd":"audit.start"' "$TMP/requests.log" | tail -n 1 || true)
want='{"cmd":"audit.start","targets":["127.0.0.1:2525","127.0.0.1:2526"],"params":{"port":2525,"tls":"off","to":"relaytest@example.org","from":"probe@example.org","ehlo":"probe.example.org","timeout":30,"retry_after":0},"vantages":["agent1","agent2","agent3"],"tests":"all"}'
[[ $start_req == "$want" ]] && ok "audit: audit.start request" || not_ok "audit: request $start_req"
nstatus=$(grep -cF '"cmd":"audit.status","audit":7' "$TMP/requests.log" || true)
# Polls 50 ms, then 75 ms apart (growing by half up to 500 ms).
if [[ $nstatus -eq 3 && $elapsed_ms -ge 120 ]]; then
	ok "audit --wait: polls audit.status until done (3 polls, ${elapsed_ms} ms)"
else
	not_ok "audit --wait: $nstatus polls in ${elapsed_ms} ms, want 3 polls 50 and 75 ms apart"
fi
[[ $(last_request) == '{"cmd":"report","audit":7}' ]] && ok "audit --wait: fetches the report" || not_ok "audit --wait: last request $(last_request)"

check "audit without --wait" 0 "$RP" audit 127.0.0.1:2525 -- "audit 7 started: 3 orders"
[[ $(last_request) == '{"cmd":"audit.start","targets":["127.0.0.1:2525"],"params":{},"vantages":"all"}' ]] &&
	ok "audit: default vantages all, no params" || not_ok "audit: request $(last_request)"

check "report: matrix, exit 1 for an open target" 1 "$RP" report 7 -- "DISAGREE"
run "$RP" report --json --latest
if [[ $rc -eq 1 && $(wc -l <"$TMP/out") -eq 1 ]] &&
	python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2]))["report"])' "$TMP/out" "$TMP/replies.json"; then
	ok "report --json: the controller's reply as is, one line, exit 1"
else
	not_ok "report --json: exit $rc or bytes differ"
fi
[[ $(last_request) == '{"cmd":"report","audit":"latest"}' ]] && ok "report --latest: request" || not_ok "report --latest: $(last_request)"

# --- report --output: never through a symlink, a new file is mode 0600 ----------
mkdir "$TMP/outdir"
echo "keep me" >"$TMP/outdir/victim"
chmod 0644 "$TMP/outdir/victim"
ln -s "$TMP/outdir/victim" "$TMP/outdir/link.txt"
expect_error "report --output: a symlink is refused, named" 2 \
	"relayprobe report: $TMP/outdir/link.txt: a symbolic link: refusing to write through it" \
	"$RP" report 7 --output "$TMP/outdir/link.txt"
if [[ $(cat "$TMP/outdir/victim") == "keep me" && $(stat -c %a "$TMP/outdir/victim") == 644 &&
	-L $TMP/outdir/link.txt ]]; then
	ok "report --output: the symlink and its target untouched"
else
	not_ok "report --output: symlink target changed: $(stat -c %a "$TMP/outdir/victim") $(head -c 40 "$TMP/outdir/victim")"
fi
run "$RP" report 7 --output "$TMP/outdir/new.txt"
if [[ $rc -eq 1 && ! -s $TMP/out ]] && grep -qF DISAGREE "$TMP/outdir/new.txt" &&
	[[ $(stat -c %a "$TMP/outdir/new.txt") == 600 ]]; then
	ok "report --output: a new file, mode 0600, holds the report"
else
	not_ok "report --output new file: exit $rc, mode $(stat -c %a "$TMP/outdir/new.txt" 2>&1)"
fi
run "$RP" report 7 --output "$TMP/outdir/new.txt"
if [[ $rc -eq 1 && $(stat -c %a "$TMP/outdir/new.txt") == 600 ]] &&
	[[ $(find "$TMP/outdir" -name '.new.txt.*' | wc -l) -eq 0 ]]; then
	ok "report --output: an existing file replaced, no temp file left"
else
	not_ok "report --output again: exit $rc, $(ls -a "$TMP/outdir" | tr '\n' ' ')"
fi
mkfifo "$TMP/outdir/fifo"
expect_error "report --output: a fifo is refused" 2 "$TMP/outdir/fifo: not a regular file" \
	timeout 10 "$RP" report 7 --output "$TMP/outdir/fifo"

check "transcript: swaks-style markers" 0 "$RP" transcript 7 127.0.0.1:2525 agent1 -- \
	"== 127.0.0.1:2525 127.0.0.1:2525 open" \
	"   0.000 === connected to 127.0.0.1:2525" \
	"   0.012 <-  220 mx ESMTP" \
	"   0.013  -> EHLO probe.example" \
	"   0.100  ~> RCPT TO:<relaytest@example.net>" \
	"   0.250 <~  250 2.1.5 Ok" \
	"   0.300 <~* 554 5.7.1 Relay access denied" \
	"   0.400 *** session lost"
[[ $(last_request) == '{"cmd":"transcript","audit":7,"target":"127.0.0.1:2525","vantage":"agent1"}' ]] &&
	ok "transcript: request" || not_ok "transcript: request $(last_request)"

# Strings from the controller reach the terminal cleaned, a missing one as "?".
check "events: controller strings cleaned" 0 "$RP" events -- \
	"2024-05-01T12:00:00Z mx?[31m.example client=acme closed -> ? audit=3"
if grep -q $'\x1b' "$TMP/out"; then not_ok "events: an escape byte reached the output"; else ok "events: no escape byte in the output"; fi

# --- usage errors name the option ----------------------------------------------
nreq=$(wc -l <"$TMP/requests.log")
expect_error "audit: bad --port" 2 '--port: "70000"' "$RP" audit --port 70000 127.0.0.1
expect_error "audit: bad --tls" 2 '--tls: "maybe"' "$RP" audit --tls maybe 127.0.0.1
expect_error "audit: bad --tests" 2 '--tests:' "$RP" audit --tests nosuchtest 127.0.0.1
expect_error "audit: bad --to" 2 '--to: "nobody"' "$RP" audit --to nobody 127.0.0.1
expect_error "audit: bad --vantages" 2 '--vantages:' "$RP" audit --vantages 'a,,b' 127.0.0.1
expect_error "audit: bad --wait-timeout" 2 '--wait-timeout: "0"' "$RP" audit --wait-timeout 0 127.0.0.1
expect_error "audit: unknown option" 2 '"--frob"' "$RP" audit --frob 127.0.0.1
expect_error "audit: bad target" 2 'bad target' "$RP" audit 'no such!host'
expect_error "audit: bad line in --targets names file:line" 2 "$TMP/bad:2:" \
	bash -c "printf '127.0.0.1\nbad host!\n' >'$TMP/bad' && exec '$RP' audit --targets '$TMP/bad'"
expect_error "audit: no targets" 2 'no targets' "$RP" audit
expect_error "report: two ids" 2 'give one AUDIT or --latest' "$RP" report 1 2
expect_error "transcript: missing args" 2 'needs AUDIT TARGET VANTAGE' "$RP" transcript 7 x
expect_error "agents: bad --admin" 2 '--admin: "tcp://127.0.0.1:1"' "$RP" agents list --admin tcp://127.0.0.1:1
expect_error "agents: bad --admin-timeout" 2 '--admin-timeout: "abc"' "$RP" agents list --admin-timeout abc
[[ $nreq -eq $(wc -l <"$TMP/requests.log") ]] && ok "usage errors send nothing" || not_ok "usage errors sent requests"

# --- a controller that does not answer, answers garbage, or is absent ----------
cat >"$TMP/bad.json" <<'EOF'
{"agents.list": null, "agents.revoke": "this is not JSON", "report": {"ok":true,"audit":1},
 "audit.start": {"ok":true,"audit":"a-1","orders":1},
 "audit.status": {"ok":true,"audit":"a-1","status":"running","orders":1,"done":0,"results":0}}
EOF
"$FAKE" "ipc://$TMP/bad.sock" "$TMP/bad.json" "$TMP/bad.log" 2>/dev/null &
BAD_PID=$!
for _ in $(seq 50); do [[ -S $TMP/bad.sock ]] && break; sleep 0.1; done
start=$(date +%s%N)
expect_error "unanswered request: timeout, exit 3" 3 \
	"cannot reach the controller at ipc://$TMP/bad.sock: timeout (is relayprobe-controller running?)" \
	"$RP" agents list --admin "ipc://$TMP/bad.sock" --admin-timeout 1
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if [[ $elapsed_ms -ge 900 && $elapsed_ms -lt 3000 ]]; then ok "timeout honoured (${elapsed_ms} ms for --admin-timeout 1)"; else not_ok "timeout took ${elapsed_ms} ms"; fi
expect_error "garbage reply: exit 3" 3 "not JSON" "$RP" agents revoke x --admin "ipc://$TMP/bad.sock"
expect_error "report without arrays: exit 3" 3 '"vantages" and "targets"' "$RP" report 1 --admin "ipc://$TMP/bad.sock"
start=$(date +%s%N)
expect_error "audit --wait-timeout: still running, exit 3" 3 \
	"audit a-1 still running after 1 s (see relayprobe report a-1)" \
	"$RP" audit --wait --wait-timeout 1 127.0.0.1 --admin "ipc://$TMP/bad.sock"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
npoll=$(grep -cF '"cmd":"audit.status","audit":"a-1"' "$TMP/bad.log" || true)
if [[ $elapsed_ms -lt 2500 && $npoll -ge 2 ]]; then ok "audit --wait-timeout honoured (${elapsed_ms} ms, $npoll polls)"; else not_ok "audit --wait-timeout: ${elapsed_ms} ms, $npoll polls"; fi
kill "$BAD_PID" 2>/dev/null || true
wait "$BAD_PID" 2>/dev/null || true
start=$(date +%s%N)
expect_error "no controller: exit 3 at once" 3 \
	"cannot reach the controller at ipc://$TMP/none.sock: no such socket (is relayprobe-controller running?)" \
	env RELAYPROBE_ADMIN="ipc://$TMP/none.sock" "$RP" report --latest
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if [[ $elapsed_ms -lt 1000 ]]; then ok "missing socket reported without waiting"; else not_ok "missing socket took ${elapsed_ms} ms"; fi

# --- help texts -------------------------------------------------------------------
for cmd in agents audit report transcript keygen; do
	run "$RP" "$cmd" --help
	if [[ $rc -eq 0 ]] && grep -q "^usage: relayprobe $cmd" "$TMP/out"; then ok "$cmd --help"; else not_ok "$cmd --help"; fi
done
run "$RP" audit --help
missing=
for opt in --targets --vantages --tests --port --tls --to --from --ehlo --timeout --retry-after --data --wait --wait-timeout --json --admin --admin-timeout; do
	grep -qF -- "$opt" "$TMP/out" || missing="$missing $opt"
done
[[ -z $missing ]] && ok "audit --help names every option" || not_ok "audit --help lacks$missing"
run "$RP" --help
if grep -qE '^  (agents|audit|report|transcript|keygen) ' "$TMP/out" && [[ $(grep -cE '^  (agents|audit|report|transcript|keygen) ' "$TMP/out") -eq 5 ]]; then
	ok "relayprobe --help lists the five commands"
else
	not_ok "relayprobe --help: commands"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
