/* test_store_exclude.c - the controller's do-not-test list (store_exclude.c)
 * on a real SQLite file: add (and update of a listed entry), remove, list in
 * order, a bad entry or bounded field refused naming it, and the loader's
 * list matching what was stored, after a reopen too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exclude.h"
#include "store_exclude.h"
#include "store_fixture.h"

static int setup(void **state)
{
	return store_fx_setup(state, "/tmp/rp-excl-XXXXXX");
}

/* The rows as "entry|reason|by|added_at" each. */
struct listed {
	char rows[8][512];
	size_t n;
};

static int list_row(void *arg, const struct store_exclude_row *r)
{
	struct listed *l = arg;

	assert_true(l->n < 8);
	snprintf(l->rows[l->n++], sizeof(l->rows[0]), "%s|%s|%s|%lld", r->entry, r->reason,
	         r->requested_by, (long long)r->added_at);
	return 0;
}

static size_t list(struct store *s, struct listed *l)
{
	long n;

	memset(l, 0, sizeof(*l));
	n = store_exclude_list(s, list_row, l);
	assert_int_equal(n, (long)l->n);
	return l->n;
}

static void add_update_remove(void **state)
{
	struct fx *f = *state;
	struct listed l;

	assert_int_equal(
	    store_exclude_add(f->s, "198.51.100.0/24", "partner's range", "alice", 100), 1);
	assert_int_equal(store_exclude_add(f->s, "example.com", NULL, NULL, 101), 1);
	assert_int_equal(store_exclude_add(f->s, "2001:db8::25", "lab", "bob", 102), 1);
	assert_int_equal(list(f->s, &l), 3);
	assert_string_equal(l.rows[0], "198.51.100.0/24|partner's range|alice|100");
	assert_string_equal(l.rows[1], "2001:db8::25|lab|bob|102");
	assert_string_equal(l.rows[2], "example.com|||101");

	/* Listed again: the reason and who asked change, added_at stays. */
	assert_int_equal(store_exclude_add(f->s, "example.com", "asked by the owner", "carol", 200),
	                 0);
	assert_int_equal(list(f->s, &l), 3);
	assert_string_equal(l.rows[2], "example.com|asked by the owner|carol|101");

	assert_int_equal(store_exclude_remove(f->s, "2001:db8::25"), 1);
	assert_int_equal(store_exclude_remove(f->s, "2001:db8::25"), 0);
	assert_int_equal(list(f->s, &l), 2);
	assert_string_equal(l.rows[0], "198.51.100.0/24|partner's range|alice|100");
	assert_string_equal(l.rows[1], "example.com|asked by the owner|carol|101");
}

static void bad_refused(void **state)
{
	struct fx *f = *state;
	struct listed l;
	char err[384], by[STORE_EXCLUDE_BY_MAX + 2], reason[RP_EXCLUDE_REASON_MAX + 2];

	err[0] = '\0';
	assert_int_equal(store_exclude_add(f->s, "not a host!", "x", "alice", 1), -1);
	assert_non_null(strstr(store_errmsg(f->s), "not a host!"));
	assert_int_equal(store_exclude_check("198.51.100.1/24", NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "198.51.100.1/24"));
	assert_int_equal(store_exclude_add(f->s, "", NULL, NULL, 1), -1);
	assert_int_equal(store_exclude_add(f->s, "192.0.2.300", NULL, NULL, 1), -1);
	assert_int_equal(store_exclude_add(f->s, "example.com", "line\nbreak", NULL, 1), -1);
	assert_int_equal(store_exclude_add(f->s, "example.com", NULL, "a\tb", 1), -1);
	memset(by, 'b', sizeof(by) - 1);
	by[sizeof(by) - 1] = '\0';
	assert_int_equal(store_exclude_add(f->s, "example.com", NULL, by, 1), -1);
	by[STORE_EXCLUDE_BY_MAX] = '\0';
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(store_exclude_add(f->s, "example.com", reason, NULL, 1), -1);
	reason[RP_EXCLUDE_REASON_MAX] = '\0';
	assert_int_equal(list(f->s, &l), 0);
	/* At the limits: taken. */
	assert_int_equal(store_exclude_add(f->s, "example.com", reason, by, 1), 1);
	assert_int_equal(list(f->s, &l), 1);
}

static void load_and_reopen(void **state)
{
	struct fx *f = *state;
	struct exclude_list *xl = exclude_new();
	const struct exclude_entry *en;
	char err[256];

	assert_non_null(xl);
	assert_int_equal(store_exclude_add(f->s, "203.0.113.0/24", "customer opt-out", "alice", 5),
	                 1);
	assert_int_equal(store_exclude_add(f->s, "example.net", "", "", 6), 1);
	store_close(&f->s);
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(store_exclude_load(f->s, xl), 2);
	assert_int_equal(exclude_count(xl), 2);
	en = exclude_match_host(xl, "203.0.113.25");
	assert_non_null(en);
	assert_string_equal(en->text, "203.0.113.0/24");
	assert_string_equal(en->reason, "customer opt-out");
	assert_string_equal(en->where, "alice");
	en = exclude_match_host(xl, "mx1.example.net");
	assert_non_null(en);
	assert_string_equal(en->where, "controller");
	assert_null(exclude_match_host(xl, "198.51.100.25"));
	assert_null(exclude_match_host(xl, "example.com"));
	exclude_free(&xl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(add_update_remove, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(bad_refused, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(load_and_reopen, setup, store_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
