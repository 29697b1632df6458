/* fuzz_file.h - for harnesses of loaders that read a path: one temporary
 * file per process (/tmp/rp-fuzz-NAME.XXXXXX, removed at exit) rewritten
 * with each input. fuzz_file_put returns the path, or NULL on an I/O error. */
#ifndef RP_FUZZ_FILE_H
#define RP_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_file_path[64];
static int fuzz_file_fd = -1;

static void fuzz_file_cleanup(void)
{
	if (fuzz_file_fd >= 0) {
		close(fuzz_file_fd);
		unlink(fuzz_file_path);
		fuzz_file_fd = -1;
	}
}

static const char *fuzz_file_put(const char *name, const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (fuzz_file_fd < 0) {
		snprintf(fuzz_file_path, sizeof(fuzz_file_path), "/tmp/rp-fuzz-%s.XXXXXX", name);
		fuzz_file_fd = mkstemp(fuzz_file_path);
		if (fuzz_file_fd < 0)
			return NULL;
		atexit(fuzz_file_cleanup);
	}
	if (ftruncate(fuzz_file_fd, 0) != 0)
		return NULL;
	while (off < size) {
		ssize_t n = pwrite(fuzz_file_fd, data + off, size - off, (off_t)off);

		if (n <= 0)
			return NULL;
		off += (size_t)n;
	}
	return fuzz_file_path;
}

#endif
