/* store.h - the controller's durable store: one SQLite file in WAL mode with
 * a versioned schema (agents, targets, audits, orders, results; per-target
 * verdicts are computed from results, see docs/store.md). Orders are written
 * before they are sent; results are ingested idempotently on (agent, order,
 * target, address, port). Text fields are capped by RP_STORE_TEXT_MAX, order
 * bodies by RP_STORE_ORDER_MAX, result JSON by RP_STORE_RESULT_MAX. */
#ifndef RP_STORE_H
#define RP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "verdict.h"

struct store;

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

/* Optional explicit transaction grouping many calls under one commit (one
 * fsync): ingest results, then commit, then acknowledge them all. Each call
 * inside is its own savepoint. 0 / -1. */
int store_tx_begin(struct store *s);
int store_tx_commit(struct store *s);
int store_tx_rollback(struct store *s);

/* Agents. Strings are borrowed (in) or valid for the callback only (out). */
struct store_agent {
	int64_t id;
	const char *name;
	const char *curve_public; /* the transport identity: unique */
	const char *ed25519_public;
	const char *fingerprint;
	const char *labels; /* JSON object; NULL = "{}" */
	enum store_agent_status status;
	int64_t first_seen, last_seen;
};

/* Records an agent that said hello. A known CURVE key updates last_seen
 * (and labels when given) and keeps its status; a new key is added as
 * pending. Refused (-1): a known CURVE key with a different Ed25519 key, a
 * name used by another non-revoked agent, a bad field. id and status may be
 * NULL. */
int store_agent_upsert(struct store *s, const struct store_agent *a, int64_t now, int64_t *id,
                       enum store_agent_status *status);
/* pending|approved -> approved; -1 when unknown or revoked. */
int store_agent_approve(struct store *s, int64_t id);
/* any -> revoked; -1 when unknown. */
int store_agent_revoke(struct store *s, int64_t id);
typedef int (*store_agent_cb)(void *arg, const struct store_agent *a);
/* Every agent by id; cb returns non-zero to stop. Returns the number of
 * agents passed, or -1. */
long store_agent_list(struct store *s, store_agent_cb cb, void *arg);
/* The next order sequence number for this agent: monotonic, starts at 1,
 * persisted before it is returned (never reused, even after a crash). */
int store_next_sequence(struct store *s, int64_t agent_id, uint64_t *seq);

/* Targets inventory: (spec, client) is unique; an existing pair returns its
 * id and updates tags. client and tags may be NULL. */
int store_target_add(struct store *s, const char *spec, const char *client, const char *tags,
                     int64_t *id);

/* Audits: params is a JSON object (NULL = "{}"); status starts "running". */
int store_audit_create(struct store *s, const char *params, int64_t now, int64_t *id);
/* status: "running", "done" or "cancelled". */
int store_audit_set_status(struct store *s, int64_t id, const char *status);

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
/* State moves forward only: sent (from pending or sent: a re-send updates
 * sent_at), acked (from pending/sent/acked), done (from any). A call that
 * would move backwards is a no-op returning 0; -1 for an unknown order. */
int store_order_mark_sent(struct store *s, const char *order_id, int64_t now);
int store_order_mark_acked(struct store *s, const char *order_id, int64_t now);
int store_order_mark_done(struct store *s, const char *order_id, int64_t now);
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
#define STORE_ORDER_ID_MAX 128
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

/* One result: one dialog of one order's target at one address. */
struct store_result {
	int64_t agent_id; /* the authenticated sender, not a claim in the body */
	const char *order_id;
	const char *target;  /* as the order named it */
	const char *address; /* NULL or "" when none was reached (unreachable) */
	unsigned port;       /* 0 when none */
	enum dialog_verdict verdict;
	const char *result_json; /* the signed result with its transcript */
	/* What the agent may still earn on this order (0 = no cap): results
	 * stored for one target (its MX hosts x addresses), and result bytes
	 * stored for the whole order. */
	unsigned target_results_max;
	int64_t order_bytes_max;
};

/* Commits the result in its own transaction (or savepoint inside
 * store_tx_begin) and says whether it was new. The order must exist and
 * belong to agent_id. A duplicate of a stored result is always
 * STORE_INGEST_DUPLICATE. A new one is STORE_INGEST_REJECTED (the reason in
 * store_errmsg) when the order is done and its ORDER_DONE declared no more
 * results than are stored, or when it would pass target_results_max or
 * order_bytes_max. A new result counts in the order's results_n and
 * results_bytes and moves its progress_at to now. */
enum store_ingest store_result_ingest(struct store *s, const struct store_result *r, int64_t now);
/* Stored results (all audits), for tests and statistics; -1 on error. */
/* A monotonic total kept in the store ("results_ingested": every new
 * result, never lowered by pruning). 0 for an unknown name, -1 on error. */
long store_counter(struct store *s, const char *name);
long store_result_count(struct store *s);

/* The audit's matrix: one call per target (sorted), with one cell per agent
 * that reported (sorted by agent name; a cell folds the target's addresses,
 * worst verdict first) and the aggregation across those agents (vantage
 * names are the agent names). Everything is valid for the callback only. */
struct store_cell {
	int64_t agent_id;
	const char *agent_name;
	enum dialog_verdict verdict;
};
struct store_matrix_row {
	const char *target;
	size_t ncells;
	const struct store_cell *cells;
	const struct agg_result *agg; /* agg->index refers to cells[] */
};
typedef int (*store_matrix_cb)(void *arg, const struct store_matrix_row *row);
/* Returns the number of target rows passed to cb, or -1. */
long store_audit_matrix(struct store *s, int64_t audit_id, store_matrix_cb cb, void *arg);

#endif
