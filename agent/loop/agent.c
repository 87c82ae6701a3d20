/* agent.c - the reconcile loop, leader election and HTTP glue (see agent.h). */
#include "loop/agent.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "gitsrc/gitsrc.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "httpd/httpd.h"
#include "kube/kube-client.h"
#include "kube/kube-config.h"
#include "kube/kube-watch.h"
#include "loop/alog.h"
#include "loop/api-app.h"
#include "loop/lease.h"
#include "loop/workq.h"
#include "mf-diff.h"
#include "mf-json.h"
#include "mf-object.h"
#include "sync/sync.h"

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
	unsigned attempts;
	unsigned settle;       /* re-assessments while Progressing (see settle_delay) */
	char sync_status[16], health_status[16];
	size_t nresources;
	char **paths; /* gitsync.io/refresh-paths, repository-relative; NULL = any */
	size_t npaths;
	uint32_t name_hash; /* of the name: the objects' gitsync.io/app label */
	double last_op_queued; /* an .operation re-queued at most every 10 s */
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
	bool leader;
	bool synced; /* first Application list done */
	bool stopping;
	char *secret_rv;
	char **want_kinds;     /* managedKinds of every app (never shrinks) */
	size_t nwant, awant;
	bool kinds_watched;    /* every wanted kind's cache synced: drift comes
				* from events, no periodic self-heal compare */
	size_t watch_objects;  /* objects in the watch caches (for /metrics) */
	struct metrics_family *m_watch, *m_kube_codes, *m_git;

	pthread_mutex_t api_lock; /* the API's own tools */
	struct tools api;

	struct worker *workers;
	unsigned nworkers, workers_done;
	pthread_cond_t workers_cond;
	pthread_t informer, elector;
	bool have_elector;
	struct lease *lease;
	struct kube_client *elector_kc;
	struct kube_client_stats informer_stats, elector_stats;
};

/* ---- small helpers ---- */

double agent_parse_duration(const char *s)
{
	double total = 0;
	char *end;

	if (!s || !*s)
		return -1;
	while (*s) {
		double v;
		errno = 0;
		v = strtod(s, &end);
		if (end == s || errno || v < 0)
			return -1;
		s = end;
		if (!*s && total == 0)
			return v; /* plain seconds */
		if (!strncmp(s, "ms", 2)) {
			total += v / 1000;
			s += 2;
		} else if (*s == 's') {
			total += v;
			s++;
		} else if (*s == 'm') {
			total += v * 60;
			s++;
		} else if (*s == 'h') {
			total += v * 3600;
			s++;
		} else {
			return -1;
		}
	}
	return total;
}

static char *app_key(const char *ns, const char *name)
{
	return gs_asprintf("%s/%s", ns, name);
}

static void split_key(const char *key, char *ns, size_t nsz, char *name, size_t namesz)
{
	const char *slash = strchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;

	snprintf(ns, nsz, "%.*s", (int)n, key);
	snprintf(name, namesz, "%s", slash ? slash + 1 : key);
}

/* Every attempt of every kube request, from any of the agent's clients. */
static void observe_kube(const char *method, long status, void *payload)
{
	struct agent *a = payload;
	char code[16];

	snprintf(code, sizeof(code), "%ld", status);
	metrics_add(a->m_kube_codes, 1, method, status ? code : "none");
}

static void observe_git(double seconds, bool ok, bool fetched, void *payload)
{
	struct agent *a = payload;

	metrics_observe(a->m_git, seconds, !ok ? "error" : fetched ? "fetched" : "cached");
}

static int tools_init(struct tools *t, struct agent *a, struct gs_error *err)
{
	int rc;

	memset(t, 0, sizeof(*t));
	rc = kube_client_new(&t->kc, a->kcfg, NULL, err);
	if (rc)
		return rc;
	kube_client_set_observer(t->kc, observe_kube, a);
	rc = gitsrc_new(&t->git, a->cfg->cache_dir, err);
	if (rc)
		return rc;
	t->se = sync_engine_new(t->kc);
	t->env.kc = t->kc;
	t->env.git = t->git;
	t->env.se = t->se;
	t->env.ns = a->cfg->ns;
	t->env.git_observe = observe_git;
	t->env.git_observe_payload = a;
	return 0;
}

static void tools_release(struct tools *t)
{
	sync_engine_free(t->se);
	gitsrc_free(t->git);
	kube_client_free(t->kc);
	memset(t, 0, sizeof(*t));
}

static struct app_entry *find_app(struct agent *a, const char *key)
{
	size_t i;

	for (i = 0; i < a->napps; i++)
		if (!strcmp(a->apps[i].key, key))
			return &a->apps[i];
	return NULL;
}

static void free_paths(struct app_entry *e)
{
	size_t i;

	for (i = 0; i < e->npaths; i++)
		free(e->paths[i]);
	free(e->paths);
	e->paths = NULL;
	e->npaths = 0;
}

/* "a/b" + "../c/./d" -> "a/c/d"; "/x" is from the repository root.  ".."
 * above the root stays at the root. */
static char *join_repo_path(const char *base, const char *rel)
{
	struct gs_buf b = GS_BUF_INIT;
	char *in = gs_asprintf("%s/%s", *rel == '/' ? "" : base, rel), *save = NULL, *seg;

	for (seg = strtok_r(in, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			char *slash = strrchr(b.ptr, '/');
			if (slash) {
				b.len = (size_t)(slash - b.ptr);
				b.ptr[b.len] = '\0';
			} else {
				gs_buf_reset(&b);
			}
			continue;
		}
		if (b.len)
			gs_buf_putc(&b, '/');
		gs_buf_puts(&b, seg);
	}
	free(in);
	return gs_buf_detach(&b, NULL);
}

static void set_paths(struct app_entry *e, const char *app_path, const char *annotation)
{
	char *copy, *save = NULL, *item;
	size_t alloc = 0;

	free_paths(e);
	if (!annotation || !*annotation)
		return;
	copy = gs_strdup(annotation);
	for (item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		while (*item == ' ')
			item++;
		item[strcspn(item, " ")] = '\0';
		if (!*item)
			continue;
		GS_ALLOC_GROW(e->paths, e->npaths + 1, alloc);
		e->paths[e->npaths++] = join_repo_path(app_path ? app_path : "", item);
	}
	free(copy);
}

static void entry_release(struct app_entry *e)
{
	free_paths(e);
	free(e->key);
	free(e->repo);
	free(e->revision);
}

static bool is_leader(struct agent *a)
{
	bool l;

	pthread_mutex_lock(&a->lock);
	l = a->leader && !a->stopping;
	pthread_mutex_unlock(&a->lock);
	return l;
}

/* Remove the refresh annotation, keeping everything else. */
static void clear_refresh(struct kube_client *kc, const char *ns, const char *name)
{
	struct mf_node *p = mf_node_new(MF_MAP);
	struct gs_error err = GS_ERROR_INIT;

	mf_node_set(mf_node_ensure(mf_node_ensure(p, "metadata", MF_MAP), "annotations", MF_MAP),
		    REFRESH_ANNOTATION, mf_node_new_null());
	if (app_patch(kc, ns, name, p, &err))
		alog_ratelimit(60, ALOG_WARN, name, NULL, "cannot clear refresh annotation: %s",
			       err.msg);
	mf_node_free(p);
}

/* Mark an app for refresh through the API server (a standby's webhook). */
static int mark_refresh(struct kube_client *kc, const char *ns, const char *name,
			struct gs_error *err)
{
	struct mf_node *p = mf_node_new(MF_MAP);
	char now[40];
	int rc;

	app_time_str(now, sizeof(now), (double)time(NULL));
	mf_node_set_str_value(
		mf_node_ensure(mf_node_ensure(p, "metadata", MF_MAP), "annotations", MF_MAP),
		REFRESH_ANNOTATION, now);
	rc = app_patch(kc, ns, name, p, err);
	mf_node_free(p);
	return rc;
}

/* Retry backoff of an app: spec.syncPolicy.retry.backoff (duration 5s,
 * factor 2, maxDuration 3m, as Argo CD defaults). */
static double backoff_s(const struct mf_node *app, unsigned attempts)
{
	const struct mf_node *b = mf_node_dig(app, "spec", "syncPolicy", "retry", "backoff", NULL);
	double base = agent_parse_duration(mf_node_dig_str(b, "duration", NULL));
	double max = agent_parse_duration(mf_node_dig_str(b, "maxDuration", NULL));
	long long factor = 2;
	double d;

	if (base <= 0)
		base = 5;
	if (max <= 0)
		max = 180;
	mf_node_int(mf_node_dig(b, "factor", NULL), &factor);
	if (factor < 1)
		factor = 1;
	d = base * pow((double)factor, attempts > 0 ? attempts - 1 : 0);
	return d < max ? d : max;
}

static long long retry_limit(const struct mf_node *app)
{
	long long limit = -1; /* unset: keep retrying with the capped backoff */

	mf_node_int(mf_node_dig(app, "spec", "syncPolicy", "retry", "limit", NULL), &limit);
	return limit;
}

/* ---- reconcile ---- */

enum outcome { OUTCOME_COMPARED, OUTCOME_SYNCED, OUTCOME_FAILED };

/* Note what a reconcile found.  Only a sync resets the retry backoff; a
 * comparison keeps it, so a failing revision backs off 5 s, 10 s, 20 s ... */
static void record(struct agent *a, const char *key, const struct sync_report *rep,
		   enum outcome outcome, const struct mf_node *app)
{
	struct app_entry *e;

	pthread_mutex_lock(&a->lock);
	e = find_app(a, key);
	if (e) {
		e->last_reconcile = workq_now();
		if (rep) {
			snprintf(e->sync_status, sizeof(e->sync_status), "%s",
				 sync_status_str(rep->status));
			snprintf(e->health_status, sizeof(e->health_status), "%s",
				 rep->health == SYNC_HEALTH_NONE ? "Healthy"
								 : sync_health_str(rep->health));
			e->nresources = rep->n;
		}
		if (outcome == OUTCOME_FAILED) {
			e->attempts++;
			e->next_retry = workq_now() + backoff_s(app, e->attempts);
		} else if (outcome == OUTCOME_SYNCED) {
			e->attempts = 0;
			e->next_retry = 0;
			e->settle = 0;
		}
	}
	pthread_mutex_unlock(&a->lock);
}

/* 2 s, 4 s, 8 s ... up to 30 s: quick after a sync, cheap for an app that
 * stays Progressing (a Deployment that never becomes available). */
static double settle_delay(unsigned n)
{
	double d = 2 * pow(2, n < 4 ? n : 4);

	return d < 30 ? d : 30;
}

static bool may_retry(struct agent *a, const char *key, const struct mf_node *app, double *wait)
{
	struct app_entry *e;
	long long limit = retry_limit(app);
	bool ok = true;

	*wait = 0;
	pthread_mutex_lock(&a->lock);
	e = find_app(a, key);
	if (e && e->attempts) {
		if (limit >= 0 && e->attempts > (unsigned long long)limit)
			ok = false;
		else if (e->next_retry > workq_now()) {
			*wait = e->next_retry - workq_now();
			ok = false;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return ok;
}

/* Whether syncing again could change anything: an object to apply, or one
 * to prune when the app prunes and the object does not opt out.  An object
 * that only "requires pruning" but is protected (Prune=false) or kept
 * because the app does not prune leaves the app OutOfSync, as in Argo CD,
 * yet a sync would do nothing: self-heal must not re-run it at every drift
 * check (found by test/reliability/s-agent-kill.sh: a sync and a history
 * entry every interval, forever). */
static bool sync_would_act(const struct sync_report *rep, bool prune)
{
	size_t i;

	for (i = 0; i < rep->n; i++) {
		const struct sync_resource *r = &rep->v[i];

		if (r->status == SYNC_STATUS_SYNCED)
			continue;
		if (r->status == SYNC_STATUS_PRUNE) {
			if (prune && !(r->message && strstr(r->message, "Prune=false")))
				return true;
			continue;
		}
		return true;
	}
	return false;
}

static void run_sync(struct worker *w, const char *key, const struct mf_node *app,
		     const struct app_sync_req *req, const char *why)
{
	struct agent *a = w->a;
	struct sync_report rep = SYNC_REPORT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *rev = NULL;
	const char *name = mf_obj_name(app);
	int rc;

	alog(ALOG_INFO, name, req->revision, "sync started (%s)", why);
	rc = app_run_sync(&rep, &rev, &w->t.env, app, req, NULL, NULL, &err);
	if (rc) {
		metrics_add(a->m_ops, 1, "Error");
		alog(ALOG_ERROR, name, rev, "sync could not run: %s", err.msg);
		record(a, key, NULL, OUTCOME_FAILED, app);
	} else {
		metrics_add(a->m_ops, 1, sync_phase_str(rep.phase));
		alog(rep.phase == SYNC_PHASE_SUCCEEDED ? ALOG_INFO : ALOG_WARN, name, rev,
		     "sync %s: %s (%zu resources, %lu requests)", sync_phase_str(rep.phase),
		     rep.message ? rep.message : "", rep.n, rep.requests);
		record(a, key, &rep,
		       rep.phase == SYNC_PHASE_SUCCEEDED ? OUTCOME_SYNCED : OUTCOME_FAILED, app);
	}
	free(rev);
	sync_report_release(&rep);
}

static void reconcile(struct worker *w, const char *key)
{
	struct agent *a = w->a;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *app = NULL;
	struct sync_report rep = SYNC_REPORT_INIT;
	const struct mf_node *op;
	char ns[254], name[254], *rev = NULL;
	double t0 = workq_now(), wait;
	const char **res = NULL;
	int rc;

	split_key(key, ns, sizeof(ns), name, sizeof(name));
	rc = app_get(&app, w->t.kc, ns, name, &err);
	if (rc == GS_ENOTFOUND) {
		metrics_add(a->m_reconciles, 1, "deleted");
		goto cleanup;
	}
	if (rc) {
		metrics_add(a->m_reconciles, 1, "error");
		alog_ratelimit(30, ALOG_ERROR, name, NULL, "cannot read application: %s", err.msg);
		workq_add(a->q, key, 5);
		goto cleanup;
	}

	op = mf_node_get(app, "operation");
	if (mf_node_type(op) == MF_MAP) {
		/* A requested operation (CLI, API, rollback): run it as asked. */
		struct app_sync_req req = { 0 };
		const struct mf_node *rs = mf_node_dig(op, "sync", "resources", NULL);
		size_t i, n = 0;

		req.revision = mf_node_dig_str(op, "sync", "revision", NULL);
		if (req.revision && !*req.revision)
			req.revision = NULL;
		req.prune = mf_node_bool(mf_node_dig(op, "sync", "prune", NULL));
		req.dry_run = mf_node_bool(mf_node_dig(op, "sync", "dryRun", NULL));
		/* a rollback's recorded source and the request's sync options
		 * apply to this run only: the in-memory copy is changed, never
		 * the spec */
		if (mf_node_type(mf_node_dig(op, "sync", "source", NULL)) == MF_MAP)
			mf_node_set(mf_node_ensure(app, "spec", MF_MAP), "source",
				    mf_node_clone(mf_node_dig(op, "sync", "source", NULL)));
		rs = mf_node_dig(op, "sync", "syncOptions", NULL);
		for (i = 0; i < mf_node_len(rs); i++)
			mf_node_append(mf_node_ensure(mf_node_ensure(mf_node_ensure(app, "spec", MF_MAP),
								     "syncPolicy", MF_MAP),
						      "syncOptions", MF_SEQ),
				       mf_node_clone(mf_node_at(rs, i)));
		rs = mf_node_dig(op, "sync", "resources", NULL);
		if (mf_node_len(rs)) {
			res = gs_calloc(mf_node_len(rs), sizeof(*res));
			for (i = 0; i < mf_node_len(rs); i++)
				if (mf_node_str(mf_node_at(rs, i)))
					res[n++] = mf_node_str(mf_node_at(rs, i));
			req.resources = res;
			req.n_resources = n;
		}
		run_sync(w, key, app, &req,
			 mf_node_dig_str(op, "initiatedBy", "username", NULL)
				 ? mf_node_dig_str(op, "initiatedBy", "username", NULL)
				 : "operation");
		metrics_add(a->m_reconciles, 1, "operation");
		goto done;
	}

	{
		struct app_sync_req req = { 0 };
		const char *last, *phase, *why;
		bool changed, drifted, interrupted;

		rc = app_compare(&rep, &rev, &w->t.env, app, &req, 0, true, &err);
		if (rc) {
			metrics_add(a->m_reconciles, 1, "error");
			alog_ratelimit(30, ALOG_ERROR, name, NULL, "comparison failed: %s", err.msg);
			record(a, key, NULL, OUTCOME_FAILED, app);
			goto done;
		}
		record(a, key, &rep, OUTCOME_COMPARED, app);
		metrics_add(a->m_reconciles, 1, "compared");
		phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);
		/* Running while no worker here runs it (one worker per app, and
		 * only the leader syncs): a sync interrupted by a crash or a
		 * SIGKILL.  Run it again, whatever selfHeal says, and even when
		 * the cluster already matches, so the operation is recorded as
		 * finished (found by test/reliability/s-agent-kill.sh: the app
		 * stayed Running forever, the commit possibly half applied). */
		interrupted = phase && !strcmp(phase, "Running");
		if (!app_automated(app) || (rep.status == SYNC_STATUS_SYNCED && !interrupted))
			goto done;
		last = mf_node_dig_str(app, "status", "operationState", "syncResult", "revision",
				       NULL);
		changed = !last || !rev || strcmp(last, rev);
		drifted = mf_node_bool(mf_node_dig(app, "spec", "syncPolicy", "automated",
						   "selfHeal", NULL));
		if (!changed && phase && (!strcmp(phase, "Failed") || !strcmp(phase, "Error"))) {
			/* this revision failed before: retry on the app's backoff */
			if (!may_retry(a, key, app, &wait)) {
				if (wait > 0)
					workq_add(a->q, key, wait);
				goto done;
			}
			why = "retry";
		} else if (!changed && !interrupted &&
			   (!drifted ||
			    !sync_would_act(&rep, mf_node_bool(mf_node_dig(app, "spec", "syncPolicy",
									   "automated", "prune",
									   NULL))))) {
			goto done; /* same revision, changed by hand, no selfHeal: leave it */
		} else {
			why = changed ? "new revision" : interrupted ? "interrupted sync" : "self-heal";
		}
		req.revision = rev;
		req.prune = mf_node_bool(
			mf_node_dig(app, "spec", "syncPolicy", "automated", "prune", NULL));
		/* the compare just wrote status: sync from a fresh copy */
		mf_node_free(app);
		app = NULL;
		if (app_get(&app, w->t.kc, ns, name, &err) == 0)
			run_sync(w, key, app, &req, why);
	}
done:
	if (app && mf_obj_annotation(app, REFRESH_ANNOTATION))
		clear_refresh(w->t.kc, ns, name);
	metrics_observe(a->m_reconcile, workq_now() - t0);
	pthread_mutex_lock(&a->lock);
	{
		struct app_entry *e = find_app(a, key);
		if (e && e->attempts && e->next_retry > 0) {
			workq_add(a->q, key, e->next_retry - workq_now());
		} else if (e && (!strcmp(e->health_status, "Progressing") ||
				 !strcmp(e->health_status, "Missing"))) {
			/* not settled yet (a rollout after a sync, a Job running):
			 * look again soon, whatever the app's policy, so that
			 * status.health follows the cluster and `app wait
			 * --health` returns; watch events bring it sooner */
			workq_add(a->q, key, settle_delay(e->settle++));
		} else if (e) {
			e->settle = 0;
		}
	}
	pthread_mutex_unlock(&a->lock);
cleanup:
	free(res);
	free(rev);
	sync_report_release(&rep);
	mf_node_free(app);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct agent *a = w->a;
	char *key;

	while ((key = workq_get(a->q))) {
		/* A standby (or a leader that lost its lease) takes no action:
		 * the new leader lists every app and queues what it needs. */
		if (is_leader(a))
			reconcile(w, key);
		workq_done(a->q, key);
		free(key);
		pthread_mutex_lock(&a->lock);
		w->stats = *kube_client_stats(w->t.kc);
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_lock(&a->lock);
	a->workers_done++;
	pthread_cond_broadcast(&a->workers_cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* ---- Secret gitsync-secret ---- */

static char *b64_decode(const char *in, size_t *len_out)
{
	size_t n = strlen(in), cap = n / 4 * 3 + 4;
	unsigned char *out = gs_malloc(cap + 1);
	int len;

	len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts padding bytes as data */
	while (n && in[n - 1] == '=') {
		n--;
		len--;
	}
	out[len] = '\0';
	*len_out = (size_t)len;
	return (char *)out;
}

static char *secret_value(const struct mf_node *secret, const char *key, size_t *len)
{
	const char *v = mf_node_dig_str(secret, "data", key, NULL);

	*len = 0;
	return v ? b64_decode(v, len) : NULL;
}

/* Read the Secret and hand its values to the server when it changed.
 * Nothing of it is logged but key names and token counts. */
static void load_secret(struct agent *a, struct kube_client *kc)
{
	const struct kube_resource *res;
	struct mf_node *s = NULL;
	struct gs_error err = GS_ERROR_INIT;
	struct apitoken_table *tokens = NULL;
	struct httpd_secrets hs = { 0 };
	char *gh = NULL, *gl = NULL, *gt = NULL, *bb = NULL, *tok = NULL;
	const char *rv;
	size_t len;

	if (kube_client_resource(kc, &res, "", "v1", "Secret", &err) ||
	    kube_client_get(kc, &s, res, a->cfg->ns, SECRET_NAME, &err)) {
		if (err.code != GS_ENOTFOUND)
			alog_ratelimit(300, ALOG_WARN, NULL, NULL, "cannot read Secret %s/%s: %s",
				       a->cfg->ns, SECRET_NAME, err.msg);
		else
			alog_ratelimit(3600, ALOG_INFO, NULL, NULL,
				       "no Secret %s/%s: webhooks and API refused until it exists",
				       a->cfg->ns, SECRET_NAME);
		if (err.code == GS_ENOTFOUND && a->secret_rv) {
			/* deleted: revoke everything it granted */
			httpd_set_secrets(a->h, NULL, NULL);
			free(a->secret_rv);
			a->secret_rv = NULL;
			alog(ALOG_WARN, NULL, NULL, "Secret %s deleted: webhooks and API disabled",
			     SECRET_NAME);
		}
		goto cleanup;
	}
	rv = mf_node_dig_str(s, "metadata", "resourceVersion", NULL);
	if (a->secret_rv && rv && !strcmp(a->secret_rv, rv))
		goto cleanup;
	hs.github = gh = secret_value(s, "webhook.github.secret", &len);
	hs.gitlab = gl = secret_value(s, "webhook.gitlab.secret", &len);
	hs.gitea = gt = secret_value(s, "webhook.gitea.secret", &len);
	hs.bitbucketserver = bb = secret_value(s, "webhook.bitbucketserver.secret", &len);
	tok = secret_value(s, "api.tokens", &len);
	if (tok && apitoken_table_parse(&tokens, tok, len, &err)) {
		alog(ALOG_ERROR, NULL, NULL, "Secret %s key api.tokens: %s (API disabled)",
		     SECRET_NAME, err.msg);
		tokens = NULL;
	}
	httpd_set_secrets(a->h, &hs, tokens);
	alog(ALOG_INFO, NULL, NULL,
	     "loaded Secret %s: webhook secrets for%s%s%s%s, %zu API tokens", SECRET_NAME,
	     gh ? " github" : "", gl ? " gitlab" : "", gt ? " gitea" : "",
	     bb ? " bitbucketserver" : "", apitoken_table_count(tokens));
	free(a->secret_rv);
	a->secret_rv = rv ? gs_strdup(rv) : NULL;
cleanup:
	if (gh)
		OPENSSL_cleanse(gh, strlen(gh));
	if (gl)
		OPENSSL_cleanse(gl, strlen(gl));
	if (gt)
		OPENSSL_cleanse(gt, strlen(gt));
	if (bb)
		OPENSSL_cleanse(bb, strlen(bb));
	if (tok)
		OPENSSL_cleanse(tok, strlen(tok));
	free(gh);
	free(gl);
	free(gt);
	free(bb);
	free(tok);
	mf_node_free(s);
}

/* ---- informer: a WATCH of the Applications and of the kinds they manage ---- */

/* FNV-1a, 32 bits: an app name kept in a watch cache entry's 64 user bits. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static void want_kinds_add(struct agent *a, const struct mf_node *app)
{
	const struct mf_node *kinds = mf_node_dig(app, "status", "managedKinds", NULL);
	size_t i, j;

	for (i = 0; i < mf_node_len(kinds); i++) {
		const char *k = mf_node_str(mf_node_at(kinds, i));
		if (!k || !*k)
			continue;
		for (j = 0; j < a->nwant && strcmp(a->want_kinds[j], k); j++)
			;
		if (j < a->nwant)
			continue;
		GS_ALLOC_GROW(a->want_kinds, a->nwant + 1, a->awant);
		a->want_kinds[a->nwant++] = gs_strdup(k);
		a->kinds_watched = false; /* until its cache is synced */
	}
}

/* An Application added or changed (watch event, or the first LIST): index
 * it and, on the leader, queue it when it is new, its spec changed, it
 * asks for a refresh or carries an .operation.  Its own status writes
 * change none of these, so they queue nothing.  Called under the
 * watcher's lock: takes a->lock only, never calls back into the watcher. */
static void on_app(struct agent *a, const struct mf_node *app)
{
	const char *ns = mf_obj_namespace(app), *name = mf_obj_name(app);
	const char *poll = mf_obj_annotation(app, POLL_ANNOTATION), *refresh;
	struct app_entry *e;
	long long gen = 0;
	char *key;
	bool urgent = false;
	size_t i;

	if (!ns || !name)
		return;
	if (a->cfg->n_app_namespaces) {
		for (i = 0; i < a->cfg->n_app_namespaces; i++)
			if (!strcmp(a->cfg->app_namespaces[i], ns))
				break;
		if (i == a->cfg->n_app_namespaces)
			return;
	}
	key = app_key(ns, name);
	mf_node_int(mf_node_dig(app, "metadata", "generation", NULL), &gen);
	refresh = mf_obj_annotation(app, REFRESH_ANNOTATION);
	pthread_mutex_lock(&a->lock);
	e = find_app(a, key);
	if (!e) {
		GS_ALLOC_GROW(a->apps, a->napps + 1, a->aapps);
		e = &a->apps[a->napps++];
		memset(e, 0, sizeof(*e));
		e->key = key;
		key = NULL; /* now owned by the index */
		e->name_hash = name_hash(name);
		snprintf(e->sync_status, sizeof(e->sync_status), "%s",
			 mf_node_dig_str(app, "status", "sync", "status", NULL)
				 ? mf_node_dig_str(app, "status", "sync", "status", NULL)
				 : "Unknown");
		snprintf(e->health_status, sizeof(e->health_status), "%s",
			 mf_node_dig_str(app, "status", "health", "status", NULL)
				 ? mf_node_dig_str(app, "status", "health", "status", NULL)
				 : "Unknown");
		urgent = true;
	}
	free(e->repo);
	free(e->revision);
	e->repo = gs_strdup(app_repo(app) ? app_repo(app) : "");
	e->revision = gs_strdup(app_revision(app) ? app_revision(app) : "");
	set_paths(e, app_path(app), mf_obj_annotation(app, PATHS_ANNOTATION));
	e->automated = app_automated(app);
	e->self_heal = mf_node_bool(mf_node_dig(app, "spec", "syncPolicy", "automated", "selfHeal", NULL));
	if (e->generation != gen)
		urgent = true;
	e->generation = gen;
	e->refresh = refresh && *refresh;
	e->has_op = mf_node_type(mf_node_get(app, "operation")) == MF_MAP;
	e->poll_s = poll ? agent_parse_duration(poll) : -1;
	if (e->poll_s <= 0)
		e->poll_s = a->cfg->poll_s;
	if (e->refresh || e->has_op)
		urgent = true;
	if (e->attempts && e->next_retry > workq_now())
		urgent = e->has_op || e->refresh; /* backing off unless asked */
	if (urgent && a->leader && !a->stopping) {
		if (e->has_op)
			e->last_op_queued = workq_now();
		workq_add(a->q, e->key, WORKQ_URGENT);
	}
	want_kinds_add(a, app);
	pthread_mutex_unlock(&a->lock);
	free(key);
}

static void forget_app(struct agent *a, const char *ns, const char *name)
{
	char *key = app_key(ns ? ns : "", name ? name : "");
	size_t i;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->napps; i++) {
		if (!strcmp(a->apps[i].key, key)) {
			entry_release(&a->apps[i]);
			memmove(&a->apps[i], &a->apps[i + 1], (a->napps - i - 1) * sizeof(a->apps[0]));
			a->napps--;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	free(key);
}

static uint64_t on_app_event(enum kube_event ev, const struct mf_node *obj,
			     const struct kube_cache_entry *prev, void *payload)
{
	struct agent *a = payload;

	if (ev == KUBE_EVENT_DELETED)
		forget_app(a, obj ? mf_obj_namespace(obj) : prev ? prev->ns : NULL,
			   obj ? mf_obj_name(obj) : prev ? prev->name : NULL);
	else if (obj)
		on_app(a, obj);
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
	uint64_t health = ev == KUBE_EVENT_DELETED ? 0 : sync_cache_fn(ev, obj, prev, NULL) & 0xff;
	uint32_t h = label ? name_hash(label) : prev ? (uint32_t)(prev->user >> 32) : 0;
	long long gen = 0;
	bool news;
	size_t i;

	if (obj)
		mf_node_int(mf_node_dig(obj, "metadata", "generation", NULL), &gen);
	if (ev == KUBE_EVENT_MODIFIED && prev)
		news = gen == 0 || gen != prev->generation || health != (prev->user & 0xff);
	else
		news = !kw->listing;
	if (news && h) {
		pthread_mutex_lock(&a->lock);
		if (a->leader && !a->stopping)
			for (i = 0; i < a->napps; i++)
				if (a->apps[i].name_hash == h)
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
	size_t i;

	pthread_mutex_lock(&a->lock);
	if (!a->leader || a->stopping) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	for (i = 0; i < a->napps; i++) {
		struct app_entry *e = &a->apps[i];
		bool due = now - e->last_reconcile >= e->poll_s;

		if (e->automated && e->self_heal && !a->kinds_watched &&
		    now - e->last_reconcile >= a->cfg->self_heal_s)
			due = true;
		if (e->attempts && e->next_retry > now)
			due = false;
		if (e->has_op && now - e->last_op_queued >= 10) {
			/* a watch event may have come while a worker held it */
			e->last_op_queued = now;
			workq_add(a->q, e->key, WORKQ_URGENT);
		} else if (due) {
			/* counted as done now, so that an app whose reconcile
			 * fails before recording is not queued every second */
			e->last_reconcile = now;
			workq_add(a->q, e->key, 0);
		}
	}
	pthread_mutex_unlock(&a->lock);
}

static bool stopping(struct agent *a)
{
	bool s;

	pthread_mutex_lock(&a->lock);
	s = a->stopping;
	pthread_mutex_unlock(&a->lock);
	return s;
}

/* Sleep up to s seconds, waking early on shutdown. */
static void nap(struct agent *a, double s)
{
	double end = workq_now() + s;

	while (!stopping(a) && workq_now() < end) {
		double left = end - workq_now();
		struct timespec ts = { 0, (long)((left < 0.1 ? left : 0.1) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

static void *informer_main(void *arg)
{
	struct agent *a = arg;
	struct gs_error err = GS_ERROR_INIT;
	struct kube_client *kc = NULL;
	struct kube_watcher *w = NULL;
	struct kube_cache *apps = NULL;
	struct kind_watch **kws = NULL;
	size_t nkw = 0, akw = 0, i;
	double last_secret = -1e9;
	const char *ns = a->cfg->n_app_namespaces == 1 ? a->cfg->app_namespaces[0] : NULL;

	if (kube_client_new(&kc, a->kcfg, NULL, &err) || kube_watcher_new(&w, kc, &err)) {
		alog(ALOG_ERROR, NULL, NULL, "informer: %s", err.msg);
		kube_client_free(kc);
		return NULL;
	}
	kube_client_set_observer(kc, observe_kube, a);
	while (!stopping(a)) {
		if (workq_now() - last_secret >= 10) {
			load_secret(a, kc);
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
				nap(a, a->cfg->resync_s);
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

/* ---- leader election ---- */

static void set_leader(struct agent *a, bool leader)
{
	bool was;

	pthread_mutex_lock(&a->lock);
	was = a->leader;
	a->leader = leader;
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

	while (!stopping(a)) {
		struct gs_error err = GS_ERROR_INIT;
		double now = workq_now();

		lease_try(a->lease, now, &err);
		if (err.code)
			alog_ratelimit(30, ALOG_WARN, NULL, NULL, "lease: %s", err.msg);
		set_leader(a, lease_is_leader(a->lease, workq_now()));
		pthread_mutex_lock(&a->lock);
		a->elector_stats = *kube_client_stats(a->elector_kc);
		pthread_mutex_unlock(&a->lock);
		nap(a, a->cfg->retry_s);
	}
	return NULL;
}

/* ---- HTTP callbacks (server threads) ---- */

static bool op_ready(void *payload)
{
	struct agent *a = payload;
	bool r;

	pthread_mutex_lock(&a->lock);
	r = a->synced;
	pthread_mutex_unlock(&a->lock);
	return r;
}

static int op_push(void *payload, const struct webhook_push *push, size_t *matched_out,
		   struct gs_error *err)
{
	struct agent *a = payload;
	char **keys = NULL;
	size_t n = 0, i;
	bool leader;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	leader = a->leader && !a->stopping;
	keys = gs_calloc(a->napps + 1, sizeof(char *));
	for (i = 0; i < a->napps; i++) {
		if (!webhook_push_matches(push, a->apps[i].repo, a->apps[i].revision))
			continue;
		/* monorepos: an app that names its paths skips pushes elsewhere */
		if (a->apps[i].npaths &&
		    !webhook_push_touches(push, (const char *const *)a->apps[i].paths,
					  a->apps[i].npaths))
			continue;
		if (leader) {
			/* a webhook overrides a retry backoff: the fix may be this push */
			a->apps[i].attempts = 0;
			a->apps[i].next_retry = 0;
			workq_add(a->q, a->apps[i].key, WORKQ_URGENT);
		}
		keys[n++] = gs_strdup(a->apps[i].key);
	}
	pthread_mutex_unlock(&a->lock);
	if (!leader && n) {
		pthread_mutex_lock(&a->api_lock);
		for (i = 0; i < n && !rc; i++) {
			char ns[254], name[254];
			split_key(keys[i], ns, sizeof(ns), name, sizeof(name));
			rc = mark_refresh(a->api.kc, ns, name, err);
		}
		pthread_mutex_unlock(&a->api_lock);
	}
	for (i = 0; i < n; i++) {
		alog(ALOG_INFO, keys[i], NULL, "%s push webhook: refresh%s",
		     webhook_forge_name(push->forge), leader ? "" : " (marked for the leader)");
		free(keys[i]);
	}
	free(keys);
	*matched_out = n;
	return rc;
}

static void emit_json(struct gs_buf *out, const struct mf_node *n)
{
	mf_json_emit(out, n, 0);
	gs_buf_putc(out, '\n');
}

struct list_out {
	struct gs_buf *out;
	size_t n;
};

static int on_list_item(const struct mf_node *app, void *payload)
{
	struct list_out *lo = payload;

	if (lo->n++)
		gs_buf_putc(lo->out, ',');
	mf_json_emit(lo->out, app, 0);
	return 0;
}

/* Body of POST .../sync: {"revision":"", "prune":bool, "dryRun":bool,
 * "resources":["GROUP:KIND:NAME"]}; all optional. */
static int api_sync(struct agent *a, const char *ns, const char *name,
		    const struct httpd_api_request *req, struct httpd_api_response *resp,
		    struct gs_error *err)
{
	struct mf_node *body = NULL, *app = NULL, *patch = NULL;
	char *who = NULL;
	int rc;

	if (req->body_len) {
		rc = mf_json_parse(&body, req->body, req->body_len, "request", err);
		if (rc || mf_node_type(body) != MF_MAP) {
			rc = gs_error_set(err, GS_EINVAL, "request body must be a JSON object");
			goto cleanup;
		}
	}
	rc = app_get(&app, a->api.kc, ns, name, err);
	if (rc)
		goto cleanup;
	if (mf_node_type(mf_node_get(app, "operation")) == MF_MAP) {
		rc = gs_error_set(err, GS_ECONFLICT,
				  "another operation is already in progress on '%s'", name);
		goto cleanup;
	}
	who = gs_asprintf("api:%s", req->token_name ? req->token_name : "");
	/* every option of the request travels (api-app.c) */
	patch = api_app_operation_patch(body, who, NULL);
	rc = app_patch(a->api.kc, ns, name, patch, err);
	if (rc)
		goto cleanup;
	if (is_leader(a)) {
		char *key = app_key(ns, name);
		workq_add(a->q, key, WORKQ_URGENT);
		free(key);
	}
	alog(ALOG_INFO, name, NULL, "sync requested through the API by token '%s'",
	     req->token_name ? req->token_name : "");
	resp->status = 202;
	mf_node_set_str_value(patch, "application", name);
	mf_node_set_str_value(patch, "namespace", ns);
	emit_json(&resp->body, patch);
cleanup:
	free(who);
	mf_node_free(body);
	mf_node_free(app);
	mf_node_free(patch);
	return rc;
}

static bool op_finished(const struct mf_node *app)
{
	const char *phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);

	return mf_node_type(mf_node_get(app, "operation")) != MF_MAP && phase &&
	       strcmp(phase, "Running");
}

/* GET .../operation[?wait=30s]: the operation (if pending) and its state;
 * with wait, answer as soon as no operation is pending and the last one
 * finished, or when the wait ends (long poll, capped at 60 s). */
static int api_operation(struct agent *a, const char *ns, const char *name, const char *wait_s,
			 struct httpd_api_response *resp, struct gs_error *err)
{
	double wait = wait_s ? agent_parse_duration(wait_s) : 0;
	double end = workq_now() + (wait > 60 ? 60 : wait);
	struct mf_node *app = NULL, *out = NULL;
	const struct mf_node *v;
	int rc;

	for (;;) {
		pthread_mutex_lock(&a->api_lock);
		rc = app_get(&app, a->api.kc, ns, name, err);
		pthread_mutex_unlock(&a->api_lock);
		if (rc)
			return rc;
		if (wait <= 0 || op_finished(app) || workq_now() >= end || stopping(a))
			break;
		mf_node_free(app);
		app = NULL;
		nap(a, 0.25);
	}
	out = mf_node_new(MF_MAP);
	mf_node_set(out, "operation",
		    (v = mf_node_get(app, "operation")) ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "operationState", NULL);
	mf_node_set(out, "operationState", v ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "sync", NULL);
	mf_node_set(out, "sync", v ? mf_node_clone(v) : mf_node_new_null());
	v = mf_node_dig(app, "status", "health", NULL);
	mf_node_set(out, "health", v ? mf_node_clone(v) : mf_node_new_null());
	mf_node_set(out, "finished", mf_node_new_bool(op_finished(app)));
	emit_json(&resp->body, out);
	mf_node_free(out);
	mf_node_free(app);
	return 0;
}

static int op_api(void *payload, const struct httpd_api_request *req,
		  struct httpd_api_response *resp, struct gs_error *err)
{
	struct agent *a = payload;
	const char *ns = req->namespace ? req->namespace : a->cfg->ns;
	int rc = 0;

	if (req->action && !strcmp(req->action, "operation"))
		return api_operation(a, ns, req->name, req->query_wait, resp, err);

	pthread_mutex_lock(&a->api_lock);
	if (!req->name && !strcmp(req->method, "POST")) {
		rc = api_app_create(&a->api.env, ns, req, resp, err);
	} else if (req->name && !req->action && !strcmp(req->method, "DELETE")) {
		rc = api_app_delete(&a->api.env, ns, req->name, req, resp, err);
	} else if (!req->name) {
		const struct kube_resource *res;
		struct list_out lo = { &resp->body, 0 };
		gs_buf_puts(&resp->body, "{\"items\":[");
		rc = app_resource(&res, a->api.kc, err);
		if (!rc)
			rc = kube_client_list(a->api.kc, res, req->namespace, NULL, on_list_item, &lo,
					      NULL, err);
		gs_buf_puts(&resp->body, "]}\n");
	} else if (!req->action) {
		struct mf_node *app = NULL;
		rc = app_get(&app, a->api.kc, ns, req->name, err);
		if (!rc)
			emit_json(&resp->body, app);
		mf_node_free(app);
	} else if (!strcmp(req->action, "sync")) {
		rc = api_sync(a, ns, req->name, req, resp, err);
	} else if (!strcmp(req->action, "refresh")) {
		rc = mark_refresh(a->api.kc, ns, req->name, err);
		if (!rc) {
			char *key = app_key(ns, req->name);
			if (is_leader(a))
				workq_add(a->q, key, WORKQ_URGENT);
			free(key);
			resp->status = 202;
			gs_buf_puts(&resp->body, "{\"refresh\":true}\n");
		}
	} else if (!strcmp(req->action, "diff")) {
		rc = api_app_diff(&a->api.env, ns, req->name, req, resp, err);
	} else if (!strcmp(req->action, "resources")) {
		rc = api_app_resources(&a->api.env, ns, req->name, req, resp, err);
	} else if (!strcmp(req->action, "manifests")) {
		rc = api_app_manifests(&a->api.env, ns, req->name, req, resp, err);
	} else if (!strcmp(req->action, "rollback")) {
		rc = api_app_rollback(&a->api.env, ns, req->name, req, resp, err);
		if (!rc && is_leader(a)) {
			char *key = app_key(ns, req->name);
			workq_add(a->q, key, WORKQ_URGENT);
			free(key);
		}
	}
	pthread_mutex_unlock(&a->api_lock);
	return rc;
}

/* ---- metrics ---- */

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
	pthread_mutex_unlock(&a->lock);
	metrics_set(a->m_resources, (double)resources);
	metrics_set(a->m_queue, (double)workq_len(a->q));
	/* the kube client counts per verb (retries included); see report */
	metrics_set(a->m_kube, (double)sum.get, "GET");
	metrics_set(a->m_kube, (double)sum.list, "LIST");
	metrics_set(a->m_kube, (double)sum.patch, "PATCH");
	metrics_set(a->m_kube, (double)sum.post, "POST");
	metrics_set(a->m_kube, (double)sum.put, "PUT");
	metrics_set(a->m_kube, (double)sum.del, "DELETE");
	metrics_set(a->m_kube, (double)sum.discovery, "DISCOVERY");
	metrics_set(a->m_kube, (double)sum.retries, "RETRY");
}

static void register_metrics(struct agent *a)
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
	a->m_watch = metrics_gauge(a->m, "gitsync_watch_cache_objects",
				   "Objects in the watch caches (Applications and managed objects).",
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
	metrics_set(a->m_leader, 0);
	metrics_registry_on_collect(a->m, collect, a);
}

/* ---- run ---- */

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
	a->q = workq_new(0);
	register_metrics(a);

	rc = kube_config_load(&a->kcfg, &kopts, err);
	if (rc)
		goto cleanup;
	rc = tools_init(&a->api, a, err);
	if (rc)
		goto cleanup;

	a->ops = (struct httpd_ops){ op_ready, op_push, op_api, a };
	hcfg.listen = cfg.listen ? cfg.listen : ":8080";
	hcfg.tls_cert_file = cfg.tls_cert;
	hcfg.tls_key_file = cfg.tls_key;
	hcfg.webhook_max_bytes = cfg.webhook_max_bytes;
	rc = httpd_start(&a->h, &hcfg, &a->ops, a->m, err);
	if (rc)
		goto cleanup;
	alog(ALOG_INFO, NULL, NULL, "serving %s on %s (port %u), namespace %s, %u workers, identity %s",
	     cfg.tls_cert ? "https" : "http", hcfg.listen, httpd_port(a->h), cfg.ns, cfg.workers,
	     cfg.identity);

	a->workers = gs_calloc(cfg.workers, sizeof(*a->workers));
	for (i = 0; i < cfg.workers; i++) {
		struct worker *w = &a->workers[i];
		w->a = a;
		w->id = i;
		rc = tools_init(&w->t, a, err);
		if (rc)
			goto stop;
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			rc = gs_error_set(err, GS_ERR, "cannot start worker thread");
			goto stop;
		}
		started++;
	}
	a->nworkers = started;

	if (cfg.leader_elect) {
		rc = kube_client_new(&a->elector_kc, a->kcfg, NULL, err);
		if (rc)
			goto stop;
		kube_client_set_observer(a->elector_kc, observe_kube, a);
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
		set_leader(a, true);
	}
	if (pthread_create(&a->informer, NULL, informer_main, a) == 0)
		informer = true;

	/* Wait for SIGTERM/SIGINT (blocked in every thread, so delivered here). */
	while (sigwait(&set, &sig) != 0)
		;
	alog(ALOG_INFO, NULL, NULL, "received %s: finishing work in flight",
	     sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = 0;

stop:
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_mutex_unlock(&a->lock);
	workq_shutdown(a->q);
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
		for (i = 0; i < cfg.workers; i++)
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
	for (i = 0; i < a->napps; i++)
		entry_release(&a->apps[i]);
	free(a->apps);
	for (i = 0; i < a->nwant; i++)
		free(a->want_kinds[i]);
	free(a->want_kinds);
	free(a->workers);
	free(a->secret_rv);
	metrics_registry_free(a->m);
	workq_free(a->q);
	kube_config_free(a->kcfg);
	pthread_cond_destroy(&a->workers_cond);
	pthread_mutex_destroy(&a->api_lock);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return rc;
}
