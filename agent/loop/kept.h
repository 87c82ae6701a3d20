/* kept.h - a few whole objects of one kind kept from a watch: the
 * Projects and the Git credential templates of the agent's namespace.
 *
 * Every reconcile reads its app's Project and the credential templates;
 * reading them from the API server cost two requests per app and
 * reconcile (issue 20).  The informer watches both kinds (kube-watch.h)
 * and keeps each object whole here (they are few and small); workers read
 * copies.  While the watch is not synced (not listed yet, relisting after
 * an error) the answer is "not known": the caller reads the API server as
 * before, so nothing is ever decided from a stale copy the watch does not
 * vouch for.
 *
 * Threads: the watcher's thread feeds kept_on_event; any thread reads.
 */
#ifndef GS_KEPT_H
#define GS_KEPT_H

#include <stdint.h>

#include "kube/kube-watch.h"
#include "mf-node.h"

struct kept;

struct kept *kept_new(void);
/* Frees the copies (not the cache: its watcher owns it). */
void kept_free(struct kept *k);
/* The kube_cache_fn of the watch (payload: the kept). */
uint64_t kept_on_event(enum kube_event ev, const struct mf_node *obj,
		       const struct kube_cache_entry *prev, void *payload);
/* The watch's cache, once made (its synced state says whether the copies
 * can be trusted). */
void kept_set_cache(struct kept *k, struct kube_cache *c);

#define KEPT_UNKNOWN 1
/* A copy of the object named name into *out (owned): GS_OK; GS_ENOTFOUND
 * when the watch has none; KEPT_UNKNOWN when it cannot say. */
int kept_get(struct kept *k, const char *name, struct mf_node **out);
/* fn on a copy of every object (order unspecified; a non-zero return
 * stops and is returned); KEPT_UNKNOWN when the watch cannot say. */
int kept_foreach(struct kept *k, int (*fn)(const struct mf_node *obj, void *arg), void *arg);

#endif
