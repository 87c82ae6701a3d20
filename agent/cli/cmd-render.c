/* cmd-render.c - `gitsync render PATH [--recurse] [-o yaml|json]`: print what
 * `kubectl kustomize PATH` prints (or the objects of a plain manifests
 * directory / file).  On error nothing reaches stdout: the whole output is
 * built in memory first. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli-opt.h"
#include "cli/cli.h"
#ifndef GITSYNC_FRONT
#include "gitsrc/gitsrc.h"
#endif
#include "gs-alloc.h"
#include "gs-buf.h"
#include "kz-build.h"
#include "mf-json.h"
#include "mf-yaml.h"
#include "render/render.h"

static bool valid_number(const char *v)
{
	char *end = NULL;
	double d = strtod(v, &end);

	return end != v && !*end && d >= 0 && d <= 1e15;
}

static double number(const struct cli_args *a, const char *name)
{
	const char *v = cli_args_str(a, name);

	return v ? strtod(v, NULL) : 0;
}

static const struct cli_opt render_opts[] = {
	{ "output", 'o', CLI_OPT_STRING, "FORMAT",
	  "yaml (default: a --- separated stream) or json (a List)", "yaml", "yaml|json", NULL },
	{ "recurse", 0, CLI_OPT_BOOL, NULL, "descend into subdirectories of a plain manifests directory",
	  NULL, NULL, NULL },
	{ "root", 0, CLI_OPT_STRING, "DIR",
	  "files may not be read outside DIR (default: the enclosing\n"
	  "Git checkout, else PATH itself; .git is never read)", NULL,
	  NULL, NULL },
	{ "no-remote", 0, CLI_OPT_BOOL, NULL,
	  "refuse remote resources (https://host/org/repo//dir?ref=TAG and the\n"
	  "other Git URLs kustomize accepts); by default they are fetched, as\n"
	  "`kubectl kustomize` does, with the credentials of GITSYNC_GIT_*",
	  NULL, NULL, NULL },
	{ "enable-helm", 0, CLI_OPT_BOOL, NULL,
	  "render the helmCharts of kustomizations with helm (as `kubectl\n"
	  "kustomize --enable-helm`); a chart not in helmGlobals.chartHome\n"
	  "whose entry has a repo is pulled (anonymously) into the chart\n"
	  "cache ($GITSYNC_CACHE_DIR/helm), never into the repository", NULL, NULL, NULL },
	{ "helm-command", 0, CLI_OPT_STRING, "PATH",
	  "the helm binary (default: $GITSYNC_HELM, else helm on PATH)", NULL, NULL, NULL },
	{ "helm-kube-version", 0, CLI_OPT_STRING, "VERSION",
	  "Kubernetes version for helm's Capabilities.KubeVersion (for charts\n"
	  "setting no kubeVersion)",
	  NULL, NULL, NULL },
	{ "helm-api-versions", 0, CLI_OPT_LIST, "GROUP/VERSION",
	  "API versions for helm's Capabilities.APIVersions (repeatable; for\n"
	  "charts setting no apiVersions)", NULL, NULL, NULL },
	/* the agent's render child (render/render.c) */
	{ "framed", 0, CLI_OPT_BOOL, NULL, "the agent's render child: framed output with the cost",
	  NULL, NULL, NULL },
	{ "pull-charts", 0, CLI_OPT_BOOL, NULL,
	  "the agent's render child: ask the agent to pull helmCharts' charts", NULL, NULL, NULL },
	{ "max-nodes", 0, CLI_OPT_STRING, "N", "render budget: YAML nodes (default 1000000)", NULL,
	  NULL, valid_number },
	{ "max-files", 0, CLI_OPT_STRING, "N", "render budget: files read (default 200000)", NULL,
	  NULL, valid_number },
	{ "max-output", 0, CLI_OPT_STRING, "N", "render budget: output bytes (default 67108864)",
	  NULL, NULL, valid_number },
	{ "timeout", 0, CLI_OPT_STRING, "SECONDS", "render budget: wall time (default 60)", NULL,
	  NULL, valid_number },
	{ "rlimit-as", 0, CLI_OPT_STRING, "BYTES",
	  "the agent's render child: address space limit, set before anything is read", NULL,
	  NULL, valid_number },
	{ "rlimit-cpu", 0, CLI_OPT_STRING, "SECONDS",
	  "the agent's render child: CPU time limit, set before anything is read", NULL, NULL,
	  valid_number },
	CLI_OPT_END,
};

#ifdef GITSYNC_FRONT
/* The front binary has no helm runner either: helmCharts are rendered by
 * gitsync-core, run again from the start (nothing has been printed yet). */
static int need_core_helm(void *arg, const struct kz_helm_chart *chart, struct gs_buf *out,
			  struct gs_error *err)
{
	(void)chart;
	(void)out;
	*(bool *)arg = true;
	return gs_error_set(err, GS_ERR, "helm charts need gitsync-core");
}

static int need_core_pull(void *arg, const struct kz_chart_pull *req, char **root_out,
			  char **chart_out, struct gs_error *err)
{
	(void)req;
	(void)root_out;
	(void)chart_out;
	*(bool *)arg = true;
	return gs_error_set(err, GS_ERR, "pulling charts needs gitsync-core");
}

/* The front binary has no libgit2: a render meeting a remote resource is
 * run again by gitsync-core (nothing has been printed yet). */
static int need_core(void *arg, const struct kz_remote *rem, char **dir_out,
		     struct gs_error *err)
{
	(void)rem;
	(void)dir_out;
	*(bool *)arg = true;
	return gs_error_set(err, GS_ERR, "remote resources need gitsync-core");
}
#else
/* Remote resources of `gitsync render`: the Git cache of the CLI
 * ($GITSYNC_CACHE_DIR, else $XDG_CACHE_HOME/gitsync/git, else
 * ~/.cache/gitsync/git) and the credentials of GITSYNC_GIT_* for the hosts
 * GITSYNC_GIT_HOSTS names, as `gitsync app` uses them. */
static int env_auth(void *arg, const char *url, struct gitsrc_auth *auth, struct gs_error *err)
{
	(void)arg;
	return gitsrc_auth_from_env(auth, url, err);
}

static char *git_cache_dir(void)
{
	const char *cache = getenv("GITSYNC_CACHE_DIR");
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (cache && *cache)
		return gs_strdup(cache);
	return xdg && *xdg ? gs_asprintf("%s/gitsync/git", xdg)
			   : gs_asprintf("%s/.cache/gitsync/git", home && *home ? home : "/tmp");
}

static int open_git(struct gitsrc **out, struct gs_error *err)
{
	char *cache = git_cache_dir();
	int rc;

	rc = gitsrc_new(out, cache, err);
	free(cache);
	return rc;
}
#endif

static const struct cli_cmd render_cmd = {
	"render", "PATH [--recurse] [--enable-helm] [-o yaml|json]",
	"Render a kustomization directory (like `kubectl kustomize PATH`), a directory\n"
	"of plain manifests (*.yaml, *.yml, *.json; --recurse descends) or one file.\n",
	render_opts, NULL, NULL, NULL, 1, 1,
};

int cmd_render(int argc, char **argv)
{
	struct cli_args args = CLI_ARGS_INIT;
	const char *path = NULL, *format = "yaml", *root_opt = NULL;
	unsigned flags = 0;
	/* --framed and the limits: the agent's render child (render/render.c) */
	bool framed = false;
	struct kz_budget budget = { 0 };
	struct kz_cost cost = { 0 };
	size_t max_output = 0;
	struct gs_error err = GS_ERROR_INIT;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct kz_fs *fs = NULL;
	struct gs_buf buf = GS_BUF_INIT;
	char *abs = NULL, *root = NULL, *rel = NULL;
	struct kz_hooks hooks = { NULL, NULL, 0, 0, NULL, NULL, NULL, NULL };
#ifdef GITSYNC_FRONT
	bool core = false;
#else
	struct render_git_loader git = { NULL, env_auth, NULL, NULL };
	struct render_helm helm = { 0 };
	char *chart_cache = NULL;
#endif
	int ret;

	if ((ret = cli_opt_parse(&args, &render_cmd, argc, argv)) || args.help)
		goto cleanup_args;
	/* first: nothing of the repository is read before the limits hold */
	if (cli_args_str(&args, "rlimit-as") || cli_args_str(&args, "rlimit-cpu"))
		render_child_limits((size_t)number(&args, "rlimit-as"), number(&args, "rlimit-cpu"));
	ret = CLI_EXIT_ERROR;
	path = args.pos[0];
	format = cli_args_str(&args, "output");
	root_opt = cli_args_str(&args, "root");
	if (cli_args_bool(&args, "recurse"))
		flags |= KZ_RENDER_RECURSE;
	framed = cli_args_bool(&args, "framed");
	budget.max_nodes = (size_t)number(&args, "max-nodes");
	budget.max_files = (size_t)number(&args, "max-files");
	max_output = (size_t)number(&args, "max-output");
	budget.max_seconds = number(&args, "timeout");

	abs = realpath(path, NULL);
	if (!abs) {
		gs_error_set(&err, GS_ENOTFOUND, "'%s': no such file or directory", path);
		goto cleanup;
	}
	root = root_opt ? realpath(root_opt, NULL) : cli_confinement_root(abs);
	if (!root) {
		gs_error_set(&err, GS_ENOTFOUND, "root '%s': no such directory", root_opt);
		goto cleanup;
	}
	if (strcmp(root, "/") &&
	    (strncmp(abs, root, strlen(root)) || (abs[strlen(root)] && abs[strlen(root)] != '/'))) {
		gs_error_set(&err, GS_EINVAL, "'%s' is outside the root '%s'", path, root);
		goto cleanup;
	}
	rel = gs_strdup(abs + (strcmp(root, "/") ? strlen(root) : 0) + (abs[strlen(root)] == '/' || !strcmp(root, "/") ? 1 : 0));
	if (kz_fs_new_disk(&fs, root, &err) < 0)
		goto cleanup;
	if (framed) {
		/* the agent fetches, with the app's project and credentials */
		hooks.remote = render_child_remote;
	} else if (!cli_args_bool(&args, "no-remote")) {
#ifdef GITSYNC_FRONT
		hooks.remote = need_core;
		hooks.remote_arg = &core;
#else
		if (open_git(&git.git, &err) < 0)
			goto cleanup;
		hooks.remote = render_git_remote;
		hooks.remote_arg = &git;
#endif
	}
	if (framed && cli_args_bool(&args, "enable-helm")) {
		/* the agent runs helm, with its runner and memo, and pulls */
		hooks.helm = render_child_helm;
		if (cli_args_bool(&args, "pull-charts"))
			hooks.pull = render_child_pull;
	} else if (cli_args_bool(&args, "enable-helm")) {
#ifdef GITSYNC_FRONT
		hooks.helm = need_core_helm;
		hooks.helm_arg = &core;
		hooks.pull = need_core_pull;
		hooks.pull_arg = &core;
#else
		helm.binary = cli_args_str(&args, "helm-command");
		helm.kube_version = cli_args_str(&args, "helm-kube-version");
		helm.api_versions = cli_args_list(&args, "helm-api-versions", &helm.n_api_versions);
		hooks.helm = render_helm_chart;
		hooks.helm_arg = &helm;
		/* charts not in the repository: the chart cache beside the Git
		 * cache, as `gitsync app` keeps charts of spec.source.chart */
		{
			char *git_cache = git_cache_dir();

			helm.chart_cache = chart_cache = gs_asprintf("%s/helm", git_cache);
			free(git_cache);
		}
		hooks.pull = render_helm_pull;
		hooks.pull_arg = &helm;
#endif
	}
	if (kz_render_hooks(&out, fs, rel, flags, &budget, &hooks, &cost, &err) < 0) {
		size_t l = strlen(err.msg);

		/* outside a checkout the root is PATH itself: say how to widen it */
		char *dotgit = gs_asprintf("%s/.git", root);
		struct stat st;
		bool checkout = lstat(dotgit, &st) == 0;

		free(dotgit);
#ifdef GITSYNC_FRONT
		if (core) {
			char **av = gs_calloc((size_t)argc + 2, sizeof(*av));

			av[0] = (char *)"gitsync";
			memcpy(av + 1, argv, (size_t)argc * sizeof(*av));
			fflush(stdout);
			ret = cli_exec_core(av); /* only on failure, said already */
			free(av);
			gs_error_clear(&err);
			goto cleanup;
		}
#endif
		if (err.code == GS_EINVAL && !root_opt && !checkout && strstr(err.msg, "root"))
			snprintf(err.msg + l, sizeof(err.msg) - l,
				 " (not in a Git checkout: the root is '%s'; give --root DIR to "
				 "allow more)", path);
		goto cleanup;
	}
	if (framed) {
		if (render_write_framed(stdout, &out, max_output, &cost, &err) == GS_OK)
			ret = CLI_EXIT_OK;
		framed = false; /* written already */
		goto cleanup;
	}
	if (!strcmp(format, "json")) {
		struct mf_node *list = mf_node_new(MF_MAP), *items = mf_node_new(MF_SEQ);
		size_t k;

		mf_node_set_str_value(list, "apiVersion", "v1");
		mf_node_set(list, "items", items);
		mf_node_set_str_value(list, "kind", "List");
		mf_node_set(list, "metadata", mf_node_new(MF_MAP));
		for (k = 0; k < out.docs.n; k++) {
			mf_node_append(items, out.docs.docs[k]);
			out.docs.docs[k] = NULL;
		}
		out.docs.n = 0;
		mf_node_sort_keys(list, true);
		if (mf_json_emit(&buf, list, MF_JSON_PRETTY) < 0) {
			mf_node_free(list);
			gs_error_set(&err, GS_ERR, "cannot encode the output as JSON");
			goto cleanup;
		}
		mf_node_free(list);
		gs_buf_putc(&buf, '\n');
	} else {
		size_t k;

		/* one document at a time, freed as soon as it is written: the
		 * rendered set never exists twice (tree and text) in memory */
		for (k = 0; k < out.docs.n; k++) {
			gs_buf_reset(&buf);
			if (k)
				gs_buf_puts(&buf, "---\n");
			if (mf_yaml_emit(&buf, out.docs.docs[k], MF_EMIT_SORT_KEYS) < 0) {
				gs_error_set(&err, GS_ERR, "cannot encode the output as YAML");
				goto cleanup;
			}
			mf_node_free(out.docs.docs[k]);
			out.docs.docs[k] = NULL;
			if (fwrite(buf.ptr, 1, buf.len, stdout) != buf.len) {
				gs_error_set(&err, GS_EIO, "cannot write the output");
				goto cleanup;
			}
		}
		gs_buf_reset(&buf);
	}
	if (fwrite(buf.ptr, 1, buf.len, stdout) != buf.len || fflush(stdout) != 0) {
		gs_error_set(&err, GS_EIO, "cannot write the output");
		goto cleanup;
	}
	ret = CLI_EXIT_OK;
cleanup:
	if (ret != CLI_EXIT_OK && framed)
		render_write_framed_error(stdout, &err);
	else if (ret != CLI_EXIT_OK && err.code != GS_OK)
		cli_error(&err);
	gs_buf_release(&buf);
	kz_output_release(&out);
	kz_fs_free(fs);
#ifndef GITSYNC_FRONT
	gitsrc_free(git.git);
	render_helm_release(&helm);
	free(chart_cache);
#endif
	free(abs);
	free(root);
	free(rel);
cleanup_args:
	cli_args_release(&args);
	return ret;
}
