/* ctl_canary.h - the controller's canary ([canary] in controller.conf,
 * docs/canary.md): the token key (only here), the listener on its own
 * thread with its own store handle (an arrival is committed before the 250
 * that ends its DATA), the tokens put into orders, and the wait window that
 * ends results awaiting a delivery as accepted-not-delivered. */
#ifndef RP_CTL_CANARY_H
#define RP_CTL_CANARY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ctl_config.h"
#include "store.h"

struct ctl_canary;

/* NULL with a message in err; *err = '\0' and NULL when [canary] is off. */
struct ctl_canary *ctl_canary_start(const struct ctl_config *cfg, char *err, size_t errlen);
void ctl_canary_stop(struct ctl_canary **k);

/* The canary domain orders name (the first of [canary] domains). */
const char *ctl_canary_domain(const struct ctl_canary *k);
const char *ctl_canary_contact(const struct ctl_canary *k); /* NULL = none */

/* Tokens for an order of ntargets targets and the ntests catalogue tests
 * test_idx[] (row-major, n = ntargets x ntests; see ProbeSpec.canary_to):
 * two arrays of malloc'd strings, freed with ctl_canary_tokens_free. 0 / -1. */
int ctl_canary_tokens(const struct ctl_canary *k, uint64_t ref, size_t ntargets,
                      const size_t *test_idx, size_t ntests, char ***to, char ***from);
void ctl_canary_tokens_free(char **to, char **from, size_t n);

/* Once a second from the main loop: results awaiting a delivery longer than
 * [canary] wait become accepted-not-delivered (main store handle). */
void ctl_canary_tick(struct ctl_canary *k, struct store *s, time_t now);

/* Counters for metrics. */
struct ctl_canary_stats {
	uint64_t sessions, sessions_refused, sessions_open, messages, refused_rcpt, oversize;
	uint64_t arrivals, bounces, unknown_tokens, too_late, store_failed, expired;
};
void ctl_canary_stats(const struct ctl_canary *k, struct ctl_canary_stats *out);
/* Port bound for listen address i (tests bind port 0). */
unsigned ctl_canary_port(const struct ctl_canary *k, size_t i);

#endif
