/* received_fuzzer.c - libFuzzer harness for the Received: parser. Parses the
 * input as one header value into a hop pre-filled with garbage and abort()s
 * when an invariant breaks: a field not NUL-terminated in its buffer, a
 * from_ip that inet_pton refuses, a -1 that left fields set, a 0 with neither
 * a from nor a by clause, or a result that depends on bytes past len or
 * past RP_RECEIVED_VALUE_MAX. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "received.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *f, size_t cap)
{
	if (strnlen(f, cap) >= cap)
		abort();
}

static void check_hop(const struct received_hop *h, int rc)
{
	static const struct received_hop zero;
	unsigned char bin[sizeof(struct in6_addr)];

	check_field(h->from_helo, sizeof(h->from_helo));
	check_field(h->from_rdns, sizeof(h->from_rdns));
	check_field(h->from_ip, sizeof(h->from_ip));
	check_field(h->by, sizeof(h->by));
	check_field(h->with, sizeof(h->with));
	check_field(h->id, sizeof(h->id));
	if (h->from_ip[0] != '\0' && inet_pton(AF_INET, h->from_ip, bin) != 1 &&
	    inet_pton(AF_INET6, h->from_ip, bin) != 1)
		abort();
	if (rc == -1 && memcmp(h, &zero, sizeof(*h)) != 0)
		abort();
	if (rc == 0 && h->from_helo[0] == '\0' && h->from_rdns[0] == '\0' &&
	    h->from_ip[0] == '\0' && h->by[0] == '\0')
		abort();
	if (rc != 0 && rc != -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct received_hop a, b;
	static char copy[RP_RECEIVED_VALUE_MAX + 64];
	size_t n = size < sizeof(copy) - 16 ? size : sizeof(copy) - 16;
	int rc;

	memset(&a, 0xa5, sizeof(a));
	rc = received_parse((const char *)data, size, &a);
	check_hop(&a, rc);
	/* The same bytes (cut past RP_RECEIVED_VALUE_MAX, which the parser never
	 * reads) followed by others: the same hop, so only len bytes are read. */
	memcpy(copy, data, n);
	memset(copy + n, '(', 16);
	memset(&b, 0x5a, sizeof(b));
	if (received_parse(copy, n, &b) != rc || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	return 0;
}
