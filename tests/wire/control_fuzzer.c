/* control_fuzzer.c - libFuzzer harness for wire/control.c, the unsigned
 * control messages a peer sends before and besides signed data. First byte
 * 'E': the rest is a whole Envelope given to all four parsers and the body
 * hash. Any other first byte: kind = byte % 8, the rest is a body that the
 * harness wraps in a version-1 Envelope of that kind, so the body decoders
 * and field checks are reached directly. Whatever a parser accepts must pack
 * again and parse back the same (the packers enforce the same bounds), and
 * its fields must obey the rules of common/syntax.h (order ids
 * rp_id_ok(RP_ID_ORDER), ids and targets rp_token_ok, reasons and label
 * values rp_text_ok), else abort(). Corpus: tests/fuzz/corpus/control. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "relayprobe.pb-c.h"
#include "rp_limits.h"
#include "syntax.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const char *a, const char *b)
{
	if (a == NULL || b == NULL || strcmp(a, b) != 0)
		abort();
}

/* The field rules every parser must have enforced. */
static void order_id_rule(const char *id)
{
	if (!rp_id_ok(RP_ID_ORDER, id))
		abort();
}

static void text_rule(const char *s, size_t max)
{
	if (s != NULL && !rp_text_ok(s, max, RP_TEXT_EMPTY))
		abort();
}

static void hello(const uint8_t *msg, size_t len)
{
	struct wire_ctl_hello h, h2;
	uint8_t *out = NULL;
	size_t olen;

	if (wire_ctl_hello_parse(msg, len, &h) != 0)
		return;
	if (h.n_labels > RP_WIRE_LABELS_MAX || h.n_caps > RP_WIRE_CAPS_MAX ||
	    !rp_token_ok(h.agent_id, RP_WIRE_ID_MAX, true))
		abort();
	text_rule(h.software_version, RP_WIRE_LABEL_MAX);
	for (size_t i = 0; i < h.n_labels; i++) {
		if (!rp_token_ok(h.label_keys[i], RP_WIRE_LABEL_MAX, true))
			abort();
		text_rule(h.label_values[i], RP_WIRE_LABEL_MAX);
	}
	for (size_t i = 0; i < h.n_caps; i++)
		if (!rp_token_ok(h.caps[i], RP_WIRE_LABEL_MAX, true))
			abort();
	if (wire_ctl_hello_pack(&h, &out, &olen) != 0 || wire_ctl_hello_parse(out, olen, &h2) != 0)
		abort();
	same(h.agent_id, h2.agent_id);
	same(h.software_version, h2.software_version);
	if (h.n_labels != h2.n_labels || h.n_caps != h2.n_caps || h.has_ed25519 != h2.has_ed25519)
		abort();
	for (size_t i = 0; i < h.n_caps; i++)
		same(h.caps[i], h2.caps[i]);
	wire_ctl_hello_clear(&h2);
	wire_ctl_hello_clear(&h);
	free(out);
}

static void order_ack(const uint8_t *msg, size_t len)
{
	struct wire_ctl_order_ack a, a2;
	uint8_t *out = NULL;
	size_t olen;

	if (wire_ctl_order_ack_parse(msg, len, &a) != 0)
		return;
	order_id_rule(a.order_id);
	text_rule(a.reason, RP_WIRE_LABEL_MAX);
	if (wire_ctl_order_ack_pack(&a, &out, &olen) != 0 ||
	    wire_ctl_order_ack_parse(out, olen, &a2) != 0)
		abort();
	same(a.order_id, a2.order_id);
	same(a.reason, a2.reason);
	if (a.sequence != a2.sequence || a.committed != a2.committed)
		abort();
	wire_ctl_order_ack_clear(&a2);
	wire_ctl_order_ack_clear(&a);
	free(out);
}

static void result_ack(const uint8_t *msg, size_t len)
{
	struct wire_ctl_result_ack a, a2;
	uint8_t *out = NULL;
	size_t olen;

	if (wire_ctl_result_ack_parse(msg, len, &a) != 0)
		return;
	order_id_rule(a.order_id);
	if (a.port > 65535 || !rp_token_ok(a.target, RP_TARGET_LINE_MAX, false) ||
	    !rp_token_ok(a.address, RP_WIRE_ID_MAX, false))
		abort();
	if (wire_ctl_result_ack_pack(&a, &out, &olen) != 0 ||
	    wire_ctl_result_ack_parse(out, olen, &a2) != 0)
		abort();
	same(a.order_id, a2.order_id);
	same(a.target, a2.target);
	same(a.address, a2.address);
	if (a.port != a2.port || a.committed != a2.committed)
		abort();
	wire_ctl_result_ack_clear(&a2);
	wire_ctl_result_ack_clear(&a);
	free(out);
}

static void order_done(const uint8_t *msg, size_t len)
{
	struct wire_ctl_order_done d, d2;
	uint8_t *out = NULL;
	size_t olen;

	if (wire_ctl_order_done_parse(msg, len, &d) != 0)
		return;
	order_id_rule(d.order_id);
	if (wire_ctl_order_done_pack(&d, &out, &olen) != 0 ||
	    wire_ctl_order_done_parse(out, olen, &d2) != 0)
		abort();
	same(d.order_id, d2.order_id);
	if (d.results != d2.results || d.finished_at_ms != d2.finished_at_ms)
		abort();
	wire_ctl_order_done_clear(&d2);
	wire_ctl_order_done_clear(&d);
	free(out);
}

static void parse_all(const uint8_t *msg, size_t len)
{
	uint8_t sha[WIRE_SHA256_LEN];

	hello(msg, len);
	order_ack(msg, len);
	result_ack(msg, len);
	order_done(msg, len);
	(void)wire_ctl_envelope_body_sha256(msg, len, sha);
	(void)wire_envelope_kind(msg, len);
}

static void wrap_and_parse(int kind, const uint8_t *body, size_t blen)
{
	Relayprobe__V1__Envelope env = RELAYPROBE__V1__ENVELOPE__INIT;
	uint8_t *msg;
	size_t mlen;

	env.version = WIRE_ENVELOPE_VERSION;
	env.kind = (Relayprobe__V1__Envelope__Kind)kind;
	env.body = (ProtobufCBinaryData){blen, (uint8_t *)body};
	mlen = relayprobe__v1__envelope__get_packed_size(&env);
	msg = malloc(mlen ? mlen : 1);
	if (msg == NULL)
		return;
	relayprobe__v1__envelope__pack(&env, msg);
	parse_all(msg, mlen);
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] == 'E')
		parse_all(data + 1, size - 1);
	else
		wrap_and_parse(data[0] % 8, data + 1, size - 1);
	return 0;
}
