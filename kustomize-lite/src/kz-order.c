/* kz-order.c - kustomize's output order: the legacy kind order (the
 * default), or fifo (resources in the order they were accumulated). */
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"

static const char *const default_first[] = {
	"Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
	"ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
	"ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
	"PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
	"StatefulSet", "CronJob", "PodDisruptionBudget",
};
static const char *const default_last[] = { "MutatingWebhookConfiguration",
					    "ValidatingWebhookConfiguration" };

struct sort_item {
	struct kz_res *r;
	long rank;     /* negative: orderFirst, 0: others, positive: orderLast */
	char *gvk;     /* "group_version_kind" with "~G" for the core group */
	char *rest;    /* "namespace|name" as in kustomize's ResId.String() */
};

static int item_cmp(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if ((c = strcmp(x->gvk, y->gvk)) != 0)
		return c;
	return strcmp(x->rest, y->rest);
}

static long rank_of(const char *kind, const char *const *first, size_t nfirst,
		    const char *const *last, size_t nlast)
{
	size_t i;

	for (i = 0; i < nfirst; i++)
		if (!strcmp(first[i], kind))
			return (long)i - (long)nfirst;
	for (i = 0; i < nlast; i++)
		if (!strcmp(last[i], kind))
			return (long)i + 1;
	return 0;
}

static const char **str_list(const struct mf_node *seq, size_t *n)
{
	const char **v;
	size_t i;

	*n = mf_node_len(seq);
	v = gs_calloc(*n + 1, sizeof(*v));
	for (i = 0; i < *n; i++)
		v[i] = mf_node_str(mf_node_at(seq, i)) ? mf_node_str(mf_node_at(seq, i)) : "";
	return v;
}

int kz_sort(struct kz_resmap *m, const struct mf_node *opts, struct gs_error *err)
{
	const char *order = mf_node_str(mf_node_get(opts, "order"));
	const struct mf_node *legacy = mf_node_get(opts, "legacySortOptions");
	const char *const *first = default_first, *const *last = default_last;
	const char **cf = NULL, **cl = NULL;
	size_t nfirst = sizeof(default_first) / sizeof(default_first[0]);
	size_t nlast = sizeof(default_last) / sizeof(default_last[0]);
	struct sort_item *items;
	size_t i;

	if (order && !strcmp(order, "fifo")) {
		if (legacy && mf_node_type(legacy) != MF_NULL)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(legacy),
					   "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'");
		return GS_OK;
	}
	if (order && *order && strcmp(order, "legacy"))
		return gs_error_at(err, GS_EINVAL, mf_node_pos(mf_node_get(opts, "order")),
				   "unknown sort order '%s' (want legacy or fifo)", order);
	if (legacy && mf_node_type(legacy) == MF_MAP) {
		cf = str_list(mf_node_get(legacy, "orderFirst"), &nfirst);
		cl = str_list(mf_node_get(legacy, "orderLast"), &nlast);
		first = cf;
		last = cl;
	}
	items = gs_calloc(m->n + 1, sizeof(*items));
	for (i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		const char *av = mf_obj_api_version(r->obj), *slash = av ? strchr(av, '/') : NULL;
		const char *kind = mf_obj_kind(r->obj);

		items[i].r = r;
		items[i].rank = rank_of(kind, first, nfirst, last, nlast);
		if (slash)
			items[i].gvk = gs_asprintf("%.*s_%s_%s", (int)(slash - av), av, slash + 1, kind);
		else
			items[i].gvk = gs_asprintf("~G_%s_%s", av && *av ? av : "~V", kind);
		items[i].rest = gs_asprintf("%s|%s",
					    mf_obj_namespace(r->obj) && *mf_obj_namespace(r->obj)
						    ? mf_obj_namespace(r->obj) : "~X",
					    mf_obj_name(r->obj) && *mf_obj_name(r->obj) ? mf_obj_name(r->obj) : "~N");
	}
	if (m->n > 1)
		qsort(items, m->n, sizeof(*items), item_cmp);
	for (i = 0; i < m->n; i++) {
		m->v[i] = items[i].r;
		free(items[i].gvk);
		free(items[i].rest);
	}
	free(items);
	free(cf);
	free(cl);
	return GS_OK;
}
