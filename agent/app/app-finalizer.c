/* app-finalizer.c - the resources finalizer: an Application deleted with
 * `kubectl delete` while it carries resources-finalizer.gitsync.io (or
 * Argo CD's resources-finalizer.argocd.argoproj.io) takes its objects with
 * it, as `app delete --cascade` does; without the finalizer they stay.
 *
 * Foreground (the plain name): objects are deleted with
 * propagationPolicy=Foreground and the finalizer is removed only once none
 * of them is left, so the Application disappears last.  Background (the
 * ".../background" names): objects are deleted with Background propagation
 * and the finalizer goes as soon as the deletes were accepted; their own
 * dependents are collected afterwards by Kubernetes. */
#include "app/app.h"

#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-object.h"

static const char *const foreground[] = { APP_FINALIZER, "resources-finalizer.argocd.argoproj.io" };
static const char *const background[] = { APP_FINALIZER "/background",
					  "resources-finalizer.argocd.argoproj.io/background" };

static bool is_one_of(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return true;
	return false;
}

static bool is_ours(const char *s)
{
	return is_one_of(s, foreground, 2) || is_one_of(s, background, 2);
}

bool app_has_finalizer(const struct mf_node *app)
{
	const struct mf_node *f = mf_node_dig(app, "metadata", "finalizers", NULL);
	size_t i;

	for (i = 0; i < mf_node_len(f); i++)
		if (is_ours(mf_node_str(mf_node_at(f, i))))
			return true;
	return false;
}

/* The finalizer list without ours, guarded by resourceVersion (a 409 when
 * another controller changed the list meanwhile: the next pass retries). */
static int remove_finalizer(struct kube_client *kc, const struct mf_node *app,
			    struct gs_error *err)
{
	const struct mf_node *f = mf_node_dig(app, "metadata", "finalizers", NULL);
	const char *rv = mf_node_dig_str(app, "metadata", "resourceVersion", NULL);
	struct mf_node *patch = mf_node_new(MF_MAP), *md, *list;
	size_t i;
	int rc;

	md = mf_node_ensure(patch, "metadata", MF_MAP);
	list = mf_node_ensure(md, "finalizers", MF_SEQ);
	for (i = 0; i < mf_node_len(f); i++)
		if (!is_ours(mf_node_str(mf_node_at(f, i))))
			mf_node_append(list, mf_node_clone(mf_node_at(f, i)));
	if (rv)
		mf_node_set_str_value(md, "resourceVersion", rv);
	rc = app_patch(kc, mf_obj_namespace(app), mf_obj_name(app), patch, err);
	mf_node_free(patch);
	return rc;
}

int app_finalize(bool *done_out, struct app_env *env, const struct mf_node *app,
		 struct gs_error *err)
{
	const struct mf_node *f = mf_node_dig(app, "metadata", "finalizers", NULL);
	struct sync_report rep = SYNC_REPORT_INIT;
	struct app_sync_opts so;
	bool fg = false;
	size_t i, left = 0;
	int rc;

	*done_out = false;
	for (i = 0; i < mf_node_len(f); i++)
		fg = fg || is_one_of(mf_node_str(mf_node_at(f, i)), foreground, 2);
	/* an empty desired set with prune deletes exactly what the app tracks */
	app_sync_opts_init(&so, app);
	so.o.flags = SYNC_PRUNE | SYNC_FULL_SCAN | SYNC_ALLOW_EMPTY |
		     (fg ? SYNC_PRUNE_FOREGROUND : 0);
	rc = sync_run(env->se, &rep, NULL, 0, &so.o, err);
	if (rc)
		goto cleanup;
	if (rep.phase != SYNC_PHASE_SUCCEEDED) {
		rc = gs_error_set(err, GS_ERR,
				  "cannot delete the resources of application '%s': %s (the "
				  "finalizer stays until they are deleted)",
				  mf_obj_name(app), rep.message ? rep.message : "prune failed");
		goto cleanup;
	}
	if (fg) {
		/* foreground: the app goes last, once nothing of it is left */
		sync_report_release(&rep);
		so.o.flags = SYNC_FULL_SCAN;
		if ((rc = sync_compare(env->se, &rep, NULL, 0, &so.o, err)))
			goto cleanup;
		for (i = 0; i < rep.n; i++)
			if (rep.v[i].status == SYNC_STATUS_PRUNE && !rep.v[i].prune_disabled)
				left++;
		if (left)
			goto cleanup;
	}
	if ((rc = remove_finalizer(env->kc, app, err)))
		goto cleanup;
	*done_out = true;
cleanup:
	app_sync_opts_release(&so);
	sync_report_release(&rep);
	return rc;
}
