#!/usr/bin/env bash
# test_report_html.sh - `relayprobe report --format html|csv|text` end to end.
# Part 1, against rp_fake_admin (canned replies): the transcripts of the HTML
# page come from the bulk `transcripts` command page by page (offset +
# cells) and are written as they come (the CLI's memory holds one page: a
# 120 MiB audit is rendered in well under that), cells outside the report
# are ignored, a cell sent twice is written once, a linked cell never sent
# still has its element, a controller that never stops paging is cut off,
# an older controller ("unknown command") gets one `transcript` request per
# cell (per cell not written yet when it refuses a later page), and a
# controller lost mid-way still leaves a whole page with exit 3. Part 2: a real controller, two agents
# and the Postfix lab on loopback; targets imported for two clients (acme:
# open from one vantage, beta: closed); audit 1 of the closed target, then
# audit 2 of both; the HTML page is rendered by headless Chromium
# (--dump-dom: summary with "new since last audit (audit 1)", one section per
# client with its matrix and verdicts, the NEW badge; #t-N opens that cell's
# transcript, the path a click takes; the history charts: per client an
# inline SVG bar per audit, per target a strip, the audit ids in <title>; no
# CSP violation in Chromium's log; the software read from the lab's Postfix
# and its advice in the CSV) and a screenshot is kept in
# $BUILD/test-artifacts/report.png. No network: file:// and 127.0.0.0/8 only.
# $1 = relayprobe binary; relayprobe-controller, relayprobe-agent and
# rp_fake_admin beside it.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rp_daemons_init "$@"
ART=$BIN/test-artifacts
CHROMIUM=$(command -v chromium || true)
if [[ -z $CHROMIUM ]]; then
	echo "test_report_html.sh: chromium not installed (scripts/install-deps.sh)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

rp_tmpdir rphtml
FPID=""
rp_cleanup_hook() {
	[[ -z $FPID ]] || kill "$FPID" 2>/dev/null
}
# --- part 1: bulk transcripts against rp_fake_admin -------------------------
FAKE=$BIN/rp_fake_admin
# fake_run NAME [OPTION...]: serve $T/NAME.json on ipc://$T/NAME.sock,
# requests in $T/NAME.log; relayprobe report --format html [OPTION...] into
# $T/NAME.html, exit in rc, the CLI's peak RSS (KiB) in $T/NAME.rss.
fake_run() {
	: >"$T/$1.log"
	"$FAKE" "ipc://$T/$1.sock" "$T/$1.json" "$T/$1.log" 2>>"$T/fake.err" &
	FPID=$!
	for _ in $(seq 300); do # a sanitizer build loads a big file slowly
		[[ -S $T/$1.sock ]] && break
		sleep 0.1
	done
	timeout 120 /usr/bin/time -o "$T/$1.rss" -f %M "$RP" report 9 --format html \
		--output "$T/$1.html" --admin "ipc://$T/$1.sock" "${@:2}" 2>"$T/$1.err"
	rc=$?
	kill "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
	FPID=""
}
# count_cmd NAME CMD: requests with "cmd":"CMD" in $T/NAME.log
count_cmd() { grep -c "\"cmd\":\"$2\"," "$T/$1.log"; }

FAKE_REPORT='"report": {"ok":true,"audit":9,"status":"done","vantages":["v1","v2"],
  "previous_audit":8,"summary":{"targets":2,"open":1,"closed":1,"inconclusive":0,"other":0,
  "disagree":0,"new_open":1,"changed":1},"targets":[
  {"target":"t1.example","client":"acme","verdict":"open","previous":"closed","new":true,
   "disagree":false,"inconclusive":false,"partial":false,
   "cells":{"v1":"open","v2":"open"},"accepted":{"v1":["external-sender"]}},
  {"target":"t2.example","client":"beta","verdict":"closed","previous":"closed","new":false,
   "disagree":false,"inconclusive":false,"partial":false,
   "cells":{"v1":"closed","v2":"closed"},"accepted":{}}]}'
# res TARGET TEXT: a results array of one result whose transcript is TEXT
res() {
	echo "[{\"target\":\"$1\",\"verdict\":\"open\",\"transcript\":[{\"t\":0,\"dir\":\"recv\",\"text\":\"$2\"}]}]"
}

if [[ ! -x $FAKE ]]; then
	not_ok "rp_fake_admin not built beside relayprobe ($FAKE)"
else
	# two pages: 3 cells then 3 (one of each not in the report, t1/v1 again),
	# total 6; t2/v2 has a verdict but no transcript
	cat >"$T/bulk.json" <<EOF
{ $FAKE_REPORT,
 "transcripts@0": {"ok":true,"audit":9,"total":6,"offset":0,"cells":[
   {"target":"t1.example","vantage":"v1","results":$(res t1.example "250 MARK-T1-V1")},
   {"target":"t1.example","vantage":"v2","results":$(res t1.example "250 MARK-T1-V2")},
   {"target":"ghost.example","vantage":"v1","results":$(res ghost.example "250 MARK-GHOST")}]},
 "transcripts@3": {"ok":true,"audit":9,"total":6,"offset":3,"cells":[
   {"target":"t2.example","vantage":"v1","results":$(res t2.example "550 MARK-T2-V1")},
   {"target":"t1.example","vantage":"v1","results":$(res t1.example "250 MARK-DUP")},
   {"target":"t2.example","vantage":"v9","results":$(res t2.example "550 MARK-V9")}]},
 "transcripts": {"ok":false,"error":"offset past the end"},
 "transcript": {"ok":false,"error":"per-cell request not expected"}
}
EOF
	fake_run bulk
	if [[ $rc -eq 1 && $(count_cmd bulk transcripts) -eq 2 && $(count_cmd bulk transcript) -eq 0 ]] &&
		grep -q '"cmd":"transcripts","audit":9,"offset":0,"limit":1000' "$T/bulk.log" &&
		grep -q '"cmd":"transcripts","audit":9,"offset":3,"limit":1000' "$T/bulk.log"; then
		ok "bulk: two transcripts pages (offset 0, then 3 = cells received), limit 1000, no per-cell request, exit 1"
	else
		not_ok "bulk: exit $rc, requests: $(cat "$T/bulk.log")"
		cat "$T/bulk.err"
	fi
	if python3 - "$T/bulk.html" <<'EOF'; then
import re, sys
h = open(sys.argv[1]).read()
ids = re.findall(r'<details id="(t-\d+)">', h)
det = dict(re.findall(r'<details id="(t-\d+)"><summary>[^<]*</summary><pre>(.*?)</pre>', h, re.S))
# t-N = target index * 2 vantages + vantage index; each once
assert sorted(ids) == ["t-0", "t-1", "t-2", "t-3"], ids
assert "MARK-T1-V1" in det["t-0"] and "MARK-T1-V2" in det["t-1"] and "MARK-T2-V1" in det["t-2"], det
assert "MARK-GHOST" not in h and "MARK-V9" not in h and "MARK-DUP" not in h
assert det["t-3"] == "(no transcript from the controller for this cell)", det["t-3"]
for i in range(4):
    assert '<a href="#t-%d">transcript</a>' % i in h, i
# the matrices before every transcript, the script after them
assert h.index('<a href="#t-3">') < h.index("<details") and h.rindex("</details>") < h.index("<script>")
assert h.endswith("</body></html>\n")
EOF
		ok "bulk: each cell's transcript in its place (t-0, t-1, t-2), written once; cells outside the report ignored; t-3 linked, never sent, says so"
	else
		not_ok "bulk: transcripts in the page"
	fi

	# an older controller: no transcripts command, one transcript request per cell
	cat >"$T/old.json" <<EOF
{ $FAKE_REPORT,
 "transcript": {"ok":true,"results":$(res x "250 MARK-OLD")}
}
EOF
	fake_run old
	n=$(grep -c 'MARK-OLD' "$T/old.html")
	if [[ $rc -eq 1 && $(count_cmd old transcripts) -eq 1 && $(count_cmd old transcript) -eq 4 && $n -eq 4 ]] &&
		grep -q "transcript on its own" "$T/old.err"; then
		ok "older controller (unknown command): 4 per-cell transcript requests instead, 4 transcripts shown"
	else
		not_ok "fallback: exit $rc, $(count_cmd old transcripts) bulk, $(count_cmd old transcript) per-cell, $n shown"
		cat "$T/old.err"
	fi

	# a controller that always says there is more: cut off after 2 x 2 x 2 + 1000 cells
	cat >"$T/endless.json" <<EOF
{ $FAKE_REPORT,
 "transcripts": {"ok":true,"audit":9,"total":100000000,"offset":0,"cells":[
   {"target":"t1.example","vantage":"v1","results":$(res t1.example "250 MARK-LOOP")}]}
}
EOF
	fake_run endless
	n=$(count_cmd endless transcripts)
	if [[ $rc -eq 1 && $n -eq 1008 ]] && grep -q 'MARK-LOOP' "$T/endless.html"; then
		ok "a controller that never stops paging is read for at most 2 x cells + one page ($n requests)"
	else
		not_ok "endless paging: exit $rc, $n requests"
	fi

	# the bulk command refused after its first page: per-cell requests for
	# the cells not written yet only
	cat >"$T/midway.json" <<EOF
{ $FAKE_REPORT,
 "transcripts@0": {"ok":true,"audit":9,"total":4,"offset":0,"cells":[
   {"target":"t1.example","vantage":"v1","results":$(res t1.example "250 MARK-T1-V1")},
   {"target":"t1.example","vantage":"v2","results":$(res t1.example "250 MARK-T1-V2")}]},
 "transcript": {"ok":true,"results":$(res x "250 MARK-OLD")}
}
EOF
	fake_run midway
	if [[ $rc -eq 1 && $(count_cmd midway transcripts) -eq 2 && $(count_cmd midway transcript) -eq 2 ]] &&
		! grep -q '"target":"t1.example","vantage"' "$T/midway.log" &&
		python3 - "$T/midway.html" <<'EOF'; then
import re, sys
h = open(sys.argv[1]).read()
det = dict(re.findall(r'<details id="(t-\d+)"><summary>[^<]*</summary><pre>(.*?)</pre>', h, re.S))
assert sorted(det) == ["t-0", "t-1", "t-2", "t-3"], sorted(det)
assert "MARK-T1-V1" in det["t-0"] and "MARK-T1-V2" in det["t-1"], det
assert "MARK-OLD" in det["t-2"] and "MARK-OLD" in det["t-3"], det
EOF
		ok "bulk refused after a page: per-cell requests for the 2 cells not written yet only"
	else
		not_ok "midway refusal: exit $rc, requests: $(cat "$T/midway.log")"
	fi

	# a page that does not parse (a stored result with duplicate keys: valid
	# for SQLite's json_valid, not for jansson): the rest one cell at a time
	cat >"$T/badpage.json" <<EOF
{ $FAKE_REPORT,
 "transcripts@0": {"ok":true,"audit":9,"total":4,"offset":0,"cells":[
   {"target":"t1.example","vantage":"v1","results":$(res t1.example "250 MARK-T1-V1")},
   {"target":"t1.example","vantage":"v2","results":$(res t1.example "250 MARK-T1-V2")}]},
 "transcripts@2": "{\"ok\":true,\"total\":4,\"cells\":[{\"target\":\"t2.example\",\"vantage\":\"v1\",\"results\":[{\"a\":1,\"a\":2}]}]}",
 "transcript": {"ok":true,"results":$(res x "250 MARK-OLD")}
}
EOF
	fake_run badpage
	if [[ $rc -eq 1 && $(count_cmd badpage transcripts) -eq 2 && $(count_cmd badpage transcript) -eq 2 ]] &&
		grep -q "was not usable" "$T/badpage.err" &&
		[[ $(grep -c 'MARK-OLD' "$T/badpage.html") -eq 2 ]]; then
		ok "an unparseable page: the 2 remaining cells one at a time, exit 1"
	else
		not_ok "unparseable page: exit $rc, requests: $(cat "$T/badpage.log")"
		cat "$T/badpage.err"
	fi

	# the controller stops answering after the first page: exit 3, and the
	# page written so far is whole (its transcripts, the script, the end)
	cat >"$T/lost.json" <<EOF
{ $FAKE_REPORT,
 "transcripts@0": {"ok":true,"audit":9,"total":4,"offset":0,"cells":[
   {"target":"t1.example","vantage":"v1","results":$(res t1.example "250 MARK-T1-V1")}]},
 "transcripts@1": null
}
EOF
	fake_run lost --admin-timeout 1
	if [[ $rc -eq 3 ]] && grep -q 'MARK-T1-V1' "$T/lost.html" &&
		[[ $(tail -c 15 "$T/lost.html") == "</body></html>" ]]; then
		ok "controller lost after a page: exit 3, the page is whole"
	else
		not_ok "lost controller: exit $rc, ends with '$(tail -c 15 "$T/lost.html")'"
		cat "$T/lost.err"
	fi

	# memory: 30 pages of 200 cells, 4 MiB of transcripts each (120 MiB in
	# all, about what 3,000 targets x 2 vantages hold with long dialogs); the
	# CLI holds one page at a time, so its peak stays far below that
	python3 - "$T/big.json" <<'EOF'
import json, sys
nt, nv, per = 3000, 2, 200
vant = ["v%d" % j for j in range(nv)]
targets = [{"target": "t%05d.example" % i, "client": "c%d" % (i // 300), "verdict": "open",
            "previous": "open", "new": False, "disagree": False, "inconclusive": False,
            "partial": False, "cells": {v: "open" for v in vant}, "accepted": {}}
           for i in range(nt)]
rep = {"report": {"ok": True, "audit": 9, "status": "done", "vantages": vant, "targets": targets}}
cells = [(t["target"], v) for t in targets for v in vant]
line = "250-" + "x" * 90
for k in range(0, len(cells), per):
    page = []
    for t, v in cells[k:k + per]:
        tr = [{"t": n, "dir": "recv", "text": "%s %s %d" % (line, t, n)} for n in range(180)]
        page.append({"target": t, "vantage": v, "results": [{"target": t, "verdict": "open",
                                                           "transcript": tr}]})
    rep["transcripts@%d" % k] = {"ok": True, "audit": 9, "total": len(cells), "offset": k,
                                 "cells": page}
json.dump(rep, open(sys.argv[1], "w"))
EOF
	# (holding them all took 820 MiB; ASan keeps freed memory aside: a small
	# quarantine and a higher bound there, still far below)
	max=80
	asan_saved=${ASAN_OPTIONS-}
	if [[ $(ldd "$RP" 2>/dev/null) == *libasan* ]]; then
		max=160
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
	fi
	fake_run big --admin-timeout 30
	if [[ -n $asan_saved ]]; then export ASAN_OPTIONS=$asan_saved; else unset ASAN_OPTIONS; fi
	rss=$(tail -1 "$T/big.rss")
	size=$(stat -c %s "$T/big.json")
	n=$(grep -c '<details id="t-' "$T/big.html")
	if [[ $rc -eq 1 && $n -eq 6000 && $(count_cmd big transcripts) -eq 30 && ${rss:-999999} -lt $((max * 1024)) ]]; then
		ok "streamed: 6000 transcripts from 30 pages ($((size / 1048576)) MiB), CLI peak $((rss / 1024)) MiB (< $max)"
	else
		not_ok "streamed: exit $rc, $n transcripts, $(count_cmd big transcripts) pages, CLI peak ${rss:-?} KiB"
		cat "$T/big.err"
	fi
fi

# --- part 2: a real controller ---------------------------------------------
rp_lab_start

CTL_PORT=$(lab_free_ports 1)
rp_admin_init
rp_keygen fra1 ams1
rp_controller_conf

if rp_start_controller; then ok "controller starts"; else
	not_ok "controller starts"
	cat "$T/controller.log"
	echo "$passed passed, $failed failed"
	exit 1
fi
for a in fra1 ams1; do
	"$RP" agents import "$T/keys/$a.pub" >/dev/null || not_ok "import $a"
done
rp_agent_conf fra1 127.0.0.5 # trusted by the TRUST_ONE Postfix
rp_agent_conf ams1 127.0.0.3
for a in fra1 ams1; do rp_start_agent $a; done
if rp_wait_connected 2; then ok "two agents connect"; else not_ok "two agents connect"; fi

TRUST="127.0.0.1:$LAB_PORT_TRUST_ONE"
CLOSED="127.0.0.1:$LAB_PORT_CLOSED"
# the inventory: two clients (the audits below name the same targets)
cat >"$T/inventory.csv" <<EOF
client,target,port,tags
acme,127.0.0.1,$LAB_PORT_TRUST_ONE,mx
beta,127.0.0.1,$LAB_PORT_CLOSED,mx
EOF
if "$RP" targets import "$T/inventory.csv" >"$T/import.txt" 2>&1; then
	ok "targets import: two clients"
else
	not_ok "targets import"
	cat "$T/import.txt"
fi
# audit 1: the closed target only, so that audit 2's open target is new
"$RP" audit --wait --wait-timeout 120 --tests basic --to relaytest@example.net \
	"$CLOSED" >"$T/audit1.txt" 2>"$T/audit1.err"
rc=$?
FIRST=$("$RP" report --latest --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["audit"])' 2>/dev/null)
if [[ $rc -eq 0 && -n $FIRST ]]; then ok "audit $FIRST (closed target) exits 0"; else
	not_ok "audit 1: exit $rc (want 0), id '$FIRST'"
	cat "$T/audit1.txt" "$T/audit1.err"
fi

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

if grep -q "transcript on its own" "$T/report.err"; then
	not_ok "the controller has no bulk transcripts command (the CLI fell back to per-cell requests)"
else
	ok "transcripts fetched with the bulk command (no per-cell fallback)"
fi
# the text report of audit 2 (audit --wait): summary and one heading per client
if grep -qF "1 new since audit $FIRST" "$T/audit.txt" && grep -q "^client acme: 1 target$" "$T/audit.txt" &&
	grep -q "^client beta: 1 target$" "$T/audit.txt" &&
	grep -qE "^$TRUST +(open|closed) +(open|closed) +open +NEW,DISAGREE$" "$T/audit.txt" &&
	[[ $(grep -n "^client acme" "$T/audit.txt" | cut -d: -f1) -lt $(grep -n "^client beta" "$T/audit.txt" | cut -d: -f1) ]]; then
	ok "text: summary (1 new since audit $FIRST), client acme then client beta, NEW flag"
else
	not_ok "text report"
	cat "$T/audit.txt"
fi

chrome --dump-dom "file://$HTML" >"$T/dom.html"
if python3 - "$T/dom.html" "$TRUST" "$CLOSED" "$FIRST" >"$T/cells.txt" 2>&1 <<'EOF'; then
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    """Rows of every table.matrix with the client of the section around it;
    the summary's <b id="n-..."> numbers and the previous audit."""
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.inm = [], None, None, False
        self.heads, self.inth, self.counts, self.cnt = [], False, {}, None
        self.client, self.sections, self.h2, self.inh2, self.prev = None, [], {}, False, None
        self.inprev = False
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "section" and "client" in a.get("class", "").split():
            self.client = a.get("data-client"); self.sections.append(self.client)
            self.h2[self.client] = ""
        if tag == "h2" and self.client is not None: self.inh2 = True
        if tag == "table" and "matrix" in a.get("class", "").split():
            self.inm = True; self.heads.append([])
        if not self.inm:
            if tag == "b" and a.get("id", "").startswith("n-"): self.cnt = a["id"]
            if tag == "span" and a.get("id") == "previous-audit": self.inprev = True
            return
        if tag == "th": self.inth = True; self.heads[-1].append("")
        if tag == "tr": self.row = []
        if tag == "td":
            self.cell = {"class": a.get("class", ""), "verdict": a.get("data-verdict"), "text": "", "links": []}
        if tag == "a" and self.cell is not None: self.cell["links"].append(a.get("href"))
    def handle_endtag(self, tag):
        if tag == "section": self.client = None
        if tag == "h2": self.inh2 = False
        if tag == "table": self.inm = False
        if tag == "th": self.inth = False
        if tag == "td" and self.cell is not None: self.row.append(self.cell); self.cell = None
        if tag == "tr" and self.row: self.rows.append((self.client, self.row)); self.row = None
        if tag == "b": self.cnt = None
        if tag == "span": self.inprev = False
    def handle_data(self, d):
        if self.cnt: self.counts[self.cnt] = d.strip()
        if self.inprev: self.prev = d.strip()
        if self.inh2: self.h2[self.client] += d
        if self.inth: self.heads[-1][-1] += d
        if self.cell is not None: self.cell["text"] += d

p = P(); p.feed(open(sys.argv[1]).read())
trust, closed, first = sys.argv[2], sys.argv[3], sys.argv[4]
assert p.sections == ["acme", "beta"], p.sections
assert p.h2["acme"].startswith("client acme") and p.h2["beta"].startswith("client beta"), p.h2
assert len(p.heads) == 2, p.heads
for h in p.heads:
    assert h == ["Target", "fra1", "ams1", "Verdict"] or h == ["Target", "ams1", "fra1", "Verdict"], h
col = {h: i for i, h in enumerate(p.heads[0])}
rows = {r[0]["text"].strip(): (c, r) for c, r in p.rows}
assert set(rows) == {trust, closed}, rows.keys()
(tc, t), (cc, c) = rows[trust], rows[closed]
assert tc == "acme" and cc == "beta", (tc, cc)
assert t[col["fra1"]]["verdict"] == "open" and "v-o" in t[col["fra1"]]["class"], t
assert "external-sender" in t[col["fra1"]]["text"], t[col["fra1"]]["text"]
assert t[col["ams1"]]["verdict"] == "closed" and "v-c" in t[col["ams1"]]["class"], t
assert t[col["Verdict"]]["verdict"] == "open" and "DISAGREE" in t[col["Verdict"]]["text"], t
assert "NEW" in t[col["Verdict"]]["text"], t[col["Verdict"]]
assert "Postfix (high)" in t[col["Verdict"]]["text"], t[col["Verdict"]]
for v in ("fra1", "ams1", "Verdict"):
    assert c[col[v]]["verdict"] == "closed" and "v-c" in c[col[v]]["class"], c
assert "NEW" not in c[col["Verdict"]]["text"], c
want = {"n-open": "1", "n-new": "1", "n-closed": "1", "n-inconclusive": "0", "n-other": "0",
        "n-disagree": "1"}
assert {k: p.counts.get(k) for k in want} == want, p.counts
assert p.prev == first, (p.prev, first)
print(t[col["fra1"]]["links"][0])
EOF
	ok "Chromium DOM: summary 1 open / 1 new since audit $FIRST / 1 closed / 0 inconclusive; sections client acme (fra1 open with accepted tests, ams1 closed, DISAGREE, NEW) and client beta (closed)"
else
	not_ok "Chromium DOM: summary, client sections, matrix"
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

# history at a glance: the SVG is in the rendered DOM (inline, under the CSP)
if python3 - "$T/dom.html" "$FIRST" >"$T/glance.txt" 2>&1 <<'EOF'; then
import re, sys
dom, first = open(sys.argv[1]).read(), int(sys.argv[2])
secs = dict(re.findall(r'<section class="client" id="c-\d+" data-client="([^"]*)">(.*?)</section>', dom, re.S))
assert set(secs) == {"acme", "beta"}, secs.keys()
def bars(sec):
    m = re.search(r'<svg class="glance"[^>]*>(.*?)</svg>', sec, re.S)
    assert m, sec[:300]
    return [int(a) for a in re.findall(r'<title>audit (\d+): \d+ open, \d+ closed, \d+ inconclusive</title>', m.group(1))]
# beta (the closed target) was in both audits, acme only in the second
assert bars(secs["beta"]) == [first, first + 1], bars(secs["beta"])
assert bars(secs["acme"]) == [first + 1], bars(secs["acme"])
assert "<title>audit %d: 1 open, 0 closed, 0 inconclusive</title>" % (first + 1) in secs["acme"]
strips = re.findall(r'<svg class="strip"[^>]*>(.*?)</svg>', secs["beta"], re.S)
assert len(strips) == 1, strips
assert re.findall(r'fill="([^"]+)"><title>audit (\d+): ([^<]+)</title>', strips[0]) == \
    [("#4cae4c", str(first), "closed"), ("#4cae4c", str(first + 1), "closed")], strips[0]
strip = re.findall(r'<svg class="strip"[^>]*>(.*?)</svg>', secs["acme"], re.S)
assert len(strip) == 1 and re.search(r'fill="#c9302c"><title>audit %d: open</title>' % (first + 1), strip[0]), strip
EOF
	ok "Chromium DOM: SVG charts (client beta: audits $FIRST and $((FIRST + 1)), acme: $((FIRST + 1))) and verdict strips with the audit ids in <title>"
else
	not_ok "Chromium DOM: history charts"
	cat "$T/glance.txt"
fi
timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$(mktemp -d "$T/chrome.XXXXXX")" --enable-logging=stderr --v=0 \
	--dump-dom "file://$HTML" >"$T/dom-csp.html" 2>"$T/csp.log"
# older Chromium says "Refused to ...", newer "... violates the following
# Content Security Policy directive" (checked: an inline <script> and a
# style="" attribute added to the page are both logged so at --v=0)
CSP_RE="Refused to|violates the following Content Security Policy"
if grep -qE "$CSP_RE" "$T/csp.log" || ! grep -q '<svg class="glance"' "$T/dom-csp.html"; then
	not_ok "the page breaks its CSP (or did not render)"
	grep -E "$CSP_RE" "$T/csp.log" | head -5
else
	ok "no CSP violation logged by Chromium (--enable-logging=stderr --v=0)"
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
if python3 - "$T/report.csv" "$TRUST" "$CLOSED" <<'EOF'; then ok "CSV: header, 4 rows target x vantage with client, verdicts, accepted tests, previous, new, software Postfix and the advice (exit $rc)"; else not_ok "CSV report"; fi
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["client","target","vantage","verdict","aggregated_verdict","disagree","inconclusive","accepted_tests","previous","new","delivered_by","backscatter","software","advice"], rows[0]
d = {(r[1], r[2]): r for r in rows[1:]}
assert len(rows) == 5 and len(d) == 4, rows
t, c = sys.argv[2], sys.argv[3]
assert d[(t, "fra1")][0] == "acme" and d[(c, "ams1")][0] == "beta", rows
assert d[(t, "fra1")][3:7] == ["open", "open", "true", "false"], d[(t, "fra1")]
assert "external-sender" in d[(t, "fra1")][7].split(";"), d[(t, "fra1")]
assert d[(t, "fra1")][8:10] == ["", "true"], d[(t, "fra1")]
assert d[(t, "ams1")][3] == "closed" and d[(t, "ams1")][7] == "", d[(t, "ams1")]
assert d[(c, "fra1")][3:5] == ["closed", "closed"] and d[(c, "ams1")][3] == "closed"
assert d[(c, "fra1")][8:10] == ["closed", "false"], d[(c, "fra1")]
# the lab is real Postfix: read from the signed transcripts by the controller
assert d[(t, "fra1")][12] == "Postfix (high)" and d[(c, "ams1")][12] == "Postfix (high)", d
assert "open-relay: " in d[(t, "fra1")][13] or "disagree: " in d[(t, "fra1")][13], d[(t, "fra1")]
assert "mynetworks" in d[(t, "fra1")][13], d[(t, "fra1")]
assert d[(c, "fra1")][13] == "", d[(c, "fra1")]
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
