/* test_rp_grow.c - rp_grow gives room for element n: the first allocation
 * holds `first` elements, a full array doubles and keeps its elements, an
 * array with room is left alone, and a size that would overflow fails with
 * the array and its capacity unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "rp_grow.h"

struct item {
	int v;
	char pad[12];
};

static void test_grows_by_doubling(void **state)
{
	struct item *a = NULL, *before;
	size_t n = 0, cap = 0;

	(void)state;
	assert_int_equal(rp_grow(&a, &cap, n, 4), 0);
	assert_non_null(a);
	assert_int_equal(cap, 4);
	for (; n < 4; n++) {
		before = a;
		assert_int_equal(rp_grow(&a, &cap, n, 4), 0);
		assert_ptr_equal(a, before); /* room left: not reallocated */
		assert_int_equal(cap, 4);
		a[n].v = (int)n * 7;
	}
	assert_int_equal(rp_grow(&a, &cap, n, 4), 0);
	assert_int_equal(cap, 8);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(a[i].v, (int)i * 7);
	for (; n < 8; n++)
		assert_int_equal(rp_grow(&a, &cap, n, 4), 0);
	assert_int_equal(rp_grow(&a, &cap, n, 4), 0);
	assert_int_equal(cap, 16);
	free(a);
}

static void test_overflow_fails_unchanged(void **state)
{
	struct item *a = NULL, *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(rp_grow(&a, &cap, 0, 2), 0);
	before = a;
	cap = SIZE_MAX / sizeof(*a) / 2 + 1; /* doubled, it overflows */
	assert_int_equal(rp_grow(&a, &cap, cap, 2), -1);
	assert_ptr_equal(a, before);
	assert_int_equal(cap, SIZE_MAX / sizeof(*a) / 2 + 1);
	cap = 0;
	assert_int_equal(rp_grow_ptr(&a, &cap, 0, sizeof(*a), 0), -1); /* no room made */
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 0);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grows_by_doubling),
	    cmocka_unit_test(test_overflow_fails_unchanged),
	};

	return cmocka_run_group_tests_name("rp_grow", tests, NULL, NULL);
}
