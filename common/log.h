/* log.h - leveled key=value logging to stderr ("prog[pid]: level: msg") or
 * syslog. Owns only a small global config (program name, level, sink). A
 * message is cut at LOG_MSG_MAX bytes; control bytes are escaped as \xNN so
 * one call is always one log line. SMTP bytes belong in the transcript. */
#ifndef RP_LOG_H
#define RP_LOG_H

#include <stdbool.h>
#include <stdio.h>

/* Not LOG_ERR/LOG_INFO...: those are syslog.h macros. */
enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_COUNT };

/* Longest message kept, after formatting (longer ones end in "..."). */
#define LOG_MSG_MAX 2048

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

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
