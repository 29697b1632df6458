/* canary_server.c - the canary listener: one pthread, one poll() loop over
 * the listening sockets, a self-pipe (canary_server_stop) and up to
 * sessions_max non-blocking connections, each driving a canary_smtp session
 * (STARTTLS with OpenSSL as server: the operator's cert/key or a self-signed
 * P-256 certificate made at start). Bounds: global open sessions, and per
 * peer (IPv6 by /64, in an LRU table of RP_CANARY_PEERS_MAX) open sessions,
 * new sessions, messages and bytes per minute; over a cap: 421, closed.
 * About 980 lines: the loop, the per-peer caps and the server side of TLS
 * (context, self-signed certificate, handshake steps) share the session
 * table; the SMTP itself is canary_smtp.c. */
#include "canary_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "rp_take.h"

#define MIN_MS         60000
#define DRAIN_MS       1000 /* after the last reply: read what the client still sends */
#define DRAIN_BYTES    (64 * 1024)
#define READS_PER_TURN 4
#define PEER_BUCKETS   (2 * RP_CANARY_PEERS_MAX)

enum conn_state {
	CN_FREE = 0,
	CN_IO,        /* the session's dialog */
	CN_TLS_FLUSH, /* writing the 220 before the handshake */
	CN_HANDSHAKE,
	CN_FLUSH, /* writing the last replies before closing */
	CN_DRAIN, /* SHUT_WR sent: reading to EOF so the close sends no RST */
	CN_COUNT
};

struct peer {
	unsigned char key[9]; /* family byte, then 4 (IPv4) or 8 (IPv6 /64) bytes */
	unsigned open;
	uint64_t window; /* start of the current minute */
	unsigned conns, msgs;
	size_t bytes;
	int prev, next, hnext; /* LRU list (head = most recent), hash chain */
};

struct canary_server;

struct conn {
	struct canary_server *srv;
	enum conn_state st;
	int fd;
	SSL *ssl;
	bool ssl_want_write; /* the last SSL call wanted POLLOUT */
	bool again;          /* SSL holds decrypted bytes: poll with timeout 0 */
	bool over_cap;       /* a per-peer cap was hit inside a callback */
	struct canary_smtp *s;
	int peer;
	uint64_t started, last_activity, drain_until;
	uint64_t lines;
	size_t drained;
	struct canary_smtp_stats seen;
};

struct canary_server {
	struct canary_server_params p;
	char hostname[RP_DOMAIN_MAX + 1];
	const char *domains[RP_CANARY_DOMAINS_MAX];
	char *domain_copy[RP_CANARY_DOMAINS_MAX];
	size_t ndomains;
	unsigned sessions_max, peer_sessions, peer_conn_per_min, peer_msgs_per_min;
	size_t peer_bytes_per_min;
	unsigned idle_ms, session_ms;
	int lfd[RP_CANARY_LISTEN_MAX];
	unsigned lport[RP_CANARY_LISTEN_MAX];
	size_t nlisten;
	int wake[2];
	SSL_CTX *ctx;
	pthread_t thread;
	bool running;
	struct conn *conns;
	unsigned nopen;
	struct peer *peers;
	int *buckets;
	int lru_head, lru_tail, npeers;
	struct pollfd *pfd;
	int *pfd_conn;

	_Atomic uint64_t sessions, sessions_refused, sessions_open, messages, refused_rcpt,
	    oversize, commit_failed, timeouts, bytes_in, tls_sessions, footprint_max;
};

/* ------------------------------------------------------------------ */
/* peers: hash + LRU list in a fixed table */

static unsigned peer_hash(const unsigned char *k)
{
	unsigned h = 2166136261u;

	for (int i = 0; i < 9; i++)
		h = (h ^ k[i]) * 16777619u;
	return h % PEER_BUCKETS;
}

static void peer_key(const struct sockaddr_storage *ss, unsigned char *k, char *ip, size_t iplen,
                     unsigned *port)
{
	memset(k, 0, 9);
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		*port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			k[0] = 4;
			memcpy(k + 1, s6->sin6_addr.s6_addr + 12, 4);
			inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, ip, (socklen_t)iplen);
		} else {
			k[0] = 6;
			memcpy(k + 1, s6->sin6_addr.s6_addr, 8); /* the /64 */
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
		}
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		*port = ntohs(s4->sin_port);
		k[0] = 4;
		memcpy(k + 1, &s4->sin_addr, 4);
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
	}
}

static void lru_unlink(struct canary_server *s, int i)
{
	struct peer *p = &s->peers[i];

	if (p->prev >= 0)
		s->peers[p->prev].next = p->next;
	else
		s->lru_head = p->next;
	if (p->next >= 0)
		s->peers[p->next].prev = p->prev;
	else
		s->lru_tail = p->prev;
	p->prev = p->next = -1;
}

static void lru_push(struct canary_server *s, int i)
{
	struct peer *p = &s->peers[i];

	p->prev = -1;
	p->next = s->lru_head;
	if (s->lru_head >= 0)
		s->peers[s->lru_head].prev = i;
	s->lru_head = i;
	if (s->lru_tail < 0)
		s->lru_tail = i;
}

static void hash_remove(struct canary_server *s, int i)
{
	int *pp = &s->buckets[peer_hash(s->peers[i].key)];

	while (*pp >= 0 && *pp != i)
		pp = &s->peers[*pp].hnext;
	if (*pp == i)
		*pp = s->peers[i].hnext;
}

/* The peer's entry, made (the least recently used idle one reused when the
 * table is full) when new; -1 when every entry has open sessions. */
static int peer_get(struct canary_server *s, const unsigned char *k)
{
	unsigned h = peer_hash(k);
	int i;

	for (i = s->buckets[h]; i >= 0; i = s->peers[i].hnext)
		if (memcmp(s->peers[i].key, k, 9) == 0) {
			lru_unlink(s, i);
			lru_push(s, i);
			return i;
		}
	if (s->npeers < RP_CANARY_PEERS_MAX) {
		i = s->npeers++;
	} else {
		for (i = s->lru_tail; i >= 0 && s->peers[i].open > 0; i = s->peers[i].prev)
			;
		if (i < 0)
			return -1;
		hash_remove(s, i);
		lru_unlink(s, i);
	}
	memset(&s->peers[i], 0, sizeof(s->peers[i]));
	memcpy(s->peers[i].key, k, 9);
	s->peers[i].hnext = s->buckets[h];
	s->buckets[h] = i;
	lru_push(s, i);
	return i;
}

static void peer_window(struct peer *p, uint64_t now)
{
	if (now - p->window >= MIN_MS) {
		p->window = now;
		p->conns = p->msgs = 0;
		p->bytes = 0;
	}
}

/* ------------------------------------------------------------------ */
/* TLS */

static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[8];
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	if (sn == NULL || X509_set_version(x, 2) != 1 || X509_set_serialNumber(x, sn) != 1)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) == NULL)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return x;
fail:
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static SSL_CTX *server_ctx(const struct canary_server_params *p, const char *host, char *err,
                           size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = NULL;
	X509 *x = NULL;

	if (ctx == NULL) {
		snprintf(err, errlen, "canary: SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (p->cert_file != NULL && p->key_file != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, p->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, p->key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(err, errlen, "canary: cannot use cert %s / key %s: %s",
			         p->cert_file, p->key_file,
			         ERR_reason_error_string(ERR_get_error()));
			goto fail;
		}
		return ctx;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = key ? self_signed(key, host) : NULL;
	if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		snprintf(err, errlen, "canary: cannot make a self-signed certificate");
		goto fail;
	}
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
fail:
	X509_free(x);
	EVP_PKEY_free(key);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* ------------------------------------------------------------------ */
/* connections */

static void account(struct conn *c)
{
	struct canary_server *s = c->srv;
	struct canary_smtp_stats now;
	uint64_t fp = canary_smtp_footprint(c->s), seen = atomic_load(&s->footprint_max);

	while (fp > seen && !atomic_compare_exchange_weak(&s->footprint_max, &seen, fp))
		;
	canary_smtp_stats(c->s, &now);
	atomic_fetch_add(&s->messages, now.messages - c->seen.messages);
	atomic_fetch_add(&s->refused_rcpt, now.refused_rcpt - c->seen.refused_rcpt);
	atomic_fetch_add(&s->oversize, now.oversize - c->seen.oversize);
	atomic_fetch_add(&s->commit_failed, now.commit_failed - c->seen.commit_failed);
	c->seen = now;
}

static void conn_free(struct conn *c)
{
	struct canary_server *s = c->srv;

	if (c->st == CN_FREE)
		return;
	if (c->s != NULL)
		account(c);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	canary_smtp_free(&c->s);
	if (c->peer >= 0 && s->peers[c->peer].open > 0)
		s->peers[c->peer].open--;
	s->nopen--;
	atomic_fetch_sub(&s->sessions_open, 1);
	memset(c, 0, sizeof(*c));
	c->srv = s;
	c->fd = -1;
	c->peer = -1;
	c->st = CN_FREE;
}

static int conn_rcpt(void *arg, const char *local, const char *domain)
{
	struct conn *c = arg;

	return c->srv->p.rcpt ? c->srv->p.rcpt(c->srv->p.arg, local, domain) : 0;
}

static int conn_commit(void *arg, const struct canary_arrival *a, char *why, size_t whylen)
{
	struct conn *c = arg;
	struct canary_server *s = c->srv;
	struct peer *p = &s->peers[c->peer];

	peer_window(p, rp_mono_ms());
	if (p->msgs >= s->peer_msgs_per_min) {
		c->over_cap = true;
		snprintf(why, whylen, "too many messages from your address, try later");
		return -1;
	}
	p->msgs++;
	return s->p.commit(s->p.arg, a, why, whylen);
}

/* Best effort, one non-blocking write, then close: a refusal is never queued. */
static void refuse(struct canary_server *s, int fd, const char *why)
{
	char buf[RP_DOMAIN_MAX + 96];
	int n = snprintf(buf, sizeof(buf), "421 4.7.0 %s %s\r\n", s->hostname, why);

	atomic_fetch_add(&s->sessions_refused, 1); /* before the client can see it */
	if (n > 0)
		(void)!send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_RDWR);
	close(fd);
}

static void accept_one(struct canary_server *s, int lfd, uint64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct canary_smtp_params sp;
	unsigned char key[9];
	char ip[INET6_ADDRSTRLEN];
	unsigned port = 0;
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c = NULL;
	struct peer *p;
	int pi;

	if (fd < 0)
		return;
	atomic_fetch_add(&s->sessions, 1);
	peer_key(&ss, key, ip, sizeof(ip), &port);
	if (s->nopen >= s->sessions_max) {
		refuse(s, fd, "too many sessions, try later");
		return;
	}
	pi = peer_get(s, key);
	if (pi < 0) {
		refuse(s, fd, "too many sessions, try later");
		return;
	}
	p = &s->peers[pi];
	peer_window(p, now);
	if (p->open >= s->peer_sessions) {
		refuse(s, fd, "too many sessions from your address");
		return;
	}
	if (p->conns >= s->peer_conn_per_min || p->msgs >= s->peer_msgs_per_min ||
	    p->bytes >= s->peer_bytes_per_min) {
		p->conns++;
		refuse(s, fd, "too many connections from your address, try later");
		return;
	}
	for (unsigned i = 0; i < s->sessions_max; i++)
		if (s->conns[i].st == CN_FREE) {
			c = &s->conns[i];
			break;
		}
	if (c == NULL) { /* cannot happen: nopen < sessions_max */
		refuse(s, fd, "too many sessions, try later");
		return;
	}
	memset(&sp, 0, sizeof(sp));
	sp.hostname = s->hostname;
	sp.domains = s->domains;
	sp.ndomains = s->ndomains;
	sp.message_max = s->p.message_max;
	sp.starttls = s->ctx != NULL;
	sp.rcpt = conn_rcpt;
	sp.commit = conn_commit;
	sp.arg = c;
	c->s = canary_smtp_new(&sp, ip, port, rp_wall_ms());
	if (c->s == NULL) {
		refuse(s, fd, "out of memory, try later");
		return;
	}
	/* Replies are written whole; Nagle would hold one behind an unacked
	 * segment (a TLS 1.3 session ticket) for the client's delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	c->srv = s;
	c->fd = fd;
	c->peer = pi;
	c->st = CN_IO;
	c->started = c->last_activity = now;
	p->open++;
	p->conns++;
	s->nopen++;
	atomic_fetch_add(&s->sessions_open, 1);
}

/* Write what the session has; 0 on progress or nothing to do, -1 when the
 * connection is dead. */
static int conn_write(struct conn *c, uint64_t now)
{
	size_t len;
	const char *out = canary_smtp_output(c->s, &len);

	c->ssl_want_write = false;
	while (len > 0) {
		ssize_t n;

		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, out, (int)len);

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
					c->ssl_want_write = e == SSL_ERROR_WANT_WRITE;
					return 0;
				}
				ERR_clear_error();
				return -1;
			}
			n = r;
		} else {
			n = send(c->fd, out, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return 0;
				return -1;
			}
		}
		canary_smtp_output_consume(c->s, (size_t)n);
		c->last_activity = now;
		out = canary_smtp_output(c->s, &len);
	}
	return 0;
}

static void after_action(struct conn *c, enum canary_smtp_action a)
{
	if (c->over_cap) {
		c->over_cap = false;
		a = canary_smtp_close(c->s, "4.7.0 too many messages from your address, try later");
	}
	if (a == CANARY_ACT_CLOSE)
		c->st = CN_FLUSH;
	else if (a == CANARY_ACT_STARTTLS)
		c->st = CN_TLS_FLUSH;
}

static void begin_drain(struct conn *c, uint64_t now)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
	c->st = CN_DRAIN;
	c->drain_until = now + DRAIN_MS;
}

/* Read and feed. -1: the connection is gone. */
static int conn_read(struct conn *c, uint64_t now)
{
	struct canary_server *s = c->srv;
	char buf[RP_CANARY_FEED_MAX];

	c->again = false;
	for (int turn = 0; turn < READS_PER_TURN && c->st == CN_IO && canary_smtp_wants_read(c->s);
	     turn++) {
		struct peer *p = &s->peers[c->peer];
		ssize_t n;

		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, buf, sizeof(buf));

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ)
					return 0;
				if (e == SSL_ERROR_WANT_WRITE) {
					c->ssl_want_write = true;
					return 0;
				}
				return -1;
			}
			n = r;
		} else {
			n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
				           ? 0
				           : -1;
			if (n == 0)
				return -1;
		}
		atomic_fetch_add(&s->bytes_in, (uint64_t)n);
		peer_window(p, now);
		p->bytes += (size_t)n;
		if (p->bytes > s->peer_bytes_per_min) {
			after_action(c, canary_smtp_close(c->s,
			                                  "4.7.0 too much data from your address, "
			                                  "try later"));
			return 0;
		}
		after_action(c, canary_smtp_feed(c->s, rp_wall_ms(), buf, (size_t)n));
		if (canary_smtp_lines(c->s) != c->lines) {
			c->lines = canary_smtp_lines(c->s);
			c->last_activity = now;
		}
		account(c);
		if (conn_write(c, now) != 0)
			return -1;
		if (c->st == CN_IO)
			after_action(c, canary_smtp_feed(c->s, rp_wall_ms(), NULL, 0));
	}
	if (c->ssl != NULL && c->st == CN_IO && SSL_pending(c->ssl) > 0 &&
	    canary_smtp_wants_read(c->s))
		c->again = true;
	return 0;
}

static void handshake(struct conn *c, uint64_t now)
{
	struct canary_server *s = c->srv;
	int r;

	if (c->ssl == NULL) {
		c->ssl = SSL_new(s->ctx);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
			conn_free(c);
			return;
		}
		SSL_set_accept_state(c->ssl);
		c->st = CN_HANDSHAKE;
	}
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		enum canary_smtp_action a = canary_smtp_tls_done(c->s, SSL_get_version(c->ssl),
		                                                 SSL_get_cipher_name(c->ssl));

		atomic_fetch_add(&s->tls_sessions, 1);
		c->st = CN_IO;
		c->last_activity = now;
		after_action(c, a);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->ssl_want_write = false;
		return;
	case SSL_ERROR_WANT_WRITE:
		c->ssl_want_write = true;
		return;
	default:
		ERR_clear_error();
		canary_smtp_tls_done(c->s, NULL, NULL);
		conn_free(c);
	}
}

/* One connection's turn after poll (revents) or a timer. */
static void conn_turn(struct conn *c, short revents, uint64_t now)
{
	if (revents & (POLLERR | POLLNVAL)) {
		conn_free(c);
		return;
	}
	switch (c->st) {
	case CN_IO:
		if (conn_write(c, now) != 0) {
			conn_free(c);
			return;
		}
		after_action(c, canary_smtp_feed(c->s, rp_wall_ms(), NULL, 0));
		if (c->st == CN_IO && conn_read(c, now) != 0) {
			conn_free(c);
			return;
		}
		break;
	default:
		break;
	}
	if (c->st == CN_TLS_FLUSH || c->st == CN_FLUSH) {
		size_t len;

		if (conn_write(c, now) != 0) {
			conn_free(c);
			return;
		}
		canary_smtp_output(c->s, &len);
		if (len > 0)
			return;
		if (c->st == CN_FLUSH)
			begin_drain(c, now);
		else
			handshake(c, now);
		return;
	}
	if (c->st == CN_HANDSHAKE) {
		handshake(c, now);
		return;
	}
	if (c->st == CN_DRAIN && (revents & (POLLIN | POLLHUP))) {
		char buf[4096];
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n > 0)
			c->drained += (size_t)n;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    c->drained > DRAIN_BYTES)
			conn_free(c);
	}
}

static void conn_timers(struct conn *c, uint64_t now)
{
	if (c->st == CN_DRAIN) {
		if (now >= c->drain_until)
			conn_free(c);
		return;
	}
	if (now - c->last_activity >= c->srv->idle_ms) {
		atomic_fetch_add(&c->srv->timeouts, 1);
		if (c->st == CN_IO) {
			after_action(c, canary_smtp_timeout(c->s, rp_wall_ms()));
			c->last_activity = now; /* one idle period to write the 421 */
			conn_turn(c, 0, now);
		} else {
			conn_free(c); /* stuck flushing or in the handshake */
		}
		return;
	}
	if (now - c->started >= c->srv->session_ms && c->st == CN_IO) {
		atomic_fetch_add(&c->srv->timeouts, 1);
		after_action(c, canary_smtp_close(c->s, "4.4.2 session too long"));
		conn_turn(c, 0, now);
	}
}

static short conn_events(const struct conn *c)
{
	size_t len;

	switch (c->st) {
	case CN_IO:
		canary_smtp_output(c->s, &len);
		if (c->ssl_want_write)
			return POLLOUT;
		return (short)((len > 0 ? POLLOUT : 0) |
		               (canary_smtp_wants_read(c->s) ? POLLIN : 0));
	case CN_TLS_FLUSH:
	case CN_FLUSH:
		return c->ssl_want_write || c->ssl == NULL ? POLLOUT : (POLLOUT | POLLIN);
	case CN_HANDSHAKE:
		return c->ssl_want_write ? POLLOUT : POLLIN;
	case CN_DRAIN:
		return POLLIN;
	default:
		return 0;
	}
}

static void *server_thread(void *arg)
{
	struct canary_server *s = arg;

	for (;;) {
		uint64_t now = rp_mono_ms();
		nfds_t n = 0;
		int timeout = 1000, r;
		bool again = false;

		s->pfd[n].fd = s->wake[0];
		s->pfd[n++].events = POLLIN;
		for (size_t i = 0; i < s->nlisten; i++) {
			s->pfd[n].fd = s->lfd[i];
			s->pfd[n++].events = POLLIN;
		}
		for (unsigned i = 0; i < s->sessions_max; i++) {
			struct conn *c = &s->conns[i];
			uint64_t due;

			if (c->st == CN_FREE)
				continue;
			again |= c->again;
			s->pfd[n].fd = c->fd;
			s->pfd[n].events = conn_events(c);
			s->pfd_conn[n++] = (int)i;
			due = c->st == CN_DRAIN ? c->drain_until : c->last_activity + s->idle_ms;
			if (due <= now)
				timeout = 0;
			else if (due - now < (uint64_t)timeout)
				timeout = (int)(due - now);
		}
		r = poll(s->pfd, n, again ? 0 : timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (s->pfd[0].revents & POLLIN))
			break; /* canary_server_stop() */
		now = rp_mono_ms();
		for (size_t i = 0; r > 0 && i < s->nlisten; i++)
			if (s->pfd[1 + i].revents & POLLIN)
				for (int k = 0; k < 16; k++)
					accept_one(s, s->lfd[i], now);
		for (nfds_t i = 1 + s->nlisten; i < n; i++) {
			struct conn *c = &s->conns[s->pfd_conn[i]];

			if (c->st != CN_FREE && (s->pfd[i].revents != 0 || c->again))
				conn_turn(c, s->pfd[i].revents, now);
			if (c->st != CN_FREE)
				conn_timers(c, now);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* start / stop */

static int listen_on(struct canary_server *s, const char *spec, char *err, size_t errlen)
{
	char host[128];
	const char *colon, *port;
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1, rc;
	size_t hl;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		hl = (size_t)(rb - spec - 1);
		colon = rb + 1;
		spec++;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - spec);
	}
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	port = colon + 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "canary: listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto sys;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto sys;
	s->lport[s->nlisten] =
	    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                   : ((struct sockaddr_in *)&ss)->sin_port);
	s->lfd[s->nlisten++] = fd;
	freeaddrinfo(ai);
	return 0;
sys:
	snprintf(err, errlen, "canary: listen %s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
bad:
	snprintf(err, errlen, "canary: listen %s: want host:port or [v6]:port", spec);
	return -1;
}

static unsigned pick(unsigned v, unsigned dflt)
{
	return v ? v : dflt;
}

struct canary_server *canary_server_start(const struct canary_server_params *p, char *err,
                                          size_t errlen)
{
	struct canary_server *s = NULL;
	size_t i;

	if (p == NULL || p->commit == NULL || p->nlisten == 0 ||
	    p->nlisten > RP_CANARY_LISTEN_MAX || p->ndomains == 0 ||
	    p->ndomains > RP_CANARY_DOMAINS_MAX) {
		snprintf(err, errlen,
		         "canary: need 1-%d listen addresses, 1-%d domains and a commit",
		         RP_CANARY_LISTEN_MAX, RP_CANARY_DOMAINS_MAX);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto oom;
	s->p = *p;
	s->wake[0] = s->wake[1] = -1;
	if (p->hostname != NULL)
		snprintf(s->hostname, sizeof(s->hostname), "%s", p->hostname);
	else if (gethostname(s->hostname, sizeof(s->hostname) - 1) != 0)
		snprintf(s->hostname, sizeof(s->hostname), "localhost");
	for (i = 0; i < p->ndomains; i++) {
		s->domain_copy[i] = strdup(p->domains[i]);
		if (s->domain_copy[i] == NULL)
			goto oom;
		s->domains[i] = s->domain_copy[i];
	}
	s->ndomains = p->ndomains;
	s->sessions_max = pick(p->sessions_max, RP_CANARY_SESSIONS_MAX);
	if (s->sessions_max > RP_CANARY_SESSIONS_MAX)
		s->sessions_max = RP_CANARY_SESSIONS_MAX;
	s->peer_sessions = pick(p->peer_sessions, RP_CANARY_PEER_SESSIONS);
	s->peer_conn_per_min = pick(p->peer_conn_per_min, RP_CANARY_PEER_CONN_PER_MIN);
	s->peer_msgs_per_min = pick(p->peer_msgs_per_min, RP_CANARY_PEER_MSGS_PER_MIN);
	s->peer_bytes_per_min =
	    p->peer_bytes_per_min ? p->peer_bytes_per_min : RP_CANARY_PEER_BYTES_PER_MIN;
	s->idle_ms = pick(p->idle_ms, RP_CANARY_IDLE_MS);
	s->session_ms = pick(p->session_ms, RP_CANARY_SESSION_MS);
	s->p.hostname = s->hostname;
	s->p.domains = s->domains;
	s->p.listen = NULL;
	s->conns = calloc(s->sessions_max, sizeof(*s->conns));
	s->peers = calloc(RP_CANARY_PEERS_MAX, sizeof(*s->peers));
	s->buckets = malloc(PEER_BUCKETS * sizeof(*s->buckets));
	s->pfd = calloc(1 + RP_CANARY_LISTEN_MAX + s->sessions_max, sizeof(*s->pfd));
	s->pfd_conn = calloc(1 + RP_CANARY_LISTEN_MAX + s->sessions_max, sizeof(*s->pfd_conn));
	if (s->conns == NULL || s->peers == NULL || s->buckets == NULL || s->pfd == NULL ||
	    s->pfd_conn == NULL)
		goto oom;
	for (i = 0; i < PEER_BUCKETS; i++)
		s->buckets[i] = -1;
	s->lru_head = s->lru_tail = -1;
	for (i = 0; i < s->sessions_max; i++) {
		s->conns[i].srv = s;
		s->conns[i].fd = -1;
		s->conns[i].peer = -1;
	}
	if (p->starttls) {
		s->ctx = server_ctx(p, s->hostname, err, errlen);
		if (s->ctx == NULL)
			goto fail;
	}
	for (i = 0; i < p->nlisten; i++)
		if (listen_on(s, p->listen[i], err, errlen) != 0)
			goto fail;
	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "canary: pipe: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, server_thread, s) != 0) {
		snprintf(err, errlen, "canary: cannot start the thread");
		goto fail;
	}
	s->running = true;
	return s;
oom:
	snprintf(err, errlen, "canary: out of memory");
fail:
	canary_server_stop(&s);
	return NULL;
}

unsigned canary_server_port(const struct canary_server *s, size_t i)
{
	return s != NULL && i < s->nlisten ? s->lport[i] : 0;
}

void canary_server_stats(const struct canary_server *s, struct canary_server_stats *out)
{
	out->sessions = atomic_load(&s->sessions);
	out->sessions_refused = atomic_load(&s->sessions_refused);
	out->sessions_open = atomic_load(&s->sessions_open);
	out->messages = atomic_load(&s->messages);
	out->refused_rcpt = atomic_load(&s->refused_rcpt);
	out->oversize = atomic_load(&s->oversize);
	out->commit_failed = atomic_load(&s->commit_failed);
	out->timeouts = atomic_load(&s->timeouts);
	out->bytes_in = atomic_load(&s->bytes_in);
	out->tls_sessions = atomic_load(&s->tls_sessions);
	out->footprint_max = atomic_load(&s->footprint_max);
}

void canary_server_stop(struct canary_server **sp)
{
	struct canary_server *s = rp_take(sp);
	size_t i;

	if (s == NULL)
		return;
	if (s->running) {
		(void)!write(s->wake[1], "x", 1);
		pthread_join(s->thread, NULL);
	}
	if (s->conns != NULL)
		for (i = 0; i < s->sessions_max; i++)
			conn_free(&s->conns[i]);
	for (i = 0; i < s->nlisten; i++)
		close(s->lfd[i]);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	SSL_CTX_free(s->ctx);
	for (i = 0; i < RP_CANARY_DOMAINS_MAX; i++)
		free(s->domain_copy[i]); /* NULL past the ones made */
	free(s->conns);
	free(s->peers);
	free(s->buckets);
	free(s->pfd);
	free(s->pfd_conn);
	free(s);
}
