/* test_verdict.c - rejection classes from real MTA replies (Postfix, Exim,
 * Exchange, Sendmail, OpenSMTPD) and the dialog verdict rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verdict.h"

static struct smtp_reply parse(const char *line)
{
	struct smtp_reply_parser p;
	enum smtp_reply_err e;

	smtp_reply_parser_reset(&p);
	assert_int_equal(smtp_reply_parser_line(&p, line, strlen(line), &e), SMTP_PARSE_DONE);
	return p.r;
}

static enum reject_class cls(const char *line, bool at_mail)
{
	struct smtp_reply r = parse(line);

	return verdict_classify(&r, at_mail);
}

static void test_classify_real_replies(void **state)
{
	/* Postfix */
	assert_int_equal(cls("554 5.7.1 <t@example.net>: Relay access denied", false),
	                 RC_RELAY_DENIED);
	assert_int_equal(cls("530 5.7.0 Must issue a STARTTLS command first", true), RC_TLS);
	assert_int_equal(cls("530 5.7.0 Authentication required", false), RC_AUTH);
	assert_int_equal(cls("554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using "
	                     "zen.spamhaus.org",
	                     false),
	                 RC_POLICY);
	/* Exim */
	assert_int_equal(cls("550 relay not permitted", false), RC_RELAY_DENIED);
	assert_int_equal(cls("550 Authentication required", false), RC_AUTH);
	/* Exchange */
	assert_int_equal(
	    cls("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", false),
	    RC_RELAY_DENIED);
	assert_int_equal(
	    cls("530 5.7.57 Client not authenticated to send mail during MAIL FROM", true),
	    RC_AUTH);
	/* Sendmail, OpenSMTPD */
	assert_int_equal(cls("550 5.7.1 <t@example.net>... Relaying denied", false),
	                 RC_RELAY_DENIED);
	assert_int_equal(cls("550 Invalid recipient: <t@example.net>", false), RC_RELAY_DENIED);
	/* MAIL FROM refused for other reasons */
	assert_int_equal(
	    cls("553 5.1.8 <f@bad.example>: Sender address rejected: Domain not found", true),
	    RC_SENDER);
}

static void test_relay_denial_wording(void **state)
{
	struct smtp_reply a = parse("454 4.7.1 <t@example.net>: Relay access denied");
	struct smtp_reply b = parse("451 4.7.1 Greylisted, please try again in 300 seconds");
	struct smtp_reply c = parse("450 4.7.1 Client host rejected: cannot find your hostname");
	struct smtp_reply e =
	    parse("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain");

	assert_true(verdict_relay_denial(&a));
	assert_false(verdict_relay_denial(&b));
	assert_false(verdict_relay_denial(&c));
	assert_true(verdict_relay_denial(&e));
}

static void test_names(void **state)
{
	for (int v = 0; v < DV_COUNT; v++)
		assert_int_equal(dialog_verdict_from_name(dialog_verdict_name(v)), v);
	assert_int_equal(dialog_verdict_from_name("bogus"), -1);
	assert_string_equal(dialog_verdict_name(DV_OPEN), "open");
	assert_string_equal(dialog_verdict_name(DV_ACCEPTED_NOT_DELIVERED),
	                    "accepted-not-delivered");
	assert_string_equal(test_outcome_name(TO_NOT_RUN), "not-run");
	assert_string_equal(reject_class_name(RC_TLS), "tls-required");
}

static void test_tally(void **state)
{
	struct verdict_tally t;

	memset(&t, 0, sizeof(t));
	assert_int_equal(verdict_from_tally(&t), DV_ERROR); /* nothing decided */
	t.outcome[TO_REJECTED] = 19;
	t.rclass[RC_RELAY_DENIED] = 19;
	assert_int_equal(verdict_from_tally(&t), DV_CLOSED);
	t.outcome[TO_NOT_RUN] = 1; /* not-run tests do not spoil closed */
	assert_int_equal(verdict_from_tally(&t), DV_CLOSED);
	t.outcome[TO_ACCEPTED] = 1;
	assert_int_equal(verdict_from_tally(&t), DV_OPEN);
	t.outcome[TO_ACCEPTED] = 0;
	t.outcome[TO_TEMPFAIL] = 1; /* one undecided test: not closed */
	assert_int_equal(verdict_from_tally(&t), DV_TEMPFAIL);

	memset(&t, 0, sizeof(t));
	t.outcome[TO_REJECTED] = 2;
	t.rclass[RC_AUTH] = 2;
	assert_int_equal(verdict_from_tally(&t), DV_AUTH_REQUIRED);
	t.rclass[RC_AUTH] = 1;
	t.rclass[RC_TLS] = 1;
	assert_int_equal(verdict_from_tally(&t), DV_TLS_REQUIRED);
	t.rclass[RC_TLS] = 0;
	t.rclass[RC_RELAY_DENIED] = 1;
	assert_int_equal(verdict_from_tally(&t), DV_CLOSED);

	memset(&t, 0, sizeof(t));
	t.outcome[TO_ERROR] = 1;
	t.outcome[TO_REJECTED] = 3;
	assert_int_equal(verdict_from_tally(&t), DV_ERROR);
}

static void test_inconclusive(void **state)
{
	assert_true(verdict_inconclusive(DV_UNREACHABLE));
	assert_true(verdict_inconclusive(DV_TEMPFAIL));
	assert_false(verdict_inconclusive(DV_CLOSED));
	assert_false(verdict_inconclusive(DV_AUTH_REQUIRED));
	assert_true(verdict_is_open(DV_OPEN_CONFIRMED));
	assert_false(verdict_is_open(DV_CLOSED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify_real_replies), cmocka_unit_test(test_names),
	    cmocka_unit_test(test_relay_denial_wording),  cmocka_unit_test(test_tally),
	    cmocka_unit_test(test_inconclusive),
	};

	return cmocka_run_group_tests_name("verdict", tests, NULL, NULL);
}
