/* canary_smtp.c - the canary's SMTP receiver session, sans-I/O: input framed
 * into lines of at most RP_SMTP_LINE_MAX (longer ones refused and skipped
 * unbuffered), commands answered in order with ENHANCEDSTATUSCODES, output
 * bounded (RP_CANARY_OUT_MAX, input held back past RP_CANARY_OUT_HIGH), the
 * message never kept: header fields parsed one at a time (Received: hops,
 * Message-ID, Subject tokens), body lines scanned for "rp-" tokens. One
 * fixed-size struct per session, no allocation after canary_smtp_new().
 * About 890 lines: one state machine (commands, then the message's header
 * fields and body lines) on one struct; the Received: parser is received.c. */
#include "canary_smtp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp_names.h"
#include "rp_take.h"

enum cs_state {
	CS_GREETED = 0, /* banner sent, no EHLO/HELO yet */
	CS_READY,       /* EHLO/HELO done, no transaction */
	CS_MAIL,        /* MAIL accepted */
	CS_RCPT,        /* at least one RCPT accepted */
	CS_DATA,        /* reading the message */
	CS_TLS,         /* STARTTLS answered: the driver does the handshake */
	CS_CLOSED,      /* QUIT, 421 or a failed handshake: flush and close */
	CS_COUNT
};

static const char *const state_names[] = {"GREETED", "READY", "MAIL",  "RCPT",
                                          "DATA",    "TLS",   "CLOSED"};
RP_ENUM_TABLE_CHECK(state_names, CS_COUNT);

struct canary_smtp {
	struct canary_smtp_params p;
	size_t message_max;
	enum cs_state state;
	bool helo_done;
	unsigned errors, txns;
	uint64_t lines;
	struct canary_smtp_stats st;
	struct canary_arrival a; /* the envelope being built, and the facts */

	/* input framing */
	char line[RP_SMTP_LINE_MAX + 2]; /* the line, a CR, a NUL */
	size_t linelen;
	bool discard;   /* command mode: inside an over-long line being skipped */
	bool continued; /* data mode: this chunk continues an over-long line */
	char pend[RP_CANARY_FEED_MAX];
	size_t pendlen;

	/* message */
	size_t msg_size, hdr_bytes;
	bool oversize, in_headers, hdr_skip;
	char field[RP_CANARY_FIELD_MAX + 1];
	size_t fieldlen;

	char out[RP_CANARY_OUT_MAX];
	size_t outlen;
};

_Static_assert(sizeof(struct canary_smtp) <= RP_CANARY_FOOTPRINT_MAX, "session footprint");

const char *canary_smtp_state_name(const struct canary_smtp *s)
{
	return rp_name(state_names, CS_COUNT, (int)s->state, "?");
}

static void enter_state(struct canary_smtp *s, enum cs_state st)
{
	s->state = st;
}

/* ------------------------------------------------------------------ */
/* output */

static void reply(struct canary_smtp *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reply(struct canary_smtp *s, const char *fmt, ...)
{
	size_t room = sizeof(s->out) - s->outlen;
	va_list ap;
	int n;

	if (room < 3)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->out + s->outlen, room - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room - 2)
		n = (int)(room - 3); /* cut (cannot happen: the bounds leave room) */
	s->outlen += (size_t)n;
	s->out[s->outlen++] = '\r';
	s->out[s->outlen++] = '\n';
}

static void copy_bounded(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Printable ASCII only (a reason going into a reply line). */
static void sanitize(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src != NULL && *src != '\0' && i + 1 < cap; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : ' ';
	dst[i] = '\0';
}

static void reset_txn(struct canary_smtp *s)
{
	s->a.mail_from[0] = '\0';
	s->a.nrcpts = 0;
	s->a.message_id[0] = '\0';
	s->a.ntokens = 0;
	s->a.nhops = 0;
	s->a.size = 0;
	s->a.arrived_ms = 0;
	enter_state(s, s->helo_done ? CS_READY : CS_GREETED);
}

static enum canary_smtp_action action(const struct canary_smtp *s)
{
	if (s->state == CS_CLOSED)
		return CANARY_ACT_CLOSE;
	if (s->state == CS_TLS)
		return CANARY_ACT_STARTTLS;
	return CANARY_ACT_IO;
}

static void close_with(struct canary_smtp *s, const char *text)
{
	reply(s, "421 %s", text);
	enter_state(s, CS_CLOSED);
}

/* A bad command: its reply, then 421 once the budget is spent. */
static void bad(struct canary_smtp *s, const char *text)
{
	reply(s, "%s", text);
	s->errors++;
	s->st.errors++;
	if (s->errors >= RP_CANARY_ERRORS_MAX) {
		char buf[RP_DOMAIN_MAX + 64];

		snprintf(buf, sizeof(buf), "4.7.0 %s Error: too many errors", s->p.hostname);
		close_with(s, buf);
	}
}

/* ------------------------------------------------------------------ */
/* tokens: "rp-" then [a-z0-9-], case-insensitive, a whole word */

static bool tok_char(unsigned char c)
{
	return isalnum(c) || c == '-';
}

static void add_token(struct canary_smtp *s, const char *w, size_t n)
{
	char low[RP_CANARY_TOKEN_WORD_MAX + 1];
	size_t i;

	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)w[i]);
	low[n] = '\0';
	for (i = 0; i < s->a.ntokens; i++)
		if (strcmp(s->a.tokens[i], low) == 0)
			return;
	if (s->a.ntokens < RP_CANARY_BODY_TOKENS)
		memcpy(s->a.tokens[s->a.ntokens++], low, n + 1);
}

/* Scan text for tokens. cut_start/cut_end: the text continues a word from
 * before / into after (an over-long line in chunks): a word touching that
 * edge is not taken. */
static void scan_tokens(struct canary_smtp *s, const char *t, size_t n, bool cut_start,
                        bool cut_end)
{
	size_t i = 0;

	while (i < n) {
		size_t j;

		if (!tok_char((unsigned char)t[i])) {
			i++;
			continue;
		}
		for (j = i; j < n && tok_char((unsigned char)t[j]); j++)
			;
		/* the word is t[i..j) */
		if (j - i > 3 && j - i <= RP_CANARY_TOKEN_WORD_MAX &&
		    strncasecmp(t + i, "rp-", 3) == 0 && !(cut_start && i == 0) &&
		    !(cut_end && j == n))
			add_token(s, t + i, j - i);
		i = j;
	}
}

/* ------------------------------------------------------------------ */
/* header fields */

static void field_done(struct canary_smtp *s)
{
	const char *f = s->field, *colon, *v;
	size_t n = s->fieldlen, namelen, vlen;

	s->fieldlen = 0;
	colon = memchr(f, ':', n);
	if (colon == NULL)
		return;
	namelen = (size_t)(colon - f);
	while (namelen > 0 && (f[namelen - 1] == ' ' || f[namelen - 1] == '\t'))
		namelen--;
	v = colon + 1;
	vlen = n - (size_t)(v - f);
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (namelen == 8 && strncasecmp(f, "Received", 8) == 0) {
		if (s->a.nhops < RP_RECEIVED_HOPS_MAX &&
		    received_parse(v, vlen, &s->a.hops[s->a.nhops]) == 0)
			s->a.nhops++;
	} else if (namelen == 10 && strncasecmp(f, "Message-ID", 10) == 0) {
		const char *lt = memchr(v, '<', vlen), *gt;

		if (lt != NULL && (gt = memchr(lt, '>', vlen - (size_t)(lt - v))) != NULL)
			copy_bounded(s->a.message_id, sizeof(s->a.message_id), lt + 1,
			             (size_t)(gt - lt - 1));
		else
			copy_bounded(s->a.message_id, sizeof(s->a.message_id), v, vlen);
		scan_tokens(s, v, vlen, false, false);
	} else if (namelen == 7 && strncasecmp(f, "Subject", 7) == 0) {
		scan_tokens(s, v, vlen, false, false);
	}
}

static void field_append(struct canary_smtp *s, const char *t, size_t n)
{
	size_t room = RP_CANARY_FIELD_MAX - s->fieldlen;

	if (n > room)
		n = room;
	memcpy(s->field + s->fieldlen, t, n);
	s->fieldlen += n;
	s->field[s->fieldlen] = '\0';
}

/* One message line (or chunk of an over-long one, full_line false), CRLF
 * stripped, dot-unstuffed. */
static void message_line(struct canary_smtp *s, const char *t, size_t n, bool cont, bool full)
{
	if (s->in_headers) {
		if (!cont && n == 0) { /* the blank line: the body starts */
			if (!s->hdr_skip)
				field_done(s);
			s->in_headers = false;
			return;
		}
		if (!cont && t[0] != ' ' && t[0] != '\t') {
			const char *colon = memchr(t, ':', n);
			size_t k;

			for (k = 0; colon != NULL && t + k < colon; k++)
				if ((unsigned char)t[k] <= ' ' || (unsigned char)t[k] >= 0x7f)
					colon = NULL;
			if (colon == NULL || colon == t) {
				/* not a header field: the body starts here */
				if (!s->hdr_skip)
					field_done(s);
				s->in_headers = false;
				scan_tokens(s, t, n, false, !full);
				return;
			}
			if (!s->hdr_skip)
				field_done(s);
		}
		s->hdr_bytes += n + (full ? 2 : 0);
		if (s->hdr_bytes > RP_CANARY_HEADER_MAX) {
			if (!s->hdr_skip)
				field_done(s);
			s->hdr_skip = true;
		}
		if (!s->hdr_skip)
			field_append(s, t, n); /* unfolded: the CRLF dropped, the WSP kept */
		return;
	}
	scan_tokens(s, t, n, cont, !full);
}

static void end_of_data(struct canary_smtp *s, uint64_t now)
{
	char why[RP_CANARY_WHY_MAX], clean[RP_CANARY_WHY_MAX];
	int rc;

	s->txns++;
	if (s->oversize) {
		s->st.oversize++;
		reply(s, "552 5.3.4 Error: message too big (over %zu bytes)", s->message_max);
		reset_txn(s);
		return;
	}
	s->a.size = s->msg_size;
	s->a.arrived_ms = now;
	why[0] = '\0';
	rc = s->p.commit(s->p.arg, &s->a, why, sizeof(why));
	if (rc == 0) {
		s->st.messages++;
		reply(s, "250 2.0.0 Ok: message accepted");
	} else {
		why[sizeof(why) - 1] = '\0';
		sanitize(clean, sizeof(clean), why[0] != '\0' ? why : "try again later");
		s->st.commit_failed++;
		reply(s, "451 4.3.0 Error: %s", clean);
	}
	reset_txn(s);
}

static void data_line(struct canary_smtp *s, uint64_t now, const char *t, size_t n, bool full)
{
	bool cont = s->continued;

	s->continued = !full;
	if (!cont && n > 0 && t[0] == '.') {
		if (n == 1 && full) {
			end_of_data(s, now);
			return;
		}
		t++;
		n--;
	}
	s->msg_size += n + (full ? 2 : 0);
	if (s->msg_size > s->message_max)
		s->oversize = true;
	if (!s->oversize)
		message_line(s, t, n, cont, full);
}

/* ------------------------------------------------------------------ */
/* commands */

static bool is_canary_domain(const struct canary_smtp *s, const char *d, size_t n)
{
	size_t i;

	if (n > 0 && d[n - 1] == '.')
		n--;
	for (i = 0; i < s->p.ndomains; i++) {
		const char *c = s->p.domains[i];
		size_t cn = strlen(c);

		if (cn > 0 && c[cn - 1] == '.')
			cn--;
		if (cn == n && n > 0 && strncasecmp(c, d, n) == 0)
			return true;
	}
	return false;
}

/* "FROM:" / "TO:" then a path <...>, then parameters. The address inside
 * the brackets (a source route dropped) goes to addr; params points after
 * the path. -1 on bad syntax. */
static int parse_path(const char *arg, const char *kw, char *addr, size_t cap, const char **params)
{
	size_t kl = strlen(kw);
	const char *p = arg, *end;
	size_t n;

	if (strncasecmp(p, kw, kl) != 0)
		return -1;
	p += kl;
	while (*p == ' ')
		p++; /* "MAIL FROM: <a@b>" (tolerated, as Postfix does) */
	if (*p != '<')
		return -1;
	p++;
	end = strchr(p, '>');
	if (end == NULL)
		return -1;
	if (*p == '@') { /* source route "@a,@b:user@d" */
		const char *colon = memchr(p, ':', (size_t)(end - p));

		if (colon == NULL)
			return -1;
		p = colon + 1;
	}
	n = (size_t)(end - p);
	if (n > RP_ADDR_MAX || n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return -1;
	memcpy(addr, p, n);
	addr[n] = '\0';
	p = end + 1;
	if (*p != '\0' && *p != ' ')
		return -1;
	*params = p;
	return 0;
}

static void cmd_ehlo(struct canary_smtp *s, const char *arg, bool ehlo)
{
	if (*arg == '\0') {
		bad(s,
		    ehlo ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
		return;
	}
	sanitize(s->a.helo, sizeof(s->a.helo), arg);
	s->helo_done = true;
	reset_txn(s);
	if (!ehlo) {
		reply(s, "250 %s", s->p.hostname);
		return;
	}
	reply(s, "250-%s", s->p.hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %zu", s->message_max);
	reply(s, "250-8BITMIME");
	if (s->p.starttls && !s->a.tls) {
		reply(s, "250-ENHANCEDSTATUSCODES");
		reply(s, "250 STARTTLS");
	} else {
		reply(s, "250 ENHANCEDSTATUSCODES");
	}
}

static void cmd_mail(struct canary_smtp *s, const char *arg)
{
	char addr[RP_ADDR_MAX + 1];
	const char *params;

	if (s->state == CS_GREETED) {
		bad(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->state != CS_READY) {
		bad(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->txns >= RP_CANARY_MSGS_PER_SESSION) {
		close_with(s, "4.7.0 Error: too many messages in this session");
		return;
	}
	if (parse_path(arg, "FROM:", addr, sizeof(addr), &params) != 0) {
		bad(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	while (*params == ' ') {
		const char *w = params + 1, *e;
		size_t wl;

		while (*w == ' ')
			w++;
		if (*w == '\0')
			break;
		e = strchr(w, ' ');
		wl = e ? (size_t)(e - w) : strlen(w);
		if (wl > 5 && strncasecmp(w, "SIZE=", 5) == 0) {
			unsigned long long v = 0;
			size_t k;

			for (k = 5; k < wl && isdigit((unsigned char)w[k]); k++)
				if (v < 1000000000000ULL)
					v = v * 10 + (unsigned)(w[k] - '0');
			if (k != wl) {
				bad(s, "501 5.5.4 Bad SIZE parameter");
				return;
			}
			if (v > s->message_max) {
				s->st.oversize++;
				reply(s, "552 5.3.4 Error: message size exceeds the fixed limit");
				return;
			}
		} else if (wl > 5 && strncasecmp(w, "BODY=", 5) == 0) {
			if (!((wl == 9 && strncasecmp(w + 5, "7BIT", 4) == 0) ||
			      (wl == 13 && strncasecmp(w + 5, "8BITMIME", 8) == 0))) {
				bad(s, "501 5.5.4 Bad BODY parameter");
				return;
			}
		} else {
			bad(s, "555 5.5.4 Unsupported MAIL parameter");
			return;
		}
		params = w + wl;
	}
	memcpy(s->a.mail_from, addr, strlen(addr) + 1);
	enter_state(s, CS_MAIL);
	reply(s, "250 2.1.0 Ok");
}

static void cmd_rcpt(struct canary_smtp *s, const char *arg)
{
	char addr[RP_ADDR_MAX + 1], local[RP_ADDR_MAX + 1], dom[RP_ADDR_MAX + 1];
	const char *params, *at;
	size_t dn, i;

	if (s->state != CS_MAIL && s->state != CS_RCPT) {
		bad(s, s->state == CS_GREETED ? "503 5.5.1 Error: send HELO/EHLO first"
		                              : "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (parse_path(arg, "TO:", addr, sizeof(addr), &params) != 0 || addr[0] == '\0') {
		bad(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	while (*params == ' ')
		params++;
	if (*params != '\0') {
		bad(s, "555 5.5.4 Unsupported RCPT parameter");
		return;
	}
	at = strrchr(addr, '@');
	/* RFC 5321 4.5.1: "postmaster", bare or at one of our domains, is
	 * always taken (past the owner's check: it is no token; the owner's
	 * commit ignores it, so its mail is accepted and kept nowhere). */
	if ((at == NULL && strcasecmp(addr, "postmaster") == 0) ||
	    (at != NULL && at - addr == 10 && strncasecmp(addr, "postmaster", 10) == 0 &&
	     is_canary_domain(s, at + 1, strlen(at + 1)))) {
		if (s->a.nrcpts >= RP_CANARY_RCPTS_MAX) {
			reply(s, "452 4.5.3 Error: too many recipients");
			return;
		}
		memcpy(s->a.rcpts[s->a.nrcpts++], addr, strlen(addr) + 1);
		enter_state(s, CS_RCPT);
		reply(s, "250 2.1.5 Ok");
		return;
	}
	if (at == NULL || at == addr || !is_canary_domain(s, at + 1, strlen(at + 1))) {
		s->st.refused_rcpt++;
		bad(s, "550 5.7.1 Error: relaying denied");
		return;
	}
	if (s->a.nrcpts >= RP_CANARY_RCPTS_MAX) {
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	copy_bounded(local, sizeof(local), addr, (size_t)(at - addr));
	dn = strlen(at + 1);
	if (dn > 0 && at[dn] == '.')
		dn--;
	for (i = 0; i < dn; i++)
		dom[i] = (char)tolower((unsigned char)at[1 + i]);
	dom[dn] = '\0';
	if (s->p.rcpt != NULL && s->p.rcpt(s->p.arg, local, dom) != 0) {
		s->st.refused_rcpt++;
		reply(s, "550 5.1.1 Error: recipient address rejected: no such user");
		return;
	}
	memcpy(s->a.rcpts[s->a.nrcpts++], addr, strlen(addr) + 1);
	enter_state(s, CS_RCPT);
	reply(s, "250 2.1.5 Ok");
}

static void cmd_data(struct canary_smtp *s, const char *arg)
{
	if (s->state != CS_RCPT) {
		bad(s, s->state == CS_GREETED ? "503 5.5.1 Error: send HELO/EHLO first"
		       : s->state == CS_MAIL  ? "503 5.5.1 Error: need RCPT command"
		                              : "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (*arg != '\0') {
		bad(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	s->msg_size = 0;
	s->hdr_bytes = 0;
	s->oversize = false;
	s->in_headers = true;
	s->hdr_skip = false;
	s->fieldlen = 0;
	s->continued = false;
	enter_state(s, CS_DATA);
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void cmd_starttls(struct canary_smtp *s, const char *arg)
{
	if (!s->p.starttls || s->a.tls) {
		bad(s, s->a.tls ? "503 5.5.1 Error: TLS already active"
		                : "502 5.5.1 Error: command not implemented");
		return;
	}
	if (*arg != '\0') {
		bad(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->state == CS_GREETED) {
		bad(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	/* Whatever the client pipelined after STARTTLS is dropped, never read
	 * as commands of the TLS session (CVE-2011-0411). */
	s->linelen = 0;
	s->pendlen = 0;
	s->discard = false;
	enter_state(s, CS_TLS);
}

static const char *const not_implemented[] = {"EXPN", "TURN", "ETRN", "BDAT", "AUTH",
                                              "ATRN", "SEND", "SOML", "SAML"};

static void command(struct canary_smtp *s, char *l, size_t n)
{
	char verb[16];
	const char *arg;
	size_t vl = 0;

	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		l[--n] = '\0'; /* trailing blanks */
	if (n == 0 || memchr(l, '\0', n) != NULL) {
		bad(s, "500 5.5.2 Error: bad syntax");
		return;
	}
	while (vl < n && l[vl] != ' ' && vl < sizeof(verb) - 1) {
		verb[vl] = (char)toupper((unsigned char)l[vl]);
		vl++;
	}
	verb[vl] = '\0';
	if (vl < n && l[vl] != ' ') {
		bad(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	arg = l + vl;
	while (*arg == ' ')
		arg++;
	if (strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0) {
		cmd_ehlo(s, arg, verb[0] == 'E');
	} else if (strcmp(verb, "MAIL") == 0) {
		cmd_mail(s, arg);
	} else if (strcmp(verb, "RCPT") == 0) {
		cmd_rcpt(s, arg);
	} else if (strcmp(verb, "DATA") == 0) {
		cmd_data(s, arg);
	} else if (strcmp(verb, "RSET") == 0) {
		reset_txn(s);
		reply(s, "250 2.0.0 Ok");
	} else if (strcmp(verb, "NOOP") == 0) {
		reply(s, "250 2.0.0 Ok");
	} else if (strcmp(verb, "QUIT") == 0) {
		reply(s, "221 2.0.0 Bye");
		enter_state(s, CS_CLOSED);
	} else if (strcmp(verb, "VRFY") == 0) {
		reply(s, "252 2.0.0 Cannot VRFY user; send mail to it");
	} else if (strcmp(verb, "HELP") == 0) {
		reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY%s",
		      s->p.starttls && !s->a.tls ? " STARTTLS" : "");
	} else if (strcmp(verb, "STARTTLS") == 0) {
		cmd_starttls(s, arg);
	} else {
		for (size_t i = 0; i < sizeof(not_implemented) / sizeof(not_implemented[0]); i++)
			if (strcmp(verb, not_implemented[i]) == 0) {
				bad(s, "502 5.5.1 Error: command not implemented");
				return;
			}
		bad(s, "500 5.5.2 Error: command not recognized");
	}
}

/* ------------------------------------------------------------------ */
/* framing */

static bool can_go_on(const struct canary_smtp *s)
{
	return s->state != CS_CLOSED && s->state != CS_TLS && s->outlen < RP_CANARY_OUT_HIGH;
}

/* A complete line is in s->line (LF and a CR before it stripped). */
static void line_done(struct canary_smtp *s, uint64_t now)
{
	s->lines++;
	if (s->state == CS_DATA) {
		data_line(s, now, s->line, s->linelen, true);
	} else if (s->discard || s->linelen > RP_SMTP_LINE_MAX) {
		s->discard = false;
		bad(s, "500 5.5.2 Error: line too long");
	} else {
		s->line[s->linelen] = '\0';
		command(s, s->line, s->linelen);
	}
	s->linelen = 0;
}

/* Frame p[0..n) into lines; returns the bytes used (less than n when the
 * session must stop: output over the mark, STARTTLS, CLOSE). */
static size_t process(struct canary_smtp *s, uint64_t now, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && can_go_on(s)) {
		const char *lf = memchr(p + i, '\n', n - i);
		size_t take = lf ? (size_t)(lf - (p + i)) : n - i;
		size_t room = RP_SMTP_LINE_MAX + 1 - s->linelen; /* the line and its CR */

		if (s->discard) {
			/* skipping the rest of an over-long command line */
		} else if (take <= room) {
			memcpy(s->line + s->linelen, p + i, take);
			s->linelen += take;
		} else if (s->state == CS_DATA) {
			/* an over-long message line: scanned in chunks, never held */
			size_t used = 0;

			while (take - used > room) {
				memcpy(s->line + s->linelen, p + i + used, room);
				s->linelen += room;
				used += room;
				data_line(s, now, s->line, s->linelen, false);
				s->linelen = 0;
				room = RP_SMTP_LINE_MAX + 1;
			}
			memcpy(s->line, p + i + used, take - used);
			s->linelen = take - used;
		} else {
			s->discard = true;
			s->linelen = 0;
		}
		i += take;
		if (lf == NULL)
			break;
		i++; /* the LF */
		if (!s->discard && s->linelen > 0 && s->line[s->linelen - 1] == '\r')
			s->linelen--;
		line_done(s, now);
	}
	return i;
}

/* ------------------------------------------------------------------ */
/* public */

struct canary_smtp *canary_smtp_new(const struct canary_smtp_params *p, const char *peer_ip,
                                    unsigned peer_port, uint64_t now_ms)
{
	struct canary_smtp *s;

	if (p == NULL || p->commit == NULL || p->hostname == NULL)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->p = *p;
	s->message_max = p->message_max == 0 || p->message_max > RP_CANARY_MESSAGE_MAX
	                     ? RP_CANARY_MESSAGE_MAX
	                     : p->message_max;
	copy_bounded(s->a.peer_ip, sizeof(s->a.peer_ip), peer_ip ? peer_ip : "",
	             peer_ip ? strlen(peer_ip) : 0);
	s->a.peer_port = peer_port;
	enter_state(s, CS_GREETED);
	reply(s, "220 %.*s ESMTP relayprobe canary", RP_DOMAIN_MAX, p->hostname);
	(void)now_ms;
	return s;
}

void canary_smtp_free(struct canary_smtp **sp)
{
	free(rp_take(sp));
}

enum canary_smtp_action canary_smtp_feed(struct canary_smtp *s, uint64_t now_ms, const char *buf,
                                         size_t len)
{
	size_t used;

	if (buf == NULL)
		len = 0;
	if (s->state == CS_CLOSED || s->state == CS_TLS)
		return action(s); /* after STARTTLS: discarded */
	s->st.bytes_in += len;
	if (s->pendlen > 0) {
		used = process(s, now_ms, s->pend, s->pendlen);
		if (s->state == CS_TLS)
			return action(s); /* STARTTLS in the held-back input cleared it */
		memmove(s->pend, s->pend + used, s->pendlen - used);
		s->pendlen -= used;
	}
	if (len == 0 || s->state == CS_CLOSED || s->state == CS_TLS)
		return action(s);
	if (s->pendlen + len > sizeof(s->pend)) {
		close_with(s, "4.7.0 Error: too much pipelined input");
		return action(s);
	}
	used = s->pendlen == 0 ? process(s, now_ms, buf, len) : 0;
	if (s->state == CS_CLOSED || s->state == CS_TLS)
		return action(s);
	memcpy(s->pend + s->pendlen, buf + used, len - used);
	s->pendlen += len - used;
	return action(s);
}

enum canary_smtp_action canary_smtp_tls_done(struct canary_smtp *s, const char *protocol,
                                             const char *cipher)
{
	if (s->state != CS_TLS)
		return action(s);
	if (protocol == NULL || cipher == NULL) {
		enter_state(s, CS_CLOSED);
		return action(s);
	}
	s->a.tls = true;
	copy_bounded(s->a.tls_protocol, sizeof(s->a.tls_protocol), protocol, strlen(protocol));
	copy_bounded(s->a.tls_cipher, sizeof(s->a.tls_cipher), cipher, strlen(cipher));
	/* RFC 3207 4.2: forget everything learnt before TLS, EHLO again. */
	s->helo_done = false;
	s->a.helo[0] = '\0';
	s->linelen = 0;
	s->pendlen = 0;
	s->discard = false;
	reset_txn(s);
	return action(s);
}

enum canary_smtp_action canary_smtp_timeout(struct canary_smtp *s, uint64_t now_ms)
{
	char buf[RP_DOMAIN_MAX + 64];

	(void)now_ms;
	if (s->state == CS_CLOSED)
		return action(s);
	if (s->state == CS_TLS) { /* the handshake timed out: nothing to say in clear */
		enter_state(s, CS_CLOSED);
		return action(s);
	}
	snprintf(buf, sizeof(buf), "4.4.2 %.*s Error: timeout exceeded", RP_DOMAIN_MAX,
	         s->p.hostname);
	close_with(s, buf);
	return action(s);
}

enum canary_smtp_action canary_smtp_close(struct canary_smtp *s, const char *text)
{
	char clean[RP_CANARY_WHY_MAX];

	if (s->state == CS_CLOSED)
		return action(s);
	if (s->state == CS_TLS) {
		enter_state(s, CS_CLOSED);
		return action(s);
	}
	sanitize(clean, sizeof(clean), text ? text : "4.7.0 closing");
	close_with(s, clean);
	return action(s);
}

bool canary_smtp_wants_read(const struct canary_smtp *s)
{
	return can_go_on(s) && s->pendlen == 0;
}

uint64_t canary_smtp_lines(const struct canary_smtp *s)
{
	return s->lines;
}

const char *canary_smtp_output(const struct canary_smtp *s, size_t *len)
{
	*len = s->outlen;
	return s->out;
}

void canary_smtp_output_consume(struct canary_smtp *s, size_t n)
{
	if (n >= s->outlen) {
		s->outlen = 0;
		return;
	}
	memmove(s->out, s->out + n, s->outlen - n);
	s->outlen -= n;
}

size_t canary_smtp_footprint(const struct canary_smtp *s)
{
	return s ? sizeof(*s) : 0;
}

void canary_smtp_stats(const struct canary_smtp *s, struct canary_smtp_stats *out)
{
	*out = s->st;
}
