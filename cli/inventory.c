/* inventory.c - `relayprobe targets import|list|remove`, `relayprobe
 * schedule add|list|remove|run-now`, `relayprobe history TARGET`,
 * `relayprobe events`, `relayprobe hooks` and `relayprobe retention run`:
 * the controller's inventory, schedules, verdict
 * history and events through its admin socket (docs/distributed.md). The
 * CSV import is parsed and checked here (RFC 4180; every bad row reported
 * as FILE:LINE: reason, nothing sent when any row is bad); fields are capped
 * by RP_INV_TEXT_MAX / RP_TARGET_LINE_MAX, rows by RP_INV_ROWS_MAX. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin.h"
#include "commands.h"
#include "report_render.h"
#include "rp_limits.h"
#include "syntax.h"
#include "target.h"

#define CSV_FIELD_MAX RP_TARGET_LINE_MAX
#define CSV_FIELDS    8

enum {
	OPT_JSON = 256,
	OPT_HELP,
	OPT_CLIENT,
	OPT_TAG,
	OPT_ALL,
	OPT_EVERY,
	OPT_AT,
	OPT_VANTAGES,
	OPT_TESTS
};

static const struct option long_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {"client", required_argument, NULL, OPT_CLIENT},
    {"tag", required_argument, NULL, OPT_TAG},
    {"all", no_argument, NULL, OPT_ALL},
    {"every", required_argument, NULL, OPT_EVERY},
    {"at", required_argument, NULL, OPT_AT},
    {"vantages", required_argument, NULL, OPT_VANTAGES},
    {"tests", required_argument, NULL, OPT_TESTS},
    ADMIN_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

struct opts {
	struct admin_cfg cfg;
	bool json, all;
	const char *client, *tag, *every, *at, *vantages, *tests;
	int nsel;
};

/* ---- CSV (RFC 4180) ---- */

struct csv {
	FILE *f;
	unsigned long line; /* current physical line */
};

/* Reads one record into fields (each malloc'd; *n set). 1 record, 0 EOF,
 * -1 error (reason in err). *start = the record's first line. */
static int csv_record(struct csv *c, char **fields, size_t *n, unsigned long *start, char *err,
                      size_t errlen)
{
	char buf[CSV_FIELD_MAX + 1];
	size_t len = 0;
	int ch, quoted = 0, after_quote = 0, any = 0;

	*n = 0;
	*start = c->line;
	for (;;) {
		ch = fgetc(c->f);
		if (ch == EOF && !any && *n == 0)
			return 0;
		any = 1;
		if (quoted) {
			if (ch == EOF) {
				snprintf(err, errlen, "unterminated quoted field");
				return -1;
			}
			if (ch == '"') {
				int nx = fgetc(c->f);

				if (nx == '"') {
					ch = '"';
				} else {
					if (nx != EOF)
						ungetc(nx, c->f);
					quoted = 0;
					after_quote = 1;
					continue;
				}
			} else if (ch == '\n') {
				c->line++;
			}
		} else if (ch == '"' && len == 0 && !after_quote) {
			quoted = 1;
			continue;
		} else if (ch == ',' || ch == '\n' || ch == EOF) {
			if (len > 0 && buf[len - 1] == '\r' && ch != ',')
				len--;
			if (*n == CSV_FIELDS) {
				snprintf(err, errlen, "more than %d fields", CSV_FIELDS);
				return -1;
			}
			buf[len] = '\0';
			fields[*n] = strdup(buf);
			if (fields[*n] == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			(*n)++;
			len = 0;
			after_quote = 0;
			if (ch == ',')
				continue;
			if (ch == '\n')
				c->line++;
			return 1;
		} else if (after_quote && ch != '\r') {
			snprintf(err, errlen, "text after a closing quote");
			return -1;
		}
		if (after_quote)
			continue;
		if (ch == '\0') {
			snprintf(err, errlen, "NUL byte");
			return -1;
		}
		if (len == CSV_FIELD_MAX) {
			snprintf(err, errlen, "field longer than %d bytes", CSV_FIELD_MAX);
			return -1;
		}
		buf[len++] = (char)ch;
	}
}

static void free_fields(char **f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i]);
}

/* Skips the rest of a broken record's physical line. */
static void csv_skip_line(struct csv *c)
{
	int ch;

	while ((ch = fgetc(c->f)) != EOF && ch != '\n')
		;
	if (ch == '\n')
		c->line++;
}

/* Splits tags on ';' and blanks into a JSON list; -1 with err. */
static int split_tags(const char *s, json_t *tags, char *err, size_t errlen)
{
	char tag[RP_INV_TEXT_MAX + 1];
	size_t n = 0;

	for (const char *p = s;; p++) {
		if (*p == '\0' || *p == ';' || *p == ' ' || *p == '\t') {
			if (n > 0) {
				tag[n] = '\0';
				if (!rp_tag_ok(tag)) {
					snprintf(err, errlen, "bad tag '%.32s'", tag);
					return -1;
				}
				if (json_array_size(tags) == RP_INV_TAGS_MAX) {
					snprintf(err, errlen, "more than %d tags", RP_INV_TAGS_MAX);
					return -1;
				}
				json_array_append_new(tags, json_string(tag));
			}
			n = 0;
			if (*p == '\0')
				return 0;
			continue;
		}
		if (n == RP_INV_TEXT_MAX) {
			snprintf(err, errlen, "tag longer than %d bytes", RP_INV_TEXT_MAX);
			return -1;
		}
		tag[n++] = *p;
	}
}

/* A port field already checked by target_canonical(); 0 when empty. */
static int port_value(const char *s)
{
	return s[0] ? (int)strtoul(s, NULL, 10) : 0;
}

/* The rows of the CSV file, or NULL with every bad row reported. */
static json_t *read_inventory(const char *path)
{
	static const char *const names[] = {"client", "target", "port", "tags"};
	struct csv c = {.line = 1};
	char *f[CSV_FIELDS], err[256];
	int idx[4] = {-1, -1, -1, -1}, rc;
	size_t n, hn;
	unsigned long start, bad = 0;
	json_t *rows = json_array();

	c.f = fopen(path, "r");
	if (c.f == NULL) {
		fprintf(stderr, "relayprobe targets: %s: %s\n", path, strerror(errno));
		json_decref(rows);
		return NULL;
	}
	rc = csv_record(&c, f, &n, &start, err, sizeof(err));
	if (rc <= 0) {
		fprintf(stderr, "%s:%lu: %s\n", path, start, rc == 0 ? "empty file" : err);
		goto fail;
	}
	hn = n;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 4; k++)
			if (strcasecmp(f[i], names[k]) == 0)
				idx[k] = (int)i;
	free_fields(f, n);
	if (idx[0] < 0 || idx[1] < 0 || idx[2] < 0 || idx[3] < 0) {
		fprintf(stderr, "%s:%lu: header must name client,target,port,tags\n", path, start);
		goto fail;
	}
	while ((rc = csv_record(&c, f, &n, &start, err, sizeof(err))) != 0) {
		char canon[TARGET_CANONICAL_MAX];
		json_t *tags;

		if (rc < 0) {
			fprintf(stderr, "%s:%lu: %s\n", path, start, err);
			free_fields(f, n);
			csv_skip_line(&c);
			bad++;
			continue;
		}
		if (n == 1 && f[0][0] == '\0') { /* blank line */
			free_fields(f, n);
			continue;
		}
		if (n != hn) {
			fprintf(stderr, "%s:%lu: %zu fields, the header has %zu\n", path, start, n,
			        hn);
			bad++;
		} else if (!rp_text_ok(f[idx[0]], RP_INV_TEXT_MAX, RP_TEXT_UTF8)) {
			fprintf(stderr, "%s:%lu: client missing or not printable text\n", path,
			        start);
			bad++;
		} else if (target_canonical(f[idx[1]], f[idx[2]], canon, sizeof(canon), err,
		                            sizeof(err)) < 0) {
			fprintf(stderr, "%s:%lu: target '%.64s': %s\n", path, start, f[idx[1]],
			        err);
			bad++;
		} else if (split_tags(f[idx[3]], tags = json_array(), err, sizeof(err)) < 0) {
			fprintf(stderr, "%s:%lu: %s\n", path, start, err);
			json_decref(tags);
			bad++;
		} else if (json_array_size(rows) == RP_INV_ROWS_MAX) {
			fprintf(stderr, "%s:%lu: more than %d rows\n", path, start,
			        RP_INV_ROWS_MAX);
			json_decref(tags);
			bad++;
		} else {
			json_array_append_new(rows, json_pack("{s:s, s:s, s:i, s:o}", "client",
			                                      f[idx[0]], "target", canon, "port",
			                                      port_value(f[idx[2]]), "tags", tags));
		}
		free_fields(f, n);
	}
	if (bad > 0) {
		fprintf(stderr, "relayprobe targets: %s: %lu bad row%s: nothing imported\n", path,
		        bad, bad == 1 ? "" : "s");
		goto fail;
	}
	if (json_array_size(rows) == 0) {
		fprintf(stderr, "relayprobe targets: %s: no rows\n", path);
		goto fail;
	}
	fclose(c.f);
	return rows;
fail:
	fclose(c.f);
	json_decref(rows);
	return NULL;
}

/* ---- commands ---- */

static void usage(FILE *out, const char *cmd)
{
	if (strcmp(cmd, "targets") == 0)
		fprintf(out,
		        "usage: relayprobe targets import FILE.csv\n"
		        "       relayprobe targets list [--client C] [--tag T] [--json]\n"
		        "       relayprobe targets remove [--client C] TARGET...\n"
		        "\n"
		        "The controller's inventory of targets, grouped by client, with tags.\n"
		        "FILE.csv has a header naming client,target,port,tags (RFC 4180 quoting;\n"
		        "tags separated by ';' or spaces). Every bad row is reported as\n"
		        "FILE:LINE: reason and then nothing is imported. A row whose client,\n"
		        "target and port are already in the inventory updates its tags.\n");
	else if (strcmp(cmd, "schedule") == 0)
		fprintf(out,
		        "usage: relayprobe schedule add NAME --every N[s|m|h|d] [--at HH:MM]\n"
		        "                [--client C | --tag T | --all] [--vantages A,B|all]\n"
		        "                [--tests ID,...]\n"
		        "       relayprobe schedule list [--json]\n"
		        "       relayprobe schedule remove NAME\n"
		        "       relayprobe schedule run-now NAME\n"
		        "\n"
		        "Periodic audits of inventory targets run by the controller. --at is a\n"
		        "UTC time the slots are aligned to; each schedule has a fixed jitter of\n"
		        "up to 10%% of the interval (at most 5 minutes). A run missed while the\n"
		        "controller was down runs once when it is back.\n");
	else if (strcmp(cmd, "history") == 0)
		fprintf(out,
		        "usage: relayprobe history TARGET [--json]\n"
		        "\n"
		        "The target's aggregated verdict in every finished audit, oldest first.\n");
	else if (strcmp(cmd, "hooks") == 0)
		fprintf(out,
		        "usage: relayprobe hooks [status] [--json]\n"
		        "\n"
		        "Delivery state of the controller's event hooks (webhook, email, syslog):\n"
		        "per hook, how many events are pending, sending, delivered or failed.\n");
	else if (strcmp(cmd, "retention") == 0)
		fprintf(out,
		        "usage: relayprobe retention run [--json]\n"
		        "\n"
		        "Removes now the transcripts older than the controller's\n"
		        "transcript_retention_days (verdicts and history stay). The controller\n"
		        "also does this at start and once an hour.\n");
	else
		fprintf(out,
		        "usage: relayprobe events [--json]\n"
		        "\n"
		        "Verdict changes between consecutive audits of a target, oldest first.\n");
	fprintf(out, "\nOptions:\n%s  -h, --help               this help\n\n" ADMIN_EXIT_HELP,
	        ADMIN_OPTIONS_HELP);
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	admin_cfg_defaults(&o->cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout, argv[0]);
			return 1;
		case OPT_CLIENT:
			o->client = optarg;
			o->nsel++;
			break;
		case OPT_TAG:
			o->tag = optarg;
			o->nsel++;
			break;
		case OPT_ALL:
			o->all = true;
			o->nsel++;
			break;
		case OPT_EVERY:
			o->every = optarg;
			break;
		case OPT_AT:
			o->at = optarg;
			break;
		case OPT_VANTAGES:
			o->vantages = optarg;
			break;
		case OPT_TESTS:
			o->tests = optarg;
			break;
		case '?':
		case ':':
			cli_bad_option(argv[0], c, argv);
			return -1;
		default:
			if (admin_cfg_option(&o->cfg, c, optarg, argv[0]) != 0)
				return -1;
		}
	}
	return admin_cfg_check(&o->cfg, argv[0]) < 0 ? -1 : 0;
}

static const char *utc(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return "-";
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Sends req (stolen), prints the JSON reply with --json; *out keeps it. */
static int call(struct opts *o, json_t *req, struct admin_answer *out)
{
	int rc = admin_request(&o->cfg, req, out);

	json_decref(req);
	if (rc == CLI_EXIT_OK && o->json)
		printf("%s\n", out->raw);
	return rc;
}

static int targets_cmd(struct opts *o, int argc, char **argv)
{
	struct admin_answer r = {0};
	const char *action = argv[0];
	json_t *req, *el;
	size_t i;
	int rc;

	if (strcmp(action, "import") == 0) {
		json_t *rows;

		if (argc != 2) {
			fprintf(stderr, "relayprobe targets: import takes one FILE\n");
			return CLI_EXIT_USAGE;
		}
		if ((rows = read_inventory(argv[1])) == NULL)
			return CLI_EXIT_USAGE;
		req = json_pack("{s:s, s:o}", "cmd", admin_cmd_name(ADMIN_TARGETS_IMPORT), "rows",
		                rows);
		if ((rc = call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			printf("%s: %lld added, %lld updated\n", argv[1],
			       (long long)json_integer_value(json_object_get(r.json, "added")),
			       (long long)json_integer_value(json_object_get(r.json, "updated")));
	} else if (strcmp(action, "list") == 0 && argc == 1) {
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_TARGETS_LIST));
		if (o->client)
			json_object_set_new(req, "client", json_string(o->client));
		if (o->tag)
			json_object_set_new(req, "tag", json_string(o->tag));
		if ((rc = call(o, req, &r)) == CLI_EXIT_OK && !o->json) {
			printf("%-20s %-40s %s\n", "CLIENT", "TARGET", "TAGS");
			json_array_foreach(json_object_get(r.json, "targets"), i, el)
			{
				json_t *t;
				size_t k;

				printf("%-20s %-40s ",
				       json_string_value(json_object_get(el, "client")),
				       json_string_value(json_object_get(el, "target")));
				json_array_foreach(json_object_get(el, "tags"), k, t)
				    printf("%s%s", k ? ";" : "", json_string_value(t));
				printf("\n");
			}
		}
	} else if (strcmp(action, "remove") == 0 && argc >= 2) {
		json_t *list = json_array();
		char canon[TARGET_CANONICAL_MAX], err[256];

		for (int k = 1; k < argc; k++) {
			if (target_canonical(argv[k], NULL, canon, sizeof(canon), err,
			                     sizeof(err)) < 0) {
				fprintf(stderr, "relayprobe targets: %s: %s\n", argv[k], err);
				json_decref(list);
				return CLI_EXIT_USAGE;
			}
			json_array_append_new(list, json_string(canon));
		}
		req = json_pack("{s:s, s:o}", "cmd", admin_cmd_name(ADMIN_TARGETS_REMOVE),
		                "targets", list);
		if (o->client)
			json_object_set_new(req, "client", json_string(o->client));
		if ((rc = call(o, req, &r)) == CLI_EXIT_OK && !o->json) {
			printf("%lld removed\n",
			       (long long)json_integer_value(json_object_get(r.json, "removed")));
			json_array_foreach(json_object_get(r.json, "missing"), i, el)
			    fprintf(stderr, "relayprobe targets: %s: not in the inventory\n",
			            json_string_value(el));
			if (json_array_size(json_object_get(r.json, "missing")) > 0)
				rc = CLI_EXIT_USAGE;
		}
	} else {
		usage(stderr, "targets");
		return CLI_EXIT_USAGE;
	}
	admin_reply_clear(&r);
	return rc;
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

static int schedule_cmd(struct opts *o, int argc, char **argv)
{
	struct admin_answer r = {0};
	const char *action = argv[0];
	json_t *req, *el;
	size_t i;
	int rc;
	char b1[32], b2[32];

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
		if ((rc = call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			printf("schedule %s: next run %s\n", argv[1],
			       utc(json_integer_value(json_object_get(
			               json_object_get(r.json, "schedule"), "next_run")),
			           b1, sizeof(b1)));
	} else if (strcmp(action, "list") == 0 && argc == 1) {
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_SCHEDULE_LIST));
		if ((rc = call(o, req, &r)) == CLI_EXIT_OK && !o->json) {
			printf("%-16s %8s %-12s %-20s %-20s %6s %s\n", "NAME", "EVERY", "SELECT",
			       "NEXT-RUN", "LAST-RUN", "AUDIT", "LAST-ERROR");
			json_array_foreach(json_object_get(r.json, "schedules"), i, el)
			{
				char sel[160];

				snprintf(sel, sizeof(sel), "%s%s%s",
				         json_string_value(json_object_get(el, "selector")),
				         json_string_value(json_object_get(el, "value"))[0] ? "="
				                                                            : "",
				         json_string_value(json_object_get(el, "value")));
				printf("%-16s %7llds %-12s %-20s %-20s %6lld %s\n",
				       json_string_value(json_object_get(el, "name")),
				       (long long)json_integer_value(json_object_get(el, "every")),
				       sel,
				       utc(json_integer_value(json_object_get(el, "next_run")), b1,
				           sizeof(b1)),
				       utc(json_integer_value(json_object_get(el, "last_run")), b2,
				           sizeof(b2)),
				       (long long)json_integer_value(
				           json_object_get(el, "last_audit")),
				       json_string_value(json_object_get(el, "last_error")));
			}
		}
	} else if ((strcmp(action, "remove") == 0 || strcmp(action, "run-now") == 0) && argc == 2) {
		req = json_pack("{s:s, s:s}", "cmd",
		                admin_cmd_name(strcmp(action, "remove") == 0
		                                   ? ADMIN_SCHEDULE_REMOVE
		                                   : ADMIN_SCHEDULE_RUN_NOW),
		                "name", argv[1]);
		if ((rc = call(o, req, &r)) == CLI_EXIT_OK && !o->json) {
			if (strcmp(action, "remove") == 0)
				printf("schedule %s removed\n", argv[1]);
			else
				printf("schedule %s: audit %lld started\n", argv[1],
				       (long long)json_integer_value(
				           json_object_get(r.json, "audit")));
		}
	} else {
		usage(stderr, "schedule");
		return CLI_EXIT_USAGE;
	}
	admin_reply_clear(&r);
	return rc;
}

static int inv_main(int argc, char **argv)
{
	struct opts o;
	struct admin_answer r = {0};
	const char *cmd = argv[0];
	json_t *req, *el;
	size_t i;
	int rc = parse(argc, argv, &o);
	char b[32], f1[RP_TARGET_LINE_MAX + 1], f2[RP_INV_TEXT_MAX + 1], f3[32], f4[32];

	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "targets") == 0 || strcmp(cmd, "schedule") == 0) {
		if (argc < 1) {
			usage(stderr, cmd);
			return CLI_EXIT_USAGE;
		}
		return cmd[0] == 't' ? targets_cmd(&o, argc, argv) : schedule_cmd(&o, argc, argv);
	}
	if (strcmp(cmd, "history") == 0) {
		char canon[TARGET_CANONICAL_MAX], err[256];

		if (argc != 1) {
			usage(stderr, cmd);
			return CLI_EXIT_USAGE;
		}
		if (target_canonical(argv[0], NULL, canon, sizeof(canon), err, sizeof(err)) < 0) {
			fprintf(stderr, "relayprobe history: %s: %s\n", argv[0], err);
			return CLI_EXIT_USAGE;
		}
		req =
		    json_pack("{s:s, s:s}", "cmd", admin_cmd_name(ADMIN_HISTORY), "target", canon);
		if ((rc = call(&o, req, &r)) == CLI_EXIT_OK && !o.json) {
			printf("%-8s %-20s %-24s %s\n", "AUDIT", "TIME", "VERDICT", "VANTAGES");
			json_array_foreach(json_object_get(r.json, "history"), i, el)
			{
				const char *k;
				json_t *v;
				int first = 1;

				/* Strings from the controller: printable, never NULL. */
				report_id_text(json_object_get(el, "verdict"), f1, sizeof(f1));
				printf("%-8lld %-20s %-24s ",
				       (long long)json_integer_value(json_object_get(el, "audit")),
				       utc(json_integer_value(json_object_get(el, "at")), b,
				           sizeof(b)),
				       f1);
				json_object_foreach(json_object_get(el, "vantages"), k, v)
				{
					fputs(first ? "" : ",", stdout);
					report_put_clean(k, stdout);
					fputc('=', stdout);
					report_id_text(v, f1, sizeof(f1));
					fputs(f1, stdout);
					first = 0;
				}
				printf("\n");
			}
		}
	} else if (strcmp(cmd, "hooks") == 0) {
		const char *hook, *state;
		json_t *states, *n;

		if (argc > 1 || (argc == 1 && strcmp(argv[0], "status") != 0)) {
			usage(stderr, cmd);
			return CLI_EXIT_USAGE;
		}
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_HOOKS_STATUS));
		if ((rc = call(&o, req, &r)) == CLI_EXIT_OK && !o.json) {
			if (json_object_size(json_object_get(r.json, "hooks")) == 0)
				printf(
				    "no hook has deliveries (none configured, or no event yet)\n");
			json_object_foreach(json_object_get(r.json, "hooks"), hook, states)
			{
				report_put_clean(hook, stdout);
				json_object_foreach(states, state, n)
				{
					printf(" ");
					report_put_clean(state, stdout);
					printf("=%lld", (long long)json_integer_value(n));
				}
				printf("\n");
			}
		}
	} else if (strcmp(cmd, "retention") == 0) {
		if (argc != 1 || strcmp(argv[0], "run") != 0) {
			usage(stderr, cmd);
			return CLI_EXIT_USAGE;
		}
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_RETENTION_RUN));
		if ((rc = call(&o, req, &r)) == CLI_EXIT_OK && !o.json) {
			if (json_is_true(json_object_get(r.json, "forever")))
				printf("retention is 0 (keep forever): nothing removed\n");
			else
				printf("%lld transcripts removed\n",
				       (long long)json_integer_value(
				           json_object_get(r.json, "stripped")));
		}
	} else {
		if (argc != 0) {
			usage(stderr, cmd);
			return CLI_EXIT_USAGE;
		}
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_EVENTS_LIST));
		if ((rc = call(&o, req, &r)) == CLI_EXIT_OK && !o.json)
			json_array_foreach(json_object_get(r.json, "events"), i, el)
			{
				/* Strings from the controller: printable, never NULL. */
				report_id_text(json_object_get(el, "target"), f1, sizeof(f1));
				report_id_text(json_object_get(el, "client"), f2, sizeof(f2));
				report_id_text(json_object_get(el, "from"), f3, sizeof(f3));
				report_id_text(json_object_get(el, "to"), f4, sizeof(f4));
				printf("%s %s client=%s %s -> %s audit=%lld\n",
				       utc(json_integer_value(json_object_get(el, "at")), b,
				           sizeof(b)),
				       f1, f2, f3, f4,
				       (long long)json_integer_value(json_object_get(el, "audit")));
			}
	}
	admin_reply_clear(&r);
	return rc;
}

int targets_main(int argc, char **argv)
{
	return inv_main(argc, argv);
}

int schedule_main(int argc, char **argv)
{
	return inv_main(argc, argv);
}

int history_main(int argc, char **argv)
{
	return inv_main(argc, argv);
}

int events_main(int argc, char **argv)
{
	return inv_main(argc, argv);
}

int hooks_main(int argc, char **argv)
{
	return inv_main(argc, argv);
}

int retention_main(int argc, char **argv)
{
	return inv_main(argc, argv);
}
