/* smtp_reply.h - strict, bounded parser for SMTP replies (RFC 5321 4.2,
 * RFC 3463 enhanced status codes). Fed one line at a time (the caller frames
 * lines on LF and strips CR); owns no memory beyond the struct itself. */
#ifndef RP_SMTP_REPLY_H
#define RP_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "rp_limits.h"

enum smtp_reply_err {
	SMTP_REPLY_OK = 0,
	SMTP_REPLY_E_SYNTAX,    /* not "DDD", "DDD ", "DDD-": bad digits or separator */
	SMTP_REPLY_E_CODE,      /* first digit not 2..5, or 2nd/3rd digit out of range */
	SMTP_REPLY_E_MISMATCH,  /* continuation line carries another code */
	SMTP_REPLY_E_CHAR,      /* control character (other than TAB) in a line */
	SMTP_REPLY_E_LINE_LONG, /* line longer than RP_SMTP_LINE_MAX */
	SMTP_REPLY_E_TOO_MANY,  /* more than RP_SMTP_REPLY_LINES_MAX lines */
	SMTP_REPLY_E_TOO_BIG,   /* more than RP_SMTP_REPLY_BYTES_MAX of text */
	SMTP_REPLY_ERR_COUNT
};

struct smtp_reply {
	int code;        /* 200..599 */
	char esc[16];    /* enhanced status "5.7.1" when present and its class
	                    matches the first digit of code, else "" */
	unsigned nlines; /* lines in the reply */
	size_t len;      /* bytes in text */
	/* Text of every line after the "DDD-"/"DDD " prefix, lines joined by '\n',
	 * NUL-terminated. Bytes >= 0x80 are kept (UTF-8 banners exist). */
	char text[RP_SMTP_REPLY_BYTES_MAX + 1];
};

struct smtp_reply_parser {
	struct smtp_reply r;
	bool in_reply; /* a multi-line reply is open */
};

enum smtp_parse_status {
	SMTP_PARSE_MORE = 0,  /* line taken, reply continues */
	SMTP_PARSE_DONE = 1,  /* reply complete: read p->r, then feed the next line */
	SMTP_PARSE_ERROR = -1 /* *err says why; the parser is reset */
};

void smtp_reply_parser_reset(struct smtp_reply_parser *p);

/* Feed one line without its CR/LF. len may be up to RP_SMTP_LINE_MAX; longer
 * lines are SMTP_REPLY_E_LINE_LONG. After DONE, p->r holds the reply until the
 * next call. */
enum smtp_parse_status smtp_reply_parser_line(struct smtp_reply_parser *p, const char *line,
                                              size_t len, enum smtp_reply_err *err);

/* Name of an error, e.g. "line-too-long". Never NULL. */
const char *smtp_reply_err_name(enum smtp_reply_err e);

/* Text of the first line of r (up to the first '\n'), copied into buf. */
void smtp_reply_first_line(const struct smtp_reply *r, char *buf, size_t buflen);

/* True when the reply text (any line, case-insensitive) contains needle. */
bool smtp_reply_contains(const struct smtp_reply *r, const char *needle);

#endif
