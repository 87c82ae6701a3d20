/* kz-nameref.c - name references: once every name is final (prefixes,
 * suffixes, hashes), fields that named an object by one of its earlier
 * names are rewritten to its current name, following kustomize's
 * nameReference table (kz-config.c). */
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"

struct ref_ctx {
	struct kz_ctx *ctx;
	struct kz_resmap *m;
	const struct kz_nameref *nr;
	const struct kz_res *referrer;
	bool roleref;
};

static bool ns_eq(const char *a, const char *b)
{
	if (!a || !*a)
		a = "default";
	if (!b || !*b)
		b = "default";
	return !strcmp(a, b);
}

static bool is_target_kind(const struct kz_nameref *nr, const struct kz_res *r)
{
	char g[256];

	if (strcmp(nr->kind, mf_obj_kind(r->obj) ? mf_obj_kind(r->obj) : ""))
		return false;
	if (nr->group && strcmp(nr->group, kz_obj_group(r->obj, g, sizeof(g))))
		return false;
	return true;
}

static const char *eff_ns(const char *ns)
{
	return ns && *ns ? ns : "default";
}

/* Did r have this name before a transformer changed its id?  Like
 * kustomize's PrevIds, only stored ids count: an object no transformer
 * touched is no referral (the namespace transformer stores every id). */
static bool prev_name_is(const struct kz_res *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nprev; i++)
		if (!strcmp(r->prev_name[i], name))
			return true;
	return false;
}

/* kustomize's SubsetThatCouldBeReferencedByResource: a namespaced referrer
 * sees cluster-scoped objects, its own namespace, and (a RoleBinding) the
 * namespaces its ServiceAccount subjects name. */
static bool visible_to(const struct kz_res *referrer, const struct kz_res *cand)
{
	const struct mf_node *subjects;
	const char *cns = mf_obj_namespace(cand->obj);
	size_t i;

	if (kz_res_cluster_scoped(referrer) || kz_res_cluster_scoped(cand))
		return true;
	if (!strcmp(eff_ns(mf_obj_namespace(referrer->obj)), eff_ns(cns)))
		return true;
	if (strcmp(mf_obj_kind(referrer->obj), "RoleBinding"))
		return false;
	subjects = mf_node_get(referrer->obj, "subjects");
	for (i = 0; i < mf_node_len(subjects); i++) {
		const struct mf_node *sub = mf_node_at(subjects, i);
		const char *kind = mf_node_str(mf_node_get(sub, "kind"));
		const char *ns = mf_node_str(mf_node_get(sub, "namespace"));

		if (kind && ns && !strcmp(kind, "ServiceAccount") && !strcmp(ns, cns ? cns : ""))
			return true;
	}
	return false;
}

/* kustomize's sameCurrentNamespaceAsReferrer sieve */
static bool ns_compatible(const struct kz_res *referrer, const struct kz_res *cand)
{
	if (kz_res_cluster_scoped(referrer) || kz_res_cluster_scoped(cand))
		return true;
	if (!strcmp(mf_obj_kind(cand->obj), "ServiceAccount"))
		return true;
	return ns_eq(mf_obj_namespace(referrer->obj), mf_obj_namespace(cand->obj));
}

/* Candidates for a {name, namespace} map naming namespace ns: kustomize
 * groups them by original namespace, else by current namespace. */
enum ns_group { NS_ANY, NS_ORIG, NS_CUR };

static bool candidate(struct ref_ctx *rc, const struct kz_res *r, enum ns_group g, const char *ns)
{
	if (!is_target_kind(rc->nr, r) || !visible_to(rc->referrer, r))
		return false;
	if (g != NS_ANY && kz_res_cluster_scoped(r))
		return false; /* in no namespace group */
	if (g == NS_ORIG && strcmp(eff_ns(kz_res_orig_ns(r)), ns))
		return false;
	if (g == NS_CUR && strcmp(eff_ns(mf_obj_namespace(r->obj)), ns))
		return false;
	return true;
}

/* kustomize's selectReferral: previous name, kind, namespace sieves; one
 * left, or several with the same current name (the first), else ambiguous. */
static const struct kz_res *find_referral(struct ref_ctx *rc, const char *old, enum ns_group g,
					  const char *ns, bool *ambiguous)
{
	const struct kz_res *found = NULL;
	size_t i;

	*ambiguous = false;
	for (i = 0; i < rc->m->n; i++) {
		const struct kz_res *r = rc->m->v[i];

		if (!candidate(rc, r, g, ns) || !prev_name_is(r, old) || !ns_compatible(rc->referrer, r))
			continue;
		if (found && strcmp(mf_obj_name(found->obj), mf_obj_name(r->obj)))
			*ambiguous = true;
		if (!found)
			found = r;
	}
	return found;
}

static int ambiguous_error(struct ref_ctx *rc, const struct mf_node *node, const char *name,
			   struct gs_error *err)
{
	char *id = kz_res_id_str(rc->referrer);

	gs_error_at(err, GS_EINVAL, mf_node_pos(node), "found multiple possible referrals for '%s' in %s",
		    name, id);
	free(id);
	return GS_EINVAL;
}

static int fix_scalar(struct ref_ctx *rc, struct mf_node *node, struct gs_error *err)
{
	const struct kz_res *r;
	bool amb;

	if (mf_node_type(node) != MF_STR)
		return GS_OK;
	r = find_referral(rc, mf_node_str(node), NS_ANY, NULL, &amb);
	if (!r)
		return GS_OK;
	if (amb)
		return ambiguous_error(rc, node, mf_node_str(node), err);
	if (strcmp(mf_node_str(node), mf_obj_name(r->obj)))
		mf_node_set_str(node, mf_obj_name(r->obj));
	return GS_OK;
}

/* {name, namespace} maps: RBAC subjects, webhook and APIService services.
 * As kustomize's setMapping: the subject's kind is not looked at, a given
 * namespace narrows the candidates, and the referral's namespace is
 * written (created) unless empty. */
static int fix_map(struct ref_ctx *rc, struct mf_node *map, struct gs_error *err)
{
	struct mf_node *name = mf_node_get(map, "name");
	struct mf_node *nsn = mf_node_get(map, "namespace");
	const char *ns = mf_node_str(nsn), *rns;
	const struct kz_res *r;
	bool amb;
	size_t i;

	if (mf_node_type(name) != MF_STR)
		return GS_OK;
	if (nsn) {
		/* the original-namespace group if any candidate is in it */
		enum ns_group g = NS_CUR;

		for (i = 0; i < rc->m->n && g == NS_CUR; i++)
			if (candidate(rc, rc->m->v[i], NS_ORIG, ns ? ns : ""))
				g = NS_ORIG;
		r = find_referral(rc, mf_node_str(name), g, ns ? ns : "", &amb);
	} else {
		r = find_referral(rc, mf_node_str(name), NS_ANY, NULL, &amb);
	}
	if (!r)
		return GS_OK;
	if (amb)
		return ambiguous_error(rc, name, mf_node_str(name), err);
	rns = mf_obj_namespace(r->obj);
	if (!strcmp(mf_node_str(name), mf_obj_name(r->obj)) && !(rns && *rns))
		return GS_OK;
	mf_node_set_str(name, mf_obj_name(r->obj));
	if (rns && *rns)
		mf_node_set_str_value(map, "namespace", rns);
	return GS_OK;
}

static int ref_cb(struct mf_node *parent, const char *key, struct mf_node *node, void *payload,
		  struct gs_error *err)
{
	struct ref_ctx *rc = payload;
	size_t i;
	int r;

	(void)key;

	if (rc->roleref) {
		const char *kind = mf_node_str(mf_node_get(parent, "kind"));
		if (!kind || strcmp(kind, rc->nr->kind))
			return GS_OK;
	}
	switch (mf_node_type(node)) {
	case MF_STR:
		return fix_scalar(rc, node, err);
	case MF_SEQ:
		for (i = 0; i < mf_node_len(node); i++) {
			struct mf_node *e = mf_node_at(node, i);

			if (mf_node_type(e) == MF_MAP)
				r = fix_map(rc, e, err);
			else
				r = fix_scalar(rc, e, err);
			if (r < 0)
				return r;
		}
		return GS_OK;
	case MF_MAP:
		return fix_map(rc, node, err);
	default:
		return GS_OK;
	}
}

int kz_nameref_fix(struct kz_ctx *ctx, struct kz_resmap *m, struct gs_error *err)
{
	size_t i, k, s;
	int rc;

	for (k = 0; k < ctx->cfg.n_nameref; k++) {
		const struct kz_nameref *nr = &ctx->cfg.nameref[k];
		bool renamed = false;

		/* nothing of this kind changed name or namespace: nothing to follow */
		for (i = 0; i < m->n && !renamed; i++)
			renamed = m->v[i]->nprev && is_target_kind(nr, m->v[i]);
		if (!renamed)
			continue;
		for (i = 0; i < m->n; i++) {
			struct ref_ctx rctx = { ctx, m, nr, m->v[i], false };

			for (s = 0; s < nr->referrers.n; s++) {
				const struct kz_fieldspec *f = &nr->referrers.v[s];
				size_t pl = strlen(f->path);

				if (!kz_fieldspec_matches(f, m->v[i]->obj))
					continue;
				rctx.roleref = pl >= 12 && !strcmp(f->path + pl - 12, "roleRef/name");
				if ((rc = kz_fieldspec_apply(f, m->v[i]->obj, MF_NULL, ref_cb, &rctx,
							     err)) < 0)
					return rc;
			}
		}
	}
	return GS_OK;
}
