/* test_exclude.c - the do-not-test list: what each kind of entry covers,
 * what is refused on the way in (with FILE:LINE), the most specific entry
 * winning, IPv4-mapped addresses, and a list of RP_EXCLUDE_MAX entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exclude.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct exclude_list *list_of(const char *const *entries, size_t n)
{
	struct exclude_list *l = exclude_new();
	char err[256];

	assert_non_null(l);
	for (size_t i = 0; i < n; i++)
		if (exclude_add(l, entries[i], "asked", "test", err, sizeof(err)) < 0)
			fail_msg("\"%s\" refused: %s", entries[i], err);
	return l;
}

static void test_host_matching(void **state)
{
	static const char *const entries[] = {
	    "192.0.2.25",        "198.51.100.0/24",  "2001:db8:1::/48", "example.com",
	    "Mail.Example.NET.", "203.0.113.128/25", "203.0.113.0/24",
	};
	const struct {
		const char *host, *entry; /* entry: NULL = not excluded */
	} rows[] = {
	    {"192.0.2.25", "192.0.2.25"},
	    {"192.0.2.26", NULL},
	    {"[192.0.2.25]", "192.0.2.25"},
	    {"198.51.100.7", "198.51.100.0/24"},
	    {"198.51.101.7", NULL},
	    {"2001:db8:1:ffff::25", "2001:db8:1::/48"},
	    {"[IPv6:2001:db8:1::1]", "2001:db8:1::/48"},
	    {"2001:db8:2::1", NULL},
	    {"::ffff:192.0.2.25", "192.0.2.25"}, /* IPv4-mapped */
	    {"example.com", "example.com"},
	    {"EXAMPLE.com.", "example.com"},
	    {"mx1.example.com", "example.com"},
	    {"a.b.c.example.com", "example.com"},
	    {"notexample.com", NULL}, /* a label boundary, not a suffix */
	    {"example.com.evil.test", NULL},
	    {"mail.example.net", "Mail.Example.NET."},
	    {"mx.mail.example.net", "Mail.Example.NET."},
	    {"example.net", NULL},
	    {"203.0.113.200", "203.0.113.128/25"}, /* the longest prefix */
	    {"203.0.113.5", "203.0.113.0/24"},
	    {"", NULL},
	};
	struct exclude_list *l = list_of(entries, N(entries));

	(void)state;
	assert_int_equal(exclude_count(l), N(entries));
	for (size_t i = 0; i < N(rows); i++) {
		const struct exclude_entry *e = exclude_match_host(l, rows[i].host);

		if ((e == NULL) != (rows[i].entry == NULL) ||
		    (e != NULL && strcmp(e->text, rows[i].entry) != 0))
			fail_msg("%s: got %s, want %s", rows[i].host, e ? e->text : "(none)",
			         rows[i].entry ? rows[i].entry : "(none)");
		if (e != NULL) {
			assert_string_equal(e->reason, "asked");
			assert_string_equal(e->where, "test");
		}
	}
	assert_null(exclude_match_host(l, NULL));
	exclude_free(&l);
	assert_null(l);
	exclude_free(&l); /* NULL is fine */
}

static void test_addr_matching(void **state)
{
	static const char *const entries[] = {"192.0.2.0/28", "2001:db8::/32"};
	struct exclude_list *l = list_of(entries, N(entries));
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	struct sockaddr other = {.sa_family = AF_UNIX};

	(void)state;
	inet_pton(AF_INET, "192.0.2.15", &in.sin_addr);
	assert_non_null(exclude_match_addr(l, (struct sockaddr *)&in));
	inet_pton(AF_INET, "192.0.2.16", &in.sin_addr);
	assert_null(exclude_match_addr(l, (struct sockaddr *)&in));
	inet_pton(AF_INET6, "2001:db8:ffff::1", &in6.sin6_addr);
	assert_non_null(exclude_match_addr(l, (struct sockaddr *)&in6));
	inet_pton(AF_INET6, "::ffff:192.0.2.3", &in6.sin6_addr);
	assert_string_equal(exclude_match_addr(l, (struct sockaddr *)&in6)->text, "192.0.2.0/28");
	inet_pton(AF_INET6, "2001:db9::1", &in6.sin6_addr);
	assert_null(exclude_match_addr(l, (struct sockaddr *)&in6));
	assert_null(exclude_match_addr(l, &other));
	exclude_free(&l);
}

static void test_refused_entries(void **state)
{
	const struct {
		const char *entry, *reason, *why; /* why: a part of the error */
	} rows[] = {
	    {"", NULL, "empty"},
	    {"192.0.2.1/24", NULL, "host bits"},
	    {"192.0.2.0/33", NULL, "prefix length over 32"},
	    {"2001:db8::/129", NULL, "over 128"},
	    {"192.0.2.0/", NULL, "bad prefix"},
	    {"192.0.2.0/2x", NULL, "bad prefix"},
	    {"192.0.2.0/0024", NULL, "bad prefix"},
	    {"exa mple.com", NULL, "not an address"},
	    {"-bad-.example.com", NULL, "not an address"},
	    {"under_score.example", NULL, "not an address"},
	    {"192.0.2.300", NULL, "not an address"},
	    {"example.com", "a\x1b[2Jreason", "reason"},
	};
	struct exclude_list *l = exclude_new();
	char err[256], big[RP_EXCLUDE_REASON_MAX + 2];

	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		err[0] = '\0';
		if (exclude_add(l, rows[i].entry, rows[i].reason, "t", err, sizeof(err)) == 0)
			fail_msg("\"%s\" accepted", rows[i].entry);
		if (strstr(err, rows[i].why) == NULL)
			fail_msg("\"%s\": error \"%s\" lacks \"%s\"", rows[i].entry, err,
			         rows[i].why);
	}
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(exclude_add(l, "example.com", big, "t", err, sizeof(err)), -1);
	big[RP_EXCLUDE_REASON_MAX] = '\0';
	assert_int_equal(exclude_add(l, "example.com", big, "t", err, sizeof(err)), 0);
	assert_int_equal(exclude_count(l), 1);
	/* 0.0.0.0/0 is a valid entry: it excludes everything */
	assert_int_equal(exclude_add(l, "0.0.0.0/0", NULL, "t", err, sizeof(err)), 0);
	assert_non_null(exclude_match_host(l, "198.51.100.1"));
	exclude_free(&l);
}

static void test_file(void **state)
{
	char path[] = "/tmp/test_exclude.XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct exclude_list *l = exclude_new();
	const struct exclude_entry *e;

	(void)state;
	assert_non_null(f);
	fputs("# do not test these\n"
	      "\n"
	      "192.0.2.0/24   client opted out (ticket 42)  # asked by ops\n"
	      "  example.org\n"
	      "2001:db8::1\tthe partner's relay\n",
	      f);
	fclose(f);
	assert_int_equal(exclude_load_file(l, path, err, sizeof(err)), 0);
	assert_int_equal(exclude_count(l), 3);
	e = exclude_match_host(l, "192.0.2.9");
	assert_non_null(e);
	assert_string_equal(e->reason, "client opted out (ticket 42)");
	assert_non_null(strstr(e->where, ":3"));
	e = exclude_match_host(l, "mx.example.org");
	assert_non_null(e);
	assert_string_equal(e->reason, "");
	assert_non_null(strstr(e->where, ":4"));
	assert_string_equal(exclude_match_host(l, "2001:db8::1")->reason, "the partner's relay");
	exclude_free(&l);

	/* a bad entry: FILE:LINE and nothing half-loaded is trusted */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("192.0.2.0/24\n10.0.0.1/8 oops\n", f);
	fclose(f);
	l = exclude_new();
	assert_int_equal(exclude_load_file(l, path, err, sizeof(err)), -1);
	if (strstr(err, ":2: ") == NULL || strstr(err, "host bits") == NULL)
		fail_msg("error \"%s\"", err);
	exclude_free(&l);
	l = exclude_new();
	assert_int_equal(exclude_load_file(l, "/nonexistent/x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x"));
	exclude_free(&l);
	unlink(path);
}

/* RP_EXCLUDE_MAX entries load and answer; one more is refused. */
static void test_many(void **state)
{
	struct exclude_list *l = exclude_new();
	char entry[64], err[256];

	(void)state;
	for (unsigned i = 0; i < RP_EXCLUDE_MAX; i++) {
		if (i % 2)
			snprintf(entry, sizeof(entry), "10.%u.%u.0/24", (i >> 8) & 0xff, i & 0xff);
		else
			snprintf(entry, sizeof(entry), "h%u.example.com", i);
		assert_int_equal(exclude_add(l, entry, NULL, NULL, err, sizeof(err)), 0);
	}
	assert_int_equal(exclude_add(l, "192.0.2.1", NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	assert_non_null(exclude_match_host(l, "mx.h1000.example.com"));
	assert_null(exclude_match_host(l, "mx.h1001.example.com"));
	assert_non_null(exclude_match_host(l, "10.3.233.77")); /* 1001 = 0x3e9 */
	assert_null(exclude_match_host(l, "10.3.232.77"));     /* 1000: a name */
	exclude_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_matching),
	    cmocka_unit_test(test_addr_matching),
	    cmocka_unit_test(test_refused_entries),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
