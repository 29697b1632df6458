/* fileio.c - a whole buffer written, fsync-then-close that always closes,
 * and a whole file written with both (fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_write_all(int fd, const void *p, size_t len)
{
	const char *s = p;

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int fileio_sync_close(int fd)
{
	int rc = 0, e = 0;

	if (fsync(fd) != 0) {
		rc = -1;
		e = errno;
	}
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc != 0)
		errno = e;
	return rc;
}

int fileio_write_file(const char *path, bool excl, mode_t mode, const void *data, size_t len,
                      char *err, size_t errlen)
{
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC);
	int fd = open(path, flags, mode), e = 0;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0 || fileio_write_all(fd, data, len) != 0)
		e = errno;
	if (fileio_sync_close(fd) != 0 && e == 0) /* closes fd in every case */
		e = errno;
	if (e == 0)
		return 0;
	snprintf(err, errlen, "%s: %s", path, strerror(e));
	unlink(path);
	return -1;
}
