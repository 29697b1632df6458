/* cmd_hooks.c - `relayprobe hooks [status]`: delivery state of the
 * controller's event hooks (hooks.status), rendered by report_render_hooks(). */
#include "commands.h"
#include "inv_common.h"
#include "report_render.h"

static const struct inv_command hooks = {
    .usage = "usage: relayprobe hooks [status] [--json]\n"
             "\n"
             "Delivery state of the controller's event hooks (webhook, email, syslog):\n"
             "per hook, how many events are pending, sending, delivered or failed.\n",
    .max_args = 1,
    .word = "status",
    .cmd = ADMIN_HOOKS_STATUS,
    .render = report_render_hooks,
};

int hooks_main(int argc, char **argv)
{
	return inv_main(&hooks, argc, argv);
}
