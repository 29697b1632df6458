/* store_internal.h - what the store's own files (store.c, store_schema.c,
 * store_agents.c, store_results.c, store_hooks.c, ...) share: the handle's
 * layout, the migrations, the statement and error helpers, and the few calls
 * one entity makes into another inside a transaction (store_canary_on_result
 * from the ingest). It includes only store.h: an entity file includes the
 * public headers of the entities it uses, and those never include each other.
 * Not for use outside controller/store*.c (hooks*.c and retention.c go
 * through store_hooks.h). */
#ifndef RP_STORE_INTERNAL_H
#define RP_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Prepared statements are kept per SQL text (the callers' string literals)
 * and reset for the next use: preparing cost the ingest path about a fifth
 * of its time. A statement in use is never handed out twice. */
#define STORE_STMT_CACHE 64
struct store_stmt {
	const char *sql;
	sqlite3_stmt *st;
	bool busy;
};

struct store {
	sqlite3 *db;
	char err[256]; /* last error, for store_errmsg() */
	struct store_stmt cache[STORE_STMT_CACHE];
	size_t ncache;
};

/* Migrations: store_migrations[i] takes user_version i to i + 1. */
extern const char *const store_migrations[];
extern const int store_migrations_count;

void store_fail(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records what failed with SQLite's message; returns -1. */
int store_db_fail(struct store *s, const char *what);
/* Ends the use of a statement from store_prep(): reset and kept when it is
 * cached, finalized otherwise. Accepts NULL. */
void store_done(struct store *s, sqlite3_stmt *st);
/* Prepares sql (or takes it from the cache); NULL (error recorded) on failure.
 * sql must live as long as the store (a string literal). */
sqlite3_stmt *store_prep(struct store *s, const char *sql);
/* Runs a statement that returns no row and ends its use; 0 / -1. */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what);
/* The one integer a "SELECT count(*) ..." without parameters returns, or
 * -1 (what names it in the error). */
long store_count_rows(struct store *s, const char *sql, const char *what);
/* Runs SQL text without rows (BEGIN, COMMIT, a migration); 0 / -1. */
int store_exec(struct store *s, const char *sql);
/* Agent keys, names and fingerprints, result targets: ASCII text. */
bool store_text_ok(const char *t, size_t max);
/* A client or a schedule selector value: UTF-8 text, "" for none. */
bool store_inv_text_ok(const char *c);
/* Column col as text copied (truncated) into dst; "" for NULL. */
void store_copy_col(sqlite3_stmt *st, int col, char *dst, size_t dstlen);
/* The enum value of a status / state name as stored, or -1. */
int store_agent_status_of(const char *t);
int store_order_state_of(const char *t);
/* Steps st (bound by the caller; column 0 a name), passing each name to
 * cb (non-zero stops), and ends its use. Names passed, or -1 (what names
 * it in the error). */
long store_names(struct store *s, sqlite3_stmt *st, store_name_cb cb, void *arg, const char *what);
/* Column i as text, "" for NULL. */
const char *store_col(sqlite3_stmt *st, int i);

/* ---- statements with bound values: the one place entity files prepare,
 * bind, step and read. Every value is bound (never printed into SQL); a
 * value list is an array of typed struct store_arg, parameter i + 1 being
 * args[i], written with the SA_* makers inside STORE_ARGS():
 *     store_run(s, "UPDATE t SET a = ?1 WHERE id = ?2",
 *               STORE_ARGS(SA_TEXT(a), SA_INT(id)), "t update");
 * STORE_NOARGS for none. Text and blobs are borrowed until the call
 * returns (SQLITE_STATIC: the statement is reset before it does). */
enum store_arg_kind { STORE_ARG_NULL = 0, STORE_ARG_INT, STORE_ARG_TEXT, STORE_ARG_BLOB };
struct store_arg {
	enum store_arg_kind kind;
	int64_t i;
	const void *p; /* STORE_ARG_TEXT (NUL-terminated; NULL binds NULL), BLOB */
	size_t len;    /* STORE_ARG_BLOB bytes */
};
#define SA_NULL       ((struct store_arg){.kind = STORE_ARG_NULL})
#define SA_INT(v)     ((struct store_arg){.kind = STORE_ARG_INT, .i = (int64_t)(v)})
#define SA_TEXT(v)    ((struct store_arg){.kind = STORE_ARG_TEXT, .p = (const char *)(v)})
#define SA_BLOB(v, n) ((struct store_arg){.kind = STORE_ARG_BLOB, .p = (v), .len = (n)})
#define STORE_ARGS(...)                                                                            \
	(const struct store_arg[]){__VA_ARGS__},                                                   \
	    sizeof((const struct store_arg[]){__VA_ARGS__}) / sizeof(struct store_arg)
#define STORE_NOARGS NULL, 0

/* One row handed to a store_row_fn: columns read with sqlite3_column_*()
 * or store_col(), valid for the call only; non-zero stops the walk. */
typedef int (*store_row_fn)(void *arg, sqlite3_stmt *st);

/* store_prep() and binds args; NULL (error recorded, statement ended) on
 * failure. The caller ends its use with store_done(). */
sqlite3_stmt *store_query(struct store *s, const char *sql, const struct store_arg *args,
                          size_t nargs);
/* Runs a statement that returns no row; the rows it changed, or -1 (what
 * names it in the error). */
long store_run(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
               const char *what);
/* As store_run(), and fails (-1) unless exactly one row changed. */
int store_run_one(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                  const char *what);
/* Steps a bound statement (store_query()), passing each row to fn, and
 * ends its use. Rows passed (the one that stopped counted), or -1. */
long store_rows(struct store *s, sqlite3_stmt *st, store_row_fn fn, void *arg, const char *what);
/* store_query() + store_rows(). */
long store_each(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                store_row_fn fn, void *arg, const char *what);
/* The first row only (fn may be NULL: is there one?): 1 found, 0 none, -1. */
int store_first(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                store_row_fn fn, void *arg, const char *what);
/* The first row's column 0 as an integer (a NULL column reads 0) into *out
 * (untouched when none): 1 / 0 / -1. */
int store_one_int64(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                    int64_t *out, const char *what);
/* The first row's column 0 as text copied (truncated) into out, "" when
 * there is no row or the value is NULL: 1 (a non-NULL value) / 0 / -1. */
int store_one_text(struct store *s, const char *sql, const struct store_arg *args, size_t nargs,
                   char *out, size_t outlen, const char *what);
/* A unit of work: its own transaction (BEGIN IMMEDIATE) when none is open
 * (outer = sqlite3_get_autocommit() before), else a savepoint; end it with
 * ok or not. 0 / -1. */
int store_work_begin(struct store *s);
int store_work_end(struct store *s, int ok, int outer);
/* store_canary.c: a new result's canary state and the arrivals that came
 * before it (inside the ingest's transaction). 0 / -1. */
int store_canary_on_result(struct store *s, int64_t result_id, const char *order_id,
                           const char *target);

#endif
