/* zap.c - the controller's ZAP handler: reads RFC 27 requests frame by frame
 * (at most ZAP_FRAMES_MAX frames, each bounded), accepts only mechanism
 * CURVE in domain "relayprobe" with a 32-byte client key, and decides from
 * the store: approved -> 200 + User-Id = name; unknown -> recorded pending,
 * 400; pending or revoked -> 400. One key=value log line per decision. */
#include "zap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "keys.h"
#include "log.h"
#include "store_ext.h"

#define ZAP_FRAMES_MAX 16
#define ZAP_FRAME_MAX  256

struct zap {
	void *sock;
	struct store *store;
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
	if (zp == NULL || *zp == NULL)
		return;
	if ((*zp)->sock != NULL)
		zmq_close((*zp)->sock);
	free(*zp);
	*zp = NULL;
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

/* Records an unknown key as pending. */
static void record_pending(struct zap *z, const char *curve, const char *fp, const char *addr)
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
	a.ed25519_public = STORE_EXT_NO_KEY;
	a.fingerprint = fp;
	a.labels = labels;
	if (store_agent_upsert(z->store, &a, (int64_t)time(NULL), NULL, NULL) < 0)
		log_error("zap: recording pending agent fingerprint=%s failed: %s", LOG_V(fp),
		          store_errmsg(z->store));
}

static void decide(struct zap *z, struct frame *fr, int n)
{
	/* 0 version, 1 request id, 2 domain, 3 address, 4 routing id,
	 * 5 mechanism, 6.. credentials */
	char addr[64], mech[32], curve[KEYS_Z85_LEN + 1], fp[KEYS_FINGERPRINT_LEN + 1];
	struct store_ext_agent a;
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
	rc = store_ext_agent_by_curve(z->store, curve, &a);
	if (rc < 0) {
		log_error("zap: decision=refuse reason=store fingerprint=%s address=%s error=%s",
		          LOG_V(fp), LOG_V(addr), store_errmsg(z->store));
		send_reply(z, &fr[1], "500", "store error", "");
		return;
	}
	if (rc == 0) {
		record_pending(z, curve, fp, addr);
		log_warn(
		    "zap: decision=refuse reason=unknown status=pending fingerprint=%s address=%s",
		    LOG_V(fp), LOG_V(addr));
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

	while (more) {
		zmq_msg_t m;
		struct frame dummy;
		struct frame *f = n < ZAP_FRAMES_MAX ? &fr[n] : &dummy;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, z->sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			int e = zmq_errno();

			zmq_msg_close(&m);
			if (n == 0 && e == EAGAIN)
				return 1;
			if (e == EINTR && n == 0)
				return 1;
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
	return ret;
}
