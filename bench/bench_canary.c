/* bench_canary.c - how many messages a second the canary listener takes:
 * starts a canary_server on 127.0.0.1 (port 0, caps raised, a commit
 * callback that only counts) and N client threads, each from its own
 * loopback address (127.0.1.x), delivering messages over sessions of
 * --per-session messages (MAIL/RCPT/DATA pipelined as RFC 2920 allows,
 * optionally after STARTTLS). Prints messages/s and the largest session
 * footprint the server saw. Bounds: --threads <= BENCH_THREADS_MAX.
 * Built with RP_BENCH_STORE (target bench_canary_store), -S DIR runs the
 * controller's canary instead (ctl_canary.c: real tokens, every arrival
 * committed to a SQLite store in DIR before its 250, one order of 100
 * targets whose results await their delivery) and measures how long a
 * verdict takes to show open-confirmed after the 250. */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "canary_server.h"
#ifdef RP_BENCH_STORE
#include <sqlite3.h>

#include "canary_token.h"
#include "ctl_canary.h"
#include "envelope.h"
#include "relay_tests.h"
#include "store_canary.h"

#define BENCH_TARGETS 100
static char tokens[BENCH_TARGETS * RP_TESTS_MAX][CANARY_LOCAL_MAX + 1];
static size_t ntokens;
#endif

#define BENCH_THREADS_MAX 64

static const char *const domains[] = {"canary.example.net"};
static const char *const listen_addr[] = {"127.0.0.1:0"};
static atomic_ulong committed;
static unsigned port, msgs_per_thread = 500, per_session = 10;
static bool use_tls;
static atomic_ulong failures;

static int commit_cb(void *arg, const struct canary_arrival *a, char *why, size_t whylen)
{
	(void)arg;
	(void)why;
	(void)whylen;
	if (a->ntokens > 0)
		atomic_fetch_add(&committed, 1);
	return 0;
}

struct conn {
	int fd;
	SSL *ssl;
	char buf[8192];
	size_t len;
};

static int c_write(struct conn *c, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = c->ssl ? SSL_write(c->ssl, s, (int)n) : send(c->fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads replies until `count` final lines ("ddd "); returns the last code. */
static int c_replies(struct conn *c, int count)
{
	int code = 0;

	while (count > 0) {
		char *eol = memchr(c->buf, '\n', c->len);

		if (eol == NULL) {
			ssize_t n =
			    c->ssl
			        ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len))
			        : recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

			if (n <= 0)
				return -1;
			c->len += (size_t)n;
			continue;
		}
		if (eol - c->buf >= 4 && c->buf[3] == ' ') {
			code = (c->buf[0] - '0') * 100 + (c->buf[1] - '0') * 10 + (c->buf[2] - '0');
			count--;
		}
		c->len -= (size_t)(eol + 1 - c->buf);
		memmove(c->buf, eol + 1, c->len);
	}
	return code;
}

static void *client(void *arg)
{
	unsigned idx = (unsigned)(uintptr_t)arg, sent = 0, seq = 0;
	SSL_CTX *ctx = use_tls ? SSL_CTX_new(TLS_client_method()) : NULL;
	char msg[1024], cmds[512];

	while (sent < msgs_per_thread) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		struct conn c = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
		unsigned k;

		inet_pton(AF_INET, "127.0.1.0", &a.sin_addr);
		a.sin_addr.s_addr = htonl(ntohl(a.sin_addr.s_addr) + 1 + idx);
		if (bind(c.fd, (struct sockaddr *)&a, sizeof(a)) != 0)
			goto fail;
		a.sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		if (connect(c.fd, (struct sockaddr *)&a, sizeof(a)) != 0 || c_replies(&c, 1) != 220)
			goto fail;
		if (c_write(&c, "EHLO bench.example\r\n", 20) || c_replies(&c, 1) != 250)
			goto fail;
		if (use_tls) {
			if (c_write(&c, "STARTTLS\r\n", 10) || c_replies(&c, 1) != 220)
				goto fail;
			c.ssl = SSL_new(ctx);
			SSL_set_fd(c.ssl, c.fd);
			if (SSL_connect(c.ssl) != 1 || c_write(&c, "EHLO bench.example\r\n", 20) ||
			    c_replies(&c, 1) != 250)
				goto fail;
		}
		for (k = 0; k < per_session && sent < msgs_per_thread; k++, sent++, seq++) {
			char rcpt[64];
			int n;

			snprintf(rcpt, sizeof(rcpt), "rp-%u-%u", idx, seq);
#ifdef RP_BENCH_STORE
			if (ntokens > 0)
				snprintf(rcpt, sizeof(rcpt), "%s",
				         tokens[(idx * msgs_per_thread + seq) % ntokens]);
#endif
			n = snprintf(cmds, sizeof(cmds),
			             "MAIL FROM:<rp-s%u-%u@probe.example>\r\n"
			             "RCPT TO:<%s@canary.example.net>\r\nDATA\r\n",
			             idx, seq, rcpt);
			int m =
			    snprintf(msg, sizeof(msg),
			             "Received: from helo.example (rdns.example [192.0.2.1])\r\n"
			             "\tby relay.example (Postfix) with ESMTP id %u\r\n"
			             "Message-ID: <rp-m%u-%u@probe.example>\r\n"
			             "Subject: relay test rp-%u-%u\r\n\r\n"
			             "This message tests relaying, token rp-%u-%u.\r\n.\r\n",
			             seq, idx, seq, idx, seq, idx, seq);

			if (c_write(&c, cmds, (size_t)n) || c_replies(&c, 3) != 354 ||
			    c_write(&c, msg, (size_t)m) || c_replies(&c, 1) != 250)
				goto fail;
		}
		c_write(&c, "QUIT\r\n", 6);
		c_replies(&c, 1);
		if (c.ssl)
			SSL_free(c.ssl);
		close(c.fd);
		continue;
	fail:
		atomic_fetch_add(&failures, 1);
		if (c.ssl)
			SSL_free(c.ssl);
		close(c.fd);
		if (atomic_load(&failures) > 100)
			break;
	}
	SSL_CTX_free(ctx);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#ifdef RP_BENCH_STORE
/* A store in dir with one order of BENCH_TARGETS targets x every relay test,
 * a result awaiting its delivery per target, and the tokens of it all. */
static int store_setup(const char *dir, struct ctl_config *cfg, char *db, size_t dblen)
{
	static char *lst[1] = {(char *)"127.0.0.1:0"}, *dom[1] = {(char *)"canary.example.net"};
	static char tv[BENCH_TARGETS][32];
	char *targets[BENCH_TARGETS], *tests[RP_TESTS_MAX], key[512], err[256], empty[1] = "";
	char tls[] = "auto";
	uint8_t k[CANARY_KEY_LEN], *body = NULL;
	size_t idx[RP_TESTS_MAX], nt = 0, len = 0, ncat;
	const struct relay_test_def *cat = relay_tests_all(&ncat);
	struct store_agent a = {
	    .name = "bench", .curve_public = "c", .ed25519_public = "e", .fingerprint = "f"};
	struct store_order so = {0};
	struct wire_order o = {0};
	struct store *s;
	int64_t agent, audit;
	uint64_t seq, ref;

	snprintf(db, dblen, "%s/controller.db", dir);
	snprintf(key, sizeof(key), "%s/canary.key", dir);
	if (canary_key_load_or_create(key, k, err, sizeof(err)) < 0 ||
	    (s = store_open(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_canary: %s\n", err);
		return -1;
	}
	relay_tests_select("all", idx, RP_TESTS_MAX, &nt, err, sizeof(err));
	for (size_t i = 0; i < nt; i++)
		tests[i] = (char *)cat[idx[i]].id;
	for (size_t i = 0; i < BENCH_TARGETS; i++) {
		snprintf(tv[i], sizeof(tv[i]), "192.0.2.%zu", i + 1);
		targets[i] = tv[i];
	}
	store_agent_upsert(s, &a, 1, &agent, NULL);
	store_agent_approve(s, agent);
	store_audit_create(s, NULL, 1, &audit);
	store_next_sequence(s, agent, &seq);
	store_canary_next_ref(s, &ref);
	o.protocol_version = WIRE_PROTOCOL_VERSION;
	o.audience = (char *)"bench";
	o.order_id = (char *)"bench-1";
	o.sequence = seq;
	o.issued_at_ms = 1;
	o.expires_at_ms = 2;
	o.spec = (struct wire_spec){.targets = targets,
	                            .n_targets = BENCH_TARGETS,
	                            .tests = tests,
	                            .n_tests = nt,
	                            .tls_policy = tls,
	                            .rcpt_to = empty,
	                            .mail_from = empty,
	                            .ehlo_name = empty,
	                            .canary_domain = empty};
	if (wire_order_draft(&o, &body, &len) < 0)
		return -1;
	so.id = "bench-1";
	so.audit_id = audit;
	so.agent_id = agent;
	so.sequence = seq;
	so.body = body;
	so.body_len = len;
	so.canary_ref = ref;
	if (store_order_add(s, &so, time(NULL)) < 0)
		return -1;
	free(body);
	for (size_t t = 0; t < BENCH_TARGETS; t++) {
		struct store_result r = {.agent_id = agent,
		                         .order_id = "bench-1",
		                         .target = tv[t],
		                         .address = tv[t],
		                         .port = 25,
		                         .verdict = DV_OPEN,
		                         .result_json =
		                             "{\"tests\":[{\"id\":\"external-sender\","
		                             "\"outcome\":\"accepted\",\"data\":true}]}"};

		store_result_ingest(s, &r, time(NULL));
		for (size_t j = 0; j < nt; j++) {
			struct canary_ref cr = {
			    .order_ref = ref, .target = (uint16_t)t, .test = (uint8_t)idx[j]};

			/* by test, then target: any 100 messages in a row reach every target */
			canary_token_make(k, &cr, tokens[j * BENCH_TARGETS + t],
			                  CANARY_LOCAL_MAX + 1);
			ntokens++;
		}
	}
	store_close(&s);
	cfg->canary_listen[0] = lst[0];
	cfg->n_canary_listen = 1;
	cfg->canary_domains[0] = dom[0];
	cfg->n_canary_domains = 1;
	cfg->database = db;
	cfg->canary_wait = 3600;
	cfg->canary_late = 86400;
	cfg->canary_peer_msgs = 100000;
	return 0;
}

/* Results of the bench order still not open-confirmed (a second handle). */
static long unconfirmed(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long n = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM results WHERE verdict <> 'open-confirmed'",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}
#endif

int main(int argc, char **argv)
{
	struct canary_server_params p;
	struct canary_server_stats st;
	struct canary_server *s;
	pthread_t th[BENCH_THREADS_MAX];
	unsigned threads = 8, i;
	struct rusage ru;
	char err[256];
	double t0, dt;
	int opt;

#ifdef RP_BENCH_STORE
	const char *store_dir = NULL;
	struct ctl_config cfg = {0};
	struct ctl_canary *kc = NULL;
	char db[512];
#endif

	while ((opt = getopt(argc, argv, "t:n:m:TS:")) != -1) {
		switch (opt) {
#ifdef RP_BENCH_STORE
		case 'S':
			store_dir = optarg;
			break;
#endif
		case 't':
			threads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			msgs_per_thread = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			per_session = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			use_tls = true;
			break;
		default:
			fprintf(stderr,
			        "usage: %s [-t threads] [-n msgs/thread] [-m msgs/session] [-T]\n",
			        argv[0]);
			return 2;
		}
	}
	if (threads < 1 || threads > BENCH_THREADS_MAX || per_session < 1 ||
	    per_session > RP_CANARY_MSGS_PER_SESSION) {
		fprintf(stderr, "bench_canary: 1-%d threads, 1-%d messages a session\n",
		        BENCH_THREADS_MAX, RP_CANARY_MSGS_PER_SESSION);
		return 2;
	}
	memset(&p, 0, sizeof(p));
	p.listen = listen_addr;
	p.nlisten = 1;
	p.domains = domains;
	p.ndomains = 1;
	p.hostname = "canary.bench";
	p.starttls = use_tls;
	p.peer_conn_per_min = 1000000;
	p.peer_msgs_per_min = 1000000;
	p.peer_bytes_per_min = (size_t)1 << 40;
	p.commit = commit_cb;
#ifdef RP_BENCH_STORE
	if (store_dir != NULL) {
		if (store_setup(store_dir, &cfg, db, sizeof(db)) < 0 ||
		    (kc = ctl_canary_start(&cfg, err, sizeof(err))) == NULL) {
			fprintf(stderr, "bench_canary: store: %s\n", err);
			return 1;
		}
		port = ctl_canary_port(kc, 0);
		s = NULL;
	} else
#endif
	{
		s = canary_server_start(&p, err, sizeof(err));
		if (s == NULL) {
			fprintf(stderr, "bench_canary: %s\n", err);
			return 1;
		}
		port = canary_server_port(s, 0);
	}
	t0 = now_s();
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, client, (void *)(uintptr_t)i);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	dt = now_s() - t0;
#ifdef RP_BENCH_STORE
	if (kc != NULL) {
		struct ctl_canary_stats cs;
		double t1 = now_s();
		long left;

		/* every delivery was committed before its 250: no result may still
		 * wait once the clients are done (the time to see it is the upgrade
		 * latency's upper bound) */
		while ((left = unconfirmed(db)) > 0 && now_s() - t1 < 5)
			usleep(1000);
		ctl_canary_stats(kc, &cs);
		printf("bench_canary: store=yes threads=%u arrivals=%" PRIu64 " seconds=%.3f "
		       "arrivals_per_s=%.0f failures=%lu results_unconfirmed=%ld "
		       "upgrade_visible_after_ms=%.1f\n",
		       threads, cs.arrivals, dt, (double)cs.arrivals / dt,
		       (unsigned long)atomic_load(&failures), left, (now_s() - t1) * 1000.0);
		ctl_canary_stop(&kc);
		return atomic_load(&failures) == 0 && left == 0 ? 0 : 1;
	}
#endif
	canary_server_stats(s, &st);
	getrusage(RUSAGE_SELF, &ru);
	printf("bench_canary: threads=%u messages=%lu per_session=%u tls=%s seconds=%.3f "
	       "messages_per_s=%.0f sessions=%" PRIu64 " failures=%lu footprint_max=%" PRIu64
	       " footprint_limit=%d maxrss_kib=%ld\n",
	       threads, (unsigned long)atomic_load(&committed), per_session, use_tls ? "yes" : "no",
	       dt, (double)atomic_load(&committed) / dt, st.sessions,
	       (unsigned long)atomic_load(&failures), st.footprint_max, RP_CANARY_FOOTPRINT_MAX,
	       ru.ru_maxrss);
	canary_server_stop(&s);
	return atomic_load(&failures) == 0 && st.footprint_max <= RP_CANARY_FOOTPRINT_MAX ? 0 : 1;
}
