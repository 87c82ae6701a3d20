/* kz-replace.c - replacements (copy a field of one object into fields of
 * others) and the deprecated vars ($(VAR) substitution). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"


/* Split a kustomize field path on '.' like kyaml's SmarterPathSplitter:
 * "[a.b=c]" stays whole (a list element selector, kept as "[a.b=c"), a
 * bracketed key without '=' ("[example.com/ref]") is a plain map key with
 * the brackets dropped, '\' escapes the next character, and empty segments
 * (a leading '.', as operator scaffolds write) are skipped. */
static char **split_fieldpath(const char *path, size_t *n_out)
{
	char **v = NULL;
	size_t n = 0, alloc = 0;
	const char *p = path;

	while (*p) {
		const char *e;

		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			size_t len;

			e = strchr(p, ']');
			if (!e)
				e = p + strlen(p);
			len = (size_t)(e - p - 1);
			GS_ALLOC_GROW(v, n + 1, alloc);
			if (memchr(p + 1, '=', len))
				v[n++] = gs_asprintf("[%.*s", (int)len, p + 1);
			else
				v[n++] = gs_strndup(p + 1, len);
			p = *e ? e + 1 : e;
		} else {
			/* "ports[0]" and "containers[name=x]" (vars syntax) split at '[' */
			struct gs_buf b = GS_BUF_INIT;

			while (*p && *p != '.' && *p != '[') {
				if (*p == '\\' && p[1])
					p++;
				gs_buf_putc(&b, *p++);
			}
			GS_ALLOC_GROW(v, n + 1, alloc);
			v[n++] = gs_strdup(b.ptr);
			gs_buf_release(&b);
			if (*p == '[')
				continue;
		}
		if (*p == '.')
			p++;
	}
	*n_out = n;
	return v;
}

static void free_segs(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

typedef int (*leaf_cb)(struct mf_node *parent, const char *key, size_t idx, struct mf_node *node,
		       void *payload, struct gs_error *err);

/* Visit every node at segs[i..] under n; with create, build missing maps and
 * call cb with node NULL for the missing leaf. */
static int visit(struct mf_node *n, char **segs, size_t nseg, size_t i, bool create, leaf_cb cb,
		 void *payload, struct gs_error *err)
{
	const char *s = segs[i];
	bool last = i + 1 == nseg;
	size_t j;
	int rc;

	if (s[0] == '[') {
		/* [key=value] selects sequence elements */
		const char *eq = strchr(s, '=');
		bool any = false;

		if (mf_node_type(n) == MF_SEQ && !eq) {
			/* [N]: an index */
			char *end;
			unsigned long idx = strtoul(s + 1, &end, 10);

			if (*end || idx >= mf_node_len(n))
				return GS_OK;
			return last ? cb(n, NULL, idx, mf_node_at(n, idx), payload, err)
				    : visit(mf_node_at(n, idx), segs, nseg, i + 1, create, cb, payload, err);
		}
		if (mf_node_type(n) != MF_SEQ || !eq)
			return GS_OK;
		for (j = 0; j < mf_node_len(n); j++) {
			struct mf_node *e = mf_node_at(n, j);
			char *k = gs_strndup(s + 1, (size_t)(eq - s - 1));
			const char *val = mf_node_str(mf_node_get(e, k));

			free(k);
			if (!val || strcmp(val, eq + 1))
				continue;
			any = true;
			rc = last ? cb(n, NULL, j, e, payload, err)
				  : visit(e, segs, nseg, i + 1, create, cb, payload, err);
			if (rc < 0)
				return rc;
		}
		(void)any;
		return GS_OK;
	}
	if (mf_node_type(n) == MF_SEQ) {
		char *end;
		unsigned long idx;

		if (!strcmp(s, "*")) {
			for (j = 0; j < mf_node_len(n); j++) {
				rc = last ? cb(n, NULL, j, mf_node_at(n, j), payload, err)
					  : visit(mf_node_at(n, j), segs, nseg, i + 1, create, cb,
						  payload, err);
				if (rc < 0)
					return rc;
			}
			return GS_OK;
		}
		idx = strtoul(s, &end, 10);
		if (*end || idx >= mf_node_len(n))
			return GS_OK;
		return last ? cb(n, NULL, idx, mf_node_at(n, idx), payload, err)
			    : visit(mf_node_at(n, idx), segs, nseg, i + 1, create, cb, payload, err);
	}
	if (mf_node_type(n) != MF_MAP)
		return GS_OK;
	if (!strcmp(s, "*")) {
		for (j = 0; j < mf_node_len(n); j++) {
			rc = last ? cb(n, mf_node_key(n, j), j, mf_node_at(n, j), payload, err)
				  : visit(mf_node_at(n, j), segs, nseg, i + 1, create, cb, payload, err);
			if (rc < 0)
				return rc;
		}
		return GS_OK;
	}
	{
		struct mf_node *c = mf_node_get(n, s);

		if (last)
			return c || create ? cb(n, s, 0, c, payload, err) : GS_OK;
		if (!c || mf_node_type(c) == MF_NULL) {
			if (!create)
				return GS_OK;
			mf_node_set(n, s, mf_node_new(segs[i + 1][0] == '[' ? MF_SEQ : MF_MAP));
			c = mf_node_get(n, s);
		}
		return visit(c, segs, nseg, i + 1, create, cb, payload, err);
	}
}

static int first_cb(struct mf_node *parent, const char *key, size_t idx, struct mf_node *node,
		    void *payload, struct gs_error *err)
{
	struct mf_node **out = payload;

	(void)parent;
	(void)key;
	(void)idx;
	(void)err;
	if (!*out)
		*out = node;
	return GS_OK;
}

struct mf_node *kz_field_path_get(struct mf_node *obj, const char *path)
{
	size_t n;
	char **segs = split_fieldpath(path, &n);
	struct mf_node *found = NULL;

	if (n)
		visit(obj, segs, n, 0, false, first_cb, &found, NULL);
	free_segs(segs, n);
	return found;
}

/* ---- replacements ---- */

struct repl {
	const struct mf_node *value;
	const char *delimiter;
	long long index;
	bool counted;
};

static char *split_part(const char *s, const char *delim, long long index, char ***parts_out,
			size_t *n_out)
{
	char **parts = NULL;
	size_t n = 0, alloc = 0, dl = strlen(delim);
	const char *p = s, *e;

	while (1) {
		e = dl ? strstr(p, delim) : NULL;
		GS_ALLOC_GROW(parts, n + 1, alloc);
		parts[n++] = gs_strndup(p, e ? (size_t)(e - p) : strlen(p));
		if (!e)
			break;
		p = e + dl;
	}
	*parts_out = parts;
	*n_out = n;
	if (index < 0 || (size_t)index >= n)
		return NULL;
	return parts[index];
}

static int set_cb(struct mf_node *parent, const char *key, size_t idx, struct mf_node *node,
		  void *payload, struct gs_error *err)
{
	struct repl *r = payload;
	struct mf_node *val;

	r->counted = true;
	if (r->delimiter && *r->delimiter) {
		char **parts = NULL;
		size_t n = 0, i;
		const char *cur;

		if (!node && key) {
			/* created (options.create): kustomize splits an empty scalar */
			mf_node_set(parent, key, mf_node_new_str(""));
			node = mf_node_get(parent, key);
		}
		cur = mf_node_str(node);
		struct gs_buf b = GS_BUF_INIT;

		if (!cur || !mf_node_str(r->value))
			return gs_error_at(err, GS_EINVAL, mf_node_pos(node),
					   "delimiter option can only be used with scalar strings");
		split_part(cur, r->delimiter, 0, &parts, &n);
		for (i = 0; i < n; i++) {
			if (i)
				gs_buf_puts(&b, r->delimiter);
			gs_buf_puts(&b, (long long)i == r->index ? mf_node_str(r->value) : parts[i]);
		}
		if (r->index >= (long long)n) {
			gs_buf_puts(&b, r->delimiter);
			gs_buf_puts(&b, mf_node_str(r->value));
		} else if (r->index < 0) {
			struct gs_buf c = GS_BUF_INIT;
			gs_buf_puts(&c, mf_node_str(r->value));
			gs_buf_puts(&c, r->delimiter);
			gs_buf_puts(&c, b.ptr);
			gs_buf_release(&b);
			b = c;
		}
		for (i = 0; i < n; i++)
			free(parts[i]);
		free(parts);
		mf_node_set_str(node, b.ptr);
		gs_buf_release(&b);
		return GS_OK;
	}
	/* an existing string field keeps being a string: kustomize sets the
	 * scalar's value and keeps its tag */
	if (node && mf_node_type(node) == MF_STR && mf_node_is_scalar(r->value) &&
	    mf_node_str(r->value)) {
		mf_node_set_str(node, mf_node_str(r->value));
		return GS_OK;
	}
	val = mf_node_clone(r->value);
	if (key)
		mf_node_set(parent, key, val);
	else
		mf_node_replace_at(parent, idx, val);
	return GS_OK;
}

static int select_one(struct kz_resmap *m, const struct mf_node *sel, struct kz_res **out,
		      struct gs_error *err)
{
	size_t i, n = 0;
	int rc;

	*out = NULL;
	for (i = 0; i < m->n; i++) {
		bool match;

		if ((rc = kz_selector_match(&match, sel, m->v[i], err)) < 0)
			return rc;
		if (match) {
			n++;
			*out = m->v[i];
		}
	}
	if (n != 1)
		return gs_error_at(err, n ? GS_EINVAL : GS_ENOTFOUND, mf_node_pos(sel),
				   n ? "multiple matches for replacement source selector"
				     : "nothing selected by replacement source %s/%s",
				   mf_node_str(mf_node_get(sel, "kind")) ? mf_node_str(mf_node_get(sel, "kind")) : "",
				   mf_node_str(mf_node_get(sel, "name")) ? mf_node_str(mf_node_get(sel, "name")) : "");
	return GS_OK;
}

static int apply_replacement(struct kz_resmap *m, const struct mf_node *rep, struct gs_error *err)
{
	const struct mf_node *src = mf_node_get(rep, "source");
	const struct mf_node *targets = mf_node_get(rep, "targets");
	const char *fp = mf_node_str(mf_node_get(src, "fieldPath"));
	const struct mf_node *sopts = mf_node_get(src, "options");
	struct kz_res *sr = NULL;
	struct mf_node *value, *tmp = NULL;
	size_t t, r, f, k;
	int rc;

	if (!src)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(rep), "replacement needs a source");
	if ((rc = select_one(m, src, &sr, err)) < 0)
		return rc;
	value = kz_field_path_get(sr->obj, fp ? fp : "metadata.name");
	if (!value)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(src),
				   "fieldPath '%s' is missing for replacement source %s",
				   fp ? fp : "metadata.name", mf_obj_name(sr->obj));
	/* a copy: a target may be the source field itself (or hold it), and
	 * writing it frees the node */
	value = tmp = mf_node_clone(value);
	if (mf_node_str(mf_node_get(sopts, "delimiter"))) {
		char **parts = NULL;
		size_t n = 0, i;
		long long idx = 0;
		const char *part;

		mf_node_int(mf_node_get(sopts, "index"), &idx);
		part = split_part(mf_node_str(value) ? mf_node_str(value) : "",
				  mf_node_str(mf_node_get(sopts, "delimiter")), idx, &parts, &n);
		if (!part)
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(sopts),
					 "options.index %lld is out of bounds", idx);
		else
			value = mf_node_new_str(part);
		for (i = 0; i < n; i++)
			free(parts[i]);
		free(parts);
		mf_node_free(tmp);
		tmp = value;
		if (rc < 0)
			return rc;
	}
	for (t = 0; rc == GS_OK && t < mf_node_len(targets); t++) {
		const struct mf_node *tg = mf_node_at(targets, t);
		const struct mf_node *sel = mf_node_get(tg, "select");
		const struct mf_node *rej = mf_node_get(tg, "reject");
		const struct mf_node *fps = mf_node_get(tg, "fieldPaths");
		const struct mf_node *topts = mf_node_get(tg, "options");
		struct repl rp = { value, mf_node_str(mf_node_get(topts, "delimiter")), 0, false };

		mf_node_int(mf_node_get(topts, "index"), &rp.index);
		for (r = 0; rc == GS_OK && r < m->n; r++) {
			bool match = false, rejected = false;

			if ((rc = kz_selector_match(&match, sel, m->v[r], err)) < 0 || !match)
				continue;
			for (k = 0; rc == GS_OK && k < mf_node_len(rej) && !rejected; k++)
				rc = kz_selector_match(&rejected, mf_node_at(rej, k), m->v[r], err);
			if (rejected || m->v[r] == sr)
				if (rejected)
					continue;
			for (f = 0; rc == GS_OK && f < mf_node_len(fps); f++) {
				size_t n;
				char **segs = split_fieldpath(mf_node_str(mf_node_at(fps, f)), &n);
				bool create = mf_node_bool(mf_node_get(topts, "create"));

				rp.counted = false;
				if (n)
					rc = visit(m->v[r]->obj, segs, n, 0, create, set_cb, &rp, err);
				free_segs(segs, n);
				if (rc == GS_OK && !rp.counted && !create)
					rc = gs_error_at(err, GS_EINVAL, mf_node_pos(mf_node_at(fps, f)),
							 "unable to find field '%s' in replacement target %s",
							 mf_node_str(mf_node_at(fps, f)),
							 mf_obj_name(m->v[r]->obj));
			}
		}
	}
	mf_node_free(tmp);
	return rc;
}

int kz_replacements(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *list,
		    const char *dir, struct gs_error *err)
{
	size_t i, j, k;
	int rc = GS_OK;

	for (i = 0; rc == GS_OK && i < mf_node_len(list); i++) {
		const struct mf_node *e = mf_node_at(list, i);
		const struct mf_node *path = mf_node_get(e, "path");

		if (path && mf_node_str(path)) {
			struct mf_docs docs = MF_DOCS_INIT;
			char *p = NULL;

			if ((rc = kz_join_restricted(ctx, &p, dir, path, err)) == GS_OK)
				rc = kz_load_yaml(ctx, &docs, p, err);
			for (j = 0; rc == GS_OK && j < docs.n; j++) {
				const struct mf_node *d = docs.docs[j];

				if (mf_node_type(d) == MF_SEQ)
					for (k = 0; rc == GS_OK && k < mf_node_len(d); k++)
						rc = apply_replacement(m, mf_node_at(d, k), err);
				else
					rc = apply_replacement(m, d, err);
			}
			mf_docs_release(&docs);
			free(p);
		} else {
			rc = apply_replacement(m, e, err);
		}
	}
	return rc;
}

/* ---- vars ---- */

struct var_payload {
	struct kz_ctx *ctx;
	char **values;
};

static void substitute(struct var_payload *vp, struct mf_node *node)
{
	const char *s = mf_node_str(node);
	struct gs_buf b = GS_BUF_INIT;
	const char *p;
	bool changed = false;
	size_t i;

	if (mf_node_type(node) != MF_STR || !strstr(s, "$("))
		return;
	for (p = s; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			gs_buf_add(&b, p, 2);
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '(') {
			const char *close = strchr(p, ')');
			bool done = false;

			for (i = 0; close && i < vp->ctx->nvars; i++) {
				size_t nl = strlen(vp->ctx->vars[i].name);
				if (vp->values[i] && (size_t)(close - p - 2) == nl &&
				    !strncmp(p + 2, vp->ctx->vars[i].name, nl)) {
					gs_buf_puts(&b, vp->values[i]);
					p = close + 1;
					done = changed = true;
					break;
				}
			}
			if (done)
				continue;
		}
		gs_buf_putc(&b, *p++);
	}
	if (changed)
		mf_node_set_str(node, b.ptr);
	gs_buf_release(&b);
}

static int var_cb(struct mf_node *parent, const char *key, struct mf_node *node, void *payload,
		  struct gs_error *err)
{
	size_t i;

	(void)parent;
	(void)key;
	(void)err;
	if (mf_node_type(node) == MF_SEQ) {
		for (i = 0; i < mf_node_len(node); i++)
			substitute(payload, mf_node_at(node, i));
	} else if (mf_node_type(node) == MF_MAP) {
		for (i = 0; i < mf_node_len(node); i++)
			substitute(payload, mf_node_at(node, i));
	} else {
		substitute(payload, node);
	}
	return GS_OK;
}

int kz_vars_resolve(struct kz_ctx *ctx, struct kz_resmap *m, struct gs_error *err)
{
	struct var_payload vp = { ctx, NULL };
	size_t i, r, s;
	int rc = GS_OK;

	if (!ctx->nvars)
		return GS_OK;
	vp.values = gs_calloc(ctx->nvars, sizeof(char *));
	for (i = 0; rc == GS_OK && i < ctx->nvars; i++) {
		const struct kz_var *v = &ctx->vars[i];
		struct kz_res *found = NULL;
		size_t nfound = 0;
		struct mf_node *val;

		for (r = 0; r < m->n; r++) {
			struct kz_res *res = m->v[r];
			if (strcmp(mf_obj_kind(res->obj), v->kind) || !kz_res_had_name(res, v->obj_name))
				continue;
			if (v->api_version && strcmp(v->api_version, mf_obj_api_version(res->obj)))
				continue;
			if (v->obj_ns && strcmp(v->obj_ns, mf_obj_namespace(res->obj) ? mf_obj_namespace(res->obj) : "") &&
			    strcmp(v->obj_ns, kz_res_orig_ns(res)))
				continue;
			found = res;
			nfound++;
		}
		if (nfound != 1) {
			rc = gs_error_set(err, GS_EINVAL,
					  nfound ? "var '%s' matches more than one object"
						 : "var '%s' cannot be mapped to a field in the set of known resources",
					  v->name);
			break;
		}
		val = kz_field_path_get(found->obj, v->fieldpath);
		if (!val || !mf_node_is_scalar(val) || !mf_node_str(val)) {
			rc = gs_error_set(err, GS_EINVAL, "field '%s' of var '%s' is not a scalar",
					  v->fieldpath, v->name);
			break;
		}
		vp.values[i] = gs_strdup(mf_node_str(val));
	}
	for (r = 0; rc == GS_OK && r < m->n; r++)
		for (s = 0; rc == GS_OK && s < ctx->cfg.var_refs.n; s++)
			if (kz_fieldspec_matches(&ctx->cfg.var_refs.v[s], m->v[r]->obj))
				rc = kz_fieldspec_apply(&ctx->cfg.var_refs.v[s], m->v[r]->obj, MF_NULL,
							var_cb, &vp, err);
	for (i = 0; i < ctx->nvars; i++)
		free(vp.values[i]);
	free(vp.values);
	return rc;
}
