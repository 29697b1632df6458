/* log.c - leveled key=value logging to stderr or syslog. Owns the global log
 * settings (set once at start-up, read by every thread). Each message is
 * formatted into a bounded stack buffer (LOG_MSG_MAX), control and non-ASCII
 * bytes escaped, and written with one call so concurrent lines do not
 * interleave. log_value() quotes one peer-supplied value (LOG_VALUE_MAX). */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "rp_names.h"

static char log_prog[64] = "relayprobe";
static int log_level = LOG_LVL_INFO;
static bool log_syslog;
static FILE *log_stream;

static const char *const level_names[] = {
    [LOG_LVL_ERROR] = "error",
    [LOG_LVL_WARN] = "warn",
    [LOG_LVL_INFO] = "info",
    [LOG_LVL_DEBUG] = "debug",
};
RP_ENUM_TABLE_CHECK(level_names, LOG_LVL_COUNT);

static const int syslog_prio[] = {
    [LOG_LVL_ERROR] = LOG_ERR,
    [LOG_LVL_WARN] = LOG_WARNING,
    [LOG_LVL_INFO] = LOG_INFO,
    [LOG_LVL_DEBUG] = LOG_DEBUG,
};
RP_ENUM_TABLE_CHECK(syslog_prio, LOG_LVL_COUNT);

static int clamp_level(int level)
{
	if (level < LOG_LVL_ERROR)
		return LOG_LVL_ERROR;
	if (level >= LOG_LVL_COUNT)
		return LOG_LVL_DEBUG;
	return level;
}

void log_init(const char *prog, int level, bool use_syslog)
{
	if (prog != NULL && prog[0] != '\0')
		snprintf(log_prog, sizeof(log_prog), "%s", prog);
	log_level = clamp_level(level);
	if (log_syslog && !use_syslog)
		closelog();
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_prog, LOG_PID, LOG_DAEMON);
}

void log_set_level(int level)
{
	log_level = clamp_level(level);
}

int log_get_level(void)
{
	return log_level;
}

const char *log_level_name(int level)
{
	return rp_name(level_names, LOG_LVL_COUNT, level, "unknown");
}

int log_level_from_name(const char *name)
{
	if (name != NULL && strcasecmp(name, "warning") == 0)
		return LOG_LVL_WARN;
	return rp_name_find(level_names, LOG_LVL_COUNT, name, true);
}

void log_set_stream(FILE *f)
{
	log_stream = f;
}

static const char hex[] = "0123456789abcdef";

static bool bare_byte(unsigned char u)
{
	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
	       u == '.' || u == '_' || u == ':' || u == '/' || u == '@' || u == '+' || u == '-';
}

const char *log_value(char *buf, size_t len, const char *v)
{
	const unsigned char *u = (const unsigned char *)v;
	size_t i, o = 0;
	bool bare = v != NULL && v[0] != '\0';

	if (buf == NULL || len == 0)
		return "";
	if (v == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	for (i = 0; bare && u[i] != '\0'; i++)
		if (i >= LOG_VALUE_MAX || i + 1 >= len || !bare_byte(u[i]))
			bare = false;
	if (bare) {
		memcpy(buf, v, i + 1);
		return buf;
	}
	/* '"', at most 4 bytes per input byte, then '..."' or '"', and NUL. */
	if (len < 8) {
		snprintf(buf, len, "%s", len >= 3 ? "\"\"" : "");
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; u[i] != '\0'; i++) {
		if (i >= LOG_VALUE_MAX || o + 4 + 5 > len)
			break;
		if (u[i] == '"' || u[i] == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)u[i];
		} else if (u[i] < 0x20 || u[i] >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[u[i] >> 4];
			buf[o++] = hex[u[i] & 0xf];
		} else {
			buf[o++] = (char)u[i];
		}
	}
	if (u[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Copy msg into out (bounded), control bytes and bytes >= 0x7f escaped as
 * \xNN: a line is ASCII whatever a %s brought in. */
static void sanitize(char *out, size_t outlen, const char *msg)
{
	const unsigned char *u = (const unsigned char *)msg;
	size_t o = 0;

	for (; *u != '\0'; u++) {
		if (*u < 0x20 || *u >= 0x7f) {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*u >> 4];
			out[o++] = hex[*u & 0xf];
		} else {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)*u;
		}
	}
	out[o] = '\0';
}

__attribute__((format(printf, 2, 0))) static void vlog(int level, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX + 1];
	char clean[LOG_MSG_MAX + 1];
	char line[LOG_MSG_MAX + 128];
	FILE *f;
	int n;

	if (fmt == NULL || level > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(log format error)");
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	sanitize(clean, sizeof(clean), msg);
	if (log_syslog) {
		syslog(syslog_prio[level], "%s", clean);
		return;
	}
	f = log_stream != NULL ? log_stream : stderr;
	snprintf(line, sizeof(line), "%s[%ld]: %s: %s\n", log_prog, (long)getpid(),
	         level_names[level], clean);
	fputs(line, f);
	fflush(f);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(clamp_level(level), fmt, ap);
	va_end(ap);
}
