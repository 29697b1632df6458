/* test_report_html.c - cli/report_html.c: the HTML page (summary counts,
 * matrix cells and classes, accepted tests, transcripts hidden in <details>
 * with swaks markers) and the CSV rows (header, RFC 4180 quoting, formula
 * prefix), from canned report/transcript replies; a hostile banner and target
 * name never reach the page as markup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
	assert_non_null(strstr(html, "<td class=\"cell v-c\" data-verdict=\"closed\">closed</td>"));
	assert_non_null(strstr(html, "<td class=\"cell v-i\" data-verdict=\"unreachable\">"));
	assert_non_null(strstr(html, "<td class=\"cell v-n\" data-verdict=\"-\">-</td>"));
	assert_non_null(strstr(html, "<span class=\"flag\">DISAGREE</span>"));
	/* the transcript: hidden details, swaks markers, relative times */
	assert_non_null(
	    strstr(html, "<details id=\"t-0\"><summary>mx.example.com from a1</summary>"));
	assert_null(strstr(html, "<details id=\"t-0\" open"));
	assert_non_null(strstr(html, "   0.250  -&gt; RCPT TO:&lt;relaytest@example.net&gt;\n"));
	assert_non_null(strstr(html, "   0.500 &lt;-  250 2.1.5 Ok\n"));
	assert_null(strstr(html, "id=\"t-1\"")); /* no transcript, no element, no link */
	assert_null(strstr(html, "#t-1\""));
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
	assert_non_null(strstr(csv, "target,vantage,verdict,aggregated_verdict,disagree,"
	                            "inconclusive,accepted_tests\r\n"));
	assert_non_null(strstr(
	    csv, "\r\nmx.example.com,a1,open,open,true,false,external-sender;null-sender\r\n"));
	assert_non_null(strstr(csv, "\r\nmx.example.com,v<b>2,closed,open,true,false,\r\n"));
	/* a comma and quotes: quoted, quotes doubled; a formula: prefixed with ' */
	assert_non_null(strstr(
	    csv,
	    "\r\n\"'=cmd|'/c calc'!A1,\"\"x\"\"\",a1,unreachable,inconclusive,false,true,\r\n"));
	assert_non_null(strstr(csv, ",v<b>2,,inconclusive,false,true,\r\n"));
	free(csv);
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
	assert_non_null(strstr(csv, "\r\nx??y?[2J,a,closed,closed,false,false,\r\n"));
	free(csv);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(html_escapes_hostile_strings),
	    cmocka_unit_test(html_matrix_and_summary),
	    cmocka_unit_test(html_rejects_bad_report),
	    cmocka_unit_test(csv_rows_and_quoting),
	    cmocka_unit_test(csv_cleans_control_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
