/* app-local.c - the kubeconfig backend of `gitsync app` (app.h): reads and
 * patches Application objects with the user's credentials.  Where no agent
 * holds the Lease, syncs and comparisons run in this process; where one
 * runs, an operation is written on the Application for it to run. */
#include "cli/app.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "app/app-view.h"
#include "cli/cli-sync.h"
#include "cli/cli.h"
#include "gs-alloc.h"
#include "gs-time.h"
#include "kube/kube-config.h"
#include "mf-diff.h"
#include "mf-object.h"
#include "mf-yaml.h"

struct local {
	struct app_be be;
	const char *kubeconfig, *context, *ns;
	struct kube_config *cfg;
	struct kube_client *kc;
	struct gitsrc *git;
	struct app_env env;
	char *pinned; /* wait: the commit resolved on the first comparison */
};

static int need_git(struct local *l, struct gs_error *err);

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int app_render_stream(struct gs_buf *out, struct app_env *env, const struct mf_node *app,
		      const char *revision, bool hard_refresh, struct gs_error *err)
{
	struct app_source src = APP_SOURCE_INIT;
	unsigned flags = hard_refresh ? GITSRC_FETCH_ALWAYS | GITSRC_REEXPORT : 0;
	size_t k;
	int r;

	if ((r = app_source_load(&src, env, app, revision, NULL, flags, err)))
		goto cleanup;
	for (k = 0; k < src.n; k++) {
		if (k)
			gs_buf_puts(out, "---\n");
		if (mf_yaml_emit(out, src.objs[k], MF_EMIT_SORT_KEYS) < 0) {
			r = gs_error_set(err, GS_ERR, "cannot encode the output as YAML");
			goto cleanup;
		}
	}
cleanup:
	app_source_release(&src);
	return r;
}

/* `app manifests --repo URL`: no cluster, credentials from the environment. */
int app_render_repo(struct gs_buf *out, const char *repo, const char *path, const char *revision,
		    bool recurse, bool hard_refresh, struct gs_error *err)
{
	struct app_params p = { 0 };
	struct local l = { 0 };
	struct mf_node *app;
	int r;

	p.repo_url = repo;
	p.path = path;
	p.revision = revision;
	p.recurse = recurse;
	app = app_object_new(APP_DEFAULT_NAMESPACE, "manifests", &p);
	l.env.ns = APP_DEFAULT_NAMESPACE;
	r = need_git(&l, err);
	if (!r)
		r = app_render_stream(out, &l.env, app, revision, hard_refresh, err);
	gitsrc_free(l.git);
	mf_node_free(app);
	return r;
}

static struct local *L(struct app_be *b)
{
	return (struct local *)b;
}

/* The Git cache, opened on first use: list/get of the object need none. */
static int need_git(struct local *l, struct gs_error *err)
{
	const char *cache = getenv("GITSYNC_CACHE_DIR");
	char *dflt = NULL;
	int r;

	if (l->git)
		return GS_OK;
	if (!cache) {
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

		dflt = xdg && *xdg ? gs_asprintf("%s/gitsync/git", xdg)
				   : gs_asprintf("%s/.cache/gitsync/git", home && *home ? home : "/tmp");
		cache = dflt;
	}
	r = gitsrc_new(&l->git, cache, err);
	free(dflt);
	l->env.git = l->git;
	return r;
}

static int connect_cluster(struct local *l, struct gs_error *err)
{
	struct kube_config_opts ko = { l->kubeconfig, l->context, false };
	int r;

	if (l->kc)
		return GS_OK;
	if ((r = kube_config_load(&l->cfg, &ko, err)) < 0)
		return r;
	if ((r = kube_client_new(&l->kc, l->cfg, NULL, err)) < 0)
		return r;
	l->be.server = l->cfg->server;
	l->env.kc = l->kc;
	l->env.se = sync_engine_new(l->kc);
	l->env.ns = l->ns;
	return GS_OK;
}

static int get_app(struct local *l, struct mf_node **out, const char *name, struct gs_error *err)
{
	int r = connect_cluster(l, err);

	return r ? r : app_get(out, l->kc, l->ns, name, err);
}

static int collect(const struct mf_node *item, void *payload)
{
	mf_node_append(payload, mf_node_clone(item));
	return 0;
}

static int local_list(struct app_be *b, struct mf_node **out, struct gs_error *err)
{
	struct local *l = L(b);
	const struct kube_resource *res;
	struct mf_node *items = mf_node_new(MF_SEQ);
	size_t k;
	int r;

	if ((r = connect_cluster(l, err)) || (r = app_resource(&res, l->kc, err)) ||
	    (r = kube_client_list(l->kc, res, l->ns, NULL, collect, items, NULL, err))) {
		mf_node_free(items);
		return r;
	}
	for (k = 0; k < mf_node_len(items); k++)
		app_redact(mf_node_at(items, k));
	*out = items;
	return GS_OK;
}

static int local_get(struct app_be *b, struct mf_node **out, const char *name,
		     struct gs_error *err)
{
	int r = get_app(L(b), out, name, err);

	if (!r)
		app_redact(*out);
	return r;
}

static int local_compare(struct app_be *b, struct app_view *out, const char *name,
			 const struct app_compare_args *a, struct gs_error *err)
{
	struct local *l = L(b);
	struct sync_report rep = SYNC_REPORT_INIT;
	struct app_sync_req req = { 0 };
	struct mf_node *fresh = NULL;
	char *rev = NULL;
	size_t k;
	int r;

	if ((r = get_app(l, &out->app, name, err)) || (r = need_git(l, err)))
		return r;
	req.revision = a->revision;
	if (a->at_recorded && !a->revision)
		req.revision = mf_node_dig_str(out->app, "status", "sync", "revision", NULL);
	if (a->pin && l->pinned)
		req.revision = l->pinned;
	req.local_dir = a->local_dir;
	req.hard_refresh = a->hard_refresh;
	r = app_compare(&rep, &rev, &l->env, out->app, &req, a->want_diff ? SYNC_KEEP_DIFF : 0,
			a->refresh || a->pin, err);
	if (r)
		goto cleanup;
	if (a->pin && !l->pinned)
		l->pinned = gs_strdup(rev);
	if (a->refresh && app_get(&fresh, l->kc, l->ns, name, err) == 0) {
		mf_node_free(out->app);
		out->app = fresh;
	}
	out->resources = app_view_rows(&rep);
	out->revision = rev;
	rev = NULL;
	out->sync = gs_strdup(app_sync_status_str(rep.status));
	out->health = gs_strdup(app_health_str(rep.health));
	for (k = 0; k < rep.n; k++)
		if (rep.v[k].status != SYNC_STATUS_SYNCED && !rep.v[k].hook)
			out->different = true;
	if (a->want_diff)
		out->diffs = app_view_diffs(&rep);
	if (a->orphaned)
		r = app_orphans(&out->orphans, l->kc, out->app, err);
cleanup:
	app_redact(out->app);
	free(rev);
	sync_report_release(&rep);
	return r;
}

static int local_create(struct app_be *b, const struct mf_node *app, bool upsert,
			struct gs_error *err)
{
	struct local *l = L(b);
	int r = connect_cluster(l, err);

	return r ? r : app_create(l->kc, app, upsert, err);
}

static int local_remove(struct app_be *b, const char *name, bool cascade, struct gs_error *err)
{
	struct local *l = L(b);
	int r = connect_cluster(l, err);

	return r ? r : app_remove(&l->env, l->ns, name, cascade, err);
}

static int local_terminate(struct app_be *b, const char *name, struct gs_error *err)
{
	struct local *l = L(b);
	int r = connect_cluster(l, err);

	return r ? r : app_terminate_operation(l->kc, l->ns, name, err);
}

static int local_set(struct app_be *b, const char *name, const struct mf_node *patch,
		     struct gs_error *err)
{
	struct local *l = L(b);
	struct mf_node *app = NULL;
	int r;

	/* a patch of a missing app would fail with the API server's words */
	if ((r = get_app(l, &app, name, err)) == 0)
		r = app_patch(l->kc, l->ns, name, patch, err);
	mf_node_free(app);
	return r;
}

static bool local_agent_running(struct app_be *b)
{
	struct local *l = L(b);
	struct gs_error err = GS_ERROR_INIT;

	return connect_cluster(l, &err) == 0 && app_agent_running(l->kc, l->ns);
}

/* The operation an agent runs: every option of the command line. */
static struct mf_node *operation_patch(const struct app_op_args *a, const struct mf_node *source)
{
	struct mf_node *patch = mf_node_new(MF_MAP), *op, *s;
	size_t k;

	op = mf_node_ensure(patch, "operation", MF_MAP);
	s = mf_node_ensure(op, "sync", MF_MAP);
	if (a->revision)
		mf_node_set_str_value(s, "revision", a->revision);
	mf_node_set(s, "prune", mf_node_new_bool(a->prune));
	if (a->allow_empty)
		mf_node_set(s, "allowEmpty", mf_node_new_bool(true));
	if (a->dry_run)
		mf_node_set(s, "dryRun", mf_node_new_bool(true));
	if (a->force) /* Argo CD's shape: syncStrategy.apply.force */
		mf_node_set(mf_node_ensure(mf_node_ensure(s, "syncStrategy", MF_MAP), "apply",
					   MF_MAP), "force", mf_node_new_bool(true));
	if (a->n_resources) {
		struct mf_node *rs = mf_node_ensure(s, "resources", MF_SEQ);

		for (k = 0; k < a->n_resources; k++)
			mf_node_append(rs, mf_node_new_str(a->resources[k]));
	}
	if (a->n_sync_options) {
		struct mf_node *so = mf_node_ensure(s, "syncOptions", MF_SEQ);

		for (k = 0; k < a->n_sync_options; k++)
			mf_node_append(so, mf_node_new_str(a->sync_options[k]));
	}
	if (source)
		mf_node_set(s, "source", mf_node_clone(source));
	mf_node_set_str_value(mf_node_ensure(op, "initiatedBy", MF_MAP), "username", "gitsync-cli");
	return patch;
}

static int local_sync(struct app_be *b, const char *name, const struct app_op_args *a,
		      int *exit_here, struct gs_error *err)
{
	struct local *l = L(b);
	struct sync_report rep = SYNC_REPORT_INIT;
	struct app_sync_req req = { 0 };
	struct mf_node *app = NULL, *patch = NULL;
	const struct mf_node *source = NULL, *hist;
	char *rev = NULL;
	size_t k;
	int r;

	*exit_here = -1;
	if ((r = get_app(l, &app, name, err)))
		goto cleanup;
	req.revision = a->revision;
	if (a->rollback_id > 0) {
		/* the source recorded in that entry (repo, path, revision), not
		 * the app's current path at an old commit */
		hist = mf_node_dig(app, "status", "history", NULL);
		for (k = 0; k < mf_node_len(hist); k++) {
			const struct mf_node *h = mf_node_at(hist, k);
			const char *id = mf_node_str(mf_node_get(h, "id"));

			if (id && strtoll(id, NULL, 10) == a->rollback_id)
				source = mf_node_get(h, "source");
		}
		req.revision = app_history_revision(app, a->rollback_id);
		if (!req.revision) {
			r = gs_error_set(err, GS_ENOTFOUND, "application '%s' has no history entry %lld",
					 name, a->rollback_id);
			goto cleanup;
		}
		if (app_automated(app)) {
			/* as Argo CD does: automated sync would undo the rollback at once */
			struct mf_node *off = mf_node_new(MF_MAP);

			mf_node_set(mf_node_ensure(mf_node_ensure(off, "spec", MF_MAP), "syncPolicy",
						   MF_MAP), "automated", mf_node_new_null());
			r = app_patch(l->kc, l->ns, name, off, err);
			mf_node_free(off);
			if (r)
				goto cleanup;
			mf_node_remove(mf_node_dig(app, "spec", "syncPolicy", NULL), "automated");
		}
	}
	if (app_agent_running(l->kc, l->ns)) {
		struct app_op_args oa = *a;

		oa.revision = req.revision;
		patch = operation_patch(&oa, source);
		r = app_patch(l->kc, l->ns, name, patch, err);
		goto cleanup;
	}
	/* nobody else runs it: this process does, with the same options */
	if ((r = need_git(l, err)))
		goto cleanup;
	if (source) {
		struct mf_node *spec = mf_node_ensure(app, "spec", MF_MAP);

		mf_node_set(spec, "source", mf_node_clone(source));
	}
	if (a->n_sync_options || a->force) {
		struct mf_node *so = mf_node_ensure(
			mf_node_ensure(mf_node_ensure(app, "spec", MF_MAP), "syncPolicy", MF_MAP),
			"syncOptions", MF_SEQ);

		for (k = 0; k < a->n_sync_options; k++)
			mf_node_append(so, mf_node_new_str(a->sync_options[k]));
		if (a->force) /* as the agent reads syncStrategy.apply.force */
			mf_node_append(so, mf_node_new_str("Force=true"));
	}
	req.prune = a->prune;
	req.allow_empty = a->allow_empty;
	req.dry_run = a->dry_run;
	req.resources = a->resources;
	req.n_resources = a->n_resources;
	req.timeout_s = a->timeout_s;
	cli_print_progress_header(stdout);
	if ((r = app_run_sync(&rep, &rev, &l->env, app, &req, cli_print_progress_line, stdout, err)))
		goto cleanup;
	{
		char s[32], f[32];
		struct mf_node *rows = app_view_rows(&rep);

		putchar('\n');
		app_print_header(b, app);
		app_print_sync_status(app, app_sync_status_str(rep.status),
				      app_health_str(rep.health), rev);
		printf("\n%-15s%s\n", "Operation:", "Sync");
		printf("%-15s%s\n", "Sync Revision:", app_s_or(rev, ""));
		printf("%-15s%s\n", "Phase:", sync_phase_str(rep.phase));
		printf("%-15s%s\n", "Start:", app_time_str(s, sizeof(s), rep.started));
		printf("%-15s%s\n", "Finished:", app_time_str(f, sizeof(f), rep.finished));
		printf("%-15s%.0fs\n", "Duration:", rep.finished - rep.started);
		printf("%-15s%s\n", "Message:", app_s_or(rep.message, ""));
		app_print_resources(rows);
		mf_node_free(rows);
	}
	*exit_here = rep.phase == SYNC_PHASE_SUCCEEDED ? CLI_EXIT_OK : CLI_EXIT_ERROR;
cleanup:
	free(rev);
	sync_report_release(&rep);
	mf_node_free(patch);
	mf_node_free(app);
	return r;
}

static bool op_finished(const struct mf_node *app)
{
	const char *phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);

	return mf_node_type(mf_node_get(app, "operation")) != MF_MAP && phase &&
	       strcmp(phase, "Running");
}

static int local_operation(struct app_be *b, struct mf_node **out, const char *name,
			   double wait_s, struct gs_error *err)
{
	struct local *l = L(b);
	double end = gs_time_mono() + wait_s;
	struct mf_node *app = NULL, *st;
	const struct mf_node *v;
	int r;

	for (;;) {
		if ((r = get_app(l, &app, name, err)))
			return r;
		if (op_finished(app) || gs_time_mono() >= end)
			break;
		mf_node_free(app);
		app = NULL;
		sleep_ms(250);
	}
	st = mf_node_new(MF_MAP);
	v = mf_node_get(app, "operation");
	mf_node_set(st, "operation", v ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "operationState", NULL);
	mf_node_set(st, "operationState", v ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "sync", NULL);
	mf_node_set(st, "sync", v ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "health", NULL);
	mf_node_set(st, "health", v ? mf_node_clone(v) : mf_node_new_null());
	mf_node_set(st, "finished", mf_node_new_bool(op_finished(app)));
	mf_node_free(app);
	*out = st;
	return GS_OK;
}

static int local_manifests(struct app_be *b, struct gs_buf *out, const char *name,
			   const char *revision, bool hard_refresh, struct gs_error *err)
{
	struct local *l = L(b);
	struct mf_node *app = NULL;
	int r;

	if ((r = get_app(l, &app, name, err)) || (r = need_git(l, err)))
		goto cleanup;
	r = app_render_stream(out, &l->env, app, revision, hard_refresh, err);
cleanup:
	mf_node_free(app);
	return r;
}

static void local_free(struct app_be *b)
{
	struct local *l = L(b);

	sync_engine_free(l->env.se);
	gitsrc_free(l->git);
	kube_client_free(l->kc);
	kube_config_free(l->cfg);
	free(l->pinned);
	free(l);
}

static const struct app_be_ops local_ops = {
	"kubeconfig", local_list, local_get, local_compare, local_create, local_remove,
	local_set, local_sync, local_operation, local_agent_running, local_manifests,
	local_terminate, local_free,
};

int app_be_local_new(struct app_be **out, const struct cli_args *a, struct gs_error *err)
{
	struct local *l = gs_calloc(1, sizeof(*l));
	const char *env_ns = getenv("GITSYNC_APP_NAMESPACE");

	(void)err;
	l->be.ops = &local_ops;
	l->kubeconfig = cli_args_str(a, "kubeconfig");
	l->context = cli_args_str(a, "context");
	l->ns = cli_args_str(a, "app-namespace");
	if (!l->ns)
		l->ns = env_ns && *env_ns ? env_ns : APP_DEFAULT_NAMESPACE;
	*out = &l->be;
	return GS_OK;
}
