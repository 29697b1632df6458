/* cmd_history.c - `relayprobe history TARGET`: the target's aggregated verdict in
 * every finished audit (admin command history), rendered by report_render_history(). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "inv_common.h"
#include "report_render.h"
#include "target.h"

static void history_usage(FILE *out)
{
	fputs("usage: relayprobe history TARGET [--json]\n"
	      "\n"
	      "The target's aggregated verdict in every finished audit, oldest first.\n",
	      out);
	inv_usage_tail(out);
}

int history_main(int argc, char **argv)
{
	struct inv_opts o;
	struct admin_answer r = {0};
	json_t *req;
	char canon[TARGET_CANONICAL_MAX], err[256];
	int rc = inv_parse(argc, argv, &o, history_usage);

	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		history_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (target_canonical(argv[0], NULL, canon, sizeof(canon), err, sizeof(err)) < 0) {
		fprintf(stderr, "relayprobe history: %s: %s\n", argv[0], err);
		return CLI_EXIT_USAGE;
	}
	req = json_pack("{s:s, s:s}", "cmd", admin_cmd_name(ADMIN_HISTORY), "target", canon);
	if ((rc = inv_call(&o, req, &r)) == CLI_EXIT_OK && !o.json)
		report_render_history(r.json, stdout);
	admin_reply_clear(&r);
	return rc;
}
