/* target.c - parse a probe target as the user writes it ("host", "host:port",
 * an IPv4 or IPv6 literal, "[v6]:port") into a target_spec, and judge host
 * names (LDH syntax) and reserved domains (RFC 2606, RFC 6761, RFC 6762).
 * Inputs are bounded by RP_TARGET_LINE_MAX; host names by 253 characters and
 * 63 per label. Names are lower-cased and lose their trailing dot. */
#include "target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOSTNAME_MAX 253
#define LABEL_MAX    63

static void fail(char *err, size_t errlen, const char *input, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(char *err, size_t errlen, const char *input, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "bad target \"%.200s\": %s", input, why);
}

static bool is_ldh(unsigned char c)
{
	return isascii(c) && (isalnum(c) || c == '-');
}

/* NULL when name is a valid host name, else what is wrong with it. */
static const char *hostname_problem(const char *name)
{
	size_t len, label = 0;

	if (name == NULL)
		return "empty host name";
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--; /* a trailing dot is allowed: the root */
	if (len == 0)
		return "empty host name";
	if (len > HOSTNAME_MAX)
		return "host name longer than 253 characters";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return "empty label in host name";
			if (name[i - 1] == '-')
				return "host name label ends with '-'";
			label = 0;
			continue;
		}
		if (c == '_')
			return "underscore in host name";
		if (!is_ldh(c))
			return "invalid character in host name";
		if (label == 0 && c == '-')
			return "host name label starts with '-'";
		if (++label > LABEL_MAX)
			return "host name label longer than 63 characters";
	}
	if (label == 0)
		return "empty label in host name";
	if (name[len - 1] == '-')
		return "host name label ends with '-'";
	return NULL;
}

bool target_hostname_ok(const char *name)
{
	return hostname_problem(name) == NULL;
}

/* Domains that never resolve on the public Internet, or that are reserved for
 * documentation (a relay test to them proves nothing). */
static const char *const reserved_domains[] = {
    "example", "test",      "invalid",     "localhost",   "local",
    "onion",   "home.arpa", "example.com", "example.net", "example.org",
};

bool target_domain_reserved(const char *domain)
{
	char d[RP_DOMAIN_MAX + 1];
	size_t len;

	if (domain == NULL)
		return false;
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > RP_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		d[i] = (char)tolower((unsigned char)domain[i]);
	d[len] = '\0';

	for (size_t i = 0; i < sizeof(reserved_domains) / sizeof(reserved_domains[0]); i++) {
		const char *r = reserved_domains[i];
		size_t rlen = strlen(r);
		if (len == rlen && memcmp(d, r, len) == 0)
			return true;
		if (len > rlen && d[len - rlen - 1] == '.' && memcmp(d + len - rlen, r, rlen) == 0)
			return true;
	}
	return false;
}

/* "1".."65535", digits only: the one port rule of this file (targets, the
 * port column, HOST:PORT settings). Returns 0, or -1 with a reason. */
static int parse_port(const char *s, size_t len, uint16_t *port, const char **why)
{
	unsigned long v = 0;

	if (len == 0) {
		*why = "empty port";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*why = "port is not a number";
			return -1;
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535) {
		*why = "port out of range (1-65535)";
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* True when the last label is all digits: "256.1.1.1" is a bad address, not a
 * name (no top-level domain is numeric). */
static bool last_label_numeric(const char *name)
{
	const char *dot = strrchr(name, '.');
	const char *p = dot ? dot + 1 : name;

	if (*p == '\0')
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* Fill out->host/family from host text (len bytes, no brackets). */
static int set_host(struct target_spec *out, const char *h, size_t len, bool bracketed,
                    const char *input, char *err, size_t errlen)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char host[RP_DOMAIN_MAX + 1];

	if (len == 0) {
		fail(err, errlen, input, "empty host");
		return -1;
	}
	if (len > HOSTNAME_MAX + 1) {
		fail(err, errlen, input, "host name longer than 253 characters");
		return -1;
	}
	memcpy(host, h, len);
	host[len] = '\0';

	if (inet_pton(AF_INET6, host, buf) == 1) {
		out->family = AF_INET6;
	} else if (inet_pton(AF_INET, host, buf) == 1) {
		out->family = AF_INET;
	} else if (bracketed) {
		fail(err, errlen, input, "not an IP address inside []");
		return -1;
	} else {
		const char *why = hostname_problem(host);
		if (why != NULL) {
			fail(err, errlen, input, "%s", why);
			return -1;
		}
		if (last_label_numeric(host)) {
			fail(err, errlen, input, "invalid IPv4 address");
			return -1;
		}
		out->family = 0;
		if (host[len - 1] == '.')
			host[--len] = '\0';
		for (size_t i = 0; i < len; i++)
			host[i] = (char)tolower((unsigned char)host[i]);
	}
	memcpy(out->host, host, len + 1);
	return 0;
}

/* The port after a target's host: out->port, port_given. 0 / -1 (err). */
static int take_port(struct target_spec *out, const char *p, char *err, size_t errlen)
{
	const char *why = NULL;

	if (parse_port(p, strlen(p), &out->port, &why) < 0) {
		fail(err, errlen, out->text, "%s", why);
		return -1;
	}
	out->port_given = true;
	return 0;
}

int target_parse(const char *s, uint16_t default_port, struct target_spec *out, char *err,
                 size_t errlen)
{
	const char *start, *end, *colon;
	size_t len;

	if (err && errlen)
		err[0] = '\0';
	if (s == NULL || out == NULL) {
		fail(err, errlen, "", "no target");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	start = s;
	while (*start && isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - start);
	if (len == 0) {
		fail(err, errlen, s, "empty target");
		return -1;
	}
	if (len >= sizeof(out->text)) {
		fail(err, errlen, start, "longer than %d characters", RP_TARGET_LINE_MAX - 1);
		return -1;
	}
	memcpy(out->text, start, len);
	out->text[len] = '\0';
	const char *t = out->text;
	out->port = default_port;

	if (t[0] == '[') {
		const char *close = strchr(t, ']');
		if (close == NULL) {
			fail(err, errlen, t, "missing ']'");
			return -1;
		}
		if (set_host(out, t + 1, (size_t)(close - t - 1), true, t, err, errlen) < 0)
			return -1;
		if (close[1] == '\0')
			return 0;
		if (close[1] != ':') {
			fail(err, errlen, t, "unexpected text after ']'");
			return -1;
		}
		return take_port(out, close + 2, err, errlen);
	}

	colon = strchr(t, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		/* Two colons or more: a bare IPv6 address, no port possible. */
		if (set_host(out, t, len, true, t, err, errlen) < 0) {
			fail(err, errlen, t, "invalid IPv6 address (use [addr]:port for a port)");
			return -1;
		}
		return 0;
	}
	if (colon == NULL)
		return set_host(out, t, len, false, t, err, errlen);

	if (set_host(out, t, (size_t)(colon - t), false, t, err, errlen) < 0)
		return -1;
	return take_port(out, colon + 1, err, errlen);
}

int target_canonical(const char *text, const char *portf, char *out, size_t outlen, char *err,
                     size_t errlen)
{
	struct target_spec t;
	uint16_t port = 0;
	const char *why;
	int n;

	if (text == NULL || target_parse(text, 25, &t, err, errlen) < 0) {
		if (text == NULL)
			snprintf(err, errlen, "no target");
		return -1;
	}
	if (portf != NULL && portf[0] != '\0') {
		if (parse_port(portf, strlen(portf), &port, &why) < 0) {
			snprintf(err, errlen, "port '%.16s' is not 1..65535", portf);
			return -1;
		}
		if (t.port_given && t.port != port) {
			snprintf(err, errlen, "target has port %u, port column says %u", t.port,
			         port);
			return -1;
		}
	} else if (t.port_given) {
		port = t.port;
	}
	if (port == 0)
		n = snprintf(out, outlen, "%s", t.host);
	else if (strchr(t.host, ':') != NULL)
		n = snprintf(out, outlen, "[%s]:%u", t.host, port);
	else
		n = snprintf(out, outlen, "%s:%u", t.host, port);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "target too long");
		return -1;
	}
	return 0;
}

bool target_is_canonical(const char *text)
{
	char canon[TARGET_CANONICAL_MAX], err[RP_TARGET_LINE_MAX + 128];

	return text != NULL && strnlen(text, RP_TARGET_LINE_MAX) < RP_TARGET_LINE_MAX &&
	       target_canonical(text, NULL, canon, sizeof(canon), err, sizeof(err)) == 0 &&
	       strcmp(canon, text) == 0;
}

bool target_address_literal_ok(const char *s)
{
	char buf[64];
	unsigned char addr[16];
	size_t len = strlen(s);

	if (len < 3 || len >= sizeof(buf) || s[0] != '[' || s[len - 1] != ']')
		return false;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	if (strncmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, addr) == 1;
	return inet_pton(AF_INET, buf, addr) == 1;
}

void target_default_ehlo(char *buf, size_t len)
{
	char host[RP_DOMAIN_MAX + 1] = "";

	if (gethostname(host, sizeof(host) - 1) == 0 && strchr(host, '.') != NULL &&
	    target_hostname_ok(host))
		snprintf(buf, len, "%s", host);
	else
		snprintf(buf, len, "%s", TARGET_FALLBACK_EHLO);
}

int target_parse_numeric_hostport(const char *addr, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = addr, *why;
	size_t hl;
	uint16_t p;

	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		h = addr + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL || memchr(addr, ':', (size_t)(colon - addr)) != NULL)
			return -1; /* a bare IPv6 address needs brackets */
		hl = (size_t)(colon - addr);
	}
	if (hl == 0 || hl >= hostlen || parse_port(colon + 1, strlen(colon + 1), &p, &why) < 0)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	{
		unsigned char a[sizeof(struct in6_addr)];

		if (inet_pton(addr[0] == '[' ? AF_INET6 : AF_INET, host, a) != 1)
			return -1; /* numeric only: no resolver at start-up */
	}
	*port = (unsigned)p;
	return 0;
}
