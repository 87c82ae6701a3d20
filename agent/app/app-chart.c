/* app-chart.c - an Application whose chart comes from a chart repository
 * (spec.source.chart + repoURL, an index.yaml over HTTP(S) or oci://), and
 * Argo CD's multi-source form: spec.sources with one chart source and Git
 * sources named by `ref`, whose files value files reach as
 * "$<ref>/path/values.yaml".
 *
 * The chart is pulled into the chart cache (helm-repo.h: by digest) and
 * rendered by app_helm_render like a chart in Git.  Value files from ref
 * sources are confined to their repository's export, then copied with the
 * chart (hard links) into a private staging directory, because helm's
 * runner confines every path to one root.  The revision an app reports is
 * the chart version picked (status.sync.revision, history), as in Argo CD,
 * so a rollback pins that exact version. */
#include "app/app.h"
#include "app/app-helm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "helm/helm-repo.h"
#include "helm/helm.h"
#include "kz-build.h"
#include "mf-node.h"

const struct mf_node *app_chart_source(const struct mf_node *app)
{
	const struct mf_node *srcs = mf_node_dig(app, "spec", "sources", NULL);
	const struct mf_node *one = mf_node_dig(app, "spec", "source", NULL);
	size_t i;

	if (mf_node_dig_str(one, "chart", NULL))
		return one;
	for (i = 0; i < mf_node_len(srcs); i++)
		if (mf_node_dig_str(mf_node_at(srcs, i), "chart", NULL))
			return mf_node_at(srcs, i);
	return NULL;
}

/* One Git source named by `ref`, fetched and exported. */
struct ref_src {
	const char *name; /* borrowed from the app */
	struct gitsrc_result git;
	char *real;       /* realpath of the export */
};

/* The ref source called name among spec.sources, fetched on first use. */
static int ref_get(struct ref_src **out, struct ref_src *refs, size_t *n, struct app_env *env,
		   const struct mf_node *app, const char *name, size_t name_len,
		   unsigned git_flags, struct gs_error *err)
{
	const struct mf_node *srcs = mf_node_dig(app, "spec", "sources", NULL);
	const struct mf_node *src = NULL;
	struct app_creds c;
	struct gitsrc_auth auth;
	const char *url, *rev;
	size_t i;
	int r;

	for (i = 0; i < *n; i++) {
		if (strlen(refs[i].name) == name_len && !strncmp(refs[i].name, name, name_len)) {
			*out = &refs[i];
			return GS_OK;
		}
	}
	for (i = 0; i < mf_node_len(srcs) && !src; i++) {
		const char *ref = mf_node_dig_str(mf_node_at(srcs, i), "ref", NULL);

		if (ref && strlen(ref) == name_len && !strncmp(ref, name, name_len))
			src = mf_node_at(srcs, i);
	}
	if (!src)
		return gs_error_set(err, GS_EINVAL,
				    "value file '$%.*s/...': no source in spec.sources has "
				    "ref: %.*s (add one with the repository holding the file)",
				    (int)name_len, name, (int)name_len, name);
	url = mf_node_dig_str(src, "repoURL", NULL);
	rev = mf_node_dig_str(src, "targetRevision", NULL);
	if (!url || !*url)
		return gs_error_set(err, GS_EINVAL, "spec.sources: ref '%.*s' has no repoURL",
				    (int)name_len, name);
	memset(&c, 0, sizeof(c));
	if ((r = app_source_auth(&c, &auth, env, app, url,
				 mf_node_dig_str(src, "secretRef", "name", NULL), err)) < 0)
		goto cleanup;
	refs[*n].name = mf_node_dig_str(src, "ref", NULL);
	refs[*n].git = (struct gitsrc_result)GITSRC_RESULT_INIT;
	refs[*n].real = NULL;
	if ((r = gitsrc_get(&refs[*n].git, env->git, url, rev ? rev : "", &auth, git_flags,
			    err)) < 0) {
		char *shown = gitsrc_url_redact(url);

		gs_error_wrap(err, "ref source '%s' (%s)", refs[*n].name, shown);
		free(shown);
		goto cleanup;
	}
	refs[*n].real = realpath(refs[*n].git.dir, NULL);
	if (!refs[*n].real) {
		gitsrc_result_release(&refs[*n].git);
		r = gs_error_set(err, GS_EIO, "ref source '%s': export missing", refs[*n].name);
		goto cleanup;
	}
	*out = &refs[(*n)++];
	r = GS_OK;
cleanup:
	app_creds_release(&c);
	return r;
}

static int copy_file(const char *from, const char *to, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	int fd, rc;

	b.max = (size_t)16 << 20;
	if ((rc = gs_buf_read_file(&b, from, err)) < 0)
		return rc;
	fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0 || write(fd, b.ptr, b.len) != (ssize_t)b.len || close(fd) < 0)
		rc = gs_error_set(err, GS_EIO, "stage '%s': %s", to, strerror(errno));
	gs_buf_release(&b);
	return rc;
}

static int mkdir_parents(const char *path)
{
	char *p = gs_strdup(path), *s = p + 1;
	int rc = 0;

	while ((s = strchr(s, '/'))) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			rc = -1;
		*s++ = '/';
	}
	free(p);
	return rc;
}

/* The staging tree: the chart's files hard-linked (copied across file
 * systems) from the chart cache, which holds only regular files and
 * directories (helm_repo_unpack). */
static int stage_chart(const char *from, const char *to, unsigned depth, struct gs_error *err)
{
	DIR *d;
	struct dirent *e;
	int rc = GS_OK;

	if (depth > 64)
		return gs_error_set(err, GS_ELIMIT, "stage chart: '%s' nests too deep", from);
	if (mkdir(to, 0755) < 0 && errno != EEXIST)
		return gs_error_set(err, GS_EIO, "stage chart: mkdir '%s': %s", to, strerror(errno));
	if (!(d = opendir(from)))
		return gs_error_set(err, GS_EIO, "stage chart: '%s': %s", from, strerror(errno));
	while (rc == GS_OK && (e = readdir(d))) {
		char *f, *t;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		f = gs_asprintf("%s/%s", from, e->d_name);
		t = gs_asprintf("%s/%s", to, e->d_name);
		if (lstat(f, &st) < 0)
			rc = gs_error_set(err, GS_EIO, "stage chart: '%s': %s", f, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = stage_chart(f, t, depth + 1, err);
		else if (S_ISREG(st.st_mode) && link(f, t) < 0)
			rc = copy_file(f, t, err);
		free(f);
		free(t);
	}
	closedir(d);
	return rc;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

/* Rewrite the chart source's "$ref/path" value files to copies under
 * stage/.values/<ref>/ (relative to the chart: "../.values/<ref>/path"),
 * each confined to its repository's export.  *staged: any were found. */
static int stage_values(struct mf_node *src, bool *staged, struct ref_src *refs, size_t *nrefs,
			struct app_env *env, const struct mf_node *app, const char *stage,
			unsigned git_flags, struct gs_error *err)
{
	struct mf_node *vf = mf_node_dig(src, "helm", "valueFiles", NULL);
	bool ignore_missing =
		mf_node_bool(mf_node_dig(src, "helm", "ignoreMissingValueFiles", NULL));
	size_t i = 0;
	int rc;

	*staged = false;
	while (i < mf_node_len(vf)) {
		const char *v = mf_node_str(mf_node_at(vf, i));
		const char *slash = v && v[0] == '$' ? strchr(v, '/') : NULL;
		struct ref_src *ref = NULL;
		char *real = NULL, *to = NULL, *rel = NULL;

		if (!slash) {
			i++;
			continue;
		}
		if ((rc = ref_get(&ref, refs, nrefs, env, app, v + 1, (size_t)(slash - v - 1),
				  git_flags, err)) < 0)
			return rc;
		rc = helm_path_confine(&real, ref->real, ref->real, slash + 1, "value file", err);
		if (rc == GS_ENOTFOUND && ignore_missing) {
			mf_node_remove_at(vf, i); /* as Argo CD: dropped */
			continue;
		}
		if (rc < 0)
			return gs_error_wrap(err, "value file '%s' (ref source '%s' at %.7s)", v,
					     ref->name, ref->git.rev.sha);
		/* the confined path, relative to the export: no "..", no links */
		rel = gs_asprintf(".values/%s%s", ref->name, real + strlen(ref->real));
		to = gs_asprintf("%s/%s", stage, rel);
		if (mkdir_parents(to) < 0)
			rc = gs_error_set(err, GS_EIO, "stage '%s': %s", to, strerror(errno));
		else if (access(to, F_OK) != 0) /* named twice: copied once */
			rc = copy_file(real, to, err);
		if (rc < 0) {
			free(real);
			free(to);
			free(rel);
			return rc;
		}
		{
			char *nv = gs_asprintf("../%s", rel);

			mf_node_set_str(mf_node_at(vf, i), nv);
			free(nv);
		}
		*staged = true;
		free(real);
		free(to);
		free(rel);
		i++;
	}
	return GS_OK;
}

int app_chart_load(struct app_source *out, struct app_env *env, const struct mf_node *app,
		   const char *revision, unsigned git_flags, struct gs_error *err)
{
	const struct mf_node *csrc = app_chart_source(app);
	const char *url = mf_node_dig_str(csrc, "repoURL", NULL);
	const char *chart = mf_node_dig_str(csrc, "chart", NULL);
	struct app_source s = APP_SOURCE_INIT;
	struct helm_chart_pull pull = HELM_CHART_PULL_INIT;
	struct helm_repo *hr = NULL;
	struct app_creds c;
	struct gitsrc_auth auth;
	struct mf_node *clone = NULL, *src;
	struct kz_output *kout = NULL;
	struct ref_src refs[8];
	size_t nrefs = 0, i;
	char *cache = NULL, *root = NULL, *dir = NULL, *stage = NULL, *shown = NULL;
	const char *render_root;
	bool staged = false;
	int r;

	memset(&c, 0, sizeof(c));
	memset(refs, 0, sizeof(refs));
	shown = gitsrc_url_redact(url ? url : "");
	if (mf_node_len(mf_node_dig(app, "spec", "sources", NULL)) > 8) {
		r = gs_error_set(err, GS_ELIMIT, "spec.sources: at most 8 sources");
		goto cleanup;
	}
	for (i = 0; i < mf_node_len(mf_node_dig(app, "spec", "sources", NULL)); i++) {
		const struct mf_node *o = mf_node_at(mf_node_dig(app, "spec", "sources", NULL), i);

		if (o != csrc && (!mf_node_dig_str(o, "ref", NULL) || mf_node_get(o, "path") ||
				  mf_node_get(o, "chart"))) {
			r = gs_error_set(err, GS_EINVAL,
					 "spec.sources[%zu]: besides the one chart source gitsync "
					 "takes only Git sources with `ref` and no path or chart "
					 "(value files as $ref/path)",
					 i);
			goto cleanup;
		}
	}
	if (!revision || !*revision)
		revision = mf_node_dig_str(csrc, "targetRevision", NULL);
	if ((r = app_source_auth(&c, &auth, env, app, url ? url : "",
				 mf_node_dig_str(csrc, "secretRef", "name", NULL), err)) < 0)
		goto cleanup;
	cache = gs_asprintf("%s/helm", env->git ? gitsrc_cache_dir(env->git) : "/tmp/gitsync-cache");
	if ((r = helm_repo_new(&hr, cache, err)) < 0)
		goto cleanup;
	helm_repo_set_pass_credentials(
		hr, mf_node_bool(mf_node_dig(csrc, "helm", "passCredentials", NULL)));
	if ((r = helm_repo_pull(&pull, hr, url, chart, revision, &auth, err)) < 0 ||
	    (r = helm_repo_unpack(&root, &dir, hr, &pull, err)) < 0) {
		gs_error_wrap(err, "chart '%s' from %s", chart ? chart : "", shown);
		goto cleanup;
	}
	/* render a copy of the app whose spec.source is the chart source */
	clone = mf_node_clone(app);
	src = mf_node_clone(csrc);
	mf_node_remove(mf_node_get(clone, "spec"), "sources");
	mf_node_set(mf_node_get(clone, "spec"), "source", src); /* now owned by clone */
	stage = gs_asprintf("%s/stage-XXXXXX", cache);
	if (!mkdtemp(stage)) {
		r = gs_error_set(err, GS_EIO, "staging directory in '%s': %s", cache,
				 strerror(errno));
		free(stage);
		stage = NULL;
		goto cleanup;
	}
	if ((r = stage_values(src, &staged, refs, &nrefs, env, app, stage, git_flags, err)) < 0)
		goto cleanup;
	render_root = root;
	if (staged) {
		char *from = gs_asprintf("%s/%s", root, dir);
		char *to = gs_asprintf("%s/%s", stage, dir);

		r = stage_chart(from, to, 0, err);
		free(from);
		free(to);
		if (r < 0)
			goto cleanup;
		render_root = stage;
	}
	kout = gs_calloc(1, sizeof(*kout));
	*kout = (struct kz_output)KZ_OUTPUT_INIT;
	if ((r = app_helm_render(kout, env, clone, render_root, dir, err)) < 0) {
		gs_error_wrap(err, "chart '%s' %s from %s", chart, pull.version, shown);
		goto cleanup;
	}
	/* the revision is the chart version, as in Argo CD's status */
	snprintf(s.git.rev.sha, sizeof(s.git.rev.sha), "%s", pull.version);
	snprintf(s.git.rev.ref, sizeof(s.git.rev.ref), "%s", pull.digest);
	s.render_dir = gs_asprintf("%s/%s", root, dir);
	s.n = kout->docs.n;
	s.objs = gs_calloc(s.n ? s.n : 1, sizeof(*s.objs));
	memcpy(s.objs, kout->docs.docs, s.n * sizeof(*s.objs));
	s.priv = kout;
	kout = NULL; /* now owned by s */
	*out = s;
	s = (struct app_source)APP_SOURCE_INIT;
	r = GS_OK;
cleanup:
	if (kout) {
		kz_output_release(kout);
		free(kout);
	}
	if (stage) {
		nftw(stage, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(stage);
	}
	for (i = 0; i < nrefs; i++) {
		gitsrc_result_release(&refs[i].git);
		free(refs[i].real);
	}
	app_source_release(&s);
	mf_node_free(clone);
	helm_chart_pull_release(&pull);
	helm_repo_free(hr);
	app_creds_release(&c);
	free(cache);
	free(root);
	free(dir);
	free(shown);
	return r;
}
