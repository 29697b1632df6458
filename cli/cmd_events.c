/* cmd_events.c - `relayprobe events`: verdict changes between consecutive
 * audits (events.list), rendered by report_render_events(). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "inv_common.h"
#include "report_render.h"

static void events_usage(FILE *out)
{
	fputs("usage: relayprobe events [--json]\n"
	      "\n"
	      "Verdict changes between consecutive audits of a target, oldest first.\n",
	      out);
	inv_usage_tail(out);
}

int events_main(int argc, char **argv)
{
	struct inv_opts o;
	struct admin_answer r = {0};
	json_t *req;
	int rc = inv_parse(argc, argv, &o, events_usage);

	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	argc -= optind;
	if (argc != 0) {
		events_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_EVENTS_LIST));
	if ((rc = inv_call(&o, req, &r)) == CLI_EXIT_OK && !o.json)
		report_render_events(r.json, stdout);
	admin_reply_clear(&r);
	return rc;
}
