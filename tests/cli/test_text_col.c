/* test_text_col.c - the TARGET column of `relayprobe probe`: wide enough for
 * an MX-derived name, capped, cut with an ellipsis on a code point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rp_limits.h"
#include "text_col.h"

static char *put(const char *s, size_t width)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	text_col_put(f, s, width);
	fclose(f);
	return buf;
}

static void test_mx_name_fits(void **state)
{
	const char *row = "mx2.example.com (MX of example.com, pref 20)";
	size_t w = text_col_fit(text_col_fit(0, 0), text_col_target_estimate("example.com", true));
	char *cell = put(row, w);

	(void)state;
	/* today's fixed 40 columns are too narrow for it */
	assert_true(strlen(row) > RP_TABLE_TARGET_MIN);
	assert_true(w >= strlen(row));
	assert_int_equal(strlen(cell), w); /* padded, the next column lines up */
	assert_memory_equal(cell, row, strlen(row));
	free(cell);
	/* an address or a name without MX: its own length, at least the minimum */
	assert_int_equal(text_col_fit(0, text_col_target_estimate("192.0.2.25", false)),
	                 RP_TABLE_TARGET_MIN);
}

static void test_cap_and_ellipsis(void **state)
{
	char longname[200];
	char *cell;
	size_t w;

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	w = text_col_fit(40, text_col_target_estimate(longname, false));
	assert_int_equal(w, RP_TABLE_TARGET_MAX);
	cell = put(longname, w);
	assert_int_equal(text_col_len(cell), w);
	assert_string_equal(cell + strlen(cell) - 3, "\u2026");
	free(cell);
}

static void test_utf8_safe(void **state)
{
	/* "bücher-büro.example" : ü is two bytes, one column */
	const char *s = "b\xc3\xbc"
	                "cher-b\xc3\xbc"
	                "ro.example";
	char *cell;

	(void)state;
	assert_int_equal(text_col_len(s), 19);
	cell = put(s, 22);
	assert_int_equal(strlen(cell), strlen(s) + 3);
	free(cell);
	cell = put(s, 2); /* "b…": never half of the ü */
	assert_string_equal(cell, "b\u2026");
	free(cell);
	cell = put(s, 3); /* "bü…" */
	assert_string_equal(cell, "b\xc3\xbc\u2026");
	free(cell);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mx_name_fits),
	    cmocka_unit_test(test_cap_and_ellipsis),
	    cmocka_unit_test(test_utf8_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
