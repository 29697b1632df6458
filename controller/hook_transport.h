/* hook_transport.h - the one interface between hooks.c (queue, retry
 * schedule) and the transports that deliver an event: hook_webhook.c,
 * hook_syslog.c, hook_mail.c. A transport takes due events with hooks_due()
 * and reports each attempt with hooks_done(); it never touches the store.
 * Internal to controller/hooks.c and controller/hook_*.c. */
#ifndef RP_HOOK_TRANSPORT_H
#define RP_HOOK_TRANSPORT_H

#include <jansson.h>
#include <stdint.h>

#include "ctl_config.h"
#include "hooks.h"
#include "store_hooks.h"

struct hook_transport {
	const char *name; /* hook_deliveries.hook: "webhook", "syslog", "email" */
	/* 1 on (*self: its state, may stay NULL), 0 off in this config, -1 a
	 * configuration error in err. cfg outlives the transport. */
	int (*open)(const struct ctl_config *cfg, void **self, char *err, size_t errlen);
	/* Once a second (after new events are queued): start due deliveries
	 * and collect finished ones. Never blocks. */
	void (*deliver)(void *self, struct hooks *h, int64_t now);
	/* On every loop turn, NULL when not needed (webhook: curl progress). */
	void (*poll)(void *self, struct hooks *h, int64_t now);
	/* Stops what is in flight and frees *self (accepts NULL); NULL when the
	 * transport keeps no state (syslog). */
	void (*close)(void **self);
};

extern const struct hook_transport hook_webhook;
extern const struct hook_transport hook_syslog;
extern const struct hook_transport hook_mail;

/* One due event as a transport delivers it: the store's row, and doc, the
 * webhook's document (hooks_event_doc()) with the software the controller
 * named from that audit's transcripts and the advice for the new verdict
 * (ctl_advice_event(): "software" {"name","label","confidence"}, "advice"
 * [{"finding","software","summary","key"}]). The software and advice come
 * from the controller's own tables and the built-in texts, never from a
 * peer's words. doc is owned: hooks_due_free(). */
struct hook_event {
	struct store_hook_event e;
	json_t *doc;
};

/* The most events one hooks_due() call hands out. */
#define HOOK_DUE_MAX 16

/* Up to max (at most HOOK_DUE_MAX) due events of this transport, marked 'sending'; their target
 * and client carry no control characters (each is replaced by '?'). An
 * event whose advice cannot be read (a store error) still goes out, with
 * the software unknown and no advice, and the error is logged: a change
 * of verdict is never held back for want of its advice. Count, or -1
 * (logged). */
int hooks_due(struct hooks *h, const struct hook_transport *t, int64_t now, struct hook_event *out,
              int max);
/* Frees the documents of n events from hooks_due(). */
void hooks_due_free(struct hook_event *ev, int n);
/* For the syslog line and the mail: the event's software label
 * ("Postfix", "unknown") with its confidence ("high", ...; "" when
 * unknown), and its i-th advice entry's key and summary: 1, or 0 past the
 * last. Text borrowed from doc while it lives. */
const char *hooks_software_label(const struct hook_event *ev, const char **confidence);
int hooks_advice_at(const struct hook_event *ev, size_t i, const char **key, const char **summary);
/* The outcome of one attempt (see hooks_mark); store errors are logged. */
void hooks_done(struct hooks *h, const struct hook_transport *t, int64_t event, int ok,
                const char *why, int64_t now);

/* ---- hook_mail.c, exposed for tests ---- */

/* What failed in a mail transaction: the child's exit status. */
enum hook_mail_err {
	HOOK_MAIL_OK = 0,
	HOOK_MAIL_E_CONNECT = 4,
	HOOK_MAIL_E_HELO = 5, /* the greeting or HELO */
	HOOK_MAIL_E_MAIL = 6,
	HOOK_MAIL_E_RCPT = 7,
	HOOK_MAIL_E_DATA = 8,
	HOOK_MAIL_E_MESSAGE = 9 /* the message itself was not accepted */
};
/* The SMTP transaction on a connected fd (not closed here): greeting, HELO,
 * the MAIL FROM and RCPT TO lines, DATA, the dot-stuffed msg ending in
 * CRLF.CRLF, QUIT. Each reply goes through smtp_reply_parser_line() and
 * must be of the expected class. HOOK_MAIL_OK or the failed step. Uses a
 * static buffer: one session at a time per process (the child). */
int hook_mail_session(int fd, const char *mail_from_line, const char *rcpt_to_line,
                      const char *msg);

#endif
