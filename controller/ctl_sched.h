/* ctl_sched.h - the controller's inventory, schedule, history and events
 * admin commands (targets.*, exclude.*, schedule.*, history, events.list) and its
 * once-a-second tick: record the history of finished audits, start the
 * audits of due schedules (audit_start, as audit.start does). */
#ifndef RP_CTL_SCHED_H
#define RP_CTL_SCHED_H

#include <jansson.h>

#include "ctl_internal.h"

/* The admin commands (wire/admin_proto.h): each the reply to req. */
json_t *ctl_sched_targets_import(struct ctl *c, json_t *req);
json_t *ctl_sched_targets_list(struct ctl *c, json_t *req);
json_t *ctl_sched_targets_remove(struct ctl *c, json_t *req);
json_t *ctl_sched_exclude_add(struct ctl *c, json_t *req);
json_t *ctl_sched_exclude_list(struct ctl *c, json_t *req);
json_t *ctl_sched_exclude_remove(struct ctl *c, json_t *req);
json_t *ctl_sched_schedule_add(struct ctl *c, json_t *req);
json_t *ctl_sched_schedule_list(struct ctl *c, json_t *req);
json_t *ctl_sched_schedule_remove(struct ctl *c, json_t *req);
json_t *ctl_sched_schedule_run_now(struct ctl *c, json_t *req);
json_t *ctl_sched_history(struct ctl *c, json_t *req);
json_t *ctl_sched_events_list(struct ctl *c, json_t *req);
/* Called on every turn of the loop; does its work at most once a second. */
void ctl_sched_tick(struct ctl *c);
#endif
