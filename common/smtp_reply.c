/* smtp_reply.c - strict, bounded SMTP reply parser (RFC 5321 4.2, RFC 3463).
 * Takes one line at a time (no CR/LF) and assembles multi-line replies into
 * the parser's fixed struct; nothing is allocated. Enforces RP_SMTP_LINE_MAX,
 * RP_SMTP_REPLY_LINES_MAX and RP_SMTP_REPLY_BYTES_MAX; rejects control bytes
 * (TAB and bytes >= 0x80 are kept). Any error resets the parser. */
#include "smtp_reply.h"

#include <string.h>

#include "rp_names.h"

static const char *const err_names[] = {
    [SMTP_REPLY_OK] = "ok",
    [SMTP_REPLY_E_SYNTAX] = "syntax",
    [SMTP_REPLY_E_CODE] = "bad-code",
    [SMTP_REPLY_E_MISMATCH] = "code-mismatch",
    [SMTP_REPLY_E_CHAR] = "control-char",
    [SMTP_REPLY_E_LINE_LONG] = "line-too-long",
    [SMTP_REPLY_E_TOO_MANY] = "too-many-lines",
    [SMTP_REPLY_E_TOO_BIG] = "reply-too-big",
};
RP_ENUM_TABLE_CHECK(err_names, SMTP_REPLY_ERR_COUNT);

static void clear_reply(struct smtp_reply *r)
{
	r->code = 0;
	memset(r->esc, 0, sizeof(r->esc));
	r->nlines = 0;
	r->len = 0;
	r->text[0] = '\0';
}

void smtp_reply_parser_reset(struct smtp_reply_parser *p)
{
	if (p == NULL)
		return;
	clear_reply(&p->r);
	p->in_reply = false;
}

const char *smtp_reply_err_name(enum smtp_reply_err e)
{
	return rp_name(err_names, SMTP_REPLY_ERR_COUNT, (int)e, "unknown");
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Count 1..3 digits at s[*i]; advance *i. */
static bool take_digits(const char *s, size_t len, size_t *i)
{
	size_t n = 0;

	while (*i < len && n < 4 && is_digit((unsigned char)s[*i])) {
		(*i)++;
		n++;
	}
	return n >= 1 && n <= 3;
}

/* RFC 3463 class.subject.detail at the start of the first line's text,
 * followed by a space or the end of the line. Kept only when the class
 * matches the reply code's first digit. */
static void parse_esc(struct smtp_reply *r, const char *s, size_t len)
{
	size_t i = 0;
	char cls = (char)('0' + r->code / 100);

	if (len < 5 || s[0] != cls || (cls != '2' && cls != '4' && cls != '5'))
		return;
	i = 1;
	if (i >= len || s[i] != '.')
		return;
	i++;
	if (!take_digits(s, len, &i))
		return;
	if (i >= len || s[i] != '.')
		return;
	i++;
	if (!take_digits(s, len, &i))
		return;
	if (i < len && s[i] != ' ')
		return;
	if (i >= sizeof(r->esc))
		return;
	memcpy(r->esc, s, i);
	r->esc[i] = '\0';
}

static enum smtp_parse_status fail(struct smtp_reply_parser *p, enum smtp_reply_err *err,
                                   enum smtp_reply_err e)
{
	smtp_reply_parser_reset(p);
	if (err != NULL)
		*err = e;
	return SMTP_PARSE_ERROR;
}

enum smtp_parse_status smtp_reply_parser_line(struct smtp_reply_parser *p, const char *line,
                                              size_t len, enum smtp_reply_err *err)
{
	const unsigned char *u = (const unsigned char *)line;
	const char *text;
	size_t tlen, need, i;
	int code;
	bool more;

	if (err != NULL)
		*err = SMTP_REPLY_OK;
	if (p == NULL)
		return SMTP_PARSE_ERROR;
	if (!p->in_reply)
		clear_reply(&p->r);
	if (line == NULL && len > 0)
		return fail(p, err, SMTP_REPLY_E_SYNTAX);
	if (len > RP_SMTP_LINE_MAX)
		return fail(p, err, SMTP_REPLY_E_LINE_LONG);
	if (len < 3 || !is_digit(u[0]) || !is_digit(u[1]) || !is_digit(u[2]))
		return fail(p, err, SMTP_REPLY_E_SYNTAX);
	if (len > 3 && u[3] != ' ' && u[3] != '-')
		return fail(p, err, SMTP_REPLY_E_SYNTAX);
	if (u[0] < '2' || u[0] > '5' || u[1] > '5')
		return fail(p, err, SMTP_REPLY_E_CODE);
	for (i = 3; i < len; i++) {
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
			return fail(p, err, SMTP_REPLY_E_CHAR);
	}

	code = (u[0] - '0') * 100 + (u[1] - '0') * 10 + (u[2] - '0');
	more = len > 3 && u[3] == '-';
	text = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;

	if (p->in_reply && code != p->r.code)
		return fail(p, err, SMTP_REPLY_E_MISMATCH);
	if (p->r.nlines >= RP_SMTP_REPLY_LINES_MAX)
		return fail(p, err, SMTP_REPLY_E_TOO_MANY);
	need = tlen + (p->r.nlines > 0 ? 1 : 0);
	if (need > RP_SMTP_REPLY_BYTES_MAX - p->r.len)
		return fail(p, err, SMTP_REPLY_E_TOO_BIG);

	if (p->r.nlines == 0) {
		p->r.code = code;
		parse_esc(&p->r, text, tlen);
	} else {
		p->r.text[p->r.len++] = '\n';
	}
	if (tlen > 0)
		memcpy(p->r.text + p->r.len, text, tlen);
	p->r.len += tlen;
	p->r.text[p->r.len] = '\0';
	p->r.nlines++;

	if (more) {
		p->in_reply = true;
		return SMTP_PARSE_MORE;
	}
	p->in_reply = false;
	return SMTP_PARSE_DONE;
}

void smtp_reply_first_line(const struct smtp_reply *r, char *buf, size_t buflen)
{
	size_t n = 0;

	if (buf == NULL || buflen == 0)
		return;
	if (r != NULL) {
		while (n < r->len && n < buflen - 1 && r->text[n] != '\n')
			n++;
		memcpy(buf, r->text, n);
	}
	buf[n] = '\0';
}

static unsigned char fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

bool smtp_reply_contains(const struct smtp_reply *r, const char *needle)
{
	size_t nlen, i, j;

	if (r == NULL || needle == NULL)
		return false;
	nlen = strlen(needle);
	if (nlen == 0)
		return true;
	if (nlen > r->len)
		return false;
	for (i = 0; i + nlen <= r->len; i++) {
		for (j = 0; j < nlen; j++) {
			if (fold((unsigned char)r->text[i + j]) != fold((unsigned char)needle[j]))
				break;
		}
		if (j == nlen)
			return true;
	}
	return false;
}
