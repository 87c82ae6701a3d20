/* workq.c - deduplicated delaying work queue (see workq.h). */
#include "loop/workq.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gs-time.h"
#include "gs-alloc.h"

enum entry_state { QUEUED, PROCESSING };

struct entry {
	char *key;
	enum entry_state state;
	double due;
	bool again;       /* PROCESSING: re-queue on done */
	double again_due;
	double ready;     /* when it became due (an urgent key: when added) */
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct entry *v;
	size_t nr, alloc, max;
	bool shutdown;
};

double workq_now(void)
{
	return gs_time_mono();
}

struct workq *workq_new(size_t max)
{
	struct workq *q = gs_calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	q->max = max ? max : 100000;
	return q;
}

void workq_free(struct workq *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < q->nr; i++)
		free(q->v[i].key);
	free(q->v);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static struct entry *find(struct workq *q, const char *key)
{
	size_t i;

	for (i = 0; i < q->nr; i++)
		if (!strcmp(q->v[i].key, key))
			return &q->v[i];
	return NULL;
}

static void remove_entry(struct workq *q, struct entry *e)
{
	size_t i = (size_t)(e - q->v);

	free(e->key);
	memmove(&q->v[i], &q->v[i + 1], (q->nr - i - 1) * sizeof(*e));
	q->nr--;
}

bool workq_add(struct workq *q, const char *key, double delay_s)
{
	/* urgent items sort before any real (monotonic, positive) time */
	double now = workq_now();
	double due = delay_s < 0 ? 0 : now + delay_s;
	double ready = delay_s < 0 ? now : due;
	struct entry *e;
	bool ok = true;

	pthread_mutex_lock(&q->lock);
	if (q->shutdown) {
		ok = false;
	} else if ((e = find(q, key))) {
		if (e->state == QUEUED) {
			if (due < e->due)
				e->due = due;
			if (ready < e->ready)
				e->ready = ready;
		} else if (!e->again || due < e->again_due) {
			e->again = true;
			e->again_due = due;
			e->ready = ready;
		}
	} else if (q->nr >= q->max) {
		ok = false;
	} else {
		GS_ALLOC_GROW(q->v, q->nr + 1, q->alloc);
		e = &q->v[q->nr++];
		memset(e, 0, sizeof(*e));
		e->key = gs_strdup(key);
		e->state = QUEUED;
		e->due = due;
		e->ready = ready;
	}
	if (ok)
		pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return ok;
}

char *workq_get(struct workq *q)
{
	return workq_get_waited(q, NULL);
}

char *workq_get_waited(struct workq *q, double *waited_s)
{
	char *key = NULL;

	pthread_mutex_lock(&q->lock);
	while (!q->shutdown) {
		struct entry *best = NULL;
		double now = workq_now();
		size_t i;

		for (i = 0; i < q->nr; i++)
			if (q->v[i].state == QUEUED && (!best || q->v[i].due < best->due))
				best = &q->v[i];
		if (best && best->due <= now) {
			best->state = PROCESSING;
			best->again = false;
			if (waited_s)
				*waited_s = now > best->ready ? now - best->ready : 0;
			key = gs_strdup(best->key);
			break;
		}
		if (best) {
			struct timespec ts;
			double at = best->due;
			ts.tv_sec = (time_t)floor(at);
			ts.tv_nsec = (long)((at - floor(at)) * 1e9);
			pthread_cond_timedwait(&q->cond, &q->lock, &ts);
		} else {
			pthread_cond_wait(&q->cond, &q->lock);
		}
	}
	pthread_mutex_unlock(&q->lock);
	return key;
}

void workq_done(struct workq *q, const char *key)
{
	struct entry *e;

	pthread_mutex_lock(&q->lock);
	e = find(q, key);
	if (e && e->state == PROCESSING) {
		if (e->again) {
			e->state = QUEUED;
			e->due = e->again_due;
			e->again = false;
			pthread_cond_broadcast(&q->cond);
		} else {
			remove_entry(q, e);
		}
	}
	pthread_mutex_unlock(&q->lock);
}

void workq_shutdown(struct workq *q)
{
	pthread_mutex_lock(&q->lock);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

size_t workq_due(struct workq *q)
{
	double now = workq_now();
	size_t i, n = 0;

	pthread_mutex_lock(&q->lock);
	for (i = 0; i < q->nr; i++)
		if (q->v[i].state == QUEUED && q->v[i].due <= now)
			n++;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t workq_len(struct workq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->nr;
	pthread_mutex_unlock(&q->lock);
	return n;
}
