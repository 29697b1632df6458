/* control.c - packs and parses the unsigned relayprobe.v1 control messages
 * (Hello, OrderAck, ResultAck, OrderDone, Heartbeat) in an Envelope. Checks
 * RP_WIRE_MSG_MAX before decoding, the envelope version and kind, and bounds
 * every field (ids RP_WIRE_ID_MAX, labels RP_WIRE_LABELS_MAX/RP_WIRE_LABEL_MAX);
 * protobuf-c objects are freed in the function that unpacked them. */
#include "control.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "relayprobe.pb-c.h"
#include "rp_limits.h"
#include "syntax.h"

typedef Relayprobe__V1__Envelope Envelope;

/* Reasons, label values, the software version: printable ASCII text. */
static bool text_ok(const char *s, size_t max)
{
	return rp_text_ok(s, max, RP_TEXT_EMPTY);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* Packs a body message into an unsigned envelope of kind. */
static int pack_env(int kind, const ProtobufCMessage *body, uint8_t **out, size_t *out_len)
{
	Envelope env = RELAYPROBE__V1__ENVELOPE__INIT;
	uint8_t *b = NULL, *o = NULL;
	size_t blen = 0, olen;

	*out = NULL;
	*out_len = 0;
	if (body != NULL) {
		blen = protobuf_c_message_get_packed_size(body);
		if (blen > RP_WIRE_MSG_MAX)
			return -1;
		b = malloc(blen ? blen : 1);
		if (b == NULL)
			return -1;
		protobuf_c_message_pack(body, b);
	}
	env.version = WIRE_ENVELOPE_VERSION;
	env.kind = (Relayprobe__V1__Envelope__Kind)kind;
	env.body.data = b;
	env.body.len = blen;
	olen = relayprobe__v1__envelope__get_packed_size(&env);
	if (olen > RP_WIRE_MSG_MAX || (o = malloc(olen ? olen : 1)) == NULL) {
		free(b);
		return -1;
	}
	relayprobe__v1__envelope__pack(&env, o);
	free(b);
	*out = o;
	*out_len = olen;
	return 0;
}

/* Unpacks the envelope (size cap first), checks version and kind, and
 * unpacks its body with desc. NULL on any failure. Caller frees the body
 * with protobuf_c_message_free_unpacked. */
static ProtobufCMessage *unpack_env(const uint8_t *msg, size_t len, int kind,
                                    const ProtobufCMessageDescriptor *desc)
{
	Envelope *env = wire_envelope_unpack(msg, len, NULL);
	ProtobufCMessage *body = NULL;

	if (env == NULL)
		return NULL;
	if (env->version == WIRE_ENVELOPE_VERSION && (int)env->kind == kind)
		body = protobuf_c_message_unpack(desc, NULL, env->body.len, env->body.data);
	relayprobe__v1__envelope__free_unpacked(env, NULL);
	return body;
}

/* ---- Hello ---- */

void wire_ctl_hello_clear(struct wire_ctl_hello *h)
{
	if (h == NULL)
		return;
	free(h->agent_id);
	free(h->software_version);
	free_strv(h->label_keys, h->n_labels);
	free_strv(h->label_values, h->n_labels);
	free_strv(h->caps, h->n_caps);
	memset(h, 0, sizeof(*h));
}

static int hello_check(const struct wire_ctl_hello *h)
{
	if (!rp_token_ok(h->agent_id, RP_WIRE_ID_MAX, true) || /* a name: ctl.c */
	    !text_ok(h->software_version ? h->software_version : "", RP_WIRE_LABEL_MAX) ||
	    h->n_labels > RP_WIRE_LABELS_MAX || h->n_caps > RP_WIRE_CAPS_MAX)
		return -1;
	for (size_t i = 0; i < h->n_labels; i++)
		if (!rp_token_ok(h->label_keys[i], RP_WIRE_LABEL_MAX, true) ||
		    !text_ok(h->label_values[i], RP_WIRE_LABEL_MAX))
			return -1;
	for (size_t i = 0; i < h->n_caps; i++)
		if (!rp_token_ok(h->caps[i], RP_WIRE_LABEL_MAX, true))
			return -1;
	return 0;
}

int wire_ctl_hello_pack(const struct wire_ctl_hello *h, uint8_t **out, size_t *out_len)
{
	Relayprobe__V1__Hello m = RELAYPROBE__V1__HELLO__INIT;
	Relayprobe__V1__Hello__LabelsEntry *ents = NULL, **eptr = NULL;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (hello_check(h) < 0)
		return -1;
	m.agent_id = h->agent_id;
	m.software_version = h->software_version ? h->software_version : "";
	m.protocol_version = h->protocol_version;
	m.max_targets_per_order = h->max_targets_per_order;
	m.max_concurrency = h->max_concurrency;
	m.max_orders = h->max_orders;
	m.n_capabilities = h->n_caps;
	m.capabilities = h->caps;
	if (h->has_ed25519) {
		m.ed25519_public.data = (uint8_t *)h->ed25519_public;
		m.ed25519_public.len = KEYS_ED25519_PK_LEN;
	}
	if (h->n_labels > 0) {
		ents = calloc(h->n_labels, sizeof(*ents));
		eptr = calloc(h->n_labels, sizeof(*eptr));
		if (ents == NULL || eptr == NULL)
			goto out;
		for (size_t i = 0; i < h->n_labels; i++) {
			relayprobe__v1__hello__labels_entry__init(&ents[i]);
			ents[i].key = h->label_keys[i];
			ents[i].value = h->label_values[i];
			eptr[i] = &ents[i];
		}
		m.n_labels = h->n_labels;
		m.labels = eptr;
	}
	rc = pack_env(WIRE_KIND_HELLO, &m.base, out, out_len);
out:
	free(ents);
	free(eptr);
	return rc;
}

int wire_ctl_hello_parse(const uint8_t *msg, size_t len, struct wire_ctl_hello *out)
{
	Relayprobe__V1__Hello *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	m = (Relayprobe__V1__Hello *)unpack_env(msg, len, WIRE_KIND_HELLO,
	                                        &relayprobe__v1__hello__descriptor);
	if (m == NULL)
		return -1;
	if (m->n_labels > RP_WIRE_LABELS_MAX || m->n_capabilities > RP_WIRE_CAPS_MAX ||
	    (m->ed25519_public.len != 0 && m->ed25519_public.len != KEYS_ED25519_PK_LEN))
		goto out;
	out->agent_id = dup_or_empty(m->agent_id);
	out->software_version = dup_or_empty(m->software_version);
	out->protocol_version = m->protocol_version;
	out->max_targets_per_order = m->max_targets_per_order;
	out->max_concurrency = m->max_concurrency;
	out->max_orders = m->max_orders;
	if (out->agent_id == NULL || out->software_version == NULL)
		goto out;
	if (m->n_labels > 0) {
		out->label_keys = calloc(m->n_labels, sizeof(char *));
		out->label_values = calloc(m->n_labels, sizeof(char *));
		if (out->label_keys == NULL || out->label_values == NULL)
			goto out;
		out->n_labels = m->n_labels;
		for (size_t i = 0; i < m->n_labels; i++) {
			out->label_keys[i] = dup_or_empty(m->labels[i]->key);
			out->label_values[i] = dup_or_empty(m->labels[i]->value);
			if (out->label_keys[i] == NULL || out->label_values[i] == NULL)
				goto out;
		}
	}
	if (m->n_capabilities > 0) {
		out->caps = calloc(m->n_capabilities, sizeof(char *));
		if (out->caps == NULL)
			goto out;
		out->n_caps = m->n_capabilities;
		for (size_t i = 0; i < m->n_capabilities; i++)
			if ((out->caps[i] = dup_or_empty(m->capabilities[i])) == NULL)
				goto out;
	}
	if (m->ed25519_public.len == KEYS_ED25519_PK_LEN) {
		memcpy(out->ed25519_public, m->ed25519_public.data, KEYS_ED25519_PK_LEN);
		out->has_ed25519 = true;
	}
	rc = hello_check(out);
out:
	relayprobe__v1__hello__free_unpacked(m, NULL);
	if (rc < 0)
		wire_ctl_hello_clear(out);
	return rc;
}

/* ---- OrderAck ---- */

void wire_ctl_order_ack_clear(struct wire_ctl_order_ack *a)
{
	if (a == NULL)
		return;
	free(a->order_id);
	free(a->reason);
	memset(a, 0, sizeof(*a));
}

int wire_ctl_order_ack_pack(const struct wire_ctl_order_ack *a, uint8_t **out, size_t *out_len)
{
	Relayprobe__V1__OrderAck m = RELAYPROBE__V1__ORDER_ACK__INIT;

	*out = NULL;
	*out_len = 0;
	if (!rp_id_ok(RP_ID_ORDER, a->order_id) ||
	    !text_ok(a->reason ? a->reason : "", RP_WIRE_LABEL_MAX))
		return -1;
	m.order_id = a->order_id;
	m.committed = a->committed;
	m.reason = a->reason ? a->reason : "";
	m.sequence = a->sequence;
	return pack_env(WIRE_KIND_ORDER_ACK, &m.base, out, out_len);
}

int wire_ctl_order_ack_parse(const uint8_t *msg, size_t len, struct wire_ctl_order_ack *out)
{
	Relayprobe__V1__OrderAck *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	m = (Relayprobe__V1__OrderAck *)unpack_env(msg, len, WIRE_KIND_ORDER_ACK,
	                                           &relayprobe__v1__order_ack__descriptor);
	if (m == NULL)
		return -1;
	if (rp_id_ok(RP_ID_ORDER, m->order_id) && text_ok(m->reason, RP_WIRE_LABEL_MAX)) {
		out->order_id = strdup(m->order_id);
		out->reason = strdup(m->reason);
		out->committed = m->committed;
		out->sequence = m->sequence;
		if (out->order_id != NULL && out->reason != NULL)
			rc = 0;
	}
	relayprobe__v1__order_ack__free_unpacked(m, NULL);
	if (rc < 0)
		wire_ctl_order_ack_clear(out);
	return rc;
}

/* ---- ResultAck ---- */

void wire_ctl_result_ack_clear(struct wire_ctl_result_ack *a)
{
	if (a == NULL)
		return;
	free(a->order_id);
	free(a->target);
	free(a->address);
	memset(a, 0, sizeof(*a));
}

static bool result_ack_ok(const char *order_id, const char *target, const char *address,
                          uint32_t port)
{
	return rp_id_ok(RP_ID_ORDER, order_id) && rp_token_ok(target, RP_TARGET_LINE_MAX, false) &&
	       rp_token_ok(address, RP_WIRE_ID_MAX, false) && port <= 65535;
}

int wire_ctl_result_ack_pack(const struct wire_ctl_result_ack *a, uint8_t **out, size_t *out_len)
{
	Relayprobe__V1__ResultAck m = RELAYPROBE__V1__RESULT_ACK__INIT;
	const char *target = a->target ? a->target : "";
	const char *address = a->address ? a->address : "";

	*out = NULL;
	*out_len = 0;
	if (!result_ack_ok(a->order_id, target, address, a->port))
		return -1;
	m.order_id = a->order_id;
	m.target = (char *)target;
	m.address = (char *)address;
	m.port = a->port;
	m.committed = a->committed;
	return pack_env(WIRE_KIND_RESULT_ACK, &m.base, out, out_len);
}

int wire_ctl_result_ack_parse(const uint8_t *msg, size_t len, struct wire_ctl_result_ack *out)
{
	Relayprobe__V1__ResultAck *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	m = (Relayprobe__V1__ResultAck *)unpack_env(msg, len, WIRE_KIND_RESULT_ACK,
	                                            &relayprobe__v1__result_ack__descriptor);
	if (m == NULL)
		return -1;
	if (result_ack_ok(m->order_id, m->target, m->address, m->port)) {
		out->order_id = strdup(m->order_id);
		out->target = strdup(m->target);
		out->address = strdup(m->address);
		out->port = m->port;
		out->committed = m->committed;
		if (out->order_id && out->target && out->address)
			rc = 0;
	}
	relayprobe__v1__result_ack__free_unpacked(m, NULL);
	if (rc < 0)
		wire_ctl_result_ack_clear(out);
	return rc;
}

/* ---- OrderDone ---- */

void wire_ctl_order_done_clear(struct wire_ctl_order_done *d)
{
	if (d == NULL)
		return;
	free(d->order_id);
	memset(d, 0, sizeof(*d));
}

int wire_ctl_order_done_pack(const struct wire_ctl_order_done *d, uint8_t **out, size_t *out_len)
{
	Relayprobe__V1__OrderDone m = RELAYPROBE__V1__ORDER_DONE__INIT;

	*out = NULL;
	*out_len = 0;
	if (!rp_id_ok(RP_ID_ORDER, d->order_id))
		return -1;
	m.order_id = d->order_id;
	m.results = d->results;
	m.finished_at_ms = d->finished_at_ms;
	return pack_env(WIRE_KIND_ORDER_DONE, &m.base, out, out_len);
}

int wire_ctl_order_done_parse(const uint8_t *msg, size_t len, struct wire_ctl_order_done *out)
{
	Relayprobe__V1__OrderDone *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	m = (Relayprobe__V1__OrderDone *)unpack_env(msg, len, WIRE_KIND_ORDER_DONE,
	                                            &relayprobe__v1__order_done__descriptor);
	if (m == NULL)
		return -1;
	if (rp_id_ok(RP_ID_ORDER, m->order_id)) {
		out->order_id = strdup(m->order_id);
		out->results = m->results;
		out->finished_at_ms = m->finished_at_ms;
		if (out->order_id != NULL)
			rc = 0;
	}
	relayprobe__v1__order_done__free_unpacked(m, NULL);
	if (rc < 0)
		wire_ctl_order_done_clear(out);
	return rc;
}

int wire_ctl_heartbeat_pack(uint8_t **out, size_t *out_len)
{
	return pack_env(WIRE_KIND_HEARTBEAT, NULL, out, out_len);
}

int wire_ctl_envelope_body_sha256(const uint8_t *msg, size_t len, uint8_t out[WIRE_SHA256_LEN])
{
	Envelope *env = wire_envelope_unpack(msg, len, NULL);

	if (env == NULL)
		return -1;
	crypto_hash_sha256(out, env->body.data, env->body.len);
	relayprobe__v1__envelope__free_unpacked(env, NULL);
	return 0;
}
