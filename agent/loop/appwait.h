/* appwait.h - wait for an Application to change, woken by the informer's
 * watch events rather than by reading the API server again and again.
 *
 * A long poll (`GET .../operation?wait=30`) registers a waiter for its key
 * ("namespace/name") *before* it reads the app, so no change between the
 * read and the wait is lost; it then sleeps until appwait_notify() names
 * that key (the informer saw an ADDED, MODIFIED or DELETED event for it),
 * its deadline passes, or appwait_close() (shutdown).  Each waiter has its
 * own condition variable: a change of another app wakes nobody else.
 *
 * Thread-safe.  Deadlines are workq_now() (CLOCK_MONOTONIC) seconds.
 */
#ifndef GS_APPWAIT_H
#define GS_APPWAIT_H

#include <pthread.h>
#include <stdbool.h>

struct appwait;

/* One waiting request; caller-allocated (usually on its stack), valid from
 * appwait_register() to appwait_unregister(). */
struct appwait_waiter {
	char key[512];
	bool changed;         /* a notice came since the last appwait_wait() */
	unsigned wakeups;     /* how many times appwait_wait() returned a change */
	pthread_cond_t cond;
	struct appwait_waiter *next;
};

struct appwait *appwait_new(void);
/* No waiter may still be registered.  NULL is a no-op. */
void appwait_free(struct appwait *w);

/* Start listening for changes of key (copied, truncated to the buffer). */
void appwait_register(struct appwait *w, struct appwait_waiter *wt, const char *key);
void appwait_unregister(struct appwait *w, struct appwait_waiter *wt);

/* Sleep until key changed since the last call (or since registering),
 * deadline passes, or the set is closed.  1 = changed, 0 = deadline or
 * closed.  A change that came before the call returns at once. */
int appwait_wait(struct appwait *w, struct appwait_waiter *wt, double deadline);

/* key changed: wake its waiters (if any; cheap when none). */
void appwait_notify(struct appwait *w, const char *key);
/* Shutdown: wake every waiter; later waits return 0 at once. */
void appwait_close(struct appwait *w);
/* Waiters registered now (for tests and /metrics). */
unsigned appwait_count(struct appwait *w);

#endif
