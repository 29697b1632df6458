/* audit.h - starting an audit (audit.c): one entry point for the admin
 * command audit.start and for the scheduler. An audit is its targets, the
 * relay tests, the vantages (approved agents with a pinned signing key) and
 * the probe parameters; audit_start checks them, then commits the audit and
 * every order draft (orders_create) in one transaction and marks the
 * vantages for the order pump. Nothing is signed or sent here. */
#ifndef RP_AUDIT_H
#define RP_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_internal.h"

/* The ProbeSpec parameters; 0 and "" mean the agent's defaults. */
struct audit_params {
	uint32_t port;          /* 0..65535 */
	uint32_t timeout_s;     /* 0..86400 */
	uint32_t retry_after_s; /* 0..86400 */
	bool data;              /* relay tests may send DATA (proof by delivery) */
	const char *tls;        /* a dialog TLS policy name */
	const char *to, *from;  /* mailboxes */
	const char *ehlo;
};

/* Everything borrowed for the call. */
struct audit_req {
	const char *const *targets; /* 1..RP_ADMIN_TARGETS_MAX target texts */
	size_t ntargets;
	const char *tests;           /* catalogue selection ("a,b", "all"); NULL or "" = default */
	const char *const *vantages; /* agent names; NULL (nvantages 0) = every approved agent */
	size_t nvantages;
	struct audit_params params;
	/* A schedule's run (NULL = none): recorded in the audit's own
	 * transaction, so a crash can neither lose the run nor start it twice. */
	const char *schedule;
	int64_t sched_now;
	int sched_advance; /* move the schedule's next_run to its next slot */
};

struct audit_started {
	int64_t audit;
	size_t orders;
};

/* Starts the audit. 0, or -1 with err set (nothing stored then). */
int audit_start(struct ctl *c, const struct audit_req *req, struct audit_started *out, char *err,
                size_t errlen);

#endif
