/* hook_syslog.c - the syslog hook: one LOG_DAEMON line per event, warning
 * when the new verdict is open, notice otherwise. Up to 16 events a second;
 * target and client come without control characters (hooks_due). */
#include <string.h>
#include <syslog.h>

#include "hook_transport.h"

#define SYSLOG_PER_TICK 16

static int syslog_open(const struct ctl_config *cfg, void **self, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*self = NULL;
	return cfg->hook_syslog != 0;
}

static void syslog_deliver(void *self, struct hooks *h, int64_t now)
{
	struct store_hook_event evs[SYSLOG_PER_TICK];
	int n = hooks_due(h, &hook_syslog, now, evs, SYSLOG_PER_TICK);

	(void)self;
	for (int i = 0; i < n; i++) {
		int prio = strncmp(evs[i].to, "open", 4) == 0 ? LOG_WARNING : LOG_NOTICE;

		syslog(LOG_DAEMON | prio,
		       "relayprobe event=%lld target=%s client=%s from=%s to=%s audit=%lld",
		       (long long)evs[i].id, evs[i].target, evs[i].client, evs[i].from, evs[i].to,
		       (long long)evs[i].audit);
		hooks_done(h, &hook_syslog, evs[i].id, 1, NULL, now);
	}
}

/* No state: neither poll nor close. */
const struct hook_transport hook_syslog = {
    .name = "syslog",
    .open = syslog_open,
    .deliver = syslog_deliver,
};
