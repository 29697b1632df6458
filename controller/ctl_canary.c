/* ctl_canary.c - the controller's canary: the listener's callbacks (token
 * check at RCPT; at end of DATA each token resolved to its order, target
 * and test through the order's stored body, the arrival committed with the
 * Received: hops as JSON), the tokens of new orders, and the wait window.
 * The callbacks run on the listener's thread with its own store handle;
 * counters are atomics read by metrics. */
#include "ctl_canary.h"

#include <jansson.h>
#include <libgen.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary_server.h"
#include "canary_token.h"
#include "envelope.h"
#include "log.h"
#include "relay_tests.h"
#include "store_canary.h"

struct ctl_canary {
	const struct ctl_config *cfg;
	uint8_t *key;        /* sodium_malloc'd, CANARY_KEY_LEN */
	struct store *store; /* the listener thread's own handle */
	struct canary_server *srv;
	/* the last order resolved (the thread's cache) */
	uint64_t cached_ref;
	char cached_id[STORE_ORDER_ID_MAX + 1];
	int64_t cached_agent, cached_created;
	struct wire_order cached;
	time_t ticked; /* the wait window is looked at once a second */
	_Atomic uint64_t arrivals, bounces, unknown, too_late, store_failed, expired;
};

static int on_rcpt(void *arg, const char *local, const char *domain)
{
	struct ctl_canary *k = arg;
	struct canary_ref r;

	(void)domain;
	if (canary_token_parse(k->key, local, strlen(local), &r) < 0 || r.order_ref == 0) {
		atomic_fetch_add(&k->unknown, 1);
		return -1;
	}
	return 0;
}

/* The order of ref, decoded into the cache. 1 / 0 unknown / -1 error. */
static int resolve(struct ctl_canary *k, uint64_t ref)
{
	uint8_t *body = NULL;
	size_t len = 0;
	int64_t audit;
	int rc;

	if (k->cached_ref == ref && ref != 0)
		return 1;
	wire_order_clear(&k->cached);
	k->cached_ref = 0;
	rc = store_canary_order(k->store, ref, k->cached_id, &k->cached_agent, &audit,
	                        &k->cached_created, &body, &len);
	if (rc <= 0)
		return rc;
	if (wire_order_decode_own(body, len, NULL, &k->cached) != WIRE_OK) {
		free(body);
		return 0;
	}
	free(body);
	k->cached_ref = ref;
	return 1;
}

/* Resolves one recipient's token and commits its arrival. 0 (also for a
 * token that names no known order: counted and logged), -1 on a store
 * failure. */
static int commit_rcpt(struct ctl_canary *k, const struct canary_arrival *a, const char *rcpt,
                       const char *tls, const char *hops)
{
	size_t ncat;
	const struct relay_test_def *cat = relay_tests_all(&ncat);
	const char *at = strrchr(rcpt, '@');
	const int64_t at_s = (int64_t)(a->arrived_ms / 1000);
	struct canary_ref r;
	long changed = 0;
	int rc;

	if (at == NULL || canary_token_parse(k->key, rcpt, (size_t)(at - rcpt), &r) < 0 ||
	    r.order_ref == 0)
		return 0; /* refused at RCPT already */
	rc = resolve(k, r.order_ref);
	if (rc < 0)
		return -1;
	if (rc == 0 || r.target >= k->cached.spec.n_targets || r.test >= ncat) {
		atomic_fetch_add(&k->unknown, 1);
		log_warn("canary: token of unknown order ref=%llu rcpt=%s from=%s",
		         (unsigned long long)r.order_ref, LOG_V(rcpt), LOG_V(a->peer_ip));
		return 0;
	}
	const struct store_arrival sa = {
	    .order_id = k->cached_id,
	    .agent_id = k->cached_agent,
	    .target = k->cached.spec.targets[r.target],
	    .test = cat[r.test].id,
	    .bounce = r.bounce,
	    .arrived_ms = (int64_t)a->arrived_ms,
	    .peer_ip = a->peer_ip,
	    .helo = a->helo,
	    .mail_from = a->mail_from,
	    .rcpt = rcpt,
	    .message_id = a->message_id,
	    .size = a->size,
	    .tls = a->tls ? tls : NULL,
	    .hops = hops,
	    .too_late = at_s - k->cached_created > (int64_t)k->cfg->canary_late,
	};
	if (store_canary_arrival(k->store, &sa, at_s, &changed) < 0)
		return -1;
	atomic_fetch_add(sa.bounce ? &k->bounces : &k->arrivals, 1);
	if (sa.too_late)
		atomic_fetch_add(&k->too_late, 1);
	log_info("canary: %s order=%s target=%s test=%s from=%s results_changed=%ld%s",
	         sa.bounce ? "bounce" : "delivery", LOG_V(sa.order_id), LOG_V(sa.target), sa.test,
	         LOG_V(a->peer_ip), changed, sa.too_late ? " too-late" : "");
	return 0;
}

static int on_commit(void *arg, const struct canary_arrival *a, char *why, size_t whylen)
{
	struct ctl_canary *k = arg;
	json_t *hj = received_hops_json(a->hops, a->nhops);
	char *hops = hj ? json_dumps(hj, JSON_COMPACT) : NULL;
	char tls[96] = "";
	int ret = 0;

	json_decref(hj);
	if (hops == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (a->tls)
		snprintf(tls, sizeof(tls), "%s %s", a->tls_protocol, a->tls_cipher);
	for (size_t i = 0; i < a->nrcpts; i++)
		if (commit_rcpt(k, a, a->rcpts[i], tls, hops) < 0) {
			atomic_fetch_add(&k->store_failed, 1);
			snprintf(why, whylen, "store: %s", store_errmsg(k->store));
			ret = -1;
			break;
		}
	free(hops);
	return ret;
}

/* [canary] mac_key, or canary.key beside the database. */
static int key_path(const struct ctl_config *cfg, char *out, size_t len)
{
	char db[1024];

	if (cfg->canary_mac_key != NULL)
		return snprintf(out, len, "%s", cfg->canary_mac_key) < (int)len ? 0 : -1;
	snprintf(db, sizeof(db), "%s", cfg->database);
	return snprintf(out, len, "%s/canary.key", dirname(db)) < (int)len ? 0 : -1;
}

struct ctl_canary *ctl_canary_start(const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct ctl_canary *k;
	struct canary_server_params p = {0};
	char path[1100], e[512];

	err[0] = '\0';
	if (cfg->n_canary_listen == 0)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL || sodium_init() < 0 || (k->key = sodium_malloc(CANARY_KEY_LEN)) == NULL) {
		snprintf(err, errlen, "canary: out of memory");
		free(k);
		return NULL;
	}
	k->cfg = cfg;
	if (key_path(cfg, path, sizeof(path)) < 0 ||
	    canary_key_load_or_create(path, k->key, e, sizeof(e)) < 0) {
		snprintf(err, errlen, "[canary] mac_key: %s", e);
		goto fail;
	}
	k->store = store_open(cfg->database, e, sizeof(e));
	if (k->store == NULL) {
		snprintf(err, errlen, "canary: %s", e);
		goto fail;
	}
	p.listen = (const char *const *)cfg->canary_listen;
	p.nlisten = cfg->n_canary_listen;
	p.domains = (const char *const *)cfg->canary_domains;
	p.ndomains = cfg->n_canary_domains;
	p.hostname = cfg->canary_hostname;
	p.cert_file = cfg->canary_cert;
	p.key_file = cfg->canary_key;
	p.starttls = true;
	p.sessions_max = cfg->canary_sessions;
	p.peer_sessions = cfg->canary_peer_sessions;
	p.peer_msgs_per_min = cfg->canary_peer_msgs;
	p.rcpt = on_rcpt;
	p.commit = on_commit;
	p.arg = k;
	k->srv = canary_server_start(&p, e, sizeof(e));
	if (k->srv == NULL) {
		snprintf(err, errlen, "[canary] listen: %s", e);
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_canary_listen; i++)
		log_info("canary listening on %s (port %u) for %s%s", cfg->canary_listen[i],
		         canary_server_port(k->srv, i), cfg->canary_domains[0],
		         cfg->n_canary_domains > 1 ? " and more" : "");
	return k;
fail:
	ctl_canary_stop(&k);
	return NULL;
}

void ctl_canary_stop(struct ctl_canary **kp)
{
	struct ctl_canary *k = kp ? *kp : NULL;

	if (k == NULL)
		return;
	canary_server_stop(&k->srv);
	store_close(&k->store);
	wire_order_clear(&k->cached);
	if (k->key)
		sodium_free(k->key);
	free(k);
	*kp = NULL;
}

const char *ctl_canary_domain(const struct ctl_canary *k)
{
	return k->cfg->canary_domains[0];
}

const char *ctl_canary_contact(const struct ctl_canary *k)
{
	return k->cfg->canary_contact;
}

void ctl_canary_tokens_free(char **to, char **from, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (to)
			free(to[i]);
		if (from)
			free(from[i]);
	}
	free(to);
	free(from);
}

int ctl_canary_tokens(const struct ctl_canary *k, uint64_t ref, size_t ntargets,
                      const size_t *test_idx, size_t ntests, char ***to, char ***from)
{
	size_t n = ntargets * ntests;
	char **t = calloc(n ? n : 1, sizeof(*t)), **f = calloc(n ? n : 1, sizeof(*f));

	*to = *from = NULL;
	if (t == NULL || f == NULL || ntargets > 65536)
		goto fail;
	for (size_t i = 0; i < ntargets; i++)
		for (size_t j = 0; j < ntests; j++) {
			struct canary_ref r = {
			    .order_ref = ref, .target = (uint16_t)i, .test = (uint8_t)test_idx[j]};
			size_t x = i * ntests + j;

			if ((t[x] = malloc(CANARY_LOCAL_MAX + 1)) == NULL ||
			    (f[x] = malloc(CANARY_LOCAL_MAX + 1)) == NULL ||
			    canary_token_make(k->key, &r, t[x], CANARY_LOCAL_MAX + 1) < 0)
				goto fail;
			r.bounce = true;
			if (canary_token_make(k->key, &r, f[x], CANARY_LOCAL_MAX + 1) < 0)
				goto fail;
		}
	*to = t;
	*from = f;
	return 0;
fail:
	ctl_canary_tokens_free(t, f, t && f ? n : 0);
	return -1;
}

void ctl_canary_tick(struct ctl_canary *k, struct store *s, time_t now)
{
	long n;

	if (k == NULL || now == k->ticked)
		return;
	k->ticked = now;
	n = store_canary_expire(s, (int64_t)now - (int64_t)k->cfg->canary_wait, (int64_t)now, 1000);
	if (n < 0)
		log_error("canary: wait window: %s", store_errmsg(s));
	else if (n > 0) {
		atomic_fetch_add(&k->expired, (uint64_t)n);
		log_info(
		    "canary: %ld result(s) accepted through DATA and not delivered within %u s", n,
		    k->cfg->canary_wait);
	}
}

void ctl_canary_stats(const struct ctl_canary *k, struct ctl_canary_stats *out)
{
	struct canary_server_stats st = {0};

	memset(out, 0, sizeof(*out));
	if (k == NULL)
		return;
	canary_server_stats(k->srv, &st);
	out->sessions = st.sessions;
	out->sessions_refused = st.sessions_refused;
	out->sessions_open = st.sessions_open;
	out->messages = st.messages;
	out->refused_rcpt = st.refused_rcpt;
	out->oversize = st.oversize;
	out->arrivals = atomic_load(&k->arrivals);
	out->bounces = atomic_load(&k->bounces);
	out->unknown_tokens = atomic_load(&k->unknown);
	out->too_late = atomic_load(&k->too_late);
	out->store_failed = atomic_load(&k->store_failed);
	out->expired = atomic_load(&k->expired);
}

unsigned ctl_canary_port(const struct ctl_canary *k, size_t i)
{
	return k ? canary_server_port(k->srv, i) : 0;
}
