/* test-sync-engine.c - the sync pipeline (compare, plan, converge: order of
 * kinds and waves, hooks, prune, the memo) against the in-memory API server
 * of fake-apiserver.c, and two engines running at once on two threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake-apiserver.h"
#include "gs-alloc.h"
#include "kube/kube-client.h"
#include "mf-yaml.h"
#include "sync/sync-private.h"
#include "sync/sync.h"

/* Jobs complete when stored, unless their name starts with "fail". */
static void complete_jobs(cJSON *obj, const char *plural, void *payload)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name"));
	bool failed = name && !strncmp(name, "fail", 4);
	cJSON *st, *conds, *c;

	(void)payload;
	if (strcmp(plural, "jobs"))
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
	st = cJSON_AddObjectToObject(obj, "status");
	conds = cJSON_AddArrayToObject(st, "conditions");
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", failed ? "Failed" : "Complete");
	cJSON_AddStringToObject(c, "status", "True");
	cJSON_AddStringToObject(c, "reason", failed ? "BackoffLimitExceeded" : "Done");
	cJSON_AddItemToArray(conds, c);
	cJSON_AddNumberToObject(st, failed ? "failed" : "succeeded", 1);
}

struct fixture {
	struct fake_apiserver *fs;
	struct kube_config *cfg;
	struct kube_client *kc;
	struct sync_engine *se;
	struct mf_docs docs;
	struct sync_report rep;
	struct sync_options so;
};

static int fixture_init(struct fixture *f)
{
	struct gs_error err = GS_ERROR_INIT;

	memset(f, 0, sizeof(*f));
	f->docs = (struct mf_docs)MF_DOCS_INIT;
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	if (!(f->fs = fake_apiserver_start()))
		return -1;
	fake_apiserver_on_store(f->fs, complete_jobs, NULL);
	if (fake_apiserver_client(f->fs, NULL, &f->cfg, &f->kc, &err) < 0) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		return -1;
	}
	f->se = sync_engine_new(f->kc);
	f->so.app = "app";
	f->so.ns = "t";
	f->so.timeout_s = 10;
	return 0;
}

static void fixture_release(struct fixture *f)
{
	sync_report_release(&f->rep);
	mf_docs_release(&f->docs);
	sync_engine_free(f->se);
	kube_client_free(f->kc);
	kube_config_free(f->cfg);
	fake_apiserver_stop(f->fs);
}

static int setup(void **state)
{
	struct fixture *f = gs_calloc(1, sizeof(*f));

	*state = f;
	return fixture_init(f);
}

static int teardown(void **state)
{
	fixture_release(*state);
	free(*state);
	return 0;
}

static void load(struct fixture *f, const char *yaml)
{
	struct gs_error err = GS_ERROR_INIT;

	mf_docs_release(&f->docs);
	f->docs = (struct mf_docs)MF_DOCS_INIT;
	assert_int_equal(mf_yaml_parse(&f->docs, yaml, strlen(yaml), "src.yaml", NULL, &err), 0);
}

static int sync_run_yaml(struct fixture *f, const char *yaml)
{
	struct gs_error err = GS_ERROR_INIT;
	int rc;

	load(f, yaml);
	sync_report_release(&f->rep);
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	rc = sync_run(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err);
	if (rc < 0)
		fprintf(stderr, "sync_run: %s\n", err.msg);
	return rc;
}

static const struct sync_resource *row(const struct sync_report *rep, const char *kind,
				       const char *name)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (!strcmp(rep->v[i].kind, kind) && !strcmp(rep->v[i].name, name))
			return &rep->v[i];
	fail_msg("no row for %s %s", kind, name);
	return NULL;
}

#define CM(name, extra) \
	"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: " name extra "}\ndata: {k: v}\n"
#define WAVE(w) ", annotations: {argocd.argoproj.io/sync-wave: '" w "'}"
/* first line of the log that applies (not dry-runs) the object at path */
static long applied_at(struct fake_apiserver *fs, const char *path)
{
	char *log = fake_apiserver_log(fs), *line = log, *nl;
	size_t n = strlen(path);
	long i = 0, found = -1;

	for (; (nl = strchr(line, '\n')); line = nl + 1, i++) {
		*nl = '\0';
		if (!strncmp(line, "PATCH ", 6) && !strncmp(line + 6, path, n) &&
		    (line[6 + n] == '\0' || line[6 + n] == ' ') && !strstr(line, " dry")) {
			found = i;
			break;
		}
	}
	free(log);
	return found;
}

/* Does the server hold an object at path? */
static bool stored(struct fake_apiserver *fs, const char *path)
{
	char *json = fake_apiserver_get(fs, path);
	bool found = json != NULL;

	free(json);
	return found;
}

/* ---- plan and converge: order ---- */

static void test_sync_engine__applies_by_phase_wave_then_kind_order(void **state)
{
	struct fixture *f = *state;
	long ns, sa, sec, cm0, cm1, cm2;

	/* written in the reverse of the order wanted */
	assert_int_equal(sync_run_yaml(f, CM("late", WAVE("2")) CM("mid", WAVE("1")) CM("a", "")
				       "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
				       "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n"
				       "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: t}\n"),
			 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	ns = applied_at(f->fs, "/api/v1/namespaces/t");
	sa = applied_at(f->fs, "/api/v1/namespaces/t/serviceaccounts/sa");
	sec = applied_at(f->fs, "/api/v1/namespaces/t/secrets/s");
	cm0 = applied_at(f->fs, "/api/v1/namespaces/t/configmaps/a");
	cm1 = applied_at(f->fs, "/api/v1/namespaces/t/configmaps/mid");
	cm2 = applied_at(f->fs, "/api/v1/namespaces/t/configmaps/late");
	assert_true(ns >= 0 && sa >= 0 && sec >= 0 && cm0 >= 0 && cm1 >= 0 && cm2 >= 0);
	/* Namespace first, kind order inside wave 0, then waves 1 and 2 */
	assert_true(ns < sa);
	assert_true(sa < sec);
	assert_true(sec < cm0);
	assert_true(cm0 < cm1);
	assert_true(cm1 < cm2);
	assert_int_equal(f->rep.status, SYNC_STATUS_SYNCED);
}

static void test_sync_engine__validates_everything_before_the_first_write(void **state)
{
	struct fixture *f = *state;

	/* a kind the server does not serve: nothing at all is written */
	assert_int_equal(sync_run_yaml(f, CM("a", "") "---\napiVersion: example.com/v1\n"
					   "kind: Widget\nmetadata: {name: w}\n"),
			 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_FAILED);
	assert_int_equal(row(&f->rep, "Widget", "w")->result, SYNC_RESULT_FAILED);
	assert_int_equal(applied_at(f->fs, "/api/v1/namespaces/t/configmaps/a"), -1);
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/a"));
}

/* ---- hooks ---- */

#define JOB(name, hook, extra) \
	"---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: " name ", annotations: " \
	"{argocd.argoproj.io/hook: " hook extra "}}\nspec: {template: {spec: {containers: " \
	"[{name: c, image: busybox}], restartPolicy: Never}}}\n"

static void test_sync_engine__hooks_run_around_the_sync_and_are_deleted_by_policy(void **state)
{
	struct fixture *f = *state;
	long pre, cm, post;

	assert_int_equal(sync_run_yaml(f, JOB("post", "PostSync", "") CM("a", "")
				       JOB("pre", "PreSync",
					   ", argocd.argoproj.io/hook-delete-policy: HookSucceeded")),
			 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	pre = applied_at(f->fs, "/apis/batch/v1/namespaces/t/jobs/pre");
	cm = applied_at(f->fs, "/api/v1/namespaces/t/configmaps/a");
	post = applied_at(f->fs, "/apis/batch/v1/namespaces/t/jobs/post");
	assert_true(pre >= 0 && pre < cm && cm < post);
	/* HookSucceeded: deleted once complete; the other one stays */
	assert_int_equal(fake_apiserver_log_count(f->fs, "DELETE /apis/batch/v1/namespaces/t/jobs/pre"), 1);
	assert_false(stored(f->fs, "/apis/batch/v1/namespaces/t/jobs/pre"));
	assert_non_null(strstr(row(&f->rep, "Job", "post")->message, "completed"));
}

static void test_sync_engine__failed_presync_hook_stops_and_runs_syncfail(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(sync_run_yaml(f, CM("a", "") JOB("fail-pre", "PreSync", "")
				       JOB("cleanup", "SyncFail", "")),
			 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_FAILED);
	assert_int_equal(row(&f->rep, "Job", "fail-pre")->result, SYNC_RESULT_FAILED);
	assert_int_equal(applied_at(f->fs, "/api/v1/namespaces/t/configmaps/a"), -1);
	assert_true(applied_at(f->fs, "/apis/batch/v1/namespaces/t/jobs/cleanup") >= 0);
}

/* ---- compare, memo, prune ---- */

#define LIVE_CM(name, annotations) \
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" name "\"," \
	"\"namespace\":\"t\",\"labels\":{\"gitsync.io/app\":\"app\"},\"annotations\":{" \
	"\"gitsync.io/tracking-id\":\"app:/ConfigMap:t/" name "\"" annotations "}}," \
	"\"data\":{\"k\":\"v\"}}"

static void test_sync_engine__memo_spares_the_dry_run_of_an_unchanged_object(void **state)
{
	struct fixture *f = *state;
	struct gs_error err = GS_ERROR_INIT;

	assert_int_equal(sync_run_yaml(f, CM("a", "") CM("b", "")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	fake_apiserver_log_clear(f->fs);
	sync_report_release(&f->rep);
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	assert_int_equal(sync_compare(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err), 0);
	assert_int_equal(f->rep.status, SYNC_STATUS_SYNCED);
	/* one LIST, no dry-run, no write */
	assert_int_equal(fake_apiserver_log_count(f->fs, "PATCH"), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "GET /api/v1/namespaces/t/configmaps"), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "GET /api/v1/configmaps"), 1);

	/* an edit by hand changes the resourceVersion: asked again, OutOfSync */
	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/b",
			   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			   "\"b\",\"labels\":{\"gitsync.io/app\":\"app\"}},\"data\":{\"k\":\"x\"}}");
	sync_report_release(&f->rep);
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	assert_int_equal(sync_compare(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err), 0);
	assert_int_equal(row(&f->rep, "ConfigMap", "a")->status, SYNC_STATUS_SYNCED);
	assert_int_equal(row(&f->rep, "ConfigMap", "b")->status, SYNC_STATUS_OUT_OF_SYNC);
	assert_int_equal(f->rep.status, SYNC_STATUS_OUT_OF_SYNC);
}


/* Issue 20: a sync right after the compare that dry-ran the creation of
 * the same absent objects does not dry-run them again; changed objects
 * are asked again. */
static void test_sync_engine__sync_after_compare_skips_the_absent_dry_run(void **state)
{
	struct fixture *f = *state;
	struct gs_error err = GS_ERROR_INIT;

	load(f, CM("a", "") CM("b", ""));
	assert_int_equal(sync_compare(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err), 0);
	assert_int_equal(row(&f->rep, "ConfigMap", "a")->status, SYNC_STATUS_MISSING);
	/* the compare dry-runs both creations, and that is all it asks of
	 * them: no GET before (the dry-run says they are absent) */
	assert_int_equal(fake_apiserver_log_count(f->fs, "PATCH"), 2);
	assert_int_equal(fake_apiserver_log_count(f->fs, "GET /api/v1/namespaces/t/configmaps/"), 0);
	fake_apiserver_log_clear(f->fs);
	assert_int_equal(sync_run_yaml(f, CM("a", "") CM("b", "")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	/* the sync only applies: two PATCHes, both real, no GET, and no LIST
	 * (the compare's empty one is taken once) */
	assert_int_equal(fake_apiserver_log_count(f->fs, "PATCH"), 2);
	assert_int_equal(fake_apiserver_log_count(f->fs, "GET /api/v1/namespaces/t/configmaps/"), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "GET /api/v1/configmaps"), 0);
	assert_true(applied_at(f->fs, "/api/v1/namespaces/t/configmaps/a") >= 0);
	assert_true(applied_at(f->fs, "/api/v1/namespaces/t/configmaps/b") >= 0);
	assert_true(stored(f->fs, "/api/v1/namespaces/t/configmaps/a"));

	/* another desired object (c, new) is dry-run before it is applied;
	 * the compare lists again (a and b now exist: prune rows) */
	sync_report_release(&f->rep);
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	load(f, CM("c", ""));
	fake_apiserver_log_clear(f->fs);
	assert_int_equal(sync_compare(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "GET /api/v1/configmaps"), 1);
	assert_int_equal(row(&f->rep, "ConfigMap", "a")->status, SYNC_STATUS_PRUNE);
	fake_apiserver_log_clear(f->fs);
	assert_int_equal(sync_run_yaml(f, CM("c", ", labels: {x: y}")), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "PATCH"), 2);
	assert_true(stored(f->fs, "/api/v1/namespaces/t/configmaps/c"));
}

/* The compare's empty LIST taken by the sync after it must not hide objects
 * another sync wrote meanwhile (the API's engine sharing the memo: an
 * `app sync --force` recreating an object), nor what a whole-app prune
 * (app delete, SYNC_FULL_SCAN) must delete.  t-cli-parity saw the second:
 * `app delete` left a Service behind. */
static void test_sync_engine__empty_list_memo_stale_after_other_writes(void **state)
{
	struct fixture *f = *state;
	struct gs_error err = GS_ERROR_INIT;
	struct sync_engine *other = sync_engine_new(f->kc);

	sync_engine_share_memo(other, f->se->memo);
	load(f, CM("a", ""));
	assert_int_equal(sync_compare(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err), 0);
	assert_int_equal(row(&f->rep, "ConfigMap", "a")->status, SYNC_STATUS_MISSING);
	/* a sync by the other engine, under way during that LIST, created a
	 * and ended after it (as a --force recreating a at that moment);
	 * then this engine syncs b with prune: it lists again, and prunes a */
	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/a", LIVE_CM("a", ""));
	sync_memo_wrote(other, "app");
	f->so.flags = SYNC_PRUNE;
	fake_apiserver_log_clear(f->fs);
	assert_int_equal(sync_run_yaml(f, CM("b", "")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_int_equal(fake_apiserver_log_count(f->fs, "GET /api/v1/configmaps"), 1);
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/a"));

	/* an empty LIST remembered, then a labelled object made elsewhere (no
	 * sync of ours wrote it): a whole-app prune still lists, and deletes it */
	sync_report_release(&f->rep);
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	f->so.flags = 0;
	f->so.app = "app2";
	load(f, CM("c", ""));
	assert_int_equal(sync_compare(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err), 0);
	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/d",
			   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
			   "\"name\":\"d\",\"namespace\":\"t\",\"labels\":{\"gitsync.io/app\":"
			   "\"app2\"},\"annotations\":{\"gitsync.io/tracking-id\":"
			   "\"app2:/ConfigMap:t/d\"}},\"data\":{\"k\":\"v\"}}");
	sync_report_release(&f->rep);
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	f->so.flags = SYNC_PRUNE | SYNC_FULL_SCAN | SYNC_ALLOW_EMPTY;
	assert_int_equal(sync_run(f->se, &f->rep, NULL, 0, &f->so, &err), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/d"));
	f->so.flags = 0;
	f->so.app = "app";
	sync_engine_free(other);
}

/* The dry-run sent before any GET must not take an object that exists
 * (unlabelled: no LIST by label finds it) for a missing one. */
static void test_sync_engine__probe_reads_an_unlabelled_object_that_exists(void **state)
{
	struct fixture *f = *state;
	struct gs_error err = GS_ERROR_INIT;

	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/made-by-hand",
			   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			   "\"made-by-hand\",\"namespace\":\"t\"},\"data\":{\"k\":\"old\"}}");
	fake_apiserver_log_clear(f->fs);
	load(f, CM("made-by-hand", "") CM("new", ""));
	assert_int_equal(sync_compare(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err), 0);
	assert_int_equal(row(&f->rep, "ConfigMap", "made-by-hand")->status,
			 SYNC_STATUS_OUT_OF_SYNC);
	assert_int_equal(row(&f->rep, "ConfigMap", "new")->status, SYNC_STATUS_MISSING);
	/* the existing one is read after its probe, the new one never */
	assert_int_equal(
		fake_apiserver_log_count(f->fs, "GET /api/v1/namespaces/t/configmaps/made-by-hand"), 1);
	assert_int_equal(fake_apiserver_log_count(f->fs, "GET /api/v1/namespaces/t/configmaps/new"),
			 0);
}

static void test_sync_engine__prunes_only_with_prune_and_never_prune_false(void **state)
{
	struct fixture *f = *state;
	const struct sync_resource *r;

	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/gone", LIVE_CM("gone", ""));
	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/keep",
			   LIVE_CM("keep", ",\"argocd.argoproj.io/sync-options\":\"Prune=false\""));
	/* not ours: same label, no tracking id naming it */
	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/other",
			   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			   "\"other\",\"labels\":{\"gitsync.io/app\":\"app\"}}}");

	assert_int_equal(sync_run_yaml(f, CM("a", "")), 0);
	r = row(&f->rep, "ConfigMap", "gone");
	assert_int_equal(r->status, SYNC_STATUS_PRUNE);
	assert_int_equal(r->result, SYNC_RESULT_PRUNE_SKIPPED);
	assert_true(stored(f->fs, "/api/v1/namespaces/t/configmaps/gone"));

	f->so.flags |= SYNC_PRUNE;
	assert_int_equal(sync_run_yaml(f, CM("a", "")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_int_equal(row(&f->rep, "ConfigMap", "gone")->result, SYNC_RESULT_PRUNED);
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/gone"));
	r = row(&f->rep, "ConfigMap", "keep");
	assert_int_equal(r->result, SYNC_RESULT_PRUNE_SKIPPED);
	assert_true(stored(f->fs, "/api/v1/namespaces/t/configmaps/keep"));
	assert_true(stored(f->fs, "/api/v1/namespaces/t/configmaps/other"));
	f->so.flags &= ~(unsigned)SYNC_PRUNE;
}

/* ---- what must never be deleted by surprise ---- */

static void test_sync_engine__empty_source_never_prunes_without_allow_empty(void **state)
{
	struct fixture *f = *state;
	const struct sync_resource *r;

	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/a", LIVE_CM("a", ""));
	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/b", LIVE_CM("b", ""));
	f->so.flags = SYNC_PRUNE;
	f->so.managed_kinds = (const struct sync_gvk[]){ { "", "v1", "ConfigMap" } };
	f->so.n_managed_kinds = 1;
	assert_int_equal(sync_run_yaml(f, ""), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_FAILED);
	assert_non_null(strstr(f->rep.message, "allowEmpty"));
	r = row(&f->rep, "ConfigMap", "a");
	assert_int_equal(r->result, SYNC_RESULT_PRUNE_SKIPPED);
	assert_int_equal(fake_apiserver_log_count(f->fs, "DELETE"), 0);
	assert_true(stored(f->fs, "/api/v1/namespaces/t/configmaps/a"));

	/* asked for: pruned */
	f->so.flags = SYNC_PRUNE | SYNC_ALLOW_EMPTY;
	assert_int_equal(sync_run_yaml(f, ""), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/a"));
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/b"));
	f->so.flags = 0;
	f->so.n_managed_kinds = 0;
}

static void test_sync_engine__prune_protection_is_a_field_not_a_message(void **state)
{
	struct fixture *f = *state;

	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/keep",
			   LIVE_CM("keep", ",\"gitsync.io/sync-options\":\"Prune=false\""));
	assert_int_equal(sync_run_yaml(f, CM("a", "")), 0);
	assert_true(row(&f->rep, "ConfigMap", "keep")->prune_disabled);
	assert_false(row(&f->rep, "ConfigMap", "a")->prune_disabled);
}

#define LIVE_NS(name) \
	"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" name "\"," \
	"\"labels\":{\"gitsync.io/app\":\"app\",\"by\":\"hand\"},\"annotations\":{" \
	"\"gitsync.io/tracking-id\":\"app:/Namespace:/" name "\"}}}"

static void test_sync_engine__replace_is_a_put_and_only_force_recreates(void **state)
{
	struct fixture *f = *state;
	char *live;

	/* Replace=true: PUT of the whole object (the hand label goes), no DELETE */
	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/r",
			   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
			   "\"name\":\"r\",\"labels\":{\"by\":\"hand\"}},\"data\":{\"k\":\"old\"}}");
	assert_int_equal(sync_run_yaml(f, CM("r", ", annotations: {argocd.argoproj.io/sync-options: "
					      "Replace=true}")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_int_equal(fake_apiserver_log_count(f->fs, "DELETE"), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "PUT /api/v1/namespaces/t/configmaps/r"), 1);
	live = fake_apiserver_get(f->fs, "/api/v1/namespaces/t/configmaps/r");
	assert_null(strstr(live, "hand"));
	assert_non_null(strstr(live, "uid-1\""));
	free(live);

	/* Force=true,Replace=true: deleted and created again */
	fake_apiserver_log_clear(f->fs);
	assert_int_equal(sync_run_yaml(f, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: r,"
				       " annotations: {argocd.argoproj.io/sync-options: "
				       "'Force=true,Replace=true'}}\ndata: {k: new}\n"), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_int_equal(fake_apiserver_log_count(f->fs, "DELETE /api/v1/namespaces/t/configmaps/r"), 1);

	/* ... but never a Namespace (nor a CRD): replaced in place */
	fake_apiserver_put(f->fs, "/api/v1/namespaces/keep", LIVE_NS("keep"));
	fake_apiserver_log_clear(f->fs);
	assert_int_equal(sync_run_yaml(f, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: keep,"
				       " annotations: {argocd.argoproj.io/sync-options: "
				       "'Force=true,Replace=true'}}\n"), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_int_equal(fake_apiserver_log_count(f->fs, "DELETE"), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "PUT /api/v1/namespaces/keep"), 1);
}

/* ---- RespectIgnoreDifferences ---- */

/* A Deployment whose replicas someone else (an HPA) set to 5, and what
 * kube-controller-manager owns of it. */
#define LIVE_DEPLOY(image) \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"," \
	"\"namespace\":\"t\",\"labels\":{\"gitsync.io/app\":\"app\"},\"annotations\":{" \
	"\"gitsync.io/tracking-id\":\"app:apps/Deployment:t/web\"},\"managedFields\":[" \
	"{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":" \
	"\"apps/v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:replicas\":{}}}}]}," \
	"\"spec\":{\"replicas\":5,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\"," \
	"\"image\":\"" image "\"}]}}}}"
#define SRC_DEPLOY \
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n" \
	"spec:\n  replicas: 2\n  template:\n    spec:\n      containers: [{name: c, image: v2}]\n"

static void sync_deploy_with(struct fixture *f, const struct sync_ignore *ig,
			     const char *const *opts, size_t nopts, const char *want_replicas)
{
	char *live, *want = gs_asprintf("\"replicas\":%s", want_replicas);

	fake_apiserver_put(f->fs, "/apis/apps/v1/namespaces/t/deployments/web", LIVE_DEPLOY("v1"));
	f->so.ignore = ig;
	f->so.n_ignore = 1;
	f->so.sync_options = opts;
	f->so.n_sync_options = nopts;
	assert_int_equal(sync_run_yaml(f, SRC_DEPLOY), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	live = fake_apiserver_get(f->fs, "/apis/apps/v1/namespaces/t/deployments/web");
	assert_non_null(strstr(live, "\"image\":\"v2\"")); /* the sync did apply */
	if (!strstr(live, want))
		fail_msg("want %s in %s", want, live);
	free(live);
	free(want);
}

static void test_sync_engine__respect_ignore_differences_keeps_ignored_live_fields(void **state)
{
	struct fixture *f = *state;
	static const char *const ptrs[] = { "/spec/replicas" };
	static const char *const mgrs[] = { "kube-controller-manager" };
	static const char *const respect[] = { "RespectIgnoreDifferences=true" };
	const struct sync_ignore by_ptr = { "apps", "Deployment", NULL, NULL, ptrs, 1, NULL, 0 };
	const struct sync_ignore by_mgr = { "apps", "Deployment", NULL, NULL, NULL, 0, mgrs, 1 };

	/* without the option, the ignored field is only ignored in the diff:
	 * the apply resets it to the source's value */
	sync_deploy_with(f, &by_ptr, NULL, 0, "2");
	/* with it, the live value survives, by JSON pointer ... */
	sync_deploy_with(f, &by_ptr, respect, 1, "5");
	/* ... and by field manager */
	sync_deploy_with(f, &by_mgr, respect, 1, "5");
	sync_deploy_with(f, &by_mgr, NULL, 0, "2");
}

/* ---- two engines at once ---- */

struct worker {
	struct fixture f;
	char *yaml;
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < 6; i++) {
		struct fake_apiserver *fs = w->f.fs;

		fake_apiserver_log_clear(fs);
		/* ApplyOutOfSyncOnly=false: every run plans and applies all */
		w->f.so.flags = SYNC_APPLY_ALL;
		if (sync_run_yaml(&w->f, w->yaml) < 0 || w->f.rep.phase != SYNC_PHASE_SUCCEEDED ||
		    !(applied_at(fs, "/api/v1/namespaces/t/serviceaccounts/sa") <
		      applied_at(fs, "/api/v1/namespaces/t/configmaps/w0-0")) ||
		    !(applied_at(fs, "/api/v1/namespaces/t/configmaps/w0-0") <
		      applied_at(fs, "/api/v1/namespaces/t/configmaps/w3-0")))
			w->failures++;
	}
	return NULL;
}

static void test_sync_engine__two_engines_run_at_once_on_two_threads(void **state)
{
	struct worker w[2];
	pthread_t th[2];
	struct gs_buf y = GS_BUF_INIT;
	int i, j, wave;

	(void)state;
	/* many tasks in many groups: a lot of sorting and planning */
	gs_buf_puts(&y, "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n");
	for (wave = 0; wave < 4; wave++)
		for (j = 0; j < 30; j++)
			gs_buf_printf(&y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: "
					  "w%d-%d, annotations: {gitsync.io/sync-wave: '%d'}}\n"
					  "data: {k: v}\n",
				      wave, j, wave);
	for (i = 0; i < 2; i++) {
		assert_int_equal(fixture_init(&w[i].f), 0);
		w[i].yaml = y.ptr;
		w[i].failures = 0;
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		assert_int_equal(w[i].failures, 0);
		fixture_release(&w[i].f);
	}
	gs_buf_release(&y);
}

/* The plan alone, many times on two threads: its sort once shared a
 * file-scope pointer to the run being sorted, so one thread compared its
 * tasks with the other's (or with NULL). */
struct planner {
	struct run run;
	struct sync_report rep;
	struct sync_options so;
	int misordered;
};

static void planner_init(struct planner *p, size_t n)
{
	static const char *const kinds[] = { "ConfigMap", "Secret", "ServiceAccount", "Namespace" };
	size_t i;

	memset(p, 0, sizeof(*p));
	p->so.app = "app";
	p->run.opts = &p->so;
	p->run.rep = &p->rep;
	p->run.t = gs_calloc(n, sizeof(*p->run.t));
	p->rep.v = gs_calloc(n, sizeof(*p->rep.v));
	p->run.nt = p->rep.n = n;
	for (i = 0; i < n; i++) {
		struct sync_resource *r = &p->rep.v[i];
		struct target *t = &p->run.t[i];

		r->kind = gs_strdup(kinds[i % 4]);
		r->group = gs_strdup("");
		r->ns = gs_strdup("t");
		r->name = gs_asprintf("o%05zu", n - i); /* reverse order */
		r->status = SYNC_STATUS_OUT_OF_SYNC;
		t->ri = i;
		t->wave = t->wave_annotated = (int)(i % 3);
		t->kind_order = sync_kind_order("", r->kind);
	}
}

static void *plan_many(void *arg)
{
	struct planner *p = arg;
	size_t *order = gs_calloc(p->run.nt, sizeof(*order));
	int iter;

	for (iter = 0; iter < 300; iter++) {
		size_t k, n = sync_plan(&p->run, order);

		if (n != p->run.nt)
			p->misordered++;
		for (k = 1; k < n; k++) {
			const struct target *a = &p->run.t[order[k - 1]], *b = &p->run.t[order[k]];

			if (a->phase > b->phase ||
			    (a->phase == b->phase && a->wave > b->wave) ||
			    (a->phase == b->phase && a->wave == b->wave &&
			     a->kind_order > b->kind_order)) {
				p->misordered++;
				break;
			}
		}
	}
	free(order);
	return NULL;
}

static void test_sync_engine__two_threads_plan_at_once(void **state)
{
	struct planner p[2];
	pthread_t th[2];
	int i;

	(void)state;
	planner_init(&p[0], 3000);
	planner_init(&p[1], 200);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, plan_many, &p[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		assert_int_equal(p[i].misordered, 0);
		free(p[i].run.t);
		sync_report_release(&p[i].rep);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync_engine__applies_by_phase_wave_then_kind_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__validates_everything_before_the_first_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__hooks_run_around_the_sync_and_are_deleted_by_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__failed_presync_hook_stops_and_runs_syncfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__memo_spares_the_dry_run_of_an_unchanged_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__sync_after_compare_skips_the_absent_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__empty_list_memo_stale_after_other_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__probe_reads_an_unlabelled_object_that_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__prunes_only_with_prune_and_never_prune_false, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__empty_source_never_prunes_without_allow_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__prune_protection_is_a_field_not_a_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__replace_is_a_put_and_only_force_recreates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_engine__respect_ignore_differences_keeps_ignored_live_fields, setup, teardown),
		cmocka_unit_test(test_sync_engine__two_engines_run_at_once_on_two_threads),
		cmocka_unit_test(test_sync_engine__two_threads_plan_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
