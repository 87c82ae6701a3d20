/* app-run.c - compare and sync an Application, recording the outcome on it.
 *
 * The CLI runs these when no agent holds the Lease (a CI job with cluster
 * credentials); the agent runs the same calls for .operation requests.
 */
#include "app/app.h"
#include "app/app-event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app-project.h"
#include "gs-time.h"
#include "gs-alloc.h"
#include "mf-object.h"
#include "mf-patch.h"
#include "sync/sync-jq.h"

/* Keep only the objects named by "GROUP:KIND:NAME" filters (borrowed). */
static size_t filter_objs(struct mf_node **objs, size_t n, const struct app_sync_req *req)
{
	size_t i, j, kept = 0;

	if (!req || !req->n_resources)
		return n;
	for (i = 0; i < n; i++) {
		struct mf_id id = MF_ID_INIT;
		bool match = false;

		mf_id_from_object(&id, objs[i]);
		for (j = 0; j < req->n_resources && !match; j++) {
			char *want = gs_asprintf("%s:%s:%s", id.group, id.kind, id.name);

			match = !strcmp(want, req->resources[j]);
			free(want);
		}
		mf_id_release(&id);
		if (match)
			objs[kept++] = objs[i];
	}
	return kept;
}

static const char *pick_revision(const struct mf_node *app, const struct app_sync_req *req)
{
	if (req && req->revision && *req->revision)
		return req->revision;
	return app_revision(app);
}

static unsigned git_flags(const struct app_sync_req *req)
{
	/* rendering always starts from the export, so re-exporting is all a
	 * hard refresh needs to render afresh */
	return req && req->hard_refresh ? GITSRC_FETCH_ALWAYS | GITSRC_REEXPORT : 0;
}

/* reconciledAt alone is refreshed at most this often: an idle agent compares
 * every app at its poll interval, and a status write per comparison (each a
 * PATCH, an etcd write and a watch event for every client) is most of what
 * idling would cost. */
#define APP_RECONCILED_AT_MAX_AGE_S 600

/* Whether new differs from old beyond reconciledAt, or old's reconciledAt
 * is too old to leave as it is. */
static bool status_changed(const struct mf_node *old, const struct mf_node *new_status)
{
	struct gs_error terr = GS_ERROR_INIT;
	struct mf_node *a, *b;
	double at;
	bool changed;

	if (mf_node_type(old) != MF_MAP)
		return true;
	if (gs_time_parse_rfc3339(&at, mf_node_dig_str(old, "reconciledAt", NULL), &terr) ||
	    gs_time_wall() - at >= APP_RECONCILED_AT_MAX_AGE_S)
		return true;
	a = mf_node_clone(old);
	b = mf_node_clone(new_status);
	mf_node_remove(a, "reconciledAt");
	mf_node_remove(b, "reconciledAt");
	changed = !mf_node_equal(a, b);
	mf_node_free(a);
	mf_node_free(b);
	return changed;
}

static void observe(struct app_env *env, const char *phase, double t0)
{
	if (env->phase_observe)
		env->phase_observe(phase, gs_time_mono() - t0, env->git_observe_payload);
}

/* Write status as what changed since base, the status this writer last saw
 * on the server (the app as read, or its own previous write).  A field
 * another writer changed meanwhile, and this one did not, keeps the other's
 * value, where a whole status would have put this writer's back; the next
 * comparison reads the app afresh and writes what differs. */
static int patch_status(struct app_env *env, const struct mf_node *app,
			const struct mf_node *base, const struct mf_node *status,
			struct gs_error *err)
{
	/* only what changed, not the whole status: the API server (v1.20)
	 * took 10 ms of CPU for a whole status of 1.3 KB, 1.7 ms for one
	 * field (issue 20: a push moving 1,000 apps' revision writes 1,000
	 * times); a key the status lost is nulled (summary.missing after
	 * the first sync would otherwise stay forever) */
	struct mf_node *patch = mf_patch_merge_diff(base, status);
	double t0 = gs_time_mono();
	int r;

	if (!patch)
		return GS_OK; /* the server holds it already */
	r = app_patch_status(env->kc, mf_obj_namespace(app), mf_obj_name(app), patch, err);
	observe(env, "status", t0);
	mf_node_free(patch);
	return r;
}

int app_write_status(struct app_env *env, const struct mf_node *app,
		     const struct mf_node *status, struct gs_error *err)
{
	return patch_status(env, app, mf_node_get(app, "status"), status, err);
}

static struct mf_node *status_copy(const struct mf_node *app)
{
	const struct mf_node *st = mf_node_get(app, "status");

	return mf_node_type(st) == MF_MAP ? mf_node_clone(st) : mf_node_new(MF_MAP);
}

/* The app's Project and who its writes impersonate, while it runs. */
struct tenancy {
	struct mf_node *project; /* NULL: no Projects (env->projects_ns unset) */
	char *user;              /* Impersonate-User, NULL = the caller's identity */
};

static int project_policy(const struct sync_resource *r, bool prune, void *payload,
			  struct gs_error *err)
{
	int rc = app_project_check_object(payload, r->group, r->kind, r->ns, r->name, err);

	if (rc && prune)
		gs_error_wrap(err, "cannot prune");
	return rc;
}

/* A project that refuses the app (or is missing) is news for the tenant,
 * who may see only its namespace: an Event on the Application, once per
 * message (a condition already carrying it means it was told). */
static void refused_event(struct app_env *env, const struct mf_node *app, int rc,
			  const struct gs_error *err)
{
	const struct mf_node *conds = mf_node_dig(app, "status", "conditions", NULL);
	struct gs_error e = GS_ERROR_INIT;
	char *msg;
	size_t i;

	if (rc != GS_EAUTH && rc != GS_ENOTFOUND)
		return;
	msg = gitsrc_text_redact(err->msg); /* as the condition holds it */
	for (i = 0; i < mf_node_len(conds); i++) {
		const char *m = mf_node_dig_str(mf_node_at(conds, i), "message", NULL);

		if (m && strstr(m, msg))
			goto cleanup;
	}
	/* best effort: the condition written next says the same */
	app_event_emit(env->kc, app, "Warning", rc == GS_EAUTH ? "ProjectRefused" : "ProjectNotFound",
		       msg, &e);
cleanup:
	free(msg);
}

/* Before anything is fetched: the app may use its project, its repository
 * and destination; then the per-object policy goes into so.  known: the
 * project as the compare of this reconcile read it (may be NULL: read it). */
static int tenancy_begin(struct tenancy *t, struct app_env *env, const struct mf_node *app,
			 struct app_sync_opts *so, const struct mf_node *known,
			 struct gs_error *err)
{
	int rc = GS_OK;

	memset(t, 0, sizeof(*t));
	if (!env->projects_ns)
		return GS_OK;
	if (known)
		t->project = mf_node_clone(known);
	else
		rc = app_env_project(&t->project, env, app_project_name(app), err);
	if (!rc)
		rc = app_project_check_app(t->project, app, env->projects_ns, err);
	/* the Namespace CreateNamespace=true makes is an object of the app like
	 * any other: the project must allow the kind and that name (as Argo CD
	 * asks, even when the namespace already exists) */
	if (!rc && so->o.ns && sync_option_is(NULL, &so->o, "CreateNamespace", "true") &&
	    (rc = app_project_check_object(t->project, "", "Namespace", "", so->o.ns, err)) < 0)
		gs_error_wrap(err, "CreateNamespace=true");
	if (rc) {
		refused_event(env, app, rc, err);
		return rc;
	}
	t->user = app_project_impersonation(t->project, app, env->default_sa);
	so->o.policy = project_policy;
	so->o.policy_payload = t->project;
	return GS_OK;
}

static void tenancy_release(struct tenancy *t)
{
	mf_node_free(t->project);
	free(t->user);
	memset(t, 0, sizeof(*t));
}

/* Fields of Argo CD's Application that gitsync does not implement.  The CRD
 * keeps unknown fields, so an app using one is refused (condition
 * UnsupportedField) instead of synced as if the field were not there. */
static const char *const unsupported[][4] = {
	{ "spec", "source", "kustomize", NULL },
	{ "spec", "source", "plugin", NULL },
	{ "spec", "source", "directory", "include" },
	{ "spec", "source", "directory", "exclude" },
	{ "spec", "source", "directory", "jsonnet" },
	{ "spec", "destination", "name", NULL },
	{ "spec", "syncPolicy", "managedNamespaceMetadata", NULL },
};

/* The app asks for something gitsync would silently not do: *cond_out gets
 * the condition type (UnsupportedField, InvalidSpecError). */
static int check_spec(struct app_env *env, const struct mf_node *app, const char **cond_out,
		      struct gs_error *err)
{
	const struct mf_node *igs = mf_node_dig(app, "spec", "ignoreDifferences", NULL);
	const char *server = mf_node_dig_str(app, "spec", "destination", "server", NULL);
	size_t i;

	*cond_out = "UnsupportedField";
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		const char *const *p = unsupported[i];

		if (mf_node_dig(app, p[0], p[1], p[2], p[3], NULL))
			return gs_error_set(err, GS_EINVAL,
					    "%s.%s%s%s%s%s is not supported by gitsync: nothing is "
					    "synced while the app uses it (remove it, or render "
					    "the manifests into Git)",
					    p[0], p[1], p[2] ? "." : "", p[2] ? p[2] : "",
					    p[3] ? "." : "", p[3] ? p[3] : "");
	}
	*cond_out = "InvalidSpecError";
	for (i = 0; i < mf_node_len(igs); i++) {
		const struct mf_node *jqs = mf_node_get(mf_node_at(igs, i), "jqPathExpressions");
		const char *exprs[SYNC_JQ_MAX_EXPRS];
		size_t j, n = mf_node_len(jqs);

		if (jqs && mf_node_type(jqs) != MF_SEQ)
			return gs_error_set(err, GS_EINVAL,
					    "spec.ignoreDifferences[%zu].jqPathExpressions is not a "
					    "list of strings", i);
		for (j = 0; j < n && j < SYNC_JQ_MAX_EXPRS; j++)
			exprs[j] = mf_node_str(mf_node_at(jqs, j));
		if (sync_jq_validate(env->jq_memo, exprs, n, err))
			return gs_error_wrap(err, "spec.ignoreDifferences[%zu]", i);
	}
	*cond_out = "InvalidSpecError";
	if (server && server[0] && strcmp(server, "https://kubernetes.default.svc"))
		return gs_error_set(err, GS_EINVAL,
				    "spec.destination.server '%s' is not the cluster the agent runs "
				    "in: gitsync deploys only there (leave it empty or "
				    "https://kubernetes.default.svc)", server);
	*cond_out = NULL;
	return GS_OK;
}

static void clear_spec_conditions(struct mf_node *status)
{
	app_condition_clear(status, "UnsupportedField");
	app_condition_clear(status, "InvalidSpecError");
	app_condition_clear(status, "DependencyNotReady");
}

/* spec.dependsOn: an error while an app it depends on is not Synced and
 * Healthy (*cond_out DependencyNotReady) or for a cycle (InvalidSpecError). */
static int check_deps(struct app_env *env, const struct mf_node *app, const char **cond_out,
		      struct gs_error *err)
{
	char *why = NULL;
	int rc;

	*cond_out = "InvalidSpecError";
	if ((rc = app_depends_wait(&why, env->kc, app, err)))
		return rc;
	*cond_out = NULL;
	if (!why)
		return GS_OK;
	*cond_out = "DependencyNotReady";
	rc = gs_error_set(err, GS_ECONFLICT, "%s (spec.dependsOn)", why);
	free(why);
	return rc;
}

/* Live state from the agent's caches, shared by every app. */
static void use_live_cache(struct app_sync_opts *so, const struct app_env *env)
{
	if (!env->live_cache)
		return;
	so->o.live_cache = env->live_cache;
	so->o.live_cache_payload = env->live_cache_payload;
	so->o.live_cache_owner = sync_app_hash(so->o.app);
}

static int compare(struct sync_report *rep, char **rev_out, struct app_env *env,
		   const struct mf_node *app, const struct app_sync_req *req, unsigned sync_flags,
		   bool write_status, struct mf_node **status_out, struct app_source *src_out,
		   struct gs_error *err)
{
	struct app_source src = APP_SOURCE_INIT;
	struct app_sync_opts so;
	struct mf_node *status = NULL;
	struct tenancy ten;
	const char *cond = NULL;
	size_t n;
	int r;

	app_sync_opts_init(&so, app);
	use_live_cache(&so, env);
	memset(&ten, 0, sizeof(ten));
	if ((r = check_spec(env, app, &cond, err)) < 0)
		goto record;
	r = tenancy_begin(&ten, env, app, &so, NULL, err);
	if (r < 0)
		goto record;
	r = app_source_load(&src, env, app, pick_revision(app, req), req ? req->local_dir : NULL,
			    git_flags(req), err);
	if (r < 0)
		goto record;
	n = filter_objs(src.objs, src.n, req);
	so.o.flags = sync_flags;
	kube_client_set_impersonation(env->kc, ten.user); /* dry-runs */
	{
		double t0 = gs_time_mono();

		r = sync_compare(env->se, rep, src.objs, n, &so.o, err);
		observe(env, "compare", t0);
	}
	kube_client_set_impersonation(env->kc, NULL);
record:
	if (write_status || status_out) {
		struct gs_error werr = GS_ERROR_INIT;
		char buf[1100];

		status = status_copy(app);
		if (r < 0) {
			/* the last good state stays applied; only the condition says why */
			app_condition_set(status, cond ? cond : "ComparisonError",
					  gs_error_str(err, buf, sizeof(buf)));
		} else {
			struct gs_error derr = GS_ERROR_INIT;
			const char *dcond = NULL;

			app_condition_clear(status, "ComparisonError");
			clear_spec_conditions(status);
			if (check_deps(env, app, &dcond, &derr) && dcond)
				app_condition_set(status, dcond, derr.msg);
			app_status_from_report(status, rep, src.git.rev.sha);
			if (src.git.force_pushed) {
				char msg[400];

				snprintf(msg, sizeof(msg),
					 "branch '%s' was force-pushed: %.7s is not a descendant of %.7s",
					 src.git.rev.ref, src.git.rev.sha, src.git.previous_sha);
				app_condition_set(status, "ForcePushed", msg);
			}
		}
		/* an unchanged status is not written (see APP_RECONCILED_AT_MAX_AGE_S) */
		if (status_changed(mf_node_get(app, "status"), status)) {
			if (status_out) {
				*status_out = status; /* the caller writes it, or not */
				status = NULL;
			} else if (patch_status(env, app, mf_node_get(app, "status"), status, &werr) <
					   0 &&
				   r == GS_OK) {
				r = gs_error_set(err, werr.code, "%s", werr.msg);
			}
		}
	}
	if (r == GS_OK && rev_out)
		*rev_out = gs_strdup(src.git.rev.sha);
	/* the whole source, unfiltered: a resources filter compacts objs */
	if (r == GS_OK && src_out && (!req || !req->n_resources)) {
		src.project = ten.project;
		ten.project = NULL;
		*src_out = src;
		src = (struct app_source)APP_SOURCE_INIT;
	}
	mf_node_free(status);
	tenancy_release(&ten);
	app_sync_opts_release(&so);
	app_source_release(&src);
	return r;
}

/* Asked by the sync engine while it waits: has someone (`gitsync app
 * terminate-op`, either transport) set operationState.phase Terminating?
 * One GET a second at most, as the caller's own identity. */
struct terminate_check {
	struct kube_client *kc;
	const char *ns, *name, *user; /* user: the impersonation to restore */
	double next;
};

static bool terminate_requested(void *payload)
{
	struct terminate_check *tc = payload;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *app = NULL;
	const char *phase;
	bool yes;

	if (gs_time_mono() < tc->next)
		return false;
	tc->next = gs_time_mono() + 1;
	kube_client_set_impersonation(tc->kc, NULL);
	yes = app_get(&app, tc->kc, tc->ns, tc->name, &err) == GS_OK &&
	      (phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL)) &&
	      !strcmp(phase, "Terminating");
	kube_client_set_impersonation(tc->kc, tc->user);
	mf_node_free(app);
	return yes;
}

int app_terminate_operation(struct kube_client *kc, const char *ns, const char *name,
			    struct gs_error *err)
{
	struct mf_node *app = NULL, *status = NULL;
	const char *phase;
	bool pending;
	int r;

	if ((r = app_get(&app, kc, ns, name, err)))
		return r;
	phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);
	pending = mf_node_type(mf_node_get(app, "operation")) == MF_MAP;
	status = mf_node_new(MF_MAP);
	if (phase && (!strcmp(phase, "Running") || !strcmp(phase, "Terminating"))) {
		/* the run sees it at its next wait and ends Failed "terminated" */
		mf_node_set_str_value(mf_node_ensure(status, "operationState", MF_MAP), "phase",
				      "Terminating");
		r = app_patch_status(kc, ns, name, status, err);
	} else if (pending) {
		/* requested, not started: nobody will start it now */
		struct mf_node *clear = mf_node_new(MF_MAP);
		char now[32];

		app_time_str(now, sizeof(now), (double)time(NULL));
		app_operation_state(status, "Failed", "terminated", now, now,
				    mf_node_dig_str(app, "operation", "sync", "revision", NULL), NULL);
		mf_node_set(clear, "operation", mf_node_new_null());
		r = app_patch(kc, ns, name, clear, err);
		if (!r)
			r = app_patch_status(kc, ns, name, status, err);
		mf_node_free(clear);
	} else {
		r = gs_error_set(err, GS_EINVAL,
				 "cannot terminate the operation of '%s': no operation is in progress",
				 name);
	}
	mf_node_free(status);
	mf_node_free(app);
	return r;
}

/* Never orphans, as in Argo CD: what the cluster makes by itself. */
static bool orphan_excluded(const struct kube_resource *res, const struct mf_node *o)
{
	static const char *const kinds[] = { "Event", "Endpoints", "EndpointSlice", "Lease" };
	const char *name = mf_obj_name(o), *type = mf_node_dig_str(o, "type", NULL);
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(res->kind, kinds[i]))
			return true;
	return !strcmp(res->group, APP_GROUP) ||
	       mf_node_len(mf_node_dig(o, "metadata", "ownerReferences", NULL)) > 0 ||
	       mf_obj_label(o, SYNC_LABEL_APP) || mf_obj_annotation(o, SYNC_ANNOTATION_TRACKING) ||
	       (!strcmp(res->kind, "ServiceAccount") && name && !strcmp(name, "default")) ||
	       (!strcmp(res->kind, "ConfigMap") && name && !strcmp(name, "kube-root-ca.crt")) ||
	       (type && !strcmp(type, "kubernetes.io/service-account-token"));
}

struct orphan_ctx {
	const struct kube_resource *res;
	struct mf_node *rows;
};

static int on_orphan_item(const struct mf_node *item, void *payload)
{
	struct orphan_ctx *oc = payload;
	struct mf_node *m;

	if (orphan_excluded(oc->res, item))
		return 0;
	m = mf_node_new(MF_MAP);
	mf_node_set_str_value(m, "group", oc->res->group);
	mf_node_set_str_value(m, "version", oc->res->version);
	mf_node_set_str_value(m, "kind", oc->res->kind);
	mf_node_set_str_value(m, "namespace", mf_obj_namespace(item));
	mf_node_set_str_value(m, "name", mf_obj_name(item));
	mf_node_append(oc->rows, m);
	return 0;
}

int app_orphans(struct mf_node **out, struct kube_client *kc, const struct mf_node *app,
		struct gs_error *err)
{
	const struct kube_resource **all = NULL;
	struct orphan_ctx oc = { NULL, mf_node_new(MF_SEQ) };
	const char *ns = app_dest_namespace(app);
	size_t n = 0, i;
	int r = GS_OK;

	if (!ns || !*ns) {
		*out = oc.rows; /* no destination namespace: nothing can be orphaned */
		return GS_OK;
	}
	if ((r = kube_client_all_resources(kc, &all, &n, err)) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (!all[i]->namespaced || !(all[i]->verbs & KUBE_VERB_LIST))
			continue;
		oc.res = all[i];
		if ((r = kube_client_list(kc, all[i], ns, NULL, on_orphan_item, &oc, NULL, err)) < 0)
			goto fail;
	}
	*out = oc.rows;
	return GS_OK;
fail:
	mf_node_free(oc.rows);
	return gs_error_wrap(err, "cannot list the orphaned resources of namespace '%s'", ns);
}

int app_remove(struct app_env *env, const char *ns, const char *name, bool cascade,
	       struct gs_error *err)
{
	struct mf_node *app = NULL;
	int r;

	if ((r = app_get(&app, env->kc, ns, name, err)))
		return r;
	if (cascade) {
		/* an empty desired set with prune deletes exactly what the app
		 * tracks (SYNC_ALLOW_EMPTY: here the empty source is meant) */
		struct sync_report rep = SYNC_REPORT_INIT;
		struct app_sync_opts so;

		app_sync_opts_init(&so, app);
		so.o.flags = SYNC_PRUNE | SYNC_FULL_SCAN | SYNC_ALLOW_EMPTY;
		r = sync_run(env->se, &rep, NULL, 0, &so.o, err);
		if (!r && rep.phase != SYNC_PHASE_SUCCEEDED)
			r = gs_error_set(err, GS_ERR, "cannot delete the resources of '%s': %s", name,
					 rep.message ? rep.message : "prune failed");
		app_sync_opts_release(&so);
		sync_report_release(&rep);
	}
	if (!r)
		r = app_delete(env->kc, ns, name, cascade, err);
	mf_node_free(app);
	return r;
}

int app_compare(struct sync_report *rep, char **rev_out, struct app_env *env,
		const struct mf_node *app, const struct app_sync_req *req, unsigned sync_flags,
		bool write_status, struct gs_error *err)
{
	return compare(rep, rev_out, env, app, req, sync_flags, write_status, NULL, NULL, err);
}

int app_compare_deferred(struct sync_report *rep, char **rev_out, struct app_env *env,
			 const struct mf_node *app, const struct app_sync_req *req,
			 unsigned sync_flags, struct mf_node **status_out,
			 struct app_source *src_out, struct gs_error *err)
{
	*status_out = NULL;
	return compare(rep, rev_out, env, app, req, sync_flags, false, status_out, src_out, err);
}

int app_run_sync(struct sync_report *rep, char **rev_out, struct app_env *env,
		 const struct mf_node *app, const struct app_sync_req *req,
		 sync_progress_fn progress, void *payload, struct gs_error *err)
{
	struct app_source own = APP_SOURCE_INIT;
	struct app_source *srcp = req->source ? req->source : &own;
	struct app_sync_opts so;
	struct mf_node *status = status_copy(app), *clear = NULL, *written = NULL;
	const char *ns = mf_obj_namespace(app), *name = mf_obj_name(app);
	char started[32], finished[32];
	struct gs_error werr = GS_ERROR_INIT;
	struct tenancy ten = { NULL, NULL };
	struct terminate_check tc = { env->kc, ns, name, NULL, 0 };
	const char *cond = NULL;
	char buf[1100];
	size_t n;
	int r;

	app_sync_opts_init(&so, app);
	use_live_cache(&so, env);
	app_time_str(started, sizeof(started), (double)time(NULL));
	if (!req->dry_run && !req->no_running_mark) {
		app_operation_state(status, "Running", "", started, NULL, pick_revision(app, req), NULL);
		if ((r = patch_status(env, app, mf_node_get(app, "status"), status, err)) < 0)
			goto cleanup;
		written = mf_node_clone(status); /* the outcome's write is a diff from it */
	}
	r = check_spec(env, app, &cond, err);
	if (r >= 0 && !req->dry_run)
		r = check_deps(env, app, &cond, err);
	if (r >= 0)
		r = tenancy_begin(&ten, env, app, &so, req->source ? req->source->project : NULL,
				  err);
	if (r >= 0 && !req->source)
		r = app_source_load(&own, env, app, pick_revision(app, req), req->local_dir,
				    git_flags(req), err);
	if (r < 0) {
		/* nothing was applied: the cluster keeps the last good state */
		app_time_str(finished, sizeof(finished), (double)time(NULL));
		app_condition_set(status, cond ? cond : "SyncError", gs_error_str(err, buf, sizeof(buf)));
		app_operation_state(status, "Error", buf, started, finished, pick_revision(app, req),
				    NULL);
		goto record;
	}
	n = filter_objs(srcp->objs, srcp->n, req);
	so.o.flags = (req->prune && !req->n_resources ? SYNC_PRUNE : 0) |
		     (req->allow_empty || mf_node_bool(mf_node_dig(app, "spec", "syncPolicy",
								    "automated", "allowEmpty", NULL))
			      ? SYNC_ALLOW_EMPTY
			      : 0) |
		     (req->dry_run ? SYNC_DRY_RUN : 0) | (req->timeout_s > 0 ? SYNC_WAIT_HEALTHY : 0);
	so.o.timeout_s = req->timeout_s;
	so.o.progress = progress;
	so.o.payload = payload;
	if (!req->dry_run) {
		tc.user = ten.user;
		so.o.cancelled = terminate_requested;
		so.o.cancel_payload = &tc;
	}
	/* dry-runs, applies, prunes and hooks as the app's account */
	kube_client_set_impersonation(env->kc, ten.user);
	{
		double t0 = gs_time_mono();

		r = sync_run(env->se, rep, srcp->objs, n, &so.o, err);
		observe(env, "apply", t0);
	}
	kube_client_set_impersonation(env->kc, NULL);
	app_time_str(finished, sizeof(finished), (double)time(NULL));
	if (r < 0) {
		gs_error_str(err, buf, sizeof(buf));
		app_condition_set(status, "SyncError", buf);
		app_operation_state(status, "Error", buf, started, finished, srcp->git.rev.sha, NULL);
		goto record;
	}
	if (req->dry_run) {
		/* nothing changed, so sync status and history stay; the operation
		 * still ends with a state, or whoever asked for it (an API client,
		 * `app sync --dry-run` through the agent) would wait forever */
		app_operation_state(status, sync_phase_str(rep->phase), rep->message, started,
				    finished, srcp->git.rev.sha, rep);
		goto record;
	}
	app_status_from_report(status, rep, srcp->git.rev.sha);
	app_operation_state(status, sync_phase_str(rep->phase), rep->message, started, finished,
			    srcp->git.rev.sha, rep);
	if (rep->phase == SYNC_PHASE_SUCCEEDED) {
		app_condition_clear(status, "SyncError");
		app_condition_clear(status, "ComparisonError");
		clear_spec_conditions(status);
		app_history_push(status, srcp->git.rev.sha, finished, app);
	} else {
		app_condition_set(status, "SyncError", rep->message ? rep->message : "sync failed");
	}
	if (rev_out)
		*rev_out = gs_strdup(srcp->git.rev.sha);
record:
	if (!req->dry_run || mf_node_type(mf_node_get(app, "operation")) == MF_MAP) {
		if (patch_status(env, app, written ? written : mf_node_get(app, "status"), status,
				 &werr) < 0 &&
		    r == GS_OK)
			r = gs_error_set(err, werr.code, "%s", werr.msg);
		/* the request is done, whoever made it; an automated sync has
		 * none to clear (one write per change, not two: issue 20) */
		if (mf_node_get(app, "operation")) {
			double t0 = gs_time_mono();

			clear = mf_node_new(MF_MAP);
			mf_node_set(clear, "operation", mf_node_new_null());
			app_patch(env->kc, ns, name, clear, &werr);
			observe(env, "status", t0);
		}
	}
cleanup:
	tenancy_release(&ten);
	mf_node_free(clear);
	mf_node_free(written);
	mf_node_free(status);
	app_sync_opts_release(&so);
	app_source_release(&own);
	return r;
}
