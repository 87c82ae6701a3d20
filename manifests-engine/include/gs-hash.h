/* gs-hash.h - FNV-1a and the one hash table of the tree.
 *
 * gs_hidx is an open-addressing index from a 64-bit hash to a position in
 * an array the caller owns (objects, targets, cache entries).  It stores the
 * hashes, not the keys: a lookup walks the positions whose hash matches and
 * the caller confirms each with its own comparison, so one table serves any
 * key (mf_set's object ids, kustomize's resource ids, ...).  gs_strmap is that
 * table with owned string keys and size_t values, for the common case.
 *
 * Not for untrusted keys in bulk where collisions would matter for time:
 * FNV-1a is not a keyed hash.  Not thread-safe: lock around a shared table.
 */
#ifndef GS_HASH_H
#define GS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GS_FNV1A_INIT 14695981039346656037ULL

/* FNV-1a (64 bits) of (p, len), continuing from h (GS_FNV1A_INIT to start). */
uint64_t gs_fnv1a(uint64_t h, const void *p, size_t len);
/* Same, then a 0xff separator byte, so that hashing the fields ("ab", "c")
 * and ("a", "bc") in turn gives different results.  s may be NULL (as ""). */
uint64_t gs_fnv1a_field(uint64_t h, const char *s);
/* Same for the first len bytes of s. */
uint64_t gs_fnv1a_field_n(uint64_t h, const char *s, size_t len);

struct gs_hidx {
	uint64_t *hash;
	size_t *pos; /* SIZE_MAX = empty slot */
	size_t cap;  /* 0 or a power of two */
	size_t used;
};
#define GS_HIDX_INIT { NULL, NULL, 0, 0 }

void gs_hidx_release(struct gs_hidx *x);
/* Forget every entry, keep the memory (to re-index after a removal). */
void gs_hidx_clear(struct gs_hidx *x);
/* Index pos under hash h (kept at most half full: grows as needed). */
void gs_hidx_put(struct gs_hidx *x, uint64_t h, size_t pos);
/* The positions indexed under h, one at a time: start with *it = 0; each call
 * returns the next one, or SIZE_MAX when there are no more. */
size_t gs_hidx_next(const struct gs_hidx *x, uint64_t h, size_t *it);

struct gs_strmap {
	char **keys; /* owned, by position */
	size_t *vals;
	size_t n, alloc;
	struct gs_hidx idx;
};
#define GS_STRMAP_INIT { NULL, NULL, 0, 0, GS_HIDX_INIT }

void gs_strmap_release(struct gs_strmap *m);
/* Pointer to key's value (valid until the next put), or NULL. */
size_t *gs_strmap_get(const struct gs_strmap *m, const char *key);
/* Set key (copied) to val, replacing any value it had. */
void gs_strmap_put(struct gs_strmap *m, const char *key, size_t val);

#endif
