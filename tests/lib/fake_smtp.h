/* fake_smtp.h - a scripted SMTP server for the tests, on loopback only: a
 * listener thread and one thread per connection that answer from a fixed
 * script (refuse or accept relaying, stay silent, tarpit), optionally with
 * STARTTLS or implicit TLS, and count connections, overlaps and timings.
 * Lines are read into a 4096-byte buffer; a longer line ends the session. */
#ifndef RP_FAKE_SMTP_H
#define RP_FAKE_SMTP_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define FAKE_SMTP_LOG_MAX 64 /* connections whose times a group keeps */

/* Counters shared by the servers of one test (all under mu except the two
 * TLS counters). */
struct fake_smtp_group {
	pthread_mutex_t mu;
	int cur, max, total; /* open now, most open at once, ever accepted */
	uint64_t t_accept[FAKE_SMTP_LOG_MAX], t_end[FAKE_SMTP_LOG_MAX]; /* engine_now_ms() */
	char peer[64];          /* the address of the last client */
	atomic_int handshakes;  /* ClientHellos seen (fake_smtp_hello_cb) */
	atomic_int reneg_asked; /* renegotiations the servers asked for */
};

enum fake_smtp_mode {
	FAKE_SMTP_CLOSED, /* 554 Relay access denied to every RCPT */
	FAKE_SMTP_OPEN,   /* 250 to every RCPT, DATA queued */
	FAKE_SMTP_SILENT, /* no greeting; reads until the client hangs up */
	FAKE_SMTP_TARPIT, /* every reply after hold_ms, every RCPT a 450 */
};

/* One server. The caller owns the struct (it must outlive fake_smtp_stop)
 * and may set the options between fake_smtp_listen*() and fake_smtp_run();
 * the server borrows tls and the group. */
struct fake_smtp {
	int lfd, lfd6; /* lfd6: the [::1] twin of fake_smtp_listen_loopback, else -1 */
	uint16_t port;
	enum fake_smtp_mode mode;
	SSL_CTX *tls;              /* offer STARTTLS with it (or implicit) */
	bool implicit;             /* TLS from the first byte */
	unsigned hold_ms;          /* greet delay: makes sessions long enough to overlap;
	                              FAKE_SMTP_TARPIT: the delay before every reply */
	bool reneg;                /* ask for a TLS renegotiation after EHLO over TLS */
	bool tls_drop;             /* hang up at the first EHLO over TLS */
	unsigned reply_ms;         /* a slow honest server: the delay before each reply */
	struct fake_smtp_group *g; /* may be NULL: no group counters */
	atomic_int connections;    /* accepted by this server */
	atomic_int active;         /* sessions still running */
	atomic_int stop;
	pthread_t th;
};

void fake_smtp_group_init(struct fake_smtp_group *g);

/* Listen on addr (a loopback literal, IPv4 or IPv6), any free port. 0, or
 * -1 when addr cannot be bound. */
int fake_smtp_listen(struct fake_smtp *s, const char *addr, enum fake_smtp_mode mode,
                     struct fake_smtp_group *g);

/* Listen on 127.0.0.1 and [::1] with the same free port, so that whatever
 * loopback address a dial reaches is served and counted. 0 or -1. */
int fake_smtp_listen_loopback(struct fake_smtp *s, enum fake_smtp_mode mode,
                              struct fake_smtp_group *g);

/* Start the listener thread. 0 or -1. */
int fake_smtp_run(struct fake_smtp *s);

/* Stop listening, close the listeners and wait up to 5 s for the sessions
 * to end; returns how many are still running (0 when all ended). */
int fake_smtp_stop(struct fake_smtp *s);

/* A client-hello callback for SSL_CTX_set_client_hello_cb(ctx, .., NULL):
 * counts every ClientHello (first handshake or renegotiation) in the
 * group of the server whose session it is. */
int fake_smtp_hello_cb(SSL *ssl, int *al, void *arg);

/* A port on 127.0.0.1 nobody listens on (bound, noted, closed); 0 on error. */
uint16_t fake_smtp_closed_port(void);

#endif
