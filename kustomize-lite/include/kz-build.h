/* kz-build.h - render a kustomization (or a directory of plain manifests)
 * into the list of objects `kubectl kustomize` would print.
 *
 * Everything is read through a root-confined kz_fs.  Output objects are in
 * kustomize's output order (legacy kind order unless sortOptions says fifo)
 * with the JSON-style scalar normalisation kustomize applies; emit them with
 * mf_yaml_emit_docs(..., MF_EMIT_SORT_KEYS) to get kubectl's bytes.
 * Not thread-safe per call; no globals, so concurrent builds on distinct
 * outputs are fine.
 */
#ifndef KZ_BUILD_H
#define KZ_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "kz-fs.h"
#include "mf-node.h"
#include "mf-yaml.h"

/* The rendered objects.  docs.docs[i] are owned by the output; the file
 * names their positions point at are owned by it too, so nodes taken out of
 * docs must not outlive the kz_output. */
struct kz_output {
	struct mf_docs docs;
	char **files;
	size_t nfiles, afiles;
};
#define KZ_OUTPUT_INIT { MF_DOCS_INIT, NULL, 0, 0 }
void kz_output_release(struct kz_output *out);

enum kz_render_flags {
	KZ_RENDER_RECURSE = 1 << 0, /* plain directories: descend (Argo CD directory.recurse) */
};

/* A budget for one whole render, so that no commit (alias bombs spread
 * over many files, a base included thousands of times through layers, a
 * JSON patch doubling a document) costs more than a real repository ever
 * needs.  A field at 0 takes the default.  Exceeding any limit fails the
 * render with GS_ELIMIT; the message names the limit and err->where the
 * file being read or built when it was crossed.
 * - max_nodes: nodes parsed from files (a file read twice counts twice)
 *   and nodes of any kustomization's output.  kube-prometheus reads about
 *   33,000; default 1,000,000 (about 90 MB of memory).
 * - max_files: files read; default 200,000.
 * - max_seconds: wall time; default 60. */
struct kz_budget {
	size_t max_nodes;
	size_t max_files;
	double max_seconds;
};
#define KZ_BUDGET_DEFAULT_NODES 1000000u
#define KZ_BUDGET_DEFAULT_FILES 200000u
#define KZ_BUDGET_DEFAULT_SECONDS 60.0

/* What a render cost (filled by kz_render_budget, on success or failure). */
struct kz_cost {
	size_t nodes, files;
	double seconds;
};

/* A remote resource: a `resources:` (or `bases:`) entry in kustomize's
 * remote target syntax, e.g. https://host/org/repo//path?ref=v1.2.3,
 * git@host:org/repo//path?ref=v1, github.com/org/repo/path?ref=v1 or
 * git::https://host/org/repo.git/path.  Parsed as kustomize v5 does
 * (kz_remote_parse); every field is borrowed for the call. */
struct kz_remote {
	const char *entry;    /* as written in the kustomization */
	const char *repo_url; /* what is cloned (scheme, host and repository path) */
	const char *ref;      /* ?ref= (or ?version=); "" = the remote's default branch */
	const char *path;     /* kustomization directory inside the repository; "" = top */
	double timeout;       /* seconds the fetch may take (?timeout=, default 27, never
			       * past the render budget's time) */
	bool submodules;      /* ?submodules= (default true) */
};

/* The loader a caller provides for remote resources (kustomize-lite itself
 * never touches the network or Git).  It fetches rem->repo_url at rem->ref
 * and sets *dir_out (owned) to an absolute directory holding that commit's
 * tree; the directory is the remote's load root, so nothing outside it is
 * read (symlinks included), and it must stay unchanged during the render.
 * Return GS_OK, or an error (GS_EAUTH when policy refuses the repository,
 * GS_ENET, GS_ENOTFOUND for a missing ref, ...) whose message says what to
 * do; kustomize-lite adds the kustomization file and the entry. */
typedef int (*kz_remote_fn)(void *arg, const struct kz_remote *rem, char **dir_out,
			    struct gs_error *err);

/* One entry of a kustomization's helmCharts (kustomize's
 * HelmChartInflationGenerator), resolved as kustomize v5 resolves it before
 * running `helm template`.  Every pointer is borrowed for the call; paths
 * are relative to the fs root and already confined to the kustomization's
 * directory (no "..", no symlink out).  The hook runs
 *   helm template [RELEASE | --generate-name] ROOT/CHART_DIR
 *        [--namespace NS] [--name-template T] -f VALUES
 *        [-f ROOT/ADDITIONAL]... [--api-versions V]... [--kube-version V]
 *        [--include-crds] [--skip-tests] [--no-hooks]
 * in that order (helm gives later -f files precedence) and returns helm's
 * stdout. */
struct kz_helm_chart {
	const char *kustomization; /* the kustomization file, for messages */
	const char *root;          /* the fs root on disk ("" for a memory tree) */
	const char *chart_dir;     /* <dir>/<chartHome>/<name>, or <chartHome>/<name>-<version>/<name>
				    * when repo and version are both set (kustomize's layout);
				    * for a pulled chart: relative to chart_root */
	const char *chart_root;    /* "" : the chart is in the fs (vendored); else the absolute
				    * directory the pull hook gave (kz_chart_pull_fn), which
				    * the helm hook must allow for this chart only */
	const char *name, *version, *repo; /* as written ("" when absent) */
	const char *release_name;  /* "" : kustomize passes --generate-name (helm: "release-name") */
	const char *namespace;     /* "" : none */
	const char *name_template; /* "" : none */
	const char *values;        /* the values file kustomize hands helm: valuesFile (default
				    * <chart_dir>/values.yaml) as read, or merged with valuesInline
				    * per valuesMerge; never NULL */
	const char *const *values_files; /* additionalValuesFiles, fs-root-relative */
	size_t n_values_files;
	const char *const *api_versions;
	size_t n_api_versions;
	const char *kube_version;  /* "" : helm's default */
	const char *config_home;   /* helmGlobals.configHome ("" : none; a hook may ignore it) */
	bool include_crds, skip_tests, skip_hooks;
};

/* The renderer of a chart (kustomize-lite never runs a process): append
 * helm's output (a YAML stream) to out and return GS_OK, or an error whose
 * message says what failed (helm's stderr); kustomize-lite adds the
 * kustomization file and the chart. */
typedef int (*kz_helm_fn)(void *arg, const struct kz_helm_chart *chart, struct gs_buf *out,
			  struct gs_error *err);

/* A helmCharts entry whose chart is not in the tree but names a repo:
 * what kustomize would `helm pull --untar` into chartHome.  Borrowed. */
struct kz_chart_pull {
	const char *kustomization; /* the kustomization file, for messages */
	const char *name;          /* the chart */
	const char *repo;          /* http(s)://... (an index.yaml) or oci://... */
	const char *version;       /* as written: exact or a range; "" = latest */
};

/* The puller of charts (kustomize-lite never touches the network): make
 * the chart available on disk without writing into the fs, and set
 * *root_out (owned, absolute) to a directory that must stay unchanged
 * during the render, and *chart_out (owned) to the chart's directory
 * relative to it (no "..", no "/" at the start).  kustomize-lite reads
 * the chart's values.yaml from there (symlinks out of root refused) and
 * hands both to the helm hook (kz_helm_chart.chart_root).  Return GS_OK
 * or an error whose message names the repository and what failed (HTTP
 * status, versions seen); kustomize-lite adds the kustomization file and
 * the chart. */
typedef int (*kz_chart_pull_fn)(void *arg, const struct kz_chart_pull *req, char **root_out,
				char **chart_out, struct gs_error *err);

/* Optional hooks of a render (all NULL/0: remote resources and helmCharts
 * are refused with an error saying so).  Bounds on remote resources, 0 =
 * default: max_remotes distinct (repository, ref) fetched per render
 * (default 32), max_remote_depth remote bases nested in remote bases
 * (default 8).  helm renders helmCharts entries (NULL: refused, like
 * `kubectl kustomize` without --enable-helm).  pull fetches the charts of
 * entries with a repo that are not in the tree (NULL: such an entry is
 * refused, saying to vendor the chart); used only with helm. */
struct kz_hooks {
	kz_remote_fn remote;
	void *remote_arg;
	unsigned max_remotes;
	unsigned max_remote_depth;
	kz_helm_fn helm;
	void *helm_arg;
	kz_chart_pull_fn pull;
	void *pull_arg;
};
#define KZ_REMOTE_DEFAULT_MAX 32u
#define KZ_REMOTE_DEFAULT_DEPTH 8u
#define KZ_REMOTE_DEFAULT_TIMEOUT 27.0

/* Parse entry as kustomize's remote target syntax.  Returns false (nothing
 * set) when entry is not a remote target (a local path); on true the
 * caller frees *repo_url, *ref and *path. */
bool kz_remote_parse(const char *entry, char **repo_url, char **ref, char **path,
		     double *timeout, bool *submodules);

/* Build the kustomization in directory dir (root-relative, normalised, ""
 * for the root).  Appends to out only on success.
 * Errors: GS_ENOTFOUND (missing file or kustomization), GS_EINVAL (invalid
 * kustomization, YAML syntax, escaping path, unknown field, patch matching
 * nothing, ...), GS_ECONFLICT (two objects with one id), GS_ELIMIT. */
int kz_build(struct kz_output *out, const struct kz_fs *fs, const char *dir,
	     struct gs_error *err);

/* Render path as `gitsync render` does: a directory holding a
 * kustomization is built with kz_build; another directory is read as plain
 * manifests (*.yaml, *.yml, *.json sorted by name, List kinds expanded,
 * documents that are not Kubernetes objects skipped, subdirectories only
 * with KZ_RENDER_RECURSE); a file is read as manifests.  Same errors. */
int kz_render(struct kz_output *out, const struct kz_fs *fs, const char *path, unsigned flags,
	      struct gs_error *err);

/* kz_render under budget (borrowed; NULL = all defaults); cost (may be
 * NULL) receives what the render used. */
int kz_render_budget(struct kz_output *out, const struct kz_fs *fs, const char *path,
		     unsigned flags, const struct kz_budget *budget, struct kz_cost *cost,
		     struct gs_error *err);

/* kz_render_budget with hooks (borrowed; NULL = none). */
int kz_render_hooks(struct kz_output *out, const struct kz_fs *fs, const char *path,
		    unsigned flags, const struct kz_budget *budget, const struct kz_hooks *hooks,
		    struct kz_cost *cost, struct gs_error *err);

/* Kustomize's content hash of a generated ConfigMap or Secret (the suffix
 * appended to its name: 10 characters).  obj is borrowed; out must hold 11
 * bytes.  Errors: GS_EINVAL when obj is neither kind. */
int kz_hash_object(char out[11], const struct mf_node *obj, struct gs_error *err);

#endif
