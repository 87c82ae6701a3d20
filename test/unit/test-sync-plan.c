/* test-sync-plan.c - ordering, waves, hooks, sync options, and what the
 * engine counts as "equal" (normalization, omitempty, quantities, owned
 * fields, ignoreDifferences, defaulted protocols). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mf-yaml.h"
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
	return 0;
}

static void test_sync_plan__kind_order_puts_dependencies_first(void **state)
{
	(void)state;
	assert_true(sync_kind_order("", "Namespace") < sync_kind_order("", "ServiceAccount"));
	assert_true(sync_kind_order("", "ConfigMap") < sync_kind_order("apps", "Deployment"));
	assert_true(sync_kind_order("apiextensions.k8s.io", "CustomResourceDefinition") <
		    sync_kind_order("rbac.authorization.k8s.io", "ClusterRole"));
	assert_true(sync_kind_order("", "Service") < sync_kind_order("apps", "Deployment"));
	/* custom resources after every built-in kind */
	assert_true(sync_kind_order("apiregistration.k8s.io", "APIService") <
		    sync_kind_order("monitoring.coreos.com", "Prometheus"));
	assert_int_equal(sync_kind_order("a.io", "X"), sync_kind_order("b.io", "Y"));
}

static void test_sync_plan__waves_from_ours_then_argo(void **state)
{
	(void)state;
	assert_int_equal(sync_wave_of(y("kind: ConfigMap\nmetadata: {name: a}\n")), 0);
	assert_int_equal(sync_wave_of(y("kind: ConfigMap\nmetadata: {name: a, annotations:"
					" {argocd.argoproj.io/sync-wave: '-2'}}\n")), -2);
	assert_int_equal(sync_wave_of(y("kind: ConfigMap\nmetadata: {name: a, annotations:"
					" {argocd.argoproj.io/sync-wave: '5', gitsync.io/sync-wave: '3'}}\n")),
			 3);
	/* garbage is wave 0, not a crash */
	assert_int_equal(sync_wave_of(y("kind: ConfigMap\nmetadata: {name: a, annotations:"
					" {gitsync.io/sync-wave: 'soon'}}\n")), 0);
}

static void test_sync_plan__hooks_and_delete_policies(void **state)
{
	unsigned pol = 0;
	(void)state;

	assert_int_equal(sync_hook_of(y("kind: Job\nmetadata: {name: m, annotations:"
					" {argocd.argoproj.io/hook: PreSync}}\n"), &pol),
			 SYNC_HOOK_PRESYNC);
	/* Argo CD's default policy */
	assert_int_equal(pol, SYNC_HOOK_DELETE_BEFORE_CREATION);
	assert_int_equal(sync_hook_of(y("kind: Job\nmetadata: {name: m, annotations:"
					" {gitsync.io/hook: PostSync, gitsync.io/hook-delete-policy:"
					" 'HookSucceeded,HookFailed'}}\n"), &pol),
			 SYNC_HOOK_POSTSYNC);
	assert_int_equal(pol, SYNC_HOOK_DELETE_SUCCEEDED | SYNC_HOOK_DELETE_FAILED);
	assert_int_equal(sync_hook_of(y("kind: Job\nmetadata: {name: m, annotations:"
					" {gitsync.io/hook: SyncFail}}\n"), NULL),
			 SYNC_HOOK_SYNCFAIL);
	assert_int_equal(sync_hook_of(y("kind: Job\nmetadata: {name: m, annotations:"
					" {helm.sh/hook: pre-install}}\n"), NULL),
			 SYNC_HOOK_PRESYNC);
	assert_int_equal(sync_hook_of(y("kind: Job\nmetadata: {name: m}\n"), &pol), SYNC_HOOK_NONE);
	assert_int_equal(pol, 0);
}

static void test_sync_plan__sync_options_object_beats_app(void **state)
{
	const char *app_opts[] = { "Prune=false", "PruneLast=true" };
	struct sync_options o;
	struct mf_node *obj = y("kind: ConfigMap\nmetadata: {name: a, annotations:"
				" {gitsync.io/sync-options: 'Replace=true, Prune=true'}}\n");
	(void)state;

	memset(&o, 0, sizeof(o));
	o.sync_options = app_opts;
	o.n_sync_options = 2;
	assert_true(sync_option_is(obj, &o, "Replace", "true"));
	assert_false(sync_option_is(obj, &o, "Prune", "false"));
	assert_true(sync_option_is(obj, &o, "PruneLast", "true"));
	assert_false(sync_option_is(NULL, NULL, "Prune", "false"));
	assert_true(sync_option_is(y("kind: ConfigMap\nmetadata: {name: a, annotations:"
				     " {argocd.argoproj.io/sync-options: Prune=false}}\n"),
				   NULL, "Prune", "false"));
}

static const char live_deploy[] =
	"apiVersion: apps/v1\nkind: Deployment\n"
	"metadata:\n  name: web\n  namespace: dev\n  uid: 1234\n  resourceVersion: '99'\n"
	"  generation: 4\n  creationTimestamp: '2024-01-01T00:00:00Z'\n"
	"  annotations:\n    deployment.kubernetes.io/revision: '3'\n"
	"  labels: {app: web, gitsync.io/app: demo}\n"
	"  managedFields:\n"
	"  - manager: gitsync\n    operation: Apply\n    fieldsType: FieldsV1\n"
	"    fieldsV1:\n      f:metadata: {f:labels: {f:app: {}, f:gitsync.io/app: {}}}\n"
	"      f:spec:\n        f:replicas: {}\n        f:template:\n          f:spec:\n"
	"            f:containers:\n              k:{\"name\":\"web\"}:\n                .: {}\n"
	"                f:name: {}\n                f:image: {}\n"
	"                f:ports: {'k:{\"containerPort\":80,\"protocol\":\"TCP\"}': {.: {}, f:containerPort: {}}}\n"
	"                f:resources: {f:limits: {f:cpu: {}, f:memory: {}}}\n"
	"  - manager: kube-controller-manager\n    operation: Update\n"
	"    fieldsV1: {f:spec: {f:replicas: {}}}\n"
	"spec:\n  replicas: 3\n  progressDeadlineSeconds: 600\n"
	"  template:\n    spec:\n      restartPolicy: Always\n      containers:\n"
	"      - name: web\n        image: nginx:1.25\n        imagePullPolicy: IfNotPresent\n"
	"        ports: [{containerPort: 80, protocol: TCP}]\n"
	"        resources: {limits: {cpu: 500m, memory: 1Gi}}\n"
	"status: {replicas: 3}\n";

static const char desired_deploy[] =
	"apiVersion: apps/v1\nkind: Deployment\n"
	"metadata:\n  name: web\n  namespace: dev\n  labels: {app: web, gitsync.io/app: demo}\n"
	"  creationTimestamp: null\n"
	"spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n"
	"      - name: web\n        image: nginx:1.25\n        env: []\n"
	"        ports: [{containerPort: 80, protocol: TCP}]\n"
	"        resources: {limits: {cpu: 0.5, memory: 1024Mi}}\n"
	"        volumeMounts: []\n";

static void test_sync_plan__defaulted_fields_quantities_and_omitempty_are_not_drift(void **state)
{
	struct mf_node *live = y(live_deploy), *want = y(desired_deploy);
	(void)state;

	/* server defaults (imagePullPolicy, progressDeadlineSeconds), canonical
	 * quantities (0.5 -> 500m, 1024Mi -> 1Gi) and dropped empty lists */
	assert_true(sync_subset_equal(want, live));
	assert_true(sync_owned_fields_desired(live, want, "gitsync"));
	mf_node_set_str(mf_node_get(mf_node_at(mf_node_dig(want, "spec", "template", "spec",
							   "containers", NULL), 0), "image"),
			"nginx:1.26");
	assert_false(sync_subset_equal(want, live));
}

static void test_sync_plan__field_removed_from_source_is_seen_by_owned_fields(void **state)
{
	struct mf_node *live = y(live_deploy), *want = y(desired_deploy);
	struct mf_node *c0 = mf_node_at(mf_node_dig(want, "spec", "template", "spec", "containers",
						    NULL), 0);
	(void)state;

	/* we own resources.limits; once Git drops it, live still matches the
	 * desired subset but our managed fields say it must go */
	mf_node_remove(c0, "resources");
	assert_true(sync_subset_equal(want, live));
	assert_false(sync_owned_fields_desired(live, want, "gitsync"));
	/* no Apply entry at all (created by kubectl): not ours yet */
	assert_false(sync_owned_fields_desired(live, want, "someone-else"));
}

static void test_sync_plan__normalize_strips_server_noise(void **state)
{
	struct mf_node *n = sync_normalize(y(live_deploy));
	(void)state;

	assert_null(mf_node_get(n, "status"));
	assert_null(mf_node_dig(n, "metadata", "managedFields", NULL));
	assert_null(mf_node_dig(n, "metadata", "resourceVersion", NULL));
	assert_null(mf_node_dig(n, "metadata", "uid", NULL));
	assert_null(mf_node_dig(n, "metadata", "generation", NULL));
	assert_null(mf_node_dig(n, "metadata", "creationTimestamp", NULL));
	/* the only annotation was the server's: the map goes too */
	assert_null(mf_node_dig(n, "metadata", "annotations", NULL));
	assert_non_null(mf_node_dig(n, "metadata", "labels", "app", NULL));
	mf_node_free(n);
}

static void test_sync_plan__ignore_differences_by_pointer_and_manager(void **state)
{
	struct mf_node *live = y(live_deploy);
	struct mf_node *a = sync_normalize(live), *b = sync_normalize(live);
	const char *ptrs[] = { "/metadata/labels/app" };
	const char *mgrs[] = { "kube-controller-manager" };
	struct sync_ignore by_ptr = { "apps", "Deployment", NULL, NULL, ptrs, 1, NULL, 0 };
	struct sync_ignore by_mgr = { "apps", "Deployment", NULL, NULL, NULL, 0, mgrs, 1 };
	(void)state;

	assert_int_equal(sync_apply_ignore(a, &by_ptr, NULL, NULL), 0);
	assert_null(mf_node_dig(a, "metadata", "labels", "app", NULL));
	assert_non_null(mf_node_dig(a, "metadata", "labels", "gitsync.io/app", NULL));
	/* an HPA's controller owns spec.replicas: ignored */
	assert_int_equal(sync_apply_ignore(b, &by_mgr, live, NULL), 0);
	assert_null(mf_node_dig(b, "spec", "replicas", NULL));
	assert_non_null(mf_node_dig(b, "spec", "template", NULL));
	mf_node_free(a);
	mf_node_free(b);
}

static void test_sync_plan__protocols_defaulted_for_v120_ssa(void **state)
{
	struct mf_node *svc = y("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
				"spec: {ports: [{port: 80}, {port: 53, protocol: UDP}]}\n");
	struct mf_node *cj = y("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c}\n"
			       "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
			       "          containers: [{name: c, ports: [{containerPort: 9}]}]\n");
	struct mf_node *cr = y("apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\n"
			       "metadata: {name: k8s}\nspec: {containers: [{name: c, ports: [{containerPort: 9}]}]}\n");
	(void)state;

	sync_default_protocols(svc);
	assert_string_equal(mf_node_dig_str(mf_node_at(mf_node_dig(svc, "spec", "ports", NULL), 0),
					    "protocol", NULL), "TCP");
	assert_string_equal(mf_node_dig_str(mf_node_at(mf_node_dig(svc, "spec", "ports", NULL), 1),
					    "protocol", NULL), "UDP");
	sync_default_protocols(cj);
	assert_string_equal(mf_node_dig_str(mf_node_at(mf_node_get(mf_node_at(mf_node_dig(cj, "spec",
		"jobTemplate", "spec", "template", "spec", "containers", NULL), 0), "ports"), 0),
		"protocol", NULL), "TCP");
	/* custom resources keep exactly what the user wrote */
	sync_default_protocols(cr);
	assert_null(mf_node_get(mf_node_at(mf_node_get(mf_node_at(mf_node_dig(cr, "spec",
		"containers", NULL), 0), "ports"), 0), "protocol"));
}

static void test_sync_plan__names_of_states(void **state)
{
	(void)state;
	assert_string_equal(sync_status_str(SYNC_STATUS_OUT_OF_SYNC), "OutOfSync");
	assert_string_equal(sync_status_str(SYNC_STATUS_PRUNE), "Prune");
	assert_string_equal(sync_health_str(SYNC_HEALTH_NONE), "");
	assert_string_equal(sync_health_str(SYNC_HEALTH_DEGRADED), "Degraded");
	assert_string_equal(sync_hook_str(SYNC_HOOK_PRESYNC), "PreSync");
	assert_string_equal(sync_phase_str(SYNC_PHASE_SUCCEEDED), "Succeeded");
	/* worst-of ordering used for the app's health */
	assert_true(SYNC_HEALTH_DEGRADED > SYNC_HEALTH_PROGRESSING);
	assert_true(SYNC_HEALTH_PROGRESSING > SYNC_HEALTH_HEALTHY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_plan__kind_order_puts_dependencies_first),
		cmocka_unit_test(test_sync_plan__waves_from_ours_then_argo),
		cmocka_unit_test(test_sync_plan__hooks_and_delete_policies),
		cmocka_unit_test(test_sync_plan__sync_options_object_beats_app),
		cmocka_unit_test(test_sync_plan__defaulted_fields_quantities_and_omitempty_are_not_drift),
		cmocka_unit_test(test_sync_plan__field_removed_from_source_is_seen_by_owned_fields),
		cmocka_unit_test(test_sync_plan__normalize_strips_server_noise),
		cmocka_unit_test(test_sync_plan__ignore_differences_by_pointer_and_manager),
		cmocka_unit_test(test_sync_plan__protocols_defaulted_for_v120_ssa),
		cmocka_unit_test(test_sync_plan__names_of_states),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
