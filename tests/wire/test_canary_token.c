/* test_canary_token.c - the canary's tokens: round trip, every single
 * character changed, truncated and extended tokens, another key, another
 * order's token, the bounce bit, case, and the key file's creation and
 * checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canary_token.h"

static uint8_t key[CANARY_KEY_LEN], key2[CANARY_KEY_LEN];

static int setup(void **state)
{
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	return 0;
}

static void test_round_trip(void **state)
{
	struct canary_ref r = {.order_ref = CANARY_ORDER_REF_MAX, .target = 65535, .test = 63};
	struct canary_ref b = {.order_ref = 1, .target = 0, .test = 0, .bounce = true};
	struct canary_ref out;
	char l[CANARY_LOCAL_MAX + 1], lb[CANARY_LOCAL_MAX + 1];

	assert_int_equal(canary_token_make(key, &r, l, sizeof(l)), 0);
	assert_int_equal(strlen(l), 3 + CANARY_TOKEN_CHARS);
	assert_memory_equal(l, "rp-", 3);
	assert_int_equal(canary_token_parse(key, l, strlen(l), &out), 0);
	assert_true(out.order_ref == r.order_ref && out.target == 65535 && out.test == 63 &&
	            !out.bounce);
	assert_int_equal(canary_token_make(key, &b, lb, sizeof(lb)), 0);
	assert_memory_equal(lb, "rp-b-", 5);
	assert_int_equal(canary_token_parse(key, lb, strlen(lb), &out), 0);
	assert_true(out.order_ref == 1 && out.bounce);
	/* relays may upper-case a local part */
	for (char *p = lb; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	assert_int_equal(canary_token_parse(key, lb, strlen(lb), &out), 0);
	assert_true(canary_token_syntax(l, strlen(l)));
	/* out of range */
	r.test = 64;
	assert_int_equal(canary_token_make(key, &r, l, sizeof(l)), -1);
	r.test = 1;
	r.order_ref = CANARY_ORDER_REF_MAX + 1;
	assert_int_equal(canary_token_make(key, &r, l, sizeof(l)), -1);
	r.order_ref = 1;
	assert_int_equal(canary_token_make(key, &r, l, CANARY_LOCAL_MAX), -1);
}

static void test_forged(void **state)
{
	struct canary_ref r = {.order_ref = 4242, .target = 7, .test = 3}, out;
	char l[CANARY_LOCAL_MAX + 1], m[CANARY_LOCAL_MAX + 8];
	size_t n;

	assert_int_equal(canary_token_make(key, &r, l, sizeof(l)), 0);
	n = strlen(l);
	/* every character of the token changed to every other base32 digit */
	for (size_t i = 3; i < n; i++) {
		for (const char *c = "abcdefghijklmnopqrstuvwxyz234567"; *c; c++) {
			if (*c == l[i])
				continue;
			memcpy(m, l, n + 1);
			m[i] = *c;
			assert_int_equal(canary_token_parse(key, m, n, &out), -1);
		}
	}
	/* another key, truncated, extended, bounce prefix on a recipient token */
	assert_int_equal(canary_token_parse(key2, l, n, &out), -1);
	assert_int_equal(canary_token_parse(key, l, n - 1, &out), -1);
	snprintf(m, sizeof(m), "%sa", l);
	assert_int_equal(canary_token_parse(key, m, strlen(m), &out), -1);
	snprintf(m, sizeof(m), "rp-b-%s", l + 3);
	assert_int_equal(canary_token_parse(key, m, strlen(m), &out), -1);
	assert_false(canary_token_syntax("rp-hello", 8));
	assert_false(canary_token_syntax("", 0));
	/* another order's token is another token, and each names its own order */
	{
		struct canary_ref r2 = r;
		char l2[CANARY_LOCAL_MAX + 1];

		r2.order_ref = 4243;
		assert_int_equal(canary_token_make(key, &r2, l2, sizeof(l2)), 0);
		assert_string_not_equal(l, l2);
		assert_int_equal(canary_token_parse(key, l2, strlen(l2), &out), 0);
		assert_true(out.order_ref == 4243 && out.target == 7 && out.test == 3);
	}
}

static void test_key_file(void **state)
{
	char dir[] = "/tmp/rp-canary-key.XXXXXX", path[64], err[256];
	uint8_t k1[CANARY_KEY_LEN], k2[CANARY_KEY_LEN];
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/canary.key", dir);
	assert_int_equal(canary_key_load_or_create(path, k1, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(canary_key_load_or_create(path, k2, err, sizeof(err)), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	chmod(path, 0640);
	assert_int_equal(canary_key_load_or_create(path, k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0600"));
	chmod(path, 0600);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not hex\n", f);
	fclose(f);
	assert_int_equal(canary_key_load_or_create(path, k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a canary key"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_forged),
	    cmocka_unit_test(test_key_file),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
