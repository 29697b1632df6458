/* probe_canary.h - `relayprobe probe --canary ADDR:PORT --canary-domain D`:
 * the canary listener in-process, for one run. Each dialog gets its own
 * tokens (an ephemeral key; the reference is the dialog's number), results
 * are held until their deliveries arrive or --canary-wait passes, then
 * printed with the canary's verdict and its proof (docs/canary.md). */
#ifndef RP_PROBE_CANARY_H
#define RP_PROBE_CANARY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine.h"

struct probe_canary;

/* Starts the listener. NULL with a message in err. */
struct probe_canary *probe_canary_start(const char *listen, const char *domain, char *err,
                                        size_t errlen);
void probe_canary_stop(struct probe_canary **pc);
/* engine_params.locals (arg = the probe_canary). */
int probe_canary_locals(void *arg, const char *target, const char *address, const size_t *tests,
                        size_t ntests, const char **to_locals, const char **from_locals);
/* Keeps a finished dialog (its JSON, transcript included) until the end. */
void probe_canary_add(struct probe_canary *pc, const struct probe_result *r);
/* The TARGET column's width for the text lines (text_col.h). */
void probe_canary_set_target_col(struct probe_canary *pc, size_t width);
/* Waits until every held result that sent an accepted test message has its
 * delivery, or wait_s seconds since the last result (stopped early when
 * *stop is set), then prints each result with the canary's verdict: JSON
 * Lines (json) or text lines with the proof under each (verbose adds the
 * tests, transcript the transcripts). Counts by final verdict go to
 * open / closed / inconclusive. */
void probe_canary_finish(struct probe_canary *pc, unsigned wait_s, volatile sig_atomic_t *stop,
                         bool json, bool verbose, bool transcript, size_t *open, size_t *closed,
                         size_t *inconclusive);

#endif
