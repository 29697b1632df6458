/* store.c - the controller's SQLite store (see store.h, docs/store.md). Owns
 * one sqlite3 handle; applies the migrations of store_schema.c in one
 * transaction recorded in PRAGMA user_version. Enforces the field
 * caps of rp_limits.h (RP_STORE_*), order-id syntax, agent ownership of the
 * orders it reports on, and forward-only order states. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rp_limits.h"
#include "store_internal.h"
#include "syntax.h"
#include "target.h"

static const char *const agent_status_names[] = {"pending", "approved", "revoked"};
_Static_assert(sizeof(agent_status_names) / sizeof(agent_status_names[0]) ==
                   STORE_AGENT_STATUS_COUNT,
               "agent status names");
static const char *const order_state_names[] = {"pending", "sent", "acked", "done"};
_Static_assert(sizeof(order_state_names) / sizeof(order_state_names[0]) == STORE_ORDER_STATE_COUNT,
               "order state names");

#define SCHEMA_VERSION store_migrations_count

const char *store_agent_status_name(enum store_agent_status s)
{
	return (unsigned)s < STORE_AGENT_STATUS_COUNT ? agent_status_names[s] : "?";
}

const char *store_order_state_name(enum store_order_state s)
{
	return (unsigned)s < STORE_ORDER_STATE_COUNT ? order_state_names[s] : "?";
}

int store_schema_version(void)
{
	return SCHEMA_VERSION;
}

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

void store_fail(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

int store_db_fail(struct store *s, const char *what)
{
	store_fail(s, "%s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

const char *store_errmsg(const struct store *s)
{
	return s ? s->err : "no store";
}

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_fail(s, "%.60s: %s", sql, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *store_prep(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	bool in_cache = false;

	for (size_t i = 0; i < s->ncache; i++) {
		struct store_stmt *c = &s->cache[i];

		if (c->sql != sql && strcmp(c->sql, sql) != 0)
			continue;
		in_cache = true;
		if (!c->busy) {
			c->busy = true;
			return c->st;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, in_cache ? 0 : SQLITE_PREPARE_PERSISTENT, &st,
	                       NULL) != SQLITE_OK) {
		store_db_fail(s, "prepare");
		return NULL;
	}
	if (!in_cache && s->ncache < STORE_STMT_CACHE)
		s->cache[s->ncache++] = (struct store_stmt){sql, st, true};
	return st;
}

void store_done(struct store *s, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < s->ncache; i++) {
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			s->cache[i].busy = false;
			return;
		}
	}
	sqlite3_finalize(st);
}

int store_step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	store_done(s, st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, what);
	return 0;
}

long store_count_rows(struct store *s, const char *sql, const char *what)
{
	sqlite3_stmt *st = store_prep(s, sql);
	long n = -1;

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	store_done(s, st);
	return n >= 0 ? n : store_db_fail(s, what);
}

const char *store_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	return store_step_done(s, st, what);
}

/* Agent keys, names and fingerprints, result targets: ASCII text. */
static bool text_ok(const char *t, size_t max)
{
	return rp_text_ok(t, max, 0);
}

static int user_version(struct store *s, int *v)
{
	sqlite3_stmt *st = store_prep(s, "PRAGMA user_version");
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	store_done(s, st);
	return rc == SQLITE_ROW ? 0 : store_db_fail(s, "user_version");
}

static int migrate(struct store *s)
{
	char sql[64];
	int v;

	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	/* Read again under the write lock: another process may have migrated. */
	if (user_version(s, &v) < 0)
		goto fail;
	if (v > SCHEMA_VERSION) {
		store_fail(s, "database schema version %d is newer than this program's %d", v,
		           SCHEMA_VERSION);
		goto fail;
	}
	for (; v < SCHEMA_VERSION; v++)
		if (exec(s, store_migrations[v]) < 0)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (exec(s, sql) < 0 || exec(s, "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = NULL;
	int v, fd;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no database path");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Create the file private before SQLite does (its -wal and -shm files
	 * copy this mode). */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
	                    NULL) != SQLITE_OK) {
		store_fail(s, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_busy_timeout(s->db, 5000);
	/* trusted_schema stays on: SQLite 3.40 does not mark json_valid()
	 * innocuous, and the schema's CHECKs use it; the file is ours (0600). */
	if (exec(s, "PRAGMA foreign_keys = ON") < 0)
		goto fail;
	if (user_version(s, &v) < 0)
		goto fail;
	if (v > SCHEMA_VERSION) {
		store_fail(s, "%s: database schema version %d is newer than this program's %d",
		           path, v, SCHEMA_VERSION);
		goto fail;
	}
	/* WAL: readers (the CLI's reports) never block the writer. FULL: a
	 * commit fsyncs the WAL before it returns, so once we acknowledge a
	 * result the agent may delete its spooled copy and nothing is lost
	 * even on power failure. NORMAL would be crash-safe against process
	 * death but may lose the last commits on power loss, after the ack. */
	if (exec(s, "PRAGMA journal_mode = WAL") < 0 || exec(s, "PRAGMA synchronous = FULL") < 0)
		goto fail;
	if (migrate(s) < 0)
		goto fail;
	return s;
fail:
	snprintf(err, errlen, "%s", s->err);
	store_close(&s);
	return NULL;
}

void store_close(struct store **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	for (size_t i = 0; i < (*sp)->ncache; i++)
		sqlite3_finalize((*sp)->cache[i].st);
	if ((*sp)->db != NULL)
		sqlite3_close_v2((*sp)->db); /* an open transaction rolls back */
	free(*sp);
	*sp = NULL;
}

int store_tx_begin(struct store *s)
{
	return exec(s, "BEGIN IMMEDIATE");
}

int store_tx_commit(struct store *s)
{
	return exec(s, "COMMIT");
}

int store_tx_rollback(struct store *s)
{
	return exec(s, "ROLLBACK");
}

/* A unit of work: its own IMMEDIATE transaction, or a savepoint inside the
 * caller's. */
static int work_begin(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return exec(s, "BEGIN IMMEDIATE");
	return exec(s, "SAVEPOINT work");
}

static int work_end(struct store *s, int ok, int outer)
{
	if (outer)
		return ok ? exec(s, "COMMIT") : exec(s, "ROLLBACK");
	if (ok)
		return exec(s, "RELEASE work");
	exec(s, "ROLLBACK TO work");
	return exec(s, "RELEASE work");
}

int store_work_begin(struct store *s)
{
	return work_begin(s);
}

int store_work_end(struct store *s, int ok, int outer)
{
	return work_end(s, ok, outer);
}

int store_agent_upsert(struct store *s, const struct store_agent *a, int64_t now, int64_t *id,
                       enum store_agent_status *status)
{
	const char *labels = a->labels ? a->labels : "{}";
	sqlite3_stmt *st;
	int outer, rc, ok = 0;
	int64_t aid = 0;
	int stat = STORE_AGENT_PENDING;

	if (!text_ok(a->name, 128) || !text_ok(a->curve_public, 128) ||
	    !text_ok(a->ed25519_public, 128) || !text_ok(a->fingerprint, 128) ||
	    strnlen(labels, RP_STORE_TEXT_MAX + 1) > RP_STORE_TEXT_MAX) {
		store_fail(s, "agent: missing or oversize field");
		return -1;
	}
	outer = sqlite3_get_autocommit(s->db);
	if (work_begin(s) < 0)
		return -1;
	st = store_prep(s, "SELECT id, ed25519_public, status FROM agents WHERE curve_public = ?");
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, a->curve_public, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *ed = (const char *)sqlite3_column_text(st, 1);

		aid = sqlite3_column_int64(st, 0);
		stat = name_index(agent_status_names, STORE_AGENT_STATUS_COUNT,
		                  (const char *)sqlite3_column_text(st, 2));
		if (ed == NULL || strcmp(ed, a->ed25519_public) != 0) {
			store_fail(s, "agent %lld: signing key differs from the enrolled one",
			           (long long)aid);
			store_done(s, st);
			goto out;
		}
		store_done(s, st);
		st = store_prep(s, "UPDATE agents SET last_seen = ?, labels = ? WHERE id = ?");
		if (st == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_text(st, 2, labels, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, aid);
	} else {
		store_done(s, st);
		if (rc != SQLITE_DONE) {
			store_db_fail(s, "agent lookup");
			goto out;
		}
		st = store_prep(
		    s, "INSERT INTO agents (name, curve_public, ed25519_public, fingerprint,"
		       " labels, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)");
		if (st == NULL)
			goto out;
		sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->curve_public, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->ed25519_public, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, a->fingerprint, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, labels, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, now);
		sqlite3_bind_int64(st, 7, now);
		stat = STORE_AGENT_PENDING;
	}
	if (step_done(s, st, "agent upsert") < 0)
		goto out;
	if (aid == 0)
		aid = sqlite3_last_insert_rowid(s->db);
	ok = 1;
out:
	if (work_end(s, ok, outer) < 0)
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
	sqlite3_stmt *st = store_prep(s, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (step_done(s, st, what) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0) {
		store_fail(s, "%s: no such record, or not allowed in its state", what);
		return -1;
	}
	return 0;
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

long store_agent_list(struct store *s, store_agent_cb cb, void *arg)
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT id, name, curve_public, ed25519_public, fingerprint,"
	                  " labels, status, first_seen, last_seen FROM agents ORDER BY id");
	long n = 0;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_agent a = {0};
		int stat = name_index(agent_status_names, STORE_AGENT_STATUS_COUNT,
		                      (const char *)sqlite3_column_text(st, 6));

		a.id = sqlite3_column_int64(st, 0);
		a.name = (const char *)sqlite3_column_text(st, 1);
		a.curve_public = (const char *)sqlite3_column_text(st, 2);
		a.ed25519_public = (const char *)sqlite3_column_text(st, 3);
		a.fingerprint = (const char *)sqlite3_column_text(st, 4);
		a.labels = (const char *)sqlite3_column_text(st, 5);
		a.status = stat < 0 ? STORE_AGENT_REVOKED : (enum store_agent_status)stat;
		a.first_seen = sqlite3_column_int64(st, 7);
		a.last_seen = sqlite3_column_int64(st, 8);
		n++;
		if (cb(arg, &a) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? n : store_db_fail(s, "agent list");
}

int store_next_sequence(struct store *s, int64_t agent_id, uint64_t *seq)
{
	sqlite3_stmt *st = store_prep(s, "UPDATE agents SET last_sequence = last_sequence + 1"
	                                 " WHERE id = ? RETURNING last_sequence");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
	/* The UPDATE commits when the statement is finalized (autocommit). */
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	store_done(s, st);
	if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 1)
		return 0;
	if (rc == SQLITE_DONE)
		store_fail(s, "sequence: no agent %lld", (long long)agent_id);
	else
		store_db_fail(s, "sequence");
	return -1;
}

int store_target_add(struct store *s, const char *spec, const char *client, const char *tags,
                     int64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	if (!target_is_canonical(spec) ||
	    (client != NULL && strnlen(client, RP_STORE_TEXT_MAX + 1) > RP_STORE_TEXT_MAX) ||
	    (tags != NULL && strnlen(tags, RP_STORE_TEXT_MAX + 1) > RP_STORE_TEXT_MAX)) {
		store_fail(s, "target: missing or oversize field");
		return -1;
	}
	st = store_prep(s, "INSERT INTO targets (spec, client, tags) VALUES (?, ?, ?)"
	                   " ON CONFLICT (spec, client) DO UPDATE SET tags = excluded.tags"
	                   " RETURNING id");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, client ? client : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tags ? tags : "[]", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && id != NULL)
		*id = sqlite3_column_int64(st, 0);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	store_done(s, st);
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "target add");
}

int store_audit_create(struct store *s, const char *params, int64_t now, int64_t *id)
{
	sqlite3_stmt *st;

	if (params != NULL && strnlen(params, RP_STORE_RESULT_MAX + 1) > RP_STORE_RESULT_MAX) {
		store_fail(s, "audit: params too long");
		return -1;
	}
	st = store_prep(s, "INSERT INTO audits (created_at, params) VALUES (?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, params ? params : "{}", -1, SQLITE_STATIC);
	if (step_done(s, st, "audit create") < 0)
		return -1;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int store_audit_set_status(struct store *s, int64_t id, const char *status)
{
	sqlite3_stmt *st = store_prep(s, "UPDATE audits SET status = ? WHERE id = ?");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (step_done(s, st, "audit status") < 0)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 0 : (store_fail(s, "audit status: no such audit"), -1);
}

int store_order_add(struct store *s, const struct store_order *o, int64_t now)
{
	sqlite3_stmt *st;

	if (!rp_id_ok(RP_ID_ORDER, o->id) || o->body == NULL || o->body_len == 0 ||
	    o->body_len > RP_STORE_ORDER_MAX || o->sequence == 0 || o->sequence > INT64_MAX) {
		store_fail(s, "order: bad id, body or sequence");
		return -1;
	}
	st = store_prep(s, "INSERT INTO orders (id, audit_id, agent_id, sequence, body, created_at,"
	                   " canary_ref) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, o->audit_id);
	sqlite3_bind_int64(st, 3, o->agent_id);
	sqlite3_bind_int64(st, 4, (int64_t)o->sequence);
	sqlite3_bind_blob(st, 5, o->body, (int)o->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	if (o->canary_ref != 0)
		sqlite3_bind_int64(st, 7, (int64_t)o->canary_ref);
	else
		sqlite3_bind_null(st, 7);
	return step_done(s, st, "order add");
}

long store_orders_unacked(struct store *s, int64_t agent_id, store_order_cb cb, void *arg)
{
	sqlite3_stmt *st = store_prep(s, "SELECT id, audit_id, agent_id, sequence, body, state,"
	                                 " created_at, sent_at FROM orders WHERE agent_id = ?"
	                                 " AND state IN ('pending', 'sent') ORDER BY sequence");
	long n = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, agent_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_order o = {0};
		int state = name_index(order_state_names, STORE_ORDER_STATE_COUNT,
		                       (const char *)sqlite3_column_text(st, 5));

		o.id = (const char *)sqlite3_column_text(st, 0);
		o.audit_id = sqlite3_column_int64(st, 1);
		o.agent_id = sqlite3_column_int64(st, 2);
		o.sequence = (uint64_t)sqlite3_column_int64(st, 3);
		o.body = sqlite3_column_blob(st, 4);
		o.body_len = (size_t)sqlite3_column_bytes(st, 4);
		o.state = state < 0 ? STORE_ORDER_PENDING : (enum store_order_state)state;
		o.created_at = sqlite3_column_int64(st, 6);
		o.sent_at = sqlite3_column_int64(st, 7);
		n++;
		if (cb(arg, &o) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? n : store_db_fail(s, "orders unacked");
}

/* Moves an order forward (sql binds ?1 = now, ?2 = id, and only matches
 * the states it may move from); 0 also when the move would go backwards (a
 * late or repeated event), -1 for an unknown order or a database error. */
static int order_move(struct store *s, const char *sql, const char *order_id, int64_t now)
{
	enum store_order_state cur;
	sqlite3_stmt *st;

	if (store_order_state(s, order_id, &cur) < 0)
		return -1;
	st = store_prep(s, sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, order_id, -1, SQLITE_STATIC);
	return step_done(s, st, "order state");
}

int store_order_mark_sent(struct store *s, const char *order_id, int64_t now)
{
	return order_move(s,
	                  "UPDATE orders SET state = 'sent', sent_at = ?1 WHERE id = ?2"
	                  " AND state IN ('pending', 'sent')",
	                  order_id, now);
}

int store_order_mark_acked(struct store *s, const char *order_id, int64_t now)
{
	return order_move(s,
	                  "UPDATE orders SET state = 'acked', acked_at = ?1,"
	                  " progress_at = max(progress_at, ?1) WHERE id = ?2"
	                  " AND state IN ('pending', 'sent')",
	                  order_id, now);
}

int store_order_mark_done(struct store *s, const char *order_id, int64_t now)
{
	return order_move(s,
	                  "UPDATE orders SET state = 'done', done_at = ?1 WHERE id = ?2"
	                  " AND state <> 'done'",
	                  order_id, now);
}

int store_order_mark_done_declared(struct store *s, const char *order_id, int64_t now,
                                   uint32_t declared)
{
	enum store_order_state cur;
	sqlite3_stmt *st;

	if (store_order_state(s, order_id, &cur) < 0)
		return -1;
	st = store_prep(s, "UPDATE orders SET state = 'done', done_at = coalesce(done_at, ?1),"
	                   " results_declared = coalesce(results_declared, ?3) WHERE id = ?2");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)declared);
	return step_done(s, st, "order done");
}

long store_orders_stalled(struct store *s, int64_t before, char (*ids)[129], int64_t *audits,
                          long max)
{
	sqlite3_stmt *st = store_prep(s, "SELECT id, audit_id FROM orders WHERE state = 'acked'"
	                                 " AND progress_at < ?1 ORDER BY progress_at LIMIT ?2");
	long n = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		snprintf(ids[n], STORE_ORDER_ID_MAX + 1, "%s",
		         (const char *)sqlite3_column_text(st, 0));
		audits[n] = sqlite3_column_int64(st, 1);
		n++;
	}
	store_done(s, st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? n : store_db_fail(s, "orders stalled");
}

int store_order_state(struct store *s, const char *order_id, enum store_order_state *state)
{
	sqlite3_stmt *st = store_prep(s, "SELECT state FROM orders WHERE id = ?");
	int rc, v = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = name_index(order_state_names, STORE_ORDER_STATE_COUNT,
		               (const char *)sqlite3_column_text(st, 0));
	store_done(s, st);
	if (rc == SQLITE_DONE) {
		store_fail(s, "order %.128s: unknown", order_id ? order_id : "(null)");
		return -1;
	}
	if (rc != SQLITE_ROW || v < 0)
		return store_db_fail(s, "order state");
	if (state != NULL)
		*state = (enum store_order_state)v;
	return 0;
}

long store_orders_outstanding(struct store *s, int64_t agent_id)
{
	sqlite3_stmt *st = store_prep(s, "SELECT count(*) FROM orders WHERE agent_id = ?1"
	                                 " AND state IN ('sent', 'acked')");
	long n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, agent_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	store_done(s, st);
	return n >= 0 ? n : store_db_fail(s, "orders outstanding");
}

int store_order_next_pending(struct store *s, int64_t agent_id, char *id, uint8_t **body,
                             size_t *body_len, int *reissues)
{
	sqlite3_stmt *st = store_prep(s, "SELECT id, body, reissues FROM orders WHERE agent_id = ?1"
	                                 " AND state = 'pending' ORDER BY sequence LIMIT 1");
	int rc, found = 0;

	*body = NULL;
	*body_len = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *oid = (const char *)sqlite3_column_text(st, 0);
		const void *b = sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);

		if (oid != NULL && strlen(oid) <= STORE_ORDER_ID_MAX && b != NULL &&
		    (*body = malloc(n)) != NULL) {
			snprintf(id, STORE_ORDER_ID_MAX + 1, "%s", oid);
			memcpy(*body, b, n);
			*body_len = n;
			*reissues = sqlite3_column_int(st, 2);
			found = 1;
		} else {
			store_fail(s, "pending order: bad row or out of memory");
			found = -1;
		}
	}
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "next pending order");
	return found;
}

/* An UPDATE of one order that must change exactly one row. */
static int order_update_one(struct store *s, sqlite3_stmt *st, const char *order_id,
                            const char *what)
{
	if (step_done(s, st, what) < 0)
		return -1;
	if (sqlite3_changes(s->db) != 1) {
		store_fail(s, "%s: order %.128s is not in the expected state", what, order_id);
		return -1;
	}
	return 0;
}

int store_order_resign_sent(struct store *s, const char *order_id, uint64_t sequence,
                            const uint8_t *body, size_t body_len, int64_t now)
{
	sqlite3_stmt *st;

	if (!rp_id_ok(RP_ID_ORDER, order_id) || body == NULL || body_len == 0 ||
	    body_len > RP_WIRE_MSG_MAX || sequence > INT64_MAX) {
		store_fail(s, "order re-sign: bad field");
		return -1;
	}
	st = store_prep(s, "UPDATE orders SET body = ?1, sequence = ?2, created_at = ?3,"
	                   " state = 'sent', sent_at = ?3 WHERE id = ?4 AND state = 'pending'");
	if (st == NULL)
		return -1;
	sqlite3_bind_blob(st, 1, body, (int)body_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)sequence);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, order_id, -1, SQLITE_STATIC);
	return order_update_one(s, st, order_id, "order re-sign");
}

int store_order_body_keep(struct store *s, const char *order_id, const uint8_t sha[32])
{
	sqlite3_stmt *st =
	    store_prep(s, "INSERT OR IGNORE INTO order_bodies (order_id, sha) VALUES (?1, ?2)");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sha, 32, SQLITE_STATIC);
	return step_done(s, st, "order body keep");
}

int store_order_body_known(struct store *s, const char *order_id, const uint8_t sha[32])
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT 1 FROM order_bodies WHERE order_id = ?1 AND sha = ?2");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sha, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_done(s, st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "order body known");
}

int store_order_unsent(struct store *s, const char *order_id)
{
	sqlite3_stmt *st =
	    store_prep(s, "UPDATE orders SET sent_at = 0 WHERE id = ?1 AND state = 'sent'");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	return order_update_one(s, st, order_id ? order_id : "", "order unsent");
}

int store_order_requeue(struct store *s, const char *order_id)
{
	sqlite3_stmt *st =
	    store_prep(s, "UPDATE orders SET state = 'pending', sent_at = 0,"
	                  " reissues = reissues + 1 WHERE id = ?1 AND state = 'sent'");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, order_id ? order_id : "", -1, SQLITE_STATIC);
	return order_update_one(s, st, order_id ? order_id : "", "order requeue");
}

/* Field checks before anything touches the database. */
static int result_ok(struct store *s, const struct store_result *r)
{
	if (!rp_id_ok(RP_ID_ORDER, r->order_id) || !text_ok(r->target, RP_TARGET_LINE_MAX) ||
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
	sqlite3_stmt *st =
	    store_prep(s, exact ? "SELECT count(*) FROM results WHERE order_id = ?1 AND"
	                          " agent_id = ?2 AND target = ?3 AND address = ?4 AND port = ?5"
	                        : "SELECT count(*) FROM results WHERE order_id = ?1 AND"
	                          " agent_id = ?2 AND target = ?3");
	long n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, r->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->agent_id);
	sqlite3_bind_text(st, 3, r->target, -1, SQLITE_STATIC);
	if (exact) {
		sqlite3_bind_text(st, 4, r->address ? r->address : "", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, (int)r->port);
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	store_done(s, st);
	return n >= 0 ? n : store_db_fail(s, "result: count");
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
	if (work_begin(s) < 0)
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
	                  " result_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
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
		if (st == NULL || step_done(s, st, "order quota") < 0)
			res = STORE_INGEST_ERROR;
	}
	if (res == STORE_INGEST_NEW &&
	    store_canary_on_result(s, sqlite3_last_insert_rowid(s->db), r->order_id, r->target) < 0)
		res = STORE_INGEST_ERROR;
	if (res == STORE_INGEST_NEW) {
		st = store_prep(s, "UPDATE counters SET value = value + 1"
		                   " WHERE name = 'results_ingested'");
		if (st == NULL || step_done(s, st, "results counter") < 0)
			res = STORE_INGEST_ERROR;
	}
out:
	/* Committed (and fsync'ed) before the caller may acknowledge. */
	if (work_end(s, res == STORE_INGEST_NEW || res == STORE_INGEST_DUPLICATE, outer) < 0 &&
	    res != STORE_INGEST_REJECTED)
		res = STORE_INGEST_ERROR;
	return res;
}

long store_counter(struct store *s, const char *name)
{
	sqlite3_stmt *st = store_prep(s, "SELECT value FROM counters WHERE name = ?1");
	long n = -1;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		n = 0;
	store_done(s, st);
	return n >= 0 ? n : store_db_fail(s, "counter");
}

long store_result_count(struct store *s)
{
	return store_count_rows(s, "SELECT count(*) FROM results", "result count");
}
