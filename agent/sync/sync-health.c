/* sync-health.c - health per kind, with the rules Argo CD users know
 * (gitops-engine pkg/health, argo-cd resource_customizations) and a
 * kstatus-like rule for custom resources.
 *
 * Rules look at kind and group only, not version: apps/v1 and the
 * extensions/v1beta1 of old clusters, batch/v1beta1 and batch/v1 CronJob,
 * autoscaling v1/v2 HPA share one rule each.  Which groups are Kubernetes'
 * own is an exact list: cluster.x-k8s.io or gateway.networking.k8s.io are
 * custom resources although their names end in k8s.io.
 *
 * Live objects come from the API server as JSON, whose parser keeps the last
 * of duplicate keys (as sigs.k8s.io/yaml and encoding/json do); `gitsync
 * health` reads YAML the same way (MF_YAML_DUP_KEEP_LAST).  Git input keeps
 * refusing them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gs-alloc.h"
#include "gs-time.h"
#include "mf-json.h"
#include "mf-object.h"
#include "sync/sync-health.h"
#include "sync/sync.h"

/* An integer field; a string of digits counts too (Argo Rollouts' API gives
 * status.observedGeneration as a string). */
static bool int_of(const struct mf_node *n, long long *out)
{
	const char *s;
	char *end;
	long long v;

	if (!mf_node_int(n, out))
		return true;
	if (mf_node_type(n) != MF_STR || !(s = mf_node_str(n)) || !*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static long long num(const struct mf_node *obj, const char *a, const char *b, const char *c)
{
	long long v = 0;

	int_of(mf_node_dig(obj, a, b, c, NULL), &v);
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

static bool cond_is(const struct mf_node *c, const char *status)
{
	return c && !strcmp(cond_status(c), status);
}

static bool generation_observed(const struct mf_node *obj)
{
	const struct mf_node *o = mf_node_dig(obj, "status", "observedGeneration", NULL);
	long long gen = num(obj, "metadata", "generation", NULL), obs;

	if (!o)
		return gen == 0;
	/* old Argo Rollouts write a hash there: nothing to compare */
	if (!int_of(o, &obs))
		return true;
	return obs >= gen;
}

/* Whole seconds since the epoch of an RFC 3339 time (as the API server
 * writes metav1.Time); -1 when absent or unreadable. */
static long long rfc3339(const char *s)
{
	struct gs_error err = GS_ERROR_INIT;
	double t;

	if (!s || gs_time_parse_rfc3339(&t, s, &err) < 0) {
		gs_error_clear(&err);
		return -1;
	}
	return (long long)t; /* the fraction dropped, as before */
}

static enum sync_health deployment(const struct mf_node *o, char **msg)
{
	long long replicas = 0, updated, available, total; /* no spec.replicas: not checked, as Argo */
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
	long long replicas = 0, ready, updated, partition;
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
	long long replicas = 0, available = num(o, "status", "availableReplicas", NULL);

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

/* Argo's reading of a container that will not get better by itself:
 * ErrImagePull, CreateContainerConfigError, CrashLoopBackOff, ... */
static bool bad_waiting_reason(const char *r)
{
	size_t n = r ? strlen(r) : 0;

	return n && (!strncmp(r, "Err", 3) || (n >= 5 && !strcmp(r + n - 5, "Error")) ||
		     (n >= 7 && !strcmp(r + n - 7, "BackOff")));
}

static bool pod_ready(const struct mf_node *o)
{
	const struct mf_node *ready = condition(o, "Ready");
	const struct mf_node *cs = mf_node_dig(o, "status", "containerStatuses", NULL);
	size_t i;

	if (ready)
		return cond_is(ready, "True");
	/* no Ready condition (an object written by hand): every container */
	for (i = 0; i < mf_node_len(cs); i++)
		if (!mf_node_bool(mf_node_get(mf_node_at(cs, i), "ready")))
			return false;
	return mf_node_len(cs) > 0;
}

/* Why a failed pod failed: the first terminated container's message,
 * OOMKilled, or its exit code. */
static char *pod_fail_message(const struct mf_node *o)
{
	const char *lists[] = { "initContainerStatuses", "containerStatuses" };
	size_t l, i;

	for (l = 0; l < 2; l++) {
		const struct mf_node *cs = mf_node_dig(o, "status", lists[l], NULL);

		for (i = 0; i < mf_node_len(cs); i++) {
			const struct mf_node *c = mf_node_at(cs, i);
			const struct mf_node *t = mf_node_dig(c, "state", "terminated", NULL);
			const char *m = mf_node_dig_str(t, "message", NULL);
			const char *r = mf_node_dig_str(t, "reason", NULL);
			long long code = num(t, "exitCode", NULL, NULL);

			if (!t)
				continue;
			if (m && *m)
				return gs_strdup(m);
			if (r && !strcmp(r, "OOMKilled"))
				return gs_strdup(r);
			if (code)
				return gs_asprintf("container \"%s\" failed with exit code %lld",
						   cond_str(c, "name"), code);
		}
	}
	return NULL;
}

static enum sync_health pod(const struct mf_node *o, char **msg)
{
	const char *phase = mf_node_dig_str(o, "status", "phase", NULL);
	const char *policy = mf_node_dig_str(o, "spec", "restartPolicy", NULL);
	const char *smsg = mf_node_dig_str(o, "status", "message", NULL);
	const struct mf_node *cs = mf_node_dig(o, "status", "containerStatuses", NULL);
	/* the API server defaults restartPolicy; a file may leave it out */
	bool always = !policy || !strcmp(policy, "Always");
	struct gs_buf b = GS_BUF_INIT;
	size_t i;

	/* Only for pods that restart forever: a hook pod (OnFailure/Never)
	 * with ImagePullBackOff must not fail its hook early and then run
	 * after the sync is over once the image appears. */
	if (always) {
		for (i = 0; i < mf_node_len(cs); i++) {
			const struct mf_node *w = mf_node_dig(mf_node_at(cs, i), "state", "waiting",
							      NULL);

			if (bad_waiting_reason(mf_node_dig_str(w, "reason", NULL))) {
				const char *m = mf_node_dig_str(w, "message", NULL);

				gs_buf_printf(&b, "%s%s", b.len ? ", " : "",
					      m && *m ? m : mf_node_dig_str(w, "reason", NULL));
			}
		}
		if (b.len)
			return set(msg, SYNC_HEALTH_DEGRADED, gs_buf_detach(&b, NULL));
		gs_buf_release(&b);
	}
	if (!phase)
		return set(msg, SYNC_HEALTH_UNKNOWN, gs_strdup(smsg ? smsg : "Pod has no phase yet"));
	if (!strcmp(phase, "Pending"))
		return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup(smsg ? smsg : "Pod is pending"));
	if (!strcmp(phase, "Succeeded"))
		return set(msg, SYNC_HEALTH_HEALTHY, smsg ? gs_strdup(smsg) : NULL);
	if (!strcmp(phase, "Failed")) {
		char *m = smsg && *smsg ? gs_strdup(smsg) : pod_fail_message(o);

		return set(msg, SYNC_HEALTH_DEGRADED, m ? m : gs_strdup("Pod failed"));
	}
	if (!strcmp(phase, "Running")) {
		/* OnFailure/Never pods have a finite life (hooks): Progressing
		 * until they succeed or fail */
		if (!always)
			return set(msg, SYNC_HEALTH_PROGRESSING,
				   gs_strdup(smsg ? smsg : "Pod is running"));
		if (pod_ready(o))
			return set(msg, SYNC_HEALTH_HEALTHY, smsg ? gs_strdup(smsg) : NULL);
		/* not ready and a container died before: it is crash-looping
		 * between two back-offs */
		for (i = 0; i < mf_node_len(cs); i++) {
			const struct mf_node *t = mf_node_dig(mf_node_at(cs, i), "lastState",
							      "terminated", NULL);

			if (t)
				return set(msg, SYNC_HEALTH_DEGRADED,
					   smsg ? gs_strdup(smsg)
						: gs_asprintf("container \"%s\" restarted (%s)",
							      cond_str(mf_node_at(cs, i), "name"),
							      mf_node_dig_str(t, "reason", NULL)
								      ? mf_node_dig_str(t, "reason", NULL)
								      : "terminated"));
		}
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup(smsg ? smsg : "Waiting for containers to be ready"));
	}
	return set(msg, SYNC_HEALTH_UNKNOWN, gs_asprintf("Pod phase %s", phase));
}

static const char *cond_text(const struct mf_node *c);

/* Argo's reading: the Failed and Complete conditions count by their type
 * (the job controller only ever adds them True); a Suspended condition
 * ends "running" too, and is Suspended when True. */
static enum sync_health job(const struct mf_node *o, char **msg)
{
	const struct mf_node *failed = condition(o, "Failed");
	const struct mf_node *complete = condition(o, "Complete");
	const struct mf_node *susp = condition(o, "Suspended");

	if (failed)
		return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_str(failed, "message")));
	if (cond_is(susp, "True"))
		return set(msg, SYNC_HEALTH_SUSPENDED, gs_strdup(cond_text(susp)[0] ? cond_text(susp)
										  : "Job is suspended"));
	if (complete || susp)
		return set(msg, SYNC_HEALTH_HEALTHY,
			   gs_strdup(cond_str(complete ? complete : susp, "message")));
	return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Job is running"));
}

/* Argo CD's reading: suspend: true is Suspended (a suspended schedule is
 * settled, not failing).  A last success older than the last schedule, with
 * no job running, means the last run failed.  A job running, or no success
 * yet, cannot tell: Healthy (a wave must not wait for a schedule).  No
 * status at all: the controller has not seen it yet. */
static enum sync_health cronjob(const struct mf_node *o, char **msg)
{
	long long sched = rfc3339(mf_node_dig_str(o, "status", "lastScheduleTime", NULL));
	long long ok = rfc3339(mf_node_dig_str(o, "status", "lastSuccessfulTime", NULL));

	if (mf_node_bool(mf_node_dig(o, "spec", "suspend", NULL)))
		return set(msg, SYNC_HEALTH_SUSPENDED, gs_strdup("CronJob is suspended"));
	if (!mf_node_dig(o, "status", NULL))
		return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Waiting for CronJob"));
	if (sched < 0)
		return set(msg, SYNC_HEALTH_HEALTHY, gs_strdup("CronJob has not been scheduled yet"));
	if (ok < 0)
		return set(msg, SYNC_HEALTH_HEALTHY,
			   gs_strdup("CronJob has not completed successfully yet; it may not be "
				     "healthy"));
	if (mf_node_len(mf_node_dig(o, "status", "active", NULL)) > 0)
		return set(msg, SYNC_HEALTH_HEALTHY,
			   gs_strdup("CronJob is running; its last run may have failed"));
	if (ok < sched)
		return set(msg, SYNC_HEALTH_DEGRADED,
			   gs_strdup("the last run of the CronJob failed (lastSuccessfulTime is "
				     "older than lastScheduleTime)"));
	return set(msg, SYNC_HEALTH_HEALTHY,
		   gs_strdup("CronJob has completed its last run successfully"));
}

static enum sync_health lb_ingress(const struct mf_node *o, char **msg, const char *what)
{
	if (mf_node_len(mf_node_dig(o, "status", "loadBalancer", "ingress", NULL)) > 0)
		return set(msg, SYNC_HEALTH_HEALTHY, NULL);
	return set(msg, SYNC_HEALTH_PROGRESSING,
		   gs_asprintf("Waiting for %s to get an ingress address", what));
}

/* HPA conditions, v2 in status.conditions, v1 as JSON in an annotation.
 * Argo's reading: any condition that is a known failure makes it Degraded,
 * else an AbleToScale/ScalingLimited True makes it Healthy, else it is
 * still waiting to autoscale. */
static enum sync_health hpa_conditions(const struct mf_node *conds, char **msg)
{
	static const char *const degraded[][2] = {
		{ "AbleToScale", "FailedGetScale" },
		{ "AbleToScale", "FailedUpdateScale" },
		{ "ScalingActive", "FailedGetResourceMetric" },
		{ "ScalingActive", "FailedGetObjectMetric" },
		{ "ScalingActive", "FailedGetPodsMetric" },
		{ "ScalingActive", "FailedGetExternalMetric" },
		{ "ScalingActive", "FailedComputeMetricsReplicas" },
		{ "ScalingActive", "InvalidSelector" },
	};
	size_t i, j;

	for (i = 0; i < mf_node_len(conds); i++) {
		const struct mf_node *c = mf_node_at(conds, i);

		for (j = 0; j < sizeof(degraded) / sizeof(degraded[0]); j++)
			if (!strcmp(cond_str(c, "type"), degraded[j][0]) &&
			    !strcmp(cond_str(c, "reason"), degraded[j][1]))
				return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_str(c, "message")));
	}
	for (i = 0; i < mf_node_len(conds); i++) {
		const struct mf_node *c = mf_node_at(conds, i);
		const char *type = cond_str(c, "type");

		if ((!strcmp(type, "AbleToScale") || !strcmp(type, "ScalingLimited")) &&
		    cond_is(c, "True"))
			return set(msg, SYNC_HEALTH_HEALTHY, gs_strdup(cond_str(c, "message")));
	}
	return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Waiting to Autoscale"));
}

static enum sync_health hpa(const struct mf_node *o, char **msg)
{
	const char *ann = mf_obj_annotation(o, "autoscaling.alpha.kubernetes.io/conditions");
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *conds = NULL;
	enum sync_health h;

	if (mf_node_len(mf_node_dig(o, "status", "conditions", NULL)) || !ann)
		return hpa_conditions(mf_node_dig(o, "status", "conditions", NULL), msg);
	if (mf_json_parse(&conds, ann, strlen(ann), "annotation", &err) < 0 ||
	    mf_node_type(conds) != MF_SEQ) {
		mf_node_free(conds);
		return set(msg, SYNC_HEALTH_DEGRADED,
			   gs_asprintf("failed to parse HPA conditions in annotation "
				       "autoscaling.alpha.kubernetes.io/conditions: %s",
				       err.msg[0] ? err.msg : "not a list"));
	}
	h = hpa_conditions(conds, msg);
	mf_node_free(conds);
	return h;
}

static enum sync_health condition_true(const struct mf_node *o, char **msg, const char *type,
				       enum sync_health when_false)
{
	const struct mf_node *c = condition(o, type);

	if (cond_is(c, "True"))
		return set(msg, SYNC_HEALTH_HEALTHY, NULL);
	if (cond_is(c, "False"))
		return set(msg, when_false, gs_asprintf("%s: %s", cond_str(c, "reason"),
							 cond_str(c, "message")));
	return set(msg, SYNC_HEALTH_PROGRESSING, gs_asprintf("Waiting for condition %s", type));
}

static enum sync_health crd(const struct mf_node *o, char **msg)
{
	const struct mf_node *term = condition(o, "Terminating");
	const struct mf_node *na = condition(o, "NamesAccepted");
	const struct mf_node *est = condition(o, "Established");
	const struct mf_node *nss = condition(o, "NonStructuralSchema");

	if (!mf_node_len(mf_node_dig(o, "status", "conditions", NULL)))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup("Waiting for condition Established"));
	if (cond_is(term, "True"))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("CRD is being terminated: %s", cond_str(term, "message")));
	if (cond_is(na, "False"))
		return set(msg, SYNC_HEALTH_DEGRADED,
			   gs_asprintf("Names not accepted: %s", cond_str(na, "message")));
	/* Established=False with reason Installing is the API server's first
	 * moment after create: still on its way (Argo says Degraded, which
	 * would fail a wave for a fraction of a second) */
	if (cond_is(est, "False") && !strcmp(cond_str(est, "reason"), "Installing"))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("CRD is being established: %s", cond_str(est, "message")));
	if (!cond_is(est, "True"))
		return set(msg, est ? SYNC_HEALTH_DEGRADED : SYNC_HEALTH_PROGRESSING,
			   gs_asprintf("CRD is not established: %s",
				       est ? cond_str(est, "message") : "no Established condition"));
	if (cond_is(nss, "True"))
		return set(msg, SYNC_HEALTH_DEGRADED,
			   gs_asprintf("Schema violations found: %s", cond_str(nss, "message")));
	return set(msg, SYNC_HEALTH_HEALTHY, NULL);
}

static bool word_in(const char *s, const char *const *words, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

#define WORD_IN(s, list) word_in((s), (list), sizeof(list) / sizeof((list)[0]))

/* A condition reason that says something failed rather than "not yet". */
static bool failure_reason(const char *r)
{
	static const char *const marks[] = { "fail", "error", "invalid", "backoff", "degraded",
					      "crash", "unhealthy", "notvalid", "rejected" };
	size_t i;

	for (i = 0; r && i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strcasestr(r, marks[i]))
			return true;
	return false;
}

static const char *cond_text(const struct mf_node *c)
{
	const char *m = cond_str(c, "message");

	return m[0] ? m : cond_str(c, "reason");
}

/* status.phase or status.state in the words controllers use (Argo
 * Workflows: Pending/Running/Succeeded/Failed/Error). */
static bool phase_health(const struct mf_node *o, enum sync_health *h, char **msg)
{
	static const char *const healthy[] = { "Succeeded", "Healthy", "Ready", "Available",
					       "Complete", "Completed", "Bound", "Active",
					       "Established", "Deployed" };
	static const char *const progressing[] = { "Pending", "Running", "Progressing",
						   "Provisioning", "Creating", "Updating",
						   "Deploying", "Initializing", "Reconciling",
						   "InProgress" };
	static const char *const degraded[] = { "Failed", "Error", "Degraded", "Unhealthy",
						"CrashLoopBackOff" };
	static const char *const suspended[] = { "Paused", "Suspended" };
	const char *p = mf_node_dig_str(o, "status", "phase", NULL);
	const char *m = mf_node_dig_str(o, "status", "message", NULL);

	if (!p || mf_node_type(mf_node_dig(o, "status", "phase", NULL)) != MF_STR)
		p = mf_node_dig_str(o, "status", "state", NULL);
	if (!p)
		return false;
	if (WORD_IN(p, healthy))
		*h = SYNC_HEALTH_HEALTHY;
	else if (WORD_IN(p, progressing))
		*h = SYNC_HEALTH_PROGRESSING;
	else if (WORD_IN(p, degraded))
		*h = SYNC_HEALTH_DEGRADED;
	else if (WORD_IN(p, suspended))
		*h = SYNC_HEALTH_SUSPENDED;
	else
		return false;
	*msg = m && *m ? gs_strdup(m) : gs_asprintf("phase %s", p);
	return true;
}

/* Custom resources without a rule of their own: kstatus with Argo's common
 * readings, in this order (the first that applies decides):
 *   spec.suspend / spec.paused / Paused=True / Suspended=True -> Suspended
 *   Stalled=True                                              -> Degraded
 *   status.observedGeneration behind metadata.generation       -> Progressing
 *   Reconciling=True                                          -> Progressing
 *   Ready (else Available): observedGeneration of the condition behind
 *     -> Progressing; True -> Healthy; False with a failure reason ->
 *     Degraded; else Progressing
 *   status.phase / status.state words (Succeeded, Running, Failed, ...)
 *   anything else, including no status at all               -> no health
 * No status at all is no health, not Progressing: kinds that never write a
 * status (a Traefik Middleware, a CR whose operator is not installed) would
 * otherwise hold every wave until its timeout.  A Lua check restores
 * "no status yet is Progressing" for a kind that always reports one. */
static enum sync_health generic(const struct mf_node *o, char **msg)
{
	const struct mf_node *stalled = condition(o, "Stalled");
	const struct mf_node *reconciling = condition(o, "Reconciling");
	const struct mf_node *ready = condition(o, "Ready");
	const struct mf_node *paused = condition(o, "Paused");
	const struct mf_node *suspended = condition(o, "Suspended");
	enum sync_health h;
	long long gen = num(o, "metadata", "generation", NULL), cgen;

	if (mf_node_bool(mf_node_dig(o, "spec", "suspend", NULL)) ||
	    mf_node_bool(mf_node_dig(o, "spec", "paused", NULL)) || cond_is(paused, "True") ||
	    cond_is(suspended, "True"))
		return set(msg, SYNC_HEALTH_SUSPENDED,
			   gs_strdup(cond_is(paused, "True")      ? cond_text(paused)
				     : cond_is(suspended, "True") ? cond_text(suspended)
				     : mf_node_bool(mf_node_dig(o, "spec", "suspend", NULL))
					     ? "spec.suspend is true"
					     : "spec.paused is true"));
	if (cond_is(stalled, "True"))
		return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_text(stalled)));
	if (mf_node_dig(o, "status", "observedGeneration", NULL) && !generation_observed(o))
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup("Waiting for the controller to observe the latest generation"));
	if (cond_is(reconciling, "True"))
		return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup(cond_text(reconciling)));
	if (!ready)
		ready = condition(o, "Available");
	if (ready) {
		if (int_of(mf_node_get(ready, "observedGeneration"), &cgen) && cgen < gen)
			return set(msg, SYNC_HEALTH_PROGRESSING,
				   gs_asprintf("Waiting for the controller to observe generation "
					       "%lld (condition %s is of %lld)", gen,
					       cond_str(ready, "type"), cgen));
		if (cond_is(ready, "True"))
			return set(msg, SYNC_HEALTH_HEALTHY,
				   cond_str(ready, "message")[0]
					   ? gs_strdup(cond_str(ready, "message")) : NULL);
		if (cond_is(ready, "False") && failure_reason(cond_str(ready, "reason")))
			return set(msg, SYNC_HEALTH_DEGRADED, gs_strdup(cond_text(ready)));
		return set(msg, SYNC_HEALTH_PROGRESSING, gs_strdup(cond_text(ready)));
	}
	if (phase_health(o, &h, msg))
		return h;
	return set(msg, SYNC_HEALTH_NONE, NULL);
}

/* An Application among an app's objects (app of apps): its own health as
 * its controller reports it, so that a child Degraded makes the parent
 * Degraded and a child Progressing keeps a wave waiting.  Same layout for
 * ours (gitsync.io) and Argo CD's (argoproj.io): status.health.status. */
static enum sync_health application(const struct mf_node *o, char **msg)
{
	static const char *const names[] = { "", "Healthy", "Suspended", "Progressing",
					     "Missing", "Degraded", "Unknown" };
	const char *s = mf_node_dig_str(o, "status", "health", "status", NULL);
	const char *m = mf_node_dig_str(o, "status", "health", "message", NULL);
	size_t i;

	if (!s)
		return set(msg, SYNC_HEALTH_PROGRESSING,
			   gs_strdup("Waiting for the application to report its health"));
	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return set(msg, (enum sync_health)i,
				   gs_strdup(m && *m ? m : s));
	return set(msg, SYNC_HEALTH_UNKNOWN, gs_asprintf("unknown health status \"%s\"", s));
}

/* Argo Workflows, built into Argo CD: no phase yet is Progressing. */
static enum sync_health workflow(const struct mf_node *o, char **msg)
{
	const char *p = mf_node_dig_str(o, "status", "phase", NULL);
	const char *m = mf_node_dig_str(o, "status", "message", NULL);
	enum sync_health h;

	if (!p || !*p || !strcmp(p, "Pending") || !strcmp(p, "Running"))
		h = SYNC_HEALTH_PROGRESSING;
	else if (!strcmp(p, "Succeeded"))
		h = SYNC_HEALTH_HEALTHY;
	else if (!strcmp(p, "Failed") || !strcmp(p, "Error"))
		h = SYNC_HEALTH_DEGRADED;
	else
		h = SYNC_HEALTH_UNKNOWN;
	return set(msg, h, m && *m ? gs_strdup(m) : p && *p ? gs_asprintf("phase %s", p) : NULL);
}

/* Kubernetes' own API groups (besides the core group ""): their kinds
 * without a rule (ConfigMap, RBAC, ...) have no health.  Any other group is
 * a custom resource, even one ending in k8s.io. */
static bool builtin_group(const char *g)
{
	static const char *const groups[] = {
		"", "apps", "batch", "autoscaling", "policy", "extensions",
		"admissionregistration.k8s.io", "apiextensions.k8s.io",
		"apiregistration.k8s.io", "apiserverinternal.k8s.io", "authentication.k8s.io",
		"authorization.k8s.io", "certificates.k8s.io", "coordination.k8s.io",
		"discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
		"internal.apiserver.k8s.io", "networking.k8s.io", "node.k8s.io",
		"rbac.authorization.k8s.io", "resource.k8s.io", "scheduling.k8s.io",
		"storage.k8s.io", "storagemigration.k8s.io", "metrics.k8s.io",
	};
	size_t i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (!strcmp(g, groups[i]))
			return true;
	return false;
}

enum sync_health sync_health_builtin(const struct mf_node *live, char **msg_out,
				     const char **rule_out)
{
	char *group = NULL, *version = NULL;
	const char *kind = mf_obj_kind(live);
	const char *rule = NULL;
	enum sync_health h;
	char *msg = NULL;

	*msg_out = NULL;
	if (rule_out)
		*rule_out = "missing";
	if (!live || !kind)
		return SYNC_HEALTH_MISSING;
	mf_split_api_version(mf_obj_api_version(live), &group, &version);
#define IS(g, k) (!strcmp(kind, k) && !strcmp(group, g) && (rule = k))
	if (mf_node_dig(live, "metadata", "deletionTimestamp", NULL)) {
		rule = "deleting";
		h = set(&msg, SYNC_HEALTH_PROGRESSING, gs_strdup("Pending deletion"));
	} else if (IS("apps", "Deployment") || IS("extensions", "Deployment"))
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
		h = cronjob(live, &msg);
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
		else if (phase && !strcmp(phase, "Pending"))
			h = set(&msg, SYNC_HEALTH_PROGRESSING,
				gs_strdup("Waiting for the claim to be bound"));
		else
			h = set(&msg, SYNC_HEALTH_UNKNOWN,
				gs_asprintf("PersistentVolumeClaim phase \"%s\"", phase ? phase : ""));
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
	} else if (IS("argoproj.io", "Workflow"))
		h = workflow(live, &msg);
	else if (IS(APP_HEALTH_GROUP_GITSYNC, "Application") ||
		   IS(APP_HEALTH_GROUP_ARGO, "Application"))
		h = application(live, &msg);
	else if (builtin_group(group)) {
		rule = "none"; /* built-in kinds without status: ConfigMap, RBAC... */
		h = SYNC_HEALTH_NONE;
	} else {
		rule = "generic";
		h = generic(live, &msg);
	}
#undef IS
	free(group);
	free(version);
	*msg_out = msg;
	if (rule_out)
		*rule_out = rule;
	return h;
}

enum sync_health sync_health_of(const struct mf_node *live, char **msg_out)
{
	return sync_health_builtin(live, msg_out, NULL);
}
