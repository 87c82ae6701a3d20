/* cmd-sync.c - `gitsync sync PATH --app NAME`: converge a cluster on a local
 * path and stream what happens, like `argocd app sync`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/cli-sync.h"
#include "cli/cli.h"
#include "loop/agent.h"
#include "gs-alloc.h"
#include "gs-time.h"

static bool valid_duration(const char *v)
{
	return gs_time_parse_duration(v) >= 0;
}

static const struct cli_opt sync_opts[] = {
	{ "app", 0, CLI_OPT_STRING, "NAME", "application name (tracking label), required", NULL, NULL,
	  NULL },
	{ "namespace", 'n', CLI_OPT_STRING, "NS",
	  "namespace for namespaced objects without one (default: the\ncontext's namespace)", NULL,
	  NULL, NULL },
	{ "prune", 0, CLI_OPT_BOOL, NULL, "delete objects of the app that left PATH", NULL, NULL,
	  NULL },
	{ "allow-empty", 0, CLI_OPT_BOOL, NULL,
	  "with --prune, prune even when PATH has no objects\n"
	  "(else such a sync deletes nothing and fails)", NULL, NULL, NULL },
	{ "dry-run", 0, CLI_OPT_BOOL, NULL, "validate and report, write nothing", NULL, NULL, NULL },
	{ "timeout", 0, CLI_OPT_STRING, "D",
	  "wait up to D (90s, 5m) for every object to become healthy;\n"
	  "the sync fails when they are not", NULL, NULL, valid_duration },
	{ "sync-option", 0, CLI_OPT_LIST, "K=V",
	  "Prune=false, PruneLast=true, Replace=true (PUT),\n"
	  "Force=true,Replace=true (delete, create; never for\n"
	  "Namespaces and CRDs), ApplyOutOfSyncOnly=false, CreateNamespace=true; repeatable", NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd sync_cmd = {
	"sync",
	"PATH --app NAME [--namespace NS] [--prune] [--dry-run]\n"
	"                    [--timeout D] [--sync-option K=V]... [--kubeconfig F] [--context C]",
	"Render PATH (a kustomization, a directory of manifests or a file) and apply it\n"
	"with server-side apply (field manager gitsync): Namespaces and CRDs first, then\n"
	"hooks, sync waves and Kubernetes' kind order.  Every object is validated by a\n"
	"dry-run before anything is written.  Objects get the label gitsync.io/app=NAME\n"
	"and the annotation gitsync.io/tracking-id.\n",
	sync_opts, "cluster options", cli_cluster_opts,
	"\nExit status: 0 when the sync succeeded, 1 otherwise.\n", 1, 1,
};

static void print_summary(const char *app, const struct sync_report *rep)
{
	char a[40], b[40];

	printf("\nName:               %s\n", app);
	printf("Operation:          Sync\n");
	printf("Phase:              %s\n", sync_phase_str(rep->phase));
	printf("Start:              %s\n", cli_format_time(a, sizeof(a), rep->started));
	printf("Finished:           %s\n", cli_format_time(b, sizeof(b), rep->finished));
	printf("Duration:           %.0fs\n", rep->finished - rep->started);
	printf("Sync Status:        %s\n", sync_status_str(rep->status));
	printf("Health Status:      %s\n",
	       rep->health ? sync_health_str(rep->health) : "Healthy");
	printf("Requests:           %lu\n", rep->requests);
	printf("Message:            %s\n\n", rep->message ? rep->message : "");
}

int cmd_sync(int argc, char **argv)
{
	struct cli_cluster cl = { 0 };
	struct kz_output out = KZ_OUTPUT_INIT;
	struct sync_report rep = SYNC_REPORT_INIT;
	struct sync_options so;
	struct sync_engine *se = NULL;
	struct gs_error err = GS_ERROR_INIT;
	struct cli_args args = CLI_ARGS_INIT;
	const char *path = NULL, *app = NULL, *ns = NULL;
	const char *const *sopts = NULL;
	size_t nsopts = 0;
	double timeout = 0;
	unsigned flags = 0;
	int rc, ret;

	if ((ret = cli_opt_parse(&args, &sync_cmd, argc, argv)) || args.help)
		goto cleanup;
	ret = CLI_EXIT_ERROR;
	path = args.pos[0];
	app = cli_args_str(&args, "app");
	ns = cli_args_str(&args, "namespace");
	cl.kubeconfig = cli_args_str(&args, "kubeconfig");
	cl.context = cli_args_str(&args, "context");
	if (cli_args_bool(&args, "prune"))
		flags |= SYNC_PRUNE | SYNC_FULL_SCAN;
	if (cli_args_bool(&args, "allow-empty"))
		flags |= SYNC_ALLOW_EMPTY;
	if (cli_args_bool(&args, "dry-run"))
		flags |= SYNC_DRY_RUN;
	timeout = cli_args_str(&args, "timeout") ? gs_time_parse_duration(cli_args_str(&args, "timeout"))
						  : 0;
	sopts = cli_args_list(&args, "sync-option", &nsopts);
	if (!app) {
		ret = cli_usage_error("sync", "--app NAME is required");
		goto cleanup;
	}
	if (timeout > 0)
		flags |= SYNC_WAIT_HEALTHY;
	if (cli_render_path(&out, path, &err) < 0 || cli_cluster_connect(&cl, &err) < 0) {
		ret = cli_error(&err);
		goto cleanup;
	}
	memset(&so, 0, sizeof(so));
	so.app = app;
	so.ns = ns ? ns : cl.cfg->namespace;
	so.flags = flags | SYNC_TAKE_INPUT;
	so.timeout_s = timeout;
	so.sync_options = sopts;
	so.n_sync_options = nsopts;
	so.progress = cli_print_progress_line;
	so.payload = stdout;
	se = sync_engine_new(cl.kc);
	cli_print_progress_header(stdout);
	rc = sync_run(se, &rep, out.docs.docs, out.docs.n, &so, &err);
	out.docs.n = 0; /* the objects were taken by the run */
	if (rc < 0) {
		print_summary(app, &rep);
		ret = cli_error(&err);
		goto cleanup;
	}
	print_summary(app, &rep);
	cli_print_resource_table(stdout, &rep);
	if (getenv("GITSYNC_STATS")) {
		const struct kube_client_stats *st = kube_client_stats(cl.kc);

		fprintf(stderr, "requests=%lu retries=%lu get=%lu list=%lu patch=%lu delete=%lu "
				"discovery=%lu throttled_ms=%lu\n",
			st->requests, st->retries, st->get, st->list, st->patch, st->del,
			st->discovery, st->throttled_ms);
	}
	ret = rep.phase == SYNC_PHASE_SUCCEEDED ? CLI_EXIT_OK : CLI_EXIT_ERROR;
cleanup:
	sync_report_release(&rep);
	sync_engine_free(se);
	cli_cluster_release(&cl);
	kz_output_release(&out);
	cli_args_release(&args);
	curl_global_cleanup();
	return ret;
}
