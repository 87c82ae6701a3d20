/* kz-generator.c - configMapGenerator and secretGenerator.
 *
 * Data sources are read in kustomize's order (env files, literals, files);
 * a key seen twice is an error.  Values that are not valid UTF-8 go to
 * binaryData.  Secret values and binaryData are base64 encoded the way Go's
 * yaml emitter leaves them: wrapped every 70 characters once the encoding
 * reaches 70 characters, each line ending in a newline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-base64.h"
#include "kz-private.h"
#include "mf-object.h"


static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len, j;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1fu;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0fu;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07u;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (j = 1; j < len; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3fu);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static char *base64_wrapped(const unsigned char *s, size_t n)
{
	struct gs_buf enc = GS_BUF_INIT, out = GS_BUF_INIT;
	size_t i;

	gs_base64_encode(&enc, s, n, 0);
	if (enc.len < 70)
		return gs_buf_detach(&enc, NULL);
	for (i = 0; i < enc.len; i += 70) {
		gs_buf_add(&out, enc.ptr + i, enc.len - i < 70 ? enc.len - i : 70);
		gs_buf_putc(&out, '\n');
	}
	gs_buf_release(&enc);
	return gs_buf_detach(&out, NULL);
}

struct kv {
	char *key;
	char *val;
	size_t len;
};

struct kvs {
	struct kv *v;
	size_t n, alloc;
};

static void kvs_release(struct kvs *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		free(k->v[i].key);
		free(k->v[i].val);
	}
	free(k->v);
}

static int kvs_add(struct kvs *k, const char *key, size_t klen, const char *val, size_t vlen,
		   const struct mf_pos *pos, struct gs_error *err)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (strlen(k->v[i].key) == klen && !memcmp(k->v[i].key, key, klen))
			return gs_error_at(err, GS_EINVAL, pos,
					   "configmap/secret generator: key '%.*s' is given twice",
					   (int)klen, key);
	GS_ALLOC_GROW(k->v, k->n + 1, k->alloc);
	k->v[k->n].key = gs_strndup(key, klen);
	k->v[k->n].val = gs_malloc(vlen + 1);
	memcpy(k->v[k->n].val, val, vlen);
	k->v[k->n].val[vlen] = '\0';
	k->v[k->n].len = vlen;
	k->n++;
	return GS_OK;
}

static int parse_env(struct kvs *k, const char *text, size_t len, const struct mf_pos *pos,
		     const char *file, struct gs_error *err)
{
	size_t off = 0;
	unsigned line = 0;
	int rc;

	if (!valid_utf8((const unsigned char *)text, len))
		return gs_error_at(err, GS_EINVAL, pos, "env file '%s' is not valid UTF-8", file);
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		off = 3;
	while (off < len) {
		const char *l = text + off, *nl = memchr(l, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - l) : len - off;
		const char *eq;

		off += ll + (nl ? 1 : 0);
		line++;
		if (ll && l[ll - 1] == '\r')
			ll--;
		while (ll && (*l == ' ' || *l == '\t' || *l == '\v' || *l == '\f' || *l == '\r')) {
			l++;
			ll--;
		}
		if (!ll || *l == '#')
			continue;
		eq = memchr(l, '=', ll);
		if (!eq) {
			rc = kvs_add(k, l, ll, "", 0, pos, err);
		} else if (eq == l) {
			continue; /* "=value": no key, kustomize skips it */
		} else {
			rc = kvs_add(k, l, (size_t)(eq - l), eq + 1, ll - (size_t)(eq - l) - 1, pos,
				     err);
		}
		if (rc < 0)
			return gs_error_wrap(err, "%s:%u", file, line);
	}
	return GS_OK;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int load_sources(struct kz_ctx *ctx, struct kvs *k, const struct mf_node *gen,
			const char *dir, struct gs_error *err)
{
	const struct mf_node *envs = mf_node_get(gen, "envs"), *lits = mf_node_get(gen, "literals");
	const struct mf_node *files = mf_node_get(gen, "files"), *env = mf_node_get(gen, "env");
	struct gs_buf b = GS_BUF_INIT;
	size_t i, pass;
	int rc = GS_OK;

	for (pass = 0; pass < 2 && rc == GS_OK; pass++) {
		const struct mf_node *list = pass == 0 ? env : envs;
		size_t n = pass == 0 ? (mf_node_str(env) && *mf_node_str(env) ? 1 : 0) : mf_node_len(envs);

		for (i = 0; i < n && rc == GS_OK; i++) {
			const struct mf_node *e = pass == 0 ? list : mf_node_at(list, i);
			char *path = NULL;

			gs_buf_reset(&b);
			if ((rc = kz_join_restricted(ctx, &path, dir, e, err)) == GS_OK &&
			    (rc = kz_fs_read(ctx->fs, path, &b, err)) == GS_OK)
				rc = parse_env(k, b.ptr, b.len, mf_node_pos(e), mf_node_str(e), err);
			else if (rc < 0)
				gs_error_at(err, rc, mf_node_pos(e), "env file '%s': %s",
					    mf_node_str(e), err->msg);
			free(path);
		}
	}
	for (i = 0; rc == GS_OK && i < mf_node_len(lits); i++) {
		const struct mf_node *e = mf_node_at(lits, i);
		const char *s = mf_node_str(e), *eq = s ? strchr(s, '=') : NULL;
		size_t vlen;
		const char *v;

		if (!eq || eq == s) {
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(e),
					 "invalid literal source '%s', expected key=value", s ? s : "");
			break;
		}
		v = eq + 1;
		vlen = strlen(v);
		/* one pair of surrounding quotes is removed, as kustomize does */
		if (vlen >= 2 && ((v[0] == '"' && v[vlen - 1] == '"') ||
				  (v[0] == '\'' && v[vlen - 1] == '\''))) {
			v++;
			vlen -= 2;
		}
		rc = kvs_add(k, s, (size_t)(eq - s), v, vlen, mf_node_pos(e), err);
	}
	for (i = 0; rc == GS_OK && i < mf_node_len(files); i++) {
		const struct mf_node *e = mf_node_at(files, i);
		const char *s = mf_node_str(e), *eq = s ? strchr(s, '=') : NULL;
		struct mf_node *pathnode;
		char *path = NULL;
		const char *key;
		size_t klen;

		if (!s) {
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(e), "file source must be a string");
			break;
		}
		pathnode = mf_node_new_str(eq ? eq + 1 : s);
		mf_node_set_pos(pathnode, mf_node_pos(e));
		rc = kz_join_restricted(ctx, &path, dir, pathnode, err);
		mf_node_free(pathnode);
		if (rc < 0)
			break;
		key = eq ? s : base_name(path);
		klen = eq ? (size_t)(eq - s) : strlen(key);
		if (eq && eq == s) {
			free(path);
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(e), "file source '%s' has an empty key", s);
			break;
		}
		gs_buf_reset(&b);
		if (kz_fs_stat(ctx->fs, path) == KZ_FS_DIR)
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(e),
					 "file source '%s' is a directory", s);
		else if ((rc = kz_fs_read(ctx->fs, path, &b, err)) < 0) {
			/* err->msg cannot be an argument of the call that rewrites
			 * it (overlapping snprintf: the message came out garbled) */
			char why[sizeof(err->msg)];

			snprintf(why, sizeof(why), "%s", err->msg);
			gs_error_at(err, rc, mf_node_pos(e), "file source '%s': %s", s, why);
		}
		else
			rc = kvs_add(k, key, klen, b.ptr, b.len, mf_node_pos(e), err);
		free(path);
	}
	gs_buf_release(&b);
	return rc;
}

/* Effective option: generator options override kustomization-wide ones. */
static void merge_opts(struct mf_node *obj, const struct mf_node *global, const struct mf_node *local,
		       bool *hash, bool *immutable)
{
	const struct mf_node *opts[2] = { global, local };
	size_t i, j;

	*hash = true;
	*immutable = false;
	for (i = 0; i < 2; i++) {
		const struct mf_node *o = opts[i], *l = mf_node_get(o, "labels");
		const struct mf_node *a = mf_node_get(o, "annotations");

		for (j = 0; j < mf_node_len(l); j++)
			mf_obj_set_label(obj, mf_node_key(l, j),
					 mf_node_str(mf_node_at(l, j)) ? mf_node_str(mf_node_at(l, j)) : "");
		for (j = 0; j < mf_node_len(a); j++)
			mf_obj_set_annotation(obj, mf_node_key(a, j),
					      mf_node_str(mf_node_at(a, j)) ? mf_node_str(mf_node_at(a, j)) : "");
		if (mf_node_bool(mf_node_get(o, "disableNameSuffixHash")))
			*hash = false;
		if (mf_node_bool(mf_node_get(o, "immutable")))
			*immutable = true;
	}
}

static int make_object(struct kz_ctx *ctx, struct mf_node **out, const struct mf_node *gen,
		       bool secret, const struct mf_node *global_opts, const char *dir,
		       unsigned *flags, struct gs_error *err)
{
	struct kvs k = { 0 };
	struct mf_node *obj = mf_node_new(MF_MAP), *data = NULL, *bin = NULL;
	const char *name = mf_node_str(mf_node_get(gen, "name"));
	const char *ns = mf_node_str(mf_node_get(gen, "namespace"));
	const char *type = mf_node_str(mf_node_get(gen, "type"));
	bool hash, immutable;
	size_t i;
	int rc;

	mf_node_set_pos_deep(obj, mf_node_pos(gen));
	if (!name || !*name) {
		rc = gs_error_at(err, GS_EINVAL, mf_node_pos(gen), "a generator needs a name");
		goto cleanup;
	}
	if ((rc = load_sources(ctx, &k, gen, dir, err)) < 0)
		goto cleanup;
	mf_node_set_str_value(obj, "apiVersion", "v1");
	mf_node_set_str_value(obj, "kind", secret ? "Secret" : "ConfigMap");
	mf_node_set(obj, "metadata", mf_node_new(MF_MAP));
	mf_obj_set_name(obj, name);
	if (ns && *ns)
		mf_obj_set_namespace(obj, ns);
	merge_opts(obj, global_opts, mf_node_get(gen, "options"), &hash, &immutable);
	for (i = 0; i < k.n; i++) {
		struct mf_node *v;

		if (secret || !valid_utf8((unsigned char *)k.v[i].val, k.v[i].len)) {
			char *b64 = base64_wrapped((unsigned char *)k.v[i].val, k.v[i].len);
			v = mf_node_new_str(b64);
			free(b64);
			if (secret) {
				if (!data)
					data = mf_node_new(MF_MAP);
				mf_node_set(data, k.v[i].key, v);
			} else {
				if (!bin)
					bin = mf_node_new(MF_MAP);
				mf_node_set(bin, k.v[i].key, v);
			}
		} else {
			if (!data)
				data = mf_node_new(MF_MAP);
			mf_node_set(data, k.v[i].key, mf_node_new_strn(k.v[i].val, k.v[i].len));
		}
	}
	if (bin)
		mf_node_set(obj, "binaryData", bin);
	if (secret && !data)
		data = mf_node_new(MF_MAP); /* kustomize writes a Secret's `data: {}` */
	if (data)
		mf_node_set(obj, "data", data);
	if (secret)
		mf_node_set_str_value(obj, "type", type && *type ? type : "Opaque");
	if (immutable)
		mf_node_set(obj, "immutable", mf_node_new_bool(true));
	*flags = KZ_RES_GENERATED | (hash ? KZ_RES_HASH : 0);
	*out = obj;
	obj = NULL;
	rc = GS_OK;
cleanup:
	kvs_release(&k);
	mf_node_free(obj);
	return rc;
}

static struct kz_res *find_generated_target(struct kz_resmap *m, const struct mf_node *obj)
{
	const char *kind = mf_obj_kind(obj), *name = mf_obj_name(obj);
	const char *ns = mf_obj_namespace(obj);
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct kz_res *r = m->v[i];
		const char *rns = mf_obj_namespace(r->obj);

		if (strcmp(mf_obj_kind(r->obj), kind) || !kz_res_had_name(r, name))
			continue;
		if (strcmp(ns ? ns : "", rns ? rns : "") && strcmp(ns ? ns : "", kz_res_orig_ns(r)))
			continue;
		return r;
	}
	return NULL;
}

static void merge_map_into(struct mf_node *dst_parent, const char *key, const struct mf_node *src)
{
	size_t i;
	struct mf_node *dst;

	if (!mf_node_len(src))
		return;
	dst = mf_node_ensure(dst_parent, key, MF_MAP);
	for (i = 0; i < mf_node_len(src); i++)
		mf_node_set(dst, mf_node_key(src, i), mf_node_clone(mf_node_at(src, i)));
}

/* origin (borrowed, NULL without buildMetadata): a created object gets it,
 * a replaced one takes it, a merged one keeps its own (kustomize's
 * appendReplaceOrMerge). */
static int apply_generated(struct kz_resmap *m, struct mf_node *obj, unsigned flags,
			   const struct mf_node *gen, const struct mf_node *origin,
			   struct gs_error *err)
{
	const char *behavior = mf_node_str(mf_node_get(gen, "behavior"));
	struct kz_res *old;

	/* kustomize reads an unknown behavior as unspecified, i.e. create */
	if (!behavior || (strcmp(behavior, "merge") && strcmp(behavior, "replace"))) {
		struct kz_res *r = kz_res_new(obj);
		r->flags = flags;
		kz_res_set_origin_default(r, origin);
		return kz_resmap_add(m, r, err);
	}
	old = find_generated_target(m, obj);
	if (!old) {
		gs_error_at(err, GS_ENOTFOUND, mf_node_pos(gen),
			    "id %s/%s does not exist; cannot merge or replace", mf_obj_kind(obj),
			    mf_obj_name(obj));
		mf_node_free(obj);
		return GS_ENOTFOUND;
	}
	if (!strcmp(behavior, "merge")) {
		merge_map_into(old->obj, "data", mf_node_get(obj, "data"));
		merge_map_into(old->obj, "binaryData", mf_node_get(obj, "binaryData"));
		merge_map_into(mf_node_get(old->obj, "metadata"), "labels",
			       mf_node_dig(obj, "metadata", "labels", NULL));
		merge_map_into(mf_node_get(old->obj, "metadata"), "annotations",
			       mf_node_dig(obj, "metadata", "annotations", NULL));
	} else {
		if (origin) {
			mf_node_free(old->origin);
			old->origin = mf_node_clone(origin);
		}
		mf_node_remove(old->obj, "data");
		mf_node_remove(old->obj, "binaryData");
		if (mf_node_get(obj, "data"))
			mf_node_set(old->obj, "data", mf_node_clone(mf_node_get(obj, "data")));
		if (mf_node_get(obj, "binaryData"))
			mf_node_set(old->obj, "binaryData",
				    mf_node_clone(mf_node_get(obj, "binaryData")));
		merge_map_into(mf_node_get(old->obj, "metadata"), "labels",
			       mf_node_dig(obj, "metadata", "labels", NULL));
		merge_map_into(mf_node_get(old->obj, "metadata"), "annotations",
			       mf_node_dig(obj, "metadata", "annotations", NULL));
	}
	if (mf_node_get(obj, "immutable"))
		mf_node_set(old->obj, "immutable", mf_node_new_bool(true));
	if (!(flags & KZ_RES_HASH))
		old->flags &= ~(unsigned)KZ_RES_HASH;
	old->flags |= KZ_RES_GENERATED;
	mf_node_free(obj);
	return GS_OK;
}

int kz_generate(struct kz_ctx *ctx, struct kz_resmap *m, const struct mf_node *k, const char *dir,
		struct gs_error *err)
{
	const struct mf_node *opts = mf_node_get(k, "generatorOptions");
	size_t pass, i;
	int rc;

	for (pass = 0; pass < 2; pass++) {
		const struct mf_node *list =
			mf_node_get(k, pass == 0 ? "configMapGenerator" : "secretGenerator");
		struct mf_node *origin = NULL;

		if (ctx->origins && mf_node_len(list))
			origin = kz_origin_builtin(ctx, ctx->kust_file,
						   pass == 0 ? "ConfigMapGenerator" : "SecretGenerator");
		for (i = 0; i < mf_node_len(list); i++) {
			const struct mf_node *gen = mf_node_at(list, i);
			struct mf_node *obj = NULL;
			unsigned flags = 0;

			if ((rc = make_object(ctx, &obj, gen, pass == 1, opts, dir, &flags, err)) < 0 ||
			    (rc = apply_generated(m, obj, flags, gen, origin, err)) < 0) {
				mf_node_free(origin);
				return rc;
			}
		}
		mf_node_free(origin);
	}
	return GS_OK;
}

/* Built-in generator configs listed under `generators:`. */
int kz_run_generator_files(struct kz_ctx *ctx, struct kz_resmap *ra, const char *dir,
			   const struct mf_node *list, struct gs_error *err)
{
	size_t i, j;
	int rc = GS_OK;

	for (i = 0; rc == GS_OK && i < mf_node_len(list); i++) {
		struct mf_docs docs = MF_DOCS_INIT;
		char *path = NULL;

		if ((rc = kz_join_restricted(ctx, &path, dir, mf_node_at(list, i), err)) == GS_OK)
			rc = kz_load_yaml(ctx, &docs, path, err);
		for (j = 0; rc == GS_OK && j < docs.n; j++) {
			const struct mf_node *cfg = docs.docs[j];
			const char *kind = mf_obj_kind(cfg);
			struct mf_node *gen, *obj = NULL;
			unsigned flags = 0;
			bool secret;

			if (!kind || (strcmp(kind, "ConfigMapGenerator") && strcmp(kind, "SecretGenerator"))) {
				rc = gs_error_at(err, GS_EINVAL, mf_node_pos(cfg),
						 "generator '%s' is not supported (plugins are out of scope)",
						 kind ? kind : "");
				break;
			}
			secret = !strcmp(kind, "SecretGenerator");
			gen = mf_node_clone(cfg);
			if (!mf_node_get(gen, "name") && mf_node_dig(cfg, "metadata", "name", NULL))
				mf_node_set(gen, "name", mf_node_clone(mf_node_dig(cfg, "metadata", "name", NULL)));
			if (!mf_node_get(gen, "namespace") && mf_node_dig(cfg, "metadata", "namespace", NULL))
				mf_node_set(gen, "namespace",
					    mf_node_clone(mf_node_dig(cfg, "metadata", "namespace", NULL)));
			rc = make_object(ctx, &obj, gen, secret, NULL, dir, &flags, err);
			if (rc == GS_OK) {
				struct mf_node *origin =
					ctx->origins ? kz_origin_plugin(ctx, cfg,
									mf_node_str(mf_node_at(list, i)))
						     : NULL;

				rc = apply_generated(ra, obj, flags, gen, origin, err);
				mf_node_free(origin);
			}
			mf_node_free(gen);
		}
		mf_docs_release(&docs);
		free(path);
	}
	return rc;
}
