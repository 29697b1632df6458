/* test_ctl.c - relayprobe-controller end to end: forks the real binary on a
 * loopback port with a SQLite file in a mkdtemp directory, and plays a fake
 * agent over real CURVE DEALER sockets and an admin REQ socket. Covers ZAP
 * refusal and pending enrolment, approve + HELLO pinning, signed orders,
 * result ingestion (once, acked twice), forged results, ORDER_DONE, kill -9
 * and re-send, and revocation. Tests run in order and share one controller. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <setjmp.h>

#include <cmocka.h>

#include "control.h"
#include "envelope.h"
#include "keys.h"
#include "orders.h"
#include "replay.h"
#include "rp_limits.h"

struct env {
	char dir[256];
	char conf[512];
	char admin_ep[512];
	char endpoint[128];
	pid_t pid;
	void *zctx;
	struct keys *ctl, *agent, *evil;
	void *dealer, *mon;
	int mon_n;
	/* orders received in the main flow */
	struct wire_order orders[4];
	size_t norders;
	int64_t audit;
	const char *audience; /* whom verify_order expects orders for */
};

static struct env E;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* ---- admin ---- */

static json_t *admin(const char *fmt, ...)
{
	static char buf[1 << 16], reply[1 << 16];
	va_list ap;
	void *req = zmq_socket(E.zctx, ZMQ_REQ);
	int zero = 0, tmo = 5000, n;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(req, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
	assert_int_equal(zmq_connect(req, E.admin_ep), 0);
	assert_true(zmq_send(req, buf, strlen(buf), 0) >= 0);
	n = zmq_recv(req, reply, sizeof(reply) - 1, 0);
	zmq_close(req);
	if (n < 0)
		return NULL;
	reply[n < (int)sizeof(reply) - 1 ? n : (int)sizeof(reply) - 1] = '\0';
	j = json_loads(reply, 0, NULL);
	assert_non_null(j);
	return j;
}

static void start_controller(void)
{
	char log[600];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/controller.log", E.dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		/* RP_CTL_VALGRIND=1: run the controller under valgrind (leak
		 * check; reports in the test directory, kept with RP_KEEP_TMP). */
		if (getenv("RP_CTL_VALGRIND") != NULL) {
			char vlog[600];

			snprintf(vlog, sizeof(vlog), "--log-file=%s/valgrind.%%p", E.dir);
			execlp("valgrind", "valgrind", "--leak-check=full",
			       "--errors-for-leak-kinds=definite", "--error-exitcode=99", vlog,
			       RP_CONTROLLER_BIN, "--config", E.conf, "-v", (char *)NULL);
		}
		execl(RP_CONTROLLER_BIN, "relayprobe-controller", "--config", E.conf, "-v",
		      (char *)NULL);
		_exit(127);
	}
	E.pid = pid;
	/* Ready when the admin socket answers. */
	for (int i = 0; i < 400; i++) {
		char path[600];
		struct stat st;

		snprintf(path, sizeof(path), "%s/admin.sock", E.dir);
		if (stat(path, &st) == 0) {
			json_t *r = admin("{\"cmd\":\"agents.list\"}");

			assert_non_null(r);
			assert_true(json_is_true(json_object_get(r, "ok")));
			assert_int_equal(st.st_mode & 0777, 0660);
			json_decref(r);
			return;
		}
		usleep(50000);
	}
	fail_msg("controller did not start (see %s)", log);
}

static void stop_controller(int sig)
{
	int status = 0;

	if (E.pid <= 0)
		return;
	kill(E.pid, sig);
	assert_int_equal(waitpid(E.pid, &status, 0), E.pid);
	if (sig == SIGTERM)
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	E.pid = 0;
}

/* ---- fake agent ---- */

static void *dealer_new(const struct keys *k, void **mon)
{
	void *d = zmq_socket(E.zctx, ZMQ_DEALER);
	int zero = 0, ivl = 100;
	char ep[64];

	zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(d, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, keys_curve_public(E.ctl), KEYS_Z85_LEN);
	zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, keys_curve_public(k), KEYS_Z85_LEN);
	zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, keys_curve_secret(k), KEYS_Z85_LEN);
	snprintf(ep, sizeof(ep), "inproc://mon%d", E.mon_n++);
	assert_int_equal(
	    zmq_socket_monitor(d, ep,
	                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
	    0);
	*mon = zmq_socket(E.zctx, ZMQ_PAIR);
	zmq_setsockopt(*mon, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_connect(*mon, ep), 0);
	assert_int_equal(zmq_connect(d, E.endpoint), 0);
	return d;
}

static void dealer_close(void **d, void **mon)
{
	if (*d != NULL) {
		zmq_socket_monitor(*d, NULL, 0);
		zmq_close(*d);
	}
	if (*mon != NULL)
		zmq_close(*mon);
	*d = *mon = NULL;
}

/* The next monitor event (its id), or 0 after timeout_ms. For
 * HANDSHAKE_FAILED_AUTH *value is the ZAP status code. */
static int mon_event(void *mon, int timeout_ms, int *value)
{
	zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
	uint8_t b[6];
	char addr[256];
	int n;

	if (zmq_poll(&it, 1, timeout_ms) <= 0)
		return 0;
	n = zmq_recv(mon, b, sizeof(b), 0);
	assert_int_equal(n, 6);
	zmq_recv(mon, addr, sizeof(addr), 0);
	if (value != NULL)
		memcpy(value, b + 2, 4);
	return b[0] | (b[1] << 8);
}

/* Receives one message from the controller within timeout_ms; its length,
 * or -1. *out malloc'd. */
static int recv_msg(void *d, int timeout_ms, uint8_t **out)
{
	zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
	zmq_msg_t m;
	int n;

	*out = NULL;
	if (zmq_poll(&it, 1, timeout_ms) <= 0)
		return -1;
	zmq_msg_init(&m);
	n = zmq_msg_recv(&m, d, 0);
	assert_true(n >= 0);
	*out = malloc((size_t)n + 1);
	memcpy(*out, zmq_msg_data(&m), (size_t)n);
	zmq_msg_close(&m);
	return n;
}

static void send_msg(void *d, uint8_t *msg, size_t len)
{
	assert_int_equal(zmq_send(d, msg, len, 0), (int)len);
	free(msg);
}

static void send_hello_full(void *d, const struct keys *k, const char *name, uint32_t max_orders);

static void send_hello(void *d, const struct keys *k)
{
	send_hello_full(d, k, keys_name(k), 0);
}

/* A HELLO claiming the agent name `name`, with k's signing key, saying no
 * capacity (an agent older than Hello.max_orders). */
static void send_hello_as(void *d, const struct keys *k, const char *name)
{
	send_hello_full(d, k, name, 0);
}

/* The same, saying it takes max_orders orders at once. */
static void send_hello_full(void *d, const struct keys *k, const char *name, uint32_t max_orders)
{
	struct wire_ctl_hello h = {0};
	char *lk[] = {"location"}, *lv[] = {"lab"};
	uint8_t *m;
	size_t n;

	h.agent_id = (char *)name;
	h.software_version = "test agent=evil \\ \"x\""; /* allowed on the wire: spaces */
	h.protocol_version = WIRE_PROTOCOL_VERSION;
	h.n_labels = 1;
	h.label_keys = lk;
	h.label_values = lv;
	h.max_targets_per_order = 2;
	h.max_orders = max_orders;
	h.has_ed25519 = true;
	memcpy(h.ed25519_public, keys_ed25519_public(k), KEYS_ED25519_PK_LEN);
	assert_int_equal(wire_ctl_hello_pack(&h, &m, &n), 0);
	send_msg(d, m, n);
}

static enum wire_reason verify_order(const uint8_t *msg, size_t len, struct wire_order *o)
{
	struct replay_state *rs = replay_state_new();
	struct wire_order_policy pol = {.controller_pk = keys_ed25519_public(E.ctl),
	                                .agent_id = E.audience ? E.audience : "agent1",
	                                .min_protocol = 1,
	                                .now_ms = now_ms(),
	                                .skew_ms = 60000,
	                                .replay = rs};
	enum wire_reason r = wire_order_verify(msg, len, &pol, o);

	replay_state_free(&rs);
	return r;
}

static json_t *find_agent(json_t *list, const char *key, const char *val)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(list, "agents"), i, a)
	{
		const char *v = json_string_value(json_object_get(a, key));

		if (v != NULL && strcmp(v, val) == 0)
			return a;
	}
	return NULL;
}

/* A JSON list of n targets "PREFIX1.example" ... (static buffer). */
static const char *targets_json(const char *prefix, int n)
{
	static char buf[1 << 15];
	size_t off = 0;

	for (int i = 1; i <= n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\"%s%d.example\"",
		                        i == 1 ? "[" : ",", prefix, i);
	snprintf(buf + off, sizeof(buf) - off, "]");
	assert_true(off + 2 < sizeof(buf));
	return buf;
}

static int group_setup(void **state)
{
	char err[256];
	FILE *f;

	if (sodium_init() < 0)
		return -1;
	snprintf(E.dir, sizeof(E.dir), "/tmp/rp-test-ctl-XXXXXX");
	if (mkdtemp(E.dir) == NULL)
		return -1;
	E.ctl = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
	E.agent = keys_generate(KEYS_ROLE_AGENT, "agent1");
	E.evil = keys_generate(KEYS_ROLE_AGENT, "agent1");
	if (!E.ctl || !E.agent || !E.evil || keys_save(E.ctl, E.dir, err, sizeof(err)) < 0)
		return -1;
	snprintf(E.endpoint, sizeof(E.endpoint), "tcp://127.0.0.1:%d", free_port());
	snprintf(E.admin_ep, sizeof(E.admin_ep), "ipc://%s/admin.sock", E.dir);
	snprintf(E.conf, sizeof(E.conf), "%s/controller.conf", E.dir);
	f = fopen(E.conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
	        "[controller]\nlisten = %s\nkeys = %s/ctl.secret\ndatabase = %s/c.db\n"
	        "admin = %s\norder_ttl = 600 ; seconds\n",
	        E.endpoint, E.dir, E.dir, E.admin_ep);
	fclose(f);
	E.zctx = zmq_ctx_new();
	return E.zctx ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[600];

	dealer_close(&E.dealer, &E.mon);
	if (E.pid > 0) {
		kill(E.pid, SIGKILL);
		waitpid(E.pid, NULL, 0);
	}
	for (size_t i = 0; i < E.norders; i++)
		wire_order_clear(&E.orders[i]);
	zmq_ctx_term(E.zctx);
	keys_free(&E.ctl);
	keys_free(&E.agent);
	keys_free(&E.evil);
	if (getenv("RP_KEEP_TMP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", E.dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

/* ---- tests ---- */

static void test_unknown_agent_refused_and_pending(void **state)
{
	char fp[KEYS_FINGERPRINT_LEN + 1];
	uint8_t *m;
	json_t *l, *a;
	int code = 0;

	start_controller();
	E.dealer = dealer_new(E.agent, &E.mon);
	send_hello(E.dealer, E.agent);
	assert_int_equal(mon_event(E.mon, 3000, &code), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
	assert_int_equal(code, 400);
	assert_int_equal(recv_msg(E.dealer, 500, &m), -1);

	assert_int_equal(keys_curve_fingerprint_of(keys_curve_public(E.agent), fp), 0);
	l = admin("{\"cmd\":\"agents.list\"}");
	a = find_agent(l, "fingerprint", fp);
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "status")), "pending");
	assert_false(json_is_true(json_object_get(a, "connected")));
	json_decref(l);
	dealer_close(&E.dealer, &E.mon);
}

/* Waits up to 3 s for want in the controller's log; 1 when found. */
static int log_has(const char *want)
{
	char path[600], buf[65536];

	snprintf(path, sizeof(path), "%s/controller.log", E.dir);
	for (int i = 0; i < 60; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f != NULL)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			return 1;
		usleep(50000);
	}
	return 0;
}

static void test_approve_hello_signed_orders(void **state)
{
	char fp[KEYS_FINGERPRINT_LEN + 1];
	json_t *r, *l;
	int ok = 0;
	uint8_t *m;
	int n;
	size_t seen = 0;

	keys_curve_fingerprint_of(keys_curve_public(E.agent), fp);
	r = admin("{\"cmd\":\"agents.approve\",\"id\":\"%s\"}", fp);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);

	E.dealer = dealer_new(E.agent, &E.mon);
	assert_int_equal(mon_event(E.mon, 3000, NULL), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	send_hello(E.dealer, E.agent);
	/* The HELLO pins the name and signing key. */
	for (int i = 0; i < 60 && !ok; i++) {
		json_t *a;

		l = admin("{\"cmd\":\"agents.list\"}");
		a = find_agent(l, "name", "agent1");
		ok = a != NULL && json_is_true(json_object_get(a, "connected")) &&
		     strcmp(json_string_value(json_object_get(a, "fingerprint")),
		            keys_fingerprint(E.agent)) == 0;
		json_decref(l);
		if (!ok)
			usleep(50000);
	}
	assert_true(ok);
	/* The HELLO's software_version is one quoted field: no forged agent=. */
	assert_true(log_has(" hello version=\"test agent=evil \\\\ \\\"x\\\"\" protocol="));
	assert_false(log_has("version=test agent=evil"));

	/* Probe parameters the agent would refuse for every target are refused
	 * at audit.start, naming the parameter (common/syntax.h, one rule). */
	{
		static const char *const bad[][2] = {
		    {"\"to\":\"nodomain\"", "'to'"},
		    {"\"to\":\"x@[192.0.2.300]\"", "'to'"},
		    {"\"from\":\"bare-local\"", "'from'"},
		    {"\"ehlo\":\"-bad-.example\"", "'ehlo'"},
		    {"\"ehlo\":\"x@example.net\"", "'ehlo'"},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *e;

			r = admin("{\"cmd\":\"audit.start\",\"targets\":[\"mx1.example\"],"
			          "\"params\":{%s}}",
			          bad[i][0]);
			assert_false(json_is_true(json_object_get(r, "ok")));
			e = json_string_value(json_object_get(r, "error"));
			assert_non_null(e);
			if (strstr(e, bad[i][1]) == NULL)
				fail_msg("%s: error \"%s\" does not name %s", bad[i][0], e,
				         bad[i][1]);
			json_decref(r);
		}
	}
	r = admin("{\"cmd\":\"audit.start\",\"targets\":%s,\"vantages\":\"all\","
	          "\"tests\":\"external-sender\",\"params\":{\"port\":2525,\"tls\":\"off\"}}",
	          targets_json("mx", 150));
	assert_true(json_is_true(json_object_get(r, "ok")));
	/* max_targets_per_order = 2 in the HELLO, under the floor of
	 * RP_CTL_TARGETS_PER_ORDER_MIN (100): 150 targets -> 2 orders, not
	 * 75. */
	assert_int_equal(json_integer_value(json_object_get(r, "orders")), 2);
	E.audit = json_integer_value(json_object_get(r, "audit"));
	json_decref(r);

	for (int i = 0; i < 2; i++) {
		struct wire_ctl_order_ack ack = {0};
		size_t alen;

		n = recv_msg(E.dealer, 3000, &m);
		assert_true(n > 0);
		assert_int_equal(verify_order(m, (size_t)n, &E.orders[E.norders]), WIRE_OK);
		free(m);
		assert_int_equal(E.orders[E.norders].spec.port, 2525);
		assert_string_equal(E.orders[E.norders].spec.tls_policy, "off");
		seen += E.orders[E.norders].spec.n_targets;
		ack.order_id = E.orders[E.norders].order_id;
		ack.committed = true;
		assert_int_equal(wire_ctl_order_ack_pack(&ack, &m, &alen), 0);
		send_msg(E.dealer, m, alen);
		E.norders++;
	}
	assert_int_equal(seen, 150);

	r = admin("{\"cmd\":\"audit.status\",\"audit\":%lld}", (long long)E.audit);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "running");
	assert_int_equal(json_integer_value(json_object_get(r, "orders")), 2);
	json_decref(r);
}

/* A result signed by signer for order o: target, address, verdict and the
 * result JSON as given (json NULL: a small honest one). */
static uint8_t *make_result_as(const struct keys *signer, const struct wire_order *o,
                               const char *target, const char *address, const char *verdict,
                               const char *json, size_t *len)
{
	static const char honest[] = "{\"target\":\"%s\",\"verdict\":\"%s\",\"tests\":["
	                             "{\"id\":\"external-sender\",\"outcome\":\"accepted\"}]}";
	char js[512];
	struct wire_result r = {0};
	uint8_t *m = NULL;

	if (json == NULL) {
		snprintf(js, sizeof(js), honest, target, verdict);
		json = js;
	}
	r.order_id = o->order_id;
	memcpy(r.order_body_sha256, o->body_sha256, WIRE_SHA256_LEN);
	r.agent_id = "agent1";
	r.target = (char *)target;
	r.address = (char *)address;
	r.port = 2525;
	r.verdict = (char *)verdict;
	r.result_json = (uint8_t *)json;
	r.result_json_len = strlen(json);
	r.finished_at_ms = now_ms();
	assert_int_equal(wire_result_sign(&r, signer, &m, len), 0);
	return m;
}

static uint8_t *make_result(const struct keys *signer, const struct wire_order *o,
                            const char *target, size_t *len)
{
	return make_result_as(signer, o, target, "127.0.0.1", "open", NULL, len);
}

static const char *target_of(const struct wire_order *o)
{
	return o->spec.targets[0];
}

static void expect_ack(const char *order_id, const char *target)
{
	struct wire_ctl_result_ack a;
	uint8_t *m;
	int n;

	/* Skip anything else (a re-sent order). */
	for (int i = 0; i < 5; i++) {
		n = recv_msg(E.dealer, 3000, &m);
		assert_true(n > 0);
		if (wire_ctl_result_ack_parse(m, (size_t)n, &a) == 0) {
			free(m);
			assert_string_equal(a.order_id, order_id);
			assert_string_equal(a.target, target);
			assert_true(a.committed);
			wire_ctl_result_ack_clear(&a);
			return;
		}
		free(m);
	}
	fail_msg("no result ack");
}

static long audit_results(void)
{
	json_t *r = admin("{\"cmd\":\"audit.status\",\"audit\":%lld}", (long long)E.audit);
	long n = (long)json_integer_value(json_object_get(r, "results"));

	json_decref(r);
	return n;
}

static void test_result_ingested_once_acked_twice(void **state)
{
	size_t len;
	uint8_t *m;

	assert_int_equal(E.norders, 2); /* the orders of the previous test */

	for (int i = 0; i < 2; i++) {
		m = make_result(E.agent, &E.orders[0], target_of(&E.orders[0]), &len);
		send_msg(E.dealer, m, len);
		expect_ack(E.orders[0].order_id, target_of(&E.orders[0]));
	}
	assert_int_equal(audit_results(), 1);
}

static void test_forged_result_dropped(void **state)
{
	size_t len;
	uint8_t *m;

	assert_int_equal(E.norders, 2); /* the orders of the previous test */

	/* Same agent id, another key: the controller must not ack it. */
	m = make_result(E.evil, &E.orders[1], target_of(&E.orders[1]), &len);
	send_msg(E.dealer, m, len);
	assert_int_equal(recv_msg(E.dealer, 800, &m), -1);
	assert_int_equal(audit_results(), 1);
}

/* A compromised approved agent (its own key, its own orders) forging
 * evidence: every result below is signed and well-formed on the wire, and
 * each was stored before the controller checked what the agent earned
 * (the class of attack controller/results.c closes). After each refusal
 * an honest result is sent: its ack must be the next message, so the
 * refused one got none. */
static void send_refused_then_honest(uint8_t *forged, size_t flen, const char *honest_addr)
{
	const struct wire_order *o = &E.orders[1];
	size_t len;
	uint8_t *m;

	send_msg(E.dealer, forged, flen);
	m = make_result_as(E.agent, o, target_of(o), honest_addr, "closed", NULL, &len);
	send_msg(E.dealer, m, len);
	/* The next ack names the honest result's address: most forgeries share
	 * its order and target, so the address is what tells them apart. */
	for (int i = 0; i < 5; i++) {
		struct wire_ctl_result_ack a;
		int n = recv_msg(E.dealer, 3000, &m);

		assert_true(n > 0);
		if (wire_ctl_result_ack_parse(m, (size_t)n, &a) == 0) {
			free(m);
			assert_string_equal(a.order_id, o->order_id);
			assert_string_equal(a.address, honest_addr);
			wire_ctl_result_ack_clear(&a);
			return;
		}
		free(m);
	}
	fail_msg("no result ack");
}

static void test_hostile_agent_forges_results(void **state)
{
	const struct wire_order *o = &E.orders[1];
	const char *t = target_of(o);
	char addr[32], *big;
	long before = audit_results();
	size_t len, n = 0;
	uint8_t *m;

	/* A target the order never named: a real client's server, say. */
	m = make_result_as(E.agent, o, "victim.example", "192.0.2.66", "open", NULL, &len);
	send_refused_then_honest(m, len, "127.0.0.10");
	/* Another order's target. */
	m = make_result_as(E.agent, o, target_of(&E.orders[0]), "127.0.0.1", "open", NULL, &len);
	send_refused_then_honest(m, len, "127.0.0.11");
	/* JSON that SQLite's json_valid takes and the readers' parser does
	 * not: it would vanish from `relayprobe transcript`. */
	{
		static const char *const bad[] = {
		    "{\"verdict\":\"open\",\"n\":1e400}",
		    "{\"verdict\":\"open\",\"n\":123456789012345678901}",
		    "{\"verdict\":\"open\",\"s\":\"a\\u0000b\"}",
		    "{\"verdict\":\"open\",\"verdict\":\"closed\"}",
		    "[\"open\"]",
		    "{\"verdict\":\"closed\"}", /* not the signed verdict */
		    "{\"verdict\":\"open\",\"target\":\"victim.example\"}",
		    /* a result document of a schema this controller cannot
		     * read (wire/result_schema.h) */
		    "{\"schema\":2,\"verdict\":\"open\"}",
		    "{\"schema\":0,\"verdict\":\"open\"}",
		    "{\"schema\":\"1\",\"verdict\":\"open\"}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(addr, sizeof(addr), "127.0.1.%zu", i);
			m = make_result_as(E.agent, o, t, addr, "open", bad[i], &len);
			snprintf(addr, sizeof(addr), "127.0.2.%zu", i);
			send_refused_then_honest(m, len, addr);
		}
	}
	/* A result JSON over RP_RESULT_JSON_MAX (1 MiB), under the wire cap. */
	big = malloc(1536 * 1024);
	assert_non_null(big);
	n = (size_t)snprintf(big, 64, "{\"verdict\":\"open\",\"pad\":\"");
	memset(big + n, 'x', 1536 * 1024 - n - 3);
	memcpy(big + 1536 * 1024 - 3, "\"}", 3);
	m = make_result_as(E.agent, o, t, "127.0.3.1", "open", big, &len);
	free(big);
	send_refused_then_honest(m, len, "127.0.3.2");
	/* Stored: the honest ones only (2 + 10 + 1). */
	assert_int_equal(audit_results(), before + 13);

	/* At most RP_CTL_TARGET_RESULTS_MAX (257) results for one target: the
	 * agent claims 300 addresses for it. */
	{
		int acked = 0;

		for (int i = 0; i < 300; i++) {
			snprintf(addr, sizeof(addr), "10.9.%d.%d", i / 250, i % 250);
			m = make_result_as(E.agent, o, o->spec.targets[1], addr, "open", NULL,
			                   &len);
			send_msg(E.dealer, m, len);
		}
		for (;;) {
			struct wire_ctl_result_ack a;
			int k = recv_msg(E.dealer, 1500, &m);

			if (k <= 0)
				break;
			if (wire_ctl_result_ack_parse(m, (size_t)k, &a) == 0) {
				acked++;
				wire_ctl_result_ack_clear(&a);
			}
			free(m);
		}
		assert_int_equal(acked, 257);
	}
	assert_int_equal(audit_results(), before + 13 + 257);
}

static void test_order_done_completes_audit(void **state)
{
	json_t *r, *t, *tr;
	size_t i;
	int found = 0;

	assert_int_equal(E.norders, 2); /* the orders of the previous test */

	for (size_t k = 0; k < E.norders; k++) {
		struct wire_ctl_order_done d = {.order_id = E.orders[k].order_id, .results = 1};
		uint8_t *m;
		size_t n;

		assert_int_equal(wire_ctl_order_done_pack(&d, &m, &n), 0);
		send_msg(E.dealer, m, n);
		expect_ack(E.orders[k].order_id, "");
	}
	r = admin("{\"cmd\":\"audit.status\",\"audit\":%lld}", (long long)E.audit);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "done");
	assert_int_equal(json_integer_value(json_object_get(r, "done")), 2);
	json_decref(r);

	r = admin("{\"cmd\":\"report\",\"audit\":\"latest\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "audit")), E.audit);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "vantages"), 0)),
	                    "agent1");
	json_array_foreach(json_object_get(r, "targets"), i, t)
	{
		if (strcmp(json_string_value(json_object_get(t, "target")),
		           target_of(&E.orders[0])))
			continue;
		found = 1;
		assert_string_equal(json_string_value(json_object_get(t, "verdict")), "open");
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(t, "cells"), "agent1")),
		    "open");
		assert_string_equal(
		    json_string_value(json_array_get(
		        json_object_get(json_object_get(t, "accepted"), "agent1"), 0)),
		    "external-sender");
	}
	assert_true(found);
	json_decref(r);

	tr = admin(
	    "{\"cmd\":\"transcript\",\"audit\":%lld,\"target\":\"%s\",\"vantage\":\"agent1\"}",
	    (long long)E.audit, target_of(&E.orders[0]));
	assert_int_equal(json_array_size(json_object_get(tr, "results")), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(tr, "results"), 0), "verdict")),
	                    "open");
	json_decref(tr);

	/* The bulk command: the same result, the stored JSON copied into a
	 * reply that parses; pages by offset; bad bounds refused. */
	tr = admin("{\"cmd\":\"transcripts\",\"audit\":%lld}", (long long)E.audit);
	assert_true(json_is_true(json_object_get(tr, "ok")));
	assert_int_equal(json_integer_value(json_object_get(tr, "total")),
	                 json_array_size(json_object_get(tr, "cells")));
	assert_true(json_array_size(json_object_get(tr, "cells")) >= 1);
	found = 0;
	json_array_foreach(json_object_get(tr, "cells"), i, t)
	{
		json_t *res = json_array_get(json_object_get(t, "results"), 0);

		assert_string_equal(json_string_value(json_object_get(t, "vantage")), "agent1");
		if (strcmp(json_string_value(json_object_get(t, "target")),
		           target_of(&E.orders[0])) == 0) {
			found = 1;
			assert_string_equal(json_string_value(json_object_get(res, "verdict")),
			                    "open");
		}
	}
	assert_true(found);
	json_decref(tr);
	tr = admin("{\"cmd\":\"transcripts\",\"audit\":%lld,\"offset\":1,\"limit\":1}",
	           (long long)E.audit);
	assert_true(json_is_true(json_object_get(tr, "ok")));
	assert_true(json_array_size(json_object_get(tr, "cells")) <= 1);
	assert_int_equal(json_integer_value(json_object_get(tr, "offset")), 1);
	json_decref(tr);
	tr = admin("{\"cmd\":\"transcripts\",\"audit\":%lld,\"limit\":1001}", (long long)E.audit);
	assert_false(json_is_true(json_object_get(tr, "ok")));
	json_decref(tr);
}

/* Receives the next order (skipping acks); WIRE_OK-verified into *o.
 * 0, or -1 when none came within timeout_ms. */
static int recv_order(int timeout_ms, struct wire_order *o)
{
	uint8_t *m;
	int n;

	for (int i = 0; i < 8; i++) {
		n = recv_msg(E.dealer, timeout_ms, &m);
		if (n <= 0)
			return -1;
		if (wire_envelope_kind(m, (size_t)n) == WIRE_KIND_ORDER) {
			assert_int_equal(verify_order(m, (size_t)n, o), WIRE_OK);
			free(m);
			return 0;
		}
		free(m);
	}
	return -1;
}

/* Answers the copy o with its sequence (or seq when not 0). */
static void ack_order_seq(const struct wire_order *o, bool committed, const char *reason,
                          uint64_t seq)
{
	struct wire_ctl_order_ack ack = {.order_id = o->order_id,
	                                 .committed = committed,
	                                 .reason = (char *)reason,
	                                 .sequence = seq ? seq : o->sequence};
	uint8_t *m;
	size_t n;

	assert_int_equal(wire_ctl_order_ack_pack(&ack, &m, &n), 0);
	send_msg(E.dealer, m, n);
}

static void ack_order(const struct wire_order *o, bool committed, const char *reason)
{
	ack_order_seq(o, committed, reason, 0);
}

static void order_done(const struct wire_order *o)
{
	struct wire_ctl_order_done d = {.order_id = o->order_id, .results = 0};
	uint8_t *m;
	size_t n;

	assert_int_equal(wire_ctl_order_done_pack(&d, &m, &n), 0);
	send_msg(E.dealer, m, n);
	expect_ack(o->order_id, "");
}

/* A large audit goes out through a window of 2 orders: the next order
 * leaves only when one is done, each signed at send time with a sequence
 * above every earlier one; an order refused unrun (expired) comes back
 * with the same id, a new sequence and a fresh validity. */
static void test_order_window_and_reissue(void **state)
{
	struct wire_order o[8] = {0}, refused = {0}, extra = {0};
	uint64_t last_seq = 0;
	int seen_again = 0;
	int64_t audit;
	json_t *r;
	size_t got = 0;

	r = admin("{\"cmd\":\"audit.start\",\"targets\":%s,\"tests\":\"external-sender\"}",
	          targets_json("w", 450));
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "orders")), 5);
	audit = json_integer_value(json_object_get(r, "audit"));
	json_decref(r);

	/* Two go out; a third waits. */
	assert_int_equal(recv_order(3000, &o[0]), 0);
	assert_int_equal(recv_order(3000, &o[1]), 0);
	assert_int_equal(recv_order(1500, &extra), -1);
	assert_true(o[0].sequence < o[1].sequence);
	last_seq = o[1].sequence;
	ack_order(&o[0], true, "");
	ack_order(&o[1], true, "");
	got = 2;

	/* The agent refuses the next one as expired: it goes back to the
	 * queue and comes out again later, signed anew. */
	order_done(&o[0]);
	assert_int_equal(recv_order(3000, &refused), 0);
	assert_true(refused.sequence > last_seq);
	last_seq = refused.sequence;
	/* A refusal of some older copy changes nothing... */
	ack_order_seq(&refused, false, "expired", refused.sequence - 1);
	assert_int_equal(recv_order(1000, &extra), -1);
	/* ...the refusal of this copy sends it back to the queue. */
	ack_order(&refused, false, "expired");

	/* One order out per finished order, sequences rising, until the four
	 * ids other than o[0] ran once more: o[1] is still out. */
	for (size_t k = 1; got < 5; k++) {
		assert_int_equal(recv_order(3000, &o[got]), 0);
		assert_true(o[got].sequence > last_seq);
		last_seq = o[got].sequence;
		ack_order(&o[got], true, "");
		if (strcmp(o[got].order_id, refused.order_id) == 0) {
			seen_again = 1;
			assert_true(o[got].issued_at_ms >= refused.issued_at_ms);
			assert_memory_not_equal(o[got].body_sha256, refused.body_sha256,
			                        WIRE_SHA256_LEN);
		}
		got++;
		order_done(&o[k]);
	}
	assert_true(seen_again);
	/* A result of the first copy (had it run after all) still counts:
	 * the controller keeps the hash of every body it signed for an id. */
	{
		size_t n = 0;
		uint8_t *m = make_result(E.agent, &refused, refused.spec.targets[0], &n);

		send_msg(E.dealer, m, n);
		expect_ack(refused.order_id, refused.spec.targets[0]);
	}
	assert_int_equal(recv_order(1000, &extra), -1);
	for (size_t k = 4; k < 5; k++)
		order_done(&o[k]);
	r = admin("{\"cmd\":\"audit.status\",\"audit\":%lld}", (long long)audit);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "done");
	assert_int_equal(json_integer_value(json_object_get(r, "done")), 5);
	json_decref(r);
	for (size_t k = 0; k < 5; k++)
		wire_order_clear(&o[k]);
	wire_order_clear(&refused);
}

/* The order window follows the capacity the agent's HELLO says
 * (Hello.max_orders): capacity + 1 orders out, within 1..65; an agent that
 * says none (0: older than the field) gets the old window of 2. */
static void test_order_window_follows_capacity(void **state)
{
	struct wire_order o[6] = {0}, extra = {0};
	int64_t audit;
	json_t *r;

	assert_int_equal(orders_window(0), 2);
	assert_int_equal(orders_window(1), 2);
	assert_int_equal(orders_window(4), 5);
	assert_int_equal(orders_window(RP_AGENT_CAPACITY_MAX), RP_AGENT_CAPACITY_MAX + 1);
	assert_int_equal(orders_window(RP_AGENT_CAPACITY_MAX + 1), RP_AGENT_CAPACITY_MAX + 1);
	assert_int_equal(orders_window(UINT32_MAX), RP_AGENT_CAPACITY_MAX + 1);

	/* Capacity 3: four out (whether the HELLO or the audit is seen first:
	 * the HELLO pumps), a fifth waits. */
	send_hello_full(E.dealer, E.agent, keys_name(E.agent), 3);
	r = admin("{\"cmd\":\"audit.start\",\"targets\":%s,\"tests\":\"external-sender\"}",
	          targets_json("cap", 600));
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "orders")), 6);
	audit = json_integer_value(json_object_get(r, "audit"));
	json_decref(r);
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(recv_order(3000, &o[k]), 0);
		ack_order(&o[k], true, "");
	}
	assert_int_equal(recv_order(1500, &extra), -1);
	/* One done: one more. */
	order_done(&o[0]);
	assert_int_equal(recv_order(3000, &o[4]), 0);
	ack_order(&o[4], true, "");
	assert_int_equal(recv_order(1000, &extra), -1);

	/* The same agent, now saying nothing (an older build): a window of 2.
	 * Four are out; two done leave two out, and none leaves. */
	send_hello(E.dealer, E.agent);
	order_done(&o[1]);
	order_done(&o[2]);
	assert_int_equal(recv_order(1500, &extra), -1);
	/* A third done: one out, so the last one leaves. */
	order_done(&o[3]);
	assert_int_equal(recv_order(3000, &o[5]), 0);
	ack_order(&o[5], true, "");
	order_done(&o[4]);
	order_done(&o[5]);
	assert_int_equal(recv_order(1000, &extra), -1);
	r = admin("{\"cmd\":\"audit.status\",\"audit\":%lld}", (long long)audit);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "done");
	assert_int_equal(json_integer_value(json_object_get(r, "done")), 6);
	json_decref(r);
	for (size_t k = 0; k < 6; k++)
		wire_order_clear(&o[k]);
}

/* After ORDER_DONE (1 result declared, 1 stored), a new result for the
 * finished order is refused (it would rewrite a finished audit and fire
 * change events), while a duplicate of the stored one is still acked. */
static void test_done_order_refuses_new_results(void **state)
{
	const struct wire_order *o = &E.orders[0];
	long before = audit_results();
	size_t len;
	uint8_t *m;

	m = make_result_as(E.agent, o, target_of(o), "127.0.0.99", "open", NULL, &len);
	send_msg(E.dealer, m, len);
	m = make_result(E.agent, o, target_of(o), &len); /* the stored one, again */
	send_msg(E.dealer, m, len);
	expect_ack(o->order_id, target_of(o));
	assert_int_equal(recv_msg(E.dealer, 800, &m), -1);
	assert_int_equal(audit_results(), before);
}

static void test_kill9_restart_resends_unacked(void **state)
{
	struct wire_order o = {0}, o2 = {0};
	uint8_t *first, *m = NULL;
	int n1, n = -1;
	json_t *r;

	assert_int_equal(E.norders, 2); /* the orders of the previous test */

	r = admin("{\"cmd\":\"audit.start\",\"targets\":[\"mx9.example\"]}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	n1 = recv_msg(E.dealer, 3000, &first);
	assert_true(n1 > 0);
	assert_int_equal(verify_order(first, (size_t)n1, &o), WIRE_OK);
	/* Not acked; the controller dies hard. */
	stop_controller(SIGKILL);
	start_controller();
	for (int i = 0; i < 10 && n < 0; i++) {
		send_hello(E.dealer, E.agent);
		n = recv_msg(E.dealer, 1000, &m);
	}
	assert_true(n > 0);
	/* The same signed bytes, from the store. */
	assert_int_equal(n, n1);
	assert_memory_equal(m, first, (size_t)n);
	assert_int_equal(verify_order(m, (size_t)n, &o2), WIRE_OK);
	assert_string_equal(o2.order_id, o.order_id);
	free(first);
	free(m);
	wire_order_clear(&o);
	wire_order_clear(&o2);
}

/* A controller key rotation while an order is out and unacked (the mx9
 * order of the kill -9 test): the agent would drop the old-key copy
 * unanswered, so on its HELLO the order goes back to the queue and comes
 * out signed by the new key, same id, a higher sequence. */
static void test_key_rotation_resigns_unacked(void **state)
{
	struct keys *k2 = keys_generate(KEYS_ROLE_CONTROLLER, "ctl2");
	struct wire_order o = {0};
	char err[256];
	int got = -1;
	FILE *f;

	assert_non_null(k2);
	assert_int_equal(keys_save(k2, E.dir, err, sizeof(err)), 0);
	stop_controller(SIGTERM);
	f = fopen(E.conf, "w");
	assert_non_null(f);
	fprintf(f,
	        "[controller]\nlisten = %s\nkeys = %s/ctl2.secret\ndatabase = %s/c.db\n"
	        "admin = %s\norder_ttl = 600 ; seconds\n",
	        E.endpoint, E.dir, E.dir, E.admin_ep);
	fclose(f);
	start_controller();
	/* The agent pins the new key (as the operator's guide says). */
	dealer_close(&E.dealer, &E.mon);
	keys_free(&E.ctl);
	E.ctl = k2;
	E.dealer = dealer_new(E.agent, &E.mon);
	assert_int_equal(mon_event(E.mon, 3000, NULL), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	for (int i = 0; i < 10 && got < 0; i++) {
		send_hello(E.dealer, E.agent);
		got = recv_order(1000, &o);
	}
	assert_int_equal(got, 0); /* verified with the new key */
	assert_int_equal(o.spec.n_targets, 1);
	assert_string_equal(o.spec.targets[0], "mx9.example");
	wire_order_clear(&o);
}

static void test_revoke_drops_agent(void **state)
{
	struct wire_ctl_order_done d = {.order_id = E.orders[0].order_id, .results = 1};
	json_t *r, *l, *a;
	void *d2 = NULL, *mon2 = NULL;
	uint8_t *m;
	size_t n;
	int code = 0;

	assert_int_equal(E.norders, 2); /* the orders of the previous test */

	/* Still answered before the revocation. */
	assert_int_equal(wire_ctl_order_done_pack(&d, &m, &n), 0);
	send_msg(E.dealer, m, n);
	expect_ack(E.orders[0].order_id, "");

	/* The mx9 audit of the kill -9 test still waits for agent1. */
	r = admin("{\"cmd\":\"audit.status\",\"audit\":\"latest\"}");
	assert_string_equal(json_string_value(json_object_get(r, "status")), "running");
	json_decref(r);
	r = admin("{\"cmd\":\"agents.revoke\",\"id\":\"agent1\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* Revoked: its unfinished orders are closed, so the audit finishes. */
	r = admin("{\"cmd\":\"audit.status\",\"audit\":\"latest\"}");
	assert_string_equal(json_string_value(json_object_get(r, "status")), "done");
	json_decref(r);
	/* Its live session is gone: the same message gets no answer. */
	assert_int_equal(wire_ctl_order_done_pack(&d, &m, &n), 0);
	send_msg(E.dealer, m, n);
	assert_int_equal(recv_msg(E.dealer, 1500, &m), -1);
	/* A new connection with its key is refused by ZAP. */
	d2 = dealer_new(E.agent, &mon2);
	assert_int_equal(mon_event(mon2, 3000, &code), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
	assert_int_equal(code, 400);
	dealer_close(&d2, &mon2);

	l = admin("{\"cmd\":\"agents.list\"}");
	a = find_agent(l, "name", "agent1");
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "status")), "revoked");
	json_decref(l);
	r = admin("{\"cmd\":\"agents.approve\",\"id\":\"agent1\"}");
	assert_false(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	dealer_close(&E.dealer, &E.mon);
	stop_controller(SIGTERM);
}

/* Enrols k the way a new vantage is approved by its CURVE fingerprint:
 * refused and recorded pending, approved, connected again, then its first
 * HELLO claims `name`. Leaves E.dealer connected as k. */
static void enrol_by_fingerprint(const struct keys *k, const char *name)
{
	char fp[KEYS_FINGERPRINT_LEN + 1];
	json_t *r;
	int code = 0;

	dealer_close(&E.dealer, &E.mon);
	E.dealer = dealer_new(k, &E.mon);
	assert_int_equal(mon_event(E.mon, 3000, &code), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
	dealer_close(&E.dealer, &E.mon);
	assert_int_equal(keys_curve_fingerprint_of(keys_curve_public(k), fp), 0);
	r = admin("{\"cmd\":\"agents.approve\",\"id\":\"%s\"}", fp);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	E.dealer = dealer_new(k, &E.mon);
	assert_int_equal(mon_event(E.mon, 3000, NULL), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	send_hello_as(E.dealer, k, name);
}

/* Whether an agent named `name` with k's signing fingerprint is listed,
 * within 2 s. */
static bool pinned_as(const struct keys *k, const char *name)
{
	for (int i = 0; i < 40; i++) {
		json_t *l = admin("{\"cmd\":\"agents.list\"}"), *a = find_agent(l, "name", name);
		bool ok = a != NULL && strcmp(json_string_value(json_object_get(a, "fingerprint")),
		                              keys_fingerprint(k)) == 0;

		json_decref(l);
		if (ok)
			return true;
		usleep(50000);
	}
	return false;
}

/* An agent approved by fingerprint picks its name in its first HELLO: it
 * may not take the revoked agent1's name (its history and reports), nor an
 * all-digit name (it would shadow the numeric ids `agents approve` takes).
 * Runs on a controller with order_stall = 10 (the next test). */
static void test_pin_refuses_revoked_and_numeric_names(void **state)
{
	struct keys *k1 = keys_generate(KEYS_ROLE_AGENT, "taker");
	struct keys *k2 = keys_generate(KEYS_ROLE_AGENT, "digits");
	FILE *f = fopen(E.conf, "w");

	assert_non_null(f);
	fprintf(f,
	        "[controller]\nlisten = %s\nkeys = %s/ctl2.secret\ndatabase = %s/c.db\n"
	        "admin = %s\norder_ttl = 600\norder_stall = 10\n",
	        E.endpoint, E.dir, E.dir, E.admin_ep);
	fclose(f);
	start_controller();
	enrol_by_fingerprint(k1, "agent1");
	assert_false(pinned_as(k1, "agent1"));
	enrol_by_fingerprint(k2, "4242");
	assert_false(pinned_as(k2, "4242"));
	/* Still approved and unpinned: a proper name is taken. */
	send_hello_as(E.dealer, k2, "digits");
	assert_true(pinned_as(k2, "digits"));
	dealer_close(&E.dealer, &E.mon);
	keys_free(&k1);
	keys_free(&k2);
}

/* A compromised agent that acks an order and never reports on it holds a
 * slot of its order window and keeps the audit running forever: after
 * order_stall seconds without progress the order is closed. Then a flood
 * of large results: the admin socket keeps answering, and no more is
 * stored for the order than its quota (8 MiB for its one target). */
static void test_stalled_order_closed_and_flood_bounded(void **state)
{
	struct keys *k = keys_generate(KEYS_ROLE_AGENT, "agent2");
	struct wire_order o = {0}, o2 = {0};
	struct timespec t0, t1;
	char addr[32], *big;
	const size_t bigsz = 900 * 1024;
	int64_t audit;
	bool done = false;
	long results;
	double ms;
	json_t *r;
	int acked = 0;

	assert_non_null(k);
	E.audience = "agent2";
	enrol_by_fingerprint(k, "agent2");
	assert_true(pinned_as(k, "agent2"));
	r = admin("{\"cmd\":\"audit.start\",\"targets\":[\"st1.example\"],"
	          "\"vantages\":[\"agent2\"]}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	audit = json_integer_value(json_object_get(r, "audit"));
	json_decref(r);
	assert_int_equal(recv_order(3000, &o), 0);
	ack_order(&o, true, "");
	for (int i = 0; i < 40 && !done; i++) { /* order_stall 10 s, checked every 10 s */
		sleep(1);
		r = admin("{\"cmd\":\"audit.status\",\"audit\":%lld}", (long long)audit);
		done = strcmp(json_string_value(json_object_get(r, "status")), "done") == 0;
		json_decref(r);
	}
	assert_true(done);

	/* The flood, on a fresh order. */
	r = admin("{\"cmd\":\"audit.start\",\"targets\":[\"fl1.example\"],"
	          "\"vantages\":[\"agent2\"]}");
	audit = json_integer_value(json_object_get(r, "audit"));
	json_decref(r);
	assert_int_equal(recv_order(3000, &o2), 0);
	ack_order(&o2, true, "");
	big = malloc(bigsz + 1);
	assert_non_null(big);
	for (int i = 0; i < 150; i++) {
		size_t n =
		    (size_t)snprintf(big, 128, "{\"verdict\":\"open\",\"i\":%d,\"pad\":\"", i);
		uint8_t *m;
		size_t len;
		struct wire_result w = {0};

		memset(big + n, 'x', bigsz - n - 2);
		memcpy(big + bigsz - 2, "\"}", 3);
		snprintf(addr, sizeof(addr), "198.51.100.%d", i);
		w.order_id = o2.order_id;
		memcpy(w.order_body_sha256, o2.body_sha256, WIRE_SHA256_LEN);
		w.agent_id = "agent2";
		w.target = "fl1.example";
		w.address = addr;
		w.port = 25;
		w.verdict = "open";
		w.result_json = (uint8_t *)big;
		w.result_json_len = strlen(big);
		assert_int_equal(wire_result_sign(&w, k, &m, &len), 0);
		send_msg(E.dealer, m, len);
	}
	free(big);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = admin("{\"cmd\":\"agents.list\"}");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(r); /* answered within the admin timeout (5 s) */
	json_decref(r);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("admin latency during a flood of 150 results of 900 KiB: %.0f ms\n", ms);
	for (;;) {
		struct wire_ctl_result_ack a;
		uint8_t *m;
		int n = recv_msg(E.dealer, 3000, &m);

		if (n <= 0)
			break;
		if (wire_ctl_result_ack_parse(m, (size_t)n, &a) == 0) {
			acked++;
			wire_ctl_result_ack_clear(&a);
		}
		free(m);
	}
	r = admin("{\"cmd\":\"audit.status\",\"audit\":%lld}", (long long)audit);
	results = (long)json_integer_value(json_object_get(r, "results"));
	json_decref(r);
	print_message("flood: %d acked, %ld stored\n", acked, results);
	/* 8 MiB / (900 KiB + its JSON): 9 results, the rest refused. */
	assert_int_equal(results, (long)(8 * 1024 * 1024 / (bigsz + 1)));
	assert_int_equal(acked, results);
	wire_order_clear(&o);
	wire_order_clear(&o2);
	dealer_close(&E.dealer, &E.mon);
	keys_free(&k);
	stop_controller(SIGTERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_agent_refused_and_pending),
	    cmocka_unit_test(test_approve_hello_signed_orders),
	    cmocka_unit_test(test_result_ingested_once_acked_twice),
	    cmocka_unit_test(test_forged_result_dropped),
	    cmocka_unit_test(test_hostile_agent_forges_results),
	    cmocka_unit_test(test_order_done_completes_audit),
	    cmocka_unit_test(test_done_order_refuses_new_results),
	    cmocka_unit_test(test_order_window_and_reissue),
	    cmocka_unit_test(test_order_window_follows_capacity),
	    cmocka_unit_test(test_kill9_restart_resends_unacked),
	    cmocka_unit_test(test_key_rotation_resigns_unacked),
	    cmocka_unit_test(test_revoke_drops_agent),
	    cmocka_unit_test(test_pin_refuses_revoked_and_numeric_names),
	    cmocka_unit_test(test_stalled_order_closed_and_flood_bounded),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
