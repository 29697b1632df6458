/* dns.h - the engine's asynchronous resolver on c-ares, driven by the
 * engine's epoll loop: a name's MX records (implicit MX, RFC 5321 5.1; null
 * MX, RFC 7505), then the A/AAAA addresses of each host. Owns the c-ares
 * channel and its sockets. Bounds: RP_MX_MAX hosts, RP_ADDRS_PER_HOST_MAX
 * addresses per family per host. */
#ifndef RP_DNS_H
#define RP_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rp_limits.h"

union dns_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct dns_host_result {
	const char *name;
	int pref;           /* MX preference, -1 when the name was resolved directly */
	const char *reason; /* set when naddr == 0: why ("DNS: timeout"...) */
	size_t naddr;
	const union dns_addr *addrs; /* port 0 */
};

/* The outcome for one name; borrowed during the callback only. */
struct dns_answer {
	const char *reason; /* the whole name failed (MX query, null MX, stop) */
	bool null_mx;       /* RFC 7505: the domain accepts no mail (reason set) */
	bool stopped;       /* cancelled (reason "not run: stopped") */
	bool via_mx;        /* hosts came from MX records */
	size_t nhosts;      /* in MX preference order */
	const struct dns_host_result *hosts;
};
typedef void (*dns_done_cb)(void *arg, const struct dns_answer *a);

/* epoll data of the resolver's sockets: odd, so never a (aligned) pointer. */
#define DNS_EPOLL_TAG(fd)     ((((uint64_t)(unsigned)(fd)) << 1) | 1u)
#define DNS_EPOLL_IS_TAG(u64) (((u64)&1u) != 0)
#define DNS_EPOLL_FD(u64)     ((int)((u64) >> 1))

struct dns;

/* Sockets go into epfd tagged with DNS_EPOLL_TAG. timeout_ms is per query
 * (two tries). resolv_conf: take the servers from this file's "nameserver
 * ADDR" or "nameserver ADDR:PORT" lines, no search domains; NULL = system.
 * NULL with a message in err. */
struct dns *dns_new(int epfd, unsigned timeout_ms, const char *resolv_conf, char *err,
                    size_t errlen);
void dns_free(struct dns **d); /* pending lookups end: callbacks run, stopped set */

/* Resolve name (MX first when use_mx). cb runs exactly once, possibly before
 * this returns. -1 on OOM (cb not called). */
int dns_resolve(struct dns *d, const char *name, bool use_mx, dns_done_cb cb, void *arg);
size_t dns_pending(const struct dns *d);
/* End every pending lookup now: callbacks run with stopped set. */
void dns_cancel(struct dns *d);
/* An epoll event on one of our sockets (fd), or fd -1 to run timeouts. */
void dns_process(struct dns *d, int fd, uint32_t events);
/* Milliseconds until c-ares needs dns_process(d, -1, 0), or -1 for none. */
int dns_wait_ms(struct dns *d);

#endif
