/* engine.c - one thread, one edge-triggered epoll loop driving many dialogs:
 * c-ares (MX, then A/AAAA of each MX host), non-blocking connects, OpenSSL,
 * a min-heap of per-dialog timers, per-address politeness (one session at a
 * time per IP, pause_ms between sessions) and a token-bucket connection rate.
 * Owns every socket, SSL, dialog and address record it creates. Bounds: the
 * concurrency, RP_DNS_JOBS_MAX resolutions, RP_MX_MAX x RP_ADDRS_PER_HOST_MAX
 * addresses per domain, RP_ENGINE_READ_MAX bytes per read (one shared buffer),
 * RP_TLS_CPU_BUDGET_MS of handshake CPU per dialog, each dialog's hard
 * deadline (dialog.c) and the run's deadline_ms.
 * About 1,650 lines: jobs, timers, deadlines, politeness and rate all work
 * on the one struct engine and its loop; DNS (dns.c) and TLS (tls.c) are
 * apart. */
#include "engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dns.h"
#include "rp_limits.h"
#include "rp_take.h"
#include "tls.h"

#define EV_BATCH    256
#define WAIT_MAX_MS 500 /* upper bound on one epoll_wait: a missed signal costs no more */
#define PROGRESS_MS 250
#define FD_RESERVE  64 /* descriptors kept for DNS, logs, the caller */

/* One address (port set per job). */
typedef union dns_addr sa_any_t;

/* A target as queued (strings owned until the target starts). */
struct qtarget {
	char *text, *host;
	uint16_t port;
	bool port_given;
	int family;
};

/* What the results of one started target share. */
struct tctx {
	unsigned refs;
	char *text; /* as written */
	char *name; /* the name for name targets, NULL for address literals */
};

enum addr_list { AL_NONE = 0, AL_KICK, AL_SLOT, AL_TOKEN };

/* Politeness state of one IP address. */
struct addr_state {
	struct addr_state *hnext;  /* hash chain */
	struct addr_state *lnext;  /* kick / starved list */
	struct addr_state *inext;  /* idle list (waiting to be forgotten) */
	struct job *whead, *wtail; /* jobs waiting to connect, FIFO */
	uint64_t next_ok;          /* end of the pause after the last session */
	unsigned refs;             /* jobs that point here */
	uint8_t family, list;
	bool busy, idle;
	unsigned char key[16];
};

enum job_state { JS_WAIT = 0, JS_CONNECTING, JS_HANDSHAKE, JS_OPEN };

/* One address:port of one target: a dialog once it starts. */
struct job {
	struct job *prev, *next; /* every job */
	struct job *qnext;       /* addr_state waiters */
	struct tctx *t;
	char *host; /* host name probed, NULL for address targets */
	int mx_pref;
	bool via_mx;
	struct addr_state *as;
	struct dialog *d;
	sa_any_t sa;
	socklen_t salen;
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	int fd;
	SSL *ssl;
	struct tls_guard guard; /* what tls.c refused on ssl */
	unsigned reneg_seen;    /* guard.reneg_refused already in the transcript */
	uint64_t tls_cpu_ns;    /* handshake CPU over every session of the dialog */
	uint8_t state;
	bool rd_ready, wr_ready, eof_seen, implicit_tls, tls_failed, in_waitq, addr_waited;
	size_t heap_idx; /* 0 = not in the heap, else index + 1 */
	uint64_t timer_at, started_ms;
};

struct engine {
	struct engine_params p;
	char *ehlo, *from, *to, *dom, *local, *bind, *resolv, *contact;
	size_t *tests;
	unsigned concurrency, lookahead;
	int epfd;
	struct dns *dns;
	SSL_CTX *ssl_ctx;
	sa_any_t bind_sa;
	socklen_t bind_len;

	struct qtarget *queue;
	size_t qlen, qcap, qhead;

	struct job *jobs;
	size_t alive, pending_probes, dns_jobs, peak, done;

	struct job **heap;
	size_t hlen, hcap;

	struct addr_state **buckets;
	size_t nbuckets, naddrs;
	struct addr_state *kick_h, *kick_t, *slot_h, *slot_t, *tok_h, *tok_t;
	struct addr_state *idle_h, **idle_tail; /* idle list; idle_tail: its last inext */

	double tokens, burst;
	uint64_t tok_ms;

	engine_result_cb cb;
	void *cbarg;
	uint64_t deadline_at; /* the run's deadline, 0 = none */
	const char *notrun;   /* reason for targets never started */
	char abort_why[64];   /* "order deadline of N s passed" */
	char notrun_why[80];  /* "not run: order deadline ..." */
	volatile sig_atomic_t stop;
	bool stopping, destroying;
	char rbuf[RP_ENGINE_READ_MAX];
};

static void job_drive(struct engine *e, struct job *j, uint64_t now);

uint64_t engine_now_ms(void)
{
	return rp_wall_ms();
}

void engine_params_defaults(struct engine_params *p)
{
	memset(p, 0, sizeof(*p));
	dialog_params_defaults(&p->dialog);
	p->concurrency = 1000;
	p->rate = 100;
	p->pause_ms = 1000;
	p->dns_timeout_ms = 5000;
	p->use_mx = true;
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *c = strdup(s);
	if (!c)
		*oom = true;
	return c;
}

/* ---- timers: a binary min-heap of jobs on timer_at ---- */

static void heap_swap(struct engine *e, size_t a, size_t b)
{
	struct job *t = e->heap[a];
	e->heap[a] = e->heap[b];
	e->heap[b] = t;
	e->heap[a]->heap_idx = a + 1;
	e->heap[b]->heap_idx = b + 1;
}

static void heap_up(struct engine *e, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (e->heap[parent]->timer_at <= e->heap[i]->timer_at)
			break;
		heap_swap(e, i, parent);
		i = parent;
	}
}

static void heap_down(struct engine *e, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < e->hlen && e->heap[l]->timer_at < e->heap[m]->timer_at)
			m = l;
		if (r < e->hlen && e->heap[r]->timer_at < e->heap[m]->timer_at)
			m = r;
		if (m == i)
			return;
		heap_swap(e, i, m);
		i = m;
	}
}

static void heap_remove(struct engine *e, struct job *j)
{
	if (!j->heap_idx)
		return;
	size_t i = j->heap_idx - 1;
	j->heap_idx = 0;
	j->timer_at = 0;
	e->hlen--;
	if (i == e->hlen)
		return;
	e->heap[i] = e->heap[e->hlen];
	e->heap[i]->heap_idx = i + 1;
	heap_up(e, i);
	heap_down(e, e->heap[i]->heap_idx - 1);
}

/* Arm j's one timer at t (0 = none). The heap has room for every job
 * (grown in job_new), so this cannot fail. */
static void timer_set(struct engine *e, struct job *j, uint64_t t)
{
	if (t == 0) {
		heap_remove(e, j);
		return;
	}
	if (j->heap_idx) {
		uint64_t old = j->timer_at;
		j->timer_at = t;
		if (t < old)
			heap_up(e, j->heap_idx - 1);
		else if (t > old)
			heap_down(e, j->heap_idx - 1);
		return;
	}
	j->timer_at = t;
	e->heap[e->hlen] = j;
	j->heap_idx = ++e->hlen;
	heap_up(e, e->hlen - 1);
}

/* ---- addresses: politeness state, hashed on the IP ---- */

static size_t addr_hash(int family, const unsigned char *key)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)family;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static void addr_key(const sa_any_t *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa->sa.sa_family == AF_INET)
		memcpy(key, &sa->in.sin_addr, 4);
	else
		memcpy(key, &sa->in6.sin6_addr, 16);
}

static int addr_grow(struct engine *e)
{
	size_t n = e->nbuckets ? e->nbuckets * 2 : 1024;
	struct addr_state **b = calloc(n, sizeof(*b));
	if (!b)
		return -1;
	for (size_t i = 0; i < e->nbuckets; i++) {
		struct addr_state *a = e->buckets[i], *next;
		for (; a; a = next) {
			next = a->hnext;
			size_t h = addr_hash(a->family, a->key) & (n - 1);
			a->hnext = b[h];
			b[h] = a;
		}
	}
	free(e->buckets);
	e->buckets = b;
	e->nbuckets = n;
	return 0;
}

static struct addr_state *addr_get(struct engine *e, const sa_any_t *sa)
{
	unsigned char key[16];
	addr_key(sa, key);
	int family = sa->sa.sa_family;
	if (e->nbuckets) {
		size_t h = addr_hash(family, key) & (e->nbuckets - 1);
		for (struct addr_state *a = e->buckets[h]; a; a = a->hnext)
			if (a->family == family && memcmp(a->key, key, 16) == 0)
				return a;
	}
	if (e->naddrs >= e->nbuckets && addr_grow(e) < 0)
		return NULL;
	struct addr_state *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->family = (uint8_t)family;
	memcpy(a->key, key, 16);
	size_t h = addr_hash(family, key) & (e->nbuckets - 1);
	a->hnext = e->buckets[h];
	e->buckets[h] = a;
	e->naddrs++;
	return a;
}

static void addr_forget(struct engine *e, struct addr_state *a)
{
	size_t h = addr_hash(a->family, a->key) & (e->nbuckets - 1);
	for (struct addr_state **pp = &e->buckets[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == a) {
			*pp = a->hnext;
			break;
		}
	e->naddrs--;
	free(a);
}

/* Put a on list l (kick, or starved for a slot / a rate token). */
static void addr_list_push(struct engine *e, struct addr_state *a, enum addr_list l)
{
	struct addr_state **h = l == AL_KICK ? &e->kick_h : l == AL_SLOT ? &e->slot_h : &e->tok_h;
	struct addr_state **t = l == AL_KICK ? &e->kick_t : l == AL_SLOT ? &e->slot_t : &e->tok_t;
	if (a->list != AL_NONE)
		return;
	a->list = (uint8_t)l;
	a->lnext = NULL;
	if (*t)
		(*t)->lnext = a;
	else
		*h = a;
	*t = a;
}

static struct addr_state *addr_list_pop(struct engine *e, enum addr_list l)
{
	struct addr_state **h = l == AL_KICK ? &e->kick_h : l == AL_SLOT ? &e->slot_h : &e->tok_h;
	struct addr_state **t = l == AL_KICK ? &e->kick_t : l == AL_SLOT ? &e->slot_t : &e->tok_t;
	struct addr_state *a = *h;
	if (!a)
		return NULL;
	*h = a->lnext;
	if (!*h)
		*t = NULL;
	a->lnext = NULL;
	a->list = AL_NONE;
	return a;
}

/* Look at a again soon (from the main loop, never re-entrantly). */
static void addr_kick(struct engine *e, struct addr_state *a)
{
	addr_list_push(e, a, AL_KICK);
}

/* Put a at the tail of the idle list: kept until its pause is over. */
static void addr_idle_push(struct engine *e, struct addr_state *a)
{
	a->idle = true;
	a->inext = NULL;
	*e->idle_tail = a;
	e->idle_tail = &a->inext;
}

static void addr_unref(struct engine *e, struct addr_state *a, uint64_t now)
{
	if (--a->refs > 0 || a->idle)
		return;
	if (!a->busy && a->list == AL_NONE && a->next_ok <= now) {
		addr_forget(e, a);
		return;
	}
	/* Keep it until its pause is over, so a later target respects it. */
	addr_idle_push(e, a);
}

static void addr_gc(struct engine *e, uint64_t now)
{
	while (e->idle_h && e->idle_h->next_ok <= now) {
		struct addr_state *a = e->idle_h;
		e->idle_h = a->inext;
		if (!e->idle_h)
			e->idle_tail = &e->idle_h;
		a->idle = false;
		if (a->refs > 0)
			continue; /* in use again: addr_unref lists it when free */
		if (!a->busy && a->list == AL_NONE) {
			addr_forget(e, a);
			continue;
		}
		addr_idle_push(e, a); /* not yet: back in line */
	}
}

static void addr_release(struct engine *e, struct addr_state *a, uint64_t now)
{
	a->busy = false;
	a->next_ok = now + e->p.pause_ms;
	addr_kick(e, a);
}

/* ---- the global rate ---- */

static void rate_refill(struct engine *e, uint64_t now)
{
	if (e->p.rate <= 0 || now <= e->tok_ms)
		return;
	e->tokens += (double)(now - e->tok_ms) * e->p.rate / 1000.0;
	if (e->tokens > e->burst)
		e->tokens = e->burst;
	e->tok_ms = now;
}

static bool rate_ok(const struct engine *e)
{
	return e->p.rate <= 0 || e->tokens >= 1.0;
}

static uint64_t rate_next(const struct engine *e, uint64_t now)
{
	double need = 1.0 - e->tokens;
	if (need <= 0)
		return now;
	return now + (uint64_t)(need * 1000.0 / e->p.rate) + 1;
}

/* ---- results ---- */

static void emit(struct engine *e, const struct probe_result *r)
{
	e->done++;
	if (e->cb && !e->destroying)
		e->cb(r, e->cbarg);
}

static void emit_error(struct engine *e, const char *text, const char *host, const char *mx_domain,
                       int mx_pref, const char *address, uint16_t port, const char *reason,
                       uint64_t started, uint64_t now)
{
	struct probe_result r = {
	    .target = text,
	    .host = host,
	    .mx_domain = mx_domain,
	    .mx_pref = mx_pref,
	    .address = address,
	    .port = port,
	    .dialog = NULL,
	    .verdict = DV_ERROR,
	    .reason = reason,
	    .started_ms = started,
	    .finished_ms = now,
	};
	emit(e, &r);
}

static void tctx_unref(struct tctx **tp)
{
	struct tctx *t = rp_take(tp);
	if (!t || --t->refs > 0)
		return;
	free(t->text);
	free(t->name);
	free(t);
}

static void addr_text(const sa_any_t *sa, char *buf, size_t len)
{
	if (sa->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &sa->in.sin_addr, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, &sa->in6.sin6_addr, buf, (socklen_t)len);
}

/* The caller's scope filter on one address (with its port) and the name it
 * came from, or (sa NULL) on a name before it is resolved. Allowed: true.
 * Refused: false, and the result is emitted. */
static bool scope_allows(struct engine *e, const sa_any_t *sa, uint16_t port, const char *text,
                         const char *host, const char *mx_domain, int mx_pref, uint64_t started,
                         uint64_t now)
{
	sa_any_t s;
	socklen_t len = 0;
	char why[RP_EXCLUDE_WHY_MAX] = "", ip[INET6_ADDRSTRLEN] = "";
	enum engine_scope v;

	if (!e->p.scope)
		return true;
	if (sa == NULL) {
		v = e->p.scope(NULL, 0, host, why, sizeof(why), e->p.scope_arg);
		goto decided;
	}
	s = *sa;
	if (s.sa.sa_family == AF_INET) {
		s.in.sin_port = htons(port);
		len = sizeof(struct sockaddr_in);
	} else {
		s.in6.sin6_port = htons(port);
		len = sizeof(struct sockaddr_in6);
	}
	v = e->p.scope(&s.sa, len, host, why, sizeof(why), e->p.scope_arg);
	addr_text(sa, ip, sizeof(ip));
decided:
	if (v == ENGINE_SCOPE_ALLOW)
		return true;
	struct probe_result r = {
	    .target = text,
	    .host = host,
	    .mx_domain = mx_domain,
	    .mx_pref = mx_pref,
	    .address = sa != NULL ? ip : NULL,
	    .port = port,
	    .verdict = v == ENGINE_SCOPE_EXCLUDE ? DV_EXCLUDED : DV_ERROR,
	    .reason = why[0] != '\0' ? why : ENGINE_SCOPE_REFUSED,
	    .started_ms = started,
	    .finished_ms = now,
	};
	emit(e, &r);
	return false;
}

/* ---- jobs ---- */

static struct job *job_new(struct engine *e, struct tctx *t, const char *host, int mx_pref,
                           bool via_mx, const sa_any_t *sa, uint16_t port)
{
	struct job *j = NULL;
	struct addr_state *a;
	size_t njobs = e->alive + e->pending_probes + 1;

	if (njobs > e->hcap) {
		size_t cap = e->hcap ? e->hcap * 2 : 256;
		while (cap < njobs)
			cap *= 2;
		struct job **h = realloc(e->heap, cap * sizeof(*h));
		if (!h)
			return NULL;
		e->heap = h;
		e->hcap = cap;
	}
	a = addr_get(e, sa);
	if (!a)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		goto fail;
	if (host && !(j->host = strdup(host)))
		goto fail;
	j->fd = -1;
	j->mx_pref = mx_pref;
	j->via_mx = via_mx;
	j->sa = *sa;
	j->port = port;
	if (sa->sa.sa_family == AF_INET) {
		j->sa.in.sin_port = htons(port);
		j->salen = sizeof(struct sockaddr_in);
		inet_ntop(AF_INET, &sa->in.sin_addr, j->ip, sizeof(j->ip));
	} else {
		j->sa.in6.sin6_port = htons(port);
		j->salen = sizeof(struct sockaddr_in6);
		inet_ntop(AF_INET6, &sa->in6.sin6_addr, j->ip, sizeof(j->ip));
	}
	j->t = t;
	t->refs++;
	j->as = a;
	a->refs++;
	j->next = e->jobs;
	if (e->jobs)
		e->jobs->prev = j;
	e->jobs = j;
	e->pending_probes++;
	return j;
fail:
	free(j);
	if (a->refs == 0 && !a->busy && a->list == AL_NONE && !a->idle)
		addr_forget(e, a);
	return NULL;
}

static void job_free(struct engine *e, struct job *j, uint64_t now)
{
	heap_remove(e, j);
	if (j->prev)
		j->prev->next = j->next;
	else
		e->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	if (j->d) {
		dialog_free(&j->d);
		e->alive--;
	} else {
		e->pending_probes--;
	}
	addr_unref(e, j->as, now);
	tctx_unref(&j->t);
	free(j->host);
	free(j);
}

static void job_report(struct engine *e, struct job *j, uint64_t now)
{
	struct probe_result r = {
	    .target = j->t->text,
	    .host = j->host,
	    .mx_domain = j->via_mx ? j->t->name : NULL,
	    .mx_pref = j->mx_pref,
	    .address = j->ip,
	    .port = j->port,
	    .dialog = j->d,
	    .verdict = dialog_verdict(j->d),
	    .reason = dialog_verdict_reason(j->d),
	    .started_ms = j->started_ms,
	    .finished_ms = now,
	};
	emit(e, &r);
}

static void job_peer(const struct job *j, char *buf, size_t len)
{
	snprintf(buf, len, j->sa.sa.sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", j->ip,
	         (unsigned)j->port);
}

/* Close the connection and free the address for the next session. */
static void conn_close(struct engine *e, struct job *j, uint64_t now, bool graceful)
{
	if (j->ssl) {
		if (graceful && j->state == JS_OPEN && !j->tls_failed)
			SSL_shutdown(j->ssl); /* one close_notify, no waiting */
		SSL_free(j->ssl);
		j->ssl = NULL;
		ERR_clear_error();
	}
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
		addr_release(e, j->as, now);
	}
	j->state = JS_WAIT;
	j->rd_ready = j->wr_ready = j->eof_seen = j->implicit_tls = j->tls_failed = false;
}

/* The connection broke under the dialog. */
static void conn_lost(struct engine *e, struct job *j, uint64_t now, const char *why)
{
	conn_close(e, j, now, false);
	dialog_disconnected(j->d, now, why);
}

/* Queue j on its address to connect when politeness allows. */
static void job_wait_addr(struct engine *e, struct job *j, uint64_t now)
{
	struct addr_state *a = j->as;
	j->state = JS_WAIT;
	if (j->in_waitq)
		return;
	j->addr_waited = a->busy || a->whead || a->next_ok > now;
	j->in_waitq = true;
	j->qnext = NULL;
	if (a->wtail)
		a->wtail->qnext = j;
	else
		a->whead = j;
	a->wtail = j;
	if (j->d) /* the dialog's own deadline runs while it waits */
		timer_set(e, j, dialog_deadline(j->d));
	addr_kick(e, a);
}

static void waitq_remove(struct addr_state *a, struct job *j)
{
	struct job *prev = NULL;
	for (struct job *q = a->whead; q; prev = q, q = q->qnext) {
		if (q != j)
			continue;
		if (prev)
			prev->qnext = j->qnext;
		else
			a->whead = j->qnext;
		if (a->wtail == j)
			a->wtail = prev;
		break;
	}
	j->qnext = NULL;
	j->in_waitq = false;
}

static const char *bind_mismatch(const struct engine *e, const struct job *j, char *buf, size_t len)
{
	if (!e->bind_len || e->bind_sa.sa.sa_family == j->sa.sa.sa_family)
		return NULL;
	snprintf(buf, len, "source address %s is %s but the target is %s", e->bind,
	         e->bind_sa.sa.sa_family == AF_INET ? "IPv4" : "IPv6",
	         j->sa.sa.sa_family == AF_INET ? "IPv4" : "IPv6");
	return buf;
}

/* Open the connection (the address is already ours). */
static void job_connect(struct engine *e, struct job *j, uint64_t now)
{
	char peer[INET6_ADDRSTRLEN + 10], why[160];
	const char *fail = NULL;
	int one = 1;

	job_peer(j, peer, sizeof(peer));
	dialog_connecting(j->d, now, peer);
	j->as->busy = true;
	if ((fail = bind_mismatch(e, j, why, sizeof(why))))
		goto failed;
	j->fd = socket(j->sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (j->fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		fail = why;
		goto failed;
	}
	setsockopt(j->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (e->bind_len) {
#ifdef IP_BIND_ADDRESS_NO_PORT
		setsockopt(j->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
		if (bind(j->fd, &e->bind_sa.sa, e->bind_len) < 0) {
			snprintf(why, sizeof(why), "bind to %s: %s", e->bind, strerror(errno));
			fail = why;
			goto failed;
		}
	}
	if (connect(j->fd, &j->sa.sa, j->salen) < 0 && errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		fail = why;
		goto failed;
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	                         .data.ptr = j};
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, j->fd, &ev) < 0) {
		snprintf(why, sizeof(why), "epoll: %s", strerror(errno));
		fail = why;
		goto failed;
	}
	/* Connected or not, EPOLLOUT (or EPOLLERR) tells us next. */
	j->state = JS_CONNECTING;
	job_drive(e, j, now);
	return;
failed:
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	addr_release(e, j->as, now);
	j->state = JS_WAIT;
	dialog_connect_failed(j->d, now, fail);
	job_drive(e, j, now);
}

static int job_start_dialog(struct engine *e, struct job *j, uint64_t now)
{
	struct dialog_params dp = e->p.dialog;
	const char *tl[RP_TESTS_MAX] = {NULL}, *fl[RP_TESTS_MAX] = {NULL};

	dp.server_ip = j->ip;
	if (!dp.local_domain && j->via_mx)
		dp.local_domain = j->t->name;
	if (e->p.locals && dp.ntests <= RP_TESTS_MAX &&
	    e->p.locals(e->p.locals_arg, j->t->text, j->ip, dp.tests, dp.ntests, tl, fl) == 0) {
		dp.to_locals = tl;
		dp.from_locals = fl;
	}
	j->d = dialog_new(&dp, now);
	if (!j->d)
		return -1;
	j->started_ms = now;
	e->pending_probes--;
	e->alive++;
	if (e->alive > e->peak)
		e->peak = e->alive;
	if (j->via_mx)
		dialog_event(j->d, now, "MX %s (preference %d) of %s, address %s", j->host,
		             j->mx_pref, j->t->name, j->ip);
	return 0;
}

/* The head of a's queue connects when the address, a slot and a token allow. */
static void addr_try(struct engine *e, struct addr_state *a, uint64_t now)
{
	struct job *j = a->whead;
	if (a->busy || !j)
		return;
	uint64_t t = a->next_ok;
	if (j->d && dialog_wake_at(j->d) > t)
		t = dialog_wake_at(j->d);
	if (j->d && dialog_deadline(j->d) <= now) {
		/* Its deadline passed while it waited to reconnect: it ends. The
		 * jobs behind it hold a, so a outlives j. */
		bool more = j->qnext != NULL;
		waitq_remove(a, j);
		timer_set(e, j, 0);
		dialog_timeout(j->d, now);
		job_drive(e, j, now);
		if (more)
			addr_kick(e, a);
		return;
	}
	if (t > now) {
		timer_set(e, j, j->d && dialog_deadline(j->d) < t ? dialog_deadline(j->d) : t);
		return;
	}
	timer_set(e, j, 0);
	if (!j->d && e->alive >= e->concurrency) {
		addr_list_push(e, a, AL_SLOT);
		return;
	}
	rate_refill(e, now);
	if (!rate_ok(e)) {
		addr_list_push(e, a, j->d ? AL_TOKEN : AL_SLOT);
		return;
	}
	a->whead = j->qnext;
	if (!a->whead)
		a->wtail = NULL;
	j->qnext = NULL;
	j->in_waitq = false;
	if (!j->d) {
		if (job_start_dialog(e, j, now) < 0) {
			emit_error(e, j->t->text, j->host, j->via_mx ? j->t->name : NULL,
			           j->mx_pref, j->ip, j->port, "cannot start dialog: out of memory",
			           now, now);
			job_free(e, j, now);
			addr_kick(e, a);
			return;
		}
	}
	if (j->addr_waited)
		dialog_event(j->d, now,
		             "Waited for %s: one session at a time, %u ms between sessions", j->ip,
		             e->p.pause_ms);
	j->addr_waited = false;
	if (e->p.rate > 0)
		e->tokens -= 1.0;
	job_connect(e, j, now);
}

static void process_kicks(struct engine *e, uint64_t now)
{
	struct addr_state *a;
	for (;;) {
		rate_refill(e, now);
		if ((a = addr_list_pop(e, AL_KICK)))
			addr_try(e, a, now);
		else if (e->tok_h && rate_ok(e))
			addr_try(e, addr_list_pop(e, AL_TOKEN), now);
		else if (e->slot_h && rate_ok(e) && e->alive < e->concurrency)
			addr_try(e, addr_list_pop(e, AL_SLOT), now);
		else
			break;
	}
}

/* ---- TLS and I/O of one job ---- */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One handshake step: 0 in progress, 1 done, -1 failed (the dialog knows).
 * The CPU each step costs is counted against the dialog's budget: no new
 * handshake once it is spent (one handshake is bounded by the RP_TLS_* key
 * caps; the budget bounds a server that makes every session handshake). */
static int tls_step(struct engine *e, struct job *j, uint64_t now)
{
	char why[200], reason[150];
	if (!j->ssl) {
		if (j->tls_cpu_ns >= (uint64_t)e->p.tls_cpu_budget_ms * 1000000u) {
			snprintf(why, sizeof(why),
			         "TLS handshake refused: %llu ms of TLS CPU spent, the dialog's "
			         "budget is %u ms",
			         (unsigned long long)(j->tls_cpu_ns / 1000000u),
			         e->p.tls_cpu_budget_ms);
			goto failed;
		}
		if (!e->ssl_ctx && !(e->ssl_ctx = tls_ctx_new(reason, sizeof(reason)))) {
			snprintf(why, sizeof(why), "TLS handshake failed: %s", reason);
			goto failed;
		}
		const char *sni = j->host ? j->host : NULL;
		if (!(j->ssl = tls_session_new(e->ssl_ctx, j->fd, sni, &j->guard))) {
			snprintf(why, sizeof(why), "TLS handshake failed: cannot create session");
			goto failed;
		}
		j->state = JS_HANDSHAKE;
	}
	ERR_clear_error();
	errno = 0;
	uint64_t cpu0 = thread_cpu_ns();
	int r = SSL_do_handshake(j->ssl);
	int saved = errno;
	j->tls_cpu_ns += thread_cpu_ns() - cpu0;
	if (r == 1 && j->guard.refused[0]) {
		/* Refused by a callback whose refusal the library ignored. */
		snprintf(why, sizeof(why), "TLS handshake failed: %s", j->guard.refused);
		goto failed;
	}
	if (r == 1) {
		struct dialog_tls_info info;
		tls_fill_info(j->ssl, j->host, j->ip, &info);
		j->state = JS_OPEN;
		j->rd_ready = j->wr_ready = true;
		dialog_tls_done(j->d, now, &info, NULL);
		if (j->implicit_tls) {
			char peer[INET6_ADDRSTRLEN + 10];
			job_peer(j, peer, sizeof(peer));
			dialog_connected(j->d, now, peer);
		}
		return 1;
	}
	int se = SSL_get_error(j->ssl, r);
	if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
		return 0;
	tls_error_reason(j->ssl, r, saved, reason, sizeof(reason));
	snprintf(why, sizeof(why), "TLS handshake failed: %s", reason);
failed:
	j->tls_failed = true;
	j->state = JS_OPEN; /* the TCP connection is still there to close */
	dialog_tls_done(j->d, now, NULL, why);
	return -1;
}

/* The server asked for a renegotiation and tls.c refused it: say so. */
static void tls_note_reneg(struct job *j, uint64_t now)
{
	if (j->guard.reneg_refused == j->reneg_seen)
		return;
	j->reneg_seen = j->guard.reneg_refused;
	dialog_event(j->d, now,
	             "Server asked to renegotiate TLS: refused (no_renegotiation alert)");
}

/* An established TLS session failed; when our policy refused what the
 * server asked, the dialog treats it as a TLS failure. */
static void tls_lost(struct engine *e, struct job *j, uint64_t now, int r, int saved_errno)
{
	char reason[150];
	bool refused = j->guard.refused[0] != '\0';
	tls_error_reason(j->ssl, r, saved_errno, reason, sizeof(reason));
	j->tls_failed = true;
	if (refused)
		dialog_tls_refused(j->d, now, reason);
	conn_lost(e, j, now, reason);
}

/* Read one chunk into the dialog. Clears rd_ready when drained. */
static void job_read(struct engine *e, struct job *j, uint64_t now)
{
	ssize_t n;
	if (j->ssl) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_read(j->ssl, e->rbuf, sizeof(e->rbuf));
		int saved = errno;
		tls_note_reneg(j, now);
		if (r > 0) {
			dialog_feed(j->d, now, e->rbuf, (size_t)r);
			return;
		}
		int se = SSL_get_error(j->ssl, r);
		if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
			j->rd_ready = false;
			return;
		}
		if (se == SSL_ERROR_ZERO_RETURN) {
			conn_lost(e, j, now, "connection closed by server");
			return;
		}
		tls_lost(e, j, now, r, saved);
		return;
	}
	do
		n = read(j->fd, e->rbuf, sizeof(e->rbuf));
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		/* A short read drained the socket; a later arrival is a new edge.
		 * After a FIN or an error, read on to see it. */
		if ((size_t)n < sizeof(e->rbuf) && !j->eof_seen)
			j->rd_ready = false;
		dialog_feed(j->d, now, e->rbuf, (size_t)n);
		return;
	}
	if (n == 0) {
		conn_lost(e, j, now, "connection closed by server");
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		j->rd_ready = false;
		return;
	}
	conn_lost(e, j, now, strerror(errno));
}

/* Write pending output once. Clears wr_ready when the socket is full.
 * Returns -1 when the connection is gone. */
static int job_write(struct engine *e, struct job *j, uint64_t now)
{
	size_t len;
	const char *out = dialog_output(j->d, &len);
	if (len == 0)
		return 0;
	if (j->ssl) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_write(j->ssl, out, len > INT32_MAX ? INT32_MAX : (int)len);
		int saved = errno;
		tls_note_reneg(j, now);
		if (r > 0) {
			dialog_output_consume(j->d, (size_t)r);
			return 0;
		}
		int se = SSL_get_error(j->ssl, r);
		if (se == SSL_ERROR_WANT_WRITE || se == SSL_ERROR_WANT_READ) {
			j->wr_ready = false;
			return 0;
		}
		tls_lost(e, j, now, r, saved);
		return -1;
	}
	ssize_t n = send(j->fd, out, len, MSG_NOSIGNAL);
	if (n > 0) {
		dialog_output_consume(j->d, (size_t)n);
		if ((size_t)n < len)
			j->wr_ready = false;
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		j->wr_ready = false;
		return 0;
	}
	if (n < 0 && errno == EINTR)
		return 0;
	conn_lost(e, j, now, n < 0 ? strerror(errno) : "connection closed by server");
	return -1;
}

static void job_finish(struct engine *e, struct job *j, uint64_t now)
{
	if (j->fd >= 0)
		conn_close(e, j, now, true);
	job_report(e, j, now);
	job_free(e, j, now);
}

/* Do what the dialog asks until it has to wait for the network or time. */
static void job_drive(struct engine *e, struct job *j, uint64_t now)
{
	size_t len;
	for (;;) {
		switch (dialog_next(j->d)) {
		case DLG_ACT_CONNECT:
			if (j->fd >= 0)
				conn_close(e, j, now, false);
			timer_set(e, j, 0);
			job_wait_addr(e, j, now);
			return;
		case DLG_ACT_DONE:
			job_finish(e, j, now);
			return;
		case DLG_ACT_CLOSE:
			if (j->fd >= 0) {
				dialog_output(j->d, &len);
				if (len > 0 && j->state == JS_OPEN && !j->tls_failed &&
				    j->wr_ready && job_write(e, j, now) < 0)
					continue; /* lost: the dialog was told */
				conn_close(e, j, now, true);
			}
			dialog_disconnected(j->d, now, NULL);
			continue;
		case DLG_ACT_STARTTLS:
			if (j->fd < 0 || j->state == JS_CONNECTING) {
				dialog_tls_done(j->d, now, NULL,
				                "TLS handshake failed: no connection");
				continue;
			}
			if (tls_step(e, j, now) != 0)
				continue;
			timer_set(e, j, dialog_deadline(j->d));
			return;
		case DLG_ACT_IO:
			if (j->fd < 0) {
				/* The dialog thinks a connection is up: there is none. */
				dialog_disconnected(j->d, now, "no connection");
				continue;
			}
			if (j->state == JS_CONNECTING) {
				timer_set(e, j, dialog_deadline(j->d));
				return;
			}
			if (j->state == JS_HANDSHAKE) { /* implicit TLS */
				if (tls_step(e, j, now) != 0)
					continue;
				timer_set(e, j, dialog_deadline(j->d));
				return;
			}
			if (j->rd_ready) {
				job_read(e, j, now);
				continue;
			}
			dialog_output(j->d, &len);
			if (j->wr_ready && len > 0) {
				job_write(e, j, now);
				continue;
			}
			timer_set(e, j, dialog_deadline(j->d));
			return;
		default:
			dialog_disconnected(j->d, now, "engine: unknown action");
			if (j->fd >= 0)
				conn_close(e, j, now, false);
			job_finish(e, j, now);
			return;
		}
	}
}

static void job_connected(struct engine *e, struct job *j, uint64_t now)
{
	j->wr_ready = true;
	if (e->p.dialog.tls == DLG_TLS_IMPLICIT) {
		j->implicit_tls = true;
		j->state = JS_HANDSHAKE; /* job_drive's tls_step creates the session */
		return;
	}
	char peer[INET6_ADDRSTRLEN + 10];
	job_peer(j, peer, sizeof(peer));
	j->state = JS_OPEN;
	dialog_connected(j->d, now, peer);
}

static void job_event(struct engine *e, struct job *j, uint32_t ev, uint64_t now)
{
	if (j->fd < 0)
		return; /* stale */
	switch (j->state) {
	case JS_CONNECTING:
		if (ev & (EPOLLERR | EPOLLHUP)) {
			int err = 0;
			socklen_t l = sizeof(err);
			getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			conn_close(e, j, now, false);
			dialog_connect_failed(j->d, now, err ? strerror(err) : "connection failed");
			break;
		}
		if (!(ev & EPOLLOUT))
			break;
		job_connected(e, j, now);
		if (j->state != JS_OPEN || j->ssl)
			break;
		/* The greeting may have come with the same edge. */
		if (ev & (EPOLLRDHUP | EPOLLHUP))
			j->eof_seen = true;
		if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
			j->rd_ready = true;
		break;
	case JS_HANDSHAKE:
		break;
	case JS_OPEN:
		if (j->ssl) {
			j->rd_ready = j->wr_ready = true;
			break;
		}
		if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			j->eof_seen = true;
		if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			j->rd_ready = true;
		if (ev & EPOLLOUT)
			j->wr_ready = true;
		break;
	default:
		return;
	}
	job_drive(e, j, now);
}

static void job_timer(struct engine *e, struct job *j, uint64_t now)
{
	if (j->state == JS_WAIT || !j->d) {
		if (j->d && j->in_waitq && j->as->whead != j && dialog_deadline(j->d) <= now) {
			/* Behind another job on its address, past its deadline. */
			waitq_remove(j->as, j);
			dialog_timeout(j->d, now);
			job_drive(e, j, now);
			return;
		}
		addr_kick(e, j->as); /* pause, wake time or deadline over */
		return;
	}
	dialog_timeout(j->d, now);
	job_drive(e, j, now);
}

/* ---- DNS answers to jobs ---- */

struct resolving {
	struct engine *e;
	struct tctx *t;
	uint16_t port;
	uint64_t started_ms;
};

static bool addr_same(const sa_any_t *a, const sa_any_t *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

/* True when address i of host h already appeared earlier in this answer. */
static bool answer_seen(const struct dns_answer *a, size_t h, size_t i)
{
	for (size_t h2 = 0; h2 <= h; h2++) {
		size_t lim = h2 == h ? i : a->hosts[h2].naddr;
		for (size_t i2 = 0; i2 < lim; i2++)
			if (addr_same(&a->hosts[h2].addrs[i2], &a->hosts[h].addrs[i]))
				return true;
	}
	return false;
}

static void resolved(void *arg, const struct dns_answer *a)
{
	struct resolving *rv = arg;
	struct engine *e = rv->e;
	struct tctx *t = rv->t;
	const char *mxd = a->via_mx ? t->name : NULL;
	uint64_t now = engine_now_ms();

	e->dns_jobs--;
	if (a->stopped || e->stopping)
		emit_error(e, t->text, t->name, NULL, -1, NULL, rv->port, e->notrun, rv->started_ms,
		           now);
	else if (a->null_mx)
		emit_error(e, t->text, NULL, t->name, -1, NULL, rv->port, a->reason, rv->started_ms,
		           now);
	else if (a->reason)
		emit_error(e, t->text, t->name, NULL, -1, NULL, rv->port, a->reason, rv->started_ms,
		           now);
	for (size_t h = 0; h < a->nhosts && !a->reason && !e->stopping && !e->destroying; h++) {
		const struct dns_host_result *dh = &a->hosts[h];
		if (dh->naddr == 0)
			emit_error(e, t->text, dh->name, mxd, dh->pref, NULL, rv->port, dh->reason,
			           rv->started_ms, now);
		for (size_t i = 0; i < dh->naddr; i++) {
			if (answer_seen(a, h, i))
				continue; /* two MX hosts, one address: probe it once */
			if (!scope_allows(e, &dh->addrs[i], rv->port, t->text, dh->name, mxd,
			                  dh->pref, rv->started_ms, now))
				continue;
			struct job *j =
			    job_new(e, t, dh->name, dh->pref, a->via_mx, &dh->addrs[i], rv->port);
			if (j)
				job_wait_addr(e, j, now);
			else
				emit_error(e, t->text, dh->name, mxd, dh->pref, NULL, rv->port,
				           "out of memory", rv->started_ms, now);
		}
	}
	tctx_unref(&rv->t);
	free(rv);
}

static void resolve_start(struct engine *e, struct tctx *t, const struct qtarget *q, uint64_t now)
{
	struct resolving *rv = NULL;

	if (!scope_allows(e, NULL, q->port, t->text, t->name, NULL, -1, now, now))
		return; /* the name itself is out of scope: not even resolved */
	rv = calloc(1, sizeof(*rv));
	if (rv) {
		*rv = (struct resolving){e, t, q->port, now};
		t->refs++;
		e->dns_jobs++;
		if (dns_resolve(e->dns, t->name, e->p.use_mx && !q->port_given, resolved, rv) == 0)
			return;
		e->dns_jobs--;
		tctx_unref(&rv->t);
		free(rv);
	}
	emit_error(e, t->text, t->name, NULL, -1, NULL, q->port, "out of memory", now, now);
}

/* ---- targets ---- */

static void target_start(struct engine *e, struct qtarget *q, uint64_t now)
{
	struct tctx *t = calloc(1, sizeof(*t));
	if (!t) {
		emit_error(e, q->text, q->host, NULL, -1, NULL, q->port, "out of memory", now, now);
		free(q->text);
		free(q->host);
		q->text = q->host = NULL;
		return;
	}
	t->refs = 1;
	t->text = q->text;
	q->text = NULL;
	if (q->family == 0) {
		t->name = q->host;
		q->host = NULL;
		resolve_start(e, t, q, now);
	} else {
		sa_any_t sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa.sa_family = (sa_family_t)q->family;
		int ok = q->family == AF_INET ? inet_pton(AF_INET, q->host, &sa.in.sin_addr)
		                              : inet_pton(AF_INET6, q->host, &sa.in6.sin6_addr);
		if (ok == 1 && !scope_allows(e, &sa, q->port, t->text, NULL, NULL, -1, now, now)) {
			free(q->host);
			q->host = NULL;
			tctx_unref(&t);
			return;
		}
		struct job *j = ok == 1 ? job_new(e, t, NULL, -1, false, &sa, q->port) : NULL;
		if (j)
			job_wait_addr(e, j, now);
		else
			emit_error(e, t->text, NULL, NULL, -1, NULL, q->port,
			           ok == 1 ? "out of memory" : "not an IP address", now, now);
		free(q->host);
		q->host = NULL;
	}
	tctx_unref(&t);
}

static void feed_targets(struct engine *e, uint64_t now)
{
	while (e->qhead < e->qlen && e->pending_probes + e->dns_jobs < e->lookahead) {
		struct qtarget *q = &e->queue[e->qhead];
		if (q->family == 0 && e->dns_jobs >= RP_DNS_JOBS_MAX)
			break;
		e->qhead++;
		target_start(e, q, now);
	}
	if (e->qhead == e->qlen) {
		e->qhead = e->qlen = 0; /* all started: reuse the array */
	}
}

static bool feedable(const struct engine *e)
{
	if (e->qhead >= e->qlen || e->pending_probes + e->dns_jobs >= e->lookahead)
		return false;
	return e->queue[e->qhead].family != 0 || e->dns_jobs < RP_DNS_JOBS_MAX;
}

int engine_add(struct engine *e, const struct target_spec *t)
{
	if (e->qlen - e->qhead >= RP_TARGETS_MAX)
		return -1;
	if (e->qlen == e->qcap) {
		size_t cap = e->qcap ? e->qcap * 2 : 64;
		struct qtarget *q = realloc(e->queue, cap * sizeof(*q));
		if (!q)
			return -1;
		e->queue = q;
		e->qcap = cap;
	}
	struct qtarget *q = &e->queue[e->qlen];
	q->text = strdup(t->text[0] ? t->text : t->host);
	q->host = strdup(t->host);
	if (!q->text || !q->host) {
		free(q->text);
		free(q->host);
		return -1;
	}
	q->port = t->port;
	q->port_given = t->port_given;
	q->family = t->family;
	e->qlen++;
	return 0;
}

/* ---- the loop ---- */

/* Stop everything: by a signal (dialogs end with what they have), or at the
 * run's deadline (dialogs end as error, with the reason). */
static void do_stop(struct engine *e, uint64_t now, bool deadline)
{
	e->stopping = true;
	e->notrun = deadline ? e->notrun_why : "not run: stopped";
	dns_cancel(e->dns); /* each reports e->notrun */
	for (size_t i = 0; i < e->nbuckets; i++)
		for (struct addr_state *a = e->buckets[i]; a; a = a->hnext)
			a->whead = a->wtail = NULL;
	while (e->jobs) {
		struct job *j = e->jobs;
		j->in_waitq = false;
		if (j->d) {
			bool up = j->fd >= 0 && j->state != JS_CONNECTING;
			if (j->fd >= 0)
				conn_close(e, j, now, false);
			if (deadline)
				dialog_abort(j->d, now, e->abort_why);
			else if (up)
				dialog_disconnected(j->d, now, "stopped by signal");
			job_report(e, j, now);
		} else {
			emit_error(e, j->t->text, j->host, j->via_mx ? j->t->name : NULL,
			           j->mx_pref, j->ip, j->port, e->notrun, now, now);
		}
		job_free(e, j, now);
	}
	for (; e->qhead < e->qlen; e->qhead++) {
		struct qtarget *q = &e->queue[e->qhead];
		emit_error(e, q->text, q->family ? NULL : q->host, NULL, -1, NULL, q->port,
		           e->notrun, now, now);
		free(q->text);
		free(q->host);
	}
	e->qhead = e->qlen = 0;
	while (addr_list_pop(e, AL_KICK) || addr_list_pop(e, AL_SLOT) || addr_list_pop(e, AL_TOKEN))
		;
}

static int wait_ms(struct engine *e, uint64_t now)
{
	uint64_t until = now + WAIT_MAX_MS;
	if (e->kick_h || feedable(e))
		return 0;
	if (e->hlen && e->heap[0]->timer_at < until)
		until = e->heap[0]->timer_at;
	if ((e->tok_h || (e->slot_h && e->alive < e->concurrency)) && e->p.rate > 0) {
		uint64_t t = rate_next(e, now);
		if (t < until)
			until = t;
	}
	if (e->p.progress && now + PROGRESS_MS < until)
		until = now + PROGRESS_MS;
	if (e->deadline_at && e->deadline_at < until)
		until = e->deadline_at;
	int dw = dns_wait_ms(e->dns);
	if (dw >= 0 && now + (uint64_t)dw < until)
		until = now + (uint64_t)dw;
	return until <= now ? 0 : (int)(until - now);
}

int engine_run(struct engine *e, engine_result_cb cb, void *arg)
{
	struct epoll_event evs[EV_BATCH];
	uint64_t now = engine_now_ms(), next_progress = now + PROGRESS_MS;
	e->cb = cb;
	e->cbarg = arg;
	e->tok_ms = now;
	e->deadline_at = e->p.deadline_ms ? now + e->p.deadline_ms : 0;

	for (;;) {
		now = engine_now_ms();
		if (e->stop || (e->deadline_at && now >= e->deadline_at)) {
			do_stop(e, now, !e->stop);
			break;
		}
		feed_targets(e, now);
		process_kicks(e, now);
		addr_gc(e, now);
		if (e->qhead >= e->qlen && !e->jobs && !e->dns_jobs)
			break;
		if (e->p.progress && now >= next_progress) {
			e->p.progress(e->qlen - e->qhead + e->pending_probes + e->dns_jobs,
			              e->alive, e->done, e->p.progress_arg);
			next_progress = now + PROGRESS_MS;
		}
		int n = epoll_wait(e->epfd, evs, EV_BATCH, wait_ms(e, now));
		if (n < 0 && errno != EINTR)
			return -1;
		now = engine_now_ms();
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (DNS_EPOLL_IS_TAG(tag))
				dns_process(e->dns, DNS_EPOLL_FD(tag), evs[i].events);
			else
				job_event(e, evs[i].data.ptr, evs[i].events, now);
		}
		if (e->dns_jobs)
			dns_process(e->dns, -1, 0); /* timeouts */
		while (e->hlen && e->heap[0]->timer_at <= now) {
			struct job *j = e->heap[0];
			heap_remove(e, j);
			job_timer(e, j, now);
		}
	}
	if (e->p.progress)
		e->p.progress(0, 0, e->done, e->p.progress_arg);
	return 0;
}

void engine_stop(struct engine *e)
{
	if (e)
		e->stop = 1;
}

size_t engine_peak_dialogs(const struct engine *e)
{
	return e ? e->peak : 0;
}

/* ---- life cycle ---- */

static int parse_bind(struct engine *e, const char *s, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		snprintf(buf, sizeof(buf), "%s", s);
	}
	memset(&e->bind_sa, 0, sizeof(e->bind_sa));
	if (inet_pton(AF_INET, buf, &e->bind_sa.in.sin_addr) == 1) {
		e->bind_sa.in.sin_family = AF_INET;
		e->bind_len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, buf, &e->bind_sa.in6.sin6_addr) == 1) {
		e->bind_sa.in6.sin6_family = AF_INET6;
		e->bind_len = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, errlen, "bad source address \"%s\": not an IPv4 or IPv6 address", s);
		return -1;
	}
	return 0;
}

static unsigned fd_budget(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > RP_DIALOGS_MAX + FD_RESERVE)
		return RP_DIALOGS_MAX;
	return rl.rlim_cur > FD_RESERVE + 1 ? (unsigned)(rl.rlim_cur - FD_RESERVE) : 1;
}

struct engine *engine_new(const struct engine_params *p, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	bool oom = false;
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->epfd = -1;
	e->idle_tail = &e->idle_h;
	e->p = *p;
	e->notrun = "not run: stopped";
	{
		char span[32];
		if (p->deadline_ms % 1000 == 0)
			snprintf(span, sizeof(span), "%u s", p->deadline_ms / 1000);
		else
			snprintf(span, sizeof(span), "%u ms", p->deadline_ms);
		snprintf(e->abort_why, sizeof(e->abort_why), "order deadline of %s passed", span);
		snprintf(e->notrun_why, sizeof(e->notrun_why), "not run: %s", e->abort_why);
	}
	e->ehlo = dup_or_null(p->dialog.ehlo_name, &oom);
	e->from = dup_or_null(p->dialog.from_local, &oom);
	e->to = dup_or_null(p->dialog.to_local, &oom);
	e->dom = dup_or_null(p->dialog.to_domain, &oom);
	e->local = dup_or_null(p->dialog.local_domain, &oom);
	e->bind = dup_or_null(p->bind_addr, &oom);
	e->resolv = dup_or_null(p->resolv_conf, &oom);
	e->contact = dup_or_null(p->dialog.contact, &oom);
	if (p->dialog.ntests) {
		e->tests = calloc(p->dialog.ntests, sizeof(*e->tests));
		if (e->tests)
			memcpy(e->tests, p->dialog.tests, p->dialog.ntests * sizeof(*e->tests));
		else
			oom = true;
	}
	if (oom) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	e->p.dialog.ehlo_name = e->ehlo;
	e->p.dialog.from_local = e->from;
	e->p.dialog.to_local = e->to;
	e->p.dialog.to_domain = e->dom;
	e->p.dialog.local_domain = e->local;
	e->p.dialog.server_ip = NULL;
	e->p.dialog.tests = e->tests;
	e->p.dialog.contact = e->contact;
	e->p.dialog.to_locals = e->p.dialog.from_locals = NULL;
	e->p.bind_addr = e->bind;
	e->p.resolv_conf = e->resolv;
	if (e->p.rate < 0)
		e->p.rate = 0;
	if (e->p.tls_cpu_budget_ms == 0 || e->p.tls_cpu_budget_ms > RP_TLS_CPU_BUDGET_MS)
		e->p.tls_cpu_budget_ms = RP_TLS_CPU_BUDGET_MS;
	e->burst = e->p.rate / 20.0 > 1.0 ? e->p.rate / 20.0 : 1.0;
	e->tokens = e->burst;

	/* Bad dialog parameters fail here once, not once per target. */
	struct dialog_params trial = e->p.dialog;
	trial.server_ip = "192.0.2.1";
	struct dialog *d = dialog_new(&trial, engine_now_ms());
	if (!d) {
		snprintf(err, errlen, "bad dialog parameters (or out of memory)");
		goto fail;
	}
	dialog_free(&d);

	if (e->bind && parse_bind(e, e->bind, err, errlen) < 0)
		goto fail;

	unsigned budget = fd_budget();
	e->concurrency = p->concurrency ? p->concurrency : 1000;
	if (e->concurrency > budget)
		e->concurrency = budget;
	e->lookahead = e->concurrency < 16 ? 16 : e->concurrency;

	/* Peers that reset while OpenSSL writes must not kill the process. */
	struct sigaction sa;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}

	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	if (!(e->dns = dns_new(e->epfd, e->p.dns_timeout_ms, e->resolv, err, errlen)))
		goto fail;
	if (e->p.dialog.tls != DLG_TLS_OFF && !(e->ssl_ctx = tls_ctx_new(err, errlen)))
		goto fail;
	return e;
fail:
	engine_free(&e);
	return NULL;
}

void engine_free(struct engine **ep)
{
	struct engine *e = rp_take(ep);
	if (!e)
		return;
	e->destroying = true;
	uint64_t now = engine_now_ms();
	dns_free(&e->dns); /* pending lookups report to nobody (destroying) */
	while (e->jobs) {
		struct job *j = e->jobs;
		if (j->fd >= 0)
			conn_close(e, j, now, false);
		job_free(e, j, now);
	}
	for (size_t i = e->qhead; i < e->qlen; i++) {
		free(e->queue[i].text);
		free(e->queue[i].host);
	}
	free(e->queue);
	for (size_t i = 0; i < e->nbuckets; i++) {
		struct addr_state *a = e->buckets[i], *next;
		for (; a; a = next) {
			next = a->hnext;
			free(a);
		}
	}
	free(e->buckets);
	free(e->heap);
	if (e->ssl_ctx)
		SSL_CTX_free(e->ssl_ctx);
	if (e->epfd >= 0)
		close(e->epfd);
	free(e->ehlo);
	free(e->from);
	free(e->to);
	free(e->dom);
	free(e->local);
	free(e->bind);
	free(e->resolv);
	free(e->contact);
	free(e->tests);
	free(e);
}
