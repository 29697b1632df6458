/* commands.h - entry points of the commands that manage identities and talk
 * to the controller (keygen.c, agents.c, audit.c). Each takes argv with the
 * command name in argv[0] and returns the process exit status. */
#ifndef RP_CLI_COMMANDS_H
#define RP_CLI_COMMANDS_H

int keygen_main(int argc, char **argv);
int agents_main(int argc, char **argv);
int audit_main(int argc, char **argv);
int report_main(int argc, char **argv);
int transcript_main(int argc, char **argv);
/* inventory.c (issue 5): targets, schedule, history, events. */
int targets_main(int argc, char **argv);
int schedule_main(int argc, char **argv);
int history_main(int argc, char **argv);
int events_main(int argc, char **argv);
int hooks_main(int argc, char **argv);
int retention_main(int argc, char **argv);

#endif
