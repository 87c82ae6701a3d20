/* gs-error.h - the one error type carried up every layer.
 *
 * Fallible functions return int (GS_OK or a negative gs_code) and take a
 * `struct gs_error *err` as their last parameter.  Setting an error never
 * allocates; the struct needs no release.  `err` may be NULL (error dropped).
 */
#ifndef GS_ERROR_H
#define GS_ERROR_H

#include <stddef.h>

enum gs_code {
	GS_OK = 0,
	GS_ERR = -1,
	GS_ENOTFOUND = -2,
	GS_EINVAL = -3,
	GS_ELIMIT = -4,
	GS_EIO = -5,
	GS_ENET = -6,
	GS_ECONFLICT = -7,
	GS_EAUTH = -8,
};

/* A source position: file is borrowed (interned by whoever parsed it). */
struct mf_pos {
	const char *file;
	unsigned line; /* 1-based, 0 = unknown */
	unsigned col;  /* 1-based, 0 = unknown */
};

struct gs_error {
	enum gs_code code;
	char where[256]; /* "overlays/prod/kustomization.yaml:12" or an object id */
	char msg[768];   /* context-prefixed message, lower-case, no final period */
};

#define GS_ERROR_INIT { GS_OK, "", "" }

#if defined(__GNUC__)
#define GS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define GS_UNUSED __attribute__((unused))
#else
#define GS_PRINTF(a, b)
#define GS_UNUSED
#endif

/* Set code and message (where cleared).  Returns code. */
int gs_error_set(struct gs_error *err, enum gs_code code, const char *fmt, ...) GS_PRINTF(3, 4);

/* Set code and message with where = "file:line" from pos (pos may be NULL). */
int gs_error_at(struct gs_error *err, enum gs_code code, const struct mf_pos *pos,
		const char *fmt, ...) GS_PRINTF(4, 5);

/* Set where to a free-form subject (an object id, a URL).  Returns err->code. */
int gs_error_where(struct gs_error *err, const char *fmt, ...) GS_PRINTF(2, 3);

/* Prepend context "ctx: " to the message, keeping code and where.  Returns err->code. */
int gs_error_wrap(struct gs_error *err, const char *fmt, ...) GS_PRINTF(2, 3);

/* Format "where: msg" (or just msg) into buf of size n.  Returns buf. */
const char *gs_error_str(const struct gs_error *err, char *buf, size_t n);

/* Reset to GS_OK. */
void gs_error_clear(struct gs_error *err);

#endif
