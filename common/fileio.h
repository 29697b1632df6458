/* fileio.h - the two steps every durable file write shares (key files, the
 * replay state, the spool): all of a buffer written (EINTR retried, a write
 * that makes no progress is an error), and fsync then close, the descriptor
 * closed whatever happens. */
#ifndef RP_FILEIO_H
#define RP_FILEIO_H

#include <stddef.h>

/* Writes len bytes of p to fd. 0, or -1 with errno (EIO when write made no
 * progress). */
int fileio_write_all(int fd, const void *p, size_t len);

/* fsync(fd), then close(fd) in every case. 0, or -1 with the errno of the
 * first step that failed. fd is closed either way: do not close it again. */
int fileio_sync_close(int fd);

#endif
