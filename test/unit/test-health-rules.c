/* test-health-rules.c - the built-in health rules fixed for issue 19, on
 * objects written here in the shape the API server and controllers give
 * them (Argo CD's readings, our documented choices where we differ). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mf-json.h"
#include "mf-yaml.h"
#include "sync/sync-health.h"

static const char *last_rule;

/* Health of the first document of text; the message must contain want_msg
 * (NULL: no check).  The rule name is left in last_rule. */
static enum sync_health health(const char *text, const char *want_msg)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	enum sync_health h;
	char *msg = NULL;

	assert_int_equal(mf_yaml_parse(&docs, text, strlen(text), "t.yaml", NULL, &err), 0);
	h = sync_health_builtin(docs.docs[0], &msg, &last_rule);
	if (want_msg) {
		if (!msg || !strstr(msg, want_msg))
			fail_msg("message \"%s\" lacks \"%s\"", msg ? msg : "(null)", want_msg);
	}
	free(msg);
	mf_docs_release(&docs);
	return h;
}

#define HPA1 "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: h\n"

static void test_health_rules__hpa_v1_reads_the_conditions_annotation(void **state)
{
	(void)state;
	assert_int_equal(health(HPA1 "  annotations:\n    autoscaling.alpha.kubernetes.io/conditions: "
				"'[{\"type\":\"AbleToScale\",\"status\":\"False\",\"reason\":\"FailedGetScale\","
				"\"message\":\"no matches for kind Deployment\"}]'\n"
				"status: {currentReplicas: 1, desiredReplicas: 1}\n",
				"no matches for kind"),
			 SYNC_HEALTH_DEGRADED);
	assert_string_equal(last_rule, "HorizontalPodAutoscaler");
	assert_int_equal(health(HPA1 "  annotations:\n    autoscaling.alpha.kubernetes.io/conditions: "
				"'[{\"type\":\"AbleToScale\",\"status\":\"True\",\"reason\":\"SucceededGetScale\","
				"\"message\":\"the HPA controller was able to get the target\"}]'\n"
				"status: {currentReplicas: 1}\n", "able to get"),
			 SYNC_HEALTH_HEALTHY);
	/* no annotation yet: the controller has not looked */
	assert_int_equal(health(HPA1 "status: {currentReplicas: 1}\n", "Waiting to Autoscale"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health(HPA1 "  annotations:\n    autoscaling.alpha.kubernetes.io/conditions: '[{'\n",
				"failed to parse HPA conditions"),
			 SYNC_HEALTH_DEGRADED);
}

static void test_health_rules__hpa_v2_healthy_only_when_able_to_scale_or_limited(void **state)
{
	(void)state;
	/* ScalingActive True alone is not enough, as in Argo CD */
	assert_int_equal(health("apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\n"
				"metadata: {name: h}\nstatus:\n  conditions:\n"
				"  - {type: ScalingActive, status: 'True', reason: ValidMetricFound}\n",
				"Waiting to Autoscale"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
				"metadata: {name: h}\nstatus:\n  conditions:\n"
				"  - {type: AbleToScale, status: 'False', reason: BackoffBoth}\n"
				"  - {type: ScalingLimited, status: 'True', reason: TooManyReplicas,"
				" message: 'the desired replica count is more than the maximum'}\n",
				"maximum"),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
				"metadata: {name: h}\nstatus:\n  conditions:\n"
				"  - {type: AbleToScale, status: 'False', reason: FailedUpdateScale,"
				" message: 'could not update scale'}\n", "could not update"),
			 SYNC_HEALTH_DEGRADED);
	/* a failure anywhere wins over AbleToScale True listed first */
	assert_int_equal(health("apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\n"
				"metadata: {name: h}\nstatus:\n  conditions:\n"
				"  - {type: AbleToScale, status: 'True', reason: SucceededGetScale}\n"
				"  - {type: ScalingActive, status: 'False', reason: FailedGetPodsMetric,"
				" message: 'unable to get metric http_requests'}\n", "http_requests"),
			 SYNC_HEALTH_DEGRADED);
}

static void test_health_rules__jobs_pvcs_pods_as_argo_reads_them(void **state)
{
	(void)state;
	/* Job conditions count by type; Suspended ends "running" */
	assert_int_equal(health("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus:\n"
				"  conditions: [{type: Failed, status: 'True', reason: DeadlineExceeded,"
				" message: 'Job was active longer than specified deadline'}]\n", "deadline"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {suspend: true}\n"
				"status:\n  conditions: [{type: Suspended, status: 'True', reason: JobSuspended,"
				" message: 'Job suspended'}]\n", "Job suspended"),
			 SYNC_HEALTH_SUSPENDED);
	assert_int_equal(health("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus:\n"
				"  conditions: [{type: Suspended, status: 'False', reason: JobResumed}]\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {active: 1}\n",
				NULL),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d}\n"
				"status: {phase: Unheard}\n", "Unheard"),
			 SYNC_HEALTH_UNKNOWN);
	assert_int_equal(health("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n", NULL),
			 SYNC_HEALTH_UNKNOWN);
	/* no spec.replicas: the replica checks are skipped */
	assert_int_equal(health("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r, generation: 1}\n"
				"spec: {}\nstatus: {observedGeneration: 1}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
}

#define POD(policy) "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {restartPolicy: " policy "}\n"

static void test_health_rules__pod_restarting_not_ready_is_degraded(void **state)
{
	(void)state;
	assert_int_equal(health(POD("Always") "status:\n  phase: Running\n  conditions:\n"
				"  - {type: Ready, status: 'False'}\n  containerStatuses:\n"
				"  - name: app\n    ready: false\n    restartCount: 3\n"
				"    state: {running: {startedAt: '2024-01-01T00:00:00Z'}}\n"
				"    lastState: {terminated: {exitCode: 1, reason: Error}}\n",
				"restarted"),
			 SYNC_HEALTH_DEGRADED);
	assert_string_equal(last_rule, "Pod");
	/* not ready, never restarted: still starting */
	assert_int_equal(health(POD("Always") "status:\n  phase: Running\n  conditions:\n"
				"  - {type: Ready, status: 'False'}\n  containerStatuses:\n"
				"  - {name: app, ready: false, state: {running: {}}}\n", NULL),
			 SYNC_HEALTH_PROGRESSING);
	/* the Ready condition decides when present */
	assert_int_equal(health(POD("Always") "status:\n  phase: Running\n  conditions:\n"
				"  - {type: Ready, status: 'True'}\n  containerStatuses:\n"
				"  - {name: app, ready: true, lastState: {terminated: {exitCode: 1}}}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	/* several containers in trouble: every message */
	assert_int_equal(health(POD("Always") "status:\n  phase: Pending\n  containerStatuses:\n"
				"  - {name: a, state: {waiting: {reason: CreateContainerConfigError,"
				" message: 'secret \"s\" not found'}}}\n"
				"  - {name: b, state: {waiting: {reason: ErrImageNeverPull, message: 'never'}}}\n",
				"secret \"s\" not found, never"),
			 SYNC_HEALTH_DEGRADED);
}

static void test_health_rules__hook_pods_are_not_degraded_while_waiting(void **state)
{
	(void)state;
	assert_int_equal(health(POD("Never") "status:\n  phase: Pending\n  containerStatuses:\n"
				"  - {name: c, state: {waiting: {reason: ImagePullBackOff, message: x}}}\n",
				NULL),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health(POD("OnFailure") "status:\n  phase: Running\n  containerStatuses:\n"
				"  - {name: c, ready: true, lastState: {terminated: {exitCode: 1}}}\n",
				NULL),
			 SYNC_HEALTH_PROGRESSING);
	/* a failed hook says why */
	assert_int_equal(health(POD("Never") "status:\n  phase: Failed\n  containerStatuses:\n"
				"  - {name: migrate, state: {terminated: {exitCode: 2}}}\n",
				"container \"migrate\" failed with exit code 2"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(POD("Never") "status:\n  phase: Failed\n  containerStatuses:\n"
				"  - {name: m, state: {terminated: {exitCode: 137, reason: OOMKilled}}}\n",
				"OOMKilled"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(POD("Never") "status: {phase: Succeeded}\n", NULL), SYNC_HEALTH_HEALTHY);
}

#define CJ "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: '*/5 * * * *'}\n"

static void test_health_rules__cronjob_last_run_failed_is_degraded(void **state)
{
	(void)state;
	assert_int_equal(health(CJ "status: {lastScheduleTime: '2024-05-01T10:05:00Z',"
				" lastSuccessfulTime: '2024-05-01T10:00:40Z'}\n", "last run"),
			 SYNC_HEALTH_DEGRADED);
	assert_string_equal(last_rule, "CronJob");
	assert_int_equal(health(CJ "status: {lastScheduleTime: '2024-05-01T10:05:00Z',"
				" lastSuccessfulTime: '2024-05-01T10:05:31Z'}\n", "successfully"),
			 SYNC_HEALTH_HEALTHY);
	/* an offset is read as one: 12:06+02:00 is 10:06Z */
	assert_int_equal(health(CJ "status: {lastScheduleTime: '2024-05-01T10:05:00Z',"
				" lastSuccessfulTime: '2024-05-01T12:06:00+02:00'}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health(CJ "status: {lastScheduleTime: '2024-05-01T12:05:00+02:00',"
				" lastSuccessfulTime: '2024-05-01T10:04:00Z'}\n", "failed"),
			 SYNC_HEALTH_DEGRADED);
	/* cannot tell, as Argo CD: a job running, or no success yet */
	assert_int_equal(health(CJ "status: {lastScheduleTime: '2024-05-01T10:05:00Z',"
				" lastSuccessfulTime: '2024-05-01T10:00:40Z', active: [{name: c-1}]}\n",
				"running"),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health(CJ "status: {lastScheduleTime: '2024-05-01T10:05:00Z'}\n",
				"not completed successfully yet"),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health(CJ "status: {}\n", "not been scheduled"), SYNC_HEALTH_HEALTHY);
	assert_int_equal(health(CJ, "Waiting"), SYNC_HEALTH_PROGRESSING);
	/* a suspended schedule is Suspended, even after a failure */
	assert_int_equal(health("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c}\n"
				"spec: {suspend: true}\nstatus: {lastScheduleTime: '2024-05-01T10:05:00Z',"
				" lastSuccessfulTime: '2024-05-01T10:00:40Z'}\n", "suspended"),
			 SYNC_HEALTH_SUSPENDED);
}

#define CRD "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n" \
	    "metadata: {name: xs.example.com}\nstatus:\n  conditions:\n"

static void test_health_rules__crd_non_structural_or_not_established_is_degraded(void **state)
{
	(void)state;
	assert_int_equal(health(CRD "  - {type: NamesAccepted, status: 'True'}\n"
				"  - {type: Established, status: 'True'}\n"
				"  - {type: NonStructuralSchema, status: 'True', message: "
				"'spec.versions[0].schema.openAPIV3Schema.type: Required value'}\n",
				"Schema violations found"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(CRD "  - {type: NamesAccepted, status: 'False', reason: MultipleNames,"
				" message: '\"xs\" is already in use'}\n"
				"  - {type: Established, status: 'False', reason: NotAccepted}\n",
				"Names not accepted"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(CRD "  - {type: NamesAccepted, status: 'True'}\n"
				"  - {type: Established, status: 'False', reason: NotAccepted,"
				" message: 'not all names are accepted'}\n", "not established"),
			 SYNC_HEALTH_DEGRADED);
	/* the first instant after create: on its way, not failed */
	assert_int_equal(health(CRD "  - {type: NamesAccepted, status: 'True'}\n"
				"  - {type: Established, status: 'False', reason: Installing,"
				" message: 'the initial names have been accepted'}\n", NULL),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health(CRD "  - {type: Established, status: 'True'}\n"
				"  - {type: Terminating, status: 'True', message: 'deleting instances'}\n",
				"being terminated"),
			 SYNC_HEALTH_PROGRESSING);
}

#define WF "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\n"

static void test_health_rules__workflow_style_status_phase(void **state)
{
	(void)state;
	/* Argo Workflows' own rule (built into Argo CD) */
	assert_int_equal(health(WF "status: {phase: Running}\n", NULL), SYNC_HEALTH_PROGRESSING);
	assert_string_equal(last_rule, "Workflow");
	assert_int_equal(health(WF "spec: {}\n", NULL), SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health(WF "status: {phase: Succeeded}\n", NULL), SYNC_HEALTH_HEALTHY);
	assert_int_equal(health(WF "status: {phase: Failed, message: 'child \"a\" failed'}\n",
				"child \"a\" failed"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(WF "status: {phase: Error}\n", "Error"), SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(WF "status: {phase: Frobnicating}\n", NULL), SYNC_HEALTH_UNKNOWN);
	/* the same words in any custom resource's status.phase or .state */
#define TR "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\n"
	assert_int_equal(health(TR "status: {phase: Running}\n", NULL), SYNC_HEALTH_PROGRESSING);
	assert_string_equal(last_rule, "generic");
	assert_int_equal(health(TR "status: {phase: Succeeded}\n", NULL), SYNC_HEALTH_HEALTHY);
	assert_int_equal(health(TR "status: {state: Failed, message: 'step 2'}\n", "step 2"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(TR "status: {phase: Paused}\n", NULL), SYNC_HEALTH_SUSPENDED);
	/* a phase nobody knows says nothing */
	assert_int_equal(health(TR "status: {phase: Frobnicating}\n", NULL), SYNC_HEALTH_NONE);
#undef TR
}

static void test_health_rules__observed_generation_given_as_a_string(void **state)
{
	(void)state;
	/* Argo Rollouts' API: observedGeneration "4" is generation 4 */
	assert_int_equal(health("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n"
				"metadata: {name: r, generation: 4}\nstatus:\n  observedGeneration: '4'\n"
				"  conditions: [{type: Available, status: 'True'}]\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n"
				"metadata: {name: r, generation: 5}\nstatus:\n  observedGeneration: '4'\n"
				"  conditions: [{type: Available, status: 'True'}]\n", "generation"),
			 SYNC_HEALTH_PROGRESSING);
	/* a built-in kind given one by hand is read the same way */
	assert_int_equal(health("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, generation: 2}\n"
				"spec: {replicas: 1}\nstatus: {observedGeneration: '2', replicas: 1,"
				" updatedReplicas: 1, availableReplicas: 1}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
}

static void test_health_rules__builtin_is_an_exact_group_list(void **state)
{
	(void)state;
	/* ends in k8s.io, but a custom resource: gets the generic rule */
	assert_int_equal(health("apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: {name: c}\n"
				"status: {conditions: [{type: Ready, status: 'True'}]}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_string_equal(last_rule, "generic");
	assert_int_equal(health("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n"
				"status: {conditions: [{type: Programmed, status: 'True'},"
				" {type: Ready, status: 'False', reason: ListenersNotValid}]}\n", NULL),
			 SYNC_HEALTH_DEGRADED);
	/* Kubernetes' own groups without a rule: no health */
	assert_int_equal(health("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n",
				NULL),
			 SYNC_HEALTH_NONE);
	assert_string_equal(last_rule, "none");
	assert_int_equal(health("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: s}\n"
				"status: {conditions: [{type: Ready, status: 'False', reason: Failed}]}\n", NULL),
			 SYNC_HEALTH_NONE);
}

#define CR "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t, generation: 3}\n"

static void test_health_rules__generic_rule_for_custom_resources(void **state)
{
	(void)state;
	/* no status at all: no health (documented choice) */
	assert_int_equal(health(CR "spec: {a: 1}\n", NULL), SYNC_HEALTH_NONE);
	/* Ready False: failure reason -> Degraded, any other -> Progressing */
	assert_int_equal(health(CR "status: {conditions: [{type: Ready, status: 'False',"
				" reason: ReconciliationFailed, message: 'chart not found'}]}\n",
				"chart not found"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(CR "status: {conditions: [{type: Available, status: 'False',"
				" reason: InstallError}]}\n", "InstallError"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(CR "status: {conditions: [{type: Ready, status: 'False',"
				" reason: Progressing, message: 'waiting for pods'}]}\n", "waiting"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health(CR "status: {conditions: [{type: Ready, status: 'True'},"
				" {type: Stalled, status: 'True', reason: InvalidSpec, message: 'bad'}]}\n",
				"bad"),
			 SYNC_HEALTH_DEGRADED);
	assert_int_equal(health(CR "status: {conditions: [{type: Ready, status: 'True'},"
				" {type: Reconciling, status: 'True', message: 'upgrading'}]}\n",
				"upgrading"),
			 SYNC_HEALTH_PROGRESSING);
	/* condition-level observedGeneration behind */
	assert_int_equal(health(CR "status: {conditions: [{type: Ready, status: 'True',"
				" observedGeneration: 2}]}\n", "generation 3"),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health(CR "status: {conditions: [{type: Ready, status: 'True',"
				" observedGeneration: 3}]}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	/* status-level observedGeneration behind */
	assert_int_equal(health(CR "status: {observedGeneration: 2, conditions: [{type: Ready,"
				" status: 'True'}]}\n", "latest generation"),
			 SYNC_HEALTH_PROGRESSING);
}

static void test_health_rules__paused_and_suspended_markers(void **state)
{
	(void)state;
	assert_int_equal(health(CR "spec: {suspend: true}\nstatus: {conditions: [{type: Ready,"
				" status: 'True'}]}\n", "suspend"),
			 SYNC_HEALTH_SUSPENDED);
	assert_int_equal(health(CR "spec: {paused: true}\n", "paused"), SYNC_HEALTH_SUSPENDED);
	assert_int_equal(health(CR "status: {conditions: [{type: Paused, status: 'True',"
				" message: 'paused by user'}]}\n", "paused by user"),
			 SYNC_HEALTH_SUSPENDED);
	assert_int_equal(health(CR "status: {conditions: [{type: Suspended, status: 'True',"
				" reason: Hibernating}]}\n", "Hibernating"),
			 SYNC_HEALTH_SUSPENDED);
	assert_int_equal(health(CR "spec: {suspend: false}\nstatus: {conditions: [{type: Paused,"
				" status: 'False'}, {type: Ready, status: 'True'}]}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
}

static void test_health_rules__application_health_is_its_reported_health(void **state)
{
	(void)state;
	/* app of apps: the child's health becomes the parent's resource health */
	assert_int_equal(health("apiVersion: gitsync.io/v1alpha1\nkind: Application\nmetadata: {name: child}\n"
				"status: {health: {status: Degraded, message: 'Deployment web: exceeded'}}\n",
				"exceeded"),
			 SYNC_HEALTH_DEGRADED);
	assert_string_equal(last_rule, "Application");
	assert_int_equal(health("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: c}\n"
				"status: {health: {status: Progressing}}\n", NULL),
			 SYNC_HEALTH_PROGRESSING);
	assert_int_equal(health("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: c}\n"
				"status: {health: {status: Healthy}}\n", NULL),
			 SYNC_HEALTH_HEALTHY);
	assert_int_equal(health("apiVersion: gitsync.io/v1alpha1\nkind: Application\nmetadata: {name: c}\n"
				"status: {health: {status: Suspended}}\n", NULL),
			 SYNC_HEALTH_SUSPENDED);
	/* just created, not reconciled yet */
	assert_int_equal(health("apiVersion: gitsync.io/v1alpha1\nkind: Application\nmetadata: {name: c}\n"
				"spec: {}\n", "report its health"),
			 SYNC_HEALTH_PROGRESSING);
	/* someone else's Application kind is a custom resource like any other */
	assert_int_equal(health("apiVersion: app.k8s.example/v1\nkind: Application\nmetadata: {name: c}\n"
				"status: {health: {status: Degraded}}\n", NULL),
			 SYNC_HEALTH_NONE);
}

/* Live objects are JSON from the API server: duplicate keys keep the last,
 * as sigs.k8s.io/yaml does; Git input (YAML) keeps refusing them, unless
 * read as live objects. */
static void test_health_rules__duplicate_keys_json_keeps_last_yaml_refuses(void **state)
{
	static const char json[] = "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\","
				   "\"metadata\":{\"name\":\"d\"},\"status\":{\"phase\":\"Pending\","
				   "\"phase\":\"Bound\"}}";
	static const char yaml[] = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d}\n"
				   "status:\n  phase: Pending\n  phase: Bound\n";
	struct gs_error err = GS_ERROR_INIT;
	struct mf_docs docs = MF_DOCS_INIT;
	struct mf_node *obj = NULL;
	char *msg = NULL;

	(void)state;
	assert_int_equal(mf_json_parse(&obj, json, strlen(json), "live.json", &err), 0);
	assert_int_equal(sync_health_builtin(obj, &msg, NULL), SYNC_HEALTH_HEALTHY);
	free(msg);
	mf_node_free(obj);
	assert_true(mf_yaml_parse(&docs, yaml, strlen(yaml), "git.yaml", NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "phase"));
	mf_docs_release(&docs);
	/* YAML read as live objects (gitsync health): the last one too */
	{
		struct mf_yaml_limits lim = { .flags = MF_YAML_DUP_KEEP_LAST };

		assert_int_equal(mf_yaml_parse(&docs, yaml, strlen(yaml), "live.yaml", &lim, &err), 0);
		assert_int_equal(mf_node_len(mf_node_get(docs.docs[0], "status")), 1);
		assert_int_equal(sync_health_builtin(docs.docs[0], &msg, NULL), SYNC_HEALTH_HEALTHY);
		free(msg);
		mf_docs_release(&docs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_rules__hpa_v1_reads_the_conditions_annotation),
		cmocka_unit_test(test_health_rules__hpa_v2_healthy_only_when_able_to_scale_or_limited),
		cmocka_unit_test(test_health_rules__jobs_pvcs_pods_as_argo_reads_them),
		cmocka_unit_test(test_health_rules__pod_restarting_not_ready_is_degraded),
		cmocka_unit_test(test_health_rules__hook_pods_are_not_degraded_while_waiting),
		cmocka_unit_test(test_health_rules__cronjob_last_run_failed_is_degraded),
		cmocka_unit_test(test_health_rules__crd_non_structural_or_not_established_is_degraded),
		cmocka_unit_test(test_health_rules__workflow_style_status_phase),
		cmocka_unit_test(test_health_rules__observed_generation_given_as_a_string),
		cmocka_unit_test(test_health_rules__builtin_is_an_exact_group_list),
		cmocka_unit_test(test_health_rules__generic_rule_for_custom_resources),
		cmocka_unit_test(test_health_rules__paused_and_suspended_markers),
		cmocka_unit_test(test_health_rules__application_health_is_its_reported_health),
		cmocka_unit_test(test_health_rules__duplicate_keys_json_keeps_last_yaml_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
