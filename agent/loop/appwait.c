/* appwait.c - long polls woken by watch events (appwait.h). */
#include "loop/appwait.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gs-alloc.h"
#include "loop/workq.h"

struct appwait {
	pthread_mutex_t lock;
	struct appwait_waiter *head; /* a few (HTTPD_MAX_LONG_POLLS): a list is enough */
	bool closed;
};

struct appwait *appwait_new(void)
{
	struct appwait *w = gs_calloc(1, sizeof(*w));

	pthread_mutex_init(&w->lock, NULL);
	return w;
}

void appwait_free(struct appwait *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void appwait_register(struct appwait *w, struct appwait_waiter *wt, const char *key)
{
	pthread_condattr_t ca;

	memset(wt, 0, sizeof(*wt));
	snprintf(wt->key, sizeof(wt->key), "%s", key);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wt->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&w->lock);
	wt->next = w->head;
	w->head = wt;
	pthread_mutex_unlock(&w->lock);
}

void appwait_unregister(struct appwait *w, struct appwait_waiter *wt)
{
	struct appwait_waiter **p;

	pthread_mutex_lock(&w->lock);
	for (p = &w->head; *p; p = &(*p)->next)
		if (*p == wt) {
			*p = wt->next;
			break;
		}
	pthread_mutex_unlock(&w->lock);
	pthread_cond_destroy(&wt->cond);
}

int appwait_wait(struct appwait *w, struct appwait_waiter *wt, double deadline)
{
	int changed;

	pthread_mutex_lock(&w->lock);
	while (!wt->changed && !w->closed) {
		double left = deadline - workq_now(), at;
		struct timespec ts;

		if (!(left > 0))
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + left;
		ts.tv_sec = (time_t)at;
		ts.tv_nsec = (long)((at - floor(at)) * 1e9);
		pthread_cond_timedwait(&wt->cond, &w->lock, &ts);
	}
	changed = wt->changed && !w->closed;
	wt->changed = false;
	if (changed)
		wt->wakeups++;
	pthread_mutex_unlock(&w->lock);
	return changed;
}

void appwait_notify(struct appwait *w, const char *key)
{
	struct appwait_waiter *wt;

	pthread_mutex_lock(&w->lock);
	for (wt = w->head; wt; wt = wt->next)
		if (!strcmp(wt->key, key)) {
			wt->changed = true;
			pthread_cond_signal(&wt->cond);
		}
	pthread_mutex_unlock(&w->lock);
}

void appwait_close(struct appwait *w)
{
	struct appwait_waiter *wt;

	pthread_mutex_lock(&w->lock);
	w->closed = true;
	for (wt = w->head; wt; wt = wt->next)
		pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&w->lock);
}

unsigned appwait_count(struct appwait *w)
{
	struct appwait_waiter *wt;
	unsigned n = 0;

	pthread_mutex_lock(&w->lock);
	for (wt = w->head; wt; wt = wt->next)
		n++;
	pthread_mutex_unlock(&w->lock);
	return n;
}
