/* ctl_admin_fuzzer.c - libFuzzer harness for the controller's admin requests
 * (controller/ctl_admin.c, ctl_admin_answer: JSON parsing, command dispatch,
 * every command's argument checks, against a live SQLite store). Once per
 * process: a controller in a temporary directory (fresh keys, a store, the
 * ROUTER on 127.0.0.1 port chosen by the system, the admin socket an ipc file
 * there; all removed at exit). Each input is one request; the reply must be a
 * JSON object with a boolean "ok" (a false one with a one-line "error"), or
 * the text of "transcripts", else abort(). The store keeps what earlier
 * inputs did, so a crash may need the inputs before it: replay with the run's
 * corpus. Corpus: tests/fuzz/corpus/ctl_admin. */
#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_config.h"
#include "ctl_internal.h"
#include "keys.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct ctl_config cfg;
static struct ctl *ctl;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	ctl_free(&ctl);
	ctl_config_clear(&cfg);
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int setup(void)
{
	char path[128], err[512];
	struct keys *k = NULL;
	FILE *f;
	int rc = -1;

	log_init("ctl_admin_fuzzer", LOG_LVL_ERROR, false);
	snprintf(dir, sizeof(dir), "/tmp/rp-fuzz-admin.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	atexit(cleanup);
	k = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
	if (k == NULL || keys_save(k, dir, err, sizeof(err)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/controller.conf", dir);
	f = fopen(path, "w");
	if (f == NULL)
		goto out;
	fprintf(f,
	        "[controller]\nlisten = tcp://127.0.0.1:*\nkeys = %s/ctl.secret\n"
	        "database = %s/controller.db\nadmin = ipc://%s/admin.sock\n",
	        dir, dir, dir);
	if (fclose(f) != 0 || ctl_config_load(path, &cfg, err, sizeof(err)) != 0)
		goto out;
	ctl = ctl_new(&cfg, err, sizeof(err));
	if (ctl == NULL)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "ctl_admin_fuzzer: setup failed: %s\n", err);
	keys_free(&k);
	return rc;
}

static void check_reply(const char *out, const uint8_t *data, size_t size)
{
	json_t *j, *ok, *e;
	const char *s;

	if (out == NULL)
		abort();
	if (out[0] != '{') {
		/* "transcripts" answers in text: only for that command */
		if (memmem(data, size, "transcripts", 11) == NULL)
			abort();
		return;
	}
	j = json_loads(out, 0, NULL);
	ok = json_object_get(j, "ok");
	if (!json_is_object(j) || !json_is_boolean(ok))
		abort();
	if (json_is_false(ok)) {
		e = json_object_get(j, "error");
		s = json_string_value(e);
		if (s == NULL || strchr(s, '\n') != NULL || strchr(s, '\r') != NULL)
			abort();
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out;

	if (ctl == NULL && setup() != 0)
		abort();
	if (size > 64 * 1024)
		return 0; /* the socket caps requests at RP_ADMIN_MSG_MAX; keep runs fast */
	out = ctl_admin_answer(ctl, data, size);
	check_reply(out, data, size);
	free(out);
	return 0;
}
