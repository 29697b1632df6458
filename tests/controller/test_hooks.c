/* test_hooks.c - controller/hooks.c, store_hooks.c and retention.c on
 * real SQLite files in a mkdtemp directory: the retry backoff schedule
 * (doubling, capped at an hour), the webhook's JSON document (exact keys,
 * RFC 3339 UTC time), per-hook delivery state (queued once, retried with
 * backoff, given up after 10 attempts, delivered, kept across a reopen,
 * 'sending' back to 'pending' at start), transcript retention (only old
 * results, verdicts kept, in batches); the store's calls one by one (due
 * deliveries oldest first and never handed out twice, text cut to the
 * struct's sizes, where a hook resumes, outcomes, counts), hooks_due()
 * without control bytes and retention_tick()'s schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hook_transport.h"
#include "hooks.h"
#include "retention.h"
#include "store_fixture.h"
#include "store_hooks.h"
#include "store_internal.h"

static int setup(void **state)
{
	return store_fx_setup(state, "/tmp/rp-hooks-XXXXXX");
}

static void exec_ok(struct store *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

static int64_t int_of(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *text_of(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static void backoff_schedule(void **state)
{
	static const int64_t want[] = {10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600};

	(void)state;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(hooks_backoff(10, i + 1), want[i]);
	assert_int_equal(hooks_backoff(1, 1), 1);
	assert_int_equal(hooks_backoff(1, 3), 4);
	assert_int_equal(hooks_backoff(1, 1000), HOOK_BACKOFF_MAX);
	assert_int_equal(hooks_backoff(0, 1), 1); /* never a zero delay */
}

static void event_document(void **state)
{
	json_t *d = hooks_event_doc(7, 1700000000, "mx.example.test:2525", "acme", "closed",
	                            "open-confirmed", 42);
	const char *k;
	json_t *v;
	size_t n = 0;

	(void)state;
	assert_non_null(d);
	json_object_foreach(d, k, v) n++;
	assert_int_equal(n, 7);
	assert_int_equal(json_integer_value(json_object_get(d, "event_id")), 7);
	assert_string_equal(json_string_value(json_object_get(d, "time")), "2023-11-14T22:13:20Z");
	assert_string_equal(json_string_value(json_object_get(d, "target")),
	                    "mx.example.test:2525");
	assert_string_equal(json_string_value(json_object_get(d, "client")), "acme");
	assert_string_equal(json_string_value(json_object_get(d, "from")), "closed");
	assert_string_equal(json_string_value(json_object_get(d, "to")), "open-confirmed");
	assert_int_equal(json_integer_value(json_object_get(d, "audit")), 42);
	json_decref(d);
}

static void add_events(struct store *s, int n)
{
	exec_ok(s, "INSERT OR IGNORE INTO audits (id, created_at, status) VALUES (1, 100, 'done')");
	for (int i = 0; i < n; i++)
		exec_ok(
		    s, "INSERT INTO events (at, target, client, from_verdict, to_verdict, audit_id)"
		       " VALUES (200, '127.0.0.1:25', 'acme', 'closed', 'open', 1)");
}

static void delivery_states(void **state)
{
	struct fx *f = *state;
	char err[256];
	char *t;
	const int64_t now = 1000;

	add_events(f->s, 2);
	assert_int_equal(store_hooks_enqueue(f->s, "webhook", 0), 2);
	assert_int_equal(store_hooks_enqueue(f->s, "webhook", 0), 2); /* again: no duplicates */
	assert_int_equal(int_of(f->s, "SELECT count(*) FROM hook_deliveries"), 2);
	assert_int_equal(store_hooks_enqueue(f->s, "email", 1), 2); /* only events after 1 */
	assert_int_equal(int_of(f->s, "SELECT count(*) FROM hook_deliveries WHERE hook='email'"),
	                 1);
	assert_int_equal(store_hooks_enqueue(f->s, "webhook", 2), 2); /* nothing new */

	/* event 1: a failure, retried after base; then delivered */
	assert_int_equal(hooks_mark(f->s, 1, "webhook", 0, "HTTP status 500", 10, now), 0);
	t = text_of(f->s, "SELECT state || ' ' || attempts || ' ' || next_try || ' ' || last_error"
	                  " FROM hook_deliveries WHERE event_id = 1 AND hook = 'webhook'");
	assert_string_equal(t, "pending 1 1010 HTTP status 500");
	free(t);
	assert_int_equal(hooks_mark(f->s, 1, "webhook", 0, "timeout", 10, now + 10), 0);
	assert_int_equal(int_of(f->s, "SELECT next_try FROM hook_deliveries WHERE event_id = 1"
	                              " AND hook = 'webhook'"),
	                 now + 10 + 20);
	assert_int_equal(hooks_mark(f->s, 1, "webhook", 1, NULL, 10, now + 30), 0);
	t = text_of(f->s, "SELECT state || ' ' || attempts || ' ' || last_error"
	                  " FROM hook_deliveries WHERE event_id = 1 AND hook = 'webhook'");
	assert_string_equal(t, "delivered 3 ");
	free(t);

	/* event 2: ten failures, then given up */
	for (int i = 0; i < HOOK_ATTEMPTS_MAX - 1; i++)
		assert_int_equal(hooks_mark(f->s, 2, "webhook", 0, "refused", 10, now), 0);
	t = text_of(f->s,
	            "SELECT state FROM hook_deliveries WHERE event_id = 2 AND hook = 'webhook'");
	assert_string_equal(t, "pending");
	free(t);
	assert_int_equal(hooks_mark(f->s, 2, "webhook", 0, "refused", 10, now), 0);
	t = text_of(f->s, "SELECT state || ' ' || attempts || ' ' || last_error"
	                  " FROM hook_deliveries WHERE event_id = 2 AND hook = 'webhook'");
	assert_string_equal(t, "failed 10 refused");
	free(t);

	/* no delivery row: an error, nothing created */
	assert_int_equal(hooks_mark(f->s, 99, "webhook", 1, NULL, 10, now), -1);

	/* kept across a reopen; 'sending' goes back to 'pending' at start */
	exec_ok(f->s, "UPDATE hook_deliveries SET state = 'sending' WHERE hook = 'email'");
	store_close(&f->s);
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(
	    int_of(f->s, "SELECT count(*) FROM hook_deliveries WHERE state='delivered'"), 1);
	{
		struct ctl_config cfg = {.hook_retry_base = 10};
		struct hooks *h = hooks_new(f->s, &cfg, err, sizeof(err));

		assert_non_null(h);
		t = text_of(f->s, "SELECT state FROM hook_deliveries WHERE hook = 'email'");
		assert_string_equal(t, "pending");
		free(t);
		hooks_free(&h);
		assert_null(h);
	}
}

static void add_result(struct store *s, int id, int64_t received, const char *verdict)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
	         "INSERT INTO results (id, agent_id, order_id, target, verdict, result_json,"
	         " received_at) VALUES (%d, 1, 'o1', '127.0.0.%d', '%s',"
	         " json_object('verdict', '%s', 'tests', json_array(json_object('name', 'basic')),"
	         " 'transcript', json_array('220 hi', 'EHLO x')), %lld)",
	         id, id, verdict, verdict, (long long)received);
	exec_ok(s, sql);
}

/* An agent, an audit and order 'o1' for results to belong to. */
static void add_order(struct store *s)
{
	exec_ok(s, "INSERT INTO agents (id, name, curve_public, ed25519_public, fingerprint,"
	           " first_seen, last_seen) VALUES (1, 'v1', 'c', 'e', 'f', 1, 1)");
	exec_ok(s, "INSERT OR IGNORE INTO audits (id, created_at, status) VALUES (1, 100, 'done')");
	exec_ok(s, "INSERT INTO orders (id, audit_id, agent_id, sequence, body, created_at)"
	           " VALUES ('o1', 1, 1, 1, x'00', 100)");
}

static void retention(void **state)
{
	struct fx *f = *state;
	int64_t cursor = 0;
	long stripped = 0;

	add_order(f->s);
	add_result(f->s, 1, 100, "open");
	add_result(f->s, 2, 200, "closed");
	add_result(f->s, 3, 300, "closed");
	add_result(f->s, 4, 5000, "open"); /* recent: kept */

	/* batches of one: each step looks at one old result */
	assert_int_equal(store_hooks_strip_transcripts(f->s, 1000, 1, &cursor, &stripped), 1);
	assert_int_equal(cursor, 1);
	assert_int_equal(stripped, 1);
	assert_int_equal(int_of(f->s, "SELECT count(*) FROM results"
	                              " WHERE json_type(result_json, '$.transcript') IS NULL"),
	                 1);
	assert_int_equal(store_hooks_strip_transcripts(f->s, 1000, 1, &cursor, &stripped), 1);
	assert_int_equal(store_hooks_strip_transcripts(f->s, 1000, 1, &cursor, &stripped), 1);
	assert_int_equal(store_hooks_strip_transcripts(f->s, 1000, 1, &cursor, &stripped), 0);
	assert_int_equal(stripped, 3);
	assert_int_equal(int_of(f->s, "SELECT count(*) FROM results"
	                              " WHERE json_type(result_json, '$.transcript') IS NOT NULL"),
	                 1);
	assert_int_equal(int_of(f->s, "SELECT id FROM results"
	                              " WHERE json_type(result_json, '$.transcript') IS NOT NULL"),
	                 4);
	/* verdicts and per-test outcomes stay */
	assert_int_equal(int_of(f->s,
	                        "SELECT count(*) FROM results WHERE"
	                        " json_extract(result_json, '$.verdict') = verdict"
	                        " AND json_extract(result_json, '$.tests[0].name') = 'basic'"),
	                 4);
	/* the whole pass at once; already stripped rows do not count again */
	assert_int_equal(retention_pass(f->s, 1000, 200), 0);
	assert_int_equal(retention_pass(f->s, 10000, 2), 1);
	assert_int_equal(int_of(f->s, "SELECT count(*) FROM results"
	                              " WHERE json_type(result_json, '$.transcript') IS NOT NULL"),
	                 0);
}

/* ---- store_hooks.c, hooks_due(), retention_tick() ---- */

/* Events 1..n with target "t<i>"; event 1 may be given its own target. */
static void add_events_text(struct store *s, int n, const char *first_target)
{
	exec_ok(s, "INSERT OR IGNORE INTO audits (id, created_at, status) VALUES (1, 100, 'done')");
	for (int i = 1; i <= n; i++) {
		sqlite3_stmt *st = NULL;
		char t[16];

		snprintf(t, sizeof(t), "t%d", i);
		assert_int_equal(
		    sqlite3_prepare_v2(
		        s->db,
		        "INSERT INTO events (at, target, client, from_verdict,"
		        " to_verdict, audit_id) VALUES (?1, ?2, ?3, 'closed', 'open', 1)",
		        -1, &st, NULL),
		    SQLITE_OK);
		sqlite3_bind_int64(st, 1, 200 + i);
		sqlite3_bind_text(st, 2, i == 1 && first_target ? first_target : t, -1,
		                  SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, i == 1 ? "acme\r\nInjected: yes" : "acme", -1,
		                  SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
}

static void take_due(void **state)
{
	struct fx *f = *state;
	struct store_hook_event ev[4];
	char *longt = malloc(2000);

	assert_non_null(longt);
	memset(longt, 'x', 1999);
	longt[1999] = '\0';
	add_events_text(f->s, 3, longt);
	free(longt);
	assert_int_equal(store_hooks_enqueue(f->s, "webhook", 0), 3);
	/* event 2 is due later than the others */
	exec_ok(f->s, "UPDATE hook_deliveries SET next_try = 50 WHERE event_id = 2");
	assert_int_equal(store_hooks_take_due(f->s, "webhook", 10, ev, 0), 0);
	assert_int_equal(store_hooks_take_due(f->s, "webhook", 10, ev, 1), 1);
	assert_int_equal(ev[0].id, 1);
	assert_int_equal(ev[0].at, 201);
	assert_int_equal(ev[0].audit, 1);
	assert_int_equal(strlen(ev[0].target), STORE_HOOK_TARGET_MAX); /* cut, terminated */
	assert_string_equal(ev[0].client, "acme\r\nInjected: yes");    /* the store keeps bytes */
	assert_string_equal(ev[0].from, "closed");
	assert_string_equal(ev[0].to, "open");
	/* the taken one is 'sending': not handed out again */
	assert_int_equal(store_hooks_take_due(f->s, "webhook", 10, ev, 4), 1);
	assert_int_equal(ev[0].id, 3);
	assert_int_equal(store_hooks_take_due(f->s, "webhook", 10, ev, 4), 0);
	assert_int_equal(store_hooks_take_due(f->s, "webhook", 50, ev, 4), 1);
	assert_int_equal(ev[0].id, 2);
	assert_int_equal(int_of(f->s, "SELECT count(*) FROM hook_deliveries WHERE state='sending'"),
	                 3);
	/* another hook's rows are its own */
	assert_int_equal(store_hooks_take_due(f->s, "email", 100, ev, 4), 0);
	/* back to pending at start, delivered rows untouched */
	exec_ok(f->s, "UPDATE hook_deliveries SET state = 'delivered' WHERE event_id = 3");
	assert_int_equal(store_hooks_requeue_sending(f->s), 0);
	assert_int_equal(int_of(f->s, "SELECT count(*) FROM hook_deliveries WHERE state='pending'"),
	                 2);
	assert_int_equal(
	    int_of(f->s, "SELECT count(*) FROM hook_deliveries WHERE state='delivered'"), 1);
}

static void resume_after(void **state)
{
	struct fx *f = *state;

	assert_int_equal(store_hooks_resume_after(f->s, "syslog"), 0); /* nothing at all */
	add_events_text(f->s, 3, NULL);
	/* a hook never seen starts after the newest event */
	assert_int_equal(store_hooks_resume_after(f->s, "syslog"), 3);
	/* a hook seen before resumes after its last queued event */
	assert_int_equal(store_hooks_enqueue(f->s, "email", 1), 3);
	exec_ok(f->s, "DELETE FROM hook_deliveries WHERE event_id = 3");
	assert_int_equal(store_hooks_resume_after(f->s, "email"), 2);
	assert_int_equal(store_hooks_enqueue(f->s, "email", 2), 3);
	assert_int_equal(store_hooks_resume_after(f->s, "email"), 3);
}

struct counts {
	int calls;
	int64_t webhook_pending, webhook_failed, email_delivered;
};

static void count_cb(void *arg, const char *hook, const char *state, int64_t n)
{
	struct counts *c = arg;

	c->calls++;
	if (strcmp(hook, "webhook") == 0 && strcmp(state, "pending") == 0)
		c->webhook_pending = n;
	else if (strcmp(hook, "webhook") == 0 && strcmp(state, "failed") == 0)
		c->webhook_failed = n;
	else if (strcmp(hook, "email") == 0 && strcmp(state, "delivered") == 0)
		c->email_delivered = n;
}

static void record_and_count(void **state)
{
	struct fx *f = *state;
	struct counts c = {0};

	add_events_text(f->s, 3, NULL);
	assert_int_equal(store_hooks_attempts(f->s, 1, "webhook"), -1); /* no delivery yet */
	assert_non_null(strstr(store_errmsg(f->s), "no delivery for event 1"));
	assert_int_equal(store_hooks_enqueue(f->s, "webhook", 0), 3);
	assert_int_equal(store_hooks_enqueue(f->s, "email", 0), 3);
	assert_int_equal(store_hooks_attempts(f->s, 1, "webhook"), 0);
	assert_int_equal(
	    store_hooks_record(f->s, 1, "webhook", STORE_HOOK_FAILED, 10, 77, "HTTP status 500"),
	    0);
	assert_int_equal(store_hooks_attempts(f->s, 1, "webhook"), 10);
	assert_int_equal(int_of(f->s, "SELECT next_try FROM hook_deliveries WHERE event_id = 1"
	                              " AND hook = 'webhook'"),
	                 77);
	assert_int_equal(store_hooks_record(f->s, 2, "email", STORE_HOOK_DELIVERED, 1, 5, NULL), 0);
	assert_int_equal(store_hooks_record(f->s, 3, "email", STORE_HOOK_STATE_COUNT, 1, 5, ""),
	                 -1);
	assert_int_equal(store_hooks_counts(f->s, count_cb, &c), 0);
	assert_int_equal(c.calls, 4); /* webhook pending/failed, email pending/delivered */
	assert_int_equal(c.webhook_pending, 2);
	assert_int_equal(c.webhook_failed, 1);
	assert_int_equal(c.email_delivered, 1);
	assert_string_equal(store_hook_state_name(STORE_HOOK_SENDING), "sending");
	assert_string_equal(store_hook_state_name(STORE_HOOK_STATE_COUNT), "?");
}

static void due_without_controls(void **state)
{
	struct fx *f = *state;
	struct ctl_config cfg = {.hook_retry_base = 10, .hook_syslog = 1};
	struct hook_event ev[2];
	char err[256];
	struct hooks *h;

	add_events_text(f->s, 1, "mx\x1b[2J.example.test\x7f");
	h = hooks_new(f->s, &cfg, err, sizeof(err));
	assert_non_null(h);
	/* a hook new to the store starts after the existing events */
	assert_int_equal(store_hooks_enqueue(f->s, "syslog", 0), 1);
	assert_int_equal(hooks_due(h, &hook_syslog, 1000, ev, 2), 1);
	assert_string_equal(ev[0].e.target, "mx?[2J.example.test?");
	assert_string_equal(ev[0].e.client, "acme??Injected: yes");
	hooks_due_free(ev, 1);
	hooks_free(&h);
}

/* A due event carries the software the controller named from that audit's
 * results of its target, and the advice for its new verdict; an event of a
 * target with no stored result says unknown and gives no advice. */
static void due_with_advice(void **state)
{
	struct fx *f = *state;
	struct ctl_config cfg = {.hook_retry_base = 10, .hook_syslog = 1};
	struct hook_event ev[2];
	const char *conf, *key, *summary;
	char err[256];
	struct hooks *h;

	add_order(f->s);
	exec_ok(f->s, "INSERT INTO results (id, agent_id, order_id, target, verdict, result_json,"
	              " received_at, software, software_confidence) VALUES (1, 1, 'o1',"
	              " 'mx.example.test', 'open', json_object('verdict', 'open', 'tests',"
	              " json_array(json_object('id', 'external-sender', 'outcome', 'accepted'))),"
	              " 100, 'postfix', 'high')");
	h = hooks_new(f->s, &cfg, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(store_hooks_enqueue(f->s, "syslog", 0), 0);
	exec_ok(f->s, "INSERT INTO events (at, target, client, from_verdict, to_verdict, audit_id)"
	              " VALUES (200, 'mx.example.test', 'acme', 'closed', 'open', 1),"
	              " (201, 'other.example.test', 'acme', 'closed', 'open', 1)");
	assert_int_equal(store_hooks_enqueue(f->s, "syslog", 0), 2);
	assert_int_equal(hooks_due(h, &hook_syslog, 1000, ev, 2), 2);
	assert_string_equal(hooks_software_label(&ev[0], &conf), "Postfix");
	assert_string_equal(conf, "high");
	assert_int_equal(hooks_advice_at(&ev[0], 0, &key, &summary), 1);
	assert_string_equal(key, "postfix/open-relay");
	assert_non_null(strstr(summary, "reject_unauth_destination"));
	assert_non_null(json_object_get(ev[0].doc, "software"));
	assert_string_equal(hooks_software_label(&ev[1], &conf), "unknown");
	assert_string_equal(conf, "");
	/* no stored result tells what it accepted: no advice to give */
	assert_int_equal(hooks_advice_at(&ev[1], 0, &key, &summary), 0);
	assert_int_equal(hooks_advice_at(&ev[0], 1, &key, &summary), 0);
	hooks_due_free(ev, 2);
	hooks_free(&h);
}

static int64_t with_transcript(struct store *s)
{
	return int_of(s, "SELECT count(*) FROM results"
	                 " WHERE json_type(result_json, '$.transcript') IS NOT NULL");
}

static void retention_schedule(void **state)
{
	struct fx *f = *state;
	struct ctl_config cfg = {.retention_s = 100};
	struct retention *r;
	const int64_t now = 100000;

	add_order(f->s);
	for (int i = 1; i <= RETENTION_BATCH + 1; i++)
		add_result(f->s, i, 100, "open");                /* old */
	add_result(f->s, RETENTION_BATCH + 2, now - 50, "open"); /* recent */
	r = retention_new(f->s, &cfg);
	assert_non_null(r);
	retention_tick(r, now); /* the first pass starts at once: one batch */
	assert_int_equal(with_transcript(f->s), 2);
	retention_tick(r, now); /* the same second: nothing */
	assert_int_equal(with_transcript(f->s), 2);
	retention_tick(r, now + 1); /* the second batch */
	assert_int_equal(with_transcript(f->s), 1);
	retention_tick(r, now + 2); /* nothing left: the pass ends */
	add_result(f->s, RETENTION_BATCH + 3, 100, "open");
	retention_tick(r, now + 3); /* no pass before RETENTION_EVERY */
	assert_int_equal(with_transcript(f->s), 2);
	retention_tick(r, now + 2 + RETENTION_EVERY); /* the next pass: the recent one is old now */
	assert_int_equal(with_transcript(f->s), 0);
	retention_free(&r);
	assert_null(r);
	/* retention off: nothing ever */
	cfg.retention_s = 0;
	add_result(f->s, RETENTION_BATCH + 4, 100, "open");
	r = retention_new(f->s, &cfg);
	assert_non_null(r);
	retention_tick(r, now + 10 * RETENTION_EVERY);
	assert_int_equal(with_transcript(f->s), 1);
	retention_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(backoff_schedule),
	    cmocka_unit_test(event_document),
	    cmocka_unit_test_setup_teardown(delivery_states, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(retention, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(take_due, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(resume_after, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(record_and_count, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(due_without_controls, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(due_with_advice, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(retention_schedule, setup, store_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
