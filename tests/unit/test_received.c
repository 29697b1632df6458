/* test_received.c - unit tests for the Received: parser: a golden table of the
 * headers Postfix, Exim, Sendmail, OpenSMTPD, Exchange and qmail write (folded
 * and not), then garbage and bounds: empty, "; date", binary, NUL inside,
 * deep and unterminated comments, over-long names and values, bad IPs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "received.h"

#define DATE "Tue, 1 Dec 2026 10:00:00 +0000 (UTC)"

struct golden {
	const char *name;
	const char *value;
	int rc;
	const char *helo, *rdns, *ip, *by, *with, *id;
};

static const struct golden goldens[] = {
    {"postfix",
     "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.net (Postfix) "
     "with ESMTPS id 4Xyz123 for <a@example.net>; " DATE,
     0, "mail.example.com", "mail.example.com", "192.0.2.1", "mx.example.net", "ESMTPS", "4Xyz123"},
    {"postfix folded",
     "from mail.example.com (mail.example.com [192.0.2.1])\r\n\tby mx.example.net (Postfix) with "
     "ESMTPS id 4Xyz123\r\n\tfor <a@example.net>; " DATE,
     0, "mail.example.com", "mail.example.com", "192.0.2.1", "mx.example.net", "ESMTPS", "4Xyz123"},
    {"postfix unknown rdns",
     "from helo.example (unknown [192.0.2.7]) by mx.example.net (Postfix) with ESMTP id 4Q1; " DATE,
     0, "helo.example", "", "192.0.2.7", "mx.example.net", "ESMTP", "4Q1"},
    {"postfix literal helo",
     "from [192.0.2.9] (unknown [192.0.2.9]) by mx.example.net (Postfix) with SMTP id 4Q2; " DATE,
     0, "[192.0.2.9]", "", "192.0.2.9", "mx.example.net", "SMTP", "4Q2"},
    {"postfix ipv6",
     "from helo.example (unknown [IPv6:2001:db8::5])\r\n by mx.example.net (Postfix) with ESMTPS "
     "id 4Q3; " DATE,
     0, "helo.example", "", "2001:db8::5", "mx.example.net", "ESMTPS", "4Q3"},
    {"postfix ipv6 canonical",
     "from [IPv6:2001:DB8:0:0::5] (mail.example.org [IPv6:2001:DB8:0:0::5]) by mx.example.net "
     "(Postfix) with ESMTP id 4Q4; " DATE,
     0, "[IPv6:2001:DB8:0:0::5]", "mail.example.org", "2001:db8::5", "mx.example.net", "ESMTP",
     "4Q4"},
    {"postfix local", "by host.example (Postfix, from userid 0) id ABC; " DATE, 0, "", "", "",
     "host.example", "", "ABC"},
    {"exim literal",
     "from [192.0.2.1] (helo=foo.example) by mx.example.net with esmtp (Exim 4.96) "
     "(envelope-from <x@example.org>) id 1abcDE-000123-Xy for y@example.net; " DATE,
     0, "foo.example", "", "192.0.2.1", "mx.example.net", "esmtp", "1abcDE-000123-Xy"},
    {"exim helo",
     "from host.example.org ([192.0.2.1] helo=foo.example)\n\tby mx.example.net with "
     "esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384\n\t(Exim 4.96)\n\t(envelope-from "
     "<x@example.org>)\n\tid 1abcDE-000124-Zz; " DATE,
     0, "foo.example", "host.example.org", "192.0.2.1", "mx.example.net", "esmtps",
     "1abcDE-000124-Zz"},
    {"exim name only",
     "from host.example.org ([192.0.2.1]) by mx.example.net with esmtp (Exim 4.96)"
     " (envelope-from <x@example.org>) id 1abcDE-000125-Aa; " DATE,
     0, "host.example.org", "host.example.org", "192.0.2.1", "mx.example.net", "esmtp",
     "1abcDE-000125-Aa"},
    {"exim ident",
     "from host.example.org ([192.0.2.1] helo=foo.example ident=bob) by "
     "mx.example.net with esmtp (Exim 4.96) id 1abc; " DATE,
     0, "foo.example", "host.example.org", "192.0.2.1", "mx.example.net", "esmtp", "1abc"},
    {"sendmail",
     "from foo.example (rdns.example.org [192.0.2.1])\r\n\tby mx.example.net "
     "(8.17.1/8.17.1) with ESMTP id 2B1A0x0Q012345\r\n\tfor <y@example.net>; " DATE,
     0, "foo.example", "rdns.example.org", "192.0.2.1", "mx.example.net", "ESMTP",
     "2B1A0x0Q012345"},
    {"sendmail forged",
     "from foo.example (rdns.example.org [192.0.2.1] (may be forged)) by "
     "mx.example.net (8.17.1/8.17.1) with ESMTP id 2B1A0x0Q012346; " DATE,
     0, "foo.example", "rdns.example.org", "192.0.2.1", "mx.example.net", "ESMTP",
     "2B1A0x0Q012346"},
    {"sendmail no rdns",
     "from foo ([192.0.2.1]) by mx.example.net (8.17.1/8.17.1) with SMTP id "
     "2B1A0x0Q012347; " DATE,
     0, "foo", "", "192.0.2.1", "mx.example.net", "SMTP", "2B1A0x0Q012347"},
    {"sendmail ident",
     "from foo.example (bob@rdns.example.org [192.0.2.1]) (authenticated bits=0) "
     "by mx.example.net (8.17.1/8.17.1) with ESMTPSA id 2B1; " DATE,
     0, "foo.example", "rdns.example.org", "192.0.2.1", "mx.example.net", "ESMTPSA", "2B1"},
    {"opensmtpd",
     "from foo.example (rdns.example.org [192.0.2.1])\r\n\tby mx.example.net "
     "(OpenSMTPD) with ESMTPS id 1a2b3c4d\r\n\t(TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO)"
     "\r\n\tfor <y@example.net>; " DATE,
     0, "foo.example", "rdns.example.org", "192.0.2.1", "mx.example.net", "ESMTPS", "1a2b3c4d"},
    {"opensmtpd unknown",
     "from foo.example (<unknown> [198.51.100.4]) by mx.example.net "
     "(OpenSMTPD) with ESMTP id 5e6f7a8b for <y@example.net>; " DATE,
     0, "foo.example", "", "198.51.100.4", "mx.example.net", "ESMTP", "5e6f7a8b"},
    {"exchange",
     "from EX01.corp.example.com (192.0.2.21) by EX02.corp.example.com (192.0.2.22) "
     "with Microsoft SMTP Server (version=TLS1_2, "
     "cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.2.1118.26; " DATE,
     0, "EX01.corp.example.com", "", "192.0.2.21", "EX02.corp.example.com", "Microsoft",
     "15.2.1118.26"},
    {"exchange ipv6",
     "from EX01.corp.example.com (2001:db8::21) by EX02.corp.example.com "
     "(2001:db8::22) with Microsoft SMTP Server (version=TLS1_2, "
     "cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.2.1118.26; " DATE,
     0, "EX01.corp.example.com", "", "2001:db8::21", "EX02.corp.example.com", "Microsoft",
     "15.2.1118.26"},
    {"exchange frontend",
     "from mail.example.org (192.0.2.1) by EX01.corp.example.com "
     "(192.0.2.22) with Microsoft SMTP Server id 15.2.1118.26 via Frontend "
     "Transport; " DATE,
     0, "mail.example.org", "", "192.0.2.1", "EX01.corp.example.com", "Microsoft", "15.2.1118.26"},
    {"qmail", "from unknown (HELO foo.example) (192.0.2.1)\n  by mx.example.net with SMTP; " DATE,
     0, "foo.example", "", "192.0.2.1", "mx.example.net", "SMTP", ""},
    {"qmail rdns",
     "from rdns.example.org (HELO foo.example) (bob@203.0.113.8) by mx.example.net "
     "with SMTP; " DATE,
     0, "foo.example", "rdns.example.org", "203.0.113.8", "mx.example.net", "SMTP", ""},
    {"qmail invoked", "(qmail 1234 invoked by uid 0); " DATE, -1, "", "", "", "", "", ""},
    {"field name kept", "Received: from a.example (b.example [192.0.2.3]) by c.example; " DATE, 0,
     "a.example", "b.example", "192.0.2.3", "c.example", "", ""},
    {"upper keywords", "FROM a.example (b.example [192.0.2.3]) BY c.example WITH ESMTP ID Q1", 0,
     "a.example", "b.example", "192.0.2.3", "c.example", "ESMTP", "Q1"},
    {"first clause wins",
     "from a.example (x.example [192.0.2.3]) from b.example (y.example "
     "[192.0.2.4]) by c.example by d.example; " DATE,
     0, "a.example", "x.example", "192.0.2.3", "c.example", "", ""},
    {"bad ipv4", "from a.example (b.example [192.0.2.300]) by c.example", 0, "a.example", "", "",
     "c.example", "", ""},
    {"bad ipv6", "from a.example (b.example [IPv6:2001:db8::5::1]) by c.example", 0, "a.example",
     "", "", "c.example", "", ""},
    {"ip with port", "from a.example (b.example [192.0.2.5]:50123) by c.example", 0, "a.example",
     "b.example", "192.0.2.5", "c.example", "", ""},
    {"by comment not from", "from a.example by c.example (192.0.2.22); " DATE, 0, "a.example", "",
     "", "c.example", "", ""},
    {"unterminated bracket", "from a.example (b.example [192.0.2.5 by c.example", 0, "a.example",
     "", "", "", "", ""},
    {"unterminated comment", "from a.example (b.example [192.0.2.5] by c.example; date", 0,
     "a.example", "b.example", "192.0.2.5", "", "", ""},
    {"only date", "; " DATE, -1, "", "", "", "", "", ""},
    {"empty", "", -1, "", "", "", "", "", ""},
    {"blank folded", " \r\n\t \r\n ", -1, "", "", "", "", "", ""},
    {"keywords without values", "from by with id ; date", -1, "", "", "", "", "", ""},
};

static void check_hop(const struct received_hop *h, const struct golden *g)
{
	assert_string_equal(h->from_helo, g->helo);
	assert_string_equal(h->from_rdns, g->rdns);
	assert_string_equal(h->from_ip, g->ip);
	assert_string_equal(h->by, g->by);
	assert_string_equal(h->with, g->with);
	assert_string_equal(h->id, g->id);
}

static bool all_zero(const struct received_hop *h)
{
	const unsigned char *p = (const unsigned char *)h;
	size_t i;

	for (i = 0; i < sizeof(*h); i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void test_golden(void **state)
{
	struct received_hop h;
	size_t i;

	for (i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		const struct golden *g = &goldens[i];

		print_message("golden: %s\n", g->name);
		memset(&h, 'x', sizeof(h));
		assert_int_equal(received_parse(g->value, strlen(g->value), &h), g->rc);
		check_hop(&h, g);
		if (g->rc != 0)
			assert_true(all_zero(&h));
	}
}

/* The value is read by length: bytes past len are not looked at. */
static void test_len_not_strlen(void **state)
{
	static const char v[] = "from a.example (b.example [192.0.2.1]) by c.example\0 with ESMTP "
	                        "id X";
	struct received_hop h;

	assert_int_equal(received_parse(v, sizeof(v) - 1, &h), 0);
	assert_string_equal(h.by, "c.example");
	assert_string_equal(h.with, "ESMTP");
	assert_string_equal(h.id, "X");
	/* Cut after "by c.ex": the rest is not read. */
	assert_int_equal(
	    received_parse(v, strlen("from a.example (b.example [192.0.2.1]) by c.ex"), &h), 0);
	assert_string_equal(h.by, "c.ex");
	assert_string_equal(h.with, "");
	/* A NUL inside a name separates words. */
	assert_int_equal(received_parse("by c.ex\0ample", 13, &h), 0);
	assert_string_equal(h.by, "c.ex");
	assert_int_equal(received_parse(NULL, 0, &h), -1);
	assert_int_equal(received_parse("by c.example", 12, NULL), -1);
}

static void test_binary(void **state)
{
	static const char hi[] = "by \xc3\xa9.example\x01with\x7f"
	                         "ESMTP";
	unsigned char buf[1024];
	struct received_hop h;
	uint32_t x = 2463534242u;
	size_t i;
	int round;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (unsigned char)x;
		}
		if (round % 2 == 0)
			memcpy(buf, "from ", 5);
		received_parse((const char *)buf, sizeof(buf), &h);
		assert_true(strnlen(h.from_helo, sizeof(h.from_helo)) < sizeof(h.from_helo));
		assert_true(strnlen(h.from_rdns, sizeof(h.from_rdns)) < sizeof(h.from_rdns));
		assert_true(strnlen(h.from_ip, sizeof(h.from_ip)) < sizeof(h.from_ip));
		assert_true(strnlen(h.by, sizeof(h.by)) < sizeof(h.by));
		assert_true(strnlen(h.with, sizeof(h.with)) < sizeof(h.with));
		assert_true(strnlen(h.id, sizeof(h.id)) < sizeof(h.id));
	}
	/* High bytes are name bytes (SMTPUTF8), controls are white space. */
	assert_int_equal(received_parse(hi, sizeof(hi) - 1, &h), 0);
	assert_string_equal(h.by, "\xc3\xa9.example");
	assert_string_equal(h.with, "ESMTP");
}

static void test_deep_nesting(void **state)
{
	size_t n = 100 * 1024;
	char *v = malloc(n + 64);
	struct received_hop h;

	assert_non_null(v);
	memcpy(v, "from a.example ", 15);
	memset(v + 15, '(', n);
	assert_int_equal(received_parse(v, n + 15, &h), 0);
	assert_string_equal(h.from_helo, "a.example");
	assert_string_equal(h.from_ip, "");
	assert_string_equal(h.by, "");
	/* Balanced deep nesting, then the rest of the header is read. */
	memset(v, '(', 1000);
	memset(v + 1000, ')', 1000);
	memcpy(v + 2000, " by c.example with SMTP", 23);
	assert_int_equal(received_parse(v, 2023, &h), 0);
	assert_string_equal(h.by, "c.example");
	assert_string_equal(h.with, "SMTP");
	/* Only stray ')': no clause. */
	memset(v, ')', n);
	assert_int_equal(received_parse(v, n, &h), -1);
	free(v);
}

/* Fields are cut at their buffers; the value is cut at RP_RECEIVED_VALUE_MAX. */
static void test_long_fields(void **state)
{
	size_t n = 5000;
	char *v = malloc(2 * n + 256);
	struct received_hop h;
	size_t off = 0;

	assert_non_null(v);
	memcpy(v, "from ", 5);
	off = 5;
	memset(v + off, 'a', n);
	off += n;
	memcpy(v + off, " by c.example", 13);
	off += 13;
	assert_int_equal(received_parse(v, off, &h), 0);
	assert_int_equal(strlen(h.from_helo), RP_RECEIVED_NAME_MAX);
	assert_string_equal(h.by, ""); /* past the value cut */

	off = 0;
	memcpy(v, "by ", 3);
	off = 3;
	memset(v + off, 'b', 300);
	off += 300;
	memcpy(v + off, " with ", 6);
	off += 6;
	memset(v + off, 'W', 100);
	off += 100;
	memcpy(v + off, " id ", 4);
	off += 4;
	memset(v + off, 'I', 100);
	off += 100;
	memcpy(v + off, " from h (", 9);
	off += 9;
	memset(v + off, 'r', 300);
	off += 300;
	memcpy(v + off, " [192.0.2.1])", 13);
	off += 13;
	assert_int_equal(received_parse(v, off, &h), 0);
	assert_int_equal(strlen(h.by), RP_RECEIVED_NAME_MAX);
	assert_int_equal(strlen(h.with), RP_RECEIVED_WITH_MAX);
	assert_int_equal(strlen(h.id), RP_RECEIVED_ID_MAX);
	assert_int_equal(strlen(h.from_rdns), RP_RECEIVED_NAME_MAX);
	assert_string_equal(h.from_helo, "h");
	assert_string_equal(h.from_ip, "192.0.2.1");

	/* Exactly at the cut: "by X" with X ending on the last kept byte. */
	memset(v, ' ', RP_RECEIVED_VALUE_MAX + 10);
	memcpy(v + RP_RECEIVED_VALUE_MAX - 5, "by ab", 5);
	memcpy(v + RP_RECEIVED_VALUE_MAX, "cd", 2);
	assert_int_equal(received_parse(v, RP_RECEIVED_VALUE_MAX + 10, &h), 0);
	assert_string_equal(h.by, "ab");
	free(v);
}

static void test_ip_forms(void **state)
{
	static const struct {
		const char *value, *ip;
	} cases[] = {
	    {"from a (b [IPv6:2001:db8::1])", "2001:db8::1"},
	    {"from a (b [ipv6:2001:db8::1])", "2001:db8::1"},
	    {"from a (b [2001:db8::1])", "2001:db8::1"},
	    {"from a (2001:db8:0:0:0:0:0:1)", "2001:db8::1"},
	    {"from a (b [::ffff:192.0.2.1])", "::ffff:192.0.2.1"},
	    {"from a (b [192.0.2.01])", ""},
	    {"from a (b [192.0.2])", ""},
	    {"from a (b [])", ""},
	    {"from a (b [IPv6:])", ""},
	    {"from a (b [IPv6:192.0.2.1])", "192.0.2.1"},
	    {"from a (b [fe80::1%eth0])", ""},
	    {"from a (b [2001:db8::1/64])", ""},
	    {"from a (b [1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee])",
	     ""},
	    {"from [192.0.2.1] by c", ""}, /* a HELO literal is not what the receiver saw */
	    {"from a (b [192.0.2.1]) (c [192.0.2.2])", "192.0.2.1"},
	};
	struct received_hop h;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("ip: %s\n", cases[i].value);
		assert_int_equal(received_parse(cases[i].value, strlen(cases[i].value), &h), 0);
		assert_string_equal(h.from_ip, cases[i].ip);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),      cmocka_unit_test(test_len_not_strlen),
	    cmocka_unit_test(test_binary),      cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_long_fields), cmocka_unit_test(test_ip_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
