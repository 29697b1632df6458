/* test_control.c - wire/control.c: Hello, OrderAck, ResultAck, OrderDone and
 * Heartbeat round trip; the packers refuse fields out of bounds; the parsers
 * refuse (and leave zeroed) every envelope of the wrong version or kind, every
 * oversize, truncated or garbage message, and every body with an empty,
 * over-long or non-printable id, label, capability, reason or target, a bad
 * key length or port. Bad bodies are packed here with protobuf-c directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "relayprobe.pb-c.h"
#include "rp_limits.h"

#define RAW_MAX 8192

/* A string of n copies of c (static buffer, one at a time). */
static char *rep(char c, size_t n)
{
	static char buf[RP_TARGET_LINE_MAX + 2];

	assert_true(n < sizeof(buf));
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* Packs body (may be NULL) into an Envelope of version and kind, into out. */
static size_t raw_env(uint32_t version, int kind, const ProtobufCMessage *body, uint8_t *out)
{
	Relayprobe__V1__Envelope env = RELAYPROBE__V1__ENVELOPE__INIT;
	static uint8_t b[RAW_MAX];
	size_t blen = 0;

	if (body != NULL) {
		blen = protobuf_c_message_get_packed_size(body);
		assert_true(blen <= sizeof(b));
		protobuf_c_message_pack(body, b);
	}
	env.version = version;
	env.kind = (Relayprobe__V1__Envelope__Kind)kind;
	env.body.data = b;
	env.body.len = blen;
	assert_true(relayprobe__v1__envelope__get_packed_size(&env) <= RAW_MAX);
	return relayprobe__v1__envelope__pack(&env, out);
}

static void assert_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(b[i], 0);
}

/* ---- round trips ---- */

static void test_hello_round_trip(void **state)
{
	char *keys[] = {"location", "network"}, *values[] = {"fra 1", ""};
	char *caps[] = {"starttls", "data"};
	struct wire_ctl_hello h = {.agent_id = "agent-1",
	                           .software_version = "relayprobe 0.1.0",
	                           .protocol_version = 1,
	                           .n_labels = 2,
	                           .label_keys = keys,
	                           .label_values = values,
	                           .n_caps = 2,
	                           .caps = caps,
	                           .max_targets_per_order = 1000,
	                           .max_concurrency = 500,
	                           .max_orders = 7,
	                           .has_ed25519 = true};
	struct wire_ctl_hello g;
	uint8_t *msg = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(h.ed25519_public); i++)
		h.ed25519_public[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(wire_ctl_hello_pack(&h, &msg, &len), 0);
	assert_int_equal(wire_envelope_kind(msg, len), WIRE_KIND_HELLO);
	assert_int_equal(wire_ctl_hello_parse(msg, len, &g), 0);
	assert_string_equal(g.agent_id, "agent-1");
	assert_string_equal(g.software_version, "relayprobe 0.1.0");
	assert_int_equal(g.protocol_version, 1);
	assert_int_equal(g.n_labels, 2);
	for (size_t i = 0; i < 2; i++) {
		/* a map: the order is not promised */
		size_t j = strcmp(g.label_keys[i], keys[0]) == 0 ? 0 : 1;
		assert_string_equal(g.label_keys[i], keys[j]);
		assert_string_equal(g.label_values[i], values[j]);
	}
	assert_int_equal(g.n_caps, 2);
	assert_string_equal(g.caps[0], "starttls");
	assert_string_equal(g.caps[1], "data");
	assert_int_equal(g.max_targets_per_order, 1000);
	assert_int_equal(g.max_concurrency, 500);
	assert_int_equal(g.max_orders, 7);
	assert_true(g.has_ed25519);
	assert_memory_equal(g.ed25519_public, h.ed25519_public, sizeof(h.ed25519_public));
	wire_ctl_hello_clear(&g);
	assert_null(g.agent_id);
	free(msg);

	/* the minimum: an id, nothing else */
	h = (struct wire_ctl_hello){.agent_id = rep('a', RP_WIRE_ID_MAX)};
	assert_int_equal(wire_ctl_hello_pack(&h, &msg, &len), 0);
	assert_int_equal(wire_ctl_hello_parse(msg, len, &g), 0);
	assert_string_equal(g.agent_id, rep('a', RP_WIRE_ID_MAX));
	assert_string_equal(g.software_version, "");
	assert_int_equal(g.n_labels, 0);
	assert_int_equal(g.n_caps, 0);
	assert_int_equal(g.max_orders, 0); /* an old agent: not said */
	assert_false(g.has_ed25519);
	wire_ctl_hello_clear(&g);
	wire_ctl_hello_clear(NULL);
	free(msg);
}

static void test_acks_round_trip(void **state)
{
	struct wire_ctl_order_ack oa = {.order_id = "audit7:order-1",
	                                .committed = true,
	                                .reason = "queued behind 2 orders",
	                                .sequence = 42};
	struct wire_ctl_result_ack ra = {.order_id = "audit7:order-1",
	                                 .target = "mx.example.test",
	                                 .address = "2001:db8::25",
	                                 .port = 65535,
	                                 .committed = true};
	struct wire_ctl_order_done od = {
	    .order_id = "audit7:order-1", .results = 3, .finished_at_ms = 1700000000123ULL};
	struct wire_ctl_order_ack oa2;
	struct wire_ctl_result_ack ra2;
	struct wire_ctl_order_done od2;
	uint8_t *msg = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(wire_ctl_order_ack_pack(&oa, &msg, &len), 0);
	assert_int_equal(wire_ctl_order_ack_parse(msg, len, &oa2), 0);
	assert_string_equal(oa2.order_id, oa.order_id);
	assert_string_equal(oa2.reason, oa.reason);
	assert_true(oa2.committed);
	assert_int_equal(oa2.sequence, 42);
	wire_ctl_order_ack_clear(&oa2);
	free(msg);
	oa.reason = NULL; /* packed as "" */
	assert_int_equal(wire_ctl_order_ack_pack(&oa, &msg, &len), 0);
	assert_int_equal(wire_ctl_order_ack_parse(msg, len, &oa2), 0);
	assert_string_equal(oa2.reason, "");
	wire_ctl_order_ack_clear(&oa2);
	free(msg);

	assert_int_equal(wire_ctl_result_ack_pack(&ra, &msg, &len), 0);
	assert_int_equal(wire_ctl_result_ack_parse(msg, len, &ra2), 0);
	assert_string_equal(ra2.order_id, ra.order_id);
	assert_string_equal(ra2.target, ra.target);
	assert_string_equal(ra2.address, ra.address);
	assert_int_equal(ra2.port, 65535);
	assert_true(ra2.committed);
	wire_ctl_result_ack_clear(&ra2);
	free(msg);
	/* the ack of an OrderDone: no target */
	ra = (struct wire_ctl_result_ack){.order_id = "o1"};
	assert_int_equal(wire_ctl_result_ack_pack(&ra, &msg, &len), 0);
	assert_int_equal(wire_ctl_result_ack_parse(msg, len, &ra2), 0);
	assert_string_equal(ra2.target, "");
	assert_string_equal(ra2.address, "");
	assert_int_equal(ra2.port, 0);
	wire_ctl_result_ack_clear(&ra2);
	free(msg);

	assert_int_equal(wire_ctl_order_done_pack(&od, &msg, &len), 0);
	assert_int_equal(wire_ctl_order_done_parse(msg, len, &od2), 0);
	assert_string_equal(od2.order_id, od.order_id);
	assert_int_equal(od2.results, 3);
	assert_int_equal(od2.finished_at_ms, 1700000000123ULL);
	wire_ctl_order_done_clear(&od2);
	free(msg);

	assert_int_equal(wire_ctl_heartbeat_pack(&msg, &len), 0);
	assert_int_equal(wire_envelope_kind(msg, len), WIRE_KIND_HEARTBEAT);
	free(msg);
}

static void test_body_sha256(void **state)
{
	Relayprobe__V1__OrderDone od = RELAYPROBE__V1__ORDER_DONE__INIT;
	uint8_t msg[RAW_MAX], body[RAW_MAX], want[WIRE_SHA256_LEN], got[WIRE_SHA256_LEN];
	size_t len, blen;

	(void)state;
	od.order_id = "o1";
	od.results = 9;
	blen = relayprobe__v1__order_done__pack(&od, body);
	len = raw_env(1, WIRE_KIND_ORDER_DONE, &od.base, msg);
	crypto_hash_sha256(want, body, blen);
	assert_int_equal(wire_ctl_envelope_body_sha256(msg, len, got), 0);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(wire_ctl_envelope_body_sha256(NULL, 0, got), -1);
	assert_int_equal(wire_ctl_envelope_body_sha256(msg, 0, got), -1);
	assert_int_equal(wire_ctl_envelope_body_sha256((const uint8_t *)"\xff\xff", 2, got), -1);
}

/* ---- the packers refuse what the parsers would ---- */

static void test_pack_refuses(void **state)
{
	char *bad_ids[] = {NULL,    "",      "a b",         "a\tb",
	                   "a\x01", "a\x7f", "caf\xc3\xa9", rep('a', RP_WIRE_ID_MAX + 1)};
	uint8_t *msg = (uint8_t *)"x";
	size_t len = 1;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		struct wire_ctl_hello h = {.agent_id = bad_ids[i]};
		struct wire_ctl_order_ack oa = {.order_id = bad_ids[i]};
		struct wire_ctl_result_ack ra = {.order_id = bad_ids[i]};
		struct wire_ctl_order_done od = {.order_id = bad_ids[i]};

		assert_int_equal(wire_ctl_hello_pack(&h, &msg, &len), -1);
		assert_null(msg);
		assert_int_equal(len, 0);
		assert_int_equal(wire_ctl_order_ack_pack(&oa, &msg, &len), -1);
		assert_int_equal(wire_ctl_result_ack_pack(&ra, &msg, &len), -1);
		assert_int_equal(wire_ctl_order_done_pack(&od, &msg, &len), -1);
		assert_null(msg);
	}
	{
		struct wire_ctl_result_ack ra = {.order_id = "o1", .port = 65536};
		struct wire_ctl_order_ack oa = {.order_id = "o1", .reason = "line\nbreak"};
		struct wire_ctl_hello h = {.agent_id = "a1", .n_labels = RP_WIRE_LABELS_MAX + 1};

		assert_int_equal(wire_ctl_result_ack_pack(&ra, &msg, &len), -1);
		assert_int_equal(wire_ctl_order_ack_pack(&oa, &msg, &len), -1);
		assert_int_equal(wire_ctl_hello_pack(&h, &msg, &len), -1);
	}
}

/* ---- the parsers refuse bad envelopes ---- */

static void parse_all_refuse(const uint8_t *msg, size_t len)
{
	struct wire_ctl_hello h;
	struct wire_ctl_order_ack oa;
	struct wire_ctl_result_ack ra;
	struct wire_ctl_order_done od;

	memset(&h, 0xa5, sizeof(h));
	memset(&oa, 0xa5, sizeof(oa));
	memset(&ra, 0xa5, sizeof(ra));
	memset(&od, 0xa5, sizeof(od));
	assert_int_equal(wire_ctl_hello_parse(msg, len, &h), -1);
	assert_int_equal(wire_ctl_order_ack_parse(msg, len, &oa), -1);
	assert_int_equal(wire_ctl_result_ack_parse(msg, len, &ra), -1);
	assert_int_equal(wire_ctl_order_done_parse(msg, len, &od), -1);
	assert_zero(&h, sizeof(h));
	assert_zero(&oa, sizeof(oa));
	assert_zero(&ra, sizeof(ra));
	assert_zero(&od, sizeof(od));
}

static void test_parse_refuses_envelopes(void **state)
{
	Relayprobe__V1__OrderDone od = RELAYPROBE__V1__ORDER_DONE__INIT;
	static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x80};
	uint8_t msg[RAW_MAX], *big;
	size_t len;
	struct wire_ctl_order_done got;

	(void)state;
	od.order_id = "o1";
	parse_all_refuse(NULL, 0);
	parse_all_refuse(msg, 0);
	parse_all_refuse(garbage, sizeof(garbage));
	/* a well-formed OrderDone, but version 0 or 2 */
	len = raw_env(0, WIRE_KIND_ORDER_DONE, &od.base, msg);
	parse_all_refuse(msg, len);
	len = raw_env(2, WIRE_KIND_ORDER_DONE, &od.base, msg);
	parse_all_refuse(msg, len);
	/* A body with only field 1 = "o1" is a valid Hello, OrderAck, ResultAck
	 * and OrderDone alike: each parser takes it only under its own kind. */
	for (int kind = 0; kind <= 8; kind++) {
		struct wire_ctl_hello hg;
		struct wire_ctl_order_ack oag;
		struct wire_ctl_result_ack rag;

		print_message("kind %d\n", kind);
		len = raw_env(1, kind, &od.base, msg);
		assert_int_equal(wire_ctl_hello_parse(msg, len, &hg),
		                 kind == WIRE_KIND_HELLO ? 0 : -1);
		assert_int_equal(wire_ctl_order_ack_parse(msg, len, &oag),
		                 kind == WIRE_KIND_ORDER_ACK ? 0 : -1);
		assert_int_equal(wire_ctl_result_ack_parse(msg, len, &rag),
		                 kind == WIRE_KIND_RESULT_ACK ? 0 : -1);
		assert_int_equal(wire_ctl_order_done_parse(msg, len, &got),
		                 kind == WIRE_KIND_ORDER_DONE ? 0 : -1);
		wire_ctl_hello_clear(&hg);
		wire_ctl_order_ack_clear(&oag);
		wire_ctl_result_ack_clear(&rag);
		wire_ctl_order_done_clear(&got);
	}
	/* truncated anywhere */
	len = raw_env(1, WIRE_KIND_ORDER_DONE, &od.base, msg);
	for (size_t cut = 1; cut < len; cut++)
		parse_all_refuse(msg, cut);
	/* over the size cap, whatever is inside */
	big = calloc(1, RP_WIRE_MSG_MAX + 1);
	assert_non_null(big);
	memcpy(big, msg, len);
	parse_all_refuse(big, RP_WIRE_MSG_MAX + 1);
	assert_int_equal(wire_ctl_envelope_body_sha256(big, RP_WIRE_MSG_MAX + 1, msg), -1);
	free(big);
}

/* ---- the parsers refuse bad fields (table-driven) ---- */

struct bad_id {
	const char *what;
	const char *id;
};

static const struct bad_id bad_ids[] = {
    {"empty", ""},
    {"space", "audit 7"},
    {"tab", "audit\t7"},
    {"newline", "audit7\n"},
    {"escape", "audit\x1b[2J"},
    {"DEL", "audit\x7f"},
    {"8-bit", "audit\xc3\xa9"},
};

static void test_parse_refuses_bad_ids(void **state)
{
	uint8_t msg[RAW_MAX];
	char longid[RP_WIRE_ID_MAX + 2];

	(void)state;
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0'; /* RP_WIRE_ID_MAX + 1 */
	for (size_t i = 0; i <= sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		char *id =
		    (char *)(i < sizeof(bad_ids) / sizeof(bad_ids[0]) ? bad_ids[i].id : longid);
		Relayprobe__V1__Hello h = RELAYPROBE__V1__HELLO__INIT;
		Relayprobe__V1__OrderAck oa = RELAYPROBE__V1__ORDER_ACK__INIT;
		Relayprobe__V1__ResultAck ra = RELAYPROBE__V1__RESULT_ACK__INIT;
		Relayprobe__V1__OrderDone od = RELAYPROBE__V1__ORDER_DONE__INIT;
		struct wire_ctl_hello hg;
		struct wire_ctl_order_ack oag;
		struct wire_ctl_result_ack rag;
		struct wire_ctl_order_done odg;
		size_t len;

		print_message("bad id: %s\n", i < sizeof(bad_ids) / sizeof(bad_ids[0])
		                                  ? bad_ids[i].what
		                                  : "over RP_WIRE_ID_MAX");
		h.agent_id = oa.order_id = ra.order_id = od.order_id = id;
		len = raw_env(1, WIRE_KIND_HELLO, &h.base, msg);
		assert_int_equal(wire_ctl_hello_parse(msg, len, &hg), -1);
		assert_null(hg.agent_id);
		len = raw_env(1, WIRE_KIND_ORDER_ACK, &oa.base, msg);
		assert_int_equal(wire_ctl_order_ack_parse(msg, len, &oag), -1);
		assert_null(oag.order_id);
		len = raw_env(1, WIRE_KIND_RESULT_ACK, &ra.base, msg);
		assert_int_equal(wire_ctl_result_ack_parse(msg, len, &rag), -1);
		assert_null(rag.order_id);
		len = raw_env(1, WIRE_KIND_ORDER_DONE, &od.base, msg);
		assert_int_equal(wire_ctl_order_done_parse(msg, len, &odg), -1);
		assert_null(odg.order_id);
	}
}

/* One Hello field made bad at a time; the unmodified Hello parses. */
enum hello_bad {
	HB_NONE,
	HB_VERSION_LONG,
	HB_VERSION_CTRL,
	HB_LABEL_KEY_EMPTY,
	HB_LABEL_KEY_SPACE,
	HB_LABEL_KEY_LONG,
	HB_LABEL_VALUE_CTRL,
	HB_LABEL_VALUE_LONG,
	HB_LABELS_TOO_MANY,
	HB_CAP_EMPTY,
	HB_CAP_SPACE,
	HB_CAP_LONG,
	HB_CAPS_TOO_MANY,
	HB_KEY_SHORT,
	HB_KEY_LONG,
	HB_COUNT
};

static void test_parse_refuses_bad_hello(void **state)
{
	static char longstr[RP_WIRE_LABEL_MAX + 2];
	uint8_t msg[RAW_MAX], key[KEYS_ED25519_PK_LEN + 1] = {0};

	(void)state;
	memset(longstr, 'k', RP_WIRE_LABEL_MAX + 1);
	for (int bad = HB_NONE; bad < HB_COUNT; bad++) {
		Relayprobe__V1__Hello h = RELAYPROBE__V1__HELLO__INIT;
		Relayprobe__V1__Hello__LabelsEntry ents[RP_WIRE_LABELS_MAX + 1],
		    *eptr[RP_WIRE_LABELS_MAX + 1];
		char *caps[RP_WIRE_CAPS_MAX + 1];
		struct wire_ctl_hello g;
		size_t len;

		for (size_t i = 0; i <= RP_WIRE_LABELS_MAX; i++) {
			relayprobe__v1__hello__labels_entry__init(&ents[i]);
			ents[i].key = "location";
			ents[i].value = "fra1";
			eptr[i] = &ents[i];
		}
		for (size_t i = 0; i <= RP_WIRE_CAPS_MAX; i++)
			caps[i] = "starttls";
		h.agent_id = "agent-1";
		h.software_version = "relayprobe 0.1.0";
		h.n_labels = 1;
		h.labels = eptr;
		h.n_capabilities = 1;
		h.capabilities = caps;
		h.ed25519_public = (ProtobufCBinaryData){KEYS_ED25519_PK_LEN, key};
		switch ((enum hello_bad)bad) {
		case HB_NONE:
			break;
		case HB_VERSION_LONG:
			h.software_version = longstr;
			break;
		case HB_VERSION_CTRL:
			h.software_version = "0.1\r\n";
			break;
		case HB_LABEL_KEY_EMPTY:
			ents[0].key = "";
			break;
		case HB_LABEL_KEY_SPACE:
			ents[0].key = "a b";
			break;
		case HB_LABEL_KEY_LONG:
			ents[0].key = longstr;
			break;
		case HB_LABEL_VALUE_CTRL:
			ents[0].value = "fra\x1b";
			break;
		case HB_LABEL_VALUE_LONG:
			ents[0].value = longstr;
			break;
		case HB_LABELS_TOO_MANY:
			h.n_labels = RP_WIRE_LABELS_MAX + 1;
			break;
		case HB_CAP_EMPTY:
			caps[0] = "";
			break;
		case HB_CAP_SPACE:
			caps[0] = "start tls";
			break;
		case HB_CAP_LONG:
			caps[0] = longstr;
			break;
		case HB_CAPS_TOO_MANY:
			h.n_capabilities = RP_WIRE_CAPS_MAX + 1;
			break;
		case HB_KEY_SHORT:
			h.ed25519_public.len = KEYS_ED25519_PK_LEN - 1;
			break;
		case HB_KEY_LONG:
			h.ed25519_public.len = KEYS_ED25519_PK_LEN + 1;
			break;
		case HB_COUNT:
			break;
		}
		print_message("hello case %d\n", bad);
		len = raw_env(1, WIRE_KIND_HELLO, &h.base, msg);
		if (bad == HB_NONE) {
			assert_int_equal(wire_ctl_hello_parse(msg, len, &g), 0);
			assert_true(g.has_ed25519);
			wire_ctl_hello_clear(&g);
			continue;
		}
		memset(&g, 0xa5, sizeof(g));
		assert_int_equal(wire_ctl_hello_parse(msg, len, &g), -1);
		assert_zero(&g, sizeof(g));
	}
}

static void test_parse_refuses_bad_acks(void **state)
{
	static char longtarget[RP_TARGET_LINE_MAX + 2], longreason[RP_WIRE_LABEL_MAX + 2];
	static const struct {
		const char *target, *address;
		uint32_t port;
		int want;
	} ra_cases[] = {
	    {"mx.example.test", "192.0.2.25", 25, 0},
	    {"", "", 0, 0},
	    {"mx.example.test", "192.0.2.25", 65536, -1},
	    {"mx.example.test", "192.0.2.25", UINT32_MAX, -1},
	    {"mx example", "192.0.2.25", 25, -1},
	    {"mx.example.test\r\n", "192.0.2.25", 25, -1},
	    {"mx.example.test", "192.0.2.25 ", 25, -1},
	    {"mx.example.test", "192.0.2.\x01", 25, -1},
	    {longtarget, "192.0.2.25", 25, -1},
	};
	static const struct {
		const char *reason;
		int want;
	} oa_cases[] = {
	    {"", 0},          {"expired 2 s ago", 0}, {"expired\n", -1},
	    {"bell\a", -1},   {"\xe2\x80\xae", -1}, /* right-to-left override */
	    {longreason, -1},
	};
	uint8_t msg[RAW_MAX];

	(void)state;
	memset(longtarget, 't', RP_TARGET_LINE_MAX + 1);
	memset(longreason, 'r', RP_WIRE_LABEL_MAX + 1);
	for (size_t i = 0; i < sizeof(ra_cases) / sizeof(ra_cases[0]); i++) {
		Relayprobe__V1__ResultAck ra = RELAYPROBE__V1__RESULT_ACK__INIT;
		struct wire_ctl_result_ack g;
		size_t len;

		ra.order_id = "o1";
		ra.target = (char *)ra_cases[i].target;
		ra.address = (char *)ra_cases[i].address;
		ra.port = ra_cases[i].port;
		print_message("result ack case %zu\n", i);
		len = raw_env(1, WIRE_KIND_RESULT_ACK, &ra.base, msg);
		assert_int_equal(wire_ctl_result_ack_parse(msg, len, &g), ra_cases[i].want);
		if (ra_cases[i].want < 0)
			assert_zero(&g, sizeof(g));
		wire_ctl_result_ack_clear(&g);
	}
	for (size_t i = 0; i < sizeof(oa_cases) / sizeof(oa_cases[0]); i++) {
		Relayprobe__V1__OrderAck oa = RELAYPROBE__V1__ORDER_ACK__INIT;
		struct wire_ctl_order_ack g;
		size_t len;

		oa.order_id = "o1";
		oa.reason = (char *)oa_cases[i].reason;
		print_message("order ack case %zu\n", i);
		len = raw_env(1, WIRE_KIND_ORDER_ACK, &oa.base, msg);
		assert_int_equal(wire_ctl_order_ack_parse(msg, len, &g), oa_cases[i].want);
		if (oa_cases[i].want < 0)
			assert_zero(&g, sizeof(g));
		wire_ctl_order_ack_clear(&g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_round_trip),
	    cmocka_unit_test(test_acks_round_trip),
	    cmocka_unit_test(test_body_sha256),
	    cmocka_unit_test(test_pack_refuses),
	    cmocka_unit_test(test_parse_refuses_envelopes),
	    cmocka_unit_test(test_parse_refuses_bad_ids),
	    cmocka_unit_test(test_parse_refuses_bad_hello),
	    cmocka_unit_test(test_parse_refuses_bad_acks),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
