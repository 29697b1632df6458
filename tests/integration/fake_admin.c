/* fake_admin.c - a canned controller admin socket for the CLI tests:
 * `rp_fake_admin ENDPOINT REPLIES.json LOG` binds ENDPOINT (a ROUTER, so
 * that it may leave a request unanswered) and answers each JSON request by
 * its "cmd" from REPLIES.json: key "cmd:id" (when the request has a string
 * "id"), then "cmd@N" (when it has an integer "offset" N: the pages of the
 * bulk `transcripts` command), before "cmd"; an object is sent as JSON, a
 * string as raw bytes, an array one element per request (the last repeats),
 * null never answered. A "cmd" that wire/admin_proto.h does not name is
 * refused ({"ok":false,"error":"unknown command"}) whatever REPLIES.json
 * holds, so that a CLI typo fails the CLI tests. Every request is appended
 * to LOG, one line each.
 * Stops on SIGTERM/SIGINT. Test helper only. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "admin_proto.h"

#define REQ_MAX (64 * 1024 * 1024)

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* The canned reply for req, advancing arrays; NULL = do not answer. */
static json_t *pick(json_t *replies, json_t *req, size_t *counters, json_t *index)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	const char *id = json_string_value(json_object_get(req, "id"));
	const json_t *offset = json_object_get(req, "offset");
	char key[512];
	json_t *r = NULL, *n;
	size_t i;

	if (cmd == NULL)
		return json_pack("{s:b,s:s}", "ok", 0, "error", "no cmd");
	if (admin_cmd_from_name(cmd) < 0) /* the controller's table decides, not REPLIES */
		return json_pack("{s:b,s:s}", "ok", 0, "error", "unknown command");
	if (id != NULL) {
		snprintf(key, sizeof(key), "%s:%s", cmd, id);
		r = json_object_get(replies, key);
	}
	if (r == NULL && json_is_integer(offset)) {
		snprintf(key, sizeof(key), "%s@%" JSON_INTEGER_FORMAT, cmd,
		         json_integer_value(offset));
		r = json_object_get(replies, key);
	}
	if (r == NULL) {
		snprintf(key, sizeof(key), "%s", cmd);
		r = json_object_get(replies, key);
	}
	if (r == NULL)
		return json_pack("{s:b,s:s}", "ok", 0, "error", "unknown command");
	if (!json_is_array(r))
		return json_incref(r);
	n = json_object_get(index, key);
	i = json_is_integer(n) ? (size_t)json_integer_value(n) : json_object_size(index);
	if (!json_is_integer(n))
		json_object_set_new(index, key, json_integer((json_int_t)i));
	if (json_array_size(r) == 0 || i >= 256)
		return NULL;
	r = json_array_get(r,
	                   counters[i] < json_array_size(r) ? counters[i] : json_array_size(r) - 1);
	counters[i]++;
	return json_incref(r);
}

int main(int argc, char **argv)
{
	json_error_t jerr;
	json_t *replies, *index = json_object();
	size_t counters[256] = {0};
	void *ctx, *sock;
	FILE *log;
	int linger = 0, rcvtimeo = 100; /* g_stop is seen within 0.1 s whichever
	                                 * thread the signal lands on */
	struct sigaction sa;

	if (argc != 4) {
		fprintf(stderr, "usage: %s ENDPOINT REPLIES.json LOG\n", argv[0]);
		return 2;
	}
	replies = json_load_file(argv[2], 0, &jerr);
	if (!json_is_object(replies)) {
		fprintf(stderr, "%s: %s:%d: %s\n", argv[0], argv[2], jerr.line, jerr.text);
		return 2;
	}
	log = fopen(argv[3], "a");
	if (log == NULL) {
		perror(argv[3]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ctx = zmq_ctx_new();
	sock = zmq_socket(ctx, ZMQ_ROUTER);
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &rcvtimeo, sizeof(rcvtimeo));
	if (zmq_bind(sock, argv[1]) < 0) {
		fprintf(stderr, "%s: bind %s: %s\n", argv[0], argv[1], zmq_strerror(errno));
		fclose(log);
		return 2;
	}
	while (!g_stop) {
		zmq_msg_t frames[3];
		int nf = 0, more = 1;
		size_t more_len = sizeof(more);
		json_t *req, *rep;

		while (more && nf < 3) {
			zmq_msg_init(&frames[nf]);
			if (zmq_msg_recv(&frames[nf], sock, 0) < 0) {
				zmq_msg_close(&frames[nf]);
				goto next;
			}
			nf++;
			zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_len);
		}
		if (nf != 3 || more || zmq_msg_size(&frames[2]) > REQ_MAX)
			goto next;
		fprintf(log, "%.*s\n", (int)zmq_msg_size(&frames[2]),
		        (const char *)zmq_msg_data(&frames[2]));
		fflush(log);
		req = json_loadb(zmq_msg_data(&frames[2]), zmq_msg_size(&frames[2]), 0, NULL);
		rep = pick(replies, req, counters, index);
		json_decref(req);
		if (rep != NULL && !json_is_null(rep)) {
			char *text = json_is_string(rep) ? strdup(json_string_value(rep))
			                                 : json_dumps(rep, JSON_COMPACT);
			if (text != NULL) {
				zmq_send(sock, zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]),
				         ZMQ_SNDMORE);
				zmq_send(sock, "", 0, ZMQ_SNDMORE);
				zmq_send(sock, text, strlen(text), 0);
			}
			free(text);
		}
		json_decref(rep);
	next:
		for (int i = 0; i < nf; i++)
			zmq_msg_close(&frames[i]);
	}
	zmq_close(sock);
	zmq_ctx_term(ctx);
	fclose(log);
	json_decref(replies);
	json_decref(index);
	return 0;
}
