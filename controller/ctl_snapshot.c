/* ctl_snapshot.c - the numbers the metrics endpoint shows (struct
 * metrics_snapshot), gathered from the store, the agent sessions and the
 * canary: metrics.c renders them and never sees the controller's state. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregate.h"
#include "ctl_canary.h"
#include "ctl_internal.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "orders.h"
#include "rp_limits.h"
#include "store_metrics.h"
#include "store_results.h"

struct gather {
	struct store *s;
	struct metrics_client *clients;
	size_t n;
	int overflow;
	int slot; /* the verdict slot of the row being counted */
};

/* The index of client's counts, added when new; -1 when out of memory or
 * over RP_METRICS_LABELS_MAX distinct clients. */
static long client_index(struct gather *g, const char *client)
{
	struct metrics_client *q;
	char *name;

	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->clients[i].client, client) == 0)
			return (long)i;
	if (g->n >= RP_METRICS_LABELS_MAX) {
		g->overflow = 1;
		return -1;
	}
	q = realloc(g->clients, (g->n + 1) * sizeof(*q));
	if (q == NULL)
		return -1;
	g->clients = q;
	if ((name = strdup(client)) == NULL)
		return -1;
	memset(&q[g->n], 0, sizeof(*q));
	q[g->n].client = name;
	return (long)g->n++;
}

static int count_client(void *arg, const char *client)
{
	struct gather *g = arg;
	long i = client_index(g, client);

	if (i >= 0)
		g->clients[i].count[g->slot]++;
	return 0;
}

static int matrix_row(void *arg, const struct store_matrix_row *row)
{
	struct gather *g = arg;
	long n;

	g->slot = row->agg->inconclusive || row->agg->verdict >= DV_COUNT ? DV_COUNT
	                                                                  : (int)row->agg->verdict;
	/* Counted under every inventory client that lists the target; a target
	 * outside the inventory (an ad-hoc audit) under client "". */
	n = store_metrics_target_clients(g->s, row->target, count_client, g);
	if (n == 0)
		count_client(g, "");
	return n < 0 ? 1 : 0;
}

static void gather_free(struct gather *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->clients[i].client);
	free(g->clients);
	memset(g, 0, sizeof(*g));
}

int ctl_snapshot_fill(void *arg, struct metrics_snapshot *s)
{
	struct ctl *c = arg;
	struct gather g = {.s = c->store};
	int64_t id = 0, created = 0, last = 0;
	time_t now = time(NULL);
	long stored;
	int la;

	if (store_metrics_agents(c->store, s->agents) < 0 ||
	    store_metrics_orders(c->store, s->orders) < 0 ||
	    store_metrics_verdicts(c->store, s->verdict_results) < 0 ||
	    (stored = store_result_count(c->store)) < 0 ||
	    (la = store_metrics_last_audit(c->store, &id, &created, &last)) < 0)
		goto fail;
	for (size_t i = 0; i < c->nsess; i++)
		if (link_session_alive(&c->sess[i], now))
			s->agents_connected++;
	s->results_stored = stored;
	if ((s->results_ingested = store_counter(c->store, "results_ingested")) < 0)
		goto fail;
	if (la == 1) {
		s->have_audit = true;
		s->audit_timestamp = created;
		s->audit_duration = last - created;
		/* client "" always listed, so a dashboard sees its zeros. */
		if (client_index(&g, "") < 0 ||
		    store_audit_matrix(c->store, id, matrix_row, &g) < 0)
			goto fail;
		if (g.overflow)
			log_warn("metrics: over %d clients: the rest are not counted",
			         RP_METRICS_LABELS_MAX);
	}
	s->clients = g.clients;
	s->nclients = g.n;
	if (c->canary != NULL) {
		s->canary = true;
		ctl_canary_stats(c->canary, &s->canary_stats);
	}
	return 0;
fail:
	log_error("metrics: %s", store_errmsg(c->store));
	gather_free(&g);
	return -1;
}
