/* test_ini_strict.c - common/ini_strict.c against a table with every type:
 * a good file with comments, inline comments, CRLF, a BOM and "key: value"
 * parsed into the struct, then one bad file per rule, each with the exact
 * "FILE:LINE: [section] key: why" it must give; the size and line bounds at
 * their limit and one past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ini_strict.h"
#include "rp_limits.h"

struct conf {
	char name[16];
	char *path;
	bool flag;
	unsigned count;
	unsigned wait, stall;
	double ratio, days;
	char *note;
	int custom;
};

static int note_ok(const char *v, char *why, size_t whylen)
{
	if (strchr(v, '!') == NULL)
		return 0;
	snprintf(why, whylen, "no '!' please");
	return -1;
}

static int set_custom(void *obj, const char *v, char *why, size_t whylen)
{
	struct conf *c = obj;

	if (strcmp(v, "red") == 0 || strcmp(v, "blue") == 0) {
		c->custom = v[0] == 'r' ? 1 : 2;
		return 0;
	}
	snprintf(why, whylen, "\"%s\": expected red or blue", v);
	return -1;
}

static const struct ini_key keys[] = {
    {"main", "name", INI_STR, INI_REQUIRED, INI_AT(struct conf, name), .doc = "a name"},
    {"main", "path", INI_STRDUP, INI_PATH, INI_AT(struct conf, path), .max = 32, .doc = "a file"},
    {"main", "flag", INI_BOOL, 0, INI_AT(struct conf, flag), .doc = "a switch"},
    {"main", "count", INI_UINT, 0, INI_AT(struct conf, count), .min = 1, .max = 100,
     .doc = "a count"},
    {"more", "wait", INI_SECONDS, 0, INI_AT(struct conf, wait), .min = 10, .max = 86400,
     .doc = "a duration"},
    {"more", "stall", INI_SECONDS, INI_ZERO_OK, INI_AT(struct conf, stall), .min = 60, .max = 3600,
     .doc = "a duration, 0 = never"},
    {"more", "ratio", INI_DOUBLE, 0, INI_AT(struct conf, ratio), .dmin = 0, .dmax = 10,
     .excludes = "days", .doc = "a ratio"},
    {"more", "days", INI_DOUBLE, 0, INI_AT(struct conf, ratio), .dmin = 0, .dmax = 10,
     .scale = 86400, .excludes = "ratio", .doc = "days"},
    {"more", "note", INI_STRDUP, INI_EMPTY_SKIP, INI_AT(struct conf, note), .max = 64,
     .check = note_ok, .doc = "a note; empty = none"},
    {"more", "colour", INI_CUSTOM, 0, .set = set_custom, .doc = "red or blue"},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static struct conf g_conf;
static char g_err[1024];

static int parse(const char *text, size_t len)
{
	unsigned lines[NKEYS];

	free(g_conf.path);
	free(g_conf.note);
	memset(&g_conf, 0, sizeof(g_conf));
	memset(g_err, 'x', sizeof(g_err));
	return ini_strict_parse("t.ini", text, len, keys, NKEYS, &g_conf, lines, g_err,
	                        sizeof(g_err));
}

static int parse_text(const char *text)
{
	return parse(text, strlen(text));
}

static void test_good_file(void **state)
{
	static const char text[] = "\xef\xbb\xbf; a comment\r\n"
	                           "# another\n"
	                           "[main]\r\n"
	                           "  name = caf\xc3\xa9   ; inline comment\n"
	                           "path:/etc/x;y\n"
	                           "flag = YES\n"
	                           "\tcount\t=\t42\n"
	                           "[more] ; comment after a header\n"
	                           "wait = 5m\n"
	                           "stall = 0\n"
	                           "days = .5\n"
	                           "note =\n"
	                           "colour = blue\n"
	                           "[main]\n"; /* a section may come back */
	unsigned lines[NKEYS];

	(void)state;
	memset(&g_conf, 0, sizeof(g_conf));
	assert_int_equal(ini_strict_parse("t.ini", text, sizeof(text) - 1, keys, NKEYS, &g_conf,
	                                  lines, g_err, sizeof(g_err)),
	                 0);
	assert_string_equal(g_conf.name, "caf\xc3\xa9");
	assert_string_equal(g_conf.path, "/etc/x;y"); /* ';' without a space before it */
	assert_true(g_conf.flag);
	assert_int_equal(g_conf.count, 42);
	assert_int_equal(g_conf.wait, 300);
	assert_int_equal(g_conf.stall, 0);
	assert_true(g_conf.ratio == 0.5 * 86400);
	assert_null(g_conf.note);
	assert_int_equal(g_conf.custom, 2);
	assert_int_equal(lines[0], 4);
	assert_int_equal(lines[3], 7);
	assert_int_equal(lines[8], 12); /* note: given, empty */
	assert_int_equal(lines[6], 0);  /* ratio: absent */
	/* units */
	assert_int_equal(parse_text("[main]\nname=a\n[more]\nwait = 2h\n"), 0);
	assert_int_equal(g_conf.wait, 7200);
	assert_int_equal(parse_text("[main]\nname=a\n[more]\nwait = 30s\nstall=1d\n"), -1);
	assert_string_equal(g_err, "t.ini:5: [more] stall: expected 0 (never) or seconds between "
	                           "60 and 3600 (units s, m, h, d)");
	free(g_conf.path);
	g_conf.path = NULL;
}

struct bad {
	const char *text;
	const char *err;
};

#define M "[main]\nname = n\n"

static const struct bad bad_files[] = {
    /* structure */
    {"[nope]\n", "t.ini:1: [nope]: unknown section (expected [main] or [more])"},
    {M "[Main]\n", "t.ini:3: [Main]: unknown section (expected [main] or [more])"},
    {M "bogus = 1\n", "t.ini:3: [main] bogus: unknown key (known: name, path, flag, count)"},
    {M "wait = 10\n", "t.ini:3: [main] wait: unknown key (known: name, path, flag, count)"},
    {M "name = m\n", "t.ini:3: [main] name: given twice (first on line 2)"},
    {"name = n\n", "t.ini:1: name: outside any section (expected [main] or [more] first)"},
    {M "just words\n", "t.ini:3: syntax error (expected [section] or key = value)"},
    {M "= 5\n", "t.ini:3: syntax error (no key name before the '=')"},
    {M "[more\n", "t.ini:3: syntax error (expected ']' after the section name)"},
    {M "[more] x\n", "t.ini:3: syntax error (text after [more])"},
    {M "count ;x = 5\n", "t.ini:3: syntax error (expected [section] or key = value)"},
    {M "[more]\nratio = 1\ndays = 1\n", "t.ini:5: [more] days: ratio is already given (line 4)"},
    /* required */
    {"[main]\nflag = no\n", "t.ini:1: [main] name: missing (required: a name)"},
    {"; nothing\n\n[more]\n", "t.ini:3: [main] name: missing (required: a name)"},
    {"", "t.ini:1: [main] name: missing (required: a name)"},
    /* bytes */
    {M "path = /a\x01z\n", "t.ini:3: control character 0x01 at byte 10"},
    {M "path = /a\rz\n", "t.ini:3: control character 0x0d at byte 10"},
    {M "path = /a\x7f\n", "t.ini:3: control character 0x7f at byte 10"},
    {M "path = /a\xc3\x28\n", "t.ini:3: invalid UTF-8 at byte 10"},
    {M "path = /a\xc0\xaf\n", "t.ini:3: invalid UTF-8 at byte 10"},         /* overlong */
    {M "path = /a\xe0\x80\xaf\n", "t.ini:3: invalid UTF-8 at byte 10"},     /* overlong */
    {M "path = /a\xed\xa0\x80\n", "t.ini:3: invalid UTF-8 at byte 10"},     /* surrogate */
    {M "path = /a\xf4\x90\x80\x80\n", "t.ini:3: invalid UTF-8 at byte 10"}, /* > U+10FFFF */
    {M "path = /a\xe2\x82", "t.ini:3: invalid UTF-8 at byte 10"},           /* cut at EOF */
    {M "path = /a\xff\n", "t.ini:3: invalid UTF-8 at byte 10"},
    /* values */
    {M "count = x\n", "t.ini:3: [main] count: \"x\" is not a number"},
    {M "count = +5\n", "t.ini:3: [main] count: \"+5\" is not a number"},
    {M "count = 5 5\n", "t.ini:3: [main] count: \"5 5\" is not a number"},
    {M "count = 0\n", "t.ini:3: [main] count: 0 is out of range (1-100)"},
    {M "count = 99999999999999999999999\n",
     "t.ini:3: [main] count: 99999999999999999999999 is out of range (1-100)"},
    {M "count =\n", "t.ini:3: [main] count: empty value"},
    {M "flag = maybe\n", "t.ini:3: [main] flag: \"maybe\": expected yes or no"},
    {M "name = 0123456789abcdef\n", "t.ini:3: [main] name: given twice (first on line 2)"},
    {"[main]\nname = 0123456789abcdef\n", "t.ini:2: [main] name: longer than 15 bytes"},
    {M "path =\n", "t.ini:3: [main] path: empty path"},
    {M "path = /a\tb\n", "t.ini:3: [main] path: control character in path"},
    {M "path = /0123456789012345678901234567890123\n",
     "t.ini:3: [main] path: path longer than 32 bytes"},
    {M "[more]\nwait = 5\n",
     "t.ini:4: [more] wait: expected seconds between 10 and 86400 (units s, m, h, d)"},
    {M "[more]\nwait = 1w\n",
     "t.ini:4: [more] wait: expected seconds between 10 and 86400 (units s, m, h, d)"},
    {M "[more]\nwait = 10mm\n",
     "t.ini:4: [more] wait: expected seconds between 10 and 86400 (units s, m, h, d)"},
    {M "[more]\nwait = -10\n",
     "t.ini:4: [more] wait: expected seconds between 10 and 86400 (units s, m, h, d)"},
    {M "[more]\nwait = 99999999999d\n",
     "t.ini:4: [more] wait: expected seconds between 10 and 86400 (units s, m, h, d)"},
    {M "[more]\nratio = nan\n",
     "t.ini:4: [more] ratio: \"nan\": expected a number between 0 and 10"},
    {M "[more]\nratio = inf\n",
     "t.ini:4: [more] ratio: \"inf\": expected a number between 0 and 10"},
    {M "[more]\nratio = 0x1\n",
     "t.ini:4: [more] ratio: \"0x1\": expected a number between 0 and 10"},
    {M "[more]\nratio = -1\n", "t.ini:4: [more] ratio: \"-1\": expected a number between 0 and 10"},
    {M "[more]\nratio = 1e999\n",
     "t.ini:4: [more] ratio: \"1e999\": expected a number between 0 and 10"},
    {M "[more]\nnote = hi!\n", "t.ini:4: [more] note: no '!' please"},
    {M "[more]\ncolour = green\n", "t.ini:4: [more] colour: \"green\": expected red or blue"},
};

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad *b = &bad_files[i];
		if (parse_text(b->text) != -1)
			fail_msg("accepted: %s", b->text);
		if (strcmp(g_err, b->err) != 0)
			fail_msg("file %zu:\n  got  \"%s\"\n  want \"%s\"", i, g_err, b->err);
	}
	/* A NUL byte is a control character too (strlen would stop there). */
	assert_int_equal(parse(M "path = /a\0b\n", sizeof(M) + 11), -1);
	assert_string_equal(g_err, "t.ini:3: control character 0x00 at byte 10");
	free(g_conf.path);
	free(g_conf.note);
	memset(&g_conf, 0, sizeof(g_conf));
}

/* A line of RP_INI_LINE_MAX bytes is read, one more is refused (never read
 * in pieces); a file of RP_INI_FILE_MAX bytes is read, one more is refused. */
static void test_bounds(void **state)
{
	size_t cap = RP_INI_FILE_MAX + 1;
	char *buf = malloc(cap);
	size_t n;

	(void)state;
	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, "[main]\nname = n\n");
	memset(buf + n, ';', RP_INI_LINE_MAX);
	memcpy(buf + n + RP_INI_LINE_MAX, "\n", 1);
	assert_int_equal(parse(buf, n + RP_INI_LINE_MAX + 1), 0);
	memset(buf + n, ';', RP_INI_LINE_MAX + 1);
	memcpy(buf + n + RP_INI_LINE_MAX + 1, "\nname = x\n", 10);
	assert_int_equal(parse(buf, n + RP_INI_LINE_MAX + 11), -1);
	assert_string_equal(g_err, "t.ini:3: line longer than 2048 bytes");
	/* CRLF: the CR does not count */
	memset(buf + n, ';', RP_INI_LINE_MAX);
	memcpy(buf + n + RP_INI_LINE_MAX, "\r\n", 2);
	assert_int_equal(parse(buf, n + RP_INI_LINE_MAX + 2), 0);

	memset(buf, '\n', cap);
	memcpy(buf, "[main]\nname = n\n", 16);
	assert_int_equal(parse(buf, RP_INI_FILE_MAX), 0);
	assert_int_equal(parse(buf, RP_INI_FILE_MAX + 1), -1);
	assert_string_equal(g_err, "t.ini: larger than 262144 bytes");
	free(buf);
}

/* ini_strict_load reads the file, and no more than the limit of it. */
static void test_load(void **state)
{
	char path[] = "/tmp/test_ini_strict.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	unsigned lines[NKEYS];
	char want[256];

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("[main]\nname = from-file\n", f);
	for (size_t i = 0; i < RP_INI_FILE_MAX; i++)
		fputc('\n', f);
	fclose(f);
	memset(&g_conf, 0, sizeof(g_conf));
	assert_int_equal(ini_strict_load(path, keys, NKEYS, &g_conf, lines, g_err, sizeof(g_err)),
	                 -1);
	snprintf(want, sizeof(want), "%s: larger than %d bytes", path, RP_INI_FILE_MAX);
	assert_string_equal(g_err, want);
	assert_int_equal(truncate(path, 24), 0);
	assert_int_equal(ini_strict_load(path, keys, NKEYS, &g_conf, lines, g_err, sizeof(g_err)),
	                 0);
	assert_string_equal(g_conf.name, "from-file");
	unlink(path);
	assert_int_equal(ini_strict_load(path, keys, NKEYS, &g_conf, lines, g_err, sizeof(g_err)),
	                 -1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(g_err, want);
}

/* The errors of checks across keys, same format; control bytes made '?'. */
static void test_error_format(void **state)
{
	char err[64];

	(void)state;
	ini_strict_error(err, sizeof(err), "f.conf", 7, "canary", "cert_file", "needs %s",
	                 "key_file");
	assert_string_equal(err, "f.conf:7: [canary] cert_file: needs key_file");
	ini_strict_error(err, sizeof(err), "f.conf", 0, "canary", NULL, "x\ty");
	assert_string_equal(err, "f.conf: [canary]: x?y");
	ini_strict_error(err, 8, "f.conf", 7, NULL, NULL, "long");
	assert_string_equal(err, "f.conf:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_file),    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_bounds),       cmocka_unit_test(test_load),
	    cmocka_unit_test(test_error_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
