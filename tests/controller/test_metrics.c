/* test_metrics.c - unit tests for the controller's Prometheus endpoint
 * (controller/metrics.c): the exposition text of canned numbers (HELP/TYPE
 * lines, every label set, escaped client labels), label escaping and its
 * truncation, the HTTP request classifier's bounds (incomplete, huge, bad
 * method, other path, garbage) and the HOST:PORT parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "rp_limits.h"
#include "target.h"

static char *render(const struct metrics_snapshot *s)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(metrics_render(s, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	return out;
}

/* Line `line` (with its newline) is in text. */
static void has_line(const char *text, const char *line)
{
	char want[512];
	const char *p = text;
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "%s\n", line);
	while ((p = strstr(p, want)) != NULL) {
		if (p == text || p[-1] == '\n')
			return;
		p += n;
	}
	fail_msg("missing line: %s\n--- in:\n%s", line, text);
}

static void test_render_canned(void **state)
{
	struct metrics_client cl[2] = {{.client = ""}, {.client = "acme"}};
	struct metrics_snapshot s = {0};
	char *t;

	(void)state;
	s.agents[STORE_AGENT_APPROVED] = 3;
	s.agents[STORE_AGENT_PENDING] = 1;
	s.agents_connected = 2;
	s.orders[STORE_ORDER_DONE] = 7;
	s.orders[STORE_ORDER_SENT] = 1;
	s.results_ingested = 12;
	s.results_stored = 40;
	s.have_audit = true;
	s.audit_timestamp = 1700000000;
	s.audit_duration = 42;
	cl[0].count[DV_CLOSED] = 5;
	cl[1].count[DV_OPEN] = 2;
	cl[1].count[DV_COUNT] = 1; /* inconclusive */
	s.clients = cl;
	s.nclients = 2;
	s.verdict_results[DV_UNREACHABLE] = 4;
	s.verdict_results[DV_CLOSED] = 30; /* not an error class */
	t = render(&s);
	has_line(t, "# HELP relayprobe_agents Agents known to the controller, by status.");
	has_line(t, "# TYPE relayprobe_agents gauge");
	has_line(t, "relayprobe_agents{status=\"approved\"} 3");
	has_line(t, "relayprobe_agents{status=\"pending\"} 1");
	has_line(t, "relayprobe_agents{status=\"revoked\"} 0");
	has_line(t, "relayprobe_agents_connected 2");
	has_line(t, "# TYPE relayprobe_orders gauge");
	has_line(t, "relayprobe_orders{state=\"pending\"} 0");
	has_line(t, "relayprobe_orders{state=\"sent\"} 1");
	has_line(t, "relayprobe_orders{state=\"acked\"} 0");
	has_line(t, "relayprobe_orders{state=\"done\"} 7");
	has_line(t, "# TYPE relayprobe_results_ingested_total counter");
	has_line(t, "relayprobe_results_ingested_total 12");
	has_line(t, "relayprobe_results_stored 40");
	has_line(t, "relayprobe_last_audit_timestamp_seconds 1700000000");
	has_line(t, "relayprobe_last_audit_duration_seconds 42");
	has_line(t, "# TYPE relayprobe_targets gauge");
	has_line(t, "relayprobe_targets{verdict=\"closed\",client=\"\"} 5");
	has_line(t, "relayprobe_targets{verdict=\"open\",client=\"\"} 0");
	has_line(t, "relayprobe_targets{verdict=\"open\",client=\"acme\"} 2");
	has_line(t, "relayprobe_targets{verdict=\"inconclusive\",client=\"acme\"} 1");
	has_line(t, "relayprobe_targets{verdict=\"open-confirmed\",client=\"acme\"} 0");
	has_line(t, "# TYPE relayprobe_probe_errors_total counter");
	has_line(t, "relayprobe_probe_errors_total{class=\"unreachable\"} 4");
	has_line(t, "relayprobe_probe_errors_total{class=\"error\"} 0");
	has_line(t, "relayprobe_probe_errors_total{class=\"blocked\"} 0");
	assert_null(strstr(t, "class=\"closed\""));
	/* Every sample line's metric has a TYPE line before it. */
	for (const char *p = t; *p != '\0';) {
		const char *e = strchr(p, '\n');
		char name[128], type[160];
		size_t n = strcspn(p, "{ ");

		assert_non_null(e); /* every line ends with a newline */
		if (*p != '#') {
			assert_true(n < sizeof(name));
			memcpy(name, p, n);
			name[n] = '\0';
			snprintf(type, sizeof(type), "# TYPE %s ", name);
			assert_non_null(strstr(t, type));
			assert_true(strstr(t, type) < p);
		}
		p = e + 1;
	}
	free(t);
}

static void test_render_no_audit(void **state)
{
	struct metrics_snapshot s = {0};
	char *t;

	(void)state;
	t = render(&s);
	/* No finished audit: the families are declared, no sample invented. */
	has_line(t, "# TYPE relayprobe_last_audit_timestamp_seconds gauge");
	assert_null(strstr(t, "relayprobe_last_audit_timestamp_seconds 0"));
	assert_null(strstr(t, "relayprobe_targets{"));
	has_line(t, "relayprobe_agents_connected 0");
	free(t);
}

static void test_render_escapes_client(void **state)
{
	struct metrics_client cl[1] = {{.client = "a\"b\\c\nd"}};
	struct metrics_snapshot s = {.have_audit = true, .clients = cl, .nclients = 1};
	char *t;

	(void)state;
	cl[0].count[DV_CLOSED] = 1;
	t = render(&s);
	has_line(t, "relayprobe_targets{verdict=\"closed\",client=\"a\\\"b\\\\c\\nd\"} 1");
	free(t);
}

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(metrics_escape_label("plain", out, sizeof(out)), 5);
	assert_string_equal(out, "plain");
	assert_int_equal(metrics_escape_label("q\"b\\n\n", out, sizeof(out)), 9);
	assert_string_equal(out, "q\\\"b\\\\n\\n");
	/* Truncated, still terminated; the return says what it needed. */
	assert_int_equal(metrics_escape_label("\"\"\"\"", out, 4), 8);
	assert_int_equal(strlen(out), 3);
	assert_int_equal(metrics_escape_label("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static enum metrics_req parse(const char *s, bool *head)
{
	return metrics_parse_request(s, strlen(s), head);
}

static void test_request_ok(void **state)
{
	bool head = true;

	(void)state;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &head), METRICS_REQ_OK);
	assert_false(head);
	assert_int_equal(parse("GET /metrics HTTP/1.0\n\n", &head), METRICS_REQ_OK);
	assert_int_equal(parse("GET /metrics?x=1 HTTP/1.1\r\n\r\n", &head), METRICS_REQ_OK);
	assert_int_equal(parse("HEAD /metrics HTTP/1.1\r\n\r\n", &head), METRICS_REQ_OK);
	assert_true(head);
}

static void test_request_incomplete(void **state)
{
	bool head;

	(void)state;
	assert_int_equal(parse("", &head), METRICS_REQ_INCOMPLETE);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n", &head), METRICS_REQ_INCOMPLETE);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &head),
	                 METRICS_REQ_INCOMPLETE);
}

static void test_request_other(void **state)
{
	bool head;

	(void)state;
	assert_int_equal(parse("GET /other HTTP/1.1\r\n\r\n", &head), METRICS_REQ_NOT_FOUND);
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &head), METRICS_REQ_NOT_FOUND);
	assert_int_equal(parse("GET /metricsx HTTP/1.1\r\n\r\n", &head), METRICS_REQ_NOT_FOUND);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &head), METRICS_REQ_BAD_METHOD);
	assert_int_equal(parse("DELETE /metrics HTTP/1.1\r\n\r\n", &head), METRICS_REQ_BAD_METHOD);
	assert_int_equal(parse("GET /metrics\r\n\r\n", &head), METRICS_REQ_BAD);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &head), METRICS_REQ_BAD);
	assert_int_equal(parse("get /metrics HTTP/1.1\r\n\r\n", &head), METRICS_REQ_BAD);
	assert_int_equal(parse("\r\n\r\n", &head), METRICS_REQ_BAD);
	assert_int_equal(parse("GET  HTTP/1.1\r\n\r\n", &head), METRICS_REQ_BAD);
}

static void test_request_huge(void **state)
{
	char *big = malloc(RP_METRICS_REQUEST_MAX + 1);
	bool head;

	(void)state;
	assert_non_null(big);
	memset(big, 'A', RP_METRICS_REQUEST_MAX);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	/* Full buffer, no end of headers: too large, never "read more". */
	assert_int_equal(metrics_parse_request(big, RP_METRICS_REQUEST_MAX, &head),
	                 METRICS_REQ_TOO_LARGE);
	/* One byte less is still incomplete. */
	assert_int_equal(metrics_parse_request(big, RP_METRICS_REQUEST_MAX - 1, &head),
	                 METRICS_REQ_INCOMPLETE);
	/* NUL bytes are just bytes. */
	memset(big, 0, 64);
	memcpy(big + 64, "\r\n\r\n", 4);
	assert_int_equal(metrics_parse_request(big, 68, &head), METRICS_REQ_BAD);
	free(big);
}

/* The bearer check: exact token only, header name and scheme in any case. */
static void test_authorized(void **state)
{
	static const struct {
		const char *req;
		bool ok;
	} cases[] = {
	    {"GET /metrics HTTP/1.1\r\nAuthorization: Bearer s3cret-T0ken\r\n\r\n", true},
	    {"GET /metrics HTTP/1.1\r\nHost: x\r\nauthorization: bearer s3cret-T0ken\r\n\r\n",
	     true},
	    {"GET /metrics HTTP/1.1\nAUTHORIZATION:Bearer s3cret-T0ken\n\n", true},
	    {"GET /metrics HTTP/1.1\r\n\r\n", false},
	    {"GET /metrics HTTP/1.1\r\nAuthorization: Bearer s3cret-T0ke\r\n\r\n", false},
	    {"GET /metrics HTTP/1.1\r\nAuthorization: Bearer s3cret-T0ken2\r\n\r\n", false},
	    {"GET /metrics HTTP/1.1\r\nAuthorization: Basic s3cret-T0ken\r\n\r\n", false},
	    {"GET /metrics HTTP/1.1\r\nAuthorization: Bearer \r\n\r\n", false},
	    {"GET /metrics HTTP/1.1\r\nX-Authorization: Bearer s3cret-T0ken\r\n\r\n", false},
	    {"GET /metrics?Authorization:%20Bearer%20s3cret-T0ken HTTP/1.1\r\n\r\n", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (metrics_authorized(cases[i].req, strlen(cases[i].req), "s3cret-T0ken") !=
		    cases[i].ok)
			fail_msg("case %zu: want %d", i, cases[i].ok);
	/* No token configured: every request passes. */
	{
		const char *q = "GET /metrics HTTP/1.1\r\n\r\n";

		assert_true(metrics_authorized(q, strlen(q), NULL));
	}
}

/* The snapshot counter is exposed. */
static void test_render_snapshots(void **state)
{
	struct metrics_snapshot s = {0};
	char *t;

	(void)state;
	s.snapshots = 3;
	t = render(&s);
	has_line(t, "# TYPE relayprobe_metrics_snapshots_total counter");
	has_line(t, "relayprobe_metrics_snapshots_total 3");
	free(t);
}

static void test_address(void **state)
{
	char host[64];
	unsigned port = 0;

	(void)state;
	assert_int_equal(target_parse_numeric_hostport("127.0.0.1:9464", host, sizeof(host), &port),
	                 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9464);
	assert_int_equal(target_parse_numeric_hostport("[::1]:9100", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9100);
	assert_int_equal(target_parse_numeric_hostport("::1:9100", host, sizeof(host), &port), -1);
	assert_int_equal(target_parse_numeric_hostport("localhost:9464", host, sizeof(host), &port),
	                 -1);
	assert_int_equal(target_parse_numeric_hostport("127.0.0.1", host, sizeof(host), &port), -1);
	assert_int_equal(target_parse_numeric_hostport("127.0.0.1:0", host, sizeof(host), &port),
	                 -1);
	assert_int_equal(
	    target_parse_numeric_hostport("127.0.0.1:65536", host, sizeof(host), &port), -1);
	assert_int_equal(target_parse_numeric_hostport("127.0.0.1:94x", host, sizeof(host), &port),
	                 -1);
	assert_int_equal(target_parse_numeric_hostport(":9464", host, sizeof(host), &port), -1);
	assert_int_equal(target_parse_numeric_hostport("[::1]9464", host, sizeof(host), &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_canned),
	    cmocka_unit_test(test_render_no_audit),
	    cmocka_unit_test(test_render_escapes_client),
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_request_ok),
	    cmocka_unit_test(test_request_incomplete),
	    cmocka_unit_test(test_request_other),
	    cmocka_unit_test(test_request_huge),
	    cmocka_unit_test(test_authorized),
	    cmocka_unit_test(test_render_snapshots),
	    cmocka_unit_test(test_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
