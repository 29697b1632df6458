/* ini_strict.c - parses an INI file against a key table (ini_strict.h):
 * reads at most RP_INI_FILE_MAX bytes, refuses lines over RP_INI_LINE_MAX,
 * control characters other than tab and bad UTF-8 before any parsing, then
 * "[section]", "key = value" (or "key: value"), ';'/'#' comment lines and
 * " ;" comments at the end of a line (the syntax the daemons had with inih).
 * Unknown sections and keys, repeated keys, bad and missing values are
 * errors; the first one stops the parse and names FILE:LINE. */
#include "ini_strict.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp_limits.h"

struct ini_parse {
	const char *file;
	const struct ini_key *keys;
	size_t nkeys;
	void *obj;
	unsigned *lines;
	char *err;
	size_t errlen;
	unsigned line;
	char section[RP_INI_NAME_MAX + 1];
	bool in_section;           /* a [section] header was seen */
	unsigned section_line[64]; /* first header line per distinct section */
};

/* ---- errors ---- */

static void verror(char *err, size_t errlen, const char *file, unsigned line, const char *section,
                   const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));

static void verror(char *err, size_t errlen, const char *file, unsigned line, const char *section,
                   const char *key, const char *fmt, va_list ap)
{
	int n;

	if (errlen == 0)
		return;
	if (line > 0)
		n = snprintf(err, errlen, "%s:%u: ", file, line);
	else
		n = snprintf(err, errlen, "%s: ", file);
	if (n >= 0 && (size_t)n < errlen && section != NULL)
		n += snprintf(err + n, errlen - (size_t)n, "[%.*s]%s", RP_INI_NAME_MAX, section,
		              key != NULL ? " " : ": ");
	if (n >= 0 && (size_t)n < errlen && key != NULL)
		n += snprintf(err + n, errlen - (size_t)n, "%.*s: ", RP_INI_NAME_MAX, key);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	/* Names and values come from the file: no control bytes on a terminal. */
	for (char *q = err; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
}

void ini_strict_error(char *err, size_t errlen, const char *file, unsigned line,
                      const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(err, errlen, file, line, section, key, fmt, ap);
	va_end(ap);
}

static int fail(struct ini_parse *p, const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct ini_parse *p, const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(p->err, p->errlen, p->file, p->line, section, key, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- values ---- */

bool ini_strict_next_item(const char **s, char *buf, size_t buflen, bool *too_long)
{
	const char *p = *s, *end;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return false;
	end = strchr(p, ',');
	if (end == NULL)
		end = p + strlen(p);
	*s = *end == ',' ? end + 1 : end;
	n = (size_t)(end - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*too_long = n >= buflen;
	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

int ini_strict_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out,
                    char *why, size_t whylen)
{
	char *end = NULL;
	unsigned long n;

	if (*v < '0' || *v > '9') {
		snprintf(why, whylen, "\"%s\" is not a number", v);
		return -1;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end != '\0') {
		snprintf(why, whylen, "\"%s\" is not a number", v);
		return -1;
	}
	if (errno == ERANGE || n < min || n > max) {
		snprintf(why, whylen, "%s is out of range (%lu-%lu)", v, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

/* "30", "30s", "5m", "2h", "1d": digits and one optional unit. */
static int seconds(const struct ini_key *k, const char *v, unsigned long *out, char *why,
                   size_t whylen)
{
	size_t digits = strspn(v, "0123456789");
	unsigned long n = 0, mult = 1;
	bool ok = digits > 0 && digits <= 10;

	if (ok && v[digits] != '\0') {
		const char *u = strchr("smhd", v[digits]);
		ok = v[digits + 1] == '\0' && u != NULL;
		if (ok)
			mult = v[digits] == 'm'   ? 60
			       : v[digits] == 'h' ? 3600
			       : v[digits] == 'd' ? 86400
			                          : 1;
	}
	if (ok) {
		n = strtoul(v, NULL, 10);
		ok = n <= ULONG_MAX / mult;
		n *= mult;
	}
	if (!ok || (!((k->flags & INI_ZERO_OK) && n == 0) && (n < k->min || n > k->max))) {
		snprintf(why, whylen, "expected %sseconds between %lu and %lu (units s, m, h, d)",
		         (k->flags & INI_ZERO_OK) ? "0 (never) or " : "", k->min, k->max);
		return -1;
	}
	*out = n;
	return 0;
}

/* Digits, an optional fraction and exponent: no sign, hex, inf or nan. */
static int decimal(const struct ini_key *k, const char *v, double *out, char *why, size_t whylen)
{
	char *end = NULL;
	double d = 0;
	bool ok = ((*v >= '0' && *v <= '9') || (*v == '.' && v[1] >= '0' && v[1] <= '9')) &&
	          strspn(v, "0123456789.eE+-") == strlen(v);

	if (ok) {
		errno = 0;
		d = strtod(v, &end);
		ok = *end == '\0' && errno == 0 && isfinite(d) && d >= k->dmin && d <= k->dmax;
	}
	if (!ok) {
		snprintf(why, whylen, "\"%s\": expected a number between %.15g and %.15g", v,
		         k->dmin, k->dmax);
		return -1;
	}
	*out = d * (k->scale != 0 ? k->scale : 1);
	return 0;
}

static int boolean(const char *v, bool *out, char *why, size_t whylen)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(why, whylen, "\"%s\": expected yes or no", v);
	return -1;
}

static int string(const struct ini_key *k, const char *v, char *why, size_t whylen)
{
	size_t max = k->type == INI_STR ? k->size - 1 : k->max;

	if (strlen(v) > max) {
		snprintf(why, whylen, "%slonger than %zu bytes",
		         (k->flags & INI_PATH) ? "path " : "", max);
		return -1;
	}
	if ((k->flags & INI_PATH) && strchr(v, '\t') != NULL) {
		snprintf(why, whylen, "control character in path");
		return -1;
	}
	return k->check != NULL ? k->check(v, why, whylen) : 0;
}

/* Type and size of the member agree (a table mistake is caught by any load). */
static bool member_ok(const struct ini_key *k)
{
	switch (k->type) {
	case INI_STR:
		return k->size > 0;
	case INI_STRDUP:
		return k->size == sizeof(char *);
	case INI_BOOL:
		return k->size == sizeof(bool);
	case INI_UINT:
	case INI_SECONDS:
		return k->size == sizeof(unsigned) && k->min <= k->max && k->max <= UINT_MAX;
	case INI_DOUBLE:
		return k->size == sizeof(double);
	case INI_CUSTOM:
		return k->set != NULL;
	case INI_TYPE_COUNT:
		break;
	}
	return false;
}

static int store(struct ini_parse *p, const struct ini_key *k, const char *v)
{
	char why[512];
	char *at = (char *)p->obj + k->offset;
	unsigned long n = 0;
	int rc = -1;

	why[0] = '\0';
	if (!member_ok(k))
		return fail(p, k->section, k->name, "internal error: bad key table entry");
	if (*v == '\0' && (k->flags & INI_EMPTY_SKIP))
		return 0;
	if (*v == '\0' && !(k->flags & INI_EMPTY_OK))
		return fail(p, k->section, k->name,
		            (k->flags & INI_PATH) ? "empty path" : "empty value");
	switch (k->type) {
	case INI_STR:
		if ((rc = string(k, v, why, sizeof(why))) == 0)
			memcpy(at, v, strlen(v) + 1);
		break;
	case INI_STRDUP:
		if ((rc = string(k, v, why, sizeof(why))) == 0) {
			char *d = strdup(v), **dst = (char **)(void *)at;
			if (d == NULL) {
				snprintf(why, sizeof(why), "out of memory");
				rc = -1;
			} else {
				free(*dst);
				*dst = d;
			}
		}
		break;
	case INI_BOOL:
		rc = boolean(v, (bool *)(void *)at, why, sizeof(why));
		break;
	case INI_UINT:
		if ((rc = ini_strict_uint(v, k->min, k->max, &n, why, sizeof(why))) == 0)
			*(unsigned *)(void *)at = (unsigned)n;
		break;
	case INI_SECONDS:
		if ((rc = seconds(k, v, &n, why, sizeof(why))) == 0)
			*(unsigned *)(void *)at = (unsigned)n;
		break;
	case INI_DOUBLE:
		rc = decimal(k, v, (double *)(void *)at, why, sizeof(why));
		break;
	case INI_CUSTOM:
		rc = k->set(p->obj, v, why, sizeof(why));
		break;
	case INI_TYPE_COUNT:
		break;
	}
	if (rc < 0)
		return fail(p, k->section, k->name, "%s", why[0] != '\0' ? why : "bad value");
	return 0;
}

/* ---- lines ---- */

/* Bytes of one line: tab and UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF) only; -1 with the error recorded. */
static int check_bytes(struct ini_parse *p, const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], need, cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(p, NULL, NULL, "control character 0x%02x at byte %zu",
				            c, i + 1);
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return fail(p, NULL, NULL, "invalid UTF-8 at byte %zu", i + 1);
		if (len - i <= need)
			return fail(p, NULL, NULL, "invalid UTF-8 at byte %zu", i + 1);
		for (unsigned j = 1; j <= need; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return fail(p, NULL, NULL, "invalid UTF-8 at byte %zu", i + 1);
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return fail(p, NULL, NULL, "invalid UTF-8 at byte %zu", i + 1);
		i += need + 1;
	}
	return 0;
}

/* First of chars in s, stopping at a ';' after a space or tab (an inline
 * comment): points at the '\0', the comment or the char found. */
static char *find_or_comment(char *s, const char *chars)
{
	bool was_space = false;

	for (; *s != '\0'; s++) {
		if (chars != NULL && strchr(chars, *s) != NULL)
			return s;
		if (was_space && *s == ';')
			return s;
		was_space = *s == ' ' || *s == '\t';
	}
	return s;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Names of the table's sections, "[a], [b] or [c]". */
static void section_names(const struct ini_parse *p, char *buf, size_t len)
{
	size_t n = 0, count = 0, done = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->nkeys; i++) {
		bool first = true;
		for (size_t j = 0; j < i; j++)
			first = first && strcmp(p->keys[j].section, p->keys[i].section) != 0;
		count += first;
	}
	for (size_t i = 0; i < p->nkeys && n < len; i++) {
		bool first = true;
		for (size_t j = 0; j < i; j++)
			first = first && strcmp(p->keys[j].section, p->keys[i].section) != 0;
		if (!first)
			continue;
		done++;
		n += (size_t)snprintf(buf + n, len - n, "%s[%s]",
		                      done == 1       ? ""
		                      : done == count ? " or "
		                                      : ", ",
		                      p->keys[i].section);
	}
}

/* Index of the first key of section, or -1 for an unknown section. */
static int section_index(const struct ini_parse *p, const char *section)
{
	for (size_t i = 0; i < p->nkeys; i++)
		if (strcmp(p->keys[i].section, section) == 0)
			return (int)i;
	return -1;
}

static int header(struct ini_parse *p, char *s)
{
	char *end = find_or_comment(s + 1, "]"), *rest;
	char names[256];
	int first;

	if (*end != ']')
		return fail(p, NULL, NULL, "syntax error (expected ']' after the section name)");
	*end = '\0';
	rest = end + 1;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		return fail(p, NULL, NULL, "syntax error (text after [%.*s])", RP_INI_NAME_MAX,
		            s + 1);
	first = strlen(s + 1) <= RP_INI_NAME_MAX ? section_index(p, s + 1) : -1;
	if (first < 0) {
		section_names(p, names, sizeof(names));
		return fail(p, s + 1, NULL, "unknown section (expected %s)", names);
	}
	snprintf(p->section, sizeof(p->section), "%s", s + 1);
	p->in_section = true;
	if ((size_t)first < sizeof(p->section_line) / sizeof(p->section_line[0]) &&
	    p->section_line[first] == 0)
		p->section_line[first] = p->line;
	return 0;
}

static int key_line(struct ini_parse *p, char *s)
{
	char *sep = find_or_comment(s, "=:"), *name, *value;
	char names[256];
	size_t n = 0;

	if (*sep != '=' && *sep != ':')
		return fail(p, NULL, NULL, "syntax error (expected [section] or key = value)");
	*sep = '\0';
	name = trim(s);
	value = sep + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	*find_or_comment(value, NULL) = '\0';
	value = trim(value);
	if (*name == '\0')
		return fail(p, NULL, NULL, "syntax error (no key name before the '=')");
	if (!p->in_section) {
		section_names(p, names, sizeof(names));
		return fail(p, NULL, name, "outside any section (expected %s first)", names);
	}
	for (size_t i = 0; i < p->nkeys; i++) {
		const struct ini_key *k = &p->keys[i];
		if (strcmp(k->section, p->section) != 0 || strcmp(k->name, name) != 0)
			continue;
		if (p->lines[i] != 0)
			return fail(p, p->section, name, "given twice (first on line %u)",
			            p->lines[i]);
		for (size_t j = 0; k->excludes != NULL && j < p->nkeys; j++)
			if (p->lines[j] != 0 && strcmp(p->keys[j].section, k->section) == 0 &&
			    strcmp(p->keys[j].name, k->excludes) == 0)
				return fail(p, p->section, name, "%s is already given (line %u)",
				            k->excludes, p->lines[j]);
		p->lines[i] = p->line;
		return store(p, k, value);
	}
	names[0] = '\0';
	for (size_t i = 0; i < p->nkeys && n < sizeof(names); i++)
		if (strcmp(p->keys[i].section, p->section) == 0)
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "",
			                      p->keys[i].name);
	return fail(p, p->section, name, "unknown key (known: %s)", names);
}

static int one_line(struct ini_parse *p, const char *text, size_t len)
{
	char buf[RP_INI_LINE_MAX + 1], *s;

	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (len > RP_INI_LINE_MAX)
		return fail(p, NULL, NULL, "line longer than %d bytes", RP_INI_LINE_MAX);
	if (check_bytes(p, (const unsigned char *)text, len) < 0)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	s = buf;
	if (p->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3; /* a UTF-8 byte order mark */
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;
	return *s == '[' ? header(p, s) : key_line(p, s);
}

int ini_strict_parse(const char *name, const char *buf, size_t len, const struct ini_key *keys,
                     size_t nkeys, void *obj, unsigned *lines, char *err, size_t errlen)
{
	struct ini_parse p = {.file = name,
	                      .keys = keys,
	                      .nkeys = nkeys,
	                      .obj = obj,
	                      .lines = lines,
	                      .err = err,
	                      .errlen = errlen};
	size_t off = 0;

	if (errlen > 0)
		err[0] = '\0';
	memset(lines, 0, nkeys * sizeof(*lines));
	if (len > RP_INI_FILE_MAX) {
		ini_strict_error(err, errlen, name, 0, NULL, NULL, "larger than %d bytes",
		                 RP_INI_FILE_MAX);
		return -1;
	}
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;

		p.line++;
		if (one_line(&p, buf + off, n) < 0)
			return -1;
		off += n + (nl != NULL);
	}
	for (size_t i = 0; i < nkeys; i++) {
		int first;
		if (!(keys[i].flags & INI_REQUIRED) || lines[i] != 0)
			continue;
		first = section_index(&p, keys[i].section);
		p.line = (size_t)first < sizeof(p.section_line) / sizeof(p.section_line[0]) &&
		                 p.section_line[first] != 0
		             ? p.section_line[first]
		             : (p.line > 0 ? p.line : 1);
		return fail(&p, keys[i].section, keys[i].name, "missing (required: %s)",
		            keys[i].doc != NULL ? keys[i].doc : "no default");
	}
	return 0;
}

int ini_strict_load(const char *path, const struct ini_key *keys, size_t nkeys, void *obj,
                    unsigned *lines, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if (f == NULL) {
		ini_strict_error(err, errlen, path, 0, NULL, NULL, "cannot open: %s",
		                 strerror(errno));
		return -1;
	}
	buf = malloc(RP_INI_FILE_MAX + 1);
	if (buf == NULL) {
		ini_strict_error(err, errlen, path, 0, NULL, NULL, "out of memory");
		goto out;
	}
	len = fread(buf, 1, RP_INI_FILE_MAX + 1, f);
	if (ferror(f)) {
		ini_strict_error(err, errlen, path, 0, NULL, NULL, "cannot be read: %s",
		                 strerror(errno));
		goto out;
	}
	rc = ini_strict_parse(path, buf, len, keys, nkeys, obj, lines, err, errlen);
out:
	free(buf);
	fclose(f);
	return rc;
}
