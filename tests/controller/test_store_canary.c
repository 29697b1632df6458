/* test_store_canary.c - the canary's proof in the store, on real SQLite
 * files: a delivery before and after its result, a bounce (backscatter),
 * the wait window (accepted-not-delivered), a late delivery that upgrades a
 * recorded audit and raises one event, a delivery too late to count, an
 * order without canary untouched, a result that sent no message never
 * awaiting, and the arrival kept across a reopen (the commit is durable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <string.h>

#include "store_agents.h"
#include "store_canary.h"
#include "store_fixture.h"
#include "store_history.h"
#include "store_orders.h"
#include "store_results.h"

/* A result JSON with one test entry. */
#define RESULT(test, outcome, data)                                                                \
	"{\"tests\":[{\"id\":\"" test "\",\"outcome\":\"" outcome "\",\"data\":" data "}]}"

struct cfx {
	struct fx f;
	int64_t agent, audit;
};

static int setup(void **state)
{
	struct cfx *c;
	struct store_agent a = {.name = "far",
	                        .curve_public = "curve-far",
	                        .ed25519_public = "ed-far",
	                        .fingerprint = "fp",
	                        .status = STORE_AGENT_APPROVED};

	store_fx_setup(state, "/tmp/rp-store-canary-XXXXXX");
	c = realloc(*state, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(store_agent_upsert(c->f.s, &a, 100, &c->agent, NULL), 0);
	assert_int_equal(store_agent_approve(c->f.s, c->agent), 0);
	assert_int_equal(store_audit_create(c->f.s, NULL, 100, &c->audit), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	return store_fx_teardown(state);
}

static void order(struct cfx *c, const char *id, bool canary)
{
	struct store_order o = {0};
	uint64_t seq, ref = 0;

	assert_int_equal(store_next_sequence(c->f.s, c->agent, &seq), 0);
	if (canary)
		assert_int_equal(store_canary_next_ref(c->f.s, &ref), 0);
	o.id = id;
	o.audit_id = c->audit;
	o.agent_id = c->agent;
	o.sequence = seq;
	o.body = (const uint8_t *)"body";
	o.body_len = 4;
	o.canary_ref = ref;
	assert_int_equal(store_order_add(c->f.s, &o, 200), 0);
}

static void result(struct cfx *c, const char *oid, const char *target, enum dialog_verdict v,
                   const char *json, int64_t now)
{
	struct store_result r = {.agent_id = c->agent,
	                         .order_id = oid,
	                         .target = target,
	                         .address = "192.0.2.11",
	                         .port = 25,
	                         .verdict = v,
	                         .result_json = json};

	assert_int_equal(store_result_ingest(c->f.s, &r, now), STORE_INGEST_NEW);
}

static void arrive(struct cfx *c, const char *oid, const char *target, const char *test,
                   bool bounce, bool too_late, long want_changed)
{
	struct store_arrival a = {.order_id = oid,
	                          .agent_id = c->agent,
	                          .target = target,
	                          .test = test,
	                          .bounce = bounce,
	                          .arrived_ms = 1800000000000LL,
	                          .peer_ip = "192.0.2.11",
	                          .helo = "open.lab.example",
	                          .mail_from = "rp-b-x@canary.example",
	                          .rcpt = "rp-x@canary.example",
	                          .message_id = "rp-x.1@agent",
	                          .size = 600,
	                          .hops = "[{\"from_ip\":\"198.51.100.10\",\"by\":\"open\"}]",
	                          .too_late = too_late};
	long changed = -1;

	assert_int_equal(store_canary_arrival(c->f.s, &a, 400, &changed), 0);
	assert_int_equal(changed, want_changed);
}

static void expect(struct cfx *c, const char *oid, const char *target, const char *verdict,
                   const char *canary, int backscatter)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open_v2(c->f.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT verdict, coalesce(canary, ''), backscatter"
	                                    " FROM results WHERE order_id = ?1 AND target = ?2",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), verdict);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), canary);
	assert_int_equal(sqlite3_column_int(st, 2), backscatter);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_delivery_after_result(void **state)
{
	struct cfx *c = *state;

	order(c, "o1", true);
	result(c, "o1", "open.example", DV_OPEN, RESULT("external-sender", "accepted", "true"),
	       300);
	expect(c, "o1", "open.example", "open", "awaiting", 0);
	/* a delivery for another test of the cell proves nothing here */
	arrive(c, "o1", "open.example", "null-sender", false, false, 0);
	expect(c, "o1", "open.example", "open", "awaiting", 0);
	arrive(c, "o1", "open.example", "external-sender", false, false, 1);
	expect(c, "o1", "open.example", "open-confirmed", "delivered", 0);
	/* the window passes: a delivered result stays delivered */
	assert_int_equal(store_canary_expire(c->f.s, 10000, 10000, 100), 0);
	expect(c, "o1", "open.example", "open-confirmed", "delivered", 0);
	assert_int_equal(store_canary_count(c->f.s, false), 2);
	/* the report's proof: the delivery that counted, with its IP and hops;
	 * the tested address is the delivering one (not multihop) */
	{
		json_t *p = store_canary_proof(c->f.s, c->audit, "open.example");
		json_t *d;

		assert_non_null(p);
		assert_int_equal(json_array_size(json_object_get(p, "deliveries")), 2);
		d = json_array_get(json_object_get(p, "deliveries"), 1);
		assert_string_equal(json_string_value(json_object_get(d, "test")),
		                    "external-sender");
		assert_string_equal(json_string_value(json_object_get(d, "agent")), "far");
		assert_int_equal(json_integer_value(json_object_get(d, "hops")), 1);
		assert_false(json_is_true(json_object_get(d, "multihop")));
		json_decref(p);
		p = store_canary_proof(c->f.s, c->audit, "nothing.example");
		assert_true(json_is_null(p));
	}
}

/* Mail can be faster than results: the arrival waits for its result. */
static void test_delivery_before_result(void **state)
{
	struct cfx *c = *state;

	order(c, "o1", true);
	arrive(c, "o1", "open.example", "external-sender", false, false, 0);
	result(c, "o1", "open.example", DV_OPEN, RESULT("external-sender", "accepted", "true"),
	       300);
	expect(c, "o1", "open.example", "open-confirmed", "delivered", 0);
	/* kept across a reopen */
	store_close(&c->f.s);
	{
		char err[256];

		c->f.s = store_open(c->f.path, err, sizeof(err));
		assert_non_null(c->f.s);
	}
	assert_int_equal(store_canary_count(c->f.s, false), 1);
	{
		json_t *cell = store_canary_cell(c->f.s, "o1", "open.example");

		assert_non_null(cell);
		assert_int_equal(json_array_size(cell), 1);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(cell, 0), "peer_ip")),
		    "192.0.2.11");
		assert_int_equal(json_array_size(json_object_get(json_array_get(cell, 0), "hops")),
		                 1);
		json_decref(cell);
	}
}

static void test_not_delivered_then_late(void **state)
{
	struct cfx *c = *state;

	order(c, "o1", true);
	order(c, "o2", false);
	result(c, "o1", "drop.example", DV_OPEN, RESULT("external-sender", "accepted", "true"),
	       300);
	/* accepted at RCPT without DATA (the agent allowed none): stays open */
	result(c, "o1", "rcpt.example", DV_OPEN, RESULT("external-sender", "accepted", "false"),
	       300);
	/* no canary in the order: untouched */
	result(c, "o2", "drop.example", DV_OPEN, RESULT("external-sender", "accepted", "true"),
	       300);
	assert_int_equal(store_canary_expire(c->f.s, 300, 400, 100), 0); /* not before */
	assert_int_equal(store_canary_expire(c->f.s, 301, 400, 100), 1);
	expect(c, "o1", "drop.example", "accepted-not-delivered", "not-delivered", 0);
	expect(c, "o1", "rcpt.example", "open", "", 0);
	expect(c, "o2", "drop.example", "open", "", 0);
	/* the audit is recorded, then the late delivery upgrades it: one event */
	assert_int_equal(store_audit_set_status(c->f.s, c->audit, "done"), 0);
	assert_true(store_hist_record(c->f.s, 500) >= 0);
	arrive(c, "o1", "drop.example", "external-sender", false, false, 1);
	expect(c, "o1", "drop.example", "open-confirmed", "delivered", 0);
	{
		json_t *h = store_hist_target(c->f.s, "drop.example");

		assert_non_null(h);
		assert_int_equal(json_array_size(h), 1);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(h, 0), "verdict")),
		    "open-confirmed");
		json_decref(h);
	}
	{
		sqlite3 *db;
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_open_v2(c->f.path, &db, SQLITE_OPEN_READONLY, NULL),
		                 SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db,
		                                    "SELECT from_verdict, to_verdict FROM events"
		                                    " WHERE target = 'drop.example'",
		                                    -1, &st, NULL),
		                 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), "open-confirmed");
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static void test_bounce_and_too_late(void **state)
{
	struct cfx *c = *state;

	order(c, "o1", true);
	result(c, "o1", "bs.example", DV_CLOSED, RESULT("backscatter-probe", "accepted", "true"),
	       300);
	expect(c, "o1", "bs.example", "closed", "", 0);
	arrive(c, "o1", "bs.example", "backscatter-probe", true, false, 0);
	expect(c, "o1", "bs.example", "closed", "", 1);
	/* too late: kept, proves nothing */
	result(c, "o1", "late.example", DV_OPEN, RESULT("external-sender", "accepted", "true"),
	       300);
	arrive(c, "o1", "late.example", "external-sender", false, true, 0);
	expect(c, "o1", "late.example", "open", "awaiting", 0);
	assert_int_equal(store_canary_count(c->f.s, true), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_delivery_after_result, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delivery_before_result, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_delivered_then_late, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounce_and_too_late, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
