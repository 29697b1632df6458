/* syntax.h - the one definition of each text rule relayprobe checks: ids
 * (per kind), tokens, free text, inventory tags and mailboxes. Every check
 * is bounded (it reads at most max + 1 bytes of s) and accepts NULL as
 * "not valid". Callers everywhere (CLI, controller, agent, wire) use these;
 * the rules are documented in docs/protocol.md ("Field syntax"). */
#ifndef RP_SYNTAX_H
#define RP_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>

#include "rp_limits.h"

/* The kinds of id, each with one charset and length:
 *  RP_ID_NAME   agent/key names (keygen, key files, HELLO agent_id, order
 *               audience): [A-Za-z0-9._-], 1..RP_WIRE_ID_MAX, not starting
 *               with '.' or '-', not all digits (numeric ids are row ids).
 *  RP_ID_ORDER  order ids (the controller makes "a<audit>-g<agent>-<n>-<hex>"):
 *               [A-Za-z0-9._:-], 1..RP_WIRE_ID_MAX.
 *  RP_ID_AUDIT  an audit id as text (a number, "latest"): same as RP_ID_ORDER.
 *  RP_ID_REF    what `agents approve|revoke` take (a name, a row id or a
 *               fingerprint): same as RP_ID_ORDER.
 *  RP_ID_SPOOL  spool keys (file names in the agent's spool):
 *               [A-Za-z0-9._-], 1..RP_SPOOL_KEY_MAX, not "." or "..".
 *  RP_ID_SCHEDULE schedule names: the tag rule (rp_tag_ok). */
enum rp_id_kind {
	RP_ID_NAME,
	RP_ID_ORDER,
	RP_ID_AUDIT,
	RP_ID_REF,
	RP_ID_SPOOL,
	RP_ID_SCHEDULE,
	RP_ID_KIND_COUNT
};

bool rp_id_ok(enum rp_id_kind kind, const char *s);

/* A token: 0..max bytes of printable ASCII without spaces (0x21..0x7e), at
 * least 1 when required (host names, addresses, test names on the wire). */
bool rp_token_ok(const char *s, size_t max, bool required);

/* Free text: 1..max bytes (0..max with RP_TEXT_EMPTY), no control bytes
 * (< 0x20, 0x7f). Spaces are allowed unless RP_TEXT_NO_SPACE. Bytes >= 0x80
 * are refused unless RP_TEXT_UTF8, which admits them as valid UTF-8 only
 * (no overlong forms, surrogates or code points past U+10FFFF). */
#define RP_TEXT_EMPTY    0x1u
#define RP_TEXT_NO_SPACE 0x2u
#define RP_TEXT_UTF8     0x4u
bool rp_text_ok(const char *s, size_t max, unsigned flags);

/* An inventory tag (and a schedule name): 1..RP_INV_TEXT_MAX bytes of UTF-8
 * text without spaces, ',' or ';' (the separators of a tags field). */
bool rp_tag_ok(const char *s);

/* A mailbox "local@domain", split at its last '@': the local part 1..
 * RP_LOCAL_PART_MAX bytes of printable ASCII without spaces or any of
 * "(),:;<>@[\]; the domain a host name (target_hostname_ok) or, with
 * RP_MAILBOX_LITERAL, an address literal "[192.0.2.1]" / "[IPv6:...]"
 * (target_address_literal_ok); the whole under RP_ADDR_MAX. local and domain
 * may be NULL (check only); else the parts are copied there (-1 when they do
 * not fit llen/dlen). Returns 0 or -1. */
#define RP_MAILBOX_LITERAL 0x1u
/* The rule in words, for error messages. */
#define RP_MAILBOX_RULE                                                                            \
	"local@domain: 1-64 characters without spaces, quotes, <> or (),:;@[\\], then a host "     \
	"name or an [address] literal"
int rp_mailbox_split(const char *s, char *local, size_t llen, char *domain, size_t dlen,
                     unsigned flags);

/* An EHLO/HELO name (RFC 5321 4.1.1.1): a host name (target_hostname_ok) or
 * an address literal (target_address_literal_ok), at most RP_DOMAIN_MAX. */
bool rp_ehlo_ok(const char *s);

/* The probe's envelope and greeting as an audit carries them: "to" and "from"
 * mailboxes (address literals allowed), "ehlo" an EHLO name. NULL or "" is the
 * default. One rule for the CLI, the controller at audit.start and the agent
 * that runs the order. Returns NULL when all pass, else the failing one's
 * name ("to", "from" or "ehlo"). */
const char *rp_probe_params_bad(const char *to, const char *from, const char *ehlo);

#endif
