/* helm.h - render Helm charts with the real helm binary, never with a
 * reimplementation of Go templates (as Argo CD's repo server and
 * `kustomize --enable-helm` do).
 *
 * Every helm run is a child process that:
 * - has a time limit (killed with its process group when it is crossed);
 * - runs in a confined working directory: the chart directory, inside a
 *   root (the repository's export); every path handed to helm (the chart,
 *   value files, --set-file files) must resolve, symlinks followed, inside
 *   that root, and a chart holding a symlink that leaves the root is
 *   refused;
 * - gets a scrubbed environment: PATH, a private HOME and XDG/HELM
 *   directories in a fresh temporary directory removed afterwards,
 *   KUBECONFIG=/dev/null, and nothing else except the "K=V" entries the
 *   caller passes for this chart (its own credentials);
 * - has its stdout capped and its stderr captured into the error (helm's
 *   "template: x/templates/y.yaml:12:3: ..." becomes err->where
 *   "x/templates/y.yaml:12").
 *
 * helm_template memoizes its output by (chart digest, values digest, kube
 * version and every other argument): an unchanged app costs no helm run.
 * A runner is thread-safe: concurrent helm_template/helm_run calls on one
 * runner are fine (the memo has a lock).
 */
#ifndef GS_HELM_H
#define GS_HELM_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"

#define HELM_DEFAULT_TIMEOUT 60.0                /* seconds per helm run */
#define HELM_DEFAULT_MAX_OUTPUT ((size_t)64 << 20) /* stdout bytes per run */
#define HELM_DEFAULT_MEMO_BYTES ((size_t)64 << 20) /* memoized output, all entries */

struct helm_runner;

struct helm_runner_opts {
	const char *helm;     /* the binary (borrowed); NULL: helm_find_binary(NULL) */
	double timeout_s;     /* per run; 0 = HELM_DEFAULT_TIMEOUT */
	size_t max_output;    /* 0 = HELM_DEFAULT_MAX_OUTPUT */
	size_t memo_bytes;    /* 0 = HELM_DEFAULT_MEMO_BYTES; (size_t)-1 disables the memo */
	const char *tmp_dir;  /* where private homes are made; NULL: $TMPDIR, else /tmp */
};

/* The helm binary to use: flag (--helm) when given, else $GITSYNC_HELM,
 * else the first executable `helm` on PATH.  Returns owned, or NULL when
 * none is found. */
char *helm_find_binary(const char *flag);

/* A runner (owned, helm_runner_free).  opts may be NULL (all defaults).
 * Errors: GS_ENOTFOUND when no helm binary can be found or it is not
 * executable (the message says to install it: scripts/get-helm.sh, or
 * --helm / GITSYNC_HELM). */
int helm_runner_new(struct helm_runner **out, const struct helm_runner_opts *opts,
		    struct gs_error *err);
void helm_runner_free(struct helm_runner *r);

/* The binary this runner executes (borrowed). */
const char *helm_runner_binary(const struct helm_runner *r);

/* Counters since helm_runner_new: helm processes started, helm_template
 * calls answered from the memo.  Either pointer may be NULL. */
void helm_runner_stats(const struct helm_runner *r, unsigned long *runs, unsigned long *memo_hits);

/* Run `helm ARGS...` (args NULL-terminated, without "helm") in directory
 * cwd (absolute), under the runner's limits and scrubbed environment; env
 * (NULL-terminated "K=V", may be NULL) is added to it and wins over the
 * defaults (e.g. HELM_REPOSITORY_CONFIG, or a chart's credentials).
 * stdout is appended to out (may be NULL: discarded).  The caller confines
 * the paths inside args (helm_path_confine).
 * Errors: GS_ELIMIT (time limit or output cap, named in the message),
 * GS_ERR (helm exited non-zero: its stderr is the message, file:line in
 * err->where when helm named one), GS_EIO (could not start). */
int helm_run(struct gs_buf *out, struct helm_runner *r, const char *cwd,
	     const char *const *args, const char *const *env, struct gs_error *err);

/* Resolve rel (relative to base_dir, both inside root; rel may use "../"
 * and symlinks as long as the result stays in root) to an absolute real
 * path: *out owned.  what names the path in messages ("value file").
 * Errors: GS_EINVAL when it resolves outside root (the message says so and
 * names rel), GS_ENOTFOUND when it does not exist. */
int helm_path_confine(char **out, const char *root, const char *base_dir, const char *rel,
		      const char *what, struct gs_error *err);

/* One --set / --set-string / --set-file. */
struct helm_param {
	const char *name;
	const char *value;  /* for file parameters: a path relative to the chart, confined */
	bool force_string;  /* --set-string instead of --set */
};

/* What `helm template` is asked (all borrowed). */
struct helm_template_req {
	const char *root;          /* confinement root, absolute (the repository's export) */
	const char *chart;         /* chart directory or .tgz, relative to root ("" = root),
				    * or to chart_root when set */
	const char *chart_root;    /* NULL: root.  Else the confinement root of the chart
				    * alone (absolute: a chart pulled into the chart cache);
				    * value files stay confined to root */
	const char *chart_digest;  /* identity of the chart's content (e.g. a .tgz digest);
				    * NULL: the runner hashes the chart directory's files */
	const char *release_name;  /* NULL/"": --generate-name (kustomize's way; helm
				    * template then names it "release-name") */
	const char *namespace;     /* NULL/"": helm's default */
	const char *kube_version;  /* --kube-version, e.g. "v1.20.2"; NULL: helm's default */
	const char *const *api_versions; /* --api-versions, each "group/version[/Kind]" */
	size_t n_api_versions;
	const char *const *value_files;  /* --values, relative to the chart (may use ../
					  * within root) or absolute inside root */
	size_t n_value_files;
	bool ignore_missing_value_files; /* else a missing one is GS_ENOTFOUND */
	const char *values;        /* YAML text passed as the last --values, may be NULL */
	bool values_first;         /* values goes before value_files instead (kustomize's
				    * order: its values file, then additionalValuesFiles) */
	const struct helm_param *params;      /* --set / --set-string, in order */
	size_t n_params;
	const struct helm_param *file_params; /* --set-file */
	size_t n_file_params;
	bool include_crds;         /* --include-crds (Argo CD: unless skipCrds) */
	bool skip_tests;           /* --skip-tests */
	bool no_hooks;             /* --no-hooks (kustomize's skipHooks) */
	bool dependency_build;     /* `helm dependency build` first when Chart.yaml has
				    * dependencies and charts/ lacks them */
	const char *const *extra_args; /* NULL-terminated flags appended as they are */
	const char *const *env;    /* NULL-terminated "K=V" for this chart only (its credentials) */
};

/* `helm template` of req (see above); the rendered YAML stream is appended
 * to out.  *memo_hit (may be NULL) says whether it came from the memo.
 * Errors: those of helm_run and helm_path_confine, each wrapped with the
 * chart's path. */
int helm_template(struct gs_buf *out, bool *memo_hit, struct helm_runner *r,
		  const struct helm_template_req *req, struct gs_error *err);

/* Does dir (absolute) hold a chart (a Chart.yaml file)? */
bool helm_is_chart_dir(const char *dir);

#endif
