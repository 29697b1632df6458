/* bench_ingest.c - a synthetic agent that measures how fast relayprobe-controller
 * ingests signed results (verify, commit, ack). It connects like an agent
 * (DEALER, CURVE, the controller key pinned), says HELLO, runs the command
 * after "--" (e.g. `relayprobe audit --vantages NAME ...`), verifies and acks
 * the ORDERs it gets, then sends N pre-signed RESULTs for the orders' targets
 * with at most --window un-acked, counts RESULT_ACKs and prints results/s.
 * Bounds: --results <= BENCH_RESULTS_MAX, --window <= BENCH_WINDOW_MAX. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "control.h"
#include "envelope.h"
#include "keys.h"
#include "replay.h"
#include "rp_limits.h"

#define BENCH_RESULTS_MAX 1000000
#define BENCH_WINDOW_MAX  100000
#define BENCH_ORDERS_MAX  1024
#define BENCH_JSON_MAX    8192

struct order {
	char *id;
	uint8_t sha[WIRE_SHA256_LEN];
	struct wire_order o;
	uint32_t results;
};

struct sent {
	char *key; /* "order_id\ttarget" */
	bool acked;
};

struct bench {
	struct keys *own;
	struct keys *ctl;
	void *zctx;
	void *sock;
	struct replay_state *replay;
	struct order orders[BENCH_ORDERS_MAX];
	size_t n_orders;
	size_t targets; /* over all orders */
	struct sent *sent;
	size_t n_sent;
	uint8_t **msgs;
	size_t *lens;
	long acks, done_acks, bad_acks;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: bench_ingest --keys AGENT.secret --controller-pub CTL.pub --connect "
	             "ENDPOINT\n"
	             "                    [--results N] [--window W] [--per-order K] "
	             "[--timeout S] [-- CMD ARGS...]\n"
	             "  --results N     results to send (default 20000, at most the orders' "
	             "targets)\n"
	             "  --window W      un-acked results in flight at most (default 1000)\n"
	             "  --per-order K   Hello.max_targets_per_order (default 1000)\n"
	             "  --timeout S     give up after S s without progress (default 60)\n"
	             "  CMD             run once the HELLO is out (starts the audit)\n"
	             "Prints one line: results=N acked=N seconds=S results_per_s=R ...\n");
}

static int parse_num(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "bench_ingest: %s: \"%s\" is not a number in %ld..%ld\n", opt, s,
		        lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int send_hello(struct bench *b, uint32_t per_order)
{
	struct wire_ctl_hello h = {0};
	char *caps[] = {"probe"};
	uint8_t *msg = NULL;
	size_t len = 0;
	int rc;

	h.agent_id = (char *)keys_name(b->own);
	h.software_version = "bench_ingest";
	h.protocol_version = WIRE_PROTOCOL_VERSION;
	h.caps = caps;
	h.n_caps = 1;
	h.has_ed25519 = true;
	memcpy(h.ed25519_public, keys_ed25519_public(b->own), KEYS_ED25519_PK_LEN);
	h.max_targets_per_order = per_order;
	h.max_concurrency = 1000;
	if (wire_ctl_hello_pack(&h, &msg, &len) < 0)
		return -1;
	rc = zmq_send(b->sock, msg, len, 0) < 0 ? -1 : 0;
	free(msg);
	return rc;
}

static int send_order_ack(struct bench *b, const char *id)
{
	struct wire_ctl_order_ack a = {(char *)id, true, "", 0};
	uint8_t *msg = NULL;
	size_t len = 0;
	int rc;

	if (wire_ctl_order_ack_pack(&a, &msg, &len) < 0)
		return -1;
	rc = zmq_send(b->sock, msg, len, 0) < 0 ? -1 : 0;
	free(msg);
	return rc;
}

/* A verified ORDER: recorded and acked (acked again when already seen). */
static void on_order(struct bench *b, const uint8_t *msg, size_t len)
{
	struct wire_order_policy pol = {.controller_pk = keys_ed25519_public(b->ctl),
	                                .agent_id = keys_name(b->own),
	                                .min_protocol = WIRE_PROTOCOL_VERSION,
	                                .now_ms = wall_ms(),
	                                .skew_ms = 300000,
	                                .replay = b->replay};
	struct wire_order o;
	enum wire_reason r = wire_order_verify(msg, len, &pol, &o);

	if (r == WIRE_ERR_REPLAY) {
		struct replay_state *empty = replay_state_new();
		pol.replay = empty;
		if (empty != NULL && wire_order_verify(msg, len, &pol, &o) == WIRE_OK) {
			send_order_ack(b, o.order_id);
			wire_order_clear(&o);
		}
		replay_state_free(&empty);
		return;
	}
	if (r != WIRE_OK) {
		fprintf(stderr, "bench_ingest: order rejected reason=%s\n", wire_reason_name(r));
		return;
	}
	if (b->n_orders >= BENCH_ORDERS_MAX ||
	    replay_state_accept(b->replay, o.order_id, o.sequence) < 0) {
		fprintf(stderr, "bench_ingest: order %s not recorded\n", o.order_id);
		wire_order_clear(&o);
		return;
	}
	b->orders[b->n_orders].o = o;
	b->orders[b->n_orders].id = o.order_id;
	memcpy(b->orders[b->n_orders].sha, o.body_sha256, WIRE_SHA256_LEN);
	b->n_orders++;
	b->targets += o.spec.n_targets;
	send_order_ack(b, o.order_id);
	/* ORDER_DONE at once: the controller keeps only 2 orders out per
	 * agent and sends the next when one is done. The results follow in
	 * the timed phase (they are matched to the order, not its state). */
	{
		struct wire_ctl_order_done d = {o.order_id, (uint32_t)o.spec.n_targets, wall_ms()};
		uint8_t *dm = NULL;
		size_t dl = 0;

		if (wire_ctl_order_done_pack(&d, &dm, &dl) == 0)
			zmq_send(b->sock, dm, dl, 0);
		free(dm);
	}
}

static int sent_cmp(const void *x, const void *y)
{
	return strcmp(((const struct sent *)x)->key, ((const struct sent *)y)->key);
}

static void on_result_ack(struct bench *b, const uint8_t *msg, size_t len)
{
	struct wire_ctl_result_ack a;
	char key[2 * RP_WIRE_ID_MAX + 600];
	struct sent k = {.key = key}, *hit;

	if (wire_ctl_result_ack_parse(msg, len, &a) < 0) {
		b->bad_acks++;
		return;
	}
	if (a.target[0] == '\0') {
		b->done_acks++;
	} else {
		snprintf(key, sizeof(key), "%s\t%s", a.order_id, a.target);
		hit = bsearch(&k, b->sent, b->n_sent, sizeof(*b->sent), sent_cmp);
		if (hit == NULL || hit->acked || !a.committed) {
			b->bad_acks++;
		} else {
			hit->acked = true;
			b->acks++;
		}
	}
	wire_ctl_result_ack_clear(&a);
}

/* Reads every waiting message (up to wait_ms for the first). -1 on error. */
static int drain(struct bench *b, long wait_ms)
{
	zmq_pollitem_t it = {b->sock, 0, ZMQ_POLLIN, 0};
	int rc = zmq_poll(&it, 1, wait_ms);

	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	while (rc > 0) {
		zmq_msg_t m;
		int kind;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, b->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		kind = wire_envelope_kind(zmq_msg_data(&m), zmq_msg_size(&m));
		if (kind == WIRE_KIND_ORDER)
			on_order(b, zmq_msg_data(&m), zmq_msg_size(&m));
		else if (kind == WIRE_KIND_RESULT_ACK)
			on_result_ack(b, zmq_msg_data(&m), zmq_msg_size(&m));
		zmq_msg_close(&m);
	}
	return 0;
}

/* A realistic `relayprobe probe --json` object (about 3 KB). */
static int result_json(char *buf, size_t cap, const char *target, uint32_t port, size_t i)
{
	uint64_t t = wall_ms();
	int n = snprintf(
	    buf, cap,
	    "{\"target\":\"%s\",\"host\":null,\"mx_domain\":null,\"mx_preference\":null,"
	    "\"address\":\"%s\",\"port\":%u,\"verdict\":\"open\",\"reason\":\"2 of 3 relay "
	    "tests accepted\",\"started\":\"2024-05-01T12:00:00.120Z\",\"finished\":"
	    "\"2024-05-01T12:00:00.310Z\",\"confidence\":\"high\",\"server_name\":"
	    "\"sink.example.net\",\"local_domain\":null,\"banner\":\"sink.example.net ESMTP\","
	    "\"helo\":\"EHLO\",\"extensions\":[\"PIPELINING\",\"SIZE\",\"8BITMIME\","
	    "\"ENHANCEDSTATUSCODES\"],\"tls\":null,\"sessions\":1,\"round_trips\":4,"
	    "\"evidence\":[9,10],\"tests\":["
	    "{\"id\":\"null-sender\",\"mail_from\":\"\",\"rcpt_to\":\"relaytest@relay-check."
	    "example.org\",\"outcome\":\"rejected\",\"reject_class\":\"relay-denied\",\"code\":"
	    "554,\"enhanced\":\"5.7.1\",\"reply\":\"554 5.7.1 <relaytest@relay-check.example.org>"
	    ": Relay access denied\",\"evidence\":8,\"confidence\":\"high\",\"attempts\":1,"
	    "\"reason\":null},"
	    "{\"id\":\"external-sender\",\"mail_from\":\"relayprobe@relay-check.example.org\","
	    "\"rcpt_to\":\"relaytest@relay-check.example.org\",\"outcome\":\"accepted\","
	    "\"reject_class\":null,\"code\":250,\"enhanced\":\"2.1.5\",\"reply\":\"250 2.1.5 Ok\","
	    "\"evidence\":9,\"confidence\":\"high\",\"attempts\":1,\"reason\":null},"
	    "{\"id\":\"percent-hack\",\"mail_from\":\"relayprobe@relay-check.example.org\","
	    "\"rcpt_to\":\"relaytest%%relay-check.example.org@[%s]\",\"outcome\":\"accepted\","
	    "\"reject_class\":null,\"code\":250,\"enhanced\":\"2.1.5\",\"reply\":\"250 2.1.5 Ok\","
	    "\"evidence\":10,\"confidence\":\"high\",\"attempts\":1,\"reason\":null}],"
	    "\"transcript\":["
	    "{\"i\":0,\"t\":%" PRIu64 ",\"dir\":\"event\",\"tls\":false,\"text\":\"Trying %s:%u "
	    "(session 1)...\"},"
	    "{\"i\":1,\"t\":%" PRIu64 ",\"dir\":\"event\",\"tls\":false,\"text\":\"Connected to "
	    "%s:%u\"},"
	    "{\"i\":2,\"t\":%" PRIu64 ",\"dir\":\"recv\",\"tls\":false,\"text\":\"220 "
	    "sink.example.net ESMTP\"},"
	    "{\"i\":3,\"t\":%" PRIu64 ",\"dir\":\"sent\",\"tls\":false,\"text\":\"EHLO "
	    "relayprobe.example.net\"},"
	    "{\"i\":4,\"t\":%" PRIu64 ",\"dir\":\"recv\",\"tls\":false,\"text\":\"250-sink."
	    "example.net\"},"
	    "{\"i\":5,\"t\":%" PRIu64 ",\"dir\":\"recv\",\"tls\":false,\"text\":\"250-PIPELINING"
	    "\"},"
	    "{\"i\":6,\"t\":%" PRIu64 ",\"dir\":\"recv\",\"tls\":false,\"text\":\"250-SIZE "
	    "10240000\"},"
	    "{\"i\":7,\"t\":%" PRIu64 ",\"dir\":\"recv\",\"tls\":false,\"text\":\"250 8BITMIME\"},"
	    "{\"i\":8,\"t\":%" PRIu64 ",\"dir\":\"sent\",\"tls\":false,\"text\":\"MAIL FROM:<> / "
	    "RCPT TO:<relaytest@relay-check.example.org>\"},"
	    "{\"i\":9,\"t\":%" PRIu64 ",\"dir\":\"recv\",\"tls\":false,\"text\":\"250 2.1.5 Ok\"},"
	    "{\"i\":10,\"t\":%" PRIu64 ",\"dir\":\"recv\",\"tls\":false,\"text\":\"250 2.1.5 Ok"
	    "\"},"
	    "{\"i\":11,\"t\":%" PRIu64 ",\"dir\":\"sent\",\"tls\":false,\"text\":\"QUIT\"},"
	    "{\"i\":12,\"t\":%" PRIu64 ",\"dir\":\"recv\",\"tls\":false,\"text\":\"221 2.0.0 Bye"
	    "\"},"
	    "{\"i\":13,\"t\":%" PRIu64 ",\"dir\":\"event\",\"tls\":false,\"text\":\"Closed "
	    "(result %zu)\"}]}",
	    target, target, port, target, t, target, port, t + 1, target, port, t + 2, t + 3, t + 4,
	    t + 5, t + 6, t + 7, t + 8, t + 9, t + 10, t + 11, t + 12, t + 13, i);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Signs one RESULT per target of the received orders, up to want. */
static int presign(struct bench *b, size_t want)
{
	char json[BENCH_JSON_MAX];
	size_t i = 0;

	b->sent = calloc(want, sizeof(*b->sent));
	b->msgs = calloc(want, sizeof(*b->msgs));
	b->lens = calloc(want, sizeof(*b->lens));
	if (b->sent == NULL || b->msgs == NULL || b->lens == NULL)
		return -1;
	for (size_t k = 0; k < b->n_orders && i < want; k++) {
		struct order *o = &b->orders[k];
		uint32_t port = o->o.spec.port ? o->o.spec.port : 25;

		for (size_t t = 0; t < o->o.spec.n_targets && i < want; t++, i++) {
			const char *target = o->o.spec.targets[t];
			struct wire_result r = {0};
			size_t klen = strlen(o->id) + strlen(target) + 2;
			int n = result_json(json, sizeof(json), target, port, i);

			b->sent[i].key = malloc(klen);
			if (n < 0 || b->sent[i].key == NULL)
				return -1;
			snprintf(b->sent[i].key, klen, "%s\t%s", o->id, target);
			r.order_id = o->id;
			memcpy(r.order_body_sha256, o->sha, WIRE_SHA256_LEN);
			r.agent_id = (char *)keys_name(b->own);
			r.target = (char *)target;
			r.address = (char *)target;
			r.port = port;
			r.verdict = "open";
			r.result_json = (uint8_t *)json;
			r.result_json_len = (size_t)n;
			r.finished_at_ms = wall_ms();
			if (wire_result_sign(&r, b->own, &b->msgs[i], &b->lens[i]) < 0) {
				fprintf(stderr, "bench_ingest: cannot sign result for %s\n",
				        target);
				return -1;
			}
			o->results++;
		}
	}
	b->n_sent = i;
	return 0;
}

static int run_cmd(char **argv)
{
	pid_t pid = fork();
	int st = 0;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = dup(STDERR_FILENO); /* the command's stdout goes to our stderr */
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int sock_open(struct bench *b, const char *endpoint)
{
	int hwm = BENCH_WINDOW_MAX * 2, linger = 0;
	int64_t max64 = RP_WIRE_MSG_MAX;

	b->zctx = zmq_ctx_new();
	if (b->zctx == NULL || (b->sock = zmq_socket(b->zctx, ZMQ_DEALER)) == NULL)
		return -1;
	if (zmq_setsockopt(b->sock, ZMQ_CURVE_SERVERKEY, keys_curve_public(b->ctl), KEYS_Z85_LEN) <
	        0 ||
	    zmq_setsockopt(b->sock, ZMQ_CURVE_PUBLICKEY, keys_curve_public(b->own), KEYS_Z85_LEN) <
	        0 ||
	    zmq_setsockopt(b->sock, ZMQ_CURVE_SECRETKEY, keys_curve_secret(b->own), KEYS_Z85_LEN) <
	        0 ||
	    zmq_setsockopt(b->sock, ZMQ_MAXMSGSIZE, &max64, sizeof(max64)) < 0 ||
	    zmq_setsockopt(b->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
	    zmq_setsockopt(b->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
	    zmq_setsockopt(b->sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
	    zmq_connect(b->sock, endpoint) < 0)
		return -1;
	return 0;
}

static void bench_free(struct bench *b)
{
	for (size_t i = 0; i < b->n_orders; i++)
		wire_order_clear(&b->orders[i].o);
	for (size_t i = 0; i < b->n_sent; i++) {
		free(b->sent[i].key);
		free(b->msgs[i]);
	}
	free(b->sent);
	free(b->msgs);
	free(b->lens);
	replay_state_free(&b->replay);
	if (b->sock != NULL)
		zmq_close(b->sock);
	if (b->zctx != NULL)
		zmq_ctx_term(b->zctx);
	keys_free(&b->own);
	keys_free(&b->ctl);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"keys", required_argument, NULL, 'k'},
	                                     {"controller-pub", required_argument, NULL, 'c'},
	                                     {"connect", required_argument, NULL, 'e'},
	                                     {"results", required_argument, NULL, 'n'},
	                                     {"window", required_argument, NULL, 'w'},
	                                     {"per-order", required_argument, NULL, 'p'},
	                                     {"timeout", required_argument, NULL, 't'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct bench b = {0};
	const char *keyf = NULL, *ctlf = NULL, *endpoint = NULL;
	long want = 20000, window = 1000, per_order = 1000, timeout_s = 60, v;
	char err[512];
	int c, rc = 1;
	size_t next = 0, msg_total = 0;
	uint64_t t0, t1, last_progress, hello_at;
	long last_acks = -1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keyf = optarg;
			break;
		case 'c':
			ctlf = optarg;
			break;
		case 'e':
			endpoint = optarg;
			break;
		case 'n':
		case 'w':
		case 'p':
		case 't':
			if (parse_num(c == 'n'   ? "--results"
			              : c == 'w' ? "--window"
			              : c == 'p' ? "--per-order"
			                         : "--timeout",
			              optarg, 1,
			              c == 'n'   ? BENCH_RESULTS_MAX
			              : c == 'w' ? BENCH_WINDOW_MAX
			              : c == 'p' ? RP_WIRE_ORDER_TARGETS_MAX
			                         : 3600,
			              &v) < 0)
				return 2;
			if (c == 'n')
				want = v;
			else if (c == 'w')
				window = v;
			else if (c == 'p')
				per_order = v;
			else
				timeout_s = v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (keyf == NULL || ctlf == NULL || endpoint == NULL) {
		usage(stderr);
		return 2;
	}
	if ((b.own = keys_load_secret(keyf, err, sizeof(err))) == NULL ||
	    (b.ctl = keys_load_public(ctlf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_ingest: %s\n", err);
		goto out;
	}
	if ((b.replay = replay_state_new()) == NULL || sock_open(&b, endpoint) < 0) {
		fprintf(stderr, "bench_ingest: socket: %s\n", zmq_strerror(errno));
		goto out;
	}
	/* HELLO, let the controller see it, then start the audit. */
	if (send_hello(&b, (uint32_t)per_order) < 0 || drain(&b, 500) < 0)
		goto out;
	if (optind < argc && run_cmd(argv + optind) < 0) {
		fprintf(stderr, "bench_ingest: command %s failed\n", argv[optind]);
		goto out;
	}
	/* Orders: until they cover want targets (HELLO again every 2 s). */
	last_progress = hello_at = mono_ns();
	while (b.targets < (size_t)want) {
		size_t before = b.targets;

		if (drain(&b, 200) < 0)
			goto out;
		if (b.targets != before)
			last_progress = mono_ns();
		if (mono_ns() - hello_at > 2000000000u) {
			send_hello(&b, (uint32_t)per_order);
			hello_at = mono_ns();
		}
		if (mono_ns() - last_progress > (uint64_t)timeout_s * 1000000000u) {
			fprintf(stderr,
			        "bench_ingest: orders cover %zu targets of %ld after %ld s\n",
			        b.targets, want, timeout_s);
			goto out;
		}
	}
	drain(&b, 100);
	if (presign(&b, (size_t)want) < 0) {
		fprintf(stderr, "bench_ingest: out of memory signing results\n");
		goto out;
	}
	for (size_t i = 0; i < b.n_sent; i++)
		msg_total += b.lens[i];
	qsort(b.sent, b.n_sent, sizeof(*b.sent), sent_cmp);
	/* presign's order of msgs no longer matches sent[] after the sort;
	 * acks are matched by key only, so that is fine. */

	t0 = last_progress = mono_ns();
	while ((size_t)b.acks < b.n_sent) {
		while (next < b.n_sent && (long)next - b.acks < window) {
			if (zmq_send(b.sock, b.msgs[next], b.lens[next], 0) < 0) {
				fprintf(stderr, "bench_ingest: send: %s\n", zmq_strerror(errno));
				goto out;
			}
			next++;
		}
		if (drain(&b, 100) < 0)
			goto out;
		if (b.acks != last_acks) {
			last_acks = b.acks;
			last_progress = mono_ns();
		} else if (mono_ns() - last_progress > (uint64_t)timeout_s * 1000000000u) {
			fprintf(stderr, "bench_ingest: stalled: %ld of %zu acked after %ld s\n",
			        b.acks, b.n_sent, timeout_s);
			break;
		}
	}
	t1 = mono_ns();

	/* ORDER_DONE for each order (untimed), so the audit completes. */
	for (size_t k = 0; k < b.n_orders; k++) {
		struct wire_ctl_order_done d = {b.orders[k].id, b.orders[k].results, wall_ms()};
		uint8_t *msg = NULL;
		size_t len = 0;

		if (wire_ctl_order_done_pack(&d, &msg, &len) == 0)
			zmq_send(b.sock, msg, len, 0);
		free(msg);
	}
	last_progress = mono_ns();
	while ((size_t)b.done_acks < b.n_orders &&
	       mono_ns() - last_progress < (uint64_t)timeout_s * 1000000000u)
		if (drain(&b, 100) < 0)
			break;
	{
		double secs = (double)(t1 - t0) / 1e9;
		printf(
		    "results=%zu acked=%ld bad_acks=%ld seconds=%.3f results_per_s=%.0f orders=%zu "
		    "orders_done_acked=%ld window=%ld avg_msg_bytes=%zu\n",
		    b.n_sent, b.acks, b.bad_acks, secs, secs > 0 ? (double)b.acks / secs : 0.0,
		    b.n_orders, b.done_acks, window, b.n_sent ? msg_total / b.n_sent : 0);
	}
	rc = ((size_t)b.acks == b.n_sent && b.bad_acks == 0 && (size_t)b.done_acks == b.n_orders)
	         ? 0
	         : 1;
out:
	bench_free(&b);
	return rc;
}
