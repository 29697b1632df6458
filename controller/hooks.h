/* hooks.h - the controller's event hooks. Every new row of the events
 * table is queued for each configured hook (hook_webhook.c: HTTP POST via
 * libcurl's multi interface; hook_syslog.c; hook_mail.c: an SMTP client in
 * a forked child under alarm()), with per-hook state in the store
 * (store_hooks.h) and retries with exponential backoff (base, 2 x base,
 * ..., capped at HOOK_BACKOFF_MAX, at most HOOK_ATTEMPTS_MAX attempts).
 * Nothing here blocks the controller loop. Retention is retention.h. */
#ifndef RP_HOOKS_H
#define RP_HOOKS_H

#include <jansson.h>
#include <stdint.h>

#include "ctl_config.h"
#include "store.h"

#define HOOK_ATTEMPTS_MAX 10
#define HOOK_BACKOFF_MAX  3600
#define HOOK_TIMEOUT_S    10
#define HOOK_INFLIGHT_MAX 8

struct hooks;

/* NULL on failure (err says why). cfg and s must outlive the hooks. */
struct hooks *hooks_new(struct store *s, const struct ctl_config *cfg, char *err, size_t errlen);
void hooks_free(struct hooks **hp);
/* Called on every loop turn: queues new events, starts due deliveries,
 * collects finished ones. */
void hooks_tick(struct hooks *h, int64_t now);
/* The reply to hooks.status, or NULL when cmd is not it. */
json_t *hooks_admin(struct hooks *h, const char *cmd, json_t *req);

/* ---- exposed for tests ---- */

/* Seconds to wait after failed attempt number attempts (1-based):
 * base * 2^(attempts-1), at most HOOK_BACKOFF_MAX. */
int64_t hooks_backoff(uint32_t base, unsigned attempts);
/* The webhook's document for one event (hook_webhook.c): {event_id, time
 * (RFC 3339 UTC), target, client, from, to, audit}. NULL on error. */
json_t *hooks_event_doc(int64_t id, int64_t at, const char *target, const char *client,
                        const char *from, const char *to, int64_t audit);
/* Records the outcome of one attempt of hook for event: delivered (ok) or
 * failed with why (retried after hooks_backoff, given up after
 * HOOK_ATTEMPTS_MAX attempts: state 'failed'). 0 / -1. */
int hooks_mark(struct store *s, int64_t event, const char *hook, int ok, const char *why,
               uint32_t base, int64_t now);

#endif
