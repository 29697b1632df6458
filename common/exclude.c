/* exclude.c - the do-not-test list (exclude.h): entries parsed and bounded
 * on the way in (RP_EXCLUDE_MAX entries, RP_EXCLUDE_REASON_MAX bytes of
 * reason, host names by target_hostname_ok, CIDR host bits zero); lookups by
 * binary search per prefix length and per domain suffix. */
#include "exclude.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp_take.h"
#include "syntax.h"
#include "target.h"
#include "targets_file.h"

struct net {
	uint8_t fam; /* 4 or 6 */
	uint8_t len; /* prefix length */
	uint8_t addr[16];
	size_t entry;
};

struct dom {
	char *name; /* lower case, no trailing dot */
	size_t entry;
};

struct exclude_list {
	struct exclude_entry *e;
	size_t n, cap;
	struct net *nets;
	size_t nnets;
	struct dom *doms;
	size_t ndoms;
	bool sorted;
	/* prefix lengths present, per family: only those are looked up */
	bool len4[33], len6[129];
};

struct exclude_list *exclude_new(void)
{
	struct exclude_list *l = calloc(1, sizeof(*l));

	if (l != NULL)
		l->sorted = true;
	return l;
}

void exclude_free(struct exclude_list **lp)
{
	struct exclude_list *l = rp_take(lp);

	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->e[i].text);
		free((char *)l->e[i].reason);
		free((char *)l->e[i].where);
	}
	for (size_t i = 0; i < l->ndoms; i++)
		free(l->doms[i].name);
	free(l->e);
	free(l->nets);
	free(l->doms);
	free(l);
}

size_t exclude_count(const struct exclude_list *l)
{
	return l != NULL ? l->n : 0;
}

static void mask(uint8_t *a, size_t bytes, unsigned len)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * (unsigned)i : 0;

		a[i] &= (uint8_t)(keep == 8 ? 0xff : (0xff << (8 - keep)) & 0xff);
	}
}

/* "a.b.c.d", "x:y::z", with an optional "/len"; -1 when s is not one. */
static int parse_net(const char *s, struct net *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned max, len;
	uint8_t check[16];

	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->fam = 4, max = 32;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->fam = 6, max = 128;
	else
		return -1;
	len = max;
	if (slash != NULL) {
		char *end;
		unsigned long v;

		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3) {
			snprintf(err, errlen, "\"%.64s\": bad prefix length", s);
			return -2;
		}
		v = strtoul(slash + 1, &end, 10);
		if (*end != '\0') {
			snprintf(err, errlen, "\"%.64s\": bad prefix length", s);
			return -2;
		}
		if (v > max) {
			snprintf(err, errlen, "\"%.64s\": prefix length over %u", s, max);
			return -2;
		}
		len = (unsigned)v;
	}
	out->len = (uint8_t)len;
	memcpy(check, out->addr, sizeof(check));
	mask(check, out->fam == 4 ? 4 : 16, len);
	if (memcmp(check, out->addr, out->fam == 4 ? 4 : 16) != 0) {
		snprintf(err, errlen, "\"%.64s\": host bits set past /%u", s, len);
		return -2;
	}
	return 0;
}

/* name lower-cased, without a trailing dot, into buf; -1 when too long. */
static int fold_name(const char *name, char *buf, size_t len)
{
	size_t n = strnlen(name, len);

	if (n >= len)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	if (n > 0 && buf[n - 1] == '.')
		n--;
	buf[n] = '\0';
	return 0;
}

/* A last label of digits only: no top-level domain is (RFC 3696 2), so
 * "192.0.2.300" is a mistyped address, not a name. */
static bool numeric_tld(const char *name)
{
	const char *dot = strrchr(name, '.'), *last = dot != NULL ? dot + 1 : name;

	return last[0] != '\0' && strspn(last, "0123456789") == strlen(last);
}

int exclude_add(struct exclude_list *l, const char *entry, const char *reason, const char *where,
                char *err, size_t errlen)
{
	struct exclude_entry *e;
	struct net net;
	char name[RP_DOMAIN_MAX + 2];
	int rc;

	if (l == NULL || entry == NULL || entry[0] == '\0')
		return snprintf(err, errlen, "empty entry"), -1;
	if (l->n >= RP_EXCLUDE_MAX)
		return snprintf(err, errlen, "more than %d entries", RP_EXCLUDE_MAX), -1;
	if (reason != NULL &&
	    !rp_text_ok(reason, RP_EXCLUDE_REASON_MAX, RP_TEXT_EMPTY | RP_TEXT_UTF8))
		return snprintf(err, errlen,
		                "reason: at most %d bytes of text without control characters",
		                RP_EXCLUDE_REASON_MAX),
		       -1;
	rc = parse_net(entry, &net, err, errlen);
	if (rc == -2)
		return -1;
	if (rc < 0 && (fold_name(entry, name, sizeof(name)) < 0 || !target_hostname_ok(name) ||
	               numeric_tld(name)))
		return snprintf(err, errlen,
		                "\"%.64s\" is not an address, a CIDR block or a host name", entry),
		       -1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct exclude_entry *ne = realloc(l->e, cap * sizeof(*ne));
		struct net *nn = realloc(l->nets, cap * sizeof(*nn));
		struct dom *nd;

		if (ne != NULL)
			l->e = ne;
		if (nn != NULL)
			l->nets = nn;
		nd = realloc(l->doms, cap * sizeof(*nd));
		if (nd != NULL)
			l->doms = nd;
		if (ne == NULL || nn == NULL || nd == NULL)
			return snprintf(err, errlen, "out of memory"), -1;
		l->cap = cap;
	}
	{
		char *t = strdup(entry), *r = strdup(reason != NULL ? reason : "");
		char *w = strdup(where != NULL ? where : ""), *dn = rc < 0 ? strdup(name) : NULL;

		if (t == NULL || r == NULL || w == NULL || (rc < 0 && dn == NULL)) {
			free(t);
			free(r);
			free(w);
			free(dn);
			return snprintf(err, errlen, "out of memory"), -1;
		}
		e = &l->e[l->n];
		e->text = t;
		e->reason = r;
		e->where = w;
		if (rc < 0)
			l->doms[l->ndoms].name = dn;
	}
	if (rc == 0) {
		net.entry = l->n;
		l->nets[l->nnets++] = net;
		if (net.fam == 4)
			l->len4[net.len] = true;
		else
			l->len6[net.len] = true;
	} else {
		l->doms[l->ndoms++].entry = l->n;
	}
	l->n++;
	l->sorted = false;
	return 0;
}

struct load {
	struct exclude_list *l;
	char err[512];
};

static int load_line(void *arg, const char *text, const char *where, size_t line)
{
	struct load *ld = arg;
	char entry[RP_TARGET_LINE_MAX + 1], origin[512], why[256];
	size_t n = strcspn(text, " \t");
	const char *reason = text + n;

	if (n >= sizeof(entry)) {
		snprintf(ld->err, sizeof(ld->err), "%s:%zu: entry too long", where, line);
		return -1;
	}
	memcpy(entry, text, n);
	entry[n] = '\0';
	reason += strspn(reason, " \t");
	snprintf(origin, sizeof(origin), "%s:%zu", where, line);
	if (exclude_add(ld->l, entry, reason, origin, why, sizeof(why)) < 0) {
		snprintf(ld->err, sizeof(ld->err), "%s:%zu: %s", where, line, why);
		return -1;
	}
	return 0;
}

int exclude_load_file(struct exclude_list *l, const char *path, char *err, size_t errlen)
{
	struct load ld = {l, ""};

	if (targets_file_read(path, load_line, &ld, err, errlen) == 0)
		return 0;
	if (err[0] == '\0')
		snprintf(err, errlen, "%s", ld.err);
	return -1;
}

static int net_cmp(const void *a, const void *b)
{
	const struct net *x = a, *y = b;

	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static int dom_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dom *)a)->name, ((const struct dom *)b)->name);
}

static void sort(struct exclude_list *l)
{
	if (l->sorted)
		return;
	qsort(l->nets, l->nnets, sizeof(*l->nets), net_cmp);
	qsort(l->doms, l->ndoms, sizeof(*l->doms), dom_cmp);
	l->sorted = true;
}

static const struct exclude_entry *match_net(struct exclude_list *l, unsigned fam,
                                             const uint8_t *addr)
{
	unsigned max = fam == 4 ? 32 : 128;
	const bool *present = fam == 4 ? l->len4 : l->len6;

	sort(l);
	for (unsigned len = max + 1; len-- > 0;) {
		struct net key = {.fam = (uint8_t)fam, .len = (uint8_t)len};
		const struct net *hit;

		if (!present[len])
			continue;
		memcpy(key.addr, addr, fam == 4 ? 4 : 16);
		mask(key.addr, fam == 4 ? 4 : 16, len);
		hit = bsearch(&key, l->nets, l->nnets, sizeof(*l->nets), net_cmp);
		if (hit != NULL)
			return &l->e[hit->entry];
	}
	return NULL;
}

/* An address of family 4 or 6; IPv4-mapped IPv6 is looked up as IPv4. */
static const struct exclude_entry *match_any(struct exclude_list *l, unsigned fam, const uint8_t *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (l->nnets == 0)
		return NULL;
	if (fam == 6 && memcmp(a, mapped, sizeof(mapped)) == 0)
		return match_net(l, 4, a + 12);
	return match_net(l, fam, a);
}

const struct exclude_entry *exclude_match_addr(struct exclude_list *l, const struct sockaddr *sa)
{
	if (l == NULL || sa == NULL)
		return NULL;
	if (sa->sa_family == AF_INET)
		return match_any(l, 4,
		                 (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return match_any(l, 6,
		                 (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return NULL;
}

const struct exclude_entry *exclude_match_host(struct exclude_list *l, const char *host)
{
	char name[RP_DOMAIN_MAX + 2];
	struct net net;
	char err[128];
	size_t n;

	if (l == NULL || host == NULL || l->n == 0)
		return NULL;
	n = strnlen(host, sizeof(name));
	/* "[192.0.2.1]", "[IPv6:2001:db8::1]", or the bare address */
	if (n >= 2 && n < sizeof(name) && host[0] == '[' && host[n - 1] == ']') {
		const char *in = host + 1;

		n -= 2;
		if (n > 5 && strncasecmp(in, "IPv6:", 5) == 0)
			in += 5, n -= 5;
		memcpy(name, in, n);
		name[n] = '\0';
	} else if (fold_name(host, name, sizeof(name)) < 0) {
		return NULL;
	}
	if (strchr(name, '/') == NULL && parse_net(name, &net, err, sizeof(err)) == 0)
		return match_any(l, net.fam, net.addr);
	sort(l);
	/* the name, then each parent domain: the longest entry wins */
	for (const char *p = name; p != NULL && *p != '\0';) {
		struct dom key = {(char *)p, 0};
		const struct dom *hit =
		    l->ndoms ? bsearch(&key, l->doms, l->ndoms, sizeof(*l->doms), dom_cmp) : NULL;

		if (hit != NULL)
			return &l->e[hit->entry];
		p = strchr(p, '.');
		if (p != NULL)
			p++;
	}
	return NULL;
}

const struct exclude_entry *exclude_match(struct exclude_list *l, const struct sockaddr *sa,
                                          const char *host)
{
	const struct exclude_entry *hit = sa != NULL ? exclude_match_addr(l, sa) : NULL;

	return hit != NULL ? hit : exclude_match_host(l, host);
}

void exclude_describe(const struct exclude_entry *en, char *buf, size_t len)
{
	bool w = en->where[0] != '\0', r = en->reason[0] != '\0';

	snprintf(buf, len, "excluded by %s%s%s%s%s%s", en->text, w ? " (" : "", w ? en->where : "",
	         w ? ")" : "", r ? ": " : "", r ? en->reason : "");
}

bool exclude_check(struct exclude_list *l, const struct sockaddr *sa, const char *host, char *why,
                   size_t whylen)
{
	const struct exclude_entry *en = exclude_match(l, sa, host);

	if (en == NULL)
		return false;
	exclude_describe(en, why, whylen);
	return true;
}

const struct exclude_entry *exclude_entry_at(const struct exclude_list *l, size_t i)
{
	return l != NULL && i < l->n ? &l->e[i] : NULL;
}
