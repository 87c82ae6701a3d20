/* app-helm.c - an Application whose source path holds a Helm chart
 * (Chart.yaml): rendered by the real helm with the fields of
 * spec.source.helm, as Argo CD's repo server does. */
#include "app/app-helm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-object.h"
#include "mf-yaml.h"

/* The live cluster's version (GET /version: gitVersion) and API versions
 * (discovery: "group/version" and "group/version/Kind"), for helm's
 * Capabilities.  Best effort: without them helm uses its defaults. */
static void cluster_capabilities(char **kube_version, char ***api, size_t *n_api,
				 struct kube_client *kc)
{
	struct kube_response resp = KUBE_RESPONSE_INIT;
	struct gs_error err = GS_ERROR_INIT;
	const struct kube_resource **res = NULL;
	struct mf_docs docs = MF_DOCS_INIT;
	size_t n = 0, i, j, a = 0;

	*kube_version = NULL;
	*api = NULL;
	*n_api = 0;
	if (!kc)
		return;
	if (kube_client_request(kc, "GET", "/version", NULL, NULL, 0, &resp, &err) == 0 &&
	    resp.status == 200 &&
	    mf_yaml_parse(&docs, resp.body.ptr, resp.body.len, "/version", NULL, &err) == 0 &&
	    docs.n) {
		const char *v = mf_node_dig_str(docs.docs[0], "gitVersion", NULL);

		if (v && *v)
			*kube_version = gs_strdup(v);
	}
	mf_docs_release(&docs);
	kube_response_release(&resp);
	if (kube_client_all_resources(kc, &res, &n, &err) < 0)
		return;
	for (i = 0; i < n; i++) {
		const struct kube_resource *r = res[i];
		char *gv = *r->group ? gs_asprintf("%s/%s", r->group, r->version)
				     : gs_strdup(r->version);
		bool seen = false;

		for (j = 0; j < *n_api && !seen; j++)
			seen = !strcmp((*api)[j], gv);
		GS_ALLOC_GROW(*api, *n_api + 2, a);
		if (!seen)
			(*api)[(*n_api)++] = gs_strdup(gv);
		(*api)[(*n_api)++] = gs_asprintf("%s/%s", gv, r->kind);
		free(gv);
	}
}

bool app_helm_is_chart(const char *root, const char *path)
{
	char *dir = gs_asprintf("%s%s%s", root, *path ? "/" : "", path);
	bool yes = helm_is_chart_dir(dir);

	free(dir);
	return yes;
}

/* helm's output (a YAML stream, each document after "# Source: chart/x")
 * into out: objects only, each positioned at its template. */
static int parse_output(struct kz_output *out, const char *text, size_t len, const char *chart,
			struct gs_error *err)
{
	const char *p = text, *end = text + len;
	int rc = GS_OK;

	while (p < end && rc == GS_OK) {
		const char *next = p, *doc_end, *src;
		struct mf_docs docs = MF_DOCS_INIT;
		char *file;
		size_t i;

		/* one document: up to the next line "---" */
		for (;;) {
			const char *nl = memchr(next, '\n', (size_t)(end - next));

			next = nl ? nl + 1 : end;
			if (next >= end || (!strncmp(next, "---", 3) &&
					    (next + 3 == end || next[3] == '\n' || next[3] == ' ')))
				break;
		}
		doc_end = next;
		src = NULL;
		{
			const char *s = p;

			while (s < doc_end && !src) {
				const char *nl = memchr(s, '\n', (size_t)(doc_end - s));

				if (!strncmp(s, "# Source: ", 10))
					src = s + 10;
				s = nl ? nl + 1 : doc_end;
			}
		}
		if (src)
			file = gs_strndup(src, strcspn(src, "\n"));
		else
			file = gs_asprintf("%s (helm template)", chart);
		GS_ALLOC_GROW(out->files, out->nfiles + 1, out->afiles);
		out->files[out->nfiles++] = file; /* now owned by out */
		rc = mf_yaml_parse(&docs, p, (size_t)(doc_end - p), file, NULL, err);
		for (i = 0; i < docs.n && rc == GS_OK; i++) {
			if (!mf_obj_is_object(docs.docs[i]))
				continue;
			GS_ALLOC_GROW(out->docs.docs, out->docs.n + 1, out->docs.alloc);
			out->docs.docs[out->docs.n++] = docs.docs[i];
			docs.docs[i] = NULL; /* now owned by out */
		}
		mf_docs_release(&docs);
		p = doc_end < end ? doc_end + 3 : end;
	}
	return rc;
}

/* spec.source.helm.parameters / fileParameters into helm_param[] (strings
 * borrowed from app). */
static struct helm_param *params_of(const struct mf_node *list, const char *valkey, size_t *n)
{
	struct helm_param *p = gs_calloc(mf_node_len(list) + 1, sizeof(*p));
	size_t i;

	*n = 0;
	for (i = 0; i < mf_node_len(list); i++) {
		const struct mf_node *e = mf_node_at(list, i);
		const char *name = mf_node_dig_str(e, "name", NULL);
		const char *val = mf_node_dig_str(e, valkey, NULL);

		if (!name || !*name)
			continue;
		p[*n].name = name;
		p[*n].value = val ? val : "";
		p[*n].force_string = mf_node_bool(mf_node_get(e, "forceString"));
		(*n)++;
	}
	return p;
}

int app_helm_render(struct kz_output *out, struct app_env *env, const struct mf_node *app,
		    const char *root, const char *path, struct gs_error *err)
{
	const struct mf_node *h = mf_node_dig(app, "spec", "source", "helm", NULL);
	const struct mf_node *vf = mf_node_get(h, "valueFiles");
	const struct mf_node *vobj = mf_node_get(h, "valuesObject");
	const struct mf_node *kv_over = mf_node_get(h, "apiVersions");
	struct helm_runner *own = NULL, *runner = env->helm;
	struct helm_template_req req;
	struct helm_param *params = NULL, *fparams = NULL;
	const char **vfiles = NULL, **apis = NULL;
	char *kube_version = NULL, **cluster_api = NULL, *values = NULL;
	size_t n_cluster_api = 0, i;
	struct gs_buf text = GS_BUF_INIT, vbuf = GS_BUF_INIT;
	struct kz_output tmp = KZ_OUTPUT_INIT;
	const char *rel = mf_node_dig_str(h, "releaseName", NULL);
	const char *hns = mf_node_dig_str(h, "namespace", NULL);
	const char *kv = mf_node_dig_str(h, "kubeVersion", NULL);
	int rc;

	if (!runner && (rc = helm_runner_new(&own, NULL, err)) < 0)
		return gs_error_wrap(err, "render Helm chart '%s'", *path ? path : ".");
	if (own)
		runner = own;
	memset(&req, 0, sizeof(req));
	req.root = root;
	req.chart = path;
	req.release_name = rel && *rel ? rel : mf_obj_name(app);
	req.namespace = hns && *hns ? hns : app_dest_namespace(app);
	cluster_capabilities(&kube_version, &cluster_api, &n_cluster_api, env->kc);
	req.kube_version = kv && *kv ? kv : kube_version;
	if (mf_node_len(kv_over)) {
		apis = gs_calloc(mf_node_len(kv_over), sizeof(*apis));
		for (i = 0; i < mf_node_len(kv_over); i++)
			if (mf_node_str(mf_node_at(kv_over, i)))
				apis[req.n_api_versions++] = mf_node_str(mf_node_at(kv_over, i));
		req.api_versions = apis;
	} else {
		req.api_versions = (const char *const *)cluster_api;
		req.n_api_versions = n_cluster_api;
	}
	vfiles = gs_calloc(mf_node_len(vf) + 1, sizeof(*vfiles));
	for (i = 0; i < mf_node_len(vf); i++)
		if (mf_node_str(mf_node_at(vf, i)) && *mf_node_str(mf_node_at(vf, i)))
			vfiles[req.n_value_files++] = mf_node_str(mf_node_at(vf, i));
	req.value_files = vfiles;
	req.ignore_missing_value_files =
		mf_node_bool(mf_node_get(h, "ignoreMissingValueFiles"));
	/* valuesObject wins over values, as in Argo CD */
	if (vobj && mf_node_type(vobj) == MF_MAP) {
		if (mf_yaml_emit(&vbuf, vobj, 0) < 0) {
			rc = gs_error_set(err, GS_EINVAL,
					  "spec.source.helm.valuesObject cannot be written as YAML");
			goto cleanup;
		}
		values = gs_buf_detach(&vbuf, NULL);
	} else if (mf_node_dig_str(h, "values", NULL)) {
		values = gs_strdup(mf_node_dig_str(h, "values", NULL));
	}
	req.values = values;
	params = params_of(mf_node_get(h, "parameters"), "value", &req.n_params);
	req.params = params;
	fparams = params_of(mf_node_get(h, "fileParameters"), "path", &req.n_file_params);
	req.file_params = fparams;
	req.include_crds = !mf_node_bool(mf_node_get(h, "skipCrds"));
	req.skip_tests = mf_node_bool(mf_node_get(h, "skipTests"));
	req.dependency_build = true;
	if ((rc = helm_template(&text, NULL, runner, &req, err)) < 0)
		goto cleanup;
	if ((rc = parse_output(&tmp, text.ptr, text.len, *path ? path : ".", err)) < 0) {
		gs_error_wrap(err, "read the output of helm template for chart '%s'",
			      *path ? path : ".");
		goto cleanup;
	}
	/* hand everything over to out */
	for (i = 0; i < tmp.nfiles; i++) {
		GS_ALLOC_GROW(out->files, out->nfiles + 1, out->afiles);
		out->files[out->nfiles++] = tmp.files[i];
	}
	tmp.nfiles = 0;
	for (i = 0; i < tmp.docs.n; i++) {
		GS_ALLOC_GROW(out->docs.docs, out->docs.n + 1, out->docs.alloc);
		out->docs.docs[out->docs.n++] = tmp.docs.docs[i];
	}
	tmp.docs.n = 0;
cleanup:
	kz_output_release(&tmp);
	gs_buf_release(&text);
	gs_buf_release(&vbuf);
	free(values);
	free(params);
	free(fparams);
	free(vfiles);
	free(apis);
	free(kube_version);
	for (i = 0; i < n_cluster_api; i++)
		free(cluster_api[i]);
	free(cluster_api);
	helm_runner_free(own);
	return rc;
}
