/* test_report_render.c - cli/report_render.c: the audit matrix a user reads
 * (columns, DISAGREE/inconclusive flags, accepted tests of open cells), the
 * exit status derived from a report, transcript markers, the agents table,
 * the summary block and per-client headings of newer controllers (and the
 * old layout without them), and that control bytes from the controller never
 * reach the terminal; the targets, schedule, history, events and hooks
 * tables (alignment, empty lists, hostile and very long strings). */
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

/* Renders with fn into a string (caller frees). Not inlined: GCC's -O2
 * -Wdangling-pointer mistakes pointers into the result for pointers to the
 * local that open_memstream fills. */
__attribute__((noinline)) static char *render(int (*fn)(const json_t *, FILE *), const json_t *j,
                                              int *rc)
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

static int targets_fn(const json_t *j, FILE *f)
{
	return (int)report_render_targets(j, f);
}
static int schedules_fn(const json_t *j, FILE *f)
{
	return (int)report_render_schedules(j, f);
}
static int history_fn(const json_t *j, FILE *f)
{
	return (int)report_render_history(j, f);
}
static int events_fn(const json_t *j, FILE *f)
{
	return (int)report_render_events(j, f);
}
static int hooks_fn(const json_t *j, FILE *f)
{
	return (int)report_render_hooks(j, f);
}

/* Renders text with fn and compares with want (and the row count). */
static void expect(int (*fn)(const json_t *, FILE *), const char *text, int rows, const char *want)
{
	json_t *j = parse(text);
	int rc;
	char *out = render(fn, j, &rc);

	assert_int_equal(rc, rows);
	assert_string_equal(out, want);
	free(out);
	json_decref(j);
}

/* A string of n copies of c, as a JSON string value (static, one at a time). */
static const char *longval(char c, size_t n)
{
	static char buf[4096];

	assert_true(n + 3 < sizeof(buf));
	buf[0] = '"';
	memset(buf + 1, c, n);
	buf[n + 1] = '"';
	buf[n + 2] = '\0';
	return buf;
}

static void targets_table(void **state)
{
	char text[8192], want[8192], cell[256];

	(void)state;
	expect(targets_fn,
	       "{\"targets\":[{\"client\":\"acme\",\"target\":\"mx1.acme.example\","
	       "\"tags\":[\"prod\",\"eu\"]},{\"client\":\"\",\"target\":\"192.0.2.1:587\","
	       "\"tags\":[]}]}",
	       2,
	       "CLIENT               TARGET                                   TAGS\n"
	       "acme                 mx1.acme.example                         prod;eu\n"
	       "                     192.0.2.1:587                            \n");
	expect(targets_fn, "{\"targets\":[]}", 0,
	       "CLIENT               TARGET                                   TAGS\n");
	expect(targets_fn, "{\"ok\":true}", 0,
	       "CLIENT               TARGET                                   TAGS\n");
	/* control bytes, a missing client, a non-string tag, a value past a cell */
	expect(targets_fn,
	       "{\"targets\":[{\"target\":\"mx\\u001b[2J\\n.example\",\"tags\":[\"a\\tb\",7]}]}", 1,
	       "CLIENT               TARGET                                   TAGS\n"
	       "-                    mx?[2J?.example                          a?b;?\n");
	snprintf(text, sizeof(text), "{\"targets\":[{\"client\":%s,\"target\":\"t\",\"tags\":[]}]}",
	         longval('c', 3000));
	memset(cell, 'c', 255); /* a cell is cut at 255 bytes */
	cell[255] = '\0';
	snprintf(want, sizeof(want),
	         "CLIENT               TARGET                                   TAGS\n"
	         "%s t                                        \n",
	         cell);
	expect(targets_fn, text, 1, want);
}

static void schedules_table(void **state)
{
	(void)state;
	expect(schedules_fn,
	       "{\"schedules\":[{\"name\":\"nightly\",\"every\":86400,\"selector\":\"client\","
	       "\"value\":\"acme\",\"next_run\":1714564800,\"last_run\":0,\"last_audit\":0,"
	       "\"last_error\":\"\"},{\"name\":\"all\",\"every\":60,\"selector\":\"all\","
	       "\"value\":\"\",\"next_run\":1714564800,\"last_run\":1714564740,"
	       "\"last_audit\":12,\"last_error\":\"no \\u0007targets\"}]}",
	       2,
	       "NAME                EVERY SELECT       NEXT-RUN             LAST-RUN              "
	       "AUDIT LAST-ERROR\n"
	       "nightly            86400s client=acme  2024-05-01T12:00:00Z -                    "
	       "     0 \n"
	       "all                   60s all          2024-05-01T12:00:00Z 2024-05-01T11:59:00Z "
	       "    12 no ?targets\n");
	/* fields missing or of the wrong type: no crash, "-" and "" */
	expect(schedules_fn, "{\"schedules\":[{\"value\":7}]}", 1,
	       "NAME                EVERY SELECT       NEXT-RUN             LAST-RUN              "
	       "AUDIT LAST-ERROR\n"
	       "-                      0s ?            -                    -                    "
	       "     0 \n");
	expect(schedules_fn, "{\"schedules\":{}}", 0,
	       "NAME                EVERY SELECT       NEXT-RUN             LAST-RUN              "
	       "AUDIT LAST-ERROR\n");
}

static void history_table(void **state)
{
	char text[8192];
	json_t *j;
	char *out;
	int rc;

	(void)state;
	expect(history_fn,
	       "{\"target\":\"mx.example\",\"history\":[{\"audit\":3,\"at\":1714564800,"
	       "\"verdict\":\"open\",\"vantages\":{\"a1\":\"open\",\"b\\u001b2\":\"closed\"}},"
	       "{\"audit\":4,\"at\":0,\"verdict\":5,\"vantages\":{}}]}",
	       2,
	       "AUDIT    TIME                 VERDICT                  VANTAGES\n"
	       "3        2024-05-01T12:00:00Z open                     a1=open,b?2=closed\n"
	       "4        -                    5                        \n");
	expect(history_fn, "{\"history\":[]}", 0,
	       "AUDIT    TIME                 VERDICT                  VANTAGES\n");
	/* a very long vantage name is cut at a cell; the line stays bounded */
	snprintf(text, sizeof(text),
	         "{\"history\":[{\"audit\":1,\"verdict\":\"x\",\"vantages\":{%s:\"open\"}}]}",
	         longval('v', 3000));
	j = parse(text);
	out = render(history_fn, j, &rc);
	assert_int_equal(rc, 1);
	assert_null(strstr(out, longval('v', 256) + 1 + 255));
	assert_non_null(strstr(out, "x                        vvvv"));
	assert_true(strlen(out) < 64 + 60 + 256 + 8);
	free(out);
	json_decref(j);
}

static void events_lines(void **state)
{
	(void)state;
	expect(
	    events_fn,
	    "{\"events\":[{\"at\":1714564800,\"target\":\"mx.example\",\"client\":\"acme\","
	    "\"from\":\"closed\",\"to\":\"open\",\"audit\":9},{\"at\":1714564800,"
	    "\"target\":\"a\\r\\nFAKE 1970 x\",\"client\":null,\"from\":\"open\",\"to\":\"closed\","
	    "\"audit\":10}]}",
	    2,
	    "2024-05-01T12:00:00Z mx.example client=acme closed -> open audit=9\n"
	    "2024-05-01T12:00:00Z a??FAKE 1970 x client=? open -> closed audit=10\n");
	/* the software named and the fix, each line cleaned */
	expect(events_fn,
	       "{\"events\":[{\"at\":1714564800,\"target\":\"mx.example\",\"client\":\"acme\","
	       "\"from\":\"closed\",\"to\":\"open\",\"audit\":9,\"software\":{\"name\":"
	       "\"postfix\",\"label\":\"Postfix\",\"confidence\":\"high\"},\"advice\":[{"
	       "\"finding\":\"open-relay\",\"software\":\"postfix\",\"key\":\"postfix/open-relay\","
	       "\"summary\":\"mynetworks\\r\\nonly yours\"}]},{\"at\":1714564800,\"target\":\"b\","
	       "\"client\":\"\",\"from\":\"open\",\"to\":\"closed\",\"audit\":10,\"software\":"
	       "{\"name\":\"unknown\",\"label\":\"unknown\",\"confidence\":\"none\"},"
	       "\"advice\":[]}]}",
	       2,
	       "2024-05-01T12:00:00Z mx.example client=acme closed -> open audit=9"
	       " software=Postfix(high)\n"
	       "  fix (postfix/open-relay): mynetworks??only yours\n"
	       "2024-05-01T12:00:00Z b client= open -> closed audit=10\n");
	expect(events_fn, "{\"events\":[]}", 0, "");
}

static void hooks_lines(void **state)
{
	(void)state;
	expect(hooks_fn,
	       "{\"hooks\":{\"ops-webhook\":{\"pending\":1,\"delivered\":5},"
	       "\"mail\\u001b\":{\"failed\":2}}}",
	       2, "ops-webhook pending=1 delivered=5\nmail? failed=2\n");
	expect(hooks_fn, "{\"hooks\":{}}", 0,
	       "no hook has deliveries (none configured, or no event yet)\n");
	expect(hooks_fn, "{\"hooks\":[1]}", 0,
	       "no hook has deliveries (none configured, or no event yet)\n");
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

/* The canary's proof under the matrix: a delivery with its delay, IP, hops
 * and multihop flag; a bounce as backscatter; peer text cleaned. */

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

/* The software of each known target and one fix line per finding. */
static void matrix_software_advice(void **state)
{
	json_t *j = parse(REPORT_ADVICE);
	int rc;
	char *out = render(report_render_text, j, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\nSoftware and fixes:\n"
	                            "  192.0.2.20: Postfix (high)\n"
	                            "    fix (open-relay): set <mynetworks>?\n"
	                            "  192.0.2.21: Exim (low)\n\naudit 5:"));
	assert_null(strstr(out, "192.0.2.22:"));
	free(out);
	json_decref(j);
}

static void matrix_canary_proof(void **state)
{
	json_t *j = parse(
	    "{\"audit\":4,\"vantages\":[\"far\"],\"targets\":["
	    "{\"target\":\"192.0.2.16\",\"verdict\":\"open-confirmed\",\"cells\":{\"far\":"
	    "\"open-confirmed\"},\"proof\":{\"deliveries\":[{\"agent\":\"far\",\"test\":"
	    "\"external-sender\",\"arrived_at\":1,\"peer_ip\":\"192.0.2.17\",\"hops\":2,"
	    "\"delay_ms\":1500,\"multihop\":true}],\"bounces\":[]}},"
	    "{\"target\":\"192.0.2.18\",\"verdict\":\"closed\",\"cells\":{\"far\":"
	    "\"closed\"},\"proof\":{\"deliveries\":[],\"bounces\":[{\"agent\":\"far\","
	    "\"test\":\"backscatter-probe\",\"arrived_at\":1,\"peer_ip\":\"192.0.2.18\\u001b\"}]}},"
	    "{\"target\":\"192.0.2.19\",\"verdict\":\"closed\",\"cells\":{\"far\":"
	    "\"closed\"},\"proof\":null}]}");
	int rc;
	char *out = render(report_render_text, j, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Proof by delivery (canary):\n"
	                            "  192.0.2.16 from far: external-sender delivered 1.5 s after "
	                            "DATA by 192.0.2.17, 2 hop(s), multihop: not the tested "
	                            "address\n"
	                            "  192.0.2.18 from far: backscatter, a bounce for "
	                            "backscatter-probe came back from 192.0.2.18?\n"));
	assert_null(strstr(out, "192.0.2.19 from"));
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

/* A report of a newer controller: summary, previous audit, clients. The
 * targets come sorted by client as the controller sends them. */
static const char *const CLIENT_REPORT =
    "{\"ok\":true,\"audit\":7,\"status\":\"done\",\"vantages\":[\"ams1\",\"fra1\"],"
    "\"previous_audit\":6,\"summary\":{\"targets\":4,\"open\":2,\"closed\":1,"
    "\"inconclusive\":0,\"other\":1,\"disagree\":1,\"new_open\":1,\"changed\":2},"
    "\"targets\":["
    "{\"target\":\"adhoc.example\",\"client\":\"\",\"verdict\":\"closed\",\"previous\":null,"
    "\"new\":false,\"cells\":{\"ams1\":\"closed\",\"fra1\":\"closed\"},\"accepted\":{}},"
    "{\"target\":\"mx1.acme.example\",\"client\":\"acme\",\"verdict\":\"open\","
    "\"previous\":\"closed\",\"new\":true,\"disagree\":true,"
    "\"cells\":{\"ams1\":\"closed\",\"fra1\":\"open\"},"
    "\"accepted\":{\"fra1\":[\"external-sender\"]}},"
    "{\"target\":\"mx2.acme.example\",\"client\":\"acme\",\"verdict\":\"auth-required\","
    "\"previous\":\"auth-required\",\"new\":false,"
    "\"cells\":{\"ams1\":\"auth-required\",\"fra1\":\"auth-required\"},\"accepted\":{}},"
    "{\"target\":\"mx.beta.example\",\"client\":\"beta\",\"verdict\":\"open\","
    "\"previous\":\"open\",\"new\":false,"
    "\"cells\":{\"ams1\":\"open\",\"fra1\":\"open\"},"
    "\"accepted\":{\"ams1\":[\"null-sender\"],\"fra1\":[\"null-sender\"]}}]}";

static void clients_summary_and_new(void **state)
{
	json_t *j = parse(CLIENT_REPORT);
	int rc;
	char *out = render(report_render_text, j, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(out,
	                    "audit 7: 4 targets, 2 vantages\n"
	                    "  open          2 (1 new since audit 6)\n"
	                    "  closed        1\n"
	                    "  inconclusive  0\n"
	                    "  other         1\n"
	                    "  disagree      1\n"
	                    "  changed       2 since audit 6\n"
	                    "\n"
	                    "no client: 1 target\n"
	                    "TARGET            ams1           fra1           VERDICT        FLAGS\n"
	                    "adhoc.example     closed         closed         closed         -\n"
	                    "\n"
	                    "client acme: 2 targets\n"
	                    "TARGET            ams1           fra1           VERDICT        FLAGS\n"
	                    "mx1.acme.example  closed         open           open           "
	                    "NEW,DISAGREE\n"
	                    "mx2.acme.example  auth-required  auth-required  auth-required  -\n"
	                    "\n"
	                    "client beta: 1 target\n"
	                    "TARGET            ams1           fra1           VERDICT        FLAGS\n"
	                    "mx.beta.example   open           open           open           -\n"
	                    "\n"
	                    "Accepted relay tests:\n"
	                    "  mx1.acme.example from fra1: external-sender\n"
	                    "  mx.beta.example from ams1: null-sender\n"
	                    "  mx.beta.example from fra1: null-sender\n"
	                    "\n"
	                    "audit 7: 4 targets, 2 vantages: 2 open, 2 not open, 0 inconclusive\n");
	assert_int_equal(report_exit_status(j), 1);
	free(out);
	json_decref(j);
}

/* Targets not sorted by client still come out under one heading each; a
 * client name with control bytes is cleaned; no previous audit. */
static void clients_grouped_when_unsorted(void **state)
{
	json_t *j = parse("{\"audit\":2,\"vantages\":[\"v\"],\"previous_audit\":null,"
	                  "\"summary\":{\"targets\":3,\"open\":1,\"closed\":2,\"inconclusive\":0,"
	                  "\"other\":0,\"disagree\":0,\"new_open\":1},\"targets\":["
	                  "{\"target\":\"b1\",\"client\":\"b\\u001b\",\"verdict\":\"closed\","
	                  "\"cells\":{\"v\":\"closed\"}},"
	                  "{\"target\":\"a1\",\"client\":\"a\",\"verdict\":\"open\",\"new\":true,"
	                  "\"previous\":null,\"cells\":{\"v\":\"open\"}},"
	                  "{\"target\":\"b2\",\"client\":\"b\\u001b\",\"verdict\":\"closed\","
	                  "\"cells\":{\"v\":\"closed\"}}]}");
	int rc;
	char *out = render(report_render_text, j, &rc), *a, *b;

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "  open          1 (1 new: no earlier audit)\n"));
	assert_null(strstr(out, "changed"));
	assert_null(strchr(out, 0x1b));
	a = strstr(out, "client a: 1 target\n");
	b = strstr(out, "client b?: 2 targets\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_null(strstr(b + 1, "client b?"));
	assert_non_null(strstr(b, "b1      closed  closed   -\nb2      closed  closed   -\n"));
	assert_non_null(strstr(a, "a1      open    open     NEW\n"));
	assert_null(strstr(out, "no client"));
	free(out);
	json_decref(j);
}

/* Clients without a summary (and a summary without clients) each stand
 * alone; a target with a client and one without: "no client" heading. */
static void clients_without_summary(void **state)
{
	json_t *j = parse("{\"audit\":3,\"vantages\":[\"v\"],\"targets\":["
	                  "{\"target\":\"x\",\"verdict\":\"closed\",\"cells\":{\"v\":\"closed\"}},"
	                  "{\"target\":\"y\",\"client\":\"c\",\"verdict\":\"closed\","
	                  "\"cells\":{\"v\":\"closed\"}}]}");
	int rc;
	char *out = render(report_render_text, j, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(out, "no client: 1 target\n"
	                         "TARGET  v       VERDICT  FLAGS\n"
	                         "x       closed  closed   -\n"
	                         "\n"
	                         "client c: 1 target\n"
	                         "TARGET  v       VERDICT  FLAGS\n"
	                         "y       closed  closed   -\n"
	                         "\n"
	                         "audit 3: 2 targets, 1 vantage: 0 open, 2 not open, 0 "
	                         "inconclusive\n");
	free(out);
	json_decref(j);
}

/* The summary numbers: the controller's where given, counted otherwise
 * (open = open/open-confirmed; accepted-not-delivered is "other"). */
static void summary_counts(void **state)
{
	json_t *j = parse("{\"targets\":[{\"verdict\":\"open-confirmed\",\"new\":true},"
	                  "{\"verdict\":\"open\",\"disagree\":true},{\"verdict\":\"closed\"},"
	                  "{\"verdict\":\"inconclusive\"},{\"verdict\":\"accepted-not-delivered\"},"
	                  "{\"verdict\":\"tempfail\"},{}]}");
	json_t *k = parse("{\"previous_audit\":41,\"summary\":{\"targets\":9,\"open\":\"x\","
	                  "\"closed\":-1,\"new_open\":5,\"changed\":0},\"targets\":[]}");
	struct report_summary s;

	(void)state;
	report_summary_counts(j, &s);
	assert_false(s.present);
	assert_int_equal(s.targets, 7);
	assert_int_equal(s.open, 2);
	assert_int_equal(s.new_open, 1);
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.inconclusive, 1);
	assert_int_equal(s.other, 3);
	assert_int_equal(s.disagree, 1);
	assert_int_equal(s.changed, -1);
	assert_string_equal(s.previous_text, "");
	report_summary_counts(k, &s);
	assert_true(s.present);
	assert_int_equal(s.targets, 9);
	assert_int_equal(s.open, 0);   /* not an integer: counted (no targets) */
	assert_int_equal(s.closed, 0); /* negative: counted */
	assert_int_equal(s.new_open, 5);
	assert_int_equal(s.changed, 0);
	assert_int_equal(s.previous_audit, 41);
	assert_string_equal(s.previous_text, "41");
	json_decref(j);
	json_decref(k);
}

static void group_by_client_order(void **state)
{
	json_t *j =
	    parse("{\"targets\":[{\"target\":\"1\",\"client\":\"z\"},{\"target\":\"2\"},"
	          "{\"target\":\"3\",\"client\":\"a\"},{\"target\":\"4\",\"client\":7},"
	          "{\"target\":\"5\",\"client\":\"z\"},{\"target\":\"6\",\"client\":\"\"}]}");
	json_t *none = parse("{\"targets\":{}}");
	size_t n = 99;
	struct report_entry *e = report_group_by_client(j, &n);
	static const size_t want[] = {1, 3, 5, 2, 0, 4};

	(void)state;
	assert_non_null(e);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(e[i].index, want[i]);
	assert_string_equal(e[3].client, "a");
	assert_true(report_has_clients(j));
	free(e);
	assert_null(report_group_by_client(none, &n));
	assert_int_equal(n, 0);
	assert_false(report_has_clients(none));
	json_decref(j);
	json_decref(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(matrix_layout),
	    cmocka_unit_test(matrix_needs_arrays),
	    cmocka_unit_test(matrix_partial_and_status),
	    cmocka_unit_test(matrix_cleans_control_bytes),
	    cmocka_unit_test(matrix_canary_proof),
	    cmocka_unit_test(matrix_software_advice),
	    cmocka_unit_test(exit_status),
	    cmocka_unit_test(transcript_markers),
	    cmocka_unit_test(agents_table),
	    cmocka_unit_test(clients_summary_and_new),
	    cmocka_unit_test(clients_grouped_when_unsorted),
	    cmocka_unit_test(clients_without_summary),
	    cmocka_unit_test(summary_counts),
	    cmocka_unit_test(group_by_client_order),
	    cmocka_unit_test(targets_table),
	    cmocka_unit_test(schedules_table),
	    cmocka_unit_test(history_table),
	    cmocka_unit_test(events_lines),
	    cmocka_unit_test(hooks_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
