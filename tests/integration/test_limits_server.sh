#!/usr/bin/env bash
# test_limits_server.sh - `relayprobe probe` sizes its pipelined groups and
# its sessions by a server's RFC 9422 LIMITS (common/dialog.c): against
# limits_smtp.py advertising "LIMITS RCPTMAX=2 MAILMAX=3", no group carries
# more than 2 RCPTs and at least one carries 2, no session more than 3
# transactions, the server never had to refuse one for its limits, and every
# test still gets its answer; the same server without LIMITS gets larger
# groups and fewer sessions (so the check can tell). Traffic: 127.0.0.1 only.
#
#   relayprobe probe --+--> 127.0.0.1:$LIM   LIMITS RCPTMAX=2 MAILMAX=3
#                      +--> 127.0.0.1:$PLAIN  no LIMITS
# Usage: test_limits_server.sh /path/to/relayprobe
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_probe_init "$@"
rp_tmpdir rplimits


read -r LIM PLAIN <<<"$(lab_free_ports 2)"
python3 "$HERE/limits_smtp.py" "$LIM" "$T/lim.log" 2 3 2>"$T/lim.err" &
rp_track $!
python3 "$HERE/limits_smtp.py" "$PLAIN" "$T/plain.log" 2>"$T/plain.err" &
rp_track $!
rp_wait_port "$LIM"
rp_wait_port "$PLAIN"
# rp_wait_port's own connection is a session without commands: start clean.
sleep 0.3
: >"$T/lim.log"
: >"$T/plain.log"

# Enough rejections allowed per session that only LIMITS shapes the groups.
for p in lim:"$LIM" plain:"$PLAIN"; do
	"$RP" probe -q --pause 0 --session-errors 50 --json "127.0.0.1:${p#*:}" \
		>"$T/${p%%:*}.json" 2>"$T/${p%%:*}.err" || true
done
sleep 0.3 # the last session's line

check() { # check WHAT PYTHON: PYTHON true with lim/plain (sessions), rl/rp (results)
	if python3 - "$T" "$2" <<'PY'; then ok "$1"; else not_ok "$1"; fi
import json, sys
t = sys.argv[1]
def sessions(n):
    return [json.loads(l) for l in open("%s/%s.log" % (t, n)) if l.strip()]
def result(n):
    rows = [json.loads(l) for l in open("%s/%s.json" % (t, n)) if l.strip()]
    assert len(rows) == 1, rows
    return rows[0]
lim, plain, rl, rp = sessions("lim"), sessions("plain"), result("lim"), result("plain")
groups = [g for s in lim for g in s["groups"]]
if not eval("(" + sys.argv[2] + ")"):
    print("# LIMITS sessions: %s" % lim)
    print("# plain sessions: %s" % plain)
    print("# LIMITS result: %s, tests %s" % (rl["verdict"], [x["outcome"] for x in rl["tests"]]))
    sys.exit(1)
PY
}

check "the probe read the server's LIMITS (transcript event)" \
	"any('RCPTMAX=2' in e['text'] for e in rl['transcript'] if e['dir'] == 'event')"
check "no pipelined group over RCPTMAX=2, and groups of 2 used" \
	"groups and max(groups) == 2"
check "no session over MAILMAX=3 transactions" \
	"lim and max(s['mails'] for s in lim) <= 3"
check "the server never refused a command for its limits" \
	"not any(s['over'] for s in lim)"
check "every test answered: closed, none left without an outcome" \
	"rl['verdict'] == 'closed' and all(x['outcome'] == 'rejected' for x in rl['tests'])"
check "sessions: as many as MAILMAX=3 requires" \
	"len([s for s in lim if s['mails']]) >= -(-len(rl['tests']) // 3)"
check "without LIMITS the same server gets larger groups and fewer sessions" \
	"max(g for s in plain for g in s['groups']) > 2 and
	 len([s for s in plain if s['mails']]) < len([s for s in lim if s['mails']])"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
