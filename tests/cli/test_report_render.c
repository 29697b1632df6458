/* test_report_render.c - cli/report_render.c: the audit matrix a user reads
 * (columns, DISAGREE/inconclusive flags, accepted tests of open cells), the
 * exit status derived from a report, transcript markers, the agents table,
 * and that control bytes from the controller never reach the terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_render.h"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (j == NULL)
		fail_msg("bad test JSON: %s", err.text);
	return j;
}

/* Renders with fn into a string (caller frees). */
static char *render(int (*fn)(const json_t *, FILE *), const json_t *j, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*rc = fn(j, f);
	fclose(f);
	return buf;
}

static int transcripts(const json_t *j, FILE *f)
{
	return (int)report_render_transcripts(j, f);
}

static int agents(const json_t *j, FILE *f)
{
	return (int)report_render_agents(j, f);
}

static const char *const REPORT =
    "{\"ok\":true,\"audit\":7,\"vantages\":[\"a1\",\"agent2\"],\"targets\":["
    "{\"target\":\"mx.example.com\",\"verdict\":\"open\",\"disagree\":true,"
    "\"inconclusive\":false,\"cells\":{\"a1\":\"open\",\"agent2\":\"closed\"},"
    "\"accepted\":{\"a1\":[\"external-sender\",\"null-sender\"]}},"
    "{\"target\":\"192.0.2.1:587\",\"verdict\":\"inconclusive\",\"disagree\":false,"
    "\"inconclusive\":true,\"cells\":{\"a1\":\"unreachable\"},\"accepted\":{}}]}";

static void matrix_layout(void **state)
{
	json_t *j = parse(REPORT);
	int rc;
	char *out = render(report_render_text, j, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(out,
	                    "TARGET          a1           agent2  VERDICT       FLAGS\n"
	                    "mx.example.com  open         closed  open          DISAGREE\n"
	                    "192.0.2.1:587   unreachable  -       inconclusive  inconclusive\n"
	                    "\n"
	                    "Accepted relay tests:\n"
	                    "  mx.example.com from a1: external-sender,null-sender\n"
	                    "\n"
	                    "audit 7: 2 targets, 2 vantages: 1 open, 0 not open, 1 inconclusive\n");
	free(out);
	json_decref(j);
}

static void matrix_needs_arrays(void **state)
{
	json_t *j = parse("{\"ok\":true,\"audit\":1,\"targets\":[]}");
	int rc;
	char *out = render(report_render_text, j, &rc);

	(void)state;
	assert_int_equal(rc, -1);
	free(out);
	json_decref(j);
}

static void matrix_cleans_control_bytes(void **state)
{
	json_t *j = parse("{\"audit\":\"x\",\"vantages\":[\"v\"],\"targets\":[{\"target\":"
	                  "\"evil\\u001b[2J\",\"verdict\":\"closed\",\"cells\":{\"v\":"
	                  "\"closed\\u0007\"}}]}");
	int rc;
	char *out = render(report_render_text, j, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_null(strchr(out, 0x1b));
	assert_null(strchr(out, 0x07));
	assert_non_null(strstr(out, "evil?[2J"));
	free(out);
	json_decref(j);
}

static void matrix_partial_and_status(void **state)
{
	json_t *j = parse("{\"audit\":3,\"status\":\"running\",\"vantages\":[\"v1\",\"v2\"],"
	                  "\"targets\":[{\"target\":\"t\",\"verdict\":\"closed\",\"disagree\":"
	                  "false,\"inconclusive\":false,\"partial\":true,\"cells\":{\"v1\":"
	                  "\"closed\",\"v2\":\"unreachable\"}}]}");
	int rc;
	char *out = render(report_render_text, j, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(out, "TARGET  v1      v2           VERDICT  FLAGS\n"
	                         "t       closed  unreachable  closed   partial\n"
	                         "\n"
	                         "audit 3 (running): 1 target, 2 vantages: 0 open, 1 not open, 0 "
	                         "inconclusive\n");
	assert_int_equal(report_exit_status(j), 0);
	free(out);
	json_decref(j);
}

static void exit_status(void **state)
{
	static const struct {
		const char *json;
		int want;
	} cases[] = {
	    {"{\"targets\":[{\"verdict\":\"closed\"},{\"verdict\":\"open\"}]}", 1},
	    {"{\"targets\":[{\"verdict\":\"accepted-not-delivered\"}]}", 1},
	    {"{\"targets\":[{\"verdict\":\"open-confirmed\"}]}", 1},
	    {"{\"targets\":[{\"verdict\":\"closed\"},{\"verdict\":\"auth-required\"}]}", 0},
	    {"{\"targets\":[{\"verdict\":\"closed\"},{\"verdict\":\"inconclusive\","
	     "\"inconclusive\":true}]}",
	     3},
	    {"{\"targets\":[{\"verdict\":\"tempfail\"}]}", 3},
	    {"{\"targets\":[{\"verdict\":\"closed\",\"inconclusive\":true}]}", 3},
	    {"{\"targets\":[{\"verdict\":\"no-such-verdict\"}]}", 3},
	    {"{\"targets\":[]}", 3},
	    {"{}", 3},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = parse(cases[i].json);
		if (report_exit_status(j) != cases[i].want)
			fail_msg("%s: exit %d, want %d", cases[i].json, report_exit_status(j),
			         cases[i].want);
		json_decref(j);
	}
}

static void transcript_markers(void **state)
{
	json_t *j = parse(
	    "{\"ok\":true,\"results\":[{\"target\":\"t\",\"address\":\"2001:db8::1\",\"port\":25,"
	    "\"verdict\":\"closed\",\"reason\":null,\"transcript\":["
	    "{\"t\":1000,\"dir\":\"event\",\"tls\":false,\"text\":\"connect\"},"
	    "{\"t\":1012,\"dir\":\"recv\",\"tls\":false,\"text\":\"220 hi\"},"
	    "{\"t\":1013,\"dir\":\"sent\",\"tls\":false,\"text\":\"EHLO x\"},"
	    "{\"t\":1500,\"dir\":\"sent\",\"tls\":true,\"text\":\"RCPT TO:<a@b>\"},"
	    "{\"t\":1600,\"dir\":\"recv\",\"tls\":true,\"text\":\"250 ok\"},"
	    "{\"t\":1700,\"dir\":\"recv\",\"tls\":true,\"text\":\"554 no\"},"
	    "{\"t\":1800,\"dir\":\"recv\",\"tls\":false,\"text\":\"421 bye\"},"
	    "{\"t\":2000,\"dir\":\"error\",\"tls\":false,\"text\":\"lost\"}]},"
	    "{\"target\":\"u\",\"address\":null,\"port\":25,\"verdict\":\"error\","
	    "\"reason\":\"DNS: no such domain\",\"transcript\":null}]}");
	int rc;
	char *out = render(transcripts, j, &rc);

	(void)state;
	assert_int_equal(rc, 2);
	assert_string_equal(out, "== t [2001:db8::1]:25 closed\n"
	                         "   0.000 === connect\n"
	                         "   0.012 <-  220 hi\n"
	                         "   0.013  -> EHLO x\n"
	                         "   0.500  ~> RCPT TO:<a@b>\n"
	                         "   0.600 <~  250 ok\n"
	                         "   0.700 <~* 554 no\n"
	                         "   0.800 <** 421 bye\n"
	                         "   1.000 *** lost\n"
	                         "\n"
	                         "== u error (DNS: no such domain)\n"
	                         "   (no transcript: no dialog ran)\n");
	free(out);
	json_decref(j);
}

static void agents_table(void **state)
{
	json_t *j = parse(
	    "{\"ok\":true,\"agents\":[{\"id\":\"a1\",\"name\":\"a1\",\"fingerprint\":"
	    "\"0123:4567:89ab:cdef\",\"status\":\"approved\",\"connected\":true,\"last_seen\":"
	    "1714564800,\"labels\":{\"location\":\"fra1\"}},{\"id\":2,"
	    "\"name\":\"\",\"fingerprint\":\"ffff:0000:1111:2222\",\"status\":\"pending\","
	    "\"connected\":false,\"last_seen\":null,\"labels\":null}]}");
	int rc;
	char *out = render(agents, j, &rc);

	(void)state;
	assert_int_equal(rc, 2);
	assert_string_equal(
	    out,
	    "NAME                 FINGERPRINT          STATUS    CONNECTED  LAST-SEEN             "
	    "LABELS\n"
	    "a1                   0123:4567:89ab:cdef  approved  yes        2024-05-01T12:00:00Z  "
	    "location=fra1\n"
	    "ffff:0000:1111:2222  ffff:0000:1111:2222  pending   no         never                 "
	    "-\n");
	free(out);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(matrix_layout),
	    cmocka_unit_test(matrix_needs_arrays),
	    cmocka_unit_test(matrix_partial_and_status),
	    cmocka_unit_test(matrix_cleans_control_bytes),
	    cmocka_unit_test(exit_status),
	    cmocka_unit_test(transcript_markers),
	    cmocka_unit_test(agents_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
