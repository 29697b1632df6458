/* spool.c - the agent's durable result spool (see spool.h). Owns three
 * directory descriptors (DIR, DIR/tmp, DIR/ready) and an exclusive flock on
 * DIR so one process owns a spool at a time. Enforces key syntax, the item
 * size cap (RP_SPOOL_ITEM_MAX) and the item count cap (RP_SPOOL_ITEMS_MAX);
 * every read of a spooled file is bounded by the cap. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "rp_limits.h"
#include "rp_take.h"
#include "syntax.h"

#define SPOOL_KEY_MAX RP_SPOOL_KEY_MAX
#define SPOOL_SUFFIX  ".res"
/* "<key>.res" and "<key>.<pid>.<16 hex>" both fit in this. */
#define SPOOL_NAME_MAX (SPOOL_KEY_MAX + 48)

struct spool {
	int dirfd;   /* DIR, flock'ed */
	int tmpfd;   /* DIR/tmp */
	int readyfd; /* DIR/ready */
	size_t count;
	size_t recovered;
	size_t skipped;
	unsigned long seq; /* fallback tmp name entropy */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int spool_key_valid(const char *key)
{
	return rp_id_ok(RP_ID_SPOOL, key);
}

/* The directory must be ours and not writable by anyone else. */
static int check_dir(int fd, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		set_err(err, errlen, "%s: fstat: %s", what, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "%s: not a directory", what);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		set_err(err, errlen, "%s: owned by uid %u, not by us (%u)", what,
		        (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		set_err(err, errlen, "%s: writable by group or others (mode %03o)", what,
		        (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

/* mkdir (0700) if missing, then open without following a symlink. */
static int open_dir_at(int at, const char *path, char *err, size_t errlen)
{
	int fd;

	if (mkdirat(at, path, 0700) < 0 && errno != EEXIST) {
		set_err(err, errlen, "%s: mkdir: %s", path, strerror(errno));
		return -1;
	}
	fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "%s: open: %s", path, strerror(errno));
		return -1;
	}
	if (check_dir(fd, path, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Splits "<key>.res" into key; 0 when the name is not a spool item. */
static int item_key(const char *name, char *key, size_t keylen)
{
	size_t n = strlen(name), sl = strlen(SPOOL_SUFFIX);

	if (n <= sl || n - sl >= keylen || strcmp(name + n - sl, SPOOL_SUFFIX) != 0)
		return 0;
	memcpy(key, name, n - sl);
	key[n - sl] = '\0';
	return spool_key_valid(key);
}

/* A stream over the directory dirfd names (dirfd stays open, the stream
 * owns its own descriptor). NULL with errno on failure. */
static DIR *dir_stream(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL && fd >= 0) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return d;
}

/* Deletes every regular file left in tmp/ by a crash; counts ready items. */
static int recover(struct spool *sp, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	char key[SPOOL_NAME_MAX];

	if ((d = dir_stream(sp->tmpfd)) == NULL) {
		set_err(err, errlen, "tmp: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(sp->tmpfd, de->d_name, 0) == 0)
			sp->recovered++;
	}
	closedir(d);
	if (sp->recovered > 0 && fsync(sp->tmpfd) < 0) {
		set_err(err, errlen, "tmp: fsync: %s", strerror(errno));
		return -1;
	}

	if ((d = dir_stream(sp->readyfd)) == NULL) {
		set_err(err, errlen, "ready: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (item_key(de->d_name, key, sizeof(key)))
			sp->count++;
	closedir(d);
	return 0;
}

struct spool *spool_open(const char *dir, char *err, size_t errlen)
{
	struct spool *sp = NULL;

	if (dir == NULL || dir[0] == '\0') {
		set_err(err, errlen, "no spool directory");
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	sp->dirfd = sp->tmpfd = sp->readyfd = -1;
	sp->dirfd = open_dir_at(AT_FDCWD, dir, err, errlen);
	if (sp->dirfd < 0)
		goto fail;
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) < 0) {
		set_err(err, errlen, "%s: in use by another process (%s)", dir, strerror(errno));
		goto fail;
	}
	sp->tmpfd = open_dir_at(sp->dirfd, "tmp", err, errlen);
	if (sp->tmpfd < 0)
		goto fail;
	sp->readyfd = open_dir_at(sp->dirfd, "ready", err, errlen);
	if (sp->readyfd < 0)
		goto fail;
	/* The new subdirectories must survive a crash too. */
	if (fsync(sp->dirfd) < 0) {
		set_err(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		goto fail;
	}
	if (recover(sp, err, errlen) < 0)
		goto fail;
	return sp;
fail:
	spool_close(&sp);
	return NULL;
}

void spool_close(struct spool **spp)
{
	struct spool *sp = rp_take(spp);

	if (sp == NULL)
		return;
	if (sp->readyfd >= 0)
		close(sp->readyfd);
	if (sp->tmpfd >= 0)
		close(sp->tmpfd);
	if (sp->dirfd >= 0)
		close(sp->dirfd); /* drops the flock */
	free(sp);
}

/* Creates DIR/tmp/<key>.<pid>.<random> exclusively; name receives it. */
static int create_tmp(struct spool *sp, const char *key, char *name, size_t namelen)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t r = 0;
		int fd;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
			r = ((uint64_t)time(NULL) << 20) ^ (uint64_t)++sp->seq;
		snprintf(name, namelen, "%s.%ld.%016llx", key, (long)getpid(),
		         (unsigned long long)r);
		fd = openat(sp->tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int spool_put(struct spool *sp, const char *key, const void *bytes, size_t len)
{
	char tmp[SPOOL_NAME_MAX], final[SPOOL_NAME_MAX];
	struct stat st;
	int fd, saved, replace;

	if (sp == NULL || !spool_key_valid(key) || (bytes == NULL && len > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (len > RP_SPOOL_ITEM_MAX) {
		errno = EFBIG;
		return -1;
	}
	snprintf(final, sizeof(final), "%s%s", key, SPOOL_SUFFIX);
	replace = fstatat(sp->readyfd, final, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!replace && sp->count >= RP_SPOOL_ITEMS_MAX) {
		errno = ENOSPC;
		return -1;
	}
	fd = create_tmp(sp, key, tmp, sizeof(tmp));
	if (fd < 0)
		return -1;
	if (fileio_write_all(fd, bytes, len) < 0)
		goto fail;
	if (fileio_sync_close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(sp->tmpfd, tmp, sp->readyfd, final) < 0)
		goto fail;
	/* The rename is durable only once ready/ itself is on disk. A crash
	 * before this leaves either the old state or the new one. */
	if (fsync(sp->readyfd) < 0)
		return -1; /* the item is in ready/ but may not survive a crash */
	if (!replace)
		sp->count++;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(sp->tmpfd, tmp, 0);
	errno = saved;
	return -1;
}

int spool_put_many(struct spool *sp, const struct spool_item *items, size_t n)
{
	char tmp[SPOOL_BATCH_MAX][SPOOL_NAME_MAX], final[SPOOL_NAME_MAX];
	size_t made = 0, moved = 0;
	struct stat st;
	int fd = -1, saved;

	if (sp == NULL || (items == NULL && n > 0) || n > SPOOL_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!spool_key_valid(items[i].key) ||
		    (items[i].bytes == NULL && items[i].len > 0)) {
			errno = EINVAL;
			return -1;
		}
		if (items[i].len > RP_SPOOL_ITEM_MAX) {
			errno = EFBIG;
			return -1;
		}
	}
	if (n == 0)
		return 0;
	if (sp->count + n > RP_SPOOL_ITEMS_MAX) {
		/* Near the cap: only keys not stored yet count. */
		size_t fresh = 0;

		for (size_t i = 0; i < n; i++) {
			snprintf(final, sizeof(final), "%s%s", items[i].key, SPOOL_SUFFIX);
			fresh += fstatat(sp->readyfd, final, &st, AT_SYMLINK_NOFOLLOW) != 0;
		}
		if (sp->count + fresh > RP_SPOOL_ITEMS_MAX) {
			errno = ENOSPC;
			return -1;
		}
	}
	for (; made < n; made++) {
		fd = create_tmp(sp, items[made].key, tmp[made], sizeof(tmp[made]));
		if (fd < 0 || fileio_write_all(fd, items[made].bytes, items[made].len) < 0)
			goto fail;
		if (close(fd) < 0) {
			fd = -1;
			made++; /* created: unlinked below */
			goto fail;
		}
		fd = -1;
	}
	/* Every file's data and inode on disk at once. */
	if (syncfs(sp->tmpfd) < 0)
		goto fail;
	for (; moved < n; moved++) {
		int replace;

		snprintf(final, sizeof(final), "%s%s", items[moved].key, SPOOL_SUFFIX);
		replace = fstatat(sp->readyfd, final, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (renameat(sp->tmpfd, tmp[moved], sp->readyfd, final) < 0)
			goto fail;
		if (!replace)
			sp->count++;
	}
	if (fsync(sp->readyfd) < 0)
		return -1; /* in ready/ but may not survive a crash */
	return 0;
fail:
	saved = errno;
	if (fd >= 0) {
		close(fd);
		made++; /* this one was created too */
	}
	for (size_t i = moved; i < made; i++)
		unlinkat(sp->tmpfd, tmp[i], 0);
	if (moved > 0)
		fsync(sp->readyfd);
	errno = saved;
	return -1;
}

/* Reads one ready/ file, bounded by RP_SPOOL_ITEM_MAX. */
static int read_item(struct spool *sp, const char *name, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t cap, len = 0;
	int fd, saved;

	*out = NULL;
	*outlen = 0;
	fd = openat(sp->readyfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size > RP_SPOOL_ITEM_MAX) {
		errno = EFBIG;
		goto fail;
	}
	/* One byte more than the size, to see a file that grew meanwhile. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (buf == NULL)
		goto fail;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap * 2;
			uint8_t *nb;

			if (cap > RP_SPOOL_ITEM_MAX) {
				errno = EFBIG;
				goto fail;
			}
			if (ncap > (size_t)RP_SPOOL_ITEM_MAX + 1)
				ncap = (size_t)RP_SPOOL_ITEM_MAX + 1;
			nb = realloc(buf, ncap);
			if (nb == NULL)
				goto fail;
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > RP_SPOOL_ITEM_MAX) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return -1;
}

int spool_get(struct spool *sp, const char *key, uint8_t **out, size_t *len)
{
	char name[SPOOL_NAME_MAX];

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (sp == NULL || out == NULL || len == NULL || !spool_key_valid(key)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(name, sizeof(name), "%s%s", key, SPOOL_SUFFIX);
	return read_item(sp, name, out, len);
}

int spool_remove(struct spool *sp, const char *key)
{
	char name[SPOOL_NAME_MAX];

	if (sp == NULL || !spool_key_valid(key)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(name, sizeof(name), "%s%s", key, SPOOL_SUFFIX);
	if (unlinkat(sp->readyfd, name, 0) < 0)
		return -1;
	if (sp->count > 0)
		sp->count--;
	return fsync(sp->readyfd);
}

struct entry {
	struct timespec mtime;
	char key[SPOOL_KEY_MAX + 1];
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Names and times of up to RP_SPOOL_ITEMS_MAX items in ready/. */
static int collect(struct spool *sp, struct entry **out, size_t *outn)
{
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = dir_stream(sp->readyfd);

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n < RP_SPOOL_ITEMS_MAX) {
		struct stat st;
		char key[SPOOL_NAME_MAX];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!item_key(de->d_name, key, sizeof(key)) ||
		    fstatat(sp->readyfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_size > RP_SPOOL_ITEM_MAX) {
			sp->skipped++;
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct entry *nv = realloc(v, ncap * sizeof(*v));

			if (nv == NULL) {
				free(v);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[n].mtime = st.st_mtim;
		memcpy(v[n].key, key, strlen(key) + 1);
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), entry_cmp);
	*out = v;
	*outn = n;
	return 0;
}

long spool_list(struct spool *sp, spool_cb cb, void *arg)
{
	struct entry *v = NULL;
	size_t n = 0;
	long done = 0;

	if (sp == NULL || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	sp->skipped = 0;
	if (collect(sp, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char name[SPOOL_NAME_MAX];
		uint8_t *buf;
		size_t len;
		int stop;

		snprintf(name, sizeof(name), "%s%s", v[i].key, SPOOL_SUFFIX);
		if (read_item(sp, name, &buf, &len) < 0) {
			if (errno != ENOENT) /* ENOENT: removed meanwhile */
				sp->skipped++;
			continue;
		}
		stop = cb(arg, v[i].key, buf, len);
		free(buf);
		done++;
		if (stop != 0)
			break;
	}
	free(v);
	return done;
}

size_t spool_count(const struct spool *sp)
{
	return sp ? sp->count : 0;
}

size_t spool_recovered(const struct spool *sp)
{
	return sp ? sp->recovered : 0;
}

size_t spool_skipped(const struct spool *sp)
{
	return sp ? sp->skipped : 0;
}
