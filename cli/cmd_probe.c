/* cmd_probe.c - `relayprobe probe [options] TARGET...`: parse and validate the
 * options (every number range-checked, every address syntax-checked), read
 * targets from arguments, --targets files and stdin (common/targets_file.c;
 * RP_TARGETS_MAX in all), run them through the engine and stream one
 * text line or one JSON object per dialog as results arrive. Owns the engine
 * for the run; SIGINT/SIGTERM stop it and the results so far are reported.
 * Over 800 lines: one command's option parse (every range checked), target
 * reading, run loop and its two output formats; the canary part is already
 * probe_canary.c, and the output formats are the next to move out. */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "admin.h"
#include "dns.h"
#include "engine.h"
#include "exclude.h"
#include "probe_advice.h"
#include "probe_canary.h"
#include "relay_tests.h"
#include "result_json.h"
#include "rp_limits.h"
#include "syntax.h"
#include "target.h"
#include "target_input.h"
#include "text_col.h"
#include "vantage.h"

#define PROG "relayprobe probe"

enum probe_exit {
	EXIT_NO_OPEN = 0,
	EXIT_OPEN = 1,
	EXIT_USAGE = 2,
	EXIT_INCONCLUSIVE = 3,
};

#define DEFAULT_PORT  25
#define DEFAULT_TO    "relaytest@example.net"
#define DEFAULT_TESTS "all"
#define TIMEOUT_MAX_S 3600
#define ADDRESS_COL   27
#define VERDICT_COL   14

/* Long options without a short letter. */
enum {
	OPT_TLS = 256,
	OPT_BIND,
	OPT_EHLO,
	OPT_FROM,
	OPT_TO,
	OPT_LOCAL_DOMAIN,
	OPT_TESTS,
	OPT_DATA,
	OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_BANNER_TIMEOUT,
	OPT_RETRY_AFTER,
	OPT_SESSION_ERRORS,
	OPT_PAUSE,
	OPT_RATE,
	OPT_CONCURRENCY,
	OPT_NO_MX,
	OPT_RESOLV_CONF,
	OPT_TARGETS,
	OPT_EXCLUDE,
	OPT_JSON,
	OPT_TRANSCRIPT,
	OPT_EXPLAIN,
	OPT_CANARY,
	OPT_CANARY_DOMAIN,
	OPT_CANARY_WAIT,
};

static const struct option long_options[] = {
    {"port", required_argument, NULL, 'p'},
    {"tls", required_argument, NULL, OPT_TLS},
    {"bind", required_argument, NULL, OPT_BIND},
    {"ehlo", required_argument, NULL, OPT_EHLO},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"local-domain", required_argument, NULL, OPT_LOCAL_DOMAIN},
    {"tests", required_argument, NULL, OPT_TESTS},
    {"data", no_argument, NULL, OPT_DATA},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"banner-timeout", required_argument, NULL, OPT_BANNER_TIMEOUT},
    {"retry-after", required_argument, NULL, OPT_RETRY_AFTER},
    {"session-errors", required_argument, NULL, OPT_SESSION_ERRORS},
    {"pause", required_argument, NULL, OPT_PAUSE},
    {"rate", required_argument, NULL, OPT_RATE},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"no-mx", no_argument, NULL, OPT_NO_MX},
    {"resolv-conf", required_argument, NULL, OPT_RESOLV_CONF},
    {"targets", required_argument, NULL, OPT_TARGETS},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"json", no_argument, NULL, OPT_JSON},
    {"transcript", no_argument, NULL, OPT_TRANSCRIPT},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"canary", required_argument, NULL, OPT_CANARY},
    {"canary-domain", required_argument, NULL, OPT_CANARY_DOMAIN},
    {"canary-wait", required_argument, NULL, OPT_CANARY_WAIT},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    CLI_HELP_OPTION,
    {NULL, 0, NULL, 0},
};
#define SHORT_OPTIONS ":p:qvh"

/* A numeric option: its value and whether it was given. */
struct num_opt {
	unsigned long value;
	bool given;
};

/* Everything the command line says; seconds are converted when the engine
 * parameters are built. Numbers left unset keep the engine's defaults. */
struct probe_opts {
	struct num_opt port, timeout, connect_timeout, banner_timeout, retry_after, session_errors,
	    pause, rate, concurrency, canary_wait;
	const char *canary;                    /* --canary ADDR:PORT */
	char canary_domain[RP_DOMAIN_MAX + 1]; /* --canary-domain */
	bool tls_given;
	enum dialog_tls_policy tls;
	const char *bind;
	char ehlo[RP_DOMAIN_MAX + 1];
	char from[RP_ADDR_MAX];
	char from_local[RP_LOCAL_PART_MAX + 1];
	char to[RP_ADDR_MAX];
	char to_local[RP_LOCAL_PART_MAX + 1];
	char to_domain[RP_DOMAIN_MAX + 1];
	const char *local_domain;
	const char *tests_spec;
	bool data;
	bool no_mx;
	const char *resolv_conf;
	const char *target_files[16];
	size_t ntarget_files;
	struct exclude_list *exclude; /* --exclude files, NULL when none */
	bool json, transcript, quiet, verbose, explain;
};

/* Numeric options and their accepted ranges. */
static const struct {
	int id;
	const char *name;
	unsigned long min, max;
	size_t offset; /* of its struct num_opt in struct probe_opts */
} numeric_options[] = {
    {'p', "--port", 1, 65535, offsetof(struct probe_opts, port)},
    {OPT_TIMEOUT, "--timeout", 1, TIMEOUT_MAX_S, offsetof(struct probe_opts, timeout)},
    {OPT_CONNECT_TIMEOUT, "--connect-timeout", 1, TIMEOUT_MAX_S,
     offsetof(struct probe_opts, connect_timeout)},
    {OPT_BANNER_TIMEOUT, "--banner-timeout", 1, TIMEOUT_MAX_S,
     offsetof(struct probe_opts, banner_timeout)},
    {OPT_RETRY_AFTER, "--retry-after", 0, TIMEOUT_MAX_S, offsetof(struct probe_opts, retry_after)},
    {OPT_SESSION_ERRORS, "--session-errors", 1, 100, offsetof(struct probe_opts, session_errors)},
    {OPT_PAUSE, "--pause", 0, 600000, offsetof(struct probe_opts, pause)},
    {OPT_RATE, "--rate", 0, 1000000, offsetof(struct probe_opts, rate)},
    {OPT_CONCURRENCY, "--concurrency", 1, RP_DIALOGS_MAX, offsetof(struct probe_opts, concurrency)},
    {OPT_CANARY_WAIT, "--canary-wait", 0, 7 * 86400, offsetof(struct probe_opts, canary_wait)},
};

/* Options without a value: each sets its flag. */
static const struct {
	int id;
	size_t offset; /* of its bool in struct probe_opts */
} flag_options[] = {
    {OPT_DATA, offsetof(struct probe_opts, data)},
    {OPT_NO_MX, offsetof(struct probe_opts, no_mx)},
    {OPT_JSON, offsetof(struct probe_opts, json)},
    {OPT_TRANSCRIPT, offsetof(struct probe_opts, transcript)},
    {'q', offsetof(struct probe_opts, quiet)},
    {'v', offsetof(struct probe_opts, verbose)},
    {OPT_EXPLAIN, offsetof(struct probe_opts, explain)},
};

/* State of one run, passed to the engine callbacks. */
struct run_state {
	const struct probe_opts *o;
	bool show_progress;
	bool progress_dirty; /* a progress line is on the terminal */
	size_t results, open, inconclusive, closed, excluded;
	size_t target_col;            /* the TARGET column's width (text_col.h) */
	struct vantage_tally vantage; /* port 25 blocked here? */
};

static struct engine *volatile g_engine;
static volatile sig_atomic_t g_stopped;

static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void errorf(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	struct engine_params ep;
	const struct dialog_params *dp = &ep.dialog;
	size_t nsets = 0;
	const struct relay_test_set *sets = relay_test_sets(&nsets);

	engine_params_defaults(&ep);
	fprintf(
	    out,
	    "usage: relayprobe probe [options] TARGET...\n"
	    "\n"
	    "Test SMTP servers for open relaying from this machine. TARGET is host,\n"
	    "host:port, an IPv4 address (192.0.2.25, 192.0.2.25:587), an IPv6 address\n"
	    "([2001:db8::25]:25, or bare 2001:db8::25 with the default port), or a mail\n"
	    "domain (example.com: every MX host and every address is probed). '-' reads\n"
	    "targets from standard input.\n"
	    "\n"
	    "Connection:\n"
	    "  -p, --port N             port for targets without one (default %d;\n"
	    "                           465 implies --tls implicit unless --tls is given)\n"
	    "      --tls POLICY         auto (STARTTLS when offered), require (no tests\n"
	    "                           without TLS), off, implicit (TLS from the first\n"
	    "                           byte) (default auto)\n"
	    "      --bind ADDR          source address for connections (default: any)\n"
	    "      --no-mx              do not resolve names through MX; probe the name's\n"
	    "                           own A/AAAA addresses (default: MX first)\n"
	    "      --resolv-conf FILE   take DNS servers from FILE's nameserver lines\n"
	    "                           (default /etc/resolv.conf)\n"
	    "\n"
	    "The test messages:\n"
	    "      --ehlo NAME          EHLO/HELO name (default: this machine's host name\n"
	    "                           when it is a dotted name, else %s)\n"
	    "      --from ADDR          sender; its local part is F in the tests\n"
	    "                           (default relayprobe@EHLO-NAME)\n"
	    "      --to ADDR            external recipient; T@D in the tests\n"
	    "                           (default %s). Use a domain you\n"
	    "                           control: servers that check recipient domains\n"
	    "                           reject reserved ones and hide an open relay\n"
	    "      --local-domain DOM   the target's own mail domain L (default: the MX\n"
	    "                           domain, or the parent of the server's name)\n"
	    "      --tests SPEC         comma-separated test ids and set names (default %s);\n"
	    "                           '--tests list' prints the catalogue and the sets\n"
	    "      --data               after an accepted RCPT, send a small test message\n"
	    "                           and judge the end-of-DATA reply (default: no DATA)\n"
	    "\n"
	    "Proof by delivery (docs/canary.md):\n"
	    "      --canary ADDR:PORT   run a canary SMTP listener on ADDR:PORT for this run;\n"
	    "                           implies --data; each test gets its own tokens\n"
	    "                           (rp-<token>@DOMAIN) and a message that arrives makes\n"
	    "                           the verdict open-confirmed, one accepted through DATA\n"
	    "                           that never arrives accepted-not-delivered; adds the\n"
	    "                           backscatter-probe test\n"
	    "      --canary-domain D    the canary's domain (its MX must point at ADDR, or\n"
	    "                           the tested servers route D there); needed with --canary\n"
	    "      --canary-wait S      wait up to S seconds after the last dialog for the\n"
	    "                           messages to arrive (default 60)\n"
	    "\n"
	    "Timing and politeness:\n"
	    "      --timeout S          each command's reply (default %u s); also raises\n"
	    "                           the banner timeout to max(60, S) and the end-of-\n"
	    "                           DATA timeout to max(%u, S)\n"
	    "      --connect-timeout S  TCP connect, and TLS handshake on 465 (default %u s)\n"
	    "      --banner-timeout S   greeting, tarpit patience (default %u s)\n"
	    "      --retry-after S      wait before retrying tests that got 4xx (default %u s)\n"
	    "      --session-errors N   rejections per session before the remaining tests\n"
	    "                           go to a new session (default %u)\n"
	    "      --pause MS           pause between two sessions to one address\n"
	    "                           (default %u ms)\n"
	    "      --rate N             new connections per second, 0 = unlimited\n"
	    "                           (default %.0f)\n"
	    "      --concurrency N      dialogs in flight (default %u)\n"
	    "\n"
	    "Input and output:\n"
	    "      --targets FILE       read targets from FILE, one per line; '#' starts a\n"
	    "                           comment; '-' is standard input (may be repeated)\n"
	    "      --exclude FILE       a do-not-test list: one address, CIDR block or\n"
	    "                           domain a line, then its reason; a target or an\n"
	    "                           address it resolves to that the list covers is\n"
	    "                           reported \"excluded\", never connected to (may be\n"
	    "                           repeated)\n"
	    "      --json               JSON Lines on standard output: one object per\n"
	    "                           dialog, with its transcript (docs/json-output.md)\n"
	    "      --transcript         text mode: print each dialog's transcript\n"
	    "      --explain            text mode: under each finding's one-line fix\n"
	    "                           (software: NAME (confidence) - fix: ...), the full\n"
	    "                           advice and the lines the software guess rests on\n"
	    "  -q, --quiet              no warnings, progress, header or summary\n"
	    "  -v, --verbose            text mode: one line per test under each dialog\n"
	    "  -h, --help               this help\n"
	    "\n"
	    "Test sets for --tests:\n",
	    DEFAULT_PORT, TARGET_FALLBACK_EHLO, DEFAULT_TO, DEFAULT_TESTS, dp->command_ms / 1000,
	    dp->data_ms / 1000, dp->connect_ms / 1000, dp->banner_ms / 1000,
	    dp->retry_after_ms / 1000, dp->session_errors, ep.pause_ms, ep.rate, ep.concurrency);
	for (size_t i = 0; i < nsets; i++)
		fprintf(out, "  %-10s %s\n", sets[i].name, sets[i].desc);
	fprintf(out,
	        "\n"
	        "Verdicts: open-confirmed, open, accepted-not-delivered, closed, auth-required,\n"
	        "tls-required, tempfail, blocked, unreachable, error (open-confirmed and\n"
	        "accepted-not-delivered need --canary).\n"
	        "\n"
	        "Exit status: 0 no open relay found, 1 at least one open relay, 2 usage or\n"
	        "input error, 3 nothing open but some results inconclusive (tempfail,\n"
	        "blocked, unreachable, error, unresolvable target, or interrupted).\n");
}

static void list_tests(void)
{
	size_t n = 0, nsets = 0;
	const struct relay_test_def *cat = relay_tests_all(&n);
	const struct relay_test_set *sets = relay_test_sets(&nsets);
	char mail[64], rcpt[64];

	printf("%-20s %-16s %-18s %-10s %s\n", "ID", "MAIL FROM", "RCPT TO", "CONFIDENCE",
	       "MEANING OF A 2XX TO RCPT");
	for (size_t i = 0; i < n; i++) {
		snprintf(mail, sizeof(mail), "<%s>", cat[i].mail_tmpl);
		snprintf(rcpt, sizeof(rcpt), "<%s>", cat[i].rcpt_tmpl);
		printf("%-20s %-16s %-18s %-10s %s\n", cat[i].id, mail, rcpt,
		       cat[i].conf == RT_CONF_HIGH ? "high" : "medium", cat[i].meaning);
	}
	printf("\n{F} sender local part, {T}@{D} the --to address, {S} the server's name,\n"
	       "{L} its mail domain, {IP} its address literal.\n\nSets:\n");
	for (size_t i = 0; i < nsets; i++)
		printf("  %-10s %s: %s\n", sets[i].name, sets[i].desc, sets[i].ids);
}

/* Returns 0 when id is a numeric option and its value is good, -1 when it
 * is bad (error printed), 1 when id is not a numeric option. */
static int parse_numeric_option(int id, const char *arg, struct probe_opts *o)
{
	for (size_t i = 0; i < sizeof(numeric_options) / sizeof(numeric_options[0]); i++) {
		struct num_opt *n;
		if (numeric_options[i].id != id)
			continue;
		n = (struct num_opt *)((char *)o + numeric_options[i].offset);
		if (cli_parse_seconds(PROG, numeric_options[i].name, arg, numeric_options[i].min,
		                      numeric_options[i].max, &n->value) < 0)
			return -1;
		n->given = true;
		return 0;
	}
	return 1;
}

/* Sets the flag of option id; false when id is not a flag option. */
static bool set_flag(int id, struct probe_opts *o)
{
	for (size_t i = 0; i < sizeof(flag_options) / sizeof(flag_options[0]); i++) {
		if (flag_options[i].id == id) {
			*(bool *)((char *)o + flag_options[i].offset) = true;
			return true;
		}
	}
	return false;
}

/* "local@domain" into its parts (the rule: rp_mailbox_split, address
 * literals admitted); -1 with the error printed. */
static int parse_mailbox(const char *opt, const char *s, char *local, size_t local_len,
                         char *domain, size_t domain_len)
{
	if (rp_mailbox_split(s, local, local_len, domain, domain_len, RP_MAILBOX_LITERAL) == 0)
		return 0;
	errorf("%s: \"%s\" is not an address (%s)", opt, s, RP_MAILBOX_RULE);
	return -1;
}

/* --exclude FILE: its entries join the list (FILE:LINE errors). */
static int load_exclude(struct probe_opts *o, const char *path)
{
	char err[512];

	if (o->exclude == NULL && (o->exclude = exclude_new()) == NULL) {
		errorf("--exclude: out of memory");
		return -1;
	}
	if (exclude_load_file(o->exclude, path, err, sizeof(err)) < 0) {
		errorf("--exclude: %s", err);
		return -1;
	}
	return 0;
}

/* The engine's scope filter: a target's name (before it is resolved), an
 * address, or the host name it came from (an MX host, a name resolved), that
 * the --exclude list covers is excluded. */
static enum engine_scope probe_scope(const struct sockaddr *sa, socklen_t len, const char *host,
                                     char *why, size_t whylen, void *arg)
{
	(void)len;
	return exclude_check(arg, sa, host, why, whylen) ? ENGINE_SCOPE_EXCLUDE
	                                                 : ENGINE_SCOPE_ALLOW;
}

/* Returns 0, 1 when --help or --tests list was handled, -1 on a usage error. */
static int parse_options(int argc, char **argv, struct probe_opts *o)
{
	const char *from = NULL, *to = DEFAULT_TO;
	bool ehlo_given = false;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->port.value = DEFAULT_PORT;
	o->tls = DLG_TLS_AUTO;
	o->tests_spec = DEFAULT_TESTS;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, SHORT_OPTIONS, long_options, NULL)) != -1) {
		const char *arg = optarg;
		switch (c) {
		case OPT_TLS: {
			int p = dialog_tls_policy_from_name(arg);
			if (p < 0) {
				errorf("--tls: \"%s\" is not one of auto, require, off, implicit",
				       arg);
				return -1;
			}
			o->tls = (enum dialog_tls_policy)p;
			o->tls_given = true;
			break;
		}
		case OPT_BIND: {
			unsigned char addr[16];
			if (inet_pton(AF_INET, arg, addr) != 1 &&
			    inet_pton(AF_INET6, arg, addr) != 1) {
				errorf("--bind: \"%s\" is not an IPv4 or IPv6 address", arg);
				return -1;
			}
			o->bind = arg;
			break;
		}
		case OPT_EHLO:
			if (!rp_ehlo_ok(arg)) {
				errorf("--ehlo: \"%s\" is not a host name or [address] literal",
				       arg);
				return -1;
			}
			snprintf(o->ehlo, sizeof(o->ehlo), "%s", arg);
			ehlo_given = true;
			break;
		case OPT_FROM:
			from = arg;
			break;
		case OPT_TO:
			to = arg;
			break;
		case OPT_LOCAL_DOMAIN:
			if (!target_hostname_ok(arg)) {
				errorf("--local-domain: \"%s\" is not a domain name", arg);
				return -1;
			}
			o->local_domain = arg;
			break;
		case OPT_TESTS:
			o->tests_spec = arg;
			break;
		case OPT_CANARY: {
			const char *colon = strrchr(arg, ':');
			unsigned long port = 0;

			/* the listener checks the address itself when it binds */
			if (colon == NULL || colon == arg ||
			    cli_parse_seconds(PROG, "--canary", colon + 1, 0, 65535, &port) < 0) {
				errorf("--canary: \"%s\" is not ADDR:PORT or [IPV6]:PORT", arg);
				return -1;
			}
			o->canary = arg;
			break;
		}
		case OPT_CANARY_DOMAIN:
			if (!target_hostname_ok(arg) || strchr(arg, '.') == NULL ||
			    strlen(arg) > RP_DOMAIN_MAX) {
				errorf("--canary-domain: \"%s\" is not a domain name", arg);
				return -1;
			}
			snprintf(o->canary_domain, sizeof(o->canary_domain), "%s", arg);
			break;
		case OPT_RESOLV_CONF:
			if (access(arg, R_OK) != 0) {
				errorf("--resolv-conf: cannot read \"%s\": %s", arg,
				       strerror(errno));
				return -1;
			}
			o->resolv_conf = arg;
			break;
		case OPT_TARGETS:
			if (o->ntarget_files ==
			    sizeof(o->target_files) / sizeof(o->target_files[0])) {
				errorf("--targets: at most %zu files",
				       sizeof(o->target_files) / sizeof(o->target_files[0]));
				return -1;
			}
			o->target_files[o->ntarget_files++] = arg;
			break;
		case OPT_EXCLUDE:
			if (load_exclude(o, arg) < 0)
				return -1;
			break;
		default:
			rc = parse_numeric_option(c, arg, o);
			if (rc == 0 || (rc > 0 && set_flag(c, o)))
				break;
			if (rc > 0 && (rc = cli_option_rest(PROG, c, argv, NULL)) > 0)
				usage(stdout);
			return rc;
		}
	}

	if (strcmp(o->tests_spec, "list") == 0) {
		list_tests();
		return 1;
	}
	if (!ehlo_given)
		target_default_ehlo(o->ehlo, sizeof(o->ehlo));
	if (from == NULL) {
		snprintf(o->from, sizeof(o->from), "relayprobe@%s", o->ehlo);
		from = o->from;
	}
	if (parse_mailbox("--from", from, o->from_local, sizeof(o->from_local), NULL, 0) < 0)
		return -1;
	if (from != o->from)
		snprintf(o->from, sizeof(o->from), "%s", from);
	if (parse_mailbox("--to", to, o->to_local, sizeof(o->to_local), o->to_domain,
	                  sizeof(o->to_domain)) < 0)
		return -1;
	snprintf(o->to, sizeof(o->to), "%s", to);
	if (o->port.value == 465 && !o->tls_given)
		o->tls = DLG_TLS_IMPLICIT;
	if ((o->canary != NULL) != (o->canary_domain[0] != '\0')) {
		errorf(o->canary ? "--canary needs --canary-domain"
		                 : "--canary-domain needs --canary");
		return -1;
	}
	if (o->canary != NULL) {
		o->data = true;
		snprintf(o->to_domain, sizeof(o->to_domain), "%s", o->canary_domain);
		snprintf(o->to, sizeof(o->to), "rp-<token>@%s", o->canary_domain);
		if (!o->canary_wait.given)
			o->canary_wait.value = 60;
	}
	return 0;
}

static unsigned ms(unsigned long s)
{
	return (unsigned)(s * 1000);
}

static void build_params(const struct probe_opts *o, struct engine_params *ep, const size_t *tests,
                         size_t ntests)
{
	struct dialog_params *dp = &ep->dialog;

	engine_params_defaults(ep);
	dp->ehlo_name = o->ehlo;
	dp->from_local = o->from_local;
	dp->to_local = o->to_local;
	dp->to_domain = o->to_domain;
	dp->local_domain = o->local_domain;
	dp->tests = tests;
	dp->ntests = ntests;
	dp->tls = o->tls;
	dp->send_data = o->data;
	if (o->session_errors.given)
		dp->session_errors = (unsigned)o->session_errors.value;
	if (o->retry_after.given)
		dp->retry_after_ms = ms(o->retry_after.value);
	if (o->connect_timeout.given)
		dp->connect_ms = ms(o->connect_timeout.value);
	if (o->timeout.given) {
		unsigned long t = o->timeout.value;
		dp->command_ms = ms(t);
		dp->banner_ms = ms(t > 60 ? t : 60);
		if (dp->data_ms < dp->command_ms)
			dp->data_ms = dp->command_ms;
	}
	if (o->banner_timeout.given)
		dp->banner_ms = ms(o->banner_timeout.value);
	if (o->pause.given)
		ep->pause_ms = (unsigned)o->pause.value;
	if (o->rate.given)
		ep->rate = (double)o->rate.value;
	if (o->concurrency.given)
		ep->concurrency = (unsigned)o->concurrency.value;
	ep->bind_addr = o->bind;
	ep->use_mx = !o->no_mx;
	ep->resolv_conf = o->resolv_conf;
}

/* ---- targets ---------------------------------------------------------- */

static size_t g_target_col; /* widest name the targets may show */
static bool g_use_mx;

/* Takes a target into the engine (in->arg), at most RP_TARGETS_MAX. A target
 * whose host the --exclude list covers is refused by probe_scope, before any
 * lookup. */
static int probe_add(struct target_input *in, const struct target_spec *t)
{
	bool via_mx = g_use_mx && t->family == 0 && !t->port_given;

	g_target_col = text_col_fit(g_target_col, text_col_target_estimate(t->host, via_mx));
	if (in->count >= RP_TARGETS_MAX || engine_add(in->arg, t) < 0) {
		errorf("too many targets (at most %d)", RP_TARGETS_MAX);
		return -1;
	}
	return 0;
}

/* ---- output ----------------------------------------------------------- */

/* Print s with control and non-ASCII bytes replaced, so that a server's
 * words cannot drive the terminal. */
static void put_clean(const char *s, FILE *out)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		fputc(c < 0x20 || c >= 0x7f ? '?' : c, out);
	}
}

static void clear_progress(struct run_state *st)
{
	if (st->progress_dirty) {
		fputs("\r\033[K", stderr);
		st->progress_dirty = false;
	}
}

static void on_progress(size_t queued, size_t running, size_t done, void *arg)
{
	struct run_state *st = arg;

	if (!st->show_progress)
		return;
	fprintf(stderr, "\r[%zu/%zu] running %zu\033[K", done, queued + running + done, running);
	fflush(stderr);
	st->progress_dirty = true;
}

static void print_header(size_t target_col, int verdict_col)
{
	text_col_put(stdout, "TARGET", target_col);
	printf(" %-*s %-*s %s\n", ADDRESS_COL, "ADDRESS:PORT", verdict_col, "VERDICT",
	       "ACCEPTED / REASON");
}

static void print_accepted(const struct dialog *d, FILE *out)
{
	size_t n = 0, ncat = 0, shown = 0;
	const struct dialog_test_result *res = dialog_results(d, &n);
	const struct relay_test_def *cat = relay_tests_all(&ncat);

	for (size_t i = 0; i < n; i++) {
		if (res[i].outcome != TO_ACCEPTED || res[i].test >= ncat)
			continue;
		fprintf(out, "%s%s", shown++ ? "," : "", cat[res[i].test].id);
	}
	if (shown == 0)
		fputs("-", out);
}

static void print_tests(const struct dialog *d, FILE *out)
{
	size_t n = 0, ncat = 0;
	const struct dialog_test_result *res = dialog_results(d, &n);
	const struct relay_test_def *cat = relay_tests_all(&ncat);

	for (size_t i = 0; i < n; i++) {
		const struct dialog_test_result *t = &res[i];
		struct tr_entry e;
		const char *reply = "";

		if (t->evidence >= 0 &&
		    transcript_get(dialog_transcript(d), (size_t)t->evidence, &e) == 0)
			reply = e.text;
		else if (t->reason)
			reply = t->reason;
		fprintf(out, "    %-20s %-9s ", t->test < ncat ? cat[t->test].id : "?",
		        test_outcome_name(t->outcome));
		put_clean(reply, out);
		fputc('\n', out);
	}
}

static void print_text(struct run_state *st, const struct probe_result *r)
{
	const struct dialog *d = r->dialog;
	char name[RP_DOMAIN_MAX * 2 + 64], addr[INET6_ADDRSTRLEN + 16], verdict[40];
	const char *reason = r->reason;

	if (r->mx_domain != NULL && r->host != NULL)
		snprintf(name, sizeof(name), "%s (MX of %s, pref %d)", r->host, r->mx_domain,
		         r->mx_pref);
	else
		snprintf(name, sizeof(name), "%s", r->target);
	if (r->address == NULL)
		snprintf(addr, sizeof(addr), "-");
	else if (strchr(r->address, ':') != NULL)
		snprintf(addr, sizeof(addr), "[%s]:%u", r->address, (unsigned)r->port);
	else
		snprintf(addr, sizeof(addr), "%s:%u", r->address, (unsigned)r->port);
	if (verdict_is_open(r->verdict) && d != NULL && dialog_confidence(d) != RT_CONF_HIGH)
		snprintf(verdict, sizeof(verdict), "%s (medium)", dialog_verdict_name(r->verdict));
	else
		snprintf(verdict, sizeof(verdict), "%s", dialog_verdict_name(r->verdict));

	text_col_put(stdout, name, st->target_col);
	printf(" %-*s %-*s ", ADDRESS_COL, addr, VERDICT_COL, verdict);
	if (verdict_is_open(r->verdict) && d != NULL) {
		print_accepted(d, stdout);
	} else {
		if ((reason == NULL || reason[0] == '\0') && d != NULL)
			reason = dialog_verdict_reason(d);
		put_clean(reason && reason[0] ? reason : "-", stdout);
	}
	putchar('\n');
	probe_advice_text(r, st->o->explain, stdout);
	if (d != NULL && st->o->verbose)
		print_tests(d, stdout);
	if (d != NULL && st->o->transcript) {
		transcript_render_text(dialog_transcript(d), stdout);
		putchar('\n');
	}
}

static void print_json(const struct probe_result *r)
{
	if (probe_advice_write_json(r, stdout) < 0)
		errorf("%s: out of memory writing JSON", r->target);
}

static struct probe_canary *g_canary; /* --canary: results held for it */

static void on_result(const struct probe_result *r, void *arg)
{
	struct run_state *st = arg;

	clear_progress(st);
	st->results++;
	vantage_tally_result(&st->vantage, r);
	if (g_canary != NULL) {
		probe_canary_add(g_canary, r); /* printed with the canary's verdict */
		return;
	}
	if (verdict_is_open(r->verdict))
		st->open++;
	else if (verdict_is_excluded(r->verdict))
		st->excluded++; /* never probed: not a server verdict */
	else if (r->dialog == NULL || verdict_inconclusive(r->verdict))
		st->inconclusive++;
	else
		st->closed++;
	if (st->o->json)
		print_json(r);
	else
		print_text(st, r);
	fflush(stdout);
}

/* ---- run -------------------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;
	g_stopped = 1;
	if (g_engine != NULL)
		engine_stop(g_engine);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second ^C kills */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void restore_signals(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

static void warn_reserved(const struct probe_opts *o)
{
	if (o->quiet || !target_domain_reserved(o->to_domain))
		return;
	fprintf(stderr,
	        "warning: recipient domain %s is reserved (RFC 2606) \u2014 servers that check "
	        "recipient domains will reject it and hide an open relay; use --to with a domain "
	        "you control\n",
	        o->to_domain);
}

static void on_recipient_dns(void *arg, const struct dns_answer *a)
{
	char *why = arg;
	size_t addrs = 0;

	for (size_t i = 0; i < a->nhosts; i++)
		addrs += a->hosts[i].naddr;
	if (a->null_mx)
		snprintf(why, 160, "it publishes a null MX: it accepts no mail");
	else if (a->reason != NULL)
		snprintf(why, 160, "%s", a->reason);
	else if (addrs == 0)
		snprintf(why, 160, "%s", a->nhosts ? a->hosts[0].reason : "no address");
	else
		why[0] = '\0';
	why[159] = '\0';
}

/* Servers that verify recipient domains (Postfix reject_unknown_recipient_
 * domain, Exim verify = recipient) refuse a --to domain that does not resolve,
 * and that refusal looks like "closed". One lookup, before the run, only when
 * its warning could be shown. */
static void warn_unresolvable(const struct probe_opts *o)
{
	char err[160], why[160] = "DNS: timeout";
	struct dns *d = NULL;
	int epfd;
	uint64_t until = engine_now_ms() + 8000;

	if (o->quiet || target_domain_reserved(o->to_domain) || o->to_domain[0] == '[')
		return; /* reserved, or an address literal: nothing to look up */
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return;
	d = dns_new(epfd, 3000, o->resolv_conf, err, sizeof(err));
	if (d != NULL && dns_resolve(d, o->to_domain, true, on_recipient_dns, why) == 0) {
		while (dns_pending(d) > 0 && engine_now_ms() < until) {
			struct epoll_event evs[8];
			int wait = dns_wait_ms(d), n;

			n = epoll_wait(epfd, evs, 8, wait < 0 || wait > 500 ? 500 : wait);
			for (int i = 0; i < n; i++)
				dns_process(d, DNS_EPOLL_FD(evs[i].data.u64), evs[i].events);
			if (n == 0)
				dns_process(d, -1, 0);
		}
		dns_free(&d);
		if (why[0] != '\0')
			fprintf(stderr,
			        "warning: recipient domain %s does not resolve (%s); servers that "
			        "check recipient domains will reject it and hide an open relay\n",
			        o->to_domain, why);
	}
	dns_free(&d);
	close(epfd);
}

/* Said even with -q: every "unreachable" above is then about this vantage. */
static void say_port25_blocked(const struct run_state *st)
{
	char line[128];

	if (!vantage_port25_blocked(&st->vantage))
		return;
	vantage_blocked_line(&st->vantage, line, sizeof(line));
	if (st->o->json)
		printf("{\"vantage\":{\"port25_blocked\":true,\"connects\":%u,\"timed_out\":%u,"
		       "\"message\":\"%s\"}}\n",
		       st->vantage.connects, st->vantage.timed_out, line);
	else
		fprintf(stderr, "%s\n", line);
	fflush(stdout);
}

static int exit_status(const struct run_state *st, bool incomplete)
{
	if (st->open > 0)
		return EXIT_OPEN;
	if (st->inconclusive > 0 || incomplete || st->results == st->excluded)
		return EXIT_INCONCLUSIVE;
	return EXIT_NO_OPEN;
}

int probe_main(int argc, char **argv)
{
	struct probe_opts o;
	struct engine_params ep;
	struct engine *e = NULL;
	struct target_input in = {.prog = PROG, .add = probe_add};
	struct run_state st;
	size_t tests[RP_TESTS_MAX], ntests = 0;
	char err[256];
	int rc, status = EXIT_USAGE;

	rc = parse_options(argc, argv, &o);
	if (rc != 0) {
		exclude_free(&o.exclude);
		return rc > 0 ? EXIT_NO_OPEN : EXIT_USAGE;
	}
	if (relay_tests_select(o.tests_spec, tests, RP_TESTS_MAX, &ntests, err, sizeof(err)) < 0) {
		errorf("--tests: %s", err);
		exclude_free(&o.exclude);
		return EXIT_USAGE;
	}
	if (ntests == 0) {
		errorf("--tests: \"%s\" selects no test", o.tests_spec);
		exclude_free(&o.exclude);
		return EXIT_USAGE;
	}
	if (o.canary != NULL) {
		/* the canary's own finding joins the tests */
		int bs = relay_test_index("backscatter-probe");
		bool have = false;

		for (size_t i = 0; i < ntests; i++)
			have = have || tests[i] == (size_t)bs;
		if (!have && bs >= 0 && ntests < RP_TESTS_MAX)
			tests[ntests++] = (size_t)bs;
	}

	memset(&st, 0, sizeof(st));
	st.o = &o;
	st.show_progress = !o.quiet && isatty(STDERR_FILENO);
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* JSON Lines at 10 MB/s */
	build_params(&o, &ep, tests, ntests);
	ep.progress = on_progress;
	ep.progress_arg = &st;
	if (o.exclude != NULL) {
		ep.scope = probe_scope;
		ep.scope_arg = o.exclude;
	}
	if (o.canary != NULL) {
		g_canary = probe_canary_start(o.canary, o.canary_domain, err, sizeof(err));
		if (g_canary == NULL) {
			errorf("--canary: %s", err);
			exclude_free(&o.exclude);
			return EXIT_USAGE;
		}
		ep.locals = probe_canary_locals;
		ep.locals_arg = g_canary;
	}

	e = engine_new(&ep, err, sizeof(err));
	if (e == NULL) {
		errorf("%s", err);
		probe_canary_stop(&g_canary);
		exclude_free(&o.exclude);
		return EXIT_USAGE;
	}
	in.arg = e;
	in.port = (uint16_t)o.port.value;
	g_target_col = text_col_fit(0, 0);
	g_use_mx = ep.use_mx;
	if (target_input_collect(&in, o.target_files, o.ntarget_files, argc, argv) < 0)
		goto out;
	st.target_col = g_target_col;
	if (g_canary != NULL)
		probe_canary_set_target_col(g_canary, g_target_col);

	if (o.canary == NULL) { /* the canary's domain is the operator's own */
		warn_reserved(&o);
		warn_unresolvable(&o);
	}
	if (o.verbose && !o.quiet)
		fprintf(stderr,
		        "probing %zu target%s: %zu tests, ehlo %s, from <%s>, to <%s>, tls %s\n",
		        in.count, in.count == 1 ? "" : "s", ntests, o.ehlo, o.from, o.to,
		        dialog_tls_policy_name(o.tls));
	if (!o.json && !o.quiet)
		print_header(st.target_col,
		             o.canary != NULL ? 22 : VERDICT_COL); /* accepted-not-delivered */
	fflush(stdout);

	g_engine = e;
	install_signals();
	rc = engine_run(e, on_result, &st);
	restore_signals();
	g_engine = NULL;
	clear_progress(&st);
	if (rc < 0)
		errorf("the probe engine failed; results are incomplete");
	if (g_stopped)
		errorf("interrupted; results are incomplete");
	if (g_canary != NULL) {
		if (!o.quiet && !o.json)
			fprintf(stderr,
			        "waiting up to %lu s for the test messages to reach the canary\n",
			        o.canary_wait.value);
		install_signals();
		probe_canary_finish(g_canary, (unsigned)o.canary_wait.value, &g_stopped, o.json,
		                    o.verbose, o.transcript, &st.open, &st.closed,
		                    &st.inconclusive);
		restore_signals();
	}

	say_port25_blocked(&st);
	if (!o.quiet) {
		FILE *out = o.json ? stderr : stdout;
		fprintf(out, "%zu dialog%s: %zu open, %zu closed, %zu inconclusive", st.results,
		        st.results == 1 ? "" : "s", st.open, st.closed, st.inconclusive);
		if (st.excluded > 0)
			fprintf(out, ", %zu excluded", st.excluded);
		fputc('\n', out);
	}
	status = exit_status(&st, rc < 0 || g_stopped);
out:
	engine_free(&e);
	probe_canary_stop(&g_canary);
	exclude_free(&o.exclude);
	return status;
}
