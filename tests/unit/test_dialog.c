/* test_dialog.c - golden transcripts for the sans-I/O dialog: a scripted
 * server side and the exact bytes the client must send, plus rule-driven
 * servers for batching, error limits and retries. No sockets, fake clock.
 * Over 800 lines: one program for the dialog (one per module), and every
 * golden transcript is spelled out byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dialog.h"
#include "relay_tests.h"

#define T0 1800000000000ULL

/* Script steps, one string each:
 *   "C"        connect succeeds        "X why"   connect fails
 *   "S bytes"  server sends bytes      "E bytes" client must send exactly bytes
 *   "P bytes"  client output starts with bytes (consumes all of it)
 *   "D why"    server drops            "T"       time passes to the deadline
 *   "L"        TLS handshake succeeds  "F why"   TLS handshake fails
 * CLOSE actions are answered by the harness; the script ends at DONE. */
struct run {
	struct dialog *d;
	uint64_t now;
	unsigned connects, writes;
};

static void setup_params(struct dialog_params *p, size_t *idx, const char *tests)
{
	char err[128];
	size_t n = 0;

	dialog_params_defaults(p);
	p->ehlo_name = "probe.example.org";
	p->from_local = "relayprobe";
	p->to_local = "relaytest";
	p->to_domain = "example.net";
	p->server_ip = "192.0.2.25";
	assert_int_equal(relay_tests_select(tests, idx, RP_TESTS_MAX, &n, err, sizeof(err)), 0);
	p->tests = idx;
	p->ntests = n;
}

static void run_script(struct run *r, const char *const *script)
{
	size_t i = 0;

	for (;;) {
		enum dialog_action a = dialog_next(r->d);
		size_t olen;
		const char *out = dialog_output(r->d, &olen);
		const char *st = script[i];

		if (a == DLG_ACT_DONE) {
			if (st != NULL)
				fail_msg("dialog done but script step %zu \"%s\" remains", i, st);
			return;
		}
		if (a == DLG_ACT_CLOSE && olen > 0 && st && (st[0] == 'E' || st[0] == 'P')) {
			/* flush before close: fall through to the IO handling */
		} else if (a == DLG_ACT_CLOSE) {
			r->now += 1;
			dialog_disconnected(r->d, r->now, NULL);
			continue;
		}
		if (st == NULL)
			fail_msg("script ended; dialog wants %s, output \"%.*s\"",
			         dialog_action_name(a), (int)olen, out ? out : "");
		r->now += 10;
		switch (a) {
		case DLG_ACT_CONNECT:
			if (r->now < dialog_wake_at(r->d))
				r->now = dialog_wake_at(r->d);
			r->connects++;
			dialog_connecting(r->d, r->now, "192.0.2.25:25");
			if (st[0] == 'C')
				dialog_connected(r->d, r->now, "192.0.2.25:25");
			else if (st[0] == 'X')
				dialog_connect_failed(r->d, r->now, st + 2);
			else
				fail_msg("step %zu \"%s\": dialog wants to connect", i, st);
			break;
		case DLG_ACT_STARTTLS:
			if (st[0] == 'L') {
				struct dialog_tls_info info = {.protocol = "TLSv1.3",
				                               .cipher = "TLS_AES_256_GCM_SHA384",
				                               .subject = "CN=mx.example.com",
				                               .issuer = "CN=mx.example.com",
				                               .not_after = "2030-01-01T00:00:00Z"};

				dialog_tls_done(r->d, r->now, &info, NULL);
			} else if (st[0] == 'F') {
				dialog_tls_done(r->d, r->now, NULL, st + 2);
			} else {
				fail_msg("step %zu \"%s\": dialog wants STARTTLS", i, st);
			}
			break;
		case DLG_ACT_IO:
		case DLG_ACT_CLOSE:
			if (olen > 0) {
				size_t elen = strlen(st + 2);

				if (st[0] == 'E' &&
				    (elen != olen || memcmp(out, st + 2, olen) != 0))
					fail_msg("step %zu: expected \"%s\"\n     got \"%.*s\"", i,
					         st + 2, (int)olen, out);
				if (st[0] == 'P' && (olen < elen || memcmp(out, st + 2, elen) != 0))
					fail_msg(
					    "step %zu: expected prefix \"%s\"\n     got \"%.*s\"",
					    i, st + 2, (int)olen, out);
				if (st[0] == 'I' && memmem(out, olen, st + 2, elen) == NULL)
					fail_msg("step %zu: expected \"%s\" in\n     \"%.*s\"", i,
					         st + 2, (int)olen, out);
				if (st[0] != 'E' && st[0] != 'P' && st[0] != 'I')
					fail_msg("step %zu \"%s\": client has output \"%.*s\"", i,
					         st, (int)olen, out);
				r->writes++;
				dialog_output_consume(r->d, olen);
			} else if (st[0] == 'S') {
				dialog_feed(r->d, r->now, st + 2, strlen(st + 2));
			} else if (st[0] == 'D') {
				dialog_disconnected(r->d, r->now, st + 2);
			} else if (st[0] == 'T') {
				assert_true(dialog_deadline(r->d) > 0);
				r->now = dialog_deadline(r->d);
				dialog_timeout(r->d, r->now);
			} else {
				fail_msg("step %zu \"%s\": client waits for the server", i, st);
			}
			break;
		default:
			fail_msg("unexpected action %s", dialog_action_name(a));
		}
		i++;
	}
}

static const struct dialog_test_result *result(struct dialog *d, const char *id)
{
	size_t n;
	const struct dialog_test_result *res = dialog_results(d, &n);
	int want = relay_test_index(id);

	for (size_t i = 0; i < n; i++)
		if ((int)res[i].test == want)
			return &res[i];
	fail_msg("no result for %s", id);
	return NULL;
}

/* The transcript text of an entry. */
static const char *line_at(struct dialog *d, int idx)
{
	struct tr_entry e;

	assert_int_equal(transcript_get(dialog_transcript(d), (size_t)idx, &e), 0);
	return e.text;
}

static struct dialog *new_dialog(const char *tests, void (*tweak)(struct dialog_params *))
{
	struct dialog_params p;
	size_t idx[RP_TESTS_MAX];
	struct dialog *d;

	setup_params(&p, idx, tests);
	if (tweak)
		tweak(&p);
	d = dialog_new(&p, T0);
	assert_non_null(d);
	return d;
}

#define BANNER     "S 220 mx.example.com ESMTP Postfix\r\n"
#define EHLO       "E EHLO probe.example.org\r\n"
#define EHLO_PIPE  "S 250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n"
#define EHLO_PLAIN "S 250-mx.example.com\r\n250 SIZE 10240000\r\n"
#define TWO_TESTS  "null-sender,external-sender"
#define BATCH2                                                                                     \
	"E MAIL FROM:<>\r\nRCPT TO:<relaytest@example.net>\r\nRSET\r\n"                            \
	"MAIL FROM:<relayprobe@example.net>\r\nRCPT TO:<relaytest@example.net>\r\nQUIT\r\n"

static void test_closed_postfix(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {
	    "C",
	    BANNER,
	    EHLO,
	    EHLO_PIPE,
	    BATCH2,
	    "S 250 2.1.0 Ok\r\n554 5.7.1 <relaytest@example.net>: Relay access denied\r\n"
	    "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n554 5.7.1 <relaytest@example.net>: Relay access "
	    "denied\r\n221 2.0.0 Bye\r\n",
	    NULL};
	size_t ne;
	const int *ev;

	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	assert_int_equal(result(d, "null-sender")->outcome, TO_REJECTED);
	assert_int_equal(result(d, "null-sender")->rclass, RC_RELAY_DENIED);
	assert_int_equal(result(d, "external-sender")->code, 554);
	assert_string_equal(result(d, "external-sender")->esc, "5.7.1");
	assert_string_equal(result(d, "external-sender")->mail_from, "relayprobe@example.net");
	ev = dialog_evidence(d, &ne);
	assert_int_equal(ne, 2);
	assert_string_equal(line_at(d, ev[0]),
	                    "554 5.7.1 <relaytest@example.net>: Relay access denied");
	assert_true((dialog_extensions(d) & DLG_EXT_PIPELINING) != 0);
	assert_string_equal(dialog_server_name(d), "mx.example.com");
	/* one round trip each: greeting, EHLO, the pipelined batch */
	assert_int_equal(dialog_round_trips(d), 3);
	assert_int_equal(dialog_sessions(d), 1);
	dialog_free(&d);
	assert_null(d);
}

static void test_open(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C",
	                        BANNER,
	                        EHLO,
	                        EHLO_PIPE,
	                        BATCH2,
	                        "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n"
	                        "250 2.1.5 Ok\r\n221 2.0.0 Bye\r\n",
	                        NULL};
	size_t ne;
	const int *ev;

	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_OPEN);
	assert_int_equal(dialog_confidence(d), RT_CONF_HIGH);
	assert_int_equal(result(d, "null-sender")->outcome, TO_ACCEPTED);
	assert_int_equal(result(d, "external-sender")->outcome, TO_ACCEPTED);
	ev = dialog_evidence(d, &ne);
	assert_int_equal(ne, 2);
	assert_string_equal(line_at(d, ev[1]), "250 2.1.5 Ok");
	dialog_free(&d);
}

static void test_helo_only_lockstep(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C",
	                        "S 220 old.example.com SMTP\r\n",
	                        EHLO,
	                        "S 502 5.5.2 Error: command not recognized\r\n",
	                        "E HELO probe.example.org\r\n",
	                        "S 250 old.example.com\r\n",
	                        "E MAIL FROM:<>\r\n",
	                        "S 250 Ok\r\n",
	                        "E RCPT TO:<relaytest@example.net>\r\n",
	                        "S 550 Relaying denied\r\n",
	                        "E RSET\r\n",
	                        "S 250 Ok\r\n",
	                        "E MAIL FROM:<relayprobe@example.net>\r\n",
	                        "S 250 Ok\r\n",
	                        "E RCPT TO:<relaytest@example.net>\r\n",
	                        "S 550 Relaying denied\r\n",
	                        "E QUIT\r\n",
	                        "S 221 Bye\r\n",
	                        NULL};

	run_script(&r, script);
	assert_true(dialog_used_helo(d));
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	assert_int_equal(result(d, "external-sender")->code, 550);
	dialog_free(&d);
}

static void test_multiline_banner(void **state)
{
	struct dialog *d = new_dialog("external-sender", NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {
	    "C",
	    "S 220-mx1.mail.example.com ESMTP ready\r\n220-No UCE\r\n220 Go ahead\r\n",
	    EHLO,
	    "S 250-mx1.mail.example.com Hello\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 "
	    "ENHANCEDSTATUSCODES\r\n",
	    "E STARTTLS\r\n",
	    "S 454 4.7.0 TLS not available due to local problem\r\n",
	    "E MAIL FROM:<relayprobe@example.net>\r\nRCPT TO:<relaytest@example.net>\r\nQUIT\r\n",
	    "S 250 2.1.0 Ok\r\n554 5.7.1 Relay access denied\r\n221 2.0.0 Bye\r\n",
	    NULL};

	run_script(&r, script);
	assert_string_equal(dialog_server_name(d), "mx1.mail.example.com");
	assert_string_equal(dialog_local_domain(d), "mail.example.com");
	assert_string_equal(dialog_banner(d), "mx1.mail.example.com ESMTP ready");
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	dialog_free(&d);
}

static void test_554_banner_blocked(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {
	    "C",
	    "S 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using "
	    "zen.spamhaus.org\r\n",
	    "E QUIT\r\n", "S 221 Bye\r\n", NULL};
	size_t ne;
	const int *ev;

	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_BLOCKED);
	assert_int_equal(result(d, "null-sender")->outcome, TO_NOT_RUN);
	ev = dialog_evidence(d, &ne);
	assert_int_equal(ne, 1);
	assert_true(strncmp(line_at(d, ev[0]), "554 5.7.1 Service unavailable", 29) == 0);
	dialog_free(&d);
}

static void test_421_then_reconnect(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {
	    "C", BANNER, EHLO, EHLO_PIPE, BATCH2,
	    "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n421 4.3.2 Service shutting down\r\n",
	    /* the dialog closes; a new session follows */
	    "C", BANNER, EHLO, EHLO_PIPE,
	    "E MAIL FROM:<relayprobe@example.net>\r\nRCPT "
	    "TO:<relaytest@example.net>\r\nQUIT\r\n",
	    "S 250 2.1.0 Ok\r\n554 5.7.1 Relay access denied\r\n221 Bye\r\n", NULL};
	uint64_t before;

	run_script(&r, script);
	before = r.now;
	(void)before;
	assert_int_equal(dialog_sessions(d), 2);
	assert_int_equal(r.connects, 2);
	assert_int_equal(result(d, "null-sender")->outcome, TO_ACCEPTED);
	assert_int_equal(result(d, "null-sender")->attempts, 1);
	assert_int_equal(result(d, "external-sender")->outcome, TO_REJECTED);
	assert_int_equal(result(d, "external-sender")->attempts, 2);
	assert_int_equal(dialog_verdict(d), DV_OPEN);
	dialog_free(&d);
}

static void greylist_tweak(struct dialog_params *p)
{
	p->retry_after_ms = 300000;
}

static void test_greylisting_retry(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, greylist_tweak);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {
	    "C",
	    BANNER,
	    EHLO,
	    EHLO_PIPE,
	    BATCH2,
	    "S 250 2.1.0 Ok\r\n450 4.2.0 <relaytest@example.net>: Recipient address rejected: "
	    "Greylisted, see http://postgrey.schweikert.ch/help/example.net.html\r\n250 2.0.0 "
	    "Ok\r\n250 2.1.0 Ok\r\n450 4.2.0 Greylisted\r\n221 Bye\r\n",
	    "C",
	    BANNER,
	    EHLO,
	    EHLO_PIPE,
	    BATCH2,
	    "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n221 "
	    "Bye\r\n",
	    NULL};

	run_script(&r, script);
	/* the second session waited for --retry-after */
	assert_true(r.now >= T0 + 300000);
	assert_int_equal(result(d, "null-sender")->outcome, TO_ACCEPTED);
	assert_int_equal(result(d, "null-sender")->attempts, 2);
	assert_int_equal(dialog_verdict(d), DV_OPEN);
	dialog_free(&d);
}

/* Stock Postfix (smtpd_relay_restrictions = ..., defer_unauth_destination)
 * answers 454 4.7.1 Relay access denied: closed, at once, no retry wait. */
static void test_postfix_default_454_is_closed(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {
	    "C",
	    BANNER,
	    EHLO,
	    EHLO_PIPE,
	    BATCH2,
	    "S 250 2.1.0 Ok\r\n454 4.7.1 <relaytest@example.net>: Relay access denied\r\n"
	    "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n454 4.7.1 <relaytest@example.net>: Relay access "
	    "denied\r\n221 2.0.0 Bye\r\n",
	    NULL};

	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	assert_int_equal(result(d, "null-sender")->outcome, TO_REJECTED);
	assert_int_equal(result(d, "null-sender")->code, 454);
	assert_int_equal(result(d, "external-sender")->attempts, 1);
	assert_int_equal(dialog_sessions(d), 1);
	assert_true(r.now < T0 + 60000); /* no retry wait */
	dialog_free(&d);
}

static void test_greylisting_twice_is_tempfail(void **state)
{
	struct dialog *d = new_dialog("external-sender", NULL);
	struct run r = {d, T0, 0, 0};
	const char *b1 =
	    "E MAIL FROM:<relayprobe@example.net>\r\nRCPT TO:<relaytest@example.net>\r\nQUIT\r\n";
	const char *script[] = {
	    "C", BANNER, EHLO, EHLO_PIPE, b1, "S 250 Ok\r\n451 4.7.1 Greylisted\r\n221 Bye\r\n",
	    "C", BANNER, EHLO, EHLO_PIPE, b1, "S 250 Ok\r\n451 4.7.1 Greylisted\r\n221 Bye\r\n",
	    NULL};

	run_script(&r, script);
	assert_int_equal(result(d, "external-sender")->outcome, TO_TEMPFAIL);
	assert_int_equal(dialog_verdict(d), DV_TEMPFAIL);
	dialog_free(&d);
}

static void tls_off(struct dialog_params *p)
{
	p->tls = DLG_TLS_OFF;
}

/* A server that refuses both tests of a batch and says what it wants first
 * (TLS, AUTH): the refusal's class and the verdict it gives. */
static const struct wants_case {
	void (*tweak)(struct dialog_params *);
	const char *ehlo_reply, *replies, *test;
	enum reject_class rclass;
	enum dialog_verdict verdict;
} wants_cases[] = {
    {tls_off, "S 250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
     "S 530 5.7.0 Must issue a STARTTLS command first\r\n503 5.5.1 Error: need MAIL "
     "command\r\n250 2.0.0 Ok\r\n530 5.7.0 Must issue a STARTTLS command first\r\n503 5.5.1 "
     "Error: need MAIL command\r\n221 Bye\r\n",
     "null-sender", RC_TLS, DV_TLS_REQUIRED},
    {NULL, EHLO_PIPE,
     "S 250 2.1.0 Ok\r\n530 5.7.1 Authentication required\r\n250 Ok\r\n250 Ok\r\n530 5.7.1 "
     "Authentication required\r\n221 Bye\r\n",
     "external-sender", RC_AUTH, DV_AUTH_REQUIRED},
};

static void wants_case_run(const struct wants_case *c)
{
	struct dialog *d = new_dialog(TWO_TESTS, c->tweak);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C", BANNER, EHLO, c->ehlo_reply, BATCH2, c->replies, NULL};

	run_script(&r, script);
	assert_int_equal(result(d, c->test)->rclass, c->rclass);
	assert_int_equal(dialog_verdict(d), c->verdict);
	dialog_free(&d);
}

static void test_starttls_required(void **state)
{
	wants_case_run(&wants_cases[0]);
}

/* MAIL FROM refused until STARTTLS: the tests not yet sent are not run, so a
 * closed server is not hammered into its error limit. */
static void test_starttls_required_lockstep_stops(void **state)
{
	struct dialog *d = new_dialog("all", tls_off);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C",
	                        BANNER,
	                        EHLO,
	                        "S 250-mx.example.com\r\n250 STARTTLS\r\n",
	                        "E MAIL FROM:<>\r\n",
	                        "S 530 5.7.0 Must issue a STARTTLS command first\r\n",
	                        "E QUIT\r\n",
	                        "S 221 Bye\r\n",
	                        NULL};
	size_t n, notrun = 0;
	const struct dialog_test_result *res;

	run_script(&r, script);
	res = dialog_results(d, &n);
	for (size_t i = 0; i < n; i++)
		notrun += res[i].outcome == TO_NOT_RUN;
	assert_int_equal(notrun, n - 1);
	assert_int_equal(dialog_verdict(d), DV_TLS_REQUIRED);
	dialog_free(&d);
}

/* The command timeout runs from the last reply: a server pacing its replies
 * to a pipelined batch is slow, not dead. */
static void test_paced_replies_not_a_timeout(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	uint64_t t = T0;
	size_t n;
	const char *replies[] = {"250 2.1.0 Ok\r\n", "554 5.7.1 no\r\n", "250 2.0.0 Ok\r\n",
	                         "250 2.1.0 Ok\r\n", "554 5.7.1 no\r\n", "221 Bye\r\n"};

	dialog_connecting(d, t, "x");
	dialog_connected(d, t, "x");
	dialog_feed(d, t, "220 mx.example.com\r\n", 20);
	dialog_output_consume(d, 1000);
	dialog_feed(d, t, "250-mx.example.com\r\n250 PIPELINING\r\n", 36);
	dialog_output(d, &n);
	assert_true(n > 0);
	dialog_output_consume(d, n);
	for (size_t i = 0; i < 6; i++) {
		t += 40000; /* each reply 40 s after the last; the batch takes 240 s */
		dialog_timeout(d, t);
		assert_int_not_equal(dialog_next(d), DLG_ACT_CLOSE);
		dialog_feed(d, t, replies[i], strlen(replies[i]));
	}
	assert_int_equal(dialog_next(d), DLG_ACT_CLOSE);
	dialog_disconnected(d, t, NULL);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	dialog_free(&d);
}

static void test_auth_required(void **state)
{
	wants_case_run(&wants_cases[1]);
}

static void data_on(struct dialog_params *p)
{
	p->send_data = true;
}

static void test_rejected_at_end_of_data(void **state)
{
	struct dialog *d = new_dialog("external-sender", data_on);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {
	    "C",
	    BANNER,
	    EHLO,
	    EHLO_PIPE,
	    "E MAIL FROM:<relayprobe@example.net>\r\nRCPT TO:<relaytest@example.net>\r\n",
	    "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n",
	    "E DATA\r\n",
	    "S 354 End data with <CR><LF>.<CR><LF>\r\n",
	    "P From: <relayprobe@example.net>\r\n",
	    "S 550 5.7.1 Message rejected: relaying denied\r\n",
	    "E QUIT\r\n",
	    "S 221 Bye\r\n",
	    NULL};

	run_script(&r, script);
	assert_int_equal(result(d, "external-sender")->outcome, TO_REJECTED);
	assert_int_equal(result(d, "external-sender")->code, 550);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	dialog_free(&d);
}

static void test_accepted_through_data(void **state)
{
	struct dialog *d = new_dialog("external-sender", data_on);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C",
	                        BANNER,
	                        EHLO,
	                        EHLO_PLAIN,
	                        "E MAIL FROM:<relayprobe@example.net>\r\n",
	                        "S 250 Ok\r\n",
	                        "E RCPT TO:<relaytest@example.net>\r\n",
	                        "S 250 Ok\r\n",
	                        "E DATA\r\n",
	                        "S 354 Go\r\n",
	                        "P From: <relayprobe@example.net>\r\nTo: "
	                        "<relaytest@example.net>\r\nSubject: relayprobe "
	                        "open relay test external-sender relaytest\r\n",
	                        "S 250 2.0.0 Ok: queued as 4Xyz\r\n",
	                        "E QUIT\r\n",
	                        "S 221 Bye\r\n",
	                        NULL};
	size_t ne;
	const int *ev;

	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_OPEN);
	ev = dialog_evidence(d, &ne);
	assert_int_equal(ne, 1);
	assert_string_equal(line_at(d, ev[0]), "250 2.0.0 Ok: queued as 4Xyz");
	dialog_free(&d);
}

/* With a canary each test carries its own tokens: T in the RCPT, F in the
 * MAIL FROM, T again in Subject, Message-ID and body, with the contact line. */
static const char *const tok_to[] = {"rp-aaaa2222", "rp-bbbb3333"};
static const char *const tok_from[] = {"rp-b-cccc4444", "rp-b-dddd5555"};

static void tokens_on(struct dialog_params *p)
{
	p->send_data = true;
	p->to_locals = tok_to;
	p->from_locals = tok_from;
	p->contact = "abuse@example.org";
}

static void test_tokens_per_test(void **state)
{
	struct dialog *d = new_dialog("external-sender,backscatter-probe", tokens_on);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C",
	                        BANNER,
	                        EHLO,
	                        EHLO_PLAIN,
	                        "E MAIL FROM:<rp-b-cccc4444@example.net>\r\n",
	                        "S 250 Ok\r\n",
	                        "E RCPT TO:<rp-aaaa2222@example.net>\r\n",
	                        "S 250 Ok\r\n",
	                        "E DATA\r\n",
	                        "S 354 Go\r\n",
	                        "P From: <rp-b-cccc4444@example.net>\r\nTo: "
	                        "<rp-aaaa2222@example.net>\r\nSubject: relayprobe "
	                        "open relay test external-sender rp-aaaa2222\r\n",
	                        "S 550 5.7.1 Relaying denied\r\n",
	                        "E RSET\r\n",
	                        "S 250 Ok\r\n",
	                        "E MAIL FROM:<rp-b-dddd5555@example.net>\r\n",
	                        "S 250 Ok\r\n",
	                        "E RCPT TO:<rp-bbbb3333@[192.0.2.25]>\r\n",
	                        "S 250 Ok\r\n",
	                        "E DATA\r\n",
	                        "S 354 Go\r\n",
	                        "I \r\nMessage-ID: <rp-bbbb3333.",
	                        "S 250 2.0.0 Ok: queued as 4Xyz\r\n",
	                        "E QUIT\r\n",
	                        "S 221 Bye\r\n",
	                        NULL};

	run_script(&r, script);
	/* the backscatter probe was accepted, and that is no relaying */
	assert_int_equal(result(d, "backscatter-probe")->outcome, TO_ACCEPTED);
	assert_string_equal(result(d, "backscatter-probe")->rcpt_to, "rp-bbbb3333@[192.0.2.25]");
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	dialog_free(&d);
}

static void test_message_ends_with_dot(void **state)
{
	struct dialog *d = new_dialog("external-sender", data_on);
	size_t n;
	const char *o;
	uint64_t t = T0;

	dialog_connecting(d, t, "x");
	dialog_connected(d, t, "x");
	dialog_feed(d, t, "220 a.example.com\r\n", 19);
	dialog_output_consume(d, 1000);
	dialog_feed(d, t, "250 a.example.com\r\n", 19);
	dialog_output_consume(d, 1000);
	dialog_feed(d, t, "250 ok\r\n", 8);
	dialog_output_consume(d, 1000);
	dialog_feed(d, t, "250 ok\r\n", 8);
	dialog_output_consume(d, 1000);
	dialog_feed(d, t, "354 go\r\n", 8);
	o = dialog_output(d, &n);
	assert_true(n > 5 && n < 1600);
	assert_memory_equal(o + n - 5, "\r\n.\r\n", 5);
	/* no bare LF and no line starting with a dot inside the message */
	for (size_t i = 0; i + 1 < n; i++) {
		if (o[i + 1] == '\n')
			assert_int_equal(o[i], '\r');
		if (i > 0 && o[i - 1] == '\n' && i + 3 < n)
			assert_true(o[i] != '.');
	}
	dialog_free(&d);
}

static void test_garbage_reply(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C", "S HTTP/1.1 400 Bad Request\r\n", NULL};
	size_t ne;

	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	assert_non_null(strstr(dialog_verdict_reason(d), "protocol error"));
	dialog_evidence(d, &ne);
	assert_int_equal(ne, 1);
	dialog_free(&d);
}

static void test_binary_reply(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	char bin[] = "220 mx\x01\x02\xff\r\n";
	size_t i;

	dialog_connecting(d, T0, "x");
	dialog_connected(d, T0, "x");
	assert_int_equal(dialog_feed(d, T0, bin, sizeof(bin) - 1), -1);
	assert_int_equal(dialog_next(d), DLG_ACT_CLOSE);
	dialog_disconnected(d, T0, NULL);
	assert_int_equal(dialog_next(d), DLG_ACT_DONE);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	/* the transcript kept the line, escaped */
	for (i = 0; i < transcript_count(dialog_transcript(d)); i++) {
		struct tr_entry e;

		transcript_get(dialog_transcript(d), i, &e);
		for (size_t k = 0; k < e.len; k++)
			assert_true(e.text[k] >= 0x20 && e.text[k] < 0x7f);
	}
	dialog_free(&d);
}

static void test_overlong_line(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	char *big = malloc(3000);

	memset(big, 'A', 3000);
	memcpy(big, "220 ", 4);
	dialog_connecting(d, T0, "x");
	dialog_connected(d, T0, "x");
	/* dripped in small pieces, never a newline */
	for (size_t i = 0; i < 3000 && dialog_next(d) == DLG_ACT_IO; i += 100)
		dialog_feed(d, T0, big + i, 100);
	free(big);
	assert_int_equal(dialog_next(d), DLG_ACT_CLOSE);
	dialog_disconnected(d, T0, NULL);
	assert_int_equal(dialog_next(d), DLG_ACT_DONE);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	assert_non_null(strstr(dialog_verdict_reason(d), "line too long"));
	dialog_free(&d);
}

static void test_endless_multiline(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	int i;

	dialog_connecting(d, T0, "x");
	dialog_connected(d, T0, "x");
	for (i = 0; i < 1000 && dialog_next(d) == DLG_ACT_IO; i++)
		dialog_feed(d, T0, "220-still talking\r\n", 19);
	assert_true(i <= RP_SMTP_REPLY_LINES_MAX + 1);
	assert_int_equal(dialog_next(d), DLG_ACT_CLOSE);
	dialog_disconnected(d, T0, NULL);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	assert_non_null(strstr(dialog_verdict_reason(d), "too-many-lines"));
	dialog_free(&d);
}

static void test_silent_server(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C", "T", NULL};

	run_script(&r, script);
	/* waited the full tarpit patience for the greeting */
	assert_true(r.now - T0 >= 60000);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	assert_non_null(strstr(dialog_verdict_reason(d), "no greeting"));
	assert_int_equal(result(d, "null-sender")->outcome, TO_NOT_RUN);
	dialog_free(&d);
}

static void test_slow_greeting_within_patience(void **state)
{
	struct dialog *d = new_dialog("external-sender", NULL);

	dialog_connecting(d, T0, "x");
	dialog_connected(d, T0, "x");
	dialog_timeout(d, T0 + 30000); /* postscreen-style 30 s delay: not a timeout yet */
	assert_int_equal(dialog_next(d), DLG_ACT_IO);
	dialog_feed(d, T0 + 31000, "220 slow.example.com\r\n", 22);
	assert_int_equal(dialog_next(d), DLG_ACT_IO);
	dialog_free(&d);
}

static void test_connect_refused(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"X Connection refused", NULL};

	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_UNREACHABLE);
	assert_non_null(strstr(dialog_verdict_reason(d), "refused"));
	dialog_free(&d);
}

static void test_starttls_then_ehlo_again(void **state)
{
	struct dialog *d = new_dialog("external-sender", NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {
	    "C", BANNER, EHLO, "S 250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
	    "E STARTTLS\r\n",
	    /* injected plaintext after the 220 must be discarded */
	    "S 220 2.0.0 Ready to start TLS\r\n250 injected\r\n", "L", EHLO,
	    "S 250-mx.example.com\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n",
	    "E MAIL FROM:<relayprobe@example.net>\r\nRCPT TO:<relaytest@example.net>\r\nQUIT\r\n",
	    "S 250 Ok\r\n554 5.7.1 Relay access denied\r\n221 Bye\r\n", NULL};
	const struct transcript *t;
	bool saw_tls_send = false, saw_discard = false;

	run_script(&r, script);
	assert_non_null(dialog_tls(d));
	assert_string_equal(dialog_tls(d)->protocol, "TLSv1.3");
	/* extensions are those of the EHLO after TLS */
	assert_true((dialog_extensions(d) & DLG_EXT_AUTH) != 0);
	assert_true((dialog_extensions(d) & DLG_EXT_STARTTLS) == 0);
	t = dialog_transcript(d);
	for (size_t i = 0; i < transcript_count(t); i++) {
		struct tr_entry e;

		transcript_get(t, i, &e);
		if (e.dir == TR_SENT && e.tls && strncmp(e.text, "MAIL", 4) == 0)
			saw_tls_send = true;
		if (strstr(e.text, "Discarded") != NULL)
			saw_discard = true;
		assert_null(strstr(e.text, "250 injected"));
	}
	assert_true(saw_tls_send);
	assert_true(saw_discard);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	dialog_free(&d);
}

static void test_tls_failure_auto_falls_back(void **state)
{
	struct dialog *d = new_dialog("external-sender", NULL);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C", BANNER, EHLO, "S 250-mx.example.com\r\n250 STARTTLS\r\n",
	                        "E STARTTLS\r\n", "S 220 Ready\r\n",
	                        "F TLS handshake failed: wrong version number",
	                        /* a new plain session, without STARTTLS */
	                        "C", BANNER, EHLO, "S 250-mx.example.com\r\n250 STARTTLS\r\n",
	                        "E MAIL FROM:<relayprobe@example.net>\r\n", "S 250 Ok\r\n",
	                        "E RCPT TO:<relaytest@example.net>\r\n", "S 554 no\r\n",
	                        "E QUIT\r\n", "S 221 Bye\r\n", NULL};

	run_script(&r, script);
	assert_int_equal(dialog_sessions(d), 2);
	assert_null(dialog_tls(d));
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	dialog_free(&d);
}

static void tls_require(struct dialog_params *p)
{
	p->tls = DLG_TLS_REQUIRE;
}

static void test_tls_require_not_offered(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, tls_require);
	struct run r = {d, T0, 0, 0};
	const char *script[] = {"C", BANNER, EHLO, EHLO_PIPE, "E QUIT\r\n", "S 221 Bye\r\n", NULL};

	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	assert_int_equal(result(d, "null-sender")->outcome, TO_NOT_RUN);
	assert_non_null(strstr(result(d, "null-sender")->reason, "STARTTLS not offered"));
	dialog_free(&d);
}

/* ---- rule-driven servers ---- */

struct rules {
	int rcpt_code;         /* reply to RCPT */
	int drop_after_errors; /* 421 and close after this many errors, 0 = never */
	bool pipelining;
	const char *limits; /* an EHLO line "LIMITS ..." (RFC 9422), NULL none */
	unsigned errors, sessions, max_cmds_per_write, writes_in_tests;
	unsigned mails, max_mails_per_session, max_rcpts_per_write;
};

/* Answer every line of the client's output by the rules; returns the reply. */
static void serve(struct run *r, struct rules *ru)
{
	for (;;) {
		enum dialog_action a = dialog_next(r->d);
		size_t olen;
		const char *out = dialog_output(r->d, &olen);
		char reply[8192] = "";
		size_t rl = 0;
		unsigned cmds = 0, rcpts = 0;
		bool drop = false, test_cmds = false;

		r->now += 5;
		if (a == DLG_ACT_DONE)
			return;
		if (a == DLG_ACT_CONNECT) {
			if (r->now < dialog_wake_at(r->d))
				r->now = dialog_wake_at(r->d);
			dialog_connecting(r->d, r->now, "p");
			dialog_connected(r->d, r->now, "p");
			ru->sessions++;
			ru->errors = 0;
			ru->mails = 0;
			dialog_feed(r->d, r->now, "220 mx.example.com ESMTP\r\n", 26);
			continue;
		}
		if (a == DLG_ACT_CLOSE) {
			dialog_output_consume(r->d, olen);
			dialog_disconnected(r->d, r->now, NULL);
			continue;
		}
		assert_int_equal(a, DLG_ACT_IO);
		assert_true(olen > 0); /* these servers always answer everything */
		for (const char *p = out; p < out + olen;) {
			const char *nl = memchr(p, '\n', (size_t)(out + olen - p));
			int code = 250;

			assert_non_null(nl);
			cmds++;
			if (strncmp(p, "EHLO", 4) == 0) {
				if (ru->limits != NULL)
					rl += (size_t)snprintf(reply + rl, sizeof(reply) - rl,
					                       "250-mx.example.com\r\n250-%s\r\n",
					                       ru->limits);
				rl += (size_t)snprintf(
				    reply + rl, sizeof(reply) - rl, "%s",
				    ru->pipelining ? (ru->limits ? "250 PIPELINING\r\n"
				                                 : "250-mx.example.com\r\n250 "
				                                   "PIPELINING\r\n")
				    : ru->limits   ? "250 8BITMIME\r\n"
				                   : "250 mx.example.com\r\n");
				p = nl + 1;
				continue;
			}
			if (strncmp(p, "MAIL", 4) == 0 && ++ru->mails > ru->max_mails_per_session)
				ru->max_mails_per_session = ru->mails;
			if (strncmp(p, "RCPT", 4) == 0)
				rcpts++;
			if (strncmp(p, "RCPT", 4) == 0)
				code = ru->rcpt_code;
			if (strncmp(p, "QUIT", 4) == 0)
				code = 221;
			if (strncmp(p, "MAIL", 4) == 0 || strncmp(p, "RSET", 4) == 0 ||
			    strncmp(p, "RCPT", 4) == 0)
				test_cmds = true;
			if (code >= 400)
				ru->errors++;
			rl += (size_t)snprintf(reply + rl, sizeof(reply) - rl, "%d x\r\n", code);
			if (ru->drop_after_errors &&
			    ru->errors >= (unsigned)ru->drop_after_errors && code >= 400) {
				rl += (size_t)snprintf(
				    reply + rl, sizeof(reply) - rl,
				    "421 4.7.0 mx.example.com Error: too many errors\r\n");
				drop = true;
				break;
			}
			p = nl + 1;
		}
		if (test_cmds) {
			ru->writes_in_tests++;
			if (cmds > ru->max_cmds_per_write)
				ru->max_cmds_per_write = cmds;
			if (rcpts > ru->max_rcpts_per_write)
				ru->max_rcpts_per_write = rcpts;
		}
		dialog_output_consume(r->d, olen);
		dialog_feed(r->d, r->now, reply, rl);
		if (drop && dialog_next(r->d) == DLG_ACT_CLOSE) {
			dialog_disconnected(r->d, r->now, NULL);
		} else if (drop) {
			dialog_disconnected(r->d, r->now, "connection reset");
		}
	}
}

static void test_pipelining_batches(void **state)
{
	struct dialog *d = new_dialog("all", NULL);
	struct run r = {d, T0, 0, 0};
	struct rules ru = {.rcpt_code = 554, .pipelining = true};
	size_t n, all;

	relay_tests_all(&all);
	all--; /* "all" leaves out backscatter-probe, which is no relay test */
	serve(&r, &ru);
	dialog_results(d, &n);
	assert_int_equal(n, all);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dialog_results(d, &n)[i].outcome, TO_REJECTED);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	/* never more than 8 rejections per session (Postfix slows down at 10) */
	assert_true(ru.sessions >= (all + 7) / 8);
	/* every batch of 8 tests went in one write: RSET+MAIL+RCPT each (+QUIT) */
	assert_true(ru.max_cmds_per_write >= 8 * 3 - 1);
	assert_true(ru.writes_in_tests <= (all + 7) / 8);
	dialog_free(&d);
}

/* A server's LIMITS (RFC 9422): never more transactions in a session than
 * MAILMAX, never more recipients in one pipelined group than RCPTMAX, and
 * every test still runs (the sessions MAILMAX needs do not count against the
 * session limit). Malformed and over-large limits are ignored. */
static void test_limits_extension(void **state)
{
	static const struct {
		const char *line;
		unsigned mailmax, rcptmax; /* what must hold; 0: the defaults */
	} rows[] = {
	    {"LIMITS MAILMAX=5 RCPTMAX=3", 5, 3},
	    {"LIMITS rcptmax=2", 0, 2},
	    {"LIMITS MAILMAX=2 RCPTDOMAINMAX=1", 2, 0},
	    {"LIMITS MAILMAX=0 RCPTMAX=x1 FOO", 0, 0},
	    {"LIMITS MAILMAX=99999999999 RCPTMAX=-1", 0, 0},
	};
	size_t all;

	(void)state;
	relay_tests_all(&all);
	all--; /* "all" leaves out backscatter-probe */
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct dialog *d = new_dialog("all", NULL);
		struct run r = {d, T0, 0, 0};
		struct rules ru = {.rcpt_code = 554, .pipelining = true, .limits = rows[i].line};
		size_t n;
		const struct dialog_test_result *res;

		serve(&r, &ru);
		res = dialog_results(d, &n);
		assert_int_equal(n, all);
		for (size_t k = 0; k < n; k++)
			if (res[k].outcome != TO_REJECTED)
				fail_msg("%s: test %zu not run (%d)", rows[i].line, k,
				         (int)res[k].outcome);
		assert_int_equal(dialog_verdict(d), DV_CLOSED);
		assert_true((dialog_extensions(d) & DLG_EXT_LIMITS) != 0);
		if (rows[i].mailmax != 0) {
			assert_true(ru.max_mails_per_session <= rows[i].mailmax);
			assert_true(ru.sessions >= (all + rows[i].mailmax - 1) / rows[i].mailmax);
		} else {
			assert_true(ru.max_mails_per_session > 5); /* the budget's 8 */
		}
		if (rows[i].rcptmax != 0)
			assert_true(ru.max_rcpts_per_write <= rows[i].rcptmax);
		else if (rows[i].mailmax == 0)
			assert_true(ru.max_rcpts_per_write > 3);
		dialog_free(&d);
	}
}

static void test_open_pipelined_round_trips(void **state)
{
	struct dialog *d = new_dialog("all", NULL);
	struct run r = {d, T0, 0, 0};
	struct rules ru = {.rcpt_code = 250, .pipelining = true};
	size_t all;

	relay_tests_all(&all);
	serve(&r, &ru);
	assert_int_equal(dialog_verdict(d), DV_OPEN);
	assert_int_equal(ru.sessions, 1);
	/* at most one round trip per relay test; here far fewer */
	assert_true(dialog_round_trips(d) - 2 <= (all + 7) / 8);
	dialog_free(&d);
}

static void errors_10(struct dialog_params *p)
{
	p->session_errors = 10;
	p->reconnect_ms = 1000;
}

static void test_drop_after_n_rejections(void **state)
{
	struct dialog *d = new_dialog("all", errors_10);
	struct run r = {d, T0, 0, 0};
	struct rules ru = {.rcpt_code = 550, .drop_after_errors = 4, .pipelining = false};
	size_t n;
	const struct dialog_test_result *res;

	serve(&r, &ru);
	res = dialog_results(d, &n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(res[i].outcome, TO_REJECTED);
	assert_true(ru.sessions >= n / 4);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	dialog_free(&d);
}

static void test_session_limit(void **state)
{
	/* a server that closes every session after one rejection, and a test set
	 * larger than the session limit allows */
	struct dialog *d = new_dialog("all", errors_10);
	struct run r = {d, T0, 0, 0};
	struct rules ru = {.rcpt_code = 550, .drop_after_errors = 1, .pipelining = false};
	size_t n, errors = 0;
	const struct dialog_test_result *res;

	serve(&r, &ru);
	res = dialog_results(d, &n);
	for (size_t i = 0; i < n; i++)
		errors += res[i].outcome == TO_ERROR;
	assert_true(ru.sessions <= 8);
	assert_true(errors > 0);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	dialog_free(&d);
}

/* ---- a tarpit against the dialog's hard deadline ---- */

static void tweak_tarpit(struct dialog_params *p)
{
	p->command_ms = 1000;
	p->banner_ms = 3600000; /* all the patience in the world... */
	p->retry_after_ms = 60000;
	p->reconnect_ms = 2000;
	p->max_sessions = 12;
}

/* A server that answers every command 900 ms after it, just inside the
 * 1 s command timeout, and every RCPT with a 4xx, forever: the driver
 * (like the engine) wakes at dialog_deadline() when nothing comes first.
 * Returns the simulated time the dialog ended. */
static uint64_t run_tarpit(struct dialog *d)
{
	const char *replies[64];
	size_t nrep = 0;
	uint64_t now = T0;

	for (int iter = 0; iter < 200000; iter++) {
		enum dialog_action a = dialog_next(d);
		size_t olen;
		const char *out = dialog_output(d, &olen);

		if (a == DLG_ACT_DONE)
			return now;
		if (a == DLG_ACT_CLOSE) {
			nrep = 0;
			dialog_disconnected(d, now, NULL);
			continue;
		}
		if (a == DLG_ACT_CONNECT) {
			uint64_t dl = dialog_deadline(d);
			if (now < dialog_wake_at(d))
				now = dialog_wake_at(d);
			if (dl != 0 && dl <= now) {
				now = dl;
				dialog_timeout(d, now);
				continue;
			}
			dialog_connecting(d, now, "192.0.2.25:25");
			dialog_connected(d, now, "192.0.2.25:25");
			replies[nrep++] = "220 tarpit.example.com ESMTP\r\n";
			continue;
		}
		assert_int_equal(a, DLG_ACT_IO); /* no STARTTLS offered */
		for (size_t i = 0; i < olen && nrep < 64; i++) {
			if (i != 0 && out[i - 1] != '\n')
				continue;
			replies[nrep++] =
			    strncmp(out + i, "EHLO", 4) == 0   ? "250 tarpit.example.com\r\n"
			    : strncmp(out + i, "RCPT", 4) == 0 ? "450 4.7.1 Try later\r\n"
			    : strncmp(out + i, "QUIT", 4) == 0 ? "221 Bye\r\n"
			                                       : "250 Ok\r\n";
		}
		dialog_output_consume(d, olen);
		uint64_t dl = dialog_deadline(d);
		uint64_t at = now + 900;
		if (nrep == 0 || (dl != 0 && dl <= at)) {
			assert_true(dl != 0);
			now = dl > now ? dl : now;
			dialog_timeout(d, now);
			continue;
		}
		now = at;
		const char *r = replies[0];
		memmove(replies, replies + 1, --nrep * sizeof(replies[0]));
		dialog_feed(d, now, r, strlen(r));
	}
	fail_msg("the dialog never ended");
	return 0;
}

/* Before the hard deadline this dialog held on for minutes (every test
 * 2.7 s in lockstep, sessions, a 60 s retry): 40 to 85 command timeouts.
 * Now it ends 30 command timeouts after its start, as error, with why. */
static void test_tarpit_dialog_deadline(void **state)
{
	struct dialog *d = new_dialog("all", tweak_tarpit);
	uint64_t end = run_tarpit(d);
	const struct transcript *tr = dialog_transcript(d);
	struct tr_entry e;
	bool said = false;

	print_message("  tarpit dialog ended after %llu ms (%u sessions)\n",
	              (unsigned long long)(end - T0), dialog_sessions(d));
	assert_true(end - T0 <= 30 * 1000);
	assert_true(end - T0 >= 29 * 1000);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	assert_string_equal(dialog_verdict_reason(d), "dialog deadline of 30 s passed");
	for (size_t i = 0; i < transcript_count(tr); i++)
		if (transcript_get(tr, i, &e) == 0 && e.dir == TR_ERROR &&
		    strstr(e.text, "Dialog deadline of 30 s passed"))
			said = true;
	assert_true(said);
	dialog_free(&d);
	(void)state;
}

static void tweak_deadline_long(struct dialog_params *p)
{
	p->command_ms = 2000;
	p->deadline_ms = 3600000; /* asks for more than 30 command timeouts */
}

static void tweak_deadline_short(struct dialog_params *p)
{
	p->command_ms = 2000;
	p->deadline_ms = 5000;
}

/* deadline_ms may shorten the bound, never lengthen it; the deadline is
 * there from the start, also while waiting to connect. */
static void test_deadline_bounds(void **state)
{
	struct dialog *d = new_dialog(TWO_TESTS, tweak_deadline_long);
	assert_int_equal(dialog_hard_deadline(d), T0 + 30 * 2000);
	assert_int_equal(dialog_deadline(d), T0 + 30 * 2000);
	dialog_free(&d);
	d = new_dialog(TWO_TESTS, NULL); /* defaults: 30 x 60 s */
	assert_int_equal(dialog_hard_deadline(d), T0 + 30 * 60000);
	dialog_free(&d);
	d = new_dialog(TWO_TESTS, tweak_deadline_short);
	assert_int_equal(dialog_hard_deadline(d), T0 + 5000);
	/* Waiting to connect past it: the dialog ends, nothing sent. */
	dialog_timeout(d, T0 + 5000);
	assert_int_equal(dialog_next(d), DLG_ACT_DONE);
	assert_int_equal(dialog_verdict(d), DV_ERROR);
	assert_string_equal(dialog_verdict_reason(d), "dialog deadline of 5 s passed");
	assert_int_equal(result(d, "null-sender")->outcome, TO_ERROR);
	dialog_free(&d);
	(void)state;
}

static void test_params_rejected(void **state)
{
	struct dialog_params p;
	size_t idx[1] = {9999};

	dialog_params_defaults(&p);
	assert_null(dialog_new(&p, T0)); /* no names */
	p.ehlo_name = "a.example";
	p.from_local = "f";
	p.to_local = "t";
	p.to_domain = "example.net";
	p.tests = idx;
	p.ntests = 1;
	assert_null(dialog_new(&p, T0)); /* bad test index */
	dialog_free(NULL);
}

static void test_ipv6_literal(void **state)
{
	struct dialog_params p;
	size_t idx[RP_TESTS_MAX];
	struct dialog *d;
	struct run r = {NULL, T0, 0, 0};
	const char *script[] = {"C",
	                        BANNER,
	                        EHLO,
	                        EHLO_PIPE,
	                        "E MAIL FROM:<relayprobe@[IPv6:2001:db8::25]>\r\nRCPT "
	                        "TO:<relaytest@example.net>\r\nQUIT\r\n",
	                        "S 250 Ok\r\n554 no\r\n221 Bye\r\n",
	                        NULL};

	setup_params(&p, idx, "ip-literal-sender");
	p.server_ip = "2001:db8::25";
	d = dialog_new(&p, T0);
	r.d = d;
	run_script(&r, script);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);
	dialog_free(&d);
}

/* The extension table is in bit order, one keyword per bit. */
static void test_ext_names_table(void **state)
{
	(void)state;
	for (unsigned i = 0; i < DLG_EXT_COUNT; i++) {
		assert_int_equal(dialog_ext_names[i].bit, 1u << i);
		assert_non_null(dialog_ext_names[i].keyword);
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(dialog_ext_names[i].keyword,
			                        dialog_ext_names[j].keyword);
	}
	assert_int_equal(dialog_ext_names[DLG_EXT_COUNT - 1].bit, DLG_EXT_LIMITS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ext_names_table),
	    cmocka_unit_test(test_closed_postfix),
	    cmocka_unit_test(test_open),
	    cmocka_unit_test(test_helo_only_lockstep),
	    cmocka_unit_test(test_multiline_banner),
	    cmocka_unit_test(test_554_banner_blocked),
	    cmocka_unit_test(test_421_then_reconnect),
	    cmocka_unit_test(test_greylisting_retry),
	    cmocka_unit_test(test_greylisting_twice_is_tempfail),
	    cmocka_unit_test(test_postfix_default_454_is_closed),
	    cmocka_unit_test(test_starttls_required),
	    cmocka_unit_test(test_auth_required),
	    cmocka_unit_test(test_starttls_required_lockstep_stops),
	    cmocka_unit_test(test_paced_replies_not_a_timeout),
	    cmocka_unit_test(test_rejected_at_end_of_data),
	    cmocka_unit_test(test_accepted_through_data),
	    cmocka_unit_test(test_tokens_per_test),
	    cmocka_unit_test(test_message_ends_with_dot),
	    cmocka_unit_test(test_garbage_reply),
	    cmocka_unit_test(test_binary_reply),
	    cmocka_unit_test(test_overlong_line),
	    cmocka_unit_test(test_endless_multiline),
	    cmocka_unit_test(test_silent_server),
	    cmocka_unit_test(test_slow_greeting_within_patience),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_starttls_then_ehlo_again),
	    cmocka_unit_test(test_tls_failure_auto_falls_back),
	    cmocka_unit_test(test_tls_require_not_offered),
	    cmocka_unit_test(test_pipelining_batches),
	    cmocka_unit_test(test_limits_extension),
	    cmocka_unit_test(test_open_pipelined_round_trips),
	    cmocka_unit_test(test_drop_after_n_rejections),
	    cmocka_unit_test(test_session_limit),
	    cmocka_unit_test(test_params_rejected),
	    cmocka_unit_test(test_tarpit_dialog_deadline),
	    cmocka_unit_test(test_deadline_bounds),
	    cmocka_unit_test(test_ipv6_literal),
	};

	return cmocka_run_group_tests_name("dialog", tests, NULL, NULL);
}
