/* ctl_glance.h - history at a glance for the report (ctl_glance.c): per
 * client the open / closed / inconclusive counts of its last
 * RP_GLANCE_AUDITS recorded audits, per target its verdict in each of them
 * (docs/distributed.md, "report"). */
#ifndef RP_CTL_GLANCE_H
#define RP_CTL_GLANCE_H

#include <jansson.h>
#include <stdint.h>

#include "store.h"

#define RP_GLANCE_AUDITS 30

/* Sets each target's "history" ([verdict or null per audit of its client])
 * and returns {client: {"audits":[ids, oldest first], "open":[n...],
 * "closed":[...], "inconclusive":[...]}} for audits up to audit; NULL on a
 * store error or OOM. */
json_t *ctl_glance(struct store *s, int64_t audit, json_t *targets);

#endif
