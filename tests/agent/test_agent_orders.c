/* test_agent_orders.c - the agent loop (agent.c) against a fake controller in
 * this process: a ROUTER socket with CURVE on 127.0.0.1 that signs orders
 * with keys made by keys_generate, and a loopback SMTP listener that counts
 * connections. A valid order is acked, run, its RESULT verifies and its
 * ORDER_DONE arrives, and RESULT_ACKs empty the spool; every forged,
 * misaddressed, downgraded, truncated or oversize order is never run (no new
 * SMTP connection) and never acked; a stale one (expired, not yet valid, old
 * sequence) is never run and refused with its reason and sequence; a
 * replayed one is acked again, not run; spooled results survive a restart.
 * The default scope never dials 0.0.0.0, ::, 127.0.0.1 or ::ffff:127.0.0.1
 * (the listener on loopback sees no connection); allow_special = loopback
 * lets loopback through. An agent killed at each durable step of an order
 * (a child process that _exit()s in the step hook) and restarted runs the
 * order exactly once and delivers its ORDER_DONE. The agent runs in a
 * thread (or a child); all files live in a mkdtemp dir. Over 800 lines: one
 * program for the agent's order path, one test per class of bad order. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "addr_class.h"
#include "agent.h"
#include "agent_config.h"
#include "control.h"
#include "engine.h"
#include "envelope.h"
#include "fake_smtp.h"
#include "keys.h"
#include "log.h"
#include "rp_limits.h"
#include "spool.h"

#define AGENT_NAME "agent-1"
#define WAIT_MS    3000 /* for something that must arrive */
#define QUIET_MS   400  /* for something that must not happen */

/* The loopback SMTP listener that refuses to relay is tests/lib/fake_smtp
 * (fake_smtp_listen_loopback: 127.0.0.1 and [::1] on one port). */

/* ---- the fixture: keys, fake controller, agent thread ---- */

struct fx {
	char dir[64], state[128], logpath[128];
	struct keys *ctl, *evil, *agent;
	struct fake_smtp smtp;
	void *zctx, *router;
	char endpoint[128];
	uint8_t rid[256]; /* the agent's routing id, from its last HELLO */
	size_t rid_len;
	struct agent *a;
	pthread_t th;
	bool running;
	uint64_t seq;
	FILE *log;
	unsigned targets_per_order;
	struct wire_ctl_hello last_hello;
};

static struct fx g;

static void *agent_thread(void *arg)
{
	struct agent *a = arg;
	agent_run(a);
	return NULL;
}

/* The agent's configuration; loopback: allow_special = loopback (the SMTP
 * listener is on loopback, which the default scope never dials). */
static void fill_config(struct agent_config *cfg, bool loopback)
{
	agent_config_defaults(cfg);
	snprintf(cfg->controller, sizeof(cfg->controller), "%s", g.endpoint);
	snprintf(cfg->controller_key, sizeof(cfg->controller_key), "%s/ctl.pub", g.dir);
	snprintf(cfg->keys, sizeof(cfg->keys), "%s/%s.secret", g.dir, AGENT_NAME);
	snprintf(cfg->state, sizeof(cfg->state), "%s", g.state);
	cfg->targets_per_order = g.targets_per_order;
	cfg->capacity = 7;
	cfg->rate = 0;
	cfg->n_labels = 1;
	snprintf(cfg->label_keys[0], sizeof(cfg->label_keys[0]), "location");
	snprintf(cfg->label_values[0], sizeof(cfg->label_values[0]), "test");
	assert_int_equal(agent_cidr_parse("127.0.0.3", &cfg->deny[0]), 0);
	cfg->n_deny = 1;
	/* [scope] exclude_file: the agent operator's own do-not-test list */
	snprintf(cfg->exclude_file, sizeof(cfg->exclude_file), "%s/exclude.txt", g.dir);
	FILE *xf = fopen(cfg->exclude_file, "w");
	assert_non_null(xf);
	fputs("# the operator's own\n127.0.0.4 do not touch\n", xf);
	fclose(xf);
	if (loopback)
		cfg->allow_special = ADDR_CLASS_BIT(ADDR_CLASS_LOOPBACK);
}

static void agent_start_scope(bool loopback)
{
	struct agent_config *cfg = calloc(1, sizeof(*cfg));
	char err[1024] = "";

	assert_non_null(cfg);
	fill_config(cfg, loopback);
	g.a = agent_new(cfg, err, sizeof(err));
	free(cfg);
	if (g.a == NULL)
		fail_msg("agent_new: %s", err);
	agent_set_hello_interval(g.a, 1000);
	assert_int_equal(pthread_create(&g.th, NULL, agent_thread, g.a), 0);
	g.running = true;
}

static void agent_start(void)
{
	agent_start_scope(true);
}

static void agent_halt(void)
{
	if (!g.running)
		return;
	agent_stop(g.a);
	pthread_join(g.th, NULL);
	agent_free(&g.a);
	assert_null(g.a);
	g.running = false;
}

/* Next message from the agent within ms: its kind (-1 undecodable), bytes in
 * *out (caller frees). 0, or -1 on timeout. HELLOs update the routing id. */
static int ctl_recv(int ms, int *kind, uint8_t **out, size_t *len)
{
	uint64_t end = engine_now_ms() + (uint64_t)ms;
	for (;;) {
		uint64_t now = engine_now_ms();
		zmq_pollitem_t it = {g.router, 0, ZMQ_POLLIN, 0};
		if (now >= end)
			return -1;
		if (zmq_poll(&it, 1, (long)(end - now)) <= 0)
			continue;
		zmq_msg_t id, m;
		zmq_msg_init(&id);
		zmq_msg_init(&m);
		assert_true(zmq_msg_recv(&id, g.router, 0) >= 0);
		assert_true(zmq_msg_more(&id));
		assert_true(zmq_msg_recv(&m, g.router, 0) >= 0);
		assert_false(zmq_msg_more(&m)); /* one Envelope per message */
		*len = zmq_msg_size(&m);
		*out = malloc(*len + 1);
		memcpy(*out, zmq_msg_data(&m), *len);
		*kind = wire_envelope_kind(*out, *len);
		if (*kind == WIRE_KIND_HELLO) {
			assert_true(zmq_msg_size(&id) <= sizeof(g.rid));
			memcpy(g.rid, zmq_msg_data(&id), zmq_msg_size(&id));
			g.rid_len = zmq_msg_size(&id);
			wire_ctl_hello_clear(&g.last_hello);
			assert_int_equal(wire_ctl_hello_parse(*out, *len, &g.last_hello), 0);
		}
		zmq_msg_close(&id);
		zmq_msg_close(&m);
		return 0;
	}
}

/* Waits for a message of kind (others are skipped, HELLOs and re-sent
 * spool items included). */
static int ctl_wait(int want, int ms, uint8_t **out, size_t *len)
{
	uint64_t end = engine_now_ms() + (uint64_t)ms;
	for (;;) {
		uint64_t now = engine_now_ms();
		int kind;
		if (now >= end || ctl_recv((int)(end - now), &kind, out, len) < 0)
			return -1;
		if (kind == want)
			return 0;
		free(*out);
	}
}

static void ctl_send(const uint8_t *msg, size_t len)
{
	assert_true(g.rid_len > 0);
	assert_int_equal(zmq_send(g.router, g.rid, g.rid_len, ZMQ_SNDMORE), (int)g.rid_len);
	assert_int_equal(zmq_send(g.router, msg, len, 0), (int)len);
}

/* Collects everything for ms; counts kinds. */
static void ctl_quiet(int ms, int *acks, int *results)
{
	uint64_t end = engine_now_ms() + (uint64_t)ms;
	*acks = *results = 0;
	for (;;) {
		uint64_t now = engine_now_ms();
		int kind;
		uint8_t *m;
		size_t l;
		if (now >= end || ctl_recv((int)(end - now), &kind, &m, &l) < 0)
			return;
		if (kind == WIRE_KIND_ORDER_ACK)
			(*acks)++;
		if (kind == WIRE_KIND_RESULT || kind == WIRE_KIND_ORDER_DONE)
			(*results)++;
		free(m);
	}
}

static bool log_has(const char *needle)
{
	char buf[65536];
	size_t n;
	FILE *f = fopen(g.logpath, "r");
	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* Items in STATE/sub/ready. */
static size_t ready_files(const char *sub)
{
	char path[256];
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/%s/ready", g.state, sub);
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static size_t spool_files(void)
{
	return ready_files("spool");
}

/* Acks every RESULT until the ORDER_DONE, then the ORDER_DONE; the spool
 * must then be empty. */
static void ack_order(void)
{
	for (;;) {
		uint8_t *m;
		size_t l;
		int kind;
		assert_int_equal(ctl_recv(WAIT_MS, &kind, &m, &l), 0);
		if (kind == WIRE_KIND_RESULT) {
			struct wire_result r;
			assert_int_equal(
			    wire_result_verify(m, l, keys_ed25519_public(g.agent), AGENT_NAME, &r),
			    WIRE_OK);
			free(m);
			struct wire_ctl_result_ack ra = {.order_id = r.order_id,
			                                 .target = r.target,
			                                 .address = r.address,
			                                 .port = r.port,
			                                 .committed = true};
			assert_int_equal(wire_ctl_result_ack_pack(&ra, &m, &l), 0);
			ctl_send(m, l);
			free(m);
			wire_result_clear(&r);
		} else if (kind == WIRE_KIND_ORDER_DONE) {
			struct wire_ctl_order_done d;
			assert_int_equal(wire_ctl_order_done_parse(m, l, &d), 0);
			free(m);
			struct wire_ctl_result_ack ra = {
			    .order_id = d.order_id, .target = "", .address = "", .committed = true};
			assert_int_equal(wire_ctl_result_ack_pack(&ra, &m, &l), 0);
			ctl_send(m, l);
			free(m);
			wire_ctl_order_done_clear(&d);
			break;
		} else {
			free(m);
		}
	}
	for (int i = 0; i < 100 && spool_files() != 0; i++)
		usleep(20000);
	assert_int_equal(spool_files(), 0);
}

struct order_opts {
	const char *id;
	const char *audience;
	uint64_t seq;
	int64_t issued_off_ms, expires_off_ms; /* from now */
	uint32_t protocol;
	const struct keys *signer;
	const char *targets[8];
	size_t n_targets;
	const char *rcpt_to; /* NULL: relaytest@external.test */
	const char *ehlo;    /* NULL: probe.test */
};

static uint8_t *make_order(const struct order_opts *oo, size_t *len, uint8_t sha[32])
{
	struct wire_order o = {0};
	char target[8][64];
	char *targets[8], *tests[1] = {"external-sender"};
	const struct keys *k = oo->signer ? oo->signer : g.ctl;
	uint64_t now = engine_now_ms();
	uint8_t *msg = NULL;

	o.protocol_version = oo->protocol ? oo->protocol : WIRE_PROTOCOL_VERSION;
	memcpy(o.controller_key_id, keys_key_id(k), KEYS_KEY_ID_LEN);
	o.audience = (char *)(oo->audience ? oo->audience : AGENT_NAME);
	o.order_id = (char *)oo->id;
	o.sequence = oo->seq;
	o.issued_at_ms = (uint64_t)((int64_t)now + oo->issued_off_ms);
	o.expires_at_ms =
	    (uint64_t)((int64_t)now + (oo->expires_off_ms ? oo->expires_off_ms : 3600 * 1000));
	for (size_t i = 0; i < oo->n_targets; i++) {
		snprintf(target[i], sizeof(target[i]), "%s:%u", oo->targets[i],
		         (unsigned)g.smtp.port);
		targets[i] = target[i];
	}
	if (oo->n_targets == 0) {
		snprintf(target[0], sizeof(target[0]), "127.0.0.1:%u", (unsigned)g.smtp.port);
		targets[0] = target[0];
	}
	o.spec.targets = targets;
	o.spec.n_targets = oo->n_targets ? oo->n_targets : 1;
	o.spec.tests = tests;
	o.spec.n_tests = 1;
	o.spec.tls_policy = "off";
	o.spec.rcpt_to = (char *)(oo->rcpt_to ? oo->rcpt_to : "relaytest@external.test");
	o.spec.mail_from = "probe@probe.test";
	o.spec.ehlo_name = (char *)(oo->ehlo ? oo->ehlo : "probe.test");
	o.spec.canary_domain = "";
	o.spec.timeout_s = 3;
	assert_int_equal(wire_order_sign(&o, k, &msg, len, sha), 0);
	return msg;
}

static int group_setup(void **state)
{
	char err[512];
	int curve_server = 1, linger = 0;
	size_t elen;

	memset(&g, 0, sizeof(g));
	snprintf(g.dir, sizeof(g.dir), "/tmp/test_agent_orders.XXXXXX");
	if (mkdtemp(g.dir) == NULL)
		return -1;
	snprintf(g.state, sizeof(g.state), "%s/state", g.dir);
	snprintf(g.logpath, sizeof(g.logpath), "%s/agent.log", g.dir);
	g.log = fopen(g.logpath, "w");
	if (g.log == NULL)
		return -1;
	log_init("test-agent", LOG_LVL_DEBUG, false);
	log_set_stream(g.log);
	g.ctl = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
	g.evil = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
	g.agent = keys_generate(KEYS_ROLE_AGENT, AGENT_NAME);
	if (!g.ctl || !g.evil || !g.agent || keys_save(g.ctl, g.dir, err, sizeof(err)) < 0 ||
	    keys_save(g.agent, g.dir, err, sizeof(err)) < 0)
		return -1;
	assert_int_equal(fake_smtp_listen_loopback(&g.smtp, FAKE_SMTP_CLOSED, NULL), 0);
	assert_int_equal(fake_smtp_run(&g.smtp), 0);
	g.zctx = zmq_ctx_new();
	g.router = zmq_socket(g.zctx, ZMQ_ROUTER);
	if (!g.router ||
	    zmq_setsockopt(g.router, ZMQ_CURVE_SERVER, &curve_server, sizeof(curve_server)) < 0 ||
	    zmq_setsockopt(g.router, ZMQ_CURVE_SECRETKEY, keys_curve_secret(g.ctl), KEYS_Z85_LEN) <
	        0 ||
	    zmq_setsockopt(g.router, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
	    zmq_bind(g.router, "tcp://127.0.0.1:*") < 0)
		return -1;
	elen = sizeof(g.endpoint);
	zmq_getsockopt(g.router, ZMQ_LAST_ENDPOINT, g.endpoint, &elen);
	g.targets_per_order = 2;
	g.seq = 10;
	(void)state;
	return 0;
}

static int group_teardown(void **state)
{
	agent_halt();
	zmq_close(g.router);
	zmq_ctx_term(g.zctx);
	fake_smtp_stop(&g.smtp);
	wire_ctl_hello_clear(&g.last_hello);
	keys_free(&g.ctl);
	keys_free(&g.evil);
	keys_free(&g.agent);
	log_set_stream(NULL);
	fclose(g.log);
	char cmd[128];
	if (getenv("KEEP_TEST_DIR")) {
		fprintf(stderr, "kept %s\n", g.dir);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g.dir);
	if (system(cmd) != 0)
		return -1;
	(void)state;
	return 0;
}

/* ---- tests (run in this order; they share the agent and its state) ---- */

static uint8_t *g_order1;
static size_t g_order1_len;

/* What the controller saw of one order's run. */
struct run_seen {
	int results, refused, closed; /* RESULTs of the order; by the scope; verdict closed */
	int dones;                    /* its ORDER_DONEs */
	int acks, refusals;           /* its ORDER_ACKs: committed, not committed */
};

/* Reads everything the agent sends for ms (or, with until_done, until the
 * first ORDER_DONE of id): RESULTs verified and counted, every RESULT and
 * ORDER_DONE acked as the controller would. */
static void collect(const char *id, int ms, bool until_done, struct run_seen *rs)
{
	uint64_t end = engine_now_ms() + (uint64_t)ms;

	for (;;) {
		uint64_t now = engine_now_ms();
		uint8_t *m;
		size_t l;
		int kind;

		if (now >= end || ctl_recv((int)(end - now), &kind, &m, &l) < 0)
			return;
		if (kind == WIRE_KIND_RESULT) {
			struct wire_result r;
			assert_int_equal(
			    wire_result_verify(m, l, keys_ed25519_public(g.agent), AGENT_NAME, &r),
			    WIRE_OK);
			free(m);
			if (strcmp(r.order_id, id) == 0) {
				rs->results++;
				if (strstr((const char *)r.result_json, ENGINE_SCOPE_REFUSED))
					rs->refused++;
				if (strcmp(r.verdict, "closed") == 0)
					rs->closed++;
			}
			struct wire_ctl_result_ack ra = {.order_id = r.order_id,
			                                 .target = r.target,
			                                 .address = r.address,
			                                 .port = r.port,
			                                 .committed = true};
			assert_int_equal(wire_ctl_result_ack_pack(&ra, &m, &l), 0);
			ctl_send(m, l);
			free(m);
			wire_result_clear(&r);
		} else if (kind == WIRE_KIND_ORDER_DONE) {
			struct wire_ctl_order_done d;
			bool ours;
			assert_int_equal(wire_ctl_order_done_parse(m, l, &d), 0);
			free(m);
			ours = strcmp(d.order_id, id) == 0;
			rs->dones += ours;
			struct wire_ctl_result_ack ra = {
			    .order_id = d.order_id, .target = "", .address = "", .committed = true};
			assert_int_equal(wire_ctl_result_ack_pack(&ra, &m, &l), 0);
			ctl_send(m, l);
			free(m);
			wire_ctl_order_done_clear(&d);
			if (ours && until_done)
				return;
		} else if (kind == WIRE_KIND_ORDER_ACK) {
			struct wire_ctl_order_ack a;
			assert_int_equal(wire_ctl_order_ack_parse(m, l, &a), 0);
			free(m);
			if (strcmp(a.order_id, id) == 0) {
				rs->acks += a.committed;
				rs->refusals += !a.committed;
			}
			wire_ctl_order_ack_clear(&a);
		} else {
			free(m);
		}
	}
}

/* The default scope never dials an unspecified or loopback address, in any
 * form, literal or resolved (localhost): each is a result "refused by the
 * agent's scope" and the listener on 127.0.0.1 and [::1] sees no
 * connection. With allow_special = loopback, loopback is probed; 0.0.0.0
 * and :: (which Linux connects to this host) still never are. */
static void test_scope_special(void **state)
{
	char saved[sizeof(g.state)];
	uint8_t sha[32], *m;
	size_t l;
	struct run_seen rs = {0};
	int before = atomic_load(&g.smtp.connections);

	snprintf(saved, sizeof(saved), "%s", g.state);
	snprintf(g.state, sizeof(g.state), "%s/state-scope", g.dir);
	g.targets_per_order = 8;

	agent_start_scope(false);
	assert_int_equal(ctl_wait(WIRE_KIND_HELLO, WAIT_MS, &m, &l), 0);
	free(m);
	struct order_opts oo = {.id = "scope:default",
	                        .seq = 1,
	                        .targets = {"0.0.0.0", "[::]", "127.0.0.1", "[::ffff:127.0.0.1]",
	                                    "[::1]", "[::ffff:0.0.0.0]", "localhost"},
	                        .n_targets = 7};
	m = make_order(&oo, &l, sha);
	ctl_send(m, l);
	free(m);
	collect(oo.id, 10000, true, &rs);
	assert_int_equal(rs.dones, 1);
	assert_int_equal(rs.acks, 1);
	assert_true(rs.results >= 7); /* localhost: one per address */
	assert_int_equal(rs.refused, rs.results);
	usleep(QUIET_MS * 1000);
	assert_int_equal(atomic_load(&g.smtp.connections), before);
	assert_true(
	    log_has("scope refused address=0.0.0.0 reason=\"unspecified address: never allowed\""));
	assert_true(
	    log_has("scope refused address=:: reason=\"unspecified address: never allowed\""));
	assert_true(log_has(
	    "scope refused address=127.0.0.1 reason=\"loopback address: not in allow_special\""));
	assert_true(log_has("scope refused address=::ffff:127.0.0.1 reason=\"loopback address "
	                    "(mapped): not in allow_special\""));
	assert_true(
	    log_has("scope refused address=::1 reason=\"loopback address: not in allow_special\""));
	agent_halt();

	g.rid_len = 0;
	memset(&rs, 0, sizeof(rs));
	agent_start_scope(true);
	assert_int_equal(ctl_wait(WIRE_KIND_HELLO, WAIT_MS, &m, &l), 0);
	free(m);
	oo = (struct order_opts){.id = "scope:loopback",
	                         .seq = 2,
	                         .targets = {"0.0.0.0", "[::]", "[::ffff:0.0.0.0]", "127.0.0.1",
	                                     "[::ffff:127.0.0.1]", "[::1]"},
	                         .n_targets = 6};
	m = make_order(&oo, &l, sha);
	ctl_send(m, l);
	free(m);
	collect(oo.id, 15000, true, &rs);
	assert_int_equal(rs.dones, 1);
	assert_int_equal(rs.results, 6);
	assert_int_equal(rs.refused, 3);
	assert_int_equal(rs.closed, 3);
	assert_int_equal(atomic_load(&g.smtp.connections), before + 3);
	agent_halt();

	snprintf(g.state, sizeof(g.state), "%s", saved);
	g.targets_per_order = 2;
	g.rid_len = 0;
	(void)state;
}

static void test_hello(void **state)
{
	uint8_t *m;
	size_t l;
	agent_start();
	assert_int_equal(ctl_wait(WIRE_KIND_HELLO, WAIT_MS, &m, &l), 0);
	free(m);
	assert_string_equal(g.last_hello.agent_id, AGENT_NAME);
	assert_int_equal(g.last_hello.protocol_version, WIRE_PROTOCOL_VERSION);
	assert_int_equal(g.last_hello.n_caps, 1);
	assert_string_equal(g.last_hello.caps[0], "smtp-relay");
	/* The signing key, for a controller that approved this agent by its
	 * CURVE fingerprint. */
	assert_true(g.last_hello.has_ed25519);
	assert_memory_equal(g.last_hello.ed25519_public, keys_ed25519_public(g.agent),
	                    KEYS_ED25519_PK_LEN);
	assert_int_equal(g.last_hello.n_labels, 1);
	assert_string_equal(g.last_hello.label_keys[0], "location");
	assert_string_equal(g.last_hello.label_values[0], "test");
	assert_int_equal(g.last_hello.max_targets_per_order, 2);
	assert_int_equal(g.last_hello.max_concurrency, 500);
	/* [agent] capacity: what the controller keeps out to it */
	assert_int_equal(g.last_hello.max_orders, 7);
	(void)state;
}

static void test_valid_order(void **state)
{
	uint8_t sha[32], *m;
	size_t l;
	struct order_opts oo = {.id = "audit1:order-1", .seq = ++g.seq};
	int before = atomic_load(&g.smtp.connections);
	struct wire_ctl_order_ack ack;
	struct wire_result res;
	struct wire_ctl_order_done done;

	g_order1 = make_order(&oo, &g_order1_len, sha);
	ctl_send(g_order1, g_order1_len);

	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_ACK, WAIT_MS, &m, &l), 0);
	assert_int_equal(wire_ctl_order_ack_parse(m, l, &ack), 0);
	free(m);
	assert_string_equal(ack.order_id, "audit1:order-1");
	assert_true(ack.committed);
	wire_ctl_order_ack_clear(&ack);

	assert_int_equal(ctl_wait(WIRE_KIND_RESULT, WAIT_MS, &m, &l), 0);
	assert_int_equal(wire_result_verify(m, l, keys_ed25519_public(g.agent), AGENT_NAME, &res),
	                 WIRE_OK);
	free(m);
	assert_string_equal(res.order_id, "audit1:order-1");
	assert_memory_equal(res.order_body_sha256, sha, 32);
	assert_string_equal(res.address, "127.0.0.1");
	assert_int_equal(res.port, g.smtp.port);
	assert_string_equal(res.verdict, "closed");
	assert_non_null(strstr((const char *)res.result_json, "\"transcript\""));
	assert_non_null(strstr((const char *)res.result_json, "Relay access denied"));
	char target[64];
	snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)g.smtp.port);
	assert_string_equal(res.target, target);

	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_DONE, WAIT_MS, &m, &l), 0);
	assert_int_equal(wire_ctl_order_done_parse(m, l, &done), 0);
	free(m);
	assert_string_equal(done.order_id, "audit1:order-1");
	assert_int_equal(done.results, 1);
	wire_ctl_order_done_clear(&done);

	assert_true(atomic_load(&g.smtp.connections) > before);
	assert_true(log_has("order accepted order=audit1:order-1 sequence=11 targets=1"));
	/* Both are on disk until the controller acks them. */
	assert_int_equal(spool_files(), 2);

	struct wire_ctl_result_ack ra = {.order_id = res.order_id,
	                                 .target = res.target,
	                                 .address = res.address,
	                                 .port = res.port,
	                                 .committed = true};
	assert_int_equal(wire_ctl_result_ack_pack(&ra, &m, &l), 0);
	ctl_send(m, l);
	free(m);
	for (int i = 0; i < 100 && spool_files() != 1; i++)
		usleep(20000);
	assert_int_equal(spool_files(), 1);
	struct wire_ctl_result_ack da = {
	    .order_id = res.order_id, .target = "", .address = "", .committed = true};
	assert_int_equal(wire_ctl_result_ack_pack(&da, &m, &l), 0);
	ctl_send(m, l);
	free(m);
	for (int i = 0; i < 100 && spool_files() != 0; i++)
		usleep(20000);
	assert_int_equal(spool_files(), 0);
	wire_result_clear(&res);
	(void)state;
}

/* Sends the order oo and waits for its first RESULT, verified, into res. */
static void send_order_get_result(const struct order_opts *oo, struct wire_result *res)
{
	uint8_t sha[32], *m;
	size_t l;

	m = make_order(oo, &l, sha);
	ctl_send(m, l);
	free(m);
	assert_int_equal(ctl_wait(WIRE_KIND_RESULT, WAIT_MS, &m, &l), 0);
	assert_int_equal(wire_result_verify(m, l, keys_ed25519_public(g.agent), AGENT_NAME, res),
	                 WIRE_OK);
	free(m);
	assert_string_equal(res->order_id, oo->id);
}

/* The controller's RESULT_ACK for res and the one for its order's DONE: the
 * spool is empty after them. Clears res. */
static void ack_result_and_done(struct wire_result *res)
{
	struct wire_ctl_result_ack ra = {.order_id = res->order_id,
	                                 .target = res->target,
	                                 .address = res->address,
	                                 .port = res->port,
	                                 .committed = true};
	uint8_t *m;
	size_t l;

	assert_int_equal(wire_ctl_result_ack_pack(&ra, &m, &l), 0);
	ctl_send(m, l);
	free(m);
	ra = (struct wire_ctl_result_ack){
	    .order_id = res->order_id, .target = "", .address = "", .committed = true};
	assert_int_equal(wire_ctl_result_ack_pack(&ra, &m, &l), 0);
	ctl_send(m, l);
	free(m);
	for (int i = 0; i < 100 && spool_files() != 0; i++)
		usleep(20000);
	assert_int_equal(spool_files(), 0);
	wire_result_clear(res);
}

/* An address-literal recipient (RFC 5321 4.1.3), as `relayprobe audit --to
 * x@[192.0.2.1]` sends it: the agent runs the order and says RCPT TO that
 * literal (it used to refuse every target with "bad rcpt_to"). */
static void test_literal_recipient(void **state)
{
	uint8_t *m;
	size_t l;
	struct order_opts oo = {
	    .id = "audit1:literal", .seq = ++g.seq, .rcpt_to = "relaytest@[192.0.2.1]"};
	struct wire_result res;

	send_order_get_result(&oo, &res);
	assert_null(strstr((const char *)res.result_json, "bad rcpt_to"));
	assert_string_equal(res.verdict, "closed");
	assert_non_null(strstr((const char *)res.result_json, "RCPT TO:<relaytest@[192.0.2.1]>"));
	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_DONE, WAIT_MS, &m, &l), 0);
	free(m);
	ack_result_and_done(&res);
	(void)state;
}

/* An address-literal EHLO name (RFC 5321 4.1.1.1), which `relayprobe audit
 * --ehlo [192.0.2.7]` and the controller accept: the agent runs the order
 * (it used to refuse every target with "bad ehlo_name"). */
static void test_literal_ehlo(void **state)
{
	uint8_t *m;
	size_t l;
	struct order_opts oo = {.id = "audit1:literal-ehlo", .seq = ++g.seq, .ehlo = "[192.0.2.7]"};
	struct wire_result res;

	send_order_get_result(&oo, &res);
	assert_null(strstr((const char *)res.result_json, "bad ehlo_name"));
	assert_string_equal(res.verdict, "closed");
	assert_non_null(strstr((const char *)res.result_json, "EHLO [192.0.2.7]"));
	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_DONE, WAIT_MS, &m, &l), 0);
	free(m);
	ack_result_and_done(&res);
	(void)state;
}

static void test_replayed_order(void **state)
{
	uint8_t *m;
	size_t l;
	struct wire_ctl_order_ack ack;
	int before = atomic_load(&g.smtp.connections);
	int acks, results;

	ctl_send(g_order1, g_order1_len);
	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_ACK, WAIT_MS, &m, &l), 0);
	assert_int_equal(wire_ctl_order_ack_parse(m, l, &ack), 0);
	free(m);
	assert_string_equal(ack.order_id, "audit1:order-1");
	assert_true(ack.committed);
	wire_ctl_order_ack_clear(&ack);
	ctl_quiet(QUIET_MS, &acks, &results);
	assert_int_equal(results, 0);
	assert_int_equal(atomic_load(&g.smtp.connections), before); /* not run again */
	assert_true(log_has("order replayed order=audit1:order-1"));
	(void)state;
}

/* Sends msg; nothing may come back but HELLOs, and no SMTP connection. */
static void expect_rejected(const uint8_t *msg, size_t len, const char *reason)
{
	int before = atomic_load(&g.smtp.connections);
	int acks, results;
	char line[128];

	ctl_send(msg, len);
	ctl_quiet(QUIET_MS, &acks, &results);
	assert_int_equal(acks, 0);
	assert_int_equal(results, 0);
	assert_int_equal(atomic_load(&g.smtp.connections), before);
	if (reason != NULL) {
		snprintf(line, sizeof(line), "order rejected reason=%s size=%zu", reason, len);
		if (!log_has(line))
			fail_msg("not logged: %s", line);
	}
}

/* Sends msg, authentic but refused for its time or sequence: one ORDER_ACK
 * with committed=false, the reason and the copy's sequence (so the
 * controller can sign it anew), no result, no SMTP connection. */
static void expect_refused(const uint8_t *msg, size_t len, const char *reason, const char *id,
                           uint64_t seq)
{
	int before = atomic_load(&g.smtp.connections);
	struct wire_ctl_order_ack ack;
	int acks, results;
	uint8_t *m;
	size_t l;
	char line[160];

	ctl_send(msg, len);
	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_ACK, WAIT_MS, &m, &l), 0);
	assert_int_equal(wire_ctl_order_ack_parse(m, l, &ack), 0);
	free(m);
	assert_string_equal(ack.order_id, id);
	assert_false(ack.committed);
	assert_string_equal(ack.reason, reason);
	assert_int_equal(ack.sequence, seq);
	wire_ctl_order_ack_clear(&ack);
	ctl_quiet(QUIET_MS, &acks, &results);
	assert_int_equal(acks, 0);
	assert_int_equal(results, 0);
	assert_int_equal(atomic_load(&g.smtp.connections), before);
	snprintf(line, sizeof(line), "order refused order=%s sequence=%llu reason=%s", id,
	         (unsigned long long)seq, reason);
	if (!log_has(line))
		fail_msg("not logged: %s", line);
}

static void test_rejected_orders(void **state)
{
	uint8_t sha[32], *m;
	size_t l;

	/* Forged: one signature byte changed (the signature is the 64 bytes
	 * before the trailing kind field). */
	struct order_opts oo = {.id = "audit1:forged", .seq = ++g.seq};
	m = make_order(&oo, &l, sha);
	m[l - 30] ^= 0x01;
	expect_rejected(m, l, "signature");
	free(m);
	/* Forged body: one byte of the signed body changed. */
	m = make_order(&oo, &l, sha);
	m[20] ^= 0x01;
	expect_rejected(m, l, NULL);
	free(m);
	/* Signed by a key that is not the pinned one. */
	oo = (struct order_opts){.id = "audit1:wrong-key", .seq = ++g.seq, .signer = g.evil};
	m = make_order(&oo, &l, sha);
	expect_rejected(m, l, "key");
	free(m);
	/* A new order id with a sequence below the last accepted one (11). */
	oo = (struct order_opts){.id = "audit1:old-seq", .seq = 5};
	m = make_order(&oo, &l, sha);
	expect_refused(m, l, "sequence", "audit1:old-seq", 5);
	free(m);
	/* A copy of the accepted order-1 that arrives after it expired: still
	 * "accepted before" (acked again), never run again. */
	oo = (struct order_opts){.id = "audit1:order-1",
	                         .seq = 11,
	                         .issued_off_ms = -7200 * 1000,
	                         .expires_off_ms = -3600 * 1000};
	m = make_order(&oo, &l, sha);
	{
		int before = atomic_load(&g.smtp.connections), acks, results;
		struct wire_ctl_order_ack ack;
		uint8_t *a;
		size_t al;

		ctl_send(m, l);
		assert_int_equal(ctl_wait(WIRE_KIND_ORDER_ACK, WAIT_MS, &a, &al), 0);
		assert_int_equal(wire_ctl_order_ack_parse(a, al, &ack), 0);
		free(a);
		assert_string_equal(ack.order_id, "audit1:order-1");
		assert_true(ack.committed);
		wire_ctl_order_ack_clear(&ack);
		ctl_quiet(QUIET_MS, &acks, &results);
		assert_int_equal(results, 0);
		assert_int_equal(atomic_load(&g.smtp.connections), before);
	}
	free(m);
	/* Expired an hour ago (well past the 60 s skew). */
	oo = (struct order_opts){.id = "audit1:expired",
	                         .seq = ++g.seq,
	                         .issued_off_ms = -7200 * 1000,
	                         .expires_off_ms = -3600 * 1000};
	m = make_order(&oo, &l, sha);
	expect_refused(m, l, "expired", "audit1:expired", g.seq);
	free(m);
	/* Valid only from an hour from now. */
	oo = (struct order_opts){.id = "audit1:future",
	                         .seq = ++g.seq,
	                         .issued_off_ms = 3600 * 1000,
	                         .expires_off_ms = 7200 * 1000};
	m = make_order(&oo, &l, sha);
	expect_refused(m, l, "not-yet-valid", "audit1:future", g.seq);
	free(m);
	/* Another agent's order. */
	oo = (struct order_opts){.id = "audit1:other", .seq = ++g.seq, .audience = "agent-2"};
	m = make_order(&oo, &l, sha);
	expect_rejected(m, l, "audience");
	free(m);
	/* Protocol version 0, below the agent's minimum 1 (downgrade). */
	oo = (struct order_opts){.id = "audit1:old-proto", .seq = ++g.seq, .protocol = 0};
	struct wire_order o = {0};
	(void)o;
	m = NULL;
	{
		/* make_order maps 0 to the current version: sign this one by hand. */
		char t[64], *targets[1] = {t}, *tests[1] = {"external-sender"};
		struct wire_order w = {0};
		snprintf(t, sizeof(t), "127.0.0.1:%u", (unsigned)g.smtp.port);
		w.protocol_version = 0;
		memcpy(w.controller_key_id, keys_key_id(g.ctl), KEYS_KEY_ID_LEN);
		w.audience = AGENT_NAME;
		w.order_id = "audit1:old-proto";
		w.sequence = ++g.seq;
		w.issued_at_ms = engine_now_ms();
		w.expires_at_ms = w.issued_at_ms + 3600 * 1000;
		w.spec.targets = targets;
		w.spec.n_targets = 1;
		w.spec.tests = tests;
		w.spec.n_tests = 1;
		w.spec.tls_policy = "off";
		w.spec.rcpt_to = w.spec.mail_from = w.spec.ehlo_name = w.spec.canary_domain = "";
		assert_int_equal(wire_order_sign(&w, g.ctl, &m, &l, NULL), 0);
	}
	expect_rejected(m, l, "version");
	free(m);
	/* Truncated in the middle of the body. */
	oo = (struct order_opts){.id = "audit1:truncated", .seq = ++g.seq};
	m = make_order(&oo, &l, sha);
	expect_rejected(m, l / 2, NULL);
	assert_true(log_has("order rejected reason=decode size=") ||
	            log_has("order rejected reason=signature size="));
	free(m);
	/* Not an envelope at all. */
	expect_rejected((const uint8_t *)"\xff\xff\xff", 3, "decode");
	(void)state;
}

static void test_limits_and_scope(void **state)
{
	uint8_t sha[32], *m;
	size_t l;
	struct wire_ctl_order_ack ack;
	struct wire_result res;
	int before = atomic_load(&g.smtp.connections);

	/* 3 targets for an agent that takes 2: refused, said so, not run. */
	struct order_opts oo = {.id = "audit1:too-big",
	                        .seq = ++g.seq,
	                        .targets = {"127.0.0.1", "127.0.0.1", "127.0.0.1"},
	                        .n_targets = 3};
	m = make_order(&oo, &l, sha);
	ctl_send(m, l);
	free(m);
	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_ACK, WAIT_MS, &m, &l), 0);
	assert_int_equal(wire_ctl_order_ack_parse(m, l, &ack), 0);
	free(m);
	assert_string_equal(ack.order_id, "audit1:too-big");
	assert_false(ack.committed);
	assert_string_equal(ack.reason, "targets-per-order");
	wire_ctl_order_ack_clear(&ack);
	usleep(QUIET_MS * 1000);
	assert_int_equal(atomic_load(&g.smtp.connections), before);

	/* 127.0.0.3 is denied by the agent's [scope]: a result says so, and
	 * no connection is made. */
	oo = (struct order_opts){
	    .id = "audit1:out-of-scope", .seq = ++g.seq, .targets = {"127.0.0.3"}, .n_targets = 1};
	send_order_get_result(&oo, &res);
	assert_string_equal(res.verdict, "error");
	assert_string_equal(res.address, "127.0.0.3");
	assert_non_null(strstr((const char *)res.result_json, "refused by the agent's scope"));
	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_DONE, WAIT_MS, &m, &l), 0);
	free(m);
	/* Acks for an error result (address set, no dialog) and for the done. */
	ack_result_and_done(&res);

	/* 127.0.0.4 is on the agent's [scope] exclude_file: excluded, with the
	 * entry, FILE:LINE and reason, and no connection. */
	before = atomic_load(&g.smtp.connections);
	oo = (struct order_opts){
	    .id = "audit1:excluded", .seq = ++g.seq, .targets = {"127.0.0.4"}, .n_targets = 1};
	send_order_get_result(&oo, &res);
	assert_string_equal(res.verdict, "excluded");
	assert_string_equal(res.address, "127.0.0.4");
	assert_non_null(strstr((const char *)res.result_json, "excluded by 127.0.0.4 ("));
	assert_non_null(strstr((const char *)res.result_json, "exclude.txt:2): do not touch"));
	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_DONE, WAIT_MS, &m, &l), 0);
	free(m);
	ack_result_and_done(&res);
	assert_int_equal(atomic_load(&g.smtp.connections), before);
	(void)state;
}

static void test_oversize(void **state)
{
	uint8_t sha[32], *m, *big;
	size_t l;
	struct order_opts oo = {.id = "audit1:oversize", .seq = ++g.seq};

	/* A valid order padded past RP_WIRE_MSG_MAX: libzmq drops it (and the
	 * connection) before the agent sees a byte. */
	m = make_order(&oo, &l, sha);
	big = calloc(1, RP_WIRE_MSG_MAX + 1);
	assert_non_null(big);
	memcpy(big, m, l);
	expect_rejected(big, RP_WIRE_MSG_MAX + 1, NULL);
	free(big);
	free(m);
	/* libzmq ends the session on an oversize message; the agent notices,
	 * reconnects and says HELLO again, and goes on taking orders. */
	g.rid_len = 0;
	assert_int_equal(ctl_wait(WIRE_KIND_HELLO, 5000, &m, &l), 0);
	free(m);
	assert_true(log_has("reconnecting controller="));
	oo = (struct order_opts){.id = "audit1:after-oversize", .seq = ++g.seq};
	m = make_order(&oo, &l, sha);
	ctl_send(m, l);
	free(m);
	ack_order();
	(void)state;
}

static void test_restart_durability(void **state)
{
	uint8_t *m, *sent;
	size_t l, sent_len;
	char err[256], key[AGENT_SPOOL_KEY_LEN], spool_dir[256];
	int before;

	agent_halt();
	/* A signed result left in the spool, as after a crash before its ack. */
	struct wire_result r = {.order_id = "audit1:order-0",
	                        .agent_id = AGENT_NAME,
	                        .target = "192.0.2.25",
	                        .address = "192.0.2.25",
	                        .port = 25,
	                        .verdict = "closed",
	                        .result_json = (uint8_t *)"{}",
	                        .result_json_len = 2,
	                        .finished_at_ms = 1};
	assert_int_equal(wire_result_sign(&r, g.agent, &sent, &sent_len), 0);
	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", g.state);
	struct spool *sp = spool_open(spool_dir, err, sizeof(err));
	assert_non_null(sp);
	agent_spool_key(r.order_id, r.target, r.address, r.port, key, sizeof(key));
	assert_int_equal(spool_put(sp, key, sent, sent_len), 0);
	spool_close(&sp);
	assert_int_equal(spool_files(), 1);

	g.rid_len = 0;
	agent_start();
	assert_int_equal(ctl_wait(WIRE_KIND_RESULT, WAIT_MS, &m, &l), 0);
	assert_int_equal(l, sent_len);
	assert_memory_equal(m, sent, l);
	free(m);
	/* Not acked: it comes again with the next HELLO. */
	assert_int_equal(ctl_wait(WIRE_KIND_RESULT, WAIT_MS, &m, &l), 0);
	assert_memory_equal(m, sent, sent_len);
	free(m);
	struct wire_ctl_result_ack ra = {.order_id = "audit1:order-0",
	                                 .target = "192.0.2.25",
	                                 .address = "192.0.2.25",
	                                 .port = 25,
	                                 .committed = true};
	assert_int_equal(wire_ctl_result_ack_pack(&ra, &m, &l), 0);
	ctl_send(m, l);
	free(m);
	for (int i = 0; i < 100 && spool_files() != 0; i++)
		usleep(20000);
	assert_int_equal(spool_files(), 0);
	free(sent);

	/* The replay state survived the restart: order 1 is acked, not run. */
	before = atomic_load(&g.smtp.connections);
	ctl_send(g_order1, g_order1_len);
	assert_int_equal(ctl_wait(WIRE_KIND_ORDER_ACK, WAIT_MS, &m, &l), 0);
	free(m);
	usleep(QUIET_MS * 1000);
	assert_int_equal(atomic_load(&g.smtp.connections), before);
	free(g_order1);
	g_order1 = NULL;
	agent_halt();
	(void)state;
}

/* ---- crash safety: the agent killed at each step of an order ---- */

static void crash_hook(const char *step, const char *order_id, void *arg)
{
	(void)order_id;
	if (strcmp(step, (const char *)arg) == 0)
		_exit(137); /* as after SIGKILL: no flush, no cleanup */
}

/* The agent in a child process, so that its crash is not the test's: the
 * same configuration, crashing at the step crash_at (NULL: never). */
static pid_t agent_spawn(const char *crash_at)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct agent_config *cfg = calloc(1, sizeof(*cfg));
		char err[1024];
		struct agent *a;

		if (cfg == NULL)
			_exit(2);
		fill_config(cfg, true);
		a = agent_new(cfg, err, sizeof(err));
		if (a == NULL) {
			log_error("agent_new: %s", err);
			_exit(2);
		}
		agent_set_hello_interval(a, 1000);
		if (crash_at != NULL)
			agent_set_step_hook(a, crash_hook, (void *)crash_at);
		agent_run(a);
		_exit(0);
	}
	return pid;
}

/* The child's wait status within ms, or -1. */
static int wait_exit(pid_t pid, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	return -1;
}

/* One order, the agent killed at step; restarted, it must run the order
 * exactly once (one SMTP connection for its one target) and its ORDER_DONE
 * must reach the controller, which sends the order again after the restart
 * (it re-sends every order it has no ack for on a new connection; an ack
 * lost with the crash looks the same, so always). Then nothing is left in
 * the spool or in inflight/. */
static void crash_case(const char *step, const char *id)
{
	char saved[sizeof(g.state)];
	uint8_t sha[32], *order, *m;
	size_t olen, l;
	int kind, status, before = atomic_load(&g.smtp.connections);
	struct run_seen rs = {0};
	pid_t pid;

	snprintf(saved, sizeof(saved), "%s", g.state);
	snprintf(g.state, sizeof(g.state), "%s/state-crash-%s", g.dir, step);
	g.rid_len = 0;
	pid = agent_spawn(step);
	assert_int_equal(ctl_wait(WIRE_KIND_HELLO, WAIT_MS, &m, &l), 0);
	free(m);
	struct order_opts oo = {.id = id, .seq = 1};
	order = make_order(&oo, &olen, sha);
	ctl_send(order, olen);
	status = wait_exit(pid, 10000);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("the agent did not stop at step %s", step);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 137);
	/* What it sent before dying is read, never acked. */
	while (ctl_recv(100, &kind, &m, &l) == 0)
		free(m);

	g.rid_len = 0;
	pid = agent_spawn(NULL);
	assert_int_equal(ctl_wait(WIRE_KIND_HELLO, WAIT_MS, &m, &l), 0);
	free(m);
	ctl_send(order, olen);
	collect(id, 10000, true, &rs);
	collect(id, 3 * QUIET_MS, false, &rs); /* and whatever follows */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(order);
	if (rs.dones == 0)
		fail_msg("crash at %s: no ORDER_DONE after the restart", step);
	if (atomic_load(&g.smtp.connections) - before != 1)
		fail_msg("crash at %s: the order ran %d times", step,
		         atomic_load(&g.smtp.connections) - before);
	assert_true(rs.results >= 1);
	assert_true(rs.acks >= 1);
	assert_int_equal(rs.refusals, 0);
	assert_int_equal(ready_files("inflight"), 0);
	assert_int_equal(spool_files(), 0);
	snprintf(g.state, sizeof(g.state), "%s", saved);
	g.rid_len = 0;
}

static void test_crash_after_inflight_saved(void **state)
{
	/* Never acked: the local copy is dropped, the controller's runs. */
	crash_case(AGENT_STEP_INFLIGHT_SAVED, "crash:inflight");
	assert_true(log_has("unfinished order dropped order=crash:inflight reason=never-accepted"));
	assert_true(log_has("order accepted order=crash:inflight sequence=1"));
	assert_false(log_has("resuming order order=crash:inflight"));
	(void)state;
}

static void test_crash_after_replay_saved(void **state)
{
	/* Accepted, never acked: resumed; the controller's copy is acked
	 * again, not run. */
	crash_case(AGENT_STEP_REPLAY_SAVED, "crash:replay");
	assert_true(log_has("resuming order order=crash:replay"));
	assert_true(log_has("order replayed order=crash:replay"));
	(void)state;
}

static void test_crash_after_ack(void **state)
{
	crash_case(AGENT_STEP_ACKED, "crash:acked");
	assert_true(log_has("resuming order order=crash:acked"));
	assert_true(log_has("order replayed order=crash:acked"));
	(void)state;
}

static void test_crash_after_done(void **state)
{
	/* Run to the end, ORDER_DONE spooled: not run again, the spool
	 * re-sends the ORDER_DONE. */
	crash_case(AGENT_STEP_DONE, "crash:done");
	assert_true(log_has("unfinished order dropped order=crash:done reason=already-done"));
	assert_false(log_has("resuming order order=crash:done"));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scope_special),
	    cmocka_unit_test(test_hello),
	    cmocka_unit_test(test_valid_order),
	    cmocka_unit_test(test_replayed_order),
	    cmocka_unit_test(test_literal_recipient),
	    cmocka_unit_test(test_literal_ehlo),
	    cmocka_unit_test(test_rejected_orders),
	    cmocka_unit_test(test_limits_and_scope),
	    cmocka_unit_test(test_oversize),
	    cmocka_unit_test(test_restart_durability),
	    cmocka_unit_test(test_crash_after_inflight_saved),
	    cmocka_unit_test(test_crash_after_replay_saved),
	    cmocka_unit_test(test_crash_after_ack),
	    cmocka_unit_test(test_crash_after_done),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
