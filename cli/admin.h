/* admin.h - the CLI's client for the controller's admin socket
 * (docs/distributed.md): one ZeroMQ REQ socket per request to an ipc://
 * endpoint, one JSON object sent, one JSON reply read within a timeout and
 * at most RP_ADMIN_MSG_MAX bytes. Shared --admin/--admin-timeout options and
 * the exit statuses of the controller commands. */
#ifndef RP_CLI_ADMIN_H
#define RP_CLI_ADMIN_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "admin_proto.h" /* the command names: admin_cmd_name() */

#define ADMIN_DEFAULT_ENDPOINT  "ipc:///run/relayprobe/admin.sock"
#define ADMIN_ENV               "RELAYPROBE_ADMIN"
#define ADMIN_DEFAULT_TIMEOUT_S 10
#define ADMIN_TIMEOUT_MAX_S     3600

/* Exit statuses of the commands that talk to the controller. */
enum cli_exit {
	CLI_EXIT_OK = 0,           /* done; for reports: no open relay */
	CLI_EXIT_OPEN = 1,         /* a report with an open relay */
	CLI_EXIT_USAGE = 2,        /* bad options or input, or the controller refused */
	CLI_EXIT_UNREACHABLE = 3,  /* controller unreachable or its reply unusable; */
	CLI_EXIT_INCONCLUSIVE = 3, /* for reports: nothing open, something inconclusive */
};

/* getopt_long ids of the shared options (above any command's own ids). */
enum { ADMIN_OPT_ENDPOINT = 1000, ADMIN_OPT_TIMEOUT, CLI_OPT_HELP };

/* --help, which every command takes (with -h): see cli_option_rest(). */
#define CLI_HELP_OPTION                                                                            \
	{                                                                                          \
		"help", no_argument, NULL, CLI_OPT_HELP                                            \
	}

#define ADMIN_LONG_OPTIONS                                                                         \
	{"admin", required_argument, NULL, ADMIN_OPT_ENDPOINT},                                    \
	{                                                                                          \
		"admin-timeout", required_argument, NULL, ADMIN_OPT_TIMEOUT                        \
	}

#define ADMIN_OPTIONS_HELP                                                                         \
	"      --admin ENDPOINT     the controller's admin socket (default:\n"                     \
	"                           $" ADMIN_ENV ", else\n"                                        \
	"                           " ADMIN_DEFAULT_ENDPOINT ")\n"                                 \
	"      --admin-timeout S    give up waiting for one reply after S seconds\n"               \
	"                           (default 10)\n"

#define ADMIN_EXIT_HELP                                                                            \
	"Exit status: 2 on a usage error or when the controller refuses the request\n"             \
	"(its reason is printed), 3 when the controller cannot be reached or its\n"                \
	"reply is unusable.\n"

struct admin_cfg {
	const char *endpoint;
	unsigned long timeout_s;
};

/* Endpoint from $RELAYPROBE_ADMIN when set and not empty, else the default. */
void admin_cfg_defaults(struct admin_cfg *c);
/* Handles --admin and --admin-timeout: 0 when taken, -1 when the value is
 * bad (error printed, prefixed with prog), 1 when id is not one of them. */
int admin_cfg_option(struct admin_cfg *c, int id, const char *arg, const char *prog);
/* Checks an endpoint given through the environment (the option checks its
 * own): -1 with the error printed. */
int admin_cfg_check(const struct admin_cfg *c, const char *prog);

/* A reply: the parsed object (ok is true) and its raw bytes (NUL-terminated). */
struct admin_answer {
	json_t *json;
	char *raw;
	size_t rawlen;
	bool answered; /* a reply came, also when it was not usable */
};

struct admin;

/* A client for c->endpoint (borrowed, must outlive it). NULL on failure with
 * the error printed. */
struct admin *admin_new(const struct admin_cfg *c);
void admin_free(struct admin **a);

/* Sends req (borrowed) and waits for the reply. Returns CLI_EXIT_OK with
 * *out filled (free with admin_reply_clear), CLI_EXIT_USAGE when the
 * controller answered ok:false (its error printed), CLI_EXIT_UNREACHABLE
 * when no reply came in time or it was not a JSON object with a boolean
 * "ok" (error printed). */
int admin_call(struct admin *a, json_t *req, struct admin_answer *out);
void admin_reply_clear(struct admin_answer *r);
/* The reply's raw bytes and a newline (what --json prints). */
void admin_print_raw(const struct admin_answer *r, FILE *out);

/* One-shot: admin_new, admin_call, admin_free. */
int admin_request(const struct admin_cfg *c, json_t *req, struct admin_answer *out);

/* Strict seconds option: digits only, min..max. -1 with the error printed. */
int cli_parse_seconds(const char *prog, const char *opt, const char *s, unsigned long min,
                      unsigned long max, unsigned long *out);
/* An unknown option or missing value, after getopt_long returned '?' or ':'. */
void cli_bad_option(const char *prog, int c, char **argv);
/* An option of a shared table (name, without "--") that this command does
 * not take: reported as unknown, like one of no table. */
void cli_option_not_taken(const char *prog, const char *name);
/* The end of every command's option switch, for the getopt_long result c
 * that the command's own cases did not take: 1 for -h/--help (the caller
 * prints its help), 0 when cfg (may be NULL: no admin options) took
 * --admin/--admin-timeout, -1 on a bad value, an unknown option or a
 * missing value (error printed, prefixed with prog). */
int cli_option_rest(const char *prog, int c, char **argv, struct admin_cfg *cfg);

#endif
