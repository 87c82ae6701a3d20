/* sync.c - compare and converge (see sync.h for the contract). */
#include "sync/sync.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "kube/kube-private.h"
#include "mf-json.h"
#include "mf-object.h"

#define MANAGER SYNC_FIELD_MANAGER
#define POLL_MS 500
#define CRD_WAIT_S 120.0

/* ---- a string -> size_t hash map (open addressing) ---- */

struct smap {
	char **keys;
	size_t *vals;
	size_t cap, n;
};

static uint64_t fnv1a(const void *p, size_t len, uint64_t h)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

#define FNV_INIT 14695981039346656037ULL

static void smap_put(struct smap *m, const char *key, size_t val);

static void smap_grow(struct smap *m)
{
	struct smap old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = gs_calloc(m->cap, sizeof(*m->keys));
	m->vals = gs_calloc(m->cap, sizeof(*m->vals));
	m->n = 0;
	for (i = 0; i < old.cap; i++)
		if (old.keys[i]) {
			smap_put(m, old.keys[i], old.vals[i]);
			free(old.keys[i]);
		}
	free(old.keys);
	free(old.vals);
}

static size_t *smap_get(const struct smap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = fnv1a(key, strlen(key), FNV_INIT) & (m->cap - 1);
	while (m->keys[i]) {
		if (!strcmp(m->keys[i], key))
			return &m->vals[i];
		i = (i + 1) & (m->cap - 1);
	}
	return NULL;
}

static void smap_put(struct smap *m, const char *key, size_t val)
{
	size_t i, *v = smap_get(m, key);

	if (v) {
		*v = val;
		return;
	}
	if ((m->n + 1) * 2 > m->cap)
		smap_grow(m);
	i = fnv1a(key, strlen(key), FNV_INIT) & (m->cap - 1);
	while (m->keys[i])
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = gs_strdup(key);
	m->vals[i] = val;
	m->n++;
}

static void smap_release(struct smap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---- engine ---- */

struct memo {
	uint64_t hash;
	char *rv;
	bool synced;
};

struct sync_engine {
	struct kube_client *kc;
	struct smap memo_idx; /* key -> index in memo */
	struct memo *memo;
	size_t nmemo, amemo;
};

struct sync_engine *sync_engine_new(struct kube_client *kc)
{
	struct sync_engine *se = gs_calloc(1, sizeof(*se));

	se->kc = kc;
	return se;
}

void sync_engine_free(struct sync_engine *se)
{
	size_t i;

	if (!se)
		return;
	for (i = 0; i < se->nmemo; i++)
		free(se->memo[i].rv);
	free(se->memo);
	smap_release(&se->memo_idx);
	free(se);
}

static struct memo *memo_find(struct sync_engine *se, const char *key)
{
	size_t *i = smap_get(&se->memo_idx, key);

	return i ? &se->memo[*i] : NULL;
}

static void memo_store(struct sync_engine *se, const char *key, uint64_t hash, const char *rv,
		       bool synced)
{
	struct memo *m = memo_find(se, key);

	if (!rv)
		return;
	if (!m) {
		GS_ALLOC_GROW(se->memo, se->nmemo + 1, se->amemo);
		m = &se->memo[se->nmemo];
		memset(m, 0, sizeof(*m));
		smap_put(&se->memo_idx, key, se->nmemo++);
	}
	free(m->rv);
	m->rv = gs_strdup(rv);
	m->hash = hash;
	m->synced = synced;
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
	}
	free(rep->v);
	free(rep->message);
	memset(rep, 0, sizeof(*rep));
}

/* ---- one run ---- */

struct run;
struct target {
	struct run *run;                  /* for batch callbacks */
	/* The prepared desired object is kept as its compact JSON (the apply
	 * body, a fraction of a tree's size), parsed again only to compare it
	 * with a live object.  The tree stays only where it is needed whole:
	 * hooks, CRDs and custom resources waiting for their CRD.  Both are
	 * freed once the object is applied: from then on the cluster has it. */
	char *json;                       /* owned */
	size_t json_len;
	struct mf_node *obj;              /* owned, usually NULL (see above) */
	bool replace;                     /* sync option Replace=true */
	bool apply_always;                /* ApplyOutOfSyncOnly=false */
	bool wave_annotated;              /* has a sync-wave annotation */
	const struct kube_resource *res;  /* NULL while deferred or unknown */
	size_t ri;                        /* index in rep->v */
	char *key;                        /* group/kind/ns/name */
	uint64_t hash;
	unsigned hook_policy;
	bool deferred;                    /* kind comes from a CRD of this sync */
	bool seen, exists, need_dry_run, failed, applied, prune, prune_last;
	bool ns_pending;                  /* its namespace is created by this sync */
	bool takeover;                    /* created by kubectl: merge its fields */
	bool fetch;                       /* in a live cache, to GET */
	struct mf_node *live;             /* normalized live, while needed */
	char *live_rv;
	long long order;                  /* sort key parts */
	int wave, kind_order, phase;
};

struct run {
	struct sync_engine *se;
	struct kube_client *kc;
	const struct sync_options *opts;
	struct sync_report *rep;
	struct target *t;
	size_t nt, at;
	struct smap idx;                  /* key -> target index */
	struct smap pruneidx;             /* key -> report index of prune rows */
	struct smap rediscovered;         /* groups whose discovery this run refreshed */
	const struct kube_resource **listed;
	size_t nlisted, alisted;
	unsigned long requests0;
	bool any_failed;
	bool create_ns;                   /* CreateNamespace=true and it is missing */
	struct kube_batch *batch;         /* requests in flight */
	struct gs_error net_err;          /* the first network error of a batch */
	struct gs_buf failures;           /* "id: message" lines */
};

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *make_key(const char *group, const char *kind, const char *ns, const char *name)
{
	return gs_asprintf("%s/%s/%s/%s", group ? group : "", kind ? kind : "", ns ? ns : "",
			   name ? name : "");
}

static char *tracking_id(const char *app, const char *group, const char *kind, const char *ns,
			 const char *name)
{
	return gs_asprintf("%s:%s/%s:%s/%s", app, group, kind, ns, name);
}

static size_t add_row(struct sync_report *rep, const struct mf_node *obj)
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

static void set_msg(struct sync_resource *r, const char *fmt, ...) GS_PRINTF(2, 3);
static void set_msg(struct sync_resource *r, const char *fmt, ...)
{
	struct gs_buf b = GS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gs_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(r->message);
	r->message = gs_buf_detach(&b, NULL);
}

static void progress(struct run *run, size_t ri)
{
	if (run->opts->progress)
		run->opts->progress(&run->rep->v[ri], run->opts->payload);
}

static void fail_target(struct run *run, struct target *t, const struct gs_error *e)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	char *id;

	t->failed = true;
	run->any_failed = true;
	r->result = SYNC_RESULT_FAILED;
	set_msg(r, "%s", e->msg);
	id = gs_asprintf("%s%s%s %s%s%s", r->group, r->group[0] ? "/" : "", r->kind, r->ns,
			 r->ns[0] ? "/" : "", r->name);
	gs_buf_printf(&run->failures, "%s%s: %s", run->failures.len ? "; " : "", id, e->msg);
	free(id);
}

static void set_health(struct run *run, size_t ri, const struct mf_node *live)
{
	struct sync_resource *r = &run->rep->v[ri];

	free(r->health_msg);
	r->health_msg = NULL;
	r->health = live ? sync_health_of(live, &r->health_msg) : SYNC_HEALTH_MISSING;
}

/* Is this kind defined by a CRD in the desired set? */
static bool defined_by_crd(struct run *run, const char *group, const char *kind)
{
	size_t i;

	for (i = 0; i < run->nt; i++) {
		const struct mf_node *o = run->t[i].obj;
		const char *k = o ? mf_obj_kind(o) : NULL, *g;

		if (!k || strcmp(k, "CustomResourceDefinition"))
			continue;
		g = mf_node_dig_str(o, "spec", "group", NULL);
		if (g && !strcmp(g, group) &&
		    mf_node_dig_str(o, "spec", "names", "kind", NULL) &&
		    !strcmp(mf_node_dig_str(o, "spec", "names", "kind", NULL), kind))
			return true;
	}
	return false;
}

/* (Re)serialize t's desired object; its hash is the memo's key. */
static void set_json(struct target *t, const struct mf_node *obj)
{
	struct gs_buf b = GS_BUF_INIT;

	kube_node_to_json(&b, obj);
	free(t->json);
	t->hash = fnv1a(b.ptr, b.len, FNV_INIT);
	t->json = gs_buf_detach(&b, &t->json_len);
}

/* The desired object as a tree: t->obj, or parsed from its JSON.  *tmp
 * gets what the caller must free. */
static const struct mf_node *desired(struct target *t, struct mf_node **tmp)
{
	struct gs_error e = GS_ERROR_INIT;

	*tmp = NULL;
	if (t->obj || !t->json)
		return t->obj;
	if (mf_json_parse(tmp, t->json, t->json_len, "", &e) < 0)
		return NULL; /* we wrote it: cannot happen */
	return *tmp;
}

/* Make t->obj hold the tree (for the requests made one by one). */
static void materialize(struct target *t)
{
	struct mf_node *tmp = NULL;

	if (!t->obj && desired(t, &tmp))
		t->obj = tmp;
}

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
		unsigned char *enc = gs_malloc(4 * (len / 3 + 1) + 1);

		EVP_EncodeBlock(enc, (const unsigned char *)(v ? v : ""), (int)len);
		mf_node_set_str_value(data, mf_node_key(sd, i), (const char *)enc);
		free(enc);
	}
	mf_node_remove(copy, "stringData");
	return copy;
}

/* Fill targets from the input: clone, namespace, tracking, protocols,
 * discovery.  Per-object problems are recorded, not returned. */
static int prepare(struct run *run, struct mf_node *const *objs, size_t n, bool take,
		   struct gs_error *err)
{
	const struct sync_options *o = run->opts;
	size_t i, freed = 0;
	int rc = GS_OK;

	for (i = 0; i < n; i++) {
		/* taken objects already read: what the run needs is in its JSON */
		while (take && freed < i)
			mf_node_free(objs[freed++]);
		struct mf_node *obj;
		struct target *t;
		struct mf_id id = MF_ID_INIT;
		struct gs_error e = GS_ERROR_INIT;
		char *tid;

		/* a List (kubectl get -o yaml) stands for its items */
		if (mf_obj_is_object(objs[i]) && mf_node_type(mf_node_get(objs[i], "items")) == MF_SEQ &&
		    strlen(mf_obj_kind(objs[i])) >= 4 &&
		    !strcmp(mf_obj_kind(objs[i]) + strlen(mf_obj_kind(objs[i])) - 4, "List")) {
			const struct mf_node *items = mf_node_get(objs[i], "items");
			struct mf_node **v = gs_calloc(mf_node_len(items) + 1, sizeof(*v));
			size_t j;

			for (j = 0; j < mf_node_len(items); j++)
				v[j] = mf_node_at(items, j);
			rc = prepare(run, v, mf_node_len(items), false, err);
			free(v);
			if (rc < 0)
				break;
			continue;
		}
		if (!mf_obj_is_object(objs[i]) || !mf_obj_name(objs[i])) {
			const struct mf_pos *pos = mf_node_pos(objs[i]);

			rc = gs_error_at(err, GS_EINVAL, pos,
					 "not a Kubernetes object (apiVersion, kind and "
					 "metadata.name are required)");
			break;
		}
		obj = mf_node_clone(objs[i]);
		GS_ALLOC_GROW(run->t, run->nt + 1, run->at);
		t = &run->t[run->nt++];
		memset(t, 0, sizeof(*t));
		t->obj = obj;
		mf_id_from_object(&id, obj);
		rc = kube_client_resource(run->kc, &t->res, id.group, id.version, id.kind, &e);
		if (rc == GS_ENOTFOUND && !smap_get(&run->rediscovered, id.group)) {
			/* a long-lived client (the agent's) may have cached this
			 * group before its CRD was created: ask again, once a run */
			smap_put(&run->rediscovered, id.group, 0);
			kube_client_invalidate(run->kc, id.group, NULL);
			gs_error_clear(&e);
			rc = kube_client_resource(run->kc, &t->res, id.group, id.version, id.kind, &e);
		}
		if (rc == GS_ENOTFOUND) {
			t->res = NULL;
			/* a CR whose CRD comes in the same sync is resolved later */
			t->deferred = true;
		} else if (rc < 0) {
			mf_id_release(&id);
			*err = e;
			break;
		}
		rc = GS_OK;
		/* namespace: the object's, else the app's destination, for
		 * namespaced kinds only */
		if ((t->res && t->res->namespaced) ||
		    (!t->res && !mf_kind_is_cluster_scoped(id.group, id.kind) &&
		     !mf_obj_namespace(obj))) {
			if (!mf_obj_namespace(obj) || !mf_obj_namespace(obj)[0])
				mf_obj_set_namespace(obj, o->ns && o->ns[0] ? o->ns : "default");
		} else if (t->res && !t->res->namespaced && mf_obj_namespace(obj)) {
			mf_node_remove(mf_node_get(obj, "metadata"), "namespace");
		}
		mf_id_release(&id);
		mf_id_from_object(&id, obj);
		mf_obj_set_label(obj, SYNC_LABEL_APP, o->app);
		tid = tracking_id(o->app, id.group, id.kind, id.ns, id.name);
		mf_obj_set_annotation(obj, SYNC_ANNOTATION_TRACKING, tid);
		free(tid);
		sync_default_protocols(obj);
		t->key = make_key(id.group, id.kind, id.ns, id.name);
		t->ri = add_row(run->rep, obj);
		run->rep->v[t->ri].hook = sync_hook_of(obj, &t->hook_policy);
		run->rep->v[t->ri].wave = t->wave = sync_wave_of(obj);
		t->kind_order = sync_kind_order(id.group, id.kind);
		set_json(t, obj);
		t->replace = sync_option_is(obj, o, "Replace", "true");
		t->apply_always = sync_option_is(obj, o, "ApplyOutOfSyncOnly", "false");
		t->wave_annotated = mf_obj_annotation(obj, "gitsync.io/sync-wave") ||
				    mf_obj_annotation(obj, "argocd.argoproj.io/sync-wave");
		if (!run->rep->v[t->ri].hook && !t->deferred &&
		    strcmp(id.kind, "CustomResourceDefinition")) {
			mf_node_free(t->obj); /* the JSON is enough */
			t->obj = NULL;
		}
		if (t->deferred && !defined_by_crd(run, id.group, id.kind)) {
			/* a CRD later in the input still counts: check again below */
		}
		if (smap_get(&run->idx, t->key) && !run->rep->v[t->ri].hook) {
			e.code = GS_EINVAL;
			snprintf(e.msg, sizeof(e.msg), "object appears twice in the source");
			fail_target(run, t, &e);
		} else {
			smap_put(&run->idx, t->key, run->nt - 1);
		}
		mf_id_release(&id);
	}
	/* taken: free what was read, and the rest after an error */
	while (take && freed < n)
		mf_node_free(objs[freed++]);
	return rc;
}

static int prepare_all(struct run *run, struct mf_node *const *objs, size_t n,
		       struct gs_error *err)
{
	size_t i;
	int rc;

	if ((rc = prepare(run, objs, n, run->opts->flags & SYNC_TAKE_INPUT, err)) < 0)
		return rc;
	/* unknown kinds that no CRD of this sync defines are errors now */
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];
		struct sync_resource *r = &run->rep->v[t->ri];
		struct gs_error e = GS_ERROR_INIT;

		if (!t->deferred || t->failed)
			continue;
		if (!defined_by_crd(run, r->group, r->kind)) {
			t->deferred = false;
			kube_client_resource(run->kc, &t->res, r->group, r->version, r->kind, &e);
			fail_target(run, t, &e);
		} else {
			r->status = SYNC_STATUS_MISSING;
			r->health = SYNC_HEALTH_MISSING;
		}
	}
	return GS_OK;
}

/* The live object of target t is known: decide locally, by memo, or mark
 * for a dry-run. */
static void evaluate(struct run *run, struct target *t, const struct mf_node *live)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	const char *rv = mf_node_dig_str(live, "metadata", "resourceVersion", NULL);
	const char *other = mf_obj_label(live, SYNC_LABEL_APP);
	struct memo *m;
	size_t i;

	t->exists = true;
	free(t->live_rv);
	t->live_rv = rv ? gs_strdup(rv) : NULL;
	set_health(run, t->ri, live);
	if (other && strcmp(other, run->opts->app))
		set_msg(r, "also managed by app '%s'", other);
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
		const struct mf_node *want = desired(t, &tmp);
		bool same;

		cmp = want ? secret_as_stored(want) : NULL;
		same = !t->takeover && want && sync_subset_equal(cmp ? cmp : want, live) &&
		       sync_owned_fields_desired(live, want, MANAGER);
		mf_node_free(cmp);
		mf_node_free(tmp);
		if (same) {
			r->status = SYNC_STATUS_SYNCED;
			memo_store(run->se, t->key, t->hash, rv, true);
			return;
		}
	}
	m = memo_find(run->se, t->key);
	if (m && !t->takeover && m->hash == t->hash && rv && !strcmp(m->rv, rv)) {
		r->status = m->synced ? SYNC_STATUS_SYNCED : SYNC_STATUS_OUT_OF_SYNC;
		if (m->synced || !(run->opts->flags & SYNC_KEEP_DIFF))
			return;
	}
	t->need_dry_run = true;
	mf_node_free(t->live);
	t->live = sync_normalize(live);
	/* managedFields are needed for manager-based ignoreDifferences */
	if (run->opts->n_ignore && mf_node_dig(live, "metadata", "managedFields", NULL))
		mf_node_set(mf_node_get(t->live, "metadata"), "managedFields",
			    mf_node_clone(mf_node_dig(live, "metadata", "managedFields", NULL)));
}

static bool ignore_matches(const struct sync_ignore *ig, const struct sync_resource *r)
{
	return (!ig->group || !strcmp(ig->group, r->group)) &&
	       (!ig->kind || !strcmp(ig->kind, r->kind)) &&
	       (!ig->name || !strcmp(ig->name, r->name)) && (!ig->ns || !strcmp(ig->ns, r->ns));
}

/* Compare predicted (dry-run result) with the live object kept in t. */
static void judge(struct run *run, struct target *t, const struct mf_node *predicted)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	struct mf_node *p = sync_normalize(predicted), *l = t->live;
	size_t i;
	bool same;

	if (l) {
		for (i = 0; i < run->opts->n_ignore; i++)
			if (ignore_matches(&run->opts->ignore[i], r)) {
				sync_apply_ignore(p, &run->opts->ignore[i], l);
				sync_apply_ignore(l, &run->opts->ignore[i], l);
			}
		mf_node_remove(mf_node_get(l, "metadata"), "managedFields");
	}
	same = l && mf_node_equal(p, l);
	if (!l)
		r->status = SYNC_STATUS_MISSING;
	else
		r->status = same && !t->takeover ? SYNC_STATUS_SYNCED : SYNC_STATUS_OUT_OF_SYNC;
	if (l && !t->takeover)
		memo_store(run->se, t->key, t->hash, t->live_rv, same);
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
static int stop_run(struct run *run, int rc, const struct gs_error *e)
{
	if (!run->net_err.code)
		run->net_err = *e;
	return rc;
}

/* Does a write's error stop the whole run?  An unreachable cluster or
 * refused credentials do; but when the writes impersonate an app's service
 * account (Projects), a 403 is that tenant's RBAC refusing this object: it
 * fails the object, with the server's message, like any rejection. */
static bool write_stops_run(struct run *run, int rc)
{
	return rc == GS_ENET || (rc == GS_EAUTH && !kube_client_impersonation(run->kc));
}

static int on_dry_run(int rc, struct mf_node *out, const struct gs_error *e, void *payload)
{
	struct target *t = payload;
	struct run *run = t->run;

	t->need_dry_run = false;
	if (write_stops_run(run, rc))
		return stop_run(run, rc, e);
	if (rc < 0) {
		fail_target(run, t, e);
		mf_node_free(t->live);
		t->live = NULL;
		return 0;
	}
	judge(run, t, out);
	mf_node_free(out);
	return 0;
}

/* Run the batch; a callback's stop is returned as an error in err. */
static int run_batch(struct run *run, struct gs_error *err)
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

static void queue_dry_run(struct run *run, struct target *t)
{
	t->run = run;
	kube_batch_apply_json(run->batch, t->res, run->rep->v[t->ri].ns, run->rep->v[t->ri].name,
			      t->json, t->json_len, MANAGER, KUBE_APPLY_DRY_RUN | KUBE_APPLY_FORCE,
			      on_dry_run, t);
}

struct list_ctx {
	struct run *run;
	const struct kube_resource *res;
};

static void add_prune_row(struct run *run, const struct mf_node *item, const char *key)
{
	size_t ri = add_row(run->rep, item);
	struct sync_resource *r = &run->rep->v[ri];
	char *msg = NULL;

	r->status = SYNC_STATUS_PRUNE;
	r->requires_pruning = true;
	r->health = sync_health_of(item, &msg);
	r->health_msg = msg;
	r->wave = sync_wave_of(item);
	if (sync_option_is(item, run->opts, "Prune", "false"))
		set_msg(r, "ignored (Prune=false)");
	if (run->opts->flags & SYNC_KEEP_DIFF)
		r->live = sync_normalize(item);
	smap_put(&run->pruneidx, key, ri);
}

static int on_item(const struct mf_node *item, void *payload)
{
	struct list_ctx *lc = payload;
	struct run *run = lc->run;
	struct mf_id id = MF_ID_INIT;
	char *key, *tid;
	size_t *ti;

	mf_id_from_object(&id, item);
	key = make_key(id.group, id.kind, id.ns, id.name);
	ti = smap_get(&run->idx, key);
	if (ti && !run->t[*ti].failed && !run->rep->v[run->t[*ti].ri].hook) {
		run->t[*ti].seen = true;
		evaluate(run, &run->t[*ti], item);
	} else if (!ti && !smap_get(&run->pruneidx, key)) {
		const char *have = mf_obj_annotation(item, SYNC_ANNOTATION_TRACKING);

		/* ours only when the tracking id names this very object: a
		 * label copied by a controller onto its children is not
		 * enough, and owned objects are their owner's business */
		tid = tracking_id(run->opts->app, id.group, id.kind, id.ns, id.name);
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
	key = make_key(id.group, id.kind, id.ns, id.name);
	ti = smap_get(&run->idx, key);
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
	(void)payload;
	if (ev == KUBE_EVENT_DELETED || !obj)
		return 0;
	{
		char *msg = NULL;
		enum sync_health h = sync_health_of(obj, &msg);

		free(msg);
		/* health + 1: 0 stays "nothing known" */
		return (uint64_t)h + 1;
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
	char *key = make_key(cc->res->group, cc->res->kind, e->ns, e->name);
	size_t *ti = smap_get(&run->idx, key);

	if (ti && !run->t[*ti].failed && !run->rep->v[run->t[*ti].ri].hook) {
		struct target *t = &run->t[*ti];
		struct sync_resource *r = &run->rep->v[t->ri];
		struct memo *m = memo_find(run->se, t->key);

		t->seen = true;
		if (m && m->hash == t->hash && !strcmp(m->rv, e->rv) && (e->user & 0xff) &&
		    (m->synced || !(run->opts->flags & SYNC_KEEP_DIFF))) {
			/* neither side changed since the last comparison */
			t->exists = true;
			free(t->live_rv);
			t->live_rv = gs_strdup(e->rv);
			r->status = m->synced ? SYNC_STATUS_SYNCED : SYNC_STATUS_OUT_OF_SYNC;
			r->health = (enum sync_health)((e->user & 0xff) - 1);
		} else {
			t->fetch = true;
		}
	} else if (!ti && !smap_get(&run->pruneidx, key)) {
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
		return stop_run(pg->run, rc, e);
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
	rc = run_batch(run, err);
	for (i = 0; i < cc.nothers; i++)
		free(cc.others[i]);
	free(cc.others);
	return rc;
}

static int list_kind(struct run *run, const struct kube_resource *res, struct gs_error *err)
{
	struct list_ctx lc = { run, res };
	struct kube_cache *cache;
	char *sel;
	int rc;

	if (listed_already(run, res) || !(res->verbs & KUBE_VERB_LIST))
		return GS_OK;
	GS_ALLOC_GROW(run->listed, run->nlisted + 1, run->alisted);
	run->listed[run->nlisted++] = res;
	if (run->opts->live_cache &&
	    (cache = run->opts->live_cache(res, run->opts->live_cache_payload)) &&
	    kube_cache_synced(cache))
		return from_cache(run, res, cache, err);
	sel = gs_asprintf("%s=%s", SYNC_LABEL_APP, run->opts->app);
	rc = kube_client_list(run->kc, res, NULL, sel, on_item, &lc, NULL, err);
	free(sel);
	return rc;
}

/* Is ns a namespace that does not exist yet and that this sync creates
 * (a desired Namespace, or the destination with CreateNamespace=true)? */
static bool namespace_pending(struct run *run, const char *ns)
{
	char *key = make_key("", "Namespace", "", ns);
	size_t *ti = smap_get(&run->idx, key);
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
		return stop_run(run, rc, e);
	if (rc < 0) {
		fail_target(run, t, e);
		return 0;
	}
	evaluate(run, t, live);
	mf_node_free(live);
	return 0;
}

static int compare(struct run *run, struct gs_error *err)
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
		if (run->t[i].res && (rc = list_kind(run, run->t[i].res, err)) < 0)
			return rc;
	for (i = 0; i < o->n_managed_kinds; i++) {
		const struct kube_resource *res = NULL;
		struct gs_error e = GS_ERROR_INIT;

		if (kube_client_resource(run->kc, &res, o->managed_kinds[i].group,
					 o->managed_kinds[i].version, o->managed_kinds[i].kind,
					 &e) == GS_OK &&
		    (rc = list_kind(run, res, err)) < 0)
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
			if ((rc = list_kind(run, res, err)) < 0)
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
			kube_batch_get(run->batch, t->res, r->ns, r->name, on_get, t);
		}
		if ((rc = run_batch(run, err)) < 0)
			return rc;
	}
	/* the server decides what could not be decided locally */
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];

		if (t->need_dry_run && !t->failed && !t->deferred && !t->ns_pending &&
		    !run->rep->v[t->ri].hook)
			queue_dry_run(run, t);
	}
	if ((rc = run_batch(run, err)) < 0)
		return rc;
	return GS_OK;
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
	smap_release(&run->idx);
	smap_release(&run->pruneidx);
	smap_release(&run->rediscovered);
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
				fail_target(run, t, &e);
		}
		return;
	}
	if (!(run->opts->flags & SYNC_PRUNE))
		return;
	for (i = 0; i < run->rep->n; i++) {
		struct sync_resource *r = &run->rep->v[i];
		struct gs_error e = GS_ERROR_INIT;

		if (r->status != SYNC_STATUS_PRUNE || r->result != SYNC_RESULT_NONE ||
		    (r->message && strstr(r->message, "Prune=false")))
			continue;
		if (run->opts->policy(r, true, run->opts->policy_payload, &e)) {
			r->result = SYNC_RESULT_FAILED;
			set_msg(r, "%s", e.msg);
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

	run->rep->started = wall_now();
	run->rep->phase = SYNC_PHASE_RUNNING;
	run->requests0 = kube_client_stats(run->kc)->requests;
	if ((rc = prepare_all(run, objs, n, err)) < 0)
		return rc;
	check_policy(run, false);
	if ((rc = compare(run, err)) < 0)
		return rc;
	check_policy(run, true);
	return GS_OK;
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
	rep->finished = wall_now();
	rep->requests = kube_client_stats(se->kc)->requests - run.requests0;
	run_release(&run);
	return rc;
}

/* ---- converging ---- */

/* Merge the fieldsV1 tree src into dst (both maps; dst edited). */
static void fields_union(struct mf_node *dst, const struct mf_node *src)
{
	size_t i;

	for (i = 0; i < mf_node_len(src); i++) {
		const char *k = mf_node_key(src, i);
		struct mf_node *d = mf_node_get(dst, k);

		if (!d)
			mf_node_set(dst, k, mf_node_clone(mf_node_at(src, i)));
		else if (mf_node_type(d) == MF_MAP)
			fields_union(d, mf_node_at(src, i));
	}
}

/* Objects first created by `kubectl apply` (or `kubectl create`) keep those
 * managers as co-owners after our first apply, so a field later removed from
 * Git would stay.  Fold their field sets into ours (what kubectl's csaupgrade
 * does) and apply again so we alone own, and prune, what we manage. */
static int take_over(struct run *run, struct target *t, const struct mf_node *applied,
		     struct gs_error *err)
{
	const struct mf_node *mfs = mf_node_dig(applied, "metadata", "managedFields", NULL);
	const char *rv = mf_node_dig_str(applied, "metadata", "resourceVersion", NULL);
	struct mf_node *list = mf_node_new(MF_SEQ), *ours = NULL;
	struct kube_response resp = KUBE_RESPONSE_INIT;
	struct gs_buf body = GS_BUF_INIT;
	char *path = NULL;
	bool changed = false;
	size_t i;
	int rc = GS_OK;

	for (i = 0; i < mf_node_len(mfs); i++) {
		const struct mf_node *e = mf_node_at(mfs, i);
		const char *mgr = mf_node_dig_str(e, "manager", NULL);
		const char *op = mf_node_dig_str(e, "operation", NULL);

		if (mgr && !strcmp(mgr, MANAGER) && op && !strcmp(op, "Apply") && !ours) {
			ours = mf_node_clone(e);
			mf_node_append(list, ours);
		}
	}
	if (!ours || !rv)
		goto cleanup;
	for (i = 0; i < mf_node_len(mfs); i++) {
		const struct mf_node *e = mf_node_at(mfs, i);
		const char *mgr = mf_node_dig_str(e, "manager", NULL);
		const char *op = mf_node_dig_str(e, "operation", NULL);

		if (mgr && !strcmp(mgr, MANAGER) && op && !strcmp(op, "Apply"))
			continue;
		if (mgr && (!strcmp(mgr, "kubectl-client-side-apply") ||
			    !strcmp(mgr, "kubectl-create")) &&
		    op && !strcmp(op, "Update") && mf_node_get(e, "fieldsV1")) {
			fields_union(mf_node_ensure(ours, "fieldsV1", MF_MAP),
				     mf_node_get(e, "fieldsV1"));
			changed = true;
			continue;
		}
		mf_node_append(list, mf_node_clone(e));
	}
	if (!changed)
		goto cleanup;
	gs_buf_puts(&body, "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":");
	{
		struct mf_node *rvn = mf_node_new_str(rv);

		kube_node_to_json(&body, rvn);
		mf_node_free(rvn);
	}
	gs_buf_puts(&body, "},{\"op\":\"replace\",\"path\":\"/metadata/managedFields\",\"value\":");
	kube_node_to_json(&body, list);
	gs_buf_puts(&body, "}]");
	path = kube_resource_path(t->res, mf_obj_namespace(t->obj), mf_obj_name(t->obj));
	rc = kube_client_request(run->kc, "PATCH", path, "application/json-patch+json", body.ptr,
				 body.len, &resp, err);
	if (rc == GS_OK && resp.status != 200)
		rc = kube_status_error(&resp, err);
	if (rc == GS_OK)
		rc = kube_client_apply(run->kc, NULL, t->res, t->obj, MANAGER, KUBE_APPLY_FORCE,
				       err);
cleanup:
	kube_response_release(&resp);
	gs_buf_release(&body);
	free(path);
	mf_node_free(list);
	return rc;
}

/* t was applied; out is what the server stored. */
static void applied(struct run *run, struct target *t, const struct mf_node *out)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	const char *new_rv = mf_node_dig_str(out, "metadata", "resourceVersion", NULL);

	r->result = SYNC_RESULT_SYNCED;
	if (!t->exists)
		set_msg(r, "%s created", r->kind);
	else if (new_rv && t->live_rv && !strcmp(new_rv, t->live_rv) && !t->takeover)
		set_msg(r, "%s unchanged", r->kind);
	else
		set_msg(r, "%s configured", r->kind);
	r->status = SYNC_STATUS_SYNCED;
	t->applied = true;
	t->exists = true;
	set_health(run, t->ri, out);
	/* the server stored exactly what we applied: in sync at its version */
	if (!r->hook)
		memo_store(run->se, t->key, t->hash, new_rv, true);
	/* from now on the cluster has the object: keep only the row (a CRD's
	 * group and kind are still needed to wait for it) */
	if (strcmp(r->kind, "CustomResourceDefinition")) {
		mf_node_free(t->obj);
		t->obj = NULL;
		free(t->json);
		t->json = NULL;
	}
	free(t->live_rv);
	t->live_rv = NULL;
	progress(run, t->ri);
}

/* The object may change between our apply and the managedFields patch (a
 * controller writing its status): the patch's resourceVersion test then
 * fails.  Start again from the object as it is now. */
static int take_over_retry(struct run *run, struct target *t, const struct mf_node *applied,
			   struct gs_error *err)
{
	const struct sync_resource *r = &run->rep->v[t->ri];
	struct mf_node *cur = NULL;
	int rc, attempt;

	rc = take_over(run, t, applied, err);
	for (attempt = 0; attempt < 5 && (rc == GS_EINVAL || rc == GS_ECONFLICT); attempt++) {
		gs_error_clear(err);
		mf_node_free(cur);
		cur = NULL;
		if ((rc = kube_client_get(run->kc, &cur, t->res, r->ns, r->name, err)) < 0)
			break;
		rc = take_over(run, t, cur, err);
	}
	mf_node_free(cur);
	return rc;
}

static int apply_one(struct run *run, struct target *t, struct gs_error *err)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	struct mf_node *out = NULL;
	struct gs_error e = GS_ERROR_INIT;
	int rc;

	materialize(t);
	if (t->exists && t->replace) {
		rc = kube_client_delete(run->kc, t->res, r->ns, r->name, "Foreground", &e);
		if (rc < 0 && rc != GS_ENOTFOUND)
			goto fail;
		/* wait until it is gone before creating it again */
		for (;;) {
			struct mf_node *tmp = NULL;

			rc = kube_client_get(run->kc, &tmp, t->res, r->ns, r->name, &e);
			mf_node_free(tmp);
			if (rc == GS_ENOTFOUND)
				break;
			if (rc < 0)
				goto fail;
			sleep_ms(POLL_MS);
		}
		t->exists = false;
	}
	rc = kube_client_apply(run->kc, &out, t->res, t->obj, MANAGER, KUBE_APPLY_FORCE, &e);
	if (rc < 0)
		goto fail;
	if (t->takeover && (rc = take_over_retry(run, t, out, &e)) < 0)
		goto fail;
	applied(run, t, out);
	mf_node_free(out);
	return GS_OK;
fail:
	mf_node_free(out);
	if (write_stops_run(run, rc)) {
		*err = e;
		return rc;
	}
	fail_target(run, t, &e);
	progress(run, t->ri);
	return GS_OK;
}

static int on_applied(int rc, struct mf_node *out, const struct gs_error *e, void *payload)
{
	struct target *t = payload;
	struct run *run = t->run;

	if (write_stops_run(run, rc))
		return stop_run(run, rc, e);
	if (rc < 0) {
		fail_target(run, t, e);
		progress(run, t->ri);
		return 1; /* start nothing more: the sync has failed */
	}
	applied(run, t, out);
	mf_node_free(out);
	return 0;
}

/* Objects of one wave and kind group are independent of each other: apply
 * them all at once.  Objects needing more than one request in order
 * (Replace=true, a takeover from kubectl) and CRDs (waited for after)
 * go one by one. */
static bool batchable(struct run *run, const struct target *t)
{
	const struct sync_resource *r = &run->rep->v[t->ri];

	return !r->hook && !t->deferred && !t->failed && !t->takeover &&
	       strcmp(r->kind, "CustomResourceDefinition") &&
	       !(t->exists && t->replace);
}

static int apply_group(struct run *run, const size_t *which, size_t n, struct gs_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct target *t = &run->t[which[i]];

		t->run = run;
		kube_batch_apply_json(run->batch, t->res, run->rep->v[t->ri].ns,
				      run->rep->v[t->ri].name, t->json, t->json_len, MANAGER,
				      KUBE_APPLY_FORCE, on_applied, t);
	}
	return run_batch(run, err);
}

/* Refresh health of the given targets: one LIST per kind by our label. */
struct health_ctx {
	struct run *run;
	bool changed;
};

static int on_health_item(const struct mf_node *item, void *payload)
{
	struct health_ctx *hc = payload;
	struct run *run = hc->run;
	struct mf_id id = MF_ID_INIT;
	char *key;
	size_t *ti;

	mf_id_from_object(&id, item);
	key = make_key(id.group, id.kind, id.ns, id.name);
	ti = smap_get(&run->idx, key);
	if (ti) {
		struct sync_resource *r = &run->rep->v[run->t[*ti].ri];
		enum sync_health before = r->health;

		set_health(run, run->t[*ti].ri, item);
		if (r->health != before) {
			hc->changed = true;
			progress(run, run->t[*ti].ri);
		}
	}
	free(key);
	mf_id_release(&id);
	return 0;
}

static int refresh_health(struct run *run, const bool *which, struct gs_error *err)
{
	struct health_ctx hc = { run, false };
	const struct kube_resource **done = NULL;
	size_t ndone = 0, adone = 0, i, j;
	char *sel = gs_asprintf("%s=%s", SYNC_LABEL_APP, run->opts->app);
	int rc = GS_OK;

	for (i = 0; i < run->nt && rc == GS_OK; i++) {
		const struct kube_resource *res = run->t[i].res;
		bool seen = false;

		if (!which[i] || !res)
			continue;
		for (j = 0; j < ndone; j++)
			seen |= done[j] == res;
		if (seen)
			continue;
		GS_ALLOC_GROW(done, ndone + 1, adone);
		done[ndone++] = res;
		rc = kube_client_list(run->kc, res, NULL, sel, on_health_item, &hc, NULL, err);
	}
	free(done);
	free(sel);
	return rc;
}

static bool settled(enum sync_health h)
{
	return h == SYNC_HEALTH_NONE || h == SYNC_HEALTH_HEALTHY || h == SYNC_HEALTH_SUSPENDED;
}

/* Wait until every target in `which` is healthy; GS_OK with *ok false on
 * timeout or when a hook/object turns Degraded and fail_degraded. */
static int wait_healthy(struct run *run, const bool *which, double timeout_s, bool fail_degraded,
			bool *ok, struct gs_error *err)
{
	double deadline = mono_now() + timeout_s;
	size_t i;
	int rc;

	*ok = false;
	for (;;) {
		bool all = true, degraded = false;

		for (i = 0; i < run->nt; i++) {
			enum sync_health h = run->rep->v[run->t[i].ri].health;

			if (!which[i])
				continue;
			if (!settled(h))
				all = false;
			if (h == SYNC_HEALTH_DEGRADED)
				degraded = true;
		}
		if (all) {
			*ok = true;
			return GS_OK;
		}
		if ((degraded && fail_degraded) || mono_now() >= deadline)
			return GS_OK;
		sleep_ms(POLL_MS);
		if ((rc = refresh_health(run, which, err)) < 0)
			return rc;
	}
}

static void unhealthy_message(struct run *run, const bool *which, const char *what)
{
	struct gs_buf b = GS_BUF_INIT;
	size_t i, shown = 0;

	gs_buf_printf(&b, "%s", what);
	for (i = 0; i < run->nt; i++) {
		const struct sync_resource *r = &run->rep->v[run->t[i].ri];

		if (!which[i] || settled(r->health))
			continue;
		if (shown++ < 5)
			gs_buf_printf(&b, "%s %s %s%s%s is %s%s%s", shown > 1 ? ";" : ":", r->kind,
				      r->ns, r->ns[0] ? "/" : "", r->name,
				      sync_health_str(r->health), r->health_msg ? ": " : "",
				      r->health_msg ? r->health_msg : "");
	}
	if (shown > 5)
		gs_buf_printf(&b, "; and %zu more", shown - 5);
	free(run->rep->message);
	run->rep->message = gs_buf_detach(&b, NULL);
}

/* After a CRD is applied: wait Established, then resolve and dry-run the
 * custom resources of its kind. */
static int crd_established(struct run *run, struct target *crd, struct gs_error *err)
{
	const char *group = mf_node_dig_str(crd->obj, "spec", "group", NULL);
	const char *kind = mf_node_dig_str(crd->obj, "spec", "names", "kind", NULL);
	double deadline = mono_now() + CRD_WAIT_S;
	struct sync_resource *cr = &run->rep->v[crd->ri];
	size_t i;
	int rc;

	while (cr->health != SYNC_HEALTH_HEALTHY) {
		struct mf_node *live = NULL;
		struct gs_error e = GS_ERROR_INIT;

		if (mono_now() >= deadline) {
			e.code = GS_ERR;
			snprintf(e.msg, sizeof(e.msg), "CRD not Established after %.0f s",
				 CRD_WAIT_S);
			fail_target(run, crd, &e);
			return GS_OK;
		}
		sleep_ms(200);
		rc = kube_client_get(run->kc, &live, crd->res, "", cr->name, &e);
		if (rc < 0 && rc != GS_ENOTFOUND) {
			*err = e;
			return rc;
		}
		set_health(run, crd->ri, live);
		mf_node_free(live);
	}
	progress(run, crd->ri);
	if (!group || !kind)
		return GS_OK;
	kube_client_invalidate(run->kc, group, NULL);
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];
		struct sync_resource *r = &run->rep->v[t->ri];
		struct gs_error e = GS_ERROR_INIT;

		if (!t->deferred || strcmp(r->group, group) || strcmp(r->kind, kind))
			continue;
		t->deferred = false;
		rc = kube_client_resource(run->kc, &t->res, r->group, r->version, r->kind, &e);
		/* the server's discovery can lag a moment behind Established */
		while (rc == GS_ENOTFOUND && mono_now() < deadline) {
			sleep_ms(200);
			kube_client_invalidate(run->kc, group, NULL);
			gs_error_clear(&e);
			rc = kube_client_resource(run->kc, &t->res, r->group, r->version, r->kind,
						  &e);
		}
		if (rc == GS_ENET || rc == GS_EAUTH) {
			*err = e;
			return rc;
		}
		if (rc < 0) {
			fail_target(run, t, &e);
			continue;
		}
		/* namespaced CRs without a namespace get the destination */
		if (t->res->namespaced && !mf_obj_namespace(t->obj)) {
			mf_obj_set_namespace(t->obj, run->opts->ns && run->opts->ns[0]
							     ? run->opts->ns
							     : "default");
			set_json(t, t->obj);
			free(r->ns);
			r->ns = gs_strdup(mf_obj_namespace(t->obj));
		}
		queue_dry_run(run, t);
	}
	return run_batch(run, err);
}

static int run_hook(struct run *run, struct target *t, bool *ok, struct gs_error *err)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	struct gs_error e = GS_ERROR_INIT;
	bool *which = gs_calloc(run->nt, sizeof(bool));
	struct mf_node *out = NULL;
	bool done = false;
	int rc = GS_OK;

	*ok = false;
	if (!t->res) {
		rc = kube_client_resource(run->kc, &t->res, r->group, r->version, r->kind, &e);
		if (rc < 0) {
			fail_target(run, t, &e);
			rc = GS_OK;
			goto cleanup;
		}
	}
	if (t->hook_policy & SYNC_HOOK_DELETE_BEFORE_CREATION && r->name[0]) {
		rc = kube_client_delete(run->kc, t->res, r->ns, r->name, "Foreground", &e);
		while (rc == GS_OK) {
			struct mf_node *tmp = NULL;

			sleep_ms(POLL_MS);
			rc = kube_client_get(run->kc, &tmp, t->res, r->ns, r->name, &e);
			mf_node_free(tmp);
		}
		if (rc != GS_ENOTFOUND) {
			fail_target(run, t, &e);
			rc = GS_OK;
			goto cleanup;
		}
	}
	rc = kube_client_apply(run->kc, &out, t->res, t->obj, MANAGER, KUBE_APPLY_FORCE, &e);
	if (rc < 0) {
		fail_target(run, t, &e);
		rc = GS_OK;
		goto cleanup;
	}
	r->result = SYNC_RESULT_SYNCED;
	r->status = SYNC_STATUS_SYNCED;
	set_msg(r, "%s created", r->kind);
	set_health(run, t->ri, out);
	progress(run, t->ri);
	which[t - run->t] = true;
	rc = wait_healthy(run, which, run->opts->timeout_s > 0 ? run->opts->timeout_s : 300, true,
			  &done, err);
	if (rc < 0)
		goto cleanup;
	*ok = done;
	if (!done) {
		e.code = GS_ERR;
		snprintf(e.msg, sizeof(e.msg), "hook %s: %s", sync_health_str(r->health),
			 r->health_msg ? r->health_msg : "did not complete");
		fail_target(run, t, &e);
	} else {
		set_msg(r, "%s completed", r->kind);
	}
	progress(run, t->ri);
	if ((done && (t->hook_policy & SYNC_HOOK_DELETE_SUCCEEDED)) ||
	    (!done && (t->hook_policy & SYNC_HOOK_DELETE_FAILED))) {
		rc = kube_client_delete(run->kc, t->res, r->ns, r->name, "Background", &e);
		if (rc == GS_ENOTFOUND)
			rc = GS_OK;
		if (rc < 0)
			*err = e;
	}
cleanup:
	mf_node_free(out);
	free(which);
	return rc;
}

static int hook_phase(enum sync_hook h)
{
	switch (h) {
	case SYNC_HOOK_PRESYNC: return 0;
	case SYNC_HOOK_POSTSYNC: return 2;
	case SYNC_HOOK_SYNCFAIL: return 3;
	default: return 1;
	}
}

static struct run *sort_run;

static int task_cmp(const void *a, const void *b)
{
	const struct target *x = &sort_run->t[*(const size_t *)a];
	const struct target *y = &sort_run->t[*(const size_t *)b];
	const struct sync_resource *rx = &sort_run->rep->v[x->ri];
	const struct sync_resource *ry = &sort_run->rep->v[y->ri];
	int c;

	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	if (x->wave != y->wave)
		return x->wave < y->wave ? -1 : 1;
	if (x->kind_order != y->kind_order)
		return x->kind_order < y->kind_order ? -1 : 1;
	if ((c = strcmp(rx->kind, ry->kind)) != 0)
		return c;
	if ((c = strcmp(rx->ns, ry->ns)) != 0)
		return c;
	return strcmp(rx->name, ry->name);
}

static int prune(struct run *run, bool last, struct gs_error *err)
{
	struct sync_report *rep = run->rep;
	size_t i;
	int rc;

	for (i = 0; i < rep->n; i++) {
		struct sync_resource *r = &rep->v[i];
		const struct kube_resource *res = NULL;
		struct gs_error e = GS_ERROR_INIT;
		bool is_last;

		if (r->status != SYNC_STATUS_PRUNE || r->result != SYNC_RESULT_NONE)
			continue;
		if (r->message && strstr(r->message, "Prune=false")) {
			r->result = SYNC_RESULT_PRUNE_SKIPPED;
			progress(run, i);
			continue;
		}
		if (!(run->opts->flags & SYNC_PRUNE)) {
			r->result = SYNC_RESULT_PRUNE_SKIPPED;
			set_msg(r, "ignored (requires pruning)");
			progress(run, i);
			continue;
		}
		is_last = r->live ? sync_option_is(r->live, run->opts, "PruneLast", "true")
				  : sync_option_is(NULL, run->opts, "PruneLast", "true");
		if (is_last != last)
			continue;
		if (run->opts->flags & SYNC_DRY_RUN) {
			r->result = SYNC_RESULT_PRUNED;
			set_msg(r, "pruned (dry run)");
			progress(run, i);
			continue;
		}
		rc = kube_client_resource(run->kc, &res, r->group, r->version, r->kind, &e);
		if (rc == GS_OK)
			rc = kube_client_delete(run->kc, res, r->ns, r->name, "Background", &e);
		if (write_stops_run(run, rc)) {
			*err = e;
			return rc;
		}
		if (rc < 0 && rc != GS_ENOTFOUND) {
			r->result = SYNC_RESULT_FAILED;
			set_msg(r, "%s", e.msg);
			run->any_failed = true;
			gs_buf_printf(&run->failures, "%s%s %s: %s", run->failures.len ? "; " : "",
				      r->kind, r->name, e.msg);
		} else {
			r->result = SYNC_RESULT_PRUNED;
			set_msg(r, "pruned");
		}
		progress(run, i);
	}
	return GS_OK;
}

static void finish_failed(struct run *run, const char *what)
{
	free(run->rep->message);
	run->rep->message = gs_asprintf("%s: %s", what, run->failures.ptr);
	run->rep->phase = SYNC_PHASE_FAILED;
}

static int run_syncfail_hooks(struct run *run, const size_t *order, size_t ntasks,
			      struct gs_error *err)
{
	size_t k;
	bool ok;
	int rc;

	for (k = 0; k < ntasks; k++) {
		struct target *t = &run->t[order[k]];

		if (run->rep->v[t->ri].hook == SYNC_HOOK_SYNCFAIL &&
		    (rc = run_hook(run, t, &ok, err)) < 0)
			return rc;
	}
	return GS_OK;
}

static int create_namespace(struct run *run, struct gs_error *err)
{
	const struct kube_resource *res = NULL;
	struct mf_node *ns = mf_node_new(MF_MAP);
	int rc;

	mf_node_set_str_value(ns, "apiVersion", "v1");
	mf_node_set_str_value(ns, "kind", "Namespace");
	mf_obj_set_name(ns, run->opts->ns);
	rc = kube_client_resource(run->kc, &res, "", "v1", "Namespace", err);
	if (rc == GS_OK)
		rc = kube_client_create(run->kc, NULL, res, ns, err);
	if (rc == GS_ECONFLICT)
		rc = GS_OK; /* created meanwhile */
	mf_node_free(ns);
	if (rc < 0)
		gs_error_wrap(err, "CreateNamespace");
	return rc;
}

static int converge(struct run *run, struct gs_error *err)
{
	const struct sync_options *o = run->opts;
	size_t *order = gs_calloc(run->nt + 1, sizeof(*order));
	bool *wave_set = gs_calloc(run->nt + 1, sizeof(bool));
	size_t ntasks = 0, k, i;
	int rc = GS_OK;
	bool ok, pending_done = false;

	/* tasks: everything out of sync (or all with ApplyOutOfSyncOnly=false)
	 * and every hook except Skip */
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];
		struct sync_resource *r = &run->rep->v[t->ri];
		const char *k2 = r->kind;

		if (r->hook == SYNC_HOOK_SKIP)
			continue;
		if (!r->hook && r->status == SYNC_STATUS_SYNCED &&
		    !(o->flags & SYNC_APPLY_ALL) &&
		    !t->apply_always)
			continue;
		t->phase = hook_phase(r->hook);
		/* Namespaces and CRDs before everything, hooks included: the
		 * rest cannot even be validated before they exist */
		if (!r->hook && (!strcmp(k2, "Namespace") || !strcmp(k2, "CustomResourceDefinition")) &&
		    !t->wave_annotated)
			t->phase = -1;
		order[ntasks++] = i;
	}
	sort_run = run;
	qsort(order, ntasks, sizeof(*order), task_cmp);
	sort_run = NULL;

	if (run->create_ns && (rc = create_namespace(run, err)) < 0)
		goto cleanup;
	for (k = 0; k < ntasks; k++) {
		struct target *t = &run->t[order[k]];
		struct sync_resource *r = &run->rep->v[t->ri];
		bool last_of_wave;

		if (t->phase == 3)
			break; /* SyncFail hooks run only on failure */
		if (t->phase >= 0 && !pending_done) {
			/* the namespaces exist now: validate what lives in them
			 * before writing any of it */
			pending_done = true;
			for (i = 0; i < run->nt; i++)
				if (run->t[i].ns_pending && !run->t[i].failed && !run->t[i].deferred)
					queue_dry_run(run, &run->t[i]);
			if ((rc = run_batch(run, err)) < 0)
				goto cleanup;
			if (run->any_failed) {
				for (i = 0; i < run->nt; i++)
					if (run->t[i].failed)
						progress(run, run->t[i].ri);
				finish_failed(run, "nothing applied but namespaces and CRDs: one or "
						   "more objects failed validation");
				goto cleanup;
			}
		}
		if (r->hook) {
			if ((rc = run_hook(run, t, &ok, err)) < 0)
				goto cleanup;
			if (!ok) {
				finish_failed(run, "one or more synchronization tasks completed "
						   "unsuccessfully");
				rc = run_syncfail_hooks(run, order, ntasks, err);
				goto cleanup;
			}
			continue;
		}
		if (batchable(run, t)) {
			/* the rest of this group, applied together */
			size_t e = k + 1;

			while (e < ntasks && batchable(run, &run->t[order[e]]) &&
			       run->t[order[e]].phase == t->phase &&
			       run->t[order[e]].wave == t->wave &&
			       run->t[order[e]].kind_order == t->kind_order)
				e++;
			if ((rc = apply_group(run, order + k, e - k, err)) < 0)
				goto cleanup;
			for (; k + 1 < e; k++)
				wave_set[order[k]] = true;
			t = &run->t[order[k]];
			r = &run->rep->v[t->ri];
		} else if (t->deferred) {
			struct gs_error e = GS_ERROR_INIT;

			e.code = GS_ENOTFOUND;
			snprintf(e.msg, sizeof(e.msg),
				 "its CRD was not established before this object's turn "
				 "(put the CRD in an earlier wave)");
			fail_target(run, t, &e);
		} else if (!t->failed && (rc = apply_one(run, t, err)) < 0) {
			goto cleanup;
		}
		if (t->failed) {
			finish_failed(run, "one or more objects failed to apply");
			rc = run_syncfail_hooks(run, order, ntasks, err);
			goto cleanup;
		}
		/* CRDs of a run are applied back to back, then waited for
		 * together: establishing is the server's slow part */
		if (!strcmp(r->kind, "CustomResourceDefinition") &&
		    (k + 1 == ntasks ||
		     strcmp(run->rep->v[run->t[order[k + 1]].ri].kind, "CustomResourceDefinition"))) {
			size_t b;

			for (b = k + 1; b-- > 0;) {
				struct target *c = &run->t[order[b]];

				if (strcmp(run->rep->v[c->ri].kind, "CustomResourceDefinition"))
					break;
				if (!c->failed && (rc = crd_established(run, c, err)) < 0)
					goto cleanup;
			}
		}
		if (run->any_failed) {
			finish_failed(run, "one or more objects failed to apply");
			rc = run_syncfail_hooks(run, order, ntasks, err);
			goto cleanup;
		}
		wave_set[order[k]] = true;
		/* end of a wave with more to come: wait for its health */
		last_of_wave = k + 1 == ntasks || run->t[order[k + 1]].wave != t->wave ||
			       run->t[order[k + 1]].phase != t->phase;
		if (last_of_wave && k + 1 < ntasks && run->t[order[k + 1]].phase != 3 &&
		    t->phase != -1) {
			rc = wait_healthy(run, wave_set, o->timeout_s > 0 ? o->timeout_s : 300,
					  false, &ok, err);
			if (rc < 0)
				goto cleanup;
			if (!ok) {
				unhealthy_message(run, wave_set, "wave did not become healthy");
				run->rep->phase = SYNC_PHASE_FAILED;
				rc = run_syncfail_hooks(run, order, ntasks, err);
				goto cleanup;
			}
			memset(wave_set, 0, (run->nt + 1) * sizeof(bool));
		}
	}
	/* prune after a successful apply only; PruneLast ones at the very end */
	if ((rc = prune(run, false, err)) < 0 || (rc = prune(run, true, err)) < 0)
		goto cleanup;
	if (run->any_failed) {
		finish_failed(run, "one or more objects failed to prune");
		goto cleanup;
	}
	if (o->flags & SYNC_WAIT_HEALTHY) {
		for (i = 0; i < run->nt; i++)
			wave_set[i] = !run->rep->v[run->t[i].ri].hook;
		rc = wait_healthy(run, wave_set, o->timeout_s > 0 ? o->timeout_s : 300, false, &ok,
				  err);
		if (rc < 0)
			goto cleanup;
		if (!ok) {
			char what[128];

			snprintf(what, sizeof(what), "timed out after %.0fs waiting for health",
				 o->timeout_s > 0 ? o->timeout_s : 300);
			unhealthy_message(run, wave_set, what);
			run->rep->phase = SYNC_PHASE_FAILED;
			goto cleanup;
		}
	}
	run->rep->phase = SYNC_PHASE_SUCCEEDED;
	free(run->rep->message);
	run->rep->message = gs_strdup("successfully synced (all tasks run)");
cleanup:
	free(order);
	free(wave_set);
	return rc;
}

int sync_run(struct sync_engine *se, struct sync_report *rep, struct mf_node *const *objs,
	     size_t n, const struct sync_options *opts, struct gs_error *err)
{
	struct run run;
	size_t i;
	int rc;

	run_init(&run, se, rep, opts);
	rc = run_compare(&run, objs, n, err);
	if (rc < 0) {
		rep->phase = SYNC_PHASE_ERROR;
		goto done;
	}
	/* all-or-nothing: any object that failed its dry-run (or is of an
	 * unknown kind) stops the sync before the first write */
	if (run.any_failed) {
		for (i = 0; i < rep->n; i++)
			if (rep->v[i].result == SYNC_RESULT_FAILED)
				progress(&run, i);
		finish_failed(&run, "nothing applied: one or more objects failed validation");
		goto done;
	}
	if (opts->flags & SYNC_DRY_RUN) {
		for (i = 0; i < run.nt; i++) {
			struct sync_resource *r = &rep->v[run.t[i].ri];

			if (r->hook == SYNC_HOOK_SKIP)
				continue;
			if (r->hook || r->status != SYNC_STATUS_SYNCED) {
				r->result = SYNC_RESULT_SYNCED;
				set_msg(r, "%s %s (dry run)", r->kind,
					r->status == SYNC_STATUS_MISSING ? "created" : "configured");
				progress(&run, run.t[i].ri);
			}
		}
		if ((rc = prune(&run, false, err)) < 0 || (rc = prune(&run, true, err)) < 0) {
			rep->phase = SYNC_PHASE_ERROR;
			goto done;
		}
		rep->phase = SYNC_PHASE_SUCCEEDED;
		rep->message = gs_strdup("successfully synced (dry run, nothing written)");
		goto done;
	}
	rc = converge(&run, err);
	if (rc < 0)
		rep->phase = SYNC_PHASE_ERROR;
done:
	if (rc < 0 && !rep->message) {
		char buf[1100];

		rep->message = gs_strdup(gs_error_str(err, buf, sizeof(buf)));
	}
	aggregate(rep);
	rep->finished = wall_now();
	rep->requests = kube_client_stats(se->kc)->requests - run.requests0;
	run_release(&run);
	return rc;
}
