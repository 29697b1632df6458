/* report_html.h - the audit report (admin `report` reply, docs/distributed.md)
 * as CSV (RFC 4180, one row per target x vantage) and as one self-contained
 * HTML page (inline CSS/JS, no external resource): summary, coloured matrix,
 * accepted tests, and each cell's transcript (admin `transcript` replies)
 * hidden until clicked. Every string from the controller is escaped. */
#ifndef RP_CLI_REPORT_HTML_H
#define RP_CLI_REPORT_HTML_H

#include <jansson.h>
#include <stdio.h>
#include <time.h>

/* Writes s HTML-escaped (&<>"' as entities; control and non-ASCII bytes as
 * '?'); NULL writes "-". */
void report_html_escape(const char *s, FILE *out);

/* The id of the transcript of target index ti from vantage index vi in a
 * report with nv vantages: the page's element is "t-N" (report.html#t-N
 * opens it). */
long report_html_cell_id(size_t ti, size_t vi, size_t nv);

/* Header target,vantage,verdict,aggregated_verdict,disagree,inconclusive,
 * accepted_tests then one row per target x vantage (accepted ids joined by
 * ';'). Cells are cleaned (control bytes as '?') and a cell starting with
 * = + - @ gets a leading ' (spreadsheet formulas). Returns the number of rows
 * written, or -1 when the report lacks the vantages or targets array. */
long report_render_csv(const json_t *report, FILE *out);

/* The HTML page. transcripts may be NULL, else an array (one per target, in
 * report order) of arrays (one per vantage) of `transcript` replies or null.
 * now is the generation time shown in the summary. Returns 0, or -1 when the
 * report lacks the vantages or targets array or on a write error. */
int report_render_html(const json_t *report, const json_t *transcripts, time_t now, FILE *out);

#endif
