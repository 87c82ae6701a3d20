/* kz-transform.c - the built-in transformers of one kustomization level:
 * namespace, name prefix/suffix, labels, annotations, images, replicas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"

static bool kind_is(const struct kz_res *r, const char *kind)
{
	const char *k = mf_obj_kind(r->obj);
	return k && !strcmp(k, kind);
}

static bool is_cluster_scoped(struct kz_ctx *ctx, const struct kz_res *r)
{
	size_t i;
	const char *k = mf_obj_kind(r->obj);

	if (kz_res_cluster_scoped(r))
		return true;
	for (i = 0; k && i < ctx->cfg.n_cluster_kinds; i++)
		if (!strcmp(ctx->cfg.cluster_kinds[i], k))
			return true;
	return false;
}

/* ---- namespace ---- */

static int set_scalar_cb(struct mf_node *parent, const char *key, struct mf_node *node,
			 void *payload, struct gs_error *err)
{
	(void)parent;
	(void)key;
	(void)err;
	if (mf_node_is_scalar(node)) {
		struct mf_node *fresh = mf_node_new_str(payload);
		mf_node_set_pos(fresh, mf_node_pos(node));
		mf_node_move(node, fresh);
	}
	return GS_OK;
}

int kz_transform_namespace(struct kz_ctx *ctx, struct kz_resmap *m, const char *ns,
			   struct gs_error *err)
{
	size_t i, j, s;
	int rc;

	for (i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];

		/* kustomize stores every object's id here, changed or not: name
		 * references then follow objects already in the namespace */
		kz_res_store_id(r);
		if (kind_is(r, "Namespace") && !strcmp(kz_obj_group(r->obj, (char[8]){0}, 8), "")) {
			mf_obj_set_name(r->obj, ns);
		} else if (!is_cluster_scoped(ctx, r)) {
			mf_obj_set_namespace(r->obj, ns);
		}
		for (s = 0; s < ctx->cfg.ns.n; s++) {
			const struct kz_fieldspec *f = &ctx->cfg.ns.v[s];

			if (!strcmp(f->path, "metadata/namespace") || !kz_fieldspec_matches(f, r->obj))
				continue;
			if ((rc = kz_fieldspec_apply(f, r->obj, MF_STR, set_scalar_cb, (void *)ns,
						     err)) < 0)
				return rc;
		}
		if (kind_is(r, "RoleBinding") || kind_is(r, "ClusterRoleBinding")) {
			struct mf_node *subjects = mf_node_get(r->obj, "subjects");

			for (j = 0; j < mf_node_len(subjects); j++) {
				struct mf_node *sub = mf_node_at(subjects, j);
				const char *name = mf_node_str(mf_node_get(sub, "name"));

				if (mf_node_type(sub) == MF_MAP && name && !strcmp(name, "default"))
					mf_node_set_str_value(sub, "namespace", ns);
			}
		}
	}
	return GS_OK;
}

/* ---- prefix / suffix ---- */

struct affix {
	const char *prefix, *suffix;
};

static int affix_cb(struct mf_node *parent, const char *key, struct mf_node *node, void *payload,
		    struct gs_error *err)
{
	const struct affix *a = payload;
	char *s;

	(void)parent;
	(void)key;
	(void)err;
	if (mf_node_type(node) != MF_STR)
		return GS_OK;
	s = gs_asprintf("%s%s%s", a->prefix ? a->prefix : "", mf_node_str(node),
			a->suffix ? a->suffix : "");
	mf_node_set_str(node, s);
	free(s);
	return GS_OK;
}

int kz_transform_prefix_suffix(struct kz_ctx *ctx, struct kz_resmap *m, const char *prefix,
			       const char *suffix, const struct kz_fslist *specs,
			       struct gs_error *err)
{
	struct affix a = { prefix, suffix };
	size_t i, s;
	int rc;

	if (!specs) {
		/* prefix and suffix are separate field spec sets in kustomize */
		if (prefix && *prefix) {
			struct kz_fslist *l = &ctx->cfg.prefix;
			if ((rc = kz_transform_prefix_suffix(ctx, m, prefix, NULL, l, err)) < 0)
				return rc;
		}
		if (suffix && *suffix)
			return kz_transform_prefix_suffix(ctx, m, NULL, suffix, &ctx->cfg.suffix, err);
		return GS_OK;
	}
	for (i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];

		/* kustomize never renames these: their names are API contracts */
		if (kind_is(r, "Namespace") || kind_is(r, "CustomResourceDefinition") ||
		    kind_is(r, "APIService"))
			continue;
		for (s = 0; s < specs->n; s++) {
			const struct kz_fieldspec *f = &specs->v[s];

			if (!kz_fieldspec_matches(f, r->obj))
				continue;
			if (!strcmp(f->path, "metadata/name")) {
				const char *name = mf_obj_name(r->obj);
				char *n = gs_asprintf("%s%s%s", prefix ? prefix : "", name ? name : "",
						      suffix ? suffix : "");
				kz_res_set_name(r, n);
				free(n);
				continue;
			}
			if ((rc = kz_fieldspec_apply(f, r->obj, MF_NULL, affix_cb, &a, err)) < 0)
				return rc;
		}
	}
	return GS_OK;
}

/* ---- labels and annotations ---- */

static int set_pairs_cb(struct mf_node *parent, const char *key, struct mf_node *node,
			void *payload, struct gs_error *err)
{
	const struct mf_node *pairs = payload;
	size_t i;

	(void)parent;
	(void)key;
	if (mf_node_type(node) == MF_NULL) {
		mf_node_move(node, mf_node_new(MF_MAP));
	}
	if (mf_node_type(node) != MF_MAP)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(node),
				   "expected a map at '%s' to add labels or annotations", key);
	for (i = 0; i < mf_node_len(pairs); i++) {
		const char *v = mf_node_str(mf_node_at(pairs, i));
		mf_node_set_str_value(node, mf_node_key(pairs, i), v ? v : "");
	}
	return GS_OK;
}

static int apply_pairs(struct kz_resmap *m, const struct mf_node *pairs,
		       const struct kz_fslist *specs, struct gs_error *err)
{
	size_t i, s;
	int rc;

	for (i = 0; i < m->n; i++)
		for (s = 0; s < specs->n; s++) {
			if (!kz_fieldspec_matches(&specs->v[s], m->v[i]->obj))
				continue;
			rc = kz_fieldspec_apply(&specs->v[s], m->v[i]->obj, MF_MAP, set_pairs_cb,
						(void *)pairs, err);
			if (rc < 0)
				return rc;
		}
	return GS_OK;
}

int kz_transform_labels(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *pairs,
			bool selectors, bool templates, const struct kz_fslist *extra,
			struct gs_error *err)
{
	struct kz_fslist meta = { 0 };
	int rc;

	if (!mf_node_len(pairs))
		return GS_OK;
	if (selectors)
		rc = apply_pairs(m, pairs, &ctx->cfg.common_labels, err);
	else if (templates)
		rc = apply_pairs(m, pairs, &ctx->cfg.template_labels, err);
	else if (extra)
		rc = GS_OK;
	else {
		kz_fslist_add(&meta, NULL, NULL, NULL, "metadata/labels", true);
		rc = apply_pairs(m, pairs, &meta, err);
		kz_fslist_release(&meta);
	}
	if (rc == GS_OK && extra)
		rc = apply_pairs(m, pairs, extra, err);
	return rc;
}

int kz_transform_annotations(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *pairs,
			     const struct kz_fslist *specs, struct gs_error *err)
{
	if (!mf_node_len(pairs))
		return GS_OK;
	return apply_pairs(m, pairs, specs ? specs : &ctx->cfg.annotations, err);
}

/* ---- images ---- */

struct image_rule {
	const char *name, *new_name, *new_tag, *digest, *tag_suffix;
};

/* Does value name the image `name` (optionally with :tag and/or @digest)? */
static bool image_matches(const char *value, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(value, name, n))
		return false;
	return value[n] == '\0' || value[n] == ':' || value[n] == '@';
}

static char *image_update(const char *value, const struct image_rule *ir)
{
	char *name, *tag = NULL, *digest = NULL, *at, *colon, *slash, *res;
	const char *t, *d;

	name = gs_strdup(value);
	if ((at = strchr(name, '@'))) {
		*at = '\0';
		digest = at + 1;
	}
	slash = strrchr(name, '/');
	colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
	}
	t = tag;
	d = digest;
	if (ir->new_tag && *ir->new_tag && ir->digest && *ir->digest) {
		t = ir->new_tag;
		d = ir->digest;
	} else if (ir->new_tag && *ir->new_tag) {
		t = ir->new_tag;
		d = NULL;
	} else if (ir->digest && *ir->digest) {
		d = ir->digest;
		t = NULL;
	}
	res = gs_asprintf("%s%s%s%s%s%s", ir->new_name && *ir->new_name ? ir->new_name : name,
			  t && *t ? ":" : "", t && *t ? t : "",
			  ir->tag_suffix && *ir->tag_suffix && t ? ir->tag_suffix : "",
			  d && *d ? "@" : "", d && *d ? d : "");
	free(name);
	return res;
}

static void update_image_node(struct mf_node *img, const struct image_rule *rules, size_t n)
{
	size_t i;
	const char *v = mf_node_str(img);

	if (mf_node_type(img) != MF_STR)
		return;
	for (i = 0; i < n; i++) {
		if (rules[i].name && image_matches(v, rules[i].name)) {
			char *nv = image_update(v, &rules[i]);
			mf_node_set_str(img, nv);
			free(nv);
			return;
		}
	}
}

static void walk_containers(struct mf_node *n, const struct image_rule *rules, size_t nr,
			    unsigned depth)
{
	size_t i, j;

	if (depth > 100)
		return;
	if (mf_node_type(n) == MF_SEQ) {
		for (i = 0; i < mf_node_len(n); i++)
			walk_containers(mf_node_at(n, i), rules, nr, depth + 1);
		return;
	}
	if (mf_node_type(n) != MF_MAP)
		return;
	for (i = 0; i < mf_node_len(n); i++) {
		const char *key = mf_node_key(n, i);
		struct mf_node *v = mf_node_at(n, i);

		if (!strcmp(key, "containers") || !strcmp(key, "initContainers")) {
			if (mf_node_type(v) == MF_SEQ) {
				for (j = 0; j < mf_node_len(v); j++)
					update_image_node(mf_node_get(mf_node_at(v, j), "image"),
							  rules, nr);
			} else if (mf_node_type(v) == MF_MAP) {
				for (j = 0; j < mf_node_len(v); j++)
					update_image_node(mf_node_get(mf_node_at(v, j), "image"),
							  rules, nr);
				update_image_node(mf_node_get(v, "image"), rules, nr);
			}
		}
		walk_containers(v, rules, nr, depth + 1);
	}
}

struct image_cb_payload {
	const struct image_rule *rules;
	size_t n;
};

static int image_cb(struct mf_node *parent, const char *key, struct mf_node *node, void *payload,
		    struct gs_error *err)
{
	struct image_cb_payload *p = payload;

	(void)parent;
	(void)key;
	(void)err;
	update_image_node(node, p->rules, p->n);
	return GS_OK;
}

int kz_transform_images(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *images,
			struct gs_error *err)
{
	size_t n = mf_node_len(images), i, s;
	struct image_rule *rules;
	int rc = GS_OK;

	if (!n)
		return GS_OK;
	rules = gs_calloc(n, sizeof(*rules));
	for (i = 0; i < n; i++) {
		const struct mf_node *e = mf_node_at(images, i);

		rules[i].name = mf_node_str(mf_node_get(e, "name"));
		rules[i].new_name = mf_node_str(mf_node_get(e, "newName"));
		rules[i].new_tag = mf_node_str(mf_node_get(e, "newTag"));
		rules[i].digest = mf_node_str(mf_node_get(e, "digest"));
		rules[i].tag_suffix = mf_node_str(mf_node_get(e, "tagSuffix"));
	}
	/* kustomize applies one images entry at a time */
	for (i = 0; i < n && rc == GS_OK; i++) {
		size_t r;
		struct image_cb_payload p = { &rules[i], 1 };

		for (r = 0; r < m->n; r++) {
			walk_containers(m->v[r]->obj, &rules[i], 1, 0);
			for (s = 0; s < ctx->cfg.images.n && rc == GS_OK; s++)
				if (kz_fieldspec_matches(&ctx->cfg.images.v[s], m->v[r]->obj))
					rc = kz_fieldspec_apply(&ctx->cfg.images.v[s], m->v[r]->obj,
								MF_NULL, image_cb, &p, err);
		}
	}
	free(rules);
	return rc;
}

/* ---- replicas ---- */

struct replica_payload {
	const struct mf_node *count;
};

static int replica_cb(struct mf_node *parent, const char *key, struct mf_node *node,
		      void *payload, struct gs_error *err)
{
	const struct replica_payload *p = payload;

	(void)err;
	(void)node;
	mf_node_set(parent, key, mf_node_clone(p->count));
	return GS_OK;
}

int kz_transform_replicas(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *replicas,
			  const char *file, struct gs_error *err)
{
	size_t i, r, s;
	int rc;

	(void)file;
	for (i = 0; i < mf_node_len(replicas); i++) {
		const struct mf_node *e = mf_node_at(replicas, i);
		const char *name = mf_node_str(mf_node_get(e, "name"));
		struct replica_payload p = { mf_node_get(e, "count") };
		bool found = false;

		if (!name)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(e), "replicas entry needs a name");
		if (!p.count)
			continue;
		for (r = 0; r < m->n; r++) {
			if (!kz_res_had_name(m->v[r], name))
				continue;
			found = true;
			for (s = 0; s < ctx->cfg.replicas.n; s++) {
				if (!kz_fieldspec_matches(&ctx->cfg.replicas.v[s], m->v[r]->obj))
					continue;
				rc = kz_fieldspec_apply(&ctx->cfg.replicas.v[s], m->v[r]->obj,
							MF_INT, replica_cb, &p, err);
				if (rc < 0)
					return rc;
			}
		}
		if (!found)
			return gs_error_at(err, GS_ENOTFOUND, mf_node_pos(e),
					   "resource with name %s does not match a config with the following GVK [apps_v1_Deployment apps_v1_ReplicaSet apps_v1_StatefulSet v1_ReplicationController]",
					   name);
	}
	return GS_OK;
}
