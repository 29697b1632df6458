/* admin_proto.h - the controller's admin protocol (docs/distributed.md):
 * the command names, their request fields and reply shapes, in one table
 * that the CLI (cli/), the controller (controller/ctl_admin.c) and the test
 * fakes (tests/integration/fake_admin.c) share.
 *
 * Transport: a ZeroMQ REQ/REP pair on the controller's ipc socket; one JSON
 * object per request, at most RP_ADMIN_MSG_MAX bytes, {"cmd": NAME, ...}.
 * Every reply is one JSON object with "ok" (true, and the command's fields)
 * or {"ok": false, "error": ONE LINE}; except the ADMIN_REPLY_TEXT commands,
 * which answer a success as text (a JSON document written in pages) and a
 * failure as the usual JSON object. */
#ifndef RP_ADMIN_PROTO_H
#define RP_ADMIN_PROTO_H

#include <stdbool.h>

enum admin_cmd {
	ADMIN_AGENTS_LIST = 0,
	ADMIN_AGENTS_APPROVE,
	ADMIN_AGENTS_REVOKE,
	ADMIN_AGENTS_IMPORT,
	ADMIN_AUDIT_START,
	ADMIN_AUDIT_STATUS,
	ADMIN_REPORT,
	ADMIN_TRANSCRIPT,
	ADMIN_TRANSCRIPTS,
	ADMIN_TARGETS_IMPORT,
	ADMIN_TARGETS_LIST,
	ADMIN_TARGETS_REMOVE,
	ADMIN_SCHEDULE_ADD,
	ADMIN_SCHEDULE_LIST,
	ADMIN_SCHEDULE_REMOVE,
	ADMIN_SCHEDULE_RUN_NOW,
	ADMIN_HISTORY,
	ADMIN_EVENTS_LIST,
	ADMIN_HOOKS_STATUS,
	ADMIN_RETENTION_RUN,
	ADMIN_EXCLUDE_ADD,
	ADMIN_EXCLUDE_LIST,
	ADMIN_EXCLUDE_REMOVE,
	ADMIN_CMD_COUNT
};

enum admin_reply {
	ADMIN_REPLY_JSON = 0, /* {"ok": true, ...fields} */
	ADMIN_REPLY_TEXT,     /* the JSON text of `reply`, written in pages */
};

struct admin_cmd_def {
	const char *name;   /* the "cmd" value */
	const char *fields; /* the request's fields beside "cmd", "name?" = optional */
	const char *reply;  /* the success reply's top-level fields beside "ok" */
	enum admin_reply kind;
};

/* Indexed by enum admin_cmd. */
extern const struct admin_cmd_def admin_cmds[ADMIN_CMD_COUNT];

/* The command's name ("audit.start"). */
const char *admin_cmd_name(enum admin_cmd c);
/* The command named name, or -1 (NULL, unknown). */
int admin_cmd_from_name(const char *name);

#endif
