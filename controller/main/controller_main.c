/* controller_main.c - relayprobe-controller: parses the command line
 * (--config FILE, -v, --help, --version), loads the config, runs the
 * controller loop (controller/ctl.c) until SIGTERM or SIGINT, then closes
 * everything cleanly. Exit 0 on a clean stop, 1 on a runtime error, 2 on a
 * usage or configuration error. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_config.h"
#include "log.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: relayprobe-controller --config FILE [-v]\n"
	           "\n"
	           "Runs the relayprobe controller: accepts approved agents over ZeroMQ/CURVE,\n"
	           "sends them signed probe orders, stores their signed results, and serves\n"
	           "the admin socket used by `relayprobe agents|audit|report|transcript`.\n"
	           "\n"
	           "  -c, --config FILE  configuration file (INI, section [controller])\n"
	           "  -v, --verbose      more logging (repeat for debug)\n"
	           "  -h, --help         this help\n"
	           "  -V, --version      print the version\n"
	           "\n"
	           "See deploy/controller.conf.example and docs/distributed.md.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"verbose", no_argument, NULL, 'v'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {NULL, 0, NULL, 0}};
	struct ctl_config cfg = {0};
	struct sigaction sa;
	struct ctl *c = NULL;
	const char *config = NULL;
	char err[1024];
	int opt, level = LOG_LVL_INFO, rc;

	while ((opt = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			if (level < LOG_LVL_DEBUG)
				level++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("relayprobe-controller %s\n", RP_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || config == NULL) {
		fprintf(stderr, "relayprobe-controller: %s\n",
		        config == NULL ? "--config FILE is required" : "unexpected argument");
		usage(stderr);
		return 2;
	}
	log_init("relayprobe-controller", level, false);
	if (ctl_config_load(config, &cfg, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	c = ctl_new(&cfg, err, sizeof(err));
	if (c == NULL) {
		log_error("%s", err);
		ctl_config_clear(&cfg);
		return 1;
	}
	rc = ctl_run(c, &stop_flag);
	ctl_free(&c);
	ctl_config_clear(&cfg);
	return rc == 0 ? 0 : 1;
}
