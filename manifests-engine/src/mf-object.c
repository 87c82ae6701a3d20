/* mf-object.c - Kubernetes object helpers and identity (see mf-object.h). */
#include "mf-object.h"

#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"

const char *mf_obj_api_version(const struct mf_node *obj)
{
	return mf_node_dig_str(obj, "apiVersion", NULL);
}

const char *mf_obj_kind(const struct mf_node *obj)
{
	return mf_node_dig_str(obj, "kind", NULL);
}

const char *mf_obj_name(const struct mf_node *obj)
{
	return mf_node_dig_str(obj, "metadata", "name", NULL);
}

const char *mf_obj_namespace(const struct mf_node *obj)
{
	return mf_node_dig_str(obj, "metadata", "namespace", NULL);
}

static struct mf_node *metadata(struct mf_node *obj)
{
	return mf_node_ensure(obj, "metadata", MF_MAP);
}

void mf_obj_set_name(struct mf_node *obj, const char *name)
{
	mf_node_set_str_value(metadata(obj), "name", name);
}

void mf_obj_set_namespace(struct mf_node *obj, const char *ns)
{
	mf_node_set_str_value(metadata(obj), "namespace", ns);
}

const char *mf_obj_label(const struct mf_node *obj, const char *key)
{
	return mf_node_dig_str(obj, "metadata", "labels", key, NULL);
}

const char *mf_obj_annotation(const struct mf_node *obj, const char *key)
{
	return mf_node_dig_str(obj, "metadata", "annotations", key, NULL);
}

void mf_obj_set_label(struct mf_node *obj, const char *key, const char *val)
{
	mf_node_set_str_value(mf_node_ensure(metadata(obj), "labels", MF_MAP), key, val);
}

void mf_obj_set_annotation(struct mf_node *obj, const char *key, const char *val)
{
	mf_node_set_str_value(mf_node_ensure(metadata(obj), "annotations", MF_MAP), key, val);
}

bool mf_obj_is_object(const struct mf_node *obj)
{
	return mf_node_type(obj) == MF_MAP && mf_obj_api_version(obj) && mf_obj_kind(obj);
}

void mf_split_api_version(const char *av, char **group_out, char **version_out)
{
	const char *slash = av ? strrchr(av, '/') : NULL;

	if (!av) {
		*group_out = gs_strdup("");
		*version_out = gs_strdup("");
	} else if (slash) {
		*group_out = gs_strndup(av, (size_t)(slash - av));
		*version_out = gs_strdup(slash + 1);
	} else {
		*group_out = gs_strdup("");
		*version_out = gs_strdup(av);
	}
}

static char *dup_or_empty(const char *s)
{
	return gs_strdup(s ? s : "");
}

void mf_id_from_object(struct mf_id *id, const struct mf_node *obj)
{
	mf_split_api_version(mf_obj_api_version(obj), &id->group, &id->version);
	id->kind = dup_or_empty(mf_obj_kind(obj));
	id->ns = dup_or_empty(mf_obj_namespace(obj));
	id->name = dup_or_empty(mf_obj_name(obj));
}

void mf_id_release(struct mf_id *id)
{
	free(id->group);
	free(id->version);
	free(id->kind);
	free(id->ns);
	free(id->name);
	memset(id, 0, sizeof(*id));
}

char *mf_id_str(const struct mf_id *id)
{
	const char *sep = id->ns[0] ? "/" : "";

	if (id->group[0])
		return gs_asprintf("%s/%s %s%s%s", id->group, id->kind, id->ns, sep, id->name);
	return gs_asprintf("%s %s%s%s", id->kind, id->ns, sep, id->name);
}

/* Built-in cluster-scoped kinds (group, kind).  Custom resources are looked
 * up through discovery by the agent; kustomize-lite uses this table as
 * kustomize does with its built-in schema. */
static const struct { const char *group, *kind; } cluster_scoped[] = {
	{ "", "Namespace" },
	{ "", "Node" },
	{ "", "PersistentVolume" },
	{ "", "ComponentStatus" },
	{ "rbac.authorization.k8s.io", "ClusterRole" },
	{ "rbac.authorization.k8s.io", "ClusterRoleBinding" },
	{ "apiextensions.k8s.io", "CustomResourceDefinition" },
	{ "apiregistration.k8s.io", "APIService" },
	{ "admissionregistration.k8s.io", "MutatingWebhookConfiguration" },
	{ "admissionregistration.k8s.io", "ValidatingWebhookConfiguration" },
	{ "admissionregistration.k8s.io", "ValidatingAdmissionPolicy" },
	{ "admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding" },
	{ "storage.k8s.io", "StorageClass" },
	{ "storage.k8s.io", "CSIDriver" },
	{ "storage.k8s.io", "CSINode" },
	{ "storage.k8s.io", "VolumeAttachment" },
	{ "scheduling.k8s.io", "PriorityClass" },
	{ "policy", "PodSecurityPolicy" },
	{ "node.k8s.io", "RuntimeClass" },
	{ "networking.k8s.io", "IngressClass" },
	{ "certificates.k8s.io", "CertificateSigningRequest" },
	{ "flowcontrol.apiserver.k8s.io", "FlowSchema" },
	{ "flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration" },
	{ "authentication.k8s.io", "TokenReview" },
	{ "authorization.k8s.io", "SelfSubjectAccessReview" },
	{ "authorization.k8s.io", "SelfSubjectRulesReview" },
	{ "authorization.k8s.io", "SubjectAccessReview" },
};

bool mf_kind_is_cluster_scoped(const char *group, const char *kind)
{
	size_t i;

	if (!kind)
		return false;
	for (i = 0; i < sizeof(cluster_scoped) / sizeof(cluster_scoped[0]); i++)
		if (!strcmp(cluster_scoped[i].kind, kind) &&
		    (!group || !strcmp(cluster_scoped[i].group, group)))
			return true;
	return false;
}
