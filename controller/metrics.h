/* metrics.h - the controller's Prometheus endpoint: text exposition format
 * 0.0.4 over plain HTTP/1.x on the [controller] metrics address. A
 * non-blocking listener and at most RP_METRICS_CLIENTS_MAX clients behind one
 * epoll fd that ctl.c polls; each client gets RP_METRICS_TIMEOUT_MS and a
 * request of at most RP_METRICS_REQUEST_MAX bytes. With [metrics] token_file
 * a request needs "Authorization: Bearer TOKEN" (compared in constant time;
 * 401 otherwise). The body is a snapshot recomputed at most once every
 * snapshot_seconds, so a GET flood costs no store work. Rendering is pure. */
#ifndef RP_METRICS_H
#define RP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_canary.h"   /* struct ctl_canary_stats */
#include "store_orders.h" /* STORE_*_COUNT */
#include "verdict.h"

struct metrics;

/* Per-verdict target counts of one inventory client; slot DV_COUNT is
 * "inconclusive". */
#define METRICS_VERDICT_SLOTS (DV_COUNT + 1)
struct metrics_client {
	char *client;
	long count[METRICS_VERDICT_SLOTS];
};

/* Numbers rendered by metrics_render(). clients[] (and each client name) are
 * malloc'd by whoever fills the snapshot and freed by metrics_snapshot_clear;
 * a snapshot built by hand (tests) may point them at its own storage. */
struct metrics_snapshot {
	long agents[STORE_AGENT_STATUS_COUNT];
	long agents_connected;
	long orders[STORE_ORDER_STATE_COUNT];
	long results_ingested;
	long results_stored;
	bool have_audit;
	int64_t audit_timestamp; /* created_at of the newest finished audit */
	int64_t audit_duration;  /* its last result time - created_at */
	size_t nclients;
	struct metrics_client *clients;
	long verdict_results[DV_COUNT]; /* stored results per verdict */
	long snapshots;                 /* snapshots computed, this one included */
	/* [canary] (all zero and not rendered when off) */
	bool canary;
	struct ctl_canary_stats canary_stats;
};

/* How a request (the bytes read so far) is answered. */
enum metrics_req {
	METRICS_REQ_INCOMPLETE = 0, /* no end of headers yet: read more */
	METRICS_REQ_OK,             /* GET /metrics: 200 */
	METRICS_REQ_NOT_FOUND,      /* GET of another path: 404 */
	METRICS_REQ_BAD_METHOD,     /* not GET or HEAD: 405 */
	METRICS_REQ_TOO_LARGE,      /* no end of headers within RP_METRICS_REQUEST_MAX: 431 */
	METRICS_REQ_BAD,            /* not an HTTP/1.x request line: 400 */
	METRICS_REQ_UNAUTHORIZED,   /* token required, missing or wrong: 401 */
	METRICS_REQ_COUNT
};

/* Classifies the request in buf[0..len) (not NUL-terminated; any bytes). */
enum metrics_req metrics_parse_request(const char *buf, size_t len, bool *head);
/* With token non-NULL: true when the request's headers (buf[0..len), a
 * complete request) hold "Authorization: Bearer <token>" (header name and
 * scheme case-insensitive), compared in constant time. NULL token: true. */
bool metrics_authorized(const char *buf, size_t len, const char *token);
/* The exposition text; *out is malloc'd and NUL-terminated (caller frees).
 * 0, or -1 (out of memory or over RP_METRICS_BODY_MAX). */
int metrics_render(const struct metrics_snapshot *s, char **out, size_t *len);
/* Escapes a label value (\\, \", \n) into out (always NUL-terminated,
 * truncated to outlen - 1). Returns the length the full escape needs. */
size_t metrics_escape_label(const char *in, char *out, size_t outlen);

/* Frees a filled snapshot's clients (and their names); leaves s reusable. */
void metrics_snapshot_clear(struct metrics_snapshot *s);

/* Fills *s with the numbers of now (s arrives zeroed; snapshots is set by
 * the caller). 0, or -1 (logged by the filler) when they cannot be had. */
typedef int (*metrics_fill_fn)(void *arg, struct metrics_snapshot *s);

struct metrics_opts {
	const char *listen;  /* HOST:PORT or [V6]:PORT; NULL or "" = no endpoint */
	const char *token;   /* bearer token, NULL = none; borrowed for m's life */
	unsigned snapshot_s; /* how long a rendered body is served */
	metrics_fill_fn fill;
	void *arg;
};

/* Opens the listener when o->listen is set (*m stays NULL when it is not).
 * 0, or -1 (logged) when the address cannot be used. */
int metrics_open(const struct metrics_opts *o, struct metrics **m);
/* The fd ctl.c polls for ZMQ_POLLIN; -1 when m is NULL. */
int metrics_fd(const struct metrics *m);
/* Accepts, reads, answers, writes and times out clients without blocking.
 * Call on every loop turn; accepts NULL. */
void metrics_poll(struct metrics *m);
/* Closes every socket and NULLs *m; accepts NULL. */
void metrics_free(struct metrics **m);

#endif
