/* relay_tests.c - the relay-test catalogue (DESIGN.md section 4): the union of
 * nmap's smtp-open-relay tests, Metasploit's extended set and the classic
 * MAPS/ORVEDB forms, with stable ids. Expansion writes into caller buffers and
 * fails rather than truncate. */
#include "relay_tests.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HIGH RT_CONF_HIGH
#define MED  RT_CONF_MEDIUM

static const struct relay_test_def catalogue[] = {
    {"null-sender", "", "{T}@{D}", HIGH,
     "a bounce (null reverse-path) to an external domain is accepted for relay", false},
    {"external-sender", "{F}@{D}", "{T}@{D}", HIGH,
     "mail from an external sender to an external domain is accepted: a plain open relay", false},
    {"server-name-sender", "{F}@{S}", "{T}@{D}", HIGH,
     "a sender forged as the server's own name is trusted to relay", false},
    {"local-domain-sender", "{F}@{L}", "{T}@{D}", HIGH,
     "a sender forged in the server's own mail domain is trusted to relay", false},
    {"localhost-sender", "{F}@localhost", "{T}@{D}", HIGH,
     "a sender claiming to be localhost is trusted to relay", false},
    {"unqualified-sender", "{F}", "{T}@{D}", HIGH,
     "an unqualified sender (no domain) is taken as local and trusted to relay", false},
    {"ip-literal-sender", "{F}@{IP}", "{T}@{D}", HIGH,
     "a sender at the server's own address literal is trusted to relay", false},
    {"percent-hack-ip", "{F}@{IP}", "{T}%{D}@{IP}", MED,
     "the percent hack through the address literal is accepted; the server may rewrite it to "
     "the external address, or keep it as a local mailbox",
     false},
    {"percent-hack-name", "{F}@{IP}", "{T}%{D}@{S}", MED,
     "the percent hack through the server name is accepted; it relays when the server expands "
     "the percent sign",
     false},
    {"percent-hack-local", "{F}@{L}", "{T}%{D}@{L}", MED,
     "the percent hack through the server's mail domain is accepted", false},
    {"quoted-recipient", "{F}@{IP}", "\"{T}@{D}\"", MED,
     "a quoted external address is accepted; it relays when the server unquotes it", false},
    {"quoted-percent", "{F}@{IP}", "\"{T}%{D}\"", MED, "a quoted percent-hack address is accepted",
     false},
    {"double-at-ip", "{F}@{IP}", "{T}@{D}@{IP}", MED,
     "an address with two @ through the address literal is accepted", false},
    {"quoted-at-ip", "{F}@{IP}", "\"{T}@{D}\"@{IP}", MED,
     "a quoted external address at the address literal is accepted", false},
    {"double-at-name", "{F}@{IP}", "{T}@{D}@{S}", MED,
     "an address with two @ through the server name is accepted", false},
    {"trailing-at", "{F}@{IP}", "{T}@{D}@", MED,
     "an external address with a trailing @ is accepted", false},
    {"source-route-ip", "{F}@{IP}", "@{IP}:{T}@{D}", HIGH,
     "a source route through the address literal to an external address is accepted (RFC 5321 "
     "says to ignore the route: the mail goes to the external address)",
     false},
    {"source-route-name", "{F}@{IP}", "@{S}:{T}@{D}", HIGH,
     "a source route through the server name to an external address is accepted", false},
    {"bang-path", "{F}@{IP}", "{D}!{T}", MED, "a UUCP bang path to the external domain is accepted",
     false},
    {"bang-path-ip", "{F}@{IP}", "{D}!{T}@{IP}", MED,
     "a UUCP bang path at the address literal is accepted", false},
    {"bang-path-name", "{F}@{IP}", "{D}!{T}@{S}", MED,
     "a UUCP bang path at the server name is accepted", false},
    /* Appended last: a token names its test by catalogue index. */
    {"backscatter-probe", "{F}@{D}", "{T}@{IP}", HIGH,
     "mail to an unknown mailbox at the server's own address literal is accepted (no "
     "recipient validation at RCPT); with a canary, a bounce to the sender shows "
     "backscatter. Not a relay test: its acceptance never makes the server open",
     true},
};
_Static_assert(sizeof(catalogue) / sizeof(catalogue[0]) <= 64, "catalogue fits RP_TESTS_MAX");

static const struct relay_test_set sets[] = {
    {"all", "every relay test in the catalogue (not backscatter-probe)", "*"},
    {"basic", "plain relay and sender-forgery tests",
     "null-sender,external-sender,server-name-sender,local-domain-sender"},
    {"spoof", "forged local senders",
     "server-name-sender,local-domain-sender,localhost-sender,unqualified-sender,"
     "ip-literal-sender"},
    {"syntax", "address-syntax tricks (percent, quotes, @@, source routes, bang paths)",
     "percent-hack-ip,percent-hack-name,percent-hack-local,quoted-recipient,quoted-percent,"
     "double-at-ip,quoted-at-ip,double-at-name,trailing-at,source-route-ip,source-route-name,"
     "bang-path,bang-path-ip,bang-path-name"},
    {"nmap", "the 16 tests of nmap's smtp-open-relay script",
     "null-sender,external-sender,server-name-sender,ip-literal-sender,percent-hack-ip,"
     "percent-hack-name,quoted-recipient,quoted-percent,double-at-ip,quoted-at-ip,"
     "double-at-name,source-route-ip,source-route-name,bang-path,bang-path-ip,bang-path-name"},
};

const struct relay_test_def *relay_tests_all(size_t *n)
{
	*n = sizeof(catalogue) / sizeof(catalogue[0]);
	return catalogue;
}

const struct relay_test_set *relay_test_sets(size_t *n)
{
	*n = sizeof(sets) / sizeof(sets[0]);
	return sets;
}

int relay_test_index(const char *id)
{
	for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++)
		if (strcmp(catalogue[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* Mark every id of a comma-separated list; "*" marks all. -1 on an unknown
 * word, which is copied to bad. */
static int mark_list(const char *list, bool *mark, bool allow_sets, char *bad, size_t badlen)
{
	size_t ntests = sizeof(catalogue) / sizeof(catalogue[0]);
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char word[64];

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(word)) {
			snprintf(bad, badlen, "%.*s", (int)(len < 60 ? len : 60), p);
			return -1;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		if (strcmp(word, "*") == 0) {
			for (size_t i = 0; i < ntests; i++)
				if (!catalogue[i].finding_only)
					mark[i] = true;
		} else {
			int idx = relay_test_index(word);
			bool found = idx >= 0;

			if (found)
				mark[idx] = true;
			for (size_t s = 0;
			     !found && allow_sets && s < sizeof(sets) / sizeof(sets[0]); s++) {
				if (strcmp(sets[s].name, word) == 0) {
					found = true;
					if (mark_list(sets[s].ids, mark, false, bad, badlen) < 0)
						return -1;
				}
			}
			if (!found) {
				snprintf(bad, badlen, "%s", word);
				return -1;
			}
		}
		p += len;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ',')
			p++;
	}
	return 0;
}

int relay_tests_select(const char *spec, size_t *idx, size_t max, size_t *n, char *err,
                       size_t errlen)
{
	size_t ntests = sizeof(catalogue) / sizeof(catalogue[0]);
	bool mark[sizeof(catalogue) / sizeof(catalogue[0])] = {false};
	char bad[64] = "";

	*n = 0;
	if (spec == NULL || *spec == '\0') {
		snprintf(err, errlen, "empty test list");
		return -1;
	}
	if (mark_list(spec, mark, true, bad, sizeof(bad)) < 0) {
		snprintf(err, errlen, "unknown test or set \"%s\" (see --tests list)", bad);
		return -1;
	}
	for (size_t i = 0; i < ntests; i++) {
		if (!mark[i])
			continue;
		if (*n >= max) {
			snprintf(err, errlen, "too many tests (at most %zu)", max);
			return -1;
		}
		idx[(*n)++] = i;
	}
	return 0;
}

int relay_test_expand(const struct relay_test_def *t, const struct rt_params *p, char *mail,
                      size_t mail_len, char *rcpt, size_t rcpt_len, const char **why_not)
{
	const char *tmpl[2] = {t->mail_tmpl, t->rcpt_tmpl};
	char *dst[2] = {mail, rcpt};
	size_t cap[2] = {mail_len, rcpt_len};

	for (int k = 0; k < 2; k++) {
		const char *s = tmpl[k];
		size_t o = 0;

		while (*s) {
			const char *val = NULL;
			size_t vlen, adv;

			if (*s != '{') {
				val = s;
				vlen = 1;
				adv = 1;
			} else {
				const char *close = strchr(s, '}');
				size_t nlen = close ? (size_t)(close - s - 1) : 0;

				if (close == NULL)
					return *why_not = "bad template", -1;
				adv = nlen + 2;
				if (nlen == 1 && s[1] == 'F')
					val = p->F;
				else if (nlen == 1 && s[1] == 'T')
					val = p->T;
				else if (nlen == 1 && s[1] == 'D')
					val = p->D;
				else if (nlen == 1 && s[1] == 'S') {
					if ((val = p->S) == NULL)
						return *why_not = "server name unknown", -1;
				} else if (nlen == 1 && s[1] == 'L') {
					if ((val = p->L) == NULL)
						return *why_not = "local mail domain unknown", -1;
				} else if (nlen == 2 && s[1] == 'I' && s[2] == 'P') {
					if ((val = p->IP) == NULL)
						return *why_not = "address literal unknown", -1;
				} else {
					return *why_not = "bad template", -1;
				}
				if (val == NULL)
					return *why_not = "missing parameter", -1;
				vlen = strlen(val);
			}
			if (o + vlen + 1 > cap[k])
				return *why_not = "address too long", -1;
			memcpy(dst[k] + o, val, vlen);
			o += vlen;
			s += adv;
		}
		dst[k][o] = '\0';
	}
	return 0;
}
