/* engine.h - drives many dialogs at once from one epoll loop: asynchronous
 * DNS (c-ares: MX, A, AAAA), non-blocking connects (IPv4/IPv6, optional
 * source address), TLS through OpenSSL (STARTTLS and implicit), per-state
 * deadlines (per state, per dialog, per run), one session at a time per
 * address with a pause between sessions, and a global connection rate. Shared by `relayprobe probe`
 * and the agent. Owns every socket, SSL object and dialog it creates. */
#ifndef RP_ENGINE_H
#define RP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dialog.h"
#include "target.h"

enum engine_scope {
	ENGINE_SCOPE_ALLOW = 0,
	ENGINE_SCOPE_DENY,    /* out of scope: an error result */
	ENGINE_SCOPE_EXCLUDE, /* on a do-not-test list: an excluded result */
};

struct engine_params {
	struct dialog_params dialog; /* template: server_ip and local_domain are
	                                filled per address by the engine */
	unsigned concurrency;        /* dialogs in flight (default 1000) */
	double rate;                 /* new connections per second, 0 = unlimited (default 100) */
	unsigned pause_ms;           /* between two sessions to one address (default 1000) */
	const char *bind_addr;       /* source address, NULL = any */
	unsigned dns_timeout_ms;     /* per query (default 5000) */
	bool use_mx;                 /* names without a port: try MX first (default true) */
	const char *resolv_conf;     /* c-ares servers from this file instead of
	                                /etc/resolv.conf; NULL = system default */
	/* Called about every 250 ms when set (progress display). */
	void (*progress)(size_t queued, size_t running, size_t done, void *arg);
	void *progress_arg;
	/* Optional scope filter, applied to every resolved address (port set)
	 * before any connection, with the host name it came from (the MX host or
	 * the name resolved; NULL for an address target), and first to a name
	 * target before it is resolved (sa NULL, len 0). ENGINE_SCOPE_DENY
	 * refuses it: the address yields a probe_result with dialog NULL, verdict
	 * DV_ERROR and the reason written into why, or ENGINE_SCOPE_REFUSED when
	 * why is left empty. ENGINE_SCOPE_EXCLUDE refuses it as excluded: verdict
	 * DV_EXCLUDED, reason why (the entry, its reason and origin). why has
	 * whylen bytes and starts empty. NULL = every address allowed. */
	enum engine_scope (*scope)(const struct sockaddr *sa, socklen_t len, const char *host,
	                           char *why, size_t whylen, void *arg);
	void *scope_arg;
	/* The whole run's deadline in ms from engine_run(), 0 = none. When it
	 * passes, dialogs in flight end as error "order deadline of N s passed"
	 * and every target not yet started is reported (dialog NULL, DV_ERROR,
	 * "not run: order deadline of N s passed"). Each dialog also has its
	 * own hard deadline (dialog.deadline_ms). */
	unsigned deadline_ms;
	/* Handshake CPU one dialog may spend over all its sessions before its
	 * next handshake is refused; 0 or more = RP_TLS_CPU_BUDGET_MS. */
	unsigned tls_cpu_budget_ms;
	/* Optional: the per-test local parts of one dialog (canary tokens), called
	 * as its dialog is made, with the target as written and the address
	 * dialled. It fills to_locals[i] / from_locals[i] for each of the ntests
	 * catalogue tests tests[] (dialog.tests) (NULL = the common one); the strings must live
	 * until the next call (the dialog copies them). Returns 0, or -1 to run the dialog without
	 * them. */
	int (*locals)(void *arg, const char *target, const char *address, const size_t *tests,
	              size_t ntests, const char **to_locals, const char **from_locals);
	void *locals_arg;
};
#define ENGINE_SCOPE_REFUSED "refused by the agent's scope"
void engine_params_defaults(struct engine_params *p);

/* One finished dialog, or a target that could not be resolved. Everything is
 * borrowed and valid only during the callback. */
struct probe_result {
	const char *target;    /* as the user wrote it */
	const char *host;      /* host name probed, NULL for address targets */
	const char *mx_domain; /* set when the host came from this domain's MX */
	int mx_pref;           /* its MX preference, -1 when not via MX */
	const char *address;   /* textual address, NULL when resolution failed */
	uint16_t port;
	const struct dialog *dialog; /* NULL when no dialog ran */
	enum dialog_verdict verdict; /* dialog_verdict(), or DV_ERROR / DV_UNREACHABLE /
	                                DV_EXCLUDED (refused by the scope filter) */
	const char *reason;          /* why no dialog ran ("DNS: no such domain") */
	uint64_t started_ms, finished_ms;
};
typedef void (*engine_result_cb)(const struct probe_result *r, void *arg);

struct engine;

/* NULL with a message in err (bad bind address, c-ares init...). */
struct engine *engine_new(const struct engine_params *p, char *err, size_t errlen);
void engine_free(struct engine **e);

/* Queue a target (copied). Returns 0, or -1 when the queue is full. */
int engine_add(struct engine *e, const struct target_spec *t);

/* Run until every queued target is done; cb is called once per dialog and
 * once per unresolvable target. Returns 0, or -1 on a fatal loop error.
 * A SIGINT/SIGTERM handler may call engine_stop(): dialogs in flight end
 * with what they have. */
int engine_run(struct engine *e, engine_result_cb cb, void *arg);
void engine_stop(struct engine *e);

/* Peak concurrent dialogs seen (for the benchmark). */
size_t engine_peak_dialogs(const struct engine *e);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME) and monotonic ms. */
uint64_t engine_now_ms(void);

#endif
