/* relay_tests.h - the relay-test catalogue: stable ids, MAIL FROM / RCPT TO
 * templates, what acceptance of each means, and named sets. Expansion is
 * bounded by RP_ADDR_MAX and refuses tests whose parameters are unknown. */
#ifndef RP_RELAY_TESTS_H
#define RP_RELAY_TESTS_H

#include <stdbool.h>
#include <stddef.h>

/* How strongly a 2xx to this test's RCPT shows relaying. */
enum rt_confidence {
	RT_CONF_HIGH = 0, /* plainly external recipient: acceptance is relaying */
	RT_CONF_MEDIUM,   /* odd syntax a server may rewrite to a local mailbox
	                     (percent hack, quoted, bang path, source route) */
	RT_CONF_COUNT
};

struct relay_test_def {
	const char *id;        /* stable id, e.g. "external-sender" */
	const char *mail_tmpl; /* reverse-path template, without <> */
	const char *rcpt_tmpl; /* forward-path template, without <> */
	enum rt_confidence conf;
	const char *meaning; /* one sentence: what a 2xx to RCPT shows */
	/* Not a relay test: its acceptance never counts toward the verdict
	 * (backscatter-probe: mail to an unknown mailbox on the server itself,
	 * whose bounce to the canary shows backscatter). */
	bool finding_only;
};

/* Template placeholders: {F} sender local part, {T} recipient local part,
 * {D} external domain, {S} server name, {L} server's mail domain,
 * {IP} address literal with brackets ("[192.0.2.1]", "[IPv6:2001:db8::1]"). */
struct rt_params {
	const char *F, *T, *D;
	const char *S;  /* NULL when unknown */
	const char *L;  /* NULL when unknown */
	const char *IP; /* literal with brackets; NULL when unknown */
};

/* The catalogue, in stable order. */
const struct relay_test_def *relay_tests_all(size_t *n);
/* Index of test id, or -1. */
int relay_test_index(const char *id);

/* Named sets, for --tests and --help. */
struct relay_test_set {
	const char *name;
	const char *desc;
	const char *ids; /* comma-separated ids, or "*" for every test */
};
const struct relay_test_set *relay_test_sets(size_t *n);

/* Select tests by a comma-separated list of ids and set names, in catalogue
 * order, without duplicates. Returns 0 and fills idx[0..*n), or -1 with a
 * message naming the unknown word in err. */
int relay_tests_select(const char *spec, size_t *idx, size_t max, size_t *n, char *err,
                       size_t errlen);

/* Expand a test. Returns 0, or -1 with *why_not set ("server name unknown",
 * "local domain unknown", "address too long") when it cannot be built. */
int relay_test_expand(const struct relay_test_def *t, const struct rt_params *p, char *mail,
                      size_t mail_len, char *rcpt, size_t rcpt_len, const char **why_not);

#endif
