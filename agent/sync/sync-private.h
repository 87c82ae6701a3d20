/* sync-private.h - what the files of the sync engine share (not for other
 * modules).  One run of the pipeline is a struct run: every file works on
 * it and on its targets, and nothing else is shared.  The pipeline and the
 * file of each box are described in docs/internals/sync-engine.md. */
#ifndef SYNC_PRIVATE_H
#define SYNC_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gs-hash.h"
#include "gs-buf.h"
#include "gs-error.h"
#include "kube/kube-client.h"
#include "mf-node.h"
#include "sync/sync.h"

#define MANAGER SYNC_FIELD_MANAGER
#define POLL_MS 500
#define CRD_WAIT_S 120.0

/* ---- the engine: what outlives a run ---- */

/* A verdict of the comparison of a desired object (by hash) with a live
 * one (by resourceVersion): while neither changes, it still holds. */
struct memo {
	uint64_t hash;
	char rv[32];    /* "" (MEMO_ABSENT): no live object, the dry-run create passed */
	bool synced;
	double at;      /* monotonic time of the verdict; 0: taken (sync_memo_take) */
};

/* An absent object's accepted dry-run stands this long: nothing versions
 * "absent", so the verdict is held to time instead (the compare's dry-run
 * spares the sync that follows it, issue 20; later ones ask again). */
#define MEMO_ABSENT ""
#define MEMO_ABSENT_S 30.0
/* ... and no GET is sent for it within this (the sync after its compare) */
#define MEMO_ABSENT_GET_S 10.0

struct sync_engine {
	struct kube_client *kc;
	const struct hl_set *checks; /* users' health checks, borrowed, may be NULL */
	struct sync_memo *memo;      /* own, or shared (sync_engine_share_memo) */
	struct sync_memo *own_memo;
};

/* A copy of key's verdict into *out; false when there is none. */
bool sync_memo_get(struct sync_engine *se, const char *key, struct memo *out);
/* Record a verdict (nothing when rv is NULL: no version to hold it to). */
void sync_memo_store(struct sync_engine *se, const char *key, uint64_t hash, const char *rv,
		     bool synced);
/* Whether key's verdict is at most max_age seconds old and was stored with
 * hash; it is taken either way (a later take says false until it is stored
 * again). */
bool sync_memo_take(struct sync_engine *se, const char *key, uint64_t hash, double max_age);
/* The write generation of app: bumped (sync_memo_wrote) at the end of every
 * sync_run that may have written, by any engine sharing the memo.  A LIST
 * remembered at one generation is stale at the next. */
uint64_t sync_memo_gen(struct sync_engine *se, const char *app);
void sync_memo_wrote(struct sync_engine *se, const char *app);

/* ---- one run ---- */

/* The phases of a sync, in the order they run.  Within a phase, tasks go
 * by wave, then kind order, then kind/namespace/name. */
enum sync_task_phase {
	SYNC_TASK_PREREQ = 0, /* Namespaces and CRDs without a wave annotation */
	SYNC_TASK_PRESYNC,
	SYNC_TASK_SYNC,       /* the app's objects and Sync hooks */
	SYNC_TASK_POSTSYNC,
	SYNC_TASK_SYNCFAIL,   /* run only after a failure */
};

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
	bool recreate;                    /* Force=true and the server refused the
					   * change in place (immutable field) */
	bool force;                       /* Force=true (with Replace: recreate) */
	bool apply_always;                /* ApplyOutOfSyncOnly=false */
	bool respect_ignore;              /* RespectIgnoreDifferences=true */
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
	bool probe_get;                   /* its probe dry-run found it, or failed: GET */
	struct mf_node *live;             /* normalized live, while needed */
	char *live_rv;
	long long order;                  /* sort key parts */
	int wave, kind_order;
	enum sync_task_phase phase;
};

struct run {
	struct sync_engine *se;
	struct kube_client *kc;
	const struct sync_options *opts;
	struct sync_report *rep;
	struct target *t;
	size_t nt, at;
	struct gs_strmap idx;                  /* key -> target index */
	struct gs_strmap pruneidx;             /* key -> report index of prune rows */
	struct gs_strmap rediscovered;         /* groups whose discovery this run refreshed */
	const struct kube_resource **listed;
	size_t nlisted, alisted;
	unsigned long requests0;
	bool any_failed;
	bool terminated;                  /* opts->cancelled said so while waiting */
	bool create_ns;                   /* CreateNamespace=true and it is missing */
	bool writes;                      /* sync_run: may create objects (not a compare) */
	struct kube_batch *batch;         /* requests in flight */
	struct gs_error net_err;          /* the first network error of a batch */
	struct gs_buf failures;           /* "id: message" lines */
};

/* sync.c: rows of the report and helpers of every file */
void sync_sleep_ms(long ms);
/* "group/kind/ns/name" (owned): the key of targets, memo and prune rows. */
char *sync_key(const char *group, const char *kind, const char *ns, const char *name);
/* The value of SYNC_ANNOTATION_TRACKING for an object (owned). */
char *sync_tracking_id(const char *app, const char *group, const char *kind, const char *ns,
		       const char *name);
/* A new row of rep for obj's identity; returns its index. */
size_t sync_add_row(struct sync_report *rep, const struct mf_node *obj);
void sync_set_msg(struct sync_resource *r, const char *fmt, ...) GS_PRINTF(2, 3);
/* Tell the caller's progress callback about row ri. */
void sync_progress(struct run *run, size_t ri);
/* t failed with e: row FAILED with e's message, added to run->failures. */
void sync_fail_target(struct run *run, struct target *t, const struct gs_error *e);
/* Health of row ri from a live object (NULL: Missing). */
void sync_set_health(struct run *run, size_t ri, const struct mf_node *live);

/* sync-prepare.c: input -> targets */
int sync_prepare(struct run *run, struct mf_node *const *objs, size_t n, struct gs_error *err);
/* (Re)serialize t's desired object into t->json; its hash is the memo's key. */
void sync_target_set_json(struct target *t, const struct mf_node *obj);
/* The desired object as a tree: t->obj, or parsed from t->json into *tmp
 * (owned by the caller, NULL when t->obj was returned). */
const struct mf_node *sync_target_desired(struct target *t, struct mf_node **tmp);
/* Make t->obj hold the tree (for requests made one by one). */
void sync_target_materialize(struct target *t);

/* sync-compare.c: live state, local verdict, memo, dry-run */
int sync_compare_live(struct run *run, struct gs_error *err);
/* Run the batch of requests in flight; a callback's stop is returned as
 * an error in err. */
int sync_run_batch(struct run *run, struct gs_error *err);
void sync_queue_dry_run(struct run *run, struct target *t);
/* A batch callback hit an error that stops the whole run (cluster
 * unreachable, credentials refused): keep the first one; returns rc. */
int sync_stop_run(struct run *run, int rc, const struct gs_error *e);
/* Does a write's error stop the whole run?  An unreachable cluster or
 * refused credentials do; but when the writes impersonate an app's service
 * account (Projects), a 403 is that tenant's RBAC refusing this object: it
 * fails the object, with the server's message, like any rejection. */
bool sync_write_stops_run(const struct run *run, int rc);

/* sync-plan.c: the tasks of a sync in order (order: room for run->nt
 * indexes into run->t); returns their number. */
size_t sync_plan(struct run *run, size_t *order);

/* sync-apply.c: writes */
/* Can t be applied in a batch with others of its group? */
bool sync_batchable(struct run *run, const struct target *t);
int sync_apply_group(struct run *run, const size_t *which, size_t n, struct gs_error *err);
int sync_apply_one(struct run *run, struct target *t, struct gs_error *err);
/* May a sync option delete objects of this kind?  Never Namespaces and
 * CRDs (with them would go everything inside, every custom resource). */
bool sync_deletable_by_option(const char *group, const char *kind);
int sync_create_namespace(struct run *run, struct gs_error *err);

/* sync-wait.c: health and CRD waits (which: run->nt flags over run->t) */
int sync_wait_healthy(struct run *run, const bool *which, double timeout_s, bool fail_degraded,
		      bool *ok, struct gs_error *err);
void sync_unhealthy_message(struct run *run, const bool *which, const char *what);
int sync_crd_established(struct run *run, struct target *crd, struct gs_error *err);

/* sync-hooks.c */
int sync_run_hook(struct run *run, struct target *t, bool *ok, struct gs_error *err);
int sync_run_syncfail_hooks(struct run *run, const size_t *order, size_t ntasks,
			    struct gs_error *err);

/* sync-prune.c: delete prune rows (last: the PruneLast ones) */
int sync_prune(struct run *run, bool last, struct gs_error *err);

/* sync-converge.c */
void sync_finish_failed(struct run *run, const char *what);
int sync_converge(struct run *run, struct gs_error *err);

#endif
