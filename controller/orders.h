/* orders.h - an order's life at the controller (orders.c): created as an
 * unsigned draft in the store with its audit (orders_create), signed once,
 * when it leaves, with a fresh sequence and validity (orders_pump_all, within
 * each agent's window: orders_window), re-sent when unacknowledged,
 * re-issued a bounded number of times when refused unrun, closed when done,
 * refused for good or stalled. The facts every result is checked against
 * (its agent, body hash, targets) are cached here. */
#ifndef RP_ORDERS_H
#define RP_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_internal.h"
#include "envelope.h"
#include "link.h"

/* A stored order draft: id and agent, for the caller to pump. */
struct orders_made {
	char id[64];
	int64_t agent_id;
};

/* Stores the draft of order k of audit for agent (agent_id, agent_name) with
 * spec (targets and parameters; the canary's tokens are added here when the
 * spec names a canary domain). Inside the caller's transaction; nothing is
 * signed or sent. 0, or -1 with err set. */
int orders_create(struct ctl *c, int64_t audit, int64_t agent_id, const char *agent_name, size_t k,
                  const struct wire_spec *spec, struct orders_made *m, char *err, size_t errlen);
/* Sends a stored signed order to the agent's session and marks it sent.
 * 0 sent, -1 not (no route: the session is dropped). */
int orders_send(struct ctl *c, struct ctl_session *s, const char *order_id, const uint8_t *body,
                size_t len);
/* The order window of an agent whose HELLO said max_orders (Hello.max_orders,
 * 0 = not said): max_orders + 1 (one queued behind the ones it runs), within
 * 1..CTL_ORDER_WINDOW_MAX; CTL_ORDER_WINDOW (2) for 0, an old agent. */
long orders_window(uint32_t max_orders);
/* Marks the agent's session (if any) for orders_pump_all. */
void orders_want_pump(struct ctl *c, int64_t agent_id);
/* Outside any store transaction: for each marked live session, signs its
 * pending orders (fresh sequence and validity), commits them as sent and
 * sends them, oldest first, while fewer than its orders_window() are out. */
void orders_pump_all(struct ctl *c);
/* On HELLO: sends again the agent's unacknowledged orders (all of them on a
 * fresh connection, else those unacked for CTL_RESEND_S). Returns how many. */
int orders_resend(struct ctl *c, struct ctl_session *s, bool all);
/* An OrderAck from s: acked, or a refusal (re-issued or closed). */
void orders_on_ack(struct ctl *c, struct ctl_session *s, const uint8_t *msg, size_t len);
/* An OrderDone from s: closed with its declared result count, acked in b. */
void orders_on_done(struct ctl *c, struct ctl_session *s, struct ctl_batch *b, const uint8_t *msg,
                    size_t len);
/* Closes orders acked without progress for [controller] order_stall. */
void orders_expire_stalled(struct ctl *c);
/* The cached facts of a stored order, loaded on a miss; NULL when there is
 * no such order (or it cannot be read). */
const struct ctl_order_fact *orders_fact(struct ctl *c, const char *order_id);
/* target is one the order named. */
bool orders_fact_has_target(const struct ctl_order_fact *f, const char *target);
/* Empties one cache slot. */
void orders_fact_clear(struct ctl_order_fact *f);

#endif
