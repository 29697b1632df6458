/* rp_names.c - the bounds-checked lookups of the enum name tables
 * (rp_names.h). */
#include "rp_names.h"

#include <string.h>
#include <strings.h>

const char *rp_name(const char *const *table, size_t n, int v, const char *fallback)
{
	if (v < 0 || (size_t)v >= n || table[v] == NULL)
		return fallback;
	return table[v];
}

int rp_name_find(const char *const *table, size_t n, const char *name, bool nocase)
{
	for (size_t i = 0; name != NULL && i < n; i++)
		if (table[i] != NULL &&
		    (nocase ? strcasecmp(table[i], name) : strcmp(table[i], name)) == 0)
			return (int)i;
	return -1;
}
