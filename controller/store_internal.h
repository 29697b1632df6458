/* store_internal.h - what the store's own files (store.c, store_schema.c,
 * store_matrix.c) share: the handle's layout, the migrations and error
 * helpers. Not for use outside controller/store*.c. */
#ifndef RP_STORE_INTERNAL_H
#define RP_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3 *db;
	char err[256]; /* last error, for store_errmsg() */
};

/* Migrations: store_migrations[i] takes user_version i to i + 1. */
extern const char *const store_migrations[];
extern const int store_migrations_count;

void store_fail(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records what failed with SQLite's message; returns -1. */
int store_db_fail(struct store *s, const char *what);
/* Prepares sql; NULL (error recorded) on failure. */
sqlite3_stmt *store_prep(struct store *s, const char *sql);

#endif
