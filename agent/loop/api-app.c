/* api-app.c - Application routes of the agent's API (api-app.h). */
#include "loop/api-app.h"

#include <stdlib.h>
#include <string.h>

#include "app/app-view.h"
#include "gs-alloc.h"
#include "mf-json.h"
#include "mf-object.h"
#include "mf-yaml.h"

static void emit(struct gs_buf *out, const struct mf_node *n)
{
	mf_json_emit(out, n, 0);
	gs_buf_putc(out, '\n');
}

static const char *q(const struct httpd_api_request *req, const char *key)
{
	const char *v = httpd_api_query(req, key);

	return v && *v ? v : NULL;
}

static int parse_body(struct mf_node **out, const struct httpd_api_request *req,
		      struct gs_error *err)
{
	*out = NULL;
	if (!req->body_len)
		return GS_OK;
	if (mf_json_parse(out, req->body, req->body_len, "request", err) ||
	    mf_node_type(*out) != MF_MAP) {
		mf_node_free(*out);
		*out = NULL;
		return gs_error_set(err, GS_EINVAL, "request body must be a JSON object");
	}
	return GS_OK;
}

static void redact(struct mf_node *app)
{
	struct mf_node *src = mf_node_dig(app, "spec", "source", NULL);
	char *r;

	if (!mf_node_get(src, "repoURL"))
		return;
	r = gitsrc_url_redact(app_repo(app));
	mf_node_set_str_value(src, "repoURL", r);
	free(r);
}

/* compare as `gitsync app get|diff` does with a kubeconfig */
static int compare(struct sync_report *rep, char **rev, struct app_env *env, const char *ns,
		   const char *name, const struct httpd_api_request *req, unsigned flags,
		   struct gs_error *err)
{
	struct app_sync_req sr = { 0 };
	struct mf_node *app = NULL;
	const char *refresh = q(req, "refresh");
	int rc;

	if ((rc = app_get(&app, env->kc, ns, name, err)))
		return rc;
	sr.revision = q(req, "revision");
	if (!sr.revision && q(req, "recorded"))
		sr.revision = mf_node_dig_str(app, "status", "sync", "revision", NULL);
	sr.hard_refresh = refresh && !strcmp(refresh, "hard");
	rc = app_compare(rep, rev, env, app, &sr, flags, refresh != NULL, err);
	mf_node_free(app);
	return rc;
}

int api_app_resources(struct app_env *env, const char *ns, const char *name,
		      const struct httpd_api_request *req, struct httpd_api_response *resp,
		      struct gs_error *err)
{
	struct sync_report rep = SYNC_REPORT_INIT;
	struct mf_node *view;
	char *rev = NULL;
	int rc = compare(&rep, &rev, env, ns, name, req, 0, err);

	if (!rc) {
		view = app_view_comparison(&rep, rev);
		if (q(req, "orphaned")) {
			struct mf_node *app = NULL, *orphans = NULL;

			if (!(rc = app_get(&app, env->kc, ns, name, err)) &&
			    !(rc = app_orphans(&orphans, env->kc, app, err)))
				mf_node_set(view, "orphaned", orphans);
			mf_node_free(app);
		}
		if (!rc)
			emit(&resp->body, view);
		mf_node_free(view);
	}
	free(rev);
	sync_report_release(&rep);
	return rc;
}

int api_app_diff(struct app_env *env, const char *ns, const char *name,
		 const struct httpd_api_request *req, struct httpd_api_response *resp,
		 struct gs_error *err)
{
	struct sync_report rep = SYNC_REPORT_INIT;
	struct mf_node *diffs = NULL, *out;
	const char *fmt = q(req, "format");
	char *rev = NULL;
	size_t k;
	int rc = compare(&rep, &rev, env, ns, name, req, SYNC_KEEP_DIFF, err);

	if (rc)
		goto cleanup;
	diffs = app_view_diffs(&rep);
	if (fmt && !strcmp(fmt, "json")) {
		out = mf_node_new(MF_MAP);
		if (rev)
			mf_node_set_str_value(out, "revision", rev);
		mf_node_set(out, "diffs", diffs);
		diffs = NULL; /* now owned by out */
		emit(&resp->body, out);
		mf_node_free(out);
		goto cleanup;
	}
	for (k = 0; k < mf_node_len(diffs); k++) {
		const struct mf_node *d = mf_node_at(diffs, k);
		const char *g = mf_node_dig_str(d, "group", NULL), *n = mf_node_dig_str(d, "namespace", NULL);

		gs_buf_printf(&resp->body, "===== %s%s%s/%s %s/%s (%s)\n%s", g, *g ? "/" : "",
			      mf_node_dig_str(d, "version", NULL), mf_node_dig_str(d, "kind", NULL),
			      *n ? n : "-", mf_node_dig_str(d, "name", NULL),
			      mf_node_dig_str(d, "status", NULL), mf_node_dig_str(d, "diff", NULL));
	}
	resp->content_type = "text/plain; charset=utf-8";
cleanup:
	mf_node_free(diffs);
	free(rev);
	sync_report_release(&rep);
	return rc;
}

int api_app_manifests(struct app_env *env, const char *ns, const char *name,
		      const struct httpd_api_request *req, struct httpd_api_response *resp,
		      struct gs_error *err)
{
	struct app_source src = APP_SOURCE_INIT;
	struct mf_node *app = NULL;
	const char *refresh = q(req, "refresh");
	unsigned flags = refresh && !strcmp(refresh, "hard") ? GITSRC_FETCH_ALWAYS | GITSRC_REEXPORT
							     : 0;
	size_t k;
	int rc;

	if ((rc = app_get(&app, env->kc, ns, name, err)) ||
	    (rc = app_source_load(&src, env, app, q(req, "revision"), NULL, flags, err)))
		goto cleanup;
	for (k = 0; k < src.n; k++) {
		if (k)
			gs_buf_puts(&resp->body, "---\n");
		if (mf_yaml_emit(&resp->body, src.objs[k], MF_EMIT_SORT_KEYS) < 0) {
			rc = gs_error_set(err, GS_ERR, "cannot encode the output as YAML");
			goto cleanup;
		}
	}
	resp->content_type = "application/yaml";
cleanup:
	app_source_release(&src);
	mf_node_free(app);
	return rc;
}

struct mf_node *api_app_operation_patch(const struct mf_node *body, const char *who,
					const struct mf_node *source)
{
	struct mf_node *patch = mf_node_new(MF_MAP), *op, *s;
	const struct mf_node *v;

	op = mf_node_ensure(patch, "operation", MF_MAP);
	s = mf_node_ensure(op, "sync", MF_MAP);
	if ((v = mf_node_get(body, "revision")) && mf_node_str(v) && *mf_node_str(v))
		mf_node_set_str_value(s, "revision", mf_node_str(v));
	mf_node_set(s, "prune", mf_node_new_bool(mf_node_bool(mf_node_get(body, "prune"))));
	if (mf_node_bool(mf_node_get(body, "allowEmpty")))
		mf_node_set(s, "allowEmpty", mf_node_new_bool(true));
	if (mf_node_bool(mf_node_get(body, "dryRun")))
		mf_node_set(s, "dryRun", mf_node_new_bool(true));
	if (mf_node_bool(mf_node_get(body, "force")))
		mf_node_set(mf_node_ensure(mf_node_ensure(s, "syncStrategy", MF_MAP), "apply",
					   MF_MAP), "force", mf_node_new_bool(true));
	if ((v = mf_node_get(body, "resources")) && mf_node_type(v) == MF_SEQ)
		mf_node_set(s, "resources", mf_node_clone(v));
	if ((v = mf_node_get(body, "syncOptions")) && mf_node_type(v) == MF_SEQ)
		mf_node_set(s, "syncOptions", mf_node_clone(v));
	if (source)
		mf_node_set(s, "source", mf_node_clone(source));
	mf_node_set_str_value(mf_node_ensure(op, "initiatedBy", MF_MAP), "username", who);
	return patch;
}

int api_app_rollback(struct app_env *env, const char *ns, const char *name,
		     const struct httpd_api_request *req, struct httpd_api_response *resp,
		     struct gs_error *err)
{
	struct mf_node *body = NULL, *app = NULL, *patch = NULL, *off = NULL;
	const struct mf_node *hist, *entry = NULL;
	long long id = 0;
	char *who = NULL;
	size_t k;
	int rc;

	if ((rc = parse_body(&body, req, err)) || (rc = app_get(&app, env->kc, ns, name, err)))
		goto cleanup;
	if (mf_node_int(mf_node_get(body, "id"), &id) || id <= 0) {
		rc = gs_error_set(err, GS_EINVAL, "rollback needs {\"id\": N}, a history id");
		goto cleanup;
	}
	hist = mf_node_dig(app, "status", "history", NULL);
	for (k = 0; k < mf_node_len(hist); k++) {
		const char *hid = mf_node_str(mf_node_get(mf_node_at(hist, k), "id"));

		if (hid && strtoll(hid, NULL, 10) == id)
			entry = mf_node_at(hist, k);
	}
	if (!entry || !mf_node_dig_str(entry, "revision", NULL)) {
		rc = gs_error_set(err, GS_ENOTFOUND, "application '%s' has no history entry %lld",
				  name, id);
		goto cleanup;
	}
	if (mf_node_type(mf_node_get(app, "operation")) == MF_MAP) {
		rc = gs_error_set(err, GS_ECONFLICT,
				  "another operation is already in progress on '%s'", name);
		goto cleanup;
	}
	if (app_automated(app)) {
		/* as Argo CD does: automated sync would undo the rollback at once */
		off = mf_node_new(MF_MAP);
		mf_node_set(mf_node_ensure(mf_node_ensure(off, "spec", MF_MAP), "syncPolicy", MF_MAP),
			    "automated", mf_node_new_null());
		if ((rc = app_patch(env->kc, ns, name, off, err)))
			goto cleanup;
	}
	mf_node_set_str_value(body, "revision", mf_node_dig_str(entry, "revision", NULL));
	who = gs_asprintf("api:%s", req->token_name ? req->token_name : "");
	patch = api_app_operation_patch(body, who, mf_node_get(entry, "source"));
	if ((rc = app_patch(env->kc, ns, name, patch, err)))
		goto cleanup;
	resp->status = 202;
	emit(&resp->body, patch);
cleanup:
	free(who);
	mf_node_free(off);
	mf_node_free(patch);
	mf_node_free(app);
	mf_node_free(body);
	return rc;
}

int api_app_create(struct app_env *env, const char *ns, const struct httpd_api_request *req,
		   struct httpd_api_response *resp, struct gs_error *err)
{
	struct mf_node *app = NULL;
	const char *upsert = q(req, "upsert");
	int rc;

	if ((rc = parse_body(&app, req, err)))
		return rc;
	if (!app || !mf_obj_name(app) || !mf_node_dig(app, "spec", "source", NULL)) {
		mf_node_free(app);
		return gs_error_set(err, GS_EINVAL, "body must be an Application with a name and "
						    "spec.source");
	}
	/* the namespace is the route's, whatever the body says */
	mf_node_set_str_value(mf_node_ensure(app, "metadata", MF_MAP), "namespace", ns);
	mf_node_set_str_value(app, "apiVersion", APP_API_VERSION);
	mf_node_set_str_value(app, "kind", APP_KIND);
	rc = app_create(env->kc, app, upsert && !strcmp(upsert, "true"), err);
	if (!rc) {
		resp->status = 201;
		redact(app);
		emit(&resp->body, app);
	}
	mf_node_free(app);
	return rc;
}

int api_app_delete(struct app_env *env, const char *ns, const char *name,
		   const struct httpd_api_request *req, struct httpd_api_response *resp,
		   struct gs_error *err)
{
	const char *c = q(req, "cascade");
	bool cascade = !c || strcmp(c, "false");
	int rc = app_remove(env, ns, name, cascade, err);

	if (!rc)
		gs_buf_printf(&resp->body, "{\"deleted\":true,\"cascade\":%s}\n",
			      cascade ? "true" : "false");
	return rc;
}

int api_app_terminate(struct app_env *env, const char *ns, const char *name,
		      const struct httpd_api_request *req, struct httpd_api_response *resp,
		      struct gs_error *err)
{
	int rc = app_terminate_operation(env->kc, ns, name, err);

	(void)req;
	if (!rc)
		gs_buf_puts(&resp->body, "{\"terminating\":true}\n");
	return rc;
}

int api_app_set(struct app_env *env, const char *ns, const char *name,
		const struct httpd_api_request *req, struct httpd_api_response *resp,
		struct gs_error *err)
{
	static const char *const allowed[] = { "source", "destination", "syncPolicy" };
	struct mf_node *patch = NULL, *app = NULL;
	const struct mf_node *spec;
	size_t k, j;
	int rc;

	if ((rc = parse_body(&patch, req, err)))
		return rc;
	spec = mf_node_get(patch, "spec");
	if (!patch || mf_node_len(patch) != 1 || mf_node_type(spec) != MF_MAP) {
		rc = gs_error_set(err, GS_EINVAL, "body must be {\"spec\": {...}}");
		goto cleanup;
	}
	for (k = 0; k < mf_node_len(spec); k++) {
		const char *key = mf_node_key(spec, k);
		bool ok = false;

		for (j = 0; j < sizeof(allowed) / sizeof(allowed[0]); j++)
			ok = ok || (key && !strcmp(key, allowed[j]));
		if (!ok) {
			rc = gs_error_set(err, GS_EINVAL, "spec.%s cannot be set through the API",
					  key ? key : "?");
			goto cleanup;
		}
	}
	if (mf_node_dig(spec, "destination", "server", NULL)) {
		rc = gs_error_set(err, GS_EINVAL, "spec.destination.server is not supported: one "
						  "gitsync manages the cluster it runs in");
		goto cleanup;
	}
	if ((rc = app_get(&app, env->kc, ns, name, err)) ||
	    (rc = app_patch(env->kc, ns, name, patch, err)))
		goto cleanup;
	gs_buf_puts(&resp->body, "{\"updated\":true}\n");
cleanup:
	mf_node_free(app);
	mf_node_free(patch);
	return rc;
}
