/* store_metrics.h - read-only counting queries on the store for the
 * controller's Prometheus endpoint (metrics.c): agents by status, orders by
 * state, results by verdict, the newest finished audit and a target's
 * inventory clients. Uses store_internal.h; owns no state. */
#ifndef RP_STORE_METRICS_H
#define RP_STORE_METRICS_H

#include <stdint.h>

#include "store.h"

/* counts[] indexed by enum store_agent_status. 0 / -1. */
int store_metrics_agents(struct store *s, long counts[STORE_AGENT_STATUS_COUNT]);
/* counts[] indexed by enum store_order_state. 0 / -1. */
int store_metrics_orders(struct store *s, long counts[STORE_ORDER_STATE_COUNT]);
/* Stored results per verdict, counts[] indexed by enum dialog_verdict. 0 / -1. */
int store_metrics_verdicts(struct store *s, long counts[DV_COUNT]);
/* The newest audit with status "done": its id, created_at and the time of its
 * last result (or last finished order; created_at when neither).
 * 1 found / 0 none / -1 error. */
int store_metrics_last_audit(struct store *s, int64_t *id, int64_t *created_at, int64_t *last_at);
/* The inventory clients (targets.client) that list spec; cb is called once
 * per client (valid for the call only). Returns the count, or -1. */
typedef int (*store_metrics_client_cb)(void *arg, const char *client);
long store_metrics_target_clients(struct store *s, const char *spec, store_metrics_client_cb cb,
                                  void *arg);

#endif
