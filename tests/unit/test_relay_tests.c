/* test_relay_tests.c - the catalogue: the DESIGN.md section 4 ids exist with
 * their exact MAIL/RCPT forms, sets select what they say, expansion refuses
 * unknown parameters and over-long results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay_tests.h"
#include "rp_limits.h"

static const struct rt_params P = {.F = "f",
                                   .T = "t",
                                   .D = "ext.example",
                                   .S = "mx.example.com",
                                   .L = "example.com",
                                   .IP = "[192.0.2.1]"};

static void expect(const char *id, const char *mail, const char *rcpt)
{
	char m[RP_ADDR_MAX], r[RP_ADDR_MAX];
	const char *why = NULL;
	int i = relay_test_index(id);
	size_t n;
	const struct relay_test_def *all = relay_tests_all(&n);

	if (i < 0)
		fail_msg("missing test %s", id);
	assert_int_equal(relay_test_expand(&all[i], &P, m, sizeof(m), r, sizeof(r), &why), 0);
	assert_string_equal(m, mail);
	assert_string_equal(r, rcpt);
}

static void test_design_catalogue(void **state)
{
	expect("null-sender", "", "t@ext.example");
	expect("external-sender", "f@ext.example", "t@ext.example");
	expect("server-name-sender", "f@mx.example.com", "t@ext.example");
	expect("local-domain-sender", "f@example.com", "t@ext.example");
	expect("localhost-sender", "f@localhost", "t@ext.example");
	expect("unqualified-sender", "f", "t@ext.example");
	expect("ip-literal-sender", "f@[192.0.2.1]", "t@ext.example");
	expect("percent-hack-ip", "f@[192.0.2.1]", "t%ext.example@[192.0.2.1]");
	expect("percent-hack-name", "f@[192.0.2.1]", "t%ext.example@mx.example.com");
	expect("quoted-recipient", "f@[192.0.2.1]", "\"t@ext.example\"");
	expect("quoted-percent", "f@[192.0.2.1]", "\"t%ext.example\"");
	expect("double-at-ip", "f@[192.0.2.1]", "t@ext.example@[192.0.2.1]");
	expect("quoted-at-ip", "f@[192.0.2.1]", "\"t@ext.example\"@[192.0.2.1]");
	expect("double-at-name", "f@[192.0.2.1]", "t@ext.example@mx.example.com");
	expect("trailing-at", "f@[192.0.2.1]", "t@ext.example@");
	expect("source-route-ip", "f@[192.0.2.1]", "@[192.0.2.1]:t@ext.example");
	expect("source-route-name", "f@[192.0.2.1]", "@mx.example.com:t@ext.example");
	expect("bang-path", "f@[192.0.2.1]", "ext.example!t");
	expect("bang-path-ip", "f@[192.0.2.1]", "ext.example!t@[192.0.2.1]");
	expect("bang-path-name", "f@[192.0.2.1]", "ext.example!t@mx.example.com");
}

static void test_ids_unique_and_described(void **state)
{
	size_t n;
	const struct relay_test_def *all = relay_tests_all(&n);

	assert_true(n >= 20 && n <= RP_TESTS_MAX);
	for (size_t i = 0; i < n; i++) {
		assert_true(strlen(all[i].meaning) > 20);
		assert_int_equal(relay_test_index(all[i].id), (int)i);
	}
}

static void test_unknown_parameters(void **state)
{
	struct rt_params p = P;
	char m[RP_ADDR_MAX], r[RP_ADDR_MAX];
	const char *why = NULL;
	size_t n;
	const struct relay_test_def *all = relay_tests_all(&n);

	p.S = NULL;
	assert_int_equal(relay_test_expand(&all[relay_test_index("server-name-sender")], &p, m,
	                                   sizeof(m), r, sizeof(r), &why),
	                 -1);
	assert_string_equal(why, "server name unknown");
	p.L = NULL;
	assert_int_equal(relay_test_expand(&all[relay_test_index("local-domain-sender")], &p, m,
	                                   sizeof(m), r, sizeof(r), &why),
	                 -1);
	assert_string_equal(why, "local mail domain unknown");
	/* a test that needs neither still expands */
	assert_int_equal(relay_test_expand(&all[relay_test_index("external-sender")], &p, m,
	                                   sizeof(m), r, sizeof(r), &why),
	                 0);
}

static void test_expand_bounded(void **state)
{
	char longd[600];
	struct rt_params p = P;
	char m[RP_ADDR_MAX], r[RP_ADDR_MAX];
	const char *why = NULL;
	size_t n;
	const struct relay_test_def *all = relay_tests_all(&n);

	memset(longd, 'a', sizeof(longd) - 1);
	longd[sizeof(longd) - 1] = '\0';
	p.D = longd;
	assert_int_equal(relay_test_expand(&all[0], &p, m, sizeof(m), r, sizeof(r), &why), -1);
	assert_string_equal(why, "address too long");
	/* exactly fitting buffer */
	p.D = "ext.example";
	assert_int_equal(relay_test_expand(&all[0], &p, m, sizeof(m), r, 14, &why), 0);
	assert_string_equal(r, "t@ext.example");
	assert_int_equal(relay_test_expand(&all[0], &p, m, sizeof(m), r, 13, &why), -1);
}

static void test_select(void **state)
{
	size_t idx[RP_TESTS_MAX], n, all;
	char err[128];

	relay_tests_all(&all);
	assert_int_equal(relay_tests_select("all", idx, RP_TESTS_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, all - 1); /* not backscatter-probe: no relay test */
	assert_int_equal(relay_test_index("backscatter-probe"), (int)all - 1);
	assert_true(relay_tests_all(&all)[all - 1].finding_only);
	assert_int_equal(relay_tests_select("nmap", idx, RP_TESTS_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 16);
	/* ids and sets mix, duplicates fold, catalogue order kept */
	assert_int_equal(relay_tests_select("external-sender, null-sender,basic", idx, RP_TESTS_MAX,
	                                    &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 4);
	assert_int_equal(idx[0], (size_t)relay_test_index("null-sender"));
	assert_int_equal(
	    relay_tests_select("null-sender,bogus", idx, RP_TESTS_MAX, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"bogus\""));
	assert_int_equal(relay_tests_select("", idx, RP_TESTS_MAX, &n, err, sizeof(err)), -1);
	assert_int_equal(relay_tests_select("a,,b", idx, RP_TESTS_MAX, &n, err, sizeof(err)), -1);
	assert_int_equal(relay_tests_select("all", idx, 3, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many"));
}

static void test_sets_name_real_tests(void **state)
{
	size_t ns, idx[RP_TESTS_MAX], n;
	const struct relay_test_set *sets = relay_test_sets(&ns);
	char err[128];

	for (size_t i = 0; i < ns; i++)
		assert_int_equal(
		    relay_tests_select(sets[i].ids, idx, RP_TESTS_MAX, &n, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_design_catalogue),
	    cmocka_unit_test(test_ids_unique_and_described),
	    cmocka_unit_test(test_unknown_parameters),
	    cmocka_unit_test(test_expand_bounded),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_sets_name_real_tests),
	};

	return cmocka_run_group_tests_name("relay_tests", tests, NULL, NULL);
}
