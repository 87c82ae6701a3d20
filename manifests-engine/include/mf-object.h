/* mf-object.h - Kubernetes object helpers over mf_node maps, and identity.
 *
 * An "object" is an MF_MAP node with apiVersion, kind and metadata.  All
 * getters return borrowed strings (NULL when absent or not a string).
 */
#ifndef MF_OBJECT_H
#define MF_OBJECT_H

#include <stdbool.h>

#include "mf-node.h"

const char *mf_obj_api_version(const struct mf_node *obj);
const char *mf_obj_kind(const struct mf_node *obj);
const char *mf_obj_name(const struct mf_node *obj);
const char *mf_obj_namespace(const struct mf_node *obj);

void mf_obj_set_name(struct mf_node *obj, const char *name);
void mf_obj_set_namespace(struct mf_node *obj, const char *ns);

/* metadata.labels / metadata.annotations: get value or NULL; set creates maps. */
const char *mf_obj_label(const struct mf_node *obj, const char *key);
const char *mf_obj_annotation(const struct mf_node *obj, const char *key);
void mf_obj_set_label(struct mf_node *obj, const char *key, const char *val);
void mf_obj_set_annotation(struct mf_node *obj, const char *key, const char *val);

/* True when obj looks like a Kubernetes object (map with string apiVersion and kind). */
bool mf_obj_is_object(const struct mf_node *obj);

/* Identity.  Strings are owned by the id (mf_id_release frees them). */
struct mf_id {
	char *group;   /* "" for the core group */
	char *version;
	char *kind;
	char *ns;      /* "" when absent */
	char *name;    /* "" when absent */
};
#define MF_ID_INIT { NULL, NULL, NULL, NULL, NULL }

/* Fill id from obj (missing fields become ""). */
void mf_id_from_object(struct mf_id *id, const struct mf_node *obj);
void mf_id_release(struct mf_id *id);
/* Split "group/version" or "version" (borrowed in, owned out). */
void mf_split_api_version(const char *api_version, char **group_out, char **version_out);
/* "group/kind ns/name" (group "" printed as "core"?? no: "Kind ns/name" when core). Owned. */
char *mf_id_str(const struct mf_id *id);

/* Is kind (in group) cluster-scoped among the built-in kinds?  Unknown kinds
 * (custom resources) return false; callers with discovery should ask it. */
bool mf_kind_is_cluster_scoped(const char *group, const char *kind);

#endif
