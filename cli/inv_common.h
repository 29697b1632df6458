/* inv_common.h - what targets, schedule, history, events, hooks and retention
 * (cmd_targets.c ... cmd_retention.c) share: one option table (theirs and the
 * admin options of admin.h), the parse of it, the shared part of their --help,
 * the request that prints the raw reply with --json, and inv_main(), which
 * runs one of them from its table entry (struct inv_command). */
#ifndef RP_CLI_INV_COMMON_H
#define RP_CLI_INV_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include "admin.h"

/* The getopt ids of the shared table, those with a value first. A command
 * takes --json, --help, the admin options and those of its
 * inv_command.options (INV_BIT() of each); the others are refused as unknown. */
enum {
	INV_OPT_CLIENT = 256,
	INV_OPT_TAG,
	INV_OPT_EVERY,
	INV_OPT_AT,
	INV_OPT_VANTAGES,
	INV_OPT_TESTS,
	INV_OPT_REASON,
	INV_OPT_BY,
	INV_OPT_JSON,
	INV_OPT_ALL
};
#define INV_BIT(id) (1u << ((id)-INV_OPT_CLIENT))

struct inv_opts {
	struct admin_cfg cfg;
	bool json, all;
	const char *client, *tag, *every, *at, *vantages, *tests, *reason, *by;
	int nsel; /* how many of --client, --tag, --all */
};

/* One of these commands. A simple one sends {"cmd": cmd} with what args()
 * adds and prints the reply with render() (unless --json); a command with
 * actions gives run() instead, called after the options and the operand
 * count are checked. */
struct inv_command {
	const char *usage;      /* --help above the options part (inv_usage()) */
	int min_args, max_args; /* operands after the options */
	const char *word;       /* not NULL: the first operand, when given, is it */
	unsigned options;       /* INV_BIT()s: the options its --help lists */
	enum admin_cmd cmd;
	/* Adds the operands (argv) to req; -1 when one is bad (error printed). */
	int (*args)(json_t *req, char **argv);
	long (*render)(const json_t *reply, FILE *out);
	int (*run)(const struct inv_command *self, struct inv_opts *o, int argc, char **argv);
};

/* The command's exit status for argv (argv[0] the command name): --help,
 * the options, the operands against c, then c's request or c->run(). */
int inv_main(const struct inv_command *c, int argc, char **argv);
/* The command's --help: its usage text and the options part. */
void inv_usage(const struct inv_command *c, FILE *out);
/* Sends req (stolen), prints the JSON reply with --json; *out keeps it. */
int inv_call(struct inv_opts *o, json_t *req, struct admin_answer *out);

#endif
