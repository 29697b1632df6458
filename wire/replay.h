/* replay.h - an agent's memory of the orders it accepted: the highest
 * sequence number and the last RP_WIRE_REPLAY_MAX order ids (oldest dropped
 * first). The agent persists it (replay_state_save: temp file, fsync, rename)
 * before running an order, so a replay is refused across restarts. */
#ifndef RP_WIRE_REPLAY_H
#define RP_WIRE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct replay_state;

/* Empty state (sequence 0, no ids). NULL on OOM. */
struct replay_state *replay_state_new(void);
void replay_state_free(struct replay_state **rsp);

uint64_t replay_state_last_sequence(const struct replay_state *rs);
bool replay_state_seen(const struct replay_state *rs, const char *order_id);
size_t replay_state_count(const struct replay_state *rs);

/* Records an accepted order: last sequence = max(last, sequence), and the id
 * (dropping the oldest when full). -1 when order_id is not a valid order id
 * (1..RP_WIRE_ID_MAX of [A-Za-z0-9._:-]). */
int replay_state_accept(struct replay_state *rs, const char *order_id, uint64_t sequence);

/* Loads a state file. A missing file gives an empty state (first start);
 * anything malformed, or larger than the bound, is an error naming file:line.
 * NULL with a message in err. */
struct replay_state *replay_state_load(const char *path, char *err, size_t errlen);

/* Writes PATH.tmp (mode 0600), fsyncs it, renames it over PATH and fsyncs
 * the directory. 0 or -1 with a message in err. */
int replay_state_save(const struct replay_state *rs, const char *path, char *err, size_t errlen);

/* An order id: rp_id_ok(RP_ID_ORDER, id), common/syntax.h. */
bool replay_order_id_valid(const char *id);

#endif
