/* test_canary_smtp.c - the canary's receiver session, byte-exact: a scripted
 * client side (what Postfix, Exim and bounces send) and the exact replies the
 * session must give, the arrivals it commits, and the hostile cases (over
 * the caps, over-long lines, error budget, STARTTLS injection). No sockets,
 * fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "canary_smtp.h"

#define T0 1800000000000ULL

static const char *const domains[] = {"canary.example.net", "Canary2.Example."};

struct fx {
	struct canary_smtp_params p;
	struct canary_smtp *s;
	uint64_t now;
	struct canary_arrival *last; /* the last committed arrival */
	unsigned commits;
	int commit_rc;
	char out[64 * 1024];
	size_t outlen;
	size_t max_pending_out; /* largest output the session held */
};

static int rcpt_cb(void *arg, const char *local, const char *domain)
{
	(void)arg;
	(void)domain;
	return strcmp(local, "nobody") == 0 ? -1 : 0;
}

static int commit_cb(void *arg, const struct canary_arrival *a, char *why, size_t whylen)
{
	struct fx *f = arg;

	f->commits++;
	if (f->commit_rc != 0) {
		snprintf(why, whylen, "store unavailable\r\n");
		return -1;
	}
	memcpy(f->last, a, sizeof(*a));
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->last = calloc(1, sizeof(*f->last));
	f->p.hostname = "canary.example.org";
	f->p.domains = domains;
	f->p.ndomains = 2;
	f->p.starttls = true;
	f->p.rcpt = rcpt_cb;
	f->p.commit = commit_cb;
	f->p.arg = f;
	f->now = T0;
	f->s = canary_smtp_new(&f->p, "192.0.2.1", 40000, f->now);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	canary_smtp_free(&f->s);
	assert_null(f->s);
	free(f->last);
	free(f);
	return 0;
}

static void drain(struct fx *f)
{
	size_t n;
	const char *o = canary_smtp_output(f->s, &n);

	if (n > f->max_pending_out)
		f->max_pending_out = n;
	assert_true(n <= RP_CANARY_OUT_MAX);
	assert_true(f->outlen + n <= sizeof(f->out));
	memcpy(f->out + f->outlen, o, n);
	f->outlen += n;
	canary_smtp_output_consume(f->s, n);
}

/* Feeds in[0..n) as a well-behaved driver does (chunks of at most
 * RP_CANARY_FEED_MAX, only when the session wants to read, output drained
 * in between); stops at STARTTLS or CLOSE (the rest is not sent). */
static enum canary_smtp_action send_n(struct fx *f, const char *in, size_t n)
{
	enum canary_smtp_action a = CANARY_ACT_IO;
	size_t off = 0;

	drain(f);
	for (;;) {
		f->now += 1;
		if (!canary_smtp_wants_read(f->s)) {
			a = canary_smtp_feed(f->s, f->now, NULL, 0);
		} else if (off < n) {
			size_t k = n - off > RP_CANARY_FEED_MAX ? RP_CANARY_FEED_MAX : n - off;

			a = canary_smtp_feed(f->s, f->now, in + off, k);
			off += k;
		} else {
			break;
		}
		assert_true(canary_smtp_footprint(f->s) <= RP_CANARY_FOOTPRINT_MAX);
		drain(f);
		if (a != CANARY_ACT_IO)
			break;
	}
	return a;
}

static enum canary_smtp_action send_s(struct fx *f, const char *in)
{
	return send_n(f, in, strlen(in));
}

/* The output since the last check must be exactly want. */
static void expect(struct fx *f, const char *want)
{
	drain(f);
	if (f->outlen != strlen(want) || memcmp(f->out, want, f->outlen) != 0)
		fail_msg("output\n%.*s\nwanted\n%s", (int)f->outlen, f->out, want);
	f->outlen = 0;
}

/* Appends src to the NUL-terminated dst of cap bytes. */
static void cat(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(dst);

	snprintf(dst + n, cap - n, "%s", src);
}

#define BANNER "220 canary.example.org ESMTP relayprobe canary\r\n"
#define EHLO_REPLY                                                                                 \
	"250-canary.example.org\r\n250-PIPELINING\r\n250-SIZE 65536\r\n250-8BITMIME\r\n"           \
	"250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
#define EHLO_REPLY_TLS                                                                             \
	"250-canary.example.org\r\n250-PIPELINING\r\n250-SIZE 65536\r\n250-8BITMIME\r\n"           \
	"250 ENHANCEDSTATUSCODES\r\n"

/* The message a Postfix relay forwards: two Received: (one folded), the
 * tokens in Message-ID, Subject and body, a dot-stuffed line. */
static const char postfix_msg[] =
    "Received: from helo.example (rdns.example [192.0.2.1])\r\n"
    "\tby relay.example.com (Postfix) with ESMTP id 4AbCdE1234\r\n"
    "\tfor <rp-abc123@canary.example.net>; Mon,  1 Jan 2024 10:00:00 +0000 (UTC)\r\n"
    "Received: from origin.example (origin.example [198.51.100.7])\r\n"
    "\tby helo.example (Postfix) with ESMTPS id 99ZZ; Mon,  1 Jan 2024 09:59:59 +0000\r\n"
    "Message-ID: <RP-MsgTok1.1234@probe.example>\r\n"
    "Subject: relay test rp-subjtok\r\n"
    "From: <rp-snd1@probe.example>\r\n"
    "To: <rp-abc123@canary.example.net>\r\n"
    "\r\n"
    "This is a relay test, token rp-abc123 (not xrp-nottoken).\r\n"
    "..a stuffed line rp-abc123 again\r\n"
    ".\r\n";

static void test_postfix_dialog(void **state)
{
	struct fx *f = *state;
	size_t want_size;

	expect(f, BANNER);
	assert_int_equal(send_s(f, "EHLO mx.relay.example\r\n"), CANARY_ACT_IO);
	expect(f, EHLO_REPLY);
	send_s(f, "MAIL FROM:<rp-snd1@probe.example> SIZE=900 BODY=8BITMIME\r\n");
	expect(f, "250 2.1.0 Ok\r\n");
	send_s(f, "RCPT TO:<rp-abc123@canary.example.net>\r\n");
	expect(f, "250 2.1.5 Ok\r\n");
	send_s(f, "DATA\r\n");
	expect(f, "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_string_equal(canary_smtp_state_name(f->s), "DATA");
	f->now = T0 + 5000;
	assert_int_equal(send_s(f, postfix_msg), CANARY_ACT_IO);
	expect(f, "250 2.0.0 Ok: message accepted\r\n");
	assert_int_equal(send_s(f, "QUIT\r\n"), CANARY_ACT_CLOSE);
	expect(f, "221 2.0.0 Bye\r\n");

	assert_int_equal(f->commits, 1);
	assert_string_equal(f->last->peer_ip, "192.0.2.1");
	assert_int_equal(f->last->peer_port, 40000);
	assert_string_equal(f->last->helo, "mx.relay.example");
	assert_string_equal(f->last->mail_from, "rp-snd1@probe.example");
	assert_int_equal(f->last->nrcpts, 1);
	assert_string_equal(f->last->rcpts[0], "rp-abc123@canary.example.net");
	assert_string_equal(f->last->message_id, "RP-MsgTok1.1234@probe.example");
	assert_int_equal(f->last->ntokens, 3);
	assert_string_equal(f->last->tokens[0], "rp-msgtok1");
	assert_string_equal(f->last->tokens[1], "rp-subjtok");
	assert_string_equal(f->last->tokens[2], "rp-abc123");
	assert_int_equal(f->last->nhops, 2);
	assert_string_equal(f->last->hops[0].from_helo, "helo.example");
	assert_string_equal(f->last->hops[0].from_rdns, "rdns.example");
	assert_string_equal(f->last->hops[0].from_ip, "192.0.2.1");
	assert_string_equal(f->last->hops[0].by, "relay.example.com");
	assert_string_equal(f->last->hops[1].from_helo, "origin.example");
	assert_string_equal(f->last->hops[1].from_ip, "198.51.100.7");
	assert_string_equal(f->last->hops[1].by, "helo.example");
	/* as received after unstuffing, without the final dot line */
	want_size = strlen(postfix_msg) - 1 - 3;
	assert_int_equal(f->last->size, want_size);
	assert_false(f->last->tls);
	assert_true(f->last->arrived_ms > T0 + 5000);
	assert_true(canary_smtp_footprint(f->s) <= 64 * 1024);
}

static void test_bounce_null_sender(void **state)
{
	struct fx *f = *state;

	expect(f, BANNER);
	send_s(f, "helo mailer-daemon.example\r\n");
	expect(f, "250 canary.example.org\r\n");
	send_s(f, "mail from:<>\r\n");
	expect(f, "250 2.1.0 Ok\r\n");
	send_s(f, "rcpt to:<RP-Bounce9@CANARY2.example.>\r\n");
	expect(f, "250 2.1.5 Ok\r\n");
	send_s(f, "data\r\n");
	expect(f, "354 End data with <CR><LF>.<CR><LF>\r\n");
	send_s(f, "Subject: Undelivered Mail Returned to Sender\r\n\r\n"
	          "The original message rp-bounce9 could not be delivered.\r\n.\r\n");
	expect(f, "250 2.0.0 Ok: message accepted\r\n");
	assert_string_equal(f->last->mail_from, "");
	assert_string_equal(f->last->helo, "mailer-daemon.example");
	assert_string_equal(f->last->rcpts[0], "RP-Bounce9@CANARY2.example.");
	assert_int_equal(f->last->ntokens, 1);
	assert_string_equal(f->last->tokens[0], "rp-bounce9");
	assert_int_equal(f->last->nhops, 0);
	assert_string_equal(f->last->message_id, "");
}

static void test_pipelined(void **state)
{
	struct fx *f = *state;

	/* RFC 2920: the whole group in one write, DATA last; then the body
	 * and QUIT in another. Bare LF accepted for commands. */
	assert_int_equal(send_s(f, "EHLO exim.example\r\nMAIL FROM:<a@probe.example>\r\n"
	                           "RCPT TO:<rp-1@canary.example.net>\n"
	                           "RCPT TO:<rp-2@canary.example.net>\r\nDATA\r\n"),
	                 CANARY_ACT_IO);
	expect(f, BANNER EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	                            "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_int_equal(send_s(f, "Subject: x\r\n\r\nrp-1\r\n.\r\nQUIT\r\n"), CANARY_ACT_CLOSE);
	expect(f, "250 2.0.0 Ok: message accepted\r\n221 2.0.0 Bye\r\n");
	assert_int_equal(f->last->nrcpts, 2);
	assert_string_equal(f->last->rcpts[1], "rp-2@canary.example.net");
}

static void test_rcpt_refusals(void **state)
{
	struct fx *f = *state;
	struct canary_smtp_stats st;

	send_s(f, "EHLO x.example\r\nMAIL FROM:<a@b.example>\r\n");
	expect(f, BANNER EHLO_REPLY "250 2.1.0 Ok\r\n");
	send_s(f, "RCPT TO:<victim@gmail.example>\r\n");
	expect(f, "550 5.7.1 Error: relaying denied\r\n");
	send_s(f, "RCPT TO:<a@sub.canary.example.net>\r\nRCPT TO:<canary.example.net>\r\n");
	expect(f, "550 5.7.1 Error: relaying denied\r\n550 5.7.1 Error: relaying denied\r\n");
	send_s(f, "RCPT TO:<nobody@canary.example.net>\r\n");
	expect(f, "550 5.1.1 Error: recipient address rejected: no such user\r\n");
	send_s(f, "DATA\r\n");
	expect(f, "503 5.5.1 Error: need RCPT command\r\n");
	canary_smtp_stats(f->s, &st);
	assert_int_equal(st.refused_rcpt, 4);
	/* RFC 5321 4.5.1: postmaster, bare or at a canary domain, is taken;
	 * at another domain it is relaying */
	send_s(f, "RCPT TO:<Postmaster>\r\nRCPT TO:<postmaster@CANARY.example.net>\r\n"
	          "RCPT TO:<postmaster@gmail.example>\r\n");
	expect(f, "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n550 5.7.1 Error: relaying denied\r\n");
}

static void test_17_rcpts(void **state)
{
	struct fx *f = *state;
	char cmd[128], want[4096] = "";
	int i;

	send_s(f, "EHLO x.example\r\nMAIL FROM:<a@b.example>\r\n");
	expect(f, BANNER EHLO_REPLY "250 2.1.0 Ok\r\n");
	for (i = 0; i < 17; i++) {
		snprintf(cmd, sizeof(cmd), "RCPT TO:<rp-%d@canary.example.net>\r\n", i);
		send_s(f, cmd);
		cat(want, sizeof(want),
		    i < 16 ? "250 2.1.5 Ok\r\n" : "452 4.5.3 Error: too many recipients\r\n");
	}
	expect(f, want);
	send_s(f, "DATA\r\n\r\n.\r\n");
	expect(f, "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: message accepted\r\n");
	assert_int_equal(f->last->nrcpts, RP_CANARY_RCPTS_MAX);
	assert_string_equal(f->last->rcpts[15], "rp-15@canary.example.net");
}

static void test_oversize(void **state)
{
	struct fx *f = *state;
	struct canary_smtp_stats st;
	char *big = malloc(1024 * 1024 + 64);
	size_t n = 0;

	send_s(f, "EHLO x.example\r\nMAIL FROM:<a@b.example> SIZE=65537\r\n");
	expect(f, BANNER EHLO_REPLY "552 5.3.4 Error: message size exceeds the fixed limit\r\n");
	send_s(f, "MAIL FROM:<a@b.example> SIZE=100\r\nRCPT TO:<rp-big@canary.example.net>\r\n"
	          "DATA\r\n");
	expect(f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
	/* 1 MiB of message: read to the final dot, never held */
	memcpy(big, "Subject: big\r\n\r\n", 16);
	n = 16;
	while (n < 1024 * 1024) {
		memcpy(big + n, "0123456789012345678901234567890123456789012345678901234567890\r\n",
		       63);
		n += 63;
	}
	memcpy(big + n, ".\r\n", 3);
	n += 3;
	send_n(f, big, n);
	free(big);
	expect(f, "552 5.3.4 Error: message too big (over 65536 bytes)\r\n");
	assert_int_equal(f->commits, 0);
	assert_true(canary_smtp_footprint(f->s) <= RP_CANARY_FOOTPRINT_MAX);
	canary_smtp_stats(f->s, &st);
	assert_int_equal(st.oversize, 2);
	assert_true(st.bytes_in > 1024 * 1024);
	/* the session goes on */
	send_s(f, "NOOP\r\n");
	expect(f, "250 2.0.0 Ok\r\n");
}

static void test_long_line(void **state)
{
	struct fx *f = *state;
	size_t n = 200 * 1024, i;
	char *l = malloc(n + 16);

	expect(f, BANNER);
	/* exactly RP_SMTP_LINE_MAX octets is still a command */
	memcpy(l, "NOOP ", 5);
	for (i = 5; i < RP_SMTP_LINE_MAX; i++)
		l[i] = 'x';
	memcpy(l + i, "\r\n", 2);
	send_n(f, l, i + 2);
	expect(f, "250 2.0.0 Ok\r\n");
	/* one more octet is not, and neither is 200 KiB: refused once, skipped */
	l[i] = 'x';
	memcpy(l + i + 1, "\r\n", 2);
	send_n(f, l, i + 3);
	expect(f, "500 5.5.2 Error: line too long\r\n");
	for (i = 0; i < n; i++)
		l[i] = 'A';
	memcpy(l + n, "\r\nNOOP\r\n", 8);
	send_n(f, l, n + 8);
	free(l);
	expect(f, "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
	assert_true(canary_smtp_footprint(f->s) <= RP_CANARY_FOOTPRINT_MAX);
}

static void test_error_budget(void **state)
{
	struct fx *f = *state;
	char want[2048] = BANNER;
	int i;

	/* 11 bad commands: 10 answered, then 421 and close; the 11th unread */
	for (i = 0; i < 11; i++) {
		enum canary_smtp_action a = send_s(f, i % 2 ? "BOGUS\r\n" : "MAIL FROM:<a@b>\r\n");

		if (i < 10)
			cat(want, sizeof(want),
			    i % 2 ? "500 5.5.2 Error: command not recognized\r\n"
			          : "503 5.5.1 Error: send HELO/EHLO first\r\n");
		assert_int_equal(a, i < 9 ? CANARY_ACT_IO : CANARY_ACT_CLOSE);
	}
	cat(want, sizeof(want), "421 4.7.0 canary.example.org Error: too many errors\r\n");
	expect(f, want);
	assert_false(canary_smtp_wants_read(f->s));
	assert_int_equal(canary_smtp_feed(f->s, f->now, "NOOP\r\n", 6), CANARY_ACT_CLOSE);
	expect(f, "");
}

static void test_starttls_injection(void **state)
{
	struct fx *f = *state;

	send_s(f, "EHLO x.example\r\n");
	expect(f, BANNER EHLO_REPLY);
	/* the commands after STARTTLS in the same packet are the attacker's */
	assert_int_equal(canary_smtp_feed(f->s, f->now,
	                                  "STARTTLS\r\nRSET\r\nMAIL FROM:<evil@x.example>\r\n", 44),
	                 CANARY_ACT_STARTTLS);
	expect(f, "220 2.0.0 Ready to start TLS\r\n");
	assert_false(canary_smtp_wants_read(f->s));
	/* more cleartext before the handshake: dropped too */
	assert_int_equal(
	    canary_smtp_feed(f->s, f->now, "RCPT TO:<rp-x@canary.example.net>\r\n", 35),
	    CANARY_ACT_STARTTLS);
	assert_int_equal(canary_smtp_tls_done(f->s, "TLSv1.3", "TLS_AES_128_GCM_SHA256"),
	                 CANARY_ACT_IO);
	expect(f, "");
	/* state reset: the injected MAIL never ran, EHLO is needed again */
	send_s(f, "MAIL FROM:<a@b.example>\r\n");
	expect(f, "503 5.5.1 Error: send HELO/EHLO first\r\n");
	send_s(f, "EHLO x.example\r\n");
	expect(f, EHLO_REPLY_TLS);
	send_s(f, "STARTTLS\r\n");
	expect(f, "503 5.5.1 Error: TLS already active\r\n");
	send_s(f, "MAIL FROM:<a@b.example>\r\nRCPT TO:<rp-t@canary.example.net>\r\nDATA\r\n"
	          "\r\nrp-t\r\n.\r\n");
	expect(f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
	          "250 2.0.0 Ok: message accepted\r\n");
	assert_true(f->last->tls);
	assert_string_equal(f->last->tls_protocol, "TLSv1.3");
	assert_string_equal(f->last->tls_cipher, "TLS_AES_128_GCM_SHA256");
}

static void test_starttls_failed(void **state)
{
	struct fx *f = *state;

	send_s(f, "EHLO x.example\r\nSTARTTLS\r\n");
	expect(f, BANNER EHLO_REPLY "220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(canary_smtp_tls_done(f->s, NULL, NULL), CANARY_ACT_CLOSE);
	expect(f, "");
}

static void test_dot_unstuffing(void **state)
{
	struct fx *f = *state;

	send_s(f, "HELO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rp-d@canary.example.net>\r\n"
	          "DATA\r\n");
	expect(f, BANNER "250 canary.example.org\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                 "354 End data with <CR><LF>.<CR><LF>\r\n");
	/* "..", "...", ". x" are not the end; a token after a stuffed dot counts */
	send_s(f, "\r\n..\r\n...\r\n. x\r\n.rp-dotted\r\n.\r\n");
	expect(f, "250 2.0.0 Ok: message accepted\r\n");
	/* body: "" "." ".." " x" "rp-dotted", each with CRLF */
	assert_int_equal(f->last->size, 2 + 3 + 4 + 4 + 11);
	assert_int_equal(f->last->ntokens, 1);
	assert_string_equal(f->last->tokens[0], "rp-dotted");
}

static void test_tokens(void **state)
{
	struct fx *f = *state;
	char body[4096];
	size_t n = 0;
	int i;

	send_s(f, "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rp-t@canary.example.net>\r\n"
	          "DATA\r\n");
	expect(f, BANNER EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                            "354 End data with <CR><LF>.<CR><LF>\r\n");
	n += (size_t)snprintf(body + n, sizeof(body) - n,
	                      "Subject: =?utf-8?q?x?= RP-UPPER, rp-\r\n"
	                      " rp-folded-subject\r\n"
	                      "X-Other: rp-notscanned\r\n"
	                      "Message-ID: <rp-mid@x>\r\n\r\n"
	                      "rp-upper again; rp-%s too long\r\n",
	                      "0123456789012345678901234567890123456789012345678901234567890123");
	for (i = 0; i < 10; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "(rp-b%d)\r\n", i);
	n += (size_t)snprintf(body + n, sizeof(body) - n, ".\r\n");
	send_n(f, body, n);
	expect(f, "250 2.0.0 Ok: message accepted\r\n");
	assert_int_equal(f->last->ntokens, RP_CANARY_BODY_TOKENS);
	assert_string_equal(f->last->tokens[0], "rp-upper");
	assert_string_equal(f->last->tokens[1], "rp-folded-subject");
	assert_string_equal(f->last->tokens[2], "rp-mid");
	assert_string_equal(f->last->tokens[3], "rp-b0");
	assert_string_equal(f->last->tokens[7], "rp-b4");
	assert_string_equal(f->last->message_id, "rp-mid@x");
}

static void test_commit_failure(void **state)
{
	struct fx *f = *state;
	struct canary_smtp_stats st;

	f->commit_rc = -1;
	send_s(f, "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rp-t@canary.example.net>\r\n"
	          "DATA\r\n\r\nrp-t\r\n.\r\n");
	expect(f, BANNER EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	                            "354 End data with <CR><LF>.<CR><LF>\r\n"
	                            "451 4.3.0 Error: store unavailable  \r\n");
	/* the transaction is over: a new MAIL is accepted */
	f->commit_rc = 0;
	send_s(f, "MAIL FROM:<a@b.example>\r\n");
	expect(f, "250 2.1.0 Ok\r\n");
	canary_smtp_stats(f->s, &st);
	assert_int_equal(st.commit_failed, 1);
	assert_int_equal(st.messages, 0);
}

static void test_misc_commands(void **state)
{
	struct fx *f = *state;

	send_s(f, "NOOP\r\nVRFY root\r\nHELP\r\nEXPN list\r\nEHLO\r\nehlo X\r\nRSET\r\n"
	          "mail FROM: <a@b.example> BODY=7BIT\r\nMAIL FROM:<c@d.example>\r\n"
	          "RCPT TO:<rp-q@canary.example.net> NOTIFY=NEVER\r\nRSET\r\nDATA\r\n"
	          "MAIL FROM:<a@b.example> AUTH=<>\r\nMAIL FROM:a@b\r\nQUIT\r\nNOOP\r\n");
	expect(f, BANNER "250 2.0.0 Ok\r\n252 2.0.0 Cannot VRFY user; send mail to it\r\n"
	                 "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY "
	                 "STARTTLS\r\n"
	                 "502 5.5.1 Error: command not implemented\r\n"
	                 "501 5.5.4 Syntax: EHLO hostname\r\n" EHLO_REPLY "250 2.0.0 Ok\r\n"
	                 "250 2.1.0 Ok\r\n503 5.5.1 Error: nested MAIL command\r\n"
	                 "555 5.5.4 Unsupported RCPT parameter\r\n250 2.0.0 Ok\r\n"
	                 "503 5.5.1 Error: need MAIL command\r\n"
	                 "555 5.5.4 Unsupported MAIL parameter\r\n"
	                 "501 5.5.4 Syntax: MAIL FROM:<address>\r\n221 2.0.0 Bye\r\n");
}

static void test_messages_per_session(void **state)
{
	struct fx *f = *state;
	int i;

	send_s(f, "EHLO x\r\n");
	for (i = 0; i < RP_CANARY_MSGS_PER_SESSION; i++)
		assert_int_equal(send_s(f,
		                        "MAIL FROM:<a@b.example>\r\n"
		                        "RCPT TO:<rp-t@canary.example.net>\r\nDATA\r\n\r\n.\r\n"),
		                 CANARY_ACT_IO);
	assert_int_equal(f->commits, RP_CANARY_MSGS_PER_SESSION);
	f->outlen = 0;
	assert_int_equal(send_s(f, "MAIL FROM:<a@b.example>\r\n"), CANARY_ACT_CLOSE);
	expect(f, "421 4.7.0 Error: too many messages in this session\r\n");
}

/* A client that pipelines 1 MiB of NOOPs and reads nothing: the session
 * stops taking input once its output is over the mark. */
static void test_output_bound(void **state)
{
	struct fx *f = *state;
	char chunk[RP_CANARY_FEED_MAX];
	size_t i, out;
	unsigned fed = 0;

	for (i = 0; i + 6 <= sizeof(chunk); i += 6)
		memcpy(chunk + i, "NOOP\r\n", 6);
	while (canary_smtp_wants_read(f->s) && fed < 256) {
		canary_smtp_feed(f->s, f->now, chunk, i);
		fed++;
	}
	assert_true(fed < 4);
	canary_smtp_output(f->s, &out);
	assert_true(out <= RP_CANARY_OUT_MAX);
	/* a driver that feeds anyway is cut off */
	assert_int_equal(canary_smtp_feed(f->s, f->now, chunk, sizeof(chunk)), CANARY_ACT_CLOSE);
	canary_smtp_output(f->s, &out);
	assert_true(out <= RP_CANARY_OUT_MAX);
	assert_true(canary_smtp_footprint(f->s) <= RP_CANARY_FOOTPRINT_MAX);
}

/* Draining resumes the held-back input, replies in order. */
static void test_output_resume(void **state)
{
	struct fx *f = *state;
	char *in = malloc(600 * 6);
	size_t i;
	unsigned n = 0;
	const char *p;

	for (i = 0; i < 600; i++)
		memcpy(in + 6 * i, "NOOP\r\n", 6);
	assert_int_equal(send_n(f, in, 600 * 6), CANARY_ACT_IO);
	free(in);
	drain(f);
	assert_true(f->max_pending_out <= RP_CANARY_OUT_MAX);
	for (p = f->out; (p = strstr(p, "250 2.0.0 Ok\r\n")) != NULL; p++)
		n++;
	assert_int_equal(n, 600);
}

static void test_timeout(void **state)
{
	struct fx *f = *state;

	send_s(f, "EHLO x\r\n");
	expect(f, BANNER EHLO_REPLY);
	send_s(f, "NOO");
	assert_int_equal(canary_smtp_lines(f->s), 1);
	assert_int_equal(canary_smtp_timeout(f->s, f->now), CANARY_ACT_CLOSE);
	expect(f, "421 4.4.2 canary.example.org Error: timeout exceeded\r\n");
}

static void test_driver_close(void **state)
{
	struct fx *f = *state;

	assert_int_equal(canary_smtp_close(f->s, "4.7.0 too many messages\r\nX"), CANARY_ACT_CLOSE);
	expect(f, BANNER "421 4.7.0 too many messages  X\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_postfix_dialog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounce_null_sender, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rcpt_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_17_rcpts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_injection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_failed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dot_unstuffing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_misc_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_messages_per_session, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_driver_close, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
