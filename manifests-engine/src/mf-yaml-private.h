/* mf-yaml-private.h - scalar resolution shared by the YAML parser, the YAML
 * emitter and the JSON emitter.
 *
 * The rules are go-yaml v2's resolve table (what sigs.k8s.io/yaml, hence
 * kubectl and the API machinery, apply to plain scalars): the emitter has to
 * quote every string the parser would read back as something else.
 */
#ifndef MF_YAML_PRIVATE_H
#define MF_YAML_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "mf-node.h"

/* Type of a plain (unquoted, untagged) scalar: MF_NULL, MF_BOOL (value in
 * *bool_out, may be NULL), MF_INT, MF_FLOAT or MF_STR.  s need not be
 * NUL-terminated. */
enum mf_type mf_yaml_resolve_plain(const char *s, size_t len, bool *bool_out);

/* True for what go-yaml v2 reads as a timestamp ("2001-12-14", "2001-12-14
 * 21:59:43.10", "2001-12-14T21:59:43Z"...).  The parser keeps those as
 * strings (go-yaml does too when decoding into interface{}), but go-yaml's
 * encoder quotes them, so the emitter must as well to print what kubectl
 * prints. */
bool mf_yaml_is_timestamp(const char *s, size_t len);

/* YAML 1.1 sexagesimal float ("1:20"): go-yaml does not read it as a number
 * but quotes it on output for other YAML 1.1 parsers. */
bool mf_yaml_is_base60_float(const char *s, size_t len);

/* Canonical decimal text of an MF_INT text ("0x1F" -> "31", "1_000" ->
 * "1000", "+5" -> "5").  Writes into buf (NUL-terminated) and returns true;
 * false when the text is not a valid integer of at most 64 bits (big decimal
 * integers are copied with '_' and a leading '+' removed when they fit). */
bool mf_yaml_int_canonical(const char *s, size_t len, char *buf, size_t bufsize);

/* A string -> index hash for maps and anchors.  Keys live elsewhere (in the
 * map being built, in the anchor table): key_at(ctx, idx) returns key idx. */
struct mf_strtab {
	size_t *slots; /* index + 1; 0 = empty */
	size_t cap;    /* power of two */
	size_t n;
};
typedef const char *(*mf_strtab_key_fn)(const void *ctx, size_t idx);
void mf_strtab_release(struct mf_strtab *t);
/* Map key to idx (replacing an earlier index of the same key). */
void mf_strtab_put(struct mf_strtab *t, const char *key, size_t idx, mf_strtab_key_fn key_at,
		   const void *ctx);
/* Index of key, or -1. */
ptrdiff_t mf_strtab_get(const struct mf_strtab *t, const char *key, mf_strtab_key_fn key_at,
			const void *ctx);

#endif
