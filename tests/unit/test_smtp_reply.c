/* test_smtp_reply.c - unit tests for the SMTP reply parser: framing of single
 * and multi-line replies, code and separator syntax, enhanced status codes,
 * control bytes, every size limit at and past its edge, reset after error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_reply.h"

static int setup(void **state)
{
	struct smtp_reply_parser *p = malloc(sizeof(*p));

	if (p == NULL)
		return -1;
	smtp_reply_parser_reset(p);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Feed a NUL-terminated line. */
static enum smtp_parse_status feed(struct smtp_reply_parser *p, const char *s,
                                   enum smtp_reply_err *err)
{
	return smtp_reply_parser_line(p, s, strlen(s), err);
}

static void expect_error(struct smtp_reply_parser *p, const char *line, size_t len,
                         enum smtp_reply_err want)
{
	enum smtp_reply_err err = SMTP_REPLY_OK;

	assert_int_equal(smtp_reply_parser_line(p, line, len, &err), SMTP_PARSE_ERROR);
	assert_int_equal(err, want);
	assert_false(p->in_reply);
}

static void test_single_line(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err = SMTP_REPLY_E_SYNTAX;

	assert_int_equal(feed(p, "220 mx.example.com ESMTP Postfix", &err), SMTP_PARSE_DONE);
	assert_int_equal(err, SMTP_REPLY_OK);
	assert_int_equal(p->r.code, 220);
	assert_int_equal(p->r.nlines, 1);
	assert_string_equal(p->r.text, "mx.example.com ESMTP Postfix");
	assert_int_equal(p->r.len, strlen("mx.example.com ESMTP Postfix"));
	assert_string_equal(p->r.esc, "");
}

static void test_multi_line(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;

	assert_int_equal(feed(p, "250-mx.example.com", &err), SMTP_PARSE_MORE);
	assert_true(p->in_reply);
	assert_int_equal(feed(p, "250-PIPELINING", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "250-SIZE 10240000", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "250 STARTTLS", &err), SMTP_PARSE_DONE);
	assert_false(p->in_reply);
	assert_int_equal(p->r.code, 250);
	assert_int_equal(p->r.nlines, 4);
	assert_string_equal(p->r.text, "mx.example.com\nPIPELINING\nSIZE 10240000\nSTARTTLS");
	assert_int_equal(p->r.len, strlen(p->r.text));

	/* The next line starts a fresh reply. */
	assert_int_equal(feed(p, "221 2.0.0 Bye", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.code, 221);
	assert_int_equal(p->r.nlines, 1);
	assert_string_equal(p->r.text, "2.0.0 Bye");
	assert_string_equal(p->r.esc, "2.0.0");
}

static void test_bare_code(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;

	assert_int_equal(feed(p, "250", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.code, 250);
	assert_int_equal(p->r.nlines, 1);
	assert_int_equal(p->r.len, 0);
	assert_string_equal(p->r.text, "");

	assert_int_equal(feed(p, "354 ", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.code, 354);
	assert_string_equal(p->r.text, "");

	/* Empty continuation lines and a bare final line. */
	assert_int_equal(feed(p, "250-", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "250-x", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "250", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.nlines, 3);
	assert_string_equal(p->r.text, "\nx\n");
}

static void test_enhanced_codes(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;

	assert_int_equal(feed(p, "550 5.7.1 Relaying denied", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "5.7.1");
	assert_string_equal(p->r.text, "5.7.1 Relaying denied");

	assert_int_equal(feed(p, "451 4.7.1 Greylisted", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "4.7.1");

	assert_int_equal(feed(p, "250 2.1.5", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "2.1.5");

	assert_int_equal(feed(p, "554 5.123.456 max widths", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "5.123.456");

	/* Class mismatch: not kept. */
	assert_int_equal(feed(p, "250 5.7.1 x", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");
	assert_string_equal(p->r.text, "5.7.1 x");

	/* Absent or malformed. */
	assert_int_equal(feed(p, "250 OK", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");
	assert_int_equal(feed(p, "550 5.7.1234 too long detail", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");
	assert_int_equal(feed(p, "550 5.1234.1 too long subject", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");
	assert_int_equal(feed(p, "550 5.7.1x glued", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");
	assert_int_equal(feed(p, "550 5.7. missing", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");
	assert_int_equal(feed(p, "550 5..1 missing", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");
	assert_int_equal(feed(p, "550 5.7.1\tTAB is not a space", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");
	assert_int_equal(feed(p, "550 3.7.1 class 3 never valid", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");

	/* Taken from the first line only. */
	assert_int_equal(feed(p, "550-Relaying denied", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "550 5.7.1 see policy", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "");

	/* Multi-line with the code on the first line. */
	assert_int_equal(feed(p, "550-5.7.1 Relaying denied", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "550 5.7.1 see policy", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.esc, "5.7.1");
}

static void test_bad_codes(void **state)
{
	struct smtp_reply_parser *p = *state;

	expect_error(p, "199 x", 5, SMTP_REPLY_E_CODE);
	expect_error(p, "199", 3, SMTP_REPLY_E_CODE);
	expect_error(p, "600", 3, SMTP_REPLY_E_CODE);
	expect_error(p, "099 x", 5, SMTP_REPLY_E_CODE);
	expect_error(p, "260 x", 5, SMTP_REPLY_E_CODE);
	expect_error(p, "2x0", 3, SMTP_REPLY_E_SYNTAX);
	expect_error(p, "25", 2, SMTP_REPLY_E_SYNTAX);
	expect_error(p, "", 0, SMTP_REPLY_E_SYNTAX);
	expect_error(p, " 250 x", 6, SMTP_REPLY_E_SYNTAX);
	expect_error(p, "hello", 5, SMTP_REPLY_E_SYNTAX);
	expect_error(p, "-250", 4, SMTP_REPLY_E_SYNTAX);
	expect_error(p, NULL, 3, SMTP_REPLY_E_SYNTAX);
}

static void test_code_edges_ok(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;

	assert_int_equal(feed(p, "200 lowest", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.code, 200);
	assert_int_equal(feed(p, "559 highest", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.code, 559);
}

static void test_bad_separator(void **state)
{
	struct smtp_reply_parser *p = *state;

	expect_error(p, "250x", 4, SMTP_REPLY_E_SYNTAX);
	expect_error(p, "250\tOK", 6, SMTP_REPLY_E_SYNTAX);
	expect_error(p, "2500 OK", 7, SMTP_REPLY_E_SYNTAX);
	expect_error(p, "250_OK", 6, SMTP_REPLY_E_SYNTAX);
}

static void test_control_chars(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;
	static const char nul[] = "250 a\0b";
	static const char cr[] = "250 a\rb";

	expect_error(p, nul, sizeof(nul) - 1, SMTP_REPLY_E_CHAR);
	expect_error(p, cr, sizeof(cr) - 1, SMTP_REPLY_E_CHAR);
	expect_error(p, "250 \x1b[31mred", 12, SMTP_REPLY_E_CHAR);
	expect_error(p, "250 del\x7f", 8, SMTP_REPLY_E_CHAR);
	expect_error(p, "250 lf\nx", 8, SMTP_REPLY_E_CHAR);

	/* TAB is allowed in the text. */
	assert_int_equal(feed(p, "250 a\tb", &err), SMTP_PARSE_DONE);
	assert_string_equal(p->r.text, "a\tb");
}

static void test_8bit_kept(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;
	const char *utf8 = "220 m\xc3\xa9l.example ESMTP \xff";

	assert_int_equal(feed(p, utf8, &err), SMTP_PARSE_DONE);
	assert_int_equal(err, SMTP_REPLY_OK);
	assert_string_equal(p->r.text, utf8 + 4);
	assert_int_equal(p->r.len, strlen(utf8) - 4);
}

static void test_line_length(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;
	char *line = malloc(RP_SMTP_LINE_MAX + 2);

	assert_non_null(line);
	memcpy(line, "250 ", 4);
	memset(line + 4, 'a', RP_SMTP_LINE_MAX + 2 - 4);
	assert_int_equal(smtp_reply_parser_line(p, line, RP_SMTP_LINE_MAX, &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.len, RP_SMTP_LINE_MAX - 4);
	assert_int_equal(strlen(p->r.text), RP_SMTP_LINE_MAX - 4);
	expect_error(p, line, RP_SMTP_LINE_MAX + 1, SMTP_REPLY_E_LINE_LONG);
	free(line);
}

static void test_too_many_lines(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;
	unsigned i;

	for (i = 0; i < RP_SMTP_REPLY_LINES_MAX - 1; i++)
		assert_int_equal(feed(p, "250-x", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "250 last", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.nlines, RP_SMTP_REPLY_LINES_MAX);

	for (i = 0; i < RP_SMTP_REPLY_LINES_MAX; i++)
		assert_int_equal(feed(p, "250-x", &err), SMTP_PARSE_MORE);
	expect_error(p, "250-x", 5, SMTP_REPLY_E_TOO_MANY);
	/* Same when the line past the limit would end the reply. */
	for (i = 0; i < RP_SMTP_REPLY_LINES_MAX; i++)
		assert_int_equal(feed(p, "250-x", &err), SMTP_PARSE_MORE);
	expect_error(p, "250 x", 5, SMTP_REPLY_E_TOO_MANY);
}

static void test_too_big(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;
	char line[1004 + 1];
	size_t total = 0;
	unsigned i;

	/* 8 lines of "250-" + 1000 bytes: 8 * 1000 + 7 newlines = 8007. */
	memcpy(line, "250-", 4);
	memset(line + 4, 'b', 1000);
	line[1004] = '\0';
	for (i = 0; i < 8; i++) {
		assert_int_equal(feed(p, line, &err), SMTP_PARSE_MORE);
		total += 1000 + (i > 0);
	}
	assert_int_equal(p->r.len, total);
	/* Exactly up to RP_SMTP_REPLY_BYTES_MAX: newline + rest. */
	{
		size_t rest = RP_SMTP_REPLY_BYTES_MAX - total - 1;
		char *last = malloc(4 + rest + 2);

		assert_non_null(last);
		memcpy(last, "250 ", 4);
		memset(last + 4, 'c', rest + 1);
		assert_int_equal(smtp_reply_parser_line(p, last, 4 + rest, &err), SMTP_PARSE_DONE);
		assert_int_equal(p->r.len, RP_SMTP_REPLY_BYTES_MAX);
		assert_int_equal(strlen(p->r.text), RP_SMTP_REPLY_BYTES_MAX);

		/* One byte more fails. */
		for (i = 0; i < 8; i++)
			assert_int_equal(feed(p, line, &err), SMTP_PARSE_MORE);
		expect_error(p, last, 4 + rest + 1, SMTP_REPLY_E_TOO_BIG);
		free(last);
	}
}

static void test_mismatch_and_reset(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;

	assert_int_equal(feed(p, "250-first", &err), SMTP_PARSE_MORE);
	expect_error(p, "251-second", 10, SMTP_REPLY_E_MISMATCH);
	/* After the error a new reply starts, with nothing left over. */
	assert_int_equal(feed(p, "354 go ahead", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.code, 354);
	assert_int_equal(p->r.nlines, 1);
	assert_string_equal(p->r.text, "go ahead");

	/* Reset after a syntax error in the middle of a multi-line reply. */
	assert_int_equal(feed(p, "250-a", &err), SMTP_PARSE_MORE);
	expect_error(p, "garbage", 7, SMTP_REPLY_E_SYNTAX);
	assert_int_equal(feed(p, "550 5.1.1 no", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.code, 550);
	assert_string_equal(p->r.text, "5.1.1 no");
	assert_string_equal(p->r.esc, "5.1.1");

	/* Explicit reset drops an open reply. */
	assert_int_equal(feed(p, "250-a", &err), SMTP_PARSE_MORE);
	smtp_reply_parser_reset(p);
	assert_false(p->in_reply);
	assert_int_equal(feed(p, "221 bye", &err), SMTP_PARSE_DONE);
	assert_int_equal(p->r.nlines, 1);
	assert_string_equal(p->r.text, "bye");
}

static void test_err_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_reply_err_name(SMTP_REPLY_E_SYNTAX), "syntax");
	assert_string_equal(smtp_reply_err_name(SMTP_REPLY_E_CODE), "bad-code");
	assert_string_equal(smtp_reply_err_name(SMTP_REPLY_E_MISMATCH), "code-mismatch");
	assert_string_equal(smtp_reply_err_name(SMTP_REPLY_E_CHAR), "control-char");
	assert_string_equal(smtp_reply_err_name(SMTP_REPLY_E_LINE_LONG), "line-too-long");
	assert_string_equal(smtp_reply_err_name(SMTP_REPLY_E_TOO_MANY), "too-many-lines");
	assert_string_equal(smtp_reply_err_name(SMTP_REPLY_E_TOO_BIG), "reply-too-big");
	assert_non_null(smtp_reply_err_name(SMTP_REPLY_ERR_COUNT));
	assert_non_null(smtp_reply_err_name((enum smtp_reply_err) - 1));
}

static void test_first_line(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;
	char buf[64];
	char tiny[4];

	assert_int_equal(feed(p, "250-mx.example.com Hello", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "250 SIZE", &err), SMTP_PARSE_DONE);
	smtp_reply_first_line(&p->r, buf, sizeof(buf));
	assert_string_equal(buf, "mx.example.com Hello");
	smtp_reply_first_line(&p->r, tiny, sizeof(tiny));
	assert_string_equal(tiny, "mx.");
	smtp_reply_first_line(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	smtp_reply_first_line(&p->r, buf, 0); /* must not write */
}

static void test_contains(void **state)
{
	struct smtp_reply_parser *p = *state;
	enum smtp_reply_err err;

	assert_int_equal(feed(p, "250-mx.example.com", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "250-PIPELINING", &err), SMTP_PARSE_MORE);
	assert_int_equal(feed(p, "250 StartTLS", &err), SMTP_PARSE_DONE);
	assert_true(smtp_reply_contains(&p->r, "starttls"));
	assert_true(smtp_reply_contains(&p->r, "STARTTLS"));
	assert_true(smtp_reply_contains(&p->r, "pipelining"));
	assert_true(smtp_reply_contains(&p->r, "MX.EXAMPLE"));
	assert_false(smtp_reply_contains(&p->r, "8BITMIME"));
	/* No match across the line break. */
	assert_false(smtp_reply_contains(&p->r, "PIPELINING StartTLS"));
	assert_true(smtp_reply_contains(&p->r, ""));
	assert_false(smtp_reply_contains(&p->r, NULL));
	assert_false(smtp_reply_contains(NULL, "x"));
	assert_false(smtp_reply_contains(&p->r, "StartTLS and more text than the reply has"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_single_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multi_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bare_code, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enhanced_codes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_codes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_code_edges_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_separator, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_control_chars, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_8bit_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_line_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mismatch_and_reset, setup, teardown),
	    cmocka_unit_test(test_err_names),
	    cmocka_unit_test_setup_teardown(test_first_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_contains, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
