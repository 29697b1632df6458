/* ctl_internal.h - the controller daemon's state (struct ctl), the per-agent
 * session table (at most RP_CTL_AGENTS_MAX sessions) and the order-fact
 * cache, shared by its modules: ctl.c (loop), link.c, orders.c, results.c,
 * audit.c, ctl_admin.c, ctl_sched.c and ctl_snapshot.c. Not for use outside
 * the controller daemon's own files. */
#ifndef RP_CTL_INTERNAL_H
#define RP_CTL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ctl_config.h"
#include "keys.h"
#include "rp_limits.h"
#include "store_orders.h"
#include "zap.h"

/* An agent is "connected" when it was heard from within this many seconds
 * (the heartbeat TTL; agents say HELLO every 10 s). */
#define CTL_ALIVE_S 30
/* Unacked orders are re-sent on HELLO once they are this old. */
#define CTL_RESEND_S 30
/* Orders out at an agent at once (sent or acked, not done): the rest of a
 * large audit waits in the store and goes out as orders finish. The window
 * is per agent (orders_window): the capacity its HELLO said
 * (Hello.max_orders) plus one queued behind them, at most
 * CTL_ORDER_WINDOW_MAX; CTL_ORDER_WINDOW for an agent that said none (one
 * older than the field). The agent queues at most AGENT_PENDING_ORDERS_MAX
 * (16) behind the one it runs. */
#define CTL_ORDER_WINDOW     2
#define CTL_ORDER_WINDOW_MAX (RP_AGENT_CAPACITY_MAX + 1)
/* An order the agent refused unrun (expired, sequence...) is signed again
 * at most this many times before it is closed. */
#define CTL_REISSUE_MAX 3
/* Targets per order when the agent did not say (Hello.max_targets_per_order). */
#define CTL_TARGETS_PER_ORDER 1000
#define CTL_RID_MAX           255
/* How often the loop looks for orders acked without progress (order_stall). */
#define CTL_STALL_CHECK_S 10

/* One live connection of an approved agent. */
struct ctl_session {
	int64_t agent_id;
	char user_id[129]; /* the ZAP User-Id of this connection */
	uint8_t rid[CTL_RID_MAX];
	size_t rid_len;
	time_t last_rx;
	uint32_t max_targets;
	bool pump;  /* pending orders may go out: orders_pump_all sends them */
	bool fresh; /* a new connection, not yet said HELLO on */
	/* Result bytes the agent may still send this minute (a token bucket
	 * of RP_CTL_AGENT_BYTES_PER_MIN, refilled continuously). */
	int64_t bucket;
	int64_t bucket_ms;
	int64_t throttled_logged_ms; /* the last "throttled" log line */
};

/* The facts about an order that every one of its results is checked
 * against: its agent and the SHA-256 of its signed body. Cached, so a batch
 * of results neither reloads nor re-hashes the order (both cost more than
 * the signature check). Orders never change once stored. */
#define CTL_ORDER_CACHE 32
struct ctl_order_fact {
	char order_id[65];
	int64_t agent_id;
	uint8_t sha[32];
	char **targets; /* the order's targets, sorted (strcmp), owned */
	size_t n_targets;
};

struct ctl {
	const struct ctl_config *cfg;
	struct ctl_order_fact order_cache[CTL_ORDER_CACHE];
	unsigned order_cache_next;
	void *zctx;
	void *router;
	void *admin;
	struct zap *zap;
	struct store *store;
	struct keys *keys;
	char endpoint[512];   /* the ROUTER's bound endpoint, for rebinding */
	char admin_path[512]; /* the ipc socket file */
	time_t started;
	struct ctl_session *sess;
	size_t nsess;
	struct hooks *hooks;  /* event hooks (hooks.c) */
	time_t stall_checked; /* the last look for orders acked without progress */
	/* Results refused since start, by reason (logs and metrics). */
	uint64_t refused_forged, refused_quota, refused_throttled;
	uint64_t orders_expired;     /* closed for no progress (expire_stalled) */
	struct ctl_canary *canary;   /* [canary]: NULL when off (ctl_canary.c) */
	struct retention *retention; /* old transcripts (retention.c) */
};

/* An admin failure reply {"ok":false,"error":"..."}: the message formatted,
 * cut at 511 bytes, line breaks made spaces, other control and non-ASCII
 * bytes '?' (ctl_admin.c). */
json_t *ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Formats a one-line error into err[errlen] (cut to fit); returns -1, so
 * that `return ctl_errf(err, errlen, ...);` fails a call (ctl.c). */
int ctl_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads one admin request and answers it (ctl_admin_answer). */
void ctl_admin_handle(struct ctl *c);
/* The reply to one admin request of len bytes (JSON, or the text of
 * "transcripts"), malloc'd: the caller frees it. NULL when out of memory.
 * No socket: tests/fuzz/ctl_admin_fuzzer.c calls it directly. */
char *ctl_admin_answer(struct ctl *c, const void *data, size_t len);
/* Every command of wire/admin_proto.h has exactly one handler of its reply
 * kind (tests/controller/test_ctl.c asserts it). */
bool ctl_admin_complete(void);
/* metrics_fill_fn for the metrics endpoint: arg is the struct ctl
 * (ctl_snapshot.c). */
struct metrics_snapshot;
int ctl_snapshot_fill(void *arg, struct metrics_snapshot *s);

#endif
