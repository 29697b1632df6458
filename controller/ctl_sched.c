/* ctl_sched.c - admin commands targets.import/list/remove, exclude.add/
 * list/remove (the do-not-test list), schedule.add/list/remove/run-now,
 * history and events.list (docs/distributed.md), and
 * the scheduler tick: at most once a second it records finished audits'
 * history (and verdict-change events) and starts due schedules' audits with
 * audit.start's code. Rows per import are capped by RP_INV_ROWS_MAX. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_sched.h"

#include "audit.h"
#include "audit_json.h"
#include "ctl_advice.h"
#include "log.h"
#include "relay_tests.h"
#include "rp_limits.h"
#include "store_exclude.h"
#include "store_history.h"
#include "store_inventory.h"
#include "store_schedules.h"

static json_t *ok_with(const char *key, json_t *v)
{
	return json_pack("{s:b, s:o}", "ok", 1, key, v);
}

/* A store_name_cb: each name appended to the JSON array arg. */
static int name_append(void *arg, const char *name)
{
	return json_array_append_new(arg, json_string(name));
}

/* The replies' JSON for the store's rows: the admin protocol
 * (docs/distributed.md). A row callback appends one object to the array
 * arg; a failed append stops the walk, which the caller sees as fewer
 * elements than rows passed (reply_list). */
static int append_row(json_t *arr, json_t *o)
{
	return json_array_append_new(arr, o) != 0;
}

/* A stored JSON text, or empty (made by empty()) when it does not parse. */
static json_t *stored_json(const char *text, json_t *(*empty)(void))
{
	json_t *j = json_loads(text, 0, NULL);

	return j ? j : empty();
}

static int inv_json(void *arg, const struct store_inv_item *it)
{
	return append_row(arg, json_pack("{s:s, s:s, s:o}", "client", it->client, "target",
	                                 it->target, "tags", stored_json(it->tags, json_array)));
}

static json_t *sched_json(const struct store_sched_row *r)
{
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:o, s:I, s:I, s:s, s:I, s:I}", "name", r->name,
	                 "every", (json_int_t)r->every_s, "at", (json_int_t)r->at_s, "selector",
	                 r->selector, "value", r->value, "params",
	                 stored_json(r->params, json_object), "last_run", (json_int_t)r->last_run,
	                 "last_audit", (json_int_t)r->last_audit, "last_error", r->last_error,
	                 "next_run", (json_int_t)r->next_run, "created_at",
	                 (json_int_t)r->created_at);
}

static int sched_list_json(void *arg, const struct store_sched_row *r)
{
	return append_row(arg, sched_json(r));
}

static long sched_walk(struct ctl *c, json_t *arr)
{
	return store_sched_list(c->store, sched_list_json, arr);
}

static int sched_get_json(void *arg, const struct store_sched_row *r)
{
	*(json_t **)arg = sched_json(r);
	return 0;
}

/* One schedule as JSON: 1 (*out set, NULL when out of memory), 0 none, -1. */
static int sched_get(struct ctl *c, const char *name, json_t **out)
{
	*out = NULL;
	return store_sched_get(c->store, name, sched_get_json, out);
}

static int hist_json(void *arg, const struct store_hist_row *r)
{
	return append_row(arg,
	                  json_pack("{s:I, s:I, s:s, s:s, s:o}", "audit", (json_int_t)r->audit,
	                            "at", (json_int_t)r->at, "verdict", r->verdict, "client",
	                            r->client, "vantages", stored_json(r->vantages, json_object)));
}

static int event_json(void *arg, const struct store_event_row *e)
{
	return append_row(arg, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I}", "id",
	                                 (json_int_t)e->id, "at", (json_int_t)e->at, "target",
	                                 e->target, "client", e->client, "from", e->from, "to",
	                                 e->to, "audit", (json_int_t)e->audit));
}

/* The array a store walk filled, or NULL (decref'd) when the walk failed
 * (n < 0) or an append did. */
static json_t *reply_list(json_t *arr, long n)
{
	if (arr != NULL && n >= 0 && (size_t)n == json_array_size(arr))
		return arr;
	json_decref(arr);
	return NULL;
}

static const char *opt_str(json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

json_t *ctl_sched_targets_import(struct ctl *c, json_t *req)
{
	json_t *rows = json_object_get(req, "rows"), *r;
	struct inv_row *ir = NULL;
	const char **tagv = NULL;
	size_t n, i, ntag = 0, k;
	long added = 0, updated = 0;
	json_t *reply;

	if (!json_is_array(rows) || (n = json_array_size(rows)) == 0 || n > RP_INV_ROWS_MAX)
		return ctl_fail("\"rows\" must be a list of 1 to %d rows", RP_INV_ROWS_MAX);
	json_array_foreach(rows, i, r)
	{
		json_t *t = json_object_get(r, "tags");

		if (!json_is_object(r) || (t != NULL && !json_is_array(t)))
			return ctl_fail("row %zu: not an object with a \"tags\" list", i + 1);
		ntag += json_array_size(t);
	}
	ir = calloc(n, sizeof(*ir));
	tagv = calloc(ntag + 1, sizeof(*tagv));
	if (ir == NULL || tagv == NULL) {
		reply = ctl_fail("out of memory");
		goto out;
	}
	ntag = 0;
	json_array_foreach(rows, i, r)
	{
		json_t *t = json_object_get(r, "tags"), *el;
		json_t *port = json_object_get(r, "port");

		ir[i].client = opt_str(r, "client") ? opt_str(r, "client") : "";
		ir[i].target = opt_str(r, "target");
		if (ir[i].target == NULL || (port != NULL && !json_is_integer(port))) {
			reply =
			    ctl_fail("row %zu: \"target\" missing or \"port\" not a number", i + 1);
			goto out;
		}
		ir[i].port = (unsigned)json_integer_value(port);
		ir[i].tags = tagv + ntag;
		json_array_foreach(t, k, el)
		{
			if (!json_is_string(el)) {
				reply = ctl_fail("row %zu: tags must be strings", i + 1);
				goto out;
			}
			tagv[ntag++] = json_string_value(el);
			ir[i].ntags++;
		}
	}
	if (store_inv_import(c->store, ir, n, &added, &updated) < 0) {
		reply = ctl_fail("import: %s (nothing imported)", store_errmsg(c->store));
		goto out;
	}
	log_info("inventory import rows=%zu added=%ld updated=%ld", n, added, updated);
	reply = json_pack("{s:b, s:I, s:I}", "ok", 1, "added", (json_int_t)added, "updated",
	                  (json_int_t)updated);
out:
	free(ir);
	free(tagv);
	return reply;
}

json_t *ctl_sched_targets_list(struct ctl *c, json_t *req)
{
	json_t *arr = json_array();

	arr = reply_list(arr, arr ? store_inv_list(c->store, opt_str(req, "client"),
	                                           opt_str(req, "tag"), inv_json, arr)
	                          : -1);
	return arr ? ok_with("targets", arr) : ctl_fail("targets: %s", store_errmsg(c->store));
}

json_t *ctl_sched_targets_remove(struct ctl *c, json_t *req)
{
	json_t *t = json_object_get(req, "targets"), *el, *missing;
	size_t i;
	long total = 0;

	if (!json_is_array(t) || json_array_size(t) == 0)
		return ctl_fail("\"targets\" must be a non-empty list");
	missing = json_array();
	json_array_foreach(t, i, el)
	{
		long n;

		if (!json_is_string(el)) {
			json_decref(missing);
			return ctl_fail("target %zu is not a string", i + 1);
		}
		n = store_inv_remove(c->store, opt_str(req, "client"), json_string_value(el));
		if (n < 0) {
			json_decref(missing);
			return ctl_fail("remove: %s", store_errmsg(c->store));
		}
		if (n == 0)
			json_array_append(missing, el);
		total += n;
	}
	return json_pack("{s:b, s:I, s:o}", "ok", 1, "removed", (json_int_t)total, "missing",
	                 missing);
}

/* {"ok":true, key: [rows]} with the rows walk(c, arr) appends to arr (the
 * rows it passed, or -1), or the store's error as "KEY: ...". */
static json_t *walk_reply(struct ctl *c, const char *key, long (*walk)(struct ctl *c, json_t *arr))
{
	json_t *arr = json_array();

	arr = reply_list(arr, arr ? walk(c, arr) : -1);
	return arr ? ok_with(key, arr) : ctl_fail("%s: %s", key, store_errmsg(c->store));
}

/* The reply to a remove by req[field] with rm (1 removed / 0 none / -1):
 * {"ok":true}, "no WHAT KEY", or the store's error; logs WHAT=KEY removed. */
static json_t *remove_named(struct ctl *c, json_t *req, const char *field, const char *what,
                            int (*rm)(struct store *s, const char *key))
{
	const char *key = opt_str(req, field);
	int rc;

	if (key == NULL)
		return ctl_fail("\"%s\" is required", field);
	rc = rm(c->store, key);
	if (rc <= 0)
		return rc < 0 ? ctl_fail("%s: %s", what, store_errmsg(c->store))
		              : ctl_fail("no %s %.64s", what, key);
	log_info("%s=%s removed", what, LOG_V(key));
	return json_pack("{s:b}", "ok", 1);
}

static int excl_json(void *arg, const struct store_exclude_row *r)
{
	return append_row(arg,
	                  json_pack("{s:s, s:s, s:s, s:I}", "entry", r->entry, "reason", r->reason,
	                            "by", r->requested_by, "added_at", (json_int_t)r->added_at));
}

static long excl_walk(struct ctl *c, json_t *arr)
{
	return store_exclude_list(c->store, excl_json, arr);
}

/* A field that is absent (NULL: "") or a string; -1 when it is another type. */
static int opt_text(json_t *req, const char *key, const char **out)
{
	json_t *v = json_object_get(req, key);

	*out = v != NULL ? json_string_value(v) : "";
	return *out != NULL ? 0 : -1;
}

json_t *ctl_sched_exclude_add(struct ctl *c, json_t *req)
{
	const char *entry = opt_str(req, "entry"), *reason = NULL, *by = NULL;
	char err[384];
	int rc;

	if (entry == NULL)
		return ctl_fail("\"entry\" is required (an address, a CIDR block or a domain)");
	if (opt_text(req, "reason", &reason) < 0 || opt_text(req, "by", &by) < 0)
		return ctl_fail("\"reason\" and \"by\" must be strings");
	if (store_exclude_check(entry, reason, by, err, sizeof(err)) < 0)
		return ctl_fail("exclude: %s", err);
	rc = store_exclude_add(c->store, entry, reason, by, (int64_t)time(NULL));
	if (rc < 0)
		return ctl_fail("exclude: %s", store_errmsg(c->store));
	log_info("exclusion=%s by=%s %s", LOG_V(entry), LOG_V(by), rc == 1 ? "added" : "updated");
	return json_pack("{s:b, s:s, s:b}", "ok", 1, "entry", entry, "added", rc == 1);
}

json_t *ctl_sched_exclude_list(struct ctl *c, json_t *req)
{
	(void)req;
	return walk_reply(c, "exclusions", excl_walk);
}

json_t *ctl_sched_exclude_remove(struct ctl *c, json_t *req)
{
	return remove_named(c, req, "entry", "exclusion", store_exclude_remove);
}

json_t *ctl_sched_schedule_add(struct ctl *c, json_t *req)
{
	const char *name = opt_str(req, "name"), *sel = opt_str(req, "selector");
	const char *val = opt_str(req, "value");
	json_t *every = json_object_get(req, "every"), *at = json_object_get(req, "at");
	json_t *params, *reply;
	char *pj;
	static const char *const keep[] = {"vantages", "tests", "params"};

	if (name == NULL || !json_is_integer(every))
		return ctl_fail("\"name\" and \"every\" (seconds) are required");
	if (sel == NULL)
		sel = "all";
	if (strcmp(sel, "all") != 0 && strcmp(sel, "client") != 0 && strcmp(sel, "tag") != 0)
		return ctl_fail("\"selector\" must be all, client or tag");
	if (strcmp(sel, "all") != 0 && val == NULL)
		return ctl_fail("selector %s needs a \"value\"", sel);
	if (at != NULL && !json_is_integer(at))
		return ctl_fail("\"at\" must be seconds after midnight UTC");
	if (json_object_get(req, "tests") != NULL) {
		json_t *t = json_object_get(req, "tests");
		size_t idx[RP_TESTS_MAX], n = 0;
		char err[256];

		if (!json_is_string(t))
			return ctl_fail("\"tests\" must be a string of test ids");
		if (relay_tests_select(json_string_value(t), idx, RP_TESTS_MAX, &n, err,
		                       sizeof(err)) < 0)
			return ctl_fail("tests: %s", err);
	}
	/* Made after the checks above: their early returns would leak it. */
	params = json_object();
	if (params == NULL)
		return ctl_fail("out of memory");
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(req, keep[i]);

		if (v != NULL)
			json_object_set(params, keep[i], v);
	}
	pj = json_dumps(params, JSON_COMPACT);
	json_decref(params);
	if (pj == NULL)
		return ctl_fail("out of memory");
	if (store_sched_add(c->store, name, json_integer_value(every),
	                    at ? (int)json_integer_value(at) : -1, sel, val ? val : "", pj,
	                    time(NULL)) < 0) {
		free(pj);
		return ctl_fail("schedule %.64s: %s", name, store_errmsg(c->store));
	}
	free(pj);
	log_info("schedule=%s added every=%llds", LOG_V(name),
	         (long long)json_integer_value(every));
	if (sched_get(c, name, &reply) != 1 || reply == NULL)
		return ctl_fail("schedule %.64s: %s", name, store_errmsg(c->store));
	return ok_with("schedule", reply);
}

json_t *ctl_sched_schedule_list(struct ctl *c, json_t *req)
{
	(void)req;
	return walk_reply(c, "schedules", sched_walk);
}

json_t *ctl_sched_schedule_remove(struct ctl *c, json_t *req)
{
	return remove_named(c, req, "name", "schedule", store_sched_remove);
}

/* Starts the schedule's audit now; records the run (advance: move next_run
 * to the next slot). Returns the audit.start reply (or a failure). */
static json_t *run_schedule(struct ctl *c, const char *name, int64_t now, int advance)
{
	json_t *sc = NULL, *targets = NULL, *reply;
	struct audit_req_json r = {0};
	struct audit_started st = {0};
	char err[512] = "";
	int rc = sched_get(c, name, &sc);

	if (rc <= 0)
		return rc < 0 ? ctl_fail("schedule: %s", store_errmsg(c->store))
		              : ctl_fail("no schedule %.64s", name);
	if (sc == NULL)
		return ctl_fail("out of memory");
	targets = json_array();
	if (targets != NULL &&
	    store_inv_select(c->store, json_string_value(json_object_get(sc, "selector")),
	                     json_string_value(json_object_get(sc, "value")), name_append,
	                     targets) < 0) {
		json_decref(targets);
		targets = NULL;
	}
	if (targets == NULL) {
		snprintf(err, sizeof(err), "schedule %s: %s", name, store_errmsg(c->store));
	} else if (json_array_size(targets) == 0) {
		snprintf(err, sizeof(err), "schedule %s: no inventory target selected", name);
	} else if (audit_req_from_json(json_object_get(sc, "params"), false, &r, err,
	                               sizeof(err)) == 0) {
		const char **tv = calloc(json_array_size(targets), sizeof(*tv));

		if (tv == NULL) {
			snprintf(err, sizeof(err), "out of memory");
		} else {
			for (size_t i = 0; i < json_array_size(targets); i++)
				tv[i] = json_string_value(json_array_get(targets, i));
			r.req.targets = tv;
			r.req.ntargets = json_array_size(targets);
			/* The run is recorded in the audit's transaction. */
			r.req.schedule = name;
			r.req.sched_now = now;
			r.req.sched_advance = advance;
			if (audit_start(c, &r.req, &st, err, sizeof(err)) < 0)
				st.audit = 0;
			free(tv);
		}
	}
	audit_req_json_clear(&r);
	json_decref(targets);
	if (st.audit == 0 && store_sched_ran(c->store, name, now, 0, err, advance) < 0)
		log_error("schedule=%s: %s", LOG_V(name), store_errmsg(c->store));
	if (st.audit > 0) {
		log_info("schedule=%s audit=%lld started", LOG_V(name), (long long)st.audit);
		reply = json_pack("{s:b, s:I, s:I}", "ok", 1, "audit", (json_int_t)st.audit,
		                  "orders", (json_int_t)st.orders);
	} else {
		log_warn("schedule=%s run failed: %s", LOG_V(name), LOG_V(err));
		reply = ctl_fail("%s", err);
	}
	json_decref(sc);
	return reply;
}

json_t *ctl_sched_schedule_run_now(struct ctl *c, json_t *req)
{
	const char *name = opt_str(req, "name");

	if (name == NULL)
		return ctl_fail("\"name\" is required");
	return run_schedule(c, name, (int64_t)time(NULL), 0);
}

json_t *ctl_sched_history(struct ctl *c, json_t *req)
{
	const char *target = opt_str(req, "target");
	json_t *arr;

	if (target == NULL)
		return ctl_fail("\"target\" is required");
	/* Audits finished since the last tick are included. */
	if (store_hist_record(c->store, (int64_t)time(NULL)) < 0)
		log_error("history: %s", store_errmsg(c->store));
	arr = json_array();
	arr = reply_list(arr, arr ? store_hist_target(c->store, target, hist_json, arr) : -1);
	if (arr == NULL)
		return ctl_fail("history: %s", store_errmsg(c->store));
	return json_pack("{s:b, s:s, s:o}", "ok", 1, "target", target, "history", arr);
}

json_t *ctl_sched_events_list(struct ctl *c, json_t *req)
{
	json_t *since = json_object_get(req, "since"), *arr;

	if (since != NULL && !json_is_integer(since))
		return ctl_fail("\"since\" must be an event id");
	if (store_hist_record(c->store, (int64_t)time(NULL)) < 0)
		log_error("events: %s", store_errmsg(c->store));
	arr = json_array();
	arr =
	    reply_list(arr, arr ? store_events_list(c->store, since ? json_integer_value(since) : 0,
	                                            event_json, arr)
	                        : -1);
	/* after the walk: the software and advice of each (ctl_advice.c) */
	for (size_t i = 0; i < json_array_size(arr); i++)
		if (ctl_advice_event(c->store, json_array_get(arr, i)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr ? ok_with("events", arr) : ctl_fail("events: %s", store_errmsg(c->store));
}

void ctl_sched_tick(struct ctl *c)
{
	static time_t last;
	time_t now = time(NULL);
	json_t *due, *el;
	size_t i;
	long ev;

	if (now == last)
		return;
	last = now;
	ev = store_hist_record(c->store, (int64_t)now);
	if (ev < 0)
		log_error("history: %s", store_errmsg(c->store));
	else if (ev > 0)
		log_info("verdict changes recorded events=%ld", ev);
	due = json_array();
	if (due == NULL)
		return;
	if (store_sched_due(c->store, (int64_t)now, name_append, due) < 0) {
		log_error("schedules: %s", store_errmsg(c->store));
		json_decref(due);
		return;
	}
	json_array_foreach(due, i, el) json_decref(run_schedule(c, json_string_value(el), now, 1));
	json_decref(due);
}
