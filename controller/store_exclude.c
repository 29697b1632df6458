/* store_exclude.c - the exclusions table in SQLite (see store_exclude.h).
 * Every entry is checked with common/exclude's own rule before it is
 * written, so what the loader reads back is always a valid list; reasons
 * and who asked are bounded free text. */
#include "store_exclude.h"

#include <stdio.h>
#include <string.h>

#include "exclude.h"
#include "store_internal.h"
#include "syntax.h"

int store_exclude_check(const char *entry, const char *reason, const char *by, char *err,
                        size_t errlen)
{
	struct exclude_list *l = NULL;
	char why[256];
	int rc = -1;

	if (entry == NULL ||
	    strnlen(entry, STORE_EXCLUDE_ENTRY_MAX + 1) > STORE_EXCLUDE_ENTRY_MAX) {
		snprintf(err, errlen, "entry: 1 to %d bytes", STORE_EXCLUDE_ENTRY_MAX);
		return -1;
	}
	if (by != NULL && !rp_text_ok(by, STORE_EXCLUDE_BY_MAX, RP_TEXT_EMPTY | RP_TEXT_UTF8)) {
		snprintf(err, errlen, "by: at most %d bytes of text without control characters",
		         STORE_EXCLUDE_BY_MAX);
		return -1;
	}
	l = exclude_new();
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (exclude_add(l, entry, reason, NULL, why, sizeof(why)) < 0)
		snprintf(err, errlen, "entry \"%.64s\": %s", entry, why);
	else
		rc = 0;
	exclude_free(&l);
	return rc;
}

int store_exclude_add(struct store *s, const char *entry, const char *reason, const char *by,
                      int64_t now)
{
	char err[384];
	int rc;

	if (store_exclude_check(entry, reason, by, err, sizeof(err)) < 0) {
		store_fail(s, "%s", err);
		return -1;
	}
	rc = store_first(s, "SELECT 1 FROM exclusions WHERE entry = ?1", STORE_ARGS(SA_TEXT(entry)),
	                 NULL, NULL, "exclusion lookup");
	if (rc < 0)
		return -1;
	if (store_run(s,
	              "INSERT INTO exclusions (entry, reason, requested_by, added_at)"
	              " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (entry) DO UPDATE"
	              " SET reason = excluded.reason, requested_by = excluded.requested_by",
	              STORE_ARGS(SA_TEXT(entry), SA_TEXT(reason != NULL ? reason : ""),
	                         SA_TEXT(by != NULL ? by : ""), SA_INT(now)),
	              "exclusion add") < 0)
		return -1;
	return rc == 0 ? 1 : 0;
}

int store_exclude_remove(struct store *s, const char *entry)
{
	long n = store_run(s, "DELETE FROM exclusions WHERE entry = ?1", STORE_ARGS(SA_TEXT(entry)),
	                   "exclusion remove");

	return n < 0 ? -1 : n > 0 ? 1 : 0;
}

struct walk {
	store_exclude_cb cb;
	void *arg;
};

static int list_row(void *arg, sqlite3_stmt *st)
{
	const struct walk *w = arg;
	const struct store_exclude_row r = {store_col(st, 0), store_col(st, 1), store_col(st, 2),
	                                    sqlite3_column_int64(st, 3)};

	return w->cb(w->arg, &r);
}

long store_exclude_list(struct store *s, store_exclude_cb cb, void *arg)
{
	struct walk w = {.cb = cb, .arg = arg};

	return store_each(
	    s, "SELECT entry, reason, requested_by, added_at FROM exclusions ORDER BY entry",
	    STORE_NOARGS, list_row, &w, "exclusion list");
}

struct load {
	struct store *s;
	struct exclude_list *l;
	int failed;
};

static int load_row(void *arg, const struct store_exclude_row *r)
{
	struct load *ld = arg;
	char why[256];

	if (exclude_add(ld->l, r->entry, r->reason,
	                r->requested_by[0] != '\0' ? r->requested_by : "controller", why,
	                sizeof(why)) < 0) {
		store_fail(ld->s, "exclusion \"%.64s\": %s", r->entry, why);
		ld->failed = 1;
		return 1;
	}
	return 0;
}

long store_exclude_load(struct store *s, struct exclude_list *l)
{
	struct load ld = {s, l, 0};
	long n = store_exclude_list(s, load_row, &ld);

	return ld.failed ? -1 : n;
}
