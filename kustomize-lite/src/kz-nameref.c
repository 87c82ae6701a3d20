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

/* kustomize's sameCurrentNamespaceAsReferrer sieve */
static bool ns_compatible(const struct kz_res *referrer, const struct kz_res *cand)
{
	if (kz_res_cluster_scoped(referrer) || kz_res_cluster_scoped(cand))
		return true;
	if (!strcmp(mf_obj_kind(cand->obj), "ServiceAccount"))
		return true;
	return ns_eq(mf_obj_namespace(referrer->obj), mf_obj_namespace(cand->obj));
}

static const struct kz_res *find_referral(struct ref_ctx *rc, const char *old, const char *ns,
					  bool use_ns, bool *ambiguous)
{
	const struct kz_res *found = NULL;
	size_t i, j;

	*ambiguous = false;
	for (i = 0; i < rc->m->n; i++) {
		const struct kz_res *r = rc->m->v[i];
		bool hit = false;

		if (!is_target_kind(rc->nr, r))
			continue;
		if (use_ns) {
			const char *cn = mf_obj_name(r->obj), *cns = mf_obj_namespace(r->obj);
			if (cn && !strcmp(cn, old) && ns_eq(cns, ns))
				hit = true;
			for (j = 0; !hit && j < r->nprev; j++)
				if (!strcmp(r->prev_name[j], old) && ns_eq(r->prev_ns[j], ns))
					hit = true;
		} else {
			hit = kz_res_had_name(r, old) && ns_compatible(rc->referrer, r);
		}
		if (!hit)
			continue;
		if (found && strcmp(mf_obj_name(found->obj), mf_obj_name(r->obj)))
			*ambiguous = true;
		if (!found)
			found = r;
	}
	return found;
}

static int fix_scalar(struct ref_ctx *rc, struct mf_node *node, struct gs_error *err)
{
	const struct kz_res *r;
	bool amb;

	if (mf_node_type(node) != MF_STR)
		return GS_OK;
	r = find_referral(rc, mf_node_str(node), NULL, false, &amb);
	if (!r)
		return GS_OK;
	if (amb) {
		char *id = kz_res_id_str(rc->referrer);
		gs_error_at(err, GS_EINVAL, mf_node_pos(node),
			    "found multiple possible referrals for '%s' in %s", mf_node_str(node), id);
		free(id);
		return GS_EINVAL;
	}
	if (strcmp(mf_node_str(node), mf_obj_name(r->obj)))
		mf_node_set_str(node, mf_obj_name(r->obj));
	return GS_OK;
}

/* {name, namespace} maps: RBAC subjects and webhook services. */
static int fix_map(struct ref_ctx *rc, struct mf_node *map, bool subject, struct gs_error *err)
{
	struct mf_node *name = mf_node_get(map, "name");
	struct mf_node *nsn = mf_node_get(map, "namespace");
	const char *ns = mf_node_str(nsn);
	const struct kz_res *r;
	bool amb;

	if (mf_node_type(name) != MF_STR)
		return GS_OK;
	if (subject) {
		const char *kind = mf_node_str(mf_node_get(map, "kind"));
		if (!kind || strcmp(kind, rc->nr->kind))
			return GS_OK;
		if (nsn && ns && !*ns)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(nsn),
					   "subject '%s' has a blank namespace", mf_node_str(name));
	}
	r = find_referral(rc, mf_node_str(name), ns ? ns : mf_obj_namespace(rc->referrer->obj),
			  ns != NULL || subject, &amb);
	if (!r && subject && !ns)
		r = find_referral(rc, mf_node_str(name), NULL, false, &amb);
	if (!r)
		return GS_OK;
	(void)err;
	mf_node_set_str(name, mf_obj_name(r->obj));
	if (mf_obj_namespace(r->obj) && (nsn || subject))
		mf_node_set_str_value(map, "namespace", mf_obj_namespace(r->obj));
	return GS_OK;
}

static int ref_cb(struct mf_node *parent, const char *key, struct mf_node *node, void *payload,
		  struct gs_error *err)
{
	struct ref_ctx *rc = payload;
	size_t i;
	int r;

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
				r = fix_map(rc, e, !strcmp(key, "subjects"), err);
			else
				r = fix_scalar(rc, e, err);
			if (r < 0)
				return r;
		}
		return GS_OK;
	case MF_MAP:
		return fix_map(rc, node, false, err);
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
