/* test_fileio.c - fileio_write_all writes every byte (a buffer larger than
 * a pipe's, read back whole), fails on a bad descriptor; fileio_sync_close
 * closes the descriptor even when fsync fails (a pipe cannot be synced);
 * fileio_write_file gives the exact mode whatever the umask, truncates or
 * refuses an existing file (leaving it alone), never follows a symlink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

static void test_write_all(void **state)
{
	char path[] = "/tmp/test_fileio.XXXXXX";
	size_t len = 1 << 20;
	char *buf = malloc(len), *back = malloc(len);
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(buf);
	assert_non_null(back);
	assert_true(fd >= 0);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(i * 7);
	assert_int_equal(fileio_write_all(fd, buf, len), 0);
	assert_int_equal(fileio_write_all(fd, buf, 0), 0);
	assert_int_equal(fileio_sync_close(fd), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, back, len), (ssize_t)len);
	assert_memory_equal(buf, back, len);
	close(fd);
	unlink(path);
	assert_int_equal(fileio_write_all(-1, buf, 1), -1);
	assert_int_equal(errno, EBADF);
	free(buf);
	free(back);
}

static void test_sync_close_always_closes(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	/* fsync on a pipe fails (EINVAL): the descriptor is closed all the same. */
	assert_int_equal(fileio_sync_close(p[1]), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fcntl(p[1], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	close(p[0]);
	assert_int_equal(fileio_sync_close(-1), -1);
	assert_int_equal(errno, EBADF);
}

static void read_back(const char *path, const char *want)
{
	char back[64] = {0};
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(read(fd, back, sizeof(back) - 1), (ssize_t)strlen(want));
	assert_string_equal(back, want);
	close(fd);
}

static void test_write_file(void **state)
{
	char dir[] = "/tmp/test_fileio.XXXXXX", path[128], link[128], err[256];
	struct stat st;
	mode_t old = umask(077);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link, sizeof(link), "%s/l", dir);

	/* The mode asked for, not the umask's. */
	assert_int_equal(fileio_write_file(path, true, 0644, "one\n", 4, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	read_back(path, "one\n");

	/* excl: an existing file is refused and left as it was. */
	assert_int_equal(fileio_write_file(path, true, 0600, "two\n", 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(EEXIST)));
	read_back(path, "one\n");

	/* Not excl: truncated and rewritten, with the new mode. */
	assert_int_equal(fileio_write_file(path, false, 0600, "2\n", 2, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	read_back(path, "2\n");

	/* Never through a symlink, and the link's target is not touched. */
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(fileio_write_file(link, false, 0600, "3\n", 2, err, sizeof(err)), -1);
	read_back(path, "2\n");

	umask(old);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_all),
	    cmocka_unit_test(test_sync_close_always_closes),
	    cmocka_unit_test(test_write_file),
	};

	return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}
