/* text_col.h - one column of a text table (the TARGET column of `relayprobe
 * probe`): its width from the names it will hold, between
 * RP_TABLE_TARGET_MIN and RP_TABLE_TARGET_MAX, and a cell padded to it or cut
 * with an ellipsis, counting UTF-8 code points, never splitting one. */
#ifndef RP_CLI_TEXT_COL_H
#define RP_CLI_TEXT_COL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Code points in s (bytes that do not continue a UTF-8 sequence). */
size_t text_col_len(const char *s);
/* The widest a row's name for this target can be: the host itself, or, when
 * it is a name looked up through MX, "mx2.HOST (MX of HOST, pref 65535)". */
size_t text_col_target_estimate(const char *host, bool via_mx);
/* width grown to hold len, within RP_TABLE_TARGET_MIN..RP_TABLE_TARGET_MAX. */
size_t text_col_fit(size_t width, size_t len);
/* s in exactly width columns: padded with spaces, or its first width-1 code
 * points and "\u2026" when longer. */
void text_col_put(FILE *out, const char *s, size_t width);

#endif
