/* agent_internal.h - what the agent's four files share, and only they
 * include: struct agent's layout, the results of one order (struct
 * agent_results), and each part's entry points. agent.c is the public API
 * and the loop; agent_link.c the DEALER socket, its monitor, HELLO and
 * reconnects; agent_orders.c verifying, accepting, queueing, resuming and
 * running orders; agent_results.c signing, batching, spooling, re-sending
 * results and their acks. Everyone else sees agent.h. */
#ifndef RP_AGENT_INTERNAL_H
#define RP_AGENT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "agent_config.h"
#include "spool.h"

struct engine;
struct exclude_list;
struct keys;
struct probe_result;
struct replay_state;
struct wire_order;

/* An order received while another one runs (its bytes, owned). */
struct agent_pending {
	uint8_t *msg;
	size_t len;
};

struct agent {
	struct agent_config cfg;
	struct keys *own, *ctl;
	char ehlo[RP_DOMAIN_MAX + 1];
	atomic_int stop;
	agent_step_fn step_hook; /* tests only */
	void *step_arg;
	/* the link (agent_link.c) */
	void *zctx, *sock, *mon;
	unsigned hello_ms;
	uint64_t next_hello;
	uint64_t reconnect_at; /* 0 = none pending */
	unsigned reconnect_ms; /* backoff of forced reconnects */
	/* orders (agent_orders.c) */
	struct exclude_list *exclude; /* [scope] exclude_file, NULL when none */
	struct replay_state *replay;
	struct spool *inflight; /* accepted orders not yet done: resumed at start */
	char replay_path[AGENT_CONF_PATH_MAX + 80];
	char inflight_path[AGENT_CONF_PATH_MAX + 16];
	struct engine *engine; /* while an order runs */
	bool running;
	struct agent_pending pending[AGENT_PENDING_ORDERS_MAX];
	size_t npending;
	/* results (agent_results.c) */
	struct spool *spool;
	char spool_path[AGENT_CONF_PATH_MAX + 16];
};

/* ---- agent.c ---- */

/* Hands one single-frame message from the controller to the part it is
 * for; everything an agent is not sent is dropped. */
void agent_dispatch(struct agent *a, const uint8_t *msg, size_t len);

/* Calls the test seam (agent_set_step_hook) for one AGENT_STEP_*. */
void agent_step(struct agent *a, const char *name, const char *order_id);

/* ---- agent_link.c ---- */

/* Creates the context, the DEALER socket (CURVE, limits, heartbeats,
 * reconnect) and its monitor, and connects. 0, or -1 with the reason in err;
 * agent_link_close() undoes a partial open. */
int agent_link_open(struct agent *a, char *err, size_t errlen);
void agent_link_close(struct agent *a);

/* Sends one message without blocking: 0, or -1 (logged at debug) when it
 * cannot go now. */
int agent_link_send(struct agent *a, const uint8_t *msg, size_t len);

/* Sends HELLO: id, version, labels, capabilities, signing key, limits. */
void agent_link_hello(struct agent *a);

/* Everything periodic: reads what is waiting (to agent_dispatch), the
 * monitor's events, a reconnect that is due, the HELLO tick. */
void agent_link_tick(struct agent *a);

/* ---- agent_orders.c ---- */

/* An ORDER (or an undecodable message, which the order path rejects and
 * logs): handled now when no order runs, else queued (at most
 * AGENT_PENDING_ORDERS_MAX, copied; more are dropped). */
void agent_orders_take(struct agent *a, const uint8_t *msg, size_t len);

/* Handles the queued orders, oldest first, until agent_stop(). */
void agent_orders_run_pending(struct agent *a);

/* Runs every accepted order an earlier run left unfinished (the in-flight
 * spool), at start. */
void agent_orders_resume(struct agent *a);

/* Frees the queue. */
void agent_orders_clear(struct agent *a);

/* ---- agent_results.c ---- */

/* One order's results not yet spooled, and the digests of those sent, to
 * count the distinct ones. Signed results are stored together
 * (spool_put_many: one flush for the batch, not two fsyncs a result) when
 * the batch is full, on every engine progress call and when the run ends,
 * and only then sent. A crash loses at most the batch, which the resumed
 * order runs again. */
struct agent_batch_item {
	char key[AGENT_SPOOL_KEY_LEN];
	uint8_t *msg;
	size_t len;
};

struct agent_results {
	struct agent *a;
	const struct wire_order *o;
	uint8_t (*digests)[32]; /* spool-key digests, to count distinct results */
	size_t n, cap;
	bool oom;
	struct agent_batch_item batch[SPOOL_BATCH_MAX];
	size_t nbatch;
};

/* Starts the results of order o (borrowed until agent_results_finish). */
void agent_results_begin(struct agent_results *res, struct agent *a, const struct wire_order *o);

/* Signs r (with its transcript, or without it when that is too big), logs
 * it and adds it to the batch (flushed first when full). */
void agent_results_add(struct agent_results *res, const struct probe_result *r);

/* Spools the batch (one flush), then sends its results. */
void agent_results_flush(struct agent_results *res);

/* Flushes the batch, then spools and sends the order's ORDER_DONE (the
 * results go before it); frees what res holds. Returns the count of
 * distinct results the ORDER_DONE carries. */
uint32_t agent_results_finish(struct agent_results *res);

/* Sends every spooled item again (on HELLO). */
void agent_results_resend(struct agent *a);

/* A RESULT_ACK: the acked item leaves the spool. */
void agent_results_ack(struct agent *a, const uint8_t *msg, size_t len);

#endif
