/* ctl_report.h - the admin commands that read an audit back (ctl_report.c):
 * audit.status, report, transcript and transcripts (wire/admin_proto.h). */
#ifndef RP_CTL_REPORT_H
#define RP_CTL_REPORT_H

#include <jansson.h>

#include "ctl_internal.h"

/* JSON replies, or ctl_fail(). */
json_t *ctl_report_audit_status(struct ctl *c, json_t *req);
json_t *ctl_report_report(struct ctl *c, json_t *req);
/* The paged text replies (ADMIN_REPLY_TEXT), malloc'd; NULL with *err set to
 * a failure reply. */
char *ctl_report_transcript(struct ctl *c, json_t *req, json_t **err);
char *ctl_report_transcripts(struct ctl *c, json_t *req, json_t **err);

#endif
