/* test-loop-index.c - the agent's Application index: when an app is due by
 * time, when a retry backoff queues it again, when a spec change makes a
 * failed sync run again.  No cluster: the decisions are pure functions of an
 * index entry, and agent_index_update() needs only the queue and the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gs-error.h"
#include "loop/loop-private.h"
#include "loop/workq.h"
#include "mf-json.h"
#include "mf-node.h"

#define NOW 1000.0

/* An entry that last reconciled 10 s ago, polls every 180 s. */
static struct app_entry entry(void)
{
	struct app_entry e;

	memset(&e, 0, sizeof(e));
	e.poll_s = 180;
	e.last_reconcile = NOW - 10;
	return e;
}

/* The compare loop: a Failed sync that will not be retried (no
 * spec.syncPolicy.retry) left attempts 1 and a backoff that has passed;
 * queueing it again at next_retry - now (negative: at once) compared the app
 * ~70 times a second, forever. */
static void test_agent_index__a_backoff_in_the_past_queues_nothing(void **state)
{
	struct app_entry e = entry();
	(void)state;

	e.attempts = 1;
	e.next_retry = NOW - 5;
	assert_true(agent_index_retry_delay(&e, true, -1, NOW) == AGENT_RETRY_NONE);
	assert_true(agent_index_retry_delay(&e, false, -1, NOW) == AGENT_RETRY_NONE);
	e.next_retry = NOW; /* due exactly now: the reconcile that ran was the retry */
	assert_true(agent_index_retry_delay(&e, true, -1, NOW) == AGENT_RETRY_NONE);
}

static void test_agent_index__a_backoff_to_come_queues_at_its_end(void **state)
{
	struct app_entry e = entry();
	(void)state;

	e.attempts = 2;
	e.next_retry = NOW + 10;
	assert_true(agent_index_retry_delay(&e, true, -1, NOW) == 10.0);
	assert_true(agent_index_retry_delay(&e, true, 5, NOW) == 10.0);
	/* nothing failed: no backoff, whatever next_retry says */
	e.attempts = 0;
	assert_true(agent_index_retry_delay(&e, true, -1, NOW) == AGENT_RETRY_NONE);
}

/* A backoff still to come, but no retry can happen: nothing to wait for. */
static void test_agent_index__no_requeue_when_the_app_will_not_retry(void **state)
{
	struct app_entry e = entry();
	(void)state;

	e.attempts = 1;
	e.next_retry = NOW + 5;
	/* a Failed sync without spec.syncPolicy.retry (Argo CD's rule) */
	assert_true(agent_index_retry_delay(&e, false, -1, NOW) == AGENT_RETRY_NONE);
	/* retry.limit 2: the first try and two retries failed */
	e.attempts = 3;
	assert_true(agent_index_retry_delay(&e, true, 2, NOW) == AGENT_RETRY_NONE);
	assert_true(agent_index_retry_delay(&e, true, 3, NOW) == 5.0);
}

static void test_agent_index__retry_limit_counts_retries_after_the_first_try(void **state)
{
	struct app_entry e = entry();
	(void)state;

	e.attempts = 1;
	assert_false(agent_index_retry_exhausted(&e, -1));
	assert_true(agent_index_retry_exhausted(&e, 0));
	assert_false(agent_index_retry_exhausted(&e, 1));
	e.attempts = 2;
	assert_true(agent_index_retry_exhausted(&e, 1));
	e.attempts = 0;
	assert_false(agent_index_retry_exhausted(&e, 0));
}

/* A poll only compares (may_retry keeps a sync on its backoff): a backoff
 * in the future does not hold it back.  Drift polling, every few seconds,
 * does back off. */
static void test_agent_index__the_poll_interval_is_not_held_back_by_a_backoff(void **state)
{
	struct app_entry e = entry();
	(void)state;

	assert_false(agent_index_due(&e, true, 5, NOW));
	e.last_reconcile = NOW - 180;
	assert_true(agent_index_due(&e, true, 5, NOW));
	e.attempts = 4;
	e.next_retry = NOW + 60;
	assert_true(agent_index_due(&e, true, 5, NOW));
	assert_true(agent_index_due(&e, false, 5, NOW));
}

static void test_agent_index__self_heal_interval_only_while_kinds_are_not_watched(void **state)
{
	struct app_entry e = entry();
	(void)state;

	e.automated = e.self_heal = true;
	assert_true(agent_index_due(&e, false, 5, NOW));
	assert_false(agent_index_due(&e, true, 5, NOW)); /* drift comes from events */
	e.self_heal = false;
	assert_false(agent_index_due(&e, false, 5, NOW));
	e.self_heal = true;
	e.attempts = 1;
	e.next_retry = NOW + 60;
	assert_false(agent_index_due(&e, false, 5, NOW));
	e.next_retry = NOW - 1;
	assert_true(agent_index_due(&e, false, 5, NOW));
}

/* allowEmpty set after a refused empty commit: the same revision is synced
 * again.  Unknown (0: after a restart, or an operation's) keeps the rule. */
static void test_agent_index__a_spec_change_after_a_failed_sync_is_seen(void **state)
{
	struct app_entry e = entry();
	(void)state;

	e.failed_gen = 3;
	assert_false(agent_index_spec_changed_since_failure(&e, 3));
	assert_true(agent_index_spec_changed_since_failure(&e, 4));
	e.failed_gen = 0;
	assert_false(agent_index_spec_changed_since_failure(&e, 4));
}

/* ---- agent_index_update: what an Application watch event queues ---- */

struct fixture {
	struct agent_config cfg;
	struct agent a;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->cfg.ns = "gitsync";
	f->cfg.poll_s = 180;
	f->a.cfg = &f->cfg;
	f->a.q = workq_new(0);
	f->a.leader = true;
	f->a.leader_until = -1;
	pthread_mutex_init(&f->a.lock, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < f->a.napps; i++)
		agent_index_entry_release(&f->a.apps[i]);
	free(f->a.apps);
	for (i = 0; i < f->a.nwant; i++)
		free(f->a.want_kinds[i]);
	free(f->a.want_kinds);
	pthread_mutex_destroy(&f->a.lock);
	workq_free(f->a.q);
	free(f);
	return 0;
}

/* A watch event of the app "gitsync/demo" at resourceVersion rv. */
static void update_at(struct agent *a, long long gen, bool added, const char *rv)
{
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *app = NULL;
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"gitsync.io/v1alpha1\",\"kind\":\"Application\","
		 "\"metadata\":{\"name\":\"demo\",\"namespace\":\"gitsync\",\"generation\":%lld,"
		 "\"resourceVersion\":\"%s\"},"
		 "\"spec\":{\"source\":{\"repoURL\":\"https://example.com/r.git\",\"path\":\"app\"},"
		 "\"syncPolicy\":{\"automated\":{\"prune\":true}}}}",
		 gen, rv);
	assert_int_equal(mf_json_parse(&app, json, strlen(json), "app.json", &err), 0);
	agent_index_update(a, app, added);
	mf_node_free(app);
}

static void update(struct agent *a, long long gen, bool added)
{
	update_at(a, gen, added, "1");
}

static void drain(struct workq *q)
{
	char *k;

	while (workq_due(q)) {
		k = workq_get(q);
		workq_done(q, k);
		free(k);
	}
}

/* A spec change is urgent like a push webhook: the fix may be this change
 * (allowEmpty after a refused empty commit).  It used to wait for the end of
 * a backoff of up to 3 minutes. */
static void test_agent_index__a_spec_change_is_queued_during_a_backoff(void **state)
{
	struct fixture *f = *state;
	struct app_entry *e;

	update(&f->a, 1, true);
	assert_int_equal(workq_due(f->a.q), 1); /* new */
	drain(f->a.q);
	e = agent_index_find(&f->a, "gitsync/demo");
	assert_non_null(e);
	e->attempts = 1;
	e->next_retry = workq_now() + 120;
	update(&f->a, 1, false); /* a status write: nothing changed */
	assert_int_equal(workq_due(f->a.q), 0);
	update(&f->a, 2, false);
	assert_int_equal(workq_due(f->a.q), 1);
	/* the backoff itself is kept: may_retry decides on it */
	e = agent_index_find(&f->a, "gitsync/demo");
	assert_int_equal(e->attempts, 1);
	drain(f->a.q);
}

/* What the agent wrote to an app (a kube client's write hook) */
static void written(struct agent *a, const char *path, long status, const char *body)
{
	struct gs_buf b = GS_BUF_INIT;

	gs_buf_puts(&b, body);
	agent_app_written(path, status, &b, a);
	gs_buf_release(&b);
}

static const char *read_rv(struct agent *a, char *buf)
{
	return agent_index_read_rv(agent_index_find(a, "gitsync/demo"), workq_now(), buf, 24);
}

/* Reconcile reads the app from the watch cache at the newest version the
 * agent knows of it, never older: a status write's answer raises it, a
 * late watch event of an older version does not lower it, a write whose
 * outcome is unknown sends reads to etcd for a while, and a version that
 * is not a number is never used. */
static void test_agent_index__reads_never_older_than_what_the_agent_saw_or_wrote(void **state)
{
	struct fixture *f = *state;
	char buf[24];

	update_at(&f->a, 1, true, "100");
	drain(f->a.q);
	assert_string_equal(read_rv(&f->a, buf), "100");
	written(&f->a, "/apis/gitsync.io/v1alpha1/namespaces/gitsync/applications/demo/status",
		200, "{\"metadata\":{\"name\":\"demo\",\"resourceVersion\":\"250\"}}");
	assert_string_equal(read_rv(&f->a, buf), "250");
	update_at(&f->a, 1, false, "180"); /* an event sent before that write */
	assert_string_equal(read_rv(&f->a, buf), "250");
	update_at(&f->a, 1, false, "300");
	assert_string_equal(read_rv(&f->a, buf), "300");
	/* another app's write, another resource's: not this app's */
	written(&f->a, "/apis/gitsync.io/v1alpha1/namespaces/gitsync/applications/other",
		200, "{\"metadata\":{\"resourceVersion\":\"900\"}}");
	written(&f->a, "/api/v1/namespaces/gitsync/configmaps/demo", 200,
		"{\"metadata\":{\"resourceVersion\":\"901\"}}");
	assert_string_equal(read_rv(&f->a, buf), "300");
	/* a timeout may have written it: etcd answers for a while */
	written(&f->a, "/apis/gitsync.io/v1alpha1/namespaces/gitsync/applications/demo", 0, "");
	assert_null(read_rv(&f->a, buf));
	agent_index_find(&f->a, "gitsync/demo")->rv_unsure_until = workq_now() - 1;
	assert_string_equal(read_rv(&f->a, buf), "300");
	assert_int_equal(agent_rv_parse("12345"), 12345);
	assert_int_equal(agent_rv_parse("12a45"), 0);
	assert_int_equal(agent_rv_parse(""), 0);
	assert_int_equal(agent_rv_parse("99999999999999999999"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_index__a_backoff_in_the_past_queues_nothing),
		cmocka_unit_test(test_agent_index__a_backoff_to_come_queues_at_its_end),
		cmocka_unit_test(test_agent_index__no_requeue_when_the_app_will_not_retry),
		cmocka_unit_test(test_agent_index__retry_limit_counts_retries_after_the_first_try),
		cmocka_unit_test(test_agent_index__the_poll_interval_is_not_held_back_by_a_backoff),
		cmocka_unit_test(test_agent_index__self_heal_interval_only_while_kinds_are_not_watched),
		cmocka_unit_test(test_agent_index__a_spec_change_after_a_failed_sync_is_seen),
		cmocka_unit_test_setup_teardown(
			test_agent_index__reads_never_older_than_what_the_agent_saw_or_wrote, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_agent_index__a_spec_change_is_queued_during_a_backoff,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
