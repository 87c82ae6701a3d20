/* test-sync-health.c - health rules on recorded objects (status as the API
 * server and controllers wrote it), including kinds newer than v1.20. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mf-yaml.h"
#include "sync/sync.h"

/* Parse text, return the health of its first document and check the
 * message contains want_msg (NULL: no check). */
static enum sync_health health(const char *text, const char *want_msg)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	enum sync_health h;
	char *msg = NULL;

	assert_int_equal(mf_yaml_parse(&docs, text, strlen(text), "t.yaml", NULL, &err), 0);
	h = sync_health_of(docs.docs[0], &msg);
	if (want_msg) {
		assert_non_null(msg);
		assert_non_null(strstr(msg, want_msg));
	}
	free(msg);
	mf_docs_release(&docs);
	return h;
}

static void test_sync_health__deployment_rollout_states(void **state)
{
	(void)state;
	assert_int_equal(health("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, generation: 2}\n"
				"spec: {replicas: 3}\nstatus: {observedGeneration: 2, replicas: 3,"
				" updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, generation: 3}\n"
				"spec: {replicas: 3}\nstatus: {observedGeneration: 2, replicas: 3,"
				" updatedReplicas: 3, availableReplicas: 3}\n", "generation"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, generation: 1}\n"
				"spec: {replicas: 3}\nstatus: {observedGeneration: 1, replicas: 4,"
				" updatedReplicas: 1, availableReplicas: 3}\n",
				"1 out of 3 new replicas"),
			 SYNC_HEALTH_PROGRESSING);
	/* a *:broken image: the rollout never finishes, then the deadline */
	assert_int_equal(health("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, generation: 1}\n"
				"spec: {replicas: 1}\nstatus:\n  observedGeneration: 1\n  replicas: 1\n"
				"  updatedReplicas: 1\n  unavailableReplicas: 1\n  conditions:\n"
				"  - {type: Progressing, status: 'False', reason: ProgressDeadlineExceeded}\n",
				"exceeded its progress deadline"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\n"
				"spec: {paused: true}\n", NULL),
			 SYNC_HEALTH_SUSPENDED);
}

static void test_sync_health__statefulset_ondelete_and_partition(void **state)
{
	(void)state;
	/* Spilo's StatefulSets: OnDelete is healthy once pods are ready */
	assert_int_equal(health("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, generation: 2}\n"
				"spec: {replicas: 2, updateStrategy: {type: OnDelete}}\n"
				"status: {observedGeneration: 2, readyReplicas: 2, currentRevision: a,"
				" updateRevision: b}\n", "2 ready pods"),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: r, generation: 1}\n"
				"spec: {replicas: 3}\nstatus: {observedGeneration: 1, readyReplicas: 1}\n",
				"Waiting for 2 pods"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: r, generation: 1}\n"
				"spec: {replicas: 3}\nstatus: {observedGeneration: 1, readyReplicas: 3,"
				" currentRevision: r-1, updateRevision: r-2, updatedReplicas: 1}\n",
				"rolling update"),
			 SYNC_HEALTH_PROGRESSING);
}

static void test_sync_health__pod_image_pull_backoff_is_degraded(void **state)
{
	(void)state;
	assert_int_equal(health("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {restartPolicy: Always}\n"
				"status:\n  phase: Pending\n  containerStatuses:\n  - name: c\n"
				"    ready: false\n    state: {waiting: {reason: ImagePullBackOff,"
				" message: 'Back-off pulling image \"x:broken\"'}}\n", "x:broken"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n"
				"status: {phase: Running, containerStatuses: [{name: c, ready: true}]}\n",
				NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {phase: Failed}\n",
				NULL),
			 SYNC_HEALTH_DEGRADED);
}

static void test_sync_health__jobs_and_cronjobs_of_both_api_versions(void **state)
{
	(void)state;
	assert_int_equal(health("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus:\n"
				"  conditions: [{type: Complete, status: 'True'}]\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus:\n"
				"  conditions: [{type: Failed, status: 'True', message: BackoffLimitExceeded}]\n",
				"BackoffLimit"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {active: 1}\n",
				NULL),
			 SYNC_HEALTH_PROGRESSING);
	/* batch/v1 CronJob is v1.21+, batch/v1beta1 the v1.20 one */
	assert_int_equal(health("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {suspend: true}\n",
				NULL),
			 SYNC_HEALTH_SUSPENDED);
	assert_int_equal(health("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: '* * * * *'}\nstatus: {}\n",
				NULL),
			 SYNC_HEALTH_HEALTHY);
}

static void test_sync_health__services_ingress_pvc(void **state)
{
	(void)state;
	assert_int_equal(health("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer}\n"
				"status: {loadBalancer: {}}\n", "load balancer"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer}\n"
				"status: {loadBalancer: {ingress: [{ip: 172.18.255.1}]}}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: ClusterIP}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n"
				"spec: {ingressClassName: nginx}\nstatus: {loadBalancer: {ingress: [{hostname: lb}]}}\n",
				NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d}\nstatus: {phase: Pending}\n",
				NULL),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d}\nstatus: {phase: Bound}\n",
				NULL),
			 SYNC_HEALTH_HEALTHY);
}

static void test_sync_health__hpa_v2_apiservice_crd(void **state)
{
	(void)state;
	/* autoscaling/v2 is v1.23+ */
	assert_int_equal(health("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
				"status:\n  currentReplicas: 2\n  conditions:\n"
				"  - {type: ScalingActive, status: 'False', reason: FailedGetResourceMetric,"
				" message: 'missing request for cpu'}\n", "missing request"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
				"status:\n  currentReplicas: 2\n  conditions:\n"
				"  - {type: AbleToScale, status: 'True', reason: ReadyForNewScale}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\n"
				"status: {conditions: [{type: Available, status: 'False', reason: MissingEndpoints,"
				" message: 'endpoints for service/prometheus-adapter have no addresses'}]}\n",
				"MissingEndpoints"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
				"metadata: {name: x.example.com}\nstatus: {conditions: [{type: NamesAccepted,"
				" status: 'True'}, {type: Established, status: 'True'}]}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
				"metadata: {name: x.example.com}\nstatus: {}\n", "Established"),
			 SYNC_HEALTH_PROGRESSING);
}

static void test_sync_health__custom_resources_by_kstatus_conditions(void **state)
{
	(void)state;
	assert_int_equal(health("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, generation: 1}\n"
				"status: {observedGeneration: 1, conditions: [{type: Ready, status: 'True'}]}\n",
				NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg}\n"
				"status: {conditions: [{type: Ready, status: 'False', message: 'Cluster is not ready'}]}\n",
				"not ready"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\n"
				"status: {conditions: [{type: Stalled, status: 'True', message: 'bad spec'}]}\n",
				"bad spec"),
			 SYNC_HEALTH_DEGRADED);
	/* no conditions, no rule: no health (like a ConfigMap) */
	assert_int_equal(health("apiVersion: acid.zalan.do/v1\nkind: postgresql\nmetadata: {name: acid}\n"
				"status: {PostgresClusterStatus: Running}\n", NULL),
			 SYNC_HEALTH_NONE);
	assert_int_equal(health("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", NULL),
			 SYNC_HEALTH_NONE);
	assert_int_equal(health("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\n", NULL),
			 SYNC_HEALTH_NONE);
}

static void test_sync_health__deleting_object_is_progressing(void **state)
{
	(void)state;
	assert_int_equal(health("apiVersion: v1\nkind: Namespace\nmetadata: {name: n,"
				" deletionTimestamp: '2024-01-01T00:00:00Z'}\nstatus: {phase: Terminating}\n",
				"deletion"),
			 SYNC_HEALTH_PROGRESSING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_health__deployment_rollout_states),
		cmocka_unit_test(test_sync_health__statefulset_ondelete_and_partition),
		cmocka_unit_test(test_sync_health__pod_image_pull_backoff_is_degraded),
		cmocka_unit_test(test_sync_health__jobs_and_cronjobs_of_both_api_versions),
		cmocka_unit_test(test_sync_health__services_ingress_pvc),
		cmocka_unit_test(test_sync_health__hpa_v2_apiservice_crd),
		cmocka_unit_test(test_sync_health__custom_resources_by_kstatus_conditions),
		cmocka_unit_test(test_sync_health__deleting_object_is_progressing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
