/* store_results.h - audits and results on the store (store_results.c):
 * audit rows and counters, idempotent ingest with quotas, monotonic
 * counters, the reads of an audit's results and the matrix. Everything
 * passed to a callback is valid for the call only. */
#ifndef RP_STORE_RESULTS_H
#define RP_STORE_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "store.h"
#include "verdict.h"

/* Audits: params is a JSON object (NULL = "{}"); status starts "running". */
int store_audit_create(struct store *s, const char *params, int64_t now, int64_t *id);
/* status: "running", "done" or "cancelled". */
int store_audit_set_status(struct store *s, int64_t id, const char *status);

/* Audit counters; status copied into status[16]. 1 / 0 (no such audit) / -1. */
int store_audit_status(struct store *s, int64_t audit, char status[16], long *orders, long *done,
                       long *results);
/* Newest audit id: 1 / 0 (none) / -1. */
int store_audit_latest(struct store *s, int64_t *audit);
/* Sets the audit "done" when every one of its orders is done. 1 when it is
 * (now or before), 0 when not, -1 on error. */
int store_audit_complete(struct store *s, int64_t audit);

/* Names of the agents with orders in the audit, sorted. cb returns non-zero
 * to stop. Count or -1. */
long store_audit_vantages(struct store *s, int64_t audit, store_name_cb cb, void *arg);
/* result_json of the audit's results for target, from the agent named
 * vantage (NULL = every agent, then name says whose), in arrival order. */
typedef int (*store_accepted_cb)(void *arg, const char *target, const char *agent_name,
                                 const char *test_id);
/* Every accepted relay test of an audit's open results (of target only,
 * unless NULL), in one query: the
 * ids come out of the stored JSON inside SQLite (json_each), only for rows
 * whose verdict is open, so a report never parses closed results. */
long store_audit_accepted(struct store *s, int64_t audit, const char *target, store_accepted_cb cb,
                          void *arg);
/* The software the controller read from each of the audit's results at
 * ingest, in one query: cb(arg, target, software, confidence) with the names
 * of fp_software_name() and fp_confidence_name() (the callback type of the
 * accepted tests, its last two strings these), only for results that have
 * one (none before schema 8); of target only unless NULL. Rows passed, or -1. */
long store_audit_software(struct store *s, int64_t audit, const char *target, store_accepted_cb cb,
                          void *arg);

/* A stored result met by a walk over an audit's results: its cell (target,
 * agent) and row id; only these are read (and sorted), the JSON is read one
 * result at a time with store_result_json(), so a walk's memory does not
 * grow with the size of the transcripts. Valid for the callback only. */
struct store_result_ref {
	const char *target;
	const char *agent_name;
	int64_t agent_id;
	int64_t id; /* results.id: the paging cursor */
};
typedef int (*store_result_ref_cb)(void *arg, const struct store_result_ref *ref);
/* The results with id > after (0: all) of target in the audit from the agent
 * named vantage (NULL = every agent), in arrival (id) order. cb returns
 * non-zero to stop. Rows passed, or -1. */
long store_audit_results(struct store *s, int64_t audit, const char *target, const char *vantage,
                         int64_t after, store_result_ref_cb cb, void *arg);

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
	/* Read from the transcript by the controller (fp_software_name(),
	 * fp_confidence_name()); NULL when not known. */
	const char *software, *software_confidence;
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

/* Bulk transcripts: the audit's (target, agent) cells that have results,
 * ordered by target then agent name (then agent id). count: how many; page:
 * the results of cells [offset, offset + limit), each cell's in id order. */
long store_audit_cells_count(struct store *s, int64_t audit);
long store_audit_cells_page(struct store *s, int64_t audit, long offset, long limit,
                            store_result_ref_cb cb, void *arg);

/* The stored JSON text of result id (len bytes, NUL-terminated, valid JSON:
 * the schema CHECKs it), passed to cb and valid for the call only. 1 when
 * passed (2 when cb returned non-zero), 0 when there is no such result, -1
 * on a database error. */
typedef int (*store_text_cb)(void *arg, const char *text, size_t len);
int store_result_json(struct store *s, int64_t id, store_text_cb cb, void *arg);

#endif
