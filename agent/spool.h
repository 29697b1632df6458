/* spool.h - the agent's durable result spool: one file per result in
 * DIR/ready/<key>.res, written to DIR/tmp/ first, fsync'ed, renamed, and the
 * directory fsync'ed, so a result is on disk before it is sent and is removed
 * only when the controller acknowledges it. Keys are [A-Za-z0-9._-]{1,128};
 * items are capped at RP_SPOOL_ITEM_MAX bytes and RP_SPOOL_ITEMS_MAX files. */
#ifndef RP_SPOOL_H
#define RP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* Opens (creating, mode 0700, if missing) the spool directory dir and its
 * tmp/ and ready/ subdirectories. Refuses a directory that is not owned by
 * the effective user or is writable by group or others, and a symlink.
 * Leftover tmp/ files from a crash are deleted (see spool_recovered()).
 * Returns NULL on failure with the reason in err (errlen bytes, may be 0). */
struct spool *spool_open(const char *dir, char *err, size_t errlen);

/* Closes the spool and NULLs *sp; accepts NULL and *sp == NULL. */
void spool_close(struct spool **sp);

/* rp_id_ok(RP_ID_SPOOL, key) (common/syntax.h): 1..RP_SPOOL_KEY_MAX bytes
 * of [A-Za-z0-9._-], not "." or "..". */
int spool_key_valid(const char *key);

/* Stores len bytes under key, durably: write tmp, fsync, rename to ready/,
 * fsync ready/. An existing item with the same key is replaced atomically.
 * Returns 0, or -1 with errno: EINVAL (bad key), EFBIG (len over
 * RP_SPOOL_ITEM_MAX), ENOSPC (RP_SPOOL_ITEMS_MAX items already), or the
 * errno of the failed system call. On failure nothing is left in tmp/. */
int spool_put(struct spool *sp, const char *key, const void *bytes, size_t len);

/* A batch for spool_put_many: at most SPOOL_BATCH_MAX items. */
#define SPOOL_BATCH_MAX 64
struct spool_item {
	const char *key;
	const void *bytes;
	size_t len;
};

/* Stores n items with the guarantee of n spool_put calls but one flush:
 * each written to tmp/, then one syncfs(2) of the spool's file system,
 * the renames into ready/ and one fsync of ready/, instead of two fsyncs
 * an item (the agent's cost per result). 0 when all are stored; -1 with
 * errno as spool_put (EINVAL also for n > SPOOL_BATCH_MAX): the items
 * renamed before the failure are stored, the rest are not, nothing is
 * left in tmp/. */
int spool_put_many(struct spool *sp, const struct spool_item *items, size_t n);

/* Reads the item under key into a malloc'ed buffer the caller frees
 * (*out is non-NULL even for an empty item). Returns 0, or -1 with errno
 * (ENOENT when there is no such item, EFBIG when the file on disk is over
 * the cap, EINVAL for a bad key). */
int spool_get(struct spool *sp, const char *key, uint8_t **out, size_t *len);

/* Removes the item (unlink, fsync ready/). Returns 0, or -1 with errno
 * (ENOENT when it was not there). */
int spool_remove(struct spool *sp, const char *key);

/* Called once per item; bytes are borrowed for the call only. Return 0 to
 * go on, anything else to stop the listing. */
typedef int (*spool_cb)(void *arg, const char *key, const uint8_t *bytes, size_t len);

/* Calls cb for every ready item, oldest first: by modification time, then by
 * key for items with the same time. Files that are not regular, have a bad
 * name or are over the cap are skipped (and counted in spool_skipped()).
 * Returns the number of items passed to cb, or -1 on error. */
long spool_list(struct spool *sp, spool_cb cb, void *arg);

/* Items in ready/ (kept up to date by put/remove, counted at open). */
size_t spool_count(const struct spool *sp);
/* Leftover tmp/ files deleted by spool_open(). */
size_t spool_recovered(const struct spool *sp);
/* Files skipped by the last spool_list(). */
size_t spool_skipped(const struct spool *sp);

#endif
