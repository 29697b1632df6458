/* canary_token.h - the canary's tokens (DESIGN.md section 6, docs/canary.md):
 * "rp-<token>" names a test's recipient, "rp-b-<token>" its sender, so that
 * an arriving message or bounce is matched to the order, target and test
 * that sent it. A token is 18 bytes in lowercase base32 (29 characters): a
 * reference (order ref: 40 bits, target index: 16, test index: 6, bounce:
 * 1) and an 80-bit truncated MAC over it (libsodium crypto_auth,
 * HMAC-SHA-512-256) under a key only the controller (or a one-shot probe)
 * holds. A forged or altered token fails the MAC before any lookup. */
#ifndef RP_WIRE_CANARY_TOKEN_H
#define RP_WIRE_CANARY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CANARY_KEY_LEN       32
#define CANARY_TOKEN_CHARS   29
#define CANARY_LOCAL_MAX     (5 + CANARY_TOKEN_CHARS) /* "rp-b-" + token */
#define CANARY_ORDER_REF_MAX ((1ULL << 40) - 1)
#define CANARY_TEST_MAX      63

struct canary_ref {
	uint64_t order_ref; /* 1..CANARY_ORDER_REF_MAX for controller orders; 0 = one-shot probe */
	uint16_t target;    /* index of the target in its order (the probe: of the address) */
	uint8_t test;       /* catalogue index, <= CANARY_TEST_MAX */
	bool bounce;        /* the sender's token ("rp-b-") */
};

/* Writes "rp-<token>" or "rp-b-<token>" (NUL-terminated) into local, which
 * holds at least CANARY_LOCAL_MAX + 1 bytes. 0, or -1 on a field out of
 * range or a short buffer. */
int canary_token_make(const uint8_t key[CANARY_KEY_LEN], const struct canary_ref *r, char *local,
                      size_t len);

/* A local part (any case: relays may change it) -> its reference, when it is
 * "rp-" or "rp-b-" and exactly one well-formed token whose MAC verifies.
 * 0, or -1 (not a token, malformed, forged). */
int canary_token_parse(const uint8_t key[CANARY_KEY_LEN], const char *local, size_t len,
                       struct canary_ref *out);

/* True when local looks like a token (syntax only, no key): what the
 * listener accepts at RCPT when it has no key of its own. */
bool canary_token_syntax(const char *local, size_t len);

/* The controller's key file (32 random bytes as 64 hex digits and a
 * newline, mode 0600): loaded, or created when missing (O_EXCL). Refused
 * when group or others may read it or its owner is not us or root. 0, or
 * -1 with "path: why" in err. */
int canary_key_load_or_create(const char *path, uint8_t key[CANARY_KEY_LEN], char *err,
                              size_t errlen);

#endif
