/* test_inventory.c - the store's inventory (store_inventory.c) on real SQLite
 * files in a mkdtemp directory: an import is all or nothing (a bad row or
 * a failure mid-way leaves the inventory as it was), a known (client,
 * target) is updated not duplicated, tags are normalised for filtering,
 * removal per client, and the inventory survives a reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fixture.h"
#include "store_inventory.h"

/* store_inv_select()'s names as a JSON array (NULL on error). */
static int name_append(void *arg, const char *name)
{
	return json_array_append_new(arg, json_string(name));
}

static json_t *inv_select(struct store *s, const char *selector, const char *value)
{
	json_t *a = json_array();

	if (store_inv_select(s, selector, value, name_append, a) < 0) {
		json_decref(a);
		a = NULL;
	}
	return a;
}

static int setup(void **state)
{
	return store_fx_setup(state, "/tmp/rp-inv-XXXXXX");
}

static const char *const t_mx[] = {"mx", "eu"};
static const char *const t_web[] = {"web"};
static const char *const t_bad[] = {"bad tag"};

/* store_inv_list()'s rows, copied: "client|target|tags" each. */
struct listed {
	char rows[8][256];
	size_t n;
};

static int list_row(void *arg, const struct store_inv_item *it)
{
	struct listed *l = arg;

	assert_true(l->n < 8);
	snprintf(l->rows[l->n++], sizeof(l->rows[0]), "%s|%s|%s", it->client, it->target, it->tags);
	return 0;
}

static size_t list(struct store *s, const char *client, const char *tag, struct listed *l)
{
	long n;

	memset(l, 0, sizeof(*l));
	n = store_inv_list(s, client, tag, list_row, l);
	assert_int_equal(n, (long)l->n);
	return l->n;
}

static size_t count(struct store *s, const char *client, const char *tag)
{
	struct listed l;

	return list(s, client, tag, &l);
}

/* A callback that stops the walk at the first row. */
static int stop_first(void *arg, const struct store_inv_item *it)
{
	(void)it;
	(*(int *)arg)++;
	return 1;
}

static void import_and_filter(void **state)
{
	struct fx *f = *state;
	struct inv_row rows[] = {
	    {"acme", "mx1.acme.test", 0, t_mx, 2},
	    {"acme", "mx2.acme.test:587", 587, t_web, 1},
	    {"globex", "127.0.0.1:2525", 2525, t_mx, 2},
	};
	long added = -1, updated = -1;
	json_t *sel;

	assert_int_equal(store_inv_import(f->s, rows, 3, &added, &updated), 0);
	assert_int_equal(added, 3);
	assert_int_equal(updated, 0);
	assert_int_equal(count(f->s, NULL, NULL), 3);
	/* the rows' fields, by client then target; the tags as imported */
	{
		struct listed l;
		int calls = 0;

		assert_int_equal(list(f->s, NULL, NULL, &l), 3);
		assert_string_equal(l.rows[0], "acme|mx1.acme.test|[\"mx\",\"eu\"]");
		assert_string_equal(l.rows[1], "acme|mx2.acme.test:587|[\"web\"]");
		assert_string_equal(l.rows[2], "globex|127.0.0.1:2525|[\"mx\",\"eu\"]");
		assert_int_equal(list(f->s, NULL, "web", &l), 1);
		assert_string_equal(l.rows[0], "acme|mx2.acme.test:587|[\"web\"]");
		/* a callback stops the walk */
		assert_int_equal(store_inv_list(f->s, NULL, NULL, stop_first, &calls), 1);
		assert_int_equal(calls, 1);
	}
	assert_int_equal(count(f->s, "acme", NULL), 2);
	assert_int_equal(count(f->s, NULL, "mx"), 2);
	assert_int_equal(count(f->s, "acme", "mx"), 1);
	assert_int_equal(count(f->s, NULL, "nope"), 0);
	sel = inv_select(f->s, "tag", "eu");
	assert_int_equal(json_array_size(sel), 2);
	assert_string_equal(json_string_value(json_array_get(sel, 0)), "127.0.0.1:2525");
	json_decref(sel);
	sel = inv_select(f->s, "client", "globex");
	assert_int_equal(json_array_size(sel), 1);
	json_decref(sel);
	sel = inv_select(f->s, "all", NULL);
	assert_int_equal(json_array_size(sel), 3);
	json_decref(sel);
}

static void duplicates_update(void **state)
{
	struct fx *f = *state;
	struct inv_row a = {"acme", "mx1.acme.test", 0, t_mx, 2};
	struct inv_row b = {"acme", "mx1.acme.test", 0, t_web, 1};
	struct inv_row other = {"globex", "mx1.acme.test", 0, t_web, 1};
	long added, updated;
	struct listed rows;
	json_t *l;

	assert_int_equal(store_inv_import(f->s, &a, 1, &added, &updated), 0);
	assert_int_equal(store_inv_import(f->s, &b, 1, &added, &updated), 0);
	assert_int_equal(added, 0);
	assert_int_equal(updated, 1);
	assert_int_equal(count(f->s, NULL, NULL), 1);
	/* the tags were replaced, not merged */
	assert_int_equal(count(f->s, NULL, "mx"), 0);
	assert_int_equal(count(f->s, NULL, "web"), 1);
	assert_int_equal(list(f->s, NULL, NULL, &rows), 1);
	assert_string_equal(rows.rows[0], "acme|mx1.acme.test|[\"web\"]");
	/* the same target for another client is another row */
	assert_int_equal(store_inv_import(f->s, &other, 1, &added, &updated), 0);
	assert_int_equal(added, 1);
	assert_int_equal(count(f->s, NULL, NULL), 2);
	/* the selection names each target once */
	l = inv_select(f->s, "all", NULL);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
}

static void all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct inv_row good = {"acme", "mx1.acme.test", 0, t_mx, 2};
	struct inv_row rows[] = {
	    {"acme", "mx1.acme.test", 0, t_web, 1}, /* would update */
	    {"acme", "mx3.acme.test", 0, t_mx, 1},  /* would add */
	    {"acme", "mx4.acme.test", 0, t_bad, 1}, /* bad tag */
	};
	struct inv_row ctl[] = {
	    {"acme", "mx5.acme.test", 0, NULL, 0},
	    {"ac\x01me", "mx6.acme.test", 0, NULL, 0},
	};
	long added = 7, updated = 7;

	assert_int_equal(store_inv_import(f->s, &good, 1, NULL, NULL), 0);
	assert_int_equal(store_inv_import(f->s, rows, 3, &added, &updated), -1);
	assert_int_equal(added, 7); /* untouched on failure */
	assert_non_null(strstr(store_errmsg(f->s), "row 3"));
	assert_int_equal(count(f->s, NULL, NULL), 1);
	assert_int_equal(count(f->s, NULL, "mx"), 1); /* row 1's update rolled back */
	assert_int_equal(count(f->s, NULL, "web"), 0);
	assert_int_equal(store_inv_import(f->s, ctl, 2, NULL, NULL), -1);
	assert_int_equal(count(f->s, NULL, NULL), 1);
}

/* A target not in its canonical form (as another admin client might send
 * it) is refused with its row, and nothing is imported: the store only ever
 * holds one spelling of a target. */
static void non_canonical_refused(void **state)
{
	struct fx *f = *state;
	const char *bad[] = {"MX1.acme.test",
	                     "mx1.acme.test.",
	                     " mx1.acme.test",
	                     "[192.0.2.1]:25",
	                     "bad_name.test",
	                     "mx1\n.test",
	                     ""};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct inv_row rows[] = {{"acme", "mx9.acme.test", 0, t_mx, 1},
		                         {"acme", bad[i], 0, t_mx, 1}};

		assert_int_equal(store_inv_import(f->s, rows, 2, NULL, NULL), -1);
		assert_non_null(strstr(store_errmsg(f->s), "row 2"));
		assert_int_equal(store_target_add(f->s, bad[i], "acme", NULL, NULL), -1);
	}
	assert_int_equal(count(f->s, NULL, NULL), 0);
	assert_int_equal(store_target_add(f->s, "2001:db8::1", "acme", NULL, NULL), 0);
	assert_int_equal(count(f->s, NULL, NULL), 1);
}

/* A database failure on the last row (a trigger refuses it) rolls back the
 * rows written before it in the same import. */
static void rollback_mid_way(void **state)
{
	struct fx *f = *state;
	struct inv_row rows[] = {
	    {"acme", "mx1.acme.test", 0, t_web, 1},
	    {"acme", "mx2.acme.test", 0, t_mx, 2},
	    {"acme", "boom.acme.test", 0, t_mx, 1},
	};
	struct inv_row first = {"acme", "mx1.acme.test", 0, t_mx, 2};
	sqlite3 *db;

	assert_int_equal(store_inv_import(f->s, &first, 1, NULL, NULL), 0);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE TRIGGER boom BEFORE INSERT ON targets WHEN"
	                              " NEW.spec = 'boom.acme.test' BEGIN"
	                              " SELECT RAISE(ABORT, 'refused'); END;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_inv_import(f->s, rows, 3, NULL, NULL), -1);
	assert_int_equal(count(f->s, NULL, NULL), 1);
	assert_int_equal(count(f->s, NULL, "web"), 0);
	assert_int_equal(count(f->s, NULL, "eu"), 1);
	/* and the store is usable afterwards (no transaction left open) */
	assert_int_equal(store_inv_import(f->s, rows, 2, NULL, NULL), 0);
	assert_int_equal(count(f->s, NULL, NULL), 2);
}

static void remove_and_reopen(void **state)
{
	struct fx *f = *state;
	struct inv_row rows[] = {
	    {"acme", "mx1.test", 0, t_mx, 2},
	    {"globex", "mx1.test", 0, t_mx, 2},
	    {"globex", "mx2.test", 0, t_web, 1},
	};
	char err[256];

	assert_int_equal(store_inv_import(f->s, rows, 3, NULL, NULL), 0);
	assert_int_equal(store_inv_remove(f->s, "acme", "mx1.test"), 1);
	assert_int_equal(store_inv_remove(f->s, "acme", "mx1.test"), 0);
	assert_int_equal(count(f->s, NULL, NULL), 2);
	/* the tag rows went with the target (ON DELETE CASCADE) */
	assert_int_equal(count(f->s, NULL, "mx"), 1);
	assert_int_equal(store_inv_remove(f->s, NULL, "mx2.test"), 1);
	store_close(&f->s);
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(count(f->s, "globex", "mx"), 1);
	assert_int_equal(count(f->s, NULL, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(import_and_filter, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(duplicates_update, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(all_or_nothing, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(non_canonical_refused, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(rollback_mid_way, setup, store_fx_teardown),
	    cmocka_unit_test_setup_teardown(remove_and_reopen, setup, store_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
