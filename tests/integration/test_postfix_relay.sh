#!/usr/bin/env bash
# test_postfix_relay.sh - `relayprobe probe` against real Postfix listeners on
# loopback (tests/integration/postfix_lab.sh): open, closed, open only to one
# source address (--bind), STARTTLS with a self-signed certificate, STARTTLS
# required, AUTH-style refusal, IPv6, the whole catalogue against Postfix's
# error limits, and the exit statuses. Asserts on the --json output with
# python3. Needs root. Usage: test_postfix_relay.sh PATH/TO/relayprobe
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_probe_init "$@"
rp_tmpdir rptest-pf
WORK=$T

if ! lab_start; then
	echo "FAIL: could not start the Postfix lab"
	exit 1
fi

bad() {
	not_ok "$@"
}

# Common options: no politeness pause between sessions on loopback, bounded
# waits so a hang fails the test instead of stalling it.
COMMON=(--pause 0 --timeout 20 --retry-after 1)

# probe NAME ARGS...: run relayprobe --json, output in $WORK/NAME.json,
# stderr in $WORK/NAME.err, exit status in $WORK/NAME.rc.
probe() {
	local name=$1 t0=$SECONDS rc
	shift
	"$RP" probe --json "${COMMON[@]}" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err"
	rc=$?
	echo $rc >"$WORK/$name.rc"
	echo "ran: relayprobe probe --json ${COMMON[*]} $* -> exit $rc in $((SECONDS - t0)) s"
}
rc_of() {
	cat "$WORK/$1.rc"
}

# check DESCRIPTION NAME PYTHON-EXPR-FILE-CONTENT: the python code gets `ds`
# (list of dialog objects, one per JSON line) and must raise/exit non-zero
# (printing why) when the assertion fails.
check() {
	local desc=$1 name=$2 code=$3 out
	if out=$(python3 - "$WORK/$name.json" "$code" 2>&1 <<'EOF'
import json, sys
path, code = sys.argv[1], sys.argv[2]
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

def ids(d, outcome):
    return [t["id"] for t in d["tests"] if t["outcome"] == outcome]

def outcomes(d):
    r = {}
    for t in d["tests"]:
        r[t["outcome"]] = r.get(t["outcome"], 0) + 1
    return r

exec(code)
EOF
	); then
		ok "$desc"
	else
		bad "$desc: $out"
		echo "---- relayprobe stderr ($name):"
		head -n 20 "$WORK/$name.err"
		echo "---- first 2000 bytes of JSON ($name):"
		head -c 2000 "$WORK/$name.json"
		echo
	fi
}
expect_rc() {
	local desc=$1 name=$2 want=$3 got
	got=$(rc_of "$name")
	if [ "$got" = "$want" ]; then
		ok "$desc (exit $got)"
	else
		bad "$desc: exit status $got, want $want; stderr: $(head -c 300 "$WORK/$name.err")"
	fi
}

H=$LAB_HOST
echo "lab: closed=$LAB_PORT_CLOSED open=$LAB_PORT_OPEN trust-one=$LAB_PORT_TRUST_ONE" \
	"tls=$LAB_PORT_TLS tls-required=$LAB_PORT_TLS_REQUIRED auth=$LAB_PORT_AUTH" \
	"open6=${LAB_PORT_OPEN6:-none}"

# --- OPEN: the listener trusts 127.0.0.0/8, so it relays for us.
probe open "$H:$LAB_PORT_OPEN"
expect_rc "open listener: exit 1 (open relay found)" open 1
check "open listener: verdict open, external-sender and null-sender accepted, RCPT got 250" open '
d = one(ds)
if d["verdict"] != "open": fail("verdict %r" % d["verdict"])
if d["address"] != "127.0.0.1" or d["port"] != int("'"$LAB_PORT_OPEN"'"):
    fail("address/port %r:%r" % (d["address"], d["port"]))
acc = ids(d, "accepted")
for want in ("external-sender", "null-sender"):
    if want not in acc: fail("%s not accepted; accepted: %s" % (want, acc))
tr = d["transcript"]
t = [t for t in d["tests"] if t["id"] == "external-sender"][0]
if not t["reply"].startswith("250"): fail("external-sender reply %r" % t["reply"])
ev = t["evidence"]
if ev is None or tr[ev]["dir"] != "recv" or not tr[ev]["text"].startswith("250"):
    fail("evidence %r does not point at a received 250: %r" % (ev, tr[ev] if ev is not None else None))
rcpt = [e for e in tr[:ev] if e["dir"] == "sent" and e["text"].upper().startswith("RCPT TO:<" + t["rcpt_to"].upper() + ">")]
if not rcpt: fail("no RCPT TO:<%s> sent before the 250" % t["rcpt_to"])
if not t["rcpt_to"].endswith("@example.net"): fail("rcpt_to %r" % t["rcpt_to"])
'

# --- CLOSED: default relay restrictions; every relay test rejected.
probe closed "$H:$LAB_PORT_CLOSED"
expect_rc "closed listener: exit 0 (no open relay)" closed 0
check "closed listener: verdict closed, every test rejected with 5xx" closed '
d = one(ds)
if d["verdict"] != "closed": fail("verdict %r" % d["verdict"])
o = outcomes(d)
if set(o) != {"rejected"}: fail("outcomes %r" % o)
for t in d["tests"]:
    if not (t["code"] and 500 <= t["code"] < 600): fail("%s code %r" % (t["id"], t["code"]))
if not any("Relay access denied" in t["reply"] for t in d["tests"]):
    fail("no test shows Postfix \"Relay access denied\"")
'

# --- Both at once: one open among the targets makes the exit status 1.
probe both "$H:$LAB_PORT_CLOSED" "$H:$LAB_PORT_OPEN"
expect_rc "closed + open targets: exit 1" both 1
check "closed + open targets: one dialog each, verdicts closed and open" both '
v = sorted((d["port"], d["verdict"]) for d in ds)
want = sorted([(int("'"$LAB_PORT_CLOSED"'"), "closed"), (int("'"$LAB_PORT_OPEN"'"), "open")])
if v != want: fail("got %r want %r" % (v, want))
'

# --- TRUST_ONE: open only for a client at 127.0.0.5 (--bind).
probe trust_bind --bind "$LAB_TRUSTED_SOURCE" "$H:$LAB_PORT_TRUST_ONE"
expect_rc "trust-one with --bind $LAB_TRUSTED_SOURCE: exit 1" trust_bind 1
check "trust-one with --bind $LAB_TRUSTED_SOURCE: verdict open" trust_bind '
d = one(ds)
if d["verdict"] != "open": fail("verdict %r" % d["verdict"])
if "external-sender" not in ids(d, "accepted"): fail("external-sender not accepted")
'
probe trust_nobind "$H:$LAB_PORT_TRUST_ONE"
expect_rc "trust-one from 127.0.0.1: exit 0" trust_nobind 0
check "trust-one from 127.0.0.1: verdict closed" trust_nobind '
d = one(ds)
if d["verdict"] != "closed": fail("verdict %r" % d["verdict"])
'

# --- TLS: STARTTLS offered with a self-signed certificate; relaying closed.
probe tls --tls auto "$H:$LAB_PORT_TLS"
expect_rc "STARTTLS listener: exit 0" tls 0
check "STARTTLS listener: TLS negotiated, self-signed chain not ok, subject, tests over TLS, closed" tls '
d = one(ds)
if d["verdict"] != "closed": fail("verdict %r" % d["verdict"])
t = d["tls"]
if not t: fail("tls is %r" % t)
if not (t["protocol"] or "").startswith("TLS"): fail("protocol %r" % t["protocol"])
if t["chain_ok"] is not False: fail("chain_ok %r for a self-signed certificate" % t["chain_ok"])
if "mx.relayprobe.test" not in (t["subject"] or ""): fail("subject %r" % t["subject"])
sent = [e for e in d["transcript"] if e["dir"] == "sent"]
if not any(e["text"].upper() == "STARTTLS" for e in sent): fail("STARTTLS never sent")
plain = [e["text"] for e in sent if not e["tls"] and e["text"].upper().split(":")[0] in ("MAIL FROM", "RCPT TO", "RSET")]
if plain: fail("relay-test commands sent in plain text: %r" % plain[:3])
if not any(e["tls"] and e["text"].upper().startswith("EHLO") for e in sent): fail("no EHLO over TLS")
if not any(e["tls"] and e["text"].upper().startswith("RCPT TO:") for e in sent): fail("no RCPT over TLS")
'

# --- TLS_REQUIRED: relays for 127/8 but only over TLS.
probe tlsreq_off --tls off "$H:$LAB_PORT_TLS_REQUIRED"
check "TLS-required listener with --tls off: verdict tls-required, 530 5.7.0" tlsreq_off '
d = one(ds)
if d["verdict"] != "tls-required": fail("verdict %r" % d["verdict"])
if any(e["dir"] == "sent" and e["text"].upper() == "STARTTLS" for e in d["transcript"]):
    fail("STARTTLS sent despite --tls off")
if not any(t["reply"].startswith("530") and "5.7.0" in t["reply"] for t in d["tests"]):
    fail("no test reply with 530 5.7.0: %r" % [t["reply"] for t in d["tests"]][:3])
if ids(d, "accepted"): fail("accepted without TLS: %r" % ids(d, "accepted"))
'
rc=$(rc_of tlsreq_off)
if [ "$rc" = 0 ] || [ "$rc" = 3 ]; then
	ok "TLS-required listener with --tls off: not reported as open (exit $rc)"
else
	bad "TLS-required listener with --tls off: exit $rc, want 0 or 3"
fi
probe tlsreq_auto --tls auto "$H:$LAB_PORT_TLS_REQUIRED"
expect_rc "TLS-required listener with --tls auto: exit 1" tlsreq_auto 1
check "TLS-required listener with --tls auto: STARTTLS, then open" tlsreq_auto '
d = one(ds)
if d["verdict"] != "open": fail("verdict %r" % d["verdict"])
if not d["tls"] or not (d["tls"]["protocol"] or "").startswith("TLS"): fail("tls %r" % d["tls"])
'

# --- --tls require against a listener without STARTTLS: no test may run.
probe require_plain --tls require "$H:$LAB_PORT_CLOSED"
check "--tls require without STARTTLS on offer: no test decided, verdict neither open nor closed" require_plain '
d = one(ds)
if d["verdict"] in ("open", "closed"): fail("verdict %r" % d["verdict"])
decided = [t["id"] for t in d["tests"] if t["outcome"] in ("accepted", "rejected")]
if decided: fail("tests decided without TLS: %r" % decided)
if any(e["dir"] == "sent" and e["text"].upper().startswith(("MAIL FROM", "RCPT TO")) for e in d["transcript"]):
    fail("MAIL/RCPT sent in plain text")
print("verdict=%s reason=%r outcomes=%r" % (d["verdict"], d.get("reason"), outcomes(d)))
'
expect_rc "--tls require without STARTTLS on offer: inconclusive" require_plain 3

# --- AUTH-style: relaying refused with 530 5.7.1 Authentication required.
probe auth "$H:$LAB_PORT_AUTH"
check "AUTH-style listener: verdict auth-required" auth '
d = one(ds)
if d["verdict"] != "auth-required": fail("verdict %r (outcomes %r)" % (d["verdict"], outcomes(d)))
if ids(d, "accepted"): fail("accepted: %r" % ids(d, "accepted"))
'

# --- Postfix's own default relay restriction (defer_unauth_destination):
# "454 4.7.1 Relay access denied" is a refusal, not greylisting: closed, in
# one session, without waiting for --retry-after.
probe stock --tests basic "$H:$LAB_PORT_STOCK"
expect_rc "stock Postfix (454 4.7.1 Relay access denied): exit 0" stock 0
check "stock Postfix: verdict closed from 454s, one session, no retry" stock '
d = one(ds)
if d["verdict"] != "closed": fail("verdict %r (outcomes %r)" % (d["verdict"], outcomes(d)))
codes = {t["code"] for t in d["tests"] if t["outcome"] == "rejected"}
if 454 not in codes: fail("codes %r" % codes)
if d["sessions"] != 1: fail("sessions %r" % d["sessions"])
'

# --- The whole catalogue against CLOSED, default session error budget:
# Postfix slows a session after 10 errors and drops it after 20; the engine
# must spread the tests so none ends in an error or a Postfix disconnect.
probe closed_all --tests all "$H:$LAB_PORT_CLOSED"
expect_rc "--tests all against closed: exit 0" closed_all 0
check "--tests all against closed: >= 20 tests, all rejected, none error, no 421" closed_all '
d = one(ds)
if d["verdict"] != "closed": fail("verdict %r" % d["verdict"])
if len(d["tests"]) < 20: fail("only %d tests" % len(d["tests"]))
o = outcomes(d)
if set(o) != {"rejected"}: fail("outcomes %r" % o)
bad421 = [e["text"] for e in d["transcript"] if e["dir"] == "recv" and e["text"].startswith("421")]
if bad421: fail("server said %r" % bad421[:2])
print("tests=%d sessions=%d round_trips=%d" % (len(d["tests"]), d["sessions"], d["round_trips"]))
'
limit_re='postfix-rplab/closed/smtpd.*(too many errors|hard error limit)'
if grep -qE "$limit_re" "$LAB_DIR/maillog"; then
	bad "--tests all against closed: Postfix logged an error-limit disconnect: $(grep -E "$limit_re" "$LAB_DIR/maillog" | head -n 2)"
else
	ok "--tests all against closed: no Postfix error-limit disconnect in its log"
fi

# --- IPv6 (when ::1 exists).
if [ -n "$LAB_PORT_OPEN6" ]; then
	probe open6 "[::1]:$LAB_PORT_OPEN6"
	expect_rc "IPv6 open listener: exit 1" open6 1
	check "IPv6 open listener [::1]: verdict open" open6 '
d = one(ds)
if d["verdict"] != "open" or d["address"] != "::1": fail("%r %r" % (d["verdict"], d["address"]))
'
else
	echo "NOTE: no ::1 on this host; IPv6 check not run (not counted)"
fi

# --- --data: the open listener takes the message; end of DATA decides.
probe open_data --data --tests external-sender "$H:$LAB_PORT_OPEN"
expect_rc "--data against open: exit 1" open_data 1
check "--data against open: DATA sent, 354 then 250 after the dot, test accepted" open_data '
d = one(ds)
if d["verdict"] not in ("open", "accepted-not-delivered", "open-confirmed"): fail("verdict %r" % d["verdict"])
if ids(d, "accepted") != ["external-sender"]: fail("accepted %r" % ids(d, "accepted"))
tr = d["transcript"]
di = [i for i, e in enumerate(tr) if e["dir"] == "sent" and e["text"].upper() == "DATA"]
if not di: fail("DATA never sent")
rest = [e for e in tr[di[0]:] if e["dir"] == "recv"]
if not rest or not rest[0]["text"].startswith("354"): fail("no 354 after DATA: %r" % rest[:1])
if not any(e["text"].startswith("250") for e in rest[1:]): fail("no 250 after the message")
'

# --- Text output names the verdict and the accepted tests.
"$RP" probe "${COMMON[@]}" "$H:$LAB_PORT_OPEN" >"$WORK/text.out" 2>"$WORK/text.err"
rc=$?
if [ "$rc" = 1 ] && grep -q "open" "$WORK/text.out" && grep -q "external-sender" "$WORK/text.out"; then
	ok "text output for open listener names the verdict and external-sender (exit 1)"
else
	bad "text output (exit $rc): $(head -c 400 "$WORK/text.out")"
fi

# --- Usage errors: exit 2 with a one-line message naming the culprit.
"$RP" probe --tls sometimes "$H:$LAB_PORT_OPEN" >/dev/null 2>"$WORK/usage.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "sometimes" "$WORK/usage.err"; then
	ok "bad --tls value: exit 2, message names it"
else
	bad "bad --tls value: exit $rc, stderr $(head -c 200 "$WORK/usage.err")"
fi
"$RP" probe "$H:99999" >/dev/null 2>"$WORK/usage2.err"
rc=$?
if [ "$rc" = 2 ] && grep -q "99999" "$WORK/usage2.err"; then
	ok "malformed target: exit 2, message names it"
else
	bad "malformed target: exit $rc, stderr $(head -c 200 "$WORK/usage2.err")"
fi

echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
	echo "---- Postfix lab log (last 40 lines)"
	tail -n 40 "$LAB_DIR/maillog" 2>/dev/null
	exit 1
fi
exit 0
