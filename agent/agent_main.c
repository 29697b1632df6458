/* agent_main.c - relayprobe-agent: reads the INI configuration, sets up
 * logging and signals, and runs the agent loop (agent.c). SIGTERM/SIGINT
 * stop it cleanly: an order in progress ends with what it has, its results
 * are spooled, and the process exits 0. Owns nothing past main(). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_config.h"
#include "log.h"

#define PROG "relayprobe-agent"

static struct agent *volatile g_agent;

static void on_signal(int sig)
{
	(void)sig;
	agent_stop(g_agent);
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: " PROG " --config FILE [-v]\n"
	        "\n"
	        "The relayprobe agent: dials out to the controller (ZeroMQ, CURVE, the\n"
	        "controller's key pinned), verifies the signed probe orders it receives, runs\n"
	        "them within its own limits and scope, and sends signed results back. It\n"
	        "keeps every result in its spool until the controller acknowledges it. It\n"
	        "never listens on a port.\n"
	        "\n"
	        "  -c, --config FILE   the configuration (INI; see agent.conf.example)\n"
	        "  -v, --verbose       debug logging (repeat: no effect beyond debug)\n"
	        "  -h, --help          this help\n"
	        "  -V, --version       the version\n"
	        "\n"
	        "SIGTERM or SIGINT: stop; an order in progress ends with what it has and its\n"
	        "results stay in the spool. Exit status 0 after a clean stop, 1 on a\n"
	        "configuration or start-up error, 2 on a usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	int level = LOG_LVL_INFO, ch, rc;
	struct agent_config *cfg = NULL;
	struct agent *a = NULL;
	struct sigaction sa;
	char err[1024];

	while ((ch = getopt_long(argc, argv, ":c:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			level = LOG_LVL_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROG " %s\n", RP_VERSION);
			return 0;
		case ':':
			fprintf(stderr, PROG ": option %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, PROG ": unknown option %s (see --help)\n",
			        argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument \"%s\" (see --help)\n", argv[optind]);
		return 2;
	}
	if (config == NULL) {
		fprintf(stderr, PROG ": --config FILE is required (see --help)\n");
		return 2;
	}
	log_init(PROG, level, false);
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (agent_config_load(config, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		free(cfg);
		return 1;
	}
	a = agent_new(cfg, err, sizeof(err));
	free(cfg);
	if (a == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	g_agent = a;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	rc = agent_run(a);
	g_agent = NULL;
	agent_free(&a);
	log_info("stopped");
	return rc == 0 ? 0 : 1;
}
