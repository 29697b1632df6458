/* test_ctl_replies.c - the admin replies built from store rows, byte for
 * byte (ctl_sched.c, ctl_report.c on a real SQLite file): targets.list,
 * schedule.list and schedule.add, history, events.list and a report with a
 * canary proof. The golden texts are what the commands answered before the
 * store interface moved from json_t to row callbacks (issue 10): the admin
 * protocol and the CLI's output must not change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "ctl_internal.h"
#include "ctl_report.h"
#include "ctl_sched.h"
#include "store_agents.h"
#include "store_canary.h"
#include "store_fixture.h"
#include "store_history.h"
#include "store_inventory.h"
#include "store_orders.h"
#include "store_results.h"
#include "store_schedules.h"

#define T0 ((int64_t)86400 * 1000 + 3600)

struct rfx {
	struct fx f;
	struct ctl c;
	int64_t agent;
};

static int setup(void **state)
{
	struct rfx *r;
	struct store_agent a = {.name = "v1",
	                        .curve_public = "curve-v1",
	                        .ed25519_public = "ed-v1",
	                        .fingerprint = "fp"};

	store_fx_setup(state, "/tmp/rp-ctl-replies-XXXXXX");
	r = realloc(*state, sizeof(*r));
	assert_non_null(r);
	memset(&r->c, 0, sizeof(r->c));
	r->c.store = r->f.s;
	assert_int_equal(store_agent_upsert(r->f.s, &a, 100, &r->agent, NULL), 0);
	assert_int_equal(store_agent_approve(r->f.s, r->agent), 0);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	return store_fx_teardown(state);
}

/* The reply's "advice_texts" (removed from it) hold exactly the built-in
 * text of each key's software and finding. */
static void expect_advice_texts(json_t *reply, const char *const *keys, size_t nkeys)
{
	char err[256];
	const struct advice_db *db = advice_builtin(err, sizeof(err));
	json_t *texts = json_incref(json_object_get(reply, "advice_texts"));

	assert_non_null(db);
	assert_non_null(texts);
	assert_int_equal(json_object_del(reply, "advice_texts"), 0);
	assert_int_equal(json_object_size(texts), nkeys);
	for (size_t i = 0; i < nkeys; i++) {
		const json_t *t = json_object_get(texts, keys[i]);
		const char *slash = strchr(keys[i], '/');
		char sw[32];
		struct advice_query q = {FP_SW_UNKNOWN, DV_OPEN, true, false, ADV_VANTAGE_SINGLE};
		const struct advice_entry *e[4];
		size_t n;

		assert_non_null(t);
		assert_non_null(slash);
		snprintf(sw, sizeof(sw), "%.*s", (int)(slash - keys[i]), keys[i]);
		q.software = (enum fp_software)fp_software_from_name(sw);
		n = advice_select(db, &q, e, 4);
		assert_true(n >= 1);
		assert_string_equal(json_string_value(json_object_get(t, "summary")),
		                    e[0]->summary);
		assert_string_equal(json_string_value(json_object_get(t, "text")), e[0]->text);
		assert_non_null(strstr(e[0]->text, "smtpd_relay_restrictions"));
	}
	json_decref(texts);
}

/* The reply as compact JSON (insertion order kept) equals want. */
static void expect_reply(json_t *reply, const char *want)
{
	char *got;

	assert_non_null(reply);
	got = json_dumps(reply, JSON_COMPACT);
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("reply differs:\n got: %s\nwant: %s", got, want);
	free(got);
	json_decref(reply);
}

static json_t *req(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

/* An order of the audit for one target with one result, the order done. */
static void order_result(struct rfx *r, int64_t audit, const char *oid, bool canary,
                         const char *target, enum dialog_verdict v, const char *json, int64_t now)
{
	static uint64_t seq;
	uint64_t ref = 0;
	struct store_order o = {0};
	struct store_result res = {0};

	assert_int_equal(store_next_sequence(r->f.s, r->agent, &seq), 0);
	if (canary)
		assert_int_equal(store_canary_next_ref(r->f.s, &ref), 0);
	o.id = oid;
	o.audit_id = audit;
	o.agent_id = r->agent;
	o.sequence = seq;
	o.body = (const uint8_t *)"body";
	o.body_len = 4;
	o.canary_ref = ref;
	assert_int_equal(store_order_add(r->f.s, &o, now), 0);
	res.agent_id = r->agent;
	res.order_id = oid;
	res.target = target;
	res.address = "192.0.2.11";
	res.port = 25;
	res.verdict = v;
	res.result_json = json;
	if (v == DV_OPEN) {
		/* as results.c reads it from the transcript at ingest */
		res.software = "postfix";
		res.software_confidence = "high";
	}
	assert_int_equal(store_result_ingest(r->f.s, &res, now), STORE_INGEST_NEW);
	assert_int_equal(store_order_mark(r->f.s, oid, STORE_ORDER_DONE, now), 0);
}

static void inventory_and_schedules(void **state)
{
	struct rfx *r = *state;
	const char *const t1[] = {"lab", "prod"};
	struct inv_row rows[] = {{"acme", "mx.test:2525", 2525, t1, 2},
	                         {"globex, inc", "b.test", 0, NULL, 0}};
	json_t *q, *list, *added;
	char *a = NULL, *l = NULL;

	assert_int_equal(store_inv_import(r->f.s, rows, 2, NULL, NULL), 0);
	q = req("{}");
	expect_reply(ctl_sched_targets_list(&r->c, q),
	             "{\"ok\":true,\"targets\":[{\"client\":\"acme\",\"target\":\"mx.test:2525\","
	             "\"tags\":[\"lab\",\"prod\"]},{\"client\":\"globex, inc\",\"target\":"
	             "\"b.test\",\"tags\":[]}]}");
	json_decref(q);
	q = req("{\"tag\":\"lab\"}");
	expect_reply(ctl_sched_targets_list(&r->c, q),
	             "{\"ok\":true,\"targets\":[{\"client\":\"acme\",\"target\":\"mx.test:2525\","
	             "\"tags\":[\"lab\",\"prod\"]}]}");
	json_decref(q);
	q = req("{}");
	expect_reply(ctl_sched_schedule_list(&r->c, q), "{\"ok\":true,\"schedules\":[]}");
	assert_int_equal(store_sched_add(r->f.s, "nightly", 86400, 7200, "tag", "lab",
	                                 "{\"tests\":\"external-sender\"}", T0),
	                 0);
	assert_int_equal(store_sched_add(r->f.s, "hourly", 3600, -1, "all", "", "{}", T0), 0);
	assert_int_equal(store_sched_ran(r->f.s, "hourly", T0 + 4000, 7, "no agent", 1), 0);
	expect_reply(
	    ctl_sched_schedule_list(&r->c, q),
	    "{\"ok\":true,\"schedules\":[{\"name\":\"hourly\",\"every\":3600,\"at\":-1,"
	    "\"selector\":\"all\",\"value\":\"\",\"params\":{},\"last_run\":86407600,"
	    "\"last_audit\":7,\"last_error\":\"no agent\",\"next_run\":86410815,"
	    "\"created_at\":86403600},{\"name\":\"nightly\",\"every\":86400,\"at\":7200,"
	    "\"selector\":\"tag\",\"value\":\"lab\",\"params\":{\"tests\":\"external-sender\"},"
	    "\"last_run\":0,\"last_audit\":0,\"last_error\":\"\",\"next_run\":86407229,"
	    "\"created_at\":86403600}]}");
	json_decref(q);
	/* schedule.add answers the new row as schedule.list shows it */
	q = req("{\"name\":\"weekly\",\"every\":604800,\"selector\":\"client\","
	        "\"value\":\"acme\",\"tests\":\"external-sender\",\"vantages\":[\"v1\"]}");
	added = ctl_sched_schedule_add(&r->c, q);
	json_decref(q);
	assert_non_null(added);
	assert_true(json_is_true(json_object_get(added, "ok")));
	q = req("{}");
	list = ctl_sched_schedule_list(&r->c, q);
	json_decref(q);
	assert_non_null(list);
	a = json_dumps(json_object_get(added, "schedule"), JSON_COMPACT);
	l = json_dumps(json_array_get(json_object_get(list, "schedules"), 2), JSON_COMPACT);
	assert_non_null(a);
	assert_non_null(l);
	assert_string_equal(a, l);
	assert_non_null(strstr(a, "{\"name\":\"weekly\",\"every\":604800,\"at\":-1,\"selector\":"
	                          "\"client\",\"value\":\"acme\",\"params\":{\"vantages\":[\"v1\"],"
	                          "\"tests\":\"external-sender\"},\"last_run\":0,"));
	free(a);
	free(l);
	json_decref(added);
	json_decref(list);
}

#define RESULT_OPEN                                                                                \
	"{\"tests\":[{\"id\":\"external-sender\",\"outcome\":\"accepted\",\"data\":true,"          \
	"\"evidence\":0}],\"transcript\":[{\"t\":1799999999000}]}"
#define RESULT_CLOSED "{\"tests\":[{\"id\":\"external-sender\",\"outcome\":\"refused\"}]}"

static void history_events_report(void **state)
{
	struct rfx *r = *state;
	const char *const tags[] = {"lab"};
	struct inv_row row = {"acme", "mx.test:2525", 2525, tags, 1};
	struct store_arrival arr = {.order_id = "o2",
	                            .agent_id = r->agent,
	                            .target = "mx.test:2525",
	                            .test = "external-sender",
	                            .arrived_ms = 1800000000000LL,
	                            .peer_ip = "198.51.100.7",
	                            .helo = "open.lab.example",
	                            .mail_from = "rp-b-x@canary.example",
	                            .rcpt = "rp-x@canary.example",
	                            .message_id = "rp-x.1@agent",
	                            .size = 600,
	                            .hops = "[{\"from_ip\":\"198.51.100.10\",\"by\":\"open\"}]"};
	int64_t a1, a2;
	json_t *q, *reply;
	long changed;
	const char *const open_keys[] = {"postfix/open-relay"};

	assert_int_equal(store_inv_import(r->f.s, &row, 1, NULL, NULL), 0);
	assert_int_equal(store_audit_create(r->f.s, NULL, 100, &a1), 0);
	order_result(r, a1, "o1", false, "mx.test:2525", DV_CLOSED, RESULT_CLOSED, 100);
	assert_int_equal(store_audit_set_status(r->f.s, a1, "done"), 0);
	assert_int_equal(store_audit_create(r->f.s, NULL, 200, &a2), 0);
	order_result(r, a2, "o2", true, "mx.test:2525", DV_OPEN, RESULT_OPEN, 200);
	assert_int_equal(store_canary_arrival(r->f.s, &arr, 300, &changed), 0);
	assert_int_equal(changed, 1);
	arr.bounce = true;
	arr.arrived_ms = 1800000000500LL;
	assert_int_equal(store_canary_arrival(r->f.s, &arr, 300, &changed), 0);
	assert_int_equal(store_audit_set_status(r->f.s, a2, "done"), 0);
	assert_int_equal(store_hist_record(r->f.s, 400), 1);

	q = req("{\"target\":\"mx.test:2525\"}");
	expect_reply(ctl_sched_history(&r->c, q),
	             "{\"ok\":true,\"target\":\"mx.test:2525\",\"history\":[{\"audit\":1,"
	             "\"at\":100,\"verdict\":\"closed\",\"client\":\"acme\",\"vantages\":"
	             "{\"v1\":\"closed\"}},{\"audit\":2,\"at\":200,\"verdict\":\"open-confirmed\","
	             "\"client\":\"acme\",\"vantages\":{\"v1\":\"open-confirmed\"}}]}");
	json_decref(q);
	q = req("{\"target\":\"none.test\"}");
	expect_reply(ctl_sched_history(&r->c, q),
	             "{\"ok\":true,\"target\":\"none.test\",\"history\":[]}");
	json_decref(q);
	q = req("{}");
	expect_reply(ctl_sched_events_list(&r->c, q),
	             "{\"ok\":true,\"events\":[{\"id\":1,\"at\":400,\"target\":\"mx.test:2525\","
	             "\"client\":\"acme\",\"from\":\"closed\",\"to\":\"open-confirmed\","
	             "\"audit\":2,\"software\":{\"name\":\"postfix\",\"label\":\"Postfix\","
	             "\"confidence\":\"high\"},\"advice\":[{\"finding\":\"open-relay\","
	             "\"software\":\"postfix\",\"summary\":\"smtpd_relay_restrictions = "
	             "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination; "
	             "mynetworks only your hosts\",\"key\":\"postfix/open-relay\"}]}]}");
	json_decref(q);
	q = req("{\"since\":1}");
	expect_reply(ctl_sched_events_list(&r->c, q), "{\"ok\":true,\"events\":[]}");
	json_decref(q);
	q = req("{\"audit\":2}");
	reply = ctl_report_report(&r->c, q);
	assert_non_null(reply);
	expect_advice_texts(reply, open_keys, 1);
	expect_reply(
	    reply,
	    "{\"ok\":true,\"audit\":2,\"status\":\"done\",\"previous_audit\":1,\"summary\":"
	    "{\"targets\":1,\"open\":1,\"closed\":0,\"inconclusive\":0,\"other\":0,"
	    "\"disagree\":0,\"new_open\":1,\"changed\":1},\"vantages\":[\"v1\"],\"targets\":"
	    "[{\"target\":\"mx.test:2525\",\"client\":\"acme\",\"verdict\":\"open-confirmed\","
	    "\"previous\":\"closed\",\"new\":true,\"disagree\":false,\"inconclusive\":false,"
	    "\"partial\":false,\"cells\":{\"v1\":\"open-confirmed\"},\"accepted\":{\"v1\":"
	    "[\"external-sender\"]},\"proof\":{\"deliveries\":[{\"agent\":\"v1\",\"test\":"
	    "\"external-sender\",\"arrived_at\":1800000000000,\"peer_ip\":\"198.51.100.7\","
	    "\"hops\":1,\"delay_ms\":1000,\"multihop\":true}],\"bounces\":[{\"agent\":\"v1\","
	    "\"test\":\"external-sender\",\"arrived_at\":1800000000500,\"peer_ip\":"
	    "\"198.51.100.7\"}]},\"software\":{\"name\":\"postfix\",\"label\":\"Postfix\","
	    "\"confidence\":\"high\"},\"advice\":[{\"finding\":\"open-relay\",\"software\":"
	    "\"postfix\",\"summary\":\"smtpd_relay_restrictions = permit_mynetworks, "
	    "permit_sasl_authenticated, reject_unauth_destination; mynetworks only your hosts\","
	    "\"key\":\"postfix/open-relay\"}],\"history\":[\"closed\",\"open-confirmed\"]}],"
	    "\"glance\":{\"acme\":{\"audits\":[1,2],\"open\":[0,1],\"closed\":[1,0],"
	    "\"inconclusive\":[0,0]}}}");
	json_decref(q);
	q = req("{\"audit\":1}");
	expect_reply(
	    ctl_report_report(&r->c, q),
	    "{\"ok\":true,\"audit\":1,\"status\":\"done\",\"previous_audit\":null,\"summary\":"
	    "{\"targets\":1,\"open\":0,\"closed\":1,\"inconclusive\":0,\"other\":0,"
	    "\"disagree\":0,\"new_open\":0,\"changed\":0},\"vantages\":[\"v1\"],\"targets\":"
	    "[{\"target\":\"mx.test:2525\",\"client\":\"acme\",\"verdict\":\"closed\","
	    "\"previous\":null,\"new\":false,\"disagree\":false,\"inconclusive\":false,"
	    "\"partial\":false,\"cells\":{\"v1\":\"closed\"},\"accepted\":{},\"proof\":null,"
	    "\"software\":{\"name\":\"unknown\",\"label\":\"unknown\",\"confidence\":"
	    "\"none\"},\"advice\":[],\"history\":[\"closed\"]}],\"advice_texts\":{},"
	    "\"glance\":{\"acme\":{\"audits\":[1],\"open\":[0],\"closed\":[1],"
	    "\"inconclusive\":[0]}}}");
	json_decref(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(inventory_and_schedules, setup, teardown),
	    cmocka_unit_test_setup_teardown(history_events_report, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
