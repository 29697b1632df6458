/* agent.c - the relayprobe-agent loop. One DEALER socket (CURVE client, the
 * controller's CURVE key pinned, ZMQ_MAXMSGSIZE = RP_WIRE_MSG_MAX, ZMTP
 * heartbeats, reconnect backoff) and a socket monitor that says when a
 * session is up. Orders: wire_order_verify, in-flight copy then replay
 * state saved (fsync), logged, acked, then run by the engine within
 * [limits] and [scope] (special addresses refused); each result is
 * signed, spooled (fsync) and sent; an ORDER_DONE closes the order; spooled
 * items are re-sent on every HELLO until a RESULT_ACK removes them.
 * About 1,250 lines, link + orders + results in one file because the loop
 * runs inside the engine's progress callback; the split into
 * agent_link/agent_orders/agent_results comes with the long-lived engine
 * that lets the agent own its loop (docs/architecture.md). */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "control.h"
#include "engine.h"
#include "envelope.h"
#include "exclude.h"
#include "keys.h"
#include "log.h"
#include "relay_tests.h"
#include "replay.h"
#include "result_json.h"
#include "rp_limits.h"
#include "rp_take.h"
#include "spool.h"
#include "syntax.h"
#include "target.h"
#include "vantage.h"

#define POLL_MAX_MS      200 /* upper bound on one wait: agent_stop() is seen this fast */
#define DRAIN_MAX        256 /* messages read per wake-up */
#define LINGER_MS        2000
#define RECONNECT_MIN_MS 1500 /* forced reconnect: after libzmq's own 1 s */
#define RECONNECT_MAX_MS 30000
#define DEFAULT_TO       "relaytest@example.net"
#define DEFAULT_FROM     "relayprobe"
#define LOCAL_PART_MAX   RP_LOCAL_PART_MAX
#define CAPABILITY       "smtp-relay"
#define REASON_TARGETS   "targets-per-order"

struct pending {
	uint8_t *msg;
	size_t len;
};

/* One order being run. */
/* Signed results not yet spooled: stored together (spool_put_many: one
 * flush for the batch, not two fsyncs a result) when the batch is full,
 * on every engine progress call (PROGRESS_MS) and when the run ends, and
 * only then sent. A crash loses at most the batch, which the resumed
 * order runs again. */
struct batch_item {
	char key[AGENT_SPOOL_KEY_LEN];
	uint8_t *msg;
	size_t len;
};

struct run {
	struct agent *a;
	const struct wire_order *o;
	uint8_t (*digests)[32]; /* spool-key digests, to count distinct results */
	size_t n, cap;
	bool oom;
	struct batch_item batch[SPOOL_BATCH_MAX];
	size_t nbatch;
	/* canary: for each dialog test (catalogue order), its column in the
	 * order's token rows; filled by build_params */
	size_t tok_col[RP_TESTS_MAX];
	size_t ntok;
	struct vantage_tally vantage; /* port 25 blocked here? (vantage.h) */
};

struct agent {
	struct agent_config cfg;
	struct exclude_list *exclude; /* [scope] exclude_file, NULL when none */
	struct keys *own, *ctl;
	struct replay_state *replay;
	struct spool *spool;
	struct spool *inflight; /* accepted orders not yet done: resumed at start */
	char replay_path[AGENT_CONF_PATH_MAX + 80];
	char spool_path[AGENT_CONF_PATH_MAX + 16];
	char inflight_path[AGENT_CONF_PATH_MAX + 16];
	char ehlo[RP_DOMAIN_MAX + 1];
	void *zctx, *sock, *mon;
	unsigned hello_ms;
	uint64_t next_hello;
	uint64_t reconnect_at; /* 0 = none pending */
	unsigned reconnect_ms; /* backoff of forced reconnects */
	atomic_int stop;
	struct engine *engine; /* while an order runs */
	bool running;
	struct pending pending[AGENT_PENDING_ORDERS_MAX];
	size_t npending;
	agent_step_fn step_hook; /* tests only */
	void *step_arg;
};

static void dispatch(struct agent *a, const uint8_t *msg, size_t len);

const char *agent_id(const struct agent *a)
{
	return keys_name(a->own);
}

void agent_set_hello_interval(struct agent *a, unsigned ms)
{
	a->hello_ms = ms > 0 ? ms : AGENT_HELLO_INTERVAL_MS;
	a->next_hello = rp_mono_ms() + a->hello_ms;
}

void agent_set_step_hook(struct agent *a, agent_step_fn fn, void *arg)
{
	a->step_hook = fn;
	a->step_arg = arg;
}

static void step(struct agent *a, const char *name, const char *order_id)
{
	if (a->step_hook != NULL)
		a->step_hook(name, order_id, a->step_arg);
}

void agent_stop(struct agent *a)
{
	if (a != NULL)
		atomic_store(&a->stop, 1);
}

static void key_digest(const char *order_id, const char *target, const char *address, unsigned port,
                       uint8_t out[32])
{
	crypto_hash_sha256_state st;
	char p[16];
	int n = snprintf(p, sizeof(p), "%u", port);

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)order_id, strlen(order_id) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)target, strlen(target) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)address, strlen(address) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)p, (size_t)n);
	crypto_hash_sha256_final(&st, out);
}

static void digest_key(bool done, const uint8_t d[32], char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	char buf[AGENT_SPOOL_KEY_LEN];
	size_t o = 0;

	buf[o++] = done ? 'd' : 'r';
	buf[o++] = '-';
	for (size_t i = 0; i < 32; i++) {
		buf[o++] = hex[d[i] >> 4];
		buf[o++] = hex[d[i] & 15];
	}
	buf[o] = '\0';
	snprintf(out, outlen, "%s", buf);
}

void agent_spool_key(const char *order_id, const char *target, const char *address, unsigned port,
                     char *out, size_t outlen)
{
	uint8_t d[32];
	bool done = target[0] == '\0';

	if (done) {
		address = "";
		port = 0;
	}
	key_digest(order_id, target, address, port, d);
	digest_key(done, d, out, outlen);
}

/* ---- sending ---- */

/* One single-frame message, never blocking: when the pipe is full the
 * message is dropped (a spooled item goes again on the next HELLO). */
static int send_msg(struct agent *a, const uint8_t *msg, size_t len)
{
	if (zmq_send(a->sock, msg, len, ZMQ_DONTWAIT) < 0) {
		log_debug("send failed size=%zu error=\"%s\"", len, zmq_strerror(errno));
		return -1;
	}
	return 0;
}

static void send_hello(struct agent *a)
{
	struct wire_ctl_hello h = {0};
	char *keys[AGENT_CONF_LABELS_MAX], *values[AGENT_CONF_LABELS_MAX];
	char *caps[] = {CAPABILITY};
	uint8_t *msg = NULL;
	size_t len = 0;

	for (size_t i = 0; i < a->cfg.n_labels; i++) {
		keys[i] = a->cfg.label_keys[i];
		values[i] = a->cfg.label_values[i];
	}
	h.agent_id = (char *)agent_id(a);
	h.software_version = RP_VERSION;
	h.protocol_version = WIRE_PROTOCOL_VERSION;
	h.label_keys = keys;
	h.label_values = values;
	h.n_labels = a->cfg.n_labels;
	h.caps = caps;
	h.n_caps = 1;
	h.has_ed25519 = true;
	memcpy(h.ed25519_public, keys_ed25519_public(a->own), KEYS_ED25519_PK_LEN);
	h.max_targets_per_order = a->cfg.targets_per_order;
	h.max_concurrency = a->cfg.concurrency;
	if (wire_ctl_hello_pack(&h, &msg, &len) == 0)
		send_msg(a, msg, len);
	else
		log_error("cannot pack HELLO");
	free(msg);
}

static int resend_one(void *arg, const char *key, const uint8_t *bytes, size_t len)
{
	struct agent *a = arg;
	(void)key;
	send_msg(a, bytes, len);
	return 0;
}

static void resend_spool(struct agent *a)
{
	long n = spool_list(a->spool, resend_one, a);
	if (n > 0)
		log_debug("spool re-sent items=%ld", n);
	else if (n < 0)
		log_error("spool listing failed error=\"%s\"", strerror(errno));
}

static void send_order_ack(struct agent *a, const char *order_id, uint64_t sequence, bool committed,
                           const char *reason)
{
	struct wire_ctl_order_ack ack = {(char *)order_id, committed, (char *)reason, sequence};
	uint8_t *msg = NULL;
	size_t len = 0;

	if (wire_ctl_order_ack_pack(&ack, &msg, &len) == 0)
		send_msg(a, msg, len);
	free(msg);
}

/* Stores msg under key (fsync'ed) and sends it. */
static void spool_and_send(struct agent *a, const char *key, const uint8_t *msg, size_t len)
{
	if (spool_put(a->spool, key, msg, len) < 0)
		log_error("spool write failed key=%s error=\"%s\"", LOG_V(key), strerror(errno));
	send_msg(a, msg, len);
}

/* ---- receiving ---- */

/* Reads everything waiting (up to DRAIN_MAX messages); multi-frame messages
 * are not ours and are dropped whole. */
static void drain(struct agent *a)
{
	for (int i = 0; i < DRAIN_MAX; i++) {
		zmq_msg_t m;
		int more = 0;
		size_t ml = sizeof(more);
		bool multi = false;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, a->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		while (zmq_getsockopt(a->sock, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
			zmq_msg_t part;
			multi = true;
			zmq_msg_init(&part);
			if (zmq_msg_recv(&part, a->sock, 0) < 0) {
				zmq_msg_close(&part);
				break;
			}
			zmq_msg_close(&part);
		}
		if (multi)
			log_warn("message dropped reason=multipart");
		else
			dispatch(a, zmq_msg_data(&m), zmq_msg_size(&m));
		zmq_msg_close(&m);
	}
}

/* Monitor events: a CURVE handshake that succeeded is a new session: HELLO
 * and re-send the spool at once. */
static void monitor_events(struct agent *a)
{
	for (;;) {
		zmq_msg_t m;
		uint16_t ev = 0;
		int more = 0;
		size_t ml = sizeof(more);

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, a->mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		if (zmq_msg_size(&m) >= 2)
			memcpy(&ev, zmq_msg_data(&m), 2);
		zmq_msg_close(&m);
		while (zmq_getsockopt(a->mon, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
			zmq_msg_init(&m);
			zmq_msg_recv(&m, a->mon, 0);
			zmq_msg_close(&m);
		}
		if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			log_info("connected controller=%s", a->cfg.controller);
			a->reconnect_at = 0;
			a->reconnect_ms = RECONNECT_MIN_MS;
			send_hello(a);
			resend_spool(a);
			a->next_hello = rp_mono_ms() + a->hello_ms;
		} else if (ev == ZMQ_EVENT_DISCONNECTED) {
			/* libzmq reconnects after a dropped connection, but not after a
			 * protocol error (an oversize message, a failed handshake): it
			 * ends the session. So reconnect here unless libzmq's own
			 * reconnect succeeds first. */
			log_info("disconnected controller=%s", a->cfg.controller);
			if (a->reconnect_at == 0)
				a->reconnect_at = rp_mono_ms() + a->reconnect_ms;
		} else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
		           ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
		           ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
			log_warn("handshake failed controller=%s event=%u", a->cfg.controller,
			         (unsigned)ev);
		}
	}
}

/* Everything periodic: incoming messages, monitor, HELLO tick. */
static void tick(struct agent *a)
{
	drain(a);
	monitor_events(a);
	if (a->reconnect_at != 0 && rp_mono_ms() >= a->reconnect_at) {
		log_info("reconnecting controller=%s", a->cfg.controller);
		zmq_disconnect(a->sock, a->cfg.controller);
		if (zmq_connect(a->sock, a->cfg.controller) < 0)
			log_error("cannot connect controller=%s error=\"%s\"", a->cfg.controller,
			          zmq_strerror(errno));
		a->reconnect_at = 0;
		a->reconnect_ms =
		    a->reconnect_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : a->reconnect_ms * 2;
	}
	if (rp_mono_ms() >= a->next_hello) {
		send_hello(a);
		resend_spool(a);
		a->next_hello = rp_mono_ms() + a->hello_ms;
	}
}

/* ---- running an order ---- */

/* Every address the engine would dial, before any connection, and every
 * target name before it is resolved: an entry of [scope] exclude_file that
 * covers it makes the result "excluded" with the entry and its reason; the
 * special classes (0.0.0.0, ::, loopback... in every embedded form) and
 * [scope] allow/deny refuse an address: logged with its reason, the result
 * says "refused by the agent's scope". */
static enum engine_scope scope_cb(const struct sockaddr *sa, socklen_t len, const char *host,
                                  char *out, size_t outlen, void *arg)
{
	const struct agent *a = arg;
	char why[160], ip[INET6_ADDRSTRLEN] = "?";

	if (exclude_check(a->exclude, sa, host, out, outlen)) {
		log_info("scope excluded host=%s reason=\"%s\"", LOG_V(host ? host : "-"), out);
		return ENGINE_SCOPE_EXCLUDE;
	}
	if (sa == NULL || agent_config_scope_check(&a->cfg, sa, len, why, sizeof(why)))
		return ENGINE_SCOPE_ALLOW;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
	else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
	log_info("scope refused address=%s reason=\"%s\"", ip, why);
	return ENGINE_SCOPE_DENY;
}

/* Spools the batch (one flush), then sends its results. */
static void flush_results(struct run *run)
{
	struct spool_item items[SPOOL_BATCH_MAX];

	if (run->nbatch == 0)
		return;
	for (size_t i = 0; i < run->nbatch; i++)
		items[i] =
		    (struct spool_item){run->batch[i].key, run->batch[i].msg, run->batch[i].len};
	if (spool_put_many(run->a->spool, items, run->nbatch) < 0) {
		/* One at a time, so one bad item (or a full spool) costs only
		 * what cannot be stored. */
		log_warn("spool batch failed results=%zu error=\"%s\": one at a time", run->nbatch,
		         strerror(errno));
		for (size_t i = 0; i < run->nbatch; i++)
			if (spool_put(run->a->spool, items[i].key, items[i].bytes, items[i].len) <
			    0)
				log_error("spool write failed key=%s error=\"%s\"",
				          LOG_V(items[i].key), strerror(errno));
	}
	for (size_t i = 0; i < run->nbatch; i++) {
		send_msg(run->a, run->batch[i].msg, run->batch[i].len);
		free(run->batch[i].msg);
	}
	run->nbatch = 0;
}

static void on_progress(size_t queued, size_t running, size_t done, void *arg)
{
	struct run *run = arg;
	struct agent *a = run->a;

	flush_results(run);
	(void)queued;
	(void)running;
	(void)done;
	if (atomic_load(&a->stop) && a->engine != NULL)
		engine_stop(a->engine);
	tick(a);
}

static void note_digest(struct run *run, const uint8_t d[32])
{
	if (run->n == run->cap) {
		size_t cap = run->cap ? run->cap * 2 : 64;
		void *p = realloc(run->digests, cap * sizeof(*run->digests));
		if (p == NULL) {
			run->oom = true;
			return;
		}
		run->digests = p;
		run->cap = cap;
	}
	memcpy(run->digests[run->n++], d, 32);
}

static int digest_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

/* Distinct (target, address, port) results of the run. */
static uint32_t distinct_results(struct run *run)
{
	size_t u = 0;

	if (run->n == 0)
		return 0;
	qsort(run->digests, run->n, sizeof(*run->digests), digest_cmp);
	u = 1;
	for (size_t i = 1; i < run->n; i++)
		if (memcmp(run->digests[i], run->digests[i - 1], 32) != 0)
			u++;
	return (uint32_t)u;
}

static int sign_result(struct run *run, const struct probe_result *r, bool transcript,
                       uint8_t **msg, size_t *len)
{
	const struct wire_order *o = run->o;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	struct wire_result w = {0};
	int rc = -1;

	/* The same JSON object as `relayprobe probe --json` writes, written
	 * directly rather than built as a tree (the cost of a result). */
	if (f == NULL)
		return -1;
	rc = result_write_json(r, transcript, f);
	if (fclose(f) != 0 || rc < 0 || text == NULL || tlen < 2) {
		free(text);
		return -1;
	}
	text[--tlen] = '\0';             /* the line's newline */
	if (tlen > RP_RESULT_JSON_MAX) { /* the controller refuses it: sent without transcript */
		free(text);
		return -1;
	}
	w.order_id = o->order_id;
	memcpy(w.order_body_sha256, o->body_sha256, WIRE_SHA256_LEN);
	w.agent_id = (char *)agent_id(run->a);
	w.target = (char *)r->target;
	w.address = (char *)(r->address != NULL ? r->address : "");
	w.port = r->port;
	w.verdict = (char *)dialog_verdict_name(r->verdict);
	w.result_json = (uint8_t *)text;
	w.result_json_len = tlen;
	w.finished_at_ms = r->finished_ms;
	rc = wire_result_sign(&w, run->a->own, msg, len);
	free(text);
	return rc;
}

static void on_result(const struct probe_result *r, void *arg)
{
	struct run *run = arg;
	const char *addr = r->address != NULL ? r->address : "";
	uint8_t *msg = NULL, d[32];
	size_t len = 0;
	char key[AGENT_SPOOL_KEY_LEN];

	if (sign_result(run, r, true, &msg, &len) < 0 &&
	    sign_result(run, r, false, &msg, &len) < 0) {
		log_error("result not signed order=%s target=%s address=%s",
		          LOG_V(run->o->order_id), LOG_V(r->target), LOG_V(addr));
		return;
	}
	key_digest(run->o->order_id, r->target, addr, r->port, d);
	digest_key(false, d, key, sizeof(key));
	note_digest(run, d);
	vantage_tally_result(&run->vantage, r);
	log_info("result order=%s target=%s address=%s port=%u verdict=%s", LOG_V(run->o->order_id),
	         LOG_V(r->target), LOG_V(addr), (unsigned)r->port, dialog_verdict_name(r->verdict));
	if (run->nbatch == SPOOL_BATCH_MAX)
		flush_results(run);
	memcpy(run->batch[run->nbatch].key, key, sizeof(key));
	run->batch[run->nbatch].msg = msg;
	run->batch[run->nbatch].len = len;
	run->nbatch++;
}

/* A result for a target the engine never saw (bad target, bad spec). */
static void result_not_run(struct run *run, const char *target, uint16_t port, const char *reason)
{
	uint64_t now = engine_now_ms();
	struct probe_result r = {
	    .target = target,
	    .mx_pref = -1,
	    .port = port,
	    .verdict = DV_ERROR,
	    .reason = reason,
	    .started_ms = now,
	    .finished_ms = now,
	};
	on_result(&r, run);
}

/* The engine parameters from the order's ProbeSpec and our [limits]. Returns
 * NULL, or a reason why the order cannot run. */
/* The canary's tokens of one dialog: the row of its target, the column of
 * each test (engine_params.locals). */
static int canary_locals(void *arg, const char *target, const char *address, const size_t *tests,
                         size_t ntests, const char **to_locals, const char **from_locals)
{
	const struct run *run = arg;
	const struct wire_spec *s = &run->o->spec;

	if (s->n_canary == 0 || ntests != run->ntok)
		return -1;
	for (size_t i = 0; i < s->n_targets; i++) {
		if (strcmp(s->targets[i], target) != 0)
			continue;
		for (size_t k = 0; k < ntests; k++) {
			to_locals[k] = s->canary_to[i * s->n_tests + run->tok_col[k]];
			from_locals[k] = s->canary_from[i * s->n_tests + run->tok_col[k]];
		}
		return 0;
	}
	return -1;
}

static const char *build_params(struct agent *a, const struct wire_order *o, struct run *run,
                                struct engine_params *ep, size_t *tests, char *from_local,
                                char *to_local, char *to_domain, char *why, size_t whylen)
{
	const struct wire_spec *s = &o->spec;
	struct dialog_params *dp = &ep->dialog;
	size_t ntests = 0;
	int tls;

	engine_params_defaults(ep);
	/* The rule the controller checked at audit.start (common/syntax.h). */
	{
		const char *bad = rp_probe_params_bad(s->rcpt_to, s->mail_from, s->ehlo_name);

		if (bad != NULL) {
			snprintf(why, whylen, "bad %s",
			         strcmp(bad, "to") == 0     ? "rcpt_to"
			         : strcmp(bad, "from") == 0 ? "mail_from"
			                                    : "ehlo_name");
			return why;
		}
	}
	if (s->n_tests == 0) {
		if (relay_tests_select("all", tests, RP_TESTS_MAX, &ntests, why, whylen) < 0)
			return why;
	} else {
		bool pick[RP_TESTS_MAX * 4] = {false};
		size_t ncat = 0;
		relay_tests_all(&ncat);
		for (size_t i = 0; i < s->n_tests; i++) {
			size_t idx[RP_TESTS_MAX], n = 0;
			if (relay_tests_select(s->tests[i], idx, RP_TESTS_MAX, &n, why, whylen) < 0)
				return why;
			for (size_t k = 0; k < n; k++)
				if (idx[k] < sizeof(pick) / sizeof(pick[0]))
					pick[idx[k]] = true;
		}
		for (size_t i = 0; i < ncat && i < sizeof(pick) / sizeof(pick[0]); i++)
			if (pick[i] && ntests < RP_TESTS_MAX)
				tests[ntests++] = i;
	}
	dp->tests = tests;
	dp->ntests = ntests;
	tls = s->tls_policy[0] != '\0' ? dialog_tls_policy_from_name(s->tls_policy)
	      : s->port == 465         ? DLG_TLS_IMPLICIT
	                               : DLG_TLS_AUTO;
	if (tls < 0) {
		snprintf(why, whylen, "unknown TLS policy");
		return why;
	}
	dp->tls = (enum dialog_tls_policy)tls;
	if (s->n_canary > 0) {
		/* Canary order: D is the canary domain, T and F are each test's
		 * tokens (the spec lists catalogue ids, one token column each). */
		size_t ncat;
		const struct relay_test_def *cat = relay_tests_all(&ncat);

		for (size_t k = 0; k < ntests; k++) {
			size_t j = 0;

			while (j < s->n_tests && strcmp(s->tests[j], cat[tests[k]].id) != 0)
				j++;
			if (j == s->n_tests) {
				snprintf(why, whylen, "canary tokens: test %s has none",
				         cat[tests[k]].id);
				return why;
			}
			run->tok_col[k] = j;
		}
		run->ntok = ntests;
		snprintf(to_local, LOCAL_PART_MAX + 1, "%s", s->canary_to[0]);
		snprintf(to_domain, RP_DOMAIN_MAX + 1, "%s", s->canary_domain);
		ep->locals = canary_locals;
		ep->locals_arg = run;
	} else if (rp_mailbox_split(s->rcpt_to[0] ? s->rcpt_to : DEFAULT_TO, to_local,
	                            LOCAL_PART_MAX + 1, to_domain, RP_DOMAIN_MAX + 1,
	                            RP_MAILBOX_LITERAL) < 0) {
		snprintf(why, whylen, "bad rcpt_to");
		return why;
	}
	if (s->contact[0] != '\0')
		dp->contact = s->contact;
	if (s->mail_from[0] != '\0') {
		if (rp_mailbox_split(s->mail_from, from_local, LOCAL_PART_MAX + 1, NULL, 0,
		                     RP_MAILBOX_LITERAL) < 0) {
			snprintf(why, whylen, "bad mail_from");
			return why;
		}
	} else {
		snprintf(from_local, LOCAL_PART_MAX + 1, "%s", DEFAULT_FROM);
	}
	dp->ehlo_name = s->ehlo_name[0] != '\0' ? s->ehlo_name : a->ehlo;
	dp->from_local = from_local;
	dp->to_local = to_local;
	dp->to_domain = to_domain;
	dp->send_data = false;
	if (s->allow_data) {
		if (a->cfg.allow_data && agent_config_is_canary(&a->cfg, to_domain))
			dp->send_data = true;
		else
			log_info("order=%s data=refused reason=%s", LOG_V(o->order_id),
			         a->cfg.allow_data ? "recipient-not-a-canary-domain"
			                           : "allow_data-no");
	}
	if (s->timeout_s > 0) {
		unsigned t = s->timeout_s > 3600 ? 3600 : s->timeout_s;
		dp->command_ms = t * 1000u;
		dp->banner_ms = (t > 60 ? t : 60) * 1000u;
		if (dp->data_ms < dp->command_ms)
			dp->data_ms = dp->command_ms;
	}
	if (s->retry_after_s > 0)
		dp->retry_after_ms = (s->retry_after_s > 3600 ? 3600 : s->retry_after_s) * 1000u;
	ep->concurrency = a->cfg.concurrency;
	ep->rate = a->cfg.rate;
	/* The whole order's deadline ([limits] order_deadline): past it the
	 * dialogs in flight end as error and the targets not started are
	 * reported "not run"; each dialog also ends by its own hard deadline
	 * (RP_DIALOG_DEADLINE_MULT command timeouts). */
	ep->deadline_ms = a->cfg.order_deadline * 1000u;
	ep->bind_addr = a->cfg.bind[0] != '\0' ? a->cfg.bind : NULL;
	ep->scope = scope_cb;
	ep->scope_arg = a;
	return NULL;
}

static void run_order(struct agent *a, const struct wire_order *o)
{
	const struct wire_spec *s = &o->spec;
	struct run run = {.a = a, .o = o};
	struct engine_params ep;
	size_t tests[RP_TESTS_MAX];
	char from_local[LOCAL_PART_MAX + 1], to_local[LOCAL_PART_MAX + 1];
	char to_domain[RP_DOMAIN_MAX + 1], why[256], err[RP_TARGET_LINE_MAX + 128];
	uint16_t port = s->port != 0 ? (uint16_t)s->port : 25;
	struct engine *e = NULL;
	const char *bad;
	struct wire_ctl_order_done done = {0};
	uint8_t *msg = NULL;
	size_t len = 0;
	char key[AGENT_SPOOL_KEY_LEN];
	uint64_t t0 = rp_mono_ms();

	bad =
	    build_params(a, o, &run, &ep, tests, from_local, to_local, to_domain, why, sizeof(why));
	ep.progress = on_progress;
	ep.progress_arg = &run;
	if (bad == NULL && (e = engine_new(&ep, why, sizeof(why))) == NULL)
		bad = why;
	if (bad != NULL) {
		log_warn("order not run order=%s reason=%s", LOG_V(o->order_id), LOG_V(bad));
		for (size_t i = 0; i < s->n_targets; i++)
			result_not_run(&run, s->targets[i], port, bad);
	} else {
		for (size_t i = 0; i < s->n_targets; i++) {
			struct target_spec t;
			if (target_parse(s->targets[i], port, &t, err, sizeof(err)) < 0)
				result_not_run(&run, s->targets[i], port, err);
			else if (engine_add(e, &t) < 0)
				result_not_run(&run, s->targets[i], port, "engine queue full");
		}
		a->engine = e;
		if (atomic_load(&a->stop))
			engine_stop(e);
		if (engine_run(e, on_result, &run) < 0)
			log_error("engine failed order=%s", LOG_V(o->order_id));
		a->engine = NULL;
		engine_free(&e);
	}
	if (vantage_port25_blocked(&run.vantage)) {
		char line[128];

		vantage_blocked_line(&run.vantage, line, sizeof(line));
		log_warn("%s order=%s", line, LOG_V(o->order_id));
	}
	flush_results(&run); /* the results are spooled before the ORDER_DONE */
	done.order_id = o->order_id;
	done.results = run.oom ? (uint32_t)run.n : distinct_results(&run);
	done.finished_at_ms = engine_now_ms();
	agent_spool_key(o->order_id, "", "", 0, key, sizeof(key));
	if (wire_ctl_order_done_pack(&done, &msg, &len) == 0)
		spool_and_send(a, key, msg, len);
	else
		log_error("cannot pack ORDER_DONE order=%s", LOG_V(o->order_id));
	log_info("order done order=%s results=%u stopped=%d deadline_passed=%d", LOG_V(o->order_id),
	         done.results, atomic_load(&a->stop) ? 1 : 0,
	         bad == NULL && rp_mono_ms() - t0 >= ep.deadline_ms ? 1 : 0);
	free(msg);
	free(run.digests);
}

/* ---- orders accepted but not done: survive a crash ----
 * An accepted order is in the replay state, so a re-sent copy is never run
 * again; if the agent dies mid-order its remaining targets would be lost.
 * So the order's bytes, with the time it was accepted, are kept in a second
 * spool (write, fsync, rename) until its ORDER_DONE is spooled, and an agent
 * that starts runs every accepted order still there. Results already sent
 * are sent again: the controller acknowledges duplicates without storing
 * them.
 *
 * Acceptance is three durable steps, in this order, so that a crash between
 * any two is safe (tests/agent/test_agent_orders.c kills the agent at each):
 *   1. the in-flight copy, fsync'ed;
 *   2. the id in the replay state, fsync'ed: from here on the order is
 *      accepted, and a copy the controller sends again is acked, never run;
 *   3. the ORDER_ACK; then the run, the ORDER_DONE spooled, the copy removed.
 * A crash after 1 leaves a copy whose id is not in the replay state (and
 * whose sequence is above the last accepted one): it was never acked, so
 * the controller still holds it as sent and sends it again on the next
 * connection, byte for byte. Such a copy is dropped at start, not run: the
 * controller's copy is judged afresh (time window now), exactly as if the
 * first had been lost on the wire, and runs once. Running the local copy
 * instead would run an order the controller does not know was accepted,
 * on a time window judged at the crash. A crash after 2 or 3 resumes the
 * order (the controller's copy is acked again, not run); a crash after the
 * ORDER_DONE was spooled finds it in the spool and does not run the order
 * a second time. The old order (replay state first) stranded an order
 * whose copy was never written: recorded as seen, so acked and never run. */

static void inflight_key(const char *order_id, char *key, size_t keylen)
{
	agent_spool_key(order_id, "", "", 1, key, keylen);
}

/* 0 once the copy is on disk, -1 (logged) when it is not. */
static int inflight_put(struct agent *a, const char *order_id, const uint8_t *msg, size_t len,
                        uint64_t accepted_ms)
{
	char key[AGENT_SPOOL_KEY_LEN];
	uint8_t *buf = malloc(len + 8);
	int rc;

	if (buf == NULL) {
		log_error("order not kept for resume order=%s error=\"out of memory\"",
		          LOG_V(order_id));
		return -1;
	}
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(accepted_ms >> (56 - 8 * i));
	memcpy(buf + 8, msg, len);
	inflight_key(order_id, key, sizeof(key));
	rc = spool_put(a->inflight, key, buf, len + 8);
	if (rc < 0)
		log_error("order not kept for resume order=%s error=\"%s\"", LOG_V(order_id),
		          strerror(errno));
	free(buf);
	return rc;
}

static void inflight_remove(struct agent *a, const char *order_id)
{
	char key[AGENT_SPOOL_KEY_LEN];

	inflight_key(order_id, key, sizeof(key));
	if (spool_remove(a->inflight, key) < 0 && errno != ENOENT)
		log_error("inflight remove failed order=%s error=\"%s\"", LOG_V(order_id),
		          strerror(errno));
}

/* Runs an accepted (or resumed) order to its end, then takes it off the
 * in-flight list and frees it. */
static void run_accepted(struct agent *a, struct wire_order *o)
{
	a->running = true;
	run_order(a, o);
	a->running = false;
	step(a, AGENT_STEP_DONE, o->order_id);
	inflight_remove(a, o->order_id);
	wire_order_clear(o);
}

static int resume_one(void *arg, const char *key, const uint8_t *bytes, size_t len)
{
	struct agent *a = arg;
	struct replay_state *empty = replay_state_new();
	struct wire_order o;
	uint64_t accepted = 0;
	enum wire_reason r = WIRE_ERR_SIZE;

	if (len > 8 && empty != NULL) {
		/* Checked again as when it was accepted: signature and audience
		 * now, the time window at the time it was accepted. */
		struct wire_order_policy pol = {
		    .controller_pk = keys_ed25519_public(a->ctl),
		    .agent_id = agent_id(a),
		    .min_protocol = AGENT_MIN_PROTOCOL,
		    .skew_ms = AGENT_ORDER_SKEW_MS,
		    .replay = empty,
		};
		for (int i = 0; i < 8; i++)
			accepted = accepted << 8 | bytes[i];
		pol.now_ms = accepted;
		r = wire_order_verify(bytes + 8, len - 8, &pol, &o);
	}
	replay_state_free(&empty);
	if (r != WIRE_OK) {
		log_error("unfinished order dropped key=%s reason=%s", LOG_V(key),
		          wire_reason_name(r));
		spool_remove(a->inflight, key);
		return 0;
	}
	if (!replay_state_seen(a->replay, o.order_id) &&
	    o.sequence > replay_state_last_sequence(a->replay)) {
		/* Never accepted (a crash before its replay state was saved),
		 * never acked: the controller sends it again. */
		log_info("unfinished order dropped order=%s reason=never-accepted",
		         LOG_V(o.order_id));
		spool_remove(a->inflight, key);
		wire_order_clear(&o);
		return 0;
	}
	{
		char done_key[AGENT_SPOOL_KEY_LEN];
		uint8_t *done = NULL;
		size_t done_len = 0;

		/* Its ORDER_DONE is spooled: it ran to the end before the crash
		 * (the spool re-sends the ORDER_DONE). */
		agent_spool_key(o.order_id, "", "", 0, done_key, sizeof(done_key));
		if (spool_get(a->spool, done_key, &done, &done_len) == 0) {
			free(done);
			log_info("unfinished order dropped order=%s reason=already-done",
			         LOG_V(o.order_id));
			inflight_remove(a, o.order_id);
			wire_order_clear(&o);
			return 0;
		}
	}
	log_info("resuming order order=%s targets=%zu", LOG_V(o.order_id), o.spec.n_targets);
	run_accepted(a, &o);
	return atomic_load(&a->stop) ? 1 : 0;
}

/* ---- orders ---- */

static void handle_order(struct agent *a, const uint8_t *msg, size_t len)
{
	struct wire_order o;
	struct wire_order_policy pol = {
	    .controller_pk = keys_ed25519_public(a->ctl),
	    .agent_id = agent_id(a),
	    .min_protocol = AGENT_MIN_PROTOCOL,
	    .now_ms = engine_now_ms(),
	    .skew_ms = AGENT_ORDER_SKEW_MS,
	    .replay = a->replay,
	};
	enum wire_reason r = wire_order_verify(msg, len, &pol, &o);
	char err[512];

	if (r == WIRE_ERR_REPLAY || r == WIRE_ERR_EXPIRED || r == WIRE_ERR_NOT_YET_VALID ||
	    r == WIRE_ERR_SEQUENCE) {
		/* Signed by our controller and addressed to us, refused only for
		 * its time or sequence: read it again with no clock and an empty
		 * replay state. An order accepted before (its id is in the
		 * replay set, whatever its time now) is acked again and never
		 * run again; any other is refused with the reason and the copy's
		 * sequence, so the controller can sign it anew. */
		struct replay_state *empty = replay_state_new();
		struct wire_order_policy loose = pol;

		loose.replay = empty;
		loose.now_ms = 0;
		loose.skew_ms = UINT64_MAX;
		if (empty != NULL && wire_order_verify(msg, len, &loose, &o) == WIRE_OK) {
			if (replay_state_seen(a->replay, o.order_id)) {
				log_info(
				    "order replayed order=%s sequence=%llu: acked again, not run",
				    LOG_V(o.order_id), (unsigned long long)o.sequence);
				send_order_ack(a, o.order_id, o.sequence, true, "");
			} else {
				log_warn("order refused order=%s sequence=%llu reason=%s",
				         LOG_V(o.order_id), (unsigned long long)o.sequence,
				         wire_reason_name(r));
				send_order_ack(a, o.order_id, o.sequence, false,
				               wire_reason_name(r));
			}
			wire_order_clear(&o);
		}
		replay_state_free(&empty);
		return;
	}
	if (r != WIRE_OK) {
		log_warn("order rejected reason=%s size=%zu", wire_reason_name(r), len);
		return;
	}
	if (o.spec.n_targets > a->cfg.targets_per_order) {
		log_warn("order refused order=%s reason=%s targets=%zu limit=%u", LOG_V(o.order_id),
		         REASON_TARGETS, o.spec.n_targets, a->cfg.targets_per_order);
		send_order_ack(a, o.order_id, o.sequence, false, REASON_TARGETS);
		wire_order_clear(&o);
		return;
	}
	/* The three durable steps, in the order that makes a crash between
	 * any two safe: see "orders accepted but not done" above. */
	if (inflight_put(a, o.order_id, msg, len, pol.now_ms) < 0) {
		/* Not run, not acked: the controller re-sends. */
		wire_order_clear(&o);
		return;
	}
	step(a, AGENT_STEP_INFLIGHT_SAVED, o.order_id);
	if (replay_state_accept(a->replay, o.order_id, o.sequence) < 0 ||
	    replay_state_save(a->replay, a->replay_path, err, sizeof(err)) < 0) {
		/* Not durably recorded: not run, not acked (the controller
		 * re-sends); the memory state goes back to what is on disk, and
		 * the copy goes (one left behind is dropped at start: its id is
		 * not in the replay state). */
		struct replay_state *disk = replay_state_load(a->replay_path, err, sizeof(err));
		log_error("order not recorded order=%s error=\"%s\"", LOG_V(o.order_id), err);
		inflight_remove(a, o.order_id);
		if (disk != NULL) {
			replay_state_free(&a->replay);
			a->replay = disk;
		} else {
			atomic_store(&a->stop, 1);
		}
		wire_order_clear(&o);
		return;
	}
	step(a, AGENT_STEP_REPLAY_SAVED, o.order_id);
	log_info("order accepted order=%s sequence=%llu targets=%zu tests=%zu tls=%s data=%d",
	         LOG_V(o.order_id), (unsigned long long)o.sequence, o.spec.n_targets,
	         o.spec.n_tests, LOG_V(o.spec.tls_policy[0] ? o.spec.tls_policy : "auto"),
	         o.spec.allow_data ? 1 : 0);
	send_order_ack(a, o.order_id, o.sequence, true, "");
	step(a, AGENT_STEP_ACKED, o.order_id);
	run_accepted(a, &o);
}

static void handle_result_ack(struct agent *a, const uint8_t *msg, size_t len)
{
	struct wire_ctl_result_ack ack;
	char key[AGENT_SPOOL_KEY_LEN];

	if (wire_ctl_result_ack_parse(msg, len, &ack) < 0) {
		log_warn("result ack dropped reason=malformed size=%zu", len);
		return;
	}
	agent_spool_key(ack.order_id, ack.target, ack.address, ack.port, key, sizeof(key));
	if (!ack.committed) {
		log_warn("result not committed by the controller order=%s target=%s: kept",
		         LOG_V(ack.order_id), LOG_V(ack.target));
	} else if (spool_remove(a->spool, key) == 0) {
		log_debug("result acked order=%s target=%s address=%s port=%u", LOG_V(ack.order_id),
		          LOG_V(ack.target), LOG_V(ack.address), ack.port);
	} else if (errno != ENOENT) {
		log_error("spool remove failed key=%s error=\"%s\"", LOG_V(key), strerror(errno));
	}
	wire_ctl_result_ack_clear(&ack);
}

/* Only what the controller may send an agent; everything else is dropped
 * before any further decoding. An undecodable message goes to the order
 * path, which rejects and logs it. */
static void dispatch(struct agent *a, const uint8_t *msg, size_t len)
{
	int kind = wire_envelope_kind(msg, len);

	switch (kind) {
	case WIRE_KIND_ORDER:
	case -1:
		if (!a->running) {
			handle_order(a, msg, len);
		} else if (a->npending < AGENT_PENDING_ORDERS_MAX) {
			uint8_t *copy = malloc(len > 0 ? len : 1);
			if (copy != NULL) {
				if (len > 0)
					memcpy(copy, msg, len);
				a->pending[a->npending++] = (struct pending){copy, len};
			}
		} else {
			log_warn("order dropped reason=busy size=%zu", len);
		}
		break;
	case WIRE_KIND_RESULT_ACK:
		handle_result_ack(a, msg, len);
		break;
	case WIRE_KIND_HEARTBEAT:
		break;
	default:
		log_warn("message dropped reason=kind kind=%d", kind);
		break;
	}
}

static void run_pending(struct agent *a)
{
	while (a->npending > 0 && !atomic_load(&a->stop)) {
		struct pending p = a->pending[0];
		memmove(&a->pending[0], &a->pending[1], (a->npending - 1) * sizeof(p));
		a->npending--;
		handle_order(a, p.msg, p.len);
		free(p.msg);
	}
}

int agent_run(struct agent *a)
{
	send_hello(a);
	resend_spool(a);
	if (spool_count(a->inflight) > 0)
		spool_list(a->inflight, resume_one, a);
	a->next_hello = rp_mono_ms() + a->hello_ms;
	while (!atomic_load(&a->stop)) {
		zmq_pollitem_t items[2] = {{a->sock, 0, ZMQ_POLLIN, 0}, {a->mon, 0, ZMQ_POLLIN, 0}};
		uint64_t now = rp_mono_ms();
		long wait = a->next_hello > now ? (long)(a->next_hello - now) : 0;

		run_pending(a);
		if (wait > POLL_MAX_MS)
			wait = POLL_MAX_MS;
		if (zmq_poll(items, 2, wait) < 0 && errno != EINTR) {
			log_error("poll failed error=\"%s\"", zmq_strerror(errno));
			return -1;
		}
		tick(a);
	}
	log_info("stopping spooled=%zu", spool_count(a->spool));
	return 0;
}

/* ---- setup ---- */

static int mkdir_state(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		snprintf(err, errlen,
		         "%s: must be owned by this user and not writable by group or others", dir);
		return -1;
	}
	return 0;
}

static int setup_socket(struct agent *a, char *err, size_t errlen)
{
	int64_t maxsize = RP_WIRE_MSG_MAX;
	int hb_ivl = 5000, hb_ttl = 30000, hb_timeout = 30000, ivl = 1000, ivl_max = 30000;
	int linger = LINGER_MS;
	char mon_ep[64];

	a->zctx = zmq_ctx_new();
	if (a->zctx == NULL || (a->sock = zmq_socket(a->zctx, ZMQ_DEALER)) == NULL) {
		snprintf(err, errlen, "zmq: %s", zmq_strerror(errno));
		return -1;
	}
	if (zmq_setsockopt(a->sock, ZMQ_CURVE_SERVERKEY, keys_curve_public(a->ctl), KEYS_Z85_LEN) <
	        0 ||
	    zmq_setsockopt(a->sock, ZMQ_CURVE_PUBLICKEY, keys_curve_public(a->own), KEYS_Z85_LEN) <
	        0 ||
	    zmq_setsockopt(a->sock, ZMQ_CURVE_SECRETKEY, keys_curve_secret(a->own), KEYS_Z85_LEN) <
	        0 ||
	    zmq_setsockopt(a->sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) < 0 ||
	    zmq_setsockopt(a->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof(hb_ivl)) < 0 ||
	    zmq_setsockopt(a->sock, ZMQ_HEARTBEAT_TTL, &hb_ttl, sizeof(hb_ttl)) < 0 ||
	    zmq_setsockopt(a->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof(hb_timeout)) < 0 ||
	    zmq_setsockopt(a->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)) < 0 ||
	    zmq_setsockopt(a->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max)) < 0 ||
	    zmq_setsockopt(a->sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0) {
		snprintf(err, errlen, "zmq socket options (CURVE support?): %s",
		         zmq_strerror(errno));
		return -1;
	}
	snprintf(mon_ep, sizeof(mon_ep), "inproc://agent-monitor-%p", (void *)a);
	if (zmq_socket_monitor(a->sock, mon_ep,
	                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) < 0 ||
	    (a->mon = zmq_socket(a->zctx, ZMQ_PAIR)) == NULL || zmq_connect(a->mon, mon_ep) < 0) {
		snprintf(err, errlen, "zmq monitor: %s", zmq_strerror(errno));
		return -1;
	}
	if (zmq_connect(a->sock, a->cfg.controller) < 0) {
		snprintf(err, errlen, "%s: cannot connect: %s", a->cfg.controller,
		         zmq_strerror(errno));
		return -1;
	}
	return 0;
}

struct agent *agent_new(const struct agent_config *cfg, char *err, size_t errlen)
{
	struct agent *a = calloc(1, sizeof(*a));
	char kerr[512];

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = *cfg;
	a->hello_ms = AGENT_HELLO_INTERVAL_MS;
	a->reconnect_ms = RECONNECT_MIN_MS;
	target_default_ehlo(a->ehlo, sizeof(a->ehlo));
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		goto fail;
	}
	if ((a->own = keys_load_role(cfg->keys, true, KEYS_ROLE_AGENT, kerr, sizeof(kerr))) ==
	        NULL ||
	    (a->ctl = keys_load_role(cfg->controller_key, false, KEYS_ROLE_CONTROLLER, kerr,
	                             sizeof(kerr))) == NULL) {
		snprintf(err, errlen, "%s", kerr);
		goto fail;
	}
	if (mkdir_state(cfg->state, err, errlen) < 0)
		goto fail;
	if (cfg->exclude_file[0] != '\0' &&
	    ((a->exclude = exclude_new()) == NULL ||
	     exclude_load_file(a->exclude, cfg->exclude_file, err, errlen) < 0))
		goto fail;
	/* The replay state belongs to one (agent key, controller key) pair: a
	 * rotated key starts a new identity whose orders the controller numbers
	 * from 1 again, and orders signed by a retired controller key no longer
	 * verify anyway. */
	{
		char af[32], cf[32];
		size_t n = 0, m = 0;

		for (const char *p = keys_fingerprint(a->own); *p && n < sizeof(af) - 1; p++)
			if (*p != ':')
				af[n++] = *p;
		af[n] = '\0';
		for (const char *p = keys_fingerprint(a->ctl); *p && m < sizeof(cf) - 1; p++)
			if (*p != ':')
				cf[m++] = *p;
		cf[m] = '\0';
		snprintf(a->replay_path, sizeof(a->replay_path), "%s/replay-%s-%s", cfg->state, af,
		         cf);
	}
	snprintf(a->spool_path, sizeof(a->spool_path), "%s/spool", cfg->state);
	snprintf(a->inflight_path, sizeof(a->inflight_path), "%s/inflight", cfg->state);
	if ((a->replay = replay_state_load(a->replay_path, kerr, sizeof(kerr))) == NULL) {
		snprintf(err, errlen, "%s", kerr);
		goto fail;
	}
	if ((a->spool = spool_open(a->spool_path, kerr, sizeof(kerr))) == NULL ||
	    (a->inflight = spool_open(a->inflight_path, kerr, sizeof(kerr))) == NULL) {
		snprintf(err, errlen, "%s", kerr);
		goto fail;
	}
	if (setup_socket(a, err, errlen) < 0)
		goto fail;
	log_info("agent id=%s fingerprint=%s controller=%s controller_fingerprint=%s spooled=%zu "
	         "last_sequence=%llu",
	         keys_name(a->own), keys_fingerprint(a->own), cfg->controller,
	         keys_fingerprint(a->ctl), spool_count(a->spool),
	         (unsigned long long)replay_state_last_sequence(a->replay));
	return a;
fail:
	agent_free(&a);
	return NULL;
}

void agent_free(struct agent **ap)
{
	struct agent *a = rp_take(ap);

	if (a == NULL)
		return;
	for (size_t i = 0; i < a->npending; i++)
		free(a->pending[i].msg);
	if (a->sock != NULL)
		zmq_socket_monitor(a->sock, NULL, 0);
	if (a->mon != NULL)
		zmq_close(a->mon);
	if (a->sock != NULL)
		zmq_close(a->sock);
	if (a->zctx != NULL)
		zmq_ctx_term(a->zctx);
	spool_close(&a->spool);
	spool_close(&a->inflight);
	replay_state_free(&a->replay);
	keys_free(&a->own);
	keys_free(&a->ctl);
	exclude_free(&a->exclude);
	free(a);
}
