/* sync-health.c - health per kind, with the rules Argo CD users know
 * (gitops-engine pkg/health) and kstatus conditions for custom resources.
 *
 * Rules look at kind and group only, not version: apps/v1 and the
 * extensions/v1beta1 of old clusters, batch/v1beta1 and batch/v1 CronJob,
 * autoscaling v1/v2 HPA share one rule each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-object.h"
#include "sync/sync.h"

static long long num(const struct mf_node *obj, const char *a, const char *b, const char *c)
{
	long long v = 0;

	mf_node_int(mf_node_dig(obj, a, b, c, NULL), &v);
	return v;
}

static const struct mf_node *condition(const struct mf_node *obj, const char *type)
{
	const struct mf_node *conds = mf_node_dig(obj, "status", "conditions", NULL);
	size_t i;

	for (i = 0; i < mf_node_len(conds); i++) {
		const char *t = mf_node_dig_str(mf_node_at(conds, i), "type", NULL);

		if (t && !strcmp(t, type))
			return mf_node_at(conds, i);
	}
	return NULL;
}

static const char *cond_status(const struct mf_node *c)
{
	const char *s = mf_node_dig_str(c, "status", NULL);

	return s ? s : "";
}

static const char *cond_str(const struct mf_node *c, const char *key)
{
	const char *s = mf_node_dig_str(c, key, NULL);

	return s ? s : "";
}

static enum sync_health set(char **msg, enum sync_health h, char *m)
{
	*msg = m;
	return h;
}

static bool generation_observed(const struct mf_node *obj)
{
	long long gen = num(obj, "metadata", "generation", NULL);
	long long obs = num(obj, "status", "observedGeneration", NULL);

	if (!mf_node_dig(obj, "status", "observedGeneration", NULL))
		return gen == 0;
	return obs >= gen;
}

static enum sync_health deployment(const struct mf_node *o, char **msg)
{
	long long replicas = 1, updated, available, total;
	const struct mf_node *prog;

	if (mf_node_bool(mf_node_dig(o, "spec", "paused", NULL)))
		return set(msg, SYNC_HEALTH_SUSPENDED, gs_strdup("Deployment is paused"));
	if (!generation_observed(o))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup("Waiting for rollout to finish: observed deployment "
				     "generation less than desired generation"));
	if (mf_node_dig(o, "spec", "replicas", NULL))
		replicas = num(o, "spec", "replicas", NULL);
	updated = num(o, "status", "updatedReplicas", NULL);
	available = num(o, "status", "availableReplicas", NULL);
	total = num(o, "status", "replicas", NULL);
	prog = condition(o, "Progressing");
	if (prog && !strcmp(cond_str(prog, "reason"), "ProgressDeadlineExceeded"))
		return set(msg, SYNC_HEALTH_DEGRADED,
			   gs_asprintf("Deployment \"%s\" exceeded its progress deadline",
				       mf_obj_name(o) ? mf_obj_name(o) : ""));
	if (updated < replicas)
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("Waiting for rollout to finish: %lld out of %lld new "
				       "replicas have been updated...", updated, replicas));
	if (total > updated)
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("Waiting for rollout to finish: %lld old replicas are "
				       "pending termination...", total - updated));
	if (available < updated)
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("Waiting for rollout to finish: %lld of %lld updated "
				       "replicas are available...", available, updated));
	return set(msg, SYNC_HEALTH_HEALTHY, NULL);
}

static enum sync_health statefulset(const struct mf_node *o, char **msg)
{
	long long replicas = 1, ready, updated, partition;
	const char *strategy = mf_node_dig_str(o, "spec", "updateStrategy", "type", NULL);
	const char *cur = mf_node_dig_str(o, "status", "currentRevision", NULL);
	const char *upd = mf_node_dig_str(o, "status", "updateRevision", NULL);

	if (!mf_node_dig(o, "status", "observedGeneration", NULL) || !generation_observed(o))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup("Waiting for statefulset spec update to be observed..."));
	if (mf_node_dig(o, "spec", "replicas", NULL))
		replicas = num(o, "spec", "replicas", NULL);
	ready = num(o, "status", "readyReplicas", NULL);
	if (ready < replicas)
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("Waiting for %lld pods to be ready...", replicas - ready));
	if (strategy && !strcmp(strategy, "OnDelete"))
		return set(msg, SYNC_HEALTH_HEALTHY,
			   gs_asprintf("statefulset has %lld ready pods", ready));
	if (mf_node_dig(o, "spec", "updateStrategy", "rollingUpdate", "partition", NULL)) {
		partition = 0;
		mf_node_int(mf_node_dig(o, "spec", "updateStrategy", "rollingUpdate", "partition",
					NULL), &partition);
		updated = num(o, "status", "updatedReplicas", NULL);
		if (updated < replicas - partition)
			return set(msg, SYNC_HEALTH_PROGRESSING,
				   gs_asprintf("Waiting for partitioned roll out to finish: %lld out "
					       "of %lld new pods have been updated...", updated,
					       replicas - partition));
		return set(msg, SYNC_HEALTH_HEALTHY,
			   gs_asprintf("partitioned roll out complete: %lld new pods have been "
				       "updated...", updated));
	}
	if (cur && upd && strcmp(cur, upd))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("waiting for statefulset rolling update to complete %lld "
				       "pods at revision %s...", num(o, "status", "updatedReplicas",
								     NULL), upd));
	return set(msg, SYNC_HEALTH_HEALTHY,
		   gs_asprintf("statefulset rolling update complete %lld pods at revision %s...",
			       num(o, "status", "currentReplicas", NULL), cur ? cur : ""));
}

static enum sync_health daemonset(const struct mf_node *o, char **msg)
{
	const char *strategy = mf_node_dig_str(o, "spec", "updateStrategy", "type", NULL);
	long long desired = num(o, "status", "desiredNumberScheduled", NULL);
	long long updated = num(o, "status", "updatedNumberScheduled", NULL);
	long long available = num(o, "status", "numberAvailable", NULL);

	if (!generation_observed(o))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup("Waiting for rollout to finish: observed daemon set "
				     "generation less than desired generation"));
	if (strategy && !strcmp(strategy, "OnDelete"))
		return set(msg, SYNC_HEALTH_HEALTHY,
			   gs_asprintf("daemon set %lld out of %lld new pods have been updated",
				       updated, desired));
	if (updated < desired)
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("Waiting for daemon set \"%s\" rollout to finish: %lld out "
				       "of %lld new pods have been updated...",
				       mf_obj_name(o) ? mf_obj_name(o) : "", updated, desired));
	if (available < desired)
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("Waiting for daemon set \"%s\" rollout to finish: %lld of "
				       "%lld updated pods are available...",
				       mf_obj_name(o) ? mf_obj_name(o) : "", available, desired));
	return set(msg, SYNC_HEALTH_HEALTHY, NULL);
}

static enum sync_health replicaset(const struct mf_node *o, char **msg)
{
	const struct mf_node *f = condition(o, "ReplicaFailure");
	long long replicas = 1, available = num(o, "status", "availableReplicas", NULL);

	if (mf_node_dig(o, "spec", "replicas", NULL))
		replicas = num(o, "spec", "replicas", NULL);
	if (!generation_observed(o))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup("Waiting for rollout to finish: observed replica set "
				     "generation less than desired generation"));
	if (f && !strcmp(cond_status(f), "True"))
		return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_str(f, "message")));
	if (available < replicas)
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("Waiting for rollout to finish: %lld out of %lld new "
				       "replicas are available...", available, replicas));
	return set(msg, SYNC_HEALTH_HEALTHY, NULL);
}

/* Container waiting reasons that mean "will not get better by itself". */
static bool bad_waiting_reason(const char *r)
{
	static const char *const bad[] = { "ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff",
					   "InvalidImageName", "CreateContainerConfigError",
					   "CreateContainerError", "RunContainerError",
					   "ErrImageNeverPull" };
	size_t i;

	for (i = 0; r && i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!strcmp(r, bad[i]))
			return true;
	return false;
}

static enum sync_health pod(const struct mf_node *o, char **msg)
{
	const char *phase = mf_node_dig_str(o, "status", "phase", NULL);
	const char *policy = mf_node_dig_str(o, "spec", "restartPolicy", NULL);
	const char *lists[] = { "initContainerStatuses", "containerStatuses" };
	bool all_ready = true;
	size_t l, i;

	for (l = 0; l < 2; l++) {
		const struct mf_node *cs = mf_node_dig(o, "status", lists[l], NULL);

		for (i = 0; i < mf_node_len(cs); i++) {
			const struct mf_node *c = mf_node_at(cs, i);
			const char *r = mf_node_dig_str(c, "state", "waiting", "reason", NULL);

			if (bad_waiting_reason(r)) {
				const char *m = mf_node_dig_str(c, "state", "waiting", "message",
								NULL);

				return set(msg, SYNC_HEALTH_DEGRADED,
					   gs_strdup(m && m[0] ? m : r));
			}
			if (l == 1 && !mf_node_bool(mf_node_get(c, "ready")))
				all_ready = false;
		}
	}
	if (!phase || !strcmp(phase, "Pending"))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup(mf_node_dig_str(o, "status", "message", NULL)
					     ? mf_node_dig_str(o, "status", "message", NULL)
					     : "Pod is pending"));
	if (!strcmp(phase, "Succeeded"))
		return set(msg, SYNC_HEALTH_HEALTHY, NULL);
	if (!strcmp(phase, "Failed"))
		return set(msg, SYNC_HEALTH_DEGRADED,
			   gs_strdup(mf_node_dig_str(o, "status", "message", NULL)
					     ? mf_node_dig_str(o, "status", "message", NULL)
					     : "Pod failed"));
	if (!strcmp(phase, "Running")) {
		if (policy && strcmp(policy, "Always"))
			return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Pod is running"));
		if (all_ready)
			return set(msg, SYNC_HEALTH_HEALTHY, NULL);
		return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Waiting for containers to be ready"));
	}
	return set(msg, SYNC_HEALTH_UNKNOWN, gs_asprintf("Pod phase %s", phase));
}

static enum sync_health job(const struct mf_node *o, char **msg)
{
	const struct mf_node *failed = condition(o, "Failed");
	const struct mf_node *complete = condition(o, "Complete");
	const struct mf_node *susp = condition(o, "Suspended");

	if (failed && !strcmp(cond_status(failed), "True"))
		return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_str(failed, "message")));
	if (complete && !strcmp(cond_status(complete), "True"))
		return set(msg, SYNC_HEALTH_HEALTHY, gs_strdup(cond_str(complete, "message")));
	if ((susp && !strcmp(cond_status(susp), "True")) ||
	    mf_node_bool(mf_node_dig(o, "spec", "suspend", NULL)))
		return set(msg, SYNC_HEALTH_SUSPENDED, gs_strdup("Job is suspended"));
	return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Job is running"));
}

static enum sync_health lb_ingress(const struct mf_node *o, char **msg, const char *what)
{
	if (mf_node_len(mf_node_dig(o, "status", "loadBalancer", "ingress", NULL)) > 0)
		return set(msg, SYNC_HEALTH_HEALTHY, NULL);
	return set(msg, SYNC_HEALTH_PROGRESSING,
		   gs_asprintf("Waiting for %s to get an ingress address", what));
}

static enum sync_health hpa(const struct mf_node *o, char **msg)
{
	const struct mf_node *conds = mf_node_dig(o, "status", "conditions", NULL);
	size_t i;

	for (i = 0; i < mf_node_len(conds); i++) {
		const struct mf_node *c = mf_node_at(conds, i);
		const char *reason = cond_str(c, "reason");

		if (!strcmp(cond_status(c), "False") && !strncmp(reason, "Failed", 6))
			return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_str(c, "message")));
	}
	/* autoscaling/v1 keeps conditions in an annotation; no status yet means
	 * the controller has not looked at it */
	if (!mf_node_len(conds) && !mf_node_dig(o, "status", "currentReplicas", NULL))
		return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Waiting to Autoscale"));
	return set(msg, SYNC_HEALTH_HEALTHY, NULL);
}

static enum sync_health condition_true(const struct mf_node *o, char **msg, const char *type,
				       enum sync_health when_false)
{
	const struct mf_node *c = condition(o, type);

	if (c && !strcmp(cond_status(c), "True"))
		return set(msg, SYNC_HEALTH_HEALTHY, NULL);
	if (c && !strcmp(cond_status(c), "False"))
		return set(msg, when_false, gs_asprintf("%s: %s", cond_str(c, "reason"),
							 cond_str(c, "message")));
	return set(msg, SYNC_HEALTH_PROGRESSING, gs_asprintf("Waiting for condition %s", type));
}

static enum sync_health crd(const struct mf_node *o, char **msg)
{
	const struct mf_node *na = condition(o, "NamesAccepted");

	if (na && !strcmp(cond_status(na), "False"))
		return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_str(na, "message")));
	return condition_true(o, msg, "Established", SYNC_HEALTH_PROGRESSING);
}

/* kstatus for anything else that reports conditions. */
static enum sync_health generic(const struct mf_node *o, char **msg)
{
	const struct mf_node *stalled = condition(o, "Stalled");
	const struct mf_node *reconciling = condition(o, "Reconciling");
	const struct mf_node *ready = condition(o, "Ready");

	if (!ready)
		ready = condition(o, "Available");
	if (stalled && !strcmp(cond_status(stalled), "True"))
		return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_str(stalled, "message")));
	if (mf_node_dig(o, "status", "observedGeneration", NULL) && !generation_observed(o))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup("Waiting for the controller to observe the latest generation"));
	if (reconciling && !strcmp(cond_status(reconciling), "True"))
		return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup(cond_str(reconciling, "message")));
	if (!ready)
		return set(msg, SYNC_HEALTH_NONE, NULL);
	if (!strcmp(cond_status(ready), "True"))
		return set(msg, SYNC_HEALTH_HEALTHY, NULL);
	return set(msg, SYNC_HEALTH_PROGRESSING,
		   gs_strdup(cond_str(ready, "message")[0] ? cond_str(ready, "message")
							    : cond_str(ready, "reason")));
}

enum sync_health sync_health_of(const struct mf_node *live, char **msg_out)
{
	char *group = NULL, *version = NULL;
	const char *kind = mf_obj_kind(live);
	enum sync_health h;
	char *msg = NULL;

	if (!live || !kind) {
		*msg_out = NULL;
		return SYNC_HEALTH_MISSING;
	}
	mf_split_api_version(mf_obj_api_version(live), &group, &version);
#define IS(g, k) (!strcmp(kind, k) && !strcmp(group, g))
	if (mf_node_dig(live, "metadata", "deletionTimestamp", NULL))
		h = set(&msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Pending deletion"));
	else if (IS("apps", "Deployment") || IS("extensions", "Deployment"))
		h = deployment(live, &msg);
	else if (IS("apps", "StatefulSet"))
		h = statefulset(live, &msg);
	else if (IS("apps", "DaemonSet") || IS("extensions", "DaemonSet"))
		h = daemonset(live, &msg);
	else if (IS("apps", "ReplicaSet") || IS("extensions", "ReplicaSet"))
		h = replicaset(live, &msg);
	else if (IS("", "Pod"))
		h = pod(live, &msg);
	else if (IS("batch", "Job"))
		h = job(live, &msg);
	else if (IS("batch", "CronJob"))
		h = mf_node_bool(mf_node_dig(live, "spec", "suspend", NULL))
			    ? set(&msg, SYNC_HEALTH_SUSPENDED, gs_strdup("CronJob is suspended"))
			    : SYNC_HEALTH_HEALTHY;
	else if (IS("", "Service")) {
		const char *type = mf_node_dig_str(live, "spec", "type", NULL);

		h = type && !strcmp(type, "LoadBalancer") ? lb_ingress(live, &msg, "the load balancer")
							  : SYNC_HEALTH_HEALTHY;
	} else if (IS("networking.k8s.io", "Ingress") || IS("extensions", "Ingress"))
		h = lb_ingress(live, &msg, "the ingress");
	else if (IS("", "PersistentVolumeClaim")) {
		const char *phase = mf_node_dig_str(live, "status", "phase", NULL);

		if (phase && !strcmp(phase, "Bound"))
			h = SYNC_HEALTH_HEALTHY;
		else if (phase && !strcmp(phase, "Lost"))
			h = set(&msg, SYNC_HEALTH_DEGRADED, gs_strdup("PersistentVolumeClaim is lost"));
		else
			h = set(&msg, SYNC_HEALTH_PROGRESSING,
				gs_strdup("Waiting for the claim to be bound"));
	} else if (IS("autoscaling", "HorizontalPodAutoscaler"))
		h = hpa(live, &msg);
	else if (IS("apiregistration.k8s.io", "APIService"))
		h = condition_true(live, &msg, "Available", SYNC_HEALTH_PROGRESSING);
	else if (IS("apiextensions.k8s.io", "CustomResourceDefinition"))
		h = crd(live, &msg);
	else if (IS("", "Namespace")) {
		const char *phase = mf_node_dig_str(live, "status", "phase", NULL);

		h = phase && !strcmp(phase, "Terminating")
			    ? set(&msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Namespace is terminating"))
			    : SYNC_HEALTH_NONE;
	} else if (!group[0] || strstr(group, "k8s.io") || !strcmp(group, "apps") ||
		   !strcmp(group, "batch") || !strcmp(group, "policy") ||
		   !strcmp(group, "autoscaling"))
		h = SYNC_HEALTH_NONE; /* built-in kinds without status: ConfigMap, RBAC... */
	else
		h = generic(live, &msg);
#undef IS
	free(group);
	free(version);
	*msg_out = msg;
	return h;
}
