/* log.h - leveled key=value logging to stderr ("prog[pid]: level: msg") or
 * syslog. Owns only a small global config (program name, level, sink). A
 * message is cut at LOG_MSG_MAX bytes; control bytes and bytes >= 0x7f are
 * escaped as \xNN so one call is always one ASCII log line. Every value that
 * came from a peer goes through LOG_V() (log_value()) so it stays one field.
 * SMTP bytes belong in the transcript. */
#ifndef RP_LOG_H
#define RP_LOG_H

#include <stdbool.h>
#include <stdio.h>

/* Not LOG_ERR/LOG_INFO...: those are syslog.h macros. */
enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_COUNT };

/* Longest message kept, after formatting (longer ones end in "..."). */
#define LOG_MSG_MAX 2048

/* Longest value LOG_V() shows, in input bytes (longer ones are cut and end
 * in "..." inside the quotes), and the buffer its output needs. */
#define LOG_VALUE_MAX 160
#define LOG_VALUE_BUF (LOG_VALUE_MAX * 4 + 8)

/* Writes v into buf as one key=value field's value: as is when it is a
 * non-empty token of [A-Za-z0-9._:/@+-] at most LOG_VALUE_MAX bytes long,
 * otherwise double-quoted with \" \\ and \xNN (bytes < 0x20 or >= 0x7f)
 * escapes, cut after LOG_VALUE_MAX input bytes (or when buf is full) with
 * "..." before the closing quote. NULL is written "-". The result is
 * printable ASCII, never longer than len - 1; returns buf. */
const char *log_value(char *buf, size_t len, const char *v);
/* log_value() into a buffer that lives until the end of the enclosing
 * block: log_warn("agent=%s reason=%s", LOG_V(name), LOG_V(reason)). */
#define LOG_V(v) log_value((char[LOG_VALUE_BUF]){0}, LOG_VALUE_BUF, (v))

/* prog: NULL keeps "relayprobe" (the string is copied, up to 63 bytes).
 * use_syslog: openlog(prog, LOG_PID, LOG_DAEMON) and send there instead of
 * stderr. May be called again to change settings. */
void log_init(const char *prog, int level, bool use_syslog);
void log_set_level(int level);
int log_get_level(void);
/* "error", "warn", "info", "debug"; "unknown" when out of range. */
const char *log_level_name(int level);
/* Parses a level name (case-insensitive; "warning" too). -1 when unknown. */
int log_level_from_name(const char *name);
/* Send stderr-style lines to f instead (NULL = stderr); for tests. */
void log_set_stream(FILE *f);

/* One message at level (clamped to the known levels); log_error(fmt, ...)
 * and the others are log_msg() at their level, printf-checked through it. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
