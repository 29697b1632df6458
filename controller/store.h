/* store.h - the controller's durable store, core: open/close, errors,
 * transactions and the state enums (one SQLite file in WAL mode with a
 * versioned schema; docs/store.md). The interface is split by entity, one
 * header and one file each:
 *   store.h / store.c             core (this), store_schema.c migrations
 *   store_agents.h / .c           agents: upsert, approve, revoke, lookups
 *   store_orders.h / .c           orders, sequences, bodies, order window
 *   store_results.h / .c          audits, result ingest, counters, matrix
 *   store_inventory.h / .c        targets inventory (clients, tags)
 *   store_schedules.h / .c        schedules and their next-run arithmetic
 *   store_history.h / .c          target history and verdict events
 *   store_canary.h / .c           canary references, arrivals, proofs
 *   store_hooks.h / .c            hook deliveries, transcript retention
 *   store_metrics.h / .c          counting queries for /metrics
 *   store_exclude.h / .c          the do-not-test list (exclusions)
 * Text fields are capped by RP_STORE_TEXT_MAX, order bodies by
 * RP_STORE_ORDER_MAX, result JSON by RP_STORE_RESULT_MAX.
 * The interface is plain C (no json_t, no sqlite3 type): what a second
 * backend (PostgreSQL) implements. Lists come out one row at a time through
 * a callback (fn(arg, const struct row *), strings borrowed for the call,
 * non-zero stops the walk), not as caller-freed arrays: the backend hands
 * over its own row memory without copying, a walk's memory does not grow
 * with the list, a caller may stop early, and it is how the older walks
 * (store_agent_list, store_audit_matrix, store_name_cb) already work. */
#ifndef RP_STORE_H
#define RP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "verdict.h"

struct store;

/* An order id: [A-Za-z0-9._-]{1,STORE_ORDER_ID_MAX}. */
#define STORE_ORDER_ID_MAX 128

enum store_agent_status {
	STORE_AGENT_PENDING = 0, /* seen, not admitted: gets nothing */
	STORE_AGENT_APPROVED,
	STORE_AGENT_REVOKED, /* final: a revoked key is never approved again */
	STORE_AGENT_STATUS_COUNT
};

enum store_order_state {
	STORE_ORDER_PENDING = 0, /* written, not yet sent */
	STORE_ORDER_SENT,
	STORE_ORDER_ACKED, /* the agent verified and accepted it */
	STORE_ORDER_DONE,  /* the agent reported it finished */
	STORE_ORDER_STATE_COUNT
};

enum store_ingest {
	STORE_INGEST_NEW = 0,   /* committed now: acknowledge */
	STORE_INGEST_DUPLICATE, /* already committed before: acknowledge, not stored again */
	STORE_INGEST_REJECTED,  /* invalid (unknown order, another agent's order, bad
	                           field): do not store, do not acknowledge */
	STORE_INGEST_ERROR      /* database failure: retry later, do not acknowledge */
};

const char *store_agent_status_name(enum store_agent_status s);
const char *store_order_state_name(enum store_order_state s);
/* The schema version this code creates and understands (PRAGMA user_version). */
int store_schema_version(void);

/* Opens or creates the database at path (a new file is created mode 0600):
 * WAL, synchronous=FULL, foreign keys, busy timeout; applies pending
 * migrations in one transaction. Refuses a database whose user_version is
 * newer than store_schema_version(). NULL on failure with the reason in err. */
struct store *store_open(const char *path, char *err, size_t errlen);
/* Closes and NULLs *s; accepts NULL. A transaction left open rolls back. */
void store_close(struct store **s);
/* The last error on this handle, for logs. */
const char *store_errmsg(const struct store *s);

/* A name (agent, target, schedule) passed to a callback, valid for the
 * call only; the callback returns non-zero to stop the walk. */
typedef int (*store_name_cb)(void *arg, const char *name);

/* Optional explicit transaction grouping many calls under one commit (one
 * fsync): ingest results, then commit, then acknowledge them all. Each call
 * inside is its own savepoint. 0 / -1. */
int store_tx_begin(struct store *s);
int store_tx_commit(struct store *s);
int store_tx_rollback(struct store *s);

#endif
