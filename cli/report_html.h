/* report_html.h - the audit report (admin `report` reply, docs/distributed.md)
 * as CSV (RFC 4180, one row per target x vantage) and as one self-contained
 * HTML page (inline CSS/JS, no external resource): summary, coloured matrix,
 * accepted tests, per-client sections, and each cell's transcript hidden
 * until clicked. Every string from the controller is escaped. */
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

/* Header client,target,vantage,verdict,aggregated_verdict,disagree,
 * inconclusive,accepted_tests,previous,new then one row per target x vantage
 * in report order (accepted ids joined by ';'; client "" without one;
 * previous "" when null or absent; new true/false, "" when absent). Cells are
 * cleaned (control bytes as '?') and a cell starting with = + - @ gets a
 * leading ' (spreadsheet formulas). Returns the number of rows written, or -1
 * when the report lacks the vantages or targets array. */
long report_render_csv(const json_t *report, FILE *out);

/* The HTML page: the summary boxes (with the report's "summary": open, new
 * since last audit (audit M), closed, inconclusive, other, disagree), then
 * one matrix (table#matrix) or, when any target has a client, an index of
 * clients and one section.client#c-N per client with its own table.matrix;
 * NEW badges on targets whose "new" is true. transcripts may be NULL, else an
 * array (one per target, in report order) of arrays (one per vantage) of
 * `transcript` replies ({"results":[...]}) or null. now is the generation
 * time shown. Returns 0, or -1 when the report lacks the vantages or targets
 * array, on allocation failure or on a write error. */
int report_render_html(const json_t *report, const json_t *transcripts, time_t now, FILE *out);

#endif
