/* sync-plan.c - ordering (kind order, waves), hooks and sync options read
 * from annotations: ours (gitsync.io/...) first, Argo CD's for users who
 * migrate (argocd.argoproj.io/...); and the plan: which targets become
 * tasks, in which order. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-object.h"
#include "sync/sync-private.h"

/* Kubernetes' usual apply order (Helm's InstallOrder, as gitops-engine
 * uses it): what others depend on comes first. */
static const char *const kind_order[] = {
	"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
	"StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
	"ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
	"RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
	"ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
	"StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
};

int sync_kind_order(const char *group, const char *kind)
{
	size_t i, n = sizeof(kind_order) / sizeof(kind_order[0]);

	(void)group;
	for (i = 0; kind && i < n; i++)
		if (!strcmp(kind_order[i], kind))
			return (int)i;
	return (int)n; /* custom resources after every built-in kind */
}

static const char *annotation2(const struct mf_node *obj, const char *ours, const char *argo)
{
	const char *v = mf_obj_annotation(obj, ours);

	return v ? v : mf_obj_annotation(obj, argo);
}

int sync_wave_of(const struct mf_node *obj)
{
	const char *v = annotation2(obj, "gitsync.io/sync-wave", "argocd.argoproj.io/sync-wave");
	char *end = NULL;

	/* a chart's hook-weight orders like a wave, as in gitops-engine */
	if (!v)
		v = mf_obj_annotation(obj, "helm.sh/hook-weight");
	long w;

	if (!v || !v[0])
		return 0;
	errno = 0;
	w = strtol(v, &end, 10);
	if (errno || *end || w < INT_MIN / 2 || w > INT_MAX / 2)
		return 0;
	return (int)w;
}

/* Does the comma-separated list contain item (spaces around items ignored)? */
static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!strncmp(p, item, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		p = strchr(p, ',');
	}
	return false;
}

enum sync_hook sync_hook_of(const struct mf_node *obj, unsigned *delete_policy_out)
{
	const char *v = annotation2(obj, "gitsync.io/hook", "argocd.argoproj.io/hook");
	const char *dp = annotation2(obj, "gitsync.io/hook-delete-policy",
				     "argocd.argoproj.io/hook-delete-policy");
	/* Helm hooks are what many charts carry; honour the common ones */
	const char *helm = mf_obj_annotation(obj, "helm.sh/hook");
	enum sync_hook h = SYNC_HOOK_NONE;
	unsigned pol = 0;

	if (v) {
		if (list_has(v, "PreSync"))
			h = SYNC_HOOK_PRESYNC;
		else if (list_has(v, "Sync"))
			h = SYNC_HOOK_SYNC;
		else if (list_has(v, "PostSync"))
			h = SYNC_HOOK_POSTSYNC;
		else if (list_has(v, "SyncFail"))
			h = SYNC_HOOK_SYNCFAIL;
		else if (list_has(v, "Skip"))
			h = SYNC_HOOK_SKIP;
	} else if (helm) {
		if (list_has(helm, "pre-install") || list_has(helm, "pre-upgrade"))
			h = SYNC_HOOK_PRESYNC;
		else if (list_has(helm, "post-install") || list_has(helm, "post-upgrade"))
			h = SYNC_HOOK_POSTSYNC;
		if (!dp)
			dp = mf_obj_annotation(obj, "helm.sh/hook-delete-policy");
	}
	if (dp) {
		if (list_has(dp, "BeforeHookCreation") || list_has(dp, "before-hook-creation"))
			pol |= SYNC_HOOK_DELETE_BEFORE_CREATION;
		if (list_has(dp, "HookSucceeded") || list_has(dp, "hook-succeeded"))
			pol |= SYNC_HOOK_DELETE_SUCCEEDED;
		if (list_has(dp, "HookFailed") || list_has(dp, "hook-failed"))
			pol |= SYNC_HOOK_DELETE_FAILED;
	}
	/* Argo CD's default when no policy is given */
	if (h != SYNC_HOOK_NONE && !pol)
		pol = SYNC_HOOK_DELETE_BEFORE_CREATION;
	if (delete_policy_out)
		*delete_policy_out = pol;
	return h;
}

static bool kv_in(const char *list, const char *key, const char *value, bool *found)
{
	size_t kl = strlen(key), vl = strlen(value);
	const char *p = list;

	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			const char *v = p + kl + 1;

			*found = true;
			return !strncasecmp(v, value, vl) &&
			       (v[vl] == '\0' || v[vl] == ',' || v[vl] == ' ');
		}
		p = strchr(p, ',');
	}
	return false;
}

bool sync_option_is(const struct mf_node *obj, const struct sync_options *opts, const char *key,
		    const char *value)
{
	const char *v = obj ? annotation2(obj, "gitsync.io/sync-options",
					  "argocd.argoproj.io/sync-options")
			    : NULL;
	bool found = false, r;
	size_t i;

	if (v) {
		r = kv_in(v, key, value, &found);
		if (found)
			return r;
	}
	for (i = 0; opts && i < opts->n_sync_options; i++) {
		found = false;
		r = kv_in(opts->sync_options[i], key, value, &found);
		if (found)
			return r;
	}
	return false;
}

static const char *const status_names[] = { "Unknown", "Synced", "OutOfSync", "Missing",
					    "Prune" };
static const char *const health_names[] = { "", "Healthy", "Suspended", "Progressing",
					    "Missing", "Degraded", "Unknown" };
static const char *const hook_names[] = { "", "PreSync", "Sync", "PostSync", "SyncFail",
					  "Skip" };
static const char *const phase_names[] = { "", "Running", "Succeeded", "Failed", "Error" };

const char *sync_status_str(enum sync_status s)
{
	return s <= SYNC_STATUS_PRUNE ? status_names[s] : "Unknown";
}

const char *sync_health_str(enum sync_health h)
{
	return h <= SYNC_HEALTH_UNKNOWN ? health_names[h] : "Unknown";
}

const char *sync_hook_str(enum sync_hook h)
{
	return h <= SYNC_HOOK_SKIP ? hook_names[h] : "";
}

const char *sync_phase_str(enum sync_phase p)
{
	return p <= SYNC_PHASE_ERROR ? phase_names[p] : "";
}

/* ---- the plan: which tasks, in which order ---- */

static enum sync_task_phase hook_phase(enum sync_hook h)
{
	switch (h) {
	case SYNC_HOOK_PRESYNC: return SYNC_TASK_PRESYNC;
	case SYNC_HOOK_POSTSYNC: return SYNC_TASK_POSTSYNC;
	case SYNC_HOOK_SYNCFAIL: return SYNC_TASK_SYNCFAIL;
	default: return SYNC_TASK_SYNC;
	}
}

/* A task with what its order depends on: qsort's comparison gets no
 * context, and a file-scope pointer to the run would be shared by every
 * thread running a sync (two workers sorting at once crashed the agent). */
struct task {
	size_t i;
	const struct target *t;
	const struct sync_resource *r;
};

static int task_cmp(const void *a, const void *b)
{
	const struct task *tx = a, *ty = b;
	const struct target *x = tx->t, *y = ty->t;
	const struct sync_resource *rx = tx->r, *ry = ty->r;
	int c;

	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	if (x->wave != y->wave)
		return x->wave < y->wave ? -1 : 1;
	if (x->kind_order != y->kind_order)
		return x->kind_order < y->kind_order ? -1 : 1;
	if ((c = strcmp(rx->kind, ry->kind)) != 0)
		return c;
	if ((c = strcmp(rx->ns, ry->ns)) != 0)
		return c;
	return strcmp(rx->name, ry->name);
}

/* The tasks of a sync, in order (order: indexes into run->t, room for
 * run->nt); returns their number. */
size_t sync_plan(struct run *run, size_t *order)
{
	const struct sync_options *o = run->opts;
	struct task *tasks = gs_calloc(run->nt + 1, sizeof(*tasks));
	size_t ntasks = 0, i;

	/* tasks: everything out of sync (or all with ApplyOutOfSyncOnly=false)
	 * and every hook except Skip */
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];
		struct sync_resource *r = &run->rep->v[t->ri];

		if (r->hook == SYNC_HOOK_SKIP)
			continue;
		if (!r->hook && r->status == SYNC_STATUS_SYNCED && !(o->flags & SYNC_APPLY_ALL) &&
		    !t->apply_always)
			continue;
		t->phase = hook_phase(r->hook);
		/* Namespaces and CRDs before everything, hooks included: the
		 * rest cannot even be validated before they exist */
		if (!r->hook &&
		    (!strcmp(r->kind, "Namespace") || !strcmp(r->kind, "CustomResourceDefinition")) &&
		    !t->wave_annotated)
			t->phase = SYNC_TASK_PREREQ;
		tasks[ntasks++] = (struct task){ i, t, r };
	}
	qsort(tasks, ntasks, sizeof(*tasks), task_cmp);
	for (i = 0; i < ntasks; i++)
		order[i] = tasks[i].i;
	free(tasks);
	return ntasks;
}
