/* mf-node.h - the object model: a JSON-shaped tree whose nodes remember
 * where they came from (file:line), shared by the renderer, the differ and
 * the agent.
 *
 * Ownership: a node is owned by its parent (map or sequence) or, for a root,
 * by whoever holds the pointer; mf_node_free() frees the whole subtree.
 * Functions that "take" a node become its owner; the caller must not use it
 * afterwards except through the tree.  Returned child pointers are borrowed
 * from the parent.  Nothing here is thread-safe on a shared tree.
 *
 * Scalars keep their text: integers and floats keep the digits as written
 * (int64 and beyond keep precision), so a round trip never changes a number.
 */
#ifndef MF_NODE_H
#define MF_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gs-error.h"

enum mf_type {
	MF_NULL = 0,
	MF_BOOL,
	MF_INT,
	MF_FLOAT,
	MF_STR,
	MF_SEQ,
	MF_MAP,
};

struct mf_node;

/* Constructors return an owned node.  Text is copied. */
struct mf_node *mf_node_new(enum mf_type type); /* NULL, empty SEQ/MAP, "" STR */
struct mf_node *mf_node_new_null(void);
/* A null written as nothing at all (`key:`), not as `null` or `~`: kustomize
 * drops those from the maps a strategic-merge patch walks. */
void mf_node_set_null_implicit(struct mf_node *n, bool implicit);
bool mf_node_null_implicit(const struct mf_node *n);
struct mf_node *mf_node_new_bool(bool v);
struct mf_node *mf_node_new_str(const char *s);
struct mf_node *mf_node_new_strn(const char *s, size_t len);
/* Number from its text; type is MF_INT or MF_FLOAT (text not validated). */
struct mf_node *mf_node_new_number(enum mf_type type, const char *text, size_t len);
struct mf_node *mf_node_new_int(long long v);

void mf_node_free(struct mf_node *n);
struct mf_node *mf_node_clone(const struct mf_node *n);

enum mf_type mf_node_type(const struct mf_node *n); /* MF_NULL for n == NULL */
const char *mf_node_type_name(enum mf_type t);     /* "string", "map", ... */
bool mf_node_is_scalar(const struct mf_node *n);

/* Position (borrowed; file string owned by whoever parsed). */
const struct mf_pos *mf_node_pos(const struct mf_node *n);
void mf_node_set_pos(struct mf_node *n, const struct mf_pos *pos);
/* Set pos on n and every descendant that has none. */
void mf_node_set_pos_deep(struct mf_node *n, const struct mf_pos *pos);

/* Scalars. mf_node_str: text of STR/INT/FLOAT, "true"/"false" for BOOL,
 * NULL for anything else (and for n == NULL).  Length via mf_node_strlen
 * (strings may contain NUL bytes from binary data only in theory; we keep len). */
const char *mf_node_str(const struct mf_node *n);
size_t mf_node_strlen(const struct mf_node *n);
bool mf_node_bool(const struct mf_node *n);
/* GS_OK and *out on success; GS_EINVAL when not an INT that fits int64. */
int mf_node_int(const struct mf_node *n, long long *out);
/* Replace a scalar's value in place (keeps pos). */
void mf_node_set_str(struct mf_node *n, const char *s);
void mf_node_set_strn(struct mf_node *n, const char *s, size_t len);

/* Containers. */
size_t mf_node_len(const struct mf_node *n);                   /* 0 for scalars */
struct mf_node *mf_node_at(const struct mf_node *n, size_t i); /* seq item or map value */
const char *mf_node_key(const struct mf_node *n, size_t i);    /* map key i */

/* Map lookups (NULL when n is not a map or key absent). */
struct mf_node *mf_node_get(const struct mf_node *map, const char *key);
ptrdiff_t mf_node_index(const struct mf_node *map, const char *key); /* -1 if absent */
/* Walk maps by keys, NULL-terminated: mf_node_dig(obj, "metadata", "name", NULL). */
struct mf_node *mf_node_dig(const struct mf_node *n, ...);
/* Text of a string scalar found by dig, or NULL. */
const char *mf_node_dig_str(const struct mf_node *n, ...);

/* Map edits.  set: replace value of key (freeing the old) or append; takes val. */
void mf_node_set(struct mf_node *map, const char *key, struct mf_node *val);
void mf_node_set_str_value(struct mf_node *map, const char *key, const char *s);
/* Get the child map/seq at key, creating it (replacing a non-container) if needed. */
struct mf_node *mf_node_ensure(struct mf_node *map, const char *key, enum mf_type type);
/* Remove key; true if it existed. */
bool mf_node_remove(struct mf_node *map, const char *key);
/* Rename key i in place. */
void mf_node_rename_key(struct mf_node *map, size_t i, const char *key);
/* Insert (key,val) at position i; takes val. */
void mf_node_insert_kv(struct mf_node *map, size_t i, const char *key, struct mf_node *val);

/* Sequence (and map, by index) edits. */
void mf_node_append(struct mf_node *seq, struct mf_node *item);             /* takes item */
void mf_node_insert(struct mf_node *seq, size_t i, struct mf_node *item);   /* takes item */
void mf_node_replace_at(struct mf_node *n, size_t i, struct mf_node *item); /* takes, frees old */
void mf_node_remove_at(struct mf_node *n, size_t i);                        /* frees */
struct mf_node *mf_node_take_at(struct mf_node *n, size_t i);               /* returns owned */
void mf_node_clear(struct mf_node *n); /* remove all children / reset scalar to "" */

/* Move the contents of src into dst (dst's old content freed, pos kept from
 * src); src is freed. */
void mf_node_move(struct mf_node *dst, struct mf_node *src);

/* Deep equality: same types and values; map key order ignored; INT vs FLOAT
 * compare by numeric value ("1" == "1.0" is false: types differ). */
bool mf_node_equal(const struct mf_node *a, const struct mf_node *b);

/* Sort a map's keys (byte order), recursively when deep. */
void mf_node_sort_keys(struct mf_node *n, bool deep);

#endif
