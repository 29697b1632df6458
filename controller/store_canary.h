/* store_canary.h - the canary's part of the store (docs/canary.md): order
 * references for tokens, arrivals (deliveries and bounces) and what they
 * prove. A delivery upgrades the results of its cell whose test sent its
 * message (or was accepted) to open-confirmed; a bounce marks backscatter;
 * a result accepted through DATA waits ('awaiting') until the wait window
 * ends it as accepted-not-delivered. An arrival may come before its result
 * (mail is faster than results): it is kept and applied when the result is
 * ingested. A change to an audit already recorded rewrites its history row
 * and raises an event (hooks). */
#ifndef RP_STORE_CANARY_H
#define RP_STORE_CANARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* A fresh reference for an order's tokens (never reused; 1, 2, ...),
 * persisted in the caller's transaction. 0 / -1. */
int store_canary_next_ref(struct store *s, uint64_t *ref);

/* The order whose tokens carry ref: its id (STORE_ORDER_ID_MAX + 1 bytes),
 * agent, audit, creation time (s) and body (malloc'd, the caller frees).
 * 1 found / 0 unknown / -1. */
int store_canary_order(struct store *s, uint64_t ref, char *id, int64_t *agent_id,
                       int64_t *audit_id, int64_t *created_at, uint8_t **body, size_t *len);

struct store_arrival {
	const char *order_id;
	int64_t agent_id;
	const char *target; /* as the order named it */
	const char *test;   /* catalogue id */
	bool bounce;        /* to the sender's token: backscatter */
	int64_t arrived_ms;
	const char *peer_ip, *helo, *mail_from, *rcpt, *message_id;
	size_t size;
	const char *tls;  /* "TLSv1.3 TLS_AES_256_GCM_SHA384", NULL for none */
	const char *hops; /* JSON array of the Received: hops, top first */
	bool too_late;    /* past [canary] late: kept as evidence, proves nothing */
};

/* Records the arrival and applies it, committed before it returns (its own
 * transaction, or a savepoint in the caller's). *changed (may be NULL) =
 * results whose verdict it changed. 0 / -1. */
int store_canary_arrival(struct store *s, const struct store_arrival *a, int64_t now,
                         long *changed);

/* Results still 'awaiting' a delivery that were stored before `before`
 * (s) become accepted-not-delivered. At most max per call; the count, or -1. */
long store_canary_expire(struct store *s, int64_t before, int64_t now, long max);

/* Rows a cell walk passes at most; deliveries (and bounces) in a proof. */
#define STORE_CANARY_CELL_MAX  256
#define STORE_CANARY_PROOF_MAX 64

/* A row passed to a store_arrival_cb: strings borrowed, valid for the call
 * only; the callback returns non-zero to stop the walk. */
typedef int (*store_arrival_cb)(void *arg, const struct store_arrival *a);

/* The arrivals of one cell (order, target), oldest first, at most STORE_CANARY_CELL_MAX, each
 * passed to cb with every field of struct store_arrival set (tls NULL when
 * there was none, hops the stored JSON array text). Arrivals passed, or -1. */
long store_canary_cell(struct store *s, const char *order_id, const char *target,
                       store_arrival_cb cb, void *arg);

/* One arrival of the proof for one target of an audit, for reports.
 * Strings borrowed for the call. */
struct store_proof_row {
	const char *agent;  /* the agent whose order it answers */
	const char *test;   /* catalogue id */
	bool bounce;        /* a bounce (backscatter), else a delivery */
	int64_t arrived_ms; /* when it arrived (ms) */
	const char *peer_ip;
	/* deliveries only: */
	int64_t hops;     /* Received: hops it carried */
	bool has_delay;   /* delay_ms is known */
	int64_t delay_ms; /* since the reply that accepted the message */
	bool multihop;    /* the delivering IP is none of the addresses tested */
};
typedef int (*store_proof_cb)(void *arg, const struct store_proof_row *row);

/* The proof for one target of an audit: its arrivals oldest first, at most
 * STORE_CANARY_PROOF_MAX deliveries and as many bounces (the rest left out),
 * arrivals past [canary] late left out. Rows passed (0: no proof), or -1. */
long store_canary_proof(struct store *s, int64_t audit, const char *target, store_proof_cb cb,
                        void *arg);

/* Arrivals stored (all kinds), for metrics and tests; -1 on error. */
long store_canary_count(struct store *s, bool bounces);

#endif
