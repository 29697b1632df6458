/* test_vantage.c - the port-25-blocked rule: every port-25 connect timed out
 * to enough distinct addresses, and nothing less. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vantage.h"

static void add_timeouts(struct vantage_tally *t, unsigned n)
{
	static const char *const addrs[] = {"192.0.2.10", "192.0.2.11", "198.51.100.7",
	                                    "203.0.113.9", "192.0.2.12"};

	for (unsigned i = 0; i < n; i++)
		vantage_tally_add(t, 25, addrs[i % 5], true, DV_UNREACHABLE, "connect timeout");
}

static void test_all_timeouts_blocked(void **state)
{
	struct vantage_tally t;
	char line[128];

	(void)state;
	vantage_tally_init(&t);
	add_timeouts(&t, 4);
	assert_true(vantage_port25_blocked(&t));
	vantage_blocked_line(&t, line, sizeof(line));
	assert_string_equal(line,
	                    "port 25 looks blocked at this vantage: 4 of 4 connects timed out");
	/* the kernel's own timeout counts too */
	vantage_tally_add(&t, 25, "192.0.2.99", true, DV_UNREACHABLE, strerror(ETIMEDOUT));
	assert_true(vantage_port25_blocked(&t));
	assert_int_equal(t.connects, 5);
}

static void test_mixed_not_blocked(void **state)
{
	static const char *const others[] = {"Connection refused", "Connection reset by peer",
	                                     "No route to host"};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct vantage_tally t;

		vantage_tally_init(&t);
		add_timeouts(&t, 4);
		vantage_tally_add(&t, 25, "192.0.2.50", true, DV_UNREACHABLE, others[i]);
		assert_false(vantage_port25_blocked(&t));
	}
	{ /* one server answered */
		struct vantage_tally t;

		vantage_tally_init(&t);
		add_timeouts(&t, 4);
		vantage_tally_add(&t, 25, "192.0.2.51", true, DV_CLOSED, "");
		assert_false(vantage_port25_blocked(&t));
	}
}

static void test_below_threshold(void **state)
{
	struct vantage_tally t;

	(void)state;
	vantage_tally_init(&t);
	add_timeouts(&t, RP_PORT25_BLOCKED_MIN_ADDRS - 1);
	assert_false(vantage_port25_blocked(&t));
	/* many connects, but to the same two addresses */
	for (int i = 0; i < 5; i++)
		vantage_tally_add(&t, 25, "192.0.2.10", true, DV_UNREACHABLE, "connect timeout");
	assert_false(vantage_port25_blocked(&t));
	/* nothing at all */
	vantage_tally_init(&t);
	assert_false(vantage_port25_blocked(&t));
}

static void test_other_ports_and_no_connect(void **state)
{
	struct vantage_tally t;

	(void)state;
	vantage_tally_init(&t);
	/* port 587 timing out says nothing about port 25 */
	vantage_tally_add(&t, 587, "192.0.2.10", true, DV_UNREACHABLE, "connect timeout");
	vantage_tally_add(&t, 587, "192.0.2.11", true, DV_UNREACHABLE, "connect timeout");
	vantage_tally_add(&t, 587, "192.0.2.12", true, DV_UNREACHABLE, "connect timeout");
	assert_false(vantage_port25_blocked(&t));
	assert_int_equal(t.connects, 0);
	/* a DNS failure is no connect: it neither counts nor breaks the rule */
	add_timeouts(&t, 3);
	vantage_tally_add(&t, 25, NULL, false, DV_ERROR, "DNS: no such domain");
	assert_true(vantage_port25_blocked(&t));
	assert_int_equal(t.connects, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_timeouts_blocked),
	    cmocka_unit_test(test_mixed_not_blocked),
	    cmocka_unit_test(test_below_threshold),
	    cmocka_unit_test(test_other_ports_and_no_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
