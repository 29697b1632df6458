/* inv_common.c - the option table and parse shared by targets, schedule,
 * history, events, hooks and retention (inv_common.h): each accepts the same
 * options, as before they were split into one file each. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "inv_common.h"

enum {
	OPT_JSON = 256,
	OPT_HELP,
	OPT_CLIENT,
	OPT_TAG,
	OPT_ALL,
	OPT_EVERY,
	OPT_AT,
	OPT_VANTAGES,
	OPT_TESTS
};

static const struct option long_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"client", required_argument, NULL, OPT_CLIENT},
    {"tag", required_argument, NULL, OPT_TAG},
    {"all", no_argument, NULL, OPT_ALL},
    {"every", required_argument, NULL, OPT_EVERY},
    {"at", required_argument, NULL, OPT_AT},
    {"vantages", required_argument, NULL, OPT_VANTAGES},
    {"tests", required_argument, NULL, OPT_TESTS},
    ADMIN_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

int inv_parse(int argc, char **argv, struct inv_opts *o, void (*help)(FILE *))
{
	int c;

	memset(o, 0, sizeof(*o));
	admin_cfg_defaults(&o->cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
		case OPT_HELP:
			help(stdout);
			return 1;
		case OPT_CLIENT:
			o->client = optarg;
			o->nsel++;
			break;
		case OPT_TAG:
			o->tag = optarg;
			o->nsel++;
			break;
		case OPT_ALL:
			o->all = true;
			o->nsel++;
			break;
		case OPT_EVERY:
			o->every = optarg;
			break;
		case OPT_AT:
			o->at = optarg;
			break;
		case OPT_VANTAGES:
			o->vantages = optarg;
			break;
		case OPT_TESTS:
			o->tests = optarg;
			break;
		case '?':
		case ':':
			cli_bad_option(argv[0], c, argv);
			return -1;
		default:
			if (admin_cfg_option(&o->cfg, c, optarg, argv[0]) != 0)
				return -1;
		}
	}
	return admin_cfg_check(&o->cfg, argv[0]) < 0 ? -1 : 0;
}

void inv_usage_tail(FILE *out)
{
	fprintf(out, "\nOptions:\n%s  -h, --help               this help\n\n" ADMIN_EXIT_HELP,
	        ADMIN_OPTIONS_HELP);
}

int inv_call(struct inv_opts *o, json_t *req, struct admin_answer *out)
{
	int rc = admin_request(&o->cfg, req, out);

	json_decref(req);
	if (rc == CLI_EXIT_OK && o->json)
		printf("%s\n", out->raw);
	return rc;
}
