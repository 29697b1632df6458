/* store_metrics.c - the counting queries behind the controller's metrics
 * endpoint (store_metrics.h): GROUP BY counts over agents, orders and
 * results, the newest finished audit's times, a target's clients. Every
 * statement comes from store_prep() and is handed back with store_done(). */
#include "store_metrics.h"

#include <string.h>

#include "store_internal.h"

/* Runs a two-column "name, count" query and adds each count to counts[] at
 * the index name_of() gives (rows with an unknown name are skipped). */
static int group_counts(struct store *s, const char *sql, long *counts, int n,
                        const char *(*name_of)(int))
{
	sqlite3_stmt *st = store_prep(s, sql);
	int rc;

	if (st == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		counts[i] = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		for (int i = 0; name != NULL && i < n; i++)
			if (strcmp(name, name_of(i)) == 0) {
				counts[i] += (long)sqlite3_column_int64(st, 1);
				break;
			}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "metrics count");
}

static const char *agent_name(int i)
{
	return store_agent_status_name((enum store_agent_status)i);
}

static const char *order_name(int i)
{
	return store_order_state_name((enum store_order_state)i);
}

static const char *verdict_name(int i)
{
	return dialog_verdict_name((enum dialog_verdict)i);
}

int store_metrics_agents(struct store *s, long counts[STORE_AGENT_STATUS_COUNT])
{
	return group_counts(s, "SELECT status, count(*) FROM agents GROUP BY status", counts,
	                    STORE_AGENT_STATUS_COUNT, agent_name);
}

int store_metrics_orders(struct store *s, long counts[STORE_ORDER_STATE_COUNT])
{
	return group_counts(s, "SELECT state, count(*) FROM orders GROUP BY state", counts,
	                    STORE_ORDER_STATE_COUNT, order_name);
}

int store_metrics_verdicts(struct store *s, long counts[DV_COUNT])
{
	return group_counts(s, "SELECT verdict, count(*) FROM results GROUP BY verdict", counts,
	                    DV_COUNT, verdict_name);
}

int store_metrics_last_audit(struct store *s, int64_t *id, int64_t *created_at, int64_t *last_at)
{
	sqlite3_stmt *st = store_prep(
	    s, "SELECT a.id, a.created_at,"
	       " (SELECT max(r.received_at) FROM results r JOIN orders o ON o.id = r.order_id"
	       "  WHERE o.audit_id = a.id),"
	       " (SELECT max(done_at) FROM orders WHERE audit_id = a.id)"
	       " FROM audits a WHERE a.status = 'done' ORDER BY a.id DESC LIMIT 1");
	int rc, found = 0;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		found = 1;
		*id = sqlite3_column_int64(st, 0);
		*created_at = sqlite3_column_int64(st, 1);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			*last_at = sqlite3_column_int64(st, 2);
		else if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			*last_at = sqlite3_column_int64(st, 3);
		else
			*last_at = *created_at;
		if (*last_at < *created_at)
			*last_at = *created_at;
		rc = SQLITE_DONE;
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? found : store_db_fail(s, "metrics last audit");
}

long store_metrics_target_clients(struct store *s, const char *spec, store_metrics_client_cb cb,
                                  void *arg)
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT client FROM targets WHERE spec = ?1 ORDER BY client");
	long n = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, spec, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *client = (const char *)sqlite3_column_text(st, 0);

		n++;
		if (cb(arg, client ? client : "") != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? n : store_db_fail(s, "metrics target clients");
}
