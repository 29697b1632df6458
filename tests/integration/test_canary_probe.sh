#!/usr/bin/env bash
# test_canary_probe.sh - proof by delivery against a real MTA: `relayprobe
# probe --canary` with its in-process canary on loopback, and the Postfix lab
# (tests/integration/postfix_lab.sh) in canary mode, which routes the canary's
# domain to the canary's port. Listeners and the verdicts expected:
#   open         relays for 127/8: open-confirmed, deliveries from 127.0.0.1
#                with a Received: hop and a delay
#   closed       relay access denied: closed, nothing arrives
#   accept-drop  relays at RCPT, discards at end of DATA: accepted-not-delivered
#   backscatter  closed, takes unknown users at [127.0.0.1] and bounces them:
#                closed with canary.backscatter true and a bounce
# Asserts on the --json output with python3 (and the text output once).
# Needs root. Usage: test_canary_probe.sh PATH/TO/relayprobe
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_probe_init "$@"
rp_tmpdir rptest-canary
WORK=$T

LAB_CANARY_DOMAIN=canary.relayprobe.test
LAB_CANARY_PORT=$(lab_free_ports 1)
if ! lab_start; then
	echo "FAIL: could not start the Postfix lab (canary mode)"
	exit 1
fi

bad() {
	not_ok "$@"
}

H=$LAB_HOST
CANARY=(--canary "127.0.0.1:$LAB_CANARY_PORT" --canary-domain "$LAB_CANARY_DOMAIN")
COMMON=(--pause 0 --timeout 20 --retry-after 1)
# relay tests whose rewritten recipient is the canary's own domain (Postfix
# expands percent hacks, source routes and bang paths at its literal), so
# every accepted message is expected to arrive
DELIVERABLE=null-sender,external-sender,percent-hack-ip,source-route-ip,quoted-at-ip,bang-path-ip

# probe NAME WAIT ARGS...: relayprobe --json with the canary waiting up to
# WAIT s; output in $WORK/NAME.json, stderr in NAME.err, exit status in
# NAME.rc, the run's seconds in NAME.secs.
probe() {
	local name=$1 wait=$2 t0 rc
	shift 2
	t0=$(date +%s.%N)
	"$RP" probe --json "${CANARY[@]}" --canary-wait "$wait" "${COMMON[@]}" "$@" \
		>"$WORK/$name.json" 2>"$WORK/$name.err"
	rc=$?
	echo $rc >"$WORK/$name.rc"
	python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
		"$t0" "$(date +%s.%N)" >"$WORK/$name.secs"
	echo "ran: relayprobe probe --json ${CANARY[*]} --canary-wait $wait ${COMMON[*]} $*" \
		"-> exit $rc in $(cat "$WORK/$name.secs") s"
}
secs_of() {
	cat "$WORK/$1.secs"
}
expect_rc() {
	local desc=$1 name=$2 want=$3 got
	got=$(cat "$WORK/$name.rc")
	if [ "$got" = "$want" ]; then
		ok "$desc (exit $got)"
	else
		bad "$desc: exit status $got, want $want; stderr: $(head -c 300 "$WORK/$name.err")"
	fi
}

# check DESCRIPTION NAME PYTHON-CODE: the code gets `ds` (the dialog objects)
# and the helpers below, and fails by raising (fail(...)).
check() {
	local desc=$1 name=$2 code=$3 out
	if out=$(python3 - "$WORK/$name.json" "$code" "$LAB_CANARY_DOMAIN" "$(secs_of "$name")" 2>&1 <<'EOF'
import json, re, sys
path, code, domain, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ds = []
with open(path) as f:
    for n, line in enumerate(f, 1):
        line = line.strip()
        if not line:
            continue
        try:
            ds.append(json.loads(line))
        except ValueError as e:
            sys.exit("line %d is not JSON: %s: %r" % (n, e, line[:200]))

def fail(msg):
    raise SystemExit(msg)

def one(ds):
    if len(ds) != 1:
        fail("expected 1 dialog, got %d" % len(ds))
    return ds[0]

def test(d, tid):
    t = [t for t in d["tests"] if t["id"] == tid]
    if not t: fail("no test %s" % tid)
    return t[0]

def ids(d, outcome):
    return [t["id"] for t in d["tests"] if t["outcome"] == outcome]

def relay_ids(d, outcome):
    return [i for i in ids(d, outcome) if i != "backscatter-probe"]

def canary(d):
    c = d.get("canary")
    if not isinstance(c, dict): fail("no canary object: %r" % c)
    for k in ("verdict_before", "deliveries", "bounces", "backscatter", "multihop"):
        if k not in c: fail("canary has no %r: %r" % (k, sorted(c)))
    return c

TOKEN = r"rp-[a-z2-7]{29}"
def token_to(t):
    m = re.fullmatch(r".*?(" + TOKEN + r").*", t["rcpt_to"])
    if not m: fail("%s rcpt_to %r has no token" % (t["id"], t["rcpt_to"]))
    return m.group(1)

exec(code)
EOF
	); then
		ok "$desc${out:+ [$out]}"
	else
		bad "$desc: $out"
		echo "---- relayprobe stderr ($name):"
		head -n 20 "$WORK/$name.err"
		echo "---- first 3000 bytes of JSON ($name):"
		head -c 3000 "$WORK/$name.json"
		echo
	fi
}

queue_empty() {
	local q
	q=$(postqueue -c "$LAB_DIR/etc" -p 2>&1)
	if printf '%s\n' "$q" | grep -q "Mail queue is empty"; then
		ok "$1: the Postfix queue is empty (nothing deferred)"
	else
		bad "$1: Postfix still holds mail: $(printf '%s\n' "$q" | head -n 8)"
	fi
}

echo "lab: open=$LAB_PORT_OPEN closed=$LAB_PORT_CLOSED accept-drop=$LAB_PORT_ACCEPT_DROP" \
	"backscatter=$LAB_PORT_BACKSCATTER canary=127.0.0.1:$LAB_CANARY_PORT ($LAB_CANARY_DOMAIN)"

# --- OPEN: every accepted message reaches the canary; the wait ends early.
probe open 30 --tests "$DELIVERABLE" "$H:$LAB_PORT_OPEN"
expect_rc "open listener: exit 1" open 1
check "open listener: open-confirmed, one delivery per accepted test, from 127.0.0.1, Received hop, delay" open '
d = one(ds)
if d["verdict"] != "open-confirmed": fail("verdict %r" % d["verdict"])
c = canary(d)
if c["verdict_before"] != "open": fail("verdict_before %r" % c["verdict_before"])
acc = relay_ids(d, "accepted")
if sorted(acc) != sorted("'"$DELIVERABLE"'".split(",")): fail("accepted %r" % acc)
got = sorted(x["test"] for x in c["deliveries"])
if got != sorted(acc): fail("deliveries for %r, accepted %r" % (got, acc))
for x in c["deliveries"]:
    if x["kind"] != "delivery": fail("kind %r" % x["kind"])
    if x["peer_ip"] != "127.0.0.1": fail("%s peer_ip %r" % (x["test"], x["peer_ip"]))
    if x["multihop"] is not False: fail("%s multihop %r" % (x["test"], x["multihop"]))
    if x["helo"] != "mx.relayprobe.test": fail("%s helo %r" % (x["test"], x["helo"]))
    if not x["hops"]: fail("%s: no Received hop" % x["test"])
    h = x["hops"][0]
    if h["by"] != "mx.relayprobe.test" or h["from_ip"] != "127.0.0.1" or not h["with"].startswith("ESMTP"):
        fail("%s first hop %r" % (x["test"], h))
    if not isinstance(x["delay_ms"], int) or not 0 <= x["delay_ms"] < 30000:
        fail("%s delay_ms %r" % (x["test"], x["delay_ms"]))
    t = test(d, x["test"])
    if not x["message_id"].startswith(token_to(t) + "."): fail("%s message_id %r, token %r" % (x["test"], x["message_id"], token_to(t)))
    want_from = t["mail_from"] if t["mail_from"] else ""
    if x["mail_from"] != want_from: fail("%s mail_from %r, sent %r" % (x["test"], x["mail_from"], want_from))
if c["bounces"] or c["backscatter"]: fail("bounces %r" % c["bounces"])
if secs >= 25: fail("took %.1f s: the wait did not end when every message had arrived" % secs)
print("%d deliveries, delays %s ms, %.1f s" % (len(c["deliveries"]), sorted(x["delay_ms"] for x in c["deliveries"]), secs))
'
if grep -qE "postfix-rplab/smtp\[[0-9]+\]: .*relay=127\.0\.0\.1\[127\.0\.0\.1\]:$LAB_CANARY_PORT, .*status=sent" "$LAB_DIR/maillog"; then
	ok "open listener: Postfix logged status=sent to the canary's port"
else
	bad "open listener: no status=sent to 127.0.0.1:$LAB_CANARY_PORT in the Postfix log"
fi

# --- OPEN, the whole catalogue: the tests through the server's name go to
# mx.relayprobe.test (not a local domain here: discarded), so they never
# arrive; the rest do, and one delivery is proof enough.
probe open_all 5 --tests all "$H:$LAB_PORT_OPEN"
expect_rc "open listener, --tests all: exit 1" open_all 1
check "open listener, --tests all: open-confirmed, the name-routed tests not delivered" open_all '
d = one(ds)
if d["verdict"] != "open-confirmed": fail("verdict %r" % d["verdict"])
c = canary(d)
got = {x["test"] for x in c["deliveries"]}
acc = set(relay_ids(d, "accepted"))
if not got <= acc: fail("deliveries for tests not accepted: %r" % sorted(got - acc))
for want in ("external-sender", "percent-hack-ip", "source-route-ip", "bang-path-ip", "quoted-recipient"):
    if want not in got: fail("%s not delivered; delivered %r" % (want, sorted(got)))
for name_routed in ("percent-hack-name", "double-at-name", "bang-path-name"):
    if name_routed in got: fail("%s delivered, but Postfix discards mail for mx.relayprobe.test" % name_routed)
print("%d of %d accepted delivered, %.1f s" % (len(got), len(acc), secs))
'
queue_empty "open listener"

# --- CLOSED: nothing accepted, nothing awaited, nothing arrives.
probe closed 30 "$H:$LAB_PORT_CLOSED"
expect_rc "closed listener: exit 0" closed 0
check "closed listener: closed, no delivery, no bounce, no wait" closed '
d = one(ds)
if d["verdict"] != "closed": fail("verdict %r" % d["verdict"])
c = canary(d)
if c["verdict_before"] != "closed": fail("verdict_before %r" % c["verdict_before"])
if c["deliveries"] or c["bounces"] or c["backscatter"]: fail("canary %r" % c)
if ids(d, "accepted"): fail("accepted %r" % ids(d, "accepted"))
if secs >= 15: fail("took %.1f s with nothing to wait for" % secs)
'

# --- ACCEPT-DROP: 250 after DATA, then Postfix discards the message.
probe drop 5 --tests basic "$H:$LAB_PORT_ACCEPT_DROP"
expect_rc "accept-drop listener: exit 1 (accepting for strangers is still open)" drop 1
check "accept-drop listener: accepted-not-delivered after the whole wait" drop '
d = one(ds)
if d["verdict"] != "accepted-not-delivered": fail("verdict %r" % d["verdict"])
c = canary(d)
if c["verdict_before"] != "open": fail("verdict_before %r" % c["verdict_before"])
if c["deliveries"] or c["bounces"]: fail("canary %r" % c)
acc = relay_ids(d, "accepted")
if "external-sender" not in acc: fail("accepted %r" % acc)
if not all(test(d, i)["data"] for i in acc): fail("accepted without DATA")
if not 4.5 <= secs < 20: fail("took %.1f s, want the 5 s wait" % secs)
'
if grep -qE "postfix-rplab/accept-drop/smtpd\[[0-9]+\]: .*discard: END-OF-MESSAGE" "$LAB_DIR/maillog"; then
	ok "accept-drop listener: Postfix logged the DISCARD at end of DATA"
else
	bad "accept-drop listener: no 'discard: END-OF-MESSAGE' in the Postfix log"
fi

# --- BACKSCATTER: relaying refused, but an unknown user at [127.0.0.1] is
# accepted and bounced to the sender token.
probe backscatter 30 "$H:$LAB_PORT_BACKSCATTER"
expect_rc "backscatter listener: exit 0 (backscatter is not a relay)" backscatter 0
check "backscatter listener: closed, canary.backscatter true, the bounce for backscatter-probe" backscatter '
d = one(ds)
if d["verdict"] != "closed": fail("verdict %r" % d["verdict"])
c = canary(d)
if c["verdict_before"] != "closed": fail("verdict_before %r" % c["verdict_before"])
if c["backscatter"] is not True: fail("backscatter %r" % c["backscatter"])
if c["deliveries"]: fail("deliveries %r" % c["deliveries"])
if relay_ids(d, "accepted"): fail("relay tests accepted: %r" % relay_ids(d, "accepted"))
t = test(d, "backscatter-probe")
if t["outcome"] != "accepted" or not t["data"]: fail("backscatter-probe %r data %r" % (t["outcome"], t["data"]))
if not t["rcpt_to"].endswith("@[127.0.0.1]"): fail("rcpt_to %r" % t["rcpt_to"])
if not re.fullmatch(r"rp-b-[a-z2-7]{29}@" + re.escape(domain), t["mail_from"]): fail("mail_from %r" % t["mail_from"])
if len(c["bounces"]) != 1: fail("bounces %r" % c["bounces"])
b = c["bounces"][0]
if b["kind"] != "bounce" or b["test"] != "backscatter-probe": fail("bounce %r" % b)
if b["mail_from"] != "": fail("bounce sent from <%s>, not the null sender" % b["mail_from"])
if b["peer_ip"] != "127.0.0.1": fail("bounce peer_ip %r" % b["peer_ip"])
if not isinstance(b["delay_ms"], int) or not 0 <= b["delay_ms"] < 30000: fail("delay_ms %r" % b["delay_ms"])
if secs >= 25: fail("took %.1f s: the wait did not end at the bounce" % secs)
print("bounce %d ms after the end of DATA, %.1f s" % (b["delay_ms"], secs))
'
if grep -qE "postfix-rplab/bounce\[[0-9]+\]: .*sender non-delivery notification" "$LAB_DIR/maillog"; then
	ok "backscatter listener: Postfix logged the non-delivery notification"
else
	bad "backscatter listener: no 'sender non-delivery notification' in the Postfix log"
fi
queue_empty "backscatter listener"

# --- Text output, once: the three kinds of line in one run.
t0=$SECONDS
"$RP" probe "${CANARY[@]}" --canary-wait 30 "${COMMON[@]}" --tests "$DELIVERABLE" \
	"$H:$LAB_PORT_OPEN" "$H:$LAB_PORT_BACKSCATTER" "$H:$LAB_PORT_CLOSED" \
	>"$WORK/text.out" 2>"$WORK/text.err"
rc=$?
echo "ran: relayprobe probe ${CANARY[*]} --canary-wait 30 ${COMMON[*]} --tests $DELIVERABLE" \
	"$H:$LAB_PORT_OPEN $H:$LAB_PORT_BACKSCATTER $H:$LAB_PORT_CLOSED -> exit $rc in $((SECONDS - t0)) s"
sed 's/^/    | /' "$WORK/text.out"
text_fail=""
[ "$rc" = 1 ] || text_fail="exit $rc, want 1"
grep -qE "^$H:$LAB_PORT_OPEN +$H:$LAB_PORT_OPEN +open-confirmed " "$WORK/text.out" ||
	text_fail="$text_fail; no open-confirmed line for the open listener"
grep -qE "^ +proof: external-sender delivered to the canary .* by 127\.0\.0\.1, [1-9][0-9]* Received: hop" "$WORK/text.out" ||
	text_fail="$text_fail; no proof: line for external-sender"
grep -qE "^$H:$LAB_PORT_BACKSCATTER +$H:$LAB_PORT_BACKSCATTER +closed " "$WORK/text.out" ||
	text_fail="$text_fail; backscatter listener not closed"
grep -qE "^ +backscatter: a bounce for backscatter-probe came back from 127\.0\.0\.1$" "$WORK/text.out" ||
	text_fail="$text_fail; no backscatter: line"
grep -qE "^$H:$LAB_PORT_CLOSED +$H:$LAB_PORT_CLOSED +closed " "$WORK/text.out" ||
	text_fail="$text_fail; closed listener not closed"
[ "$(grep -c "backscatter:" "$WORK/text.out")" = 1 ] ||
	text_fail="$text_fail; backscatter: lines for more than the backscatter listener"
if [ -z "$text_fail" ]; then
	ok "text output: open-confirmed with proof: lines, backscatter: line, closed"
else
	bad "text output:${text_fail#;}; stderr: $(head -c 300 "$WORK/text.err")"
fi

echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
	echo "---- Postfix lab log (last 40 lines)"
	tail -n 40 "$LAB_DIR/maillog" 2>/dev/null
	exit 1
fi
exit 0
