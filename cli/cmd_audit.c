/* cmd_audit.c - `relayprobe audit`: start an audit on the controller
 * (audit.start), optionally wait for it (audit.status every 50 ms, growing
 * to POLL_MS, at most --wait-timeout) and print its report (view.h,
 * cmd_report.c). Targets from arguments and --targets files
 * (common/targets_file.c; RP_ADMIN_TARGETS_MAX in all), syntax-checked with
 * target_parse() before anything is sent. */
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
#include "target_input.h"
#include "view.h"

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
    CLI_HELP_OPTION,
    ADMIN_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

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

/* ---- targets ------------------------------------------------------------ */

/* Takes a target into the request's list (in->arg). */
static int audit_add(struct target_input *in, const struct target_spec *t)
{
	if (json_array_size(in->arg) >= RP_ADMIN_TARGETS_MAX) {
		fprintf(stderr, "relayprobe audit: too many targets (at most %d per audit)\n",
		        RP_ADMIN_TARGETS_MAX);
		return -1;
	}
	if (json_array_append_new(in->arg, json_string(t->text)) < 0) {
		fprintf(stderr, "relayprobe audit: out of memory\n");
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

/* The probe's parameters an audit passes to each agent: the option, the
 * request's key and how the value is checked (numbers within min..max). */
enum param_kind { PARAM_NUMBER, PARAM_FLAG, PARAM_TLS, PARAM_MAILBOX, PARAM_EHLO };

struct audit_param {
	int id;
	const char *opt;
	const char *key;
	enum param_kind kind;
	unsigned long min, max;
};

static const struct audit_param audit_params[] = {
    {'p', "--port", "port", PARAM_NUMBER, 1, 65535},
    {OPT_TLS, "--tls", "tls", PARAM_TLS, 0, 0},
    {OPT_TO, "--to", "to", PARAM_MAILBOX, 0, 0},
    {OPT_FROM, "--from", "from", PARAM_MAILBOX, 0, 0},
    {OPT_EHLO, "--ehlo", "ehlo", PARAM_EHLO, 0, 0},
    {OPT_TIMEOUT, "--timeout", "timeout", PARAM_NUMBER, 1, 3600},
    {OPT_RETRY_AFTER, "--retry-after", "retry_after", PARAM_NUMBER, 0, 3600},
    {OPT_DATA, "--data", "data", PARAM_FLAG, 0, 0},
};

static const struct audit_param *param_find(int id)
{
	size_t i;

	for (i = 0; i < sizeof(audit_params) / sizeof(audit_params[0]); i++)
		if (audit_params[i].id == id)
			return &audit_params[i];
	return NULL;
}

/* The check of a string parameter: NULL when arg passes, else what it is not. */
static const char *param_refusal(enum param_kind kind, const char *arg)
{
	switch (kind) {
	case PARAM_TLS:
		return dialog_tls_policy_from_name(arg) < 0
		           ? "is not one of auto, require, off, implicit"
		           : NULL;
	case PARAM_MAILBOX:
		return rp_mailbox_split(arg, NULL, 0, NULL, 0, RP_MAILBOX_LITERAL) < 0
		           ? "is not an address (" RP_MAILBOX_RULE ")"
		           : NULL;
	case PARAM_EHLO:
		return rp_ehlo_ok(arg) ? NULL : "is not a host name or [address] literal";
	case PARAM_NUMBER:
	case PARAM_FLAG:
		break;
	}
	return NULL;
}

/* Checks p's value arg and sets it in o->params: 0, or -1 (printed). */
static int param_take(struct audit_opts *o, const char *prog, const struct audit_param *p,
                      const char *arg)
{
	const char *refusal;
	unsigned long n = 0;
	json_t *v;

	if (p->kind == PARAM_FLAG) {
		v = json_true();
	} else if (p->kind == PARAM_NUMBER) {
		if (cli_parse_seconds(prog, p->opt, arg, p->min, p->max, &n) < 0)
			return -1;
		v = json_integer((json_int_t)n);
	} else if ((refusal = param_refusal(p->kind, arg)) != NULL) {
		fprintf(stderr, "%s: %s: \"%s\" %s\n", prog, p->opt, arg, refusal);
		return -1;
	} else {
		v = json_string(arg);
	}
	if (v == NULL || json_object_set_new(o->params, p->key, v) < 0) {
		fprintf(stderr, "relayprobe audit: out of memory\n");
		return -1;
	}
	return 0;
}

/* 0, 1 when --help was handled, -1 on a usage error (printed). */
static int parse_audit_options(int argc, char **argv, struct audit_opts *o)
{
	const char *prog = "relayprobe audit";
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:h", audit_options, NULL)) != -1) {
		const char *arg = optarg;
		const struct audit_param *p = param_find(c);

		if (p != NULL) {
			if (param_take(o, prog, p, arg) < 0)
				return -1;
			continue;
		}
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
		default:
			rc = cli_option_rest(prog, c, argv, &o->cfg);
			if (rc > 0)
				audit_usage(stdout);
			if (rc != 0)
				return rc;
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

int audit_main(int argc, char **argv)
{
	struct audit_opts o;
	struct target_input t = {.prog = "relayprobe audit", .port = 25, .add = audit_add};
	json_t *list = json_array();
	struct admin *a = NULL;
	struct admin_answer r = {0};
	json_t *req = NULL, *id;
	char idtext[AUDIT_ID_MAX + 8];
	int rc, status = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	admin_cfg_defaults(&o.cfg);
	o.wait_timeout = WAIT_TIMEOUT_S;
	o.params = json_object();
	t.arg = list;
	if (o.params == NULL || list == NULL)
		goto out;
	rc = parse_audit_options(argc, argv, &o);
	if (rc != 0) {
		status = rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto out;
	}
	if (target_input_collect(&t, o.files, o.nfiles, argc, argv) < 0)
		goto out;

	req = json_pack("{s:s,s:O,s:O}", "cmd", admin_cmd_name(ADMIN_AUDIT_START), "targets", list,
	                "params", o.params);
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
			admin_print_raw(&r, stdout);
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
	json_decref(list);
	json_decref(o.params);
	json_decref(o.vantages);
	return status;
}
