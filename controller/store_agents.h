/* store_agents.h - agents on the store (store_agents.c): the HELLO upsert,
 * approval and revocation, lookups by CURVE key, name, fingerprint or id,
 * signing-key pinning, and the close of a revoked agent's orders. Strings
 * in are borrowed; strings out are valid for the callback only, or copied
 * into the fixed buffers of struct store_agent_info. */
#ifndef RP_STORE_AGENTS_H
#define RP_STORE_AGENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Agents. Strings are borrowed (in) or valid for the callback only (out). */
struct store_agent {
	int64_t id;
	const char *name;
	const char *curve_public; /* the transport identity: unique */
	const char *ed25519_public;
	const char *fingerprint;
	const char *labels; /* JSON object; NULL = "{}" */
	enum store_agent_status status;
	int64_t first_seen, last_seen;
};

/* Records an agent that said hello. A known CURVE key updates last_seen
 * (and labels when given) and keeps its status; a new key is added as
 * pending. Refused (-1): a known CURVE key with a different Ed25519 key, a
 * name used by another non-revoked agent, a bad field. id and status may be
 * NULL. */
int store_agent_upsert(struct store *s, const struct store_agent *a, int64_t now, int64_t *id,
                       enum store_agent_status *status);
/* pending|approved -> approved; -1 when unknown or revoked. */
int store_agent_approve(struct store *s, int64_t id);
/* any -> revoked; -1 when unknown. */
int store_agent_revoke(struct store *s, int64_t id);
typedef int (*store_agent_cb)(void *arg, const struct store_agent *a);
/* Every agent by id; cb returns non-zero to stop. Returns the number of
 * agents passed, or -1. */
long store_agent_list(struct store *s, store_agent_cb cb, void *arg);

/* ed25519_public of an agent admitted by its CURVE fingerprint whose signing
 * key is not known yet (the column is NOT NULL). */
#define STORE_AGENT_NO_KEY "-"

struct store_agent_info {
	int64_t id;
	char name[129];
	char curve_public[129];
	char ed25519_public[129]; /* base64, or STORE_AGENT_NO_KEY */
	char fingerprint[129];
	enum store_agent_status status;
	int64_t last_seen;
	uint32_t
	    max_orders; /* Hello.max_orders last heard, 0..RP_AGENT_CAPACITY_MAX; 0 = not said */
};

/* 1 found (*out filled), 0 not found, -1 database error. */
int store_agent_by_curve(struct store *s, const char *curve_z85, struct store_agent_info *out);
int store_agent_by_id(struct store *s, int64_t id, struct store_agent_info *out);
/* ID as the operator types it: a name (the live agent first), a fingerprint,
 * or a decimal store id. */
int store_agent_find(struct store *s, const char *idstr, struct store_agent_info *out);
/* last_seen = now, and labels (a JSON object) when not NULL. 0 / -1. */
int store_agent_seen(struct store *s, int64_t id, const char *labels, int64_t now);
/* max_orders = what the agent's HELLO said (Hello.max_orders, 0 = not said):
 * its order window follows it. 0 / -1 (also above RP_AGENT_CAPACITY_MAX). */
int store_agent_set_capacity(struct store *s, int64_t id, uint32_t max_orders);
/* Pins name, signing key and fingerprint of an agent that has none yet
 * (ed25519_public = STORE_AGENT_NO_KEY). 1 pinned, 0 nothing to do (a key is
 * already pinned), -1 error (e.g. the name belongs to another live agent). */
int store_agent_pin(struct store *s, int64_t id, const char *name, const char *ed25519_b64,
                    const char *fingerprint);

/* A revoked agent's orders that are not done are closed (no result will
 * come from it) and their audits finished when nothing else is open: at
 * most 64 audits per call (call again while it returns > 0). Orders
 * closed, or -1. */
long store_agent_orders_close(struct store *s, int64_t agent_id, int64_t now);

/* Agents whose status is pending (the ZAP handler's cap), or -1. */
long store_agents_pending(struct store *s);

#endif
