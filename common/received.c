/* received.c - one Received: header value (RFC 5321 4.4) parsed into a hop.
 * A bounded scanner (RP_RECEIVED_VALUE_MAX bytes, CR/LF/controls are white
 * space, nested comments counted, never recursed) reads the clauses up to the
 * first ';' outside a comment; the comments after "from" are read for the
 * reverse-DNS name, the IP (inet_pton-checked, stored canonical) and an
 * explicit HELO ("helo=X", qmail's "HELO X"). Fields are truncated, no malloc. */
#include "received.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

enum tok_kind { TOK_END, TOK_WORD, TOK_COMMENT, TOK_SEMI };

/* A view of bytes: p[0..n). */
struct span {
	const char *p;
	size_t n;
};

struct tok {
	enum tok_kind kind;
	struct span s; /* a word, or a comment's inside without its outer () */
};

enum clause { CL_NONE, CL_FROM, CL_BY, CL_VIA, CL_WITH, CL_ID, CL_FOR };

/* What the "from" clause and its comments said. */
struct from_info {
	struct span word; /* "from X" */
	struct span helo; /* helo=X or HELO X in a comment */
	struct span rdns; /* the name beside the IP in a comment */
	bool have_helo, have_rdns, have_ip;
};

static bool is_space(unsigned char c)
{
	return c <= 0x20 || c == 0x7f; /* SP, HTAB, CR, LF (folding), NUL, controls */
}

static bool span_is(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static bool span_starts(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && strncasecmp(s.p, lit, n) == 0;
}

static void put(char *dst, size_t cap, struct span s)
{
	size_t n = s.n < cap - 1 ? s.n : cap - 1;

	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

/* The end of the comment opened at s[i] == '(': the index after its ')', or n
 * when unterminated. A backslash quotes the next byte (RFC 5322 quoted-pair). */
static size_t comment_end(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	for (; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n;
}

/* Next token of s[*pos..n). In a comment (inside), ';' is an ordinary byte. */
static struct tok next_tok(const char *s, size_t n, size_t *pos, bool inside)
{
	struct tok t = {TOK_END, {NULL, 0}};
	size_t i = *pos, start;

	while (i < n && (is_space((unsigned char)s[i]) || s[i] == ')'))
		i++; /* a stray ')' is noise */
	if (i >= n) {
		*pos = n;
		return t;
	}
	start = i;
	if (s[i] == '(') {
		size_t end = comment_end(s, n, i);

		t.kind = TOK_COMMENT;
		t.s.p = s + start + 1;
		t.s.n = (end > start + 1 && s[end - 1] == ')' ? end - 1 : end) - (start + 1);
		*pos = end;
		return t;
	}
	if (s[i] == ';' && !inside) {
		t.kind = TOK_SEMI;
		*pos = i + 1;
		return t;
	}
	while (i < n && !is_space((unsigned char)s[i]) && s[i] != '(' && s[i] != ')' &&
	       (inside || s[i] != ';'))
		i++;
	t.kind = TOK_WORD;
	t.s.p = s + start;
	t.s.n = i - start;
	*pos = i;
	return t;
}

static enum clause keyword(struct span w)
{
	static const struct {
		const char *word;
		enum clause cl;
	} kws[] = {{"from", CL_FROM}, {"by", CL_BY}, {"via", CL_VIA},
	           {"with", CL_WITH}, {"id", CL_ID}, {"for", CL_FOR}};
	size_t i;

	for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (span_is(w, kws[i].word))
			return kws[i].cl;
	return CL_NONE;
}

/* s as an IP address: "[IPv6:x]", "[a.b.c.d]", "[ip]:port", bare "ip",
 * "ident@ip", a trailing ','. On success the canonical text goes to out. */
static bool parse_ip(struct span s, char *out, size_t outlen)
{
	char buf[RP_RECEIVED_IP_MAX + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *at = s.n > 0 ? memchr(s.p, '@', s.n) : NULL;
	int af;

	if (at != NULL) {
		s.n -= (size_t)(at + 1 - s.p);
		s.p = at + 1;
	}
	if (s.n > 0 && s.p[0] == '[') {
		const char *close = memchr(s.p, ']', s.n);

		if (close == NULL)
			return false; /* unterminated literal */
		s.n = (size_t)(close - s.p) - 1;
		s.p++;
		if (span_starts(s, "IPv6:")) {
			s.p += 5;
			s.n -= 5;
		}
	} else if (s.n > 0 && s.p[s.n - 1] == ',') {
		s.n--;
	}
	if (s.n == 0 || s.n >= sizeof(buf))
		return false;
	memcpy(buf, s.p, s.n);
	buf[s.n] = '\0';
	af = memchr(buf, ':', s.n) != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, buf, bin) != 1)
		return false;
	return inet_ntop(af, bin, out, (socklen_t)outlen) != NULL;
}

/* One comment after "from X": "rdns [ip]", "ident@rdns [ip]", "[ip] helo=H",
 * "helo=H", "HELO H", "ip", "rdns [ip] (may be forged)". The name counts as
 * the reverse-DNS one only in a comment that also holds a valid IP. */
static void from_comment(struct span c, struct from_info *fi, struct received_hop *out)
{
	char scratch[sizeof(out->from_ip)] = ""; /* an IP after the first one */
	struct span name = {NULL, 0};
	bool ip_here = false, helo_next = false;
	size_t pos = 0;
	struct tok t;
	const char *at;

	while ((t = next_tok(c.p, c.n, &pos, true)).kind != TOK_END) {
		struct span w = t.s;

		if (t.kind != TOK_WORD)
			continue; /* nested comments: (may be forged) */
		if (w.n > 0 && w.p[w.n - 1] == ',')
			w.n--;
		if (helo_next) {
			helo_next = false;
			if (!fi->have_helo && w.n > 0) {
				fi->helo = w;
				fi->have_helo = true;
			}
		} else if (span_is(w, "HELO")) {
			helo_next = true;
		} else if (span_starts(w, "helo=")) {
			if (!fi->have_helo && w.n > 5) {
				fi->helo = (struct span){w.p + 5, w.n - 5};
				fi->have_helo = true;
			}
		} else if (memchr(w.p, '=', w.n) != NULL) {
			continue; /* ident=, bits=, ... */
		} else if (parse_ip(w, fi->have_ip ? scratch : out->from_ip, sizeof(scratch))) {
			fi->have_ip = true;
			ip_here = true;
		} else if (name.p == NULL && w.n > 0 && w.p[0] != '[') {
			at = memchr(w.p, '@', w.n);
			name = at == NULL ? w : (struct span){at + 1, w.n - (size_t)(at + 1 - w.p)};
		}
	}
	if (ip_here && name.p != NULL && !fi->have_rdns) {
		fi->rdns = name;
		fi->have_rdns = true;
	}
}

/* Put the from clause into out. The "from" word is the sender's HELO unless a
 * comment gave the HELO explicitly (Exim helo=, qmail HELO) or the receiver is
 * Exim, whose "from" word is its own record: the verified name or "[ip]". */
static void from_finish(struct from_info *fi, bool exim, struct received_hop *out)
{
	bool word_is_receivers = fi->have_helo || exim;
	bool literal = fi->word.n > 0 && fi->word.p[0] == '[';

	if (fi->have_helo)
		put(out->from_helo, sizeof(out->from_helo), fi->helo);
	else if (!(exim && literal))
		put(out->from_helo, sizeof(out->from_helo), fi->word);
	if (word_is_receivers && literal && !fi->have_ip) {
		fi->have_ip = parse_ip(fi->word, out->from_ip, sizeof(out->from_ip));
		if (!fi->have_ip && !fi->have_helo) /* "[junk]": keep it as given */
			put(out->from_helo, sizeof(out->from_helo), fi->word);
	} else if (word_is_receivers && !literal && !fi->have_rdns) {
		fi->rdns = fi->word;
		fi->have_rdns = true;
	}
	if (fi->have_rdns && !span_is(fi->rdns, "unknown") && !span_is(fi->rdns, "<unknown>"))
		put(out->from_rdns, sizeof(out->from_rdns), fi->rdns);
}

static void set_clause(enum clause cl, struct span w, struct from_info *fi,
                       struct received_hop *out)
{
	switch (cl) {
	case CL_FROM:
		fi->word = w;
		break;
	case CL_BY:
		put(out->by, sizeof(out->by), w);
		break;
	case CL_WITH:
		put(out->with, sizeof(out->with), w);
		break;
	case CL_ID:
		put(out->id, sizeof(out->id), w);
		break;
	default:
		break; /* via, for: not kept */
	}
}

int received_parse(const char *value, size_t len, struct received_hop *out)
{
	struct from_info fi = {{NULL, 0}, {NULL, 0}, {NULL, 0}, false, false, false};
	bool seen[CL_FOR + 1] = {false};
	enum clause pending = CL_NONE, current = CL_NONE;
	bool exim = false;
	size_t n = len < RP_RECEIVED_VALUE_MAX ? len : RP_RECEIVED_VALUE_MAX, pos = 0;
	struct tok t;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (value == NULL)
		n = 0;
	t = next_tok(value, n, &pos, false);
	if (t.kind == TOK_WORD && span_is(t.s, "Received:"))
		t = next_tok(value, n, &pos, false); /* the field name came along */
	for (; t.kind == TOK_WORD || t.kind == TOK_COMMENT; t = next_tok(value, n, &pos, false)) {
		enum clause kw;

		if (t.kind == TOK_COMMENT) {
			if (span_starts(t.s, "Exim "))
				exim = true;
			if (current == CL_FROM && pending == CL_NONE)
				from_comment(t.s, &fi, out);
			continue;
		}
		kw = keyword(t.s);
		if (kw != CL_NONE) {
			/* A repeated clause is ignored, its comments too. */
			pending = seen[kw] ? CL_NONE : kw;
			current = pending;
			seen[kw] = true;
			continue;
		}
		if (pending != CL_NONE)
			set_clause(pending, t.s, &fi, out);
		pending = CL_NONE; /* other words ("SMTP Server", "Transport") are skipped */
	}
	if (fi.word.p != NULL)
		from_finish(&fi, exim, out);
	if (fi.word.p == NULL && out->by[0] == '\0') {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

json_t *received_hops_json(const struct received_hop *hops, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		const struct received_hop *h = &hops[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "from_helo", h->from_helo,
		                      "from_rdns", h->from_rdns, "from_ip", h->from_ip, "by", h->by,
		                      "with", h->with, "id", h->id);

		if (o == NULL || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
