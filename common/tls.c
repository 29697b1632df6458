/* tls.c - OpenSSL client context and session facts for the engine. The
 * context accepts any certificate and any protocol the library still has (an
 * audit wants to see what the server offers); what verification found is
 * recorded in struct dialog_tls_info, every string bounded by its field. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
	SSL_CTX_set_min_proto_version(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
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

SSL *tls_session_new(SSL_CTX *ctx, int fd, const char *sni)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1)
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
	unsigned long e = ERR_peek_last_error();
	int se = ssl ? SSL_get_error(ssl, ret) : SSL_ERROR_SSL;
	if (e) {
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
