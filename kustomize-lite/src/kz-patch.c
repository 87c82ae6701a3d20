/* kz-patch.c - patchesStrategicMerge, patches and patchesJson6902, with
 * kustomize's target selection (selectors, anchored name regexes, label and
 * annotation selectors) on top of mf_patch_strategic / mf_patch_json6902. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"


static const struct mf_smp_schema *schema_of(struct kz_ctx *ctx)
{
	if (!ctx->cfg.schema) {
		ctx->cfg.schema = mf_smp_schema_new();
		mf_smp_schema_set_flags(ctx->cfg.schema, MF_SMP_KUSTOMIZE);
	}
	return ctx->cfg.schema;
}

/* ---- selectors ---- */

static bool regex_full_match(const char *pattern, const char *s, bool *bad)
{
	regex_t re;
	char *anchored;
	bool ok;

	if (!*pattern)
		return true;
	anchored = gs_asprintf("^(%s)$", pattern);
	if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB)) {
		free(anchored);
		*bad = true;
		return false;
	}
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	free(anchored);
	return ok;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return gs_strndup(s, n);
}

/* Kubernetes label selector syntax: "a=b,c!=d,e in (x,y),f notin (z),g,!h". */
static int match_selector_expr(bool *out, const char *expr, const struct mf_node *labels,
			       const struct mf_pos *pos, struct gs_error *err)
{
	const char *p = expr;

	*out = true;
	while (*p) {
		const char *start = p, *end;
		int depth = 0;
		char *term, *op;
		const char *val;

		for (end = p; *end && (depth || *end != ','); end++)
			depth += *end == '(' ? 1 : *end == ')' ? -1 : 0;
		term = trim_dup(start, (size_t)(end - start));
		p = *end ? end + 1 : end;
		if (!*term) {
			free(term);
			continue;
		}
		if (term[0] == '!') {
			char *k = trim_dup(term + 1, strlen(term + 1));
			if (mf_node_get(labels, k))
				*out = false;
			free(k);
		} else if ((op = strstr(term, "!=")) != NULL) {
			char *k = trim_dup(term, (size_t)(op - term)), *v = trim_dup(op + 2, strlen(op + 2));
			val = mf_node_str(mf_node_get(labels, k));
			if (val && !strcmp(val, v))
				*out = false;
			free(k);
			free(v);
		} else if ((op = strchr(term, '=')) != NULL) {
			const char *vs = op[1] == '=' ? op + 2 : op + 1;
			char *k = trim_dup(term, (size_t)(op - term)), *v = trim_dup(vs, strlen(vs));
			val = mf_node_str(mf_node_get(labels, k));
			if (!val || strcmp(val, v))
				*out = false;
			free(k);
			free(v);
		} else if ((op = strstr(term, " notin ")) != NULL || (op = strstr(term, " in ")) != NULL) {
			bool notin = !strncmp(op, " notin ", 7);
			char *k = trim_dup(term, (size_t)(op - term));
			const char *lp = strchr(op, '('), *rp = strrchr(op, ')');
			bool found = false;

			if (!lp || !rp || rp < lp) {
				free(k);
				free(term);
				return gs_error_at(err, GS_EINVAL, pos, "invalid selector '%s'", expr);
			}
			val = mf_node_str(mf_node_get(labels, k));
			for (lp++; val && lp < rp;) {
				const char *c = memchr(lp, ',', (size_t)(rp - lp));
				char *item = trim_dup(lp, (size_t)((c ? c : rp) - lp));
				if (!strcmp(item, val))
					found = true;
				free(item);
				lp = c ? c + 1 : rp;
			}
			if (notin ? found : !found)
				*out = false;
			free(k);
		} else {
			if (!mf_node_get(labels, term))
				*out = false;
		}
		free(term);
	}
	return GS_OK;
}

static bool eq_or_unset(const char *want, const char *have)
{
	return !want || !*want || !strcmp(want, have ? have : "");
}

static const char *effective_ns(const struct kz_res *r, const char *ns)
{
	if (kz_res_cluster_scoped(r))
		return "";
	return ns && *ns ? ns : "default";
}

int kz_selector_match(bool *out, const struct mf_node *sel, const struct kz_res *r,
		      struct gs_error *err)
{
	const char *group = mf_node_str(mf_node_get(sel, "group"));
	const char *version = mf_node_str(mf_node_get(sel, "version"));
	const char *kind = mf_node_str(mf_node_get(sel, "kind"));
	const char *name = mf_node_str(mf_node_get(sel, "name"));
	const char *ns = mf_node_str(mf_node_get(sel, "namespace"));
	const char *ls = mf_node_str(mf_node_get(sel, "labelSelector"));
	const char *as = mf_node_str(mf_node_get(sel, "annotationSelector"));
	const char *av = mf_obj_api_version(r->obj), *slash;
	char g[256];
	bool bad = false;
	int rc;

	*out = false;
	kz_obj_group(r->obj, g, sizeof(g));
	slash = av ? strchr(av, '/') : NULL;
	if (!eq_or_unset(group, g) || !eq_or_unset(kind, mf_obj_kind(r->obj)) ||
	    !eq_or_unset(version, slash ? slash + 1 : av))
		return GS_OK;
	if (name && *name && !regex_full_match(name, mf_obj_name(r->obj) ? mf_obj_name(r->obj) : "", &bad) &&
	    !regex_full_match(name, kz_res_orig_name(r), &bad)) {
		if (bad)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(sel), "invalid name regex '%s'", name);
		return GS_OK;
	}
	if (ns && *ns && !regex_full_match(ns, effective_ns(r, mf_obj_namespace(r->obj)), &bad) &&
	    !regex_full_match(ns, effective_ns(r, kz_res_orig_ns(r)), &bad))
		return GS_OK;
	if (ls && *ls) {
		if ((rc = match_selector_expr(out, ls, mf_node_dig(r->obj, "metadata", "labels", NULL),
					      mf_node_pos(sel), err)) < 0 || !*out)
			return rc;
	}
	if (as && *as) {
		if ((rc = match_selector_expr(out, as,
					      mf_node_dig(r->obj, "metadata", "annotations", NULL),
					      mf_node_pos(sel), err)) < 0 || !*out)
			return rc;
	}
	*out = true;
	return GS_OK;
}

/* ---- applying one patch ---- */

static bool ns_equal(const char *a, const char *b)
{
	if (!a || !*a)
		a = "default";
	if (!b || !*b)
		b = "default";
	return !strcmp(a, b);
}

/* Does the patch's own id (gvk, name, namespace) name r, now or before? */
static bool patch_names(const struct mf_node *patch, const struct kz_res *r)
{
	const char *name = mf_obj_name(patch), *ns = mf_obj_namespace(patch);
	const char *pav = mf_obj_api_version(patch), *rav = mf_obj_api_version(r->obj);
	size_t i;
	bool cluster = kz_res_cluster_scoped(r);

	if (!name || strcmp(mf_obj_kind(patch) ? mf_obj_kind(patch) : "", mf_obj_kind(r->obj)) ||
	    strcmp(pav ? pav : "", rav ? rav : ""))
		return false;
	if (!strcmp(name, mf_obj_name(r->obj) ? mf_obj_name(r->obj) : "") &&
	    (cluster || ns_equal(ns, mf_obj_namespace(r->obj))))
		return true;
	for (i = 0; i < r->nprev; i++)
		if (!strcmp(name, r->prev_name[i]) && (cluster || ns_equal(ns, r->prev_ns[i])))
			return true;
	return false;
}

static int apply_smp(struct kz_ctx *ctx, struct kz_resmap *m, size_t idx,
		     const struct mf_node *patch, bool keep_id, struct gs_error *err)
{
	struct kz_res *r = m->v[idx];
	struct mf_node *p = mf_node_clone(patch);
	char *old_name = gs_strdup(mf_obj_name(r->obj) ? mf_obj_name(r->obj) : "");
	char *old_ns = NULL;
	const char *dir;
	int rc;

	if (keep_id) {
		/* the patch's id only selects: the object keeps its own */
		struct mf_node *md = mf_node_get(p, "metadata");
		if (mf_node_type(md) == MF_MAP) {
			mf_node_set_str_value(md, "name", old_name);
			if (mf_obj_namespace(r->obj))
				mf_node_set_str_value(md, "namespace", mf_obj_namespace(r->obj));
			else
				mf_node_remove(md, "namespace");
		}
		if (mf_node_get(p, "kind"))
			mf_node_set_str_value(p, "kind", mf_obj_kind(r->obj));
		if (mf_node_get(p, "apiVersion"))
			mf_node_set_str_value(p, "apiVersion", mf_obj_api_version(r->obj));
	}
	dir = mf_node_str(mf_node_get(p, "$patch"));
	if (dir && !strcmp(dir, "delete")) {
		kz_res_free(m->v[idx]);
		memmove(&m->v[idx], &m->v[idx + 1], (m->n - idx - 1) * sizeof(m->v[0]));
		m->n--;
		rc = 1;
		goto cleanup;
	}
	old_ns = mf_obj_namespace(r->obj) ? gs_strdup(mf_obj_namespace(r->obj)) : NULL;
	rc = mf_patch_strategic(r->obj, p, schema_of(ctx), err);
	if (rc == GS_OK && !keep_id) {
		/* allowNameChange lets the name change, never the namespace */
		struct mf_node *md = mf_node_get(r->obj, "metadata");

		if (old_ns)
			mf_node_set_str_value(md, "namespace", old_ns);
		else if (mf_node_type(md) == MF_MAP)
			mf_node_remove(md, "namespace");
	}
	if (rc == GS_OK && mf_obj_name(r->obj) && strcmp(old_name, mf_obj_name(r->obj))) {
		/* record the rename so references can follow it */
		char *nn = gs_strdup(mf_obj_name(r->obj));
		mf_obj_set_name(r->obj, old_name);
		kz_res_set_name(r, nn);
		free(nn);
	}
cleanup:
	free(old_name);
	free(old_ns);
	mf_node_free(p);
	return rc;
}

static int apply_json(struct kz_resmap *m, size_t idx, const struct mf_node *ops,
		      struct gs_error *err)
{
	struct kz_res *r = m->v[idx];
	char *old_name = gs_strdup(mf_obj_name(r->obj) ? mf_obj_name(r->obj) : "");
	int rc = mf_patch_json6902(r->obj, ops, err);

	if (rc == GS_OK && mf_obj_name(r->obj) && strcmp(old_name, mf_obj_name(r->obj))) {
		char *nn = gs_strdup(mf_obj_name(r->obj));
		mf_obj_set_name(r->obj, old_name);
		kz_res_set_name(r, nn);
		free(nn);
	}
	free(old_name);
	return rc;
}

/* A patch naming its target by its own id: kustomize finds the object by
 * current or original id and then, unless allowNameChange, keeps the
 * object's current name and namespace (resource.ApplySmPatch). */
static int apply_untargeted(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *patch,
			    bool keep_id, struct gs_error *err)
{
	size_t i, found = 0, idx = 0;
	int rc;

	if (mf_node_type(patch) != MF_MAP)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(patch),
				   "a strategic merge patch must be a map");
	for (i = 0; i < m->n; i++)
		if (patch_names(patch, m->v[i])) {
			found++;
			idx = i;
		}
	if (found != 1)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(patch),
				   found ? "multiple matches for patch %s/%s"
					 : "no resource matches strategic merge patch \"%s/%s\"",
				   mf_obj_kind(patch) ? mf_obj_kind(patch) : "",
				   mf_obj_name(patch) ? mf_obj_name(patch) : "");
	rc = apply_smp(ctx, m, idx, patch, keep_id, err);
	return rc < 0 ? rc : GS_OK;
}

/* Positions in an inline patch count from its own first line: move them
 * to the kustomization's lines so that errors point into the patch. */
static void shift_lines(struct mf_node *n, unsigned delta)
{
	struct mf_pos pos = *mf_node_pos(n);
	size_t i;

	if (pos.line)
		pos.line += delta;
	mf_node_set_pos(n, &pos);
	if (mf_node_type(n) == MF_MAP || mf_node_type(n) == MF_SEQ)
		for (i = 0; i < mf_node_len(n); i++)
			shift_lines(mf_node_at(n, i), delta);
}

/* Load a patch: inline text or a file relative to dir. */
static int load_patch(struct kz_ctx *ctx, struct mf_docs *docs, const struct mf_node *entry,
		      bool is_inline, const char *dir, struct gs_error *err)
{
	const char *s = mf_node_str(entry);
	char *path = NULL;
	int rc;

	if (!s)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(entry), "patch must be a string");
	if (is_inline) {
		const char *file = mf_node_pos(entry)->file;
		unsigned line = mf_node_pos(entry)->line;
		size_t i;

		rc = kz_parse_yaml(ctx, docs, s, mf_node_strlen(entry), file ? file : "<inline patch>", err);
		if (rc < 0) {
			gs_error_wrap(err, "inline patch");
			return rc;
		}
		/* a block scalar's text starts on the line after its key */
		for (i = 0; line && i < docs->n; i++)
			shift_lines(docs->docs[i], strchr(s, '\n') ? line : line - 1);
		return rc;
	}
	if ((rc = kz_join_restricted(ctx, &path, dir, entry, err)) < 0)
		return rc;
	if (kz_fs_stat(ctx->fs, path) != KZ_FS_FILE)
		rc = gs_error_at(err, GS_ENOTFOUND, mf_node_pos(entry), "patch file '%s' not found", s);
	else
		rc = kz_load_yaml(ctx, docs, path, err);
	free(path);
	return rc;
}

int kz_patches_strategic(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *list,
			 const char *dir, struct gs_error *err)
{
	size_t i, j;
	int rc = GS_OK;

	for (i = 0; rc == GS_OK && i < mf_node_len(list); i++) {
		const struct mf_node *e = mf_node_at(list, i);
		const char *s = mf_node_str(e);
		struct mf_docs docs = MF_DOCS_INIT;
		bool is_inline = s && (strchr(s, '\n') || strchr(s, '{'));

		rc = load_patch(ctx, &docs, e, is_inline, dir, err);
		for (j = 0; rc == GS_OK && j < docs.n; j++)
			rc = apply_untargeted(ctx, m, docs.docs[j], true, err);
		mf_docs_release(&docs);
	}
	return rc;
}

int kz_patches(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *list,
	       const char *dir, bool json6902_only, struct gs_error *err)
{
	size_t i, j, r;
	int rc = GS_OK;

	for (i = 0; rc == GS_OK && i < mf_node_len(list); i++) {
		const struct mf_node *e = mf_node_at(list, i);
		const struct mf_node *path = mf_node_get(e, "path"), *inl = mf_node_get(e, "patch");
		const struct mf_node *target = mf_node_get(e, "target");
		const struct mf_node *opts = mf_node_get(e, "options");
		bool keep_id = !mf_node_bool(mf_node_get(opts, "allowNameChange"));
		struct mf_docs docs = MF_DOCS_INIT;
		bool is_json;

		if (mf_node_str(path) && *mf_node_str(path) && mf_node_str(inl) && *mf_node_str(inl)) {
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(e),
					 "patch and path can't be set at the same time");
			break;
		}
		if (!(mf_node_str(path) && *mf_node_str(path)) && !(mf_node_str(inl) && *mf_node_str(inl))) {
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(e),
					 "must specify one of patch and path in a patch entry");
			break;
		}
		rc = load_patch(ctx, &docs, mf_node_str(path) && *mf_node_str(path) ? path : inl,
				!(mf_node_str(path) && *mf_node_str(path)), dir, err);
		if (rc < 0)
			break;
		if (docs.n == 0) {
			mf_docs_release(&docs);
			continue;
		}
		is_json = mf_node_type(docs.docs[0]) == MF_SEQ;
		if (json6902_only && !is_json) {
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(docs.docs[0]),
					 "patchesJson6902 needs a list of JSON patch operations");
			mf_docs_release(&docs);
			break;
		}
		if (!target || mf_node_type(target) == MF_NULL) {
			if (is_json)
				rc = gs_error_at(err, GS_EINVAL, mf_node_pos(e),
						 "a JSON 6902 patch needs a target");
			for (j = 0; rc == GS_OK && j < docs.n; j++)
				rc = apply_untargeted(ctx, m, docs.docs[j], keep_id, err);
			mf_docs_release(&docs);
			continue;
		}
		for (r = 0; rc == GS_OK && r < m->n;) {
			bool match = false;

			if ((rc = kz_selector_match(&match, target, m->v[r], err)) < 0)
				break;
			if (!match) {
				r++;
				continue;
			}
			if (is_json) {
				rc = apply_json(m, r, docs.docs[0], err);
				if (rc < 0) {
					char *id = kz_res_id_str(m->v[r]);
					gs_error_wrap(err, "patch %zu on %s", i + 1, id);
					free(id);
				}
				r++;
				continue;
			}
			for (j = 0; rc == GS_OK && j < docs.n; j++) {
				rc = apply_smp(ctx, m, r, docs.docs[j], keep_id, err);
				if (rc == 1)
					break;
			}
			if (rc == 1)
				rc = GS_OK; /* deleted: r now names the next resource */
			else
				r++;
		}
		mf_docs_release(&docs);
	}
	return rc;
}
