/* app-read.c - `gitsync app list|get|history|manifests`: read commands,
 * each with -o json|yaml (the objects as stored, credentials redacted). */
#include "cli/app.h"

#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cli/cli-table.h"
#include "cli/cli.h"
#include "gs-alloc.h"
#include "gitsrc/gitsrc.h"
#include "mf-object.h"

#define EXAMPLES "\nexamples:\n"
#define COMMON_FOOTER "\n" APP_ENV_HELP

/* ---- list ---- */

static const struct cli_opt list_opts[] = {
	{ "output", 'o', CLI_OPT_STRING, "FORMAT",
	  "wide (adds REVISION), json or yaml (an ApplicationList),\nname (one NAMESPACE/NAME a line)",
	  NULL, "wide|json|yaml|name", NULL },
	CLI_OPT_END,
};

static const struct cli_cmd list_cmd = {
	"app list", "[-o wide|json|yaml|name]",
	"List Applications with the columns NAME NAMESPACE REPO PATH TARGET STATUS\n"
	"HEALTH SYNCPOLICY, as last recorded in their status (no Git access).\n",
	list_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app list\n"
			       "  gitsync app list -o json | jq -r '.items[].metadata.name'\n",
	0, 0,
};

static int run_list(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;
	const char *o = cli_args_str(a, "output");
	struct mf_node *items = NULL;
	struct cli_table *t;
	bool wide = o && !strcmp(o, "wide");
	size_t k;

	if (b->ops->list(b, &items, &err))
		return cli_error(&err);
	if (o && (!strcmp(o, "json") || !strcmp(o, "yaml"))) {
		struct mf_node *list = mf_node_new(MF_MAP);

		mf_node_set_str_value(list, "apiVersion", APP_API_VERSION);
		mf_node_set_str_value(list, "kind", "ApplicationList");
		mf_node_set(list, "items", items);
		app_emit(list, o);
		mf_node_free(list);
		return CLI_EXIT_OK;
	}
	t = cli_table_new(wide ? 9 : 8);
	cli_table_row(t, "NAME", "NAMESPACE", "REPO", "PATH", "TARGET", "STATUS", "HEALTH",
		      "SYNCPOLICY", "REVISION");
	for (k = 0; k < mf_node_len(items); k++) {
		const struct mf_node *x = mf_node_at(items, k);
		char *full = gs_asprintf("%s/%s", mf_obj_namespace(x), mf_obj_name(x));
		const char *rev =
			app_s_or(mf_node_dig_str(x, "status", "sync", "revision", NULL), "");
		char *shown;

		if (o && !strcmp(o, "name")) {
			printf("%s\n", full);
			free(full);
			continue;
		}
		shown = gs_asprintf("%.*s", app_rev_width(rev), rev);
		cli_table_row(t, full, app_s_or(app_dest_namespace(x), ""), app_repo(x),
			      app_s_or(app_path(x), "."), app_s_or(app_revision(x), "HEAD"),
			      app_s_or(mf_node_dig_str(x, "status", "sync", "status", NULL), "Unknown"),
			      app_s_or(mf_node_dig_str(x, "status", "health", "status", NULL),
				       "Unknown"),
			      app_sync_policy_str(x), shown);
		free(shown);
		free(full);
	}
	if (!o || strcmp(o, "name"))
		cli_table_print(t, stdout);
	cli_table_free(t);
	mf_node_free(items);
	return CLI_EXIT_OK;
}

const struct app_sub app_sub_list = { "list", &list_cmd, run_list, false };

/* ---- get ---- */

static const struct cli_opt get_opts[] = {
	{ "refresh", 0, CLI_OPT_BOOL, NULL,
	  "resolve the target revision in Git again (fetching a\n"
	  "new commit) and record the result in the status", NULL, NULL, NULL },
	{ "hard-refresh", 0, CLI_OPT_BOOL, NULL,
	  "as --refresh, and bypass the caches: fetch even when\n"
	  "the commit is cached, export its tree and render again", NULL, NULL, NULL },
	{ "output", 'o', CLI_OPT_STRING, "FORMAT",
	  "json or yaml: the Application object; name: its name;\nwide: the default layout",
	  NULL, "wide|json|yaml|name", NULL },
	{ "orphaned", 0, CLI_OPT_BOOL, NULL,
	  "also list the orphaned resources: objects of the\n"
	  "destination namespace that no app manages", NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd get_cmd = {
	"app get", "NAME [--refresh|--hard-refresh] [--orphaned] [-o json|yaml|wide|name]",
	"Show an Application: source, sync policy, \"Sync Status: OutOfSync from main\n"
	"(90ad8c7)\", health, conditions, then one row per resource (GROUP KIND\n"
	"NAMESPACE NAME STATUS HEALTH HOOK MESSAGE) compared with the cluster now.\n"
	"Without --refresh the comparison uses the commit last recorded.\n",
	get_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app get postgres-operator\n"
			       "  gitsync app get postgres-operator --refresh\n"
			       "  gitsync app get postgres-operator -o json | jq .status.sync\n",
	1, 1,
};

static int run_get(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;
	struct app_view v = APP_VIEW_INIT;
	struct app_compare_args ca = { 0 };
	const char *o = cli_args_str(a, "output");
	bool raw = o && strcmp(o, "wide");
	int rc = CLI_EXIT_OK;

	ca.hard_refresh = cli_args_bool(a, "hard-refresh");
	ca.refresh = ca.hard_refresh || cli_args_bool(a, "refresh");
	ca.at_recorded = !ca.refresh;
	ca.orphaned = cli_args_bool(a, "orphaned") && !raw;
	if (raw && !ca.refresh) {
		/* the object as stored: no comparison needed */
		if (b->ops->get(b, &v.app, a->pos[0], &err))
			rc = cli_error(&err);
	} else if (b->ops->compare(b, &v, a->pos[0], &ca, &err)) {
		if (v.app && !raw)
			app_print_header(b, v.app);
		rc = cli_error(&err);
	}
	if (rc)
		goto cleanup;
	if (raw && strcmp(o, "name"))
		app_emit(v.app, o);
	else if (raw)
		printf("%s\n", mf_obj_name(v.app));
	else {
		app_print_header(b, v.app);
		app_print_sync_status(v.app, v.sync, v.health, v.revision);
		app_print_conditions(v.app);
		app_print_resources(v.resources);
		if (ca.orphaned)
			app_print_orphans(v.orphans, true);
	}
cleanup:
	app_view_release(&v);
	return rc;
}

const struct app_sub app_sub_get = { "get", &get_cmd, run_get, false };

/* ---- history ---- */

static const struct cli_opt history_opts[] = {
	{ "output", 'o', CLI_OPT_STRING, "FORMAT", "json or yaml: status.history", NULL,
	  "wide|json|yaml", NULL },
	CLI_OPT_END,
};

static const struct cli_cmd history_cmd = {
	"app history", "NAME [-o json|yaml]",
	"List the last 10 successful syncs: ID, DATE, TARGET, REVISION, PATH.\n",
	history_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app history postgres-operator\n",
	1, 1,
};

static int run_history(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;
	const char *o = cli_args_str(a, "output");
	struct mf_node *app = NULL;
	const struct mf_node *hist;
	struct cli_table *t;
	size_t k;

	if (b->ops->get(b, &app, a->pos[0], &err))
		return cli_error(&err);
	hist = mf_node_dig(app, "status", "history", NULL);
	if (o && strcmp(o, "wide")) {
		struct mf_node *empty = mf_node_new(MF_SEQ);

		app_emit(hist ? hist : empty, o);
		mf_node_free(empty);
		mf_node_free(app);
		return CLI_EXIT_OK;
	}
	t = cli_table_new(5);
	cli_table_row(t, "ID", "DATE", "TARGET", "REVISION", "PATH");
	for (k = 0; k < mf_node_len(hist); k++) {
		const struct mf_node *h = mf_node_at(hist, k);

		cli_table_row(t, mf_node_str(mf_node_get(h, "id")),
			      mf_node_dig_str(h, "deployedAt", NULL),
			      app_s_or(mf_node_dig_str(h, "source", "targetRevision", NULL), "HEAD"),
			      mf_node_dig_str(h, "revision", NULL),
			      app_s_or(mf_node_dig_str(h, "source", "path", NULL), "."));
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	mf_node_free(app);
	return CLI_EXIT_OK;
}

const struct app_sub app_sub_history = { "history", &history_cmd, run_history, false };

/* ---- manifests ---- */

static const struct cli_opt manifests_opts[] = {
	{ "repo", 0, CLI_OPT_STRING, "URL", "render this repository instead of an app's", NULL, NULL,
	  NULL },
	{ "path", 0, CLI_OPT_STRING, "P", "with --repo: directory in the repository", NULL, NULL,
	  NULL },
	{ "revision", 0, CLI_OPT_STRING, "R", "branch, tag or commit (default: the app's target)",
	  NULL, NULL, NULL },
	{ "directory-recurse", 0, CLI_OPT_BOOL, NULL,
	  "with --repo: plain manifests in subdirectories too", NULL, NULL, NULL },
	{ "hard-refresh", 0, CLI_OPT_BOOL, NULL,
	  "fetch, export and render again, bypassing the caches", NULL, NULL, NULL },
	{ "output", 'o', CLI_OPT_STRING, "FORMAT", "yaml (a --- separated stream)", NULL, "yaml",
	  NULL },
	CLI_OPT_END,
};

static const struct cli_cmd manifests_cmd = {
	"app manifests", "NAME|--repo URL [--path P] [--revision R] [--hard-refresh]",
	"Print the objects an Application would apply (a --- separated YAML stream),\n"
	"fetched and rendered from Git like the agent does: an existing app's source,\n"
	"or a repository given on the command line (no cluster needed).\n",
	manifests_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES
	"  gitsync app manifests postgres-operator\n"
	"  gitsync app manifests --repo https://git.example.com/pg.git --path manifests \\\n"
	"      --revision poc-argocd\n",
	0, 1,
};

static int run_manifests(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf buf = GS_BUF_INIT;
	const char *repo = cli_args_str(a, "repo"), *rev = cli_args_str(a, "revision");
	bool hard = cli_args_bool(a, "hard-refresh");
	int r, rc = CLI_EXIT_OK;

	if ((a->npos == 1) == (repo != NULL) ||
	    (a->npos && (cli_args_str(a, "path") || cli_args_bool(a, "directory-recurse"))))
		return cli_usage_error(a->cmd->name, "usage: gitsync app manifests NAME | --repo URL "
						     "[--path P] [--revision R]");
	if (repo)
		r = app_render_repo(&buf, repo, cli_args_str(a, "path"), rev,
				    cli_args_bool(a, "directory-recurse"), hard, &err);
	else
		r = b->ops->manifests(b, &buf, a->pos[0], rev, hard, &err);
	if (r)
		rc = cli_error(&err);
	else if (fwrite(buf.ptr, 1, buf.len, stdout) != buf.len || fflush(stdout) != 0) {
		gs_error_set(&err, GS_EIO, "cannot write the output");
		rc = cli_error(&err);
	}
	gs_buf_release(&buf);
	return rc;
}

const struct app_sub app_sub_manifests = { "manifests", &manifests_cmd, run_manifests, true };

/* ---- resources ---- */

static const struct cli_opt resources_opts[] = {
	{ "output", 'o', CLI_OPT_STRING, "FORMAT",
	  "tree (by namespace), wide (the table), json or yaml (the rows)", NULL,
	  "tree|wide|json|yaml", NULL },
	{ "refresh", 0, CLI_OPT_BOOL, NULL, "resolve the target revision in Git again first", NULL,
	  NULL, NULL },
	{ "orphaned", 0, CLI_OPT_BOOL, NULL,
	  "list only the orphaned resources (as argocd): objects of\n"
	  "the destination namespace that no app manages (not\n"
	  "Events, Endpoints, Leases, owned objects, the default\n"
	  "ServiceAccount and its token, kube-root-ca.crt)", NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd resources_cmd = {
	"app resources", "NAME [-o tree|wide|json|yaml] [--refresh] [--orphaned]",
	"List the objects of an Application with their sync status and health, compared\n"
	"with the cluster now (at the commit last recorded, unless --refresh).\n",
	resources_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app resources postgres-operator\n"
			       "  gitsync app resources postgres-operator -o tree\n",
	1, 1,
};

static void print_tree(const struct app_view *v)
{
	size_t k, j, n = mf_node_len(v->resources);
	const char **nss = gs_calloc(n + 1, sizeof(*nss));
	size_t nns = 0;

	printf("%s/%s (%s, %s)\n", mf_obj_namespace(v->app), mf_obj_name(v->app),
	       app_s_or(v->sync, "Unknown"), app_s_or(v->health, "Unknown"));
	/* namespaces in order of first appearance; "" (cluster-scoped) as its own */
	for (k = 0; k < n; k++) {
		const char *ns = app_s_or(mf_node_dig_str(mf_node_at(v->resources, k), "namespace",
							  NULL), "");
		bool seen = false;

		for (j = 0; j < nns; j++)
			seen = seen || !strcmp(nss[j], ns);
		if (!seen)
			nss[nns++] = ns;
	}
	for (j = 0; j < nns; j++) {
		bool last_ns = j + 1 == nns;
		size_t last = 0;

		for (k = 0; k < n; k++)
			if (!strcmp(app_s_or(mf_node_dig_str(mf_node_at(v->resources, k), "namespace",
							     NULL), ""), nss[j]))
				last = k;
		printf("%s %s\n", last_ns ? "`--" : "|--", *nss[j] ? nss[j] : "(cluster)");
		for (k = 0; k < n; k++) {
			const struct mf_node *r = mf_node_at(v->resources, k);
			const char *g = app_s_or(mf_node_dig_str(r, "group", NULL), "");
			const char *h = app_s_or(mf_node_dig_str(r, "health", NULL), "");

			if (strcmp(app_s_or(mf_node_dig_str(r, "namespace", NULL), ""), nss[j]))
				continue;
			printf("%s   %s %s%s%s %s  %s%s%s\n", last_ns ? " " : "|",
			       k == last ? "`--" : "|--", g, *g ? "/" : "",
			       app_s_or(mf_node_dig_str(r, "kind", NULL), ""),
			       app_s_or(mf_node_dig_str(r, "name", NULL), ""),
			       app_s_or(mf_node_dig_str(r, "status", NULL), ""), *h ? ", " : "", h);
		}
	}
	free(nss);
}

static int run_resources(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;
	struct app_view v = APP_VIEW_INIT;
	struct app_compare_args ca = { 0 };
	const char *o = cli_args_str(a, "output");
	int rc = CLI_EXIT_OK;

	ca.refresh = cli_args_bool(a, "refresh");
	ca.at_recorded = !ca.refresh;
	ca.orphaned = cli_args_bool(a, "orphaned");
	if (b->ops->compare(b, &v, a->pos[0], &ca, &err)) {
		rc = cli_error(&err);
	} else if (ca.orphaned && o && (!strcmp(o, "json") || !strcmp(o, "yaml"))) {
		struct mf_node *empty = mf_node_new(MF_SEQ);

		app_emit(v.orphans ? v.orphans : empty, o);
		mf_node_free(empty);
	} else if (ca.orphaned) {
		app_print_orphans(v.orphans, false);
	} else if (o && (!strcmp(o, "json") || !strcmp(o, "yaml"))) {
		struct mf_node *empty = mf_node_new(MF_SEQ);

		app_emit(v.resources ? v.resources : empty, o);
		mf_node_free(empty);
	} else if (o && !strcmp(o, "tree")) {
		print_tree(&v);
	} else {
		struct cli_table *t = cli_table_new(6);
		size_t k;

		cli_table_row(t, "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH");
		for (k = 0; k < mf_node_len(v.resources); k++) {
			const struct mf_node *r = mf_node_at(v.resources, k);

			cli_table_row(t, mf_node_dig_str(r, "group", NULL),
				      mf_node_dig_str(r, "kind", NULL),
				      mf_node_dig_str(r, "namespace", NULL),
				      mf_node_dig_str(r, "name", NULL), mf_node_dig_str(r, "status", NULL),
				      mf_node_dig_str(r, "health", NULL));
		}
		cli_table_print(t, stdout);
		cli_table_free(t);
	}
	app_view_release(&v);
	return rc;
}

const struct app_sub app_sub_resources = { "resources", &resources_cmd, run_resources, false };
