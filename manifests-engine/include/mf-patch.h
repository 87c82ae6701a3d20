/* mf-patch.h - JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
 * Kubernetes strategic merge patch.
 *
 * All functions modify `target` in place; on error the target is left
 * unchanged (they work on a copy and swap).  The patch is borrowed.
 */
#ifndef MF_PATCH_H
#define MF_PATCH_H

#include <stdbool.h>

#include "gs-error.h"
#include "mf-node.h"

/* RFC 6902: patch is a sequence of operations {op, path, value, from}.
 * Errors name the operation index and path (GS_EINVAL, GS_ENOTFOUND). */
int mf_patch_json6902(struct mf_node *target, const struct mf_node *patch, struct gs_error *err);

/* RFC 7386 merge patch: null deletes, maps merge, everything else replaces. */
int mf_patch_merge(struct mf_node *target, const struct mf_node *patch, struct gs_error *err);

/* The smallest RFC 7386 merge patch taking base to target: the keys whose
 * values differ (maps compared key by key, lists and scalars whole), null
 * for a key target lacks.  NULL when they are equal.  Merging it into base
 * gives target, for any target without null values in its maps (a null
 * there is a deletion in a merge patch).  A new node, owned by the caller. */
struct mf_node *mf_patch_merge_diff(const struct mf_node *base, const struct mf_node *target);

/* Strategic merge schema lookup: for a list at `path` (keys from the object
 * root, e.g. {"spec","template","spec","containers"}) in an object of
 * group/kind, give the merge key(s) and strategy.  Built-in table for core,
 * apps, batch, networking, rbac, policy, autoscaling kinds; custom resources
 * have none (lists replace).  Callers (kustomize openapi fields) may add
 * entries through an mf_smp_schema. */
struct mf_smp_schema;
struct mf_smp_schema *mf_smp_schema_new(void);  /* built-in table only */
void mf_smp_schema_free(struct mf_smp_schema *s);
/* Add a merge key for a list field of a kind, path given with '/' separators
 * relative to the object root, e.g. ("example.com", "MyKind", "spec/items", "name").
 * group NULL matches any group; merge_key NULL or "" merges a list of
 * scalars as a set (like metadata.finalizers).  Strings are copied.  Entries
 * added here win over the built-in table. */
void mf_smp_schema_add(struct mf_smp_schema *s, const char *group, const char *kind,
		       const char *path, const char *merge_key);

/* Behaviour switches of a schema (mf_smp_schema_set_flags). */
enum mf_smp_flags {
	/* Behave like kustomize's strategic merge (kyaml merge2, as in
	 * `kubectl kustomize`) where it differs from the API server's:
	 * merged lists put the patch's items first (in patch order) and then
	 * the original's other items; $retainKeys is kept as a plain field;
	 * ports compare by (port, protocol) and a patch port that names a
	 * protocol only on one side of a same-numbered port is dropped. */
	MF_SMP_KUSTOMIZE = 1 << 0,
};
/* Set flags (enum mf_smp_flags) on s.  Not thread-safe against a patch
 * running with the same schema. */
void mf_smp_schema_set_flags(struct mf_smp_schema *s, unsigned flags);

/* Strategic merge patch of an object (a map); the group and kind that
 * select the merge keys come from target's apiVersion/kind (from patch's
 * when target has none).  schema may be NULL for the built-in table.
 * Supports $patch: replace|delete|merge, $deleteFromPrimitiveList/<field>,
 * $setElementOrder/<field>, $retainKeys.  A patch value null deletes.
 * "$patch: delete" at the top leaves target an empty map (the caller
 * decides what deleting the object means).  Errors: GS_EINVAL (bad
 * directive, missing merge key, not a map), GS_ELIMIT (nesting). */
int mf_patch_strategic(struct mf_node *target, const struct mf_node *patch,
		       const struct mf_smp_schema *schema, struct gs_error *err);

/* Parse a JSON pointer / RFC 6902 path ("/a/b~1c/0") into owned segments. */
int mf_json_pointer_split(char ***segs_out, size_t *n_out, const char *ptr, struct gs_error *err);
void mf_json_pointer_free(char **segs, size_t n);

#endif
