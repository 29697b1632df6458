/* test_envelope.c - wire/envelope.c: signed orders and results round trip,
 * and every forged, misaddressed, stale, replayed, truncated, oversize or
 * garbage message is refused with the reason the agent logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "canary_token.h"
#include "envelope.h"
#include "relayprobe.pb-c.h"
#include "rp_limits.h"

#define NOW   1700000000000ULL
#define SKEW  60000ULL
#define HOUR  3600000ULL
#define AGENT "agent-1"

struct fx {
	struct keys *ctl;
	struct keys *other_ctl;
	struct keys *agent;
	struct replay_state *rs;
	struct wire_order_policy pol;
	/* the order being built; strings point into the arrays below */
	struct wire_order o;
	char *targets[2];
	char *tests[1];
};

static int setup(void **state)
{
	static char t0[] = "127.0.0.1:2525", t1[] = "mx.example.test", tst[] = "nmap";
	static char aud[] = AGENT, oid[] = "audit7:order-1", tls[] = "auto", empty[] = "";
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->ctl = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
	fx->other_ctl = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
	fx->agent = keys_generate(KEYS_ROLE_AGENT, AGENT);
	fx->rs = replay_state_new();
	assert_non_null(fx->ctl);
	assert_non_null(fx->other_ctl);
	assert_non_null(fx->agent);
	assert_non_null(fx->rs);
	fx->pol = (struct wire_order_policy){.controller_pk = keys_ed25519_public(fx->ctl),
	                                     .agent_id = AGENT,
	                                     .min_protocol = WIRE_PROTOCOL_VERSION,
	                                     .now_ms = NOW,
	                                     .skew_ms = SKEW,
	                                     .replay = fx->rs};
	fx->targets[0] = t0;
	fx->targets[1] = t1;
	fx->tests[0] = tst;
	fx->o.protocol_version = WIRE_PROTOCOL_VERSION;
	memcpy(fx->o.controller_key_id, keys_key_id(fx->ctl), KEYS_KEY_ID_LEN);
	fx->o.audience = aud;
	fx->o.order_id = oid;
	fx->o.sequence = 10;
	fx->o.issued_at_ms = NOW - 1000;
	fx->o.expires_at_ms = NOW + HOUR;
	fx->o.spec = (struct wire_spec){.targets = fx->targets,
	                                .n_targets = 2,
	                                .tests = fx->tests,
	                                .n_tests = 1,
	                                .tls_policy = tls,
	                                .rcpt_to = empty,
	                                .mail_from = empty,
	                                .ehlo_name = empty,
	                                .canary_domain = empty,
	                                .timeout_s = 30,
	                                .port = 25};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	keys_free(&fx->ctl);
	keys_free(&fx->other_ctl);
	keys_free(&fx->agent);
	replay_state_free(&fx->rs);
	free(fx);
	return 0;
}

/* Signs fx->o with k; the caller frees the message. */
static uint8_t *sign_with(struct fx *fx, const struct keys *k, size_t *len)
{
	uint8_t *msg = NULL;

	assert_int_equal(wire_order_sign(&fx->o, k, &msg, len, NULL), 0);
	assert_non_null(msg);
	return msg;
}

static void expect(struct fx *fx, const uint8_t *msg, size_t len, enum wire_reason want)
{
	struct wire_order got;
	enum wire_reason r = wire_order_verify(msg, len, &fx->pol, &got);

	if (r != want)
		fail_msg("verify: got %s, want %s", wire_reason_name(r), wire_reason_name(want));
	if (r != WIRE_OK)
		assert_null(got.order_id); /* nothing handed out on refusal */
	wire_order_clear(&got);
}

/* Signs fx->o with the controller and expects want. */
static void expect_order(struct fx *fx, enum wire_reason want)
{
	size_t len = 0;
	uint8_t *msg = sign_with(fx, fx->ctl, &len);

	expect(fx, msg, len, want);
	free(msg);
}

/* Re-packs an envelope after mutate() changed it. */
static uint8_t *repack(const uint8_t *msg, size_t len, size_t *out_len,
                       void (*mutate)(Relayprobe__V1__Envelope *, void *), void *arg)
{
	Relayprobe__V1__Envelope *env = relayprobe__v1__envelope__unpack(NULL, len, msg);
	uint8_t *out;

	assert_non_null(env);
	mutate(env, arg);
	*out_len = relayprobe__v1__envelope__get_packed_size(env);
	out = malloc(*out_len);
	assert_non_null(out);
	relayprobe__v1__envelope__pack(env, out);
	relayprobe__v1__envelope__free_unpacked(env, NULL);
	return out;
}

static void flip_body(Relayprobe__V1__Envelope *e, void *arg)
{
	e->body.data[*(size_t *)arg % e->body.len] ^= 0x01;
}
static void flip_sig(Relayprobe__V1__Envelope *e, void *arg)
{
	e->signature.data[*(size_t *)arg % e->signature.len] ^= 0x80;
}
static void set_key_id(Relayprobe__V1__Envelope *e, void *arg)
{
	memcpy(e->key_id.data, arg, KEYS_KEY_ID_LEN);
}
static void set_kind(Relayprobe__V1__Envelope *e, void *arg)
{
	e->kind = *(int *)arg;
}
static void set_version(Relayprobe__V1__Envelope *e, void *arg)
{
	e->version = *(uint32_t *)arg;
}

static void test_round_trip(void **state)
{
	struct fx *fx = *state;
	struct wire_order got;
	uint8_t *msg = NULL, hash[32], want_hash[32];
	size_t len = 0;
	Relayprobe__V1__Envelope *env;

	assert_int_equal(wire_order_sign(&fx->o, fx->ctl, &msg, &len, hash), 0);
	assert_true(len > 0 && len <= RP_WIRE_MSG_MAX);
	assert_int_equal(wire_envelope_kind(msg, len), RELAYPROBE__V1__ENVELOPE__KIND__ORDER);
	/* The hash is of the exact body bytes inside the envelope. */
	env = relayprobe__v1__envelope__unpack(NULL, len, msg);
	assert_non_null(env);
	crypto_hash_sha256(want_hash, env->body.data, env->body.len);
	assert_memory_equal(hash, want_hash, 32);
	assert_int_equal(env->signature.len, 64);
	assert_memory_equal(env->key_id.data, keys_key_id(fx->ctl), 8);
	relayprobe__v1__envelope__free_unpacked(env, NULL);

	assert_int_equal(wire_order_verify(msg, len, &fx->pol, &got), WIRE_OK);
	assert_string_equal(got.order_id, "audit7:order-1");
	assert_string_equal(got.audience, AGENT);
	assert_int_equal(got.sequence, 10);
	assert_int_equal(got.issued_at_ms, NOW - 1000);
	assert_int_equal(got.expires_at_ms, NOW + HOUR);
	assert_int_equal(got.spec.n_targets, 2);
	assert_string_equal(got.spec.targets[0], "127.0.0.1:2525");
	assert_string_equal(got.spec.targets[1], "mx.example.test");
	assert_int_equal(got.spec.n_tests, 1);
	assert_string_equal(got.spec.tests[0], "nmap");
	assert_string_equal(got.spec.tls_policy, "auto");
	assert_string_equal(got.spec.rcpt_to, "");
	assert_int_equal(got.spec.timeout_s, 30);
	assert_int_equal(got.spec.port, 25);
	assert_false(got.spec.allow_data);
	assert_memory_equal(got.body_sha256, hash, 32);

	/* Accept it: the same order again is a replay; the next one passes. */
	assert_int_equal(replay_state_accept(fx->rs, got.order_id, got.sequence), 0);
	wire_order_clear(&got);
	assert_null(got.order_id);
	expect(fx, msg, len, WIRE_ERR_REPLAY);
	free(msg);
	fx->o.order_id = (char *)"audit7:order-2";
	fx->o.sequence = 11;
	expect_order(fx, WIRE_OK);
}

static void test_forged_body_and_signature(void **state)
{
	struct fx *fx = *state;
	size_t len = 0, flen = 0;
	uint8_t *msg = sign_with(fx, fx->ctl, &len), *forged;
	size_t positions[] = {0, 1, 7, 20, 33, 1000};

	for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
		forged = repack(msg, len, &flen, flip_body, &positions[i]);
		expect(fx, forged, flen, WIRE_ERR_SIGNATURE);
		free(forged);
		forged = repack(msg, len, &flen, flip_sig, &positions[i]);
		expect(fx, forged, flen, WIRE_ERR_SIGNATURE);
		free(forged);
	}
	free(msg);
}

static void test_wrong_key(void **state)
{
	struct fx *fx = *state;
	size_t len = 0, flen = 0;
	uint8_t *msg = sign_with(fx, fx->other_ctl, &len), *forged;
	uint8_t pinned_id[KEYS_KEY_ID_LEN];

	/* Signed by another controller: its key id is not the pinned one. */
	expect(fx, msg, len, WIRE_ERR_KEY);
	/* Same, with the pinned key id written in: the signature fails. */
	memcpy(pinned_id, keys_key_id(fx->ctl), sizeof(pinned_id));
	forged = repack(msg, len, &flen, set_key_id, pinned_id);
	expect(fx, forged, flen, WIRE_ERR_SIGNATURE);
	free(forged);
	free(msg);
	/* Signed by the pinned key, but the body names another controller key. */
	memcpy(fx->o.controller_key_id, keys_key_id(fx->other_ctl), KEYS_KEY_ID_LEN);
	expect_order(fx, WIRE_ERR_KEY);
	/* An agent's key cannot sign orders either. */
	memcpy(fx->o.controller_key_id, keys_key_id(fx->ctl), KEYS_KEY_ID_LEN);
	msg = sign_with(fx, fx->agent, &len);
	expect(fx, msg, len, WIRE_ERR_KEY);
	free(msg);
}

/* The controller's decoder for its own stored orders: with its key, the
 * key and signature are checked; without, any well-formed signed order
 * decodes (a previous key's); clock and replay never matter; garbage and
 * results are refused. */
static void test_decode_own(void **state)
{
	struct fx *fx = *state;
	struct wire_order got;
	size_t len = 0, rlen = 0;
	uint8_t *msg, *res = NULL;
	struct wire_result r = {.order_id = fx->o.order_id,
	                        .agent_id = fx->o.audience,
	                        .target = fx->targets[0],
	                        .address = "",
	                        .verdict = "closed",
	                        .result_json = (uint8_t *)"{}",
	                        .result_json_len = 2};

	fx->o.expires_at_ms = NOW - HOUR; /* long expired: irrelevant here */
	fx->o.issued_at_ms = NOW - 2 * HOUR;
	msg = sign_with(fx, fx->other_ctl, &len);
	assert_int_equal(wire_order_decode_own(msg, len, keys_ed25519_public(fx->ctl), &got),
	                 WIRE_ERR_KEY);
	assert_null(got.order_id);
	assert_int_equal(wire_order_decode_own(msg, len, keys_ed25519_public(fx->other_ctl), &got),
	                 WIRE_OK);
	wire_order_clear(&got);
	assert_int_equal(wire_order_decode_own(msg, len, NULL, &got), WIRE_OK);
	assert_string_equal(got.order_id, fx->o.order_id);
	assert_int_equal(got.sequence, fx->o.sequence);
	assert_int_equal(got.spec.n_targets, 2);
	wire_order_clear(&got);
	assert_int_equal(wire_order_decode_own(msg, len / 2, NULL, &got), WIRE_ERR_DECODE);
	assert_int_equal(wire_order_decode_own(msg, 0, NULL, &got), WIRE_ERR_SIZE);
	free(msg);
	assert_int_equal(wire_result_sign(&r, fx->agent, &res, &rlen), 0);
	assert_int_equal(wire_order_decode_own(res, rlen, NULL, &got), WIRE_ERR_ENVELOPE);
	free(res);
}

static void test_envelope_fields(void **state)
{
	struct fx *fx = *state;
	size_t len = 0, flen = 0;
	uint8_t *msg = sign_with(fx, fx->ctl, &len), *forged;
	int kind = RELAYPROBE__V1__ENVELOPE__KIND__RESULT;
	uint32_t version = 2;

	forged = repack(msg, len, &flen, set_kind, &kind);
	expect(fx, forged, flen, WIRE_ERR_ENVELOPE);
	free(forged);
	kind = RELAYPROBE__V1__ENVELOPE__KIND__HELLO;
	forged = repack(msg, len, &flen, set_kind, &kind);
	expect(fx, forged, flen, WIRE_ERR_ENVELOPE);
	free(forged);
	forged = repack(msg, len, &flen, set_version, &version);
	expect(fx, forged, flen, WIRE_ERR_ENVELOPE);
	free(forged);
	free(msg);
}

static void test_replay_and_sequence(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(replay_state_accept(fx->rs, "audit7:order-1", 5), 0);
	/* Same id, higher sequence: still a replay. */
	fx->o.sequence = 6;
	expect_order(fx, WIRE_ERR_REPLAY);
	/* New id, sequence equal to or below the last one. */
	fx->o.order_id = (char *)"audit7:order-9";
	fx->o.sequence = 5;
	expect_order(fx, WIRE_ERR_SEQUENCE);
	fx->o.sequence = 4;
	expect_order(fx, WIRE_ERR_SEQUENCE);
	fx->o.sequence = 0;
	expect_order(fx, WIRE_ERR_SEQUENCE);
	fx->o.sequence = 6;
	expect_order(fx, WIRE_OK);
}

static void test_time_window(void **state)
{
	struct fx *fx = *state;

	fx->o.issued_at_ms = NOW - 2 * HOUR;
	fx->o.expires_at_ms = NOW - SKEW - 1;
	expect_order(fx, WIRE_ERR_EXPIRED);
	fx->o.expires_at_ms = NOW - SKEW; /* at the edge of the skew: still valid */
	expect_order(fx, WIRE_OK);
	fx->o.issued_at_ms = NOW + SKEW + 1;
	fx->o.expires_at_ms = NOW + HOUR;
	expect_order(fx, WIRE_ERR_NOT_YET_VALID);
	fx->o.issued_at_ms = NOW + SKEW;
	expect_order(fx, WIRE_OK);
	/* A window that ends before it starts cannot even be signed. */
	fx->o.expires_at_ms = fx->o.issued_at_ms;
	{
		uint8_t *msg = (uint8_t *)"x";
		size_t len = 1;
		assert_int_equal(wire_order_sign(&fx->o, fx->ctl, &msg, &len, NULL), -1);
		assert_null(msg);
	}
}

static void test_audience_and_version(void **state)
{
	struct fx *fx = *state;

	fx->o.audience = (char *)"agent-2";
	expect_order(fx, WIRE_ERR_AUDIENCE);
	fx->o.audience = (char *)AGENT;
	fx->pol.min_protocol = WIRE_PROTOCOL_VERSION + 1;
	expect_order(fx, WIRE_ERR_VERSION);
	fx->o.protocol_version = WIRE_PROTOCOL_VERSION + 1;
	expect_order(fx, WIRE_OK);
	fx->o.protocol_version = 0;
	expect_order(fx, WIRE_ERR_VERSION);
}

static void test_truncated(void **state)
{
	struct fx *fx = *state;
	size_t len = 0;
	uint8_t *msg = sign_with(fx, fx->ctl, &len);
	struct wire_order got;

	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut > 0 ? cut : 1);
		enum wire_reason r;
		assert_non_null(copy);
		memcpy(copy, msg, cut);
		r = wire_order_verify(copy, cut, &fx->pol, &got);
		/* Never accepted, and never past the signature check. */
		if (r != WIRE_ERR_SIZE && r != WIRE_ERR_DECODE && r != WIRE_ERR_ENVELOPE &&
		    r != WIRE_ERR_KEY && r != WIRE_ERR_SIGNATURE)
			fail_msg("cut at %zu of %zu: %s", cut, len, wire_reason_name(r));
		if (cut == 0)
			assert_int_equal(r, WIRE_ERR_SIZE);
		free(copy);
	}
	free(msg);
}

static void test_oversize_and_garbage(void **state)
{
	struct fx *fx = *state;
	size_t len = 0;
	uint8_t *msg = sign_with(fx, fx->ctl, &len);
	uint8_t *big = calloc(1, RP_WIRE_MSG_MAX + 1);
	uint8_t garbage[256];

	/* A valid order followed by padding past the cap: refused on size alone. */
	assert_non_null(big);
	memcpy(big, msg, len);
	expect(fx, big, RP_WIRE_MSG_MAX + 1, WIRE_ERR_SIZE);
	expect(fx, NULL, 0, WIRE_ERR_SIZE);
	free(big);
	memset(garbage, 0xff, sizeof(garbage));
	expect(fx, garbage, sizeof(garbage), WIRE_ERR_DECODE);
	assert_int_equal(wire_envelope_kind(garbage, sizeof(garbage)), -1);
	/* Valid bytes followed by garbage. */
	big = malloc(len + 3);
	assert_non_null(big);
	memcpy(big, msg, len);
	memcpy(big + len, "\xff\xff\xff", 3);
	expect(fx, big, len + 3, WIRE_ERR_DECODE);
	free(big);
	free(msg);
}

/* Signs an arbitrary body the way the controller would, bypassing the
 * sender-side checks, to show the agent checks fields itself. */
static uint8_t *sign_raw_order(struct fx *fx, const Relayprobe__V1__OrderBody *b, size_t *len)
{
	Relayprobe__V1__Envelope env = RELAYPROBE__V1__ENVELOPE__INIT;
	size_t blen = relayprobe__v1__order_body__get_packed_size(b);
	uint8_t *body = malloc(blen + 1), *signed_buf = malloc(blen + 32), sig[64], kid[8], *out;
	const size_t clen = sizeof(WIRE_CTX_ORDER); /* NUL included */

	assert_non_null(body);
	assert_non_null(signed_buf);
	relayprobe__v1__order_body__pack(b, body);
	memcpy(signed_buf, WIRE_CTX_ORDER, clen);
	memcpy(signed_buf + clen, body, blen);
	crypto_sign_detached(sig, NULL, signed_buf, clen + blen, keys_ed25519_secret(fx->ctl));
	memcpy(kid, keys_key_id(fx->ctl), 8);
	env.version = 1;
	env.kind = RELAYPROBE__V1__ENVELOPE__KIND__ORDER;
	env.key_id = (ProtobufCBinaryData){8, kid};
	env.body = (ProtobufCBinaryData){blen, body};
	env.signature = (ProtobufCBinaryData){64, sig};
	*len = relayprobe__v1__envelope__get_packed_size(&env);
	out = malloc(*len);
	assert_non_null(out);
	relayprobe__v1__envelope__pack(&env, out);
	free(body);
	free(signed_buf);
	return out;
}

static void test_signed_but_malformed(void **state)
{
	struct fx *fx = *state;
	Relayprobe__V1__OrderBody b = RELAYPROBE__V1__ORDER_BODY__INIT;
	Relayprobe__V1__ProbeSpec ps = RELAYPROBE__V1__PROBE_SPEC__INIT;
	uint8_t kid[8], *msg;
	size_t len;
	char *bad_targets[] = {(char *)"has space"};
	char *bad_tests[] = {(char *)"no-such-test"};

	memcpy(kid, keys_key_id(fx->ctl), 8);
	b.protocol_version = 1;
	b.controller_key_id = (ProtobufCBinaryData){8, kid};
	b.audience = (char *)AGENT;
	b.order_id = (char *)"o1";
	b.sequence = 100;
	b.issued_at_ms = NOW;
	b.expires_at_ms = NOW + HOUR;
	b.spec = &ps;
	ps.n_targets = 2;
	ps.targets = fx->targets;
	/* Well-formed first: the raw signer is right. */
	msg = sign_raw_order(fx, &b, &len);
	expect(fx, msg, len, WIRE_OK);
	free(msg);
	/* Each of these is signed with the pinned key and still refused. */
	b.order_id = (char *)"bad/id";
	msg = sign_raw_order(fx, &b, &len);
	expect(fx, msg, len, WIRE_ERR_BODY);
	free(msg);
	b.order_id = (char *)"o1";
	ps.targets = bad_targets;
	ps.n_targets = 1;
	msg = sign_raw_order(fx, &b, &len);
	expect(fx, msg, len, WIRE_ERR_BODY);
	free(msg);
	ps.n_targets = 0;
	msg = sign_raw_order(fx, &b, &len);
	expect(fx, msg, len, WIRE_ERR_BODY);
	free(msg);
	ps.targets = fx->targets;
	ps.n_targets = 2;
	ps.tests = bad_tests;
	ps.n_tests = 1;
	msg = sign_raw_order(fx, &b, &len);
	expect(fx, msg, len, WIRE_ERR_BODY);
	free(msg);
	ps.n_tests = 0;
	ps.tls_policy = (char *)"maybe";
	msg = sign_raw_order(fx, &b, &len);
	expect(fx, msg, len, WIRE_ERR_BODY);
	free(msg);
	ps.tls_policy = (char *)"";
	b.spec = NULL;
	msg = sign_raw_order(fx, &b, &len);
	expect(fx, msg, len, WIRE_ERR_BODY);
	free(msg);
}

/* Canary tokens ride in the signed spec: a round trip keeps them; a signed
 * order whose tokens do not cover every (target, test), are not tokens, or
 * have no canary domain is refused; a contact line with CR/LF is refused. */
static void test_canary_tokens(void **state)
{
	struct fx *fx = *state;
	struct wire_order got;
	uint8_t key[CANARY_KEY_LEN] = {1}, *msg;
	size_t len;
	char to[2][CANARY_LOCAL_MAX + 1], from[2][CANARY_LOCAL_MAX + 1];
	char *tov[2] = {to[0], to[1]}, *fromv[2] = {from[0], from[1]};
	char *ids[1] = {(char *)"external-sender"};
	char dom[] = "canary.example.org", contact[] = "Audit team <sec@example.org>";
	char bad_contact[] = "x\r\nBcc: y@example.org";

	for (int i = 0; i < 2; i++) {
		struct canary_ref r = {.order_ref = 9, .target = (uint16_t)i, .test = 1};
		assert_int_equal(canary_token_make(key, &r, to[i], sizeof(to[i])), 0);
		r.bounce = true;
		assert_int_equal(canary_token_make(key, &r, from[i], sizeof(from[i])), 0);
	}
	fx->o.spec.tests = ids;
	fx->o.spec.canary_to = tov;
	fx->o.spec.canary_from = fromv;
	fx->o.spec.n_canary = 2;
	fx->o.spec.canary_domain = dom;
	fx->o.spec.contact = contact;
	fx->o.spec.allow_data = true;
	msg = sign_with(fx, fx->ctl, &len);
	assert_int_equal(wire_order_verify(msg, len, &fx->pol, &got), WIRE_OK);
	free(msg);
	assert_int_equal(got.spec.n_canary, 2);
	assert_string_equal(got.spec.canary_to[1], to[1]);
	assert_string_equal(got.spec.canary_from[0], from[0]);
	assert_string_equal(got.spec.contact, contact);
	wire_order_clear(&got);
	/* not one token per (target, test) */
	fx->o.spec.n_canary = 1;
	assert_int_equal(wire_order_sign(&fx->o, fx->ctl, &msg, &len, NULL), -1);
	fx->o.spec.n_canary = 2;
	/* a sender token as recipient */
	fx->o.spec.canary_to = fromv;
	assert_int_equal(wire_order_sign(&fx->o, fx->ctl, &msg, &len, NULL), -1);
	fx->o.spec.canary_to = tov;
	/* no canary domain */
	fx->o.spec.canary_domain = (char *)"";
	assert_int_equal(wire_order_sign(&fx->o, fx->ctl, &msg, &len, NULL), -1);
	fx->o.spec.canary_domain = dom;
	fx->o.spec.contact = bad_contact;
	assert_int_equal(wire_order_sign(&fx->o, fx->ctl, &msg, &len, NULL), -1);
	fx->o.spec.contact = contact;
	/* and the same refusals hold for a signed body that was not made by us */
	{
		Relayprobe__V1__OrderBody b = RELAYPROBE__V1__ORDER_BODY__INIT;
		Relayprobe__V1__ProbeSpec ps = RELAYPROBE__V1__PROBE_SPEC__INIT;
		uint8_t kid[8];

		memcpy(kid, keys_key_id(fx->ctl), 8);
		b.protocol_version = 1;
		b.controller_key_id = (ProtobufCBinaryData){8, kid};
		b.audience = (char *)AGENT;
		b.order_id = (char *)"o1";
		b.sequence = 100;
		b.issued_at_ms = NOW;
		b.expires_at_ms = NOW + HOUR;
		b.spec = &ps;
		ps.n_targets = 2;
		ps.targets = fx->targets;
		ps.n_tests = 1;
		ps.tests = ids;
		ps.canary_domain = dom;
		ps.n_canary_to = 2;
		ps.canary_to = tov;
		ps.n_canary_from = 1;
		ps.canary_from = fromv;
		msg = sign_raw_order(fx, &b, &len);
		expect(fx, msg, len, WIRE_ERR_BODY);
		free(msg);
		ps.n_canary_from = 2;
		msg = sign_raw_order(fx, &b, &len);
		expect(fx, msg, len, WIRE_OK);
		free(msg);
	}
}

static void test_result_round_trip(void **state)
{
	struct fx *fx = *state;
	static const char json[] = "{\"target\":\"127.0.0.1:2525\",\"verdict\":\"closed\"}";
	struct wire_result r = {.order_id = (char *)"audit7:order-1",
	                        .agent_id = (char *)AGENT,
	                        .target = (char *)"127.0.0.1:2525",
	                        .address = (char *)"127.0.0.1",
	                        .port = 2525,
	                        .verdict = (char *)"closed",
	                        .result_json = (uint8_t *)json,
	                        .result_json_len = sizeof(json) - 1,
	                        .finished_at_ms = NOW};
	struct wire_result got;
	uint8_t *msg = NULL, *forged;
	size_t len = 0, flen = 0, pos = 3;
	int kind = RELAYPROBE__V1__ENVELOPE__KIND__RESULT;

	memset(r.order_body_sha256, 0xab, 32);
	assert_int_equal(wire_result_sign(&r, fx->agent, &msg, &len), 0);
	assert_int_equal(wire_envelope_kind(msg, len), kind);
	assert_int_equal(wire_result_verify(msg, len, keys_ed25519_public(fx->agent), AGENT, &got),
	                 WIRE_OK);
	assert_string_equal(got.order_id, r.order_id);
	assert_string_equal(got.agent_id, AGENT);
	assert_string_equal(got.target, r.target);
	assert_string_equal(got.address, r.address);
	assert_int_equal(got.port, 2525);
	assert_string_equal(got.verdict, "closed");
	assert_int_equal(got.result_json_len, sizeof(json) - 1);
	assert_memory_equal(got.result_json, json, sizeof(json) - 1);
	assert_memory_equal(got.order_body_sha256, r.order_body_sha256, 32);
	assert_int_equal(got.finished_at_ms, NOW);
	wire_result_clear(&got);

	/* Another agent's id with this agent's key; another key; a flipped bit. */
	assert_int_equal(
	    wire_result_verify(msg, len, keys_ed25519_public(fx->agent), "agent-2", &got),
	    WIRE_ERR_AUDIENCE);
	assert_null(got.order_id);
	assert_int_equal(wire_result_verify(msg, len, keys_ed25519_public(fx->ctl), AGENT, &got),
	                 WIRE_ERR_KEY);
	forged = repack(msg, len, &flen, flip_body, &pos);
	assert_int_equal(
	    wire_result_verify(forged, flen, keys_ed25519_public(fx->agent), AGENT, &got),
	    WIRE_ERR_SIGNATURE);
	free(forged);
	/* A result is not an order, even to an agent pinning the agent key. */
	fx->pol.controller_pk = keys_ed25519_public(fx->agent);
	expect(fx, msg, len, WIRE_ERR_ENVELOPE);
	free(msg);
	/* A bad verdict name cannot be signed. */
	r.verdict = (char *)"pwned";
	assert_int_equal(wire_result_sign(&r, fx->agent, &msg, &len), -1);
}

/* The context strings separate orders from results: an order signature put
 * into a RESULT envelope does not verify, even with the signer's key. */
static void test_context_separation(void **state)
{
	struct fx *fx = *state;
	size_t len = 0, flen = 0;
	uint8_t *msg = sign_with(fx, fx->ctl, &len), *forged;
	int kind = RELAYPROBE__V1__ENVELOPE__KIND__RESULT;
	struct wire_result got;

	forged = repack(msg, len, &flen, set_kind, &kind);
	assert_int_equal(
	    wire_result_verify(forged, flen, keys_ed25519_public(fx->ctl), "ctl", &got),
	    WIRE_ERR_SIGNATURE);
	free(forged);
	free(msg);
}

static void test_reason_names(void **state)
{
	for (int i = 0; i < WIRE_REASON_COUNT; i++) {
		const char *n = wire_reason_name((enum wire_reason)i);
		assert_non_null(n);
		assert_string_not_equal(n, "?");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, wire_reason_name((enum wire_reason)j));
	}
	assert_string_equal(wire_reason_name(WIRE_OK), "ok");
	assert_string_equal(wire_reason_name(WIRE_ERR_SIGNATURE), "signature");
	assert_string_equal(wire_reason_name(WIRE_REASON_COUNT), "?");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_round_trip),
	    T(test_forged_body_and_signature),
	    T(test_wrong_key),
	    T(test_decode_own),
	    T(test_envelope_fields),
	    T(test_replay_and_sequence),
	    T(test_time_window),
	    T(test_audience_and_version),
	    T(test_truncated),
	    T(test_oversize_and_garbage),
	    T(test_signed_but_malformed),
	    T(test_canary_tokens),
	    T(test_result_round_trip),
	    T(test_context_separation),
	    cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
