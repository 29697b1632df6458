/* test_agent_config.c - the relayprobe-agent INI configuration: a full file
 * with every key, defaults, and one bad file per rule (bad values, unknown
 * section and key, repeated key, missing key, over-long line), each error
 * naming FILE:LINE and the key; the scope check (special address classes
 * refused unless allowed by name, CIDR lists applied to embedded IPv4
 * addresses too) and the canary check. Files are written in a mkdtemp
 * directory. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_config.h"

static char g_dir[64];
static char g_path[128];
static struct agent_config g_cfg;
static char g_err[1024];

static int setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/test_agent_config.XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	snprintf(g_path, sizeof(g_path), "%s/agent.conf", g_dir);
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	unlink(g_path);
	rmdir(g_dir);
	(void)state;
	return 0;
}

static void write_conf(const char *text)
{
	FILE *f = fopen(g_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text)
{
	write_conf(text);
	g_err[0] = '\0';
	return agent_config_load(g_path, &g_cfg, g_err, sizeof(g_err));
}

#define BASE                                                                                       \
	"[agent]\n"                                                                                \
	"controller = tcp://controller.example.com:7411\n"                                         \
	"controller_key = /etc/relayprobe/controller.pub\n"                                        \
	"keys = /etc/relayprobe/agent1.secret\n"                                                   \
	"state = /var/lib/relayprobe/agent   ; spool/ and replay state\n"

/* The error must be exactly "PATH:LINE: " followed by want. */
static void expect_error(const char *text, int line, const char *want)
{
	char prefix[256];
	assert_int_equal(load(text), -1);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", g_path, line);
	print_message("  %s\n", g_err);
	assert_memory_equal(g_err, prefix, strlen(prefix));
	assert_non_null(strstr(g_err + strlen(prefix), want));
}

static bool allows(const char *addr);

static void test_full_file(void **state)
{
	assert_int_equal(load("; relayprobe agent\n" BASE "bind = 198.51.100.7\n"
	                      "labels = location=fra1,network=AS64500\n"
	                      "capacity = 12\n"
	                      "\n"
	                      "[limits]\n"
	                      "targets_per_order = 200\n"
	                      "concurrency = 50\n"
	                      "rate = 2.5\n"
	                      "allow_data = yes\n"
	                      "canary_domains = canary.example.net, Canary2.example.org\n"
	                      "\n"
	                      "[scope]\n"
	                      "allow = 192.0.2.0/24, 2001:db8::/32, 198.51.100.9\n"
	                      "deny = 192.0.2.128/25\n"),
	                 0);
	assert_string_equal(g_cfg.controller, "tcp://controller.example.com:7411");
	assert_string_equal(g_cfg.controller_key, "/etc/relayprobe/controller.pub");
	assert_string_equal(g_cfg.keys, "/etc/relayprobe/agent1.secret");
	assert_string_equal(g_cfg.state, "/var/lib/relayprobe/agent");
	assert_string_equal(g_cfg.bind, "198.51.100.7");
	assert_int_equal(g_cfg.n_labels, 2);
	assert_string_equal(g_cfg.label_keys[0], "location");
	assert_string_equal(g_cfg.label_values[0], "fra1");
	assert_string_equal(g_cfg.label_keys[1], "network");
	assert_string_equal(g_cfg.label_values[1], "AS64500");
	assert_int_equal(g_cfg.capacity, 12);
	assert_int_equal(g_cfg.targets_per_order, 200);
	assert_int_equal(g_cfg.concurrency, 50);
	assert_true(g_cfg.rate > 2.49 && g_cfg.rate < 2.51);
	assert_true(g_cfg.allow_data);
	assert_int_equal(g_cfg.n_canary_domains, 2);
	assert_true(agent_config_is_canary(&g_cfg, "canary.example.net"));
	assert_true(agent_config_is_canary(&g_cfg, "CANARY2.example.org."));
	assert_false(agent_config_is_canary(&g_cfg, "example.net"));
	assert_false(agent_config_is_canary(&g_cfg, "x.canary.example.net"));
	assert_int_equal(g_cfg.n_allow, 3);
	assert_int_equal(g_cfg.n_deny, 1);
	(void)state;
}

static void test_defaults(void **state)
{
	assert_int_equal(load(BASE), 0);
	assert_string_equal(g_cfg.bind, "");
	assert_int_equal(g_cfg.n_labels, 0);
	assert_int_equal(g_cfg.capacity, 4);
	assert_int_equal(g_cfg.targets_per_order, 1000);
	assert_int_equal(g_cfg.concurrency, 500);
	assert_true(g_cfg.rate > 49.9 && g_cfg.rate < 50.1);
	assert_false(g_cfg.allow_data);
	assert_int_equal(g_cfg.n_canary_domains, 0);
	/* Default scope: everything. */
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET, "203.0.113.5", &in.sin_addr);
	inet_pton(AF_INET6, "2001:db8::25", &in6.sin6_addr);
	assert_true(agent_config_scope_allows(&g_cfg, (struct sockaddr *)&in, sizeof(in)));
	assert_true(agent_config_scope_allows(&g_cfg, (struct sockaddr *)&in6, sizeof(in6)));
	/* ...but no special address, in any form: Linux connects 0.0.0.0
	 * and :: to this host. */
	static const char *const special[] = {
	    "0.0.0.0",
	    "::",
	    "::ffff:0.0.0.0",
	    "0.1.2.3",
	    "127.0.0.1",
	    "127.1.2.3",
	    "::1",
	    "::ffff:127.0.0.1",
	    "::127.0.0.1",
	    "::ffff:0:127.0.0.1",
	    "64:ff9b::7f00:1",
	    "64:ff9b:1:7f00:0:100::",
	    "2002:7f00:1::",
	    "2001:0:c000:201::80ff:fffe",
	    "169.254.169.254",
	    "fe80::1",
	    "2002:a9fe:a9fe::",
	    "fec0::1",
	    "224.0.0.1",
	    "ff02::1",
	    "::ffff:224.0.0.1",
	    "255.255.255.255",
	    "64:ff9b::",
	    "2001::",
	};
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (allows(special[i]))
			fail_msg("default scope allows %s", special[i]);
	(void)state;
}

static bool allows(const char *addr)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	memset(&u, 0, sizeof(u));
	if (inet_pton(AF_INET, addr, &u.in.sin_addr) == 1) {
		u.in.sin_family = AF_INET;
		return agent_config_scope_allows(&g_cfg, &u.sa, sizeof(u.in));
	}
	assert_int_equal(inet_pton(AF_INET6, addr, &u.in6.sin6_addr), 1);
	u.in6.sin6_family = AF_INET6;
	return agent_config_scope_allows(&g_cfg, &u.sa, sizeof(u.in6));
}

static void test_scope(void **state)
{
	assert_int_equal(load(BASE "[scope]\n"
	                           "allow = 192.0.2.0/24, 2001:db8::/32, 198.51.100.9, 10.0.0.0/9\n"
	                           "deny = 192.0.2.128/25, 2001:db8:1::/48\n"),
	                 0);
	assert_true(allows("192.0.2.1"));
	assert_true(allows("192.0.2.127"));
	assert_false(allows("192.0.2.128")); /* deny wins */
	assert_false(allows("192.0.2.255"));
	assert_false(allows("192.0.3.1"));
	assert_true(allows("198.51.100.9"));
	assert_false(allows("198.51.100.10"));
	assert_true(allows("10.127.255.255")); /* /9: partial byte */
	assert_false(allows("10.128.0.0"));
	assert_true(allows("2001:db8::25"));
	assert_false(allows("2001:db8:1::25"));
	assert_false(allows("2001:db9::1"));
	assert_true(allows("::ffff:192.0.2.5")); /* v4-mapped counts as IPv4 */
	assert_false(allows("::ffff:192.0.2.200"));
	/* An explicit empty allow list allows nothing. */
	assert_int_equal(load(BASE "[scope]\nallow =\n"), 0);
	assert_false(allows("192.0.2.1"));
	assert_false(allows("2001:db8::1"));
	(void)state;
}

/* The reason agent_config_scope_check gives for addr. */
static const char *why_refused(const char *addr)
{
	static char why[160];
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	bool ok;

	memset(&u, 0, sizeof(u));
	if (inet_pton(AF_INET, addr, &u.in.sin_addr) == 1) {
		u.in.sin_family = AF_INET;
		ok = agent_config_scope_check(&g_cfg, &u.sa, sizeof(u.in), why, sizeof(why));
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &u.in6.sin6_addr), 1);
		u.in6.sin6_family = AF_INET6;
		ok = agent_config_scope_check(&g_cfg, &u.sa, sizeof(u.in6), why, sizeof(why));
	}
	if (ok)
		fail_msg("%s allowed", addr);
	return why;
}

static void test_allow_special(void **state)
{
	assert_int_equal(load(BASE "[scope]\nallow_special = loopback\n"), 0);
	assert_true(allows("127.0.0.1"));
	assert_true(allows("127.0.0.3"));
	assert_true(allows("::1"));
	assert_true(allows("::ffff:127.0.0.1"));
	assert_true(allows("2002:7f00:1::"));
	assert_true(allows("192.0.2.1"));
	/* Never, whatever is allowed: not a host. */
	assert_false(allows("0.0.0.0"));
	assert_false(allows("::"));
	assert_false(allows("::ffff:0.0.0.0"));
	assert_false(allows("64:ff9b::"));
	assert_false(allows("224.0.0.1"));
	assert_false(allows("255.255.255.255"));
	/* A local-use NAT64 address is judged at every RFC 6052 position:
	 * one of them is 0.0.0.0 here. */
	assert_false(allows("64:ff9b:1:7f00:0:100::"));
	/* Other classes still need their own name. */
	assert_false(allows("169.254.169.254"));
	assert_false(allows("fe80::1"));
	assert_false(allows("fec0::1"));
	assert_string_equal(why_refused("169.254.169.254"),
	                    "link-local address: not in allow_special");
	assert_string_equal(why_refused("::ffff:0.0.0.0"),
	                    "unspecified address (mapped): never allowed");
	assert_string_equal(why_refused("2002:a9fe:a9fe::"),
	                    "link-local address (6to4): not in allow_special");

	assert_int_equal(load(BASE "[scope]\nallow_special = Loopback, link-local,site-local\n"),
	                 0);
	assert_true(allows("169.254.169.254"));
	assert_true(allows("fe80::1"));
	assert_true(allows("fec0::1"));
	assert_true(allows("::1"));
	assert_false(allows("::"));
	assert_false(allows("ff02::1"));
	/* The lists still apply to an allowed class. */
	assert_int_equal(load(BASE "[scope]\nallow_special = loopback\ndeny = 127.0.0.3\n"), 0);
	assert_true(allows("127.0.0.1"));
	assert_false(allows("127.0.0.3"));
	assert_false(allows("::ffff:127.0.0.3"));
	assert_false(allows("2002:7f00:3::"));
	/* Present but empty: none. */
	assert_int_equal(load(BASE "[scope]\nallow_special =\n"), 0);
	assert_int_equal(g_cfg.allow_special, 0);
	assert_false(allows("127.0.0.1"));

	expect_error(BASE "[scope]\nallow_special = loopback, multicast\n", 7,
	             "[scope] allow_special: \"multicast\" addresses can never be allowed");
	expect_error(BASE "[scope]\nallow_special = unspecified\n", 7, "can never be allowed");
	expect_error(BASE "[scope]\nallow_special = this-network\n", 7, "can never be allowed");
	expect_error(BASE "[scope]\nallow_special = broadcast\n", 7, "can never be allowed");
	expect_error(
	    BASE "[scope]\nallow_special = localhost\n", 7,
	    "[scope] allow_special: \"localhost\": expected loopback, link-local or site-local");
	expect_error(BASE "[scope]\nallow_special = 127.0.0.0/8\n", 7, "[scope] allow_special");
	(void)state;
}

/* The IPv4 lists judge every IPv4 address an IPv6 one carries. */
static void test_scope_embedded(void **state)
{
	assert_int_equal(load(BASE "[scope]\ndeny = 10.0.0.0/8, 192.168.0.0/16\n"), 0);
	static const char *const denied[] = {
	    "10.1.2.3",
	    "::ffff:10.1.2.3",            /* mapped */
	    "::ffff:0:10.1.2.3",          /* translated */
	    "::10.1.2.3",                 /* compatible */
	    "64:ff9b::10.1.2.3",          /* NAT64 */
	    "64:ff9b:1:a01:2:300::",      /* NAT64 local-use, /48 position */
	    "2002:a01:203::",             /* 6to4 */
	    "2002:c0a8:101:1::1",         /* 6to4 192.168.1.1 */
	    "2001:0:a01:203::3fff:fdd2",  /* Teredo server */
	    "2001:0:c000:201::f5fe:fdfc", /* Teredo client (inverted) */
	};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if (allows(denied[i]))
			fail_msg("deny = 10.0.0.0/8 allows %s", denied[i]);
	assert_string_equal(why_refused("2002:a01:203::"), "6to4 IPv4 10.1.2.3 in deny 10.0.0.0/8");
	assert_string_equal(why_refused("::ffff:10.1.2.3"), "10.1.2.3 in deny 10.0.0.0/8");
	assert_true(allows("2002:c000:201::1"));                     /* 192.0.2.1 */
	assert_true(allows("64:ff9b::192.0.2.1"));                   /* NAT64 */
	assert_true(allows("2001:0:4136:e378:8000:63bf:3fff:fdd2")); /* RFC 4380's example */
	assert_true(allows("2001:db8::a01:203"));                    /* no embedding */

	/* The IPv6 address must be allowed itself, and what it carries too. */
	assert_int_equal(load(BASE "[scope]\nallow = 192.0.2.0/24, 2002::/16\n"), 0);
	assert_true(allows("2002:c000:201::1"));
	assert_false(allows("2002:c633:6401::1")); /* 198.51.100.1: not in allow */
	assert_string_equal(why_refused("2002:c633:6401::1"),
	                    "6to4 IPv4 198.51.100.1 not in allow");
	assert_false(allows("64:ff9b::192.0.2.1"));                /* 64:ff9b::/96 not in allow */
	assert_int_equal(load(BASE "[scope]\nallow = ::/0\n"), 0); /* no IPv4 at all */
	assert_true(allows("2001:db8::1"));
	assert_false(allows("2002:c000:201::1"));
	assert_false(allows("::ffff:192.0.2.1"));
	(void)state;
}

static void test_cidr_parse(void **state)
{
	struct agent_cidr c;
	assert_int_equal(agent_cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(agent_cidr_parse("::/0", &c), 0);
	assert_int_equal(agent_cidr_parse("2001:db8::1", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(agent_cidr_parse("192.0.2.0/33", &c), -1);
	assert_int_equal(agent_cidr_parse("192.0.2.1/24", &c), -1); /* host bits */
	assert_int_equal(agent_cidr_parse("192.0.2.0/", &c), -1);
	assert_int_equal(agent_cidr_parse("/24", &c), -1);
	assert_int_equal(agent_cidr_parse("example.com/24", &c), -1);
	assert_int_equal(agent_cidr_parse("192.0.2.0/2x", &c), -1);
	(void)state;
}

static void test_bad_values(void **state)
{
	expect_error("[agent]\ncontroller = http://x:1\n", 2,
	             "[agent] controller: expected tcp://");
	expect_error("[agent]\ncontroller = tcp://host\n", 2, "[agent] controller");
	expect_error("[agent]\ncontroller = tcp://host:0\n", 2, "[agent] controller");
	expect_error(BASE "bind = 999.1.1.1\n", 6, "[agent] bind: \"999.1.1.1\" is not an IPv4");
	expect_error(BASE "labels = location\n", 6,
	             "[agent] labels: \"location\": expected NAME=VALUE");
	expect_error(BASE "labels = a=1, a=2\n", 6, "[agent] labels: label \"a\" given twice");
	expect_error(BASE "labels = b@d=1\n", 6, "[agent] labels");
	/* [agent] capacity: 1..64, decimal digits only. */
	expect_error(BASE "capacity = 0\n", 6, "[agent] capacity: 0 is out of range (1-64)");
	expect_error(BASE "capacity = 65\n", 6, "[agent] capacity: 65 is out of range (1-64)");
	expect_error(BASE "capacity = -1\n", 6, "[agent] capacity: \"-1\" is not a number");
	expect_error(BASE "capacity = 4x\n", 6, "[agent] capacity: \"4x\" is not a number");
	expect_error(BASE "capacity = 4.5\n", 6, "[agent] capacity");
	expect_error(BASE "capacity =\n", 6, "[agent] capacity");
	expect_error(BASE "capacity = 99999999999999999999\n", 6, "[agent] capacity");
	expect_error(BASE "capacity = 2\ncapacity = 3\n", 7,
	             "[agent] capacity: given twice (first on line 6)");
	expect_error(BASE "[limits]\ncapacity = 2\n", 7, "[limits] capacity: unknown key");
	assert_int_equal(load(BASE "capacity = 1\n"), 0);
	assert_int_equal(g_cfg.capacity, 1);
	assert_int_equal(load(BASE "capacity = 64\n"), 0);
	assert_int_equal(g_cfg.capacity, 64);
	expect_error(BASE "[limits]\ntargets_per_order = 0\n", 7,
	             "[limits] targets_per_order: 0 is out of range (1-10000)");
	expect_error(BASE "[limits]\ntargets_per_order = 10001\n", 7, "[limits] targets_per_order");
	expect_error(BASE "[limits]\nconcurrency = -1\n", 7,
	             "[limits] concurrency: \"-1\" is not a number");
	expect_error(BASE "[limits]\nconcurrency = 12abc\n", 7, "[limits] concurrency");
	expect_error(BASE "[limits]\nrate = fast\n", 7, "[limits] rate");
	expect_error(BASE "[limits]\nrate = 1e9\n", 7, "[limits] rate");
	expect_error(BASE "[limits]\nallow_data = maybe\n", 7,
	             "[limits] allow_data: \"maybe\": expected yes or no");
	expect_error(BASE "[limits]\ncanary_domains = ok.example, bad_domain!\n", 7,
	             "[limits] canary_domains: \"bad_domain!\" is not a domain name");
	expect_error(BASE "[scope]\nallow = 192.0.2.0/24, 300.0.0.0/8\n", 7,
	             "[scope] allow: \"300.0.0.0/8\" is not a CIDR");
	expect_error(BASE "[scope]\ndeny = 192.0.2.1/24\n", 7, "[scope] deny");
	expect_error("[agent]\nkeys =\n", 2, "[agent] keys: empty path");
	(void)state;
}

static void test_structure_errors(void **state)
{
	expect_error(BASE "[limits]\nconcurency = 5\n", 7, "[limits] concurency: unknown key");
	expect_error(BASE "\n[limit]\nrate = 5\n", 7, "[limit]: unknown section");
	expect_error("controller = tcp://x:1\n", 1, "controller: outside any section");
	expect_error(BASE "controller = tcp://other:7411\n", 6,
	             "[agent] controller: given twice (first on line 2)");
	expect_error(BASE "this is not ini\n", 6, "syntax error");
	/* A line over RP_INI_LINE_MAX bytes is refused, never parsed in
	 * pieces. */
	char text[RP_INI_LINE_MAX + 512];
	char longpath[RP_INI_LINE_MAX + 100];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(text, sizeof(text), "[agent]\ncontroller = tcp://x:1\nkeys = /%s\n", longpath);
	expect_error(text, 3, "line longer than");

	/* Bytes: bad UTF-8 and control characters, wherever they are. */
	expect_error(BASE "bind = \xc0\xae\n", 6, "invalid UTF-8 at byte 8");
	expect_error("; \xff\n" BASE, 1, "invalid UTF-8");
	expect_error(BASE "labels = a=\x1b\n", 6, "control character 0x1b");

	/* Required keys. */
	assert_int_equal(load("[agent]\ncontroller = tcp://x:1\nkeys = /k\nstate = /s\n"), -1);
	char want[256];
	snprintf(want, sizeof(want),
	         "%s:1: [agent] controller_key: missing (required: the controller's public key "
	         "file)",
	         g_path);
	assert_string_equal(g_err, want);

	/* A file that is not there. */
	g_err[0] = '\0';
	assert_int_equal(agent_config_load("/nonexistent/agent.conf", &g_cfg, g_err, sizeof(g_err)),
	                 -1);
	assert_non_null(strstr(g_err, "/nonexistent/agent.conf: cannot open"));
	(void)state;
}

static void test_example_file(void **state)
{
	/* deploy/agent.conf.example must load as it is shipped. */
	g_err[0] = '\0';
	int rc = agent_config_load(RP_SOURCE_DIR "/deploy/agent.conf.example", &g_cfg, g_err,
	                           sizeof(g_err));
	if (rc != 0)
		fail_msg("%s", g_err);
	assert_string_equal(g_cfg.controller, "tcp://controller.example.com:7411");
	assert_int_equal(g_cfg.targets_per_order, 1000);
	assert_int_equal(g_cfg.capacity, 4);
	/* Shipped denying the networks an agent usually sits in, and no
	 * special class. */
	static const char *const inside[] = {
	    "10.0.0.1",
	    "172.16.0.1",
	    "172.31.255.254",
	    "192.168.1.1",
	    "100.64.0.1",
	    "100.127.255.254",
	    "fc00::1",
	    "fd12:3456::1",
	    "::ffff:10.0.0.1",
	    "2002:c0a8:101::1",
	    "64:ff9b::100.64.0.1",
	    "127.0.0.1",
	    "169.254.169.254",
	    "fe80::1",
	};
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++)
		if (allows(inside[i]))
			fail_msg("deploy/agent.conf.example allows %s", inside[i]);
	assert_true(allows("192.0.2.25"));
	assert_true(allows("172.32.0.1"));
	assert_true(allows("100.128.0.1"));
	assert_true(allows("2001:db8::25"));
	assert_int_equal(g_cfg.allow_special, 0);
	(void)state;
}

/* [scope] exclude_file: a path, read at load; a bad entry is an error that
 * names the agent.conf line and the list's own FILE:LINE. */
static void test_exclude_file(void **state)
{
	char list[160], text[512];
	FILE *f;

	(void)state;
	snprintf(list, sizeof(list), "%s/exclude.txt", g_dir);
	f = fopen(list, "w");
	assert_non_null(f);
	fputs("# ours\n192.0.2.0/24 lab\nexample.com customer\n", f);
	fclose(f);
	snprintf(text, sizeof(text), BASE "[scope]\nexclude_file = %s\n", list);
	assert_int_equal(load(text), 0);
	assert_string_equal(g_cfg.exclude_file, list);
	assert_int_equal(load(BASE), 0);
	assert_string_equal(g_cfg.exclude_file, "");

	f = fopen(list, "w");
	assert_non_null(f);
	fputs("192.0.2.0/24 lab\n192.0.2.1/24 host bits\n", f);
	fclose(f);
	expect_error(text, 7, "[scope] exclude_file");
	assert_non_null(strstr(g_err, "exclude.txt:2"));
	unlink(list);
	expect_error(text, 7, "[scope] exclude_file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_file),      cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_scope),          cmocka_unit_test(test_cidr_parse),
	    cmocka_unit_test(test_bad_values),     cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_example_file),   cmocka_unit_test(test_allow_special),
	    cmocka_unit_test(test_scope_embedded), cmocka_unit_test(test_exclude_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
