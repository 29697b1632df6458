/* clock.h - the project's two clocks, in milliseconds: monotonic (timeouts,
 * rates, durations: never goes back) and wall (timestamps: ms since the
 * Unix epoch, UTC). One place for both, instead of a copy per file. */
#ifndef RP_CLOCK_H
#define RP_CLOCK_H

#include <stdint.h>

uint64_t rp_mono_ms(void);
uint64_t rp_wall_ms(void);

#endif
