/* cmd_schedule.c - `relayprobe schedule add|list|remove|run-now`: periodic
 * audits of inventory targets, run by the controller (docs/distributed.md).
 * --every is checked here (1s to RP_SCHED_EVERY_MAX), --at is HH:MM UTC. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "inv_common.h"
#include "report_render.h"
#include "rp_limits.h"

static const char *utc(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return "-";
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* "30s", "5m", "24h", "7d" (a bare number is seconds). -1 when bad. */
static long long parse_every(const char *s)
{
	char *end;
	unsigned long long v;
	long long mul = 1;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0 || v > RP_SCHED_EVERY_MAX)
		return -1;
	if (*end == 'm')
		mul = 60;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'd')
		mul = 86400;
	else if (*end != 's' && *end != '\0')
		return -1;
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if ((long long)v * mul > RP_SCHED_EVERY_MAX)
		return -1;
	return (long long)v * mul;
}

static int schedule_run(const struct inv_command *self, struct inv_opts *o, int argc, char **argv)
{
	struct admin_answer r = {0};
	const char *action = argv[0];
	json_t *req;
	int rc;
	char b1[32];

	if (strcmp(action, "add") == 0 && argc == 2) {
		long long every = parse_every(o->every);
		int at = -1;

		if (every < 0) {
			fprintf(stderr, "relayprobe schedule: --every N[s|m|h|d] is required "
			                "(1s to 366d)\n");
			return CLI_EXIT_USAGE;
		}
		if (o->at != NULL) {
			unsigned hh, mm;
			char extra;

			if (sscanf(o->at, "%2u:%2u%c", &hh, &mm, &extra) != 2 || hh > 23 ||
			    mm > 59 || strlen(o->at) != 5) {
				fprintf(stderr, "relayprobe schedule: --at must be HH:MM (UTC)\n");
				return CLI_EXIT_USAGE;
			}
			at = (int)(hh * 3600 + mm * 60);
		}
		if (o->nsel > 1) {
			fprintf(stderr, "relayprobe schedule: --client, --tag and --all exclude "
			                "each other\n");
			return CLI_EXIT_USAGE;
		}
		req = json_pack("{s:s, s:s, s:I, s:s}", "cmd", admin_cmd_name(ADMIN_SCHEDULE_ADD),
		                "name", argv[1], "every", (json_int_t)every, "selector",
		                o->client ? "client"
		                : o->tag  ? "tag"
		                          : "all");
		if (at >= 0)
			json_object_set_new(req, "at", json_integer(at));
		if (o->client || o->tag)
			json_object_set_new(req, "value",
			                    json_string(o->client ? o->client : o->tag));
		if (o->tests)
			json_object_set_new(req, "tests", json_string(o->tests));
		if (o->vantages && strcmp(o->vantages, "all") != 0) {
			json_t *v = json_array();

			for (const char *p = o->vantages; *p;) {
				size_t n = strcspn(p, ",");

				if (n > 0)
					json_array_append_new(v, json_stringn(p, n));
				p += n;
				if (*p == ',')
					p++;
			}
			json_object_set_new(req, "vantages", v);
		}
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			printf("schedule %s: next run %s\n", argv[1],
			       utc(json_integer_value(json_object_get(
			               json_object_get(r.json, "schedule"), "next_run")),
			           b1, sizeof(b1)));
	} else if (strcmp(action, "list") == 0 && argc == 1) {
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_SCHEDULE_LIST));
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			report_render_schedules(r.json, stdout);
	} else if ((strcmp(action, "remove") == 0 || strcmp(action, "run-now") == 0) && argc == 2) {
		req = json_pack("{s:s, s:s}", "cmd",
		                admin_cmd_name(strcmp(action, "remove") == 0
		                                   ? ADMIN_SCHEDULE_REMOVE
		                                   : ADMIN_SCHEDULE_RUN_NOW),
		                "name", argv[1]);
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json) {
			if (strcmp(action, "remove") == 0)
				printf("schedule %s removed\n", argv[1]);
			else
				printf("schedule %s: audit %lld started\n", argv[1],
				       (long long)json_integer_value(
				           json_object_get(r.json, "audit")));
		}
	} else {
		inv_usage(self, stderr);
		return CLI_EXIT_USAGE;
	}
	admin_reply_clear(&r);
	return rc;
}

static const struct inv_command schedule = {
    .usage = "usage: relayprobe schedule add NAME --every N[s|m|h|d] [--at HH:MM]\n"
             "                [--client C | --tag T | --all] [--vantages A,B|all]\n"
             "                [--tests ID,...]\n"
             "       relayprobe schedule list [--json]\n"
             "       relayprobe schedule remove NAME\n"
             "       relayprobe schedule run-now NAME\n"
             "\n"
             "Periodic audits of inventory targets run by the controller. --at is a\n"
             "UTC time the slots are aligned to; each schedule has a fixed jitter of\n"
             "up to 10% of the interval (at most 5 minutes). A run missed while the\n"
             "controller was down runs once when it is back.\n",
    .min_args = 1,
    .max_args = INT_MAX,
    .options = INV_BIT(INV_OPT_CLIENT) | INV_BIT(INV_OPT_TAG) | INV_BIT(INV_OPT_ALL) |
               INV_BIT(INV_OPT_EVERY) | INV_BIT(INV_OPT_AT) | INV_BIT(INV_OPT_VANTAGES) |
               INV_BIT(INV_OPT_TESTS),
    .run = schedule_run,
};

int schedule_main(int argc, char **argv)
{
	return inv_main(&schedule, argc, argv);
}
