/* store_inventory.c - the targets inventory on the store
 * (store_inventory.h): clients, targets and tags (normalised in
 * target_tags); an import runs in one transaction (all or nothing). Text is
 * bounded by RP_INV_TEXT_MAX, tags per target by RP_INV_TAGS_MAX. */
#include "store_inventory.h"

#include <jansson.h> /* the tags column is a JSON array the import writes */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_limits.h"
#include "store_internal.h"
#include "syntax.h"
#include "target.h"

int store_target_add(struct store *s, const char *spec, const char *client, const char *tags,
                     int64_t *id)
{
	if (!target_is_canonical(spec) ||
	    (client != NULL && strnlen(client, RP_STORE_TEXT_MAX + 1) > RP_STORE_TEXT_MAX) ||
	    (tags != NULL && strnlen(tags, RP_STORE_TEXT_MAX + 1) > RP_STORE_TEXT_MAX)) {
		store_fail(s, "target: missing or oversize field");
		return -1;
	}
	return store_one_int64(s,
	                       "INSERT INTO targets (spec, client, tags) VALUES (?1, ?2, ?3)"
	                       " ON CONFLICT (spec, client) DO UPDATE SET tags = excluded.tags"
	                       " RETURNING id",
	                       STORE_ARGS(SA_TEXT(spec), SA_TEXT(client ? client : ""),
	                                  SA_TEXT(tags ? tags : "[]")),
	                       id ? id : &(int64_t){0}, "target add") == 1
	           ? 0
	           : store_db_fail(s, "target add");
}

int store_target_client(struct store *s, const char *spec, char *out, size_t outlen)
{
	return store_one_text(s, "SELECT min(client) FROM targets WHERE spec = ?1",
	                      STORE_ARGS(SA_TEXT(spec)), out, outlen, "target client");
}

static int import_row(struct store *s, const struct inv_row *r, long *added, long *updated)
{
	json_t *tags = json_array();
	char *tj = NULL;
	int64_t id = 0;
	int rc = -1, found;

	if (tags == NULL)
		return -1;
	for (size_t i = 0; i < r->ntags; i++)
		if (json_array_append_new(tags, json_string(r->tags[i])) < 0)
			goto out;
	tj = json_dumps(tags, JSON_COMPACT);
	if (tj == NULL)
		goto out;
	found = store_one_int64(s, "SELECT id FROM targets WHERE spec = ?1 AND client = ?2",
	                        STORE_ARGS(SA_TEXT(r->target), SA_TEXT(r->client)), &id, "target");
	if (found < 0)
		goto out;
	if (found ? store_run(s, "UPDATE targets SET tags = ?1 WHERE id = ?2",
	                      STORE_ARGS(SA_TEXT(tj), SA_INT(id)), "target") < 0
	          : store_one_int64(s,
	                            "INSERT INTO targets (spec, client, tags) VALUES (?1, ?2, ?3)"
	                            " RETURNING id",
	                            STORE_ARGS(SA_TEXT(r->target), SA_TEXT(r->client), SA_TEXT(tj)),
	                            &id, "target") != 1)
		goto out;
	if (store_run(s, "DELETE FROM target_tags WHERE target_id = ?1", STORE_ARGS(SA_INT(id)),
	              "tags") < 0)
		goto out;
	for (size_t i = 0; i < r->ntags; i++)
		if (store_run(s,
		              "INSERT OR IGNORE INTO target_tags (target_id, tag) VALUES (?1, ?2)",
		              STORE_ARGS(SA_INT(id), SA_TEXT(r->tags[i])), "tag") < 0)
			goto out;
	(*(found ? updated : added))++;
	rc = 0;
out:
	free(tj);
	json_decref(tags);
	return rc;
}

int store_inv_import(struct store *s, const struct inv_row *rows, size_t n, long *added,
                     long *updated)
{
	long a = 0, u = 0;

	if (n > RP_INV_ROWS_MAX) {
		store_fail(s, "more than %d rows", RP_INV_ROWS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!store_inv_text_ok(rows[i].client) || !target_is_canonical(rows[i].target) ||
		    rows[i].ntags > RP_INV_TAGS_MAX) {
			store_fail(s, "row %zu: bad client, target or tags", i + 1);
			return -1;
		}
		for (size_t k = 0; k < rows[i].ntags; k++)
			if (!rp_tag_ok(rows[i].tags[k])) {
				store_fail(s, "row %zu: bad tag", i + 1);
				return -1;
			}
	}
	if (store_exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (import_row(s, &rows[i], &a, &u) < 0) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	if (store_exec(s, "COMMIT") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (added)
		*added = a;
	if (updated)
		*updated = u;
	return 0;
}

struct inv_walk {
	store_inv_cb cb;
	void *arg;
};

static int inv_row(void *arg, sqlite3_stmt *st)
{
	struct inv_walk *w = arg;
	struct store_inv_item it = {
	    .client = store_col(st, 0), .target = store_col(st, 1), .tags = store_col(st, 2)};

	return w->cb(w->arg, &it);
}

long store_inv_list(struct store *s, const char *client, const char *tag, store_inv_cb cb,
                    void *arg)
{
	struct inv_walk w = {cb, arg};

	return store_each(s,
	                  "SELECT t.client, t.spec, t.tags FROM targets t"
	                  " WHERE (?1 IS NULL OR t.client = ?1) AND (?2 IS NULL OR EXISTS"
	                  " (SELECT 1 FROM target_tags g WHERE g.target_id = t.id AND g.tag = ?2))"
	                  " ORDER BY t.client, t.spec",
	                  STORE_ARGS(SA_TEXT(client), SA_TEXT(tag)), inv_row, &w, "targets");
}

long store_inv_remove(struct store *s, const char *client, const char *target)
{
	return store_run(s, "DELETE FROM targets WHERE spec = ?1 AND (?2 IS NULL OR client = ?2)",
	                 STORE_ARGS(SA_TEXT(target), SA_TEXT(client)), "remove");
}

long store_inv_select(struct store *s, const char *selector, const char *value, store_name_cb cb,
                      void *arg)
{
	sqlite3_stmt *st =
	    store_query(s,
	                "SELECT DISTINCT t.spec FROM targets t WHERE ?1 = 'all'"
	                " OR (?1 = 'client' AND t.client = ?2) OR (?1 = 'tag' AND EXISTS"
	                " (SELECT 1 FROM target_tags g WHERE g.target_id = t.id AND g.tag = ?2))"
	                " ORDER BY t.spec",
	                STORE_ARGS(SA_TEXT(selector), SA_TEXT(value ? value : "")));

	return st == NULL ? -1 : store_names(s, st, cb, arg, "select");
}
