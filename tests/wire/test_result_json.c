/* test_result_json.c - result_to_json() over a real dialog driven by a
 * scripted server (Postfix-like: PIPELINING, one relay test accepted, the
 * others refused with 554 5.7.1), and over a target that never connected:
 * every field of docs/json-output.md with the value a reader relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "relay_tests.h"
#include "result_json.h"
#include "result_schema.h"

#define T0 1700000000000ULL /* 2023-11-14T22:13:20.000Z */

struct server {
	char last_mail[256];
	int quit_seen;
};

/* The scripted server's reply to one command line (without CRLF). */
static const char *reply_to(struct server *s, const char *cmd)
{
	if (strncasecmp(cmd, "EHLO", 4) == 0)
		return "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
		       "250 8BITMIME\r\n";
	if (strncasecmp(cmd, "HELO", 4) == 0)
		return "250 mx.example.com\r\n";
	if (strncasecmp(cmd, "RSET", 4) == 0)
		return "250 2.0.0 Ok\r\n";
	if (strncasecmp(cmd, "MAIL FROM:", 10) == 0) {
		snprintf(s->last_mail, sizeof(s->last_mail), "%s", cmd + 10);
		return "250 2.1.0 Ok\r\n";
	}
	if (strncasecmp(cmd, "RCPT TO:", 8) == 0) {
		/* Relays only for the plain external sender. */
		if (strcmp(cmd + 8, "<relaytest@outside.test>") == 0 &&
		    strcmp(s->last_mail, "<prober@outside.test>") == 0)
			return "250 2.1.5 Ok\r\n";
		return "554 5.7.1 <relaytest@outside.test>: Relay access denied\r\n";
	}
	if (strncasecmp(cmd, "QUIT", 4) == 0) {
		s->quit_seen = 1;
		return "221 2.0.0 Bye\r\n";
	}
	return "502 5.5.2 Error: command not recognized\r\n";
}

/* Drive d to DLG_ACT_DONE against the scripted server. */
static void run_dialog(struct dialog *d)
{
	struct server srv = {{0}, 0};
	uint64_t now = T0;
	int steps = 0;

	assert_int_equal(dialog_next(d), DLG_ACT_CONNECT);
	dialog_connected(d, now, "192.0.2.25:25");
	dialog_feed(d, now, "220 mx.example.com ESMTP Postfix\r\n", 34);

	while (dialog_next(d) != DLG_ACT_DONE) {
		enum dialog_action a = dialog_next(d);
		size_t len = 0;
		const char *out = dialog_output(d, &len);

		assert_true(++steps < 1000);
		now += 5;
		if (a == DLG_ACT_CLOSE) {
			dialog_output_consume(d, len);
			dialog_disconnected(d, now, NULL);
			continue;
		}
		if (a == DLG_ACT_CONNECT) {
			fail_msg("unexpected reconnect");
		}
		assert_int_equal(a, DLG_ACT_IO);
		if (len == 0) {
			if (srv.quit_seen) {
				dialog_disconnected(d, now, "connection closed by peer");
				continue;
			}
			fail_msg("dialog waits for input but sent nothing");
		}
		/* Answer every complete line of the output, in order. */
		char buf[8192], replies[16384];
		size_t rl = 0;
		assert_true(len < sizeof(buf));
		memcpy(buf, out, len);
		buf[len] = '\0';
		dialog_output_consume(d, len);
		for (char *line = buf, *eol; (eol = strstr(line, "\r\n")) != NULL; line = eol + 2) {
			*eol = '\0';
			const char *r = reply_to(&srv, line);
			size_t n = strlen(r);
			assert_true(rl + n < sizeof(replies));
			memcpy(replies + rl, r, n);
			rl += n;
		}
		if (dialog_feed(d, now, replies, rl) < 0 && dialog_next(d) == DLG_ACT_CLOSE)
			continue;
	}
}

static struct dialog *new_dialog(const char *tests_spec)
{
	struct dialog_params p;
	size_t idx[RP_TESTS_MAX], n = 0;
	char err[128];

	assert_int_equal(relay_tests_select(tests_spec, idx, RP_TESTS_MAX, &n, err, sizeof(err)),
	                 0);
	dialog_params_defaults(&p);
	p.ehlo_name = "relayprobe.test";
	p.from_local = "prober";
	p.to_local = "relaytest";
	p.to_domain = "outside.test";
	p.local_domain = "example.com";
	p.server_ip = "192.0.2.25";
	p.tests = idx;
	p.ntests = n;
	p.tls = DLG_TLS_AUTO;
	struct dialog *d = dialog_new(&p, T0);
	assert_non_null(d);
	return d;
}

static json_t *test_by_id(json_t *tests, const char *id)
{
	size_t i;
	json_t *t;

	json_array_foreach(tests, i, t)
	{
		if (strcmp(json_string_value(json_object_get(t, "id")), id) == 0)
			return t;
	}
	fail_msg("test %s not in the JSON", id);
	return NULL;
}

static void assert_json_str(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	assert_string_equal(json_string_value(v), want);
}

static void assert_json_null(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || !json_is_null(v))
		fail_msg("\"%s\" should be null", key);
}

static void test_open_dialog(void **state)
{
	struct dialog *d = new_dialog("null-sender,external-sender,bang-path");
	run_dialog(d);
	assert_int_equal(dialog_verdict(d), DV_OPEN);

	struct probe_result r = {
	    .target = "192.0.2.25",
	    .host = NULL,
	    .mx_domain = NULL,
	    .mx_pref = -1,
	    .address = "192.0.2.25",
	    .port = 25,
	    .dialog = d,
	    .verdict = dialog_verdict(d),
	    .reason = NULL,
	    .started_ms = T0,
	    .finished_ms = T0 + 1234,
	};
	json_t *j = result_to_json(&r, true);
	assert_non_null(j);

	/* The whole object serialises (valid UTF-8 everywhere). */
	char *dump = json_dumps(j, JSON_COMPACT);
	assert_non_null(dump);
	assert_null(strchr(dump, '\n'));
	free(dump);

	/* The document's version (wire/result_schema.h). */
	assert_true(json_is_integer(json_object_get(j, "schema")));
	assert_int_equal(json_integer_value(json_object_get(j, "schema")), RP_RESULT_SCHEMA);
	assert_json_str(j, "target", "192.0.2.25");
	assert_json_null(j, "host");
	assert_json_null(j, "mx_domain");
	assert_json_null(j, "mx_preference");
	assert_json_str(j, "address", "192.0.2.25");
	assert_int_equal(json_integer_value(json_object_get(j, "port")), 25);
	assert_json_str(j, "verdict", "open");
	assert_json_str(j, "confidence", "high");
	assert_json_str(j, "server_name", "mx.example.com");
	assert_json_str(j, "local_domain", "example.com");
	assert_non_null(strstr(json_string_value(json_object_get(j, "banner")), "mx.example.com"));
	assert_json_str(j, "helo", "EHLO");
	assert_json_null(j, "tls");
	assert_json_str(j, "started", "2023-11-14T22:13:20.000Z");
	assert_json_str(j, "finished", "2023-11-14T22:13:21.234Z");
	assert_int_equal(json_integer_value(json_object_get(j, "sessions")), 1);
	assert_true(json_integer_value(json_object_get(j, "round_trips")) >= 2);

	/* Extensions by name. */
	json_t *ext = json_object_get(j, "extensions");
	assert_true(json_is_array(ext));
	int seen = 0;
	size_t i;
	json_t *v;
	json_array_foreach(ext, i, v)
	{
		const char *name = json_string_value(v);
		if (strcmp(name, "PIPELINING") == 0 || strcmp(name, "SIZE") == 0 ||
		    strcmp(name, "8BITMIME") == 0)
			seen++;
		assert_string_not_equal(name, "STARTTLS");
	}
	assert_int_equal(seen, 3);

	/* Evidence indices point into the transcript, at the accepting reply. */
	json_t *tr = json_object_get(j, "transcript");
	assert_true(json_is_array(tr));
	json_t *ev = json_object_get(j, "evidence");
	assert_true(json_array_size(ev) >= 1);
	json_array_foreach(ev, i, v)
	{
		json_int_t k = json_integer_value(v);
		assert_true(k >= 0 && (size_t)k < json_array_size(tr));
	}

	/* Tests: one object per selected test. */
	json_t *tests = json_object_get(j, "tests");
	assert_int_equal(json_array_size(tests), 3);

	json_t *ext_t = test_by_id(tests, "external-sender");
	assert_json_str(ext_t, "outcome", "accepted");
	assert_json_str(ext_t, "mail_from", "prober@outside.test");
	assert_json_str(ext_t, "rcpt_to", "relaytest@outside.test");
	assert_int_equal(json_integer_value(json_object_get(ext_t, "code")), 250);
	assert_json_str(ext_t, "enhanced", "2.1.5");
	assert_json_null(ext_t, "reject_class");
	assert_json_str(ext_t, "confidence", "high");
	assert_non_null(strstr(json_string_value(json_object_get(ext_t, "reply")), "2.1.5 Ok"));
	assert_int_equal(json_integer_value(json_object_get(ext_t, "attempts")), 1);

	json_t *null_t = test_by_id(tests, "null-sender");
	assert_json_str(null_t, "outcome", "rejected");
	assert_json_str(null_t, "mail_from", "");
	assert_json_str(null_t, "reject_class", "relay-denied");
	assert_int_equal(json_integer_value(json_object_get(null_t, "code")), 554);
	assert_json_str(null_t, "enhanced", "5.7.1");
	assert_non_null(
	    strstr(json_string_value(json_object_get(null_t, "reply")), "Relay access denied"));

	json_t *bang = test_by_id(tests, "bang-path");
	assert_json_str(bang, "outcome", "rejected");
	assert_json_str(bang, "rcpt_to", "outside.test!relaytest");
	assert_json_str(bang, "confidence", "medium");

	/* The transcript entry named by a test's evidence is its reply line. */
	json_int_t k = json_integer_value(json_object_get(null_t, "evidence"));
	json_t *line = json_array_get(tr, (size_t)k);
	assert_non_null(line);
	assert_json_str(line, "dir", "recv");
	assert_non_null(strstr(json_string_value(json_object_get(line, "text")), "554"));

	json_decref(j);

	/* Without the transcript, the key is absent. */
	j = result_to_json(&r, false);
	assert_non_null(j);
	assert_null(json_object_get(j, "transcript"));
	json_decref(j);
	dialog_free(&d);
	assert_null(d);
}

static void test_closed_via_mx(void **state)
{
	struct dialog *d = new_dialog("null-sender,bang-path");
	run_dialog(d);
	assert_int_equal(dialog_verdict(d), DV_CLOSED);

	struct probe_result r = {
	    .target = "example.com",
	    .host = "mx.example.com",
	    .mx_domain = "example.com",
	    .mx_pref = 10,
	    .address = "192.0.2.25",
	    .port = 25,
	    .dialog = d,
	    .verdict = dialog_verdict(d),
	    .started_ms = T0,
	    .finished_ms = T0 + 1,
	};
	json_t *j = result_to_json(&r, true);
	assert_non_null(j);
	assert_json_str(j, "target", "example.com");
	assert_json_str(j, "host", "mx.example.com");
	assert_json_str(j, "mx_domain", "example.com");
	assert_int_equal(json_integer_value(json_object_get(j, "mx_preference")), 10);
	assert_json_str(j, "verdict", "closed");
	assert_json_null(j, "confidence"); /* only for open verdicts */
	json_decref(j);
	dialog_free(&d);
}

static void test_no_dialog(void **state)
{
	struct probe_result r = {
	    .target = "nonexistent.example.com",
	    .host = "nonexistent.example.com",
	    .mx_pref = -1,
	    .address = NULL,
	    .port = 25,
	    .dialog = NULL,
	    .verdict = DV_ERROR,
	    .reason = "DNS: no such domain",
	    .started_ms = T0,
	    .finished_ms = T0 + 20,
	};
	json_t *j = result_to_json(&r, true);
	assert_non_null(j);
	assert_json_str(j, "verdict", "error");
	assert_json_str(j, "reason", "DNS: no such domain");
	assert_json_null(j, "address");
	assert_json_null(j, "banner");
	assert_json_null(j, "tls");
	assert_json_null(j, "transcript");
	assert_int_equal(json_array_size(json_object_get(j, "tests")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "evidence")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "port")), 25);
	json_decref(j);
}

/* The direct writer of --json equals the jansson tree, with and without a
 * dialog, with and without the transcript, and with quotes in addresses. */
static void assert_writer_matches(const struct probe_result *r, bool with_transcript)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_error_t err;
	json_t *a, *b;

	assert_int_equal(result_write_json(r, with_transcript, f), 0);
	fclose(f);
	assert_true(len > 2 && buf[len - 1] == '\n');
	assert_null(memchr(buf, '\n', len - 1)); /* one line */
	a = json_loads(buf, 0, &err);
	if (a == NULL)
		fail_msg("writer output is not JSON: %s: %s", err.text, buf);
	b = result_to_json(r, with_transcript);
	if (!json_equal(a, b))
		fail_msg("writer and tree differ:\n%s", buf);
	json_decref(a);
	json_decref(b);
	free(buf);
}

static void test_writer_matches_tree(void **state)
{
	struct dialog *d = new_dialog("null-sender,external-sender,quoted-recipient,bang-path");
	run_dialog(d);

	struct probe_result r = {
	    .target = "mx.example.com",
	    .host = "mx.example.com",
	    .mx_pref = -1,
	    .address = "192.0.2.25",
	    .port = 25,
	    .dialog = d,
	    .verdict = dialog_verdict(d),
	    .started_ms = T0,
	    .finished_ms = T0 + 5,
	};
	assert_writer_matches(&r, true);
	assert_writer_matches(&r, false);
	dialog_free(&d);

	struct probe_result none = {
	    .target = "nx.example.com",
	    .mx_pref = -1,
	    .port = 25,
	    .verdict = DV_ERROR,
	    .reason = "DNS: no such domain",
	};
	assert_writer_matches(&none, true);
	assert_writer_matches(&none, false);
}

static void test_iso8601(void **state)
{
	char buf[40];

	result_iso8601(T0 + 7, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:20.007Z");
	result_iso8601(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_dialog),         cmocka_unit_test(test_closed_via_mx),
	    cmocka_unit_test(test_no_dialog),           cmocka_unit_test(test_iso8601),
	    cmocka_unit_test(test_writer_matches_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
