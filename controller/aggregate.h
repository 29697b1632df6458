/* aggregate.h - one target's verdict across vantages: the worst verdict wins
 * by the rank in aggregate.c, with the vantages that saw each verdict, a
 * `disagree` flag when vantages that got an answer disagree on open vs not,
 * and `inconclusive` when no vantage got an answer (never "closed").
 * Pure: no I/O; one allocation per result (the grouped index). */
#ifndef RP_AGGREGATE_H
#define RP_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>

#include "verdict.h"

/* One vantage's verdict for the target (borrowed). */
struct agg_vantage {
	const char *name;
	enum dialog_verdict verdict;
};

struct agg_result {
	/* The winning verdict: the worst conclusive one, or when there is none
	 * the worst inconclusive one (then `inconclusive` is set). DV_COUNT
	 * when there were no vantages at all. */
	enum dialog_verdict verdict;
	bool inconclusive; /* no vantage reached a conclusive verdict */
	bool disagree;     /* conclusive vantages split between open and not open */
	bool partial;      /* conclusive, but some vantages were inconclusive */
	size_t n;          /* vantages aggregated */
	/* Vantages per verdict: index[first[v] .. first[v] + count[v]) are the
	 * positions, in the input array, of the vantages that saw v (in input
	 * order). index is owned by the result; free with aggregate_clear(). */
	size_t count[DV_COUNT];
	size_t first[DV_COUNT];
	size_t *index;
};

/* Rank of a verdict: higher is worse and wins. Conclusive verdicts all rank
 * above inconclusive ones. -1 for an out-of-range value. */
int aggregate_rank(enum dialog_verdict v);

/* Aggregates n vantages (n may be 0). Verdicts out of range count as
 * DV_ERROR. Returns 0, or -1 on allocation failure (out is then cleared). */
int aggregate_verdicts(const struct agg_vantage *v, size_t n, struct agg_result *out);

/* The aggregated verdict's name: "inconclusive" when inconclusive, "none"
 * without vantages, else dialog_verdict_name(). */
const char *aggregate_name(const struct agg_result *r);

/* Frees the index and zeroes the result; accepts a zeroed result. */
void aggregate_clear(struct agg_result *r);

#endif
