/* text_col.c - the TARGET column's width and cells (text_col.h). Counts UTF-8
 * code points; a cut name keeps whole code points and ends in U+2026. */
#include "text_col.h"

#include <string.h>

#include "rp_limits.h"

static bool is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t text_col_len(const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s; s++)
		n += !is_cont((unsigned char)*s);
	return n;
}

size_t text_col_target_estimate(const char *host, bool via_mx)
{
	size_t n = text_col_len(host);

	/* "mx2." + host + " (MX of " + host + ", pref 65535)" */
	return via_mx ? 4 + n + 8 + n + 13 : n;
}

size_t text_col_fit(size_t width, size_t len)
{
	if (len > width)
		width = len;
	if (width < RP_TABLE_TARGET_MIN)
		width = RP_TABLE_TARGET_MIN;
	return width > RP_TABLE_TARGET_MAX ? RP_TABLE_TARGET_MAX : width;
}

void text_col_put(FILE *out, const char *s, size_t width)
{
	size_t len = text_col_len(s), cols = 0;

	if (s == NULL)
		s = "";
	if (len <= width) {
		fputs(s, out);
		for (; len < width; len++)
			fputc(' ', out);
		return;
	}
	if (width == 0)
		return;
	/* width-1 code points, then the ellipsis */
	for (; *s; s++) {
		if (!is_cont((unsigned char)*s) && cols++ == width - 1)
			break;
		fputc(*s, out);
	}
	fputs("\u2026", out);
}
