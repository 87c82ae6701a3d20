/* kz-config.c - the transformer configuration: kustomize's built-in field
 * spec tables (api/internal/konfig/builtinpluginconsts) ported as data, and
 * the `configurations:` files that extend them. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"

/* Workload kinds and where their pod spec sits. */
struct podspec_home {
	const char *group, *version, *kind, *prefix;
};

static const struct podspec_home pod_homes[] = {
	{ NULL, "v1", "Pod", "spec/" },
	{ NULL, NULL, "PodTemplate", "template/spec/" },
	{ NULL, NULL, "Deployment", "spec/template/spec/" },
	{ NULL, NULL, "ReplicaSet", "spec/template/spec/" },
	{ NULL, NULL, "DaemonSet", "spec/template/spec/" },
	{ NULL, NULL, "StatefulSet", "spec/template/spec/" },
	{ NULL, NULL, "Job", "spec/template/spec/" },
	{ NULL, NULL, "CronJob", "spec/jobTemplate/spec/template/spec/" },
};

/* Homes used by the serviceAccount / PVC / priorityClass references. */
static const struct podspec_home sa_homes[] = {
	{ NULL, NULL, "Pod", "spec/" },
	{ NULL, NULL, "StatefulSet", "spec/template/spec/" },
	{ NULL, NULL, "Deployment", "spec/template/spec/" },
	{ NULL, NULL, "ReplicationController", "spec/template/spec/" },
	{ NULL, NULL, "CronJob", "spec/jobTemplate/spec/template/spec/" },
	{ NULL, NULL, "Job", "spec/template/spec/" },
	{ NULL, NULL, "DaemonSet", "spec/template/spec/" },
};

static const char *const cm_fields[] = {
	"volumes/configMap/name",
	"containers/env/valueFrom/configMapKeyRef/name",
	"initContainers/env/valueFrom/configMapKeyRef/name",
	"containers/envFrom/configMapRef/name",
	"initContainers/envFrom/configMapRef/name",
	"volumes/projected/sources/configMap/name",
};

static const char *const secret_fields[] = {
	"volumes/secret/secretName",
	"containers/env/valueFrom/secretKeyRef/name",
	"initContainers/env/valueFrom/secretKeyRef/name",
	"containers/envFrom/secretRef/name",
	"initContainers/envFrom/secretRef/name",
	"imagePullSecrets/name",
	"volumes/projected/sources/secret/name",
};

/* Other references: referenced kind <- referrer kind at path. */
static const struct {
	const char *kind, *group, *version;
	const char *rkind, *rgroup, *rversion, *path;
} refs[] = {
	{ "Deployment", NULL, NULL, "HorizontalPodAutoscaler", NULL, NULL, "spec/scaleTargetRef/name" },
	{ "ReplicationController", NULL, NULL, "HorizontalPodAutoscaler", NULL, NULL, "spec/scaleTargetRef/name" },
	{ "ReplicaSet", NULL, NULL, "HorizontalPodAutoscaler", NULL, NULL, "spec/scaleTargetRef/name" },
	{ "StatefulSet", NULL, NULL, "HorizontalPodAutoscaler", NULL, NULL, "spec/scaleTargetRef/name" },
	{ "ConfigMap", NULL, "v1", "Node", NULL, NULL, "spec/configSource/configMap" },
	{ "ConfigMap", NULL, "v1", "Role", NULL, NULL, "rules/resourceNames" },
	{ "ConfigMap", NULL, "v1", "ClusterRole", NULL, NULL, "rules/resourceNames" },
	{ "ConfigMap", NULL, "v1", "Ingress", NULL, NULL, "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap" },
	{ "Secret", NULL, "v1", "Ingress", NULL, NULL, "spec/tls/secretName" },
	{ "Secret", NULL, "v1", "Ingress", NULL, NULL, "metadata/annotations/ingress.kubernetes.io\\/auth-secret" },
	{ "Secret", NULL, "v1", "Ingress", NULL, NULL, "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret" },
	{ "Secret", NULL, "v1", "Ingress", NULL, NULL, "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret" },
	{ "Secret", NULL, "v1", "ServiceAccount", NULL, NULL, "imagePullSecrets/name" },
	{ "Secret", NULL, "v1", "StorageClass", NULL, NULL, "parameters/secretName" },
	{ "Secret", NULL, "v1", "StorageClass", NULL, NULL, "parameters/adminSecretName" },
	{ "Secret", NULL, "v1", "StorageClass", NULL, NULL, "parameters/userSecretName" },
	{ "Secret", NULL, "v1", "StorageClass", NULL, NULL, "parameters/secretRef" },
	{ "Secret", NULL, "v1", "Role", NULL, NULL, "rules/resourceNames" },
	{ "Secret", NULL, "v1", "ClusterRole", NULL, NULL, "rules/resourceNames" },
	{ "Secret", NULL, "v1", "Service", "serving.knative.dev", "v1", "spec/template/spec/containers/env/valueFrom/secretKeyRef/name" },
	{ "Secret", NULL, "v1", "PersistentVolume", NULL, NULL, "spec/azureFile/secretName" },
	{ "Service", NULL, "v1", "StatefulSet", "apps", NULL, "spec/serviceName" },
	{ "Service", NULL, "v1", "Ingress", NULL, NULL, "spec/rules/http/paths/backend/serviceName" },
	{ "Service", NULL, "v1", "Ingress", NULL, NULL, "spec/backend/serviceName" },
	{ "Service", NULL, "v1", "Ingress", NULL, NULL, "spec/rules/http/paths/backend/service/name" },
	{ "Service", NULL, "v1", "Ingress", NULL, NULL, "spec/defaultBackend/service/name" },
	{ "Service", NULL, "v1", "APIService", "apiregistration.k8s.io", NULL, "spec/service/name" },
	{ "Service", NULL, "v1", "ValidatingWebhookConfiguration", "admissionregistration.k8s.io", NULL, "webhooks/clientConfig/service" },
	{ "Service", NULL, "v1", "MutatingWebhookConfiguration", "admissionregistration.k8s.io", NULL, "webhooks/clientConfig/service" },
	{ "Service", NULL, "v1", "HTTPRoute", NULL, NULL, "spec/rules/backendRefs/name" },
	{ "Role", "rbac.authorization.k8s.io", NULL, "RoleBinding", "rbac.authorization.k8s.io", NULL, "roleRef/name" },
	{ "ClusterRole", "rbac.authorization.k8s.io", NULL, "RoleBinding", "rbac.authorization.k8s.io", NULL, "roleRef/name" },
	{ "ClusterRole", "rbac.authorization.k8s.io", NULL, "ClusterRoleBinding", "rbac.authorization.k8s.io", NULL, "roleRef/name" },
	{ "ServiceAccount", NULL, "v1", "RoleBinding", "rbac.authorization.k8s.io", NULL, "subjects" },
	{ "ServiceAccount", NULL, "v1", "ClusterRoleBinding", "rbac.authorization.k8s.io", NULL, "subjects" },
	{ "PersistentVolume", NULL, "v1", "PersistentVolumeClaim", NULL, NULL, "spec/volumeName" },
	{ "PersistentVolume", NULL, "v1", "ClusterRole", NULL, NULL, "rules/resourceNames" },
	{ "StorageClass", "storage.k8s.io", "v1", "PersistentVolume", NULL, NULL, "spec/storageClassName" },
	{ "StorageClass", "storage.k8s.io", "v1", "PersistentVolumeClaim", NULL, NULL, "spec/storageClassName" },
	{ "StorageClass", "storage.k8s.io", "v1", "StatefulSet", NULL, NULL, "spec/volumeClaimTemplates/spec/storageClassName" },
	{ "IngressClass", "networking.k8s.io", "v1", "Ingress", NULL, NULL, "spec/ingressClassName" },
};

static const char *const workload_template_kinds[][3] = {
	/* group, version, kind: kinds whose spec/template is a pod template */
	{ NULL, "v1", "ReplicationController" },
	{ NULL, NULL, "Deployment" },
	{ NULL, NULL, "ReplicaSet" },
	{ NULL, NULL, "DaemonSet" },
	{ "apps", NULL, "StatefulSet" },
};

static struct kz_nameref *nameref_for(struct kz_config *c, const char *group, const char *version,
				      const char *kind)
{
	size_t i;
	struct kz_nameref *r;

	for (i = 0; i < c->n_nameref; i++) {
		r = &c->nameref[i];
		if (!strcmp(r->kind, kind) && !strcmp(r->group ? r->group : "", group ? group : ""))
			return r;
	}
	GS_ALLOC_GROW(c->nameref, c->n_nameref + 1, c->a_nameref);
	r = &c->nameref[c->n_nameref++];
	memset(r, 0, sizeof(*r));
	r->group = group && *group ? gs_strdup(group) : NULL;
	r->version = version && *version ? gs_strdup(version) : NULL;
	r->kind = gs_strdup(kind);
	return r;
}

void kz_config_add_nameref(struct kz_config *c, const char *group, const char *version,
			   const char *kind, const char *ref_group, const char *ref_version,
			   const char *ref_kind, const char *path)
{
	struct kz_nameref *r = nameref_for(c, group, version, kind);
	size_t i;

	for (i = 0; i < r->referrers.n; i++) {
		const struct kz_fieldspec *f = &r->referrers.v[i];
		if (!strcmp(f->path, path) && !strcmp(f->kind ? f->kind : "", ref_kind ? ref_kind : "") &&
		    !strcmp(f->group ? f->group : "", ref_group ? ref_group : ""))
			return; /* kustomize merges duplicate specs */
	}
	kz_fslist_add(&r->referrers, ref_group, ref_version, ref_kind, path, false);
}

static void add_pod_refs(struct kz_config *c, const char *kind, const char *const *fields,
			 size_t nfields)
{
	size_t h, f;
	char path[256];

	for (h = 0; h < sizeof(pod_homes) / sizeof(pod_homes[0]); h++)
		for (f = 0; f < nfields; f++) {
			snprintf(path, sizeof(path), "%s%s", pod_homes[h].prefix, fields[f]);
			kz_config_add_nameref(c, NULL, "v1", kind, pod_homes[h].group,
					      pod_homes[h].version, pod_homes[h].kind, path);
		}
}

static void add_home_refs(struct kz_config *c, const char *group, const char *version,
			  const char *kind, const char *field)
{
	size_t h;
	char path[256];

	for (h = 0; h < sizeof(sa_homes) / sizeof(sa_homes[0]); h++) {
		snprintf(path, sizeof(path), "%s%s", sa_homes[h].prefix, field);
		kz_config_add_nameref(c, group, version, kind, NULL, NULL, sa_homes[h].kind, path);
	}
}

static void add_template_specs(struct kz_fslist *l, const char *what)
{
	size_t i;
	char path[128];

	snprintf(path, sizeof(path), "spec/template/metadata/%s", what);
	for (i = 0; i < sizeof(workload_template_kinds) / sizeof(workload_template_kinds[0]); i++)
		kz_fslist_add(l, workload_template_kinds[i][0], workload_template_kinds[i][1],
			      workload_template_kinds[i][2], path, true);
}

void kz_config_init_defaults(struct kz_config *c)
{
	size_t i;
	static const char *const selector_kinds[][3] = {
		{ NULL, NULL, "Deployment" }, { NULL, NULL, "ReplicaSet" },
		{ NULL, NULL, "DaemonSet" }, { "apps", NULL, "StatefulSet" },
	};
	static const char *const affinity[] = {
		"spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
		"spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
		"spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
		"spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
		"spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
	};
	static const char *const replica_kinds[] = { "Deployment", "ReplicationController",
						     "ReplicaSet", "StatefulSet" };
	static const char *const var_fields[] = {
		"containers/args", "containers/command", "containers/env/value",
		"containers/volumeMounts/mountPath", "containers/workingDir",
		"initContainers/args", "initContainers/command", "initContainers/env/value",
		"initContainers/volumeMounts/mountPath", "initContainers/workingDir",
		"volumes/nfs/server",
	};

	memset(c, 0, sizeof(*c));
	kz_fslist_add(&c->prefix, NULL, NULL, NULL, "metadata/name", false);
	kz_fslist_add(&c->suffix, NULL, NULL, NULL, "metadata/name", false);

	kz_fslist_add(&c->ns, NULL, NULL, NULL, "metadata/namespace", true);
	/* webhook services get their namespace from the Service they name
	 * (nameReference), not from here */
	kz_fslist_add(&c->ns, "apiregistration.k8s.io", NULL, "APIService",
		      "spec/service/namespace", true);
	kz_fslist_add(&c->ns, "apiextensions.k8s.io", NULL, "CustomResourceDefinition",
		      "spec/conversion/webhook/clientConfig/service/namespace", false);

	/* metadataLabelsFieldSpecs: metadata and pod templates */
	kz_fslist_add(&c->template_labels, NULL, NULL, NULL, "metadata/labels", true);
	add_template_specs(&c->template_labels, "labels");
	kz_fslist_add(&c->template_labels, "apps", NULL, "StatefulSet",
		      "spec/volumeClaimTemplates[]/metadata/labels", true);
	kz_fslist_add(&c->template_labels, "batch", NULL, "Job", "spec/template/metadata/labels",
		      true);
	kz_fslist_add(&c->template_labels, "batch", NULL, "CronJob",
		      "spec/jobTemplate/metadata/labels", true);
	kz_fslist_add(&c->template_labels, "batch", NULL, "CronJob",
		      "spec/jobTemplate/spec/template/metadata/labels", true);

	/* commonLabelFieldSpecs: selectors, then the metadata set */
	kz_fslist_add(&c->common_labels, NULL, "v1", "Service", "spec/selector", true);
	kz_fslist_add(&c->common_labels, NULL, "v1", "ReplicationController", "spec/selector", true);
	for (i = 0; i < sizeof(selector_kinds) / sizeof(selector_kinds[0]); i++) {
		size_t a;

		kz_fslist_add(&c->common_labels, selector_kinds[i][0], NULL, selector_kinds[i][2],
			      "spec/selector/matchLabels", true);
		if (!strcmp(selector_kinds[i][2], "Deployment") ||
		    !strcmp(selector_kinds[i][2], "StatefulSet"))
			for (a = 0; a < sizeof(affinity) / sizeof(affinity[0]); a++)
				kz_fslist_add(&c->common_labels, "apps", NULL,
					      selector_kinds[i][2], affinity[a], false);
	}
	kz_fslist_add(&c->common_labels, "batch", NULL, "Job", "spec/selector/matchLabels", false);
	kz_fslist_add(&c->common_labels, "batch", NULL, "CronJob",
		      "spec/jobTemplate/spec/selector/matchLabels", false);
	kz_fslist_add(&c->common_labels, "policy", NULL, "PodDisruptionBudget",
		      "spec/selector/matchLabels", false);
	kz_fslist_add(&c->common_labels, "networking.k8s.io", NULL, "NetworkPolicy",
		      "spec/podSelector/matchLabels", false);
	kz_fslist_add(&c->common_labels, "networking.k8s.io", NULL, "NetworkPolicy",
		      "spec/ingress/from/podSelector/matchLabels", false);
	kz_fslist_add(&c->common_labels, "networking.k8s.io", NULL, "NetworkPolicy",
		      "spec/egress/to/podSelector/matchLabels", false);
	for (i = 0; i < c->template_labels.n; i++) {
		const struct kz_fieldspec *f = &c->template_labels.v[i];
		kz_fslist_add(&c->common_labels, f->group, f->version, f->kind, f->path, f->create);
	}

	kz_fslist_add(&c->annotations, NULL, NULL, NULL, "metadata/annotations", true);
	add_template_specs(&c->annotations, "annotations");
	kz_fslist_add(&c->annotations, "batch", NULL, "Job", "spec/template/metadata/annotations",
		      true);
	kz_fslist_add(&c->annotations, "batch", NULL, "CronJob",
		      "spec/jobTemplate/metadata/annotations", true);
	kz_fslist_add(&c->annotations, "batch", NULL, "CronJob",
		      "spec/jobTemplate/spec/template/metadata/annotations", true);

	for (i = 0; i < sizeof(replica_kinds) / sizeof(replica_kinds[0]); i++)
		kz_fslist_add(&c->replicas, NULL, NULL, replica_kinds[i], "spec/replicas", true);

	for (i = 0; i < sizeof(pod_homes) / sizeof(pod_homes[0]); i++) {
		size_t f;
		char path[256];

		for (f = 0; f < sizeof(var_fields) / sizeof(var_fields[0]); f++) {
			snprintf(path, sizeof(path), "%s%s", pod_homes[i].prefix, var_fields[f]);
			kz_fslist_add(&c->var_refs, NULL, NULL, pod_homes[i].kind, path, false);
		}
	}
	kz_fslist_add(&c->var_refs, NULL, NULL, "Ingress", "spec/rules/host", false);
	kz_fslist_add(&c->var_refs, NULL, NULL, "Ingress", "spec/tls/hosts", false);
	kz_fslist_add(&c->var_refs, NULL, NULL, "Ingress", "spec/tls/secretName", false);
	kz_fslist_add(&c->var_refs, NULL, NULL, "Ingress", "metadata/annotations", false);

	add_pod_refs(c, "ConfigMap", cm_fields, sizeof(cm_fields) / sizeof(cm_fields[0]));
	add_pod_refs(c, "Secret", secret_fields, sizeof(secret_fields) / sizeof(secret_fields[0]));
	add_home_refs(c, NULL, "v1", "ServiceAccount", "serviceAccountName");
	add_home_refs(c, NULL, "v1", "PersistentVolumeClaim",
		      "volumes/persistentVolumeClaim/claimName");
	add_home_refs(c, "scheduling.k8s.io", "v1", "PriorityClass", "priorityClassName");
	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
		kz_config_add_nameref(c, refs[i].group, refs[i].version, refs[i].kind, refs[i].rgroup,
				      refs[i].rversion, refs[i].rkind, refs[i].path);
}

void kz_config_release(struct kz_config *c)
{
	size_t i;

	kz_fslist_release(&c->prefix);
	kz_fslist_release(&c->suffix);
	kz_fslist_release(&c->ns);
	kz_fslist_release(&c->common_labels);
	kz_fslist_release(&c->template_labels);
	kz_fslist_release(&c->annotations);
	kz_fslist_release(&c->images);
	kz_fslist_release(&c->replicas);
	kz_fslist_release(&c->var_refs);
	for (i = 0; i < c->n_nameref; i++) {
		free(c->nameref[i].group);
		free(c->nameref[i].version);
		free(c->nameref[i].kind);
		kz_fslist_release(&c->nameref[i].referrers);
	}
	free(c->nameref);
	mf_smp_schema_free(c->schema);
	for (i = 0; i < c->n_cluster_kinds; i++)
		free(c->cluster_kinds[i]);
	free(c->cluster_kinds);
	memset(c, 0, sizeof(*c));
}

int kz_config_merge_node(struct kz_config *c, const struct mf_node *doc, struct gs_error *err)
{
	static const struct {
		const char *key;
		size_t off;
	} lists[] = {
		{ "namePrefix", offsetof(struct kz_config, prefix) },
		{ "nameSuffix", offsetof(struct kz_config, suffix) },
		{ "namespace", offsetof(struct kz_config, ns) },
		{ "commonLabels", offsetof(struct kz_config, common_labels) },
		{ "templateLabels", offsetof(struct kz_config, template_labels) },
		{ "commonAnnotations", offsetof(struct kz_config, annotations) },
		{ "images", offsetof(struct kz_config, images) },
		{ "replicas", offsetof(struct kz_config, replicas) },
		{ "varReference", offsetof(struct kz_config, var_refs) },
	};
	size_t i, j, k;
	const struct mf_node *nr;
	int rc;

	if (mf_node_type(doc) != MF_MAP)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(doc),
				   "transformer configuration must be a map");
	for (i = 0; i < mf_node_len(doc); i++) {
		const char *key = mf_node_key(doc, i);
		bool known = !strcmp(key, "nameReference");

		for (j = 0; j < sizeof(lists) / sizeof(lists[0]); j++) {
			if (strcmp(key, lists[j].key))
				continue;
			known = true;
			rc = kz_fslist_add_node((struct kz_fslist *)((char *)c + lists[j].off),
						mf_node_at(doc, i), err);
			if (rc < 0)
				return rc;
			if (!strcmp(key, "commonLabels"))
				kz_fslist_add_node(&c->template_labels, mf_node_at(doc, i), err);
		}
		if (!known)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(mf_node_at(doc, i)),
					   "unknown transformer configuration field '%s'", key);
	}
	nr = mf_node_get(doc, "nameReference");
	for (i = 0; i < mf_node_len(nr); i++) {
		const struct mf_node *e = mf_node_at(nr, i);
		const char *kind = mf_node_str(mf_node_get(e, "kind"));
		const struct mf_node *specs = mf_node_get(e, "fieldSpecs");

		if (!kind)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(e), "nameReference needs a kind");
		nameref_for(c, mf_node_str(mf_node_get(e, "group")),
			    mf_node_str(mf_node_get(e, "version")), kind);
		for (k = 0; k < mf_node_len(specs); k++) {
			const struct mf_node *s = mf_node_at(specs, k);
			const char *path = mf_node_str(mf_node_get(s, "path"));

			if (!path)
				return gs_error_at(err, GS_EINVAL, mf_node_pos(s),
						   "field spec needs a 'path'");
			kz_config_add_nameref(c, mf_node_str(mf_node_get(e, "group")),
					      mf_node_str(mf_node_get(e, "version")), kind,
					      mf_node_str(mf_node_get(s, "group")),
					      mf_node_str(mf_node_get(s, "version")),
					      mf_node_str(mf_node_get(s, "kind")), path);
		}
	}
	return GS_OK;
}
