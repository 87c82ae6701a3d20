/* kube-watch.h - live caches of one kind each: LIST, then WATCH.
 *
 * A watcher drives any number of caches over one libcurl multi handle of its
 * own (one HTTP/2 connection to the API server, streams multiplexed).  Each
 * cache covers one resource, optionally one namespace, selected by a label
 * selector (gitsync's tracking label: memory follows what we manage, never
 * the whole cluster).  It LISTs (paginated), then WATCHes from the list's
 * resourceVersion with bookmarks; a watch that ends (the server's timeout, a
 * dropped connection) resumes from the last resourceVersion seen; `410 Gone`
 * (the version was compacted away) or an unreadable stream makes it LIST
 * again, reporting what changed in between as events.
 *
 * Memory: a cache keeps a compact entry per object (namespace, name, uid,
 * resourceVersion, generation and 64 bits for the owner), never the object.
 * The owner sees each full object once, in its callback, and keeps what it
 * needs in `user` (for instance health and a hash of the fields it owns).
 *
 * Threads: the watcher's thread calls kube_watcher_poll; any thread may read
 * a cache (lookup, foreach, revision, synced) meanwhile, under the
 * watcher's lock, held only while events are applied.  A poll
 * returns by its timeout.  The kube_client given
 * is used by the watcher's thread only (LISTs, credentials).
 *
 * Use (agent): one watcher thread per cluster; per app, one cache per kind
 * it manages (selector "gitsync.io/app=NAME"); a reconcile first checks
 * kube_cache_revision() against the one it last saw: unchanged means
 * nothing moved in the cluster, and with the same desired revision the app
 * is still in sync without a single request.
 */
#ifndef KUBE_WATCH_H
#define KUBE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gs-error.h"
#include "kube/kube-client.h"
#include "mf-node.h"

struct kube_watcher;
struct kube_cache;

enum kube_event {
	KUBE_EVENT_ADDED = 1,   /* new to the cache (first LIST, watch, relist) */
	KUBE_EVENT_MODIFIED,    /* resourceVersion changed */
	KUBE_EVENT_DELETED,     /* gone (watch, or absent from a relist) */
};

/* One object, compact.  Strings borrowed from the cache: valid during the
 * callback or foreach call only. */
struct kube_cache_entry {
	const char *ns, *name;  /* ns "" for cluster-scoped objects */
	const char *uid, *rv;
	long long generation;
	uint64_t user;          /* what the owner's callback returned */
};

/* Called from kube_watcher_poll (or kube_cache_new's first LIST) for every
 * change; obj borrowed (for DELETED: the last state the server sent, or
 * NULL after a relist).  The return value is stored as the entry's `user`
 * (ignored for DELETED); prev is the value stored before (0 when new).
 * The watcher's lock is held: do not call back into the watcher. */
typedef uint64_t (*kube_cache_fn)(enum kube_event ev, const struct mf_node *obj,
				  const struct kube_cache_entry *prev, void *payload);

/* kc borrowed: must outlive the watcher and be used by its thread only. */
int kube_watcher_new(struct kube_watcher **out, struct kube_client *kc, struct gs_error *err);
/* Frees every cache too. */
void kube_watcher_free(struct kube_watcher *w);

/* Add a cache: LIST now (fn called with ADDED for each object), then watch
 * from the next kube_watcher_poll.  res borrowed (from kc's discovery
 * cache), ns NULL or "" = every namespace, selector may be NULL.  *out is
 * owned by the watcher (freed with it). */
int kube_cache_new(struct kube_cache **out, struct kube_watcher *w,
		   const struct kube_resource *res, const char *ns, const char *selector,
		   kube_cache_fn fn, void *payload, struct gs_error *err);
/* Run the watches for up to timeout_ms (0: what is ready now): read events,
 * resume ended watches, relist after 410 Gone.  Returns GS_OK, or an error
 * only for what cannot recover by itself (GS_EAUTH); network trouble is
 * retried with backoff, the affected caches marked not synced meanwhile. */
int kube_watcher_poll(struct kube_watcher *w, int timeout_ms, struct gs_error *err);
/* End the kube_watcher_poll running now, or the next one, at once: another
 * thread has work for the watcher's (a cache to make).  Any thread; takes
 * no lock, so it may be called under the caller's own. */
void kube_watcher_wake(struct kube_watcher *w);
/* Readers (any thread). */
/* Changes since the cache was made (every event counts one). */
unsigned long kube_cache_revision(struct kube_cache *c);
/* True while the cache reflects the server: listed, watch running or about
 * to resume, no relist pending. */
bool kube_cache_synced(struct kube_cache *c);
size_t kube_cache_len(struct kube_cache *c);
/* Copy the entry for ns/name into *out with its strings copied into buf
 * (rv and uid; ns and name point at the arguments).  false when absent. */
bool kube_cache_lookup(struct kube_cache *c, const char *ns, const char *name,
		       struct kube_cache_entry *out, char *buf, size_t bufsize);
/* Call fn for every entry (borrowed during the call); a non-zero return
 * stops and is returned. */
int kube_cache_foreach(struct kube_cache *c,
		       int (*fn)(const struct kube_cache_entry *e, void *payload), void *payload);
/* Counters for tests and /metrics. */
struct kube_cache_stats {
	unsigned long lists;    /* LISTs, the first included (pages not counted) */
	unsigned long watches;  /* WATCH requests started */
	unsigned long events;   /* watch events applied (bookmarks excluded) */
	unsigned long gone;     /* 410 Gone seen */
};
void kube_cache_stats(struct kube_cache *c, struct kube_cache_stats *out);

#endif
