/* alog.c - structured agent logging (see alog.h). */
#include "loop/alog.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gitsrc/gitsrc.h"
#include "gs-buf.h"
#include "gs-time.h"
#include "loop/workq.h"

static enum alog_format log_format = ALOG_JSON;
static enum alog_level log_min = ALOG_INFO;
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

#define RL_SLOTS 64
static struct {
	const char *fmt;
	char app[128];
	double last;
	unsigned suppressed;
} rl[RL_SLOTS];

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void alog_setup(enum alog_format fmt, enum alog_level min_level)
{
	log_format = fmt;
	log_min = min_level;
}

int alog_format_parse(const char *s)
{
	if (!strcmp(s, "json"))
		return ALOG_JSON;
	if (!strcmp(s, "logfmt"))
		return ALOG_LOGFMT;
	return -1;
}

int alog_level_parse(const char *s)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	return -1;
}

static void put_json_str(struct gs_buf *b, const char *s)
{
	gs_buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			gs_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			gs_buf_puts(b, "\\n");
		else if (c < 0x20)
			gs_buf_printf(b, "\\u%04x", c);
		else
			gs_buf_putc(b, (char)c);
	}
	gs_buf_putc(b, '"');
}

static void put_logfmt_str(struct gs_buf *b, const char *s)
{
	if (*s && !strpbrk(s, " \"=\n\t\\")) {
		gs_buf_puts(b, s);
		return;
	}
	put_json_str(b, s); /* quoted with the same escapes */
}

static void field(struct gs_buf *b, const char *k, const char *v, int first)
{
	if (log_format == ALOG_JSON) {
		gs_buf_puts(b, first ? "{" : ",");
		put_json_str(b, k);
		gs_buf_putc(b, ':');
		put_json_str(b, v);
	} else {
		if (!first)
			gs_buf_putc(b, ' ');
		gs_buf_printf(b, "%s=", k);
		put_logfmt_str(b, v);
	}
}

static void vlog(enum alog_level lvl, const char *app, const char *rev, unsigned suppressed,
		 const char *fmt, va_list ap) GS_PRINTF(5, 0);

static void vlog(enum alog_level lvl, const char *app, const char *rev, unsigned suppressed,
		 const char *fmt, va_list ap)
{
	struct gs_buf b = GS_BUF_INIT, msg = GS_BUF_INIT;
	char ts[128];
	double now = gs_time_wall();
	time_t sec = (time_t)now;
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)((now - (double)sec) * 1000));
	gs_buf_vprintf(&msg, fmt, ap);
	field(&b, "time", ts, 1);
	field(&b, "level", level_names[lvl], 0);
	{
		/* no Git credentials in any log line, whatever was formatted */
		char *safe = gitsrc_text_redact(msg.ptr);

		field(&b, "msg", safe, 0);
		free(safe);
	}
	if (app)
		field(&b, "app", app, 0);
	if (rev)
		field(&b, "revision", rev, 0);
	if (suppressed) {
		char n[24];
		snprintf(n, sizeof(n), "%u", suppressed);
		field(&b, "suppressed", n, 0);
	}
	gs_buf_puts(&b, log_format == ALOG_JSON ? "}\n" : "\n");
	fwrite(b.ptr, 1, b.len, stderr);
	fflush(stderr);
	gs_buf_release(&b);
	gs_buf_release(&msg);
}

void alog(enum alog_level lvl, const char *app, const char *rev, const char *fmt, ...)
{
	va_list ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	vlog(lvl, app, rev, 0, fmt, ap);
	va_end(ap);
}

void alog_ratelimit(double every_s, enum alog_level lvl, const char *app, const char *rev,
		    const char *fmt, ...)
{
	double now = workq_now();
	unsigned suppressed = 0;
	size_t i, slot = RL_SLOTS;
	va_list ap;

	if (lvl < log_min)
		return;
	pthread_mutex_lock(&rl_lock);
	for (i = 0; i < RL_SLOTS; i++) {
		if (rl[i].fmt == fmt && !strcmp(rl[i].app, app ? app : "")) {
			slot = i;
			break;
		}
		if (slot == RL_SLOTS && (!rl[i].fmt || now - rl[i].last > 3600))
			slot = i;
	}
	if (slot == RL_SLOTS)
		slot = 0; /* full: reuse; worst case a line too many */
	if (rl[slot].fmt == fmt && !strcmp(rl[slot].app, app ? app : "") &&
	    now - rl[slot].last < every_s) {
		rl[slot].suppressed++;
		pthread_mutex_unlock(&rl_lock);
		return;
	}
	if (rl[slot].fmt == fmt)
		suppressed = rl[slot].suppressed;
	rl[slot].fmt = fmt;
	snprintf(rl[slot].app, sizeof(rl[slot].app), "%s", app ? app : "");
	rl[slot].last = now;
	rl[slot].suppressed = 0;
	pthread_mutex_unlock(&rl_lock);
	va_start(ap, fmt);
	vlog(lvl, app, rev, suppressed, fmt, ap);
	va_end(ap);
}
