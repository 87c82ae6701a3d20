/* kube-client.h - a small Kubernetes API client on libcurl.
 *
 * One client = one cluster + user (a struct kube_config).  It keeps one
 * connection alive across requests, applies a client-side rate limit (token
 * bucket; by default only until the server shows it does API Priority and
 * Fairness, which then protects itself with 429s), retries idempotent requests (GET, PUT, DELETE and server-side
 * apply PATCH, which is idempotent by construction) on connection errors, 429
 * (honouring Retry-After) and 5xx with exponential backoff and full jitter,
 * and refreshes rotating credentials (tokenFile, exec plugins) on 401.
 *
 * Many requests can be in flight at once through a struct kube_batch: one
 * libcurl multi handle, HTTP/2 streams over one connection where the server
 * speaks it (kube-apiserver does over TLS), else a bounded number of
 * HTTP/1.1 connections; the same retries and rate limit apply per request.
 *
 * Objects go in and out as mf_node trees (JSON numbers keep their text).
 * Discovery is lazy and per group-version: only the API groups an app uses
 * are asked, and the answers are cached until invalidated (a CRD changed).
 *
 * Not thread-safe: one client per thread.
 */
#ifndef KUBE_CLIENT_H
#define KUBE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "kube/kube-config.h"
#include "mf-node.h"

struct kube_client;

#define KUBE_DEFAULT_QPS 100
#define KUBE_DEFAULT_BURST 200
#define KUBE_DEFAULT_INFLIGHT 16

struct kube_client_opts {
	double qps;              /* client-side rate limit; < 0 = none; 0 = the
				  * default, lifted when the server does APF */
	unsigned burst;          /* 0 = default */
	unsigned max_retries;    /* 0 = default 6 (retries after the first try) */
	long timeout_ms;         /* whole request; 0 = default 60 s */
	long connect_timeout_ms; /* 0 = default 10 s */
	unsigned backoff_base_ms;/* first retry delay before jitter; 0 = default 200 ms */
	unsigned backoff_max_ms; /* 0 = default 10 s */
	unsigned max_inflight;   /* requests at once in a batch; 0 = default */
};

/* Counters for benchmarks and /metrics. */
struct kube_client_stats {
	unsigned long requests;  /* HTTP requests sent (retries included) */
	unsigned long retries;   /* of which retries */
	unsigned long get, list, patch, del, post, put, discovery;
	unsigned long get_cache; /* of the GETs, those at a resourceVersion (kube_client_get_at) */
	unsigned long throttled_ms; /* time slept by the rate limiter */
};

/* cfg is borrowed and must outlive the client.  opts may be NULL. */
int kube_client_new(struct kube_client **out, const struct kube_config *cfg,
		    const struct kube_client_opts *opts, struct gs_error *err);
void kube_client_free(struct kube_client *kc);
const struct kube_client_stats *kube_client_stats(const struct kube_client *kc);
/* Called after every attempt of a request (retries included) with the HTTP
 * method and the response's status (0: no response), on the client's
 * thread: /metrics counts requests by verb and code with it. */
typedef void (*kube_request_observer)(const char *method, long status, void *payload);
void kube_client_set_observer(struct kube_client *kc, kube_request_observer fn, void *payload);
/* Called after every attempt of a write (POST, PUT, PATCH, DELETE; not a
 * dry-run) with its path, the response's status (0: none) and body, on the
 * client's thread: the agent learns the resourceVersion of its own writes
 * to Applications with it (reconcile reads them from the API server's
 * watch cache, never older than that). */
typedef void (*kube_write_hook)(const char *path, long status, const struct gs_buf *body,
				void *payload);
void kube_client_set_write_hook(struct kube_client *kc, kube_write_hook fn, void *payload);

/* Send every write of this client (POST, PUT, PATCH, DELETE; dry-runs
 * included) with the header Impersonate-User: user, e.g.
 * "system:serviceaccount:team-a:deployer", so the cluster's RBAC for that
 * account bounds what it changes; the API server adds the account's
 * groups.  Reads keep the client's own identity.  user is copied; NULL or
 * "" turns it off.  The client's credentials need the `impersonate` verb
 * on serviceaccounts. */
void kube_client_set_impersonation(struct kube_client *kc, const char *user);
/* The current setting (borrowed) or NULL. */
const char *kube_client_impersonation(const struct kube_client *kc);

/* A raw response.  body is capped (GS_ELIMIT beyond 512 MiB). */
struct kube_response {
	long status;           /* HTTP status, 0 when no response */
	struct gs_buf body;
};
#define KUBE_RESPONSE_INIT { 0, GS_BUF_INIT }
void kube_response_release(struct kube_response *r);

/* Send one request (path includes the query string) with retries as above.
 * Returns GS_OK whenever the server answered (any status: read r->status),
 * GS_ENET when it could not be reached after the retries. */
int kube_client_request(struct kube_client *kc, const char *method, const char *path,
			const char *content_type, const char *body, size_t len,
			struct kube_response *r, struct gs_error *err);

/* Turn a non-2xx response into an error: the server's Status message,
 * GS_ENOTFOUND for 404, GS_ECONFLICT for 409, GS_EAUTH for 401/403, GS_EINVAL
 * for 400/422, GS_ERR otherwise.  Returns the code. */
int kube_status_error(const struct kube_response *r, struct gs_error *err);

/* ---- discovery ---- */

enum kube_verb {
	KUBE_VERB_GET = 1 << 0,
	KUBE_VERB_LIST = 1 << 1,
	KUBE_VERB_WATCH = 1 << 2,
	KUBE_VERB_PATCH = 1 << 3,
	KUBE_VERB_DELETE = 1 << 4,
	KUBE_VERB_CREATE = 1 << 5,
};

/* One API resource (owned by the client's cache). */
struct kube_resource {
	char *group, *version, *kind, *plural;
	bool namespaced;
	unsigned verbs; /* enum kube_verb */
};

/* Find the resource serving group/version/kind.  *out borrowed from the
 * cache (valid until kube_client_invalidate or free).  GS_ENOTFOUND with a
 * clear message when the server does not serve it. */
int kube_client_resource(struct kube_client *kc, const struct kube_resource **out,
			 const char *group, const char *version, const char *kind,
			 struct gs_error *err);
/* Forget a group-version (both NULL: everything), e.g. after a CRD change. */
void kube_client_invalidate(struct kube_client *kc, const char *group, const char *version);
/* All resources of every served group-version (preferred versions only),
 * for full scans (prune of kinds no longer in the source).  The array and
 * its entries are borrowed from the cache. */
int kube_client_all_resources(struct kube_client *kc, const struct kube_resource ***out,
			      size_t *n_out, struct gs_error *err);

/* ---- typed operations (objects as mf_node) ---- */

/* GET one object.  *out owned.  GS_ENOTFOUND when absent. */
int kube_client_get(struct kube_client *kc, struct mf_node **out, const struct kube_resource *res,
		    const char *ns, const char *name, struct gs_error *err);
/* The same, answered by the API server's watch cache with the object as it
 * is at min_rv or later (resourceVersion=min_rv: no etcd read, but the
 * object may be a few milliseconds behind etcd).  min_rv NULL or "": as
 * kube_client_get. */
int kube_client_get_at(struct kube_client *kc, struct mf_node **out,
		       const struct kube_resource *res, const char *ns, const char *name,
		       const char *min_rv, struct gs_error *err);

/* LIST (paginated, 500 per page) with an optional label selector; ns NULL or
 * "" lists across namespaces.  Calls fn for each item (item borrowed: valid
 * during the call only; fn may keep a clone).  rv_out (may be NULL) gets the
 * list's resourceVersion (owned).  A non-zero return from fn stops and is
 * returned. */
typedef int (*kube_item_fn)(const struct mf_node *item, void *payload);
int kube_client_list(struct kube_client *kc, const struct kube_resource *res, const char *ns,
		     const char *label_selector, kube_item_fn fn, void *payload, char **rv_out,
		     struct gs_error *err);

enum kube_apply_flags {
	KUBE_APPLY_DRY_RUN = 1 << 0, /* dryRun=All: nothing stored */
	KUBE_APPLY_FORCE = 1 << 1,   /* force=true: take over conflicting fields */
};
/* Server-side apply obj (borrowed) as field manager `manager`.  *out (may be
 * NULL) gets the object the server stored (or would store).  Errors carry
 * the server's message (GS_EINVAL for invalid objects, GS_ECONFLICT). */
int kube_client_apply(struct kube_client *kc, struct mf_node **out,
		      const struct kube_resource *res, const struct mf_node *obj,
		      const char *manager, unsigned flags, struct gs_error *err);

/* POST (create; for hooks with generateName).  *out may be NULL. */
int kube_client_create(struct kube_client *kc, struct mf_node **out,
		       const struct kube_resource *res, const struct mf_node *obj,
		       struct gs_error *err);

/* DELETE with propagationPolicy (NULL = "Background").  GS_ENOTFOUND when
 * already gone. */
int kube_client_delete(struct kube_client *kc, const struct kube_resource *res, const char *ns,
		       const char *name, const char *propagation, struct gs_error *err);

/* ---- batches: many requests in flight ---- */

struct kube_batch;

/* Called once per request when it is done: rc GS_OK with obj (owned by the
 * callee: keep or free it) when the server answered 2xx; else the error
 * (the server's message, GS_ENOTFOUND for 404, GS_ENET when unreachable
 * after the retries) and obj NULL.  Return 0 to go on; non-zero stops the
 * batch: requests not started yet are dropped without a call, those in
 * flight still complete (and are called), and kube_batch_run returns the
 * first non-zero value. */
typedef int (*kube_batch_fn)(int rc, struct mf_node *obj, const struct gs_error *err,
			     void *payload);

struct kube_batch *kube_batch_new(struct kube_client *kc);
/* Drops requests never run (no callback). */
void kube_batch_free(struct kube_batch *b);
/* Queue a server-side apply (as kube_client_apply) of an object already
 * serialized as JSON: json (len bytes) is borrowed and must stay alive until
 * its callback ran or the batch is freed.  Requests start in the order
 * queued. */
void kube_batch_apply_json(struct kube_batch *b, const struct kube_resource *res,
			   const char *ns, const char *name, const char *json, size_t len,
			   const char *manager, unsigned flags, kube_batch_fn fn, void *payload);
/* Queue a GET of one object (GS_ENOTFOUND to fn when absent). */
void kube_batch_get(struct kube_batch *b, const struct kube_resource *res, const char *ns,
		    const char *name, kube_batch_fn fn, void *payload);
/* Run every queued request, up to max_inflight at once, each with the
 * retries, backoff and rate limit of kube_client_request; callbacks run in
 * the caller's thread, inside this call.  Returns GS_OK, or the first
 * non-zero callback return.  The batch is empty afterwards and may be
 * reused. */
int kube_batch_run(struct kube_batch *b);

/* JSON pointer-ish request path for an object: /api/v1/namespaces/NS/RES/NAME
 * (name may be NULL for the collection).  Owned. */
char *kube_resource_path(const struct kube_resource *res, const char *ns, const char *name);

#endif
