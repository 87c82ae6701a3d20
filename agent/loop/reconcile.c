/* reconcile.c - the workers: run an operation, or compare and sync when
 * automated, with the app's retry backoff. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gitsrc/gitsrc.h"
#include "gs-alloc.h"
#include "gs-time.h"
#include "loop/alog.h"
#include "loop/loop-private.h"
#include "loop/workq.h"
#include "mf-object.h"
#include "sync/sync.h"

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

/* Retry backoff of an app: spec.syncPolicy.retry.backoff (duration 5s,
 * factor 2, maxDuration 3m, as Argo CD defaults). */
static double backoff_s(const struct mf_node *app, unsigned attempts)
{
	const struct mf_node *b = mf_node_dig(app, "spec", "syncPolicy", "retry", "backoff", NULL);
	double base = gs_time_parse_duration(mf_node_dig_str(b, "duration", NULL));
	double max = gs_time_parse_duration(mf_node_dig_str(b, "maxDuration", NULL));
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

enum outcome { OUTCOME_COMPARED, OUTCOME_COMPARE_FAILED, OUTCOME_SYNCED, OUTCOME_SYNC_FAILED };

/* Note what a reconcile found.  A sync, or a comparison that finds the app
 * Synced (the cluster matches: nothing is failing any more), resets the
 * retry backoff; any other comparison keeps it, so a failing revision backs
 * off 5 s, 10 s, 20 s ... */
static void record(struct agent *a, const char *key, const struct sync_report *rep,
		   enum outcome outcome, const struct mf_node *app)
{
	struct app_entry *e;
	long long gen = 0;

	mf_node_int(mf_node_dig(app, "metadata", "generation", NULL), &gen);

	pthread_mutex_lock(&a->lock);
	e = agent_index_find(a, key);
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
		if (outcome == OUTCOME_COMPARE_FAILED || outcome == OUTCOME_SYNC_FAILED) {
			e->attempts++;
			e->next_retry = workq_now() + backoff_s(app, e->attempts);
		} else if (outcome == OUTCOME_SYNCED) {
			e->attempts = 0;
			e->next_retry = 0;
			e->settle = 0;
			e->failed_gen = 0;
		} else if (rep && rep->status == SYNC_STATUS_SYNCED) {
			e->attempts = 0;
			e->next_retry = 0;
		}
		/* clearing an .operation changes the generation too: a failed
		 * operation's generation says nothing of the spec, keep none */
		if (outcome == OUTCOME_SYNC_FAILED)
			e->failed_gen = mf_node_get(app, "operation") ? 0 : gen;
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

/* The generation the app's last automated sync failed at differs from
 * gen (the one just read). */
static bool spec_changed(struct agent *a, const char *key, long long gen)
{
	struct app_entry *e;
	bool changed;

	pthread_mutex_lock(&a->lock);
	e = agent_index_find(a, key);
	changed = e && agent_index_spec_changed_since_failure(e, gen);
	pthread_mutex_unlock(&a->lock);
	return changed;
}

static bool may_retry(struct agent *a, const char *key, const struct mf_node *app, double *wait)
{
	struct app_entry *e;
	long long limit = retry_limit(app);
	bool ok = true;

	*wait = 0;
	pthread_mutex_lock(&a->lock);
	e = agent_index_find(a, key);
	if (e && e->attempts) {
		if (agent_index_retry_exhausted(e, limit))
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
			if (prune && !r->prune_disabled)
				return true;
			continue;
		}
		return true;
	}
	return false;
}

/* No hook and one wave: a sync of what rep lists cannot stop halfway on a
 * health wait.  An app that never recorded a sync skips the `Running` write
 * of such a sync (app_sync_req.no_running_mark): interrupted (a crash, a
 * lost outcome write), it leaves the app OutOfSync, or Synced with no sync
 * recorded, and reconcile syncs both again, so the crash marker is not
 * needed.  Saves one of the two status writes of every app's first sync
 * (issue 20). */
static bool one_step(const struct sync_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (rep->v[i].hook != SYNC_HOOK_NONE || rep->v[i].wave != rep->v[0].wave)
			return false;
	return true;
}

/* A rollback's recorded source and a request's sync options apply to this
 * run only: they change the in-memory copy of app, never its spec. */
static void operation_overrides(struct mf_node *app, const struct mf_node *op)
{
	const struct mf_node *src = mf_node_dig(op, "sync", "source", NULL);
	const struct mf_node *so = mf_node_dig(op, "sync", "syncOptions", NULL);
	struct mf_node *spec = mf_node_ensure(app, "spec", MF_MAP);
	size_t i;

	if (mf_node_type(src) == MF_MAP)
		mf_node_set(spec, "source", mf_node_clone(src));
	/* `app sync --force` (Argo CD's syncStrategy.apply/hook.force) */
	if (mf_node_bool(mf_node_dig(op, "sync", "syncStrategy", "apply", "force", NULL)) ||
	    mf_node_bool(mf_node_dig(op, "sync", "syncStrategy", "hook", "force", NULL)))
		mf_node_append(mf_node_ensure(mf_node_ensure(spec, "syncPolicy", MF_MAP),
					      "syncOptions", MF_SEQ),
			       mf_node_new_str("Force=true"));
	for (i = 0; i < mf_node_len(so); i++)
		mf_node_append(mf_node_ensure(mf_node_ensure(spec, "syncPolicy", MF_MAP),
					      "syncOptions", MF_SEQ),
			       mf_node_clone(mf_node_at(so, i)));
}

/* Sync app as req asks.  True when it failed and the app's policy retries
 * it (automated, app_retries_after): its backoff then queues it again. */
static bool run_sync(struct worker *w, const char *key, const struct mf_node *app,
		     const struct app_sync_req *req, const char *why)
{
	struct agent *a = w->a;
	struct sync_report rep = SYNC_REPORT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *rev = NULL;
	const char *name = mf_obj_name(app), *phase = "Error";
	bool retry;
	int rc;

	/* Rendering and comparing may have taken a while: check again right
	 * before the first write that the Lease is still ours. */
	if (!agent_is_leader(a)) {
		alog(ALOG_INFO, name, req->revision, "sync skipped: not the leader any more (%s)",
		     why);
		return false;
	}
	alog(ALOG_INFO, name, req->revision, "sync started (%s)", why);
	rc = app_run_sync(&rep, &rev, &w->t.env, app, req, NULL, NULL, &err);
	if (rc) {
		metrics_add(a->m_ops, 1, "Error");
		alog(ALOG_ERROR, name, rev, "sync could not run: %s", err.msg);
		record(a, key, NULL, OUTCOME_SYNC_FAILED, app);
	} else {
		phase = sync_phase_str(rep.phase);
		metrics_add(a->m_ops, 1, sync_phase_str(rep.phase));
		alog(rep.phase == SYNC_PHASE_SUCCEEDED ? ALOG_INFO : ALOG_WARN, name, rev,
		     "sync %s: %s (%zu resources, %lu requests)", sync_phase_str(rep.phase),
		     rep.message ? rep.message : "", rep.n, rep.requests);
		record(a, key, &rep,
		       rep.phase == SYNC_PHASE_SUCCEEDED ? OUTCOME_SYNCED : OUTCOME_SYNC_FAILED,
		       app);
	}
	retry = (rc || rep.phase != SYNC_PHASE_SUCCEEDED) && app_automated(app) &&
		app_retries_after(app, phase);
	free(rev);
	sync_report_release(&rep);
	return retry;
}

#define DEPENDS_RECHECK_S 10.0

/* spec.dependsOn not ready (or a cycle, with wait_on_error): look again
 * later; the compare wrote the condition saying what it waits for. */
static bool waits_for_deps(struct worker *w, const char *key, const struct mf_node *app,
			   bool wait_on_error)
{
	struct gs_error err = GS_ERROR_INIT;
	char *why = NULL;
	int rc = app_depends_wait(&why, w->t.kc, app, &err);
	bool wait = why || (rc && wait_on_error);

	if (wait) {
		alog_ratelimit(60, ALOG_INFO, mf_obj_name(app), NULL, "not syncing: %s",
			       why ? why : err.msg);
		workq_add(w->a->q, key, DEPENDS_RECHECK_S);
	}
	free(why);
	return wait;
}

/* An Application being deleted: with a resources finalizer, delete its
 * objects, then let it go (app-finalizer.c); without one, nothing to do. */
static void finalize(struct worker *w, const char *key, const struct mf_node *app)
{
	struct gs_error err = GS_ERROR_INIT;
	bool done = false;

	if (!app_has_finalizer(app))
		return;
	if (app_finalize(&done, &w->t.env, app, &err))
		alog_ratelimit(30, ALOG_ERROR, mf_obj_name(app), NULL,
			       "cannot delete the app's resources: %s", err.msg);
	else if (done)
		alog(ALOG_INFO, mf_obj_name(app), NULL, "resources deleted, finalizer removed");
	if (!done)
		workq_add(w->a->q, key, 2);
}

/* How old a shared Git answer this app may take: its poll interval (so a
 * repository is asked once per interval, whatever the number of apps
 * reading it), none when someone asked for a refresh or a sync (`app
 * sync` means the branch's latest commit, found by t-agent-basic).  A push
 * webhook invalidates the answer itself (api.c). */
static void set_git_max_age(struct worker *w, const char *key, const struct mf_node *app)
{
	struct agent *a = w->a;
	const char *refresh = mf_obj_annotation(app, REFRESH_ANNOTATION);
	struct app_entry *e;
	double age = a->cfg->poll_s;

	bool compared = false;
	double created, seen = 0;
	struct gs_error terr = GS_ERROR_INIT;

	pthread_mutex_lock(&a->lock);
	e = agent_index_find(a, key);
	if (e) {
		age = e->poll_s;
		compared = e->compared_sha[0] != '\0';
		seen = e->seen_wall;
	}
	pthread_mutex_unlock(&a->lock);
	/* an app never compared takes no answer older than itself: its
	 * commit may have been pushed just before it was created (found by
	 * t-health-agent: a parent app created after a push read the commit
	 * another app had fetched before it, without the parent's path) */
	if (!compared &&
	    !gs_time_parse_rfc3339(&created, mf_node_dig_str(app, "metadata", "creationTimestamp",
								NULL), &terr) &&
	    gs_time_wall() - created < age) {
		/* creationTimestamp is in whole seconds: an answer from the
		 * second the app was created in may predate it (found by
		 * t-health-agent: a parent app compared, and retried, against
		 * the commit before its own, for the whole poll interval).
		 * Answers from after that second, or from after the agent
		 * first saw the app, whichever came first, are younger than
		 * the app (apps made just before the agent started share one) */
		double since = gs_time_wall() - (seen > 0 && seen < created + 1 ? seen : created + 1);

		age = since > 0 ? since : 0;
	}
	if ((refresh && *refresh) || mf_node_type(mf_node_get(app, "operation")) == MF_MAP)
		age = 0;
	gitsrc_set_max_age(w->t.git, age);
}

/* The app as the API server's watch cache has it at the newest version the
 * agent has seen or written (no etcd read: a push reads 1,000 apps, issue
 * 20), never older, so a reconcile sees its predecessor's writes; etcd
 * answers when that version is unknown or unsure, and after any failure. */
static int read_app(struct worker *w, const char *key, const char *ns, const char *name,
		    struct mf_node **app, struct gs_error *err)
{
	struct agent *a = w->a;
	struct app_entry *e;
	const char *rv;
	char rvb[24];
	int rc;

	pthread_mutex_lock(&a->lock);
	e = agent_index_find(a, key);
	rv = e ? agent_index_read_rv(e, workq_now(), rvb, sizeof(rvb)) : NULL;
	pthread_mutex_unlock(&a->lock);
	if (rv) {
		rc = app_get_at(app, w->t.kc, ns, name, rv, err);
		if (rc == GS_OK || rc == GS_ENOTFOUND)
			return rc;
		gs_error_clear(err);
	}
	return app_get(app, w->t.kc, ns, name, err);
}

static void reconcile(struct worker *w, const char *key)
{
	struct agent *a = w->a;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *app = NULL;
	struct sync_report rep = SYNC_REPORT_INIT;
	const struct mf_node *op;
	char ns[254], name[254], *rev = NULL;
	double t0 = workq_now(), wait = 0;
	const char **res = NULL;
	struct mf_node *status = NULL; /* a compare's, to write unless a sync does */
	struct app_source src = APP_SOURCE_INIT; /* the compare's, for the sync */
	bool retry = false; /* a later try may fix what failed: queue it on the backoff */
	long long limit = -1, gen = 0;
	int rc;

	agent_split_key(key, ns, sizeof(ns), name, sizeof(name));
	rc = read_app(w, key, ns, name, &app, &err);
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

	if (mf_node_dig(app, "metadata", "deletionTimestamp", NULL)) {
		finalize(w, key, app);
		metrics_add(a->m_reconciles, 1, "deleted");
		goto cleanup;
	}
	set_git_max_age(w, key, app);
	op = mf_node_get(app, "operation");
	if (mf_node_type(op) == MF_MAP && waits_for_deps(w, key, app, false))
		goto done; /* the operation stays requested */
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
		operation_overrides(app, op);
		req.allow_empty = mf_node_bool(mf_node_dig(op, "sync", "allowEmpty", NULL));
		if (mf_node_len(rs)) {
			res = gs_calloc(mf_node_len(rs), sizeof(*res));
			for (i = 0; i < mf_node_len(rs); i++)
				if (mf_node_str(mf_node_at(rs, i)))
					res[n++] = mf_node_str(mf_node_at(rs, i));
			req.resources = res;
			req.n_resources = n;
		}
		retry = run_sync(w, key, app, &req,
				 mf_node_dig_str(op, "initiatedBy", "username", NULL)
					 ? mf_node_dig_str(op, "initiatedBy", "username", NULL)
					 : "operation");
		limit = retry_limit(app);
		metrics_add(a->m_reconciles, 1, "operation");
		goto done;
	}

	{
		struct app_sync_req req = { 0 };
		const char *last, *phase, *why;
		bool changed, drifted, interrupted, never_recorded, unrecorded;

		/* the status is written below unless a sync follows: the sync
		 * writes it (Running, then its outcome; an app's first sync
		 * only its outcome), so a new commit costs two writes to the
		 * app, not four (issue 20) */
		rc = app_compare_deferred(&rep, &rev, &w->t.env, app, &req, 0, &status, &src,
					  &err);
		if (rc) {
			metrics_add(a->m_reconciles, 1, "error");
			alog_ratelimit(30, ALOG_ERROR, name, NULL, "comparison failed: %s", err.msg);
			record(a, key, NULL, OUTCOME_COMPARE_FAILED, app);
			retry = true; /* compared again on the backoff, whatever retry.limit */
			goto done;
		}
		record(a, key, &rep, OUTCOME_COMPARED, app);
		metrics_add(a->m_reconciles, 1, "compared");
		mf_node_int(mf_node_dig(app, "metadata", "generation", NULL), &gen);
		{
			struct app_entry *e;

			pthread_mutex_lock(&a->lock);
			if ((e = agent_index_find(a, key)) && rev)
				agent_index_compared(a, e, rev, gen, !w->t.env.git_shared);
			pthread_mutex_unlock(&a->lock);
		}
		phase = mf_node_dig_str(app, "status", "operationState", "phase", NULL);
		/* Running while no worker here runs it (one worker per app, and
		 * only the leader syncs): a sync interrupted by a crash or a
		 * SIGKILL.  Run it again, whatever selfHeal says, and even when
		 * the cluster already matches, so the operation is recorded as
		 * finished (found by test/reliability/s-agent-kill.sh: the app
		 * stayed Running forever, the commit possibly half applied). */
		interrupted = phase && !strcmp(phase, "Running");
		/* every object in place, yet no sync ever recorded: a first
		 * sync that wrote its objects but not its outcome (it writes no
		 * Running marker, one_step).  Sync again, a no-op that records
		 * it (s-agent-kill's lost-outcome round fails without this) */
		never_recorded = !mf_node_dig(app, "status", "operationState", NULL);
		unrecorded = rep.n > 0 && never_recorded;
		if (!app_automated(app) ||
		    (rep.status == SYNC_STATUS_SYNCED && !interrupted && !unrecorded))
			goto done;
		last = mf_node_dig_str(app, "status", "operationState", "syncResult", "revision",
				       NULL);
		changed = !last || !rev || strcmp(last, rev);
		drifted = mf_node_bool(mf_node_dig(app, "spec", "syncPolicy", "automated",
						   "selfHeal", NULL));
		if (!changed && phase && (!strcmp(phase, "Failed") || !strcmp(phase, "Error"))) {
			/* this revision failed before.  After a spec change
			 * (allowEmpty set after a refused empty commit, a fixed
			 * sync option) sync again at once, whatever the policy.
			 * Otherwise retry on the app's backoff.  Without
			 * spec.syncPolicy.retry, a Failed sync (objects rejected:
			 * the same commit fails the same way) is not retried, as
			 * in Argo CD; an Error (cluster or Git unreachable) still
			 * is, on the default backoff. */
			if (spec_changed(a, key, gen)) {
				why = "spec changed since the failed sync";
			} else if (!app_retries_after(app, phase) || !may_retry(a, key, app, &wait)) {
				/* a backoff still running queues it (done:) */
				retry = wait > 0;
				goto done;
			} else {
				why = "retry";
			}
		} else if (!changed && !interrupted &&
			   (!drifted ||
			    !sync_would_act(&rep, mf_node_bool(mf_node_dig(app, "spec", "syncPolicy",
									   "automated", "prune",
									   NULL))))) {
			goto done; /* same revision, changed by hand, no selfHeal: leave it */
		} else {
			why = changed ? "new revision" : interrupted ? "interrupted sync" : "self-heal";
			if (rep.status == SYNC_STATUS_SYNCED && unrecorded)
				why = "sync not recorded";
		}
		if (waits_for_deps(w, key, app, true))
			goto done;
		req.revision = rev;
		/* the objects just compared, rendered from rev: render once per
		 * reconcile, not once for the compare and again for the sync */
		req.source = src.git.rev.sha[0] ? &src : NULL;
		req.prune = mf_node_bool(
			mf_node_dig(app, "spec", "syncPolicy", "automated", "prune", NULL));
		req.no_running_mark = never_recorded && one_step(&rep);
		/* the compare wrote nothing: app is as read, sync from it */
		mf_node_free(status);
		status = NULL;
		retry = run_sync(w, key, app, &req, why);
		limit = retry_limit(app);
	}
done:
	if (status) {
		struct gs_error werr = GS_ERROR_INIT;

		if (app_write_status(&w->t.env, app, status, &werr))
			alog_ratelimit(30, ALOG_WARN, name, NULL, "cannot write status: %s",
				       werr.msg);
	}
	if (app && mf_obj_annotation(app, REFRESH_ANNOTATION))
		clear_refresh(w->t.kc, ns, name);
	metrics_observe(a->m_reconcile, workq_now() - t0);
	pthread_mutex_lock(&a->lock);
	{
		struct app_entry *e = agent_index_find(a, key);
		double delay = e ? agent_index_retry_delay(e, retry, limit, workq_now())
				 : AGENT_RETRY_NONE;

		/* only a backoff still to come; else the poll interval and
		 * events bring the app back */
		if (delay > 0) {
			workq_add(a->q, key, delay);
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
	app_source_release(&src);
	sync_report_release(&rep);
	mf_node_free(status);
	mf_node_free(app);
}

#define GC_INTERVAL_S 600.0
#define GC_MIN_AGE_S 600.0

/* At most every 10 minutes one worker collects the Git cache's garbage:
 * exports of commits no app is at (older than 10 minutes: a younger one
 * may be rendered now) and clones of URLs no app names any more. */
static void maybe_gc(struct worker *w)
{
	struct agent *a = w->a;
	struct gitsrc_gc_stats st;
	struct gs_error err = GS_ERROR_INIT;
	char **shas;
	double now = workq_now();
	uint64_t bytes;
	size_t n, i;

	pthread_mutex_lock(&a->lock);
	if (a->gc_running || (a->last_gc > 0 && now - a->last_gc < GC_INTERVAL_S)) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	a->gc_running = true;
	a->last_gc = now;
	n = a->napps;
	shas = gs_calloc(n + 1, sizeof(*shas));
	for (i = 0; i < n; i++) {
		shas[i] = gs_strdup(a->apps[i].synced_sha);
	}
	pthread_mutex_unlock(&a->lock);
	if (gitsrc_gc(&st, w->t.git, (const char *const *)shas, n, GC_MIN_AGE_S, &err) < 0)
		alog(ALOG_WARN, NULL, NULL, "git cache gc: %s", err.msg);
	else if (st.exports_removed || st.repos_removed)
		alog(ALOG_INFO, NULL, NULL,
		     "git cache gc: removed %zu exports and %zu repositories (%llu bytes)",
		     st.exports_removed, st.repos_removed, (unsigned long long)st.bytes_freed);
	bytes = gitsrc_cache_bytes(w->t.git);
	for (i = 0; i < n; i++) {
		free(shas[i]);
	}
	free(shas);
	pthread_mutex_lock(&a->lock);
	a->cache_bytes = bytes;
	a->gc_running = false;
	pthread_mutex_unlock(&a->lock);
}

void *agent_worker_main(void *arg)
{
	struct worker *w = arg;
	struct agent *a = w->a;
	char *key;
	double waited = 0;

	while ((key = workq_get_waited(a->q, &waited))) {
		agent_observe_phase("queue", waited, a);
		pthread_mutex_lock(&a->lock);
		w->busy_since = workq_now();
		pthread_mutex_unlock(&a->lock);
		/* A standby (or a leader that lost its lease) takes no action:
		 * the new leader lists every app and queues what it needs. */
		if (agent_is_leader(a))
			reconcile(w, key);
		workq_done(a->q, key);
		free(key);
		pthread_mutex_lock(&a->lock);
		w->stats = *kube_client_stats(w->t.kc);
		w->busy_since = 0;
		pthread_mutex_unlock(&a->lock);
		maybe_gc(w);
	}
	pthread_mutex_lock(&a->lock);
	a->workers_done++;
	pthread_cond_broadcast(&a->workers_cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}
