/* hook_webhook.c - the webhook: each event POSTed as a JSON document
 * (hooks_event_doc, with the software and advice hooks_due adds) to [hooks] webhook through
 * libcurl's multi interface, at most HOOK_INFLIGHT_MAX requests in flight, HOOK_TIMEOUT_S each,
 * http and https only; a 2xx status is a delivery, anything else a failure. Owns the multi handle
 * and the in-flight easy handles. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hook_transport.h"

struct web_slot {
	CURL *easy;
	struct curl_slist *hdrs;
	int64_t event;
	char errbuf[CURL_ERROR_SIZE];
};

struct webhook {
	const char *url;
	CURLM *multi;
	struct web_slot web[HOOK_INFLIGHT_MAX];
};

json_t *hooks_event_doc(int64_t id, int64_t at, const char *target, const char *client,
                        const char *from, const char *to, int64_t audit)
{
	char when[32];
	time_t t = (time_t)at;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I}", "event_id", (json_int_t)id, "time", when,
	                 "target", target ? target : "", "client", client ? client : "", "from",
	                 from ? from : "", "to", to ? to : "", "audit", (json_int_t)audit);
}

static void slot_clear(struct web_slot *w)
{
	if (w->easy != NULL)
		curl_easy_cleanup(w->easy);
	curl_slist_free_all(w->hdrs);
	w->easy = NULL;
	w->hdrs = NULL;
}

static int web_open(const struct ctl_config *cfg, void **self, char *err, size_t errlen)
{
	struct webhook *wh;

	*self = NULL;
	if (cfg->webhook == NULL)
		return 0;
	wh = calloc(1, sizeof(*wh));
	if (wh == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	wh->url = cfg->webhook;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl initialisation failed");
		free(wh);
		return -1;
	}
	wh->multi = curl_multi_init();
	if (wh->multi == NULL) {
		snprintf(err, errlen, "libcurl initialisation failed");
		curl_global_cleanup();
		free(wh);
		return -1;
	}
	*self = wh;
	return 1;
}

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

/* Sets up slot w for event e; 0, or -1 with why. */
static int web_start_one(struct webhook *wh, struct web_slot *w, const struct hook_event *e,
                         const char **why)
{
	char *body = e->doc ? json_dumps(e->doc, JSON_COMPACT) : NULL;

	w->easy = body ? curl_easy_init() : NULL;
	w->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (w->easy == NULL || w->hdrs == NULL) {
		free(body);
		slot_clear(w);
		*why = "out of memory";
		return -1;
	}
	w->event = e->e.id;
	w->errbuf[0] = '\0';
	curl_easy_setopt(w->easy, CURLOPT_URL, wh->url);
	curl_easy_setopt(w->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->easy, CURLOPT_TIMEOUT, (long)HOOK_TIMEOUT_S);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->hdrs);
	curl_easy_setopt(w->easy, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(w->easy, CURLOPT_USERAGENT, "relayprobe-controller");
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
	free(body);
	if (curl_multi_add_handle(wh->multi, w->easy) != CURLM_OK) {
		slot_clear(w);
		*why = "curl_multi_add_handle failed";
		return -1;
	}
	return 0;
}

static void web_collect(void *self, struct hooks *h, int64_t now)
{
	struct webhook *wh = self;
	CURLMsg *msg;
	int running, left;

	curl_multi_perform(wh->multi, &running);
	while ((msg = curl_multi_info_read(wh->multi, &left)) != NULL) {
		struct web_slot *w = NULL;
		long code = 0;
		char why[CURL_ERROR_SIZE + 64];

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
		if (w == NULL)
			continue;
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result != CURLE_OK)
			snprintf(why, sizeof(why), "%s",
			         w->errbuf[0] ? w->errbuf : curl_easy_strerror(msg->data.result));
		else
			snprintf(why, sizeof(why), "HTTP status %ld", code);
		hooks_done(h, &hook_webhook, w->event,
		           msg->data.result == CURLE_OK && code >= 200 && code < 300, why, now);
		curl_multi_remove_handle(wh->multi, w->easy);
		slot_clear(w);
	}
}

static void web_deliver(void *self, struct hooks *h, int64_t now)
{
	struct webhook *wh = self;
	struct hook_event evs[HOOK_INFLIGHT_MAX];
	int free_slots = 0, n;

	for (int i = 0; i < HOOK_INFLIGHT_MAX; i++)
		free_slots += wh->web[i].easy == NULL;
	if (free_slots > 0) {
		n = hooks_due(h, &hook_webhook, now, evs, free_slots);
		for (int i = 0, slot = 0; i < n; i++) {
			const char *why = NULL;

			while (wh->web[slot].easy != NULL)
				slot++;
			if (web_start_one(wh, &wh->web[slot], &evs[i], &why) < 0)
				hooks_done(h, &hook_webhook, evs[i].e.id, 0, why, now);
		}
		hooks_due_free(evs, n);
	}
	web_collect(self, h, now);
}

static void web_close(void **self)
{
	struct webhook *wh = *self;

	if (wh == NULL)
		return;
	for (int i = 0; i < HOOK_INFLIGHT_MAX; i++)
		if (wh->web[i].easy != NULL) {
			curl_multi_remove_handle(wh->multi, wh->web[i].easy);
			slot_clear(&wh->web[i]);
		}
	curl_multi_cleanup(wh->multi);
	curl_global_cleanup();
	free(wh);
	*self = NULL;
}

const struct hook_transport hook_webhook = {
    .name = "webhook",
    .open = web_open,
    .deliver = web_deliver,
    .poll = web_collect,
    .close = web_close,
};
