/* app.h - `gitsync app ...`, private to cli/app-*.c and cmd-app.c.
 *
 * One command model, two transports.  Each subcommand is one `struct
 * cli_cmd` (options, help, examples: cli-opt.h) and one function that runs
 * it against a `struct app_be`, the backend interface:
 *   - app-local.c   kubeconfig: reads and patches Application objects, runs
 *                   syncs in this process when no agent holds the Lease;
 *   - app-remote.c  the agent's /api/v1 (GITSYNC_SERVER + GITSYNC_AUTH_TOKEN).
 * Everything printed is printed by the subcommand from what the backend
 * returns, so one command line gives one layout whichever transport runs it.
 *
 * Files: app-read.c (list, get, history, manifests), app-ops.c (sync, wait,
 * diff, rollback), app-admin.c (create, delete, set), app-print.c (layouts).
 */
#ifndef GS_CLI_APP_H
#define GS_CLI_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/cli-opt.h"
#include "gs-buf.h"
#include "gs-error.h"
#include "mf-node.h"

struct app_be;

/* What `get`, `wait` and `diff` ask for. */
struct app_compare_args {
	const char *revision;   /* compare this revision (NULL: the target) */
	const char *local_dir;  /* render this directory instead (local only) */
	bool refresh;           /* resolve the revision in Git again and record it */
	bool hard_refresh;      /* and bypass the Git and render caches */
	bool at_recorded;       /* compare at the commit last recorded (no ls-remote) */
	bool want_diff;         /* fill app_view.diffs */
	bool pin;               /* wait: keep comparing at the first commit resolved */
	bool orphaned;          /* fill app_view.orphans (app_orphans) */
};

/* A comparison, in transport-neutral form. */
struct app_view {
	struct mf_node *app;       /* owned: the Application (repo URL redacted) */
	struct mf_node *resources; /* owned seq of {group, version, kind, namespace,
				    * name, status, health, hook, message}; NULL when
				    * the backend has no table */
	char *revision;            /* owned: the commit compared, or NULL */
	char *sync, *health;       /* owned: "Synced"/"OutOfSync"/..., "Healthy"/... */
	struct mf_node *diffs;     /* with want_diff: owned seq (app/app-view.h) */
	bool different;
	struct mf_node *orphans;   /* with orphaned: owned seq of {group, version,
				    * kind, namespace, name} */
};
#define APP_VIEW_INIT { NULL, NULL, NULL, NULL, NULL, NULL, false, NULL }
void app_view_release(struct app_view *v);

/* A sync or a rollback, as handed to the backend.  Every field travels
 * through both transports. */
struct app_op_args {
	const char *revision;
	bool prune, dry_run, force, async;
	bool allow_empty;              /* with prune: prune even when the source has no objects */
	const char *const *resources; /* "GROUP:KIND:NAME" */
	size_t n_resources;
	const char *const *sync_options; /* "Key=Value" */
	size_t n_sync_options;
	double timeout_s;              /* then wait for health up to this; 0 = no health wait */
	long long rollback_id;         /* > 0: roll back to this history entry */
};

struct app_be_ops {
	const char *transport; /* "kubeconfig" or "api" */
	/* Applications: *out owned seq. */
	int (*list)(struct app_be *b, struct mf_node **out, struct gs_error *err);
	/* One Application as stored (repo URL redacted): *out owned. */
	int (*get)(struct app_be *b, struct mf_node **out, const char *name, struct gs_error *err);
	/* Compare with the cluster.  *out filled even on failure when the app was read. */
	int (*compare)(struct app_be *b, struct app_view *out, const char *name,
		       const struct app_compare_args *a, struct gs_error *err);
	int (*create)(struct app_be *b, const struct mf_node *app, bool upsert, struct gs_error *err);
	int (*remove)(struct app_be *b, const char *name, bool cascade, struct gs_error *err);
	/* JSON merge patch of the Application's spec (patch borrowed: {"spec": ...}). */
	int (*set)(struct app_be *b, const char *name, const struct mf_node *patch,
		   struct gs_error *err);
	/* Request a sync (or rollback).  When this process ran it itself (local,
	 * no agent), it printed the run and *exit_here is its exit status, else
	 * *exit_here is -1 and the caller follows the operation. */
	int (*sync)(struct app_be *b, const char *name, const struct app_op_args *a, int *exit_here,
		    struct gs_error *err);
	/* The operation state: {operation, operationState, sync, health,
	 * finished}; waits up to wait_s for it to finish.  *out owned. */
	int (*operation)(struct app_be *b, struct mf_node **out, const char *name, double wait_s,
			 struct gs_error *err);
	/* Is something other than this process keeping status fresh? */
	bool (*agent_running)(struct app_be *b);
	/* The rendered objects (YAML stream) of an app at revision. */
	int (*manifests)(struct app_be *b, struct gs_buf *out, const char *name, const char *revision,
			 bool hard_refresh, struct gs_error *err);
	/* Stop the operation in progress (app_terminate_operation). */
	int (*terminate)(struct app_be *b, const char *name, struct gs_error *err);
	void (*free)(struct app_be *b);
};

struct app_be {
	const struct app_be_ops *ops;
	const char *server; /* shown as "Server:" */
};

/* The backend for these options: remote when --server or GITSYNC_SERVER is
 * set, else the kubeconfig.  *out owned (app_be_free). */
int app_be_open(struct app_be **out, const struct cli_args *a, struct gs_error *err);
void app_be_free(struct app_be *b);
int app_be_local_new(struct app_be **out, const struct cli_args *a, struct gs_error *err);
int app_be_remote_new(struct app_be **out, const struct cli_args *a, struct gs_error *err);

/* Options every `app` subcommand takes (both transports). */
extern const struct cli_opt app_common_opts[];
/* Help footer shared by the subcommands. */
#define APP_ENV_HELP \
	"Git credentials for the CLI: GITSYNC_GIT_USERNAME, GITSYNC_GIT_PASSWORD,\n" \
	"GITSYNC_GIT_SSH_KEY_FILE, GITSYNC_GIT_KNOWN_HOSTS_FILE, GITSYNC_GIT_CA_FILE;\n" \
	"cache directory: GITSYNC_CACHE_DIR (default ~/.cache/gitsync/git).  With\n" \
	"GITSYNC_SERVER and GITSYNC_AUTH_TOKEN every subcommand goes through the\n" \
	"agent's API instead of the cluster (same options, same output)\n"

/* The subcommands: name, command description, function. */
struct app_sub {
	const char *name;
	const struct cli_cmd *cmd;
	int (*run)(struct app_be *b, const struct cli_args *a);
	bool no_backend; /* runs without a backend (manifests --repo): b is NULL */
};
extern const struct app_sub app_sub_list, app_sub_get, app_sub_history, app_sub_manifests;
extern const struct app_sub app_sub_resources;
extern const struct app_sub app_sub_sync, app_sub_wait, app_sub_diff, app_sub_rollback;
extern const struct app_sub app_sub_terminate;
extern const struct app_sub app_sub_create, app_sub_delete, app_sub_set;

/* ---- app-local.c: rendering without the backend interface ---- */
struct app_env;
/* The rendered objects of app at revision as a --- separated YAML stream
 * (what the agent would apply), appended to out. */
int app_render_stream(struct gs_buf *out, struct app_env *env, const struct mf_node *app,
		      const char *revision, bool hard_refresh, struct gs_error *err);
/* Same for a repository given on the command line (no cluster needed). */
int app_render_repo(struct gs_buf *out, const char *repo, const char *path, const char *revision,
		    bool recurse, bool hard_refresh, struct gs_error *err);

/* ---- app-print.c ---- */
const char *app_s_or(const char *s, const char *dflt);
/* How much of a revision to show: 7 of a commit id, all of a chart version. */
int app_rev_width(const char *rev);
bool app_valid_duration(const char *v);
double app_duration(const char *v); /* of a value app_valid_duration accepted; 0 for NULL */
/* Emit n as json or yaml to stdout. */
void app_emit(const struct mf_node *n, const char *format);
/* "Name: ...", Server, Namespace, Repo, Target, Path, Sync Policy. */
void app_print_header(const struct app_be *b, const struct mf_node *app);
void app_print_sync_status(const struct mf_node *app, const char *status, const char *health,
			   const char *rev);
void app_print_conditions(const struct mf_node *app);
/* GROUP KIND NAMESPACE NAME STATUS HEALTH HOOK MESSAGE, widths from content;
 * nothing when rows is empty.  With a leading blank line. */
void app_print_resources(const struct mf_node *rows);
/* Orphaned resources (app_view.orphans): GROUP KIND NAMESPACE NAME
 * ORPHANED, as `argocd app resources --orphaned`; with heading, after a
 * blank line and "Orphaned resources: N" (`app get --orphaned`). */
void app_print_orphans(const struct mf_node *rows, bool heading);
/* After an operation handed to the agent: Operation, Sync Revision, Phase,
 * Start, Finished, Message from st (apiclient_operation's shape). */
void app_print_operation(const struct mf_node *st);
/* The diffs of a view: "===== GROUP/VERSION/KIND NS/NAME (Status)" and a
 * unified diff per object; or, for a pull-request comment, markdown: a
 * summary table, then one collapsed <details> diff per object. */
void app_print_diffs(const struct mf_node *diffs);
void app_print_diffs_markdown(const char *app, const char *revision, const struct mf_node *diffs);
/* Redact credentials in spec.source.repoURL in place. */
void app_redact(struct mf_node *app);

#endif
