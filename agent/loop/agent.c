/* agent.c - `gitsync agent`: threads, leader election and shutdown (see
 * agent.h; the parts are listed in loop-private.h). */
#include "loop/agent.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gitsrc/gitsrc.h"
#include "gs-alloc.h"
#include "health/health-load.h"
#include "helm/helm.h"
#include "kube/kube-config.h"
#include "loop/alog.h"
#include "loop/lease.h"
#include "loop/kept.h"
#include "loop/loop-private.h"
#include "loop/workq.h"
#include "sync/sync-jq.h"
#include "sync/sync.h"

char *agent_app_key(const char *ns, const char *name)
{
	return gs_asprintf("%s/%s", ns, name);
}

void agent_split_key(const char *key, char *ns, size_t nsz, char *name, size_t namesz)
{
	const char *slash = strchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;

	snprintf(ns, nsz, "%.*s", (int)n, key);
	snprintf(name, namesz, "%s", slash ? slash + 1 : key);
}

static int tools_init(struct tools *t, struct agent *a, struct gs_error *err)
{
	int rc;

	memset(t, 0, sizeof(*t));
	rc = kube_client_new(&t->kc, a->kcfg, NULL, err);
	if (rc)
		return rc;
	kube_client_set_observer(t->kc, agent_observe_kube, a);
	kube_client_set_write_hook(t->kc, agent_app_written, a);
	rc = gitsrc_new(&t->git, a->cfg->cache_dir, err);
	if (rc)
		return rc;
	gitsrc_set_share(t->git, a->git_share);
	t->se = sync_engine_new(t->kc);
	sync_engine_share_memo(t->se, a->memo);
	sync_engine_set_health_checks(t->se, a->health);
	t->env.kc = t->kc;
	t->env.git = t->git;
	t->env.se = t->se;
	t->env.ns = a->cfg->ns;
	t->env.git_observe = agent_observe_git;
	t->env.git_observe_payload = a;
	t->env.phase_observe = agent_observe_phase;
	t->env.render = &a->cfg->render;
	t->env.projects_ns = a->cfg->ns;
	t->env.default_sa = a->cfg->default_sa;
	t->env.helm = a->helm;
	t->env.jq_memo = sync_jq_memo_new();
	t->env.live_cache = agent_live_cache;
	t->env.live_cache_payload = a;
	t->env.kept_project = agent_kept_project;
	t->env.kept_creds = agent_kept_creds;
	t->env.kept_payload = a;
	return 0;
}

static void tools_release(struct tools *t)
{
	sync_jq_memo_free(t->env.jq_memo);
	sync_engine_free(t->se);
	gitsrc_free(t->git);
	kube_client_free(t->kc);
	memset(t, 0, sizeof(*t));
}

/* A worker on one app this long is "held" (a wave's health wait, a hook,
 * a large fetch): another worker is started for the apps behind it. */
#define WORKER_HELD_S 5.0
/* Workers started beyond --workers, at most. */
#define WORKERS_EXTRA 16
/* Apps due per free worker beyond which another is started, up to twice
 * --workers: a burst (the first sync of many apps, a push every app reads)
 * waits on the API server, which serves several apps' requests at once.
 * Not more: on 2 cores shared with the API server, 19 workers synced 200
 * new apps 10% faster than 3 for 5 MiB more (issue 20, docs/AGENT.md). */
#define WORKERS_BACKLOG 8

static int start_worker(struct agent *a, struct gs_error *err)
{
	struct worker *w;
	unsigned i;
	int rc;

	pthread_mutex_lock(&a->lock);
	i = a->nworkers;
	pthread_mutex_unlock(&a->lock);
	if (i >= a->max_workers)
		return gs_error_set(err, GS_ELIMIT, "no worker slot left");
	w = &a->workers[i];
	w->a = a;
	w->id = i;
	rc = tools_init(&w->t, a, err);
	if (rc) {
		tools_release(&w->t);
		return rc;
	}
	pthread_mutex_lock(&a->lock);
	a->nworkers++; /* before the thread: the stop path counts it */
	pthread_mutex_unlock(&a->lock);
	if (pthread_create(&w->thread, NULL, agent_worker_main, w)) {
		pthread_mutex_lock(&a->lock);
		a->nworkers--;
		pthread_mutex_unlock(&a->lock);
		tools_release(&w->t);
		return gs_error_set(err, GS_ERR, "cannot start worker thread");
	}
	return GS_OK;
}

void agent_workers_grow(struct agent *a)
{
	struct gs_error err = GS_ERROR_INIT;
	double now = workq_now();
	unsigned i, held = 0, n;
	const char *why;
	size_t due;
	bool grow;

	pthread_mutex_lock(&a->lock);
	n = a->nworkers;
	for (i = 0; i < n; i++)
		if (a->workers[i].busy_since > 0 && now - a->workers[i].busy_since >= WORKER_HELD_S)
			held++;
	grow = !a->stopping && n < a->max_workers;
	pthread_mutex_unlock(&a->lock);
	if (!grow || !(due = workq_due(a->q)))
		return;
	if (n - held < a->cfg->workers)
		why = "held";
	else if (due > WORKERS_BACKLOG * (n - held) && n < 2 * a->cfg->workers)
		why = "backlog";
	else
		return;
	if (start_worker(a, &err))
		alog_ratelimit(300, ALOG_WARN, NULL, NULL, "cannot start a worker: %s", err.msg);
	else if (!strcmp(why, "held"))
		alog(ALOG_INFO, NULL, NULL,
		     "started worker %u: %u of %u held by one app for over %.0f s", n + 1, held, n,
		     WORKER_HELD_S);
	else
		alog(ALOG_INFO, NULL, NULL, "started worker %u: %zu apps due", n + 1, due);
}

/* The flag alone is not enough: the elector thread sets it, and after a
 * pause of the whole process (SIGSTOP, a frozen VM) the workers may run
 * before the elector notices a standby took the Lease.  The deadline is
 * the last renewal + renew deadline on the monotonic clock, which kept
 * running during the pause. */
bool agent_is_leader_locked(struct agent *a)
{
	return a->leader && !a->stopping && (a->leader_until < 0 || workq_now() < a->leader_until);
}

bool agent_is_leader(struct agent *a)
{
	bool l;

	pthread_mutex_lock(&a->lock);
	l = agent_is_leader_locked(a);
	pthread_mutex_unlock(&a->lock);
	return l;
}

bool agent_stopping(struct agent *a)
{
	bool s;

	pthread_mutex_lock(&a->lock);
	s = a->stopping;
	pthread_mutex_unlock(&a->lock);
	return s;
}

/* Sleep up to s seconds, waking early on shutdown. */
void agent_nap(struct agent *a, double s)
{
	double end = workq_now() + s;

	while (!agent_stopping(a) && workq_now() < end) {
		double left = end - workq_now();
		struct timespec ts = { 0, (long)((left < 0.1 ? left : 0.1) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

/* until: see agent_is_leader_locked(); < 0 means no deadline (no election). */
static void set_leader(struct agent *a, bool leader, double until)
{
	bool was;

	pthread_mutex_lock(&a->lock);
	was = a->leader;
	a->leader = leader;
	a->leader_until = until;
	if (leader && !was) {
		/* everything is due once: the previous leader may have stopped
		 * in the middle of anything */
		size_t i;
		for (i = 0; i < a->napps; i++)
			workq_add(a->q, a->apps[i].key, 0);
	}
	pthread_mutex_unlock(&a->lock);
	if (leader != was)
		alog(ALOG_INFO, NULL, NULL, "%s (identity %s)",
		     leader ? "became the leader" : "lost the leadership", a->cfg->identity);
	metrics_set(a->m_leader, leader ? 1 : 0);
}

static void *elector_main(void *arg)
{
	struct agent *a = arg;

	while (!agent_stopping(a)) {
		struct gs_error err = GS_ERROR_INIT;
		double now = workq_now();

		lease_try(a->lease, now, &err);
		if (err.code)
			alog_ratelimit(30, ALOG_WARN, NULL, NULL, "lease: %s", err.msg);
		set_leader(a, lease_is_leader(a->lease, workq_now()),
			   lease_leader_until(a->lease));
		pthread_mutex_lock(&a->lock);
		a->elector_stats = *kube_client_stats(a->elector_kc);
		pthread_mutex_unlock(&a->lock);
		agent_nap(a, a->cfg->retry_s);
	}
	return NULL;
}

int agent_run(const struct agent_config *cfg_in, struct gs_error *err)
{
	struct agent_config cfg = *cfg_in;
	struct agent *a = gs_calloc(1, sizeof(*a));
	struct kube_config_opts kopts = { cfg.kubeconfig, cfg.context, true };
	struct httpd_config hcfg = { 0 };
	struct lease_config lcfg = { 0 };
	char identity[300];
	sigset_t set;
	unsigned i, started = 0;
	bool informer = false;
	int rc, sig = 0;

#ifdef M_ARENA_MAX
	/* glibc gives each thread its own malloc arena; with a dozen threads
	 * that costs several MiB of RSS in fragments for no gain at our
	 * allocation rates.  Two arenas keep contention low and memory flat. */
	mallopt(M_ARENA_MAX, 2);
#endif
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!cfg.ns)
		cfg.ns = APP_DEFAULT_NAMESPACE;
	if (cfg.poll_s <= 0)
		cfg.poll_s = 180;
	if (cfg.resync_s <= 0)
		cfg.resync_s = 3;
	if (cfg.self_heal_s <= 0)
		cfg.self_heal_s = 5;
	if (cfg.shutdown_grace_s <= 0)
		cfg.shutdown_grace_s = 25;
	if (!cfg.workers)
		cfg.workers = 3;
	if (cfg.retry_s <= 0)
		cfg.retry_s = 2;
	if (!cfg.cache_dir)
		cfg.cache_dir = getenv("GITSYNC_CACHE_DIR") ? getenv("GITSYNC_CACHE_DIR")
							    : "/tmp/gitsync-cache";
	if (!cfg.identity) {
		char host[256] = "gitsync";
		gethostname(host, sizeof(host) - 1);
		snprintf(identity, sizeof(identity), "%s_%ld", host, (long)getpid());
		cfg.identity = identity;
	}
	a->cfg = &cfg;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->api_lock, NULL);
	pthread_cond_init(&a->workers_cond, NULL);
	pthread_cond_init(&a->kinds_cond, NULL);
	a->q = workq_new(0);
	a->git_share = gitsrc_share_new();
	a->memo = sync_memo_new();
	a->kept_projects = kept_new();
	a->kept_creds = kept_new();
	a->waits = appwait_new();
	agent_metrics_register(a);

	rc = kube_config_load(&a->kcfg, &kopts, err);
	if (rc)
		goto cleanup;
	{
		/* without helm only charts fail (each app says so): a warning
		 * only when a helm was asked for, not on every chart-less agent */
		struct helm_runner_opts ho = { cfg.helm, cfg.helm_timeout_s, 0, 0, NULL };
		struct gs_error herr = GS_ERROR_INIT;

		if (helm_runner_new(&a->helm, &ho, &herr) < 0)
			alog((cfg.helm && *cfg.helm) || getenv("GITSYNC_HELM") ? ALOG_WARN : ALOG_INFO,
			     NULL, NULL, "%s", herr.msg);
		else
			alog(ALOG_INFO, NULL, NULL, "helm: %s", helm_runner_binary(a->helm));
	}
	rc = tools_init(&a->api, a, err);
	if (rc)
		goto cleanup;
	{
		char *warning = NULL;

		rc = hl_set_load_agent(&a->health, a->api.kc, cfg.ns, cfg.lua_dir, &warning, err);
		if (rc)
			goto cleanup;
		if (warning)
			alog(ALOG_ERROR, NULL, NULL, "%s", warning);
		free(warning);
		alog(ALOG_INFO, NULL, NULL, "%zu Lua health checks", hl_set_count(a->health));
		sync_engine_set_health_checks(a->api.se, a->health);
	}

	agent_api_ops(&a->ops, a);
	hcfg.listen = cfg.listen ? cfg.listen : ":8080";
	hcfg.tls_cert_file = cfg.tls_cert;
	hcfg.tls_key_file = cfg.tls_key;
	hcfg.webhook_max_bytes = cfg.webhook_max_bytes;
	hcfg.health_listen = cfg.health_listen;
	rc = httpd_start(&a->h, &hcfg, &a->ops, a->m, err);
	if (rc)
		goto cleanup;
	alog(ALOG_INFO, NULL, NULL, "serving %s on %s (port %u), namespace %s, %u workers, identity %s",
	     cfg.tls_cert ? "https" : "http", hcfg.listen, httpd_port(a->h), cfg.ns, cfg.workers,
	     cfg.identity);

	a->max_workers = cfg.workers + WORKERS_EXTRA < 64 ? cfg.workers + WORKERS_EXTRA : 64;
	if (cfg.max_workers)
		a->max_workers = cfg.max_workers;
	if (a->max_workers < cfg.workers)
		a->max_workers = cfg.workers;
	a->workers = gs_calloc(a->max_workers, sizeof(*a->workers));
	for (i = 0; i < cfg.workers; i++)
		if ((rc = start_worker(a, err)))
			goto stop;

	if (cfg.leader_elect) {
		rc = kube_client_new(&a->elector_kc, a->kcfg, NULL, err);
		if (rc)
			goto stop;
		kube_client_set_observer(a->elector_kc, agent_observe_kube, a);
		lcfg.ns = cfg.ns;
		lcfg.name = APP_LEASE_NAME;
		lcfg.identity = cfg.identity;
		lcfg.lease_s = cfg.lease_s;
		lcfg.renew_s = cfg.renew_s;
		lcfg.retry_s = cfg.retry_s;
		a->lease = lease_new(a->elector_kc, &lcfg);
		if (pthread_create(&a->elector, NULL, elector_main, a) == 0)
			a->have_elector = true;
	} else {
		set_leader(a, true, -1);
	}
	if (pthread_create(&a->informer, NULL, agent_informer_main, a) == 0)
		informer = true;

	/* Wait for SIGTERM/SIGINT (blocked in every thread, so delivered here). */
	while (sigwait(&set, &sig) != 0)
		;
	alog(ALOG_INFO, NULL, NULL, "received %s: finishing work in flight",
	     sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = 0;

stop:
	pthread_mutex_lock(&a->lock);
	a->stopping = true; /* no worker starts after this */
	pthread_cond_broadcast(&a->kinds_cond); /* nor waits for a kind's LIST */
	started = a->nworkers;
	pthread_mutex_unlock(&a->lock);
	workq_shutdown(a->q);
	appwait_close(a->waits); /* long polls answer now */
	{
		/* workers finish the app they are on; a sync that takes longer
		 * than the grace period is abandoned with the process */
		struct timespec ts;
		bool all = true;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)cfg.shutdown_grace_s;
		pthread_mutex_lock(&a->lock);
		while (a->workers_done < started) {
			if (pthread_cond_timedwait(&a->workers_cond, &a->lock, &ts) == ETIMEDOUT) {
				all = false;
				break;
			}
		}
		pthread_mutex_unlock(&a->lock);
		if (all) {
			for (i = 0; i < started; i++)
				pthread_join(a->workers[i].thread, NULL);
		} else {
			alog(ALOG_WARN, NULL, NULL, "grace period over with a sync still running");
			started = 0; /* do not free tools a detached worker still uses */
			pthread_mutex_lock(&a->lock);
			a->workers_detached = true; /* nor the caches it reads */
			pthread_mutex_unlock(&a->lock);
		}
	}
	if (a->have_elector)
		pthread_join(a->elector, NULL);
	if (a->lease) {
		struct gs_error lerr = GS_ERROR_INIT;
		if (lease_release(a->lease, &lerr))
			alog(ALOG_WARN, NULL, NULL, "cannot release the lease: %s", lerr.msg);
		else if (!strcmp(lease_holder(a->lease), "") || a->leader)
			alog(ALOG_INFO, NULL, NULL, "lease released");
	}
	if (informer)
		pthread_join(a->informer, NULL);
	httpd_stop(a->h);
	a->h = NULL;
	if (started == a->nworkers) {
		for (i = 0; i < started; i++)
			tools_release(&a->workers[i].t);
	} else if (!rc) {
		/* exit now: detached workers still hold their tools */
		alog(ALOG_INFO, NULL, NULL, "stopped");
		fflush(NULL);
		_exit(0);
	}
	alog(ALOG_INFO, NULL, NULL, "stopped");
cleanup:
	httpd_stop(a->h);
	lease_free(a->lease);
	kube_client_free(a->elector_kc);
	tools_release(&a->api);
	helm_runner_free(a->helm);
	hl_set_free(a->health);
	for (i = 0; i < a->napps; i++)
		agent_index_entry_release(&a->apps[i]);
	free(a->apps);
	for (i = 0; i < a->nsuspects; i++) {
		free(a->suspects[i].key);
		free(a->suspects[i].rv);
	}
	free(a->suspects);
	for (i = 0; i < a->nignored; i++)
		mf_node_free(a->ignored[i]);
	free(a->ignored);
	for (i = 0; i < a->nwant; i++)
		free(a->want_kinds[i]);
	free(a->want_kinds);
	for (i = 0; i < a->npolls; i++)
		free(a->polls[i].group);
	free(a->polls);
	free(a->workers);
	free(a->secret_rv);
	metrics_registry_free(a->m);
	workq_free(a->q);
	gitsrc_share_free(a->git_share);
	sync_memo_free(a->memo);
	if (!a->workers_detached) { /* else a worker, or the watcher, may read them */
		kept_free(a->kept_projects);
		kept_free(a->kept_creds);
	}
	appwait_free(a->waits);
	kube_config_free(a->kcfg);
	pthread_cond_destroy(&a->workers_cond);
	pthread_cond_destroy(&a->kinds_cond);
	pthread_mutex_destroy(&a->api_lock);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return rc;
}
