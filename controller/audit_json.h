/* audit_json.h - an audit request's JSON form (audit_json.c): the fields of
 * the admin command audit.start ("targets", "tests", "vantages", "params")
 * and of a schedule's stored params, read into a struct audit_req. The
 * shapes are checked here; the values by audit_start. */
#ifndef RP_AUDIT_JSON_H
#define RP_AUDIT_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "audit.h"

/* A request read from JSON: req borrows from the JSON object and from the
 * arrays here, so the object must outlive it. */
struct audit_req_json {
	struct audit_req req;
	const char **targets;
	const char **vantages;
	char tests[2048];
};

/* Reads obj's "tests", "vantages" and "params"; and "targets" when
 * need_targets (a schedule's params have none: the caller sets them). 0, or
 * -1 with err set. Call audit_req_json_clear either way. */
int audit_req_from_json(json_t *obj, bool need_targets, struct audit_req_json *out, char *err,
                        size_t errlen);
void audit_req_json_clear(struct audit_req_json *r);

#endif
