/* view.c - the options of report and transcript, an AUDIT argument as a
 * request id, and the paging of transcript requests (view.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "clock.h"
#include "commands.h"
#include "dialog.h"
#include "keys.h"
#include "relay_tests.h"
#include "report_html.h"
#include "report_render.h"
#include "rp_limits.h"
#include "syntax.h"
#include "target.h"
#include "targets_file.h"
#include "view.h"

enum { OPT_JSON = 256, OPT_LATEST, OPT_FORMAT, OPT_OUTPUT };

static const struct option report_options[] = {
    {"latest", no_argument, NULL, OPT_LATEST},
    {"json", no_argument, NULL, OPT_JSON},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    CLI_HELP_OPTION,
    ADMIN_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* ---- option checks ------------------------------------------------------ */

/* "AUDIT" as the request's id: a JSON integer when all digits, else a
 * string of id characters; "latest" stays a string. NULL when bad. */
json_t *audit_id(const char *prog, const char *s)
{
	size_t n = strlen(s);
	char *end = NULL;
	long long v;

	if (n > 0 && n <= 18 && strspn(s, "0123456789") == n) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer((json_int_t)v);
	}
	if (!rp_id_ok(RP_ID_AUDIT, s)) {
		fprintf(stderr, "%s: \"", prog);
		report_put_clean(s, stderr);
		fputs("\" is not an audit id\n", stderr);
		return NULL;
	}
	return json_string(s);
}

/* ---- transcript pages --------------------------------------------------- */

/* A transcripts reply may end inside a cell (docs/distributed.md, "Paging"):
 * "more" says a page follows, "next_after" (and "next_offset" for the bulk
 * command) where it starts. A controller that does not move forward is not
 * followed (an older one sends neither field: one page). */
json_int_t reply_int(const json_t *r, const char *key, json_int_t dflt)
{
	const json_t *v = json_object_get(r, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Calls page(arg, reply, more) for each page of the `transcript` request
 * req (its "after" is set here), while the controller says there is more.
 * CLI_EXIT_OK, admin_call()'s status for a failed call, CLI_EXIT_UNREACHABLE
 * when page() fails or the controller does not move forward. */
int transcript_pages(struct admin *a, json_t *req,
                     int (*page)(void *arg, const struct admin_answer *r, bool more), void *arg)
{
	json_int_t after = 0;
	bool more = true;

	while (more) {
		struct admin_answer r = {0};
		json_int_t next;
		int rc;

		/* the first request as before paging: without "after" */
		if (after > 0 && json_object_set_new(req, "after", json_integer(after)) < 0)
			return CLI_EXIT_UNREACHABLE;
		if ((rc = admin_call(a, req, &r)) != CLI_EXIT_OK)
			return rc;
		next = reply_int(r.json, "next_after", after);
		more = json_is_true(json_object_get(r.json, "more"));
		if (more && next <= after) {
			fputs("relayprobe: the controller's transcript pages do not move forward\n",
			      stderr);
			rc = CLI_EXIT_UNREACHABLE;
			more = false;
		}
		if (page(arg, &r, more) < 0)
			rc = CLI_EXIT_UNREACHABLE;
		admin_reply_clear(&r);
		if (rc != CLI_EXIT_OK)
			return rc;
		after = next;
	}
	return CLI_EXIT_OK;
}

/* ---- report and transcript ---------------------------------------------- */

/* Parses report/transcript options; 0, 1 after --help, -1 on a usage error. */
int view_parse_options(int argc, char **argv, const char *prog, struct admin_cfg *cfg, bool *json,
                       struct view_opts *view, void (*help)(FILE *))
{
	int c, rc, idx = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", report_options, &idx)) != -1) {
		switch (c) {
		case OPT_JSON:
			*json = true;
			break;
		case OPT_LATEST:
		case OPT_FORMAT:
		case OPT_OUTPUT:
			if (view == NULL) {
				cli_option_not_taken(prog, report_options[idx].name);
				return -1;
			}
			if (c == OPT_LATEST) {
				view->latest = true;
			} else if (c == OPT_OUTPUT) {
				view->output = optarg;
			} else if (strcmp(optarg, "text") == 0) {
				view->format = FMT_TEXT;
			} else if (strcmp(optarg, "json") == 0) {
				view->format = FMT_JSON;
			} else if (strcmp(optarg, "csv") == 0) {
				view->format = FMT_CSV;
			} else if (strcmp(optarg, "html") == 0) {
				view->format = FMT_HTML;
			} else {
				fprintf(stderr, "%s: --format must be text, json, csv or html\n",
				        prog);
				return -1;
			}
			break;
		default:
			rc = cli_option_rest(prog, c, argv, cfg);
			if (rc > 0)
				help(stdout);
			if (rc != 0)
				return rc;
		}
	}
	return admin_cfg_check(cfg, prog);
}
