/* retention.h - transcript retention: results older than the configured
 * transcript_retention_days lose $.transcript (verdicts, per-test outcomes
 * and history stay). A pass runs every RETENTION_EVERY seconds from the
 * controller's loop, RETENTION_BATCH results a second, so it never
 * holds the store for long; the admin command retention.run does a whole
 * pass at once. */
#ifndef RP_RETENTION_H
#define RP_RETENTION_H

#include <jansson.h>
#include <stdint.h>

#include "ctl_config.h"
#include "store.h"

#define RETENTION_BATCH 200
#define RETENTION_EVERY 3600

struct retention;

/* NULL when out of memory. s and cfg must outlive it. */
struct retention *retention_new(struct store *s, const struct ctl_config *cfg);
void retention_free(struct retention **rp);
/* Called on every loop turn (now in seconds): once a second, one batch of
 * the pass in progress, or starts a pass when one is due (the first right
 * away). Errors are logged. */
void retention_tick(struct retention *r, int64_t now);
/* A whole pass over results received before cutoff, in batches of batch:
 * how many transcripts were removed, -1 on error. */
long retention_pass(struct store *s, int64_t cutoff, int batch);
/* The reply to retention.run ({ok, stripped} or {ok, stripped: 0, forever}
 * when retention is off), or NULL when cmd is not it. */
json_t *retention_admin(struct store *s, const struct ctl_config *cfg, const char *cmd, json_t *req,
                        int64_t now);

#endif
