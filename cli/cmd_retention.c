/* cmd_retention.c - `relayprobe retention run`: the controller removes old
 * transcripts now (retention.run); verdicts and history stay. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "inv_common.h"
#include "report_render.h"

static void retention_usage(FILE *out)
{
	fputs("usage: relayprobe retention run [--json]\n"
	      "\n"
	      "Removes now the transcripts older than the controller's\n"
	      "transcript_retention_days (verdicts and history stay). The controller\n"
	      "also does this at start and once an hour.\n",
	      out);
	inv_usage_tail(out);
}

int retention_main(int argc, char **argv)
{
	struct inv_opts o;
	struct admin_answer r = {0};
	json_t *req;
	int rc = inv_parse(argc, argv, &o, retention_usage);

	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	argc -= optind;
	argv += optind;
	if (argc != 1 || strcmp(argv[0], "run") != 0) {
		retention_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_RETENTION_RUN));
	if ((rc = inv_call(&o, req, &r)) == CLI_EXIT_OK && !o.json) {
		if (json_is_true(json_object_get(r.json, "forever")))
			printf("retention is 0 (keep forever): nothing removed\n");
		else
			printf("%lld transcripts removed\n",
			       (long long)json_integer_value(json_object_get(r.json, "stripped")));
	}
	admin_reply_clear(&r);
	return rc;
}
