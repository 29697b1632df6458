/* tls.h - the engine's OpenSSL helpers: one client SSL_CTX that completes
 * handshakes whatever the certificate (verification is recorded, never
 * enforced), the facts of a finished session as struct dialog_tls_info
 * (bounded strings), and a one-line reason for a failed handshake. */
#ifndef RP_TLS_H
#define RP_TLS_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "dialog.h"

/* NULL with a message in err. Trust store: the system default paths. */
SSL_CTX *tls_ctx_new(char *err, size_t errlen);

/* A client SSL on fd, SNI = sni when it is a host name (not an address). */
SSL *tls_session_new(SSL_CTX *ctx, int fd, const char *sni);

/* After a successful handshake: protocol, cipher, subject, issuer, expiry,
 * chain and name checks (name against host when set, else the address ip). */
void tls_fill_info(SSL *ssl, const char *host, const char *ip, struct dialog_tls_info *out);

/* Why the last SSL call (returning ret) failed, one line, in buf. Drains the
 * OpenSSL error queue. */
void tls_error_reason(SSL *ssl, int ret, int saved_errno, char *buf, size_t len);

#endif
