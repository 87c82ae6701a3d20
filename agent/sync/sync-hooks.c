/* sync-hooks.c - hooks: delete-before-creation, create, wait for completion,
 * delete by policy; SyncFail hooks after a failure. */
#include "sync/sync-private.h"

#include <stdio.h>
#include <stdlib.h>

#include "gs-alloc.h"
#include "mf-object.h"

int sync_run_hook(struct run *run, struct target *t, bool *ok, struct gs_error *err)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	struct gs_error e = GS_ERROR_INIT;
	bool *which = gs_calloc(run->nt, sizeof(bool));
	struct mf_node *out = NULL;
	bool done = false;
	int rc = GS_OK;

	*ok = false;
	if (!t->res) {
		rc = kube_client_resource(run->kc, &t->res, r->group, r->version, r->kind, &e);
		if (rc < 0) {
			sync_fail_target(run, t, &e);
			rc = GS_OK;
			goto cleanup;
		}
	}
	if (t->hook_policy & SYNC_HOOK_DELETE_BEFORE_CREATION && r->name[0]) {
		rc = kube_client_delete(run->kc, t->res, r->ns, r->name, "Foreground", &e);
		while (rc == GS_OK) {
			struct mf_node *tmp = NULL;

			sync_sleep_ms(POLL_MS);
			rc = kube_client_get(run->kc, &tmp, t->res, r->ns, r->name, &e);
			mf_node_free(tmp);
		}
		if (rc != GS_ENOTFOUND) {
			sync_fail_target(run, t, &e);
			rc = GS_OK;
			goto cleanup;
		}
	}
	rc = kube_client_apply(run->kc, &out, t->res, t->obj, MANAGER, KUBE_APPLY_FORCE, &e);
	if (rc < 0) {
		sync_fail_target(run, t, &e);
		rc = GS_OK;
		goto cleanup;
	}
	r->result = SYNC_RESULT_SYNCED;
	r->status = SYNC_STATUS_SYNCED;
	sync_set_msg(r, "%s created", r->kind);
	sync_set_health(run, t->ri, out);
	sync_progress(run, t->ri);
	which[t - run->t] = true;
	rc = sync_wait_healthy(run, which, run->opts->timeout_s > 0 ? run->opts->timeout_s : 300, true,
			  &done, err);
	if (rc < 0)
		goto cleanup;
	*ok = done;
	if (!done) {
		e.code = GS_ERR;
		snprintf(e.msg, sizeof(e.msg), "hook %s: %s", sync_health_str(r->health),
			 r->health_msg ? r->health_msg : "did not complete");
		sync_fail_target(run, t, &e);
	} else {
		sync_set_msg(r, "%s completed", r->kind);
	}
	sync_progress(run, t->ri);
	if ((done && (t->hook_policy & SYNC_HOOK_DELETE_SUCCEEDED)) ||
	    (!done && (t->hook_policy & SYNC_HOOK_DELETE_FAILED))) {
		rc = kube_client_delete(run->kc, t->res, r->ns, r->name, "Background", &e);
		if (rc == GS_ENOTFOUND)
			rc = GS_OK;
		if (rc < 0)
			*err = e;
	}
cleanup:
	mf_node_free(out);
	free(which);
	return rc;
}

int sync_run_syncfail_hooks(struct run *run, const size_t *order, size_t ntasks,
			      struct gs_error *err)
{
	size_t k;
	bool ok;
	int rc;

	for (k = 0; k < ntasks; k++) {
		struct target *t = &run->t[order[k]];

		if (run->rep->v[t->ri].hook == SYNC_HOOK_SYNCFAIL &&
		    (rc = sync_run_hook(run, t, &ok, err)) < 0)
			return rc;
	}
	return GS_OK;
}
