/* probe_canary.c - the one-shot canary of `relayprobe probe --canary`: an
 * ephemeral token key, a table of dialogs (the token's reference names the
 * dialog: target index = its row), the arrivals collected by the listener's
 * thread under a mutex, and the final print with each dialog's canary
 * verdict and proof. Everything is bounded: RP_DIALOGS_MAX dialogs,
 * RP_PROBE_CANARY_ARRIVALS_MAX arrivals kept. */
#include "probe_canary.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "canary_server.h"
#include "canary_token.h"
#include "clock.h"
#include "relay_tests.h"
#include "report_render.h"
#include "result_json.h"
#include "rp_grow.h"
#include "rp_limits.h"
#include "rp_take.h"
#include "text_col.h"
#include "verdict.h"

#define ARRIVALS_MAX 4096
#define DIALOGS_MAX  65535 /* the token's target field */

struct arrival {
	size_t dialog;
	unsigned test;
	bool bounce;
	char peer_ip[RP_RECEIVED_IP_MAX + 1];
	uint64_t arrived_ms;
	json_t *json; /* the record for --json */
};

struct drow {
	char *target, *address;
	char tok_to[RP_TESTS_MAX][CANARY_LOCAL_MAX + 1];
	char tok_from[RP_TESTS_MAX][CANARY_LOCAL_MAX + 1];
};

/* A finished dialog held for the final print. */
struct held {
	json_t *result;
	long row; /* -1: no dialog (unresolved target) */
};

struct probe_canary {
	uint8_t *key;
	struct canary_server *srv;
	pthread_mutex_t mu;
	struct drow *rows;
	size_t nrows, cap;
	struct arrival arr[ARRIVALS_MAX];
	size_t narr;
	unsigned long dropped;
	struct held *held; /* the main thread's only */
	size_t nheld, capheld;
	size_t target_col; /* the TARGET column's width, 0 = the minimum */
};

void probe_canary_set_target_col(struct probe_canary *pc, size_t width)
{
	pc->target_col = width;
}

static int on_rcpt(void *arg, const char *local, const char *domain)
{
	struct probe_canary *pc = arg;
	struct canary_ref r;
	int ok;

	(void)domain;
	if (canary_token_parse(pc->key, local, strlen(local), &r) < 0 || r.order_ref != 0)
		return -1;
	pthread_mutex_lock(&pc->mu);
	ok = r.target < pc->nrows;
	pthread_mutex_unlock(&pc->mu);
	return ok ? 0 : -1;
}

static int on_commit(void *arg, const struct canary_arrival *a, char *why, size_t whylen)
{
	struct probe_canary *pc = arg;

	(void)why;
	(void)whylen;
	pthread_mutex_lock(&pc->mu);
	for (size_t i = 0; i < a->nrcpts; i++) {
		const char *at = strrchr(a->rcpts[i], '@');
		struct canary_ref r;
		struct arrival *x;
		size_t ncat;
		const struct relay_test_def *cat = relay_tests_all(&ncat);

		if (at == NULL ||
		    canary_token_parse(pc->key, a->rcpts[i], (size_t)(at - a->rcpts[i]), &r) < 0 ||
		    r.order_ref != 0 || r.target >= pc->nrows || r.test >= ncat)
			continue;
		if (pc->narr == ARRIVALS_MAX) {
			pc->dropped++;
			continue;
		}
		x = &pc->arr[pc->narr++];
		memset(x, 0, sizeof(*x));
		x->dialog = r.target;
		x->test = r.test;
		x->bounce = r.bounce;
		snprintf(x->peer_ip, sizeof(x->peer_ip), "%s", a->peer_ip);
		x->arrived_ms = a->arrived_ms;
		x->json = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:b, s:o*}", "kind",
		                    r.bounce ? "bounce" : "delivery", "test", cat[r.test].id,
		                    "arrived_at", (json_int_t)a->arrived_ms, "peer_ip", a->peer_ip,
		                    "helo", a->helo, "mail_from", a->mail_from, "message_id",
		                    a->message_id, "size", (json_int_t)a->size, "tls", a->tls,
		                    "hops", received_hops_json(a->hops, a->nhops));
	}
	pthread_mutex_unlock(&pc->mu);
	return 0;
}

struct probe_canary *probe_canary_start(const char *listen, const char *domain, char *err,
                                        size_t errlen)
{
	struct probe_canary *pc = calloc(1, sizeof(*pc));
	struct canary_server_params p = {0};
	const char *l[1] = {listen}, *d[1] = {domain};

	if (pc == NULL || sodium_init() < 0 || (pc->key = sodium_malloc(CANARY_KEY_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(pc);
		return NULL;
	}
	randombytes_buf(pc->key, CANARY_KEY_LEN);
	pthread_mutex_init(&pc->mu, NULL);
	p.listen = l;
	p.nlisten = 1;
	p.domains = d;
	p.ndomains = 1;
	p.starttls = true;
	p.rcpt = on_rcpt;
	p.commit = on_commit;
	p.arg = pc;
	pc->srv = canary_server_start(&p, err, errlen);
	if (pc->srv == NULL) {
		probe_canary_stop(&pc);
		return NULL;
	}
	return pc;
}

void probe_canary_stop(struct probe_canary **pp)
{
	struct probe_canary *pc = rp_take(pp);

	if (pc == NULL)
		return;
	canary_server_stop(&pc->srv);
	for (size_t i = 0; i < pc->nrows; i++) {
		free(pc->rows[i].target);
		free(pc->rows[i].address);
	}
	for (size_t i = 0; i < pc->narr; i++)
		json_decref(pc->arr[i].json);
	for (size_t i = 0; i < pc->nheld; i++)
		json_decref(pc->held[i].result);
	free(pc->held);
	free(pc->rows);
	if (pc->key)
		sodium_free(pc->key);
	pthread_mutex_destroy(&pc->mu);
	free(pc);
}

/* The row of (target, address), added when new; -1 when full. Locked. */
static long row_of(struct probe_canary *pc, const char *target, const char *address, bool add)
{
	struct drow *r;

	for (size_t i = 0; i < pc->nrows; i++)
		if (strcmp(pc->rows[i].target, target) == 0 &&
		    strcmp(pc->rows[i].address, address) == 0)
			return (long)i;
	if (!add || pc->nrows == DIALOGS_MAX)
		return -1;
	if (rp_grow(&pc->rows, &pc->cap, pc->nrows, 16) < 0)
		return -1;
	r = &pc->rows[pc->nrows];
	memset(r, 0, sizeof(*r));
	r->target = strdup(target);
	r->address = strdup(address);
	if (r->target == NULL || r->address == NULL) {
		free(r->target);
		free(r->address);
		return -1;
	}
	return (long)pc->nrows++;
}

int probe_canary_locals(void *arg, const char *target, const char *address, const size_t *tests,
                        size_t ntests, const char **to_locals, const char **from_locals)
{
	struct probe_canary *pc = arg;
	long i;
	int rc = -1;

	pthread_mutex_lock(&pc->mu);
	i = row_of(pc, target, address, true);
	if (i >= 0 && ntests <= RP_TESTS_MAX) {
		struct drow *r = &pc->rows[i];

		rc = 0;
		for (size_t k = 0; k < ntests && rc == 0; k++) {
			struct canary_ref ref = {
			    .order_ref = 0, .target = (uint16_t)i, .test = (uint8_t)tests[k]};

			if (canary_token_make(pc->key, &ref, r->tok_to[k], sizeof(r->tok_to[k])) <
			    0)
				rc = -1;
			ref.bounce = true;
			if (canary_token_make(pc->key, &ref, r->tok_from[k],
			                      sizeof(r->tok_from[k])) < 0)
				rc = -1;
			to_locals[k] = r->tok_to[k];
			from_locals[k] = r->tok_from[k];
		}
	}
	pthread_mutex_unlock(&pc->mu);
	return rc;
}

/* ---- held results and the final print ---- */

void probe_canary_add(struct probe_canary *pc, const struct probe_result *r)
{
	json_t *j = result_to_json(r, true);
	long row = -1;

	if (j == NULL)
		return;
	pthread_mutex_lock(&pc->mu);
	if (r->address != NULL && r->dialog != NULL)
		row = row_of(pc, r->target, r->address, false);
	pthread_mutex_unlock(&pc->mu);
	if (rp_grow(&pc->held, &pc->capheld, pc->nheld, 64) < 0) {
		json_decref(j);
		return;
	}
	pc->held[pc->nheld].result = j;
	pc->held[pc->nheld].row = row;
	pc->nheld++;
}

static const char *str_of(const json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL ? s : "";
}

/* Whether test entry t sent an accepted test message that the canary
 * should see. */
static bool awaits(const json_t *t)
{
	return json_is_true(json_object_get(t, "data")) &&
	       strcmp(str_of(json_object_get(t, "outcome")), "accepted") == 0;
}

/* Arrivals (locked) of row for test (a catalogue id), of the kind wanted. */
static struct arrival *find_arrival(struct probe_canary *pc, long row, const char *test,
                                    bool bounce)
{
	int ti = relay_test_index(test);

	for (size_t i = 0; i < pc->narr; i++)
		if ((long)pc->arr[i].dialog == row && pc->arr[i].bounce == bounce &&
		    (int)pc->arr[i].test == ti)
			return &pc->arr[i];
	return NULL;
}

/* Test messages still awaited, over every held result. Locked. */
static size_t pending(struct probe_canary *pc)
{
	size_t n = 0;

	for (size_t h = 0; h < pc->nheld; h++) {
		json_t *tests = json_object_get(pc->held[h].result, "tests"), *t;
		size_t i;

		if (pc->held[h].row < 0)
			continue;
		json_array_foreach(tests, i, t)
		{
			const char *id = json_string_value(json_object_get(t, "id"));
			bool bs = id != NULL && strcmp(id, "backscatter-probe") == 0;

			if (id != NULL && awaits(t) && !find_arrival(pc, pc->held[h].row, id, bs))
				n++;
		}
	}
	return n;
}

/* ms of the transcript entry that decided test entry t, or 0. */
static uint64_t decided_at(const json_t *result, const json_t *t)
{
	json_t *ev = json_object_get(t, "evidence");
	json_t *tr = json_object_get(result, "transcript");
	json_t *e;

	if (!json_is_integer(ev) || !json_is_array(tr))
		return 0;
	e = json_array_get(tr, (size_t)json_integer_value(ev));
	return json_is_integer(json_object_get(e, "t"))
	           ? (uint64_t)json_integer_value(json_object_get(e, "t"))
	           : 0;
}

/* The canary's verdict and proof for one held result, into its JSON. */
static void judge(struct probe_canary *pc, struct held *h)
{
	json_t *res = h->result, *tests = json_object_get(res, "tests"), *t;
	json_t *deliv = json_array(), *bounces = json_array(), *c;
	const char *verdict = json_string_value(json_object_get(res, "verdict"));
	const char *addr = json_string_value(json_object_get(res, "address"));
	bool relay_data = false, multihop = false;
	size_t i;

	json_array_foreach(tests, i, t)
	{
		const char *id = json_string_value(json_object_get(t, "id"));
		bool bs = id != NULL && strcmp(id, "backscatter-probe") == 0;

		if (id == NULL || h->row < 0)
			continue;
		if (awaits(t) && !bs)
			relay_data = true;
		for (size_t k = 0; k < pc->narr; k++) {
			struct arrival *a = &pc->arr[k];
			json_t *copy;
			uint64_t at;

			if ((long)a->dialog != h->row || (int)a->test != relay_test_index(id))
				continue;
			copy = json_deep_copy(a->json);
			at = decided_at(res, t);
			json_object_set_new(copy, "delay_ms",
			                    at && a->arrived_ms >= at
			                        ? json_integer((json_int_t)(a->arrived_ms - at))
			                        : json_null());
			if (!a->bounce) {
				bool mh = addr != NULL && strcmp(a->peer_ip, addr) != 0;

				json_object_set_new(copy, "multihop", json_boolean(mh));
				multihop = multihop || mh;
			}
			json_array_append_new(a->bounce ? bounces : deliv, copy);
		}
	}
	c = json_pack("{s:s, s:o, s:o, s:b, s:b}", "verdict_before", verdict ? verdict : "",
	              "deliveries", deliv, "bounces", bounces, "backscatter",
	              json_array_size(bounces) > 0, "multihop", multihop);
	if (json_array_size(deliv) > 0)
		json_object_set_new(res, "verdict", json_string("open-confirmed"));
	else if (verdict != NULL && strcmp(verdict, "open") == 0 && relay_data)
		json_object_set_new(res, "verdict", json_string("accepted-not-delivered"));
	json_object_set_new(res, "canary", c);
}

static void put_clean_str(const char *s, FILE *out)
{
	report_put_clean(s ? s : "", out);
}

static void print_text(const json_t *res, size_t target_col, bool verbose, bool transcript)
{
	const char *target = json_string_value(json_object_get(res, "target"));
	const char *host = json_string_value(json_object_get(res, "host"));
	const char *mxd = json_string_value(json_object_get(res, "mx_domain"));
	const char *addr = json_string_value(json_object_get(res, "address"));
	const char *verdict = json_string_value(json_object_get(res, "verdict"));
	const char *reason = json_string_value(json_object_get(res, "reason"));
	json_t *tests = json_object_get(res, "tests"), *t, *c = json_object_get(res, "canary");
	char name[RP_DOMAIN_MAX * 2 + 64], a[96];
	size_t i, shown = 0;

	if (mxd != NULL && host != NULL)
		snprintf(name, sizeof(name), "%s (MX of %s, pref %lld)", host, mxd,
		         (long long)json_integer_value(json_object_get(res, "mx_preference")));
	else
		snprintf(name, sizeof(name), "%s", target ? target : "?");
	if (addr == NULL)
		snprintf(a, sizeof(a), "-");
	else
		snprintf(a, sizeof(a), strchr(addr, ':') ? "[%s]:%lld" : "%s:%lld", addr,
		         (long long)json_integer_value(json_object_get(res, "port")));
	text_col_put(stdout, name, text_col_fit(target_col, 0));
	printf(" %-27s %-22s ", a, verdict ? verdict : "?");
	json_array_foreach(tests, i, t)
	{
		const char *id = json_string_value(json_object_get(t, "id"));
		const char *out = json_string_value(json_object_get(t, "outcome"));

		if (id && out && strcmp(out, "accepted") == 0 &&
		    strcmp(id, "backscatter-probe") != 0)
			printf("%s%s", shown++ ? "," : "", id);
	}
	if (shown == 0)
		put_clean_str(reason && reason[0] ? reason : "-", stdout);
	putchar('\n');
	json_array_foreach(json_object_get(c, "deliveries"), i, t)
	{
		json_t *d = json_object_get(t, "delay_ms");

		printf("    proof: %s delivered to the canary",
		       json_string_value(json_object_get(t, "test")));
		if (json_is_integer(d) && json_integer_value(d) >= 1000)
			printf(" %.1f s after the end of DATA",
			       (double)json_integer_value(d) / 1000.0);
		else if (json_is_integer(d))
			printf(" %lld ms after the end of DATA", (long long)json_integer_value(d));
		printf(" by ");
		put_clean_str(json_string_value(json_object_get(t, "peer_ip")), stdout);
		if (json_is_true(json_object_get(t, "multihop")))
			printf(" (multihop: not the tested address)");
		printf(", %zu Received: hop(s)\n", json_array_size(json_object_get(t, "hops")));
	}
	json_array_foreach(json_object_get(c, "bounces"), i, t)
	{
		printf("    backscatter: a bounce for %s came back from ",
		       json_string_value(json_object_get(t, "test")));
		put_clean_str(json_string_value(json_object_get(t, "peer_ip")), stdout);
		putchar('\n');
	}
	if (verbose)
		json_array_foreach(tests, i, t)
		{
			printf("    %-20s %-9s ", json_string_value(json_object_get(t, "id")),
			       json_string_value(json_object_get(t, "outcome")));
			put_clean_str(json_string_value(json_object_get(t, "reply")), stdout);
			putchar('\n');
		}
	if (transcript && json_is_array(json_object_get(res, "transcript"))) {
		report_transcript_lines(json_object_get(res, "transcript"), report_put_clean,
		                        stdout);
		putchar('\n');
	}
}

void probe_canary_finish(struct probe_canary *pc, unsigned wait_s, volatile sig_atomic_t *stop,
                         bool json, bool verbose, bool transcript, size_t *open, size_t *closed,
                         size_t *inconclusive)
{
	uint64_t until = rp_wall_ms() + (uint64_t)wait_s * 1000;

	for (;;) {
		size_t n;

		pthread_mutex_lock(&pc->mu);
		n = pending(pc);
		pthread_mutex_unlock(&pc->mu);
		if (n == 0 || rp_wall_ms() >= until || (stop != NULL && *stop))
			break;
		usleep(100 * 1000);
	}
	/* the listener keeps running: late arrivals are simply not counted */
	pthread_mutex_lock(&pc->mu);
	for (size_t h = 0; h < pc->nheld; h++)
		judge(pc, &pc->held[h]);
	pthread_mutex_unlock(&pc->mu);
	*open = *closed = *inconclusive = 0;
	for (size_t h = 0; h < pc->nheld; h++) {
		json_t *res = pc->held[h].result;
		int v = dialog_verdict_from_name(str_of(json_object_get(res, "verdict")));

		if (v >= 0 && verdict_is_open((enum dialog_verdict)v))
			(*open)++;
		else if (pc->held[h].row < 0 || v < 0 ||
		         verdict_inconclusive((enum dialog_verdict)v))
			(*inconclusive)++;
		else
			(*closed)++;
		if (json) {
			json_dumpf(res, stdout, JSON_COMPACT);
			putchar('\n');
		} else {
			print_text(res, pc->target_col, verbose, transcript);
		}
		json_decref(res);
	}
	free(pc->held);
	pc->held = NULL;
	pc->nheld = pc->capheld = 0;
	if (pc->dropped > 0)
		fprintf(stderr,
		        "relayprobe probe: %lu canary arrivals over the cap were not counted\n",
		        pc->dropped);
}
