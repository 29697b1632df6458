/* targets_file.c - reads a --targets file line by line with getc into one
 * bounded buffer (RP_TARGET_LINE_MAX), strips comments and blanks, and hands
 * each target to the caller; at most RP_TARGETS_MAX targets a file. */
#include "targets_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rp_limits.h"

static bool blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int targets_file_read(const char *path, targets_file_fn fn, void *arg, char *err, size_t errlen)
{
	char line[RP_TARGET_LINE_MAX + 1];
	const char *name = path;
	FILE *f = stdin;
	size_t len = 0, linelen = 0, lineno = 0, count = 0;
	bool comment = false;
	int rc = 0;

	err[0] = '\0';
	if (strcmp(path, "-") == 0) {
		name = "<stdin>";
	} else if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open \"%s\": %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		int c = getc(f);

		if (c == EOF && linelen == 0)
			break;
		if (c == EOF || c == '\n') {
			char *p = line;

			lineno++;
			while (len > 0 && blank(line[len - 1]))
				len--;
			line[len] = '\0';
			while (blank(*p))
				p++;
			if (*p != '\0') {
				if (count == RP_TARGETS_MAX) {
					snprintf(err, errlen, "%s:%zu: more than %d targets", name,
					         lineno, RP_TARGETS_MAX);
					rc = -1;
					break;
				}
				count++;
				if (fn(arg, p, name, lineno) < 0) {
					rc = -1;
					break;
				}
			}
			len = linelen = 0;
			comment = false;
			if (c == EOF)
				break;
			continue;
		}
		if (c == '\0') {
			snprintf(err, errlen, "%s:%zu: NUL byte", name, lineno + 1);
			rc = -1;
			break;
		}
		if (++linelen > RP_TARGET_LINE_MAX) {
			snprintf(err, errlen, "%s:%zu: line longer than %d characters", name,
			         lineno + 1, RP_TARGET_LINE_MAX);
			rc = -1;
			break;
		}
		if (c == '#')
			comment = true;
		else if (!comment)
			line[len++] = (char)c;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", name, strerror(errno));
		rc = -1;
	}
	if (f != stdin)
		fclose(f);
	return rc;
}
