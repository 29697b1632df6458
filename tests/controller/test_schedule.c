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
#include <jansson.h>
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

/* A schedule row copied out of its callback. */
struct sched_copy {
	char name[64], selector[16], value[64], params[128], last_error[64];
	int64_t every, last_run, last_audit, next_run, created_at;
	int at;
};

static int sched_copy_cb(void *arg, const struct store_sched_row *r)
{
	struct sched_copy *c = arg;

	snprintf(c->name, sizeof(c->name), "%s", r->name);
	snprintf(c->selector, sizeof(c->selector), "%s", r->selector);
	snprintf(c->value, sizeof(c->value), "%s", r->value);
	snprintf(c->params, sizeof(c->params), "%s", r->params);
	snprintf(c->last_error, sizeof(c->last_error), "%s", r->last_error);
	c->every = r->every_s;
	c->at = r->at_s;
	c->last_run = r->last_run;
	c->last_audit = r->last_audit;
	c->next_run = r->next_run;
	c->created_at = r->created_at;
	return 0;
}

static struct sched_copy sched_of(struct store *s, const char *name)
{
	struct sched_copy c = {0};

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_sched_get(s, name, sched_copy_cb, &c), 1);
	return c;
}

/* store_sched_list()'s rows copied (at most 4). */
struct sched_list {
	struct sched_copy rows[4];
	size_t n;
};

static int sched_list_cb(void *arg, const struct store_sched_row *r)
{
	struct sched_list *l = arg;

	assert_true(l->n < 4);
	return sched_copy_cb(&l->rows[l->n++], r);
}

/* History and event rows copied out of their callbacks (at most 8). */
struct hist_copy {
	int64_t audit, at;
	char verdict[32], client[64], vantages[128];
};
struct hist_list {
	struct hist_copy rows[8];
	size_t n;
};

static int hist_cb(void *arg, const struct store_hist_row *r)
{
	struct hist_list *l = arg;
	struct hist_copy *c;

	assert_true(l->n < 8);
	c = &l->rows[l->n++];
	c->audit = r->audit;
	c->at = r->at;
	snprintf(c->verdict, sizeof(c->verdict), "%s", r->verdict);
	snprintf(c->client, sizeof(c->client), "%s", r->client);
	snprintf(c->vantages, sizeof(c->vantages), "%s", r->vantages);
	return 0;
}

static size_t hist_of(struct store *s, const char *target, struct hist_list *l)
{
	memset(l, 0, sizeof(*l));
	{
		long got = store_hist_target(s, target, hist_cb, l);

		assert_int_equal(got, (long)l->n);
	}
	return l->n;
}

struct event_copy {
	int64_t id, at, audit;
	char target[64], client[64], from[32], to[32];
};
struct event_list {
	struct event_copy rows[8];
	size_t n;
};

static int event_cb(void *arg, const struct store_event_row *e)
{
	struct event_list *l = arg;
	struct event_copy *c;

	assert_true(l->n < 8);
	c = &l->rows[l->n++];
	c->id = e->id;
	c->at = e->at;
	c->audit = e->audit;
	snprintf(c->target, sizeof(c->target), "%s", e->target);
	snprintf(c->client, sizeof(c->client), "%s", e->client);
	snprintf(c->from, sizeof(c->from), "%s", e->from);
	snprintf(c->to, sizeof(c->to), "%s", e->to);
	return 0;
}

static size_t events_of(struct store *s, int64_t since, struct event_list *l)
{
	memset(l, 0, sizeof(*l));
	{
		long got = store_events_list(s, since, event_cb, l);

		assert_int_equal(got, (long)l->n);
	}
	return l->n;
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
	json_t *due;
	struct sched_copy sc = {0};
	char err[256];
	int64_t next;

	assert_int_equal(store_sched_add(f->s, "hourly", 3600, -1, "all", NULL, "{}", T0), 0);
	assert_int_equal(store_sched_add(f->s, "hourly", 60, -1, "all", NULL, "{}", T0), -1);
	assert_int_equal(store_sched_get(f->s, "nothing", sched_copy_cb, &sc), 0);
	sc = sched_of(f->s, "hourly");
	next = sc.next_run;
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
	sc = sched_of(f->s, "hourly");
	assert_int_equal(sc.next_run, next + 11 * 3600);
	assert_int_equal(sc.last_audit, 42);
	/* run-now keeps next_run */
	assert_int_equal(store_sched_ran(f->s, "hourly", next + 10 * 3600 + 9, 43, NULL, 0), 0);
	sc = sched_of(f->s, "hourly");
	assert_int_equal(sc.next_run, next + 11 * 3600);
	assert_int_equal(store_sched_remove(f->s, "hourly"), 1);
	assert_int_equal(store_sched_remove(f->s, "hourly"), 0);
	/* bad fields */
	assert_int_equal(store_sched_add(f->s, "x", 0, -1, "all", NULL, "{}", T0), -1);
	assert_int_equal(store_sched_add(f->s, "x", 60, 86400, "all", NULL, "{}", T0), -1);
	assert_int_equal(store_sched_add(f->s, "x", 60, -1, "bogus", NULL, "{}", T0), -1);
}

/* Every field of a schedule row, from store_sched_list() and _get(). */
static void schedule_rows(void **state)
{
	struct fx *f = *state;
	struct sched_list l;
	struct sched_copy c = {0};

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_sched_list(f->s, sched_list_cb, &l), 0);
	assert_int_equal(store_sched_add(f->s, "nightly", DAY, 7200, "tag", "lab",
	                                 "{\"tests\":\"external-sender\"}", T0),
	                 0);
	assert_int_equal(store_sched_add(f->s, "b-hourly", 3600, -1, "all", NULL, NULL, T0), 0);
	assert_int_equal(store_sched_ran(f->s, "b-hourly", T0 + 10, 9, "no agent", 0), 0);
	assert_int_equal(store_sched_list(f->s, sched_list_cb, &l), 2);
	assert_int_equal(l.n, 2);
	/* by name */
	c = l.rows[0];
	assert_string_equal(c.name, "b-hourly");
	assert_int_equal(c.every, 3600);
	assert_int_equal(c.at, -1);
	assert_string_equal(c.selector, "all");
	assert_string_equal(c.value, "");
	assert_string_equal(c.params, "{}");
	assert_int_equal(c.last_run, T0 + 10);
	assert_int_equal(c.last_audit, 9);
	assert_string_equal(c.last_error, "no agent");
	assert_int_equal(c.next_run, T0 + 3600 + sched_jitter("b-hourly", 3600));
	assert_int_equal(c.created_at, T0);
	c = l.rows[1];
	assert_string_equal(c.name, "nightly");
	assert_int_equal(c.every, DAY);
	assert_int_equal(c.at, 7200);
	assert_string_equal(c.selector, "tag");
	assert_string_equal(c.value, "lab");
	assert_string_equal(c.params, "{\"tests\":\"external-sender\"}");
	assert_int_equal(c.last_run, 0);
	assert_int_equal(c.last_audit, 0);
	assert_string_equal(c.last_error, "");
	assert_int_equal(c.next_run, T0 + 3600 + sched_jitter("nightly", DAY));
	assert_int_equal(c.created_at, T0);
	/* _get() passes the same row */
	c = sched_of(f->s, "nightly");
	assert_memory_equal(&c, &l.rows[1], sizeof(c));
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
	assert_int_equal(store_order_mark(s, oid, STORE_ORDER_DONE, now), 0);
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
	struct hist_list h;
	struct event_list ev;

	assert_int_equal(store_agent_upsert(f->s, &a, 1, &agent, NULL), 0);
	assert_int_equal(store_inv_import(f->s, &row, 1, NULL, NULL), 0);
	a1 = audit_with(f->s, agent, "mx.test:2525", DV_CLOSED, "other.test", DV_CLOSED, 100);
	/* a running audit is not recorded */
	assert_int_equal(store_hist_record(f->s, 150), 0);
	assert_int_equal(hist_of(f->s, "mx.test:2525", &h), 0);
	assert_int_equal(store_audit_set_status(f->s, a1, "done"), 0);
	assert_int_equal(store_hist_record(f->s, 160), 0); /* first audit: no change */
	a2 = audit_with(f->s, agent, "mx.test:2525", DV_OPEN, "other.test", DV_CLOSED, 200);
	assert_int_equal(store_audit_set_status(f->s, a2, "done"), 0);
	a3 = audit_with(f->s, agent, "mx.test:2525", DV_OPEN, "other.test", DV_CLOSED, 300);
	assert_int_equal(store_audit_set_status(f->s, a3, "done"), 0);
	assert_int_equal(store_hist_record(f->s, 310), 1);
	assert_int_equal(store_hist_record(f->s, 320), 0); /* recorded once */
	assert_int_equal(hist_of(f->s, "mx.test:2525", &h), 3);
	assert_int_equal(h.rows[0].audit, a1);
	assert_int_equal(h.rows[0].at, 100);
	assert_string_equal(h.rows[0].verdict, "closed");
	assert_string_equal(h.rows[0].client, "acme");
	assert_string_equal(h.rows[0].vantages, "{\"v1\":\"closed\"}");
	assert_int_equal(h.rows[1].audit, a2);
	assert_int_equal(h.rows[1].at, 200);
	assert_string_equal(h.rows[1].verdict, "open");
	assert_string_equal(h.rows[1].client, "acme");
	assert_string_equal(h.rows[1].vantages, "{\"v1\":\"open\"}");
	assert_int_equal(h.rows[2].audit, a3);
	/* the other target is not in the inventory: no client */
	assert_int_equal(hist_of(f->s, "other.test", &h), 3);
	assert_string_equal(h.rows[2].client, "");
	assert_int_equal(events_of(f->s, 0, &ev), 1);
	assert_int_equal(ev.rows[0].id, 1);
	assert_int_equal(ev.rows[0].at, 310);
	assert_string_equal(ev.rows[0].from, "closed");
	assert_string_equal(ev.rows[0].to, "open");
	assert_string_equal(ev.rows[0].target, "mx.test:2525");
	assert_string_equal(ev.rows[0].client, "acme");
	assert_int_equal(ev.rows[0].audit, a2);
	assert_int_equal(events_of(f->s, 1, &ev), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(next_run_slots),
	    cmocka_unit_test(jitter_bounds),
	    cmocka_unit_test_setup_teardown(missed_runs_collapse, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(schedule_rows, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(history_and_events, setup, store_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
