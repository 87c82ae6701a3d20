/* helm-template-tool.c - `helm template` arguments rendered through
 * gitsync's helm path (agent/helm: helm_template in a confined child, with
 * the memo), for the shared chart corpus's run.sh and bench-helm.sh:
 *
 *   helm-template-tool [--repeat N] [--no-memo] NAME CHART [helm template flags]
 *
 * The working directory is the confinement root; CHART and -f files are
 * relative to it, as for helm.  Flags understood: -n/--namespace,
 * -f/--values, --set, --set-string, --set-json, --set-file,
 * --kube-version, -a/--api-versions, --skip-tests, --include-crds,
 * --no-hooks.  --repeat N renders N times through one runner (the memo's
 * effect, for the bench; --no-memo turns it off) and prints the output once; stderr gets the runs
 * and memo hits. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "gs-time.h"
#include "gs-buf.h"
#include "helm/helm.h"

#define MAXN 128

static const char *value_of(int argc, char **argv, int *i, const char *flag)
{
	size_t fl = strlen(flag);

	if (!strncmp(argv[*i], flag, fl) && argv[*i][fl] == '=')
		return argv[*i] + fl + 1;
	if (!strcmp(argv[*i], flag) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct helm_template_req req;
	struct helm_runner *r = NULL;
	struct helm_runner_opts opts;
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf out = GS_BUF_INIT;
	struct helm_param params[MAXN], files[MAXN];
	const char *vfs[MAXN], *apis[MAXN], *extra[2 * MAXN + 1];
	char *owned[MAXN];
	char cwd[PATH_MAX];
	const char *pos[2] = { NULL, NULL };
	size_t np = 0, nf = 0, nv = 0, na = 0, ne = 0, no = 0, npos = 0, k;
	long repeat = 1, n;
	double first_s = 0, rest_s = 0;
	unsigned long runs = 0, hits = 0;
	int i, rc = 1;

	memset(&req, 0, sizeof(req));
	memset(&opts, 0, sizeof(opts));
	if (!getcwd(cwd, sizeof(cwd)))
		return 2;
	for (i = 1; i < argc; i++) {
		const char *v;

		if (np >= MAXN || nf >= MAXN || nv >= MAXN || na >= MAXN || ne + 2 >= 2 * MAXN ||
		    no >= MAXN) {
			fprintf(stderr, "helm-template-tool: too many flags\n");
			return 2;
		}
		if (!strcmp(argv[i], "--no-memo")) {
			opts.memo_bytes = (size_t)-1;
		} else if ((v = value_of(argc, argv, &i, "--repeat"))) {
			repeat = strtol(v, NULL, 10);
		} else if ((v = value_of(argc, argv, &i, "--namespace")) ||
			   (v = value_of(argc, argv, &i, "-n"))) {
			req.namespace = v;
		} else if ((v = value_of(argc, argv, &i, "--values")) ||
			   (v = value_of(argc, argv, &i, "-f"))) {
			/* helm reads -f relative to the working directory;
			 * the runner relative to the chart: give it absolute */
			owned[no] = v[0] == '/' ? gs_strdup(v) : gs_asprintf("%s/%s", cwd, v);
			vfs[nv++] = owned[no++];
		} else if ((v = value_of(argc, argv, &i, "--set-string"))) {
			params[np].name = v;
			params[np].value = NULL;
			params[np++].force_string = true;
		} else if ((v = value_of(argc, argv, &i, "--set-json"))) {
			extra[ne++] = "--set-json";
			extra[ne++] = v;
		} else if ((v = value_of(argc, argv, &i, "--set-file"))) {
			files[nf].name = v;
			files[nf].value = NULL;
			files[nf++].force_string = false;
		} else if ((v = value_of(argc, argv, &i, "--set"))) {
			params[np].name = v;
			params[np].value = NULL;
			params[np++].force_string = false;
		} else if ((v = value_of(argc, argv, &i, "--kube-version"))) {
			req.kube_version = v;
		} else if ((v = value_of(argc, argv, &i, "--api-versions")) ||
			   (v = value_of(argc, argv, &i, "-a"))) {
			apis[na++] = v;
		} else if (!strcmp(argv[i], "--skip-tests")) {
			req.skip_tests = true;
		} else if (!strcmp(argv[i], "--include-crds")) {
			req.include_crds = true;
		} else if (!strcmp(argv[i], "--no-hooks")) {
			req.no_hooks = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "helm-template-tool: unsupported flag '%s'\n", argv[i]);
			return 2;
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			fprintf(stderr, "helm-template-tool: too many arguments\n");
			return 2;
		}
	}
	if (npos != 2) {
		fprintf(stderr, "usage: helm-template-tool [--repeat N] NAME CHART [flags]\n");
		return 2;
	}
	/* "name=value" of --set: split (the runner takes them apart) */
	for (k = 0; k < np; k++) {
		const char *eq = strchr(params[k].name, '=');

		if (!eq || no >= MAXN)
			return 2;
		owned[no] = gs_strndup(params[k].name, (size_t)(eq - params[k].name));
		params[k].value = eq + 1;
		params[k].name = owned[no++];
	}
	for (k = 0; k < nf; k++) {
		const char *eq = strchr(files[k].name, '=');

		if (!eq || no >= MAXN)
			return 2;
		owned[no] = gs_strndup(files[k].name, (size_t)(eq - files[k].name));
		files[k].value = eq + 1;
		files[k].name = owned[no++];
	}
	extra[ne] = NULL;
	req.root = cwd;
	req.release_name = pos[0];
	req.chart = pos[1];
	req.value_files = vfs;
	req.n_value_files = nv;
	req.params = params;
	req.n_params = np;
	req.file_params = files;
	req.n_file_params = nf;
	req.api_versions = apis;
	req.n_api_versions = na;
	req.extra_args = ne ? extra : NULL;
	if (helm_runner_new(&r, &opts, &err) < 0)
		goto fail;
	for (n = 0; n < (repeat > 0 ? repeat : 1); n++) {
		double t0 = gs_time_mono();

		gs_buf_reset(&out);
		if (helm_template(&out, NULL, r, &req, &err) < 0)
			goto fail;
		if (n == 0)
			first_s = gs_time_mono() - t0;
		else
			rest_s += gs_time_mono() - t0;
	}
	fwrite(out.ptr, 1, out.len, stdout);
	helm_runner_stats(r, &runs, &hits);
	if (repeat > 1)
		fprintf(stderr, "helm runs: %lu, memo hits: %lu, first_ms %.2f, rest_ms %.3f\n",
			runs, hits, first_s * 1e3, rest_s * 1e3 / (double)(repeat - 1));
	rc = 0;
	goto done;
fail:
	fprintf(stderr, "error: %s%s%s\n", err.where, *err.where ? ": " : "", err.msg);
done:
	helm_runner_free(r);
	gs_buf_release(&out);
	for (k = 0; k < no; k++)
		free(owned[k]);
	return rc;
}
