/* sync-apply.c - writes: server-side apply (batched or one by one),
 * Replace, takeover of objects created by kubectl, CreateNamespace. */
#include "sync/sync-private.h"

#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-json.h"
#include "mf-object.h"

/* Merge the fieldsV1 tree src into dst (both maps; dst edited). */
static void fields_union(struct mf_node *dst, const struct mf_node *src)
{
	size_t i;

	for (i = 0; i < mf_node_len(src); i++) {
		const char *k = mf_node_key(src, i);
		struct mf_node *d = mf_node_get(dst, k);

		if (!d)
			mf_node_set(dst, k, mf_node_clone(mf_node_at(src, i)));
		else if (mf_node_type(d) == MF_MAP)
			fields_union(d, mf_node_at(src, i));
	}
}

/* Objects first created by `kubectl apply` (or `kubectl create`) keep those
 * managers as co-owners after our first apply, so a field later removed from
 * Git would stay.  Fold their field sets into ours (what kubectl's csaupgrade
 * does) and apply again so we alone own, and prune, what we manage. */
static int take_over(struct run *run, struct target *t, const struct mf_node *applied,
		     struct gs_error *err)
{
	const struct mf_node *mfs = mf_node_dig(applied, "metadata", "managedFields", NULL);
	const char *rv = mf_node_dig_str(applied, "metadata", "resourceVersion", NULL);
	struct mf_node *list = mf_node_new(MF_SEQ), *ours = NULL;
	struct kube_response resp = KUBE_RESPONSE_INIT;
	struct gs_buf body = GS_BUF_INIT;
	char *path = NULL;
	bool changed = false;
	size_t i;
	int rc = GS_OK;

	for (i = 0; i < mf_node_len(mfs); i++) {
		const struct mf_node *e = mf_node_at(mfs, i);
		const char *mgr = mf_node_dig_str(e, "manager", NULL);
		const char *op = mf_node_dig_str(e, "operation", NULL);

		if (mgr && !strcmp(mgr, MANAGER) && op && !strcmp(op, "Apply") && !ours) {
			ours = mf_node_clone(e);
			mf_node_append(list, ours);
		}
	}
	if (!ours || !rv)
		goto cleanup;
	for (i = 0; i < mf_node_len(mfs); i++) {
		const struct mf_node *e = mf_node_at(mfs, i);
		const char *mgr = mf_node_dig_str(e, "manager", NULL);
		const char *op = mf_node_dig_str(e, "operation", NULL);

		if (mgr && !strcmp(mgr, MANAGER) && op && !strcmp(op, "Apply"))
			continue;
		if (mgr && (!strcmp(mgr, "kubectl-client-side-apply") ||
			    !strcmp(mgr, "kubectl-create")) &&
		    op && !strcmp(op, "Update") && mf_node_get(e, "fieldsV1")) {
			fields_union(mf_node_ensure(ours, "fieldsV1", MF_MAP),
				     mf_node_get(e, "fieldsV1"));
			changed = true;
			continue;
		}
		mf_node_append(list, mf_node_clone(e));
	}
	if (!changed)
		goto cleanup;
	gs_buf_puts(&body, "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":");
	{
		struct mf_node *rvn = mf_node_new_str(rv);

		mf_json_emit(&body, rvn, 0);
		mf_node_free(rvn);
	}
	gs_buf_puts(&body, "},{\"op\":\"replace\",\"path\":\"/metadata/managedFields\",\"value\":");
	mf_json_emit(&body, list, 0);
	gs_buf_puts(&body, "}]");
	path = kube_resource_path(t->res, mf_obj_namespace(t->obj), mf_obj_name(t->obj));
	rc = kube_client_request(run->kc, "PATCH", path, "application/json-patch+json", body.ptr,
				 body.len, &resp, err);
	if (rc == GS_OK && resp.status != 200)
		rc = kube_status_error(&resp, err);
	if (rc == GS_OK)
		rc = kube_client_apply(run->kc, NULL, t->res, t->obj, MANAGER, KUBE_APPLY_FORCE,
				       err);
cleanup:
	kube_response_release(&resp);
	gs_buf_release(&body);
	free(path);
	mf_node_free(list);
	return rc;
}

/* t was applied; out is what the server stored. */
static void applied(struct run *run, struct target *t, const struct mf_node *out)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	const char *new_rv = mf_node_dig_str(out, "metadata", "resourceVersion", NULL);

	r->result = SYNC_RESULT_SYNCED;
	if (!t->exists)
		sync_set_msg(r, "%s created", r->kind);
	else if (new_rv && t->live_rv && !strcmp(new_rv, t->live_rv) && !t->takeover)
		sync_set_msg(r, "%s unchanged", r->kind);
	else
		sync_set_msg(r, "%s configured", r->kind);
	r->status = SYNC_STATUS_SYNCED;
	t->applied = true;
	t->exists = true;
	sync_set_health(run, t->ri, out);
	/* the server stored exactly what we applied: in sync at its version */
	if (!r->hook)
		sync_memo_store(run->se, t->key, t->hash, new_rv, true);
	/* from now on the cluster has the object: keep only the row (a CRD's
	 * group and kind are still needed to wait for it) */
	if (strcmp(r->kind, "CustomResourceDefinition")) {
		mf_node_free(t->obj);
		t->obj = NULL;
		free(t->json);
		t->json = NULL;
	}
	free(t->live_rv);
	t->live_rv = NULL;
	sync_progress(run, t->ri);
}

/* The object may change between our apply and the managedFields patch (a
 * controller writing its status): the patch's resourceVersion test then
 * fails.  Start again from the object as it is now. */
static int take_over_retry(struct run *run, struct target *t, const struct mf_node *applied,
			   struct gs_error *err)
{
	const struct sync_resource *r = &run->rep->v[t->ri];
	struct mf_node *cur = NULL;
	int rc, attempt;

	rc = take_over(run, t, applied, err);
	for (attempt = 0; attempt < 5 && (rc == GS_EINVAL || rc == GS_ECONFLICT); attempt++) {
		gs_error_clear(err);
		mf_node_free(cur);
		cur = NULL;
		if ((rc = kube_client_get(run->kc, &cur, t->res, r->ns, r->name, err)) < 0)
			break;
		rc = take_over(run, t, cur, err);
	}
	mf_node_free(cur);
	return rc;
}

/* Force=true,Replace=true: delete, wait until gone; the apply creates it
 * again (Argo CD's meaning).  Never for CRDs and Namespaces: deleting them
 * deletes every custom resource of the kind, every object in the namespace. */
static int recreate(struct run *run, struct target *t, struct gs_error *e)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	int rc;

	rc = kube_client_delete(run->kc, t->res, r->ns, r->name, "Foreground", e);
	if (rc < 0 && rc != GS_ENOTFOUND)
		return rc;
	for (;;) {
		struct mf_node *tmp = NULL;

		rc = kube_client_get(run->kc, &tmp, t->res, r->ns, r->name, e);
		mf_node_free(tmp);
		if (rc == GS_ENOTFOUND)
			break;
		if (rc < 0)
			return rc;
		sync_sleep_ms(POLL_MS);
	}
	gs_error_clear(e);
	t->exists = false;
	return GS_OK;
}

/* Replace=true: PUT of the whole object, as `kubectl replace` does: fields
 * not in the source go, whoever set them; the object (uid, its children)
 * stays.  The apply that follows keeps our fields owned by Apply. */
static int replace(struct run *run, struct target *t, struct gs_error *e)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	struct kube_response resp = KUBE_RESPONSE_INIT;
	struct gs_buf body = GS_BUF_INIT;
	char *base = kube_resource_path(t->res, r->ns, r->name);
	char *path = gs_asprintf("%s?fieldManager=%s", base, MANAGER);
	struct mf_node *copy = mf_node_clone(t->obj), *live = NULL;
	const char *rv = t->live_rv;
	int rc = GS_OK;

	/* some kinds (CRDs) refuse an update without the version it replaces */
	if (!rv && (rc = kube_client_get(run->kc, &live, t->res, r->ns, r->name, e)) == GS_OK)
		rv = mf_node_dig_str(live, "metadata", "resourceVersion", NULL);
	if (rc < 0)
		goto cleanup;
	if (rv)
		mf_node_set_str_value(mf_node_ensure(copy, "metadata", MF_MAP), "resourceVersion",
				      rv);
	mf_json_emit(&body, copy, 0);
	rc = kube_client_request(run->kc, "PUT", path, "application/json", body.ptr, body.len,
				 &resp, e);
	if (rc == GS_OK && resp.status != 200 && resp.status != 201) {
		rc = kube_status_error(&resp, e);
		gs_error_wrap(e, "Replace=true (PUT)");
	}
cleanup:
	mf_node_free(copy);
	mf_node_free(live);
	kube_response_release(&resp);
	gs_buf_release(&body);
	free(path);
	free(base);
	return rc;
}

bool sync_deletable_by_option(const char *group, const char *kind)
{
	return !((!strcmp(group, "") && !strcmp(kind, "Namespace")) ||
		 (!strcmp(group, "apiextensions.k8s.io") &&
		  !strcmp(kind, "CustomResourceDefinition")));
}

int sync_apply_one(struct run *run, struct target *t, struct gs_error *err)
{
	struct sync_resource *r = &run->rep->v[t->ri];
	struct mf_node *out = NULL;
	struct gs_error e = GS_ERROR_INIT;
	int rc;

	sync_target_materialize(t);
	if (t->exists && t->recreate && (rc = recreate(run, t, &e)) < 0)
		goto fail;
	if (t->exists && t->replace) {
		if (t->force && sync_deletable_by_option(r->group, r->kind))
			rc = recreate(run, t, &e);
		else
			rc = replace(run, t, &e);
		if (rc < 0)
			goto fail;
	}
	rc = kube_client_apply(run->kc, &out, t->res, t->obj, MANAGER, KUBE_APPLY_FORCE, &e);
	if (rc < 0)
		goto fail;
	if (t->takeover && (rc = take_over_retry(run, t, out, &e)) < 0)
		goto fail;
	applied(run, t, out);
	mf_node_free(out);
	return GS_OK;
fail:
	mf_node_free(out);
	if (sync_write_stops_run(run, rc)) {
		*err = e;
		return rc;
	}
	sync_fail_target(run, t, &e);
	sync_progress(run, t->ri);
	return GS_OK;
}

static int on_applied(int rc, struct mf_node *out, const struct gs_error *e, void *payload)
{
	struct target *t = payload;
	struct run *run = t->run;

	if (sync_write_stops_run(run, rc))
		return sync_stop_run(run, rc, e);
	if (rc < 0) {
		sync_fail_target(run, t, e);
		sync_progress(run, t->ri);
		return 1; /* start nothing more: the sync has failed */
	}
	applied(run, t, out);
	mf_node_free(out);
	return 0;
}

/* Objects of one wave and kind group are independent of each other: apply
 * them all at once.  Objects needing more than one request in order
 * (Replace=true, a takeover from kubectl) and CRDs (waited for after)
 * go one by one. */
bool sync_batchable(struct run *run, const struct target *t)
{
	const struct sync_resource *r = &run->rep->v[t->ri];

	return !r->hook && !t->deferred && !t->failed && !t->takeover &&
	       strcmp(r->kind, "CustomResourceDefinition") &&
	       !(t->exists && (t->replace || t->recreate));
}

int sync_apply_group(struct run *run, const size_t *which, size_t n, struct gs_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct target *t = &run->t[which[i]];

		t->run = run;
		kube_batch_apply_json(run->batch, t->res, run->rep->v[t->ri].ns,
				      run->rep->v[t->ri].name, t->json, t->json_len, MANAGER,
				      KUBE_APPLY_FORCE, on_applied, t);
	}
	return sync_run_batch(run, err);
}


int sync_create_namespace(struct run *run, struct gs_error *err)
{
	const struct kube_resource *res = NULL;
	struct mf_node *ns = mf_node_new(MF_MAP);
	int rc;

	mf_node_set_str_value(ns, "apiVersion", "v1");
	mf_node_set_str_value(ns, "kind", "Namespace");
	mf_obj_set_name(ns, run->opts->ns);
	rc = kube_client_resource(run->kc, &res, "", "v1", "Namespace", err);
	if (rc == GS_OK)
		rc = kube_client_create(run->kc, NULL, res, ns, err);
	if (rc == GS_ECONFLICT)
		rc = GS_OK; /* created meanwhile */
	mf_node_free(ns);
	if (rc < 0)
		gs_error_wrap(err, "CreateNamespace");
	return rc;
}
