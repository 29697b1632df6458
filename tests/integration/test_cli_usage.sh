#!/usr/bin/env bash
# test_cli_usage.sh - the relayprobe command line as a user meets it: --help,
# exit statuses, one-line errors that name the bad input, --tests list, and a
# probe of a closed loopback port (unreachable, exit 3). Traffic: 127.0.0.1 only.
# Usage: test_cli_usage.sh /path/to/relayprobe
set -euo pipefail

RP=${1:?usage: $0 /path/to/relayprobe}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

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
}

# run CMD...: runs it with stdin from /dev/null, sets $rc, output in $TMP/out, $TMP/err.
run() {
	rc=0
	"$@" </dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
}

# expect NAME STATUS PATTERN CMD...: exit status STATUS and PATTERN (fixed
# string) in stderr, on one line, which is the only line.
expect_error() {
	local name=$1 status=$2 pattern=$3
	shift 3
	run "$@"
	if [[ $rc -ne $status ]]; then
		not_ok "$name: exit $rc, want $status"
	elif ! grep -qF -- "$pattern" "$TMP/err"; then
		not_ok "$name: stderr lacks \"$pattern\""
	elif [[ $(grep -cv '^warning:' "$TMP/err") -ne 1 ]]; then
		not_ok "$name: error is not one line"
	else
		ok "$name"
	fi
}

# --- global usage ----------------------------------------------------------
run "$RP" --version
if [[ $rc -eq 0 ]] && grep -q '^relayprobe [0-9]' "$TMP/out"; then ok "--version"; else not_ok "--version"; fi

run "$RP" --help
if [[ $rc -eq 0 ]] && grep -q 'probe' "$TMP/out"; then ok "relayprobe --help lists probe"; else not_ok "relayprobe --help"; fi

expect_error "unknown command" 2 '"frobnicate"' "$RP" frobnicate
run "$RP"
if [[ $rc -eq 2 ]]; then ok "no command exits 2"; else not_ok "no command: exit $rc"; fi

# --- probe --help mentions every option ------------------------------------
run "$RP" probe --help
if [[ $rc -ne 0 ]]; then
	not_ok "probe --help exits 0 (got $rc)"
else
	missing=""
	for opt in --port --tls --bind --ehlo --from --to --local-domain --tests --data \
		--timeout --connect-timeout --banner-timeout --retry-after --session-errors \
		--pause --rate --concurrency --no-mx --targets --json --transcript --quiet \
		--verbose --help -p -q -v; do
		grep -qE -- "(^|[ ,])$opt([ ,=]|\$)" "$TMP/out" || missing="$missing $opt"
	done
	for word in "Exit status" "default 25" "auto" "require" "implicit"; do
		grep -qF -- "$word" "$TMP/out" || missing="$missing '$word'"
	done
	if [[ -z $missing ]]; then ok "probe --help mentions every option"; else not_ok "probe --help lacks:$missing"; fi
fi

# --- one-line errors naming the bad input -----------------------------------
expect_error "unknown option" 2 '--bogus' "$RP" probe --bogus 127.0.0.1
expect_error "unknown short option" 2 '-Z' "$RP" probe -Z 127.0.0.1
expect_error "missing option value" 2 '--port' "$RP" probe 127.0.0.1 --port
expect_error "bad --port value" 2 '70000' "$RP" probe --port 70000 127.0.0.1
expect_error "--port 0" 2 '--port: "0" is out of range (1-65535)' "$RP" probe 127.0.0.1 --port 0
expect_error "non-numeric --port" 2 '"25x"' "$RP" probe --port 25x 127.0.0.1
expect_error "bad target port" 2 'bad target "127.0.0.1:99999": port out of range' \
	"$RP" probe 127.0.0.1:99999
expect_error "--rate not a number" 2 'relayprobe probe: --rate: "abc" is not a number' \
	"$RP" probe --rate abc 127.0.0.1
expect_error "--timeout negative" 2 '"-1"' "$RP" probe --timeout -1 127.0.0.1
expect_error "--concurrency 0" 2 'out of range' "$RP" probe --concurrency 0 127.0.0.1
expect_error "--tls bogus" 2 '"sometimes"' "$RP" probe --tls sometimes 127.0.0.1
expect_error "--to not an address" 2 '"nobody"' "$RP" probe --to nobody 127.0.0.1
expect_error "--bind not an address" 2 '"nowhere"' "$RP" probe --bind nowhere 127.0.0.1
expect_error "no targets" 2 'no targets' "$RP" probe
expect_error "--targets missing file" 2 "$TMP/no-such-file" \
	"$RP" probe --targets "$TMP/no-such-file"

printf '# targets\n127.0.0.1\n\n127.0.0.2:2525   # with port\nbad_name.example.com\n' >"$TMP/targets.txt"
expect_error "--targets bad line names file:line" 2 "$TMP/targets.txt:5:" \
	"$RP" probe --targets "$TMP/targets.txt"
if grep -qF 'bad_name.example.com' "$TMP/err"; then ok "bad line quotes the target"; else not_ok "bad line quotes the target"; fi

expect_error "--tests bogus" 2 'bogus-test' "$RP" probe --tests external-sender,bogus-test 127.0.0.1

# --- the catalogue -----------------------------------------------------------
run "$RP" probe --tests list
if [[ $rc -ne 0 ]]; then
	not_ok "--tests list exits 0 (got $rc)"
else
	missing=""
	for id in null-sender external-sender server-name-sender local-domain-sender \
		localhost-sender unqualified-sender ip-literal-sender percent-hack-ip \
		percent-hack-name quoted-recipient quoted-percent double-at-ip quoted-at-ip \
		double-at-name trailing-at source-route-ip source-route-name bang-path \
		bang-path-ip bang-path-name; do
		grep -qE "^$id " "$TMP/out" || missing="$missing $id"
	done
	for set in all nmap; do
		grep -qE "^  $set " "$TMP/out" || missing="$missing set:$set"
	done
	if [[ -z $missing ]]; then ok "--tests list lists the 20 ids and the sets"; else not_ok "--tests list lacks:$missing"; fi
fi

# --- warnings ----------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

run "$RP" probe --json --tests external-sender --connect-timeout 5 "127.0.0.1:$PORT"
n=$(grep -c 'recipient domain example.net is reserved' "$TMP/err" || true)
if [[ $n -eq 1 ]]; then ok "reserved --to domain warned once"; else not_ok "reserved --to warning count $n"; fi

# --- a closed port: unreachable, exit 3 ----------------------------------------
run "$RP" probe -q --json --tests external-sender --to relaytest@relay-check.example.co \
	--connect-timeout 5 "127.0.0.1:$PORT"
if [[ $rc -ne 3 ]]; then
	not_ok "closed port exits 3 (got $rc)"
else
	ok "closed port exits 3"
fi
if [[ -s $TMP/err ]]; then not_ok "-q prints nothing on stderr"; else ok "-q prints nothing on stderr"; fi
if python3 -c '
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert o["verdict"] == "unreachable", o["verdict"]
assert o["address"] == "127.0.0.1", o["address"]
assert o["port"] == int(sys.argv[2]), o["port"]
assert o["target"] == "127.0.0.1:" + sys.argv[2], o["target"]
for key in ("tests", "tls", "transcript", "started", "finished", "reason"):
    assert key in o, key
' "$TMP/out" "$PORT" 2>"$TMP/err"; then
	ok "closed port: --json says unreachable"
else
	not_ok "closed port: --json says unreachable"
fi

# Text mode: header, one line for the dialog, summary. The recipient domain
# is checked in DNS: against a resolver on loopback where nothing listens, so
# no query leaves this machine, and the warning says it does not resolve.
printf 'nameserver 127.0.0.1:9\n' >"$TMP/resolv.conf"
run "$RP" probe --tests external-sender --to relaytest@relay-check.example.co \
	--resolv-conf "$TMP/resolv.conf" --connect-timeout 5 "127.0.0.1:$PORT"
if grep -q 'recipient domain relay-check.example.co does not resolve' "$TMP/err"; then
	ok "unresolvable --to domain warned"
else
	not_ok "unresolvable --to domain warned: $(cat "$TMP/err")"
fi
if [[ $rc -eq 3 ]] && grep -q '^TARGET ' "$TMP/out" &&
	grep -qE "^127\.0\.0\.1:$PORT +127\.0\.0\.1:$PORT +unreachable" "$TMP/out" &&
	grep -q '^1 dialog: 0 open, 0 closed, 1 inconclusive$' "$TMP/out"; then
	ok "closed port: text line and summary"
else
	not_ok "closed port: text line and summary"
	sed 's/^/#   stdout: /' "$TMP/out" | head -5
fi

# --- one mailbox rule for probe, audit and the agent (common/syntax.c) -------
# An address-literal recipient is a relay test form: accepted (the probe only
# dials the loopback target; the literal is text in RCPT TO, never looked up).
run "$RP" probe -q --tests external-sender --to 'relaytest@[192.0.2.1]' \
	--resolv-conf "$TMP/resolv.conf" --connect-timeout 5 "127.0.0.1:$PORT"
if [[ $rc -eq 3 && ! -s $TMP/err ]]; then
	ok "probe --to with an address literal accepted"
else
	not_ok "probe --to with an address literal accepted (exit $rc)"
fi
# What the agent would refuse, audit refuses before asking the controller.
expect_error "audit --to with a special in the local part" 2 \
	'"a,b@example.net" is not an address' "$RP" audit --to 'a,b@example.net' 127.0.0.1
expect_error "audit --from with a space" 2 '"a b@example.net" is not an address' \
	"$RP" audit --from 'a b@example.net' 127.0.0.1

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
