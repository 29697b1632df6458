/* test_transcript.c - unit tests for the dialog transcript: escaping on the
 * way in, per-entry cut, the byte budget and its single truncation marker,
 * markers, byte-exact text rendering and the JSON shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rp_limits.h"
#include "transcript.h"

#define T0 1700000000000ULL

static int setup(void **state)
{
	struct transcript *t = transcript_new(0);

	if (t == NULL)
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct transcript *t = *state;

	transcript_free(&t);
	return 0;
}

static int add_str(struct transcript *t, uint64_t ms, enum tr_dir d, bool tls, const char *s)
{
	return transcript_add(t, ms, d, tls, s, strlen(s));
}

static void test_new_free(void **state)
{
	struct transcript *t = transcript_new(0);
	struct tr_entry e;

	(void)state;
	assert_non_null(t);
	assert_int_equal(transcript_count(t), 0);
	assert_false(transcript_truncated(t));
	assert_int_equal(transcript_get(t, 0, &e), -1);
	transcript_free(&t);
	assert_null(t);
	transcript_free(&t); /* NULL is fine */
	transcript_free(NULL);
}

static void test_indices_and_get(void **state)
{
	struct transcript *t = *state;
	struct tr_entry e;

	assert_int_equal(add_str(t, T0, TR_EVENT, false, "Connected"), 0);
	assert_int_equal(add_str(t, T0 + 5, TR_RECV, false, "220 hi"), 1);
	assert_int_equal(add_str(t, T0 + 6, TR_SENT, true, "EHLO x"), 2);
	assert_int_equal(transcript_count(t), 3);

	assert_int_equal(transcript_get(t, 2, &e), 0);
	assert_int_equal(e.t_ms, T0 + 6);
	assert_int_equal(e.dir, TR_SENT);
	assert_true(e.tls);
	assert_string_equal(e.text, "EHLO x");
	assert_int_equal(e.len, 6);
	assert_int_equal(transcript_get(t, 1, &e), 0);
	assert_false(e.tls);
	assert_int_equal(e.dir, TR_RECV);
	assert_string_equal(e.text, "220 hi");
	assert_int_equal(transcript_get(t, 3, &e), -1);
	assert_int_equal(transcript_get(t, 0, NULL), -1);
}

static void test_escaping(void **state)
{
	struct transcript *t = *state;
	struct tr_entry e;
	static const char raw[] = "a\tb\\c\x01\x7f\xc3\xa9 d\re\0f\r\n";

	assert_int_equal(transcript_add(t, T0, TR_RECV, false, raw, sizeof(raw) - 1), 0);
	assert_int_equal(transcript_get(t, 0, &e), 0);
	assert_string_equal(e.text, "a\\tb\\\\c\\x01\\x7f\\xc3\\xa9 d\\x0de\\x00f");
	assert_int_equal(e.len, strlen(e.text));

	/* Only trailing CR/LF are dropped, all of them. */
	assert_int_equal(add_str(t, T0, TR_SENT, false, "QUIT\r\n\r\n"), 1);
	assert_int_equal(transcript_get(t, 1, &e), 0);
	assert_string_equal(e.text, "QUIT");
	assert_int_equal(add_str(t, T0, TR_SENT, false, "\r\n"), 2);
	assert_int_equal(transcript_get(t, 2, &e), 0);
	assert_string_equal(e.text, "");
	assert_int_equal(transcript_add(t, T0, TR_SENT, false, NULL, 0), 3);
	assert_int_equal(transcript_get(t, 3, &e), 0);
	assert_string_equal(e.text, "");
}

static void test_entry_cut(void **state)
{
	struct transcript *t = *state;
	struct tr_entry e;
	size_t n = RP_TRANSCRIPT_ENTRY_MAX, i;
	char *buf = malloc(n + 1);

	assert_non_null(buf);
	/* Exactly at the limit: kept whole. */
	memset(buf, 'a', n);
	assert_int_equal(transcript_add(t, T0, TR_RECV, false, buf, n), 0);
	assert_int_equal(transcript_get(t, 0, &e), 0);
	assert_int_equal(e.len, n);
	assert_int_equal(e.text[n - 1], 'a');

	/* One over: cut, "..." appended, total within the limit. */
	buf[n] = 'a';
	assert_int_equal(transcript_add(t, T0, TR_RECV, false, buf, n + 1), 1);
	assert_int_equal(transcript_get(t, 1, &e), 0);
	assert_int_equal(e.len, n);
	assert_int_equal(strlen(e.text), n);
	assert_memory_equal(e.text + n - 3, "...", 3);
	assert_int_equal(e.text[n - 4], 'a');

	/* Escapes are never cut in half. */
	memset(buf, 0x01, n);
	assert_int_equal(transcript_add(t, T0, TR_RECV, false, buf, n), 2);
	assert_int_equal(transcript_get(t, 2, &e), 0);
	assert_true(e.len <= RP_TRANSCRIPT_ENTRY_MAX);
	assert_memory_equal(e.text + e.len - 3, "...", 3);
	assert_int_equal((e.len - 3) % 4, 0);
	for (i = 0; i + 3 < e.len; i += 4)
		assert_memory_equal(e.text + i, "\\x01", 4);
	free(buf);
}

static size_t count_markers(const struct transcript *t)
{
	struct tr_entry e;
	size_t i, n = 0;

	for (i = 0; i < transcript_count(t); i++) {
		assert_int_equal(transcript_get(t, i, &e), 0);
		if (strcmp(e.text, "transcript truncated") == 0)
			n++;
	}
	return n;
}

static void test_truncation(void **state)
{
	struct transcript *t = transcript_new(2048);
	struct tr_entry e;
	char line[100];
	size_t n;
	int rc, i = 0;

	(void)state;
	assert_non_null(t);
	memset(line, 'x', sizeof(line));
	while ((rc = transcript_add(t, T0 + (uint64_t)i, TR_RECV, false, line, sizeof(line))) >=
	       0) {
		assert_int_equal(rc, i);
		i++;
		assert_true(i < 100);
	}
	assert_true(i > 5);
	assert_true(transcript_truncated(t));
	n = transcript_count(t);
	assert_int_equal(n, (size_t)i + 1);
	assert_int_equal(transcript_get(t, n - 1, &e), 0);
	assert_int_equal(e.dir, TR_ERROR);
	assert_string_equal(e.text, "transcript truncated");
	assert_int_equal(e.t_ms, T0 + (uint64_t)i);

	/* Later adds fail, even small ones, and add no second marker. */
	assert_int_equal(add_str(t, T0, TR_EVENT, false, "x"), -1);
	assert_int_equal(transcript_addf(t, T0, TR_EVENT, false, "%d", 1), -1);
	assert_int_equal(transcript_count(t), n);
	assert_int_equal(count_markers(t), 1);
	assert_true(transcript_bytes(t) <= 2048 + 128);
	transcript_free(&t);
}

static void test_default_budget(void **state)
{
	struct transcript *t = *state;
	char line[200];
	int i;

	memset(line, 'y', sizeof(line));
	for (i = 0; i < 100000; i++) {
		if (transcript_add(t, T0, TR_SENT, false, line, sizeof(line)) < 0)
			break;
	}
	assert_true(transcript_truncated(t));
	assert_int_equal(count_markers(t), 1);
	assert_true(transcript_bytes(t) <= RP_TRANSCRIPT_BYTES_MAX + 128);
	assert_true(transcript_bytes(t) > RP_TRANSCRIPT_BYTES_MAX / 2);
}

/* A typical dialog (150 lines of ~60 bytes) must stay well under 64 KiB. */
static void test_compact(void **state)
{
	struct transcript *t = *state;
	int i;

	for (i = 0; i < 150; i++)
		assert_int_equal(
		    transcript_addf(t, T0 + (uint64_t)i, TR_RECV, false,
		                    "250 2.1.5 Ok recipient number %03d of the test set", i),
		    i);
	assert_false(transcript_truncated(t));
	assert_true(transcript_bytes(t) < 32 * 1024);
}

static void test_addf(void **state)
{
	struct transcript *t = *state;
	struct tr_entry e;
	char big[700];

	assert_int_equal(
	    transcript_addf(t, T0, TR_EVENT, false, "Connected to %s:%d", "192.0.2.1", 25), 0);
	assert_int_equal(transcript_get(t, 0, &e), 0);
	assert_string_equal(e.text, "Connected to 192.0.2.1:25");

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(transcript_addf(t, T0, TR_EVENT, false, "<%s>", big), 1);
	assert_int_equal(transcript_get(t, 1, &e), 0);
	assert_int_equal(e.len, sizeof(big) + 1);
	assert_int_equal(e.text[0], '<');
	assert_int_equal(e.text[e.len - 1], '>');

	assert_int_equal(transcript_addf(t, T0, TR_EVENT, false, "bell\a"), 2);
	assert_int_equal(transcript_get(t, 2, &e), 0);
	assert_string_equal(e.text, "bell\\x07");
}

static void test_markers(void **state)
{
	struct tr_entry e = {.t_ms = 0, .text = "250 ok", .len = 6};

	(void)state;
	e.dir = TR_SENT;
	e.tls = false;
	assert_string_equal(transcript_marker(&e), " ->");
	e.tls = true;
	assert_string_equal(transcript_marker(&e), " ~>");
	e.dir = TR_RECV;
	e.tls = false;
	assert_string_equal(transcript_marker(&e), "<- ");
	e.tls = true;
	assert_string_equal(transcript_marker(&e), "<~ ");
	e.text = "451 later";
	e.tls = false;
	assert_string_equal(transcript_marker(&e), "<**");
	e.text = "554 no";
	e.tls = true;
	assert_string_equal(transcript_marker(&e), "<~*");
	e.dir = TR_EVENT;
	assert_string_equal(transcript_marker(&e), "===");
	e.dir = TR_ERROR;
	assert_string_equal(transcript_marker(&e), "***");
	assert_int_equal(strlen(transcript_marker(NULL)), 3);

	assert_string_equal(tr_dir_name(TR_SENT), "sent");
	assert_string_equal(tr_dir_name(TR_RECV), "recv");
	assert_string_equal(tr_dir_name(TR_EVENT), "event");
	assert_string_equal(tr_dir_name(TR_ERROR), "error");
	assert_non_null(tr_dir_name(TR_DIR_COUNT));
}

static void fill_sample(struct transcript *t)
{
	assert_int_equal(add_str(t, T0, TR_EVENT, false, "Connected to 192.0.2.1:25"), 0);
	assert_int_equal(add_str(t, T0 + 12, TR_RECV, false, "220 mx.example.com ESMTP\r\n"), 1);
	assert_int_equal(add_str(t, T0 + 13, TR_SENT, false, "EHLO probe.example\r\n"), 2);
	assert_int_equal(add_str(t, T0 + 1500, TR_RECV, false, "550 5.7.1 Relaying denied"), 3);
	assert_int_equal(add_str(t, T0 + 61234, TR_SENT, true, "QUIT"), 4);
	assert_int_equal(add_str(t, T0 + 61240, TR_RECV, true, "421 bye"), 5);
	assert_int_equal(add_str(t, T0 + 61240, TR_RECV, true, "250 ok"), 6);
	assert_int_equal(add_str(t, T0 + 100000, TR_ERROR, false, "timeout"), 7);
}

static void test_render_text(void **state)
{
	struct transcript *t = *state;
	static const char want[] = "   0.000 === Connected to 192.0.2.1:25\n"
	                           "   0.012 <-  220 mx.example.com ESMTP\n"
	                           "   0.013  -> EHLO probe.example\n"
	                           "   1.500 <** 550 5.7.1 Relaying denied\n"
	                           "  61.234  ~> QUIT\n"
	                           "  61.240 <~* 421 bye\n"
	                           "  61.240 <~  250 ok\n"
	                           " 100.000 *** timeout\n";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fill_sample(t);
	assert_int_equal(transcript_render_text(t, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, want);
	assert_int_equal(len, sizeof(want) - 1);
	free(buf);
}

static void test_render_empty_and_errors(void **state)
{
	struct transcript *t = *state;
	char *buf = NULL;
	size_t len = 0;
	char ro[8] = "";
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(transcript_render_text(t, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(len, 0);
	free(buf);

	assert_int_equal(transcript_render_text(t, NULL), -1);
	fill_sample(t);
	f = fmemopen(ro, sizeof(ro), "r"); /* writes fail */
	assert_non_null(f);
	assert_int_equal(transcript_render_text(t, f), -1);
	fclose(f);
}

/* The fast writer and the jansson tree give the same bytes, for hostile text. */
static void test_write_json_matches_tree(void **state)
{
	struct transcript *t = transcript_new(0);
	char *a = NULL, *b;
	size_t alen = 0;
	FILE *f;
	json_t *j;

	transcript_add(t, 1000, TR_RECV, false, "250 \"quoted\" \\ back\x01\xff", 22);
	transcript_add(t, 1001, TR_SENT, true, "MAIL FROM:<\"a b\"@example.net>", 30);
	transcript_addf(t, 1002, TR_EVENT, false, "Connected to %s", "192.0.2.1:25");
	f = open_memstream(&a, &alen);
	assert_int_equal(transcript_write_json(t, f), 0);
	fclose(f);
	j = transcript_to_json(t);
	b = json_dumps(j, JSON_COMPACT);
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(j);
	/* the empty transcript too */
	transcript_free(&t);
	t = transcript_new(0);
	f = open_memstream(&a, &alen);
	transcript_write_json(t, f);
	fclose(f);
	assert_string_equal(a, "[]");
	free(a);
	transcript_free(&t);
}

static void test_json(void **state)
{
	struct transcript *t = *state;
	json_t *j, *o;
	char *s;

	j = transcript_to_json(t);
	assert_non_null(j);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);

	fill_sample(t);
	j = transcript_to_json(t);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 8);
	o = json_array_get(j, 3);
	assert_true(json_is_object(o));
	assert_int_equal(json_object_size(o), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "i")), 3);
	assert_true(json_integer_value(json_object_get(o, "t")) == (json_int_t)(T0 + 1500));
	assert_string_equal(json_string_value(json_object_get(o, "dir")), "recv");
	assert_true(json_is_false(json_object_get(o, "tls")));
	assert_string_equal(json_string_value(json_object_get(o, "text")),
	                    "550 5.7.1 Relaying denied");
	o = json_array_get(j, 4);
	assert_true(json_is_true(json_object_get(o, "tls")));
	assert_string_equal(json_string_value(json_object_get(o, "dir")), "sent");
	json_decref(j);

	/* Exact serialisation of one entry. */
	transcript_free(&t);
	t = transcript_new(0);
	*state = t;
	assert_non_null(t);
	assert_int_equal(add_str(t, 1000, TR_RECV, true, "250 \"ok\"\x01"), 0);
	j = transcript_to_json(t);
	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(s);
	assert_string_equal(s, "[{\"i\":0,\"t\":1000,\"dir\":\"recv\",\"tls\":true,\"text\":\"250 "
	                       "\\\"ok\\\"\\\\x01\"}]");
	free(s);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_free),
	    cmocka_unit_test_setup_teardown(test_indices_and_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_entry_cut, setup, teardown),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test_setup_teardown(test_default_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_addf, setup, teardown),
	    cmocka_unit_test(test_markers),
	    cmocka_unit_test_setup_teardown(test_render_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_render_empty_and_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	    cmocka_unit_test(test_write_json_matches_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
