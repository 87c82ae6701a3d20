/* gs-base64.h - base64 (RFC 4648) in and out: the one codec of the tree.
 *
 * Kubernetes Secrets and kubeconfig data, SSH known_hosts keys and salts,
 * kustomize's generated Secrets and API tokens all go through these two
 * functions.  No OpenSSL: EVP_DecodeBlock counts padding as data and wants
 * no white space, which every caller had to correct for by hand.
 */
#ifndef GS_BASE64_H
#define GS_BASE64_H

#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"

enum gs_base64_flags {
	GS_BASE64_URL = 1 << 0,	  /* the URL alphabet ('-', '_'); encode: no '=' padding */
	GS_BASE64_LENIENT = 1 << 1, /* decode: skip white space, padding optional (kubeconfig, PEM bodies) */
};

/* Append the base64 text of (data, len) to out.  GS_OK, or GS_ELIMIT when
 * out->max would be exceeded (out then unchanged). */
int gs_base64_encode(struct gs_buf *out, const void *data, size_t len, unsigned flags);

/* Append the bytes that (in, len) encodes to out (which stays NUL-terminated,
 * so text decodes to a C string).  Strict by default: only the alphabet,
 * length a multiple of 4, '=' only as the last one or two characters.
 * GS_EINVAL (out unchanged) names the first bad character's offset;
 * GS_ELIMIT when out->max would be exceeded. */
int gs_base64_decode(struct gs_buf *out, const char *in, size_t len, unsigned flags,
		     struct gs_error *err);

/* The value of one hex digit ('0'-'9', 'a'-'f', 'A'-'F'), or -1 (for any
 * other c, including negative chars): percent-decoding and hex fields. */
int gs_hex_digit(int c);

#endif
