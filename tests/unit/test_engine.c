/* test_engine.c - the engine with the real dialog against scripted SMTP
 * servers and a fake DNS server, all in this process on loopback: verdicts
 * (closed, open, refused, silent), politeness, rate and concurrency limits,
 * STARTTLS and implicit TLS facts, source address, IPv6, MX resolution and
 * stopping; hostile servers: huge DH groups and certificate keys,
 * renegotiation, tarpits against the dialog and run deadlines. Servers are
 * threads (tests/lib/fake_smtp); every socket is on 127.0.0.0/8 or ::1.
 * Over 800 lines: one program for the engine (one per module), and each
 * scenario needs servers and assertions of its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine.h"
#include "fake_smtp.h"

/* The scripted SMTP servers are tests/lib/fake_smtp.[ch]. */

/* ---- a self-signed certificate, made in memory ---- */

static SSL_CTX *g_server_tls;
static X509 *g_cert;
static EVP_PKEY *g_key;

static int group_setup(void **state)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509V3_CTX v3;
	if (!pkey || !x)
		return -1;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_set_pubkey(x, pkey);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Scripted", -1, -1,
	                           0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"mx.test", -1, -1,
	                           0);
	X509_set_issuer_name(x, n);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext =
	    X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:mx.test,IP:127.0.0.1");
	if (!ext)
		return -1;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, pkey, EVP_sha256()))
		return -1;
	g_server_tls = SSL_CTX_new(TLS_server_method());
	if (!g_server_tls || SSL_CTX_use_certificate(g_server_tls, x) != 1 ||
	    SSL_CTX_use_PrivateKey(g_server_tls, pkey) != 1)
		return -1;
	g_cert = x;
	g_key = pkey;
	(void)state;
	return 0;
}

static int group_teardown(void **state)
{
	SSL_CTX_free(g_server_tls);
	X509_free(g_cert);
	EVP_PKEY_free(g_key);
	(void)state;
	return 0;
}

/* ---- running the engine ---- */

struct cap {
	int verdict;
	char reason[256], host[256], mx_domain[256], address[64], local_domain[256];
	int mx_pref;
	uint16_t port;
	bool dialog, tls;
	struct dialog_tls_info tlsinfo;
	unsigned sessions;
	uint64_t started, finished;
	char events[8192]; /* the transcript's event and error lines */
};

struct caps {
	struct cap c[32];
	size_t n;
	struct engine *e;
	bool stop_on_first;
	bool stop_when_running;
};

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void on_result(const struct probe_result *r, void *arg)
{
	struct caps *cs = arg;
	if (cs->n >= 32)
		return;
	struct cap *c = &cs->c[cs->n++];
	c->verdict = r->verdict;
	copy(c->reason, sizeof(c->reason), r->reason);
	copy(c->host, sizeof(c->host), r->host);
	copy(c->mx_domain, sizeof(c->mx_domain), r->mx_domain);
	copy(c->address, sizeof(c->address), r->address);
	c->mx_pref = r->mx_pref;
	c->port = r->port;
	c->started = r->started_ms;
	c->finished = r->finished_ms;
	c->dialog = r->dialog != NULL;
	if (r->dialog) {
		const struct dialog_tls_info *ti = dialog_tls(r->dialog);
		c->tls = ti != NULL;
		if (ti)
			c->tlsinfo = *ti;
		copy(c->local_domain, sizeof(c->local_domain), dialog_local_domain(r->dialog));
		c->sessions = dialog_sessions(r->dialog);
		const struct transcript *tr = dialog_transcript(r->dialog);
		size_t used = 0;
		c->events[0] = '\0';
		for (size_t i = 0; i < transcript_count(tr); i++) {
			struct tr_entry te;
			if (transcript_get(tr, i, &te) < 0 ||
			    (te.dir != TR_EVENT && te.dir != TR_ERROR))
				continue;
			int n =
			    snprintf(c->events + used, sizeof(c->events) - used, "%s\n", te.text);
			if (n < 0 || (size_t)n >= sizeof(c->events) - used)
				break;
			used += (size_t)n;
		}
	}
	if (cs->stop_on_first)
		engine_stop(cs->e);
}

static void on_progress(size_t queued, size_t running, size_t done, void *arg)
{
	struct caps *cs = arg;
	if (cs->stop_when_running && running > 0)
		engine_stop(cs->e);
	(void)queued;
	(void)done;
}

static size_t g_tests[2];

static void base_params(struct engine_params *p)
{
	engine_params_defaults(p);
	g_tests[0] = (size_t)relay_test_index("external-sender");
	g_tests[1] = (size_t)relay_test_index("null-sender");
	p->dialog.tests = g_tests;
	p->dialog.ntests = 2;
	p->dialog.ehlo_name = "probe.test";
	p->dialog.from_local = "probe";
	p->dialog.to_local = "relaytest";
	p->dialog.to_domain = "external.test";
	p->dialog.tls = DLG_TLS_OFF;
	p->dialog.connect_ms = 2000;
	p->dialog.banner_ms = 3000;
	p->dialog.command_ms = 3000;
	p->dialog.data_ms = 3000;
	p->dialog.reconnect_ms = 50;
	p->dialog.retry_after_ms = 100;
	p->rate = 0;
	p->pause_ms = 0;
	p->concurrency = 100;
	p->dns_timeout_ms = 2000;
	p->use_mx = false;
}

static void add_target(struct engine *e, const char *host, uint16_t port, bool port_given)
{
	struct target_spec t;
	unsigned char tmp[16];
	memset(&t, 0, sizeof(t));
	copy(t.host, sizeof(t.host), host);
	t.port = port;
	t.port_given = port_given;
	t.family = inet_pton(AF_INET, host, tmp) == 1    ? AF_INET
	           : inet_pton(AF_INET6, host, tmp) == 1 ? AF_INET6
	                                                 : 0;
	snprintf(t.text, sizeof(t.text), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
	         (unsigned)port);
	if (!port_given)
		copy(t.text, sizeof(t.text), host);
	assert_int_equal(engine_add(e, &t), 0);
}

static struct engine *new_engine(const struct engine_params *p)
{
	char err[256] = "";
	struct engine *e = engine_new(p, err, sizeof(err));
	if (!e)
		fail_msg("engine_new: %s", err);
	return e;
}

static const struct cap *find_host(const struct caps *cs, const char *host)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->c[i].host, host) == 0)
			return &cs->c[i];
	return NULL;
}

/* ---- verdicts ---- */

static void test_closed_and_open(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp closed, open;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&closed, "127.0.0.1", FAKE_SMTP_CLOSED, &g), 0);
	assert_int_equal(fake_smtp_listen(&open, "127.0.0.2", FAKE_SMTP_OPEN, &g), 0);
	assert_int_equal(fake_smtp_run(&closed), 0);
	assert_int_equal(fake_smtp_run(&open), 0);
	base_params(&p);
	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.1", closed.port, true);
	add_target(e, "127.0.0.2", open.port, true);
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	assert_int_equal(cs.n, 2);
	for (size_t i = 0; i < cs.n; i++) {
		assert_true(cs.c[i].dialog);
		if (strcmp(cs.c[i].address, "127.0.0.1") == 0) {
			assert_int_equal(cs.c[i].verdict, DV_CLOSED);
			assert_int_equal(cs.c[i].port, closed.port);
		} else {
			assert_string_equal(cs.c[i].address, "127.0.0.2");
			assert_int_equal(cs.c[i].verdict, DV_OPEN);
		}
		assert_true(cs.c[i].finished >= cs.c[i].started);
		assert_string_equal(cs.c[i].host, ""); /* address targets have no host */
		assert_int_equal(cs.c[i].mx_pref, -1);
	}
	assert_true(engine_peak_dialogs(e) >= 1);
	engine_free(&e);
	assert_null(e);
	assert_int_equal(fake_smtp_stop(&closed), 0);
	assert_int_equal(fake_smtp_stop(&open), 0);
	(void)state;
}

static void test_refused(void **state)
{
	struct engine_params p;
	struct caps cs = {0};
	base_params(&p);
	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.1", fake_smtp_closed_port(), true);
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	assert_int_equal(cs.n, 1);
	assert_true(cs.c[0].dialog);
	assert_int_equal(cs.c[0].verdict, DV_UNREACHABLE);
	assert_non_null(strstr(cs.c[0].reason, "refused"));
	engine_free(&e);
	(void)state;
}

static void test_silent_banner_timeout(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp s;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&s, "127.0.0.1", FAKE_SMTP_SILENT, &g), 0);
	assert_int_equal(fake_smtp_run(&s), 0);
	base_params(&p);
	p.dialog.banner_ms = 300;
	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.1", s.port, true);
	uint64_t t0 = engine_now_ms();
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	uint64_t took = engine_now_ms() - t0;
	assert_int_equal(cs.n, 1);
	assert_int_equal(cs.c[0].verdict, DV_ERROR);
	assert_non_null(strstr(cs.c[0].reason, "timeout"));
	assert_true(took >= 300 && took < 2500);
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&s), 0);
	(void)state;
}

/* ---- politeness, rate, concurrency ---- */

static void test_politeness(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp a, b;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&a, "127.0.0.1", FAKE_SMTP_CLOSED, &g), 0);
	assert_int_equal(fake_smtp_listen(&b, "127.0.0.1", FAKE_SMTP_CLOSED, &g), 0);
	a.hold_ms = b.hold_ms = 60;
	assert_int_equal(fake_smtp_run(&a), 0);
	assert_int_equal(fake_smtp_run(&b), 0);
	base_params(&p);
	p.pause_ms = 150;
	struct engine *e = new_engine(&p);
	/* Same address twice, and a second port on the same IP. */
	add_target(e, "127.0.0.1", a.port, true);
	add_target(e, "127.0.0.1", a.port, true);
	add_target(e, "127.0.0.1", b.port, true);
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	assert_int_equal(cs.n, 3);
	for (size_t i = 0; i < cs.n; i++)
		assert_int_equal(cs.c[i].verdict, DV_CLOSED);
	assert_int_equal(fake_smtp_stop(&a), 0);
	assert_int_equal(fake_smtp_stop(&b), 0);
	assert_int_equal(g.total, 3);
	assert_int_equal(g.max, 1); /* never two sessions at once */
	/* Sessions in accept order; each starts a pause after the last ended. */
	for (int i = 0; i < g.total; i++)
		for (int k = 0; k < g.total; k++)
			if (g.t_accept[k] > g.t_accept[i] && g.t_accept[k] < g.t_end[i])
				fail_msg("session %d started inside session %d", k, i);
	for (int i = 0; i < g.total; i++) {
		uint64_t next = UINT64_MAX;
		for (int k = 0; k < g.total; k++)
			if (g.t_accept[k] > g.t_accept[i] && g.t_accept[k] < next)
				next = g.t_accept[k];
		if (next != UINT64_MAX && next < g.t_end[i] + 150 - 30)
			fail_msg("pause not kept: next session %llu ms after the end",
			         (unsigned long long)(next - g.t_end[i]));
	}
	engine_free(&e);
	(void)state;
}

static void test_rate_and_concurrency(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp s[5];
	struct engine_params p;
	struct caps cs = {0};
	char addr[32];
	fake_smtp_group_init(&g);
	for (int i = 0; i < 5; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.%d", 11 + i);
		assert_int_equal(fake_smtp_listen(&s[i], addr, FAKE_SMTP_CLOSED, &g), 0);
		s[i].hold_ms = 100;
		assert_int_equal(fake_smtp_run(&s[i]), 0);
	}
	/* Concurrency 2: never more than two sessions, peak two dialogs. */
	base_params(&p);
	p.concurrency = 2;
	struct engine *e = new_engine(&p);
	for (int i = 0; i < 5; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.%d", 11 + i);
		add_target(e, addr, s[i].port, true);
	}
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	assert_int_equal(cs.n, 5);
	assert_int_equal(g.total, 5);
	/* The engine's own count is exact. The servers' count lags: a server
	 * thread can accept the next connections before it has read the EOF of
	 * ones the client already closed (one or two on a loaded 2-core CI
	 * machine), so it only has to show that not all five ran at once, as
	 * they would without the cap (each holds its session 100 ms). */
	assert_int_equal(engine_peak_dialogs(e), 2);
	assert_true(g.max < 5);
	engine_free(&e);

	/* Rate 10/s: five connections need at least 0.4 s. */
	struct fake_smtp_group g2;
	fake_smtp_group_init(&g2);
	for (int i = 0; i < 5; i++) {
		s[i].g = &g2;
		s[i].hold_ms = 0;
	}
	memset(&cs, 0, sizeof(cs));
	base_params(&p);
	p.rate = 10;
	e = new_engine(&p);
	for (int i = 0; i < 5; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.%d", 11 + i);
		add_target(e, addr, s[i].port, true);
	}
	uint64_t t0 = engine_now_ms();
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	uint64_t took = engine_now_ms() - t0;
	assert_int_equal(cs.n, 5);
	for (size_t i = 0; i < cs.n; i++)
		assert_int_equal(cs.c[i].verdict, DV_CLOSED);
	if (took < 380)
		fail_msg("rate 10/s: 5 connections in %llu ms", (unsigned long long)took);
	uint64_t first = UINT64_MAX, last = 0;
	for (int i = 0; i < g2.total; i++) {
		first = g2.t_accept[i] < first ? g2.t_accept[i] : first;
		last = g2.t_accept[i] > last ? g2.t_accept[i] : last;
	}
	assert_true(last - first >= 350);
	engine_free(&e);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fake_smtp_stop(&s[i]), 0);
	(void)state;
}

/* ---- TLS ---- */

static void check_tls_info(const struct cap *c)
{
	assert_true(c->tls);
	assert_true(c->tlsinfo.protocol[0] != '\0');
	assert_non_null(strstr(c->tlsinfo.protocol, "TLS"));
	assert_true(c->tlsinfo.cipher[0] != '\0');
	assert_non_null(strstr(c->tlsinfo.subject, "CN=mx.test"));
	assert_string_equal(c->tlsinfo.subject, c->tlsinfo.issuer); /* self-signed */
	assert_int_equal(strlen(c->tlsinfo.not_after), 20);         /* 2025-01-01T00:00:00Z */
	assert_int_equal(c->tlsinfo.not_after[19], 'Z');
	assert_false(c->tlsinfo.chain_ok);
	assert_true(c->tlsinfo.verify_error[0] != '\0');
	assert_true(c->tlsinfo.name_ok); /* SAN IP:127.0.0.1 */
}

static uint64_t cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One server on 127.0.0.1 as o says, one target, one engine run with p:
 * the results in cs, the server's counters in g, the engine's CPU time for
 * the run in *cpu (when cpu is not NULL). */
struct one_srv {
	enum fake_smtp_mode mode;
	SSL_CTX *tls; /* offered with STARTTLS, or from the first byte (implicit) */
	bool implicit, reneg, tls_drop;
};

static void run_one(const struct one_srv *o, const struct engine_params *p, struct caps *cs,
                    struct fake_smtp_group *g, uint64_t *cpu)
{
	struct fake_smtp s;
	fake_smtp_group_init(g);
	assert_int_equal(fake_smtp_listen(&s, "127.0.0.1", o->mode, g), 0);
	s.tls = o->tls;
	s.implicit = o->implicit;
	s.reneg = o->reneg;
	s.tls_drop = o->tls_drop;
	assert_int_equal(fake_smtp_run(&s), 0);
	struct engine *e = new_engine(p);
	add_target(e, "127.0.0.1", s.port, true);
	uint64_t c0 = cpu_ms();
	assert_int_equal(engine_run(e, on_result, cs), 0);
	if (cpu)
		*cpu = cpu_ms() - c0;
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&s), 0);
}

/* STARTTLS against a closed server and implicit TLS against an open one:
 * the tests run over TLS, the verdict is the server's, the TLS facts are
 * recorded. */
static const struct tls_case {
	enum fake_smtp_mode mode;
	bool implicit;
	enum dialog_tls_policy policy;
	enum dialog_verdict verdict;
} tls_cases[] = {
    {FAKE_SMTP_CLOSED, false, DLG_TLS_AUTO, DV_CLOSED},
    {FAKE_SMTP_OPEN, true, DLG_TLS_IMPLICIT, DV_OPEN},
};

static void tls_case_run(const struct tls_case *t)
{
	struct fake_smtp_group g;
	struct engine_params p;
	struct caps cs = {0};
	base_params(&p);
	p.dialog.tls = t->policy;
	run_one(&(struct one_srv){.mode = t->mode, .tls = g_server_tls, .implicit = t->implicit},
	        &p, &cs, &g, NULL);
	assert_int_equal(cs.n, 1);
	assert_int_equal(cs.c[0].verdict, t->verdict);
	check_tls_info(&cs.c[0]);
}

static void test_starttls(void **state)
{
	tls_case_run(&tls_cases[0]);
	(void)state;
}

static void test_implicit_tls(void **state)
{
	tls_case_run(&tls_cases[1]);
	(void)state;
}

static void test_starttls_garbage(void **state)
{
	/* A server that says 220 to STARTTLS but speaks no TLS: the handshake
	 * fails with a reason; auto policy goes on in plain text. */
	struct fake_smtp_group g;
	struct engine_params p;
	struct caps cs = {0};
	SSL_CTX *bad = SSL_CTX_new(TLS_server_method()); /* no certificate */
	base_params(&p);
	p.dialog.tls = DLG_TLS_AUTO;
	run_one(&(struct one_srv){.mode = FAKE_SMTP_CLOSED, .tls = bad}, &p, &cs, &g, NULL);
	assert_int_equal(cs.n, 1);
	assert_false(cs.c[0].tls);
	assert_int_equal(cs.c[0].verdict, DV_CLOSED);
	assert_true(cs.c[0].sessions >= 2);
	SSL_CTX_free(bad);
	(void)state;
}

/* ---- hostile TLS servers ---- */

static int srv_allow_all(const SSL *ssl, const SSL_CTX *ctx, int op, int bits, int nid, void *other,
                         void *ex)
{
	(void)ssl, (void)ctx, (void)op, (void)bits, (void)nid, (void)other, (void)ex;
	return 1;
}

/* A TLS 1.2 server context that offers DHE key exchange only, with a DH
 * group of `bits` bits. The modulus is any odd number of that size (a
 * hostile server needs no prime: the client's cost is the same), so the test
 * makes it in microseconds; the server's own exponent is short (its cost is
 * not what is tested). */
static SSL_CTX *dhe_server_ctx(int bits)
{
	BIGNUM *p = BN_new(), *g = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *dh = NULL;
	SSL_CTX *ctx = NULL;

	if (!p || !g || !bld || !pc || !BN_rand(p, bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) ||
	    !BN_set_word(g, 2) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g) ||
	    !OSSL_PARAM_BLD_push_int(bld, OSSL_PKEY_PARAM_DH_PRIV_LEN, 256) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &dh, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		goto out;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate(ctx, g_cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, g_key) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA") != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
		goto out;
	}
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_security_callback(ctx, srv_allow_all); /* even a 768-bit group */
	SSL_CTX_set_client_hello_cb(ctx, fake_smtp_hello_cb, NULL);
	if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
		goto out;
	}
	dh = NULL; /* the context owns it */
out:
	EVP_PKEY_free(dh);
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(p);
	BN_free(g);
	if (!ctx)
		fail_msg("cannot build a %d-bit DHE server context", bits);
	return ctx;
}

/* How long a slow honest server's dialog takes in a run, alone or beside a
 * hostile one. */
static uint64_t honest_dialog_ms(struct caps *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->c[i].address, "127.0.0.2") == 0) {
			assert_int_equal(cs->c[i].verdict, DV_CLOSED);
			return cs->c[i].finished - cs->c[i].started;
		}
	fail_msg("no result for the honest server");
	return 0;
}

/* A server whose STARTTLS offers a 10,000-bit DH group (the library's own
 * maximum): before the cap the client spent most of a second of CPU on it
 * in the engine's one thread, and every other dialog waited. The handshake
 * is now refused before any computation, with the reason in the
 * transcript; the auto policy goes on in plain text; a slow honest server's
 * dialog in the same run (a reply every 300 ms, about 2 s in all, so it
 * spans the hostile handshake) takes the time it takes alone. */
static void test_tls_dh_too_large(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp hostile, honest;
	struct engine_params p;
	struct caps alone = {0}, cs = {0};
	SSL_CTX *big = dhe_server_ctx(10000);
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&hostile, "127.0.0.1", FAKE_SMTP_CLOSED, &g), 0);
	assert_int_equal(fake_smtp_listen(&honest, "127.0.0.2", FAKE_SMTP_CLOSED, &g), 0);
	hostile.tls = big;
	honest.reply_ms = 300;
	assert_int_equal(fake_smtp_run(&hostile), 0);
	assert_int_equal(fake_smtp_run(&honest), 0);
	base_params(&p);
	p.dialog.tls = DLG_TLS_AUTO;

	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.2", honest.port, true);
	assert_int_equal(engine_run(e, on_result, &alone), 0);
	engine_free(&e);
	uint64_t normal = honest_dialog_ms(&alone);

	e = new_engine(&p);
	add_target(e, "127.0.0.1", hostile.port, true);
	add_target(e, "127.0.0.2", honest.port, true);
	uint64_t c0 = cpu_ms();
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	uint64_t cpu = cpu_ms() - c0;
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&hostile), 0);
	assert_int_equal(fake_smtp_stop(&honest), 0);
	SSL_CTX_free(big);

	uint64_t beside = honest_dialog_ms(&cs);
	print_message("  10000-bit DH server: engine CPU %llu ms for the run; honest dialog "
	              "%llu ms alone, %llu ms beside it\n",
	              (unsigned long long)cpu, (unsigned long long)normal,
	              (unsigned long long)beside);
	assert_int_equal(cs.n, 2);
	for (size_t i = 0; i < cs.n; i++) {
		const struct cap *c = &cs.c[i];
		assert_int_equal(c->verdict, DV_CLOSED);
		if (strcmp(c->address, "127.0.0.1") != 0)
			continue;
		assert_false(c->tls); /* refused, then tested in plain text */
		assert_non_null(strstr(c->events, "TLS handshake failed: server DH group of "
		                                  "10000 bits over the 8192-bit cap"));
		assert_true(c->sessions >= 2);
	}
	assert_true(beside < normal + 300);
	assert_true(cpu < 200); /* one 10000-bit DH computation costs most of a second */
	(void)state;
}

/* The largest group allowed still completes, and its cost is what the
 * per-dialog TLS budget is sized on (printed: docs/architecture.md). */
static void test_tls_dh_at_cap(void **state)
{
	struct fake_smtp_group g;
	struct engine_params p;
	struct caps cs = {0};
	uint64_t cpu;
	SSL_CTX *ctx = dhe_server_ctx(8192);
	base_params(&p);
	p.dialog.tls = DLG_TLS_AUTO;
	run_one(&(struct one_srv){.mode = FAKE_SMTP_CLOSED, .tls = ctx}, &p, &cs, &g, &cpu);
	SSL_CTX_free(ctx);
	print_message("  8192-bit DH server: engine CPU %llu ms for the run\n",
	              (unsigned long long)cpu);
	assert_int_equal(cs.n, 1);
	assert_int_equal(cs.c[0].verdict, DV_CLOSED);
	assert_true(cs.c[0].tls);
	assert_non_null(strstr(cs.c[0].tlsinfo.cipher, "DHE"));
	(void)state;
}

/* A server whose every TLS session costs the most a handshake may (a group
 * at the DH cap) and then hangs up, so that each new session handshakes
 * again: the dialog's TLS CPU budget refuses the next handshake once spent,
 * and the server is tested in plain text. */
static void test_tls_cpu_budget(void **state)
{
	struct fake_smtp_group g;
	struct engine_params p;
	struct caps cs = {0};
	uint64_t cpu;
	SSL_CTX *ctx = dhe_server_ctx(8192);
	base_params(&p);
	p.dialog.tls = DLG_TLS_AUTO;
	p.tls_cpu_budget_ms = 20; /* one handshake at the cap spends it */
	run_one(&(struct one_srv){.mode = FAKE_SMTP_CLOSED, .tls = ctx, .tls_drop = true}, &p, &cs,
	        &g, &cpu);
	SSL_CTX_free(ctx);
	print_message("  engine CPU %llu ms\n%s", (unsigned long long)cpu, cs.c[0].events);
	assert_int_equal(cs.n, 1);
	assert_non_null(strstr(cs.c[0].events, "TLS handshake refused: "));
	assert_non_null(strstr(cs.c[0].events, "the dialog's budget is 20 ms"));
	assert_int_equal(cs.c[0].verdict, DV_CLOSED); /* then tested in plain text */
	(void)state;
}

/* A certificate over the RSA cap in the chain the server sends: refused
 * before any signature is checked, the reason in the transcript. The big
 * key is an extra chain certificate with a 9000-bit public key made of any
 * odd number (no private key needed, none is used). */
static void test_tls_rsa_key_too_large(void **state)
{
	struct fake_smtp_group g;
	struct engine_params p;
	struct caps cs = {0};
	BIGNUM *n = BN_new(), *ev = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *big = NULL;
	X509 *x = X509_new();
	assert_true(n && ev && bld && pc && x);
	assert_true(BN_rand(n, 9000, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) == 1);
	assert_true(BN_set_word(ev, 65537) == 1);
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1);
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ev) == 1);
	assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
	assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
	assert_int_equal(EVP_PKEY_fromdata(pc, &big, EVP_PKEY_PUBLIC_KEY, params), 1);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_set_pubkey(x, big);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)"big.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(g_cert));
	assert_true(X509_sign(x, g_key, EVP_sha256()) > 0);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, g_cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, g_key), 1);
	assert_int_equal(SSL_CTX_add_extra_chain_cert(ctx, x), 1); /* owns x */

	base_params(&p);
	p.dialog.tls = DLG_TLS_AUTO;
	run_one(&(struct one_srv){.mode = FAKE_SMTP_CLOSED, .tls = ctx}, &p, &cs, &g, NULL);
	SSL_CTX_free(ctx);
	EVP_PKEY_free(big);
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(ev);
	print_message("%s", cs.c[0].events);
	assert_int_equal(cs.n, 1);
	assert_false(cs.c[0].tls);
	assert_non_null(strstr(cs.c[0].events, "TLS handshake failed: server certificate RSA key "
	                                       "of 9000 bits over the 8192-bit cap"));
	assert_int_equal(cs.c[0].verdict, DV_CLOSED);
	(void)state;
}

/* The floor is security level 0's own (kept): a 768-bit group is refused,
 * now with the reason, and the server tested in plain text. */
static void test_tls_dh_floor(void **state)
{
	struct fake_smtp_group g;
	struct engine_params p;
	struct caps cs = {0};
	SSL_CTX *ctx = dhe_server_ctx(768);
	base_params(&p);
	p.dialog.tls = DLG_TLS_AUTO;
	run_one(&(struct one_srv){.mode = FAKE_SMTP_CLOSED, .tls = ctx}, &p, &cs, &g, NULL);
	SSL_CTX_free(ctx);
	assert_int_equal(cs.n, 1);
	assert_false(cs.c[0].tls);
	assert_non_null(
	    strstr(cs.c[0].events, "server DH group of 768 bits under the 1024-bit floor"));
	assert_int_equal(cs.c[0].verdict, DV_CLOSED);
	(void)state;
}

/* A server that asks for a renegotiation once TLS is up: the client answers
 * no_renegotiation and never runs a second handshake; the transcript says
 * so, and the auto policy tests the server in plain text. */
static void test_tls_renegotiation_refused(void **state)
{
	struct fake_smtp_group g;
	struct engine_params p;
	struct caps cs = {0};
	SSL_CTX *ctx = dhe_server_ctx(2048);
	base_params(&p);
	p.dialog.tls = DLG_TLS_AUTO;
	run_one(&(struct one_srv){.mode = FAKE_SMTP_CLOSED, .tls = ctx, .reneg = true}, &p, &cs, &g,
	        NULL);
	SSL_CTX_free(ctx);
	print_message("  handshakes %d, renegotiations asked %d\n%s", atomic_load(&g.handshakes),
	              atomic_load(&g.reneg_asked), cs.c[0].events);
	assert_int_equal(cs.n, 1);
	assert_true(atomic_load(&g.reneg_asked) >= 1);
	/* One ClientHello per TLS session, none more: no renegotiation. */
	assert_int_equal(atomic_load(&g.handshakes), atomic_load(&g.reneg_asked));
	assert_non_null(strstr(cs.c[0].events, "renegotiate TLS: refused"));
	assert_int_equal(cs.c[0].verdict, DV_CLOSED);
	(void)state;
}

/* ---- deadlines ---- */

static size_t g_all_tests[RP_TESTS_MAX];

static void all_tests(struct engine_params *p)
{
	char err[128];
	size_t n = 0;
	assert_int_equal(relay_tests_select("all", g_all_tests, RP_TESTS_MAX, &n, err, sizeof(err)),
	                 0);
	p->dialog.tests = g_all_tests;
	p->dialog.ntests = n;
}

/* A tarpit that answers every command 800 ms after it (the command timeout
 * is 1 s) and every RCPT with a 4xx, forever, beside an honest server in
 * the same run: the tarpit's dialog ends at its hard deadline (here 6 s,
 * dialog.deadline_ms) as error with the reason; the honest one is done in
 * its normal time. */
static void test_dialog_deadline_tarpit(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp tarpit, honest;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&tarpit, "127.0.0.1", FAKE_SMTP_TARPIT, &g), 0);
	assert_int_equal(fake_smtp_listen(&honest, "127.0.0.2", FAKE_SMTP_CLOSED, &g), 0);
	tarpit.hold_ms = 800;
	assert_int_equal(fake_smtp_run(&tarpit), 0);
	assert_int_equal(fake_smtp_run(&honest), 0);
	base_params(&p);
	all_tests(&p);
	p.dialog.command_ms = 1000;
	p.dialog.banner_ms = 60000;
	p.dialog.deadline_ms = 6000;
	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.1", tarpit.port, true);
	add_target(e, "127.0.0.2", honest.port, true);
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&tarpit), 0);
	assert_int_equal(fake_smtp_stop(&honest), 0);
	assert_int_equal(cs.n, 2);
	for (size_t i = 0; i < cs.n; i++) {
		const struct cap *c = &cs.c[i];
		uint64_t took = c->finished - c->started;
		print_message("  %s: verdict %d in %llu ms: %s\n", c->address, c->verdict,
		              (unsigned long long)took, c->reason);
		if (strcmp(c->address, "127.0.0.2") == 0) {
			assert_int_equal(c->verdict, DV_CLOSED);
			assert_true(took < 1000);
			continue;
		}
		assert_int_equal(c->verdict, DV_ERROR);
		assert_string_equal(c->reason, "dialog deadline of 6 s passed");
		assert_non_null(strstr(c->events, "Dialog deadline of 6 s passed"));
		assert_true(took >= 6000 && took < 6000 + 500);
	}
	(void)state;
}

/* The run's own deadline: the dialog in flight ends as error with the
 * reason, and the targets never started are reported, not dropped. */
static void test_run_deadline(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp tarpit, closed;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&tarpit, "127.0.0.1", FAKE_SMTP_TARPIT, &g), 0);
	assert_int_equal(fake_smtp_listen(&closed, "127.0.0.2", FAKE_SMTP_CLOSED, &g), 0);
	tarpit.hold_ms = 800;
	assert_int_equal(fake_smtp_run(&tarpit), 0);
	assert_int_equal(fake_smtp_run(&closed), 0);
	base_params(&p);
	all_tests(&p);
	p.dialog.command_ms = 1000;
	p.concurrency = 1; /* the others wait behind the tarpit */
	p.deadline_ms = 3000;
	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.1", tarpit.port, true);
	add_target(e, "127.0.0.2", closed.port, true);
	add_target(e, "127.0.0.3", closed.port, true);
	uint64_t t0 = engine_now_ms();
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	uint64_t took = engine_now_ms() - t0;
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&tarpit), 0);
	assert_int_equal(fake_smtp_stop(&closed), 0);
	for (size_t i = 0; i < cs.n; i++)
		print_message("  %s: verdict %d dialog %d: %s\n", cs.c[i].address, cs.c[i].verdict,
		              cs.c[i].dialog, cs.c[i].reason);
	assert_true(took >= 3000 && took < 3000 + 500);
	assert_int_equal(cs.n, 3);
	size_t notrun = 0;
	for (size_t i = 0; i < cs.n; i++) {
		assert_int_equal(cs.c[i].verdict, DV_ERROR);
		if (cs.c[i].dialog) {
			assert_string_equal(cs.c[i].address, "127.0.0.1");
			assert_string_equal(cs.c[i].reason, "order deadline of 3 s passed");
			assert_non_null(strstr(cs.c[i].events, "order deadline of 3 s passed"));
		} else {
			notrun++;
			assert_string_equal(cs.c[i].reason,
			                    "not run: order deadline of 3 s passed");
		}
	}
	assert_int_equal(notrun, 2);
	assert_int_equal(g.total, 1); /* nothing else was dialled */
	(void)state;
}

/* ---- addresses ---- */

static void test_bind_addr(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp s;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&s, "127.0.0.1", FAKE_SMTP_CLOSED, &g), 0);
	assert_int_equal(fake_smtp_run(&s), 0);
	base_params(&p);
	p.bind_addr = "127.0.0.2";
	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.1", s.port, true);
	add_target(e, "::1", 9, true); /* family mismatch: no packet is sent */
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	assert_int_equal(cs.n, 2);
	assert_int_equal(fake_smtp_stop(&s), 0);
	assert_string_equal(g.peer, "127.0.0.2");
	for (size_t i = 0; i < cs.n; i++) {
		if (strcmp(cs.c[i].address, "::1") == 0) {
			assert_int_equal(cs.c[i].verdict, DV_UNREACHABLE);
			assert_non_null(strstr(cs.c[i].reason, "IPv4"));
		} else {
			assert_int_equal(cs.c[i].verdict, DV_CLOSED);
		}
	}
	engine_free(&e);

	char err[256] = "";
	p.bind_addr = "not-an-address";
	assert_null(engine_new(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "not-an-address"));
	(void)state;
}

static void test_ipv6(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp s;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	if (fake_smtp_listen(&s, "::1", FAKE_SMTP_OPEN, &g) < 0) {
		print_message("skipped: cannot bind ::1 (%s)\n", strerror(errno));
		skip();
	}
	assert_int_equal(fake_smtp_run(&s), 0);
	base_params(&p);
	struct engine *e = new_engine(&p);
	add_target(e, "::1", s.port, true);
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	assert_int_equal(cs.n, 1);
	assert_string_equal(cs.c[0].address, "::1");
	assert_int_equal(cs.c[0].verdict, DV_OPEN);
	assert_int_equal(fake_smtp_stop(&s), 0);
	assert_string_equal(g.peer, "::1");
	engine_free(&e);
	(void)state;
}

/* ---- DNS through a fake server ---- */

struct dns_srv {
	int fd;
	uint16_t port;
	pthread_t th;
	atomic_int stop;
};

static size_t put_name(unsigned char *p, const char *name)
{
	size_t o = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		p[o++] = (unsigned char)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

static size_t add_rr(unsigned char *p, int type, const unsigned char *rdata, size_t rdlen)
{
	unsigned char h[12] = {0xc0,
	                       0x0c,
	                       0,
	                       (unsigned char)type,
	                       0,
	                       1,
	                       0,
	                       0,
	                       0,
	                       60,
	                       (unsigned char)(rdlen >> 8),
	                       (unsigned char)rdlen};
	memcpy(p, h, 12);
	memcpy(p + 12, rdata, rdlen);
	return 12 + rdlen;
}

static size_t add_mx(unsigned char *p, int pref, const char *host)
{
	unsigned char rd[300];
	rd[0] = (unsigned char)(pref >> 8);
	rd[1] = (unsigned char)pref;
	size_t l = 2 + put_name(rd + 2, host);
	return add_rr(p, 15, rd, l);
}

/* The zone: mail.test MX 10 mx1, 20 mx2 (same address), 30 mx3 (no such
 * host); nomx.test has only an A; nullmx.test has MX 0 "."; slow.test never
 * answers; the rest NXDOMAIN. */
static size_t dns_answer(const unsigned char *q, size_t qlen, unsigned char *r)
{
	char name[256];
	size_t o = 12, nl = 0;
	if (qlen < 17)
		return 0;
	while (o < qlen && q[o]) {
		size_t l = q[o++];
		if (o + l > qlen || nl + l + 1 >= sizeof(name))
			return 0;
		if (nl)
			name[nl++] = '.';
		memcpy(name + nl, q + o, l);
		nl += l;
		o += l;
	}
	name[nl] = '\0';
	if (o + 5 > qlen)
		return 0;
	int qtype = q[o + 1] << 8 | q[o + 2];
	size_t qend = o + 5;
	memcpy(r, q, qend);
	r[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	r[3] = 0x80;
	memset(r + 6, 0, 6);
	size_t w = qend, an = 0;
	static const unsigned char lo[4] = {127, 0, 0, 1};
	bool exists = true;
	if (strcasecmp(name, "slow.test") == 0)
		return 0;
	if (strcasecmp(name, "mail.test") == 0) {
		if (qtype == 15) {
			w += add_mx(r + w, 30, "mx3.mail.test");
			w += add_mx(r + w, 10, "mx1.mail.test");
			w += add_mx(r + w, 20, "mx2.mail.test");
			an = 3;
		}
	} else if (strcasecmp(name, "nullmx.test") == 0) {
		if (qtype == 15) {
			w += add_mx(r + w, 0, "");
			an = 1;
		}
	} else if (strcasecmp(name, "mx1.mail.test") == 0 ||
	           strcasecmp(name, "mx2.mail.test") == 0 || strcasecmp(name, "nomx.test") == 0) {
		if (qtype == 1) {
			w += add_rr(r + w, 1, lo, 4);
			an = 1;
		}
	} else {
		exists = false;
	}
	if (!exists)
		r[3] |= 3; /* NXDOMAIN */
	r[7] = (unsigned char)an;
	return w;
}

static void *dns_main(void *arg)
{
	struct dns_srv *d = arg;
	unsigned char q[512], r[1024];
	while (!atomic_load(&d->stop)) {
		struct pollfd pf = {.fd = d->fd, .events = POLLIN};
		if (poll(&pf, 1, 50) <= 0)
			continue;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(d->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		size_t rl = dns_answer(q, (size_t)n, r);
		if (rl)
			sendto(d->fd, r, rl, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void test_dns_mx(void **state)
{
	struct dns_srv dns = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct fake_smtp_group g;
	struct fake_smtp s;
	struct engine_params p;
	struct caps cs = {0};
	char conf[] = "/tmp/test_engine_resolv.XXXXXX";

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	dns.fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(dns.fd, (struct sockaddr *)&sa, sl), 0);
	getsockname(dns.fd, (struct sockaddr *)&sa, &sl);
	dns.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&dns.th, NULL, dns_main, &dns), 0);
	int cfd = mkstemp(conf);
	assert_true(cfd >= 0);
	dprintf(cfd, "# fake\nsearch example.invalid\nnameserver 127.0.0.1:%u\n",
	        (unsigned)dns.port);
	close(cfd);

	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&s, "127.0.0.1", FAKE_SMTP_CLOSED, &g), 0);
	assert_int_equal(fake_smtp_run(&s), 0);
	base_params(&p);
	p.use_mx = true;
	p.resolv_conf = conf;
	p.dns_timeout_ms = 300;
	struct engine *e = new_engine(&p);
	add_target(e, "mail.test", s.port, false);
	add_target(e, "nomx.test", s.port, false);
	add_target(e, "nullmx.test", s.port, false);
	add_target(e, "nx.test", s.port, false);
	add_target(e, "slow.test", s.port, false);
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&s), 0);
	atomic_store(&dns.stop, 1);
	pthread_join(dns.th, NULL);
	close(dns.fd);
	unlink(conf);

	for (size_t i = 0; i < cs.n; i++)
		print_message("  %s/%s pref %d addr %s: %d %s\n", cs.c[i].mx_domain, cs.c[i].host,
		              cs.c[i].mx_pref, cs.c[i].address, cs.c[i].verdict, cs.c[i].reason);
	/* mx1 and mx2 share 127.0.0.1: one dialog, under the preferred host. */
	assert_int_equal(cs.n, 6);
	const struct cap *c = find_host(&cs, "mx1.mail.test");
	assert_non_null(c);
	assert_true(c->dialog);
	assert_int_equal(c->verdict, DV_CLOSED);
	assert_string_equal(c->mx_domain, "mail.test");
	assert_int_equal(c->mx_pref, 10);
	assert_string_equal(c->address, "127.0.0.1");
	assert_string_equal(c->local_domain, "mail.test");
	assert_null(find_host(&cs, "mx2.mail.test"));
	c = find_host(&cs, "mx3.mail.test");
	assert_non_null(c);
	assert_false(c->dialog);
	assert_int_equal(c->verdict, DV_ERROR);
	assert_string_equal(c->address, "");
	assert_int_equal(c->mx_pref, 30);
	assert_non_null(strstr(c->reason, "DNS:"));
	c = find_host(&cs, "nomx.test"); /* implicit MX */
	assert_non_null(c);
	assert_true(c->dialog);
	assert_int_equal(c->verdict, DV_CLOSED);
	assert_int_equal(c->mx_pref, -1);
	assert_string_equal(c->mx_domain, "");
	c = find_host(&cs, "nx.test");
	assert_non_null(c);
	assert_false(c->dialog);
	assert_int_equal(c->verdict, DV_ERROR);
	assert_string_equal(c->reason, "DNS: no such domain (NXDOMAIN)");
	c = find_host(&cs, "slow.test");
	assert_non_null(c);
	assert_false(c->dialog);
	assert_string_equal(c->reason, "DNS: timeout");
	assert_true(c->finished - c->started < 1500);
	bool null_mx = false;
	for (size_t i = 0; i < cs.n; i++)
		if (strcmp(cs.c[i].mx_domain, "nullmx.test") == 0) {
			null_mx = true;
			assert_false(cs.c[i].dialog);
			assert_int_equal(cs.c[i].verdict, DV_ERROR);
			assert_string_equal(cs.c[i].reason, "null MX: domain accepts no mail");
		}
	assert_true(null_mx);
	(void)state;
}

/* ---- the scope hook (the agent's CIDR allow/deny list) ---- */

struct scope_ctx {
	uint16_t allowed_port;
	int calls;
	bool saw_port; /* the filter sees the port to be dialled */
};

/* Allows 127.0.0.1 on allowed_port only. */
static enum engine_scope scope_only_lo1(const struct sockaddr *sa, socklen_t len, const char *host,
                                        char *why, size_t whylen, void *arg)
{
	struct scope_ctx *sc = arg;
	(void)host;
	if (sa == NULL)
		return ENGINE_SCOPE_ALLOW; /* a name before it is resolved */
	sc->calls++;
	assert_non_null(why);
	assert_string_equal(why, ""); /* starts empty: left so, the default reason */
	assert_true(whylen > 0);
	if (sa->sa_family != AF_INET || len != sizeof(struct sockaddr_in))
		return ENGINE_SCOPE_DENY;
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	if (ntohs(in->sin_port) != 0)
		sc->saw_port = true;
	return in->sin_addr.s_addr == htonl(0x7f000001) && ntohs(in->sin_port) == sc->allowed_port
	           ? ENGINE_SCOPE_ALLOW
	           : ENGINE_SCOPE_DENY;
}

static void test_scope(void **state)
{
	struct fake_smtp_group g1, g2;
	struct fake_smtp s1, s2;
	struct engine_params p;
	struct caps cs = {0};
	struct scope_ctx sc = {0};
	fake_smtp_group_init(&g1);
	fake_smtp_group_init(&g2);
	assert_int_equal(fake_smtp_listen(&s1, "127.0.0.1", FAKE_SMTP_OPEN, &g1), 0);
	assert_int_equal(fake_smtp_listen(&s2, "127.0.0.2", FAKE_SMTP_OPEN, &g2), 0);
	assert_int_equal(fake_smtp_run(&s1), 0);
	assert_int_equal(fake_smtp_run(&s2), 0);
	base_params(&p);
	sc.allowed_port = s1.port;
	p.scope = scope_only_lo1;
	p.scope_arg = &sc;
	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.1", s1.port, true);
	add_target(e, "127.0.0.2", s2.port, true);
	/* A name: the resolved addresses go through the filter too (c-ares reads
	 * /etc/hosts for localhost; no resolver is asked). */
	add_target(e, "localhost", s2.port, true);
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&s1), 0);
	assert_int_equal(fake_smtp_stop(&s2), 0);

	assert_true(sc.saw_port);
	assert_true(cs.n >= 3);
	assert_true((size_t)sc.calls == cs.n);
	size_t refused = 0, ran = 0;
	for (size_t i = 0; i < cs.n; i++) {
		if (cs.c[i].dialog) {
			ran++;
			assert_string_equal(cs.c[i].address, "127.0.0.1");
			assert_int_equal(cs.c[i].port, s1.port);
			assert_int_equal(cs.c[i].verdict, DV_OPEN);
			continue;
		}
		refused++;
		assert_int_equal(cs.c[i].verdict, DV_ERROR);
		assert_string_equal(cs.c[i].reason, ENGINE_SCOPE_REFUSED);
		assert_string_equal(cs.c[i].reason, "refused by the agent's scope");
		assert_int_equal(cs.c[i].port, s2.port);
		assert_true(cs.c[i].address[0] != '\0'); /* the refused address is named */
	}
	assert_int_equal(ran, 1);
	assert_int_equal(refused, cs.n - 1);
	assert_non_null(find_host(&cs, "localhost"));
	/* The refused address was never dialled. */
	assert_int_equal(g1.total, 1);
	assert_int_equal(g2.total, 0);
	(void)state;
}

/* A scope filter that excludes: the reason it writes reaches the result,
 * the verdict is excluded, the host name it came from is passed in, and no
 * connection is made. */
struct excl_ctx {
	char hosts[4][64];
	int calls;
};

static enum engine_scope scope_exclude(const struct sockaddr *sa, socklen_t len, const char *host,
                                       char *why, size_t whylen, void *arg)
{
	struct excl_ctx *x = arg;
	(void)len;
	if (sa == NULL && host != NULL && strcmp(host, "localhost") == 0)
		return ENGINE_SCOPE_ALLOW; /* the name passes: its addresses do not */
	if (sa == NULL)
		snprintf(why, whylen, "excluded by example.com (list.txt:4)");
	if (sa == NULL)
		return ENGINE_SCOPE_EXCLUDE;
	if (x->calls < 4)
		snprintf(x->hosts[x->calls], sizeof(x->hosts[0]), "%s", host ? host : "(null)");
	x->calls++;
	snprintf(why, whylen, "excluded by 127.0.0.0/8 (list.txt:3): lab only");
	return ENGINE_SCOPE_EXCLUDE;
}

static void test_scope_exclude(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp s;
	struct engine_params p;
	struct caps cs = {0};
	struct excl_ctx x = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&s, "127.0.0.1", FAKE_SMTP_OPEN, &g), 0);
	assert_int_equal(fake_smtp_run(&s), 0);
	base_params(&p);
	p.scope = scope_exclude;
	p.scope_arg = &x;
	struct engine *e = new_engine(&p);
	add_target(e, "127.0.0.1", s.port, true);
	add_target(e, "localhost", s.port, true);
	add_target(e, "mx.example.com", s.port, true); /* excluded before any lookup */
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&s), 0);

	assert_true(cs.n >= 3);
	const struct cap *named = find_host(&cs, "mx.example.com");
	assert_non_null(named);
	assert_int_equal(named->verdict, DV_EXCLUDED);
	assert_string_equal(named->reason, "excluded by example.com (list.txt:4)");
	assert_string_equal(named->address, ""); /* never resolved */
	for (size_t i = 0; i < cs.n; i++) {
		assert_false(cs.c[i].dialog);
		if (&cs.c[i] == named)
			continue;
		assert_int_equal(cs.c[i].verdict, DV_EXCLUDED);
		assert_string_equal(cs.c[i].reason,
		                    "excluded by 127.0.0.0/8 (list.txt:3): lab only");
		assert_true(cs.c[i].address[0] != '\0');
	}
	/* the address target has no host; the name's addresses carry it */
	assert_string_equal(x.hosts[0], "(null)");
	assert_string_equal(x.hosts[1], "localhost");
	assert_int_equal(g.total, 0);
	assert_true(verdict_inconclusive(DV_EXCLUDED));
	assert_false(verdict_is_open(DV_EXCLUDED));
	assert_string_equal(dialog_verdict_name(DV_EXCLUDED), "excluded");
	(void)state;
}

/* ---- stopping ---- */

static void test_stop_queued(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp s;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&s, "127.0.0.1", FAKE_SMTP_CLOSED, &g), 0);
	assert_int_equal(fake_smtp_run(&s), 0);
	base_params(&p);
	p.concurrency = 1;
	struct engine *e = new_engine(&p);
	cs.e = e;
	cs.stop_on_first = true;
	add_target(e, "127.0.0.1", s.port, true);
	add_target(e, "127.0.0.2", s.port, true);
	add_target(e, "127.0.0.3", s.port, true);
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	assert_int_equal(cs.n, 3);
	assert_int_equal(cs.c[0].verdict, DV_CLOSED);
	for (size_t i = 1; i < 3; i++) {
		assert_false(cs.c[i].dialog);
		assert_int_equal(cs.c[i].verdict, DV_ERROR);
		assert_string_equal(cs.c[i].reason, "not run: stopped");
	}
	assert_int_equal(g.total, 1);
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&s), 0);
	(void)state;
}

static void test_stop_in_flight(void **state)
{
	struct fake_smtp_group g;
	struct fake_smtp s;
	struct engine_params p;
	struct caps cs = {0};
	fake_smtp_group_init(&g);
	assert_int_equal(fake_smtp_listen(&s, "127.0.0.1", FAKE_SMTP_SILENT, &g), 0);
	assert_int_equal(fake_smtp_run(&s), 0);
	base_params(&p);
	p.dialog.banner_ms = 10000;
	p.progress = on_progress;
	p.progress_arg = &cs;
	struct engine *e = new_engine(&p);
	cs.e = e;
	cs.stop_when_running = true;
	add_target(e, "127.0.0.1", s.port, true);
	uint64_t t0 = engine_now_ms();
	assert_int_equal(engine_run(e, on_result, &cs), 0);
	assert_true(engine_now_ms() - t0 < 3000);
	assert_int_equal(cs.n, 1);
	assert_true(cs.c[0].dialog); /* reported with what it had */
	engine_free(&e);
	assert_int_equal(fake_smtp_stop(&s), 0);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_closed_and_open),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_silent_banner_timeout),
	    cmocka_unit_test(test_politeness),
	    cmocka_unit_test(test_rate_and_concurrency),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_implicit_tls),
	    cmocka_unit_test(test_starttls_garbage),
	    cmocka_unit_test(test_tls_dh_too_large),
	    cmocka_unit_test(test_tls_dh_at_cap),
	    cmocka_unit_test(test_tls_dh_floor),
	    cmocka_unit_test(test_tls_renegotiation_refused),
	    cmocka_unit_test(test_tls_cpu_budget),
	    cmocka_unit_test(test_tls_rsa_key_too_large),
	    cmocka_unit_test(test_dialog_deadline_tarpit),
	    cmocka_unit_test(test_run_deadline),
	    cmocka_unit_test(test_bind_addr),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_dns_mx),
	    cmocka_unit_test(test_scope),
	    cmocka_unit_test(test_scope_exclude),
	    cmocka_unit_test(test_stop_queued),
	    cmocka_unit_test(test_stop_in_flight),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
