/* cmd-diff.c - `gitsync diff PATH --app NAME`: what a sync would change,
 * as unified YAML diffs of what the server would store (server-side apply
 * dry-run, so defaulted fields never show) against the live objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/cli-sync.h"
#include "cli/cli.h"
#include "gs-alloc.h"
#include "mf-diff.h"

static const struct cli_opt diff_opts[] = {
	{ "app", 0, CLI_OPT_STRING, "NAME", "application name (tracking label), required", NULL, NULL,
	  NULL },
	{ "namespace", 'n', CLI_OPT_STRING, "NS",
	  "namespace for namespaced objects without one (default: the\ncontext's namespace)", NULL,
	  NULL, NULL },
	{ "show-secrets", 0, CLI_OPT_BOOL, NULL, "show Secret values instead of masking them", NULL,
	  NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd diff_cmd = {
	"diff", "PATH --app NAME [--namespace NS] [--show-secrets] [--kubeconfig F] [--context C]",
	"Compare PATH with the live cluster.  Prints a unified diff per object that is\n"
	"out of sync (Secret values masked unless --show-secrets), then the table\n"
	"GROUP KIND NAMESPACE NAME STATUS HEALTH, where STATUS is Synced, OutOfSync,\n"
	"Missing (not in the cluster) or Prune (the app's, gone from PATH).\n",
	diff_opts, "cluster options", cli_cluster_opts,
	"\nExit status: 0 in sync, 1 differences, 2 error.\n", 1, 1,
};

static char *label(const char *side, const struct sync_resource *r)
{
	return gs_asprintf("%s/%s%s%s/%s%s%s", side, r->group, r->group[0] ? "/" : "", r->kind,
			   r->ns, r->ns[0] ? "/" : "", r->name);
}

int cmd_diff(int argc, char **argv)
{
	struct cli_cluster cl = { 0 };
	struct kz_output out = KZ_OUTPUT_INIT;
	struct sync_report rep = SYNC_REPORT_INIT;
	struct sync_options so;
	struct sync_engine *se = NULL;
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf text = GS_BUF_INIT;
	struct cli_args args = CLI_ARGS_INIT;
	const char *path = NULL, *app = NULL, *ns = NULL;
	unsigned dflags = 0;
	bool different = false, failed = false;
	size_t k;
	int rc, ret;

	if ((ret = cli_opt_parse(&args, &diff_cmd, argc, argv)) || args.help)
		goto cleanup;
	ret = CLI_EXIT_DIFF_ERROR;
	path = args.pos[0];
	app = cli_args_str(&args, "app");
	ns = cli_args_str(&args, "namespace");
	cl.kubeconfig = cli_args_str(&args, "kubeconfig");
	cl.context = cli_args_str(&args, "context");
	if (cli_args_bool(&args, "show-secrets"))
		dflags |= MF_DIFF_SHOW_SECRETS;
	if (!app) {
		ret = cli_usage_error("diff", "--app NAME is required");
		goto cleanup;
	}
	if (cli_render_path(&out, path, &err) < 0 || cli_cluster_connect(&cl, &err) < 0) {
		cli_error(&err);
		goto cleanup;
	}
	memset(&so, 0, sizeof(so));
	so.app = app;
	so.ns = ns ? ns : cl.cfg->namespace;
	so.flags = SYNC_KEEP_DIFF | SYNC_FULL_SCAN | SYNC_TAKE_INPUT;
	se = sync_engine_new(cl.kc);
	rc = sync_compare(se, &rep, out.docs.docs, out.docs.n, &so, &err);
	out.docs.n = 0; /* the objects were taken by the comparison */
	if (rc < 0) {
		cli_error(&err);
		goto cleanup;
	}
	for (k = 0; k < rep.n; k++) {
		const struct sync_resource *r = &rep.v[k];
		char *la, *lb;

		if (r->result == SYNC_RESULT_FAILED) {
			failed = true;
			continue;
		}
		if (r->status == SYNC_STATUS_SYNCED || r->hook)
			continue;
		different = true;
		la = label("live", r);
		lb = label("desired", r);
		gs_buf_reset(&text);
		mf_diff_text(&text, r->live, r->status == SYNC_STATUS_PRUNE ? NULL : r->target, la,
			     lb, dflags);
		fputs(text.ptr, stdout);
		free(la);
		free(lb);
	}
	if (different)
		printf("\n");
	cli_print_resource_table(stdout, &rep);
	for (k = 0; k < rep.n; k++)
		if (rep.v[k].result == SYNC_RESULT_FAILED)
			fprintf(stderr, "gitsync: error: %s %s%s%s: %s\n", rep.v[k].kind, rep.v[k].ns,
				rep.v[k].ns[0] ? "/" : "", rep.v[k].name,
				rep.v[k].message ? rep.v[k].message : "");
	ret = failed ? CLI_EXIT_DIFF_ERROR : different ? CLI_EXIT_ERROR : CLI_EXIT_OK;
cleanup:
	gs_buf_release(&text);
	sync_report_release(&rep);
	sync_engine_free(se);
	cli_cluster_release(&cl);
	kz_output_release(&out);
	cli_args_release(&args);
	curl_global_cleanup();
	return ret;
}
