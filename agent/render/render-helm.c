/* render-helm.c - the kz_helm_fn of gitsync: a kustomization's helmCharts
 * entry rendered by the real helm through helm/helm.c (bounded child,
 * confined paths, scrubbed environment, memo), with the arguments
 * kustomize's HelmChartInflationGenerator gives `helm template`. */
#include "render/render.h"

#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "helm/helm-repo.h"
#include "helm/helm.h"

void render_helm_release(struct render_helm *h)
{
	if (!h)
		return;
	helm_runner_free(h->own);
	h->own = NULL;
	helm_repo_free(h->repo);
	h->repo = NULL;
}

int render_helm_pull(void *arg, const struct kz_chart_pull *p, char **root_out,
		     char **chart_out, struct gs_error *err)
{
	struct render_helm *h = arg;
	struct helm_chart_pull pull = HELM_CHART_PULL_INIT;
	int rc;

	if (!h->chart_cache || !*h->chart_cache)
		return gs_error_set(err, GS_EINVAL, "no chart cache to pull charts into");
	if (!h->repo && (rc = helm_repo_new(&h->repo, h->chart_cache, err)) < 0)
		return rc;
	/* anonymous: kustomize's helmCharts have no credentials either */
	rc = helm_repo_pull(&pull, h->repo, p->repo, p->name, p->version, NULL, err);
	if (rc == GS_OK)
		rc = helm_repo_unpack(root_out, chart_out, h->repo, &pull, err);
	helm_chart_pull_release(&pull);
	return rc;
}

int render_helm_chart(void *arg, const struct kz_helm_chart *c, struct gs_buf *out,
		      struct gs_error *err)
{
	struct render_helm *h = arg;
	struct helm_template_req req;
	struct helm_runner_opts opts;
	const char *extra[3] = { NULL, NULL, NULL };
	char **files = NULL;
	size_t i;
	int rc;

	if (!c->root || !*c->root)
		return gs_error_set(err, GS_EINVAL, "helm needs the charts on disk");
	if (!h->runner && !h->own) {
		memset(&opts, 0, sizeof(opts));
		opts.helm = h->binary;
		if ((rc = helm_runner_new(&h->own, &opts, err)) < 0)
			return rc;
	}
	memset(&req, 0, sizeof(req));
	req.root = c->root;
	req.chart = c->chart_dir;
	/* a pulled chart lives in the chart cache: allowed for this chart only */
	req.chart_root = c->chart_root && *c->chart_root ? c->chart_root : NULL;
	req.release_name = c->release_name;
	req.namespace = c->namespace;
	/* --helm-kube-version / --helm-api-versions are defaults: kustomize
	 * sets them, then decodes the chart's entry over them */
	req.kube_version = *c->kube_version ? c->kube_version : h->kube_version;
	if (c->n_api_versions) {
		req.api_versions = c->api_versions;
		req.n_api_versions = c->n_api_versions;
	} else {
		req.api_versions = h->api_versions;
		req.n_api_versions = h->n_api_versions;
	}
	/* value files are relative to the chart for helm.c: give them absolute */
	files = gs_calloc(c->n_values_files + 1, sizeof(*files));
	for (i = 0; i < c->n_values_files; i++)
		files[i] = gs_asprintf("%s/%s", c->root, c->values_files[i]);
	req.value_files = (const char *const *)files;
	req.n_value_files = c->n_values_files;
	/* kustomize always hands helm its values file first, even when empty */
	req.values = *c->values ? c->values : "{}\n";
	req.values_first = true;
	req.include_crds = c->include_crds;
	req.skip_tests = c->skip_tests;
	req.no_hooks = c->skip_hooks;
	/* never write into the chart cache: a pulled chart comes with its
	 * dependencies (helm package puts them in charts/) */
	req.dependency_build = !req.chart_root;
	if (c->name_template && *c->name_template) {
		extra[0] = "--name-template";
		extra[1] = c->name_template;
	}
	req.extra_args = extra;
	rc = helm_template(out, NULL, h->runner ? h->runner : h->own, &req, err);
	for (i = 0; i < c->n_values_files; i++)
		free(files[i]);
	free(files);
	return rc;
}
