/* dialog.c - the SMTP relay-test dialog as a sans-I/O state machine: banner,
 * EHLO (HELO fallback), STARTTLS, relay tests (pipelined in batches sized to
 * the session's error budget), optional DATA, QUIT; new sessions after 421,
 * drops and exhausted budgets, one retry of 4xx after a delay. Input is framed
 * into lines of at most RP_SMTP_LINE_MAX; output is capped at RP_DIALOG_OUT_MAX;
 * everything sent and received goes to the bounded transcript. A hard
 * deadline (at most RP_DIALOG_DEADLINE_MULT command timeouts from the start)
 * bounds the whole dialog, whatever the sessions, retries and tarpits.
 * About 1,600 lines: the states share one struct dialog and its transcript,
 * and splitting the reply handlers from the state table would put the one
 * state machine in two files; the reply parser (smtp_reply.c), the test
 * catalogue (relay_tests.c) and the verdict rules (verdict.c) are apart. */
#include "dialog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rp_limits.h"
#include "rp_names.h"
#include "rp_take.h"
#include "smtp_reply.h"
#include "target.h"

enum dlg_state {
	ST_IDLE = 0,   /* no connection; waiting to (re)connect */
	ST_CONNECTING, /* connect() issued */
	ST_BANNER,     /* waiting for the greeting */
	ST_EHLO,
	ST_HELO,
	ST_STARTTLS, /* STARTTLS sent */
	ST_TLS,      /* handshake in the driver's hands */
	ST_TESTS,    /* relay tests in flight */
	ST_DATA,     /* DATA sent, waiting for 354 */
	ST_DATA_END, /* message sent, waiting for the end-of-data reply */
	ST_QUIT,     /* QUIT sent */
	ST_CLOSING,  /* the driver closes the connection */
	ST_DONE,
	ST_COUNT
};

const struct dialog_ext_name dialog_ext_names[DLG_EXT_COUNT] = {
    {DLG_EXT_STARTTLS, "STARTTLS"},     {DLG_EXT_AUTH, "AUTH"},
    {DLG_EXT_PIPELINING, "PIPELINING"}, {DLG_EXT_SIZE, "SIZE"},
    {DLG_EXT_8BITMIME, "8BITMIME"},     {DLG_EXT_SMTPUTF8, "SMTPUTF8"},
    {DLG_EXT_CHUNKING, "CHUNKING"},     {DLG_EXT_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES"},
    {DLG_EXT_LIMITS, "LIMITS"},
};

static const char *const state_names[] = {"IDLE",     "CONNECTING", "BANNER", "EHLO", "HELO",
                                          "STARTTLS", "TLS",        "TESTS",  "DATA", "DATA-END",
                                          "QUIT",     "CLOSING",    "DONE"};
RP_ENUM_TABLE_CHECK(state_names, ST_COUNT);

/* What each reply we wait for answers. */
enum cmd_kind { CMD_RSET, CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_BODY, CMD_QUIT, CMD_OTHER };

/* Where a test stands. */
enum slot_state {
	SL_PENDING = 0, /* to be sent in this or a later session */
	SL_IN_FLIGHT,
	SL_RETRY, /* got 4xx once: retry in a later session after a delay */
	SL_DONE
};

struct slot {
	struct dialog_test_result *r; /* into dialog.res */
	enum slot_state st;
	bool mail_ok;     /* MAIL accepted in the current attempt */
	bool mail_failed; /* MAIL refused: the RCPT reply does not count */
	bool retried;     /* this is the retry attempt */
	char *mail, *rcpt;
	char *T, *F; /* this test's own local parts (canary tokens), NULL = common */
};

struct pending {
	enum cmd_kind kind;
	int slot; /* -1 when not a test command */
};

#define PIPE_MAX (3 * RP_TESTS_MAX + 4)

struct dialog {
	struct dialog_params p;
	char *ehlo_name, *from_local, *to_local, *to_domain, *local_domain, *server_ip,
	    *server_host, *contact;
	char ip_literal[64];

	enum dlg_state state;
	uint64_t state_since, deadline, wake_at, started;
	uint64_t hard_deadline; /* started + the dialog's bound */
	struct transcript *tr;

	/* connection */
	bool tls_active, tls_broken, ever_connected;
	bool first_txn;    /* no transaction yet in this session: no RSET needed */
	bool abort_delay;  /* the session ended badly: wait before the next */
	bool tls_fallback; /* this session ended to go on without TLS: it does not
	                      count as fruitless (once: tls_broken is set) */
	unsigned sessions, session_errors, fruitless, greet_tempfails, round_trips;
	unsigned decided_this_session;
	unsigned ext;
	/* RFC 9422 LIMITS of this session (0: none said): transactions per
	 * session, recipients per transaction; MAILs sent in this session;
	 * sessions ended at MAILMAX with progress (they do not count against
	 * max_sessions, RP_SESSIONS_MAX still bounds them). */
	unsigned mail_max, rcpt_max, mails_this_session, limit_sessions;
	bool limit_quit;
	bool used_helo, pipelining;
	struct dialog_tls_info tls;
	bool have_tls;
	char *server_name, *banner;
	char derived_local[RP_DOMAIN_MAX + 1];

	/* input framing and parsing */
	char inbuf[RP_SMTP_LINE_MAX + 2];
	size_t inlen;
	bool discard_line; /* inside an over-long line being skipped */
	struct smtp_reply_parser *parser;

	/* output */
	char *out;
	size_t outlen, outcap;

	/* pipeline of commands awaiting replies */
	struct pending pipe[PIPE_MAX];
	size_t pipe_head, pipe_len;
	bool quit_queued;

	/* tests */
	struct dialog_test_result *res;
	struct slot *slots;
	size_t nslots;
	int data_slot; /* slot in DATA phase, -1 none */

	/* verdict */
	bool fatal_set;
	enum dialog_verdict fatal;
	int fatal_evidence;
	char reason[160];
	int *evidence;
	size_t nevidence;
	enum dialog_verdict verdict;
	enum rt_confidence conf;
};

static const char *const tls_policy_names[] = {"auto", "require", "off", "implicit"};
RP_ENUM_TABLE_CHECK(tls_policy_names, DLG_TLS_COUNT);

static const char *const action_names[] = {"connect", "io", "starttls", "close", "done"};
RP_ENUM_TABLE_CHECK(action_names, DLG_ACT_COUNT);

const char *dialog_tls_policy_name(enum dialog_tls_policy p)
{
	return rp_name(tls_policy_names, DLG_TLS_COUNT, (int)p, "?");
}

int dialog_tls_policy_from_name(const char *name)
{
	return rp_name_find(tls_policy_names, DLG_TLS_COUNT, name, false);
}

const char *dialog_action_name(enum dialog_action a)
{
	return rp_name(action_names, DLG_ACT_COUNT, (int)a, "?");
}

void dialog_params_defaults(struct dialog_params *p)
{
	memset(p, 0, sizeof(*p));
	p->tls = DLG_TLS_AUTO;
	p->session_errors = 8;
	p->max_sessions = 8;
	p->retry_after_ms = 60000;
	p->reconnect_ms = 2000;
	p->connect_ms = 30000;
	p->banner_ms = 60000;
	p->command_ms = 60000;
	p->data_ms = 120000;
}

/* ------------------------------------------------------------------ */
/* small helpers */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* One transcript entry from fmt, cut at 511 bytes (ev() and dialog_event()). */
static void ev_va(struct dialog *d, uint64_t now, enum tr_dir dir, bool tls, const char *fmt,
                  va_list ap) __attribute__((format(printf, 5, 0)));

static void ev_va(struct dialog *d, uint64_t now, enum tr_dir dir, bool tls, const char *fmt,
                  va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n >= 0)
		transcript_add(d->tr, now, dir, tls, buf,
		               (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void ev(struct dialog *d, uint64_t now, enum tr_dir dir, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ev(struct dialog *d, uint64_t now, enum tr_dir dir, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ev_va(d, now, dir, d->tls_active, fmt, ap);
	va_end(ap);
}

static unsigned state_timeout(const struct dialog *d, enum dlg_state s)
{
	switch (s) {
	case ST_CONNECTING:
	case ST_TLS:
		return d->p.connect_ms;
	case ST_BANNER:
		return d->p.banner_ms;
	case ST_EHLO:
	case ST_HELO:
	case ST_STARTTLS:
	case ST_TESTS:
	case ST_DATA:
		return d->p.command_ms;
	case ST_DATA_END:
		return d->p.data_ms;
	case ST_QUIT:
		return d->p.command_ms < 10000 ? d->p.command_ms : 10000;
	default:
		return 0;
	}
}

/* "30 s", or "2500 ms" when not whole seconds. */
static void span_text(uint64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llu s", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llu ms", (unsigned long long)ms);
}

/* The one place the state changes. */
static void enter_state(struct dialog *d, uint64_t now, enum dlg_state s)
{
	unsigned to = state_timeout(d, s);

	d->state = s;
	d->state_since = now;
	d->deadline = to ? now + to : 0;
}

static void out_append(struct dialog *d, const char *s, size_t n)
{
	if (d->outlen + n > RP_DIALOG_OUT_MAX)
		return; /* cannot happen with the batch limits; never overflow */
	if (d->outlen + n > d->outcap) {
		size_t cap = d->outcap ? d->outcap : 512;
		char *nb;

		while (cap < d->outlen + n)
			cap *= 2;
		if (cap > RP_DIALOG_OUT_MAX)
			cap = RP_DIALOG_OUT_MAX;
		nb = realloc(d->out, cap);
		if (nb == NULL)
			return;
		d->out = nb;
		d->outcap = cap;
	}
	memcpy(d->out + d->outlen, s, n);
	d->outlen += n;
}

/* Queue one command line: output, transcript, pipeline entry. */
static void send_cmd(struct dialog *d, uint64_t now, enum cmd_kind kind, int slot, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));

static void send_cmd(struct dialog *d, uint64_t now, enum cmd_kind kind, int slot, const char *fmt,
                     ...)
{
	char line[RP_SMTP_CMD_MAX + 3];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		n = (int)strlen(line);
	transcript_add(d->tr, now, TR_SENT, d->tls_active, line, (size_t)n);
	line[n] = '\r';
	line[n + 1] = '\n';
	if (d->pipe_len == 0)
		d->round_trips++;
	if (kind == CMD_MAIL)
		d->mails_this_session++;
	out_append(d, line, (size_t)n + 2);
	if (d->pipe_len < PIPE_MAX) {
		d->pipe[(d->pipe_head + d->pipe_len) % PIPE_MAX] = (struct pending){kind, slot};
		d->pipe_len++;
	}
}

static void pipe_clear(struct dialog *d)
{
	d->pipe_head = 0;
	d->pipe_len = 0;
}

static bool valid_name(const char *s)
{
	return s && *s && target_hostname_ok(s) && strchr(s, '.') != NULL;
}

/* First word of a reply's first line, when it looks like a host name. */
static char *reply_name(const struct smtp_reply *r)
{
	char first[RP_DOMAIN_MAX + 2];
	size_t n = 0;

	while (r->text[n] && r->text[n] != ' ' && r->text[n] != '\n' && n < sizeof(first) - 1) {
		first[n] = r->text[n];
		n++;
	}
	first[n] = '\0';
	while (n > 0 && first[n - 1] == '.')
		first[--n] = '\0';
	return valid_name(first) ? strdup(first) : NULL;
}

/* ------------------------------------------------------------------ */
/* test slots */

static size_t slots_in(const struct dialog *d, enum slot_state st)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nslots; i++)
		n += d->slots[i].st == st;
	return n;
}

static void slot_finish(struct dialog *d, int i, enum test_outcome o, enum reject_class rc,
                        const struct smtp_reply *r, int evidence)
{
	struct slot *s = &d->slots[i];

	s->st = SL_DONE;
	s->r->outcome = o;
	s->r->rclass = rc;
	s->r->evidence = evidence;
	if (r) {
		s->r->code = r->code;
		snprintf(s->r->esc, sizeof(s->r->esc), "%s", r->esc);
	}
	d->decided_this_session++;
}

static void slot_fail_rest(struct dialog *d, enum test_outcome o, const char *reason, int evidence)
{
	for (size_t i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (s->st == SL_DONE)
			continue;
		/* A test that already got its one 4xx stays a tempfail. */
		if (s->st == SL_RETRY && s->r->outcome == TO_TEMPFAIL) {
			s->st = SL_DONE;
			continue;
		}
		s->st = SL_DONE;
		s->r->outcome = o;
		s->r->reason = reason;
		if (s->r->evidence < 0)
			s->r->evidence = evidence;
	}
}

/* Build the addresses of every slot now that S and L are known. */
static void slots_expand(struct dialog *d)
{
	size_t n;
	const struct relay_test_def *all = relay_tests_all(&n);
	struct rt_params rp = {
	    .F = d->from_local,
	    .T = d->to_local,
	    .D = d->to_domain,
	    .S = d->server_name,
	    .L =
	        d->local_domain ? d->local_domain : (d->derived_local[0] ? d->derived_local : NULL),
	    .IP = d->ip_literal[0] ? d->ip_literal : NULL,
	};

	for (size_t i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];
		char mail[RP_ADDR_MAX], rcpt[RP_ADDR_MAX];
		const char *why = NULL;

		if (s->mail != NULL || s->st == SL_DONE)
			continue;
		rp.F = s->F ? s->F : d->from_local;
		rp.T = s->T ? s->T : d->to_local;
		if (relay_test_expand(&all[s->r->test], &rp, mail, sizeof(mail), rcpt, sizeof(rcpt),
		                      &why) < 0) {
			s->st = SL_DONE;
			s->r->outcome = TO_NOT_RUN;
			s->r->reason = why;
			continue;
		}
		s->mail = strdup(mail);
		s->rcpt = strdup(rcpt);
		if (s->mail == NULL || s->rcpt == NULL) {
			s->st = SL_DONE;
			s->r->outcome = TO_ERROR;
			s->r->reason = "out of memory";
			continue;
		}
		s->r->mail_from = s->mail;
		s->r->rcpt_to = s->rcpt;
	}
}

/* S falls back to the name we reached the server by; L is the parent domain
 * of S when S has three labels or more, else S. */
static void derive_local(struct dialog *d, uint64_t now)
{
	const char *n, *dot;

	if (d->server_name == NULL && valid_name(d->server_host)) {
		d->server_name = strdup(d->server_host);
		ev(d, now, TR_EVENT, "Server gave no usable name; using %s for the server name",
		   d->server_host);
	}
	n = d->server_name;

	if (d->local_domain || n == NULL || d->derived_local[0])
		return;
	dot = strchr(n, '.');
	if (dot && strchr(dot + 1, '.'))
		snprintf(d->derived_local, sizeof(d->derived_local), "%s", dot + 1);
	else
		snprintf(d->derived_local, sizeof(d->derived_local), "%s", n);
}

/* ------------------------------------------------------------------ */
/* session control */

static void set_fatal(struct dialog *d, enum dialog_verdict v, int evidence, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_fatal(struct dialog *d, enum dialog_verdict v, int evidence, const char *fmt, ...)
{
	va_list ap;

	if (d->fatal_set)
		return;
	d->fatal_set = true;
	d->fatal = v;
	d->fatal_evidence = evidence;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

static void send_quit(struct dialog *d, uint64_t now)
{
	if (!d->quit_queued) {
		send_cmd(d, now, CMD_QUIT, -1, "QUIT");
		d->quit_queued = true;
	}
	enter_state(d, now, ST_QUIT);
}

/* The session cannot go on (drop, 421, timeout, protocol error): tests in
 * flight go back to pending and the connection is closed. */
static void session_abort(struct dialog *d, uint64_t now)
{
	for (size_t i = 0; i < d->nslots; i++)
		if (d->slots[i].st == SL_IN_FLIGHT)
			d->slots[i].st = SL_PENDING;
	d->data_slot = -1;
	d->abort_delay = true;
	pipe_clear(d);
	enter_state(d, now, ST_CLOSING);
}

static void begin_tests(struct dialog *d, uint64_t now);

/* After EHLO/HELO (and TLS): decide STARTTLS or go to the tests. */
static void after_greeting(struct dialog *d, uint64_t now)
{
	bool offered = (d->ext & DLG_EXT_STARTTLS) != 0;

	if (!d->tls_active && !d->tls_broken && offered &&
	    (d->p.tls == DLG_TLS_AUTO || d->p.tls == DLG_TLS_REQUIRE)) {
		send_cmd(d, now, CMD_OTHER, -1, "STARTTLS");
		enter_state(d, now, ST_STARTTLS);
		return;
	}
	if (d->p.tls == DLG_TLS_REQUIRE && !d->tls_active) {
		int e =
		    transcript_addf(d->tr, now, TR_ERROR, false, "TLS required by policy but %s",
		                    offered ? "STARTTLS failed" : "STARTTLS not offered");
		slot_fail_rest(d, TO_NOT_RUN,
		               offered ? "STARTTLS failed (--tls require)"
		                       : "STARTTLS not offered (--tls require)",
		               e);
		set_fatal(d, DV_ERROR, e, "TLS required but %s",
		          offered ? "STARTTLS failed" : "STARTTLS not offered");
		send_quit(d, now);
		return;
	}
	begin_tests(d, now);
}

static void send_ehlo(struct dialog *d, uint64_t now)
{
	d->ext = 0;
	d->mail_max = d->rcpt_max = 0;
	d->pipelining = false;
	send_cmd(d, now, CMD_OTHER, -1, "EHLO %s", d->p.ehlo_name);
	enter_state(d, now, ST_EHLO);
}

/* An EHLO reply's "LIMITS name=value ..." (RFC 9422 section 4): MAILMAX and
 * RCPTMAX, names in any case, values 1..RP_LIMITS_VALUE_MAX decimal; other
 * limits, malformed ones and repeats after the first are ignored. p runs to
 * the end of the EHLO line. */
static void parse_limits(struct dialog *d, const char *p)
{
	while (*p == ' ') {
		const char *name = ++p, *eq;
		unsigned long v = 0;
		size_t nlen, digits = 0;

		while (*p != '\0' && *p != ' ' && *p != '\n' && *p != '\r')
			p++;
		eq = memchr(name, '=', (size_t)(p - name));
		if (eq == NULL)
			continue;
		nlen = (size_t)(eq - name);
		for (const char *c = eq + 1; c < p; c++, digits++) {
			if (*c < '0' || *c > '9' || digits >= 9) {
				v = 0;
				break;
			}
			v = v * 10 + (unsigned long)(*c - '0');
		}
		if (v == 0 || v > RP_LIMITS_VALUE_MAX)
			continue;
		if (nlen == 7 && strncasecmp(name, "MAILMAX", 7) == 0 && d->mail_max == 0)
			d->mail_max = (unsigned)v;
		else if (nlen == 7 && strncasecmp(name, "RCPTMAX", 7) == 0 && d->rcpt_max == 0)
			d->rcpt_max = (unsigned)v;
	}
}

/* Send the next batch of tests, or finish the session. */
static void begin_tests(struct dialog *d, uint64_t now)
{
	size_t pending = slots_in(d, SL_PENDING);
	unsigned budget;
	size_t batch, sent = 0;

	slots_expand(d);
	pending = slots_in(d, SL_PENDING);
	budget =
	    d->p.session_errors > d->session_errors ? d->p.session_errors - d->session_errors : 0;
	if (pending == 0 || budget == 0) {
		send_quit(d, now);
		return;
	}
	if (d->mail_max != 0 && d->mails_this_session >= d->mail_max) {
		ev(d, now, TR_EVENT, "LIMITS MAILMAX=%u reached: new session for %zu test(s)",
		   d->mail_max, pending);
		d->limit_quit = true;
		send_quit(d, now);
		return;
	}
	batch = d->pipelining && !d->p.send_data ? (pending < budget ? pending : budget) : 1;
	/* The server's own limits: no more transactions than MAILMAX leaves in
	 * this session, and each pipelined group within RCPTMAX recipients (one
	 * per test: a test is its own transaction, so RCPTMAX per transaction
	 * holds by construction; the group bound is the conservative reading). */
	if (d->mail_max != 0 && batch > d->mail_max - d->mails_this_session)
		batch = d->mail_max - d->mails_this_session;
	if (d->rcpt_max != 0 && batch > d->rcpt_max)
		batch = d->rcpt_max;
	enter_state(d, now, ST_TESTS);
	for (size_t i = 0; i < d->nslots && sent < batch; i++) {
		struct slot *s = &d->slots[i];

		if (s->st != SL_PENDING)
			continue;
		s->st = SL_IN_FLIGHT;
		s->mail_ok = s->mail_failed = false;
		s->r->attempts++;
		if (!d->first_txn) {
			send_cmd(d, now, CMD_RSET, (int)i, "RSET");
			if (!d->pipelining) { /* lockstep: MAIL follows RSET's reply */
				sent++;
				continue;
			}
		}
		d->first_txn = false;
		send_cmd(d, now, CMD_MAIL, (int)i, "MAIL FROM:<%s>", s->mail);
		if (d->pipelining)
			send_cmd(d, now, CMD_RCPT, (int)i, "RCPT TO:<%s>", s->rcpt);
		sent++;
	}
	/* RFC 2920: QUIT may end a pipelined group; when this batch holds every
	 * remaining test, save the round trip. */
	if (d->pipelining && !d->p.send_data && sent == pending)
		send_cmd(d, now, CMD_QUIT, -1, "QUIT"), d->quit_queued = true;
}

/* The test message: small and fixed, saying what it is. With a canary the
 * test's token (its T, "rp-<token>") is in Subject, Message-ID and body, so
 * the arrival is matched even when a relay rewrites the envelope. */
static void build_message(struct dialog *d, uint64_t now, int slot)
{
	char date[64], contact[RP_ADDR_MAX + 32] = "", buf[2048];
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	size_t nt;
	const struct relay_test_def *all = relay_tests_all(&nt);
	const struct slot *s = &d->slots[slot];
	const char *id = all[s->r->test].id;
	const char *tok = s->T ? s->T : d->to_local;
	int n;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (d->contact)
		snprintf(contact, sizeof(contact), "Contact: %s\r\n", d->contact);
	n = snprintf(buf, sizeof(buf),
	             "From: <%s>\r\n"
	             "To: <%s>\r\n"
	             "Subject: relayprobe open relay test %s %s\r\n"
	             "Date: %s\r\n"
	             "Message-ID: <%s.%llu@%s>\r\n"
	             "X-Relayprobe-Test: %s\r\n"
	             "\r\n"
	             "This message was sent by relayprobe, an open-relay auditing tool, in an\r\n"
	             "authorised audit, to check whether this mail server relays mail for\r\n"
	             "strangers. It is addressed to a test mailbox; nothing needs doing.\r\n"
	             "Test: %s\r\n"
	             "Token: %s\r\n"
	             "%s",
	             s->mail, s->rcpt, id, tok, date, tok, (unsigned long long)now, d->p.ehlo_name,
	             id, id, tok, contact);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = (int)strlen(buf);
	out_append(d, buf, (size_t)n);
	transcript_addf(d->tr, now, TR_EVENT, d->tls_active, "Sent the %d-byte test message", n);
	send_cmd(d, now, CMD_BODY, slot, ".");
}

/* ------------------------------------------------------------------ */
/* replies */

static bool is_2xx(int c)
{
	return c >= 200 && c < 300;
}
static bool is_4xx(int c)
{
	return c >= 400 && c < 500;
}

static void skip_pending(struct dialog *d, enum reject_class rc);

/* A test got a 4xx: first time, retry later; second time, tempfail. */
static void slot_tempfail(struct dialog *d, int i, const struct smtp_reply *r, int evidence,
                          bool at_mail)
{
	struct slot *s = &d->slots[i];

	s->r->code = r->code;
	snprintf(s->r->esc, sizeof(s->r->esc), "%s", r->esc);
	s->r->evidence = evidence;
	s->r->outcome = TO_TEMPFAIL;
	s->r->rclass = verdict_classify(r, at_mail);
	if (s->retried) {
		slot_finish(d, i, TO_TEMPFAIL, s->r->rclass, r, evidence);
	} else {
		s->st = SL_RETRY;
		s->retried = true;
		d->decided_this_session++;
	}
}

/* DATA or the end of a test's message was refused: spends error budget; a
 * 4xx retries (or tempfails), anything else rejects the test. */
static void slot_data_refused(struct dialog *d, int i, const struct smtp_reply *r, int evidence)
{
	d->session_errors++;
	if (is_4xx(r->code))
		slot_tempfail(d, i, r, evidence, false);
	else
		slot_finish(d, i, TO_REJECTED, verdict_classify(r, false), r, evidence);
}

static void on_test_reply(struct dialog *d, uint64_t now, struct pending pe,
                          const struct smtp_reply *r, int evidence)
{
	struct slot *s = pe.slot >= 0 ? &d->slots[pe.slot] : NULL;

	if (!is_2xx(r->code))
		d->session_errors++;
	if (s == NULL || s->st != SL_IN_FLIGHT)
		return;
	switch (pe.kind) {
	case CMD_RSET:
		if (!d->pipelining) {
			d->first_txn = false;
			send_cmd(d, now, CMD_MAIL, pe.slot, "MAIL FROM:<%s>", s->mail);
		}
		break;
	case CMD_MAIL:
		if (is_2xx(r->code)) {
			s->mail_ok = true;
			if (!d->pipelining)
				send_cmd(d, now, CMD_RCPT, pe.slot, "RCPT TO:<%s>", s->rcpt);
		} else {
			s->mail_failed = true;
			if (is_4xx(r->code)) {
				slot_tempfail(d, pe.slot, r, evidence, true);
			} else {
				enum reject_class rc = verdict_classify(r, true);

				slot_finish(d, pe.slot, TO_REJECTED, rc, r, evidence);
				if (rc == RC_TLS || rc == RC_AUTH)
					skip_pending(d, rc);
			}
		}
		break;
	case CMD_RCPT:
		if (!s->mail_ok)
			break; /* 503 after a refused MAIL: MAIL decided */
		if (is_2xx(r->code)) {
			if (d->p.send_data) {
				d->data_slot = pe.slot;
				s->r->code = r->code;
				s->r->evidence = evidence;
			} else {
				slot_finish(d, pe.slot, TO_ACCEPTED, RC_NONE, r, evidence);
			}
		} else if (is_4xx(r->code) && !verdict_relay_denial(r)) {
			slot_tempfail(d, pe.slot, r, evidence, false);
		} else {
			/* 5xx, or a 4xx that refuses relaying in so many words
			 * (Postfix's default defer_unauth_destination): final. */
			slot_finish(d, pe.slot, TO_REJECTED, verdict_classify(r, false), r,
			            evidence);
		}
		break;
	default:
		break;
	}
}

/* MAIL FROM itself is refused until TLS/AUTH: no later test can reach RCPT,
 * so the tests not yet sent are not run (and spend no error budget). */
static void skip_pending(struct dialog *d, enum reject_class rc)
{
	for (size_t i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (s->st != SL_PENDING)
			continue;
		s->st = SL_DONE;
		s->r->outcome = TO_NOT_RUN;
		s->r->reason = rc == RC_TLS
		                   ? "not run: the server refuses MAIL FROM before STARTTLS"
		                   : "not run: the server refuses MAIL FROM before AUTH";
	}
}

/* The pipeline is empty: what next in the test phase. */
static void tests_step(struct dialog *d, uint64_t now)
{
	if (d->data_slot >= 0) {
		send_cmd(d, now, CMD_DATA, d->data_slot, "DATA");
		enter_state(d, now, ST_DATA);
		return;
	}
	if (d->quit_queued) {
		enter_state(d, now, ST_QUIT);
		return;
	}
	begin_tests(d, now);
}

static void on_reply(struct dialog *d, uint64_t now, const struct smtp_reply *r, int evidence)
{
	struct pending pe = {CMD_OTHER, -1};
	bool expected = d->pipe_len > 0 || d->state == ST_BANNER;

	/* A command timeout is the time without a reply, not for a whole
	 * pipelined batch: a server that paces replies (Postfix in_flow_delay,
	 * error sleeps) is slow, not dead. */
	if (d->deadline != 0)
		d->deadline = now + state_timeout(d, d->state);
	if (d->pipe_len > 0) {
		pe = d->pipe[d->pipe_head];
		d->pipe_head = (d->pipe_head + 1) % PIPE_MAX;
		d->pipe_len--;
	}
	/* 421 at any point: the server is closing the session (RFC 5321 3.8). */
	if (r->code == 421 && d->state != ST_BANNER && d->state != ST_QUIT) {
		ev(d, now, TR_EVENT, "Server closes the session (421); will reconnect");
		session_abort(d, now);
		return;
	}
	if (!expected) {
		int e = transcript_addf(d->tr, now, TR_ERROR, d->tls_active,
		                        "Unexpected reply with no command pending");
		set_fatal(d, DV_ERROR, e, "protocol error: unexpected reply");
		slot_fail_rest(d, TO_ERROR, "protocol error: unexpected reply", e);
		session_abort(d, now);
		return;
	}

	switch (d->state) {
	case ST_BANNER:
		if (d->banner == NULL) {
			char first[256];

			smtp_reply_first_line(r, first, sizeof(first));
			d->banner = strdup(first);
		}
		if (is_2xx(r->code)) {
			if (d->server_name == NULL)
				d->server_name = reply_name(r);
			send_ehlo(d, now);
		} else if (is_4xx(r->code)) {
			d->greet_tempfails++;
			if (d->greet_tempfails >= 2 || d->p.retry_after_ms == 0) {
				set_fatal(d, DV_TEMPFAIL, evidence,
				          "greeting %d, again after retry", r->code);
				slot_fail_rest(d, TO_TEMPFAIL, "greeting refused (4xx)", evidence);
			} else {
				ev(d, now, TR_EVENT, "Greeting %d: retry in %u s", r->code,
				   d->p.retry_after_ms / 1000);
				d->wake_at = now + d->p.retry_after_ms;
			}
			send_quit(d, now);
		} else {
			set_fatal(d, DV_BLOCKED, evidence, "refused at greeting (%d)", r->code);
			slot_fail_rest(d, TO_NOT_RUN, "refused at greeting", evidence);
			send_quit(d, now);
		}
		break;
	case ST_EHLO:
		if (is_2xx(r->code)) {
			char *name = reply_name(r);
			const char *t = r->text;

			if (d->server_name == NULL)
				d->server_name = name;
			else
				free(name);
			d->used_helo = false;
			/* Extensions: every line after the first. */
			while ((t = strchr(t, '\n')) != NULL) {
				char kw[32];
				size_t k = 0;

				t++;
				while (t[k] && t[k] != ' ' && t[k] != '\n' && t[k] != '=' &&
				       k < sizeof(kw) - 1) {
					kw[k] = t[k];
					k++;
				}
				kw[k] = '\0';
				for (size_t x = 0; x < DLG_EXT_COUNT; x++)
					if (strcasecmp(kw, dialog_ext_names[x].keyword) == 0)
						d->ext |= dialog_ext_names[x].bit;
				if (strcasecmp(kw, "LIMITS") == 0)
					parse_limits(d, t + k);
			}
			if (d->mail_max != 0 || d->rcpt_max != 0)
				ev(d, now, TR_EVENT,
				   "Server's LIMITS: MAILMAX=%u RCPTMAX=%u (0: none)", d->mail_max,
				   d->rcpt_max);
			d->pipelining = (d->ext & DLG_EXT_PIPELINING) != 0;
			derive_local(d, now);
			after_greeting(d, now);
		} else {
			d->session_errors++;
			send_cmd(d, now, CMD_OTHER, -1, "HELO %s", d->p.ehlo_name);
			enter_state(d, now, ST_HELO);
		}
		break;
	case ST_HELO:
		if (is_2xx(r->code)) {
			d->used_helo = true;
			d->ext = 0;
			d->mail_max = d->rcpt_max = 0;
			d->pipelining = false;
			derive_local(d, now);
			after_greeting(d, now);
		} else {
			if (is_4xx(r->code)) {
				set_fatal(d, DV_TEMPFAIL, evidence, "EHLO and HELO refused (%d)",
				          r->code);
				slot_fail_rest(d, TO_TEMPFAIL, "EHLO and HELO refused", evidence);
			} else {
				set_fatal(d, DV_BLOCKED, evidence, "EHLO and HELO refused (%d)",
				          r->code);
				slot_fail_rest(d, TO_NOT_RUN, "EHLO and HELO refused", evidence);
			}
			send_quit(d, now);
		}
		break;
	case ST_STARTTLS:
		if (r->code == 220) {
			/* RFC 3207 5: nothing the server sent before TLS counts. */
			if (d->inlen > 0) {
				ev(d, now, TR_ERROR,
				   "Discarded %zu bytes received after the STARTTLS reply",
				   d->inlen);
				d->inlen = 0;
			}
			enter_state(d, now, ST_TLS);
		} else {
			ev(d, now, TR_EVENT, "STARTTLS refused (%d)", r->code);
			d->tls_broken = true;
			after_greeting(d, now);
		}
		break;
	case ST_TESTS:
		on_test_reply(d, now, pe, r, evidence);
		if (pe.kind == CMD_QUIT) {
			d->quit_queued = false;
			enter_state(d, now, ST_CLOSING);
		} else if (d->pipe_len == 0 && d->state == ST_TESTS) {
			tests_step(d, now);
		}
		break;
	case ST_DATA:
		if (r->code == 354) {
			build_message(d, now, d->data_slot);
			enter_state(d, now, ST_DATA_END);
		} else {
			int i = d->data_slot;

			d->data_slot = -1;
			slot_data_refused(d, i, r, evidence);
			begin_tests(d, now);
		}
		break;
	case ST_DATA_END: {
		int i = d->data_slot;

		d->data_slot = -1;
		d->slots[i].r->data_sent = true;
		if (is_2xx(r->code))
			slot_finish(d, i, TO_ACCEPTED, RC_NONE, r, evidence);
		else
			slot_data_refused(d, i, r, evidence);
		begin_tests(d, now);
		break;
	}
	case ST_QUIT:
		if (pe.kind == CMD_QUIT) {
			d->quit_queued = false;
			enter_state(d, now, ST_CLOSING);
		}
		break;
	default:
		break;
	}
}

/* One received line. */
static int on_line(struct dialog *d, uint64_t now, const char *line, size_t len)
{
	enum smtp_reply_err err = SMTP_REPLY_OK;
	enum smtp_parse_status st;
	int idx = transcript_add(d->tr, now, TR_RECV, d->tls_active, line, len);

	st = smtp_reply_parser_line(d->parser, line, len, &err);
	if (st == SMTP_PARSE_ERROR) {
		int e = transcript_addf(d->tr, now, TR_ERROR, d->tls_active, "Protocol error: %s",
		                        smtp_reply_err_name(err));
		set_fatal(d, DV_ERROR, e, "protocol error: %s", smtp_reply_err_name(err));
		slot_fail_rest(d, TO_ERROR, "protocol error in the server's reply", e);
		session_abort(d, now);
		return -1;
	}
	if (st == SMTP_PARSE_DONE)
		on_reply(d, now, &d->parser->r, idx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* public entry points */

struct dialog *dialog_new(const struct dialog_params *p, uint64_t now_ms)
{
	struct dialog *d;
	size_t ncat;

	relay_tests_all(&ncat);
	if (p == NULL || p->ehlo_name == NULL || p->from_local == NULL || p->to_local == NULL ||
	    p->to_domain == NULL || p->ntests > RP_TESTS_MAX || (unsigned)p->tls >= DLG_TLS_COUNT)
		return NULL;
	for (size_t i = 0; i < p->ntests; i++)
		if (p->tests[i] >= ncat)
			return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->p = *p;
	if (d->p.max_sessions == 0 || d->p.max_sessions > RP_SESSIONS_MAX)
		d->p.max_sessions = d->p.max_sessions ? RP_SESSIONS_MAX : 8;
	if (d->p.session_errors == 0)
		d->p.session_errors = 8;
	d->ehlo_name = strdup(p->ehlo_name);
	d->from_local = strdup(p->from_local);
	d->to_local = strdup(p->to_local);
	d->to_domain = strdup(p->to_domain);
	d->local_domain = dup_or_null(p->local_domain);
	d->server_ip = dup_or_null(p->server_ip);
	d->server_host = dup_or_null(p->server_host);
	d->contact = dup_or_null(p->contact);
	d->p.ehlo_name = d->ehlo_name;
	d->p.to_locals = d->p.from_locals = NULL;
	d->p.contact = NULL;
	d->p.tests = NULL;
	d->tr = transcript_new(0);
	d->parser = calloc(1, sizeof(*d->parser));
	d->slots = p->ntests ? calloc(p->ntests, sizeof(*d->slots)) : NULL;
	d->res = p->ntests ? calloc(p->ntests, sizeof(*d->res)) : NULL;
	if (!d->ehlo_name || !d->from_local || !d->to_local || !d->to_domain || !d->tr ||
	    !d->parser || (p->ntests && (!d->slots || !d->res)) ||
	    (p->local_domain && !d->local_domain) || (p->server_ip && !d->server_ip) ||
	    (p->server_host && !d->server_host) || (p->contact && !d->contact)) {
		dialog_free(&d);
		return NULL;
	}
	if (d->server_ip)
		snprintf(d->ip_literal, sizeof(d->ip_literal),
		         strchr(d->server_ip, ':') ? "[IPv6:%s]" : "[%s]", d->server_ip);
	d->nslots = p->ntests;
	for (size_t i = 0; i < d->nslots; i++) {
		d->slots[i].r = &d->res[i];
		d->slots[i].r->test = p->tests[i];
		d->slots[i].r->evidence = -1;
		if (p->to_locals && p->to_locals[i] &&
		    (d->slots[i].T = strdup(p->to_locals[i])) == NULL) {
			dialog_free(&d);
			return NULL;
		}
		if (p->from_locals && p->from_locals[i] &&
		    (d->slots[i].F = strdup(p->from_locals[i])) == NULL) {
			dialog_free(&d);
			return NULL;
		}
	}
	smtp_reply_parser_reset(d->parser);
	d->data_slot = -1;
	d->fatal_evidence = -1;
	d->started = now_ms;
	d->wake_at = now_ms;
	{
		uint64_t cmd = d->p.command_ms ? d->p.command_ms : 60000;
		uint64_t bound = cmd * RP_DIALOG_DEADLINE_MULT;

		if (d->p.deadline_ms != 0 && d->p.deadline_ms < bound)
			bound = d->p.deadline_ms;
		d->hard_deadline = now_ms + bound;
	}
	enter_state(d, now_ms, ST_IDLE);
	return d;
}

void dialog_free(struct dialog **dp)
{
	struct dialog *d = rp_take(dp);

	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nslots; i++) {
		free(d->slots[i].mail);
		free(d->slots[i].rcpt);
		free(d->slots[i].T);
		free(d->slots[i].F);
	}
	free(d->slots);
	free(d->res);
	free(d->ehlo_name);
	free(d->from_local);
	free(d->to_local);
	free(d->to_domain);
	free(d->local_domain);
	free(d->server_ip);
	free(d->server_host);
	free(d->contact);
	free(d->server_name);
	free(d->banner);
	free(d->out);
	free(d->parser);
	free(d->evidence);
	transcript_free(&d->tr);
	free(d);
}

enum dialog_action dialog_next(const struct dialog *d)
{
	switch (d->state) {
	case ST_IDLE:
		return DLG_ACT_CONNECT;
	case ST_TLS:
		return DLG_ACT_STARTTLS;
	case ST_CLOSING:
		return DLG_ACT_CLOSE;
	case ST_DONE:
		return DLG_ACT_DONE;
	default:
		return DLG_ACT_IO;
	}
}

uint64_t dialog_wake_at(const struct dialog *d)
{
	return d->wake_at;
}

uint64_t dialog_deadline(const struct dialog *d)
{
	if (d->state == ST_DONE)
		return 0;
	if (d->deadline != 0 && d->deadline < d->hard_deadline)
		return d->deadline;
	return d->hard_deadline;
}

uint64_t dialog_hard_deadline(const struct dialog *d)
{
	return d->hard_deadline;
}

void dialog_connecting(struct dialog *d, uint64_t now_ms, const char *peer)
{
	if (d->state != ST_IDLE)
		return;
	d->sessions++;
	ev(d, now_ms, TR_EVENT, "Trying %s (session %u)...", peer ? peer : "?", d->sessions);
	enter_state(d, now_ms, ST_CONNECTING);
}

void dialog_connected(struct dialog *d, uint64_t now_ms, const char *peer)
{
	if (d->state == ST_IDLE)
		dialog_connecting(d, now_ms, peer);
	if (d->state != ST_CONNECTING)
		return;
	ev(d, now_ms, TR_EVENT, "Connected to %s", peer ? peer : "?");
	d->ever_connected = true;
	d->inlen = 0;
	d->discard_line = false;
	d->outlen = 0;
	d->session_errors = 0;
	d->decided_this_session = 0;
	d->mails_this_session = 0;
	d->limit_quit = false;
	d->first_txn = true;
	d->quit_queued = false;
	d->ext = 0;
	d->mail_max = d->rcpt_max = 0;
	d->pipelining = false;
	pipe_clear(d);
	smtp_reply_parser_reset(d->parser);
	if (d->p.tls != DLG_TLS_IMPLICIT)
		d->tls_active = false;
	d->round_trips++; /* the greeting */
	enter_state(d, now_ms, ST_BANNER);
}

/* The session has ended: decide whether another is worth it. */
static void after_session(struct dialog *d, uint64_t now)
{
	size_t pending = slots_in(d, SL_PENDING), retry = slots_in(d, SL_RETRY);

	d->tls_active = false;
	if (d->tls_fallback)
		d->tls_fallback = false;
	else if (d->decided_this_session == 0 && d->ever_connected)
		d->fruitless++;
	else
		d->fruitless = 0;
	if (d->limit_quit && d->decided_this_session > 0)
		d->limit_sessions++;
	d->limit_quit = false;
	if (d->fatal_set && (d->fatal == DV_BLOCKED || d->fatal == DV_ERROR ||
	                     (d->fatal == DV_TEMPFAIL && pending + retry == 0))) {
		slot_fail_rest(d, TO_NOT_RUN, "dialog ended early", d->fatal_evidence);
		enter_state(d, now, ST_DONE);
		return;
	}
	if (pending + retry == 0) {
		enter_state(d, now, ST_DONE);
		return;
	}
	if (d->sessions - d->limit_sessions >= d->p.max_sessions ||
	    d->sessions >= RP_SESSIONS_MAX || d->fruitless >= 2) {
		int e =
		    transcript_addf(d->tr, now, TR_ERROR, false,
		                    d->fruitless >= 2 ? "Giving up: two sessions in a row decided "
		                                        "no test"
		                                      : "Giving up: session limit (%u) reached",
		                    d->p.max_sessions);
		slot_fail_rest(d, TO_ERROR,
		               d->fruitless >= 2 ? "server ended the sessions before the test ran"
		                                 : "session limit reached",
		               e);
		enter_state(d, now, ST_DONE);
		return;
	}
	if (pending == 0) {
		/* Only retries left: wait as greylisters ask. */
		for (size_t i = 0; i < d->nslots; i++)
			if (d->slots[i].st == SL_RETRY)
				d->slots[i].st = SL_PENDING;
		if (d->wake_at < now + d->p.retry_after_ms)
			d->wake_at = now + d->p.retry_after_ms;
		ev(d, now, TR_EVENT, "Retrying %zu test(s) that got 4xx in %u s", retry,
		   d->p.retry_after_ms / 1000);
	} else if (d->abort_delay && d->wake_at < now + d->p.reconnect_ms) {
		d->wake_at = now + d->p.reconnect_ms;
		ev(d, now, TR_EVENT, "Reconnecting in %u ms for %zu test(s)", d->p.reconnect_ms,
		   pending);
	} else {
		ev(d, now, TR_EVENT, "New session for %zu remaining test(s)", pending);
	}
	d->abort_delay = false;
	enter_state(d, now, ST_IDLE);
}

void dialog_connect_failed(struct dialog *d, uint64_t now_ms, const char *why)
{
	int e;

	if (d->state != ST_CONNECTING && d->state != ST_IDLE)
		return;
	if (d->state == ST_IDLE)
		d->sessions++;
	e = transcript_addf(d->tr, now_ms, TR_ERROR, false, "Connection failed: %s",
	                    why ? why : "unknown error");
	if (!d->ever_connected) {
		set_fatal(d, DV_UNREACHABLE, e, "%s", why ? why : "connection failed");
		slot_fail_rest(d, TO_NOT_RUN, "no connection", e);
		enter_state(d, now_ms, ST_DONE);
		return;
	}
	slot_fail_rest(d, TO_ERROR, "reconnection failed", e);
	enter_state(d, now_ms, ST_DONE);
}

int dialog_feed(struct dialog *d, uint64_t now_ms, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl;
		size_t take;

		if (d->state == ST_CLOSING || d->state == ST_DONE || d->state == ST_IDLE ||
		    d->state == ST_TLS)
			return d->state == ST_TLS ? 0 : -1;
		nl = memchr(buf + i, '\n', len - i);
		take = nl ? (size_t)(nl - (buf + i)) : len - i;
		if (d->inlen + take > RP_SMTP_LINE_MAX) {
			int e = transcript_addf(d->tr, now_ms, TR_ERROR, d->tls_active,
			                        "Protocol error: reply line longer than %d bytes",
			                        RP_SMTP_LINE_MAX);

			set_fatal(d, DV_ERROR, e, "protocol error: line too long");
			slot_fail_rest(d, TO_ERROR, "protocol error in the server's reply", e);
			session_abort(d, now_ms);
			return -1;
		}
		memcpy(d->inbuf + d->inlen, buf + i, take);
		d->inlen += take;
		i += take;
		if (nl == NULL)
			break;
		i++; /* the LF */
		{
			size_t l = d->inlen;

			if (l > 0 && d->inbuf[l - 1] == '\r')
				l--;
			d->inlen = 0;
			if (on_line(d, now_ms, d->inbuf, l) < 0)
				return -1;
		}
		/* STARTTLS accepted: the rest of buf is plaintext injected before
		 * TLS; drop it (RFC 3207 5). */
		if (d->state == ST_TLS && i < len) {
			ev(d, now_ms, TR_ERROR,
			   "Discarded %zu bytes received after the STARTTLS reply", len - i);
			return 0;
		}
	}
	return d->state == ST_CLOSING || d->state == ST_DONE ? -1 : 0;
}

void dialog_tls_done(struct dialog *d, uint64_t now_ms, const struct dialog_tls_info *info,
                     const char *why)
{
	bool implicit = d->p.tls == DLG_TLS_IMPLICIT;

	if (d->state != ST_TLS && !(implicit && d->state == ST_CONNECTING))
		return;
	if (info == NULL) {
		int e = transcript_addf(d->tr, now_ms, TR_ERROR, false, "%s",
		                        why ? why : "TLS handshake failed");

		if (implicit || d->p.tls == DLG_TLS_REQUIRE) {
			set_fatal(d, DV_ERROR, e, "%s", why ? why : "TLS handshake failed");
			slot_fail_rest(d, TO_NOT_RUN, "TLS handshake failed", e);
			if (d->state == ST_CONNECTING)
				d->ever_connected = true;
		} else {
			d->tls_broken = true; /* auto: go on in plain text */
			d->tls_fallback = true;
		}
		session_abort(d, now_ms);
		return;
	}
	d->tls = *info;
	d->have_tls = true;
	d->tls_active = true;
	ev(d, now_ms, TR_EVENT,
	   "TLS started: %s %s; subject %s; issuer %s; expires %s; chain %s; name %s%s%s",
	   info->protocol, info->cipher, info->subject, info->issuer, info->not_after,
	   info->chain_ok ? "verified" : "not verified",
	   info->name_ok ? "matches" : "does not match", info->verify_error[0] ? "; " : "",
	   info->verify_error);
	if (d->state == ST_TLS)
		send_ehlo(d, now_ms); /* RFC 3207 4.2: forget what was said before */
}

void dialog_tls_refused(struct dialog *d, uint64_t now_ms, const char *why)
{
	int e;

	if (d->state == ST_DONE || d->state == ST_IDLE || !d->tls_active)
		return;
	e = transcript_addf(d->tr, now_ms, TR_ERROR, true, "TLS refused: %s", why ? why : "policy");
	if (d->p.tls == DLG_TLS_IMPLICIT || d->p.tls == DLG_TLS_REQUIRE) {
		set_fatal(d, DV_ERROR, e, "TLS refused: %s", why ? why : "policy");
		slot_fail_rest(d, TO_NOT_RUN, "TLS refused by policy", e);
	} else {
		d->tls_broken = true; /* auto: the next session in plain text */
		d->tls_fallback = true;
	}
	session_abort(d, now_ms);
}

void dialog_abort(struct dialog *d, uint64_t now_ms, const char *reason)
{
	int e;

	if (d->state == ST_DONE)
		return;
	e = transcript_addf(d->tr, now_ms, TR_ERROR, d->tls_active, "%s", reason);
	set_fatal(d, DV_ERROR, e, "%s", reason);
	slot_fail_rest(d, TO_ERROR, reason, e);
	d->tls_active = false;
	pipe_clear(d);
	d->outlen = 0;
	enter_state(d, now_ms, ST_DONE);
}

void dialog_disconnected(struct dialog *d, uint64_t now_ms, const char *why)
{
	if (d->state == ST_DONE || d->state == ST_IDLE)
		return;
	if (why != NULL) {
		if (d->state == ST_QUIT) {
			ev(d, now_ms, TR_EVENT, "Connection closed");
		} else if (d->state == ST_CONNECTING) {
			dialog_connect_failed(d, now_ms, why);
			return;
		} else {
			transcript_addf(d->tr, now_ms, TR_ERROR, d->tls_active,
			                "Connection lost in %s: %s", state_names[d->state], why);
		}
		session_abort(d, now_ms);
	} else {
		ev(d, now_ms, TR_EVENT, "Connection closed");
	}
	d->outlen = 0;
	d->inlen = 0;
	pipe_clear(d);
	after_session(d, now_ms);
}

/* The whole dialog's time is up: what is not decided is an error. With a
 * connection, the driver closes it and the dialog ends in after_session. */
static void deadline_passed(struct dialog *d, uint64_t now)
{
	char span[32];
	bool undecided = slots_in(d, SL_DONE) < d->nslots;
	int e;

	span_text(d->hard_deadline - d->started, span, sizeof(span));
	e = transcript_addf(d->tr, now, TR_ERROR, d->tls_active,
	                    "Dialog deadline of %s passed in %s", span, state_names[d->state]);
	if (undecided || (d->state != ST_QUIT && d->state != ST_CLOSING)) {
		set_fatal(d, DV_ERROR, e, "dialog deadline of %s passed", span);
		slot_fail_rest(d, TO_ERROR, "dialog deadline passed", e);
	}
	if (d->state == ST_IDLE) {
		enter_state(d, now, ST_DONE);
		return;
	}
	session_abort(d, now);
}

void dialog_timeout(struct dialog *d, uint64_t now_ms)
{
	int e;

	if (d->state != ST_DONE && now_ms >= d->hard_deadline) {
		deadline_passed(d, now_ms);
		return;
	}
	if (d->deadline == 0 || now_ms < d->deadline)
		return;
	switch (d->state) {
	case ST_CONNECTING:
		dialog_connect_failed(d, now_ms, "connect timeout");
		return;
	case ST_QUIT:
		ev(d, now_ms, TR_EVENT, "No reply to QUIT; closing");
		enter_state(d, now_ms, ST_CLOSING);
		return;
	case ST_BANNER:
		e = transcript_addf(d->tr, now_ms, TR_ERROR, d->tls_active,
		                    "Timeout: no greeting after %u s", d->p.banner_ms / 1000);
		set_fatal(d, DV_ERROR, e, "timeout: no greeting after %u s", d->p.banner_ms / 1000);
		slot_fail_rest(d, TO_NOT_RUN, "no greeting", e);
		session_abort(d, now_ms);
		return;
	default:
		e = transcript_addf(d->tr, now_ms, TR_ERROR, d->tls_active,
		                    "Timeout in %s after %u s", state_names[d->state],
		                    state_timeout(d, d->state) / 1000);
		if (d->state == ST_TLS && d->p.tls == DLG_TLS_AUTO) {
			d->tls_broken = true;
		} else if (d->state != ST_TESTS && d->state != ST_DATA && d->state != ST_DATA_END) {
			set_fatal(d, DV_ERROR, e, "timeout in %s", state_names[d->state]);
			slot_fail_rest(d, TO_ERROR, "timeout", e);
		}
		session_abort(d, now_ms);
		return;
	}
}

void dialog_event(struct dialog *d, uint64_t now_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ev_va(d, now_ms, TR_EVENT, false, fmt, ap);
	va_end(ap);
}

const char *dialog_output(const struct dialog *d, size_t *len)
{
	*len = d->outlen;
	return d->out;
}

void dialog_output_consume(struct dialog *d, size_t n)
{
	if (n >= d->outlen) {
		d->outlen = 0;
		return;
	}
	memmove(d->out, d->out + n, d->outlen - n);
	d->outlen -= n;
}

bool dialog_tls_active(const struct dialog *d)
{
	return d->tls_active;
}

/* ------------------------------------------------------------------ */
/* results */

static void compute_verdict(const struct dialog *cd)
{
	struct dialog *d = (struct dialog *)cd; /* cached results only */
	struct verdict_tally t = {{0}, {0}};
	bool open = false;
	size_t ne = 0, ncat;
	const struct relay_test_def *cat = relay_tests_all(&ncat);

	for (size_t i = 0; i < d->nslots; i++) {
		const struct dialog_test_result *r = d->slots[i].r;

		if (d->slots[i].st != SL_DONE && r->outcome != TO_TEMPFAIL)
			continue;
		if (cat[r->test].finding_only)
			continue; /* never decides the relay verdict */
		t.outcome[r->outcome]++;
		if (r->outcome == TO_REJECTED)
			t.rclass[r->rclass]++;
	}
	d->verdict = verdict_from_tally(&t);
	if (t.outcome[TO_ACCEPTED] == 0 && d->fatal_set)
		d->verdict = d->fatal;
	open = verdict_is_open(d->verdict);
	d->conf = RT_CONF_MEDIUM;
	free(d->evidence);
	d->evidence = calloc(d->nslots + 1, sizeof(int));
	d->nevidence = 0;
	if (d->evidence == NULL)
		return;
	if (!open && d->fatal_set && d->fatal_evidence >= 0) {
		d->evidence[ne++] = d->fatal_evidence;
	} else {
		for (size_t i = 0; i < d->nslots; i++) {
			const struct dialog_test_result *r = d->slots[i].r;
			bool counts = open ? r->outcome == TO_ACCEPTED
			                   : (r->outcome == TO_REJECTED ||
			                      r->outcome == TO_TEMPFAIL || r->outcome == TO_ERROR);

			if (!counts || r->evidence < 0 || cat[r->test].finding_only)
				continue;
			d->evidence[ne++] = r->evidence;
			if (open) {
				size_t n;
				const struct relay_test_def *all = relay_tests_all(&n);

				if (all[r->test].conf == RT_CONF_HIGH)
					d->conf = RT_CONF_HIGH;
			}
		}
	}
	d->nevidence = ne;
	if (!d->fatal_set || open) {
		if (open)
			snprintf(d->reason, sizeof(d->reason), "%u relay test(s) accepted",
			         t.outcome[TO_ACCEPTED]);
		else if (d->verdict == DV_CLOSED)
			snprintf(d->reason, sizeof(d->reason), "every relay test rejected");
		else if (d->verdict == DV_AUTH_REQUIRED)
			snprintf(d->reason, sizeof(d->reason),
			         "relay tests refused: authentication required");
		else if (d->verdict == DV_TLS_REQUIRED)
			snprintf(d->reason, sizeof(d->reason),
			         "relay tests refused: STARTTLS required");
		else if (d->verdict == DV_TEMPFAIL)
			snprintf(d->reason, sizeof(d->reason),
			         "%u test(s) got 4xx even after retry", t.outcome[TO_TEMPFAIL]);
		else if (d->verdict == DV_ERROR && t.outcome[TO_ERROR])
			snprintf(d->reason, sizeof(d->reason), "%u test(s) could not be completed",
			         t.outcome[TO_ERROR]);
	}
}

enum dialog_verdict dialog_verdict(const struct dialog *d)
{
	compute_verdict(d);
	return d->verdict;
}

enum rt_confidence dialog_confidence(const struct dialog *d)
{
	compute_verdict(d);
	return d->conf;
}

const int *dialog_evidence(const struct dialog *d, size_t *n)
{
	compute_verdict(d);
	*n = d->nevidence;
	return d->evidence;
}

const char *dialog_verdict_reason(const struct dialog *d)
{
	compute_verdict(d);
	return d->reason;
}

const struct dialog_test_result *dialog_results(const struct dialog *d, size_t *n)
{
	static const struct dialog_test_result none;

	*n = d->nslots;
	if (d->nslots == 0)
		return &none;
	return d->res;
}

const struct transcript *dialog_transcript(const struct dialog *d)
{
	return d->tr;
}

const char *dialog_server_name(const struct dialog *d)
{
	return d->server_name;
}

const char *dialog_local_domain(const struct dialog *d)
{
	return d->local_domain ? d->local_domain : (d->derived_local[0] ? d->derived_local : NULL);
}

const char *dialog_banner(const struct dialog *d)
{
	return d->banner;
}

unsigned dialog_extensions(const struct dialog *d)
{
	return d->ext;
}

bool dialog_used_helo(const struct dialog *d)
{
	return d->used_helo;
}

const struct dialog_tls_info *dialog_tls(const struct dialog *d)
{
	return d->have_tls ? &d->tls : NULL;
}

unsigned dialog_sessions(const struct dialog *d)
{
	return d->sessions;
}

unsigned dialog_round_trips(const struct dialog *d)
{
	return d->round_trips;
}
