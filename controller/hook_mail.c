/* hook_mail.c - the email hook: one plain-text message per event to
 * [hooks] mail_to through smtp_server (a numeric ADDRESS:PORT), sent by a
 * forked child under alarm(HOOK_TIMEOUT_S), one child at a time. Replies
 * are read in lines of at most RP_SMTP_LINE_MAX bytes and parsed by
 * common/smtp_reply.c (multi-line, bounded, strict: garbage is a failure);
 * a message is at most MAIL_MAX bytes before dot-stuffing. The body names
 * the software and one "Fix" line per advice entry (hooks_due). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook_transport.h"
#include "smtp_reply.h"
#include "target.h"

#define MAIL_MAX 4096

struct mail {
	const struct ctl_config *cfg;
	pid_t pid; /* the child sending, 0 when none */
	int64_t event;
	struct sockaddr_storage addr; /* smtp_server, resolved (numeric) */
	socklen_t addrlen;
	char mail_from_line[600]; /* "MAIL FROM:<...>\r\n" */
	char rcpt_to_line[600];   /* "RCPT TO:<...>\r\n" */
};

/* ---- the SMTP client (in the child: no allocation, no lookups) ---- */

struct mail_io {
	int fd;
	char buf[RP_SMTP_LINE_MAX + 2]; /* one line and its CRLF */
	size_t len;
	struct smtp_reply_parser p;
};

/* Reads one whole reply through the strict parser: its code, or -1 on
 * EOF, a read error, a line over RP_SMTP_LINE_MAX or a malformed reply. */
static int mail_reply(struct mail_io *io)
{
	smtp_reply_parser_reset(&io->p);
	for (;;) {
		char *nl = memchr(io->buf, '\n', io->len);
		ssize_t r;

		if (nl != NULL) {
			size_t used = (size_t)(nl - io->buf) + 1, linelen = used - 1;
			enum smtp_reply_err e;
			enum smtp_parse_status st;

			if (linelen > 0 && io->buf[linelen - 1] == '\r')
				linelen--;
			st = smtp_reply_parser_line(&io->p, io->buf, linelen, &e);
			memmove(io->buf, nl + 1, io->len - used);
			io->len -= used;
			if (st == SMTP_PARSE_ERROR)
				return -1;
			if (st == SMTP_PARSE_DONE)
				return io->p.r.code;
			continue;
		}
		if (io->len == sizeof(io->buf))
			return -1; /* no LF within RP_SMTP_LINE_MAX + CRLF */
		r = read(io->fd, io->buf + io->len, sizeof(io->buf) - io->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		io->len += (size_t)r;
	}
}

static int mail_send(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t w = write(fd, s + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Sends line (none when NULL) and wants a reply of class want (2, 3). */
static int mail_step(struct mail_io *io, const char *line, int want)
{
	int code;

	if (line != NULL && mail_send(io->fd, line) < 0)
		return -1;
	code = mail_reply(io);
	return code >= 0 && code / 100 == want ? 0 : -1;
}

int hook_mail_session(int fd, const char *mail_from_line, const char *rcpt_to_line, const char *msg)
{
	static struct mail_io io; /* 10 KB: off the child's stack */

	memset(&io, 0, sizeof(io));
	io.fd = fd;
	if (mail_step(&io, NULL, 2) < 0 || mail_step(&io, "HELO relayprobe-controller\r\n", 2) < 0)
		return HOOK_MAIL_E_HELO;
	if (mail_step(&io, mail_from_line, 2) < 0)
		return HOOK_MAIL_E_MAIL;
	if (mail_step(&io, rcpt_to_line, 2) < 0)
		return HOOK_MAIL_E_RCPT;
	if (mail_step(&io, "DATA\r\n", 3) < 0)
		return HOOK_MAIL_E_DATA;
	if (mail_step(&io, msg, 2) < 0)
		return HOOK_MAIL_E_MESSAGE;
	mail_send(fd, "QUIT\r\n");
	return 0;
}

/* In the child: the whole transaction over the address the parent
 * resolved. The exit status: 0 accepted, else the step that failed. */
static int mail_child(const struct mail *m, const char *msg)
{
	int fd = socket(m->addr.ss_family, SOCK_STREAM, 0), rc;

	if (fd < 0 || connect(fd, (const struct sockaddr *)&m->addr, m->addrlen) != 0)
		return HOOK_MAIL_E_CONNECT;
	rc = hook_mail_session(fd, m->mail_from_line, m->rcpt_to_line, msg);
	close(fd);
	return rc;
}

/* The advice lines of the body: the software named, then one "Fix" line
 * per advice entry. Bytes written into out (at most outlen - 1), or -1. */
static int advice_text(const struct hook_event *ev, char *out, size_t outlen)
{
	const char *conf, *label = hooks_software_label(ev, &conf), *key, *summary;
	size_t o = 0;
	int n = snprintf(out, outlen, "Software: %s%s%s%s\r\n", label, conf[0] ? " (" : "", conf,
	                 conf[0] ? " confidence)" : "");

	for (size_t i = 0; n >= 0 && (size_t)n < outlen - o; i++) {
		o += (size_t)n;
		if (!hooks_advice_at(ev, i, &key, &summary))
			return (int)o;
		n = snprintf(out + o, outlen - o, "Fix (%s): %s\r\n", key, summary);
	}
	return -1;
}

/* The message, dot-stuffed, CRLF, ending with "\r\n.\r\n". */
static int mail_text(const struct mail *m, const struct hook_event *ev, char *out, size_t outlen)
{
	const struct store_hook_event *e = &ev->e;
	char date[64], body[MAIL_MAX], advice[MAIL_MAX / 2];
	time_t t = (time_t)e->at;
	struct tm tm;
	size_t o = 0;
	int n;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0 ||
	    advice_text(ev, advice, sizeof(advice)) < 0)
		return -1;
	n = snprintf(body, sizeof(body),
	             "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
	             "Subject: relayprobe: %s %s -> %s\r\n"
	             "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	             "Target: %s\r\nClient: %s\r\nFrom verdict: %s\r\nTo verdict: %s\r\n"
	             "Audit: %lld\r\nEvent: %lld\r\n%s"
	             "The full advice: relayprobe report %lld\r\n",
	             m->cfg->mail_from, m->cfg->mail_to, date, e->target, e->from, e->to, e->target,
	             e->client, e->from, e->to, (long long)e->audit, (long long)e->id, advice,
	             (long long)e->audit);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	/* Dot-stuffing: a line starting with '.' gets another (the fields
	 * carry no control characters: hooks_due() replaced them). */
	for (size_t i = 0; body[i] != '\0'; i++) {
		if ((i == 0 || body[i - 1] == '\n') && body[i] == '.') {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '.';
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = body[i];
	}
	if (o + 6 >= outlen)
		return -1;
	memcpy(out + o, ".\r\n", 4);
	return 0;
}

static int mail_open(const struct ctl_config *cfg, void **self, char *err, size_t errlen)
{
	char host[128], port_s[8];
	unsigned port;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	struct mail *m;

	*self = NULL;
	if (cfg->smtp_server == NULL || cfg->mail_from == NULL || cfg->mail_to == NULL)
		return 0;
	if (target_parse_numeric_hostport(cfg->smtp_server, host, sizeof(host), &port) < 0 ||
	    snprintf(port_s, sizeof(port_s), "%u", port) <= 0 ||
	    getaddrinfo(host, port_s, &hints, &ai) != 0 || ai == NULL ||
	    ai->ai_addrlen > sizeof(m->addr)) {
		if (ai != NULL)
			freeaddrinfo(ai);
		snprintf(err, errlen, "smtp_server %s: expected a numeric ADDRESS:PORT",
		         cfg->smtp_server);
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->cfg = cfg;
	memcpy(&m->addr, ai->ai_addr, ai->ai_addrlen);
	m->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(m->mail_from_line, sizeof(m->mail_from_line), "MAIL FROM:<%s>\r\n",
	         cfg->mail_from);
	snprintf(m->rcpt_to_line, sizeof(m->rcpt_to_line), "RCPT TO:<%s>\r\n", cfg->mail_to);
	*self = m;
	return 1;
}

static void mail_deliver(void *self, struct hooks *h, int64_t now)
{
	struct mail *m = self;
	struct hook_event e;
	char msg[MAIL_MAX + 512];
	int rc;
	pid_t pid;

	if (m->pid > 0) {
		int status;
		pid_t r = waitpid(m->pid, &status, WNOHANG);

		if (r == 0)
			return; /* still sending (alarm() bounds it) */
		if (r == m->pid) {
			int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			char why[64];

			if (WIFSIGNALED(status))
				snprintf(why, sizeof(why), "timed out or killed (signal %d)",
				         WTERMSIG(status));
			else
				snprintf(why, sizeof(why), "SMTP failure (step %d)",
				         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			hooks_done(h, &hook_mail, m->event, ok, why, now);
		} else {
			hooks_done(h, &hook_mail, m->event, 0, "lost the mail child", now);
		}
		m->pid = 0;
	}
	if (hooks_due(h, &hook_mail, now, &e, 1) != 1)
		return;
	rc = mail_text(m, &e, msg, sizeof(msg));
	hooks_due_free(&e, 1);
	if (rc < 0) {
		hooks_done(h, &hook_mail, e.e.id, 0, "message too long", now);
		return;
	}
	pid = fork();
	if (pid < 0) {
		hooks_done(h, &hook_mail, e.e.id, 0, "fork failed", now);
		return;
	}
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		alarm(HOOK_TIMEOUT_S);
		_exit(mail_child(m, msg));
	}
	m->pid = pid;
	m->event = e.e.id;
}

static void mail_close(void **self)
{
	struct mail *m = *self;

	if (m == NULL)
		return;
	if (m->pid > 0) {
		int status;

		kill(m->pid, SIGKILL);
		waitpid(m->pid, &status, 0);
	}
	free(m);
	*self = NULL;
}

const struct hook_transport hook_mail = {
    .name = "email",
    .open = mail_open,
    .deliver = mail_deliver,
    .poll = NULL,
    .close = mail_close,
};
