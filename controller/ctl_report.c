/* ctl_report.c - the admin commands that read an audit back
 * (ctl_report.h): audit.status, report (the matrix folded across vantages,
 * the proof by delivery, the changes since the previous audit) and the
 * transcript pages, written as text straight from the stored JSON. */
#include "ctl_report.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "ctl_advice.h"
#include "ctl_glance.h"
#include "dialog.h"
#include "log.h"
#include "rp_limits.h"
#include "store_canary.h"
#include "store_history.h"
#include "store_inventory.h"
#include "store_orders.h"
#include "store_results.h"

/* req.audit: an id, or "latest". */
static int audit_arg(struct ctl *c, json_t *req, int64_t *audit, json_t **err)
{
	json_t *a = json_object_get(req, "audit");
	int rc;

	if (json_is_integer(a) && json_integer_value(a) > 0) {
		*audit = json_integer_value(a);
		return 0;
	}
	if (json_is_string(a) && strcmp(json_string_value(a), "latest") == 0) {
		rc = store_audit_latest(c->store, audit);
		if (rc == 1)
			return 0;
		*err = rc < 0 ? ctl_fail("store: %s", store_errmsg(c->store))
		              : ctl_fail("no audit yet");
		return -1;
	}
	*err = ctl_fail("\"audit\" must be an audit id or \"latest\"");
	return -1;
}

json_t *ctl_report_audit_status(struct ctl *c, json_t *req)
{
	json_t *err = NULL;
	int64_t audit;
	char status[16];
	long orders = 0, done = 0, results = 0;
	int rc;

	if (audit_arg(c, req, &audit, &err) < 0)
		return err;
	rc = store_audit_status(c->store, audit, status, &orders, &done, &results);
	if (rc <= 0)
		return rc < 0 ? ctl_fail("store: %s", store_errmsg(c->store))
		              : ctl_fail("no audit %lld", (long long)audit);
	return json_pack("{s:b, s:I, s:s, s:I, s:I, s:I}", "ok", 1, "audit", (json_int_t)audit,
	                 "status", status, "orders", (json_int_t)orders, "done", (json_int_t)done,
	                 "results", (json_int_t)results);
}

static int name_cb(void *arg, const char *name)
{
	json_array_append_new(arg, json_string(name));
	return 0;
}

/* all[target][agent] = [accepted test ids], without duplicates. */
static int accepted_cb(void *arg, const char *target, const char *agent, const char *id)
{
	json_t *all = arg, *per, *list, *x;
	size_t i, ncat;
	int ti = id != NULL ? relay_test_index(id) : -1;

	if (target == NULL || agent == NULL || ti < 0)
		return 0; /* only ids of the catalogue: the JSON came from a peer */
	if (relay_tests_all(&ncat)[ti].finding_only)
		return 0; /* backscatter-probe: accepting it is no relaying */
	if ((per = json_object_get(all, target)) == NULL) {
		per = json_object();
		json_object_set_new(all, target, per);
	}
	if ((list = json_object_get(per, agent)) == NULL) {
		list = json_array();
		json_object_set_new(per, agent, list);
	}
	json_array_foreach(list, i, x) if (strcmp(json_string_value(x), id) == 0) return 0;
	json_array_append_new(list, json_string(id));
	return 0;
}

struct report {
	struct ctl *c;
	int64_t audit;
	int64_t previous_audit; /* newest earlier audit with a recorded verdict */
	json_t *targets;
	json_t *accepted; /* target -> agent -> [ids] */
	json_t *software; /* target -> {name, label, confidence} */
	json_t *texts;    /* advice key -> {summary, text} */
	int failed;
};

static bool open_name(const char *v)
{
	return v != NULL && (strcmp(v, "open") == 0 || strcmp(v, "open-confirmed") == 0);
}

/* The proof's JSON (docs/canary.md): {"deliveries": [...], "bounces": [...]}. */
struct proof {
	json_t *deliveries, *bounces;
	int failed;
};

static int proof_cb(void *arg, const struct store_proof_row *r)
{
	struct proof *p = arg;
	json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "agent", r->agent, "test", r->test,
	                      "arrived_at", (json_int_t)r->arrived_ms, "peer_ip", r->peer_ip);

	if (o != NULL && !r->bounce &&
	    (json_object_set_new(o, "hops", json_integer(r->hops)) < 0 ||
	     json_object_set_new(o, "delay_ms",
	                         r->has_delay ? json_integer(r->delay_ms) : json_null()) < 0 ||
	     json_object_set_new(o, "multihop", json_boolean(r->multihop)) < 0)) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL || json_array_append_new(r->bounce ? p->bounces : p->deliveries, o) < 0) {
		p->failed = 1;
		return 1;
	}
	return 0;
}

/* The proof for one target of the audit, json null when it has no arrival;
 * NULL on error. */
static json_t *proof_json(struct store *s, int64_t audit, const char *target)
{
	struct proof p = {json_array(), json_array(), 0};
	long n = -1;

	if (p.deliveries != NULL && p.bounces != NULL)
		n = store_canary_proof(s, audit, target, proof_cb, &p);
	if (n < 0 || p.failed) {
		json_decref(p.deliveries);
		json_decref(p.bounces);
		return NULL;
	}
	if (n == 0) {
		json_decref(p.deliveries);
		json_decref(p.bounces);
		return json_null();
	}
	return json_pack("{s:o, s:o}", "deliveries", p.deliveries, "bounces", p.bounces);
}

static int row_cb(void *arg, const struct store_matrix_row *row)
{
	struct report *rp = arg;
	json_t *cells = json_object(), *acc = json_object_get(rp->accepted, row->target);
	char client[RP_STORE_TEXT_MAX + 1] = "", prev[32] = "";
	const char *verdict = aggregate_name(row->agg);
	json_t *proof, *t;
	int64_t pa = 0;
	int hc, hp;

	hc = store_target_client(rp->c->store, row->target, client, sizeof(client));
	hp = store_target_previous(rp->c->store, row->target, rp->audit, prev, sizeof(prev), &pa);
	if (hc < 0 || hp < 0) {
		json_decref(cells);
		rp->failed = 1;
		return 1;
	}
	if (hp == 1 && pa > rp->previous_audit)
		rp->previous_audit = pa;
	if ((proof = proof_json(rp->c->store, rp->audit, row->target)) == NULL) {
		json_decref(cells);
		rp->failed = 1;
		return 1;
	}
	for (size_t i = 0; i < row->ncells; i++)
		json_object_set_new(cells, row->cells[i].agent_name,
		                    json_string(dialog_verdict_name(row->cells[i].verdict)));
	acc = acc ? json_incref(acc) : json_object();
	t = json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:o, s:o, s:o}", "target",
	              row->target, "client", client, "verdict", verdict, "previous",
	              hp == 1 ? json_string(prev) : json_null(), "new",
	              open_name(verdict) && !(hp == 1 && open_name(prev)), "disagree",
	              row->agg->disagree, "inconclusive", row->agg->inconclusive, "partial",
	              row->agg->partial, "cells", cells, "accepted", acc, "proof", proof);
	if (t == NULL ||
	    ctl_advice_target(t, row->agg, row->ncells, acc, rp->software, rp->texts) < 0 ||
	    json_array_append_new(rp->targets, t) < 0) {
		json_decref(t);
		rp->failed = 1;
		return 1;
	}
	return 0;
}

static int by_client_target(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int c = strcmp(json_string_value(json_object_get(x, "client")),
	               json_string_value(json_object_get(y, "client")));

	return c != 0 ? c
	              : strcmp(json_string_value(json_object_get(x, "target")),
	                       json_string_value(json_object_get(y, "target")));
}

/* Sorts the report's targets by client, then target; returns the summary. */
static json_t *report_finish(json_t *targets)
{
	size_t n = json_array_size(targets), i;
	json_t **v = calloc(n ? n : 1, sizeof(*v)), *t;
	long open = 0, closed = 0, inconc = 0, other = 0, disagree = 0, fresh = 0, changed = 0;

	if (v == NULL)
		return NULL;
	json_array_foreach(targets, i, t) v[i] = json_incref(t);
	qsort(v, n, sizeof(*v), by_client_target);
	json_array_clear(targets);
	for (i = 0; i < n; i++) {
		const char *verdict = json_string_value(json_object_get(v[i], "verdict"));
		const char *prev = json_string_value(json_object_get(v[i], "previous"));

		if (open_name(verdict))
			open++;
		else if (strcmp(verdict, "closed") == 0)
			closed++;
		else if (strcmp(verdict, "inconclusive") == 0)
			inconc++;
		else
			other++;
		disagree += json_is_true(json_object_get(v[i], "disagree"));
		fresh += json_is_true(json_object_get(v[i], "new"));
		changed += prev != NULL && strcmp(prev, verdict) != 0;
		json_array_append_new(targets, v[i]);
	}
	free(v);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "targets", (json_int_t)n,
	                 "open", (json_int_t)open, "closed", (json_int_t)closed, "inconclusive",
	                 (json_int_t)inconc, "other", (json_int_t)other, "disagree",
	                 (json_int_t)disagree, "new_open", (json_int_t)fresh, "changed",
	                 (json_int_t)changed);
}

json_t *ctl_report_report(struct ctl *c, json_t *req)
{
	struct report rp = {.c = c};
	json_t *err = NULL, *vantages, *summary = NULL, *glance = NULL;
	char status[16];
	long o = 0, d = 0, r = 0;
	int rc;

	if (audit_arg(c, req, &rp.audit, &err) < 0)
		return err;
	rc = store_audit_status(c->store, rp.audit, status, &o, &d, &r);
	if (rc <= 0)
		return rc < 0 ? ctl_fail("store: %s", store_errmsg(c->store))
		              : ctl_fail("no audit %lld", (long long)rp.audit);
	/* Audits finished since the last tick count as "previous". */
	if (store_hist_record(c->store, (int64_t)time(NULL)) < 0)
		log_error("history: %s", store_errmsg(c->store));
	vantages = json_array();
	rp.targets = json_array();
	rp.accepted = json_object();
	rp.texts = json_object();
	if (store_audit_vantages(c->store, rp.audit, name_cb, vantages) < 0 ||
	    store_audit_accepted(c->store, rp.audit, NULL, accepted_cb, rp.accepted) < 0 ||
	    (rp.software = ctl_advice_software(c->store, rp.audit)) == NULL || rp.texts == NULL ||
	    store_audit_matrix(c->store, rp.audit, row_cb, &rp) < 0 || rp.failed ||
	    (summary = report_finish(rp.targets)) == NULL ||
	    (glance = ctl_glance(c->store, rp.audit, rp.targets)) == NULL) {
		json_decref(summary);
		json_decref(vantages);
		json_decref(rp.targets);
		json_decref(rp.accepted);
		json_decref(rp.software);
		json_decref(rp.texts);
		return ctl_fail("report: %s", store_errmsg(c->store));
	}
	json_decref(rp.accepted);
	json_decref(rp.software);
	return json_pack("{s:b, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "ok", 1, "audit",
	                 (json_int_t)rp.audit, "status", status, "previous_audit",
	                 rp.previous_audit > 0 ? json_integer(rp.previous_audit) : json_null(),
	                 "summary", summary, "vantages", vantages, "targets", rp.targets,
	                 "advice_texts", rp.texts, "glance", glance);
}

/* ---- transcripts: pages of stored results ---- */

/* A reply page of results written as text: the stored result JSON (valid
 * JSON: the schema CHECKs it) is copied in as it is, never parsed and dumped
 * again. The store walks ids only and hands over one result's text at a
 * time, so a request holds at most one page: RP_ADMIN_PAGE_BYTES, or one
 * result when that alone is larger (RP_STORE_RESULT_MAX at most). A page
 * ends where the next result would not fit, between cells or inside one,
 * and says where to continue (docs/distributed.md, "Paging"). */
_Static_assert(RP_STORE_RESULT_MAX + RP_ADMIN_PAGE_BYTES + 64 * 1024 < RP_ADMIN_MSG_MAX,
               "a transcripts page fits one admin message");

struct page {
	struct ctl *c;
	FILE *f;
	long start;        /* reply bytes before the first result */
	bool cells;        /* `transcripts` (cells) or `transcript` (one cell) */
	bool check;        /* parse each result first, skip what jansson refuses */
	int64_t after;     /* results of the first cell up to this id were sent */
	long first, k;     /* the first cell's index; the current row's cell */
	bool seen;         /* a row was seen (k is valid) */
	int64_t row_agent; /* the current row's cell ... */
	char row_target[RP_STORE_TEXT_MAX + 1];
	int64_t cell_last; /* last id of cell k written (or skipped) */
	long open_k;       /* the cell open in the reply, or -1 */
	size_t nresults, in_cell;
	bool full;  /* stopped: the next result did not fit */
	int failed; /* a store or write failure */
	const struct store_result_ref *ref;
};

/* s as a JSON string (malloc'd), NULL on allocation failure. */
static char *json_string_text(const char *s)
{
	json_t *j = json_string(s);
	char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return t;
}

/* One result's stored text, written when it fits the page. */
static int page_put(void *arg, const char *text, size_t len)
{
	struct page *p = arg;
	const struct store_result_ref *ref = p->ref;
	bool newcell = p->cells && p->open_k != p->k;
	char *tj = NULL, *vj = NULL;
	long used = ftell(p->f) - p->start;
	size_t need = len + 1;

	if (len > RP_STORE_RESULT_MAX) {
		/* never stored by store_result_ingest(): an edited database */
		log_warn("admin: result=%lld of %zu bytes over %d: not sent", (long long)ref->id,
		         len, RP_STORE_RESULT_MAX);
		p->cell_last = ref->id;
		return 0;
	}
	if (p->check) {
		json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

		if (j == NULL) {
			log_warn("admin: result=%lld does not parse: not sent", (long long)ref->id);
			p->cell_last = ref->id;
			return 0;
		}
		json_decref(j);
	}
	if (newcell) {
		tj = json_string_text(ref->target);
		vj = json_string_text(ref->agent_name);
		if (tj == NULL || vj == NULL) {
			p->failed = 1;
			goto out;
		}
		need += strlen(tj) + strlen(vj) + 48;
	}
	if (used < 0 || (p->nresults > 0 && (size_t)used + need > RP_ADMIN_PAGE_BYTES)) {
		p->full = used >= 0;
		p->failed |= used < 0;
		goto out;
	}
	if (newcell) {
		fprintf(p->f, "%s{\"target\":%s,\"vantage\":%s,\"results\":[",
		        p->open_k >= 0 ? "]}," : "", tj, vj);
		p->open_k = p->k;
		p->in_cell = 0;
	}
	if (p->in_cell > 0)
		fputc(',', p->f);
	fwrite(text, 1, len, p->f);
	p->nresults++;
	p->in_cell++;
	p->cell_last = ref->id;
out:
	free(tj);
	free(vj);
	return p->full || p->failed;
}

/* One row of the store's walk (ids only): its text is fetched and written. */
static int page_row(void *arg, const struct store_result_ref *ref)
{
	struct page *p = arg;

	if (p->cells && (!p->seen || ref->agent_id != p->row_agent ||
	                 strcmp(ref->target, p->row_target) != 0)) {
		if (p->seen)
			p->k++;
		p->seen = true;
		p->row_agent = ref->agent_id;
		snprintf(p->row_target, sizeof(p->row_target), "%s", ref->target);
		p->cell_last = p->k == p->first ? p->after : 0;
	}
	if (p->cells && p->k == p->first && ref->id <= p->after)
		return 0; /* sent in an earlier page */
	p->ref = ref;
	if (store_result_json(p->c->store, ref->id, page_put, p) < 0)
		p->failed = 1;
	return p->full || p->failed;
}

/* An optional integer >= 0 of req; -1 when present and not one. */
static int opt_count(json_t *req, const char *key, json_int_t *out)
{
	json_t *j = json_object_get(req, key);

	if (j == NULL)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*out = json_integer_value(j);
	return 0;
}

/* Closes the page's reply text; NULL with *err set on a failure. */
static char *page_end(struct page *p, char **buf, json_t **err)
{
	/* fclose() sets *buf */
	if (fclose(p->f) != 0 || p->failed || *buf == NULL) {
		*err = ctl_fail("transcripts: %s",
		                p->failed ? store_errmsg(p->c->store) : "out of memory");
		free(*buf);
		return NULL;
	}
	return *buf;
}

/* One cell's transcripts (`transcript`: target from vantage), a page of
 * them after the result id "after", as the reply's text (*err set instead
 * on a failure). Each result is parsed first, one at a time, and skipped
 * when it does not parse: this is the fallback for a `transcripts` page
 * that did not parse at the client. */
char *ctl_report_transcript(struct ctl *c, json_t *req, json_t **err)
{
	const char *target = json_string_value(json_object_get(req, "target"));
	const char *vantage = json_string_value(json_object_get(req, "vantage"));
	struct page p = {.c = c, .check = true, .open_k = -1};
	json_int_t after = 0;
	int64_t audit;
	char *buf = NULL;
	size_t len = 0;

	if (audit_arg(c, req, &audit, err) < 0)
		return NULL;
	if (target == NULL || vantage == NULL) {
		*err = ctl_fail("\"target\" and \"vantage\" are required");
		return NULL;
	}
	if (opt_count(req, "after", &after) < 0) {
		*err = ctl_fail("\"after\" must be a result id >= 0");
		return NULL;
	}
	if ((p.f = open_memstream(&buf, &len)) == NULL) {
		*err = ctl_fail("out of memory");
		return NULL;
	}
	fputs("{\"ok\":true,\"results\":[", p.f);
	p.start = ftell(p.f);
	p.cell_last = after;
	if (store_audit_results(c->store, audit, target, vantage, (int64_t)after, page_row, &p) < 0)
		p.failed = 1;
	fprintf(p.f, "],\"more\":%s,\"next_after\":%lld}", p.full ? "true" : "false",
	        (long long)p.cell_last);
	return page_end(&p, &buf, err);
}

/* Bulk transcripts for reports: a page of (target, vantage) cells from
 * cell "offset" (its results after the id "after"), as the reply's text
 * (*err set instead on a failure). */
char *ctl_report_transcripts(struct ctl *c, json_t *req, json_t **err)
{
	struct page p = {.c = c, .cells = true, .open_k = -1};
	json_int_t offset = 0, limit = RP_ADMIN_CELLS_PAGE, after = 0;
	int64_t audit;
	long total, next;
	char *buf = NULL;
	size_t len = 0;

	if (audit_arg(c, req, &audit, err) < 0)
		return NULL;
	if (opt_count(req, "offset", &offset) < 0 || opt_count(req, "limit", &limit) < 0 ||
	    limit < 1 || limit > RP_ADMIN_CELLS_PAGE || opt_count(req, "after", &after) < 0) {
		*err = ctl_fail("\"offset\" and \"after\" must be >= 0 and \"limit\" 1 to %d",
		                RP_ADMIN_CELLS_PAGE);
		return NULL;
	}
	if ((total = store_audit_cells_count(c->store, audit)) < 0) {
		*err = ctl_fail("transcripts: %s", store_errmsg(c->store));
		return NULL;
	}
	if ((p.f = open_memstream(&buf, &len)) == NULL) {
		*err = ctl_fail("out of memory");
		return NULL;
	}
	fprintf(p.f, "{\"ok\":true,\"audit\":%lld,\"total\":%ld,\"offset\":%lld,\"cells\":[",
	        (long long)audit, total, (long long)offset);
	p.start = ftell(p.f);
	p.first = p.k = (long)offset;
	p.after = after;
	if (offset < total &&
	    store_audit_cells_page(c->store, audit, (long)offset, (long)limit, page_row, &p) < 0)
		p.failed = 1;
	/* Where the next page starts: inside cell k when it was cut. */
	next = p.full ? p.k : p.seen ? p.k + 1 : (long)offset;
	if (p.open_k >= 0)
		fputs(p.full && p.open_k == p.k ? "],\"more\":true}" : "]}", p.f);
	fprintf(p.f, "],\"more\":%s,\"next_offset\":%ld,\"next_after\":%lld}",
	        p.full || next < total ? "true" : "false", next,
	        (long long)(p.full ? p.cell_last : 0));
	return page_end(&p, &buf, err);
}
