/* store_exclude.h - the controller's do-not-test list (issue 13): entries
 * (an address, a CIDR block or a domain, checked by exclude_add's own rule),
 * each with a reason, who asked for it and when, kept in the exclusions
 * table. Plain structs and callbacks, no SQLite or JSON types. The reason
 * is at most RP_EXCLUDE_REASON_MAX bytes, who asked STORE_EXCLUDE_BY_MAX. */
#ifndef RP_STORE_EXCLUDE_H
#define RP_STORE_EXCLUDE_H

#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"
#include "store.h"

struct exclude_list;

/* An entry as stored: at most STORE_EXCLUDE_ENTRY_MAX bytes. */
#define STORE_EXCLUDE_ENTRY_MAX RP_DOMAIN_MAX
#define STORE_EXCLUDE_BY_MAX    RP_EXCLUDE_BY_MAX

/* One row passed to a store_exclude_cb: strings borrowed for the call. */
struct store_exclude_row {
	const char *entry;
	const char *reason;       /* "" for none */
	const char *requested_by; /* "" for none */
	int64_t added_at;         /* s */
};
/* Non-zero stops the walk. */
typedef int (*store_exclude_cb)(void *arg, const struct store_exclude_row *row);

/* Checks an entry, a reason (NULL: "") and who asked (NULL: "") as the store
 * would take them: 0, or -1 with err naming what is wrong (the entry quoted). */
int store_exclude_check(const char *entry, const char *reason, const char *by, char *err,
                        size_t errlen);

/* Adds entry (store_exclude_check first; its error in store_errmsg()); an
 * entry already listed keeps its added_at and takes the new reason and who
 * asked. 1 added / 0 updated / -1. */
int store_exclude_add(struct store *s, const char *entry, const char *reason, const char *by,
                      int64_t now);

/* 1 removed / 0 not listed / -1. */
int store_exclude_remove(struct store *s, const char *entry);

/* The entries, in the order of their text, each passed to cb. Rows passed,
 * or -1. */
long store_exclude_list(struct store *s, store_exclude_cb cb, void *arg);

/* Adds every stored entry to l (its where: who asked, else "controller").
 * Entries added, or -1 (store_errmsg() says why). */
long store_exclude_load(struct store *s, struct exclude_list *l);

#endif
