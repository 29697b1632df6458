/* rp_limits.h - every size and count limit relayprobe enforces, in one place.
 * Anything read from a socket, a file or a peer is bounded by one of these
 * before it is stored. Change a value here, never inline at a call site. */
#ifndef RP_LIMITS_H
#define RP_LIMITS_H

/* One SMTP reply line, without CRLF. RFC 5321 4.5.3.1.5 says 512 octets;
 * Postfix reads up to 2048 (line_length_limit); we accept as much. */
#define RP_SMTP_LINE_MAX 2048
/* Lines in one multi-line reply, and bytes of reply text kept per reply. */
#define RP_SMTP_REPLY_LINES_MAX 100
#define RP_SMTP_REPLY_BYTES_MAX 8192
/* One command line we send, without CRLF (RFC 5321 4.5.3.1.4: 512). */
#define RP_SMTP_CMD_MAX 1000
/* An address inside <> (64 local + @ + 255 domain, plus decorations). */
#define RP_ADDR_MAX 512
/* A domain or host name. */
#define RP_DOMAIN_MAX 255
/* The local part of a mailbox (RFC 5321 4.5.3.1.1), common/syntax.c. */
#define RP_LOCAL_PART_MAX 64
/* Pending output of one dialog (a pipelined batch plus the DATA message). */
#define RP_DIALOG_OUT_MAX (32 * 1024)
/* Transcript of one dialog, all entries included. Past it, entries are dropped
 * and one truncation marker is recorded. */
#define RP_TRANSCRIPT_BYTES_MAX (128 * 1024)
/* One transcript entry's text (a reply line escaped may grow 4x). */
#define RP_TRANSCRIPT_ENTRY_MAX (RP_SMTP_LINE_MAX * 4 + 16)
/* Relay tests selectable in one run. */
#define RP_TESTS_MAX 64
/* SMTP sessions one dialog may open (first + reconnects + retries). */
#define RP_SESSIONS_MAX 12
/* The largest value read from a server's LIMITS (RFC 9422) MAILMAX or RCPTMAX;
 * larger or zero values are ignored as if not said. */
#define RP_LIMITS_VALUE_MAX 100000
/* A do-not-test list (common/exclude.h): its entries, and one reason. */
#define RP_EXCLUDE_MAX        100000
#define RP_EXCLUDE_REASON_MAX 256
/* Who asked for an entry of the controller's list (exclude.add "by"). */
#define RP_EXCLUDE_BY_MAX 128
/* "port 25 looks blocked at this vantage" (common/vantage.c) is said only
 * when every port-25 connect timed out and they went to at least this many
 * distinct addresses: one or two silent servers are often just down or
 * firewalled themselves; three unrelated ones all silent, and none refusing
 * or answering, is what an outbound port-25 filter (most clouds) looks like. */
#define RP_PORT25_BLOCKED_MIN_ADDRS 3
/* `relayprobe probe` text table (cli/text_col.c): the TARGET column is as
 * wide as its widest name, at least the old fixed 40 columns and at most 72
 * (two table rows on an 80-column terminal are better than one row no one
 * can read); a longer name ends in an ellipsis. */
#define RP_TABLE_TARGET_MIN 40
#define RP_TABLE_TARGET_MAX 72
/* One exclusion described for a result ("excluded by ENTRY (WHERE): REASON"). */
#define RP_EXCLUDE_WHY_MAX 640
/* Concurrent dialogs one engine drives. */
#define RP_DIALOGS_MAX 100000
/* Targets read from one --targets file, and one line of it. */
#define RP_TARGETS_MAX     1000000
#define RP_TARGET_LINE_MAX 1024
/* MX hosts and addresses per host taken from DNS for one domain target. */
#define RP_MX_MAX             16
#define RP_ADDRS_PER_HOST_MAX 16

/* Engine: bytes read from one socket at a time (one buffer for all dialogs). */
#define RP_ENGINE_READ_MAX (16 * 1024)
/* Engine: targets whose DNS resolution runs at once (each is one MX query and
 * up to RP_MX_MAX address lookups). */
#define RP_DNS_JOBS_MAX 256

/* Hostile servers (common/tls.c, engine.c, dialog.c). TLS: the
 * largest DH group a server may make us compute with (a 10,000-bit group
 * cost 0.9-1.3 s of CPU on the engine's only thread; one at 8192 ~0.25 s),
 * the smallest (OpenSSL's own level-0 floor, kept), the largest RSA/DSA key
 * in the server's chain, and the handshake CPU one dialog may spend over
 * all its sessions before its next handshake is refused (an ECDHE one
 * costs ~2 ms). Deadlines: a dialog ends at most this many command
 * timeouts after it starts, whatever the banner patience, sessions or
 * retries. An order's deadline (the engine's deadline_ms, the agent's
 * [limits] order_deadline) is at most RP_ORDER_DEADLINE_MAX_S seconds. */
#define RP_TLS_DH_BITS_MAX      8192
#define RP_TLS_DH_BITS_MIN      1024
#define RP_TLS_RSA_BITS_MAX     8192
#define RP_TLS_CPU_BUDGET_MS    600
#define RP_TLS_REASON_MAX       160
#define RP_DIALOG_DEADLINE_MULT 30
#define RP_ORDER_DEADLINE_MAX_S (7 * 86400)

/* Wire protocol (wire/): one ZeroMQ message (an Envelope), checked
 * before anything is decoded; also ZMQ_MAXMSGSIZE on every socket. */
#define RP_WIRE_MSG_MAX (4 * 1024 * 1024)
/* An order id or agent/node name, this many bytes at most (the charsets:
 * common/syntax.h, rp_id_ok). */
#define RP_WIRE_ID_MAX 64
/* Targets and relay tests carried by one order. */
#define RP_WIRE_ORDER_TARGETS_MAX 10000
/* Operator contact line in the canary test message. */
#define RP_CANARY_CONTACT_MAX 256
/* An order with canary tokens carries 2 x targets x tests of them, and is
 * stored whole (RP_STORE_ORDER_MAX): the controller sizes such orders so
 * that their tokens and their targets, each as long as a target may be,
 * fit in this many bytes (the rest of the cap is for the other fields). */
#define RP_CANARY_ORDER_BYTES (RP_STORE_ORDER_MAX - 64 * 1024)
/* Order ids an agent remembers against replay (oldest dropped first; the
 * sequence number covers the dropped ones). */
#define RP_WIRE_REPLAY_MAX 4096
/* Key files (wire/keys.c): one line, and the whole file. */
#define RP_KEYFILE_LINE_MAX 256
#define RP_KEYFILE_MAX      4096

/* Agent spool: one spooled result file, and files in the spool.
 * A result holds the transcripts of one order's targets (each up to
 * RP_TRANSCRIPT_BYTES_MAX), so 8 MiB leaves room for a 64-target batch. */
#define RP_SPOOL_ITEM_MAX  (8 * 1024 * 1024)
#define RP_SPOOL_ITEMS_MAX 100000
/* A spool key (a file name in the spool), bytes at most (common/syntax.c). */
#define RP_SPOOL_KEY_MAX 128
/* Controller store: a signed order body, one result's JSON, an
 * agent/target/label text field, as accepted by the store. */
#define RP_STORE_ORDER_MAX  (1024 * 1024)
#define RP_STORE_RESULT_MAX (8 * 1024 * 1024)
#define RP_STORE_TEXT_MAX   4096

/* CLI admin client (cli/admin.c): one JSON request or reply on the
 * controller's admin socket (also ZMQ_MAXMSGSIZE there; a report of a large
 * audit or a transcript fits), and targets sent in one audit.start. */
#define RP_ADMIN_MSG_MAX     (32 * 1024 * 1024)
#define RP_ADMIN_TARGETS_MAX 100000
/* Cells (target x vantage) per page of the bulk "transcripts" command. */
#define RP_ADMIN_CELLS_PAGE 1000
/* ... and a page ends between cells once its results reach this size. */
#define RP_ADMIN_PAGE_BYTES (2 * 1024 * 1024)

/* Hello (wire/control.c): labels and capabilities an agent may
 * announce, and the length of one label key, label value or capability. */
#define RP_WIRE_LABELS_MAX 32
#define RP_WIRE_CAPS_MAX   32
#define RP_WIRE_LABEL_MAX  128
/* Orders an agent takes at once ([agent] capacity, Hello.max_orders): the
 * controller keeps that many out to it plus one queued behind them, so its
 * window is 1..RP_AGENT_CAPACITY_MAX + 1. */
#define RP_AGENT_CAPACITY_MAX 64
/* Controller: agents tracked as connected at once (admin socket
 * messages: RP_ADMIN_MSG_MAX above). */
#define RP_CTL_AGENTS_MAX 4096
/* What the controller takes from one approved agent (docs/store.md, "Ingest
 * quotas"). One result's JSON: a transcript is at most
 * RP_TRANSCRIPT_BYTES_MAX, its JSON at most about 4 times that with the
 * entries' fields, far under the wire cap. Results per target of an order:
 * one per address of its MX hosts, plus one when nothing was reached.
 * Result bytes per target of an order (the order's quota is this times its
 * targets). Result bytes per agent and minute (a token bucket of one
 * minute's worth; past it results are left unacknowledged, so the agent
 * keeps them spooled and sends them again later). */
#define RP_RESULT_JSON_MAX         (1024 * 1024)
#define RP_CTL_TARGET_RESULTS_MAX  (RP_MX_MAX * RP_ADDRS_PER_HOST_MAX + 1)
#define RP_CTL_TARGET_BYTES_MAX    (8 * 1024 * 1024)
#define RP_CTL_AGENT_BYTES_PER_MIN (256 * 1024 * 1024)
/* One ingest batch (one commit) ends after this many bytes or milliseconds,
 * so the admin socket is served between batches during a flood; and the
 * agents' ROUTER queues at most this many messages per connection. */
#define RP_CTL_BATCH_BYTES (16 * 1024 * 1024)
#define RP_CTL_BATCH_MS    100
#define RP_CTL_RCVHWM      64
/* The fewest targets per order the controller will cut an audit into,
 * whatever an agent's HELLO says (an agent asking for 1 would make a large
 * audit thousands of orders). */
#define RP_CTL_TARGETS_PER_ORDER_MIN 100

/* Controller ZAP handler (controller/zap.c): unknown CURVE keys
 * are recorded as pending agents up to RP_CTL_PENDING_MAX (past it a new key
 * is refused without being recorded), at most RP_CTL_PENDING_PER_PEER_MIN a
 * minute from one peer address (an IPv6 peer: its /64; a token bucket per
 * peer in a table of RP_CTL_ZAP_PEERS_MAX, the least recently used dropped),
 * refusals logged once per RP_CTL_ZAP_LOG_MS with the count suppressed, and
 * at most RP_CTL_ZAP_BATCH requests handled before the main loop polls its
 * other sockets again (the admin socket answers during a flood). */
#define RP_CTL_PENDING_MAX          1000
#define RP_CTL_PENDING_PER_PEER_MIN 10
#define RP_CTL_ZAP_PEERS_MAX        1024
#define RP_CTL_ZAP_LOG_MS           10000
#define RP_CTL_ZAP_BATCH            64

/* Controller metrics endpoint (controller/metrics.c): bytes of one
 * HTTP request (line + headers), clients open at once (the oldest is dropped
 * for a new one), a client's lifetime, the size of one exposition body, and
 * distinct client labels in relayprobe_targets. */
#define RP_METRICS_REQUEST_MAX 4096
#define RP_METRICS_CLIENTS_MAX 16
#define RP_METRICS_TIMEOUT_MS  2000
#define RP_METRICS_BODY_MAX    (16 * 1024 * 1024)
#define RP_METRICS_LABELS_MAX  10000
#define RP_METRICS_TOKEN_MAX   256 /* bearer token from [metrics] token_file */

/* Inventory and schedules (the controller's store, cli/cmd_targets.c):
 * a client, tag or schedule name; tags per target; rows per import; the
 * shortest schedule interval (seconds, for tests) and the longest. */
#define RP_INV_TEXT_MAX    128
#define RP_INV_TAGS_MAX    32
#define RP_INV_ROWS_MAX    RP_ADMIN_TARGETS_MAX
#define RP_SCHED_EVERY_MIN 1
#define RP_SCHED_EVERY_MAX (366 * 86400)

/* The canary: the Received: parser (common/received.c), */
#define RP_RECEIVED_NAME_MAX  255 /* host names (RFC 1035 bound) */
#define RP_RECEIVED_IP_MAX    64  /* textual IPv4/IPv6 without brackets */
#define RP_RECEIVED_WITH_MAX  32
#define RP_RECEIVED_ID_MAX    64
#define RP_RECEIVED_HOPS_MAX  32   /* hops kept per message */
#define RP_RECEIVED_VALUE_MAX 4096 /* longer header values are cut there */

/* the receiver session (common/canary_smtp.c), */
#define RP_CANARY_RCPTS_MAX   16          /* RCPTs per message (more: 452) */
#define RP_CANARY_MESSAGE_MAX (64 * 1024) /* DATA over it: 552 */
/* Header block bytes parsed for Received:, Message-ID: and Subject: (past
 * it the rest of the block is skipped). Fields are parsed one at a time as
 * they complete, each unfolded into a buffer of RP_CANARY_FIELD_MAX (longer
 * values cut there), so the block is never held whole. */
#define RP_CANARY_HEADER_MAX       (32 * 1024)
#define RP_CANARY_FIELD_MAX        RP_RECEIVED_VALUE_MAX
#define RP_CANARY_BODY_TOKENS      8  /* distinct tokens kept from the message */
#define RP_CANARY_TOKEN_WORD_MAX   64 /* "rp-..." word, bytes */
#define RP_CANARY_ERRORS_MAX       10 /* bad commands before 421 and close */
#define RP_CANARY_MSGS_PER_SESSION 32 /* messages per session, then 421 */
/* Output: past RP_CANARY_OUT_HIGH bytes pending the session stops taking
 * commands from its input (canary_smtp_wants_read() is false) until the
 * driver has written it; one command's replies always fit in the rest of
 * RP_CANARY_OUT_MAX. The driver feeds at most RP_CANARY_FEED_MAX bytes a
 * call, and the session holds back at most that much unprocessed input. */
#define RP_CANARY_OUT_HIGH      4096
#define RP_CANARY_OUT_MAX       8192
#define RP_CANARY_FEED_MAX      4096
#define RP_CANARY_WHY_MAX       128         /* commit's reason, in the 451 */
#define RP_CANARY_FOOTPRINT_MAX (64 * 1024) /* canary_smtp_footprint() never above */

/* and the listener (common/canary_server.c). */
#define RP_CANARY_LISTEN_MAX         8
#define RP_CANARY_DOMAINS_MAX        16
#define RP_CANARY_SESSIONS_MAX       256 /* open sessions, all peers */
#define RP_CANARY_PEER_SESSIONS      8   /* open sessions per peer */
#define RP_CANARY_PEER_CONN_PER_MIN  60  /* new sessions per peer a minute */
#define RP_CANARY_PEER_MSGS_PER_MIN  120 /* messages per peer a minute */
#define RP_CANARY_PEER_BYTES_PER_MIN (8 * 1024 * 1024)
#define RP_CANARY_PEERS_MAX          4096 /* peers tracked (LRU) */
#define RP_CANARY_IDLE_MS                                                                          \
	(120 * 1000)                          /* per command; RFC 5321 says 5 min for              \
	                                         the client, we are the server */
#define RP_CANARY_SESSION_MS (10 * 60 * 1000) /* whole session */

/* INI configuration files (common/ini_strict.c): a line is at most
 * RP_INI_LINE_MAX bytes before its newline, a file at most RP_INI_FILE_MAX
 * bytes; section and key names at most RP_INI_NAME_MAX bytes. */
#define RP_INI_LINE_MAX 2048
#define RP_INI_FILE_MAX (256 * 1024)
#define RP_INI_NAME_MAX 64

/* Fingerprint (common/fingerprint.c): the first RP_FP_SCAN_MAX bytes of a
 * reply line are looked at (RFC 5321's 512; a product name past them is
 * not evidence), at most RP_FP_LINES_MAX received lines of a transcript,
 * and at most RP_FP_EVIDENCE_MAX evidence lines of RP_FP_EVIDENCE_LEN bytes
 * are kept. Advice files (common/advice.c): a line, a one-line summary, a
 * section's full text and a whole file, in bytes. */
#define RP_FP_SCAN_MAX        512
#define RP_FP_LINES_MAX       400
#define RP_FP_EVIDENCE_MAX    6
#define RP_FP_EVIDENCE_LEN    160
#define RP_ADVICE_LINE_MAX    200
#define RP_ADVICE_SUMMARY_MAX 160
#define RP_ADVICE_TEXT_MAX    2048
#define RP_ADVICE_FILE_MAX    (32 * 1024)

#endif
