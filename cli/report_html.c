/* report_html.c - admin `report` (+ transcripts) replies to CSV and to one
 * self-contained HTML page written as it goes (struct report_html: the report
 * borrowed, one bit per cell written, name indexes), transcripts of at most
 * RP_ADMIN_TARGETS_MAX targets. Owns the page's inline CSS/JS, allowed by
 * the CSP through their SHA-256 hashes only (no 'unsafe-inline'). Every string
 * from the controller goes through report_html_escape() (HTML) or csv_cell()
 * (CSV); CSV cells are cut at CELL_MAX bytes.
 * About 900 lines: the page is one writer (head, summary, one matrix per
 * client, the proof table, the transcripts streamed page by page) over one
 * struct report_html, and the CSV shares its cell escaping. */
#include "report_html.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_advice.h"
#include "report_glance.h"
#include "report_render.h"
#include "rp_limits.h"
#include "transcript.h"
#include "verdict.h"

#define CELL_MAX 1024 /* one CSV cell, cut beyond this */

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The HTML entities of report_html_escape(); other bytes as report_put_clean(). */
static const char *const html_entities[REPORT_BYTE_COUNT] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
};

void report_html_escape(const char *s, FILE *out)
{
	report_put_escaped(s, html_entities, out);
}

long report_html_cell_id(size_t ti, size_t vi, size_t nv)
{
	return (long)(ti * nv + vi);
}

/* 'o' open, 'i' inconclusive, 'c' closed (a known, conclusive verdict), '-'
 * no verdict for the cell. */
static char verdict_class(const char *name)
{
	int v;

	if (name == NULL)
		return '-';
	v = dialog_verdict_from_name(name);
	if (v < 0)
		return 'i';
	if (verdict_is_open((enum dialog_verdict)v))
		return 'o';
	return verdict_inconclusive((enum dialog_verdict)v) ? 'i' : 'c';
}

static char target_class(const json_t *t)
{
	char k = verdict_class(str(t, "verdict"));

	if (k == 'o')
		return 'o';
	if (k != 'c' || json_is_true(json_object_get(t, "inconclusive")))
		return 'i';
	return 'c';
}

/* ---- CSV ---------------------------------------------------------------- */

static void csv_cell(const char *s, FILE *out)
{
	char buf[CELL_MAX + 2];
	size_t i = 0, n = 0;
	bool quote;

	if (s == NULL)
		s = "";
	if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')
		buf[n++] = '\'';
	for (; s[i] && n < CELL_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[n++] = (char)(ch < 0x20 || ch == 0x7f ? '?' : ch);
	}
	buf[n] = '\0';
	quote = strpbrk(buf, ",\"") != NULL;
	if (!quote) {
		fputs(buf, out);
		return;
	}
	fputc('"', out);
	for (i = 0; i < n; i++) {
		if (buf[i] == '"')
			fputc('"', out);
		fputc(buf[i], out);
	}
	fputc('"', out);
}

static void accepted_join(const json_t *t, const char *vantage, char *buf, size_t len)
{
	const json_t *ids = json_object_get(json_object_get(t, "accepted"), vantage);
	const json_t *id;
	size_t i, used = 0;

	buf[0] = '\0';
	if (!json_is_array(ids) || vantage == NULL)
		return;
	json_array_foreach(ids, i, id)
	{
		int n;
		if (!json_is_string(id))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ";" : "",
		             json_string_value(id));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

/* A boolean field as true/false, "" when absent (an older controller). */
static const char *csv_bool(const json_t *t, const char *key)
{
	const json_t *v = json_object_get(t, key);

	return json_is_boolean(v) ? (json_is_true(v) ? "true" : "false") : "";
}

/* The delivering IP of the vantage's first arrival of that kind in the
 * target's canary proof ("deliveries" or "bounces"), or NULL. */
static const char *proof_of(const json_t *t, const char *vantage, const char *kind)
{
	const json_t *a, *d;
	size_t i;

	a = json_object_get(json_object_get(t, "proof"), kind);
	json_array_foreach(a, i,
	                   d) if (vantage != NULL && str(d, "agent") != NULL &&
	                          strcmp(str(d, "agent"), vantage) == 0) return str(d, "peer_ip");
	return NULL;
}

long report_render_csv(const json_t *report, FILE *out)
{
	const json_t *vantages = json_object_get(report, "vantages");
	const json_t *targets = json_object_get(report, "targets");
	const json_t *t, *v;
	size_t i, j;
	long rows = 0;
	char acc[CELL_MAX], sw[CELL_MAX];

	if (!json_is_array(vantages) || !json_is_array(targets))
		return -1;
	fputs("client,target,vantage,verdict,aggregated_verdict,disagree,inconclusive,"
	      "accepted_tests,previous,new,delivered_by,backscatter,software,advice\r\n",
	      out);
	json_array_foreach(targets, i, t) json_array_foreach(vantages, j, v)
	{
		const char *name = json_string_value(v);
		csv_cell(str(t, "client"), out);
		fputc(',', out);
		csv_cell(str(t, "target"), out);
		fputc(',', out);
		csv_cell(name, out);
		fputc(',', out);
		csv_cell(name ? str(json_object_get(t, "cells"), name) : NULL, out);
		fputc(',', out);
		csv_cell(str(t, "verdict"), out);
		fprintf(out, ",%s,%s,",
		        json_is_true(json_object_get(t, "disagree")) ? "true" : "false",
		        json_is_true(json_object_get(t, "inconclusive")) ? "true" : "false");
		accepted_join(t, name, acc, sizeof(acc));
		csv_cell(acc, out);
		fputc(',', out);
		csv_cell(str(t, "previous"), out);
		fprintf(out, ",%s,", csv_bool(t, "new"));
		csv_cell(proof_of(t, name, "deliveries"), out);
		fprintf(out, ",%s,", proof_of(t, name, "bounces") != NULL ? "true" : "false");
		report_software_text(t, sw, sizeof(sw));
		csv_cell(sw, out);
		fputc(',', out);
		report_advice_join(t, acc, sizeof(acc));
		csv_cell(acc, out);
		fputs("\r\n", out);
		rows++;
	}
	return ferror(out) ? -1 : rows;
}

/* ---- HTML --------------------------------------------------------------- */

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}\n"
    "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.2em 0 .4em}\n"
    ".summary{display:flex;gap:1em;flex-wrap:wrap;margin:.5em 0}\n"
    ".summary div{padding:.4em .9em;border-radius:6px;border:1px solid #ccc}\n"
    ".summary b{font-size:1.3em;display:block}\n"
    "table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:.3em .5em;"
    "text-align:left;vertical-align:top}th{background:#eee}\n"
    "td.target{font-family:monospace;word-break:break-all}\n"
    "table.matrix{table-layout:fixed}table.matrix th:first-child{width:25%}\n"
    ".v-o{background:#f8c9c4;color:#7a0b00;font-weight:bold}.v-c{background:#cdeccd;color:#0b4d0b}"
    ".v-i{background:#fde8b0;color:#6b4a00}.v-n{background:#eee;color:#777}\n"
    ".acc{display:block;font-size:.85em;font-weight:normal;font-family:monospace}\n"
    "td a{font-size:.85em;font-weight:normal}\n"
    "svg.glance{display:block;margin:.2em 0 .5em}svg.strip{display:block;margin-top:.2em}\n"
    ".sw{display:block;font-size:.8em;color:#333;font-family:system-ui,sans-serif}\n"
    ".advice h3{font-size:1em;margin:.8em 0 .2em}.advice .target{font-family:monospace}\n"
    "details{border:1px solid #ccc;border-radius:4px;margin:.3em 0;padding:.2em .5em}\n"
    "summary{cursor:pointer;font-family:monospace}\n"
    "pre{font-size:12px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:.3em 0}\n"
    ".flag{font-size:.8em;padding:0 .3em;border-radius:3px;background:#ddd;margin-left:.3em}\n"
    ".flag.new{background:#b00020;color:#fff;font-weight:bold}\n"
    ".prev{display:block;font-size:.8em;font-weight:normal;color:#555}\n"
    ".summary .v-new{background:#b00020;color:#fff}.summary .v-x{background:#f4f4f4}\n"
    "#clients{margin:.5em 0;font-size:.9em}#clients a{margin-right:.8em;white-space:nowrap}\n"
    "section.client h2 small{font-weight:normal;color:#555;margin-left:.5em}\n"
    "@media print{body{margin:0;max-width:none;font-size:11px}a{display:none}"
    "#clients{display:none}h2{break-after:avoid}tr{break-inside:avoid}"
    "details{break-inside:avoid}details>summary{list-style:none}"
    "th,td{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* Opens the <details> the URL hash names (report.html#t-3); a cell's link
 * sets the hash, so a click and a URL take the same path. */
static const char js[] =
    "function rpOpen(){var id=decodeURIComponent(location.hash.slice(1));"
    "var e=id?document.getElementById(id):null;"
    "if(e&&e.tagName==='DETAILS'){e.open=true;e.setAttribute('data-open','1');"
    "e.scrollIntoView();}}\n"
    "window.addEventListener('hashchange',rpOpen);\n"
    "document.addEventListener('click',function(ev){var a=ev.target.closest('a[href^=\"#t-\"]');"
    "if(a&&location.hash===a.getAttribute('href'))rpOpen();});\n"
    "window.addEventListener('beforeprint',function(){document.querySelectorAll('details')"
    ".forEach(function(d){d.open=true;});});\n"
    "rpOpen();\n";

/* "'sha256-BASE64'" of "\n" + text: the exact bytes between the page's
 * <style>/<script> tag and its closing tag. */
static int csp_hash(const char *text, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	         EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
	         EVP_DigestUpdate(ctx, text, strlen(text)) == 1 &&
	         EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;

	EVP_MD_CTX_free(ctx);
	if (!ok || EVP_EncodeBlock(b64, md, (int)mdlen) <= 0)
		return -1;
	return snprintf(out, outlen, "'sha256-%s'", (const char *)b64) < (int)outlen ? 0 : -1;
}

static const char *class_name(char k)
{
	return k == 'o' ? "v-o" : k == 'c' ? "v-c" : k == 'i' ? "v-i" : "v-n";
}

static void html_accepted(const json_t *t, const char *vantage, FILE *out)
{
	const json_t *ids = json_object_get(json_object_get(t, "accepted"), vantage);
	const json_t *id;
	size_t i, shown = 0;

	if (!json_is_array(ids))
		return;
	json_array_foreach(ids, i, id)
	{
		if (!json_is_string(id))
			continue;
		fputs(shown++ ? ", " : "<span class=\"acc\">accepted: ", out);
		report_html_escape(json_string_value(id), out);
	}
	if (shown)
		fputs("</span>", out);
}

static void html_result(const json_t *r, FILE *out)
{
	const json_t *tr = json_object_get(r, "transcript"), *port = json_object_get(r, "port");

	fputs("== ", out);
	report_html_escape(str(r, "target"), out);
	if (str(r, "address") != NULL) {
		fputc(' ', out);
		report_html_escape(str(r, "address"), out);
		if (json_is_integer(port))
			fprintf(out, " port %" JSON_INTEGER_FORMAT, json_integer_value(port));
	}
	fputc(' ', out);
	report_html_escape(str(r, "verdict"), out);
	if (str(r, "reason") != NULL) {
		fputs(" (", out);
		report_html_escape(str(r, "reason"), out);
		fputc(')', out);
	}
	fputc('\n', out);
	if (!json_is_array(tr)) {
		fputs("   (no transcript: no dialog ran)\n", out);
		return;
	}
	report_transcript_lines(tr, report_html_escape, out);
}

/* The results of one cell (or of one part of it, after *shown already
 * written) inside <pre>; the number shown in all is kept in *shown. */
static size_t html_transcript(const json_t *results, size_t *shown, FILE *out)
{
	const json_t *r;
	size_t i, n = *shown;

	if (!json_is_array(results))
		return n;
	json_array_foreach(results, i, r)
	{
		json_t *parsed = NULL;
		if (json_is_string(r))
			r = parsed = json_loads(json_string_value(r), JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(r)) {
			if (n++ > 0)
				fputc('\n', out);
			html_result(r, out);
		}
		json_decref(parsed);
	}
	*shown = n;
	return n;
}

/* A page being written (report_html.h). */
struct report_html {
	const json_t *report, *vantages, *targets; /* borrowed */
	struct report_entry *groups;               /* the targets by client */
	size_t ng, nv;
	size_t nt;           /* targets that may have transcripts */
	bool transcripts;    /* links, heading, cells */
	json_t *tidx, *vidx; /* name -> first index (transcripts only) */
	unsigned char *done; /* one bit per cell written, ti * nv + vi */
	FILE *out;
	bool failed; /* a write failed */
	/* the cell whose parts are being written (report_html_cell_part_at) */
	bool open;
	size_t open_ti, open_vi, open_shown;
};

static const json_t *transcript_of(const json_t *transcripts, size_t ti, size_t vi)
{
	const json_t *r = json_array_get(json_array_get(transcripts, ti), vi);

	return json_is_object(r) ? r : NULL; /* null: the controller had none */
}

/* A cell links its transcript when the report gives it a verdict. */
static bool cell_linked(const struct report_html *h, size_t ti, size_t vi)
{
	const char *name = json_string_value(json_array_get(h->vantages, vi));

	return h->transcripts && ti < h->nt && vi < h->nv && name != NULL &&
	       str(json_object_get(json_array_get(h->targets, ti), "cells"), name) != NULL;
}

/* Counts the open targets among n entries. */
static size_t open_count(const struct report_entry *e, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += target_class(e[i].target) == 'o';
	return k;
}

static void html_verdict_cell(const json_t *report, const json_t *t, FILE *out)
{
	const char *verdict = str(t, "verdict"), *prev = str(t, "previous");
	char sw[128];

	fprintf(out, "<td class=\"verdict %s\" data-verdict=\"", class_name(target_class(t)));
	report_html_escape(verdict, out);
	fputs("\">", out);
	report_html_escape(verdict, out);
	if (json_is_true(json_object_get(t, "new")))
		fputs("<span class=\"flag new\" title=\"open now, not open in the previous "
		      "audit\">NEW</span>",
		      out);
	if (json_is_true(json_object_get(t, "disagree")))
		fputs("<span class=\"flag\">DISAGREE</span>", out);
	if (json_is_true(json_object_get(t, "inconclusive")))
		fputs("<span class=\"flag\">inconclusive</span>", out);
	if (prev != NULL && (verdict == NULL || strcmp(prev, verdict) != 0)) {
		fputs("<span class=\"prev\">was ", out);
		report_html_escape(prev, out);
		fputs("</span>", out);
	}
	report_glance_target(report, t, report_html_escape, out);
	report_software_text(t, sw, sizeof(sw));
	if (sw[0] != '\0') {
		fputs("<span class=\"sw\">", out);
		report_html_escape(sw, out);
		fputs("</span>", out);
	}
	fputs("</td></tr>\n", out);
}

/* One matrix table of the n entries e (targets of one client, or all). */
static void html_matrix(const struct report_html *h, const struct report_entry *e, size_t n,
                        const char *attrs)
{
	const json_t *v;
	size_t i, j;
	FILE *out = h->out;

	fprintf(out, "<table class=\"matrix\"%s>\n<thead><tr><th>Target</th>", attrs);
	json_array_foreach(h->vantages, j, v)
	{
		fputs("<th>", out);
		report_html_escape(json_string_value(v), out);
		fputs("</th>", out);
	}
	fputs("<th>Verdict</th></tr></thead>\n<tbody>\n", out);
	for (i = 0; i < n; i++) {
		const json_t *t = e[i].target;

		fputs(json_is_true(json_object_get(t, "new")) ? "<tr class=\"new\">" : "<tr>", out);
		fputs("<td class=\"target\">", out);
		report_html_escape(str(t, "target"), out);
		fputs("</td>", out);
		json_array_foreach(h->vantages, j, v)
		{
			const char *name = json_string_value(v);
			const char *cell = name ? str(json_object_get(t, "cells"), name) : NULL;
			char k = verdict_class(cell);

			fprintf(out, "<td class=\"cell %s\" data-verdict=\"", class_name(k));
			report_html_escape(cell, out);
			fputs("\">", out);
			report_html_escape(cell, out);
			if (k == 'o')
				html_accepted(t, name, out);
			if (cell_linked(h, e[i].index, j))
				fprintf(out, " <a href=\"#t-%ld\">transcript</a>",
				        report_html_cell_id(e[i].index, j, h->nv));
			fputs("</td>", out);
		}
		html_verdict_cell(h->report, t, out);
	}
	fputs("</tbody>\n</table>\n", out);
}

/* Length of the run of entries from e[0] with e[0]'s client. */
static size_t run_length(const struct report_entry *e, size_t n)
{
	size_t k = 1;

	while (k < n && strcmp(e[k].client, e[0].client) == 0)
		k++;
	return k;
}

static void client_name(const char *client, FILE *out)
{
	if (client[0] == '\0') {
		fputs("no client", out);
		return;
	}
	fputs("client ", out);
	report_html_escape(client, out);
}

/* One client's link in the clients' index. */
static void html_client_link(const struct report_html *h, const struct report_entry *e, size_t k,
                             size_t nopen, size_t c)
{
	FILE *out = h->out;

	(void)k;
	fprintf(out, "<a href=\"#c-%zu\">", c);
	client_name(e->client, out);
	if (nopen)
		fprintf(out, " <span class=\"flag v-o\">%zu open</span>", nopen);
	fputs("</a> ", out);
}

/* One client's section: its k targets from e, nopen of them open. */
static void html_client_section(const struct report_html *h, const struct report_entry *e, size_t k,
                                size_t nopen, size_t c)
{
	FILE *out = h->out;

	fprintf(out, "<section class=\"client\" id=\"c-%zu\" data-client=\"", c);
	report_html_escape(e->client, out);
	fputs("\"><h2>", out);
	client_name(e->client, out);
	fprintf(out, "<small>%zu target%s, %zu open</small></h2>\n", k, k == 1 ? "" : "s", nopen);
	report_glance_client(h->report, e->client, report_html_escape, out);
	html_matrix(h, e, k, "");
	fputs("</section>\n", out);
}

/* Calls fn for each client's run of entries in h->groups, the c-th client
 * with k entries from e, nopen of them open. */
static void html_each_client(const struct report_html *h,
                             void (*fn)(const struct report_html *, const struct report_entry *,
                                        size_t k, size_t nopen, size_t c))
{
	const struct report_entry *e = h->groups;
	size_t i, k, c, n = h->ng;

	for (i = 0, c = 0; i < n; i += k, c++) {
		k = run_length(e + i, n - i);
		fn(h, e + i, k, open_count(e + i, k), c);
	}
}

/* The clients' index and one section per client, or the single matrix. */
static void html_matrices(const struct report_html *h)
{
	FILE *out = h->out;

	if (!report_has_clients(h->report)) {
		fputs("<h2>Matrix</h2>\n", out);
		report_glance_client(h->report, "", report_html_escape, out);
		html_matrix(h, h->groups, h->ng, " id=\"matrix\"");
		return;
	}
	fputs("<nav id=\"clients\"><b>Clients:</b> ", out);
	html_each_client(h, html_client_link);
	fputs("</nav>\n", out);
	html_each_client(h, html_client_section);
}

/* A time in ms since the epoch as ISO 8601 UTC; nothing when absent. */
static void html_time(const json_t *ms, FILE *out)
{
	char buf[32];
	struct tm tm;
	time_t t;

	if (!json_is_integer(ms) || json_integer_value(ms) <= 0)
		return;
	t = (time_t)(json_integer_value(ms) / 1000);
	if (gmtime_r(&t, &tm) != NULL && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		fputs(buf, out);
}

/* The canary's proof: one row per delivery or bounce. */
static void html_proof(const json_t *targets, FILE *out)
{
	const json_t *t, *d;
	size_t i, k;
	bool head = false;

	json_array_foreach(targets, i, t)
	{
		const json_t *p = json_object_get(t, "proof");

		for (int b = 0; b < 2 && json_is_object(p); b++)
			json_array_foreach(json_object_get(p, b ? "bounces" : "deliveries"), k, d)
			{
				const json_t *delay = json_object_get(d, "delay_ms");

				if (!head) {
					fputs("<h2>Proof by delivery</h2>\n<table "
					      "id=\"proof\"><tr><th>Target"
					      "</th><th>Vantage</th><th>Test</th><th>Arrival</"
					      "th><th>At</th><th>From"
					      "</th><th>Hops</th><th>Delay</th></tr>\n",
					      out);
					head = true;
				}
				fputs("<tr><td>", out);
				report_html_escape(str(t, "target"), out);
				fputs("</td><td>", out);
				report_html_escape(str(d, "agent"), out);
				fputs("</td><td>", out);
				report_html_escape(str(d, "test"), out);
				fputs(b ? "</td><td>bounce (backscatter)</td><td>"
				      : json_is_true(json_object_get(d, "multihop"))
				          ? "</td><td>delivered, multihop</td><td>"
				          : "</td><td>delivered</td><td>",
				      out);
				html_time(json_object_get(d, "arrived_at"), out);
				fputs("</td><td>", out);
				report_html_escape(str(d, "peer_ip"), out);
				fputs("</td><td>", out);
				if (json_is_integer(json_object_get(d, "hops")))
					fprintf(out, "%" JSON_INTEGER_FORMAT,
					        json_integer_value(json_object_get(d, "hops")));
				fputs("</td><td>", out);
				if (json_is_integer(delay))
					fprintf(out, "%.1f s",
					        (double)json_integer_value(delay) / 1000.0);
				fputs("</td></tr>\n", out);
			}
	}
	if (head)
		fputs("</table>\n", out);
}

/* The summary boxes: the controller's numbers (with "new since last audit")
 * when the report has a summary, else counted here as before. */
static void html_summary(const json_t *report, const json_t *targets, FILE *out)
{
	struct report_summary s;
	const json_t *t;
	size_t i, nopen = 0, nclosed = 0, ninc = 0;

	report_summary_counts(report, &s);
	if (!s.present) {
		json_array_foreach(targets, i, t)
		{
			char k = target_class(t);
			nopen += k == 'o';
			nclosed += k == 'c';
			ninc += k == 'i';
		}
		fprintf(
		    out,
		    "<div class=\"summary\" id=\"summary\">"
		    "<div class=\"v-o\"><b id=\"n-open\">%zu</b>open</div>"
		    "<div class=\"v-c\"><b id=\"n-closed\">%zu</b>closed</div>"
		    "<div class=\"v-i\"><b id=\"n-inconclusive\">%zu</b>inconclusive</div></div>\n",
		    nopen, nclosed, ninc);
		return;
	}
	fprintf(out,
	        "<div class=\"summary\" id=\"summary\">"
	        "<div class=\"v-o\"><b id=\"n-open\">%" JSON_INTEGER_FORMAT "</b>open</div>"
	        "<div class=\"v-new\"><b id=\"n-new\">%" JSON_INTEGER_FORMAT "</b>",
	        s.open, s.new_open);
	if (s.previous_text[0] != '\0') {
		fputs("new since last audit (audit <span id=\"previous-audit\">", out);
		report_html_escape(s.previous_text, out);
		fputs("</span>)</div>", out);
	} else {
		fputs("new (no earlier audit)</div>", out);
	}
	fprintf(out,
	        "<div class=\"v-c\"><b id=\"n-closed\">%" JSON_INTEGER_FORMAT "</b>closed</div>"
	        "<div class=\"v-i\"><b id=\"n-inconclusive\">%" JSON_INTEGER_FORMAT
	        "</b>inconclusive</div>"
	        "<div class=\"v-x\"><b id=\"n-other\">%" JSON_INTEGER_FORMAT
	        "</b>other (auth/TLS required, tempfail, blocked, ...)</div>"
	        "<div class=\"v-x\"><b id=\"n-disagree\">%" JSON_INTEGER_FORMAT
	        "</b>vantages disagree</div>",
	        s.closed, s.inconclusive, s.other, s.disagree);
	if (s.changed >= 0 && s.previous_text[0] != '\0')
		fprintf(out,
		        "<div class=\"v-x\"><b id=\"n-changed\">%" JSON_INTEGER_FORMAT
		        "</b>changed since last audit</div>",
		        s.changed);
	fputs("</div>\n", out);
}

/* Name -> index (first occurrence) of the string "key" members of the first
 * n elements of arr (key NULL: the elements are the strings). */
static json_t *names_index(const json_t *arr, const char *key, size_t n)
{
	json_t *idx = json_object();
	const json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
	{
		const char *name = json_string_value(key ? json_object_get(e, key) : e);
		if (idx == NULL || i >= n)
			break;
		if (name != NULL && json_object_get(idx, name) == NULL &&
		    json_object_set_new(idx, name, json_integer((json_int_t)i)) < 0) {
			json_decref(idx);
			return NULL;
		}
	}
	return idx;
}

/* The page up to the matrices (and the transcripts' heading); -1 when the
 * CSP hashes cannot be computed. */
static int html_head(const struct report_html *h, time_t now)
{
	const json_t *aid = json_object_get(h->report, "audit");
	const char *status = str(h->report, "status");
	size_t nt = json_array_size(h->targets);
	FILE *out = h->out;
	char date[64];
	char style_hash[64], script_hash[64];
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(date, sizeof(date), "?");
	if (csp_hash(css, style_hash, sizeof(style_hash)) < 0 ||
	    csp_hash(js, script_hash, sizeof(script_hash)) < 0)
		return -1;
	fprintf(out,
	        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
	        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	        "style-src %s; script-src %s\">\n<title>relayprobe audit ",
	        style_hash, script_hash);
	if (json_is_integer(aid))
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(aid));
	else
		report_html_escape(json_string_value(aid), out);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head><body>\n<h1>relayprobe audit ", css);
	if (json_is_integer(aid))
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(aid));
	else
		report_html_escape(json_string_value(aid), out);
	fputs("</h1>\n<p id=\"meta\">status: <b>", out);
	report_html_escape(status ? status : "?", out);
	fprintf(out, "</b> &middot; report generated %s &middot; %zu target%s, %zu vantage%s</p>\n",
	        date, nt, nt == 1 ? "" : "s", h->nv, h->nv == 1 ? "" : "s");
	html_summary(h->report, h->targets, out);
	html_matrices(h);
	html_proof(h->targets, out);
	report_advice_html(h->report, report_html_escape, out);
	if (h->transcripts)
		fputs("<h2>Transcripts</h2>\n", out);
	return 0;
}

struct report_html *report_html_new(const json_t *report, bool transcripts, time_t now, FILE *out)
{
	const json_t *vantages = json_object_get(report, "vantages");
	const json_t *targets = json_object_get(report, "targets");
	struct report_html *h = NULL;

	if (!json_is_array(vantages) || !json_is_array(targets) || out == NULL)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->report = report;
	h->vantages = vantages;
	h->targets = targets;
	h->nv = json_array_size(vantages);
	h->out = out;
	h->transcripts = transcripts;
	h->groups = report_group_by_client(report, &h->ng);
	if (h->groups == NULL)
		goto fail;
	if (transcripts) {
		h->nt = json_array_size(targets);
		if (h->nt > RP_ADMIN_TARGETS_MAX)
			h->nt = RP_ADMIN_TARGETS_MAX;
		if (h->nv > 0 && h->nt > (SIZE_MAX - 8) / h->nv)
			goto fail;
		h->done = calloc((h->nt * h->nv + 7) / 8 + 1, 1);
		h->tidx = names_index(targets, "target", h->nt);
		h->vidx = names_index(vantages, NULL, h->nv);
		if (h->done == NULL || h->tidx == NULL || h->vidx == NULL)
			goto fail;
	}
	if (html_head(h, now) < 0 || ferror(out))
		goto fail;
	return h;
fail:
	report_html_free(&h);
	return NULL;
}

bool report_html_cell_done(const struct report_html *h, size_t ti, size_t vi)
{
	size_t bit;

	if (h == NULL || h->done == NULL || ti >= h->nt || vi >= h->nv)
		return false;
	bit = ti * h->nv + vi;
	return (h->done[bit / 8] >> (bit % 8)) & 1;
}

/* Marks (ti, vi) written and opens its element. */
static void details_open(struct report_html *h, size_t ti, size_t vi)
{
	size_t bit = ti * h->nv + vi;

	h->done[bit / 8] |= (unsigned char)(1u << (bit % 8));
	fprintf(h->out, "<details id=\"t-%ld\"><summary>", report_html_cell_id(ti, vi, h->nv));
	report_html_escape(str(json_array_get(h->targets, ti), "target"), h->out);
	fputs(" from ", h->out);
	report_html_escape(json_string_value(json_array_get(h->vantages, vi)), h->out);
	fputs("</summary><pre>", h->out);
}

/* Ends the open cell's element. */
static void cell_close(struct report_html *h)
{
	if (!h->open)
		return;
	if (h->open_shown == 0)
		fputs("(no result from this vantage)", h->out);
	fputs("</pre></details>\n", h->out);
	h->open = false;
	if (ferror(h->out))
		h->failed = true;
}

int report_html_cell_part_at(struct report_html *h, size_t ti, size_t vi, const json_t *results,
                             bool more)
{
	if (h == NULL || !h->transcripts || ti >= h->nt || vi >= h->nv)
		return 0;
	if (h->open && (h->open_ti != ti || h->open_vi != vi))
		cell_close(h); /* its other parts never came */
	if (!h->open) {
		if (report_html_cell_done(h, ti, vi))
			return 0;
		details_open(h, ti, vi);
		h->open = true;
		h->open_ti = ti;
		h->open_vi = vi;
		h->open_shown = 0;
	}
	html_transcript(results, &h->open_shown, h->out);
	if (!more)
		cell_close(h);
	if (ferror(h->out))
		h->failed = true;
	return h->failed ? -1 : 1;
}

int report_html_cell_at(struct report_html *h, size_t ti, size_t vi, const json_t *results)
{
	return report_html_cell_part_at(h, ti, vi, results, false);
}

int report_html_cell(struct report_html *h, const char *target, const char *vantage,
                     const json_t *results)
{
	return report_html_cell_part(h, target, vantage, results, false);
}

int report_html_cell_part(struct report_html *h, const char *target, const char *vantage,
                          const json_t *results, bool more)
{
	const json_t *ti, *vi;

	if (h == NULL || !h->transcripts || target == NULL || vantage == NULL)
		return 0;
	ti = json_object_get(h->tidx, target);
	vi = json_object_get(h->vidx, vantage);
	if (!json_is_integer(ti) || !json_is_integer(vi)) /* not in the report */
		return 0;
	return report_html_cell_part_at(h, (size_t)json_integer_value(ti),
	                                (size_t)json_integer_value(vi), results, more);
}

int report_html_end(struct report_html *h)
{
	if (h == NULL)
		return -1;
	cell_close(h); /* a cell whose last part never came */
	for (size_t ti = 0; h->transcripts && ti < h->nt; ti++)
		for (size_t vi = 0; vi < h->nv; vi++) {
			if (!cell_linked(h, ti, vi) || report_html_cell_done(h, ti, vi))
				continue;
			details_open(h, ti, vi);
			fputs("(no transcript from the controller for this cell)</pre></details>\n",
			      h->out);
		}
	fprintf(h->out, "<script>\n%s</script>\n</body></html>\n", js);
	if (ferror(h->out))
		h->failed = true;
	return h->failed ? -1 : 0;
}

void report_html_free(struct report_html **h)
{
	if (h == NULL || *h == NULL)
		return;
	free((*h)->groups);
	free((*h)->done);
	json_decref((*h)->tidx);
	json_decref((*h)->vidx);
	free(*h);
	*h = NULL;
}

int report_render_html(const json_t *report, const json_t *transcripts, time_t now, FILE *out)
{
	struct report_html *h = report_html_new(report, transcripts != NULL, now, out);
	int rc = 0;

	if (h == NULL)
		return -1;
	for (size_t i = 0; transcripts != NULL && i < h->ng; i++)
		for (size_t j = 0; j < h->nv; j++) {
			const json_t *reply = transcript_of(transcripts, h->groups[i].index, j);
			if (reply != NULL &&
			    report_html_cell_at(h, h->groups[i].index, j,
			                        json_object_get(reply, "results")) < 0)
				rc = -1;
		}
	if (report_html_end(h) < 0)
		rc = -1;
	report_html_free(&h);
	return rc;
}
