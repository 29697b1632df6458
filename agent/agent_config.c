/* agent_config.c - parses the relayprobe-agent INI file with inih: a reader
 * that counts lines (and refuses lines over inih's INI_MAX_LINE), a table of
 * known keys per section, one strict parser per value. The first problem is
 * reported as "FILE:LINE: key 'x': reason"; unknown sections and keys and
 * repeated keys are errors. Also the scope check (address classes from
 * addr_class.c, then the CIDR lists, on the address and on every IPv4
 * address it embeds) and the canary check. */
#include "agent_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr_class.h"
#include "target.h"

struct parse_ctx {
	struct agent_config *c;
	const char *path;
	FILE *f;
	int line;      /* line just read */
	int long_line; /* first line over INI_MAX_LINE, 0 none */
	int err_line;  /* line of the first error recorded, 0 none */
	char *err;
	size_t errlen;
	unsigned seen; /* bit per key table entry */
};

typedef int (*value_fn)(struct agent_config *c, const char *v, char *why, size_t whylen);

struct key_def {
	const char *section, *name;
	value_fn parse;
	bool required;
};

/* ---- helpers ---- */

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Next comma-separated item of *s into buf (trimmed); false at the end.
 * An item longer than buflen - 1 is returned cut, with *too_long set. */
static bool next_item(const char **s, char *buf, size_t buflen, bool *too_long)
{
	const char *p = skip_ws(*s), *end;
	size_t n;

	if (*p == '\0')
		return false;
	end = strchr(p, ',');
	if (end == NULL)
		end = p + strlen(p);
	*s = *end == ',' ? end + 1 : end;
	n = (size_t)(end - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*too_long = n >= buflen;
	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

static bool printable_no_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out,
                      char *why, size_t whylen)
{
	char *end = NULL;
	unsigned long n;

	if (*v < '0' || *v > '9') {
		snprintf(why, whylen, "\"%s\" is not a number", v);
		return -1;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end != '\0') {
		snprintf(why, whylen, "\"%s\" is not a number", v);
		return -1;
	}
	if (errno == ERANGE || n < min || n > max) {
		snprintf(why, whylen, "%s is out of range (%lu-%lu)", v, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_path(char *dst, size_t dstlen, const char *v, char *why, size_t whylen)
{
	if (*v == '\0') {
		snprintf(why, whylen, "empty path");
		return -1;
	}
	if (strlen(v) >= dstlen) {
		snprintf(why, whylen, "path longer than %zu bytes", dstlen - 1);
		return -1;
	}
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
			snprintf(why, whylen, "control character in path");
			return -1;
		}
	snprintf(dst, dstlen, "%s", v);
	return 0;
}

/* ---- value parsers ---- */

static int v_controller(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	const char *hp = v + 6, *colon;
	unsigned long port;

	if (strncmp(v, "tcp://", 6) != 0 || !printable_no_space(v)) {
		snprintf(why, whylen, "expected tcp://HOST:PORT");
		return -1;
	}
	if (strlen(v) >= sizeof(c->controller)) {
		snprintf(why, whylen, "longer than %zu bytes", sizeof(c->controller) - 1);
		return -1;
	}
	colon = strrchr(hp, ':');
	if (colon == NULL || colon == hp ||
	    parse_uint(colon + 1, 1, 65535, &port, why, whylen) < 0) {
		snprintf(why, whylen, "expected tcp://HOST:PORT (port 1-65535)");
		return -1;
	}
	snprintf(c->controller, sizeof(c->controller), "%s", v);
	return 0;
}

static int v_controller_key(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	return parse_path(c->controller_key, sizeof(c->controller_key), v, why, whylen);
}

static int v_keys(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	return parse_path(c->keys, sizeof(c->keys), v, why, whylen);
}

static int v_state(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	return parse_path(c->state, sizeof(c->state), v, why, whylen);
}

static int v_bind(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	unsigned char a[16];

	if (*v != '\0' && inet_pton(AF_INET, v, a) != 1 && inet_pton(AF_INET6, v, a) != 1) {
		snprintf(why, whylen, "\"%s\" is not an IPv4 or IPv6 address", v);
		return -1;
	}
	snprintf(c->bind, sizeof(c->bind), "%s", v);
	return 0;
}

static bool label_char(unsigned char ch, bool value)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-' || (value && ch == ':');
}

static int v_labels(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	char item[2 * AGENT_CONF_LABEL_MAX + 2];
	bool too_long;

	c->n_labels = 0;
	while (next_item(&v, item, sizeof(item), &too_long)) {
		char *eq = strchr(item, '=');
		if (too_long || eq == NULL || eq == item || eq[1] == '\0') {
			snprintf(why, whylen, "\"%s\": expected NAME=VALUE (each 1-%d characters)",
			         item, AGENT_CONF_LABEL_MAX);
			return -1;
		}
		*eq = '\0';
		if (strlen(item) > AGENT_CONF_LABEL_MAX || strlen(eq + 1) > AGENT_CONF_LABEL_MAX) {
			snprintf(why, whylen, "label \"%s\": name and value at most %d characters",
			         item, AGENT_CONF_LABEL_MAX);
			return -1;
		}
		for (const char *p = item; *p; p++)
			if (!label_char((unsigned char)*p, false)) {
				snprintf(why, whylen, "label name \"%s\": only [A-Za-z0-9_.-]",
				         item);
				return -1;
			}
		for (const char *p = eq + 1; *p; p++)
			if (!label_char((unsigned char)*p, true)) {
				snprintf(why, whylen, "label \"%s\": value only [A-Za-z0-9_.:-]",
				         item);
				return -1;
			}
		for (size_t i = 0; i < c->n_labels; i++)
			if (strcmp(c->label_keys[i], item) == 0) {
				snprintf(why, whylen, "label \"%s\" given twice", item);
				return -1;
			}
		if (c->n_labels == AGENT_CONF_LABELS_MAX) {
			snprintf(why, whylen, "more than %d labels", AGENT_CONF_LABELS_MAX);
			return -1;
		}
		memcpy(c->label_keys[c->n_labels], item, strlen(item) + 1);
		memcpy(c->label_values[c->n_labels], eq + 1, strlen(eq + 1) + 1);
		c->n_labels++;
	}
	return 0;
}

static int v_targets_per_order(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	unsigned long n;
	if (parse_uint(v, 1, RP_WIRE_ORDER_TARGETS_MAX, &n, why, whylen) < 0)
		return -1;
	c->targets_per_order = (unsigned)n;
	return 0;
}

static int v_concurrency(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	unsigned long n;
	if (parse_uint(v, 1, RP_DIALOGS_MAX, &n, why, whylen) < 0)
		return -1;
	c->concurrency = (unsigned)n;
	return 0;
}

static int v_order_deadline(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	unsigned long n;
	if (parse_uint(v, 1, RP_ORDER_DEADLINE_MAX_S, &n, why, whylen) < 0)
		return -1;
	c->order_deadline = (unsigned)n;
	return 0;
}

static int v_rate(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	char *end = NULL;
	double r;

	if (*v < '0' || *v > '9') {
		snprintf(why, whylen, "\"%s\" is not a number", v);
		return -1;
	}
	errno = 0;
	r = strtod(v, &end);
	if (*end != '\0' || errno != 0 || !isfinite(r) || r < 0 || r > 1000000) {
		snprintf(why, whylen, "\"%s\": expected connections per second, 0-1000000", v);
		return -1;
	}
	c->rate = r;
	return 0;
}

static int v_allow_data(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			c->allow_data = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			c->allow_data = false;
			return 0;
		}
	}
	snprintf(why, whylen, "\"%s\": expected yes or no", v);
	return -1;
}

static int v_canary_domains(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	char item[RP_DOMAIN_MAX + 2];
	bool too_long;

	c->n_canary_domains = 0;
	while (next_item(&v, item, sizeof(item), &too_long)) {
		if (too_long || !target_hostname_ok(item) || strchr(item, '.') == NULL) {
			snprintf(why, whylen, "\"%s\" is not a domain name", item);
			return -1;
		}
		if (c->n_canary_domains == AGENT_CONF_CANARIES_MAX) {
			snprintf(why, whylen, "more than %d domains", AGENT_CONF_CANARIES_MAX);
			return -1;
		}
		if (strlen(item) > RP_DOMAIN_MAX) {
			snprintf(why, whylen, "\"%s\" is too long", item);
			return -1;
		}
		memcpy(c->canary_domains[c->n_canary_domains++], item, strlen(item) + 1);
	}
	return 0;
}

static int cidr_list(struct agent_cidr *list, size_t *n, const char *v, char *why, size_t whylen)
{
	char item[64];
	bool too_long;

	*n = 0;
	while (next_item(&v, item, sizeof(item), &too_long)) {
		if (too_long || agent_cidr_parse(item, &list[*n]) < 0) {
			snprintf(why, whylen, "\"%s\" is not a CIDR (192.0.2.0/24, 2001:db8::/32)",
			         item);
			return -1;
		}
		if (++*n == AGENT_CONF_CIDRS_MAX && *skip_ws(v) != '\0') {
			snprintf(why, whylen, "more than %d networks", AGENT_CONF_CIDRS_MAX);
			return -1;
		}
	}
	return 0;
}

static int v_allow(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	return cidr_list(c->allow, &c->n_allow, v, why, whylen);
}

static int v_deny(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	return cidr_list(c->deny, &c->n_deny, v, why, whylen);
}

/* Class names; unspecified, this-network, multicast and broadcast are never
 * a host to probe (Linux connects 0.0.0.0 and :: to this host) and cannot be
 * allowed. */
static int v_allow_special(struct agent_config *c, const char *v, char *why, size_t whylen)
{
	char item[32];
	bool too_long;

	c->allow_special = 0;
	while (next_item(&v, item, sizeof(item), &too_long)) {
		int cls = too_long ? -1 : addr_class_from_name(item);
		if (cls < 0) {
			snprintf(why, whylen, "\"%s\": expected loopback, link-local or site-local",
			         item);
			return -1;
		}
		if (ADDR_CLASS_BIT(cls) & ADDR_CLASS_NEVER) {
			snprintf(why, whylen, "\"%s\" addresses can never be allowed", item);
			return -1;
		}
		c->allow_special |= ADDR_CLASS_BIT(cls);
	}
	return 0;
}

static const struct key_def keys_table[] = {
    {"agent", "controller", v_controller, true},
    {"agent", "controller_key", v_controller_key, true},
    {"agent", "keys", v_keys, true},
    {"agent", "state", v_state, true},
    {"agent", "bind", v_bind, false},
    {"agent", "labels", v_labels, false},
    {"limits", "targets_per_order", v_targets_per_order, false},
    {"limits", "concurrency", v_concurrency, false},
    {"limits", "rate", v_rate, false},
    {"limits", "order_deadline", v_order_deadline, false},
    {"limits", "allow_data", v_allow_data, false},
    {"limits", "canary_domains", v_canary_domains, false},
    {"scope", "allow", v_allow, false},
    {"scope", "deny", v_deny, false},
    {"scope", "allow_special", v_allow_special, false},
};
#define NKEYS (sizeof(keys_table) / sizeof(keys_table[0]))
_Static_assert(NKEYS <= 32, "seen bits");

/* ---- inih glue ---- */

static void record(struct parse_ctx *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void record(struct parse_ctx *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err_line != 0)
		return;
	p->err_line = line;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	/* Names and values come from the file: no control bytes on a terminal. */
	for (char *q = p->err; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
}

/* fgets with a line counter; a line longer than num - 1 bytes is swallowed
 * and recorded (inih would otherwise parse its tail as a new line). */
static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	size_t n;

	if (fgets(str, num, p->f) == NULL)
		return NULL;
	p->line++;
	n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n') {
		int ch;
		while ((ch = fgetc(p->f)) != EOF && ch != '\n')
			;
		if (p->long_line == 0)
			p->long_line = p->line;
		str[0] = '\0';
	}
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	char why[512];
	bool section_known = false;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key_def *k = &keys_table[i];
		if (strcmp(section, k->section) != 0)
			continue;
		section_known = true;
		if (strcmp(name, k->name) != 0)
			continue;
		if (p->seen & (1u << i)) {
			record(p, p->line, "key '%s': given twice in [%s]", name, section);
			return 0;
		}
		p->seen |= 1u << i;
		why[0] = '\0';
		if (k->parse(p->c, value, why, sizeof(why)) < 0) {
			record(p, p->line, "key '%s': %s", name, why);
			return 0;
		}
		return 1;
	}
	if (section[0] == '\0')
		record(p, p->line, "key '%s': outside any section", name);
	else if (!section_known)
		record(p, p->line, "unknown section [%s] (key '%s')", section, name);
	else
		record(p, p->line, "key '%s': unknown key in [%s]", name, section);
	return 0;
}

/* ---- public ---- */

void agent_config_defaults(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->targets_per_order = 1000;
	c->concurrency = 500;
	c->rate = 50;
	c->order_deadline = 14400;
	c->allow_data = false;
	agent_cidr_parse("0.0.0.0/0", &c->allow[0]);
	agent_cidr_parse("::/0", &c->allow[1]);
	c->n_allow = 2;
}

int agent_config_load(const char *path, struct agent_config *c, char *err, size_t errlen)
{
	struct parse_ctx p = {.c = c, .path = path, .err = err, .errlen = errlen};
	int rc;

	agent_config_defaults(c);
	if (errlen > 0)
		err[0] = '\0';
	p.f = fopen(path, "re");
	if (p.f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.f);
	if (p.long_line != 0 && (p.err_line == 0 || p.long_line < p.err_line)) {
		p.err_line = 0;
		record(&p, p.long_line, "line longer than %d bytes", INI_MAX_LINE - 1);
	}
	if (rc > 0 && (p.err_line == 0 || rc < p.err_line)) {
		p.err_line = 0;
		record(&p, rc, "syntax error (expected [section] or key = value)");
	} else if (rc < 0 && p.err_line == 0) {
		snprintf(err, errlen, "%s: %s", path,
		         rc == -2 ? "out of memory" : "cannot be read");
		return -1;
	}
	if (p.err_line != 0)
		return -1;
	for (size_t i = 0; i < NKEYS; i++)
		if (keys_table[i].required && !(p.seen & (1u << i))) {
			snprintf(err, errlen, "%s: key '%s' missing in [%s]", path,
			         keys_table[i].name, keys_table[i].section);
			return -1;
		}
	return 0;
}

int agent_cidr_parse(const char *s, struct agent_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	char why[64];

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	if (slash == NULL) {
		out->prefix = out->family == AF_INET ? 32 : 128;
		return 0;
	}
	if (parse_uint(slash + 1, 0, out->family == AF_INET ? 32 : 128, &prefix, why, sizeof(why)) <
	    0)
		return -1;
	out->prefix = (unsigned)prefix;
	/* Host bits set ("192.0.2.1/24") are a typo more often than not. */
	for (unsigned bit = out->prefix; bit < (out->family == AF_INET ? 32u : 128u); bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	return 0;
}

static bool cidr_match(const struct agent_cidr *c, int family, const uint8_t *a)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (a[full] & mask);
}

static const struct agent_cidr *in_list(const struct agent_cidr *list, size_t n, int family,
                                        const uint8_t *a)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match(&list[i], family, a))
			return &list[i];
	return NULL;
}

static void cidr_text(const struct agent_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->prefix);
}

/* One address (what: "" or "6to4 IPv4 ") against allow and deny. */
static bool lists_allow(const struct agent_config *c, int family, const uint8_t *a,
                        const char *what, char *why, size_t whylen)
{
	const struct agent_cidr *d;
	char at[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 8];

	if (in_list(c->allow, c->n_allow, family, a) == NULL) {
		inet_ntop(family, a, at, sizeof(at));
		snprintf(why, whylen, "%s%s not in allow", what, at);
		return false;
	}
	if ((d = in_list(c->deny, c->n_deny, family, a)) != NULL) {
		inet_ntop(family, a, at, sizeof(at));
		cidr_text(d, net, sizeof(net));
		snprintf(why, whylen, "%s%s in deny %s", what, at, net);
		return false;
	}
	return true;
}

bool agent_config_scope_check(const struct agent_config *c, const struct sockaddr *sa,
                              socklen_t len, char *why, size_t whylen)
{
	struct addr_info ai;
	unsigned refused;
	char what[32];
	char dummy[1];

	if (why == NULL || whylen == 0) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	why[0] = '\0';
	if (addr_classify_sa(sa, len, &ai) < 0) {
		snprintf(why, whylen, "not an IPv4 or IPv6 address");
		return false;
	}
	/* The special classes first: no allow list can let them through. */
	refused = (ai.classes & ~c->allow_special) | (ai.classes & ADDR_CLASS_NEVER);
	if (refused != 0) {
		int cls = 0;
		while (!(refused & ADDR_CLASS_BIT(cls)))
			cls++;
		snprintf(why, whylen, "%s address%s%s%s: %s", addr_class_name(cls),
		         ai.embed != ADDR_EMBED_NONE ? " (" : "",
		         ai.embed != ADDR_EMBED_NONE ? addr_embed_name(ai.embed) : "",
		         ai.embed != ADDR_EMBED_NONE ? ")" : "",
		         ADDR_CLASS_BIT(cls) & ADDR_CLASS_NEVER ? "never allowed"
		                                                : "not in allow_special");
		return false;
	}
	if (!lists_allow(c, ai.family, ai.addr, "", why, whylen))
		return false;
	snprintf(what, sizeof(what), "%s IPv4 ", addr_embed_name(ai.embed));
	for (size_t i = 0; i < ai.n_v4; i++)
		if (!lists_allow(c, AF_INET, ai.v4[i], what, why, whylen))
			return false;
	return true;
}

bool agent_config_scope_allows(const struct agent_config *c, const struct sockaddr *sa,
                               socklen_t len)
{
	return agent_config_scope_check(c, sa, len, NULL, 0);
}

bool agent_config_is_canary(const struct agent_config *c, const char *domain)
{
	size_t n = strlen(domain);

	if (n > 0 && domain[n - 1] == '.')
		n--;
	for (size_t i = 0; i < c->n_canary_domains; i++) {
		const char *d = c->canary_domains[i];
		size_t dn = strlen(d);
		if (dn > 0 && d[dn - 1] == '.')
			dn--;
		if (dn == n && strncasecmp(d, domain, n) == 0)
			return true;
	}
	return false;
}
