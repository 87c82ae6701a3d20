/* kz-openapi.c - schema inputs: `openapi:` (merge keys of custom kinds for
 * strategic merge), `crds:` (legacy name references declared with
 * x-kubernetes-object-ref-kind) and `buildMetadata`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"


static const struct mf_node *resolve_ref(const struct mf_node *defs, const struct mf_node *n)
{
	const char *ref = mf_node_str(mf_node_get(n, "$ref"));
	const char *slash;

	if (!ref)
		return n;
	slash = strrchr(ref, '/');
	return mf_node_get(defs, slash ? slash + 1 : ref);
}

static void walk_schema(struct mf_smp_schema *s, const struct mf_node *defs,
			const struct mf_node *node, const char *group, const char *kind,
			const char *path, unsigned depth)
{
	const struct mf_node *props;
	size_t i;

	node = resolve_ref(defs, node);
	if (!node || depth > 32)
		return;
	props = mf_node_get(node, "properties");
	for (i = 0; i < mf_node_len(props); i++) {
		const char *key = mf_node_key(props, i);
		const struct mf_node *p = mf_node_at(props, i);
		const char *mk = mf_node_str(mf_node_get(p, "x-kubernetes-patch-merge-key"));
		const char *strategy = mf_node_str(mf_node_get(p, "x-kubernetes-patch-strategy"));
		char *sub = *path ? gs_asprintf("%s/%s", path, key) : gs_strdup(key);

		if (mk && (!strategy || strstr(strategy, "merge")))
			mf_smp_schema_add(s, group, kind, sub, mk);
		if (mf_node_get(p, "items"))
			walk_schema(s, defs, mf_node_get(p, "items"), group, kind, sub, depth + 1);
		else
			walk_schema(s, defs, p, group, kind, sub, depth + 1);
		free(sub);
	}
}

static int load_openapi(struct kz_ctx *ctx, const char *dir, const struct mf_node *openapi,
			struct gs_error *err)
{
	const struct mf_node *path = mf_node_get(openapi, "path");
	struct mf_docs docs = MF_DOCS_INIT;
	char *p = NULL;
	const struct mf_node *defs;
	size_t i, j;
	int rc;

	if (!path)
		return GS_OK;
	if ((rc = kz_join_restricted(ctx, &p, dir, path, err)) < 0 ||
	    (rc = kz_load_yaml(ctx, &docs, p, err)) < 0)
		goto cleanup;
	defs = docs.n ? mf_node_get(docs.docs[0], "definitions") : NULL;
	if (!ctx->cfg.schema) {
		ctx->cfg.schema = mf_smp_schema_new();
		mf_smp_schema_set_flags(ctx->cfg.schema, MF_SMP_KUSTOMIZE);
	}
	for (i = 0; i < mf_node_len(defs); i++) {
		const struct mf_node *d = mf_node_at(defs, i);
		const struct mf_node *gvks = mf_node_get(d, "x-kubernetes-group-version-kind");

		for (j = 0; j < mf_node_len(gvks); j++) {
			const struct mf_node *g = mf_node_at(gvks, j);
			const char *kind = mf_node_str(mf_node_get(g, "kind"));
			const char *group = mf_node_str(mf_node_get(g, "group"));

			if (kind)
				walk_schema(ctx->cfg.schema, defs, d, group ? group : "", kind, "", 0);
		}
	}
cleanup:
	mf_docs_release(&docs);
	free(p);
	return rc;
}

static void walk_crd(struct kz_config *c, const struct mf_node *defs, const struct mf_node *def,
		     const char *kind, const char *path, unsigned depth)
{
	const struct mf_node *props = mf_node_dig(def, "Schema", "properties", NULL);
	size_t i;

	if (depth > 32)
		return;
	for (i = 0; i < mf_node_len(props); i++) {
		const char *key = mf_node_key(props, i);
		const struct mf_node *p = mf_node_at(props, i);
		const char *refkind = mf_node_str(mf_node_get(p, "x-kubernetes-object-ref-kind"));
		const char *ref = mf_node_str(mf_node_get(p, "$ref"));
		char *sub = *path ? gs_asprintf("%s/%s", path, key) : gs_strdup(key);

		if (refkind) {
			char *np = gs_asprintf("%s/name", sub);
			kz_config_add_nameref(c, NULL, mf_node_str(mf_node_get(p, "x-kubernetes-object-ref-api-version")),
					      refkind, NULL, NULL, kind, np);
			free(np);
		} else if (ref && strcmp(key, "metadata")) {
			const struct mf_node *t = mf_node_get(defs, ref);
			if (t)
				walk_crd(c, defs, t, kind, sub, depth + 1);
		}
		free(sub);
	}
}

static int load_crds(struct kz_ctx *ctx, const char *dir, const struct mf_node *crds,
		     struct gs_error *err)
{
	size_t i, j;
	int rc = GS_OK;

	for (i = 0; rc == GS_OK && i < mf_node_len(crds); i++) {
		struct mf_docs docs = MF_DOCS_INIT;
		char *p = NULL;

		if ((rc = kz_join_restricted(ctx, &p, dir, mf_node_at(crds, i), err)) == GS_OK &&
		    (rc = kz_load_yaml(ctx, &docs, p, err)) == GS_OK && docs.n) {
			const struct mf_node *defs = docs.docs[0];

			for (j = 0; j < mf_node_len(defs); j++) {
				const struct mf_node *d = mf_node_at(defs, j);
				const struct mf_node *props = mf_node_dig(d, "Schema", "properties", NULL);
				const char *key = mf_node_key(defs, j), *dot = strrchr(key, '.');

				if (mf_node_get(props, "kind") && mf_node_get(props, "apiVersion"))
					walk_crd(&ctx->cfg, defs, d, dot ? dot + 1 : key, "", 0);
			}
		}
		mf_docs_release(&docs);
		free(p);
	}
	return rc;
}

int kz_load_openapi(struct kz_ctx *ctx, const char *dir, const struct mf_node *openapi,
		    const struct mf_node *crds, struct gs_error *err)
{
	int rc;

	if (openapi && (rc = load_openapi(ctx, dir, openapi, err)) < 0)
		return rc;
	return crds ? load_crds(ctx, dir, crds, err) : GS_OK;
}

int kz_build_metadata(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *opts,
		      struct gs_error *err)
{
	size_t i, j;
	bool origins = false, transforms = false;

	for (i = 0; i < mf_node_len(opts); i++) {
		const char *o = mf_node_str(mf_node_at(opts, i));

		if (!o)
			continue;
		if (!strcmp(o, "managedByLabel")) {
			for (j = 0; j < m->n; j++)
				mf_obj_set_label(m->v[j]->obj, "app.kubernetes.io/managed-by",
						 "kustomize-v5.7.1");
		} else if (!strcmp(o, "originAnnotations")) {
			origins = true;
		} else if (!strcmp(o, "transformerAnnotations")) {
			transforms = true;
		} else {
			return gs_error_at(err, GS_EINVAL, mf_node_pos(mf_node_at(opts, i)),
					   "unknown buildMetadata option '%s'", o);
		}
	}
	if (ctx->origins)
		kz_origin_annotate(m, origins, transforms);
	return GS_OK;
}
