/* gs-error.c - the one error type (see gs-error.h). */
#include "gs-error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

GS_PRINTF(2, 0) static void set_msg(struct gs_error *err, const char *fmt, va_list ap)
{
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int gs_error_set(struct gs_error *err, enum gs_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->where[0] = '\0';
	va_start(ap, fmt);
	set_msg(err, fmt, ap);
	va_end(ap);
	return code;
}

int gs_error_at(struct gs_error *err, enum gs_code code, const struct mf_pos *pos,
		const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->where[0] = '\0';
	if (pos && pos->file && pos->line)
		snprintf(err->where, sizeof(err->where), "%s:%u", pos->file, pos->line);
	else if (pos && pos->file)
		snprintf(err->where, sizeof(err->where), "%s", pos->file);
	va_start(ap, fmt);
	set_msg(err, fmt, ap);
	va_end(ap);
	return code;
}

int gs_error_where(struct gs_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return GS_ERR;
	va_start(ap, fmt);
	vsnprintf(err->where, sizeof(err->where), fmt, ap);
	va_end(ap);
	return err->code;
}

int gs_error_wrap(struct gs_error *err, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return GS_ERR;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* truncation is fine: the tail of a long message is the least useful */
	size_t pl = strlen(prefix);
	if (pl > sizeof(err->msg) - 3)
		pl = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, pl);
	memcpy(err->msg + pl, ": ", 2);
	size_t rest = sizeof(err->msg) - pl - 3;
	size_t ol = strnlen(old, rest);
	memcpy(err->msg + pl + 2, old, ol);
	err->msg[pl + 2 + ol] = '\0';
	if (err->code == GS_OK)
		err->code = GS_ERR;
	return err->code;
}

const char *gs_error_str(const struct gs_error *err, char *buf, size_t n)
{
	if (err->where[0])
		snprintf(buf, n, "%s: %s", err->where, err->msg);
	else
		snprintf(buf, n, "%s", err->msg);
	return buf;
}

void gs_error_clear(struct gs_error *err)
{
	if (!err)
		return;
	err->code = GS_OK;
	err->where[0] = '\0';
	err->msg[0] = '\0';
}
