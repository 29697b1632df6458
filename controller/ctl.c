/* ctl.c - relayprobe-controller's loop: polls the ZAP handler, the agents'
 * ROUTER (CURVE server, ZAP domain "relayprobe", ZMQ_MAXMSGSIZE =
 * RP_WIRE_MSG_MAX, heartbeats) and the admin socket. Every agent message is
 * attributed by its frame's ZAP User-Id, never by a field inside it. Results
 * are verified with the agent's pinned Ed25519 key, matched to the stored
 * order, committed in batches (one fsync) and only then acknowledged. */
#include "ctl.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "control.h"
#include "ctl_canary.h"
#include "ctl_internal.h"
#include "ctl_sched.h"
#include "envelope.h"
#include "hooks.h"
#include "log.h"
#include "metrics.h"
#include "retention.h"
#include "rp_limits.h"
#include "store_ext.h"
#include "verdict.h"

/* Agent messages handled under one store transaction before their acks go. */
#define CTL_BATCH_MAX 256

/* An acknowledgement waiting for the batch's commit. */
struct pending_ack {
	uint8_t rid[CTL_RID_MAX];
	size_t rid_len;
	uint8_t *msg;
	size_t len;
};

struct batch {
	struct pending_ack acks[CTL_BATCH_MAX];
	size_t n;
	size_t bytes; /* agent messages read into this batch */
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void fact_clear(struct ctl_order_fact *f)
{
	for (size_t i = 0; i < f->n_targets; i++)
		free(f->targets[i]);
	free(f->targets);
	memset(f, 0, sizeof(*f));
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* ---- sessions ---- */

struct ctl_session *ctl_session_of_agent(struct ctl *c, int64_t agent_id)
{
	for (size_t i = 0; i < c->nsess; i++)
		if (c->sess[i].agent_id == agent_id)
			return &c->sess[i];
	return NULL;
}

bool ctl_session_alive(const struct ctl_session *s, time_t now)
{
	return s != NULL && now - s->last_rx <= CTL_ALIVE_S;
}

void ctl_session_drop(struct ctl *c, int64_t agent_id)
{
	for (size_t i = 0; i < c->nsess; i++)
		if (c->sess[i].agent_id == agent_id) {
			c->sess[i] = c->sess[c->nsess - 1];
			c->nsess--;
			return;
		}
}

/* The session of the connection that sent a frame with this routing id and
 * ZAP User-Id; created (or moved to this connection) when the User-Id names
 * an approved agent. NULL: nobody we talk to. */
static struct ctl_session *session_for(struct ctl *c, const uint8_t *rid, size_t rid_len,
                                       const char *user_id)
{
	struct store_ext_agent a;
	struct ctl_session *s;

	for (size_t i = 0; i < c->nsess; i++) {
		s = &c->sess[i];
		if (s->rid_len == rid_len && memcmp(s->rid, rid, rid_len) == 0 &&
		    strcmp(s->user_id, user_id) == 0)
			return s;
	}
	if (store_ext_agent_find(c->store, user_id, &a) != 1 || strcmp(a.name, user_id) != 0 ||
	    a.status != STORE_AGENT_APPROVED || rid_len == 0 || rid_len > CTL_RID_MAX)
		return NULL;
	s = ctl_session_of_agent(c, a.id);
	if (s == NULL) {
		if (c->nsess >= RP_CTL_AGENTS_MAX)
			return NULL;
		s = &c->sess[c->nsess++];
		memset(s, 0, sizeof(*s));
		s->agent_id = a.id;
		s->max_targets = CTL_TARGETS_PER_ORDER;
	}
	snprintf(s->user_id, sizeof(s->user_id), "%s", user_id);
	memcpy(s->rid, rid, rid_len);
	s->rid_len = rid_len;
	s->fresh = true; /* a new session, or the agent's new connection */
	return s;
}

/* ---- sockets ---- */

static int send_to(struct ctl *c, const uint8_t *rid, size_t rid_len, const uint8_t *msg,
                   size_t len)
{
	if (zmq_send(c->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -1;
	if (zmq_send(c->router, msg, len, ZMQ_DONTWAIT) < 0)
		return -1;
	return 0;
}

int ctl_send_order(struct ctl *c, struct ctl_session *s, const char *order_id, const uint8_t *body,
                   size_t len)
{
	int64_t agent_id = s->agent_id;

	if (send_to(c, s->rid, s->rid_len, body, len) < 0) {
		int e = zmq_errno();

		log_warn("order=%s agent_id=%lld not sent: %s", order_id, (long long)agent_id,
		         zmq_strerror(e));
		/* Sent again first thing on the next pump or HELLO, before any
		 * newer order (sequence order on the wire). */
		if (store_order_unsent(c->store, order_id) < 0)
			log_error("order=%s: %s", order_id, store_errmsg(c->store));
		if (e == EHOSTUNREACH)
			ctl_session_drop(c, agent_id);
		return -1;
	}
	if (store_order_mark_sent(c->store, order_id, now_s()) < 0)
		log_error("order=%s mark sent: %s", order_id, store_errmsg(c->store));
	log_info("order=%s agent_id=%lld sent bytes=%zu", order_id, (long long)agent_id, len);
	return 0;
}

void ctl_want_pump(struct ctl *c, int64_t agent_id)
{
	struct ctl_session *s = ctl_session_of_agent(c, agent_id);

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
			fact_clear(&c->order_cache[i]);
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

struct resend {
	struct ctl *c;
	int64_t agent_id;
	int64_t now;
	int n;
	int failed;
	bool all; /* a new connection: every unacked sent order, whatever its age */
};

/* Sends again, byte for byte, the agent's sent orders whose send failed
 * (sent_at 0): before anything newer, so sequences stay in send order. */
static int resend_unsent_cb(void *arg, const struct store_order *o)
{
	struct resend *r = arg;
	struct ctl_session *s = ctl_session_of_agent(r->c, r->agent_id);

	if (s == NULL)
		return 1;
	if (o->state != STORE_ORDER_SENT || o->sent_at != 0)
		return 0;
	if (!signed_by_us(r->c, o)) {
		store_order_requeue(r->c->store, o->id); /* as in resend_cb */
		return 0;
	}
	if (ctl_send_order(r->c, s, o->id, o->body, o->body_len) < 0) {
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
	struct store_ext_order o;
	int rc = -1;

	if (store_ext_order_get(c->store, id, &o) == 1 &&
	    store_order_mark_done(c->store, id, now_s()) == 0 &&
	    store_ext_audit_complete(c->store, o.audit_id) >= 0)
		rc = 0;
	free(o.body);
	return rc;
}

static void pump(struct ctl *c, struct ctl_session *s)
{
	struct store_ext_agent a;
	struct resend r = {.c = c, .agent_id = s->agent_id, .now = now_s()};
	int64_t agent_id = s->agent_id;
	long out;

	if (store_ext_agent_by_id(c->store, agent_id, &a) != 1 ||
	    store_orders_unacked(c->store, agent_id, resend_unsent_cb, &r) < 0 || r.failed ||
	    (out = store_orders_outstanding(c->store, agent_id)) < 0)
		return;
	while (out < CTL_ORDER_WINDOW) {
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
		if (send_to(c, s->rid, s->rid_len, msg, mlen) < 0) {
			/* Committed as sent: sent again, byte for byte, first
			 * thing on the next pump or HELLO. */
			e = zmq_errno();
			log_warn("order=%s agent=%s not sent: %s", id, LOG_V(a.name),
			         zmq_strerror(e));
			if (store_order_unsent(c->store, id) < 0)
				log_error("order=%s: %s", id, store_errmsg(c->store));
			free(msg);
			if (e == EHOSTUNREACH)
				ctl_session_drop(c, agent_id);
			return;
		}
		log_info("order=%s agent=%s sent sequence=%llu bytes=%zu", id, LOG_V(a.name),
		         (unsigned long long)seq, mlen);
		free(msg);
		out++;
	}
}

void ctl_pump_all(struct ctl *c)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < c->nsess; i++) {
		struct ctl_session *s = &c->sess[i];

		if (!s->pump)
			continue;
		s->pump = false;
		if (ctl_session_alive(s, now))
			pump(c, s);
	}
}

static int router_open(struct ctl *c, const char *endpoint)
{
	int one = 1, zero = 0, ivl = 5000, ttl = 30000, tmo = 30000, hwm = RP_CTL_RCVHWM;
	int64_t max = RP_WIRE_MSG_MAX;
	size_t elen = sizeof(c->endpoint);
	void *r = zmq_socket(c->zctx, ZMQ_ROUTER);
	int rc = -1;

	if (r == NULL)
		return -1;
	if (zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_setsockopt(r, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, keys_curve_secret(c->keys), KEYS_Z85_LEN) < 0 ||
	    zmq_setsockopt(r, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) < 0 ||
	    zmq_setsockopt(r, ZMQ_MAXMSGSIZE, &max, sizeof(max)) < 0 ||
	    zmq_setsockopt(r, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
	    zmq_setsockopt(r, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(r, ZMQ_ROUTER_HANDOVER, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(r, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) < 0 ||
	    zmq_setsockopt(r, ZMQ_HEARTBEAT_TTL, &ttl, sizeof(ttl)) < 0 ||
	    zmq_setsockopt(r, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof(tmo)) < 0)
		goto out;
	/* After a rebind the old listener closes asynchronously in the I/O
	 * thread: retry for up to 2 s while the port is still held. */
	for (int i = 0; i < 200; i++) {
		rc = zmq_bind(r, endpoint);
		if (rc == 0 || zmq_errno() != EADDRINUSE)
			break;
		usleep(10000);
	}
	if (rc < 0)
		goto out;
	if (zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, c->endpoint, &elen) < 0)
		snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
	c->router = r;
	return 0;
out:
	log_error("listen %s: %s", endpoint, zmq_strerror(zmq_errno()));
	zmq_close(r);
	return -1;
}

/* Revoking an agent must end its live session now. ZeroMQ has no per-peer
 * disconnect on a bound socket, and ZAP is only asked at the handshake, so
 * the only way to drop an authenticated CURVE session is to close the
 * listening socket: every session ends, the others reconnect within their
 * reconnect interval and pass ZAP again (resending their spool on HELLO),
 * and the revoked key is refused there. */
int ctl_router_rebind(struct ctl *c)
{
	char ep[sizeof(c->endpoint)];

	snprintf(ep, sizeof(ep), "%s", c->endpoint);
	if (c->router != NULL)
		zmq_close(c->router);
	c->router = NULL;
	c->nsess = 0;
	if (router_open(c, ep) < 0)
		return -1;
	log_info("listen %s rebound: every session dropped", c->endpoint);
	return 0;
}

/* The admin socket's directory must not let another user swap the socket
 * for a symlink or a socket of their own: owned by us or root, and not
 * writable by group or others unless sticky. */
static int admin_dir_check(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct ctl *)0)->admin_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen,
		         "directory %s is owned by uid %lu, not by this process or root", dir,
		         (unsigned long)st.st_uid);
		return -1;
	}
	if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
		snprintf(err, errlen,
		         "directory %s has mode %04o: group or others may replace the socket", dir,
		         (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Binds the admin REP socket. Its mode (0660) comes from the umask at bind
 * time, never from a chmod by path afterwards, which a symlink swapped in
 * after bind() would redirect; the path is then checked to be the socket. */
static int admin_open(struct ctl *c, char *err, size_t errlen)
{
	int zero = 0;
	int64_t max = RP_ADMIN_MSG_MAX;
	const char *ep = c->cfg->admin;
	struct stat st;
	mode_t old;
	int rc;

	snprintf(c->admin_path, sizeof(c->admin_path), "%s", ep + strlen("ipc://"));
	if (admin_dir_check(c->admin_path, err, errlen) < 0) {
		c->admin_path[0] = '\0';
		return -1;
	}
	c->admin = zmq_socket(c->zctx, ZMQ_REP);
	if (c->admin == NULL || zmq_setsockopt(c->admin, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_setsockopt(c->admin, ZMQ_MAXMSGSIZE, &max, sizeof(max)) < 0) {
		snprintf(err, errlen, "%s", zmq_strerror(zmq_errno()));
		return -1;
	}
	/* Owner and group only (0777 & ~0117 = 0660), set by the kernel. */
	old = umask(0117);
	rc = zmq_bind(c->admin, ep);
	umask(old);
	if (rc < 0) {
		snprintf(err, errlen, "%s", zmq_strerror(zmq_errno()));
		return -1;
	}
	if (lstat(c->admin_path, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0777) != 0660) {
		snprintf(err, errlen, "%s is not the socket just bound (replaced?): refusing it",
		         c->admin_path);
		/* Not ours: leave it for the operator to look at. */
		c->admin_path[0] = '\0';
		return -1;
	}
	return 0;
}

struct ctl *ctl_new(const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct ctl *c = calloc(1, sizeof(*c));
	char e[512];
	char ae[1280]; /* room for the admin path twice */

	if (c == NULL || sodium_init() < 0) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->cfg = cfg;
	c->started = time(NULL);
	c->sess = calloc(RP_CTL_AGENTS_MAX, sizeof(*c->sess));
	if (c->sess == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->keys = keys_load_secret(cfg->keys, e, sizeof(e));
	if (c->keys == NULL) {
		snprintf(err, errlen, "%s", e);
		goto fail;
	}
	if (keys_role(c->keys) != KEYS_ROLE_CONTROLLER) {
		snprintf(err, errlen, "%s: role is %s, expected controller", cfg->keys,
		         keys_role_name(keys_role(c->keys)));
		goto fail;
	}
	c->store = store_open(cfg->database, e, sizeof(e));
	if (c->store == NULL) {
		snprintf(err, errlen, "%s", e);
		goto fail;
	}
	c->hooks = hooks_new(c->store, cfg, e, sizeof(e));
	if (c->hooks == NULL) {
		snprintf(err, errlen, "%s", e);
		goto fail;
	}
	c->zctx = zmq_ctx_new();
	if (c->zctx == NULL) {
		snprintf(err, errlen, "zmq context: %s", zmq_strerror(zmq_errno()));
		goto fail;
	}
	/* ZAP first: a socket with a ZAP domain consults the handler bound
	 * at handshake time; none bound would let clients through. */
	c->zap = zap_new(c->zctx, c->store, e, sizeof(e));
	if (c->zap == NULL) {
		snprintf(err, errlen, "%s", e);
		goto fail;
	}
	c->canary = ctl_canary_start(cfg, e, sizeof(e));
	if (c->canary == NULL && e[0] != '\0') {
		snprintf(err, errlen, "%s", e);
		goto fail;
	}
	if (router_open(c, cfg->listen) < 0) {
		snprintf(err, errlen, "listen %s: %s", cfg->listen, zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (admin_open(c, ae, sizeof(ae)) < 0) {
		snprintf(err, errlen, "admin %s: %s", cfg->admin, ae);
		goto fail;
	}
	log_info("controller started listen=%s admin=%s fingerprint=%s", c->endpoint, cfg->admin,
	         keys_fingerprint(c->keys));
	return c;
fail:
	ctl_free(&c);
	return NULL;
}

void ctl_free(struct ctl **cp)
{
	struct ctl *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	if (c->admin != NULL) {
		zmq_close(c->admin);
		if (c->admin_path[0] != '\0')
			unlink(c->admin_path);
	}
	if (c->router != NULL)
		zmq_close(c->router);
	zap_free(&c->zap);
	if (c->zctx != NULL)
		zmq_ctx_term(c->zctx);
	ctl_canary_stop(&c->canary); /* its thread first: it writes the store */
	hooks_free(&c->hooks);       /* before the store it uses */
	store_close(&c->store);
	keys_free(&c->keys);
	for (unsigned i = 0; i < CTL_ORDER_CACHE; i++)
		fact_clear(&c->order_cache[i]);
	free(c->sess);
	free(c);
	*cp = NULL;
}

/* ---- agent messages ---- */

static void queue_ack(struct batch *b, const struct ctl_session *s, uint8_t *msg, size_t len)
{
	struct pending_ack *a;

	if (b->n >= CTL_BATCH_MAX) { /* cannot happen: one ack per message */
		free(msg);
		return;
	}
	a = &b->acks[b->n++];
	memcpy(a->rid, s->rid, s->rid_len);
	a->rid_len = s->rid_len;
	a->msg = msg;
	a->len = len;
}

static void ack(struct batch *b, const struct ctl_session *s, const char *order_id,
                const char *target, const char *address, uint32_t port)
{
	struct wire_ctl_result_ack ra = {.order_id = (char *)order_id,
	                                 .target = (char *)target,
	                                 .address = (char *)address,
	                                 .port = port,
	                                 .committed = true};
	uint8_t *msg = NULL;
	size_t len = 0;

	if (wire_ctl_result_ack_pack(&ra, &msg, &len) < 0) {
		log_error("order=%s: cannot pack ack", order_id);
		return;
	}
	queue_ack(b, s, msg, len);
}

static int resend_cb(void *arg, const struct store_order *o)
{
	struct resend *r = arg;
	struct ctl_session *s = ctl_session_of_agent(r->c, r->agent_id);

	if (s == NULL)
		return 1;
	if (o->state == STORE_ORDER_PENDING) /* first sends: ctl_pump_all */
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
	if (ctl_send_order(r->c, s, o->id, o->body, o->body_len) < 0)
		return 1;
	r->n++;
	return 0;
}

static void labels_json(const struct wire_ctl_hello *h, char **out)
{
	json_t *o = json_object();

	*out = NULL;
	if (o == NULL)
		return;
	for (size_t i = 0; i < h->n_labels; i++)
		json_object_set_new(o, h->label_keys[i], json_string(h->label_values[i]));
	*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
}

/* Fingerprint of raw Ed25519 + CURVE (Z85) public keys, as keys.c does. */
static int fingerprint_of(const uint8_t ed[KEYS_ED25519_PK_LEN], const char *curve_z85,
                          char out[KEYS_FINGERPRINT_LEN + 1])
{
	uint8_t buf[64], h[crypto_hash_sha256_BYTES];
	char hex[17];

	if (strlen(curve_z85) != KEYS_Z85_LEN || zmq_z85_decode(buf + 32, curve_z85) == NULL)
		return -1;
	memcpy(buf, ed, 32);
	crypto_hash_sha256(h, buf, sizeof(buf));
	sodium_bin2hex(hex, sizeof(hex), h, 8);
	snprintf(out, KEYS_FINGERPRINT_LEN + 1, "%.4s:%.4s:%.4s:%.4s", hex, hex + 4, hex + 8,
	         hex + 12);
	return 0;
}

static void on_hello(struct ctl *c, struct ctl_session *s, const uint8_t *msg, size_t len)
{
	struct wire_ctl_hello h;
	struct store_ext_agent a;
	struct resend r = {.c = c, .agent_id = s->agent_id, .now = now_s()};
	char *labels = NULL;

	if (wire_ctl_hello_parse(msg, len, &h) < 0) {
		log_warn("agent=%s hello dropped: malformed", LOG_V(s->user_id));
		return;
	}
	if (store_ext_agent_by_id(c->store, s->agent_id, &a) != 1)
		goto out;
	if (strcmp(a.ed25519_public, STORE_EXT_NO_KEY) == 0) {
		/* Approved by CURVE fingerprint: pin the signing key and name
		 * from this first HELLO on the authenticated session. */
		char b64[sodium_base64_ENCODED_LEN(KEYS_ED25519_PK_LEN,
		                                   sodium_base64_VARIANT_ORIGINAL)];
		char fp[KEYS_FINGERPRINT_LEN + 1];

		if (!h.has_ed25519 || !keys_name_valid(h.agent_id) ||
		    fingerprint_of(h.ed25519_public, a.curve_public, fp) < 0) {
			log_warn("agent=%s hello without a valid ed25519 key or name: not pinned",
			         LOG_V(s->user_id));
		} else {
			sodium_bin2base64(b64, sizeof(b64), h.ed25519_public, KEYS_ED25519_PK_LEN,
			                  sodium_base64_VARIANT_ORIGINAL);
			if (store_ext_agent_pin(c->store, a.id, h.agent_id, b64, fp) == 1)
				log_info("agent=%s pinned name=%s fingerprint=%s",
				         LOG_V(s->user_id), LOG_V(h.agent_id), fp);
			else
				log_warn("agent=%s pinning name=%s failed: %s", LOG_V(s->user_id),
				         LOG_V(h.agent_id), store_errmsg(c->store));
		}
	} else if (strcmp(h.agent_id, a.name) != 0) {
		log_warn("agent=%s hello claims agent_id=%s: ignored", LOG_V(a.name),
		         LOG_V(h.agent_id));
	}
	if (h.max_targets_per_order > 0) {
		/* Never below the floor: an agent asking for tiny orders would
		 * make one audit thousands of orders. */
		s->max_targets = h.max_targets_per_order < RP_WIRE_ORDER_TARGETS_MAX
		                     ? h.max_targets_per_order
		                     : RP_WIRE_ORDER_TARGETS_MAX;
		if (s->max_targets < RP_CTL_TARGETS_PER_ORDER_MIN) {
			log_warn("agent=%s max_targets_per_order=%u below the floor: orders of up "
			         "to %d targets",
			         LOG_V(a.name), s->max_targets, RP_CTL_TARGETS_PER_ORDER_MIN);
			s->max_targets = RP_CTL_TARGETS_PER_ORDER_MIN;
		}
	}
	labels_json(&h, &labels);
	if (store_ext_agent_seen(c->store, a.id, labels, now_s()) < 0)
		log_error("agent=%s last_seen: %s", LOG_V(a.name), store_errmsg(c->store));
	/* On a new connection every unacked order goes again at once (what
	 * was in flight on the old one is lost), before anything newer. */
	r.all = s->fresh;
	s->fresh = false;
	store_orders_unacked(c->store, a.id, resend_cb, &r);
	s->pump = true;
	log_info("agent=%s hello version=%s protocol=%u resent=%d", LOG_V(a.name),
	         LOG_V(h.software_version), h.protocol_version, r.n);
out:
	free(labels);
	wire_ctl_hello_clear(&h);
}

static void on_order_ack(struct ctl *c, struct ctl_session *s, const uint8_t *msg, size_t len)
{
	struct wire_ctl_order_ack a;
	struct store_ext_order o;

	if (wire_ctl_order_ack_parse(msg, len, &a) < 0) {
		log_warn("agent=%s order-ack dropped: malformed", LOG_V(s->user_id));
		return;
	}
	if (store_ext_order_get(c->store, a.order_id, &o) != 1 || o.agent_id != s->agent_id) {
		log_warn("agent=%s order-ack order=%s dropped: not its order", LOG_V(s->user_id),
		         LOG_V(a.order_id));
	} else if (a.committed || strcmp(a.reason, "replay") == 0) {
		/* replay: accepted before (our re-send crossed its ack). */
		if (store_order_mark_acked(c->store, a.order_id, now_s()) < 0)
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
		} else if (store_order_mark_done(c->store, a.order_id, now_s()) == 0) {
			store_ext_audit_complete(c->store, o.audit_id);
		}
		s->pump = true;
	}
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
static const struct ctl_order_fact *order_fact(struct ctl *c, const char *order_id)
{
	struct store_ext_order o = {0};
	struct ctl_order_fact *f;

	for (unsigned i = 0; i < CTL_ORDER_CACHE; i++) {
		f = &c->order_cache[i];
		if (f->order_id[0] != '\0' && strcmp(f->order_id, order_id) == 0)
			return f;
	}
	if (strlen(order_id) >= sizeof(f->order_id) ||
	    store_ext_order_get(c->store, order_id, &o) != 1) {
		free(o.body);
		return NULL;
	}
	f = &c->order_cache[c->order_cache_next++ % CTL_ORDER_CACHE];
	fact_clear(f);
	if (wire_ctl_envelope_body_sha256(o.body, o.body_len, f->sha) < 0 ||
	    fact_targets(f, o.body, o.body_len) < 0) {
		free(o.body);
		fact_clear(f);
		return NULL;
	}
	free(o.body);
	snprintf(f->order_id, sizeof(f->order_id), "%s", order_id);
	f->agent_id = o.agent_id;
	return f;
}

static bool fact_has_target(const struct ctl_order_fact *f, const char *target)
{
	const char *key = target;

	return bsearch(&key, f->targets, f->n_targets, sizeof(*f->targets), str_cmp) != NULL;
}

/* The agent's result-byte bucket: true when len bytes may be taken now. */
static bool bucket_take(struct ctl_session *s, size_t len)
{
	int64_t now = (int64_t)rp_mono_ms(), cap = RP_CTL_AGENT_BYTES_PER_MIN;

	if (s->bucket_ms == 0) {
		s->bucket = cap;
	} else if (now > s->bucket_ms) {
		int64_t add = (now - s->bucket_ms) * (cap / 60000);

		s->bucket = s->bucket + add > cap ? cap : s->bucket + add;
	}
	s->bucket_ms = now;
	if ((int64_t)len > s->bucket)
		return false;
	s->bucket -= (int64_t)len;
	return true;
}

/* The result JSON as the readers will read it (jansson, as the transcript
 * and report commands do): an object whose verdict, target, address and
 * port are the signed fields'. Anything that SQLite's json_valid accepts and
 * jansson refuses (1e400, 20-digit integers, \u0000) would silently vanish
 * from the evidence later: refused here. NULL when fine, else why. */
static const char *result_json_check(const struct wire_result *r)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)r->result_json, r->result_json_len,
	                       JSON_REJECT_DUPLICATES, &e);
	const char *why = NULL, *v;

	if (j == NULL || !json_is_object(j)) {
		why = "result_json does not parse";
	} else if ((v = json_string_value(json_object_get(j, "verdict"))) == NULL ||
	           strcmp(v, r->verdict) != 0) {
		why = "result_json verdict differs from the signed verdict";
	} else if ((v = json_string_value(json_object_get(j, "target"))) != NULL &&
	           strcmp(v, r->target) != 0) {
		why = "result_json target differs from the signed target";
	}
	json_decref(j);
	return why;
}

/* Logs a refused result; key=value, every peer string quoted. */
static void refused(const char *agent, const struct wire_result *r, const char *why)
{
	log_warn("agent=%s result refused order=%s target=%s address=%s reason=%s", LOG_V(agent),
	         LOG_V(r->order_id), LOG_V(r->target), LOG_V(r->address), LOG_V(why));
}

static void on_result(struct ctl *c, struct ctl_session *s, struct batch *b, const uint8_t *msg,
                      size_t len)
{
	struct store_ext_agent a;
	const struct ctl_order_fact *f;
	struct wire_result r = {0};
	uint8_t pk[KEYS_ED25519_PK_LEN];
	size_t pklen = 0;
	const char *why;
	int v;

	if (store_ext_agent_by_id(c->store, s->agent_id, &a) != 1)
		return;
	if (!bucket_take(s, len)) {
		/* Not refused for good: not acknowledged, so an honest agent
		 * keeps it spooled and sends it again on a later HELLO. */
		c->refused_throttled++;
		if ((int64_t)rp_mono_ms() - s->throttled_logged_ms >= 10000) {
			log_warn("agent=%s results throttled: over %d MiB a minute (%llu so far)",
			         LOG_V(a.name), RP_CTL_AGENT_BYTES_PER_MIN / (1024 * 1024),
			         (unsigned long long)c->refused_throttled);
			s->throttled_logged_ms = (int64_t)rp_mono_ms();
		}
		return;
	}
	if (strcmp(a.ed25519_public, STORE_EXT_NO_KEY) == 0 ||
	    sodium_base642bin(pk, sizeof(pk), a.ed25519_public, strlen(a.ed25519_public), NULL,
	                      &pklen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    pklen != sizeof(pk)) {
		log_warn("agent=%s result dropped: no signing key pinned", LOG_V(a.name));
		return;
	}
	why = wire_reason_name(wire_result_verify(msg, len, pk, a.name, &r));
	if (strcmp(why, "ok") != 0) {
		log_warn("agent=%s result dropped reason=%s", LOG_V(a.name), why);
		goto out;
	}
	/* What the agent earned: a result of its own order, for a target the
	 * order named, within the order's quotas (store_result_ingest). */
	why = NULL;
	f = order_fact(c, r.order_id);
	v = dialog_verdict_from_name(r.verdict);
	if (f == NULL || f->agent_id != a.id)
		why = "not its order";
	else if (sodium_memcmp(f->sha, r.order_body_sha256, sizeof(f->sha)) != 0 &&
	         store_order_body_known(c->store, r.order_id, r.order_body_sha256) != 1)
		why = "order_body_sha256 mismatch";
	else if (!fact_has_target(f, r.target))
		why = "target not in the order";
	else if (v < 0)
		why = "unknown verdict";
	else if (r.result_json_len == 0 || r.result_json_len > RP_RESULT_JSON_MAX)
		why = "result_json empty or over RP_RESULT_JSON_MAX";
	else if (memchr(r.result_json, 0, r.result_json_len) != NULL)
		why = "result_json holds a NUL byte";
	else
		why = result_json_check(&r);
	if (why != NULL) {
		c->refused_forged++;
		refused(a.name, &r, why);
		goto out;
	}
	{
		struct store_result sr = {.agent_id = a.id,
		                          .order_id = r.order_id,
		                          .target = r.target,
		                          .address = r.address,
		                          .port = r.port,
		                          .verdict = (enum dialog_verdict)v,
		                          .result_json = (const char *)r.result_json,
		                          .target_results_max = RP_CTL_TARGET_RESULTS_MAX,
		                          .order_bytes_max =
		                              (int64_t)f->n_targets * RP_CTL_TARGET_BYTES_MAX};
		enum store_ingest ing = store_result_ingest(c->store, &sr, now_s());

		if (ing == STORE_INGEST_NEW || ing == STORE_INGEST_DUPLICATE) {
			log_debug("agent=%s result order=%s target=%s address=%s verdict=%s %s",
			          LOG_V(a.name), LOG_V(r.order_id), LOG_V(r.target),
			          LOG_V(r.address), LOG_V(r.verdict),
			          ing == STORE_INGEST_NEW ? "stored" : "duplicate");
			ack(b, s, r.order_id, r.target, r.address, r.port);
		} else if (ing == STORE_INGEST_REJECTED) {
			c->refused_quota++;
			refused(a.name, &r, store_errmsg(c->store));
		} else {
			log_warn("agent=%s result order=%s not stored (error): %s", LOG_V(a.name),
			         LOG_V(r.order_id), store_errmsg(c->store));
		}
	}
out:
	wire_result_clear(&r);
}

static void on_order_done(struct ctl *c, struct ctl_session *s, struct batch *b, const uint8_t *msg,
                          size_t len)
{
	struct wire_ctl_order_done d;
	struct store_ext_order o = {0};

	if (wire_ctl_order_done_parse(msg, len, &d) < 0) {
		log_warn("agent=%s order-done dropped: malformed", LOG_V(s->user_id));
		return;
	}
	if (store_ext_order_get(c->store, d.order_id, &o) != 1 || o.agent_id != s->agent_id) {
		log_warn("agent=%s order-done order=%s dropped: not its order", LOG_V(s->user_id),
		         LOG_V(d.order_id));
	} else if (store_order_mark_done_declared(c->store, d.order_id, now_s(), d.results) < 0 ||
	           store_ext_audit_complete(c->store, o.audit_id) < 0) {
		log_error("order=%s done: %s", LOG_V(d.order_id), store_errmsg(c->store));
	} else {
		log_info("agent=%s order=%s done results=%u", LOG_V(s->user_id), LOG_V(d.order_id),
		         d.results);
		ack(b, s, d.order_id, "", "", 0);
		s->pump = true;
	}
	free(o.body);
	wire_ctl_order_done_clear(&d);
}

/* Receives one ROUTER message and handles it. 1 when none was waiting,
 * 0 when one was read, -1 on a socket error. */
static int router_one(struct ctl *c, struct batch *b)
{
	zmq_msg_t rid, data;
	const char *user;
	struct ctl_session *s;
	int kind, ret = 0;

	zmq_msg_init(&rid);
	zmq_msg_init(&data);
	if (zmq_msg_recv(&rid, c->router, ZMQ_DONTWAIT) < 0) {
		ret = (zmq_errno() == EAGAIN || zmq_errno() == EINTR) ? 1 : -1;
		goto out;
	}
	if (!zmq_msg_more(&rid) || zmq_msg_recv(&data, c->router, 0) < 0)
		goto out;
	if (zmq_msg_more(&data)) { /* one Envelope per message: drop the rest */
		zmq_msg_t extra;

		do {
			zmq_msg_init(&extra);
			zmq_msg_recv(&extra, c->router, 0);
		} while (zmq_msg_more(&extra) && zmq_msg_close(&extra) == 0);
		zmq_msg_close(&extra);
		log_warn("multi-frame message dropped");
		goto out;
	}
	user = zmq_msg_gets(&data, "User-Id");
	s = user ? session_for(c, zmq_msg_data(&rid), zmq_msg_size(&rid), user) : NULL;
	if (s == NULL) {
		log_warn("message from user=%s dropped: not an approved agent", LOG_V(user));
		goto out;
	}
	s->last_rx = time(NULL);
	b->bytes += zmq_msg_size(&data);
	kind = wire_envelope_kind(zmq_msg_data(&data), zmq_msg_size(&data));
	switch (kind) {
	case WIRE_KIND_HELLO:
		on_hello(c, s, zmq_msg_data(&data), zmq_msg_size(&data));
		break;
	case WIRE_KIND_ORDER_ACK:
		on_order_ack(c, s, zmq_msg_data(&data), zmq_msg_size(&data));
		break;
	case WIRE_KIND_RESULT:
		on_result(c, s, b, zmq_msg_data(&data), zmq_msg_size(&data));
		break;
	case WIRE_KIND_ORDER_DONE:
		on_order_done(c, s, b, zmq_msg_data(&data), zmq_msg_size(&data));
		break;
	case WIRE_KIND_HEARTBEAT:
		break;
	default:
		log_warn("agent=%s message kind=%d dropped: not allowed from an agent",
		         LOG_V(s->user_id), kind);
		break;
	}
out:
	zmq_msg_close(&rid);
	zmq_msg_close(&data);
	return ret;
}

/* Handles up to CTL_BATCH_MAX waiting messages under one transaction, then
 * commits (one fsync) and only then sends their acknowledgements. */
static int router_batch(struct ctl *c)
{
	struct batch *b = calloc(1, sizeof(*b));
	int rc = 0, tx;
	int64_t start;

	if (b == NULL)
		return 0;
	tx = store_tx_begin(c->store) == 0;
	/* Bounded by count, bytes and time, so that a flood of results waits
	 * in the agents' own queues while the admin socket is served. */
	start = (int64_t)rp_mono_ms();
	for (int i = 0; i < CTL_BATCH_MAX && c->router != NULL; i++) {
		rc = router_one(c, b);
		if (rc != 0 || b->bytes >= RP_CTL_BATCH_BYTES ||
		    (int64_t)rp_mono_ms() - start >= RP_CTL_BATCH_MS)
			break;
	}
	if (tx && store_tx_commit(c->store) < 0) {
		log_error("commit failed, %zu acks withheld: %s", b->n, store_errmsg(c->store));
		store_tx_rollback(c->store);
		for (size_t i = 0; i < b->n; i++)
			free(b->acks[i].msg);
		b->n = 0;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (c->router != NULL && send_to(c, b->acks[i].rid, b->acks[i].rid_len,
		                                 b->acks[i].msg, b->acks[i].len) < 0)
			log_warn("ack not sent: %s", zmq_strerror(zmq_errno()));
		free(b->acks[i].msg);
	}
	free(b);
	return rc < 0 ? -1 : 0;
}

/* Orders an agent acknowledged and then made no progress on for
 * order_stall seconds (no result, no ORDER_DONE: the agent lost it, e.g. a
 * crash before it kept its copy) are closed, so they hold no slot of the
 * agent's order window and their audit finishes. Late results of a closed
 * order are refused unless its ORDER_DONE comes after all. Looked for once
 * a minute. */
static void expire_stalled(struct ctl *c)
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
		if (store_order_mark_done(c->store, ids[i], now_s()) < 0 ||
		    store_ext_audit_complete(c->store, audits[i]) < 0) {
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

int ctl_run(struct ctl *c, volatile sig_atomic_t *stop)
{
	struct metrics *m = NULL; /* the Prometheus endpoint (metrics.c), NULL = off */
	struct retention *ret = retention_new(c->store, c->cfg); /* retention.c */

	if (ret == NULL || metrics_open(c, &m) < 0) {
		retention_free(&ret);
		return -1;
	}
	while (!*stop) {
		zmq_pollitem_t items[4] = {{zap_socket(c->zap), 0, ZMQ_POLLIN, 0},
		                           {c->router, 0, ZMQ_POLLIN, 0},
		                           {c->admin, 0, ZMQ_POLLIN, 0},
		                           {NULL, metrics_fd(m), ZMQ_POLLIN, 0}};
		int rc = zmq_poll(items, m != NULL ? 4 : 3, 1000);

		if (rc < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_error("poll: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
		if (items[0].revents & ZMQ_POLLIN)
			while (zap_handle(c->zap) == 0)
				;
		if ((items[1].revents & ZMQ_POLLIN) && router_batch(c) < 0) {
			log_error("router: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
		if (items[2].revents & ZMQ_POLLIN)
			ctl_admin_handle(c);
		ctl_sched_tick(c); /* schedules and history, once a second */
		expire_stalled(c); /* orders acked without progress */
		ctl_canary_tick(c->canary, c->store, time(NULL)); /* the wait window */
		ctl_pump_all(c);               /* orders out, within each agent's window */
		hooks_tick(c->hooks, now_s()); /* event hooks; never blocks */
		retention_tick(ret, now_s());  /* old transcripts, a batch a second */
		if (c->router == NULL && ctl_router_rebind(c) < 0)
			return -1;
		metrics_poll(m, c); /* never blocks; also times out stalled clients */
	}
	metrics_free(&m);
	retention_free(&ret);
	log_info("controller stopping");
	return 0;
}
