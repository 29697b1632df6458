/* test_advice.c - the advice files' parser (every error with its FILE:LINE,
 * the bounds), the built-in files (each parses, generic covers every
 * finding), and the selection by software, verdict, accepted forms and
 * vantage pattern. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "advice.h"

static const char good[] = "# a comment\n"
                           "software postfix\n"
                           "\n"
                           "@open-relay\n"
                           "summary fix mynetworks\n"
                           "| line one\n"
                           "|\n"
                           "| line three\n"
                           "@disagree\n"
                           "summary the trusted network\n"
                           "| holds the vantage\n";

static int parse(struct advice_db *db, const char *text, char *err, size_t errlen)
{
	return advice_db_parse(db, "t.txt", text, strlen(text), err, errlen);
}

static void test_parse_good(void **state)
{
	struct advice_db *db = advice_db_new();
	const struct advice_entry *out[4];
	struct advice_query q = {FP_SW_POSTFIX, DV_OPEN, true, false, ADV_VANTAGE_DISAGREE};
	char err[256] = "";

	assert_int_equal(parse(db, good, err, sizeof(err)), 0);
	assert_int_equal(advice_select(db, &q, out, 4), 2);
	assert_int_equal(out[0]->finding, ADV_DISAGREE);
	assert_string_equal(out[0]->summary, "the trusted network");
	assert_int_equal(out[1]->finding, ADV_OPEN_RELAY);
	assert_string_equal(out[1]->text, "line one\n\nline three");
	/* the same software twice */
	assert_int_equal(parse(db, good, err, sizeof(err)), -1);
	assert_string_equal(err, "t.txt:2: software \"postfix\" already loaded");
	advice_db_free(&db);
	assert_null(db);
	advice_db_free(&db);
}

/* Each malformed file fails with the line and the reason. */
static void test_parse_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"@open-relay\n", "t.txt:1: section before the \"software\" line"},
	    {"software nosuch\n", "t.txt:1: unknown software \"nosuch\""},
	    {"software unknown\n", "t.txt:1: unknown software \"unknown\""},
	    {"software exim\nsoftware exim\n", "t.txt:2: second \"software\" line"},
	    {"software exim\n@relay\n", "t.txt:2: unknown finding \"@relay\""},
	    {"software exim\n@open-relay\nsummary s\n| t\n@open-relay\n",
	     "t.txt:5: section @open-relay given twice"},
	    {"software exim\n@open-relay\n| t\n", "t.txt:3: text before the summary"},
	    {"software exim\n@open-relay\nsummary s\n", "t.txt:3: section @open-relay has no text "
	                                                "(\"| ...\" lines)"},
	    {"software exim\n@open-relay\n@disagree\n",
	     "t.txt:3: section @open-relay has no summary"},
	    {"software exim\n@open-relay\nsummary s\n| t\nsummary again\n",
	     "t.txt:5: summary must come once, first in its section"},
	    {"software exim\n| t\n", "t.txt:2: text outside a section"},
	    {"software exim\nsummary s\n", "t.txt:2: summary outside a section"},
	    {"software exim\n@open-relay\nsummary s\n|t\n",
	     "t.txt:4: expected \"| \" before the text"},
	    {"software exim\nrelay yes\n", "t.txt:2: expected \"software\", \"@finding\", "
	                                   "\"summary\", \"| text\" or \"#\""},
	    {"software exim\n@open-relay\nsummary s\n| caf\xc3\xa9\n",
	     "t.txt:4: byte 0xc3 at column 6: printable ASCII only"},
	    {"software exim\r\n", "t.txt:1: byte 0x0d at column 14: printable ASCII only"},
	    {"# only a comment\n", "t.txt:1: no \"software\" line"},
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct advice_db *db = advice_db_new();
		const struct advice_entry *out[4];
		struct advice_query q = {FP_SW_EXIM, DV_OPEN, true, false, ADV_VANTAGE_SINGLE};

		err[0] = '\0';
		assert_int_equal(parse(db, cases[i].text, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
		/* a failed file leaves nothing behind */
		assert_int_equal(advice_select(db, &q, out, 4), 0);
		advice_db_free(&db);
	}
}

/* Bounds: a line, a summary, a section's text, the file. */
static void test_parse_bounds(void **state)
{
	size_t cap = RP_ADVICE_FILE_MAX + 4096;
	char *buf = malloc(cap), err[256];
	struct advice_db *db = advice_db_new();
	size_t off;

	assert_non_null(buf);
	/* a line one byte too long */
	off = (size_t)snprintf(buf, cap, "software exim\n# ");
	memset(buf + off, 'x', RP_ADVICE_LINE_MAX - 1);
	buf[off + RP_ADVICE_LINE_MAX - 1] = '\0';
	assert_int_equal(parse(db, buf, err, sizeof(err)), -1);
	assert_string_equal(err, "t.txt:2: line longer than 200 bytes");
	/* a summary one byte too long */
	off = (size_t)snprintf(buf, cap, "software exim\n@open-relay\nsummary ");
	memset(buf + off, 's', RP_ADVICE_SUMMARY_MAX + 1);
	buf[off + RP_ADVICE_SUMMARY_MAX + 1] = '\0';
	assert_int_equal(parse(db, buf, err, sizeof(err)), -1);
	assert_string_equal(err, "t.txt:3: summary longer than 160 bytes");
	/* a section's text past RP_ADVICE_TEXT_MAX */
	off = (size_t)snprintf(buf, cap, "software exim\n@open-relay\nsummary s\n");
	for (int i = 0; i < RP_ADVICE_TEXT_MAX / 100 + 1; i++)
		off += (size_t)snprintf(buf + off, cap - off, "| %0100d\n", i);
	assert_int_equal(parse(db, buf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "section @open-relay longer than 2048 bytes"));
	/* a file past RP_ADVICE_FILE_MAX */
	off = (size_t)snprintf(buf, cap, "software exim\n");
	while (off <= RP_ADVICE_FILE_MAX)
		off += (size_t)snprintf(buf + off, cap - off, "# padding\n");
	assert_int_equal(parse(db, buf, err, sizeof(err)), -1);
	assert_string_equal(err, "t.txt:0: file longer than 32768 bytes");
	advice_db_free(&db);
	free(buf);
}

/* The files built into the binary: they parse, one per software, and the
 * generic one covers every finding. */
static void test_builtin(void **state)
{
	char err[256] = "";
	const struct advice_db *db = advice_builtin(err, sizeof(err));
	const struct advice_entry *out[4];

	assert_non_null(db);
	assert_true(advice_nblobs >= 2);
	for (int f = 0; f < ADV_FINDING_COUNT; f++) {
		struct advice_query q = {
		    FP_SW_UNKNOWN, DV_OPEN, f == ADV_OPEN_RELAY, f == ADV_ADDRESS_FORM,
		    f == ADV_DISAGREE ? ADV_VANTAGE_DISAGREE : ADV_VANTAGE_SINGLE};
		if (f == ADV_NOT_DELIVERED)
			q.verdict = DV_ACCEPTED_NOT_DELIVERED;
		assert_int_equal(advice_select(db, &q, out, 4), 1);
		assert_int_equal(out[0]->finding, f);
		assert_int_equal(out[0]->software, FP_SW_UNKNOWN);
	}
	/* every product of the fingerprint has its own open-relay text */
	for (int sw = 1; sw < FP_SW_COUNT; sw++) {
		struct advice_query q = {(enum fp_software)sw, DV_OPEN, true, false,
		                         ADV_VANTAGE_SINGLE};
		assert_int_equal(advice_select(db, &q, out, 4), 1);
		assert_int_equal(out[0]->software, sw);
	}
	assert_ptr_equal(advice_builtin(err, sizeof(err)), db); /* parsed once */
}

/* Selection: what each verdict, form and vantage pattern gets. */
static void test_select(void **state)
{
	char err[256];
	const struct advice_db *db = advice_builtin(err, sizeof(err));
	const struct advice_entry *out[4];
	struct advice_query q = {FP_SW_POSTFIX, DV_OPEN, true, true, ADV_VANTAGE_SINGLE};

	assert_non_null(db);
	/* open with a plain recipient: open-relay, not address-form */
	assert_int_equal(advice_select(db, &q, out, 4), 1);
	assert_int_equal(out[0]->finding, ADV_OPEN_RELAY);
	assert_non_null(strstr(out[0]->summary, "smtpd_relay_restrictions"));
	/* percent hack only: the address-parsing setting */
	q.accepted_plain = false;
	assert_int_equal(advice_select(db, &q, out, 4), 1);
	assert_int_equal(out[0]->finding, ADV_ADDRESS_FORM);
	assert_non_null(strstr(out[0]->summary, "allow_untrusted_routing"));
	/* Sendmail's percent hack: loose_relay_check */
	q.software = FP_SW_SENDMAIL;
	assert_int_equal(advice_select(db, &q, out, 4), 1);
	assert_non_null(strstr(out[0]->summary, "loose_relay_check"));
	/* OpenSMTPD has no address-form text: the generic one */
	q.software = FP_SW_OPENSMTPD;
	assert_int_equal(advice_select(db, &q, out, 4), 1);
	assert_int_equal(out[0]->software, FP_SW_UNKNOWN);
	assert_int_equal(out[0]->finding, ADV_ADDRESS_FORM);
	/* disagree: the trusted network first, then the relay */
	q.software = FP_SW_EXIM;
	q.accepted_plain = true;
	q.vantage = ADV_VANTAGE_DISAGREE;
	assert_int_equal(advice_select(db, &q, out, 4), 2);
	assert_int_equal(out[0]->finding, ADV_DISAGREE);
	assert_non_null(strstr(out[0]->summary, "relay_from_hosts"));
	assert_int_equal(out[1]->finding, ADV_OPEN_RELAY);
	/* max bounds the output */
	assert_int_equal(advice_select(db, &q, out, 1), 1);
	assert_int_equal(out[0]->finding, ADV_DISAGREE);
	/* accepted-not-delivered */
	q.verdict = DV_ACCEPTED_NOT_DELIVERED;
	q.vantage = ADV_VANTAGE_SINGLE;
	assert_int_equal(advice_select(db, &q, out, 4), 1);
	assert_int_equal(out[0]->finding, ADV_NOT_DELIVERED);
	/* Exchange: receive connector permission */
	q.software = FP_SW_EXCHANGE;
	q.verdict = DV_OPEN_CONFIRMED;
	assert_int_equal(advice_select(db, &q, out, 4), 1);
	assert_non_null(strstr(out[0]->summary, "ms-Exch-SMTP-Accept-Any-Recipient"));
	/* nothing for verdicts that did not relay, whatever else is set */
	for (int v = 0; v < DV_COUNT; v++) {
		q.verdict = (enum dialog_verdict)v;
		q.vantage = ADV_VANTAGE_DISAGREE;
		if (!verdict_is_open(q.verdict))
			assert_int_equal(advice_select(db, &q, out, 4), 0);
	}
	/* an out-of-range software falls back to generic */
	q.software = (enum fp_software)99;
	q.verdict = DV_OPEN;
	q.vantage = ADV_VANTAGE_SINGLE;
	assert_int_equal(advice_select(db, &q, out, 4), 1);
	assert_int_equal(out[0]->software, FP_SW_UNKNOWN);
	assert_int_equal(advice_select(NULL, &q, out, 4), 0);
}

static void test_names(void **state)
{
	for (int f = 0; f < ADV_FINDING_COUNT; f++)
		assert_int_equal(adv_finding_from_name(adv_finding_name((enum adv_finding)f)), f);
	assert_int_equal(adv_finding_from_name("open"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),   cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_bounds), cmocka_unit_test(test_builtin),
	    cmocka_unit_test(test_select),       cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
