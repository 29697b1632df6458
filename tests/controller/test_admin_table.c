/* test_admin_table.c - the admin protocol's one command table
 * (wire/admin_proto.h) and the controller's handlers for it: every command
 * named once, found by its name, and handled by exactly one handler of its
 * reply kind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <setjmp.h>

#include <cmocka.h>

#include "admin_proto.h"
#include "ctl_internal.h"

static void test_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < ADMIN_CMD_COUNT; i++) {
		assert_non_null(admin_cmds[i].name);
		assert_non_null(admin_cmds[i].fields);
		assert_non_null(admin_cmds[i].reply);
		assert_int_equal(admin_cmd_from_name(admin_cmds[i].name), i);
		assert_string_equal(admin_cmd_name((enum admin_cmd)i), admin_cmds[i].name);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(admin_cmds[i].name, admin_cmds[j].name);
	}
	assert_int_equal(admin_cmd_from_name("audit.stop"), -1);
	assert_int_equal(admin_cmd_from_name("AUDIT.START"), -1);
	assert_int_equal(admin_cmd_from_name(""), -1);
	assert_int_equal(admin_cmd_from_name(NULL), -1);
	assert_null(admin_cmd_name(ADMIN_CMD_COUNT));
	assert_int_equal(admin_cmds[ADMIN_TRANSCRIPTS].kind, ADMIN_REPLY_TEXT);
	assert_int_equal(admin_cmds[ADMIN_AUDIT_START].kind, ADMIN_REPLY_JSON);
}

static void test_every_command_handled(void **state)
{
	(void)state;
	assert_true(ctl_admin_complete());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_round_trip),
	    cmocka_unit_test(test_every_command_handled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
