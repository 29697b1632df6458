/* targets_file.h - the one reader of --targets files (`relayprobe probe`
 * and `relayprobe audit`): one target per line, '#' starts a comment that
 * runs to the end of the line, blank lines are skipped, a line is at most
 * RP_TARGET_LINE_MAX bytes (without its newline), a file gives at most
 * RP_TARGETS_MAX targets, and a NUL byte is an error. "-" is standard input
 * (named "<stdin>" in errors). The target text is not parsed here: the
 * callback does that and reports its own errors as FILE:LINE. */
#ifndef RP_TARGETS_FILE_H
#define RP_TARGETS_FILE_H

#include <stddef.h>

/* Called with each target's text (blanks trimmed on both sides), the file's
 * name as it should appear in errors, and the line number (from 1). Returns
 * 0 to go on, -1 to stop the read (having reported why). */
typedef int (*targets_file_fn)(void *arg, const char *text, const char *where, size_t line);

/* Reads path and calls fn for each target. Returns 0, or -1: with the
 * reason in err ("FILE:LINE: line longer than 1024 characters", "cannot
 * open \"FILE\": ...", "FILE: read error: ..."), or with err "" when fn
 * stopped the read. */
int targets_file_read(const char *path, targets_file_fn fn, void *arg, char *err, size_t errlen);

#endif
