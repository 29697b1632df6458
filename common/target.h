/* target.h - parse a target as the user writes it: "host", "host:port",
 * "192.0.2.1", "192.0.2.1:587", "[2001:db8::1]:25", "2001:db8::1",
 * "example.com" (a mail domain: resolved through MX when it has MX records).
 * Bounded by RP_DOMAIN_MAX; host names are checked for LDH syntax. */
#ifndef RP_TARGET_H
#define RP_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_limits.h"

struct target_spec {
	char text[RP_TARGET_LINE_MAX]; /* as written (trimmed) */
	char host[RP_DOMAIN_MAX + 1];  /* name or textual address, no brackets */
	uint16_t port;                 /* the given port, or the default */
	bool port_given;
	int family; /* AF_INET / AF_INET6 for address literals, 0 for names */
};

/* Returns 0, or -1 with a message naming the problem in err. */
int target_parse(const char *s, uint16_t default_port, struct target_spec *out, char *err,
                 size_t errlen);

/* The canonical text of a target with an optional port field (an inventory
 * CSV's port column; NULL or "" when none): "host", "host:port" or
 * "[v6]:port", the host as target_parse() normalises it. A port in the
 * text and one in port must agree. The store keeps targets in this form
 * only. Returns 0, or -1 with the reason in err. */
#define TARGET_CANONICAL_MAX (RP_TARGET_LINE_MAX + 8)
int target_canonical(const char *text, const char *port, char *out, size_t outlen, char *err,
                     size_t errlen);

/* True when text is a target already in its canonical form (what the store
 * accepts from any admin client). */
bool target_is_canonical(const char *text);

/* True when name is a syntactically valid host name (LDH labels, 1..63 each,
 * total <= 253, a trailing dot allowed). */
bool target_hostname_ok(const char *name);

/* True when domain is reserved for documentation/testing or cannot resolve on
 * the public Internet (RFC 2606/6761: example, test, invalid, localhost,
 * example.com/net/org, .local ...). */
bool target_domain_reserved(const char *domain);

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]": an address literal as the domain
 * of a mail address (RFC 5321 4.1.3). */
bool target_address_literal_ok(const char *s);

/* The name to say in EHLO when none is given: this machine's host name when
 * it is a dotted, valid host name, else TARGET_FALLBACK_EHLO. */
#define TARGET_FALLBACK_EHLO "relayprobe.invalid"
void target_default_ehlo(char *buf, size_t len);

/* A numeric listen or server address, "IPV4:PORT" or "[IPV6]:PORT" (port
 * 1-65535; no names, so nothing is resolved at start-up): host[hostlen]
 * gets the address without brackets. 0 / -1. */
int target_parse_numeric_hostport(const char *addr, char *host, size_t hostlen, unsigned *port);

#endif
