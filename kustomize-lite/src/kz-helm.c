/* kz-helm.c - a kustomization's helmCharts: each entry resolved the way
 * kustomize v5's HelmChartInflationGenerator resolves it (chart home,
 * values file, valuesInline merged per valuesMerge, additional values
 * files), handed to the caller's helm hook, and helm's output added to the
 * resources like a generator's.  kustomize-lite runs no process itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"
#include "mf-yaml.h"

static void merge2(struct mf_node *dest, const struct mf_node *src);

/* merge2 of two values at one key: src wins and maps merge; lists are
 * replaced (checked against kustomize 5.7.1: a values list of maps with
 * names is not merged by name); returns the new value (owned) or NULL to
 * delete (a null in src clears the key). */
static struct mf_node *merge2_value(struct mf_node *dest, const struct mf_node *src)
{
	if (mf_node_type(src) == MF_NULL)
		return NULL;
	if (mf_node_type(src) == MF_MAP && mf_node_type(dest) == MF_MAP) {
		struct mf_node *d = mf_node_clone(dest);

		merge2(d, src);
		return d;
	}
	return mf_node_clone(src);
}

/* kyaml merge2.Merge(src, dest) on maps: dest updated in place. */
static void merge2(struct mf_node *dest, const struct mf_node *src)
{
	size_t i;

	for (i = 0; i < mf_node_len(src); i++) {
		const char *key = mf_node_key(src, i);
		struct mf_node *v = merge2_value(mf_node_get(dest, key), mf_node_at(src, i));

		if (v)
			mf_node_set(dest, key, v);
		else
			mf_node_remove(dest, key);
	}
}

static const char *str_or(const struct mf_node *chart, const char *key)
{
	const char *s = mf_node_str(mf_node_get(chart, key));

	return s ? s : "";
}

/* The values file kustomize writes for helm (createNewMergedValuesFile /
 * copyValuesFile) into *out; vpath is read through vfs (the tree, or a
 * pulled chart's directory) and named vfile in positions. */
static int chart_values(struct kz_ctx *ctx, const struct kz_fs *vfs, struct gs_buf *out,
			const struct mf_node *chart, const char *vpath, const char *vfile,
			const char *vshown, struct gs_error *err)
{
	const struct mf_node *inl = mf_node_get(chart, "valuesInline");
	const char *merge = str_or(chart, "valuesMerge");
	struct gs_buf file = GS_BUF_INIT;
	struct mf_docs docs = MF_DOCS_INIT;
	struct mf_node *vals = NULL;
	int rc;

	if (*merge && strcmp(merge, "merge") && strcmp(merge, "override") &&
	    strcmp(merge, "replace"))
		return gs_error_at(err, GS_EINVAL, mf_node_pos(mf_node_get(chart, "valuesMerge")),
				   "valuesMerge must be one of [merge override replace], not '%s'",
				   merge);
	if (inl && mf_node_type(inl) != MF_MAP && mf_node_type(inl) != MF_NULL)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(inl), "valuesInline must be a map");
	/* replace never reads the values file; the others do (kustomize too) */
	if (mf_node_len(inl) && !strcmp(merge, "replace")) {
		vals = mf_node_clone(inl);
		goto emit;
	}
	if ((rc = kz_fs_read(vfs, vpath, &file, err)) < 0) {
		if (rc == GS_ENOTFOUND)
			gs_error_set(err, rc, "values file '%s' not found (give valuesFile, or add "
					      "values.yaml to the chart)", vshown);
		goto cleanup;
	}
	if (!mf_node_len(inl)) {
		gs_buf_add(out, file.ptr, file.len);
		rc = GS_OK;
		goto cleanup;
	}
	if ((rc = kz_parse_yaml(ctx, &docs, file.ptr, file.len, kz_intern(ctx, vfile), err)) < 0)
		goto cleanup;
	vals = docs.n && mf_node_type(docs.docs[0]) == MF_MAP ? mf_docs_take(&docs, 0)
							       : mf_node_new(MF_MAP);
	if (!strcmp(merge, "merge")) {
		/* merge: the file wins, valuesInline only fills gaps */
		struct mf_node *d = mf_node_clone(inl);

		merge2(d, vals);
		mf_node_free(vals);
		vals = d;
	} else {
		merge2(vals, inl);
	}
emit:
	rc = GS_OK;
	if (mf_yaml_emit(out, vals, MF_EMIT_SORT_KEYS) < 0)
		rc = gs_error_at(err, GS_EINVAL, mf_node_pos(inl),
				 "valuesInline cannot be written as YAML");
cleanup:
	mf_node_free(vals);
	mf_docs_release(&docs);
	gs_buf_release(&file);
	return rc;
}

/* A list of strings of chart[key] (borrowed into an owned array). */
static const char **str_list(const struct mf_node *chart, const char *key, size_t *n)
{
	const struct mf_node *l = mf_node_get(chart, key);
	const char **v = gs_calloc(mf_node_len(l) + 1, sizeof(*v));
	size_t i;

	*n = 0;
	for (i = 0; i < mf_node_len(l); i++)
		if (mf_node_str(mf_node_at(l, i)))
			v[(*n)++] = mf_node_str(mf_node_at(l, i));
	return v;
}

/* An error without a place is placed at the chart's entry. */
static void where_chart(struct gs_error *err, const struct mf_node *chart)
{
	const struct mf_pos *pos = mf_node_pos(chart);

	if (err && !err->where[0] && pos && pos->file)
		snprintf(err->where, sizeof(err->where), "%s:%u", pos->file, pos->line);
}

/* A chart not in the tree, pulled by the caller's hook (as kustomize runs
 * `helm pull`, but into the caller's cache, never into the tree): *root,
 * *cdir (the chart relative to it) and *cfs (a confined view of root, for
 * its values.yaml) on success. */
static int pull_chart(struct kz_ctx *ctx, const struct mf_node *chart, const char *kfile,
		      char **root, char **cdir, struct kz_fs **cfs, struct gs_error *err)
{
	struct kz_chart_pull req = { kfile, str_or(chart, "name"), str_or(chart, "repo"),
				     str_or(chart, "version") };
	const char *c;
	int rc;

	rc = ctx->hooks.pull(ctx->hooks.pull_arg, &req, root, cdir, err);
	if (rc == GS_OK && (!*root || (*root)[0] != '/' || !*cdir || (*cdir)[0] == '/'))
		rc = gs_error_set(err, GS_ERR, "the chart puller gave no chart directory");
	for (c = rc == GS_OK ? *cdir : ""; *c; c += strcspn(c, "/"), c += *c == '/')
		if (!strncmp(c, "..", 2) && (c[2] == '/' || !c[2]))
			rc = gs_error_set(err, GS_EINVAL, "the chart puller gave '%s'", *cdir);
	if (rc == GS_OK)
		rc = kz_fs_new_disk(cfs, *root, err);
	if (rc == GS_OK && (kz_fs_stat(*cfs, *cdir) != KZ_FS_DIR || !kz_fs_within(*cfs, *cdir, "")))
		rc = gs_error_set(err, GS_ENOTFOUND, "the pulled chart has no directory '%s' in '%s'",
				  *cdir, *root);
	if (rc < 0) {
		/* the kustomization is err->where (its file and line) */
		gs_error_wrap(err, "helmCharts '%s': pull from repo '%s'%s%s (anonymous, as "
				   "kustomize's helm pull)", req.name, req.repo,
			      *req.version ? " version " : " (latest)", req.version);
		where_chart(err, chart);
	}
	return rc;
}

/* Run one helmCharts entry and add its objects to ra. */
static int inflate(struct kz_ctx *ctx, struct kz_resmap *ra, const struct mf_node *chart,
		   const struct mf_node *globals, const char *dir, const char *kfile,
		   struct gs_error *err)
{
	struct kz_helm_chart req;
	const char *name = str_or(chart, "name"), *home = str_or(globals, "chartHome");
	const char *vfile = str_or(chart, "valuesFile");
	char *home_dir = NULL, *chart_dir = NULL, *vpath = NULL, *sub = NULL, *shown = NULL;
	char *pulled_root = NULL, *pulled_dir = NULL, *vfile_name = NULL;
	struct kz_fs *pulled_fs = NULL;
	const char **add = NULL, **apis = NULL;
	char **add_paths = NULL;
	struct gs_buf values = GS_BUF_INIT, text = GS_BUF_INIT;
	struct mf_docs docs = MF_DOCS_INIT;
	struct kz_resmap tmp = { 0 };
	size_t n_add = 0, i, nodes = 0;
	int rc;

	memset(&req, 0, sizeof(req));
	if (!*name)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(chart),
				   "helmCharts: chart name cannot be empty");
	if (!*home)
		home = "charts"; /* kustomize's types.HelmDefaultHome */
	/* kustomize reads the chart's values through its load restrictor:
	 * the chart must lie in or below the kustomization's directory */
	if (home[0] == '/' || kz_path_join(&home_dir, dir, home, NULL) < 0 ||
	    !kz_path_within(home_dir, dir)) {
		rc = gs_error_at(err, GS_EINVAL, mf_node_pos(mf_node_get(globals, "chartHome")),
				 "helmGlobals.chartHome '%s' is not in or below the kustomization's "
				 "directory '%s' (kustomize's load restrictor; keep charts beside "
				 "the kustomization)", home, *dir ? dir : ".");
		goto cleanup;
	}
	if (*str_or(chart, "version") && *str_or(chart, "repo")) {
		char *versioned = gs_asprintf("%s-%s", name, str_or(chart, "version"));

		rc = kz_path_join(&sub, home_dir, versioned, NULL);
		free(versioned);
		free(home_dir);
		home_dir = sub;
		sub = NULL;
		if (rc < 0 || !kz_path_within(home_dir, dir))
			goto escape;
	}
	if (kz_path_join(&chart_dir, home_dir, name, NULL) < 0 || !kz_path_within(chart_dir, dir) ||
	    strchr(name, '/'))
		goto escape;
	if (kz_fs_stat(ctx->fs, chart_dir) != KZ_FS_NONE && !kz_fs_within(ctx->fs, chart_dir, dir))
		goto escape;
	if (kz_fs_stat(ctx->fs, chart_dir) != KZ_FS_DIR && *str_or(chart, "repo") &&
	    ctx->hooks.pull) {
		if ((rc = pull_chart(ctx, chart, kfile, &pulled_root, &pulled_dir, &pulled_fs,
				     err)) < 0)
			goto cleanup;
	} else if (kz_fs_stat(ctx->fs, chart_dir) != KZ_FS_DIR) {
		if (!*str_or(chart, "repo"))
			rc = gs_error_at(err, GS_ENOTFOUND, mf_node_pos(chart),
					 "helmCharts '%s': no repo specified for pull, no chart found "
					 "at '%s'", name, chart_dir);
		else
			rc = gs_error_at(err, GS_ENOTFOUND, mf_node_pos(chart),
					 "helmCharts '%s': the chart is not in '%s' and gitsync does "
					 "not pull charts for kustomize (repo '%s'): vendor it with "
					 "`helm pull --untar --untardir %s --repo %s %s%s%s` and commit it",
					 name, chart_dir, str_or(chart, "repo"), home_dir,
					 str_or(chart, "repo"), name,
					 *str_or(chart, "version") ? " --version " : "",
					 str_or(chart, "version"));
		goto cleanup;
	}
	/* valuesFile: relative to the kustomization, confined to it */
	if (*vfile) {
		if ((rc = kz_join_restricted(ctx, &vpath, dir, mf_node_get(chart, "valuesFile"),
					     err)) < 0)
			goto cleanup;
		shown = gs_strdup(vfile);
	} else if (pulled_fs) {
		/* the pulled chart's own values.yaml, confined to its directory */
		vpath = gs_asprintf("%s/values.yaml", pulled_dir);
		shown = gs_asprintf("%s/%s", pulled_root, vpath);
		vfile_name = gs_strdup(shown);
		if (kz_fs_stat(pulled_fs, vpath) != KZ_FS_NONE &&
		    !kz_fs_within(pulled_fs, vpath, pulled_dir)) {
			rc = gs_error_at(err, GS_EINVAL, mf_node_pos(chart),
					 "helmCharts '%s': security; the pulled chart's values.yaml "
					 "'%s' is a link out of the chart", name, shown);
			goto cleanup;
		}
	} else {
		vpath = gs_asprintf("%s/values.yaml", chart_dir);
		shown = gs_strdup(vpath);
		if (kz_fs_stat(ctx->fs, vpath) != KZ_FS_NONE && !kz_fs_within(ctx->fs, vpath, dir))
			goto escape;
	}
	if ((rc = chart_values(ctx, pulled_fs && !*vfile ? pulled_fs : ctx->fs, &values, chart,
			       vpath, vfile_name ? vfile_name : vpath, shown, err)) < 0) {
		gs_error_wrap(err, "helmCharts '%s'", name);
		where_chart(err, chart);
		goto cleanup;
	}
	add = str_list(chart, "additionalValuesFiles", &n_add);
	add_paths = gs_calloc(n_add + 1, sizeof(*add_paths));
	for (i = 0; i < n_add; i++) {
		const struct mf_node *e = mf_node_at(mf_node_get(chart, "additionalValuesFiles"), i);

		if ((rc = kz_join_restricted(ctx, &add_paths[i], dir, e, err)) < 0)
			goto cleanup;
		if (kz_fs_stat(ctx->fs, add_paths[i]) != KZ_FS_FILE) {
			rc = gs_error_at(err, GS_ENOTFOUND, mf_node_pos(e),
					 "helmCharts '%s': could not load additionalValuesFile '%s'",
					 name, add[i]);
			goto cleanup;
		}
	}
	req.kustomization = kfile;
	req.root = kz_fs_root(ctx->fs);
	req.chart_dir = pulled_dir ? pulled_dir : chart_dir;
	req.chart_root = pulled_root ? pulled_root : "";
	req.name = name;
	req.version = str_or(chart, "version");
	req.repo = str_or(chart, "repo");
	req.release_name = str_or(chart, "releaseName");
	req.namespace = str_or(chart, "namespace");
	req.name_template = str_or(chart, "nameTemplate");
	req.values = values.ptr;
	req.values_files = (const char *const *)add_paths;
	req.n_values_files = n_add;
	apis = str_list(chart, "apiVersions", &req.n_api_versions);
	req.api_versions = apis;
	req.kube_version = str_or(chart, "kubeVersion");
	req.config_home = str_or(globals, "configHome");
	req.include_crds = mf_node_bool(mf_node_get(chart, "includeCRDs"));
	req.skip_tests = mf_node_bool(mf_node_get(chart, "skipTests"));
	req.skip_hooks = mf_node_bool(mf_node_get(chart, "skipHooks"));
	text.max = (size_t)64 << 20;
	if ((rc = ctx->hooks.helm(ctx->hooks.helm_arg, &req, &text, err)) < 0) {
		gs_error_wrap(err, "helmCharts '%s' (%s)", name, chart_dir);
		where_chart(err, chart);
		goto cleanup;
	}
	{
		char *file = gs_asprintf("%s (helm template)", chart_dir);
		const char *f = kz_intern(ctx, file);

		free(file);
		if ((rc = kz_parse_yaml(ctx, &docs, text.ptr, text.len, f, err)) < 0) {
			gs_error_wrap(err, "helmCharts '%s': helm's output", name);
			goto cleanup;
		}
		/* empty documents (a template that rendered nothing) are skipped */
		for (i = 0; i < docs.n;) {
			if (mf_node_type(docs.docs[i]) == MF_NULL) {
				mf_node_free(mf_docs_take(&docs, i));
				continue;
			}
			nodes += mf_node_count(docs.docs[i]);
			i++;
		}
		if ((rc = kz_budget_charge(ctx, nodes, true, f, err)) < 0)
			goto cleanup;
		if ((rc = kz_docs_to_resmap(&tmp, &docs, f, true, err)) < 0)
			goto cleanup;
	}
	if (ctx->origins) {
		struct mf_node *origin =
			kz_origin_builtin(ctx, ctx->kust_file, "HelmChartInflationGenerator");

		for (i = 0; i < tmp.n; i++)
			kz_res_set_origin_default(tmp.v[i], origin);
		mf_node_free(origin);
	}
	rc = kz_resmap_absorb(ra, &tmp, err);
	goto cleanup;
escape:
	rc = gs_error_at(err, GS_EINVAL, mf_node_pos(chart),
			 "helmCharts '%s': security; the chart '%s' is not in or below the "
			 "kustomization's directory '%s' (symlinks are followed)",
			 name, chart_dir ? chart_dir : home_dir ? home_dir : home, *dir ? dir : ".");
cleanup:
	if (add_paths)
		for (i = 0; i < n_add; i++)
			free(add_paths[i]);
	free(add_paths);
	free(add);
	free(apis);
	free(home_dir);
	free(chart_dir);
	free(vpath);
	free(sub);
	free(shown);
	free(pulled_root);
	free(pulled_dir);
	free(vfile_name);
	kz_fs_free(pulled_fs);
	gs_buf_release(&values);
	gs_buf_release(&text);
	mf_docs_release(&docs);
	kz_resmap_release(&tmp);
	return rc;
}

int kz_helm_generate(struct kz_ctx *ctx, struct kz_resmap *ra, const struct mf_node *k,
		     const char *dir, const char *kfile, struct gs_error *err)
{
	const struct mf_node *charts = mf_node_get(k, "helmCharts");
	size_t i;
	int rc;

	if (mf_node_len(mf_node_get(k, "helmChartInflationGenerator")))
		return gs_error_at(err, GS_EINVAL,
				   mf_node_pos(mf_node_get(k, "helmChartInflationGenerator")),
				   "helmChartInflationGenerator (deprecated) is not supported: "
				   "write the charts under helmCharts");
	if (!mf_node_len(charts))
		return GS_OK;
	if (!ctx->hooks.helm)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(charts),
				   "helmCharts need helm, which is not enabled here (must specify "
				   "--enable-helm: `gitsync render --enable-helm [--helm-command "
				   "PATH]`, or give the agent a helm binary: --helm or GITSYNC_HELM)");
	for (i = 0; i < mf_node_len(charts); i++)
		if ((rc = inflate(ctx, ra, mf_node_at(charts, i), mf_node_get(k, "helmGlobals"),
				  dir, kfile, err)) < 0)
			return rc;
	return GS_OK;
}
