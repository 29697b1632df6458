/* ctl_advice.c - software and advice per target of a report (ctl_advice.h).
 * The software names come from the store (written by this controller at
 * ingest), are checked against the fingerprint's table again and fall back
 * to unknown; the advice texts are the built-in ones, never a peer's. */
#include "ctl_advice.h"

#include <string.h>

#include "advice.h"
#include "fingerprint.h"
#include "log.h"
#include "relay_tests.h"
#include "store_results.h"

#define ADVICE_PER_TARGET 4

static int conf_from_name(const char *name)
{
	for (int c = 0; c < FP_CONF_COUNT; c++)
		if (name != NULL && strcmp(name, fp_confidence_name((enum fp_confidence)c)) == 0)
			return c;
	return -1;
}

json_t *ctl_advice_software_json(const char *name, const char *confidence)
{
	int sw = name != NULL ? fp_software_from_name(name) : -1;
	int conf = conf_from_name(confidence);

	if (sw <= FP_SW_UNKNOWN || conf <= FP_CONF_NONE)
		sw = FP_SW_UNKNOWN, conf = FP_CONF_NONE;
	return json_pack("{s:s, s:s, s:s}", "name", fp_software_name((enum fp_software)sw), "label",
	                 fp_software_label((enum fp_software)sw), "confidence",
	                 fp_confidence_name((enum fp_confidence)conf));
}

/* One result's software: kept when more confident than the target's so far. */
static int software_cb(void *arg, const char *target, const char *name, const char *confidence)
{
	json_t *map = arg, *have, *sw;

	if (target == NULL)
		return 0;
	have = json_object_get(map, target);
	if (have != NULL && conf_from_name(json_string_value(
	                        json_object_get(have, "confidence"))) >= conf_from_name(confidence))
		return 0;
	if ((sw = ctl_advice_software_json(name, confidence)) == NULL ||
	    json_object_set_new(map, target, sw) < 0)
		return 1;
	return 0;
}

json_t *ctl_advice_software(struct store *s, int64_t audit)
{
	json_t *map = json_object();

	if (map == NULL || store_audit_software(s, audit, NULL, software_cb, map) < 0) {
		json_decref(map);
		return NULL;
	}
	return map;
}

/* agent -> [accepted test ids] of one target (the event's). */
static int event_accepted_cb(void *arg, const char *target, const char *agent, const char *id)
{
	json_t *acc = arg, *list;

	(void)target;
	if (agent == NULL || id == NULL)
		return 0;
	if ((list = json_object_get(acc, agent)) == NULL &&
	    ((list = json_array()) == NULL || json_object_set_new(acc, agent, list) < 0))
		return 1;
	return json_array_append_new(list, json_string(id)) < 0;
}

int ctl_advice_event(struct store *s, json_t *event)
{
	const char *target = json_string_value(json_object_get(event, "target"));
	const char *to = json_string_value(json_object_get(event, "to"));
	json_int_t audit = json_integer_value(json_object_get(event, "audit"));
	json_t *sw = json_object(), *acc = json_object(), *texts = json_object(), *t = NULL;
	struct agg_result agg = {.verdict = DV_COUNT, .inconclusive = true};
	int v = to != NULL ? dialog_verdict_from_name(to) : -1, rc = -1;

	if (v >= 0) {
		agg.verdict = (enum dialog_verdict)v;
		agg.inconclusive = verdict_inconclusive(agg.verdict);
	}
	if (target == NULL || sw == NULL || acc == NULL || texts == NULL ||
	    store_audit_software(s, audit, target, software_cb, sw) < 0 ||
	    store_audit_accepted(s, audit, target, event_accepted_cb, acc) < 0 ||
	    (t = json_pack("{s:s}", "target", target)) == NULL ||
	    ctl_advice_target(t, &agg, 1, acc, sw, texts) < 0)
		goto out;
	if (json_object_set(event, "software", json_object_get(t, "software")) < 0 ||
	    json_object_set(event, "advice", json_object_get(t, "advice")) < 0)
		goto out;
	rc = 0;
out:
	json_decref(sw);
	json_decref(acc);
	json_decref(texts);
	json_decref(t);
	return rc;
}

/* Which kinds of relay test the target accepted, from any vantage. */
static void accepted_kinds(const json_t *accepted, struct advice_query *q)
{
	const char *agent;
	const json_t *ids, *id;
	size_t i, ncat = 0;
	const struct relay_test_def *cat = relay_tests_all(&ncat);

	json_object_foreach((json_t *)accepted, agent, ids)
	{
		json_array_foreach(ids, i, id)
		{
			int ti =
			    relay_test_index(json_string_value(id) ? json_string_value(id) : "");

			if (ti < 0 || (size_t)ti >= ncat || cat[ti].finding_only)
				continue;
			if (cat[ti].conf == RT_CONF_HIGH)
				q->accepted_plain = true;
			else
				q->accepted_odd = true;
		}
	}
}

static json_t *advice_item(const struct advice_entry *e, json_t *texts)
{
	const char *sw = e->software == FP_SW_UNKNOWN ? "generic" : fp_software_name(e->software);
	char key[64];

	snprintf(key, sizeof(key), "%s/%s", sw, adv_finding_name(e->finding));
	if (json_object_get(texts, key) == NULL &&
	    json_object_set_new(
	        texts, key, json_pack("{s:s, s:s}", "summary", e->summary, "text", e->text)) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s}", "finding", adv_finding_name(e->finding),
	                 "software", sw, "summary", e->summary, "key", key);
}

int ctl_advice_target(json_t *target, const struct agg_result *agg, size_t ncells,
                      const json_t *accepted, const json_t *software, json_t *texts)
{
	char err[256];
	const struct advice_db *db = advice_builtin(err, sizeof(err));
	const char *name = json_string_value(json_object_get(target, "target"));
	json_t *sw = name != NULL ? json_object_get(software, name) : NULL;
	struct advice_query q = {FP_SW_UNKNOWN, agg->verdict, false, false, ADV_VANTAGE_SINGLE};
	const struct advice_entry *adv[ADVICE_PER_TARGET];
	size_t nadv = 0;
	json_t *list = json_array();

	if (db == NULL)
		log_error("advice: %s", err);
	sw = sw != NULL ? json_incref(sw) : ctl_advice_software_json(NULL, NULL);
	if (list == NULL || sw == NULL)
		goto fail;
	q.software =
	    (enum fp_software)fp_software_from_name(json_string_value(json_object_get(sw, "name")));
	if ((int)q.software < 0)
		q.software = FP_SW_UNKNOWN;
	q.vantage = agg->disagree ? ADV_VANTAGE_DISAGREE
	            : ncells > 1  ? ADV_VANTAGE_AGREE
	                          : ADV_VANTAGE_SINGLE;
	if (accepted != NULL)
		accepted_kinds(accepted, &q);
	if (agg->verdict < DV_COUNT && !agg->inconclusive)
		nadv = advice_select(db, &q, adv, ADVICE_PER_TARGET);
	for (size_t i = 0; i < nadv; i++)
		if (json_array_append_new(list, advice_item(adv[i], texts)) < 0)
			goto fail;
	if (json_object_set_new(target, "software", sw) < 0)
		goto fail_list;
	return json_object_set_new(target, "advice", list);
fail:
	json_decref(sw);
fail_list:
	json_decref(list);
	return -1;
}
