/* store_ext.c - the controller daemon's extra store queries (store_ext.h):
 * agent lookups and key pinning, order lookup, audit counters and completion,
 * vantages and transcripts of an audit. Every write is one statement
 * (autocommit); text copied out is truncated to the caller's fixed buffers. */
#include "store_ext.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "store_internal.h"

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t dstlen)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	snprintf(dst, dstlen, "%s", t ? t : "");
}

static enum store_agent_status status_of(const char *t)
{
	if (t != NULL && strcmp(t, "approved") == 0)
		return STORE_AGENT_APPROVED;
	if (t != NULL && strcmp(t, "pending") == 0)
		return STORE_AGENT_PENDING;
	return STORE_AGENT_REVOKED;
}

#define AGENT_COLS "SELECT id, name, curve_public, ed25519_public, fingerprint, status, last_seen"

/* Runs a prepared agent query and copies the first row. 1 / 0 / -1. */
static int agent_row(struct store *s, sqlite3_stmt *st, struct store_ext_agent *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(st, 0);
		copy_col(st, 1, out->name, sizeof(out->name));
		copy_col(st, 2, out->curve_public, sizeof(out->curve_public));
		copy_col(st, 3, out->ed25519_public, sizeof(out->ed25519_public));
		copy_col(st, 4, out->fingerprint, sizeof(out->fingerprint));
		out->status = status_of((const char *)sqlite3_column_text(st, 5));
		out->last_seen = sqlite3_column_int64(st, 6);
	}
	store_done(s, st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "agent lookup");
}

int store_ext_agent_by_curve(struct store *s, const char *curve_z85, struct store_ext_agent *out)
{
	sqlite3_stmt *st = store_prep(s, AGENT_COLS " FROM agents WHERE curve_public = ?");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, curve_z85, -1, SQLITE_STATIC);
	return agent_row(s, st, out);
}

int store_ext_agent_by_id(struct store *s, int64_t id, struct store_ext_agent *out)
{
	sqlite3_stmt *st = store_prep(s, AGENT_COLS " FROM agents WHERE id = ?");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return agent_row(s, st, out);
}

int store_ext_agent_find(struct store *s, const char *idstr, struct store_ext_agent *out)
{
	sqlite3_stmt *st;
	char *end = NULL;
	long long n;
	int rc;

	if (idstr == NULL || idstr[0] == '\0')
		return 0;
	/* A live agent by name first, then a revoked one (newest). */
	st = store_prep(s, AGENT_COLS " FROM agents WHERE name = ?"
	                              " ORDER BY status = 'revoked', id DESC LIMIT 1");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, idstr, -1, SQLITE_STATIC);
	rc = agent_row(s, st, out);
	if (rc != 0)
		return rc;
	st = store_prep(s, AGENT_COLS " FROM agents WHERE fingerprint = ?"
	                              " ORDER BY status = 'revoked', id DESC LIMIT 1");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, idstr, -1, SQLITE_STATIC);
	rc = agent_row(s, st, out);
	if (rc != 0)
		return rc;
	errno = 0;
	n = strtoll(idstr, &end, 10);
	if (errno != 0 || end == idstr || *end != '\0' || n <= 0)
		return 0;
	return store_ext_agent_by_id(s, (int64_t)n, out);
}

int store_ext_agent_seen(struct store *s, int64_t id, const char *labels, int64_t now)
{
	sqlite3_stmt *st = store_prep(s, "UPDATE agents SET last_seen = ?,"
	                                 " labels = coalesce(?, labels) WHERE id = ?");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	if (labels != NULL)
		sqlite3_bind_text(st, 2, labels, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, id);
	rc = sqlite3_step(st);
	store_done(s, st);
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "agent seen");
}

int store_ext_agent_pin(struct store *s, int64_t id, const char *name, const char *ed25519_b64,
                        const char *fingerprint)
{
	sqlite3_stmt *st;
	int rc;

	/* The name an agent approved by fingerprint picks for itself in its
	 * first HELLO: never one a revoked agent had (its history, reports and
	 * hooks would become the newcomer's), nor one that reads as an id. */
	if (name == NULL || !keys_name_valid(name)) {
		store_fail(s, "agent name \"%.64s\" is not a valid name (or is all digits)",
		           name ? name : "");
		return -1;
	}
	st = store_prep(s, "SELECT count(*) FROM agents WHERE name = ? AND id <> ?");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0) {
		store_done(s, st);
		store_fail(s, "agent name %s is held or was held by another agent", name);
		return -1;
	}
	store_done(s, st);
	if (rc != SQLITE_ROW)
		return store_db_fail(s, "agent pin: name lookup");
	st = store_prep(s, "UPDATE agents SET name = ?, ed25519_public = ?,"
	                   " fingerprint = ? WHERE id = ? AND ed25519_public = ?");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ed25519_b64, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	sqlite3_bind_text(st, 5, STORE_EXT_NO_KEY, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_done(s, st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, "agent pin");
	return sqlite3_changes(s->db) == 1 ? 1 : 0;
}

int store_ext_order_get(struct store *s, const char *order_id, struct store_ext_order *out)
{
	sqlite3_stmt *st = store_prep(
	    s,
	    "SELECT audit_id, agent_id, state, body, reissues, sequence FROM orders WHERE id = ?");
	const char *state;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 3);
		const void *b = sqlite3_column_blob(st, 3);

		out->audit_id = sqlite3_column_int64(st, 0);
		out->agent_id = sqlite3_column_int64(st, 1);
		out->reissues = sqlite3_column_int(st, 4);
		out->sequence = sqlite3_column_int64(st, 5);
		state = (const char *)sqlite3_column_text(st, 2);
		out->state = STORE_ORDER_PENDING;
		for (int i = 0; state != NULL && i < STORE_ORDER_STATE_COUNT; i++)
			if (strcmp(state, store_order_state_name((enum store_order_state)i)) == 0)
				out->state = (enum store_order_state)i;
		out->body = malloc(n > 0 ? (size_t)n : 1);
		if (out->body != NULL && b != NULL && n > 0) {
			memcpy(out->body, b, (size_t)n);
			out->body_len = (size_t)n;
			ret = 1;
		} else {
			free(out->body);
			out->body = NULL;
			store_fail(s, "order %s: empty body or out of memory", order_id);
		}
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		store_db_fail(s, "order get");
	}
	store_done(s, st);
	return ret;
}

int store_ext_audit_status(struct store *s, int64_t audit, char status[16], long *orders,
                           long *done, long *results)
{
	sqlite3_stmt *st = store_prep(
	    s, "SELECT a.status,"
	       " (SELECT count(*) FROM orders o WHERE o.audit_id = a.id),"
	       " (SELECT count(*) FROM orders o WHERE o.audit_id = a.id AND o.state = 'done'),"
	       " (SELECT count(*) FROM results r JOIN orders o ON o.id = r.order_id"
	       "   WHERE o.audit_id = a.id)"
	       " FROM audits a WHERE a.id = ?");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, audit);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_col(st, 0, status, 16);
		*orders = (long)sqlite3_column_int64(st, 1);
		*done = (long)sqlite3_column_int64(st, 2);
		*results = (long)sqlite3_column_int64(st, 3);
	}
	store_done(s, st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "audit status");
}

int store_ext_audit_latest(struct store *s, int64_t *audit)
{
	sqlite3_stmt *st = store_prep(s, "SELECT max(id) FROM audits");
	int rc, ret = -1;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*audit = sqlite3_column_int64(st, 0);
		ret = 1;
	} else if (rc == SQLITE_ROW) {
		ret = 0;
	} else {
		store_db_fail(s, "audit latest");
	}
	store_done(s, st);
	return ret;
}

int store_ext_audit_complete(struct store *s, int64_t audit)
{
	char status[16];
	long orders = 0, done = 0, results = 0;
	int rc = store_ext_audit_status(s, audit, status, &orders, &done, &results);

	if (rc <= 0)
		return rc;
	if (strcmp(status, "done") == 0)
		return 1;
	if (orders == 0 || done < orders)
		return 0;
	return store_audit_set_status(s, audit, "done") < 0 ? -1 : 1;
}

long store_ext_audit_vantages(struct store *s, int64_t audit, store_ext_name_cb cb, void *arg)
{
	sqlite3_stmt *st = store_prep(s, "SELECT DISTINCT a.name FROM orders o"
	                                 " JOIN agents a ON a.id = o.agent_id"
	                                 " WHERE o.audit_id = ? ORDER BY a.name");
	long n = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, audit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (cb(arg, (const char *)sqlite3_column_text(st, 0)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? n : store_db_fail(s, "audit vantages");
}

/* Steps st (bound by the caller: columns target, agent name, agent id,
 * result id), passing each row to cb (non-zero stops); finalises it. Rows
 * passed, or -1. Only ids are selected, so a sort never holds transcripts. */
static long refs(struct store *s, sqlite3_stmt *st, store_ext_ref_cb cb, void *arg,
                 const char *what)
{
	long n = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_ext_result_ref ref = {
		    .target = (const char *)sqlite3_column_text(st, 0),
		    .agent_name = (const char *)sqlite3_column_text(st, 1),
		    .agent_id = sqlite3_column_int64(st, 2),
		    .id = sqlite3_column_int64(st, 3)};

		n++;
		if (ref.target == NULL || ref.agent_name == NULL || cb(arg, &ref) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? n : store_db_fail(s, what);
}

long store_ext_audit_results(struct store *s, int64_t audit, const char *target,
                             const char *vantage, int64_t after, store_ext_ref_cb cb, void *arg)
{
	sqlite3_stmt *st = store_prep(s, "SELECT r.target, a.name, r.agent_id, r.id FROM results r"
	                                 " JOIN orders o ON o.id = r.order_id"
	                                 " JOIN agents a ON a.id = r.agent_id"
	                                 " WHERE o.audit_id = ?1 AND r.target = ?2"
	                                 " AND (?3 IS NULL OR a.name = ?3) AND r.id > ?4"
	                                 " ORDER BY r.id");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, audit);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	if (vantage != NULL)
		sqlite3_bind_text(st, 3, vantage, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, after);
	return refs(s, st, cb, arg, "audit results");
}

/* Steps st (bound by the caller), passing each row's first three text
 * columns to cb (non-zero stops); finalises it. Rows passed, or -1. */
static long rows3(struct store *s, sqlite3_stmt *st,
                  int (*cb)(void *, const char *, const char *, const char *), void *arg,
                  const char *what)
{
	long n = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (cb(arg, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? n : store_db_fail(s, what);
}

long store_ext_audit_accepted(struct store *s, int64_t audit, store_ext_accepted_cb cb, void *arg)
{
	sqlite3_stmt *st = store_prep(
	    s, "SELECT r.target, a.name, j.value ->> 'id' FROM results r"
	       " JOIN orders o ON o.id = r.order_id"
	       " JOIN agents a ON a.id = r.agent_id,"
	       " json_each(r.result_json, '$.tests') j"
	       " WHERE o.audit_id = ?1"
	       " AND r.verdict IN ('open', 'open-confirmed', 'accepted-not-delivered')"
	       " AND j.value ->> 'outcome' = 'accepted' AND typeof(j.value ->> 'id') = 'text'"
	       " ORDER BY r.id, j.key");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, audit);
	return rows3(s, st, cb, arg, "audit accepted tests");
}

int store_ext_target_client(struct store *s, const char *spec, char *out, size_t outlen)
{
	sqlite3_stmt *st = store_prep(s, "SELECT min(client) FROM targets WHERE spec = ?1");
	int rc, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "target client");
	return found;
}

int store_ext_target_previous(struct store *s, const char *target, int64_t audit, char *verdict,
                              size_t vlen, int64_t *prev_audit)
{
	sqlite3_stmt *st = store_prep(s, "SELECT verdict, audit_id FROM target_history"
	                                 " WHERE target = ?1 AND audit_id < ?2"
	                                 " ORDER BY audit_id DESC LIMIT 1");
	int rc, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, audit);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(verdict, vlen, "%s", (const char *)sqlite3_column_text(st, 0));
		*prev_audit = sqlite3_column_int64(st, 1);
		found = 1;
	}
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "target previous verdict");
	return found;
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

long store_ext_audit_cells_count(struct store *s, int64_t audit)
{
	sqlite3_stmt *st = store_prep(s, "SELECT count(*) FROM (" CELLS_SQL ")");
	long n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, audit);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	store_done(s, st);
	return n >= 0 ? n : store_db_fail(s, "audit cells");
}

long store_ext_audit_cells_page(struct store *s, int64_t audit, long offset, long limit,
                                store_ext_ref_cb cb, void *arg)
{
	sqlite3_stmt *st =
	    store_prep(s, "WITH cells AS MATERIALIZED (" CELLS_SQL
	                  " ORDER BY target, name, agent_id LIMIT ?3 OFFSET ?2)"
	                  " SELECT c.target, c.name, c.agent_id, r.id FROM cells c"
	                  " CROSS JOIN orders o INDEXED BY orders_by_audit"
	                  " ON o.audit_id = ?1 AND o.agent_id = c.agent_id"
	                  " CROSS JOIN results r ON r.agent_id = c.agent_id AND r.order_id = o.id"
	                  " AND r.target = c.target"
	                  " ORDER BY c.target, c.name, c.agent_id, r.id");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, audit);
	sqlite3_bind_int64(st, 2, offset);
	sqlite3_bind_int64(st, 3, limit);
	return refs(s, st, cb, arg, "audit cells page");
}

long store_ext_agent_orders_close(struct store *s, int64_t agent_id, int64_t now)
{
	sqlite3_stmt *st;
	int64_t audits[64];
	size_t na = 0;
	long closed = -1;
	int rc;

	if (store_tx_begin(s) < 0)
		return -1;
	/* Audits to finish afterwards; more than the array holds are caught
	 * by the next pass (the caller's loop or the next revoke). */
	st = store_prep(s, "SELECT DISTINCT audit_id FROM orders WHERE agent_id = ?1"
	                   " AND state <> 'done' ORDER BY audit_id LIMIT 64");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, agent_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && na < 64)
		audits[na++] = sqlite3_column_int64(st, 0);
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_db_fail(s, "agent orders");
		goto out;
	}
	st = store_prep(s, "UPDATE orders SET state = 'done', done_at = ?2 WHERE agent_id = ?1"
	                   " AND audit_id IN (SELECT DISTINCT audit_id FROM orders WHERE"
	                   " agent_id = ?1 AND state <> 'done' ORDER BY audit_id LIMIT 64)"
	                   " AND state <> 'done'");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, agent_id);
	sqlite3_bind_int64(st, 2, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_done(s, st);
		store_db_fail(s, "agent orders close");
		goto out;
	}
	closed = sqlite3_changes(s->db);
	store_done(s, st);
	for (size_t i = 0; i < na; i++)
		if (store_ext_audit_complete(s, audits[i]) < 0) {
			closed = -1;
			goto out;
		}
out:
	if (closed < 0) {
		store_tx_rollback(s);
		return -1;
	}
	return store_tx_commit(s) < 0 ? -1 : closed;
}

int store_ext_result_json(struct store *s, int64_t id, store_ext_text_cb cb, void *arg)
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

long store_ext_agents_pending(struct store *s)
{
	return store_count_rows(s, "SELECT count(*) FROM agents WHERE status = 'pending'",
	                        "pending agents");
}
