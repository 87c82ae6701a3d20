/* kz-build.c - the kustomization tree walk: resources, bases, components,
 * generators and the transformer pipeline of one level, then the steps
 * kustomize runs once at the top (hash suffixes, name references, vars,
 * order). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"
#include "mf-yaml.h"

#define KZ_MAX_BUILDS 10000 /* kustomizations per render: bounds diamond blow-up */
#define KZ_MAX_DEPTH 64

void kz_output_release(struct kz_output *out)
{
	size_t i;

	mf_docs_release(&out->docs);
	for (i = 0; i < out->nfiles; i++)
		free(out->files[i]);
	free(out->files);
	out->files = NULL;
	out->nfiles = out->afiles = 0;
}

static size_t intern_hash(const char *s)
{
	size_t h = 1469598103934665603u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* Interned names are looked up in a hash table: a linear search made a
 * directory of 100,000 files quadratic (45 s). */
const char *kz_intern(struct kz_ctx *ctx, const char *path)
{
	struct kz_output *o = ctx->out;
	const char *root = ctx->display_root ? ctx->display_root : kz_fs_root(ctx->fs);
	char *s;
	size_t i, h;

	if (!*root)
		s = gs_strdup(path);
	else
		s = gs_asprintf("%s/%s", strcmp(root, "/") ? root : "", path);
	if ((ctx->nintern + 1) * 2 > ctx->cintern) {
		size_t ncap = ctx->cintern ? ctx->cintern * 2 : 64;
		const char **t = gs_calloc(ncap, sizeof(*t));

		for (i = 0; i < ctx->cintern; i++) {
			if (!ctx->intern[i])
				continue;
			for (h = intern_hash(ctx->intern[i]) & (ncap - 1); t[h]; h = (h + 1) & (ncap - 1))
				;
			t[h] = ctx->intern[i];
		}
		free(ctx->intern);
		ctx->intern = t;
		ctx->cintern = ncap;
	}
	for (h = intern_hash(s) & (ctx->cintern - 1); ctx->intern[h];
	     h = (h + 1) & (ctx->cintern - 1))
		if (!strcmp(ctx->intern[h], s)) {
			free(s);
			return ctx->intern[h];
		}
	GS_ALLOC_GROW(o->files, o->nfiles + 1, o->afiles);
	o->files[o->nfiles++] = s;
	ctx->intern[h] = s;
	ctx->nintern++;
	return s;
}

/* Resources, patches and configs are read by kustomize's kyaml (go-yaml
 * v3 rules); the kustomization file itself by sigs.k8s.io/yaml (v2). */
int kz_parse_yaml(struct kz_ctx *ctx, struct mf_docs *docs, const char *text, size_t len,
		  const char *file, struct gs_error *err)
{
	struct mf_yaml_limits lim = { 0 };

	(void)ctx;
	lim.flags = MF_YAML_KYAML;
	return mf_yaml_parse(docs, text, len, file, &lim, err);
}

static void budget_init(struct kz_ctx *ctx, const struct kz_budget *b)
{
	if (b)
		ctx->budget = *b;
	if (!ctx->budget.max_nodes)
		ctx->budget.max_nodes = KZ_BUDGET_DEFAULT_NODES;
	if (!ctx->budget.max_files)
		ctx->budget.max_files = KZ_BUDGET_DEFAULT_FILES;
	if (!(ctx->budget.max_seconds > 0))
		ctx->budget.max_seconds = KZ_BUDGET_DEFAULT_SECONDS;
	clock_gettime(CLOCK_MONOTONIC, &ctx->t0);
}

double kz_budget_elapsed(const struct kz_ctx *ctx)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - ctx->t0.tv_sec) + (double)(t.tv_nsec - ctx->t0.tv_nsec) / 1e9;
}

/* The hint every budget error ends with: how to raise the limit. */
#define KZ_BUDGET_HINT(name) \
	"raise it with `gitsync agent --" name "` or the Application annotation gitsync.io/" name \
	" if this repository really needs it"

int kz_budget_charge(struct kz_ctx *ctx, size_t nodes, bool read, const char *file,
		     struct gs_error *err)
{
	struct mf_pos pos = { kz_intern(ctx, file), 0, 0 };

	ctx->budget_hit = true; /* reset below when within the budget */

	if (read) {
		ctx->cost.files++;
		if (!gs_size_add(&ctx->cost.nodes, ctx->cost.nodes, nodes))
			ctx->cost.nodes = SIZE_MAX;
		if (ctx->cost.nodes > ctx->budget.max_nodes)
			return gs_error_at(err, GS_ELIMIT, &pos,
					   "render budget exceeded: more than %zu YAML nodes read "
					   "(render-max-nodes; files read so far: %zu); "
					   KZ_BUDGET_HINT("render-max-nodes"),
					   ctx->budget.max_nodes, ctx->cost.files);
		if (ctx->cost.files > ctx->budget.max_files)
			return gs_error_at(err, GS_ELIMIT, &pos,
					   "render budget exceeded: more than %zu files read "
					   "(render-max-files); " KZ_BUDGET_HINT("render-max-files"),
					   ctx->budget.max_files);
	} else if (nodes > ctx->budget.max_nodes) {
		return gs_error_at(err, GS_ELIMIT, &pos,
				   "render budget exceeded: the output of this kustomization has %zu "
				   "YAML nodes, more than %zu (render-max-nodes; a base included many "
				   "times?); " KZ_BUDGET_HINT("render-max-nodes"),
				   nodes, ctx->budget.max_nodes);
	}
	ctx->cost.seconds = kz_budget_elapsed(ctx);
	if (ctx->cost.seconds > ctx->budget.max_seconds)
		return gs_error_at(err, GS_ELIMIT, &pos,
				   "render budget exceeded: rendering took more than %g s "
				   "(render-timeout); " KZ_BUDGET_HINT("render-timeout"),
				   ctx->budget.max_seconds);
	ctx->budget_hit = false;
	return GS_OK;
}

static size_t docs_nodes(const struct mf_docs *docs)
{
	size_t i, n = 0;

	for (i = 0; i < docs->n; i++)
		n += mf_node_count(docs->docs[i]);
	return n;
}

static int load_yaml(struct kz_ctx *ctx, struct mf_docs *docs, const char *path, bool kyaml,
		     struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	const char *file = kz_intern(ctx, path);
	int rc;

	b.max = 64u << 20;
	if ((rc = kz_fs_read(ctx->fs, path, &b, err)) < 0)
		goto cleanup;
	{
		size_t first = docs->n;

		if (kyaml)
			rc = kz_parse_yaml(ctx, docs, b.ptr, b.len, file, err);
		else
			rc = mf_yaml_parse(docs, b.ptr, b.len, file, NULL, err);
		if (rc == GS_OK) {
			struct mf_docs added = { docs->docs + first, docs->n - first, 0 };

			rc = kz_budget_charge(ctx, docs_nodes(&added), true, path, err);
		}
	}
cleanup:
	gs_buf_release(&b);
	return rc;
}

int kz_load_yaml(struct kz_ctx *ctx, struct mf_docs *docs, const char *path, struct gs_error *err)
{
	return load_yaml(ctx, docs, path, true, err);
}

static bool is_list_kind(const struct mf_node *doc)
{
	const char *kind = mf_obj_kind(doc);
	size_t n = kind ? strlen(kind) : 0;

	/* kind List, and the typed lists (ConfigMapList, ...) that hold items */
	if (n == 4 && !strcmp(kind, "List"))
		return mf_node_type(mf_node_get(doc, "items")) != MF_MAP;
	return n > 4 && !strcmp(kind + n - 4, "List") &&
	       mf_node_type(mf_node_get(doc, "items")) == MF_SEQ;
}

static int add_object(struct kz_resmap *m, struct mf_node *obj, const char *file, bool strict,
		      struct gs_error *err)
{
	struct mf_pos pos = *mf_node_pos(obj);
	const char *name;

	if (!pos.file)
		pos.file = file;
	if (mf_node_type(obj) != MF_MAP) {
		mf_node_free(obj);
		if (!strict)
			return GS_OK;
		return gs_error_at(err, GS_EINVAL, &pos, "document is not a map");
	}
	if (!mf_obj_kind(obj) || !*mf_obj_kind(obj)) {
		mf_node_free(obj);
		if (!strict)
			return GS_OK;
		return gs_error_at(err, GS_EINVAL, &pos, "missing kind in object");
	}
	if (!mf_obj_api_version(obj)) {
		mf_node_free(obj);
		if (!strict)
			return GS_OK;
		return gs_error_at(err, GS_EINVAL, &pos, "missing apiVersion in object");
	}
	name = mf_obj_name(obj);
	if (strict && (!name || !*name)) {
		mf_node_free(obj);
		return gs_error_at(err, GS_EINVAL, &pos,
				   "missing metadata.name in object (kustomize needs a name)");
	}
	return kz_resmap_add(m, kz_res_new(obj), err);
}

int kz_docs_to_resmap(struct kz_resmap *m, struct mf_docs *docs, const char *file, bool strict,
		      struct gs_error *err)
{
	size_t i;
	int rc = GS_OK;

	for (i = 0; i < docs->n; i++) {
		struct mf_node *doc = docs->docs[i];

		docs->docs[i] = NULL;
		if (rc < 0) {
			mf_node_free(doc);
			continue;
		}
		if (mf_node_type(doc) == MF_MAP && is_list_kind(doc)) {
			struct mf_node *items = mf_node_get(doc, "items");

			while (rc == GS_OK && mf_node_len(items))
				rc = add_object(m, mf_node_take_at(items, 0), file, strict, err);
			mf_node_free(doc);
			continue;
		}
		rc = add_object(m, doc, file, strict, err);
	}
	docs->n = 0;
	return rc;
}

/* kustomize tries an entry as a file first, then as a remote target, then
 * as a directory. */
static bool is_remote(const struct kz_ctx *ctx, const char *dir, const char *s)
{
	char *repo = NULL, *ref = NULL, *path = NULL, *local = NULL;
	double timeout;
	bool sub, remote = kz_remote_parse(s, &repo, &ref, &path, &timeout, &sub);

	if (remote && kz_path_join(&local, dir, s, NULL) == GS_OK &&
	    kz_fs_stat(ctx->fs, local) == KZ_FS_FILE)
		remote = false;
	free(repo);
	free(ref);
	free(path);
	free(local);
	return remote;
}

/* Locate the kustomization file of dir.  *path_out owned; GS_ENOTFOUND when
 * there is none. */
static int find_kustomization(const struct kz_fs *fs, const char *dir, char **path_out,
			      struct gs_error *err)
{
	size_t i;
	char *found = NULL;

	for (i = 0; i < 3; i++) {
		char *p = NULL;

		if (kz_path_join(&p, dir, kz_kustomization_names[i], NULL) < 0)
			continue;
		if (kz_fs_stat(fs, p) == KZ_FS_FILE) {
			if (!kz_fs_within(fs, p, dir)) {
				/* kustomize resolves the link, finds the file outside
				 * the directory and sees no kustomization at all */
				gs_error_set(err, GS_EINVAL,
					     "'%s' is a symlink to a file outside '%s': kustomize does not read it; copy the file or point the link inside the directory",
					     p, *dir ? dir : ".");
				free(p);
				free(found);
				return GS_EINVAL;
			}
			if (found) {
				free(p);
				free(found);
				return gs_error_set(err, GS_EINVAL,
						    "found multiple kustomization files under: %s",
						    *dir ? dir : ".");
			}
			found = p;
		} else {
			free(p);
		}
	}
	if (!found)
		return gs_error_set(err, GS_ENOTFOUND,
				    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '%s'",
				    *dir ? dir : ".");
	*path_out = found;
	return GS_OK;
}

static int build_dir(struct kz_ctx *ctx, const char *dir, bool component, struct kz_resmap *ra,
		     struct gs_error *err);

/* A base's output, kept for its next inclusions (build_base). */
struct kz_memo {
	struct kz_resmap rm; /* empty until the second build */
	bool kept;
	size_t nodes;  /* of rm */
	size_t height; /* nesting below the base (KZ_MAX_DEPTH holds for copies too) */
};

static void memo_release(struct kz_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nmemo; i++)
		kz_resmap_release(&ctx->memo[i].rm);
	free(ctx->memo);
	gs_strmap_release(&ctx->memo_idx);
}

static size_t resmap_nodes(const struct kz_resmap *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++)
		n += mf_node_count(m->v[i]->obj);
	return n;
}

/* Build directory dir, included as a resource, into sub (empty).  Its
 * output depends only on its files and on what earlier builds left in ctx:
 * the configurations, openapi schemas and vars they loaded (ctx->epoch
 * counts those), and the origin path when buildMetadata tracks origins.
 * So a base seen again under the same key is built once more, its output
 * kept, and copied from the third time on: the "diamond" of issue 13 (each
 * layer including the one below 4 times) then reads each file at most
 * twice instead of 4^layers times.  A base whose build changed ctx (the
 * epoch moved) is never kept; nor are copies beyond budget.max_nodes nodes
 * in all.  Output is identical: the copy is of the resources as built,
 * before the including kustomization transforms them. */
static int build_base(struct kz_ctx *ctx, const char *dir, struct kz_resmap *sub,
		      struct gs_error *err)
{
	/* display_root: a remote's `base` is not the checkout's `base` */
	char *key = gs_asprintf("%u\n%s\n%s\n%s", ctx->epoch,
				ctx->display_root ? ctx->display_root : "",
				ctx->origins ? ctx->origin_path : "", dir);
	size_t *pos = gs_strmap_get(&ctx->memo_idx, key), saved_deepest = ctx->deepest;
	struct kz_memo *m;
	unsigned epoch = ctx->epoch;
	int rc;

	m = pos ? &ctx->memo[*pos] : NULL;
	if (m && m->kept && ctx->depth + m->height < KZ_MAX_DEPTH) {
		struct mf_pos where = { kz_intern(ctx, dir), 0, 0 };

		free(key);
		/* a copy costs what reading the base again would have: the
		 * output stays bounded by render-max-nodes */
		if (!gs_size_add(&ctx->cost.nodes, ctx->cost.nodes, m->nodes))
			ctx->cost.nodes = SIZE_MAX;
		if (ctx->cost.nodes > ctx->budget.max_nodes) {
			ctx->budget_hit = true;
			return gs_error_at(err, GS_ELIMIT, &where,
					   "render budget exceeded: more than %zu YAML nodes read or "
					   "copied from bases included many times (render-max-nodes; "
					   "files read so far: %zu); " KZ_BUDGET_HINT("render-max-nodes"),
					   ctx->budget.max_nodes, ctx->cost.files);
		}
		rc = kz_resmap_add_copies(sub, &m->rm, err);
		if (rc == GS_OK)
			rc = kz_budget_charge(ctx, 0, false, dir, err); /* the time limit */
		return rc;
	}
	ctx->deepest = ctx->depth;
	rc = build_dir(ctx, dir, false, sub, err);
	if (rc == GS_OK && ctx->epoch == epoch) {
		if (!m) {
			/* the first time: only remember it was seen */
			GS_ALLOC_GROW(ctx->memo, ctx->nmemo + 1, ctx->amemo);
			memset(&ctx->memo[ctx->nmemo], 0, sizeof(ctx->memo[0]));
			gs_strmap_put(&ctx->memo_idx, key, ctx->nmemo++);
		} else if (!m->kept) {
			size_t nodes = resmap_nodes(sub);

			/* the kept copy is memory too: charged as nodes read, and
			 * not kept (built again next time) when over the budget */
			if (nodes <= ctx->budget.max_nodes - ctx->memo_nodes &&
			    ctx->cost.nodes <= ctx->budget.max_nodes - nodes) {
				m->kept = true;
				m->nodes = nodes;
				m->height = ctx->deepest - ctx->depth;
				ctx->memo_nodes += nodes;
				ctx->cost.nodes += nodes;
				rc = kz_resmap_add_copies(&m->rm, sub, err);
			}
		}
	}
	if (ctx->deepest < saved_deepest)
		ctx->deepest = saved_deepest;
	free(key);
	return rc;
}

/* Load one `resources:` (or `bases:`) entry into ra. */
static int accumulate_resource(struct kz_ctx *ctx, const char *dir, const struct mf_node *entry,
			       struct kz_resmap *ra, struct gs_error *err)
{
	const char *rel = mf_node_str(entry);
	char *path = NULL;
	struct mf_docs docs = MF_DOCS_INIT;
	struct kz_resmap sub = { 0 };
	enum kz_fs_kind kind;
	int rc;

	if (!rel || !*rel) {
		/* "resources:\n- \n" is a null entry: an error, never a NULL
		 * string handed on (found by fuzz-kustomize: a crash in is_remote) */
		rc = gs_error_at(err, GS_EINVAL, mf_node_pos(entry),
				 "resource entry must be a non-empty path");
		goto cleanup;
	}
	if (is_remote(ctx, dir, rel)) {
		char *saved = ctx->origin_path;

		if (ctx->origins)
			ctx->origin_path = kz_origin_join(saved, rel);
		rc = kz_remote_accumulate(ctx, rel, entry, &sub, err);
		if (ctx->origins) {
			free(ctx->origin_path);
			ctx->origin_path = saved;
		}
		if (rc == GS_OK && (rc = kz_resmap_absorb(ra, &sub, err)) < 0)
			gs_error_wrap(err, "merging resources from '%s'", rel);
		goto cleanup;
	}
	if ((rc = kz_path_join(&path, dir, rel, err)) < 0) {
		rc = gs_error_at(err, rc, mf_node_pos(entry),
				 "accumulating resources from '%s': path escapes the repository root",
				 rel);
		goto cleanup;
	}
	kind = kz_fs_stat(ctx->fs, path);
	if (kind == KZ_FS_DIR) {
		char *saved = ctx->origin_path;

		if (ctx->origins)
			ctx->origin_path = kz_origin_join(saved, rel);
		rc = build_base(ctx, path, &sub, err);
		if (ctx->origins) {
			free(ctx->origin_path);
			ctx->origin_path = saved;
		}
		if (rc < 0) {
			/* a budget error names its file already; wrapping it at
			 * every layer of a diamond would push the limit's name
			 * out of the message */
			if (!ctx->budget_hit)
				gs_error_wrap(err, "accumulating resources from '%s'", rel);
			goto cleanup;
		}
		if ((rc = kz_resmap_absorb(ra, &sub, err)) < 0) {
			gs_error_wrap(err, "merging resources from '%s'", rel);
			goto cleanup;
		}
	} else if (kind == KZ_FS_FILE) {
		if (!kz_fs_within(ctx->fs, path, dir)) {
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(entry),
					 "accumulating resources from '%s': security; file '%s' is not in or below '%s' (symlinks are followed)",
					 rel, path, *dir ? dir : ".");
			goto cleanup;
		}
		size_t first = ra->n;

		if ((rc = kz_load_yaml(ctx, &docs, path, err)) < 0)
			goto cleanup;
		rc = kz_docs_to_resmap(ra, &docs, kz_intern(ctx, path), true, err);
		if (rc == GS_OK && ctx->origins) {
			char *opath = kz_origin_join(ctx->origin_path, rel);
			struct mf_node *origin = kz_origin_new(opath, NULL, NULL, NULL, NULL, NULL);

			for (; first < ra->n; first++)
				kz_res_set_origin_default(ra->v[first], origin);
			mf_node_free(origin);
			free(opath);
		}
	} else {
		rc = gs_error_at(err, GS_ENOTFOUND, mf_node_pos(entry),
				 "accumulating resources: '%s': no such file or directory", rel);
	}
cleanup:
	mf_docs_release(&docs);
	kz_resmap_release(&sub);
	free(path);
	return rc;
}

/* Files a kustomization loads (patches, generator sources, configs) must lie
 * in or below its directory: kustomize's default load restrictor. */
int kz_join_restricted(struct kz_ctx *ctx, char **out, const char *dir,
		       const struct mf_node *entry, struct gs_error *err)
{
	const char *rel = mf_node_str(entry);
	char *path = NULL;

	if (!rel)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(entry), "expected a file path");
	if (kz_path_join(&path, dir, rel, err) < 0 || !kz_fs_within(ctx->fs, path, dir)) {
		free(path);
		return gs_error_at(err, GS_EINVAL, mf_node_pos(entry),
				   "security; file '%s' is not in or below '%s'", rel,
				   *dir ? dir : ".");
	}
	*out = path;
	return GS_OK;
}

static int load_configurations(struct kz_ctx *ctx, const char *dir, const struct mf_node *list,
			       struct gs_error *err)
{
	size_t i, j;
	int rc = GS_OK;

	for (i = 0; rc == GS_OK && i < mf_node_len(list); i++) {
		struct mf_docs docs = MF_DOCS_INIT;
		char *path = NULL;

		if ((rc = kz_join_restricted(ctx, &path, dir, mf_node_at(list, i), err)) == GS_OK &&
		    (rc = kz_load_yaml(ctx, &docs, path, err)) == GS_OK)
			for (j = 0; rc == GS_OK && j < docs.n; j++)
				rc = kz_config_merge_node(&ctx->cfg, docs.docs[j], err);
		mf_docs_release(&docs);
		free(path);
	}
	return rc;
}


/* Built-in transformer plugin configs under `transformers:`. */
static int run_builtin_transformer(struct kz_ctx *ctx, struct kz_resmap *ra,
				   const struct mf_node *cfg, const char *dir, const char *file,
				   struct gs_error *err)
{
	const char *kind = mf_obj_kind(cfg);
	struct kz_fslist specs = { 0 };
	int rc = GS_OK;

	if (!kind)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(cfg), "transformer config needs a kind");
	if ((rc = kz_fslist_add_node(&specs, mf_node_get(cfg, "fieldSpecs"), err)) < 0)
		goto cleanup;
	if (!strcmp(kind, "PrefixSuffixTransformer") || !strcmp(kind, "PrefixTransformer") ||
	    !strcmp(kind, "SuffixTransformer")) {
		rc = kz_transform_prefix_suffix(ctx, ra, mf_node_str(mf_node_get(cfg, "prefix")),
						mf_node_str(mf_node_get(cfg, "suffix")),
						specs.n ? &specs : NULL, err);
	} else if (!strcmp(kind, "LabelTransformer")) {
		rc = kz_transform_labels(ctx, ra, mf_node_get(cfg, "labels"), false, false,
					 specs.n ? &specs : NULL, err);
	} else if (!strcmp(kind, "AnnotationsTransformer")) {
		rc = kz_transform_annotations(ctx, ra, mf_node_get(cfg, "annotations"),
					      specs.n ? &specs : NULL, err);
	} else if (!strcmp(kind, "NamespaceTransformer")) {
		const char *ns = mf_node_dig_str(cfg, "metadata", "namespace", NULL);
		rc = kz_transform_namespace(ctx, ra, ns ? ns : "", err);
	} else if (!strcmp(kind, "ImageTagTransformer")) {
		struct mf_node *seq = mf_node_new(MF_SEQ);
		if (mf_node_get(cfg, "imageTag"))
			mf_node_append(seq, mf_node_clone(mf_node_get(cfg, "imageTag")));
		rc = kz_transform_images(ctx, ra, seq, err);
		mf_node_free(seq);
	} else if (!strcmp(kind, "ReplicaCountTransformer")) {
		struct mf_node *seq = mf_node_new(MF_SEQ);
		if (mf_node_get(cfg, "replica"))
			mf_node_append(seq, mf_node_clone(mf_node_get(cfg, "replica")));
		rc = kz_transform_replicas(ctx, ra, seq, file, err);
		mf_node_free(seq);
	} else if (!strcmp(kind, "PatchTransformer") || !strcmp(kind, "PatchJson6902Transformer")) {
		struct mf_node *seq = mf_node_new(MF_SEQ), *p = mf_node_new(MF_MAP);
		const char *keys[] = { "path", "patch", "target", "options" };
		size_t i;

		for (i = 0; i < 4; i++)
			if (mf_node_get(cfg, keys[i]))
				mf_node_set(p, keys[i], mf_node_clone(mf_node_get(cfg, keys[i])));
		if (mf_node_get(cfg, "jsonOp"))
			mf_node_set(p, "patch", mf_node_clone(mf_node_get(cfg, "jsonOp")));
		mf_node_append(seq, p);
		rc = kz_patches(ctx, ra, seq, dir, !strcmp(kind, "PatchJson6902Transformer"), err);
		mf_node_free(seq);
	} else if (!strcmp(kind, "PatchStrategicMergeTransformer")) {
		const struct mf_node *paths = mf_node_get(cfg, "paths");
		if (paths)
			rc = kz_patches_strategic(ctx, ra, paths, dir, err);
	} else {
		rc = gs_error_at(err, GS_EINVAL, mf_node_pos(cfg),
				 "transformer '%s' is not supported (plugins are out of scope)", kind);
	}
cleanup:
	kz_fslist_release(&specs);
	return rc;
}

/* The origin of a plugin config (transformer or generator) read from
 * `file` (NULL: inline in the kustomization), as kustomize's
 * OriginFromCustomPlugin makes it.  Owned. */
struct mf_node *kz_origin_plugin(const struct kz_ctx *ctx, const struct mf_node *cfg,
				 const char *file)
{
	char *in = kz_origin_join(ctx->origin_path, file ? file : ctx->kust_file);
	struct mf_node *o = kz_origin_new(NULL, in, mf_obj_api_version(cfg), mf_obj_kind(cfg),
					  mf_obj_name(cfg), mf_obj_namespace(cfg));

	free(in);
	return o;
}

static void note_plugin(struct kz_ctx *ctx, struct kz_resmap *ra, const struct mf_node *cfg,
			const char *file)
{
	struct mf_node *o = kz_origin_plugin(ctx, cfg, file);

	kz_resmap_note_transformer(ra, o, 1);
	mf_node_free(o);
}

/* A builtin transformer of the kustomization ran `times` times (kustomize
 * configures one plugin per patch, image, ...): record it. */
static void note_builtin(struct kz_ctx *ctx, struct kz_resmap *ra, const char *kind, size_t times)
{
	struct mf_node *o;

	if (!ctx->origins || !times)
		return;
	o = kz_origin_builtin(ctx, ctx->kust_file, kind);
	kz_resmap_note_transformer(ra, o, times);
	mf_node_free(o);
}

static int run_transformer_files(struct kz_ctx *ctx, struct kz_resmap *ra, const char *dir,
				 const struct mf_node *list, struct gs_error *err)
{
	size_t i, j;
	int rc = GS_OK;

	for (i = 0; rc == GS_OK && i < mf_node_len(list); i++) {
		struct mf_docs docs = MF_DOCS_INIT;
		char *path = NULL;
		const struct mf_node *e = mf_node_at(list, i);
		const char *s = mf_node_str(e);

		if (s && strchr(s, '\n')) {
			rc = kz_parse_yaml(ctx, &docs, s, strlen(s), mf_node_pos(e)->file, err);
			path = gs_strdup(dir);
		} else if ((rc = kz_join_restricted(ctx, &path, dir, e, err)) == GS_OK) {
			if (kz_fs_stat(ctx->fs, path) == KZ_FS_DIR)
				rc = gs_error_at(err, GS_EINVAL, mf_node_pos(e),
						 "transformer directories are not supported");
			else
				rc = kz_load_yaml(ctx, &docs, path, err);
		}
		for (j = 0; rc == GS_OK && j < docs.n; j++) {
			rc = run_builtin_transformer(ctx, ra, docs.docs[j], dir,
						     mf_node_pos(docs.docs[j])->file, err);
			if (rc == GS_OK && ctx->origins)
				note_plugin(ctx, ra, docs.docs[j], s && strchr(s, '\n') ? NULL : s);
		}
		mf_docs_release(&docs);
		free(path);
	}
	return rc;
}

static bool only_header(const struct mf_node *k)
{
	size_t i;

	for (i = 0; i < mf_node_len(k); i++) {
		const char *key = mf_node_key(k, i);
		if (strcmp(key, "apiVersion") && strcmp(key, "kind"))
			return false;
	}
	return true;
}

static int add_vars(struct kz_ctx *ctx, const struct mf_node *vars, struct gs_error *err)
{
	size_t i, j;

	for (i = 0; i < mf_node_len(vars); i++) {
		const struct mf_node *v = mf_node_at(vars, i);
		const char *name = mf_node_str(mf_node_get(v, "name"));
		const struct mf_node *ref = mf_node_get(v, "objref");
		struct kz_var *nv;
		const char *fp = mf_node_dig_str(v, "fieldref", "fieldPath", NULL);
		const char *av = mf_node_str(mf_node_get(ref, "apiVersion"));

		if (!name)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(v), "var needs a name");
		for (j = 0; j < ctx->nvars; j++)
			if (!strcmp(ctx->vars[j].name, name))
				return gs_error_at(err, GS_EINVAL, mf_node_pos(v),
						   "var '%s' already encountered", name);
		GS_ALLOC_GROW(ctx->vars, ctx->nvars + 1, ctx->avars);
		nv = &ctx->vars[ctx->nvars++];
		nv->name = gs_strdup(name);
		nv->kind = gs_strdup(mf_node_str(mf_node_get(ref, "kind")) ?
					     mf_node_str(mf_node_get(ref, "kind")) : "");
		nv->api_version = av ? gs_strdup(av) : NULL;
		nv->obj_name = gs_strdup(mf_node_str(mf_node_get(ref, "name")) ?
						 mf_node_str(mf_node_get(ref, "name")) : "");
		nv->obj_ns = mf_node_str(mf_node_get(ref, "namespace")) ?
				     gs_strdup(mf_node_str(mf_node_get(ref, "namespace"))) : NULL;
		nv->fieldpath = gs_strdup(fp ? fp : "metadata.name");
	}
	return GS_OK;
}

static int run_transformers(struct kz_ctx *ctx, struct kz_resmap *ra, const struct mf_node *k,
			    const char *dir, const char *file, struct gs_error *err)
{
	const struct mf_node *v;
	size_t i;
	int rc;

	/* note_builtin follows kustomize's configureBuiltinTransformers: one
	 * plugin per entry, in this order, only for fields that are set */
	if ((v = mf_node_get(k, "patchesStrategicMerge")) &&
	    (rc = kz_patches_strategic(ctx, ra, v, dir, err)) < 0)
		return rc;
	note_builtin(ctx, ra, "PatchStrategicMergeTransformer", mf_node_len(v) ? 1 : 0);
	if ((v = mf_node_get(k, "patches")) && (rc = kz_patches(ctx, ra, v, dir, false, err)) < 0)
		return rc;
	note_builtin(ctx, ra, "PatchTransformer", mf_node_len(v));
	if ((v = mf_node_get(k, "namespace")) && mf_node_str(v) && *mf_node_str(v)) {
		if ((rc = kz_transform_namespace(ctx, ra, mf_node_str(v), err)) < 0)
			return rc;
		note_builtin(ctx, ra, "NamespaceTransformer", 1);
	}
	if ((mf_node_str(mf_node_get(k, "namePrefix")) || mf_node_str(mf_node_get(k, "nameSuffix"))) &&
	    (rc = kz_transform_prefix_suffix(ctx, ra, mf_node_str(mf_node_get(k, "namePrefix")),
					     mf_node_str(mf_node_get(k, "nameSuffix")), NULL, err)) < 0)
		return rc;
	v = mf_node_get(k, "namePrefix");
	note_builtin(ctx, ra, "PrefixTransformer", mf_node_str(v) && *mf_node_str(v) ? 1 : 0);
	v = mf_node_get(k, "nameSuffix");
	note_builtin(ctx, ra, "SuffixTransformer", mf_node_str(v) && *mf_node_str(v) ? 1 : 0);
	if ((v = mf_node_get(k, "commonLabels")) && mf_node_len(v) &&
	    (rc = kz_transform_labels(ctx, ra, v, true, true, NULL, err)) < 0)
		return rc;
	v = mf_node_get(k, "labels");
	for (i = 0; i < mf_node_len(v); i++) {
		const struct mf_node *l = mf_node_at(v, i);
		struct kz_fslist extra = { 0 };

		if ((rc = kz_fslist_add_node(&extra, mf_node_get(l, "fields"), err)) == GS_OK)
			rc = kz_transform_labels(ctx, ra, mf_node_get(l, "pairs"),
						 mf_node_bool(mf_node_get(l, "includeSelectors")),
						 mf_node_bool(mf_node_get(l, "includeTemplates")),
						 extra.n ? &extra : NULL, err);
		kz_fslist_release(&extra);
		if (rc < 0)
			return rc;
	}
	/* one per `labels` entry plus the commonLabels one, once either is set */
	note_builtin(ctx, ra, "LabelTransformer",
		     mf_node_len(v) || mf_node_len(mf_node_get(k, "commonLabels")) ? mf_node_len(v) + 1
										: 0);
	if ((v = mf_node_get(k, "commonAnnotations")) && mf_node_len(v)) {
		if ((rc = kz_transform_annotations(ctx, ra, v, NULL, err)) < 0)
			return rc;
		note_builtin(ctx, ra, "AnnotationsTransformer", 1);
	}
	if ((v = mf_node_get(k, "patchesJson6902")) &&
	    (rc = kz_patches(ctx, ra, v, dir, true, err)) < 0)
		return rc;
	note_builtin(ctx, ra, "PatchJson6902Transformer", mf_node_len(v));
	if ((v = mf_node_get(k, "replicas")) &&
	    (rc = kz_transform_replicas(ctx, ra, v, file, err)) < 0)
		return rc;
	note_builtin(ctx, ra, "ReplicaCountTransformer", mf_node_len(v));
	if ((v = mf_node_get(k, "images")) && (rc = kz_transform_images(ctx, ra, v, err)) < 0)
		return rc;
	note_builtin(ctx, ra, "ImageTagTransformer", mf_node_len(v));
	if ((v = mf_node_get(k, "imageTags")) && (rc = kz_transform_images(ctx, ra, v, err)) < 0)
		return rc;
	note_builtin(ctx, ra, "ImageTagTransformer", mf_node_len(v));
	if ((v = mf_node_get(k, "replacements")) &&
	    (rc = kz_replacements(ctx, ra, v, dir, err)) < 0)
		return rc;
	note_builtin(ctx, ra, "ReplacementTransformer", mf_node_len(v) ? 1 : 0);
	if ((v = mf_node_get(k, "transformers")) &&
	    (rc = run_transformer_files(ctx, ra, dir, v, err)) < 0)
		return rc;
	return GS_OK;
}


static int build_kustomization(struct kz_ctx *ctx, const char *dir, const char *kpath,
			       const struct mf_node *k, bool component, struct kz_resmap *ra,
			       struct gs_error *err)
{
	const char *kind = mf_node_str(mf_node_get(k, "kind"));
	const char *file = kz_intern(ctx, kpath);
	const struct mf_node *v;
	size_t i;
	int rc;

	if (component && (!kind || strcmp(kind, "Component")))
		return gs_error_at(err, GS_EINVAL, mf_node_pos(k),
				   "accumulating components: expected kind 'Component' for path '%s' but got '%s'",
				   *dir ? dir : ".", kind ? kind : "Kustomization");
	/* a Component builds as the root (kubectl kustomize accepts it), never
	 * as a resource */
	if (!component && ctx->depth > 1 && kind && !strcmp(kind, "Component"))
		return gs_error_at(err, GS_EINVAL, mf_node_pos(k),
				   "expected kind 'Kustomization' for path '%s' but got 'Component'",
				   *dir ? dir : ".");
	if (kind && strcmp(kind, "Component") && strcmp(kind, "Kustomization"))
		return gs_error_at(err, GS_EINVAL, mf_node_pos(mf_node_get(k, "kind")),
				   "unknown kustomization kind '%s'", kind);
	if (only_header(k))
		return gs_error_at(err, GS_EINVAL, mf_node_pos(k), "kustomization.yaml is empty");

	kz_resmap_index_begin(ra); /* no id changes until the transformers */
	v = mf_node_get(k, "resources");
	for (i = 0; i < mf_node_len(v); i++)
		if ((rc = accumulate_resource(ctx, dir, mf_node_at(v, i), ra, err)) < 0)
			return rc;
	v = mf_node_get(k, "bases");
	for (i = 0; i < mf_node_len(v); i++)
		if ((rc = accumulate_resource(ctx, dir, mf_node_at(v, i), ra, err)) < 0)
			return rc;
	kz_resmap_index_end(ra);
	/* what changes ctx for every later build (see build_base) */
	if (mf_node_get(k, "configurations") || mf_node_get(k, "openapi") ||
	    mf_node_get(k, "crds") || mf_node_get(k, "vars"))
		ctx->epoch++;
	if ((rc = load_configurations(ctx, dir, mf_node_get(k, "configurations"), err)) < 0)
		return rc;
	if ((mf_node_get(k, "openapi") || mf_node_get(k, "crds")) &&
	    (rc = kz_load_openapi(ctx, dir, mf_node_get(k, "openapi"), mf_node_get(k, "crds"),
				  err)) < 0)
		return rc;
	if ((rc = kz_generate(ctx, ra, k, dir, err)) < 0)
		return rc;
	/* kustomize's built-in generators run in this order: ConfigMap,
	 * Secret, HelmChartInflation; then those listed under generators */
	if ((rc = kz_helm_generate(ctx, ra, k, dir, file, err)) < 0)
		return rc;
	if ((v = mf_node_get(k, "generators")) &&
	    (rc = kz_run_generator_files(ctx, ra, dir, v, err)) < 0)
		return rc;
	v = mf_node_get(k, "components");
	for (i = 0; i < mf_node_len(v); i++) {
		char *cdir = NULL;
		const char *rel = mf_node_str(mf_node_at(v, i));

		if (!rel || !*rel)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(mf_node_at(v, i)),
					   "component entry must be a non-empty path");
		if ((rc = kz_path_join(&cdir, dir, rel, err)) < 0)
			return gs_error_at(err, rc, mf_node_pos(mf_node_at(v, i)),
					   "component '%s' escapes the repository root", rel);
		if (kz_fs_stat(ctx->fs, cdir) != KZ_FS_DIR) {
			rc = gs_error_at(err, GS_ENOTFOUND, mf_node_pos(mf_node_at(v, i)),
					 "accumulating components: '%s' is not a directory", rel);
		} else {
			char *saved = ctx->origin_path;

			if (ctx->origins)
				ctx->origin_path = kz_origin_join(saved, rel);
			rc = build_dir(ctx, cdir, true, ra, err);
			if (ctx->origins) {
				free(ctx->origin_path);
				ctx->origin_path = saved;
			}
		}
		free(cdir);
		if (rc < 0)
			return rc;
	}
	if ((rc = run_transformers(ctx, ra, k, dir, file, err)) < 0)
		return rc;
	if ((v = mf_node_get(k, "vars")) && (rc = add_vars(ctx, v, err)) < 0)
		return rc;
	return GS_OK;
}

static int build_dir(struct kz_ctx *ctx, const char *dir, bool component, struct kz_resmap *ra,
		     struct gs_error *err)
{
	char *kpath = NULL, *qdir;
	struct mf_docs docs = MF_DOCS_INIT;
	struct mf_node *k = NULL;
	const char *saved_kfile;
	size_t i;
	int rc;

	/* a remote's directories are not the checkout's: compare qualified */
	qdir = gs_asprintf("%s\n%s", ctx->display_root ? ctx->display_root : "", dir);
	for (i = 0; i < ctx->depth; i++)
		if (!strcmp(ctx->stack[i], qdir)) {
			free(qdir);
			return gs_error_set(err, GS_EINVAL,
					    "cycle detected: '%s' includes itself through its resources",
					    *dir ? dir : ".");
		}
	if (ctx->depth >= KZ_MAX_DEPTH || ++ctx->n_builds > KZ_MAX_BUILDS) {
		free(qdir);
		return gs_error_set(err, GS_ELIMIT, "too many nested kustomizations at '%s'", dir);
	}
	if ((rc = find_kustomization(ctx->fs, dir, &kpath, err)) < 0) {
		free(qdir);
		return rc;
	}
	if ((rc = load_yaml(ctx, &docs, kpath, false, err)) < 0)
		goto cleanup;
	if (docs.n > 1) {
		rc = gs_error_at(err, GS_EINVAL, mf_node_pos(docs.docs[1]),
				 "kustomization file holds more than one document");
		goto cleanup;
	}
	k = docs.n ? mf_docs_take(&docs, 0) : mf_node_new(MF_MAP);
	if (mf_node_type(k) != MF_MAP) {
		struct mf_pos pos = *mf_node_pos(k);
		if (!pos.file)
			pos.file = kz_intern(ctx, kpath);
		rc = gs_error_at(err, GS_EINVAL, &pos, "invalid Kustomization: not a map");
		goto cleanup;
	}
	if ((rc = kz_kustomization_validate(k, kz_intern(ctx, kpath), err)) < 0)
		goto cleanup;
	GS_ALLOC_GROW(ctx->stack, ctx->depth + 1, ctx->astack);
	ctx->stack[ctx->depth++] = qdir;
	qdir = NULL;
	if (ctx->depth > ctx->deepest)
		ctx->deepest = ctx->depth;
	saved_kfile = ctx->kust_file;
	ctx->kust_file = strrchr(kpath, '/') ? strrchr(kpath, '/') + 1 : kpath;
	rc = build_kustomization(ctx, dir, kpath, k, component, ra, err);
	if (rc == GS_OK) {
		size_t nodes = 0;

		for (i = 0; i < ra->n; i++)
			nodes += mf_node_count(ra->v[i]->obj);
		rc = kz_budget_charge(ctx, nodes, false, kpath, err);
	}
	ctx->kust_file = saved_kfile;
	free(ctx->stack[--ctx->depth]);
cleanup:
	free(qdir);
	mf_node_free(k);
	mf_docs_release(&docs);
	free(kpath);
	return rc;
}

int kz_build_dir(struct kz_ctx *ctx, const char *dir, struct kz_resmap *ra, struct gs_error *err)
{
	return build_dir(ctx, dir, false, ra, err);
}

/* Strip kustomize's internal bookkeeping before output. */
static void finish_object(struct mf_node *obj)
{
	struct mf_node *ann = mf_node_dig(obj, "metadata", "annotations", NULL);

	if (ann && mf_node_type(ann) == MF_MAP) {
		static const char *const internal[] = {
			"config.kubernetes.io/path", "config.kubernetes.io/index",
			"internal.config.kubernetes.io/path", "internal.config.kubernetes.io/index",
			"kustomize.config.k8s.io/needs-hash", "kustomize.config.k8s.io/behavior",
			"config.k8s.io/id", "internal.config.kubernetes.io/id",
		};
		size_t i;

		for (i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
			mf_node_remove(ann, internal[i]);
		/* kustomize drops an annotations map that ends up empty */
		if (mf_node_len(ann) == 0)
			mf_node_remove(mf_node_get(obj, "metadata"), "annotations");
	} else if (ann && mf_node_type(ann) == MF_NULL) {
		/* so does `annotations: null` (its annotation filters rewrite the
		 * map); `labels: null` stays */
		mf_node_remove(mf_node_get(obj, "metadata"), "annotations");
	}
}


static void ctx_release(struct kz_ctx *ctx)
{
	size_t i;

	kz_config_release(&ctx->cfg);
	memo_release(ctx);
	free(ctx->intern);
	free(ctx->origin_path);
	for (i = 0; i < ctx->depth; i++)
		free(ctx->stack[i]);
	free(ctx->stack);
	for (i = 0; i < ctx->nvars; i++) {
		free(ctx->vars[i].name);
		free(ctx->vars[i].kind);
		free(ctx->vars[i].api_version);
		free(ctx->vars[i].obj_name);
		free(ctx->vars[i].obj_ns);
		free(ctx->vars[i].fieldpath);
	}
	free(ctx->vars);
	kz_remote_release(ctx);
}

static int emit_resmap(struct kz_output *out, struct kz_resmap *ra, struct gs_error *err)
{
	size_t i;
	int rc = GS_OK;

	for (i = 0; i < ra->n; i++) {
		finish_object(ra->v[i]->obj);
		if (rc == GS_OK)
			rc = kz_normalize(ra->v[i]->obj, err);
	}
	if (rc < 0)
		return rc;
	for (i = 0; i < ra->n; i++) {
		GS_ALLOC_GROW(out->docs.docs, out->docs.n + 1, out->docs.alloc);
		out->docs.docs[out->docs.n++] = ra->v[i]->obj;
		ra->v[i]->obj = NULL;
	}
	return GS_OK;
}

static int build_top(struct kz_output *out, const struct kz_fs *fs, const char *dir,
		     const struct kz_budget *budget, const struct kz_hooks *hooks,
		     struct kz_cost *cost, struct gs_error *err)
{
	struct kz_ctx ctx;
	struct kz_resmap ra = { 0 };
	char *kpath = NULL;
	struct mf_docs kdocs = MF_DOCS_INIT;
	size_t ndocs = out->docs.n;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.fs = fs;
	ctx.out = out;
	if (hooks)
		ctx.hooks = *hooks;
	budget_init(&ctx, budget);
	kz_config_init_defaults(&ctx.cfg);
	/* sortOptions and buildMetadata only count in the top kustomization */
	if ((rc = find_kustomization(fs, dir, &kpath, err)) < 0 ||
	    (rc = load_yaml(&ctx, &kdocs, kpath, false, err)) < 0)
		goto cleanup;
	if (kdocs.n && mf_node_len(mf_node_get(kdocs.docs[0], "buildMetadata"))) {
		ctx.origins = true;
		ctx.origin_path = gs_strdup("");
	}
	if ((rc = build_dir(&ctx, dir, false, &ra, err)) < 0)
		goto cleanup;
	if ((rc = kz_hash_names(&ra, err)) < 0)
		goto cleanup;
	if ((rc = kz_nameref_fix(&ctx, &ra, err)) < 0)
		goto cleanup;
	if ((rc = kz_vars_resolve(&ctx, &ra, err)) < 0)
		goto cleanup;
	if ((rc = kz_sort(&ra, kdocs.n ? mf_node_get(kdocs.docs[0], "sortOptions") : NULL, err)) < 0)
		goto cleanup;
	if (kdocs.n && (rc = kz_build_metadata(&ctx, &ra, mf_node_get(kdocs.docs[0], "buildMetadata"),
					       err)) < 0)
		goto cleanup;
	rc = emit_resmap(out, &ra, err);
cleanup:
	if (rc < 0) {
		while (out->docs.n > ndocs)
			mf_node_free(out->docs.docs[--out->docs.n]);
	}
	mf_docs_release(&kdocs);
	free(kpath);
	kz_resmap_release(&ra);
	if (cost)
		*cost = ctx.cost;
	ctx_release(&ctx);
	return rc;
}

int kz_build(struct kz_output *out, const struct kz_fs *fs, const char *dir,
	     struct gs_error *err)
{
	return build_top(out, fs, dir, NULL, NULL, NULL, err);
}

/* ---- plain manifests (Argo CD directory semantics) ---- */

static bool manifest_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static int render_file(struct kz_ctx *ctx, struct kz_resmap *ra, const char *path,
		       struct gs_error *err)
{
	struct mf_docs docs = MF_DOCS_INIT;
	int rc;

	if ((rc = kz_load_yaml(ctx, &docs, path, err)) == GS_OK)
		rc = kz_docs_to_resmap(ra, &docs, kz_intern(ctx, path), false, err);
	mf_docs_release(&docs);
	return rc;
}

static int render_plain_dir(struct kz_ctx *ctx, struct kz_resmap *ra, const char *dir,
			    bool recurse, unsigned depth, struct gs_error *err)
{
	char **names = NULL;
	bool *is_dir = NULL;
	size_t n = 0, i;
	int rc;

	if (depth > KZ_MAX_DEPTH)
		return gs_error_set(err, GS_ELIMIT, "directory tree too deep at '%s'", dir);
	if ((rc = kz_fs_list(ctx->fs, dir, &names, &is_dir, &n, err)) < 0)
		return rc;
	for (i = 0; rc == GS_OK && i < n; i++) {
		char *child = NULL;

		if (names[i][0] == '.')
			continue;
		if ((rc = kz_path_join(&child, dir, names[i], err)) < 0)
			break;
		if (is_dir[i]) {
			if (recurse)
				rc = render_plain_dir(ctx, ra, child, recurse, depth + 1, err);
		} else if (manifest_name(names[i])) {
			rc = render_file(ctx, ra, child, err);
		}
		free(child);
	}
	kz_fs_list_free(names, is_dir, n);
	return rc;
}

int kz_render(struct kz_output *out, const struct kz_fs *fs, const char *path, unsigned flags,
	      struct gs_error *err)
{
	return kz_render_budget(out, fs, path, flags, NULL, NULL, err);
}

int kz_render_budget(struct kz_output *out, const struct kz_fs *fs, const char *path,
		     unsigned flags, const struct kz_budget *budget, struct kz_cost *cost,
		     struct gs_error *err)
{
	return kz_render_hooks(out, fs, path, flags, budget, NULL, cost, err);
}

int kz_render_hooks(struct kz_output *out, const struct kz_fs *fs, const char *path,
		    unsigned flags, const struct kz_budget *budget, const struct kz_hooks *hooks,
		    struct kz_cost *cost, struct gs_error *err)
{
	struct kz_ctx ctx;
	struct kz_resmap ra = { 0 };
	char *kpath = NULL;
	enum kz_fs_kind kind = kz_fs_stat(fs, path);
	int rc;

	if (kind == KZ_FS_NONE)
		return gs_error_set(err, GS_ENOTFOUND, "'%s': no such file or directory",
				    *path ? path : ".");
	if (kind == KZ_FS_DIR) {
		rc = find_kustomization(fs, path, &kpath, err);
		free(kpath);
		if (rc != GS_ENOTFOUND)
			return rc < 0 ? rc : build_top(out, fs, path, budget, hooks, cost, err);
		gs_error_clear(err);
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.fs = fs;
	ctx.out = out;
	budget_init(&ctx, budget);
	kz_resmap_index_begin(&ra);
	if (kind == KZ_FS_DIR)
		rc = render_plain_dir(&ctx, &ra, path, flags & KZ_RENDER_RECURSE, 0, err);
	else
		rc = render_file(&ctx, &ra, path, err);
	kz_resmap_index_end(&ra);
	if (rc == GS_OK)
		rc = emit_resmap(out, &ra, err);
	kz_resmap_release(&ra);
	if (cost)
		*cost = ctx.cost;
	ctx_release(&ctx);
	return rc;
}
