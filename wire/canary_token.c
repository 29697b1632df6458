/* canary_token.c - the canary's tokens: an 8-byte reference and a 10-byte
 * truncated crypto_auth MAC in lowercase RFC 4648 base32 without padding,
 * parsed case-insensitively and canonically (the unused low bits of the
 * last character must be zero), and the controller's key file. */
#include "canary_token.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define REF_LEN 8
#define MAC_LEN 10
#define TOK_LEN (REF_LEN + MAC_LEN)

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char ctx[] = "relayprobe-canary-v1";

static void mac_of(const uint8_t key[CANARY_KEY_LEN], const uint8_t ref[REF_LEN],
                   uint8_t out[MAC_LEN])
{
	uint8_t msg[sizeof(ctx) + REF_LEN], full[crypto_auth_BYTES];

	memcpy(msg, ctx, sizeof(ctx)); /* with its NUL: the context ends there */
	memcpy(msg + sizeof(ctx), ref, REF_LEN);
	crypto_auth(full, msg, sizeof(msg), key);
	memcpy(out, full, MAC_LEN);
	sodium_memzero(full, sizeof(full));
}

static void ref_pack(const struct canary_ref *r, uint8_t ref[REF_LEN])
{
	for (int i = 0; i < 5; i++)
		ref[i] = (uint8_t)(r->order_ref >> (8 * (4 - i)));
	ref[5] = (uint8_t)(r->target >> 8);
	ref[6] = (uint8_t)r->target;
	ref[7] = (uint8_t)((r->bounce ? 0x80 : 0) | (r->test & 0x3f));
}

int canary_token_make(const uint8_t key[CANARY_KEY_LEN], const struct canary_ref *r, char *local,
                      size_t len)
{
	uint8_t tok[TOK_LEN];
	size_t o, bits = 0;
	unsigned acc = 0;

	if (r->order_ref > CANARY_ORDER_REF_MAX || r->test > CANARY_TEST_MAX ||
	    len < CANARY_LOCAL_MAX + 1)
		return -1;
	ref_pack(r, tok);
	mac_of(key, tok, tok + REF_LEN);
	o = (size_t)snprintf(local, len, "%s", r->bounce ? "rp-b-" : "rp-");
	for (size_t i = 0; i < TOK_LEN; i++) {
		acc = (acc << 8) | tok[i];
		bits += 8;
		while (bits >= 5) {
			local[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		local[o++] = b32[(acc << (5 - bits)) & 31];
	local[o] = '\0';
	return 0;
}

static int b32_val(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* The token characters after the prefix, or NULL. */
static const char *token_start(const char *local, size_t len, bool *bounce)
{
	if (len == 5 + CANARY_TOKEN_CHARS && strncasecmp(local, "rp-b-", 5) == 0) {
		*bounce = true;
		return local + 5;
	}
	if (len == 3 + CANARY_TOKEN_CHARS && strncasecmp(local, "rp-", 3) == 0) {
		*bounce = false;
		return local + 3;
	}
	return NULL;
}

static int decode(const char *t, uint8_t out[TOK_LEN])
{
	size_t o = 0, bits = 0;
	unsigned acc = 0;

	for (size_t i = 0; i < CANARY_TOKEN_CHARS; i++) {
		int v = b32_val(t[i]);

		if (v < 0)
			return -1;
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	/* 29 x 5 = 145 bits: one spare bit, which must be zero */
	if (o != TOK_LEN || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

bool canary_token_syntax(const char *local, size_t len)
{
	bool bounce;
	uint8_t tok[TOK_LEN];
	const char *t = token_start(local, len, &bounce);

	return t != NULL && decode(t, tok) == 0;
}

int canary_token_parse(const uint8_t key[CANARY_KEY_LEN], const char *local, size_t len,
                       struct canary_ref *out)
{
	bool bounce;
	uint8_t tok[TOK_LEN], mac[MAC_LEN];
	const char *t = token_start(local, len, &bounce);

	if (t == NULL || decode(t, tok) < 0)
		return -1;
	mac_of(key, tok, mac);
	if (sodium_memcmp(mac, tok + REF_LEN, MAC_LEN) != 0)
		return -1;
	/* the prefix must say what the MAC'd bit says */
	if (((tok[7] & 0x80) != 0) != bounce || (tok[7] & 0x40) != 0)
		return -1;
	out->order_ref = 0;
	for (int i = 0; i < 5; i++)
		out->order_ref = (out->order_ref << 8) | tok[i];
	out->target = (uint16_t)((tok[5] << 8) | tok[6]);
	out->test = tok[7] & 0x3f;
	out->bounce = bounce;
	return 0;
}

static int load(int fd, const char *path, uint8_t key[CANARY_KEY_LEN], char *err, size_t errlen)
{
	char hex[2 * CANARY_KEY_LEN + 2];
	struct stat st;
	ssize_t n;
	size_t bin = 0;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0 || (st.st_uid != geteuid() && st.st_uid != 0)) {
		snprintf(err, errlen, "%s: must be mode 0600 and owned by this user or root", path);
		return -1;
	}
	n = read(fd, hex, sizeof(hex));
	if (n != (ssize_t)sizeof(hex) - 1 || hex[2 * CANARY_KEY_LEN] != '\n' ||
	    sodium_hex2bin(key, CANARY_KEY_LEN, hex, 2 * CANARY_KEY_LEN, NULL, &bin, NULL) != 0 ||
	    bin != CANARY_KEY_LEN) {
		sodium_memzero(hex, sizeof(hex));
		snprintf(err, errlen, "%s: not a canary key (64 hex digits and a newline)", path);
		return -1;
	}
	sodium_memzero(hex, sizeof(hex));
	return 0;
}

int canary_key_load_or_create(const char *path, uint8_t key[CANARY_KEY_LEN], char *err,
                              size_t errlen)
{
	char hex[2 * CANARY_KEY_LEN + 1];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (fd >= 0) {
		rc = load(fd, path, key, err, errlen);
		close(fd);
		return rc;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "%s: libsodium failed to start", path);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(key, CANARY_KEY_LEN);
	sodium_bin2hex(hex, sizeof(hex), key, CANARY_KEY_LEN);
	hex[2 * CANARY_KEY_LEN] = '\n';
	rc = write(fd, hex, sizeof(hex)) == (ssize_t)sizeof(hex) && fsync(fd) == 0 ? 0 : -1;
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) < 0 || rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}
