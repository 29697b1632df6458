/* ini_strict_fuzzer.c - libFuzzer harness for common/ini_strict.c: parses
 * the input (in a buffer of exactly its size) against a table with every
 * type and abort()s when an invariant breaks: a refusal without a one-line,
 * printable "fuzz:" error, an accepted value outside its type's bounds (a
 * number out of range, a string too long or with control bytes, a line
 * number past the input), or a second parse that disagrees with the first.
 * Corpus: tests/fuzz/corpus/ini_strict. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini_strict.h"
#include "rp_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct conf {
	char name[16];
	char *path;
	bool flag;
	unsigned count, wait, stall, custom;
	double ratio;
};

static int set_custom(void *obj, const char *v, char *why, size_t whylen)
{
	struct conf *c = obj;
	unsigned long n;

	if (ini_strict_uint(v, 0, 9, &n, why, whylen) < 0)
		return -1;
	c->custom = (unsigned)n;
	return 0;
}

static const struct ini_key keys[] = {
    {"main", "name", INI_STR, INI_REQUIRED | INI_EMPTY_OK, INI_AT(struct conf, name)},
    {"main", "path", INI_STRDUP, INI_PATH, INI_AT(struct conf, path), .max = 32},
    {"main", "flag", INI_BOOL, 0, INI_AT(struct conf, flag)},
    {"main", "count", INI_UINT, 0, INI_AT(struct conf, count), .min = 1, .max = 100},
    {"more", "wait", INI_SECONDS, 0, INI_AT(struct conf, wait), .min = 10, .max = 86400},
    {"more", "stall", INI_SECONDS, INI_ZERO_OK, INI_AT(struct conf, stall), .min = 60, .max = 3600},
    {"more", "ratio", INI_DOUBLE, 0, INI_AT(struct conf, ratio), .dmin = 0, .dmax = 10,
     .excludes = "days"},
    {"more", "days", INI_DOUBLE, 0, INI_AT(struct conf, ratio), .dmin = 0, .dmax = 10,
     .scale = 86400, .excludes = "ratio"},
    {"more", "custom", INI_CUSTOM, INI_EMPTY_SKIP, .set = set_custom},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void no_control(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			abort();
}

static int run(const char *buf, size_t size, struct conf *c, unsigned *lines, char *err,
               size_t errlen)
{
	memset(c, 0, sizeof(*c));
	memset(err, 'x', errlen);
	return ini_strict_parse("fuzz", buf, size, keys, NKEYS, c, lines, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c, c2;
	unsigned lines[NKEYS], lines2[NKEYS], nlines = 1;
	char err[256], err2[256];
	char *buf = malloc(size > 0 ? size : 1);
	int rc, rc2;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (size_t i = 0; i < size; i++)
		nlines += buf[i] == '\n';
	rc = run(buf, size, &c, lines, err, sizeof(err));
	if (rc != 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL || strncmp(err, "fuzz:", 5) != 0)
			abort();
		no_control(err);
		if (strchr(err, '\t') != NULL)
			abort(); /* one printable line */
	} else {
		if (memchr(c.name, '\0', sizeof(c.name)) == NULL || lines[0] == 0)
			abort();
		no_control(c.name);
		if (c.path != NULL &&
		    (strlen(c.path) > 32 || c.path[0] == '\0' || strchr(c.path, '\t') != NULL))
			abort();
		if (c.path != NULL)
			no_control(c.path);
		if ((lines[3] && (c.count < 1 || c.count > 100)) ||
		    (lines[4] && (c.wait < 10 || c.wait > 86400)) ||
		    (lines[5] && c.stall != 0 && (c.stall < 60 || c.stall > 3600)) || c.custom > 9)
			abort();
		if (!isfinite(c.ratio) || c.ratio < 0 || c.ratio > 10 * 86400 ||
		    (lines[6] && lines[7]))
			abort();
		for (size_t i = 0; i < NKEYS; i++)
			if (lines[i] > nlines)
				abort();
	}
	/* The same bytes, the same answer. */
	rc2 = run(buf, size, &c2, lines2, err2, sizeof(err2));
	if (rc2 != rc || (rc != 0 && strcmp(err, err2) != 0) ||
	    (rc == 0 && memcmp(lines, lines2, sizeof(lines)) != 0))
		abort();
	free(c.path);
	free(c2.path);
	free(buf);
	return 0;
}
