/* cmd_retention.c - `relayprobe retention run`: the controller removes old
 * transcripts now (retention.run); verdicts and history stay. */
#include <stdio.h>

#include "commands.h"
#include "inv_common.h"

static long retention_render(const json_t *reply, FILE *out)
{
	if (json_is_true(json_object_get(reply, "forever")))
		return fprintf(out, "retention is 0 (keep forever): nothing removed\n");
	return fprintf(out, "%lld transcripts removed\n",
	               (long long)json_integer_value(json_object_get(reply, "stripped")));
}

static const struct inv_command retention = {
    .usage = "usage: relayprobe retention run [--json]\n"
             "\n"
             "Removes now the transcripts older than the controller's\n"
             "transcript_retention_days (verdicts and history stay). The controller\n"
             "also does this at start and once an hour.\n",
    .min_args = 1,
    .max_args = 1,
    .word = "run",
    .cmd = ADMIN_RETENTION_RUN,
    .render = retention_render,
};

int retention_main(int argc, char **argv)
{
	return inv_main(&retention, argc, argv);
}
