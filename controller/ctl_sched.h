/* ctl_sched.h - the controller's inventory, schedule, history and events
 * admin commands (targets.*, schedule.*, history, events.list) and its
 * once-a-second tick: record the history of finished audits, start the
 * audits of due schedules through audit.start's own code. */
#ifndef RP_CTL_SCHED_H
#define RP_CTL_SCHED_H

#include <jansson.h>

#include "ctl_internal.h"

/* The reply to cmd, or NULL when cmd is not one of these commands. */
json_t *ctl_sched_admin(struct ctl *c, const char *cmd, json_t *req);
/* Called on every turn of the loop; does its work at most once a second. */
void ctl_sched_tick(struct ctl *c);
/* audit.start (ctl_admin.c) for schedule name: req as the admin command
 * takes it; the run (last_run, last_audit, next_run moved on when advance)
 * is written in the audit's own transaction. */
json_t *ctl_admin_audit_start_sched(struct ctl *c, json_t *req, const char *name, int64_t now,
                                    int advance);

#endif
