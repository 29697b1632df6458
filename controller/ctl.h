/* ctl.h - the relayprobe-controller daemon: one thread polling the agents'
 * ROUTER socket (CURVE server), its ZAP handler and the admin REP socket;
 * orders written to the store before they are sent, results verified,
 * committed, then acknowledged. Owns the ZeroMQ context, sockets, store and
 * keys; borrows the config for its lifetime. docs/distributed.md. */
#ifndef RP_CTL_H
#define RP_CTL_H

#include <signal.h>
#include <stddef.h>

#include "ctl_config.h"

struct ctl;

/* Loads the keys, opens the store, binds the ZAP handler, the ROUTER and the
 * admin socket (file mode 0660). NULL with the reason in err. */
struct ctl *ctl_new(const struct ctl_config *cfg, char *err, size_t errlen);
/* Runs until *stop becomes non-zero (checked at least once a second and
 * after every signal). 0 on a clean stop, -1 on a fatal socket error. */
int ctl_run(struct ctl *c, volatile sig_atomic_t *stop);
/* Closes everything (the admin socket file is removed) and NULLs *c. */
void ctl_free(struct ctl **c);

#endif
