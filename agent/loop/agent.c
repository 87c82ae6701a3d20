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
#include "loop/alog.h"
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
	bool seen;
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

	pthread_mutex_t lock; /* index, leader flag, stats */
	struct app_entry *apps;
	size_t napps, aapps;
	bool leader;
	bool synced; /* first Application list done */
	bool stopping;
	char *secret_rv;

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

static int tools_init(struct tools *t, struct agent *a, struct gs_error *err)
{
	int rc;

	memset(t, 0, sizeof(*t));
	rc = kube_client_new(&t->kc, a->kcfg, NULL, err);
	if (rc)
		return rc;
	rc = gitsrc_new(&t->git, a->cfg->cache_dir, err);
	if (rc)
		return rc;
	t->se = sync_engine_new(t->kc);
	t->env.kc = t->kc;
	t->env.git = t->git;
	t->env.se = t->se;
	t->env.ns = a->cfg->ns;
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

/* ---- informer ---- */

struct list_ctx {
	struct agent *a;
	double now;
	bool leader;
};

static int on_app(const struct mf_node *app, void *payload)
{
	struct list_ctx *c = payload;
	struct agent *a = c->a;
	const char *ns = mf_obj_namespace(app), *name = mf_obj_name(app);
	const char *poll = mf_obj_annotation(app, POLL_ANNOTATION), *refresh;
	struct app_entry *e;
	long long gen = 0;
	char *key;
	bool due = false, urgent = false;
	size_t i;

	if (!ns || !name)
		return 0;
	if (a->cfg->n_app_namespaces) {
		for (i = 0; i < a->cfg->n_app_namespaces; i++)
			if (!strcmp(a->cfg->app_namespaces[i], ns))
				break;
		if (i == a->cfg->n_app_namespaces)
			return 0;
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
	e->seen = true;
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
	if (c->now - e->last_reconcile >= e->poll_s)
		due = true;
	if (e->automated && e->self_heal && c->now - e->last_reconcile >= a->cfg->self_heal_s)
		due = true;
	if (e->attempts && e->next_retry > c->now) {
		due = false; /* backing off unless asked */
		urgent = e->has_op || e->refresh;
	}
	if ((due || urgent) && c->leader)
		workq_add(a->q, e->key, urgent ? WORKQ_URGENT : 0);
	pthread_mutex_unlock(&a->lock);
	free(key);
	return 0;
}

static void list_apps(struct agent *a, struct kube_client *kc)
{
	const struct kube_resource *res;
	struct gs_error err = GS_ERROR_INIT;
	struct list_ctx c = { a, workq_now(), is_leader(a) };
	const char *ns = a->cfg->n_app_namespaces == 1 ? a->cfg->app_namespaces[0] : NULL;
	size_t i;

	if (app_resource(&res, kc, &err)) {
		alog_ratelimit(60, ALOG_ERROR, NULL, NULL, "%s", err.msg);
		return;
	}
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->napps; i++)
		a->apps[i].seen = false;
	pthread_mutex_unlock(&a->lock);
	if (kube_client_list(kc, res, ns, NULL, on_app, &c, NULL, &err)) {
		alog_ratelimit(60, ALOG_ERROR, NULL, NULL, "cannot list applications: %s", err.msg);
		return;
	}
	pthread_mutex_lock(&a->lock);
	for (i = a->napps; i-- > 0;) {
		if (!a->apps[i].seen) {
			entry_release(&a->apps[i]);
			memmove(&a->apps[i], &a->apps[i + 1], (a->napps - i - 1) * sizeof(a->apps[0]));
			a->napps--;
		}
	}
	a->synced = true;
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
	double last_secret = -1e9;

	if (kube_client_new(&kc, a->kcfg, NULL, &err)) {
		alog(ALOG_ERROR, NULL, NULL, "informer: %s", err.msg);
		return NULL;
	}
	while (!stopping(a)) {
		if (workq_now() - last_secret >= 10) {
			load_secret(a, kc);
			last_secret = workq_now();
		}
		list_apps(a, kc);
		pthread_mutex_lock(&a->lock);
		a->informer_stats = *kube_client_stats(kc);
		pthread_mutex_unlock(&a->lock);
		nap(a, a->cfg->resync_s);
	}
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
	struct mf_node *body = NULL, *app = NULL, *patch = NULL, *s, *op;
	const struct mf_node *v;
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
	patch = mf_node_new(MF_MAP);
	op = mf_node_ensure(patch, "operation", MF_MAP);
	s = mf_node_ensure(op, "sync", MF_MAP);
	if ((v = mf_node_get(body, "revision")) && mf_node_str(v) && *mf_node_str(v))
		mf_node_set_str_value(s, "revision", mf_node_str(v));
	mf_node_set(s, "prune", mf_node_new_bool(mf_node_bool(mf_node_get(body, "prune"))));
	if ((v = mf_node_get(body, "resources")) && mf_node_type(v) == MF_SEQ)
		mf_node_set(s, "resources", mf_node_clone(v));
	who = gs_asprintf("api:%s", req->token_name ? req->token_name : "");
	mf_node_set_str_value(mf_node_ensure(op, "initiatedBy", MF_MAP), "username", who);
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

static int api_diff(struct agent *a, const char *ns, const char *name,
		    struct httpd_api_response *resp, struct gs_error *err)
{
	struct mf_node *app = NULL;
	struct sync_report rep = SYNC_REPORT_INIT;
	struct app_sync_req req = { 0 };
	char *rev = NULL;
	size_t i;
	int rc;

	rc = app_get(&app, a->api.kc, ns, name, err);
	if (!rc)
		rc = app_compare(&rep, &rev, &a->api.env, app, &req, SYNC_KEEP_DIFF, false, err);
	if (rc)
		goto cleanup;
	for (i = 0; i < rep.n; i++) {
		const struct sync_resource *r = &rep.v[i];
		char *label;
		if (r->status == SYNC_STATUS_SYNCED)
			continue;
		label = gs_asprintf("%s%s%s/%s %s/%s", r->group, *r->group ? "/" : "", r->version,
				    r->kind, *r->ns ? r->ns : "-", r->name);
		gs_buf_printf(&resp->body, "===== %s (%s)\n", label, sync_status_str(r->status));
		mf_diff_text(&resp->body, r->live, r->target, "live", "desired", 0);
		free(label);
	}
	resp->content_type = "text/plain; charset=utf-8";
	/* the CLI's exit code convention travels as a header-less status:
	 * 200 in sync, 200 with a body when different */
cleanup:
	free(rev);
	sync_report_release(&rep);
	mf_node_free(app);
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
	if (!req->name) {
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
		rc = api_diff(a, ns, req->name, resp, err);
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
