/* inv_common.h - what targets, schedule, history, events, hooks and retention
 * (cmd_targets.c ... cmd_retention.c) share: one option table (theirs and the
 * admin options of admin.h), the parse of it, the shared part of their --help
 * and the request that prints the raw reply with --json. */
#ifndef RP_CLI_INV_COMMON_H
#define RP_CLI_INV_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include "admin.h"

struct inv_opts {
	struct admin_cfg cfg;
	bool json, all;
	const char *client, *tag, *every, *at, *vantages, *tests;
	int nsel; /* how many of --client, --tag, --all */
};

/* Parses argv (argv[0] the command name) into o; help prints --help. 0, 1
 * after --help, -1 on a usage error (reported). optind is past the options. */
int inv_parse(int argc, char **argv, struct inv_opts *o, void (*help)(FILE *));
/* The options part of every one of these commands' --help. */
void inv_usage_tail(FILE *out);
/* Sends req (stolen), prints the JSON reply with --json; *out keeps it. */
int inv_call(struct inv_opts *o, json_t *req, struct admin_answer *out);

#endif
