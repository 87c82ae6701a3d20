/* informer.c - a WATCH of the Applications and of the kinds they manage,
 * and the queueing of what is due by time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app-event.h"
#include "app/app-project.h"
#include "gs-alloc.h"
#include "kube/kube-watch.h"
#include "loop/alog.h"
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

/* A managed object changed: compare its app again soon (1 s, so that a
 * rollout's burst of events costs one comparison).  The comparison updates
 * health and sync status for every app and, with selfHeal, reverts drift.
 * Only changes that matter queue: another generation (spec), another
 * health, an object without generation (ConfigMap, Secret: any change is
 * content), an object added or deleted after the first LIST.  The entry
 * keeps the health (low byte, as sync_cache_fn) and the app's name hash. */
static uint64_t on_object_event(enum kube_event ev, const struct mf_node *obj,
				const struct kube_cache_entry *prev, void *payload)
{
	struct kind_watch *kw = payload;
	struct agent *a = kw->a;
	const char *label = obj ? mf_obj_label(obj, SYNC_LABEL_APP) : NULL;
	uint64_t health = ev == KUBE_EVENT_DELETED ? 0 : sync_cache_fn(ev, obj, prev, a->health) & 0xff;
	uint32_t h = label ? agent_name_hash(label) : prev ? (uint32_t)(prev->user >> 32) : 0;
	long long gen = 0;
	bool news;
	size_t i;

	if (obj)
		mf_node_int(mf_node_dig(obj, "metadata", "generation", NULL), &gen);
	if (ev == KUBE_EVENT_MODIFIED && prev)
		news = gen == 0 || gen != prev->generation || health != (prev->user & 0xff);
	else
		news = !kw->listing;
	if (h && (news || kw->listing)) {
		pthread_mutex_lock(&a->lock);
		if (agent_is_leader_locked(a))
			for (i = 0; i < a->napps; i++)
				/* The first LIST of a kind is news only to an app
				 * compared already: it read this object before the
				 * watch existed, and a change between that read and
				 * this LIST would reach it at the next poll only
				 * (found by t-health-agent: a parent stayed Degraded
				 * after its child Application turned Healthy). */
				if (a->apps[i].name_hash == h &&
				    (news || a->apps[i].compared_sha[0]))
					workq_add(a->q, a->apps[i].key, 1.0);
		pthread_mutex_unlock(&a->lock);
	}
	return ((uint64_t)h << 32) | health;
}

/* Make a cache for each wanted kind not watched yet (watcher thread). */
static void watch_kinds(struct agent *a, struct kube_watcher *w, struct kube_client *kc,
			struct kind_watch ***kws, size_t *nkw, size_t *akw)
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
		for (j = 0; j < *nkw; j++)
			if (!strcmp((*kws)[j]->gvk, want[i]))
				kw = (*kws)[j];
		if (!kw) {
			GS_ALLOC_GROW(*kws, *nkw + 1, *akw);
			kw = gs_calloc(1, sizeof(*kw));
			kw->a = a;
			kw->gvk = gs_strdup(want[i]);
			(*kws)[(*nkw)++] = kw;
		}
		if (!kw->c && workq_now() >= kw->next_try) {
			struct gs_error err = GS_ERROR_INIT;
			const struct kube_resource *res;
			char group[254], version[64], kind[128];
			const char *s1 = strchr(kw->gvk, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;

			if (!s2) {
				kw->next_try = 1e300; /* malformed: never */
				continue;
			}
			snprintf(group, sizeof(group), "%.*s", (int)(s1 - kw->gvk), kw->gvk);
			snprintf(version, sizeof(version), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
			snprintf(kind, sizeof(kind), "%s", s2 + 1);
			kw->listing = true;
			if (kube_client_resource(kc, &res, group, version, kind, &err) ||
			    kube_cache_new(&kw->c, w, res, NULL, SYNC_LABEL_APP, on_object_event, kw,
					   &err)) {
				kw->c = NULL;
				kw->next_try = workq_now() + 60;
				alog_ratelimit(300, ALOG_WARN, NULL, NULL,
					       "cannot watch %s (drift found by polling): %s", kw->gvk,
					       err.msg);
			}
			kw->listing = false;
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
	struct kind_watch **kws = NULL;
	size_t nkw = 0, akw = 0, i;
	double last_secret = -1e9;
	bool have_default_project = false;
	const char *ns = watched_namespace(a->cfg);

	if (kube_client_new(&kc, a->kcfg, NULL, &err) || kube_watcher_new(&w, kc, &err)) {
		alog(ALOG_ERROR, NULL, NULL, "informer: %s", err.msg);
		kube_client_free(kc);
		return NULL;
	}
	kube_client_set_observer(kc, agent_observe_kube, a);
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
		watch_kinds(a, w, kc, &kws, &nkw, &akw);
		gs_error_clear(&err);
		if (kube_watcher_poll(w, 1000, &err))
			alog_ratelimit(60, ALOG_ERROR, NULL, NULL, "watch: %s", err.msg);
		{
			size_t objs = kube_cache_len(apps);
			bool synced = kube_cache_synced(apps);
			for (i = 0; i < nkw; i++)
				if (kws[i]->c)
					objs += kube_cache_len(kws[i]->c);
			pthread_mutex_lock(&a->lock);
			if (synced)
				a->synced = true; /* ready once listed; a later relist keeps it */
			a->watch_objects = objs;
			a->informer_stats = *kube_client_stats(kc);
			pthread_mutex_unlock(&a->lock);
		}
		queue_due(a);
		agent_workers_grow(a);
		ignored_events(a, kc);
	}
	kube_watcher_free(w);
	for (i = 0; i < nkw; i++) {
		free(kws[i]->gvk);
		free(kws[i]);
	}
	free(kws);
	kube_client_free(kc);
	return NULL;
}
