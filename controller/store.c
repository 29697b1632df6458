/* store.c - the core of the controller's SQLite store (see store.h,
 * docs/store.md): open and close (WAL, synchronous=FULL, foreign keys),
 * migrations of store_schema.c in one transaction recorded in PRAGMA
 * user_version, errors, transactions and units of work, the prepared
 * statement cache and the helpers the entity files (store_*.c) share. */
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

int store_agent_status_of(const char *t)
{
	return name_index(agent_status_names, STORE_AGENT_STATUS_COUNT, t);
}

int store_order_state_of(const char *t)
{
	return name_index(order_state_names, STORE_ORDER_STATE_COUNT, t);
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

int store_exec(struct store *s, const char *sql)
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

const char *store_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

static int bind_args(sqlite3_stmt *st, const struct store_arg *args, size_t nargs)
{
	int rc = SQLITE_OK;

	if (nargs > (size_t)sqlite3_bind_parameter_count(st))
		return SQLITE_RANGE;
	for (size_t i = 0; rc == SQLITE_OK && i < nargs; i++) {
		const struct store_arg *a = &args[i];
		int k = (int)i + 1;

		switch (a->kind) {
		case STORE_ARG_INT:
			rc = sqlite3_bind_int64(st, k, a->i);
			break;
		case STORE_ARG_TEXT:
			rc = a->p ? sqlite3_bind_text(st, k, a->p, -1, SQLITE_STATIC)
			          : sqlite3_bind_null(st, k);
			break;
		case STORE_ARG_BLOB:
			rc = a->len > (size_t)INT32_MAX
			         ? SQLITE_TOOBIG
			         : sqlite3_bind_blob(st, k, a->p, (int)a->len, SQLITE_STATIC);
			break;
		case STORE_ARG_NULL:
		default:
			rc = sqlite3_bind_null(st, k);
			break;
		}
	}
	return rc;
}

sqlite3_stmt *store_query(struct store *s, const char *sql, const struct store_arg *args,
                          size_t nargs)
{
	sqlite3_stmt *st = store_prep(s, sql);
	int rc;

	if (st == NULL)
		return NULL;
	if ((rc = bind_args(st, args, nargs)) != SQLITE_OK) {
		store_fail(s, "bind %.60s: %s", sql, sqlite3_errstr(rc));
		store_done(s, st);
		return NULL;
	}
	return st;
}

long store_run(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
               const char *what)
{
	sqlite3_stmt *st = store_query(s, sql, args, nargs);

	if (st == NULL || store_step_done(s, st, what) < 0)
		return -1;
	return (long)sqlite3_changes(s->db);
}

int store_run_one(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                  const char *what)
{
	long n = store_run(s, sql, args, nargs, what);

	if (n < 0)
		return -1;
	if (n != 1) {
		store_fail(s, "%s: no such record, or not allowed in its state", what);
		return -1;
	}
	return 0;
}

long store_rows(struct store *s, sqlite3_stmt *st, store_row_fn fn, void *arg, const char *what)
{
	long n = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (fn(arg, st) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_done(s, st);
	return rc == SQLITE_DONE ? n : store_db_fail(s, what);
}

long store_each(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                store_row_fn fn, void *arg, const char *what)
{
	sqlite3_stmt *st = store_query(s, sql, args, nargs);

	return st == NULL ? -1 : store_rows(s, st, fn, arg, what);
}

int store_first(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                store_row_fn fn, void *arg, const char *what)
{
	sqlite3_stmt *st = store_query(s, sql, args, nargs);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && fn != NULL)
		fn(arg, st);
	/* A write that returns rows (RETURNING) is run to its end, so its
	 * failure is seen here rather than lost in the reset. */
	if (rc == SQLITE_ROW && !sqlite3_stmt_readonly(st)) {
		int r2;

		while ((r2 = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (r2 != SQLITE_DONE)
			rc = r2;
	}
	store_done(s, st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, what);
}

static int int64_col(void *arg, sqlite3_stmt *st)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
	return 0;
}

int store_one_int64(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                    int64_t *out, const char *what)
{
	return store_first(s, sql, args, nargs, int64_col, out, what);
}

struct text_out {
	char *dst;
	size_t len;
	bool null;
};

static int text_col(void *arg, sqlite3_stmt *st)
{
	struct text_out *t = arg;

	t->null = sqlite3_column_type(st, 0) == SQLITE_NULL;
	store_copy_col(st, 0, t->dst, t->len);
	return 0;
}

int store_one_text(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                   char *out, size_t outlen, const char *what)
{
	struct text_out t = {out, outlen, true};
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	rc = store_first(s, sql, args, nargs, text_col, &t, what);
	return rc == 1 && t.null ? 0 : rc;
}

long store_count_rows(struct store *s, const char *sql, const char *what)
{
	int64_t n = -1;

	if (store_one_int64(s, sql, STORE_NOARGS, &n, what) < 0)
		return -1;
	return n >= 0 ? (long)n : store_db_fail(s, what);
}

struct names {
	store_name_cb cb;
	void *arg;
};

static int name_row(void *arg, sqlite3_stmt *st)
{
	struct names *n = arg;

	return n->cb(n->arg, store_col(st, 0));
}

long store_names(struct store *s, sqlite3_stmt *st, store_name_cb cb, void *arg, const char *what)
{
	struct names n = {cb, arg};

	return store_rows(s, st, name_row, &n, what);
}

bool store_text_ok(const char *t, size_t max)
{
	return rp_text_ok(t, max, 0);
}

bool store_inv_text_ok(const char *c)
{
	return rp_text_ok(c, RP_INV_TEXT_MAX, RP_TEXT_UTF8 | RP_TEXT_EMPTY);
}

void store_copy_col(sqlite3_stmt *st, int col, char *dst, size_t dstlen)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	snprintf(dst, dstlen, "%s", t ? t : "");
}

static int user_version(struct store *s, int *v)
{
	int64_t n = 0;
	int rc = store_one_int64(s, "PRAGMA user_version", STORE_NOARGS, &n, "user_version");

	if (rc != 1)
		return rc < 0 ? -1 : store_db_fail(s, "user_version");
	*v = (int)n;
	return 0;
}

static int migrate(struct store *s)
{
	char sql[64];
	int v;

	if (store_exec(s, "BEGIN IMMEDIATE") < 0)
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
		if (store_exec(s, store_migrations[v]) < 0)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (store_exec(s, sql) < 0 || store_exec(s, "COMMIT") < 0)
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
	if (store_exec(s, "PRAGMA foreign_keys = ON") < 0)
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
	if (store_exec(s, "PRAGMA journal_mode = WAL") < 0 ||
	    store_exec(s, "PRAGMA synchronous = FULL") < 0)
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
	return store_exec(s, "BEGIN IMMEDIATE");
}

int store_tx_commit(struct store *s)
{
	return store_exec(s, "COMMIT");
}

int store_tx_rollback(struct store *s)
{
	return store_exec(s, "ROLLBACK");
}

/* A unit of work: its own IMMEDIATE transaction, or a savepoint inside the
 * caller's. */
int store_work_begin(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return store_exec(s, "BEGIN IMMEDIATE");
	return store_exec(s, "SAVEPOINT work");
}

int store_work_end(struct store *s, int ok, int outer)
{
	if (outer)
		return ok ? store_exec(s, "COMMIT") : store_exec(s, "ROLLBACK");
	if (ok)
		return store_exec(s, "RELEASE work");
	store_exec(s, "ROLLBACK TO work");
	return store_exec(s, "RELEASE work");
}
