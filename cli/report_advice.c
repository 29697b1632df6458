/* report_advice.c - software and advice of a report's targets as text, CSV
 * cells and HTML (report_advice.h). The strings came from the controller:
 * made printable (text), escaped (HTML) and cut at the buffers' sizes. */
#include "report_advice.h"

#include <stdbool.h>
#include <string.h>

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void report_software_text(const json_t *target, char *buf, size_t len)
{
	const json_t *sw = json_object_get(target, "software");
	const char *label = str(sw, "label"), *conf = str(sw, "confidence");

	if (label == NULL)
		snprintf(buf, len, "%s", "");
	else if (conf == NULL || strcmp(conf, "none") == 0)
		snprintf(buf, len, "%s", label);
	else
		snprintf(buf, len, "%s (%s)", label, conf);
}

void report_advice_join(const json_t *target, char *buf, size_t len)
{
	const json_t *a;
	size_t i, used = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(target, "advice"), i, a)
	{
		int n = snprintf(buf + used, len - used, "%s%s: %s", used ? " | " : "",
		                 str(a, "finding") ? str(a, "finding") : "?",
		                 str(a, "summary") ? str(a, "summary") : "?");
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

static bool known(const json_t *t)
{
	const char *name = str(json_object_get(t, "software"), "name");

	return (name != NULL && strcmp(name, "unknown") != 0) ||
	       json_array_size(json_object_get(t, "advice")) > 0;
}

/* before TARGET mid SOFTWARE after, both through put. */
static void put_target(const json_t *t, report_put_fn put, const char *before, const char *mid,
                       const char *after, FILE *out)
{
	char sw[128];

	report_software_text(t, sw, sizeof(sw));
	fputs(before, out);
	put(str(t, "target"), out);
	fputs(mid, out);
	put(sw, out);
	fputs(after, out);
}

/* before FINDING mid SUMMARY after, both through put. */
static void put_finding(const json_t *a, report_put_fn put, const char *before, const char *mid,
                        const char *after, FILE *out)
{
	fputs(before, out);
	put(str(a, "finding"), out);
	fputs(mid, out);
	put(str(a, "summary"), out);
	fputs(after, out);
}

void report_advice_text(const json_t *report, report_put_fn put, FILE *out)
{
	const json_t *t, *a;
	size_t i, k;
	bool head = false;

	json_array_foreach(json_object_get(report, "targets"), i, t)
	{
		if (!known(t))
			continue;
		if (!head)
			fputs("\nSoftware and fixes:\n", out);
		head = true;
		put_target(t, put, "  ", ": ", "\n", out);
		json_array_foreach(json_object_get(t, "advice"), k, a)
		    put_finding(a, put, "    fix (", "): ", "\n", out);
	}
}

void report_advice_html(const json_t *report, report_put_fn put, FILE *out)
{
	const json_t *texts = json_object_get(report, "advice_texts"), *t, *a;
	size_t i, k;
	bool head = false;

	json_array_foreach(json_object_get(report, "targets"), i, t)
	{
		if (json_array_size(json_object_get(t, "advice")) == 0)
			continue;
		if (!head)
			fputs("<h2>What to fix</h2>\n<div id=\"advice\">\n", out);
		head = true;
		put_target(t, put, "<div class=\"advice\"><h3><span class=\"target\">",
		           "</span> <span class=\"sw\">", "</span></h3>\n", out);
		json_array_foreach(json_object_get(t, "advice"), k, a)
		{
			const char *key = str(a, "key");
			const char *text = key ? str(json_object_get(texts, key), "text") : NULL;

			put_finding(a, put, "<details><summary>", ": ", "</summary>", out);
			if (text != NULL) {
				fputs("<pre>", out);
				/* the text keeps its lines: escape each, '\n' between */
				for (const char *s = text; *s != '\0';) {
					const char *nl = strchr(s, '\n');
					size_t n = nl ? (size_t)(nl - s) : strlen(s);
					char line[1024];

					snprintf(line, sizeof(line), "%.*s", (int)n, s);
					put(line, out);
					fputc('\n', out);
					s += n + (nl != NULL);
				}
				fputs("</pre>", out);
			}
			fputs("</details>\n", out);
		}
		fputs("</div>\n", out);
	}
	if (head)
		fputs("</div>\n", out);
}
