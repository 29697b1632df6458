/* report_glance.h - history at a glance in the HTML report
 * (report_glance.c): inline SVG, no script, no style element, no external
 * reference (the page's CSP allows neither): per client a bar chart of the
 * open / closed / inconclusive counts of its last audits, per target a strip
 * of its verdicts in them, the audit id on hover (<title>). From the
 * report's "glance" and each target's "history" (ctl_glance.c); nothing
 * when an older controller gave none. */
#ifndef RP_CLI_REPORT_GLANCE_H
#define RP_CLI_REPORT_GLANCE_H

#include <jansson.h>
#include <stdio.h>

#include "report_advice.h"

/* The chart of client ("" for none) as one <svg class="glance">. */
void report_glance_client(const json_t *report, const char *client, report_put_fn put, FILE *out);
/* The target's strip as one <svg class="strip">. */
void report_glance_target(const json_t *report, const json_t *target, report_put_fn put, FILE *out);

#endif
