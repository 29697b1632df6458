/* store_backend.c - what every backend of the store shares (store_backend.h):
 * the row accessors that dispatch to the backend, the choice of SQL text per
 * backend, and the schema's migration on open. */
#include "store_backend.h"

#include <stdio.h>

int64_t store_row_int64(const struct store_row *r, int col)
{
	return r->b->col_int64(r, col);
}

const char *store_row_text(const struct store_row *r, int col)
{
	return r->b->col_text(r, col);
}

bool store_row_null(const struct store_row *r, int col)
{
	return r->b->col_null(r, col);
}

const void *store_row_blob(const struct store_row *r, int col, size_t *len)
{
	return r->b->col_blob(r, col, len);
}

void store_row_copy(const struct store_row *r, int col, char *dst, size_t dstlen)
{
	snprintf(dst, dstlen, "%s", store_row_text(r, col));
}

const char *store_sql(const struct store *s, const char *lite, const char *pg)
{
	return s->b->dialect == STORE_DIALECT_PG ? pg : lite;
}

int store_migrate(struct store *s)
{
	const struct store_schema *sc = s->b->schema;
	int target = sc->base + sc->nsteps;
	int v;

	if (target != store_schema_version()) {
		store_fail(s, "%s schema: makes version %d, this program needs %d", s->b->name,
		           target, store_schema_version());
		return -1;
	}
	if (s->b->begin(s) < 0)
		return -1;
	/* Read again under the write lock: another process may have migrated. */
	if (s->b->version_get(s, &v) < 0)
		goto fail;
	if (v > target) {
		store_fail(s, "database schema version %d is newer than this program's %d", v,
		           target);
		goto fail;
	}
	if (v == 0 && sc->base > 0) {
		if (s->b->exec(s, sc->base_sql) < 0)
			goto fail;
		v = sc->base;
	} else if (v < sc->base) {
		store_fail(s,
		           "database schema version %d is older than the %s backend's first (%d)",
		           v, s->b->name, sc->base);
		goto fail;
	}
	for (; v < target; v++)
		if (s->b->exec(s, sc->steps[v - sc->base]) < 0)
			goto fail;
	if (s->b->version_set(s, target) < 0 || s->b->commit(s) < 0)
		goto fail;
	return 0;
fail:
	s->b->rollback(s);
	return -1;
}
