/* loop-private.h - what the files of the agent loop share (see agent.h and
 * docs/internals/agent-loop.md).
 *
 *   agent.c          threads, leader flag, shutdown; agent_run()
 *   index.c          the Application index (struct app_entry), under a->lock
 *   informer.c       watches: Applications, managed kinds; what is due
 *   reconcile.c      workers: compare, sync, retry backoff, settling
 *   api.c            HTTP callbacks: readiness, push webhooks, the API routes
 *   appwait.c        long polls woken by Application events
 *   secret.c         the Secret gitsync-secret (webhook secrets, API tokens)
 *   agent-metrics.c  /metrics families and the scrape-time collector
 *
 * Not for use outside agent/loop/.
 */
#ifndef GS_LOOP_PRIVATE_H
#define GS_LOOP_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "httpd/httpd.h"
#include "kube/kube-client.h"
#include "loop/appwait.h"
#include "loop/agent.h"

#define SECRET_NAME "gitsync-secret"
#define REFRESH_ANNOTATION "gitsync.io/refresh"
#define POLL_ANNOTATION "gitsync.io/poll-interval"
#define PATHS_ANNOTATION "gitsync.io/refresh-paths"

/* One Application as the informer last saw it. */
struct app_entry {
	char *key; /* "namespace/name" */
	char *repo, *revision;
	bool automated, self_heal;
	long long generation;
	bool refresh, has_op;
	double poll_s;
	double last_reconcile; /* monotonic; 0 = never */
	double next_retry;     /* backoff after a failure; 0 = none */
	unsigned attempts;     /* failures since the last sync or Synced comparison */
	long long failed_gen;  /* the generation a failed automated sync ran at;
				* 0 = none or unknown (an operation's, after a restart) */
	unsigned settle;       /* re-assessments while Progressing (see settle_delay) */
	char sync_status[16], health_status[16];
	size_t nresources;
	char **paths; /* gitsync.io/refresh-paths, repository-relative; NULL = any */
	size_t npaths;
	uint32_t name_hash; /* of the name: the objects' gitsync.io/app label */
	double last_op_queued; /* an .operation re-queued at most every 10 s */
	char synced_sha[41];   /* status.sync.revision: its export is kept by the GC */
	/* per-repository polling (issue 20): apps of one group read one
	 * clone at one revision (repository, revision, secretRef) */
	char *group;
	char compared_sha[41]; /* the commit of the last comparison */
	long long compared_gen;/* the generation it compared */
	double last_full;      /* monotonic time of the last comparison */
	double seen_wall;      /* wall time the agent first indexed the app */
	/* the newest resourceVersion of the app the agent has seen (watch
	 * events, its own writes): reconcile reads the app from the API
	 * server's watch cache at that version or later, no etcd read
	 * (agent_index_read_rv); 0 = unknown, etcd answers */
	unsigned long long rv;
	double rv_unsure_until; /* monotonic: a write of unknown outcome; etcd answers until then */
};

/* What a group's repository answered when last asked (not shared). */
struct repo_poll {
	char *group;
	char sha[41];
	double checked; /* monotonic */
	double asking_until; /* one app of the group is asking: the others wait */
};

/* One kind the apps manage, watched cluster-wide for objects carrying the
 * tracking label (any app): one stream per kind, not per app and kind. */
struct kind_watch {
	struct agent *a;
	char *gvk;               /* "group/version/Kind" as in status.managedKinds */
	struct kube_cache *c;    /* NULL until made (or after a failure) */
	double next_try;         /* after a failure (kind unknown, forbidden) */
	bool listing;            /* the first LIST: the objects are not news */
};

/* A watch event of a managed object waiting (briefly) for the shared memo
 * to say whether it is the state a worker just applied (informer.c). */
struct agent_suspect {
	char *key, *rv;  /* owned: the memo's key, the event's resourceVersion */
	uint32_t h;      /* the app's tag */
	bool news;       /* news to every app (else: the first LIST's) */
	double at;
};

/* Per-thread tools: none of these is thread-safe. */
struct tools {
	struct kube_client *kc;
	struct gitsrc *git;
	struct sync_engine *se;
	struct app_env env;
};

struct agent;

struct worker {
	struct agent *a;
	pthread_t thread;
	struct tools t;
	struct kube_client_stats stats; /* snapshot, under a->lock */
	unsigned id;
	double busy_since; /* on one app since (monotonic), 0 = waiting; under a->lock */
};

struct agent {
	const struct agent_config *cfg;
	struct kube_config *kcfg;
	struct workq *q;
	struct metrics_registry *m;
	struct metrics_family *m_apps, *m_ops, *m_reconcile, *m_reconciles, *m_kube,
		*m_resources, *m_leader, *m_queue;
	struct httpd *h;
	struct httpd_ops ops;

	pthread_mutex_t lock; /* index, leader flag, stats, wanted kinds */
	struct app_entry *apps;
	size_t napps, aapps;
	/* Git cache GC (reconcile.c maybe_gc): the last run, one at a time, the size */
	double last_gc;
	bool gc_running;
	uint64_t cache_bytes;
	struct metrics_family *m_cache;
	bool leader;
	double leader_until; /* monotonic deadline of the leader flag, < 0 none */
	bool synced; /* first Application list done */
	bool stopping;
	char *secret_rv;
	char **want_kinds;     /* managedKinds of every app (never shrinks) */
	size_t nwant, awant;
	bool kinds_watched;    /* every wanted kind's cache synced: drift comes
				* from events, no periodic self-heal compare */
	/* the watches of those kinds (informer.c); the array and each c under
	 * lock, the caches read by the workers' runs (agent_live_cache) */
	struct kind_watch **kws;
	size_t nkw, akw;
	/* a kind's first LIST ended, made or failed (agent_live_cache waits) */
	pthread_cond_t kinds_cond;
	/* the informer's watcher while it runs (under lock): woken when a run
	 * asks for a kind not watched yet */
	struct kube_watcher *watcher;
	struct agent_suspect *suspects; /* under lock */
	size_t nsuspects, asuspects;
	bool workers_detached; /* a sync outlived the grace: keep the watcher */
	size_t watch_objects;  /* objects in the watch caches (for /metrics) */
	/* Applications first seen in a namespace the agent does not watch,
	 * waiting for their Event (informer.c, outside the watcher's lock) */
	struct mf_node **ignored;
	size_t nignored, aignored;
	struct metrics_family *m_watch, *m_kube_codes, *m_git, *m_watch_own;
	/* per-phase times of reconciles, what went to Git remotes (issue 20) */
	struct metrics_family *m_phase, *m_git_remote;
	struct repo_poll *polls; /* under lock */
	size_t npolls, apolls;
	/* one answer per repository and revision for every worker (gitsrc.h) */
	struct gitsrc_share *git_share;
	/* the verdicts of every worker's sync engine (sync.h): whichever worker
	 * compares an app next decides from the watch caches what another
	 * synced */
	struct sync_memo *memo;
	/* the Projects and Git credential templates of the agent's namespace,
	 * kept whole from watches for the workers (kept.h) */
	struct kept *kept_projects, *kept_creds;

	pthread_mutex_t api_lock; /* the API's own tools */
	struct tools api;
	/* long polls, woken by the informer's Application events (appwait.h) */
	struct appwait *waits;
	struct metrics_family *m_poll_reads;

	struct worker *workers;    /* max_workers slots, nworkers started (under lock) */
	unsigned nworkers, workers_done, max_workers;
	pthread_cond_t workers_cond;
	pthread_t informer, elector;
	bool have_elector;
	struct lease *lease;
	struct kube_client *elector_kc;
	struct kube_client_stats informer_stats, elector_stats;
	struct helm_runner *helm; /* renders Helm charts for every worker (NULL: no helm) */
	struct hl_set *health; /* users' health checks (--lua-dir, ConfigMap gitsync-health);
				* read-only once the threads run */
};

/* ---- agent.c ---- */

/* "ns/name", owned by the caller. */
char *agent_app_key(const char *ns, const char *name);
/* "ns/name" -> ns, name (truncated to the buffers). */
void agent_split_key(const char *key, char *ns, size_t nsz, char *name, size_t namesz);
/* Leader and not stopping (takes a->lock). */
bool agent_is_leader(struct agent *a);
bool agent_is_leader_locked(struct agent *a); /* a->lock held */
/* Shutdown has begun (takes a->lock). */
bool agent_stopping(struct agent *a);
/* Sleep up to s seconds, waking early on shutdown. */
void agent_nap(struct agent *a, double s);

/* ---- informer.c ---- */

/* sync_cache_lookup_fn for the workers' runs (payload: the agent): the
 * synced cache of res's kind, shared by every app, or NULL.  A needed
 * kind not watched yet is watched from now on, and its first LIST awaited
 * for a while: one LIST for every app, not one per app compared meanwhile. */
struct kube_cache *agent_live_cache(const struct kube_resource *res, bool needed, void *payload);
/* app_env's kept_project and kept_creds (payload: the agent). */
int agent_kept_project(struct mf_node **out, const char *name, void *payload);
int agent_kept_creds(int (*fn)(const struct mf_node *secret, void *arg), void *arg,
		     void *payload);

/* Start one more worker when apps are due and every worker but fewer than
 * --workers is held by one app for long (a health wait, a slow fetch):
 * slow apps never take the whole pool.  Up to max_workers (informer). */
void agent_workers_grow(struct agent *a);

/* ---- index.c (every function here expects a->lock held, but update and forget) ---- */

/* Watch gvk ("group/version/Kind", as in status.managedKinds) from now on. */
void agent_want_kind(struct agent *a, const char *gvk);

/* The entry of "ns/name", borrowed from the index, or NULL. */
struct app_entry *agent_index_find(struct agent *a, const char *key);
void agent_index_entry_release(struct app_entry *e);
/* FNV-1a of an app name (the objects' gitsync.io/app label). */
uint32_t agent_name_hash(const char *s);
/* An Application added (added: first seen, logs when ignored) or changed:
 * index it, queue it when needed.  Takes a->lock. */
void agent_index_update(struct agent *a, const struct mf_node *app, bool added);
/* Are Applications of ns read: the agent's namespace or --app-namespaces? */
bool agent_app_namespace_allowed(const struct agent_config *cfg, const char *ns);
/* Record a comparison of e at sha (generation gen); asked: the remote was
 * asked now (not a shared answer).  Expects a->lock held. */
void agent_index_compared(struct agent *a, struct app_entry *e, const char *sha, long long gen,
			  bool asked);
/* What to do with e, due by its poll interval: leave it alone (its
 * group's repository was asked less than a poll interval ago and answered
 * the commit e compared, at its generation, and nothing else could have
 * changed it unseen), wait (the answer is old, and another app of the
 * group is asking now), or queue it (then it asks for the group).
 * Expects a->lock held. */
enum poll_action { POLL_QUEUE, POLL_LEAVE, POLL_WAIT };
enum poll_action agent_index_poll_action(struct agent *a, const struct app_entry *e, double now);
/* Is e due by time alone: its poll interval elapsed (a backoff does not
 * hold a poll back: a poll only compares, may_retry keeps the sync on the
 * backoff), or, while the managed kinds are not all watched (kinds_watched
 * false), the self-heal interval of a selfHeal app that is not backing off.
 * Pure: reads e only. */
bool agent_index_due(const struct app_entry *e, bool kinds_watched, double self_heal_s,
		     double now);
/* Has e failed more often than spec.syncPolicy.retry.limit allows
 * (limit < 0: no limit)?  Pure. */
bool agent_index_retry_exhausted(const struct app_entry *e, long long limit);
/* When a reconcile of e ends at now: the delay after which it must run
 * again for its retry backoff, or AGENT_RETRY_NONE.  retry: the reconcile
 * left something a later try may fix (a comparison that failed, a sync the
 * app's policy retries); limit: spec.syncPolicy.retry.limit (-1 none).
 * None when nothing failed, when no retry can happen, or when the backoff
 * is over: the app is then left to its poll interval and to events (a
 * backoff in the past queued it again at once: ~70 compares a second).
 * Pure. */
#define AGENT_RETRY_NONE (-1.0)
double agent_index_retry_delay(const struct app_entry *e, bool retry, long long limit,
			       double now);
/* Was the spec changed since e's last automated sync failed (gen: the
 * generation just read)?  Then that sync runs again whatever the retry
 * policy (allowEmpty set after an empty commit was refused).  False when
 * the failing generation is unknown (0).  Pure. */
bool agent_index_spec_changed_since_failure(const struct app_entry *e, long long gen);
/* An Application deleted.  Takes a->lock. */
void agent_index_forget(struct agent *a, const char *ns, const char *name);
/* A resourceVersion as a number, for taking the newest of two; 0 when it
 * is not made of digits alone (then never compared: etcd answers).  etcd's
 * are counters, as every client that orders them assumes. */
unsigned long long agent_rv_parse(const char *rv);
/* kube_write_hook of every kube client of the agent: a write to an
 * Application (path) answered 2xx with the object raises its entry's rv;
 * any other outcome may have written it all the same, so reads of it go to
 * etcd for a while (AGENT_RV_UNSURE_S).  Takes a->lock. */
#define AGENT_RV_UNSURE_S 30.0
void agent_app_written(const char *path, long status, const struct gs_buf *body, void *payload);
/* The resourceVersion to read e at (buf, at least 24 bytes), or NULL when
 * etcd must answer.  Expects a->lock held. */
const char *agent_index_read_rv(const struct app_entry *e, double now, char *buf, size_t n);

/* ---- informer.c ---- */

/* Thread body: watches and the periodic queueing, until shutdown. */
void *agent_informer_main(void *arg);

/* ---- reconcile.c ---- */

/* Thread body of a worker (arg: struct worker). */
void *agent_worker_main(void *arg);

/* ---- secret.c ---- */

/* Read the Secret gitsync-secret and hand it to the server when it changed
 * (informer thread). */
void agent_secret_load(struct agent *a, struct kube_client *kc);

/* ---- api.c (server threads) ---- */

/* The server's callbacks: readiness, push webhooks, the API routes. */
void agent_api_ops(struct httpd_ops *ops, struct agent *a);

/* ---- agent-metrics.c ---- */

/* Make the registry and its families (a->m, a->m_*). */
void agent_metrics_register(struct agent *a);
/* kube_client observer: every attempt of every request (payload: agent). */
void agent_observe_kube(const char *method, long status, void *payload);
/* app_env git observer (payload: agent). */
void agent_observe_git(double seconds, bool ok, bool fetched, void *payload);
/* app_env phase observer (payload: agent), and the queue wait. */
void agent_observe_phase(const char *phase, double seconds, void *payload);

#endif
