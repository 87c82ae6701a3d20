/* kept.c - whole objects kept from a watch (see kept.h). */
#include "loop/kept.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-error.h"
#include "mf-object.h"

struct kept {
	/* never held while calling into the watcher: its callback takes this
	 * lock under the watcher's own */
	pthread_mutex_t lock;
	struct kube_cache *c; /* NULL until made */
	char **names;
	struct mf_node **objs;
	size_t n, alloc;
};

struct kept *kept_new(void)
{
	struct kept *k = gs_calloc(1, sizeof(*k));

	pthread_mutex_init(&k->lock, NULL);
	return k;
}

void kept_free(struct kept *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++) {
		free(k->names[i]);
		mf_node_free(k->objs[i]);
	}
	free(k->names);
	free(k->objs);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static ptrdiff_t find(const struct kept *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!strcmp(k->names[i], name))
			return (ptrdiff_t)i;
	return -1;
}

uint64_t kept_on_event(enum kube_event ev, const struct mf_node *obj,
		       const struct kube_cache_entry *prev, void *payload)
{
	struct kept *k = payload;
	const char *name = obj ? mf_obj_name(obj) : prev ? prev->name : NULL;
	ptrdiff_t at;

	if (!name)
		return 0;
	pthread_mutex_lock(&k->lock);
	at = find(k, name);
	if (ev == KUBE_EVENT_DELETED) {
		if (at >= 0) {
			free(k->names[at]);
			mf_node_free(k->objs[at]);
			k->n--;
			k->names[at] = k->names[k->n];
			k->objs[at] = k->objs[k->n];
		}
	} else if (obj) {
		if (at < 0) {
			GS_ALLOC_GROW(k->names, k->n + 1, k->alloc);
			k->objs = gs_realloc(k->objs, k->alloc * sizeof(*k->objs));
			k->names[k->n] = gs_strdup(name);
			k->objs[k->n] = NULL;
			at = (ptrdiff_t)k->n++;
		}
		mf_node_free(k->objs[at]);
		k->objs[at] = mf_node_clone(obj);
	}
	pthread_mutex_unlock(&k->lock);
	return 0;
}

void kept_set_cache(struct kept *k, struct kube_cache *c)
{
	pthread_mutex_lock(&k->lock);
	k->c = c;
	pthread_mutex_unlock(&k->lock);
}

/* Is the watch in step with the server?  Asked before taking the lock. */
static bool vouched(struct kept *k)
{
	struct kube_cache *c;

	pthread_mutex_lock(&k->lock);
	c = k->c;
	pthread_mutex_unlock(&k->lock);
	return c && kube_cache_synced(c);
}

int kept_get(struct kept *k, const char *name, struct mf_node **out)
{
	ptrdiff_t at;

	*out = NULL;
	if (!k || !vouched(k))
		return KEPT_UNKNOWN;
	pthread_mutex_lock(&k->lock);
	at = find(k, name);
	if (at >= 0)
		*out = mf_node_clone(k->objs[at]);
	pthread_mutex_unlock(&k->lock);
	return *out ? GS_OK : GS_ENOTFOUND;
}

int kept_foreach(struct kept *k, int (*fn)(const struct mf_node *obj, void *arg), void *arg)
{
	struct mf_node **copies;
	size_t i, n;
	int rc = 0;

	if (!k || !vouched(k))
		return KEPT_UNKNOWN;
	/* copies: fn runs without the lock */
	pthread_mutex_lock(&k->lock);
	n = k->n;
	copies = gs_calloc(n + 1, sizeof(*copies));
	for (i = 0; i < n; i++)
		copies[i] = mf_node_clone(k->objs[i]);
	pthread_mutex_unlock(&k->lock);
	for (i = 0; i < n; i++) {
		if (!rc)
			rc = fn(copies[i], arg);
		mf_node_free(copies[i]);
	}
	free(copies);
	return rc;
}
