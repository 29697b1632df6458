/* envelope.h - signed orders (controller -> agent) and signed results (agent
 * -> controller) in the relayprobe.v1 Envelope (proto/relayprobe.proto).
 * Signing: Ed25519 over a context string and the exact body bytes. Verifying
 * follows DESIGN.md section 7, in order, and names the first failed check.
 * Decoded messages are copied into the plain structs below (owned by the
 * caller, released with wire_order_clear / wire_result_clear); nothing from
 * protobuf-c outlives the call. Bounds: RP_WIRE_* in common/rp_limits.h. */
#ifndef RP_WIRE_ENVELOPE_H
#define RP_WIRE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "replay.h"

/* Envelope format version, and the protocol version this build speaks. */
#define WIRE_ENVELOPE_VERSION 1
#define WIRE_PROTOCOL_VERSION 1
#define WIRE_SHA256_LEN       32
/* Context strings, NUL included in the signed bytes. */
#define WIRE_CTX_ORDER  "relayprobe-order-v1"
#define WIRE_CTX_RESULT "relayprobe-result-v1"

enum wire_reason {
	WIRE_OK = 0,
	WIRE_ERR_SIZE,          /* empty, or larger than RP_WIRE_MSG_MAX */
	WIRE_ERR_DECODE,        /* the envelope does not unpack */
	WIRE_ERR_ENVELOPE,      /* unknown envelope version, or not the expected kind */
	WIRE_ERR_KEY,           /* key_id is not the pinned key's */
	WIRE_ERR_SIGNATURE,     /* signature does not verify over the received body */
	WIRE_ERR_BODY,          /* the body does not unpack, or a field is malformed */
	WIRE_ERR_VERSION,       /* protocol_version below the minimum (downgrade) */
	WIRE_ERR_AUDIENCE,      /* order for another agent / result from another agent */
	WIRE_ERR_NOT_YET_VALID, /* issued_at - skew > now */
	WIRE_ERR_EXPIRED,       /* now > expires_at + skew */
	WIRE_ERR_REPLAY,        /* order_id already accepted */
	WIRE_ERR_SEQUENCE,      /* sequence not above the last accepted one */
	WIRE_ERR_INTERNAL,      /* out of memory, bad arguments */
	WIRE_REASON_COUNT
};

/* "ok", "size", "decode", ... (stable names, for logs and OrderAck.reason). */
const char *wire_reason_name(enum wire_reason r);

/* The probe parameters (ProbeSpec). Strings are never NULL once decoded
 * (empty = default). Owned by the enclosing struct. */
struct wire_spec {
	char **targets;
	size_t n_targets;
	char **tests;
	size_t n_tests;
	char *tls_policy;
	char *rcpt_to;
	char *mail_from;
	char *ehlo_name;
	char *canary_domain;
	/* n_targets x n_tests tokens each, row-major, or none (n_canary 0). */
	char **canary_to;
	char **canary_from;
	size_t n_canary;
	char *contact;
	bool allow_data;
	uint32_t timeout_s;
	uint32_t retry_after_s;
	uint32_t port;
};

/* An order (OrderBody), plus the SHA-256 of the exact body bytes. */
struct wire_order {
	uint32_t protocol_version;
	uint8_t controller_key_id[KEYS_KEY_ID_LEN];
	char *audience;
	char *order_id;
	uint64_t sequence;
	uint64_t issued_at_ms;
	uint64_t expires_at_ms;
	struct wire_spec spec;
	uint8_t body_sha256[WIRE_SHA256_LEN]; /* set by sign and verify */
};

/* One result (ResultBody). */
struct wire_result {
	char *order_id;
	uint8_t order_body_sha256[WIRE_SHA256_LEN];
	char *agent_id;
	char *target;
	char *address;
	uint32_t port;
	char *verdict;
	uint8_t *result_json; /* result_json_len bytes, then a NUL */
	size_t result_json_len;
	uint64_t finished_at_ms;
};

/* Frees what the struct owns and zeroes it. Safe on a zeroed struct. */
void wire_order_clear(struct wire_order *o);
void wire_result_clear(struct wire_result *r);

/* Field checks shared by signing and verifying: ids, bounded strings and
 * counts, tls policy, test names. 0 or -1. */
int wire_order_check(const struct wire_order *o);
int wire_result_check(const struct wire_result *r);

/* Packs o as an OrderBody (controller_key_id and protocol_version taken from
 * o as given: set controller_key_id from keys_key_id()), signs it with the
 * controller's Ed25519 secret and packs the Envelope. *out is malloc'd (caller
 * frees), *out_len <= RP_WIRE_MSG_MAX. body_sha256 (may be NULL) receives the
 * body hash. -1 when o fails wire_order_check, the message would exceed
 * RP_WIRE_MSG_MAX, ctl has no secret, or on OOM. */
int wire_order_sign(const struct wire_order *o, const struct keys *ctl, uint8_t **out,
                    size_t *out_len, uint8_t body_sha256[WIRE_SHA256_LEN]);

/* Packs o like wire_order_sign but unsigned: no key id, no signature. For
 * the controller's store only (an order waiting for its turn is signed when
 * it leaves: wire_order_decode_own with a NULL key reads it); an agent
 * refuses it (WIRE_ERR_KEY). 0 / -1 as for wire_order_sign. */
int wire_order_draft(const struct wire_order *o, uint8_t **out, size_t *out_len);
/* What an agent checks an order against. */
struct wire_order_policy {
	const uint8_t *controller_pk;      /* pinned Ed25519 public key (32 bytes) */
	const char *agent_id;              /* this agent's id (the audience) */
	uint32_t min_protocol;             /* lowest protocol_version accepted */
	uint64_t now_ms;                   /* wall clock, ms since the epoch */
	uint64_t skew_ms;                  /* allowed clock skew, both ends */
	const struct replay_state *replay; /* accepted orders so far */
};

/* Verifies msg as a signed order, in this order: size cap, envelope unpack,
 * envelope version and kind, key id == pinned key (envelope and body), the
 * signature over the received body bytes, body unpack and field checks,
 * protocol version, audience, time window, replay set, sequence. On WIRE_OK
 * *out holds the order (caller clears it); otherwise *out is zeroed. Does not
 * change the replay state: on WIRE_OK the caller calls replay_state_accept()
 * and replay_state_save() before running the order. WIRE_ERR_REPLAY means the
 * order was already accepted: ack it again, do not run it. */
enum wire_reason wire_order_verify(const uint8_t *msg, size_t len,
                                   const struct wire_order_policy *pol, struct wire_order *out);

/* For the controller's own stored orders: decodes msg as an ORDER envelope
 * and body (bounds and field checks as in verify). With controller_pk, the
 * key id and signature are checked too (WIRE_ERR_KEY: signed by another
 * key, e.g. before a key rotation); with NULL they are not. No clock,
 * audience or replay checks. On WIRE_OK *out holds the order (caller
 * clears it). Never for bytes from a peer: use wire_order_verify. */
enum wire_reason wire_order_decode_own(const uint8_t *msg, size_t len, const uint8_t *controller_pk,
                                       struct wire_order *out);

/* Packs and signs a result with the agent's Ed25519 secret. As for orders. */
int wire_result_sign(const struct wire_result *r, const struct keys *agent, uint8_t **out,
                     size_t *out_len);

/* Verifies msg as a result signed by the agent whose Ed25519 public key is
 * agent_pk and whose id is agent_id: size, unpack, version/kind, key id,
 * signature, body, agent id (WIRE_ERR_AUDIENCE when it differs). Matching the
 * result to a stored order (order_id, order_body_sha256) is the caller's. */
enum wire_reason wire_result_verify(const uint8_t *msg, size_t len, const uint8_t *agent_pk,
                                    const char *agent_id, struct wire_result *out);

/* The kind of an envelope without verifying anything (size cap and unpack
 * only), for dispatch against an allowlist. -1 when it does not decode. */
int wire_envelope_kind(const uint8_t *msg, size_t len);

/* The one way msg becomes an outer Envelope (envelope.c, control.c): empty or
 * larger than RP_WIRE_MSG_MAX is refused before decoding. NULL with *why
 * (may be NULL) WIRE_ERR_SIZE or WIRE_ERR_DECODE; the caller frees the result
 * with relayprobe__v1__envelope__free_unpacked(). */
struct Relayprobe__V1__Envelope;
struct Relayprobe__V1__Envelope *wire_envelope_unpack(const uint8_t *msg, size_t len,
                                                      enum wire_reason *why);

#endif
