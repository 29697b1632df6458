/* exclude.h - a do-not-test list: addresses, CIDR blocks and domains that are
 * never probed, each with the reason and where it came from. A domain entry
 * covers the domain and every name under it; an address or CIDR entry covers
 * the addresses in it, whatever name led there (an MX host, an A record).
 * Lookups cost O(labels x log n) for names and O(prefix lengths x log n) for
 * addresses, so a list of RP_EXCLUDE_MAX entries checks a million targets. */
#ifndef RP_EXCLUDE_H
#define RP_EXCLUDE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "rp_limits.h"

struct exclude_list;

/* Owned by the list, valid until it is freed. */
struct exclude_entry {
	const char *text;   /* as given: "192.0.2.0/24", "example.com" */
	const char *reason; /* at most RP_EXCLUDE_REASON_MAX bytes; may be "" */
	const char *where;  /* "FILE:LINE", or what the caller named; may be "" */
};

struct exclude_list *exclude_new(void);
void exclude_free(struct exclude_list **lp);

/* One entry: an IPv4 or IPv6 address, a CIDR block ("198.51.100.0/24",
 * "2001:db8::/32"; host bits must be zero) or a host name (target_hostname_ok;
 * a trailing dot and case do not matter). reason is free text without control
 * bytes (NULL: none); where is copied as the entry's origin. Returns 0, or -1
 * with err saying what is wrong with the entry. */
int exclude_add(struct exclude_list *l, const char *entry, const char *reason, const char *where,
                char *err, size_t errlen);

/* A file of entries, one per line: the entry, then optionally blanks and the
 * reason; '#' starts a comment (common/targets_file.c reads it). At most
 * RP_EXCLUDE_MAX entries in a list. Errors name FILE:LINE. */
int exclude_load_file(struct exclude_list *l, const char *path, char *err, size_t errlen);

/* The entry that covers a target's host as given (a name, or an address in
 * text, brackets allowed), or NULL. The most specific entry wins (the
 * longest prefix, the longest domain). A lookup after an add sorts the list
 * first, so lookups and adds must not run at the same time. */
const struct exclude_entry *exclude_match_host(struct exclude_list *l, const char *host);

/* The entry that covers an address (AF_INET/AF_INET6; an IPv4-mapped IPv6
 * address is looked up as IPv4), or NULL. */
const struct exclude_entry *exclude_match_addr(struct exclude_list *l, const struct sockaddr *sa);

/* The entry that covers the address sa (NULL: not looked at) or the host
 * name host (NULL: none), the address first, or NULL. */
const struct exclude_entry *exclude_match(struct exclude_list *l, const struct sockaddr *sa,
                                          const char *host);

/* "excluded by ENTRY (WHERE): REASON", the parts that are empty left out,
 * into buf (truncated to len). The text results and reports show. */
void exclude_describe(const struct exclude_entry *en, char *buf, size_t len);

/* exclude_match, and when an entry covers the address or name, its
 * exclude_describe() text into why: true. False (why untouched) when none
 * does. The check a scope filter makes. */
bool exclude_check(struct exclude_list *l, const struct sockaddr *sa, const char *host, char *why,
                   size_t whylen);

size_t exclude_count(const struct exclude_list *l);
/* The i-th entry in the order added (i < exclude_count), or NULL. */
const struct exclude_entry *exclude_entry_at(const struct exclude_list *l, size_t i);

#endif
