/* view.h - what audit, report and transcript (cmd_audit.c, cmd_report.c,
 * cmd_transcript.c) share: the report formats and view options, an AUDIT
 * argument as a request id, the transcript pages and the report fetch that
 * `audit --wait` ends with. */
#ifndef RP_CLI_VIEW_H
#define RP_CLI_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "admin.h"

#define REPORT_EXIT_HELP                                                                           \
	"Exit status: 0 no open relay in the report, 1 at least one target open,\n"                \
	"2 usage error or the controller refused the request, 3 nothing open but\n"                \
	"some target inconclusive (or no target has a verdict yet), or the\n"                      \
	"controller could not be reached.\n"

/* relayprobe report --format (--json is FMT_JSON). */
enum report_format { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_HTML };

struct view_opts {
	bool latest;
	enum report_format format;
	const char *output; /* NULL: standard output */
};

/* Parses report/transcript options (view NULL: transcript, without
 * --latest/--format/--output); 0, 1 after --help, -1 on a usage error. */
int view_parse_options(int argc, char **argv, const char *prog, struct admin_cfg *cfg, bool *json,
                       struct view_opts *view, void (*help)(FILE *));
/* "AUDIT" as the request's id: a JSON integer when all digits, else a
 * string of id characters; "latest" stays a string. NULL when bad (said). */
json_t *audit_id(const char *prog, const char *s);
/* The integer at key of a reply, dflt when absent or not an integer. */
json_int_t reply_int(const json_t *r, const char *key, json_int_t dflt);
/* Calls page(arg, reply, more) for each page of the `transcript` request
 * req (its "after" is set here), while the controller says there is more.
 * CLI_EXIT_OK, admin_call()'s status for a failed call, CLI_EXIT_UNREACHABLE
 * when page() fails or the controller does not move forward. */
int transcript_pages(struct admin *a, json_t *req,
                     int (*page)(void *arg, const struct admin_answer *r, bool more), void *arg);
/* Fetches the report of audit id and prints it in format f to output (NULL:
 * standard output); the report's exit status (cmd_report.c). */
int fetch_report(struct admin *a, json_t *id, enum report_format f, const char *output);

#endif
