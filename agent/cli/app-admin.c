/* app-admin.c - `gitsync app create|delete`: Applications themselves. */
#include "cli/app.h"

#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cli/cli.h"

#define EXAMPLES "\nexamples:\n"
#define COMMON_FOOTER "\n" APP_ENV_HELP

/* ---- create ---- */

static const struct cli_opt create_opts[] = {
	{ "repo", 0, CLI_OPT_STRING, "URL",
	  "repository: https://, http://, ssh://, git@host:path,\n"
	  "file:// or a local path (credentials in the URL are\nused and never printed)",
	  NULL, NULL, NULL },
	{ "path", 0, CLI_OPT_STRING, "P", "directory in the repository (default: the root)", NULL,
	  NULL, NULL },
	{ "revision", 0, CLI_OPT_STRING, "R", "branch, tag or commit (default: the remote's HEAD)",
	  NULL, NULL, NULL },
	{ "dest-namespace", 0, CLI_OPT_STRING, "NS",
	  "namespace for namespaced objects that have none", NULL, NULL, NULL },
	{ "sync-policy", 0, CLI_OPT_STRING, "POLICY",
	  "automated (the agent syncs new commits) or none", NULL,
	  "automated|auto|automatic|none|manual", NULL },
	{ "auto-prune", 0, CLI_OPT_BOOL, NULL, "with automated: delete objects removed from Git",
	  NULL, NULL, NULL },
	{ "self-heal", 0, CLI_OPT_BOOL, NULL, "with automated: undo changes made in the cluster",
	  NULL, NULL, NULL },
	{ "sync-option", 0, CLI_OPT_LIST, "K=V",
	  "e.g. CreateNamespace=true, ServerSideApply=true;\nrepeatable", NULL, NULL, NULL },
	{ "repo-secret", 0, CLI_OPT_STRING, "SECRET",
	  "Secret (in the Applications' namespace) holding Git\n"
	  "credentials: username, password or token,\nsshPrivateKey, knownHosts, caBundle",
	  NULL, NULL, NULL },
	{ "directory-recurse", 0, CLI_OPT_BOOL, NULL,
	  "plain manifests: descend into subdirectories", NULL, NULL, NULL },
	{ "upsert", 0, CLI_OPT_BOOL, NULL, "replace the spec of an existing app with another spec",
	  NULL, NULL, NULL },
	{ "dest-server", 0, CLI_OPT_STRING, "URL", "accepted for argocd compatibility (one cluster)",
	  NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd create_cmd = {
	"app create",
	"NAME --repo URL [--path P] [--revision R]\n"
	"                          --dest-namespace NS [options]",
	"Create an Application: the Git repository, revision and path to render, and\n"
	"the namespace its namespaced objects go to.  Nothing is synced yet.\n",
	create_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES
	"  # the seed's postgres-operator, synced by hand or by CI\n"
	"  gitsync app create postgres-operator --repo https://git.example.com/pg.git \\\n"
	"      --path manifests --revision poc-argocd --dest-namespace default\n\n"
	"  # an overlay the agent keeps in sync, pruning and self-healing\n"
	"  gitsync app create web-prod --repo https://git.example.com/web.git \\\n"
	"      --path k8s/prod --dest-namespace prod --sync-option CreateNamespace=true \\\n"
	"      --sync-policy automated --auto-prune --self-heal\n",
	1, 1,
};

static int run_create(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;
	struct app_params p = { 0 };
	const char *pol = cli_args_str(a, "sync-policy"), *ns, *env;
	struct mf_node *app;
	int rc = CLI_EXIT_OK;

	p.repo_url = cli_args_str(a, "repo");
	p.path = cli_args_str(a, "path");
	p.revision = cli_args_str(a, "revision");
	p.dest_namespace = cli_args_str(a, "dest-namespace");
	p.secret_name = cli_args_str(a, "repo-secret");
	p.automated = pol && strcmp(pol, "none") && strcmp(pol, "manual");
	p.prune = cli_args_bool(a, "auto-prune");
	p.self_heal = cli_args_bool(a, "self-heal");
	p.recurse = cli_args_bool(a, "directory-recurse");
	p.sync_options = cli_args_list(a, "sync-option", &p.n_sync_options);
	if (!p.repo_url)
		return cli_usage_error(a->cmd->name, "--repo URL is required");
	if ((p.prune || p.self_heal) && !p.automated)
		return cli_usage_error(a->cmd->name,
				       "--auto-prune and --self-heal need --sync-policy automated");
	ns = cli_args_str(a, "app-namespace");
	if (!ns)
		ns = (env = getenv("GITSYNC_APP_NAMESPACE")) && *env ? env : APP_DEFAULT_NAMESPACE;
	app = app_object_new(ns, a->pos[0], &p);
	if (b->ops->create(b, app, cli_args_bool(a, "upsert"), &err))
		rc = cli_error(&err);
	else
		printf("application '%s' created\n", a->pos[0]);
	mf_node_free(app);
	return rc;
}

const struct app_sub app_sub_create = { "create", &create_cmd, run_create, false };

/* ---- delete ---- */

static const struct cli_opt delete_opts[] = {
	{ "cascade", 0, CLI_OPT_BOOL, NULL,
	  "--cascade=false keeps the objects in the cluster and\ndeletes the app only", "true",
	  NULL, NULL },
	{ "yes", 'y', CLI_OPT_BOOL, NULL, "accepted for argocd compatibility (never asks)", NULL,
	  NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd delete_cmd = {
	"app delete", "NAME [--cascade=false]",
	"Delete an Application and (by default) every object it manages.\n",
	delete_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app delete monsterstack-dev\n"
			       "  gitsync app delete postgres-operator --cascade=false\n",
	1, 1,
};

static int run_delete(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;

	if (b->ops->remove(b, a->pos[0], cli_args_bool(a, "cascade"), &err))
		return cli_error(&err);
	printf("application '%s' deleted\n", a->pos[0]);
	return CLI_EXIT_OK;
}

const struct app_sub app_sub_delete = { "delete", &delete_cmd, run_delete, false };
