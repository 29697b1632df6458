/* report_render.h - pure rendering of the controller's admin replies
 * (docs/distributed.md) as text: the audit matrix and its exit status, the
 * transcripts of results (swaks style, markers from transcript_marker()),
 * the agents table. No I/O but the FILE given; every string that came from
 * the controller is printed with control and non-ASCII bytes replaced. */
#ifndef RP_CLI_REPORT_RENDER_H
#define RP_CLI_REPORT_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses derived from a report (same meaning as `relayprobe probe`). */
enum report_exit {
	REPORT_EXIT_NONE_OPEN = 0,
	REPORT_EXIT_OPEN = 1,
	REPORT_EXIT_INCONCLUSIVE = 3,
};

/* Writes s with bytes below 0x20 and from 0x7f as '?'; NULL writes "-". */
void report_put_clean(const char *s, FILE *out);

/* An id that may be a JSON integer or string ("12"); "?" otherwise. */
void report_id_text(const json_t *v, char *buf, size_t len);

/* A report reply {"audit","vantages":[...],"targets":[...]} as a matrix:
 * TARGET, one column per vantage, VERDICT, FLAGS (DISAGREE, inconclusive,
 * partial), then the accepted test ids of every open cell and a summary line
 * (with the audit's status when it is not "done").
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

/* One agent object as "NAME (FINGERPRINT): STATUS". A pending agent without
 * a name is shown by its fingerprint (else its id), here and in the table. */
void report_agent_line(const json_t *agent, FILE *out);

#endif
