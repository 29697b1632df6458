/* audit.c - `relayprobe audit`, `relayprobe report` and `relayprobe
 * transcript`: start an audit on the controller (audit.start), optionally
 * wait for it (audit.status every 50 ms, growing to POLL_MS, at most
 * --wait-timeout), and print
 * reports (text, json, csv, html with every cell's transcript: report_html.c)
 * and transcripts. Targets from arguments and --targets files
 * (common/targets_file.c; RP_ADMIN_TARGETS_MAX in all), syntax-checked
 * with target_parse() before anything is sent. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "clock.h"
#include "commands.h"
#include "dialog.h"
#include "keys.h"
#include "relay_tests.h"
#include "report_html.h"
#include "report_render.h"
#include "rp_limits.h"
#include "syntax.h"
#include "target.h"
#include "targets_file.h"

#define POLL_MS            500 /* audit.status at most every POLL_MS... */
#define POLL_FIRST_MS      50  /* ...starting at this, times 1.5 each time */
#define WAIT_TIMEOUT_S     3600
#define WAIT_TIMEOUT_MAX_S (7 * 24 * 3600)
#define TARGET_FILES_MAX   16
#define AUDIT_ID_MAX       64

enum {
	OPT_TARGETS = 256,
	OPT_VANTAGES,
	OPT_TESTS,
	OPT_TLS,
	OPT_TO,
	OPT_FROM,
	OPT_EHLO,
	OPT_TIMEOUT,
	OPT_RETRY_AFTER,
	OPT_DATA,
	OPT_WAIT,
	OPT_WAIT_TIMEOUT,
	OPT_JSON,
	OPT_LATEST,
	OPT_FORMAT,
	OPT_OUTPUT,
	OPT_HELP,
};

/* relayprobe report --format (--json is FMT_JSON). */
enum report_format { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_HTML };

struct view_opts {
	bool latest;
	enum report_format format;
	const char *output; /* NULL: standard output */
};

static const struct option audit_options[] = {
    {"targets", required_argument, NULL, OPT_TARGETS},
    {"vantages", required_argument, NULL, OPT_VANTAGES},
    {"tests", required_argument, NULL, OPT_TESTS},
    {"port", required_argument, NULL, 'p'},
    {"tls", required_argument, NULL, OPT_TLS},
    {"to", required_argument, NULL, OPT_TO},
    {"from", required_argument, NULL, OPT_FROM},
    {"ehlo", required_argument, NULL, OPT_EHLO},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"retry-after", required_argument, NULL, OPT_RETRY_AFTER},
    {"data", no_argument, NULL, OPT_DATA},
    {"wait", no_argument, NULL, OPT_WAIT},
    {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    ADMIN_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

static const struct option report_options[] = {
    {"latest", no_argument, NULL, OPT_LATEST},
    {"json", no_argument, NULL, OPT_JSON},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"help", no_argument, NULL, OPT_HELP},
    ADMIN_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

#define REPORT_EXIT_HELP                                                                           \
	"Exit status: 0 no open relay in the report, 1 at least one target open,\n"                \
	"2 usage error or the controller refused the request, 3 nothing open but\n"                \
	"some target inconclusive (or no target has a verdict yet), or the\n"                      \
	"controller could not be reached.\n"

static void audit_usage(FILE *out)
{
	fprintf(out,
	        "usage: relayprobe audit [options] [--targets FILE | TARGET...]\n"
	        "\n"
	        "Start an audit on the controller: every target is probed from every chosen\n"
	        "vantage (agent), and the verdicts are aggregated per target. TARGET is as\n"
	        "for relayprobe probe: host, host:port, address, [IPv6]:port or mail domain;\n"
	        "'-' reads targets from standard input.\n"
	        "\n"
	        "Targets and vantages:\n"
	        "      --targets FILE       targets, one per line, '#' starts a comment\n"
	        "                           (may be repeated)\n"
	        "      --vantages LIST      all, or comma-separated agent names (default all)\n"
	        "\n"
	        "The probe, run by each agent (defaults: the agent's, as relayprobe probe):\n"
	        "      --tests SPEC         test ids and set names (see relayprobe probe\n"
	        "                           --tests list)\n"
	        "  -p, --port N             port for targets without one\n"
	        "      --tls POLICY         auto, require, off or implicit\n"
	        "      --to ADDR            external recipient T@D\n"
	        "      --from ADDR          sender\n"
	        "      --ehlo NAME          EHLO/HELO name\n"
	        "      --timeout S          each command's reply\n"
	        "      --retry-after S      wait before retrying tests that got 4xx\n"
	        "      --data               send a test message after an accepted RCPT (each\n"
	        "                           agent refuses unless its allow_data is yes)\n"
	        "\n"
	        "Waiting and output:\n"
	        "      --wait               wait until every order is done (status every\n"
	        "                           0.5 s, progress on a terminal), then print the\n"
	        "                           report as relayprobe report does\n"
	        "      --wait-timeout S     give up waiting after S seconds (default 3600)\n"
	        "      --json               print the controller's JSON reply (with --wait:\n"
	        "                           the report's) as is\n"
	        "%s"
	        "  -h, --help               this help\n"
	        "\n"
	        "Without --wait: prints the audit id and the number of orders, exit "
	        "0.\n" REPORT_EXIT_HELP,
	        ADMIN_OPTIONS_HELP);
}

static void report_usage(FILE *out)
{
	fprintf(out,
	        "usage: relayprobe report [options] [AUDIT | --latest]\n"
	        "\n"
	        "Print an audit's report: a summary (targets; open, with how many are new\n"
	        "since the previous audit; closed; inconclusive; other verdicts; targets the\n"
	        "vantages disagree on), then the matrix, one heading per client when the\n"
	        "targets come from the inventory (\"client acme: 3 targets\", \"no client\"):\n"
	        "one row per target, one column per vantage with that vantage's verdict, the\n"
	        "aggregated VERDICT (the worst wins) and FLAGS: NEW when the target is open\n"
	        "and was not open in its previous audit, DISAGREE when vantages disagree on\n"
	        "open (a server that trusts some networks), inconclusive when no vantage\n"
	        "got an answer, partial when the verdict is conclusive but some vantage got\n"
	        "no answer. Below: the accepted relay tests of every open cell. Without\n"
	        "AUDIT, the latest audit.\n"
	        "\n"
	        "CSV columns: client,target,vantage,verdict (this vantage's),\n"
	        "aggregated_verdict,disagree,inconclusive,accepted_tests (ids joined by ';'),\n"
	        "previous (the target's verdict in its previous audit, empty if none),new\n"
	        "(true/false); one row per target x vantage, RFC 4180 quoting.\n"
	        "\n"
	        "      --latest             the latest audit\n"
	        "      --format FMT         text (default), json (the controller's reply as\n"
	        "                           is), csv (one row per target x vantage) or html\n"
	        "                           (one self-contained page: summary, one coloured\n"
	        "                           matrix per client, NEW badges, accepted tests,\n"
	        "                           every transcript one click away; printable)\n"
	        "      --json               same as --format json\n"
	        "      --output FILE        write the report to FILE (default: standard output)\n"
	        "%s"
	        "  -h, --help               this help\n"
	        "\n" REPORT_EXIT_HELP,
	        ADMIN_OPTIONS_HELP);
}

static void transcript_usage(FILE *out)
{
	fprintf(out,
	        "usage: relayprobe transcript [options] AUDIT TARGET VANTAGE\n"
	        "\n"
	        "Print the evidence: the transcript of every dialog (address) of TARGET\n"
	        "probed from VANTAGE in AUDIT, one line per line sent or received, with\n"
	        "the seconds since the dialog began and a marker: ' ->' sent, ' ~>' sent\n"
	        "over TLS, '<- ' received ('<~ ' over TLS), '<**' a 4xx/5xx reply ('<~*'\n"
	        "over TLS), '===' an event, '***' an error.\n"
	        "\n"
	        "      --json               print the controller's JSON reply as is (the\n"
	        "                           results of several pages in one reply)\n"
	        "%s"
	        "  -h, --help               this help\n"
	        "\n"
	        "Exit status: 0 printed, 2 usage error or the controller refused, 3 no\n"
	        "result for that target and vantage, or the controller unreachable.\n",
	        ADMIN_OPTIONS_HELP);
}

/* ---- option checks ------------------------------------------------------ */

/* "AUDIT" as the request's id: a JSON integer when all digits, else a
 * string of id characters; "latest" stays a string. NULL when bad. */
static json_t *audit_id(const char *prog, const char *s)
{
	size_t n = strlen(s);
	char *end = NULL;
	long long v;

	if (n > 0 && n <= 18 && strspn(s, "0123456789") == n) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer((json_int_t)v);
	}
	if (!rp_id_ok(RP_ID_AUDIT, s)) {
		fprintf(stderr, "%s: \"", prog);
		report_put_clean(s, stderr);
		fputs("\" is not an audit id\n", stderr);
		return NULL;
	}
	return json_string(s);
}

/* ---- targets ------------------------------------------------------------ */

struct targets {
	json_t *list;
	bool stdin_read;
};

static int add_target(struct targets *t, const char *text, const char *where, size_t line)
{
	struct target_spec spec;
	char err[RP_TARGET_LINE_MAX + 128];

	if (target_parse(text, 25, &spec, err, sizeof(err)) < 0) {
		if (where != NULL)
			fprintf(stderr, "relayprobe audit: %s:%zu: %s\n", where, line, err);
		else
			fprintf(stderr, "relayprobe audit: %s\n", err);
		return -1;
	}
	if (json_array_size(t->list) >= RP_ADMIN_TARGETS_MAX) {
		fprintf(stderr, "relayprobe audit: too many targets (at most %d per audit)\n",
		        RP_ADMIN_TARGETS_MAX);
		return -1;
	}
	if (json_array_append_new(t->list, json_string(spec.text)) < 0) {
		fprintf(stderr, "relayprobe audit: out of memory\n");
		return -1;
	}
	return 0;
}

static int add_target_cb(void *t, const char *text, const char *where, size_t line)
{
	return add_target(t, text, where, line);
}

/* A --targets file (common/targets_file.c); "-" is read once. */
static int read_targets(struct targets *t, const char *path)
{
	char err[512];

	if (strcmp(path, "-") == 0) {
		if (t->stdin_read)
			return 0;
		t->stdin_read = true;
	}
	if (targets_file_read(path, add_target_cb, t, err, sizeof(err)) < 0) {
		if (err[0] != '\0')
			fprintf(stderr, "relayprobe audit: --targets: %s\n", err);
		return -1;
	}
	return 0;
}

/* ---- audit -------------------------------------------------------------- */

struct audit_opts {
	const char *files[TARGET_FILES_MAX];
	size_t nfiles;
	json_t *vantages; /* "all" or an array of names */
	json_t *params;
	const char *tests;
	bool wait, json;
	unsigned long wait_timeout;
	struct admin_cfg cfg;
};

static json_t *parse_vantages(const char *s)
{
	json_t *arr;
	const char *p = s;

	if (strcmp(s, "all") == 0)
		return json_string("all");
	arr = json_array();
	while (arr != NULL) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char name[RP_WIRE_ID_MAX + 1];

		if (n == 0 || n > RP_WIRE_ID_MAX) {
			fprintf(stderr,
			        "relayprobe audit: --vantages: \"%s\": empty or too long "
			        "agent name\n",
			        s);
			goto fail;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (!keys_name_valid(name)) {
			fprintf(stderr,
			        "relayprobe audit: --vantages: \"%s\" is not an agent name\n",
			        name);
			goto fail;
		}
		if (json_array_append_new(arr, json_string(name)) < 0)
			goto fail;
		if (comma == NULL)
			return arr;
		p = comma + 1;
	}
	return NULL;
fail:
	json_decref(arr);
	return NULL;
}

static int set_param(struct audit_opts *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o->params, key, v) < 0) {
		fprintf(stderr, "relayprobe audit: out of memory\n");
		return -1;
	}
	return 0;
}

/* 0, 1 when --help was handled, -1 on a usage error (printed). */
static int parse_audit_options(int argc, char **argv, struct audit_opts *o)
{
	const char *prog = "relayprobe audit";
	unsigned long n;
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:h", audit_options, NULL)) != -1) {
		const char *arg = optarg;
		switch (c) {
		case OPT_TARGETS:
			if (o->nfiles == TARGET_FILES_MAX) {
				fprintf(stderr, "%s: --targets: at most %d files\n", prog,
				        TARGET_FILES_MAX);
				return -1;
			}
			o->files[o->nfiles++] = arg;
			break;
		case OPT_VANTAGES:
			json_decref(o->vantages);
			o->vantages = parse_vantages(arg);
			if (o->vantages == NULL)
				return -1;
			break;
		case OPT_TESTS: {
			size_t idx[RP_TESTS_MAX], ntests = 0;
			char err[256] = "";
			if (relay_tests_select(arg, idx, RP_TESTS_MAX, &ntests, err, sizeof(err)) <
			        0 ||
			    ntests == 0) {
				fprintf(stderr, "%s: --tests: %s\n", prog,
				        ntests == 0 && err[0] == '\0' ? "selects no test" : err);
				return -1;
			}
			o->tests = arg;
			break;
		}
		case 'p':
			if (cli_parse_seconds(prog, "--port", arg, 1, 65535, &n) < 0 ||
			    set_param(o, "port", json_integer((json_int_t)n)) < 0)
				return -1;
			break;
		case OPT_TLS:
			if (dialog_tls_policy_from_name(arg) < 0) {
				fprintf(stderr,
				        "%s: --tls: \"%s\" is not one of auto, require, off, "
				        "implicit\n",
				        prog, arg);
				return -1;
			}
			if (set_param(o, "tls", json_string(arg)) < 0)
				return -1;
			break;
		case OPT_TO:
		case OPT_FROM:
			if (rp_mailbox_split(arg, NULL, 0, NULL, 0, RP_MAILBOX_LITERAL) < 0) {
				fprintf(stderr, "%s: %s: \"%s\" is not an address (%s)\n", prog,
				        c == OPT_TO ? "--to" : "--from", arg, RP_MAILBOX_RULE);
				return -1;
			}
			if (set_param(o, c == OPT_TO ? "to" : "from", json_string(arg)) < 0)
				return -1;
			break;
		case OPT_EHLO:
			if (strlen(arg) > RP_DOMAIN_MAX ||
			    (!target_hostname_ok(arg) && !target_address_literal_ok(arg))) {
				fprintf(
				    stderr,
				    "%s: --ehlo: \"%s\" is not a host name or [address] literal\n",
				    prog, arg);
				return -1;
			}
			if (set_param(o, "ehlo", json_string(arg)) < 0)
				return -1;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_seconds(prog, "--timeout", arg, 1, 3600, &n) < 0 ||
			    set_param(o, "timeout", json_integer((json_int_t)n)) < 0)
				return -1;
			break;
		case OPT_RETRY_AFTER:
			if (cli_parse_seconds(prog, "--retry-after", arg, 0, 3600, &n) < 0 ||
			    set_param(o, "retry_after", json_integer((json_int_t)n)) < 0)
				return -1;
			break;
		case OPT_DATA:
			if (set_param(o, "data", json_true()) < 0)
				return -1;
			break;
		case OPT_WAIT:
			o->wait = true;
			break;
		case OPT_WAIT_TIMEOUT:
			if (cli_parse_seconds(prog, "--wait-timeout", arg, 1, WAIT_TIMEOUT_MAX_S,
			                      &o->wait_timeout) < 0)
				return -1;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
		case OPT_HELP:
			audit_usage(stdout);
			return 1;
		case '?':
		case ':':
			cli_bad_option(prog, c, argv);
			return -1;
		default:
			rc = admin_cfg_option(&o->cfg, c, arg, prog);
			if (rc > 0)
				cli_bad_option(prog, '?', argv);
			if (rc != 0)
				return -1;
		}
	}
	return admin_cfg_check(&o->cfg, prog);
}

static void clear_line(bool *dirty)
{
	if (*dirty) {
		fputs("\r\033[K", stderr);
		*dirty = false;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void print_count(const json_t *o, const char *key, FILE *out)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		fputc('?', out);
}

/* Polls audit.status until "done"; CLI_EXIT_OK, or an exit status. */
static int wait_done(struct admin *a, const struct audit_opts *o, json_t *id, const char *idtext)
{
	long long deadline = (long long)rp_mono_ms() + (long long)o->wait_timeout * 1000;
	bool tty = isatty(STDERR_FILENO), dirty = false;
	json_t *req =
	    json_pack("{s:s,s:O}", "cmd", admin_cmd_name(ADMIN_AUDIT_STATUS), "audit", id);
	int status = CLI_EXIT_UNREACHABLE;
	long poll = POLL_FIRST_MS;

	if (req == NULL)
		return CLI_EXIT_UNREACHABLE;
	for (;;) {
		struct admin_answer r;
		const char *st;

		status = admin_call(a, req, &r);
		if (status != CLI_EXIT_OK) {
			clear_line(&dirty);
			break;
		}
		st = json_string_value(json_object_get(r.json, "status"));
		if (st != NULL && strcmp(st, "done") == 0) {
			admin_reply_clear(&r);
			clear_line(&dirty);
			break;
		}
		if (tty) {
			fprintf(stderr, "\raudit %s: ", idtext);
			print_count(r.json, "done", stderr);
			fputc('/', stderr);
			print_count(r.json, "orders", stderr);
			fputs(" orders done, ", stderr);
			print_count(r.json, "results", stderr);
			fputs(" results\033[K", stderr);
			fflush(stderr);
			dirty = true;
		}
		admin_reply_clear(&r);
		if ((long long)rp_mono_ms() + poll > deadline) {
			clear_line(&dirty);
			fprintf(stderr,
			        "relayprobe audit: audit %s still running after %lu s (see "
			        "relayprobe report %s)\n",
			        idtext, o->wait_timeout, idtext);
			status = CLI_EXIT_INCONCLUSIVE;
			break;
		}
		sleep_ms(poll);
		/* Short audits end sooner; long ones are asked twice a second. */
		poll = poll * 3 / 2 < POLL_MS ? poll * 3 / 2 : POLL_MS;
	}
	json_decref(req);
	return status;
}

/* ---- transcript pages --------------------------------------------------- */

/* A transcripts reply may end inside a cell (docs/distributed.md, "Paging"):
 * "more" says a page follows, "next_after" (and "next_offset" for the bulk
 * command) where it starts. A controller that does not move forward is not
 * followed (an older one sends neither field: one page). */
static json_int_t reply_int(const json_t *r, const char *key, json_int_t dflt)
{
	const json_t *v = json_object_get(r, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Calls page(arg, reply, more) for each page of the `transcript` request
 * req (its "after" is set here), while the controller says there is more.
 * CLI_EXIT_OK, admin_call()'s status for a failed call, CLI_EXIT_UNREACHABLE
 * when page() fails or the controller does not move forward. */
static int transcript_pages(struct admin *a, json_t *req,
                            int (*page)(void *arg, const struct admin_answer *r, bool more),
                            void *arg)
{
	json_int_t after = 0;
	bool more = true;

	while (more) {
		struct admin_answer r = {0};
		json_int_t next;
		int rc;

		/* the first request as before paging: without "after" */
		if (after > 0 && json_object_set_new(req, "after", json_integer(after)) < 0)
			return CLI_EXIT_UNREACHABLE;
		if ((rc = admin_call(a, req, &r)) != CLI_EXIT_OK)
			return rc;
		next = reply_int(r.json, "next_after", after);
		more = json_is_true(json_object_get(r.json, "more"));
		if (more && next <= after) {
			fputs("relayprobe: the controller's transcript pages do not move forward\n",
			      stderr);
			rc = CLI_EXIT_UNREACHABLE;
			more = false;
		}
		if (page(arg, &r, more) < 0)
			rc = CLI_EXIT_UNREACHABLE;
		admin_reply_clear(&r);
		if (rc != CLI_EXIT_OK)
			return rc;
		after = next;
	}
	return CLI_EXIT_OK;
}

struct html_cell {
	struct report_html *h;
	size_t ti, vi;
};

static int html_cell_page(void *arg, const struct admin_answer *r, bool more)
{
	struct html_cell *c = arg;

	return report_html_cell_part_at(c->h, c->ti, c->vi, json_object_get(r->json, "results"),
	                                more) < 0
	           ? -1
	           : 0;
}

/* The old way (controllers without `transcripts`): one `transcript` request
 * (pages of it) per target x vantage (of the first nt targets) not written
 * yet, each page written to h as it comes. 0, or -1 when the controller
 * could not be asked or the page could not be written. */
static int stream_transcripts_each(struct admin *a, const json_t *report, size_t nt,
                                   struct report_html *h)
{
	const json_t *targets = json_object_get(report, "targets");
	const json_t *vantages = json_object_get(report, "vantages");
	const json_t *v;
	size_t i, j;

	for (i = 0; i < nt; i++) {
		const char *target =
		    json_string_value(json_object_get(json_array_get(targets, i), "target"));
		json_array_foreach(vantages, j, v)
		{
			struct html_cell c = {.h = h, .ti = i, .vi = j};
			json_t *req = NULL;
			int rc = CLI_EXIT_USAGE;

			if (report_html_cell_done(h, i, j))
				continue;
			if (target != NULL && json_is_string(v))
				req = json_pack("{s:s,s:O,s:s,s:O}", "cmd",
				                admin_cmd_name(ADMIN_TRANSCRIPT), "audit",
				                json_object_get(report, "audit"), "target", target,
				                "vantage", v);
			if (req != NULL)
				rc = transcript_pages(a, req, html_cell_page, &c);
			json_decref(req);
			/* refused: the cell says so at the end (report_html_end) */
			if (rc == CLI_EXIT_UNREACHABLE)
				return -1;
		}
	}
	return 0;
}

/* Writes the cells of one `transcripts` page to h (cells outside the
 * report, or written already, are skipped there; a cell marked "more"
 * continues on the next page); the number of cells the page had, -1 when
 * it is not a page, -2 on a write error. */
static long write_page(struct report_html *h, const json_t *page)
{
	const json_t *cells = json_object_get(page, "cells"), *c;
	size_t i;

	if (!json_is_array(cells))
		return -1;
	json_array_foreach(cells, i, c)
	{
		const char *target = json_string_value(json_object_get(c, "target"));
		const char *vantage = json_string_value(json_object_get(c, "vantage"));
		const json_t *results = json_object_get(c, "results");

		if (target == NULL || vantage == NULL || !json_is_array(results))
			continue;
		if (report_html_cell_part(h, target, vantage, results,
		                          json_is_true(json_object_get(c, "more"))) < 0)
			return -2;
	}
	return (long)json_array_size(cells);
}

/* Writes the transcripts of report's cells to h as they come, for at most
 * RP_ADMIN_TARGETS_MAX targets: the bulk `transcripts` command,
 * RP_ADMIN_CELLS_PAGE cells (and RP_ADMIN_PAGE_BYTES, a page may end inside
 * a cell) a request, each page written then freed before the next is asked
 * for (memory: one page); one `transcript` request per cell not written yet
 * when the controller refuses it (an older one answers "unknown command").
 * 0, or -1 when the controller could not be asked, its reply was unusable
 * or the page could not be written. */
static int stream_transcripts(struct admin *a, const json_t *report, struct report_html *h)
{
	size_t nt = json_array_size(json_object_get(report, "targets"));
	size_t nv = json_array_size(json_object_get(report, "vantages"));
	json_int_t offset = 0, after = 0, total = 0, cap;
	bool more = true;

	if (nt > RP_ADMIN_TARGETS_MAX)
		nt = RP_ADMIN_TARGETS_MAX;
	/* a controller that keeps saying there is more is read this far only */
	cap = (json_int_t)(2 * nt * nv) + RP_ADMIN_CELLS_PAGE;
	while (more && offset < cap) {
		struct admin_answer r = {0};
		json_int_t noff, naft;
		json_t *req =
		    json_pack("{s:s,s:O,s:I,s:i}", "cmd", admin_cmd_name(ADMIN_TRANSCRIPTS),
		              "audit", json_object_get(report, "audit"), "offset", offset, "limit",
		              RP_ADMIN_CELLS_PAGE);
		long got;
		int rc = CLI_EXIT_UNREACHABLE;

		if (req != NULL &&
		    (after == 0 || json_object_set_new(req, "after", json_integer(after)) == 0))
			rc = admin_call(a, req, &r);
		json_decref(req);
		if (rc == CLI_EXIT_USAGE) { /* refused: an older controller */
			fputs("relayprobe report: asking for each transcript on its own\n", stderr);
			return stream_transcripts_each(a, report, nt, h);
		}
		if (rc == CLI_EXIT_UNREACHABLE && r.answered) {
			/* A page that does not parse (a result stored with JSON
			 * that SQLite accepts and jansson does not): the rest one
			 * cell at a time, where the controller skips such a result. */
			fputs(
			    "relayprobe report: a transcripts page was not usable; asking for each "
			    "remaining transcript on its own\n",
			    stderr);
			return stream_transcripts_each(a, report, nt, h);
		}
		if (rc != CLI_EXIT_OK)
			return -1;
		total = reply_int(r.json, "total", 0);
		got = write_page(h, r.json);
		if (json_object_get(r.json, "next_offset") != NULL) {
			noff = reply_int(r.json, "next_offset", -1);
			naft = reply_int(r.json, "next_after", -1);
			more = json_is_true(json_object_get(r.json, "more"));
		} else { /* an older controller: pages end between cells */
			noff = offset + (got > 0 ? got : 0);
			naft = 0;
			more = got > 0 && noff < total;
		}
		admin_reply_clear(&r);
		if (got == -1)
			fprintf(stderr, "relayprobe: unusable reply from the controller: "
			                "transcripts without a \"cells\" array\n");
		if (got < 0)
			return -1;
		if (more && (naft < 0 || noff < offset || (noff == offset && naft <= after))) {
			fputs(
			    "relayprobe: the controller's transcripts pages do not move forward\n",
			    stderr);
			return -1;
		}
		offset = noff;
		after = naft;
	}
	return 0;
}

/* Renders report r in format f to out; 0, or -1 with nothing usable. The
 * HTML page is streamed: head, summary and matrices from the report, then
 * the transcripts page by page, then the foot (written even when fetching
 * failed, so the page is whole; the result is -1 then). */
static int render_report(struct admin *a, const struct admin_answer *r, enum report_format f,
                         FILE *out)
{
	struct report_html *h;
	int rc;

	switch (f) {
	case FMT_JSON:
		fwrite(r->raw, 1, r->rawlen, out);
		fputc('\n', out);
		return 0;
	case FMT_CSV:
		return report_render_csv(r->json, out) < 0 ? -1 : 0;
	case FMT_HTML:
		h = report_html_new(r->json, true, time(NULL), out);
		if (h == NULL)
			return -1;
		rc = stream_transcripts(a, r->json, h);
		if (report_html_end(h) < 0)
			rc = -1;
		report_html_free(&h);
		return rc;
	case FMT_TEXT:
	default:
		return report_render_text(r->json, out);
	}
}

/* --output FILE: the report goes to a new file DIR/.NAME.XXXXXX (mkstemp:
 * O_EXCL, mode 0600) renamed over FILE once written, so a symlink at FILE is
 * never followed and a failed report leaves FILE as it was. A symlink or a
 * non-regular file at FILE is refused up front. tmp receives the temp name. */
static FILE *output_open(const char *path, char *tmp, size_t tmplen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	int dirlen = slash != NULL ? (int)(slash - path) + 1 : 0;
	struct stat st;
	FILE *f;
	int fd;

	if (base[0] == '\0') {
		fprintf(stderr, "relayprobe report: %s: not a file name\n", path);
		return NULL;
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "relayprobe report: %s: %s: refusing to write through it\n", path,
		        S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		return NULL;
	}
	if (snprintf(tmp, tmplen, "%.*s.%s.XXXXXX", dirlen, path, base) >= (int)tmplen) {
		fprintf(stderr, "relayprobe report: %s: name too long\n", path);
		return NULL;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "relayprobe report: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "relayprobe report: %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(tmp);
	}
	return f;
}

/* Closes the temp file and renames it over path (keep) or removes it. */
static int output_close(FILE *f, const char *tmp, const char *path, bool keep)
{
	int rc = 0;

	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && keep && rename(tmp, path) == 0)
		return 0;
	if (keep || rc != 0)
		fprintf(stderr, "relayprobe report: %s: %s\n", path, strerror(errno));
	unlink(tmp);
	return keep ? -1 : 0;
}

/* Fetches the report of audit id and writes it as format f to output (NULL:
 * standard output); the report's exit status. */
static int fetch_report(struct admin *a, json_t *id, enum report_format f, const char *output)
{
	struct admin_answer r;
	json_t *req = json_pack("{s:s,s:O}", "cmd", admin_cmd_name(ADMIN_REPORT), "audit", id);
	FILE *out = stdout;
	char tmp[PATH_MAX];
	bool written = false;
	int status;

	if (req == NULL)
		return CLI_EXIT_UNREACHABLE;
	status = admin_call(a, req, &r);
	json_decref(req);
	if (status != CLI_EXIT_OK)
		return status;
	if (output != NULL && (out = output_open(output, tmp, sizeof(tmp))) == NULL) {
		admin_reply_clear(&r);
		return CLI_EXIT_USAGE;
	}
	if (!json_is_array(json_object_get(r.json, "vantages")) ||
	    !json_is_array(json_object_get(r.json, "targets"))) {
		fprintf(stderr, "relayprobe: unusable reply from the controller: a report needs "
		                "\"vantages\" and \"targets\" arrays\n");
		status = CLI_EXIT_UNREACHABLE;
	} else if (render_report(a, &r, f, out) < 0) {
		fprintf(stderr, "relayprobe report: the report is incomplete (%s)\n",
		        ferror(out) ? "write error" : "transcripts could not all be fetched");
		written = !ferror(out);
		status = CLI_EXIT_UNREACHABLE;
	} else {
		written = true;
		status = report_exit_status(r.json);
	}
	if (out != stdout && output_close(out, tmp, output, written) != 0)
		status = CLI_EXIT_UNREACHABLE;
	admin_reply_clear(&r);
	return status;
}

int audit_main(int argc, char **argv)
{
	struct audit_opts o;
	struct targets t = {0};
	struct admin *a = NULL;
	struct admin_answer r = {0};
	json_t *req = NULL, *id;
	char idtext[AUDIT_ID_MAX + 8];
	int rc, status = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	admin_cfg_defaults(&o.cfg);
	o.wait_timeout = WAIT_TIMEOUT_S;
	o.params = json_object();
	t.list = json_array();
	if (o.params == NULL || t.list == NULL)
		goto out;
	rc = parse_audit_options(argc, argv, &o);
	if (rc != 0) {
		status = rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < o.nfiles; i++)
		if (read_targets(&t, o.files[i]) < 0)
			goto out;
	for (int i = optind; i < argc; i++)
		if ((strcmp(argv[i], "-") == 0 ? read_targets(&t, "-")
		                               : add_target(&t, argv[i], NULL, 0)) < 0)
			goto out;
	if (json_array_size(t.list) == 0) {
		fprintf(stderr, "relayprobe audit: no targets (give TARGET arguments, --targets "
		                "FILE or '-')\n");
		goto out;
	}

	req = json_pack("{s:s,s:O,s:O}", "cmd", admin_cmd_name(ADMIN_AUDIT_START), "targets",
	                t.list, "params", o.params);
	if (req != NULL &&
	    (json_object_set_new(req, "vantages",
	                         o.vantages ? json_incref(o.vantages) : json_string("all")) < 0 ||
	     (o.tests != NULL && json_object_set_new(req, "tests", json_string(o.tests)) < 0))) {
		json_decref(req);
		req = NULL;
	}
	a = req ? admin_new(&o.cfg) : NULL;
	if (a == NULL) {
		status = CLI_EXIT_UNREACHABLE;
		goto out;
	}
	status = admin_call(a, req, &r);
	if (status != CLI_EXIT_OK)
		goto out;
	id = json_object_get(r.json, "audit");
	if (!json_is_integer(id) && !json_is_string(id)) {
		fprintf(stderr, "relayprobe: unusable reply from the controller: no audit id\n");
		status = CLI_EXIT_UNREACHABLE;
		goto out;
	}
	report_id_text(id, idtext, sizeof(idtext));
	if (!o.wait) {
		if (o.json) {
			fwrite(r.raw, 1, r.rawlen, stdout);
			putchar('\n');
		} else {
			printf("audit %s started: ", idtext);
			print_count(r.json, "orders", stdout);
			printf(" orders (relayprobe report %s, or audit --wait)\n", idtext);
		}
		status = CLI_EXIT_OK;
		goto out;
	}
	status = wait_done(a, &o, id, idtext);
	if (status == CLI_EXIT_OK)
		status = fetch_report(a, id, o.json ? FMT_JSON : FMT_TEXT, NULL);
out:
	admin_reply_clear(&r);
	admin_free(&a);
	json_decref(req);
	json_decref(t.list);
	json_decref(o.params);
	json_decref(o.vantages);
	return status;
}

/* ---- report and transcript ---------------------------------------------- */

/* Parses report/transcript options; 0, 1 after --help, -1 on a usage error. */
static int parse_view_options(int argc, char **argv, const char *prog, struct admin_cfg *cfg,
                              bool *json, struct view_opts *view, void (*help)(FILE *))
{
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", report_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			*json = true;
			break;
		case OPT_LATEST:
		case OPT_FORMAT:
		case OPT_OUTPUT:
			if (view == NULL) {
				cli_bad_option(prog, '?', argv);
				return -1;
			}
			if (c == OPT_LATEST) {
				view->latest = true;
			} else if (c == OPT_OUTPUT) {
				view->output = optarg;
			} else if (strcmp(optarg, "text") == 0) {
				view->format = FMT_TEXT;
			} else if (strcmp(optarg, "json") == 0) {
				view->format = FMT_JSON;
			} else if (strcmp(optarg, "csv") == 0) {
				view->format = FMT_CSV;
			} else if (strcmp(optarg, "html") == 0) {
				view->format = FMT_HTML;
			} else {
				fprintf(stderr, "%s: --format must be text, json, csv or html\n",
				        prog);
				return -1;
			}
			break;
		case 'h':
		case OPT_HELP:
			help(stdout);
			return 1;
		case '?':
		case ':':
			cli_bad_option(prog, c, argv);
			return -1;
		default:
			rc = admin_cfg_option(cfg, c, optarg, prog);
			if (rc > 0)
				cli_bad_option(prog, '?', argv);
			if (rc != 0)
				return -1;
		}
	}
	return admin_cfg_check(cfg, prog);
}

int report_main(int argc, char **argv)
{
	const char *prog = "relayprobe report";
	struct admin_cfg cfg;
	struct admin *a = NULL;
	json_t *id = NULL;
	struct view_opts view = {.format = FMT_TEXT};
	bool json = false;
	int rc, status;

	admin_cfg_defaults(&cfg);
	rc = parse_view_options(argc, argv, prog, &cfg, &json, &view, report_usage);
	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (json)
		view.format = FMT_JSON;
	if (argc - optind > 1 || (view.latest && argc - optind == 1)) {
		fprintf(stderr, "%s: give one AUDIT or --latest (try %s --help)\n", prog, prog);
		return CLI_EXIT_USAGE;
	}
	id = argc - optind == 1 ? audit_id(prog, argv[optind]) : json_string("latest");
	if (id == NULL)
		return CLI_EXIT_USAGE;
	a = admin_new(&cfg);
	status = a ? fetch_report(a, id, view.format, view.output) : CLI_EXIT_UNREACHABLE;
	admin_free(&a);
	json_decref(id);
	return status;
}

/* `relayprobe transcript` output, page by page: text through
 * report_render_transcripts(), or with --json one reply (the first page as
 * it came when it is the only one, else its results gathered as they come,
 * each written and freed: {"ok":true,"results":[...]}). */
struct tr_out {
	bool json, open; /* --json; its gathered reply is open */
	long n;          /* results written */
	int bad;         /* a page without a "results" array */
};

static int transcript_page(void *arg, const struct admin_answer *ar, bool more)
{
	struct tr_out *o = arg;
	const json_t *reply = ar->json;
	const json_t *results = json_object_get(reply, "results"), *r;
	size_t i;
	long n;

	if (!json_is_array(results)) {
		o->bad = 1;
		return -1;
	}
	if (!o->json) {
		/* a blank line between results, across pages too */
		if (o->n > 0 && json_array_size(results) > 0)
			putchar('\n');
		if ((n = report_render_transcripts(reply, stdout)) > 0)
			o->n += n;
		return ferror(stdout) ? -1 : 0;
	}
	if (!more && !o->open) { /* one page: as it came */
		fwrite(ar->raw, 1, ar->rawlen, stdout);
		putchar('\n');
		o->n += (long)json_array_size(results);
		return ferror(stdout) ? -1 : 0;
	}
	if (!o->open)
		fputs("{\"ok\":true,\"results\":[", stdout);
	o->open = true;
	json_array_foreach(results, i, r)
	{
		if (o->n++ > 0)
			putchar(',');
		json_dumpf(r, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	if (!more)
		fputs("]}\n", stdout);
	return ferror(stdout) ? -1 : 0;
}

int transcript_main(int argc, char **argv)
{
	const char *prog = "relayprobe transcript";
	struct admin_cfg cfg;
	struct admin *a = NULL;
	struct tr_out o = {0};
	json_t *id = NULL, *req = NULL;
	bool json = false;
	int rc, status;

	admin_cfg_defaults(&cfg);
	rc = parse_view_options(argc, argv, prog, &cfg, &json, NULL, transcript_usage);
	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (argc - optind != 3) {
		fprintf(stderr, "%s: needs AUDIT TARGET VANTAGE (try %s --help)\n", prog, prog);
		return CLI_EXIT_USAGE;
	}
	if (strlen(argv[optind + 1]) >= RP_TARGET_LINE_MAX || !keys_name_valid(argv[optind + 2])) {
		fprintf(stderr, "%s: \"%s\" is not %s\n", prog,
		        strlen(argv[optind + 1]) >= RP_TARGET_LINE_MAX ? "TARGET"
		                                                       : argv[optind + 2],
		        strlen(argv[optind + 1]) >= RP_TARGET_LINE_MAX ? "a target (too long)"
		                                                       : "an agent name");
		return CLI_EXIT_USAGE;
	}
	id = audit_id(prog, argv[optind]);
	if (id == NULL)
		return CLI_EXIT_USAGE;
	req = json_pack("{s:s,s:o,s:s,s:s}", "cmd", admin_cmd_name(ADMIN_TRANSCRIPT), "audit", id,
	                "target", argv[optind + 1], "vantage", argv[optind + 2]);
	if (req == NULL || (a = admin_new(&cfg)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		json_decref(req);
		return CLI_EXIT_UNREACHABLE;
	}
	o.json = json;
	status = transcript_pages(a, req, transcript_page, &o);
	json_decref(req);
	admin_free(&a);
	if (o.bad) {
		fprintf(stderr, "relayprobe: unusable reply from the controller: no \"results\" "
		                "array\n");
		status = CLI_EXIT_UNREACHABLE;
	} else if (status == CLI_EXIT_OK && o.n == 0) {
		fprintf(stderr, "%s: no result for %s from %s in audit %s\n", prog,
		        argv[optind + 1], argv[optind + 2], argv[optind]);
		status = CLI_EXIT_INCONCLUSIVE;
	}
	return status;
}
