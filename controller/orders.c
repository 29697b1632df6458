/* orders.c - an order's life at the controller (orders.h). */
#include "orders.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "canary_token.h"
#include "control.h"
#include "ctl_canary.h"
#include "link.h"
#include "log.h"
#include "relay_tests.h"
#include "rp_limits.h"
#include "store_agents.h"
#include "store_canary.h"
#include "store_orders.h"
#include "store_results.h"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

struct resend {
	struct ctl *c;
	int64_t agent_id;
	int64_t now;
	int n;
	int failed;
	bool all; /* a new connection: every unacked sent order, whatever its age */
};

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

void orders_fact_clear(struct ctl_order_fact *f)
{
	for (size_t i = 0; i < f->n_targets; i++)
		free(f->targets[i]);
	free(f->targets);
	memset(f, 0, sizeof(*f));
}

int orders_send(struct ctl *c, struct ctl_session *s, const char *order_id, const uint8_t *body,
                size_t len)
{
	int64_t agent_id = s->agent_id;

	if (link_send(c, s->rid, s->rid_len, body, len) < 0) {
		int e = zmq_errno();

		log_warn("order=%s agent_id=%lld not sent: %s", order_id, (long long)agent_id,
		         zmq_strerror(e));
		/* Sent again first thing on the next pump or HELLO, before any
		 * newer order (sequence order on the wire). */
		if (store_order_unsent(c->store, order_id) < 0)
			log_error("order=%s: %s", order_id, store_errmsg(c->store));
		if (e == EHOSTUNREACH)
			link_session_drop(c, agent_id);
		return -1;
	}
	if (store_order_mark(c->store, order_id, STORE_ORDER_SENT, now_s()) < 0)
		log_error("order=%s mark sent: %s", order_id, store_errmsg(c->store));
	log_info("order=%s agent_id=%lld sent bytes=%zu", order_id, (long long)agent_id, len);
	return 0;
}

void orders_want_pump(struct ctl *c, int64_t agent_id)
{
	struct ctl_session *s = link_session_of_agent(c, agent_id);

	if (s != NULL)
		s->pump = true;
}

/* Decodes one of our own stored orders (from our store: its signature is
 * not checked, so orders signed before a controller key rotation go out
 * signed by the new key), gives it a new sequence and validity and signs
 * it again. 0 with *out malloc'd; -1 when the order can never be signed
 * again (a damaged row, another agent's audience); -2 on a store error
 * (try again later). */
static int resign(struct ctl *c, const char *agent_name, int64_t agent_id, const uint8_t *body,
                  size_t len, uint8_t **out, size_t *out_len, uint64_t *seq)
{
	struct wire_order o;
	enum wire_reason why = wire_order_decode_own(body, len, NULL, &o);
	uint64_t now_ms = (uint64_t)time(NULL) * 1000;
	int rc = -1;

	if (why != WIRE_OK || strcmp(o.audience, agent_name) != 0) {
		log_error("stored order for %s cannot be signed again: %s", LOG_V(agent_name),
		          why != WIRE_OK ? wire_reason_name(why) : "another audience");
		wire_order_clear(&o);
		return -1;
	}
	if (store_next_sequence(c->store, agent_id, &o.sequence) < 0) {
		rc = -2;
	} else {
		memcpy(o.controller_key_id, keys_key_id(c->keys), KEYS_KEY_ID_LEN);
		o.issued_at_ms = now_ms;
		o.expires_at_ms = now_ms + (uint64_t)c->cfg->order_ttl * 1000;
		if (wire_order_sign(&o, c->keys, out, out_len, NULL) == 0) {
			*seq = o.sequence;
			rc = 0;
		} else {
			rc = -2; /* out of memory: try again later */
		}
	}
	wire_order_clear(&o);
	return rc;
}

/* Drops order_id from the order-fact cache (its body changed). */
static void order_fact_forget(struct ctl *c, const char *order_id)
{
	for (unsigned i = 0; i < CTL_ORDER_CACHE; i++)
		if (strcmp(c->order_cache[i].order_id, order_id) == 0)
			orders_fact_clear(&c->order_cache[i]);
}

/* The stored order's signature is by the controller's current key. */
static bool signed_by_us(struct ctl *c, const struct store_order *o)
{
	struct wire_order w;
	enum wire_reason why =
	    wire_order_decode_own(o->body, o->body_len, keys_ed25519_public(c->keys), &w);

	wire_order_clear(&w);
	return why != WIRE_ERR_KEY && why != WIRE_ERR_SIGNATURE;
}

/* Sends again, byte for byte, the agent's sent orders whose send failed
 * (sent_at 0): before anything newer, so sequences stay in send order. */
static int resend_unsent_cb(void *arg, const struct store_order *o)
{
	struct resend *r = arg;
	struct ctl_session *s = link_session_of_agent(r->c, r->agent_id);

	if (s == NULL)
		return 1;
	if (o->state != STORE_ORDER_SENT || o->sent_at != 0)
		return 0;
	if (!signed_by_us(r->c, o)) {
		store_order_requeue(r->c->store, o->id); /* as in resend_cb */
		return 0;
	}
	if (orders_send(r->c, s, o->id, o->body, o->body_len) < 0) {
		r->failed = 1;
		return 1;
	}
	r->n++;
	return 0;
}

/* A pending order that can never be signed again: closed, so its audit
 * still finishes. 0, or -1 when even that failed (retry later). */
static int close_unsendable(struct ctl *c, const char *id)
{
	struct store_order_info o;
	int rc = -1;

	if (store_order_get(c->store, id, &o) == 1 &&
	    store_order_mark(c->store, id, STORE_ORDER_DONE, now_s()) == 0 &&
	    store_audit_complete(c->store, o.audit_id) >= 0)
		rc = 0;
	free(o.body);
	return rc;
}

long orders_window(uint32_t max_orders)
{
	if (max_orders == 0)
		return CTL_ORDER_WINDOW;
	if (max_orders >= CTL_ORDER_WINDOW_MAX)
		return CTL_ORDER_WINDOW_MAX;
	return (long)max_orders + 1;
}

static void pump(struct ctl *c, struct ctl_session *s)
{
	struct store_agent_info a;
	struct resend r = {.c = c, .agent_id = s->agent_id, .now = now_s()};
	int64_t agent_id = s->agent_id;
	long out, window;

	if (store_agent_by_id(c->store, agent_id, &a) != 1 ||
	    store_orders_unacked(c->store, agent_id, resend_unsent_cb, &r) < 0 || r.failed ||
	    (out = store_orders_outstanding(c->store, agent_id)) < 0)
		return;
	/* The capacity it last said, stored: after a controller restart the
	 * window holds before the agent's next HELLO. */
	window = orders_window(a.max_orders);
	while (out < window) {
		char id[STORE_ORDER_ID_MAX + 1];
		uint8_t *body = NULL, *msg = NULL;
		size_t blen = 0, mlen = 0;
		uint64_t seq = 0;
		int reissues = 0, rc, e;

		rc = store_order_next_pending(c->store, agent_id, id, &body, &blen, &reissues);
		if (rc <= 0) {
			if (rc < 0)
				log_error("agent=%s pending orders: %s", LOG_V(a.name),
				          store_errmsg(c->store));
			return;
		}
		rc = resign(c, a.name, agent_id, body, blen, &msg, &mlen, &seq);
		if (rc == 0) {
			/* The body being replaced may have gone out before (a
			 * requeued order): results of that copy stay acceptable. */
			uint8_t old_sha[WIRE_SHA256_LEN];

			if (wire_ctl_envelope_body_sha256(body, blen, old_sha) < 0 ||
			    store_order_body_keep(c->store, id, old_sha) < 0)
				rc = -2;
		}
		free(body);
		if (rc == -1) {
			log_error("order=%s closed unsent: its stored body does not verify with "
			          "the controller's key",
			          id);
			if (close_unsendable(c, id) < 0)
				return;
			continue;
		}
		if (rc < 0 || store_order_resign_sent(c->store, id, seq, msg, mlen, now_s()) < 0) {
			/* A store error: the order stays pending for a later pump. */
			log_error("order=%s not sent now: %s", id, store_errmsg(c->store));
			free(msg);
			return;
		}
		order_fact_forget(c, id);
		if (link_send(c, s->rid, s->rid_len, msg, mlen) < 0) {
			/* Committed as sent: sent again, byte for byte, first
			 * thing on the next pump or HELLO. */
			e = zmq_errno();
			log_warn("order=%s agent=%s not sent: %s", id, LOG_V(a.name),
			         zmq_strerror(e));
			if (store_order_unsent(c->store, id) < 0)
				log_error("order=%s: %s", id, store_errmsg(c->store));
			free(msg);
			if (e == EHOSTUNREACH)
				link_session_drop(c, agent_id);
			return;
		}
		log_info("order=%s agent=%s sent sequence=%llu bytes=%zu", id, LOG_V(a.name),
		         (unsigned long long)seq, mlen);
		free(msg);
		out++;
	}
}

void orders_pump_all(struct ctl *c)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < c->nsess; i++) {
		struct ctl_session *s = &c->sess[i];

		if (!s->pump)
			continue;
		s->pump = false;
		if (link_session_alive(s, now))
			pump(c, s);
	}
}

static int resend_cb(void *arg, const struct store_order *o)
{
	struct resend *r = arg;
	struct ctl_session *s = link_session_of_agent(r->c, r->agent_id);

	if (s == NULL)
		return 1;
	if (o->state == STORE_ORDER_PENDING) /* first sends: orders_pump_all */
		return 0;
	/* Never sent, sent by an earlier run of the controller (it may have
	 * died before the bytes left; times are in seconds, so the start's own
	 * second counts as earlier: a needless re-send is only re-acked), or
	 * unacked for CTL_RESEND_S. */
	if (!r->all && o->sent_at != 0 && o->sent_at > (int64_t)r->c->started &&
	    r->now - o->sent_at < CTL_RESEND_S)
		return 0;
	if (!signed_by_us(r->c, o)) {
		/* Signed by the key before a rotation: the agent drops it
		 * unanswered. Back to the queue, signed anew when it goes. */
		if (store_order_requeue(r->c->store, o->id) == 0)
			log_info("order=%s signed by a previous controller key: requeued", o->id);
		s->pump = true;
		return 0;
	}
	if (orders_send(r->c, s, o->id, o->body, o->body_len) < 0)
		return 1;
	r->n++;
	return 0;
}

/* The stored order a message of session s names, when the message parsed
 * and the order is s's agent's: true with *o filled (the caller frees
 * o->body); else false, logged as a dropped `what` (order-ack, order-done). */
static bool own_order(struct ctl *c, const struct ctl_session *s, const char *what, bool parsed,
                      const char *order_id, struct store_order_info *o)
{
	if (!parsed) {
		log_warn("agent=%s %s dropped: malformed", LOG_V(s->user_id), what);
		return false;
	}
	if (store_order_get(c->store, order_id, o) == 1 && o->agent_id == s->agent_id)
		return true;
	log_warn("agent=%s %s order=%s dropped: not its order", LOG_V(s->user_id), what,
	         LOG_V(order_id));
	return false;
}

void orders_on_ack(struct ctl *c, struct ctl_session *s, const uint8_t *msg, size_t len)
{
	struct wire_ctl_order_ack a;
	struct store_order_info o = {0};
	bool parsed = wire_ctl_order_ack_parse(msg, len, &a) == 0; /* -1: a zeroed */

	if (!own_order(c, s, "order-ack", parsed, a.order_id, &o))
		goto out;
	if (a.committed || strcmp(a.reason, "replay") == 0) {
		/* replay: accepted before (our re-send crossed its ack). */
		if (store_order_mark(c->store, a.order_id, STORE_ORDER_ACKED, now_s()) < 0)
			log_error("order=%s ack: %s", LOG_V(a.order_id), store_errmsg(c->store));
		else
			log_info("agent=%s order=%s acked", LOG_V(s->user_id), LOG_V(a.order_id));
	} else if (o.state != STORE_ORDER_SENT ||
	           (a.sequence != 0 && a.sequence != (uint64_t)o.sequence)) {
		/* (sequence 0: an agent older than OrderAck.sequence; its
		 * refusal is taken for the current copy.) */
		/* An answer to a copy we no longer stand by (the order was
		 * signed again since, or is pending, acked or done). */
		log_info("agent=%s order=%s refusal reason=%s sequence=%llu ignored: stale",
		         LOG_V(s->user_id), LOG_V(a.order_id), LOG_V(a.reason),
		         (unsigned long long)a.sequence);
	} else {
		/* Refused without running it for its time or sequence (a copy
		 * that waited too long, or crossed a newer one): signed again
		 * and sent, a bounded number of times. Refused for good
		 * (audience, too many targets...), or too often: the store has
		 * no failed state, so the order is closed as done with no
		 * results and the reason is logged. */
		bool unrun = strcmp(a.reason, "expired") == 0 ||
		             strcmp(a.reason, "not-yet-valid") == 0 ||
		             strcmp(a.reason, "sequence") == 0;

		log_warn("agent=%s order=%s refused reason=%s", LOG_V(s->user_id),
		         LOG_V(a.order_id), LOG_V(a.reason));
		if (unrun && o.reissues < CTL_REISSUE_MAX) {
			if (store_order_requeue(c->store, a.order_id) < 0)
				log_error("order=%s requeue: %s", LOG_V(a.order_id),
				          store_errmsg(c->store));
			else
				log_info("agent=%s order=%s requeued reissue=%d", LOG_V(s->user_id),
				         LOG_V(a.order_id), o.reissues + 1);
		} else if (store_order_mark(c->store, a.order_id, STORE_ORDER_DONE, now_s()) == 0) {
			store_audit_complete(c->store, o.audit_id);
		}
		s->pump = true;
	}
out:
	free(o.body);
	wire_ctl_order_ack_clear(&a);
}

/* The order's targets, sorted, into f (f->targets owned by f). 0 / -1. */
static int fact_targets(struct ctl_order_fact *f, const uint8_t *body, size_t len)
{
	struct wire_order w;
	int rc = -1;

	if (wire_order_decode_own(body, len, NULL, &w) != WIRE_OK)
		goto out;
	f->targets = calloc(w.spec.n_targets ? w.spec.n_targets : 1, sizeof(*f->targets));
	if (f->targets == NULL)
		goto out;
	for (size_t i = 0; i < w.spec.n_targets; i++) {
		if ((f->targets[i] = strdup(w.spec.targets[i])) == NULL)
			goto out;
		f->n_targets++;
	}
	qsort(f->targets, f->n_targets, sizeof(*f->targets), str_cmp);
	rc = 0;
out:
	wire_order_clear(&w);
	return rc;
}

/* The cached facts of a stored order (its agent, the body's SHA-256, its
 * targets), loaded from the store on a miss. NULL when there is no such
 * order (or it cannot be read). */
const struct ctl_order_fact *orders_fact(struct ctl *c, const char *order_id)
{
	struct store_order_info o = {0};
	struct ctl_order_fact *f;

	for (unsigned i = 0; i < CTL_ORDER_CACHE; i++) {
		f = &c->order_cache[i];
		if (f->order_id[0] != '\0' && strcmp(f->order_id, order_id) == 0)
			return f;
	}
	if (strlen(order_id) >= sizeof(f->order_id) ||
	    store_order_get(c->store, order_id, &o) != 1) {
		free(o.body);
		return NULL;
	}
	f = &c->order_cache[c->order_cache_next++ % CTL_ORDER_CACHE];
	orders_fact_clear(f);
	if (wire_ctl_envelope_body_sha256(o.body, o.body_len, f->sha) < 0 ||
	    fact_targets(f, o.body, o.body_len) < 0) {
		free(o.body);
		orders_fact_clear(f);
		return NULL;
	}
	free(o.body);
	snprintf(f->order_id, sizeof(f->order_id), "%s", order_id);
	f->agent_id = o.agent_id;
	return f;
}

bool orders_fact_has_target(const struct ctl_order_fact *f, const char *target)
{
	const char *key = target;

	return bsearch(&key, f->targets, f->n_targets, sizeof(*f->targets), str_cmp) != NULL;
}

void orders_on_done(struct ctl *c, struct ctl_session *s, struct ctl_batch *b, const uint8_t *msg,
                    size_t len)
{
	struct wire_ctl_order_done d;
	struct store_order_info o = {0};
	bool parsed = wire_ctl_order_done_parse(msg, len, &d) == 0; /* -1: d zeroed */

	if (!own_order(c, s, "order-done", parsed, d.order_id, &o))
		goto out;
	if (store_order_mark_done_declared(c->store, d.order_id, now_s(), d.results) < 0 ||
	    store_audit_complete(c->store, o.audit_id) < 0) {
		log_error("order=%s done: %s", LOG_V(d.order_id), store_errmsg(c->store));
	} else {
		log_info("agent=%s order=%s done results=%u", LOG_V(s->user_id), LOG_V(d.order_id),
		         d.results);
		link_batch_ack(b, s, d.order_id, "", "", 0);
		s->pump = true;
	}
out:
	free(o.body);
	wire_ctl_order_done_clear(&d);
}

/* Orders an agent acknowledged and then made no progress on for
 * order_stall seconds (no result, no ORDER_DONE: the agent lost it, e.g. a
 * crash before it kept its copy) are closed, so they hold no slot of the
 * agent's order window and their audit finishes. Late results of a closed
 * order are refused unless its ORDER_DONE comes after all. Looked for once
 * a minute. */
void orders_expire_stalled(struct ctl *c)
{
	char ids[16][STORE_ORDER_ID_MAX + 1];
	int64_t audits[16];
	time_t now = time(NULL);
	long n;

	if (c->cfg->order_stall == 0 || now - c->stall_checked < CTL_STALL_CHECK_S)
		return;
	c->stall_checked = now;
	n = store_orders_stalled(c->store, (int64_t)now - c->cfg->order_stall, ids, audits, 16);
	if (n < 0)
		log_error("stalled orders: %s", store_errmsg(c->store));
	for (long i = 0; i < n; i++) {
		if (store_order_mark(c->store, ids[i], STORE_ORDER_DONE, now_s()) < 0 ||
		    store_audit_complete(c->store, audits[i]) < 0) {
			log_error("order=%s close: %s", ids[i], store_errmsg(c->store));
			continue;
		}
		log_warn("order=%s closed: acked and no progress for %u s", ids[i],
		         c->cfg->order_stall);
		c->orders_expired++;
	}
	if (n > 0)
		for (size_t i = 0; i < c->nsess; i++)
			c->sess[i].pump = true;
}

int orders_resend(struct ctl *c, struct ctl_session *s, bool all)
{
	struct resend r = {.c = c, .agent_id = s->agent_id, .now = now_s(), .all = all};

	store_orders_unacked(c->store, s->agent_id, resend_cb, &r);
	return r.n;
}

int orders_create(struct ctl *c, int64_t audit, int64_t agent_id, const char *agent_name, size_t k,
                  const struct wire_spec *spec, struct orders_made *m, char *err, size_t errlen)
{
	struct wire_order o = {0};
	struct store_order so = {0};
	uint64_t now_ms = (uint64_t)time(NULL) * 1000;
	uint8_t *msg = NULL;
	size_t len = 0;
	int rc = -1;

	/* A draft: signed (with a fresh sequence and validity) only when it
	 * leaves, by orders_pump_all, so an audit of many orders costs its
	 * request no signatures. The sequence here only keeps (agent,
	 * sequence) unique in the store. */
	if (store_next_sequence(c->store, agent_id, &o.sequence) < 0) {
		snprintf(err, errlen, "sequence: %s", store_errmsg(c->store));
		return -1;
	}
	snprintf(m->id, sizeof(m->id), "a%lld-g%lld-%zu-%08x", (long long)audit,
	         (long long)agent_id, k, randombytes_random());
	o.protocol_version = WIRE_PROTOCOL_VERSION;
	memcpy(o.controller_key_id, keys_key_id(c->keys), KEYS_KEY_ID_LEN);
	o.audience = (char *)agent_name;
	o.order_id = m->id;
	o.issued_at_ms = now_ms;
	o.expires_at_ms = now_ms + (uint64_t)c->cfg->order_ttl * 1000;
	o.spec = *spec;
	if (spec->canary_domain != NULL && spec->canary_domain[0] != '\0' && c->canary != NULL) {
		/* Proof by delivery: a reference for this order's tokens, and a
		 * recipient and sender token per (target, test). */
		size_t idx[RP_TESTS_MAX];

		for (size_t i = 0; i < spec->n_tests; i++)
			idx[i] = (size_t)relay_test_index(spec->tests[i]);
		if (store_canary_next_ref(c->store, &so.canary_ref) < 0) {
			snprintf(err, errlen, "canary ref: %s", store_errmsg(c->store));
			return -1;
		}
		if (ctl_canary_tokens(c->canary, so.canary_ref, spec->n_targets, idx, spec->n_tests,
		                      &o.spec.canary_to, &o.spec.canary_from) < 0) {
			snprintf(err, errlen, "canary tokens: out of memory");
			return -1;
		}
		o.spec.n_canary = spec->n_targets * spec->n_tests;
	}
	rc = wire_order_draft(&o, &msg, &len);
	if (o.spec.n_canary > 0)
		ctl_canary_tokens_free(o.spec.canary_to, o.spec.canary_from, o.spec.n_canary);
	if (rc < 0) {
		snprintf(err, errlen,
		         "order for %s: cannot encode (a target or parameter is out of bounds)",
		         agent_name);
		return -1;
	}
	so.id = m->id;
	so.audit_id = audit;
	so.agent_id = agent_id;
	so.sequence = o.sequence;
	so.body = msg;
	so.body_len = len;
	m->agent_id = agent_id;
	rc = store_order_add(c->store, &so, time(NULL));
	if (rc < 0)
		snprintf(err, errlen, "order %s: %s", m->id, store_errmsg(c->store));
	free(msg);
	return rc < 0 ? -1 : 0;
}
