/* main.c - the relayprobe command: global options (--version, --help) and
 * dispatch to a subcommand through the command table below. Each command
 * is in its own file, cli/cmd_NAME.c (named in the table), parses its own
 * options and returns the process exit status. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "probe.h"

#define EXIT_USAGE 2

struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *file;                  /* where run is (for the reader) */
	const char *summary;
};

static const struct command commands[] = {
    {"probe", probe_main, "cli/cmd_probe.c",
     "test targets for open relaying from this machine, now"},
    {"audit", audit_main, "cli/cmd_audit.c",
     "probe targets from the controller's agents (vantages)"},
    {"report", report_main, "cli/cmd_report.c",
     "an audit's verdicts: target x vantage, aggregated"},
    {"transcript", transcript_main, "cli/cmd_transcript.c",
     "the SMTP transcripts behind one cell of a report"},
    {"agents", agents_main, "cli/cmd_agents.c",
     "list, approve, revoke or import the controller's agents"},
    {"targets", targets_main, "cli/cmd_targets.c",
     "the controller's inventory: import a CSV, list, remove"},
    {"schedule", schedule_main, "cli/cmd_schedule.c",
     "periodic audits of inventory targets: add, list, remove"},
    {"history", history_main, "cli/cmd_history.c", "a target's verdict in every finished audit"},
    {"events", events_main, "cli/cmd_events.c", "verdict changes between consecutive audits"},
    {"hooks", hooks_main, "cli/cmd_hooks.c", "delivery state of the controller's event hooks"},
    {"retention", retention_main, "cli/cmd_retention.c",
     "remove old transcripts now (verdicts stay)"},
    {"keygen", keygen_main, "cli/cmd_keygen.c", "create a controller's or an agent's key files"},
};

/* The short form (no arguments: to stderr) is the usage line and the
 * commands; --help adds what relayprobe is and the exit status. */
static void usage(FILE *out, bool full)
{
	fprintf(out, "usage: relayprobe [--version] [--help] COMMAND [ARGS...]\n\n%s",
	        full ? "relayprobe tests SMTP servers for open relaying.\n\n" : "");
	fprintf(out, "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
	        "\n"
	        "Run 'relayprobe COMMAND --help' for a command's options%s.\n",
	        full ? "" : ", 'relayprobe --help' for more");
	if (!full)
		return;
	fprintf(out, "\n"
	             "Exit status: 0 no open relay found, 1 at least one open relay,\n"
	             "2 usage or input error (or a request the controller refused),\n"
	             "3 nothing open but some results inconclusive, or the controller\n"
	             "could not be reached.\n");
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		usage(stderr, false);
		return EXIT_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("relayprobe %s\n", RP_VERSION);
		return 0;
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		usage(stdout, true);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (name[0] == '-')
		fprintf(stderr, "relayprobe: unknown option \"%s\" (try relayprobe --help)\n",
		        name);
	else
		fprintf(stderr, "relayprobe: unknown command \"%s\" (try relayprobe --help)\n",
		        name);
	return EXIT_USAGE;
}
