/* mf-smp-schema.c - the strategic merge patch key table.
 *
 * The built-in entries come from the patchStrategy/patchMergeKey struct tags
 * of the Kubernetes API types (k8s.io/api).  A list without a tag is atomic:
 * the patch list replaces it (tolerations, envFrom, args, rbac rules and
 * subjects, Ingress rules, NetworkPolicy ingress/egress, ...).  Paths are
 * '/'-joined map keys from the object root with list indices left out, so
 * "spec/template/spec/containers/ports" names every container's ports.
 * See docs/internals/strategic-merge.md.
 */
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-patch-private.h"
#include "mf-patch.h"

struct entry {
	char *group, *kind, *path, *key; /* key NULL: merge a list of scalars */
};

struct mf_smp_schema {
	struct entry *v;
	size_t n, alloc;
	unsigned flags;
};

/* Lists inside a PodSpec (relative to the pod spec). */
static const struct rel_entry {
	const char *path, *key, *key2;
} pod_spec_lists[] = {
	{ "containers", "name", NULL },
	{ "initContainers", "name", NULL },
	{ "ephemeralContainers", "name", NULL },
	{ "volumes", "name", NULL },
	{ "imagePullSecrets", "name", NULL },
	{ "hostAliases", "ip", NULL },
	{ "topologySpreadConstraints", "topologyKey", NULL },
	{ "resourceClaims", "name", NULL },
	{ "schedulingGates", "name", NULL },
};

/* Lists inside each kind of container (Container, EphemeralContainer). */
static const struct rel_entry container_lists[] = {
	{ "ports", "containerPort", "protocol" },
	{ "env", "name", NULL },
	{ "volumeMounts", "mountPath", NULL },
	{ "volumeDevices", "devicePath", NULL },
};

static const char *const container_fields[] = { "containers", "initContainers",
						"ephemeralContainers" };

/* Where the pod spec sits in each workload kind. */
static const struct {
	const char *group, *kind, *pod_spec;
} pod_spec_paths[] = {
	{ "", "Pod", "spec" },
	{ "", "PodTemplate", "template/spec" },
	{ "", "ReplicationController", "spec/template/spec" },
	{ "apps", "Deployment", "spec/template/spec" },
	{ "apps", "StatefulSet", "spec/template/spec" },
	{ "apps", "DaemonSet", "spec/template/spec" },
	{ "apps", "ReplicaSet", "spec/template/spec" },
	{ "extensions", "Deployment", "spec/template/spec" },
	{ "extensions", "DaemonSet", "spec/template/spec" },
	{ "extensions", "ReplicaSet", "spec/template/spec" },
	{ "batch", "Job", "spec/template/spec" },
	{ "batch", "CronJob", "spec/jobTemplate/spec/template/spec" },
};

/* Other tagged lists, per kind (kind NULL: every kind of the group). */
static const struct {
	const char *group, *kind, *path, *key, *key2;
} kind_lists[] = {
	{ "", "Service", "spec/ports", "port", "protocol" },
	{ "", "ServiceAccount", "secrets", "name", NULL },
	{ "", "Node", "spec/podCIDRs", NULL, NULL },
	{ "", "Node", "status/addresses", "type", NULL },
	{ "admissionregistration.k8s.io", "MutatingWebhookConfiguration", "webhooks", "name", NULL },
	{ "admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "webhooks", "name",
	  NULL },
};

/* Groups whose types are compiled into the API server: they get ObjectMeta's
 * tags (finalizers, ownerReferences) and status conditions by type.  Custom
 * resources are patched like a JSON merge patch (lists replaced), as the API
 * server does for them. */
static const char *const builtin_groups[] = {
	"",
	"apps",
	"batch",
	"extensions",
	"networking.k8s.io",
	"rbac.authorization.k8s.io",
	"policy",
	"autoscaling",
	"storage.k8s.io",
	"admissionregistration.k8s.io",
	"scheduling.k8s.io",
	"coordination.k8s.io",
	"discovery.k8s.io",
	"node.k8s.io",
	"certificates.k8s.io",
	"apiextensions.k8s.io",
	"apiregistration.k8s.io",
	"flowcontrol.apiserver.k8s.io",
	"resource.k8s.io",
};

struct mf_smp_schema *mf_smp_schema_new(void)
{
	return gs_calloc(1, sizeof(struct mf_smp_schema));
}

void mf_smp_schema_free(struct mf_smp_schema *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].group);
		free(s->v[i].kind);
		free(s->v[i].path);
		free(s->v[i].key);
	}
	free(s->v);
	free(s);
}

void mf_smp_schema_add(struct mf_smp_schema *s, const char *group, const char *kind,
		       const char *path, const char *merge_key)
{
	struct entry *e;

	GS_ALLOC_GROW(s->v, s->n + 1, s->alloc);
	e = &s->v[s->n++];
	e->group = group ? gs_strdup(group) : NULL;
	e->kind = gs_strdup(kind ? kind : "");
	/* accept "/spec/items" and "spec.items" spellings too */
	while (path && *path == '/')
		path++;
	e->path = gs_strdup(path ? path : "");
	if (!strchr(e->path, '/'))
		for (char *p = e->path; *p; p++)
			if (*p == '.')
				*p = '/';
	e->key = (merge_key && *merge_key) ? gs_strdup(merge_key) : NULL;
}

void mf_smp_schema_set_flags(struct mf_smp_schema *s, unsigned flags)
{
	s->flags = flags;
}

unsigned mf_smp_schema_flags(const struct mf_smp_schema *schema)
{
	return schema ? schema->flags : 0;
}

static bool is_builtin_group(const char *group)
{
	size_t i;

	for (i = 0; i < sizeof(builtin_groups) / sizeof(builtin_groups[0]); i++)
		if (!strcmp(builtin_groups[i], group))
			return true;
	return false;
}

/* If path starts with prefix + "/", return the rest; else NULL. */
static const char *under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) || path[n] != '/')
		return NULL;
	return path + n + 1;
}

static void set_meta(struct mf_smp_list_meta *out, const char *key, const char *key2)
{
	out->merge = true;
	out->key = key;
	out->key2 = key2;
}

static bool lookup_pod_spec(struct mf_smp_list_meta *out, const char *rel)
{
	size_t i, j;
	const char *sub;

	for (i = 0; i < sizeof(pod_spec_lists) / sizeof(pod_spec_lists[0]); i++)
		if (!strcmp(rel, pod_spec_lists[i].path)) {
			set_meta(out, pod_spec_lists[i].key, pod_spec_lists[i].key2);
			return true;
		}
	for (i = 0; i < sizeof(container_fields) / sizeof(container_fields[0]); i++) {
		if (!(sub = under(rel, container_fields[i])))
			continue;
		for (j = 0; j < sizeof(container_lists) / sizeof(container_lists[0]); j++)
			if (!strcmp(sub, container_lists[j].path)) {
				set_meta(out, container_lists[j].key, container_lists[j].key2);
				return true;
			}
	}
	return false;
}

/* ObjectMeta's tagged lists, under metadata at `meta_path`. */
static bool lookup_object_meta(struct mf_smp_list_meta *out, const char *path,
			       const char *meta_path)
{
	const char *rel = under(path, meta_path);

	if (!rel)
		return false;
	if (!strcmp(rel, "finalizers")) {
		set_meta(out, NULL, NULL);
		return true;
	}
	if (!strcmp(rel, "ownerReferences")) {
		set_meta(out, "uid", NULL);
		return true;
	}
	return false;
}

void mf_smp_schema_lookup(struct mf_smp_list_meta *out, const struct mf_smp_schema *schema,
			  const char *group, const char *kind, const char *path)
{
	size_t i;
	const char *rel;

	memset(out, 0, sizeof(*out));
	group = group ? group : "";
	kind = kind ? kind : "";
	if (schema) {
		for (i = 0; i < schema->n; i++) {
			const struct entry *e = &schema->v[i];
			if ((e->group && strcmp(e->group, group)) || strcmp(e->kind, kind) ||
			    strcmp(e->path, path))
				continue;
			set_meta(out, e->key, NULL);
			return;
		}
	}
	if (!is_builtin_group(group))
		return;
	if (lookup_object_meta(out, path, "metadata"))
		return;
	if (!strcmp(path, "status/conditions")) {
		set_meta(out, "type", NULL);
		return;
	}
	for (i = 0; i < sizeof(pod_spec_paths) / sizeof(pod_spec_paths[0]); i++) {
		char tmpl_meta[64];
		size_t len;

		if (strcmp(pod_spec_paths[i].group, group) || strcmp(pod_spec_paths[i].kind, kind))
			continue;
		if ((rel = under(path, pod_spec_paths[i].pod_spec)) && lookup_pod_spec(out, rel))
			return;
		/* the pod template's own metadata: ".../spec" -> ".../metadata" */
		len = strlen(pod_spec_paths[i].pod_spec);
		if (len > 4 && len - 4 + sizeof("metadata") <= sizeof(tmpl_meta)) {
			memcpy(tmpl_meta, pod_spec_paths[i].pod_spec, len - 4);
			memcpy(tmpl_meta + len - 4, "metadata", sizeof("metadata"));
			if (lookup_object_meta(out, path, tmpl_meta))
				return;
		}
	}
	for (i = 0; i < sizeof(kind_lists) / sizeof(kind_lists[0]); i++)
		if (!strcmp(kind_lists[i].group, group) &&
		    (!kind_lists[i].kind || !strcmp(kind_lists[i].kind, kind)) &&
		    !strcmp(kind_lists[i].path, path)) {
			set_meta(out, kind_lists[i].key, kind_lists[i].key2);
			return;
		}
}
