/* envelope_fuzzer.c - libFuzzer harness for wire/envelope.c with a fixed
 * pinned controller key. First byte 'E': the rest is a whole message for
 * wire_order_verify, wire_result_verify and wire_envelope_kind. First byte
 * 'B': the rest is an OrderBody that the harness signs with the fixed key, so
 * body decoding and the checks after the signature are fuzzed too.
 * Corpus: tests/fuzz/corpus/envelope (gcc builds replay it via replay_main.c). */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "relayprobe.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 32 bytes: the fixed Ed25519 seed of the pinned controller key. */
static const unsigned char fuzz_seed[32] = "relayprobe-envelope-fuzzer-seed!";

static uint8_t pk[crypto_sign_PUBLICKEYBYTES];
static uint8_t sk[crypto_sign_SECRETKEYBYTES];
static struct replay_state *replay;

static int fuzz_init(void)
{
	if (replay != NULL)
		return 0;
	if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, sk, fuzz_seed) != 0)
		return -1;
	replay = replay_state_new();
	if (replay == NULL || replay_state_accept(replay, "seen", 5) != 0)
		return -1;
	return 0;
}

static void verify_all(const uint8_t *msg, size_t len)
{
	struct wire_order_policy pol = {.controller_pk = pk,
	                                .agent_id = "agent-1",
	                                .min_protocol = WIRE_PROTOCOL_VERSION,
	                                .now_ms = 1700000000000ULL,
	                                .skew_ms = 60000,
	                                .replay = replay};
	struct wire_order o;
	struct wire_result r;

	if (wire_order_verify(msg, len, &pol, &o) == WIRE_OK) {
		/* Whatever is accepted must satisfy the documented bounds. */
		if (wire_order_check(&o) != 0 || strcmp(o.audience, "agent-1") != 0)
			abort();
	}
	wire_order_clear(&o);
	if (wire_result_verify(msg, len, pk, "agent-1", &r) == WIRE_OK) {
		if (wire_result_check(&r) != 0)
			abort();
	}
	wire_result_clear(&r);
	(void)wire_envelope_kind(msg, len);
}

/* Wraps body in an ORDER envelope signed with the fixed key. */
static void sign_and_verify(const uint8_t *body, size_t blen)
{
	Relayprobe__V1__Envelope env = RELAYPROBE__V1__ENVELOPE__INIT;
	const size_t clen = sizeof(WIRE_CTX_ORDER);
	uint8_t sig[crypto_sign_BYTES], kid[KEYS_KEY_ID_LEN];
	uint8_t *buf = malloc(clen + blen), *msg = NULL;
	size_t mlen;

	if (buf == NULL)
		return;
	memcpy(buf, WIRE_CTX_ORDER, clen);
	if (blen > 0)
		memcpy(buf + clen, body, blen);
	crypto_sign_detached(sig, NULL, buf, clen + blen, sk);
	keys_key_id_of(pk, kid);
	env.version = WIRE_ENVELOPE_VERSION;
	env.kind = RELAYPROBE__V1__ENVELOPE__KIND__ORDER;
	env.key_id = (ProtobufCBinaryData){sizeof(kid), kid};
	env.body = (ProtobufCBinaryData){blen, (uint8_t *)body};
	env.signature = (ProtobufCBinaryData){sizeof(sig), sig};
	mlen = relayprobe__v1__envelope__get_packed_size(&env);
	msg = malloc(mlen);
	if (msg != NULL) {
		relayprobe__v1__envelope__pack(&env, msg);
		verify_all(msg, mlen);
	}
	free(msg);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_init() != 0)
		abort();
	if (size == 0)
		return 0;
	if (data[0] == 'B')
		sign_and_verify(data + 1, size - 1);
	else
		verify_all(data + 1, size - 1);
	return 0;
}
