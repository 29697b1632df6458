/* agent_config.c - the relayprobe-agent INI file: its key table and value
 * checks on common/ini_strict.c, which reports the first problem as
 * "FILE:LINE: [section] key: why" (unknown sections and keys, repeated keys,
 * bad values, missing required keys). Also the scope check (address classes
 * from addr_class.c, then the CIDR lists, on the address and on every IPv4
 * address it embeds) and the canary check. */
#include "agent_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr_class.h"
#include "exclude.h"
#include "ini_strict.h"
#include "rp_limits.h"
#include "syntax.h"
#include "target.h"

/* ---- value checks and parsers (the rest is ini_strict's types) ---- */

static int controller_ok(const char *v, char *why, size_t whylen)
{
	const char *hp = v + 6, *colon;
	unsigned long port;

	if (strncmp(v, "tcp://", 6) != 0 || !rp_token_ok(v, RP_INI_LINE_MAX, false)) {
		snprintf(why, whylen, "expected tcp://HOST:PORT");
		return -1;
	}
	colon = strrchr(hp, ':');
	if (colon == NULL || colon == hp ||
	    ini_strict_uint(colon + 1, 1, 65535, &port, why, whylen) < 0) {
		snprintf(why, whylen, "expected tcp://HOST:PORT (port 1-65535)");
		return -1;
	}
	return 0;
}

/* [scope] exclude_file: read now, so that a bad entry is an error naming its
 * FILE:LINE at load time; the agent reads it again when it starts. */
static int exclude_file_ok(const char *v, char *why, size_t whylen)
{
	struct exclude_list *l = exclude_new();
	int rc = l != NULL ? exclude_load_file(l, v, why, whylen) : -1;

	if (l == NULL)
		snprintf(why, whylen, "out of memory");
	exclude_free(&l);
	return rc;
}

static int bind_ok(const char *v, char *why, size_t whylen)
{
	unsigned char a[16];

	if (*v != '\0' && inet_pton(AF_INET, v, a) != 1 && inet_pton(AF_INET6, v, a) != 1) {
		snprintf(why, whylen, "\"%s\" is not an IPv4 or IPv6 address", v);
		return -1;
	}
	return 0;
}

static bool label_char(unsigned char ch, bool value)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-' || (value && ch == ':');
}

static int v_labels(void *obj, const char *v, char *why, size_t whylen)
{
	struct agent_config *c = obj;
	char item[2 * AGENT_CONF_LABEL_MAX + 2];
	bool too_long;

	c->n_labels = 0;
	while (ini_strict_next_item(&v, item, sizeof(item), &too_long)) {
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

static int v_canary_domains(void *obj, const char *v, char *why, size_t whylen)
{
	struct agent_config *c = obj;
	char item[RP_DOMAIN_MAX + 2];
	bool too_long;

	c->n_canary_domains = 0;
	while (ini_strict_next_item(&v, item, sizeof(item), &too_long)) {
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
	while (ini_strict_next_item(&v, item, sizeof(item), &too_long)) {
		if (too_long || agent_cidr_parse(item, &list[*n]) < 0) {
			snprintf(why, whylen, "\"%s\" is not a CIDR (192.0.2.0/24, 2001:db8::/32)",
			         item);
			return -1;
		}
		if (++*n == AGENT_CONF_CIDRS_MAX && v[strspn(v, " \t")] != '\0') {
			snprintf(why, whylen, "more than %d networks", AGENT_CONF_CIDRS_MAX);
			return -1;
		}
	}
	return 0;
}

static int v_allow(void *obj, const char *v, char *why, size_t whylen)
{
	struct agent_config *c = obj;
	return cidr_list(c->allow, &c->n_allow, v, why, whylen);
}

static int v_deny(void *obj, const char *v, char *why, size_t whylen)
{
	struct agent_config *c = obj;
	return cidr_list(c->deny, &c->n_deny, v, why, whylen);
}

/* Class names; unspecified, this-network, multicast and broadcast are never
 * a host to probe (Linux connects 0.0.0.0 and :: to this host) and cannot be
 * allowed. */
static int v_allow_special(void *obj, const char *v, char *why, size_t whylen)
{
	struct agent_config *c = obj;
	char item[32];
	bool too_long;

	c->allow_special = 0;
	while (ini_strict_next_item(&v, item, sizeof(item), &too_long)) {
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

/* The file's keys: docs/relayprobe-agent.8 and deploy/agent.conf.example
 * describe the same. */
#define AC struct agent_config
static const struct ini_key keys_table[] = {
    {"agent", "controller", INI_STR, INI_REQUIRED, INI_AT(AC, controller), .check = controller_ok,
     .doc = "the controller's endpoint, tcp://HOST:PORT"},
    {"agent", "controller_key", INI_STR, INI_REQUIRED | INI_PATH, INI_AT(AC, controller_key),
     .doc = "the controller's public key file"},
    {"agent", "keys", INI_STR, INI_REQUIRED | INI_PATH, INI_AT(AC, keys),
     .doc = "this agent's secret key file"},
    {"agent", "state", INI_STR, INI_REQUIRED | INI_PATH, INI_AT(AC, state),
     .doc = "the state directory"},
    {"agent", "bind", INI_STR, INI_EMPTY_OK, INI_AT(AC, bind), .check = bind_ok,
     .doc = "source address of probe connections"},
    {"agent", "labels", INI_CUSTOM, INI_EMPTY_OK, .set = v_labels,
     .doc = "NAME=VALUE labels sent in HELLO"},
    {"agent", "capacity", INI_UINT, 0, INI_AT(AC, capacity), .min = 1, .max = RP_AGENT_CAPACITY_MAX,
     .doc = "orders taken at once (sent in HELLO)"},
    {"limits", "targets_per_order", INI_UINT, 0, INI_AT(AC, targets_per_order), .min = 1,
     .max = RP_WIRE_ORDER_TARGETS_MAX, .doc = "largest order run"},
    {"limits", "concurrency", INI_UINT, 0, INI_AT(AC, concurrency), .min = 1, .max = RP_DIALOGS_MAX,
     .doc = "SMTP dialogs in flight"},
    {"limits", "rate", INI_DOUBLE, 0, INI_AT(AC, rate), .dmin = 0, .dmax = 1000000,
     .doc = "new connections per second, 0 = unlimited"},
    {"limits", "order_deadline", INI_UINT, 0, INI_AT(AC, order_deadline), .min = 1,
     .max = RP_ORDER_DEADLINE_MAX_S, .doc = "seconds one order may run"},
    {"limits", "allow_data", INI_BOOL, 0, INI_AT(AC, allow_data),
     .doc = "whether DATA may ever be sent"},
    {"limits", "canary_domains", INI_CUSTOM, INI_EMPTY_OK, .set = v_canary_domains,
     .doc = "domains that may receive a test message"},
    {"scope", "allow", INI_CUSTOM, INI_EMPTY_OK, .set = v_allow,
     .doc = "networks probes may connect to"},
    {"scope", "deny", INI_CUSTOM, INI_EMPTY_OK, .set = v_deny, .doc = "networks never probed"},
    {"scope", "exclude_file", INI_STR, INI_PATH, INI_AT(AC, exclude_file), .check = exclude_file_ok,
     .doc = "a do-not-test list: addresses, CIDRs, domains"},
    {"scope", "allow_special", INI_CUSTOM, INI_EMPTY_OK, .set = v_allow_special,
     .doc = "special address classes allowed by name"},
};
#undef AC
#define NKEYS (sizeof(keys_table) / sizeof(keys_table[0]))

/* ---- public ---- */

void agent_config_defaults(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->capacity = AGENT_CONF_CAPACITY_DEFAULT;
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
	unsigned lines[NKEYS];

	agent_config_defaults(c);
	return ini_strict_load(path, keys_table, NKEYS, c, lines, err, errlen);
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
	if (ini_strict_uint(slash + 1, 0, out->family == AF_INET ? 32 : 128, &prefix, why,
	                    sizeof(why)) < 0)
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
