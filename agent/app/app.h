/* app.h - the Application custom resource: the object, its status, and the
 * one pipeline (fetch -> render -> compare/sync -> status) that `gitsync app`
 * and the agent share.
 *
 * Applications are plain mf_node objects (what the API server returns); the
 * helpers here read and build them.  Status is kept small on purpose: an app
 * of 5,000 objects stores counts plus the resources that are not Synced and
 * Healthy (capped), the last operation and ten history entries; `app get`
 * recomputes the full table from the cluster (see app_status_from_report).
 *
 * Nothing here prints.  Not thread-safe: one struct app_env per thread.
 */
#ifndef GS_APP_H
#define GS_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "gitsrc/gitsrc.h"
#include "helm/helm.h"
#include "render/render.h"
#include "gs-buf.h"
#include "gs-error.h"
#include "kube/kube-client.h"
#include "mf-node.h"
#include "sync/sync.h"

#define APP_GROUP "gitsync.io"
#define APP_VERSION "v1alpha1"
#define APP_API_VERSION "gitsync.io/v1alpha1"
#define APP_KIND "Application"
#define APP_DEFAULT_NAMESPACE "gitsync"
#define APP_LEASE_NAME "gitsync-agent"
#define APP_HISTORY_MAX 10
/* resources[] entries kept in status beyond which only counts are stored */
#define APP_STATUS_RESOURCES_MAX 500

/* The CRD manifest (YAML, static). */
const char *app_crd_yaml(void);

/* ---- the object ---- */

struct app_params {
	const char *repo_url, *revision, *path, *dest_namespace; /* borrowed */
	const char *secret_name;  /* spec.source.secretRef.name, may be NULL */
	bool automated, prune, self_heal, recurse;
	const char *const *sync_options; /* "Key=Value" */
	size_t n_sync_options;
	/* Helm (spec.source.chart and spec.source.helm), all optional */
	const char *helm_chart;           /* a chart repository's chart name */
	const char *helm_release_name;
	const char *const *helm_values;   /* valueFiles */
	size_t n_helm_values;
	const char *const *helm_set;      /* "name=value" parameters */
	size_t n_helm_set;
	const char *const *helm_set_string; /* "name=value", forceString */
	size_t n_helm_set_string;
};

/* A new Application object (owned). */
struct mf_node *app_object_new(const char *ns, const char *name, const struct app_params *p);

/* Borrowed strings from an Application (NULL/"" when absent). */
const char *app_repo(const struct mf_node *app);
const char *app_revision(const struct mf_node *app); /* "" means HEAD */
const char *app_path(const struct mf_node *app);     /* "" means the root */
const char *app_dest_namespace(const struct mf_node *app);
bool app_automated(const struct mf_node *app);
/* May an automated sync of the revision whose last sync ended in phase run
 * again (on the retry backoff)?  After Error (cluster or Git unreachable:
 * the next try may work) yes; after Failed (objects rejected: the same
 * commit fails the same way) only with spec.syncPolicy.retry, as Argo CD. */
bool app_retries_after(const struct mf_node *app, const char *phase);
/* "<none>" or "Automated" / "Automated (Prune)" as argocd prints it (static). */
const char *app_sync_policy_str(const struct mf_node *app);

/* ---- the API ---- */

/* The Applications resource; GS_ENOTFOUND with a hint to run `gitsync install`. */
int app_resource(const struct kube_resource **out, struct kube_client *kc, struct gs_error *err);
/* GET; *out owned.  GS_ENOTFOUND "application 'x' not found in namespace 'ns'". */
int app_get(struct mf_node **out, struct kube_client *kc, const char *ns, const char *name,
	    struct gs_error *err);
/* The same, as the API server's watch cache has it at min_rv or later (no
 * etcd read; kube_client_get_at).  min_rv NULL: as app_get. */
int app_get_at(struct mf_node **out, struct kube_client *kc, const char *ns, const char *name,
	       const char *min_rv, struct gs_error *err);
/* Create app (borrowed).  GS_ECONFLICT when it exists with a different spec
 * unless upsert (then the spec is replaced).  An identical spec is fine. */
int app_create(struct kube_client *kc, const struct mf_node *app, bool upsert,
	       struct gs_error *err);
int app_delete(struct kube_client *kc, const char *ns, const char *name, bool cascade,
	       struct gs_error *err);
/* JSON merge patch of the main resource (patch borrowed). */
int app_patch(struct kube_client *kc, const char *ns, const char *name,
	      const struct mf_node *patch, struct gs_error *err);
/* JSON merge patch of the status subresource (status borrowed: the new .status). */
int app_patch_status(struct kube_client *kc, const char *ns, const char *name,
		     const struct mf_node *status, struct gs_error *err);
/* Does an agent hold the Lease gitsync-agent in ns (holder set, not expired)? */
bool app_agent_running(struct kube_client *kc, const char *ns);

/* ---- deletion and dependencies ---- */

/* The resources finalizer (Argo CD's resources-finalizer.argocd.argoproj.io
 * is honoured too); APP_FINALIZER "/background" for background cascade. */
#define APP_FINALIZER "resources-finalizer.gitsync.io"
/* Does app carry one of the resources finalizers? */
bool app_has_finalizer(const struct mf_node *app);
struct app_env;
struct sync_jq_memo;
/* app is being deleted and has a resources finalizer: delete its objects
 * (foreground or background cascade, see app-finalizer.c), then remove the
 * finalizer.  *done_out false: objects are still going (foreground), call
 * again later.  Errors: a delete refused (the row's message), API errors. */
int app_finalize(bool *done_out, struct app_env *env, const struct mf_node *app,
		 struct gs_error *err);
/* spec.dependsOn [{name, namespace}]: *why_out (owned) says which apps app
 * still waits for ("waiting for app 'ns/db' (OutOfSync, Progressing) ..."),
 * NULL when each is Synced and Healthy and not syncing.  Errors: GS_EINVAL
 * for a cycle through app (the chain named) or a malformed entry. */
int app_depends_wait(char **why_out, struct kube_client *kc, const struct mf_node *app,
		     struct gs_error *err);

/* ---- status ---- */

/* Build the status fields that describe a comparison or a sync (sync,
 * health, resources, summary) into status (a map, edited in place).
 * revision: the commit compared. */
void app_status_from_report(struct mf_node *status, const struct sync_report *rep,
			    const char *revision);
/* Conditions: set (replacing the same type) or clear. */
void app_condition_set(struct mf_node *status, const char *type, const char *message);
void app_condition_clear(struct mf_node *status, const char *type);
/* Append a history entry (id = last id + 1), trimmed to APP_HISTORY_MAX.
 * Returns the new id. */
long long app_history_push(struct mf_node *status, const char *revision, const char *deployed_at,
			   const struct mf_node *app);
/* Revision of history entry id (borrowed) or NULL. */
const char *app_history_revision(const struct mf_node *app, long long id);
/* Record an operation state (phase, message, started/finished, revision). */
void app_operation_state(struct mf_node *status, const char *phase, const char *message,
			 const char *started, const char *finished, const char *revision,
			 const struct sync_report *rep);

/* App-level sync status: "Synced", "OutOfSync" or "Unknown" (static). */
const char *app_sync_status_str(enum sync_status s);
/* App-level health: "Healthy" when no resource has a health rule (static). */
const char *app_health_str(enum sync_health h);

/* RFC 3339 UTC of t (seconds since the epoch) into buf (>= 21 bytes). */
const char *app_time_str(char *buf, size_t n, double t);

/* ---- the pipeline ---- */

/* What one process needs to run apps: borrowed kube client and git cache. */
struct app_env {
	struct kube_client *kc;
	struct gitsrc *git;
	struct sync_engine *se;
	const char *ns; /* namespace of the Applications */
	/* The last source step (ls-remote, fetch when the commit is new,
	 * export), timed apart from rendering and comparing; git_observe (may
	 * be NULL) sees each one as it ends (the agent's histogram). */
	double git_s;
	bool git_fetched;
	bool git_shared; /* answered by the gitsrc share: no remote asked now */
	void (*git_observe)(double seconds, bool ok, bool fetched, void *payload);
	void *git_observe_payload;
	/* Each phase of a compare or sync as it ends (may be NULL; payload:
	 * git_observe_payload): "fetch" (ls-remote and fetch), "export",
	 * "render", "compare", "apply", and "status" (one write to the
	 * Application: its status, or clearing its .operation). */
	void (*phase_observe)(const char *phase, double seconds, void *payload);
	/* Render budget and child process (borrowed; NULL: in process, kz
	 * defaults).  An Application's annotations gitsync.io/render-max-nodes,
	 * -max-files, -timeout and -max-output override the budget's values. */
	const struct render_limits *render;
	/* Tenancy (app-project.h), set by the agent: Projects are read from
	 * projects_ns (the agent's namespace) and bound each app's source and
	 * objects, and writes impersonate the app's service account, if any
	 * (default_sa: --default-service-account, may be NULL).  NULL
	 * projects_ns: no Projects; the caller's own rights bound what it
	 * applies (the CLI with the user's kubeconfig). */
	const char *projects_ns;
	const char *default_sa;
	/* Renders Helm charts (borrowed; thread-safe, so one runner and its
	 * memo serve every worker).  NULL: a one-off runner per chart render,
	 * finding helm through GITSYNC_HELM or PATH. */
	struct helm_runner *helm;
	/* jqPathExpressions compiled already (sync-jq.h; owned by the
	 * caller, one per thread; NULL: every spec check compiles them). */
	struct sync_jq_memo *jq_memo;
	/* The agent's watch caches, one per kind shared by every app
	 * (sync.h; NULL: the runs LIST by label) */
	sync_cache_lookup_fn live_cache;
	void *live_cache_payload;
	/* The agent's copies of the Projects (of projects_ns) and of the Git
	 * credential templates (of ns), kept from watches (NULL: read from the
	 * API server every time).  kept_project: GS_OK with *out owned,
	 * GS_ENOTFOUND; kept_creds: fn on each template.  Both answer
	 * APP_KEPT_UNKNOWN when the watch cannot vouch: then read the server. */
	int (*kept_project)(struct mf_node **out, const char *name, void *payload);
	int (*kept_creds)(int (*fn)(const struct mf_node *secret, void *arg), void *arg,
			  void *payload);
	void *kept_payload;
};
#define APP_KEPT_UNKNOWN 1

/* Credentials for a repository URL, found as for the app's Git source (the
 * same Secret rules serve chart repositories): secret (a Secret of the
 * app's namespace) when given, else the credential template of the agent's
 * namespace whose url is the longest prefix of url, else the global
 * GITSYNC_GIT_* settings for the hosts they name.  auth's strings point
 * into c (wiped by app_creds_release). */
#define APP_CREDS_N 8
struct app_creds {
	char *v[APP_CREDS_N];
};
int app_source_auth(struct app_creds *c, struct gitsrc_auth *auth, struct app_env *env,
		    const struct mf_node *app, const char *url, const char *secret,
		    struct gs_error *err);
void app_creds_release(struct app_creds *c);
/* The Project name of env->projects_ns (*out owned): the agent's kept
 * copy, or read from the server (app_project_get). */
int app_env_project(struct mf_node **out, struct app_env *env, const char *name,
		    struct gs_error *err);

struct app_source {
	struct gitsrc_result git;  /* revision and export */
	char *render_dir;          /* owned: export + path */
	struct mf_node **objs;     /* owned rendered objects (from out) */
	size_t n;
	void *priv;                /* the renderer's output, owns the nodes */
	/* owned, may be NULL: the Project a compare checked the app against,
	 * handed with the source to the sync that follows (read once per
	 * reconcile, issue 20) */
	struct mf_node *project;
};
#define APP_SOURCE_INIT { GITSRC_RESULT_INIT, NULL, NULL, 0, NULL, NULL }
void app_source_release(struct app_source *s);

/* app-chart.c: the chart-repository source of app (spec.source with
 * `chart`, or the source with `chart` in spec.sources), borrowed; NULL when
 * the app's chart, if any, is in Git. */
const struct mf_node *app_chart_source(const struct mf_node *app);
/* Pull (helm-repo.h: by version or semver range, cached by digest) and
 * render the chart source of app with its helm fields; value files
 * "$<ref>/path" come from the spec.sources entry with that ref (a Git
 * repository, fetched with git_flags).  out->git.rev.sha is the chart
 * version picked (what status and history show), out->git.rev.ref its
 * digest.  revision (NULL: the source's targetRevision) is a version or a
 * range.  Errors: helm_repo_pull's, gitsrc_get's, app_helm_render's. */
int app_chart_load(struct app_source *out, struct app_env *env, const struct mf_node *app,
		   const char *revision, unsigned git_flags, struct gs_error *err);

/* May a kustomization of an app in project load a remote resource from
 * the repository url?  Only when the project's spec.sourceRepos matches
 * it, as for the app's own repository.  GS_EAUTH naming the project and
 * what to change.  Pure. */
int app_remote_allowed(const struct mf_node *project, const char *url, struct gs_error *err);

/* Fetch app's source at revision (NULL: the app's targetRevision; a
 * commit id from history for rollback) and render it.  Credentials come
 * from the Secret in spec.source.secretRef, else from the environment
 * (GITSYNC_GIT_USERNAME, GITSYNC_GIT_PASSWORD, GITSYNC_GIT_SSH_KEY_FILE,
 * GITSYNC_GIT_KNOWN_HOSTS_FILE, GITSYNC_GIT_CA_FILE).  local_dir (may be
 * NULL) renders that directory instead of Git (`app diff --local`).
 * Errors name the failing file and line for bad YAML. */
int app_source_load(struct app_source *out, struct app_env *env, const struct mf_node *app,
		    const char *revision, const char *local_dir, unsigned git_flags,
		    struct gs_error *err);

/* sync_options for app (pointers into app and into storage owned by the
 * returned holder, freed with app_sync_opts_release). */
struct app_sync_opts {
	struct sync_options o;
	struct sync_ignore *ignore;
	const char **strs;
	size_t nstrs;
	struct sync_gvk *kinds;
	const char **kstrs;
	size_t nkstrs;
};
void app_sync_opts_init(struct app_sync_opts *so, const struct mf_node *app);
void app_sync_opts_release(struct app_sync_opts *so);

/* ---- operations ---- */

struct app_sync_req {
	const char *revision;   /* NULL: the app's targetRevision */
	bool prune, dry_run;
	bool allow_empty;       /* prune even when the source has no objects */
	const char *const *resources; /* "GROUP:KIND:NAME" filters (no prune then) */
	size_t n_resources;
	double timeout_s;       /* wait healthy after applying; 0 = no final wait */
	const char *local_dir;  /* render this directory instead of Git (diff --local) */
	bool hard_refresh;      /* fetch and export again, bypassing the Git cache's
				 * "commit already held" and "tree already exported"
				 * shortcuts (`app get --hard-refresh`, as in Argo CD) */
	/* app_run_sync: the source already loaded at revision (the compare's,
	 * from app_compare_deferred) is synced instead of fetching and
	 * rendering it again (issue 20); borrowed, its objects unchanged by
	 * the compare.  NULL: load it. */
	struct app_source *source;
	/* No `Running` write before the first object is written: the sync's
	 * outcome is its only status write.  Only for a sync the caller knows
	 * to be recoverable without it (reconcile.c: an automated first sync
	 * with no hook and one wave, whose interruption the next comparison
	 * finds, as OutOfSync or as never recorded). */
	bool no_running_mark;
};

/* Compare app with the cluster (nothing written to objects).  revision as
 * in app_sync_req; with write_status the result (or the error, as a
 * ComparisonError condition) is recorded in app's status.  rep gets the
 * per-resource table; *rev_out (may be NULL) the commit compared (owned). */
/* app_compare without the write: *status_out gets the status app_compare
 * would write (owned), or NULL when it would write nothing (unchanged), so
 * a caller that syncs next writes once, not twice (issue 20).  Write it
 * with app_write_status.  src_out (may be NULL; release it with
 * app_source_release) gets the source compared when the compare succeeded,
 * for app_sync_req.source: the sync then renders nothing again. */
int app_compare_deferred(struct sync_report *rep, char **rev_out, struct app_env *env,
			 const struct mf_node *app, const struct app_sync_req *req,
			 unsigned sync_flags, struct mf_node **status_out,
			 struct app_source *src_out, struct gs_error *err);
int app_write_status(struct app_env *env, const struct mf_node *app,
		     const struct mf_node *status, struct gs_error *err);
int app_compare(struct sync_report *rep, char **rev_out, struct app_env *env,
		const struct mf_node *app, const struct app_sync_req *req, unsigned sync_flags,
		bool write_status, struct gs_error *err);

/* Execute a sync of app in this process, recording it on the Application:
 * operationState Running, then render + sync, then status, operationState
 * (Succeeded/Failed/Error), a history entry on success, and .operation
 * removed.  progress (may be NULL) sees each resource as work proceeds.
 * Returns GS_OK when the operation reached a phase (read rep->phase). */
int app_run_sync(struct sync_report *rep, char **rev_out, struct app_env *env,
		 const struct mf_node *app, const struct app_sync_req *req,
		 sync_progress_fn progress, void *payload, struct gs_error *err);

/* Stop app's operation as Argo CD's terminate-op does: a running one gets
 * operationState.phase Terminating, and app_run_sync (here or in the agent)
 * ends it at its next wait, Failed "terminated"; a requested one not yet
 * started is dropped and recorded Failed "terminated".  GS_EINVAL when no
 * operation is in progress. */
int app_terminate_operation(struct kube_client *kc, const char *ns, const char *name,
			    struct gs_error *err);

/* Orphaned resources of app, as Argo CD: the top-level objects of its
 * destination namespace (no ownerReferences) that no app manages, less what
 * the cluster makes itself (Events, Endpoints, Leases, the default
 * ServiceAccount and its token, kube-root-ca.crt).  *out owned seq of
 * {group, version, kind, namespace, name}. */
int app_orphans(struct mf_node **out, struct kube_client *kc, const struct mf_node *app,
		struct gs_error *err);

/* Delete the Application; with cascade, first prune every object it tracks
 * (`gitsync app delete`, both transports). */
int app_remove(struct app_env *env, const char *ns, const char *name, bool cascade,
	       struct gs_error *err);

#endif
