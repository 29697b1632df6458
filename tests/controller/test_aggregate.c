/* test_aggregate.c - unit tests for the per-target aggregation across
 * vantages: worst verdict wins, vantages listed per verdict, the disagree
 * flag on open vs not, all-unreachable is inconclusive (never closed), an
 * unreachable vantage does not spoil a closed elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "aggregate.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The name of the k-th vantage that saw verdict d. */
static const char *who(const struct agg_vantage *in, const struct agg_result *r,
                       enum dialog_verdict d, size_t k)
{
	assert_true(k < r->count[d]);
	return in[r->index[r->first[d] + k]].name;
}

static void test_open_and_two_closed(void **state)
{
	const struct agg_vantage in[] = {
	    {"paris", DV_CLOSED}, {"trusted-net", DV_OPEN}, {"tokyo", DV_CLOSED}};
	struct agg_result r;

	assert_int_equal(aggregate_verdicts(in, N(in), &r), 0);
	assert_int_equal(r.verdict, DV_OPEN);
	assert_string_equal(aggregate_name(&r), "open");
	assert_true(r.disagree);
	assert_false(r.inconclusive);
	assert_false(r.partial);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.count[DV_OPEN], 1);
	assert_string_equal(who(in, &r, DV_OPEN, 0), "trusted-net");
	assert_int_equal(r.count[DV_CLOSED], 2);
	assert_string_equal(who(in, &r, DV_CLOSED, 0), "paris");
	assert_string_equal(who(in, &r, DV_CLOSED, 1), "tokyo");
	/* Grouped worst first: the open vantage comes first in the index. */
	assert_int_equal(r.index[0], 1);
	aggregate_clear(&r);
	assert_null(r.index);
}

static void test_all_unreachable(void **state)
{
	const struct agg_vantage in[] = {
	    {"a", DV_UNREACHABLE}, {"b", DV_UNREACHABLE}, {"c", DV_UNREACHABLE}};
	struct agg_result r;

	assert_int_equal(aggregate_verdicts(in, N(in), &r), 0);
	assert_true(r.inconclusive);
	assert_string_equal(aggregate_name(&r), "inconclusive");
	assert_int_equal(r.verdict, DV_UNREACHABLE);
	assert_false(r.disagree);
	assert_int_equal(r.count[DV_UNREACHABLE], 3);
	aggregate_clear(&r);

	/* Mixed inconclusive verdicts are inconclusive too, never closed. */
	const struct agg_vantage mix[] = {
	    {"a", DV_UNREACHABLE}, {"b", DV_TEMPFAIL}, {"c", DV_BLOCKED}};
	assert_int_equal(aggregate_verdicts(mix, N(mix), &r), 0);
	assert_true(r.inconclusive);
	assert_string_equal(aggregate_name(&r), "inconclusive");
	assert_int_equal(r.verdict, DV_TEMPFAIL);
	aggregate_clear(&r);
}

static void test_closed_and_unreachable(void **state)
{
	const struct agg_vantage in[] = {{"a", DV_UNREACHABLE}, {"b", DV_CLOSED}};
	struct agg_result r;

	assert_int_equal(aggregate_verdicts(in, N(in), &r), 0);
	assert_int_equal(r.verdict, DV_CLOSED);
	assert_string_equal(aggregate_name(&r), "closed");
	assert_false(r.inconclusive);
	assert_false(r.disagree);
	assert_true(r.partial); /* one vantage learnt nothing */
	assert_string_equal(who(in, &r, DV_UNREACHABLE, 0), "a");
	aggregate_clear(&r);
}

static void test_tempfail_and_closed(void **state)
{
	const struct agg_vantage in[] = {{"greylisted", DV_TEMPFAIL}, {"b", DV_CLOSED}};
	struct agg_result r;

	/* Tempfail says nothing about relaying: closed stands, no dispute,
	 * but the result is marked partial. */
	assert_int_equal(aggregate_verdicts(in, N(in), &r), 0);
	assert_int_equal(r.verdict, DV_CLOSED);
	assert_false(r.disagree);
	assert_true(r.partial);
	aggregate_clear(&r);
}

static void test_open_unreachable_no_disagree(void **state)
{
	const struct agg_vantage in[] = {{"a", DV_OPEN}, {"b", DV_UNREACHABLE}, {"c", DV_ERROR}};
	struct agg_result r;

	assert_int_equal(aggregate_verdicts(in, N(in), &r), 0);
	assert_int_equal(r.verdict, DV_OPEN);
	assert_false(r.disagree);
	assert_true(r.partial);
	aggregate_clear(&r);
}

static void test_confirmed_beats_open(void **state)
{
	const struct agg_vantage in[] = {{"a", DV_OPEN}, {"b", DV_OPEN_CONFIRMED}, {"c", DV_OPEN}};
	struct agg_result r;

	assert_int_equal(aggregate_verdicts(in, N(in), &r), 0);
	assert_int_equal(r.verdict, DV_OPEN_CONFIRMED);
	assert_string_equal(aggregate_name(&r), "open-confirmed");
	assert_false(r.disagree); /* all open */
	assert_int_equal(r.count[DV_OPEN], 2);
	aggregate_clear(&r);
}

static void test_refusals(void **state)
{
	const struct agg_vantage a[] = {{"a", DV_CLOSED}, {"b", DV_AUTH_REQUIRED}};
	const struct agg_vantage b[] = {{"a", DV_AUTH_REQUIRED}, {"b", DV_TLS_REQUIRED}};
	const struct agg_vantage c[] = {{"a", DV_ACCEPTED_NOT_DELIVERED}, {"b", DV_TLS_REQUIRED}};
	struct agg_result r;

	assert_int_equal(aggregate_verdicts(a, N(a), &r), 0);
	assert_int_equal(r.verdict, DV_AUTH_REQUIRED);
	assert_false(r.disagree); /* neither is open */
	aggregate_clear(&r);
	assert_int_equal(aggregate_verdicts(b, N(b), &r), 0);
	assert_int_equal(r.verdict, DV_TLS_REQUIRED);
	aggregate_clear(&r);
	/* Accepting for a stranger, even without delivery, beats any refusal
	 * and disagrees with it. */
	assert_int_equal(aggregate_verdicts(c, N(c), &r), 0);
	assert_int_equal(r.verdict, DV_ACCEPTED_NOT_DELIVERED);
	assert_true(r.disagree);
	aggregate_clear(&r);
}

static void test_rank_table(void **state)
{
	/* Conclusive verdicts all outrank inconclusive ones, in step with
	 * verdict_inconclusive() from common/. */
	int min_conclusive = 1000, max_inconclusive = -1;

	for (int d = 0; d < DV_COUNT; d++) {
		int r = aggregate_rank((enum dialog_verdict)d);

		assert_true(r >= 0);
		if (verdict_inconclusive((enum dialog_verdict)d))
			max_inconclusive = r > max_inconclusive ? r : max_inconclusive;
		else
			min_conclusive = r < min_conclusive ? r : min_conclusive;
		for (int e = 0; e < d; e++)
			assert_int_not_equal(r, aggregate_rank((enum dialog_verdict)e));
	}
	assert_true(min_conclusive > max_inconclusive);
	assert_true(aggregate_rank(DV_OPEN_CONFIRMED) > aggregate_rank(DV_OPEN));
	assert_true(aggregate_rank(DV_OPEN) > aggregate_rank(DV_ACCEPTED_NOT_DELIVERED));
	assert_true(aggregate_rank(DV_ACCEPTED_NOT_DELIVERED) > aggregate_rank(DV_TLS_REQUIRED));
	assert_true(aggregate_rank(DV_AUTH_REQUIRED) > aggregate_rank(DV_CLOSED));
	assert_int_equal(aggregate_rank(DV_COUNT), -1);
}

static void test_empty_and_bad(void **state)
{
	const struct agg_vantage bad[] = {{"x", (enum dialog_verdict)77}, {"y", DV_CLOSED}};
	struct agg_result r;

	assert_int_equal(aggregate_verdicts(NULL, 0, &r), 0);
	assert_int_equal(r.n, 0);
	assert_string_equal(aggregate_name(&r), "none");
	aggregate_clear(&r);
	/* An out-of-range verdict counts as error (inconclusive), not as a
	 * vote. */
	assert_int_equal(aggregate_verdicts(bad, N(bad), &r), 0);
	assert_int_equal(r.verdict, DV_CLOSED);
	assert_int_equal(r.count[DV_ERROR], 1);
	aggregate_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_and_two_closed),
	    cmocka_unit_test(test_all_unreachable),
	    cmocka_unit_test(test_closed_and_unreachable),
	    cmocka_unit_test(test_tempfail_and_closed),
	    cmocka_unit_test(test_open_unreachable_no_disagree),
	    cmocka_unit_test(test_confirmed_beats_open),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_rank_table),
	    cmocka_unit_test(test_empty_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
