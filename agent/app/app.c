/* app.c - the Application object, its API calls and its status. */
#include "app/app.h"
#include "gitsrc/gitsrc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gs-time.h"
#include "gs-alloc.h"
#include "mf-json.h"
#include "mf-object.h"

/* ---- the object ---- */

struct mf_node *app_object_new(const char *ns, const char *name, const struct app_params *p)
{
	struct mf_node *app = mf_node_new(MF_MAP);
	struct mf_node *meta, *spec, *src, *dst;
	size_t i;

	mf_node_set_str_value(app, "apiVersion", APP_API_VERSION);
	mf_node_set_str_value(app, "kind", APP_KIND);
	meta = mf_node_ensure(app, "metadata", MF_MAP);
	mf_node_set_str_value(meta, "name", name);
	mf_node_set_str_value(meta, "namespace", ns);
	spec = mf_node_ensure(app, "spec", MF_MAP);
	src = mf_node_ensure(spec, "source", MF_MAP);
	mf_node_set_str_value(src, "repoURL", p->repo_url ? p->repo_url : "");
	if (p->revision && *p->revision)
		mf_node_set_str_value(src, "targetRevision", p->revision);
	if (p->path && *p->path)
		mf_node_set_str_value(src, "path", p->path);
	if (p->recurse)
		mf_node_set(mf_node_ensure(src, "directory", MF_MAP), "recurse",
			    mf_node_new_bool(true));
	if (p->secret_name && *p->secret_name)
		mf_node_set_str_value(mf_node_ensure(src, "secretRef", MF_MAP), "name",
				      p->secret_name);
	if (p->helm_chart && *p->helm_chart)
		mf_node_set_str_value(src, "chart", p->helm_chart);
	if ((p->helm_release_name && *p->helm_release_name) || p->n_helm_values ||
	    p->n_helm_set || p->n_helm_set_string) {
		struct mf_node *h = mf_node_ensure(src, "helm", MF_MAP);

		if (p->helm_release_name && *p->helm_release_name)
			mf_node_set_str_value(h, "releaseName", p->helm_release_name);
		for (i = 0; i < p->n_helm_values; i++)
			mf_node_append(mf_node_ensure(h, "valueFiles", MF_SEQ),
				       mf_node_new_str(p->helm_values[i]));
		for (i = 0; i < p->n_helm_set + p->n_helm_set_string; i++) {
			bool str = i >= p->n_helm_set;
			const char *kv = str ? p->helm_set_string[i - p->n_helm_set] : p->helm_set[i];
			const char *eq = strchr(kv, '=');
			struct mf_node *e = mf_node_new(MF_MAP);

			mf_node_set(e, "name", mf_node_new_strn(kv, eq ? (size_t)(eq - kv) : strlen(kv)));
			mf_node_set_str_value(e, "value", eq ? eq + 1 : "");
			if (str)
				mf_node_set(e, "forceString", mf_node_new_bool(true));
			mf_node_append(mf_node_ensure(h, "parameters", MF_SEQ), e);
		}
	}
	dst = mf_node_ensure(spec, "destination", MF_MAP);
	if (p->dest_namespace && *p->dest_namespace)
		mf_node_set_str_value(dst, "namespace", p->dest_namespace);
	if (p->automated || p->n_sync_options) {
		struct mf_node *pol = mf_node_ensure(spec, "syncPolicy", MF_MAP);

		if (p->automated) {
			struct mf_node *a = mf_node_ensure(pol, "automated", MF_MAP);

			mf_node_set(a, "prune", mf_node_new_bool(p->prune));
			mf_node_set(a, "selfHeal", mf_node_new_bool(p->self_heal));
		}
		if (p->n_sync_options) {
			struct mf_node *so = mf_node_ensure(pol, "syncOptions", MF_SEQ);

			for (i = 0; i < p->n_sync_options; i++)
				mf_node_append(so, mf_node_new_str(p->sync_options[i]));
		}
	}
	return app;
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

const char *app_repo(const struct mf_node *app)
{
	return str_or_empty(mf_node_dig_str(app, "spec", "source", "repoURL", NULL));
}

const char *app_revision(const struct mf_node *app)
{
	return str_or_empty(mf_node_dig_str(app, "spec", "source", "targetRevision", NULL));
}

const char *app_path(const struct mf_node *app)
{
	return str_or_empty(mf_node_dig_str(app, "spec", "source", "path", NULL));
}

const char *app_dest_namespace(const struct mf_node *app)
{
	return str_or_empty(mf_node_dig_str(app, "spec", "destination", "namespace", NULL));
}

bool app_automated(const struct mf_node *app)
{
	return mf_node_type(mf_node_dig(app, "spec", "syncPolicy", "automated", NULL)) == MF_MAP;
}

bool app_retries_after(const struct mf_node *app, const char *phase)
{
	if (phase && !strcmp(phase, "Error"))
		return true;
	return phase && !strcmp(phase, "Failed") &&
	       mf_node_dig(app, "spec", "syncPolicy", "retry", NULL) != NULL;
}

const char *app_sync_policy_str(const struct mf_node *app)
{
	const struct mf_node *a = mf_node_dig(app, "spec", "syncPolicy", "automated", NULL);
	bool prune = mf_node_bool(mf_node_get(a, "prune"));

	if (mf_node_type(a) != MF_MAP)
		return "<none>";
	return prune ? "Automated (Prune)" : "Automated";
}

/* ---- the API ---- */

int app_resource(const struct kube_resource **out, struct kube_client *kc, struct gs_error *err)
{
	int r = kube_client_resource(kc, out, APP_GROUP, APP_VERSION, APP_KIND, err);

	if (r == GS_ENOTFOUND)
		return gs_error_set(err, GS_ENOTFOUND,
				    "the cluster does not serve %s Applications (run 'gitsync install' "
				    "first)",
				    APP_API_VERSION);
	return r;
}

int app_get(struct mf_node **out, struct kube_client *kc, const char *ns, const char *name,
	    struct gs_error *err)
{
	return app_get_at(out, kc, ns, name, NULL, err);
}

int app_get_at(struct mf_node **out, struct kube_client *kc, const char *ns, const char *name,
	       const char *min_rv, struct gs_error *err)
{
	const struct kube_resource *res;
	int r;

	if ((r = app_resource(&res, kc, err)) < 0)
		return r;
	r = kube_client_get_at(kc, out, res, ns, name, min_rv, err);
	if (r == GS_ENOTFOUND)
		return gs_error_set(err, GS_ENOTFOUND, "application '%s' not found in namespace '%s'",
				    name, ns);
	return r;
}

static int send_json(struct kube_client *kc, const char *method, const char *path,
		     const char *ctype, const struct mf_node *body, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	struct kube_response resp = KUBE_RESPONSE_INIT;
	int r;

	if ((r = mf_json_emit(&b, body, 0)) < 0) {
		gs_error_set(err, r, "cannot encode the request");
		goto cleanup;
	}
	if ((r = kube_client_request(kc, method, path, ctype, b.ptr, b.len, &resp, err)) < 0)
		goto cleanup;
	if (resp.status < 200 || resp.status > 299)
		r = kube_status_error(&resp, err);
cleanup:
	kube_response_release(&resp);
	gs_buf_release(&b);
	return r;
}

int app_create(struct kube_client *kc, const struct mf_node *app, bool upsert,
	       struct gs_error *err)
{
	const struct kube_resource *res;
	struct mf_node *cur = NULL, *put = NULL;
	const char *ns = mf_obj_namespace(app), *name = mf_obj_name(app);
	char *path = NULL;
	int r;

	if ((r = app_resource(&res, kc, err)) < 0)
		return r;
	r = kube_client_get(kc, &cur, res, ns, name, err);
	if (r == GS_ENOTFOUND) {
		gs_error_clear(err);
		r = kube_client_create(kc, NULL, res, app, err);
		if (r < 0)
			gs_error_wrap(err, "create application '%s'", name);
		goto cleanup;
	}
	if (r < 0)
		goto cleanup;
	if (mf_node_equal(mf_node_get(cur, "spec"), mf_node_get(app, "spec"))) {
		r = GS_OK;
		goto cleanup;
	}
	if (!upsert) {
		r = gs_error_set(err, GS_ECONFLICT,
				 "application '%s' already exists with a different spec (use --upsert "
				 "to replace it)",
				 name);
		goto cleanup;
	}
	/* PUT with the current resourceVersion: a concurrent writer gets a 409
	 * instead of being overwritten silently. */
	put = mf_node_clone(cur);
	mf_node_set(put, "spec", mf_node_clone(mf_node_get(app, "spec")));
	mf_node_remove(put, "status");
	path = kube_resource_path(res, ns, name);
	r = send_json(kc, "PUT", path, "application/json", put, err);
	if (r < 0)
		gs_error_wrap(err, "update application '%s'", name);
cleanup:
	free(path);
	mf_node_free(put);
	mf_node_free(cur);
	return r;
}

int app_delete(struct kube_client *kc, const char *ns, const char *name, bool cascade,
	       struct gs_error *err)
{
	const struct kube_resource *res;
	int r;

	(void)cascade; /* objects are pruned by the caller before, see cmd-app.c */
	if ((r = app_resource(&res, kc, err)) < 0)
		return r;
	r = kube_client_delete(kc, res, ns, name, NULL, err);
	if (r == GS_ENOTFOUND)
		return gs_error_set(err, GS_ENOTFOUND, "application '%s' not found in namespace '%s'",
				    name, ns);
	return r;
}

int app_patch(struct kube_client *kc, const char *ns, const char *name,
	      const struct mf_node *patch, struct gs_error *err)
{
	const struct kube_resource *res;
	char *path;
	int r;

	if ((r = app_resource(&res, kc, err)) < 0)
		return r;
	path = kube_resource_path(res, ns, name);
	r = send_json(kc, "PATCH", path, "application/merge-patch+json", patch, err);
	free(path);
	return r;
}

int app_patch_status(struct kube_client *kc, const char *ns, const char *name,
		     const struct mf_node *status, struct gs_error *err)
{
	const struct kube_resource *res;
	struct mf_node *patch = mf_node_new(MF_MAP);
	char *path = NULL, *spath = NULL;
	int r;

	if ((r = app_resource(&res, kc, err)) < 0)
		goto cleanup;
	path = kube_resource_path(res, ns, name);
	spath = gs_asprintf("%s/status", path);
	/* a merge patch replaces lists whole, which is what status wants */
	mf_node_set(patch, "status", mf_node_clone(status));
	gitsrc_node_redact(patch); /* the last boundary before the API server */
	r = send_json(kc, "PATCH", spath, "application/merge-patch+json", patch, err);
	if (r < 0)
		gs_error_wrap(err, "write status of application '%s'", name);
cleanup:
	free(spath);
	free(path);
	mf_node_free(patch);
	return r;
}

bool app_agent_running(struct kube_client *kc, const char *ns)
{
	const struct kube_resource *res;
	struct mf_node *lease = NULL;
	struct gs_error err = GS_ERROR_INIT;
	const char *holder, *renew;
	double renewed;
	long long dur = 15;
	bool running = false;

	if (kube_client_resource(kc, &res, "coordination.k8s.io", "v1", "Lease", &err) < 0)
		return false;
	if (kube_client_get(kc, &lease, res, ns, APP_LEASE_NAME, &err) < 0)
		return false;
	holder = mf_node_dig_str(lease, "spec", "holderIdentity", NULL);
	renew = mf_node_dig_str(lease, "spec", "renewTime", NULL);
	mf_node_int(mf_node_dig(lease, "spec", "leaseDurationSeconds", NULL), &dur);
	if (holder && *holder && renew && !gs_time_parse_rfc3339(&renewed, renew, &err) &&
	    renewed + (double)dur >= gs_time_wall())
		running = true;
	mf_node_free(lease);
	return running;
}

/* ---- status ---- */

const char *app_sync_status_str(enum sync_status s)
{
	return s == SYNC_STATUS_SYNCED ? "Synced" : s == SYNC_STATUS_UNKNOWN ? "Unknown" : "OutOfSync";
}

const char *app_health_str(enum sync_health h)
{
	return h == SYNC_HEALTH_NONE ? "Healthy" : sync_health_str(h);
}

const char *app_time_str(char *buf, size_t n, double t)
{
	char tmp[GS_TIME_RFC3339_SIZE];

	snprintf(buf, n, "%s", gs_time_rfc3339(tmp, t));
	return buf;
}

static struct mf_node *resource_node(const struct sync_resource *r, bool with_result)
{
	struct mf_node *e = mf_node_new(MF_MAP);

	/* empty fields are left out: at 5,000 objects every byte is paid 5,000 times */
	if (r->group && *r->group)
		mf_node_set_str_value(e, "group", r->group);
	mf_node_set_str_value(e, "version", str_or_empty(r->version));
	mf_node_set_str_value(e, "kind", str_or_empty(r->kind));
	if (r->ns && *r->ns)
		mf_node_set_str_value(e, "namespace", r->ns);
	mf_node_set_str_value(e, "name", str_or_empty(r->name));
	if (!with_result) {
		mf_node_set_str_value(e, "status", sync_status_str(r->status));
		if (r->health != SYNC_HEALTH_NONE) {
			struct mf_node *h = mf_node_ensure(e, "health", MF_MAP);

			mf_node_set_str_value(h, "status", sync_health_str(r->health));
			if (r->health_msg && *r->health_msg)
				mf_node_set_str_value(h, "message", r->health_msg);
		}
		if (r->requires_pruning)
			mf_node_set(e, "requiresPruning", mf_node_new_bool(true));
	} else {
		static const char *const results[] = { "", "Synced", "SyncFailed", "Pruned",
						       "PruneSkipped" };

		mf_node_set_str_value(e, "status", results[r->result]);
		if (r->message && *r->message)
			mf_node_set_str_value(e, "message", r->message);
	}
	if (r->hook != SYNC_HOOK_NONE)
		mf_node_set_str_value(e, "hookType", sync_hook_str(r->hook));
	return e;
}

static void add_count(struct mf_node *summary, const char *key)
{
	struct mf_node *n = mf_node_get(summary, key);
	long long v = 0;

	mf_node_int(n, &v);
	mf_node_set(summary, key, mf_node_new_int(v + 1));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void app_status_from_report(struct mf_node *status, const struct sync_report *rep,
			    const char *revision)
{
	struct mf_node *sync = mf_node_ensure(status, "sync", MF_MAP);
	struct mf_node *health = mf_node_ensure(status, "health", MF_MAP);
	struct mf_node *resources = mf_node_new(MF_SEQ);
	struct mf_node *summary = mf_node_new(MF_MAP);
	struct mf_node *kinds = mf_node_new(MF_SEQ);
	char **kv = NULL;
	size_t i, nk = 0, ak = 0, kept = 0;
	char tbuf[32];

	mf_node_set_str_value(sync, "status", app_sync_status_str(rep->status));
	if (revision)
		mf_node_set_str_value(sync, "revision", revision);
	mf_node_set_str_value(health, "status", app_health_str(rep->health));
	mf_node_set(summary, "resources", mf_node_new_int((long long)rep->n));
	for (i = 0; i < rep->n; i++) {
		const struct sync_resource *r = &rep->v[i];
		bool ok = r->status == SYNC_STATUS_SYNCED &&
			  (r->health == SYNC_HEALTH_NONE || r->health == SYNC_HEALTH_HEALTHY);
		char *k;
		size_t j;

		add_count(summary, r->status == SYNC_STATUS_SYNCED ? "synced"
				   : r->status == SYNC_STATUS_MISSING ? "missing"
				   : r->status == SYNC_STATUS_PRUNE ? "requiresPruning"
				   : "outOfSync");
		if (r->health != SYNC_HEALTH_NONE)
			add_count(summary, r->health == SYNC_HEALTH_HEALTHY ? "healthy"
					   : r->health == SYNC_HEALTH_PROGRESSING ? "progressing"
					   : r->health == SYNC_HEALTH_DEGRADED ? "degraded"
					   : "otherHealth");
		/* Only what is not fine is stored; `app get` recomputes the rest. */
		if (!ok) {
			if (kept < APP_STATUS_RESOURCES_MAX)
				mf_node_append(resources, resource_node(r, false));
			kept++;
		}
		/* kinds the app manages, so a later sync finds objects of kinds
		 * that left the source (prune) without scanning every kind */
		k = gs_asprintf("%s/%s/%s", str_or_empty(r->group), str_or_empty(r->version),
				str_or_empty(r->kind));
		for (j = 0; j < nk && strcmp(kv[j], k); j++)
			;
		if (j < nk) {
			free(k);
		} else {
			GS_ALLOC_GROW(kv, nk + 1, ak);
			kv[nk++] = k;
		}
	}
	if (nk)
		qsort(kv, nk, sizeof(*kv), cmp_str);
	for (i = 0; i < nk; i++) {
		mf_node_append(kinds, mf_node_new_str(kv[i]));
		free(kv[i]);
	}
	free(kv);
	mf_node_set(status, "resources", resources);
	if (kept > APP_STATUS_RESOURCES_MAX)
		mf_node_set(summary, "resourcesOmitted",
			    mf_node_new_int((long long)(kept - APP_STATUS_RESOURCES_MAX)));
	else
		mf_node_remove(summary, "resourcesOmitted");
	mf_node_set(status, "summary", summary);
	mf_node_set(status, "managedKinds", kinds);
	mf_node_set_str_value(status, "reconciledAt", app_time_str(tbuf, sizeof(tbuf), (double)time(NULL)));
}

void app_condition_set(struct mf_node *status, const char *type, const char *message_in)
{
	struct mf_node *conds = mf_node_ensure(status, "conditions", MF_SEQ);
	struct mf_node *c;
	char tbuf[32];
	size_t i;
	/* status is an output: no Git credentials in it (and the redacted
	 * text is what an unchanged condition compares against) */
	char *message = gitsrc_text_redact(message_in);

	/* the same condition again is no transition: keep it (and its time),
	 * so that an unchanged failing app leaves its status unchanged */
	for (i = 0; i < mf_node_len(conds); i++) {
		const struct mf_node *o = mf_node_at(conds, i);
		if (!strcmp(str_or_empty(mf_node_dig_str(o, "type", NULL)), type) &&
		    !strcmp(str_or_empty(mf_node_dig_str(o, "message", NULL)), message)) {
			free(message);
			return;
		}
	}
	c = mf_node_new(MF_MAP);
	app_condition_clear(status, type);
	mf_node_set_str_value(c, "type", type);
	mf_node_set_str_value(c, "message", message);
	mf_node_set_str_value(c, "lastTransitionTime",
			      app_time_str(tbuf, sizeof(tbuf), (double)time(NULL)));
	mf_node_append(conds, c);
	free(message);
}

void app_condition_clear(struct mf_node *status, const char *type)
{
	struct mf_node *conds = mf_node_get(status, "conditions");
	size_t i;

	for (i = mf_node_len(conds); i-- > 0;)
		if (!strcmp(str_or_empty(mf_node_dig_str(mf_node_at(conds, i), "type", NULL)), type))
			mf_node_remove_at(conds, i);
}

long long app_history_push(struct mf_node *status, const char *revision, const char *deployed_at,
			   const struct mf_node *app)
{
	struct mf_node *hist = mf_node_ensure(status, "history", MF_SEQ);
	struct mf_node *e = mf_node_new(MF_MAP), *src;
	long long id = 0, v;
	size_t i;

	for (i = 0; i < mf_node_len(hist); i++)
		if (mf_node_int(mf_node_get(mf_node_at(hist, i), "id"), &v) == 0 && v > id)
			id = v;
	id++;
	mf_node_set(e, "id", mf_node_new_int(id));
	mf_node_set_str_value(e, "revision", revision);
	mf_node_set_str_value(e, "deployedAt", deployed_at);
	src = mf_node_ensure(e, "source", MF_MAP);
	{
		char *repo = gitsrc_url_redact(app_repo(app));

		mf_node_set_str_value(src, "repoURL", repo);
		free(repo);
	}
	mf_node_set_str_value(src, "path", app_path(app));
	mf_node_set_str_value(src, "targetRevision", app_revision(app));
	mf_node_append(hist, e);
	while (mf_node_len(hist) > APP_HISTORY_MAX)
		mf_node_remove_at(hist, 0);
	return id;
}

const char *app_history_revision(const struct mf_node *app, long long id)
{
	const struct mf_node *hist = mf_node_dig(app, "status", "history", NULL);
	long long v;
	size_t i;

	for (i = 0; i < mf_node_len(hist); i++)
		if (mf_node_int(mf_node_get(mf_node_at(hist, i), "id"), &v) == 0 && v == id)
			return mf_node_dig_str(mf_node_at(hist, i), "revision", NULL);
	return NULL;
}

void app_operation_state(struct mf_node *status, const char *phase, const char *message,
			 const char *started, const char *finished, const char *revision,
			 const struct sync_report *rep)
{
	struct mf_node *os = mf_node_new(MF_MAP), *sr;
	size_t i, kept = 0;

	mf_node_set_str_value(os, "phase", phase);
	{
		char *m = gitsrc_text_redact(message);

		mf_node_set_str_value(os, "message", m);
		free(m);
	}
	if (started)
		mf_node_set_str_value(os, "startedAt", started);
	if (finished)
		mf_node_set_str_value(os, "finishedAt", finished);
	sr = mf_node_ensure(os, "syncResult", MF_MAP);
	mf_node_set_str_value(sr, "revision", str_or_empty(revision));
	if (rep) {
		struct mf_node *res = mf_node_ensure(sr, "resources", MF_SEQ);

		for (i = 0; i < rep->n; i++) {
			if (rep->v[i].result == SYNC_RESULT_NONE)
				continue;
			if (kept++ < APP_STATUS_RESOURCES_MAX)
				mf_node_append(res, resource_node(&rep->v[i], true));
		}
		if (kept > APP_STATUS_RESOURCES_MAX)
			mf_node_set(sr, "resourcesOmitted",
				    mf_node_new_int((long long)(kept - APP_STATUS_RESOURCES_MAX)));
	}
	mf_node_set(status, "operationState", os);
}
