/* keys.h - node identities: a CURVE keypair (ZeroMQ transport, Z85 text) and
 * an Ed25519 keypair (order/result signatures), their key files, fingerprint
 * and key id. A struct keys owns its secrets in sodium_malloc memory, wiped on
 * free. Key files are bounded (RP_KEYFILE_LINE_MAX, RP_KEYFILE_MAX) and parsed
 * strictly; errors name file:line and key. Formats: docs/protocol.md. */
#ifndef RP_WIRE_KEYS_H
#define RP_WIRE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum keys_role { KEYS_ROLE_CONTROLLER = 0, KEYS_ROLE_AGENT, KEYS_ROLE_COUNT };

#define KEYS_Z85_LEN         40 /* a CURVE key as Z85 text, without NUL */
#define KEYS_ED25519_PK_LEN  32
#define KEYS_ED25519_SK_LEN  64
#define KEYS_KEY_ID_LEN      8  /* envelope key_id: SHA-256(ed25519 pk)[0..8) */
#define KEYS_FINGERPRINT_LEN 19 /* "xxxx:xxxx:xxxx:xxxx", without NUL */

struct keys;

/* "controller", "agent"; "?" when out of range. */
const char *keys_role_name(enum keys_role r);
/* -1 when unknown. */
int keys_role_from_name(const char *name);

/* A node name (also the agent id and the key file's base name):
 * rp_id_ok(RP_ID_NAME, name), common/syntax.h. */
bool keys_name_valid(const char *name);

/* Fresh CURVE and Ed25519 keypairs for a node. NULL on a bad role or name, or
 * when libsodium/libzmq fail (no CURVE support, out of memory). */
struct keys *keys_generate(enum keys_role role, const char *name);

/* Writes DIR/NAME.secret (mode 0600) and DIR/NAME.pub (mode 0644). Refuses to
 * overwrite either file (O_EXCL); on failure nothing is left behind. Needs a
 * struct with secrets (from keys_generate or keys_load_secret). 0 or -1 with
 * a message in err. */
int keys_save(const struct keys *k, const char *dir, char *err, size_t errlen);

/* Loads a NAME.secret file. Refused when group or others may read it, when it
 * is owned by a uid other than geteuid() or root, when a
 * line is longer than RP_KEYFILE_LINE_MAX, when a key is unknown, repeated,
 * missing or malformed, or when a public key does not match its secret.
 * NULL with "file:line: key 'k': ..." (or "file: ...") in err. */
struct keys *keys_load_secret(const char *path, char *err, size_t errlen);

/* Loads a NAME.pub file (same rules, no mode check; the fingerprint line must
 * match the keys). The result has no secrets. */
struct keys *keys_load_public(const char *path, char *err, size_t errlen);

/* keys_load_secret (secret) or keys_load_public, and the file's role must be
 * role: NULL with "PATH: role is X, expected Y" in err when it is not (a
 * daemon started with the other side's key file). */
struct keys *keys_load_role(const char *path, bool secret, enum keys_role role, char *err,
                            size_t errlen);

/* Wipes the secrets (sodium_memzero + sodium_free) and NULLs *k. NULL ok. */
/* The same for the text of a .pub file received from elsewhere (the admin
 * socket); label names it in errors ("label:LINE: key 'x': ..."). */
struct keys *keys_parse_public(const char *text, size_t len, const char *label, char *err,
                               size_t errlen);
void keys_free(struct keys **k);

enum keys_role keys_role(const struct keys *k);
const char *keys_name(const struct keys *k);
bool keys_has_secret(const struct keys *k);
/* Z85 text, 40 characters + NUL, owned by k. Secret: NULL without secrets. */
const char *keys_curve_public(const struct keys *k);
const char *keys_curve_secret(const struct keys *k);
/* Raw Ed25519 keys owned by k. Secret: NULL without secrets. */
const uint8_t *keys_ed25519_public(const struct keys *k);
const uint8_t *keys_ed25519_secret(const struct keys *k);
/* "xxxx:xxxx:xxxx:xxxx" (NUL-terminated, owned by k): the first 16 hex chars
 * of SHA-256(ed25519 public || curve public, both raw 32 bytes). */
const char *keys_fingerprint(const struct keys *k);
/* Fingerprint of a CURVE public key alone (Z85, 40 chars), same format: what
 * the controller shows for a pending agent, whose Ed25519 key it has not seen
 * yet. 0, or -1 on a bad key. */
int keys_curve_fingerprint_of(const char *curve_z85, char out[KEYS_FINGERPRINT_LEN + 1]);
/* Envelope key id of k's Ed25519 public key. */
const uint8_t *keys_key_id(const struct keys *k);
/* The key id of any Ed25519 public key (first 8 bytes of its SHA-256). */
void keys_key_id_of(const uint8_t pk[KEYS_ED25519_PK_LEN], uint8_t out[KEYS_KEY_ID_LEN]);

#endif
