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
#include <stdbool.h>
#include <stdio.h>
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

/* store_canary_proof()'s rows, copied (at most 8). */
struct proof_copy {
	char agent[32], test[32], peer_ip[32];
	bool bounce, has_delay, multihop;
	int64_t arrived_ms, hops, delay_ms;
};
struct proof_list {
	struct proof_copy rows[8];
	size_t n;
};

static int proof_cb(void *arg, const struct store_proof_row *r)
{
	struct proof_list *l = arg;
	struct proof_copy *c;

	assert_true(l->n < 8);
	c = &l->rows[l->n++];
	snprintf(c->agent, sizeof(c->agent), "%s", r->agent);
	snprintf(c->test, sizeof(c->test), "%s", r->test);
	snprintf(c->peer_ip, sizeof(c->peer_ip), "%s", r->peer_ip);
	c->bounce = r->bounce;
	c->has_delay = r->has_delay;
	c->multihop = r->multihop;
	c->arrived_ms = r->arrived_ms;
	c->hops = r->hops;
	c->delay_ms = r->delay_ms;
	return 0;
}

static size_t proof_of(struct store *s, int64_t audit, const char *target, struct proof_list *l)
{
	memset(l, 0, sizeof(*l));
	{
		long got = store_canary_proof(s, audit, target, proof_cb, l);

		assert_int_equal(got, (long)l->n);
	}
	return l->n;
}

/* store_canary_cell()'s rows, copied (at most 4). */
struct cell_list {
	struct store_arrival rows[4];
	char text[4][9][96];
	bool tls_null[4];
	size_t n;
};

static int cell_cb(void *arg, const struct store_arrival *a)
{
	struct cell_list *l = arg;
	const char *t[9] = {a->order_id,  a->target, a->test,       a->peer_ip, a->helo,
	                    a->mail_from, a->rcpt,   a->message_id, a->hops};

	assert_true(l->n < 4);
	l->rows[l->n] = *a;
	for (int i = 0; i < 9; i++)
		snprintf(l->text[l->n][i], sizeof(l->text[l->n][i]), "%s", t[i]);
	l->tls_null[l->n] = a->tls == NULL;
	l->n++;
	return 0;
}

/* History rows' verdicts, copied. */
struct verdicts {
	char v[4][32];
	size_t n;
};

static int hist_cb(void *arg, const struct store_hist_row *r)
{
	struct verdicts *v = arg;

	assert_true(v->n < 4);
	snprintf(v->v[v->n++], sizeof(v->v[0]), "%s", r->verdict);
	return 0;
}

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
		struct proof_list p;
		struct proof_copy *d;

		assert_int_equal(proof_of(c->f.s, c->audit, "open.example", &p), 2);
		assert_false(p.rows[0].bounce);
		assert_string_equal(p.rows[0].test, "null-sender");
		d = &p.rows[1];
		assert_false(d->bounce);
		assert_string_equal(d->test, "external-sender");
		assert_string_equal(d->agent, "far");
		assert_string_equal(d->peer_ip, "192.0.2.11");
		assert_int_equal(d->arrived_ms, 1800000000000LL);
		assert_int_equal(d->hops, 1);
		assert_false(d->multihop);
		assert_false(d->has_delay); /* the result names no evidence reply */
		assert_int_equal(proof_of(c->f.s, c->audit, "nothing.example", &p), 0);
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
		struct cell_list l;

		memset(&l, 0, sizeof(l));
		assert_int_equal(store_canary_cell(c->f.s, "o1", "open.example", cell_cb, &l), 1);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.text[0][0], "o1");
		assert_string_equal(l.text[0][1], "open.example");
		assert_string_equal(l.text[0][2], "external-sender");
		assert_string_equal(l.text[0][3], "192.0.2.11");
		assert_string_equal(l.text[0][4], "open.lab.example");
		assert_string_equal(l.text[0][5], "rp-b-x@canary.example");
		assert_string_equal(l.text[0][6], "rp-x@canary.example");
		assert_string_equal(l.text[0][7], "rp-x.1@agent");
		assert_string_equal(l.text[0][8],
		                    "[{\"from_ip\":\"198.51.100.10\",\"by\":\"open\"}]");
		assert_int_equal(l.rows[0].agent_id, c->agent);
		assert_false(l.rows[0].bounce);
		assert_int_equal(l.rows[0].arrived_ms, 1800000000000LL);
		assert_int_equal(l.rows[0].size, 600);
		assert_true(l.tls_null[0]);
		assert_false(l.rows[0].too_late);
		memset(&l, 0, sizeof(l));
		assert_int_equal(store_canary_cell(c->f.s, "o1", "other.example", cell_cb, &l), 0);
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
		struct verdicts v = {.n = 0};

		assert_int_equal(store_hist_target(c->f.s, "drop.example", hist_cb, &v), 1);
		assert_string_equal(v.v[0], "open-confirmed");
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
	{
		struct proof_list p;

		assert_int_equal(proof_of(c->f.s, c->audit, "bs.example", &p), 1);
		assert_true(p.rows[0].bounce);
		assert_string_equal(p.rows[0].test, "backscatter-probe");
		assert_string_equal(p.rows[0].agent, "far");
		assert_string_equal(p.rows[0].peer_ip, "192.0.2.11");
	}
	/* too late: kept, proves nothing */
	result(c, "o1", "late.example", DV_OPEN, RESULT("external-sender", "accepted", "true"),
	       300);
	arrive(c, "o1", "late.example", "external-sender", false, true, 0);
	expect(c, "o1", "late.example", "open", "awaiting", 0);
	assert_int_equal(store_canary_count(c->f.s, true), 1);
	/* the late arrival is in the cell, marked, and out of the proof */
	{
		struct cell_list l;
		struct proof_list p;

		memset(&l, 0, sizeof(l));
		assert_int_equal(store_canary_cell(c->f.s, "o1", "late.example", cell_cb, &l), 1);
		assert_true(l.rows[0].too_late);
		assert_int_equal(proof_of(c->f.s, c->audit, "late.example", &p), 0);
	}
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
