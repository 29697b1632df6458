/* test_keys.c - wire/keys.c: key generation, key files (round trip, modes,
 * refusal to overwrite, group-readable or foreign-owned secrets refused), strict parsing with
 * errors that name file:line and key, fingerprint format and key id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "keys.h"
#include "rp_limits.h"

struct fx {
	char dir[64];
	char sec[128];
	char pub[128];
	struct keys *k;
};

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[512] = "";

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/rp_keys_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->k = keys_generate(KEYS_ROLE_AGENT, "agent-1.fra");
	assert_non_null(fx->k);
	if (keys_save(fx->k, fx->dir, err, sizeof(err)) != 0)
		fail_msg("keys_save: %s", err);
	snprintf(fx->sec, sizeof(fx->sec), "%s/agent-1.fra.secret", fx->dir);
	snprintf(fx->pub, sizeof(fx->pub), "%s/agent-1.fra.pub", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	keys_free(&fx->k);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 8192);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 8191, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void append(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	assert_true(*o + n < cap);
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
}

/* Copy of text with the line starting with prefix replaced by repl (NULL:
 * removed); fails the test if no line starts with prefix. */
static char *edit_line(const char *text, const char *prefix, const char *repl)
{
	const size_t cap = 16384;
	char *out = calloc(1, cap);
	const char *p = text;
	bool found = false;
	size_t o = 0;

	assert_non_null(out);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (!found && strncmp(p, prefix, strlen(prefix)) == 0) {
			found = true;
			if (repl != NULL) {
				append(out, cap, &o, repl, strlen(repl));
				append(out, cap, &o, "\n", 1);
			}
		} else {
			append(out, cap, &o, p, len);
		}
		p += len;
	}
	if (!found)
		fail_msg("no line starts with %s", prefix);
	return out;
}

/* Writes an edited copy of src to dst and requires the load to fail with
 * every needle in the message. */
static void load_bad(const char *dst, const char *text, bool secret, const char *n1, const char *n2)
{
	char err[512] = "";
	struct keys *k;

	spit(dst, text, secret ? 0600 : 0644);
	k = secret ? keys_load_secret(dst, err, sizeof(err))
	           : keys_load_public(dst, err, sizeof(err));
	if (k != NULL) {
		keys_free(&k);
		fail_msg("accepted a bad key file (expected %s)", n1);
	}
	if (strstr(err, n1) == NULL || (n2 != NULL && strstr(err, n2) == NULL))
		fail_msg("error lacks \"%s\"/\"%s\": %s", n1, n2 ? n2 : "", err);
}

static void test_generate(void **state)
{
	struct fx *fx = *state;
	struct keys *k = fx->k;
	uint8_t h[32];
	char derived[41];
	const char *fp = keys_fingerprint(k);

	assert_int_equal(keys_role(k), KEYS_ROLE_AGENT);
	assert_string_equal(keys_name(k), "agent-1.fra");
	assert_true(keys_has_secret(k));
	assert_int_equal(strlen(keys_curve_public(k)), 40);
	assert_int_equal(strlen(keys_curve_secret(k)), 40);
	assert_int_equal(zmq_curve_public(derived, keys_curve_secret(k)), 0);
	assert_string_equal(derived, keys_curve_public(k));
	/* Key id: first 8 bytes of SHA-256 of the Ed25519 public key. */
	crypto_hash_sha256(h, keys_ed25519_public(k), 32);
	assert_memory_equal(keys_key_id(k), h, KEYS_KEY_ID_LEN);
	/* Fingerprint: xxxx:xxxx:xxxx:xxxx of SHA-256(ed pk || curve pk raw). */
	assert_int_equal(strlen(fp), 19);
	for (int i = 0; i < 19; i++) {
		if (i % 5 == 4)
			assert_int_equal(fp[i], ':');
		else
			assert_non_null(strchr("0123456789abcdef", fp[i]));
	}
	{
		uint8_t both[64], raw[32];
		char hex[17];
		assert_non_null(zmq_z85_decode(raw, keys_curve_public(k)));
		memcpy(both, keys_ed25519_public(k), 32);
		memcpy(both + 32, raw, 32);
		crypto_hash_sha256(h, both, 64);
		sodium_bin2hex(hex, sizeof(hex), h, 8);
		assert_memory_equal(fp, hex, 4);
		assert_memory_equal(fp + 5, hex + 4, 4);
		assert_memory_equal(fp + 15, hex + 12, 4);
	}
	/* Two generations differ. */
	{
		struct keys *k2 = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
		assert_non_null(k2);
		assert_string_not_equal(keys_fingerprint(k2), fp);
		assert_memory_not_equal(keys_ed25519_public(k2), keys_ed25519_public(k), 32);
		keys_free(&k2);
	}
}

static void test_names(void **state)
{
	char long_name[RP_WIRE_ID_MAX + 2];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_true(keys_name_valid("agent_1.example-net"));
	assert_false(keys_name_valid(""));
	assert_false(keys_name_valid(".hidden"));
	assert_false(keys_name_valid("-opt"));
	assert_false(keys_name_valid("a/b"));
	assert_false(keys_name_valid("a b"));
	assert_false(keys_name_valid(long_name));
	long_name[RP_WIRE_ID_MAX] = '\0';
	assert_true(keys_name_valid(long_name));
	assert_null(keys_generate(KEYS_ROLE_AGENT, "../evil"));
	assert_null(keys_generate(KEYS_ROLE_COUNT, "ok"));
	assert_int_equal(keys_role_from_name("controller"), KEYS_ROLE_CONTROLLER);
	assert_int_equal(keys_role_from_name("agent"), KEYS_ROLE_AGENT);
	assert_int_equal(keys_role_from_name("root"), -1);
}

static void test_round_trip(void **state)
{
	struct fx *fx = *state;
	char err[512] = "";
	struct keys *s, *p;
	struct stat st;

	assert_int_equal(stat(fx->sec, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(fx->pub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	s = keys_load_secret(fx->sec, err, sizeof(err));
	if (s == NULL)
		fail_msg("load secret: %s", err);
	assert_int_equal(keys_role(s), KEYS_ROLE_AGENT);
	assert_string_equal(keys_name(s), keys_name(fx->k));
	assert_string_equal(keys_curve_public(s), keys_curve_public(fx->k));
	assert_string_equal(keys_curve_secret(s), keys_curve_secret(fx->k));
	assert_memory_equal(keys_ed25519_public(s), keys_ed25519_public(fx->k), 32);
	assert_memory_equal(keys_ed25519_secret(s), keys_ed25519_secret(fx->k), 64);
	assert_string_equal(keys_fingerprint(s), keys_fingerprint(fx->k));

	p = keys_load_public(fx->pub, err, sizeof(err));
	if (p == NULL)
		fail_msg("load public: %s", err);
	assert_false(keys_has_secret(p));
	assert_null(keys_curve_secret(p));
	assert_null(keys_ed25519_secret(p));
	assert_string_equal(keys_fingerprint(p), keys_fingerprint(fx->k));
	assert_memory_equal(keys_key_id(p), keys_key_id(fx->k), KEYS_KEY_ID_LEN);
	/* A public-only struct cannot be saved as a secret. */
	assert_int_equal(keys_save(p, fx->dir, err, sizeof(err)), -1);
	/* The public file carries no secret. */
	{
		char *text = slurp(fx->pub);
		assert_null(strstr(text, keys_curve_secret(fx->k)));
		assert_null(strstr(text, "secret="));
		assert_non_null(strstr(text, keys_fingerprint(fx->k)));
		free(text);
	}
	keys_free(&s);
	keys_free(&p);
}

static void test_modes_under_umask(void **state)
{
	struct fx *fx = *state;
	struct keys *k = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
	char err[512] = "", path[160];
	struct stat st;
	mode_t old = umask(077);

	assert_non_null(k);
	assert_int_equal(keys_save(k, fx->dir, err, sizeof(err)), 0);
	umask(old);
	snprintf(path, sizeof(path), "%s/ctl.pub", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	snprintf(path, sizeof(path), "%s/ctl.secret", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	keys_free(&k);
}

static void test_no_overwrite(void **state)
{
	struct fx *fx = *state;
	struct keys *k = keys_generate(KEYS_ROLE_AGENT, "agent-1.fra");
	char err[512] = "";
	char *before = slurp(fx->sec), *after;

	assert_non_null(k);
	assert_int_equal(keys_save(k, fx->dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "agent-1.fra.secret"));
	assert_non_null(strstr(err, "exists"));
	after = slurp(fx->sec);
	assert_string_equal(before, after);
	/* Pub exists but secret does not: nothing half-written stays. */
	unlink(fx->sec);
	assert_int_equal(keys_save(k, fx->dir, err, sizeof(err)), -1);
	assert_int_equal(access(fx->sec, F_OK), -1);
	free(before);
	free(after);
	keys_free(&k);
}

static void test_group_readable_refused(void **state)
{
	struct fx *fx = *state;
	char err[512] = "";
	struct keys *k;

	assert_int_equal(chmod(fx->sec, 0640), 0);
	k = keys_load_secret(fx->sec, err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, fx->sec));
	assert_non_null(strstr(err, "0640"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(fx->sec, 0604), 0);
	assert_null(keys_load_secret(fx->sec, err, sizeof(err)));
	assert_int_equal(chmod(fx->sec, 0600), 0);
	k = keys_load_secret(fx->sec, err, sizeof(err));
	assert_non_null(k);
	keys_free(&k);
}

/* A secret owned by another user (who could rewrite it or swap it) is
 * refused even at mode 0600; one owned by this process's user or root loads. */
static void test_foreign_owner_refused(void **state)
{
	struct fx *fx = *state;
	char err[512] = "";
	struct keys *k;

	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(fx->sec, 65534, 65534), 0);
	k = keys_load_secret(fx->sec, err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, fx->sec));
	assert_non_null(strstr(err, "owned by uid 65534"));
	/* The public half stays loadable whoever owns it. */
	assert_int_equal(chown(fx->pub, 65534, 65534), 0);
	k = keys_load_public(fx->pub, err, sizeof(err));
	assert_non_null(k);
	keys_free(&k);
	assert_int_equal(chown(fx->sec, 0, 0), 0);
	k = keys_load_secret(fx->sec, err, sizeof(err));
	assert_non_null(k);
	keys_free(&k);
}

static void test_corrupt_secret(void **state)
{
	struct fx *fx = *state;
	char *text = slurp(fx->sec), *t, bad[128], longl[RP_KEYFILE_LINE_MAX + 32];
	char other_pub[64];
	struct keys *o = keys_generate(KEYS_ROLE_AGENT, "x");
	uint8_t b[32];

	assert_non_null(o);
	/* Layout: 1 comment, 2 format, 3 role, 4 name, 5 curve_public, 6 curve_secret,
	 * 7 ed25519_public, 8 ed25519_secret. */
	snprintf(bad, sizeof(bad), "%s/bad.secret", fx->dir);
	t = edit_line(text, "curve_public=", "curve_public=tooshort");
	load_bad(bad, t, true, "bad.secret:5: key 'curve_public'", "40 Z85");
	free(t);
	t = edit_line(text, "role=", "role=root");
	load_bad(bad, t, true, ":3: key 'role'", NULL);
	free(t);
	t = edit_line(text, "format=", "format=relayprobe-key-9");
	load_bad(bad, t, true, ":2: key 'format'", NULL);
	free(t);
	t = edit_line(text, "name=", "name=../../etc");
	load_bad(bad, t, true, ":4: key 'name'", NULL);
	free(t);
	t = edit_line(text, "ed25519_secret=", "ed25519_secret=AAAA");
	load_bad(bad, t, true, ":8: key 'ed25519_secret'", "88 characters");
	free(t);
	t = edit_line(text, "ed25519_secret=", NULL);
	load_bad(bad, t, true, "bad.secret: key 'ed25519_secret': missing", NULL);
	free(t);
	t = edit_line(text, "name=", "color=blue");
	load_bad(bad, t, true, ":4: key 'color'", NULL);
	free(t);
	t = edit_line(text, "name=", "name=a\nname=b");
	load_bad(bad, t, true, ":5: key 'name': repeated (first on line 4)", NULL);
	free(t);
	t = edit_line(text, "name=", "this line has no equals sign");
	load_bad(bad, t, true, ":4: expected key=value", NULL);
	free(t);
	memset(longl, 'x', sizeof(longl) - 1);
	longl[sizeof(longl) - 1] = '\0';
	t = edit_line(text, "# ", longl);
	load_bad(bad, t, true, ":1: line longer than", NULL);
	free(t);
	t = edit_line(text, "role=", "role=agent\r");
	load_bad(bad, t, true, ":3: control", NULL);
	free(t);
	/* Public halves of another key: they do not match the secrets. */
	snprintf(other_pub, sizeof(other_pub), "curve_public=%s", keys_curve_public(o));
	t = edit_line(text, "curve_public=", other_pub);
	load_bad(bad, t, true, ":5: key 'curve_public': does not match", NULL);
	free(t);
	memcpy(b, keys_ed25519_public(o), 32);
	{
		char line[96], b64[64];
		sodium_bin2base64(b64, sizeof(b64), b, 32, sodium_base64_VARIANT_ORIGINAL);
		snprintf(line, sizeof(line), "ed25519_public=%s", b64);
		t = edit_line(text, "ed25519_public=", line);
		load_bad(bad, t, true, ":7: key 'ed25519_public': does not match", NULL);
		free(t);
	}
	/* A fingerprint line has no place in a secret file. */
	t = edit_line(text, "name=", "name=agent-1.fra\nfingerprint=0000:0000:0000:0000");
	load_bad(bad, t, true, ":5: key 'fingerprint'", NULL);
	free(t);
	keys_free(&o);
	free(text);
}

static void test_corrupt_public(void **state)
{
	struct fx *fx = *state;
	char *text = slurp(fx->pub), *t, bad[128];
	char line[96];
	struct keys *k;
	char err[512];

	snprintf(bad, sizeof(bad), "%s/bad.pub", fx->dir);
	/* Layout: 1 comment, 2 format, 3 role, 4 name, 5 curve_public,
	 * 6 ed25519_public, 7 fingerprint. */
	t = edit_line(text, "fingerprint=", "fingerprint=0000:0000:0000:0000");
	load_bad(bad, t, false, "bad.pub:7: key 'fingerprint'", "does not match");
	free(t);
	snprintf(line, sizeof(line), "curve_secret=%s", keys_curve_secret(fx->k));
	t = edit_line(text, "name=", line);
	load_bad(bad, t, false, ":4: key 'curve_secret': not allowed in a public key file", NULL);
	free(t);
	t = edit_line(
	    text, "ed25519_public=", "ed25519_public=!!!!not-base64!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
	load_bad(bad, t, false, ":6: key 'ed25519_public'", NULL);
	free(t);
	/* The same text parsed from memory (the controller's agents.import). */
	k = keys_parse_public(text, strlen(text), "import", err, sizeof(err));
	assert_non_null(k);
	assert_string_equal(keys_fingerprint(k), keys_fingerprint(fx->k));
	keys_free(&k);
	t = edit_line(text, "fingerprint=", "fingerprint=0000:0000:0000:0000");
	assert_null(keys_parse_public(t, strlen(t), "import", err, sizeof(err)));
	assert_non_null(strstr(err, "import:7: key 'fingerprint'"));
	free(t);
	/* A public file does not need mode 0600. */
	spit(bad, text, 0644);
	k = keys_load_public(bad, err, sizeof(err));
	assert_non_null(k);
	keys_free(&k);
	/* Missing and oversize files. */
	assert_null(keys_load_public("/nonexistent/x.pub", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.pub"));
	{
		char *big = calloc(1, RP_KEYFILE_MAX + 200);
		assert_non_null(big);
		for (size_t i = 0; i + 1 < RP_KEYFILE_MAX + 100; i++)
			big[i] = (i % 50 == 49) ? '\n' : '#';
		load_bad(bad, big, false, "larger than", NULL);
		free(big);
	}
	free(text);
}

/* A daemon given the other side's key file is told which role it got. */
static void test_load_role(void **state)
{
	struct fx *fx = *state;
	char err[512] = "", want[600];
	struct keys *k;

	k = keys_load_role(fx->sec, true, KEYS_ROLE_AGENT, err, sizeof(err));
	assert_non_null(k);
	assert_true(keys_has_secret(k));
	keys_free(&k);
	k = keys_load_role(fx->pub, false, KEYS_ROLE_AGENT, err, sizeof(err));
	assert_non_null(k);
	assert_false(keys_has_secret(k));
	keys_free(&k);
	assert_null(keys_load_role(fx->sec, true, KEYS_ROLE_CONTROLLER, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: role is agent, expected controller", fx->sec);
	assert_string_equal(err, want);
	assert_null(keys_load_role(fx->pub, false, KEYS_ROLE_CONTROLLER, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: role is agent, expected controller", fx->pub);
	assert_string_equal(err, want);
	/* A load error is the loader's own. */
	assert_null(keys_load_role("/nonexistent/x.pub", false, KEYS_ROLE_AGENT, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.pub"));
}

static void test_free_nulls(void **state)
{
	struct keys *k = keys_generate(KEYS_ROLE_CONTROLLER, "c");
	struct keys *none = NULL;

	assert_non_null(k);
	keys_free(&k);
	assert_null(k);
	keys_free(&k);
	keys_free(&none);
	keys_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_generate, setup, teardown),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_role, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_modes_under_umask, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_overwrite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_readable_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_owner_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_secret, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_public, setup, teardown),
	    cmocka_unit_test(test_free_nulls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
