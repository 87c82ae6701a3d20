/* mf-diff.h - structured and text diffs of objects. */
#ifndef MF_DIFF_H
#define MF_DIFF_H

#include <stdbool.h>

#include "gs-buf.h"
#include "mf-node.h"

enum mf_change_op { MF_CHANGE_ADD, MF_CHANGE_REMOVE, MF_CHANGE_MODIFY };

struct mf_change {
	enum mf_change_op op;
	char *path;                  /* JSON pointer, owned */
	const struct mf_node *old_v; /* borrowed from a (NULL for ADD) */
	const struct mf_node *new_v; /* borrowed from b (NULL for REMOVE) */
};

struct mf_changes {
	struct mf_change *v;
	size_t n, alloc;
};
#define MF_CHANGES_INIT { NULL, 0, 0 }
void mf_changes_release(struct mf_changes *c);

/* Structured diff a -> b (both borrowed; changes borrow from them).
 * Lists compare by index. */
void mf_diff(struct mf_changes *out, const struct mf_node *a, const struct mf_node *b);

enum mf_diff_flags {
	MF_DIFF_SHOW_SECRETS = 1 << 0, /* do not mask Secret data/stringData */
};

/* Unified diff of the YAML renderings of a and b (either may be NULL for
 * created/deleted objects), with labels for the ---/+++ lines and 3 lines of
 * context.  Secret data/stringData values are masked as "++++++++" (a changed
 * value masked differently so the change still shows) unless
 * MF_DIFF_SHOW_SECRETS.  Appends nothing when equal; returns true if different. */
bool mf_diff_text(struct gs_buf *out, const struct mf_node *a, const struct mf_node *b,
		  const char *label_a, const char *label_b, unsigned flags);

/* Unified diff (3 lines of context) of two texts a and b (len bytes each,
 * borrowed), as `diff -u` prints it after the ---/+++ label lines.  Appends
 * nothing and returns false when the texts are equal.  Myers' O(ND)
 * algorithm in linear space. */
bool mf_diff_lines(struct gs_buf *out, const char *a, size_t alen, const char *b, size_t blen,
		   const char *label_a, const char *label_b);

/* Return a copy of obj (borrowed) with, when it is a Secret (v1), every
 * data/stringData value replaced by "++++++++" (owned). */
struct mf_node *mf_diff_mask_secret(const struct mf_node *obj);

#endif
