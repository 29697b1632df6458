/* hooks.c - the hook set, the delivery queue and the retry schedule. Each
 * enabled transport (hook_transport.h) gets every new event once; an
 * attempt's outcome is recorded here (backoff from hook_retry_base up to
 * HOOK_BACKOFF_MAX, given up after HOOK_ATTEMPTS_MAX attempts). The SQL is
 * in store_hooks.c; the transports own their I/O. Never blocks the loop. */
#include "hooks.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_advice.h"
#include "hook_transport.h"
#include "log.h"
#include "rp_take.h"
#include "store_hooks.h"

/* The transports, in the order they are served. */
static const struct hook_transport *const transports[] = {&hook_webhook, &hook_syslog, &hook_mail};
#define HOOK_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))

struct hook_slot {
	const struct hook_transport *t;
	void *self;     /* the transport's state */
	int64_t cursor; /* highest event id queued for it */
};

struct hooks {
	struct store *s;
	const struct ctl_config *cfg;
	struct hook_slot slot[HOOK_TRANSPORTS];
	size_t n; /* enabled transports in slot[] */
	int64_t last_tick;
};

int64_t hooks_backoff(uint32_t base, unsigned attempts)
{
	int64_t d = base > 0 ? base : 1;

	for (unsigned i = 1; i < attempts && d < HOOK_BACKOFF_MAX; i++)
		d *= 2;
	return d > HOOK_BACKOFF_MAX ? HOOK_BACKOFF_MAX : d;
}

int hooks_mark(struct store *s, int64_t event, const char *hook, int ok, const char *why,
               uint32_t base, int64_t now)
{
	int64_t attempts = store_hooks_attempts(s, event, hook);
	enum store_hook_state state;
	const char *reason = why ? why : "failed";

	if (attempts < 0)
		return -1;
	attempts++;
	if (ok)
		state = STORE_HOOK_DELIVERED;
	else if (attempts >= HOOK_ATTEMPTS_MAX)
		state = STORE_HOOK_FAILED;
	else
		state = STORE_HOOK_PENDING;
	if (store_hooks_record(s, event, hook, state, attempts,
	                       ok ? now : now + hooks_backoff(base, (unsigned)attempts),
	                       ok ? "" : reason) < 0)
		return -1;
	if (ok)
		log_info("hook %s delivered event=%lld attempts=%lld", hook, (long long)event,
		         (long long)attempts);
	else if (state == STORE_HOOK_FAILED)
		log_error("hook %s gave up event=%lld after %lld attempts: %s", hook,
		          (long long)event, (long long)attempts, LOG_V(reason));
	else
		log_warn("hook %s failed event=%lld attempt=%lld (retry in %llds): %s", hook,
		         (long long)event, (long long)attempts,
		         (long long)hooks_backoff(base, (unsigned)attempts), LOG_V(reason));
	return 0;
}

static void no_controls(char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* The event's document with its software and advice; on a store error the
 * plain document (software unknown, no advice), logged. NULL on OOM. */
static json_t *event_doc(struct hooks *h, const struct hook_transport *t,
                         const struct store_hook_event *e)
{
	json_t *doc = hooks_event_doc(e->id, e->at, e->target, e->client, e->from, e->to, e->audit);

	if (doc == NULL || ctl_advice_event(h->s, doc) == 0)
		return doc;
	log_warn("hook %s event=%lld: no software or advice: %s", t->name, (long long)e->id,
	         LOG_V(store_errmsg(h->s)));
	if (json_object_set_new(doc, "software", ctl_advice_software_json(NULL, NULL)) < 0 ||
	    json_object_set_new(doc, "advice", json_array()) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int hooks_due(struct hooks *h, const struct hook_transport *t, int64_t now, struct hook_event *out,
              int max)
{
	struct store_hook_event rows[HOOK_DUE_MAX];
	int n = max > HOOK_DUE_MAX ? HOOK_DUE_MAX : max;

	n = store_hooks_take_due(h->s, t->name, now, rows, n);
	if (n < 0)
		log_error("hook %s: %s", t->name, store_errmsg(h->s));
	for (int i = 0; i < n; i++) {
		no_controls(rows[i].target);
		no_controls(rows[i].client);
		out[i].e = rows[i];
		/* Without memory for a document, the transport fails this
		 * attempt and it is retried. */
		out[i].doc = event_doc(h, t, &rows[i]);
	}
	return n;
}

void hooks_due_free(struct hook_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		json_decref(ev[i].doc);
		ev[i].doc = NULL;
	}
}

const char *hooks_software_label(const struct hook_event *ev, const char **confidence)
{
	const json_t *sw = json_object_get(ev->doc, "software");
	const char *label = json_string_value(json_object_get(sw, "label"));
	const char *conf = json_string_value(json_object_get(sw, "confidence"));

	*confidence = conf != NULL && label != NULL && strcmp(label, "unknown") != 0 ? conf : "";
	return label != NULL ? label : "unknown";
}

int hooks_advice_at(const struct hook_event *ev, size_t i, const char **key, const char **summary)
{
	const json_t *a = json_array_get(json_object_get(ev->doc, "advice"), i);

	*key = json_string_value(json_object_get(a, "key"));
	*summary = json_string_value(json_object_get(a, "summary"));
	return *key != NULL && *summary != NULL;
}

void hooks_done(struct hooks *h, const struct hook_transport *t, int64_t event, int ok,
                const char *why, int64_t now)
{
	if (hooks_mark(h->s, event, t->name, ok, why, h->cfg->hook_retry_base, now) < 0)
		log_error("hook %s: %s", t->name, store_errmsg(h->s));
}

struct hooks *hooks_new(struct store *s, const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct hooks *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->s = s;
	h->cfg = cfg;
	if (store_hooks_requeue_sending(s) < 0) {
		snprintf(err, errlen, "hooks: %s", store_errmsg(s));
		goto fail;
	}
	for (size_t k = 0; k < HOOK_TRANSPORTS; k++) {
		struct hook_slot *sl = &h->slot[h->n];
		int on;

		sl->t = transports[k];
		sl->self = NULL;
		err[0] = '\0';
		on = sl->t->open(cfg, &sl->self, err, errlen);
		if (on < 0)
			goto fail;
		if (on == 0)
			continue;
		h->n++;
		sl->cursor = store_hooks_resume_after(s, sl->t->name);
		if (sl->cursor < 0) {
			snprintf(err, errlen, "hooks: %s", store_errmsg(s));
			goto fail;
		}
		log_info("hook %s enabled, events after id %lld", sl->t->name,
		         (long long)sl->cursor);
	}
	err[0] = '\0';
	return h;
fail:
	hooks_free(&h);
	return NULL;
}

void hooks_free(struct hooks **hp)
{
	struct hooks *h = rp_take(hp);

	if (h == NULL)
		return;
	for (size_t k = 0; k < h->n; k++)
		if (h->slot[k].t->close != NULL)
			h->slot[k].t->close(&h->slot[k].self);
	free(h);
}

void hooks_tick(struct hooks *h, int64_t now)
{
	if (h == NULL)
		return;
	for (size_t k = 0; k < h->n; k++)
		if (h->slot[k].t->poll != NULL)
			h->slot[k].t->poll(h->slot[k].self, h, now);
	if (now == h->last_tick)
		return;
	h->last_tick = now;
	for (size_t k = 0; k < h->n; k++) {
		struct hook_slot *sl = &h->slot[k];
		int64_t c = store_hooks_enqueue(h->s, sl->t->name, sl->cursor);

		if (c < 0)
			log_error("hook %s: %s", sl->t->name, store_errmsg(h->s));
		else
			sl->cursor = c;
	}
	for (size_t k = 0; k < h->n; k++)
		h->slot[k].t->deliver(h->slot[k].self, h, now);
}

static void count_into(void *arg, const char *hook, const char *state, int64_t n)
{
	json_t *o = arg, *per = json_object_get(o, hook);

	if (per == NULL) {
		per = json_object();
		if (per == NULL || json_object_set_new(o, hook, per) < 0)
			return;
	}
	json_object_set_new(per, state, json_integer((json_int_t)n));
}

static json_t *hooks_status(struct hooks *h)
{
	json_t *o = json_object();

	if (o == NULL || store_hooks_counts(h->s, count_into, o) < 0) {
		json_decref(o);
		return json_pack("{s:b,s:s}", "ok", 0, "error", "hooks.status failed");
	}
	return json_pack("{s:b,s:o}", "ok", 1, "hooks", o);
}

json_t *hooks_admin(struct hooks *h, const char *cmd, json_t *req)
{
	if (h == NULL || cmd == NULL)
		return NULL;
	(void)req;
	if (strcmp(cmd, "hooks.status") == 0)
		return hooks_status(h);
	return NULL;
}
