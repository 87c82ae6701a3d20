/* kube-private.h - internals shared by the kube/ files (not for other modules). */
#ifndef KUBE_PRIVATE_H
#define KUBE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "mf-node.h"
#include "kube/kube-client.h"

/* Base64 (whitespace tolerated).  *out owned, NUL-terminated. */
int kube_base64_decode(char **out, size_t *len_out, const char *in, struct gs_error *err);

/* cJSON value -> mf_node (owned).  Numbers: integers keep their digits;
 * cJSON parsed them as doubles, so integers beyond 2^53 would lose
 * precision: the API server sends none in the objects we manage. */
struct mf_node *kube_json_to_node(const cJSON *j);

/* Walk a LIST response without building its tree: fn gets the text of
 * each element of "items" in turn (borrowed; a non-zero return stops the
 * walk and is returned); metadata.continue ("" -> NULL) and
 * metadata.resourceVersion go to *continue_out and *rv_out (owned, may be
 * NULL).  A page of 500 objects thus never exists as one cJSON tree. */
typedef int (*kube_list_item_fn)(const char *json, size_t len, void *payload);
int kube_list_scan(const char *body, size_t len, kube_list_item_fn fn, void *payload,
		   char **continue_out, char **rv_out, struct gs_error *err);

/* Discovery cache, embedded in the client and filled by kube-api.c. */
struct kube_resource;
struct kube_gv_entry {
	char *group, *version;
	bool missing;            /* the server answered 404 */
	struct kube_resource *res;
	size_t n;
};
struct kube_disc {
	struct kube_gv_entry *gvs;
	size_t ngv, agv;
	bool groups_loaded;
	char **preferred;        /* preferred "group/version" (and "v1") from /apis */
	size_t npreferred;
	const struct kube_resource **all;
	size_t nall;
	/* invalidated entries stay alive until the client is freed: callers
	 * may still hold kube_resource pointers into them */
	struct kube_gv_entry *retired;
	size_t nretired, aretired;
};
struct kube_client;
struct kube_disc *kube_client_disc(struct kube_client *kc);
struct kube_client_stats *kube_client_stats_mut(struct kube_client *kc);

/* ---- transport shared by kube_client_request and batches ---- */

/* One request with its retry state.  method, path, content_type and body
 * are borrowed for the transfer's life. */
struct kube_xfer {
	const char *method, *path, *content_type, *body;
	size_t len;
	bool idempotent;
	unsigned attempt;        /* retries so far */
	bool reauthed;
	long retry_after_s;      /* from this attempt's Retry-After, -1 none */
	bool apf;                /* the answer had X-Kubernetes-PF-* headers */
	char *url;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	struct kube_response resp;
};
enum kube_xfer_next { KUBE_XFER_DONE, KUBE_XFER_RETRY };
void kube_xfer_init(struct kube_xfer *x, const char *method, const char *path,
		    const char *content_type, const char *body, size_t len);
void kube_xfer_release(struct kube_xfer *x);
/* Prepare easy handle c for the next attempt (the caller took a rate-limit
 * token).  CURLOPT_PRIVATE is set to x. */
int kube_xfer_setup(struct kube_client *kc, struct kube_xfer *x, CURL *c, struct gs_error *err);
/* After an attempt ended with cc: DONE (*rc_out: GS_OK whenever the server
 * answered, else the error) or RETRY after *delay_ms. */
enum kube_xfer_next kube_xfer_finish(struct kube_client *kc, struct kube_xfer *x, CURL *c,
				     CURLcode cc, double *delay_ms, int *rc_out,
				     struct gs_error *err);
/* Non-blocking token bucket: true when a token was taken, else *wait_ms
 * until the next one. */
bool kube_client_rate_take(struct kube_client *kc, double *wait_ms);
/* The client's multi handle (NULL when libcurl cannot make one) and its
 * pool of easy handles (get: a handle set up for the cluster, owned until
 * put back). */
CURLM *kube_client_multi(struct kube_client *kc);
CURL *kube_client_easy_get(struct kube_client *kc);
void kube_client_easy_put(struct kube_client *kc, CURL *c);
unsigned kube_client_max_inflight(const struct kube_client *kc);
/* Parse a response body into an object (*out owned). */
int kube_parse_object(struct mf_node **out, const struct kube_response *r, struct gs_error *err);
/* "group/Kind ns/name" for error locations. */
const char *kube_obj_id(const struct kube_resource *res, const char *ns, const char *name,
			char *buf, size_t n);
/* The apply request path (owned) for an object. */
char *kube_apply_path(const struct kube_resource *res, const char *ns, const char *name,
		      const char *manager, unsigned flags);
/* The apply request for obj: path and body (both owned by the caller). */
void kube_apply_request(char **path_out, struct gs_buf *body, const struct kube_resource *res,
			const struct mf_node *obj, const char *manager, unsigned flags);
/* v1.20 cannot server-side apply this resource (see kube-api.c). */
bool kube_ssa_broken(const struct kube_resource *res);

#endif
