/* commands.h - the entry points of relayprobe's commands, one file each
 * (cli/cmd_NAME.c; probe's in probe.h). Each takes argv with the command
 * name in argv[0] and returns the process exit status. */
#ifndef RP_CLI_COMMANDS_H
#define RP_CLI_COMMANDS_H

int keygen_main(int argc, char **argv);     /* cmd_keygen.c */
int agents_main(int argc, char **argv);     /* cmd_agents.c */
int audit_main(int argc, char **argv);      /* cmd_audit.c */
int report_main(int argc, char **argv);     /* cmd_report.c */
int transcript_main(int argc, char **argv); /* cmd_transcript.c */
int targets_main(int argc, char **argv);    /* cmd_targets.c */
int schedule_main(int argc, char **argv);   /* cmd_schedule.c */
int history_main(int argc, char **argv);    /* cmd_history.c */
int events_main(int argc, char **argv);     /* cmd_events.c */
int hooks_main(int argc, char **argv);      /* cmd_hooks.c */
int retention_main(int argc, char **argv);  /* cmd_retention.c */

#endif
