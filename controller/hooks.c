/* hooks.c - delivers verdict-change events (the events table) to the
 * configured hooks and prunes old transcripts. Owns the libcurl multi handle
 * (at most HOOK_INFLIGHT_MAX POSTs in flight, HOOK_TIMEOUT_S each), the one
 * email child process (alarm(HOOK_TIMEOUT_S)), and the hook_deliveries rows.
 * Retries back off from hook_retry_base to HOOK_BACKOFF_MAX, at most
 * HOOK_ATTEMPTS_MAX attempts. Never blocks the loop: no waits, no DNS here. */
#include "hooks.h"

#include <curl/curl.h>
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
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "store_internal.h"

enum hook_kind { H_WEBHOOK = 0, H_SYSLOG, H_EMAIL, H_COUNT };
static const char *const hook_names[H_COUNT] = {"webhook", "syslog", "email"};

#define MAIL_MAX 4096

struct web_slot {
	CURL *easy;
	struct curl_slist *hdrs;
	int64_t event;
	char errbuf[CURL_ERROR_SIZE];
};

struct hooks {
	struct store *s;
	const struct ctl_config *cfg;
	bool enabled[H_COUNT];
	int64_t cursor[H_COUNT]; /* highest event id queued per hook */
	CURLM *multi;
	struct web_slot web[HOOK_INFLIGHT_MAX];
	pid_t mail_pid;
	int64_t mail_event;
	struct sockaddr_storage smtp_addr; /* smtp_server, resolved (numeric) */
	socklen_t smtp_addrlen;
	char mail_from_line[600]; /* "MAIL FROM:<...>\r\n" */
	char rcpt_to_line[600];   /* "RCPT TO:<...>\r\n" */
	int64_t last_tick;
	int64_t next_retention; /* when the next retention pass starts */
	bool retention_active;
	int64_t retention_cursor; /* results id already looked at */
	int64_t retention_cutoff;
	long retention_stripped;
};

int64_t hooks_backoff(uint32_t base, unsigned attempts)
{
	int64_t d = base > 0 ? base : 1;

	for (unsigned i = 1; i < attempts && d < HOOK_BACKOFF_MAX; i++)
		d *= 2;
	return d > HOOK_BACKOFF_MAX ? HOOK_BACKOFF_MAX : d;
}

json_t *hooks_event_doc(int64_t id, int64_t at, const char *target, const char *client,
                        const char *from, const char *to, int64_t audit)
{
	char when[32];
	time_t t = (time_t)at;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I}", "event_id", (json_int_t)id, "time", when,
	                 "target", target ? target : "", "client", client ? client : "", "from",
	                 from ? from : "", "to", to ? to : "", "audit", (json_int_t)audit);
}

int64_t hooks_enqueue(struct store *s, const char *hook, int64_t after)
{
	sqlite3_stmt *st;
	int64_t max = after;
	int rc;

	st = store_prep(s, "INSERT OR IGNORE INTO hook_deliveries (event_id, hook) "
	                   "SELECT id, ?2 FROM events WHERE id > ?1 ORDER BY id");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_text(st, 2, hook, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_done(s, st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, "hook enqueue");
	st = store_prep(s, "SELECT coalesce(max(id), 0) FROM events");
	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > max)
		max = sqlite3_column_int64(st, 0);
	store_done(s, st);
	return max;
}

int hooks_mark(struct store *s, int64_t event, const char *hook, int ok, const char *why,
               uint32_t base, int64_t now)
{
	sqlite3_stmt *st;
	int64_t attempts = -1;
	const char *state;
	int rc;

	st =
	    store_prep(s, "SELECT attempts FROM hook_deliveries WHERE event_id = ?1 AND hook = ?2");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, event);
	sqlite3_bind_text(st, 2, hook, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		attempts = sqlite3_column_int64(st, 0);
	store_done(s, st);
	if (attempts < 0) {
		store_fail(s, "hook %s: no delivery for event %lld", hook, (long long)event);
		return -1;
	}
	attempts++;
	if (ok)
		state = "delivered";
	else if (attempts >= HOOK_ATTEMPTS_MAX)
		state = "failed";
	else
		state = "pending";
	st = store_prep(s, "UPDATE hook_deliveries SET state = ?3, attempts = ?4, next_try = ?5,"
	                   " last_error = ?6 WHERE event_id = ?1 AND hook = ?2");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, event);
	sqlite3_bind_text(st, 2, hook, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, attempts);
	sqlite3_bind_int64(st, 5, ok ? now : now + hooks_backoff(base, (unsigned)attempts));
	sqlite3_bind_text(st, 6, ok ? "" : (why ? why : "failed"), -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	store_done(s, st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, "hook mark");
	if (ok)
		log_info("hook %s delivered event=%lld attempts=%lld", hook, (long long)event,
		         (long long)attempts);
	else if (attempts >= HOOK_ATTEMPTS_MAX)
		log_error("hook %s gave up event=%lld after %lld attempts: %s", hook,
		          (long long)event, (long long)attempts, LOG_V(why ? why : "failed"));
	else
		log_warn("hook %s failed event=%lld attempt=%lld (retry in %llds): %s", hook,
		         (long long)event, (long long)attempts,
		         (long long)hooks_backoff(base, (unsigned)attempts),
		         LOG_V(why ? why : "failed"));
	return 0;
}

long hooks_retention_batch(struct store *s, int64_t cutoff, int batch)
{
	int64_t cursor = 0;
	long stripped = 0, n;

	while ((n = hooks_retention_batch_cursor(s, cutoff, batch, &cursor, &stripped)) > 0)
		;
	return n < 0 ? -1 : stripped;
}

long hooks_retention_batch_cursor(struct store *s, int64_t cutoff, int batch, int64_t *cursor,
                                  long *stripped)
{
	sqlite3_stmt *st;
	int64_t last = *cursor;
	long seen = 0;
	int rc;

	st = store_prep(s, "SELECT id FROM results WHERE id > ?1 AND received_at < ?2"
	                   " ORDER BY id LIMIT ?3");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, *cursor);
	sqlite3_bind_int64(st, 2, cutoff);
	sqlite3_bind_int(st, 3, batch);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		seen++;
	}
	store_done(s, st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, "retention select");
	if (seen == 0)
		return 0;
	st = store_prep(s,
	                "UPDATE results SET result_json = json_remove(result_json, '$.transcript')"
	                " WHERE id > ?1 AND id <= ?2 AND received_at < ?3"
	                " AND json_type(result_json, '$.transcript') IS NOT NULL");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, *cursor);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, cutoff);
	rc = sqlite3_step(st);
	store_done(s, st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, "retention update");
	*stripped += sqlite3_changes(s->db);
	*cursor = last;
	return seen;
}

/* ---- delivery ---- */

struct ev {
	int64_t id, at, audit;
	char target[512], client[256], from[32], to[32];
};

/* Up to max due deliveries of hook, marked 'sending'. Count, or -1. */
static int due(struct hooks *h, enum hook_kind k, int64_t now, struct ev *out, int max)
{
	sqlite3_stmt *st;
	int n = 0, rc;

	st =
	    store_prep(h->s, "SELECT e.id, e.at, e.target, e.client, e.from_verdict, e.to_verdict,"
	                     " e.audit_id FROM hook_deliveries d JOIN events e ON e.id = d.event_id"
	                     " WHERE d.hook = ?1 AND d.state = 'pending' AND d.next_try <= ?2"
	                     " ORDER BY d.next_try, d.event_id LIMIT ?3");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hook_names[k], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ev *e = &out[n++];
		const unsigned char *t;

		e->id = sqlite3_column_int64(st, 0);
		e->at = sqlite3_column_int64(st, 1);
		t = sqlite3_column_text(st, 2);
		snprintf(e->target, sizeof(e->target), "%s", t ? (const char *)t : "");
		t = sqlite3_column_text(st, 3);
		snprintf(e->client, sizeof(e->client), "%s", t ? (const char *)t : "");
		t = sqlite3_column_text(st, 4);
		snprintf(e->from, sizeof(e->from), "%s", t ? (const char *)t : "");
		t = sqlite3_column_text(st, 5);
		snprintf(e->to, sizeof(e->to), "%s", t ? (const char *)t : "");
		e->audit = sqlite3_column_int64(st, 6);
		for (char *c = e->target; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		for (char *c = e->client; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	store_done(h->s, st);
	for (int i = 0; i < n; i++) {
		st = store_prep(h->s, "UPDATE hook_deliveries SET state = 'sending'"
		                      " WHERE event_id = ?1 AND hook = ?2");
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, out[i].id);
		sqlite3_bind_text(st, 2, hook_names[k], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		store_done(h->s, st);
		if (rc != SQLITE_DONE)
			return store_db_fail(h->s, "hook sending");
	}
	return n;
}

static void mark(struct hooks *h, int64_t event, enum hook_kind k, int ok, const char *why,
                 int64_t now)
{
	if (hooks_mark(h->s, event, hook_names[k], ok, why, h->cfg->hook_retry_base, now) < 0)
		log_error("hook %s: %s", hook_names[k], store_errmsg(h->s));
}

static void syslog_deliver(struct hooks *h, int64_t now)
{
	struct ev evs[16];
	int n = due(h, H_SYSLOG, now, evs, 16);

	for (int i = 0; i < n; i++) {
		int prio = strncmp(evs[i].to, "open", 4) == 0 ? LOG_WARNING : LOG_NOTICE;

		syslog(LOG_DAEMON | prio,
		       "relayprobe event=%lld target=%s client=%s from=%s to=%s audit=%lld",
		       (long long)evs[i].id, evs[i].target, evs[i].client, evs[i].from, evs[i].to,
		       (long long)evs[i].audit);
		mark(h, evs[i].id, H_SYSLOG, 1, NULL, now);
	}
}

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

static void web_start(struct hooks *h, int64_t now)
{
	struct ev evs[HOOK_INFLIGHT_MAX];
	int free_slots = 0, n;

	for (int i = 0; i < HOOK_INFLIGHT_MAX; i++)
		free_slots += h->web[i].easy == NULL;
	if (free_slots == 0)
		return;
	n = due(h, H_WEBHOOK, now, evs, free_slots);
	for (int i = 0, slot = 0; i < n; i++) {
		struct web_slot *w;
		json_t *doc;
		char *body;

		while (h->web[slot].easy != NULL)
			slot++;
		w = &h->web[slot];
		doc = hooks_event_doc(evs[i].id, evs[i].at, evs[i].target, evs[i].client,
		                      evs[i].from, evs[i].to, evs[i].audit);
		body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
		w->easy = body ? curl_easy_init() : NULL;
		w->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
		if (w->easy == NULL || w->hdrs == NULL) {
			free(body);
			if (w->easy)
				curl_easy_cleanup(w->easy);
			curl_slist_free_all(w->hdrs);
			w->easy = NULL;
			w->hdrs = NULL;
			mark(h, evs[i].id, H_WEBHOOK, 0, "out of memory", now);
			continue;
		}
		w->event = evs[i].id;
		w->errbuf[0] = '\0';
		curl_easy_setopt(w->easy, CURLOPT_URL, h->cfg->webhook);
		curl_easy_setopt(w->easy, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(w->easy, CURLOPT_TIMEOUT, (long)HOOK_TIMEOUT_S);
		curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->hdrs);
		curl_easy_setopt(w->easy, CURLOPT_COPYPOSTFIELDS, body);
		curl_easy_setopt(w->easy, CURLOPT_USERAGENT, "relayprobe-controller");
		curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->errbuf);
		curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
		free(body);
		if (curl_multi_add_handle(h->multi, w->easy) != CURLM_OK) {
			curl_easy_cleanup(w->easy);
			curl_slist_free_all(w->hdrs);
			w->easy = NULL;
			w->hdrs = NULL;
			mark(h, evs[i].id, H_WEBHOOK, 0, "curl_multi_add_handle failed", now);
		}
	}
}

static void web_collect(struct hooks *h, int64_t now)
{
	CURLMsg *msg;
	int running, left;

	curl_multi_perform(h->multi, &running);
	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct web_slot *w = NULL;
		long code = 0;
		char why[CURL_ERROR_SIZE + 64];

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
		if (w == NULL)
			continue;
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result != CURLE_OK)
			snprintf(why, sizeof(why), "%s",
			         w->errbuf[0] ? w->errbuf : curl_easy_strerror(msg->data.result));
		else
			snprintf(why, sizeof(why), "HTTP status %ld", code);
		mark(h, w->event, H_WEBHOOK,
		     msg->data.result == CURLE_OK && code >= 200 && code < 300, why, now);
		curl_multi_remove_handle(h->multi, w->easy);
		curl_easy_cleanup(w->easy);
		curl_slist_free_all(w->hdrs);
		w->easy = NULL;
		w->hdrs = NULL;
	}
}

/* ---- email: a child process speaks SMTP under alarm() ---- */

struct smtp_io {
	int fd;
	char buf[1024];
	size_t len;
};

/* Reads one (possibly multi-line) reply; its code, or -1. */
static int smtp_reply(struct smtp_io *io)
{
	for (;;) {
		char *nl = memchr(io->buf, '\n', io->len);
		ssize_t r;

		if (nl != NULL) {
			size_t linelen = (size_t)(nl - io->buf) + 1;
			int code = -1, last = 0;

			if (linelen >= 4 && io->buf[0] >= '2' && io->buf[0] <= '5' &&
			    io->buf[1] >= '0' && io->buf[1] <= '9' && io->buf[2] >= '0' &&
			    io->buf[2] <= '9') {
				code = (io->buf[0] - '0') * 100 + (io->buf[1] - '0') * 10 +
				       (io->buf[2] - '0');
				last = io->buf[3] != '-';
			}
			memmove(io->buf, nl + 1, io->len - linelen);
			io->len -= linelen;
			if (code < 0)
				return -1;
			if (last)
				return code;
			continue;
		}
		if (io->len == sizeof(io->buf))
			return -1;
		r = read(io->fd, io->buf + io->len, sizeof(io->buf) - io->len);
		if (r <= 0)
			return -1;
		io->len += (size_t)r;
	}
}

static int smtp_send(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t w = write(fd, s + off, len - off);

		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static int smtp_step(struct smtp_io *io, const char *line, int want)
{
	int code;

	if (line != NULL && smtp_send(io->fd, line) < 0)
		return -1;
	code = smtp_reply(io);
	return code / 100 == want ? 0 : -1;
}

/* In the child: the whole transaction over the address the parent
 * resolved and the lines it built (no allocation, no lookups here: the
 * parent has threads). Exit status 0 when the message was accepted. */
static int smtp_child(const struct sockaddr_storage *sa, socklen_t salen, const char *mail_from,
                      const char *rcpt_to, const char *msg)
{
	struct smtp_io io = {.fd = -1};

	io.fd = socket(sa->ss_family, SOCK_STREAM, 0);
	if (io.fd < 0 || connect(io.fd, (const struct sockaddr *)sa, salen) != 0)
		return 4;
	if (smtp_step(&io, NULL, 2) < 0 || smtp_step(&io, "HELO relayprobe-controller\r\n", 2) < 0)
		return 5;
	if (smtp_step(&io, mail_from, 2) < 0)
		return 6;
	if (smtp_step(&io, rcpt_to, 2) < 0)
		return 7;
	if (smtp_step(&io, "DATA\r\n", 3) < 0)
		return 8;
	if (smtp_step(&io, msg, 2) < 0)
		return 9;
	smtp_send(io.fd, "QUIT\r\n");
	close(io.fd);
	return 0;
}

/* The message, dot-stuffed, CRLF, ending with "\r\n.\r\n". */
static int mail_text(const struct hooks *h, const struct ev *e, char *out, size_t outlen)
{
	char date[64], body[MAIL_MAX];
	time_t t = (time_t)e->at;
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		return -1;
	n = snprintf(body, sizeof(body),
	             "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
	             "Subject: relayprobe: %s %s -> %s\r\n"
	             "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	             "Target: %s\r\nClient: %s\r\nFrom verdict: %s\r\nTo verdict: %s\r\n"
	             "Audit: %lld\r\nEvent: %lld\r\n",
	             h->cfg->mail_from, h->cfg->mail_to, date, e->target, e->from, e->to, e->target,
	             e->client, e->from, e->to, (long long)e->audit, (long long)e->id);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	/* Dot-stuffing: a line starting with '.' gets another (the stored
	 * fields carry no control characters: due() replaced them). */
	size_t o = 0;
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

static void mail_tick(struct hooks *h, int64_t now)
{
	struct ev e;
	char msg[MAIL_MAX + 512];
	pid_t pid;

	if (h->mail_pid > 0) {
		int status;
		pid_t r = waitpid(h->mail_pid, &status, WNOHANG);

		if (r == 0)
			return; /* still sending (alarm() bounds it) */
		if (r == h->mail_pid) {
			int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			char why[64];

			if (WIFSIGNALED(status))
				snprintf(why, sizeof(why), "timed out or killed (signal %d)",
				         WTERMSIG(status));
			else
				snprintf(why, sizeof(why), "SMTP failure (step %d)",
				         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			mark(h, h->mail_event, H_EMAIL, ok, why, now);
		} else {
			mark(h, h->mail_event, H_EMAIL, 0, "lost the mail child", now);
		}
		h->mail_pid = 0;
	}
	if (due(h, H_EMAIL, now, &e, 1) != 1)
		return;
	if (mail_text(h, &e, msg, sizeof(msg)) < 0) {
		mark(h, e.id, H_EMAIL, 0, "message too long", now);
		return;
	}
	pid = fork();
	if (pid < 0) {
		mark(h, e.id, H_EMAIL, 0, "fork failed", now);
		return;
	}
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		alarm(HOOK_TIMEOUT_S);
		_exit(smtp_child(&h->smtp_addr, h->smtp_addrlen, h->mail_from_line, h->rcpt_to_line,
		                 msg));
	}
	h->mail_pid = pid;
	h->mail_event = e.id;
}

/* ---- the module ---- */

static int64_t max_event_of(struct store *s, const char *hook)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	st = store_prep(s, "SELECT (SELECT max(event_id) FROM hook_deliveries WHERE hook = ?1),"
	                   " (SELECT coalesce(max(id), 0) FROM events)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hook, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		/* A hook seen before resumes after its last queued event; a new
		 * hook starts with the events to come, not the whole past. */
		v = sqlite3_column_type(st, 0) != SQLITE_NULL ? sqlite3_column_int64(st, 0)
		                                              : sqlite3_column_int64(st, 1);
	store_done(s, st);
	return v;
}

struct hooks *hooks_new(struct store *s, const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct hooks *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->s = s;
	h->cfg = cfg;
	h->enabled[H_WEBHOOK] = cfg->webhook != NULL;
	h->enabled[H_SYSLOG] = cfg->hook_syslog != 0;
	h->enabled[H_EMAIL] = cfg->smtp_server != NULL && cfg->mail_from && cfg->mail_to;
	if (h->enabled[H_EMAIL]) {
		char host[128], port_s[8];
		unsigned port;
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
		                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
		struct addrinfo *ai = NULL;

		if (metrics_parse_address(cfg->smtp_server, host, sizeof(host), &port) < 0 ||
		    snprintf(port_s, sizeof(port_s), "%u", port) <= 0 ||
		    getaddrinfo(host, port_s, &hints, &ai) != 0 || ai == NULL ||
		    ai->ai_addrlen > sizeof(h->smtp_addr)) {
			if (ai != NULL)
				freeaddrinfo(ai);
			snprintf(err, errlen, "smtp_server %s: expected a numeric ADDRESS:PORT",
			         cfg->smtp_server);
			free(h);
			return NULL;
		}
		memcpy(&h->smtp_addr, ai->ai_addr, ai->ai_addrlen);
		h->smtp_addrlen = ai->ai_addrlen;
		freeaddrinfo(ai);
		snprintf(h->mail_from_line, sizeof(h->mail_from_line), "MAIL FROM:<%s>\r\n",
		         cfg->mail_from);
		snprintf(h->rcpt_to_line, sizeof(h->rcpt_to_line), "RCPT TO:<%s>\r\n",
		         cfg->mail_to);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (h->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "libcurl initialisation failed");
		hooks_free(&h);
		return NULL;
	}
	if (sqlite3_exec(s->db,
	                 "UPDATE hook_deliveries SET state = 'pending' WHERE state = 'sending'",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "hooks: %s", sqlite3_errmsg(s->db));
		hooks_free(&h);
		return NULL;
	}
	for (int k = 0; k < H_COUNT; k++) {
		if (!h->enabled[k])
			continue;
		h->cursor[k] = max_event_of(s, hook_names[k]);
		if (h->cursor[k] < 0) {
			snprintf(err, errlen, "hooks: %s", store_errmsg(s));
			hooks_free(&h);
			return NULL;
		}
		log_info("hook %s enabled, events after id %lld", hook_names[k],
		         (long long)h->cursor[k]);
	}
	return h;
}

void hooks_free(struct hooks **hp)
{
	struct hooks *h;

	if (hp == NULL || *hp == NULL)
		return;
	h = *hp;
	for (int i = 0; i < HOOK_INFLIGHT_MAX; i++)
		if (h->web[i].easy != NULL) {
			curl_multi_remove_handle(h->multi, h->web[i].easy);
			curl_easy_cleanup(h->web[i].easy);
			curl_slist_free_all(h->web[i].hdrs);
		}
	if (h->multi != NULL) {
		curl_multi_cleanup(h->multi);
		curl_global_cleanup();
	}
	if (h->mail_pid > 0) {
		int status;

		kill(h->mail_pid, SIGKILL);
		waitpid(h->mail_pid, &status, 0);
	}
	free(h);
	*hp = NULL;
}

static void retention_tick(struct hooks *h, int64_t now)
{
	long n;

	if (h->cfg->retention_s <= 0)
		return;
	if (!h->retention_active) {
		if (now < h->next_retention)
			return;
		h->retention_active = true;
		h->retention_cutoff = now - (int64_t)h->cfg->retention_s;
		h->retention_stripped = 0;
	}
	n = hooks_retention_batch_cursor(h->s, h->retention_cutoff, HOOK_RETENTION_BATCH,
	                                 &h->retention_cursor, &h->retention_stripped);
	if (n < 0)
		log_error("retention: %s", store_errmsg(h->s));
	if (n <= 0) {
		h->retention_active = false;
		h->next_retention = now + HOOK_RETENTION_EVERY;
		if (h->retention_stripped > 0)
			log_info("retention: transcripts removed=%ld", h->retention_stripped);
	}
}

void hooks_tick(struct hooks *h, int64_t now)
{
	if (h == NULL)
		return;
	if (h->enabled[H_WEBHOOK])
		web_collect(h, now);
	if (now == h->last_tick)
		return;
	h->last_tick = now;
	for (int k = 0; k < H_COUNT; k++) {
		int64_t c;

		if (!h->enabled[k])
			continue;
		c = hooks_enqueue(h->s, hook_names[k], h->cursor[k]);
		if (c < 0)
			log_error("hook %s: %s", hook_names[k], store_errmsg(h->s));
		else
			h->cursor[k] = c;
	}
	if (h->enabled[H_SYSLOG])
		syslog_deliver(h, now);
	if (h->enabled[H_WEBHOOK]) {
		web_start(h, now);
		web_collect(h, now);
	}
	if (h->enabled[H_EMAIL])
		mail_tick(h, now);
	retention_tick(h, now);
}

static json_t *hooks_status(struct hooks *h)
{
	sqlite3_stmt *st;
	json_t *o = json_object();
	int rc;

	st = o ? store_prep(h->s, "SELECT hook, state, count(*) FROM hook_deliveries"
	                          " GROUP BY hook, state")
	       : NULL;
	if (st == NULL) {
		json_decref(o);
		return json_pack("{s:b,s:s}", "ok", 0, "error", "hooks.status failed");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *hook = (const char *)sqlite3_column_text(st, 0);
		const char *state = (const char *)sqlite3_column_text(st, 1);
		json_t *per;

		if (hook == NULL || state == NULL)
			continue;
		per = json_object_get(o, hook);
		if (per == NULL) {
			per = json_object();
			json_object_set_new(o, hook, per);
		}
		if (per != NULL)
			json_object_set_new(per, state, json_integer(sqlite3_column_int64(st, 2)));
	}
	store_done(h->s, st);
	return json_pack("{s:b,s:o}", "ok", 1, "hooks", o);
}

json_t *hooks_admin(struct hooks *h, const char *cmd, json_t *req)
{
	(void)req;
	if (h == NULL || cmd == NULL)
		return NULL;
	if (strcmp(cmd, "hooks.status") == 0)
		return hooks_status(h);
	if (strcmp(cmd, "retention.run") == 0) {
		int64_t cutoff;
		long n;

		if (h->cfg->retention_s <= 0)
			return json_pack("{s:b,s:i,s:b}", "ok", 1, "stripped", 0, "forever", 1);
		cutoff = (int64_t)time(NULL) - (int64_t)h->cfg->retention_s;
		n = hooks_retention_batch(h->s, cutoff, HOOK_RETENTION_BATCH);
		if (n < 0)
			return json_pack("{s:b,s:s}", "ok", 0, "error", store_errmsg(h->s));
		log_info("retention.run: transcripts removed=%ld", n);
		return json_pack("{s:b,s:I}", "ok", 1, "stripped", (json_int_t)n);
	}
	return NULL;
}
