/* canary_smtp_fuzzer.c - libFuzzer harness for the canary's receiver session.
 * The first input byte picks the chunking and the client's reading habit;
 * the rest is fed as a driver does (chunks of at most RP_CANARY_FEED_MAX,
 * only while the session wants to read, STARTTLS "handshakes" that succeed
 * or fail). abort()s when an invariant breaks: footprint, output bound,
 * arrival strings terminated and within their caps, recipient count. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary_smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const domains[] = {"canary.example.net", "c2.example."};

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_hop(const struct received_hop *h)
{
	if (!TERMINATED(h->from_helo) || !TERMINATED(h->from_rdns) || !TERMINATED(h->from_ip) ||
	    !TERMINATED(h->by) || !TERMINATED(h->with) || !TERMINATED(h->id))
		abort();
}

static int rcpt_cb(void *arg, const char *local, const char *domain)
{
	(void)arg;
	if (strlen(local) > RP_ADDR_MAX || strlen(domain) > RP_ADDR_MAX)
		abort();
	return local[0] == 'x' ? -1 : 0;
}

static int commit_cb(void *arg, const struct canary_arrival *a, char *why, size_t whylen)
{
	size_t i;

	(void)arg;
	if (a->nrcpts < 1 || a->nrcpts > RP_CANARY_RCPTS_MAX)
		abort();
	if (a->ntokens > RP_CANARY_BODY_TOKENS || a->nhops > RP_RECEIVED_HOPS_MAX)
		abort();
	if (a->size > RP_CANARY_MESSAGE_MAX)
		abort();
	if (!TERMINATED(a->peer_ip) || !TERMINATED(a->helo) || !TERMINATED(a->mail_from) ||
	    !TERMINATED(a->message_id) || !TERMINATED(a->tls_protocol) ||
	    !TERMINATED(a->tls_cipher))
		abort();
	for (i = 0; i < a->nrcpts; i++)
		if (!TERMINATED(a->rcpts[i]) || strchr(a->rcpts[i], '@') == NULL)
			abort();
	for (i = 0; i < a->ntokens; i++) {
		const char *t = a->tokens[i];

		if (!TERMINATED(a->tokens[i]) || strncmp(t, "rp-", 3) != 0 ||
		    strlen(t) > RP_CANARY_TOKEN_WORD_MAX)
			abort();
		for (; *t != '\0'; t++)
			if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '-'))
				abort();
	}
	for (i = 0; i < a->nhops; i++)
		check_hop(&a->hops[i]);
	if (a->size % 7 == 3) {
		snprintf(why, whylen, "fuzz \x01 fail");
		return -1;
	}
	return 0;
}

static void check_output(struct canary_smtp *s, bool drain)
{
	size_t len, i;
	const char *out = canary_smtp_output(s, &len);

	if (len > RP_CANARY_OUT_MAX || canary_smtp_footprint(s) > RP_CANARY_FOOTPRINT_MAX)
		abort();
	/* replies: printable lines ending in CRLF, each "ddd" then ' ' or '-' */
	if (len > 0 && (len < 2 || out[len - 2] != '\r' || out[len - 1] != '\n'))
		abort();
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == '\n' && (i == 0 || out[i - 1] != '\r'))
			abort();
		if ((c < 0x20 && c != '\r' && c != '\n') || c >= 0x7f)
			abort();
	}
	if (drain)
		canary_smtp_output_consume(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct canary_smtp_params p;
	struct canary_smtp *s;
	size_t off = 1, chunk;
	unsigned mode;
	uint64_t now = 1800000000000ULL;
	unsigned stalls = 0;

	if (size < 1)
		return 0;
	mode = data[0];
	chunk = (size_t)1 << (mode & 7); /* 1 .. 128 bytes, or whole below */
	if (mode & 8)
		chunk = RP_CANARY_FEED_MAX;
	memset(&p, 0, sizeof(p));
	p.hostname = "canary.example.org";
	p.domains = domains;
	p.ndomains = 2;
	p.starttls = (mode & 16) == 0;
	p.message_max = (mode & 32) ? 512 : 0;
	p.rcpt = rcpt_cb;
	p.commit = commit_cb;
	s = canary_smtp_new(&p, "192.0.2.1", 25, now);
	if (s == NULL)
		return 0;
	while (off < size) {
		enum canary_smtp_action a;
		/* mode bit 6: a client that reads its replies only now and then */
		bool drain = (mode & 64) == 0 || (off & 0x300) == 0 || stalls > 2;

		now++;
		if (!canary_smtp_wants_read(s)) {
			a = canary_smtp_feed(s, now, NULL, 0);
			stalls++;
		} else {
			size_t n = size - off < chunk ? size - off : chunk;

			a = canary_smtp_feed(s, now, (const char *)data + off, n);
			off += n;
			stalls = 0;
		}
		check_output(s, drain);
		if (a == CANARY_ACT_CLOSE)
			break;
		if (a == CANARY_ACT_STARTTLS) {
			check_output(s, true);
			a = (off & 1) ? canary_smtp_tls_done(s, "TLSv1.3", "TLS_AES_256_GCM_SHA384")
			              : canary_smtp_tls_done(s, NULL, NULL);
			if (a == CANARY_ACT_CLOSE)
				break;
		}
		if (stalls > 8)
			abort(); /* held back with the output drained: no progress */
		if (off % 4093 == 0 && canary_smtp_timeout(s, now) != CANARY_ACT_CLOSE)
			abort();
	}
	check_output(s, true);
	if (canary_smtp_close(s, "4.7.0 fuzz done") != CANARY_ACT_CLOSE)
		abort();
	check_output(s, true);
	canary_smtp_free(&s);
	return 0;
}
