/* zap.h - the controller's ZAP handler (RFC 27): a REP socket on
 * inproc://zeromq.zap.01 in the controller's ZeroMQ context, served from the
 * main loop. Admits CURVE clients whose key the store has approved (User-Id =
 * agent name); records unknown keys as pending (capped in all and per peer
 * address, rp_limits.h); refuses everything else.
 * Borrows the context and the store; owns the REP socket. */
#ifndef RP_ZAP_H
#define RP_ZAP_H

#include <stddef.h>

#include "store.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN   "relayprobe"

struct zap;

/* Binds the handler; must run before any socket with a ZAP domain binds.
 * NULL with the reason in err. */
struct zap *zap_new(void *zmq_ctx, struct store *store, char *err, size_t errlen);
/* The REP socket, for zmq_poll. */
void *zap_socket(struct zap *z);
/* Reads one request (non-blocking) and answers it. 0 when one was handled,
 * 1 when none was waiting or RP_CTL_ZAP_BATCH were handled in a row (poll
 * again: the caller's other sockets get their turn), -1 on a socket error. */
int zap_handle(struct zap *z);
/* Unknown keys recorded as pending, and refused unrecorded because
 * RP_CTL_PENDING_MAX were pending (or the store failed) or their peer was
 * over RP_CTL_PENDING_PER_PEER_MIN. */
struct zap_counters {
	unsigned long recorded, refused_full, refused_rate;
};
void zap_counters(const struct zap *z, struct zap_counters *out);
/* Closes the socket and NULLs *z; NULL ok. */
void zap_free(struct zap **z);

#endif
