/* store_fixture.h - the cmocka fixture the store-level controller tests
 * share (test_hooks, test_inventory, test_schedule): a fresh SQLite store
 * in its own mkdtemp directory, removed with its -wal and -shm files. */
#ifndef RP_TEST_STORE_FIXTURE_H
#define RP_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *s;
};

/* A store in a new directory made from tmpl ("/tmp/rp-NAME-XXXXXX"). */
static inline int store_fx_setup(void **state, const char *tmpl)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	f->s = store_open(f->path, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("store_open: %s", err);
	*state = f;
	return 0;
}

static inline int store_fx_teardown(void **state)
{
	struct fx *f = *state;
	char p[160];

	store_close(&f->s);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

#endif
