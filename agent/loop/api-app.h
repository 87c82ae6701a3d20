/* api-app.h - the Application routes of the agent's API that the CLI's
 * remote backend (cli/app-remote.c) needs beyond list/get/sync/refresh/
 * operation: each computes what `gitsync app ...` computes with a
 * kubeconfig, so both transports print the same.  The caller (the agent's
 * API dispatch) holds the lock that serialises env. */
#ifndef GS_API_APP_H
#define GS_API_APP_H

#include "app/app.h"
#include "httpd/httpd.h"

/* GET .../resources[?revision=R][&refresh=normal|hard][&recorded=true]
 * [&orphaned=true]: {revision, sync, health, resources: [...]} (app/app-view.h),
 * with orphaned also {orphaned: [...]} (app_orphans). */
int api_app_resources(struct app_env *env, const char *ns, const char *name,
		      const struct httpd_api_request *req, struct httpd_api_response *resp,
		      struct gs_error *err);
/* GET .../diff[?revision=R][&refresh=hard][&format=json]: text, or
 * {revision, diffs: [...]} with format=json. */
int api_app_diff(struct app_env *env, const char *ns, const char *name,
		 const struct httpd_api_request *req, struct httpd_api_response *resp,
		 struct gs_error *err);
/* GET .../manifests[?revision=R][&refresh=hard]: the YAML stream. */
int api_app_manifests(struct app_env *env, const char *ns, const char *name,
		      const struct httpd_api_request *req, struct httpd_api_response *resp,
		      struct gs_error *err);
/* The .operation patch of a sync request body {revision, prune, dryRun,
 * resources, syncOptions} (owned); source (may be NULL) is a rollback's. */
struct mf_node *api_app_operation_patch(const struct mf_node *body, const char *who,
					const struct mf_node *source);
/* POST .../rollback {id, prune, dryRun}: automated sync off, then an
 * operation syncing the source recorded in history entry id. */
int api_app_rollback(struct app_env *env, const char *ns, const char *name,
		     const struct httpd_api_request *req, struct httpd_api_response *resp,
		     struct gs_error *err);
/* POST /api/v1/applications[?upsert=true]: body an Application. */
int api_app_create(struct app_env *env, const char *ns, const struct httpd_api_request *req,
		   struct httpd_api_response *resp, struct gs_error *err);
/* PATCH .../NAME: a JSON merge patch of spec.source, spec.destination and
 * spec.syncPolicy only (`gitsync app set`); anything else is GS_EINVAL. */
int api_app_set(struct app_env *env, const char *ns, const char *name,
		const struct httpd_api_request *req, struct httpd_api_response *resp,
		struct gs_error *err);
/* DELETE .../NAME[?cascade=false]: prune the app's objects, then delete it. */
int api_app_delete(struct app_env *env, const char *ns, const char *name,
		   const struct httpd_api_request *req, struct httpd_api_response *resp,
		   struct gs_error *err);

/* POST .../terminate-op: stop the running operation (app_terminate_operation). */
int api_app_terminate(struct app_env *env, const char *ns, const char *name,
		      const struct httpd_api_request *req, struct httpd_api_response *resp,
		      struct gs_error *err);

#endif
