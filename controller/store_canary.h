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

#include <jansson.h>
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

/* The arrivals of one cell (order, target), oldest first, as a JSON array
 * of objects (docs/canary.md); NULL on error. */
json_t *store_canary_cell(struct store *s, const char *order_id, const char *target);

/* The proof for one target of an audit, for reports: {"deliveries": [{agent,
 * test, arrived_at (ms), peer_ip, hops (count), delay_ms (since the reply
 * that accepted the message, or null), multihop (the delivering IP is none
 * of the addresses tested)}], "bounces": [{agent, test, arrived_at, peer_ip}]}
 * (at most 64 of each, arrivals past [canary] late left out), or json null
 * when the target has no arrival. NULL on error. */
json_t *store_canary_proof(struct store *s, int64_t audit, const char *target);

/* Arrivals stored (all kinds), for metrics and tests; -1 on error. */
long store_canary_count(struct store *s, bool bounces);

#endif
