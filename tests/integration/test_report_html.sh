#!/usr/bin/env bash
# test_report_html.sh - `relayprobe report --format html|csv` end to end: a
# real controller, two agents and the Postfix lab on loopback; an audit of a
# target open from one vantage and a closed one; the HTML page is rendered by
# headless Chromium (--dump-dom: the matrix and its verdicts; #t-N opens that
# cell's transcript, the path a click takes) and a screenshot is kept in
# $BUILD/test-artifacts/report.png. No network: file:// and 127.0.0.0/8 only.
# $1 = relayprobe binary; relayprobe-controller and relayprobe-agent beside it.
set -uo pipefail

# shellcheck source=daemons_lib.sh
. "$(dirname "$0")/daemons_lib.sh"
rp_daemons_init "$@"
ART=$BIN/test-artifacts
CHROMIUM=$(command -v chromium || true)
if [[ -z $CHROMIUM ]]; then
	echo "test_report_html.sh: chromium not installed (scripts/install-deps.sh)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

T=$(mktemp -d /tmp/rphtml.XXXXXX)
declare -A APID=()
CPID=""

cleanup() {
	for p in "${APID[@]}" $CPID; do
		kill "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${APID[@]}" $CPID; do
		kill -9 "$p" 2>/dev/null
	done
	lab_stop
	[[ ${RP_KEEP_TMP:-0} == 1 ]] && echo "kept $T" || rm -rf "$T"
}
LAB_NO_TRAP=1
# shellcheck source=postfix_lab.sh
. "$HERE/postfix_lab.sh"
trap cleanup EXIT
lab_start || {
	echo "0 passed, 1 failed (Postfix lab did not start)"
	exit 1
}

CTL_PORT=$(lab_free_ports 1)
ADMIN=ipc://$T/admin.sock
export RELAYPROBE_ADMIN=$ADMIN

"$RP" keygen --role controller --name ctl --out "$T/keys" >/dev/null || not_ok "keygen controller"
for a in fra1 ams1; do
	"$RP" keygen --role agent --name "$a" --out "$T/keys" >/dev/null || not_ok "keygen $a"
done

cat >"$T/controller.conf" <<EOF
[controller]
listen = tcp://127.0.0.1:$CTL_PORT
keys = $T/keys/ctl.secret
database = $T/controller.db
admin = $ADMIN
EOF

# agent NAME SOURCE-ADDRESS
write_agent_conf() {
	mkdir -p "$T/state-$1"
	chmod 700 "$T/state-$1"
	cat >"$T/$1.conf" <<EOF
[agent]
controller = tcp://127.0.0.1:$CTL_PORT
controller_key = $T/keys/ctl.pub
keys = $T/keys/$1.secret
state = $T/state-$1
bind = $2
labels = location=$1

[limits]
targets_per_order = 1000
concurrency = 50
rate = 0

[scope]
allow = 127.0.0.0/8
EOF
}

"$CTL" --config "$T/controller.conf" >>"$T/controller.log" 2>&1 &
CPID=$!
up=0
for _ in $(seq 1 50); do
	[[ -S $T/admin.sock ]] && "$RP" agents list >/dev/null 2>&1 && up=1 && break
	sleep 0.1
done
if [[ $up == 1 ]]; then ok "controller starts"; else
	not_ok "controller starts"
	cat "$T/controller.log"
	echo "$passed passed, $failed failed"
	exit 1
fi
for a in fra1 ams1; do
	"$RP" agents import "$T/keys/$a.pub" >/dev/null || not_ok "import $a"
done
write_agent_conf fra1 127.0.0.5 # trusted by the TRUST_ONE Postfix
write_agent_conf ams1 127.0.0.3
for a in fra1 ams1; do
	"$AGENT" --config "$T/$a.conf" >>"$T/agent-$a.log" 2>&1 &
	APID[$a]=$!
done
n=0
for _ in $(seq 1 100); do
	n=$("$RP" agents list --json 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["agents"] if a.get("connected")))' 2>/dev/null)
	[[ ${n:-0} -ge 2 ]] && break
	sleep 0.1
done
if [[ ${n:-0} -ge 2 ]]; then ok "two agents connect"; else not_ok "two agents connect ($n)"; fi

TRUST="127.0.0.1:$LAB_PORT_TRUST_ONE"
CLOSED="127.0.0.1:$LAB_PORT_CLOSED"
"$RP" audit --wait --wait-timeout 120 --tests basic --to relaytest@example.net \
	"$TRUST" "$CLOSED" >"$T/audit.txt" 2>"$T/audit.err"
rc=$?
if [[ $rc -eq 1 ]]; then ok "audit exits 1 (an open relay)"; else
	not_ok "audit exit status $rc (want 1)"
	cat "$T/audit.txt" "$T/audit.err"
fi

# --- HTML -----------------------------------------------------------------
mkdir -p "$ART"
HTML=$ART/report.html
"$RP" report --latest --format html --output "$HTML" 2>"$T/report.err"
rc=$?
if [[ $rc -eq 1 && -s $HTML ]]; then ok "report --format html --output writes the page, exit 1"; else
	not_ok "report --format html: exit $rc, $(wc -c <"$HTML" 2>/dev/null) bytes"
	cat "$T/report.err"
fi
if grep -qiE '(src|href)="(https?:)?//|@import|url\(' "$HTML"; then
	not_ok "the page references an external resource"
else
	ok "the page is self-contained (no external src/href/url())"
fi

chrome() {
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$T/chrome.XXXXXX")" "$@" 2>>"$T/chrome.log"
}

chrome --dump-dom "file://$HTML" >"$T/dom.html"
if python3 - "$T/dom.html" "$TRUST" "$CLOSED" >"$T/cells.txt" 2>&1 <<'EOF'; then
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.inm = [], None, None, False
        self.heads, self.inth, self.counts, self.cnt = [], False, {}, None
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "table" and a.get("id") == "matrix": self.inm = True
        if not self.inm:
            if tag == "b" and a.get("id", "").startswith("n-"): self.cnt = a["id"]
            return
        if tag == "th": self.inth = True; self.heads.append("")
        if tag == "tr": self.row = []
        if tag == "td":
            self.cell = {"class": a.get("class", ""), "verdict": a.get("data-verdict"), "text": "", "links": []}
        if tag == "a" and self.cell is not None: self.cell["links"].append(a.get("href"))
    def handle_endtag(self, tag):
        if tag == "table": self.inm = False
        if tag == "th": self.inth = False
        if tag == "td" and self.cell is not None: self.row.append(self.cell); self.cell = None
        if tag == "tr" and self.row: self.rows.append(self.row); self.row = None
        if tag == "b": self.cnt = None
    def handle_data(self, d):
        if self.cnt: self.counts[self.cnt] = d.strip()
        if self.inth: self.heads[-1] += d
        if self.cell is not None: self.cell["text"] += d

p = P(); p.feed(open(sys.argv[1]).read())
trust, closed = sys.argv[2], sys.argv[3]
assert p.heads == ["Target", "fra1", "ams1", "Verdict"] or p.heads == ["Target", "ams1", "fra1", "Verdict"], p.heads
col = {h: i for i, h in enumerate(p.heads)}
rows = {r[0]["text"].strip(): r for r in p.rows}
assert set(rows) == {trust, closed}, rows.keys()
t, c = rows[trust], rows[closed]
assert t[col["fra1"]]["verdict"] == "open" and "v-o" in t[col["fra1"]]["class"], t
assert "external-sender" in t[col["fra1"]]["text"], t[col["fra1"]]["text"]
assert t[col["ams1"]]["verdict"] == "closed" and "v-c" in t[col["ams1"]]["class"], t
assert t[col["Verdict"]]["verdict"] == "open" and "DISAGREE" in t[col["Verdict"]]["text"], t
for v in ("fra1", "ams1", "Verdict"):
    assert c[col[v]]["verdict"] == "closed" and "v-c" in c[col[v]]["class"], c
assert p.counts == {"n-open": "1", "n-closed": "1", "n-inconclusive": "0"}, p.counts
print(t[col["fra1"]]["links"][0])
EOF
	ok "Chromium DOM: matrix fra1 open (accepted tests), ams1 closed, DISAGREE; closed target closed; summary 1/1/0"
else
	not_ok "Chromium DOM matrix"
	cat "$T/cells.txt"
fi
ANCHOR=$(tail -1 "$T/cells.txt")
if [[ $ANCHOR =~ ^#t-[0-9]+$ ]]; then
	ok "the open cell links its transcript ($ANCHOR)"
	ID=${ANCHOR#\#}
	if grep -qE "<details id=\"$ID\"[^>]*(open|data-open)" "$T/dom.html"; then
		not_ok "transcript $ID open before it was asked for"
	else
		ok "transcripts are hidden until opened"
	fi
	chrome --dump-dom "file://$HTML$ANCHOR" >"$T/dom-open.html"
	if python3 - "$T/dom-open.html" "$ID" <<'EOF'; then
import re, sys
dom = open(sys.argv[1]).read()
m = re.search(r'<details id="%s"([^>]*)>(.*?)</details>' % sys.argv[2], dom, re.S)
assert m, "no details"
attrs, body = m.group(1), m.group(2)
assert 'data-open="1"' in attrs and re.search(r'\bopen=""', attrs), attrs
assert "RCPT TO:&lt;relaytest@example.net&gt;" in body, body[:500]
assert re.search(r"&lt;-  250 2\.1\.5", body), body[:800]
others = re.findall(r'<details id="(t-\d+)"[^>]*data-open', dom)
assert others == [sys.argv[2]], others
EOF
		ok "#$ID opens that transcript (open, data-open=1): RCPT and its 250, swaks markers"
	else
		not_ok "#$ID did not open the transcript"
	fi
else
	not_ok "no transcript link in the open cell ($ANCHOR)"
fi

PNG=$ART/report.png
rm -f "$PNG"
(cd "$T" && chrome --screenshot="$PNG" --window-size=1280,900 "file://$HTML" >/dev/null)
size=$(stat -c %s "$PNG" 2>/dev/null || echo 0)
if [[ $size -gt 10000 ]] && head -c 8 "$PNG" | od -An -tx1 | grep -q "89 50 4e 47"; then
	ok "screenshot kept: $PNG ($size bytes)"
else
	not_ok "screenshot $PNG: $size bytes"
fi

# --- CSV ------------------------------------------------------------------
"$RP" report --latest --format csv >"$T/report.csv"
rc=$?
if python3 - "$T/report.csv" "$TRUST" "$CLOSED" <<'EOF'; then ok "CSV: header, 4 rows target x vantage with verdicts and accepted tests (exit $rc)"; else not_ok "CSV report"; fi
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["target","vantage","verdict","aggregated_verdict","disagree","inconclusive","accepted_tests"], rows[0]
d = {(r[0], r[1]): r for r in rows[1:]}
assert len(rows) == 5 and len(d) == 4, rows
t, c = sys.argv[2], sys.argv[3]
assert d[(t, "fra1")][2:6] == ["open", "open", "true", "false"], d[(t, "fra1")]
assert "external-sender" in d[(t, "fra1")][6].split(";"), d[(t, "fra1")]
assert d[(t, "ams1")][2] == "closed" and d[(t, "ams1")][6] == "", d[(t, "ams1")]
assert d[(c, "fra1")][2:4] == ["closed", "closed"] and d[(c, "ams1")][2] == "closed"
EOF
[[ $rc -eq 1 ]] || not_ok "report --format csv exit $rc (want 1)"

"$RP" report --latest --json >"$T/a.json" && :
"$RP" report --latest --format json >"$T/b.json" && :
if python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); assert a==b and a["targets"]' "$T/a.json" "$T/b.json"; then
	ok "--json is --format json"
else
	not_ok "--json vs --format json"
fi
"$RP" report --latest --format pdf >/dev/null 2>&1
rc=$?
[[ $rc -eq 2 ]] && ok "--format pdf is a usage error (2)" || not_ok "--format pdf exit $rc"
"$RP" transcript --format html 1 x fra1 >/dev/null 2>&1
rc=$?
[[ $rc -eq 2 ]] && ok "transcript refuses --format (2)" || not_ok "transcript --format exit $rc"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
