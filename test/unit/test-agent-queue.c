/* test-agent-queue.c - the reconcile work queue and the agent's duration parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "loop/agent.h"
#include "loop/appwait.h"
#include "loop/workq.h"

static void test_workq__duplicates_collapse_into_one_item(void **state)
{
	struct workq *q = workq_new(0);
	char *k;
	(void)state;

	assert_true(workq_add(q, "ns/a", 0));
	assert_true(workq_add(q, "ns/a", 0));
	assert_true(workq_add(q, "ns/b", 0));
	assert_int_equal(workq_len(q), 2);
	k = workq_get(q);
	assert_string_equal(k, "ns/a");
	workq_done(q, k);
	free(k);
	k = workq_get(q);
	assert_string_equal(k, "ns/b");
	workq_done(q, k);
	free(k);
	assert_int_equal(workq_len(q), 0);
	workq_free(q);
}

static void test_workq__due_items_come_before_delayed_ones(void **state)
{
	struct workq *q = workq_new(0);
	char *k;
	(void)state;

	workq_add(q, "later", 0.2);
	workq_add(q, "now", 0);
	k = workq_get(q);
	assert_string_equal(k, "now");
	workq_done(q, k);
	free(k);
	/* the delayed one is handed out once due (this blocks until then) */
	k = workq_get(q);
	assert_string_equal(k, "later");
	workq_done(q, k);
	free(k);
	/* an earlier add wins over a later one */
	workq_add(q, "x", 100);
	workq_add(q, "x", 0);
	k = workq_get(q);
	assert_string_equal(k, "x");
	workq_done(q, k);
	free(k);
	workq_free(q);
}

static void test_workq__adding_an_item_in_flight_requeues_it_after_done(void **state)
{
	struct workq *q = workq_new(0);
	char *k, *k2;
	(void)state;

	workq_add(q, "ns/a", 0);
	k = workq_get(q);
	/* while a worker holds it, another add must not hand it to a second
	 * worker: it waits for done */
	workq_add(q, "ns/a", 0);
	workq_add(q, "ns/b", 0);
	k2 = workq_get(q);
	assert_string_equal(k2, "ns/b");
	workq_done(q, k2);
	free(k2);
	assert_int_equal(workq_len(q), 1);
	workq_done(q, k);
	free(k);
	assert_int_equal(workq_len(q), 1); /* queued again */
	k = workq_get(q);
	assert_string_equal(k, "ns/a");
	workq_done(q, k);
	free(k);
	assert_int_equal(workq_len(q), 0);
	workq_free(q);
}

static void test_workq__urgent_items_overtake_a_due_backlog(void **state)
{
	struct workq *q = workq_new(0);
	char *k;
	(void)state;

	workq_add(q, "poll-1", 0);
	workq_add(q, "poll-2", 0);
	workq_add(q, "webhook", WORKQ_URGENT);
	workq_add(q, "poll-1", WORKQ_URGENT); /* a queued item can be promoted */
	k = workq_get(q);
	assert_string_equal(k, "poll-1");
	workq_done(q, k);
	free(k);
	k = workq_get(q);
	assert_string_equal(k, "webhook");
	workq_done(q, k);
	free(k);
	k = workq_get(q);
	assert_string_equal(k, "poll-2");
	workq_done(q, k);
	free(k);
	workq_free(q);
}

static void test_workq__bounded_and_shutdown_wakes_waiters(void **state)
{
	struct workq *q = workq_new(2);
	(void)state;

	assert_true(workq_add(q, "a", 0));
	assert_true(workq_add(q, "b", 0));
	assert_false(workq_add(q, "c", 0)); /* full */
	assert_true(workq_add(q, "a", 0));  /* a duplicate still fits */
	workq_shutdown(q);
	assert_null(workq_get(q));
	assert_false(workq_add(q, "d", 0));
	workq_free(q);
}

static void *getter(void *arg)
{
	return workq_get(arg);
}

static void test_workq__blocked_getter_returns_null_on_shutdown(void **state)
{
	struct workq *q = workq_new(0);
	pthread_t t;
	void *ret = (void *)1;
	(void)state;

	pthread_create(&t, NULL, getter, q);
	workq_shutdown(q);
	pthread_join(t, &ret);
	assert_null(ret);
	workq_free(q);
}

/* Issue 20: what the worker pool reads (due keys not taken) and the queue
 * wait a worker reports (never negative, zero for a key taken at once). */
static void test_workq__due_count_and_queue_wait(void **state)
{
	struct workq *q = workq_new(0);
	double waited = -1;
	char *k;

	(void)state;
	assert_true(workq_add(q, "ns/a", 0));
	assert_true(workq_add(q, "ns/b", WORKQ_URGENT));
	assert_true(workq_add(q, "ns/later", 3600));
	assert_int_equal(workq_due(q), 2);
	k = workq_get_waited(q, &waited);
	assert_string_equal(k, "ns/b");
	assert_true(waited >= 0);
	assert_int_equal(workq_due(q), 1); /* in flight is not due */
	workq_done(q, k);
	free(k);
	k = workq_get(q);
	assert_string_equal(k, "ns/a");
	assert_int_equal(workq_due(q), 0); /* the delayed one is not due */
	assert_int_equal(workq_len(q), 2);
	workq_done(q, k);
	free(k);
	workq_free(q);
}

struct notifier {
	struct appwait *w;
	unsigned others;
};

static void *notify_others_then_a(void *arg)
{
	struct notifier *n = arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	unsigned i;

	nanosleep(&ts, NULL); /* let the waiter sleep first */
	for (i = 0; i < n->others; i++)
		appwait_notify(n->w, "ns/b");
	appwait_notify(n->w, "ns/a");
	return NULL;
}

/* A long poll sleeps until its own app changes: other apps' events do not
 * wake it, and it needs no timer to notice the change. */
static void test_appwait__a_waiter_wakes_once_for_its_own_key(void **state)
{
	struct appwait *w = appwait_new();
	struct appwait_waiter wt;
	struct notifier n = { w, 100 };
	pthread_t t;
	(void)state;

	appwait_register(w, &wt, "ns/a");
	assert_int_equal(appwait_count(w), 1);
	assert_int_equal(pthread_create(&t, NULL, notify_others_then_a, &n), 0);
	/* a deadline far away: only the notice can end the wait */
	assert_int_equal(appwait_wait(w, &wt, workq_now() + 600), 1);
	assert_int_equal(wt.wakeups, 1);
	pthread_join(t, NULL);
	appwait_unregister(w, &wt);
	assert_int_equal(appwait_count(w), 0);
	appwait_free(w);
}

static void test_appwait__a_change_before_the_wait_is_not_lost(void **state)
{
	struct appwait *w = appwait_new();
	struct appwait_waiter wt;
	(void)state;

	appwait_register(w, &wt, "ns/a");
	appwait_notify(w, "ns/a"); /* between the read and the wait */
	assert_int_equal(appwait_wait(w, &wt, workq_now() + 600), 1);
	/* consumed: the next wait ends at its deadline */
	assert_int_equal(appwait_wait(w, &wt, workq_now() + 0.05), 0);
	assert_int_equal(wt.wakeups, 1);
	appwait_unregister(w, &wt);
	appwait_free(w);
}

static void *close_soon(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	appwait_close(arg);
	return NULL;
}

static void test_appwait__shutdown_ends_every_wait(void **state)
{
	struct appwait *w = appwait_new();
	struct appwait_waiter wt;
	pthread_t t;
	(void)state;

	appwait_register(w, &wt, "ns/a");
	assert_int_equal(pthread_create(&t, NULL, close_soon, w), 0);
	assert_int_equal(appwait_wait(w, &wt, workq_now() + 600), 0);
	pthread_join(t, NULL);
	assert_int_equal(appwait_wait(w, &wt, workq_now() + 600), 0); /* at once */
	appwait_unregister(w, &wt);
	appwait_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workq__duplicates_collapse_into_one_item),
		cmocka_unit_test(test_appwait__a_waiter_wakes_once_for_its_own_key),
		cmocka_unit_test(test_appwait__a_change_before_the_wait_is_not_lost),
		cmocka_unit_test(test_appwait__shutdown_ends_every_wait),
		cmocka_unit_test(test_workq__due_items_come_before_delayed_ones),
		cmocka_unit_test(test_workq__adding_an_item_in_flight_requeues_it_after_done),
		cmocka_unit_test(test_workq__urgent_items_overtake_a_due_backlog),
		cmocka_unit_test(test_workq__bounded_and_shutdown_wakes_waiters),
		cmocka_unit_test(test_workq__blocked_getter_returns_null_on_shutdown),
		cmocka_unit_test(test_workq__due_count_and_queue_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
