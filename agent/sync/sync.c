/* sync.c - the engine, its memo, one run's shared helpers and the two entry
 * points, sync_compare() and sync_run() (see sync.h for the contract and
 * docs/internals/sync-engine.md for the pipeline). */
#include "sync/sync-private.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gs-alloc.h"
#include "gs-time.h"
#include "health/health-lua.h"
#include "kube/kube-client.h"
#include "mf-object.h"

struct sync_engine *sync_engine_new(struct kube_client *kc)
{
	struct sync_engine *se = gs_calloc(1, sizeof(*se));

	se->kc = kc;
	se->own_memo = sync_memo_new();
	se->memo = se->own_memo;
	return se;
}

/* ---- the memo (locked: engines of several threads may share one) ---- */

struct sync_memo {
	pthread_mutex_t lock;
	struct gs_strmap idx; /* key -> index in v */
	struct memo *v;
	size_t n, alloc;
};

struct sync_memo *sync_memo_new(void)
{
	struct sync_memo *m = gs_calloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void sync_memo_free(struct sync_memo *m)
{
	if (!m)
		return;
	free(m->v);
	gs_strmap_release(&m->idx);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void sync_engine_share_memo(struct sync_engine *se, struct sync_memo *m)
{
	se->memo = m ? m : se->own_memo;
}

bool sync_memo_get(struct sync_engine *se, const char *key, struct memo *out)
{
	struct sync_memo *m = se->memo;
	size_t *i;

	pthread_mutex_lock(&m->lock);
	i = gs_strmap_get(&m->idx, key);
	if (i)
		*out = m->v[*i];
	pthread_mutex_unlock(&m->lock);
	return i != NULL;
}

void sync_memo_store(struct sync_engine *se, const char *key, uint64_t hash, const char *rv,
		     bool synced)
{
	struct sync_memo *m = se->memo;
	struct memo *e;
	size_t *i;

	/* no version, or one longer than any etcd revision: nothing to hold
	 * the verdict to */
	if (!rv || strlen(rv) >= sizeof(e->rv))
		return;
	pthread_mutex_lock(&m->lock);
	i = gs_strmap_get(&m->idx, key);
	if (i) {
		e = &m->v[*i];
	} else {
		GS_ALLOC_GROW(m->v, m->n + 1, m->alloc);
		e = &m->v[m->n];
		gs_strmap_put(&m->idx, key, m->n++);
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->rv, rv, strlen(rv) + 1);
	e->hash = hash;
	e->synced = synced;
	e->at = gs_time_mono();
	pthread_mutex_unlock(&m->lock);
}

char *sync_object_key(const struct mf_node *obj)
{
	struct mf_id id = MF_ID_INIT;
	char *key;

	mf_id_from_object(&id, obj);
	key = sync_key(id.group, id.kind, id.ns, id.name);
	mf_id_release(&id);
	return key;
}

bool sync_memo_holds(struct sync_memo *m, const char *key, const char *rv)
{
	bool holds;
	size_t *i;

	if (!m || !key || !rv || !*rv)
		return false;
	pthread_mutex_lock(&m->lock);
	i = gs_strmap_get(&m->idx, key);
	holds = i && m->v[*i].synced && !strcmp(m->v[*i].rv, rv);
	pthread_mutex_unlock(&m->lock);
	return holds;
}

bool sync_memo_take(struct sync_engine *se, const char *key, uint64_t hash, double max_age)
{
	struct sync_memo *m = se->memo;
	bool fresh = false;
	size_t *i;

	pthread_mutex_lock(&m->lock);
	i = gs_strmap_get(&m->idx, key);
	if (i) {
		fresh = m->v[*i].at > 0 && m->v[*i].hash == hash &&
			gs_time_mono() - m->v[*i].at <= max_age;
		m->v[*i].at = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return fresh;
}

/* The generation is kept as an entry of the memo (its hash), under a key no
 * object key can be (they never start with a newline). */
static char *gen_key(const char *app)
{
	return gs_asprintf("\ngen\n%s", app ? app : "");
}

uint64_t sync_memo_gen(struct sync_engine *se, const char *app)
{
	struct memo m;
	char *key = gen_key(app);
	uint64_t gen = sync_memo_get(se, key, &m) ? m.hash : 0;

	free(key);
	return gen;
}

void sync_memo_wrote(struct sync_engine *se, const char *app)
{
	struct sync_memo *m = se->memo;
	char *key = gen_key(app);
	size_t *i;

	pthread_mutex_lock(&m->lock);
	i = gs_strmap_get(&m->idx, key);
	if (!i) {
		GS_ALLOC_GROW(m->v, m->n + 1, m->alloc);
		memset(&m->v[m->n], 0, sizeof(m->v[m->n]));
		gs_strmap_put(&m->idx, key, m->n++);
		i = gs_strmap_get(&m->idx, key);
	}
	m->v[*i].hash++;
	pthread_mutex_unlock(&m->lock);
	free(key);
}

void sync_engine_set_health_checks(struct sync_engine *se, const struct hl_set *checks)
{
	se->checks = checks;
}

void sync_engine_free(struct sync_engine *se)
{
	if (!se)
		return;
	sync_memo_free(se->own_memo);
	free(se);
}

void sync_report_release(struct sync_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++) {
		struct sync_resource *r = &rep->v[i];

		free(r->group);
		free(r->version);
		free(r->kind);
		free(r->ns);
		free(r->name);
		free(r->health_msg);
		free(r->message);
		mf_node_free(r->live);
		mf_node_free(r->target);
		mf_node_free(r->managed_fields);
	}
	free(rep->v);
	free(rep->message);
	memset(rep, 0, sizeof(*rep));
}

void sync_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

char *sync_key(const char *group, const char *kind, const char *ns, const char *name)
{
	return gs_asprintf("%s/%s/%s/%s", group ? group : "", kind ? kind : "", ns ? ns : "",
			   name ? name : "");
}

char *sync_tracking_id(const char *app, const char *group, const char *kind, const char *ns,
			 const char *name)
{
	return gs_asprintf("%s:%s/%s:%s/%s", app, group, kind, ns, name);
}

size_t sync_add_row(struct sync_report *rep, const struct mf_node *obj)
{
	struct mf_id id = MF_ID_INIT;
	struct sync_resource *r;

	mf_id_from_object(&id, obj);
	GS_ALLOC_GROW(rep->v, rep->n + 1, rep->alloc);
	r = &rep->v[rep->n];
	memset(r, 0, sizeof(*r));
	r->group = id.group;
	r->version = id.version;
	r->kind = id.kind;
	r->ns = id.ns;
	r->name = id.name;
	return rep->n++;
}

void sync_set_msg(struct sync_resource *r, const char *fmt, ...)
{
	struct gs_buf b = GS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gs_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(r->message);
	r->message = gs_buf_detach(&b, NULL);
}

void sync_progress(struct run *run, size_t ri)
{
	if (run->opts->progress)
		run->opts->progress(&run->rep->v[ri], run->opts->payload);
}

void sync_fail_target(struct run *run, struct target *t, const struct gs_error *e)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	char *id;

	t->failed = true;
	run->any_failed = true;
	r->result = SYNC_RESULT_FAILED;
	sync_set_msg(r, "%s", e->msg);
	id = gs_asprintf("%s%s%s %s%s%s", r->group, r->group[0] ? "/" : "", r->kind, r->ns,
			 r->ns[0] ? "/" : "", r->name);
	gs_buf_printf(&run->failures, "%s%s: %s", run->failures.len ? "; " : "", id, e->msg);
	free(id);
}

void sync_set_health(struct run *run, size_t ri, const struct mf_node *live)
{
	struct sync_resource *r = &run->rep->v[ri];

	free(r->health_msg);
	r->health_msg = NULL;
	r->health = live ? hl_health_of(run->se->checks, live, &r->health_msg, NULL)
			 : SYNC_HEALTH_MISSING;
}

bool sync_write_stops_run(const struct run *run, int rc)
{
	return rc == GS_ENET || (rc == GS_EAUTH && !kube_client_impersonation(run->kc));
}

static void aggregate(struct sync_report *rep)
{
	size_t i;

	rep->status = SYNC_STATUS_SYNCED;
	rep->health = SYNC_HEALTH_HEALTHY;
	for (i = 0; i < rep->n; i++) {
		const struct sync_resource *r = &rep->v[i];

		if (r->hook)
			continue;
		if (r->status != SYNC_STATUS_SYNCED &&
		    !(r->status == SYNC_STATUS_PRUNE && r->result == SYNC_RESULT_PRUNED))
			rep->status = SYNC_STATUS_OUT_OF_SYNC;
		if (r->status != SYNC_STATUS_PRUNE && r->health > rep->health)
			rep->health = r->health;
	}
}

static void run_release(struct run *run)
{
	size_t i;

	for (i = 0; i < run->nt; i++) {
		mf_node_free(run->t[i].obj);
		free(run->t[i].json);
		mf_node_free(run->t[i].live);
		free(run->t[i].key);
		free(run->t[i].live_rv);
	}
	free(run->t);
	free(run->listed);
	kube_batch_free(run->batch);
	gs_strmap_release(&run->idx);
	gs_strmap_release(&run->pruneidx);
	gs_strmap_release(&run->rediscovered);
	gs_buf_release(&run->failures);
}

static void run_init(struct run *run, struct sync_engine *se, struct sync_report *rep,
		     const struct sync_options *opts)
{
	memset(run, 0, sizeof(*run));
	run->se = se;
	run->kc = se->kc;
	run->opts = opts;
	run->rep = rep;
	run->failures = (struct gs_buf)GS_BUF_INIT;
	run->batch = kube_batch_new(se->kc);
}

/* opts->policy (Projects): desired objects before any request about them,
 * prune candidates once compare() found them.  A refusal fails the object
 * like a dry-run rejection, so nothing is written. */
static void check_policy(struct run *run, bool prune_rows)
{
	size_t i;

	if (!run->opts->policy)
		return;
	if (!prune_rows) {
		for (i = 0; i < run->nt; i++) {
			struct target *t = &run->t[i];
			struct gs_error e = GS_ERROR_INIT;

			if (!t->failed &&
			    run->opts->policy(&run->rep->v[t->ri], false, run->opts->policy_payload,
					      &e))
				sync_fail_target(run, t, &e);
		}
		return;
	}
	if (!(run->opts->flags & SYNC_PRUNE))
		return;
	for (i = 0; i < run->rep->n; i++) {
		struct sync_resource *r = &run->rep->v[i];
		struct gs_error e = GS_ERROR_INIT;

		if (r->status != SYNC_STATUS_PRUNE || r->result != SYNC_RESULT_NONE ||
		    r->prune_disabled)
			continue;
		if (run->opts->policy(r, true, run->opts->policy_payload, &e)) {
			r->result = SYNC_RESULT_FAILED;
			sync_set_msg(r, "%s", e.msg);
			run->any_failed = true;
			gs_buf_printf(&run->failures, "%s%s %s: %s", run->failures.len ? "; " : "",
				      r->kind, r->name, e.msg);
		}
	}
}

static int run_compare(struct run *run, struct mf_node *const *objs, size_t n,
		       struct gs_error *err)
{
	int rc;

	run->rep->started = gs_time_wall();
	run->rep->phase = SYNC_PHASE_RUNNING;
	run->requests0 = kube_client_stats(run->kc)->requests;
	if ((rc = sync_prepare(run, objs, n, err)) < 0)
		return rc;
	check_policy(run, false);
	if ((rc = sync_compare_live(run, err)) < 0)
		return rc;
	check_policy(run, true);
	return GS_OK;
}

uint32_t sync_app_hash(const char *app)
{
	uint64_t h = gs_fnv1a(GS_FNV1A_INIT, app ? app : "", app ? strlen(app) : 0);
	uint32_t v = (uint32_t)(h ^ (h >> 32));

	return v ? v : 1;
}

int sync_compare(struct sync_engine *se, struct sync_report *rep, struct mf_node *const *objs,
		 size_t n, const struct sync_options *opts, struct gs_error *err)
{
	struct run run;
	int rc;

	run_init(&run, se, rep, opts);
	rc = run_compare(&run, objs, n, err);
	aggregate(rep);
	rep->phase = rc < 0 ? SYNC_PHASE_ERROR : SYNC_PHASE_NONE;
	if (run.failures.len)
		rep->message = gs_strdup(run.failures.ptr);
	rep->finished = gs_time_wall();
	rep->requests = kube_client_stats(se->kc)->requests - run.requests0;
	/* a LIST begun before now may have missed what this run wrote */
	if (run.writes)
		sync_memo_wrote(se, opts->app);
	run_release(&run);
	return rc;
}

/* ---- converging ---- */
/* A source with no objects, pruning: everything the app has would be
 * deleted.  A commit that empties the app's path is far more often a
 * mistake (a moved directory, a kustomization that lost its resources) than
 * a wish, so that takes SYNC_ALLOW_EMPTY (Argo CD's allowEmpty).  True when
 * the run stops here: prune rows skipped, phase Failed, message says why. */
static bool refuse_empty(struct run *run)
{
	struct sync_report *rep = run->rep;
	size_t i, nprune = 0;

	if (!(run->opts->flags & SYNC_PRUNE) || (run->opts->flags & SYNC_ALLOW_EMPTY))
		return false;
	for (i = 0; i < run->nt; i++)
		if (!rep->v[run->t[i].ri].hook)
			return false;
	for (i = 0; i < rep->n; i++)
		if (rep->v[i].status == SYNC_STATUS_PRUNE && !rep->v[i].prune_disabled)
			nprune++;
	if (!nprune)
		return false;
	for (i = 0; i < rep->n; i++) {
		struct sync_resource *r = &rep->v[i];

		if (r->status != SYNC_STATUS_PRUNE || r->result != SYNC_RESULT_NONE)
			continue;
		r->result = SYNC_RESULT_PRUNE_SKIPPED;
		if (!r->prune_disabled)
			sync_set_msg(r, "ignored (the source has no objects)");
		sync_progress(run, i);
	}
	free(rep->message);
	rep->message = gs_asprintf("refusing to prune: the source has no objects, so this sync "
				   "would delete all %zu objects of the app (if that is meant: "
				   "--allow-empty, or syncPolicy.automated.allowEmpty: true)",
				   nprune);
	rep->phase = SYNC_PHASE_FAILED;
	return true;
}

int sync_run(struct sync_engine *se, struct sync_report *rep, struct mf_node *const *objs,
	     size_t n, const struct sync_options *opts, struct gs_error *err)
{
	struct run run;
	size_t i;
	int rc;

	run_init(&run, se, rep, opts);
	run.writes = !(opts->flags & SYNC_DRY_RUN);
	rc = run_compare(&run, objs, n, err);
	if (rc < 0) {
		rep->phase = SYNC_PHASE_ERROR;
		goto done;
	}
	if (refuse_empty(&run))
		goto done;
	/* all-or-nothing: any object that failed its dry-run (or is of an
	 * unknown kind) stops the sync before the first write */
	if (run.any_failed) {
		for (i = 0; i < rep->n; i++)
			if (rep->v[i].result == SYNC_RESULT_FAILED)
				sync_progress(&run, i);
		sync_finish_failed(&run, "nothing applied: one or more objects failed validation");
		goto done;
	}
	if (opts->flags & SYNC_DRY_RUN) {
		for (i = 0; i < run.nt; i++) {
			struct sync_resource *r = &rep->v[run.t[i].ri];

			if (r->hook == SYNC_HOOK_SKIP)
				continue;
			if (r->hook || r->status != SYNC_STATUS_SYNCED) {
				r->result = SYNC_RESULT_SYNCED;
				sync_set_msg(r, "%s %s (dry run)", r->kind,
					r->status == SYNC_STATUS_MISSING ? "created" : "configured");
				sync_progress(&run, run.t[i].ri);
			}
		}
		if ((rc = sync_prune(&run, false, err)) < 0 || (rc = sync_prune(&run, true, err)) < 0) {
			rep->phase = SYNC_PHASE_ERROR;
			goto done;
		}
		rep->phase = SYNC_PHASE_SUCCEEDED;
		rep->message = gs_strdup("successfully synced (dry run, nothing written)");
		goto done;
	}
	rc = sync_converge(&run, err);
	if (rc < 0)
		rep->phase = SYNC_PHASE_ERROR;
done:
	if (rc < 0 && !rep->message) {
		char buf[1100];

		rep->message = gs_strdup(gs_error_str(err, buf, sizeof(buf)));
	}
	aggregate(rep);
	rep->finished = gs_time_wall();
	rep->requests = kube_client_stats(se->kc)->requests - run.requests0;
	/* a LIST begun before now may have missed what this run wrote */
	if (run.writes)
		sync_memo_wrote(se, opts->app);
	run_release(&run);
	return rc;
}

