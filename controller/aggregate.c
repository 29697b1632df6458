/* aggregate.c - per-target verdict across vantages (see aggregate.h). Owns
 * the verdict rank table, checked against DV_COUNT. Pure functions; the only
 * allocation is the grouped index of a result, n entries. */
#include "aggregate.h"

#include <stdlib.h>
#include <string.h>

#include "rp_names.h"

/* Higher is worse. The order answers "what must the operator act on":
 * - open-confirmed > open > accepted-not-delivered: a message delivered
 *   through the server beats an accepted RCPT, which beats an accept that
 *   delivered nothing (maybe a sink, still accepting for strangers).
 * - tls-required > auth-required > closed: all three refuse to relay for a
 *   stranger, but closed is the strongest "no"; auth-required gates relaying
 *   on credentials; tls-required means the relay tests were refused before
 *   they could be asked in the clear, the least known of the three.
 * - Every conclusive verdict outranks every inconclusive one (error,
 *   tempfail, blocked, unreachable): a vantage that learnt nothing cannot
 *   make a target that is closed elsewhere look worse or inconclusive.
 * - Among inconclusive verdicts (only shown when no vantage concluded):
 *   error (something answered, wrongly) > tempfail (answered, deferred) >
 *   blocked (answered, refused us) > unreachable (nothing answered) >
 *   excluded (on the do-not-test list: never asked, shown only when every
 *   vantage was refused the target). */
static const int rank[] = {
    [DV_OPEN_CONFIRMED] = 100, [DV_OPEN] = 90,          [DV_ACCEPTED_NOT_DELIVERED] = 80,
    [DV_TLS_REQUIRED] = 60,    [DV_AUTH_REQUIRED] = 50, [DV_CLOSED] = 40,
    [DV_ERROR] = 30,           [DV_TEMPFAIL] = 20,      [DV_BLOCKED] = 15,
    [DV_UNREACHABLE] = 10,     [DV_EXCLUDED] = 5,
};
RP_ENUM_TABLE_CHECK(rank, DV_COUNT);

/* Ranks at or above this are conclusive. */
#define RANK_CONCLUSIVE 40

int aggregate_rank(enum dialog_verdict v)
{
	return (unsigned)v < DV_COUNT ? rank[v] : -1;
}

static enum dialog_verdict sane(enum dialog_verdict v)
{
	return (unsigned)v < DV_COUNT ? v : DV_ERROR;
}

void aggregate_clear(struct agg_result *r)
{
	if (r == NULL)
		return;
	free(r->index);
	memset(r, 0, sizeof(*r));
	r->verdict = DV_COUNT;
}

int aggregate_verdicts(const struct agg_vantage *v, size_t n, struct agg_result *out)
{
	size_t fill[DV_COUNT] = {0}, pos = 0;
	bool open = false, notopen = false, inconcl = false;
	int best = -1;

	memset(out, 0, sizeof(*out));
	out->verdict = DV_COUNT;
	out->n = n;
	if (n == 0)
		return 0;
	out->index = calloc(n, sizeof(*out->index));
	if (out->index == NULL) {
		aggregate_clear(out);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		enum dialog_verdict d = sane(v[i].verdict);

		out->count[d]++;
		if (rank[d] > best) {
			best = rank[d];
			out->verdict = d;
		}
		if (rank[d] < RANK_CONCLUSIVE)
			inconcl = true;
		else if (verdict_is_open(d))
			open = true;
		else
			notopen = true;
	}
	out->inconclusive = best < RANK_CONCLUSIVE;
	out->partial = !out->inconclusive && inconcl;
	/* Only vantages that got an answer vote: unreachable, tempfail,
	 * blocked and error say nothing about relaying. */
	out->disagree = open && notopen;

	/* Group the input positions by verdict, worst verdict first. */
	for (int r = 100; r >= 0; r--)
		for (int d = 0; d < DV_COUNT; d++)
			if (rank[d] == r) {
				out->first[d] = pos;
				pos += out->count[d];
			}
	for (size_t i = 0; i < n; i++) {
		enum dialog_verdict d = sane(v[i].verdict);

		out->index[out->first[d] + fill[d]++] = i;
	}
	return 0;
}

const char *aggregate_name(const struct agg_result *r)
{
	if (r == NULL || r->n == 0 || (unsigned)r->verdict >= DV_COUNT)
		return "none";
	if (r->inconclusive)
		return "inconclusive";
	return dialog_verdict_name(r->verdict);
}
