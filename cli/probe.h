/* probe.h - `relayprobe probe`: a one-shot, single-vantage open-relay audit
 * of the targets on the command line or in --targets files, driven by the
 * engine, with text or JSON Lines output. */
#ifndef RP_CLI_PROBE_H
#define RP_CLI_PROBE_H

/* argv[0] is "probe". Returns the exit status: 0 no open relay found, 1 at
 * least one open relay, 2 usage or input error, 3 nothing open but some
 * results inconclusive. */
int probe_main(int argc, char **argv);

#endif
