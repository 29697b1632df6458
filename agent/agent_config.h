/* agent_config.h - the relayprobe-agent configuration (INI, read by
 * common/ini_strict.c): [agent] controller, controller_key, keys, state, bind, labels,
 * capacity;
 * [limits] targets_per_order, concurrency, rate, order_deadline, allow_data,
 * canary_domains;
 * [scope] allow, deny (CIDR lists), allow_special (address classes by name).
 * Every bad value, unknown section or key is an error "FILE:LINE: [section]
 * key: reason". Bounds: AGENT_CONF_* below. */
#ifndef RP_AGENT_CONFIG_H
#define RP_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rp_limits.h"

#define AGENT_CONF_PATH_MAX     1024 /* file paths */
#define AGENT_CONF_ENDPOINT_MAX 256  /* tcp://host:port */
#define AGENT_CONF_LABELS_MAX   32
#define AGENT_CONF_LABEL_MAX    64 /* key and value, each */
#define AGENT_CONF_CANARIES_MAX 16
#define AGENT_CONF_CIDRS_MAX    256 /* per list */

/* [agent] capacity when the file does not say. */
#define AGENT_CONF_CAPACITY_DEFAULT 4

struct agent_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

struct agent_config {
	/* [agent] */
	char controller[AGENT_CONF_ENDPOINT_MAX];
	char controller_key[AGENT_CONF_PATH_MAX];
	char keys[AGENT_CONF_PATH_MAX];
	char state[AGENT_CONF_PATH_MAX];
	char bind[64]; /* "" = any source address */
	char label_keys[AGENT_CONF_LABELS_MAX][AGENT_CONF_LABEL_MAX + 1];
	char label_values[AGENT_CONF_LABELS_MAX][AGENT_CONF_LABEL_MAX + 1];
	size_t n_labels;
	/* orders the controller keeps out to this agent (Hello.max_orders),
	 * 1..RP_AGENT_CAPACITY_MAX, default AGENT_CONF_CAPACITY_DEFAULT; they
	 * still run one at a time */
	unsigned capacity;
	/* [limits] */
	unsigned targets_per_order; /* default 1000 */
	unsigned concurrency;       /* default 500 */
	double rate;                /* new connections per second, default 50, 0 = unlimited */
	unsigned order_deadline;    /* seconds one order may run, default 14400 */
	bool allow_data;            /* default no */
	char canary_domains[AGENT_CONF_CANARIES_MAX][RP_DOMAIN_MAX + 1];
	size_t n_canary_domains;
	/* [scope]: deny wins over allow; default allow = everything but the
	 * special classes (addr_class.h) */
	struct agent_cidr allow[AGENT_CONF_CIDRS_MAX];
	size_t n_allow;
	struct agent_cidr deny[AGENT_CONF_CIDRS_MAX];
	size_t n_deny;
	char exclude_file[AGENT_CONF_PATH_MAX]; /* a do-not-test list (exclude.h), "" = none */
	unsigned allow_special;                 /* ADDR_CLASS_BITs allowed by name (loopback,
	                                           link-local, site-local; never ADDR_CLASS_NEVER),
	                                           default none */
};

/* Defaults (no required key set; allow 0.0.0.0/0 and ::/0, no special
 * class). */
void agent_config_defaults(struct agent_config *c);

/* Parses path into *c (defaults first). 0, or -1 with the first problem in
 * err: "FILE:LINE: [section] key: reason", "FILE:LINE: [s]: unknown section
 * ...", "FILE:LINE: [agent] key: missing ..." (LINE of [agent]), "FILE:
 * cannot open: ..." (ini_strict.h). */
int agent_config_load(const char *path, struct agent_config *c, char *err, size_t errlen);

/* Parses one CIDR ("192.0.2.0/24", "2001:db8::/32", or a bare address = a
 * host route). 0 or -1. */
int agent_cidr_parse(const char *s, struct agent_cidr *out);

/* True when the agent may dial sa (AF_INET or AF_INET6; IPv4-mapped IPv6
 * counts as IPv4): none of its classes (addr_class.h: of the address and of
 * every IPv4 address it embeds) is special unless allowed by name in
 * allow_special (ADDR_CLASS_NEVER never is), it is in some allow entry and
 * in no deny entry, and so is every IPv4 address it embeds (6to4, NAT64,
 * Teredo...: deny = 10.0.0.0/8 also refuses 2002:a01:203::). */
bool agent_config_scope_allows(const struct agent_config *c, const struct sockaddr *sa,
                               socklen_t len);

/* The same, with the reason for a refusal in why (whylen bytes, may be 0):
 * "loopback not in allow_special", "6to4 IPv4 10.1.2.3 in deny
 * 10.0.0.0/8", "not in allow"... */
bool agent_config_scope_check(const struct agent_config *c, const struct sockaddr *sa,
                              socklen_t len, char *why, size_t whylen);

/* True when domain is one of canary_domains (case-insensitive). */
bool agent_config_is_canary(const struct agent_config *c, const char *domain);

#endif
