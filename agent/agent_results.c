/* agent_results.c - the agent's results: each one signed (wire_result_sign,
 * the JSON `relayprobe probe --json` writes, without its transcript when
 * that passes RP_RESULT_JSON_MAX), batched (SPOOL_BATCH_MAX, one flush a
 * batch), spooled, then sent; an order's ORDER_DONE (its count of distinct
 * results) spooled after its results; everything spooled sent again on
 * every HELLO until a RESULT_ACK removes it. Spool keys are digests of
 * (order, target, address, port), so an ack names its item exactly. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "control.h"
#include "engine.h"
#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "result_json.h"
#include "rp_limits.h"
#include "spool.h"
#include "verdict.h"

static void key_digest(const char *order_id, const char *target, const char *address, unsigned port,
                       uint8_t out[32])
{
	crypto_hash_sha256_state st;
	char p[16];
	int n = snprintf(p, sizeof(p), "%u", port);

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)order_id, strlen(order_id) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)target, strlen(target) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)address, strlen(address) + 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)p, (size_t)n);
	crypto_hash_sha256_final(&st, out);
}

static void digest_key(bool done, const uint8_t d[32], char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	char buf[AGENT_SPOOL_KEY_LEN];
	size_t o = 0;

	buf[o++] = done ? 'd' : 'r';
	buf[o++] = '-';
	for (size_t i = 0; i < 32; i++) {
		buf[o++] = hex[d[i] >> 4];
		buf[o++] = hex[d[i] & 15];
	}
	buf[o] = '\0';
	snprintf(out, outlen, "%s", buf);
}

void agent_spool_key(const char *order_id, const char *target, const char *address, unsigned port,
                     char *out, size_t outlen)
{
	uint8_t d[32];
	bool done = target[0] == '\0';

	if (done) {
		address = "";
		port = 0;
	}
	key_digest(order_id, target, address, port, d);
	digest_key(done, d, out, outlen);
}

/* ---- re-sending and acks ---- */

static int resend_one(void *arg, const char *key, const uint8_t *bytes, size_t len)
{
	struct agent *a = arg;
	(void)key;
	agent_link_send(a, bytes, len);
	return 0;
}

void agent_results_resend(struct agent *a)
{
	long n = spool_list(a->spool, resend_one, a);
	if (n > 0)
		log_debug("spool re-sent items=%ld", n);
	else if (n < 0)
		log_error("spool listing failed error=\"%s\"", strerror(errno));
}

void agent_results_ack(struct agent *a, const uint8_t *msg, size_t len)
{
	struct wire_ctl_result_ack ack;
	char key[AGENT_SPOOL_KEY_LEN];

	if (wire_ctl_result_ack_parse(msg, len, &ack) < 0) {
		log_warn("result ack dropped reason=malformed size=%zu", len);
		return;
	}
	agent_spool_key(ack.order_id, ack.target, ack.address, ack.port, key, sizeof(key));
	if (!ack.committed) {
		log_warn("result not committed by the controller order=%s target=%s: kept",
		         LOG_V(ack.order_id), LOG_V(ack.target));
	} else if (spool_remove(a->spool, key) == 0) {
		log_debug("result acked order=%s target=%s address=%s port=%u", LOG_V(ack.order_id),
		          LOG_V(ack.target), LOG_V(ack.address), ack.port);
	} else if (errno != ENOENT) {
		log_error("spool remove failed key=%s error=\"%s\"", LOG_V(key), strerror(errno));
	}
	wire_ctl_result_ack_clear(&ack);
}

/* ---- one order's results ---- */

void agent_results_begin(struct agent_results *res, struct agent *a, const struct wire_order *o)
{
	memset(res, 0, sizeof(*res));
	res->a = a;
	res->o = o;
}

void agent_results_flush(struct agent_results *res)
{
	struct spool_item items[SPOOL_BATCH_MAX];

	if (res->nbatch == 0)
		return;
	for (size_t i = 0; i < res->nbatch; i++)
		items[i] =
		    (struct spool_item){res->batch[i].key, res->batch[i].msg, res->batch[i].len};
	if (spool_put_many(res->a->spool, items, res->nbatch) < 0) {
		/* One at a time, so one bad item (or a full spool) costs only
		 * what cannot be stored. */
		log_warn("spool batch failed results=%zu error=\"%s\": one at a time", res->nbatch,
		         strerror(errno));
		for (size_t i = 0; i < res->nbatch; i++)
			if (spool_put(res->a->spool, items[i].key, items[i].bytes, items[i].len) <
			    0)
				log_error("spool write failed key=%s error=\"%s\"",
				          LOG_V(items[i].key), strerror(errno));
	}
	for (size_t i = 0; i < res->nbatch; i++) {
		agent_link_send(res->a, res->batch[i].msg, res->batch[i].len);
		free(res->batch[i].msg);
	}
	res->nbatch = 0;
}

static void note_digest(struct agent_results *res, const uint8_t d[32])
{
	if (res->n == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 64;
		void *p = realloc(res->digests, cap * sizeof(*res->digests));
		if (p == NULL) {
			res->oom = true;
			return;
		}
		res->digests = p;
		res->cap = cap;
	}
	memcpy(res->digests[res->n++], d, 32);
}

static int digest_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

/* Distinct (target, address, port) results of the run. */
static uint32_t distinct_results(struct agent_results *res)
{
	size_t u = 0;

	if (res->n == 0)
		return 0;
	qsort(res->digests, res->n, sizeof(*res->digests), digest_cmp);
	u = 1;
	for (size_t i = 1; i < res->n; i++)
		if (memcmp(res->digests[i], res->digests[i - 1], 32) != 0)
			u++;
	return (uint32_t)u;
}

static int sign_result(struct agent_results *res, const struct probe_result *r, bool transcript,
                       uint8_t **msg, size_t *len)
{
	const struct wire_order *o = res->o;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	struct wire_result w = {0};
	int rc = -1;

	/* The same JSON object as `relayprobe probe --json` writes, written
	 * directly rather than built as a tree (the cost of a result). */
	if (f == NULL)
		return -1;
	rc = result_write_json(r, transcript, f);
	if (fclose(f) != 0 || rc < 0 || text == NULL || tlen < 2) {
		free(text);
		return -1;
	}
	text[--tlen] = '\0';             /* the line's newline */
	if (tlen > RP_RESULT_JSON_MAX) { /* the controller refuses it: sent without transcript */
		free(text);
		return -1;
	}
	w.order_id = o->order_id;
	memcpy(w.order_body_sha256, o->body_sha256, WIRE_SHA256_LEN);
	w.agent_id = (char *)agent_id(res->a);
	w.target = (char *)r->target;
	w.address = (char *)(r->address != NULL ? r->address : "");
	w.port = r->port;
	w.verdict = (char *)dialog_verdict_name(r->verdict);
	w.result_json = (uint8_t *)text;
	w.result_json_len = tlen;
	w.finished_at_ms = r->finished_ms;
	rc = wire_result_sign(&w, res->a->own, msg, len);
	free(text);
	return rc;
}

void agent_results_add(struct agent_results *res, const struct probe_result *r)
{
	const char *addr = r->address != NULL ? r->address : "";
	uint8_t *msg = NULL, d[32];
	size_t len = 0;
	char key[AGENT_SPOOL_KEY_LEN];

	if (sign_result(res, r, true, &msg, &len) < 0 &&
	    sign_result(res, r, false, &msg, &len) < 0) {
		log_error("result not signed order=%s target=%s address=%s",
		          LOG_V(res->o->order_id), LOG_V(r->target), LOG_V(addr));
		return;
	}
	key_digest(res->o->order_id, r->target, addr, r->port, d);
	digest_key(false, d, key, sizeof(key));
	note_digest(res, d);
	log_info("result order=%s target=%s address=%s port=%u verdict=%s", LOG_V(res->o->order_id),
	         LOG_V(r->target), LOG_V(addr), (unsigned)r->port, dialog_verdict_name(r->verdict));
	if (res->nbatch == SPOOL_BATCH_MAX)
		agent_results_flush(res);
	memcpy(res->batch[res->nbatch].key, key, sizeof(key));
	res->batch[res->nbatch].msg = msg;
	res->batch[res->nbatch].len = len;
	res->nbatch++;
}

uint32_t agent_results_finish(struct agent_results *res)
{
	struct agent *a = res->a;
	const struct wire_order *o = res->o;
	struct wire_ctl_order_done done = {0};
	uint8_t *msg = NULL;
	size_t len = 0;
	char key[AGENT_SPOOL_KEY_LEN];

	agent_results_flush(res); /* the results are spooled before the ORDER_DONE */
	done.order_id = o->order_id;
	done.results = res->oom ? (uint32_t)res->n : distinct_results(res);
	done.finished_at_ms = engine_now_ms();
	agent_spool_key(o->order_id, "", "", 0, key, sizeof(key));
	if (wire_ctl_order_done_pack(&done, &msg, &len) == 0) {
		/* Stored (fsync'ed), then sent. */
		if (spool_put(a->spool, key, msg, len) < 0)
			log_error("spool write failed key=%s error=\"%s\"", LOG_V(key),
			          strerror(errno));
		agent_link_send(a, msg, len);
	} else {
		log_error("cannot pack ORDER_DONE order=%s", LOG_V(o->order_id));
	}
	free(msg);
	free(res->digests);
	res->digests = NULL;
	res->n = res->cap = 0;
	return done.results;
}
