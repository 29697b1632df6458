/* metrics.c - the controller's Prometheus endpoint (metrics.h). Owns the
 * listening socket, an epoll set and at most RP_METRICS_CLIENTS_MAX clients;
 * never blocks the controller loop: reads what is there, answers once the
 * headers end (RP_METRICS_REQUEST_MAX bytes at most), writes without
 * blocking, and drops a client after RP_METRICS_TIMEOUT_MS. */
#include "metrics.h"

#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "log.h"
#include "rp_limits.h"
#include "rp_take.h"
#include "target.h"

struct mclient {
	int fd; /* -1: free slot */
	int64_t deadline_ms;
	char in[RP_METRICS_REQUEST_MAX];
	size_t in_len;
	char *out; /* the response, once known */
	size_t out_len, out_off;
	bool draining; /* response sent: reading until EOF so close sends no RST */
	size_t drained;
};

struct metrics {
	int lfd, ep;
	struct mclient cl[RP_METRICS_CLIENTS_MAX];
	const char *token;   /* borrowed from the config; NULL = no authentication */
	int64_t snapshot_ms; /* how long a rendered body is served */
	char *body;          /* the last snapshot, NULL before the first GET */
	size_t body_len;
	int64_t body_at_ms;
	long snapshots;
	metrics_fill_fn fill; /* the numbers of now (the controller's, ctl_snapshot.c) */
	void *fill_arg;
};

/* ---- pure parts ---- */

size_t metrics_escape_label(const char *in, char *out, size_t outlen)
{
	size_t need = 0, o = 0;

	for (const char *p = in; *p != '\0'; p++) {
		char e[3] = {*p, 0, 0};

		if (*p == '\\' || *p == '"') {
			e[0] = '\\';
			e[1] = *p;
		} else if (*p == '\n') {
			e[0] = '\\';
			e[1] = 'n';
		}
		for (size_t k = 0; k < 2 && e[k] != 0; k++, need++)
			if (outlen > 0 && o + 1 < outlen)
				out[o++] = e[k];
	}
	if (outlen > 0)
		out[o] = '\0';
	return need;
}

static size_t find_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return i + 2;
		if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	}
	return 0;
}

enum metrics_req metrics_parse_request(const char *buf, size_t len, bool *head)
{
	const char *sp1, *sp2, *eol;
	size_t mlen, plen, vlen;

	*head = false;
	if (find_end(buf, len) == 0)
		return len >= RP_METRICS_REQUEST_MAX ? METRICS_REQ_TOO_LARGE
		                                     : METRICS_REQ_INCOMPLETE;
	eol = memchr(buf, '\n', len);
	if (eol == NULL)
		return METRICS_REQ_BAD;
	if (eol > buf && eol[-1] == '\r')
		eol--;
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (sp1 == NULL)
		return METRICS_REQ_BAD;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL)
		return METRICS_REQ_BAD;
	mlen = (size_t)(sp1 - buf);
	plen = (size_t)(sp2 - sp1 - 1);
	vlen = (size_t)(eol - sp2 - 1);
	if (mlen == 0 || plen == 0 || vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return METRICS_REQ_BAD;
	for (size_t i = 0; i < mlen; i++)
		if (buf[i] < 'A' || buf[i] > 'Z')
			return METRICS_REQ_BAD;
	if (mlen == 4 && memcmp(buf, "HEAD", 4) == 0)
		*head = true;
	else if (mlen != 3 || memcmp(buf, "GET", 3) != 0)
		return METRICS_REQ_BAD_METHOD;
	if ((plen == 8 && memcmp(sp1 + 1, "/metrics", 8) == 0) ||
	    (plen > 8 && memcmp(sp1 + 1, "/metrics?", 9) == 0))
		return METRICS_REQ_OK;
	return METRICS_REQ_NOT_FOUND;
}

bool metrics_authorized(const char *buf, size_t len, const char *token)
{
	unsigned char want[crypto_generichash_BYTES], got[crypto_generichash_BYTES];
	const char *p = buf, *end = buf + len;
	bool ok = false;

	if (token == NULL)
		return true;
	crypto_generichash(want, sizeof(want), (const unsigned char *)token, strlen(token), NULL,
	                   0);
	/* Skip the request line; then one header per line. */
	while (p < end && *p != '\n')
		p++;
	while (p < end && !ok) {
		const char *eol, *v;
		size_t vl;

		p++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > 14 && strncasecmp(p, "authorization:", 14) == 0) {
			v = p + 14;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if ((size_t)(eol - v) > 7 && strncasecmp(v, "bearer ", 7) == 0) {
				v += 7;
				vl = (size_t)(eol - v);
				while (vl > 0 &&
				       (v[vl - 1] == '\r' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
					vl--;
				/* Hashes of equal length, compared in constant time. */
				crypto_generichash(got, sizeof(got), (const unsigned char *)v, vl,
				                   NULL, 0);
				ok = sodium_memcmp(want, got, sizeof(want)) == 0;
			}
			break; /* one Authorization header is looked at */
		}
		p = eol;
	}
	return ok;
}

/* A growable text buffer bounded by RP_METRICS_BODY_MAX. */
struct tbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if (b->p != NULL && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t want = b->cap ? b->cap * 2 : 4096;
		char *q;

		while (want < b->len + (size_t)n + 1)
			want *= 2;
		if (want > RP_METRICS_BODY_MAX || (q = realloc(b->p, want)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = want;
	}
}

static void header(struct tbuf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int metrics_render(const struct metrics_snapshot *s, char **out, size_t *len)
{
	static const enum dialog_verdict errs[] = {DV_ERROR, DV_UNREACHABLE, DV_BLOCKED};
	struct tbuf b = {0};
	char esc[2 * RP_STORE_TEXT_MAX + 1];

	*out = NULL;
	*len = 0;
	header(&b, "relayprobe_agents", "gauge", "Agents known to the controller, by status.");
	for (int i = 0; i < STORE_AGENT_STATUS_COUNT; i++)
		put(&b, "relayprobe_agents{status=\"%s\"} %ld\n",
		    store_agent_status_name((enum store_agent_status)i), s->agents[i]);
	header(&b, "relayprobe_agents_connected", "gauge",
	       "Approved agents heard from within the heartbeat TTL.");
	put(&b, "relayprobe_agents_connected %ld\n", s->agents_connected);
	header(&b, "relayprobe_orders", "gauge", "Stored orders, by state.");
	for (int i = 0; i < STORE_ORDER_STATE_COUNT; i++)
		put(&b, "relayprobe_orders{state=\"%s\"} %ld\n",
		    store_order_state_name((enum store_order_state)i), s->orders[i]);
	header(&b, "relayprobe_results_ingested_total", "counter",
	       "Results stored over the store's life (pruning does not lower it).");
	put(&b, "relayprobe_results_ingested_total %ld\n", s->results_ingested);
	header(&b, "relayprobe_results_stored", "gauge", "Results in the store (all audits).");
	put(&b, "relayprobe_results_stored %ld\n", s->results_stored);
	header(&b, "relayprobe_last_audit_timestamp_seconds", "gauge",
	       "Start time of the newest finished audit (Unix seconds).");
	if (s->have_audit)
		put(&b, "relayprobe_last_audit_timestamp_seconds %lld\n",
		    (long long)s->audit_timestamp);
	header(&b, "relayprobe_last_audit_duration_seconds", "gauge",
	       "Newest finished audit: from its start to its last result.");
	if (s->have_audit)
		put(&b, "relayprobe_last_audit_duration_seconds %lld\n",
		    (long long)s->audit_duration);
	header(&b, "relayprobe_targets", "gauge",
	       "Targets of the newest finished audit by aggregated verdict and client.");
	for (size_t c = 0; c < s->nclients; c++) {
		metrics_escape_label(s->clients[c].client, esc, sizeof(esc));
		for (int v = 0; v < METRICS_VERDICT_SLOTS; v++)
			put(&b, "relayprobe_targets{verdict=\"%s\",client=\"%s\"} %ld\n",
			    v == DV_COUNT ? "inconclusive"
			                  : dialog_verdict_name((enum dialog_verdict)v),
			    esc, s->clients[c].count[v]);
	}
	header(&b, "relayprobe_probe_errors_total", "counter",
	       "Stored results whose verdict is an error class (error, unreachable, blocked).");
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		put(&b, "relayprobe_probe_errors_total{class=\"%s\"} %ld\n",
		    dialog_verdict_name(errs[i]), s->verdict_results[errs[i]]);
	header(&b, "relayprobe_metrics_snapshots_total", "counter",
	       "Times this endpoint recomputed its numbers from the store.");
	put(&b, "relayprobe_metrics_snapshots_total %ld\n", s->snapshots);
	if (s->canary) {
		const struct {
			const char *name, *type, *help;
			uint64_t v;
		} cm[] = {
		    {"relayprobe_canary_sessions_total", "counter",
		     "SMTP sessions the canary accepted.", s->canary_stats.sessions},
		    {"relayprobe_canary_sessions_refused_total", "counter",
		     "Canary sessions refused over a cap (421).", s->canary_stats.sessions_refused},
		    {"relayprobe_canary_sessions_open", "gauge", "Canary sessions open now.",
		     s->canary_stats.sessions_open},
		    {"relayprobe_canary_arrivals_total", "counter",
		     "Test messages that reached the canary (proof of relaying).",
		     s->canary_stats.arrivals},
		    {"relayprobe_canary_bounces_total", "counter",
		     "Bounces to a sender token (backscatter).", s->canary_stats.bounces},
		    {"relayprobe_canary_unknown_tokens_total", "counter",
		     "Recipients with a forged, altered or unknown token (dropped).",
		     s->canary_stats.unknown_tokens},
		    {"relayprobe_canary_refused_rcpt_total", "counter",
		     "Recipients the canary refused (not a canary domain, bad token).",
		     s->canary_stats.refused_rcpt},
		    {"relayprobe_canary_oversize_total", "counter",
		     "Messages over the canary's size cap (552).", s->canary_stats.oversize},
		    {"relayprobe_canary_too_late_total", "counter",
		     "Arrivals past [canary] late: kept, proving nothing.",
		     s->canary_stats.too_late},
		    {"relayprobe_canary_not_delivered_total", "counter",
		     "Results accepted through DATA that nothing arrived for within [canary] wait.",
		     s->canary_stats.expired},
		};

		for (size_t i = 0; i < sizeof(cm) / sizeof(cm[0]); i++) {
			header(&b, cm[i].name, cm[i].type, cm[i].help);
			put(&b, "%s %llu\n", cm[i].name, (unsigned long long)cm[i].v);
		}
	}
	if (b.failed) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* Renders the numbers of now into *body. 0 / -1 (logged). */
static int render_now(struct metrics *m, char **body, size_t *len)
{
	struct metrics_snapshot s = {0};
	int rc = -1;

	if (m->fill(m->fill_arg, &s) == 0) {
		s.snapshots = m->snapshots + 1;
		rc = metrics_render(&s, body, len);
	}
	if (rc == 0)
		m->snapshots++;
	else
		log_error("metrics: cannot render the numbers of now");
	metrics_snapshot_clear(&s);
	return rc;
}

void metrics_snapshot_clear(struct metrics_snapshot *s)
{
	for (size_t i = 0; i < s->nclients; i++)
		free(s->clients[i].client);
	free(s->clients);
	s->clients = NULL;
	s->nclients = 0;
}

/* ---- the socket side ---- */

static void client_close(struct metrics *m, struct mclient *k)
{
	if (k->fd >= 0) {
		epoll_ctl(m->ep, EPOLL_CTL_DEL, k->fd, NULL);
		close(k->fd);
	}
	free(k->out);
	k->out = NULL;
	k->fd = -1;
	k->in_len = k->out_len = k->out_off = k->drained = 0;
	k->draining = false;
}

int metrics_open(const struct metrics_opts *o, struct metrics **mp)
{
	const char *addr = o->listen;
	struct metrics *m = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[128];
	unsigned port;
	int one = 1;
	struct epoll_event ev = {.events = EPOLLIN};

	*mp = NULL;
	if (addr == NULL || addr[0] == '\0')
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (target_parse_numeric_hostport(addr, host, sizeof(host), &port) < 0)
		goto bad;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		goto bad;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -1;
	m->lfd = m->ep = -1;
	m->token = o->token;
	m->snapshot_ms = (int64_t)o->snapshot_s * 1000;
	m->fill = o->fill;
	m->fill_arg = o->arg;
	for (int i = 0; i < RP_METRICS_CLIENTS_MAX; i++)
		m->cl[i].fd = -1;
	m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m->lfd, (struct sockaddr *)&ss, sl) < 0 ||
	    listen(m->lfd, RP_METRICS_CLIENTS_MAX) < 0 ||
	    (m->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto sys;
	ev.data.ptr = NULL; /* the listener */
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->lfd, &ev) < 0)
		goto sys;
	log_info("metrics listening on %s (GET /metrics) token=%s snapshot_seconds=%u", addr,
	         m->token != NULL ? "required" : "none", o->snapshot_s);
	*mp = m;
	return 0;
bad:
	log_error("metrics %s: expected HOST:PORT or [IPV6]:PORT with a numeric address", addr);
	return -1;
sys:
	log_error("metrics %s: %s", addr, strerror(errno));
	metrics_free(&m);
	return -1;
}

int metrics_fd(const struct metrics *m)
{
	return m == NULL ? -1 : m->ep;
}

void metrics_free(struct metrics **mp)
{
	struct metrics *m = rp_take(mp);

	if (m == NULL)
		return;
	for (int i = 0; i < RP_METRICS_CLIENTS_MAX; i++)
		client_close(m, &m->cl[i]);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->ep >= 0)
		close(m->ep);
	free(m->body);
	free(m);
}

static void accept_all(struct metrics *m)
{
	for (;;) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct mclient *k = NULL, *oldest = NULL;
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN, or a transient error: the next turn retries */
		for (int i = 0; i < RP_METRICS_CLIENTS_MAX && k == NULL; i++) {
			if (m->cl[i].fd < 0)
				k = &m->cl[i];
			else if (oldest == NULL || m->cl[i].deadline_ms < oldest->deadline_ms)
				oldest = &m->cl[i];
		}
		if (k == NULL) { /* full: the oldest (likely a stalled client) goes */
			log_warn("metrics: %d clients open, dropping the oldest",
			         RP_METRICS_CLIENTS_MAX);
			client_close(m, oldest);
			k = oldest;
		}
		k->fd = fd;
		k->deadline_ms = (int64_t)rp_mono_ms() + RP_METRICS_TIMEOUT_MS;
		ev.data.ptr = k;
		if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			client_close(m, k);
	}
}

static void respond(struct metrics *m, struct mclient *k, enum metrics_req r, bool head)
{
	static const char *const status[METRICS_REQ_COUNT] = {"",
	                                                      "200 OK",
	                                                      "404 Not Found",
	                                                      "405 Method Not Allowed",
	                                                      "431 Request Header Fields Too Large",
	                                                      "400 Bad Request",
	                                                      "401 Unauthorized"};
	char *body = NULL, hdr[256];
	size_t blen = 0;
	int hl;
	const char *ctype = "text/plain; charset=utf-8";
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = k};

	if (r == METRICS_REQ_OK) {
		int64_t now = (int64_t)rp_mono_ms();

		if (m->body == NULL || now - m->body_at_ms >= m->snapshot_ms) {
			char *fresh = NULL;
			size_t flen = 0;

			if (render_now(m, &fresh, &flen) == 0) {
				free(m->body);
				m->body = fresh;
				m->body_len = flen;
				m->body_at_ms = now;
			}
		}
		body = m->body != NULL ? malloc(m->body_len + 1) : NULL;
		if (body == NULL) {
			blen = 0;
			r = METRICS_REQ_COUNT; /* 500 */
		} else {
			memcpy(body, m->body, m->body_len);
			blen = m->body_len;
			ctype = "text/plain; version=0.0.4; charset=utf-8";
		}
	}
	if (body == NULL) {
		const char *msg = r == METRICS_REQ_COUNT ? "500 Internal Server Error" : status[r];

		blen = strlen(msg) + 1;
		body = malloc(blen + 1);
		if (body == NULL) {
			client_close(m, k);
			return;
		}
		snprintf(body, blen + 1, "%s\n", msg);
	}
	hl = snprintf(hdr, sizeof(hdr),
	              "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	              "Connection: close\r\n%s\r\n",
	              r == METRICS_REQ_COUNT ? "500 Internal Server Error" : status[r], ctype, blen,
	              r == METRICS_REQ_BAD_METHOD ? "Allow: GET, HEAD\r\n"
	              : r == METRICS_REQ_UNAUTHORIZED
	                  ? "WWW-Authenticate: Bearer realm=\"metrics\"\r\n"
	                  : "");
	if (head)
		blen = 0;
	k->out = malloc((size_t)hl + blen);
	if (hl < 0 || (size_t)hl >= sizeof(hdr) || k->out == NULL) {
		free(body);
		client_close(m, k);
		return;
	}
	memcpy(k->out, hdr, (size_t)hl);
	memcpy(k->out + hl, body, blen);
	k->out_len = (size_t)hl + blen;
	k->out_off = 0;
	free(body);
	if (epoll_ctl(m->ep, EPOLL_CTL_MOD, k->fd, &ev) < 0)
		client_close(m, k);
}

static void client_read(struct metrics *m, struct mclient *k)
{
	enum metrics_req r;
	bool head;
	ssize_t n;

	for (;;) {
		if (k->in_len == sizeof(k->in)) {
			r = metrics_parse_request(k->in, k->in_len, &head);
			break;
		}
		n = recv(k->fd, k->in + k->in_len, sizeof(k->in) - k->in_len, 0);
		if (n == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			client_close(m, k); /* gone before the request ended */
			return;
		}
		if (n < 0)
			return; /* EAGAIN: wait for more */
		k->in_len += (size_t)n;
		r = metrics_parse_request(k->in, k->in_len, &head);
		if (r != METRICS_REQ_INCOMPLETE)
			break;
	}
	/* Every complete request needs the token, whatever its path. */
	if (r != METRICS_REQ_TOO_LARGE && r != METRICS_REQ_BAD &&
	    !metrics_authorized(k->in, k->in_len, m->token))
		r = METRICS_REQ_UNAUTHORIZED;
	respond(m, k, r, head);
}

static void client_write(struct metrics *m, struct mclient *k)
{
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			break;
		}
		k->out_off += (size_t)n;
	}
	if (k->out_off < k->out_len) {
		client_close(m, k);
		return;
	}
	/* Sent: a close with unread request bytes would reset the connection
	 * before the client read the answer (a 431), so half-close and read
	 * until the client closes, RP_METRICS_REQUEST_MAX more bytes, or the
	 * deadline. */
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};

	free(k->out);
	k->out = NULL;
	k->draining = true;
	if (shutdown(k->fd, SHUT_WR) < 0 || epoll_ctl(m->ep, EPOLL_CTL_MOD, k->fd, &ev) < 0)
		client_close(m, k);
}

static void client_drain(struct metrics *m, struct mclient *k)
{
	char buf[1024];

	for (;;) {
		ssize_t n = recv(k->fd, buf, sizeof(buf), 0);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0 || (k->drained += (size_t)n) > RP_METRICS_REQUEST_MAX) {
			client_close(m, k);
			return;
		}
	}
}

void metrics_poll(struct metrics *m)
{
	struct epoll_event evs[RP_METRICS_CLIENTS_MAX + 1];
	int64_t now;
	int n;

	if (m == NULL)
		return;
	n = epoll_wait(m->ep, evs, RP_METRICS_CLIENTS_MAX + 1, 0);
	for (int i = 0; i < n; i++) {
		struct mclient *k = evs[i].data.ptr;

		if (k == NULL) {
			accept_all(m);
			continue;
		}
		if (k->fd < 0)
			continue; /* closed earlier in this turn */
		if (k->draining)
			client_drain(m, k);
		else if (k->out != NULL)
			client_write(m, k);
		else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_read(m, k);
		if (k->fd >= 0 && k->out != NULL)
			client_write(m, k); /* try at once: usually it all fits */
	}
	now = (int64_t)rp_mono_ms();
	for (int i = 0; i < RP_METRICS_CLIENTS_MAX; i++)
		if (m->cl[i].fd >= 0 && now >= m->cl[i].deadline_ms)
			client_close(m, &m->cl[i]);
}
