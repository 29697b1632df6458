/* test_addr_class.c - addr_classify() on one table of addresses: every
 * special class at and just outside its edges, in IPv4 and IPv6, and every
 * IPv6 form that carries an IPv4 address (mapped, translated, compatible,
 * NAT64 well-known and local-use, 6to4, Teredo), with the IPv4 addresses
 * each must yield; plus the class names the agent's config uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "addr_class.h"

#define B(c) ADDR_CLASS_BIT(ADDR_CLASS_##c)

struct row {
	const char *addr;
	int family; /* expected addr_info.family */
	unsigned classes;
	enum addr_embed embed;
	const char *v4[ADDR_V4_MAX]; /* expected embedded IPv4 addresses, in order */
};

static const struct row rows[] = {
    /* IPv4, at and around every edge */
    {"0.0.0.0", AF_INET, B(UNSPECIFIED) | B(THIS_NETWORK), ADDR_EMBED_NONE, {NULL}},
    {"0.1.2.3", AF_INET, B(THIS_NETWORK), ADDR_EMBED_NONE, {NULL}},
    {"0.255.255.255", AF_INET, B(THIS_NETWORK), ADDR_EMBED_NONE, {NULL}},
    {"1.0.0.0", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"10.1.2.3", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"126.255.255.255", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"127.0.0.1", AF_INET, B(LOOPBACK), ADDR_EMBED_NONE, {NULL}},
    {"127.255.255.254", AF_INET, B(LOOPBACK), ADDR_EMBED_NONE, {NULL}},
    {"128.0.0.0", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"169.253.255.255", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"169.254.0.0", AF_INET, B(LINK_LOCAL), ADDR_EMBED_NONE, {NULL}},
    {"169.254.169.254", AF_INET, B(LINK_LOCAL), ADDR_EMBED_NONE, {NULL}},
    {"169.255.0.0", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"192.0.2.1", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"223.255.255.255", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"224.0.0.0", AF_INET, B(MULTICAST), ADDR_EMBED_NONE, {NULL}},
    {"239.255.255.255", AF_INET, B(MULTICAST), ADDR_EMBED_NONE, {NULL}},
    {"240.0.0.0", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"255.255.255.254", AF_INET, 0, ADDR_EMBED_NONE, {NULL}},
    {"255.255.255.255", AF_INET, B(BROADCAST), ADDR_EMBED_NONE, {NULL}},
    /* IPv6's own */
    {"::", AF_INET6, B(UNSPECIFIED), ADDR_EMBED_NONE, {NULL}},
    {"::1", AF_INET6, B(LOOPBACK), ADDR_EMBED_NONE, {NULL}},
    {"fe7f:ffff::1", AF_INET6, 0, ADDR_EMBED_NONE, {NULL}},
    {"fe80::1", AF_INET6, B(LINK_LOCAL), ADDR_EMBED_NONE, {NULL}},
    {"febf:ffff::1", AF_INET6, B(LINK_LOCAL), ADDR_EMBED_NONE, {NULL}},
    {"fec0::1", AF_INET6, B(SITE_LOCAL), ADDR_EMBED_NONE, {NULL}},
    {"feff:ffff::1", AF_INET6, B(SITE_LOCAL), ADDR_EMBED_NONE, {NULL}},
    {"ff02::1", AF_INET6, B(MULTICAST), ADDR_EMBED_NONE, {NULL}},
    {"ff0e::101", AF_INET6, B(MULTICAST), ADDR_EMBED_NONE, {NULL}},
    {"fc00::1", AF_INET6, 0, ADDR_EMBED_NONE, {NULL}}, /* ULA: the operator's deny list */
    {"2001:db8::1", AF_INET6, 0, ADDR_EMBED_NONE, {NULL}},
    {"2001:db8::7f00:1", AF_INET6, 0, ADDR_EMBED_NONE, {NULL}},
    {"2001:1::7f00:1", AF_INET6, 0, ADDR_EMBED_NONE, {NULL}},
    {"2003::7f00:1", AF_INET6, 0, ADDR_EMBED_NONE, {NULL}},
    {"64:ff9a::7f00:1", AF_INET6, 0, ADDR_EMBED_NONE, {NULL}},
    {"::1:0:0:7f00:1", AF_INET6, 0, ADDR_EMBED_NONE, {NULL}},
    /* IPv4-mapped: an IPv4 address (what a dual-stack socket dials) */
    {"::ffff:127.0.0.1", AF_INET, B(LOOPBACK), ADDR_EMBED_MAPPED, {NULL}},
    {"::ffff:0.0.0.0", AF_INET, B(UNSPECIFIED) | B(THIS_NETWORK), ADDR_EMBED_MAPPED, {NULL}},
    {"::ffff:169.254.1.1", AF_INET, B(LINK_LOCAL), ADDR_EMBED_MAPPED, {NULL}},
    {"::ffff:224.0.0.1", AF_INET, B(MULTICAST), ADDR_EMBED_MAPPED, {NULL}},
    {"::ffff:255.255.255.255", AF_INET, B(BROADCAST), ADDR_EMBED_MAPPED, {NULL}},
    {"::ffff:192.0.2.1", AF_INET, 0, ADDR_EMBED_MAPPED, {NULL}},
    /* IPv4-translated (SIIT) */
    {"::ffff:0:127.0.0.1", AF_INET6, B(LOOPBACK), ADDR_EMBED_TRANSLATED, {"127.0.0.1"}},
    {"::ffff:0:10.1.2.3", AF_INET6, 0, ADDR_EMBED_TRANSLATED, {"10.1.2.3"}},
    /* IPv4-compatible; :: and ::1 are not */
    {"::127.0.0.1", AF_INET6, B(LOOPBACK), ADDR_EMBED_COMPAT, {"127.0.0.1"}},
    {"::0.0.0.2", AF_INET6, B(THIS_NETWORK), ADDR_EMBED_COMPAT, {"0.0.0.2"}},
    {"::169.254.0.1", AF_INET6, B(LINK_LOCAL), ADDR_EMBED_COMPAT, {"169.254.0.1"}},
    {"::255.255.255.255", AF_INET6, B(BROADCAST), ADDR_EMBED_COMPAT, {"255.255.255.255"}},
    {"::192.0.2.1", AF_INET6, 0, ADDR_EMBED_COMPAT, {"192.0.2.1"}},
    /* NAT64 well-known prefix */
    {"64:ff9b::127.0.0.1", AF_INET6, B(LOOPBACK), ADDR_EMBED_NAT64, {"127.0.0.1"}},
    {"64:ff9b::", AF_INET6, B(UNSPECIFIED) | B(THIS_NETWORK), ADDR_EMBED_NAT64, {"0.0.0.0"}},
    {"64:ff9b::224.0.0.1", AF_INET6, B(MULTICAST), ADDR_EMBED_NAT64, {"224.0.0.1"}},
    {"64:ff9b::10.1.2.3", AF_INET6, 0, ADDR_EMBED_NAT64, {"10.1.2.3"}},
    /* NAT64 local-use: every RFC 6052 position (/48 /56 /64 /96) */
    {"64:ff9b:1::7f00:1",
     AF_INET6,
     B(UNSPECIFIED) | B(THIS_NETWORK) | B(LOOPBACK),
     ADDR_EMBED_NAT64_LOCAL,
     {"0.0.0.0", "0.0.0.0", "0.0.0.127", "127.0.0.1"}},
    {"64:ff9b:1:7f00:0:100::",
     AF_INET6,
     B(UNSPECIFIED) | B(THIS_NETWORK) | B(LOOPBACK),
     ADDR_EMBED_NAT64_LOCAL,
     {"127.0.0.1", "0.0.1.0", "0.1.0.0", "0.0.0.0"}},
    {"64:ff9b:1:c0:0:201::",
     AF_INET6,
     B(UNSPECIFIED) | B(THIS_NETWORK),
     ADDR_EMBED_NAT64_LOCAL,
     {"0.192.0.2", "192.0.2.1", "0.2.1.0", "0.0.0.0"}},
    /* 6to4 */
    {"2002:7f00:1::", AF_INET6, B(LOOPBACK), ADDR_EMBED_6TO4, {"127.0.0.1"}},
    {"2002:a01:203::1", AF_INET6, 0, ADDR_EMBED_6TO4, {"10.1.2.3"}},
    {"2002:a9fe:a9fe::1", AF_INET6, B(LINK_LOCAL), ADDR_EMBED_6TO4, {"169.254.169.254"}},
    {"2002:e000:1::", AF_INET6, B(MULTICAST), ADDR_EMBED_6TO4, {"224.0.0.1"}},
    /* Teredo: server, then the client (stored inverted); RFC 4380's example */
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2",
     AF_INET6,
     0,
     ADDR_EMBED_TEREDO,
     {"65.54.227.120", "192.0.2.45"}},
    {"2001:0:c000:201::80ff:fffe",
     AF_INET6,
     B(LOOPBACK),
     ADDR_EMBED_TEREDO,
     {"192.0.2.1", "127.0.0.1"}},
    {"2001::",
     AF_INET6,
     B(UNSPECIFIED) | B(THIS_NETWORK) | B(BROADCAST),
     ADDR_EMBED_TEREDO,
     {"0.0.0.0", "255.255.255.255"}},
};

static void classes_text(unsigned c, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < ADDR_CLASS_COUNT; i++)
		if (c & ADDR_CLASS_BIT(i)) {
			int n =
			    snprintf(buf + o, len - o, "%s%s", o ? "," : "", addr_class_name(i));
			if (n < 0 || (size_t)n >= len - o)
				return;
			o += (size_t)n;
		}
}

static void check_row(const struct row *r)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
	struct addr_info ai;
	char got[128], want[128], v4[INET_ADDRSTRLEN];
	size_t nwant = 0;

	memset(&u, 0, sizeof(u));
	if (strchr(r->addr, ':') != NULL) {
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons(25);
		assert_int_equal(inet_pton(AF_INET6, r->addr, &u.in6.sin6_addr), 1);
		len = sizeof(u.in6);
	} else {
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons(25);
		assert_int_equal(inet_pton(AF_INET, r->addr, &u.in.sin_addr), 1);
		len = sizeof(u.in);
	}
	assert_int_equal(addr_classify_sa(&u.sa, len, &ai), 0);
	if (ai.classes != r->classes) {
		classes_text(ai.classes, got, sizeof(got));
		classes_text(r->classes, want, sizeof(want));
		fail_msg("%s: classes {%s}, expected {%s}", r->addr, got, want);
	}
	if (ai.family != r->family)
		fail_msg("%s: family %d, expected %d", r->addr, ai.family, r->family);
	if (ai.embed != r->embed)
		fail_msg("%s: embedding %s, expected %s", r->addr, addr_embed_name(ai.embed),
		         addr_embed_name(r->embed));
	while (nwant < ADDR_V4_MAX && r->v4[nwant] != NULL)
		nwant++;
	if (ai.n_v4 != nwant)
		fail_msg("%s: %zu embedded IPv4 addresses, expected %zu", r->addr, ai.n_v4, nwant);
	for (size_t i = 0; i < nwant; i++) {
		inet_ntop(AF_INET, ai.v4[i], v4, sizeof(v4));
		if (strcmp(v4, r->v4[i]) != 0)
			fail_msg("%s: embedded IPv4 #%zu is %s, expected %s", r->addr, i, v4,
			         r->v4[i]);
	}
	/* A mapped address is its IPv4 address. */
	if (r->embed == ADDR_EMBED_MAPPED) {
		inet_ntop(AF_INET, ai.addr, v4, sizeof(v4));
		assert_string_equal(v4, strrchr(r->addr, ':') + 1);
	}
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
	(void)state;
}

/* Every class and every embedding appears in the table at least once. */
static void test_table_covers_everything(void **state)
{
	unsigned classes = 0, embeds = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		classes |= rows[i].classes;
		embeds |= 1u << rows[i].embed;
	}
	assert_int_equal(classes, (1u << ADDR_CLASS_COUNT) - 1);
	assert_int_equal(embeds, (1u << ADDR_EMBED_COUNT) - 1);
	(void)state;
}

static void test_bad_input(void **state)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	struct addr_info ai;
	uint8_t a[16] = {0};

	assert_int_equal(addr_classify_sa((struct sockaddr *)&un, sizeof(un), &ai), -1);
	assert_int_equal(addr_classify_sa((struct sockaddr *)&in, sizeof(in) - 1, &ai), -1);
	assert_int_equal(addr_classify_sa((struct sockaddr *)&in6, sizeof(in6) - 1, &ai), -1);
	assert_int_equal(addr_classify_sa(NULL, 0, &ai), -1);
	assert_int_equal(addr_classify(AF_UNIX, a, &ai), -1);
	(void)state;
}

static void test_names(void **state)
{
	for (int i = 0; i < ADDR_CLASS_COUNT; i++) {
		assert_non_null(addr_class_name(i));
		assert_int_equal(addr_class_from_name(addr_class_name(i)), i);
	}
	assert_null(addr_class_name(ADDR_CLASS_COUNT));
	assert_int_equal(addr_class_from_name("Loopback"), ADDR_CLASS_LOOPBACK);
	assert_int_equal(addr_class_from_name("link-local"), ADDR_CLASS_LINK_LOCAL);
	assert_int_equal(addr_class_from_name("site-local"), ADDR_CLASS_SITE_LOCAL);
	assert_int_equal(addr_class_from_name("localhost"), -1);
	assert_int_equal(addr_class_from_name(""), -1);
	for (int i = 0; i < ADDR_EMBED_COUNT; i++)
		assert_non_null(addr_embed_name(i));
	assert_null(addr_embed_name(ADDR_EMBED_COUNT));
	/* What no configuration may allow. */
	assert_int_equal(ADDR_CLASS_NEVER,
	                 B(UNSPECIFIED) | B(THIS_NETWORK) | B(MULTICAST) | B(BROADCAST));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_table_covers_everything),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
