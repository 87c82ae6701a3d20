/* api.c - the HTTP callbacks (server threads): readiness, push webhooks and
 * the API for CI pipelines. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app-project.h"
#include "gitsrc/gitsrc.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "gs-time.h"
#include "loop/alog.h"
#include "loop/api-app.h"
#include "loop/loop-private.h"
#include "loop/workq.h"
#include "mf-diff.h"
#include "mf-json.h"
#include "mf-object.h"
#include "sync/sync.h"

/* Mark an app for refresh through the API server (a standby's webhook). */
static int mark_refresh(struct kube_client *kc, const char *ns, const char *name,
			struct gs_error *err)
{
	struct mf_node *p = mf_node_new(MF_MAP);
	char now[40];
	int rc;

	app_time_str(now, sizeof(now), (double)time(NULL));
	mf_node_set_str_value(
		mf_node_ensure(mf_node_ensure(p, "metadata", MF_MAP), "annotations", MF_MAP),
		REFRESH_ANNOTATION, now);
	rc = app_patch(kc, ns, name, p, err);
	mf_node_free(p);
	return rc;
}

static bool api_ready(void *payload)
{
	struct agent *a = payload;
	bool r;

	pthread_mutex_lock(&a->lock);
	r = a->synced;
	pthread_mutex_unlock(&a->lock);
	return r;
}

static int api_push(void *payload, const struct webhook_push *push, size_t *matched_out,
		    struct gs_error *err)
{
	struct agent *a = payload;
	char **keys = NULL;
	size_t n = 0, i;
	bool leader;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	leader = agent_is_leader_locked(a);
	keys = gs_calloc(a->napps + 1, sizeof(char *));
	for (i = 0; i < a->napps; i++) {
		if (!webhook_push_matches(push, a->apps[i].repo, a->apps[i].revision))
			continue;
		/* the repository moved: the next app to read it asks the
		 * remote once, for all (gitsrc_share) */
		gitsrc_share_invalidate(a->git_share, a->apps[i].repo);
		/* monorepos: an app that names its paths skips pushes elsewhere */
		if (a->apps[i].npaths &&
		    !webhook_push_touches(push, (const char *const *)a->apps[i].paths,
					  a->apps[i].npaths))
			continue;
		if (leader) {
			/* a webhook overrides a retry backoff: the fix may be this push */
			a->apps[i].attempts = 0;
			a->apps[i].next_retry = 0;
			workq_add(a->q, a->apps[i].key, WORKQ_URGENT);
		}
		keys[n++] = gs_strdup(a->apps[i].key);
	}
	pthread_mutex_unlock(&a->lock);
	if (!leader && n) {
		pthread_mutex_lock(&a->api_lock);
		for (i = 0; i < n && !rc; i++) {
			char ns[254], name[254];
			agent_split_key(keys[i], ns, sizeof(ns), name, sizeof(name));
			rc = mark_refresh(a->api.kc, ns, name, err);
		}
		pthread_mutex_unlock(&a->api_lock);
	}
	for (i = 0; i < n; i++) {
		alog(ALOG_INFO, keys[i], NULL, "%s push webhook: refresh%s",
		     webhook_forge_name(push->forge), leader ? "" : " (marked for the leader)");
		free(keys[i]);
	}
	free(keys);
	*matched_out = n;
	return rc;
}

/* The Application's namespace: ?namespace=, else the agent's. */
static const char *api_namespace(const struct agent *a, const struct httpd_api_request *req)
{
	return req->namespace ? req->namespace : a->cfg->ns;
}

/* Is app one this request may see: read by this agent (its namespace or
 * --app-namespaces) and of a project the token lists?  Otherwise it does
 * not exist for the caller (404, the same answer as a missing one, so a
 * token learns nothing about other projects). */
static bool api_visible(const struct agent *a, const char *token_projects,
			const struct mf_node *app)
{
	const char *ns = mf_obj_namespace(app);

	return ns && agent_app_namespace_allowed(a->cfg, ns) &&
	       apitoken_projects_allow(token_projects, app_project_name(app));
}

/* GET the request's app (under api_lock) if visible; see api_visible. */
static int api_get_app(struct mf_node **out, struct agent *a, const struct httpd_api_request *req,
		       struct gs_error *err)
{
	const char *ns = api_namespace(a, req);
	int rc = app_get(out, a->api.kc, ns, req->name, err);

	if (!rc && !api_visible(a, req->projects, *out)) {
		mf_node_free(*out);
		*out = NULL;
		rc = gs_error_set(err, GS_ENOTFOUND, "application '%s' not found in namespace '%s'",
				  req->name, ns);
	}
	return rc;
}

/* Every object the API serves passes here or on_list_item: Git credentials
 * in a repoURL (spec, status, history) are redacted on the way out. */
static void emit_json(struct gs_buf *out, const struct mf_node *n)
{
	struct mf_node *safe = mf_node_clone(n);

	gitsrc_node_redact(safe);
	mf_json_emit(out, safe, 0);
	mf_node_free(safe);
	gs_buf_putc(out, '\n');
}

struct list_out {
	struct gs_buf *out;
	size_t n;
	const struct agent *a;
	const char *projects;
};

static int on_list_item(const struct mf_node *app, void *payload)
{
	struct list_out *lo = payload;
	struct mf_node *safe;

	if (!api_visible(lo->a, lo->projects, app))
		return 0;
	safe = mf_node_clone(app);
	if (lo->n++)
		gs_buf_putc(lo->out, ',');
	gitsrc_node_redact(safe);
	mf_json_emit(lo->out, safe, 0);
	mf_node_free(safe);
	return 0;
}

/* Body of POST .../sync: {"revision":"", "prune":bool, "allowEmpty":bool, "dryRun":bool, "force":bool,
 * "resources":["GROUP:KIND:NAME"], "syncOptions":["K=V"]}; all optional. */
static int api_sync(void *payload, const struct httpd_api_request *req,
		    struct httpd_api_response *resp, struct gs_error *err)
{
	struct agent *a = payload;
	const char *ns = api_namespace(a, req), *name = req->name;
	struct mf_node *body = NULL, *app = NULL, *patch = NULL;
	char *who = NULL;
	int rc;

	pthread_mutex_lock(&a->api_lock);
	if (req->body_len) {
		rc = mf_json_parse(&body, req->body, req->body_len, "request", err);
		if (rc || mf_node_type(body) != MF_MAP) {
			rc = gs_error_set(err, GS_EINVAL, "request body must be a JSON object");
			goto cleanup;
		}
	}
	rc = api_get_app(&app, a, req, err);
	if (rc)
		goto cleanup;
	if (mf_node_type(mf_node_get(app, "operation")) == MF_MAP) {
		rc = gs_error_set(err, GS_ECONFLICT,
				  "another operation is already in progress on '%s'", name);
		goto cleanup;
	}
	who = gs_asprintf("api:%s", req->token_name ? req->token_name : "");
	/* every option of the request travels (api-app.c) */
	patch = api_app_operation_patch(body, who, NULL);
	rc = app_patch(a->api.kc, ns, name, patch, err);
	if (rc)
		goto cleanup;
	if (agent_is_leader(a)) {
		char *key = agent_app_key(ns, name);
		workq_add(a->q, key, WORKQ_URGENT);
		free(key);
	}
	alog(ALOG_INFO, name, NULL, "sync requested through the API by token '%s'",
	     req->token_name ? req->token_name : "");
	resp->status = 202;
	mf_node_set_str_value(patch, "application", name);
	mf_node_set_str_value(patch, "namespace", ns);
	emit_json(&resp->body, patch);
cleanup:
	pthread_mutex_unlock(&a->api_lock);
	free(who);
	mf_node_free(body);
	mf_node_free(app);
	mf_node_free(patch);
	return rc;
}

/* A named route's app must be visible to the token (api_visible); a create
 * must name a project the token lists. */
static int api_check_visible(struct agent *a, const struct httpd_api_request *req,
			     struct gs_error *err)
{
	struct mf_node *app = NULL;
	int rc;

	if (req->name) {
		rc = api_get_app(&app, a, req, err);
		mf_node_free(app);
		return rc;
	}
	if (mf_json_parse(&app, req->body, req->body_len, "request", err) ||
	    mf_node_type(app) != MF_MAP) {
		mf_node_free(app);
		return gs_error_set(err, GS_EINVAL, "request body must be an Application (JSON)");
	}
	mf_node_set_str_value(mf_node_ensure(app, "metadata", MF_MAP), "namespace",
			      api_namespace(a, req));
	rc = api_visible(a, req->projects, app)
		     ? 0
		     : gs_error_set(err, GS_EAUTH, "this token may not create applications of "
						   "project '%s' in namespace '%s'",
				    app_project_name(app), api_namespace(a, req));
	mf_node_free(app);
	return rc;
}

/* The routes of api-app.c (what `gitsync app` computes with a kubeconfig),
 * each under api_lock, after the visibility check. */
#define API_APP_ROUTE(fn, call)                                                            \
	static int fn(void *payload, const struct httpd_api_request *req,                  \
		      struct httpd_api_response *resp, struct gs_error *err)               \
	{                                                                                  \
		struct agent *a = payload;                                                 \
		const char *ns = api_namespace(a, req);                                    \
		int rc;                                                                    \
		pthread_mutex_lock(&a->api_lock);                                          \
		rc = api_check_visible(a, req, err);                                       \
		if (!rc)                                                                   \
			rc = call;                                                         \
		pthread_mutex_unlock(&a->api_lock);                                        \
		return rc;                                                                 \
	}
API_APP_ROUTE(api_diff, api_app_diff(&a->api.env, ns, req->name, req, resp, err))
API_APP_ROUTE(api_resources, api_app_resources(&a->api.env, ns, req->name, req, resp, err))
API_APP_ROUTE(api_manifests, api_app_manifests(&a->api.env, ns, req->name, req, resp, err))
API_APP_ROUTE(api_create, api_app_create(&a->api.env, ns, req, resp, err))
API_APP_ROUTE(api_set, api_app_set(&a->api.env, ns, req->name, req, resp, err))
API_APP_ROUTE(api_delete, api_app_delete(&a->api.env, ns, req->name, req, resp, err))
API_APP_ROUTE(api_terminate, api_app_terminate(&a->api.env, ns, req->name, req, resp, err))

static int api_rollback(void *payload, const struct httpd_api_request *req,
			struct httpd_api_response *resp, struct gs_error *err)
{
	struct agent *a = payload;
	const char *ns = api_namespace(a, req);
	int rc;

	pthread_mutex_lock(&a->api_lock);
	rc = api_check_visible(a, req, err);
	if (!rc)
		rc = api_app_rollback(&a->api.env, ns, req->name, req, resp, err);
	pthread_mutex_unlock(&a->api_lock);
	if (!rc && agent_is_leader(a)) {
		char *key = agent_app_key(ns, req->name);
		workq_add(a->q, key, WORKQ_URGENT);
		free(key);
	}
	return rc;
}

static bool op_finished(const struct mf_node *app)
{
	const char *phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);

	return mf_node_type(mf_node_get(app, "operation")) != MF_MAP && phase &&
	       strcmp(phase, "Running");
}

/* GET .../operation[?wait=30s]: the operation (if pending) and its state;
 * with wait, answer as soon as no operation is pending and the last one
 * finished, or when the wait ends (long poll, capped at 60 s).  The app is
 * read when the poll starts, after each watch event of that app (the
 * informer's, through a->waits) and when the wait ends: never on a timer. */
static int api_operation(void *payload, const struct httpd_api_request *req,
			 struct httpd_api_response *resp, struct gs_error *err)
{
	struct agent *a = payload;
	double wait = req->query_wait ? gs_time_parse_duration(req->query_wait) : 0;
	double end;
	struct appwait_waiter wt;
	char *key = NULL;

	if (!(wait > 0) || wait > 60) /* NaN included: httpd validates, this holds anyway */
		wait = wait > 60 ? 60 : 0;
	end = workq_now() + wait;
	struct mf_node *app = NULL, *out = NULL;
	const struct mf_node *v;
	int rc;

	if (wait > 0) {
		/* listen before the first read: a change in between is not lost */
		key = agent_app_key(api_namespace(a, req), req->name);
		appwait_register(a->waits, &wt, key);
	}
	for (;;) {
		pthread_mutex_lock(&a->api_lock);
		rc = api_get_app(&app, a, req, err);
		pthread_mutex_unlock(&a->api_lock);
		if (wait > 0)
			metrics_add(a->m_poll_reads, 1);
		if (rc)
			goto cleanup;
		if (wait <= 0 || op_finished(app) || workq_now() >= end || agent_stopping(a))
			break;
		mf_node_free(app);
		app = NULL;
		appwait_wait(a->waits, &wt, end);
	}
	out = mf_node_new(MF_MAP);
	mf_node_set(out, "operation",
		    (v = mf_node_get(app, "operation")) ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "operationState", NULL);
	mf_node_set(out, "operationState", v ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "sync", NULL);
	mf_node_set(out, "sync", v ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "health", NULL);
	mf_node_set(out, "health", v ? mf_node_clone(v) : mf_node_new_null());
	mf_node_set(out, "finished", mf_node_new_bool(op_finished(app)));
	emit_json(&resp->body, out);
cleanup:
	if (key)
		appwait_unregister(a->waits, &wt);
	free(key);
	mf_node_free(out);
	mf_node_free(app);
	return rc;
}

/* GET /api/v1/applications[?namespace=NS]: every Application (all
 * namespaces without ?namespace). */
static int api_list(void *payload, const struct httpd_api_request *req,
		    struct httpd_api_response *resp, struct gs_error *err)
{
	struct agent *a = payload;
	const struct kube_resource *res;
	struct list_out lo = { &resp->body, 0, a, req->projects };
	int rc;

	pthread_mutex_lock(&a->api_lock);
	gs_buf_puts(&resp->body, "{\"items\":[");
	rc = app_resource(&res, a->api.kc, err);
	if (!rc)
		rc = kube_client_list(a->api.kc, res, req->namespace, NULL, on_list_item, &lo, NULL,
				      err);
	gs_buf_puts(&resp->body, "]}\n");
	pthread_mutex_unlock(&a->api_lock);
	return rc;
}

static int api_get(void *payload, const struct httpd_api_request *req,
		   struct httpd_api_response *resp, struct gs_error *err)
{
	struct agent *a = payload;
	struct mf_node *app = NULL;
	int rc;

	pthread_mutex_lock(&a->api_lock);
	rc = api_get_app(&app, a, req, err);
	pthread_mutex_unlock(&a->api_lock);
	if (!rc)
		emit_json(&resp->body, app);
	mf_node_free(app);
	return rc;
}

static int api_refresh(void *payload, const struct httpd_api_request *req,
		       struct httpd_api_response *resp, struct gs_error *err)
{
	struct agent *a = payload;
	const char *ns = api_namespace(a, req);
	struct mf_node *app = NULL;
	char *key;
	int rc;

	pthread_mutex_lock(&a->api_lock);
	rc = api_get_app(&app, a, req, err);
	if (!rc)
		rc = mark_refresh(a->api.kc, ns, req->name, err);
	pthread_mutex_unlock(&a->api_lock);
	mf_node_free(app);
	if (rc)
		return rc;
	key = agent_app_key(ns, req->name);
	if (agent_is_leader(a))
		workq_add(a->q, key, WORKQ_URGENT);
	free(key);
	resp->status = 202;
	gs_buf_puts(&resp->body, "{\"refresh\":true}\n");
	return 0;
}

/* Every API endpoint: adding one is a line here and its handler above.
 * Handlers run on the server's connection threads; each takes api_lock
 * around its use of a->api (the long poll only around each read). */
static const struct httpd_api_route routes[] = {
	{ "GET", false, NULL, APITOKEN_READ, api_list },
	{ "GET", true, NULL, APITOKEN_READ, api_get },
	{ "GET", true, "diff", APITOKEN_READ, api_diff },
	{ "GET", true, "operation", APITOKEN_READ, api_operation },
	{ "POST", true, "sync", APITOKEN_SYNC, api_sync },
	{ "POST", true, "refresh", APITOKEN_SYNC, api_refresh },
	{ "GET", true, "resources", APITOKEN_READ, api_resources },
	{ "GET", true, "manifests", APITOKEN_READ, api_manifests },
	{ "POST", true, "rollback", APITOKEN_SYNC, api_rollback },
	{ "POST", true, "terminate-op", APITOKEN_SYNC, api_terminate },
	{ "POST", false, NULL, APITOKEN_ADMIN, api_create },
	{ "DELETE", true, NULL, APITOKEN_ADMIN, api_delete },
	{ "PATCH", true, NULL, APITOKEN_ADMIN, api_set },
};

void agent_api_ops(struct httpd_ops *ops, struct agent *a)
{
	*ops = (struct httpd_ops){ api_ready, api_push, routes, sizeof(routes) / sizeof(routes[0]),
				   a };
	a->m_poll_reads = metrics_counter(a->m, "gitsync_api_long_poll_reads_total",
					  "Application reads by long polls (operation?wait=): one "
					  "when a poll starts, one per watch event of its app, one "
					  "when its wait ends.",
					  NULL);
}
