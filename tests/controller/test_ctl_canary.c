/* test_ctl_canary.c - the controller's canary (ctl_canary.c) on real
 * sockets, a real SQLite file and a real process: an arrival is durable the
 * moment its 250 is read (the listener's process is killed with SIGKILL
 * right then, and the arrival is in the store after), a result ingested
 * after it is upgraded to open-confirmed; a forged token is refused at
 * RCPT, a well-made token of an unknown order is dropped after DATA, both
 * counted; a bounce to a sender token marks backscatter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "canary_token.h"
#include "ctl_canary.h"
#include "ctl_config.h"
#include "envelope.h"
#include "relay_tests.h"
#include "store_agents.h"
#include "store_canary.h"
#include "store_orders.h"
#include "store_results.h"

#define DOMAIN "canary.example.org"

struct tfx {
	char dir[64], db[128], key[128];
	uint8_t k[CANARY_KEY_LEN];
	struct ctl_config cfg;
	char *listen[1], *domains[1];
	int64_t agent, audit;
	uint64_t ref;
};

/* The first proof row, copied. */
struct proof_seen {
	char peer_ip[64];
	int64_t hops;
	bool bounce, multihop;
};

static int proof_first(void *arg, const struct store_proof_row *r)
{
	struct proof_seen *p = arg;

	snprintf(p->peer_ip, sizeof(p->peer_ip), "%s", r->peer_ip);
	p->hops = r->hops;
	p->bounce = r->bounce;
	p->multihop = r->multihop;
	return 0;
}

static int setup(void **state)
{
	struct tfx *f = calloc(1, sizeof(*f));
	struct store *s;
	struct store_agent a = {
	    .name = "far", .curve_public = "c", .ed25519_public = "e", .fingerprint = "f"};
	struct store_order so = {0};
	struct wire_order o = {0};
	char *targets[1] = {(char *)"192.0.2.11"}, *tests[1] = {(char *)"external-sender"};
	char err[256], empty[1] = "", tls[] = "auto";
	uint8_t *body = NULL;
	size_t len = 0;
	uint64_t seq;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rp-ctl-canary-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/controller.db", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/canary.key", f->dir);
	assert_int_equal(canary_key_load_or_create(f->key, f->k, err, sizeof(err)), 0);
	s = store_open(f->db, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_agent_upsert(s, &a, 100, &f->agent, NULL), 0);
	assert_int_equal(store_agent_approve(s, f->agent), 0);
	assert_int_equal(store_audit_create(s, NULL, 100, &f->audit), 0);
	assert_int_equal(store_next_sequence(s, f->agent, &seq), 0);
	assert_int_equal(store_canary_next_ref(s, &f->ref), 0);
	o.protocol_version = WIRE_PROTOCOL_VERSION;
	o.audience = (char *)"far";
	o.order_id = (char *)"o1";
	o.sequence = seq;
	o.issued_at_ms = 1;
	o.expires_at_ms = 2;
	o.spec = (struct wire_spec){.targets = targets,
	                            .n_targets = 1,
	                            .tests = tests,
	                            .n_tests = 1,
	                            .tls_policy = tls,
	                            .rcpt_to = empty,
	                            .mail_from = empty,
	                            .ehlo_name = empty,
	                            .canary_domain = empty};
	assert_int_equal(wire_order_draft(&o, &body, &len), 0);
	so.id = "o1";
	so.audit_id = f->audit;
	so.agent_id = f->agent;
	so.sequence = seq;
	so.body = body;
	so.body_len = len;
	so.canary_ref = f->ref;
	assert_int_equal(store_order_add(s, &so, time(NULL)), 0);
	free(body);
	store_close(&s);
	f->listen[0] = (char *)"127.0.0.1:0";
	f->domains[0] = (char *)DOMAIN;
	memcpy(f->cfg.canary_listen, f->listen, sizeof(f->listen));
	f->cfg.n_canary_listen = 1;
	memcpy(f->cfg.canary_domains, f->domains, sizeof(f->domains));
	f->cfg.n_canary_domains = 1;
	f->cfg.database = f->db;
	f->cfg.canary_wait = 30;
	f->cfg.canary_late = 7 * 86400;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct tfx *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", f->dir);
	free(f);
	return 0;
}

static int dial(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {.tv_sec = 10};

	assert_true(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads one whole reply (multi-line: up to "DDD "); returns its code. */
static int reply(int fd)
{
	char buf[4096];
	size_t n = 0;

	for (;;) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		char *line;

		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		/* the last complete line decides */
		line = buf;
		for (char *p = buf; (p = strstr(p, "\r\n")) != NULL; p += 2) {
			if (p - line >= 4 && line[3] == ' ')
				return (int)strtol(line, NULL, 10); /* "DDD ": 3 digits */
			line = p + 2;
		}
		if (n == sizeof(buf) - 1)
			return -1;
	}
}

static int say(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), 0), (ssize_t)strlen(text));
	return reply(fd);
}

static void token(const struct tfx *f, uint64_t ref, bool bounce, char *out)
{
	struct canary_ref r = {.order_ref = ref,
	                       .target = 0,
	                       .test = (uint8_t)relay_test_index("external-sender"),
	                       .bounce = bounce};

	assert_int_equal(canary_token_make(f->k, &r, out, CANARY_LOCAL_MAX + 1), 0);
}

/* One message to rcpt_local; the code of the reply to RCPT, and (when it was
 * 250) of the end of DATA in *end. */
static int deliver(int fd, const char *sender, const char *rcpt_local, int *end)
{
	char cmd[512];
	int rc;

	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", sender);
	assert_int_equal(say(fd, cmd), 250);
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s@%s>\r\n", rcpt_local, DOMAIN);
	rc = say(fd, cmd);
	if (rc != 250) {
		assert_int_equal(say(fd, "RSET\r\n"), 250);
		return rc;
	}
	assert_int_equal(say(fd, "DATA\r\n"), 354);
	snprintf(cmd, sizeof(cmd),
	         "Received: from probe.example.net (probe.example.net [198.51.100.10])\r\n"
	         "\tby open.example.com (Postfix) with ESMTP id 4Xyz; Tue, 1 Dec 2026 "
	         "10:00:00 +0000\r\n"
	         "Subject: relayprobe open relay test external-sender %s\r\n"
	         "Message-ID: <%s.1@probe.example.net>\r\n\r\nToken: %s\r\n.\r\n",
	         rcpt_local, rcpt_local, rcpt_local);
	*end = say(fd, cmd);
	return rc;
}

static void test_arrival_survives_sigkill_after_250(void **state)
{
	struct tfx *f = *state;
	int pfd[2], fd, end = 0, status;
	unsigned port = 0;
	pid_t pid;
	char tok[CANARY_LOCAL_MAX + 1], err[256];
	struct store *s;
	struct store_result r = {.agent_id = f->agent,
	                         .order_id = "o1",
	                         .target = "192.0.2.11",
	                         .address = "192.0.2.11",
	                         .port = 25,
	                         .verdict = DV_OPEN,
	                         .result_json = "{\"tests\":[{\"id\":\"external-sender\","
	                                        "\"outcome\":\"accepted\",\"data\":true}]}"};

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ctl_canary *k = ctl_canary_start(&f->cfg, err, sizeof(err));

		port = k ? ctl_canary_port(k, 0) : 0;
		if (write(pfd[1], &port, sizeof(port)) != sizeof(port))
			_exit(2);
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &port, sizeof(port)), (ssize_t)sizeof(port));
	close(pfd[0]);
	assert_true(port > 0);
	fd = dial(port);
	assert_int_equal(reply(fd), 220);
	assert_int_equal(say(fd, "EHLO open.example.com\r\n"), 250);
	token(f, f->ref, false, tok);
	assert_int_equal(deliver(fd, "rp-b-x@" DOMAIN, tok, &end), 250);
	assert_int_equal(end, 250);
	/* the 250 is read: the listener dies now, without a chance to flush */
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	close(fd);

	s = store_open(f->db, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_canary_count(s, false), 1);
	/* the result comes after the mail: it is matched on ingest */
	assert_int_equal(store_result_ingest(s, &r, time(NULL)), STORE_INGEST_NEW);
	{
		struct proof_seen p = {0};

		assert_int_equal(store_canary_proof(s, f->audit, "192.0.2.11", proof_first, &p), 1);
		assert_false(p.bounce);
		assert_string_equal(p.peer_ip, "127.0.0.1");
		assert_int_equal(p.hops, 1);
		assert_true(p.multihop); /* 127.0.0.1 was not tested */
	}
	store_close(&s);
	{
		sqlite3 *db;
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL),
		                 SQLITE_OK);
		assert_int_equal(
		    sqlite3_prepare_v2(db, "SELECT verdict, canary FROM results", -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "open-confirmed");
		assert_string_equal((const char *)sqlite3_column_text(st, 1), "delivered");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static void test_forged_and_unknown_tokens(void **state)
{
	struct tfx *f = *state;
	struct ctl_canary *k;
	struct ctl_canary_stats cs;
	struct store *s;
	char tok[CANARY_LOCAL_MAX + 1], err[256];
	int fd, end = 0;

	k = ctl_canary_start(&f->cfg, err, sizeof(err));
	if (k == NULL)
		fail_msg("ctl_canary_start: %s", err);
	fd = dial(ctl_canary_port(k, 0));
	assert_int_equal(reply(fd), 220);
	assert_int_equal(say(fd, "EHLO relay.example.com\r\n"), 250);
	/* one character of a good token changed: refused at RCPT */
	token(f, f->ref, false, tok);
	tok[10] = tok[10] == 'a' ? 'b' : 'a';
	assert_int_equal(deliver(fd, "x@example.com", tok, &end), 550);
	/* another domain: refused */
	assert_int_equal(say(fd, "MAIL FROM:<x@example.com>\r\n"), 250);
	assert_int_equal(say(fd, "RCPT TO:<rp-x@example.com>\r\n"), 550);
	assert_int_equal(say(fd, "RSET\r\n"), 250);
	/* a token made with the key for an order that does not exist: taken
	 * at RCPT (the MAC is right), dropped after DATA, nothing stored */
	token(f, f->ref + 100, false, tok);
	assert_int_equal(deliver(fd, "x@example.com", tok, &end), 250);
	assert_int_equal(end, 250);
	/* a bounce to the sender token of the real order: backscatter */
	token(f, f->ref, true, tok);
	assert_int_equal(deliver(fd, "", tok, &end), 250);
	assert_int_equal(end, 250);
	assert_int_equal(say(fd, "QUIT\r\n"), 221);
	close(fd);
	ctl_canary_stats(k, &cs);
	assert_int_equal(cs.unknown_tokens, 2);
	assert_int_equal(cs.bounces, 1);
	assert_int_equal(cs.arrivals, 0);
	ctl_canary_stop(&k);
	assert_null(k);
	s = store_open(f->db, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_canary_count(s, false), 1);
	assert_int_equal(store_canary_count(s, true), 1);
	store_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_arrival_survives_sigkill_after_250, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_forged_and_unknown_tokens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
