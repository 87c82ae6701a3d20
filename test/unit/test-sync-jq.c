/* test-sync-jq.c - ignoreDifferences jqPathExpressions through libjq: the
 * paths an expression selects are ignored in a comparison and kept from the
 * live object under RespectIgnoreDifferences; hostile expressions are
 * stopped by the bounds (CPU, paths, length), with messages naming them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gs-time.h"
#include "mf-yaml.h"
#include "sync/sync-jq.h"
#include "sync/sync.h"

static struct mf_docs docs;

static struct mf_node *y(const char *text)
{
	struct gs_error err = GS_ERROR_INIT;
	size_t before = docs.n;

	assert_int_equal(mf_yaml_parse(&docs, text, strlen(text), "t.yaml", NULL, &err), 0);
	assert_true(docs.n == before + 1);
	return docs.docs[before];
}

static int teardown(void **state)
{
	(void)state;
	mf_docs_release(&docs);
	memset(&docs, 0, sizeof(docs));
	return 0;
}

static const char pod_spec[] =
	"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
	"spec:\n  replicas: 3\n  template:\n    spec:\n"
	"      initContainers:\n"
	"      - {name: keep, image: a}\n"
	"      - {name: injected, image: sidecar:1}\n"
	"      - {name: injected, image: sidecar:2}\n"
	"      - {name: last, image: b}\n"
	"      containers:\n      - name: web\n        image: nginx\n"
	"        env: [{name: A, value: '1'}, {name: TOKEN, value: x}]\n";

static void test_sync_jq__paths_of_a_select_become_json_pointers(void **state)
{
	struct mf_node *obj = y(pod_spec);
	const char *exprs[] = { ".spec.template.spec.initContainers[] | select(.name == \"injected\")",
				".metadata.annotations[\"a/b~c\"]", ".spec.replicas" };
	struct gs_error err = GS_ERROR_INIT;
	char **p = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(sync_jq_paths(&p, &n, obj, exprs, 3, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(p[0], "/spec/template/spec/initContainers/1");
	assert_string_equal(p[1], "/spec/template/spec/initContainers/2");
	assert_string_equal(p[2], "/metadata/annotations/a~1b~0c"); /* escaped as RFC 6901 */
	assert_string_equal(p[3], "/spec/replicas");
	sync_jq_paths_free(p, n);
}

static void test_sync_jq__ignore_removes_every_selected_item_as_del_would(void **state)
{
	struct mf_node *obj = mf_node_clone(y(pod_spec));
	const char *exprs[] = { ".spec.template.spec.initContainers[] | select(.name == \"injected\")",
				".spec.template.spec.containers[].env[] | select(.name == \"TOKEN\") | .value" };
	const struct sync_ignore ig = { "apps", "Deployment", NULL, NULL, NULL, 0, NULL, 0, exprs, 2 };
	const struct mf_node *ic;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(sync_apply_ignore(obj, &ig, NULL, &err), 0);
	ic = mf_node_dig(obj, "spec", "template", "spec", "initContainers", NULL);
	/* both injected items go, not the one after (indexes removed last first) */
	assert_int_equal(mf_node_len(ic), 2);
	assert_string_equal(mf_node_dig_str(mf_node_at(ic, 0), "name", NULL), "keep");
	assert_string_equal(mf_node_dig_str(mf_node_at(ic, 1), "name", NULL), "last");
	{
		const struct mf_node *env = mf_node_get(
			mf_node_at(mf_node_dig(obj, "spec", "template", "spec", "containers", NULL), 0),
			"env");

		assert_string_equal(mf_node_dig_str(mf_node_at(env, 0), "value", NULL), "1");
		assert_null(mf_node_get(mf_node_at(env, 1), "value"));
		assert_string_equal(mf_node_dig_str(mf_node_at(env, 1), "name", NULL), "TOKEN");
	}
	mf_node_free(obj);
}

static void test_sync_jq__respect_keeps_the_live_values_the_expression_selects(void **state)
{
	struct mf_node *live = y(pod_spec);
	struct mf_node *desired = y("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
				    "spec:\n  replicas: 1\n  template:\n    spec:\n"
				    "      containers:\n      - name: web\n        image: nginx:2\n");
	const char *exprs[] = { ".spec.replicas" };
	const struct sync_ignore ig = { "apps", "Deployment", NULL, NULL, NULL, 0, NULL, 0, exprs, 1 };
	struct gs_error err = GS_ERROR_INIT;
	const struct mf_node *c;
	long long replicas = 0;
	(void)state;

	assert_int_equal(sync_respect_ignore(desired, &ig, live, &err), 0);
	assert_int_equal(mf_node_int(mf_node_dig(desired, "spec", "replicas", NULL), &replicas), 0);
	assert_int_equal(replicas, 3); /* the live value: an HPA's */
	c = mf_node_at(mf_node_dig(desired, "spec", "template", "spec", "containers", NULL), 0);
	assert_string_equal(mf_node_dig_str(c, "image", NULL), "nginx:2"); /* the rest is Git's */
}

static void test_sync_jq__compile_error_names_the_expression(void **state)
{
	struct mf_node *obj = y(pod_spec);
	const char *exprs[] = { ".spec.replicas", ".spec[" };
	struct gs_error err = GS_ERROR_INIT;
	char **p = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(sync_jq_paths(&p, &n, obj, exprs, 2, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "'.spec['"));
	assert_non_null(strstr(err.msg, "syntax error"));
	assert_null(p);
	/* a runtime error too: path() of a value that is not a path */
	exprs[1] = ".spec | tostring";
	assert_int_equal(sync_jq_paths(&p, &n, obj, exprs, 2, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, ".spec | tostring"));
}

/* The spec check compiles without an object: a syntax error shows at once,
 * a valid expression that would fail on some input (iterating null) does not. */
static void test_sync_jq__validate_compiles_without_evaluating(void **state)
{
	const char *good[] = { ".spec.template.spec.containers[] | select(.name == \"side\") | .image",
			       "def f: f; f" };
	const char *bad[] = { ".spec.replicas", ".spec[" };
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(sync_jq_validate(NULL, good, 2, &err), GS_OK);
	assert_int_equal(sync_jq_validate(NULL, bad, 2, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "'.spec['"));
	assert_non_null(strstr(err.msg, "syntax error"));
}

/* Each reconcile checks the spec: a set that compiled is not compiled
 * again, a broken one is, and reports its error every time. */
static void test_sync_jq__memo_compiles_a_valid_set_once(void **state)
{
	const char *good[] = { ".spec.replicas", ".metadata.labels" };
	const char *other[] = { ".spec.replicas", ".metadata.annotations" };
	const char *bad[] = { ".spec[" };
	struct sync_jq_memo *m = sync_jq_memo_new();
	struct gs_error err = GS_ERROR_INIT;
	int i;
	(void)state;

	for (i = 0; i < 3; i++)
		assert_int_equal(sync_jq_validate(m, good, 2, &err), GS_OK);
	assert_int_equal(sync_jq_memo_children(m), 1);
	assert_int_equal(sync_jq_validate(m, other, 2, &err), GS_OK);
	assert_int_equal(sync_jq_memo_children(m), 2);
	for (i = 0; i < 2; i++) {
		gs_error_clear(&err);
		assert_int_equal(sync_jq_validate(m, bad, 1, &err), GS_EINVAL);
		assert_non_null(strstr(err.msg, "syntax error"));
	}
	assert_int_equal(sync_jq_memo_children(m), 4);
	sync_jq_memo_free(m);
}

static void test_sync_jq__endless_expression_stopped_by_cpu_limit(void **state)
{
	struct mf_node *obj = y(pod_spec);
	const char *exprs[] = { "def f: f; .spec | f" };
	struct gs_error err = GS_ERROR_INIT;
	char **p = NULL;
	size_t n = 0;
	double t0 = gs_time_mono();
	(void)state;

	assert_int_equal(sync_jq_paths(&p, &n, obj, exprs, 1, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "def f: f"));
	/* the bound is the child's CPU limit or the wall clock, never more */
	assert_true(gs_time_mono() - t0 < SYNC_JQ_WALL_S + 2);
	assert_null(p);
}

static void test_sync_jq__too_many_paths_and_too_long_refused(void **state)
{
	struct mf_node *obj = y(pod_spec);
	const char *exprs[] = { "range(100000) as $i | .spec" };
	char *longexpr = malloc(SYNC_JQ_MAX_EXPR_LEN + 2);
	struct gs_error err = GS_ERROR_INIT;
	char **p = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(sync_jq_paths(&p, &n, obj, exprs, 1, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "range(100000)"));
	memset(longexpr, ' ', SYNC_JQ_MAX_EXPR_LEN + 1);
	longexpr[0] = '.';
	longexpr[SYNC_JQ_MAX_EXPR_LEN + 1] = '\0';
	exprs[0] = longexpr;
	assert_int_equal(sync_jq_paths(&p, &n, obj, exprs, 1, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "at most 1024"));
	free(longexpr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_jq__paths_of_a_select_become_json_pointers),
		cmocka_unit_test(test_sync_jq__ignore_removes_every_selected_item_as_del_would),
		cmocka_unit_test(test_sync_jq__respect_keeps_the_live_values_the_expression_selects),
		cmocka_unit_test(test_sync_jq__compile_error_names_the_expression),
		cmocka_unit_test(test_sync_jq__validate_compiles_without_evaluating),
		cmocka_unit_test(test_sync_jq__memo_compiles_a_valid_set_once),
		cmocka_unit_test(test_sync_jq__endless_expression_stopped_by_cpu_limit),
		cmocka_unit_test(test_sync_jq__too_many_paths_and_too_long_refused),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
