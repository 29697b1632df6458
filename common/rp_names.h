/* rp_names.h - the one rule for enum name tables (STYLE.md): every table is
 * checked against its enum's _COUNT at compile time (RP_ENUM_TABLE_CHECK) and read
 * through rp_name(), which bounds the value and answers the caller's
 * fallback for one out of range or a hole, and rp_name_find() (-1 unknown). */
#ifndef RP_NAMES_H
#define RP_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define RP_NAMES_LEN(table) (sizeof(table) / sizeof((table)[0]))

/* At file scope, after a table indexed by an enum (names, or any per-value
 * data): fails the build unless it has exactly one entry per value. */
#define RP_ENUM_TABLE_CHECK(table, count)                                                          \
	_Static_assert(RP_NAMES_LEN(table) == (size_t)(count), #table " out of sync with " #count)

/* table[v] for 0 <= v < n when it is set, else fallback. */
const char *rp_name(const char *const *table, size_t n, int v, const char *fallback);

/* The index of name in table (strcasecmp when nocase), -1 when it is not
 * there or name is NULL. */
int rp_name_find(const char *const *table, size_t n, const char *name, bool nocase);

#endif
