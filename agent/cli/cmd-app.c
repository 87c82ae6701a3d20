/* cmd-app.c - `gitsync app ...`: the subcommand table, the options every
 * subcommand shares, and the choice of transport (app.h).
 *
 * The subcommands live in app-read.c (list, get, history, manifests),
 * app-ops.c (sync, wait, diff, rollback) and app-admin.c (create, delete);
 * each is one `struct cli_cmd` (its options, help and examples) run against
 * the kubeconfig backend (app-local.c) or the agent's API (app-remote.c).
 */
#include "cli/app.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const struct cli_opt app_common_opts[] = {
	{ "kubeconfig", 0, CLI_OPT_STRING, "FILE",
	  "kubeconfig to use (default $KUBECONFIG, ~/.kube/config)", NULL, NULL, NULL },
	{ "context", 0, CLI_OPT_STRING, "NAME", "kubeconfig context", NULL, NULL, NULL },
	{ "app-namespace", 'N', CLI_OPT_STRING, "NS",
	  "namespace of the Application objects (default 'gitsync',\nor $GITSYNC_APP_NAMESPACE)",
	  NULL, NULL, NULL },
	{ "server", 0, CLI_OPT_STRING, "URL",
	  "the agent's API instead of the cluster (default\n$GITSYNC_SERVER)", NULL, NULL, NULL },
	{ "auth-token", 0, CLI_OPT_STRING, "TOKEN",
	  "API token (default $GITSYNC_AUTH_TOKEN; see `gitsync token`)", NULL, NULL, NULL },
	{ "server-ca", 0, CLI_OPT_STRING, "FILE",
	  "CA bundle for the agent's certificate ($GITSYNC_SERVER_CA)", NULL, NULL, NULL },
	{ "insecure", 0, CLI_OPT_BOOL, NULL,
	  "do not verify the agent's certificate ($GITSYNC_INSECURE)", NULL, NULL, NULL },
	{ "plaintext", 0, CLI_OPT_BOOL, NULL, "plain HTTP to the agent ($GITSYNC_PLAINTEXT)", NULL,
	  NULL, NULL },
	CLI_OPT_END,
};

static const struct app_sub *const subs[] = {
	&app_sub_create, &app_sub_set,      &app_sub_list,     &app_sub_get,      &app_sub_delete,
	&app_sub_sync,   &app_sub_wait,     &app_sub_diff,     &app_sub_history,
	&app_sub_rollback, &app_sub_manifests, &app_sub_resources, &app_sub_terminate,
};
#define NSUBS (sizeof(subs) / sizeof(subs[0]))

int app_be_open(struct app_be **out, const struct cli_args *a, struct gs_error *err)
{
	const char *env = getenv("GITSYNC_SERVER");

	if (cli_args_str(a, "server") || (env && *env))
		return app_be_remote_new(out, a, err);
	return app_be_local_new(out, a, err);
}

void app_be_free(struct app_be *b)
{
	if (b)
		b->ops->free(b);
}

/* `gitsync app --help`: one line per subcommand, from the table */
static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: gitsync app <command> [options]\n\n");
	for (i = 0; i < NSUBS; i++)
		fprintf(f, "  %-9s %s\n", subs[i]->name, subs[i]->cmd->synopsis);
	fprintf(f, "\nrun 'gitsync app <command> --help' for the options and examples of one "
		   "command\n\n");
	cli_opt_help_group(f, "common options", app_common_opts);
	fprintf(f, "\n" APP_ENV_HELP "\nexamples:\n"
		   "  gitsync app create pg --repo https://git.example.com/pg.git --path manifests \\\n"
		   "      --revision poc-argocd --dest-namespace default\n"
		   "  gitsync app sync pg && gitsync app wait pg --health --timeout 5m\n");
}

int cmd_app(int argc, char **argv)
{
	struct cli_args a = CLI_ARGS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct app_be *b = NULL;
	const struct app_sub *sub = NULL;
	size_t i;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	for (i = 0; i < NSUBS; i++)
		if (!strcmp(argv[1], subs[i]->name))
			sub = subs[i];
	if (!sub)
		return cli_usage_error("app", "unknown command '%s'", argv[1]);
	rc = cli_opt_parse(&a, sub->cmd, argc - 1, argv + 1);
	if (rc || a.help)
		goto cleanup;
	if (!(sub->no_backend && !a.npos) && app_be_open(&b, &a, &err)) {
		rc = cli_error(&err);
		goto cleanup;
	}
	rc = sub->run(b, &a);
cleanup:
	app_be_free(b);
	cli_args_release(&a);
	return rc;
}
