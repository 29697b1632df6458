/* cmd_transcript.c - `relayprobe transcript AUDIT TARGET VANTAGE`: the
 * SMTP transcripts behind one cell of a report, page by page (view.h). */
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

static void transcript_usage(FILE *out)
{
	fprintf(out,
	        "usage: relayprobe transcript [options] AUDIT TARGET VANTAGE\n"
	        "\n"
	        "Print the evidence: the transcript of every dialog (address) of TARGET\n"
	        "probed from VANTAGE in AUDIT, one line per line sent or received, with\n"
	        "the seconds since the dialog began and a marker: ' ->' sent, ' ~>' sent\n"
	        "over TLS, '<- ' received ('<~ ' over TLS), '<**' a 4xx/5xx reply ('<~*'\n"
	        "over TLS), '===' an event, '***' an error.\n"
	        "\n"
	        "      --json               print the controller's JSON reply as is (the\n"
	        "                           results of several pages in one reply)\n"
	        "%s"
	        "  -h, --help               this help\n"
	        "\n"
	        "Exit status: 0 printed, 2 usage error or the controller refused, 3 no\n"
	        "result for that target and vantage, or the controller unreachable.\n",
	        ADMIN_OPTIONS_HELP);
}

/* `relayprobe transcript` output, page by page: text through
 * report_render_transcripts(), or with --json one reply (the first page as
 * it came when it is the only one, else its results gathered as they come,
 * each written and freed: {"ok":true,"results":[...]}). */
struct tr_out {
	bool json, open; /* --json; its gathered reply is open */
	long n;          /* results written */
	int bad;         /* a page without a "results" array */
};

static int transcript_page(void *arg, const struct admin_answer *ar, bool more)
{
	struct tr_out *o = arg;
	const json_t *reply = ar->json;
	const json_t *results = json_object_get(reply, "results"), *r;
	size_t i;
	long n;

	if (!json_is_array(results)) {
		o->bad = 1;
		return -1;
	}
	if (!o->json) {
		/* a blank line between results, across pages too */
		if (o->n > 0 && json_array_size(results) > 0)
			putchar('\n');
		if ((n = report_render_transcripts(reply, stdout)) > 0)
			o->n += n;
		return ferror(stdout) ? -1 : 0;
	}
	if (!more && !o->open) { /* one page: as it came */
		fwrite(ar->raw, 1, ar->rawlen, stdout);
		putchar('\n');
		o->n += (long)json_array_size(results);
		return ferror(stdout) ? -1 : 0;
	}
	if (!o->open)
		fputs("{\"ok\":true,\"results\":[", stdout);
	o->open = true;
	json_array_foreach(results, i, r)
	{
		if (o->n++ > 0)
			putchar(',');
		json_dumpf(r, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	if (!more)
		fputs("]}\n", stdout);
	return ferror(stdout) ? -1 : 0;
}

int transcript_main(int argc, char **argv)
{
	const char *prog = "relayprobe transcript";
	struct admin_cfg cfg;
	struct admin *a = NULL;
	struct tr_out o = {0};
	json_t *id = NULL, *req = NULL;
	bool json = false;
	int rc, status;

	admin_cfg_defaults(&cfg);
	rc = view_parse_options(argc, argv, prog, &cfg, &json, NULL, transcript_usage);
	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (argc - optind != 3) {
		fprintf(stderr, "%s: needs AUDIT TARGET VANTAGE (try %s --help)\n", prog, prog);
		return CLI_EXIT_USAGE;
	}
	if (strlen(argv[optind + 1]) >= RP_TARGET_LINE_MAX || !keys_name_valid(argv[optind + 2])) {
		fprintf(stderr, "%s: \"%s\" is not %s\n", prog,
		        strlen(argv[optind + 1]) >= RP_TARGET_LINE_MAX ? "TARGET"
		                                                       : argv[optind + 2],
		        strlen(argv[optind + 1]) >= RP_TARGET_LINE_MAX ? "a target (too long)"
		                                                       : "an agent name");
		return CLI_EXIT_USAGE;
	}
	id = audit_id(prog, argv[optind]);
	if (id == NULL)
		return CLI_EXIT_USAGE;
	req = json_pack("{s:s,s:o,s:s,s:s}", "cmd", admin_cmd_name(ADMIN_TRANSCRIPT), "audit", id,
	                "target", argv[optind + 1], "vantage", argv[optind + 2]);
	if (req == NULL || (a = admin_new(&cfg)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		json_decref(req);
		return CLI_EXIT_UNREACHABLE;
	}
	o.json = json;
	status = transcript_pages(a, req, transcript_page, &o);
	json_decref(req);
	admin_free(&a);
	if (o.bad) {
		fprintf(stderr, "relayprobe: unusable reply from the controller: no \"results\" "
		                "array\n");
		status = CLI_EXIT_UNREACHABLE;
	} else if (status == CLI_EXIT_OK && o.n == 0) {
		fprintf(stderr, "%s: no result for %s from %s in audit %s\n", prog,
		        argv[optind + 1], argv[optind + 2], argv[optind]);
		status = CLI_EXIT_INCONCLUSIVE;
	}
	return status;
}
