/* test_hook_mail.c - controller/hook_mail.c's SMTP client on a socketpair
 * against a scripted server: the exact bytes it sends, multi-line replies,
 * a reply split across reads, a 4xx/5xx at each step (the step is the
 * result), and replies the strict parser (common/smtp_reply.c) refuses:
 * "250junk", "2501 ok", a multi-line reply whose lines carry different
 * codes, control bytes, a line over RP_SMTP_LINE_MAX, EOF mid-reply. The
 * server writes its script in timed chunks and the client's bytes are read
 * back from the socket afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hook_transport.h"
#include "rp_limits.h"

#define FROM_LINE "MAIL FROM:<rp@example.test>\r\n"
#define RCPT_LINE "RCPT TO:<ops@example.test>\r\n"
#define MSG       "Subject: x\r\n\r\nbody\r\n.\r\n"

/* What the client must send when every step succeeds. */
static const char golden[] =
    "HELO relayprobe-controller\r\n" FROM_LINE RCPT_LINE "DATA\r\n" MSG "QUIT\r\n";

struct script {
	int fd;
	const char *const *chunks; /* written in order, 20 ms apart, then EOF */
};

static void *server(void *arg)
{
	const struct script *sc = arg;

	for (size_t i = 0; sc->chunks[i] != NULL; i++) {
		const char *c = sc->chunks[i];
		size_t len = strlen(c), off = 0;
		struct timespec ts = {0, 20 * 1000 * 1000};

		while (off < len) {
			ssize_t w = write(sc->fd, c + off, len - off);

			if (w <= 0)
				return NULL;
			off += (size_t)w;
		}
		nanosleep(&ts, NULL);
	}
	shutdown(sc->fd, SHUT_WR); /* then EOF */
	return NULL;
}

/* Runs the client against chunks; its result, and what it sent in sent. */
static int run(const char *const *chunks, char *sent, size_t sentlen)
{
	int sv[2];
	pthread_t th;
	struct script sc;
	int rc;
	size_t n = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sc.fd = sv[1];
	sc.chunks = chunks;
	assert_int_equal(pthread_create(&th, NULL, server, &sc), 0);
	rc = hook_mail_session(sv[0], FROM_LINE, RCPT_LINE, MSG);
	assert_int_equal(pthread_join(th, NULL), 0);
	close(sv[0]);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	for (;;) {
		ssize_t r = read(sv[1], sent + n, sentlen - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	sent[n] = '\0';
	close(sv[1]);
	return rc;
}

static const char *const all_ok[] = {
    "220 mx ESMTP\r\n", "250 mx\r\n", "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "354 go on\r\n",
    "250 queued\r\n",   NULL};

static void accepted_golden(void **state)
{
	char sent[4096];

	(void)state;
	assert_int_equal(run(all_ok, sent, sizeof(sent)), HOOK_MAIL_OK);
	assert_string_equal(sent, golden);
}

static void multiline_and_split(void **state)
{
	/* a multi-line greeting and HELO reply, bare LF, lines split across
	 * reads (one byte, then the rest) */
	static const char *const s[] = {"2",
	                                "20-mx.example.test ESMTP\r\n220-more\r\n",
	                                "220 last\r\n",
	                                "250-mx\n250-PIPELINING\r\n25",
	                                "0 SIZE\r\n",
	                                "250 ok\r\n250 ok\r\n",
	                                "354 go\r\n",
	                                "250 ok\r",
	                                "\n",
	                                NULL};
	char sent[4096];

	(void)state;
	assert_int_equal(run(s, sent, sizeof(sent)), HOOK_MAIL_OK);
	assert_string_equal(sent, golden);
}

static void refusal_at_each_step(void **state)
{
	static const struct {
		const char *const chunks[8];
		int want;
	} cases[] = {
	    {{"421 busy\r\n", NULL}, HOOK_MAIL_E_HELO},
	    {{"220 hi\r\n", "554 no\r\n", NULL}, HOOK_MAIL_E_HELO},
	    {{"220 hi\r\n", "250 hi\r\n", "451 4.3.0 later\r\n", NULL}, HOOK_MAIL_E_MAIL},
	    {{"220 hi\r\n", "250 hi\r\n", "250 ok\r\n", "550 5.1.1 unknown\r\n", NULL},
	     HOOK_MAIL_E_RCPT},
	    {{"220 hi\r\n", "250 hi\r\n", "250 ok\r\n", "250 ok\r\n", "250 not 354\r\n", NULL},
	     HOOK_MAIL_E_DATA},
	    {{"220 hi\r\n", "250 hi\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "552 big\r\n",
	      NULL},
	     HOOK_MAIL_E_MESSAGE},
	};
	char sent[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = run(cases[i].chunks, sent, sizeof(sent));

		if (rc != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, rc, cases[i].want);
		assert_null(strstr(sent, "QUIT")); /* a failed transaction sends no more */
	}
}

static void eof_mid_reply(void **state)
{
	static const char *const s[] = {"220 hi\r\n", "250-mx\r\n250-SIZE\r\n", NULL};
	char sent[4096];

	(void)state;
	assert_int_equal(run(s, sent, sizeof(sent)), HOOK_MAIL_E_HELO);
	assert_string_equal(sent, "HELO relayprobe-controller\r\n");
}

/* Replies the project's parser refuses, each as the greeting (the rest of
 * the script would accept). The old lax reader took all but the last as a
 * 2xx (or, for 550-...220, as the last line's 220) and went on. */
static void malformed_replies_fail(void **state)
{
	static const char *const bad[] = {
	    "250junk\r\n",                   /* no separator after the code */
	    "2201 ok\r\n",                   /* four digits */
	    "550-no relaying\r\n220 ok\r\n", /* multi-line, last line's code differs */
	    "220 o\x01k\r\n",                /* a control byte */
	    "220-a\r\n220\x1b[2J\r\n",       /* an escape sequence in a continuation */
	    "290 ok\r\n",                    /* second digit out of range */
	    "220-a\r\n250 b\r\n",            /* a continuation with another code */
	    "hello\r\n",                     /* no code at all */
	};
	char sent[4096];
	int wrong = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *const chunks[] = {bad[i],       "250 hi\r\n", "250 ok\r\n",
		                              "250 ok\r\n", "354 go\r\n", "250 ok\r\n",
		                              NULL};
		int rc = run(chunks, sent, sizeof(sent));

		/* refused at the greeting: not even HELO was sent */
		if (rc != HOOK_MAIL_E_HELO || sent[0] != '\0') {
			print_error("reply %zu: got %d, want %d; sent %zu bytes\n", i, rc,
			            HOOK_MAIL_E_HELO, strlen(sent));
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
}

static void line_limit(void **state)
{
	char *longl = malloc(RP_SMTP_LINE_MAX + 8), *okl = malloc(RP_SMTP_LINE_MAX + 8);
	char sent[4096];

	(void)state;
	assert_non_null(longl);
	assert_non_null(okl);
	/* exactly RP_SMTP_LINE_MAX bytes before CRLF: taken */
	memset(okl, 'a', RP_SMTP_LINE_MAX);
	memcpy(okl, "220 ", 4);
	memcpy(okl + RP_SMTP_LINE_MAX, "\r\n", 3);
	{
		const char *const chunks[] = {okl,          "250 hi\r\n", "250 ok\r\n",
		                              "250 ok\r\n", "354 go\r\n", "250 ok\r\n",
		                              NULL};

		assert_int_equal(run(chunks, sent, sizeof(sent)), HOOK_MAIL_OK);
	}
	/* one byte more: refused */
	memset(longl, 'a', RP_SMTP_LINE_MAX + 1);
	memcpy(longl, "220 ", 4);
	memcpy(longl + RP_SMTP_LINE_MAX + 1, "\r\n", 3);
	{
		const char *const chunks[] = {longl,        "250 hi\r\n", "250 ok\r\n",
		                              "250 ok\r\n", "354 go\r\n", "250 ok\r\n",
		                              NULL};

		assert_int_equal(run(chunks, sent, sizeof(sent)), HOOK_MAIL_E_HELO);
	}
	free(longl);
	free(okl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(accepted_golden),      cmocka_unit_test(multiline_and_split),
	    cmocka_unit_test(refusal_at_each_step), cmocka_unit_test(malformed_replies_fail),
	    cmocka_unit_test(eof_mid_reply),        cmocka_unit_test(line_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
