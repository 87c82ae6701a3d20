/* gs-buf.h - growable NUL-terminated byte buffer (git's strbuf).
 *
 * ptr is never NULL: it points at a static "" until the first growth.
 * max (0 = unbounded) caps the length for buffers fed by the network or Git
 * content; appends past it fail with GS_ELIMIT and leave the buffer unchanged.
 */
#ifndef GS_BUF_H
#define GS_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "gs-error.h"

struct gs_buf {
	char *ptr;
	size_t len, cap, max;
};

extern char gs_buf_empty[];
#define GS_BUF_INIT { gs_buf_empty, 0, 0, 0 }

void gs_buf_init(struct gs_buf *b, size_t hint);
void gs_buf_release(struct gs_buf *b);
void gs_buf_reset(struct gs_buf *b); /* len = 0, keeps memory */
/* Hand the memory to the caller (never NULL, caller frees); b is re-initialised. */
char *gs_buf_detach(struct gs_buf *b, size_t *len_out);

/* Appends return GS_OK or GS_ELIMIT when max would be exceeded. */
int gs_buf_add(struct gs_buf *b, const void *data, size_t len);
int gs_buf_puts(struct gs_buf *b, const char *s);
int gs_buf_putc(struct gs_buf *b, char c);
int gs_buf_printf(struct gs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int gs_buf_vprintf(struct gs_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Read a whole file (max bytes if b->max set).  GS_EIO with message on failure. */
int gs_buf_read_file(struct gs_buf *b, const char *path, struct gs_error *err);

#endif
