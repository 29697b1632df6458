/* tls.h - the engine's OpenSSL helpers: one client SSL_CTX that completes
 * handshakes whatever the certificate (verification is recorded, never
 * enforced) but refuses what only costs CPU (DH groups and chain keys over
 * the RP_TLS_* caps, renegotiation), the facts of a finished session as
 * struct dialog_tls_info (bounded strings), and a one-line reason for a
 * failed handshake. */
#ifndef RP_TLS_H
#define RP_TLS_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "dialog.h"

#include "rp_limits.h"

/* What our own policy refused on one session, filled by tls.c's callbacks:
 * owned by the caller, borrowed by the SSL (it must outlive it). */
struct tls_guard {
	char refused[RP_TLS_REASON_MAX]; /* "" = nothing refused */
	unsigned reneg_refused;          /* HelloRequests answered no_renegotiation */
};

/* NULL with a message in err. Trust store: the system default paths.
 * Refuses DH groups outside [RP_TLS_DH_BITS_MIN, RP_TLS_DH_BITS_MAX], RSA
 * and DSA keys over RP_TLS_RSA_BITS_MAX in the server's chain (before any
 * signature on it is checked) and every renegotiation. */
SSL_CTX *tls_ctx_new(char *err, size_t errlen);

/* A client SSL on fd, SNI = sni when it is a host name (not an address);
 * g (cleared here) records what the policy refused. */
SSL *tls_session_new(SSL_CTX *ctx, int fd, const char *sni, struct tls_guard *g);

/* After a successful handshake: protocol, cipher, subject, issuer, expiry,
 * chain and name checks (name against host when set, else the address ip). */
void tls_fill_info(SSL *ssl, const char *host, const char *ip, struct dialog_tls_info *out);

/* Why the last SSL call (returning ret) failed, one line, in buf: the
 * guard's refusal when there is one. Drains the OpenSSL error queue. */
void tls_error_reason(SSL *ssl, int ret, int saved_errno, char *buf, size_t len);

#endif
