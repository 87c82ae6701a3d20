/* sync.h - the sync engine: compare, plan, apply, prune, health.
 *
 * Input: rendered objects (mf_node maps, borrowed), an app name and options.
 * Output: a report with one entry per resource (desired, hook, or tracked
 * but gone from the source) plus an operation phase and message.
 *
 * The same calls serve the CLI (`gitsync diff|sync PATH`), `gitsync app` and
 * the agent.  A struct sync_engine outlives one run so that the agent keeps
 * its memo of dry-run verdicts (desired hash + live resourceVersion) from one
 * reconcile to the next; the CLI makes one per process.
 *
 * Comparison, cheapest first: (1) locally, every desired field equals the
 * live value and every field our manager owns in managedFields is still
 * desired -> Synced without a request; (2) a memoized verdict for the same
 * desired hash and live resourceVersion; (3) a server-side apply dry-run
 * whose normalized result is compared with the normalized live object.
 *
 * Not thread-safe: one engine per thread.
 */
#ifndef SYNC_H
#define SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-error.h"
#include "kube/kube-client.h"
#include "kube/kube-watch.h"
#include "mf-node.h"

/* The tracking label and annotation put on every object we apply. */
#define SYNC_LABEL_APP "gitsync.io/app"
#define SYNC_ANNOTATION_TRACKING "gitsync.io/tracking-id"
#define SYNC_FIELD_MANAGER "gitsync"

enum sync_status {
	SYNC_STATUS_UNKNOWN = 0,
	SYNC_STATUS_SYNCED,
	SYNC_STATUS_OUT_OF_SYNC,
	SYNC_STATUS_MISSING, /* desired, not in the cluster */
	SYNC_STATUS_PRUNE,   /* tracked as the app's, gone from the source */
};

/* Ordered from best to worst, as Argo CD orders them. */
enum sync_health {
	SYNC_HEALTH_NONE = 0, /* kind without a health rule (ConfigMap, ...) */
	SYNC_HEALTH_HEALTHY,
	SYNC_HEALTH_SUSPENDED,
	SYNC_HEALTH_PROGRESSING,
	SYNC_HEALTH_MISSING,
	SYNC_HEALTH_DEGRADED,
	SYNC_HEALTH_UNKNOWN,
};

enum sync_hook {
	SYNC_HOOK_NONE = 0,
	SYNC_HOOK_PRESYNC,
	SYNC_HOOK_SYNC,
	SYNC_HOOK_POSTSYNC,
	SYNC_HOOK_SYNCFAIL,
	SYNC_HOOK_SKIP, /* Argo CD's "Skip": never applied */
};

enum sync_hook_delete {
	SYNC_HOOK_DELETE_BEFORE_CREATION = 1 << 0,
	SYNC_HOOK_DELETE_SUCCEEDED = 1 << 1,
	SYNC_HOOK_DELETE_FAILED = 1 << 2,
};

enum sync_result {
	SYNC_RESULT_NONE = 0,   /* nothing done (already in sync, or diff only) */
	SYNC_RESULT_SYNCED,     /* applied (message says created/configured) */
	SYNC_RESULT_FAILED,     /* apply, dry-run or delete failed (message says why) */
	SYNC_RESULT_PRUNED,
	SYNC_RESULT_PRUNE_SKIPPED, /* needs pruning; --prune not given or Prune=false */
};

enum sync_phase {
	SYNC_PHASE_NONE = 0,
	SYNC_PHASE_RUNNING,
	SYNC_PHASE_SUCCEEDED,
	SYNC_PHASE_FAILED,  /* an object failed (dry-run, apply, hook, health timeout) */
	SYNC_PHASE_ERROR,   /* the operation itself could not run (cluster unreachable) */
};

struct sync_resource {
	char *group, *version, *kind, *ns, *name; /* owned; ns "" for cluster-scoped */
	enum sync_status status;
	enum sync_health health;
	char *health_msg;      /* owned, may be NULL */
	enum sync_hook hook;
	int wave;
	bool requires_pruning;
	bool prune_disabled;    /* Prune=false on the object or the app: never pruned */
	enum sync_result result;
	char *message;         /* owned, may be NULL: "created", "configured", error text */
	/* Kept only with SYNC_KEEP_DIFF for objects that are not Synced:
	 * normalized live object (NULL when missing) and the object the server
	 * would store (NULL when pruning).  Owned. */
	struct mf_node *live, *target;
	/* With them: the live object's metadata.managedFields (who set what,
	 * for drift attribution in `app diff`), or NULL.  Owned. */
	struct mf_node *managed_fields;
};

struct sync_report {
	struct sync_resource *v;
	size_t n, alloc;
	enum sync_phase phase;
	enum sync_status status; /* app: Synced when every resource is */
	enum sync_health health; /* app: the worst of its resources */
	char *message;           /* owned: "successfully synced (all tasks run)" or why not */
	double started, finished; /* seconds since the epoch */
	unsigned long requests;   /* API requests made by this run */
};
#define SYNC_REPORT_INIT { NULL, 0, 0, SYNC_PHASE_NONE, SYNC_STATUS_UNKNOWN, \
			   SYNC_HEALTH_NONE, NULL, 0, 0, 0 }
void sync_report_release(struct sync_report *rep);

/* ignoreDifferences entry: match by group/kind (required) and optionally
 * name/namespace; then JSON pointers to ignore, field managers whose
 * fields are ignored (an HPA's "kube-controller-manager" on spec.replicas)
 * and/or jq expressions whose paths are ignored (sync-jq.h). */
struct sync_ignore {
	const char *group, *kind, *name, *ns;   /* NULL name/ns = any */
	const char *const *pointers;             /* JSON pointers, n_pointers */
	size_t n_pointers;
	const char *const *managers;
	size_t n_managers;
	const char *const *jq;                   /* jqPathExpressions, n_jq */
	size_t n_jq;
};

/* A kind the app managed before (from the Application status), so objects of
 * kinds no longer in the source are still found for pruning. */
struct sync_gvk {
	const char *group, *version, *kind;
};

enum sync_flags {
	SYNC_PRUNE = 1 << 0,           /* delete objects that left the source */
	SYNC_DRY_RUN = 1 << 1,         /* dry-run everything, write nothing */
	SYNC_KEEP_DIFF = 1 << 2,       /* keep live/target of non-Synced resources */
	SYNC_FULL_SCAN = 1 << 3,       /* list every kind for prune candidates */
	SYNC_WAIT_HEALTHY = 1 << 4,    /* after applying, wait healthy (timeout) */
	SYNC_APPLY_ALL = 1 << 5,       /* ApplyOutOfSyncOnly=false */
	SYNC_TAKE_INPUT = 1 << 6,      /* the run takes objs[i] (not the array) and
					* frees each once read, so that thousands of
					* objects are not held twice; the caller must
					* not use them afterwards */
	SYNC_ALLOW_EMPTY = 1 << 7,     /* prune even when the source has no
					* objects (without it an empty source
					* prunes nothing and the sync fails) */
	SYNC_PRUNE_FOREGROUND = 1 << 8, /* prune with propagationPolicy=Foreground
					 * (an Application's resources finalizer) */
};

/* Live state from watch caches (kube-watch.h) instead of LISTs.  The caller
 * (the agent) keeps a kube_watcher and one cache per kind: per app, selected
 * by SYNC_LABEL_APP=app, or shared by every app (selector SYNC_LABEL_APP,
 * each entry's `user` carrying sync_app_hash of its app in its upper 32
 * bits: see sync_options.live_cache_owner), made with sync_cache_fn as the
 * callback or one keeping its low byte (payload: the engine's health
 * checks, see sync_engine_set_health_checks, or NULL); the run asks this
 * lookup for the cache of each kind (NULL, or a cache not synced: the run
 * LISTs that kind).  An object whose desired hash and cached
 * resourceVersion match the engine's memo is then decided without any
 * request; the others are fetched (GET). */
/* needed: the kind of an object the run syncs or once synced (the lookup
 * may start watching it, and wait a little for its first LIST); false for
 * the other kinds a full scan (SYNC_FULL_SCAN) lists. */
typedef struct kube_cache *(*sync_cache_lookup_fn)(const struct kube_resource *res,
						   bool needed, void *payload);
/* The kube_cache_fn to build such caches with: keeps the object's health
 * (+ 1) in the low 7 bits of the entry's `user`, and SYNC_CACHE_HEALTH_MSG
 * when that health is not Healthy and has a message (the run then reads the
 * object for it).
 * A caller with a callback of its own may use the 56 upper bits, keeping
 * the low byte as this one. */
#define SYNC_CACHE_HEALTH_MSG 0x80
uint64_t sync_cache_fn(enum kube_event ev, const struct mf_node *obj,
		       const struct kube_cache_entry *prev, void *payload);
/* The tag of an app's entries in a cache shared by apps (never 0). */
uint32_t sync_app_hash(const char *app);

struct sync_resource;
/* Called as work proceeds (resource borrowed, valid during the call). */
typedef void (*sync_progress_fn)(const struct sync_resource *res, void *payload);

/* A policy over what a run may write (the agent's Projects): asked for
 * every desired object and hook before anything is dry-run (prune false),
 * and for every object the run would prune (prune true).  An error fails
 * that object with err's message, so sync_run writes nothing. */
typedef int (*sync_policy_fn)(const struct sync_resource *res, bool prune, void *payload,
			      struct gs_error *err);
struct sync_options {
	const char *app;           /* required: tracking label value */
	const char *ns;            /* namespace for namespaced objects without one */
	unsigned flags;            /* enum sync_flags */
	double timeout_s;          /* health waits (between waves, final); 0 = 300 s
				    * between waves and no final wait */
	const char *const *sync_options; /* app-level "Key=Value" (Prune=false, ...) */
	size_t n_sync_options;
	const struct sync_ignore *ignore;
	size_t n_ignore;
	const struct sync_gvk *managed_kinds;
	size_t n_managed_kinds;
	sync_progress_fn progress;
	void *payload;
	sync_cache_lookup_fn live_cache; /* optional, see above */
	void *live_cache_payload;
	uint32_t live_cache_owner; /* caches shared by apps: sync_app_hash(app);
				    * 0: per-app caches */
	sync_policy_fn policy;     /* optional, see above */
	void *policy_payload;
	/* Optional: asked while the run waits (hooks, waves, health); true
	 * ends the run at once, phase Failed, message "terminated" (Argo CD's
	 * terminate-op).  What was applied stays applied. */
	bool (*cancelled)(void *payload);
	void *cancel_payload;
};

struct sync_engine;

/* kc borrowed, must outlive the engine. */
struct sync_engine *sync_engine_new(struct kube_client *kc);
void sync_engine_free(struct sync_engine *se);
/* Users' Lua health checks (health/health-lua.h), consulted before the
 * built-in rules by every run of se; borrowed, must outlive the engine;
 * NULL: built-in rules only.  The set is only read (one set may serve the
 * engines of several threads). */
struct hl_set;
void sync_engine_set_health_checks(struct sync_engine *se, const struct hl_set *checks);
/* The memo of verdicts (desired hash + live resourceVersion) an engine
 * keeps is its own; engines given one sync_memo share it instead (the
 * agent's workers: an app compared by one worker after another synced it
 * is decided from the watch cache without a request).  Thread-safe; the
 * memo is borrowed and must outlive the engines. */
struct sync_memo;
struct sync_memo *sync_memo_new(void);
void sync_memo_free(struct sync_memo *m);
void sync_engine_share_memo(struct sync_engine *se, struct sync_memo *m);
/* The memo's key of a live object (owned). */
char *sync_object_key(const struct mf_node *obj);
/* Does m hold the object of key, at resourceVersion rv, as in sync: the
 * very state a run applied or found in sync (a watch event of it is no
 * news)? */
bool sync_memo_holds(struct sync_memo *m, const char *key, const char *rv);

/* Compare objs (n borrowed objects) with the cluster; fill rep (statuses,
 * health, live/target with SYNC_KEEP_DIFF).  Writes nothing.  Returns GS_OK
 * when the comparison ran (per-object problems, such as an unknown kind or a
 * dry-run rejection, are in each resource's message with result FAILED);
 * an error when the cluster could not be reached. */
int sync_compare(struct sync_engine *se, struct sync_report *rep, struct mf_node *const *objs,
		 size_t n, const struct sync_options *opts, struct gs_error *err);

/* Compare, then converge: ordered apply (Namespaces and CRDs first, hooks,
 * waves, kind order), prune, health.  All-or-nothing before the first write:
 * if any object fails its dry-run, nothing is written and the phase is
 * Failed.  Returns GS_OK when the operation ran to a phase (read
 * rep->phase), an error when it could not start. */
int sync_run(struct sync_engine *se, struct sync_report *rep, struct mf_node *const *objs,
	     size_t n, const struct sync_options *opts, struct gs_error *err);

/* ---- pieces, exposed for tests and for `app get` ---- */

const char *sync_status_str(enum sync_status s);
const char *sync_health_str(enum sync_health h); /* "" for NONE */
const char *sync_hook_str(enum sync_hook h);     /* "" for NONE */
const char *sync_phase_str(enum sync_phase p);

/* Health of a live object by the rules of its kind.  *msg_out owned (may
 * be NULL). */
enum sync_health sync_health_of(const struct mf_node *live, char **msg_out);

/* Position of kind in Kubernetes' apply order (lower first; unknown kinds,
 * i.e. custom resources, last). */
int sync_kind_order(const char *group, const char *kind);
/* Sync wave from gitsync.io/sync-wave or argocd.argoproj.io/sync-wave (0). */
int sync_wave_of(const struct mf_node *obj);
/* Hook type and delete policies from gitsync.io/hook(-delete-policy) or the
 * Argo CD annotations. */
enum sync_hook sync_hook_of(const struct mf_node *obj, unsigned *delete_policy_out);
/* True when "Key=Value" is among the object's gitsync.io/sync-options (or
 * argocd.argoproj.io/sync-options), else among the app-level options. */
bool sync_option_is(const struct mf_node *obj, const struct sync_options *opts, const char *key,
		    const char *value);

/* Copy of a live or dry-run object with server-owned noise removed
 * (managedFields, resourceVersion, uid, generation, timestamps, status,
 * server annotations).  Owned. */
struct mf_node *sync_normalize(const struct mf_node *obj);
/* True when every field of desired equals the live value (desired is a
 * subset of live), with Kubernetes equivalences (quantities, numbers as
 * strings where int-or-string). */
bool sync_subset_equal(const struct mf_node *desired, const struct mf_node *live);
/* True when every field `manager` owns by Apply in live's managedFields is
 * still in desired, and the manager has an Apply entry at all. */
bool sync_owned_fields_desired(const struct mf_node *live, const struct mf_node *desired,
			       const char *manager);
/* Default `protocol: TCP` on Service ports and container ports, as the API
 * server would, so v1.20's SSA accepts them (its associative list key needs
 * the field). */
void sync_default_protocols(struct mf_node *obj);
/* Remove the fields an ignore entry names from obj (JSON pointers; fields
 * owned by the named managers per `fields_from`'s managedFields; paths its
 * jq expressions select in obj).  Errors: a jq expression's (sync-jq.h),
 * obj then partly unchanged. */
int sync_apply_ignore(struct mf_node *obj, const struct sync_ignore *ig,
		      const struct mf_node *fields_from, struct gs_error *err);
/* RespectIgnoreDifferences=true: the fields an ignore entry names take in
 * desired the value they have in live (the raw object, with its
 * managedFields), or go when live has none, so that applying desired does
 * not reset them (jq expressions: the paths they select in either).
 * Errors: a jq expression's (sync-jq.h). */
int sync_respect_ignore(struct mf_node *desired, const struct sync_ignore *ig,
			const struct mf_node *live, struct gs_error *err);

#endif
