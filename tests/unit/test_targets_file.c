/* test_targets_file.c - targets_file_read(): a table of --targets files
 * written to a temporary directory, each with the targets (and their line
 * numbers) the reader must hand over, or the FILE:LINE error it must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rp_limits.h"
#include "targets_file.h"

struct got {
	char text[4096];   /* "LINE:TARGET|..." */
	size_t n, stop_at; /* stop_at: the callback refuses its n-th target */
};

static int collect(void *arg, const char *text, const char *where, size_t line)
{
	struct got *g = arg;
	size_t o = strlen(g->text);

	assert_non_null(strstr(where, "targets."));
	snprintf(g->text + o, sizeof(g->text) - o, "%zu:%s|", line, text);
	return ++g->n == g->stop_at ? -1 : 0;
}

/* Writes len bytes of data to a fresh file in dir; its path in path. */
static void write_file(const char *dir, const char *data, size_t len, char *path, size_t plen)
{
	FILE *f;

	snprintf(path, plen, "%s/targets.txt", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_files(void **state)
{
	static char longline[RP_TARGET_LINE_MAX + 8], maxline[RP_TARGET_LINE_MAX + 8];
	static char maxwant[RP_TARGET_LINE_MAX + 16], longcomment[RP_TARGET_LINE_MAX + 32];
	const struct {
		const char *data;
		size_t len; /* 0: strlen(data) */
		size_t stop_at;
		const char *want; /* targets, or NULL when the read fails */
		const char *err;  /* a substring of the error ("" none) */
	} rows[] = {
	    {"mx.example.com\n", 0, 0, "1:mx.example.com|", ""},
	    {"a.example\nb.example", 0, 0, "1:a.example|2:b.example|", ""}, /* no last \n */
	    {"# targets\n192.0.2.1\n\n192.0.2.2:2525   # with port\n", 0, 0,
	     "2:192.0.2.1|4:192.0.2.2:2525|", ""},
	    {"  \t[2001:db8::1]:25 \r\n\r\n", 0, 0, "1:[2001:db8::1]:25|", ""},
	    {"", 0, 0, "", ""},
	    {"\n\n   \n# only comments\n#x\n", 0, 0, "", ""},
	    {"a#b#c\n", 0, 0, "1:a|", ""},
	    {"a.example\nb\0c\n", 13, 0, NULL, ":2: NUL byte"},
	    {longline, 0, 0, NULL, ":2: line longer than 1024 characters"},
	    {maxline, 0, 0, maxwant, ""},
	    {longcomment, 0, 0, NULL, ":1: line longer than 1024"},
	    {"a\nb\nc\n", 0, 2, NULL, ""}, /* the callback's error: err empty */
	};
	char dir[] = "/tmp/test_targets_file.XXXXXX", path[256], err[512];

	(void)state;
	/* line 2 one byte over the limit; a line exactly at it; a comment that
	 * makes its line too long */
	memcpy(longline, "x\n", 2);
	memset(longline + 2, 'a', RP_TARGET_LINE_MAX + 1);
	memset(maxline, 'b', RP_TARGET_LINE_MAX);
	maxline[RP_TARGET_LINE_MAX] = '\n';
	snprintf(maxwant, sizeof(maxwant), "1:%s", maxline);
	maxwant[strlen(maxwant) - 1] = '|';
	memcpy(longcomment, "mx #", 4);
	memset(longcomment + 4, 'c', RP_TARGET_LINE_MAX);
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct got g = {.stop_at = rows[i].stop_at};
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].data);
		int rc;

		write_file(dir, rows[i].data, len, path, sizeof(path));
		rc = targets_file_read(path, collect, &g, err, sizeof(err));
		if (rows[i].want != NULL && (rc != 0 || strcmp(g.text, rows[i].want) != 0))
			fail_msg("row %zu: rc %d, got \"%.80s\" (%s)", i, rc, g.text, err);
		if (rows[i].want == NULL && rc != -1)
			fail_msg("row %zu: accepted", i);
		if (rows[i].err[0] == '\0' ? err[0] != '\0' : strstr(err, rows[i].err) == NULL)
			fail_msg("row %zu: error \"%s\", want \"%s\"", i, err, rows[i].err);
		if (rows[i].err[0] != '\0' && strstr(err, path) == NULL)
			fail_msg("row %zu: error \"%s\" does not name the file", i, err);
		unlink(path);
	}
	/* a missing file names itself */
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(targets_file_read(path, collect, &(struct got){0}, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
	assert_non_null(strstr(err, path));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
