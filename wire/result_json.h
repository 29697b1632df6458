/* result_json.h - one probe result (one dialog, or a target that could not be
 * resolved) as a JSON object: the result document of wire/result_schema.h
 * (what agents sign and the controller stores, and what `relayprobe probe
 * --json` prints), documented in docs/json-output.md. Reads the dialog; owns
 * nothing. */
#ifndef RP_RESULT_JSON_H
#define RP_RESULT_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"

/* New reference, or NULL on OOM. with_transcript adds "transcript" (the
 * dialog's transcript_to_json(), or null when no dialog ran). */
json_t *result_to_json(const struct probe_result *r, bool with_transcript);

/* The same object written to out as one JSON Lines line (ending in '\n'),
 * equal to result_to_json() as JSON (member order may differ) but without
 * building the tests and transcript as trees: the hot path of --json.
 * Returns 0, or -1 on OOM or a write error. */
int result_write_json(const struct probe_result *r, bool with_transcript, FILE *out);

/* ms since the Unix epoch as "2024-05-01T12:00:00.123Z" (UTC). buf >= 25. */
void result_iso8601(uint64_t ms, char *buf, size_t buflen);

#endif
