/* ctl_config.c - relayprobe-controller's INI file: its key table for
 * common/ini_strict.c ([controller], [hooks], [metrics], [canary]; each key
 * at most once, values bounded by CFG_VALUE_MAX and checked: endpoint
 * schemes, ranges, addresses) and the checks across keys (email hook keys go
 * together, a wildcard metrics address needs a token, canary listen with
 * domains, cert_file with key_file). The metrics token file is read here: a
 * regular file of the daemon's user (or root), mode 0600 or stricter, at
 * most RP_METRICS_TOKEN_MAX bytes. Every error names FILE:LINE. */
#include "ctl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canary_server.h"
#include "ini_strict.h"
#include "rp_limits.h"
#include "rp_names.h"
#include "target.h"

#define CFG_VALUE_MAX 1024

/* Indices into keys_table, for the checks across keys. */
enum cfg_key {
	K_LISTEN = 0,
	K_KEYS,
	K_DATABASE,
	K_ADMIN,
	K_ORDER_TTL,
	K_ORDER_STALL,
	K_METRICS,
	K_RET_DAYS,
	K_RET_SECONDS,
	K_WEBHOOK,
	K_SYSLOG,
	K_SMTP_SERVER,
	K_MAIL_FROM,
	K_MAIL_TO,
	K_RETRY_BASE,
	K_TOKEN_FILE,
	K_SNAPSHOT,
	K_C_LISTEN,
	K_C_DOMAINS,
	K_C_WAIT,
	K_C_LATE,
	K_C_CONTACT,
	K_C_CERT,
	K_C_KEY,
	K_C_MAC_KEY,
	K_C_HOSTNAME,
	K_C_SESSIONS,
	K_C_PEER_SESSIONS,
	K_C_PEER_MSGS,
	K_COUNT
};

/* ---- value checks ---- */

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int tcp_ok(const char *v, char *why, size_t whylen)
{
	if (has_prefix(v, "tcp://"))
		return 0;
	snprintf(why, whylen, "expected a tcp:// endpoint");
	return -1;
}

static int ipc_ok(const char *v, char *why, size_t whylen)
{
	if (has_prefix(v, "ipc://") && v[6] != '\0')
		return 0;
	snprintf(why, whylen, "expected ipc://PATH");
	return -1;
}

static int url_ok(const char *v, char *why, size_t whylen)
{
	if (has_prefix(v, "http://") || has_prefix(v, "https://"))
		return 0;
	snprintf(why, whylen, "expected an http:// or https:// URL");
	return -1;
}

static bool address_ok(const char *v)
{
	char host[128];
	unsigned port;

	return target_parse_numeric_hostport(v, host, sizeof(host), &port) == 0;
}

static int smtp_server_ok(const char *v, char *why, size_t whylen)
{
	if (address_ok(v))
		return 0;
	snprintf(why, whylen, "expected HOST:PORT or [IPV6]:PORT");
	return -1;
}

static int mailbox_ok(const char *v, char *why, size_t whylen)
{
	if (strchr(v, '@') != NULL && strpbrk(v, " <>\r\n\t") == NULL)
		return 0;
	snprintf(why, whylen, "expected a bare address user@domain");
	return -1;
}

static int contact_ok(const char *v, char *why, size_t whylen)
{
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
			snprintf(why, whylen, "printable ASCII only");
			return -1;
		}
	return 0;
}

static int hostname_ok(const char *v, char *why, size_t whylen)
{
	if (target_hostname_ok(v))
		return 0;
	snprintf(why, whylen, "expected a host name");
	return -1;
}

/* metrics: PORT (= 127.0.0.1:PORT, loopback only), HOST:PORT or [IPV6]:PORT. */
static int v_metrics(void *obj, const char *v, char *why, size_t whylen)
{
	struct ctl_config *cfg = obj;
	char withhost[64];
	char *d;

	if (strspn(v, "0123456789") == strlen(v) && strlen(v) <= 5) {
		snprintf(withhost, sizeof(withhost), "127.0.0.1:%s", v);
		v = withhost;
	}
	if (strlen(v) > CFG_VALUE_MAX || !address_ok(v)) {
		snprintf(why, whylen, "expected PORT, HOST:PORT or [IPV6]:PORT");
		return -1;
	}
	if ((d = strdup(v)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	free(cfg->metrics);
	cfg->metrics = d;
	return 0;
}

/* A comma-separated list of 1..max items, each checked by ok(). */
static int list_of(const char *v, char **out, size_t max, size_t *n, bool (*ok)(const char *),
                   const char *what, char *why, size_t whylen)
{
	char item[CFG_VALUE_MAX + 1];
	bool too_long;

	while (ini_strict_next_item(&v, item, sizeof(item), &too_long)) {
		if (*n == max) {
			snprintf(why, whylen, "at most %zu items", max);
			return -1;
		}
		if (too_long || !ok(item)) {
			snprintf(why, whylen, "\"%.64s\" is not %s", item, what);
			return -1;
		}
		if ((out[*n] = strdup(item)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		(*n)++;
	}
	if (*n == 0) {
		snprintf(why, whylen, "empty list");
		return -1;
	}
	return 0;
}

static bool domain_ok(const char *v)
{
	return target_hostname_ok(v) && strchr(v, '.') != NULL;
}

static int v_canary_listen(void *obj, const char *v, char *why, size_t whylen)
{
	struct ctl_config *cfg = obj;
	return list_of(v, cfg->canary_listen, RP_CANARY_LISTEN_MAX, &cfg->n_canary_listen,
	               address_ok, "HOST:PORT or [IPV6]:PORT", why, whylen);
}

static int v_canary_domains(void *obj, const char *v, char *why, size_t whylen)
{
	struct ctl_config *cfg = obj;
	return list_of(v, cfg->canary_domains, RP_CANARY_DOMAINS_MAX, &cfg->n_canary_domains,
	               domain_ok, "a domain name", why, whylen);
}

/* The file's keys, in enum cfg_key's order: docs/relayprobe-controller.8 and
 * deploy/controller.conf.example describe the same. */
#define CC struct ctl_config
#define STRDUP(sec, key, member, fl, ck, text)                                                     \
	{                                                                                          \
		sec, key, INI_STRDUP, fl, INI_AT(CC, member), .max = CFG_VALUE_MAX, .check = ck,   \
		                                              .doc = text                          \
	}
#define COUNT(sec, key, member, lo, hi, text)                                                      \
	{                                                                                          \
		sec, key, INI_UINT, 0, INI_AT(CC, member), .min = lo, .max = hi, .doc = text       \
	}
static const struct ini_key keys_table[] = {
    [K_LISTEN] = STRDUP("controller", "listen", listen, 0, tcp_ok, "the agents' ROUTER endpoint"),
    [K_KEYS] = STRDUP("controller", "keys", keys, INI_PATH, NULL, "the secret key file"),
    [K_DATABASE] = STRDUP("controller", "database", database, INI_PATH, NULL, "SQLite file"),
    [K_ADMIN] = STRDUP("controller", "admin", admin, 0, ipc_ok, "the admin socket"),
    [K_ORDER_TTL] = {"controller", "order_ttl", INI_SECONDS, 0, INI_AT(CC, order_ttl),
                     .min = CTL_ORDER_TTL_MIN, .max = CTL_ORDER_TTL_MAX,
                     .doc = "seconds a signed order stays valid"},
    [K_ORDER_STALL] = {"controller", "order_stall", INI_SECONDS, INI_ZERO_OK,
                       INI_AT(CC, order_stall), .min = CTL_ORDER_STALL_MIN,
                       .max = CTL_ORDER_STALL_MAX,
                       .doc = "close an acked order without progress after this"},
    [K_METRICS] = {"controller", "metrics", INI_CUSTOM, INI_EMPTY_SKIP, .set = v_metrics,
                   .doc = "the Prometheus endpoint; empty = off"},
    [K_RET_DAYS] = {"controller", "transcript_retention_days", INI_DOUBLE, 0,
                    INI_AT(CC, retention_s), .dmin = 0, .dmax = 36500, .scale = 86400,
                    .excludes = "transcript_retention_seconds",
                    .doc = "days transcripts are kept, 0 = forever"},
    [K_RET_SECONDS] = {"controller", "transcript_retention_seconds", INI_DOUBLE, 0,
                       INI_AT(CC, retention_s), .dmin = 0, .dmax = 36500.0 * 86400,
                       .excludes = "transcript_retention_days",
                       .doc = "the same in seconds, for tests"},
    [K_WEBHOOK] = STRDUP("hooks", "webhook", webhook, INI_EMPTY_SKIP, url_ok,
                         "http(s) URL of the webhook; empty = off"),
    [K_SYSLOG] = {"hooks", "syslog", INI_BOOL, 0, INI_AT(CC, hook_syslog),
                  .doc = "one syslog line per event"},
    [K_SMTP_SERVER] = STRDUP("hooks", "smtp_server", smtp_server, INI_EMPTY_SKIP, smtp_server_ok,
                             "HOST:PORT of the email hook; empty = off"),
    [K_MAIL_FROM] = STRDUP("hooks", "mail_from", mail_from, 0, mailbox_ok, "envelope sender"),
    [K_MAIL_TO] = STRDUP("hooks", "mail_to", mail_to, 0, mailbox_ok, "the operator's address"),
    [K_RETRY_BASE] = COUNT("hooks", "hook_retry_base", hook_retry_base, 1, 3600,
                           "seconds before the first retry"),
    [K_TOKEN_FILE] = STRDUP("metrics", "token_file", metrics_token_file, INI_PATH, NULL,
                            "the bearer token's file"),
    [K_SNAPSHOT] = COUNT("metrics", "snapshot_seconds", metrics_snapshot_s, 0, 3600,
                         "seconds between recomputations"),
    [K_C_LISTEN] = {"canary", "listen", INI_CUSTOM, 0, .set = v_canary_listen,
                    .doc = "the canary's listening addresses"},
    [K_C_DOMAINS] = {"canary", "domains", INI_CUSTOM, 0, .set = v_canary_domains,
                     .doc = "the canary domains"},
    [K_C_WAIT] = {"canary", "wait", INI_SECONDS, 0, INI_AT(CC, canary_wait), .min = 10,
                  .max = 7 * 86400, .doc = "how long a test message may take"},
    [K_C_LATE] = {"canary", "late", INI_SECONDS, 0, INI_AT(CC, canary_late), .min = 60,
                  .max = 365 * 86400, .doc = "arrivals up to this age still count"},
    [K_C_CONTACT] = {"canary", "contact", INI_STRDUP, 0, INI_AT(CC, canary_contact),
                     .max = RP_CANARY_CONTACT_MAX, .check = contact_ok,
                     .doc = "contact line of the test message"},
    [K_C_CERT] = STRDUP("canary", "cert_file", canary_cert, INI_PATH, NULL, "STARTTLS cert"),
    [K_C_KEY] = STRDUP("canary", "key_file", canary_key, INI_PATH, NULL, "STARTTLS key"),
    [K_C_MAC_KEY] =
        STRDUP("canary", "mac_key", canary_mac_key, INI_PATH, NULL, "the token key file"),
    [K_C_HOSTNAME] =
        STRDUP("canary", "hostname", canary_hostname, 0, hostname_ok, "the banner's host name"),
    [K_C_SESSIONS] = COUNT("canary", "sessions_max", canary_sessions, 1, RP_CANARY_SESSIONS_MAX,
                           "open sessions, all peers"),
    [K_C_PEER_SESSIONS] = COUNT("canary", "peer_sessions", canary_peer_sessions, 1,
                                RP_CANARY_SESSIONS_MAX, "open sessions per peer"),
    [K_C_PEER_MSGS] = COUNT("canary", "peer_messages_per_minute", canary_peer_msgs, 1, 100000,
                            "messages per peer a minute"),
};
#undef STRDUP
#undef COUNT
#undef CC
RP_ENUM_TABLE_CHECK(keys_table, K_COUNT);

void ctl_config_clear(struct ctl_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->listen);
	free(cfg->keys);
	free(cfg->database);
	free(cfg->admin);
	free(cfg->metrics);
	free(cfg->webhook);
	free(cfg->smtp_server);
	free(cfg->mail_from);
	free(cfg->mail_to);
	free(cfg->metrics_token_file);
	for (size_t i = 0; i < cfg->n_canary_listen; i++)
		free(cfg->canary_listen[i]);
	for (size_t i = 0; i < cfg->n_canary_domains; i++)
		free(cfg->canary_domains[i]);
	free(cfg->canary_contact);
	free(cfg->canary_cert);
	free(cfg->canary_key);
	free(cfg->canary_mac_key);
	free(cfg->canary_hostname);
	if (cfg->metrics_token != NULL) {
		memset(cfg->metrics_token, 0, strlen(cfg->metrics_token));
		free(cfg->metrics_token);
	}
	memset(cfg, 0, sizeof(*cfg));
}

/* Reads the bearer token: the file's first line, printable ASCII without
 * spaces, 1..RP_METRICS_TOKEN_MAX bytes. */
static int read_token(const char *file, char **out, char *err, size_t errlen)
{
	char buf[RP_METRICS_TOKEN_MAX + 2];
	struct stat st;
	ssize_t n = 0;
	size_t len;
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "[metrics] token_file %s: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		snprintf(err, errlen,
		         "[metrics] token_file %s: must be a regular file owned by this process's "
		         "user or root, mode 0600 or stricter",
		         file);
		close(fd);
		return -1;
	}
	while ((size_t)n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
			len = 0;
	if (len == 0 || len > RP_METRICS_TOKEN_MAX) {
		snprintf(err, errlen,
		         "[metrics] token_file %s: expected one line of 1 to %d printable "
		         "characters without spaces",
		         file, RP_METRICS_TOKEN_MAX);
		memset(buf, 0, sizeof(buf));
		return -1;
	}
	*out = strdup(buf);
	memset(buf, 0, sizeof(buf));
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* "0.0.0.0:P" or "[::]:P": every interface. */
static int wildcard_address(const char *addr)
{
	char host[128];
	unsigned port;

	if (target_parse_numeric_hostport(addr, host, sizeof(host), &port) < 0)
		return 0;
	return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	       strcmp(host, "0:0:0:0:0:0:0:0") == 0;
}

/* The line of the first of keys a, b and c (K_COUNT = none) given, 0 none:
 * where the errors of the checks across keys point. */
static unsigned first_line(const unsigned *lines, enum cfg_key a, enum cfg_key b, enum cfg_key c)
{
	const enum cfg_key k[] = {a, b, c};
	unsigned first = 0;

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (k[i] != K_COUNT && lines[k[i]] != 0 && (first == 0 || lines[k[i]] < first))
			first = lines[k[i]];
	return first;
}

static int set_default(char **dst, const char *v)
{
	if (*dst == NULL && (*dst = strdup(v)) == NULL)
		return -1;
	return 0;
}

int ctl_config_load(const char *path, struct ctl_config *cfg, char *err, size_t errlen)
{
	unsigned lines[K_COUNT];
	char why[512];

	memset(cfg, 0, sizeof(*cfg));
	cfg->order_ttl = CTL_ORDER_TTL_DEFAULT;
	cfg->order_stall = CTL_ORDER_STALL_DEFAULT;
	cfg->retention_s = 90.0 * 86400;
	cfg->hook_retry_base = 10;
	cfg->metrics_snapshot_s = 10;
	cfg->canary_wait = CTL_CANARY_WAIT_DEFAULT;
	cfg->canary_late = CTL_CANARY_LATE_DEFAULT;
	if (ini_strict_load(path, keys_table, K_COUNT, cfg, lines, err, errlen) < 0)
		goto fail;
	if ((cfg->smtp_server != NULL || cfg->mail_from != NULL || cfg->mail_to != NULL) &&
	    (cfg->smtp_server == NULL || cfg->mail_from == NULL || cfg->mail_to == NULL)) {
		ini_strict_error(err, errlen, path,
		                 first_line(lines, K_SMTP_SERVER, K_MAIL_FROM, K_MAIL_TO), NULL,
		                 NULL, "[hooks] email needs smtp_server, mail_from and mail_to");
		goto fail;
	}
	if (cfg->metrics != NULL && wildcard_address(cfg->metrics) &&
	    cfg->metrics_token_file == NULL) {
		ini_strict_error(
		    err, errlen, path, lines[K_METRICS], NULL, NULL,
		    "metrics = %s listens on every interface: give [metrics] token_file "
		    "or a specific address",
		    cfg->metrics);
		goto fail;
	}
	if ((cfg->n_canary_listen > 0) != (cfg->n_canary_domains > 0)) {
		ini_strict_error(err, errlen, path,
		                 first_line(lines, K_C_LISTEN, K_C_DOMAINS, K_COUNT), NULL, NULL,
		                 "[canary] needs both listen and domains");
		goto fail;
	}
	if ((cfg->canary_cert != NULL) != (cfg->canary_key != NULL)) {
		ini_strict_error(err, errlen, path, first_line(lines, K_C_CERT, K_C_KEY, K_COUNT),
		                 NULL, NULL, "[canary] cert_file and key_file go together");
		goto fail;
	}
	if (cfg->canary_late < cfg->canary_wait) {
		ini_strict_error(err, errlen, path, first_line(lines, K_C_LATE, K_C_WAIT, K_COUNT),
		                 NULL, NULL, "[canary] late must not be shorter than wait");
		goto fail;
	}
	if (cfg->metrics_token_file != NULL &&
	    read_token(cfg->metrics_token_file, &cfg->metrics_token, why, sizeof(why)) < 0) {
		ini_strict_error(err, errlen, path, lines[K_TOKEN_FILE], NULL, NULL, "%s", why);
		goto fail;
	}
	if (set_default(&cfg->listen, "tcp://0.0.0.0:7411") < 0 ||
	    set_default(&cfg->keys, "/etc/relayprobe/controller.secret") < 0 ||
	    set_default(&cfg->database, "/var/lib/relayprobe/controller.db") < 0 ||
	    set_default(&cfg->admin, "ipc:///run/relayprobe/admin.sock") < 0) {
		ini_strict_error(err, errlen, path, 0, NULL, NULL, "out of memory");
		goto fail;
	}
	return 0;
fail:
	ctl_config_clear(cfg);
	return -1;
}
