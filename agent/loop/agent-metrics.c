/* agent-metrics.c - the agent's /metrics families, fed at scrape time from
 * the index and the kube clients' counters. */
#include <stdio.h>

#include "gitsrc/gitsrc.h"
#include "loop/loop-private.h"
#include "loop/workq.h"

/* Every attempt of every kube request, from any of the agent's clients. */
void agent_observe_kube(const char *method, long status, void *payload)
{
	struct agent *a = payload;
	char code[16];

	snprintf(code, sizeof(code), "%ld", status);
	metrics_add(a->m_kube_codes, 1, method, status ? code : "none");
}

void agent_observe_git(double seconds, bool ok, bool fetched, void *payload)
{
	struct agent *a = payload;

	metrics_observe(a->m_git, seconds, !ok ? "error" : fetched ? "fetched" : "cached");
}

void agent_observe_phase(const char *phase, double seconds, void *payload)
{
	struct agent *a = payload;

	metrics_observe(a->m_phase, seconds, phase);
}

static void add_stats(struct kube_client_stats *sum, const struct kube_client_stats *s)
{
	sum->requests += s->requests;
	sum->retries += s->retries;
	sum->get += s->get;
	sum->list += s->list;
	sum->patch += s->patch;
	sum->del += s->del;
	sum->post += s->post;
	sum->put += s->put;
	sum->discovery += s->discovery;
	sum->get_cache += s->get_cache;
}

static void collect(struct metrics_registry *r, void *payload)
{
	struct agent *a = payload;
	struct kube_client_stats sum = { 0 };
	size_t i, resources = 0;
	(void)r;

	metrics_family_reset(a->m_apps);
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->napps; i++) {
		metrics_add(a->m_apps, 1, a->apps[i].sync_status, a->apps[i].health_status);
		resources += a->apps[i].nresources;
	}
	for (i = 0; i < a->nworkers; i++)
		add_stats(&sum, &a->workers[i].stats);
	add_stats(&sum, &a->informer_stats);
	add_stats(&sum, &a->elector_stats);
	metrics_set(a->m_watch, (double)a->watch_objects);
	metrics_set(a->m_cache, (double)a->cache_bytes);
	pthread_mutex_unlock(&a->lock);
	metrics_set(a->m_resources, (double)resources);
	metrics_set(a->m_queue, (double)workq_len(a->q));
	{
		struct gitsrc_share_stats gs;

		gitsrc_share_stats(a->git_share, &gs);
		metrics_set(a->m_git_remote, (double)gs.remote_checks, "ls-remote");
		metrics_set(a->m_git_remote, (double)gs.fetches, "fetch");
		metrics_set(a->m_git_remote, (double)gs.shared, "shared");
	}
	/* the kube client counts per verb (retries included); see report */
	metrics_set(a->m_kube, (double)sum.get, "GET");
	metrics_set(a->m_kube, (double)sum.list, "LIST");
	metrics_set(a->m_kube, (double)sum.patch, "PATCH");
	metrics_set(a->m_kube, (double)sum.post, "POST");
	metrics_set(a->m_kube, (double)sum.put, "PUT");
	metrics_set(a->m_kube, (double)sum.del, "DELETE");
	metrics_set(a->m_kube, (double)sum.discovery, "DISCOVERY");
	/* of the GETs, those the watch cache answered (reconcile's app_get_at) */
	metrics_set(a->m_kube, (double)sum.get_cache, "GET_CACHE");
	metrics_set(a->m_kube, (double)sum.retries, "RETRY");
}

void agent_metrics_register(struct agent *a)
{
	a->m = metrics_registry_new();
	a->m_apps = metrics_gauge(a->m, "gitsync_applications",
				  "Applications by sync and health status.",
				  "sync_status,health_status");
	a->m_ops = metrics_counter(a->m, "gitsync_sync_operations_total",
				   "Sync operations run, by final phase.", "phase");
	a->m_reconcile = metrics_histogram(a->m, "gitsync_reconcile_duration_seconds",
					   "Time to reconcile one application (fetch, render, "
					   "compare, and sync when needed).",
					   NULL, NULL, 0);
	a->m_reconciles = metrics_counter(a->m, "gitsync_reconciles_total",
					  "Reconciles by outcome.", "outcome");
	/* A gauge fed from the kube clients' cumulative counters at scrape
	 * time; it only grows, like a counter, but is not incremented here. */
	a->m_kube = metrics_gauge(a->m, "gitsync_kube_requests",
				  "Kubernetes API requests made so far, by verb.", "verb");
	a->m_resources = metrics_gauge(a->m, "gitsync_managed_resources",
				       "Resources of all applications at the last reconcile.", NULL);
	a->m_leader = metrics_gauge(a->m, "gitsync_leader",
				    "1 when this replica holds the leader Lease.", NULL);
	a->m_queue = metrics_gauge(a->m, "gitsync_workqueue_depth",
				   "Applications queued or being reconciled.", NULL);
	a->m_cache = metrics_gauge(a->m, "gitsync_git_cache_bytes",
				   "Bytes of the Git cache on disk (clones and exports), measured "
				   "after each garbage collection (every 10 minutes).",
				   NULL);
	a->m_watch = metrics_gauge(a->m, "gitsync_watch_cache_objects",
				   "Objects in the watch caches (Applications and managed objects).",
				   NULL);
	a->m_watch_own = metrics_counter(a->m, "gitsync_watch_own_events_total",
					 "Watch events of managed objects that were the state a "
					 "sync applied or a comparison found in sync: no news, no "
					 "reconcile queued.",
					 NULL);
	a->m_kube_codes = metrics_counter(a->m, "gitsync_kube_requests_total",
					  "Kubernetes API requests (each attempt), by HTTP verb and "
					  "status code (none: no response).",
					  "verb,code");
	{
		/* ls-remote alone is tens of ms; a fetch of a large repository,
		 * seconds to minutes */
		static const double git_bounds[] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
						     1, 2.5, 5, 10, 30, 60, 120 };
		a->m_git = metrics_histogram(a->m, "gitsync_git_fetch_duration_seconds",
					     "Time of the Git source step (ls-remote, fetch when "
					     "the commit is new, export), by result.",
					     "result", git_bounds,
					     sizeof(git_bounds) / sizeof(git_bounds[0]));
	}
	{
		/* a status write or a ConfigMap apply: ms; a render child: tens
		 * of ms; a fetch or a health wait: seconds */
		static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
						  0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
		a->m_phase = metrics_histogram(
			a->m, "gitsync_reconcile_phase_seconds",
			"Time of each phase of reconciles: queue (due until a worker takes "
			"it), fetch (ls-remote and fetch, or the shared answer), export, "
			"render, compare, apply, status (each write to an Application).",
			"phase", bounds, sizeof(bounds) / sizeof(bounds[0]));
	}
	a->m_git_remote = metrics_gauge(a->m, "gitsync_git_remote_requests",
					"What the workers asked Git remotes so far (ls-remote, "
					"fetch), and source steps answered by another's "
					"(shared): one per repository and revision, not per app.",
					"kind");
	metrics_set(a->m_leader, 0);
	metrics_registry_on_collect(a->m, collect, a);
}
