/* advice.h - what is wrong and which setting fixes it, per mail server
 * software and finding: the advice files (advice/<software>.txt, format in
 * docs/fingerprint.md), parsed strictly with FILE:LINE errors and the
 * RP_ADVICE_* bounds, and the selection (software, verdict, accepted forms,
 * vantage pattern) -> entries. The files are built into the binary
 * (advice_builtin()); the db owns its strings, entries borrow from it. */
#ifndef RP_ADVICE_H
#define RP_ADVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "fingerprint.h"
#include "verdict.h"

enum adv_finding {
	ADV_OPEN_RELAY = 0, /* "open-relay": a plain external recipient accepted */
	ADV_ADDRESS_FORM,   /* "address-form": only odd address forms accepted
	                       (percent hack, bang path, source route, quoted) */
	ADV_DISAGREE,       /* "disagree": relays for some vantages only */
	ADV_NOT_DELIVERED,  /* "accepted-not-delivered" */
	ADV_FINDING_COUNT
};
const char *adv_finding_name(enum adv_finding f);
int adv_finding_from_name(const char *name); /* -1 when unknown */

/* How the vantages saw the target. */
enum adv_vantage {
	ADV_VANTAGE_SINGLE = 0, /* one vantage (relayprobe probe) */
	ADV_VANTAGE_AGREE,      /* several, all alike */
	ADV_VANTAGE_DISAGREE,   /* several, open from some only */
	ADV_VANTAGE_COUNT
};

struct advice_entry {
	enum fp_software software; /* whose text: FP_SW_UNKNOWN for generic */
	enum adv_finding finding;
	const char *summary; /* one line */
	const char *text;    /* full text, lines joined by '\n' */
};

struct advice_db;

struct advice_db *advice_db_new(void); /* NULL on OOM */
void advice_db_free(struct advice_db **dbp);

/* Parse one advice file (data, len bytes; file names it in errors) into db.
 * Returns 0, or -1 with "FILE:LINE: why" in err. A software already in db,
 * or a file over RP_ADVICE_FILE_MAX, is an error. */
int advice_db_parse(struct advice_db *db, const char *file, const char *data, size_t len, char *err,
                    size_t errlen);

/* The advice built into the binary, parsed on first use (not thread-safe:
 * call it once before starting threads). NULL with the error in err. */
const struct advice_db *advice_builtin(char *err, size_t errlen);

struct advice_query {
	enum fp_software software; /* FP_SW_UNKNOWN: the generic texts */
	enum dialog_verdict verdict;
	bool accepted_plain; /* a high-confidence relay test was accepted */
	bool accepted_odd;   /* a medium one (odd address form) was accepted */
	enum adv_vantage vantage;
};

/* The entries for q, most important first, into out[0..max); returns how
 * many. The software's own text for a finding, else the generic one. None
 * for a target that did not relay. */
size_t advice_select(const struct advice_db *db, const struct advice_query *q,
                     const struct advice_entry **out, size_t max);

/* The embedded files (generated into the build tree from advice/ by
 * cmake/advice_embed.cmake). */
struct advice_blob {
	const char *name; /* "postfix.txt" */
	const char *data;
	size_t len;
};
extern const struct advice_blob advice_blobs[];
extern const size_t advice_nblobs;

#endif
