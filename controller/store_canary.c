/* store_canary.c - order references, arrivals and their proof (see
 * store_canary.h). The proof rules are SQL over the result JSON's "tests":
 * a delivery for (order, target, test) upgrades the cell's results whose
 * entry for that test is accepted or sent its message; text fields are
 * bounded by the canary listener before they get here. */
#include "store_canary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_history.h"
#include "store_internal.h"
#include "store_orders.h"

int store_canary_next_ref(struct store *s, uint64_t *ref)
{
	int64_t v = 0;
	int rc = store_one_int64(s,
	                         "UPDATE counters SET value = value + 1"
	                         " WHERE name = 'canary_ref' RETURNING value",
	                         STORE_NOARGS, &v, "canary ref");

	if (rc == 1)
		*ref = (uint64_t)v;
	return rc == 1 ? 0 : rc < 0 ? -1 : store_db_fail(s, "canary ref");
}

struct ref_order {
	char *id;
	int64_t created_at;
};

static int ref_order_row(void *arg, sqlite3_stmt *st)
{
	struct ref_order *r = arg;

	store_copy_col(st, 0, r->id, STORE_ORDER_ID_MAX + 1);
	r->created_at = sqlite3_column_int64(st, 1);
	return 0;
}

int store_canary_order(struct store *s, uint64_t ref, char *id, int64_t *agent_id,
                       int64_t *audit_id, int64_t *created_at, uint8_t **body, size_t *len)
{
	struct ref_order r = {id, 0};
	struct store_order_info o;
	int rc;

	*body = NULL;
	*len = 0;
	rc = store_first(s, "SELECT id, created_at FROM orders WHERE canary_ref = ?1",
	                 STORE_ARGS(SA_INT(ref)), ref_order_row, &r, "canary order");
	if (rc <= 0)
		return rc;
	*created_at = r.created_at;
	if ((rc = store_order_get(s, id, &o)) <= 0)
		return rc;
	*agent_id = o.agent_id;
	*audit_id = o.audit_id;
	*body = o.body;
	*len = o.body_len;
	return 1;
}

/* The audit of an order, or 0. */
static int64_t audit_of(struct store *s, const char *order_id)
{
	int64_t a = 0;

	if (store_one_int64(s, "SELECT audit_id FROM orders WHERE id = ?1",
	                    STORE_ARGS(SA_TEXT(order_id)), &a, "order audit") != 1)
		return 0;
	return a;
}

/* The cell's results that a delivery for test proves open: its entry for
 * the test was accepted or sent its message. */
#define PROVES                                                                                     \
	" EXISTS (SELECT 1 FROM json_each(results.result_json, '$.tests') t"                       \
	" WHERE json_extract(t.value, '$.id') = ?3 AND"                                            \
	" (json_extract(t.value, '$.outcome') = 'accepted' OR json_extract(t.value, '$.data')"     \
	" = 1))"

/* Apply one arrival to the results of its cell that exist now. The count
 * changed, or -1. */
static long apply(struct store *s, const char *order_id, const char *target, const char *test,
                  bool bounce)
{
	return store_run(
	    s,
	    bounce ? "UPDATE results SET backscatter = 1 WHERE order_id = ?1 AND target = ?2"
	             " AND backscatter = 0 AND" PROVES
	           : "UPDATE results SET agent_verdict = coalesce(agent_verdict, verdict),"
	             " verdict = 'open-confirmed', canary = 'delivered'"
	             " WHERE order_id = ?1 AND target = ?2 AND verdict <> 'open-confirmed' "
	             "AND" PROVES,
	    STORE_ARGS(SA_TEXT(order_id), SA_TEXT(target), SA_TEXT(test)), "canary apply");
}

static const char *or_empty(const char *t)
{
	return t ? t : "";
}

int store_canary_arrival(struct store *s, const struct store_arrival *a, int64_t now, long *changed)
{
	int outer = sqlite3_get_autocommit(s->db), ok = 0;
	long n = 0;

	if (changed)
		*changed = 0;
	if (store_work_begin(s) < 0)
		return -1;
	if (store_run(s,
	              "INSERT INTO canary_arrivals (arrived_at, order_id, agent_id, target,"
	              " test, kind, peer_ip, helo, mail_from, rcpt, message_id, size, tls,"
	              " hops, late) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	              " ?12, ?13, ?14, ?15)",
	              STORE_ARGS(SA_INT(a->arrived_ms), SA_TEXT(a->order_id), SA_INT(a->agent_id),
	                         SA_TEXT(a->target), SA_TEXT(a->test),
	                         SA_TEXT(a->bounce ? "bounce" : "delivery"),
	                         SA_TEXT(or_empty(a->peer_ip)), SA_TEXT(or_empty(a->helo)),
	                         SA_TEXT(or_empty(a->mail_from)), SA_TEXT(or_empty(a->rcpt)),
	                         SA_TEXT(or_empty(a->message_id)), SA_INT(a->size), SA_TEXT(a->tls),
	                         SA_TEXT(a->hops ? a->hops : "[]"), SA_INT(a->too_late ? 1 : 0)),
	              "canary arrival") < 0)
		goto out;
	if (!a->too_late) {
		if ((n = apply(s, a->order_id, a->target, a->test, a->bounce)) < 0)
			goto out;
		if (n > 0 && !a->bounce &&
		    store_hist_rerecord(s, audit_of(s, a->order_id), a->target, now) < 0)
			goto out;
	}
	ok = 1;
out:
	if (store_work_end(s, ok, outer) < 0)
		ok = 0;
	if (ok && changed)
		*changed = a->bounce ? 0 : n;
	return ok ? 0 : -1;
}

/* The arrivals that came before their result, to apply once it is in. */
#define EARLY_MAX 64
struct early {
	char tests[EARLY_MAX][64];
	bool bounce[EARLY_MAX];
	size_t n;
};

static int early_row(void *arg, sqlite3_stmt *st)
{
	struct early *e = arg;

	if (e->n >= EARLY_MAX)
		return 1;
	snprintf(e->tests[e->n], sizeof(e->tests[e->n]), "%s", store_col(st, 0));
	e->bounce[e->n] = strcmp(store_col(st, 1), "bounce") == 0;
	e->n++;
	return 0;
}

int store_canary_on_result(struct store *s, int64_t result_id, const char *order_id,
                           const char *target)
{
	struct early e = {.n = 0};

	/* In a canary order, an open result that sent a test message waits
	 * for it; the agent's own verdict is kept beside the canary's. */
	if (store_run(s,
	              "UPDATE results SET agent_verdict = verdict, canary = CASE WHEN"
	              " verdict = 'open' AND EXISTS (SELECT 1 FROM json_each(result_json,"
	              " '$.tests') t WHERE json_extract(t.value, '$.outcome') = 'accepted'"
	              " AND json_extract(t.value, '$.data') = 1 AND"
	              " json_extract(t.value, '$.id') <> 'backscatter-probe')"
	              " THEN 'awaiting' END WHERE id = ?1 AND"
	              " (SELECT canary_ref FROM orders WHERE id = ?2) IS NOT NULL",
	              STORE_ARGS(SA_INT(result_id), SA_TEXT(order_id)), "canary state") < 0)
		return -1;
	/* Arrivals that came first. */
	if (store_each(s,
	               "SELECT DISTINCT test, kind FROM canary_arrivals WHERE order_id = ?1"
	               " AND target = ?2 AND late = 0",
	               STORE_ARGS(SA_TEXT(order_id), SA_TEXT(target)), early_row, &e,
	               "canary arrivals") < 0)
		return -1;
	for (size_t i = 0; i < e.n; i++)
		if (apply(s, order_id, target, e.tests[i], e.bounce[i]) < 0)
			return -1;
	return 0;
}

/* The cells an expiry changed, to re-record their history after it. */
struct expired {
	struct cell {
		char order[STORE_ORDER_ID_MAX + 1];
		char *target;
	} * cells;
	long n, max;
};

static int expired_row(void *arg, sqlite3_stmt *st)
{
	struct expired *x = arg;

	if (x->n >= x->max)
		return 1;
	snprintf(x->cells[x->n].order, sizeof(x->cells[x->n].order), "%s", store_col(st, 0));
	x->cells[x->n].target = strdup(store_col(st, 1));
	x->n++;
	return 0;
}

long store_canary_expire(struct store *s, int64_t before, int64_t now, long max)
{
	struct expired x = {.max = max};
	int outer = sqlite3_get_autocommit(s->db), ok = 0, rc;

	/* Once a second from the controller's loop: look before taking the
	 * write lock, which the canary's own thread wants too. */
	rc = store_first(s,
	                 "SELECT 1 FROM results WHERE canary = 'awaiting' AND received_at < ?1"
	                 " LIMIT 1",
	                 STORE_ARGS(SA_INT(before)), NULL, NULL, "canary expire");
	if (rc <= 0)
		return rc;
	x.cells = calloc((size_t)(max > 0 ? max : 1), sizeof(*x.cells));
	if (x.cells == NULL) {
		store_fail(s, "canary expire: out of memory");
		return -1;
	}
	if (store_work_begin(s) < 0)
		goto out;
	ok = store_each(s,
	                "UPDATE results SET verdict = 'accepted-not-delivered',"
	                " canary = 'not-delivered' WHERE id IN (SELECT id FROM results WHERE"
	                " canary = 'awaiting' AND received_at < ?1 LIMIT ?2)"
	                " RETURNING order_id, target",
	                STORE_ARGS(SA_INT(before), SA_INT(max)), expired_row, &x,
	                "canary expire") >= 0;
	for (long i = 0; ok && i < x.n; i++)
		if (x.cells[i].target == NULL ||
		    store_hist_rerecord(s, audit_of(s, x.cells[i].order), x.cells[i].target, now) <
		        0) {
			store_db_fail(s, "canary expire");
			ok = 0;
		}
	if (store_work_end(s, ok, outer) < 0)
		ok = 0;
out:
	for (long i = 0; i < x.n; i++)
		free(x.cells[i].target);
	free(x.cells);
	return ok ? x.n : -1;
}

struct cell_walk {
	const char *order_id, *target;
	store_arrival_cb cb;
	void *arg;
};

static int cell_row(void *arg, sqlite3_stmt *st)
{
	struct cell_walk *w = arg;
	struct store_arrival a = {
	    .order_id = w->order_id,
	    .agent_id = sqlite3_column_int64(st, 12),
	    .target = w->target,
	    .test = store_col(st, 1),
	    .bounce = strcmp(store_col(st, 2), "bounce") == 0,
	    .arrived_ms = sqlite3_column_int64(st, 0),
	    .peer_ip = store_col(st, 3),
	    .helo = store_col(st, 4),
	    .mail_from = store_col(st, 5),
	    .rcpt = store_col(st, 6),
	    .message_id = store_col(st, 7),
	    .size = (size_t)sqlite3_column_int64(st, 8),
	    .tls = sqlite3_column_type(st, 9) == SQLITE_NULL ? NULL : store_col(st, 9),
	    .hops = store_col(st, 10),
	    .too_late = sqlite3_column_int(st, 11) != 0,
	};

	return w->cb(w->arg, &a);
}

long store_canary_cell(struct store *s, const char *order_id, const char *target,
                       store_arrival_cb cb, void *arg)
{
	struct cell_walk w = {order_id, target, cb, arg};

	return store_each(
	    s,
	    "SELECT arrived_at, test, kind, peer_ip, helo, mail_from, rcpt,"
	    " message_id, size, tls, hops, late, agent_id FROM canary_arrivals"
	    " WHERE order_id = ?1 AND target = ?2 ORDER BY id LIMIT ?3",
	    STORE_ARGS(SA_TEXT(order_id), SA_TEXT(target), SA_INT(STORE_CANARY_CELL_MAX)), cell_row,
	    &w, "canary cell");
}

long store_canary_count(struct store *s, bool bounces)
{
	return store_count_rows(s,
	                        bounces
	                            ? "SELECT count(*) FROM canary_arrivals WHERE kind = 'bounce'"
	                            : "SELECT count(*) FROM canary_arrivals",
	                        "canary count");
}

struct proof_walk {
	store_proof_cb cb;
	void *arg;
	long deliveries, bounces, passed;
};

static int proof_row(void *arg, sqlite3_stmt *st)
{
	struct proof_walk *w = arg;
	struct store_proof_row r = {
	    .agent = store_col(st, 0),
	    .test = store_col(st, 1),
	    .bounce = strcmp(store_col(st, 2), "bounce") == 0,
	    .arrived_ms = sqlite3_column_int64(st, 3),
	    .peer_ip = store_col(st, 4),
	};
	long *kept = r.bounce ? &w->bounces : &w->deliveries;

	if (*kept >= STORE_CANARY_PROOF_MAX)
		return 0;
	(*kept)++;
	if (!r.bounce) {
		r.hops = sqlite3_column_int64(st, 5);
		r.has_delay = sqlite3_column_type(st, 6) == SQLITE_INTEGER;
		r.delay_ms = r.has_delay ? sqlite3_column_int64(st, 6) : 0;
		r.multihop = sqlite3_column_int(st, 7) != 0;
	}
	w->passed++;
	return w->cb(w->arg, &r);
}

long store_canary_proof(struct store *s, int64_t audit, const char *target, store_proof_cb cb,
                        void *arg)
{
	struct proof_walk w = {.cb = cb, .arg = arg};

	if (store_each(
	        s,
	        "SELECT g.name, a.test, a.kind, a.arrived_at, a.peer_ip, json_array_length(a.hops),"
	        " (SELECT a.arrived_at - json_extract(r.result_json, '$.transcript[' ||"
	        "  json_extract(t.value, '$.evidence') || '].t') FROM results r,"
	        "  json_each(r.result_json, '$.tests') t WHERE r.order_id = a.order_id AND"
	        "  r.target = a.target AND json_extract(t.value, '$.id') = a.test AND"
	        "  json_type(t.value, '$.evidence') = 'integer' LIMIT 1),"
	        " NOT EXISTS (SELECT 1 FROM results r WHERE r.order_id = a.order_id AND"
	        "  r.target = a.target AND r.address = a.peer_ip)"
	        " FROM canary_arrivals a JOIN orders o ON o.id = a.order_id"
	        " JOIN agents g ON g.id = a.agent_id WHERE a.target = ?2 AND o.audit_id = ?1"
	        " AND a.late = 0 ORDER BY a.id LIMIT ?3",
	        STORE_ARGS(SA_INT(audit), SA_TEXT(target), SA_INT(2 * STORE_CANARY_PROOF_MAX)),
	        proof_row, &w, "canary proof") < 0)
		return -1;
	return w.passed;
}
