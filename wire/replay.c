/* replay.c - the agent's replay state: last accepted sequence and a ring of
 * the last RP_WIRE_REPLAY_MAX order ids, saved as text (write to a temp file,
 * fsync, rename, fsync the directory) and loaded strictly: bounded file size,
 * bounded lines, every id validated, errors name file:line. */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "rp_limits.h"
#include "rp_take.h"
#include "syntax.h"

#define REPLAY_HEADER "relayprobe-replay 1"
/* "order=" + id + "\n" per id, plus the header and the sequence line. */
#define REPLAY_LINE_MAX (RP_WIRE_ID_MAX + 16)
#define REPLAY_FILE_MAX ((size_t)RP_WIRE_REPLAY_MAX * (REPLAY_LINE_MAX + 1) + 256)

struct replay_state {
	uint64_t last_sequence;
	size_t count; /* ids held, <= RP_WIRE_REPLAY_MAX */
	size_t head;  /* slot of the oldest id when full; next slot to write */
	char ids[RP_WIRE_REPLAY_MAX][RP_WIRE_ID_MAX + 1];
};

bool replay_order_id_valid(const char *id)
{
	return rp_id_ok(RP_ID_ORDER, id);
}

struct replay_state *replay_state_new(void)
{
	return calloc(1, sizeof(struct replay_state));
}

void replay_state_free(struct replay_state **rsp)
{
	free(rp_take(rsp));
}

uint64_t replay_state_last_sequence(const struct replay_state *rs)
{
	return rs->last_sequence;
}

size_t replay_state_count(const struct replay_state *rs)
{
	return rs->count;
}

bool replay_state_seen(const struct replay_state *rs, const char *order_id)
{
	for (size_t i = 0; i < rs->count; i++)
		if (strcmp(rs->ids[i], order_id) == 0)
			return true;
	return false;
}

int replay_state_accept(struct replay_state *rs, const char *order_id, uint64_t sequence)
{
	if (!replay_order_id_valid(order_id))
		return -1;
	if (sequence > rs->last_sequence)
		rs->last_sequence = sequence;
	if (replay_state_seen(rs, order_id))
		return 0;
	snprintf(rs->ids[rs->head], sizeof(rs->ids[0]), "%s", order_id);
	rs->head = (rs->head + 1) % RP_WIRE_REPLAY_MAX;
	if (rs->count < RP_WIRE_REPLAY_MAX)
		rs->count++;
	return 0;
}

/* Parses one line of a state file into rs. lineno 1 is the header. */
static int replay_line(struct replay_state *rs, const char *line, int lineno, bool *have_seq,
                       const char *path, char *err, size_t errlen)
{
	if (lineno == 1) {
		if (strcmp(line, REPLAY_HEADER) == 0)
			return 0;
		snprintf(err, errlen, "%s:1: expected \"" REPLAY_HEADER "\"", path);
		return -1;
	}
	if (strncmp(line, "sequence=", 9) == 0 && !*have_seq) {
		const char *v = line + 9;
		char *end = NULL;
		unsigned long long s;

		errno = 0;
		s = strtoull(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || errno != 0 || *end != '\0') {
			snprintf(err, errlen, "%s:%d: key 'sequence': expected a number", path,
			         lineno);
			return -1;
		}
		rs->last_sequence = s;
		*have_seq = true;
		return 0;
	}
	if (strncmp(line, "order=", 6) == 0) {
		if (!replay_order_id_valid(line + 6)) {
			snprintf(err, errlen, "%s:%d: key 'order': not a valid order id", path,
			         lineno);
			return -1;
		}
		if (rs->count >= RP_WIRE_REPLAY_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d order ids", path, lineno,
			         RP_WIRE_REPLAY_MAX);
			return -1;
		}
		replay_state_accept(rs, line + 6, 0);
		return 0;
	}
	snprintf(err, errlen, "%s:%d: expected sequence=N (once) or order=ID", path, lineno);
	return -1;
}

struct replay_state *replay_state_load(const char *path, char *err, size_t errlen)
{
	struct replay_state *rs = replay_state_new();
	char line[REPLAY_LINE_MAX + 2];
	bool have_seq = false, ok = false;
	size_t total = 0;
	int lineno = 0;
	FILE *f;

	if (rs == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return rs;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		replay_state_free(&rs);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		lineno++;
		total += n;
		if (total > REPLAY_FILE_MAX) {
			snprintf(err, errlen, "%s:%d: file larger than %zu bytes", path, lineno,
			         (size_t)REPLAY_FILE_MAX);
			goto out;
		}
		if (n == 0 || line[n - 1] != '\n') {
			snprintf(err, errlen, "%s:%d: line too long or not terminated", path,
			         lineno);
			goto out;
		}
		line[n - 1] = '\0';
		if (strlen(line) != n - 1) {
			snprintf(err, errlen, "%s:%d: NUL byte", path, lineno);
			goto out;
		}
		if (replay_line(rs, line, lineno, &have_seq, path, err, errlen) != 0)
			goto out;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (!have_seq) {
		snprintf(err, errlen, "%s: key 'sequence': missing", path);
		goto out;
	}
	ok = true;
out:
	fclose(f);
	if (!ok)
		replay_state_free(&rs);
	return rs;
}

int replay_state_save(const struct replay_state *rs, const char *path, char *err, size_t errlen)
{
	char tmp[4096], dirbuf[4096];
	char *text;
	int dfd, n;
	size_t oldest, len;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	text = malloc(REPLAY_FILE_MAX);
	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", tmp);
		return -1;
	}
	n = snprintf(text, REPLAY_FILE_MAX, REPLAY_HEADER "\nsequence=%" PRIu64 "\n",
	             rs->last_sequence);
	len = (size_t)n;
	/* Oldest first, so a reload keeps the same eviction order. */
	oldest = rs->count < RP_WIRE_REPLAY_MAX ? 0 : rs->head;
	for (size_t i = 0; i < rs->count; i++) {
		n = snprintf(text + len, REPLAY_FILE_MAX - len, "order=%s\n",
		             rs->ids[(oldest + i) % RP_WIRE_REPLAY_MAX]);
		if (n < 0 || (size_t)n >= REPLAY_FILE_MAX - len) { /* ids are bounded: never */
			snprintf(err, errlen, "%s: state too large", tmp);
			free(text);
			return -1;
		}
		len += (size_t)n;
	}
	n = fileio_write_file(tmp, false, 0600, text, len, err, errlen);
	free(text);
	if (n != 0 || rename(tmp, path) != 0) {
		if (n == 0)
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}
