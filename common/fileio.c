/* fileio.c - a whole buffer written, and fsync-then-close that always
 * closes (fileio.h). */
#include "fileio.h"

#include <errno.h>
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
