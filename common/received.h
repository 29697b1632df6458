/* received.h - the Received: trace header (RFC 5321 section 4.4) parsed into
 * one hop: the "from" clause (the HELO name the sender gave, the reverse-DNS
 * name and the IP literal the receiver recorded), the "by" host, "with" and
 * "id". Written for the shapes real MTAs emit (Postfix, Exim, Sendmail,
 * OpenSMTPD, Exchange, qmail), tolerant of comments and folding, bounded:
 * every field is truncated to its buffer, never overrun. Pure function. */
#ifndef RP_RECEIVED_H
#define RP_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "rp_limits.h"

struct received_hop {
	char from_helo[RP_RECEIVED_NAME_MAX + 1]; /* "from X": the name the sender gave */
	char from_rdns[RP_RECEIVED_NAME_MAX + 1]; /* the receiver's reverse-DNS name, "" */
	char from_ip[RP_RECEIVED_IP_MAX + 1];     /* "192.0.2.1", "2001:db8::1", "" */
	char by[RP_RECEIVED_NAME_MAX + 1];        /* "by X": the receiving host */
	char with[RP_RECEIVED_WITH_MAX + 1];      /* "ESMTPS", "esmtp", "" */
	char id[RP_RECEIVED_ID_MAX + 1];          /* queue id, "" */
};

/* Parse one header value (the text after "Received:", unfolded or not; a
 * leading "Received:" is skipped). Reads len bytes, at most
 * RP_RECEIVED_VALUE_MAX, up to the first ';' outside a comment; NUL, CR, LF
 * and other controls count as white space. Returns 0 when at least a from or
 * by clause was found, -1 when the value is not a Received: trace (out is
 * then cleared; also for qmail's "(qmail 1 invoked by uid 0)"). Per field:
 * - from_helo: as the sender gave it, "[192.0.2.9]" literals kept verbatim;
 *   taken from "helo=X" (Exim) or "(HELO X)" (qmail) when present, else the
 *   word after "from" (for Exim, whose "from" word is its own record, a
 *   "[ip]" word with no helo= leaves it "").
 * - from_rdns: the name beside a valid IP in a "from" comment ("ident@" cut),
 *   or the "from" word for Exim and when the HELO came from a comment;
 *   "unknown" and "<unknown>" give "".
 * - from_ip: only inet_pton-valid addresses ("IPv6:", brackets, "ident@",
 *   ":port" stripped), stored canonical (inet_ntop: "2001:db8::5"); the first
 *   one wins; a HELO literal alone is not used (the sender chose it).
 * - with: the first word only ("Microsoft" for Exchange's "Microsoft SMTP
 *   Server"); id: the word after "id" (Exchange puts its version there).
 * The first of a repeated clause wins. by, with, id: "" when absent. */
int received_parse(const char *value, size_t len, struct received_hop *out);

/* The hops as a JSON array of objects (from_helo, from_rdns, from_ip, by,
 * with, id): what the canary's arrivals keep. New reference, NULL on OOM. */
json_t *received_hops_json(const struct received_hop *hops, size_t n);

#endif
