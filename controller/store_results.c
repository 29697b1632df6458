/* store_results.c - audits and results on the store (store_results.h):
 * audit rows and counters, idempotent result ingest with per-target and
 * per-order quotas, the monotonic counters, the reads of an audit's results
 * (vantages, accepted tests, cells, one result's JSON) and the matrix
 * (addresses folded worst-first, aggregate.c across agents; memory grows
 * with one target's cells only). Fields capped by RP_STORE_* (rp_limits.h). */
#include "store_results.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "rp_grow.h"
#include "rp_limits.h"
#include "store_internal.h"
#include "syntax.h"
#include "target.h"

int store_audit_create(struct store *s, const char *params, int64_t now, int64_t *id)
{
	if (params != NULL && strnlen(params, RP_STORE_RESULT_MAX + 1) > RP_STORE_RESULT_MAX) {
		store_fail(s, "audit: params too long");
		return -1;
	}
	return store_one_int64(
	           s, "INSERT INTO audits (created_at, params) VALUES (?1, ?2) RETURNING id",
	           STORE_ARGS(SA_INT(now), SA_TEXT(params ? params : "{}")),
	           id ? id : &(int64_t){0}, "audit create") == 1
	           ? 0
	           : -1;
}

int store_audit_set_status(struct store *s, int64_t id, const char *status)
{
	return store_run_one(s, "UPDATE audits SET status = ?1 WHERE id = ?2",
	                     STORE_ARGS(SA_TEXT(status), SA_INT(id)), "audit status");
}

struct audit_counts {
	char *status;
	long *orders, *done, *results;
};

static int audit_status_row(void *arg, sqlite3_stmt *st)
{
	struct audit_counts *a = arg;

	store_copy_col(st, 0, a->status, 16);
	*a->orders = (long)sqlite3_column_int64(st, 1);
	*a->done = (long)sqlite3_column_int64(st, 2);
	*a->results = (long)sqlite3_column_int64(st, 3);
	return 0;
}

int store_audit_status(struct store *s, int64_t audit, char status[16], long *orders, long *done,
                       long *results)
{
	struct audit_counts a = {status, orders, done, results};

	return store_first(
	    s,
	    "SELECT a.status,"
	    " (SELECT count(*) FROM orders o WHERE o.audit_id = a.id),"
	    " (SELECT count(*) FROM orders o WHERE o.audit_id = a.id AND o.state = 'done'),"
	    " (SELECT count(*) FROM results r JOIN orders o ON o.id = r.order_id"
	    "   WHERE o.audit_id = a.id)"
	    " FROM audits a WHERE a.id = ?1",
	    STORE_ARGS(SA_INT(audit)), audit_status_row, &a, "audit status");
}

int store_audit_latest(struct store *s, int64_t *audit)
{
	return store_one_int64(s, "SELECT id FROM audits ORDER BY id DESC LIMIT 1", STORE_NOARGS,
	                       audit, "audit latest");
}

int store_audit_complete(struct store *s, int64_t audit)
{
	char status[16];
	long orders = 0, done = 0, results = 0;
	int rc = store_audit_status(s, audit, status, &orders, &done, &results);

	if (rc <= 0)
		return rc;
	if (strcmp(status, "done") == 0)
		return 1;
	if (orders == 0 || done < orders)
		return 0;
	return store_audit_set_status(s, audit, "done") < 0 ? -1 : 1;
}

/* Field checks before anything touches the database. */
static int result_ok(struct store *s, const struct store_result *r)
{
	if (!rp_id_ok(RP_ID_ORDER, r->order_id) || !store_text_ok(r->target, RP_TARGET_LINE_MAX) ||
	    (r->address != NULL && strnlen(r->address, 65) > 64) || r->port > 65535 ||
	    (unsigned)r->verdict >= DV_COUNT || r->result_json == NULL ||
	    strnlen(r->result_json, RP_STORE_RESULT_MAX + 1) > RP_STORE_RESULT_MAX) {
		store_fail(s, "result: missing, malformed or oversize field");
		return 0;
	}
	return 1;
}

/* The order's row for an ingest: 1 with the facts, 0 refused (reason set),
 * -1 on a database error. */
struct ingest_order {
	bool done;
	int64_t n, bytes, declared; /* declared -1: none yet */
};

static int ingest_order(struct store *s, const struct store_result *r, struct ingest_order *io)
{
	sqlite3_stmt *st = store_prep(s, "SELECT agent_id, state, results_n, results_bytes,"
	                                 " results_declared FROM orders WHERE id = ?");
	int rc, ret = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, r->order_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) != r->agent_id)) {
		store_fail(s, "result: order %s %s", r->order_id,
		           rc == SQLITE_DONE ? "unknown" : "belongs to another agent");
		ret = 0;
	} else if (rc == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 1);

		io->done = state != NULL && strcmp(state, "done") == 0;
		io->n = sqlite3_column_int64(st, 2);
		io->bytes = sqlite3_column_int64(st, 3);
		io->declared =
		    sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
		ret = 1;
	} else {
		store_db_fail(s, "result: order lookup");
	}
	store_done(s, st);
	return ret;
}

/* Results of the order already stored for r's target, or for r's exact key
 * (exact): a count, or -1. */
static long results_of_target(struct store *s, const struct store_result *r, bool exact)
{
	const struct store_arg args[] = {SA_TEXT(r->order_id), SA_INT(r->agent_id),
	                                 SA_TEXT(r->target), SA_TEXT(r->address ? r->address : ""),
	                                 SA_INT(r->port)};
	int64_t n = -1;

	if (store_one_int64(s,
	                    exact ? "SELECT count(*) FROM results WHERE order_id = ?1 AND"
	                            " agent_id = ?2 AND target = ?3 AND address = ?4 AND port = ?5"
	                          : "SELECT count(*) FROM results WHERE order_id = ?1 AND"
	                            " agent_id = ?2 AND target = ?3",
	                    args, exact ? 5 : 3, &n, "result: count") < 0)
		return -1;
	return n >= 0 ? (long)n : store_db_fail(s, "result: count");
}

/* The quota checks of a new result; STORE_INGEST_NEW when it may be
 * stored. */
static enum store_ingest ingest_allowed(struct store *s, const struct store_result *r,
                                        const struct ingest_order *io, size_t len)
{
	long n;

	if (io->done && (io->declared < 0 || io->n >= io->declared)) {
		store_fail(s, "result: order %s is done (%lld results stored, %lld declared)",
		           r->order_id, (long long)io->n,
		           (long long)(io->declared < 0 ? 0 : io->declared));
		return STORE_INGEST_REJECTED;
	}
	if (r->order_bytes_max > 0 && io->bytes + (int64_t)len > r->order_bytes_max) {
		store_fail(s, "result: order %s over its quota of %lld result bytes", r->order_id,
		           (long long)r->order_bytes_max);
		return STORE_INGEST_REJECTED;
	}
	if (r->target_results_max > 0) {
		if ((n = results_of_target(s, r, false)) < 0)
			return STORE_INGEST_ERROR;
		if (n >= (long)r->target_results_max) {
			store_fail(
			    s, "result: order %s target %s already has %ld results (at most %u)",
			    r->order_id, r->target, n, r->target_results_max);
			return STORE_INGEST_REJECTED;
		}
	}
	return STORE_INGEST_NEW;
}

enum store_ingest store_result_ingest(struct store *s, const struct store_result *r, int64_t now)
{
	enum store_ingest res = STORE_INGEST_ERROR;
	struct ingest_order io = {0};
	size_t len;
	sqlite3_stmt *st;
	int outer, rc;
	long dup;

	if (!result_ok(s, r))
		return STORE_INGEST_REJECTED;
	len = strlen(r->result_json);
	outer = sqlite3_get_autocommit(s->db);
	if (store_work_begin(s) < 0)
		return STORE_INGEST_ERROR;
	/* Only the agent an order was addressed to may report on it. */
	rc = ingest_order(s, r, &io);
	if (rc <= 0) {
		res = rc == 0 ? STORE_INGEST_REJECTED : STORE_INGEST_ERROR;
		goto out;
	}
	/* A duplicate is acknowledged whatever the order's state now. */
	if ((dup = results_of_target(s, r, true)) != 0) {
		res = dup > 0 ? STORE_INGEST_DUPLICATE : STORE_INGEST_ERROR;
		goto out;
	}
	if ((res = ingest_allowed(s, r, &io, len)) != STORE_INGEST_NEW)
		goto out;
	res = STORE_INGEST_ERROR;
	st =
	    store_prep(s, "INSERT INTO results (agent_id, order_id, target, address, port, verdict,"
	                  " result_json, received_at, software, software_confidence)"
	                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, r->agent_id);
	sqlite3_bind_text(st, 2, r->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->address ? r->address : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, (int)r->port);
	sqlite3_bind_text(st, 6, dialog_verdict_name(r->verdict), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->result_json, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	sqlite3_bind_text(st, 9, r->software, -1, SQLITE_STATIC); /* NULL binds NULL */
	sqlite3_bind_text(st, 10, r->software_confidence, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		res = STORE_INGEST_NEW;
	else if ((rc & 0xff) == SQLITE_CONSTRAINT)
		res = STORE_INGEST_REJECTED; /* e.g. result_json is not JSON */
	if (rc != SQLITE_DONE)
		store_db_fail(s, "result insert");
	store_done(s, st);
	if (res == STORE_INGEST_NEW) {
		/* In the same transaction: the order's quota and progress, and
		 * the total that survives result pruning. */
		st = store_prep(s, "UPDATE orders SET results_n = results_n + 1,"
		                   " results_bytes = results_bytes + ?1,"
		                   " progress_at = max(progress_at, ?2) WHERE id = ?3");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, (int64_t)len);
			sqlite3_bind_int64(st, 2, now);
			sqlite3_bind_text(st, 3, r->order_id, -1, SQLITE_STATIC);
		}
		if (st == NULL || store_step_done(s, st, "order quota") < 0)
			res = STORE_INGEST_ERROR;
	}
	if (res == STORE_INGEST_NEW &&
	    store_canary_on_result(s, sqlite3_last_insert_rowid(s->db), r->order_id, r->target) < 0)
		res = STORE_INGEST_ERROR;
	if (res == STORE_INGEST_NEW) {
		if (store_run(
		        s, "UPDATE counters SET value = value + 1 WHERE name = 'results_ingested'",
		        STORE_NOARGS, "results counter") < 0)
			res = STORE_INGEST_ERROR;
	}
out:
	/* Committed (and fsync'ed) before the caller may acknowledge. */
	if (store_work_end(s, res == STORE_INGEST_NEW || res == STORE_INGEST_DUPLICATE, outer) <
	        0 &&
	    res != STORE_INGEST_REJECTED)
		res = STORE_INGEST_ERROR;
	return res;
}

long store_counter(struct store *s, const char *name)
{
	int64_t n = 0;

	if (store_one_int64(s, "SELECT value FROM counters WHERE name = ?1",
	                    STORE_ARGS(SA_TEXT(name)), &n, "counter") < 0)
		return -1;
	return n >= 0 ? (long)n : store_db_fail(s, "counter");
}

long store_result_count(struct store *s)
{
	return store_count_rows(s, "SELECT count(*) FROM results", "result count");
}

long store_audit_vantages(struct store *s, int64_t audit, store_name_cb cb, void *arg)
{
	sqlite3_stmt *st = store_query(s,
	                               "SELECT DISTINCT a.name FROM orders o"
	                               " JOIN agents a ON a.id = o.agent_id"
	                               " WHERE o.audit_id = ?1 ORDER BY a.name",
	                               STORE_ARGS(SA_INT(audit)));

	return st == NULL ? -1 : store_names(s, st, cb, arg, "audit vantages");
}

/* Each row (columns target, agent name, agent id, result id) passed to cb
 * (non-zero stops). Only ids are selected, so a sort never holds
 * transcripts. */
struct refs {
	store_result_ref_cb cb;
	void *arg;
};

static int ref_row(void *arg, sqlite3_stmt *st)
{
	struct refs *w = arg;
	struct store_result_ref ref = {.target = (const char *)sqlite3_column_text(st, 0),
	                               .agent_name = (const char *)sqlite3_column_text(st, 1),
	                               .agent_id = sqlite3_column_int64(st, 2),
	                               .id = sqlite3_column_int64(st, 3)};

	if (ref.target == NULL || ref.agent_name == NULL)
		return 1;
	return w->cb(w->arg, &ref);
}

long store_audit_results(struct store *s, int64_t audit, const char *target, const char *vantage,
                         int64_t after, store_result_ref_cb cb, void *arg)
{
	struct refs w = {cb, arg};

	return store_each(
	    s,
	    "SELECT r.target, a.name, r.agent_id, r.id FROM results r"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN agents a ON a.id = r.agent_id"
	    " WHERE o.audit_id = ?1 AND r.target = ?2"
	    " AND (?3 IS NULL OR a.name = ?3) AND r.id > ?4"
	    " ORDER BY r.id",
	    STORE_ARGS(SA_INT(audit), SA_TEXT(target), SA_TEXT(vantage), SA_INT(after)), ref_row,
	    &w, "audit results");
}

struct accepted {
	store_accepted_cb cb;
	void *arg;
};

static int accepted_row(void *arg, sqlite3_stmt *st)
{
	struct accepted *w = arg;

	return w->cb(w->arg, (const char *)sqlite3_column_text(st, 0),
	             (const char *)sqlite3_column_text(st, 1),
	             (const char *)sqlite3_column_text(st, 2));
}

long store_audit_accepted(struct store *s, int64_t audit, const char *target, store_accepted_cb cb,
                          void *arg)
{
	struct accepted w = {cb, arg};

	return store_each(
	    s,
	    "SELECT r.target, a.name, j.value ->> 'id' FROM results r"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN agents a ON a.id = r.agent_id,"
	    " json_each(r.result_json, '$.tests') j"
	    " WHERE o.audit_id = ?1 AND (?2 IS NULL OR r.target = ?2)"
	    " AND r.verdict IN ('open', 'open-confirmed', 'accepted-not-delivered')"
	    " AND j.value ->> 'outcome' = 'accepted' AND typeof(j.value ->> 'id') = 'text'"
	    " ORDER BY r.id, j.key",
	    STORE_ARGS(SA_INT(audit), SA_TEXT(target)), accepted_row, &w, "audit accepted tests");
}

long store_audit_software(struct store *s, int64_t audit, const char *target, store_accepted_cb cb,
                          void *arg)
{
	struct accepted w = {cb, arg};

	return store_each(s,
	                  "SELECT r.target, r.software, r.software_confidence FROM results r"
	                  " JOIN orders o ON o.id = r.order_id"
	                  " WHERE o.audit_id = ?1 AND (?2 IS NULL OR r.target = ?2)"
	                  " AND r.software IS NOT NULL"
	                  " AND r.software_confidence IS NOT NULL ORDER BY r.id",
	                  STORE_ARGS(SA_INT(audit), SA_TEXT(target)), accepted_row, &w,
	                  "audit software");
}

/* The audit's (target, agent) cells with results, ordered by target and
 * agent name (and id: names of revoked agents may repeat); the page is cut
 * in SQL so only its results are read, each cell's through the audit's
 * orders of that agent and the results' unique index (agent_id, order_id,
 * target, ...): CROSS JOIN keeps SQLite from scanning every result the
 * agent ever sent instead (seconds per page at 10,000 targets). */
#define CELLS_SQL                                                                                  \
	"SELECT DISTINCT r.target AS target, a.name AS name, r.agent_id AS agent_id"               \
	" FROM results r JOIN orders o ON o.id = r.order_id JOIN agents a ON a.id = r.agent_id"    \
	" WHERE o.audit_id = ?1"

long store_audit_cells_count(struct store *s, int64_t audit)
{
	int64_t n = -1;

	if (store_one_int64(s, "SELECT count(*) FROM (" CELLS_SQL ")", STORE_ARGS(SA_INT(audit)),
	                    &n, "audit cells") < 0)
		return -1;
	return n >= 0 ? (long)n : store_db_fail(s, "audit cells");
}

long store_audit_cells_page(struct store *s, int64_t audit, long offset, long limit,
                            store_result_ref_cb cb, void *arg)
{
	struct refs w = {cb, arg};

	return store_each(s,
	                  "WITH cells AS MATERIALIZED (" CELLS_SQL
	                  " ORDER BY target, name, agent_id LIMIT ?3 OFFSET ?2)"
	                  " SELECT c.target, c.name, c.agent_id, r.id FROM cells c"
	                  " CROSS JOIN orders o INDEXED BY orders_by_audit"
	                  " ON o.audit_id = ?1 AND o.agent_id = c.agent_id"
	                  " CROSS JOIN results r ON r.agent_id = c.agent_id AND r.order_id = o.id"
	                  " AND r.target = c.target"
	                  " ORDER BY c.target, c.name, c.agent_id, r.id",
	                  STORE_ARGS(SA_INT(audit), SA_INT(offset), SA_INT(limit)), ref_row, &w,
	                  "audit cells page");
}

int store_result_json(struct store *s, int64_t id, store_text_cb cb, void *arg)
{
	sqlite3_stmt *st = store_prep(s, "SELECT result_json FROM results WHERE id = ?1");
	const char *text;
	int rc, ret = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (text = (const char *)sqlite3_column_text(st, 0)) != NULL)
		ret = cb(arg, text, (size_t)sqlite3_column_bytes(st, 0)) != 0 ? 2 : 1;
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "result json");
	return ret;
}

/* One target's cells while the matrix query walks its rows. */
struct row_acc {
	char *target;
	struct store_cell *cells;
	size_t n, cap;
};

static void acc_reset(struct row_acc *a)
{
	for (size_t i = 0; i < a->n; i++)
		free((char *)a->cells[i].agent_name);
	free(a->target);
	a->target = NULL;
	a->n = 0;
}

/* Aggregates the accumulated target and hands it to cb (counted in *rows);
 * 0 = go on, 1 = stop, -1 = error. */
static int acc_flush(struct row_acc *a, store_matrix_cb cb, void *arg, long *rows)
{
	struct agg_vantage *v;
	struct agg_result agg;
	struct store_matrix_row row;
	int stop;

	if (a->target == NULL)
		return 0;
	v = calloc(a->n ? a->n : 1, sizeof(*v));
	if (v == NULL)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		v[i].name = a->cells[i].agent_name;
		v[i].verdict = a->cells[i].verdict;
	}
	if (aggregate_verdicts(v, a->n, &agg) < 0) {
		free(v);
		return -1;
	}
	row.target = a->target;
	row.ncells = a->n;
	row.cells = a->cells;
	row.agg = &agg;
	stop = cb(arg, &row);
	(*rows)++;
	aggregate_clear(&agg);
	free(v);
	acc_reset(a);
	return stop != 0;
}

/* Adds one (target, agent, address) verdict: a new cell, or folded into the
 * agent's cell for this target (worst verdict across addresses). */
static int acc_add(struct row_acc *a, int64_t agent_id, const char *name,
                   enum dialog_verdict verdict)
{
	struct store_cell *c;

	if (a->n > 0 && a->cells[a->n - 1].agent_id == agent_id) {
		c = &a->cells[a->n - 1];
		if (aggregate_rank(verdict) > aggregate_rank(c->verdict))
			c->verdict = verdict;
		return 0;
	}
	if (rp_grow(&a->cells, &a->cap, a->n, 8) < 0)
		return -1;
	c = &a->cells[a->n];
	c->agent_id = agent_id;
	c->verdict = verdict;
	c->agent_name = strdup(name ? name : "");
	if (c->agent_name == NULL)
		return -1;
	a->n++;
	return 0;
}

long store_audit_matrix(struct store *s, int64_t audit_id, store_matrix_cb cb, void *arg)
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT target, agent_id, agent_name, verdict FROM audit_cells"
	                  " WHERE audit_id = ? ORDER BY target, agent_name, agent_id");
	struct row_acc acc = {0};
	long rows = 0;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, audit_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *target = (const char *)sqlite3_column_text(st, 0);
		int v = dialog_verdict_from_name((const char *)sqlite3_column_text(st, 3));

		if (target == NULL)
			continue;
		if (acc.target != NULL && strcmp(acc.target, target) != 0) {
			r = acc_flush(&acc, cb, arg, &rows);
			if (r != 0)
				break;
		}
		if (acc.target == NULL && (acc.target = strdup(target)) == NULL) {
			r = -1;
			break;
		}
		if (acc_add(&acc, sqlite3_column_int64(st, 1),
		            (const char *)sqlite3_column_text(st, 2),
		            v < 0 ? DV_ERROR : (enum dialog_verdict)v) < 0) {
			r = -1;
			break;
		}
	}
	if (r == 0 && rc == SQLITE_DONE)
		r = acc_flush(&acc, cb, arg, &rows);
	store_done(s, st);
	acc_reset(&acc);
	free(acc.cells);
	if (r < 0 || (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)) {
		store_fail(s, "audit matrix: %s", r < 0 ? "out of memory" : sqlite3_errstr(rc));
		return -1;
	}
	return rows;
}
