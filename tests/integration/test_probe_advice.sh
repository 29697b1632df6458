#!/usr/bin/env bash
# test_probe_advice.sh - `relayprobe probe` names the software and the fix
# (cli/probe_advice.c, docs/fingerprint.md): against scripted servers of
# persona_smtp.py (Postfix with its banner hidden and open, Exim open to the
# percent hack only, an open server with nothing to read) and against the
# lab's real Postfix (open: mynetworks = 127.0.0.0/8), it checks the one
# line per finding, the --explain text and evidence, and the --json members
# "fingerprint" and "advice". Traffic: 127.0.0.1 only.
#
#   relayprobe probe --+--> 127.0.0.1:$PF   persona postfix-open
#                      +--> 127.0.0.1:$EX   persona exim-percent
#                      +--> 127.0.0.1:$PL   persona plain-open
#                      +--> 127.0.0.1:$LAB_PORT_OPEN  real Postfix (lab)
# Usage: test_probe_advice.sh /path/to/relayprobe
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_probe_init "$@"
rp_tmpdir rpadvice


read -r PF EX PL <<<"$(lab_free_ports 3)"
for p in "postfix-open $PF" "exim-percent $EX" "plain-open $PL"; do
	set -- $p
	python3 "$HERE/persona_smtp.py" "$2" "$1" 2>"$T/$1.err" &
	rp_track $!
	rp_wait_port "$2"
done

probe() { # OUT ARGS...: text output of one probe
	local out=$1
	shift
	"$RP" probe -q --pause 0 --tests basic,syntax "$@" >"$T/$out" 2>"$T/$out.err" || true
}

expect() { # FILE PATTERN WHAT
	if grep -qF -- "$2" "$T/$1"; then ok "$3"; else
		not_ok "$3"
		sed 's/^/# /' "$T/$1"
	fi
}

probe pf "127.0.0.1:$PF"
expect pf "    software: Postfix (high) - fix: smtpd_relay_restrictions = permit_mynetworks" \
	"hidden-banner Postfix named from its replies, with its relay fix"
probe pf_x --explain "127.0.0.1:$PF"
expect pf_x "      open-relay:" "--explain names the finding"
expect pf_x "reject_unauth_destination" "--explain gives the full advice"
expect pf_x "      evidence: 250-SIZE 10240000" "--explain shows the evidence lines"

probe ex "127.0.0.1:$EX"
expect ex "    software: Exim (high) - fix: leave percent_hack_domains unset" \
	"Exim open to the percent hack only: the address-parsing setting"
if grep -q "relay_from_hosts" "$T/ex"; then
	not_ok "percent-hack-only relay gets no open-relay advice"
else
	ok "percent-hack-only relay gets no open-relay advice"
fi

probe pl "127.0.0.1:$PL"
expect pl "    software: unknown - fix: accept mail for other domains only from" \
	"nothing to read: unknown and the generic advice"
probe pl_x --explain "127.0.0.1:$PL"
expect pl_x "      software unknown: too little evidence" "--explain says why unknown"

# --json: the members, and everything else unchanged
"$RP" probe -q --pause 0 --tests basic,syntax --json "127.0.0.1:$PF" "127.0.0.1:$EX" \
	"127.0.0.1:$PL" >"$T/json" 2>"$T/json.err" || true
if python3 - "$T/json" "$PF" "$EX" "$PL" <<'PY'; then ok "--json carries fingerprint and advice"; else not_ok "--json carries fingerprint and advice"; fi
import json, sys
path, pf, ex, pl = sys.argv[1:]
res = {str(o["port"]): o for o in map(json.loads, open(path))}
def fp(p): return res[p]["fingerprint"]
assert fp(pf)["software"] == "postfix" and fp(pf)["confidence"] == "high", fp(pf)
assert any("SIZE" in e["text"] for e in fp(pf)["evidence"])
assert [a["finding"] for a in res[pf]["advice"]] == ["open-relay"]
assert res[pf]["advice"][0]["software"] == "postfix"
assert fp(ex)["software"] == "exim"
assert [a["finding"] for a in res[ex]["advice"]] == ["address-form"]
assert fp(pl)["software"] == "unknown" and fp(pl)["evidence"] == []
assert res[pl]["advice"][0]["software"] == "generic"
for o in res.values():
    assert o["schema"] == 1 and o["verdict"] == "open" and isinstance(o["transcript"], list)
PY

# The lab's real Postfix (its banner hides the product).
rp_lab_start
probe lab "127.0.0.1:$LAB_PORT_OPEN"
expect lab "    software: Postfix (high) - fix: smtpd_relay_restrictions" \
	"the lab's real open Postfix is named Postfix, with its fix"
probe lab_closed "127.0.0.1:$LAB_PORT_CLOSED"
if grep -q "software:" "$T/lab_closed"; then
	not_ok "a closed server gets no advice line"
	sed 's/^/# /' "$T/lab_closed"
else
	ok "a closed server gets no advice line"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
