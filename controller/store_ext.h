/* store_ext.h - the controller daemon's extra queries on the store (agent
 * lookup by CURVE key / name / fingerprint, pinning a signing key taken from
 * HELLO, order lookup, audit counters, transcripts). Uses store_internal.h;
 * owns no state. Text copied out is bounded by the fixed buffers below. */
#ifndef RP_STORE_EXT_H
#define RP_STORE_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* ed25519_public of an agent admitted by its CURVE fingerprint whose signing
 * key is not known yet (the column is NOT NULL). */
#define STORE_EXT_NO_KEY "-"

struct store_ext_agent {
	int64_t id;
	char name[129];
	char curve_public[129];
	char ed25519_public[129]; /* base64, or STORE_EXT_NO_KEY */
	char fingerprint[129];
	enum store_agent_status status;
	int64_t last_seen;
};

/* 1 found (*out filled), 0 not found, -1 database error. */
int store_ext_agent_by_curve(struct store *s, const char *curve_z85, struct store_ext_agent *out);
int store_ext_agent_by_id(struct store *s, int64_t id, struct store_ext_agent *out);
/* ID as the operator types it: a name (the live agent first), a fingerprint,
 * or a decimal store id. */
int store_ext_agent_find(struct store *s, const char *idstr, struct store_ext_agent *out);
/* last_seen = now, and labels (a JSON object) when not NULL. 0 / -1. */
int store_ext_agent_seen(struct store *s, int64_t id, const char *labels, int64_t now);
/* Pins name, signing key and fingerprint of an agent that has none yet
 * (ed25519_public = STORE_EXT_NO_KEY). 1 pinned, 0 nothing to do (a key is
 * already pinned), -1 error (e.g. the name belongs to another live agent). */
int store_ext_agent_pin(struct store *s, int64_t id, const char *name, const char *ed25519_b64,
                        const char *fingerprint);

/* One stored order. body is malloc'd (caller frees). 1 / 0 / -1. */
struct store_ext_order {
	int64_t audit_id;
	int64_t agent_id;
	enum store_order_state state;
	uint8_t *body;
	size_t body_len;
	int reissues;     /* times it went back to pending after a refusal */
	int64_t sequence; /* of the stored (current) body */
};
int store_ext_order_get(struct store *s, const char *order_id, struct store_ext_order *out);

/* Audit counters; status copied into status[16]. 1 / 0 (no such audit) / -1. */
int store_ext_audit_status(struct store *s, int64_t audit, char status[16], long *orders,
                           long *done, long *results);
/* Newest audit id: 1 / 0 (none) / -1. */
int store_ext_audit_latest(struct store *s, int64_t *audit);
/* Sets the audit "done" when every one of its orders is done. 1 when it is
 * (now or before), 0 when not, -1 on error. */
int store_ext_audit_complete(struct store *s, int64_t audit);

/* Names of the agents with orders in the audit, sorted. cb returns non-zero
 * to stop. Count or -1. */
typedef int (*store_ext_name_cb)(void *arg, const char *name);
long store_ext_audit_vantages(struct store *s, int64_t audit, store_ext_name_cb cb, void *arg);
/* result_json of the audit's results for target, from the agent named
 * vantage (NULL = every agent, then name says whose), in arrival order. */
typedef int (*store_ext_accepted_cb)(void *arg, const char *target, const char *agent_name,
                                     const char *test_id);
/* Every accepted relay test of an audit's open results, in one query: the
 * ids come out of the stored JSON inside SQLite (json_each), only for rows
 * whose verdict is open, so a report never parses closed results. */
long store_ext_audit_accepted(struct store *s, int64_t audit, store_ext_accepted_cb cb, void *arg);

/* A stored result met by a walk over an audit's results: its cell (target,
 * agent) and row id; only these are read (and sorted), the JSON is read one
 * result at a time with store_ext_result_json(), so a walk's memory does not
 * grow with the size of the transcripts. Valid for the callback only. */
struct store_ext_result_ref {
	const char *target;
	const char *agent_name;
	int64_t agent_id;
	int64_t id; /* results.id: the paging cursor */
};
typedef int (*store_ext_ref_cb)(void *arg, const struct store_ext_result_ref *ref);
/* The results with id > after (0: all) of target in the audit from the agent
 * named vantage (NULL = every agent), in arrival (id) order. cb returns
 * non-zero to stop. Rows passed, or -1. */
long store_ext_audit_results(struct store *s, int64_t audit, const char *target,
                             const char *vantage, int64_t after, store_ext_ref_cb cb, void *arg);

/* The inventory client of a target spec (the smallest name when several
 * clients list it) copied into out. 1 found, 0 not in the inventory, -1. */
int store_ext_target_client(struct store *s, const char *spec, char *out, size_t outlen);
/* The target's aggregated verdict in its newest recorded audit before
 * audit (target_history), and that audit's id. 1 / 0 (none) / -1. */
int store_ext_target_previous(struct store *s, const char *target, int64_t audit, char *verdict,
                              size_t vlen, int64_t *prev_audit);

/* Bulk transcripts: the audit's (target, agent) cells that have results,
 * ordered by target then agent name (then agent id). count: how many; page:
 * the results of cells [offset, offset + limit), each cell's in id order. */
long store_ext_audit_cells_count(struct store *s, int64_t audit);
long store_ext_audit_cells_page(struct store *s, int64_t audit, long offset, long limit,
                                store_ext_ref_cb cb, void *arg);

/* A revoked agent's orders that are not done are closed (no result will
 * come from it) and their audits finished when nothing else is open: at
 * most 64 audits per call (call again while it returns > 0). Orders
 * closed, or -1. */
long store_ext_agent_orders_close(struct store *s, int64_t agent_id, int64_t now);

/* The stored JSON text of result id (len bytes, NUL-terminated, valid JSON:
 * the schema CHECKs it), passed to cb and valid for the call only. 1 when
 * passed (2 when cb returned non-zero), 0 when there is no such result, -1
 * on a database error. */
typedef int (*store_ext_text_cb)(void *arg, const char *text, size_t len);
int store_ext_result_json(struct store *s, int64_t id, store_ext_text_cb cb, void *arg);

/* Agents whose status is pending (the ZAP handler's cap), or -1. */
long store_ext_agents_pending(struct store *s);

#endif
