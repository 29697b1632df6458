/* admin_proto.c - the admin protocol's command table (admin_proto.h). */
#include "admin_proto.h"

#include <stddef.h>
#include <string.h>

/* As docs/distributed.md ("Admin socket") documents them: "?" marks an
 * optional field. */
const struct admin_cmd_def admin_cmds[ADMIN_CMD_COUNT] = {
    [ADMIN_AGENTS_LIST] = {"agents.list", "",
                           "agents:[{id,name,fingerprint,status,connected,last_seen,labels}]",
                           ADMIN_REPLY_JSON},
    [ADMIN_AGENTS_APPROVE] = {"agents.approve", "id", "agent", ADMIN_REPLY_JSON},
    [ADMIN_AGENTS_REVOKE] = {"agents.revoke", "id", "agent", ADMIN_REPLY_JSON},
    [ADMIN_AGENTS_IMPORT] = {"agents.import", "pub", "agent", ADMIN_REPLY_JSON},
    [ADMIN_AUDIT_START] = {"audit.start", "targets vantages? tests? params?", "audit orders",
                           ADMIN_REPLY_JSON},
    [ADMIN_AUDIT_STATUS] = {"audit.status", "audit", "audit status orders done results",
                            ADMIN_REPLY_JSON},
    [ADMIN_REPORT] = {"report", "audit", "audit status previous_audit summary vantages targets",
                      ADMIN_REPLY_JSON},
    [ADMIN_TRANSCRIPT] = {"transcript", "audit target vantage after?", "results more next_after",
                          ADMIN_REPLY_TEXT},
    [ADMIN_TRANSCRIPTS] = {"transcripts", "audit offset? limit? after?",
                           "audit total offset cells more next_offset next_after",
                           ADMIN_REPLY_TEXT},
    [ADMIN_TARGETS_IMPORT] = {"targets.import", "rows", "added updated", ADMIN_REPLY_JSON},
    [ADMIN_TARGETS_LIST] = {"targets.list", "client? tag?", "targets", ADMIN_REPLY_JSON},
    [ADMIN_TARGETS_REMOVE] = {"targets.remove", "client? targets", "removed missing",
                              ADMIN_REPLY_JSON},
    [ADMIN_SCHEDULE_ADD] = {"schedule.add",
                            "name every at? selector value? vantages? tests? params?", "schedule",
                            ADMIN_REPLY_JSON},
    [ADMIN_SCHEDULE_LIST] = {"schedule.list", "", "schedules", ADMIN_REPLY_JSON},
    [ADMIN_SCHEDULE_REMOVE] = {"schedule.remove", "name", "", ADMIN_REPLY_JSON},
    [ADMIN_SCHEDULE_RUN_NOW] = {"schedule.run-now", "name", "audit orders", ADMIN_REPLY_JSON},
    [ADMIN_HISTORY] = {"history", "target", "target history", ADMIN_REPLY_JSON},
    [ADMIN_EVENTS_LIST] = {"events.list", "since?", "events", ADMIN_REPLY_JSON},
    [ADMIN_HOOKS_STATUS] = {"hooks.status", "", "hooks", ADMIN_REPLY_JSON},
    [ADMIN_RETENTION_RUN] = {"retention.run", "", "stripped", ADMIN_REPLY_JSON},
    [ADMIN_EXCLUDE_ADD] = {"exclude.add", "entry reason? by?", "entry added", ADMIN_REPLY_JSON},
    [ADMIN_EXCLUDE_LIST] = {"exclude.list", "", "exclusions:[{entry,reason,by,added_at}]",
                            ADMIN_REPLY_JSON},
    [ADMIN_EXCLUDE_REMOVE] = {"exclude.remove", "entry", "", ADMIN_REPLY_JSON},
};

const char *admin_cmd_name(enum admin_cmd c)
{
	return (unsigned)c < ADMIN_CMD_COUNT ? admin_cmds[c].name : NULL;
}

int admin_cmd_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < ADMIN_CMD_COUNT; i++)
		if (strcmp(admin_cmds[i].name, name) == 0)
			return i;
	return -1;
}
