/* test_spool.c - unit tests for the agent's result spool on a real directory
 * (mkdtemp): round trip, batches (spool_put_many), crash leftovers cleaned at reopen with ready
 * items intact, bad keys and oversize items refused, removal, oldest-first order, directory
 * permissions and the single-owner lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rp_limits.h"
#include "spool.h"

struct fx {
	char root[64]; /* mkdtemp dir */
	char dir[128]; /* root/spool */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/rp-spool-XXXXXX");
	if (mkdtemp(f->root) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/spool", f->root);
	*state = f;
	return 0;
}

static void rm_tree(const char *path)
{
	char cmd[256];

	/* Only ever our own mkdtemp directory under /tmp. */
	if (strncmp(path, "/tmp/rp-spool-", 14) != 0)
		return;
	chmod(path, 0700);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rm_tree(f->root);
	free(f);
	return 0;
}

static struct spool *open_ok(const struct fx *f)
{
	char err[256] = "";
	struct spool *sp = spool_open(f->dir, err, sizeof(err));

	if (sp == NULL)
		fail_msg("spool_open: %s", err);
	return sp;
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct spool *sp = open_ok(f);
	const uint8_t payload[] = {'r', 'e', 's', 0, 0xff, '\n', 'x'};
	uint8_t *out = NULL;
	size_t len = 0;
	struct stat st;
	char path[256];

	assert_int_equal(spool_count(sp), 0);
	assert_int_equal(spool_put(sp, "order-1.target_a", payload, sizeof(payload)), 0);
	assert_int_equal(spool_count(sp), 1);
	assert_int_equal(spool_get(sp, "order-1.target_a", &out, &len), 0);
	assert_int_equal(len, sizeof(payload));
	assert_memory_equal(out, payload, sizeof(payload));
	free(out);

	/* An empty item is a valid item. */
	assert_int_equal(spool_put(sp, "empty", "", 0), 0);
	assert_int_equal(spool_get(sp, "empty", &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, 0);
	free(out);

	/* Replacing keeps one item. */
	assert_int_equal(spool_put(sp, "empty", "v2", 2), 0);
	assert_int_equal(spool_count(sp), 2);

	/* The on-disk layout is the documented one, the file private. */
	snprintf(path, sizeof(path), "%s/ready/order-1.target_a.res", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(count_files(path), 0);

	errno = 0;
	assert_int_equal(spool_get(sp, "missing", &out, &len), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(out);
	spool_close(&sp);
	assert_null(sp);
	spool_close(&sp); /* NULL is fine */

	/* Data survives a reopen. */
	sp = open_ok(f);
	assert_int_equal(spool_count(sp), 2);
	assert_int_equal(spool_get(sp, "order-1.target_a", &out, &len), 0);
	assert_memory_equal(out, payload, sizeof(payload));
	free(out);
	spool_close(&sp);
}

/* A batch: every item stored and readable (also after reopening), an
 * existing key replaced, counted once; a bad key or an oversize item
 * refuses the whole batch with nothing written; nothing left in tmp/. */
static void test_put_many(void **state)
{
	struct fx *f = *state;
	struct spool *sp = open_ok(f);
	struct spool_item items[SPOOL_BATCH_MAX + 1];
	char keys[SPOOL_BATCH_MAX + 1][16], body[SPOOL_BATCH_MAX + 1][16], path[256];
	uint8_t *out = NULL;
	size_t len = 0;

	assert_int_equal(spool_put(sp, "k0", "old", 3), 0);
	for (size_t i = 0; i <= SPOOL_BATCH_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		snprintf(body[i], sizeof(body[i]), "body-%zu", i);
		items[i] = (struct spool_item){keys[i], body[i], strlen(body[i])};
	}
	errno = 0;
	assert_int_equal(spool_put_many(sp, items, SPOOL_BATCH_MAX + 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(spool_put_many(sp, items, SPOOL_BATCH_MAX), 0);
	assert_int_equal(spool_count(sp), SPOOL_BATCH_MAX);
	spool_close(&sp);
	sp = open_ok(f);
	assert_int_equal(spool_count(sp), SPOOL_BATCH_MAX);
	for (size_t i = 0; i < SPOOL_BATCH_MAX; i++) {
		assert_int_equal(spool_get(sp, keys[i], &out, &len), 0);
		assert_int_equal(len, strlen(body[i]));
		assert_memory_equal(out, body[i], len);
		free(out);
	}
	/* One bad key: nothing of the batch is written. */
	items[1].key = "../escape";
	items[0].key = "fresh";
	errno = 0;
	assert_int_equal(spool_put_many(sp, items, 3), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(spool_get(sp, "fresh", &out, &len), -1);
	items[1].key = keys[1];
	items[1].len = RP_SPOOL_ITEM_MAX + 1;
	assert_int_equal(spool_put_many(sp, items, 2), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(spool_get(sp, "fresh", &out, &len), -1);
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(count_files(path), 0);
	assert_int_equal(spool_put_many(sp, items, 0), 0);
	spool_close(&sp);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_crash_leftovers(void **state)
{
	struct fx *f = *state;
	struct spool *sp = open_ok(f);
	char path[256];
	uint8_t *out;
	size_t len;

	assert_int_equal(spool_put(sp, "done-1", "kept", 4), 0);
	assert_int_equal(spool_recovered(sp), 0);
	spool_close(&sp);

	/* A crash between write and rename leaves tmp files behind, some
	 * half-written. */
	snprintf(path, sizeof(path), "%s/tmp/half-1.1234.00000000deadbeef", f->dir);
	write_file(path, "partial");
	snprintf(path, sizeof(path), "%s/tmp/half-2.1234.0000000000c0ffee", f->dir);
	write_file(path, "");

	sp = open_ok(f);
	assert_int_equal(spool_recovered(sp), 2);
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(count_files(path), 0);
	/* The ready item is intact and the half-written ones are not items. */
	assert_int_equal(spool_count(sp), 1);
	assert_int_equal(spool_get(sp, "done-1", &out, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "kept", 4);
	free(out);
	errno = 0;
	assert_int_equal(spool_get(sp, "half-1", &out, &len), -1);
	assert_int_equal(errno, ENOENT);
	spool_close(&sp);

	/* A clean reopen recovers nothing. */
	sp = open_ok(f);
	assert_int_equal(spool_recovered(sp), 0);
	spool_close(&sp);
}

static void test_bad_keys(void **state)
{
	struct fx *f = *state;
	struct spool *sp = open_ok(f);
	char longkey[200];
	const char *bad[] = {"", ".", "..", "a/b", "../x", "a b", "a\nb", "caf\xc3\xa9", "x*"};
	uint8_t *out;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(spool_put(sp, bad[i], "x", 1), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(spool_get(sp, bad[i], &out, &len), -1);
		assert_int_equal(spool_remove(sp, bad[i]), -1);
	}
	errno = 0;
	assert_int_equal(spool_put(sp, NULL, "x", 1), -1);
	assert_int_equal(errno, EINVAL);

	/* 128 bytes is the longest key; 129 is refused. */
	memset(longkey, 'k', 128);
	longkey[128] = '\0';
	assert_true(spool_key_valid(longkey));
	assert_int_equal(spool_put(sp, longkey, "x", 1), 0);
	longkey[128] = 'k';
	longkey[129] = '\0';
	assert_false(spool_key_valid(longkey));
	assert_int_equal(spool_put(sp, longkey, "x", 1), -1);
	assert_true(spool_key_valid("A-z_0.9"));
	assert_int_equal(spool_count(sp), 1);
	spool_close(&sp);
}

static void test_oversize(void **state)
{
	struct fx *f = *state;
	struct spool *sp = open_ok(f);
	size_t big = (size_t)RP_SPOOL_ITEM_MAX + 1;
	uint8_t *buf = calloc(1, big), *out;
	char path[256];
	size_t len;
	int fd;

	assert_non_null(buf);
	errno = 0;
	assert_int_equal(spool_put(sp, "big", buf, big), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(spool_count(sp), 0);
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(count_files(path), 0);

	/* Exactly the cap is fine. */
	assert_int_equal(spool_put(sp, "max", buf, big - 1), 0);
	assert_int_equal(spool_get(sp, "max", &out, &len), 0);
	assert_int_equal(len, big - 1);
	free(out);

	/* An oversize file planted in ready/ is neither read nor listed. */
	snprintf(path, sizeof(path), "%s/ready/planted.res", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, big), (ssize_t)big);
	close(fd);
	errno = 0;
	assert_int_equal(spool_get(sp, "planted", &out, &len), -1);
	assert_int_equal(errno, EFBIG);
	free(buf);
	spool_close(&sp);
}

static void test_remove(void **state)
{
	struct fx *f = *state;
	struct spool *sp = open_ok(f);
	uint8_t *out;
	size_t len;

	assert_int_equal(spool_put(sp, "a", "1", 1), 0);
	assert_int_equal(spool_put(sp, "b", "2", 1), 0);
	assert_int_equal(spool_remove(sp, "a"), 0);
	assert_int_equal(spool_count(sp), 1);
	errno = 0;
	assert_int_equal(spool_get(sp, "a", &out, &len), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(spool_remove(sp, "a"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(spool_count(sp), 1);
	spool_close(&sp);

	sp = open_ok(f);
	assert_int_equal(spool_count(sp), 1);
	assert_int_equal(spool_get(sp, "b", &out, &len), 0);
	free(out);
	spool_close(&sp);
}

struct seen {
	char keys[8][32];
	char vals[8][8];
	int n;
	int stop_after;
};

static int collect_cb(void *arg, const char *key, const uint8_t *bytes, size_t len)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
		snprintf(s->vals[s->n], sizeof(s->vals[0]), "%.*s", (int)len, (const char *)bytes);
	}
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after;
}

static void set_mtime(const struct fx *f, const char *key, time_t t)
{
	char path[256];
	struct timespec ts[2] = {{t, 0}, {t, 0}};

	snprintf(path, sizeof(path), "%s/ready/%s.res", f->dir, key);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_order(void **state)
{
	struct fx *f = *state;
	struct spool *sp = open_ok(f);
	struct seen s = {0};
	char path[256];

	/* Written in this order; names sort the other way. */
	assert_int_equal(spool_put(sp, "zulu", "1", 1), 0);
	assert_int_equal(spool_put(sp, "mike", "2", 1), 0);
	assert_int_equal(spool_put(sp, "alpha", "3", 1), 0);
	assert_int_equal(spool_put(sp, "bravo", "4", 1), 0);
	/* Pin the times (the clock's granularity may give equal mtimes):
	 * alpha and bravo tie and are ordered by key. */
	set_mtime(f, "zulu", 1000);
	set_mtime(f, "mike", 2000);
	set_mtime(f, "alpha", 3000);
	set_mtime(f, "bravo", 3000);
	/* Noise that is not an item. */
	snprintf(path, sizeof(path), "%s/ready/notes.txt", f->dir);
	write_file(path, "x");
	snprintf(path, sizeof(path), "%s/ready/sub.res", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);

	assert_int_equal(spool_list(sp, collect_cb, &s), 4);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.keys[0], "zulu");
	assert_string_equal(s.vals[0], "1");
	assert_string_equal(s.keys[1], "mike");
	assert_string_equal(s.keys[2], "alpha");
	assert_string_equal(s.vals[2], "3");
	assert_string_equal(s.keys[3], "bravo");
	assert_int_equal(spool_skipped(sp), 2);

	/* A callback can stop the walk. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(spool_list(sp, collect_cb, &s), 2);
	assert_string_equal(s.keys[1], "mike");

	/* Same order after a reopen. */
	spool_close(&sp);
	sp = open_ok(f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_list(sp, collect_cb, &s), 4);
	assert_string_equal(s.keys[0], "zulu");
	assert_string_equal(s.keys[3], "bravo");
	spool_close(&sp);
}

static void test_permissions(void **state)
{
	struct fx *f = *state;
	struct spool *sp, *second;
	char err[256] = "";
	struct stat st;
	char path[256];

	/* Created 0700, with private subdirectories. */
	sp = open_ok(f);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/ready", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* One owner at a time. */
	second = spool_open(f->dir, err, sizeof(err));
	assert_null(second);
	assert_non_null(strstr(err, "in use"));
	spool_close(&sp);

	/* World- or group-writable: refused, with the reason. */
	assert_int_equal(chmod(f->dir, 0777), 0);
	err[0] = '\0';
	assert_null(spool_open(f->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "writable"));
	assert_int_equal(chmod(f->dir, 0720), 0);
	assert_null(spool_open(f->dir, err, sizeof(err)));
	/* Readable by others is allowed (only writing is a risk). */
	assert_int_equal(chmod(f->dir, 0755), 0);
	sp = open_ok(f);
	spool_close(&sp);

	/* Owned by another user: refused (needs root to set up). */
	if (geteuid() == 0) {
		assert_int_equal(chown(f->dir, 65534, 65534), 0);
		err[0] = '\0';
		assert_null(spool_open(f->dir, err, sizeof(err)));
		assert_non_null(strstr(err, "owned by"));
		assert_int_equal(chown(f->dir, 0, 0), 0);
	}

	/* A writable subdirectory is refused too. */
	assert_int_equal(chmod(path, 0777), 0);
	assert_null(spool_open(f->dir, err, sizeof(err)));
	assert_int_equal(chmod(path, 0700), 0);

	/* A symlink in place of the directory is refused. */
	snprintf(path, sizeof(path), "%s/link", f->root);
	assert_int_equal(symlink(f->dir, path), 0);
	assert_null(spool_open(path, err, sizeof(err)));

	/* A regular file is not a spool. */
	snprintf(path, sizeof(path), "%s/file", f->root);
	write_file(path, "x");
	assert_null(spool_open(path, err, sizeof(err)));
	assert_null(spool_open("", err, sizeof(err)));
	assert_null(spool_open(NULL, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_leftovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
