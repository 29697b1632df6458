/* agent_orders.c - the agent's orders: each verified (wire_order_verify:
 * controller key, audience, validity, sequence, replay), refused past
 * [limits] targets_per_order, accepted in three durable steps (in-flight
 * copy, replay state, ORDER_ACK), queued while another runs (at most
 * AGENT_PENDING_ORDERS_MAX), resumed after a crash, and run through the
 * engine within [limits] and [scope] (special addresses refused, the
 * exclude file honoured). The engine's parameters are built, and the engine
 * run, in build_params() and run_order() only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "clock.h"
#include "control.h"
#include "engine.h"
#include "envelope.h"
#include "exclude.h"
#include "keys.h"
#include "log.h"
#include "relay_tests.h"
#include "replay.h"
#include "rp_limits.h"
#include "spool.h"
#include "syntax.h"
#include "target.h"
#include "vantage.h"

#define DEFAULT_TO     "relaytest@example.net"
#define DEFAULT_FROM   "relayprobe"
#define LOCAL_PART_MAX RP_LOCAL_PART_MAX
#define REASON_TARGETS "targets-per-order"

/* One order being run. */
struct run {
	struct agent *a;
	const struct wire_order *o;
	struct agent_results results; /* signed, batched, spooled, sent */
	/* canary: for each dialog test (catalogue order), its column in the
	 * order's token rows; filled by build_params */
	size_t tok_col[RP_TESTS_MAX];
	size_t ntok;
	struct vantage_tally vantage; /* port 25 blocked here? (vantage.h) */
};

static void send_order_ack(struct agent *a, const char *order_id, uint64_t sequence, bool committed,
                           const char *reason)
{
	struct wire_ctl_order_ack ack = {(char *)order_id, committed, (char *)reason, sequence};
	uint8_t *msg = NULL;
	size_t len = 0;

	if (wire_ctl_order_ack_pack(&ack, &msg, &len) == 0)
		agent_link_send(a, msg, len);
	free(msg);
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

/* The engine's progress call: the batch goes out, agent_stop() reaches the
 * engine, and the link keeps going (messages read, HELLO) while it runs. */
static void on_progress(size_t queued, size_t running, size_t done, void *arg)
{
	struct run *run = arg;
	struct agent *a = run->a;

	agent_results_flush(&run->results);
	(void)queued;
	(void)running;
	(void)done;
	if (atomic_load(&a->stop) && a->engine != NULL)
		engine_stop(a->engine);
	agent_link_tick(a);
}

static void on_result(const struct probe_result *r, void *arg)
{
	struct run *run = arg;

	vantage_tally_result(&run->vantage, r);
	agent_results_add(&run->results, r);
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

/* The engine parameters from the order's ProbeSpec and our [limits]. Returns
 * NULL, or a reason why the order cannot run. */
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

/* Runs order o through the engine to its end: every target gets a result
 * (one the engine never saw gets a "not run" error), then the ORDER_DONE. */
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
	uint32_t results;
	uint64_t t0 = rp_mono_ms();

	agent_results_begin(&run.results, a, o);
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
	results = agent_results_finish(&run.results);
	log_info("order done order=%s results=%u stopped=%d deadline_passed=%d", LOG_V(o->order_id),
	         results, atomic_load(&a->stop) ? 1 : 0,
	         bad == NULL && rp_mono_ms() - t0 >= ep.deadline_ms ? 1 : 0);
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
	agent_step(a, AGENT_STEP_DONE, o->order_id);
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

/* ---- orders arriving ---- */

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
	agent_step(a, AGENT_STEP_INFLIGHT_SAVED, o.order_id);
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
	agent_step(a, AGENT_STEP_REPLAY_SAVED, o.order_id);
	log_info("order accepted order=%s sequence=%llu targets=%zu tests=%zu tls=%s data=%d",
	         LOG_V(o.order_id), (unsigned long long)o.sequence, o.spec.n_targets,
	         o.spec.n_tests, LOG_V(o.spec.tls_policy[0] ? o.spec.tls_policy : "auto"),
	         o.spec.allow_data ? 1 : 0);
	send_order_ack(a, o.order_id, o.sequence, true, "");
	agent_step(a, AGENT_STEP_ACKED, o.order_id);
	run_accepted(a, &o);
}

void agent_orders_take(struct agent *a, const uint8_t *msg, size_t len)
{
	if (!a->running) {
		handle_order(a, msg, len);
	} else if (a->npending < AGENT_PENDING_ORDERS_MAX) {
		uint8_t *copy = malloc(len > 0 ? len : 1);
		if (copy != NULL) {
			if (len > 0)
				memcpy(copy, msg, len);
			a->pending[a->npending].msg = copy;
			a->pending[a->npending].len = len;
			a->npending++;
		}
	} else {
		log_warn("order dropped reason=busy size=%zu", len);
	}
}

void agent_orders_run_pending(struct agent *a)
{
	while (a->npending > 0 && !atomic_load(&a->stop)) {
		struct agent_pending p = a->pending[0];
		memmove(&a->pending[0], &a->pending[1], (a->npending - 1) * sizeof(p));
		a->npending--;
		handle_order(a, p.msg, p.len);
		free(p.msg);
	}
}

void agent_orders_resume(struct agent *a)
{
	if (spool_count(a->inflight) > 0)
		spool_list(a->inflight, resume_one, a);
}

void agent_orders_clear(struct agent *a)
{
	for (size_t i = 0; i < a->npending; i++)
		free(a->pending[i].msg);
	a->npending = 0;
}
