/* zap.c - the controller's ZAP handler: reads RFC 27 requests frame by frame
 * (at most ZAP_FRAMES_MAX frames, each bounded), accepts only mechanism
 * CURVE in domain "relayprobe" with a 32-byte client key, and decides from
 * the store: approved -> 200 + User-Id = name; unknown -> recorded pending,
 * 400; pending or revoked -> 400. One key=value log line per decision.
 * Unknown keys are recorded at most RP_CTL_PENDING_MAX in all and
 * RP_CTL_PENDING_PER_PEER_MIN a minute per peer (token buckets in a bounded
 * LRU table); past either a key is refused unrecorded, counted, and logged
 * once per RP_CTL_ZAP_LOG_MS (anyone holding the controller's public key
 * can knock). */
#include "zap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "clock.h"
#include "keys.h"
#include "log.h"
#include "rp_limits.h"
#include "rp_take.h"
#include "store_agents.h"

#define ZAP_FRAMES_MAX 16
#define ZAP_FRAME_MAX  256
#define ZAP_PEER_MAX   64 /* a peer key: an address as text */

/* New pending keys one peer may still add: a token bucket. */
struct zap_peer {
	char key[ZAP_PEER_MAX];
	double tokens;
	int64_t at_ms; /* tokens as of then */
	uint64_t used; /* LRU stamp */
};

struct zap {
	void *sock;
	struct store *store;
	struct zap_peer peers[RP_CTL_ZAP_PEERS_MAX];
	size_t npeers;
	uint64_t tick;
	long pending;          /* pending agents: counted, plus those recorded since */
	int64_t pending_at_ms; /* when counted; 0 = never */
	unsigned run;          /* requests handled since the caller last polled */
	struct zap_counters n;
	int64_t log_at_ms; /* the last refusal line */
	unsigned long log_suppressed;
};

struct zap *zap_new(void *zmq_ctx, struct store *store, char *err, size_t errlen)
{
	struct zap *z = calloc(1, sizeof(*z));
	int linger = 0;

	if (z == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->store = store;
	z->sock = zmq_socket(zmq_ctx, ZMQ_REP);
	if (z->sock == NULL || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
	    zmq_bind(z->sock, ZAP_ENDPOINT) < 0) {
		snprintf(err, errlen, "zap: bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
		zap_free(&z);
		return NULL;
	}
	return z;
}

void *zap_socket(struct zap *z)
{
	return z->sock;
}

void zap_free(struct zap **zp)
{
	struct zap *z = rp_take(zp);

	if (z == NULL)
		return;
	if (z->sock != NULL)
		zmq_close(z->sock);
	free(z);
}

struct frame {
	unsigned char data[ZAP_FRAME_MAX];
	size_t len; /* bytes kept (a longer frame is marked too_long) */
	int too_long;
};

static int send_reply(struct zap *z, const struct frame *reqid, const char *code, const char *text,
                      const char *user)
{
	if (zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE) < 0 ||
	    zmq_send(z->sock, reqid->data, reqid->len, ZMQ_SNDMORE) < 0 ||
	    zmq_send(z->sock, code, strlen(code), ZMQ_SNDMORE) < 0 ||
	    zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE) < 0 ||
	    zmq_send(z->sock, user, strlen(user), ZMQ_SNDMORE) < 0 ||
	    zmq_send(z->sock, "", 0, 0) < 0) {
		log_error("zap: reply failed: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

static int frame_is(const struct frame *f, const char *s)
{
	return !f->too_long && f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

/* Printable copy of a frame, for logs and the store. */
static void frame_text(const struct frame *f, char *out, size_t outlen)
{
	size_t j = 0;

	for (size_t i = 0; i < f->len && j + 1 < outlen; i++)
		out[j++] = (f->data[i] > 0x20 && f->data[i] < 0x7f) ? (char)f->data[i] : '?';
	out[j] = '\0';
}

/* Records an unknown key as pending. 0 / -1. */
static int record_pending(struct zap *z, const char *curve, const char *fp, const char *addr)
{
	struct store_agent a = {0};
	char name[64], labels[160];
	size_t j = 0;

	memcpy(name, "pending-", 8);
	j = 8;
	for (size_t i = 0; fp[i] != '\0' && j + 1 < sizeof(name); i++)
		if (fp[i] != ':')
			name[j++] = fp[i];
	name[j] = '\0';
	snprintf(labels, sizeof(labels), "{\"peer\":\"%s\"}", addr);
	a.name = name;
	a.curve_public = curve;
	a.ed25519_public = STORE_AGENT_NO_KEY;
	a.fingerprint = fp;
	a.labels = labels;
	if (store_agent_upsert(z->store, &a, (int64_t)time(NULL), NULL, NULL) < 0) {
		log_error("zap: recording pending agent fingerprint=%s failed: %s", LOG_V(fp),
		          store_errmsg(z->store));
		return -1;
	}
	return 0;
}

/* The peer's bucket key: the address, an IPv6 one cut to its /64. */
static void peer_key(const char *addr, char *key, size_t keylen)
{
	unsigned char a6[16];

	if (inet_pton(AF_INET6, addr, a6) == 1) {
		memset(a6 + 8, 0, 8);
		if (inet_ntop(AF_INET6, a6, key, (socklen_t)keylen) != NULL)
			return;
	}
	snprintf(key, keylen, "%s", addr);
}

/* The peer's bucket, refilled to now; a new one (full) replaces the least
 * recently used when the table is full. */
static struct zap_peer *peer_get(struct zap *z, const char *addr, int64_t now)
{
	const double cap = RP_CTL_PENDING_PER_PEER_MIN;
	struct zap_peer *p = NULL;
	char key[ZAP_PEER_MAX];
	size_t i;

	peer_key(addr, key, sizeof(key));
	for (i = 0; i < z->npeers && p == NULL; i++)
		if (strcmp(z->peers[i].key, key) == 0)
			p = &z->peers[i];
	if (p == NULL) {
		if (z->npeers < RP_CTL_ZAP_PEERS_MAX) {
			p = &z->peers[z->npeers++];
		} else {
			p = &z->peers[0];
			for (i = 1; i < z->npeers; i++)
				if (z->peers[i].used < p->used)
					p = &z->peers[i];
		}
		snprintf(p->key, sizeof(p->key), "%s", key);
		p->tokens = cap;
		p->at_ms = now;
	}
	if (now > p->at_ms) {
		p->tokens += (double)(now - p->at_ms) * cap / 60000.0;
		if (p->tokens > cap)
			p->tokens = cap;
		p->at_ms = now;
	}
	p->used = ++z->tick;
	return p;
}

/* Pending agents in the store: counted again once a second (approvals
 * lower it), else the last count plus the keys recorded since. -1 on a
 * store error. */
static long pending_now(struct zap *z, int64_t now)
{
	if (z->pending_at_ms == 0 || now - z->pending_at_ms >= 1000) {
		long n = store_agents_pending(z->store);

		if (n < 0)
			return -1;
		z->pending = n;
		z->pending_at_ms = now;
	}
	return z->pending;
}

/* A key refused without being recorded: counted; one log line per
 * RP_CTL_ZAP_LOG_MS, with how many were not logged since the last. */
static void refuse_unrecorded(struct zap *z, const char *reason, const char *fp, const char *addr,
                              int64_t now)
{
	if (z->log_at_ms != 0 && now - z->log_at_ms < RP_CTL_ZAP_LOG_MS) {
		z->log_suppressed++;
		return;
	}
	log_warn("zap: decision=refuse reason=%s recorded=no fingerprint=%s address=%s "
	         "refused_full=%lu refused_rate=%lu suppressed=%lu",
	         reason, LOG_V(fp), LOG_V(addr), z->n.refused_full, z->n.refused_rate,
	         z->log_suppressed);
	z->log_at_ms = now;
	z->log_suppressed = 0;
}

/* An unknown key: recorded as pending when the cap and its peer's bucket
 * allow. */
static void unknown_key(struct zap *z, const char *curve, const char *fp, const char *addr)
{
	int64_t now = (int64_t)rp_mono_ms();
	long pending = pending_now(z, now);
	struct zap_peer *p;

	if (pending < 0 || pending >= RP_CTL_PENDING_MAX) {
		z->n.refused_full++;
		refuse_unrecorded(z, pending < 0 ? "store" : "pending-full", fp, addr, now);
		return;
	}
	p = peer_get(z, addr, now);
	if (p->tokens < 1.0) {
		z->n.refused_rate++;
		refuse_unrecorded(z, "peer-rate", fp, addr, now);
		return;
	}
	p->tokens -= 1.0;
	if (record_pending(z, curve, fp, addr) < 0)
		return;
	z->pending++;
	z->n.recorded++;
	log_warn("zap: decision=refuse reason=unknown status=pending fingerprint=%s address=%s",
	         LOG_V(fp), LOG_V(addr));
}

void zap_counters(const struct zap *z, struct zap_counters *out)
{
	*out = z->n;
}

static void decide(struct zap *z, struct frame *fr, int n)
{
	/* 0 version, 1 request id, 2 domain, 3 address, 4 routing id,
	 * 5 mechanism, 6.. credentials */
	char addr[64], mech[32], curve[KEYS_Z85_LEN + 1], fp[KEYS_FINGERPRINT_LEN + 1];
	struct store_agent_info a;
	int rc;

	if (n < 6 || !frame_is(&fr[0], "1.0") || fr[1].too_long) {
		struct frame none = {.len = 0};

		/* REP must answer every request to read the next one. */
		log_warn("zap: malformed request frames=%d", n);
		send_reply(z, (n >= 2 && !fr[1].too_long) ? &fr[1] : &none, "500",
		           "malformed request", "");
		return;
	}
	frame_text(&fr[3], addr, sizeof(addr));
	frame_text(&fr[5], mech, sizeof(mech));
	if (!frame_is(&fr[2], ZAP_DOMAIN) || !frame_is(&fr[5], "CURVE") || n != 7 ||
	    fr[6].too_long || fr[6].len != 32) {
		log_warn("zap: decision=refuse reason=mechanism mechanism=%s address=%s",
		         LOG_V(mech), LOG_V(addr));
		send_reply(z, &fr[1], "400", "CURVE required", "");
		return;
	}
	if (zmq_z85_encode(curve, fr[6].data, 32) == NULL ||
	    keys_curve_fingerprint_of(curve, fp) < 0) {
		send_reply(z, &fr[1], "500", "bad key", "");
		return;
	}
	rc = store_agent_by_curve(z->store, curve, &a);
	if (rc < 0) {
		log_error("zap: decision=refuse reason=store fingerprint=%s address=%s error=%s",
		          LOG_V(fp), LOG_V(addr), store_errmsg(z->store));
		send_reply(z, &fr[1], "500", "store error", "");
		return;
	}
	if (rc == 0) {
		unknown_key(z, curve, fp, addr);
		send_reply(z, &fr[1], "400", "not approved", "");
		return;
	}
	if (a.status != STORE_AGENT_APPROVED) {
		log_warn("zap: decision=refuse reason=%s agent=%s fingerprint=%s address=%s",
		         store_agent_status_name(a.status), LOG_V(a.name), a.fingerprint,
		         LOG_V(addr));
		send_reply(z, &fr[1], "400", "not approved", "");
		return;
	}
	log_info("zap: decision=accept agent=%s fingerprint=%s address=%s", LOG_V(a.name),
	         a.fingerprint, LOG_V(addr));
	send_reply(z, &fr[1], "200", "OK", a.name);
}

int zap_handle(struct zap *z)
{
	struct frame fr[ZAP_FRAMES_MAX];
	int n = 0, more = 1, ret = 0;

	if (z->run >= RP_CTL_ZAP_BATCH) {
		/* the caller's other sockets get a turn (a flood never starves
		 * the admin socket or the agents); the rest waits for its poll */
		z->run = 0;
		return 1;
	}
	while (more) {
		zmq_msg_t m;
		struct frame dummy = {0}; /* takes the frames past ZAP_FRAMES_MAX */
		struct frame *f = n < ZAP_FRAMES_MAX ? &fr[n] : &dummy;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, z->sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			int e = zmq_errno();

			zmq_msg_close(&m);
			if (n == 0 && (e == EAGAIN || e == EINTR)) {
				z->run = 0;
				return 1;
			}
			log_error("zap: receive: %s", zmq_strerror(e));
			return -1;
		}
		f->len = zmq_msg_size(&m);
		f->too_long = f->len > ZAP_FRAME_MAX;
		if (f->too_long)
			f->len = ZAP_FRAME_MAX;
		memcpy(f->data, zmq_msg_data(&m), f->len);
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
		n++;
	}
	if (n > ZAP_FRAMES_MAX) {
		log_warn("zap: request with too many frames=%d", n);
		fr[0].too_long = 1; /* answered as malformed below */
		n = ZAP_FRAMES_MAX;
	}
	decide(z, fr, n);
	z->run++;
	return ret;
}
