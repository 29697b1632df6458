/* vantage.h - what a run's connects say about the vantage itself: when every
 * connect to port 25 timed out (none refused, reset or answered) and they
 * went to at least RP_PORT25_BLOCKED_MIN_ADDRS distinct addresses, port 25
 * looks blocked outbound here (most clouds) and the servers' "unreachable"
 * says nothing about them. Pure; no I/O, no allocation. */
#ifndef RP_VANTAGE_H
#define RP_VANTAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "rp_limits.h"
#include "verdict.h"

struct vantage_tally {
	unsigned connects;  /* port-25 dialogs that tried to connect */
	unsigned timed_out; /* of them, ended unreachable on a connect timeout */
	size_t ndistinct;   /* distinct addresses seen, counted up to the minimum */
	char distinct[RP_PORT25_BLOCKED_MIN_ADDRS][48];
};

void vantage_tally_init(struct vantage_tally *t);
/* One result: port, its address (NULL when no dialog ran), whether a dialog
 * ran (a connect was tried), its verdict and reason. Results on another port,
 * or with no connect (DNS failure, scope), are not counted. */
void vantage_tally_add(struct vantage_tally *t, uint16_t port, const char *address, bool dialog_ran,
                       enum dialog_verdict v, const char *reason);
/* The same for one engine result (the reason is the dialog's own when the
 * result has none). */
void vantage_tally_result(struct vantage_tally *t, const struct probe_result *r);
/* True when a connect ending with this reason timed out ("connect timeout",
 * or the kernel's ETIMEDOUT text). */
bool vantage_reason_is_timeout(const char *reason);
/* The rule above. */
bool vantage_port25_blocked(const struct vantage_tally *t);
/* "port 25 looks blocked at this vantage: N of N connects timed out" into
 * buf (no newline); the length written, as snprintf. */
int vantage_blocked_line(const struct vantage_tally *t, char *buf, size_t len);

#endif
