/* ini_strict.h - the one INI loader of relayprobe-agent and
 * relayprobe-controller: a table of keys (section, name, type, where the
 * value goes, required or not, a line of doc) and a strict parser that stops
 * at the first problem with "FILE:LINE: [section] key: why". Files are at
 * most RP_INI_FILE_MAX bytes, lines RP_INI_LINE_MAX (rp_limits.h); the loader
 * allocates only one RP_INI_FILE_MAX buffer (freed) and the INI_STRDUP
 * values (the caller's). */
#ifndef RP_INI_STRICT_H
#define RP_INI_STRICT_H

#include <stdbool.h>
#include <stddef.h>

/* What a key's value is and where it goes (offset/size of a member of the
 * caller's struct, see INI_AT()). */
enum ini_type {
	INI_STR,     /* char[size] member: at most size - 1 bytes */
	INI_STRDUP,  /* char * member, malloc'd (the caller frees it): at most max bytes */
	INI_BOOL,    /* bool member: yes/true/on/1 or no/false/off/0, any case */
	INI_UINT,    /* unsigned member: decimal digits only, min..max */
	INI_SECONDS, /* unsigned member: "30", "30s", "5m", "2h", "1d"; min..max, 0 with INI_ZERO_OK
	              */
	INI_DOUBLE,  /* double member: "2.5", ".5", "1e3"; dmin..dmax, stored times scale (0 = 1) */
	INI_CUSTOM,  /* set(obj, value) does it all */
	INI_TYPE_COUNT
};

/* flags */
#define INI_REQUIRED   0x01u /* missing = an error */
#define INI_EMPTY_OK   0x02u /* "key =" is passed on (set or check sees "") */
#define INI_EMPTY_SKIP 0x04u /* "key =" counts as given but sets nothing ("off") */
#define INI_PATH       0x08u /* strings: a file name: not empty, no tab */
#define INI_ZERO_OK    0x10u /* INI_SECONDS: 0 is allowed whatever min is */

/* Checks (INI_STR, INI_STRDUP) or parses and stores (INI_CUSTOM) one value;
 * 0, or -1 with the reason in why ("\"x\" is not a domain name"). */
typedef int (*ini_check_fn)(const char *value, char *why, size_t whylen);
typedef int (*ini_set_fn)(void *obj, const char *value, char *why, size_t whylen);

struct ini_key {
	const char *section, *name;
	enum ini_type type;
	unsigned flags;
	size_t offset, size;      /* the member, INI_AT(); unused by INI_CUSTOM */
	unsigned long min, max;   /* INI_UINT, INI_SECONDS range; INI_STRDUP length */
	double dmin, dmax, scale; /* INI_DOUBLE */
	ini_check_fn check;       /* INI_STR, INI_STRDUP: extra check, or NULL */
	ini_set_fn set;           /* INI_CUSTOM */
	const char *excludes;     /* a key of the same section that may not be given too */
	const char *doc;          /* what it is, for the "missing" error and readers */
};

#define INI_AT(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)

/* Parses the file at path (at most RP_INI_FILE_MAX bytes) against keys and
 * stores the values into obj. lines (nkeys entries) receives the line each
 * key was given on, 0 = absent, for the checks across keys. 0, or -1 with
 * the first problem in err:
 *   "FILE:LINE: [section] key: why"   a bad value, unknown or repeated key
 *   "FILE:LINE: [section]: why"       an unknown section
 *   "FILE:LINE: why"                  syntax, line length, bytes (control
 *                                     characters other than tab, bad UTF-8)
 *   "FILE: cannot open: ..."          I/O
 * A missing required key names the line of its section's header (or the
 * last line). Values already stored stay in obj on failure. */
int ini_strict_load(const char *path, const struct ini_key *keys, size_t nkeys, void *obj,
                    unsigned *lines, char *err, size_t errlen);

/* The same on len bytes in memory; name stands for FILE in errors. */
int ini_strict_parse(const char *name, const char *buf, size_t len, const struct ini_key *keys,
                     size_t nkeys, void *obj, unsigned *lines, char *err, size_t errlen);

/* Writes "FILE:LINE: [section] key: why" into err (line 0: "FILE: ...";
 * key NULL: "[section]: why"; section NULL: no brackets), control bytes
 * made '?': for the checks across keys. */
void ini_strict_error(char *err, size_t errlen, const char *file, unsigned line,
                      const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Next comma-separated item of *s, trimmed, into buf; false at the end. An
 * item of buflen bytes or more comes back cut, with *too_long set. */
bool ini_strict_next_item(const char **s, char *buf, size_t buflen, bool *too_long);

/* A decimal number of digits only (no sign, no space) in min..max: 0, or -1
 * with "\"x\" is not a number" or "x is out of range (min-max)" in why. */
int ini_strict_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out,
                    char *why, size_t whylen);

#endif
