/* store_inventory.h - the targets inventory on the store
 * (store_inventory.c): clients, targets and tags. Text fields are capped by
 * RP_INV_TEXT_MAX, tags per target by RP_INV_TAGS_MAX (rp_limits.h). */
#ifndef RP_STORE_INVENTORY_H
#define RP_STORE_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Targets inventory: (spec, client) is unique; an existing pair returns its
 * id and updates tags. client and tags may be NULL. */
int store_target_add(struct store *s, const char *spec, const char *client, const char *tags,
                     int64_t *id);

/* The inventory client of a target spec (the smallest name when several
 * clients list it) copied into out. 1 found, 0 not in the inventory, -1. */
int store_target_client(struct store *s, const char *spec, char *out, size_t outlen);

/* One inventory row. target is the audit's target text (CLI canonical form:
 * "host", "host:port", "[v6]:port"); port is informational (0 = default). */
struct inv_row {
	const char *client;
	const char *target;
	unsigned port;
	const char *const *tags;
	size_t ntags;
};

/* Adds or updates (same client and target) every row in one transaction:
 * all or nothing. *added / *updated count them. 0, or -1 (nothing changed). */
int store_inv_import(struct store *s, const struct inv_row *rows, size_t n, long *added,
                     long *updated);
/* One inventory target as listed. Strings borrowed for the call. */
struct store_inv_item {
	const char *client;
	const char *target;
	const char *tags; /* JSON array text of its tags, as stored */
};
typedef int (*store_inv_cb)(void *arg, const struct store_inv_item *item);
/* The inventory sorted by client then target, filtered by client and tag
 * when not NULL, each passed to cb (non-zero stops). Rows passed, or -1. */
long store_inv_list(struct store *s, const char *client, const char *tag, store_inv_cb cb,
                    void *arg);
/* Removes target (of client, or of every client when client is NULL).
 * Count removed, or -1. */
long store_inv_remove(struct store *s, const char *client, const char *target);
/* Distinct target texts selected by "all", "client" (value) or "tag"
 * (value), sorted, each passed to cb. The count passed, or -1. */
long store_inv_select(struct store *s, const char *selector, const char *value, store_name_cb cb,
                      void *arg);

#endif
