/* retention.c - removes transcripts of results older than cfg->retention_s
 * (see retention.h). Keeps the state of the pass in progress (cursor,
 * cutoff, count); the SQL is store_hooks_strip_transcripts(). At most
 * RETENTION_BATCH results a second. */
#include "retention.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rp_take.h"
#include "store_hooks.h"

struct retention {
	struct store *s;
	const struct ctl_config *cfg;
	int64_t last_tick; /* one batch a second at most */
	int64_t next;      /* when the next pass starts */
	bool active;
	int64_t cursor; /* results id already looked at */
	int64_t cutoff;
	long stripped;
};

struct retention *retention_new(struct store *s, const struct ctl_config *cfg)
{
	struct retention *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->s = s;
	r->cfg = cfg;
	return r;
}

void retention_free(struct retention **rp)
{
	free(rp_take(rp));
}

void retention_tick(struct retention *r, int64_t now)
{
	long n;

	if (r == NULL || r->cfg->retention_s <= 0 || now == r->last_tick)
		return;
	r->last_tick = now;
	if (!r->active) {
		if (now < r->next)
			return;
		r->active = true;
		r->cutoff = now - (int64_t)r->cfg->retention_s;
		r->stripped = 0;
	}
	n = store_hooks_strip_transcripts(r->s, r->cutoff, RETENTION_BATCH, &r->cursor,
	                                  &r->stripped);
	if (n < 0)
		log_error("retention: %s", store_errmsg(r->s));
	if (n <= 0) {
		r->active = false;
		r->next = now + RETENTION_EVERY;
		if (r->stripped > 0)
			log_info("retention: transcripts removed=%ld", r->stripped);
	}
}

long retention_pass(struct store *s, int64_t cutoff, int batch)
{
	int64_t cursor = 0;
	long stripped = 0, n;

	while ((n = store_hooks_strip_transcripts(s, cutoff, batch, &cursor, &stripped)) > 0)
		;
	return n < 0 ? -1 : stripped;
}

json_t *retention_admin(struct store *s, const struct ctl_config *cfg, const char *cmd, json_t *req,
                        int64_t now)
{
	long n;

	(void)req;
	if (cmd == NULL || strcmp(cmd, "retention.run") != 0)
		return NULL;
	if (cfg->retention_s <= 0)
		return json_pack("{s:b,s:i,s:b}", "ok", 1, "stripped", 0, "forever", 1);
	n = retention_pass(s, now - (int64_t)cfg->retention_s, RETENTION_BATCH);
	if (n < 0)
		return json_pack("{s:b,s:s}", "ok", 0, "error", store_errmsg(s));
	log_info("retention.run: transcripts removed=%ld", n);
	return json_pack("{s:b,s:I}", "ok", 1, "stripped", (json_int_t)n);
}
