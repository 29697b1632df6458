/* test_log.c - unit tests for logging: line format with program name and pid,
 * level filtering, level names, control-byte escaping, long-message cut,
 * log_value()/LOG_V() quoting of peer values (table-driven) and bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

struct cap {
	char *buf;
	size_t len;
	FILE *f;
};

static int setup(void **state)
{
	struct cap *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->f = open_memstream(&c->buf, &c->len);
	if (c->f == NULL) {
		free(c);
		return -1;
	}
	log_init("rptest", LOG_LVL_INFO, false);
	log_set_stream(c->f);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct cap *c = *state;

	log_set_stream(NULL);
	log_init("relayprobe", LOG_LVL_INFO, false);
	fclose(c->f);
	free(c->buf);
	free(c);
	return 0;
}

static const char *captured(struct cap *c)
{
	fflush(c->f);
	return c->buf != NULL ? c->buf : "";
}

static void test_format(void **state)
{
	struct cap *c = *state;
	char want[256];

	log_info("dialog=%s target=%s:%d state=RCPT reply=%d", "3f2a", "192.0.2.25", 25, 550);
	snprintf(want, sizeof(want),
	         "rptest[%ld]: info: dialog=3f2a target=192.0.2.25:25 state=RCPT reply=550\n",
	         (long)getpid());
	assert_string_equal(captured(c), want);
}

static void test_levels(void **state)
{
	struct cap *c = *state;
	char want[256];
	long pid = (long)getpid();

	log_debug("hidden=1");
	assert_string_equal(captured(c), "");
	log_set_level(LOG_LVL_DEBUG);
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	log_debug("shown=1");
	log_set_level(LOG_LVL_ERROR);
	log_warn("hidden=2");
	log_info("hidden=3");
	log_error("err=1");
	snprintf(want, sizeof(want), "rptest[%ld]: debug: shown=1\nrptest[%ld]: error: err=1\n",
	         pid, pid);
	assert_string_equal(captured(c), want);
	/* Out of range is clamped, never an index past the tables. */
	log_set_level(99);
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	log_set_level(-5);
	assert_int_equal(log_get_level(), LOG_LVL_ERROR);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(log_level_name(LOG_LVL_ERROR), "error");
	assert_string_equal(log_level_name(LOG_LVL_WARN), "warn");
	assert_string_equal(log_level_name(LOG_LVL_INFO), "info");
	assert_string_equal(log_level_name(LOG_LVL_DEBUG), "debug");
	assert_string_equal(log_level_name(42), "unknown");
	assert_int_equal(log_level_from_name("DEBUG"), LOG_LVL_DEBUG);
	assert_int_equal(log_level_from_name("warning"), LOG_LVL_WARN);
	assert_int_equal(log_level_from_name("error"), LOG_LVL_ERROR);
	assert_int_equal(log_level_from_name("loud"), -1);
	assert_int_equal(log_level_from_name(NULL), -1);
}

static void test_escape_and_cut(void **state)
{
	struct cap *c = *state;
	const char *out, *nl;
	char *big = malloc(LOG_MSG_MAX * 2);

	assert_non_null(big);
	log_warn("peer=%s", "evil\nrptest[1]: error: forged\r");
	out = captured(c);
	assert_non_null(strstr(out, "peer=evil\\x0arptest[1]: error: forged\\x0d\n"));
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0'); /* one line only */

	memset(big, 'q', LOG_MSG_MAX * 2 - 1);
	big[LOG_MSG_MAX * 2 - 1] = '\0';
	log_error("long=%s", big);
	out = captured(c);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_true(strlen(nl + 1) < LOG_MSG_MAX + 64);
	assert_non_null(strstr(nl + 1, "q...\n"));
	free(big);
}

/* log_value(): bare tokens stay bare, anything else is one quoted field
 * with its quotes, backslashes, control and non-ASCII bytes escaped. */
static void test_value_table(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
	    {"agent-1.fra", "agent-1.fra"},
	    {"relayprobe/0.1.0+deb12", "relayprobe/0.1.0+deb12"},
	    {"3f2a:09c1:77de:b410", "3f2a:09c1:77de:b410"},
	    {"a@b_c", "a@b_c"},
	    {NULL, "-"},
	    {"", "\"\""},
	    {"1.0 agent=evil", "\"1.0 agent=evil\""},
	    {"agent=evil", "\"agent=evil\""},
	    {"x\" agent=\"evil", "\"x\\\" agent=\\\"evil\""},
	    {"back\\slash", "\"back\\\\slash\""},
	    {"line\nrelayprobe[1]: error: forged", "\"line\\x0arelayprobe[1]: error: forged\""},
	    {"cr\rtab\tdel\x7f", "\"cr\\x0dtab\\x09del\\x7f\""},
	    {"\xff\xfe", "\"\\xff\\xfe\""},
	    {"caf\xc3\xa9", "\"caf\\xc3\\xa9\""},
	    {"\x1b[31mred", "\"\\x1b[31mred\""},
	    {"semi;colon", "\"semi;colon\""},
	};
	char buf[LOG_VALUE_BUF];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ptr_equal(log_value(buf, sizeof(buf), cases[i].in), buf);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("case %zu: got [%s] want [%s]", i, buf, cases[i].want);
	}
}

/* Long values are cut after LOG_VALUE_MAX input bytes, inside the quotes,
 * with a mark; a small buffer is never overrun; the output is ASCII. */
static void test_value_bounds(void **state)
{
	char in[LOG_VALUE_MAX * 3];
	char buf[LOG_VALUE_BUF];
	char small[16];
	size_t n;

	(void)state;
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	log_value(buf, sizeof(buf), in);
	n = strlen(buf);
	assert_int_equal(n, 1 + LOG_VALUE_MAX + 4);
	assert_int_equal(buf[0], '"');
	assert_string_equal(buf + n - 4, "...\"");
	/* exactly LOG_VALUE_MAX bare bytes stay bare */
	in[LOG_VALUE_MAX] = '\0';
	log_value(buf, sizeof(buf), in);
	assert_string_equal(buf, in);
	/* every byte escaped: the buffer still holds it all, cut */
	memset(in, 0xff, sizeof(in) - 1);
	log_value(buf, sizeof(buf), in);
	assert_true(strlen(buf) < sizeof(buf));
	assert_string_equal(buf + strlen(buf) - 4, "...\"");
	for (const char *p = buf; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	/* a small buffer: cut, quoted, terminated */
	memset(small, 'Z', sizeof(small));
	log_value(small, sizeof(small), "0123456789 0123456789");
	assert_true(strlen(small) < sizeof(small));
	assert_int_equal(small[0], '"');
	assert_string_equal(small + strlen(small) - 4, "...\"");
	log_value(small, sizeof(small), "0123456789abcdefghij");
	assert_true(strlen(small) < sizeof(small));
	assert_int_equal(small[0], '"');
}

/* Through a real log call: a hostile value is one field, no forged key, and
 * the line is ASCII; bytes >= 0x7f in an unquoted %s are escaped too. */
static void test_value_in_line(void **state)
{
	struct cap *c = *state;
	char want[512];

	log_info("agent=%s hello version=%s protocol=%u", LOG_V("fra1"),
	         LOG_V("1.0 agent=evil\n\xff"), 1u);
	snprintf(want, sizeof(want),
	         "rptest[%ld]: info: agent=fra1 hello version=\"1.0 agent=evil\\x0a\\xff\" "
	         "protocol=1\n",
	         (long)getpid());
	assert_string_equal(captured(c), want);
	log_info("raw=%s", "caf\xc3\xa9");
	assert_non_null(strstr(captured(c), "raw=caf\\xc3\\xa9\n"));
}

static void test_null_prog_keeps_name(void **state)
{
	struct cap *c = *state;

	log_init(NULL, LOG_LVL_INFO, false);
	log_info("x=1");
	assert_non_null(strstr(captured(c), "rptest["));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test_setup_teardown(test_escape_and_cut, setup, teardown),
	    cmocka_unit_test(test_value_table),
	    cmocka_unit_test(test_value_bounds),
	    cmocka_unit_test_setup_teardown(test_value_in_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_prog_keeps_name, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
