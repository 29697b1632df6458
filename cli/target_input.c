/* target_input.c - TARGET arguments and --targets files into a command's
 * add() (target_input.h); the file format is common/targets_file.c's. */
#include "target_input.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "rp_limits.h"
#include "targets_file.h"

static int add_text(void *arg, const char *text, const char *where, size_t line)
{
	struct target_input *in = arg;
	struct target_spec t;
	char err[RP_TARGET_LINE_MAX + 128];

	if (target_parse(text, in->port, &t, err, sizeof(err)) < 0) {
		if (where != NULL)
			fprintf(stderr, "%s: %s:%zu: %s\n", in->prog, where, line, err);
		else
			fprintf(stderr, "%s: %s\n", in->prog, err);
		return -1;
	}
	if (in->add(in, &t) < 0)
		return -1;
	in->count++;
	return 0;
}

/* A --targets file; "-" is read once. */
static int read_file(struct target_input *in, const char *path)
{
	char err[512];

	if (strcmp(path, "-") == 0) {
		if (in->stdin_read)
			return 0;
		in->stdin_read = true;
	}
	if (targets_file_read(path, add_text, in, err, sizeof(err)) < 0) {
		if (err[0] != '\0')
			fprintf(stderr, "%s: --targets: %s\n", in->prog, err);
		return -1;
	}
	return 0;
}

int target_input_collect(struct target_input *in, const char *const *files, size_t nfiles, int argc,
                         char **argv)
{
	for (size_t i = 0; i < nfiles; i++)
		if (read_file(in, files[i]) < 0)
			return -1;
	for (int i = optind; i < argc; i++) {
		int rc =
		    strcmp(argv[i], "-") == 0 ? read_file(in, "-") : add_text(in, argv[i], NULL, 0);
		if (rc < 0)
			return -1;
	}
	if (in->count == 0) {
		fprintf(stderr, "%s: no targets (give TARGET arguments, --targets FILE or '-')\n",
		        in->prog);
		return -1;
	}
	return 0;
}
