/* inv_common.c - the option table and parse shared by targets, schedule,
 * history, events, hooks and retention (inv_common.h): each takes --json,
 * --help, the admin options and those its table entry names (the ones its
 * --help lists; any other is unknown), and each runs through inv_main(). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "inv_common.h"

/* The ids are inv_common.h's; those with a value in the order of inv_parse()'s
 * slots. */
static const struct option long_options[] = {
    {"json", no_argument, NULL, INV_OPT_JSON},
    CLI_HELP_OPTION,
    {"client", required_argument, NULL, INV_OPT_CLIENT},
    {"tag", required_argument, NULL, INV_OPT_TAG},
    {"all", no_argument, NULL, INV_OPT_ALL},
    {"every", required_argument, NULL, INV_OPT_EVERY},
    {"at", required_argument, NULL, INV_OPT_AT},
    {"vantages", required_argument, NULL, INV_OPT_VANTAGES},
    {"tests", required_argument, NULL, INV_OPT_TESTS},
    {"reason", required_argument, NULL, INV_OPT_REASON},
    {"by", required_argument, NULL, INV_OPT_BY},
    ADMIN_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* Parses argv into o: 0, 1 for --help, -1 on a usage error (reported): an
 * option of the table that cmd does not take is unknown to it. optind is past
 * the options. */
static int inv_parse(const struct inv_command *cmd, int argc, char **argv, struct inv_opts *o)
{
	const char **value[] = {&o->client,   &o->tag,   &o->every,  &o->at,
	                        &o->vantages, &o->tests, &o->reason, &o->by};
	char prog[64];
	int c, rc, idx = 0;

	snprintf(prog, sizeof(prog), "relayprobe %s", argv[0]);
	memset(o, 0, sizeof(*o));
	admin_cfg_defaults(&o->cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", long_options, &idx)) != -1) {
		if (c >= INV_OPT_CLIENT && c <= INV_OPT_ALL && c != INV_OPT_JSON &&
		    (cmd->options & INV_BIT(c)) == 0) {
			cli_option_not_taken(prog, long_options[idx].name);
			return -1;
		}
		if (c >= INV_OPT_CLIENT && c <= INV_OPT_BY) {
			*value[c - INV_OPT_CLIENT] = optarg;
			o->nsel += c == INV_OPT_CLIENT || c == INV_OPT_TAG;
		} else if (c == INV_OPT_JSON) {
			o->json = true;
		} else if (c == INV_OPT_ALL) {
			o->all = true;
			o->nsel++;
		} else if ((rc = cli_option_rest(prog, c, argv, &o->cfg)) != 0) {
			return rc;
		}
	}
	return admin_cfg_check(&o->cfg, prog) < 0 ? -1 : 0;
}

void inv_usage(const struct inv_command *c, FILE *out)
{
	fputs(c->usage, out);
	fprintf(out, "\nOptions:\n%s  -h, --help               this help\n\n" ADMIN_EXIT_HELP,
	        ADMIN_OPTIONS_HELP);
}

int inv_call(struct inv_opts *o, json_t *req, struct admin_answer *out)
{
	int rc = admin_request(&o->cfg, req, out);

	json_decref(req);
	if (rc == CLI_EXIT_OK && o->json)
		admin_print_raw(out, stdout);
	return rc;
}

int inv_main(const struct inv_command *c, int argc, char **argv)
{
	struct inv_opts o;
	struct admin_answer r = {0};
	json_t *req;
	int rc = inv_parse(c, argc, argv, &o);

	if (rc > 0)
		inv_usage(c, stdout);
	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	argc -= optind;
	argv += optind;
	if (argc < c->min_args || argc > c->max_args ||
	    (c->word != NULL && argc > 0 && strcmp(argv[0], c->word) != 0)) {
		inv_usage(c, stderr);
		return CLI_EXIT_USAGE;
	}
	if (c->run != NULL)
		return c->run(c, &o, argc, argv);
	req = json_pack("{s:s}", "cmd", admin_cmd_name(c->cmd));
	if (c->args != NULL && c->args(req, argv) < 0) {
		json_decref(req);
		return CLI_EXIT_USAGE;
	}
	if ((rc = inv_call(&o, req, &r)) == CLI_EXIT_OK && !o.json)
		c->render(r.json, stdout);
	admin_reply_clear(&r);
	return rc;
}
