/* probe_advice.c - fingerprint and advice for `relayprobe probe`
 * (probe_advice.h). The advice texts are the built-in ones; what the server
 * said reaches the terminal only through put_clean() (control bytes and
 * non-ASCII replaced), and the evidence is bounded by the fingerprint. */
#include "probe_advice.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "fingerprint.h"
#include "relay_tests.h"
#include "result_json.h"
#include "result_schema.h"

#define ADVICE_PER_RESULT 4

/* A server's words on a terminal: printable ASCII only. */
static void put_clean(const char *s, FILE *out)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		fputc(c < 0x20 || c >= 0x7f ? '?' : c, out);
	}
}

/* The fingerprint of r's dialog and the advice for its findings; false when
 * no dialog ran. */
static bool assess(const struct probe_result *r, struct fp_result *fp,
                   const struct advice_entry **adv, size_t *nadv)
{
	char err[256];
	const struct advice_db *db = advice_builtin(err, sizeof(err));
	struct advice_query q = {FP_SW_UNKNOWN, r->verdict, false, false, ADV_VANTAGE_SINGLE};
	size_t n = 0, ncat = 0;
	const struct dialog_test_result *res;
	const struct relay_test_def *cat = relay_tests_all(&ncat);

	*nadv = 0;
	if (r->dialog == NULL)
		return false;
	fingerprint_transcript(dialog_transcript(r->dialog), fp);
	res = dialog_results(r->dialog, &n);
	for (size_t i = 0; i < n; i++) {
		if (res[i].outcome != TO_ACCEPTED || res[i].test >= ncat ||
		    cat[res[i].test].finding_only)
			continue;
		if (cat[res[i].test].conf == RT_CONF_HIGH)
			q.accepted_plain = true;
		else
			q.accepted_odd = true;
	}
	q.software = fp->software;
	*nadv = advice_select(db, &q, adv, ADVICE_PER_RESULT);
	return true;
}

static void put_indented(const char *text, const char *indent, FILE *out)
{
	const char *s = text;

	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		fprintf(out, "%s%.*s\n", len ? indent : "", (int)len, s);
		s += len + (nl != NULL);
	}
}

void probe_advice_text(const struct probe_result *r, bool explain, FILE *out)
{
	struct fp_result fp;
	const struct advice_entry *adv[ADVICE_PER_RESULT];
	size_t nadv = 0;

	if (!assess(r, &fp, adv, &nadv) || nadv == 0)
		return;
	for (size_t i = 0; i < nadv; i++) {
		if (fp.software == FP_SW_UNKNOWN)
			fprintf(out, "    software: unknown - fix: %s\n", adv[i]->summary);
		else
			fprintf(out, "    software: %s (%s) - fix: %s\n",
			        fp_software_label(fp.software), fp_confidence_name(fp.confidence),
			        adv[i]->summary);
		if (explain) {
			fprintf(out, "      %s:\n", adv_finding_name(adv[i]->finding));
			put_indented(adv[i]->text, "        ", out);
		}
	}
	if (!explain)
		return;
	if (fp.software == FP_SW_UNKNOWN)
		fprintf(out, "      software unknown: %s\n", fp.note);
	for (size_t i = 0; i < fp.nevidence; i++) {
		fputs("      evidence: ", out);
		put_clean(fp.evidence[i].text, out);
		fprintf(out, "  (%s)\n", fp.evidence[i].why);
	}
}

static json_t *fingerprint_json(const struct fp_result *fp)
{
	json_t *o = json_object(), *ev = json_array();

	if (o == NULL || ev == NULL)
		goto fail;
	for (size_t i = 0; i < fp->nevidence; i++)
		if (json_array_append_new(
		        ev, json_pack("{s:i,s:s,s:s}", "i", (json_int_t)fp->evidence[i].index,
		                      "text", fp->evidence[i].text, "why", fp->evidence[i].why)) <
		    0)
			goto fail;
	if (json_object_set_new(o, RP_RES_FP_SOFTWARE,
	                        json_string(fp_software_name(fp->software))) < 0 ||
	    json_object_set_new(o, RP_RES_FP_CONFIDENCE,
	                        json_string(fp_confidence_name(fp->confidence))) < 0 ||
	    json_object_set_new(o, "score", json_integer(fp->score)) < 0 ||
	    json_object_set_new(o, "note", json_string(fp->note)) < 0 ||
	    json_object_set_new(o, RP_RES_FP_EVIDENCE, ev) < 0)
		goto fail_obj;
	return o;
fail:
	json_decref(ev);
fail_obj:
	json_decref(o);
	return NULL;
}

static json_t *advice_json(const struct advice_entry *const *adv, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", RP_RES_ADV_FINDING,
		                                       adv_finding_name(adv[i]->finding),
		                                       RP_RES_FP_SOFTWARE,
		                                       adv[i]->software == FP_SW_UNKNOWN
		                                           ? "generic"
		                                           : fp_software_name(adv[i]->software),
		                                       RP_RES_ADV_SUMMARY, adv[i]->summary,
		                                       RP_RES_ADV_TEXT, adv[i]->text)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int probe_advice_write_json(const struct probe_result *r, FILE *out)
{
	struct fp_result fp;
	const struct advice_entry *adv[ADVICE_PER_RESULT];
	size_t nadv = 0, len = 0;
	char *line = NULL, *extra = NULL;
	FILE *mem = NULL;
	json_t *members = NULL;
	int rc = -1;

	if (!assess(r, &fp, adv, &nadv))
		return result_write_json(r, true, out);
	/* the result's own line, then the two members before its closing brace */
	if ((mem = open_memstream(&line, &len)) == NULL)
		return -1;
	if (result_write_json(r, true, mem) < 0 || fclose(mem) != 0) {
		mem = NULL;
		goto out;
	}
	mem = NULL;
	if (len < 3 || line[len - 1] != '\n' || line[len - 2] != '}')
		goto out;
	members = json_object();
	if (members == NULL ||
	    json_object_set_new(members, RP_RES_FINGERPRINT, fingerprint_json(&fp)) < 0 ||
	    json_object_set_new(members, RP_RES_ADVICE, advice_json(adv, nadv)) < 0)
		goto out;
	if ((extra = json_dumps(members, JSON_COMPACT)) == NULL || extra[0] != '{')
		goto out;
	/* "{...}" without its braces after a comma; "}\n" ends the line */
	if (fwrite(line, 1, len - 2, out) != len - 2 || fputc(',', out) == EOF ||
	    fwrite(extra + 1, 1, strlen(extra) - 2, out) != strlen(extra) - 2 ||
	    fputs("}\n", out) == EOF)
		goto out;
	rc = 0;
out:
	if (mem != NULL)
		fclose(mem);
	free(line);
	free(extra);
	json_decref(members);
	return rc;
}
