/* report_html.h - the audit report (admin `report` reply, docs/distributed.md)
 * as CSV (RFC 4180, one row per target x vantage) and as one self-contained
 * HTML page (inline CSS/JS, no external resource): summary, coloured matrix,
 * accepted tests, per-client sections, and each cell's transcript hidden
 * until clicked, written as the transcripts arrive (streamed). Every string
 * from the controller is escaped. */
#ifndef RP_CLI_REPORT_HTML_H
#define RP_CLI_REPORT_HTML_H

#include <jansson.h>
#include <stdbool.h>
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

/* The HTML page, written as it goes so that memory stays bounded by the
 * report plus one batch of transcripts, whatever the audit's size:
 *   h = report_html_new(report, true, now, out);   head, summary, matrices
 *   report_html_cell(h, ...) for each transcript as it arrives;
 *   report_html_end(h);                            the page's foot
 *   report_html_free(&h);
 * The page: the summary boxes (with the report's "summary": open, new since
 * last audit (audit M), closed, inconclusive, other, disagree), then one
 * matrix (table#matrix) or, when any target has a client, an index of
 * clients and one section.client#c-N per client with its own table.matrix;
 * NEW badges on targets whose "new" is true. With transcripts, a cell whose
 * target's "cells" object has that vantage links "#t-N"
 * (report_html_cell_id(), from the report's indexes alone, so the link holds
 * whatever order the transcripts come in), and the "Transcripts" heading
 * follows the matrices. Transcripts are kept for the first
 * RP_ADMIN_TARGETS_MAX targets only. */
struct report_html;

/* Writes the page up to the transcripts. report is borrowed and must
 * outlive the writer; out too. NULL when the report lacks the vantages or
 * targets array, on allocation failure or on a write error. */
struct report_html *report_html_new(const json_t *report, bool transcripts, time_t now, FILE *out);

/* Writes the transcript of target index ti from vantage index vi as a
 * hidden <details id="t-N">: results is the cell's array of result objects
 * (or of their JSON text); anything else shows "(no result from this
 * vantage)". Returns 1 when written, 0 when ignored (transcripts off, cell
 * outside the report, or already written: a cell is written once), -1 on a
 * write error. */
int report_html_cell_at(struct report_html *h, size_t ti, size_t vi, const json_t *results);

/* The same by names: the first target of the report named target, the
 * first vantage named vantage; 0 when either is not in the report. */
int report_html_cell(struct report_html *h, const char *target, const char *vantage,
                     const json_t *results);

/* A cell in parts, for a cell the controller sends over several pages:
 * results are appended to (ti, vi)'s element, which stays open while more
 * is true (another cell's part, or report_html_end(), closes it). Returns
 * as report_html_cell_at(); 0 for a cell already closed. */
int report_html_cell_part_at(struct report_html *h, size_t ti, size_t vi, const json_t *results,
                             bool more);
int report_html_cell_part(struct report_html *h, const char *target, const char *vantage,
                          const json_t *results, bool more);

/* true when the transcript of (ti, vi) has been written. */
bool report_html_cell_done(const struct report_html *h, size_t ti, size_t vi);

/* Ends the page: a linked cell whose transcript never came still gets its
 * element ("no transcript from the controller"), so no link dangles; then
 * the script. 0, or -1 on a write error (now or earlier). */
int report_html_end(struct report_html *h);

void report_html_free(struct report_html **h);

/* The whole page at once (tests, small reports): transcripts may be NULL
 * (no transcripts, no links), else an array (one per target, in report
 * order) of arrays (one per vantage) of `transcript` replies
 * ({"results":[...]}) or null (the controller had none). Returns 0, or -1
 * when the report lacks the vantages or targets array, on allocation
 * failure or on a write error. */
int report_render_html(const json_t *report, const json_t *transcripts, time_t now, FILE *out);

#endif
