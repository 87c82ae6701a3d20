/* app-remote.c - `gitsync app ...` through the agent's API, for CI jobs that
 * hold an API token and no kubeconfig (Argo CD's ARGOCD_SERVER /
 * ARGOCD_AUTH_TOKEN pattern):
 *
 *     GITSYNC_SERVER=gitsync.example.com GITSYNC_AUTH_TOKEN=gst_... \
 *         gitsync app sync web && gitsync app wait web --health
 *
 * main.c calls cmd_app_remote() before cmd_app(); it returns -1 when no
 * server is given (then the kubeconfig path runs), else the exit status.
 * Supported remotely: list, get, sync, wait, diff.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gs-time.h"
#include "gitsrc/gitsrc.h"
#include "gs-alloc.h"
#include "httpd/apiclient.h"
#include "loop/agent.h"
#include "mf-json.h"
#include "mf-node.h"
#include "mf-object.h"
#include "mf-yaml.h"

struct remote {
	struct apiclient_opts o;
	struct apiclient *c;
	const char *cmd;
	const char *name;
	const char *output;
	const char *revision;
	const char **resources;
	size_t nres;
	bool prune, async, refresh;
	bool w_sync, w_health, w_op, w_degraded;
	double timeout_s;
};

static const char *s_or(const char *s, const char *def)
{
	return s && *s ? s : def;
}

static const char *opt_val(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static bool remote_wanted(int argc, char **argv)
{
	const char *env = getenv("GITSYNC_SERVER");
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--server") || !strncmp(argv[i], "--server=", 9))
			return true;
	return env && *env;
}

static void print_app(const struct mf_node *app)
{
	const struct mf_node *res = mf_node_dig(app, "status", "resources", NULL);
	const char *rev = mf_node_dig_str(app, "status", "sync", "revision", NULL);
	size_t i;

	printf("%-20s%s\n", "Name:", s_or(mf_obj_name(app), ""));
	printf("%-20s%s\n", "Namespace:", s_or(mf_obj_namespace(app), ""));
	printf("%-20s%s\n", "Repo:", s_or(mf_node_dig_str(app, "spec", "source", "repoURL", NULL), ""));
	printf("%-20s%s\n", "Target:",
	       s_or(mf_node_dig_str(app, "spec", "source", "targetRevision", NULL), "HEAD"));
	printf("%-20s%s\n", "Path:", s_or(mf_node_dig_str(app, "spec", "source", "path", NULL), ""));
	printf("%-20s%s\n", "Sync Policy:",
	       mf_node_dig(app, "spec", "syncPolicy", "automated", NULL) ? "Automated" : "<none>");
	printf("%-20s%s (%.7s)\n", "Sync Status:",
	       s_or(mf_node_dig_str(app, "status", "sync", "status", NULL), "Unknown"), s_or(rev, ""));
	printf("%-20s%s\n", "Health Status:",
	       s_or(mf_node_dig_str(app, "status", "health", "status", NULL), "Unknown"));
	if (!mf_node_len(res))
		return;
	printf("\n%-20s %-12s %-14s %-30s %-10s %s\n", "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS",
	       "HEALTH");
	for (i = 0; i < mf_node_len(res); i++) {
		const struct mf_node *r = mf_node_at(res, i);
		printf("%-20s %-12s %-14s %-30s %-10s %s\n", s_or(mf_node_dig_str(r, "group", NULL), ""),
		       s_or(mf_node_dig_str(r, "kind", NULL), ""),
		       s_or(mf_node_dig_str(r, "namespace", NULL), ""),
		       s_or(mf_node_dig_str(r, "name", NULL), ""),
		       s_or(mf_node_dig_str(r, "status", NULL), ""),
		       s_or(mf_node_dig_str(r, "health", NULL), ""));
	}
}

static int emit(const struct mf_node *n, const char *output)
{
	struct gs_buf b = GS_BUF_INIT;

	if (!strcmp(output, "yaml"))
		mf_yaml_emit(&b, n, 0);
	else
		mf_json_emit(&b, n, MF_JSON_PRETTY);
	fwrite(b.ptr, 1, b.len, stdout);
	if (b.len && b.ptr[b.len - 1] != '\n')
		putchar('\n');
	gs_buf_release(&b);
	return CLI_EXIT_OK;
}

static int do_list(struct remote *r, struct gs_error *err)
{
	struct mf_node *l = NULL;
	const struct mf_node *items;
	size_t i;

	if (apiclient_list(r->c, &l, err) == 0)
		gitsrc_node_redact(l); /* an older server may not redact */
	else
		return cli_error(err);
	if (r->output && strcmp(r->output, "wide")) {
		emit(l, r->output);
		mf_node_free(l);
		return CLI_EXIT_OK;
	}
	items = mf_node_get(l, "items");
	printf("%-20s %-12s %-40s %-20s %-10s %-10s %s\n", "NAME", "NAMESPACE", "REPO", "PATH",
	       "TARGET", "STATUS", "HEALTH");
	for (i = 0; i < mf_node_len(items); i++) {
		const struct mf_node *a = mf_node_at(items, i);
		printf("%-20s %-12s %-40s %-20s %-10s %-10s %s\n", s_or(mf_obj_name(a), ""),
		       s_or(mf_obj_namespace(a), ""),
		       s_or(mf_node_dig_str(a, "spec", "source", "repoURL", NULL), ""),
		       s_or(mf_node_dig_str(a, "spec", "source", "path", NULL), ""),
		       s_or(mf_node_dig_str(a, "spec", "source", "targetRevision", NULL), "HEAD"),
		       s_or(mf_node_dig_str(a, "status", "sync", "status", NULL), "Unknown"),
		       s_or(mf_node_dig_str(a, "status", "health", "status", NULL), "Unknown"));
	}
	mf_node_free(l);
	return CLI_EXIT_OK;
}

static int do_get(struct remote *r, struct gs_error *err)
{
	struct mf_node *app = NULL, *op = NULL;

	if (r->refresh) {
		if (apiclient_refresh(r->c, r->name, err))
			return cli_error(err);
		sleep(1); /* the agent compares on its own schedule; give it a moment */
		mf_node_free(op);
	}
	if (apiclient_get(r->c, &app, r->name, err) == 0)
		gitsrc_node_redact(app); /* an older server may not redact */
	else
		return cli_error(err);
	if (r->output)
		emit(app, r->output);
	else
		print_app(app);
	mf_node_free(app);
	return CLI_EXIT_OK;
}

static int do_sync(struct remote *r, struct gs_error *err)
{
	struct apiclient_sync_req req = { r->revision, r->prune, r->resources, r->nres };
	double deadline = gs_time_mono() + (r->timeout_s > 0 ? r->timeout_s : 600);
	struct mf_node *st = NULL;
	int rc = CLI_EXIT_OK;

	if (apiclient_sync(r->c, r->name, &req, err))
		return cli_error(err);
	printf("operation requested: the agent runs it\n");
	if (r->async)
		return CLI_EXIT_OK;
	for (;;) {
		double left = deadline - gs_time_mono();
		if (left <= 0) {
			gs_error_set(err, GS_ERR, "timed out waiting for the operation on '%s'", r->name);
			return cli_error(err);
		}
		if (apiclient_operation(r->c, &st, r->name, left < 30 ? left : 30, err))
			return cli_error(err);
		if (mf_node_bool(mf_node_get(st, "finished")))
			break;
		mf_node_free(st);
		st = NULL;
	}
	{
		const char *phase = mf_node_dig_str(st, "operationState", "phase", NULL);
		printf("%-15s%s\n", "Operation:", "Sync");
		printf("%-15s%s\n", "Sync Revision:",
		       s_or(mf_node_dig_str(st, "operationState", "syncResult", "revision", NULL), ""));
		printf("%-15s%s\n", "Phase:", s_or(phase, ""));
		printf("%-15s%s\n", "Start:", s_or(mf_node_dig_str(st, "operationState", "startedAt", NULL), ""));
		printf("%-15s%s\n", "Finished:",
		       s_or(mf_node_dig_str(st, "operationState", "finishedAt", NULL), ""));
		printf("%-15s%s\n", "Message:",
		       s_or(mf_node_dig_str(st, "operationState", "message", NULL), ""));
		if (!phase || strcmp(phase, "Succeeded"))
			rc = CLI_EXIT_ERROR;
	}
	mf_node_free(st);
	return rc;
}

static int do_wait(struct remote *r, struct gs_error *err)
{
	double deadline = gs_time_mono() + (r->timeout_s > 0 ? r->timeout_s : 600);

	if (!r->w_sync && !r->w_health && !r->w_op && !r->w_degraded)
		r->w_sync = r->w_health = r->w_op = true; /* argocd: all of them */
	for (;;) {
		struct mf_node *app = NULL;
		const char *sync, *health, *phase;
		bool ok = true;

		if (apiclient_get(r->c, &app, r->name, err) == 0)
		gitsrc_node_redact(app); /* an older server may not redact */
	else
			return cli_error(err);
		sync = s_or(mf_node_dig_str(app, "status", "sync", "status", NULL), "Unknown");
		health = s_or(mf_node_dig_str(app, "status", "health", "status", NULL), "Unknown");
		phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);
		if (r->w_sync && strcmp(sync, "Synced"))
			ok = false;
		if (r->w_health && strcmp(health, "Healthy"))
			ok = false;
		if (r->w_degraded && strcmp(health, "Degraded"))
			ok = false;
		if (r->w_op && (mf_node_get(app, "operation") || (phase && !strcmp(phase, "Running"))))
			ok = false;
		if (ok) {
			printf("application '%s': %s, %s\n", r->name, sync, health);
			mf_node_free(app);
			return CLI_EXIT_OK;
		}
		if (r->w_health && !r->w_degraded && !strcmp(health, "Degraded")) {
			gs_error_set(err, GS_ERR, "application '%s' is Degraded: %s", r->name,
				     s_or(mf_node_dig_str(app, "status", "health", "message", NULL), ""));
			mf_node_free(app);
			return cli_error(err);
		}
		mf_node_free(app);
		if (gs_time_mono() >= deadline) {
			gs_error_set(err, GS_ERR, "timed out waiting for '%s' (sync %s, health %s)",
				     r->name, sync, health);
			return cli_error(err);
		}
		sleep(1);
	}
}

static int do_diff(struct remote *r, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	int rc;

	if (apiclient_diff(r->c, &b, r->name, err)) {
		cli_error(err);
		return CLI_EXIT_DIFF_ERROR;
	}
	fwrite(b.ptr, 1, b.len, stdout);
	rc = b.len ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	gs_buf_release(&b);
	return rc;
}

int cmd_app_remote(int argc, char **argv)
{
	struct remote r = { 0 };
	struct gs_error err = GS_ERROR_INIT;
	const char *v, *e;
	int i, rc;

	if (argc < 2 || cli_wants_help(argc, argv) || !remote_wanted(argc, argv))
		return -1;
	r.cmd = argv[1];
	if (strcmp(r.cmd, "list") && strcmp(r.cmd, "get") && strcmp(r.cmd, "sync") &&
	    strcmp(r.cmd, "wait") && strcmp(r.cmd, "diff"))
		return cli_usage_error("app",
				       "'app %s' is not available through the API server "
				       "(list, get, sync, wait, diff are)",
				       r.cmd);
	r.o.server = getenv("GITSYNC_SERVER");
	r.o.token = getenv("GITSYNC_AUTH_TOKEN");
	r.o.ca_file = getenv("GITSYNC_SERVER_CA");
	r.o.insecure = (e = getenv("GITSYNC_INSECURE")) && !strcmp(e, "true");
	r.o.plaintext = (e = getenv("GITSYNC_PLAINTEXT")) && !strcmp(e, "true");
	r.o.ns = getenv("GITSYNC_APP_NAMESPACE");
	for (i = 2; i < argc; i++) {
		if ((v = opt_val(argc, argv, &i, "--server")))
			r.o.server = v;
		else if ((v = opt_val(argc, argv, &i, "--auth-token")))
			r.o.token = v;
		else if ((v = opt_val(argc, argv, &i, "--server-ca")))
			r.o.ca_file = v;
		else if (!strcmp(argv[i], "--insecure"))
			r.o.insecure = true;
		else if (!strcmp(argv[i], "--plaintext"))
			r.o.plaintext = true;
		else if ((v = opt_val(argc, argv, &i, "--app-namespace")))
			r.o.ns = v;
		else if ((v = opt_val(argc, argv, &i, "-o")) || (v = opt_val(argc, argv, &i, "--output")))
			r.output = v;
		else if ((v = opt_val(argc, argv, &i, "--revision")))
			r.revision = v;
		else if ((v = opt_val(argc, argv, &i, "--resource"))) {
			r.resources = gs_realloc(r.resources, (r.nres + 1) * sizeof(*r.resources));
			r.resources[r.nres++] = v;
		} else if ((v = opt_val(argc, argv, &i, "--timeout"))) {
			r.timeout_s = gs_time_parse_duration(v);
			if (r.timeout_s <= 0) {
				rc = cli_usage_error("app", "invalid duration '%s'", v);
				goto out;
			}
		} else if (!strcmp(argv[i], "--prune"))
			r.prune = true;
		else if (!strcmp(argv[i], "--async"))
			r.async = true;
		else if (!strcmp(argv[i], "--refresh") || !strcmp(argv[i], "--hard-refresh"))
			r.refresh = true;
		else if (!strcmp(argv[i], "--sync"))
			r.w_sync = true;
		else if (!strcmp(argv[i], "--health"))
			r.w_health = true;
		else if (!strcmp(argv[i], "--operation"))
			r.w_op = true;
		else if (!strcmp(argv[i], "--degraded"))
			r.w_degraded = true;
		else if (argv[i][0] == '-') {
			rc = cli_usage_error("app", "option '%s' is not available through the API server",
					     argv[i]);
			goto out;
		} else if (!r.name)
			r.name = argv[i];
		else {
			rc = cli_usage_error("app", "unexpected argument '%s'", argv[i]);
			goto out;
		}
	}
	if (strcmp(r.cmd, "list") && !r.name) {
		rc = cli_usage_error("app", "missing application NAME");
		goto out;
	}
	if (apiclient_new(&r.c, &r.o, &err)) {
		rc = cli_error(&err);
		goto out;
	}
	if (!strcmp(r.cmd, "list"))
		rc = do_list(&r, &err);
	else if (!strcmp(r.cmd, "get"))
		rc = do_get(&r, &err);
	else if (!strcmp(r.cmd, "sync"))
		rc = do_sync(&r, &err);
	else if (!strcmp(r.cmd, "wait"))
		rc = do_wait(&r, &err);
	else
		rc = do_diff(&r, &err);
out:
	apiclient_free(r.c);
	free(r.resources);
	return rc;
}
