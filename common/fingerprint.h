/* fingerprint.h - which mail server software answered, read from what it
 * said in one dialog: banner, EHLO greeting, keywords and their order, the
 * texts and enhanced codes of its replies. One table of signatures, each
 * worth some points for one product; the best product wins when it has
 * enough points and no rival comes close, else FP_SW_UNKNOWN. Only the first
 * RP_FP_SCAN_MAX bytes of a line and RP_FP_LINES_MAX received lines are
 * read; evidence is copied (bounded), nothing is borrowed. docs/fingerprint.md. */
#ifndef RP_FINGERPRINT_H
#define RP_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "rp_limits.h"
#include "transcript.h"

enum fp_software {
	FP_SW_UNKNOWN = 0,
	FP_SW_POSTFIX,
	FP_SW_EXIM,
	FP_SW_SENDMAIL,
	FP_SW_OPENSMTPD,
	FP_SW_EXCHANGE,
	FP_SW_QMAIL,
	FP_SW_HARAKA,
	FP_SW_HMAILSERVER,
	FP_SW_ZIMBRA, /* Postfix inside: its signatures add to Zimbra's own */
	FP_SW_COUNT
};

enum fp_confidence {
	FP_CONF_NONE = 0, /* unknown */
	FP_CONF_LOW,
	FP_CONF_MEDIUM,
	FP_CONF_HIGH,
	FP_CONF_COUNT
};

/* Where in the dialog a received line was said. */
enum fp_stage {
	FP_ST_BANNER = 0, /* before our first command of a session */
	FP_ST_EHLO,       /* reply to EHLO or HELO */
	FP_ST_MAIL,
	FP_ST_RCPT,
	FP_ST_DATA, /* DATA, and the end of the message */
	FP_ST_OTHER,
	FP_ST_COUNT
};

/* One received line and where it was said; text need not be NUL-terminated. */
struct fp_line {
	enum fp_stage stage;
	bool first; /* first line of its reply (the EHLO greeting line) */
	const char *text;
	size_t len;
	int index; /* transcript index, -1 none */
};

struct fp_evidence {
	int index;                         /* transcript index, -1 none */
	char text[RP_FP_EVIDENCE_LEN + 1]; /* the line, cut and printable */
	const char *why;                   /* static: what the signature means */
};

struct fp_result {
	enum fp_software software;
	enum fp_confidence confidence;
	unsigned score;     /* points of the winner (0 when unknown) */
	unsigned runner_up; /* points of the best other product */
	size_t nevidence;
	struct fp_evidence evidence[RP_FP_EVIDENCE_MAX];
	const char *note; /* static: why unknown ("thin", "conflicting"), or "" */
};

/* Decide from lines[0..n) (at most RP_FP_LINES_MAX are read). out is always filled. */
void fingerprint_lines(const struct fp_line *lines, size_t n, struct fp_result *out);
/* The same from a dialog's transcript: received lines, their stage from the
 * command sent before them, a new session at each "Connected to" event. */
void fingerprint_transcript(const struct transcript *t, struct fp_result *out);
/* The same from a result document's "transcript" array (transcript_to_json()
 * shape: objects with "dir" and "text"; anything else is skipped): what the
 * controller does with a stored, signed result. tr may be NULL or not an
 * array (then unknown). The texts are borrowed, read like a transcript's:
 * RP_FP_LINES_MAX received lines, RP_FP_SCAN_MAX bytes of each. */
void fingerprint_transcript_json(const json_t *tr, struct fp_result *out);

const char *fp_software_name(enum fp_software s);  /* "postfix" */
const char *fp_software_label(enum fp_software s); /* "Postfix" */
int fp_software_from_name(const char *name);       /* -1 when unknown */
const char *fp_confidence_name(enum fp_confidence c);

#endif
