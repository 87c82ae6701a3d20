/* app-source.c - an Application's source: credentials, fetch, render, and
 * the sync options derived from its spec. */
#include "app/app.h"
#include "app/app-helm.h"
#include "app/app-project.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gs-time.h"
#include "gs-alloc.h"
#include "gs-base64.h"
#include "kz-build.h"
#include "kz-fs.h"
#include "mf-object.h"

void app_source_release(struct app_source *s)
{
	struct kz_output *out = s->priv;

	gitsrc_result_release(&s->git);
	mf_node_free(s->project);
	free(s->render_dir);
	free(s->objs);
	if (out) {
		kz_output_release(out);
		free(out);
	}
	*s = (struct app_source)APP_SOURCE_INIT;
}

/* Credentials read from a Secret: owned copies, wiped on release. */
#define CREDS_N APP_CREDS_N
#define creds app_creds

static void creds_release(struct creds *c)
{
	size_t i;

	for (i = 0; i < CREDS_N; i++) {
		if (c->v[i])
			memset(c->v[i], 0, strlen(c->v[i]));
		free(c->v[i]);
		c->v[i] = NULL;
	}
}

/* A Secret's data value as a C string (NULL when not base64) */
static char *b64_value(const char *s)
{
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;

	if (gs_base64_decode(&b, s, strlen(s), 0, &err) < 0) {
		gs_buf_release(&b);
		return NULL;
	}
	return gs_buf_detach(&b, NULL);
}

/* Keys of a repository Secret (Argo CD's names; caCert = caBundle). */
static int creds_from_secret(struct creds *c, struct gitsrc_auth *auth,
			     const struct mf_node *secret, struct gs_error *err)
{
	static const char *const keys[] = { "username", "password", "sshPrivateKey", "knownHosts",
					    "caBundle", "insecure", "token", "caCert" };
	const struct mf_node *data = mf_node_get(secret, "data");
	bool insecure = false;
	size_t i;

	for (i = 0; i < CREDS_N; i++) {
		const char *v = mf_node_dig_str(data, keys[i], NULL);

		if (v)
			c->v[i] = b64_value(v);
	}
	auth->username = c->v[0];
	auth->password = c->v[1] ? c->v[1] : c->v[6];
	auth->ssh_key = c->v[2];
	auth->known_hosts = c->v[3];
	auth->ca_bundle = c->v[4] ? c->v[4] : c->v[7];
	if (gitsrc_parse_bool(&insecure, "key 'insecure'", c->v[5], err) < 0)
		return gs_error_wrap(err, "Secret '%s'",
				     mf_node_dig_str(secret, "metadata", "name", NULL));
	auth->insecure_skip_tls_verify = insecure;
	return GS_OK;
}

/* The project a credentials Secret is scoped to (its key `project`, as
 * Argo CD's project-scoped repositories): owned, NULL when unscoped. */
static char *secret_project(const struct mf_node *secret)
{
	const char *v = mf_node_dig_str(secret, "data", "project", NULL);
	char *p = v ? b64_value(v) : NULL;

	if (p && !*p) {
		free(p);
		p = NULL;
	}
	return p;
}

static int load_secret_creds(struct creds *c, struct gitsrc_auth *auth, struct kube_client *kc,
			     const char *ns, const char *name, const char *project,
			     struct gs_error *err)
{
	struct mf_node *secret = NULL;
	const struct kube_resource *res;
	char *scope = NULL;
	int r;

	if ((r = kube_client_resource(kc, &res, "", "v1", "Secret", err)) < 0)
		return r;
	if ((r = kube_client_get(kc, &secret, res, ns, name, err)) < 0)
		return gs_error_wrap(err, "read Git credentials Secret '%s/%s'", ns, name);
	/* a Secret scoped to one project serves that project's apps only, even
	 * to an app of its namespace that names it */
	scope = secret_project(secret);
	if (scope && strcmp(scope, project))
		r = gs_error_set(err, GS_EAUTH,
				 "Git credentials Secret '%s/%s' is for project '%s' (its key "
				 "'project'), not this app's project '%s' (use a Secret of your "
				 "project in spec.source.secretRef)",
				 ns, name, scope, project);
	else
		r = creds_from_secret(c, auth, secret, err);
	free(scope);
	mf_node_free(secret);
	return r;
}

/* A credential template (Secret labelled gitsync.io/secret-type=repo-creds
 * in the agent's namespace, as Argo CD's): the one whose `url` is the
 * longest prefix of the app's repository, among those without a `project`
 * key and those whose `project` is the app's; at equal length the
 * project's own wins.  Another project's template is never a candidate. */
struct tmpl_pick {
	const char *url;
	const char *project;
	size_t best;
	bool best_scoped;
	struct mf_node *secret; /* owned clone */
};

static int pick_template(const struct mf_node *item, void *payload)
{
	struct tmpl_pick *p = payload;
	const char *u = mf_node_dig_str(item, "data", "url", NULL);
	char *prefix = u ? b64_value(u) : NULL;
	char *scope = secret_project(item);
	size_t n = prefix ? gitsrc_url_prefix_match(p->url, prefix) : 0;

	if (scope && strcmp(scope, p->project))
		n = 0;
	if (n && (n > p->best || (n == p->best && scope && !p->best_scoped))) {
		p->best = n;
		p->best_scoped = scope != NULL;
		mf_node_free(p->secret);
		p->secret = mf_node_clone(item);
	}
	free(scope);
	free(prefix);
	return 0;
}

static int load_template_creds(struct creds *c, struct gitsrc_auth *auth, bool *found,
			       struct app_env *env, const char *url, const char *project,
			       struct gs_error *err)
{
	struct tmpl_pick p = { url, project, 0, false, NULL };
	const struct kube_resource *res;
	const char *ns = env->ns;
	int r = APP_KEPT_UNKNOWN;

	*found = false;
	if (env->kept_creds)
		r = env->kept_creds(pick_template, &p, env->kept_payload);
	if (r == APP_KEPT_UNKNOWN) {
		if ((r = kube_client_resource(env->kc, &res, "", "v1", "Secret", err)) < 0)
			return r;
		r = kube_client_list(env->kc, res, ns, "gitsync.io/secret-type=repo-creds",
				     pick_template, &p, NULL, err);
	}
	if (r == GS_EAUTH) { /* not allowed to list them (a CLI user): there are none for us */
		mf_node_free(p.secret);
		return GS_OK;
	}
	if (r < 0) {
		mf_node_free(p.secret);
		return gs_error_wrap(err, "list Git credential templates in '%s'", ns);
	}
	if (!p.secret)
		return GS_OK;
	*found = true;
	r = creds_from_secret(c, auth, p.secret, err);
	if (r < 0)
		gs_error_wrap(err, "Git credential template '%s/%s'", ns,
			      mf_node_dig_str(p.secret, "metadata", "name", NULL));
	mf_node_free(p.secret);
	return r;
}

int app_source_auth(struct app_creds *c, struct gitsrc_auth *auth, struct app_env *env,
		    const struct mf_node *app, const char *url, const char *secret,
		    struct gs_error *err)
{
	/* secretRef: a Secret of the Application's own namespace; else a
	 * credential template of the agent's namespace; else the global
	 * settings, for the hosts they name */
	const char *app_ns = mf_node_dig_str(app, "metadata", "namespace", NULL);
	bool found = false;
	char *https = NULL;
	int r;

	memset(auth, 0, sizeof(*auth));
	if (secret && *secret)
		return load_secret_creds(c, auth, env->kc, app_ns && *app_ns ? app_ns : env->ns,
					 secret, app_project_name(app), err);
	/* an OCI registry (oci://host/path) matches templates and host lists
	 * as the https:// URL it is reached by */
	if (!strncmp(url, "oci://", 6))
		url = https = gs_asprintf("https://%s", url + 6);
	r = env->kc ? load_template_creds(c, auth, &found, env, url, app_project_name(app), err)
		    : GS_OK;
	if (r == GS_OK && !found)
		r = gitsrc_auth_from_env(auth, url, err);
	free(https);
	return r;
}

int app_env_project(struct mf_node **out, struct app_env *env, const char *name,
		    struct gs_error *err)
{
	if (env->kept_project && env->kept_project(out, name, env->kept_payload) == GS_OK)
		return GS_OK;
	/* not kept, or none: the server answers (with its own message) */
	return app_project_get(out, env->kc, env->projects_ns, name, err);
}

void app_creds_release(struct app_creds *c)
{
	creds_release(c);
}

/* "./a/b/" -> "a/b"; "" and "." -> "" (owned). */
static char *clean_path(const char *p)
{
	size_t len;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	if (!strcmp(p, "."))
		p = "";
	len = strlen(p);
	while (len && p[len - 1] == '/')
		len--;
	return gs_strndup(p, len);
}

/* The agent's render limits, raised or lowered for this app by its
 * annotations gitsync.io/render-max-{nodes,files,output} and
 * gitsync.io/render-timeout (a number, seconds for the timeout). */
static void app_render_limits(struct render_limits *lim, const struct render_limits *def,
			      const struct mf_node *app)
{
	static const char *const keys[] = { "gitsync.io/render-max-nodes",
					     "gitsync.io/render-max-files",
					     "gitsync.io/render-max-output", "gitsync.io/render-timeout" };
	const struct mf_node *ann = mf_node_dig(app, "metadata", "annotations", NULL);
	size_t i;

	memset(lim, 0, sizeof(*lim));
	if (def)
		*lim = *def;
	for (i = 0; i < 4; i++) {
		const char *v = mf_node_str(mf_node_get(ann, keys[i]));
		char *end = NULL;
		double d;

		if (!v || !*v)
			continue;
		d = strtod(v, &end);
		if (*end || !(d > 0) || d > 1e12)
			continue; /* a malformed value keeps the agent's limit */
		if (i == 0)
			lim->budget.max_nodes = (size_t)d;
		else if (i == 1)
			lim->budget.max_files = (size_t)d;
		else if (i == 2)
			lim->max_output = (size_t)d;
		else
			lim->budget.max_seconds = d;
	}
}

int app_remote_allowed(const struct mf_node *project, const char *url, struct gs_error *err)
{
	char *shown;

	if (app_glob_list_match(mf_node_dig(project, "spec", "sourceRepos", NULL), url))
		return GS_OK;
	shown = gitsrc_url_redact(url);
	gs_error_set(err, GS_EAUTH,
		     "remote base repository '%s' is not permitted in project '%s': a "
		     "kustomization's remote resources are sources too (add the repository to "
		     "the project's spec.sourceRepos, or vendor the base into this repository)",
		     shown, mf_node_dig_str(project, "metadata", "name", NULL));
	free(shown);
	return GS_EAUTH;
}

/* Remote resources of an app's kustomizations (render_git_remote's
 * prepare): allowed only from repositories the app's project lists in
 * sourceRepos (the project is read once, at the first remote), with the
 * credential templates then the global settings, as for the app's own
 * repository (its secretRef is for that repository only). */
struct remote_policy {
	struct app_env *env;
	const struct mf_node *app;
	struct mf_node *project;
	struct creds c;
};

static int remote_prepare(void *arg, const char *url, struct gitsrc_auth *auth,
			  struct gs_error *err)
{
	struct remote_policy *p = arg;
	struct app_env *env = p->env;
	bool found = false;
	int r;

	if (env->projects_ns) {
		if (!p->project &&
		    (r = app_env_project(&p->project, env, app_project_name(p->app), err)) < 0)
			return r;
		if ((r = app_remote_allowed(p->project, url, err)) < 0)
			return r;
	}
	if (env->kc &&
	    (r = load_template_creds(&p->c, auth, &found, env, url,
				     app_project_name(p->app), err)) < 0)
		return r;
	if (!found && (r = gitsrc_auth_from_env(auth, url, err)) < 0)
		return r;
	return GS_OK;
}

static void remote_release(void *arg)
{
	struct remote_policy *p = arg;

	creds_release(&p->c);
	memset(&p->c, 0, sizeof(p->c));
}

int app_source_load(struct app_source *out, struct app_env *env, const struct mf_node *app,
		    const char *revision, const char *local_dir, unsigned git_flags,
		    struct gs_error *err)
{
	struct remote_policy policy;
	struct render_git_loader loader;
	struct app_source s = APP_SOURCE_INIT;
	struct gitsrc_auth auth;
	struct creds c;
	struct kz_fs *fs = NULL;
	struct kz_output *kout = NULL;
	const char *secret = mf_node_dig_str(app, "spec", "source", "secretRef", "name", NULL);
	const char *root;
	char *path = clean_path(app_path(app));
	bool recurse = mf_node_bool(mf_node_dig(app, "spec", "source", "directory", "recurse", NULL));
	char short_sha[8];
	struct render_limits lim;
	/* kustomizations' helmCharts: the agent's runner (its memo serves
	 * every worker), else a helm found through GITSYNC_HELM or PATH */
	struct render_helm helm = { 0 };
	char *helm_bin = NULL, *chart_cache = NULL;
	bool memo_hit = false;
	int r;

	memset(&auth, 0, sizeof(auth));
	memset(&c, 0, sizeof(c));
	if (!local_dir && app_chart_source(app)) {
		free(path);
		return app_chart_load(out, env, app, revision, git_flags, err);
	}
	if (!local_dir && mf_node_dig(app, "spec", "sources", NULL)) {
		free(path);
		return gs_error_set(err, GS_EINVAL,
				    "spec.sources is supported with one chart source (chart + "
				    "repoURL) and Git sources named by ref for $values: use "
				    "spec.source for a single Git source");
	}
	if (local_dir) {
		root = local_dir;
		free(path);
		path = gs_strdup("");
	} else {
		if ((r = app_source_auth(&c, &auth, env, app, app_repo(app), secret, err)) < 0)
			goto cleanup;
		if (!revision || !*revision)
			revision = app_revision(app);
		{
			double t0 = gs_time_mono();

			r = gitsrc_get(&s.git, env->git, app_repo(app), revision, &auth, git_flags,
				       err);
			env->git_s = gs_time_mono() - t0;
			env->git_fetched = r >= 0 && s.git.fetched;
			env->git_shared = r >= 0 && s.git.shared;
			if (env->git_observe)
				env->git_observe(env->git_s, r >= 0, env->git_fetched,
						 env->git_observe_payload);
			if (env->phase_observe && r >= 0) {
				env->phase_observe("fetch", s.git.fetch_s, env->git_observe_payload);
				env->phase_observe("export", s.git.export_s,
						   env->git_observe_payload);
			}
		}
		if (r < 0)
			goto cleanup;
		root = s.git.dir;
	}
	if ((r = kz_fs_new_disk(&fs, root, err)) < 0)
		goto cleanup;
	snprintf(short_sha, sizeof(short_sha), "%.7s", s.git.rev.sha);
	if (*path && kz_fs_stat(fs, path) == KZ_FS_NONE) {
		r = gs_error_set(err, GS_ENOTFOUND, "path '%s' does not exist at revision %s", path,
				 local_dir ? local_dir : short_sha);
		goto cleanup;
	}
	kout = gs_calloc(1, sizeof(*kout));
	*kout = (struct kz_output)KZ_OUTPUT_INIT;
	app_render_limits(&lim, env->render, app);
	memset(&policy, 0, sizeof(policy));
	policy.env = env;
	policy.app = app;
	loader.git = env->git;
	loader.prepare = remote_prepare;
	loader.release = remote_release;
	loader.arg = &policy;
	lim.remote = env->git ? render_git_remote : NULL;
	lim.remote_arg = &loader;
	helm.runner = env->helm;
	if (!helm.runner)
		helm.binary = helm_bin = helm_find_binary(NULL);
	if (helm.runner || helm.binary) {
		lim.helm = render_helm_chart;
		lim.helm_arg = &helm;
		/* helmCharts with a repo whose chart is not in the repository:
		 * pulled into the chart cache of spec.source.chart (app-chart.c) */
		helm.chart_cache = chart_cache = gs_asprintf(
			"%s/helm", env->git ? gitsrc_cache_dir(env->git) : "/tmp/gitsync-cache");
		lim.pull = render_helm_pull;
		lim.pull_arg = &helm;
	}
	/* a commit's export never changes: its render may be memoized (a
	 * local directory may change at any time) */
	lim.memo = local_dir ? NULL : lim.memo;
	/* keyed by what a plain directory holds, not by commit: an app whose
	 * files a push did not touch runs no child (issue 20) */
	lim.content_key = render_content_key;
	lim.memo_refresh = (git_flags & GITSRC_REEXPORT) != 0;
	lim.memo_hit = &memo_hit;
	{
		double t0 = gs_time_mono();

		if (app_helm_is_chart(root, path))
			r = app_helm_render(kout, env, app, root, path, err);
		else
			r = render_run(kout, &lim, root, path, recurse, NULL, err);
		if (env->phase_observe)
			env->phase_observe(memo_hit ? "render_memo" : "render", gs_time_mono() - t0,
					   env->git_observe_payload);
	}
	mf_node_free(policy.project);
	if (r < 0) {
		size_t rl = strlen(root);

		/* name the file as it is in the repository, not in our cache */
		if (err && !strncmp(err->where, root, rl) && err->where[rl] == '/')
			memmove(err->where, err->where + rl + 1, strlen(err->where + rl + 1) + 1);
		if (!local_dir)
			gs_error_wrap(err, "render revision %s", short_sha);
		goto cleanup;
	}
	s.render_dir = gs_asprintf("%s%s%s", root, *path ? "/" : "", path);
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
	kz_fs_free(fs);
	app_source_release(&s);
	creds_release(&c);
	render_helm_release(&helm);
	free(helm_bin);
	free(chart_cache);
	free(path);
	return r;
}

/* ---- sync options ---- */

static const char *str_nonnull(const char *s)
{
	return s ? s : "";
}

static const char *keep(struct app_sync_opts *so, const char *s)
{
	so->strs = gs_realloc(so->strs, (so->nstrs + 1) * sizeof(*so->strs));
	so->strs[so->nstrs++] = s;
	return s;
}

void app_sync_opts_init(struct app_sync_opts *so, const struct mf_node *app)
{
	const struct mf_node *opts = mf_node_dig(app, "spec", "syncPolicy", "syncOptions", NULL);
	const struct mf_node *igs = mf_node_dig(app, "spec", "ignoreDifferences", NULL);
	const struct mf_node *kinds = mf_node_dig(app, "status", "managedKinds", NULL);
	size_t i, j, first;

	memset(so, 0, sizeof(*so));
	so->o.app = mf_obj_name(app);
	so->o.ns = app_dest_namespace(app);
	if (!*so->o.ns)
		so->o.ns = NULL;
	first = 0;
	for (i = 0; i < mf_node_len(opts); i++)
		if (mf_node_str(mf_node_at(opts, i)))
			keep(so, mf_node_str(mf_node_at(opts, i)));
	so->o.n_sync_options = so->nstrs;
	/* pointers arrays: sync options first, then each ignore entry's lists */
	if (mf_node_len(igs)) {
		so->ignore = gs_calloc(mf_node_len(igs), sizeof(*so->ignore));
		for (i = 0; i < mf_node_len(igs); i++) {
			const struct mf_node *ig = mf_node_at(igs, i);
			const struct mf_node *ptrs = mf_node_get(ig, "jsonPointers");
			const struct mf_node *mgrs = mf_node_get(ig, "managedFieldsManagers");
			const struct mf_node *jqs = mf_node_get(ig, "jqPathExpressions");
			struct sync_ignore *s = &so->ignore[i];

			s->group = mf_node_dig_str(ig, "group", NULL);
			if (!s->group)
				s->group = "";
			s->kind = mf_node_dig_str(ig, "kind", NULL);
			s->name = mf_node_dig_str(ig, "name", NULL);
			s->ns = mf_node_dig_str(ig, "namespace", NULL);
			s->n_pointers = mf_node_len(ptrs);
			s->n_managers = mf_node_len(mgrs);
			for (j = 0; j < s->n_pointers; j++)
				keep(so, str_nonnull(mf_node_str(mf_node_at(ptrs, j))));
			for (j = 0; j < s->n_managers; j++)
				keep(so, str_nonnull(mf_node_str(mf_node_at(mgrs, j))));
			s->n_jq = mf_node_len(jqs);
			for (j = 0; j < s->n_jq; j++)
				keep(so, str_nonnull(mf_node_str(mf_node_at(jqs, j))));
		}
		so->o.n_ignore = mf_node_len(igs);
	}
	/* managed kinds "group/version/kind" split into strings we own */
	if (mf_node_len(kinds)) {
		so->kinds = gs_calloc(mf_node_len(kinds), sizeof(*so->kinds));
		so->kstrs = gs_calloc(mf_node_len(kinds) * 3, sizeof(*so->kstrs));
		for (i = 0; i < mf_node_len(kinds); i++) {
			const char *k = mf_node_str(mf_node_at(kinds, i));
			const char *s1 = k ? strchr(k, '/') : NULL;
			const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;

			if (!s2)
				continue;
			so->kstrs[so->nkstrs] = gs_strndup(k, (size_t)(s1 - k));
			so->kstrs[so->nkstrs + 1] = gs_strndup(s1 + 1, (size_t)(s2 - s1 - 1));
			so->kstrs[so->nkstrs + 2] = gs_strdup(s2 + 1);
			so->kinds[so->o.n_managed_kinds].group = so->kstrs[so->nkstrs];
			so->kinds[so->o.n_managed_kinds].version = so->kstrs[so->nkstrs + 1];
			so->kinds[so->o.n_managed_kinds].kind = so->kstrs[so->nkstrs + 2];
			so->nkstrs += 3;
			so->o.n_managed_kinds++;
		}
		so->o.managed_kinds = so->kinds;
	}
	/* fix up pointers now that strs stopped moving */
	so->o.sync_options = so->o.n_sync_options ? so->strs : NULL;
	first = so->o.n_sync_options;
	for (i = 0; i < so->o.n_ignore; i++) {
		so->ignore[i].pointers = so->ignore[i].n_pointers ? so->strs + first : NULL;
		first += so->ignore[i].n_pointers;
		so->ignore[i].managers = so->ignore[i].n_managers ? so->strs + first : NULL;
		first += so->ignore[i].n_managers;
		so->ignore[i].jq = so->ignore[i].n_jq ? so->strs + first : NULL;
		first += so->ignore[i].n_jq;
	}
	so->o.ignore = so->ignore;
}

void app_sync_opts_release(struct app_sync_opts *so)
{
	size_t i;

	for (i = 0; i < so->nkstrs; i++)
		free((char *)so->kstrs[i]);
	free(so->kstrs);
	free(so->kinds);
	free(so->ignore);
	free(so->strs);
	memset(so, 0, sizeof(*so));
}
