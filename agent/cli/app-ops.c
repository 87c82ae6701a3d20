/* app-ops.c - `gitsync app sync|rollback|wait|diff`: operations and the
 * waits around them, with the same meaning through both transports:
 *   --timeout D  (sync) after the operation, wait up to D for health;
 *                (wait) give up after D; no limit when not given.
 * An operation the agent runs is followed until it finishes. */
#include "cli/app.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "gs-alloc.h"
#include "gs-time.h"
#include "mf-object.h"

#define EXAMPLES "\nexamples:\n"
#define COMMON_FOOTER "\n" APP_ENV_HELP

static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* ---- wait ---- */

struct wait_for {
	bool sync, health, operation, suspended, degraded;
	double deadline; /* monotonic; 0 = no limit */
	double timeout_s;
};

/* ": Deployment default/web (message), ..." for each row of that health.
 * Rows are a comparison's ({health: "Degraded", message}) or status.resources'
 * ({health: {status, message}}). */
static void name_unhealthy(struct gs_buf *out, const struct mf_node *rows, const char *health)
{
	size_t k;

	for (k = 0; k < mf_node_len(rows); k++) {
		const struct mf_node *r = mf_node_at(rows, k);
		const struct mf_node *h = mf_node_get(r, "health");
		const char *hs = mf_node_type(h) == MF_MAP ? mf_node_dig_str(h, "status", NULL)
							   : mf_node_str(h);
		const char *msg = mf_node_type(h) == MF_MAP ? mf_node_dig_str(h, "message", NULL)
							    : mf_node_dig_str(r, "message", NULL);
		const char *ns = mf_node_dig_str(r, "namespace", NULL);

		if (!hs || strcmp(hs, health))
			continue;
		gs_buf_printf(out, "%s%s %s%s%s", out->len ? ", " : ": ",
			      app_s_or(mf_node_dig_str(r, "kind", NULL), ""), app_s_or(ns, ""),
			      ns && *ns ? "/" : "", app_s_or(mf_node_dig_str(r, "name", NULL), ""));
		if (msg && *msg)
			gs_buf_printf(out, " (%s)", msg);
	}
}

static int wait_app(struct app_be *b, const char *name, const struct wait_for *w)
{
	struct gs_error err = GS_ERROR_INIT;
	struct app_compare_args ca = { 0 };
	int rc = -1;

	ca.pin = true;
	while (rc < 0) {
		struct app_view v = APP_VIEW_INIT;
		const char *st, *health, *phase;
		const struct mf_node *rows;
		bool ok;

		if (b->ops->agent_running(b)) {
			/* the agent keeps status fresh: read it */
			if (b->ops->get(b, &v.app, name, &err)) {
				rc = cli_error(&err);
				break;
			}
			st = mf_node_dig_str(v.app, "status", "sync", "status", NULL);
			health = mf_node_dig_str(v.app, "status", "health", "status", NULL);
			rows = mf_node_dig(v.app, "status", "resources", NULL);
		} else {
			/* nobody else does: compare here, at the commit resolved on
			 * the first round */
			if (b->ops->compare(b, &v, name, &ca, &err)) {
				app_view_release(&v);
				rc = cli_error(&err);
				break;
			}
			st = v.sync;
			health = v.health;
			rows = v.resources;
		}
		st = app_s_or(st, "Unknown");
		health = app_s_or(health, "Unknown");
		phase = mf_node_dig_str(v.app, "status", "operationState", "phase", NULL);
		ok = (!w->sync || !strcmp(st, "Synced")) && (!w->health || !strcmp(health, "Healthy")) &&
		     (!w->degraded || !strcmp(health, "Degraded")) &&
		     (!w->suspended || !strcmp(health, "Suspended")) &&
		     (!w->operation || (mf_node_type(mf_node_get(v.app, "operation")) != MF_MAP &&
					(!phase || strcmp(phase, "Running"))));
		if (ok) {
			printf("application '%s': sync %s, health %s\n", name, st, health);
			if (rows == v.resources)
				app_print_resources(rows);
			rc = CLI_EXIT_OK;
		} else if (!w->degraded && !strcmp(health, "Degraded")) {
			struct gs_buf who = GS_BUF_INIT;

			name_unhealthy(&who, rows, "Degraded");
			gs_error_set(&err, GS_ERR, "application '%s' health is Degraded%s", name, who.ptr);
			gs_buf_release(&who);
			if (rows == v.resources)
				app_print_resources(rows);
			rc = cli_error(&err);
		} else if (w->deadline > 0 && gs_time_mono() >= w->deadline) {
			gs_error_set(&err, GS_ERR,
				     "timed out after %.0fs waiting for application '%s' (sync %s, "
				     "health %s)",
				     w->timeout_s, name, st, health);
			if (rows == v.resources)
				app_print_resources(rows);
			rc = cli_error(&err);
		}
		app_view_release(&v);
		if (rc < 0)
			nap(1);
	}
	return rc;
}

static const struct cli_opt wait_opts[] = {
	{ "sync", 0, CLI_OPT_BOOL, NULL, "sync status Synced", NULL, NULL, NULL },
	{ "health", 0, CLI_OPT_BOOL, NULL, "health Healthy", NULL, NULL, NULL },
	{ "operation", 0, CLI_OPT_BOOL, NULL, "no operation pending or running", NULL, NULL, NULL },
	{ "suspended", 0, CLI_OPT_BOOL, NULL, "wait for health Suspended", NULL, NULL, NULL },
	{ "degraded", 0, CLI_OPT_BOOL, NULL, "wait for health Degraded instead", NULL, NULL, NULL },
	{ "timeout", 0, CLI_OPT_STRING, "D", "give up after D (e.g. 120, 90s, 5m); default: no limit",
	  NULL, NULL, app_valid_duration },
	CLI_OPT_END,
};

static const struct cli_cmd wait_cmd = {
	"app wait", "NAME [--sync] [--health] [--operation] [--suspended] [--degraded] [--timeout D]",
	"Wait until the Application is in the state asked for (all three of --sync,\n"
	"--health and --operation when none is given).  Exit status 0 when the\n"
	"conditions hold; 1 on timeout or when health turns Degraded (the message names\n"
	"the Degraded objects).  Without an agent, this process compares Git and the\n"
	"cluster itself each second.  The same through the agent's API.\n",
	wait_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app wait postgres-operator --health --sync --timeout 5m\n"
			       "  gitsync app sync web --async && gitsync app wait web --operation\n",
	1, 1,
};

static int run_wait(struct app_be *b, const struct cli_args *a)
{
	struct wait_for w = { 0 };

	w.sync = cli_args_bool(a, "sync");
	w.health = cli_args_bool(a, "health");
	w.operation = cli_args_bool(a, "operation");
	w.suspended = cli_args_bool(a, "suspended");
	w.degraded = cli_args_bool(a, "degraded");
	if (!w.sync && !w.health && !w.operation && !w.suspended && !w.degraded)
		w.sync = w.health = w.operation = true; /* argocd's default */
	w.timeout_s = app_duration(cli_args_str(a, "timeout"));
	if (w.timeout_s > 0)
		w.deadline = gs_time_mono() + w.timeout_s;
	return wait_app(b, a->pos[0], &w);
}

const struct app_sub app_sub_wait = { "wait", &wait_cmd, run_wait, false };

/* ---- sync / rollback ---- */

/* Hand the operation over (or run it here), follow it, then wait for
 * health when a timeout was given. */
static int run_op(struct app_be *b, const char *name, const struct app_op_args *oa)
{
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *st = NULL;
	double start = gs_time_mono();
	const char *phase;
	int here = -1, rc;

	if (b->ops->sync(b, name, oa, &here, &err))
		return cli_error(&err);
	if (here >= 0)
		return here; /* ran in this process, printed as it went */
	printf("operation requested: the agent runs it\n");
	if (oa->async)
		return CLI_EXIT_OK;
	for (;;) {
		if (b->ops->operation(b, &st, name, 30, &err))
			return cli_error(&err);
		if (mf_node_bool(mf_node_get(st, "finished")))
			break;
		if (oa->timeout_s > 0 && gs_time_mono() - start >= oa->timeout_s) {
			mf_node_free(st);
			gs_error_set(&err, GS_ERR,
				     "timed out after %.0fs waiting for the operation on '%s'",
				     oa->timeout_s, name);
			return cli_error(&err);
		}
		mf_node_free(st);
		st = NULL;
	}
	putchar('\n');
	app_print_operation(st);
	phase = mf_node_dig_str(st, "operationState", "phase", NULL);
	if (!phase || strcmp(phase, "Succeeded")) {
		gs_error_set(&err, GS_ERR, "operation on '%s' %s: %s", name, app_s_or(phase, "ended"),
			     app_s_or(mf_node_dig_str(st, "operationState", "message", NULL), ""));
		rc = cli_error(&err);
	} else if (oa->timeout_s > 0 && !oa->dry_run) {
		/* --timeout: the same as a run in this process, wait for health */
		struct wait_for w = { 0 };

		w.health = true;
		w.timeout_s = oa->timeout_s;
		w.deadline = start + oa->timeout_s;
		rc = wait_app(b, name, &w);
	} else {
		rc = CLI_EXIT_OK;
	}
	mf_node_free(st);
	return rc;
}

static const struct cli_opt sync_opts[] = {
	{ "revision", 0, CLI_OPT_STRING, "R", "sync this branch, tag or commit instead of the target",
	  NULL, NULL, NULL },
	{ "prune", 0, CLI_OPT_BOOL, NULL, "delete the app's objects that are no longer in Git", NULL,
	  NULL, NULL },
	{ "allow-empty", 0, CLI_OPT_BOOL, NULL,
	  "with --prune, prune even when the source has no objects\n"
	  "(else such a sync deletes nothing and fails)", NULL, NULL, NULL },
	{ "dry-run", 0, CLI_OPT_BOOL, NULL, "show what would change, change nothing", NULL, NULL,
	  NULL },
	{ "resource", 0, CLI_OPT_LIST, "G:K:NAME",
	  "sync only these objects (group empty for core kinds,\n"
	  "e.g. :ConfigMap:postgres-operator); repeatable", NULL, NULL, NULL },
	{ "sync-option", 0, CLI_OPT_LIST, "K=V",
	  "for this sync, beside the app's (e.g. Replace=true);\nrepeatable", NULL, NULL, NULL },
	{ "force", 0, CLI_OPT_BOOL, NULL,
	  "as Force=true (kubectl apply --force): an object the\n"
	  "server refuses to change in place (an immutable field)\n"
	  "is deleted and created again; never a Namespace or CRD", NULL, NULL, NULL },
	{ "timeout", 0, CLI_OPT_STRING, "D", "then wait up to D (e.g. 90s, 5m) for health", NULL,
	  NULL, app_valid_duration },
	{ "async", 0, CLI_OPT_BOOL, NULL, "with an agent: return once the operation is recorded",
	  NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd sync_cmd = {
	"app sync",
	"NAME [--revision R] [--prune] [--dry-run] [--resource G:K:NAME]...\n"
	"                        [--sync-option K=V]... [--force] [--timeout D] [--async]",
	"Sync an Application: render its revision and apply it (server-side apply, in\n"
	"waves: namespaces and CRDs first).  Prints a line per resource as it goes,\n"
	"then Operation, Sync Revision, Phase, Start, Finished, Duration, Message and\n"
	"the resource table.  Where an agent runs (it holds the Lease, or the command\n"
	"goes through its API), the operation is recorded on the Application with every\n"
	"option and the agent runs it; else this process does.\n"
	"Exit status 0 only when the operation succeeded (and, with --timeout, the app\n"
	"turned Healthy in time).\n",
	sync_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES
	"  gitsync app sync postgres-operator\n"
	"  gitsync app sync monsterstack-dev --prune --timeout 5m\n"
	"  gitsync app sync postgres-operator --resource :ConfigMap:postgres-operator\n",
	1, 1,
};

static void op_args_from(struct app_op_args *oa, const struct cli_args *a)
{
	memset(oa, 0, sizeof(*oa));
	oa->revision = cli_args_str(a, "revision");
	oa->prune = cli_args_bool(a, "prune");
	oa->dry_run = cli_args_bool(a, "dry-run");
	oa->force = cli_args_bool(a, "force");
	oa->allow_empty = cli_args_bool(a, "allow-empty");
	oa->resources = cli_args_list(a, "resource", &oa->n_resources);
	oa->sync_options = cli_args_list(a, "sync-option", &oa->n_sync_options);
	oa->timeout_s = app_duration(cli_args_str(a, "timeout"));
	oa->async = cli_args_bool(a, "async");
}

static int run_sync(struct app_be *b, const struct cli_args *a)
{
	struct app_op_args oa;

	op_args_from(&oa, a);
	return run_op(b, a->pos[0], &oa);
}

const struct app_sub app_sub_sync = { "sync", &sync_cmd, run_sync, false };

static const struct cli_opt rollback_opts[] = {
	{ "prune", 0, CLI_OPT_BOOL, NULL, "delete objects that are not in that revision", NULL, NULL,
	  NULL },
	{ "dry-run", 0, CLI_OPT_BOOL, NULL, "show what would change, change nothing", NULL, NULL,
	  NULL },
	{ "timeout", 0, CLI_OPT_STRING, "D", "then wait up to D for health", NULL, NULL,
	  app_valid_duration },
	{ "async", 0, CLI_OPT_BOOL, NULL, "with an agent: return once the operation is recorded",
	  NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd rollback_cmd = {
	"app rollback", "NAME ID [--prune] [--timeout D]",
	"Sync the source recorded in history entry ID (see `gitsync app history`):\n"
	"its repository, path and commit, whatever the app's spec says now.  As Argo CD\n"
	"does, automated sync is turned off first, or it would undo the rollback.\n",
	rollback_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app history postgres-operator\n"
			       "  gitsync app rollback postgres-operator 1\n",
	2, 2,
};

static int run_rollback(struct app_be *b, const struct cli_args *a)
{
	struct app_op_args oa;
	char *end = NULL;
	long long id = strtoll(a->pos[1], &end, 10);

	if (!*a->pos[1] || *end || id <= 0)
		return cli_usage_error(a->cmd->name, "ID must be a history id (a positive number), "
						     "not '%s'", a->pos[1]);
	memset(&oa, 0, sizeof(oa));
	oa.prune = cli_args_bool(a, "prune");
	oa.dry_run = cli_args_bool(a, "dry-run");
	oa.timeout_s = app_duration(cli_args_str(a, "timeout"));
	oa.async = cli_args_bool(a, "async");
	oa.rollback_id = id;
	return run_op(b, a->pos[0], &oa);
}

const struct app_sub app_sub_rollback = { "rollback", &rollback_cmd, run_rollback, false };

/* ---- diff ---- */

static const struct cli_opt diff_opts[] = {
	{ "local", 0, CLI_OPT_STRING, "PATH",
	  "render this directory instead of Git (try a change\nbefore pushing it; kubeconfig only)",
	  NULL, NULL, NULL },
	{ "revision", 0, CLI_OPT_STRING, "R", "compare another branch, tag or commit", NULL, NULL,
	  NULL },
	{ "refresh", 0, CLI_OPT_BOOL, NULL,
	  "accepted for argocd compatibility (diff always resolves\nthe revision in Git)", NULL,
	  NULL, NULL },
	{ "hard-refresh", 0, CLI_OPT_BOOL, NULL,
	  "fetch, export and render again, bypassing the caches", NULL, NULL, NULL },
	{ "output", 'o', CLI_OPT_STRING, "FORMAT",
	  "markdown: for a pull-request comment (a summary table,\n"
	  "then one collapsed diff per object; Secrets masked)", NULL, "markdown", NULL },
	CLI_OPT_END,
};

static const struct cli_cmd diff_cmd = {
	"app diff", "NAME [--local PATH] [--revision R] [--refresh|--hard-refresh] [-o markdown]",
	"Print a unified diff (live -> desired) of every object out of sync.\n"
	"Exit status: 0 in sync, 1 different, 2 error.\n",
	diff_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app diff postgres-operator\n"
			       "  gitsync app diff postgres-operator --revision feature-x\n"
			       "  gitsync app diff web --revision \"$PR_SHA\" -o markdown > comment.md\n"
			       "  gitsync app diff monsterstack-dev --local k8s/dev\n",
	1, 1,
};

static int run_diff(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;
	struct app_view v = APP_VIEW_INIT;
	struct app_compare_args ca = { 0 };
	int rc;

	ca.revision = cli_args_str(a, "revision");
	ca.local_dir = cli_args_str(a, "local");
	ca.hard_refresh = cli_args_bool(a, "hard-refresh");
	ca.want_diff = true;
	if (b->ops->compare(b, &v, a->pos[0], &ca, &err)) {
		cli_error(&err);
		rc = CLI_EXIT_DIFF_ERROR;
	} else {
		if (cli_args_str(a, "output"))
			app_print_diffs_markdown(a->pos[0], app_s_or(v.revision, ca.revision),
						 v.diffs);
		else
			app_print_diffs(v.diffs);
		rc = v.different ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	}
	app_view_release(&v);
	return rc;
}

const struct app_sub app_sub_diff = { "diff", &diff_cmd, run_diff, false };

/* ---- terminate-op ---- */

static const struct cli_cmd terminate_cmd = {
	"app terminate-op", "NAME",
	"Stop the operation in progress, as `argocd app terminate-op` does: its\n"
	"operationState phase turns Terminating, and whoever runs it (the agent, or a\n"
	"`gitsync app sync` running it itself) ends it at its next wait (hook, wave,\n"
	"health), phase Failed, message \"terminated\".  What was applied stays.  An\n"
	"operation requested but not started is dropped.  Exit status 1 when no\n"
	"operation is in progress.  Through the agent's API: a sync-scope token.\n",
	NULL, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app terminate-op web\n"
			       "  gitsync app terminate-op web && gitsync app wait web --operation\n",
	1, 1,
};

static int run_terminate(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;

	if (b->ops->terminate(b, a->pos[0], &err))
		return cli_error(&err);
	printf("application '%s': operation terminating\n", a->pos[0]);
	return CLI_EXIT_OK;
}

const struct app_sub app_sub_terminate = { "terminate-op", &terminate_cmd, run_terminate, false };
