/* test_syntax.c - common/syntax.c: one table per rule (ids by kind, tokens,
 * free text, tags, mailboxes), each row an input and whether it is valid,
 * including the boundary lengths and the cases that used to drift between
 * the CLI, the controller and the agent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "syntax.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A string of n copies of c (n < sizeof buf). */
static const char *rep(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void test_id(void **state)
{
	static char l64[65], l65[66], l128[129], l129[130];
	const struct {
		enum rp_id_kind kind;
		const char *s;
		bool ok;
	} rows[] = {
	    {RP_ID_NAME, "agent_1.example-net", true}, /* keygen's names */
	    {RP_ID_NAME, "ams-1", true},
	    {RP_ID_NAME, "", false},
	    {RP_ID_NAME, ".hidden", false},
	    {RP_ID_NAME, "-opt", false},
	    {RP_ID_NAME, "a/b", false},
	    {RP_ID_NAME, "a b", false},
	    {RP_ID_NAME, "a:b", false},
	    {RP_ID_NAME, "12345", false}, /* would shadow a row id */
	    {RP_ID_NAME, "1a", true},
	    {RP_ID_NAME, rep(l64, 64, 'n'), true},
	    {RP_ID_NAME, rep(l65, 65, 'n'), false},
	    {RP_ID_NAME, NULL, false},
	    {RP_ID_ORDER, "a12-g3-0-0badcafe", true}, /* ctl_admin.c's form */
	    {RP_ID_ORDER, "probe:1", true},
	    {RP_ID_ORDER, "12", true},
	    {RP_ID_ORDER, "", false},
	    {RP_ID_ORDER, "a b", false},
	    {RP_ID_ORDER, "a/b", false},
	    {RP_ID_ORDER, "a\x7f", false},
	    {RP_ID_ORDER, rep(l64, 64, 'o'), true},
	    {RP_ID_ORDER, rep(l65, 65, 'o'), false},
	    {RP_ID_AUDIT, "latest", true},
	    {RP_ID_AUDIT, "42", true},
	    {RP_ID_AUDIT, "4 2", false},
	    {RP_ID_REF, "SHA256:abc.def", true},
	    {RP_ID_REF, "ams-1", true},
	    {RP_ID_REF, "x;y", false},
	    {RP_ID_SPOOL, "A-z_0.9", true},
	    {RP_ID_SPOOL, ".", false},
	    {RP_ID_SPOOL, "..", false},
	    {RP_ID_SPOOL, "...", true},
	    {RP_ID_SPOOL, "a/..", false},
	    {RP_ID_SPOOL, "a:b", false},
	    {RP_ID_SPOOL, "", false},
	    {RP_ID_SPOOL, rep(l128, 128, 'k'), true},
	    {RP_ID_SPOOL, rep(l129, 129, 'k'), false},
	    {RP_ID_SCHEDULE, "nightly", true},
	    {RP_ID_SCHEDULE, "night ly", false},
	    {RP_ID_SCHEDULE,
	     "n\xc3\xa4"
	     "chtlich",
	     true},
	    {RP_ID_KIND_COUNT, "x", false},
	};

	(void)state;
	for (size_t i = 0; i < N(rows); i++)
		if (rp_id_ok(rows[i].kind, rows[i].s) != rows[i].ok)
			fail_msg("row %zu: rp_id_ok(%d, \"%.70s\") != %d", i, rows[i].kind,
			         rows[i].s ? rows[i].s : "(null)", rows[i].ok);
}

static void test_token(void **state)
{
	const struct {
		const char *s;
		size_t max;
		bool required, ok;
	} rows[] = {
	    {"mx.example.net:25", 64, true, true},
	    {"", 64, false, true},
	    {"", 64, true, false},
	    {"a b", 64, true, false},
	    {"a\tb", 64, true, false},
	    {"a\x7f", 64, true, false},
	    {"caf\xc3\xa9", 64, true, false}, /* ASCII only */
	    {"abcd", 4, true, true},
	    {"abcde", 4, true, false},
	    {NULL, 4, false, false},
	};

	(void)state;
	for (size_t i = 0; i < N(rows); i++)
		if (rp_token_ok(rows[i].s, rows[i].max, rows[i].required) != rows[i].ok)
			fail_msg("row %zu: rp_token_ok(\"%s\") != %d", i,
			         rows[i].s ? rows[i].s : "(null)", rows[i].ok);
}

static void test_text(void **state)
{
	const struct {
		const char *s;
		size_t max;
		unsigned flags;
		bool ok;
	} rows[] = {
	    {"Acme Corp", 128, 0, true},
	    {"Acme Corp", 128, RP_TEXT_NO_SPACE, false},
	    {"", 128, 0, false},
	    {"", 128, RP_TEXT_EMPTY, true},
	    {"a\nb", 128, RP_TEXT_EMPTY, false},
	    {"a\rb", 128, 0, false},
	    {"a\x1b[31m", 128, RP_TEXT_UTF8, false},
	    {"a\x7f", 128, RP_TEXT_UTF8, false},
	    {"M\xc3\xbcller", 128, 0, false}, /* ASCII unless UTF8 */
	    {"M\xc3\xbcller", 128, RP_TEXT_UTF8, true},
	    {"\xe2\x82\xac 5", 128, RP_TEXT_UTF8, true},    /* U+20AC */
	    {"\xf0\x9f\x98\x80", 128, RP_TEXT_UTF8, true},  /* U+1F600 */
	    {"\xc3", 128, RP_TEXT_UTF8, false},             /* truncated */
	    {"\xc0\xaf", 128, RP_TEXT_UTF8, false},         /* overlong '/' */
	    {"\xe0\x80\xaf", 128, RP_TEXT_UTF8, false},     /* overlong */
	    {"\xed\xa0\x80", 128, RP_TEXT_UTF8, false},     /* surrogate */
	    {"\xf4\x90\x80\x80", 128, RP_TEXT_UTF8, false}, /* > U+10FFFF */
	    {"\xff", 128, RP_TEXT_UTF8, false},
	    {"abc", 3, 0, true},
	    {"abcd", 3, 0, false},
	    {"ab\xc3\xa9", 3, RP_TEXT_UTF8, false}, /* the cut would split it */
	    {NULL, 3, RP_TEXT_EMPTY, false},
	};

	(void)state;
	for (size_t i = 0; i < N(rows); i++)
		if (rp_text_ok(rows[i].s, rows[i].max, rows[i].flags) != rows[i].ok)
			fail_msg("row %zu: rp_text_ok(\"%s\", %zu, %u) != %d", i,
			         rows[i].s ? rows[i].s : "(null)", rows[i].max, rows[i].flags,
			         rows[i].ok);
}

static void test_tag(void **state)
{
	static char l128[129], l129[130];
	const struct {
		const char *s;
		bool ok;
	} rows[] = {
	    {"prod", true},
	    {"eu-west_1.b:c", true},
	    {"gr\xc3\xbcn", true},
	    {"", false},
	    {"two words", false},
	    {"a,b", false},
	    {"a;b", false},
	    {"a\tb", false},
	    {"\xc3", false},
	    {rep(l128, 128, 't'), true},
	    {rep(l129, 129, 't'), false},
	    {NULL, false},
	};

	(void)state;
	for (size_t i = 0; i < N(rows); i++)
		if (rp_tag_ok(rows[i].s) != rows[i].ok)
			fail_msg("row %zu: rp_tag_ok(\"%.40s\") != %d", i,
			         rows[i].s ? rows[i].s : "(null)", rows[i].ok);
}

static void test_mailbox(void **state)
{
	static char l64[80], l65[80], long_dom[300], too_long[600];
	const struct {
		const char *s;
		unsigned flags;
		const char *local, *domain; /* NULL: refused */
	} rows[] = {
	    {"relaytest@example.net", 0, "relaytest", "example.net"},
	    {"x@[192.0.2.1]", RP_MAILBOX_LITERAL, "x", "[192.0.2.1]"},
	    {"x@[IPv6:2001:db8::1]", RP_MAILBOX_LITERAL, "x", "[IPv6:2001:db8::1]"},
	    {"x@[192.0.2.1]", 0, NULL, NULL},
	    {"x@[192.0.2.300]", RP_MAILBOX_LITERAL, NULL, NULL},
	    {"x@192.0.2.1", RP_MAILBOX_LITERAL, "x", "192.0.2.1"}, /* an LDH name */
	    {"first.last+tag@example.org", 0, "first.last+tag", "example.org"},
	    {"@example.net", 0, NULL, NULL},
	    {"x@", 0, NULL, NULL},
	    {"nodomain", 0, NULL, NULL},
	    {"a b@example.net", 0, NULL, NULL},
	    {"a,b@example.net", 0, NULL, NULL}, /* the CLI used to pass it */
	    {"a\"b@example.net", 0, NULL, NULL},
	    {"<a>@example.net", 0, NULL, NULL},
	    {"a@b@example.net", 0, NULL, NULL},
	    {"a\x01@example.net", 0, NULL, NULL},
	    {"a@exa mple.net", 0, NULL, NULL},
	    {"a@-bad-.net", 0, NULL, NULL},
	    {NULL, 0, NULL, NULL},
	};
	char local[RP_LOCAL_PART_MAX + 1], domain[RP_DOMAIN_MAX + 1], small[4];

	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		int rc = rp_mailbox_split(rows[i].s, local, sizeof(local), domain, sizeof(domain),
		                          rows[i].flags);

		if (rows[i].local == NULL) {
			if (rc != -1)
				fail_msg("row %zu: \"%s\" accepted", i, rows[i].s);
			continue;
		}
		if (rc != 0 || strcmp(local, rows[i].local) != 0 ||
		    strcmp(domain, rows[i].domain) != 0)
			fail_msg("row %zu: \"%s\" -> %d \"%s\" \"%s\"", i, rows[i].s, rc, local,
			         domain);
		/* check only */
		assert_int_equal(rp_mailbox_split(rows[i].s, NULL, 0, NULL, 0, rows[i].flags), 0);
	}
	/* the local part's bound, the domain's, the whole address's */
	snprintf(l64, sizeof(l64), "%s@example.net", rep(local, 64, 'l'));
	snprintf(l65, sizeof(l65), "L%s@example.net", rep(local, 64, 'l'));
	assert_int_equal(rp_mailbox_split(l64, local, sizeof(local), NULL, 0, 0), 0);
	assert_int_equal(rp_mailbox_split(l65, local, sizeof(local), NULL, 0, 0), -1);
	for (size_t i = 0; i + 1 < sizeof(long_dom); i += 2) {
		long_dom[i] = 'a';
		long_dom[i + 1] = '.';
	}
	long_dom[sizeof(long_dom) - 1] = '\0';
	snprintf(too_long, sizeof(too_long), "x@%s", long_dom);
	assert_int_equal(rp_mailbox_split(too_long, NULL, 0, NULL, 0, 0), -1);
	/* buffers too small for a part: refused, never cut */
	assert_int_equal(rp_mailbox_split("abcd@example.net", small, sizeof(small), NULL, 0, 0),
	                 -1);
	assert_int_equal(
	    rp_mailbox_split("a@example.net", local, sizeof(local), small, sizeof(small), 0), -1);
}

/* The probe parameters' one rule: what the CLI, the controller and the agent
 * each accept (they used to disagree on --ehlo [192.0.2.1] and on a "to"
 * without a domain). */
static void test_probe_params(void **state)
{
	static char long_ehlo[300];
	const struct {
		const char *to, *from, *ehlo, *bad; /* bad: NULL when all pass */
	} rows[] = {
	    {NULL, NULL, NULL, NULL},
	    {"", "", "", NULL},
	    {"relaytest@example.net", "probe@example.org", "probe.example.org", NULL},
	    {"x@[192.0.2.1]", "p@[IPv6:2001:db8::1]", "[192.0.2.7]", NULL},
	    {"x@[IPv6:2001:db8::1]", NULL, "[IPv6:2001:db8::2]", NULL},
	    {"nodomain", NULL, NULL, "to"},
	    {"x@", NULL, NULL, "to"},
	    {"x@@example.net", NULL, NULL, "to"},
	    {"x@[192.0.2.300]", NULL, NULL, "to"},
	    {NULL, "bare-local", NULL, "from"},
	    {NULL, "a\r\nRCPT TO:<v@example.net>@example.org", NULL, "from"},
	    {NULL, NULL, "-bad-.example", "ehlo"},
	    {NULL, NULL, "exa mple.net", "ehlo"},
	    {NULL, NULL, "[192.0.2.300]", "ehlo"},
	    {NULL, NULL, "probe.example\r\nMAIL FROM:<>", "ehlo"},
	    {"bad", "bad", "-bad-", "to"}, /* the first that fails */
	};

	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		const char *bad = rp_probe_params_bad(rows[i].to, rows[i].from, rows[i].ehlo);

		if ((bad == NULL) != (rows[i].bad == NULL) ||
		    (bad != NULL && strcmp(bad, rows[i].bad) != 0))
			fail_msg("row %zu: got %s, want %s", i, bad ? bad : "(pass)",
			         rows[i].bad ? rows[i].bad : "(pass)");
	}
	/* the EHLO name's bound: a host name's 253 characters */
	for (size_t i = 0; i + 1 < sizeof(long_ehlo); i += 2) {
		long_ehlo[i] = 'a';
		long_ehlo[i + 1] = '.';
	}
	long_ehlo[253] = '\0'; /* "a.a. ... .a" */
	assert_true(rp_ehlo_ok(long_ehlo));
	long_ehlo[253] = '.';
	long_ehlo[254] = 'a';
	long_ehlo[255] = '\0';
	assert_false(rp_ehlo_ok(long_ehlo));
	assert_false(rp_ehlo_ok(NULL));
	assert_false(rp_ehlo_ok(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_id),      cmocka_unit_test(test_token),
	    cmocka_unit_test(test_text),    cmocka_unit_test(test_tag),
	    cmocka_unit_test(test_mailbox), cmocka_unit_test(test_probe_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
