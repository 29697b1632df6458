/* vantage.c - the port-25-blocked rule (vantage.h): counts a run's port-25
 * connects and their timeouts, and the distinct addresses up to the
 * minimum the rule needs (a fixed array; nothing grows). */
#include "vantage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void vantage_tally_init(struct vantage_tally *t)
{
	memset(t, 0, sizeof(*t));
}

bool vantage_reason_is_timeout(const char *reason)
{
	return reason != NULL &&
	       (strcmp(reason, "connect timeout") == 0 || strcmp(reason, strerror(ETIMEDOUT)) == 0);
}

static void note_address(struct vantage_tally *t, const char *address)
{
	if (address == NULL || t->ndistinct >= RP_PORT25_BLOCKED_MIN_ADDRS)
		return;
	for (size_t i = 0; i < t->ndistinct; i++)
		if (strcmp(t->distinct[i], address) == 0)
			return;
	snprintf(t->distinct[t->ndistinct], sizeof(t->distinct[0]), "%s", address);
	t->ndistinct++;
}

void vantage_tally_add(struct vantage_tally *t, uint16_t port, const char *address, bool dialog_ran,
                       enum dialog_verdict v, const char *reason)
{
	if (port != 25 || !dialog_ran)
		return;
	t->connects++;
	if (v == DV_UNREACHABLE && vantage_reason_is_timeout(reason))
		t->timed_out++;
	note_address(t, address);
}

void vantage_tally_result(struct vantage_tally *t, const struct probe_result *r)
{
	const char *reason = r->reason;

	if ((reason == NULL || reason[0] == '\0') && r->dialog != NULL)
		reason = dialog_verdict_reason(r->dialog);
	vantage_tally_add(t, r->port, r->address, r->dialog != NULL, r->verdict, reason);
}

bool vantage_port25_blocked(const struct vantage_tally *t)
{
	return t->connects > 0 && t->timed_out == t->connects &&
	       t->ndistinct >= RP_PORT25_BLOCKED_MIN_ADDRS;
}

int vantage_blocked_line(const struct vantage_tally *t, char *buf, size_t len)
{
	return snprintf(buf, len,
	                "port 25 looks blocked at this vantage: %u of %u connects timed out",
	                t->timed_out, t->connects);
}
