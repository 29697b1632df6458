/* test_canary_server.c - the canary listener over real sockets on 127.0.0.1
 * (port 0): a client dialog with and without STARTTLS (an OpenSSL client),
 * then hostile clients: garbage, a 1 MB line, pipelined junk, a slow drip
 * against a short idle timeout, a message over the cap, a flood from one
 * peer while another (127.0.0.2) is served, the global cap, the per-peer
 * rates, and the stats counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "canary_server.h"

static const char *const domains[] = {"canary.example.net"};
static const char *const listen_any[] = {"127.0.0.1:0"};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned commits;
static struct canary_arrival last;

static int commit_cb(void *arg, const struct canary_arrival *a, char *why, size_t whylen)
{
	(void)arg;
	(void)why;
	(void)whylen;
	pthread_mutex_lock(&mu);
	commits++;
	memcpy(&last, a, sizeof(last));
	pthread_mutex_unlock(&mu);
	return 0;
}

static void params(struct canary_server_params *p)
{
	memset(p, 0, sizeof(*p));
	p->listen = listen_any;
	p->nlisten = 1;
	p->domains = domains;
	p->ndomains = 1;
	p->hostname = "canary.test";
	p->starttls = true;
	p->commit = commit_cb;
	pthread_mutex_lock(&mu);
	commits = 0;
	memset(&last, 0, sizeof(last));
	pthread_mutex_unlock(&mu);
}

static struct canary_server *start(const struct canary_server_params *p)
{
	char err[256] = "";
	struct canary_server *s = canary_server_start(p, err, sizeof(err));

	if (s == NULL)
		fail_msg("canary_server_start: %s", err);
	assert_int_not_equal(canary_server_port(s, 0), 0);
	return s;
}

/* ------------------------------------------------------------------ */
/* a blocking test client, optionally over TLS */

struct cli {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[16384];
	size_t len;
};

static void cli_open(struct cli *c, unsigned port, const char *bind_ip)
{
	struct sockaddr_in a;
	struct timeval tv = {5, 0};

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (bind_ip != NULL) {
		inet_pton(AF_INET, bind_ip, &a.sin_addr);
		assert_int_equal(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
}

static void cli_close(struct cli *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->ssl = NULL;
	c->ctx = NULL;
}

static void cli_send_n(struct cli *c, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = c->ssl ? SSL_write(c->ssl, s, (int)n) : send(c->fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return; /* the server may have closed: the reply check says so */
		s += w;
		n -= (size_t)w;
	}
}

static void cli_send(struct cli *c, const char *s)
{
	cli_send_n(c, s, strlen(s));
}

/* 0 on EOF/error, else bytes added. */
static ssize_t cli_fill(struct cli *c)
{
	ssize_t n;

	if (c->len >= sizeof(c->buf) - 1)
		return 0;
	n = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - 1 - c->len))
	           : recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return n;
}

/* One whole reply (up to its last line "ddd ..."), into out; its code, or
 * 0 on EOF before one. */
static int cli_reply(struct cli *c, char *out, size_t outlen)
{
	for (;;) {
		char *p = c->buf;

		for (;;) {
			char *eol = memchr(p, '\n', c->len - (size_t)(p - c->buf));

			if (eol == NULL)
				break;
			if (eol - p >= 4 && p[3] == ' ') {
				size_t n = (size_t)(eol + 1 - c->buf);
				int code = (int)strtol(p, NULL, 10);

				snprintf(out, outlen, "%.*s", (int)n, c->buf);
				memmove(c->buf, c->buf + n, c->len - n);
				c->len -= n;
				c->buf[c->len] = '\0';
				return code;
			}
			p = eol + 1;
		}
		if (cli_fill(c) == 0)
			return 0;
	}
}

static int cli_cmd(struct cli *c, const char *cmd, char *out, size_t outlen)
{
	cli_send(c, cmd);
	return cli_reply(c, out, outlen);
}

/* The server closed: EOF (not a reset) after what it sent. */
static void cli_expect_eof(struct cli *c)
{
	char b[256];
	ssize_t n;

	do
		n = recv(c->fd, b, sizeof(b), 0);
	while (n > 0);
	assert_int_equal(n, 0);
}

static void cli_starttls(struct cli *c)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c->ctx);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "canary.test");
	assert_int_equal(SSL_connect(c->ssl), 1);
}

static void deliver(struct cli *c, const char *token)
{
	char r[4096], cmd[512];

	snprintf(cmd, sizeof(cmd), "MAIL FROM:<rp-s%s@probe.example>\r\n", token);
	assert_int_equal(cli_cmd(c, cmd, r, sizeof(r)), 250);
	snprintf(cmd, sizeof(cmd), "RCPT TO:<rp-%s@canary.example.net>\r\n", token);
	assert_int_equal(cli_cmd(c, cmd, r, sizeof(r)), 250);
	assert_int_equal(cli_cmd(c, "DATA\r\n", r, sizeof(r)), 354);
	snprintf(cmd, sizeof(cmd),
	         "Received: from helo.example (rdns.example [192.0.2.1])\r\n"
	         "\tby relay.example (Postfix) with ESMTP id 1234\r\n"
	         "Subject: test rp-%s\r\n\r\nbody\r\n.\r\n",
	         token);
	assert_int_equal(cli_cmd(c, cmd, r, sizeof(r)), 250);
	assert_string_equal(r, "250 2.0.0 Ok: message accepted\r\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The stats settle on the server thread: wait for pred a little. */
static void wait_open(struct canary_server *s, uint64_t open)
{
	struct canary_server_stats st;

	for (int i = 0; i < 300; i++) {
		canary_server_stats(s, &st);
		if (st.sessions_open == open)
			return;
		usleep(10000);
	}
	fail_msg("sessions_open %llu, wanted %llu", (unsigned long long)st.sessions_open,
	         (unsigned long long)open);
}

/* ------------------------------------------------------------------ */

static void test_plain_dialog(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli c;
	char r[4096];

	(void)state;
	params(&p);
	s = start(&p);
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	assert_string_equal(r, "220 canary.test ESMTP relayprobe canary\r\n");
	assert_int_equal(cli_cmd(&c, "EHLO client.example\r\n", r, sizeof(r)), 250);
	assert_non_null(strstr(r, "250 STARTTLS\r\n"));
	deliver(&c, "plain1");
	assert_int_equal(cli_cmd(&c, "QUIT\r\n", r, sizeof(r)), 221);
	cli_expect_eof(&c);
	cli_close(&c);
	pthread_mutex_lock(&mu);
	assert_int_equal(commits, 1);
	assert_string_equal(last.peer_ip, "127.0.0.1");
	assert_string_equal(last.helo, "client.example");
	assert_string_equal(last.rcpts[0], "rp-plain1@canary.example.net");
	assert_string_equal(last.tokens[0], "rp-plain1");
	assert_int_equal(last.nhops, 1);
	assert_string_equal(last.hops[0].from_ip, "192.0.2.1");
	assert_false(last.tls);
	pthread_mutex_unlock(&mu);
	wait_open(s, 0);
	canary_server_stats(s, &st);
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.tls_sessions, 0);
	assert_true(st.bytes_in > 100);
	assert_true(st.footprint_max > 0 && st.footprint_max <= RP_CANARY_FOOTPRINT_MAX);
	canary_server_stop(&s);
	assert_null(s);
}

static void test_starttls_dialog(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli c;
	char r[4096];
	X509 *peer;

	(void)state;
	params(&p);
	s = start(&p);
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	assert_int_equal(cli_cmd(&c, "EHLO client.example\r\n", r, sizeof(r)), 250);
	assert_int_equal(cli_cmd(&c, "STARTTLS\r\n", r, sizeof(r)), 220);
	cli_starttls(&c);
	/* the self-signed certificate: CN = the hostname */
	peer = SSL_get1_peer_certificate(c.ssl);
	assert_non_null(peer);
	{
		char cn[64] = "";

		X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
		                          sizeof(cn));
		assert_string_equal(cn, "canary.test");
	}
	X509_free(peer);
	assert_int_equal(cli_cmd(&c, "MAIL FROM:<a@b.example>\r\n", r, sizeof(r)), 503);
	assert_int_equal(cli_cmd(&c, "EHLO client.example\r\n", r, sizeof(r)), 250);
	assert_null(strstr(r, "STARTTLS"));
	deliver(&c, "tls1");
	assert_int_equal(cli_cmd(&c, "QUIT\r\n", r, sizeof(r)), 221);
	cli_close(&c);
	pthread_mutex_lock(&mu);
	assert_true(last.tls);
	assert_string_equal(last.tls_protocol, "TLSv1.3");
	assert_true(last.tls_cipher[0] != '\0');
	pthread_mutex_unlock(&mu);
	wait_open(s, 0);
	canary_server_stats(s, &st);
	assert_int_equal(st.tls_sessions, 1);
	assert_int_equal(st.messages, 1);
	canary_server_stop(&s);
}

/* The STARTTLS injection over a real socket: commands in the same packet
 * as STARTTLS are never run; the handshake then fails on them or (here)
 * they are gone before it. */
static void test_starttls_injection(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct cli c;
	char r[4096];

	(void)state;
	params(&p);
	s = start(&p);
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	assert_int_equal(cli_cmd(&c, "EHLO client.example\r\n", r, sizeof(r)), 250);
	cli_send(&c, "STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n");
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	assert_int_equal(c.len, 0);
	cli_starttls(&c);
	/* had the injected MAIL run, this would be 503 nested MAIL or 250 */
	assert_int_equal(cli_cmd(&c, "MAIL FROM:<a@b.example>\r\n", r, sizeof(r)), 503);
	assert_string_equal(r, "503 5.5.1 Error: send HELO/EHLO first\r\n");
	cli_close(&c);
	canary_server_stop(&s);
}

static void test_hostile(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli c;
	char r[4096], junk[600];
	char *big;
	size_t i;

	(void)state;
	params(&p);
	s = start(&p);

	/* garbage bytes, binary, then lines of it: 500s, then 421 and EOF */
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)((i * 7919) & 0xff);
	cli_send_n(&c, junk, sizeof(junk));
	for (i = 0; i < 30; i++)
		cli_send(&c, "\x01\xfe\xff garbage\r\n");
	for (i = 0; i < 10; i++)
		assert_true(cli_reply(&c, r, sizeof(r)) >= 500);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 421);
	assert_string_equal(r, "421 4.7.0 canary.test Error: too many errors\r\n");
	cli_expect_eof(&c);
	cli_close(&c);

	/* a 1 MB line: refused once, the session goes on */
	big = malloc(1024 * 1024 + 2);
	memset(big, 'A', 1024 * 1024);
	memcpy(big + 1024 * 1024, "\r\n", 2);
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	cli_send_n(&c, big, 1024 * 1024 + 2);
	free(big);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 500);
	assert_string_equal(r, "500 5.5.2 Error: line too long\r\n");
	assert_int_equal(cli_cmd(&c, "NOOP\r\n", r, sizeof(r)), 250);
	assert_int_equal(cli_cmd(&c, "QUIT\r\n", r, sizeof(r)), 221);
	cli_close(&c);

	/* pipelined junk and NOOPs in one write: answered in order */
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	cli_send(&c, "NOOP\r\nXYZZY\r\nNOOP\r\nRCPT TO:<x@y>\r\nQUIT\r\n");
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 250);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 500);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 250);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 503);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 221);
	cli_expect_eof(&c);
	cli_close(&c);

	wait_open(s, 0);
	canary_server_stats(s, &st);
	assert_int_equal(st.sessions, 3);
	assert_int_equal(st.messages, 0);
	assert_true(st.bytes_in >= 1024 * 1024);
	canary_server_stop(&s);
}

static void test_slow_drip(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli c;
	char r[4096];
	uint64_t t0;
	int code = 0;

	(void)state;
	params(&p);
	p.idle_ms = 400;
	s = start(&p);
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	t0 = now_ms();
	/* one byte every 50 ms, never a whole line: the idle timer is per line */
	{
		struct timeval tv = {0, 10000};

		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	for (int i = 0; i < 40 && code == 0; i++) {
		cli_send_n(&c, "N", 1);
		usleep(40000);
		code = cli_reply(&c, r, sizeof(r));
	}
	assert_int_equal(code, 421);
	assert_string_equal(r, "421 4.4.2 canary.test Error: timeout exceeded\r\n");
	assert_true(now_ms() - t0 >= 350);
	assert_true(now_ms() - t0 < 1500);
	cli_close(&c);
	wait_open(s, 0);
	canary_server_stats(s, &st);
	assert_int_equal(st.timeouts, 1);
	canary_server_stop(&s);
}

static void test_oversize(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli c;
	char r[4096], line[128];

	(void)state;
	params(&p);
	p.message_max = 4096;
	s = start(&p);
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	assert_int_equal(cli_cmd(&c, "EHLO c.example\r\n", r, sizeof(r)), 250);
	assert_non_null(strstr(r, "250-SIZE 4096\r\n"));
	assert_int_equal(cli_cmd(&c, "MAIL FROM:<a@b.example>\r\n", r, sizeof(r)), 250);
	assert_int_equal(cli_cmd(&c, "RCPT TO:<rp-big@canary.example.net>\r\n", r, sizeof(r)), 250);
	assert_int_equal(cli_cmd(&c, "DATA\r\n", r, sizeof(r)), 354);
	memset(line, 'x', 98);
	memcpy(line + 98, "\r\n", 3);
	for (int i = 0; i < 2000; i++) /* 200 KB */
		cli_send(&c, line);
	assert_int_equal(cli_cmd(&c, ".\r\n", r, sizeof(r)), 552);
	assert_int_equal(cli_cmd(&c, "QUIT\r\n", r, sizeof(r)), 221);
	cli_close(&c);
	wait_open(s, 0);
	canary_server_stats(s, &st);
	assert_int_equal(st.oversize, 1);
	assert_int_equal(st.messages, 0);
	canary_server_stop(&s);
}

static void test_peer_flood(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli c[6], other;
	char r[4096];
	int i;

	(void)state;
	params(&p);
	p.peer_sessions = 3;
	s = start(&p);
	for (i = 0; i < 3; i++) {
		cli_open(&c[i], canary_server_port(s, 0), NULL);
		assert_int_equal(cli_reply(&c[i], r, sizeof(r)), 220);
	}
	for (i = 3; i < 6; i++) {
		cli_open(&c[i], canary_server_port(s, 0), NULL);
		assert_int_equal(cli_reply(&c[i], r, sizeof(r)), 421);
		assert_string_equal(
		    r, "421 4.7.0 canary.test too many sessions from your address\r\n");
		cli_expect_eof(&c[i]);
		cli_close(&c[i]);
	}
	/* another peer address is served meanwhile */
	cli_open(&other, canary_server_port(s, 0), "127.0.0.2");
	assert_int_equal(cli_reply(&other, r, sizeof(r)), 220);
	assert_int_equal(cli_cmd(&other, "EHLO other.example\r\n", r, sizeof(r)), 250);
	deliver(&other, "other");
	pthread_mutex_lock(&mu);
	assert_string_equal(last.peer_ip, "127.0.0.2");
	pthread_mutex_unlock(&mu);
	/* and the first peer's open sessions still work */
	assert_int_equal(cli_cmd(&c[0], "NOOP\r\n", r, sizeof(r)), 250);
	cli_close(&other);
	for (i = 0; i < 3; i++)
		cli_close(&c[i]);
	wait_open(s, 0);
	canary_server_stats(s, &st);
	assert_int_equal(st.sessions, 7);
	assert_int_equal(st.sessions_refused, 3);
	assert_int_equal(st.messages, 1);
	canary_server_stop(&s);
}

static void test_global_cap(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli a, b, c;
	char r[4096];

	(void)state;
	params(&p);
	p.sessions_max = 2;
	s = start(&p);
	cli_open(&a, canary_server_port(s, 0), "127.0.0.1");
	assert_int_equal(cli_reply(&a, r, sizeof(r)), 220);
	cli_open(&b, canary_server_port(s, 0), "127.0.0.2");
	assert_int_equal(cli_reply(&b, r, sizeof(r)), 220);
	cli_open(&c, canary_server_port(s, 0), "127.0.0.3");
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 421);
	assert_string_equal(r, "421 4.7.0 canary.test too many sessions, try later\r\n");
	cli_expect_eof(&c);
	cli_close(&c);
	/* a slot freed: served again */
	assert_int_equal(cli_cmd(&a, "QUIT\r\n", r, sizeof(r)), 221);
	cli_close(&a);
	wait_open(s, 1);
	cli_open(&c, canary_server_port(s, 0), "127.0.0.3");
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	cli_close(&c);
	cli_close(&b);
	wait_open(s, 0);
	canary_server_stats(s, &st);
	assert_int_equal(st.sessions_refused, 1);
	assert_int_equal(st.sessions, 4);
	canary_server_stop(&s);
}

static void test_peer_rates(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli c;
	char r[4096];

	(void)state;
	params(&p);
	p.peer_conn_per_min = 2;
	p.peer_msgs_per_min = 1;
	s = start(&p);
	/* messages a minute: the second gets 451 (retry later), then 421 */
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	assert_int_equal(cli_cmd(&c, "EHLO c.example\r\n", r, sizeof(r)), 250);
	deliver(&c, "m1");
	assert_int_equal(cli_cmd(&c, "MAIL FROM:<a@b.example>\r\n", r, sizeof(r)), 250);
	assert_int_equal(cli_cmd(&c, "RCPT TO:<rp-m2@canary.example.net>\r\n", r, sizeof(r)), 250);
	assert_int_equal(cli_cmd(&c, "DATA\r\n", r, sizeof(r)), 354);
	assert_int_equal(cli_cmd(&c, "\r\nx\r\n.\r\n", r, sizeof(r)), 451);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 421);
	assert_non_null(strstr(r, "too many messages from your address"));
	cli_expect_eof(&c);
	cli_close(&c);
	/* connections a minute: 2 were allowed, the third is refused (so is
	 * any while the message rate is spent) */
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 421);
	cli_close(&c);
	/* another address is not affected */
	cli_open(&c, canary_server_port(s, 0), "127.0.0.2");
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	cli_close(&c);
	wait_open(s, 0);
	canary_server_stats(s, &st);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.commit_failed, 1);
	assert_int_equal(st.sessions_refused, 1);
	canary_server_stop(&s);
}

static void test_peer_conn_and_bytes(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct canary_server_stats st;
	struct cli c;
	char r[4096], noops[6 * 1000 + 1];
	int i;

	(void)state;
	params(&p);
	p.peer_conn_per_min = 2;
	p.peer_bytes_per_min = 4000;
	s = start(&p);
	/* bytes a minute: past 4000 the session gets 421 */
	for (i = 0; i < 1000; i++)
		memcpy(noops + 6 * i, "NOOP\r\n", 6);
	noops[6 * 1000] = '\0';
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 220);
	cli_send(&c, noops);
	for (;;) {
		int code = cli_reply(&c, r, sizeof(r));

		assert_true(code == 250 || code == 421);
		if (code == 421)
			break;
	}
	assert_string_equal(r, "421 4.7.0 too much data from your address, try later\r\n");
	cli_close(&c);
	/* the second connection this minute: refused, the byte rate is spent */
	cli_open(&c, canary_server_port(s, 0), NULL);
	assert_int_equal(cli_reply(&c, r, sizeof(r)), 421);
	cli_close(&c);
	/* connections a minute, from another address */
	for (i = 0; i < 3; i++) {
		cli_open(&c, canary_server_port(s, 0), "127.0.0.4");
		assert_int_equal(cli_reply(&c, r, sizeof(r)), i < 2 ? 220 : 421);
		if (i == 2)
			assert_string_equal(r, "421 4.7.0 canary.test too many connections from "
			                       "your address, try later\r\n");
		cli_close(&c);
		wait_open(s, 0);
	}
	canary_server_stats(s, &st);
	assert_int_equal(st.sessions_refused, 2);
	canary_server_stop(&s);
}

/* Stop with sessions open: everything closed and freed (ASan checks). */
static void test_stop_open(void **state)
{
	struct canary_server_params p;
	struct canary_server *s;
	struct cli c[3];
	char r[4096];

	(void)state;
	params(&p);
	s = start(&p);
	for (int i = 0; i < 3; i++) {
		cli_open(&c[i], canary_server_port(s, 0), NULL);
		assert_int_equal(cli_reply(&c[i], r, sizeof(r)), 220);
	}
	cli_send(&c[1], "EHLO x\r\nSTARTTLS\r\n");
	cli_send(&c[2], "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<rp-x@canary.example.net>\r\n"
	                "DATA\r\npartial");
	usleep(100000);
	canary_server_stop(&s);
	assert_null(s);
	for (int i = 0; i < 3; i++) {
		while (cli_fill(&c[i]) > 0)
			;
		cli_close(&c[i]);
	}
}

static void test_bad_params(void **state)
{
	struct canary_server_params p;
	char err[256] = "";
	const char *const bad[] = {"not-an-address"};

	(void)state;
	params(&p);
	p.listen = bad;
	assert_null(canary_server_start(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "not-an-address"));
	params(&p);
	p.cert_file = "/nonexistent/cert.pem";
	p.key_file = "/nonexistent/key.pem";
	assert_null(canary_server_start(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/cert.pem"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_dialog),       cmocka_unit_test(test_starttls_dialog),
	    cmocka_unit_test(test_starttls_injection), cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_slow_drip),          cmocka_unit_test(test_oversize),
	    cmocka_unit_test(test_peer_flood),         cmocka_unit_test(test_global_cap),
	    cmocka_unit_test(test_peer_rates),         cmocka_unit_test(test_peer_conn_and_bytes),
	    cmocka_unit_test(test_stop_open),          cmocka_unit_test(test_bad_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
