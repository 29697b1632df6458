/* envelope.c - signs and verifies relayprobe.v1 envelopes: Ed25519 detached
 * signatures over "context\0" || body bytes, checked against the received
 * bytes (never a re-encoding). Enforces RP_WIRE_MSG_MAX before decoding (in
 * wire_envelope_unpack(), which control.c uses too) and bounds every decoded
 * field; protobuf-c objects are freed by the function that asked for them,
 * their contents copied into caller-owned structs. */
#include "envelope.h"

#include "canary_token.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialog.h"
#include "relay_tests.h"
#include "relayprobe.pb-c.h"
#include "rp_limits.h"
#include "rp_names.h"
#include "syntax.h"
#include "verdict.h"

typedef Relayprobe__V1__Envelope Envelope;
typedef Relayprobe__V1__OrderBody OrderBody;
typedef Relayprobe__V1__ProbeSpec ProbeSpec;
typedef Relayprobe__V1__ResultBody ResultBody;

#define KIND_ORDER  RELAYPROBE__V1__ENVELOPE__KIND__ORDER
#define KIND_RESULT RELAYPROBE__V1__ENVELOPE__KIND__RESULT
#define SIG_LEN     crypto_sign_BYTES
/* An address as dialled: an IPv6 literal is at most 45 characters. */
#define ADDRESS_MAX 64

static const char *const reason_names[] = {
    "ok",      "size",     "decode",        "envelope", "key",    "signature", "body",
    "version", "audience", "not-yet-valid", "expired",  "replay", "sequence",  "internal"};
RP_ENUM_TABLE_CHECK(reason_names, WIRE_REASON_COUNT);

const char *wire_reason_name(enum wire_reason r)
{
	return rp_name(reason_names, WIRE_REASON_COUNT, (int)r, "?");
}

/* ---- field checks ---- */

static bool test_name_ok(const char *t)
{
	size_t idx[RP_TESTS_MAX], n = 0;
	char err[128];

	return rp_token_ok(t, RP_WIRE_ID_MAX, true) && strchr(t, ',') == NULL &&
	       relay_tests_select(t, idx, RP_TESTS_MAX, &n, err, sizeof(err)) == 0;
}

/* The contact line: printable ASCII and spaces, no CR/LF (it becomes a
 * header-like line of the test message). */
static bool contact_ok(const char *c)
{
	if (c == NULL)
		return true; /* not set by the caller (encode side) */
	if (strlen(c) > RP_CANARY_CONTACT_MAX)
		return false;
	for (; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return false;
	return true;
}

static int spec_check(const struct wire_spec *s)
{
	if (s->n_targets == 0 || s->n_targets > RP_WIRE_ORDER_TARGETS_MAX ||
	    s->n_tests > RP_TESTS_MAX || s->port > 65535)
		return -1;
	for (size_t i = 0; i < s->n_targets; i++)
		if (!rp_token_ok(s->targets[i], RP_TARGET_LINE_MAX, true))
			return -1;
	for (size_t i = 0; i < s->n_tests; i++)
		if (!test_name_ok(s->tests[i]))
			return -1;
	if (s->tls_policy == NULL ||
	    (s->tls_policy[0] != '\0' && dialog_tls_policy_from_name(s->tls_policy) < 0))
		return -1;
	if (!rp_token_ok(s->rcpt_to, RP_ADDR_MAX, false) ||
	    !rp_token_ok(s->mail_from, RP_ADDR_MAX, false) ||
	    !rp_token_ok(s->ehlo_name, RP_DOMAIN_MAX, false) ||
	    !rp_token_ok(s->canary_domain, RP_DOMAIN_MAX, false) || !contact_ok(s->contact))
		return -1;
	if (s->n_canary > 0) {
		/* tokens for every (target, test), and a canary domain to send them to */
		if (s->n_tests == 0 || s->n_canary != s->n_targets * s->n_tests ||
		    s->canary_domain == NULL || s->canary_domain[0] == '\0')
			return -1;
		for (size_t i = 0; i < s->n_canary; i++)
			if (s->canary_to[i] == NULL || s->canary_from[i] == NULL ||
			    !canary_token_syntax(s->canary_to[i], strlen(s->canary_to[i])) ||
			    !canary_token_syntax(s->canary_from[i], strlen(s->canary_from[i])) ||
			    strncasecmp(s->canary_to[i], "rp-b-", 5) == 0 ||
			    strncasecmp(s->canary_from[i], "rp-b-", 5) != 0)
				return -1;
	}
	return 0;
}

int wire_order_check(const struct wire_order *o)
{
	if (o->audience == NULL || !keys_name_valid(o->audience) || o->order_id == NULL ||
	    !replay_order_id_valid(o->order_id) || o->expires_at_ms <= o->issued_at_ms)
		return -1;
	return spec_check(&o->spec);
}

int wire_result_check(const struct wire_result *r)
{
	if (r->order_id == NULL || !replay_order_id_valid(r->order_id) || r->agent_id == NULL ||
	    !keys_name_valid(r->agent_id) || !rp_token_ok(r->target, RP_TARGET_LINE_MAX, true) ||
	    !rp_token_ok(r->address, ADDRESS_MAX, false) || r->port > 65535 || r->verdict == NULL ||
	    dialog_verdict_from_name(r->verdict) < 0 || r->result_json_len > RP_WIRE_MSG_MAX ||
	    (r->result_json_len > 0 && r->result_json == NULL))
		return -1;
	return 0;
}

/* ---- clearing and copying ---- */

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void wire_order_clear(struct wire_order *o)
{
	struct wire_spec *s = &o->spec;

	free(o->audience);
	free(o->order_id);
	free_strv(s->targets, s->n_targets);
	free_strv(s->tests, s->n_tests);
	free(s->tls_policy);
	free(s->rcpt_to);
	free(s->mail_from);
	free(s->ehlo_name);
	free(s->canary_domain);
	free_strv(s->canary_to, s->n_canary);
	free_strv(s->canary_from, s->n_canary);
	free(s->contact);
	memset(o, 0, sizeof(*o));
}

void wire_result_clear(struct wire_result *r)
{
	free(r->order_id);
	free(r->agent_id);
	free(r->target);
	free(r->address);
	free(r->verdict);
	free(r->result_json);
	memset(r, 0, sizeof(*r));
}

/* protobuf-c gives "" for absent proto3 strings; NULL is treated the same. */
static int dup_into(char **dst, const char *src)
{
	*dst = strdup(src != NULL ? src : "");
	return *dst == NULL ? -1 : 0;
}

static int dup_strv(char ***dst, size_t *dst_n, char *const *src, size_t n)
{
	*dst = calloc(n > 0 ? n : 1, sizeof(char *));
	if (*dst == NULL)
		return -1;
	*dst_n = n;
	for (size_t i = 0; i < n; i++)
		if (dup_into(&(*dst)[i], src[i]) != 0)
			return -1;
	return 0;
}

/* Copies a decoded OrderBody into o. WIRE_ERR_BODY on a shape the bounds
 * refuse, WIRE_ERR_INTERNAL on OOM. */
static enum wire_reason order_copy(const OrderBody *b, struct wire_order *o)
{
	const ProbeSpec *ps = b->spec;
	struct wire_spec *s = &o->spec;

	if (ps == NULL || b->controller_key_id.len != KEYS_KEY_ID_LEN ||
	    ps->n_targets > RP_WIRE_ORDER_TARGETS_MAX || ps->n_tests > RP_TESTS_MAX ||
	    ps->n_canary_to != ps->n_canary_from)
		return WIRE_ERR_BODY;
	o->protocol_version = b->protocol_version;
	memcpy(o->controller_key_id, b->controller_key_id.data, KEYS_KEY_ID_LEN);
	o->sequence = b->sequence;
	o->issued_at_ms = b->issued_at_ms;
	o->expires_at_ms = b->expires_at_ms;
	s->allow_data = ps->allow_data;
	s->timeout_s = ps->timeout_s;
	s->retry_after_s = ps->retry_after_s;
	s->port = ps->port;
	if (dup_into(&o->audience, b->audience) || dup_into(&o->order_id, b->order_id) ||
	    dup_strv(&s->targets, &s->n_targets, ps->targets, ps->n_targets) ||
	    dup_strv(&s->tests, &s->n_tests, ps->tests, ps->n_tests) ||
	    dup_into(&s->tls_policy, ps->tls_policy) || dup_into(&s->rcpt_to, ps->rcpt_to) ||
	    dup_into(&s->mail_from, ps->mail_from) || dup_into(&s->ehlo_name, ps->ehlo_name) ||
	    dup_into(&s->canary_domain, ps->canary_domain) || dup_into(&s->contact, ps->contact))
		return WIRE_ERR_INTERNAL;
	if (ps->n_canary_to > 0) {
		size_t n = 0;

		if (dup_strv(&s->canary_to, &n, ps->canary_to, ps->n_canary_to) ||
		    dup_strv(&s->canary_from, &s->n_canary, ps->canary_from, ps->n_canary_from))
			return WIRE_ERR_INTERNAL;
	}
	return wire_order_check(o) == 0 ? WIRE_OK : WIRE_ERR_BODY;
}

static enum wire_reason result_copy(const ResultBody *b, struct wire_result *r)
{
	if (b->order_body_sha256.len != WIRE_SHA256_LEN)
		return WIRE_ERR_BODY;
	memcpy(r->order_body_sha256, b->order_body_sha256.data, WIRE_SHA256_LEN);
	r->port = b->port;
	r->finished_at_ms = b->finished_at_ms;
	if (dup_into(&r->order_id, b->order_id) || dup_into(&r->agent_id, b->agent_id) ||
	    dup_into(&r->target, b->target) || dup_into(&r->address, b->address) ||
	    dup_into(&r->verdict, b->verdict))
		return WIRE_ERR_INTERNAL;
	/* One byte more, always NUL: the JSON text can be used as a string. */
	r->result_json = malloc(b->result_json.len + 1);
	if (r->result_json == NULL)
		return WIRE_ERR_INTERNAL;
	if (b->result_json.len > 0)
		memcpy(r->result_json, b->result_json.data, b->result_json.len);
	r->result_json[b->result_json.len] = 0;
	r->result_json_len = b->result_json.len;
	return wire_result_check(r) == 0 ? WIRE_OK : WIRE_ERR_BODY;
}

/* ---- signing ---- */

/* malloc'd "ctx\0" || body; *n receives its length. */
static uint8_t *signed_bytes(const char *ctx, const uint8_t *body, size_t body_len, size_t *n)
{
	size_t clen = strlen(ctx) + 1;
	uint8_t *buf = malloc(clen + body_len);

	if (buf == NULL)
		return NULL;
	memcpy(buf, ctx, clen);
	if (body_len > 0)
		memcpy(buf + clen, body, body_len);
	*n = clen + body_len;
	return buf;
}

/* Signs body with k under ctx and packs the envelope into *out. */
static int envelope_seal(int kind, const char *ctx, const uint8_t *body, size_t body_len,
                         const struct keys *k, uint8_t **out, size_t *out_len)
{
	Envelope env = RELAYPROBE__V1__ENVELOPE__INIT;
	uint8_t sig[SIG_LEN], key_id[KEYS_KEY_ID_LEN];
	uint8_t *msg = NULL, *buf = NULL;
	size_t n = 0, size;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (sodium_init() < 0 || (k != NULL && !keys_has_secret(k)))
		return -1;
	/* k NULL: a draft, sealed with no key id and no signature. */
	memset(key_id, 0, sizeof(key_id));
	if (k != NULL) {
		buf = signed_bytes(ctx, body, body_len, &n);
		if (buf == NULL ||
		    crypto_sign_detached(sig, NULL, buf, n, keys_ed25519_secret(k)) != 0)
			goto out;
		memcpy(key_id, keys_key_id(k), sizeof(key_id));
	}
	env.version = WIRE_ENVELOPE_VERSION;
	env.kind = kind;
	env.key_id.data = key_id;
	env.key_id.len = sizeof(key_id);
	env.body.data = (uint8_t *)body;
	env.body.len = body_len;
	env.signature.data = sig;
	env.signature.len = k != NULL ? sizeof(sig) : 0;
	size = relayprobe__v1__envelope__get_packed_size(&env);
	if (size > RP_WIRE_MSG_MAX)
		goto out;
	msg = malloc(size > 0 ? size : 1);
	if (msg == NULL)
		goto out;
	relayprobe__v1__envelope__pack(&env, msg);
	*out = msg;
	*out_len = size;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* Packs the body message m (at most RP_WIRE_MSG_MAX bytes) and seals it in
 * an Envelope of kind, signed by k under ctx (a draft when k is NULL);
 * body_sha256, when given, receives the hash of the packed body. 0 / -1. */
static int body_seal(const ProtobufCMessage *m, int kind, const char *ctx, const struct keys *k,
                     uint8_t **out, size_t *out_len, uint8_t body_sha256[WIRE_SHA256_LEN])
{
	size_t size = protobuf_c_message_get_packed_size(m);
	uint8_t *body;
	int rc;

	if (size > RP_WIRE_MSG_MAX)
		return -1;
	body = malloc(size > 0 ? size : 1);
	if (body == NULL)
		return -1;
	protobuf_c_message_pack(m, body);
	if (body_sha256 != NULL)
		crypto_hash_sha256(body_sha256, body, size);
	rc = envelope_seal(kind, ctx, body, size, k, out, out_len);
	free(body);
	return rc;
}

/* Packs o as an OrderBody in an Envelope, signed by ctl, or a draft when
 * ctl is NULL. */
static int order_seal(const struct wire_order *o, const struct keys *ctl, uint8_t **out,
                      size_t *out_len, uint8_t body_sha256[WIRE_SHA256_LEN])
{
	OrderBody b = RELAYPROBE__V1__ORDER_BODY__INIT;
	ProbeSpec ps = RELAYPROBE__V1__PROBE_SPEC__INIT;
	const struct wire_spec *s = &o->spec;

	*out = NULL;
	*out_len = 0;
	if (wire_order_check(o) != 0)
		return -1;
	ps.n_targets = s->n_targets;
	ps.targets = s->targets;
	ps.n_tests = s->n_tests;
	ps.tests = s->tests;
	ps.tls_policy = s->tls_policy;
	ps.rcpt_to = s->rcpt_to;
	ps.mail_from = s->mail_from;
	ps.ehlo_name = s->ehlo_name;
	ps.canary_domain = s->canary_domain;
	ps.n_canary_to = ps.n_canary_from = s->n_canary;
	ps.canary_to = s->canary_to;
	ps.canary_from = s->canary_from;
	ps.contact = s->contact ? s->contact : (char *)"";
	ps.allow_data = s->allow_data;
	ps.timeout_s = s->timeout_s;
	ps.retry_after_s = s->retry_after_s;
	ps.port = s->port;
	b.protocol_version = o->protocol_version;
	b.controller_key_id.data = (uint8_t *)o->controller_key_id;
	b.controller_key_id.len = KEYS_KEY_ID_LEN;
	b.audience = o->audience;
	b.order_id = o->order_id;
	b.sequence = o->sequence;
	b.issued_at_ms = o->issued_at_ms;
	b.expires_at_ms = o->expires_at_ms;
	b.spec = &ps;
	return body_seal(&b.base, KIND_ORDER, WIRE_CTX_ORDER, ctl, out, out_len, body_sha256);
}

int wire_order_sign(const struct wire_order *o, const struct keys *ctl, uint8_t **out,
                    size_t *out_len, uint8_t body_sha256[WIRE_SHA256_LEN])
{
	if (ctl == NULL) {
		*out = NULL;
		*out_len = 0;
		return -1;
	}
	return order_seal(o, ctl, out, out_len, body_sha256);
}

int wire_order_draft(const struct wire_order *o, uint8_t **out, size_t *out_len)
{
	return order_seal(o, NULL, out, out_len, NULL);
}

int wire_result_sign(const struct wire_result *r, const struct keys *agent, uint8_t **out,
                     size_t *out_len)
{
	ResultBody b = RELAYPROBE__V1__RESULT_BODY__INIT;

	*out = NULL;
	*out_len = 0;
	if (wire_result_check(r) != 0)
		return -1;
	b.order_id = r->order_id;
	b.order_body_sha256.data = (uint8_t *)r->order_body_sha256;
	b.order_body_sha256.len = WIRE_SHA256_LEN;
	b.agent_id = r->agent_id;
	b.target = r->target;
	b.address = r->address;
	b.port = r->port;
	b.verdict = r->verdict;
	b.result_json.data = r->result_json;
	b.result_json.len = r->result_json_len;
	b.finished_at_ms = r->finished_at_ms;
	return body_seal(&b.base, KIND_RESULT, WIRE_CTX_RESULT, agent, out, out_len, NULL);
}

/* ---- verifying ---- */

/* Envelope version and kind, key id, then the signature over the body bytes
 * exactly as received. */
static enum wire_reason envelope_check(const Envelope *env, int kind, const char *ctx,
                                       const uint8_t *pk)
{
	uint8_t want_id[KEYS_KEY_ID_LEN];
	uint8_t *buf;
	size_t n = 0;
	int ok;

	if (env->version != WIRE_ENVELOPE_VERSION || (int)env->kind != kind)
		return WIRE_ERR_ENVELOPE;
	keys_key_id_of(pk, want_id);
	if (env->key_id.len != KEYS_KEY_ID_LEN ||
	    sodium_memcmp(env->key_id.data, want_id, KEYS_KEY_ID_LEN) != 0)
		return WIRE_ERR_KEY;
	if (env->signature.len != SIG_LEN)
		return WIRE_ERR_SIGNATURE;
	buf = signed_bytes(ctx, env->body.data, env->body.len, &n);
	if (buf == NULL)
		return WIRE_ERR_INTERNAL;
	ok = crypto_sign_verify_detached(env->signature.data, buf, n, pk) == 0;
	free(buf);
	return ok ? WIRE_OK : WIRE_ERR_SIGNATURE;
}

/* Checks after the signature: version, audience, time window, replay,
 * sequence. */
static enum wire_reason order_policy(const struct wire_order *o, const struct wire_order_policy *p)
{
	uint8_t want_id[KEYS_KEY_ID_LEN];

	keys_key_id_of(p->controller_pk, want_id);
	if (memcmp(o->controller_key_id, want_id, KEYS_KEY_ID_LEN) != 0)
		return WIRE_ERR_KEY;
	if (o->protocol_version < p->min_protocol)
		return WIRE_ERR_VERSION;
	if (strcmp(o->audience, p->agent_id) != 0)
		return WIRE_ERR_AUDIENCE;
	if (o->issued_at_ms > p->now_ms && o->issued_at_ms - p->now_ms > p->skew_ms)
		return WIRE_ERR_NOT_YET_VALID;
	if (p->now_ms > o->expires_at_ms && p->now_ms - o->expires_at_ms > p->skew_ms)
		return WIRE_ERR_EXPIRED;
	if (replay_state_seen(p->replay, o->order_id))
		return WIRE_ERR_REPLAY;
	if (o->sequence <= replay_state_last_sequence(p->replay))
		return WIRE_ERR_SEQUENCE;
	return WIRE_OK;
}

/* Size, envelope, then (pk given) key id and signature, or (pk NULL) only
 * version and kind; then the body, its field checks and its SHA-256. */
static enum wire_reason order_decode(const uint8_t *msg, size_t len, const uint8_t *pk,
                                     struct wire_order *out)
{
	Envelope *env = NULL;
	OrderBody *b = NULL;
	enum wire_reason r = WIRE_OK;

	memset(out, 0, sizeof(*out));
	env = wire_envelope_unpack(msg, len, &r);
	if (env == NULL)
		return r;
	if (pk != NULL)
		r = envelope_check(env, KIND_ORDER, WIRE_CTX_ORDER, pk);
	else if (env->version != WIRE_ENVELOPE_VERSION || (int)env->kind != KIND_ORDER)
		r = WIRE_ERR_ENVELOPE;
	if (r == WIRE_OK) {
		b = relayprobe__v1__order_body__unpack(NULL, env->body.len, env->body.data);
		r = b == NULL ? WIRE_ERR_BODY : order_copy(b, out);
		if (b != NULL)
			relayprobe__v1__order_body__free_unpacked(b, NULL);
	}
	if (r == WIRE_OK)
		crypto_hash_sha256(out->body_sha256, env->body.data, env->body.len);
	relayprobe__v1__envelope__free_unpacked(env, NULL);
	if (r != WIRE_OK)
		wire_order_clear(out);
	return r;
}

enum wire_reason wire_order_verify(const uint8_t *msg, size_t len,
                                   const struct wire_order_policy *pol, struct wire_order *out)
{
	enum wire_reason r;

	memset(out, 0, sizeof(*out));
	if (pol == NULL || pol->controller_pk == NULL || pol->agent_id == NULL ||
	    pol->replay == NULL || sodium_init() < 0)
		return WIRE_ERR_INTERNAL;
	r = order_decode(msg, len, pol->controller_pk, out);
	if (r == WIRE_OK && (r = order_policy(out, pol)) != WIRE_OK)
		wire_order_clear(out);
	return r;
}

enum wire_reason wire_order_decode_own(const uint8_t *msg, size_t len, const uint8_t *controller_pk,
                                       struct wire_order *out)
{
	memset(out, 0, sizeof(*out));
	if (sodium_init() < 0)
		return WIRE_ERR_INTERNAL;
	return order_decode(msg, len, controller_pk, out);
}

enum wire_reason wire_result_verify(const uint8_t *msg, size_t len, const uint8_t *agent_pk,
                                    const char *agent_id, struct wire_result *out)
{
	Envelope *env = NULL;
	ResultBody *b = NULL;
	enum wire_reason r;

	memset(out, 0, sizeof(*out));
	if (agent_pk == NULL || agent_id == NULL || sodium_init() < 0)
		return WIRE_ERR_INTERNAL;
	env = wire_envelope_unpack(msg, len, &r);
	if (env == NULL)
		return r;
	r = envelope_check(env, KIND_RESULT, WIRE_CTX_RESULT, agent_pk);
	if (r == WIRE_OK) {
		b = relayprobe__v1__result_body__unpack(NULL, env->body.len, env->body.data);
		r = b == NULL ? WIRE_ERR_BODY : result_copy(b, out);
		if (b != NULL)
			relayprobe__v1__result_body__free_unpacked(b, NULL);
	}
	if (r == WIRE_OK && strcmp(out->agent_id, agent_id) != 0)
		r = WIRE_ERR_AUDIENCE;
	relayprobe__v1__envelope__free_unpacked(env, NULL);
	if (r != WIRE_OK)
		wire_result_clear(out);
	return r;
}

int wire_envelope_kind(const uint8_t *msg, size_t len)
{
	Envelope *env = wire_envelope_unpack(msg, len, NULL);
	int kind;

	if (env == NULL)
		return -1;
	kind = (int)env->kind;
	relayprobe__v1__envelope__free_unpacked(env, NULL);
	return kind;
}

Envelope *wire_envelope_unpack(const uint8_t *msg, size_t len, enum wire_reason *why)
{
	Envelope *env = NULL;
	enum wire_reason r = WIRE_ERR_SIZE;

	if (msg != NULL && len > 0 && len <= RP_WIRE_MSG_MAX) {
		env = relayprobe__v1__envelope__unpack(NULL, len, msg);
		r = WIRE_ERR_DECODE;
	}
	if (env == NULL && why != NULL)
		*why = r;
	return env;
}
