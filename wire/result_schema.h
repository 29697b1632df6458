/* result_schema.h - the result document: one dialog's (or one unresolved
 * target's) result as JSON, docs/json-output.md. It is what an agent signs
 * (Result.result_json), what the controller stores and reads back (the
 * store's SQL reads the fields named here), and what `relayprobe probe
 * --json` prints: one schema, written by wire/result_json.c alone.
 *
 * Versioned by its "schema" member. Adding a member keeps the version;
 * removing or renaming one, or changing what a member means, is a new
 * version, and the controller stores only the versions it knows
 * (controller/results.c). A document without "schema" is version 1 (agents
 * before the member). */
#ifndef RP_RESULT_SCHEMA_H
#define RP_RESULT_SCHEMA_H

#define RP_RESULT_SCHEMA     1 /* the version this code writes */
#define RP_RESULT_SCHEMA_MIN 1 /* the oldest the controller stores */

/* Members that other code reads by name: the controller's checks and the
 * store's SQL (as JSON paths: "'$." RP_RES_TESTS "'"). */
#define RP_RES_SCHEMA     "schema"
#define RP_RES_TARGET     "target"
#define RP_RES_VERDICT    "verdict"
#define RP_RES_TESTS      "tests"      /* array of test objects */
#define RP_RES_TEST_ID    "id"         /* a test's catalogue id */
#define RP_RES_OUTCOME    "outcome"    /* a test's outcome */
#define RP_RES_DATA       "data"       /* a test's message went out */
#define RP_RES_EVIDENCE   "evidence"   /* a test's deciding transcript index */
#define RP_RES_TRANSCRIPT "transcript" /* array of lines, or null */
#define RP_RES_LINE_TIME  "t"          /* a transcript line's ms */

/* Optional members of `relayprobe probe --json` (cli/probe_advice.c),
 * added in schema 1 without a new version: additive, and a reader that
 * does not know them loses nothing it had. Agents do not send them yet. */
#define RP_RES_FINGERPRINT   "fingerprint" /* {software, confidence, score, note, evidence} */
#define RP_RES_FP_SOFTWARE   "software"    /* "postfix", ... "unknown" (common/fingerprint.h) */
#define RP_RES_FP_CONFIDENCE "confidence"  /* none, low, medium, high */
#define RP_RES_FP_EVIDENCE   "evidence"    /* array of {i, text, why} */
#define RP_RES_ADVICE        "advice"      /* array of advice entries */
#define RP_RES_ADV_FINDING   "finding"     /* open-relay, address-form, ... */
#define RP_RES_ADV_SUMMARY   "summary"     /* one line */
#define RP_RES_ADV_TEXT      "text"        /* full text, lines joined by \n */

/* A JSON path literal for SQL: RP_RES_PATH(RP_RES_TESTS) is "'$.tests'". */
#define RP_RES_PATH(member) "'$." member "'"

#endif
