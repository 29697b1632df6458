/* advice.c - the advice files' strict parser and the advice selection
 * (advice.h). A file: comments (#) and blank lines anywhere, then
 * "software NAME", then sections "@FINDING", each "summary TEXT" and one or
 * more "| TEXT" lines. Printable ASCII only, LF line ends; every line, the
 * summary, a section's text and the file are bounded (RP_ADVICE_*). */
#include "advice.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_take.h"

static const char *const finding_names[] = {"open-relay", "address-form", "disagree",
                                            "accepted-not-delivered"};
_Static_assert(sizeof(finding_names) / sizeof(finding_names[0]) == ADV_FINDING_COUNT,
               "adv_finding names");

#define GENERIC_NAME "generic"

struct advice_db {
	bool have_software[FP_SW_COUNT];
	bool present[FP_SW_COUNT][ADV_FINDING_COUNT];
	struct advice_entry e[FP_SW_COUNT][ADV_FINDING_COUNT];
};

const char *adv_finding_name(enum adv_finding f)
{
	return (unsigned)f < ADV_FINDING_COUNT ? finding_names[f] : "?";
}

int adv_finding_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < ADV_FINDING_COUNT; i++)
		if (strcmp(name, finding_names[i]) == 0)
			return i;
	return -1;
}

struct advice_db *advice_db_new(void)
{
	return calloc(1, sizeof(struct advice_db));
}

void advice_db_free(struct advice_db **dbp)
{
	struct advice_db *db = rp_take(dbp);

	if (db == NULL)
		return;
	for (int s = 0; s < FP_SW_COUNT; s++)
		for (int f = 0; f < ADV_FINDING_COUNT; f++) {
			free((char *)db->e[s][f].summary);
			free((char *)db->e[s][f].text);
		}
	free(db);
}

/* The parse of one file: where we are and the section being built. */
struct parse {
	struct advice_db *db;
	const char *file;
	size_t line;
	char *err;
	size_t errlen;
	int software; /* -1 until "software" */
	int finding;  /* -1 outside a section */
	bool seen[ADV_FINDING_COUNT];
	char summary[RP_ADVICE_SUMMARY_MAX + 1];
	char text[RP_ADVICE_TEXT_MAX + 1];
	size_t text_len;
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s:%zu: ", p->file, p->line);

	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Close the open section: it needs its summary and its text. */
static int end_section(struct parse *p)
{
	struct advice_entry *e;
	char *summary = NULL, *text = NULL;

	if (p->finding < 0)
		return 0;
	if (p->summary[0] == '\0')
		return fail(p, "section @%s has no summary", finding_names[p->finding]);
	if (p->text_len == 0)
		return fail(p, "section @%s has no text (\"| ...\" lines)",
		            finding_names[p->finding]);
	summary = strdup(p->summary);
	text = strdup(p->text);
	if (summary == NULL || text == NULL) {
		free(summary);
		free(text);
		return fail(p, "out of memory");
	}
	e = &p->db->e[p->software][p->finding];
	e->software = (enum fp_software)p->software;
	e->finding = (enum adv_finding)p->finding;
	e->summary = summary;
	e->text = text;
	p->db->present[p->software][p->finding] = true;
	p->finding = -1;
	return 0;
}

static int take_software(struct parse *p, const char *name)
{
	int sw = strcmp(name, GENERIC_NAME) == 0 ? FP_SW_UNKNOWN : fp_software_from_name(name);

	if (p->software >= 0)
		return fail(p, "second \"software\" line");
	if (sw < 0 || (sw == FP_SW_UNKNOWN && strcmp(name, GENERIC_NAME) != 0))
		return fail(p, "unknown software \"%s\"", name);
	if (p->db->have_software[sw])
		return fail(p, "software \"%s\" already loaded", name);
	p->software = sw;
	return 0;
}

static int take_section(struct parse *p, const char *name)
{
	int f = adv_finding_from_name(name);

	if (p->software < 0)
		return fail(p, "section before the \"software\" line");
	if (end_section(p) < 0)
		return -1;
	if (f < 0)
		return fail(p, "unknown finding \"@%s\"", name);
	if (p->seen[f])
		return fail(p, "section @%s given twice", name);
	p->seen[f] = true;
	p->finding = f;
	p->summary[0] = '\0';
	p->text[0] = '\0';
	p->text_len = 0;
	return 0;
}

static int take_text(struct parse *p, const char *s, size_t len)
{
	if (p->finding < 0)
		return fail(p, "text outside a section");
	if (p->summary[0] == '\0')
		return fail(p, "text before the summary");
	if (p->text_len + (p->text_len > 0) + len > RP_ADVICE_TEXT_MAX)
		return fail(p, "section @%s longer than %d bytes", finding_names[p->finding],
		            RP_ADVICE_TEXT_MAX);
	if (p->text_len > 0)
		p->text[p->text_len++] = '\n';
	memcpy(p->text + p->text_len, s, len);
	p->text_len += len;
	p->text[p->text_len] = '\0';
	return 0;
}

static int take_line(struct parse *p, const char *s, size_t len)
{
	char word[RP_ADVICE_LINE_MAX + 1];

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return fail(p, "byte 0x%02x at column %zu: printable ASCII only",
			            (unsigned char)s[i], i + 1);
	if (len == 0 || s[0] == '#')
		return 0;
	if (s[0] == '|') {
		if (len > 1 && s[1] != ' ')
			return fail(p, "expected \"| \" before the text");
		return take_text(p, len > 2 ? s + 2 : s + len, len > 2 ? len - 2 : 0);
	}
	if (s[0] == '@') {
		memcpy(word, s + 1, len - 1);
		word[len - 1] = '\0';
		return take_section(p, word);
	}
	if (len > 9 && memcmp(s, "software ", 9) == 0) {
		memcpy(word, s + 9, len - 9);
		word[len - 9] = '\0';
		return take_software(p, word);
	}
	if (len > 8 && memcmp(s, "summary ", 8) == 0) {
		if (p->finding < 0)
			return fail(p, "summary outside a section");
		if (p->summary[0] != '\0' || p->text_len > 0)
			return fail(p, "summary must come once, first in its section");
		if (len - 8 > RP_ADVICE_SUMMARY_MAX)
			return fail(p, "summary longer than %d bytes", RP_ADVICE_SUMMARY_MAX);
		memcpy(p->summary, s + 8, len - 8);
		p->summary[len - 8] = '\0';
		return 0;
	}
	return fail(p, "expected \"software\", \"@finding\", \"summary\", \"| text\" or \"#\"");
}

int advice_db_parse(struct advice_db *db, const char *file, const char *data, size_t len, char *err,
                    size_t errlen)
{
	struct parse *p = NULL;
	size_t off = 0;
	int rc = -1;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	p->db = db, p->file = file, p->err = err, p->errlen = errlen;
	p->software = -1, p->finding = -1;
	if (len > RP_ADVICE_FILE_MAX) {
		fail(p, "file longer than %d bytes", RP_ADVICE_FILE_MAX);
		goto out;
	}
	while (off < len) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (data + off)) : len - off;

		p->line++;
		if (l > RP_ADVICE_LINE_MAX) {
			fail(p, "line longer than %d bytes", RP_ADVICE_LINE_MAX);
			goto out;
		}
		if (take_line(p, data + off, l) < 0)
			goto out;
		off += l + (nl != NULL);
	}
	if (end_section(p) < 0)
		goto out;
	if (p->software < 0) {
		fail(p, "no \"software\" line");
		goto out;
	}
	db->have_software[p->software] = true;
	rc = 0;
out:
	if (rc < 0 && p->software >= 0) /* drop what this file added */
		for (int f = 0; f < ADV_FINDING_COUNT; f++) {
			struct advice_entry *e = &db->e[p->software][f];
			free((char *)e->summary);
			free((char *)e->text);
			memset(e, 0, sizeof(*e));
			db->present[p->software][f] = false;
		}
	free(p);
	return rc;
}

const struct advice_db *advice_builtin(char *err, size_t errlen)
{
	static struct advice_db *db;

	if (db != NULL)
		return db;
	if ((db = advice_db_new()) == NULL) {
		snprintf(err, errlen, "advice: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < advice_nblobs; i++)
		if (advice_db_parse(db, advice_blobs[i].name, advice_blobs[i].data,
		                    advice_blobs[i].len, err, errlen) < 0) {
			advice_db_free(&db);
			return NULL;
		}
	return db;
}

static void add(const struct advice_db *db, enum fp_software sw, enum adv_finding f,
                const struct advice_entry **out, size_t max, size_t *n)
{
	const struct advice_entry *e = NULL;

	if ((unsigned)sw >= FP_SW_COUNT)
		sw = FP_SW_UNKNOWN;
	if (db->present[sw][f])
		e = &db->e[sw][f];
	else if (db->present[FP_SW_UNKNOWN][f])
		e = &db->e[FP_SW_UNKNOWN][f];
	if (e != NULL && *n < max)
		out[(*n)++] = e;
}

size_t advice_select(const struct advice_db *db, const struct advice_query *q,
                     const struct advice_entry **out, size_t max)
{
	size_t n = 0;
	bool relayed = q->verdict == DV_OPEN_CONFIRMED || q->verdict == DV_OPEN;

	if (db == NULL)
		return 0;
	if (q->vantage == ADV_VANTAGE_DISAGREE && verdict_is_open(q->verdict))
		add(db, q->software, ADV_DISAGREE, out, max, &n);
	if (relayed && q->accepted_plain)
		add(db, q->software, ADV_OPEN_RELAY, out, max, &n);
	else if (relayed && q->accepted_odd)
		add(db, q->software, ADV_ADDRESS_FORM, out, max, &n);
	if (q->verdict == DV_ACCEPTED_NOT_DELIVERED)
		add(db, q->software, ADV_NOT_DELIVERED, out, max, &n);
	return n;
}
