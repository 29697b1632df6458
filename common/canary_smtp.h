/* canary_smtp.h - the canary's SMTP receiver session, sans-I/O like the
 * dialog: bytes in (canary_smtp_feed), replies out (canary_smtp_output),
 * never a socket or a clock (every entry point takes the time in ms). It
 * speaks EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT and STARTTLS (when
 * the driver can do TLS), takes recipients only in the canary domains (and
 * only those the rcpt callback accepts), refuses messages over the size cap,
 * never keeps a body: per message it keeps the envelope, the HELO name, the
 * Received: chain parsed into hops, the Message-ID, the tokens ("rp-..."
 * words) seen in Subject/Message-ID/body, the size and the TLS facts, and
 * asks the commit callback to make them durable before it answers 250. */
#ifndef RP_CANARY_SMTP_H
#define RP_CANARY_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "received.h"
#include "rp_limits.h"

/* One message that reached end of DATA. Strings are NUL-terminated. */
struct canary_arrival {
	char peer_ip[RP_RECEIVED_IP_MAX + 1]; /* the delivering IP (driver-given) */
	unsigned peer_port;
	char helo[RP_RECEIVED_NAME_MAX + 1];
	char mail_from[RP_ADDR_MAX + 1]; /* "" for the null sender <> */
	char rcpts[RP_CANARY_RCPTS_MAX][RP_ADDR_MAX + 1];
	size_t nrcpts;
	char message_id[RP_RECEIVED_NAME_MAX + 1]; /* without <>, "" when none */
	char tokens[RP_CANARY_BODY_TOKENS][RP_CANARY_TOKEN_WORD_MAX + 1]; /* from the message */
	size_t ntokens;
	struct received_hop hops[RP_RECEIVED_HOPS_MAX]; /* top (newest) first */
	size_t nhops;
	size_t size; /* bytes of the message as received (after dot-unstuffing) */
	bool tls;
	char tls_protocol[16];
	char tls_cipher[64];
	uint64_t arrived_ms; /* wall clock (ms since the epoch) at end of DATA */
};

/* What the session needs from its owner. Callbacks run inside
 * canary_smtp_feed(). */
struct canary_smtp_params {
	const char *hostname;       /* our name, in the banner and replies */
	const char *const *domains; /* canary domains (case-insensitive) */
	size_t ndomains;
	size_t message_max; /* 0 = RP_CANARY_MESSAGE_MAX; never above it */
	bool starttls;      /* offer STARTTLS (the driver can do it) */
	/* Recipient local part and domain (already in a canary domain): 0 to
	 * accept, -1 to refuse with 550 5.1.1. NULL = accept every local part. */
	int (*rcpt)(void *arg, const char *local, const char *domain);
	/* Make the arrival durable: 0 -> "250 2.0.0 Ok", -1 -> "451 4.3.0" with
	 * why (the sender retries). Never NULL. */
	int (*commit)(void *arg, const struct canary_arrival *a, char *why, size_t whylen);
	void *arg;
};

enum canary_smtp_action {
	CANARY_ACT_IO = 0,   /* write canary_smtp_output(), read into canary_smtp_feed() */
	CANARY_ACT_STARTTLS, /* flush the output (the 220), then start TLS as server */
	CANARY_ACT_CLOSE,    /* flush the output, then close */
};

struct canary_smtp;

/* A session for a connection from peer_ip:peer_port; the banner is already
 * in the output. NULL on OOM. */
struct canary_smtp *canary_smtp_new(const struct canary_smtp_params *p, const char *peer_ip,
                                    unsigned peer_port, uint64_t now_ms);
void canary_smtp_free(struct canary_smtp **sp);
/* Bytes from the client, at most RP_CANARY_FEED_MAX, only while
 * canary_smtp_wants_read() (more is refused: 421 and CLOSE). Lines over
 * RP_SMTP_LINE_MAX are refused (500 5.5.2, counted as errors), never
 * buffered past it. Commands are processed in order (PIPELINING) until the
 * output passes RP_CANARY_OUT_HIGH; the rest is held back: after writing
 * output call canary_smtp_feed(s, now, NULL, 0) to let the session go on.
 * Bytes after STARTTLS are discarded. Returns the next action. */
enum canary_smtp_action canary_smtp_feed(struct canary_smtp *s, uint64_t now_ms, const char *buf,
                                         size_t len);
/* The TLS handshake finished (protocol/cipher NULL when it failed: the
 * session then wants CLOSE). Resets the session state per RFC 3207. */
enum canary_smtp_action canary_smtp_tls_done(struct canary_smtp *s, const char *protocol,
                                             const char *cipher);
/* The idle timeout passed: "421 4.4.2 timeout" is queued, action CLOSE. */
enum canary_smtp_action canary_smtp_timeout(struct canary_smtp *s, uint64_t now_ms);
/* The driver ends the session (a cap, the session timeout, shutdown):
 * "421 <text>" is queued (text like "4.7.0 too many messages", CR/LF and
 * control bytes replaced) and the action is CLOSE. */
enum canary_smtp_action canary_smtp_close(struct canary_smtp *s, const char *text);
/* Whether the driver should read from the client and feed: false while the
 * output is over RP_CANARY_OUT_HIGH or input is held back, during the TLS
 * handshake and after CLOSE. */
bool canary_smtp_wants_read(const struct canary_smtp *s);
/* Complete lines (commands and message lines) processed so far: the driver's
 * idle timer restarts when it moves (a client dripping one byte at a time
 * never completes a line and times out). */
uint64_t canary_smtp_lines(const struct canary_smtp *s);
const char *canary_smtp_output(const struct canary_smtp *s, size_t *len);
void canary_smtp_output_consume(struct canary_smtp *s, size_t n);
/* The state's name ("GREETED", "READY", "MAIL", "RCPT", "DATA", "TLS",
 * "CLOSED"), for logs and tests. */
const char *canary_smtp_state_name(const struct canary_smtp *s);
/* Bytes this session holds now (buffers included), for the memory bound. */
size_t canary_smtp_footprint(const struct canary_smtp *s);

/* Counters of one session, read by the driver at the end. */
struct canary_smtp_stats {
	unsigned messages;     /* committed */
	unsigned refused_rcpt; /* 550 for a recipient */
	unsigned oversize;     /* 552 */
	unsigned errors;       /* bad commands / lines */
	unsigned commit_failed;
	size_t bytes_in;
};
void canary_smtp_stats(const struct canary_smtp *s, struct canary_smtp_stats *out);

#endif
