/* kz-resmap.c - resources with their name history, and the ordered map of
 * them that every kustomize-lite stage works on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-hash.h"
#include "kz-private.h"
#include "mf-object.h"

struct kz_res *kz_res_new(struct mf_node *obj)
{
	struct kz_res *r = gs_calloc(1, sizeof(*r));

	r->obj = obj;
	return r;
}

struct kz_res *kz_res_clone(const struct kz_res *r)
{
	struct kz_res *c = kz_res_new(mf_node_clone(r->obj));
	size_t i;

	c->flags = r->flags;
	c->origin = r->origin ? mf_node_clone(r->origin) : NULL;
	c->transforms = r->transforms ? mf_node_clone(r->transforms) : NULL;
	if (r->nprev) {
		c->prev_name = gs_calloc(r->nprev, sizeof(char *));
		c->prev_ns = gs_calloc(r->nprev, sizeof(char *));
		c->aprev = r->nprev;
		for (i = 0; i < r->nprev; i++) {
			c->prev_name[i] = gs_strdup(r->prev_name[i]);
			c->prev_ns[i] = gs_strdup(r->prev_ns[i]);
		}
		c->nprev = r->nprev;
	}
	return c;
}

void kz_res_free(struct kz_res *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nprev; i++) {
		free(r->prev_name[i]);
		free(r->prev_ns[i]);
	}
	free(r->prev_name);
	free(r->prev_ns);
	mf_node_free(r->obj);
	mf_node_free(r->origin);
	mf_node_free(r->transforms);
	free(r);
}

static void remember(struct kz_res *r)
{
	const char *name = mf_obj_name(r->obj), *ns = mf_obj_namespace(r->obj);

	if (r->nprev + 1 > r->aprev) {
		size_t a = r->aprev ? r->aprev * 2 : 4;
		r->prev_name = gs_realloc(r->prev_name, a * sizeof(char *));
		r->prev_ns = gs_realloc(r->prev_ns, a * sizeof(char *));
		r->aprev = a;
	}
	r->prev_name[r->nprev] = gs_strdup(name ? name : "");
	r->prev_ns[r->nprev] = gs_strdup(ns ? ns : "");
	r->nprev++;
}

void kz_res_store_id(struct kz_res *r)
{
	remember(r);
}

void kz_res_set_name(struct kz_res *r, const char *name)
{
	const char *cur = mf_obj_name(r->obj);

	if (cur && !strcmp(cur, name))
		return;
	remember(r);
	mf_obj_set_name(r->obj, name);
}

void kz_res_set_ns(struct kz_res *r, const char *ns)
{
	const char *cur = mf_obj_namespace(r->obj);

	if (cur && !strcmp(cur, ns))
		return;
	remember(r);
	mf_obj_set_namespace(r->obj, ns);
}

const char *kz_res_orig_name(const struct kz_res *r)
{
	const char *n;

	if (r->nprev)
		return r->prev_name[0];
	n = mf_obj_name(r->obj);
	return n ? n : "";
}

const char *kz_res_orig_ns(const struct kz_res *r)
{
	const char *n;

	if (r->nprev)
		return r->prev_ns[0];
	n = mf_obj_namespace(r->obj);
	return n ? n : "";
}

bool kz_res_had_name(const struct kz_res *r, const char *name)
{
	const char *cur = mf_obj_name(r->obj);
	size_t i;

	if (cur && !strcmp(cur, name))
		return true;
	for (i = 0; i < r->nprev; i++)
		if (!strcmp(r->prev_name[i], name))
			return true;
	return false;
}

/* The group part of apiVersion into buf ("" for the core group). */
const char *kz_obj_group(const struct mf_node *obj, char *buf, size_t size)
{
	const char *av = mf_obj_api_version(obj);
	const char *slash = av ? strchr(av, '/') : NULL;
	size_t n = slash ? (size_t)(slash - av) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(buf, av ? av : "", n);
	buf[n] = '\0';
	return buf;
}

/* The cluster-scoped types of kustomize's built-in schema (Kubernetes
 * v1.21.2, kyaml's openapi): by apiVersion AND kind, since scope is known
 * per group/version.  Any other type is namespaced for kustomize, even when
 * a later Kubernetes serves it cluster-scoped (flowcontrol/v1 FlowSchema,
 * ValidatingAdmissionPolicy): output must match kustomize's. */
static const char *const kz_cluster_types[][2] = {
	{ "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration" },
	{ "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration" },
	{ "admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration" },
	{ "admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration" },
	{ "apiextensions.k8s.io/v1", "CustomResourceDefinition" },
	{ "apiextensions.k8s.io/v1beta1", "CustomResourceDefinition" },
	{ "apiregistration.k8s.io/v1", "APIService" },
	{ "apiregistration.k8s.io/v1beta1", "APIService" },
	{ "certificates.k8s.io/v1", "CertificateSigningRequest" },
	{ "certificates.k8s.io/v1beta1", "CertificateSigningRequest" },
	{ "flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema" },
	{ "flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration" },
	{ "networking.k8s.io/v1", "IngressClass" },
	{ "networking.k8s.io/v1beta1", "IngressClass" },
	{ "node.k8s.io/v1", "RuntimeClass" },
	{ "node.k8s.io/v1beta1", "RuntimeClass" },
	{ "policy/v1beta1", "PodSecurityPolicy" },
	{ "rbac.authorization.k8s.io/v1", "ClusterRole" },
	{ "rbac.authorization.k8s.io/v1", "ClusterRoleBinding" },
	{ "rbac.authorization.k8s.io/v1beta1", "ClusterRole" },
	{ "rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding" },
	{ "scheduling.k8s.io/v1", "PriorityClass" },
	{ "scheduling.k8s.io/v1beta1", "PriorityClass" },
	{ "storage.k8s.io/v1", "CSIDriver" },
	{ "storage.k8s.io/v1", "CSINode" },
	{ "storage.k8s.io/v1", "StorageClass" },
	{ "storage.k8s.io/v1", "VolumeAttachment" },
	{ "storage.k8s.io/v1beta1", "CSIDriver" },
	{ "storage.k8s.io/v1beta1", "CSINode" },
	{ "storage.k8s.io/v1beta1", "StorageClass" },
	{ "storage.k8s.io/v1beta1", "VolumeAttachment" },
	{ "v1", "ComponentStatus" },
	{ "v1", "Namespace" },
	{ "v1", "Node" },
	{ "v1", "NodeProxyOptions" },
	{ "v1", "PersistentVolume" },
};

bool kz_res_cluster_scoped(const struct kz_res *r)
{
	const char *av = mf_obj_api_version(r->obj), *kind = mf_obj_kind(r->obj);
	size_t i;

	if (!av || !kind)
		return false;
	for (i = 0; i < sizeof(kz_cluster_types) / sizeof(kz_cluster_types[0]); i++)
		if (!strcmp(kz_cluster_types[i][1], kind) && !strcmp(kz_cluster_types[i][0], av))
			return true;
	return false;
}

void kz_resmap_release(struct kz_resmap *m)
{
	size_t i;

	kz_resmap_index_end(m);
	for (i = 0; i < m->n; i++)
		kz_res_free(m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = m->alloc = 0;
}

static size_t group_len(const char *av)
{
	const char *slash = av ? strchr(av, '/') : NULL;
	return slash ? (size_t)(slash - av) : 0;
}

static bool str_eq0(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool same_id(const struct kz_res *a, const struct kz_res *b)
{
	/* kustomize's Gvk.Equals: group, version and kind (a CRD's v1 and v2
	 * samples may share a name) */
	if (!str_eq0(mf_obj_api_version(a->obj), mf_obj_api_version(b->obj)))
		return false;
	if (!str_eq0(mf_obj_kind(a->obj), mf_obj_kind(b->obj)) ||
	    !str_eq0(mf_obj_name(a->obj), mf_obj_name(b->obj)))
		return false;
	if (kz_res_cluster_scoped(a))
		return true;
	return str_eq0(mf_obj_namespace(a->obj), mf_obj_namespace(b->obj));
}

char *kz_res_id_str(const struct kz_res *r)
{
	const char *av = mf_obj_api_version(r->obj);
	const char *slash = av ? strchr(av, '/') : NULL;
	const char *ns = mf_obj_namespace(r->obj);
	const char *kind = mf_obj_kind(r->obj), *name = mf_obj_name(r->obj);

	if (slash)
		return gs_asprintf("%s.%s.%.*s/%s.%s", kind ? kind : "", slash + 1,
				   (int)(slash - av), av, name ? name : "",
				   ns && *ns ? ns : "[noNs]");
	return gs_asprintf("%s.%s.[noGrp]/%s.%s", kind ? kind : "", av ? av : "", name ? name : "",
			   ns && *ns ? ns : "[noNs]");
}

/* The index (a gs_hidx of positions in m->v) is keyed by a hash of the id
 * fields same_id() compares; a hit is confirmed with same_id(). */
static uint64_t id_hash(const struct kz_res *r)
{
	const char *av = mf_obj_api_version(r->obj), *kind = mf_obj_kind(r->obj);
	const char *name = mf_obj_name(r->obj), *ns = mf_obj_namespace(r->obj);
	uint64_t h = gs_fnv1a_field_n(GS_FNV1A_INIT, av ? av : "", group_len(av));

	h = gs_fnv1a_field(gs_fnv1a_field(h, kind), name);
	return kz_res_cluster_scoped(r) ? h : gs_fnv1a_field(h, ns);
}

void kz_resmap_index_begin(struct kz_resmap *m)
{
	size_t i;

	if (m->idx)
		return;
	m->idx = gs_calloc(1, sizeof(*m->idx));
	for (i = 0; i < m->n; i++)
		gs_hidx_put(m->idx, id_hash(m->v[i]), i);
}

void kz_resmap_index_end(struct kz_resmap *m)
{
	if (!m->idx)
		return;
	gs_hidx_release(m->idx);
	free(m->idx);
	m->idx = NULL;
}

static bool find_dup(const struct kz_resmap *m, const struct kz_res *r, uint64_t h)
{
	size_t i, it = 0;

	if (!m->idx) {
		for (i = 0; i < m->n; i++)
			if (same_id(m->v[i], r))
				return true;
		return false;
	}
	while ((i = gs_hidx_next(m->idx, h, &it)) != SIZE_MAX)
		if (same_id(m->v[i], r))
			return true;
	return false;
}

int kz_resmap_add(struct kz_resmap *m, struct kz_res *r, struct gs_error *err)
{
	uint64_t h = m->idx ? id_hash(r) : 0;

	if (find_dup(m, r, h)) {
		char *id = kz_res_id_str(r);
		gs_error_at(err, GS_ECONFLICT, mf_node_pos(r->obj),
			    "may not add resource with an already registered id: %s", id);
		free(id);
		kz_res_free(r);
		return GS_ECONFLICT;
	}
	GS_ALLOC_GROW(m->v, m->n + 1, m->alloc);
	m->v[m->n++] = r;
	if (m->idx)
		gs_hidx_put(m->idx, h, m->n - 1);
	return GS_OK;
}

int kz_resmap_add_copies(struct kz_resmap *dst, const struct kz_resmap *src,
			 struct gs_error *err)
{
	size_t i;
	bool indexed = dst->idx != NULL;
	int rc = GS_OK;

	if (!dst->n) {
		/* src's ids are distinct already: no checks (linear, not quadratic) */
		GS_ALLOC_GROW(dst->v, src->n, dst->alloc);
		for (i = 0; i < src->n; i++)
			dst->v[dst->n++] = kz_res_clone(src->v[i]);
		if (indexed) {
			kz_resmap_index_end(dst);
			kz_resmap_index_begin(dst);
		}
		return GS_OK;
	}
	kz_resmap_index_begin(dst);
	for (i = 0; rc == GS_OK && i < src->n; i++)
		rc = kz_resmap_add(dst, kz_res_clone(src->v[i]), err);
	if (!indexed)
		kz_resmap_index_end(dst);
	return rc;
}

int kz_resmap_absorb(struct kz_resmap *dst, struct kz_resmap *src, struct gs_error *err)
{
	size_t i;
	int rc = GS_OK;

	for (i = 0; i < src->n; i++) {
		if (rc == GS_OK)
			rc = kz_resmap_add(dst, src->v[i], err);
		else
			kz_res_free(src->v[i]);
		src->v[i] = NULL;
	}
	src->n = 0;
	return rc;
}
