/* link.c - the agents' ROUTER, their sessions and the batches of their
 * messages (link.h). Every agent message is attributed by its frame's ZAP
 * User-Id, never by a field inside it. */
#include "link.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "control.h"
#include "envelope.h"
#include "log.h"
#include "rp_limits.h"
#include "store_agents.h"

/* ---- sessions ---- */

struct ctl_session *link_session_of_agent(struct ctl *c, int64_t agent_id)
{
	for (size_t i = 0; i < c->nsess; i++)
		if (c->sess[i].agent_id == agent_id)
			return &c->sess[i];
	return NULL;
}

bool link_session_alive(const struct ctl_session *s, time_t now)
{
	return s != NULL && now - s->last_rx <= CTL_ALIVE_S;
}

void link_session_drop(struct ctl *c, int64_t agent_id)
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
struct ctl_session *link_session_for(struct ctl *c, const uint8_t *rid, size_t rid_len,
                                     const char *user_id)
{
	struct store_agent_info a;
	struct ctl_session *s;

	for (size_t i = 0; i < c->nsess; i++) {
		s = &c->sess[i];
		if (s->rid_len == rid_len && memcmp(s->rid, rid, rid_len) == 0 &&
		    strcmp(s->user_id, user_id) == 0)
			return s;
	}
	if (store_agent_find(c->store, user_id, &a) != 1 || strcmp(a.name, user_id) != 0 ||
	    a.status != STORE_AGENT_APPROVED || rid_len == 0 || rid_len > CTL_RID_MAX)
		return NULL;
	s = link_session_of_agent(c, a.id);
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

int link_send(struct ctl *c, const uint8_t *rid, size_t rid_len, const uint8_t *msg, size_t len)
{
	if (zmq_send(c->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -1;
	if (zmq_send(c->router, msg, len, ZMQ_DONTWAIT) < 0)
		return -1;
	return 0;
}

int link_open(struct ctl *c, const char *endpoint)
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
int link_rebind(struct ctl *c)
{
	char ep[sizeof(c->endpoint)];

	snprintf(ep, sizeof(ep), "%s", c->endpoint);
	if (c->router != NULL)
		zmq_close(c->router);
	c->router = NULL;
	c->nsess = 0;
	if (link_open(c, ep) < 0)
		return -1;
	log_info("listen %s rebound: every session dropped", c->endpoint);
	return 0;
}

/* ---- agent messages ---- */

static void queue_ack(struct ctl_batch *b, const struct ctl_session *s, uint8_t *msg, size_t len)
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

void link_batch_ack(struct ctl_batch *b, const struct ctl_session *s, const char *order_id,
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
