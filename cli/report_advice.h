/* report_advice.h - the software and the advice of a report's targets
 * (report_advice.c), as the controller gives them (ctl_advice.c: per target
 * "software" and "advice", the full texts once in "advice_texts"), for the
 * text, CSV and HTML renderers. A report of an older controller has none:
 * nothing is written. */
#ifndef RP_CLI_REPORT_ADVICE_H
#define RP_CLI_REPORT_ADVICE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* "Postfix (high)", "unknown", or "" when the target has no software. */
void report_software_text(const json_t *target, char *buf, size_t len);
/* The target's advice summaries as "finding: summary" joined by " | ". */
void report_advice_join(const json_t *target, char *buf, size_t len);

/* How a renderer writes a string from the controller: report_put_clean()
 * for a terminal, report_html_escape() for a page (passed in, so that this
 * module includes neither renderer). */
typedef void (*report_put_fn)(const char *s, FILE *out);

/* Text: "Software and fixes:" then per target with software known or advice
 * "  TARGET: Postfix (high)" and one "    fix (finding): summary" line each.
 * Every string through put. */
void report_advice_text(const json_t *report, report_put_fn put, FILE *out);

/* HTML: a "What to fix" section, per target with advice its software and
 * one <details> per finding (summary, then the full text in <pre>); every
 * string through put (the HTML escape). Nothing without advice. */
void report_advice_html(const json_t *report, report_put_fn put, FILE *out);

#endif
