/* test_replay.c - wire/replay.c: the agent's replay state survives a save and
 * load (so a restart does not reopen old orders), stays bounded, is written
 * atomically with mode 0600, and a corrupt file is refused naming the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"
#include "rp_limits.h"

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/rp_replay_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/replay.state", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", fx->path);
	unlink(fx->path);
	unlink(tmp);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void load_bad(const char *path, const char *text, const char *needle)
{
	char err[512] = "";
	struct replay_state *rs;

	write_text(path, text);
	rs = replay_state_load(path, err, sizeof(err));
	if (rs != NULL) {
		replay_state_free(&rs);
		fail_msg("accepted a bad state file (expected %s)", needle);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("error lacks \"%s\": %s", needle, err);
}

static void test_accept_and_seen(void **state)
{
	struct replay_state *rs = replay_state_new();

	assert_non_null(rs);
	assert_int_equal(replay_state_last_sequence(rs), 0);
	assert_false(replay_state_seen(rs, "a"));
	assert_int_equal(replay_state_accept(rs, "a", 5), 0);
	assert_int_equal(replay_state_accept(rs, "b", 3), 0); /* never lowers the sequence */
	assert_true(replay_state_seen(rs, "a"));
	assert_true(replay_state_seen(rs, "b"));
	assert_false(replay_state_seen(rs, "c"));
	assert_int_equal(replay_state_last_sequence(rs), 5);
	assert_int_equal(replay_state_accept(rs, "a", 6), 0); /* no duplicate entry */
	assert_int_equal(replay_state_count(rs), 2);
	assert_int_equal(replay_state_accept(rs, "bad id", 7), -1);
	assert_int_equal(replay_state_accept(rs, "", 7), -1);
	assert_int_equal(replay_state_last_sequence(rs), 6);
	replay_state_free(&rs);
	assert_null(rs);
	replay_state_free(&rs);
}

static void test_save_load(void **state)
{
	struct fx *fx = *state;
	struct replay_state *rs = replay_state_new(), *back;
	char err[512] = "";
	struct stat st;

	assert_non_null(rs);
	assert_int_equal(replay_state_accept(rs, "audit1:o1", 41), 0);
	assert_int_equal(replay_state_accept(rs, "audit1:o2", 42), 0);
	if (replay_state_save(rs, fx->path, err, sizeof(err)) != 0)
		fail_msg("save: %s", err);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	back = replay_state_load(fx->path, err, sizeof(err));
	if (back == NULL)
		fail_msg("load: %s", err);
	assert_int_equal(replay_state_last_sequence(back), 42);
	assert_true(replay_state_seen(back, "audit1:o1"));
	assert_true(replay_state_seen(back, "audit1:o2"));
	assert_int_equal(replay_state_count(back), 2);
	/* Save again over the old file: the rename replaces it. */
	assert_int_equal(replay_state_accept(back, "audit1:o3", 43), 0);
	assert_int_equal(replay_state_save(back, fx->path, err, sizeof(err)), 0);
	replay_state_free(&rs);
	rs = replay_state_load(fx->path, err, sizeof(err));
	assert_non_null(rs);
	assert_int_equal(replay_state_last_sequence(rs), 43);
	assert_true(replay_state_seen(rs, "audit1:o3"));
	replay_state_free(&rs);
	replay_state_free(&back);
}

static void test_missing_file_is_empty(void **state)
{
	struct fx *fx = *state;
	char err[512] = "";
	struct replay_state *rs = replay_state_load(fx->path, err, sizeof(err));

	assert_non_null(rs);
	assert_int_equal(replay_state_last_sequence(rs), 0);
	assert_int_equal(replay_state_count(rs), 0);
	replay_state_free(&rs);
	/* An unwritable directory is an error, not an empty state. */
	assert_int_equal(
	    replay_state_save(rs = replay_state_new(), "/nonexistent/dir/state", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "/nonexistent/dir/state.tmp"));
	replay_state_free(&rs);
}

static void test_bounded(void **state)
{
	struct fx *fx = *state;
	struct replay_state *rs = replay_state_new(), *back;
	char id[32], err[512] = "";

	assert_non_null(rs);
	for (int i = 0; i <= RP_WIRE_REPLAY_MAX; i++) {
		snprintf(id, sizeof(id), "o%d", i);
		assert_int_equal(replay_state_accept(rs, id, (uint64_t)i + 1), 0);
	}
	assert_int_equal(replay_state_count(rs), RP_WIRE_REPLAY_MAX);
	assert_false(replay_state_seen(rs, "o0")); /* the oldest went first */
	assert_true(replay_state_seen(rs, "o1"));
	snprintf(id, sizeof(id), "o%d", RP_WIRE_REPLAY_MAX);
	assert_true(replay_state_seen(rs, id));
	assert_int_equal(replay_state_save(rs, fx->path, err, sizeof(err)), 0);
	back = replay_state_load(fx->path, err, sizeof(err));
	if (back == NULL)
		fail_msg("load: %s", err);
	assert_int_equal(replay_state_count(back), RP_WIRE_REPLAY_MAX);
	assert_false(replay_state_seen(back, "o0"));
	assert_true(replay_state_seen(back, id));
	assert_int_equal(replay_state_last_sequence(back), RP_WIRE_REPLAY_MAX + 1);
	/* After reload, eviction continues from the oldest (o1). */
	assert_int_equal(replay_state_accept(back, "new", RP_WIRE_REPLAY_MAX + 2), 0);
	assert_false(replay_state_seen(back, "o1"));
	assert_true(replay_state_seen(back, "o2"));
	replay_state_free(&back);
	replay_state_free(&rs);
}

static void test_corrupt(void **state)
{
	struct fx *fx = *state;
	char *big;
	size_t cap = (size_t)(RP_WIRE_REPLAY_MAX + 2) * 16 + 64, o;

	load_bad(fx->path, "garbage\n", "replay.state:1: expected");
	load_bad(fx->path, "relayprobe-replay 1\nsequence=abc\n", ":2: key 'sequence'");
	load_bad(fx->path, "relayprobe-replay 1\nsequence=-1\n", ":2: key 'sequence'");
	load_bad(fx->path, "relayprobe-replay 1\nsequence=99999999999999999999999\n",
	         ":2: key 'sequence'");
	load_bad(fx->path, "relayprobe-replay 1\nsequence=1\norder=a b\n", ":3: key 'order'");
	load_bad(fx->path, "relayprobe-replay 1\nsequence=1\nsequence=2\n", ":3: expected");
	load_bad(fx->path, "relayprobe-replay 1\norder=a\n", "key 'sequence': missing");
	load_bad(fx->path, "relayprobe-replay 1\nsequence=1\nfoo=bar\n", ":3: expected");
	load_bad(fx->path, "relayprobe-replay 1\nsequence=1",
	         ":2: line too long or not terminated");
	/* An id longer than RP_WIRE_ID_MAX. */
	{
		char text[512];
		char id[RP_WIRE_ID_MAX + 2];
		memset(id, 'x', sizeof(id) - 1);
		id[sizeof(id) - 1] = '\0';
		snprintf(text, sizeof(text), "relayprobe-replay 1\nsequence=1\norder=%s\n", id);
		load_bad(fx->path, text, ":3: key 'order'");
	}
	/* More ids than the bound. */
	big = malloc(cap);
	assert_non_null(big);
	o = (size_t)snprintf(big, cap, "relayprobe-replay 1\nsequence=1\n");
	for (int i = 0; i <= RP_WIRE_REPLAY_MAX; i++)
		o += (size_t)snprintf(big + o, cap - o, "order=o%d\n", i);
	load_bad(fx->path, big, "more than");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_and_seen),
	    cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file_is_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
