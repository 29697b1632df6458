/* ctl_glance.c - history at a glance (ctl_glance.h): one query over the
 * recorded history (store_hist_glance), at most RP_GLANCE_AUDITS audits per
 * client; verdict names are the store's own, classified like the report's
 * cells (open, inconclusive, else closed). */
#include "ctl_glance.h"

#include <stdio.h>
#include <string.h>

#include "store_history.h"
#include "verdict.h"

struct glance {
	json_t *clients; /* client -> {audits, open, closed, inconclusive} */
	json_t *seen;    /* target -> {"audit id": verdict} */
	int failed;
};

static const char *verdict_kind(const char *name)
{
	int v = dialog_verdict_from_name(name);

	if (v < 0)
		return "inconclusive";
	if (verdict_is_open((enum dialog_verdict)v))
		return "open";
	return verdict_inconclusive((enum dialog_verdict)v) ? "inconclusive" : "closed";
}

static json_t *client_of(struct glance *g, const char *client)
{
	json_t *c = json_object_get(g->clients, client);

	if (c == NULL) {
		c = json_pack("{s:[], s:[], s:[], s:[]}", "audits", "open", "closed",
		              "inconclusive");
		if (c == NULL || json_object_set_new(g->clients, client, c) < 0)
			return NULL;
	}
	return c;
}

static int glance_cb(void *arg, const struct store_glance_row *r)
{
	struct glance *g = arg;
	json_t *c = client_of(g, r->client), *audits, *per, *n;
	const char *kinds[] = {"open", "closed", "inconclusive"};
	char id[24];

	if (c == NULL)
		goto fail;
	audits = json_object_get(c, "audits");
	n = json_array_get(audits, json_array_size(audits) - 1);
	if (n == NULL || json_integer_value(n) != r->audit) {
		if (json_array_append_new(audits, json_integer(r->audit)) < 0)
			goto fail;
		for (size_t k = 0; k < 3; k++)
			if (json_array_append_new(json_object_get(c, kinds[k]), json_integer(0)) <
			    0)
				goto fail;
	}
	n = json_array_get(json_object_get(c, verdict_kind(r->verdict)),
	                   json_array_size(audits) - 1);
	json_integer_set(n, json_integer_value(n) + 1);
	if ((per = json_object_get(g->seen, r->target)) == NULL) {
		if ((per = json_object()) == NULL ||
		    json_object_set_new(g->seen, r->target, per) < 0)
			goto fail;
	}
	snprintf(id, sizeof(id), "%lld", (long long)r->audit);
	if (json_object_set_new(per, id, json_string(r->verdict)) < 0)
		goto fail;
	return 0;
fail:
	g->failed = 1;
	return 1;
}

/* The target's strip: its verdict in each audit of its client, or null. */
static json_t *strip(const struct glance *g, const json_t *t)
{
	const char *client = json_string_value(json_object_get(t, "client"));
	const char *target = json_string_value(json_object_get(t, "target"));
	const json_t *per = json_object_get(g->seen, target ? target : "");
	const json_t *c = json_object_get(g->clients, client ? client : ""), *a;
	json_t *out = json_array();
	size_t i;
	char id[24];

	json_array_foreach(json_object_get(c, "audits"), i, a)
	{
		const json_t *v;

		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(a));
		v = json_object_get(per, id);
		if (json_array_append_new(out, v ? json_incref((json_t *)v) : json_null()) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

json_t *ctl_glance(struct store *s, int64_t audit, json_t *targets)
{
	struct glance g = {json_object(), json_object(), 0};
	json_t *t;
	size_t i;

	if (g.clients == NULL || g.seen == NULL ||
	    store_hist_glance(s, audit, RP_GLANCE_AUDITS, glance_cb, &g) < 0 || g.failed)
		goto fail;
	json_array_foreach(targets, i,
	                   t) if (json_object_set_new(t, "history", strip(&g, t)) < 0) goto fail;
	json_decref(g.seen);
	return g.clients;
fail:
	json_decref(g.clients);
	json_decref(g.seen);
	return NULL;
}
