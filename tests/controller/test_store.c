/* test_store.c - unit tests for the controller's SQLite store on real files
 * in a mkdtemp directory: schema version, reopen, refusal of a newer schema,
 * idempotent ingestion, crash safety (a child that _exit()s or is killed
 * mid-transaction), persisted sequences, re-send of unacknowledged orders,
 * agent enrolment states and the audit matrix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rp_limits.h"
#include "store_agents.h"
#include "store_inventory.h"
#include "store_orders.h"
#include "store_results.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *s;
	int64_t agent[3];
	int64_t audit;
};

static struct store *open_ok(const char *path)
{
	char err[256] = "";
	struct store *s = store_open(path, err, sizeof(err));

	if (s == NULL)
		fail_msg("store_open: %s", err);
	return s;
}

static int64_t add_agent(struct store *s, const char *name)
{
	char curve[64], ed[64];
	struct store_agent a = {0};
	int64_t id = 0;

	snprintf(curve, sizeof(curve), "curve-%s", name);
	snprintf(ed, sizeof(ed), "ed-%s", name);
	a.name = name;
	a.curve_public = curve;
	a.ed25519_public = ed;
	a.fingerprint = "fp";
	assert_int_equal(store_agent_upsert(s, &a, 100, &id, NULL), 0);
	assert_int_equal(store_agent_approve(s, id), 0);
	return id;
}

static void add_order(struct store *s, const char *id, int64_t audit, int64_t agent)
{
	struct store_order o = {0};
	uint64_t seq;

	assert_int_equal(store_next_sequence(s, agent, &seq), 0);
	o.id = id;
	o.audit_id = audit;
	o.agent_id = agent;
	o.sequence = seq;
	o.body = (const uint8_t *)"signed-body";
	o.body_len = 11;
	assert_int_equal(store_order_add(s, &o, 200), 0);
}

static enum store_ingest ingest(struct store *s, int64_t agent, const char *order,
                                const char *target, const char *addr, unsigned port,
                                enum dialog_verdict v)
{
	struct store_result r = {agent,           order, target, addr, port, v,
	                         "{\"ok\":true}", 0,     0,      NULL, NULL};

	return store_result_ingest(s, &r, 300);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rp-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/controller.db", f->dir);
	f->s = open_ok(f->path);
	f->agent[0] = add_agent(f->s, "alpha");
	f->agent[1] = add_agent(f->s, "bravo");
	f->agent[2] = add_agent(f->s, "charlie");
	assert_int_equal(store_audit_create(f->s, "{\"tests\":\"all\"}", 150, &f->audit), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	store_close(&f->s);
	if (strncmp(f->dir, "/tmp/rp-store-", 14) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", f->dir);
	}
	free(f);
	return 0;
}

/* One integer from a query on a raw connection (the way an operator's
 * sqlite3 shell sees the file). */
static long long raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_schema(void **state)
{
	struct fx *f = *state;
	struct stat st;
	sqlite3 *db;
	sqlite3_stmt *q;

	assert_true(store_schema_version() >= 1);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), store_schema_version());
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name IN"
	                                  " ('agents','targets','audits','orders','results',"
	                                  "'audit_cells')"),
	                 6);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
	store_close(&f->s);
	assert_null(f->s);
	store_close(&f->s);
}

static void test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	int64_t t, t2;

	add_order(f->s, "o-1", f->audit, f->agent[0]);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx.example", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_NEW);
	assert_int_equal(store_target_add(f->s, "mx.example", "acme", "[\"prod\"]", &t), 0);
	store_close(&f->s);
	f->s = open_ok(f->path);
	assert_int_equal(store_result_count(f->s), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM agents WHERE status = 'approved'"),
	                 3);
	/* A duplicate after reopen is still a duplicate. */
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx.example", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_DUPLICATE);
	assert_int_equal(store_result_count(f->s), 1);
	/* The same (spec, client) is the same target. */
	assert_int_equal(store_target_add(f->s, "mx.example", "acme", NULL, &t2), 0);
	assert_int_equal(t2, t);
}

static void test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	char sql[64], err[256] = "";
	sqlite3 *db;

	store_close(&f->s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_schema_version() + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_null(store_open(f->path, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	/* Refusing did not touch it. */
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), store_schema_version() + 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM agents"), 3);
}

/* The software columns (schema 8): an ingested result keeps what the
 * controller read; a file of the version before (the columns dropped, the
 * version lowered, as that release left it) migrates with its data, its
 * old results without software. */
static int software_cb(void *arg, const char *target, const char *sw, const char *conf)
{
	char *out = arg;

	snprintf(out, 64, "%s %s %s", target, sw, conf);
	return 0;
}

static void test_software_migration(void **state)
{
	struct fx *f = *state;
	char sql[64], err[256] = "", got[64] = "";
	struct store_result r = {f->agent[0],     "o1", "192.0.2.1", "192.0.2.1", 25,    DV_OPEN,
	                         "{\"ok\":true}", 0,    0,           "postfix",   "high"};
	sqlite3 *db;

	add_order(f->s, "o1", f->audit, f->agent[0]);
	assert_int_equal(store_result_ingest(f->s, &r, 300), STORE_INGEST_NEW);
	assert_int_equal(store_audit_software(f->s, f->audit, NULL, software_cb, got), 1);
	assert_string_equal(got, "192.0.2.1 postfix high");
	store_close(&f->s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "ALTER TABLE results DROP COLUMN software;"
	                              "ALTER TABLE results DROP COLUMN software_confidence;"
	                              /* 9 -> 10 and 10 -> 11 made these; no file
	                               * of 7 has them */
	                              "DROP TABLE exclusions;"
	                              "ALTER TABLE agents DROP COLUMN max_orders;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	/* 7: the version before the software columns (7 -> 8) */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", 7);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), store_schema_version());
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM results WHERE software IS NULL"
	                                  " AND software_confidence IS NULL"),
	                 1);
	got[0] = '\0';
	assert_int_equal(store_audit_software(f->s, f->audit, "192.0.2.1", software_cb, got), 0);
	assert_string_equal(got, "");
}

static void test_ingest_idempotent(void **state)
{
	struct fx *f = *state;
	struct store_result bad = {f->agent[0], "o-1", "mx", "127.0.0.3", 25,  DV_OPEN,
	                           "{not json", 0,     0,    NULL,        NULL};

	add_order(f->s, "o-1", f->audit, f->agent[0]);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", "127.0.0.1", 25, DV_CLOSED),
	                 STORE_INGEST_NEW);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", "127.0.0.1", 25, DV_CLOSED),
	                 STORE_INGEST_DUPLICATE);
	/* A different verdict for the same key is still the same result. */
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_DUPLICATE);
	assert_int_equal(store_result_count(f->s), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM results WHERE verdict='closed'"),
	                 1);
	/* Another address or port is another result; no address is one key. */
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", "127.0.0.2", 25, DV_CLOSED),
	                 STORE_INGEST_NEW);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", "127.0.0.1", 587, DV_CLOSED),
	                 STORE_INGEST_NEW);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", NULL, 0, DV_UNREACHABLE),
	                 STORE_INGEST_NEW);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", "", 0, DV_UNREACHABLE),
	                 STORE_INGEST_DUPLICATE);
	assert_int_equal(store_result_count(f->s), 4);

	/* Refused: unknown order, another agent's order, bad fields. */
	assert_int_equal(ingest(f->s, f->agent[0], "o-404", "mx", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_REJECTED);
	assert_int_equal(ingest(f->s, f->agent[1], "o-1", "mx", "127.0.0.9", 25, DV_OPEN),
	                 STORE_INGEST_REJECTED);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", "127.0.0.1", 70000, DV_OPEN),
	                 STORE_INGEST_REJECTED);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_REJECTED);
	assert_int_equal(ingest(f->s, f->agent[0], "o/1", "mx", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_REJECTED);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "mx", "127.0.0.1", 26, DV_COUNT),
	                 STORE_INGEST_REJECTED);
	assert_int_equal(store_result_ingest(f->s, &bad, 300), STORE_INGEST_REJECTED);
	assert_int_equal(store_result_count(f->s), 4);

	/* Every verdict name of common/verdict.c passes the schema's CHECK. */
	for (int v = 0; v < DV_COUNT; v++)
		assert_int_equal(ingest(f->s, f->agent[0], "o-1", "all", "127.0.0.1",
		                        (unsigned)(1000 + v), (enum dialog_verdict)v),
		                 STORE_INGEST_NEW);

	/* Inside an explicit batch: one commit for all, duplicates still seen. */
	assert_int_equal(store_tx_begin(f->s), 0);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "batch", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_NEW);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "batch", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_DUPLICATE);
	assert_int_equal(ingest(f->s, f->agent[1], "o-1", "batch", "127.0.0.1", 25, DV_OPEN),
	                 STORE_INGEST_REJECTED);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "batch", "127.0.0.2", 25, DV_OPEN),
	                 STORE_INGEST_NEW);
	assert_int_equal(store_tx_commit(f->s), 0);
	assert_int_equal(store_result_count(f->s), 4 + DV_COUNT + 2);
}

/* A child that writes through its own store handle and dies without
 * store_close(). */
static void child_ingest_and_die(const char *path, int64_t agent, int n)
{
	char err[256], target[32];
	struct store *s = store_open(path, err, sizeof(err));

	if (s == NULL)
		_exit(2);
	for (int i = 0; i < n; i++) {
		snprintf(target, sizeof(target), "t%03d", i);
		if (ingest(s, agent, "o-1", target, "127.0.0.1", 25, DV_CLOSED) != STORE_INGEST_NEW)
			_exit(3);
	}
	_exit(0);
}

/* A child that opens a transaction by hand and dies in the middle of it. */
static void child_die_mid_transaction(const char *path, int64_t agent)
{
	sqlite3 *db;
	char sql[256];

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		_exit(2);
	for (int i = 0; i < 20; i++) {
		snprintf(sql, sizeof(sql),
		         "INSERT INTO results (agent_id, order_id, target, verdict, result_json,"
		         " received_at) VALUES (%lld, 'o-1', 'torn%d', 'open', '{}', 1)",
		         (long long)agent, i);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			_exit(3);
	}
	_exit(0); /* no COMMIT, no close */
}

static int wait_child(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* What an agent may earn on an order (issue 8): nothing past its ORDER_DONE
 * but the results it declared, at most target_results_max per target and
 * order_bytes_max for the order; a duplicate is acknowledged whatever the
 * state. Each of these was stored before the quotas. */
static void test_ingest_quotas(void **state)
{
	struct fx *f = *state;
	struct store_result r = {f->agent[0],     "o-q", "mx", "192.0.2.1", 25,  DV_OPEN,
	                         "{\"ok\":true}", 3,     0,    NULL,        NULL};
	char addr[32];
	char ids[4][129];
	int64_t audits[4];

	add_order(f->s, "o-q", f->audit, f->agent[0]);
	/* Per target: 3 results, then refused; another target has its own. */
	for (int i = 1; i <= 4; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", i);
		r.address = addr;
		assert_int_equal(store_result_ingest(f->s, &r, 300),
		                 i <= 3 ? STORE_INGEST_NEW : STORE_INGEST_REJECTED);
	}
	assert_non_null(strstr(store_errmsg(f->s), "already has 3 results"));
	r.target = "mx2";
	assert_int_equal(store_result_ingest(f->s, &r, 300), STORE_INGEST_NEW);
	/* Per order: bytes. 4 results of 11 bytes are stored; a cap of 50
	 * leaves room for none more. */
	r.order_bytes_max = 50;
	r.address = "192.0.2.77";
	assert_int_equal(store_result_ingest(f->s, &r, 300), STORE_INGEST_REJECTED);
	assert_non_null(strstr(store_errmsg(f->s), "quota"));
	r.order_bytes_max = 0;
	assert_int_equal(raw_int(f->path, "SELECT results_n FROM orders WHERE id='o-q'"), 4);
	assert_int_equal(raw_int(f->path, "SELECT results_bytes FROM orders WHERE id='o-q'"), 44);

	/* Done, with 5 declared: one more is accepted (it was in flight),
	 * then none; a duplicate still is. */
	assert_int_equal(store_order_mark_done_declared(f->s, "o-q", 400, 5), 0);
	r.address = "192.0.2.5";
	assert_int_equal(store_result_ingest(f->s, &r, 401), STORE_INGEST_NEW);
	r.address = "192.0.2.6";
	assert_int_equal(store_result_ingest(f->s, &r, 402), STORE_INGEST_REJECTED);
	assert_non_null(strstr(store_errmsg(f->s), "is done"));
	r.address = "192.0.2.5";
	assert_int_equal(store_result_ingest(f->s, &r, 403), STORE_INGEST_DUPLICATE);
	/* The first declaration stands. */
	assert_int_equal(store_order_mark_done_declared(f->s, "o-q", 404, 1000), 0);
	r.address = "192.0.2.6";
	assert_int_equal(store_result_ingest(f->s, &r, 405), STORE_INGEST_REJECTED);
	/* Done with nothing declared (closed by the controller): no more. */
	add_order(f->s, "o-closed", f->audit, f->agent[0]);
	assert_int_equal(store_order_mark(f->s, "o-closed", STORE_ORDER_DONE, 400), 0);
	r.order_id = "o-closed";
	assert_int_equal(store_result_ingest(f->s, &r, 401), STORE_INGEST_REJECTED);

	/* Stalled: acked at 500, no result since; a new result is progress. */
	add_order(f->s, "o-stall", f->audit, f->agent[0]);
	assert_int_equal(store_order_mark(f->s, "o-stall", STORE_ORDER_SENT, 499), 0);
	assert_int_equal(store_order_mark(f->s, "o-stall", STORE_ORDER_ACKED, 500), 0);
	assert_int_equal(store_orders_stalled(f->s, 500, ids, audits, 4), 0);
	assert_int_equal(store_orders_stalled(f->s, 501, ids, audits, 4), 1);
	assert_string_equal(ids[0], "o-stall");
	assert_int_equal(audits[0], f->audit);
	r.order_id = "o-stall";
	assert_int_equal(store_result_ingest(f->s, &r, 600), STORE_INGEST_NEW);
	assert_int_equal(store_orders_stalled(f->s, 600, ids, audits, 4), 0);
	assert_int_equal(store_orders_stalled(f->s, 601, ids, audits, 4), 1);
}

static void test_crash_safety(void **state)
{
	struct fx *f = *state;
	int fds[2], status;
	pid_t pid;
	int acked = 0;
	long n;
	char target[32];

	add_order(f->s, "o-1", f->audit, f->agent[0]);
	store_close(&f->s);

	/* 1. Commits then exit without closing: everything is there. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_ingest_and_die(f->path, f->agent[0], 5);
	status = wait_child(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	f->s = open_ok(f->path);
	assert_int_equal(store_result_count(f->s), 5);

	/* 2. Death inside an open transaction: none of it is visible, the
	 * file is sound, the same rows can be ingested afterwards. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_die_mid_transaction(f->path, f->agent[0]);
	status = wait_child(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(store_result_count(f->s), 5);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM results WHERE target LIKE 'torn%'"),
	                 0);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", "torn0", NULL, 0, DV_OPEN),
	                 STORE_INGEST_NEW);
	store_close(&f->s);

	/* 3. SIGKILL while ingesting: every result the child saw committed is
	 * there, at most one more, and the rows form a prefix. */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		struct store *s = store_open(f->path, err, sizeof(err));

		close(fds[0]);
		for (int i = 0; s != NULL; i++) {
			snprintf(target, sizeof(target), "k%06d", i);
			if (ingest(s, f->agent[0], "o-1", target, "127.0.0.1", 25, DV_CLOSED) !=
			    STORE_INGEST_NEW)
				_exit(3);
			if (write(fds[1], "x", 1) != 1)
				_exit(4);
		}
		_exit(2);
	}
	close(fds[1]);
	while (acked < 40) {
		char c;

		if (read(fds[0], &c, 1) != 1)
			break;
		acked++;
	}
	kill(pid, SIGKILL);
	status = wait_child(pid);
	close(fds[0]);
	assert_int_equal(acked, 40);
	assert_true(WIFSIGNALED(status));

	f->s = open_ok(f->path);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_integrity_check"
	                                  " WHERE integrity_check <> 'ok'"),
	                 0);
	n = (long)raw_int(f->path, "SELECT count(*) FROM results WHERE target LIKE 'k%'");
	assert_true(n >= 40);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM results WHERE target LIKE 'k%'"
	                                  " AND CAST(substr(target, 2) AS INTEGER) >= (SELECT"
	                                  " count(*) FROM results WHERE target LIKE 'k%')"),
	                 0);
	/* The next one goes on from there. */
	snprintf(target, sizeof(target), "k%06ld", n);
	assert_int_equal(ingest(f->s, f->agent[0], "o-1", target, "127.0.0.1", 25, DV_CLOSED),
	                 STORE_INGEST_NEW);
}

static void test_sequence(void **state)
{
	struct fx *f = *state;
	uint64_t a, b, c;

	assert_int_equal(store_next_sequence(f->s, f->agent[0], &a), 0);
	assert_int_equal(store_next_sequence(f->s, f->agent[0], &b), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	/* Per agent. */
	assert_int_equal(store_next_sequence(f->s, f->agent[1], &c), 0);
	assert_int_equal(c, 1);
	store_close(&f->s);
	f->s = open_ok(f->path);
	assert_int_equal(store_next_sequence(f->s, f->agent[0], &c), 0);
	assert_int_equal(c, 3);
	assert_int_equal(store_next_sequence(f->s, 9999, &c), -1);
}

struct seen {
	char ids[8][16];
	uint64_t seq[8];
	int n;
};

static int order_cb(void *arg, const struct store_order *o)
{
	struct seen *s = arg;

	assert_int_equal(o->body_len, 11);
	assert_memory_equal(o->body, "signed-body", 11);
	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", o->id);
		s->seq[s->n] = o->sequence;
	}
	s->n++;
	return 0;
}

static void test_unacked_orders(void **state)
{
	struct fx *f = *state;
	struct seen s = {0};
	enum store_order_state st;
	struct store_order dup = {.id = "o-a",
	                          .audit_id = f->audit,
	                          .agent_id = f->agent[0],
	                          .sequence = 1,
	                          .body = (const uint8_t *)"x",
	                          .body_len = 1};

	add_order(f->s, "o-a", f->audit, f->agent[0]);
	add_order(f->s, "o-b", f->audit, f->agent[0]);
	add_order(f->s, "o-c", f->audit, f->agent[0]);
	add_order(f->s, "o-other", f->audit, f->agent[1]);
	/* Same id or same (agent, sequence): refused. */
	assert_int_equal(store_order_add(f->s, &dup, 1), -1);
	dup.id = "o-z";
	assert_int_equal(store_order_add(f->s, &dup, 1), -1);

	assert_int_equal(store_order_mark(f->s, "o-a", STORE_ORDER_SENT, 210), 0);
	assert_int_equal(store_order_mark(f->s, "o-a", STORE_ORDER_ACKED, 220), 0);
	assert_int_equal(store_order_mark(f->s, "o-b", STORE_ORDER_SENT, 230), 0);
	/* Late events never move an order backwards. */
	assert_int_equal(store_order_mark(f->s, "o-a", STORE_ORDER_SENT, 240), 0);
	assert_int_equal(store_order_state(f->s, "o-a", &st), 0);
	assert_int_equal(st, STORE_ORDER_ACKED);
	assert_int_equal(store_order_mark(f->s, "nope", STORE_ORDER_SENT, 1), -1);
	/* pending is where an order starts, no move: refused, o-a unchanged */
	assert_int_equal(store_order_mark(f->s, "o-a", STORE_ORDER_PENDING, 245), -1);
	assert_int_equal(store_order_mark(f->s, "o-a", STORE_ORDER_STATE_COUNT, 245), -1);
	assert_int_equal(store_order_state(f->s, "o-a", &st), 0);
	assert_int_equal(st, STORE_ORDER_ACKED);

	assert_int_equal(store_orders_unacked(f->s, f->agent[0], order_cb, &s), 2);
	assert_string_equal(s.ids[0], "o-b");
	assert_string_equal(s.ids[1], "o-c");
	assert_true(s.seq[0] < s.seq[1]);

	/* Still there after a restart, until acknowledged. */
	store_close(&f->s);
	f->s = open_ok(f->path);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_orders_unacked(f->s, f->agent[0], order_cb, &s), 2);
	assert_int_equal(store_order_mark(f->s, "o-b", STORE_ORDER_ACKED, 250), 0);
	assert_int_equal(store_order_mark(f->s, "o-a", STORE_ORDER_DONE, 260), 0);
	assert_int_equal(store_order_mark(f->s, "o-a", STORE_ORDER_ACKED, 270), 0);
	assert_int_equal(store_order_state(f->s, "o-a", &st), 0);
	assert_int_equal(st, STORE_ORDER_DONE);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_orders_unacked(f->s, f->agent[0], order_cb, &s), 1);
	assert_string_equal(s.ids[0], "o-c");
}

/* The order window's store side: next pending by sequence, re-sign as
 * sent (only from pending), requeue (only from sent), unsent, the count of
 * orders out; and the ingest counter. */
static void test_order_window(void **state)
{
	struct fx *f = *state;
	char id[STORE_ORDER_ID_MAX + 1];
	uint8_t *body = NULL;
	size_t len = 0;
	int reissues = -1;
	uint64_t seq;
	enum store_order_state st;

	add_order(f->s, "w-1", f->audit, f->agent[0]);
	add_order(f->s, "w-2", f->audit, f->agent[0]);
	assert_int_equal(store_orders_outstanding(f->s, f->agent[0]), 0);
	assert_int_equal(store_order_next_pending(f->s, f->agent[0], id, &body, &len, &reissues),
	                 1);
	assert_string_equal(id, "w-1");
	assert_int_equal(len, 11);
	assert_memory_equal(body, "signed-body", 11);
	assert_int_equal(reissues, 0);
	free(body);

	assert_int_equal(store_next_sequence(f->s, f->agent[0], &seq), 0);
	assert_int_equal(store_order_resign_sent(f->s, "w-1", seq, (const uint8_t *)"new", 3, 400),
	                 0);
	/* Only a pending order is re-signed. */
	assert_int_equal(
	    store_order_resign_sent(f->s, "w-1", seq + 1, (const uint8_t *)"x", 1, 401), -1);
	assert_int_equal(store_order_state(f->s, "w-1", &st), 0);
	assert_int_equal(st, STORE_ORDER_SENT);
	assert_int_equal(store_orders_outstanding(f->s, f->agent[0]), 1);
	assert_int_equal(store_order_next_pending(f->s, f->agent[0], id, &body, &len, &reissues),
	                 1);
	assert_string_equal(id, "w-2");
	free(body);

	/* Refused unrun: back to pending, after w-2 (its sequence is newer). */
	assert_int_equal(store_order_requeue(f->s, "w-1"), 0);
	assert_int_equal(store_order_requeue(f->s, "w-1"), -1);
	assert_int_equal(store_orders_outstanding(f->s, f->agent[0]), 0);
	assert_int_equal(store_order_next_pending(f->s, f->agent[0], id, &body, &len, &reissues),
	                 1);
	assert_string_equal(id, "w-2");
	free(body);
	assert_int_equal(store_order_mark(f->s, "w-2", STORE_ORDER_DONE, 410), 0);
	assert_int_equal(store_order_next_pending(f->s, f->agent[0], id, &body, &len, &reissues),
	                 1);
	assert_string_equal(id, "w-1");
	assert_int_equal(reissues, 1);
	assert_memory_equal(body, "new", 3);
	free(body);

	/* A failed send keeps it sent with sent_at 0: re-sent on HELLO. */
	assert_int_equal(store_next_sequence(f->s, f->agent[0], &seq), 0);
	assert_int_equal(store_order_resign_sent(f->s, "w-1", seq, (const uint8_t *)"n2", 2, 420),
	                 0);
	assert_int_equal(store_order_unsent(f->s, "w-1"), 0);
	assert_int_equal(raw_int(f->path, "SELECT sent_at FROM orders WHERE id = 'w-1'"), 0);
	assert_int_equal(store_order_mark(f->s, "w-1", STORE_ORDER_DONE, 430), 0);
	assert_int_equal(store_order_unsent(f->s, "w-1"), -1);
	assert_int_equal(store_order_next_pending(f->s, f->agent[0], id, &body, &len, &reissues),
	                 0);

	/* The ingest counter counts new results only. */
	assert_int_equal(store_counter(f->s, "results_ingested"), 0);
	add_order(f->s, "w-3", f->audit, f->agent[0]);
	assert_int_equal(ingest(f->s, f->agent[0], "w-3", "t1", "127.0.0.1", 25, DV_CLOSED),
	                 STORE_INGEST_NEW);
	assert_int_equal(ingest(f->s, f->agent[0], "w-3", "t1", "127.0.0.1", 25, DV_CLOSED),
	                 STORE_INGEST_DUPLICATE);
	assert_int_equal(store_counter(f->s, "results_ingested"), 1);
	assert_int_equal(store_counter(f->s, "no-such-counter"), 0);
}

struct agents_seen {
	int n;
	enum store_agent_status status[8];
	int64_t last_seen[8];
};

static int agent_cb(void *arg, const struct store_agent *a)
{
	struct agents_seen *s = arg;

	if (s->n < 8) {
		s->status[s->n] = a->status;
		s->last_seen[s->n] = a->last_seen;
	}
	s->n++;
	return 0;
}

static void test_agents(void **state)
{
	struct fx *f = *state;
	struct store_agent a = {.name = "delta",
	                        .curve_public = "curve-delta",
	                        .ed25519_public = "ed-delta",
	                        .fingerprint = "fp-d",
	                        .labels = "{\"loc\":\"x\"}"};
	struct agents_seen s = {0};
	enum store_agent_status st;
	int64_t id, id2;

	assert_int_equal(store_agent_upsert(f->s, &a, 500, &id, &st), 0);
	assert_int_equal(st, STORE_AGENT_PENDING);
	/* Hello again: same id, status kept, last_seen moves. */
	assert_int_equal(store_agent_approve(f->s, id), 0);
	assert_int_equal(store_agent_upsert(f->s, &a, 600, &id2, &st), 0);
	assert_int_equal(id2, id);
	assert_int_equal(st, STORE_AGENT_APPROVED);
	assert_int_equal(store_agent_list(f->s, agent_cb, &s), 4);
	assert_int_equal(s.last_seen[3], 600);

	/* The capacity its HELLO said (Hello.max_orders): 0 until heard, the
	 * last value kept, 0..RP_AGENT_CAPACITY_MAX only. */
	{
		struct store_agent_info info;

		assert_int_equal(store_agent_by_id(f->s, id, &info), 1);
		assert_int_equal(info.max_orders, 0);
		assert_int_equal(store_agent_set_capacity(f->s, id, 4), 0);
		assert_int_equal(store_agent_set_capacity(f->s, id, RP_AGENT_CAPACITY_MAX), 0);
		assert_int_equal(store_agent_by_id(f->s, id, &info), 1);
		assert_int_equal(info.max_orders, RP_AGENT_CAPACITY_MAX);
		assert_int_equal(store_agent_set_capacity(f->s, id, RP_AGENT_CAPACITY_MAX + 1), -1);
		assert_int_equal(store_agent_by_curve(f->s, "curve-delta", &info), 1);
		assert_int_equal(info.max_orders, RP_AGENT_CAPACITY_MAX);
		assert_int_equal(store_agent_set_capacity(f->s, id, 0), 0); /* an old agent again */
		assert_int_equal(store_agent_by_id(f->s, id, &info), 1);
		assert_int_equal(info.max_orders, 0);
	}

	/* Same transport key with another signing key: refused. */
	a.ed25519_public = "ed-mallory";
	assert_int_equal(store_agent_upsert(f->s, &a, 700, &id2, &st), -1);
	/* Another key claiming a live agent's name: refused. */
	a.curve_public = "curve-mallory";
	assert_int_equal(store_agent_upsert(f->s, &a, 700, &id2, &st), -1);
	/* Bad labels JSON. */
	a.name = "echo";
	a.labels = "{";
	assert_int_equal(store_agent_upsert(f->s, &a, 700, &id2, &st), -1);

	/* Revoked is final, and frees the name for a new key. */
	assert_int_equal(store_agent_revoke(f->s, id), 0);
	assert_int_equal(store_agent_approve(f->s, id), -1);
	a.name = "delta";
	a.labels = NULL;
	assert_int_equal(store_agent_upsert(f->s, &a, 800, &id2, &st), 0);
	assert_int_not_equal(id2, id);
	assert_int_equal(st, STORE_AGENT_PENDING);
	assert_int_equal(store_agent_revoke(f->s, 9999), -1);
	assert_string_equal(store_agent_status_name(STORE_AGENT_REVOKED), "revoked");
}

struct matrix_seen {
	int rows;
	char target[4][16];
	char agg[4][32];
	bool disagree[4];
	size_t ncells[4];
	enum dialog_verdict cell[4][3];
	char cellname[4][3][16];
};

static int matrix_cb(void *arg, const struct store_matrix_row *row)
{
	struct matrix_seen *m = arg;
	int i = m->rows++;

	assert_true(i < 4);
	snprintf(m->target[i], sizeof(m->target[0]), "%s", row->target);
	snprintf(m->agg[i], sizeof(m->agg[0]), "%s", aggregate_name(row->agg));
	m->disagree[i] = row->agg->disagree;
	m->ncells[i] = row->ncells;
	for (size_t c = 0; c < row->ncells && c < 3; c++) {
		m->cell[i][c] = row->cells[c].verdict;
		snprintf(m->cellname[i][c], sizeof(m->cellname[0][0]), "%s",
		         row->cells[c].agent_name);
	}
	return 0;
}

static void test_matrix(void **state)
{
	struct fx *f = *state;
	struct matrix_seen m = {0};
	int64_t other;

	add_order(f->s, "a1", f->audit, f->agent[0]);
	add_order(f->s, "b1", f->audit, f->agent[1]);
	add_order(f->s, "c1", f->audit, f->agent[2]);
	/* mx1: open from charlie only (a trusted network), closed elsewhere. */
	ingest(f->s, f->agent[0], "a1", "mx1", "127.0.0.1", 25, DV_CLOSED);
	ingest(f->s, f->agent[1], "b1", "mx1", "127.0.0.1", 25, DV_CLOSED);
	ingest(f->s, f->agent[2], "c1", "mx1", "127.0.0.1", 25, DV_OPEN);
	/* mx2: nobody got through. */
	ingest(f->s, f->agent[0], "a1", "mx2", NULL, 0, DV_UNREACHABLE);
	ingest(f->s, f->agent[1], "b1", "mx2", NULL, 0, DV_UNREACHABLE);
	/* mx3: two addresses seen by alpha fold into one cell (closed). */
	ingest(f->s, f->agent[0], "a1", "mx3", "127.0.0.1", 25, DV_UNREACHABLE);
	ingest(f->s, f->agent[0], "a1", "mx3", "127.0.0.2", 25, DV_CLOSED);
	ingest(f->s, f->agent[1], "b1", "mx3", NULL, 0, DV_UNREACHABLE);
	/* Another audit's results stay out. */
	assert_int_equal(store_audit_create(f->s, NULL, 160, &other), 0);
	add_order(f->s, "a2", other, f->agent[0]);
	ingest(f->s, f->agent[0], "a2", "mx1", "127.0.0.1", 25, DV_OPEN_CONFIRMED);

	assert_int_equal(store_audit_matrix(f->s, f->audit, matrix_cb, &m), 3);
	assert_string_equal(m.target[0], "mx1");
	assert_string_equal(m.agg[0], "open");
	assert_true(m.disagree[0]);
	assert_int_equal(m.ncells[0], 3);
	assert_string_equal(m.cellname[0][0], "alpha");
	assert_int_equal(m.cell[0][0], DV_CLOSED);
	assert_string_equal(m.cellname[0][2], "charlie");
	assert_int_equal(m.cell[0][2], DV_OPEN);
	assert_string_equal(m.target[1], "mx2");
	assert_string_equal(m.agg[1], "inconclusive");
	assert_false(m.disagree[1]);
	assert_string_equal(m.target[2], "mx3");
	assert_int_equal(m.ncells[2], 2);
	assert_int_equal(m.cell[2][0], DV_CLOSED);
	assert_string_equal(m.agg[2], "closed");
	assert_false(m.disagree[2]);

	memset(&m, 0, sizeof(m));
	assert_int_equal(store_audit_matrix(f->s, other, matrix_cb, &m), 1);
	assert_string_equal(m.agg[0], "open-confirmed");
	assert_int_equal(store_audit_matrix(f->s, 12345, matrix_cb, &m), 0);
	assert_int_equal(store_audit_set_status(f->s, f->audit, "done"), 0);
	assert_int_equal(store_audit_set_status(f->s, f->audit, "bogus"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_software_migration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ingest_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ingest_quotas, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unacked_orders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_matrix, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
