/* alog.h - the agent's structured log: one JSON object per line (default)
 * or logfmt, to stderr, with level, time, message and the app and revision
 * the line is about.
 *
 * Values reach a line only through the format arguments the agent passes;
 * the agent never passes Secret values, tokens or URLs with credentials
 * (repo URLs are logged through gitsrc's redaction only).  Thread-safe: one
 * line is written with a single fwrite under the stdio lock.
 */
#ifndef GS_ALOG_H
#define GS_ALOG_H

#include "gs-error.h"

enum alog_level { ALOG_DEBUG, ALOG_INFO, ALOG_WARN, ALOG_ERROR };
enum alog_format { ALOG_JSON, ALOG_LOGFMT };

/* Process-wide settings (the agent is one process). */
void alog_setup(enum alog_format fmt, enum alog_level min_level);
/* "json"/"logfmt" -> format; -1 when unknown. */
int alog_format_parse(const char *s);
/* "debug"/"info"/"warn"/"error" -> level; -1 when unknown. */
int alog_level_parse(const char *s);

/* Log one line.  app and rev (may be NULL) become fields "app", "revision". */
void alog(enum alog_level lvl, const char *app, const char *rev, const char *fmt, ...)
	GS_PRINTF(4, 5);

/* Same, at most once per `every_s` seconds for the same (fmt, app) pair:
 * for the reconcile loop, so an API server answering 500 does not flood the
 * log.  Suppressed lines are counted and reported with the next one. */
void alog_ratelimit(double every_s, enum alog_level lvl, const char *app, const char *rev,
		    const char *fmt, ...) GS_PRINTF(5, 6);

#endif
