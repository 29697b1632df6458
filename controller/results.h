/* results.h - a Result from an agent (results.c): taken only when the agent
 * earned it: within its byte bucket, signed by its pinned key, for its own
 * order and a target that order named, with a verdict and result JSON that
 * read as the signed fields say, and within the order's quotas
 * (store_result_ingest). Stored results are acknowledged after the batch's
 * commit; refusals are logged and counted, never acknowledged. */
#ifndef RP_RESULTS_H
#define RP_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_internal.h"
#include "link.h"

void results_on_result(struct ctl *c, struct ctl_session *s, struct ctl_batch *b,
                       const uint8_t *msg, size_t len);

#endif
