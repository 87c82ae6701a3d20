/* render.h - render an Application's source under a budget, in a child
 * process with setrlimit (address space, CPU) so that nothing a commit does
 * while rendering can grow the agent's own memory or stall it.
 *
 * The child is `gitsync render --framed` (the front binary, which renders
 * without libgit2/libcurl); it streams the rendered objects back as JSON,
 * one per line, each after its file and line.  A child killed by its limits
 * becomes a GS_ELIMIT naming the limit.  Thread-safe: no shared state.
 */
#ifndef RENDER_H
#define RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-error.h"
#include "kz-build.h"

struct render_limits {
	const char *exe;      /* renderer binary (borrowed); NULL renders in this process */
	struct kz_budget budget; /* nodes, files, seconds (0 = kz defaults) */
	size_t max_output;    /* rendered JSON bytes; 0 = RENDER_DEFAULT_OUTPUT */
	size_t max_memory;    /* child address space (RLIMIT_AS); 0 = RENDER_DEFAULT_MEMORY */
	/* Remote resources (kz-build.h): the loader that fetches them, NULL to
	 * refuse them.  It runs in this process even when the render runs in
	 * a child: the child asks for each remote over a pipe, so credentials
	 * and the decision stay here and the child only reads the export. */
	kz_remote_fn remote;
	void *remote_arg;
	/* helmCharts (kz-build.h): run here too, the child asking over the
	 * pipe like for remotes (NULL: refused, saying to enable helm) */
	kz_helm_fn helm;
	void *helm_arg;
	/* The memo of successful child renders (NULL: none), for a root that
	 * never changes (a commit's export): the same root, path and limits
	 * are parsed from the child's kept output instead of running a child
	 * again.  Renders that asked for a remote resource or a helm chart are
	 * never kept (a remote ref may move, the cluster's version may
	 * change).  memo_refresh: render anyway, keep the new
	 * output (a hard refresh).  memo_hit (may be NULL): set when the
	 * answer came from the memo. */
	struct render_memo *memo;
	bool memo_refresh;
	bool *memo_hit;
	/* Key the memo by what the render reads rather than by root, so an
	 * unchanged directory of a new commit runs no child (issue 20); NULL
	 * (the front binary), or false from it: by root.  The agent gives
	 * render_content_key. */
	bool (*content_key)(char hex[65], const char *dir, bool recurse);
	/* helmCharts' charts not in the repository (kz_chart_pull_fn): pulled
	 * here too, the child asking over the pipe (NULL: refused) */
	kz_chart_pull_fn pull;
	void *pull_arg;
};
/* helmCharts of kustomizations (render-helm.c, not in the front binary):
 * a kz_helm_fn whose arg is a struct render_helm.  runner is borrowed
 * (thread-safe, may be NULL: one is made from binary, NULL = GITSYNC_HELM
 * or PATH, on the first chart and freed by render_helm_release).
 * kube_version / api_versions (borrowed, may be NULL) serve the charts
 * that set none, as kubectl kustomize's --helm-kube-version and
 * --helm-api-versions do (kustomize decodes the chart's entry over them). */
struct helm_runner;
struct helm_repo;
struct render_helm {
	struct helm_runner *runner;
	const char *binary;
	const char *kube_version;
	const char *const *api_versions;
	size_t n_api_versions;
	struct helm_runner *own;
	/* render_helm_pull: the chart cache (borrowed; helm-repo.h) and the
	 * client opened there on the first pull (freed by release) */
	const char *chart_cache;
	struct helm_repo *repo;
};
int render_helm_chart(void *arg, const struct kz_helm_chart *chart, struct gs_buf *out,
		      struct gs_error *err);
/* A kz_chart_pull_fn whose arg is a struct render_helm: the chart pulled
 * anonymously (kustomize has no credentials for helmCharts) with
 * helm_repo_pull into h->chart_cache, by digest, and unpacked there.  Not
 * thread-safe per render_helm (one per render). */
int render_helm_pull(void *arg, const struct kz_chart_pull *req, char **root_out,
		     char **chart_out, struct gs_error *err);
void render_helm_release(struct render_helm *h);

#define RENDER_DEFAULT_OUTPUT ((size_t)64 << 20)
#define RENDER_DEFAULT_MEMORY ((size_t)1 << 30)

/* A memo bounded by max_entries rendered sets and max_bytes of kept
 * output (the framed JSON, about the rendered objects' size); the least
 * recently used set goes first, and one set larger than a quarter of
 * max_bytes is not kept.  Thread-safe (one lock). */
struct render_memo;
struct render_memo *render_memo_new(size_t max_entries, size_t max_bytes);
void render_memo_free(struct render_memo *m);
#define RENDER_MEMO_ENTRIES 4096
#define RENDER_MEMO_BYTES ((size_t)8 << 20)

/* The SHA-256 (hex) of what rendering dir as plain manifests reads: each
 * regular file's name and bytes, in name order, descending into
 * subdirectories only with recurse.  False, no key, when the render could
 * read anything else or more: a kustomization (its resources may be
 * outside dir), a symlink, another kind of file, over 1,000 files or
 * 4 MiB.  Same key, same files: the same output, whatever the root.
 * (render-content.c; not in the front binary.) */
bool render_content_key(char hex[65], const char *dir, bool recurse);

/* The renderer next to the running binary (`gitsync` beside gitsync-core),
 * else the running binary itself (every gitsync binary has `render`).
 * Returns owned, or NULL when neither can be found. */
char *render_default_exe(void);

/* The render child's own limits, set first thing (render_run starts it
 * with posix_spawn, which cannot): RLIMIT_AS of max_mem bytes, RLIMIT_CPU
 * of cpu_s seconds (0: leave it).  Never raises a limit it inherited. */
void render_child_limits(size_t max_mem, double cpu_s);

/* Render root/path (root an absolute directory, path relative to it, ""
 * for root) into out (appended on success only).  lim may be NULL (all
 * defaults, in process).  cost (may be NULL) receives what it used.
 * Errors: those of kz_render; GS_ELIMIT for any limit, named in the
 * message (render-max-nodes, render-max-files, render-timeout,
 * render-max-output, render-max-memory); GS_ERR when the child could not
 * run. */
int render_run(struct kz_output *out, const struct render_limits *lim, const char *root,
	       const char *path, bool recurse, struct kz_cost *cost, struct gs_error *err);

/* The child's side (`gitsync render --framed`): write out's documents to
 * the stream f in the framed format render_run reads, stopping with
 * GS_ELIMIT when more than max_output bytes (0: default) would be written;
 * cost is written last.  Used by cmd-render.c. */
int render_write_framed(void *f, struct kz_output *out, size_t max_output,
			const struct kz_cost *cost, struct gs_error *err);

/* The child's side of a failed render: err in the framed format. */
void render_write_framed_error(void *f, const struct gs_error *err);

/* The child's loader for remote resources (a kz_remote_fn; arg unused):
 * asks the parent (render_run) on stdout and reads the answer on stdin. */
int render_child_remote(void *arg, const struct kz_remote *rem, char **dir_out,
			struct gs_error *err);

/* The child's helm hook (a kz_helm_fn; arg unused): asks the parent
 * (render_run, which runs lim->helm) over the pipe. */
int render_child_helm(void *arg, const struct kz_helm_chart *chart, struct gs_buf *out,
		      struct gs_error *err);

/* The child's chart puller (a kz_chart_pull_fn; arg unused): asks the
 * parent (render_run, which runs lim->pull) over the pipe. */
int render_child_pull(void *arg, const struct kz_chart_pull *req, char **root_out,
		      char **chart_out, struct gs_error *err);

/* A kz_remote_fn over gitsrc (render-remote.c, not in the front binary):
 * fetch rem->repo_url at rem->ref into the Git cache (the same fetch,
 * cache keyed by URL and credentials, and confined export as an
 * Application's source) and give the export.  prepare decides whether
 * the repository may be used (GS_EAUTH naming the rule when not) and
 * fills auth, whose strings must stay valid until release (may be NULL). */
struct gitsrc;
struct gitsrc_auth;
struct render_git_loader {
	struct gitsrc *git;
	int (*prepare)(void *arg, const char *url, struct gitsrc_auth *auth, struct gs_error *err);
	void (*release)(void *arg);
	void *arg;
};
int render_git_remote(void *loader, const struct kz_remote *rem, char **dir_out,
		      struct gs_error *err);

#endif
