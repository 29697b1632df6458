/* store_inventory.c - the targets inventory on the store
 * (store_inventory.h): clients, targets and tags (normalised in
 * target_tags); an import runs in one transaction (all or nothing). Text is
 * bounded by RP_INV_TEXT_MAX, tags per target by RP_INV_TAGS_MAX. */
#include "store_inventory.h"

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
	sqlite3_stmt *st;
	int rc;

	if (!target_is_canonical(spec) ||
	    (client != NULL && strnlen(client, RP_STORE_TEXT_MAX + 1) > RP_STORE_TEXT_MAX) ||
	    (tags != NULL && strnlen(tags, RP_STORE_TEXT_MAX + 1) > RP_STORE_TEXT_MAX)) {
		store_fail(s, "target: missing or oversize field");
		return -1;
	}
	st = store_prep(s, "INSERT INTO targets (spec, client, tags) VALUES (?, ?, ?)"
	                   " ON CONFLICT (spec, client) DO UPDATE SET tags = excluded.tags"
	                   " RETURNING id");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, client ? client : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tags ? tags : "[]", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && id != NULL)
		*id = sqlite3_column_int64(st, 0);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	store_done(s, st);
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "target add");
}

int store_target_client(struct store *s, const char *spec, char *out, size_t outlen)
{
	sqlite3_stmt *st = store_prep(s, "SELECT min(client) FROM targets WHERE spec = ?1");
	int rc, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	store_done(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "target client");
	return found;
}

static int import_row(struct store *s, const struct inv_row *r, long *added, long *updated)
{
	sqlite3_stmt *st;
	json_t *tags = json_array();
	char *tj = NULL;
	int64_t id = 0;
	int rc = -1, found = 0;

	if (tags == NULL)
		return -1;
	for (size_t i = 0; i < r->ntags; i++)
		if (json_array_append_new(tags, json_string(r->tags[i])) < 0)
			goto out;
	tj = json_dumps(tags, JSON_COMPACT);
	if (tj == NULL)
		goto out;
	st = store_prep(s, "SELECT id FROM targets WHERE spec = ?1 AND client = ?2");
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, r->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->client, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		found = 1;
	}
	store_done(s, st);
	if (found) {
		st = store_prep(s, "UPDATE targets SET tags = ?1 WHERE id = ?2");
		if (st == NULL)
			goto out;
		sqlite3_bind_text(st, 1, tj, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
	} else {
		st = store_prep(s, "INSERT INTO targets (spec, client, tags) VALUES (?1, ?2, ?3)");
		if (st == NULL)
			goto out;
		sqlite3_bind_text(st, 1, r->target, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->client, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, tj, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_db_fail(s, "target");
		store_done(s, st);
		goto out;
	}
	store_done(s, st);
	if (!found)
		id = sqlite3_last_insert_rowid(s->db);
	st = store_prep(s, "DELETE FROM target_tags WHERE target_id = ?1");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_db_fail(s, "tags");
		store_done(s, st);
		goto out;
	}
	store_done(s, st);
	for (size_t i = 0; i < r->ntags; i++) {
		st = store_prep(
		    s, "INSERT OR IGNORE INTO target_tags (target_id, tag) VALUES (?1, ?2)");
		if (st == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, r->tags[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			store_db_fail(s, "tag");
			store_done(s, st);
			goto out;
		}
		store_done(s, st);
	}
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

json_t *store_inv_list(struct store *s, const char *client, const char *tag)
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT t.client, t.spec, t.tags FROM targets t"
	                  " WHERE (?1 IS NULL OR t.client = ?1) AND (?2 IS NULL OR EXISTS"
	                  " (SELECT 1 FROM target_tags g WHERE g.target_id = t.id AND g.tag = ?2))"
	                  " ORDER BY t.client, t.spec");
	json_t *arr;
	int rc;

	if (st == NULL)
		return NULL;
	arr = json_array();
	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *tags = json_loads(store_col(st, 2), 0, NULL);

		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "client", store_col(st, 0),
		                                     "target", store_col(st, 1), "tags",
		                                     tags ? tags : json_array()));
	}
	if (rc != SQLITE_DONE) {
		store_db_fail(s, "targets");
		json_decref(arr);
		arr = NULL;
	}
	store_done(s, st);
	return arr;
}

long store_inv_remove(struct store *s, const char *client, const char *target)
{
	sqlite3_stmt *st =
	    store_prep(s, "DELETE FROM targets WHERE spec = ?1 AND (?2 IS NULL OR client = ?2)");
	long n;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, client, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		store_done(s, st);
		return store_db_fail(s, "remove");
	}
	n = sqlite3_changes(s->db);
	store_done(s, st);
	return n;
}

long store_inv_select(struct store *s, const char *selector, const char *value, store_name_cb cb,
                      void *arg)
{
	sqlite3_stmt *st =
	    store_prep(s, "SELECT DISTINCT t.spec FROM targets t WHERE ?1 = 'all'"
	                  " OR (?1 = 'client' AND t.client = ?2) OR (?1 = 'tag' AND EXISTS"
	                  " (SELECT 1 FROM target_tags g WHERE g.target_id = t.id AND g.tag = ?2))"
	                  " ORDER BY t.spec");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, selector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value ? value : "", -1, SQLITE_STATIC);
	return store_names(s, st, cb, arg, "select");
}
