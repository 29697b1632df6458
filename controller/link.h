/* link.h - the controller's side of the agents' link (link.c): the ROUTER
 * socket (CURVE server, ZAP domain "relayprobe"), the table of live agent
 * sessions, sending, and the acknowledgements a batch of agent messages owes
 * (sent by ctl.c only after the batch's store transaction commits). */
#ifndef RP_LINK_H
#define RP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ctl_internal.h"

/* Agent messages handled under one store transaction before their acks go. */
#define CTL_BATCH_MAX 256

/* An acknowledgement waiting for the batch's commit. */
struct pending_ack {
	uint8_t rid[CTL_RID_MAX];
	size_t rid_len;
	uint8_t *msg;
	size_t len;
};

struct ctl_batch {
	struct pending_ack acks[CTL_BATCH_MAX];
	size_t n;
	size_t bytes; /* agent messages read into this batch */
};

/* The live session of agent_id, or NULL. */
struct ctl_session *link_session_of_agent(struct ctl *c, int64_t agent_id);
/* Heard from within CTL_ALIVE_S of now. */
bool link_session_alive(const struct ctl_session *s, time_t now);
/* The session of the approved agent whose ZAP User-Id is user, on routing id
 * rid: found, or made (a new connection, or the agent's new routing id).
 * NULL when user is no approved agent or the table is full. */
struct ctl_session *link_session_for(struct ctl *c, const uint8_t *rid, size_t rid_len,
                                     const char *user);
/* Forgets the agent's session (its next message makes a fresh one). */
void link_session_drop(struct ctl *c, int64_t agent_id);
/* Creates and binds the ROUTER on endpoint (CURVE server, ZAP, limits).
 * 0 / -1 (logged). */
int link_open(struct ctl *c, const char *endpoint);
/* Closes and binds the ROUTER socket again: every live session drops. */
int link_rebind(struct ctl *c);
/* One message to the peer whose routing id is rid, without blocking.
 * 0 / -1 (zmq_errno() says why). */
int link_send(struct ctl *c, const uint8_t *rid, size_t rid_len, const uint8_t *msg, size_t len);
/* Queues a ResultAck (committed) for s, sent once the batch commits. */
void link_batch_ack(struct ctl_batch *b, const struct ctl_session *s, const char *order_id,
                    const char *target, const char *address, uint32_t port);
#endif
