/* report_render.h - pure rendering of the controller's admin replies
 * (docs/distributed.md) as text: the audit matrix and its exit status, the
 * transcripts of results (swaks style, markers from transcript_marker()),
 * the agents, inventory, schedule, history, events and hooks tables. No
 * I/O but the FILE given; every string that came from the controller is
 * printed with control and non-ASCII bytes replaced. */
#ifndef RP_CLI_REPORT_RENDER_H
#define RP_CLI_REPORT_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses derived from a report (same meaning as `relayprobe probe`). */
enum report_exit {
	REPORT_EXIT_NONE_OPEN = 0,
	REPORT_EXIT_OPEN = 1,
	REPORT_EXIT_INCONCLUSIVE = 3,
};

/* Writes s with each byte that has an entry in entities (indexed by the
 * unsigned byte; entities may be NULL) as that text, the other bytes below
 * 0x20 and from 0x7f as '?'; NULL writes "-". */
#define REPORT_BYTE_COUNT 256
void report_put_escaped(const char *s, const char *const entities[REPORT_BYTE_COUNT], FILE *out);
/* Writes s with bytes below 0x20 and from 0x7f as '?'; NULL writes "-". */
void report_put_clean(const char *s, FILE *out);
/* The lines of a result's "transcript" array: seconds from the first entry,
 * the swaks-style marker and the text, each string through put
 * (report_put_clean for a terminal, report_html_escape for a page). */
void report_transcript_lines(const json_t *tr, void (*put)(const char *, FILE *), FILE *out);

/* An id that may be a JSON integer or string ("12"); "?" otherwise. */
void report_id_text(const json_t *v, char *buf, size_t len);

/* One target of a report, for rendering grouped by client. */
struct report_entry {
	size_t index;         /* in the report's "targets" array */
	const json_t *target; /* borrowed from the report */
	const char *client;   /* borrowed; "" when the target has no client */
};

/* The report's targets ordered by client ("" first), then report order:
 * a calloc'ed array of *n entries (free() it), NULL when the report has no
 * targets array or on allocation failure. */
struct report_entry *report_group_by_client(const json_t *report, size_t *n);

/* true when at least one target has a non-empty "client". */
bool report_has_clients(const json_t *report);

/* The audit's summary: the controller's "summary" numbers where present
 * (integers >= 0), else counted from the targets: open = open and
 * open-confirmed (new_open: those with "new" true), closed, inconclusive
 * (verdict "inconclusive"), other = the rest; changed is -1 unless the
 * controller gave it. previous_text is the "previous_audit" id ("" when
 * absent or null). */
struct report_summary {
	bool present; /* the report has a "summary" object */
	json_int_t targets, open, new_open, closed, inconclusive, other, disagree, changed;
	json_int_t previous_audit; /* > 0, or -1 */
	char previous_text[64];
};
void report_summary_counts(const json_t *report, struct report_summary *s);

/* A report reply {"audit","vantages":[...],"targets":[...]} as a matrix:
 * TARGET, one column per vantage, VERDICT, FLAGS (NEW, DISAGREE,
 * inconclusive, partial), then the accepted test ids of every open cell and a
 * summary line (with the audit's status when it is not "done"). When the
 * reply has a "summary" object, a summary block comes first (targets, open
 * with "N new since audit M", closed, inconclusive, other, disagree); when
 * any target has a client, the matrix is split under one heading per client
 * ("client acme: 3 targets", "no client: N targets").
 * Returns 0, or -1 when the reply lacks the vantages or targets array. */
int report_render_text(const json_t *report, FILE *out);

/* 1 when any target's aggregated verdict is open (open-confirmed, open,
 * accepted-not-delivered); else 3 when any is inconclusive (flag, unknown
 * verdict name, or an inconclusive verdict) or there are no targets; else 0. */
int report_exit_status(const json_t *report);

/* A transcript reply {"results":[result objects]}: per result a header line
 * (target, address:port, verdict, reason) and its transcript as
 * "%8.3f MARKER text" with times relative to the first entry. Returns the
 * number of results rendered, or -1 without a results array. */
long report_render_transcripts(const json_t *reply, FILE *out);

/* An agents.list reply as the table NAME FINGERPRINT STATUS CONNECTED
 * LAST-SEEN LABELS. Returns the number of agents, or -1 without an agents
 * array. */
long report_render_agents(const json_t *reply, FILE *out);

/* The inventory, schedule, history, events and hooks replies as the tables
 * of `relayprobe targets list`, `schedule list`, `history`, `events` and
 * `hooks`. Every string is made printable and cut at a cell's size; a time is
 * UTC ISO 8601 ("-" for none); a missing or mistyped list renders as empty
 * (the header alone; for hooks the "no hook has deliveries" line). Each
 * returns the number of rows. */
/* targets.list: CLIENT TARGET TAGS (tags joined by ';'). */
long report_render_targets(const json_t *reply, FILE *out);
/* exclude.list: ENTRY ADDED BY REASON. */
long report_render_exclusions(const json_t *reply, FILE *out);
/* schedule.list: NAME EVERY SELECT NEXT-RUN LAST-RUN AUDIT LAST-ERROR. */
long report_render_schedules(const json_t *reply, FILE *out);
/* history: AUDIT TIME VERDICT VANTAGES (vantage=verdict,...). */
long report_render_history(const json_t *reply, FILE *out);
/* events.list: "TIME TARGET client=C FROM -> TO audit=N" per event. */
long report_render_events(const json_t *reply, FILE *out);
/* hooks.status: "HOOK state=N ..." per hook. */
long report_render_hooks(const json_t *reply, FILE *out);

/* One agent object as "NAME (FINGERPRINT): STATUS". A pending agent without
 * a name is shown by its fingerprint (else its id), here and in the table. */
void report_agent_line(const json_t *agent, FILE *out);

#endif
