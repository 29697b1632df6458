/* tls.c - OpenSSL client context and session facts for the engine. The
 * context accepts any certificate and any protocol the library still has (an
 * audit wants to see what the server offers); what verification found is
 * recorded in struct dialog_tls_info, every string bounded by its field.
 * What only a hostile server asks for is refused, with the reason in the
 * session's struct tls_guard: DH groups over RP_TLS_DH_BITS_MAX (or under
 * RP_TLS_DH_BITS_MIN), RSA/DSA keys over RP_TLS_RSA_BITS_MAX in the chain,
 * renegotiation. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void refuse(const SSL *ssl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first refusal of this session in its guard. */
static void refuse(const SSL *ssl, const char *fmt, ...)
{
	struct tls_guard *g = ssl ? SSL_get_app_data(ssl) : NULL;
	va_list ap;

	if (!g || g->refused[0])
		return;
	va_start(ap, fmt);
	vsnprintf(g->refused, sizeof(g->refused), fmt, ap);
	va_end(ap);
}

static const char *key_kind(const EVP_PKEY *k)
{
	if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS"))
		return "RSA";
	if (EVP_PKEY_is_a(k, "DSA"))
		return "DSA";
	if (EVP_PKEY_is_a(k, "DH") || EVP_PKEY_is_a(k, "DHX"))
		return "DH";
	return NULL; /* EC, EdDSA: sizes bounded by the library's curves */
}

/* Replaces OpenSSL's level-based callback: everything level 0 allows,
 * except the DH groups outside our bounds. The modulus size is checked
 * before the client computes with it. */
static int security_cb(const SSL *ssl, const SSL_CTX *ctx, int op, int bits, int nid, void *other,
                       void *ex)
{
	(void)ctx;
	(void)nid;
	(void)ex;
	if (op == SSL_SECOP_TMP_DH) {
		int mbits = other ? EVP_PKEY_get_bits(other) : 0;
		if (mbits > RP_TLS_DH_BITS_MAX) {
			refuse(ssl, "server DH group of %d bits over the %d-bit cap", mbits,
			       RP_TLS_DH_BITS_MAX);
			return 0;
		}
		/* Level 0's own floor (80 security bits, a 1024-bit group). */
		if (mbits < RP_TLS_DH_BITS_MIN || bits < 80) {
			refuse(ssl, "server DH group of %d bits under the %d-bit floor", mbits,
			       RP_TLS_DH_BITS_MIN);
			return 0;
		}
	}
	return 1;
}

/* Before the chain's signatures are checked: a key over the cap in any
 * certificate the server sent ends the handshake (checking its signatures
 * is where a huge key costs). Then the usual verification, recorded. */
static int cert_verify_cb(X509_STORE_CTX *xs, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(xs);
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	int n = chain ? sk_X509_num(chain) : 0;

	(void)arg;
	for (int i = -1; i < n; i++) {
		X509 *x = i < 0 ? leaf : sk_X509_value(chain, i);
		EVP_PKEY *k = x ? X509_get0_pubkey(x) : NULL;
		const char *kind = k ? key_kind(k) : NULL;
		int bits = k ? EVP_PKEY_get_bits(k) : 0;
		if (kind && strcmp(kind, "DH") != 0 && bits > RP_TLS_RSA_BITS_MAX) {
			refuse(ssl, "server certificate %s key of %d bits over the %d-bit cap",
			       kind, bits, RP_TLS_RSA_BITS_MAX);
			X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
			/* With SSL_VERIFY_NONE a failed verification is ignored;
			 * this one must end the handshake now. */
			SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
			return 0;
		}
	}
	return X509_verify_cert(xs);
}

/* A HelloRequest is answered with a no_renegotiation alert
 * (SSL_OP_NO_RENEGOTIATION); count it so the dialog can say so. */
static void info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_guard *g = SSL_get_app_data(ssl);

	if (g && (where & SSL_CB_WRITE_ALERT) && (ret & 0xff) == SSL_AD_NO_RENEGOTIATION) {
		g->reneg_refused++;
		refuse(ssl, "server asked to renegotiate TLS: refused");
	}
}

SSL_CTX *tls_ctx_new(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "TLS: cannot create context: %s",
		         ERR_reason_error_string(ERR_get_error()));
		return NULL;
	}
	/* Never fail on the certificate: the result is recorded instead. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		ERR_clear_error(); /* no store: every chain reports unverified */
	/* Old servers still speak TLS 1.0 with weak ciphers: talk to them and
	 * record it rather than fail (opportunistic TLS, RFC 7435). */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_security_callback(ctx, security_cb);
	SSL_CTX_set_cert_verify_callback(ctx, cert_verify_cb, NULL);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_min_proto_version(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	                             SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static int is_address(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

SSL *tls_session_new(SSL_CTX *ctx, int fd, const char *sni, struct tls_guard *g)
{
	memset(g, 0, sizeof(*g));
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	if (SSL_set_app_data(ssl, g) != 1 || SSL_set_fd(ssl, fd) != 1)
		goto fail;
	if (sni && *sni && !is_address(sni) && SSL_set_tlsext_host_name(ssl, sni) != 1)
		goto fail;
	SSL_set_connect_state(ssl);
	return ssl;
fail:
	SSL_free(ssl);
	ERR_clear_error();
	return NULL;
}

/* One-line RFC 2253 form of name, cut to len-1 bytes. */
static void name_line(const X509_NAME *name, char *out, size_t len)
{
	out[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		int n = BIO_read(b, out, (int)(len - 1));
		out[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

static void copy_bounded(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void tls_fill_info(SSL *ssl, const char *host, const char *ip, struct dialog_tls_info *out)
{
	memset(out, 0, sizeof(*out));
	copy_bounded(out->protocol, sizeof(out->protocol), SSL_get_version(ssl));
	copy_bounded(out->cipher, sizeof(out->cipher), SSL_get_cipher_name(ssl));
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (!cert) {
		copy_bounded(out->verify_error, sizeof(out->verify_error), "no peer certificate");
		return;
	}
	name_line(X509_get_subject_name(cert), out->subject, sizeof(out->subject));
	name_line(X509_get_issuer_name(cert), out->issuer, sizeof(out->issuer));
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		strftime(out->not_after, sizeof(out->not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	long vr = SSL_get_verify_result(ssl);
	out->chain_ok = vr == X509_V_OK;
	if (!out->chain_ok)
		copy_bounded(out->verify_error, sizeof(out->verify_error),
		             X509_verify_cert_error_string(vr));
	if (host && *host && !is_address(host))
		out->name_ok = X509_check_host(cert, host, strlen(host), 0, NULL) == 1;
	else if (ip && *ip)
		out->name_ok = X509_check_ip_asc(cert, ip, 0) == 1;
	X509_free(cert);
	ERR_clear_error();
}

void tls_error_reason(SSL *ssl, int ret, int saved_errno, char *buf, size_t len)
{
	const struct tls_guard *g = ssl ? SSL_get_app_data(ssl) : NULL;
	unsigned long e = ERR_peek_last_error();
	int se = ssl ? SSL_get_error(ssl, ret) : SSL_ERROR_SSL;
	if (g && g->refused[0]) {
		snprintf(buf, len, "%s", g->refused);
	} else if (e) {
		const char *r = ERR_reason_error_string(e);
		if (r)
			snprintf(buf, len, "%s", r);
		else
			snprintf(buf, len, "OpenSSL error 0x%lx", e);
	} else if (se == SSL_ERROR_SYSCALL && saved_errno) {
		snprintf(buf, len, "%s", strerror(saved_errno));
	} else if (se == SSL_ERROR_SYSCALL || se == SSL_ERROR_ZERO_RETURN) {
		snprintf(buf, len, "connection closed by server");
	} else {
		snprintf(buf, len, "SSL error %d", se);
	}
	ERR_clear_error();
}
