/* transcript.c - bounded, compact record of one dialog. Owns one growable byte
 * arena (entry texts, each NUL-terminated) and one growable array of 16-byte
 * entry headers; both grow geometrically and together never hold more than
 * max_bytes. Text is escaped on the way in (\xNN, \t, \\), trailing CR/LF is
 * dropped, one entry is cut at RP_TRANSCRIPT_ENTRY_MAX with "...". Room for a
 * final "transcript truncated" entry is always reserved. */
#include "transcript.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rp_limits.h"
#include "rp_names.h"

#define TRUNC_TEXT    "transcript truncated"
#define ARENA_INITIAL 1024
#define HDRS_INITIAL  16
/* Smallest and largest max_bytes honoured (offsets are 32-bit). */
#define TR_MIN_BYTES   512
#define TR_LIMIT_BYTES ((size_t)1 << 30)

struct tr_hdr {
	uint64_t t_ms;
	uint32_t off; /* into arena */
	uint16_t len; /* text bytes, without the NUL */
	uint8_t dir;
	uint8_t tls;
};
_Static_assert(sizeof(struct tr_hdr) == 16, "transcript entry header should stay compact");
_Static_assert(RP_TRANSCRIPT_ENTRY_MAX <= UINT16_MAX, "entry length must fit uint16_t");

struct transcript {
	char *arena;
	size_t arena_len, arena_cap;
	struct tr_hdr *hdrs;
	size_t n, hdrs_cap;
	size_t max_bytes;
	bool truncated;
};

/* Bytes held for the final truncation entry: its header and its text + NUL. */
#define RESERVE (sizeof(struct tr_hdr) + sizeof(TRUNC_TEXT))

static const char *const dir_names[] = {
    [TR_SENT] = "sent",
    [TR_RECV] = "recv",
    [TR_EVENT] = "event",
    [TR_ERROR] = "error",
};
RP_ENUM_TABLE_CHECK(dir_names, TR_DIR_COUNT);

const char *tr_dir_name(enum tr_dir d)
{
	return rp_name(dir_names, TR_DIR_COUNT, (int)d, "unknown");
}

struct transcript *transcript_new(size_t max_bytes)
{
	struct transcript *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	if (max_bytes == 0)
		max_bytes = RP_TRANSCRIPT_BYTES_MAX;
	if (max_bytes < TR_MIN_BYTES)
		max_bytes = TR_MIN_BYTES;
	if (max_bytes > TR_LIMIT_BYTES)
		max_bytes = TR_LIMIT_BYTES;
	t->max_bytes = max_bytes;
	return t;
}

void transcript_free(struct transcript **t)
{
	if (t == NULL || *t == NULL)
		return;
	free((*t)->arena);
	free((*t)->hdrs);
	free(*t);
	*t = NULL;
}

size_t transcript_count(const struct transcript *t)
{
	return t != NULL ? t->n : 0;
}

bool transcript_truncated(const struct transcript *t)
{
	return t != NULL && t->truncated;
}

size_t transcript_bytes(const struct transcript *t)
{
	if (t == NULL)
		return 0;
	return sizeof(*t) + t->arena_cap + t->hdrs_cap * sizeof(struct tr_hdr);
}

int transcript_get(const struct transcript *t, size_t i, struct tr_entry *e)
{
	const struct tr_hdr *h;

	if (t == NULL || e == NULL || i >= t->n)
		return -1;
	h = &t->hdrs[i];
	e->t_ms = h->t_ms;
	e->dir = (enum tr_dir)h->dir;
	e->tls = h->tls != 0;
	e->text = t->arena + h->off;
	e->len = h->len;
	return 0;
}

static size_t hdr_bytes(size_t cap)
{
	return cap * sizeof(struct tr_hdr);
}

/* Shrink a buffer's capacity down to what it uses, to give room to the other. */
static void trim_arena(struct transcript *t)
{
	char *p;

	if (t->arena_len == 0 || t->arena_cap == t->arena_len)
		return;
	p = realloc(t->arena, t->arena_len);
	if (p == NULL)
		return;
	t->arena = p;
	t->arena_cap = t->arena_len;
}

/* Keeps room for the entry being added (n + 1). */
static void trim_hdrs(struct transcript *t)
{
	size_t keep = t->n + 1;
	struct tr_hdr *p;

	if (t->hdrs_cap <= keep)
		return;
	p = realloc(t->hdrs, hdr_bytes(keep));
	if (p == NULL)
		return;
	t->hdrs = p;
	t->hdrs_cap = keep;
}

/* Make room for `need` more arena bytes; 0 or -1. Capacity stays within
 * max_bytes minus what the header array holds. */
static int grow_arena(struct transcript *t, size_t need)
{
	size_t want = t->arena_len + need, cap, limit;
	char *p;

	if (want <= t->arena_cap)
		return 0;
	if (hdr_bytes(t->hdrs_cap) + want > t->max_bytes)
		trim_hdrs(t);
	if (hdr_bytes(t->hdrs_cap) + want > t->max_bytes)
		return -1;
	limit = t->max_bytes - hdr_bytes(t->hdrs_cap);
	cap = t->arena_cap ? t->arena_cap * 2 : ARENA_INITIAL;
	if (cap < want)
		cap = want;
	if (cap > limit)
		cap = limit;
	p = realloc(t->arena, cap);
	if (p == NULL)
		return -1;
	t->arena = p;
	t->arena_cap = cap;
	return 0;
}

static int grow_hdrs(struct transcript *t)
{
	size_t want = t->n + 1, cap, limit;
	struct tr_hdr *p;

	if (want <= t->hdrs_cap)
		return 0;
	if (t->arena_cap + hdr_bytes(want) > t->max_bytes)
		trim_arena(t);
	if (t->arena_cap + hdr_bytes(want) > t->max_bytes)
		return -1;
	limit = (t->max_bytes - t->arena_cap) / sizeof(struct tr_hdr);
	cap = t->hdrs_cap ? t->hdrs_cap * 2 : HDRS_INITIAL;
	if (cap > limit)
		cap = limit;
	p = realloc(t->hdrs, hdr_bytes(cap));
	if (p == NULL)
		return -1;
	t->hdrs = p;
	t->hdrs_cap = cap;
	return 0;
}

/* Bytes one input byte becomes once escaped. */
static size_t esc_len(unsigned char c)
{
	if (c == '\t' || c == '\\')
		return 2;
	if (c < 0x20 || c > 0x7e)
		return 4;
	return 1;
}

static size_t esc_put(char *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\t' || c == '\\') {
		out[0] = '\\';
		out[1] = c == '\t' ? 't' : '\\';
		return 2;
	}
	if (c < 0x20 || c > 0x7e) {
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[c >> 4];
		out[3] = hex[c & 0xf];
		return 4;
	}
	out[0] = (char)c;
	return 1;
}

/* Append a header + text already known to fit; returns the index. */
static int append(struct transcript *t, uint64_t t_ms, enum tr_dir dir, bool tls, const char *text,
                  size_t len)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t full = 0, i, o = 0;
	bool cut;
	char *dst;
	struct tr_hdr *h;

	for (i = 0; i < len; i++)
		full += esc_len(u[i]);
	cut = full > RP_TRANSCRIPT_ENTRY_MAX;

	dst = t->arena + t->arena_len;
	for (i = 0; i < len; i++) {
		if (cut && o + esc_len(u[i]) > RP_TRANSCRIPT_ENTRY_MAX - 3)
			break;
		o += esc_put(dst + o, u[i]);
	}
	if (cut) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';

	h = &t->hdrs[t->n];
	h->t_ms = t_ms;
	h->off = (uint32_t)t->arena_len;
	h->len = (uint16_t)o;
	h->dir = (uint8_t)dir;
	h->tls = tls ? 1 : 0;
	t->arena_len += o + 1;
	return (int)t->n++;
}

/* Escaped length of text, capped as append() caps it. */
static size_t stored_len(const char *text, size_t len)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t full = 0, i;

	for (i = 0; i < len; i++) {
		full += esc_len(u[i]);
		if (full > RP_TRANSCRIPT_ENTRY_MAX)
			return RP_TRANSCRIPT_ENTRY_MAX;
	}
	return full;
}

static void add_trunc_marker(struct transcript *t, uint64_t t_ms)
{
	t->truncated = true;
	if (grow_hdrs(t) != 0 || grow_arena(t, sizeof(TRUNC_TEXT)) != 0)
		return;
	append(t, t_ms, TR_ERROR, false, TRUNC_TEXT, strlen(TRUNC_TEXT));
}

int transcript_add(struct transcript *t, uint64_t t_ms, enum tr_dir dir, bool tls, const char *text,
                   size_t len)
{
	size_t slen, used;

	if (t == NULL || t->truncated)
		return -1;
	if ((unsigned)dir >= TR_DIR_COUNT)
		dir = TR_ERROR;
	if (text == NULL)
		len = 0;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	slen = stored_len(text, len);
	used = t->arena_len + hdr_bytes(t->n);
	if (used + slen + 1 + sizeof(struct tr_hdr) + RESERVE > t->max_bytes) {
		add_trunc_marker(t, t_ms);
		return -1;
	}
	if (grow_hdrs(t) != 0 || grow_arena(t, slen + 1) != 0)
		return -1; /* OOM: nothing recorded, the caller may retry */
	return append(t, t_ms, dir, tls, text != NULL ? text : "", len);
}

int transcript_addf(struct transcript *t, uint64_t t_ms, enum tr_dir dir, bool tls, const char *fmt,
                    ...)
{
	char small[512];
	char *buf = small;
	va_list ap;
	int n, rc;

	if (t == NULL || fmt == NULL)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (buf == NULL)
			return -1;
		va_start(ap, fmt);
		n = vsnprintf(buf, (size_t)n + 1, fmt, ap);
		va_end(ap);
		if (n < 0) {
			free(buf);
			return -1;
		}
	}
	rc = transcript_add(t, t_ms, dir, tls, buf, (size_t)n);
	if (buf != small)
		free(buf);
	return rc;
}

const char *transcript_marker(const struct tr_entry *e)
{
	bool bad;

	if (e == NULL)
		return "???";
	switch (e->dir) {
	case TR_SENT:
		return e->tls ? " ~>" : " ->";
	case TR_RECV:
		bad = e->text != NULL && (e->text[0] == '4' || e->text[0] == '5');
		if (bad)
			return e->tls ? "<~*" : "<**";
		return e->tls ? "<~ " : "<- ";
	case TR_EVENT:
		return "===";
	case TR_ERROR:
		return "***";
	default:
		return "???";
	}
}

int transcript_render_text(const struct transcript *t, FILE *out)
{
	struct tr_entry e;
	uint64_t t0;
	char when[32];
	size_t i;

	if (t == NULL || out == NULL)
		return -1;
	if (t->n == 0)
		return 0;
	t0 = t->hdrs[0].t_ms;
	for (i = 0; i < t->n; i++) {
		uint64_t d;
		const char *sign = "";

		transcript_get(t, i, &e);
		if (e.t_ms >= t0) {
			d = e.t_ms - t0;
		} else {
			d = t0 - e.t_ms; /* wall clock stepped back */
			sign = "-";
		}
		snprintf(when, sizeof(when), "%s%" PRIu64 ".%03u", sign, d / 1000,
		         (unsigned)(d % 1000));
		if (fprintf(out, "%8s %s %s\n", when, transcript_marker(&e), e.text) < 0)
			return -1;
	}
	return ferror(out) ? -1 : 0;
}

json_t *transcript_to_json(const struct transcript *t)
{
	json_t *arr = json_array(), *o = NULL;
	struct tr_entry e;
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; t != NULL && i < t->n; i++) {
		transcript_get(t, i, &e);
		o = json_object();
		if (o == NULL)
			goto fail;
		if (json_object_set_new(o, "i", json_integer((json_int_t)i)) != 0 ||
		    json_object_set_new(o, "t", json_integer((json_int_t)e.t_ms)) != 0 ||
		    json_object_set_new(o, "dir", json_string(tr_dir_name(e.dir))) != 0 ||
		    json_object_set_new(o, "tls", json_boolean(e.tls)) != 0 ||
		    json_object_set_new(o, "text", json_stringn(e.text, e.len)) != 0)
			goto fail;
		if (json_array_append_new(arr, o) != 0) {
			o = NULL; /* append_new released it */
			goto fail;
		}
		o = NULL;
	}
	return arr;
fail:
	json_decref(o);
	json_decref(arr);
	return NULL;
}

/* Decimal digits of v at the end of buf; returns where they start. */
static char *put_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

int transcript_write_json(const struct transcript *t, FILE *out)
{
	/* One entry's JSON at most: the fixed members, two numbers and the
	 * text with every byte escaped (quote and backslash double). */
	char buf[96 + 2 * RP_TRANSCRIPT_ENTRY_MAX];
	struct tr_entry e;

	putc_unlocked('[', out);
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		char num[24], *p = buf, *d;

		transcript_get(t, i, &e);
		if (i > 0)
			*p++ = ',';
		memcpy(p, "{\"i\":", 5);
		p += 5;
		d = put_u64(num + sizeof(num), i);
		memcpy(p, d, (size_t)(num + sizeof(num) - d));
		p += num + sizeof(num) - d;
		memcpy(p, ",\"t\":", 5);
		p += 5;
		d = put_u64(num + sizeof(num), e.t_ms);
		memcpy(p, d, (size_t)(num + sizeof(num) - d));
		p += num + sizeof(num) - d;
		p += snprintf(p, 48, ",\"dir\":\"%s\",\"tls\":%s,\"text\":\"", tr_dir_name(e.dir),
		              e.tls ? "true" : "false");
		/* Entries hold printable ASCII only (escaped on the way in), so
		 * only the quote and the backslash need JSON escaping. */
		for (size_t k = 0; k < e.len && k < RP_TRANSCRIPT_ENTRY_MAX; k++) {
			if (e.text[k] == '"' || e.text[k] == '\\')
				*p++ = '\\';
			*p++ = e.text[k];
		}
		*p++ = '"';
		*p++ = '}';
		fwrite(buf, 1, (size_t)(p - buf), out);
	}
	putc_unlocked(']', out);
	return ferror(out) ? -1 : 0;
}
