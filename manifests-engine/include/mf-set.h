/* mf-set.h - an ordered set of objects with identity lookup. */
#ifndef MF_SET_H
#define MF_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-error.h"
#include "mf-node.h"
#include "mf-object.h"

struct mf_set;

struct mf_set *mf_set_new(void);
void mf_set_free(struct mf_set *s); /* frees the objects too */

size_t mf_set_len(const struct mf_set *s);
struct mf_node *mf_set_at(const struct mf_set *s, size_t i); /* borrowed */

/* Add obj (taken).  GS_ECONFLICT (set left unchanged, obj freed) when an
 * object with the same group/kind/namespace/name exists. */
int mf_set_add(struct mf_set *s, struct mf_node *obj, struct gs_error *err);
/* Find by id fields (group may be NULL to match any group). */
struct mf_node *mf_set_find(const struct mf_set *s, const char *group, const char *kind,
			    const char *ns, const char *name);
/* Remove and return owned object i. */
struct mf_node *mf_set_take(struct mf_set *s, size_t i);
/* Objects changed identity (renamed): rebuild the index. */
void mf_set_reindex(struct mf_set *s);

#endif
