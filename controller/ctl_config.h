/* ctl_config.h - relayprobe-controller's INI configuration (docs/
 * distributed.md): section [controller] with listen, keys, database, admin,
 * order_ttl, order_stall, metrics, transcript_retention_days; section [hooks] with webhook,
 * syslog, smtp_server, mail_from, mail_to, hook_retry_base; section [metrics]
 * with token_file, snapshot_seconds; section [canary] with listen, domains,
 * wait, late, contact, cert_file, key_file, mac_key, hostname, sessions_max,
 * peer_sessions, peer_messages_per_minute. Read by common/ini_strict.c:
 * unknown sections or keys, repeated keys and bad values are errors reported
 * as "FILE:LINE: [section] key: reason". */
#ifndef RP_CTL_CONFIG_H
#define RP_CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"

/* order_ttl bounds, seconds. */
#define CTL_ORDER_TTL_MIN     60
#define CTL_ORDER_TTL_MAX     (30 * 86400)
#define CTL_ORDER_TTL_DEFAULT 3600
/* order_stall: an order acked with no progress (no result, no ORDER_DONE)
 * for this long is closed; 0 = never. Seconds. */
#define CTL_ORDER_STALL_MIN     10
#define CTL_ORDER_STALL_MAX     (30 * 86400)
#define CTL_ORDER_STALL_DEFAULT (6 * 3600)

struct ctl_config {
	char *listen;   /* ZeroMQ endpoint of the agents' ROUTER (tcp://...) */
	char *keys;     /* the controller's NAME.secret */
	char *database; /* SQLite file */
	char *admin;    /* ipc://PATH of the admin REP socket */
	uint32_t order_ttl;
	uint32_t order_stall; /* seconds; 0 = acked orders never expire */
	char *metrics;        /* HOST:PORT of the Prometheus endpoint; NULL = off */
	/* [metrics]: token_file (NULL = no authentication), the token read from
	 * it at load time (wiped on clear), and snapshot_seconds (default 10:
	 * the body is recomputed at most that often; 0 = on every GET). */
	char *metrics_token_file;
	char *metrics_token;
	uint32_t metrics_snapshot_s;
	/* transcript_retention_days (fractional allowed) or, for tests,
	 * transcript_retention_seconds; 0 = keep forever. Default 90 days. */
	double retention_s;
	/* [hooks] (controller/hooks.c): NULL / 0 = that hook is off. */
	char *webhook;            /* http://HOST:PORT/path or https:// */
	bool hook_syslog;         /* syslog = yes */
	char *smtp_server;        /* HOST:PORT for the email hook */
	char *mail_from;          /* envelope and header From */
	char *mail_to;            /* the operator's address */
	uint32_t hook_retry_base; /* seconds before the first retry (default 10) */
	/* [canary] (docs/canary.md): off unless listen and domains are given. */
	char *canary_listen[RP_CANARY_LISTEN_MAX];
	size_t n_canary_listen;
	char *canary_domains[RP_CANARY_DOMAINS_MAX]; /* the first goes into orders */
	size_t n_canary_domains;
	uint32_t canary_wait;           /* seconds after a result before "accepted-not-delivered" */
	uint32_t canary_late;           /* arrivals up to this age still count */
	char *canary_contact;           /* operator contact line of the test message, NULL none */
	char *canary_cert, *canary_key; /* STARTTLS PEM files; NULL = self-signed */
	char *canary_mac_key;           /* token key file; NULL = canary.key beside the database */
	char *canary_hostname;          /* banner name; NULL = the system's */
	unsigned canary_sessions, canary_peer_sessions, canary_peer_msgs; /* 0 = defaults */
};

#define CTL_CANARY_WAIT_DEFAULT 1800
#define CTL_CANARY_LATE_DEFAULT (7 * 86400)

/* Fills cfg (defaults for missing keys). 0, or -1 with the first error in
 * err; cfg is then cleared. */
int ctl_config_load(const char *path, struct ctl_config *cfg, char *err, size_t errlen);
/* Frees the strings and zeroes cfg; safe on a zeroed struct. */
void ctl_config_clear(struct ctl_config *cfg);

#endif
