/* informer.c - a WATCH of the Applications and of the kinds they manage,
 * and the queueing of what is due by time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app-event.h"
#include "app/app-project.h"
#include "gs-alloc.h"
#include "gs-time.h"
#include "kube/kube-watch.h"
#include "loop/alog.h"
#include "loop/kept.h"
#include "loop/loop-private.h"
#include "loop/workq.h"
#include "mf-object.h"
#include "sync/sync.h"

static uint64_t on_app_event(enum kube_event ev, const struct mf_node *obj,
			     const struct kube_cache_entry *prev, void *payload)
{
	struct agent *a = payload;
	const char *ns = obj ? mf_obj_namespace(obj) : prev ? prev->ns : NULL;
	const char *name = obj ? mf_obj_name(obj) : prev ? prev->name : NULL;

	if (ev == KUBE_EVENT_DELETED)
		agent_index_forget(a, ns, name);
	else if (obj)
		agent_index_update(a, obj, ev == KUBE_EVENT_ADDED);
	if (ns && name) {
		/* a long poll on this app reads it again (api.c api_operation) */
		char *key = agent_app_key(ns, name);
		appwait_notify(a->waits, key);
		free(key);
	}
	return 0;
}

/* Compare again (after delay) the apps tagged h; with listing_only, only
 * those compared already (see below).  a->lock held. */
static void queue_apps_of(struct agent *a, uint32_t h, bool listing_only, double delay)
{
	size_t i;

	if (!agent_is_leader_locked(a))
		return;
	for (i = 0; i < a->napps; i++)
		/* The first LIST of a kind is news only to an app compared
		 * already: it read this object before the watch existed, and a
		 * change between that read and this LIST would reach it at the
		 * next poll only (found by t-health-agent: a parent stayed
		 * Degraded after its child Application turned Healthy). */
		if (a->apps[i].name_hash == h && (!listing_only || a->apps[i].compared_sha[0]))
			workq_add(a->q, a->apps[i].key, delay);
}

/* How long an event not (yet) in the shared memo waits for it: a worker's
 * apply may be answered after the watch has told the same change. */
#define SUSPECT_WAIT_S 0.25
#define SUSPECTS_MAX 10000

/* Decide the events waiting for the memo: the state a worker applied
 * (drop it) or news (queue its apps).  With all, decide every one now. */
static void check_suspects(struct agent *a, bool all)
{
	double now = workq_now();
	size_t i = 0;

	pthread_mutex_lock(&a->lock);
	while (i < a->nsuspects) {
		struct agent_suspect *s = &a->suspects[i];
		bool own = sync_memo_holds(a->memo, s->key, s->rv);

		if (!own && !all && now - s->at < SUSPECT_WAIT_S) {
			i++;
			continue;
		}
		if (own)
			metrics_add(a->m_watch_own, 1);
		else
			queue_apps_of(a, s->h, !s->news, 1.0 - (now - s->at > 1 ? 1 : now - s->at));
		free(s->key);
		free(s->rv);
		a->suspects[i] = a->suspects[--a->nsuspects];
	}
	pthread_mutex_unlock(&a->lock);
}

/* A managed object changed: compare its app again soon (1 s, so that a
 * rollout's burst of events costs one comparison).  The comparison updates
 * health and sync status for every app and, with selfHeal, reverts drift.
 * Only changes that matter queue: another generation (spec), another
 * health, an object without generation (ConfigMap, Secret: any change is
 * content), an object added or deleted after the first LIST; never the
 * state a worker's sync just applied or its comparison found in sync (the
 * shared memo holds that object at that resourceVersion: re-comparing the
 * app would find what the sync reported, issue 20).  The entry keeps the
 * health (low byte, as sync_cache_fn) and the app's name hash. */
static uint64_t on_object_event(enum kube_event ev, const struct mf_node *obj,
				const struct kube_cache_entry *prev, void *payload)
{
	struct kind_watch *kw = payload;
	struct agent *a = kw->a;
	const char *label = obj ? mf_obj_label(obj, SYNC_LABEL_APP) : NULL;
	uint64_t health = ev == KUBE_EVENT_DELETED ? 0 : sync_cache_fn(ev, obj, prev, a->health) & 0xff;
	uint32_t h = label ? agent_name_hash(label) : prev ? (uint32_t)(prev->user >> 32) : 0;
	uint64_t tag = ((uint64_t)h << 32) | health;
	const char *rv = obj ? mf_node_dig_str(obj, "metadata", "resourceVersion", NULL) : NULL;
	long long gen = 0;
	bool news;

	if (obj)
		mf_node_int(mf_node_dig(obj, "metadata", "generation", NULL), &gen);
	if (ev == KUBE_EVENT_MODIFIED && prev)
		news = gen == 0 || gen != prev->generation ||
		       (health & 0x7f) != (prev->user & 0x7f); /* not the message flag */
	else
		news = !kw->listing;
	if (!h || !(news || kw->listing))
		return tag;
	pthread_mutex_lock(&a->lock);
	if (ev != KUBE_EVENT_DELETED && rv && *rv && a->nsuspects < SUSPECTS_MAX) {
		struct agent_suspect *s;

		GS_ALLOC_GROW(a->suspects, a->nsuspects + 1, a->asuspects);
		s = &a->suspects[a->nsuspects++];
		s->key = sync_object_key(obj);
		s->rv = gs_strdup(rv);
		s->h = h;
		s->news = news;
		s->at = workq_now();
	} else {
		queue_apps_of(a, h, !news, 1.0);
	}
	pthread_mutex_unlock(&a->lock);
	return tag;
}

/* Make a cache for each wanted kind not watched yet (watcher thread). */
static void watch_kinds(struct agent *a, struct kube_watcher *w, struct kube_client *kc)
{
	char **want = NULL;
	size_t nwant, i, j;
	bool all = true;

	pthread_mutex_lock(&a->lock);
	nwant = a->nwant;
	want = gs_calloc(nwant + 1, sizeof(*want));
	for (i = 0; i < nwant; i++)
		want[i] = gs_strdup(a->want_kinds[i]);
	pthread_mutex_unlock(&a->lock);

	for (i = 0; i < nwant; i++) {
		struct kind_watch *kw = NULL;

		/* the informer alone adds and sets; workers read under lock */
		for (j = 0; j < a->nkw; j++)
			if (!strcmp(a->kws[j]->gvk, want[i]))
				kw = a->kws[j];
		if (!kw) {
			kw = gs_calloc(1, sizeof(*kw));
			kw->a = a;
			kw->gvk = gs_strdup(want[i]);
			pthread_mutex_lock(&a->lock);
			GS_ALLOC_GROW(a->kws, a->nkw + 1, a->akw);
			a->kws[a->nkw++] = kw;
			pthread_mutex_unlock(&a->lock);
		}
		if (!kw->c && workq_now() >= kw->next_try) {
			struct gs_error err = GS_ERROR_INIT;
			const struct kube_resource *res;
			struct kube_cache *c = NULL;
			char group[254], version[64], kind[128];
			const char *s1 = strchr(kw->gvk, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
			double next_try = 0;

			if (!s2) {
				pthread_mutex_lock(&a->lock);
				kw->next_try = 1e300; /* malformed: never */
				pthread_cond_broadcast(&a->kinds_cond);
				pthread_mutex_unlock(&a->lock);
				continue;
			}
			snprintf(group, sizeof(group), "%.*s", (int)(s1 - kw->gvk), kw->gvk);
			snprintf(version, sizeof(version), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
			snprintf(kind, sizeof(kind), "%s", s2 + 1);
			kw->listing = true;
			if (kube_client_resource(kc, &res, group, version, kind, &err) ||
			    kube_cache_new(&c, w, res, NULL, SYNC_LABEL_APP, on_object_event, kw,
					   &err)) {
				c = NULL; /* what a failed kube_cache_new left is the watcher's */
				next_try = workq_now() + 60;
				alog_ratelimit(300, ALOG_WARN, NULL, NULL,
					       "cannot watch %s (drift found by polling): %s", kw->gvk,
					       err.msg);
			}
			kw->listing = false;
			pthread_mutex_lock(&a->lock);
			kw->c = c;
			kw->next_try = next_try;
			pthread_cond_broadcast(&a->kinds_cond);
			pthread_mutex_unlock(&a->lock);
		}
		if (!kw->c || !kube_cache_synced(kw->c))
			all = false;
	}
	for (i = 0; i < nwant; i++)
		free(want[i]);
	free(want);
	pthread_mutex_lock(&a->lock);
	if (a->nwant == nwant)
		a->kinds_watched = all;
	pthread_mutex_unlock(&a->lock);
}

/* The watch of res's kind, or NULL.  a->lock held. */
static const struct kind_watch *kind_watch_of(struct agent *a, const struct kube_resource *res)
{
	const struct kind_watch *found = NULL;
	size_t i, glen = strlen(res->group);

	for (i = 0; i < a->nkw; i++) {
		const struct kind_watch *kw = a->kws[i];
		const char *slash = strrchr(kw->gvk, '/');

		/* "group/version/Kind": any version serves, the objects are
		 * the same */
		if (slash && !strcmp(slash + 1, res->kind) && !strncmp(kw->gvk, res->group, glen) &&
		    kw->gvk[glen] == '/' && (!found || kw->c))
			found = kw;
	}
	return found;
}

/* How long a run waits for a kind's first LIST before listing the kind
 * itself: at an agent's first start, every app compared before the cache
 * of a kind they share is made listed that kind across the cluster (30
 * LISTs of every ConfigMap at 1,000 apps, issue 20). */
#define KIND_LIST_WAIT_S 3.0

struct kube_cache *agent_live_cache(const struct kube_resource *res, bool needed, void *payload)
{
	struct agent *a = payload;
	struct kube_cache *c = NULL;
	double deadline = gs_time_wall() + KIND_LIST_WAIT_S;
	struct timespec ts;
	bool timed_out = false;

	ts.tv_sec = (time_t)deadline;
	ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		const struct kind_watch *kw = kind_watch_of(a, res);

		if (kw && kw->c) {
			c = kw->c;
			break;
		}
		if (!needed || (kw && kw->next_try > workq_now()))
			break; /* not watched for this, or cannot be now: the run lists */
		if (!kw) {
			char *gvk = gs_asprintf("%s/%s/%s", res->group, res->version, res->kind);

			agent_want_kind(a, gvk);
			free(gvk);
		}
		/* made at the watcher's next turn: now */
		if (a->watcher)
			kube_watcher_wake(a->watcher);
		if (pthread_cond_timedwait(&a->kinds_cond, &a->lock, &ts) == ETIMEDOUT) {
			timed_out = true;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	/* said, so that a LIST more than the informer's has a cause to read
	 * (t-agent-scale counts them) */
	if (timed_out)
		alog(ALOG_INFO, NULL, NULL, "no %s watch after %.0f s: this comparison lists them itself",
		     res->kind, KIND_LIST_WAIT_S);
	return c;
}

int agent_kept_project(struct mf_node **out, const char *name, void *payload)
{
	struct agent *a = payload;
	int rc = kept_get(a->kept_projects, name, out);

	return rc == KEPT_UNKNOWN ? APP_KEPT_UNKNOWN : rc;
}

int agent_kept_creds(int (*fn)(const struct mf_node *secret, void *arg), void *arg,
		     void *payload)
{
	struct agent *a = payload;
	int rc = kept_foreach(a->kept_creds, fn, arg);

	return rc == KEPT_UNKNOWN ? APP_KEPT_UNKNOWN : rc;
}

/* The watches behind k: made once (a failure, such as RBAC without
 * `watch`, is retried every minute; meanwhile the workers read the
 * server). */
static void keep_watched(struct agent *a, struct kube_watcher *w, struct kube_client *kc,
			 struct kept *k, const char *group, const char *version, const char *kind,
			 const char *selector, double *next_try, bool *made)
{
	struct gs_error err = GS_ERROR_INIT;
	const struct kube_resource *res;
	struct kube_cache *c = NULL;

	if (*made || workq_now() < *next_try)
		return;
	if (kube_client_resource(kc, &res, group, version, kind, &err) ||
	    kube_cache_new(&c, w, res, a->cfg->ns, selector, kept_on_event, k, &err)) {
		*next_try = workq_now() + 60;
		alog_ratelimit(300, ALOG_INFO, NULL, NULL,
			       "cannot watch %s in %s (read at each reconcile instead): %s", kind,
			       a->cfg->ns, err.msg);
		return;
	}
	kept_set_cache(k, c);
	*made = true;
}

/* Queue what is due by time alone: the poll interval, self-heal checks
 * while the kinds are not all watched, .operations not yet taken. */
static void queue_due(struct agent *a)
{
	double now = workq_now();
	enum poll_action act = POLL_QUEUE;
	size_t i;

	pthread_mutex_lock(&a->lock);
	if (!agent_is_leader_locked(a)) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	for (i = 0; i < a->napps; i++) {
		struct app_entry *e = &a->apps[i];
		bool due = agent_index_due(e, a->kinds_watched, a->cfg->self_heal_s, now);

		if (e->has_op && now - e->last_op_queued >= 10) {
			/* a watch event may have come while a worker held it */
			e->last_op_queued = now;
			workq_add(a->q, e->key, WORKQ_URGENT);
		} else if (due && (act = agent_index_poll_action(a, e, now)) == POLL_LEAVE) {
			/* per-repository polling: another app of its group asked
			 * the repository within the interval, same commit */
			e->last_reconcile = now;
			metrics_add(a->m_reconciles, 1, "unchanged");
		} else if (due && act == POLL_WAIT) {
			/* another app of the group is asking: decide once it answered */
		} else if (due) {
			/* counted as done now, so that an app whose reconcile
			 * fails before recording is not queued every second */
			e->last_reconcile = now;
			workq_add(a->q, e->key, 0);
		}
	}
	pthread_mutex_unlock(&a->lock);
}

/* One namespace to watch (the agent's, when --app-namespaces adds none
 * other), or NULL: all, filtered by agent_app_namespace_allowed(). */
static const char *watched_namespace(const struct agent_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_app_namespaces; i++)
		if (strcmp(cfg->app_namespaces[i], cfg->ns))
			return NULL;
	return cfg->ns;
}

/* Apps without spec.project use `default`: make it when missing, as Argo CD
 * does (never overwriting an administrator's edits).  True once it exists. */
static bool ensure_default_project(struct agent *a, struct kube_client *kc)
{
	struct gs_error err = GS_ERROR_INIT;
	bool made = false;

	if (app_project_ensure_default(kc, a->cfg->ns, &made, &err)) {
		alog_ratelimit(300, ALOG_WARN, NULL, NULL,
			       "cannot ensure project '%s' in namespace '%s': %s", APP_PROJECT_DEFAULT,
			       a->cfg->ns, err.msg);
		return false;
	}
	if (made)
		alog(ALOG_INFO, NULL, NULL, "created project '%s' in namespace '%s'",
		     APP_PROJECT_DEFAULT, a->cfg->ns);
	return true;
}

/* Applications seen in a namespace not watched: an Event on each, on the
 * leader only (one Event per app, not one per replica). */
static void ignored_events(struct agent *a, struct kube_client *kc)
{
	struct mf_node **v;
	size_t n, i;
	bool leader;

	pthread_mutex_lock(&a->lock);
	v = a->ignored;
	n = a->nignored;
	leader = agent_is_leader_locked(a);
	if (n && leader) {
		a->ignored = NULL;
		a->nignored = a->aignored = 0;
	}
	pthread_mutex_unlock(&a->lock);
	if (!n || !leader)
		return;
	for (i = 0; i < n; i++) {
		struct gs_error err = GS_ERROR_INIT;
		char *msg = gs_asprintf("ignored by gitsync: namespace '%s' is neither the agent's "
					"('%s') nor in its --app-namespaces; nothing of this "
					"Application is synced (move it, or ask the cluster's "
					"administrator to add the namespace)",
					mf_obj_namespace(v[i]), a->cfg->ns);

		if (app_event_emit(kc, v[i], "Warning", "NamespaceNotWatched", msg, &err) < 0)
			alog_ratelimit(60, ALOG_WARN, mf_obj_name(v[i]), NULL, "%s", err.msg);
		free(msg);
		mf_node_free(v[i]);
	}
	free(v);
}

void *agent_informer_main(void *arg)
{
	struct agent *a = arg;
	struct gs_error err = GS_ERROR_INIT;
	struct kube_client *kc = NULL;
	struct kube_watcher *w = NULL;
	struct kube_cache *apps = NULL;
	struct kind_watch **kws;
	size_t nkw, i;
	double last_secret = -1e9, projects_try = 0, creds_try = 0;
	bool have_default_project = false, projects_made = false, creds_made = false, waiting;
	const char *ns = watched_namespace(a->cfg);

	if (kube_client_new(&kc, a->kcfg, NULL, &err) || kube_watcher_new(&w, kc, &err)) {
		alog(ALOG_ERROR, NULL, NULL, "informer: %s", err.msg);
		kube_client_free(kc);
		return NULL;
	}
	kube_client_set_observer(kc, agent_observe_kube, a);
	pthread_mutex_lock(&a->lock);
	a->watcher = w;
	pthread_mutex_unlock(&a->lock);
	while (!agent_stopping(a)) {
		if (workq_now() - last_secret >= 10) {
			agent_secret_load(a, kc);
			if (!have_default_project)
				have_default_project = ensure_default_project(a, kc);
			last_secret = workq_now();
		}
		if (!apps) {
			const struct kube_resource *res;
			gs_error_clear(&err);
			if (app_resource(&res, kc, &err) ||
			    kube_cache_new(&apps, w, res, ns, NULL, on_app_event, a, &err)) {
				apps = NULL;
				alog_ratelimit(60, ALOG_ERROR, NULL, NULL,
					       "cannot watch applications: %s", err.msg);
				agent_nap(a, a->cfg->resync_s);
				continue;
			}
		}
		watch_kinds(a, w, kc);
		keep_watched(a, w, kc, a->kept_projects, APP_GROUP, APP_VERSION, APP_PROJECT_KIND,
			     NULL, &projects_try, &projects_made);
		keep_watched(a, w, kc, a->kept_creds, "", "v1", "Secret",
			     "gitsync.io/secret-type=repo-creds", &creds_try, &creds_made);
		gs_error_clear(&err);
		pthread_mutex_lock(&a->lock);
		waiting = a->nsuspects > 0;
		pthread_mutex_unlock(&a->lock);
		/* events waiting for the memo are decided within 0.1 s */
		if (kube_watcher_poll(w, waiting ? 100 : 1000, &err))
			alog_ratelimit(60, ALOG_ERROR, NULL, NULL, "watch: %s", err.msg);
		{
			size_t objs = kube_cache_len(apps);
			bool synced = kube_cache_synced(apps);
			for (i = 0; i < a->nkw; i++)
				if (a->kws[i]->c)
					objs += kube_cache_len(a->kws[i]->c);
			pthread_mutex_lock(&a->lock);
			if (synced)
				a->synced = true; /* ready once listed; a later relist keeps it */
			a->watch_objects = objs;
			a->informer_stats = *kube_client_stats(kc);
			pthread_mutex_unlock(&a->lock);
		}
		check_suspects(a, false);
		queue_due(a);
		agent_workers_grow(a);
		ignored_events(a, kc);
	}
	pthread_mutex_lock(&a->lock);
	if (a->workers_detached) {
		/* a worker still runs and may read the caches: the process
		 * exits without freeing them */
		pthread_mutex_unlock(&a->lock);
		return NULL;
	}
	kws = a->kws;
	nkw = a->nkw;
	a->kws = NULL;
	a->nkw = a->akw = 0;
	a->watcher = NULL;
	pthread_mutex_unlock(&a->lock);
	kube_watcher_free(w);
	for (i = 0; i < nkw; i++) {
		free(kws[i]->gvk);
		free(kws[i]);
	}
	free(kws);
	kube_client_free(kc);
	return NULL;
}
