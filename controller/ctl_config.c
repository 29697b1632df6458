/* ctl_config.c - loads relayprobe-controller's INI file with inih. Accepts
 * only the [controller], [hooks] and [metrics] sections and their keys, each
 * at most once; values are bounded (CFG_VALUE_MAX) and checked (endpoint
 * schemes, order_ttl range, metrics address: a bare port means 127.0.0.1, a
 * wildcard needs a token). The metrics token file is read here: a regular
 * file of the daemon's user (or root), mode 0600 or stricter, at most
 * RP_METRICS_TOKEN_MAX bytes. The first error wins and names FILE:LINE and
 * the key. */
#include "ctl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canary_server.h"
#include "metrics.h"
#include "rp_limits.h"
#include "target.h"

#define CFG_VALUE_MAX 1024

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
	K_FIRST_HOOK, /* keys from here on belong to [hooks] */
	K_WEBHOOK = K_FIRST_HOOK,
	K_SYSLOG,
	K_SMTP_SERVER,
	K_MAIL_FROM,
	K_MAIL_TO,
	K_RETRY_BASE,
	K_FIRST_METRICS, /* keys from here on belong to [metrics] */
	K_TOKEN_FILE = K_FIRST_METRICS,
	K_SNAPSHOT,
	K_FIRST_CANARY, /* keys from here on belong to [canary] */
	K_C_LISTEN = K_FIRST_CANARY,
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
static const char *const key_names[] = {"listen",
                                        "keys",
                                        "database",
                                        "admin",
                                        "order_ttl",
                                        "order_stall",
                                        "metrics",
                                        "transcript_retention_days",
                                        "transcript_retention_seconds",
                                        "webhook",
                                        "syslog",
                                        "smtp_server",
                                        "mail_from",
                                        "mail_to",
                                        "hook_retry_base",
                                        "token_file",
                                        "snapshot_seconds",
                                        "listen",
                                        "domains",
                                        "wait",
                                        "late",
                                        "contact",
                                        "cert_file",
                                        "key_file",
                                        "mac_key",
                                        "hostname",
                                        "sessions_max",
                                        "peer_sessions",
                                        "peer_messages_per_minute"};
_Static_assert(sizeof(key_names) / sizeof(key_names[0]) == K_COUNT, "config key names");

struct parse {
	struct ctl_config *cfg;
	const char *path;
	char *err;
	size_t errlen;
	int failed; /* an error was recorded (keep the first) */
	char reason[256];
	char key[64];
	int seen[K_COUNT];
};

static int fail(struct parse *p, const char *key, const char *reason)
{
	if (!p->failed) {
		p->failed = 1;
		snprintf(p->key, sizeof(p->key), "%s", key);
		snprintf(p->reason, sizeof(p->reason), "%s", reason);
		/* The key name comes from the file: no control bytes in the error. */
		for (char *q = p->key; *q != '\0'; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = '?';
	}
	return 0; /* inih records the line of the first handler error */
}

static int set_str(char **dst, const char *v)
{
	char *d = strdup(v);

	if (d == NULL)
		return -1;
	free(*dst);
	*dst = d;
	return 0;
}

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* A whole number of seconds in [min, max] (or 0 when zero_ok) into *out;
 * inih's handler result (1, or 0 after fail()). */
static int seconds(struct parse *p, const char *name, const char *value, unsigned long min,
                   unsigned long max, bool zero_ok, uint32_t *out)
{
	char *end = NULL, r[96];
	unsigned long v;

	unsigned long mult = 1;

	errno = 0;
	v = strtoul(value, &end, 10);
	/* a unit may follow: s, m, h, d */
	if (end != value && end[0] != '\0' && end[1] == '\0' && strchr("smhd", end[0])) {
		mult = end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 1;
		end++;
	}
	if (errno == 0 && v > ULONG_MAX / mult)
		errno = ERANGE;
	else
		v *= mult;
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' ||
	    (!(zero_ok && v == 0) && (v < min || v > max))) {
		snprintf(r, sizeof(r), "expected %sseconds between %lu and %lu (units s, m, h, d)",
		         zero_ok ? "0 (never) or " : "", min, max);
		return fail(p, name, r);
	}
	*out = (uint32_t)v;
	return 1;
}

static int section_of(int k)
{
	return k >= K_FIRST_CANARY ? 3 : k >= K_FIRST_METRICS ? 2 : k >= K_FIRST_HOOK ? 1 : 0;
}

/* A comma-separated list of at most max items, each checked by ok(). */
static int list_of(struct parse *p, const char *name, const char *value, char **out, size_t max,
                   size_t *n, bool (*ok)(const char *), const char *what)
{
	char buf[CFG_VALUE_MAX + 1], r[160];
	char *save = NULL, *item;

	snprintf(buf, sizeof(buf), "%s", value);
	*n = 0;
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ' || *item == '\t')
			item++;
		for (size_t e = strlen(item); e > 0 && (item[e - 1] == ' ' || item[e - 1] == '\t');
		     e--)
			item[e - 1] = '\0';
		if (*n == max) {
			snprintf(r, sizeof(r), "at most %zu items", max);
			return fail(p, name, r);
		}
		if (!ok(item)) {
			snprintf(r, sizeof(r), "\"%.64s\" is not %s", item, what);
			return fail(p, name, r);
		}
		if ((out[*n] = strdup(item)) == NULL)
			return fail(p, name, "out of memory");
		(*n)++;
	}
	if (*n == 0)
		return fail(p, name, "empty list");
	return 1;
}

static bool listen_ok(const char *v)
{
	char host[128];
	unsigned port;

	return metrics_parse_address(v, host, sizeof(host), &port) == 0;
}

static bool domain_ok(const char *v)
{
	return target_hostname_ok(v) && strchr(v, '.') != NULL;
}

static int count_of(struct parse *p, const char *name, const char *value, unsigned long max,
                    unsigned *out)
{
	char *end = NULL, r[64];
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < 1 || v > max) {
		snprintf(r, sizeof(r), "expected a number between 1 and %lu", max);
		return fail(p, name, r);
	}
	*out = (unsigned)v;
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	int k;
	int want;

	if (p->failed)
		return 1; /* report only the first error */
	if (strcmp(section, "controller") == 0)
		want = 0;
	else if (strcmp(section, "hooks") == 0)
		want = 1;
	else if (strcmp(section, "metrics") == 0)
		want = 2;
	else if (strcmp(section, "canary") == 0)
		want = 3;
	else
		return fail(
		    p, name,
		    "unknown section (expected [controller], [hooks], [metrics] or [canary])");
	for (k = 0; k < K_COUNT; k++)
		if (strcmp(name, key_names[k]) == 0 && want == section_of(k))
			break;
	if (k == K_COUNT)
		return fail(p, name, "unknown key");
	if (k == K_RET_DAYS && p->seen[K_RET_SECONDS])
		return fail(p, name, "transcript_retention_seconds is already given");
	if (k == K_RET_SECONDS && p->seen[K_RET_DAYS])
		return fail(p, name, "transcript_retention_days is already given");
	if (p->seen[k]++)
		return fail(p, name, "given more than once");
	if (value[0] == '\0') {
		if (k == K_METRICS || k == K_WEBHOOK || k == K_SMTP_SERVER)
			return 1; /* "metrics =" keeps the endpoint off, same for hooks */
		return fail(p, name, "empty value");
	}
	if (strlen(value) > CFG_VALUE_MAX)
		return fail(p, name, "value too long");
	switch ((enum cfg_key)k) {
	case K_LISTEN:
		if (!has_prefix(value, "tcp://"))
			return fail(p, name, "expected a tcp:// endpoint");
		return set_str(&p->cfg->listen, value) < 0 ? fail(p, name, "out of memory") : 1;
	case K_ADMIN:
		if (!has_prefix(value, "ipc://") || value[6] == '\0')
			return fail(p, name, "expected ipc://PATH");
		return set_str(&p->cfg->admin, value) < 0 ? fail(p, name, "out of memory") : 1;
	case K_KEYS:
		return set_str(&p->cfg->keys, value) < 0 ? fail(p, name, "out of memory") : 1;
	case K_DATABASE:
		return set_str(&p->cfg->database, value) < 0 ? fail(p, name, "out of memory") : 1;
	case K_ORDER_TTL:
		return seconds(p, name, value, CTL_ORDER_TTL_MIN, CTL_ORDER_TTL_MAX, false,
		               &p->cfg->order_ttl);
	case K_ORDER_STALL:
		return seconds(p, name, value, CTL_ORDER_STALL_MIN, CTL_ORDER_STALL_MAX, true,
		               &p->cfg->order_stall);
	case K_METRICS: {
		char host[128];
		unsigned port;

		char withhost[64];

		/* A bare port: loopback only. */
		if (strspn(value, "0123456789") == strlen(value) && strlen(value) <= 5) {
			snprintf(withhost, sizeof(withhost), "127.0.0.1:%s", value);
			value = withhost;
		}
		if (metrics_parse_address(value, host, sizeof(host), &port) < 0)
			return fail(p, name, "expected PORT, HOST:PORT or [IPV6]:PORT");
		return set_str(&p->cfg->metrics, value) < 0 ? fail(p, name, "out of memory") : 1;
	}
	case K_TOKEN_FILE:
		return set_str(&p->cfg->metrics_token_file, value) < 0
		           ? fail(p, name, "out of memory")
		           : 1;
	case K_SNAPSHOT: {
		char *end = NULL;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v > 3600)
			return fail(p, name, "expected seconds between 0 and 3600");
		p->cfg->metrics_snapshot_s = (uint32_t)v;
		return 1;
	}
	case K_RET_DAYS:
	case K_RET_SECONDS: {
		char *end = NULL;
		double v;

		errno = 0;
		v = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !(v >= 0) ||
		    v > (k == K_RET_DAYS ? 36500.0 : 36500.0 * 86400))
			return fail(p, name,
			            k == K_RET_DAYS
			                ? "expected days between 0 and 36500 (0 = forever)"
			                : "expected seconds, 0 or more (0 = forever)");
		p->cfg->retention_s = k == K_RET_DAYS ? v * 86400.0 : v;
		return 1;
	}
	case K_WEBHOOK:
		if (!has_prefix(value, "http://") && !has_prefix(value, "https://"))
			return fail(p, name, "expected an http:// or https:// URL");
		return set_str(&p->cfg->webhook, value) < 0 ? fail(p, name, "out of memory") : 1;
	case K_SYSLOG:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
			p->cfg->hook_syslog = 1;
		else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
			p->cfg->hook_syslog = 0;
		else
			return fail(p, name, "expected yes or no");
		return 1;
	case K_SMTP_SERVER: {
		char host[128];
		unsigned port;

		if (metrics_parse_address(value, host, sizeof(host), &port) < 0)
			return fail(p, name, "expected HOST:PORT or [IPV6]:PORT");
		return set_str(&p->cfg->smtp_server, value) < 0 ? fail(p, name, "out of memory")
		                                                : 1;
	}
	case K_MAIL_FROM:
	case K_MAIL_TO:
		if (strchr(value, '@') == NULL || strpbrk(value, " <>\r\n\t") != NULL)
			return fail(p, name, "expected a bare address user@domain");
		return set_str(k == K_MAIL_FROM ? &p->cfg->mail_from : &p->cfg->mail_to, value) < 0
		           ? fail(p, name, "out of memory")
		           : 1;
	case K_RETRY_BASE: {
		char *end = NULL;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < 1 ||
		    v > 3600)
			return fail(p, name, "expected seconds between 1 and 3600");
		p->cfg->hook_retry_base = (uint32_t)v;
		return 1;
	}
	case K_C_LISTEN:
		return list_of(p, name, value, p->cfg->canary_listen, RP_CANARY_LISTEN_MAX,
		               &p->cfg->n_canary_listen, listen_ok, "HOST:PORT or [IPV6]:PORT");
	case K_C_DOMAINS:
		return list_of(p, name, value, p->cfg->canary_domains, RP_CANARY_DOMAINS_MAX,
		               &p->cfg->n_canary_domains, domain_ok, "a domain name");
	case K_C_WAIT:
		return seconds(p, name, value, 10, 7 * 86400, false, &p->cfg->canary_wait);
	case K_C_LATE:
		return seconds(p, name, value, 60, 365 * 86400, false, &p->cfg->canary_late);
	case K_C_CONTACT:
		for (const char *c = value; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				return fail(p, name, "printable ASCII only");
		if (strlen(value) > RP_CANARY_CONTACT_MAX)
			return fail(p, name, "too long");
		return set_str(&p->cfg->canary_contact, value) < 0 ? fail(p, name, "out of memory")
		                                                   : 1;
	case K_C_CERT:
		return set_str(&p->cfg->canary_cert, value) < 0 ? fail(p, name, "out of memory")
		                                                : 1;
	case K_C_KEY:
		return set_str(&p->cfg->canary_key, value) < 0 ? fail(p, name, "out of memory") : 1;
	case K_C_MAC_KEY:
		return set_str(&p->cfg->canary_mac_key, value) < 0 ? fail(p, name, "out of memory")
		                                                   : 1;
	case K_C_HOSTNAME:
		if (!target_hostname_ok(value))
			return fail(p, name, "expected a host name");
		return set_str(&p->cfg->canary_hostname, value) < 0 ? fail(p, name, "out of memory")
		                                                    : 1;
	case K_C_SESSIONS:
		return count_of(p, name, value, RP_CANARY_SESSIONS_MAX, &p->cfg->canary_sessions);
	case K_C_PEER_SESSIONS:
		return count_of(p, name, value, RP_CANARY_SESSIONS_MAX,
		                &p->cfg->canary_peer_sessions);
	case K_C_PEER_MSGS:
		return count_of(p, name, value, 100000, &p->cfg->canary_peer_msgs);
	case K_COUNT:
		break;
	}
	return fail(p, name, "unknown key");
}

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

	if (metrics_parse_address(addr, host, sizeof(host), &port) < 0)
		return 0;
	return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	       strcmp(host, "0:0:0:0:0:0:0:0") == 0;
}

int ctl_config_load(const char *path, struct ctl_config *cfg, char *err, size_t errlen)
{
	struct parse p = {.cfg = cfg, .path = path, .err = err, .errlen = errlen};
	FILE *f;
	int line;

	memset(cfg, 0, sizeof(*cfg));
	cfg->order_ttl = CTL_ORDER_TTL_DEFAULT;
	cfg->order_stall = CTL_ORDER_STALL_DEFAULT;
	cfg->retention_s = 90.0 * 86400;
	cfg->hook_retry_base = 10;
	cfg->metrics_snapshot_s = 10;
	cfg->canary_wait = CTL_CANARY_WAIT_DEFAULT;
	cfg->canary_late = CTL_CANARY_LATE_DEFAULT;
	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	line = ini_parse_file(f, handler, &p);
	fclose(f);
	if (p.failed) {
		snprintf(err, errlen, "%s:%d: key '%s': %s", path, line > 0 ? line : 0, p.key,
		         p.reason);
		goto fail;
	}
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
		         path, line);
		goto fail;
	}
	if ((cfg->smtp_server != NULL || cfg->mail_from != NULL || cfg->mail_to != NULL) &&
	    (cfg->smtp_server == NULL || cfg->mail_from == NULL || cfg->mail_to == NULL)) {
		snprintf(err, errlen, "%s: [hooks] email needs smtp_server, mail_from and mail_to",
		         path);
		goto fail;
	}
	if (cfg->metrics != NULL && wildcard_address(cfg->metrics) &&
	    cfg->metrics_token_file == NULL) {
		snprintf(err, errlen,
		         "%s: metrics = %s listens on every interface: give [metrics] token_file "
		         "or a specific address",
		         path, cfg->metrics);
		goto fail;
	}
	if ((cfg->n_canary_listen > 0) != (cfg->n_canary_domains > 0)) {
		snprintf(err, errlen, "%s: [canary] needs both listen and domains", path);
		goto fail;
	}
	if ((cfg->canary_cert != NULL) != (cfg->canary_key != NULL)) {
		snprintf(err, errlen, "%s: [canary] cert_file and key_file go together", path);
		goto fail;
	}
	if (cfg->canary_late < cfg->canary_wait) {
		snprintf(err, errlen, "%s: [canary] late must not be shorter than wait", path);
		goto fail;
	}
	if (cfg->metrics_token_file != NULL &&
	    read_token(cfg->metrics_token_file, &cfg->metrics_token, err, errlen) < 0)
		goto fail;
	if ((cfg->listen == NULL && set_str(&cfg->listen, "tcp://0.0.0.0:7411") < 0) ||
	    (cfg->keys == NULL && set_str(&cfg->keys, "/etc/relayprobe/controller.secret") < 0) ||
	    (cfg->database == NULL &&
	     set_str(&cfg->database, "/var/lib/relayprobe/controller.db") < 0) ||
	    (cfg->admin == NULL && set_str(&cfg->admin, "ipc:///run/relayprobe/admin.sock") < 0)) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	return 0;
fail:
	ctl_config_clear(cfg);
	return -1;
}
