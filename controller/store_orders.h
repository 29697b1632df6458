/* store_orders.h - orders on the store (store_orders.c): sequences,
 * orders written before they are sent, forward-only states, the order
 * window, re-signing of pending orders and the hashes of their old bodies.
 * Bodies out are malloc'd (the caller frees) or valid for the callback. */
#ifndef RP_STORE_ORDERS_H
#define RP_STORE_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The next order sequence number for this agent: monotonic, starts at 1,
 * persisted before it is returned (never reused, even after a crash). */
int store_next_sequence(struct store *s, int64_t agent_id, uint64_t *seq);

/* Orders. id is [A-Za-z0-9._-]{1,128}; (agent, sequence) is unique. */
struct store_order {
	const char *id;
	int64_t audit_id;
	int64_t agent_id;
	uint64_t sequence;
	const uint8_t *body; /* the signed envelope, exactly as sent */
	size_t body_len;
	enum store_order_state state; /* out only */
	int64_t created_at, sent_at;  /* sent_at 0 = never */
	uint64_t canary_ref;          /* in: the reference in its canary tokens, 0 = none */
};

/* Writes a new order (state pending) before it is sent. -1 on a duplicate
 * id or sequence, an unknown audit or agent, a bad field. */
int store_order_add(struct store *s, const struct store_order *o, int64_t now);
typedef int (*store_order_cb)(void *arg, const struct store_order *o);
/* The agent's orders still pending or sent (not acknowledged), by sequence:
 * what to (re)send when the agent connects. Returns the count passed to cb
 * (cb returns non-zero to stop), or -1. */
long store_orders_unacked(struct store *s, int64_t agent_id, store_order_cb cb, void *arg);
/* State moves forward only, to `to`: STORE_ORDER_SENT (from pending or
 * sent: a re-send updates sent_at), STORE_ORDER_ACKED (from
 * pending/sent/acked), STORE_ORDER_DONE (from any). A call that would move
 * backwards is a no-op returning 0; -1 for an unknown order or a `to` that
 * is no move (pending). */
int store_order_mark(struct store *s, const char *order_id, enum store_order_state to, int64_t now);
/* The agent's ORDER_DONE: done as above, and the number of results it
 * declared is kept (the first declaration stands), so that results still in
 * flight (re-sent from the agent's spool after a reconnect) are accepted up
 * to that number and none beyond. 0 / -1. */
int store_order_mark_done_declared(struct store *s, const char *order_id, int64_t now,
                                   uint32_t declared);
/* Up to max orders acknowledged by their agent that made no progress (no
 * ack, no new result) since before `before`: their ids (each
 * STORE_ORDER_ID_MAX + 1 bytes, in ids[]) and audits. Returns the count, or
 * -1. */
long store_orders_stalled(struct store *s, int64_t before, char (*ids)[129], int64_t *audits,
                          long max);
int store_order_state(struct store *s, const char *order_id, enum store_order_state *state);

/* Flow control (docs/distributed.md, "Order window"): orders of the agent
 * that are out (sent or acked, not done), or -1. */
long store_orders_outstanding(struct store *s, int64_t agent_id);
/* The agent's pending order with the lowest sequence: its id (copied into
 * id[STORE_ORDER_ID_MAX + 1]), body (malloc'd, caller frees) and reissue
 * count. 1 / 0 none / -1. */
int store_order_next_pending(struct store *s, int64_t agent_id, char *id, uint8_t **body,
                             size_t *body_len, int *reissues);
/* A pending order signed again: new body and sequence, created_at = now,
 * and state 'sent' (sent_at = now), committed before the bytes leave. 0,
 * or -1 (not pending any more, duplicate sequence, database error). */
int store_order_resign_sent(struct store *s, const char *order_id, uint64_t sequence,
                            const uint8_t *body, size_t body_len, int64_t now);
/* The SHA-256 of a body the order had before it was signed again (kept
 * before the new body replaces it), and whether a result's body hash is
 * one of those: results of any copy an agent ran are accepted. 0 / -1;
 * known: 1 / 0 / -1. */
int store_order_body_keep(struct store *s, const char *order_id, const uint8_t sha[32]);
int store_order_body_known(struct store *s, const char *order_id, const uint8_t sha[32]);
/* A sent order whose send failed at once (no route): sent_at back to 0 so
 * the agent's next HELLO re-sends it. 0 / -1. */
int store_order_unsent(struct store *s, const char *order_id);
/* The agent refused a sent order without running it (expired, not yet
 * valid, sequence): back to pending, reissues + 1. 0, or -1. */
int store_order_requeue(struct store *s, const char *order_id);

/* One stored order. body is malloc'd (caller frees). 1 / 0 / -1. */
struct store_order_info {
	int64_t audit_id;
	int64_t agent_id;
	enum store_order_state state;
	uint8_t *body;
	size_t body_len;
	int reissues;     /* times it went back to pending after a refusal */
	int64_t sequence; /* of the stored (current) body */
};
int store_order_get(struct store *s, const char *order_id, struct store_order_info *out);

#endif
