/* test_store_migrate.c - store files of earlier schema versions (made here
 * by their own migrations) open and migrate to the current one: a version 7
 * file keeps its results, its results table then accepts the verdict
 * 'excluded' (issue 13) and still refuses names it does not know, and the
 * audit_cells view still works; a version 8 file keeps each result's software
 * through the results rebuild of 8 -> 9; a version 10 file's agents get
 * max_orders 0 (not said: the old order window) and keep everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_agents.h"
#include "store_internal.h"

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static long long raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *const v7_rows =
    "INSERT INTO agents (id, name, curve_public, ed25519_public, fingerprint, first_seen,"
    " last_seen) VALUES (1, 'alpha', 'c1', 'e1', 'f1', 1, 1);"
    "INSERT INTO audits (id, created_at) VALUES (1, 100);"
    "INSERT INTO orders (id, audit_id, agent_id, sequence, body, created_at)"
    " VALUES ('o-1', 1, 1, 1, x'00', 100);"
    "INSERT INTO results (agent_id, order_id, target, address, port, verdict, result_json,"
    " received_at, agent_verdict, canary) VALUES (1, 'o-1', 'mx.example.com', '192.0.2.25',"
    " 25, 'closed', '{}', 200, 'closed', NULL);"
    "PRAGMA user_version = 7;";

/* A store file in a new directory (dir, path filled in) at schema version
 * `version`, made by its migrations, holding v7_rows (then `extra` SQL),
 * left open for the caller's checks. */
static sqlite3 *file_at(char *dir, char *path, size_t pathlen, int version, const char *extra)
{
	sqlite3 *db;
	char sql[64];

	assert_non_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/store.db", dir);
	assert_true(store_schema_version() > version);
	db = raw_open(path);
	for (int v = 0; v < version; v++)
		assert_int_equal(sqlite3_exec(db, store_migrations[v], NULL, NULL, NULL),
		                 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v7_rows, NULL, NULL, NULL), SQLITE_OK);
	if (extra != NULL)
		assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

/* Opens path with the store (migrating it) and closes it; then the file
 * raw, at the current version. */
static sqlite3 *migrated(const char *path)
{
	char err[256] = "";
	struct store *s = store_open(path, err, sizeof(err));
	sqlite3 *db;

	if (s == NULL)
		fail_msg("store_open: %s", err);
	store_close(&s);
	db = raw_open(path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), store_schema_version());
	return db;
}

static void remove_dir(const char *dir)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_v7_migrates(void **state)
{
	char dir[] = "/tmp/rp-migrate-XXXXXX", path[64];
	sqlite3 *db;

	(void)state;
	db = file_at(dir, path, sizeof(path), 7, NULL);
	/* version 7 refuses the new verdict */
	assert_int_not_equal(sqlite3_exec(db,
	                                  "INSERT INTO results (agent_id, order_id, target,"
	                                  " verdict, result_json, received_at) VALUES (1, 'o-1',"
	                                  " 'x.example.com', 'excluded', '{}', 1)",
	                                  NULL, NULL, NULL),
	                     SQLITE_OK);
	sqlite3_close(db);

	db = migrated(path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM results WHERE target = 'mx.example.com'"
	                             " AND verdict = 'closed' AND agent_verdict = 'closed'"
	                             " AND address = '192.0.2.25' AND received_at = 200"),
	                 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit_cells WHERE audit_id = 1"), 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
	                             " AND name IN ('results_by_order', 'results_by_received',"
	                             " 'results_cells', 'results_canary_awaiting')"),
	                 4);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "INSERT INTO results (agent_id, order_id, target, verdict,"
	                 " result_json, received_at) VALUES (1, 'o-1', 'x.example.com',"
	                 " 'excluded', '{}', 1)",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db,
	                                  "INSERT INTO results (agent_id, order_id, target,"
	                                  " verdict, result_json, received_at) VALUES (1, 'o-1',"
	                                  " 'y.example.com', 'bogus', '{}', 1)",
	                                  NULL, NULL, NULL),
	                     SQLITE_OK);
	sqlite3_close(db);
	remove_dir(dir);
}

/* A version-8 file (the software read at ingest) keeps each result's
 * software through the results rebuild of 8 -> 9. */
static void test_v8_software_kept(void **state)
{
	char dir[] = "/tmp/rp-migrate-XXXXXX", path[64];
	sqlite3 *db;

	(void)state;
	db = file_at(dir, path, sizeof(path), 8,
	             "UPDATE results SET software = 'postfix', software_confidence = 'high';");
	sqlite3_close(db);
	db = migrated(path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM results WHERE target = 'mx.example.com'"
	                             " AND software = 'postfix' AND software_confidence = 'high'"),
	                 1);
	sqlite3_close(db);
	remove_dir(dir);
}

/* A version-10 file: 10 -> 11 adds agents.max_orders (Hello.max_orders, the
 * capacity the order window follows), 0 for the agents already there, and
 * its CHECK keeps it within 0..RP_AGENT_CAPACITY_MAX (64). */
static void test_v10_agents_max_orders(void **state)
{
	char dir[] = "/tmp/rp-migrate-XXXXXX", path[64];
	sqlite3 *db;
	char err[256] = "";
	struct store *s;
	struct store_agent_info info;

	(void)state;
	db = file_at(dir, path, sizeof(path), 10, "UPDATE agents SET status = 'approved';");
	/* version 10 has no such column */
	assert_int_not_equal(sqlite3_exec(db, "UPDATE agents SET max_orders = 4", NULL, NULL, NULL),
	                     SQLITE_OK);
	sqlite3_close(db);
	db = migrated(path);
	assert_int_equal(raw_int(db,
	                         "SELECT count(*) FROM agents WHERE id = 1 AND name = 'alpha'"
	                         " AND status = 'approved' AND last_seen = 1 AND max_orders = 0"),
	                 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM results WHERE agent_id = 1"), 1);
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE agents SET max_orders = 64 WHERE id = 1", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(db, "UPDATE agents SET max_orders = 65 WHERE id = 1", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(db, "UPDATE agents SET max_orders = -1 WHERE id = 1", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	/* and the store reads it back */
	s = store_open(path, err, sizeof(err));
	if (s == NULL)
		fail_msg("store_open: %s", err);
	assert_int_equal(store_agent_by_id(s, 1, &info), 1);
	assert_int_equal(info.max_orders, 64);
	store_close(&s);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v7_migrates),
	    cmocka_unit_test(test_v8_software_kept),
	    cmocka_unit_test(test_v10_agents_max_orders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
