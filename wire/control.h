/* control.h - the unsigned control messages of relayprobe.v1 (Hello,
 * OrderAck, ResultAck, OrderDone) packed into and parsed out of an Envelope,
 * plus the hash of a stored signed order's body. Parsers check the size cap
 * before decoding, the envelope version and kind, and bound every field
 * (RP_WIRE_* in common/rp_limits.h); decoded data is copied into the
 * caller-owned structs below (release with the matching _clear). */
#ifndef RP_WIRE_CONTROL_H
#define RP_WIRE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "keys.h"

/* Envelope kinds (values of proto Envelope.Kind). */
enum wire_ctl_kind {
	WIRE_KIND_ORDER = 1,
	WIRE_KIND_RESULT = 2,
	WIRE_KIND_HELLO = 3,
	WIRE_KIND_ORDER_ACK = 4,
	WIRE_KIND_RESULT_ACK = 5,
	WIRE_KIND_HEARTBEAT = 6,
	WIRE_KIND_ORDER_DONE = 7
};

struct wire_ctl_hello {
	char *agent_id;
	char *software_version;
	uint32_t protocol_version;
	size_t n_labels;
	char **label_keys; /* n_labels each */
	char **label_values;
	size_t n_caps;
	char **caps;
	uint32_t max_targets_per_order; /* 0 = not said */
	uint32_t max_concurrency;
	uint32_t max_orders; /* orders taken at once; 0 = not said (an old agent) */
	bool has_ed25519;
	uint8_t ed25519_public[KEYS_ED25519_PK_LEN];
};

struct wire_ctl_order_ack {
	char *order_id;
	bool committed;
	char *reason;
	uint64_t sequence; /* of the copy answered; 0 = not known */
};

struct wire_ctl_result_ack {
	char *order_id;
	char *target; /* "" acks an OrderDone */
	char *address;
	uint32_t port;
	bool committed;
};

struct wire_ctl_order_done {
	char *order_id;
	uint32_t results;
	uint64_t finished_at_ms;
};

void wire_ctl_hello_clear(struct wire_ctl_hello *h);
void wire_ctl_order_ack_clear(struct wire_ctl_order_ack *a);
void wire_ctl_result_ack_clear(struct wire_ctl_result_ack *a);
void wire_ctl_order_done_clear(struct wire_ctl_order_done *d);

/* Pack as a complete Envelope (version 1, right kind, no signature). *out is
 * malloc'd (caller frees). 0, or -1 on a field out of bounds or OOM. */
int wire_ctl_hello_pack(const struct wire_ctl_hello *h, uint8_t **out, size_t *out_len);
int wire_ctl_order_ack_pack(const struct wire_ctl_order_ack *a, uint8_t **out, size_t *out_len);
int wire_ctl_result_ack_pack(const struct wire_ctl_result_ack *a, uint8_t **out, size_t *out_len);
int wire_ctl_order_done_pack(const struct wire_ctl_order_done *d, uint8_t **out, size_t *out_len);
/* An empty HEARTBEAT envelope. */
int wire_ctl_heartbeat_pack(uint8_t **out, size_t *out_len);

/* Parse a whole Envelope of the matching kind. On 0 *out is filled (caller
 * clears it); on -1 (size, decode, kind, bounds) *out is zeroed. */
int wire_ctl_hello_parse(const uint8_t *msg, size_t len, struct wire_ctl_hello *out);
int wire_ctl_order_ack_parse(const uint8_t *msg, size_t len, struct wire_ctl_order_ack *out);
int wire_ctl_result_ack_parse(const uint8_t *msg, size_t len, struct wire_ctl_result_ack *out);
int wire_ctl_order_done_parse(const uint8_t *msg, size_t len, struct wire_ctl_order_done *out);

/* SHA-256 of the body bytes of a (stored) envelope: for a signed ORDER, the
 * hash a RESULT's order_body_sha256 must carry. 0 or -1. */
int wire_ctl_envelope_body_sha256(const uint8_t *msg, size_t len, uint8_t out[WIRE_SHA256_LEN]);

#endif
