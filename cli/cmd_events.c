/* cmd_events.c - `relayprobe events`: verdict changes between consecutive
 * audits (events.list), rendered by report_render_events(). */
#include "commands.h"
#include "inv_common.h"
#include "report_render.h"

static const struct inv_command events = {
    .usage = "usage: relayprobe events [--json]\n"
             "\n"
             "Verdict changes between consecutive audits of a target, oldest first.\n",
    .cmd = ADMIN_EVENTS_LIST,
    .render = report_render_events,
};

int events_main(int argc, char **argv)
{
	return inv_main(&events, argc, argv);
}
