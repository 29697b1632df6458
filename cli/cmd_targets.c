/* cmd_targets.c - `relayprobe targets import|list|remove`: the controller's
 * inventory through its admin socket (docs/distributed.md), and `targets
 * exclude add|list|remove`, its do-not-test list (checked by the controller
 * with common/exclude's rule). The CSV import
 * is parsed and checked here (RFC 4180; every bad row reported as
 * FILE:LINE: reason, nothing sent when any row is bad); fields are capped by
 * RP_INV_TEXT_MAX / RP_TARGET_LINE_MAX, rows by RP_INV_ROWS_MAX. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "inv_common.h"
#include "report_render.h"
#include "rp_limits.h"
#include "syntax.h"
#include "target.h"

#define CSV_FIELD_MAX RP_TARGET_LINE_MAX
#define CSV_FIELDS    8

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

/* `targets exclude add ENTRY | list | remove ENTRY` (argv[0] "exclude"). */
static int exclude_run(const struct inv_command *self, struct inv_opts *o, int argc, char **argv)
{
	struct admin_answer r = {0};
	const char *action = argc >= 2 ? argv[1] : "";
	json_t *req;
	int rc;

	if (strcmp(action, "add") == 0 && argc == 3) {
		if ((o->reason &&
		     !rp_text_ok(o->reason, RP_EXCLUDE_REASON_MAX, RP_TEXT_EMPTY | RP_TEXT_UTF8)) ||
		    (o->by &&
		     !rp_text_ok(o->by, RP_EXCLUDE_BY_MAX, RP_TEXT_EMPTY | RP_TEXT_UTF8))) {
			fprintf(stderr,
			        "relayprobe targets: --reason (at most %d bytes) and --by (at most "
			        "%d) must be text without control characters\n",
			        RP_EXCLUDE_REASON_MAX, RP_EXCLUDE_BY_MAX);
			return CLI_EXIT_USAGE;
		}
		req = json_pack("{s:s, s:s}", "cmd", admin_cmd_name(ADMIN_EXCLUDE_ADD), "entry",
		                argv[2]);
		if (o->reason)
			json_object_set_new(req, "reason", json_string(o->reason));
		if (o->by)
			json_object_set_new(req, "by", json_string(o->by));
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			printf("%s: %s\n", argv[2],
			       json_is_true(json_object_get(r.json, "added"))
			           ? "excluded"
			           : "already excluded, reason and requester updated");
	} else if (strcmp(action, "list") == 0 && argc == 2) {
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_EXCLUDE_LIST));
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			report_render_exclusions(r.json, stdout);
	} else if (strcmp(action, "remove") == 0 && argc == 3) {
		req = json_pack("{s:s, s:s}", "cmd", admin_cmd_name(ADMIN_EXCLUDE_REMOVE), "entry",
		                argv[2]);
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			printf("%s: no longer excluded\n", argv[2]);
	} else {
		inv_usage(self, stderr);
		return CLI_EXIT_USAGE;
	}
	admin_reply_clear(&r);
	return rc;
}

static int targets_run(const struct inv_command *self, struct inv_opts *o, int argc, char **argv)
{
	struct admin_answer r = {0};
	const char *action = argv[0];
	json_t *req, *el;
	size_t i;
	int rc;

	if (strcmp(action, "exclude") == 0)
		return exclude_run(self, o, argc, argv);
	if (o->reason || o->by) {
		fprintf(stderr, "relayprobe targets: --reason and --by are for exclude add\n");
		return CLI_EXIT_USAGE;
	}
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
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			printf("%s: %lld added, %lld updated\n", argv[1],
			       (long long)json_integer_value(json_object_get(r.json, "added")),
			       (long long)json_integer_value(json_object_get(r.json, "updated")));
	} else if (strcmp(action, "list") == 0 && argc == 1) {
		req = json_pack("{s:s}", "cmd", admin_cmd_name(ADMIN_TARGETS_LIST));
		if (o->client)
			json_object_set_new(req, "client", json_string(o->client));
		if (o->tag)
			json_object_set_new(req, "tag", json_string(o->tag));
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json)
			report_render_targets(r.json, stdout);
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
		if ((rc = inv_call(o, req, &r)) == CLI_EXIT_OK && !o->json) {
			printf("%lld removed\n",
			       (long long)json_integer_value(json_object_get(r.json, "removed")));
			json_array_foreach(json_object_get(r.json, "missing"), i, el)
			    fprintf(stderr, "relayprobe targets: %s: not in the inventory\n",
			            json_string_value(el));
			if (json_array_size(json_object_get(r.json, "missing")) > 0)
				rc = CLI_EXIT_USAGE;
		}
	} else {
		inv_usage(self, stderr);
		return CLI_EXIT_USAGE;
	}
	admin_reply_clear(&r);
	return rc;
}

static const struct inv_command targets = {
    .usage = "usage: relayprobe targets import FILE.csv\n"
             "       relayprobe targets list [--client C] [--tag T] [--json]\n"
             "       relayprobe targets remove [--client C] TARGET...\n"
             "       relayprobe targets exclude add ENTRY [--reason TEXT] [--by WHO]\n"
             "       relayprobe targets exclude list [--json]\n"
             "       relayprobe targets exclude remove ENTRY\n"
             "\n"
             "The controller's inventory of targets, grouped by client, with tags.\n"
             "FILE.csv has a header naming client,target,port,tags (RFC 4180 quoting;\n"
             "tags separated by ';' or spaces). Every bad row is reported as\n"
             "FILE:LINE: reason and then nothing is imported. A row whose client,\n"
             "target and port are already in the inventory updates its tags.\n"
             "\n"
             "The do-not-test list: an ENTRY is an address, a CIDR block\n"
             "(198.51.100.0/24, 2001:db8::/32) or a domain (example.com covers every\n"
             "name under it), with a reason and who asked for it. Adding a listed\n"
             "entry again replaces its reason and requester. The controller refuses\n"
             "an audit (and a schedule's run) that names a target the list covers.\n",
    .min_args = 1,
    .max_args = INT_MAX,
    .options = INV_BIT(INV_OPT_CLIENT) | INV_BIT(INV_OPT_TAG) | INV_BIT(INV_OPT_REASON) |
               INV_BIT(INV_OPT_BY),
    .run = targets_run,
};

int targets_main(int argc, char **argv)
{
	return inv_main(&targets, argc, argv);
}
