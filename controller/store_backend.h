/* store_backend.h - what a backend of the controller's store implements
 * (SQLite: store_sqlite.c; PostgreSQL: store_pg.c) and what the entity files
 * (store_agents.c, store_results.c, ...) may use of it. The entity files hold
 * the SQL and the rules; a backend runs SQL with bound values, hands back
 * rows, and owns transactions and the schema's version. No entity file
 * includes sqlite3.h or libpq-fe.h.
 *
 * SQL: the entity files write one text for both backends wherever the two
 * agree (parameters ?1 ?2 ..., INSERT ... ON CONFLICT ... DO NOTHING / DO
 * UPDATE, RETURNING for a new row's id, coalesce, CASE, ||). The PostgreSQL
 * backend turns ?N into $N outside quoted text; nothing else is rewritten.
 * Where the two differ (JSON functions, date arithmetic), store_sql() picks
 * one of two texts, both string literals.
 *
 * Values: STORE_ARG_INT binds a 64-bit integer, STORE_ARG_TEXT NUL-terminated
 * text (NULL binds SQL NULL), STORE_ARG_BLOB bytes (bytea on PostgreSQL),
 * STORE_ARG_NULL a NULL. Columns read back: store_row_int64 (NULL reads 0,
 * text that is not an integer reads 0), store_row_text ("" for NULL),
 * store_row_null, store_row_blob. Schema columns that hold integers are
 * INTEGER in SQLite and BIGINT in PostgreSQL, so both read back 64 bits. */
#ifndef RP_STORE_BACKEND_H
#define RP_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum store_arg_kind { STORE_ARG_NULL = 0, STORE_ARG_INT, STORE_ARG_TEXT, STORE_ARG_BLOB };
struct store_arg {
	enum store_arg_kind kind;
	int64_t i;
	const void *p; /* STORE_ARG_TEXT (NUL-terminated; NULL binds NULL), BLOB */
	size_t len;    /* STORE_ARG_BLOB bytes */
};

/* One row of a result, the backend's memory, valid during the callback. */
struct store_row;
/* Non-zero stops the walk. */
typedef int (*store_row_fn)(void *arg, const struct store_row *r);

/* The schema a backend creates: from an empty database, base_sql makes
 * version base; steps[i] then takes base + i to base + i + 1. base + nsteps
 * is store_schema_version() for every backend (test_store checks it). */
struct store_schema {
	int base;
	const char *base_sql; /* NULL when base is 0 */
	const char *const *steps;
	int nsteps;
};

enum store_dialect { STORE_DIALECT_SQLITE = 0, STORE_DIALECT_PG };

struct store_backend {
	const char *name; /* "sqlite", "postgresql" */
	enum store_dialect dialect;
	const struct store_schema *schema;
	/* Frees the backend's state and the struct store itself; a transaction
	 * left open rolls back. */
	void (*close)(struct store *s);
	/* SQL text without parameters or rows (SAVEPOINT, a migration: may hold
	 * several statements). 0 / -1 with the error recorded. */
	int (*exec)(struct store *s, const char *sql);
	/* Runs sql (a string literal: backends may cache per pointer) with args
	 * bound as parameters 1..nargs. Each row goes to fn (fn NULL: rows are
	 * read and dropped) until fn returns non-zero or max_rows rows were
	 * passed (0: no limit); a write is always run to its end, so its failure
	 * is never lost. *changed (may be NULL) gets the rows a write changed.
	 * Rows passed (the one that stopped counted), or -1 with the error
	 * recorded as "what: message". */
	long (*query)(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
	              store_row_fn fn, void *arg, long max_rows, long *changed, const char *what);
	/* Transactions: begin takes the write lock at once (SQLite BEGIN
	 * IMMEDIATE; PostgreSQL BEGIN ISOLATION LEVEL READ COMMITTED), begin_read
	 * a consistent snapshot for a report (SQLite BEGIN DEFERRED; PostgreSQL
	 * REPEATABLE READ, READ ONLY). 0 / -1. */
	int (*begin)(struct store *s);
	int (*begin_read)(struct store *s);
	int (*commit)(struct store *s);
	int (*rollback)(struct store *s);
	bool (*in_tx)(const struct store *s);
	/* The schema version recorded in the database (0 for an empty one). */
	int (*version_get)(struct store *s, int *v);
	/* Records v, inside the migration's transaction. */
	int (*version_set)(struct store *s, int v);
	/* Column accessors for the rows this backend hands out. */
	int64_t (*col_int64)(const struct store_row *r, int col);
	const char *(*col_text)(const struct store_row *r, int col);
	bool (*col_null)(const struct store_row *r, int col);
	const void *(*col_blob)(const struct store_row *r, int col, size_t *len);
};

/* The head of every backend's handle (the backend's own struct begins with
 * it): the backend and the last error. */
struct store {
	const struct store_backend *b;
	char err[256]; /* last error, for store_errmsg() */
};

/* The head of every backend's row: the accessors dispatch through it. */
struct store_row {
	const struct store_backend *b;
};

int64_t store_row_int64(const struct store_row *r, int col);
const char *store_row_text(const struct store_row *r, int col);
bool store_row_null(const struct store_row *r, int col);
const void *store_row_blob(const struct store_row *r, int col, size_t *len);
/* Column col as text copied (truncated) into dst; "" for NULL. */
void store_row_copy(const struct store_row *r, int col, char *dst, size_t dstlen);

/* The text for this store's backend: lite for SQLite, pg for PostgreSQL. */
const char *store_sql(const struct store *s, const char *lite, const char *pg);
/* Records an error on the handle (store_errmsg() returns it). */
void store_fail(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For a backend's open: brings the schema to store_schema_version() in one
 * transaction (b->begin), reading the version again under the lock, running
 * base_sql on an empty database and the missing steps; refuses a database
 * whose version is newer than this program's. 0 / -1 with the error recorded. */
int store_migrate(struct store *s);

/* The backends: each opens its database, applies the schema's missing steps
 * in one transaction (refusing a version newer than store_schema_version())
 * and returns the handle, or NULL with the reason in err. */
struct store *store_sqlite_open(const char *path, char *err, size_t errlen);
/* dsn: a libpq connection string or URI; password_file: NULL, or a file
 * holding the password on its first line (owned by the daemon's user, not
 * readable by group or others: refused otherwise). */
struct store *store_pg_open(const char *dsn, const char *password_file, char *err, size_t errlen);

#endif
