/* gs-base64.c - RFC 4648 base64, standard and URL alphabets. */
#include <string.h>

#include "gs-base64.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int gs_base64_encode(struct gs_buf *out, const void *data, size_t len, unsigned flags)
{
	const char *alpha = flags & GS_BASE64_URL ? url_alpha : std_alpha;
	const unsigned char *s = data;
	size_t i, rem = len % 3;
	size_t need = len / 3 * 4 + (rem ? (flags & GS_BASE64_URL ? rem + 1 : 4) : 0);

	/* checked up front so that out is never left with half the text */
	if (out->max && (need > out->max || out->len > out->max - need))
		return GS_ELIMIT;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		char q[4] = { alpha[v >> 18], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63], alpha[v & 63] };

		gs_buf_add(out, q, 4);
	}
	if (rem) {
		unsigned v = (unsigned)s[i] << 16 | (rem == 2 ? (unsigned)s[i + 1] << 8 : 0);
		char q[4] = { alpha[v >> 18], alpha[(v >> 12) & 63],
			      rem == 2 ? alpha[(v >> 6) & 63] : '=', '=' };

		gs_buf_add(out, q, flags & GS_BASE64_URL ? rem + 1 : 4);
	}
	return GS_OK;
}

/* 0..63, or -1 for a character outside the alphabet */
static int sextet(unsigned char c, unsigned flags)
{
	const char *alpha = flags & GS_BASE64_URL ? url_alpha : std_alpha;
	const char *p = c ? memchr(alpha, c, 64) : NULL;

	return p ? (int)(p - alpha) : -1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int gs_base64_decode(struct gs_buf *out, const char *in, size_t len, unsigned flags,
		     struct gs_error *err)
{
	struct gs_buf dec = GS_BUF_INIT;
	unsigned acc = 0;
	size_t i, nchars = 0, npad = 0;
	int bits = 0, rc;

	gs_buf_init(&dec, len / 4 * 3 + 3);
	for (i = 0; i < len; i++) {
		int v;

		if ((flags & GS_BASE64_LENIENT) && is_space(in[i]))
			continue;
		if (in[i] == '=') {
			npad++;
			continue;
		}
		v = sextet((unsigned char)in[i], flags);
		if (v < 0 || npad) {
			rc = gs_error_set(err, GS_EINVAL, "invalid base64 data: %s at offset %zu",
					  v < 0 ? "unexpected character" : "data after '=' padding", i);
			goto cleanup;
		}
		nchars++;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			gs_buf_putc(&dec, (char)((acc >> bits) & 0xff));
		}
	}
	/* a lone sextet cannot hold a byte; padding must complete the quantum */
	if (nchars % 4 == 1 || npad > 2 ||
	    (!(flags & GS_BASE64_LENIENT) && (npad ? (nchars + npad) % 4 : nchars % 4)) ||
	    (npad && (nchars + npad) % 4)) {
		rc = gs_error_set(err, GS_EINVAL,
				  "invalid base64 data: %zu characters and %zu '=' do not make whole groups of 4",
				  nchars, npad);
		goto cleanup;
	}
	rc = gs_buf_add(out, dec.ptr, dec.len);
cleanup:
	memset(dec.ptr, 0, dec.len); /* often a Secret's value */
	gs_buf_release(&dec);
	return rc;
}

int gs_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
