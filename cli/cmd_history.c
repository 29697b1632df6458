/* cmd_history.c - `relayprobe history TARGET`: the target's aggregated verdict in
 * every finished audit (admin command history), rendered by report_render_history(). */
#include <stdio.h>

#include "commands.h"
#include "inv_common.h"
#include "report_render.h"
#include "target.h"

/* TARGET, canonical (target_canonical()), as the request's "target". */
static int history_args(json_t *req, char **argv)
{
	char canon[TARGET_CANONICAL_MAX], err[256];

	if (target_canonical(argv[0], NULL, canon, sizeof(canon), err, sizeof(err)) < 0) {
		fprintf(stderr, "relayprobe history: %s: %s\n", argv[0], err);
		return -1;
	}
	json_object_set_new(req, "target", json_string(canon));
	return 0;
}

static const struct inv_command history = {
    .usage = "usage: relayprobe history TARGET [--json]\n"
             "\n"
             "The target's aggregated verdict in every finished audit, oldest first.\n",
    .min_args = 1,
    .max_args = 1,
    .cmd = ADMIN_HISTORY,
    .args = history_args,
    .render = report_render_history,
};

int history_main(int argc, char **argv)
{
	return inv_main(&history, argc, argv);
}
