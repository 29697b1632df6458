/* canary_server.h - the canary listener: one thread with its own poll loop
 * that accepts SMTP connections on one or more addresses and drives a
 * canary_smtp session per connection (non-blocking sockets, STARTTLS with
 * OpenSSL as server, an idle timeout per session). It bounds everything a
 * stranger can make it hold: a global cap on open sessions, per peer
 * address (IPv6 by /64) caps on open sessions, new sessions per minute,
 * messages per minute and bytes per minute; a session over a cap gets
 * "421 4.7.0" and is closed, never queued. Used by the controller ([canary]
 * in controller.conf) and in-process by `relayprobe probe --canary`. */
#ifndef RP_CANARY_SERVER_H
#define RP_CANARY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canary_smtp.h"
#include "rp_limits.h"

struct canary_server_params {
	const char *const *listen; /* "127.0.0.1:2525", "[::1]:25", "0.0.0.0:25"; port 0 = any */
	size_t nlisten;
	const char *const *domains;
	size_t ndomains;
	const char *hostname;  /* banner name; NULL = gethostname() */
	const char *cert_file; /* PEM certificate chain and key for STARTTLS; both */
	const char *key_file;  /* NULL = a self-signed certificate made at start */
	bool starttls;         /* offer STARTTLS (default true in the callers) */
	/* 0 = the RP_CANARY_* defaults above; never above RP_CANARY_SESSIONS_MAX */
	unsigned sessions_max;
	unsigned peer_sessions;
	unsigned peer_conn_per_min;
	unsigned peer_msgs_per_min;
	size_t peer_bytes_per_min;
	unsigned idle_ms;    /* no complete line for this long: 421 and close */
	unsigned session_ms; /* whole session (added; 0 = RP_CANARY_SESSION_MS) */
	size_t message_max;
	/* Called on the server thread; see canary_smtp_params. */
	int (*rcpt)(void *arg, const char *local, const char *domain);
	int (*commit)(void *arg, const struct canary_arrival *a, char *why, size_t whylen);
	void *arg;
};

/* Counters since start (read with atomics; safe from any thread). */
struct canary_server_stats {
	uint64_t sessions;         /* accepted connections */
	uint64_t sessions_refused; /* over a cap: 421 and closed */
	uint64_t sessions_open;
	uint64_t messages;     /* committed arrivals */
	uint64_t refused_rcpt; /* 550 to a recipient (not a canary domain, bad token) */
	uint64_t oversize;
	uint64_t commit_failed;
	uint64_t timeouts;
	uint64_t bytes_in;
	uint64_t tls_sessions;
	uint64_t footprint_max; /* largest canary_smtp_footprint() seen (added) */
};

struct canary_server;

/* Binds every listen address and starts the thread. NULL with a message in
 * err naming the address that failed. */
struct canary_server *canary_server_start(const struct canary_server_params *p, char *err,
                                          size_t errlen);
/* The port bound for listen address i (useful with port 0); 0 when unknown. */
unsigned canary_server_port(const struct canary_server *s, size_t i);
void canary_server_stats(const struct canary_server *s, struct canary_server_stats *out);
/* Stops the thread, closes every session and socket, frees s. */
void canary_server_stop(struct canary_server **s);

#endif
