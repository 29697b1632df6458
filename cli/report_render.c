/* report_render.c - admin replies to text: the audit summary and matrix
 * (grouped per client, column widths from the content, each cell cut at
 * CELL_MAX), the report's exit status, the result transcripts and the agents,
 * targets, exclusions, schedule, history, events and hooks tables. Reads only what it
 * checks the type of; anything missing or of the wrong type renders as "-" or
 * "?"; fields of newer controllers are optional. Over 800 lines: every table
 * the CLI prints is here, beside the one clean()/cell rule they share, so
 * that no command prints a controller string by itself. */
#include "report_render.h"
#include "report_advice.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rp_limits.h"
#include "transcript.h"
#include "verdict.h"

#define CELL_MAX  256 /* one rendered table cell, cut beyond this */
#define LABEL_MAX 512 /* the LABELS cell */

void report_put_escaped(const char *s, const char *const entities[REPORT_BYTE_COUNT], FILE *out)
{
	if (s == NULL) {
		fputc('-', out);
		return;
	}
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (entities != NULL && entities[ch] != NULL)
			fputs(entities[ch], out);
		else
			fputc(ch < 0x20 || ch >= 0x7f ? '?' : ch, out);
	}
}

void report_put_clean(const char *s, FILE *out)
{
	report_put_escaped(s, NULL, out);
}

/* Copies s into buf made printable (cut to len - 1 bytes); NULL gives dflt. */
static const char *clean(const char *s, const char *dflt, char *buf, size_t len)
{
	size_t i = 0;

	if (s == NULL)
		s = dflt;
	for (; s[i] && i + 1 < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[i] = (char)(ch < 0x20 || ch >= 0x7f ? '?' : ch);
	}
	buf[i] = '\0';
	return buf;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)); /* NULL when absent or not a string */
}

void report_id_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		clean(json_string_value(v), "?", buf, len);
	else
		snprintf(buf, len, "?");
}

/* ---- the audit matrix --------------------------------------------------- */

static bool name_is_open(const char *verdict)
{
	int v = verdict ? dialog_verdict_from_name(verdict) : -1;

	return v >= 0 && verdict_is_open((enum dialog_verdict)v);
}

static bool target_inconclusive(const json_t *t)
{
	const char *name = str(t, "verdict");
	int v = name ? dialog_verdict_from_name(name) : -1;

	return json_is_true(json_object_get(t, "inconclusive")) || v < 0 ||
	       verdict_inconclusive((enum dialog_verdict)v);
}

int report_exit_status(const json_t *report)
{
	const json_t *targets = json_object_get(report, "targets");
	const json_t *t;
	size_t i;
	bool inconclusive = false;

	if (!json_is_array(targets) || json_array_size(targets) == 0)
		return REPORT_EXIT_INCONCLUSIVE;
	json_array_foreach(targets, i, t)
	{
		if (name_is_open(str(t, "verdict")))
			return REPORT_EXIT_OPEN;
		if (target_inconclusive(t))
			inconclusive = true;
	}
	return inconclusive ? REPORT_EXIT_INCONCLUSIVE : REPORT_EXIT_NONE_OPEN;
}

static const char *cell_of(const json_t *t, const char *vantage, char *buf, size_t len)
{
	return clean(str(json_object_get(t, "cells"), vantage), "-", buf, len);
}

/* NEW (open now, not open in the previous audit), DISAGREE, inconclusive,
 * partial (conclusive, but some vantage was not), comma-separated; "-" for
 * none. */
static const char *flags_of(const json_t *t, char *buf, size_t len)
{
	static const char *const keys[] = {"new", "disagree", "inconclusive", "partial"};
	static const char *const names[] = {"NEW", "DISAGREE", "inconclusive", "partial"};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int n;
		if (!json_is_true(json_object_get(t, keys[i])))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
	return buf;
}

static void widen(int *w, const char *s)
{
	int n = (int)strlen(s);

	if (n > *w)
		*w = n;
}

/* The accepted ids of one open cell, comma-separated; "-" when none. */
static void print_accepted(const json_t *t, const char *vantage, FILE *out)
{
	const json_t *ids = json_object_get(json_object_get(t, "accepted"), vantage);
	const json_t *id;
	size_t i, shown = 0;

	if (json_is_array(ids))
		json_array_foreach(ids, i, id)
		{
			if (!json_is_string(id))
				continue;
			fputs(shown++ ? "," : "", out);
			report_put_clean(json_string_value(id), out);
		}
	if (shown == 0)
		fputc('-', out);
}

/* "" for a target without a client (absent, null, or not a string). */
static const char *client_of(const json_t *t)
{
	const char *c = str(t, "client");

	return c != NULL ? c : "";
}

bool report_has_clients(const json_t *report)
{
	const json_t *t;
	size_t i;

	json_array_foreach(json_object_get(report, "targets"), i,
	                   t) if (client_of(t)[0] != '\0') return true;
	return false;
}

static int by_client(const void *a, const void *b)
{
	const struct report_entry *x = a, *y = b;
	int c = strcmp(x->client, y->client);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

struct report_entry *report_group_by_client(const json_t *report, size_t *n)
{
	const json_t *targets = json_object_get(report, "targets"), *t;
	struct report_entry *e;
	size_t i;

	*n = 0;
	if (!json_is_array(targets))
		return NULL;
	e = calloc(json_array_size(targets) + 1, sizeof(*e));
	if (e == NULL)
		return NULL;
	json_array_foreach(targets, i, t)
	{
		e[i].index = i;
		e[i].target = t;
		e[i].client = client_of(t);
	}
	*n = json_array_size(targets);
	qsort(e, *n, sizeof(*e), by_client);
	return e;
}

/* A non-negative integer field of o, else -1. */
static json_int_t count_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

void report_summary_counts(const json_t *report, struct report_summary *s)
{
	const json_t *sum = json_object_get(report, "summary");
	const json_t *t, *pa = json_object_get(report, "previous_audit");
	size_t i;

	memset(s, 0, sizeof(*s));
	s->present = json_is_object(sum);
	s->changed = -1;
	json_array_foreach(json_object_get(report, "targets"), i, t)
	{
		const char *v = str(t, "verdict");
		s->targets++;
		if (v != NULL && (strcmp(v, "open") == 0 || strcmp(v, "open-confirmed") == 0)) {
			s->open++;
			s->new_open += json_is_true(json_object_get(t, "new"));
		} else if (v != NULL && strcmp(v, "closed") == 0) {
			s->closed++;
		} else if (v != NULL && strcmp(v, "inconclusive") == 0) {
			s->inconclusive++;
		} else {
			s->other++;
		}
		s->disagree += json_is_true(json_object_get(t, "disagree"));
	}
	if (s->present) { /* the controller's numbers win where it gave them */
		static const char *const keys[] = {"targets",      "open",   "closed",
		                                   "inconclusive", "other",  "disagree",
		                                   "new_open",     "changed"};
		json_int_t *const fields[] = {&s->targets,      &s->open,   &s->closed,
		                              &s->inconclusive, &s->other,  &s->disagree,
		                              &s->new_open,     &s->changed};
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			json_int_t v = count_of(sum, keys[k]);
			if (v >= 0)
				*fields[k] = v;
		}
	}
	s->previous_audit = -1;
	if (json_is_integer(pa) && json_integer_value(pa) > 0) {
		s->previous_audit = json_integer_value(pa);
		snprintf(s->previous_text, sizeof(s->previous_text), "%" JSON_INTEGER_FORMAT,
		         s->previous_audit);
	} else if (json_is_string(pa)) {
		clean(json_string_value(pa), "", s->previous_text, sizeof(s->previous_text));
	}
}

static const char *plural(json_int_t n)
{
	return n == 1 ? "" : "s";
}

/* The summary block printed above the matrix when the report has one. */
static void print_summary(const json_t *report, size_t nv, FILE *out)
{
	struct report_summary s;
	char id[CELL_MAX];

	report_summary_counts(report, &s);
	report_id_text(json_object_get(report, "audit"), id, sizeof(id));
	fprintf(out, "audit %s: %" JSON_INTEGER_FORMAT " target%s, %zu vantage%s\n", id, s.targets,
	        plural(s.targets), nv, nv == 1 ? "" : "s");
	fprintf(out, "  open          %" JSON_INTEGER_FORMAT, s.open);
	if (s.previous_text[0] != '\0')
		fprintf(out, " (%" JSON_INTEGER_FORMAT " new since audit %s)", s.new_open,
		        s.previous_text);
	else
		fprintf(out, " (%" JSON_INTEGER_FORMAT " new: no earlier audit)", s.new_open);
	fprintf(out,
	        "\n  closed        %" JSON_INTEGER_FORMAT "\n  inconclusive  %" JSON_INTEGER_FORMAT
	        "\n  other         %" JSON_INTEGER_FORMAT "\n  disagree      %" JSON_INTEGER_FORMAT
	        "\n",
	        s.closed, s.inconclusive, s.other, s.disagree);
	if (s.changed >= 0 && s.previous_text[0] != '\0')
		fprintf(out, "  changed       %" JSON_INTEGER_FORMAT " since audit %s\n", s.changed,
		        s.previous_text);
	fputc('\n', out);
}

struct widths {
	int target, verdict, *vantage;
};

static void print_header(const json_t *vantages, const struct widths *w, FILE *out)
{
	const json_t *v;
	size_t j;
	char buf[CELL_MAX];

	fprintf(out, "%-*s", w->target, "TARGET");
	json_array_foreach(vantages, j, v) fprintf(
	    out, "  %-*s", w->vantage[j], clean(json_string_value(v), "?", buf, sizeof(buf)));
	fprintf(out, "  %-*s  %s\n", w->verdict, "VERDICT", "FLAGS");
}

static void print_row(const json_t *vantages, const json_t *t, const struct widths *w,
                      size_t *nopen_cells, FILE *out)
{
	const json_t *v;
	size_t j;
	char buf[CELL_MAX];

	fprintf(out, "%-*s", w->target, clean(str(t, "target"), "?", buf, sizeof(buf)));
	json_array_foreach(vantages, j, v)
	{
		const char *cell = cell_of(t, json_string_value(v), buf, sizeof(buf));
		fprintf(out, "  %-*s", w->vantage[j], cell);
		if (name_is_open(cell))
			(*nopen_cells)++;
	}
	fprintf(out, "  %-*s", w->verdict, clean(str(t, "verdict"), "?", buf, sizeof(buf)));
	fprintf(out, "  %s\n", flags_of(t, buf, sizeof(buf)));
}

/* The canary's proof under the matrix: each delivery (who relayed it, from
 * where, how fast, through how many hops) and each bounce (backscatter). */
static void print_proof(const struct report_entry *groups, size_t ng, FILE *out)
{
	char buf[CELL_MAX], ab[CELL_MAX], ib[CELL_MAX];
	bool head = false;

	for (size_t i = 0; i < ng; i++) {
		const json_t *p = json_object_get(groups[i].target, "proof"), *d;
		size_t k;

		if (!json_is_object(p))
			continue;
		if (!head) {
			fputs("\nProof by delivery (canary):\n", out);
			head = true;
		}
		json_array_foreach(json_object_get(p, "deliveries"), k, d)
		{
			const json_t *delay = json_object_get(d, "delay_ms");

			fprintf(out, "  %s from %s: %s delivered",
			        clean(str(groups[i].target, "target"), "?", buf, sizeof(buf)),
			        clean(str(d, "agent"), "?", ab, sizeof(ab)),
			        str(d, "test") ? str(d, "test") : "?");
			if (json_is_integer(delay) && json_integer_value(delay) >= 1000)
				fprintf(out, " %.1f s after DATA",
				        (double)json_integer_value(delay) / 1000.0);
			else if (json_is_integer(delay) && json_integer_value(delay) >= 0)
				fprintf(out, " %lld ms after DATA",
				        (long long)json_integer_value(delay));
			fprintf(out, " by %s, %lld hop(s)%s\n",
			        clean(str(d, "peer_ip"), "?", buf, sizeof(buf)),
			        (long long)json_integer_value(json_object_get(d, "hops")),
			        json_is_true(json_object_get(d, "multihop"))
			            ? ", multihop: not the tested address"
			            : "");
		}
		json_array_foreach(json_object_get(p, "bounces"), k, d)
		{
			fprintf(out,
			        "  %s from %s: backscatter, a bounce for %s came back from %s\n",
			        clean(str(groups[i].target, "target"), "?", buf, sizeof(buf)),
			        clean(str(d, "agent"), "?", ab, sizeof(ab)),
			        str(d, "test") ? str(d, "test") : "?",
			        clean(str(d, "peer_ip"), "?", ib, sizeof(ib)));
		}
	}
}

int report_render_text(const json_t *report, FILE *out)
{
	const json_t *vantages = json_object_get(report, "vantages");
	const json_t *targets = json_object_get(report, "targets");
	const json_t *t, *v;
	struct report_entry *groups = NULL;
	struct widths w = {(int)strlen("TARGET"), (int)strlen("VERDICT"), NULL};
	size_t i, j, nv, ng = 0, nopen = 0, ninc = 0, nclosed = 0, nopen_cells = 0;
	bool clients;
	char buf[CELL_MAX], id[CELL_MAX];

	if (!json_is_array(vantages) || !json_is_array(targets))
		return -1;
	nv = json_array_size(vantages);
	w.vantage = calloc(nv + 1, sizeof(*w.vantage));
	groups = report_group_by_client(report, &ng);
	if (w.vantage == NULL || groups == NULL) {
		free(w.vantage);
		free(groups);
		return -1;
	}
	clients = report_has_clients(report);
	json_array_foreach(vantages, j, v) w.vantage[j] =
	    (int)strlen(clean(json_string_value(v), "?", buf, sizeof(buf)));
	json_array_foreach(targets, i, t)
	{
		widen(&w.target, clean(str(t, "target"), "?", buf, sizeof(buf)));
		widen(&w.verdict, clean(str(t, "verdict"), "?", buf, sizeof(buf)));
		json_array_foreach(vantages, j, v)
		    widen(&w.vantage[j], cell_of(t, json_string_value(v), buf, sizeof(buf)));
		if (name_is_open(str(t, "verdict")))
			nopen++;
		else if (target_inconclusive(t))
			ninc++;
		else
			nclosed++;
	}

	if (json_is_object(json_object_get(report, "summary")))
		print_summary(report, nv, out);
	if (!clients)
		print_header(vantages, &w, out);
	for (i = 0; i < ng; i++) {
		if (clients && (i == 0 || strcmp(groups[i].client, groups[i - 1].client) != 0)) {
			size_t n = 1;
			while (i + n < ng && strcmp(groups[i + n].client, groups[i].client) == 0)
				n++;
			if (i > 0)
				fputc('\n', out);
			if (groups[i].client[0] == '\0')
				fputs("no client", out);
			else
				fprintf(out, "client %s",
				        clean(groups[i].client, "?", buf, sizeof(buf)));
			fprintf(out, ": %zu target%s\n", n, n == 1 ? "" : "s");
			print_header(vantages, &w, out);
		}
		print_row(vantages, groups[i].target, &w, &nopen_cells, out);
	}

	if (nopen_cells > 0) {
		fputs("\nAccepted relay tests:\n", out);
		for (i = 0; i < ng; i++) {
			t = groups[i].target;
			json_array_foreach(vantages, j, v)
			{
				const char *name = json_string_value(v);
				if (name == NULL ||
				    !name_is_open(str(json_object_get(t, "cells"), name)))
					continue;
				fprintf(out, "  %s from ",
				        clean(str(t, "target"), "?", buf, sizeof(buf)));
				fprintf(out, "%s: ", clean(name, "?", buf, sizeof(buf)));
				print_accepted(t, name, out);
				fputc('\n', out);
			}
		}
	}
	print_proof(groups, ng, out);
	report_advice_text(report, report_put_clean, out);
	report_id_text(json_object_get(report, "audit"), id, sizeof(id));
	if (str(report, "status") != NULL && strcmp(str(report, "status"), "done") != 0) {
		size_t n = strlen(id);
		snprintf(id + n, sizeof(id) - n, " (%s)",
		         clean(str(report, "status"), "?", buf, 32));
	}
	fprintf(
	    out,
	    "\naudit %s: %zu target%s, %zu vantage%s: %zu open, %zu not open, %zu inconclusive\n",
	    id, json_array_size(targets), json_array_size(targets) == 1 ? "" : "s", nv,
	    nv == 1 ? "" : "s", nopen, nclosed, ninc);
	free(w.vantage);
	free(groups);
	return ferror(out) ? -1 : 0;
}

/* ---- transcripts -------------------------------------------------------- */

static int dir_from_name(const char *name)
{
	for (int d = 0; name != NULL && d < TR_DIR_COUNT; d++)
		if (strcmp(name, tr_dir_name((enum tr_dir)d)) == 0)
			return d;
	return -1;
}

static void render_result_header(const json_t *r, FILE *out)
{
	const json_t *port = json_object_get(r, "port");
	const char *addr = str(r, "address"), *reason = str(r, "reason");
	char buf[CELL_MAX];

	fputs("== ", out);
	report_put_clean(str(r, "target"), out);
	if (addr != NULL) {
		bool v6 = strchr(addr, ':') != NULL;
		fprintf(out, " %s%s%s", v6 ? "[" : "", clean(addr, "?", buf, sizeof(buf)),
		        v6 ? "]" : "");
		if (json_is_integer(port))
			fprintf(out, ":%" JSON_INTEGER_FORMAT, json_integer_value(port));
	}
	fprintf(out, " %s", clean(str(r, "verdict"), "?", buf, sizeof(buf)));
	if (reason != NULL) {
		fputs(" (", out);
		report_put_clean(reason, out);
		fputc(')', out);
	}
	fputc('\n', out);
}

void report_transcript_lines(const json_t *tr, void (*put)(const char *, FILE *), FILE *out)
{
	const json_t *e;
	size_t i;
	json_int_t t0 = 0;
	bool first = true;

	json_array_foreach(tr, i, e)
	{
		struct tr_entry te;
		const json_t *t = json_object_get(e, "t");
		int d = dir_from_name(str(e, "dir"));
		json_int_t ms = json_is_integer(t) ? json_integer_value(t) : 0;

		if (first) {
			t0 = ms;
			first = false;
		}
		memset(&te, 0, sizeof(te));
		te.dir = d < 0 ? TR_DIR_COUNT : (enum tr_dir)d; /* "???" marker */
		te.tls = json_is_true(json_object_get(e, "tls"));
		te.text = str(e, "text");
		fprintf(out, "%8.3f ", (double)(ms - t0) / 1000.0);
		put(transcript_marker(&te), out);
		fputc(' ', out);
		put(te.text ? te.text : "", out);
		fputc('\n', out);
	}
}

long report_render_transcripts(const json_t *reply, FILE *out)
{
	const json_t *results = json_object_get(reply, "results");
	const json_t *r;
	size_t i;
	long n = 0;

	if (!json_is_array(results))
		return -1;
	json_array_foreach(results, i, r)
	{
		json_t *parsed = NULL;
		const json_t *tr;

		if (json_is_string(r)) /* a stored result kept as text */
			r = parsed = json_loads(json_string_value(r), JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(r)) {
			json_decref(parsed);
			continue;
		}
		if (n > 0)
			fputc('\n', out);
		render_result_header(r, out);
		tr = json_object_get(r, "transcript");
		if (json_is_array(tr))
			report_transcript_lines(tr, report_put_clean, out);
		else
			fputs("   (no transcript: no dialog ran)\n", out);
		json_decref(parsed);
		n++;
	}
	return n;
}

/* ---- agents ------------------------------------------------------------- */

enum { COL_NAME, COL_FP, COL_STATUS, COL_CONN, COL_SEEN, COL_LABELS, COL_COUNT };
static const char *const agent_headers[COL_COUNT] = {"NAME",      "FINGERPRINT", "STATUS",
                                                     "CONNECTED", "LAST-SEEN",   "LABELS"};

/* Epoch seconds or milliseconds (numbers past 1e11 are taken as ms). */
static void format_time(const json_t *v, char *buf, size_t len)
{
	json_int_t n;
	time_t secs;
	struct tm tm;

	if (json_is_string(v)) {
		clean(json_string_value(v), "-", buf, len);
		return;
	}
	if (!json_is_integer(v) || (n = json_integer_value(v)) <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	secs = (time_t)(n > 100000000000LL ? n / 1000 : n);
	if (gmtime_r(&secs, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

static void format_labels(const json_t *v, char *buf, size_t len)
{
	const char *key;
	const json_t *val;
	size_t used = 0, i;
	char tmp[CELL_MAX];

	buf[0] = '\0';
	if (json_is_string(v)) {
		clean(json_string_value(v), "-", buf, len);
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, val)
		{
			int n = snprintf(buf + used, len - used, "%s%s=", used ? "," : "",
			                 clean(key, "?", tmp, sizeof(tmp)));
			if (n < 0 || (size_t)n >= len - used)
				break;
			used += (size_t)n;
			n = snprintf(buf + used, len - used, "%s",
			             clean(json_string_value(val), "?", tmp, sizeof(tmp)));
			if (n < 0 || (size_t)n >= len - used)
				break;
			used += (size_t)n;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, val)
		{
			int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
			                 clean(json_string_value(val), "?", tmp, sizeof(tmp)));
			if (n < 0 || (size_t)n >= len - used)
				break;
			used += (size_t)n;
		}
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
}

static void agent_cells(const json_t *a, char cells[COL_COUNT][LABEL_MAX])
{
	const json_t *conn = json_object_get(a, "connected");
	const char *name = str(a, "name");

	if (name == NULL || name[0] == '\0') /* pending: known by its fingerprint */
		name = str(a, "fingerprint");
	if (name != NULL && name[0] != '\0')
		clean(name, "-", cells[COL_NAME], LABEL_MAX);
	else
		report_id_text(json_object_get(a, "id"), cells[COL_NAME], LABEL_MAX);
	clean(str(a, "fingerprint"), "-", cells[COL_FP], LABEL_MAX);
	clean(str(a, "status"), "?", cells[COL_STATUS], LABEL_MAX);
	snprintf(cells[COL_CONN], LABEL_MAX, "%s",
	         json_is_boolean(conn) ? (json_is_true(conn) ? "yes" : "no") : "-");
	format_time(json_object_get(a, "last_seen"), cells[COL_SEEN], LABEL_MAX);
	format_labels(json_object_get(a, "labels"), cells[COL_LABELS], LABEL_MAX);
}

long report_render_agents(const json_t *reply, FILE *out)
{
	const json_t *agents = json_object_get(reply, "agents");
	const json_t *a;
	char cells[COL_COUNT][LABEL_MAX];
	int w[COL_COUNT];
	size_t i;

	if (!json_is_array(agents))
		return -1;
	for (int c = 0; c < COL_COUNT; c++)
		w[c] = (int)strlen(agent_headers[c]);
	json_array_foreach(agents, i, a)
	{
		agent_cells(a, cells);
		for (int c = 0; c < COL_COUNT - 1; c++)
			widen(&w[c], cells[c]);
	}
	for (int c = 0; c < COL_COUNT; c++)
		fprintf(out, c < COL_COUNT - 1 ? "%-*s  " : "%*s\n", c < COL_COUNT - 1 ? w[c] : 0,
		        agent_headers[c]);
	json_array_foreach(agents, i, a)
	{
		agent_cells(a, cells);
		for (int c = 0; c < COL_COUNT; c++)
			fprintf(out, c < COL_COUNT - 1 ? "%-*s  " : "%*s\n",
			        c < COL_COUNT - 1 ? w[c] : 0, cells[c]);
	}
	return (long)json_array_size(agents);
}

void report_agent_line(const json_t *agent, FILE *out)
{
	char cells[COL_COUNT][LABEL_MAX];

	agent_cells(agent, cells);
	fprintf(out, "%s (%s): %s\n", cells[COL_NAME], cells[COL_FP], cells[COL_STATUS]);
}

/* ---- inventory, schedules, history, events, hooks ----------------------- */

/* Epoch seconds as UTC ISO 8601; "-" for none (<= 0) or not a number. */
static const char *utc_text(const json_t *v, char *buf, size_t len)
{
	time_t secs;
	struct tm tm;

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return "-";
	secs = (time_t)json_integer_value(v);
	if (gmtime_r(&secs, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return buf;
}

/* The integer at key, 0 when absent or not an integer. */
static long long int_of(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

long report_render_targets(const json_t *reply, FILE *out)
{
	const json_t *targets = json_object_get(reply, "targets");
	const json_t *el, *t;
	char client[CELL_MAX], target[CELL_MAX], tag[CELL_MAX];
	size_t i, k;

	fprintf(out, "%-20s %-40s %s\n", "CLIENT", "TARGET", "TAGS");
	json_array_foreach(targets, i, el)
	{
		fprintf(out, "%-20s %-40s ", clean(str(el, "client"), "-", client, sizeof(client)),
		        clean(str(el, "target"), "-", target, sizeof(target)));
		json_array_foreach(json_object_get(el, "tags"), k, t) fprintf(
		    out, "%s%s", k ? ";" : "", clean(json_string_value(t), "?", tag, sizeof(tag)));
		fputc('\n', out);
	}
	return (long)json_array_size(targets);
}

/* s, or NULL when it is "" (the cell's default shows instead). */
static const char *nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

long report_render_exclusions(const json_t *reply, FILE *out)
{
	const json_t *list = json_object_get(reply, "exclusions");
	const json_t *el;
	char entry[CELL_MAX], by[CELL_MAX], reason[CELL_MAX], added[32];
	size_t i;

	fprintf(out, "%-40s %-20s %-16s %s\n", "ENTRY", "ADDED", "BY", "REASON");
	json_array_foreach(list, i, el)
	{
		fprintf(out, "%-40s %-20s %-16s %s\n",
		        clean(str(el, "entry"), "-", entry, sizeof(entry)),
		        utc_text(json_object_get(el, "added_at"), added, sizeof(added)),
		        clean(nonempty(str(el, "by")), "-", by, sizeof(by)),
		        clean(nonempty(str(el, "reason")), "-", reason, sizeof(reason)));
	}
	return (long)json_array_size(list);
}

long report_render_schedules(const json_t *reply, FILE *out)
{
	const json_t *list = json_object_get(reply, "schedules");
	const json_t *el;
	char name[CELL_MAX], sel[2 * CELL_MAX + 1], value[CELL_MAX], error[CELL_MAX];
	char next[32], last[32];
	size_t i;

	fprintf(out, "%-16s %8s %-12s %-20s %-20s %6s %s\n", "NAME", "EVERY", "SELECT", "NEXT-RUN",
	        "LAST-RUN", "AUDIT", "LAST-ERROR");
	json_array_foreach(list, i, el)
	{
		char selector[CELL_MAX];

		clean(str(el, "value"), "", value, sizeof(value));
		snprintf(sel, sizeof(sel), "%s%s%s",
		         clean(str(el, "selector"), "?", selector, sizeof(selector)),
		         value[0] ? "=" : "", value);
		fprintf(out, "%-16s %7llds %-12s %-20s %-20s %6lld %s\n",
		        clean(str(el, "name"), "-", name, sizeof(name)), int_of(el, "every"), sel,
		        utc_text(json_object_get(el, "next_run"), next, sizeof(next)),
		        utc_text(json_object_get(el, "last_run"), last, sizeof(last)),
		        int_of(el, "last_audit"),
		        clean(str(el, "last_error"), "", error, sizeof(error)));
	}
	return (long)json_array_size(list);
}

long report_render_history(const json_t *reply, FILE *out)
{
	const json_t *history = json_object_get(reply, "history");
	const json_t *el, *v;
	const char *k;
	char at[32], cell[CELL_MAX];
	size_t i;

	fprintf(out, "%-8s %-20s %-24s %s\n", "AUDIT", "TIME", "VERDICT", "VANTAGES");
	json_array_foreach(history, i, el)
	{
		int first = 1;

		report_id_text(json_object_get(el, "verdict"), cell, sizeof(cell));
		fprintf(out, "%-8lld %-20s %-24s ", int_of(el, "audit"),
		        utc_text(json_object_get(el, "at"), at, sizeof(at)), cell);
		json_object_foreach((json_t *)json_object_get(el, "vantages"), k, v)
		{
			fputs(first ? "" : ",", out);
			fputs(clean(k, "?", cell, sizeof(cell)), out);
			fputc('=', out);
			report_id_text(v, cell, sizeof(cell));
			fputs(cell, out);
			first = 0;
		}
		fputc('\n', out);
	}
	return (long)json_array_size(history);
}

/* The end of an event's line: the software named (when known), then one
 * indented "fix" line per advice entry the controller gave for it. */
static void event_fix(const json_t *el, FILE *out)
{
	const json_t *sw = json_object_get(el, "software"), *a;
	const char *label = str(sw, "label");
	char cell[CELL_MAX], conf[CELL_MAX], summary[2 * CELL_MAX];
	size_t i;

	if (label != NULL && strcmp(label, "unknown") != 0)
		fprintf(out, " software=%s(%s)", clean(label, "?", cell, sizeof(cell)),
		        clean(str(sw, "confidence"), "?", conf, sizeof(conf)));
	fputc('\n', out);
	json_array_foreach(json_object_get(el, "advice"), i, a)
	{
		fprintf(out, "  fix (%s): %s\n", clean(str(a, "key"), "?", cell, sizeof(cell)),
		        clean(str(a, "summary"), "?", summary, sizeof(summary)));
	}
}

long report_render_events(const json_t *reply, FILE *out)
{
	const json_t *events = json_object_get(reply, "events");
	const json_t *el;
	char at[32], target[CELL_MAX], client[CELL_MAX], from[CELL_MAX], to[CELL_MAX];
	size_t i;

	json_array_foreach(events, i, el)
	{
		report_id_text(json_object_get(el, "target"), target, sizeof(target));
		report_id_text(json_object_get(el, "client"), client, sizeof(client));
		report_id_text(json_object_get(el, "from"), from, sizeof(from));
		report_id_text(json_object_get(el, "to"), to, sizeof(to));
		fprintf(out, "%s %s client=%s %s -> %s audit=%lld",
		        utc_text(json_object_get(el, "at"), at, sizeof(at)), target, client, from,
		        to, int_of(el, "audit"));
		event_fix(el, out);
	}
	return (long)json_array_size(events);
}

long report_render_hooks(const json_t *reply, FILE *out)
{
	const json_t *hooks = json_object_get(reply, "hooks");
	const json_t *states, *n;
	const char *hook, *state;
	char cell[CELL_MAX];

	if (json_object_size(hooks) == 0)
		fprintf(out, "no hook has deliveries (none configured, or no event yet)\n");
	json_object_foreach((json_t *)hooks, hook, states)
	{
		fputs(clean(hook, "?", cell, sizeof(cell)), out);
		json_object_foreach((json_t *)states, state, n)
		    fprintf(out, " %s=%lld", clean(state, "?", cell, sizeof(cell)),
		            (long long)json_integer_value(n));
		fputc('\n', out);
	}
	return (long)json_object_size(hooks);
}
