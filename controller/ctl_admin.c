/* ctl_admin.c - the controller's admin socket (REP, ipc, mode 0660): one JSON
 * object per request and reply, commands of docs/distributed.md (agents.*,
 * audit.start, audit.status, report, transcript). Requests are capped by
 * ZMQ_MAXMSGSIZE = RP_ADMIN_MSG_MAX, targets by RP_ADMIN_TARGETS_MAX; every
 * reply has "ok" and, when false, a one-line "error". */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "admin_proto.h"
#include "aggregate.h"
#include "audit.h"
#include "audit_json.h"
#include "canary_token.h"
#include "ctl_canary.h"
#include "ctl_internal.h"
#include "ctl_sched.h"
#include "dialog.h"
#include "envelope.h"
#include "hooks.h"
#include "link.h"
#include "log.h"
#include "orders.h"
#include "relay_tests.h"
#include "retention.h"
#include "rp_limits.h"
#include "store_agents.h"
#include "store_canary.h"
#include "store_history.h"
#include "store_inventory.h"
#include "store_orders.h"
#include "store_results.h"

json_t *ctl_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Printable ASCII only: a request's bytes quoted by jansson's error text,
	 * or a UTF-8 sequence cut by "%.32s", would make json_pack refuse the
	 * string (and the reply become "out of memory"). */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
		else if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* ---- agents ---- */

struct agent_list {
	struct ctl *c;
	json_t *arr;
	int64_t only; /* 0 = all */
	json_t *found;
};

static json_t *agent_json(struct ctl *c, const struct store_agent *a)
{
	json_t *labels = json_loads(a->labels ? a->labels : "{}", 0, NULL);
	struct ctl_session *s = link_session_of_agent(c, a->id);

	if (labels == NULL)
		labels = json_object();
	return json_pack("{s:I, s:s, s:s, s:s, s:b, s:I, s:o}", "id", (json_int_t)a->id, "name",
	                 a->name ? a->name : "", "fingerprint",
	                 a->fingerprint ? a->fingerprint : "", "status",
	                 store_agent_status_name(a->status), "connected",
	                 a->status == STORE_AGENT_APPROVED && link_session_alive(s, time(NULL)),
	                 "last_seen", (json_int_t)a->last_seen, "labels", labels);
}

static int agent_list_cb(void *arg, const struct store_agent *a)
{
	struct agent_list *l = arg;

	if (l->only != 0) {
		if (a->id != l->only)
			return 0;
		l->found = agent_json(l->c, a);
		return 1;
	}
	json_array_append_new(l->arr, agent_json(l->c, a));
	return 0;
}

static json_t *agent_reply(struct ctl *c, int64_t id)
{
	struct agent_list l = {.c = c, .only = id};

	if (store_agent_list(c->store, agent_list_cb, &l) < 0 || l.found == NULL) {
		json_decref(l.found);
		return ctl_fail("agent %lld: %s", (long long)id, store_errmsg(c->store));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "agent", l.found);
}

static json_t *cmd_agents_list(struct ctl *c, json_t *req)
{
	struct agent_list l = {.c = c, .arr = json_array()};

	if (store_agent_list(c->store, agent_list_cb, &l) < 0) {
		json_decref(l.arr);
		return ctl_fail("agents: %s", store_errmsg(c->store));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "agents", l.arr);
}

/* The agent named by req.id: a name, a fingerprint or a store id. */
static int find_agent(struct ctl *c, json_t *req, struct store_agent_info *a, json_t **err)
{
	json_t *id = json_object_get(req, "id");
	char buf[32];
	const char *s;
	int rc;

	if (json_is_integer(id)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(id));
		s = buf;
	} else if (json_is_string(id)) {
		s = json_string_value(id);
	} else {
		*err = ctl_fail("missing \"id\" (agent name, fingerprint or id)");
		return -1;
	}
	rc = store_agent_find(c->store, s, a);
	if (rc < 0)
		*err = ctl_fail("agents: %s", store_errmsg(c->store));
	else if (rc == 0)
		*err = ctl_fail("no agent %.64s", s);
	return rc == 1 ? 0 : -1;
}

static json_t *cmd_agents_approve(struct ctl *c, json_t *req)
{
	struct store_agent_info a;
	json_t *err = NULL;

	if (find_agent(c, req, &a, &err) < 0)
		return err;
	if (a.status == STORE_AGENT_REVOKED)
		return ctl_fail("agent %s is revoked: a revoked key is never approved again",
		                a.name);
	if (store_agent_approve(c->store, a.id) < 0)
		return ctl_fail("approve %s: %s", a.name, store_errmsg(c->store));
	log_info("agent=%s fingerprint=%s approved", LOG_V(a.name), a.fingerprint);
	return agent_reply(c, a.id);
}

static json_t *cmd_agents_revoke(struct ctl *c, json_t *req)
{
	struct store_agent_info a;
	json_t *err = NULL;

	if (find_agent(c, req, &a, &err) < 0)
		return err;
	if (store_agent_revoke(c->store, a.id) < 0)
		return ctl_fail("revoke %s: %s", a.name, store_errmsg(c->store));
	log_info("agent=%s fingerprint=%s revoked", LOG_V(a.name), a.fingerprint);
	/* Its unfinished orders will never be done: closed, so their audits
	 * finish without its cells. */
	for (long n; (n = store_agent_orders_close(c->store, a.id, time(NULL))) != 0;) {
		if (n < 0) {
			log_error("agent=%s orders not closed: %s", LOG_V(a.name),
			          store_errmsg(c->store));
			break;
		}
		log_info("agent=%s revoked: %ld unfinished orders closed", LOG_V(a.name), n);
	}
	/* Drop its live session: see link_rebind(). */
	link_session_drop(c, a.id);
	if (link_rebind(c) < 0)
		log_error("rebind after revoke failed: will retry");
	return agent_reply(c, a.id);
}

static json_t *cmd_agents_import(struct ctl *c, json_t *req)
{
	const char *pub = json_string_value(json_object_get(req, "pub"));
	char err[512],
	    b64[sodium_base64_ENCODED_LEN(KEYS_ED25519_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	struct store_agent_info a;
	struct keys *k;
	json_t *reply = NULL;
	int64_t id = 0;
	int rc;

	if (pub == NULL)
		return ctl_fail("missing \"pub\" (the contents of NAME.pub)");
	k = keys_parse_public(pub, strlen(pub), "agent public key", err, sizeof(err));
	if (k == NULL)
		return ctl_fail("import: %s", err);
	if (keys_role(k) != KEYS_ROLE_AGENT) {
		reply = ctl_fail("import: %s is a %s key, not an agent key", keys_name(k),
		                 keys_role_name(keys_role(k)));
		goto out;
	}
	sodium_bin2base64(b64, sizeof(b64), keys_ed25519_public(k), KEYS_ED25519_PK_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
	rc = store_agent_by_curve(c->store, keys_curve_public(k), &a);
	if (rc < 0) {
		reply = ctl_fail("import: %s", store_errmsg(c->store));
		goto out;
	}
	if (rc == 1 && a.status == STORE_AGENT_REVOKED) {
		reply = ctl_fail("import: this key (agent %s) was revoked", a.name);
		goto out;
	}
	if (rc == 1 && strcmp(a.ed25519_public, STORE_AGENT_NO_KEY) == 0) {
		/* Seen as pending: both keys are now vouched for by the file. */
		if (store_agent_pin(c->store, a.id, keys_name(k), b64, keys_fingerprint(k)) < 0) {
			reply = ctl_fail("import: %s", store_errmsg(c->store));
			goto out;
		}
		id = a.id;
	} else {
		struct store_agent sa = {.name = keys_name(k),
		                         .curve_public = keys_curve_public(k),
		                         .ed25519_public = b64,
		                         .fingerprint = keys_fingerprint(k)};

		if (store_agent_upsert(c->store, &sa, time(NULL), &id, NULL) < 0) {
			reply = ctl_fail("import: %s", store_errmsg(c->store));
			goto out;
		}
	}
	if (store_agent_approve(c->store, id) < 0) {
		reply = ctl_fail("import: approve: %s", store_errmsg(c->store));
		goto out;
	}
	log_info("agent=%s fingerprint=%s imported and approved", LOG_V(keys_name(k)),
	         keys_fingerprint(k));
	reply = agent_reply(c, id);
out:
	keys_free(&k);
	return reply;
}

/* ---- audits ---- */

static json_t *cmd_audit_start(struct ctl *c, json_t *req)
{
	struct audit_req_json r;
	struct audit_started st;
	char err[512];
	int rc = audit_req_from_json(req, true, &r, err, sizeof(err));

	if (rc == 0)
		rc = audit_start(c, &r.req, &st, err, sizeof(err));
	audit_req_json_clear(&r);
	if (rc < 0)
		return ctl_fail("%s", err);
	return json_pack("{s:b, s:I, s:I}", "ok", 1, "audit", (json_int_t)st.audit, "orders",
	                 (json_int_t)st.orders);
}

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

static json_t *cmd_audit_status(struct ctl *c, json_t *req)
{
	json_t *err = NULL;
	int64_t audit;
	char status[16];
	long orders, done, results;
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
	int failed;
};

static bool open_name(const char *v)
{
	return v != NULL && (strcmp(v, "open") == 0 || strcmp(v, "open-confirmed") == 0);
}

static int row_cb(void *arg, const struct store_matrix_row *row)
{
	struct report *rp = arg;
	json_t *cells = json_object(), *acc = json_object_get(rp->accepted, row->target);
	char client[RP_STORE_TEXT_MAX + 1] = "", prev[32] = "";
	const char *verdict = aggregate_name(row->agg);
	json_t *proof;
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
	if ((proof = store_canary_proof(rp->c->store, rp->audit, row->target)) == NULL) {
		json_decref(cells);
		rp->failed = 1;
		return 1;
	}
	for (size_t i = 0; i < row->ncells; i++)
		json_object_set_new(cells, row->cells[i].agent_name,
		                    json_string(dialog_verdict_name(row->cells[i].verdict)));
	acc = acc ? json_incref(acc) : json_object();
	json_array_append_new(rp->targets,
	                      json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:o, s:o, s:o}",
	                                "target", row->target, "client", client, "verdict", verdict,
	                                "previous", hp == 1 ? json_string(prev) : json_null(),
	                                "new", open_name(verdict) && !(hp == 1 && open_name(prev)),
	                                "disagree", row->agg->disagree, "inconclusive",
	                                row->agg->inconclusive, "partial", row->agg->partial,
	                                "cells", cells, "accepted", acc, "proof", proof));
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

static json_t *cmd_report(struct ctl *c, json_t *req)
{
	struct report rp = {.c = c};
	json_t *err = NULL, *vantages, *summary = NULL;
	char status[16];
	long o, d, r;
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
	if (store_audit_vantages(c->store, rp.audit, name_cb, vantages) < 0 ||
	    store_audit_accepted(c->store, rp.audit, accepted_cb, rp.accepted) < 0 ||
	    store_audit_matrix(c->store, rp.audit, row_cb, &rp) < 0 || rp.failed ||
	    (summary = report_finish(rp.targets)) == NULL) {
		json_decref(vantages);
		json_decref(rp.targets);
		json_decref(rp.accepted);
		return ctl_fail("report: %s", store_errmsg(c->store));
	}
	json_decref(rp.accepted);
	return json_pack("{s:b, s:I, s:s, s:o, s:o, s:o, s:o}", "ok", 1, "audit",
	                 (json_int_t)rp.audit, "status", status, "previous_audit",
	                 rp.previous_audit > 0 ? json_integer(rp.previous_audit) : json_null(),
	                 "summary", summary, "vantages", vantages, "targets", rp.targets);
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
static char *transcript_text(struct ctl *c, json_t *req, json_t **err)
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
static char *transcripts_text(struct ctl *c, json_t *req, json_t **err)
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

static json_t *cmd_hooks_status(struct ctl *c, json_t *req)
{
	return hooks_admin(c->hooks, admin_cmd_name(ADMIN_HOOKS_STATUS), req);
}

static json_t *cmd_retention_run(struct ctl *c, json_t *req)
{
	return retention_admin(c->store, c->cfg, admin_cmd_name(ADMIN_RETENTION_RUN), req,
	                       (int64_t)time(NULL));
}

/* The one command table, by wire/admin_proto.h's enum: a JSON handler, or a
 * text one for the paged ADMIN_REPLY_TEXT commands. */
static const struct {
	json_t *(*fn)(struct ctl *c, json_t *req);
	char *(*text)(struct ctl *c, json_t *req, json_t **err);
} commands[ADMIN_CMD_COUNT] = {
    [ADMIN_AGENTS_LIST] = {cmd_agents_list, NULL},
    [ADMIN_AGENTS_APPROVE] = {cmd_agents_approve, NULL},
    [ADMIN_AGENTS_REVOKE] = {cmd_agents_revoke, NULL},
    [ADMIN_AGENTS_IMPORT] = {cmd_agents_import, NULL},
    [ADMIN_AUDIT_START] = {cmd_audit_start, NULL},
    [ADMIN_AUDIT_STATUS] = {cmd_audit_status, NULL},
    [ADMIN_REPORT] = {cmd_report, NULL},
    [ADMIN_TRANSCRIPT] = {NULL, transcript_text},
    [ADMIN_TRANSCRIPTS] = {NULL, transcripts_text},
    [ADMIN_TARGETS_IMPORT] = {ctl_sched_targets_import, NULL},
    [ADMIN_TARGETS_LIST] = {ctl_sched_targets_list, NULL},
    [ADMIN_TARGETS_REMOVE] = {ctl_sched_targets_remove, NULL},
    [ADMIN_SCHEDULE_ADD] = {ctl_sched_schedule_add, NULL},
    [ADMIN_SCHEDULE_LIST] = {ctl_sched_schedule_list, NULL},
    [ADMIN_SCHEDULE_REMOVE] = {ctl_sched_schedule_remove, NULL},
    [ADMIN_SCHEDULE_RUN_NOW] = {ctl_sched_schedule_run_now, NULL},
    [ADMIN_HISTORY] = {ctl_sched_history, NULL},
    [ADMIN_EVENTS_LIST] = {ctl_sched_events_list, NULL},
    [ADMIN_HOOKS_STATUS] = {cmd_hooks_status, NULL},
    [ADMIN_RETENTION_RUN] = {cmd_retention_run, NULL},
};

bool ctl_admin_complete(void)
{
	for (int i = 0; i < ADMIN_CMD_COUNT; i++)
		if ((commands[i].fn == NULL) == (commands[i].text == NULL) ||
		    (commands[i].text != NULL) != (admin_cmds[i].kind == ADMIN_REPLY_TEXT))
			return false;
	return true;
}

char *ctl_admin_answer(struct ctl *c, const void *data, size_t len)
{
	json_t *req = NULL, *reply = NULL;
	json_error_t jerr;
	char *out = NULL;
	const char *cmd;
	int k;

	req = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(req)) {
		reply =
		    ctl_fail("request is not a JSON object: %s", req ? "wrong type" : jerr.text);
		goto out;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	k = admin_cmd_from_name(cmd);
	if (k >= 0 && commands[k].text != NULL) {
		/* Pages written as text (see struct page). */
		out = commands[k].text(c, req, &reply);
		if (out != NULL) {
			log_debug("admin cmd=%s ok=1 bytes=%zu", cmd, strlen(out));
			json_decref(req);
			return out;
		}
		goto out;
	}
	if (k >= 0)
		reply = commands[k].fn(c, req);
	else
		reply =
		    cmd ? ctl_fail("unknown command '%.32s'", cmd) : ctl_fail("missing \"cmd\"");
	log_debug("admin cmd=%s ok=%d", LOG_V(cmd), json_is_true(json_object_get(reply, "ok")));
out:
	out = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	json_decref(req);
	return out;
}

void ctl_admin_handle(struct ctl *c)
{
	zmq_msg_t m;
	json_t *reply = NULL;
	char *out = NULL;

	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, c->admin, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return;
	}
	if (zmq_msg_more(&m)) {
		/* REP: drain the rest, answer once. */
		zmq_msg_t x;
		int more = 1;

		while (more) {
			zmq_msg_init(&x);
			if (zmq_msg_recv(&x, c->admin, 0) < 0)
				more = 0;
			else
				more = zmq_msg_more(&x);
			zmq_msg_close(&x);
		}
		reply = ctl_fail("one JSON object per message");
		out = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	} else {
		out = ctl_admin_answer(c, zmq_msg_data(&m), zmq_msg_size(&m));
	}
	{
		/* REP must answer: a fixed reply when even that fails. */
		static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}";
		const char *o = out ? out : oom;

		if (zmq_send(c->admin, o, strlen(o), 0) < 0)
			log_error("admin reply failed: %s", zmq_strerror(zmq_errno()));
	}
	free(out);
	json_decref(reply);
	zmq_msg_close(&m);
}
