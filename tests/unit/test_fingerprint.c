/* test_fingerprint.c - the fingerprint on golden transcripts of each
 * product (replies written from each one's documentation and default
 * messages; the lab's Postfix as tests/integration/postfix_lab.sh configures
 * it), and the cases that must stay unknown: a bare banner, a banner naming
 * two products, a product name past the scanned part of an over-long line,
 * a repeated line that must not pile up points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fingerprint.h"
#include "transcript.h"

/* A golden transcript: "S: " received, "C: " sent, "E: " event lines,
 * separated by '\n'. A session starts with an implicit "Connected to". */
static struct transcript *golden(const char *script)
{
	struct transcript *t = transcript_new(0);
	const char *s = script;

	assert_non_null(t);
	transcript_add(t, 1, TR_EVENT, false, "Connected to 192.0.2.25:25", 26);
	while (*s != '\0') {
		const char *end = strchr(s, '\n');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		enum tr_dir dir = s[0] == 'S' ? TR_RECV : s[0] == 'C' ? TR_SENT : TR_EVENT;

		assert_true(len >= 3 && s[1] == ':' && s[2] == ' ');
		assert_true(transcript_add(t, 2, dir, false, s + 3, len - 3) >= 0);
		s += len + (end != NULL);
	}
	return t;
}

static struct fp_result fp(const char *script)
{
	struct transcript *t = golden(script);
	struct fp_result r;

	fingerprint_transcript(t, &r);
	transcript_free(&t);
	return r;
}

static bool has_evidence(const struct fp_result *r, const char *needle)
{
	for (size_t i = 0; i < r->nevidence; i++)
		if (strstr(r->evidence[i].text, needle) != NULL)
			return true;
	return false;
}

#define EHLO_C "C: EHLO probe.example.org\n"
/* MAIL FROM, its reply, RCPT TO (its reply follows) */
#define MAIL_RCPT(mail_reply)                                                                      \
	"C: MAIL FROM:<a@probe.example.org>\n"                                                     \
	"S: " mail_reply "\n"                                                                      \
	"C: RCPT TO:<b@example.net>\n"

#define CLOSED_TAIL                                                                                \
	"C: MAIL FROM:<relayprobe@probe.example.org>\n"                                            \
	"S: 250 2.1.0 Ok\n"                                                                        \
	"C: RCPT TO:<relaytest@example.net>\n"

/* The lab's Postfix (tests/integration/postfix_lab.sh): smtpd_banner hides
 * the product; its EHLO reply up to DSN. */
#define LAB_GREETING                                                                               \
	"S: 220 rplab.relayprobe.test ESMTP relayprobe test lab\n" EHLO_C                          \
	"S: 250-rplab.relayprobe.test\n"                                                           \
	"S: 250-PIPELINING\n"                                                                      \
	"S: 250-SIZE 10240000\n"                                                                   \
	"S: 250-VRFY\n"                                                                            \
	"S: 250-ETRN\n"                                                                            \
	"S: 250-ENHANCEDSTATUSCODES\n"                                                             \
	"S: 250-8BITMIME\n"                                                                        \
	"S: 250-DSN\n"

/* The lab's closed Postfix: smtpd_banner hides the product. */
static void test_postfix_lab_closed(void **state)
{
	struct fp_result r =
	    fp(LAB_GREETING "S: 250-SMTPUTF8\n"
	                    "S: 250 CHUNKING\n" CLOSED_TAIL
	                    "S: 554 5.7.1 <relaytest@example.net>: Relay access denied\n"
	                    "C: RSET\n"
	                    "S: 250 2.0.0 Ok\n"
	                    "C: QUIT\n"
	                    "S: 221 2.0.0 Bye\n");
	assert_int_equal(r.software, FP_SW_POSTFIX);
	assert_int_equal(r.confidence, FP_CONF_HIGH);
	assert_true(has_evidence(&r, "Relay access denied"));
	assert_true(r.nevidence <= RP_FP_EVIDENCE_MAX);
	assert_true(r.evidence[0].index > 0);
}

/* The lab's open Postfix: no rejection at all; its EHLO order and replies. */
static void test_postfix_lab_open(void **state)
{
	struct fp_result r = fp(LAB_GREETING "S: 250 CHUNKING\n" CLOSED_TAIL "S: 250 2.1.5 Ok\n");
	assert_int_equal(r.software, FP_SW_POSTFIX);
	assert_int_equal(r.confidence, FP_CONF_HIGH);
}

/* Postfix's defer_unauth_destination (454) and a pipelined batch: the
 * replies are matched to their commands in order. */
static void test_postfix_pipelined_defer(void **state)
{
	struct fp_result r = fp("S: 220 mx.example.com ESMTP\n" EHLO_C "S: 250-mx.example.com\n"
	                        "S: 250 PIPELINING\n"
	                        "C: MAIL FROM:<a@probe.example.org>\n"
	                        "C: RCPT TO:<b@example.net>\n"
	                        "S: 250 2.1.0 Ok\n"
	                        "S: 454 4.7.1 <b@example.net>: Relay access denied\n");
	assert_int_equal(r.software, FP_SW_POSTFIX);
	assert_int_equal(r.confidence, FP_CONF_MEDIUM);
	assert_true(has_evidence(&r, "2.1.0 Ok"));
}

static void test_postfix_banner_only(void **state)
{
	struct fp_result r = fp("S: 220 mx.example.com ESMTP Postfix (Debian/GNU)\n");
	assert_int_equal(r.software, FP_SW_POSTFIX);
	assert_int_equal(r.confidence, FP_CONF_MEDIUM);
}

static void test_zimbra(void **state)
{
	struct fp_result r = fp("S: 220 mail.example.com ESMTP Postfix (Zimbra 8.8)\n" EHLO_C
	                        "S: 250-mail.example.com\n"
	                        "S: 250-PIPELINING\n"
	                        "S: 250-SIZE 10240000\n"
	                        "S: 250-VRFY\n"
	                        "S: 250-ETRN\n"
	                        "S: 250 8BITMIME\n" CLOSED_TAIL
	                        "S: 554 5.7.1 <relaytest@example.net>: Relay access denied\n");
	assert_int_equal(r.software, FP_SW_ZIMBRA);
	assert_int_equal(r.confidence, FP_CONF_HIGH);
	assert_true(has_evidence(&r, "Zimbra"));
	assert_true(has_evidence(&r, "Relay access denied"));
}

/* Golden transcripts of each product, from its documentation and default
 * messages; hidden banners where the replies alone must decide. */
static const struct {
	const char *name;
	enum fp_software software;
	enum fp_confidence at_least;
	const char *script;
} products[] = {
    {"exim", FP_SW_EXIM, FP_CONF_HIGH,
     "S: 220 mx.example.com ESMTP Exim 4.96 Wed, 02 Dec 2026 06:00:00 +0000\n" EHLO_C
     "S: 250-mx.example.com Hello probe.example.org [192.0.2.7]\n"
     "S: 250-SIZE 52428800\n"
     "S: 250-8BITMIME\n"
     "S: 250-PIPELINING\n"
     "S: 250-CHUNKING\n"
     "S: 250-PRDR\n"
     "S: 250 HELP\n" MAIL_RCPT("250 OK") "S: 550 relay not permitted\n"},
    {"exim_hidden_banner", FP_SW_EXIM, FP_CONF_MEDIUM,
     "S: 220 mx.example.com ESMTP\n" EHLO_C
     "S: 250-mx.example.com Hello probe.example.org [192.0.2.7]\n"
     "S: 250-SIZE 52428800\n"
     "S: 250-8BITMIME\n"
     "S: 250-PIPELINING\n"
     "S: 250 HELP\n" MAIL_RCPT("250 OK") "S: 550 relay not permitted\n"},
    /* Recorded from Debian's exim4-daemon-light 4.96 with its banner hidden
     * and the ACL of Exim's default configure (test_real_mtas.sh). */
    {"exim_real_4_96_hidden_banner", FP_SW_EXIM, FP_CONF_MEDIUM,
     "S: 220 mx.rp-test.example ESMTP\n" EHLO_C
     "S: 250-mx.rp-test.example Hello relayprobe.invalid [127.0.0.1]\n"
     "S: 250-SIZE 52428800\n"
     "S: 250-8BITMIME\n"
     "S: 250-PIPELINING\n"
     "S: 250-PIPECONNECT\n"
     "S: 250-CHUNKING\n"
     "S: 250-STARTTLS\n"
     "S: 250-SMTPUTF8\n"
     "S: 250 HELP\n"
     "C: MAIL FROM:<a@probe.example.org>\n"
     "S: 250 OK\n"
     "C: RCPT TO:<b@example.net>\n"
     "S: 250 Accepted\n"
     "C: RSET\n"
     "S: 250 Reset OK\n"
     "C: MAIL FROM:<relayprobe@[127.0.0.1]>\n"
     "S: 501 <relayprobe@[127.0.0.1]>: domain literals not allowed\n"
     "C: RCPT TO:<relaytest%example.net@rp-test.example>\n"
     "S: 550 Restricted characters in address\n"},
    {"sendmail", FP_SW_SENDMAIL, FP_CONF_HIGH,
     "S: 220 mx.example.com ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2; Wed, 2 Dec 2026\n" EHLO_C
     "S: 250-mx.example.com Hello probe.example.org [192.0.2.7], pleased to meet you\n"
     "S: 250-ENHANCEDSTATUSCODES\n"
     "S: 250-PIPELINING\n"
     "S: 250-8BITMIME\n"
     "S: 250-SIZE\n"
     "S: 250-DSN\n"
     "S: 250-ETRN\n"
     "S: 250-DELIVERBY\n"
     "S: 250 HELP\n" MAIL_RCPT(
         "250 2.1.0 <a@probe.example.org>... Sender ok") "S: 550 5.7.1 <b@example.net>... Relaying "
                                                         "denied\n"},
    {"opensmtpd", FP_SW_OPENSMTPD, FP_CONF_HIGH,
     "S: 220 mx.example.com ESMTP OpenSMTPD\n" EHLO_C
     "S: 250-mx.example.com Hello probe.example.org [192.0.2.7], pleased "
     "to meet you\n"
     "S: 250-8BITMIME\n"
     "S: 250-ENHANCEDSTATUSCODES\n"
     "S: 250-SIZE 36700160\n"
     "S: 250-DSN\n"
     "S: 250 HELP\n" MAIL_RCPT("250 2.0.0 Ok") "S: 550 Invalid recipient: <b@example.net>\n"},
    {"exchange", FP_SW_EXCHANGE, FP_CONF_HIGH,
     "S: 220 mail.example.com Microsoft ESMTP MAIL Service ready at Wed, 2 "
     "Dec 2026 06:00:00 +0000\n" EHLO_C "S: 250-mail.example.com Hello [192.0.2.7]\n"
     "S: 250-SIZE 37748736\n"
     "S: 250-PIPELINING\n"
     "S: 250-DSN\n"
     "S: 250-ENHANCEDSTATUSCODES\n"
     "S: 250-STARTTLS\n"
     "S: 250-X-ANONYMOUSTLS\n"
     "S: 250-AUTH NTLM\n"
     "S: 250-X-EXPS GSSAPI NTLM\n"
     "S: 250-8BITMIME\n"
     "S: 250-BINARYMIME\n"
     "S: 250-CHUNKING\n"
     "S: 250 XRDST\n" MAIL_RCPT("250 2.1.0 Sender OK") "S: 550 5.7.54 SMTP; Unable to relay "
                                                       "recipient in non-accepted domain\n"},
    {"exchange_old_hidden", FP_SW_EXCHANGE, FP_CONF_HIGH,
     "S: 220 mail.example.com ESMTP\n" EHLO_C "S: 250-mail.example.com Hello [192.0.2.7]\n"
     "S: 250-SIZE\n"
     "S: 250-PIPELINING\n"
     "S: 250-XEXCH50\n"
     "S: 250 OK\n" MAIL_RCPT("250 2.1.0 Sender OK") "S: 550 5.7.1 Unable to relay\n"},
    {"qmail", FP_SW_QMAIL, FP_CONF_HIGH,
     "S: 220 mx.example.com ESMTP\n" EHLO_C "S: 250-mx.example.com\n"
     "S: 250-PIPELINING\n"
     "S: 250 8BITMIME\n" MAIL_RCPT(
         "250 ok") "S: 553 sorry, that domain isn't in my list of allowed rcpthosts "
                   "(#5.7.1)\n"},
    {"haraka", FP_SW_HARAKA, FP_CONF_HIGH,
     "S: 220 mx.example.com ESMTP Haraka/3.0.3 ready\n" EHLO_C
     "S: 250-mx.example.com Hello probe.example.org [192.0.2.7], Haraka "
     "is at your service.\n"
     "S: 250-PIPELINING\n"
     "S: 250-8BITMIME\n"
     "S: 250-SMTPUTF8\n"
     "S: 250 SIZE 0\n" MAIL_RCPT(
         "250 sender <a@probe.example.org> OK") "S: 550 I cannot deliver mail for "
                                                "<b@example.net>\n"},
    {"hmailserver", FP_SW_HMAILSERVER, FP_CONF_MEDIUM,
     "S: 220 mail.example.com ESMTP\n" EHLO_C "S: 250-mail.example.com\n"
     "S: 250-SIZE 20480000\n"
     "S: 250-AUTH LOGIN\n"
     "S: 250 HELP\n" MAIL_RCPT("250 OK") "S: 550 Delivery is not allowed to this address.\n"},
};

static void test_products(void **state)
{
	for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++) {
		struct fp_result r = fp(products[i].script);

		if (r.software != products[i].software || r.confidence < products[i].at_least)
			fail_msg("%s: got %s (%s), note \"%s\"", products[i].name,
			         fp_software_name(r.software), fp_confidence_name(r.confidence),
			         r.note);
		assert_true(r.nevidence > 0 && r.nevidence <= RP_FP_EVIDENCE_MAX);
	}
}

/* A bare banner and neutral replies: unknown. */
static void test_unknown_thin(void **state)
{
	struct fp_result r = fp("S: 220 ESMTP\n" EHLO_C "S: 250-mx\n"
	                        "S: 250 PIPELINING\n" MAIL_RCPT("250 OK") "S: 550 no\n");
	assert_int_equal(r.software, FP_SW_UNKNOWN);
	assert_int_equal(r.confidence, FP_CONF_NONE);
	assert_int_equal(r.nevidence, 0);
	assert_string_equal(r.note, "too little evidence");
}

/* A hostile banner naming two products counts for neither. */
static void test_unknown_two_products(void **state)
{
	struct fp_result r = fp("S: 220 mx.example.com ESMTP Postfix Exim Sendmail\n" EHLO_C
	                        "S: 250 mx.example.com\n");
	assert_int_equal(r.software, FP_SW_UNKNOWN);
	assert_string_equal(r.note, "the banner names several products");
	/* the banner claims Postfix+Exim, the replies say Exim: Exim, on the replies */
	r = fp("S: 220 mx.example.com ESMTP Postfix Exim\n" EHLO_C
	       "S: 250-mx.example.com Hello x [192.0.2.7]\n"
	       "S: 250-SIZE 52428800\n"
	       "S: 250-8BITMIME\n"
	       "S: 250 PIPELINING\n" MAIL_RCPT("250 OK") "S: 550 relay not permitted\n");
	assert_int_equal(r.software, FP_SW_EXIM);
	assert_false(has_evidence(&r, "ESMTP Postfix Exim"));
}

/* Signatures of two products with nearly the same weight: conflicting. */
static void test_unknown_conflict(void **state)
{
	struct fp_result r =
	    fp("S: 220 mx.example.com ESMTP\n" EHLO_C "S: 250 mx.example.com\n" MAIL_RCPT(
	        "250 OK") "S: 550 relay not permitted\n"
	                  "C: RCPT TO:<c@example.net>\n"
	                  "S: 554 5.7.1 <c@example.net>: Relay access denied\n");
	assert_int_equal(r.software, FP_SW_UNKNOWN);
	assert_string_equal(r.note, "conflicting evidence");
}

/* A product name past RP_FP_SCAN_MAX bytes of a line is not read; evidence
 * kept is cut at RP_FP_EVIDENCE_LEN. */
static void test_unknown_long_line(void **state)
{
	char script[4096], pad[3000];
	struct fp_result r;

	memset(pad, 'A', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(script, sizeof(script), "S: 220 %s Postfix\n", pad);
	r = fp(script);
	assert_int_equal(r.software, FP_SW_UNKNOWN);

	snprintf(script, sizeof(script), "S: 220 mx Postfix %s\n", pad);
	r = fp(script);
	assert_int_equal(r.software, FP_SW_POSTFIX);
	assert_int_equal(strlen(r.evidence[0].text), RP_FP_EVIDENCE_LEN);
}

/* The same line a hundred times is one piece of evidence, not a hundred. */
static void test_repeat_no_pileup(void **state)
{
	char script[8192];
	size_t off = 0;
	struct fp_result r;

	off += (size_t)snprintf(script + off, sizeof(script) - off, "S: 220 mx ESMTP\n");
	for (int i = 0; i < 100; i++)
		off += (size_t)snprintf(script + off, sizeof(script) - off,
		                        "C: MAIL FROM:<a@b.example>\nS: 250 2.1.0 Ok\n");
	r = fp(script);
	/* Postfix's MAIL FROM reply is worth 15 points, once: not enough */
	assert_int_equal(r.software, FP_SW_UNKNOWN);
	assert_string_equal(r.note, "too little evidence");
}

/* fingerprint_lines with hostile input: NULL text, lines that are no reply. */
static void test_lines_garbage(void **state)
{
	struct fp_line l[3] = {
	    {FP_ST_BANNER, true, NULL, 0, 0},
	    {FP_ST_BANNER, true, "xx Postfix", 10, 1},
	    {FP_ST_RCPT, true, "55", 2, 2},
	};
	struct fp_result r;

	fingerprint_lines(l, 3, &r);
	assert_int_equal(r.software, FP_SW_UNKNOWN);
	fingerprint_transcript(NULL, &r);
	assert_int_equal(r.software, FP_SW_UNKNOWN);
}

/* The controller's path: the result document's "transcript" array (as an
 * agent signs it) reads like the transcript itself; junk entries skipped. */
static void test_transcript_json(void **state)
{
	struct transcript *t =
	    golden(LAB_GREETING "S: 250-SMTPUTF8\n"
	                        "S: 250 CHUNKING\n" CLOSED_TAIL
	                        "S: 554 5.7.1 <relaytest@example.net>: Relay access denied\n");
	json_t *tr = transcript_to_json(t);
	struct fp_result want, got;

	assert_non_null(tr);
	fingerprint_transcript(t, &want);
	assert_int_equal(
	    json_array_append_new(tr, json_pack("{s:s,s:i}", "dir", "recv", "text", 5)), 0);
	assert_int_equal(json_array_append_new(tr, json_string("x")), 0);
	fingerprint_transcript_json(tr, &got);
	assert_int_equal(got.software, FP_SW_POSTFIX);
	assert_int_equal(got.confidence, want.confidence);
	assert_int_equal(got.score, want.score);
	assert_int_equal(got.nevidence, want.nevidence);
	fingerprint_transcript_json(NULL, &got);
	assert_int_equal(got.software, FP_SW_UNKNOWN);
	json_decref(tr);
	transcript_free(&t);
}

static void test_names(void **state)
{
	for (int i = 0; i < FP_SW_COUNT; i++)
		assert_int_equal(fp_software_from_name(fp_software_name((enum fp_software)i)), i);
	assert_int_equal(fp_software_from_name("postfix2"), -1);
	assert_string_equal(fp_confidence_name(FP_CONF_HIGH), "high");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_postfix_lab_closed),
	    cmocka_unit_test(test_postfix_lab_open),
	    cmocka_unit_test(test_postfix_pipelined_defer),
	    cmocka_unit_test(test_postfix_banner_only),
	    cmocka_unit_test(test_zimbra),
	    cmocka_unit_test(test_products),
	    cmocka_unit_test(test_unknown_thin),
	    cmocka_unit_test(test_unknown_two_products),
	    cmocka_unit_test(test_unknown_conflict),
	    cmocka_unit_test(test_unknown_long_line),
	    cmocka_unit_test(test_repeat_no_pileup),
	    cmocka_unit_test(test_lines_garbage),
	    cmocka_unit_test(test_transcript_json),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
