/* test_ctl_config.c - controller.conf's [canary] section: a full section
 * parsed with its defaults and units, and each kind of mistake reported as
 * FILE:LINE: [section] key: reason (or FILE:LINE: reason for a rule across
 * keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_config.h"

static char path[64];

static int load(const char *text, struct ctl_config *c, char *err, size_t errlen)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/rp-ctlconf-XXXXXX");
	{
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		f = fdopen(fd, "w");
	}
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	{
		int rc = ctl_config_load(path, c, err, errlen);

		unlink(path);
		return rc;
	}
}

static void test_canary_section(void **state)
{
	struct ctl_config c;
	char err[512];

	(void)state;
	assert_int_equal(load("[canary]\nlisten = 203.0.113.130:25, [2001:db8::1]:2525\n"
	                      "domains = canary.example.org, Canary2.example.net\n"
	                      "wait = 20m\nlate = 2d\ncontact = Audit team <sec@example.org>\n"
	                      "peer_messages_per_minute = 500\n",
	                      &c, err, sizeof(err)),
	                 0);
	assert_int_equal(c.n_canary_listen, 2);
	assert_string_equal(c.canary_listen[1], "[2001:db8::1]:2525");
	assert_int_equal(c.n_canary_domains, 2);
	assert_string_equal(c.canary_domains[0], "canary.example.org");
	assert_int_equal(c.canary_wait, 1200);
	assert_int_equal(c.canary_late, 2 * 86400);
	assert_string_equal(c.canary_contact, "Audit team <sec@example.org>");
	assert_int_equal(c.canary_peer_msgs, 500);
	ctl_config_clear(&c);
	/* off by default, with the documented defaults */
	assert_int_equal(load("[controller]\norder_ttl = 1h\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_canary_listen, 0);
	assert_int_equal(c.canary_wait, CTL_CANARY_WAIT_DEFAULT);
	assert_int_equal(c.canary_late, CTL_CANARY_LATE_DEFAULT);
	assert_int_equal(c.order_ttl, 3600);
	ctl_config_clear(&c);
}

static void expect_error(const char *text, const char *want)
{
	struct ctl_config c;
	char err[512];

	assert_int_equal(load(text, &c, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL || strstr(err, path) != err)
		fail_msg("error \"%s\" does not name the file and \"%s\"", err, want);
}

static void test_canary_errors(void **state)
{
	(void)state;
	expect_error("[canary]\nlisten = 127.0.0.1:2525\ndomains = canary.example.org\n"
	             "bogus = 1\n",
	             ":4: [canary] bogus: unknown key");
	expect_error("[canary]\ndomains = canary.example.org, not_a domain\n",
	             ":2: [canary] domains: \"not_a domain\" is not a domain name");
	expect_error("[canary]\nlisten = nowhere\n",
	             ":2: [canary] listen: \"nowhere\" is not HOST:PORT or [IPV6]:PORT");
	expect_error("[canary]\nlisten = 127.0.0.1:25\n", "[canary] needs both listen and domains");
	expect_error("[canary]\nlisten = 127.0.0.1:25\ndomains = c.example.org\n"
	             "cert_file = /x.pem\n",
	             "cert_file and key_file go together");
	expect_error("[canary]\nwait = 5\n", ":2: [canary] wait: expected seconds between 10");
	expect_error("[canary]\nwait = 10x\n", ":2: [canary] wait: expected seconds");
	expect_error("[canary]\nwait = 2h\nlate = 1h\n", "late must not be shorter than wait");
	expect_error("[canary]\ncontact = a\tb\n", ":2: [canary] contact: printable ASCII only");
	expect_error("[canary]\nlisten = 1.2.3.4:1,1.2.3.4:2,1.2.3.4:3,1.2.3.4:4,1.2.3.4:5,"
	             "1.2.3.4:6,1.2.3.4:7,1.2.3.4:8,1.2.3.4:9\n",
	             ":2: [canary] listen: at most 8 items");
	/* [controller]'s listen is not [canary]'s */
	expect_error("[controller]\nlisten = 127.0.0.1:25\n",
	             ":2: [controller] listen: expected a tcp:// endpoint");
}

/* The rules both daemons now share (common/ini_strict.c); the old loader
 * broke each of them. */
static void test_one_rule(void **state)
{
	struct ctl_config c;
	char err[512], text[512];
	int n;

	(void)state;
	/* A long line is one line: inih cut it at 199 bytes and parsed its tail
	 * as a key of its own (here a mac_key nobody wrote on a line). */
	n = snprintf(text, sizeof(text), "[canary]\ncontact = %0189d", 0);
	snprintf(text + n, sizeof(text) - (size_t)n, "mac_key = /tmp/evil\n");
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_null(c.canary_mac_key);
	assert_non_null(strstr(c.canary_contact, "0mac_key = /tmp/evil"));
	ctl_config_clear(&c);
	/* Control bytes and bad UTF-8 anywhere in the file. */
	expect_error("[controller]\nkeys = /etc/a\x1b[2Jb\n", ":2: control character 0x1b");
	expect_error("[controller]\ndatabase = /var/\xff.db\n", ":2: invalid UTF-8");
	expect_error("; caf\xe9\n", ":1: invalid UTF-8");
	/* A tab in a path, as the agent refuses it. */
	expect_error("[canary]\ncert_file = /a\tb.pem\nkey_file = /k.pem\n",
	             ":2: [canary] cert_file: control character in path");
	/* Numbers are digits, as in the agent: no sign. */
	expect_error("[canary]\nsessions_max = +5\n", ":2: [canary] sessions_max: \"+5\" is not");
	expect_error("[controller]\norder_ttl = +3600\n", ":2: [controller] order_ttl: expected");
	/* An unknown section is an error even without keys. */
	expect_error("[controler]\n", ":1: [controler]: unknown section");
	/* yes/no as the agent's allow_data takes it. */
	assert_int_equal(load("[hooks]\nsyslog = Yes\n", &c, err, sizeof(err)), 0);
	assert_true(c.hook_syslog);
	ctl_config_clear(&c);
	/* A rule across keys names the line. */
	expect_error("[canary]\nlisten = 127.0.0.1:25\ndomains = c.example.org\n"
	             "key_file = /x.pem\n",
	             ":4: [canary] cert_file and key_file go together");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canary_section),
	    cmocka_unit_test(test_canary_errors),
	    cmocka_unit_test(test_one_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
