/* test_fileio.c - fileio_write_all writes every byte (a buffer larger than
 * a pipe's, read back whole), fails on a bad descriptor; fileio_sync_close
 * closes the descriptor even when fsync fails (a pipe cannot be synced). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_all),
	    cmocka_unit_test(test_sync_close_always_closes),
	};

	return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}
