/* ctl_admin.c - the controller's admin socket (REP, ipc, mode 0660): one JSON
 * object per request and reply, dispatched through the one command table of
 * wire/admin_proto.h to the handlers here (agents.*, audit.start), in
 * ctl_report.c (audit.status, report, transcripts), ctl_sched.c (targets,
 * exclusions, schedules, history, events), hooks.c and retention.c. Requests are capped
 * by ZMQ_MAXMSGSIZE = RP_ADMIN_MSG_MAX, targets by RP_ADMIN_TARGETS_MAX;
 * every reply has "ok" and, when false, a one-line "error". */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "admin_proto.h"
#include "aggregate.h"
#include "audit.h"
#include "audit_json.h"
#include "canary_token.h"
#include "ctl_canary.h"
#include "ctl_internal.h"
#include "ctl_report.h"
#include "ctl_sched.h"
#include "dialog.h"
#include "envelope.h"
#include "hooks.h"
#include "link.h"
#include "log.h"
#include "orders.h"
#include "relay_tests.h"
#include "retention.h"
#include "rp_limits.h"
#include "store_agents.h"
#include "store_canary.h"
#include "store_history.h"
#include "store_inventory.h"
#include "store_orders.h"
#include "store_results.h"

json_t *ctl_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Printable ASCII only: a request's bytes quoted by jansson's error text,
	 * or a UTF-8 sequence cut by "%.32s", would make json_pack refuse the
	 * string (and the reply become "out of memory"). */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
		else if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* ---- agents ---- */

struct agent_list {
	struct ctl *c;
	json_t *arr;
	int64_t only; /* 0 = all */
	json_t *found;
};

static json_t *agent_json(struct ctl *c, const struct store_agent *a)
{
	json_t *labels = json_loads(a->labels ? a->labels : "{}", 0, NULL);
	struct ctl_session *s = link_session_of_agent(c, a->id);

	if (labels == NULL)
		labels = json_object();
	return json_pack("{s:I, s:s, s:s, s:s, s:b, s:I, s:o}", "id", (json_int_t)a->id, "name",
	                 a->name ? a->name : "", "fingerprint",
	                 a->fingerprint ? a->fingerprint : "", "status",
	                 store_agent_status_name(a->status), "connected",
	                 a->status == STORE_AGENT_APPROVED && link_session_alive(s, time(NULL)),
	                 "last_seen", (json_int_t)a->last_seen, "labels", labels);
}

static int agent_list_cb(void *arg, const struct store_agent *a)
{
	struct agent_list *l = arg;

	if (l->only != 0) {
		if (a->id != l->only)
			return 0;
		l->found = agent_json(l->c, a);
		return 1;
	}
	json_array_append_new(l->arr, agent_json(l->c, a));
	return 0;
}

static json_t *agent_reply(struct ctl *c, int64_t id)
{
	struct agent_list l = {.c = c, .only = id};

	if (store_agent_list(c->store, agent_list_cb, &l) < 0 || l.found == NULL) {
		json_decref(l.found);
		return ctl_fail("agent %lld: %s", (long long)id, store_errmsg(c->store));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "agent", l.found);
}

static json_t *cmd_agents_list(struct ctl *c, json_t *req)
{
	struct agent_list l = {.c = c, .arr = json_array()};

	if (store_agent_list(c->store, agent_list_cb, &l) < 0) {
		json_decref(l.arr);
		return ctl_fail("agents: %s", store_errmsg(c->store));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "agents", l.arr);
}

/* The agent named by req.id: a name, a fingerprint or a store id. */
static int find_agent(struct ctl *c, json_t *req, struct store_agent_info *a, json_t **err)
{
	json_t *id = json_object_get(req, "id");
	char buf[32];
	const char *s;
	int rc;

	if (json_is_integer(id)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(id));
		s = buf;
	} else if (json_is_string(id)) {
		s = json_string_value(id);
	} else {
		*err = ctl_fail("missing \"id\" (agent name, fingerprint or id)");
		return -1;
	}
	rc = store_agent_find(c->store, s, a);
	if (rc < 0)
		*err = ctl_fail("agents: %s", store_errmsg(c->store));
	else if (rc == 0)
		*err = ctl_fail("no agent %.64s", s);
	return rc == 1 ? 0 : -1;
}

static json_t *cmd_agents_approve(struct ctl *c, json_t *req)
{
	struct store_agent_info a;
	json_t *err = NULL;

	if (find_agent(c, req, &a, &err) < 0)
		return err;
	if (a.status == STORE_AGENT_REVOKED)
		return ctl_fail("agent %s is revoked: a revoked key is never approved again",
		                a.name);
	if (store_agent_approve(c->store, a.id) < 0)
		return ctl_fail("approve %s: %s", a.name, store_errmsg(c->store));
	log_info("agent=%s fingerprint=%s approved", LOG_V(a.name), a.fingerprint);
	return agent_reply(c, a.id);
}

static json_t *cmd_agents_revoke(struct ctl *c, json_t *req)
{
	struct store_agent_info a;
	json_t *err = NULL;

	if (find_agent(c, req, &a, &err) < 0)
		return err;
	if (store_agent_revoke(c->store, a.id) < 0)
		return ctl_fail("revoke %s: %s", a.name, store_errmsg(c->store));
	log_info("agent=%s fingerprint=%s revoked", LOG_V(a.name), a.fingerprint);
	/* Its unfinished orders will never be done: closed, so their audits
	 * finish without its cells. */
	for (long n; (n = store_agent_orders_close(c->store, a.id, time(NULL))) != 0;) {
		if (n < 0) {
			log_error("agent=%s orders not closed: %s", LOG_V(a.name),
			          store_errmsg(c->store));
			break;
		}
		log_info("agent=%s revoked: %ld unfinished orders closed", LOG_V(a.name), n);
	}
	/* Drop its live session: see link_rebind(). */
	link_session_drop(c, a.id);
	if (link_rebind(c) < 0)
		log_error("rebind after revoke failed: will retry");
	return agent_reply(c, a.id);
}

static json_t *cmd_agents_import(struct ctl *c, json_t *req)
{
	const char *pub = json_string_value(json_object_get(req, "pub"));
	char err[512],
	    b64[sodium_base64_ENCODED_LEN(KEYS_ED25519_PK_LEN, sodium_base64_VARIANT_ORIGINAL)];
	struct store_agent_info a;
	struct keys *k;
	json_t *reply = NULL;
	int64_t id = 0;
	int rc;

	if (pub == NULL)
		return ctl_fail("missing \"pub\" (the contents of NAME.pub)");
	k = keys_parse_public(pub, strlen(pub), "agent public key", err, sizeof(err));
	if (k == NULL)
		return ctl_fail("import: %s", err);
	if (keys_role(k) != KEYS_ROLE_AGENT) {
		reply = ctl_fail("import: %s is a %s key, not an agent key", keys_name(k),
		                 keys_role_name(keys_role(k)));
		goto out;
	}
	sodium_bin2base64(b64, sizeof(b64), keys_ed25519_public(k), KEYS_ED25519_PK_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
	rc = store_agent_by_curve(c->store, keys_curve_public(k), &a);
	if (rc < 0) {
		reply = ctl_fail("import: %s", store_errmsg(c->store));
		goto out;
	}
	if (rc == 1 && a.status == STORE_AGENT_REVOKED) {
		reply = ctl_fail("import: this key (agent %s) was revoked", a.name);
		goto out;
	}
	if (rc == 1 && strcmp(a.ed25519_public, STORE_AGENT_NO_KEY) == 0) {
		/* Seen as pending: both keys are now vouched for by the file. */
		if (store_agent_pin(c->store, a.id, keys_name(k), b64, keys_fingerprint(k)) < 0) {
			reply = ctl_fail("import: %s", store_errmsg(c->store));
			goto out;
		}
		id = a.id;
	} else {
		struct store_agent sa = {.name = keys_name(k),
		                         .curve_public = keys_curve_public(k),
		                         .ed25519_public = b64,
		                         .fingerprint = keys_fingerprint(k)};

		if (store_agent_upsert(c->store, &sa, time(NULL), &id, NULL) < 0) {
			reply = ctl_fail("import: %s", store_errmsg(c->store));
			goto out;
		}
	}
	if (store_agent_approve(c->store, id) < 0) {
		reply = ctl_fail("import: approve: %s", store_errmsg(c->store));
		goto out;
	}
	log_info("agent=%s fingerprint=%s imported and approved", LOG_V(keys_name(k)),
	         keys_fingerprint(k));
	reply = agent_reply(c, id);
out:
	keys_free(&k);
	return reply;
}

/* ---- audits ---- */

static json_t *cmd_audit_start(struct ctl *c, json_t *req)
{
	struct audit_req_json r;
	struct audit_started st;
	char err[512];
	int rc = audit_req_from_json(req, true, &r, err, sizeof(err));

	if (rc == 0)
		rc = audit_start(c, &r.req, &st, err, sizeof(err));
	audit_req_json_clear(&r);
	if (rc < 0)
		return ctl_fail("%s", err);
	return json_pack("{s:b, s:I, s:I}", "ok", 1, "audit", (json_int_t)st.audit, "orders",
	                 (json_int_t)st.orders);
}

static int text_transcript(struct ctl *c, json_t *req, char **out, json_t **err)
{
	*out = ctl_report_transcript(c, req, err);
	return *out != NULL ? 0 : -1;
}

static int text_transcripts(struct ctl *c, json_t *req, char **out, json_t **err)
{
	*out = ctl_report_transcripts(c, req, err);
	return *out != NULL ? 0 : -1;
}

static json_t *cmd_hooks_status(struct ctl *c, json_t *req)
{
	return hooks_admin(c->hooks, admin_cmd_name(ADMIN_HOOKS_STATUS), req);
}

static json_t *cmd_retention_run(struct ctl *c, json_t *req)
{
	return retention_admin(c->store, c->cfg, admin_cmd_name(ADMIN_RETENTION_RUN), req,
	                       (int64_t)time(NULL));
}

/* The one command table, by wire/admin_proto.h's enum: a JSON handler, or a
 * text one for the paged ADMIN_REPLY_TEXT commands. */
static const struct {
	json_t *(*fn)(struct ctl *c, json_t *req);
	int (*text)(struct ctl *c, json_t *req, char **out, json_t **err);
} commands[ADMIN_CMD_COUNT] = {
    [ADMIN_AGENTS_LIST] = {cmd_agents_list, NULL},
    [ADMIN_AGENTS_APPROVE] = {cmd_agents_approve, NULL},
    [ADMIN_AGENTS_REVOKE] = {cmd_agents_revoke, NULL},
    [ADMIN_AGENTS_IMPORT] = {cmd_agents_import, NULL},
    [ADMIN_AUDIT_START] = {cmd_audit_start, NULL},
    [ADMIN_AUDIT_STATUS] = {ctl_report_audit_status, NULL},
    [ADMIN_REPORT] = {ctl_report_report, NULL},
    [ADMIN_TRANSCRIPT] = {NULL, text_transcript},
    [ADMIN_TRANSCRIPTS] = {NULL, text_transcripts},
    [ADMIN_TARGETS_IMPORT] = {ctl_sched_targets_import, NULL},
    [ADMIN_TARGETS_LIST] = {ctl_sched_targets_list, NULL},
    [ADMIN_TARGETS_REMOVE] = {ctl_sched_targets_remove, NULL},
    [ADMIN_SCHEDULE_ADD] = {ctl_sched_schedule_add, NULL},
    [ADMIN_SCHEDULE_LIST] = {ctl_sched_schedule_list, NULL},
    [ADMIN_SCHEDULE_REMOVE] = {ctl_sched_schedule_remove, NULL},
    [ADMIN_SCHEDULE_RUN_NOW] = {ctl_sched_schedule_run_now, NULL},
    [ADMIN_HISTORY] = {ctl_sched_history, NULL},
    [ADMIN_EVENTS_LIST] = {ctl_sched_events_list, NULL},
    [ADMIN_HOOKS_STATUS] = {cmd_hooks_status, NULL},
    [ADMIN_RETENTION_RUN] = {cmd_retention_run, NULL},
    [ADMIN_EXCLUDE_ADD] = {ctl_sched_exclude_add, NULL},
    [ADMIN_EXCLUDE_LIST] = {ctl_sched_exclude_list, NULL},
    [ADMIN_EXCLUDE_REMOVE] = {ctl_sched_exclude_remove, NULL},
};

bool ctl_admin_complete(void)
{
	for (int i = 0; i < ADMIN_CMD_COUNT; i++)
		if ((commands[i].fn == NULL) == (commands[i].text == NULL) ||
		    (commands[i].text != NULL) != (admin_cmds[i].kind == ADMIN_REPLY_TEXT))
			return false;
	return true;
}

char *ctl_admin_answer(struct ctl *c, const void *data, size_t len)
{
	json_t *req = NULL, *reply = NULL;
	json_error_t jerr;
	char *out = NULL;
	const char *cmd;
	int k;

	req = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(req)) {
		reply =
		    ctl_fail("request is not a JSON object: %s", req ? "wrong type" : jerr.text);
		goto out;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	k = admin_cmd_from_name(cmd);
	if (k >= 0 && commands[k].text != NULL) {
		/* Pages written as text (ctl_report.c): the text, or a failure
		 * reply in reply. */
		if (commands[k].text(c, req, &out, &reply) == 0) {
			log_debug("admin cmd=%s ok=1 bytes=%zu", cmd, strlen(out));
			json_decref(req);
			return out;
		}
		goto out;
	}
	if (k >= 0)
		reply = commands[k].fn(c, req);
	else
		reply =
		    cmd ? ctl_fail("unknown command '%.32s'", cmd) : ctl_fail("missing \"cmd\"");
	log_debug("admin cmd=%s ok=%d", LOG_V(cmd), json_is_true(json_object_get(reply, "ok")));
out:
	out = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	json_decref(req);
	return out;
}

void ctl_admin_handle(struct ctl *c)
{
	zmq_msg_t m;
	json_t *reply = NULL;
	char *out = NULL;

	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, c->admin, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return;
	}
	if (zmq_msg_more(&m)) {
		/* REP: drain the rest, answer once. */
		zmq_msg_t x;
		int more = 1;

		while (more) {
			zmq_msg_init(&x);
			if (zmq_msg_recv(&x, c->admin, 0) < 0)
				more = 0;
			else
				more = zmq_msg_more(&x);
			zmq_msg_close(&x);
		}
		reply = ctl_fail("one JSON object per message");
		out = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	} else {
		out = ctl_admin_answer(c, zmq_msg_data(&m), zmq_msg_size(&m));
	}
	{
		/* REP must answer: a fixed reply when even that fails. */
		static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}";
		const char *o = out ? out : oom;

		if (zmq_send(c->admin, o, strlen(o), 0) < 0)
			log_error("admin reply failed: %s", zmq_strerror(zmq_errno()));
	}
	free(out);
	json_decref(reply);
	zmq_msg_close(&m);
}
