/* audit.c - starting an audit (audit.h): the checks (a target on the
 * controller's do-not-test list refuses the audit), the vantages, the
 * split of the targets into orders per agent, and one transaction for the
 * audit, its order drafts and a schedule's run. */
#include "audit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "canary_token.h"
#include "ctl_canary.h"
#include "dialog.h"
#include "exclude.h"
#include "link.h"
#include "log.h"
#include "orders.h"
#include "relay_tests.h"
#include "rp_grow.h"
#include "rp_limits.h"
#include "store_agents.h"
#include "store_exclude.h"
#include "store_results.h"
#include "store_schedules.h"
#include "syntax.h"
#include "target.h"

struct vantage {
	int64_t id;
	char name[129];
};

struct pick {
	struct vantage *v;
	size_t n, cap;
};

static int pick_cb(void *arg, const struct store_agent *a)
{
	struct pick *p = arg;

	if (a->status != STORE_AGENT_APPROVED || a->ed25519_public == NULL ||
	    strcmp(a->ed25519_public, STORE_AGENT_NO_KEY) == 0)
		return 0;
	if (rp_grow(&p->v, &p->cap, p->n, 16) < 0)
		return 1;
	p->v[p->n].id = a->id;
	snprintf(p->v[p->n].name, sizeof(p->v[p->n].name), "%s", a->name);
	p->n++;
	return 0;
}

/* The vantages: every approved agent with a pinned signing key when the
 * request names none, else the named ones (each such an agent, once). */
static int pick_vantages(struct ctl *c, const struct audit_req *req, struct pick *p, char *err,
                         size_t errlen)
{
	struct pick all = {0};

	if (store_agent_list(c->store, pick_cb, &all) < 0) {
		free(all.v);
		return ctl_errf(err, errlen, "agents: %s", store_errmsg(c->store));
	}
	if (req->nvantages == 0) {
		*p = all;
		return p->n ? 0 : ctl_errf(err, errlen, "no approved agent to run the audit");
	}
	p->v = calloc(req->nvantages, sizeof(*p->v));
	if (p->v == NULL) {
		free(all.v);
		return ctl_errf(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < req->nvantages; i++) {
		const char *name = req->vantages[i];
		size_t k;

		for (k = 0; k < all.n; k++)
			if (strcmp(all.v[k].name, name) == 0)
				break;
		if (k == all.n) {
			free(all.v);
			return ctl_errf(err, errlen, "vantage %.64s is not an approved agent",
			                name);
		}
		for (size_t j = 0; j < p->n; j++)
			if (p->v[j].id == all.v[k].id)
				goto next;
		p->v[p->n++] = all.v[k];
	next:;
	}
	free(all.v);
	return 0;
}

/* The ProbeSpec (not its targets) from the request's tests and parameters;
 * test_idx and tests[] receive the catalogue entries sp->tests points at. */
static int spec_from(struct ctl *c, const struct audit_req *req, struct wire_spec *sp,
                     size_t *test_idx, char **tests, char *err, size_t errlen)
{
	const struct audit_params *pp = &req->params;
	const char *strs[] = {pp->tls, pp->to, pp->from, pp->ehlo};
	static const char *const names[] = {"tls", "to", "from", "ehlo"};
	size_t ncat;
	const struct relay_test_def *cat = relay_tests_all(&ncat);
	const char *bad;
	char why[256];

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strs[i] != NULL && strs[i][0] != '\0' &&
		    !rp_token_ok(strs[i], RP_TARGET_LINE_MAX, true))
			return ctl_errf(err, errlen, "params: '%s' must be a string without spaces",
			                names[i]);
	if ((bad = rp_probe_params_bad(pp->to, pp->from, pp->ehlo)) != NULL)
		return ctl_errf(err, errlen, "params: '%s' is not %s", bad,
		                strcmp(bad, "ehlo") == 0 ? "a host name or [address] literal"
		                                         : "an address (" RP_MAILBOX_RULE ")");
	if (pp->tls != NULL && pp->tls[0] != '\0' && dialog_tls_policy_from_name(pp->tls) < 0)
		return ctl_errf(err, errlen, "params: unknown tls policy '%.32s'", pp->tls);
	sp->port = pp->port;
	sp->timeout_s = pp->timeout_s;
	sp->retry_after_s = pp->retry_after_s;
	sp->allow_data = pp->data;
	/* The spec's strings are only read (wire_order_draft encodes them). */
	sp->tls_policy = (char *)(pp->tls ? pp->tls : "");
	sp->rcpt_to = (char *)(pp->to ? pp->to : "");
	sp->mail_from = (char *)(pp->from ? pp->from : "");
	sp->ehlo_name = (char *)(pp->ehlo ? pp->ehlo : "");
	sp->canary_domain = "";
	if (req->tests != NULL && req->tests[0] != '\0' &&
	    relay_tests_select(req->tests, test_idx, RP_TESTS_MAX, &sp->n_tests, why, sizeof(why)) <
	        0)
		return ctl_errf(err, errlen, "tests: %s", why);
	if (c->canary != NULL && sp->allow_data) {
		/* Tokens name tests: the list is explicit ("all" when none was
		 * given), and the canary's own finding, backscatter-probe, joins. */
		int bs = relay_test_index("backscatter-probe");
		bool have = false;

		if (sp->n_tests == 0 &&
		    relay_tests_select("all", test_idx, RP_TESTS_MAX, &sp->n_tests, NULL, 0) < 0)
			return ctl_errf(err, errlen, "tests: the catalogue is empty");
		for (size_t i = 0; i < sp->n_tests; i++)
			have = have || test_idx[i] == (size_t)bs;
		if (!have && bs >= 0 && sp->n_tests < RP_TESTS_MAX)
			test_idx[sp->n_tests++] = (size_t)bs;
		sp->canary_domain = (char *)ctl_canary_domain(c->canary);
		sp->contact = (char *)ctl_canary_contact(c->canary);
	}
	for (size_t i = 0; i < sp->n_tests; i++)
		tests[i] = (char *)cat[test_idx[i]].id;
	sp->tests = tests;
	return 0;
}

/* Targets per order for this agent: what its HELLO asked for, never under
 * RP_CTL_TARGETS_PER_ORDER_MIN (on_hello clamps it). */
static size_t targets_per_order(struct ctl *c, int64_t agent_id, const struct wire_spec *sp)
{
	struct ctl_session *s = link_session_of_agent(c, agent_id);
	size_t per = s ? s->max_targets : CTL_TARGETS_PER_ORDER;

	if (per < RP_CTL_TARGETS_PER_ORDER_MIN)
		per = RP_CTL_TARGETS_PER_ORDER_MIN;
	/* An order with tokens carries two per (target, test), and the store
	 * keeps it whole: size it for its tokens and the longest targets. */
	if (sp->canary_domain != NULL && sp->canary_domain[0] != '\0' && sp->n_tests > 0) {
		size_t cap = RP_CANARY_ORDER_BYTES /
		             (sp->n_tests * 2 * (CANARY_LOCAL_MAX + 3) + RP_TARGET_LINE_MAX + 8);

		if (per > cap)
			per = cap;
	}
	return per;
}

/* The audit's record (audits.params): the request as it was understood. */
static char *record_of(const struct audit_req *req, const struct wire_spec *sp,
                       const struct pick *p)
{
	json_t *o = json_object(), *t = json_array(), *v = json_array(), *tests = json_array();
	json_t *params =
	    json_pack("{s:I, s:I, s:I, s:b, s:s, s:s, s:s, s:s}", "port", (json_int_t)sp->port,
	              "timeout", (json_int_t)sp->timeout_s, "retry_after",
	              (json_int_t)sp->retry_after_s, "data", sp->allow_data, "tls", sp->tls_policy,
	              "to", sp->rcpt_to, "from", sp->mail_from, "ehlo", sp->ehlo_name);
	char *out = NULL;

	if (o == NULL || t == NULL || v == NULL || tests == NULL || params == NULL)
		goto out;
	for (size_t i = 0; i < req->ntargets; i++)
		json_array_append_new(t, json_string(req->targets[i]));
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(v, json_string(p->v[i].name));
	for (size_t i = 0; i < sp->n_tests; i++)
		json_array_append_new(tests, json_string(sp->tests[i]));
	json_object_set(o, "targets", t);
	json_object_set(o, "tests", tests);
	json_object_set(o, "vantages", v);
	json_object_set(o, "params", params);
	if (req->schedule != NULL)
		json_object_set_new(o, "schedule", json_string(req->schedule));
	out = json_dumps(o, JSON_COMPACT);
out:
	json_decref(t);
	json_decref(v);
	json_decref(tests);
	json_decref(params);
	json_decref(o);
	return out;
}

/* Refuses the audit when the controller's do-not-test list covers the host
 * of a target: -1 with err naming the first few and their entries. A
 * target that does not parse is left to the agent, which refuses it. */
static int refuse_excluded(struct ctl *c, const struct audit_req *req, char *err, size_t errlen)
{
	struct exclude_list *l = exclude_new();
	struct target_spec t;
	char why[RP_EXCLUDE_WHY_MAX], perr[128];
	size_t n = 0, len = 0;
	int rc = -1;

	if (l == NULL)
		return ctl_errf(err, errlen, "out of memory");
	if (store_exclude_load(c->store, l) < 0) {
		ctl_errf(err, errlen, "do-not-test list: %s", store_errmsg(c->store));
		goto out;
	}
	for (size_t i = 0; exclude_count(l) > 0 && i < req->ntargets; i++) {
		if (target_parse(req->targets[i], 25, &t, perr, sizeof(perr)) < 0 ||
		    !exclude_check(l, NULL, t.host, why, sizeof(why)))
			continue;
		if (n++ == 0)
			len = (size_t)snprintf(err, errlen, "on the do-not-test list:");
		if (n <= 3 && len < errlen)
			len += (size_t)snprintf(err + len, errlen - len, "%s %s (%s)",
			                        n > 1 ? ";" : "", req->targets[i], why);
	}
	if (n > 3 && len < errlen)
		snprintf(err + len, errlen - len, "; and %zu more", n - 3);
	if (n == 0)
		rc = 0;
	else
		log_info("audit refused: %zu targets on the do-not-test list", n);
out:
	exclude_free(&l);
	return rc;
}

int audit_start(struct ctl *c, const struct audit_req *req, struct audit_started *out, char *err,
                size_t errlen)
{
	struct pick p = {0};
	struct wire_spec sp = {0};
	size_t test_idx[RP_TESTS_MAX], nmade = 0;
	char *tests[RP_TESTS_MAX], *record = NULL;
	int64_t audit = 0;
	int tx = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	if (req->ntargets == 0 || req->ntargets > RP_ADMIN_TARGETS_MAX)
		return ctl_errf(err, errlen, "\"targets\" must be a list of 1 to %d targets",
		                RP_ADMIN_TARGETS_MAX);
	for (size_t i = 0; i < req->ntargets; i++)
		if (!rp_token_ok(req->targets[i], RP_TARGET_LINE_MAX, true))
			return ctl_errf(err, errlen,
			                "target %zu is not a string of printable characters",
			                i + 1);
	if (refuse_excluded(c, req, err, errlen) < 0 ||
	    spec_from(c, req, &sp, test_idx, tests, err, errlen) < 0 ||
	    pick_vantages(c, req, &p, err, errlen) < 0)
		goto out;
	if ((record = record_of(req, &sp, &p)) == NULL) {
		ctl_errf(err, errlen, "out of memory");
		goto out;
	}
	/* Audit and every order committed together, before anything is sent. */
	if (store_tx_begin(c->store) < 0) {
		ctl_errf(err, errlen, "store: %s", store_errmsg(c->store));
		goto out;
	}
	tx = 1;
	if (store_audit_create(c->store, record, time(NULL), &audit) < 0) {
		ctl_errf(err, errlen, "audit: %s", store_errmsg(c->store));
		goto out;
	}
	for (size_t i = 0; i < p.n; i++) {
		size_t per = targets_per_order(c, p.v[i].id, &sp);

		for (size_t off = 0, k = 1; off < req->ntargets; off += per, k++) {
			struct orders_made m;

			sp.targets = (char **)(req->targets + off);
			sp.n_targets = req->ntargets - off < per ? req->ntargets - off : per;
			if (orders_create(c, audit, p.v[i].id, p.v[i].name, k, &sp, &m, err,
			                  errlen) < 0)
				goto out;
			nmade++;
		}
	}
	if (req->schedule != NULL && store_sched_ran(c->store, req->schedule, req->sched_now, audit,
	                                             NULL, req->sched_advance) < 0) {
		ctl_errf(err, errlen, "schedule %s: %s", req->schedule, store_errmsg(c->store));
		goto out;
	}
	if (store_tx_commit(c->store) < 0) {
		ctl_errf(err, errlen, "commit: %s", store_errmsg(c->store));
		goto out;
	}
	tx = 0;
	log_info("audit=%lld started targets=%zu vantages=%zu orders=%zu", (long long)audit,
	         req->ntargets, p.n, nmade);
	/* Sent by orders_pump_all, within each agent's order window. */
	for (size_t i = 0; i < p.n; i++)
		orders_want_pump(c, p.v[i].id);
	out->audit = audit;
	out->orders = nmade;
	rc = 0;
out:
	if (tx)
		store_tx_rollback(c->store);
	free(record);
	free(p.v);
	return rc;
}
