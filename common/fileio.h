/* fileio.h - the steps every durable file write shares (key files, the
 * replay state, the spool): all of a buffer written (EINTR retried, a write
 * that makes no progress is an error), fsync then close, the descriptor
 * closed whatever happens, and a whole file written that way. */
#ifndef RP_FILEIO_H
#define RP_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes of p to fd. 0, or -1 with errno (EIO when write made no
 * progress). */
int fileio_write_all(int fd, const void *p, size_t len);

/* fsync(fd), then close(fd) in every case. 0, or -1 with the errno of the
 * first step that failed. fd is closed either way: do not close it again. */
int fileio_sync_close(int fd);

/* Writes len bytes of data to path (never through a symlink) with exactly
 * mode, whatever the umask, then fsyncs and closes it. excl: path must not
 * exist (O_EXCL); otherwise an existing file is truncated. 0, or -1 with
 * "path: reason" in err; a file it opened is removed again on failure. */
int fileio_write_file(const char *path, bool excl, mode_t mode, const void *data, size_t len,
                      char *err, size_t errlen);

#endif
