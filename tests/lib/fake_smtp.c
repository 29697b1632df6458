/* fake_smtp.c - the scripted SMTP server of fake_smtp.h: a poll()ing
 * listener thread (one or two loopback sockets, one port) and a detached
 * thread per connection that answers the script of its mode, over plain
 * TCP or TLS. Lines are bounded by the 4096-byte connection buffer and cut
 * to 1024 bytes; the timings use engine_now_ms(), the engine's clock. */
#include "fake_smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"

struct conn {
	struct fake_smtp *s;
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t len;
};

void fake_smtp_group_init(struct fake_smtp_group *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
}

static int c_write(struct conn *c, const char *s)
{
	size_t n = strlen(s);
	if (c->ssl)
		return SSL_write(c->ssl, s, (int)n) == (int)n ? 0 : -1;
	return send(c->fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* One line without CRLF into out; -1 at EOF or error. */
static int c_line(struct conn *c, char *out, size_t outlen)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t l = (size_t)(nl - c->buf);
			size_t k = l > 0 && c->buf[l - 1] == '\r' ? l - 1 : l;
			if (k >= outlen)
				k = outlen - 1;
			memcpy(out, c->buf, k);
			out[k] = '\0';
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t n = c->ssl
		                ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len))
		                : read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

int fake_smtp_hello_cb(SSL *ssl, int *al, void *arg)
{
	struct conn *c = SSL_get_app_data(ssl);
	(void)al;
	(void)arg;
	if (c && c->s->g)
		atomic_fetch_add(&c->s->g->handshakes, 1);
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int c_tls(struct conn *c)
{
	c->ssl = SSL_new(c->s->tls);
	if (!c->ssl)
		return -1;
	SSL_set_app_data(c->ssl, c);
	SSL_set_fd(c->ssl, c->fd);
	c->len = 0;
	return SSL_accept(c->ssl) == 1 ? 0 : -1;
}

/* The reply to one command line in the plain script; NULL when the
 * command was handled here (STARTTLS, DATA's 354, QUIT) and *end says
 * whether the session is over. */
static const char *reply_for(struct conn *c, char *line, size_t linelen, bool *end)
{
	struct fake_smtp *s = c->s;

	*end = false;
	if (strncasecmp(line, "EHLO", 4) == 0)
		return s->tls && !c->ssl ? "250-mx.test\r\n250-PIPELINING\r\n250-"
		                           "STARTTLS\r\n250 8BITMIME\r\n"
		                         : "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
	if (strncasecmp(line, "HELO", 4) == 0)
		return "250 mx.test\r\n";
	if (strncasecmp(line, "STARTTLS", 8) == 0 && s->tls && !c->ssl) {
		*end = c_write(c, "220 2.0.0 Ready to start TLS\r\n") < 0 || c_tls(c) < 0;
		return NULL;
	}
	if (strncasecmp(line, "MAIL", 4) == 0)
		return "250 2.1.0 Ok\r\n";
	if (strncasecmp(line, "RCPT", 4) == 0)
		return s->mode == FAKE_SMTP_OPEN
		           ? "250 2.1.5 Ok\r\n"
		           : "554 5.7.1 <relaytest@external.test>: Relay access denied\r\n";
	if (strncasecmp(line, "RSET", 4) == 0)
		return "250 2.0.0 Ok\r\n";
	if (strncasecmp(line, "DATA", 4) == 0) {
		if (c_write(c, "354 End data with <CR><LF>.<CR><LF>\r\n") < 0) {
			*end = true;
			return NULL;
		}
		while (c_line(c, line, linelen) == 0 && strcmp(line, ".") != 0)
			;
		return "250 2.0.0 Ok: queued\r\n";
	}
	if (strncasecmp(line, "QUIT", 4) == 0) {
		c_write(c, "221 2.0.0 Bye\r\n");
		while (c_line(c, line, linelen) == 0) /* until the client closes */
			;
		*end = true;
		return NULL;
	}
	return "502 5.5.2 Error: command not recognized\r\n";
}

/* FAKE_SMTP_TARPIT: every reply just inside the client's command timeout;
 * every RCPT a 4xx, so the client retries, forever. */
static const char *tarpit_reply(const struct fake_smtp *s, const char *line)
{
	usleep(s->hold_ms * 1000u);
	return strncasecmp(line, "EHLO", 4) == 0   ? "250 mx.test\r\n"
	       : strncasecmp(line, "RCPT", 4) == 0 ? "450 4.7.1 Try again later\r\n"
	                                           : "250 2.0.0 Ok\r\n";
}

static void session(struct conn *c)
{
	struct fake_smtp *s = c->s;
	char line[1024];

	if (s->implicit && c_tls(c) < 0)
		return;
	if (s->mode == FAKE_SMTP_SILENT) {
		while (read(c->fd, line, sizeof(line)) > 0)
			;
		return;
	}
	if (s->hold_ms)
		usleep(s->hold_ms * 1000u);
	if (c_write(c, "220 mx.test ESMTP scripted\r\n") < 0)
		return;
	while (c_line(c, line, sizeof(line)) == 0) {
		const char *r;
		bool end = false;
		if (s->mode == FAKE_SMTP_TARPIT && strncasecmp(line, "QUIT", 4) != 0) {
			if (c_write(c, tarpit_reply(s, line)) < 0)
				return;
			continue;
		}
		if (s->tls_drop && c->ssl)
			return;
		if (s->reneg && c->ssl && strncasecmp(line, "EHLO", 4) == 0) {
			if (s->g)
				atomic_fetch_add(&s->g->reneg_asked, 1);
			if (SSL_renegotiate(c->ssl) != 1 || SSL_do_handshake(c->ssl) != 1)
				return;
		}
		r = reply_for(c, line, sizeof(line), &end);
		if (end)
			return;
		if (!r)
			continue;
		if (s->reply_ms)
			usleep(s->reply_ms * 1000u);
		if (c_write(c, r) < 0)
			return;
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct fake_smtp *s = c->s;
	struct fake_smtp_group *g = s->g;
	int idx = 0;

	if (g) {
		pthread_mutex_lock(&g->mu);
		idx = g->total++;
		if (++g->cur > g->max)
			g->max = g->cur;
		if (idx < FAKE_SMTP_LOG_MAX)
			g->t_accept[idx] = engine_now_ms();
		pthread_mutex_unlock(&g->mu);
	}
	session(c);
	if (g) {
		pthread_mutex_lock(&g->mu);
		g->cur--;
		if (idx < FAKE_SMTP_LOG_MAX)
			g->t_end[idx] = engine_now_ms();
		pthread_mutex_unlock(&g->mu);
	}
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	atomic_fetch_sub(&s->active, 1);
	free(c);
	return NULL;
}

static void accept_one(struct fake_smtp *s, int lfd)
{
	union {
		struct sockaddr_storage ss;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} peer;
	socklen_t pl = sizeof(peer);
	int fd = accept(lfd, (struct sockaddr *)&peer, &pl);
	struct conn *c;
	pthread_t t;

	if (fd < 0)
		return;
	atomic_fetch_add(&s->connections, 1);
	if (s->g) {
		pthread_mutex_lock(&s->g->mu);
		if (peer.ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &peer.in.sin_addr, s->g->peer, sizeof(s->g->peer));
		else
			inet_ntop(AF_INET6, &peer.in6.sin6_addr, s->g->peer, sizeof(s->g->peer));
		pthread_mutex_unlock(&s->g->mu);
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	atomic_fetch_add(&s->active, 1);
	if (pthread_create(&t, NULL, conn_main, c) != 0) {
		atomic_fetch_sub(&s->active, 1);
		close(fd);
		free(c);
		return;
	}
	pthread_detach(t);
}

static void *accept_main(void *arg)
{
	struct fake_smtp *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd pf[2] = {{.fd = s->lfd, .events = POLLIN},
		                       {.fd = s->lfd6, .events = POLLIN}};
		if (poll(pf, s->lfd6 >= 0 ? 2 : 1, 50) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (pf[i].fd >= 0 && (pf[i].revents & POLLIN))
				accept_one(s, pf[i].fd);
	}
	return NULL;
}

static void reset(struct fake_smtp *s, enum fake_smtp_mode mode, struct fake_smtp_group *g)
{
	memset(s, 0, sizeof(*s));
	s->lfd = s->lfd6 = -1;
	s->mode = mode;
	s->g = g;
}

/* A listening socket on sa (port 0 or a given one); -1 on failure. */
static int listen_on(const struct sockaddr *sa, socklen_t sl)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, sl) < 0 || listen(fd, 128) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int fake_smtp_listen(struct fake_smtp *s, const char *addr, enum fake_smtp_mode mode,
                     struct fake_smtp_group *g)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} sa;
	socklen_t sl;

	reset(s, mode, g);
	memset(&sa, 0, sizeof(sa));
	if (inet_pton(AF_INET, addr, &sa.in.sin_addr) == 1) {
		sa.in.sin_family = AF_INET;
		sl = sizeof(sa.in);
	} else if (inet_pton(AF_INET6, addr, &sa.in6.sin6_addr) == 1) {
		sa.in6.sin6_family = AF_INET6;
		sl = sizeof(sa.in6);
	} else {
		return -1;
	}
	s->lfd = listen_on(&sa.sa, sl);
	if (s->lfd < 0)
		return -1;
	getsockname(s->lfd, &sa.sa, &sl);
	s->port = ntohs(sa.sa.sa_family == AF_INET ? sa.in.sin_port : sa.in6.sin6_port);
	return 0;
}

int fake_smtp_listen_loopback(struct fake_smtp *s, enum fake_smtp_mode mode,
                              struct fake_smtp_group *g)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6,
		                           .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		if (fake_smtp_listen(s, "127.0.0.1", mode, g) < 0)
			return -1;
		sa6.sin6_port = htons(s->port);
		s->lfd6 = listen_on((const struct sockaddr *)&sa6, sizeof(sa6));
		if (s->lfd6 >= 0)
			return 0;
		close(s->lfd); /* that port is taken on [::1]: another one */
		s->lfd = -1;
	}
	return -1;
}

int fake_smtp_run(struct fake_smtp *s)
{
	return pthread_create(&s->th, NULL, accept_main, s) == 0 ? 0 : -1;
}

int fake_smtp_stop(struct fake_smtp *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	close(s->lfd);
	if (s->lfd6 >= 0)
		close(s->lfd6);
	s->lfd = s->lfd6 = -1;
	for (int i = 0; i < 500 && atomic_load(&s->active) > 0; i++)
		usleep(10000);
	return atomic_load(&s->active);
}

uint16_t fake_smtp_closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	if (fd < 0)
		return 0;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sl) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}
