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
};
#define RENDER_DEFAULT_OUTPUT ((size_t)64 << 20)
#define RENDER_DEFAULT_MEMORY ((size_t)1 << 30)

/* The renderer next to the running binary (`gitsync` beside gitsync-core),
 * else the running binary itself (every gitsync binary has `render`).
 * Returns owned, or NULL when neither can be found. */
char *render_default_exe(void);

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

#endif
