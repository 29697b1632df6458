/* store_agents.c - agents on the store (store_agents.h): the HELLO upsert
 * (a CURVE key keeps its Ed25519 key, names unique among live agents),
 * approve/revoke (revoked is final), lookups by key, name, fingerprint or id,
 * signing-key pinning, and closing a revoked agent's open orders. Text
 * copied out is truncated to the fixed buffers of struct store_agent_info. */
#include "store_agents.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "rp_limits.h"
#include "store_internal.h"
#include "store_results.h"

/* The status in column i; an unknown or NULL one reads as revoked (the
 * agent is refused, never let in). */
static enum store_agent_status status_col(sqlite3_stmt *st, int i)
{
	int v = store_agent_status_of((const char *)sqlite3_column_text(st, i));

	return v < 0 ? STORE_AGENT_REVOKED : (enum store_agent_status)v;
}

#define AGENT_COLS                                                                                 \
	"SELECT id, name, curve_public, ed25519_public, fingerprint, status, last_seen, "          \
	"max_orders"

/* Copies an agent row (AGENT_COLS) into the struct store_agent_info arg. */
static int agent_info_row(void *arg, sqlite3_stmt *st)
{
	struct store_agent_info *out = arg;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	store_copy_col(st, 1, out->name, sizeof(out->name));
	store_copy_col(st, 2, out->curve_public, sizeof(out->curve_public));
	store_copy_col(st, 3, out->ed25519_public, sizeof(out->ed25519_public));
	store_copy_col(st, 4, out->fingerprint, sizeof(out->fingerprint));
	out->status = status_col(st, 5);
	out->last_seen = sqlite3_column_int64(st, 6);
	out->max_orders = (uint32_t)sqlite3_column_int64(st, 7); /* CHECK: 0..64 */
	return 0;
}

/* The first agent sql (AGENT_COLS ...) selects with ?1 = key. 1 / 0 / -1. */
static int agent_row(struct store *s, const char *sql, struct store_arg key,
                     struct store_agent_info *out)
{
	return store_first(s, sql, &key, 1, agent_info_row, out, "agent lookup");
}

/* The enrolled row of a CURVE key, for the upsert. */
struct enrolled {
	const char *ed25519; /* the key the agent presents */
	int64_t id;
	bool same_key; /* the enrolled Ed25519 key is that one */
	int status;
};

static int enrolled_row(void *arg, sqlite3_stmt *st)
{
	struct enrolled *e = arg;

	e->id = sqlite3_column_int64(st, 0);
	e->same_key =
	    sqlite3_column_type(st, 1) == SQLITE_TEXT && strcmp(store_col(st, 1), e->ed25519) == 0;
	e->status = store_agent_status_of((const char *)sqlite3_column_text(st, 2));
	return 0;
}

int store_agent_upsert(struct store *s, const struct store_agent *a, int64_t now, int64_t *id,
                       enum store_agent_status *status)
{
	const char *labels = a->labels ? a->labels : "{}";
	struct enrolled e = {a->ed25519_public, 0, false, STORE_AGENT_PENDING};
	int outer, rc, ok = 0;
	int64_t aid = 0;
	int stat = STORE_AGENT_PENDING;

	if (!store_text_ok(a->name, 128) || !store_text_ok(a->curve_public, 128) ||
	    !store_text_ok(a->ed25519_public, 128) || !store_text_ok(a->fingerprint, 128) ||
	    strnlen(labels, RP_STORE_TEXT_MAX + 1) > RP_STORE_TEXT_MAX) {
		store_fail(s, "agent: missing or oversize field");
		return -1;
	}
	outer = sqlite3_get_autocommit(s->db);
	if (store_work_begin(s) < 0)
		return -1;
	rc = store_first(s, "SELECT id, ed25519_public, status FROM agents WHERE curve_public = ?1",
	                 STORE_ARGS(SA_TEXT(a->curve_public)), enrolled_row, &e, "agent lookup");
	if (rc < 0)
		goto out;
	if (rc == 1) {
		aid = e.id;
		stat = e.status;
		if (!e.same_key) {
			store_fail(s, "agent %lld: signing key differs from the enrolled one",
			           (long long)aid);
			goto out;
		}
		if (store_run(s, "UPDATE agents SET last_seen = ?1, labels = ?2 WHERE id = ?3",
		              STORE_ARGS(SA_INT(now), SA_TEXT(labels), SA_INT(aid)),
		              "agent upsert") < 0)
			goto out;
	} else if (store_one_int64(s,
	                           "INSERT INTO agents (name, curve_public, ed25519_public,"
	                           " fingerprint, labels, first_seen, last_seen)"
	                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
	                           STORE_ARGS(SA_TEXT(a->name), SA_TEXT(a->curve_public),
	                                      SA_TEXT(a->ed25519_public), SA_TEXT(a->fingerprint),
	                                      SA_TEXT(labels), SA_INT(now), SA_INT(now)),
	                           &aid, "agent upsert") != 1) {
		goto out;
	}
	ok = 1;
out:
	if (store_work_end(s, ok, outer) < 0)
		ok = 0;
	if (ok && id != NULL)
		*id = aid;
	if (ok && status != NULL)
		*status = stat < 0 ? STORE_AGENT_PENDING : (enum store_agent_status)stat;
	return ok ? 0 : -1;
}

/* Runs an UPDATE whose only parameter is the row id; -1 when it fails or
 * changes no row. */
static int update_id(struct store *s, const char *sql, int64_t id, const char *what)
{
	return store_run_one(s, sql, STORE_ARGS(SA_INT(id)), what);
}

int store_agent_approve(struct store *s, int64_t id)
{
	return update_id(s,
	                 "UPDATE agents SET status = 'approved' WHERE id = ?"
	                 " AND status IN ('pending', 'approved')",
	                 id, "approve");
}

int store_agent_revoke(struct store *s, int64_t id)
{
	return update_id(s, "UPDATE agents SET status = 'revoked' WHERE id = ?", id, "revoke");
}

struct agent_walk {
	store_agent_cb cb;
	void *arg;
};

static int agent_list_row(void *arg, sqlite3_stmt *st)
{
	struct agent_walk *w = arg;
	struct store_agent a = {0};

	a.id = sqlite3_column_int64(st, 0);
	a.name = (const char *)sqlite3_column_text(st, 1);
	a.curve_public = (const char *)sqlite3_column_text(st, 2);
	a.ed25519_public = (const char *)sqlite3_column_text(st, 3);
	a.fingerprint = (const char *)sqlite3_column_text(st, 4);
	a.labels = (const char *)sqlite3_column_text(st, 5);
	a.status = status_col(st, 6);
	a.first_seen = sqlite3_column_int64(st, 7);
	a.last_seen = sqlite3_column_int64(st, 8);
	return w->cb(w->arg, &a);
}

long store_agent_list(struct store *s, store_agent_cb cb, void *arg)
{
	struct agent_walk w = {cb, arg};

	return store_each(s,
	                  "SELECT id, name, curve_public, ed25519_public, fingerprint,"
	                  " labels, status, first_seen, last_seen FROM agents ORDER BY id",
	                  STORE_NOARGS, agent_list_row, &w, "agent list");
}

int store_agent_by_curve(struct store *s, const char *curve_z85, struct store_agent_info *out)
{
	return agent_row(s, AGENT_COLS " FROM agents WHERE curve_public = ?1", SA_TEXT(curve_z85),
	                 out);
}

int store_agent_by_id(struct store *s, int64_t id, struct store_agent_info *out)
{
	return agent_row(s, AGENT_COLS " FROM agents WHERE id = ?1", SA_INT(id), out);
}

int store_agent_find(struct store *s, const char *idstr, struct store_agent_info *out)
{
	static const char *const by[] = {
	    AGENT_COLS " FROM agents WHERE name = ? ORDER BY status = 'revoked', id DESC LIMIT 1",
	    AGENT_COLS
	    " FROM agents WHERE fingerprint = ? ORDER BY status = 'revoked', id DESC LIMIT 1"};
	char *end = NULL;
	long long n;
	int rc;

	if (idstr == NULL || idstr[0] == '\0')
		return 0;
	/* By name, then by fingerprint: a live agent first, then a revoked one
	 * (newest). */
	for (size_t i = 0; i < sizeof(by) / sizeof(by[0]); i++) {
		rc = agent_row(s, by[i], SA_TEXT(idstr), out);
		if (rc != 0)
			return rc;
	}
	errno = 0;
	n = strtoll(idstr, &end, 10);
	if (errno != 0 || end == idstr || *end != '\0' || n <= 0)
		return 0;
	return store_agent_by_id(s, (int64_t)n, out);
}

int store_agent_seen(struct store *s, int64_t id, const char *labels, int64_t now)
{
	return store_run(
	           s,
	           "UPDATE agents SET last_seen = ?1, labels = coalesce(?2, labels) WHERE id = ?3",
	           STORE_ARGS(SA_INT(now), SA_TEXT(labels), SA_INT(id)), "agent seen") < 0
	           ? -1
	           : 0;
}

int store_agent_set_capacity(struct store *s, int64_t id, uint32_t max_orders)
{
	if (max_orders > RP_AGENT_CAPACITY_MAX) {
		store_fail(s, "max_orders %u is out of range (0-%d)", (unsigned)max_orders,
		           RP_AGENT_CAPACITY_MAX);
		return -1;
	}
	return store_run(s, "UPDATE agents SET max_orders = ?1 WHERE id = ?2",
	                 STORE_ARGS(SA_INT(max_orders), SA_INT(id)), "agent capacity") < 0
	           ? -1
	           : 0;
}

int store_agent_pin(struct store *s, int64_t id, const char *name, const char *ed25519_b64,
                    const char *fingerprint)
{
	int64_t held = 0;
	long n;

	/* The name an agent approved by fingerprint picks for itself in its
	 * first HELLO: never one a revoked agent had (its history, reports and
	 * hooks would become the newcomer's), nor one that reads as an id. */
	if (name == NULL || !keys_name_valid(name)) {
		store_fail(s, "agent name \"%.64s\" is not a valid name (or is all digits)",
		           name ? name : "");
		return -1;
	}
	if (store_one_int64(s, "SELECT count(*) FROM agents WHERE name = ?1 AND id <> ?2",
	                    STORE_ARGS(SA_TEXT(name), SA_INT(id)), &held,
	                    "agent pin: name lookup") < 0)
		return -1;
	if (held > 0) {
		store_fail(s, "agent name %s is held or was held by another agent", name);
		return -1;
	}
	n = store_run(s,
	              "UPDATE agents SET name = ?1, ed25519_public = ?2,"
	              " fingerprint = ?3 WHERE id = ?4 AND ed25519_public = ?5",
	              STORE_ARGS(SA_TEXT(name), SA_TEXT(ed25519_b64), SA_TEXT(fingerprint),
	                         SA_INT(id), SA_TEXT(STORE_AGENT_NO_KEY)),
	              "agent pin");
	return n < 0 ? -1 : n == 1 ? 1 : 0;
}

/* The audits of an agent's open orders, to finish after closing them. */
struct open_audits {
	int64_t ids[64];
	size_t n;
};

static int open_audit_row(void *arg, sqlite3_stmt *st)
{
	struct open_audits *o = arg;

	if (o->n >= 64)
		return 1;
	o->ids[o->n++] = sqlite3_column_int64(st, 0);
	return 0;
}

long store_agent_orders_close(struct store *s, int64_t agent_id, int64_t now)
{
	struct open_audits oa = {.n = 0};
	long closed = -1;

	if (store_tx_begin(s) < 0)
		return -1;
	/* Audits to finish afterwards; more than the array holds are caught
	 * by the next pass (the caller's loop or the next revoke). */
	if (store_each(s,
	               "SELECT DISTINCT audit_id FROM orders WHERE agent_id = ?1"
	               " AND state <> 'done' ORDER BY audit_id LIMIT 64",
	               STORE_ARGS(SA_INT(agent_id)), open_audit_row, &oa, "agent orders") < 0)
		goto out;
	closed = store_run(s,
	                   "UPDATE orders SET state = 'done', done_at = ?2 WHERE agent_id = ?1"
	                   " AND audit_id IN (SELECT DISTINCT audit_id FROM orders WHERE"
	                   " agent_id = ?1 AND state <> 'done' ORDER BY audit_id LIMIT 64)"
	                   " AND state <> 'done'",
	                   STORE_ARGS(SA_INT(agent_id), SA_INT(now)), "agent orders close");
	for (size_t i = 0; closed >= 0 && i < oa.n; i++)
		if (store_audit_complete(s, oa.ids[i]) < 0)
			closed = -1;
out:
	if (closed < 0) {
		store_tx_rollback(s);
		return -1;
	}
	return store_tx_commit(s) < 0 ? -1 : closed;
}

long store_agents_pending(struct store *s)
{
	return store_count_rows(s, "SELECT count(*) FROM agents WHERE status = 'pending'",
	                        "pending agents");
}
