/* report_glance.c - the report's history as inline SVG (report_glance.h).
 * Bounded: at most GLANCE_MAX audits drawn (the controller sends 30), counts
 * and ids read as JSON integers; names from the controller go through put. */
#include "report_glance.h"

#include <string.h>

#include "verdict.h"

#define GLANCE_MAX 64
#define BAR_W      10
#define BAR_H      48
#define CELL_W     8

static const char *const fill_open = "#c9302c", *const fill_closed = "#4cae4c",
                         *const fill_inconc = "#eea236", *const fill_none = "#dddddd";

static json_int_t at(const json_t *c, const char *kind, size_t i)
{
	json_int_t n = json_integer_value(json_array_get(json_object_get(c, kind), i));

	return n > 0 ? n : 0;
}

static void bar(FILE *out, size_t i, json_int_t y, json_int_t h, const char *fill)
{
	if (h > 0)
		fprintf(out,
		        "<rect x=\"%zu\" y=\"%" JSON_INTEGER_FORMAT
		        "\" width=\"%d\" height=\"%" JSON_INTEGER_FORMAT "\" fill=\"%s\"/>",
		        i * BAR_W, y, BAR_W - 2, h, fill);
}

void report_glance_client(const json_t *report, const char *client, report_put_fn put, FILE *out)
{
	const json_t *c = json_object_get(json_object_get(report, "glance"), client ? client : "");
	const json_t *audits = json_object_get(c, "audits");
	size_t n = json_array_size(audits), first = n > GLANCE_MAX ? n - GLANCE_MAX : 0;
	json_int_t max = 1;

	if (n == 0)
		return;
	for (size_t i = first; i < n; i++) {
		json_int_t t = at(c, "open", i) + at(c, "closed", i) + at(c, "inconclusive", i);
		max = t > max ? t : max;
	}
	fprintf(out,
	        "<svg class=\"glance\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%zu\" "
	        "height=\"%d\" role=\"img\" aria-label=\"open, closed and inconclusive targets "
	        "over the last %zu audits of ",
	        (n - first) * BAR_W, BAR_H + 2, n - first);
	put(client && client[0] ? client : "no client", out);
	fputs("\">", out);
	for (size_t i = first; i < n; i++) {
		json_int_t o = at(c, "open", i), cl = at(c, "closed", i),
		           in = at(c, "inconclusive", i);
		json_int_t ho = o * BAR_H / max, hc = cl * BAR_H / max, hi = in * BAR_H / max;
		size_t x = i - first;

		fprintf(out,
		        "<g class=\"audit\"><title>audit %" JSON_INTEGER_FORMAT
		        ": %" JSON_INTEGER_FORMAT " open, %" JSON_INTEGER_FORMAT
		        " closed, %" JSON_INTEGER_FORMAT " inconclusive</title>",
		        json_integer_value(json_array_get(audits, i)), o, cl, in);
		bar(out, x, BAR_H - hc, hc, fill_closed);
		bar(out, x, BAR_H - hc - hi, hi, fill_inconc);
		bar(out, x, BAR_H - hc - hi - ho, ho, fill_open);
		fputs("</g>", out);
	}
	fputs("</svg>\n", out);
}

static const char *verdict_fill(const char *name)
{
	int v;

	if (name == NULL)
		return fill_none;
	v = dialog_verdict_from_name(name);
	if (v < 0)
		return fill_inconc;
	if (verdict_is_open((enum dialog_verdict)v))
		return fill_open;
	return verdict_inconclusive((enum dialog_verdict)v) ? fill_inconc : fill_closed;
}

void report_glance_target(const json_t *report, const json_t *target, report_put_fn put, FILE *out)
{
	const char *client = json_string_value(json_object_get(target, "client"));
	const json_t *c = json_object_get(json_object_get(report, "glance"), client ? client : "");
	const json_t *audits = json_object_get(c, "audits");
	const json_t *hist = json_object_get(target, "history");
	size_t n = json_array_size(audits), first = n > GLANCE_MAX ? n - GLANCE_MAX : 0;

	if (n == 0 || json_array_size(hist) != n)
		return;
	fprintf(out,
	        "<svg class=\"strip\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%zu\" "
	        "height=\"10\" role=\"img\" aria-label=\"verdicts over the last %zu audits\">",
	        (n - first) * CELL_W, n - first);
	for (size_t i = first; i < n; i++) {
		const char *v = json_string_value(json_array_get(hist, i));

		fprintf(
		    out,
		    "<rect x=\"%zu\" y=\"0\" width=\"%d\" height=\"10\" fill=\"%s\"><title>audit "
		    "%" JSON_INTEGER_FORMAT ": ",
		    (i - first) * CELL_W, CELL_W - 1, verdict_fill(v),
		    json_integer_value(json_array_get(audits, i)));
		put(v ? v : "not in this audit", out);
		fputs("</title></rect>", out);
	}
	fputs("</svg>", out);
}
