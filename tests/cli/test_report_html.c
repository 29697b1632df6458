/* test_report_html.c - cli/report_html.c: the HTML page (summary counts,
 * matrix cells and classes, accepted tests, transcripts hidden in <details>
 * with swaks markers) and the CSV rows (header, RFC 4180 quoting, formula
 * prefix, client/previous/new columns), the per-client sections, NEW badges
 * and "new since last audit" summary of newer controllers and the old page
 * without them, from canned report/transcript replies; a hostile banner,
 * client and target name never reach the page as markup. The streamed page
 * (report_html_new/cell/end): transcripts in any order land under the ids
 * the matrix links, once each, cells outside the report are ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "report_html.h"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (j == NULL)
		fail_msg("bad test JSON: %s", err.text);
	return j;
}

static const char *const REPORT =
    "{\"ok\":true,\"audit\":7,\"status\":\"done\",\"vantages\":[\"a1\",\"v<b>2\"],"
    "\"targets\":["
    "{\"target\":\"mx.example.com\",\"verdict\":\"open\",\"disagree\":true,"
    "\"inconclusive\":false,\"cells\":{\"a1\":\"open\",\"v<b>2\":\"closed\"},"
    "\"accepted\":{\"a1\":[\"external-sender\",\"null-sender\"]}},"
    "{\"target\":\"<img src=x onerror=alert(1)>\",\"verdict\":\"closed\",\"disagree\":false,"
    "\"inconclusive\":false,\"cells\":{\"a1\":\"closed\",\"v<b>2\":\"closed\"},\"accepted\":{}},"
    "{\"target\":\"=cmd|'/c calc'!A1,\\\"x\\\"\",\"verdict\":\"inconclusive\","
    "\"disagree\":false,\"inconclusive\":true,\"cells\":{\"a1\":\"unreachable\"},"
    "\"accepted\":{}}]}";

/* transcripts[target][vantage]; the open cell's banner is hostile. */
static const char *const TRANSCRIPTS =
    "[[{\"ok\":true,\"results\":[{\"target\":\"mx.example.com\",\"address\":\"192.0.2.7\","
    "\"port\":25,\"verdict\":\"open\",\"transcript\":["
    "{\"t\":1000,\"dir\":\"recv\",\"text\":\"220 <script>alert(1)</script> \\\"x\\\" 'y' & z\"},"
    "{\"t\":1250,\"dir\":\"sent\",\"text\":\"RCPT TO:<relaytest@example.net>\"},"
    "{\"t\":1500,\"dir\":\"recv\",\"text\":\"250 2.1.5 Ok\"}]}]},null],"
    "[null,null],[null,null]]";

static char *render_html(const json_t *report, const json_t *trs, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*rc = report_render_html(report, trs, 0, f);
	fclose(f);
	return buf;
}

static char *render_csv(const json_t *report, long *rows)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*rows = report_render_csv(report, f);
	fclose(f);
	return buf;
}

static void html_escapes_hostile_strings(void **state)
{
	json_t *r = parse(REPORT), *t = parse(TRANSCRIPTS);
	int rc;
	char *html = render_html(r, t, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	/* the only <script> is the page's own, at the end */
	assert_non_null(strstr(html, "<script>\nfunction rpOpen"));
	assert_null(strstr(html, "<script>alert"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<b>2"));
	assert_non_null(strstr(
	    html, "220 &lt;script&gt;alert(1)&lt;/script&gt; &quot;x&quot; &#39;y&#39; &amp; z"));
	assert_non_null(strstr(html, "&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(html, "<th>v&lt;b&gt;2</th>"));
	/* a single <script> tag and no external resources */
	assert_null(strstr(strstr(html, "<script") + 1, "<script"));
	assert_null(strstr(html, "http://"));
	assert_null(strstr(html, "https://"));
	free(html);
	json_decref(r);
	json_decref(t);
}

/* "'sha256-BASE64'" of len bytes at p, as a CSP source expression. */
static void sha256_source(const char *p, size_t len, char *out, size_t outlen)
{
	unsigned char md[32];
	unsigned char b64[48];
	unsigned int mdlen = 0;

	assert_int_equal(EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	assert_int_equal(EVP_EncodeBlock(b64, md, 32), 44);
	snprintf(out, outlen, "'sha256-%s'", (const char *)b64);
}

/* The bytes between the first open tag and its closing tag, as a hash. */
static void element_hash(const char *html, const char *open, const char *close, char *out,
                         size_t outlen)
{
	const char *b = strstr(html, open), *e;

	assert_non_null(b);
	b += strlen(open);
	e = strstr(b, close);
	assert_non_null(e);
	sha256_source(b, (size_t)(e - b), out, outlen);
}

/* The CSP allows the page's own <style> and <script> by hash, nothing else:
 * no 'unsafe-inline', so an injected inline script would not run even if an
 * escape were missed. */
static void html_csp_hashes_not_unsafe_inline(void **state)
{
	json_t *r = parse(REPORT), *t = parse(TRANSCRIPTS);
	int rc;
	char *html = render_html(r, t, &rc);
	char want[256], style_h[80], script_h[80];
	const char *csp, *end;
	char policy[512];

	(void)state;
	assert_int_equal(rc, 0);
	csp = strstr(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"");
	assert_non_null(csp);
	csp += strlen("<meta http-equiv=\"Content-Security-Policy\" content=\"");
	end = strchr(csp, '"');
	assert_non_null(end);
	assert_true((size_t)(end - csp) < sizeof(policy));
	snprintf(policy, sizeof(policy), "%.*s", (int)(end - csp), csp);
	assert_null(strstr(policy, "unsafe-inline"));
	assert_null(strstr(policy, "unsafe-eval"));
	element_hash(html, "<style>", "</style>", style_h, sizeof(style_h));
	element_hash(html, "<script>", "</script>", script_h, sizeof(script_h));
	snprintf(want, sizeof(want), "default-src 'none'; style-src %s; script-src %s", style_h,
	         script_h);
	assert_string_equal(policy, want);
	free(html);
	json_decref(r);
	json_decref(t);
}

static void html_matrix_and_summary(void **state)
{
	json_t *r = parse(REPORT), *t = parse(TRANSCRIPTS);
	int rc;
	char *html = render_html(r, t, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(html, "<b id=\"n-open\">1</b>"));
	assert_non_null(strstr(html, "<b id=\"n-closed\">1</b>"));
	assert_non_null(strstr(html, "<b id=\"n-inconclusive\">1</b>"));
	assert_non_null(strstr(html, "status: <b>done</b>"));
	assert_non_null(strstr(html, "1970-01-01 00:00:00 UTC"));
	assert_non_null(strstr(html, "<h1>relayprobe audit 7</h1>"));
	/* open cell: class, accepted tests, transcript link t-0 */
	assert_non_null(strstr(html, "<td class=\"cell v-o\" data-verdict=\"open\">open<span "
	                             "class=\"acc\">accepted: external-sender, null-sender</span> "
	                             "<a href=\"#t-0\">transcript</a></td>"));
	assert_non_null(strstr(html, "<td class=\"cell v-c\" data-verdict=\"closed\">closed <a "
	                             "href=\"#t-2\">transcript</a></td>"));
	assert_non_null(strstr(html, "<td class=\"cell v-i\" data-verdict=\"unreachable\">"));
	assert_non_null(strstr(html, "<td class=\"cell v-n\" data-verdict=\"-\">-</td>"));
	assert_non_null(strstr(html, "<span class=\"flag\">DISAGREE</span>"));
	/* the transcript: hidden details, swaks markers, relative times */
	assert_non_null(
	    strstr(html, "<details id=\"t-0\"><summary>mx.example.com from a1</summary>"));
	assert_null(strstr(html, "<details id=\"t-0\" open"));
	assert_non_null(strstr(html, "   0.250  -&gt; RCPT TO:&lt;relaytest@example.net&gt;\n"));
	assert_non_null(strstr(html, "   0.500 &lt;-  250 2.1.5 Ok\n"));
	/* a cell with a verdict links its transcript (ids from the report's
	 * indexes); the controller sent none: the element says so */
	assert_non_null(strstr(html, "<td class=\"cell v-c\" data-verdict=\"closed\">closed "
	                             "<a href=\"#t-1\">transcript</a></td>"));
	assert_non_null(strstr(html, "<details id=\"t-1\"><summary>mx.example.com from "
	                             "v&lt;b&gt;2</summary><pre>(no transcript from the "
	                             "controller for this cell)</pre></details>"));
	/* no verdict for the cell: no link, no element */
	assert_null(strstr(html, "id=\"t-5\""));
	assert_null(strstr(html, "#t-5\""));
	assert_non_null(strstr(html, "@media print"));
	free(html);
	json_decref(r);
	json_decref(t);
}

static void html_rejects_bad_report(void **state)
{
	json_t *r = parse("{\"ok\":true,\"audit\":1}");
	int rc;
	char *html = render_html(r, NULL, &rc);

	(void)state;
	assert_int_equal(rc, -1);
	free(html);
	json_decref(r);
}

static void csv_rows_and_quoting(void **state)
{
	json_t *r = parse(REPORT);
	long rows;
	char *csv = render_csv(r, &rows);

	(void)state;
	assert_int_equal(rows, 6);
	assert_int_equal(strncmp(csv,
	                         "client,target,vantage,verdict,aggregated_verdict,disagree,"
	                         "inconclusive,accepted_tests,previous,new,delivered_by,"
	                         "backscatter,software,advice\r\n",
	                         strlen("client,target,vantage,verdict,aggregated_verdict,disagree,"
	                                "inconclusive,accepted_tests,previous,new,delivered_by,"
	                                "backscatter,software,advice\r\n")),
	                 0);
	/* an older controller: no client, previous or new: empty cells */
	assert_non_null(strstr(csv, "\r\n,mx.example.com,a1,open,open,true,false,external-sender;"
	                            "null-sender,,,,false,,\r\n"));
	assert_non_null(
	    strstr(csv, "\r\n,mx.example.com,v<b>2,closed,open,true,false,,,,,false,,\r\n"));
	/* a comma and quotes: quoted, quotes doubled; a formula: prefixed with ' */
	assert_non_null(strstr(
	    csv, "\r\n,\"'=cmd|'/c "
	         "calc'!A1,\"\"x\"\"\",a1,unreachable,inconclusive,false,true,,,,,false,,\r\n"));
	assert_non_null(strstr(csv, ",v<b>2,,inconclusive,false,true,,,,,false,,\r\n"));
	free(csv);
	json_decref(r);
}

/* The canary's proof in the CSV: the delivering IP per vantage, backscatter. */
static void csv_canary_proof(void **state)
{
	json_t *r =
	    parse("{\"vantages\":[\"a\",\"b\"],\"targets\":[{\"target\":\"192.0.2.16\",\"verdict\":"
	          "\"open-confirmed\",\"cells\":{\"a\":\"open-confirmed\",\"b\":\"closed\"},"
	          "\"proof\":{\"deliveries\":[{\"agent\":\"a\",\"test\":\"external-sender\","
	          "\"peer_ip\":\"192.0.2.17\"}],\"bounces\":[{\"agent\":\"b\",\"test\":"
	          "\"backscatter-probe\",\"peer_ip\":\"192.0.2.16\"}]}}]}");
	long rows;
	char *csv = render_csv(r, &rows);

	(void)state;
	assert_int_equal(rows, 2);
	assert_non_null(
	    strstr(csv, ",a,open-confirmed,open-confirmed,false,false,,,,192.0.2.17,false,,\r\n"));
	assert_non_null(strstr(csv, ",b,closed,open-confirmed,false,false,,,,,true,,\r\n"));
	free(csv);
	json_decref(r);
}

/* The canary's proof table: each delivery with its time, delivering IP,
 * hops, delay and multihop; a bounce as backscatter; peer text escaped. */
static void html_canary_proof(void **state)
{
	json_t *r = parse(
	    "{\"audit\":4,\"status\":\"done\",\"vantages\":[\"a\"],\"targets\":[{\"target\":"
	    "\"192.0.2.18\",\"verdict\":\"open-confirmed\",\"cells\":{\"a\":\"open-confirmed\"},"
	    "\"proof\":{\"deliveries\":[{\"agent\":\"a\",\"test\":\"external-sender\","
	    "\"arrived_at\":1764633600000,\"peer_ip\":\"192.0.2.19\",\"hops\":2,\"delay_ms\":"
	    "2500,\"multihop\":true}],\"bounces\":[{\"agent\":\"a\",\"test\":"
	    "\"backscatter-probe\",\"arrived_at\":1764633601000,\"peer_ip\":\"<b>x\"}]}}]}");
	int rc;
	char *html = render_html(r, NULL, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(html, "<h2>Proof by delivery</h2>"));
	assert_non_null(strstr(html, "<td>delivered, multihop</td><td>2025-12-02T00:00:00Z</td>"
	                             "<td>192.0.2.19</td><td>2</td><td>2.5 s</td>"));
	assert_non_null(strstr(html, "<td>bounce (backscatter)</td><td>2025-12-02T00:00:01Z</td>"
	                             "<td>&lt;b&gt;x</td>"));
	assert_null(strstr(html, "<b>x"));
	free(html);
	json_decref(r);
}

/* A report with the controller's software and advice (ctl_advice.c). */
#define REPORT_ADVICE                                                                              \
	"{\"audit\":5,\"status\":\"done\",\"vantages\":[\"a\"],\"targets\":["                      \
	"{\"target\":\"192.0.2.20\",\"verdict\":\"open\",\"cells\":{\"a\":\"open\"},"              \
	"\"software\":{\"name\":\"postfix\",\"label\":\"Postfix\",\"confidence\":\"high\"},"       \
	"\"advice\":[{\"finding\":\"open-relay\",\"software\":\"postfix\",\"summary\":"            \
	"\"set <mynetworks>\\u001b\",\"key\":\"postfix/open-relay\"}]},"                           \
	"{\"target\":\"192.0.2.21\",\"verdict\":\"closed\",\"cells\":{\"a\":\"closed\"},"          \
	"\"software\":{\"name\":\"exim\",\"label\":\"Exim\",\"confidence\":\"low\"},"              \
	"\"advice\":[]},"                                                                          \
	"{\"target\":\"192.0.2.22\",\"verdict\":\"closed\",\"cells\":{\"a\":\"closed\"},"          \
	"\"software\":{\"name\":\"unknown\",\"label\":\"unknown\",\"confidence\":\"none\"},"       \
	"\"advice\":[]}],"                                                                         \
	"\"advice_texts\":{\"postfix/open-relay\":{\"summary\":\"set <mynetworks>\","              \
	"\"text\":\"line <one>\\nline & two\"}}}"

/* The software in the CSV and the matrix, the advice's summaries in the CSV
 * and its full text in the page, every string escaped. */
static void software_advice_csv_html(void **state)
{
	json_t *r = parse(REPORT_ADVICE);
	long rows;
	int rc;
	char *csv = render_csv(r, &rows), *html = render_html(r, NULL, &rc);

	(void)state;
	assert_int_equal(rows, 3);
	assert_non_null(strstr(csv, "\r\n,192.0.2.20,a,open,open,false,false,,,,,false,"
	                            "Postfix (high),open-relay: set <mynetworks>?\r\n"));
	assert_non_null(strstr(csv, "\r\n,192.0.2.21,a,closed,closed,false,false,,,,,false,"
	                            "Exim (low),\r\n"));
	assert_non_null(strstr(csv, ",false,unknown,\r\n"));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(html, "<td class=\"target\">192.0.2.20</td>"));
	assert_non_null(strstr(html, "<span class=\"sw\">Postfix (high)</span></td></tr>"));
	assert_non_null(strstr(html, "<h2>What to fix</h2>"));
	assert_non_null(strstr(html, "<details><summary>open-relay: set &lt;mynetworks&gt;?"
	                             "</summary><pre>line &lt;one&gt;\nline &amp; two\n</pre>"
	                             "</details>"));
	assert_null(strstr(html, "<mynetworks>"));
	assert_null(strstr(html, "<one>"));
	free(csv);
	free(html);
	json_decref(r);
}

/* History at a glance: per client a bar per audit (stacked counts, audit
 * id in <title>), per target a strip (a colour per verdict); inline SVG
 * only, client names escaped; a strip that does not match its client's
 * audits is left out. */
static void glance_svg(void **state)
{
	json_t *r =
	    parse("{\"audit\":9,\"status\":\"done\",\"vantages\":[\"a\"],\"targets\":["
	          "{\"target\":\"192.0.2.30\",\"client\":\"<x>\",\"verdict\":\"open\",\"cells\":"
	          "{\"a\":\"open\"},\"history\":[\"closed\",null,\"open\"]},"
	          "{\"target\":\"192.0.2.31\",\"client\":\"<x>\",\"verdict\":\"closed\",\"cells\":"
	          "{\"a\":\"closed\"},\"history\":[\"closed\"]}],"
	          "\"glance\":{\"<x>\":{\"audits\":[7,8,9],\"open\":[0,0,1],\"closed\":[2,1,1],"
	          "\"inconclusive\":[0,1,0]}}}");
	int rc;
	char *html = render_html(r, NULL, &rc), *strip;

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(html, "<svg class=\"glance\" xmlns=\"http://www.w3.org/2000/svg\" "
	                             "width=\"30\" height=\"50\" role=\"img\" aria-label=\"open, "
	                             "closed and inconclusive targets over the last 3 audits of "
	                             "&lt;x&gt;\">"));
	/* audit 7: 2 closed of a maximum of 2: the full height */
	assert_non_null(strstr(html, "<g class=\"audit\"><title>audit 7: 0 open, 2 closed, 0 "
	                             "inconclusive</title><rect x=\"0\" y=\"0\" width=\"8\" "
	                             "height=\"48\" fill=\"#4cae4c\"/></g>"));
	assert_non_null(strstr(html, "<title>audit 9: 1 open, 1 closed, 0 inconclusive</title>"
	                             "<rect x=\"20\" y=\"24\" width=\"8\" height=\"24\" "
	                             "fill=\"#4cae4c\"/><rect x=\"20\" y=\"0\" width=\"8\" "
	                             "height=\"24\" fill=\"#c9302c\"/></g>"));
	strip = strstr(html, "<svg class=\"strip\"");
	assert_non_null(strip);
	assert_non_null(strstr(strip,
	                       "<rect x=\"0\" y=\"0\" width=\"7\" height=\"10\" "
	                       "fill=\"#4cae4c\"><title>audit 7: closed</title></rect>"
	                       "<rect x=\"8\" y=\"0\" width=\"7\" height=\"10\" "
	                       "fill=\"#dddddd\"><title>audit 8: not in this audit</title>"
	                       "</rect><rect x=\"16\" y=\"0\" width=\"7\" height=\"10\" "
	                       "fill=\"#c9302c\"><title>audit 9: open</title></rect></svg>"));
	/* 192.0.2.31's strip has one verdict for three audits: not drawn */
	assert_null(strstr(strip + 1, "<svg class=\"strip\""));
	assert_null(strstr(html, "<x>"));
	assert_null(strstr(html, "<script src"));
	assert_null(strstr(html, " style=\""));
	free(html);
	json_decref(r);
}

static void csv_cleans_control_bytes(void **state)
{
	json_t *r = parse("{\"vantages\":[\"a\"],\"targets\":[{\"target\":\"x\\r\\ny\\u001b[2J\","
	                  "\"verdict\":\"closed\",\"cells\":{\"a\":\"closed\"}}]}");
	long rows;
	char *csv = render_csv(r, &rows);

	(void)state;
	assert_int_equal(rows, 1);
	assert_non_null(strstr(csv, "\r\n,x??y?[2J,a,closed,closed,false,false,,,,,false,,\r\n"));
	free(csv);
	json_decref(r);
}

/* A newer controller's report: clients (sorted, "" first), previous audit,
 * summary; transcripts for two cells. */
static const char *const CLIENT_REPORT =
    "{\"ok\":true,\"audit\":7,\"status\":\"done\",\"vantages\":[\"ams1\",\"fra1\"],"
    "\"previous_audit\":6,\"summary\":{\"targets\":3,\"open\":2,\"closed\":1,"
    "\"inconclusive\":0,\"other\":0,\"disagree\":1,\"new_open\":1,\"changed\":1},"
    "\"targets\":["
    "{\"target\":\"adhoc.example\",\"client\":\"\",\"verdict\":\"closed\",\"previous\":null,"
    "\"new\":false,\"cells\":{\"ams1\":\"closed\",\"fra1\":\"closed\"},\"accepted\":{}},"
    "{\"target\":\"mx1.acme.example\",\"client\":\"a<c>me, \\\"inc\\\"\",\"verdict\":\"open\","
    "\"previous\":\"closed\",\"new\":true,\"disagree\":true,"
    "\"cells\":{\"ams1\":\"closed\",\"fra1\":\"open\"},"
    "\"accepted\":{\"fra1\":[\"external-sender\"]}},"
    "{\"target\":\"mx.beta.example\",\"client\":\"beta\",\"verdict\":\"open\","
    "\"previous\":\"open\",\"new\":false,\"cells\":{\"ams1\":\"open\",\"fra1\":\"open\"},"
    "\"accepted\":{\"ams1\":[\"null-sender\"]}}]}";

static const char *const CLIENT_TRANSCRIPTS =
    "[[null,null],"
    "[null,{\"ok\":true,\"results\":[{\"target\":\"mx1.acme.example\",\"verdict\":\"open\","
    "\"transcript\":[{\"t\":5,\"dir\":\"sent\",\"text\":\"RCPT TO:<x@example.net>\"}]}]}],"
    "[{\"ok\":true,\"results\":[]},null]]";

/* The text between the first occurrence of from and the next of to. */
static char *between(const char *s, const char *from, const char *to)
{
	const char *a = strstr(s, from), *b;

	assert_non_null(a);
	b = strstr(a + strlen(from), to);
	assert_non_null(b);
	return strndup(a, (size_t)(b - a));
}

static void html_client_sections_and_new(void **state)
{
	json_t *r = parse(CLIENT_REPORT), *t = parse(CLIENT_TRANSCRIPTS);
	int rc;
	char *html = render_html(r, t, &rc), *s0, *s1, *s2, *sum;

	(void)state;
	assert_int_equal(rc, 0);
	/* summary first: the controller's numbers, new since the previous audit */
	sum = between(html, "<div class=\"summary\" id=\"summary\">", "</div>\n");
	assert_non_null(strstr(sum, "<b id=\"n-open\">2</b>open"));
	assert_non_null(strstr(sum, "<b id=\"n-new\">1</b>new since last audit (audit "
	                            "<span id=\"previous-audit\">6</span>)"));
	assert_non_null(strstr(sum, "<b id=\"n-closed\">1</b>closed"));
	assert_non_null(strstr(sum, "<b id=\"n-inconclusive\">0</b>inconclusive"));
	assert_non_null(strstr(sum, "<b id=\"n-other\">0</b>"));
	assert_non_null(strstr(sum, "<b id=\"n-disagree\">1</b>"));
	assert_non_null(strstr(sum, "<b id=\"n-changed\">1</b>"));
	assert_true(strstr(html, "id=\"summary\"") < strstr(html, "<section"));
	/* one section per client, in order, each with its own matrix */
	assert_null(strstr(html, "id=\"matrix\""));
	s0 = between(html, "<section class=\"client\" id=\"c-0\" data-client=\"\">", "</section>");
	s1 = between(html,
	             "<section class=\"client\" id=\"c-1\" data-client=\"a&lt;c&gt;me, "
	             "&quot;inc&quot;\">",
	             "</section>");
	s2 = between(html, "<section class=\"client\" id=\"c-2\" data-client=\"beta\">",
	             "</section>");
	assert_null(strstr(html, "id=\"c-3\""));
	assert_non_null(strstr(s0, "<h2>no client<small>1 target, 0 open</small></h2>"));
	assert_non_null(strstr(s1, "<h2>client a&lt;c&gt;me, &quot;inc&quot;<small>1 target, 1 "
	                           "open</small></h2>"));
	assert_non_null(strstr(s2, "<h2>client beta<small>1 target, 1 open</small></h2>"));
	assert_non_null(strstr(s0, "<td class=\"target\">adhoc.example</td>"));
	assert_null(strstr(s0, "mx1.acme"));
	assert_non_null(strstr(s1, "<table class=\"matrix\">\n<thead><tr><th>Target</th><th>ams1"
	                           "</th><th>fra1</th><th>Verdict</th></tr></thead>"));
	/* NEW badge and previous verdict on the new target only */
	assert_non_null(strstr(s1, "<tr class=\"new\"><td class=\"target\">mx1.acme.example</td>"));
	assert_non_null(strstr(s1, "open<span class=\"flag new\""));
	assert_non_null(strstr(s1, ">NEW</span><span class=\"flag\">DISAGREE</span><span "
	                           "class=\"prev\">was closed</span></td>"));
	assert_null(strstr(s2, "NEW"));
	assert_null(strstr(s2, "was open")); /* unchanged: no "was" */
	assert_null(strstr(s0, "NEW"));
	/* transcript ids are the report's target index x vantages + vantage */
	assert_non_null(strstr(s1, "<a href=\"#t-3\">transcript</a>"));
	assert_non_null(strstr(html, "<details id=\"t-3\"><summary>mx1.acme.example from fra1"));
	assert_non_null(strstr(s2, "<a href=\"#t-4\">transcript</a>"));
	assert_non_null(strstr(html, "<details id=\"t-4\">"));
	assert_non_null(strstr(html, "(no result from this vantage)"));
	/* the index of clients links the sections */
	assert_non_null(strstr(html, "<nav id=\"clients\">"));
	assert_non_null(strstr(html, "<a href=\"#c-2\">client beta <span class=\"flag v-o\">1 "
	                             "open</span></a>"));
	assert_non_null(strstr(html, "<a href=\"#c-0\">no client</a> "));
	assert_null(strstr(html, "<img"));
	free(sum);
	free(s0);
	free(s1);
	free(s2);
	free(html);
	json_decref(r);
	json_decref(t);
}

/* No client anywhere, no summary: one matrix (#matrix), no sections, no
 * index, no "new" box, as from an older controller. */
static void html_without_clients_as_before(void **state)
{
	json_t *r = parse(REPORT);
	int rc;
	char *html = render_html(r, NULL, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(html, "<h2>Matrix</h2>\n<table class=\"matrix\" id=\"matrix\">"));
	assert_null(strstr(html, "<section"));
	assert_null(strstr(html, "<nav"));
	assert_null(strstr(html, "n-new"));
	assert_null(strstr(html, "n-other"));
	assert_null(strstr(html, "NEW"));
	assert_null(strstr(html, "<details"));
	free(html);
	json_decref(r);
}

/* A summary without a previous audit; clients given as "" only. */
static void html_summary_no_previous(void **state)
{
	json_t *r = parse("{\"audit\":1,\"vantages\":[\"v\"],\"previous_audit\":null,"
	                  "\"summary\":{\"targets\":1,\"open\":1,\"closed\":0,\"inconclusive\":0,"
	                  "\"other\":0,\"disagree\":0,\"new_open\":1,\"changed\":0},\"targets\":["
	                  "{\"target\":\"x\",\"client\":\"\",\"verdict\":\"open\",\"new\":true,"
	                  "\"previous\":null,\"cells\":{\"v\":\"open\"}}]}");
	int rc;
	char *html = render_html(r, NULL, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(html, "<b id=\"n-new\">1</b>new (no earlier audit)"));
	assert_null(strstr(html, "n-changed"));
	assert_null(strstr(html, "<section"));
	assert_non_null(strstr(html, "id=\"matrix\""));
	assert_non_null(strstr(html, ">NEW</span>"));
	assert_null(strstr(html, "class=\"prev\""));
	free(html);
	json_decref(r);
}

static void csv_client_previous_new(void **state)
{
	json_t *r = parse(CLIENT_REPORT);
	long rows;
	char *csv = render_csv(r, &rows);

	(void)state;
	assert_int_equal(rows, 6);
	assert_non_null(
	    strstr(csv, "\r\n,adhoc.example,ams1,closed,closed,false,false,,,false,,false,,\r\n"));
	assert_non_null(strstr(csv, "\r\n\"a<c>me, \"\"inc\"\"\",mx1.acme.example,fra1,open,open,"
	                            "true,false,external-sender,closed,true,,false,,\r\n"));
	assert_non_null(strstr(csv, "\r\nbeta,mx.beta.example,ams1,open,open,false,false,null-"
	                            "sender,open,false,,false,,\r\n"));
	free(csv);
	json_decref(r);
}

/* The streamed page: the matrices come first and link by report index;
 * cells then arrive in any order (by name or index), each written once,
 * cells outside the report ignored, the missing one filled in at the end. */
static void html_streamed_cells(void **state)
{
	json_t *r = parse(CLIENT_REPORT);
	json_t *res = parse("[{\"target\":\"mx.beta.example\",\"verdict\":\"open\","
	                    "\"transcript\":[{\"t\":0,\"dir\":\"recv\",\"text\":\"MARK-B0\"}]}]");
	json_t *res2 = parse("[{\"target\":\"mx.beta.example\",\"verdict\":\"open\","
	                     "\"transcript\":[{\"t\":0,\"dir\":\"recv\",\"text\":\"MARK-DUP\"}]}]");
	/* retention stripped the transcript: the result still says so */
	json_t *pruned = parse("[{\"target\":\"adhoc.example\",\"verdict\":\"closed\"}]");
	char *buf = NULL, *matrix_end, *p;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct report_html *h;

	(void)state;
	assert_non_null(f);
	h = report_html_new(r, true, 0, f);
	assert_non_null(h);
	fflush(f);
	/* head, summary and every matrix are out before any transcript */
	assert_non_null(strstr(buf, "<a href=\"#t-4\">transcript</a>"));
	assert_non_null(strstr(buf, "<a href=\"#t-0\">transcript</a>"));
	assert_non_null(strstr(buf, "<h2>Transcripts</h2>\n"));
	assert_null(strstr(buf, "<details"));
	assert_null(strstr(buf, "</html>"));
	matrix_end = strdup(buf);
	assert_non_null(matrix_end);

	assert_int_equal(report_html_cell(h, "mx.beta.example", "ams1", res), 1);
	assert_true(report_html_cell_done(h, 2, 0));
	assert_false(report_html_cell_done(h, 2, 1));
	/* the same cell again (by name or index): written once */
	assert_int_equal(report_html_cell(h, "mx.beta.example", "ams1", res2), 0);
	assert_int_equal(report_html_cell_at(h, 2, 0, res2), 0);
	/* not in the report: ignored */
	assert_int_equal(report_html_cell(h, "ghost.example", "ams1", res2), 0);
	assert_int_equal(report_html_cell(h, "mx.beta.example", "v9", res2), 0);
	assert_int_equal(report_html_cell(h, NULL, "ams1", res2), 0);
	assert_int_equal(report_html_cell_at(h, 3, 0, res2), 0);
	assert_int_equal(report_html_cell_at(h, 0, 2, res2), 0);
	assert_int_equal(report_html_cell_at(h, 0, 0, pruned), 1);
	/* not an array: an empty cell */
	assert_int_equal(report_html_cell(h, "mx1.acme.example", "ams1", r), 1);
	assert_int_equal(report_html_end(h), 0);
	report_html_free(&h);
	assert_null(h);
	report_html_free(&h);
	fclose(f);

	/* nothing before the transcripts changed */
	assert_int_equal(strncmp(buf, matrix_end, strlen(matrix_end)), 0);
	p = strstr(buf, "<details id=\"t-4\"><summary>mx.beta.example from ams1</summary><pre>");
	assert_non_null(p);
	assert_non_null(strstr(p, "MARK-B0"));
	assert_null(strstr(buf, "MARK-DUP"));
	assert_non_null(strstr(buf, "<details id=\"t-0\"><summary>adhoc.example from "
	                            "ams1</summary><pre>== adhoc.example closed\n   (no "
	                            "transcript: no dialog ran)\n</pre></details>"));
	assert_non_null(strstr(buf, "<details id=\"t-2\"><summary>mx1.acme.example from "
	                            "ams1</summary><pre>(no result from this vantage)</pre>"));
	/* linked but never sent: filled in at the end, in report order */
	p = strstr(buf, "<details id=\"t-1\"><summary>adhoc.example from fra1</summary><pre>(no "
	                "transcript from the controller for this cell)</pre></details>\n"
	                "<details id=\"t-3\">");
	assert_non_null(p);
	assert_non_null(strstr(p, "<details id=\"t-5\">"));
	assert_null(strstr(buf, "id=\"t-6\""));
	/* each id once; the script last */
	for (int id = 0; id < 6; id++) {
		char want[32];
		snprintf(want, sizeof(want), "<details id=\"t-%d\">", id);
		p = strstr(buf, want);
		assert_non_null(p);
		assert_null(strstr(p + 1, want));
	}
	assert_non_null(strstr(strstr(buf, "<details id=\"t-5\">"), "<script>\nfunction rpOpen"));
	assert_non_null(strstr(buf, "</body></html>\n"));
	free(matrix_end);
	free(buf);
	json_decref(res);
	json_decref(res2);
	json_decref(pruned);
	json_decref(r);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* A cell sent over several pages (report_html_cell_part): one element with
 * every part's results in order; a cell left open by its last page is
 * closed by the next cell or by the end, and a closed cell is not reopened. */
static void html_cell_in_parts(void **state)
{
	json_t *r = parse(CLIENT_REPORT);
	json_t *p1 = parse("[{\"target\":\"mx.beta.example\",\"verdict\":\"open\","
	                   "\"transcript\":[{\"t\":0,\"dir\":\"recv\",\"text\":\"PART-1\"}]}]");
	json_t *p2 = parse("[{\"target\":\"mx.beta.example\",\"verdict\":\"open\","
	                   "\"transcript\":[{\"t\":0,\"dir\":\"recv\",\"text\":\"PART-2\"}]},"
	                   "{\"target\":\"mx.beta.example\",\"verdict\":\"open\","
	                   "\"transcript\":[{\"t\":0,\"dir\":\"recv\",\"text\":\"PART-3\"}]}]");
	json_t *empty = parse("[]");
	char *buf = NULL, *c, *end;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct report_html *h;

	(void)state;
	assert_non_null(f);
	h = report_html_new(r, true, 0, f);
	assert_non_null(h);
	assert_int_equal(report_html_cell_part(h, "mx.beta.example", "ams1", p1, true), 1);
	assert_int_equal(report_html_cell_part(h, "mx.beta.example", "ams1", empty, true), 1);
	assert_int_equal(report_html_cell_part(h, "mx.beta.example", "ams1", p2, false), 1);
	/* closed: not reopened */
	assert_int_equal(report_html_cell_part(h, "mx.beta.example", "ams1", p1, false), 0);
	/* left open (its next page never came): closed by the next cell, and
	 * that one (still open) by the end */
	assert_int_equal(report_html_cell_part_at(h, 0, 0, p1, true), 1);
	assert_int_equal(report_html_cell_part_at(h, 1, 0, empty, true), 1);
	assert_int_equal(report_html_end(h), 0);
	report_html_free(&h);
	fclose(f);

	c = strstr(buf, "<details id=\"t-4\"><summary>mx.beta.example from ams1</summary><pre>");
	assert_non_null(c);
	end = strstr(c, "</pre></details>\n");
	assert_non_null(end);
	*end = '\0';
	assert_true(strstr(c, "PART-1") < strstr(c, "PART-2"));
	assert_true(strstr(c, "PART-2") < strstr(c, "PART-3"));
	assert_non_null(strstr(c, "PART-1\n\n== mx.beta.example"));
	assert_null(strstr(c, "no result"));
	*end = '<';
	assert_non_null(strstr(buf, "<details id=\"t-0\"><summary>adhoc.example from "
	                            "ams1</summary><pre>== mx.beta.example open\n"));
	assert_non_null(strstr(buf, "<details id=\"t-2\"><summary>mx1.acme.example from "
	                            "ams1</summary><pre>(no result from this vantage)</pre>"));
	for (int id = 0; id < 6; id++) {
		char want[32];
		const char *p;

		snprintf(want, sizeof(want), "<details id=\"t-%d\">", id);
		p = strstr(buf, want);
		assert_non_null(p);
		assert_null(strstr(p + 1, want));
	}
	assert_int_equal(count_of(buf, "</pre></details>"), 6);
	free(buf);
	json_decref(p1);
	json_decref(p2);
	json_decref(empty);
	json_decref(r);
}

/* Without transcripts: no links, no heading, cells refused. */
static void html_streamed_without_transcripts(void **state)
{
	json_t *r = parse(CLIENT_REPORT), *res = parse("[]");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct report_html *h;

	(void)state;
	assert_non_null(f);
	h = report_html_new(r, false, 0, f);
	assert_non_null(h);
	assert_int_equal(report_html_cell(h, "adhoc.example", "ams1", res), 0);
	assert_int_equal(report_html_cell_at(h, 0, 0, res), 0);
	assert_false(report_html_cell_done(h, 0, 0));
	assert_int_equal(report_html_end(h), 0);
	report_html_free(&h);
	fclose(f);
	assert_null(strstr(buf, "<a href=\"#t-"));
	assert_null(strstr(buf, "<details"));
	assert_null(strstr(buf, "Transcripts"));
	free(buf);
	json_decref(res);
	json_decref(r);
}

/* A write error (a full disk) is reported, not ignored. */
static void html_streamed_write_error(void **state)
{
	json_t *r = parse(CLIENT_REPORT);
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	assert_null(report_html_new(r, true, 0, f));
	fclose(f);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(html_escapes_hostile_strings),
	    cmocka_unit_test(html_csp_hashes_not_unsafe_inline),
	    cmocka_unit_test(html_matrix_and_summary),
	    cmocka_unit_test(html_rejects_bad_report),
	    cmocka_unit_test(csv_rows_and_quoting),
	    cmocka_unit_test(csv_cleans_control_bytes),
	    cmocka_unit_test(software_advice_csv_html),
	    cmocka_unit_test(glance_svg),
	    cmocka_unit_test(csv_canary_proof),
	    cmocka_unit_test(html_canary_proof),
	    cmocka_unit_test(html_client_sections_and_new),
	    cmocka_unit_test(html_without_clients_as_before),
	    cmocka_unit_test(html_summary_no_previous),
	    cmocka_unit_test(csv_client_previous_new),
	    cmocka_unit_test(html_streamed_cells),
	    cmocka_unit_test(html_cell_in_parts),
	    cmocka_unit_test(html_streamed_without_transcripts),
	    cmocka_unit_test(html_streamed_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
