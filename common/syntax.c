/* syntax.c - one function per text rule (ids by kind, tokens, free text,
 * tags, mailboxes); see syntax.h for each rule. Reads at most max + 1 bytes
 * of any input, never trusts a terminator past that. */
#include "syntax.h"

#include <string.h>

#include "target.h"

static bool id_char(unsigned char c, bool colon)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || (colon && c == ':');
}

/* 1..max bytes of id characters; *digits set when all are digits. */
static bool id_chars_ok(const char *s, size_t max, bool colon, bool *digits)
{
	size_t n = strnlen(s, max + 1);

	*digits = true;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!id_char((unsigned char)s[i], colon))
			return false;
		*digits = *digits && s[i] >= '0' && s[i] <= '9';
	}
	return true;
}

bool rp_id_ok(enum rp_id_kind kind, const char *s)
{
	bool digits;

	if (s == NULL)
		return false;
	switch (kind) {
	case RP_ID_NAME:
		return id_chars_ok(s, RP_WIRE_ID_MAX, false, &digits) && s[0] != '.' &&
		       s[0] != '-' && !digits;
	case RP_ID_ORDER:
	case RP_ID_AUDIT:
	case RP_ID_REF:
		return id_chars_ok(s, RP_WIRE_ID_MAX, true, &digits);
	case RP_ID_SPOOL:
		return id_chars_ok(s, RP_SPOOL_KEY_MAX, false, &digits) && strcmp(s, ".") != 0 &&
		       strcmp(s, "..") != 0;
	case RP_ID_SCHEDULE:
		return rp_tag_ok(s);
	case RP_ID_KIND_COUNT:
		break;
	}
	return false;
}

bool rp_token_ok(const char *s, size_t max, bool required)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, max + 1);
	if (n > max || (required && n == 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned long cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool rp_text_ok(const char *s, size_t max, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, max + 1);
	if (n > max || (n == 0 && !(flags & RP_TEXT_EMPTY)))
		return false;
	for (size_t i = 0; i < n;) {
		size_t k;

		if (u[i] < 0x20 || u[i] == 0x7f || (u[i] == ' ' && (flags & RP_TEXT_NO_SPACE)))
			return false;
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (!(flags & RP_TEXT_UTF8) || (k = utf8_len(u + i, n - i)) == 0)
			return false;
		i += k;
	}
	return true;
}

bool rp_tag_ok(const char *s)
{
	return rp_text_ok(s, RP_INV_TEXT_MAX, RP_TEXT_NO_SPACE | RP_TEXT_UTF8) &&
	       strpbrk(s, ",;") == NULL;
}

int rp_mailbox_split(const char *s, char *local, size_t llen, char *domain, size_t dlen,
                     unsigned flags)
{
	const char *at, *dom;
	size_t n, len;

	if (s == NULL || (len = strnlen(s, RP_ADDR_MAX)) >= RP_ADDR_MAX)
		return -1;
	at = strrchr(s, '@');
	if (at == NULL)
		return -1;
	n = (size_t)(at - s);
	dom = at + 1;
	if (n == 0 || n > RP_LOCAL_PART_MAX || len - n - 1 > RP_DOMAIN_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr("\"(),:;<>@[\\]", c) != NULL)
			return -1;
	}
	if (!target_hostname_ok(dom) &&
	    !((flags & RP_MAILBOX_LITERAL) && target_address_literal_ok(dom)))
		return -1;
	if ((local != NULL && n >= llen) || (domain != NULL && len - n - 1 >= dlen))
		return -1;
	if (local != NULL) {
		memcpy(local, s, n);
		local[n] = '\0';
	}
	if (domain != NULL) {
		memcpy(domain, dom, len - n - 1);
		domain[len - n - 1] = '\0';
	}
	return 0;
}

bool rp_ehlo_ok(const char *s)
{
	return s != NULL && strnlen(s, RP_DOMAIN_MAX + 1) <= RP_DOMAIN_MAX &&
	       (target_hostname_ok(s) || target_address_literal_ok(s));
}

const char *rp_probe_params_bad(const char *to, const char *from, const char *ehlo)
{
	if (to != NULL && to[0] != '\0' &&
	    rp_mailbox_split(to, NULL, 0, NULL, 0, RP_MAILBOX_LITERAL) < 0)
		return "to";
	if (from != NULL && from[0] != '\0' &&
	    rp_mailbox_split(from, NULL, 0, NULL, 0, RP_MAILBOX_LITERAL) < 0)
		return "from";
	if (ehlo != NULL && ehlo[0] != '\0' && !rp_ehlo_ok(ehlo))
		return "ehlo";
	return NULL;
}
