/* dialog.h - the SMTP relay-test dialog, sans-I/O: bytes in, bytes out,
 * actions and a deadline up. One dialog = one target address:port seen from
 * one vantage; it may span several SMTP sessions (reconnect after 421, a drop
 * or an exhausted error budget; one retry of 4xx after a delay). It never
 * touches a socket or a clock: every entry point takes the time in ms. */
#ifndef RP_DIALOG_H
#define RP_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay_tests.h"
#include "transcript.h"
#include "verdict.h"

enum dialog_tls_policy {
	DLG_TLS_AUTO = 0, /* STARTTLS when offered; plain when not; on handshake
	                     failure, go on without TLS in a new session */
	DLG_TLS_REQUIRE,  /* no tests without TLS */
	DLG_TLS_OFF,      /* never STARTTLS */
	DLG_TLS_IMPLICIT, /* TLS from the first byte (port 465) */
	DLG_TLS_COUNT
};
const char *dialog_tls_policy_name(enum dialog_tls_policy p);
int dialog_tls_policy_from_name(const char *name); /* -1 when unknown */

struct dialog_params {
	const char *ehlo_name;    /* our EHLO/HELO name */
	const char *from_local;   /* F */
	const char *to_local;     /* T */
	const char *to_domain;    /* D */
	const char *local_domain; /* L when known (--local-domain, MX query); NULL
	                             to derive it from the server's name */
	const char *server_ip;    /* textual address, for the {IP} literal */
	const char *server_host;  /* the name the target was reached by (MX host or
	                             the name given), used for {S} when the server
	                             names itself no usable way; NULL for addresses */
	const size_t *tests;      /* catalogue indices (copied) */
	size_t ntests;
	/* Per test, parallel to tests (copied; NULL, or a NULL entry, = the
	 * common from_local / to_local): the canary's tokens ("rp-<token>" for
	 * T, "rp-b-<token>" for F), so that each test message is its own proof. */
	const char *const *to_locals;
	const char *const *from_locals;
	const char *contact; /* operator contact line in the test message, NULL none */
	enum dialog_tls_policy tls;
	bool send_data;          /* DATA after an accepted RCPT, judge end of DATA */
	unsigned session_errors; /* 4xx/5xx replies allowed per session before the
	                            rest goes to a new session (default 8: Postfix
	                            slows down at 10, drops at 20) */
	unsigned max_sessions;   /* default 8, at most RP_SESSIONS_MAX */
	unsigned retry_after_ms; /* wait before retrying 4xx tests (default 60 s) */
	unsigned reconnect_ms;   /* wait before reconnecting after 421/drop (default 2 s) */
	unsigned connect_ms;     /* TCP connect (+implicit TLS) timeout (default 30 s) */
	unsigned banner_ms;      /* greeting, tarpit patience (default 60 s) */
	unsigned command_ms;     /* each command reply (default 60 s) */
	unsigned data_ms;        /* end of DATA reply (default 120 s) */
	unsigned deadline_ms;    /* hard deadline of the whole dialog from its
	                            start; 0 or more than RP_DIALOG_DEADLINE_MULT x
	                            command_ms means that bound (default 0: 30 min
	                            with the default command timeout) */
};
/* Fill p with the defaults above (strings NULL, tests none). */
void dialog_params_defaults(struct dialog_params *p);

/* What the driver must do next. */
enum dialog_action {
	DLG_ACT_CONNECT = 0, /* open a new connection (not before dialog_wake_at()),
	                        then call dialog_connected() or dialog_connect_failed() */
	DLG_ACT_IO,          /* connected: write dialog_output(), read into
	                        dialog_feed(), call dialog_timeout() at dialog_deadline() */
	DLG_ACT_STARTTLS,    /* start the TLS handshake on this connection, then
	                        call dialog_tls_done() */
	DLG_ACT_CLOSE,       /* flush dialog_output() if possible, close, then call
	                        dialog_disconnected() */
	DLG_ACT_DONE,        /* finished: read the results */
	DLG_ACT_COUNT
};
const char *dialog_action_name(enum dialog_action a);

/* Facts of the TLS session, filled by the driver. */
struct dialog_tls_info {
	char protocol[16]; /* "TLSv1.3" */
	char cipher[64];
	char subject[256];
	char issuer[256];
	char not_after[32]; /* "2027-01-01T00:00:00Z" */
	bool chain_ok;      /* chain verifies against the system trust store */
	bool name_ok;       /* certificate matches the host name */
	char verify_error[96];
};

struct dialog_test_result {
	size_t test; /* catalogue index */
	enum test_outcome outcome;
	enum reject_class rclass; /* for TO_REJECTED / TO_TEMPFAIL */
	int code;                 /* deciding reply code, 0 when none */
	char esc[16];             /* its enhanced status code */
	const char *mail_from;    /* expanded, without <>; NULL when not built */
	const char *rcpt_to;
	const char *reason; /* for not-run / error: static text */
	int evidence;       /* transcript index of the deciding line, -1 none */
	unsigned attempts;  /* times the test was sent */
	bool data_sent;     /* its test message was sent and the end of DATA answered */
};

struct dialog;

/* Copies what it needs from p. NULL on bad params or OOM. */
struct dialog *dialog_new(const struct dialog_params *p, uint64_t now_ms);
void dialog_free(struct dialog **d);

enum dialog_action dialog_next(const struct dialog *d);
/* Earliest time for DLG_ACT_CONNECT (ms); the driver may wait longer. */
uint64_t dialog_wake_at(const struct dialog *d);
/* Deadline of the current state, never later than the dialog's hard
 * deadline (also in IDLE, while waiting to connect); 0 when done. When it
 * passes, call dialog_timeout(): past the hard deadline the dialog ends as
 * error "dialog deadline of N s passed" (closing its connection first). */
uint64_t dialog_deadline(const struct dialog *d);
/* The hard deadline itself (start + the bound of deadline_ms). */
uint64_t dialog_hard_deadline(const struct dialog *d);

/* The driver calls connect() now (starts the connect deadline; records
 * "Trying ADDR"). Then, in this connection attempt, exactly one of: */
void dialog_connecting(struct dialog *d, uint64_t now_ms, const char *peer);
void dialog_connected(struct dialog *d, uint64_t now_ms, const char *peer);
void dialog_connect_failed(struct dialog *d, uint64_t now_ms, const char *why);
/* Bytes from the server (plaintext, after TLS if any). Returns 0, or -1 when
 * the dialog now wants the connection closed (check dialog_next()). */
int dialog_feed(struct dialog *d, uint64_t now_ms, const char *buf, size_t len);
/* info NULL = handshake failed, why says how. */
void dialog_tls_done(struct dialog *d, uint64_t now_ms, const struct dialog_tls_info *info,
                     const char *why);
/* An established TLS session broke because our policy refused what the
 * server asked (renegotiation): handled like a failed handshake (auto: the
 * next session goes on in plain text; require/implicit: error). The driver
 * then closes and calls dialog_disconnected(). */
void dialog_tls_refused(struct dialog *d, uint64_t now_ms, const char *why);
/* End the dialog now as error (the run's own deadline): tests not decided
 * become errors with reason (static, or outliving the dialog); a connection
 * still open must be closed by the driver, without dialog_disconnected(). */
void dialog_abort(struct dialog *d, uint64_t now_ms, const char *reason);
/* The peer closed or reset (why set), or we closed after DLG_ACT_CLOSE (why NULL). */
void dialog_disconnected(struct dialog *d, uint64_t now_ms, const char *why);
void dialog_timeout(struct dialog *d, uint64_t now_ms);
/* Record an engine event (DNS, politeness waits...) in the transcript. */
void dialog_event(struct dialog *d, uint64_t now_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Pending output; consume what was written. */
const char *dialog_output(const struct dialog *d, size_t *len);
void dialog_output_consume(struct dialog *d, size_t n);
/* True while TLS is up on the current connection (output goes through it). */
bool dialog_tls_active(const struct dialog *d);

/* Results: valid at any time, final at DLG_ACT_DONE. */
enum dialog_verdict dialog_verdict(const struct dialog *d);
enum rt_confidence dialog_confidence(const struct dialog *d); /* for open */
/* Transcript indices of the lines that decided the verdict. */
const int *dialog_evidence(const struct dialog *d, size_t *n);
const char *dialog_verdict_reason(const struct dialog *d); /* one line, may be "" */
const struct dialog_test_result *dialog_results(const struct dialog *d, size_t *n);
const struct transcript *dialog_transcript(const struct dialog *d);
const char *dialog_server_name(const struct dialog *d);  /* from banner/EHLO, or NULL */
const char *dialog_local_domain(const struct dialog *d); /* L used, or NULL */
const char *dialog_banner(const struct dialog *d);       /* first banner line, or NULL */
/* Extensions seen in the last EHLO reply, as a bit set of DLG_EXT_*. */
enum {
	DLG_EXT_STARTTLS = 1 << 0,
	DLG_EXT_AUTH = 1 << 1,
	DLG_EXT_PIPELINING = 1 << 2,
	DLG_EXT_SIZE = 1 << 3,
	DLG_EXT_8BITMIME = 1 << 4,
	DLG_EXT_SMTPUTF8 = 1 << 5,
	DLG_EXT_CHUNKING = 1 << 6,
	DLG_EXT_ENHANCEDSTATUSCODES = 1 << 7,
	DLG_EXT_LIMITS = 1 << 8, /* RFC 9422: its MAILMAX and RCPTMAX are obeyed */
};
#define DLG_EXT_COUNT 9
/* The extensions relayprobe knows, by bit: their EHLO keywords, in bit
 * order (dialog_ext_names[i].bit == 1 << i). */
struct dialog_ext_name {
	unsigned bit;
	const char *keyword;
};
extern const struct dialog_ext_name dialog_ext_names[DLG_EXT_COUNT];
unsigned dialog_extensions(const struct dialog *d);
bool dialog_used_helo(const struct dialog *d);
const struct dialog_tls_info *dialog_tls(const struct dialog *d); /* NULL when no TLS */
unsigned dialog_sessions(const struct dialog *d);
/* Round trips spent waiting for replies (for the benchmark). */
unsigned dialog_round_trips(const struct dialog *d);

#endif
