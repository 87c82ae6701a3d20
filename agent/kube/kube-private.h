/* kube-private.h - internals shared by the kube/ files (not for other modules). */
#ifndef KUBE_PRIVATE_H
#define KUBE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "mf-node.h"

/* Base64 (whitespace tolerated).  *out owned, NUL-terminated. */
int kube_base64_decode(char **out, size_t *len_out, const char *in, struct gs_error *err);

/* cJSON value -> mf_node (owned).  Numbers: integers keep their digits;
 * cJSON parsed them as doubles, so integers beyond 2^53 would lose
 * precision: the API server sends none in the objects we manage. */
struct mf_node *kube_json_to_node(const cJSON *j);
/* mf_node -> compact JSON appended to out. */
int kube_node_to_json(struct gs_buf *out, const struct mf_node *n);

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

#endif
