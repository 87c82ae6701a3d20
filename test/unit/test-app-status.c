/* test-app-status.c - the Application object and its compact status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-json.h"
#include "mf-object.h"

static void fill_report(struct sync_report *rep, size_t n, enum sync_status st,
			enum sync_health h)
{
	size_t i;

	rep->v = gs_calloc(n, sizeof(*rep->v));
	rep->n = rep->alloc = n;
	for (i = 0; i < n; i++) {
		struct sync_resource *r = &rep->v[i];

		r->group = gs_strdup(i % 2 ? "apps" : "");
		r->version = gs_strdup("v1");
		r->kind = gs_strdup(i % 2 ? "Deployment" : "ConfigMap");
		r->ns = gs_strdup("a-fairly-long-namespace-name");
		r->name = gs_asprintf("object-with-a-realistic-name-%05zu", i);
		r->status = st;
		r->health = i % 2 ? h : SYNC_HEALTH_NONE;
	}
	rep->status = st;
	rep->health = h;
}

static size_t json_size(const struct mf_node *n)
{
	struct gs_buf b = GS_BUF_INIT;
	size_t len;

	assert_int_equal(mf_json_emit(&b, n, 0), 0);
	len = b.len;
	gs_buf_release(&b);
	return len;
}

static void test_app_status__5000_objects_stay_small(void **state)
{
	struct sync_report rep = SYNC_REPORT_INIT;
	struct mf_node *status = mf_node_new(MF_MAP);
	long long v = 0;
	size_t size;

	(void)state;
	/* the worst case: a first comparison, every object Missing */
	fill_report(&rep, 5000, SYNC_STATUS_MISSING, SYNC_HEALTH_MISSING);
	app_status_from_report(status, &rep, "90ad8c7aed92c6430bcb36ab23228a2d57c2715d");
	app_operation_state(status, "Succeeded", "successfully synced (all tasks run)",
			    "2026-01-01T00:00:00Z", "2026-01-01T00:00:39Z",
			    "90ad8c7aed92c6430bcb36ab23228a2d57c2715d", &rep);
	size = json_size(status);
	/* etcd's limit is 1.5 MiB; Argo CD breaks near 3,000 resources */
	assert_true(size < 256 * 1024);
	assert_int_equal(mf_node_len(mf_node_get(status, "resources")), APP_STATUS_RESOURCES_MAX);
	assert_int_equal(mf_node_int(mf_node_dig(status, "summary", "resources", NULL), &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(mf_node_int(mf_node_dig(status, "summary", "missing", NULL), &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(mf_node_int(mf_node_dig(status, "summary", "resourcesOmitted", NULL), &v), 0);
	assert_int_equal(v, 5000 - APP_STATUS_RESOURCES_MAX);
	assert_int_equal(mf_node_len(mf_node_get(status, "managedKinds")), 2);
	assert_string_equal(mf_node_dig_str(status, "sync", "status", NULL), "OutOfSync");
	sync_report_release(&rep);

	/* all Synced and Healthy: no per-resource entries at all */
	fill_report(&rep, 5000, SYNC_STATUS_SYNCED, SYNC_HEALTH_HEALTHY);
	app_status_from_report(status, &rep, "90ad8c7aed92c6430bcb36ab23228a2d57c2715d");
	assert_int_equal(mf_node_len(mf_node_get(status, "resources")), 0);
	assert_null(mf_node_dig(status, "summary", "resourcesOmitted", NULL));
	assert_string_equal(mf_node_dig_str(status, "sync", "status", NULL), "Synced");
	assert_true(json_size(status) < 256 * 1024);
	sync_report_release(&rep);
	mf_node_free(status);
}

static void test_app_status__history_keeps_ten_with_increasing_ids(void **state)
{
	struct app_params p = { .repo_url = "file:///srv/git/pg.git", .revision = "poc-argocd",
				.path = "manifests", .dest_namespace = "default" };
	struct mf_node *app = app_object_new("gitsync", "pg", &p);
	struct mf_node *status = mf_node_ensure(app, "status", MF_MAP);
	char rev[41];
	long long id = 0;
	int i;

	(void)state;
	for (i = 1; i <= 12; i++) {
		snprintf(rev, sizeof(rev), "%040d", i);
		id = app_history_push(status, rev, "2026-01-01T00:00:00Z", app);
	}
	assert_int_equal(id, 12);
	assert_int_equal(mf_node_len(mf_node_get(status, "history")), APP_HISTORY_MAX);
	assert_null(app_history_revision(app, 2));
	snprintf(rev, sizeof(rev), "%040d", 3);
	assert_string_equal(app_history_revision(app, 3), rev);
	assert_string_equal(mf_node_dig_str(mf_node_at(mf_node_get(status, "history"), 0), "source",
					    "targetRevision", NULL),
			    "poc-argocd");
	mf_node_free(app);
}

static void test_app_status__conditions_replace_by_type(void **state)
{
	struct mf_node *status = mf_node_new(MF_MAP);

	(void)state;
	app_condition_set(status, "ComparisonError", "cm.yaml:3: bad indentation");
	app_condition_set(status, "SyncError", "x");
	app_condition_set(status, "ComparisonError", "cm.yaml:4: mapping values are not allowed");
	assert_int_equal(mf_node_len(mf_node_get(status, "conditions")), 2);
	assert_string_equal(mf_node_dig_str(mf_node_at(mf_node_get(status, "conditions"), 1),
					    "message", NULL),
			    "cm.yaml:4: mapping values are not allowed");
	app_condition_clear(status, "ComparisonError");
	app_condition_clear(status, "SyncError");
	assert_int_equal(mf_node_len(mf_node_get(status, "conditions")), 0);
	mf_node_free(status);
}

/* The same condition again is no transition: the entry (and its time) is
 * kept, so a comparison that keeps failing the same way leaves the status
 * unchanged and the agent writes nothing. */
static void test_app_status__repeated_condition_keeps_its_time(void **state)
{
	struct mf_node *status = mf_node_new(MF_MAP), *before;
	struct mf_node *c;

	(void)state;
	app_condition_set(status, "ComparisonError", "cm.yaml:3: bad indentation");
	c = mf_node_at(mf_node_get(status, "conditions"), 0);
	mf_node_set_str_value(c, "lastTransitionTime", "2020-01-01T00:00:00Z");
	before = mf_node_clone(status);
	app_condition_set(status, "ComparisonError", "cm.yaml:3: bad indentation");
	assert_true(mf_node_equal(before, status));
	app_condition_set(status, "ComparisonError", "cm.yaml:4: other");
	assert_false(mf_node_equal(before, status));
	assert_string_not_equal(mf_node_dig_str(mf_node_at(mf_node_get(status, "conditions"), 0),
						"lastTransitionTime", NULL),
				"2020-01-01T00:00:00Z");
	mf_node_free(before);
	mf_node_free(status);
}

static void test_app_status__object_and_sync_options(void **state)
{
	const char *opts[] = { "CreateNamespace=true", "PruneLast=true" };
	struct app_params p = { .repo_url = "https://git.example.com/x.git", .path = "k8s/dev",
				.dest_namespace = "dev", .automated = true, .prune = true,
				.sync_options = opts, .n_sync_options = 2 };
	struct mf_node *app = app_object_new("gitsync", "monsterstack-dev", &p);
	struct mf_node *ig = mf_node_new(MF_MAP), *ptrs = mf_node_new(MF_SEQ);
	struct mf_node *st = mf_node_ensure(app, "status", MF_MAP);
	struct app_sync_opts so;

	(void)state;
	assert_string_equal(mf_obj_api_version(app), "gitsync.io/v1alpha1");
	assert_string_equal(app_repo(app), "https://git.example.com/x.git");
	assert_string_equal(app_revision(app), "");
	assert_string_equal(app_sync_policy_str(app), "Automated (Prune)");
	mf_node_set_str_value(ig, "group", "apps");
	mf_node_set_str_value(ig, "kind", "Deployment");
	mf_node_append(ptrs, mf_node_new_str("/spec/replicas"));
	mf_node_set(ig, "jsonPointers", ptrs);
	mf_node_append(mf_node_ensure(mf_node_get(app, "spec"), "ignoreDifferences", MF_SEQ), ig);
	mf_node_append(mf_node_ensure(st, "managedKinds", MF_SEQ), mf_node_new_str("apps/v1/Deployment"));
	mf_node_append(mf_node_get(st, "managedKinds"), mf_node_new_str("/v1/ConfigMap"));

	app_sync_opts_init(&so, app);
	assert_string_equal(so.o.app, "monsterstack-dev");
	assert_string_equal(so.o.ns, "dev");
	assert_int_equal(so.o.n_sync_options, 2);
	assert_string_equal(so.o.sync_options[1], "PruneLast=true");
	assert_int_equal(so.o.n_ignore, 1);
	assert_string_equal(so.o.ignore[0].kind, "Deployment");
	assert_int_equal(so.o.ignore[0].n_pointers, 1);
	assert_string_equal(so.o.ignore[0].pointers[0], "/spec/replicas");
	assert_int_equal(so.o.n_managed_kinds, 2);
	assert_string_equal(so.o.managed_kinds[0].group, "apps");
	assert_string_equal(so.o.managed_kinds[1].group, "");
	assert_string_equal(so.o.managed_kinds[1].kind, "ConfigMap");
	app_sync_opts_release(&so);
	mf_node_free(app);
}

static void test_app_status__embedded_crd_matches_the_shipped_file(void **state)
{
	const char *root = getenv("GS_SOURCE_ROOT");
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *path;

	(void)state;
	if (!root)
		fail_msg("GS_SOURCE_ROOT is not set (run through meson test)");
	path = gs_asprintf("%s/examples/deploy/crd-application.yaml", root);
	assert_int_equal(gs_buf_read_file(&b, path, &err), 0);
	assert_string_equal(b.ptr, app_crd_yaml());
	gs_buf_release(&b);
	free(path);
}

/* Argo CD's rule: a Failed automated sync of the same commit is not run
 * again without spec.syncPolicy.retry (the same objects are rejected the
 * same way); an Error (cluster or Git unreachable) is retried on backoff. */
static void test_app_status__failed_sync_retried_only_with_retry_error_always(void **state)
{
	struct app_params p = { .repo_url = "https://git.example.com/x.git", .path = "k8s",
				.dest_namespace = "dev", .automated = true };
	struct mf_node *app = app_object_new("gitsync", "web", &p);
	struct mf_node *retry;

	(void)state;
	assert_null(mf_node_dig(app, "spec", "syncPolicy", "retry", NULL));
	assert_false(app_retries_after(app, "Failed"));
	assert_true(app_retries_after(app, "Error"));
	assert_false(app_retries_after(app, "Succeeded"));
	assert_false(app_retries_after(app, NULL));
	retry = mf_node_ensure(mf_node_ensure(mf_node_ensure(app, "spec", MF_MAP), "syncPolicy",
					      MF_MAP),
			       "retry", MF_MAP);
	mf_node_set_str_value(retry, "limit", "3");
	assert_true(app_retries_after(app, "Failed"));
	assert_true(app_retries_after(app, "Error"));
	mf_node_free(app);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_status__5000_objects_stay_small),
		cmocka_unit_test(test_app_status__history_keeps_ten_with_increasing_ids),
		cmocka_unit_test(test_app_status__conditions_replace_by_type),
		cmocka_unit_test(test_app_status__repeated_condition_keeps_its_time),
		cmocka_unit_test(test_app_status__object_and_sync_options),
		cmocka_unit_test(test_app_status__embedded_crd_matches_the_shipped_file),
		cmocka_unit_test(test_app_status__failed_sync_retried_only_with_retry_error_always),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
