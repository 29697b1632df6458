/* store_matrix.c - the audit matrix read from the store: results of one
 * audit grouped by target and agent, a cell per (target, agent) folding the
 * target's addresses (worst verdict wins), and the cross-vantage aggregation
 * of aggregate.c per target. Memory grows with one target's cells only. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "store.h"
#include "store_internal.h"

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
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 8;
		struct store_cell *nc = realloc(a->cells, ncap * sizeof(*nc));

		if (nc == NULL)
			return -1;
		a->cells = nc;
		a->cap = ncap;
	}
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
