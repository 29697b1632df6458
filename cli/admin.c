/* admin.c - the admin socket client (contract: docs/distributed.md, "Admin
 * socket"). Owns one ZeroMQ context; each request gets a fresh REQ socket
 * (ZMQ_LINGER 0, ZMQ_MAXMSGSIZE RP_ADMIN_MSG_MAX), so that a timed-out
 * request never wedges the next one. A reply is bounded, must be one frame
 * and one JSON object with a boolean "ok"; anything else is reported. */
#include "admin.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "report_render.h"
#include "rp_limits.h"

#define IPC_PREFIX   "ipc://"
#define IPC_PATH_MAX 107 /* sun_path less its NUL */

struct admin {
	void *ctx;
	const struct admin_cfg *cfg;
};

void admin_cfg_defaults(struct admin_cfg *c)
{
	const char *env = getenv(ADMIN_ENV);

	c->endpoint = env != NULL && env[0] != '\0' ? env : ADMIN_DEFAULT_ENDPOINT;
	c->timeout_s = ADMIN_DEFAULT_TIMEOUT_S;
}

static bool endpoint_ok(const char *e)
{
	size_t n = strlen(IPC_PREFIX), len = strlen(e);

	if (len <= n || len - n > IPC_PATH_MAX || strncmp(e, IPC_PREFIX, n) != 0)
		return false;
	for (const char *p = e + n; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

int cli_parse_seconds(const char *prog, const char *opt, const char *s, unsigned long min,
                      unsigned long max, unsigned long *out)
{
	char *end = NULL;
	unsigned long v;

	if (s[0] < '0' || s[0] > '9') {
		fprintf(stderr, "%s: %s: \"%s\" is not a number\n", prog, opt, s);
		return -1;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0') {
		fprintf(stderr, "%s: %s: \"%s\" is not a number\n", prog, opt, s);
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		fprintf(stderr, "%s: %s: \"%s\" is out of range (%lu-%lu)\n", prog, opt, s, min,
		        max);
		return -1;
	}
	*out = v;
	return 0;
}

int admin_cfg_check(const struct admin_cfg *c, const char *prog)
{
	if (endpoint_ok(c->endpoint))
		return 0;
	fprintf(stderr, "%s: %s: \"", prog,
	        c->endpoint == getenv(ADMIN_ENV) ? ADMIN_ENV : "--admin");
	report_put_clean(c->endpoint, stderr);
	fprintf(stderr, "\" is not an ipc:// endpoint (ipc://PATH, at most %d bytes of path)\n",
	        IPC_PATH_MAX);
	return -1;
}

int admin_cfg_option(struct admin_cfg *c, int id, const char *arg, const char *prog)
{
	switch (id) {
	case ADMIN_OPT_ENDPOINT:
		c->endpoint = arg;
		return admin_cfg_check(c, prog);
	case ADMIN_OPT_TIMEOUT:
		return cli_parse_seconds(prog, "--admin-timeout", arg, 1, ADMIN_TIMEOUT_MAX_S,
		                         &c->timeout_s);
	default:
		return 1;
	}
}

void cli_bad_option(const char *prog, int c, char **argv)
{
	if (c == ':')
		fprintf(stderr, "%s: option \"%s\" needs a value\n", prog, argv[optind - 1]);
	else if (optopt != 0)
		fprintf(stderr, "%s: unknown option \"-%c\" (try %s --help)\n", prog, optopt, prog);
	else
		fprintf(stderr, "%s: unknown option \"%s\" (try %s --help)\n", prog,
		        argv[optind - 1], prog);
}

void cli_option_not_taken(const char *prog, const char *name)
{
	fprintf(stderr, "%s: unknown option \"--%s\" (try %s --help)\n", prog, name, prog);
}

int cli_option_rest(const char *prog, int c, char **argv, struct admin_cfg *cfg)
{
	if (c == 'h' || c == CLI_OPT_HELP)
		return 1;
	if (c != '?' && c != ':' && cfg != NULL) {
		int rc = admin_cfg_option(cfg, c, optarg, prog);

		if (rc <= 0)
			return rc;
		c = '?';
	}
	cli_bad_option(prog, c, argv);
	return -1;
}

static void unreachable(const struct admin_cfg *c, const char *why)
{
	fprintf(stderr, "relayprobe: cannot reach the controller at ");
	report_put_clean(c->endpoint, stderr);
	fprintf(stderr, ": %s (is relayprobe-controller running?)\n", why);
}

static void bad_reply(const struct admin_cfg *c, const char *why)
{
	fprintf(stderr, "relayprobe: unusable reply from the controller at ");
	report_put_clean(c->endpoint, stderr);
	fprintf(stderr, ": %s\n", why);
}

struct admin *admin_new(const struct admin_cfg *c)
{
	struct admin *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		fprintf(stderr, "relayprobe: out of memory\n");
		return NULL;
	}
	a->cfg = c;
	a->ctx = zmq_ctx_new();
	if (a->ctx == NULL) {
		fprintf(stderr, "relayprobe: ZeroMQ: %s\n", zmq_strerror(errno));
		free(a);
		return NULL;
	}
	return a;
}

void admin_free(struct admin **a)
{
	if (a == NULL || *a == NULL)
		return;
	zmq_ctx_term((*a)->ctx);
	free(*a);
	*a = NULL;
}

void admin_reply_clear(struct admin_answer *r)
{
	if (r == NULL)
		return;
	json_decref(r->json);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

void admin_print_raw(const struct admin_answer *r, FILE *out)
{
	fwrite(r->raw, 1, r->rawlen, out);
	fputc('\n', out);
}

/* A missing or forbidden socket file is reported at once, without waiting. */
static int precheck(const struct admin_cfg *c)
{
	const char *path = c->endpoint + strlen(IPC_PREFIX);
	struct stat st;

	if (stat(path, &st) < 0) {
		unreachable(c, errno == ENOENT ? "no such socket" : strerror(errno));
		return -1;
	}
	if (access(path, R_OK | W_OK) < 0) {
		char why[160];
		snprintf(why, sizeof(why), "%s (the admin socket is mode 0660: use its group)",
		         strerror(errno));
		unreachable(c, why);
		return -1;
	}
	return 0;
}

/* Waits for one frame until the deadline; the bytes in *raw (NUL added). */
static int receive(struct admin *a, void *sock, char **raw, size_t *len)
{
	int64_t deadline = (int64_t)rp_mono_ms() + (int64_t)a->cfg->timeout_s * 1000;
	zmq_msg_t msg;
	int more = 0;
	size_t more_len = sizeof(more);

	for (;;) {
		zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
		int64_t left = deadline - (int64_t)rp_mono_ms();
		int rc;
		if (left <= 0) {
			unreachable(a->cfg, "timeout");
			return -1;
		}
		rc = zmq_poll(&it, 1, (long)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			unreachable(a->cfg, zmq_strerror(errno));
			return -1;
		}
		if (rc > 0)
			break;
	}
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
		unreachable(a->cfg, zmq_strerror(errno));
		zmq_msg_close(&msg);
		return -1;
	}
	if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_len) == 0 && more) {
		bad_reply(a->cfg, "more than one frame");
		zmq_msg_close(&msg);
		return -1;
	}
	*len = zmq_msg_size(&msg);
	if (*len > RP_ADMIN_MSG_MAX || (*raw = malloc(*len + 1)) == NULL) {
		bad_reply(a->cfg, *len > RP_ADMIN_MSG_MAX ? "too large" : "out of memory");
		zmq_msg_close(&msg);
		return -1;
	}
	memcpy(*raw, zmq_msg_data(&msg), *len);
	(*raw)[*len] = '\0';
	zmq_msg_close(&msg);
	return 0;
}

/* Checks the reply's shape; CLI_EXIT_* as admin_call. */
static int judge(struct admin *a, struct admin_answer *out)
{
	json_error_t jerr;
	json_t *ok, *err;

	out->json = json_loadb(out->raw, out->rawlen, JSON_REJECT_DUPLICATES, &jerr);
	if (out->json == NULL) {
		char why[sizeof(jerr.text) + 64];
		snprintf(why, sizeof(why), "not JSON (%s)", jerr.text);
		bad_reply(a->cfg, why);
		return CLI_EXIT_UNREACHABLE;
	}
	ok = json_object_get(out->json, "ok");
	if (!json_is_object(out->json) || !json_is_boolean(ok)) {
		bad_reply(a->cfg, "not an object with a boolean \"ok\"");
		return CLI_EXIT_UNREACHABLE;
	}
	if (json_is_true(ok))
		return CLI_EXIT_OK;
	err = json_object_get(out->json, "error");
	fputs("relayprobe: the controller refused: ", stderr);
	report_put_clean(json_is_string(err) ? json_string_value(err) : "no reason given", stderr);
	fputc('\n', stderr);
	return CLI_EXIT_USAGE;
}

int admin_call(struct admin *a, json_t *req, struct admin_answer *out)
{
	void *sock = NULL;
	char *text = NULL;
	size_t len;
	int linger = 0, sndtimeo = (int)(a->cfg->timeout_s * 1000);
	int64_t maxsize = RP_ADMIN_MSG_MAX;
	int status = CLI_EXIT_UNREACHABLE;

	memset(out, 0, sizeof(*out));
	if (precheck(a->cfg) < 0)
		return CLI_EXIT_UNREACHABLE;
	text = json_dumps(req, JSON_COMPACT);
	if (text == NULL) {
		fprintf(stderr, "relayprobe: out of memory building the request\n");
		return CLI_EXIT_UNREACHABLE;
	}
	len = strlen(text);
	if (len > RP_ADMIN_MSG_MAX) {
		fprintf(stderr, "relayprobe: request too large (%zu bytes, at most %d)\n", len,
		        RP_ADMIN_MSG_MAX);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	sock = zmq_socket(a->ctx, ZMQ_REQ);
	if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo)) < 0 ||
	    zmq_connect(sock, a->cfg->endpoint) < 0) {
		unreachable(a->cfg, zmq_strerror(errno));
		goto out;
	}
	if (zmq_send(sock, text, len, 0) < 0) {
		unreachable(a->cfg, errno == EAGAIN ? "timeout" : zmq_strerror(errno));
		goto out;
	}
	if (receive(a, sock, &out->raw, &out->rawlen) < 0)
		goto out;
	status = judge(a, out);
out:
	if (sock != NULL)
		zmq_close(sock);
	free(text);
	if (status != CLI_EXIT_OK) {
		bool answered = out->raw != NULL;

		admin_reply_clear(out);
		out->answered = answered;
	}
	return status;
}

int admin_request(const struct admin_cfg *c, json_t *req, struct admin_answer *out)
{
	struct admin *a = admin_new(c);
	int status;

	memset(out, 0, sizeof(*out));
	if (a == NULL)
		return CLI_EXIT_UNREACHABLE;
	status = admin_call(a, req, out);
	admin_free(&a);
	return status;
}
