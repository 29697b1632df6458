/* cmd_agents.c - `relayprobe agents list|approve ID|revoke ID|import FILE.pub`:
 * the controller's agents through its admin socket (agents.* requests of
 * docs/distributed.md). An imported .pub file is read bounded
 * (RP_KEYFILE_MAX) and checked with keys_load_public() before it is sent. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "commands.h"
#include "keys.h"
#include "report_render.h"
#include "rp_limits.h"
#include "syntax.h"

#define PROG "relayprobe agents"

enum { OPT_JSON = 256 };

static const struct option long_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    CLI_HELP_OPTION,
    ADMIN_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: relayprobe agents [options] list\n"
	        "       relayprobe agents [options] approve ID\n"
	        "       relayprobe agents [options] revoke ID\n"
	        "       relayprobe agents [options] import FILE.pub\n"
	        "\n"
	        "Manage the controller's agents through its admin socket.\n"
	        "\n"
	        "  list             NAME FINGERPRINT STATUS (pending, approved, revoked)\n"
	        "                   CONNECTED LAST-SEEN LABELS of every agent\n"
	        "  approve ID       approve a pending agent; ID is its name or the\n"
	        "                   fingerprint shown by list\n"
	        "  revoke ID        revoke an agent: its live session is dropped and it\n"
	        "                   gets no further orders\n"
	        "  import FILE.pub  pin an agent's public key file (from relayprobe keygen\n"
	        "                   --role agent) and approve it\n"
	        "\n"
	        "Options:\n"
	        "      --json               print the controller's JSON reply as is\n"
	        "%s"
	        "  -h, --help               this help\n"
	        "\n" ADMIN_EXIT_HELP,
	        ADMIN_OPTIONS_HELP);
}

/* The file's text, at most RP_KEYFILE_MAX bytes, after keys_load_public()
 * accepted it as an agent's public key file. NULL with the error printed. */
static char *read_pub(const char *path)
{
	char err[512], *buf = NULL;
	struct keys *k = keys_load_public(path, err, sizeof(err));
	FILE *f = NULL;
	size_t n;

	if (k == NULL) {
		fprintf(stderr, PROG ": import: %s\n", err);
		return NULL;
	}
	if (keys_role(k) != KEYS_ROLE_AGENT) {
		fprintf(stderr, PROG ": import: %s: a %s key, not an agent's\n", path,
		        keys_role_name(keys_role(k)));
		goto fail;
	}
	f = fopen(path, "r");
	buf = malloc(RP_KEYFILE_MAX + 1);
	if (f == NULL || buf == NULL) {
		fprintf(stderr, PROG ": import: %s: %s\n", path, strerror(errno));
		goto fail;
	}
	n = fread(buf, 1, RP_KEYFILE_MAX + 1, f);
	if (ferror(f) || n > RP_KEYFILE_MAX) {
		fprintf(stderr, PROG ": import: %s: %s\n", path,
		        ferror(f) ? "read error" : "larger than a key file");
		goto fail;
	}
	buf[n] = '\0';
	fclose(f);
	keys_free(&k);
	return buf;
fail:
	if (f != NULL)
		fclose(f);
	free(buf);
	keys_free(&k);
	return NULL;
}

int agents_main(int argc, char **argv)
{
	struct admin_cfg cfg;
	struct admin_answer reply = {0};
	json_t *req = NULL;
	const char *action, *arg = NULL;
	char *pub = NULL;
	bool json = false;
	int c, rc, status = CLI_EXIT_USAGE;

	admin_cfg_defaults(&cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		if (c == OPT_JSON) {
			json = true;
		} else if ((rc = cli_option_rest(PROG, c, argv, &cfg)) != 0) {
			if (rc > 0)
				usage(stdout);
			return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		}
	}
	if (admin_cfg_check(&cfg, PROG) < 0)
		return CLI_EXIT_USAGE;
	if (optind >= argc) {
		fprintf(stderr, PROG ": which action? list, approve ID, revoke ID, import FILE.pub "
		                     "(try " PROG " --help)\n");
		return CLI_EXIT_USAGE;
	}
	action = argv[optind++];
	if (strcmp(action, "list") == 0) {
		if (optind < argc) {
			fprintf(stderr, PROG ": list: unexpected argument \"%s\"\n", argv[optind]);
			return CLI_EXIT_USAGE;
		}
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_AGENTS_LIST));
	} else if (strcmp(action, "approve") == 0 || strcmp(action, "revoke") == 0 ||
	           strcmp(action, "import") == 0) {
		if (argc - optind != 1) {
			fprintf(stderr, PROG ": %s: needs exactly one %s\n", action,
			        action[0] == 'i' ? "FILE.pub" : "ID");
			return CLI_EXIT_USAGE;
		}
		arg = argv[optind];
		if (action[0] == 'i') {
			pub = read_pub(arg);
			if (pub == NULL)
				return CLI_EXIT_USAGE;
			req = json_pack("{s:s,s:s}", "cmd", admin_cmd_name(ADMIN_AGENTS_IMPORT),
			                "pub", pub);
			free(pub);
		} else {
			if (!rp_id_ok(RP_ID_REF, arg)) {
				fprintf(stderr,
				        PROG ": %s: \"%s\" is not an agent name or fingerprint\n",
				        action, arg);
				return CLI_EXIT_USAGE;
			}
			req = json_pack("{s:s,s:s}", "cmd",
			                admin_cmd_name(action[0] == 'a' ? ADMIN_AGENTS_APPROVE
			                                                : ADMIN_AGENTS_REVOKE),
			                "id", arg);
		}
	} else {
		fprintf(stderr, PROG ": unknown action \"%s\" (list, approve, revoke, import)\n",
		        action);
		return CLI_EXIT_USAGE;
	}
	if (req == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return CLI_EXIT_UNREACHABLE;
	}

	status = admin_request(&cfg, req, &reply);
	if (status != CLI_EXIT_OK)
		goto out;
	if (json) {
		admin_print_raw(&reply, stdout);
	} else if (strcmp(action, "list") == 0) {
		if (report_render_agents(reply.json, stdout) < 0) {
			fprintf(stderr, "relayprobe: unusable reply from the controller: no "
			                "\"agents\" array\n");
			status = CLI_EXIT_UNREACHABLE;
		}
	} else {
		const json_t *agent = json_object_get(reply.json, "agent");
		printf("%s: ", action[0] == 'a'   ? "approved"
		               : action[0] == 'r' ? "revoked"
		                                  : "imported");
		if (json_is_object(agent)) {
			report_agent_line(agent, stdout);
		} else {
			report_put_clean(arg, stdout);
			putchar('\n');
		}
	}
out:
	json_decref(req);
	admin_reply_clear(&reply);
	return status;
}
