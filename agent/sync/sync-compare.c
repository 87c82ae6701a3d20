/* sync-compare.c - live state (LIST by label, watch cache, GET), the
 * local verdict, the memo and the server's dry-run as judge; prune rows for
 * tracked objects gone from the source. */
#include "sync/sync-private.h"

#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-time.h"
#include "gs-base64.h"
#include "health/health-lua.h"
#include "mf-object.h"

/* A Secret's stringData is stored base64-encoded into data: compare with
 * that.  NULL when obj is not a Secret with stringData. */
static struct mf_node *secret_as_stored(const struct mf_node *obj)
{
	const struct mf_node *sd = mf_node_get(obj, "stringData");
	struct mf_node *copy, *data;
	size_t i;

	if (!mf_obj_kind(obj) || strcmp(mf_obj_kind(obj), "Secret") ||
	    mf_node_type(sd) != MF_MAP)
		return NULL;
	copy = mf_node_clone(obj);
	data = mf_node_ensure(copy, "data", MF_MAP);
	for (i = 0; i < mf_node_len(sd); i++) {
		const char *v = mf_node_str(mf_node_at(sd, i));
		size_t len = v ? mf_node_strlen(mf_node_at(sd, i)) : 0;
		struct gs_buf enc = GS_BUF_INIT;

		gs_base64_encode(&enc, v ? v : "", len, 0);
		mf_node_set_str_value(data, mf_node_key(sd, i), enc.ptr ? enc.ptr : "");
		gs_buf_release(&enc);
	}
	mf_node_remove(copy, "stringData");
	return copy;
}

static bool ignore_matches(const struct sync_ignore *ig, const struct sync_resource *r)
{
	return (!ig->group || !strcmp(ig->group, r->group)) &&
	       (!ig->kind || !strcmp(ig->kind, r->kind)) &&
	       (!ig->name || !strcmp(ig->name, r->name)) && (!ig->ns || !strcmp(ig->ns, r->ns));
}

/* Does RespectIgnoreDifferences=true apply to t (the option and an
 * ignoreDifferences entry matching it)? */
static bool respects_ignore(const struct run *run, const struct target *t)
{
	size_t i;

	for (i = 0; t->respect_ignore && i < run->opts->n_ignore; i++)
		if (ignore_matches(&run->opts->ignore[i], &run->rep->v[t->ri]))
			return true;
	return false;
}

/* RespectIgnoreDifferences=true: the ignored fields of t's desired object
 * take their live values, so the apply leaves them as they are (an HPA's
 * spec.replicas).  The memo keeps the hash of the object from the source:
 * what is applied follows from it and the live version the memo holds. */
static void respect_ignore(struct run *run, struct target *t, const struct mf_node *live)
{
	struct mf_node *tmp = NULL, *want;
	uint64_t hash = t->hash;
	size_t i;

	if (!respects_ignore(run, t))
		return;
	sync_target_desired(t, &tmp);
	want = tmp ? tmp : t->obj;
	if (!want)
		return;
	for (i = 0; i < run->opts->n_ignore; i++) {
		struct gs_error e = GS_ERROR_INIT;

		if (ignore_matches(&run->opts->ignore[i], &run->rep->v[t->ri]) &&
		    sync_respect_ignore(want, &run->opts->ignore[i], live, &e)) {
			gs_error_wrap(&e, "ignoreDifferences[%zu]", i);
			sync_fail_target(run, t, &e);
			break;
		}
	}
	sync_target_set_json(t, want);
	t->hash = hash;
	mf_node_free(tmp);
}

/* The live object of target t is known: decide locally, by memo, or mark
 * for a dry-run. */
static void evaluate(struct run *run, struct target *t, const struct mf_node *live)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	const char *rv = mf_node_dig_str(live, "metadata", "resourceVersion", NULL);
	const char *other = mf_obj_label(live, SYNC_LABEL_APP);
	struct memo m;
	size_t i;

	t->exists = true;
	free(t->live_rv);
	t->live_rv = rv ? gs_strdup(rv) : NULL;
	respect_ignore(run, t, live);
	sync_set_health(run, t->ri, live);
	if (other && strcmp(other, run->opts->app))
		sync_set_msg(r, "also managed by app '%s'", other);
	t->takeover = false;
	{
		const struct mf_node *mfs = mf_node_dig(live, "metadata", "managedFields", NULL);

		for (i = 0; i < mf_node_len(mfs); i++) {
			const char *mgr = mf_node_dig_str(mf_node_at(mfs, i), "manager", NULL);

			if (mgr && (!strcmp(mgr, "kubectl-client-side-apply") ||
				    !strcmp(mgr, "kubectl-create")))
				t->takeover = true;
		}
	}
	{
		struct mf_node *tmp = NULL, *cmp;
		const struct mf_node *want = sync_target_desired(t, &tmp);
		bool same;

		cmp = want ? secret_as_stored(want) : NULL;
		same = !t->takeover && want && sync_subset_equal(cmp ? cmp : want, live) &&
		       sync_owned_fields_desired(live, want, MANAGER);
		mf_node_free(cmp);
		mf_node_free(tmp);
		if (same) {
			r->status = SYNC_STATUS_SYNCED;
			sync_memo_store(run->se, t->key, t->hash, rv, true);
			return;
		}
	}
	if (sync_memo_get(run->se, t->key, &m) && !t->takeover && m.hash == t->hash && rv &&
	    !strcmp(m.rv, rv)) {
		r->status = m.synced ? SYNC_STATUS_SYNCED : SYNC_STATUS_OUT_OF_SYNC;
		if (m.synced || !(run->opts->flags & SYNC_KEEP_DIFF))
			return;
	}
	t->need_dry_run = true;
	mf_node_free(t->live);
	t->live = sync_normalize(live);
	/* managedFields are needed for manager-based ignoreDifferences, and
	 * kept with the diff to say who changed a drifted field */
	if ((run->opts->n_ignore || run->opts->flags & SYNC_KEEP_DIFF) &&
	    mf_node_dig(live, "metadata", "managedFields", NULL))
		mf_node_set(mf_node_get(t->live, "metadata"), "managedFields",
			    mf_node_clone(mf_node_dig(live, "metadata", "managedFields", NULL)));
}

/* Compare predicted (dry-run result) with the live object kept in t. */
static void judge(struct run *run, struct target *t, const struct mf_node *predicted)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	struct mf_node *p = sync_normalize(predicted), *l = t->live;
	size_t i;
	bool same;

	if (l) {
		for (i = 0; i < run->opts->n_ignore; i++) {
			struct gs_error e = GS_ERROR_INIT;

			if (!ignore_matches(&run->opts->ignore[i], r))
				continue;
			if (sync_apply_ignore(p, &run->opts->ignore[i], l, &e) ||
			    sync_apply_ignore(l, &run->opts->ignore[i], l, &e)) {
				/* a broken expression must not read as "in sync" */
				gs_error_wrap(&e, "ignoreDifferences[%zu]", i);
				sync_fail_target(run, t, &e);
				break;
			}
		}
		if (run->opts->flags & SYNC_KEEP_DIFF && !r->managed_fields) {
			ptrdiff_t at = mf_node_index(mf_node_get(l, "metadata"), "managedFields");

			if (at >= 0)
				r->managed_fields = mf_node_take_at(mf_node_get(l, "metadata"),
								    (size_t)at);
		}
		mf_node_remove(mf_node_get(l, "metadata"), "managedFields");
	}
	same = l && !t->failed && mf_node_equal(p, l);
	if (!l)
		r->status = SYNC_STATUS_MISSING;
	else
		r->status = same && !t->takeover ? SYNC_STATUS_SYNCED : SYNC_STATUS_OUT_OF_SYNC;
	if (l && !t->takeover)
		sync_memo_store(run->se, t->key, t->hash, t->live_rv, same);
	else if (!l && !t->exists && !t->failed)
		sync_memo_store(run->se, t->key, t->hash, MEMO_ABSENT, false);
	if (run->opts->flags & SYNC_KEEP_DIFF && r->status != SYNC_STATUS_SYNCED) {
		r->target = p;
		r->live = l;
		p = NULL;
		t->live = NULL;
	}
	mf_node_free(p);
	mf_node_free(t->live);
	t->live = NULL;
}

/* A batch callback hit an error that stops the whole run (cluster
 * unreachable, credentials refused): keep the first one. */
int sync_stop_run(struct run *run, int rc, const struct gs_error *e)
{
	if (!run->net_err.code)
		run->net_err = *e;
	return rc;
}

static int on_dry_run(int rc, struct mf_node *out, const struct gs_error *e, void *payload)
{
	struct target *t = payload;
	struct run *run = t->run;

	t->need_dry_run = false;
	if (sync_write_stops_run(run, rc))
		return sync_stop_run(run, rc, e);
	if (rc == GS_EINVAL && t->force && t->exists &&
	    sync_deletable_by_option(run->rep->v[t->ri].group, run->rep->v[t->ri].kind)) {
		/* Force=true, as `kubectl apply --force` (argocd app sync
		 * --force): a change refused in place (an immutable field) is
		 * made by deleting and creating the object again */
		struct sync_resource *r = &run->rep->v[t->ri];
		struct mf_node *tmp = NULL;
		const struct mf_node *want = sync_target_desired(t, &tmp);

		t->recreate = true;
		r->status = SYNC_STATUS_OUT_OF_SYNC;
		sync_set_msg(r, "to be recreated (Force=true): %s", e->msg);
		if (run->opts->flags & SYNC_KEEP_DIFF) {
			mf_node_remove(mf_node_get(t->live, "metadata"), "managedFields");
			r->live = t->live;
			r->target = want ? sync_normalize(want) : NULL;
			t->live = NULL;
		}
		mf_node_free(tmp);
		mf_node_free(t->live);
		t->live = NULL;
		return 0;
	}
	if (rc < 0) {
		sync_fail_target(run, t, e);
		mf_node_free(t->live);
		t->live = NULL;
		return 0;
	}
	judge(run, t, out);
	mf_node_free(out);
	return 0;
}

/* Run the batch; a callback's stop is returned as an error in err. */
int sync_run_batch(struct run *run, struct gs_error *err)
{
	int rc;

	gs_error_clear(&run->net_err);
	rc = kube_batch_run(run->batch);
	if (rc < 0) {
		*err = run->net_err;
		return rc;
	}
	return GS_OK;
}

void sync_queue_dry_run(struct run *run, struct target *t)
{
	t->run = run;
	kube_batch_apply_json(run->batch, t->res, run->rep->v[t->ri].ns, run->rep->v[t->ri].name,
			      t->json, t->json_len, MANAGER, KUBE_APPLY_DRY_RUN | KUBE_APPLY_FORCE,
			      on_dry_run, t);
}

struct list_ctx {
	struct run *run;
	const struct kube_resource *res;
	size_t n; /* items seen */
};

static void add_prune_row(struct run *run, const struct mf_node *item, const char *key)
{
	size_t ri = sync_add_row(run->rep, item);
	struct sync_resource *r = &run->rep->v[ri];
	char *msg = NULL;

	r->status = SYNC_STATUS_PRUNE;
	r->requires_pruning = true;
	r->health = hl_health_of(run->se->checks, item, &msg, NULL);
	r->health_msg = msg;
	r->wave = sync_wave_of(item);
	r->prune_disabled = sync_option_is(item, run->opts, "Prune", "false");
	if (r->prune_disabled) {
		sync_set_msg(r, "ignored (Prune=false)");
	} else if (mf_obj_annotation(item, "helm.sh/resource-policy") &&
		   !strcmp(mf_obj_annotation(item, "helm.sh/resource-policy"), "keep")) {
		/* what helm itself never deletes, a sync never prunes */
		r->prune_disabled = true;
		sync_set_msg(r, "ignored (helm.sh/resource-policy: keep)");
	}
	if (run->opts->flags & SYNC_KEEP_DIFF)
		r->live = sync_normalize(item);
	gs_strmap_put(&run->pruneidx, key, ri);
}

static int on_item(const struct mf_node *item, void *payload)
{
	struct list_ctx *lc = payload;
	struct run *run = lc->run;
	struct mf_id id = MF_ID_INIT;
	char *key, *tid;
	size_t *ti;

	lc->n++;
	mf_id_from_object(&id, item);
	key = sync_key(id.group, id.kind, id.ns, id.name);
	ti = gs_strmap_get(&run->idx, key);
	if (ti && !run->t[*ti].failed && !run->rep->v[run->t[*ti].ri].hook) {
		run->t[*ti].seen = true;
		evaluate(run, &run->t[*ti], item);
	} else if (!ti && !gs_strmap_get(&run->pruneidx, key)) {
		const char *have = mf_obj_annotation(item, SYNC_ANNOTATION_TRACKING);

		/* ours only when the tracking id names this very object: a
		 * label copied by a controller onto its children is not
		 * enough, and owned objects are their owner's business */
		tid = sync_tracking_id(run->opts->app, id.group, id.kind, id.ns, id.name);
		if (have && !strcmp(have, tid) &&
		    !mf_node_len(mf_node_dig(item, "metadata", "ownerReferences", NULL)) &&
		    sync_hook_of(item, NULL) == SYNC_HOOK_NONE)
			add_prune_row(run, item, key);
		free(tid);
	}
	free(key);
	mf_id_release(&id);
	return 0;
}

static int on_unlabelled_item(const struct mf_node *item, void *payload)
{
	struct run *run = payload;
	struct mf_id id = MF_ID_INIT;
	char *key;
	size_t *ti;

	mf_id_from_object(&id, item);
	key = sync_key(id.group, id.kind, id.ns, id.name);
	ti = gs_strmap_get(&run->idx, key);
	if (ti && !run->t[*ti].seen && !run->t[*ti].failed && !run->rep->v[run->t[*ti].ri].hook) {
		run->t[*ti].seen = true;
		evaluate(run, &run->t[*ti], item);
	}
	free(key);
	mf_id_release(&id);
	return 0;
}

static bool listed_already(struct run *run, const struct kube_resource *res)
{
	size_t i;

	for (i = 0; i < run->nlisted; i++)
		if (run->listed[i] == res ||
		    (!strcmp(run->listed[i]->group, res->group) &&
		     !strcmp(run->listed[i]->kind, res->kind)))
			return true;
	return false;
}

/* ---- live state from a watch cache ---- */

uint64_t sync_cache_fn(enum kube_event ev, const struct mf_node *obj,
		       const struct kube_cache_entry *prev, void *payload)
{
	(void)prev;
	if (ev == KUBE_EVENT_DELETED || !obj)
		return 0;
	{
		char *msg = NULL;
		/* payload: the users' health checks (const struct hl_set *) */
		enum sync_health h = hl_health_of(payload, obj, &msg, NULL);

		/* health + 1: 0 stays "nothing known"; SYNC_CACHE_HEALTH_MSG: a
		 * health other than Healthy has a message, which the entry
		 * cannot hold.  A Healthy one's ("statefulset rolling update
		 * complete ...") is only informative: not worth a GET of every
		 * healthy StatefulSet at every comparison */
		uint64_t tag = ((uint64_t)h + 1) |
			       (msg && *msg && h != SYNC_HEALTH_HEALTHY ? SYNC_CACHE_HEALTH_MSG : 0);

		free(msg);
		return tag;
	}
}

struct cache_ctx {
	struct run *run;
	const struct kube_resource *res;
	char **others;      /* "ns\0name" of cached objects not desired */
	size_t nothers, aothers;
};

/* Called under the watcher's lock: decide or collect, request nothing. */
static int on_cache_entry(const struct kube_cache_entry *e, void *payload)
{
	struct cache_ctx *cc = payload;
	struct run *run = cc->run;
	char *key;
	size_t *ti;

	/* a cache shared by apps: another app's object (a collision of the
	 * hashes only costs a GET: on_other_get checks the tracking id) */
	if (run->opts->live_cache_owner && (uint32_t)(e->user >> 32) != run->opts->live_cache_owner)
		return 0;
	key = sync_key(cc->res->group, cc->res->kind, e->ns, e->name);
	ti = gs_strmap_get(&run->idx, key);

	if (ti && !run->t[*ti].failed && !run->rep->v[run->t[*ti].ri].hook) {
		struct target *t = &run->t[*ti];
		struct sync_resource *r = &run->rep->v[t->ri];
		struct memo m;

		t->seen = true;
		/* RespectIgnoreDifferences needs the live object to apply */
		/* a health with a message is read from the object (GET): the
		 * status would lose the message (found by t-health-agent once
		 * first syncs read the cache) */
		if (sync_memo_get(run->se, t->key, &m) && m.hash == t->hash &&
		    !strcmp(m.rv, e->rv) && (e->user & 0xff) &&
		    !(e->user & SYNC_CACHE_HEALTH_MSG) && !respects_ignore(run, t) &&
		    (m.synced || !(run->opts->flags & SYNC_KEEP_DIFF))) {
			/* neither side changed since the last comparison */
			t->exists = true;
			free(t->live_rv);
			t->live_rv = gs_strdup(e->rv);
			r->status = m.synced ? SYNC_STATUS_SYNCED : SYNC_STATUS_OUT_OF_SYNC;
			r->health = (enum sync_health)((e->user & 0x7f) - 1);
		} else {
			t->fetch = true;
		}
	} else if (!ti && !gs_strmap_get(&run->pruneidx, key)) {
		size_t a = strlen(e->ns) + 1, b = strlen(e->name) + 1;
		char *nn = gs_malloc(a + b);

		memcpy(nn, e->ns, a);
		memcpy(nn + a, e->name, b);
		GS_ALLOC_GROW(cc->others, cc->nothers + 1, cc->aothers);
		cc->others[cc->nothers++] = nn;
	}
	free(key);
	return 0;
}

struct prune_get {
	struct run *run;
	const struct kube_resource *res;
};

static int on_get(int rc, struct mf_node *live, const struct gs_error *e, void *payload);

static int on_other_get(int rc, struct mf_node *live, const struct gs_error *e, void *payload)
{
	struct prune_get *pg = payload;
	struct list_ctx lc = { pg->run, pg->res };

	if (rc == GS_ENET || rc == GS_EAUTH)
		return sync_stop_run(pg->run, rc, e);
	if (rc == GS_OK)
		on_item(live, &lc); /* a prune candidate when it is ours */
	mf_node_free(live);
	return 0; /* gone meanwhile, or unreadable: not ours to prune now */
}

static int from_cache(struct run *run, const struct kube_resource *res, struct kube_cache *c,
		      struct gs_error *err)
{
	struct cache_ctx cc = { run, res, NULL, 0, 0 };
	struct prune_get pg = { run, res };
	size_t i;
	int rc;

	kube_cache_foreach(c, on_cache_entry, &cc);
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];

		if (t->fetch && t->res == res) {
			t->fetch = false;
			t->run = run;
			kube_batch_get(run->batch, res, run->rep->v[t->ri].ns,
				       run->rep->v[t->ri].name, on_get, t);
		}
	}
	for (i = 0; i < cc.nothers; i++)
		kube_batch_get(run->batch, res, cc.others[i],
			       cc.others[i] + strlen(cc.others[i]) + 1, on_other_get, &pg);
	rc = sync_run_batch(run, err);
	for (i = 0; i < cc.nothers; i++)
		free(cc.others[i]);
	free(cc.others);
	return rc;
}

/* A compare's LIST by label that found nothing is taken by the sync right
 * after it (a first sync, before the kind is watched) instead of listing
 * again: once, and for this long.  Objects with the app's label come only
 * from the app's own syncs, and only a sync, which writes, takes it; a
 * comparison always lists.  Not when any sync of the app (another worker,
 * the API, a --force recreating an object) ended after the LIST began: its
 * objects may be missing from it.  Nor for a full scan (app delete, the
 * finalizer): a prune that deletes a whole app lists what is there. */
#define LIST_EMPTY_S 10.0

static int list_kind(struct run *run, const struct kube_resource *res, bool needed,
		     struct gs_error *err)
{
	struct list_ctx lc = { run, res, 0 };
	struct kube_cache *cache;
	uint64_t gen;
	char *sel, *key;
	int rc;

	if (listed_already(run, res) || !(res->verbs & KUBE_VERB_LIST))
		return GS_OK;
	GS_ALLOC_GROW(run->listed, run->nlisted + 1, run->alisted);
	run->listed[run->nlisted++] = res;
	if (run->opts->live_cache &&
	    (cache = run->opts->live_cache(res, needed, run->opts->live_cache_payload)) &&
	    kube_cache_synced(cache))
		return from_cache(run, res, cache, err);
	/* memo key: no object key starts with a newline */
	key = gs_asprintf("\nlist\n%s\n%s/%s", run->opts->app, res->group, res->kind);
	gen = sync_memo_gen(run->se, run->opts->app);
	if (sync_memo_take(run->se, key, gen, LIST_EMPTY_S) && run->writes &&
	    !(run->opts->flags & SYNC_FULL_SCAN)) {
		free(key);
		return GS_OK;
	}
	sel = gs_asprintf("%s=%s", SYNC_LABEL_APP, run->opts->app);
	rc = kube_client_list(run->kc, res, NULL, sel, on_item, &lc, NULL, err);
	if (rc == GS_OK && !lc.n && !run->writes)
		sync_memo_store(run->se, key, gen, "", false);
	free(sel);
	free(key);
	return rc;
}

/* Is ns a namespace that does not exist yet and that this sync creates
 * (a desired Namespace, or the destination with CreateNamespace=true)? */
static bool namespace_pending(struct run *run, const char *ns)
{
	char *key = sync_key("", "Namespace", "", ns);
	size_t *ti = gs_strmap_get(&run->idx, key);
	bool pending = false;

	free(key);
	if (ti)
		pending = run->rep->v[run->t[*ti].ri].status == SYNC_STATUS_MISSING;
	else if (run->create_ns && !strcmp(ns, run->opts->ns))
		pending = true;
	return pending;
}

static int on_get(int rc, struct mf_node *live, const struct gs_error *e, void *payload)
{
	struct target *t = payload;
	struct run *run = t->run;
	struct sync_resource *r = &run->rep->v[t->ri];

	if (rc == GS_ENOTFOUND) {
		r->status = SYNC_STATUS_MISSING;
		r->health = SYNC_HEALTH_MISSING;
		t->need_dry_run = true;
		return 0;
	}
	if (rc == GS_ENET || rc == GS_EAUTH)
		return sync_stop_run(run, rc, e);
	if (rc < 0) {
		sync_fail_target(run, t, e);
		return 0;
	}
	evaluate(run, t, live);
	mf_node_free(live);
	return 0;
}

/* t is still absent and its dry-run create, for the same desired object,
 * passed moments ago (the compare before this sync): the verdict holds,
 * Missing, without asking again.  Not with SYNC_KEEP_DIFF, which wants the
 * predicted object. */
static bool absent_accepted(struct run *run, struct target *t)
{
	struct memo m;

	if (t->exists || (run->opts->flags & SYNC_KEEP_DIFF) ||
	    run->rep->v[t->ri].status != SYNC_STATUS_MISSING ||
	    !sync_memo_get(run->se, t->key, &m) || m.hash != t->hash ||
	    strcmp(m.rv, MEMO_ABSENT) || gs_time_mono() - m.at > MEMO_ABSENT_S)
		return false;
	run->rep->v[t->ri].health = SYNC_HEALTH_MISSING;
	t->need_dry_run = false;
	return true;
}

/* The sync right after a compare: t was absent and its dry-run create
 * passed moments ago.  Taken as still absent without a GET (the apply that
 * follows is a server-side apply: an object created meanwhile is patched,
 * not clobbered). */
static bool absent_just_now(struct run *run, const struct target *t)
{
	struct memo m;

	return !(run->opts->flags & SYNC_KEEP_DIFF) && sync_memo_get(run->se, t->key, &m) &&
	       m.hash == t->hash && !strcmp(m.rv, MEMO_ABSENT) &&
	       gs_time_mono() - m.at <= MEMO_ABSENT_GET_S;
}

/* A dry-run apply sent before any GET (see may_probe): an object that does
 * not exist comes back without a resourceVersion, and the answer is the
 * verdict a 404 and a dry-run create would have given.  Anything else (the
 * object exists, unlabelled; its namespace is missing; refused) is read and
 * judged the usual way. */
static int on_probe(int rc, struct mf_node *out, const struct gs_error *e, void *payload)
{
	struct target *t = payload;
	struct run *run = t->run;
	const char *rv = mf_node_dig_str(out, "metadata", "resourceVersion", NULL);

	if (rc < 0 && sync_write_stops_run(run, rc)) {
		mf_node_free(out);
		return sync_stop_run(run, rc, e);
	}
	if (rc == GS_OK && out && (!rv || !*rv)) {
		t->seen = true;
		t->need_dry_run = false;
		run->rep->v[t->ri].health = SYNC_HEALTH_MISSING;
		judge(run, t, out); /* no live object: Missing, remembered as absent */
	} else {
		t->probe_get = true;
	}
	mf_node_free(out);
	return 0;
}

/* An object no LIST or watch cache found is most often absent (a first
 * sync): one dry-run apply answers for it, where a GET (404) then the
 * dry-run create took two requests.  Not for a diff (it wants the live
 * object), Replace/Force (they act on what exists) or a kind that cannot
 * be patched. */
static bool may_probe(const struct run *run, const struct target *t)
{
	return !(run->opts->flags & SYNC_KEEP_DIFF) && !t->replace && !t->force &&
	       (t->res->verbs & KUBE_VERB_PATCH);
}

int sync_compare_live(struct run *run, struct gs_error *err)
{
	const struct sync_options *o = run->opts;
	size_t i;
	int rc, pass;

	if (o->ns && o->ns[0] && sync_option_is(NULL, o, "CreateNamespace", "true")) {
		const struct kube_resource *res = NULL;
		struct mf_node *live = NULL;

		if ((rc = kube_client_resource(run->kc, &res, "", "v1", "Namespace", err)) < 0)
			return rc;
		rc = kube_client_get(run->kc, &live, res, "", o->ns, err);
		mf_node_free(live);
		if (rc < 0 && rc != GS_ENOTFOUND)
			return rc;
		gs_error_clear(err);
		run->create_ns = rc == GS_ENOTFOUND;
	}
	/* one LIST per kind the app uses (by tracking label) */
	for (i = 0; i < run->nt; i++)
		if (run->t[i].res && (rc = list_kind(run, run->t[i].res, true, err)) < 0)
			return rc;
	for (i = 0; i < o->n_managed_kinds; i++) {
		const struct kube_resource *res = NULL;
		struct gs_error e = GS_ERROR_INIT;

		if (kube_client_resource(run->kc, &res, o->managed_kinds[i].group,
					 o->managed_kinds[i].version, o->managed_kinds[i].kind,
					 &e) == GS_OK &&
		    (rc = list_kind(run, res, true, err)) < 0)
			return rc;
	}
	if (o->flags & SYNC_FULL_SCAN) {
		const struct kube_resource **all = NULL;
		size_t nall = 0;

		if ((rc = kube_client_all_resources(run->kc, &all, &nall, err)) < 0)
			return rc;
		for (i = 0; i < nall; i++) {
			const struct kube_resource *res = all[i];

			/* events and the like are never ours */
			if (!(res->verbs & KUBE_VERB_DELETE) || !strcmp(res->kind, "Event"))
				continue;
			if ((rc = list_kind(run, res, false, err)) < 0)
				return rc;
		}
	}
	/* many objects of one kind not found by label (a first sync): one
	 * unfiltered LIST per kind and namespace instead of a GET each (per
	 * namespace, so that its cost follows the app, not the cluster) */
	for (i = 0; i < run->nt; i++) {
		const struct kube_resource *res = run->t[i].res;
		const char *ns = run->rep->v[run->t[i].ri].ns;
		size_t j, unseen = 0;

#define SAME_LIST(t) ((t)->res == res && !(t)->seen && !(t)->deferred && \
		      (!res->namespaced || !strcmp(run->rep->v[(t)->ri].ns, ns)))
		if (!res || run->t[i].seen || run->t[i].deferred || run->t[i].failed ||
		    !(res->verbs & KUBE_VERB_LIST))
			continue;
		for (j = i; j < run->nt; j++)
			if (SAME_LIST(&run->t[j]))
				unseen++;
		if (unseen < 16)
			continue;
		if ((rc = kube_client_list(run->kc, res, res->namespaced ? ns : NULL, NULL,
					   on_unlabelled_item, run, NULL, err)) < 0)
			return rc;
		/* what is still unseen does not exist: no GET needed */
		for (j = i; j < run->nt; j++) {
			struct target *t = &run->t[j];

			if (SAME_LIST(t) && !t->failed && !run->rep->v[t->ri].hook) {
				t->seen = true;
				run->rep->v[t->ri].status = SYNC_STATUS_MISSING;
				run->rep->v[t->ri].health = SYNC_HEALTH_MISSING;
				t->need_dry_run = true;
			}
		}
#undef SAME_LIST
	}
	/* objects not labelled yet (created by kubectl, or not at all): GET,
	 * many at once; Namespaces first, so that objects in a namespace this
	 * sync creates are known missing without asking */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < run->nt; i++) {
			struct target *t = &run->t[i];
			struct sync_resource *r = &run->rep->v[t->ri];
			bool is_ns = !r->group[0] && !strcmp(r->kind, "Namespace");

			if (t->failed || t->deferred || r->hook || is_ns != (pass == 0))
				continue;
			if (pass == 1 && r->ns[0] && namespace_pending(run, r->ns)) {
				t->ns_pending = true;
				r->status = SYNC_STATUS_MISSING;
				r->health = SYNC_HEALTH_MISSING;
				continue;
			}
			if (t->seen)
				continue;
			t->run = run;
			if (absent_just_now(run, t)) {
				t->seen = true;
				r->status = SYNC_STATUS_MISSING;
				r->health = SYNC_HEALTH_MISSING;
				t->need_dry_run = true; /* answered by absent_accepted */
			} else if (pass == 1 && may_probe(run, t)) {
				kube_batch_apply_json(run->batch, t->res, r->ns, r->name, t->json,
						      t->json_len, MANAGER,
						      KUBE_APPLY_DRY_RUN | KUBE_APPLY_FORCE,
						      on_probe, t);
			} else {
				kube_batch_get(run->batch, t->res, r->ns, r->name, on_get, t);
			}
		}
		if ((rc = sync_run_batch(run, err)) < 0)
			return rc;
	}
	/* what a probe found existing, or could not decide: read it */
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];

		if (!t->probe_get)
			continue;
		t->probe_get = false;
		kube_batch_get(run->batch, t->res, run->rep->v[t->ri].ns, run->rep->v[t->ri].name,
			       on_get, t);
	}
	if ((rc = sync_run_batch(run, err)) < 0)
		return rc;
	/* the server decides what could not be decided locally */
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];

		if (t->need_dry_run && !t->failed && !t->deferred && !t->ns_pending &&
		    !run->rep->v[t->ri].hook && !absent_accepted(run, t))
			sync_queue_dry_run(run, t);
	}
	if ((rc = sync_run_batch(run, err)) < 0)
		return rc;
	return GS_OK;
}
