/* agent.h - `gitsync agent`: the long-running reconciler.
 *
 * Threads (each with its own kube client, Git cache handle and sync engine,
 * since those are single-threaded by design):
 *   main      waits for SIGTERM/SIGINT, then shuts down in order
 *   elector   leader election on the Lease (lease.h); without
 *             --leader-elect=false only the holder reconciles
 *   informer  watches Applications on every replica (the index serves
 *             webhooks, the API and metrics) and, cluster-wide with the
 *             selector gitsync.io/app, every kind the apps manage; re-reads
 *             the Secret gitsync-secret; on the leader queues apps that are
 *             new, changed, asked to refresh (annotation gitsync.io/refresh),
 *             carry an .operation, whose objects changed (drift, health), or
 *             are due (poll interval; self-heal apps at the self-heal
 *             interval only while a managed kind is not watched)
 *   workers   take apps from the deduplicated queue (workq.h) and reconcile:
 *             run the requested operation, or compare and, when automated,
 *             sync a new revision (or any drift with selfHeal), with the app's
 *             retry backoff after a failure; status written on the app
 *   httpd     probes, metrics, webhooks, API (httpd.h); a push matched on
 *             the leader queues the apps at once, on a standby it marks them
 *             with the refresh annotation through the API server
 *
 * Shutdown (SIGTERM): stop taking work, let each worker finish the app it is
 * on (up to the grace period), release the Lease, stop the server, exit 0.
 */
#ifndef GS_AGENT_H
#define GS_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-error.h"
#include "render/render.h"

struct agent_config {
	const char *ns;                /* agent namespace: Lease, Secret, default app namespace */
	/* Namespaces (globs) whose Applications are read besides ns; NULL/0 =
	 * ns only.  An Application elsewhere is ignored (one log line and a
	 * NamespaceNotWatched Event on it). */
	const char *const *app_namespaces;
	size_t n_app_namespaces;
	const char *default_sa;        /* --default-service-account: apps without a
					* service account write as this one (in
					* the app's namespace); NULL = the agent */
	const char *listen;            /* default ":8080" */
	const char *tls_cert, *tls_key;
	double poll_s;                 /* default 180 */
	double resync_s;               /* retry interval of the Application watch setup; default 3 */
	double self_heal_s;            /* drift check interval for selfHeal apps; default 5 */
	double shutdown_grace_s;       /* default 25 */
	unsigned workers;              /* default 3 */
	unsigned max_workers;          /* 0: workers + 16 (at most 64); never below workers */
	bool leader_elect;
	const char *identity;          /* default hostname_pid */
	const char *kubeconfig, *context;
	const char *cache_dir;         /* Git cache; default $GITSYNC_CACHE_DIR or /tmp/gitsync-cache */
	const char *lua_dir;           /* users' Lua health checks, Argo CD's folder layout (may be NULL) */
	size_t webhook_max_bytes;
	const char *health_listen;     /* probes-only listener (httpd.h); NULL = none */
	struct render_limits render;   /* render budget and child (render/render.h) */
	const char *helm;              /* --helm: the helm binary (NULL: GITSYNC_HELM, PATH) */
	double helm_timeout_s;         /* --helm-timeout: per helm run; 0 = 60 s */
	double lease_s, renew_s, retry_s; /* 15, 10, 2 */
};

/* Run until SIGTERM/SIGINT.  Returns GS_OK after a clean shutdown, an error
 * when startup failed (cluster unreachable, address in use, ...).
 * Must be called from the main thread before any other thread exists: it
 * blocks SIGTERM/SIGINT/SIGPIPE process-wide. */
int agent_run(const struct agent_config *cfg, struct gs_error *err);

#endif
