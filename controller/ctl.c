/* ctl.c - relayprobe-controller: its state (ctl_new/ctl_free) and its loop,
 * which polls the ZAP handler, the agents' ROUTER (link.c), the admin socket
 * (ctl_admin.c) and the metrics endpoint, and ticks the schedules, the
 * stalled orders, the canary's wait window, the order pump and the hooks.
 * The flow: audit.c makes an audit's orders, orders.c sends them, link.c
 * reads the agents' messages, results.c checks what comes back, the store
 * keeps it and aggregate.c folds it into verdicts. */
#include "ctl.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
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
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "orders.h"
#include "results.h"
#include "retention.h"
#include "rp_limits.h"
#include "rp_take.h"
#include "store_agents.h"
#include "verdict.h"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* The admin socket's directory must not let another user swap the socket
 * for a symlink or a socket of their own: owned by us or root, and not
 * writable by group or others unless sticky. */
/* ---- agent messages ---- */

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
	struct store_agent_info a;
	char *labels = NULL;
	int resent;

	if (wire_ctl_hello_parse(msg, len, &h) < 0) {
		log_warn("agent=%s hello dropped: malformed", LOG_V(s->user_id));
		return;
	}
	if (store_agent_by_id(c->store, s->agent_id, &a) != 1)
		goto out;
	if (strcmp(a.ed25519_public, STORE_AGENT_NO_KEY) == 0) {
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
			if (store_agent_pin(c->store, a.id, h.agent_id, b64, fp) == 1)
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
	/* The orders it takes at once ([agent] capacity): its order window
	 * follows the value last heard (orders_window); 0 is an old agent. */
	if (h.max_orders > RP_AGENT_CAPACITY_MAX) {
		log_warn("agent=%s max_orders=%u above the limit: %d", LOG_V(a.name), h.max_orders,
		         RP_AGENT_CAPACITY_MAX);
		h.max_orders = RP_AGENT_CAPACITY_MAX;
	}
	if (h.max_orders != a.max_orders &&
	    store_agent_set_capacity(c->store, a.id, h.max_orders) < 0)
		log_error("agent=%s max_orders: %s", LOG_V(a.name), store_errmsg(c->store));
	labels_json(&h, &labels);
	if (store_agent_seen(c->store, a.id, labels, now_s()) < 0)
		log_error("agent=%s last_seen: %s", LOG_V(a.name), store_errmsg(c->store));
	/* On a new connection every unacked order goes again at once (what
	 * was in flight on the old one is lost), before anything newer. */
	resent = orders_resend(c, s, s->fresh);
	s->fresh = false;
	s->pump = true;
	log_info("agent=%s hello version=%s protocol=%u max_orders=%u resent=%d", LOG_V(a.name),
	         LOG_V(h.software_version), h.protocol_version, h.max_orders, resent);
out:
	free(labels);
	wire_ctl_hello_clear(&h);
}

/* Receives one ROUTER message and handles it. 1 when none was waiting,
 * 0 when one was read, -1 on a socket error. */
static int router_one(struct ctl *c, struct ctl_batch *b)
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
	s = user ? link_session_for(c, zmq_msg_data(&rid), zmq_msg_size(&rid), user) : NULL;
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
		orders_on_ack(c, s, zmq_msg_data(&data), zmq_msg_size(&data));
		break;
	case WIRE_KIND_RESULT:
		results_on_result(c, s, b, zmq_msg_data(&data), zmq_msg_size(&data));
		break;
	case WIRE_KIND_ORDER_DONE:
		orders_on_done(c, s, b, zmq_msg_data(&data), zmq_msg_size(&data));
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
static int read_batch(struct ctl *c)
{
	struct ctl_batch *b = calloc(1, sizeof(*b));
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
		if (c->router != NULL && link_send(c, b->acks[i].rid, b->acks[i].rid_len,
		                                   b->acks[i].msg, b->acks[i].len) < 0)
			log_warn("ack not sent: %s", zmq_strerror(zmq_errno()));
		free(b->acks[i].msg);
	}
	free(b);
	return rc < 0 ? -1 : 0;
}

int ctl_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

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
	c->keys = keys_load_role(cfg->keys, true, KEYS_ROLE_CONTROLLER, err, errlen);
	if (c->keys == NULL)
		goto fail;
	c->store = store_open(cfg->database, err, errlen);
	if (c->store == NULL)
		goto fail;
	c->hooks = hooks_new(c->store, cfg, err, errlen);
	if (c->hooks == NULL)
		goto fail;
	c->retention = retention_new(c->store, cfg);
	if (c->retention == NULL) {
		snprintf(err, errlen, "retention: out of memory");
		goto fail;
	}
	c->zctx = zmq_ctx_new();
	if (c->zctx == NULL) {
		snprintf(err, errlen, "zmq context: %s", zmq_strerror(zmq_errno()));
		goto fail;
	}
	/* ZAP first: a socket with a ZAP domain consults the handler bound
	 * at handshake time; none bound would let clients through. */
	c->zap = zap_new(c->zctx, c->store, err, errlen);
	if (c->zap == NULL)
		goto fail;
	c->canary = ctl_canary_start(cfg, err, errlen);
	if (c->canary == NULL && err[0] != '\0')
		goto fail;
	if (link_open(c, cfg->listen) < 0) {
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
	struct ctl *c = rp_take(cp);

	if (c == NULL)
		return;
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
	retention_free(&c->retention);
	store_close(&c->store);
	keys_free(&c->keys);
	for (unsigned i = 0; i < CTL_ORDER_CACHE; i++)
		orders_fact_clear(&c->order_cache[i]);
	free(c->sess);
	free(c);
}

int ctl_run(struct ctl *c, volatile sig_atomic_t *stop)
{
	struct metrics *m = NULL; /* the Prometheus endpoint (metrics.c), NULL = off */

	struct metrics_opts mo = {.listen = c->cfg->metrics,
	                          .token = c->cfg->metrics_token,
	                          .snapshot_s = c->cfg->metrics_snapshot_s,
	                          .fill = ctl_snapshot_fill,
	                          .arg = c};

	if (metrics_open(&mo, &m) < 0)
		return -1;
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
		if ((items[1].revents & ZMQ_POLLIN) && read_batch(c) < 0) {
			log_error("router: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
		if (items[2].revents & ZMQ_POLLIN)
			ctl_admin_handle(c);
		ctl_sched_tick(c);        /* schedules and history, once a second */
		orders_expire_stalled(c); /* orders acked without progress */
		ctl_canary_tick(c->canary, c->store, time(NULL)); /* the wait window */
		orders_pump_all(c);                    /* orders out, within each agent's window */
		hooks_tick(c->hooks, now_s());         /* event hooks; never blocks */
		retention_tick(c->retention, now_s()); /* old transcripts, a batch a second */
		if (c->router == NULL && link_rebind(c) < 0)
			return -1;
		metrics_poll(m); /* never blocks; also times out stalled clients */
	}
	metrics_free(&m);
	log_info("controller stopping");
	return 0;
}
