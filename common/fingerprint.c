/* fingerprint.c - the signature table and the scoring over it
 * (fingerprint.h). A signature is where to look (banner, EHLO greeting,
 * EHLO keyword, a run of EHLO keywords, any later reply), optional code and
 * enhanced-code filters, a case-insensitive pattern, points and a product.
 * Each signature counts once however often it matches; a banner naming two
 * products counts for neither. Reads at most RP_FP_SCAN_MAX bytes a line. */
#include "fingerprint.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

/* Points: the winner needs FP_MIN_LOW at least and twice its best rival. */
#define FP_MIN_LOW    25
#define FP_MIN_MEDIUM 40
#define FP_MIN_HIGH   70

static const struct {
	const char *name, *label;
	enum fp_software parent; /* built on it: its points count for us */
} sw_table[] = {
    [FP_SW_UNKNOWN] = {"unknown", "unknown", FP_SW_UNKNOWN},
    [FP_SW_POSTFIX] = {"postfix", "Postfix", FP_SW_UNKNOWN},
    [FP_SW_EXIM] = {"exim", "Exim", FP_SW_UNKNOWN},
    [FP_SW_SENDMAIL] = {"sendmail", "Sendmail", FP_SW_UNKNOWN},
    [FP_SW_OPENSMTPD] = {"opensmtpd", "OpenSMTPD", FP_SW_UNKNOWN},
    [FP_SW_EXCHANGE] = {"exchange", "Microsoft Exchange", FP_SW_UNKNOWN},
    [FP_SW_QMAIL] = {"qmail", "qmail", FP_SW_UNKNOWN},
    [FP_SW_HARAKA] = {"haraka", "Haraka", FP_SW_UNKNOWN},
    [FP_SW_HMAILSERVER] = {"hmailserver", "hMailServer", FP_SW_UNKNOWN},
    [FP_SW_ZIMBRA] = {"zimbra", "Zimbra (Postfix)", FP_SW_POSTFIX},
};
_Static_assert(sizeof(sw_table) / sizeof(sw_table[0]) == FP_SW_COUNT, "fp_software names");

static const char *const conf_names[] = {"none", "low", "medium", "high"};
_Static_assert(sizeof(conf_names) / sizeof(conf_names[0]) == FP_CONF_COUNT, "fp_confidence names");

enum fp_where {
	FPW_BANNER = 0, /* a greeting line */
	FPW_GREETING,   /* the first line of the EHLO reply */
	FPW_KEYWORD,    /* an EHLO keyword (first word of a later line), exact */
	FPW_SEQUENCE,   /* consecutive EHLO keywords, space-separated in pat */
	FPW_REPLY,      /* any line after EHLO */
};

/* pat: a case-insensitive substring of the text after the code; "=..." the
 * whole text. code: 0 any, 2/3/4/5 its class, else exact. esc: the reply's
 * enhanced code, "x" for any class ("x.7.1"); NULL any. */
struct fp_sig {
	enum fp_where where;
	enum fp_software sw;
	unsigned weight;
	int code;
	const char *esc;
	const char *pat;
	const char *why;
};

/* Sources: each product's documentation and its default messages. */
static const struct fp_sig sigs[] = {
    /* Postfix (also Zimbra and other Postfix-based appliances) */
    {FPW_BANNER, FP_SW_POSTFIX, 40, 220, NULL, "Postfix", "banner names Postfix"},
    {FPW_REPLY, FP_SW_POSTFIX, 50, 0, "x.7.1", ": Relay access denied",
     "Postfix's relay refusal (reject/defer_unauth_destination)"},
    {FPW_REPLY, FP_SW_POSTFIX, 35, 0, NULL,
     ": Recipient address rejected: ", "Postfix's recipient restriction wording"},
    {FPW_REPLY, FP_SW_POSTFIX, 35, 0, NULL,
     ": Sender address rejected: ", "Postfix's sender restriction wording"},
    {FPW_REPLY, FP_SW_POSTFIX, 35, 0, NULL,
     ": Client host rejected: ", "Postfix's client restriction wording"},
    {FPW_REPLY, FP_SW_POSTFIX, 35, 0, NULL,
     ": Helo command rejected: ", "Postfix's HELO restriction wording"},
    {FPW_REPLY, FP_SW_POSTFIX, 35, 421, "4.7.0", "Error: too many errors",
     "Postfix's error limit (smtpd_hard_error_limit)"},
    {FPW_REPLY, FP_SW_POSTFIX, 30, 502, "5.5.2", "Error: command not recognized",
     "Postfix's unknown-command reply"},
    {FPW_REPLY, FP_SW_POSTFIX, 15, 250, NULL, "=2.1.0 Ok", "Postfix's MAIL FROM reply"},
    {FPW_REPLY, FP_SW_POSTFIX, 15, 250, NULL, "=2.1.5 Ok", "Postfix's RCPT TO reply"},
    {FPW_REPLY, FP_SW_POSTFIX, 25, 354, NULL, "=End data with <CR><LF>.<CR><LF>",
     "Postfix's DATA reply"},
    {FPW_REPLY, FP_SW_POSTFIX, 35, 250, NULL, "2.0.0 Ok: queued as ", "Postfix's queue reply"},
    {FPW_REPLY, FP_SW_POSTFIX, 15, 221, NULL, "=2.0.0 Bye", "Postfix's QUIT reply"},
    {FPW_SEQUENCE, FP_SW_POSTFIX, 25, 250, NULL, "SIZE VRFY ETRN", "Postfix's EHLO order"},
    {FPW_SEQUENCE, FP_SW_POSTFIX, 15, 250, NULL, "ENHANCEDSTATUSCODES 8BITMIME DSN",
     "Postfix's EHLO order"},
    {FPW_BANNER, FP_SW_ZIMBRA, 40, 220, NULL, "Zimbra", "banner names Zimbra"},

    /* Exim */
    {FPW_BANNER, FP_SW_EXIM, 40, 220, NULL, "Exim", "banner names Exim"},
    {FPW_KEYWORD, FP_SW_EXIM, 20, 250, NULL, "PRDR", "EHLO offers PRDR (Exim)"},
    {FPW_KEYWORD, FP_SW_EXIM, 30, 250, NULL, "X_PIPE_CONNECT", "EHLO offers X_PIPE_CONNECT"},
    {FPW_KEYWORD, FP_SW_EXIM, 30, 250, NULL, "PIPECONNECT", "EHLO offers PIPECONNECT (Exim 4.94+)"},
    {FPW_SEQUENCE, FP_SW_EXIM, 25, 250, NULL, "SIZE 8BITMIME PIPELINING", "Exim's EHLO order"},
    {FPW_REPLY, FP_SW_EXIM, 40, 5, NULL, "relay not permitted",
     "Exim's default relay refusal (acl_check_rcpt)"},
    {FPW_REPLY, FP_SW_EXIM, 40, 503, NULL, "All RCPT commands were rejected",
     "Exim's DATA after refused RCPTs"},
    {FPW_REPLY, FP_SW_EXIM, 35, 354, NULL, "Enter message, ending with \".\" on a line by itself",
     "Exim's DATA reply"},
    {FPW_REPLY, FP_SW_EXIM, 35, 250, NULL, "OK id=", "Exim's queue reply"},
    /* Exim 4.96 puts it on the last line of the reply that went over the
     * limit (501); older ones sent it as a 421. */
    {FPW_REPLY, FP_SW_EXIM, 25, 0, NULL, "too many syntax or protocol errors",
     "Exim's error limit (smtp_max_synprot_errors)"},
    /* Recorded from Debian's exim4-daemon-light 4.96 (test_real_mtas.sh). */
    {FPW_REPLY, FP_SW_EXIM, 20, 250, NULL, "=Accepted", "Exim's RCPT TO reply"},
    {FPW_REPLY, FP_SW_EXIM, 20, 250, NULL, "=Reset OK", "Exim's RSET reply"},
    {FPW_REPLY, FP_SW_EXIM, 15, 220, NULL, "=TLS go ahead", "Exim's STARTTLS reply"},
    {FPW_REPLY, FP_SW_EXIM, 20, 503, NULL, "=sender not yet given", "Exim's RCPT before MAIL"},
    {FPW_REPLY, FP_SW_EXIM, 30, 501, NULL, ": domain literals not allowed",
     "Exim's refusal of an address literal (allow_domain_literals unset)"},
    {FPW_REPLY, FP_SW_EXIM, 30, 550, NULL, "=Restricted characters in address",
     "the restricted-characters ACL of Exim's default configure"},

    /* Sendmail */
    {FPW_BANNER, FP_SW_SENDMAIL, 40, 220, NULL, "Sendmail", "banner names Sendmail"},
    {FPW_GREETING, FP_SW_SENDMAIL, 10, 250, NULL, "pleased to meet you",
     "EHLO greeting of Sendmail or OpenSMTPD"},
    {FPW_KEYWORD, FP_SW_SENDMAIL, 35, 250, NULL, "DELIVERBY", "EHLO offers DELIVERBY (Sendmail)"},
    {FPW_SEQUENCE, FP_SW_SENDMAIL, 30, 250, NULL,
     "ENHANCEDSTATUSCODES PIPELINING 8BITMIME SIZE DSN", "Sendmail's EHLO order"},
    {FPW_REPLY, FP_SW_SENDMAIL, 50, 5, NULL, ">... Relaying denied", "Sendmail's relay refusal"},
    {FPW_REPLY, FP_SW_SENDMAIL, 35, 250, NULL, ">... Sender ok", "Sendmail's MAIL FROM reply"},
    {FPW_REPLY, FP_SW_SENDMAIL, 35, 250, NULL, ">... Recipient ok", "Sendmail's RCPT TO reply"},

    /* OpenSMTPD */
    {FPW_BANNER, FP_SW_OPENSMTPD, 40, 220, NULL, "OpenSMTPD", "banner names OpenSMTPD"},
    {FPW_GREETING, FP_SW_OPENSMTPD, 10, 250, NULL, "pleased to meet you",
     "EHLO greeting of Sendmail or OpenSMTPD"},
    {FPW_SEQUENCE, FP_SW_OPENSMTPD, 30, 250, NULL, "8BITMIME ENHANCEDSTATUSCODES SIZE DSN",
     "OpenSMTPD's EHLO order"},
    {FPW_REPLY, FP_SW_OPENSMTPD, 40, 550, NULL, "Invalid recipient",
     "OpenSMTPD's refusal of an envelope no match rule accepts"},
    {FPW_REPLY, FP_SW_OPENSMTPD, 40, 250, NULL, "Destination address valid",
     "OpenSMTPD's RCPT TO reply"},
    {FPW_REPLY, FP_SW_OPENSMTPD, 15, 250, NULL, "=2.0.0 Ok", "OpenSMTPD's MAIL FROM reply"},

    /* Microsoft Exchange */
    {FPW_BANNER, FP_SW_EXCHANGE, 45, 220, NULL, "Microsoft ESMTP MAIL Service",
     "banner of Microsoft Exchange"},
    {FPW_KEYWORD, FP_SW_EXCHANGE, 40, 250, NULL, "X-ANONYMOUSTLS", "EHLO offers X-ANONYMOUSTLS"},
    {FPW_KEYWORD, FP_SW_EXCHANGE, 30, 250, NULL, "X-EXPS", "EHLO offers X-EXPS"},
    {FPW_KEYWORD, FP_SW_EXCHANGE, 40, 250, NULL, "XEXCH50", "EHLO offers XEXCH50"},
    {FPW_KEYWORD, FP_SW_EXCHANGE, 30, 250, NULL, "XRDST", "EHLO offers XRDST"},
    {FPW_REPLY, FP_SW_EXCHANGE, 50, 550, "5.7.54",
     "Unable to relay recipient in non-accepted domain", "Exchange 2013+ relay refusal"},
    {FPW_REPLY, FP_SW_EXCHANGE, 35, 5, "5.7.1", "Unable to relay", "Exchange's relay refusal"},
    {FPW_REPLY, FP_SW_EXCHANGE, 45, 530, "5.7.57", "not authenticated to send",
     "Exchange's anonymous-submission refusal"},
    {FPW_REPLY, FP_SW_EXCHANGE, 25, 250, NULL, "=2.1.0 Sender OK", "Exchange's MAIL FROM reply"},
    {FPW_REPLY, FP_SW_EXCHANGE, 25, 250, NULL, "=2.1.5 Recipient OK", "Exchange's RCPT TO reply"},

    /* qmail */
    {FPW_BANNER, FP_SW_QMAIL, 40, 220, NULL, "qmail", "banner names qmail"},
    {FPW_REPLY, FP_SW_QMAIL, 60, 553, NULL, "that domain isn't in my list of allowed rcpthosts",
     "qmail-smtpd's rcpthosts refusal"},
    {FPW_REPLY, FP_SW_QMAIL, 25, 5, NULL, "(#5.", "qmail's enhanced code in parentheses"},
    {FPW_REPLY, FP_SW_QMAIL, 25, 4, NULL, "(#4.", "qmail's enhanced code in parentheses"},
    {FPW_REPLY, FP_SW_QMAIL, 30, 354, NULL, "=go ahead", "qmail-smtpd's DATA reply"},

    /* Haraka */
    {FPW_BANNER, FP_SW_HARAKA, 40, 220, NULL, "Haraka", "banner names Haraka"},
    {FPW_GREETING, FP_SW_HARAKA, 45, 250, NULL, "Haraka", "EHLO greeting names Haraka"},
    {FPW_REPLY, FP_SW_HARAKA, 45, 5, NULL, "I cannot deliver mail for",
     "Haraka's refusal of a recipient no rcpt_to plugin accepts"},

    /* hMailServer */
    {FPW_BANNER, FP_SW_HMAILSERVER, 40, 220, NULL, "hMailServer", "banner names hMailServer"},
    {FPW_REPLY, FP_SW_HMAILSERVER, 55, 550, NULL, "Delivery is not allowed to this address",
     "hMailServer's IP-range refusal"},
    {FPW_REPLY, FP_SW_HMAILSERVER, 30, 503, NULL, "Issue a reset if you want to start over",
     "hMailServer's sequence error"},
    {FPW_REPLY, FP_SW_HMAILSERVER, 20, 502, NULL, "=Use HELO/EHLO first",
     "hMailServer's missing-HELO reply"},
};

#define NSIGS (sizeof(sigs) / sizeof(sigs[0]))

const char *fp_software_name(enum fp_software s)
{
	return (unsigned)s < FP_SW_COUNT ? sw_table[s].name : "?";
}

const char *fp_software_label(enum fp_software s)
{
	return (unsigned)s < FP_SW_COUNT ? sw_table[s].label : "?";
}

int fp_software_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < FP_SW_COUNT; i++)
		if (strcmp(name, sw_table[i].name) == 0)
			return i;
	return -1;
}

const char *fp_confidence_name(enum fp_confidence c)
{
	return (unsigned)c < FP_CONF_COUNT ? conf_names[c] : "?";
}

static enum fp_software family(enum fp_software s)
{
	return sw_table[s].parent != FP_SW_UNKNOWN ? sw_table[s].parent : s;
}

/* A received line split into code, enhanced code and text (bounded). */
struct parsed {
	int code;
	bool last; /* "DDD " or "DDD": the reply ends here */
	const char *text;
	size_t len;
	char esc[16];
};

static bool parse_line(const char *s, size_t len, struct parsed *p)
{
	size_t i = 0;

	if (len > RP_FP_SCAN_MAX)
		len = RP_FP_SCAN_MAX;
	if (len < 3 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]))
		return false;
	if (len > 3 && s[3] != ' ' && s[3] != '-')
		return false;
	p->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	p->last = len == 3 || s[3] == ' ';
	p->text = len > 4 ? s + 4 : s + len;
	p->len = len > 4 ? len - 4 : 0;
	p->esc[0] = '\0';
	/* "D.D{1,3}.D{1,3}" at the start of the text */
	while (i < p->len && i < sizeof(p->esc) - 1 &&
	       (isdigit((unsigned char)p->text[i]) || p->text[i] == '.'))
		i++;
	if (i >= 5 && (i == p->len || p->text[i] == ' ') && p->text[1] == '.') {
		memcpy(p->esc, p->text, i);
		p->esc[i] = '\0';
	}
	return true;
}

static bool ci_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	return true;
}

static bool ci_find(const char *hay, size_t hlen, const char *needle)
{
	size_t nlen = strlen(needle);

	for (size_t i = 0; nlen <= hlen && i <= hlen - nlen; i++)
		if (ci_eq(hay + i, nlen, needle))
			return true;
	return false;
}

static bool code_ok(const struct fp_sig *s, const struct parsed *p)
{
	if (s->code == 0)
		return true;
	if (s->code < 10)
		return p->code / 100 == s->code;
	return p->code == s->code;
}

static bool esc_ok(const struct fp_sig *s, const struct parsed *p)
{
	if (s->esc == NULL)
		return true;
	if (s->esc[0] == 'x')
		return p->esc[0] != '\0' && strcmp(p->esc + 1, s->esc + 1) == 0;
	return strcmp(p->esc, s->esc) == 0;
}

static bool text_ok(const char *pat, const struct parsed *p)
{
	if (pat[0] == '=')
		return ci_eq(p->text, p->len, pat + 1);
	return ci_find(p->text, p->len, pat);
}

/* The first word of an EHLO line's text. */
static size_t keyword_len(const struct parsed *p)
{
	size_t n = 0;

	while (n < p->len && p->text[n] != ' ' && p->text[n] != '=')
		n++;
	return n;
}

/* Does the run of keywords in pat start at line i (an EHLO keyword line)? */
static bool sequence_at(const struct fp_line *lines, size_t n, size_t i, const char *pat)
{
	const char *w = pat;

	while (*w != '\0') {
		const char *end = strchr(w, ' ');
		size_t wl = end ? (size_t)(end - w) : strlen(w);
		struct parsed p;
		char word[32];

		if (i >= n || lines[i].stage != FP_ST_EHLO || lines[i].first ||
		    !parse_line(lines[i].text, lines[i].len, &p) || wl >= sizeof(word))
			return false;
		memcpy(word, w, wl);
		word[wl] = '\0';
		if (!ci_eq(p.text, keyword_len(&p), word))
			return false;
		i++;
		w += wl;
		while (*w == ' ')
			w++;
	}
	return true;
}

static bool sig_matches(const struct fp_sig *s, const struct fp_line *lines, size_t n, size_t i,
                        const struct parsed *p)
{
	const struct fp_line *l = &lines[i];

	if (!code_ok(s, p) || !esc_ok(s, p))
		return false;
	switch (s->where) {
	case FPW_BANNER:
		return l->stage == FP_ST_BANNER && text_ok(s->pat, p);
	case FPW_GREETING:
		return l->stage == FP_ST_EHLO && l->first && text_ok(s->pat, p);
	case FPW_KEYWORD:
		return l->stage == FP_ST_EHLO && !l->first &&
		       ci_eq(p->text, keyword_len(p), s->pat);
	case FPW_SEQUENCE:
		return sequence_at(lines, n, i, s->pat);
	case FPW_REPLY:
		return l->stage != FP_ST_BANNER && l->stage != FP_ST_EHLO && text_ok(s->pat, p);
	}
	return false;
}

static void put_evidence(struct fp_evidence *e, const struct fp_line *l, const char *why)
{
	size_t len = l->len < RP_FP_EVIDENCE_LEN ? l->len : RP_FP_EVIDENCE_LEN;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)l->text[i];
		e->text[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	e->text[len] = '\0';
	e->index = l->index;
	e->why = why;
}

void fingerprint_lines(const struct fp_line *lines, size_t n, struct fp_result *out)
{
	int hit[NSIGS]; /* line of the first match, -1 none */
	unsigned score[FP_SW_COUNT] = {0};
	unsigned banner_families = 0; /* bit set of families a banner names */
	enum fp_software best = FP_SW_UNKNOWN;
	unsigned second = 0;
	bool banner_void = false;

	memset(out, 0, sizeof(*out));
	out->note = "";
	if (n > RP_FP_LINES_MAX)
		n = RP_FP_LINES_MAX;
	for (size_t s = 0; s < NSIGS; s++)
		hit[s] = -1;
	for (size_t i = 0; i < n; i++) {
		struct parsed p;
		if (lines[i].text == NULL || !parse_line(lines[i].text, lines[i].len, &p))
			continue;
		for (size_t s = 0; s < NSIGS; s++)
			if (hit[s] < 0 && sig_matches(&sigs[s], lines, n, i, &p))
				hit[s] = (int)i;
	}
	for (size_t s = 0; s < NSIGS; s++)
		if (hit[s] >= 0 && sigs[s].where == FPW_BANNER)
			banner_families |= 1u << family(sigs[s].sw);
	/* a banner naming several products is no evidence of any */
	banner_void = (banner_families & (banner_families - 1)) != 0;
	for (size_t s = 0; s < NSIGS; s++)
		if (hit[s] >= 0 && !(banner_void && sigs[s].where == FPW_BANNER))
			score[sigs[s].sw] += sigs[s].weight;
	/* a product built on another takes its points when it shows at all */
	for (int sw = 1; sw < FP_SW_COUNT; sw++) {
		enum fp_software parent = sw_table[sw].parent;
		if (parent != FP_SW_UNKNOWN && score[sw] > 0) {
			score[sw] += score[parent];
			score[parent] = 0;
		}
	}
	for (int sw = 1; sw < FP_SW_COUNT; sw++)
		if (score[sw] > score[best])
			best = (enum fp_software)sw;
	for (int sw = 1; sw < FP_SW_COUNT; sw++)
		if (sw != (int)best && score[sw] > second)
			second = score[sw];
	out->runner_up = second;
	if (best == FP_SW_UNKNOWN || score[best] < FP_MIN_LOW) {
		out->note =
		    banner_void ? "the banner names several products" : "too little evidence";
		return;
	}
	if (second * 2 > score[best]) {
		out->note = "conflicting evidence";
		return;
	}
	out->software = best;
	out->score = score[best];
	out->confidence = score[best] >= FP_MIN_HIGH     ? FP_CONF_HIGH
	                  : score[best] >= FP_MIN_MEDIUM ? FP_CONF_MEDIUM
	                                                 : FP_CONF_LOW;
	if (banner_void)
		out->note = "the banner names several products";
	/* evidence: the winner's matches, heaviest first */
	for (unsigned w = 100; w > 0 && out->nevidence < RP_FP_EVIDENCE_MAX; w--)
		for (size_t s = 0; s < NSIGS && out->nevidence < RP_FP_EVIDENCE_MAX; s++) {
			enum fp_software sw = sigs[s].sw;
			if (hit[s] < 0 || sigs[s].weight != w ||
			    (sw != best && sw != sw_table[best].parent) ||
			    (banner_void && sigs[s].where == FPW_BANNER))
				continue;
			put_evidence(&out->evidence[out->nevidence++], &lines[hit[s]], sigs[s].why);
		}
}

/* ---- from a transcript -------------------------------------------------- */

#define FP_PENDING_MAX 64 /* commands sent and not yet answered */

static enum fp_stage command_stage(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && n < 8 && s[n] != ' ' && s[n] != ':')
		n++;
	if (ci_eq(s, n, "EHLO") || ci_eq(s, n, "HELO"))
		return FP_ST_EHLO;
	if (ci_eq(s, n, "MAIL"))
		return FP_ST_MAIL;
	if (ci_eq(s, n, "RCPT"))
		return FP_ST_RCPT;
	if (ci_eq(s, n, "DATA"))
		return FP_ST_DATA;
	return FP_ST_OTHER;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

/* Entry i of a transcript source: 0, 1 to skip it, -1 at its end. */
typedef int (*entry_fn)(const void *src, size_t i, struct tr_entry *e);

/* The received lines of entries [0, count) of src with their stages. */
static void fingerprint_entries(const void *src, size_t count, entry_fn get, struct fp_result *out)
{
	struct fp_line lines[RP_FP_LINES_MAX];
	enum fp_stage pending[FP_PENDING_MAX]; /* a FIFO: pending[head .. head+npending) */
	size_t head = 0, npending = 0, n = 0;
	bool in_reply = false, greeted = false;

	for (size_t i = 0; i < count && n < RP_FP_LINES_MAX; i++) {
		struct tr_entry e;
		struct parsed p;
		int rc = get(src, i, &e);

		if (rc < 0)
			break;
		if (rc > 0)
			continue;
		if (e.dir == TR_EVENT && starts_with(e.text, e.len, "Connected to")) {
			head = npending = 0, in_reply = false, greeted = false;
		} else if (e.dir == TR_EVENT && starts_with(e.text, e.len, "Sent the ")) {
			/* the end of the message, answered like a command */
			if (npending < FP_PENDING_MAX)
				pending[(head + npending++) % FP_PENDING_MAX] = FP_ST_DATA;
		} else if (e.dir == TR_SENT) {
			if (npending < FP_PENDING_MAX)
				pending[(head + npending++) % FP_PENDING_MAX] =
				    command_stage(e.text, e.len);
		} else if (e.dir == TR_RECV && parse_line(e.text, e.len, &p)) {
			struct fp_line *l = &lines[n++];
			l->stage = !greeted ? FP_ST_BANNER : npending ? pending[head] : FP_ST_OTHER;
			l->first = !in_reply;
			l->text = e.text;
			l->len = e.len;
			l->index = (int)i;
			in_reply = !p.last;
			if (p.last) {
				if (!greeted)
					greeted = true;
				else if (npending > 0) {
					head = (head + 1) % FP_PENDING_MAX;
					npending--;
				}
			}
		}
	}
	fingerprint_lines(lines, n, out);
}

static int transcript_entry(const void *src, size_t i, struct tr_entry *e)
{
	return transcript_get(src, i, e) < 0 ? -1 : 0;
}

void fingerprint_transcript(const struct transcript *t, struct fp_result *out)
{
	fingerprint_entries(t, t ? transcript_count(t) : 0, transcript_entry, out);
}

/* A JSON line {"dir","text"}: the text borrowed from the document (no copy;
 * the fingerprint reads at most RP_FP_SCAN_MAX bytes of it). */
static int json_entry(const void *src, size_t i, struct tr_entry *e)
{
	const json_t *o = json_array_get(src, i), *text = json_object_get(o, "text");
	const char *dir = json_string_value(json_object_get(o, "dir"));

	if (dir == NULL || !json_is_string(text))
		return 1;
	e->dir = TR_DIR_COUNT;
	for (int k = 0; k < TR_DIR_COUNT; k++)
		if (strcmp(dir, tr_dir_name((enum tr_dir)k)) == 0)
			e->dir = (enum tr_dir)k;
	if (e->dir == TR_DIR_COUNT)
		return 1;
	e->t_ms = 0;
	e->tls = false;
	e->text = json_string_value(text);
	e->len = json_string_length(text);
	return 0;
}

void fingerprint_transcript_json(const json_t *tr, struct fp_result *out)
{
	fingerprint_entries(tr, json_is_array(tr) ? json_array_size(tr) : 0, json_entry, out);
}
