/* result_json.c - build the JSON object of one probe result (the schema of
 * docs/json-output.md): target, address, verdict and its evidence, TLS facts,
 * per-test outcomes with the deciding reply, and optionally the transcript.
 * Strings from the peer that are not valid UTF-8 are escaped (\xNN) so the
 * output is always valid JSON; each is bounded by RP_SMTP_REPLY_BYTES_MAX. */
#include "result_json.h"
#include "result_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rp_limits.h"

void result_iso8601(uint64_t ms, char *buf, size_t buflen)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char date[32];

	if (buflen == 0)
		return;
	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, buflen, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(buf, buflen, "%s.%03uZ", date, (unsigned)(ms % 1000));
}

/* A JSON string, or null for NULL. Bytes that jansson refuses (invalid
 * UTF-8) are escaped as \xNN. */
static json_t *jstr(const char *s)
{
	char buf[RP_SMTP_REPLY_BYTES_MAX + 1];
	size_t o = 0;
	json_t *j;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	if (j != NULL)
		return j;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < sizeof(buf); p++) {
		if (*p >= 0x80 || *p < 0x20) {
			snprintf(buf + o, sizeof(buf) - o, "\\x%02X", *p);
			o += 4;
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o] = '\0';
	return json_string(buf);
}

/* Empty strings count as unknown. */
static json_t *jstr_or_null(const char *s)
{
	return (s == NULL || s[0] == '\0') ? json_null() : jstr(s);
}

static json_t *jtime(uint64_t ms)
{
	char buf[40];

	if (ms == 0)
		return json_null();
	result_iso8601(ms, buf, sizeof(buf));
	return json_string(buf);
}

/* Sets key to v (stealing it); *ok becomes false when v is NULL or on OOM. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static const char *confidence_name(enum rt_confidence c)
{
	return c == RT_CONF_HIGH ? "high" : "medium";
}

static json_t *extensions_json(unsigned ext)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < DLG_EXT_COUNT; i++)
		if ((ext & dialog_ext_names[i].bit) &&
		    json_array_append_new(a, json_string(dialog_ext_names[i].keyword)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *tls_json(const struct dialog_tls_info *t)
{
	json_t *o;
	bool ok = true;

	if (t == NULL)
		return json_null();
	o = json_object();
	if (o == NULL)
		return NULL;
	put(o, "protocol", jstr_or_null(t->protocol), &ok);
	put(o, "cipher", jstr_or_null(t->cipher), &ok);
	put(o, "subject", jstr_or_null(t->subject), &ok);
	put(o, "issuer", jstr_or_null(t->issuer), &ok);
	put(o, "not_after", jstr_or_null(t->not_after), &ok);
	put(o, "chain_ok", json_boolean(t->chain_ok), &ok);
	put(o, "name_ok", json_boolean(t->name_ok), &ok);
	put(o, "verify_error", jstr_or_null(t->verify_error), &ok);
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *evidence_json(const struct dialog *d)
{
	size_t n = 0;
	const int *ev = dialog_evidence(d, &n);
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && ev != NULL && i < n; i++)
		if (json_array_append_new(a, json_integer(ev[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The text of transcript line idx, or NULL. */
static const char *transcript_text(const struct dialog *d, int idx)
{
	struct tr_entry e;

	if (idx < 0 || transcript_get(dialog_transcript(d), (size_t)idx, &e) != 0)
		return NULL;
	return e.text;
}

static json_t *test_json(const struct dialog *d, const struct dialog_test_result *t)
{
	size_t ncat = 0;
	const struct relay_test_def *cat = relay_tests_all(&ncat);
	const struct relay_test_def *def = t->test < ncat ? &cat[t->test] : NULL;
	bool has_class = t->outcome == TO_REJECTED || t->outcome == TO_TEMPFAIL;
	json_t *o = json_object();
	bool ok = true;

	if (o == NULL)
		return NULL;
	put(o, "id", jstr(def ? def->id : "unknown"), &ok);
	put(o, "mail_from", jstr(t->mail_from), &ok);
	put(o, "rcpt_to", jstr(t->rcpt_to), &ok);
	put(o, "outcome", jstr(test_outcome_name(t->outcome)), &ok);
	put(o, "reject_class", has_class ? jstr(reject_class_name(t->rclass)) : json_null(), &ok);
	put(o, "code", t->code ? json_integer(t->code) : json_null(), &ok);
	put(o, "enhanced", jstr_or_null(t->esc), &ok);
	put(o, "reply", jstr(transcript_text(d, t->evidence)), &ok);
	put(o, "evidence", t->evidence >= 0 ? json_integer(t->evidence) : json_null(), &ok);
	put(o, "confidence", def ? jstr(confidence_name(def->conf)) : json_null(), &ok);
	put(o, "attempts", json_integer(t->attempts), &ok);
	put(o, "data", json_boolean(t->data_sent), &ok);
	put(o, "reason", jstr_or_null(t->reason), &ok);
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *tests_json(const struct dialog *d)
{
	size_t n = 0;
	const struct dialog_test_result *res = dialog_results(d, &n);
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && res != NULL && i < n; i++)
		if (json_array_append_new(a, test_json(d, &res[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The dialog's fields; with no dialog, nulls and empty arrays. */
static void put_dialog(json_t *o, const struct probe_result *r, bool with_transcript,
                       bool with_tests, bool *ok)
{
	const struct dialog *d = r->dialog;
	bool open = verdict_is_open(r->verdict);

	if (d == NULL) {
		const char *keys[] = {"confidence", "server_name", "local_domain",
		                      "banner",     "helo",        "tls"};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			put(o, keys[i], json_null(), ok);
		put(o, "extensions", json_array(), ok);
		put(o, "sessions", json_integer(0), ok);
		put(o, "round_trips", json_integer(0), ok);
		put(o, "evidence", json_array(), ok);
		if (with_tests)
			put(o, RP_RES_TESTS, json_array(), ok);
		if (with_transcript)
			put(o, RP_RES_TRANSCRIPT, json_null(), ok);
		return;
	}
	put(o, "confidence", open ? jstr(confidence_name(dialog_confidence(d))) : json_null(), ok);
	put(o, "server_name", jstr_or_null(dialog_server_name(d)), ok);
	put(o, "local_domain", jstr_or_null(dialog_local_domain(d)), ok);
	put(o, "banner", jstr(dialog_banner(d)), ok);
	if (dialog_banner(d) == NULL)
		put(o, "helo", json_null(), ok); /* never got as far as EHLO */
	else
		put(o, "helo", jstr(dialog_used_helo(d) ? "HELO" : "EHLO"), ok);
	put(o, "extensions", extensions_json(dialog_extensions(d)), ok);
	put(o, "tls", tls_json(dialog_tls(d)), ok);
	put(o, "sessions", json_integer(dialog_sessions(d)), ok);
	put(o, "round_trips", json_integer(dialog_round_trips(d)), ok);
	put(o, "evidence", evidence_json(d), ok);
	if (with_tests)
		put(o, RP_RES_TESTS, tests_json(d), ok);
	if (with_transcript)
		put(o, RP_RES_TRANSCRIPT, transcript_to_json(dialog_transcript(d)), ok);
}

static json_t *build(const struct probe_result *r, bool with_transcript, bool with_tests)
{
	json_t *o;
	const char *reason;
	bool ok = true;

	if (r == NULL)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	reason = r->reason;
	if ((reason == NULL || reason[0] == '\0') && r->dialog != NULL)
		reason = dialog_verdict_reason(r->dialog);

	put(o, RP_RES_SCHEMA, json_integer(RP_RESULT_SCHEMA), &ok);
	put(o, RP_RES_TARGET, jstr(r->target), &ok);
	put(o, "host", jstr_or_null(r->host), &ok);
	put(o, "mx_domain", jstr_or_null(r->mx_domain), &ok);
	put(o, "mx_preference",
	    r->mx_domain != NULL && r->mx_pref >= 0 ? json_integer(r->mx_pref) : json_null(), &ok);
	put(o, "address", jstr_or_null(r->address), &ok);
	put(o, "port", json_integer(r->port), &ok);
	put(o, RP_RES_VERDICT, jstr(dialog_verdict_name(r->verdict)), &ok);
	put(o, "reason", jstr_or_null(reason), &ok);
	put(o, "started", jtime(r->started_ms), &ok);
	put(o, "finished", jtime(r->finished_ms), &ok);
	put_dialog(o, r, with_transcript, with_tests, &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *result_to_json(const struct probe_result *r, bool with_transcript)
{
	return build(r, with_transcript, true);
}

/* A JSON string: quote, backslash and control bytes escaped; bytes >= 0x80
 * written as the text \xNN, as jstr() does for invalid UTF-8. */
static void write_str(const char *s, FILE *out)
{
	if (s == NULL) {
		fputs("null", out);
		return;
	}
	putc_unlocked('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			putc_unlocked('\\', out);
			putc_unlocked(*p, out);
		} else if (*p < 0x20 || *p >= 0x80) {
			fprintf(out, *p < 0x20 ? "\\u%04x" : "\\\\x%02X", *p);
		} else {
			putc_unlocked(*p, out);
		}
	}
	putc_unlocked('"', out);
}

static void write_str_or_null(const char *s, FILE *out)
{
	write_str(s && *s ? s : NULL, out);
}

/* The "tests" array written directly: the part of a result that costs most
 * to build as a jansson tree (21 objects of 12 members). Same members and
 * values as tests_json(). */
static void write_tests(const struct dialog *d, FILE *out)
{
	size_t n = 0, ncat = 0;
	const struct dialog_test_result *res = d ? dialog_results(d, &n) : NULL;
	const struct relay_test_def *cat = relay_tests_all(&ncat);

	putc_unlocked('[', out);
	for (size_t i = 0; res != NULL && i < n; i++) {
		const struct dialog_test_result *t = &res[i];
		const struct relay_test_def *def = t->test < ncat ? &cat[t->test] : NULL;
		bool has_class = t->outcome == TO_REJECTED || t->outcome == TO_TEMPFAIL;

		fputs(i ? ",{\"id\":" : "{\"id\":", out);
		write_str(def ? def->id : "unknown", out);
		fputs(",\"mail_from\":", out);
		write_str(t->mail_from, out);
		fputs(",\"rcpt_to\":", out);
		write_str(t->rcpt_to, out);
		fprintf(out,
		        ",\"outcome\":\"%s\",\"reject_class\":", test_outcome_name(t->outcome));
		write_str(has_class ? reject_class_name(t->rclass) : NULL, out);
		if (t->code)
			fprintf(out, ",\"code\":%d,\"enhanced\":", t->code);
		else
			fputs(",\"code\":null,\"enhanced\":", out);
		write_str_or_null(t->esc, out);
		fputs(",\"reply\":", out);
		write_str(transcript_text(d, t->evidence), out);
		if (t->evidence >= 0)
			fprintf(out, ",\"evidence\":%d,\"confidence\":", t->evidence);
		else
			fputs(",\"evidence\":null,\"confidence\":", out);
		write_str(def ? confidence_name(def->conf) : NULL, out);
		fprintf(out, ",\"attempts\":%u,\"data\":%s,\"reason\":", t->attempts,
		        t->data_sent ? "true" : "false");
		write_str_or_null(t->reason, out);
		putc_unlocked('}', out);
	}
	putc_unlocked(']', out);
}

int result_write_json(const struct probe_result *r, bool with_transcript, FILE *out)
{
	json_t *j = build(r, false, false);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t n = s ? strlen(s) : 0;

	json_decref(j);
	if (s == NULL || n < 2 || s[n - 1] != '}') {
		free(s);
		return -1;
	}
	fwrite(s, 1, n - 1, out);
	free(s);
	fputs(",\"" RP_RES_TESTS "\":", out);
	write_tests(r->dialog, out);
	if (with_transcript) {
		fputs(",\"" RP_RES_TRANSCRIPT "\":", out);
		if (r->dialog != NULL)
			transcript_write_json(dialog_transcript(r->dialog), out);
		else
			fputs("null", out);
	}
	fputs("}\n", out);
	return ferror(out) ? -1 : 0;
}
