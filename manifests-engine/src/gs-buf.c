/* gs-buf.c - growable buffer (see gs-buf.h). */
#include "gs-buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"

char gs_buf_empty[1];

void gs_buf_init(struct gs_buf *b, size_t hint)
{
	b->ptr = gs_buf_empty;
	b->len = b->cap = b->max = 0;
	if (hint) {
		b->ptr = gs_malloc(hint + 1);
		b->ptr[0] = '\0';
		b->cap = hint + 1;
	}
}

void gs_buf_release(struct gs_buf *b)
{
	if (b->cap)
		free(b->ptr);
	b->ptr = gs_buf_empty;
	b->len = b->cap = 0;
}

void gs_buf_reset(struct gs_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->ptr[0] = '\0';
}

char *gs_buf_detach(struct gs_buf *b, size_t *len_out)
{
	char *p = b->cap ? b->ptr : gs_strdup("");

	if (len_out)
		*len_out = b->len;
	b->ptr = gs_buf_empty;
	b->len = b->cap = 0;
	return p;
}

static int grow(struct gs_buf *b, size_t extra)
{
	size_t need;

	if (!gs_size_add(&need, b->len, extra) || (b->max && need > b->max))
		return GS_ELIMIT;
	if (!gs_size_add(&need, need, 1))
		return GS_ELIMIT;
	if (need <= b->cap)
		return GS_OK;
	size_t ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (b->cap) {
		b->ptr = gs_realloc(b->ptr, ncap);
	} else {
		b->ptr = gs_malloc(ncap);
		b->ptr[0] = '\0';
	}
	b->cap = ncap;
	return GS_OK;
}

int gs_buf_add(struct gs_buf *b, const void *data, size_t len)
{
	if (grow(b, len))
		return GS_ELIMIT;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return GS_OK;
}

int gs_buf_puts(struct gs_buf *b, const char *s)
{
	return gs_buf_add(b, s, strlen(s));
}

int gs_buf_putc(struct gs_buf *b, char c)
{
	return gs_buf_add(b, &c, 1);
}

int gs_buf_vprintf(struct gs_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return GS_ERR;
	if (grow(b, (size_t)n))
		return GS_ELIMIT;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return GS_OK;
}

int gs_buf_printf(struct gs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = gs_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int gs_buf_read_file(struct gs_buf *b, const char *path, struct gs_error *err)
{
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = GS_OK;

	if (!f)
		return gs_error_set(err, errno == ENOENT ? GS_ENOTFOUND : GS_EIO,
				    "cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (gs_buf_add(b, chunk, n)) {
			rc = gs_error_set(err, GS_ELIMIT, "'%s' is larger than the limit of %zu bytes",
					  path, b->max);
			goto cleanup;
		}
	}
	if (ferror(f))
		rc = gs_error_set(err, GS_EIO, "cannot read '%s': %s", path, strerror(errno));
cleanup:
	fclose(f);
	return rc;
}
