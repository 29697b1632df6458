/* transcript.h - the evidence of one dialog: every line sent and received with
 * a millisecond timestamp, its direction and whether it went over TLS, plus
 * engine events. Bounded by RP_TRANSCRIPT_BYTES_MAX; non-printable bytes are
 * escaped (\xNN) on the way in, so a transcript is always safe to print. */
#ifndef RP_TRANSCRIPT_H
#define RP_TRANSCRIPT_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum tr_dir {
	TR_SENT = 0, /* client -> server:  " ->" (" ~>" over TLS) */
	TR_RECV,     /* server -> client:  "<- " ("<~ " over TLS); a 4xx/5xx line
	                renders as "<**" ("<~*" over TLS) */
	TR_EVENT,    /* engine event:      "===" */
	TR_ERROR,    /* engine error:      "***" */
	TR_DIR_COUNT
};

struct tr_entry {
	uint64_t t_ms; /* wall clock, ms since the Unix epoch */
	enum tr_dir dir;
	bool tls;
	const char *text; /* NUL-terminated, printable ASCII only; owned by the transcript */
	size_t len;
};

struct transcript;

/* max_bytes caps the total stored text (0 = RP_TRANSCRIPT_BYTES_MAX). NULL on OOM. */
struct transcript *transcript_new(size_t max_bytes);
void transcript_free(struct transcript **t);

/* Append one entry; text (len bytes, need not be NUL-terminated) is copied and
 * escaped. Returns the entry's index, or -1 when the transcript is full (one
 * "transcript truncated" marker is then recorded) or on OOM. */
int transcript_add(struct transcript *t, uint64_t t_ms, enum tr_dir dir, bool tls, const char *text,
                   size_t len);
int transcript_addf(struct transcript *t, uint64_t t_ms, enum tr_dir dir, bool tls, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

size_t transcript_count(const struct transcript *t);
/* Fills *e for entry i; returns 0, or -1 when i is out of range. */
int transcript_get(const struct transcript *t, size_t i, struct tr_entry *e);
bool transcript_truncated(const struct transcript *t);
/* Bytes of memory held (for benchmarks and limits). */
size_t transcript_bytes(const struct transcript *t);

/* The direction marker as rendered in text ("->", "<~", "<**", "==="...). */
const char *transcript_marker(const struct tr_entry *e);

/* Text rendering, swaks style, one line per entry:
 *   "   0.012 <-  220 mx.example.com ESMTP"
 * times relative to the first entry. Returns 0, or -1 on write error. */
int transcript_render_text(const struct transcript *t, FILE *out);

/* JSON: an array of {"i":N,"t":ms,"dir":"sent|recv|event|error","tls":bool,"text":"..."}.
 * New reference, or NULL on OOM. */
json_t *transcript_to_json(const struct transcript *t);

/* The same array written straight to out, byte-identical to
 * json_dumpf(transcript_to_json(t), out, JSON_COMPACT) but without building
 * the tree: the hot path of --json. Returns 0, or -1 on a write error. */
int transcript_write_json(const struct transcript *t, FILE *out);

const char *tr_dir_name(enum tr_dir d);

#endif
