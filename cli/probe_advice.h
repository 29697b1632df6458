/* probe_advice.h - `relayprobe probe`: which software answered (common/
 * fingerprint.c) and what to change (common/advice.c) for each finding of a
 * result, as text lines under the verdict (--explain: the full text and the
 * evidence) and as the optional "fingerprint" and "advice" members of the
 * --json result (wire/result_schema.h). Reads the result; owns nothing. */
#ifndef RP_PROBE_ADVICE_H
#define RP_PROBE_ADVICE_H

#include <stdbool.h>
#include <stdio.h>

#include "engine.h"

/* One line per finding, "    software: Postfix (high) - fix: ..."; with
 * explain, the advice's text and the fingerprint's evidence under it.
 * Nothing for a result without a dialog or a finding. */
void probe_advice_text(const struct probe_result *r, bool explain, FILE *out);

/* The result's JSON Lines line (result_write_json) with "fingerprint" and
 * "advice" added when a dialog ran. Returns 0, or -1 on OOM or a write error. */
int probe_advice_write_json(const struct probe_result *r, FILE *out);

#endif
