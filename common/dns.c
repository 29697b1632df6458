/* dns.c - MX and address lookups on c-ares for the engine. One lookup job
 * per name: an MX query (when asked), then one ares_getaddrinfo per MX host
 * in preference order (at most RP_MX_MAX), keeping at most
 * RP_ADDRS_PER_HOST_MAX addresses of each family per host. c-ares sockets
 * live in the engine's epoll set (tagged, level-triggered). */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "rp_take.h"

struct dns {
	ares_channel ch;
	int epfd;
	bool ch_ok;
	size_t pending;
};

struct dns_job;
struct dns_host {
	struct dns_job *dj;
	char *name;
	int pref, status;
	size_t naddr;
	union dns_addr addrs[2 * RP_ADDRS_PER_HOST_MAX];
};

struct dns_job {
	struct dns *d;
	char *name;
	dns_done_cb cb;
	void *arg;
	unsigned outstanding;
	bool via_mx, null_mx, mx_nxdomain, stopped;
	const char *err;
	struct dns_host *hosts;
	size_t nhosts;
};

static const char *dns_reason(int status, bool nxdomain_known)
{
	switch (status) {
	case ARES_ENOTFOUND:
		return nxdomain_known ? "DNS: no such domain (NXDOMAIN)"
		                      : "DNS: no such host (NXDOMAIN or no A/AAAA records)";
	case ARES_ENODATA:
		return "DNS: no A/AAAA records (NODATA)";
	case ARES_ETIMEOUT:
		return "DNS: timeout";
	case ARES_ESERVFAIL:
		return "DNS: server failure (SERVFAIL)";
	case ARES_EREFUSED:
		return "DNS: query refused (REFUSED)";
	case ARES_ECONNREFUSED:
		return "DNS: could not contact the name server";
	case ARES_EFORMERR:
	case ARES_EBADRESP:
		return "DNS: bad response";
	case ARES_EBADNAME:
		return "DNS: bad name";
	case ARES_ENOMEM:
		return "DNS: out of memory";
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return "not run: stopped";
	default:
		return "DNS: lookup failed";
	}
}

static bool is_stop(int status)
{
	return status == ARES_ECANCELLED || status == ARES_EDESTRUCTION;
}

static void job_finish(struct dns_job *dj)
{
	struct dns_host_result res[RP_MX_MAX];
	struct dns_answer a = {.via_mx = dj->via_mx, .hosts = res};

	for (size_t h = 0; h < dj->nhosts && h < RP_MX_MAX; h++) {
		struct dns_host *dh = &dj->hosts[h];
		dj->stopped |= is_stop(dh->status);
		res[h] = (struct dns_host_result){
		    .name = dh->name,
		    .pref = dj->via_mx ? dh->pref : -1,
		    .reason = dh->naddr ? NULL
		                        : dns_reason(dh->status ? dh->status : ARES_ENODATA,
		                                     !dj->via_mx && dj->mx_nxdomain),
		    .naddr = dh->naddr,
		    .addrs = dh->addrs,
		};
		a.nhosts++;
	}
	if (dj->stopped) {
		a.stopped = true;
		a.reason = "not run: stopped";
		a.nhosts = 0;
	} else if (dj->err) {
		a.reason = dj->err;
		a.nhosts = 0;
	} else if (dj->null_mx) {
		a.null_mx = true;
		a.reason = "null MX: domain accepts no mail";
		a.nhosts = 0;
	}
	dj->d->pending--;
	dj->cb(dj->arg, &a);
	for (size_t h = 0; h < dj->nhosts; h++)
		free(dj->hosts[h].name);
	free(dj->hosts);
	free(dj->name);
	free(dj);
}

static void job_done_one(struct dns_job *dj)
{
	if (--dj->outstanding == 0)
		job_finish(dj);
}

static bool addr_same(const union dns_addr *a, const union dns_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static void gai_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dns_host *dh = arg;
	size_t n4 = 0, n6 = 0;
	dh->status = status;
	if (status == ARES_SUCCESS && res) {
		for (struct ares_addrinfo_node *n = res->nodes; n; n = n->ai_next) {
			union dns_addr sa;
			memset(&sa, 0, sizeof(sa));
			if (n->ai_family == AF_INET && n4 < RP_ADDRS_PER_HOST_MAX &&
			    n->ai_addrlen >= sizeof(struct sockaddr_in)) {
				sa.in.sin_family = AF_INET;
				memcpy(&sa.in.sin_addr,
				       &((struct sockaddr_in *)(void *)n->ai_addr)->sin_addr, 4);
			} else if (n->ai_family == AF_INET6 && n6 < RP_ADDRS_PER_HOST_MAX &&
			           n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
				sa.in6.sin6_family = AF_INET6;
				memcpy(&sa.in6.sin6_addr,
				       &((struct sockaddr_in6 *)(void *)n->ai_addr)->sin6_addr, 16);
			} else {
				continue;
			}
			bool dup = false;
			for (size_t i = 0; i < dh->naddr && !dup; i++)
				dup = addr_same(&dh->addrs[i], &sa);
			if (dup || dh->naddr >= 2 * RP_ADDRS_PER_HOST_MAX)
				continue;
			dh->addrs[dh->naddr++] = sa;
			if (sa.sa.sa_family == AF_INET)
				n4++;
			else
				n6++;
		}
	}
	if (res)
		ares_freeaddrinfo(res);
	job_done_one(dh->dj);
}

/* Start the address lookup of host name (hosts has room: sized by the caller). */
static void add_host(struct dns_job *dj, const char *name, int pref)
{
	struct dns_host *dh = &dj->hosts[dj->nhosts];
	struct ares_addrinfo_hints hints = {
	    .ai_flags = ARES_AI_NOSORT, .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	memset(dh, 0, sizeof(*dh));
	dh->dj = dj;
	dh->pref = pref;
	if (!(dh->name = strdup(name))) {
		dj->err = "DNS: out of memory";
		return;
	}
	dj->nhosts++;
	dj->outstanding++;
	ares_getaddrinfo(dj->d->ch, name, NULL, &hints, gai_cb, dh);
}

static void add_self(struct dns_job *dj)
{
	dj->hosts = calloc(1, sizeof(*dj->hosts));
	if (!dj->hosts)
		dj->err = "DNS: out of memory";
	else
		add_host(dj, dj->name, -1);
}

struct mx_pick {
	int pref;
	size_t order;
	const char *host;
};

static int mx_cmp(const void *a, const void *b)
{
	const struct mx_pick *x = a, *y = b;
	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_job *dj = arg;
	struct ares_mx_reply *mx = NULL;
	struct mx_pick *picks = NULL;
	size_t n = 0;

	if (is_stop(status)) {
		dj->stopped = true;
	} else if (status == ARES_ENODATA || status == ARES_ENOTFOUND) {
		/* No MX: the name itself is the mail host (RFC 5321 5.1). */
		dj->mx_nxdomain = status == ARES_ENOTFOUND;
		add_self(dj);
	} else if (status != ARES_SUCCESS) {
		dj->err = dns_reason(status, true);
	} else if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS) {
		dj->err = "DNS: bad MX response";
	} else {
		for (struct ares_mx_reply *m = mx; m; m = m->next, n++)
			if (!m->host[0] || strcmp(m->host, ".") == 0)
				dj->null_mx = true; /* RFC 7505 */
		if (n == 0) {
			add_self(dj);
		} else if (!dj->null_mx) {
			size_t k = 0, take = n < RP_MX_MAX ? n : RP_MX_MAX;
			picks = calloc(n, sizeof(*picks));
			dj->hosts = calloc(take, sizeof(*dj->hosts));
			if (!picks || !dj->hosts) {
				dj->err = "DNS: out of memory";
			} else {
				for (struct ares_mx_reply *m = mx; m; m = m->next, k++)
					picks[k] = (struct mx_pick){m->priority, k, m->host};
				qsort(picks, n, sizeof(*picks), mx_cmp);
				dj->via_mx = true;
				/* Our own count keeps dj alive through at-once answers. */
				for (k = 0; k < take && !dj->err; k++)
					add_host(dj, picks[k].host, picks[k].pref);
			}
		}
	}
	free(picks);
	if (mx)
		ares_free_data(mx);
	job_done_one(dj);
}

int dns_resolve(struct dns *d, const char *name, bool use_mx, dns_done_cb cb, void *arg)
{
	struct dns_job *dj = calloc(1, sizeof(*dj));
	if (!dj || !(dj->name = strdup(name))) {
		free(dj);
		return -1;
	}
	dj->d = d;
	dj->cb = cb;
	dj->arg = arg;
	dj->outstanding = 1; /* this function: answers may come before it returns */
	d->pending++;
	if (use_mx) {
		dj->outstanding++;
		ares_query(d->ch, dj->name, ns_c_in, ns_t_mx, mx_cb, dj);
	} else {
		add_self(dj);
	}
	job_done_one(dj);
	return 0;
}

size_t dns_pending(const struct dns *d)
{
	return d->pending;
}

void dns_cancel(struct dns *d)
{
	if (d->pending)
		ares_cancel(d->ch);
}

void dns_process(struct dns *d, int fd, uint32_t events)
{
	if (fd < 0) {
		if (d->pending)
			ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		return;
	}
	ares_process_fd(d->ch, events & (EPOLLIN | EPOLLERR | EPOLLHUP) ? fd : ARES_SOCKET_BAD,
	                events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
}

int dns_wait_ms(struct dns *d)
{
	struct timeval tv, *tvp;
	if (!d->pending || !(tvp = ares_timeout(d->ch, NULL, &tv)))
		return -1;
	long ms = tvp->tv_sec * 1000L + (tvp->tv_usec + 999) / 1000;
	return ms > 0x7fffffffL ? 0x7fffffff : (int)ms;
}

static void sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct epoll_event ev = {.events = 0, .data.u64 = DNS_EPOLL_TAG(fd)};
	if (!readable && !writable) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, &ev);
		return;
	}
	ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* "nameserver ADDR" or "nameserver ADDR:PORT" / "[ADDR6]:PORT" lines to a
 * c-ares server list. Returns 0, or -1 with err. */
static int resolv_load(struct dns *d, const char *path, char *err, size_t errlen)
{
	char line[512], csv[1024] = "";
	size_t used = 0, count = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *addr;
		unsigned char tmp[16];
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, "nameserver", 10) != 0 || (s[10] != ' ' && s[10] != '\t'))
			continue;
		s += 10;
		while (*s == ' ' || *s == '\t')
			s++;
		addr = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '#')
			s++;
		*s = '\0';
		if (!*addr)
			continue;
		/* A bare IPv6 address needs brackets in the list. */
		bool v6 = inet_pton(AF_INET6, addr, tmp) == 1;
		int n = snprintf(csv + used, sizeof(csv) - used, "%s%s%s%s", count ? "," : "",
		                 v6 ? "[" : "", addr, v6 ? "]" : "");
		if (n < 0 || (size_t)n >= sizeof(csv) - used)
			break;
		used += (size_t)n;
		count++;
	}
	fclose(f);
	if (count == 0) {
		snprintf(err, errlen, "%s: no nameserver line", path);
		return -1;
	}
	int r = ares_set_servers_ports_csv(d->ch, csv);
	if (r != ARES_SUCCESS) {
		snprintf(err, errlen, "%s: bad nameserver list: %s", path, ares_strerror(r));
		return -1;
	}
	return 0;
}

struct dns *dns_new(int epfd, unsigned timeout_ms, const char *resolv_conf, char *err,
                    size_t errlen)
{
	struct dns *d = calloc(1, sizeof(*d));
	struct ares_options o;
	int r, mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	unsigned to = timeout_ms ? timeout_ms : 5000;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->epfd = epfd;
	r = ares_library_init(ARES_LIB_INIT_ALL);
	if (r != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(r));
		free(d);
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_cb;
	o.sock_state_cb_data = d;
	o.timeout = (int)(to / 3 > 50 ? to / 3 : 50); /* two tries: t, then 2t */
	o.tries = 2;
	if (resolv_conf) {
		/* Only what the file says: no search domains from the system. */
		mask |= ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS;
		o.ndomains = 0;
		o.domains = NULL;
		o.lookups = (char *)"fb";
	}
	r = ares_init_options(&d->ch, &o, mask);
	if (r != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(r));
		dns_free(&d);
		return NULL;
	}
	d->ch_ok = true;
	if (resolv_conf && resolv_load(d, resolv_conf, err, errlen) < 0) {
		dns_free(&d);
		return NULL;
	}
	return d;
}

void dns_free(struct dns **dp)
{
	struct dns *d = rp_take(dp);
	if (!d)
		return;
	if (d->ch_ok)
		ares_destroy(d->ch); /* pending jobs finish with stopped set */
	ares_library_cleanup();
	free(d);
}
