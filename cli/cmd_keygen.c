/* cmd_keygen.c - `relayprobe keygen --role controller|agent --name NAME --out DIR`:
 * a node's identity (CURVE + Ed25519 keypairs, wire/keys.c) written as
 * DIR/NAME.secret (0600) and DIR/NAME.pub (0644), never over an existing
 * file. Prints both paths and the fingerprints an operator compares. */
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "keys.h"
#include "rp_limits.h"

#define PROG "relayprobe keygen"

enum { OPT_ROLE = 256, OPT_NAME, OPT_OUT };

static const struct option long_options[] = {
    {"role", required_argument, NULL, OPT_ROLE},
    {"name", required_argument, NULL, OPT_NAME},
    {"out", required_argument, NULL, OPT_OUT},
    CLI_HELP_OPTION,
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: relayprobe keygen --role controller|agent --name NAME --out DIR\n"
	        "\n"
	        "Create a node's identity: a CURVE keypair (the ZeroMQ transport) and an\n"
	        "Ed25519 keypair (order and result signatures), written as DIR/NAME.secret\n"
	        "(mode 0600, stays on the node) and DIR/NAME.pub (mode 0644, copied to the\n"
	        "other side: a controller's to every agent, an agent's to the controller\n"
	        "for `relayprobe agents import`). Existing files are never overwritten.\n"
	        "\n"
	        "      --role ROLE          controller or agent\n"
	        "      --name NAME          node name, also the agent id: 1-%d characters of\n"
	        "                           A-Z a-z 0-9 . _ -, not starting with . or -\n"
	        "      --out DIR            an existing directory for the two files\n"
	        "  -h, --help               this help\n"
	        "\n"
	        "Prints the two paths and the key fingerprint; for an agent also the\n"
	        "fingerprint of its CURVE key alone, which the controller shows while the\n"
	        "agent is pending approval.\n"
	        "\n"
	        "Exit status: 0 written, 2 usage error or the files could not be written.\n",
	        RP_WIRE_ID_MAX);
}

int keygen_main(int argc, char **argv)
{
	const char *name = NULL, *dir = NULL;
	int role = -1, c;
	struct keys *k = NULL;
	struct stat st;
	char err[512], fp[KEYS_FINGERPRINT_LEN + 1];

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_ROLE:
			role = keys_role_from_name(optarg);
			if (role < 0) {
				fprintf(stderr,
				        PROG ": --role: \"%s\" is not one of controller, agent\n",
				        optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_NAME:
			if (!keys_name_valid(optarg)) {
				fprintf(stderr,
				        PROG
				        ": --name: \"%s\" is not a node name (1-%d characters of "
				        "A-Z a-z 0-9 . _ -, not starting with . or -)\n",
				        optarg, RP_WIRE_ID_MAX);
				return CLI_EXIT_USAGE;
			}
			name = optarg;
			break;
		case OPT_OUT:
			dir = optarg;
			break;
		default:
			if (cli_option_rest(PROG, c, argv, NULL) < 0)
				return CLI_EXIT_USAGE;
			usage(stdout);
			return CLI_EXIT_OK;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (role < 0 || name == NULL || dir == NULL) {
		fprintf(stderr, PROG ": %s is required (try " PROG " --help)\n",
		        role < 0       ? "--role"
		        : name == NULL ? "--name"
		                       : "--out");
		return CLI_EXIT_USAGE;
	}
	/* A missing leaf directory is created private (0700): it will hold a
	 * secret key. A missing parent is an error, not created silently. */
	if (stat(dir, &st) < 0 && (errno != ENOENT || mkdir(dir, 0700) < 0 || stat(dir, &st) < 0)) {
		fprintf(stderr, PROG ": --out: \"%s\": %s\n", dir, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": --out: \"%s\": not a directory\n", dir);
		return CLI_EXIT_USAGE;
	}

	k = keys_generate((enum keys_role)role, name);
	if (k == NULL) {
		fprintf(stderr,
		        PROG ": cannot generate keys (libsodium or ZeroMQ without CURVE)\n");
		return CLI_EXIT_USAGE;
	}
	if (keys_save(k, dir, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		keys_free(&k);
		return CLI_EXIT_USAGE;
	}
	printf("secret key: %s/%s.secret (mode 0600: keep it on this node)\n", dir, name);
	printf("public key: %s/%s.pub\n", dir, name);
	printf("fingerprint: %s\n", keys_fingerprint(k));
	if (role == KEYS_ROLE_AGENT && keys_curve_fingerprint_of(keys_curve_public(k), fp) == 0)
		printf("until approved, shown as pending on the controller as %s\n", fp);
	else if (role == KEYS_ROLE_CONTROLLER)
		printf("copy %s/%s.pub to every agent (controller_key in its config)\n", dir, name);
	keys_free(&k);
	return CLI_EXIT_OK;
}
