/* store_schema.c - the store's schema as ordered migrations: entry i takes
 * the database from PRAGMA user_version i to i + 1 (store.c applies them in
 * one transaction). Append only; never edit a released step. Verdict names
 * must match common/verdict.c (test_store checks every name is accepted). */
#include "store_internal.h"

#include "rp_limits.h"

/* Step 10 -> 11 spells the capacity's bound out in its CHECK. */
_Static_assert(RP_AGENT_CAPACITY_MAX == 64, "the agents.max_orders CHECK says 64");

/* The results table's first columns, up to the verdict names before
 * 'blocked': step 0 made the table with them, step 8 remakes it with one
 * verdict more. The text of step 0 is unchanged by this macro. */
#define RESULTS_COLUMNS_HEAD                                                                       \
	" id INTEGER PRIMARY KEY,"                                                                 \
	" agent_id INTEGER NOT NULL REFERENCES agents(id),"                                        \
	" order_id TEXT NOT NULL REFERENCES orders(id),"                                           \
	" target TEXT NOT NULL,"                                                                   \
	" address TEXT NOT NULL DEFAULT '',"                                                       \
	" port INTEGER NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),"                       \
	" verdict TEXT NOT NULL CHECK (verdict IN ('open-confirmed','open',"                       \
	"  'accepted-not-delivered','closed','auth-required','tls-required','tempfail',"

const char *const store_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE agents ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " curve_public TEXT NOT NULL UNIQUE,"
    " ed25519_public TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (status IN ('pending','approved','revoked')),"
    " labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " last_sequence INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX agents_live_name ON agents(name) WHERE status <> 'revoked';"
    "CREATE TABLE targets ("
    " id INTEGER PRIMARY KEY,"
    " spec TEXT NOT NULL,"
    " client TEXT NOT NULL DEFAULT '',"
    " tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),"
    " UNIQUE (spec, client));"
    "CREATE TABLE audits ("
    " id INTEGER PRIMARY KEY,"
    " created_at INTEGER NOT NULL,"
    " params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),"
    " status TEXT NOT NULL DEFAULT 'running'"
    "  CHECK (status IN ('running','done','cancelled')));"
    "CREATE TABLE orders ("
    " id TEXT PRIMARY KEY,"
    " audit_id INTEGER NOT NULL REFERENCES audits(id),"
    " agent_id INTEGER NOT NULL REFERENCES agents(id),"
    " sequence INTEGER NOT NULL,"
    " body BLOB NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (state IN ('pending','sent','acked','done')),"
    " created_at INTEGER NOT NULL,"
    " sent_at INTEGER,"
    " acked_at INTEGER,"
    " done_at INTEGER,"
    " UNIQUE (agent_id, sequence));"
    "CREATE INDEX orders_by_agent_state ON orders(agent_id, state, sequence);"
    "CREATE INDEX orders_by_audit ON orders(audit_id);"
    "CREATE TABLE results (" RESULTS_COLUMNS_HEAD "  'blocked','unreachable','error')),"
    " result_json TEXT NOT NULL CHECK (json_valid(result_json)),"
    " received_at INTEGER NOT NULL,"
    " UNIQUE (agent_id, order_id, target, address, port));"
    "CREATE INDEX results_by_order ON results(order_id);"
    /* Verdicts are not stored: this view joins each result to its audit and
     * agent; the C aggregation (aggregate.c) folds it per target. */
    "CREATE VIEW audit_cells AS"
    " SELECT o.audit_id AS audit_id, r.target AS target, r.agent_id AS agent_id,"
    "  a.name AS agent_name, r.address AS address, r.port AS port, r.verdict AS verdict"
    " FROM results r JOIN orders o ON o.id = r.order_id JOIN agents a ON a.id = r.agent_id;",
    /* 1 -> 2 (issue 5): inventory tags normalised (targets.tags stays the
     * JSON copy), schedules, per-audit target history and verdict events.
     * targets.spec is the audit's target text (port included when given),
     * so (client, spec) is unique per (client, target, port). */
    "CREATE TABLE target_tags ("
    " target_id INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,"
    " tag TEXT NOT NULL,"
    " PRIMARY KEY (target_id, tag));"
    "CREATE INDEX target_tags_by_tag ON target_tags(tag, target_id);"
    "CREATE INDEX targets_by_client ON targets(client, spec);"
    "CREATE TABLE schedules ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " every_s INTEGER NOT NULL CHECK (every_s > 0),"
    " at_s INTEGER NOT NULL DEFAULT -1 CHECK (at_s BETWEEN -1 AND 86399),"
    " selector TEXT NOT NULL CHECK (selector IN ('all','client','tag')),"
    " selector_value TEXT NOT NULL DEFAULT '',"
    " params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),"
    " created_at INTEGER NOT NULL,"
    " last_run INTEGER NOT NULL DEFAULT 0,"
    " last_audit INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " next_run INTEGER NOT NULL);"
    "CREATE TABLE target_history ("
    " audit_id INTEGER NOT NULL REFERENCES audits(id),"
    " target TEXT NOT NULL,"
    " client TEXT NOT NULL DEFAULT '',"
    " at INTEGER NOT NULL,"
    " verdict TEXT NOT NULL,"
    " vantages TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(vantages)),"
    " PRIMARY KEY (audit_id, target));"
    "CREATE INDEX history_by_target ON target_history(target, audit_id);"
    "CREATE TABLE audits_recorded (audit_id INTEGER PRIMARY KEY REFERENCES audits(id));"
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " target TEXT NOT NULL,"
    " client TEXT NOT NULL DEFAULT '',"
    " from_verdict TEXT NOT NULL,"
    " to_verdict TEXT NOT NULL,"
    " audit_id INTEGER NOT NULL REFERENCES audits(id));",
    /* 2 -> 3 (issue 5, controller/hooks.c): per-hook delivery state of each
     * event ('sending' rows are back to 'pending' at start), and an index
     * for transcript retention. */
    "CREATE TABLE hook_deliveries ("
    " event_id INTEGER NOT NULL REFERENCES events(id),"
    " hook TEXT NOT NULL CHECK (hook IN ('webhook','syslog','email')),"
    " state TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (state IN ('pending','sending','delivered','failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_try INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (event_id, hook));"
    "CREATE INDEX hook_deliveries_due ON hook_deliveries(hook, state, next_try);"
    "CREATE INDEX results_by_received ON results(received_at);",
    /* 3 -> 4: orders go out through a per-agent window and are signed
     * again (fresh sequence and validity) when they first leave; reissues
     * counts how often an agent refused one for expiry or sequence and it
     * went back to pending. counters: monotonic totals that survive result
     * pruning (results_ingested for the metrics endpoint). */
    "ALTER TABLE orders ADD COLUMN reissues INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO counters (name, value) SELECT 'results_ingested', count(*) FROM results;"
    /* Before v4 a pending order may already have left (sent, then the
     * process died before marking it): never re-signed, re-sent as is. */
    "UPDATE orders SET state = 'sent', sent_at = 0 WHERE state = 'pending';",
    /* 4 -> 5: the cells of an audit (report paging) from an index alone,
     * without reading the rows and their transcripts; and the SHA-256 of
     * every earlier body of a re-signed order, so results of any copy an
     * agent ran are accepted (a copy can run after its order was signed
     * again: an ack lost before a controller key rotation). */
    "CREATE INDEX IF NOT EXISTS results_cells ON results(order_id, agent_id, target);"
    "CREATE TABLE order_bodies ("
    " order_id TEXT NOT NULL REFERENCES orders(id),"
    " sha BLOB NOT NULL CHECK (length(sha) = 32),"
    " PRIMARY KEY (order_id, sha)) WITHOUT ROWID;",
    /* 5 -> 6: what an agent has earned on each order (docs/store.md,
     * "Ingest quotas"): the results and result bytes stored for it, the
     * number of results its ORDER_DONE declared (NULL until then: late
     * results of a done order are accepted only up to that number), and
     * the last time it made progress (acked, or a new result), so that an
     * order that stays acked without progress can be closed. */
    "ALTER TABLE orders ADD COLUMN results_n INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE orders ADD COLUMN results_bytes INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE orders ADD COLUMN results_declared INTEGER;"
    "ALTER TABLE orders ADD COLUMN progress_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE orders SET"
    " results_n = (SELECT count(*) FROM results r WHERE r.order_id = orders.id),"
    " results_bytes = (SELECT coalesce(sum(length(CAST(r.result_json AS BLOB))), 0)"
    "  FROM results r WHERE r.order_id = orders.id),"
    " results_declared = CASE WHEN state = 'done'"
    "  THEN (SELECT count(*) FROM results r WHERE r.order_id = orders.id) END,"
    " progress_at = max(coalesce(acked_at, 0), coalesce(sent_at, 0), created_at,"
    "  coalesce((SELECT max(received_at) FROM results r WHERE r.order_id = orders.id), 0));"
    "CREATE INDEX orders_acked_progress ON orders(state, progress_at);",
    /* 6 -> 7 (issue 9, docs/canary.md): proof by delivery. An order with
     * canary tokens has a reference (canary_ref, from the counter of that
     * name) that its tokens carry. A result keeps the verdict its agent
     * reported (agent_verdict) while the canary decides `verdict`: canary
     * 'awaiting' (accepted through DATA, nothing arrived yet), 'delivered'
     * (open-confirmed) or 'not-delivered' (accepted-not-delivered, after
     * the wait window); backscatter = a bounce came back for one of its
     * tests. Arrivals are kept whether their result is in yet or not. */
    "ALTER TABLE orders ADD COLUMN canary_ref INTEGER;"
    "CREATE UNIQUE INDEX orders_canary_ref ON orders(canary_ref) WHERE canary_ref IS NOT NULL;"
    "ALTER TABLE results ADD COLUMN agent_verdict TEXT;"
    "ALTER TABLE results ADD COLUMN canary TEXT CHECK (canary IS NULL OR canary IN"
    " ('awaiting', 'delivered', 'not-delivered'));"
    "ALTER TABLE results ADD COLUMN backscatter INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX results_canary_awaiting ON results(received_at) WHERE canary = 'awaiting';"
    "INSERT OR IGNORE INTO counters (name, value) VALUES ('canary_ref', 0);"
    "CREATE TABLE canary_arrivals ("
    " id INTEGER PRIMARY KEY,"
    " arrived_at INTEGER NOT NULL,"
    " order_id TEXT NOT NULL REFERENCES orders(id),"
    " agent_id INTEGER NOT NULL REFERENCES agents(id),"
    " target TEXT NOT NULL,"
    " test TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('delivery', 'bounce')),"
    " peer_ip TEXT NOT NULL,"
    " helo TEXT NOT NULL,"
    " mail_from TEXT NOT NULL,"
    " rcpt TEXT NOT NULL,"
    " message_id TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " tls TEXT,"
    " hops TEXT NOT NULL CHECK (json_valid(hops)),"
    " late INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX canary_arrivals_cell ON canary_arrivals(order_id, target);"
    "CREATE INDEX canary_arrivals_target ON canary_arrivals(target);",
    /* 7 -> 8 (issue 13, docs/fingerprint.md): the mail server software the
     * controller read from each result's signed transcript at ingest
     * (fingerprint_transcript_json): its name and confidence. NULL for
     * results stored before: reports show them as unknown. */
    "ALTER TABLE results ADD COLUMN software TEXT;"
    "ALTER TABLE results ADD COLUMN software_confidence TEXT;",
    /* 8 -> 9 (issue 13, the do-not-test list): 'excluded' joins the verdicts
     * a result may carry (an agent refused the target or an address it
     * resolved to, before any connection). SQLite cannot change a CHECK in
     * place: the table is rebuilt, rows, indexes and the view kept. */
    "DROP VIEW audit_cells;"
    "CREATE TABLE results_v9 (" RESULTS_COLUMNS_HEAD
    "  'blocked','unreachable','error','excluded')),"
    " result_json TEXT NOT NULL CHECK (json_valid(result_json)),"
    " received_at INTEGER NOT NULL,"
    " agent_verdict TEXT,"
    " canary TEXT CHECK (canary IS NULL OR canary IN"
    "  ('awaiting', 'delivered', 'not-delivered')),"
    " backscatter INTEGER NOT NULL DEFAULT 0,"
    " software TEXT,"
    " software_confidence TEXT,"
    " UNIQUE (agent_id, order_id, target, address, port));"
    "INSERT INTO results_v9 (id, agent_id, order_id, target, address, port, verdict,"
    " result_json, received_at, agent_verdict, canary, backscatter, software,"
    " software_confidence)"
    " SELECT id, agent_id, order_id, target, address, port, verdict, result_json,"
    " received_at, agent_verdict, canary, backscatter, software, software_confidence"
    " FROM results;"
    "DROP TABLE results;"
    "ALTER TABLE results_v9 RENAME TO results;"
    "CREATE INDEX results_by_order ON results(order_id);"
    "CREATE INDEX results_by_received ON results(received_at);"
    "CREATE INDEX results_cells ON results(order_id, agent_id, target);"
    "CREATE INDEX results_canary_awaiting ON results(received_at) WHERE canary = 'awaiting';"
    "CREATE VIEW audit_cells AS"
    " SELECT o.audit_id AS audit_id, r.target AS target, r.agent_id AS agent_id,"
    "  a.name AS agent_name, r.address AS address, r.port AS port, r.verdict AS verdict"
    " FROM results r JOIN orders o ON o.id = r.order_id JOIN agents a ON a.id = r.agent_id;",
    /* 9 -> 10 (issue 13, the do-not-test list): the controller's own list
     * (store_exclude.c), entries checked by common/exclude's rule before they
     * are written; audit.start does not send a target the list covers. */
    "CREATE TABLE exclusions ("
    " entry TEXT PRIMARY KEY,"
    " reason TEXT NOT NULL DEFAULT '',"
    " requested_by TEXT NOT NULL DEFAULT '',"
    " added_at INTEGER NOT NULL);",
    /* 10 -> 11 (issue 12, the agent's capacity): the orders an agent last
     * said it takes at once (Hello.max_orders, its [agent] capacity); its
     * order window (orders.c) follows it. 0 = not said (an agent older than
     * the field, or one not heard since the upgrade): the old window of 2. */
    "ALTER TABLE agents ADD COLUMN max_orders INTEGER NOT NULL DEFAULT 0"
    " CHECK (max_orders BETWEEN 0 AND 64);",
};
const int store_migrations_count = (int)(sizeof(store_migrations) / sizeof(store_migrations[0]));
