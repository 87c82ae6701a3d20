/* workq.h - the reconcile work queue: bounded, deduplicated per key, with
 * delays (client-go's rate-limited work queue, reduced to what we use).
 *
 * A key (an Application "namespace/name") is in at most one of three states:
 * queued (with a due time), being processed by one worker, or absent.  Adding
 * a queued key keeps the earlier due time; adding a key that is being
 * processed marks it to be queued again when the worker calls workq_done().
 * So one app is never reconciled by two workers at once, a burst of events
 * for one app costs one reconcile, and a slow app holds one worker only.
 *
 * Thread-safe.  Times are CLOCK_MONOTONIC seconds.
 */
#ifndef GS_WORKQ_H
#define GS_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

struct workq;

/* max: how many distinct keys may be held (0 = 100000). */
struct workq *workq_new(size_t max);
/* Frees everything; no thread may be blocked in workq_get(). */
void workq_free(struct workq *q);

/* Queue key (copied) to be handed out after delay_s (0 = now).  A negative
 * delay (WORKQ_URGENT) puts it ahead of everything merely due: a webhook or
 * an operation someone waits for must not queue behind a backlog of
 * periodic polls.  False when the queue is full or shut down. */
#define WORKQ_URGENT (-1.0)
bool workq_add(struct workq *q, const char *key, double delay_s);

/* Block until a key is due; returns it (owned by the caller), or NULL once
 * workq_shutdown() was called. */
char *workq_get(struct workq *q);
/* The same; *waited_s (may be NULL) gets how long the key was due before a
 * worker took it (queue wait: the reconcile phase before any work). */
char *workq_get_waited(struct workq *q, double *waited_s);

/* The worker finished key (as returned by workq_get). */
void workq_done(struct workq *q, const char *key);

/* Wake every waiter; later workq_get() calls return NULL at once. */
void workq_shutdown(struct workq *q);

/* Keys due now and not taken by a worker (are workers short?). */
size_t workq_due(struct workq *q);

/* Keys queued or in flight (for metrics). */
size_t workq_len(struct workq *q);

/* Monotonic clock in seconds. */
double workq_now(void);

#endif
