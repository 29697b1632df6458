/* test_schedule.c - schedules and history on the store (store_schedules.c,
 * store_history.c), real SQLite files in a mkdtemp directory: next-run
 * arithmetic (interval slots, --at alignment, jitter bounds), a run missed
 * while the controller was down runs once (next_run the slot after now, not
 * the next missed one), due and ran survive a reopen, and finished audits
 * give a per-target history whose verdict changes are recorded as events
 * exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_agents.h"
#include "store_fixture.h"
#include "store_history.h"
#include "store_inventory.h"
#include "store_orders.h"
#include "store_results.h"
#include "store_schedules.h"

/* store_sched_due()'s names as a JSON array (NULL on error). */
static int name_append(void *arg, const char *name)
{
	return json_array_append_new(arg, json_string(name));
}

static json_t *sched_due(struct store *s, int64_t now)
{
	json_t *a = json_array();

	if (store_sched_due(s, now, name_append, a) < 0) {
		json_decref(a);
		a = NULL;
	}
	return a;
}

static int setup(void **state)
{
	return store_fx_setup(state, "/tmp/rp-sched-XXXXXX");
}

#define DAY 86400
#define T0  (1000 * (int64_t)DAY + 3600) /* 01:00 UTC on some day */

static void next_run_slots(void **state)
{
	(void)state;
	/* no --at: slots from the creation time */
	assert_int_equal(sched_next(3600, T0, 0, T0), T0 + 3600);
	assert_int_equal(sched_next(3600, T0, 0, T0 + 3599), T0 + 3600);
	assert_int_equal(sched_next(3600, T0, 0, T0 + 3600), T0 + 7200);
	assert_int_equal(sched_next(5, T0, 0, T0 + 12), T0 + 15);
	/* jitter shifts every slot */
	assert_int_equal(sched_next(3600, T0, 60, T0), T0 + 60);
	assert_int_equal(sched_next(3600, T0, 60, T0 + 60), T0 + 3660);
	/* --at 02:00, every day, created at 01:00: today 02:00 */
	assert_int_equal(sched_anchor(T0, 7200), T0 - 3600 + 7200);
	assert_int_equal(sched_next(DAY, sched_anchor(T0, 7200), 0, T0), T0 + 3600);
	/* --at 00:30 created at 01:00: tomorrow 00:30 */
	assert_int_equal(sched_next(DAY, sched_anchor(T0, 1800), 0, T0), T0 - 1800 + DAY);
	/* --at with a 6 h interval: 02:00, 08:00, ... */
	assert_int_equal(sched_next(6 * 3600, sched_anchor(T0, 7200), 0, T0 + 3 * 3600),
	                 T0 + 7 * 3600);
}

static void jitter_bounds(void **state)
{
	char name[32];

	(void)state;
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "sched-%d", i);
		assert_in_range(sched_jitter(name, DAY), 0, 300); /* 5 min cap */
		assert_in_range(sched_jitter(name, 600), 0, 60);  /* 10% */
		assert_int_equal(sched_jitter(name, 5), 0);
		/* deterministic */
		assert_int_equal(sched_jitter(name, DAY), sched_jitter(name, DAY));
	}
	/* not all the same: it spreads schedules */
	assert_int_not_equal(sched_jitter("a", DAY), sched_jitter("b", DAY));
}

static void missed_runs_collapse(void **state)
{
	struct fx *f = *state;
	json_t *due, *sc = NULL;
	char err[256];
	int64_t next;

	assert_int_equal(store_sched_add(f->s, "hourly", 3600, -1, "all", NULL, "{}", T0), 0);
	assert_int_equal(store_sched_add(f->s, "hourly", 60, -1, "all", NULL, "{}", T0), -1);
	assert_int_equal(store_sched_get(f->s, "hourly", &sc), 1);
	next = json_integer_value(json_object_get(sc, "next_run"));
	json_decref(sc);
	assert_in_range(next, T0 + 3600, T0 + 3600 + 300);
	due = sched_due(f->s, next - 1);
	assert_int_equal(json_array_size(due), 0);
	json_decref(due);
	/* the controller was down for 10 slots; it comes back (reopen) */
	store_close(&f->s);
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	due = sched_due(f->s, next + 10 * 3600 + 5);
	assert_int_equal(json_array_size(due), 1);
	json_decref(due);
	assert_int_equal(store_sched_ran(f->s, "hourly", next + 10 * 3600 + 5, 42, NULL, 1), 0);
	/* once: nothing more is due now, the next run is the slot after now */
	due = sched_due(f->s, next + 10 * 3600 + 5);
	assert_int_equal(json_array_size(due), 0);
	json_decref(due);
	assert_int_equal(store_sched_get(f->s, "hourly", &sc), 1);
	assert_int_equal(json_integer_value(json_object_get(sc, "next_run")), next + 11 * 3600);
	assert_int_equal(json_integer_value(json_object_get(sc, "last_audit")), 42);
	json_decref(sc);
	/* run-now keeps next_run */
	assert_int_equal(store_sched_ran(f->s, "hourly", next + 10 * 3600 + 9, 43, NULL, 0), 0);
	assert_int_equal(store_sched_get(f->s, "hourly", &sc), 1);
	assert_int_equal(json_integer_value(json_object_get(sc, "next_run")), next + 11 * 3600);
	json_decref(sc);
	assert_int_equal(store_sched_remove(f->s, "hourly"), 1);
	assert_int_equal(store_sched_remove(f->s, "hourly"), 0);
	/* bad fields */
	assert_int_equal(store_sched_add(f->s, "x", 0, -1, "all", NULL, "{}", T0), -1);
	assert_int_equal(store_sched_add(f->s, "x", 60, 86400, "all", NULL, "{}", T0), -1);
	assert_int_equal(store_sched_add(f->s, "x", 60, -1, "bogus", NULL, "{}", T0), -1);
}

/* An audit of targets from one agent with the given verdicts, done. */
static int64_t audit_with(struct store *s, int64_t agent, const char *t1, enum dialog_verdict v1,
                          const char *t2, enum dialog_verdict v2, int64_t now)
{
	static uint64_t seq;
	int64_t audit;
	char oid[32];
	uint8_t body[] = "x";
	struct store_order o = {0};
	struct store_result r = {0};

	assert_int_equal(store_audit_create(s, NULL, now, &audit), 0);
	snprintf(oid, sizeof(oid), "o%lld", (long long)audit);
	assert_int_equal(store_next_sequence(s, agent, &seq), 0);
	o.id = oid;
	o.audit_id = audit;
	o.agent_id = agent;
	o.sequence = seq;
	o.body = body;
	o.body_len = 1;
	assert_int_equal(store_order_add(s, &o, now), 0);
	r.agent_id = agent;
	r.order_id = oid;
	r.result_json = "{}";
	r.target = t1;
	r.verdict = v1;
	assert_int_equal(store_result_ingest(s, &r, now), STORE_INGEST_NEW);
	r.target = t2;
	r.verdict = v2;
	assert_int_equal(store_result_ingest(s, &r, now), STORE_INGEST_NEW);
	assert_int_equal(store_order_mark_done(s, oid, now), 0);
	return audit;
}

static void history_and_events(void **state)
{
	struct fx *f = *state;
	struct store_agent a = {
	    .name = "v1", .curve_public = "c1", .ed25519_public = "e1", .fingerprint = "fp"};
	const char *const tags[] = {"lab"};
	struct inv_row row = {"acme", "mx.test:2525", 2525, tags, 1};
	int64_t agent, a1, a2, a3;
	json_t *h, *ev;

	assert_int_equal(store_agent_upsert(f->s, &a, 1, &agent, NULL), 0);
	assert_int_equal(store_inv_import(f->s, &row, 1, NULL, NULL), 0);
	a1 = audit_with(f->s, agent, "mx.test:2525", DV_CLOSED, "other.test", DV_CLOSED, 100);
	/* a running audit is not recorded */
	assert_int_equal(store_hist_record(f->s, 150), 0);
	h = store_hist_target(f->s, "mx.test:2525");
	assert_int_equal(json_array_size(h), 0);
	json_decref(h);
	assert_int_equal(store_audit_set_status(f->s, a1, "done"), 0);
	assert_int_equal(store_hist_record(f->s, 160), 0); /* first audit: no change */
	a2 = audit_with(f->s, agent, "mx.test:2525", DV_OPEN, "other.test", DV_CLOSED, 200);
	assert_int_equal(store_audit_set_status(f->s, a2, "done"), 0);
	a3 = audit_with(f->s, agent, "mx.test:2525", DV_OPEN, "other.test", DV_CLOSED, 300);
	assert_int_equal(store_audit_set_status(f->s, a3, "done"), 0);
	assert_int_equal(store_hist_record(f->s, 310), 1);
	assert_int_equal(store_hist_record(f->s, 320), 0); /* recorded once */
	h = store_hist_target(f->s, "mx.test:2525");
	assert_int_equal(json_array_size(h), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 0), "audit")), a1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "verdict")),
	                    "closed");
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "verdict")),
	                    "open");
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "client")),
	                    "acme");
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(json_array_get(h, 1), "vantages"), "v1")),
	                    "open");
	json_decref(h);
	ev = store_events_list(f->s, 0);
	assert_int_equal(json_array_size(ev), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "from")),
	                    "closed");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "to")),
	                    "open");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "target")),
	                    "mx.test:2525");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 0), "audit")), a2);
	json_decref(ev);
	ev = store_events_list(f->s, 1);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(next_run_slots),
	    cmocka_unit_test(jitter_bounds),
	    cmocka_unit_test_setup_teardown(missed_runs_collapse, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(history_and_events, setup, store_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
