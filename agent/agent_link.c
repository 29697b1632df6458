/* agent_link.c - the agent's link to its controller: one DEALER socket
 * (CURVE client, the controller's CURVE key pinned, ZMQ_MAXMSGSIZE =
 * RP_WIRE_MSG_MAX, ZMTP heartbeats, reconnect backoff up to
 * RECONNECT_MAX_MS) and a socket monitor that says when a session is up;
 * HELLO on every new session and every hello interval; sends that never
 * block. Reads at most DRAIN_MAX messages a wake-up; multi-frame messages
 * are dropped whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "agent_internal.h"
#include "clock.h"
#include "control.h"
#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "rp_limits.h"

#define DRAIN_MAX        256 /* messages read per wake-up */
#define LINGER_MS        2000
#define RECONNECT_MIN_MS 1500 /* forced reconnect: after libzmq's own 1 s */
#define RECONNECT_MAX_MS 30000
#define CAPABILITY       "smtp-relay"

/* ---- sending ---- */

/* One single-frame message, never blocking: when the pipe is full the
 * message is dropped (a spooled item goes again on the next HELLO). */
int agent_link_send(struct agent *a, const uint8_t *msg, size_t len)
{
	if (zmq_send(a->sock, msg, len, ZMQ_DONTWAIT) < 0) {
		log_debug("send failed size=%zu error=\"%s\"", len, zmq_strerror(errno));
		return -1;
	}
	return 0;
}

void agent_link_hello(struct agent *a)
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
	h.max_orders = a->cfg.capacity;
	if (wire_ctl_hello_pack(&h, &msg, &len) == 0)
		agent_link_send(a, msg, len);
	else
		log_error("cannot pack HELLO");
	free(msg);
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
			agent_dispatch(a, zmq_msg_data(&m), zmq_msg_size(&m));
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
			agent_link_hello(a);
			agent_results_resend(a);
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

void agent_link_tick(struct agent *a)
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
		agent_link_hello(a);
		agent_results_resend(a);
		a->next_hello = rp_mono_ms() + a->hello_ms;
	}
}

/* ---- setup ---- */

int agent_link_open(struct agent *a, char *err, size_t errlen)
{
	int64_t maxsize = RP_WIRE_MSG_MAX;
	int hb_ivl = 5000, hb_ttl = 30000, hb_timeout = 30000, ivl = 1000, ivl_max = 30000;
	int linger = LINGER_MS;
	char mon_ep[64];

	a->reconnect_ms = RECONNECT_MIN_MS;
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

void agent_link_close(struct agent *a)
{
	if (a->sock != NULL)
		zmq_socket_monitor(a->sock, NULL, 0);
	if (a->mon != NULL)
		zmq_close(a->mon);
	if (a->sock != NULL)
		zmq_close(a->sock);
	if (a->zctx != NULL)
		zmq_ctx_term(a->zctx);
	a->mon = a->sock = a->zctx = NULL;
}
