/* cmd_report.c - `relayprobe report`: an audit's report (admin command
 * report) as text, json, csv or html (report_render.c, report_html.c; the
 * html page with every cell's transcript, fetched in pages), written to
 * standard output or atomically to --output. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "clock.h"
#include "commands.h"
#include "dialog.h"
#include "keys.h"
#include "relay_tests.h"
#include "report_html.h"
#include "report_render.h"
#include "rp_limits.h"
#include "syntax.h"
#include "target.h"
#include "targets_file.h"
#include "view.h"

static void report_usage(FILE *out)
{
	fprintf(out,
	        "usage: relayprobe report [options] [AUDIT | --latest]\n"
	        "\n"
	        "Print an audit's report: a summary (targets; open, with how many are new\n"
	        "since the previous audit; closed; inconclusive; other verdicts; targets the\n"
	        "vantages disagree on), then the matrix, one heading per client when the\n"
	        "targets come from the inventory (\"client acme: 3 targets\", \"no client\"):\n"
	        "one row per target, one column per vantage with that vantage's verdict, the\n"
	        "aggregated VERDICT (the worst wins) and FLAGS: NEW when the target is open\n"
	        "and was not open in its previous audit, DISAGREE when vantages disagree on\n"
	        "open (a server that trusts some networks), inconclusive when no vantage\n"
	        "got an answer, partial when the verdict is conclusive but some vantage got\n"
	        "no answer. Below: the accepted relay tests of every open cell. Without\n"
	        "AUDIT, the latest audit.\n"
	        "\n"
	        "CSV columns: client,target,vantage,verdict (this vantage's),\n"
	        "aggregated_verdict,disagree,inconclusive,accepted_tests (ids joined by ';'),\n"
	        "previous (the target's verdict in its previous audit, empty if none),new\n"
	        "(true/false),delivered_by,backscatter,software (\"Postfix (high)\"),advice\n"
	        "(\"finding: summary\" joined by \" | \"); one row per target x vantage, RFC\n"
	        "4180 quoting.\n"
	        "\n"
	        "      --latest             the latest audit\n"
	        "      --format FMT         text (default), json (the controller's reply as\n"
	        "                           is), csv (one row per target x vantage) or html\n"
	        "                           (one self-contained page: summary, one coloured\n"
	        "                           matrix per client, NEW badges, accepted tests,\n"
	        "                           every transcript one click away; printable)\n"
	        "      --json               same as --format json\n"
	        "      --output FILE        write the report to FILE (default: standard output)\n"
	        "%s"
	        "  -h, --help               this help\n"
	        "\n" REPORT_EXIT_HELP,
	        ADMIN_OPTIONS_HELP);
}

struct html_cell {
	struct report_html *h;
	size_t ti, vi;
};

static int html_cell_page(void *arg, const struct admin_answer *r, bool more)
{
	struct html_cell *c = arg;

	return report_html_cell_part_at(c->h, c->ti, c->vi, json_object_get(r->json, "results"),
	                                more) < 0
	           ? -1
	           : 0;
}

/* The old way (controllers without `transcripts`): one `transcript` request
 * (pages of it) per target x vantage (of the first nt targets) not written
 * yet, each page written to h as it comes. 0, or -1 when the controller
 * could not be asked or the page could not be written. */
static int stream_transcripts_each(struct admin *a, const json_t *report, size_t nt,
                                   struct report_html *h)
{
	const json_t *targets = json_object_get(report, "targets");
	const json_t *vantages = json_object_get(report, "vantages");
	const json_t *v;
	size_t i, j;

	for (i = 0; i < nt; i++) {
		const char *target =
		    json_string_value(json_object_get(json_array_get(targets, i), "target"));
		json_array_foreach(vantages, j, v)
		{
			struct html_cell c = {.h = h, .ti = i, .vi = j};
			json_t *req = NULL;
			int rc = CLI_EXIT_USAGE;

			if (report_html_cell_done(h, i, j))
				continue;
			if (target != NULL && json_is_string(v))
				req = json_pack("{s:s,s:O,s:s,s:O}", "cmd",
				                admin_cmd_name(ADMIN_TRANSCRIPT), "audit",
				                json_object_get(report, "audit"), "target", target,
				                "vantage", v);
			if (req != NULL)
				rc = transcript_pages(a, req, html_cell_page, &c);
			json_decref(req);
			/* refused: the cell says so at the end (report_html_end) */
			if (rc == CLI_EXIT_UNREACHABLE)
				return -1;
		}
	}
	return 0;
}

/* Writes the cells of one `transcripts` page to h (cells outside the
 * report, or written already, are skipped there; a cell marked "more"
 * continues on the next page); the number of cells the page had, -1 when
 * it is not a page, -2 on a write error. */
static long write_page(struct report_html *h, const json_t *page)
{
	const json_t *cells = json_object_get(page, "cells"), *c;
	size_t i;

	if (!json_is_array(cells))
		return -1;
	json_array_foreach(cells, i, c)
	{
		const char *target = json_string_value(json_object_get(c, "target"));
		const char *vantage = json_string_value(json_object_get(c, "vantage"));
		const json_t *results = json_object_get(c, "results");

		if (target == NULL || vantage == NULL || !json_is_array(results))
			continue;
		if (report_html_cell_part(h, target, vantage, results,
		                          json_is_true(json_object_get(c, "more"))) < 0)
			return -2;
	}
	return (long)json_array_size(cells);
}

/* Writes the transcripts of report's cells to h as they come, for at most
 * RP_ADMIN_TARGETS_MAX targets: the bulk `transcripts` command,
 * RP_ADMIN_CELLS_PAGE cells (and RP_ADMIN_PAGE_BYTES, a page may end inside
 * a cell) a request, each page written then freed before the next is asked
 * for (memory: one page); one `transcript` request per cell not written yet
 * when the controller refuses it (an older one answers "unknown command").
 * 0, or -1 when the controller could not be asked, its reply was unusable
 * or the page could not be written. */
static int stream_transcripts(struct admin *a, const json_t *report, struct report_html *h)
{
	size_t nt = json_array_size(json_object_get(report, "targets"));
	size_t nv = json_array_size(json_object_get(report, "vantages"));
	json_int_t offset = 0, after = 0, total = 0, cap;
	bool more = true;

	if (nt > RP_ADMIN_TARGETS_MAX)
		nt = RP_ADMIN_TARGETS_MAX;
	/* a controller that keeps saying there is more is read this far only */
	cap = (json_int_t)(2 * nt * nv) + RP_ADMIN_CELLS_PAGE;
	while (more && offset < cap) {
		struct admin_answer r = {0};
		json_int_t noff, naft;
		json_t *req =
		    json_pack("{s:s,s:O,s:I,s:i}", "cmd", admin_cmd_name(ADMIN_TRANSCRIPTS),
		              "audit", json_object_get(report, "audit"), "offset", offset, "limit",
		              RP_ADMIN_CELLS_PAGE);
		long got;
		int rc = CLI_EXIT_UNREACHABLE;

		if (req != NULL &&
		    (after == 0 || json_object_set_new(req, "after", json_integer(after)) == 0))
			rc = admin_call(a, req, &r);
		json_decref(req);
		if (rc == CLI_EXIT_USAGE) { /* refused: an older controller */
			fputs("relayprobe report: asking for each transcript on its own\n", stderr);
			return stream_transcripts_each(a, report, nt, h);
		}
		if (rc == CLI_EXIT_UNREACHABLE && r.answered) {
			/* A page that does not parse (a result stored with JSON
			 * that SQLite accepts and jansson does not): the rest one
			 * cell at a time, where the controller skips such a result. */
			fputs(
			    "relayprobe report: a transcripts page was not usable; asking for each "
			    "remaining transcript on its own\n",
			    stderr);
			return stream_transcripts_each(a, report, nt, h);
		}
		if (rc != CLI_EXIT_OK)
			return -1;
		total = reply_int(r.json, "total", 0);
		got = write_page(h, r.json);
		if (json_object_get(r.json, "next_offset") != NULL) {
			noff = reply_int(r.json, "next_offset", -1);
			naft = reply_int(r.json, "next_after", -1);
			more = json_is_true(json_object_get(r.json, "more"));
		} else { /* an older controller: pages end between cells */
			noff = offset + (got > 0 ? got : 0);
			naft = 0;
			more = got > 0 && noff < total;
		}
		admin_reply_clear(&r);
		if (got == -1)
			fprintf(stderr, "relayprobe: unusable reply from the controller: "
			                "transcripts without a \"cells\" array\n");
		if (got < 0)
			return -1;
		if (more && (naft < 0 || noff < offset || (noff == offset && naft <= after))) {
			fputs(
			    "relayprobe: the controller's transcripts pages do not move forward\n",
			    stderr);
			return -1;
		}
		offset = noff;
		after = naft;
	}
	return 0;
}

/* Renders report r in format f to out; 0, or -1 with nothing usable. The
 * HTML page is streamed: head, summary and matrices from the report, then
 * the transcripts page by page, then the foot (written even when fetching
 * failed, so the page is whole; the result is -1 then). */
static int render_report(struct admin *a, const struct admin_answer *r, enum report_format f,
                         FILE *out)
{
	struct report_html *h;
	int rc;

	switch (f) {
	case FMT_JSON:
		fwrite(r->raw, 1, r->rawlen, out);
		fputc('\n', out);
		return 0;
	case FMT_CSV:
		return report_render_csv(r->json, out) < 0 ? -1 : 0;
	case FMT_HTML:
		h = report_html_new(r->json, true, time(NULL), out);
		if (h == NULL)
			return -1;
		rc = stream_transcripts(a, r->json, h);
		if (report_html_end(h) < 0)
			rc = -1;
		report_html_free(&h);
		return rc;
	case FMT_TEXT:
	default:
		return report_render_text(r->json, out);
	}
}

/* --output FILE: the report goes to a new file DIR/.NAME.XXXXXX (mkstemp:
 * O_EXCL, mode 0600) renamed over FILE once written, so a symlink at FILE is
 * never followed and a failed report leaves FILE as it was. A symlink or a
 * non-regular file at FILE is refused up front. tmp receives the temp name. */
static FILE *output_open(const char *path, char *tmp, size_t tmplen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	int dirlen = slash != NULL ? (int)(slash - path) + 1 : 0;
	struct stat st;
	FILE *f;
	int fd;

	if (base[0] == '\0') {
		fprintf(stderr, "relayprobe report: %s: not a file name\n", path);
		return NULL;
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "relayprobe report: %s: %s: refusing to write through it\n", path,
		        S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		return NULL;
	}
	if (snprintf(tmp, tmplen, "%.*s.%s.XXXXXX", dirlen, path, base) >= (int)tmplen) {
		fprintf(stderr, "relayprobe report: %s: name too long\n", path);
		return NULL;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "relayprobe report: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "relayprobe report: %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(tmp);
	}
	return f;
}

/* Closes the temp file and renames it over path (keep) or removes it. */
static int output_close(FILE *f, const char *tmp, const char *path, bool keep)
{
	int rc = 0;

	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && keep && rename(tmp, path) == 0)
		return 0;
	if (keep || rc != 0)
		fprintf(stderr, "relayprobe report: %s: %s\n", path, strerror(errno));
	unlink(tmp);
	return keep ? -1 : 0;
}

/* Fetches the report of audit id and writes it as format f to output (NULL:
 * standard output); the report's exit status. */
int fetch_report(struct admin *a, json_t *id, enum report_format f, const char *output)
{
	struct admin_answer r;
	json_t *req = json_pack("{s:s,s:O}", "cmd", admin_cmd_name(ADMIN_REPORT), "audit", id);
	FILE *out = stdout;
	char tmp[PATH_MAX];
	bool written = false;
	int status;

	if (req == NULL)
		return CLI_EXIT_UNREACHABLE;
	status = admin_call(a, req, &r);
	json_decref(req);
	if (status != CLI_EXIT_OK)
		return status;
	if (output != NULL && (out = output_open(output, tmp, sizeof(tmp))) == NULL) {
		admin_reply_clear(&r);
		return CLI_EXIT_USAGE;
	}
	if (!json_is_array(json_object_get(r.json, "vantages")) ||
	    !json_is_array(json_object_get(r.json, "targets"))) {
		fprintf(stderr, "relayprobe: unusable reply from the controller: a report needs "
		                "\"vantages\" and \"targets\" arrays\n");
		status = CLI_EXIT_UNREACHABLE;
	} else if (render_report(a, &r, f, out) < 0) {
		fprintf(stderr, "relayprobe report: the report is incomplete (%s)\n",
		        ferror(out) ? "write error" : "transcripts could not all be fetched");
		written = !ferror(out);
		status = CLI_EXIT_UNREACHABLE;
	} else {
		written = true;
		status = report_exit_status(r.json);
	}
	if (out != stdout && output_close(out, tmp, output, written) != 0)
		status = CLI_EXIT_UNREACHABLE;
	admin_reply_clear(&r);
	return status;
}

/* ---- report ---- */

int report_main(int argc, char **argv)
{
	const char *prog = "relayprobe report";
	struct admin_cfg cfg;
	struct admin *a = NULL;
	json_t *id = NULL;
	struct view_opts view = {.format = FMT_TEXT};
	bool json = false;
	int rc, status;

	admin_cfg_defaults(&cfg);
	rc = view_parse_options(argc, argv, prog, &cfg, &json, &view, report_usage);
	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (json)
		view.format = FMT_JSON;
	if (argc - optind > 1 || (view.latest && argc - optind == 1)) {
		fprintf(stderr, "%s: give one AUDIT or --latest (try %s --help)\n", prog, prog);
		return CLI_EXIT_USAGE;
	}
	id = argc - optind == 1 ? audit_id(prog, argv[optind]) : json_string("latest");
	if (id == NULL)
		return CLI_EXIT_USAGE;
	a = admin_new(&cfg);
	status = a ? fetch_report(a, id, view.format, view.output) : CLI_EXIT_UNREACHABLE;
	admin_free(&a);
	json_decref(id);
	return status;
}
