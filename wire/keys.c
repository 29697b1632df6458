/* keys.c - node identities: CURVE (libzmq, Z85) and Ed25519 (libsodium)
 * keypairs, key files in key=value text, fingerprints and key ids. Owns the
 * secret halves in sodium_malloc memory (wiped on free; file buffers that
 * held secrets are wiped too). Enforces RP_KEYFILE_LINE_MAX/RP_KEYFILE_MAX,
 * mode 0600 and owner (this process or root) on secret files, and a strict
 * set of keys per file. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "fileio.h"
#include "rp_limits.h"
#include "rp_names.h"
#include "rp_take.h"
#include "syntax.h"

#define KEYS_FORMAT "relayprobe-key-1"
#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL

struct keys {
	enum keys_role role;
	char name[RP_WIRE_ID_MAX + 1];
	char curve_pk[KEYS_Z85_LEN + 1];
	uint8_t ed_pk[KEYS_ED25519_PK_LEN];
	uint8_t key_id[KEYS_KEY_ID_LEN];
	char fingerprint[KEYS_FINGERPRINT_LEN + 1];
	char *curve_sk; /* sodium_malloc, KEYS_Z85_LEN + 1; NULL when public only */
	uint8_t *ed_sk; /* sodium_malloc, KEYS_ED25519_SK_LEN; NULL when public only */
};

static const char *const role_names[] = {"controller", "agent"};
RP_ENUM_TABLE_CHECK(role_names, KEYS_ROLE_COUNT);

const char *keys_role_name(enum keys_role r)
{
	return rp_name(role_names, KEYS_ROLE_COUNT, (int)r, "?");
}

int keys_role_from_name(const char *name)
{
	return rp_name_find(role_names, KEYS_ROLE_COUNT, name, false);
}

bool keys_name_valid(const char *name)
{
	return rp_id_ok(RP_ID_NAME, name);
}

void keys_key_id_of(const uint8_t pk[KEYS_ED25519_PK_LEN], uint8_t out[KEYS_KEY_ID_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, KEYS_ED25519_PK_LEN);
	memcpy(out, h, KEYS_KEY_ID_LEN);
}

int keys_curve_fingerprint_of(const char *curve_z85, char out[KEYS_FINGERPRINT_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[32], h[crypto_hash_sha256_BYTES];
	size_t o = 0;

	if (curve_z85 == NULL || strlen(curve_z85) != 40 || zmq_z85_decode(raw, curve_z85) == NULL)
		return -1;
	crypto_hash_sha256(h, raw, sizeof(raw));
	for (int i = 0; i < 8; i++) {
		if (i > 0 && i % 2 == 0)
			out[o++] = ':';
		out[o++] = hex[h[i] >> 4];
		out[o++] = hex[h[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

/* Fills key_id and fingerprint from ed_pk and curve_pk. -1 on bad Z85. */
static int keys_derive(struct keys *k)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t curve_raw[32], both[64], h[crypto_hash_sha256_BYTES];
	size_t o = 0;

	if (zmq_z85_decode(curve_raw, k->curve_pk) == NULL)
		return -1;
	memcpy(both, k->ed_pk, 32);
	memcpy(both + 32, curve_raw, 32);
	crypto_hash_sha256(h, both, sizeof(both));
	for (int i = 0; i < 8; i++) {
		if (i > 0 && i % 2 == 0)
			k->fingerprint[o++] = ':';
		k->fingerprint[o++] = hex[h[i] >> 4];
		k->fingerprint[o++] = hex[h[i] & 15];
	}
	k->fingerprint[o] = '\0';
	keys_key_id_of(k->ed_pk, k->key_id);
	return 0;
}

static struct keys *keys_alloc(bool with_secret)
{
	struct keys *k;

	if (sodium_init() < 0)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL || !with_secret)
		return k;
	k->curve_sk = sodium_malloc(KEYS_Z85_LEN + 1);
	k->ed_sk = sodium_malloc(KEYS_ED25519_SK_LEN);
	if (k->curve_sk == NULL || k->ed_sk == NULL) {
		keys_free(&k);
		return NULL;
	}
	sodium_memzero(k->curve_sk, KEYS_Z85_LEN + 1);
	sodium_memzero(k->ed_sk, KEYS_ED25519_SK_LEN);
	return k;
}

void keys_free(struct keys **kp)
{
	struct keys *k = rp_take(kp);

	if (k == NULL)
		return;
	if (k->curve_sk != NULL) {
		sodium_memzero(k->curve_sk, KEYS_Z85_LEN + 1);
		sodium_free(k->curve_sk);
	}
	if (k->ed_sk != NULL) {
		sodium_memzero(k->ed_sk, KEYS_ED25519_SK_LEN);
		sodium_free(k->ed_sk);
	}
	sodium_memzero(k, sizeof(*k));
	free(k);
}

struct keys *keys_generate(enum keys_role role, const char *name)
{
	struct keys *k = NULL;

	if ((unsigned)role >= KEYS_ROLE_COUNT || name == NULL || !keys_name_valid(name))
		return NULL;
	k = keys_alloc(true);
	if (k == NULL)
		return NULL;
	k->role = role;
	snprintf(k->name, sizeof(k->name), "%s", name);
	if (zmq_curve_keypair(k->curve_pk, k->curve_sk) != 0 ||
	    crypto_sign_keypair(k->ed_pk, k->ed_sk) != 0 || keys_derive(k) != 0)
		keys_free(&k);
	return k;
}

enum keys_role keys_role(const struct keys *k)
{
	return k->role;
}
const char *keys_name(const struct keys *k)
{
	return k->name;
}
bool keys_has_secret(const struct keys *k)
{
	return k->ed_sk != NULL;
}
const char *keys_curve_public(const struct keys *k)
{
	return k->curve_pk;
}
const char *keys_curve_secret(const struct keys *k)
{
	return k->curve_sk;
}
const uint8_t *keys_ed25519_public(const struct keys *k)
{
	return k->ed_pk;
}
const uint8_t *keys_ed25519_secret(const struct keys *k)
{
	return k->ed_sk;
}
const char *keys_fingerprint(const struct keys *k)
{
	return k->fingerprint;
}
const uint8_t *keys_key_id(const struct keys *k)
{
	return k->key_id;
}

/* ---- writing ---- */

int keys_save(const struct keys *k, const char *dir, char *err, size_t errlen)
{
	char sec_path[4096], pub_path[4096], pk_b64[sodium_base64_ENCODED_LEN(32, B64_VARIANT)];
	char pub[1024];
	char *sec = NULL, *sk_b64 = NULL;
	const size_t sec_cap = 1024, sk_b64_len = sodium_base64_ENCODED_LEN(64, B64_VARIANT);
	int n, m, rc = -1;

	if (!keys_has_secret(k)) {
		snprintf(err, errlen, "keys for '%s' have no secret half to save", k->name);
		return -1;
	}
	n = snprintf(sec_path, sizeof(sec_path), "%s/%s.secret", dir, k->name);
	m = snprintf(pub_path, sizeof(pub_path), "%s/%s.pub", dir, k->name);
	if (n < 0 || (size_t)n >= sizeof(sec_path) || m < 0 || (size_t)m >= sizeof(pub_path)) {
		snprintf(err, errlen, "%s: directory name too long", dir);
		return -1;
	}
	sec = sodium_malloc(sec_cap);
	sk_b64 = sodium_malloc(sk_b64_len);
	if (sec == NULL || sk_b64 == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sodium_bin2base64(pk_b64, sizeof(pk_b64), k->ed_pk, 32, B64_VARIANT);
	sodium_bin2base64(sk_b64, sk_b64_len, k->ed_sk, 64, B64_VARIANT);
	n = snprintf(sec, sec_cap,
	             "# relayprobe secret key: keep it private (mode 0600), never copy it.\n"
	             "format=" KEYS_FORMAT "\nrole=%s\nname=%s\ncurve_public=%s\n"
	             "curve_secret=%s\ned25519_public=%s\ned25519_secret=%s\n",
	             keys_role_name(k->role), k->name, k->curve_pk, k->curve_sk, pk_b64, sk_b64);
	m = snprintf(pub, sizeof(pub),
	             "# relayprobe public key: copy it to the other side.\n"
	             "format=" KEYS_FORMAT "\nrole=%s\nname=%s\ncurve_public=%s\n"
	             "ed25519_public=%s\nfingerprint=%s\n",
	             keys_role_name(k->role), k->name, k->curve_pk, pk_b64, k->fingerprint);
	if (n < 0 || (size_t)n >= sec_cap || m < 0 || (size_t)m >= sizeof(pub)) {
		snprintf(err, errlen, "key file text too long");
		goto out;
	}
	if (fileio_write_file(sec_path, true, 0600, sec, (size_t)n, err, errlen) != 0)
		goto out;
	if (fileio_write_file(pub_path, true, 0644, pub, (size_t)m, err, errlen) != 0) {
		unlink(sec_path);
		goto out;
	}
	rc = 0;
out:
	if (sec != NULL) {
		sodium_memzero(sec, sec_cap);
		sodium_free(sec);
	}
	if (sk_b64 != NULL) {
		sodium_memzero(sk_b64, sk_b64_len);
		sodium_free(sk_b64);
	}
	return rc;
}

/* ---- reading ---- */

enum kf_field {
	KF_FORMAT = 0,
	KF_ROLE,
	KF_NAME,
	KF_CURVE_PUBLIC,
	KF_CURVE_SECRET,
	KF_ED_PUBLIC,
	KF_ED_SECRET,
	KF_FINGERPRINT,
	KF_COUNT
};
static const char *const kf_names[] = {"format",         "role",         "name",
                                       "curve_public",   "curve_secret", "ed25519_public",
                                       "ed25519_secret", "fingerprint"};
RP_ENUM_TABLE_CHECK(kf_names, KF_COUNT);

struct kf_parse {
	const char *path;
	bool secret;        /* a .secret file (else .pub) */
	int line[KF_COUNT]; /* line where each key was seen, 0 = not yet */
	char fingerprint[KEYS_FINGERPRINT_LEN + 1];
	struct keys *k;
	char *err;
	size_t errlen;
};

static bool field_allowed(enum kf_field f, bool secret)
{
	if (f == KF_CURVE_SECRET || f == KF_ED_SECRET)
		return secret;
	if (f == KF_FINGERPRINT)
		return !secret;
	return true;
}

/* A canonical Z85 CURVE key: 40 characters that decode and re-encode equal. */
static bool z85_key_ok(const char *v)
{
	uint8_t raw[32];
	char again[KEYS_Z85_LEN + 1];
	bool ok;

	if (strlen(v) != KEYS_Z85_LEN || zmq_z85_decode(raw, v) == NULL)
		return false;
	ok = zmq_z85_encode(again, raw, 32) != NULL && strcmp(again, v) == 0;
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(again, sizeof(again));
	return ok;
}

/* Strict base64 (original alphabet, padded) of exactly want bytes. */
static bool b64_exact(uint8_t *out, size_t want, const char *v)
{
	size_t len = strlen(v), got = 0;
	const char *end = NULL;

	if (len != sodium_base64_ENCODED_LEN(want, B64_VARIANT) - 1)
		return false;
	if (sodium_base642bin(out, want, v, len, NULL, &got, &end, B64_VARIANT) != 0)
		return false;
	return got == want && end == v + len;
}

static int kf_value(struct kf_parse *p, enum kf_field f, const char *v, int lineno)
{
	struct keys *k = p->k;
	const char *what = NULL;
	int r;

	switch (f) {
	case KF_FORMAT:
		if (strcmp(v, KEYS_FORMAT) != 0)
			what = "unknown format (expected " KEYS_FORMAT ")";
		break;
	case KF_ROLE:
		r = keys_role_from_name(v);
		if (r < 0)
			what = "expected controller or agent";
		else
			k->role = (enum keys_role)r;
		break;
	case KF_NAME:
		if (!keys_name_valid(v))
			what = "expected 1-64 characters of [A-Za-z0-9._-]";
		else
			snprintf(k->name, sizeof(k->name), "%s", v);
		break;
	case KF_CURVE_PUBLIC:
		if (!z85_key_ok(v))
			what = "expected 40 Z85 characters";
		else
			memcpy(k->curve_pk, v, KEYS_Z85_LEN + 1);
		break;
	case KF_CURVE_SECRET:
		if (!z85_key_ok(v))
			what = "expected 40 Z85 characters";
		else
			memcpy(k->curve_sk, v, KEYS_Z85_LEN + 1);
		break;
	case KF_ED_PUBLIC:
		if (!b64_exact(k->ed_pk, KEYS_ED25519_PK_LEN, v))
			what = "expected 32 bytes in base64 (44 characters)";
		break;
	case KF_ED_SECRET:
		if (!b64_exact(k->ed_sk, KEYS_ED25519_SK_LEN, v))
			what = "expected 64 bytes in base64 (88 characters)";
		break;
	case KF_FINGERPRINT:
		if (strlen(v) != KEYS_FINGERPRINT_LEN)
			what = "expected xxxx:xxxx:xxxx:xxxx";
		else
			memcpy(p->fingerprint, v, KEYS_FINGERPRINT_LEN + 1);
		break;
	case KF_COUNT:
		break;
	}
	if (what == NULL)
		return 0;
	snprintf(p->err, p->errlen, "%s:%d: key '%s': %s", p->path, lineno, kf_names[f], what);
	return -1;
}

/* One line (NUL-terminated, no newline). */
static int kf_line(struct kf_parse *p, char *line, int lineno)
{
	char *eq;
	int f;

	if (line[0] == '\0' || line[0] == '#')
		return 0;
	eq = strchr(line, '=');
	if (eq == NULL) {
		snprintf(p->err, p->errlen, "%s:%d: expected key=value", p->path, lineno);
		return -1;
	}
	*eq = '\0';
	f = rp_name_find(kf_names, KF_COUNT, line, false);
	if (f < 0 || !field_allowed((enum kf_field)f, p->secret)) {
		snprintf(p->err, p->errlen, "%s:%d: key '%.64s': not allowed in a %s key file",
		         p->path, lineno, line, p->secret ? "secret" : "public");
		return -1;
	}
	if (p->line[f] != 0) {
		snprintf(p->err, p->errlen, "%s:%d: key '%s': repeated (first on line %d)", p->path,
		         lineno, kf_names[f], p->line[f]);
		return -1;
	}
	p->line[f] = lineno;
	return kf_value(p, (enum kf_field)f, eq + 1, lineno);
}

/* Cross-checks once every line is read. */
static int kf_finish(struct kf_parse *p)
{
	struct keys *k = p->k;
	char derived[KEYS_Z85_LEN + 1];
	uint8_t pk[KEYS_ED25519_PK_LEN];

	for (int f = 0; f < KF_COUNT; f++) {
		if (field_allowed((enum kf_field)f, p->secret) && p->line[f] == 0) {
			snprintf(p->err, p->errlen, "%s: key '%s': missing", p->path, kf_names[f]);
			return -1;
		}
	}
	if (keys_derive(k) != 0) {
		snprintf(p->err, p->errlen, "%s:%d: key 'curve_public': cannot decode", p->path,
		         p->line[KF_CURVE_PUBLIC]);
		return -1;
	}
	if (p->secret) {
		if (zmq_curve_public(derived, k->curve_sk) != 0 ||
		    strcmp(derived, k->curve_pk) != 0) {
			snprintf(p->err, p->errlen,
			         "%s:%d: key 'curve_public': does not match curve_secret", p->path,
			         p->line[KF_CURVE_PUBLIC]);
			return -1;
		}
		crypto_sign_ed25519_sk_to_pk(pk, k->ed_sk);
		if (sodium_memcmp(pk, k->ed_pk, sizeof(pk)) != 0) {
			snprintf(p->err, p->errlen,
			         "%s:%d: key 'ed25519_public': does not match ed25519_secret",
			         p->path, p->line[KF_ED_PUBLIC]);
			return -1;
		}
	} else if (strcmp(p->fingerprint, k->fingerprint) != 0) {
		snprintf(p->err, p->errlen,
		         "%s:%d: key 'fingerprint': %s does not match the keys (%s)", p->path,
		         p->line[KF_FINGERPRINT], p->fingerprint, k->fingerprint);
		return -1;
	}
	return 0;
}

/* Splits buf (len bytes, buf[len] writable) into lines and parses them. */
static int kf_parse_text(struct kf_parse *p, char *buf, size_t len)
{
	size_t start = 0;
	int lineno = 0;

	while (start < len) {
		size_t end = start;
		lineno++;
		while (end < len && buf[end] != '\n')
			end++;
		if (end - start > RP_KEYFILE_LINE_MAX) {
			snprintf(p->err, p->errlen, "%s:%d: line longer than %d bytes", p->path,
			         lineno, RP_KEYFILE_LINE_MAX);
			return -1;
		}
		for (size_t i = start; i < end; i++) {
			unsigned char c = (unsigned char)buf[i];
			if (c < 0x20 || c >= 0x7f) {
				snprintf(p->err, p->errlen,
				         "%s:%d: control or non-ASCII byte 0x%02x", p->path, lineno,
				         c);
				return -1;
			}
		}
		buf[end] = '\0';
		if (kf_line(p, buf + start, lineno) != 0)
			return -1;
		start = end + 1;
	}
	return kf_finish(p);
}

static struct keys *keys_load(const char *path, bool secret, char *err, size_t errlen)
{
	struct kf_parse p = {.path = path, .secret = secret, .err = err, .errlen = errlen};
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd = -1;
	bool ok = false;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (secret && (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		         "%s: secret key file has mode %04o: group or others may access it; "
		         "refusing it (chmod 600 %s)",
		         path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (secret && st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen,
		         "%s: secret key file is owned by uid %lu, not by this process (uid %lu) "
		         "or root: refusing it (chown it to the daemon's user)",
		         path, (unsigned long)st.st_uid, (unsigned long)geteuid());
		goto out;
	}
	if (st.st_size > RP_KEYFILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, RP_KEYFILE_MAX);
		goto out;
	}
	/* sodium_malloc so the secret text is wiped and never swapped. */
	buf = sodium_malloc(RP_KEYFILE_MAX + 2);
	p.k = keys_alloc(secret);
	if (buf == NULL || p.k == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (len <= RP_KEYFILE_MAX) {
		ssize_t n = read(fd, buf + len, RP_KEYFILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > RP_KEYFILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, RP_KEYFILE_MAX);
		goto out;
	}
	buf[len] = '\0';
	ok = kf_parse_text(&p, buf, len) == 0;
out:
	if (buf != NULL) {
		sodium_memzero(buf, RP_KEYFILE_MAX + 2);
		sodium_free(buf);
	}
	close(fd);
	if (!ok)
		keys_free(&p.k);
	return p.k;
}

struct keys *keys_load_secret(const char *path, char *err, size_t errlen)
{
	return keys_load(path, true, err, errlen);
}

struct keys *keys_load_public(const char *path, char *err, size_t errlen)
{
	return keys_load(path, false, err, errlen);
}

struct keys *keys_parse_public(const char *text, size_t len, const char *label, char *err,
                               size_t errlen)
{
	struct kf_parse p = {.path = label, .secret = false, .err = err, .errlen = errlen};
	char *buf;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return NULL;
	}
	if (len > RP_KEYFILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", label, RP_KEYFILE_MAX);
		return NULL;
	}
	buf = malloc(len + 1);
	p.k = keys_alloc(false);
	if (buf == NULL || p.k == NULL) {
		snprintf(err, errlen, "out of memory");
		free(buf);
		keys_free(&p.k);
		return NULL;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (kf_parse_text(&p, buf, len) != 0)
		keys_free(&p.k);
	free(buf);
	return p.k;
}

struct keys *keys_load_role(const char *path, bool secret, enum keys_role role, char *err,
                            size_t errlen)
{
	struct keys *k =
	    secret ? keys_load_secret(path, err, errlen) : keys_load_public(path, err, errlen);

	if (k != NULL && keys_role(k) != role) {
		snprintf(err, errlen, "%s: role is %s, expected %s", path,
		         keys_role_name(keys_role(k)), keys_role_name(role));
		keys_free(&k);
	}
	return k;
}
