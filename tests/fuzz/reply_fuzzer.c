/* reply_fuzzer.c - libFuzzer harness for the SMTP reply parser and the
 * transcript. Splits the input on LF (CR stripped), feeds every line to the
 * parser and abort()s when a completed reply breaks an invariant; then stores
 * the raw input as one transcript entry and renders it as text and JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"
#include "transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool esc_ok(const struct smtp_reply *r)
{
	size_t n = strnlen(r->esc, sizeof(r->esc));

	if (n == sizeof(r->esc))
		return false; /* not terminated */
	if (n == 0)
		return true;
	/* "c.s.d" at the start of the text, class matching the code. */
	return n >= 5 && r->esc[0] == (char)('0' + r->code / 100) && r->esc[1] == '.' &&
	       strncmp(r->text, r->esc, n) == 0 &&
	       (r->text[n] == '\0' || r->text[n] == ' ' || r->text[n] == '\n');
}

static void check_reply(const struct smtp_reply *r)
{
	size_t i;
	unsigned nl = 0;

	if (r->code < 200 || r->code > 559 || (r->code / 10) % 10 > 5)
		abort();
	if (r->nlines < 1 || r->nlines > RP_SMTP_REPLY_LINES_MAX)
		abort();
	if (r->len > RP_SMTP_REPLY_BYTES_MAX || r->len != strlen(r->text))
		abort();
	for (i = 0; i < r->len; i++) {
		unsigned char c = (unsigned char)r->text[i];

		if (c == '\n')
			nl++;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			abort();
	}
	if (nl + 1 != r->nlines)
		abort();
	if (!esc_ok(r))
		abort();
}

static void fuzz_parser(const uint8_t *data, size_t size)
{
	static struct smtp_reply_parser p; /* 8 KiB: keep it off the stack */
	const char *s = (const char *)data;
	size_t start = 0, i;

	smtp_reply_parser_reset(&p);
	for (i = 0; i <= size; i++) {
		enum smtp_reply_err err = SMTP_REPLY_OK;
		enum smtp_parse_status st;
		size_t len;

		if (i < size && s[i] != '\n')
			continue;
		len = i - start;
		if (len > 0 && s[start + len - 1] == '\r')
			len--;
		if (i == size && len == 0)
			break; /* no trailing empty line */
		st = smtp_reply_parser_line(&p, s + start, len, &err);
		if (st == SMTP_PARSE_DONE) {
			if (err != SMTP_REPLY_OK || p.in_reply)
				abort();
			check_reply(&p.r);
		} else if (st == SMTP_PARSE_ERROR) {
			if (err == SMTP_REPLY_OK || err >= SMTP_REPLY_ERR_COUNT || p.in_reply)
				abort();
			if (smtp_reply_err_name(err) == NULL)
				abort();
		} else if (st != SMTP_PARSE_MORE || !p.in_reply) {
			abort();
		}
		start = i + 1;
	}
}

static void fuzz_transcript(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct transcript *t = transcript_new(4096);
	struct tr_entry e;
	json_t *j;
	char *s;
	size_t i;

	if (t == NULL)
		return;
	if (devnull == NULL)
		devnull = fopen("/dev/null", "w");
	transcript_add(t, 1000, TR_EVENT, false, "start", 5);
	transcript_add(t, 1012, TR_RECV, size > 0 && (data[0] & 1), (const char *)data, size);
	transcript_add(t, 1013, TR_SENT, true, (const char *)data, size);
	for (i = 0; i < transcript_count(t); i++) {
		if (transcript_get(t, i, &e) != 0 || e.len != strlen(e.text))
			abort();
		while (*e.text != '\0') {
			if (*e.text < 0x20 || *e.text > 0x7e)
				abort();
			e.text++;
		}
	}
	if (devnull != NULL)
		transcript_render_text(t, devnull);
	j = transcript_to_json(t);
	s = json_dumps(j, JSON_COMPACT);
	free(s);
	json_decref(j);
	transcript_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parser(data, size);
	fuzz_transcript(data, size);
	return 0;
}
