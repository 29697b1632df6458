/* verdict.c - names of outcomes and verdicts, the classification of SMTP
 * rejections (relay denied / auth / TLS / policy / sender) and the dialog
 * verdict computed from a tally of test outcomes. Pure functions. */
#include "verdict.h"

#include <string.h>

#include "rp_names.h"

static const char *const outcome_names[] = {"not-run", "accepted", "rejected", "tempfail", "error"};
RP_ENUM_TABLE_CHECK(outcome_names, TO_COUNT);

static const char *const rclass_names[] = {"none",          "relay-denied", "sender-rejected",
                                           "auth-required", "tls-required", "policy"};
RP_ENUM_TABLE_CHECK(rclass_names, RC_COUNT);

static const char *const verdict_names[] = {
    "open-confirmed", "open",          "accepted-not-delivered",
    "closed",         "auth-required", "tls-required",
    "tempfail",       "blocked",       "unreachable",
    "error",          "excluded"};
RP_ENUM_TABLE_CHECK(verdict_names, DV_COUNT);

const char *test_outcome_name(enum test_outcome o)
{
	return rp_name(outcome_names, TO_COUNT, (int)o, "?");
}

const char *reject_class_name(enum reject_class c)
{
	return rp_name(rclass_names, RC_COUNT, (int)c, "?");
}

const char *dialog_verdict_name(enum dialog_verdict v)
{
	return rp_name(verdict_names, DV_COUNT, (int)v, "?");
}

int dialog_verdict_from_name(const char *name)
{
	return rp_name_find(verdict_names, DV_COUNT, name, false);
}

static bool esc_is(const struct smtp_reply *r, const char *esc)
{
	return strcmp(r->esc, esc) == 0;
}

enum reject_class verdict_classify(const struct smtp_reply *r, bool at_mail)
{
	/* TLS first: RFC 3207 "530 5.7.0 Must issue a STARTTLS command first";
	 * RFC 5248 5.7.10/5.7.11 encryption needed. */
	if (esc_is(r, "5.7.10") || esc_is(r, "5.7.11") || esc_is(r, "4.7.10") ||
	    esc_is(r, "4.7.11") ||
	    ((r->code == 530 || r->code == 550 || r->code == 554 || r->code == 451) &&
	     (smtp_reply_contains(r, "starttls") || smtp_reply_contains(r, "tls required") ||
	      smtp_reply_contains(r, "encryption required") ||
	      smtp_reply_contains(r, "must issue a starttls"))))
		return RC_TLS;
	/* AUTH: RFC 4954 "530 5.7.0 Authentication required"; Exchange 5.7.57
	 * "Client was not authenticated"; 5.7.1 + "authentication" wording. */
	if (r->code == 530 || esc_is(r, "5.7.57") || esc_is(r, "5.7.8") ||
	    smtp_reply_contains(r, "authentication required") ||
	    smtp_reply_contains(r, "not authenticated") ||
	    smtp_reply_contains(r, "authentication is required") ||
	    smtp_reply_contains(r, "auth required") || smtp_reply_contains(r, "must authenticate"))
		return RC_AUTH;
	/* Refusals of the client itself (blocklists, rate limits). */
	if (smtp_reply_contains(r, "blocked") || smtp_reply_contains(r, "blacklist") ||
	    smtp_reply_contains(r, "blocklist") || smtp_reply_contains(r, "client host rejected") ||
	    smtp_reply_contains(r, "listed") || smtp_reply_contains(r, "rate limit") ||
	    esc_is(r, "5.7.25") || esc_is(r, "4.7.25") || esc_is(r, "5.7.27"))
		return RC_POLICY;
	if (at_mail)
		return RC_SENDER;
	return RC_RELAY_DENIED;
}

bool verdict_relay_denial(const struct smtp_reply *r)
{
	static const char *const words[] = {
	    "relay access denied", "relaying denied",        "relay denied",
	    "relay not permitted", "relaying not permitted", "not permitted to relay",
	    "unable to relay",     "relaying not allowed",   "relaying disallowed",
	    "we do not relay",     "relaying prohibited",    "relay prohibited",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (smtp_reply_contains(r, words[i]))
			return true;
	return false;
}

enum dialog_verdict verdict_from_tally(const struct verdict_tally *t)
{
	unsigned acc = t->outcome[TO_ACCEPTED], rej = t->outcome[TO_REJECTED];
	unsigned tmp = t->outcome[TO_TEMPFAIL], err = t->outcome[TO_ERROR];

	if (acc > 0)
		return DV_OPEN;
	if (rej + tmp + err == 0)
		return DV_ERROR; /* nothing was decided */
	if (tmp == 0 && err == 0) {
		unsigned tls = t->rclass[RC_TLS], auth = t->rclass[RC_AUTH];

		if (tls + auth == rej)
			return tls > 0 ? DV_TLS_REQUIRED : DV_AUTH_REQUIRED;
		return DV_CLOSED;
	}
	if (tmp > 0)
		return DV_TEMPFAIL;
	return DV_ERROR;
}

bool verdict_inconclusive(enum dialog_verdict v)
{
	return v == DV_TEMPFAIL || v == DV_BLOCKED || v == DV_UNREACHABLE || v == DV_ERROR ||
	       v == DV_EXCLUDED;
}

bool verdict_is_open(enum dialog_verdict v)
{
	return v == DV_OPEN_CONFIRMED || v == DV_OPEN || v == DV_ACCEPTED_NOT_DELIVERED;
}

bool verdict_is_excluded(enum dialog_verdict v)
{
	return v == DV_EXCLUDED;
}
