/* results.c - what an agent's Result must earn before it is stored
 * (results.h). */
#include "results.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "fingerprint.h"
#include "link.h"
#include "log.h"
#include "orders.h"
#include "result_schema.h"
#include "rp_limits.h"
#include "store_agents.h"
#include "store_orders.h"
#include "store_results.h"
#include "verdict.h"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* The agent's result-byte bucket: true when len bytes may be taken now. */
static bool bucket_take(struct ctl_session *s, size_t len)
{
	int64_t now = (int64_t)rp_mono_ms(), cap = RP_CTL_AGENT_BYTES_PER_MIN;

	if (s->bucket_ms == 0) {
		s->bucket = cap;
	} else if (now > s->bucket_ms) {
		int64_t add = (now - s->bucket_ms) * (cap / 60000);

		s->bucket = s->bucket + add > cap ? cap : s->bucket + add;
	}
	s->bucket_ms = now;
	if ((int64_t)len > s->bucket)
		return false;
	s->bucket -= (int64_t)len;
	return true;
}

/* The result JSON as the readers will read it (jansson, as the transcript
 * and report commands do): an object whose verdict, target, address and
 * port are the signed fields'. Anything that SQLite's json_valid accepts and
 * jansson refuses (1e400, 20-digit integers, \u0000) would silently vanish
 * from the evidence later: refused here. NULL when fine, else why. The
 * software is read from its transcript into *fp on the same parse. */
static const char *result_json_check(const struct wire_result *r, struct fp_result *fp)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)r->result_json, r->result_json_len,
	                       JSON_REJECT_DUPLICATES, &e);
	const char *why = NULL, *v;
	json_t *schema = j ? json_object_get(j, RP_RES_SCHEMA) : NULL;

	if (j == NULL || !json_is_object(j)) {
		why = "result_json does not parse";
	} else if (schema != NULL &&
	           (!json_is_integer(schema) || json_integer_value(schema) < RP_RESULT_SCHEMA_MIN ||
	            json_integer_value(schema) > RP_RESULT_SCHEMA)) {
		/* A document this controller cannot read the way its store and
		 * reports do: not stored (and not acked: a newer controller may). */
		why = "result_json schema is not one this controller reads";
	} else if ((v = json_string_value(json_object_get(j, RP_RES_VERDICT))) == NULL ||
	           strcmp(v, r->verdict) != 0) {
		why = "result_json verdict differs from the signed verdict";
	} else if ((v = json_string_value(json_object_get(j, RP_RES_TARGET))) != NULL &&
	           strcmp(v, r->target) != 0) {
		why = "result_json target differs from the signed target";
	} else {
		fingerprint_transcript_json(json_object_get(j, RP_RES_TRANSCRIPT), fp);
	}
	json_decref(j);
	return why;
}

/* Logs a refused result; key=value, every peer string quoted. */
static void refused(const char *agent, const struct wire_result *r, const char *why)
{
	log_warn("agent=%s result refused order=%s target=%s address=%s reason=%s", LOG_V(agent),
	         LOG_V(r->order_id), LOG_V(r->target), LOG_V(r->address), LOG_V(why));
}

void results_on_result(struct ctl *c, struct ctl_session *s, struct ctl_batch *b,
                       const uint8_t *msg, size_t len)
{
	struct store_agent_info a;
	const struct ctl_order_fact *f;
	struct wire_result r = {0};
	uint8_t pk[KEYS_ED25519_PK_LEN];
	size_t pklen = 0;
	const char *why;
	struct fp_result fp = {.software = FP_SW_UNKNOWN};
	int v;

	if (store_agent_by_id(c->store, s->agent_id, &a) != 1)
		return;
	if (!bucket_take(s, len)) {
		/* Not refused for good: not acknowledged, so an honest agent
		 * keeps it spooled and sends it again on a later HELLO. */
		c->refused_throttled++;
		if ((int64_t)rp_mono_ms() - s->throttled_logged_ms >= 10000) {
			log_warn("agent=%s results throttled: over %d MiB a minute (%llu so far)",
			         LOG_V(a.name), RP_CTL_AGENT_BYTES_PER_MIN / (1024 * 1024),
			         (unsigned long long)c->refused_throttled);
			s->throttled_logged_ms = (int64_t)rp_mono_ms();
		}
		return;
	}
	if (strcmp(a.ed25519_public, STORE_AGENT_NO_KEY) == 0 ||
	    sodium_base642bin(pk, sizeof(pk), a.ed25519_public, strlen(a.ed25519_public), NULL,
	                      &pklen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    pklen != sizeof(pk)) {
		log_warn("agent=%s result dropped: no signing key pinned", LOG_V(a.name));
		return;
	}
	why = wire_reason_name(wire_result_verify(msg, len, pk, a.name, &r));
	if (strcmp(why, "ok") != 0) {
		log_warn("agent=%s result dropped reason=%s", LOG_V(a.name), why);
		goto out;
	}
	/* What the agent earned: a result of its own order, for a target the
	 * order named, within the order's quotas (store_result_ingest). */
	why = NULL;
	f = orders_fact(c, r.order_id);
	v = dialog_verdict_from_name(r.verdict);
	if (f == NULL || f->agent_id != a.id)
		why = "not its order";
	else if (sodium_memcmp(f->sha, r.order_body_sha256, sizeof(f->sha)) != 0 &&
	         store_order_body_known(c->store, r.order_id, r.order_body_sha256) != 1)
		why = "order_body_sha256 mismatch";
	else if (!orders_fact_has_target(f, r.target))
		why = "target not in the order";
	else if (v < 0)
		why = "unknown verdict";
	else if (r.result_json_len == 0 || r.result_json_len > RP_RESULT_JSON_MAX)
		why = "result_json empty or over RP_RESULT_JSON_MAX";
	else if (memchr(r.result_json, 0, r.result_json_len) != NULL)
		why = "result_json holds a NUL byte";
	else
		why = result_json_check(&r, &fp);
	if (why != NULL) {
		c->refused_forged++;
		refused(a.name, &r, why);
		goto out;
	}
	{
		struct store_result sr = {.agent_id = a.id,
		                          .order_id = r.order_id,
		                          .target = r.target,
		                          .address = r.address,
		                          .port = r.port,
		                          .verdict = (enum dialog_verdict)v,
		                          .result_json = (const char *)r.result_json,
		                          .software = fp_software_name(fp.software),
		                          .software_confidence = fp_confidence_name(fp.confidence),
		                          .target_results_max = RP_CTL_TARGET_RESULTS_MAX,
		                          .order_bytes_max =
		                              (int64_t)f->n_targets * RP_CTL_TARGET_BYTES_MAX};
		enum store_ingest ing = store_result_ingest(c->store, &sr, now_s());

		if (ing == STORE_INGEST_NEW || ing == STORE_INGEST_DUPLICATE) {
			log_debug("agent=%s result order=%s target=%s address=%s verdict=%s %s",
			          LOG_V(a.name), LOG_V(r.order_id), LOG_V(r.target),
			          LOG_V(r.address), LOG_V(r.verdict),
			          ing == STORE_INGEST_NEW ? "stored" : "duplicate");
			link_batch_ack(b, s, r.order_id, r.target, r.address, r.port);
		} else if (ing == STORE_INGEST_REJECTED) {
			c->refused_quota++;
			refused(a.name, &r, store_errmsg(c->store));
		} else {
			log_warn("agent=%s result order=%s not stored (error): %s", LOG_V(a.name),
			         LOG_V(r.order_id), store_errmsg(c->store));
		}
	}
out:
	wire_result_clear(&r);
}
