/* cmd-app.c - `gitsync app ...`: Applications, with the output layouts of
 * `argocd app list/get/sync/wait/history`.
 *
 * Where no agent holds the Lease, `app sync` runs the operation in this
 * process with the user's kubeconfig; where one runs, the operation is
 * written on the Application and followed there.
 */
#include "cli/cli.h"
#include "cli/cli-sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "gs-alloc.h"
#include "kube/kube-config.h"
#include "loop/agent.h"
#include "mf-diff.h"
#include "mf-json.h"
#include "mf-object.h"
#include "mf-yaml.h"

/* ---- options shared by every subcommand ---- */

struct app_cli {
	const char *cmd;        /* "app create", ... */
	const char *kubeconfig, *context, *ns, *output;
	struct kube_config *cfg;
	struct kube_client *kc;
	struct gitsrc *git;
	struct app_env env;
	char **pos;             /* positional arguments */
	size_t npos;
};

/* Match "--name value" or "--name=value"; advances *i.  NULL when no match. */
static const char *opt_val(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);

	if (!strncmp(argv[*i], name, len)) {
		if (argv[*i][len] == '=')
			return argv[*i] + len + 1;
		if (argv[*i][len] == '\0' && *i + 1 < argc)
			return argv[++*i];
	}
	return NULL;
}

static bool common_opt(struct app_cli *c, int argc, char **argv, int *i)
{
	const char *v;

	if ((v = opt_val(argc, argv, i, "--kubeconfig")))
		c->kubeconfig = v;
	else if ((v = opt_val(argc, argv, i, "--context")))
		c->context = v;
	else if ((v = opt_val(argc, argv, i, "--app-namespace")) ||
		 (v = opt_val(argc, argv, i, "-N")))
		c->ns = v;
	else if ((v = opt_val(argc, argv, i, "--output")) || (v = opt_val(argc, argv, i, "-o")))
		c->output = v;
	else
		return false;
	return true;
}

static int connect_cluster(struct app_cli *c, bool need_git, struct gs_error *err)
{
	struct kube_config_opts ko = { c->kubeconfig, c->context, false };
	const char *cache = getenv("GITSYNC_CACHE_DIR");
	char *dflt = NULL;
	int r;

	if (!c->ns)
		c->ns = getenv("GITSYNC_APP_NAMESPACE") ? getenv("GITSYNC_APP_NAMESPACE")
							: APP_DEFAULT_NAMESPACE;
	if ((r = kube_config_load(&c->cfg, &ko, err)) < 0)
		return r;
	if ((r = kube_client_new(&c->kc, c->cfg, NULL, err)) < 0)
		return r;
	if (need_git) {
		if (!cache) {
			const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

			dflt = xdg && *xdg ? gs_asprintf("%s/gitsync/git", xdg)
					   : gs_asprintf("%s/.cache/gitsync/git", home ? home : "/tmp");
			cache = dflt;
		}
		r = gitsrc_new(&c->git, cache, err);
		free(dflt);
		if (r < 0)
			return r;
	}
	c->env.kc = c->kc;
	c->env.git = c->git;
	c->env.se = sync_engine_new(c->kc);
	c->env.ns = c->ns;
	return GS_OK;
}

static void app_cli_release(struct app_cli *c)
{
	sync_engine_free(c->env.se);
	gitsrc_free(c->git);
	kube_client_free(c->kc);
	kube_config_free(c->cfg);
	free(c->pos);
}

static void add_pos(struct app_cli *c, char *arg)
{
	c->pos = gs_realloc(c->pos, (c->npos + 1) * sizeof(*c->pos));
	c->pos[c->npos++] = arg;
}

/* Passwords and tokens in repoURLs (https://user:token@host/...) are never
 * printed: not in the spec, not in status, history or operationState. */
static void redact_repo(struct mf_node *app)
{
	gitsrc_node_redact(app);
}

static int emit_node(const struct mf_node *n, const char *fmt)
{
	struct gs_buf b = GS_BUF_INIT;

	if (!strcmp(fmt, "json"))
		mf_json_emit(&b, n, MF_JSON_PRETTY);
	else
		mf_yaml_emit(&b, n, 0);
	fwrite(b.ptr, 1, b.len, stdout);
	if (b.len && b.ptr[b.len - 1] != '\n')
		putchar('\n');
	gs_buf_release(&b);
	return CLI_EXIT_OK;
}

static const char *s_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tables ---- */

static void print_resource_table(const struct sync_report *rep)
{
	if (!rep->n)
		return;
	putchar('\n');
	cli_print_resource_table(stdout, rep); /* the layout `gitsync diff` prints */
}

static void print_header(struct app_cli *c, const struct mf_node *app)
{
	const char *target = s_or(app_revision(app), "HEAD");

	printf("%-15s%s/%s\n", "Name:", mf_obj_namespace(app), mf_obj_name(app));
	printf("%-15s%s\n", "Server:", c->cfg ? c->cfg->server : "");
	printf("%-15s%s\n", "Namespace:", s_or(app_dest_namespace(app), ""));
	{
		char *repo = gitsrc_url_redact(app_repo(app));

		printf("%-15s%s\n", "Repo:", repo);
		free(repo);
	}
	printf("%-15s%s\n", "Target:", target);
	printf("%-15s%s\n", "Path:", s_or(app_path(app), "."));
	printf("%-15s%s\n", "Sync Policy:", app_sync_policy_str(app));
}

static void print_sync_status(const struct mf_node *app, const char *status, const char *health,
			      const char *rev)
{
	const char *target = s_or(app_revision(app), "HEAD");

	if (!status || !*status)
		status = "Unknown";
	printf("%-15s%s %s %s (%.7s)\n", "Sync Status:", status,
	       strcmp(status, "Synced") ? "from" : "to", target, s_or(rev, "unknown"));
	printf("%-15s%s\n", "Health Status:", s_or(health, "Unknown"));
}

static void print_conditions(const struct mf_node *status)
{
	const struct mf_node *conds = mf_node_get(status, "conditions");
	size_t i;

	if (!mf_node_len(conds))
		return;
	printf("\n%-20s %s\n", "CONDITION", "MESSAGE");
	for (i = 0; i < mf_node_len(conds); i++)
		printf("%-20s %s\n", s_or(mf_node_dig_str(mf_node_at(conds, i), "type", NULL), ""),
		       s_or(mf_node_dig_str(mf_node_at(conds, i), "message", NULL), ""));
}

/* ---- help ---- */

/* Printed by `gitsync app --help` and by every subcommand's --help. */
#define COMMON_HELP \
	"common options:\n" \
	"  --kubeconfig FILE        kubeconfig to use (default $KUBECONFIG, ~/.kube/config)\n" \
	"  --context NAME           kubeconfig context\n" \
	"  -N, --app-namespace NS   namespace of the Application objects (default 'gitsync',\n" \
	"                           or $GITSYNC_APP_NAMESPACE)\n" \
	"Git credentials for the CLI: GITSYNC_GIT_USERNAME, GITSYNC_GIT_PASSWORD,\n" \
	"GITSYNC_GIT_SSH_KEY_FILE (sent only to the hosts in GITSYNC_GIT_HOSTS),\n" \
	"GITSYNC_GIT_KNOWN_HOSTS_FILE, GITSYNC_GIT_CA_FILE;\n" \
	"cache directory: GITSYNC_CACHE_DIR (default ~/.cache/gitsync/git); with\n" \
	"GITSYNC_SERVER and GITSYNC_AUTH_TOKEN, list/get/sync/wait/diff go through the\n" \
	"agent's API instead of the cluster\n"

static const char help_create[] =
	"usage: gitsync app create NAME --repo URL [--path P] [--revision R]\n"
	"                          --dest-namespace NS [options]\n\n"
	"Create an Application: the Git repository, revision and path to render, and\n"
	"the namespace its namespaced objects go to.  Nothing is synced yet.\n\n"
	"options:\n"
	"  --repo URL               repository: https://, http://, ssh://, git@host:path,\n"
	"                           file:// or a local path (credentials in the URL are\n"
	"                           used and never printed)\n"
	"  --path P                 directory in the repository (default: the root)\n"
	"  --revision R             branch, tag or commit (default: the remote's HEAD)\n"
	"  --dest-namespace NS      namespace for namespaced objects that have none\n"
	"  --sync-policy POLICY     automated (the agent syncs new commits) or none\n"
	"  --auto-prune             with automated: delete objects removed from Git\n"
	"  --self-heal              with automated: undo changes made in the cluster\n"
	"  --sync-option K=V        e.g. CreateNamespace=true, ServerSideApply=true;\n"
	"                           repeatable\n"
	"  --repo-secret SECRET     Secret (in the Applications' namespace) holding Git\n"
	"                           credentials: username, password or token,\n"
	"                           sshPrivateKey, knownHosts, caBundle\n"
	"  --directory-recurse      plain manifests: descend into subdirectories\n"
	"  --upsert                 replace the spec of an existing app with another spec\n"
	"  --dest-server URL        only https://kubernetes.default.svc (one cluster)\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  # the seed's postgres-operator, synced by hand or by CI\n"
	"  gitsync app create postgres-operator --repo https://git.example.com/pg.git \\\n"
	"      --path manifests --revision poc-argocd --dest-namespace default\n\n"
	"  # an overlay the agent keeps in sync, pruning and self-healing\n"
	"  gitsync app create web-prod --repo https://git.example.com/web.git \\\n"
	"      --path k8s/prod --dest-namespace prod --sync-option CreateNamespace=true \\\n"
	"      --sync-policy automated --auto-prune --self-heal\n";

static const char help_list[] =
	"usage: gitsync app list [-o wide|json|yaml]\n\n"
	"List Applications with the columns NAME NAMESPACE REPO PATH TARGET STATUS\n"
	"HEALTH SYNCPOLICY, as last recorded in their status (no Git access).\n\n"
	"options:\n"
	"  -o, --output FORMAT      wide (adds REVISION), json or yaml (an ApplicationList)\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app list\n"
	"  gitsync app list -o json | jq -r '.items[].metadata.name'\n";

static const char help_get[] =
	"usage: gitsync app get NAME [--refresh|--hard-refresh] [-o json|yaml]\n\n"
	"Show an Application: source, sync policy, \"Sync Status: OutOfSync from main\n"
	"(90ad8c7)\", health, conditions, then one row per resource (GROUP KIND\n"
	"NAMESPACE NAME STATUS HEALTH HOOK MESSAGE) compared with the cluster now.\n"
	"Without --refresh the comparison uses the commit last recorded.\n\n"
	"options:\n"
	"  --refresh                resolve the target revision in Git again (fetching a\n"
	"                           new commit) and record the result in the status\n"
	"  --hard-refresh           as --refresh, and bypass the caches: fetch even when\n"
	"                           the commit is cached, export its tree and render again\n"
	"  -o, --output FORMAT      json or yaml: the Application object\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app get postgres-operator\n"
	"  gitsync app get postgres-operator --refresh\n"
	"  gitsync app get postgres-operator -o json | jq .status.sync\n";

static const char help_diff[] =
	"usage: gitsync app diff NAME [--local PATH] [--revision R] [--refresh|--hard-refresh]\n\n"
	"Print a unified diff (live -> target) of every object out of sync.\n"
	"Exit status: 0 in sync, 1 different, 2 error.\n\n"
	"options:\n"
	"  --local PATH             render this directory instead of Git (try a change\n"
	"                           before pushing it)\n"
	"  --revision R             compare another branch, tag or commit\n"
	"  --refresh                accepted for argocd compatibility (diff always resolves\n"
	"                           the revision in Git)\n"
	"  --hard-refresh           fetch, export and render again, bypassing the caches\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app diff postgres-operator\n"
	"  gitsync app diff monsterstack-dev --local k8s/dev\n";

static const char help_sync[] =
	"usage: gitsync app sync NAME [--revision R] [--prune] [--dry-run]\n"
	"                        [--resource GROUP:KIND:NAME]... [--timeout D] [--async]\n\n"
	"Sync an Application: render its revision and apply it (server-side apply, in\n"
	"waves: namespaces and CRDs first).  Prints a line per resource as it goes,\n"
	"then Operation, Sync Revision, Phase, Start, Finished, Duration, Message and\n"
	"the resource table.  Where an agent runs (it holds the Lease), the operation is\n"
	"recorded on the Application and the agent runs it; else this process does.\n"
	"Exit status 0 only when the operation succeeded.\n\n"
	"options:\n"
	"  --revision R             sync this branch, tag or commit instead of the target\n"
	"  --prune                  delete the app's objects that are no longer in Git\n"
	"  --allow-empty            with --prune, prune even when the source has no\n"
	"                           objects (else such a sync deletes nothing and fails)\n"
	"  --dry-run                show what would change, change nothing\n"
	"  --resource G:K:NAME      sync only these objects (group empty for core kinds,\n"
	"                           e.g. :ConfigMap:postgres-operator); repeatable\n"
	"  --timeout D              then wait up to D (e.g. 90s, 5m) for health\n"
	"  --async                  with an agent: return once the operation is recorded\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app sync postgres-operator\n"
	"  gitsync app sync monsterstack-dev --prune --timeout 5m\n"
	"  gitsync app sync postgres-operator --resource :ConfigMap:postgres-operator\n";

static const char help_wait[] =
	"usage: gitsync app wait NAME [--sync] [--health] [--operation] [--degraded]\n"
	"                        [--timeout D]\n\n"
	"Wait until the Application is in the state asked for (all three of --sync,\n"
	"--health and --operation when none is given).  Exit status 0 when the\n"
	"conditions hold; 1 on timeout or when health turns Degraded.  Without an agent,\n"
	"this process compares Git and the cluster itself each second.\n\n"
	"options:\n"
	"  --sync                   sync status Synced\n"
	"  --health                 health Healthy\n"
	"  --operation              no operation pending or running\n"
	"  --degraded               wait for health Degraded instead\n"
	"  --timeout D              give up after D (e.g. 120, 90s, 5m); default: no limit\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app wait postgres-operator --health --sync --timeout 5m\n"
	"  gitsync app sync web --async && gitsync app wait web --operation\n";

static const char help_history[] =
	"usage: gitsync app history NAME [-o json|yaml]\n\n"
	"List the last 10 successful syncs: ID, DATE, TARGET, REVISION.\n\n"
	"options:\n"
	"  -o, --output FORMAT      json or yaml: status.history\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app history postgres-operator\n";

static const char help_rollback[] =
	"usage: gitsync app rollback NAME ID [--prune]\n\n"
	"Sync the revision of history entry ID (see `gitsync app history`).  As Argo CD\n"
	"does, automated sync is turned off first, or it would undo the rollback.\n\n"
	"options:\n"
	"  --prune                  delete objects that are not in that revision\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app history postgres-operator\n"
	"  gitsync app rollback postgres-operator 1\n";

static const char help_manifests[] =
	"usage: gitsync app manifests NAME [--revision R] [--hard-refresh]\n"
	"       gitsync app manifests --repo URL [--path P] [--revision R] [--hard-refresh]\n\n"
	"Print the objects an Application would apply (a --- separated YAML stream),\n"
	"fetched and rendered from Git like the agent does: an existing app's source,\n"
	"or a repository given on the command line (no cluster needed).\n\n"
	"options:\n"
	"  --repo URL               render this repository instead of an app's\n"
	"  --path P                 with --repo: directory in the repository\n"
	"  --revision R             branch, tag or commit (default: the app's target)\n"
	"  --directory-recurse      with --repo: plain manifests in subdirectories too\n"
	"  --hard-refresh           fetch, export and render again, bypassing the caches\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app manifests postgres-operator\n"
	"  gitsync app manifests --repo https://git.example.com/pg.git --path manifests \\\n"
	"      --revision poc-argocd\n";

static const char help_delete[] =
	"usage: gitsync app delete NAME [--cascade=false]\n\n"
	"Delete an Application and (by default) every object it manages.\n\n"
	"options:\n"
	"  --cascade=false          keep the objects in the cluster, delete the app only\n"
	"  -y, --yes                accepted for argocd compatibility (never asks)\n\n"
	COMMON_HELP
	"\nexamples:\n"
	"  gitsync app delete monsterstack-dev\n"
	"  gitsync app delete postgres-operator --cascade=false\n";

/* ---- create ---- */

static int app_create_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app create" };
	struct app_params p = { 0 };
	const char **opts = NULL;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *app = NULL;
	bool upsert = false;
	size_t nopts = 0;
	int i, rc = CLI_EXIT_OK;
	const char *v;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if ((v = opt_val(argc, argv, &i, "--repo")))
			p.repo_url = v;
		else if ((v = opt_val(argc, argv, &i, "--path")))
			p.path = v;
		else if ((v = opt_val(argc, argv, &i, "--revision")))
			p.revision = v;
		else if ((v = opt_val(argc, argv, &i, "--dest-namespace")))
			p.dest_namespace = v;
		else if ((v = opt_val(argc, argv, &i, "--dest-server"))) {
			/* one cluster per gitsync: only that one is accepted */
			if (v[0] && strcmp(v, "https://kubernetes.default.svc")) {
				rc = cli_usage_error(c.cmd, "--dest-server '%s': gitsync deploys only "
							    "to the cluster it runs in "
							    "(https://kubernetes.default.svc)", v);
				goto cleanup;
			}
		}
		else if ((v = opt_val(argc, argv, &i, "--repo-secret")))
			p.secret_name = v;
		else if ((v = opt_val(argc, argv, &i, "--sync-policy"))) {
			if (!strcmp(v, "automated") || !strcmp(v, "auto") || !strcmp(v, "automatic"))
				p.automated = true;
			else if (strcmp(v, "none") && strcmp(v, "manual")) {
				rc = cli_usage_error(c.cmd, "unknown sync policy '%s'", v);
				goto cleanup;
			}
		} else if ((v = opt_val(argc, argv, &i, "--sync-option"))) {
			opts = gs_realloc(opts, (nopts + 1) * sizeof(*opts));
			opts[nopts++] = v;
		} else if (!strcmp(argv[i], "--auto-prune"))
			p.prune = true;
		else if (!strcmp(argv[i], "--self-heal"))
			p.self_heal = true;
		else if (!strcmp(argv[i], "--directory-recurse"))
			p.recurse = true;
		else if (!strcmp(argv[i], "--upsert"))
			upsert = true;
		else if (argv[i][0] == '-') {
			rc = cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
			goto cleanup;
		} else
			add_pos(&c, argv[i]);
	}
	if (c.npos != 1 || !p.repo_url) {
		rc = cli_usage_error(c.cmd, "usage: gitsync app create NAME --repo URL [--path P] ...");
		goto cleanup;
	}
	if ((p.prune || p.self_heal) && !p.automated) {
		rc = cli_usage_error(c.cmd, "--auto-prune and --self-heal need --sync-policy automated");
		goto cleanup;
	}
	p.sync_options = opts;
	p.n_sync_options = nopts;
	if (connect_cluster(&c, false, &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	app = app_object_new(c.ns, c.pos[0], &p);
	if (app_create(c.kc, app, upsert, &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	printf("application '%s' created\n", c.pos[0]);
cleanup:
	mf_node_free(app);
	free(opts);
	app_cli_release(&c);
	return rc;
}

/* ---- list ---- */

struct list_ctx {
	struct mf_node *items;
};

static int collect(const struct mf_node *item, void *payload)
{
	struct list_ctx *l = payload;

	mf_node_append(l->items, mf_node_clone(item));
	return 0;
}

static int app_list_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app list" };
	struct gs_error err = GS_ERROR_INIT;
	struct list_ctx l = { mf_node_new(MF_SEQ) };
	const struct kube_resource *res;
	int i, rc = CLI_EXIT_OK;
	size_t k;

	for (i = 1; i < argc; i++)
		if (!common_opt(&c, argc, argv, &i))
			return cli_usage_error(c.cmd, "unknown argument '%s'", argv[i]);
	if (connect_cluster(&c, false, &err) < 0 || app_resource(&res, c.kc, &err) < 0 ||
	    kube_client_list(c.kc, res, c.ns, NULL, collect, &l, NULL, &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	if (c.output && (!strcmp(c.output, "json") || !strcmp(c.output, "yaml"))) {
		struct mf_node *list = mf_node_new(MF_MAP);

		mf_node_set_str_value(list, "apiVersion", APP_API_VERSION);
		mf_node_set_str_value(list, "kind", "ApplicationList");
		for (k = 0; k < mf_node_len(l.items); k++)
			redact_repo(mf_node_at(l.items, k));
		mf_node_set(list, "items", l.items);
		l.items = NULL;
		emit_node(list, c.output);
		mf_node_free(list);
		goto cleanup;
	}
	if (c.output && strcmp(c.output, "wide")) {
		rc = cli_usage_error(c.cmd, "unknown output format '%s' (wide, json, yaml)", c.output);
		goto cleanup;
	}
	printf("%-32s %-16s %-48s %-24s %-12s %-10s %-12s %s%s\n", "NAME", "NAMESPACE", "REPO", "PATH",
	       "TARGET", "STATUS", "HEALTH", "SYNCPOLICY", c.output ? "  REVISION" : "");
	for (k = 0; k < mf_node_len(l.items); k++) {
		const struct mf_node *a = mf_node_at(l.items, k);
		char *full = gs_asprintf("%s/%s", mf_obj_namespace(a), mf_obj_name(a));
		char *repo = gitsrc_url_redact(app_repo(a));

		printf("%-32s %-16s %-48s %-24s %-12s %-10s %-12s %s", full,
		       s_or(app_dest_namespace(a), ""), repo, s_or(app_path(a), "."),
		       s_or(app_revision(a), "HEAD"),
		       s_or(mf_node_dig_str(a, "status", "sync", "status", NULL), "Unknown"),
		       s_or(mf_node_dig_str(a, "status", "health", "status", NULL), "Unknown"),
		       app_sync_policy_str(a));
		if (c.output)
			printf("  %.7s", s_or(mf_node_dig_str(a, "status", "sync", "revision", NULL), ""));
		putchar('\n');
		free(repo);
		free(full);
	}
cleanup:
	mf_node_free(l.items);
	app_cli_release(&c);
	return rc;
}

/* ---- get ---- */

static int app_get_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app get" };
	struct gs_error err = GS_ERROR_INIT;
	struct sync_report rep = SYNC_REPORT_INIT;
	struct app_sync_req req = { 0 };
	struct mf_node *app = NULL, *fresh = NULL;
	bool refresh = false, hard = false;
	char *rev = NULL;
	int i, rc = CLI_EXIT_OK;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if (!strcmp(argv[i], "--refresh"))
			refresh = true;
		else if (!strcmp(argv[i], "--hard-refresh"))
			refresh = hard = true;
		else if (argv[i][0] == '-')
			return cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
		else
			add_pos(&c, argv[i]);
	}
	if (c.npos != 1) {
		free(c.pos);
		return cli_usage_error(c.cmd,
				       "usage: gitsync app get NAME [--refresh|--hard-refresh] [-o json|yaml]");
	}
	if (connect_cluster(&c, true, &err) < 0 || app_get(&app, c.kc, c.ns, c.pos[0], &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	/* Without --refresh, compare at the commit last recorded (no ls-remote). */
	if (!refresh)
		req.revision = mf_node_dig_str(app, "status", "sync", "revision", NULL);
	req.hard_refresh = hard;
	if (app_compare(&rep, &rev, &c.env, app, &req, 0, refresh, &err) < 0) {
		if (!c.output || strcmp(c.output, "json")) {
			print_header(&c, app);
		}
		rc = cli_error(&err);
		goto cleanup;
	}
	if (refresh && app_get(&fresh, c.kc, c.ns, c.pos[0], &err) == 0) {
		mf_node_free(app);
		app = fresh;
	}
	if (c.output && (!strcmp(c.output, "json") || !strcmp(c.output, "yaml"))) {
		redact_repo(app);
		emit_node(app, c.output);
		goto cleanup;
	}
	print_header(&c, app);
	print_sync_status(app, app_sync_status_str(rep.status),
			  app_health_str(rep.health), rev);
	print_conditions(mf_node_get(app, "status"));
	print_resource_table(&rep);
cleanup:
	free(rev);
	sync_report_release(&rep);
	mf_node_free(app);
	app_cli_release(&c);
	return rc;
}

/* ---- delete ---- */

static int app_delete_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app delete" };
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *app = NULL;
	bool cascade = true;
	int i, rc = CLI_EXIT_OK;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if (!strcmp(argv[i], "--cascade") || !strcmp(argv[i], "--cascade=true"))
			cascade = true;
		else if (!strcmp(argv[i], "--cascade=false"))
			cascade = false;
		else if (!strcmp(argv[i], "-y") || !strcmp(argv[i], "--yes"))
			;
		else if (argv[i][0] == '-')
			return cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
		else
			add_pos(&c, argv[i]);
	}
	if (c.npos != 1) {
		free(c.pos);
		return cli_usage_error(c.cmd, "usage: gitsync app delete NAME [--cascade=false]");
	}
	if (connect_cluster(&c, false, &err) < 0 || app_get(&app, c.kc, c.ns, c.pos[0], &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	if (cascade) {
		/* an empty desired set with prune deletes exactly what the app tracks */
		struct sync_report rep = SYNC_REPORT_INIT;
		struct app_sync_opts so;

		app_sync_opts_init(&so, app);
		so.o.flags = SYNC_PRUNE | SYNC_FULL_SCAN | SYNC_ALLOW_EMPTY;
		if (sync_run(c.env.se, &rep, NULL, 0, &so.o, &err) < 0 ||
		    rep.phase != SYNC_PHASE_SUCCEEDED) {
			if (!err.code)
				gs_error_set(&err, GS_ERR, "cannot delete the resources of '%s': %s",
					     c.pos[0], s_or(rep.message, "prune failed"));
			rc = cli_error(&err);
		}
		app_sync_opts_release(&so);
		sync_report_release(&rep);
		if (rc)
			goto cleanup;
	}
	if (app_delete(c.kc, c.ns, c.pos[0], cascade, &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	printf("application '%s' deleted\n", c.pos[0]);
cleanup:
	mf_node_free(app);
	app_cli_release(&c);
	return rc;
}

/* ---- sync / rollback ---- */

static void print_op_summary(struct app_cli *c, const struct mf_node *app,
			     const struct sync_report *rep, const char *rev)
{
	char s[32], f[32];

	putchar('\n');
	print_header(c, app);
	print_sync_status(app, app_sync_status_str(rep->status),
			  app_health_str(rep->health), rev);
	printf("\n%-15s%s\n", "Operation:", "Sync");
	printf("%-15s%s\n", "Sync Revision:", s_or(rev, ""));
	printf("%-15s%s\n", "Phase:", sync_phase_str(rep->phase));
	printf("%-15s%s\n", "Start:", app_time_str(s, sizeof(s), rep->started));
	printf("%-15s%s\n", "Finished:", app_time_str(f, sizeof(f), rep->finished));
	printf("%-15s%.0fs\n", "Duration:", rep->finished - rep->started);
	printf("%-15s%s\n", "Message:", s_or(rep->message, ""));
	print_resource_table(rep);
}

/* Follow an operation run by the agent until it finishes (or timeout). */
static int follow_agent(struct app_cli *c, const char *name, double timeout_s, struct gs_error *err)
{
	double deadline = now_s() + (timeout_s > 0 ? timeout_s : 600);

	while (now_s() < deadline) {
		struct mf_node *app = NULL;
		const char *phase;
		bool pending;
		int r;

		if ((r = app_get(&app, c->kc, c->ns, name, err)) < 0)
			return r;
		pending = mf_node_get(app, "operation") != NULL;
		phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);
		if (!pending && phase && strcmp(phase, "Running")) {
			const char *msg = mf_node_dig_str(app, "status", "operationState", "message", NULL);

			printf("%-15s%s\n%-15s%s\n", "Phase:", phase, "Message:", s_or(msg, ""));
			r = strcmp(phase, "Succeeded") ? gs_error_set(err, GS_ERR, "operation %s: %s",
								       phase, s_or(msg, ""))
						       : GS_OK;
			mf_node_free(app);
			return r;
		}
		mf_node_free(app);
		sleep(1);
	}
	return gs_error_set(err, GS_ERR, "timed out waiting for the agent to run the operation");
}

static int do_sync(struct app_cli *c, struct mf_node *app, struct app_sync_req *req, bool async)
{
	struct gs_error err = GS_ERROR_INIT;
	struct sync_report rep = SYNC_REPORT_INIT;
	struct mf_node *op = NULL;
	const char *name = mf_obj_name(app);
	char *rev = NULL;
	int rc = CLI_EXIT_OK;

	if (!req->dry_run && !req->local_dir && app_agent_running(c->kc, c->ns)) {
		struct mf_node *s;

		op = mf_node_new(MF_MAP);
		s = mf_node_ensure(mf_node_ensure(op, "operation", MF_MAP), "sync", MF_MAP);
		if (req->revision)
			mf_node_set_str_value(s, "revision", req->revision);
		mf_node_set(s, "prune", mf_node_new_bool(req->prune));
		if (req->allow_empty)
			mf_node_set(s, "allowEmpty", mf_node_new_bool(true));
		mf_node_set_str_value(mf_node_ensure(mf_node_get(op, "operation"), "initiatedBy",
						     MF_MAP), "username", "gitsync-cli");
		if (app_patch(c->kc, c->ns, name, op, &err) < 0) {
			rc = cli_error(&err);
			goto cleanup;
		}
		printf("operation requested: the agent runs it\n");
		if (!async && follow_agent(c, name, req->timeout_s, &err) < 0)
			rc = cli_error(&err);
		goto cleanup;
	}
	cli_print_progress_header(stdout);
	if (app_run_sync(&rep, &rev, &c->env, app, req, cli_print_progress_line, stdout, &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	print_op_summary(c, app, &rep, rev);
	if (rep.phase != SYNC_PHASE_SUCCEEDED)
		rc = CLI_EXIT_ERROR;
cleanup:
	free(rev);
	mf_node_free(op);
	sync_report_release(&rep);
	return rc;
}

static int app_sync_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app sync" };
	struct gs_error err = GS_ERROR_INIT;
	struct app_sync_req req = { 0 };
	struct mf_node *app = NULL;
	const char **res = NULL;
	bool async = false;
	size_t nres = 0;
	int i, rc;
	const char *v;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if ((v = opt_val(argc, argv, &i, "--revision")))
			req.revision = v;
		else if ((v = opt_val(argc, argv, &i, "--resource"))) {
			res = gs_realloc(res, (nres + 1) * sizeof(*res));
			res[nres++] = v;
		} else if ((v = opt_val(argc, argv, &i, "--timeout"))) {
			req.timeout_s = agent_parse_duration(v);
			if (req.timeout_s < 0) {
				free(res);
				return cli_usage_error(c.cmd, "invalid duration '%s'", v);
			}
		} else if (!strcmp(argv[i], "--prune"))
			req.prune = true;
		else if (!strcmp(argv[i], "--allow-empty"))
			req.allow_empty = true;
		else if (!strcmp(argv[i], "--dry-run"))
			req.dry_run = true;
		else if (!strcmp(argv[i], "--async"))
			async = true;
		else if (argv[i][0] == '-') {
			free(res);
			return cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
		} else
			add_pos(&c, argv[i]);
	}
	req.resources = res;
	req.n_resources = nres;
	if (c.npos != 1) {
		rc = cli_usage_error(c.cmd, "usage: gitsync app sync NAME [--revision R] [--prune] ...");
		goto cleanup;
	}
	if (connect_cluster(&c, true, &err) < 0 || app_get(&app, c.kc, c.ns, c.pos[0], &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	rc = do_sync(&c, app, &req, async);
cleanup:
	free(res);
	mf_node_free(app);
	app_cli_release(&c);
	return rc;
}

static int app_rollback_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app rollback" };
	struct gs_error err = GS_ERROR_INIT;
	struct app_sync_req req = { 0 };
	struct mf_node *app = NULL, *patch = NULL;
	const char *rev;
	char *end = NULL;
	long long id = 0;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if (!strcmp(argv[i], "--prune"))
			req.prune = true;
		else if (argv[i][0] == '-')
			return cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
		else
			add_pos(&c, argv[i]);
	}
	if (c.npos == 2)
		id = strtoll(c.pos[1], &end, 10);
	if (c.npos != 2 || !end || *end || id <= 0) {
		free(c.pos);
		return cli_usage_error(c.cmd, "usage: gitsync app rollback NAME ID");
	}
	if (connect_cluster(&c, true, &err) < 0 || app_get(&app, c.kc, c.ns, c.pos[0], &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	rev = app_history_revision(app, id);
	if (!rev) {
		gs_error_set(&err, GS_ENOTFOUND, "application '%s' has no history entry %lld",
			     c.pos[0], id);
		rc = cli_error(&err);
		goto cleanup;
	}
	if (app_automated(app)) {
		/* as Argo CD does: automated sync would undo the rollback at once */
		patch = mf_node_new(MF_MAP);
		mf_node_set(mf_node_ensure(mf_node_ensure(patch, "spec", MF_MAP), "syncPolicy", MF_MAP),
			    "automated", mf_node_new_null());
		if (app_patch(c.kc, c.ns, c.pos[0], patch, &err) < 0) {
			rc = cli_error(&err);
			goto cleanup;
		}
		mf_node_remove(mf_node_dig(app, "spec", "syncPolicy", NULL), "automated");
	}
	req.revision = rev;
	rc = do_sync(&c, app, &req, false);
cleanup:
	mf_node_free(patch);
	mf_node_free(app);
	app_cli_release(&c);
	return rc;
}

/* ---- history ---- */

static int app_history_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app history" };
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *app = NULL;
	const struct mf_node *hist;
	int i, rc = CLI_EXIT_OK;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if (argv[i][0] == '-')
			return cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
		add_pos(&c, argv[i]);
	}
	if (c.npos != 1) {
		free(c.pos);
		return cli_usage_error(c.cmd, "usage: gitsync app history NAME");
	}
	if (connect_cluster(&c, false, &err) < 0 || app_get(&app, c.kc, c.ns, c.pos[0], &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	gitsrc_node_redact(app); /* history holds repoURLs */
	hist = mf_node_dig(app, "status", "history", NULL);
	if (c.output && (!strcmp(c.output, "json") || !strcmp(c.output, "yaml"))) {
		struct mf_node *empty = mf_node_new(MF_SEQ);

		emit_node(hist ? hist : empty, c.output);
		mf_node_free(empty);
		goto cleanup;
	}
	printf("%-4s %-22s %-12s %s\n", "ID", "DATE", "TARGET", "REVISION");
	for (k = 0; k < mf_node_len(hist); k++) {
		const struct mf_node *h = mf_node_at(hist, k);

		printf("%-4s %-22s %-12s %s\n", s_or(mf_node_str(mf_node_get(h, "id")), ""),
		       s_or(mf_node_dig_str(h, "deployedAt", NULL), ""),
		       s_or(mf_node_dig_str(h, "source", "targetRevision", NULL), "HEAD"),
		       s_or(mf_node_dig_str(h, "revision", NULL), ""));
	}
cleanup:
	mf_node_free(app);
	app_cli_release(&c);
	return rc;
}

/* ---- diff ---- */

static int app_diff_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app diff" };
	struct gs_error err = GS_ERROR_INIT;
	struct sync_report rep = SYNC_REPORT_INIT;
	struct app_sync_req req = { 0 };
	struct mf_node *app = NULL;
	bool different = false;
	int i, rc = CLI_EXIT_OK;
	const char *v;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if ((v = opt_val(argc, argv, &i, "--local")))
			req.local_dir = v;
		else if ((v = opt_val(argc, argv, &i, "--revision")))
			req.revision = v;
		else if (!strcmp(argv[i], "--refresh"))
			; /* diff always resolves the revision in Git */
		else if (!strcmp(argv[i], "--hard-refresh"))
			req.hard_refresh = true;
		else if (argv[i][0] == '-')
			return cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
		else
			add_pos(&c, argv[i]);
	}
	if (c.npos != 1) {
		free(c.pos);
		return cli_usage_error(c.cmd, "usage: gitsync app diff NAME [--local PATH]");
	}
	if (connect_cluster(&c, true, &err) < 0 || app_get(&app, c.kc, c.ns, c.pos[0], &err) < 0 ||
	    app_compare(&rep, NULL, &c.env, app, &req, SYNC_KEEP_DIFF, false, &err) < 0) {
		rc = cli_error(&err);
		rc = CLI_EXIT_DIFF_ERROR;
		goto cleanup;
	}
	for (k = 0; k < rep.n; k++) {
		const struct sync_resource *r = &rep.v[k];
		struct gs_buf b = GS_BUF_INIT;
		char *label;

		if (r->status == SYNC_STATUS_SYNCED)
			continue;
		different = true;
		label = gs_asprintf("%s%s%s %s%s%s", r->group, *r->group ? "/" : "", r->kind, r->ns,
				    *r->ns ? "/" : "", r->name);
		printf("===== %s ======\n", label);
		mf_diff_text(&b, r->live, r->target, "live", "target", 0);
		fwrite(b.ptr, 1, b.len, stdout);
		gs_buf_release(&b);
		free(label);
	}
	if (different)
		rc = CLI_EXIT_ERROR;
cleanup:
	sync_report_release(&rep);
	mf_node_free(app);
	app_cli_release(&c);
	return rc;
}

/* ---- manifests ---- */

/* The objects an app would apply, rendered from Git: the app's own source,
 * or one given with --repo/--path/--revision (no cluster needed then, which
 * is also what bench/bench-git.sh times: fetch + export + render). */
static int app_manifests_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app manifests" };
	struct gs_error err = GS_ERROR_INIT;
	struct app_source src = APP_SOURCE_INIT;
	struct app_params p = { 0 };
	struct mf_node *app = NULL;
	struct gs_buf buf = GS_BUF_INIT;
	const char *revision = NULL, *v;
	unsigned flags = 0;
	int i, rc = CLI_EXIT_OK;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if ((v = opt_val(argc, argv, &i, "--repo")))
			p.repo_url = v;
		else if ((v = opt_val(argc, argv, &i, "--path")))
			p.path = v;
		else if ((v = opt_val(argc, argv, &i, "--revision")))
			revision = v;
		else if (!strcmp(argv[i], "--directory-recurse"))
			p.recurse = true;
		else if (!strcmp(argv[i], "--hard-refresh"))
			flags = GITSRC_FETCH_ALWAYS | GITSRC_REEXPORT;
		else if (argv[i][0] == '-')
			return cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
		else
			add_pos(&c, argv[i]);
	}
	if ((c.npos == 1) == (p.repo_url != NULL) || (c.npos && (p.path || p.recurse))) {
		free(c.pos);
		return cli_usage_error(c.cmd, "usage: gitsync app manifests NAME | --repo URL "
					      "[--path P] [--revision R]");
	}
	if (c.output && strcmp(c.output, "yaml")) {
		free(c.pos);
		return cli_usage_error(c.cmd, "unknown output format '%s' (yaml)", c.output);
	}
	if (p.repo_url) {
		const char *cache = getenv("GITSYNC_CACHE_DIR");
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
		char *dflt = NULL;

		if (!cache)
			cache = dflt = xdg && *xdg ? gs_asprintf("%s/gitsync/git", xdg)
						   : gs_asprintf("%s/.cache/gitsync/git",
								 home ? home : "/tmp");
		rc = gitsrc_new(&c.git, cache, &err);
		free(dflt);
		if (rc < 0) {
			rc = cli_error(&err);
			goto cleanup;
		}
		c.env.git = c.git; /* no cluster: credentials from the environment */
		c.env.ns = APP_DEFAULT_NAMESPACE;
		p.revision = revision;
		app = app_object_new(APP_DEFAULT_NAMESPACE, "manifests", &p);
	} else if (connect_cluster(&c, true, &err) < 0 ||
		   app_get(&app, c.kc, c.ns, c.pos[0], &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	if (app_source_load(&src, &c.env, app, revision, NULL, flags, &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	for (k = 0; k < src.n; k++) {
		if (k)
			gs_buf_puts(&buf, "---\n");
		if (mf_yaml_emit(&buf, src.objs[k], MF_EMIT_SORT_KEYS) < 0) {
			gs_error_set(&err, GS_ERR, "cannot encode the output as YAML");
			rc = cli_error(&err);
			goto cleanup;
		}
	}
	if (fwrite(buf.ptr, 1, buf.len, stdout) != buf.len || fflush(stdout) != 0) {
		gs_error_set(&err, GS_EIO, "cannot write the output");
		rc = cli_error(&err);
	}
cleanup:
	gs_buf_release(&buf);
	app_source_release(&src);
	mf_node_free(app);
	app_cli_release(&c);
	return rc;
}

/* ---- wait ---- */

static int app_wait_cmd(int argc, char **argv)
{
	struct app_cli c = { .cmd = "app wait" };
	struct gs_error err = GS_ERROR_INIT;
	bool want_sync = false, want_health = false, want_op = false, degraded = false;
	double timeout = 0, deadline;
	int i, rc = CLI_EXIT_OK;
	const char *v;
	char *pinned = NULL;

	for (i = 1; i < argc; i++) {
		if (common_opt(&c, argc, argv, &i))
			continue;
		if ((v = opt_val(argc, argv, &i, "--timeout"))) {
			timeout = agent_parse_duration(v);
			if (timeout < 0)
				return cli_usage_error(c.cmd, "invalid duration '%s'", v);
		} else if (!strcmp(argv[i], "--sync"))
			want_sync = true;
		else if (!strcmp(argv[i], "--health"))
			want_health = true;
		else if (!strcmp(argv[i], "--operation"))
			want_op = true;
		else if (!strcmp(argv[i], "--degraded"))
			degraded = true;
		else if (argv[i][0] == '-')
			return cli_usage_error(c.cmd, "unknown option '%s'", argv[i]);
		else
			add_pos(&c, argv[i]);
	}
	if (c.npos != 1) {
		free(c.pos);
		return cli_usage_error(c.cmd, "usage: gitsync app wait NAME [--sync] [--health] ...");
	}
	if (!want_sync && !want_health && !want_op && !degraded)
		want_sync = want_health = want_op = true; /* argocd's default */
	if (connect_cluster(&c, true, &err) < 0) {
		rc = cli_error(&err);
		goto cleanup;
	}
	deadline = now_s() + (timeout > 0 ? timeout : 1e9);
	for (;;) {
		struct mf_node *app = NULL;
		struct sync_report rep = SYNC_REPORT_INIT;
		struct app_sync_req req = { 0 };
		const char *st = NULL, *health = NULL, *phase;
		bool agent = app_agent_running(c.kc, c.ns), ok;

		if (app_get(&app, c.kc, c.ns, c.pos[0], &err) < 0) {
			rc = cli_error(&err);
			goto cleanup;
		}
		phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);
		if (!agent) {
			/* nobody else keeps status fresh: compare here, at the commit
			 * resolved on the first round */
			req.revision = pinned;
			if (app_compare(&rep, pinned ? NULL : &pinned, &c.env, app, &req, 0, true,
					&err) < 0) {
				mf_node_free(app);
				rc = cli_error(&err);
				goto cleanup;
			}
			st = app_sync_status_str(rep.status);
			health = app_health_str(rep.health);
		} else {
			st = mf_node_dig_str(app, "status", "sync", "status", NULL);
			health = mf_node_dig_str(app, "status", "health", "status", NULL);
		}
		ok = (!want_sync || (st && !strcmp(st, "Synced"))) &&
		     (!want_health || (health && !strcmp(health, "Healthy"))) &&
		     (!degraded || (health && !strcmp(health, "Degraded"))) &&
		     (!want_op || (!mf_node_get(app, "operation") &&
				   (!phase || strcmp(phase, "Running"))));
		if (ok) {
			printf("application '%s': sync %s, health %s\n", c.pos[0], s_or(st, "Unknown"),
			       s_or(health, "Unknown"));
			print_resource_table(&rep);
		} else if (!degraded && health && !strcmp(health, "Degraded")) {
			gs_error_set(&err, GS_ERR, "application '%s' health is Degraded", c.pos[0]);
			print_resource_table(&rep);
			rc = cli_error(&err);
		} else if (now_s() >= deadline) {
			gs_error_set(&err, GS_ERR,
				     "timed out after %.0fs waiting for application '%s' (sync %s, "
				     "health %s)",
				     timeout, c.pos[0], s_or(st, "Unknown"), s_or(health, "Unknown"));
			print_resource_table(&rep);
			rc = cli_error(&err);
		}
		sync_report_release(&rep);
		mf_node_free(app);
		if (ok || rc)
			break;
		sleep(1);
	}
cleanup:
	free(pinned);
	app_cli_release(&c);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gitsync app <command> [options]\n\n"
		"  create NAME --repo URL [--path P] [--revision R] --dest-namespace NS\n"
		"         [--sync-policy automated] [--auto-prune] [--self-heal]\n"
		"         [--sync-option K=V]... [--repo-secret SECRET] [--upsert]\n"
		"  list [-o wide|json|yaml]\n"
		"  get NAME [--refresh|--hard-refresh] [-o json|yaml]\n"
		"  diff NAME [--local PATH] [--revision R]     exit 1 when different\n"
		"  sync NAME [--revision R] [--prune] [--dry-run] [--resource GROUP:KIND:NAME]...\n"
		"       [--timeout D] [--async]\n"
		"  wait NAME [--sync] [--health] [--operation] [--degraded] [--timeout D]\n"
		"  history NAME\n"
		"  rollback NAME ID\n"
		"  manifests NAME|--repo URL [--path P] [--revision R]   rendered objects\n"
		"  delete NAME [--cascade=false]\n\n"
		"run 'gitsync app <command> --help' for the options and examples of one command\n\n"
		COMMON_HELP
		"\nexamples:\n"
		"  gitsync app create pg --repo https://git.example.com/pg.git --path manifests \\\n"
		"      --revision poc-argocd --dest-namespace default\n"
		"  gitsync app sync pg && gitsync app wait pg --health --timeout 5m\n");
}

int cmd_app(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
		const char *help;
	} subs[] = {
		{ "create", app_create_cmd, help_create },
		{ "list", app_list_cmd, help_list },
		{ "get", app_get_cmd, help_get },
		{ "delete", app_delete_cmd, help_delete },
		{ "sync", app_sync_cmd, help_sync },
		{ "wait", app_wait_cmd, help_wait },
		{ "diff", app_diff_cmd, help_diff },
		{ "history", app_history_cmd, help_history },
		{ "rollback", app_rollback_cmd, help_rollback },
		{ "manifests", app_manifests_cmd, help_manifests },
	};
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name)) {
			if (cli_wants_help(argc - 1, argv + 1)) {
				fputs(subs[i].help, stdout);
				return CLI_EXIT_OK;
			}
			return subs[i].fn(argc - 1, argv + 1);
		}
	return cli_usage_error("app", "unknown command '%s'", argv[1]);
}
