/* hook_syslog.c - the syslog hook: one LOG_DAEMON line per event, warning
 * when the new verdict is open, notice otherwise, with the software named
 * and the keys of the advice for it (the texts are in the report; a log
 * line stays one line). Up to HOOK_DUE_MAX events a second; target and
 * client come without control characters (hooks_due). */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "hook_transport.h"

static int syslog_open(const struct ctl_config *cfg, void **self, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*self = NULL;
	return cfg->hook_syslog != 0;
}

/* "postfix/open-relay,postfix/address-form", "-" for none, cut to fit. */
static void advice_keys(const struct hook_event *ev, char *out, size_t outlen)
{
	const char *key, *summary;
	size_t o = 0;

	snprintf(out, outlen, "-");
	for (size_t i = 0; hooks_advice_at(ev, i, &key, &summary); i++) {
		int n = snprintf(out + o, outlen - o, "%s%s", i ? "," : "", key);

		if (n < 0 || (size_t)n >= outlen - o)
			break;
		o += (size_t)n;
	}
}

static void syslog_deliver(void *self, struct hooks *h, int64_t now)
{
	struct hook_event evs[HOOK_DUE_MAX];
	int n = hooks_due(h, &hook_syslog, now, evs, HOOK_DUE_MAX);

	(void)self;
	for (int i = 0; i < n; i++) {
		const struct store_hook_event *e = &evs[i].e;
		int prio = strncmp(e->to, "open", 4) == 0 ? LOG_WARNING : LOG_NOTICE;
		const char *conf, *label = hooks_software_label(&evs[i], &conf);
		char keys[256];

		advice_keys(&evs[i], keys, sizeof(keys));
		syslog(LOG_DAEMON | prio,
		       "relayprobe event=%lld target=%s client=%s from=%s to=%s audit=%lld"
		       " software=\"%s\"%s%s advice=%s",
		       (long long)e->id, e->target, e->client, e->from, e->to, (long long)e->audit,
		       label, conf[0] ? " confidence=" : "", conf, keys);
		hooks_done(h, &hook_syslog, e->id, 1, NULL, now);
	}
	hooks_due_free(evs, n);
}

/* No state: neither poll nor close. */
const struct hook_transport hook_syslog = {
    .name = "syslog",
    .open = syslog_open,
    .deliver = syslog_deliver,
};
