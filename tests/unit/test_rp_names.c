/* test_rp_names.c - the bounds-checked name-table lookups (rp_names.h): out
 * of range either way, holes of a designated-initialiser table, exact and
 * case-blind search, a NULL name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rp_names.h"

enum colour { RED, GREEN, BLUE, COLOUR_COUNT };
static const char *const colour_names[] = {[RED] = "red", [BLUE] = "blue", [GREEN] = NULL};
RP_ENUM_TABLE_CHECK(colour_names, COLOUR_COUNT);

static void test_name(void **state)
{
	(void)state;
	assert_string_equal(rp_name(colour_names, COLOUR_COUNT, RED, "?"), "red");
	assert_string_equal(rp_name(colour_names, COLOUR_COUNT, BLUE, "?"), "blue");
	assert_string_equal(rp_name(colour_names, COLOUR_COUNT, GREEN, "?"), "?"); /* a hole */
	assert_string_equal(rp_name(colour_names, COLOUR_COUNT, COLOUR_COUNT, "?"), "?");
	assert_string_equal(rp_name(colour_names, COLOUR_COUNT, -1, "unknown"), "unknown");
	assert_null(rp_name(colour_names, COLOUR_COUNT, 99, NULL));
}

static void test_find(void **state)
{
	(void)state;
	assert_int_equal(rp_name_find(colour_names, COLOUR_COUNT, "blue", false), BLUE);
	assert_int_equal(rp_name_find(colour_names, COLOUR_COUNT, "BLUE", false), -1);
	assert_int_equal(rp_name_find(colour_names, COLOUR_COUNT, "BLUE", true), BLUE);
	assert_int_equal(rp_name_find(colour_names, COLOUR_COUNT, "green", true), -1);
	assert_int_equal(rp_name_find(colour_names, COLOUR_COUNT, "", false), -1);
	assert_int_equal(rp_name_find(colour_names, COLOUR_COUNT, NULL, false), -1);
	assert_int_equal(RP_NAMES_LEN(colour_names), COLOUR_COUNT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name),
	    cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests_name("rp_names", tests, NULL, NULL);
}
