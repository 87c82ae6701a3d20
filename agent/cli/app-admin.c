/* app-admin.c - `gitsync app create|delete`: Applications themselves. */
#include "cli/app.h"

#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cli/cli.h"

#define EXAMPLES "\nexamples:\n"
#define COMMON_FOOTER "\n" APP_ENV_HELP

/* ---- create ---- */

/* --dest-server: Argo CD's in-cluster URL only; an app meant for another
 * cluster must not deploy to this one. */
static bool in_cluster_server(const char *v)
{
	return !*v || !strcmp(v, "https://kubernetes.default.svc");
}

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
	{ "dest-server", 0, CLI_OPT_STRING, "URL",
	  "only https://kubernetes.default.svc: one gitsync deploys\n"
	  "to the cluster it runs in", NULL, NULL, in_cluster_server },
	{ "helm-chart", 0, CLI_OPT_STRING, "NAME",
	  "a chart of the chart repository --repo (HTTP or oci://);\n"
	  "--revision is then its version or a semver range", NULL, NULL, NULL },
	{ "release-name", 0, CLI_OPT_STRING, "NAME", "Helm release name (default: the app's name)",
	  NULL, NULL, NULL },
	{ "values", 0, CLI_OPT_LIST, "FILE",
	  "Helm value file, relative to the chart (may use ../\n"
	  "inside the repository); repeatable, later ones win", NULL, NULL, NULL },
	{ "helm-set", 0, CLI_OPT_LIST, "K=V", "Helm parameter (helm --set); repeatable", NULL,
	  NULL, NULL },
	{ "helm-set-string", 0, CLI_OPT_LIST, "K=V",
	  "Helm string parameter (helm --set-string); repeatable", NULL, NULL, NULL },
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
	"      --sync-policy automated --auto-prune --self-heal\n\n"
	"  # a Helm chart in Git (a path holding Chart.yaml)\n"
	"  gitsync app create web --repo https://git.example.com/web.git --path chart \\\n"
	"      --values values-prod.yaml --helm-set image.tag=1.2.3 --dest-namespace web\n",
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
	p.helm_chart = cli_args_str(a, "helm-chart");
	p.helm_release_name = cli_args_str(a, "release-name");
	p.helm_values = cli_args_list(a, "values", &p.n_helm_values);
	p.helm_set = cli_args_list(a, "helm-set", &p.n_helm_set);
	p.helm_set_string = cli_args_list(a, "helm-set-string", &p.n_helm_set_string);
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

/* ---- set ---- */

static const struct cli_opt set_opts[] = {
	{ "repo", 0, CLI_OPT_STRING, "URL", "repository to render", NULL, NULL, NULL },
	{ "path", 0, CLI_OPT_STRING, "P", "directory in the repository", NULL, NULL, NULL },
	{ "revision", 0, CLI_OPT_STRING, "R", "branch, tag or commit to follow", NULL, NULL, NULL },
	{ "dest-namespace", 0, CLI_OPT_STRING, "NS",
	  "namespace for namespaced objects that have none", NULL, NULL, NULL },
	{ "sync-policy", 0, CLI_OPT_STRING, "POLICY", "automated or none", NULL,
	  "automated|auto|automatic|none|manual", NULL },
	{ "auto-prune", 0, CLI_OPT_BOOL, NULL, "with automated: delete objects removed from Git\n"
	  "(--auto-prune=false turns it off)", NULL, NULL, NULL },
	{ "self-heal", 0, CLI_OPT_BOOL, NULL, "with automated: undo changes made in the cluster\n"
	  "(--self-heal=false turns it off)", NULL, NULL, NULL },
	{ "sync-option", 0, CLI_OPT_LIST, "K=V",
	  "replace the app's sync options with these; repeatable", NULL, NULL, NULL },
	{ "directory-recurse", 0, CLI_OPT_BOOL, NULL,
	  "plain manifests: descend into subdirectories (=false: not)", NULL, NULL, NULL },
	{ "dest-server", 0, CLI_OPT_STRING, "URL",
	  "refused: one gitsync manages the cluster it runs in", NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd set_cmd = {
	"app set", "NAME [--repo URL] [--path P] [--revision R] [--sync-policy POLICY] ...",
	"Change an Application's source, destination namespace or sync policy (a merge\n"
	"patch of its spec; what is not given stays).  Nothing is synced: an automated\n"
	"app follows the new spec at its next reconcile, others at `gitsync app sync`.\n",
	set_opts, "common options", app_common_opts,
	COMMON_FOOTER EXAMPLES "  gitsync app set web-prod --revision v1.4.2\n"
			       "  gitsync app set web-prod --sync-policy automated --self-heal\n"
			       "  gitsync app set web-prod --sync-policy none\n",
	1, 1,
};

static int run_set(struct app_be *b, const struct cli_args *a)
{
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *patch = mf_node_new(MF_MAP), *spec, *src, *pol;
	const char *pol_s = cli_args_str(a, "sync-policy"), *v;
	const char *const *opts;
	size_t n = 0, k;
	bool changed = false;
	int rc = CLI_EXIT_OK;

	if (cli_args_given(a, "dest-server")) {
		rc = cli_usage_error(a->cmd->name, "--dest-server is not supported: one gitsync "
						   "manages the cluster it runs in");
		goto cleanup;
	}
	spec = mf_node_ensure(patch, "spec", MF_MAP);
	src = mf_node_ensure(spec, "source", MF_MAP);
	pol = mf_node_ensure(spec, "syncPolicy", MF_MAP);
	if ((v = cli_args_str(a, "repo")))
		mf_node_set_str_value(src, "repoURL", v);
	if ((v = cli_args_str(a, "path")))
		mf_node_set_str_value(src, "path", v);
	if ((v = cli_args_str(a, "revision")))
		mf_node_set_str_value(src, "targetRevision", v);
	if (cli_args_given(a, "directory-recurse"))
		mf_node_set(mf_node_ensure(src, "directory", MF_MAP), "recurse",
			    mf_node_new_bool(cli_args_bool(a, "directory-recurse")));
	if ((v = cli_args_str(a, "dest-namespace")))
		mf_node_set_str_value(mf_node_ensure(spec, "destination", MF_MAP), "namespace", v);
	if (pol_s && (!strcmp(pol_s, "none") || !strcmp(pol_s, "manual"))) {
		if (cli_args_given(a, "auto-prune") || cli_args_given(a, "self-heal")) {
			rc = cli_usage_error(a->cmd->name, "--auto-prune and --self-heal need "
							   "--sync-policy automated");
			goto cleanup;
		}
		mf_node_set(pol, "automated", mf_node_new_null());
	} else if (pol_s || cli_args_given(a, "auto-prune") || cli_args_given(a, "self-heal")) {
		struct mf_node *au = mf_node_ensure(pol, "automated", MF_MAP);

		if (cli_args_given(a, "auto-prune"))
			mf_node_set(au, "prune", mf_node_new_bool(cli_args_bool(a, "auto-prune")));
		if (cli_args_given(a, "self-heal"))
			mf_node_set(au, "selfHeal", mf_node_new_bool(cli_args_bool(a, "self-heal")));
	}
	opts = cli_args_list(a, "sync-option", &n);
	if (n) {
		struct mf_node *so = mf_node_ensure(pol, "syncOptions", MF_SEQ);

		for (k = 0; k < n; k++)
			mf_node_append(so, mf_node_new_str(opts[k]));
	}
	/* drop empty maps: "set" only what was asked */
	if (!mf_node_len(src))
		mf_node_remove(spec, "source");
	if (!mf_node_len(pol))
		mf_node_remove(spec, "syncPolicy");
	changed = mf_node_len(spec) > 0;
	if (!changed) {
		rc = cli_usage_error(a->cmd->name, "nothing to set (give --repo, --path, --revision, "
						   "--sync-policy, ...)");
		goto cleanup;
	}
	if (b->ops->set(b, a->pos[0], patch, &err))
		rc = cli_error(&err);
	else
		printf("application '%s' updated\n", a->pos[0]);
cleanup:
	mf_node_free(patch);
	return rc;
}

const struct app_sub app_sub_set = { "set", &set_cmd, run_set, false };
