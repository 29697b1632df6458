/* replay_main.c - main() for gcc builds of the libFuzzer harnesses: runs
 * LLVMFuzzerTestOneInput once on every file named on the command line or found
 * in a named directory (and its subdirectories, RP_REPLAY_DEPTH levels).
 * Inputs larger than RP_REPLAY_FILE_MAX are an error. Exit 1 if a path fails. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RP_REPLAY_DEPTH    2
#define RP_REPLAY_FILE_MAX (16 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replayed;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;
	size_t n;
	int rc = -1;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > RP_REPLAY_FILE_MAX) {
		fprintf(stderr, "replay: %s: cannot size or too big\n", path);
		goto out;
	}
	/* +1 so an empty file still gets a valid pointer. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, n);
	replayed++;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int replay_path(const char *path, int depth)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	if (depth > RP_REPLAY_DEPTH)
		return 0;
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char sub[4096];
		int n;

		if (de->d_name[0] == '.')
			continue; /* ".", "..", and hidden files such as .gitkeep */
		n = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(sub)) {
			fprintf(stderr, "replay: %s/%s: path too long\n", path, de->d_name);
			rc = -1;
			continue;
		}
		if (replay_path(sub, depth + 1) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if (replay_path(argv[i], 0) != 0)
			rc = 1;
	}
	printf("replayed %lu inputs\n", replayed);
	return rc;
}
