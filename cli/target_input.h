/* target_input.h - the targets of `relayprobe probe` and `relayprobe audit`:
 * TARGET arguments and --targets files (common/targets_file.c), "-" read
 * once from standard input, each target syntax-checked with target_parse()
 * and handed to the command's add(). Errors are one line each, prefixed
 * with the command's name: "PROG: FILE:LINE: reason" for a file's line. */
#ifndef RP_CLI_TARGET_INPUT_H
#define RP_CLI_TARGET_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target.h"

struct target_input {
	const char *prog; /* the prefix of errors */
	uint16_t port;    /* for a target without one */
	/* Takes one target; -1 when it cannot (error printed). */
	int (*add)(struct target_input *in, const struct target_spec *t);
	void *arg;    /* add()'s */
	size_t count; /* targets taken so far */
	bool stdin_read;
};

/* The targets of the --targets files, then of argv[optind..argc) ("-":
 * standard input): 0, or -1 on the first bad target, or when there is none
 * (error printed). */
int target_input_collect(struct target_input *in, const char *const *files, size_t nfiles, int argc,
                         char **argv);

#endif
