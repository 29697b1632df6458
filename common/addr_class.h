/* addr_class.h - what kind of destination an IP address is: its special
 * classes (unspecified, "this network", loopback, link-local, site-local,
 * multicast, broadcast) and those of every IPv4 address embedded in an IPv6
 * one (IPv4-mapped, -compatible, -translated, NAT64 well-known and local-use
 * prefixes, 6to4, Teredo). Two tables in addr_class.c, no I/O, no state: the
 * agent's scope check (agent_config.c) decides with it what it never dials. */
#ifndef RP_ADDR_CLASS_H
#define RP_ADDR_CLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum addr_class {
	ADDR_CLASS_UNSPECIFIED,  /* 0.0.0.0, :: (Linux connects them to this host) */
	ADDR_CLASS_THIS_NETWORK, /* 0.0.0.0/8 */
	ADDR_CLASS_LOOPBACK,     /* 127.0.0.0/8, ::1 */
	ADDR_CLASS_LINK_LOCAL,   /* 169.254.0.0/16, fe80::/10 */
	ADDR_CLASS_SITE_LOCAL,   /* fec0::/10 (deprecated, RFC 3879) */
	ADDR_CLASS_MULTICAST,    /* 224.0.0.0/4, ff00::/8 */
	ADDR_CLASS_BROADCAST,    /* 255.255.255.255 */
	ADDR_CLASS_COUNT
};
#define ADDR_CLASS_BIT(c) (1u << (unsigned)(c))
/* Never a host to probe: no configuration may allow these. */
#define ADDR_CLASS_NEVER                                                                           \
	(ADDR_CLASS_BIT(ADDR_CLASS_UNSPECIFIED) | ADDR_CLASS_BIT(ADDR_CLASS_THIS_NETWORK) |        \
	 ADDR_CLASS_BIT(ADDR_CLASS_MULTICAST) | ADDR_CLASS_BIT(ADDR_CLASS_BROADCAST))

/* How an IPv6 address carries an IPv4 one. */
enum addr_embed {
	ADDR_EMBED_NONE,
	ADDR_EMBED_MAPPED,      /* ::ffff:0:0/96 (dialled as IPv4 by a dual-stack socket) */
	ADDR_EMBED_TRANSLATED,  /* ::ffff:0:0:0/96 (SIIT, RFC 2765) */
	ADDR_EMBED_COMPAT,      /* ::/96 but :: and ::1 (RFC 4291, deprecated) */
	ADDR_EMBED_NAT64,       /* 64:ff9b::/96 (RFC 6052) */
	ADDR_EMBED_NAT64_LOCAL, /* 64:ff9b:1::/48 (RFC 8215): every RFC 6052 position
	                           a /48, /56, /64 or /96 prefix inside it would use */
	ADDR_EMBED_6TO4,        /* 2002::/16 (RFC 3056) */
	ADDR_EMBED_TEREDO,      /* 2001::/32 (RFC 4380): server and (inverted) client */
	ADDR_EMBED_COUNT
};

/* Most IPv4 addresses one IPv6 address may carry (NAT64 local-use: 4). */
#define ADDR_V4_MAX 4

struct addr_info {
	int family;       /* AF_INET for IPv4 and IPv4-mapped IPv6, else AF_INET6 */
	uint8_t addr[16]; /* the address (4 bytes when AF_INET) */
	enum addr_embed embed;
	size_t n_v4;                /* IPv4 addresses carried by an AF_INET6 address */
	uint8_t v4[ADDR_V4_MAX][4]; /* (an IPv4-mapped one is addr itself: n_v4 0) */
	unsigned classes;           /* ADDR_CLASS_BIT of addr's and every v4's classes */
};

/* Classifies family (AF_INET: 4 bytes, AF_INET6: 16) at a into *out.
 * 0, or -1 for another family. */
int addr_classify(int family, const uint8_t *a, struct addr_info *out);

/* The same from a socket address of len bytes (AF_INET or AF_INET6, port
 * ignored). 0, or -1 for another family or a short len. */
int addr_classify_sa(const struct sockaddr *sa, socklen_t len, struct addr_info *out);

/* "loopback", "link-local"... (the config's names); NULL out of range. */
const char *addr_class_name(enum addr_class c);
/* The class named name (case-insensitive), or -1. */
int addr_class_from_name(const char *name);
/* "mapped", "6to4"...; NULL out of range. */
const char *addr_embed_name(enum addr_embed e);

#endif
