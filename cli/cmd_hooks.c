/* cmd_hooks.c - `relayprobe hooks [status]`: delivery state of the
 * controller's event hooks (hooks.status), rendered by report_render_hooks(). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "inv_common.h"
#include "report_render.h"

static void hooks_usage(FILE *out)
{
	fputs("usage: relayprobe hooks [status] [--json]\n"
	      "\n"
	      "Delivery state of the controller's event hooks (webhook, email, syslog):\n"
	      "per hook, how many events are pending, sending, delivered or failed.\n",
	      out);
	inv_usage_tail(out);
}

int hooks_main(int argc, char **argv)
{
	struct inv_opts o;
	struct admin_answer r = {0};
	json_t *req;
	int rc = inv_parse(argc, argv, &o, hooks_usage);

	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	argc -= optind;
	argv += optind;
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "status") != 0)) {
		hooks_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_HOOKS_STATUS));
	if ((rc = inv_call(&o, req, &r)) == CLI_EXIT_OK && !o.json)
		report_render_hooks(r.json, stdout);
	admin_reply_clear(&r);
	return rc;
}
