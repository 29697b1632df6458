/* agent.h - the relayprobe-agent loop: one DEALER socket (CURVE client,
 * pinned controller key) dialling out to the controller; HELLO on start,
 * on every (re)connection and every hello interval; orders verified
 * (wire_order_verify), kept in flight and recorded in the replay state
 * (both fsync'ed, in that order), acked, then run with
 * the probe engine within the agent's limits and scope; every result signed,
 * spooled and sent, and re-sent until acked. Owns its sockets, keys, replay
 * state and spool. Bounds: AGENT_PENDING_ORDERS_MAX orders queued mid-run. */
#ifndef RP_AGENT_H
#define RP_AGENT_H

#include <stddef.h>

#include "agent_config.h"

/* HELLO (and spool re-send) interval, ms. */
#define AGENT_HELLO_INTERVAL_MS 10000
/* Clock skew allowed on orders' time windows, ms. */
#define AGENT_ORDER_SKEW_MS 60000
/* Lowest protocol version accepted in an order. */
#define AGENT_MIN_PROTOCOL 1
/* Orders received while another one runs, kept for later (more are dropped:
 * the controller re-sends what is not acked). */
#define AGENT_PENDING_ORDERS_MAX 16
/* Capacity of a spool key buffer ("r-" or "d-" and 64 hex digits). */
#define AGENT_SPOOL_KEY_LEN 72

struct agent;

/* Loads the keys (own .secret, controller .pub), the replay state
 * (STATE/replay) and opens the spool (STATE/spool), creating STATE (mode
 * 0700) when missing; creates the socket and connects (no listening port).
 * NULL with the reason in err. cfg is copied. */
struct agent *agent_new(const struct agent_config *cfg, char *err, size_t errlen);
void agent_free(struct agent **a);

/* Overrides AGENT_HELLO_INTERVAL_MS (tests). */
void agent_set_hello_interval(struct agent *a, unsigned ms);

/* The durable steps of an order, in the order they happen: its in-flight
 * copy fsync'ed, its id in the replay state, its ORDER_ACK sent, its run
 * over (ORDER_DONE spooled) with the in-flight copy not yet removed. */
#define AGENT_STEP_INFLIGHT_SAVED "inflight-saved"
#define AGENT_STEP_REPLAY_SAVED   "replay-saved"
#define AGENT_STEP_ACKED          "acked"
#define AGENT_STEP_DONE           "done"
typedef void (*agent_step_fn)(const char *step, const char *order_id, void *arg);

/* Test seam: fn is called right after each AGENT_STEP_* of every order
 * (NULL, the default and what the daemon uses: none). A test _exit()s in it
 * to crash the agent at that step. */
void agent_set_step_hook(struct agent *a, agent_step_fn fn, void *arg);

/* Runs until agent_stop(): 0, or -1 on a fatal error (logged). */
int agent_run(struct agent *a);

/* Async-signal-safe and thread-safe: asks agent_run() to return; an order in
 * progress is stopped (dialogs end with what they have), its results and its
 * ORDER_DONE are spooled before agent_run() returns. */
void agent_stop(struct agent *a);

/* This agent's id (its key name). */
const char *agent_id(const struct agent *a);

/* The spool key of a result (order, target, address, port), or of an
 * order's ORDER_DONE when target is "" (address "" and port 0): the same key
 * a ResultAck with those fields removes. out >= AGENT_SPOOL_KEY_LEN. */
void agent_spool_key(const char *order_id, const char *target, const char *address, unsigned port,
                     char *out, size_t outlen);

#endif
