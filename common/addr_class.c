/* addr_class.c - address classes and embedded IPv4 addresses from two
 * tables: special_nets (prefix -> class, per family) and embeddings (IPv6
 * prefix -> where the IPv4 address sits, as byte positions, and whether it
 * is inverted). An address gets the classes of every prefix it is in, and
 * those of every IPv4 address it carries. */
#include "addr_class.h"

#include <netinet/in.h>
#include <string.h>

#include "rp_names.h"

struct special_net {
	int family;
	uint8_t prefix[16];
	unsigned len; /* bits */
	enum addr_class cls;
};

static const struct special_net special_nets[] = {
    {AF_INET, {0, 0, 0, 0}, 32, ADDR_CLASS_UNSPECIFIED},
    {AF_INET, {0}, 8, ADDR_CLASS_THIS_NETWORK},
    {AF_INET, {127}, 8, ADDR_CLASS_LOOPBACK},
    {AF_INET, {169, 254}, 16, ADDR_CLASS_LINK_LOCAL},
    {AF_INET, {224}, 4, ADDR_CLASS_MULTICAST},
    {AF_INET, {255, 255, 255, 255}, 32, ADDR_CLASS_BROADCAST},
    {AF_INET6, {0}, 128, ADDR_CLASS_UNSPECIFIED},
    {AF_INET6, {[15] = 1}, 128, ADDR_CLASS_LOOPBACK},
    {AF_INET6, {0xfe, 0x80}, 10, ADDR_CLASS_LINK_LOCAL},
    {AF_INET6, {0xfe, 0xc0}, 10, ADDR_CLASS_SITE_LOCAL},
    {AF_INET6, {0xff}, 8, ADDR_CLASS_MULTICAST},
};

/* One place an IPv4 address may sit: its four bytes' positions in the IPv6
 * address, XORed with xor (Teredo's client address is inverted). */
struct v4_pos {
	uint8_t at[4];
	uint8_t xor ;
};

struct embedding {
	uint8_t prefix[16];
	unsigned len;
	enum addr_embed kind;
	size_t npos;
	struct v4_pos pos[ADDR_V4_MAX];
};

#define LOW32                                                                                      \
	{                                                                                          \
		{12, 13, 14, 15}, 0                                                                \
	}

/* Disjoint prefixes; the first match wins. RFC 6052 skips bits 64-71 (the
 * "u" octet, byte 8) in the local-use positions. */
static const struct embedding embeddings[] = {
    {{[10] = 0xff, [11] = 0xff}, 96, ADDR_EMBED_MAPPED, 1, {LOW32}},
    {{[8] = 0xff, [9] = 0xff}, 96, ADDR_EMBED_TRANSLATED, 1, {LOW32}},
    {{0}, 96, ADDR_EMBED_COMPAT, 1, {LOW32}},
    {{0x00, 0x64, 0xff, 0x9b}, 96, ADDR_EMBED_NAT64, 1, {LOW32}},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01},
     48,
     ADDR_EMBED_NAT64_LOCAL,
     4,
     {{{6, 7, 9, 10}, 0}, {{7, 9, 10, 11}, 0}, {{9, 10, 11, 12}, 0}, LOW32}},
    {{0x20, 0x02}, 16, ADDR_EMBED_6TO4, 1, {{{2, 3, 4, 5}, 0}}},
    {{0x20, 0x01, 0x00, 0x00},
     32,
     ADDR_EMBED_TEREDO,
     2,
     {{{4, 5, 6, 7}, 0}, {{12, 13, 14, 15}, 0xff}}},
};

static const char *const class_names[] = {
    "unspecified", "this-network", "loopback", "link-local", "site-local", "multicast", "broadcast",
};
RP_ENUM_TABLE_CHECK(class_names, ADDR_CLASS_COUNT);

static const char *const embed_names[] = {
    "none", "mapped", "translated", "compat", "nat64", "nat64-local", "6to4", "teredo",
};
RP_ENUM_TABLE_CHECK(embed_names, ADDR_EMBED_COUNT);

static bool prefix_match(const uint8_t *prefix, unsigned len, const uint8_t *a)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(prefix, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (prefix[full] & mask) == (a[full] & mask);
}

static unsigned classes_of(int family, const uint8_t *a)
{
	unsigned c = 0;

	for (size_t i = 0; i < sizeof(special_nets) / sizeof(special_nets[0]); i++)
		if (special_nets[i].family == family &&
		    prefix_match(special_nets[i].prefix, special_nets[i].len, a))
			c |= ADDR_CLASS_BIT(special_nets[i].cls);
	return c;
}

static const struct embedding *embedding_of(const uint8_t a[16])
{
	for (size_t i = 0; i < sizeof(embeddings) / sizeof(embeddings[0]); i++) {
		const struct embedding *e = &embeddings[i];
		if (!prefix_match(e->prefix, e->len, a))
			continue;
		/* :: and ::1 are IPv6's own unspecified and loopback, not
		 * IPv4-compatible 0.0.0.0 and 0.0.0.1. */
		if (e->kind == ADDR_EMBED_COMPAT && a[12] == 0 && a[13] == 0 && a[14] == 0 &&
		    a[15] <= 1)
			return NULL;
		return e;
	}
	return NULL;
}

int addr_classify(int family, const uint8_t *a, struct addr_info *out)
{
	const struct embedding *e;

	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->addr, a, 4);
		out->classes = classes_of(AF_INET, a);
		return 0;
	}
	if (family != AF_INET6)
		return -1;
	e = embedding_of(a);
	if (e != NULL && e->kind == ADDR_EMBED_MAPPED) {
		/* What a dual-stack socket really dials: the IPv4 address. */
		out->family = AF_INET;
		memcpy(out->addr, a + 12, 4);
		out->embed = ADDR_EMBED_MAPPED;
		out->classes = classes_of(AF_INET, out->addr);
		return 0;
	}
	out->family = AF_INET6;
	memcpy(out->addr, a, 16);
	out->classes = classes_of(AF_INET6, a);
	if (e == NULL)
		return 0;
	out->embed = e->kind;
	for (size_t p = 0; p < e->npos; p++) {
		uint8_t *v4 = out->v4[out->n_v4++];
		for (int k = 0; k < 4; k++)
			v4[k] = a[e->pos[p].at[k]] ^ e->pos[p].xor ;
		out->classes |= classes_of(AF_INET, v4);
	}
	return 0;
}

int addr_classify_sa(const struct sockaddr *sa, socklen_t len, struct addr_info *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return addr_classify(AF_INET, (const uint8_t *)&in->sin_addr, out);
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return addr_classify(AF_INET6, in6->sin6_addr.s6_addr, out);
	}
	return -1;
}

const char *addr_class_name(enum addr_class c)
{
	return rp_name(class_names, ADDR_CLASS_COUNT, (int)c, NULL);
}

int addr_class_from_name(const char *name)
{
	return rp_name_find(class_names, ADDR_CLASS_COUNT, name, true);
}

const char *addr_embed_name(enum addr_embed e)
{
	return rp_name(embed_names, ADDR_EMBED_COUNT, (int)e, NULL);
}
