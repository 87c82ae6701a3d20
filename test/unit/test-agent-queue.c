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

#include "loop/agent.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workq__duplicates_collapse_into_one_item),
		cmocka_unit_test(test_workq__due_items_come_before_delayed_ones),
		cmocka_unit_test(test_workq__adding_an_item_in_flight_requeues_it_after_done),
		cmocka_unit_test(test_workq__urgent_items_overtake_a_due_backlog),
		cmocka_unit_test(test_workq__bounded_and_shutdown_wakes_waiters),
		cmocka_unit_test(test_workq__blocked_getter_returns_null_on_shutdown),
		cmocka_unit_test(test_workq__due_count_and_queue_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
