/* cli-sync.h - what `gitsync diff`, `gitsync sync` (and `gitsync app`) share:
 * cluster options, rendering a local path, the argocd-style tables. */
#ifndef GS_CLI_SYNC_H
#define GS_CLI_SYNC_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli-opt.h"
#include "gs-error.h"
#include "kube/kube-client.h"
#include "kube/kube-config.h"
#include "kz-build.h"
#include "sync/sync.h"

/* --kubeconfig, --context and the client built from them. */
struct cli_cluster {
	const char *kubeconfig, *context;
	struct kube_config *cfg;
	struct kube_client *kc;
};

/* --kubeconfig F and --context C, for a command's cli_cmd.common. */
extern const struct cli_opt cli_cluster_opts[];
int cli_cluster_connect(struct cli_cluster *c, struct gs_error *err);
void cli_cluster_release(struct cli_cluster *c);

/* Render PATH (a kustomization, a directory of manifests or a file);
 * helmCharts with the helm of GITSYNC_HELM or PATH when there is one. */
int cli_render_path(struct kz_output *out, const char *path, struct gs_error *err);

/* Table of resources: GROUP KIND NAMESPACE NAME STATUS HEALTH HOOK MESSAGE. */
void cli_print_resource_table(FILE *f, const struct sync_report *rep);
/* One streaming line with a timestamp (the progress callback of sync). */
void cli_print_progress_header(FILE *f);
void cli_print_progress_line(const struct sync_resource *r, void *payload /* FILE * */);
/* RFC 3339 local time of t into buf. */
const char *cli_format_time(char *buf, size_t n, double t);

#endif
