/* cli-sync.c - helpers shared by the commands that talk to a cluster. */
#include "cli/cli-sync.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli-table.h"
#include "gs-time.h"
#include "gs-alloc.h"
#include "helm/helm.h"
#include "kz-fs.h"
#include "render/render.h"

const struct cli_opt cli_cluster_opts[] = {
	{ "kubeconfig", 0, CLI_OPT_STRING, "F", "kubeconfig to use (default $KUBECONFIG, ~/.kube/config)",
	  NULL, NULL, NULL },
	{ "context", 0, CLI_OPT_STRING, "C", "kubeconfig context", NULL, NULL, NULL },
	CLI_OPT_END,
};

int cli_cluster_connect(struct cli_cluster *c, struct gs_error *err)
{
	struct kube_config_opts o = { c->kubeconfig, c->context, false };
	struct kube_client_opts co;
	const char *qps = getenv("GITSYNC_KUBE_QPS");
	const char *inflight = getenv("GITSYNC_KUBE_INFLIGHT");
	int rc;

	memset(&co, 0, sizeof(co));
	if (qps && qps[0])
		co.qps = strtod(qps, NULL);
	if (inflight && inflight[0])
		co.max_inflight = (unsigned)strtoul(inflight, NULL, 10);
	if ((rc = kube_config_load(&c->cfg, &o, err)) < 0)
		return rc;
	return kube_client_new(&c->kc, c->cfg, &co, err);
}

void cli_cluster_release(struct cli_cluster *c)
{
	kube_client_free(c->kc);
	kube_config_free(c->cfg);
	c->kc = NULL;
	c->cfg = NULL;
}

int cli_render_path(struct kz_output *out, const char *path, struct gs_error *err)
{
	struct kz_fs *fs = NULL;
	char *abs = realpath(path, NULL), *root = NULL, *helm_bin = NULL;
	struct kz_hooks hooks = { NULL, NULL, 0, 0, NULL, NULL, NULL, NULL };
	struct render_helm helm = { 0 };
	const char *cache = getenv("GITSYNC_CACHE_DIR");
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *chart_cache = NULL;
	const char *rel;
	int rc;

	if (!abs)
		return gs_error_set(err, GS_ENOTFOUND, "cannot read '%s': %s", path, strerror(errno));
	root = cli_confinement_root(abs);
	rel = abs + (strcmp(root, "/") ? strlen(root) : 0);
	while (*rel == '/')
		rel++;
	/* helmCharts with the helm of GITSYNC_HELM or PATH, as the agent does */
	helm.binary = helm_bin = helm_find_binary(NULL);
	if (helm_bin) {
		hooks.helm = render_helm_chart;
		hooks.helm_arg = &helm;
		/* charts with a repo not in the tree: the CLI's chart cache, as
		 * `gitsync render --enable-helm` */
		chart_cache = cache && *cache ? gs_asprintf("%s/helm", cache)
			      : xdg && *xdg   ? gs_asprintf("%s/gitsync/git/helm", xdg)
					      : gs_asprintf("%s/.cache/gitsync/git/helm",
							    home && *home ? home : "/tmp");
		helm.chart_cache = chart_cache;
		hooks.pull = render_helm_pull;
		hooks.pull_arg = &helm;
	}
	rc = kz_fs_new_disk(&fs, root, err);
	if (rc == GS_OK)
		rc = kz_render_hooks(out, fs, rel, 0, NULL, &hooks, NULL, err);
	kz_fs_free(fs);
	render_helm_release(&helm);
	free(helm_bin);
	free(chart_cache);
	free(root);
	free(abs);
	return rc;
}

const char *cli_format_time(char *buf, size_t n, double t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char tz[8];

	localtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(tz, sizeof(tz), "%z", &tm);
	/* RFC 3339 wants +01:00, strftime gives +0100 */
	if (strlen(tz) == 5 && strlen(buf) + 7 < n) {
		size_t l = strlen(buf);

		buf[l] = tz[0];
		buf[l + 1] = tz[1];
		buf[l + 2] = tz[2];
		buf[l + 3] = ':';
		buf[l + 4] = tz[3];
		buf[l + 5] = tz[4];
		buf[l + 6] = '\0';
	}
	return buf;
}

static const char *row_status(const struct sync_resource *r)
{
	return sync_status_str(r->status);
}

void cli_print_resource_table(FILE *f, const struct sync_report *rep)
{
	struct cli_table *t = cli_table_new(8);
	size_t i;

	/* widths from content, as `gitsync app` prints the same table */
	cli_table_row(t, "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK",
		      "MESSAGE");
	for (i = 0; i < rep->n; i++) {
		const struct sync_resource *r = &rep->v[i];

		cli_table_row(t, r->group, r->kind, r->ns, r->name, row_status(r),
			      sync_health_str(r->health), sync_hook_str(r->hook),
			      r->message ? r->message : "");
	}
	cli_table_print(t, f);
	cli_table_free(t);
}

void cli_print_progress_header(FILE *f)
{
	fprintf(f, "%-25s %-24s %-22s %-16s %-36s %-10s %-12s %-9s %s\n", "TIMESTAMP", "GROUP",
		"KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE");
}

void cli_print_progress_line(const struct sync_resource *r, void *payload)
{
	FILE *f = payload ? payload : stdout;
	char tb[40];
	const char *msg = r->message ? r->message : "";

	if (r->result != SYNC_RESULT_FAILED && r->health_msg && r->health != SYNC_HEALTH_HEALTHY &&
	    !r->message)
		msg = r->health_msg;
	fprintf(f, "%-25s %-24s %-22s %-16s %-36s %-10s %-12s %-9s %s\n",
		cli_format_time(tb, sizeof(tb), gs_time_wall()), r->group, r->kind, r->ns,
		r->name, row_status(r), sync_health_str(r->health), sync_hook_str(r->hook), msg);
	fflush(f);
}
