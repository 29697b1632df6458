/* ctl_advice.h - the software and the advice in a report (ctl_advice.c):
 * per target the software the controller read from its results' signed
 * transcripts at ingest (the most confident one across vantages and
 * addresses) and, for each finding that needs a fix, the built-in advice's
 * summary; the full texts once per report (docs/fingerprint.md). */
#ifndef RP_CTL_ADVICE_H
#define RP_CTL_ADVICE_H

#include <jansson.h>
#include <stdint.h>

#include "aggregate.h"
#include "store.h"

/* target -> {"name","label","confidence"} for the audit's results; NULL on
 * a store error or OOM (the reason in store_errmsg, or none). */
json_t *ctl_advice_software(struct store *s, int64_t audit);

/* The query and its answer for one target: agg its verdict across vantages,
 * accepted its agent -> [accepted test ids] (NULL: none), software the map
 * above (a target missing from it is unknown). Sets the target object's
 * "software" ({"name","label","confidence"}) and "advice" ([{"finding",
 * "software","summary","key"}], empty when nothing needs a fix) members and
 * adds each entry's full text to texts under its key ("postfix/open-relay":
 * {"summary","text"}). 0, or -1 on OOM. */
int ctl_advice_target(json_t *target, const struct agg_result *agg, size_t ncells,
                      const json_t *accepted, const json_t *software, json_t *texts);

/* A change event ({"audit","target","to",...}) gets the software read from
 * that audit's results of its target and "advice": [{"finding","software",
 * "summary","key"}] for its new verdict (the accepted forms from the stored
 * tests; DISAGREE is not told: an event has no vantages). 0, or -1 on a
 * store error or OOM. */
int ctl_advice_event(struct store *s, json_t *event);

/* The software object of a name (fp_software_name()) and confidence name,
 * for events: {"name","label","confidence"}; unknown when name is NULL or not
 * a product. New reference or NULL. */
json_t *ctl_advice_software_json(const char *name, const char *confidence);

#endif
