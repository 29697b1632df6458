/* test_target.c - target_parse(), target_hostname_ok() and
 * target_domain_reserved(): every form a user writes on the command line or in
 * a --targets file, and the errors that must name the input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include "target.h"

static struct target_spec parse_ok(const char *s, uint16_t defport)
{
	struct target_spec t;
	char err[256] = "";
	int rc = target_parse(s, defport, &t, err, sizeof(err));
	if (rc != 0)
		fail_msg("target_parse(\"%s\") failed: %s", s, err);
	return t;
}

/* Parse must fail and the message must contain every one of the needles. */
static void parse_bad(const char *s, const char *needle1, const char *needle2)
{
	struct target_spec t;
	char err[512] = "";
	int rc = target_parse(s, 25, &t, err, sizeof(err));
	if (rc != -1)
		fail_msg("target_parse(\"%s\") accepted (host=%s port=%u)", s, t.host,
		         (unsigned)t.port);
	if (strstr(err, needle1) == NULL)
		fail_msg("error for \"%s\" lacks \"%s\": %s", s, needle1, err);
	if (needle2 && strstr(err, needle2) == NULL)
		fail_msg("error for \"%s\" lacks \"%s\": %s", s, needle2, err);
}

static void test_host(void **state)
{
	struct target_spec t = parse_ok("mx.example.com", 25);
	assert_string_equal(t.host, "mx.example.com");
	assert_string_equal(t.text, "mx.example.com");
	assert_int_equal(t.port, 25);
	assert_false(t.port_given);
	assert_int_equal(t.family, 0);

	t = parse_ok("localhost", 587);
	assert_string_equal(t.host, "localhost");
	assert_int_equal(t.port, 587);
}

static void test_host_port(void **state)
{
	struct target_spec t = parse_ok("mx.example.com:587", 25);
	assert_string_equal(t.host, "mx.example.com");
	assert_int_equal(t.port, 587);
	assert_true(t.port_given);
	assert_int_equal(t.family, 0);

	t = parse_ok("mx.example.com:1", 25);
	assert_int_equal(t.port, 1);
	t = parse_ok("mx.example.com:65535", 25);
	assert_int_equal(t.port, 65535);
}

static void test_ipv4(void **state)
{
	struct target_spec t = parse_ok("192.0.2.25", 25);
	assert_string_equal(t.host, "192.0.2.25");
	assert_int_equal(t.family, AF_INET);
	assert_int_equal(t.port, 25);
	assert_false(t.port_given);

	t = parse_ok("192.0.2.25:2525", 25);
	assert_string_equal(t.host, "192.0.2.25");
	assert_int_equal(t.family, AF_INET);
	assert_int_equal(t.port, 2525);
	assert_true(t.port_given);
}

static void test_ipv6(void **state)
{
	struct target_spec t = parse_ok("[2001:db8::25]:465", 25);
	assert_string_equal(t.host, "2001:db8::25");
	assert_int_equal(t.family, AF_INET6);
	assert_int_equal(t.port, 465);
	assert_true(t.port_given);

	t = parse_ok("[::1]", 25);
	assert_string_equal(t.host, "::1");
	assert_int_equal(t.family, AF_INET6);
	assert_false(t.port_given);

	/* Bare v6: every colon belongs to the address, the port is the default. */
	t = parse_ok("2001:db8::25", 2525);
	assert_string_equal(t.host, "2001:db8::25");
	assert_int_equal(t.family, AF_INET6);
	assert_int_equal(t.port, 2525);
	assert_false(t.port_given);

	t = parse_ok("::1", 25);
	assert_string_equal(t.host, "::1");
	assert_int_equal(t.family, AF_INET6);
}

static void test_normalisation(void **state)
{
	struct target_spec t = parse_ok("mx.example.com.", 25);
	assert_string_equal(t.host, "mx.example.com");

	t = parse_ok("MX.Example.COM:25", 25);
	assert_string_equal(t.host, "mx.example.com");
	assert_string_equal(t.text, "MX.Example.COM:25"); /* as written */

	t = parse_ok("  \tmx.example.com:587 \r\n", 25);
	assert_string_equal(t.host, "mx.example.com");
	assert_string_equal(t.text, "mx.example.com:587");
	assert_int_equal(t.port, 587);
}

/* target_canonical(): the one form the store keeps, from every spelling. */
static void test_canonical(void **state)
{
	const struct {
		const char *text, *port, *canon; /* canon NULL: refused */
	} rows[] = {
	    {"mx.example.com", NULL, "mx.example.com"},
	    {"MX.Example.COM.", "", "mx.example.com"},
	    {"  mx.example.com:587 \r\n", NULL, "mx.example.com:587"},
	    {"mx.example.com", "2525", "mx.example.com:2525"},
	    {"mx.example.com:2525", "2525", "mx.example.com:2525"},
	    {"mx.example.com:25", "2525", NULL}, /* ports disagree */
	    {"mx.example.com", "0", NULL},
	    {"mx.example.com", "65536", NULL},
	    {"mx.example.com", "25x", NULL},
	    {"mx.example.com", "+25", NULL},
	    {"192.0.2.1", NULL, "192.0.2.1"},
	    {"192.0.2.1:25", NULL, "192.0.2.1:25"},
	    {"2001:db8::1", NULL, "2001:db8::1"},
	    {"[2001:db8::1]:25", NULL, "[2001:db8::1]:25"},
	    {"2001:db8::1", "587", "[2001:db8::1]:587"},
	    {"bad_name.example", NULL, NULL},
	    {"", NULL, NULL},
	    {NULL, NULL, NULL},
	};
	char out[TARGET_CANONICAL_MAX], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = target_canonical(rows[i].text, rows[i].port, out, sizeof(out), err,
		                          sizeof(err));

		if (rows[i].canon == NULL) {
			if (rc != -1 || err[0] == '\0')
				fail_msg("row %zu: \"%s\" accepted", i,
				         rows[i].text ? rows[i].text : "(null)");
			continue;
		}
		if (rc != 0 || strcmp(out, rows[i].canon) != 0)
			fail_msg("row %zu: \"%s\" -> %d \"%s\" (%s)", i, rows[i].text, rc, out,
			         err);
		/* the canonical form is a fixed point, and only it is canonical */
		assert_true(target_is_canonical(out));
		if (rows[i].port == NULL)
			assert_int_equal(target_is_canonical(rows[i].text),
			                 strcmp(rows[i].text, out) == 0);
	}
	assert_false(target_is_canonical(NULL));
}

static void test_bad_port(void **state)
{
	parse_bad("foo:0", "\"foo:0\"", "port out of range (1-65535)");
	parse_bad("foo:65536", "\"foo:65536\"", "port out of range");
	parse_bad("foo:99999", "bad target \"foo:99999\": port out of range (1-65535)", NULL);
	parse_bad("foo:999999999999999999999", "port out of range", NULL);
	parse_bad("foo:25x", "\"foo:25x\"", "not a number");
	parse_bad("foo:-1", "\"foo:-1\"", "not a number");
	parse_bad("foo:", "\"foo:\"", "empty port");
	parse_bad("[::1]:", "\"[::1]:\"", "empty port");
	parse_bad("[::1]:70000", "\"[::1]:70000\"", "port out of range");
	parse_bad("192.0.2.1:x", "\"192.0.2.1:x\"", "not a number");
}

static void test_bad_names(void **state)
{
	char longlabel[80], longname[300];

	parse_bad("mail_1.example.com", "\"mail_1.example.com\"", "underscore");
	memset(longlabel, 'a', 64);
	memcpy(longlabel + 64, ".com", 5);
	parse_bad(longlabel, "label longer than 63", NULL);
	parse_bad("mx..example.com", "\"mx..example.com\"", "empty label");
	parse_bad(".example.com", "empty label", NULL);
	parse_bad("-mx.example.com", "starts with '-'", NULL);
	parse_bad("mx-.example.com", "ends with '-'", NULL);
	parse_bad("mx example.com", "invalid character", NULL);
	parse_bad("", "empty target", NULL);
	parse_bad("   ", "empty target", NULL);
	parse_bad(":25", "empty host", NULL);
	parse_bad("256.1.1.1", "\"256.1.1.1\"", "invalid IPv4 address");

	/* 254 characters: five labels of 50 plus dots = 254 > 253. */
	size_t n = 0;
	for (int i = 0; i < 5; i++) {
		memset(longname + n, 'b', 50);
		n += 50;
		longname[n++] = '.';
	}
	longname[n - 1] = 'c'; /* 5*51 = 255 chars, no trailing dot */
	longname[n] = '\0';
	parse_bad(longname, "longer than 253", NULL);
}

static void test_bad_brackets(void **state)
{
	parse_bad("[::1", "\"[::1\"", "missing ']'");
	parse_bad("[mx.example.com]:25", "not an IP address", NULL);
	parse_bad("[::1]x", "after ']'", NULL);
	parse_bad("2001:db8::zz", "\"2001:db8::zz\"", "IPv6");
}

static void test_hostname_ok(void **state)
{
	char label63[70], label64[70];

	assert_true(target_hostname_ok("mx.example.com"));
	assert_true(target_hostname_ok("mx.example.com."));
	assert_true(target_hostname_ok("a"));
	assert_true(target_hostname_ok("xn--bcher-kva.example"));
	assert_true(target_hostname_ok("1mx.example.com"));
	assert_false(target_hostname_ok(""));
	assert_false(target_hostname_ok("."));
	assert_false(target_hostname_ok(NULL));
	assert_false(target_hostname_ok("a..b"));
	assert_false(target_hostname_ok("a_b.example"));
	assert_false(target_hostname_ok("-a.example"));
	assert_false(target_hostname_ok("a-.example"));
	assert_false(target_hostname_ok("a.example-"));
	assert_false(target_hostname_ok("a.example.."));

	memset(label63, 'x', 63);
	label63[63] = '\0';
	assert_true(target_hostname_ok(label63));
	memset(label64, 'x', 64);
	label64[64] = '\0';
	assert_false(target_hostname_ok(label64));
}

static void test_reserved(void **state)
{
	const char *yes[] = {
	    "example.com",     "example.net", "example.org", "EXAMPLE.NET.",  "mail.example.com",
	    "a.b.example.org", "example",     "foo.example", "test",          "foo.test",
	    "foo.invalid",     "invalid",     "localhost",   "foo.localhost", "printer.local",
	    "local",
	};
	const char *no[] = {
	    "mail.example.co", "example.co", "notexample.com",   "myexample.net",
	    "testing.com",     "contest",    "localhost.com",    "invalid.org",
	    "example.com.au",  "",           "local.example.co",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!target_domain_reserved(yes[i]))
			fail_msg("\"%s\" should be reserved", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (target_domain_reserved(no[i]))
			fail_msg("\"%s\" should not be reserved", no[i]);
	assert_false(target_domain_reserved(NULL));
}

static void test_address_literal(void **state)
{
	char ehlo[RP_DOMAIN_MAX + 1];

	assert_true(target_address_literal_ok("[192.0.2.1]"));
	assert_true(target_address_literal_ok("[IPv6:2001:db8::1]"));
	assert_false(target_address_literal_ok("[2001:db8::1]")); /* needs the IPv6: tag */
	assert_false(target_address_literal_ok("[192.0.2.256]"));
	assert_false(target_address_literal_ok("192.0.2.1"));
	assert_false(target_address_literal_ok("[]"));
	target_default_ehlo(ehlo, sizeof(ehlo));
	assert_true(strchr(ehlo, '.') != NULL && target_hostname_ok(ehlo));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_literal),
	    cmocka_unit_test(test_host),
	    cmocka_unit_test(test_host_port),
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_normalisation),
	    cmocka_unit_test(test_canonical),
	    cmocka_unit_test(test_bad_port),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_bad_brackets),
	    cmocka_unit_test(test_hostname_ok),
	    cmocka_unit_test(test_reserved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
