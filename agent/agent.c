/* agent.c - the relayprobe-agent's public API and its loop: agent_new()
 * loads the keys, the replay state and both spools and opens the link;
 * agent_run() sends HELLO, re-sends the spool, resumes unfinished orders,
 * then polls the DEALER socket and its monitor (at most POLL_MAX_MS a wait,
 * so agent_stop() is seen that fast) and hands each message to its part.
 * The parts: agent_link.c (socket, monitor, HELLO, reconnects),
 * agent_orders.c (verify, accept, queue, resume, run through the engine),
 * agent_results.c (sign, batch, spool, re-send, acks); agent_internal.h is
 * what they share. */
#include "agent.h"

#include <errno.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "agent_internal.h"
#include "clock.h"
#include "control.h"
#include "exclude.h"
#include "keys.h"
#include "log.h"
#include "replay.h"
#include "rp_take.h"
#include "spool.h"
#include "target.h"

#define POLL_MAX_MS 200 /* upper bound on one wait: agent_stop() is seen this fast */

const char *agent_id(const struct agent *a)
{
	return keys_name(a->own);
}

void agent_set_hello_interval(struct agent *a, unsigned ms)
{
	a->hello_ms = ms > 0 ? ms : AGENT_HELLO_INTERVAL_MS;
	a->next_hello = rp_mono_ms() + a->hello_ms;
}

void agent_set_step_hook(struct agent *a, agent_step_fn fn, void *arg)
{
	a->step_hook = fn;
	a->step_arg = arg;
}

void agent_step(struct agent *a, const char *name, const char *order_id)
{
	if (a->step_hook != NULL)
		a->step_hook(name, order_id, a->step_arg);
}

void agent_stop(struct agent *a)
{
	if (a != NULL)
		atomic_store(&a->stop, 1);
}

/* Only what the controller may send an agent; everything else is dropped
 * before any further decoding. An undecodable message goes to the order
 * path, which rejects and logs it. */
void agent_dispatch(struct agent *a, const uint8_t *msg, size_t len)
{
	int kind = wire_envelope_kind(msg, len);

	switch (kind) {
	case WIRE_KIND_ORDER:
	case -1:
		agent_orders_take(a, msg, len);
		break;
	case WIRE_KIND_RESULT_ACK:
		agent_results_ack(a, msg, len);
		break;
	case WIRE_KIND_HEARTBEAT:
		break;
	default:
		log_warn("message dropped reason=kind kind=%d", kind);
		break;
	}
}

int agent_run(struct agent *a)
{
	agent_link_hello(a);
	agent_results_resend(a);
	agent_orders_resume(a);
	a->next_hello = rp_mono_ms() + a->hello_ms;
	while (!atomic_load(&a->stop)) {
		zmq_pollitem_t items[2] = {{a->sock, 0, ZMQ_POLLIN, 0}, {a->mon, 0, ZMQ_POLLIN, 0}};
		uint64_t now = rp_mono_ms();
		long wait = a->next_hello > now ? (long)(a->next_hello - now) : 0;

		agent_orders_run_pending(a);
		if (wait > POLL_MAX_MS)
			wait = POLL_MAX_MS;
		if (zmq_poll(items, 2, wait) < 0 && errno != EINTR) {
			log_error("poll failed error=\"%s\"", zmq_strerror(errno));
			return -1;
		}
		agent_link_tick(a);
	}
	log_info("stopping spooled=%zu", spool_count(a->spool));
	return 0;
}

/* ---- setup ---- */

static int mkdir_state(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		snprintf(err, errlen,
		         "%s: must be owned by this user and not writable by group or others", dir);
		return -1;
	}
	return 0;
}

struct agent *agent_new(const struct agent_config *cfg, char *err, size_t errlen)
{
	struct agent *a = calloc(1, sizeof(*a));
	char kerr[512];

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = *cfg;
	a->hello_ms = AGENT_HELLO_INTERVAL_MS;
	target_default_ehlo(a->ehlo, sizeof(a->ehlo));
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		goto fail;
	}
	if ((a->own = keys_load_role(cfg->keys, true, KEYS_ROLE_AGENT, kerr, sizeof(kerr))) ==
	        NULL ||
	    (a->ctl = keys_load_role(cfg->controller_key, false, KEYS_ROLE_CONTROLLER, kerr,
	                             sizeof(kerr))) == NULL) {
		snprintf(err, errlen, "%s", kerr);
		goto fail;
	}
	if (mkdir_state(cfg->state, err, errlen) < 0)
		goto fail;
	if (cfg->exclude_file[0] != '\0' &&
	    ((a->exclude = exclude_new()) == NULL ||
	     exclude_load_file(a->exclude, cfg->exclude_file, err, errlen) < 0))
		goto fail;
	/* The replay state belongs to one (agent key, controller key) pair: a
	 * rotated key starts a new identity whose orders the controller numbers
	 * from 1 again, and orders signed by a retired controller key no longer
	 * verify anyway. */
	{
		char af[32], cf[32];
		size_t n = 0, m = 0;

		for (const char *p = keys_fingerprint(a->own); *p && n < sizeof(af) - 1; p++)
			if (*p != ':')
				af[n++] = *p;
		af[n] = '\0';
		for (const char *p = keys_fingerprint(a->ctl); *p && m < sizeof(cf) - 1; p++)
			if (*p != ':')
				cf[m++] = *p;
		cf[m] = '\0';
		snprintf(a->replay_path, sizeof(a->replay_path), "%s/replay-%s-%s", cfg->state, af,
		         cf);
	}
	snprintf(a->spool_path, sizeof(a->spool_path), "%s/spool", cfg->state);
	snprintf(a->inflight_path, sizeof(a->inflight_path), "%s/inflight", cfg->state);
	if ((a->replay = replay_state_load(a->replay_path, kerr, sizeof(kerr))) == NULL) {
		snprintf(err, errlen, "%s", kerr);
		goto fail;
	}
	if ((a->spool = spool_open(a->spool_path, kerr, sizeof(kerr))) == NULL ||
	    (a->inflight = spool_open(a->inflight_path, kerr, sizeof(kerr))) == NULL) {
		snprintf(err, errlen, "%s", kerr);
		goto fail;
	}
	if (agent_link_open(a, err, errlen) < 0)
		goto fail;
	log_info("agent id=%s fingerprint=%s controller=%s controller_fingerprint=%s spooled=%zu "
	         "last_sequence=%llu",
	         keys_name(a->own), keys_fingerprint(a->own), cfg->controller,
	         keys_fingerprint(a->ctl), spool_count(a->spool),
	         (unsigned long long)replay_state_last_sequence(a->replay));
	return a;
fail:
	agent_free(&a);
	return NULL;
}

void agent_free(struct agent **ap)
{
	struct agent *a = rp_take(ap);

	if (a == NULL)
		return;
	agent_orders_clear(a);
	agent_link_close(a);
	spool_close(&a->spool);
	spool_close(&a->inflight);
	replay_state_free(&a->replay);
	keys_free(&a->own);
	keys_free(&a->ctl);
	exclude_free(&a->exclude);
	free(a);
}
