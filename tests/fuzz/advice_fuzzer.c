/* advice_fuzzer.c - libFuzzer harness for common/advice.c's parser: parses
 * the input (in a buffer of exactly its size) and abort()s when an invariant
 * breaks: a refusal without a "fuzz.txt:LINE: " error, an accepted entry with
 * a summary or text over its bound or with a byte outside printable ASCII
 * (the text's own '\n' aside), or a second parse into a fresh db that
 * disagrees with the first. Corpus: tests/fuzz/corpus/advice. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "rp_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t max, bool newlines)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		abort();
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) &&
		    !(newlines && s[i] == '\n'))
			abort();
}

/* Entries found for every software and finding, checked; their count. */
static size_t walk(const struct advice_db *db)
{
	size_t total = 0;

	for (int sw = 0; sw < FP_SW_COUNT; sw++)
		for (int f = 0; f < ADV_FINDING_COUNT; f++) {
			const struct advice_entry *out[4];
			struct advice_query q = {(enum fp_software)sw, DV_OPEN, f == ADV_OPEN_RELAY,
			                         f == ADV_ADDRESS_FORM,
			                         f == ADV_DISAGREE ? ADV_VANTAGE_DISAGREE
			                                           : ADV_VANTAGE_SINGLE};
			size_t n;
			if (f == ADV_NOT_DELIVERED)
				q.verdict = DV_ACCEPTED_NOT_DELIVERED;
			n = advice_select(db, &q, out, 4);
			if (n > 1)
				abort();
			for (size_t i = 0; i < n; i++) {
				check_str(out[i]->summary, RP_ADVICE_SUMMARY_MAX, false);
				check_str(out[i]->text, RP_ADVICE_TEXT_MAX, true);
				total += strlen(out[i]->summary) + strlen(out[i]->text);
			}
		}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), err[256], err2[256];
	struct advice_db *a = advice_db_new(), *b = advice_db_new();
	int rc, rc2;

	if (buf == NULL || a == NULL || b == NULL)
		abort();
	memcpy(buf, data, size);
	err[0] = '\0';
	rc = advice_db_parse(a, "fuzz.txt", buf, size, err, sizeof(err));
	rc2 = advice_db_parse(b, "fuzz.txt", buf, size, err2, sizeof(err2));
	if (rc != rc2 || (rc < 0 && strcmp(err, err2) != 0))
		abort();
	if (rc < 0 && strncmp(err, "fuzz.txt:", 9) != 0)
		abort();
	if (walk(a) != walk(b))
		abort();
	if (rc < 0 && walk(a) != 0)
		abort();
	advice_db_free(&a);
	advice_db_free(&b);
	free(buf);
	return 0;
}
