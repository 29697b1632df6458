/* test_ctl_exclude.c - the admin commands of the do-not-test list
 * (exclude.add/list/remove, ctl_sched.c) through ctl_admin_answer, the
 * dispatch the admin socket runs, on a real SQLite file: replies byte for
 * byte, an entry listed again updated, bad entries and fields refused with
 * an error that names them, removal of what is not listed refused, and
 * audit.start refused for a target the list covers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h"
#include "store_fixture.h"

struct cfx {
	struct fx f;
	struct ctl c;
};

static int setup(void **state)
{
	struct cfx *r;

	store_fx_setup(state, "/tmp/rp-ctl-excl-XXXXXX");
	r = realloc(*state, sizeof(*r));
	assert_non_null(r);
	memset(&r->c, 0, sizeof(r->c));
	r->c.store = r->f.s;
	*state = r;
	return 0;
}

/* The reply to req, with "added_at" values (the clock) made 0. */
static char *ask(struct cfx *r, const char *req)
{
	char *out = ctl_admin_answer(&r->c, req, strlen(req)), *p;

	assert_non_null(out);
	for (p = out; (p = strstr(p, "\"added_at\":")) != NULL;) {
		char *q = p + 11;
		size_t n = strspn(q, "0123456789");

		assert_true(n > 0);
		q[0] = '0';
		memmove(q + 1, q + n, strlen(q + n) + 1);
		p = q + 1;
	}
	return out;
}

static void expect(struct cfx *r, const char *req, const char *want)
{
	char *got = ask(r, req);

	if (strcmp(got, want) != 0)
		fail_msg("%s:\n got: %s\nwant: %s", req, got, want);
	free(got);
}

/* The reply is a failure whose error contains part. */
static void expect_error(struct cfx *r, const char *req, const char *part)
{
	char *got = ask(r, req);
	json_t *j = json_loads(got, 0, NULL);
	const char *e;

	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "ok")));
	e = json_string_value(json_object_get(j, "error"));
	assert_non_null(e);
	if (strstr(e, part) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", req, e, part);
	json_decref(j);
	free(got);
}

static void add_list_remove(void **state)
{
	struct cfx *r = *state;

	expect(r, "{\"cmd\":\"exclude.list\"}", "{\"ok\":true,\"exclusions\":[]}");
	expect(r,
	       "{\"cmd\":\"exclude.add\",\"entry\":\"198.51.100.0/24\",\"reason\":\"partner's "
	       "range\",\"by\":\"alice\"}",
	       "{\"ok\":true,\"entry\":\"198.51.100.0/24\",\"added\":true}");
	expect(r, "{\"cmd\":\"exclude.add\",\"entry\":\"example.com\"}",
	       "{\"ok\":true,\"entry\":\"example.com\",\"added\":true}");
	expect(
	    r, "{\"cmd\":\"exclude.list\"}",
	    "{\"ok\":true,\"exclusions\":[{\"entry\":\"198.51.100.0/24\",\"reason\":\"partner's "
	    "range\",\"by\":\"alice\",\"added_at\":0},{\"entry\":\"example.com\",\"reason\":\"\","
	    "\"by\":\"\",\"added_at\":0}]}");
	expect(r,
	       "{\"cmd\":\"exclude.add\",\"entry\":\"example.com\",\"reason\":\"owner asked\","
	       "\"by\":\"bob\"}",
	       "{\"ok\":true,\"entry\":\"example.com\",\"added\":false}");
	expect(r, "{\"cmd\":\"exclude.remove\",\"entry\":\"198.51.100.0/24\"}", "{\"ok\":true}");
	expect(r, "{\"cmd\":\"exclude.list\"}",
	       "{\"ok\":true,\"exclusions\":[{\"entry\":\"example.com\",\"reason\":\"owner "
	       "asked\",\"by\":\"bob\",\"added_at\":0}]}");
	expect_error(r, "{\"cmd\":\"exclude.remove\",\"entry\":\"198.51.100.0/24\"}",
	             "no exclusion 198.51.100.0/24");
}

static void bad_refused(void **state)
{
	struct cfx *r = *state;
	char req[1024];

	expect_error(r, "{\"cmd\":\"exclude.add\"}", "\"entry\" is required");
	expect_error(r, "{\"cmd\":\"exclude.add\",\"entry\":\"no such host!\"}", "no such host!");
	expect_error(r, "{\"cmd\":\"exclude.add\",\"entry\":\"192.0.2.1/24\"}", "192.0.2.1/24");
	expect_error(r, "{\"cmd\":\"exclude.add\",\"entry\":\"192.0.2.300\"}", "192.0.2.300");
	expect_error(r, "{\"cmd\":\"exclude.add\",\"entry\":\"example.com\",\"reason\":7}",
	             "must be strings");
	expect_error(r, "{\"cmd\":\"exclude.add\",\"entry\":\"example.com\",\"by\":\"a\\nb\"}",
	             "by:");
	expect_error(r,
	             "{\"cmd\":\"exclude.add\",\"entry\":\"example.com\",\"reason\":\"a\\u0001\"}",
	             "reason:");
	snprintf(req, sizeof(req),
	         "{\"cmd\":\"exclude.add\",\"entry\":\"example.com\",\"by\":\"%0*d\"}", 129, 0);
	expect_error(r, req, "by:");
	expect_error(r, "{\"cmd\":\"exclude.remove\"}", "\"entry\" is required");
	expect(r, "{\"cmd\":\"exclude.list\"}", "{\"ok\":true,\"exclusions\":[]}");
}

/* audit.start: a target whose host the list covers (by address, block or
 * domain) refuses the whole audit, naming the target and its entry; the
 * same request passes that check once the entries are removed (and stops
 * at the next one: this controller has no vantage). */
static void audit_start_refused(void **state)
{
	struct cfx *r = *state;
	char *got;

	expect(r,
	       "{\"cmd\":\"exclude.add\",\"entry\":\"example.com\",\"reason\":\"opt-out\","
	       "\"by\":\"alice\"}",
	       "{\"ok\":true,\"entry\":\"example.com\",\"added\":true}");
	expect(r, "{\"cmd\":\"exclude.add\",\"entry\":\"198.51.100.0/24\"}",
	       "{\"ok\":true,\"entry\":\"198.51.100.0/24\",\"added\":true}");
	expect_error(
	    r, "{\"cmd\":\"audit.start\",\"targets\":[\"192.0.2.25\",\"mx1.example.com:2525\"]}",
	    "on the do-not-test list: mx1.example.com:2525 (excluded by example.com (alice): "
	    "opt-out)");
	expect_error(r, "{\"cmd\":\"audit.start\",\"targets\":[\"[198.51.100.7]:25\"]}",
	             "[198.51.100.7]:25 (excluded by 198.51.100.0/24 (controller))");
	expect_error(r,
	             "{\"cmd\":\"audit.start\",\"targets\":[\"198.51.100.1\",\"198.51.100.2\","
	             "\"198.51.100.3\",\"198.51.100.4\",\"example.com\"]}",
	             "; and 2 more");
	expect(r, "{\"cmd\":\"exclude.remove\",\"entry\":\"example.com\"}", "{\"ok\":true}");
	expect(r, "{\"cmd\":\"exclude.remove\",\"entry\":\"198.51.100.0/24\"}", "{\"ok\":true}");
	got = ask(r, "{\"cmd\":\"audit.start\",\"targets\":[\"mx1.example.com:2525\"]}");
	assert_non_null(strstr(got, "\"ok\":false"));
	assert_null(strstr(got, "do-not-test"));
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(add_list_remove, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(bad_refused, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(audit_start_refused, setup, store_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
