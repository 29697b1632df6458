/* verdict.h - outcomes of one relay test, verdicts of one dialog
 * (target x vantage), and how SMTP rejections are classified. Pure functions
 * over small enums; no I/O, no allocation. */
#ifndef RP_VERDICT_H
#define RP_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp_reply.h"

enum test_outcome {
	TO_NOT_RUN = 0, /* with a reason */
	TO_ACCEPTED,    /* 2xx at RCPT (and at end of DATA when DATA was sent) */
	TO_REJECTED,    /* 5xx */
	TO_TEMPFAIL,    /* 4xx, still after the retry */
	TO_ERROR,       /* protocol violation or lost session */
	TO_COUNT
};

/* Why a server said no, read from code, enhanced code and text. */
enum reject_class {
	RC_NONE = 0,
	RC_RELAY_DENIED, /* the ordinary refusal: relay access denied, unknown user... */
	RC_SENDER,       /* MAIL FROM refused (the test never reached RCPT) */
	RC_AUTH,         /* authentication required (530, 5.7.0/5.7.1 + "auth", 5.7.57) */
	RC_TLS,          /* STARTTLS required (530 + "TLS", 5.7.10/5.7.11) */
	RC_POLICY,       /* blocklisted client, rate limit, other policy */
	RC_COUNT
};

enum dialog_verdict {
	DV_OPEN_CONFIRMED = 0,     /* a test message reached the canary */
	DV_OPEN,                   /* at least one relay test accepted */
	DV_ACCEPTED_NOT_DELIVERED, /* accepted through DATA, the canary never saw it */
	DV_CLOSED,                 /* every relay test that ran was rejected */
	DV_AUTH_REQUIRED,          /* rejected: AUTH needed */
	DV_TLS_REQUIRED,           /* rejected: TLS needed and not had */
	DV_TEMPFAIL,               /* 4xx throughout, even after retry */
	DV_BLOCKED,                /* refused at connect or greeting (554 banner) */
	DV_UNREACHABLE,            /* no TCP connection */
	DV_ERROR,                  /* protocol violation, TLS failure, garbage */
	DV_EXCLUDED,               /* on the do-not-test list: never connected to;
	                              not a server verdict (see verdict_inconclusive) */
	DV_COUNT
};

const char *test_outcome_name(enum test_outcome o);
const char *reject_class_name(enum reject_class c);
const char *dialog_verdict_name(enum dialog_verdict v);
/* Parse a name back ("open", "closed"...); -1 when unknown. */
int dialog_verdict_from_name(const char *name);

/* Classify a 4xx/5xx reply to MAIL FROM (at_mail) or RCPT TO. */
enum reject_class verdict_classify(const struct smtp_reply *r, bool at_mail);

/* True when a reply's text refuses relaying in so many words ("Relay access
 * denied", "relaying denied", "unable to relay"...). A 4xx that says so is a
 * policy decision, not a temporary state: stock Postfix answers
 * "454 4.7.1 Relay access denied" (defer_unauth_destination, its default
 * since 2.10), and retrying it changes nothing. */
bool verdict_relay_denial(const struct smtp_reply *r);

/* Counts of test outcomes and rejection classes over one dialog's tests. */
struct verdict_tally {
	unsigned outcome[TO_COUNT];
	unsigned rclass[RC_COUNT]; /* over TO_REJECTED tests */
};

/* The dialog verdict from the tally, when the dialog got far enough to run
 * tests (blocked/unreachable/error before tests are decided by the dialog). */
enum dialog_verdict verdict_from_tally(const struct verdict_tally *t);

/* True for verdicts that say nothing about relaying (tempfail, blocked,
 * unreachable, error, excluded): the target is inconclusive. An excluded
 * target was never probed, so it counts as neither open, closed nor
 * unreachable; reports name it "excluded". */
bool verdict_inconclusive(enum dialog_verdict v);
/* True for open-confirmed, open, accepted-not-delivered. */
bool verdict_is_open(enum dialog_verdict v);
/* True for DV_EXCLUDED (a do-not-test entry covered the target or address). */
bool verdict_is_excluded(enum dialog_verdict v);

#endif
