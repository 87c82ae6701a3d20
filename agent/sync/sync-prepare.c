/* sync-prepare.c - input -> targets: Lists expanded, namespace defaulted,
 * tracking label and id set, kind resolved by discovery (or deferred to a
 * CRD of the same sync), apply body serialized and hashed. */
#include "sync/sync-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-json.h"
#include "mf-object.h"

/* Is this kind defined by a CRD in the desired set? */
static bool defined_by_crd(struct run *run, const char *group, const char *kind)
{
	size_t i;

	for (i = 0; i < run->nt; i++) {
		const struct mf_node *o = run->t[i].obj;
		const char *k = o ? mf_obj_kind(o) : NULL, *g;

		if (!k || strcmp(k, "CustomResourceDefinition"))
			continue;
		g = mf_node_dig_str(o, "spec", "group", NULL);
		if (g && !strcmp(g, group) &&
		    mf_node_dig_str(o, "spec", "names", "kind", NULL) &&
		    !strcmp(mf_node_dig_str(o, "spec", "names", "kind", NULL), kind))
			return true;
	}
	return false;
}

/* (Re)serialize t's desired object; its hash is the memo's key. */
void sync_target_set_json(struct target *t, const struct mf_node *obj)
{
	struct gs_buf b = GS_BUF_INIT;

	mf_json_emit(&b, obj, 0);
	free(t->json);
	t->hash = gs_fnv1a(GS_FNV1A_INIT, b.ptr, b.len);
	t->json = gs_buf_detach(&b, &t->json_len);
}

/* The desired object as a tree: t->obj, or parsed from its JSON.  *tmp
 * gets what the caller must free. */
const struct mf_node *sync_target_desired(struct target *t, struct mf_node **tmp)
{
	struct gs_error e = GS_ERROR_INIT;

	*tmp = NULL;
	if (t->obj || !t->json)
		return t->obj;
	if (mf_json_parse(tmp, t->json, t->json_len, "", &e) < 0)
		return NULL; /* we wrote it: cannot happen */
	return *tmp;
}

/* Make t->obj hold the tree (for the requests made one by one). */
void sync_target_materialize(struct target *t)
{
	struct mf_node *tmp = NULL;

	if (!t->obj && sync_target_desired(t, &tmp))
		t->obj = tmp;
}

/* Fill targets from the input: clone, namespace, tracking, protocols,
 * discovery.  Per-object problems are recorded, not returned. */
static int prepare(struct run *run, struct mf_node *const *objs, size_t n, bool take,
		   struct gs_error *err)
{
	const struct sync_options *o = run->opts;
	size_t i, freed = 0;
	int rc = GS_OK;

	for (i = 0; i < n; i++) {
		/* taken objects already read: what the run needs is in its JSON */
		while (take && freed < i)
			mf_node_free(objs[freed++]);
		struct mf_node *obj;
		struct target *t;
		struct mf_id id = MF_ID_INIT;
		struct gs_error e = GS_ERROR_INIT;
		char *tid;

		/* a List (kubectl get -o yaml) stands for its items */
		if (mf_obj_is_object(objs[i]) && mf_node_type(mf_node_get(objs[i], "items")) == MF_SEQ &&
		    strlen(mf_obj_kind(objs[i])) >= 4 &&
		    !strcmp(mf_obj_kind(objs[i]) + strlen(mf_obj_kind(objs[i])) - 4, "List")) {
			const struct mf_node *items = mf_node_get(objs[i], "items");
			struct mf_node **v = gs_calloc(mf_node_len(items) + 1, sizeof(*v));
			size_t j;

			for (j = 0; j < mf_node_len(items); j++)
				v[j] = mf_node_at(items, j);
			rc = prepare(run, v, mf_node_len(items), false, err);
			free(v);
			if (rc < 0)
				break;
			continue;
		}
		if (!mf_obj_is_object(objs[i]) || !mf_obj_name(objs[i])) {
			const struct mf_pos *pos = mf_node_pos(objs[i]);

			rc = gs_error_at(err, GS_EINVAL, pos,
					 "not a Kubernetes object (apiVersion, kind and "
					 "metadata.name are required)");
			break;
		}
		obj = mf_node_clone(objs[i]);
		GS_ALLOC_GROW(run->t, run->nt + 1, run->at);
		t = &run->t[run->nt++];
		memset(t, 0, sizeof(*t));
		t->obj = obj;
		mf_id_from_object(&id, obj);
		rc = kube_client_resource(run->kc, &t->res, id.group, id.version, id.kind, &e);
		if (rc == GS_ENOTFOUND && !gs_strmap_get(&run->rediscovered, id.group)) {
			/* a long-lived client (the agent's) may have cached this
			 * group before its CRD was created: ask again, once a run */
			gs_strmap_put(&run->rediscovered, id.group, 0);
			kube_client_invalidate(run->kc, id.group, NULL);
			gs_error_clear(&e);
			rc = kube_client_resource(run->kc, &t->res, id.group, id.version, id.kind, &e);
		}
		if (rc == GS_ENOTFOUND) {
			t->res = NULL;
			/* a CR whose CRD comes in the same sync is resolved later */
			t->deferred = true;
		} else if (rc < 0) {
			mf_id_release(&id);
			*err = e;
			break;
		}
		rc = GS_OK;
		/* namespace: the object's, else the app's destination, for
		 * namespaced kinds only */
		if ((t->res && t->res->namespaced) ||
		    (!t->res && !mf_kind_is_cluster_scoped(id.group, id.kind) &&
		     !mf_obj_namespace(obj))) {
			if (!mf_obj_namespace(obj) || !mf_obj_namespace(obj)[0])
				mf_obj_set_namespace(obj, o->ns && o->ns[0] ? o->ns : "default");
		} else if (t->res && !t->res->namespaced && mf_obj_namespace(obj)) {
			mf_node_remove(mf_node_get(obj, "metadata"), "namespace");
		}
		mf_id_release(&id);
		mf_id_from_object(&id, obj);
		mf_obj_set_label(obj, SYNC_LABEL_APP, o->app);
		tid = sync_tracking_id(o->app, id.group, id.kind, id.ns, id.name);
		mf_obj_set_annotation(obj, SYNC_ANNOTATION_TRACKING, tid);
		free(tid);
		sync_default_protocols(obj);
		t->key = sync_key(id.group, id.kind, id.ns, id.name);
		t->ri = sync_add_row(run->rep, obj);
		run->rep->v[t->ri].hook = sync_hook_of(obj, &t->hook_policy);
		run->rep->v[t->ri].wave = t->wave = sync_wave_of(obj);
		t->kind_order = sync_kind_order(id.group, id.kind);
		sync_target_set_json(t, obj);
		t->replace = sync_option_is(obj, o, "Replace", "true");
		t->force = sync_option_is(obj, o, "Force", "true");
		t->apply_always = sync_option_is(obj, o, "ApplyOutOfSyncOnly", "false");
		t->respect_ignore = o->n_ignore &&
				    sync_option_is(obj, o, "RespectIgnoreDifferences", "true");
		t->wave_annotated = mf_obj_annotation(obj, "gitsync.io/sync-wave") ||
				    mf_obj_annotation(obj, "argocd.argoproj.io/sync-wave");
		if (!run->rep->v[t->ri].hook && !t->deferred &&
		    strcmp(id.kind, "CustomResourceDefinition")) {
			mf_node_free(t->obj); /* the JSON is enough */
			t->obj = NULL;
		}
		if (t->deferred && !defined_by_crd(run, id.group, id.kind)) {
			/* a CRD later in the input still counts: check again below */
		}
		if (gs_strmap_get(&run->idx, t->key) && !run->rep->v[t->ri].hook) {
			e.code = GS_EINVAL;
			snprintf(e.msg, sizeof(e.msg), "object appears twice in the source");
			sync_fail_target(run, t, &e);
		} else {
			gs_strmap_put(&run->idx, t->key, run->nt - 1);
		}
		mf_id_release(&id);
	}
	/* taken: free what was read, and the rest after an error */
	while (take && freed < n)
		mf_node_free(objs[freed++]);
	return rc;
}

int sync_prepare(struct run *run, struct mf_node *const *objs, size_t n,
		       struct gs_error *err)
{
	size_t i;
	int rc;

	if ((rc = prepare(run, objs, n, run->opts->flags & SYNC_TAKE_INPUT, err)) < 0)
		return rc;
	/* unknown kinds that no CRD of this sync defines are errors now */
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];
		struct sync_resource *r = &run->rep->v[t->ri];
		struct gs_error e = GS_ERROR_INIT;

		if (!t->deferred || t->failed)
			continue;
		if (!defined_by_crd(run, r->group, r->kind)) {
			t->deferred = false;
			kube_client_resource(run->kc, &t->res, r->group, r->version, r->kind, &e);
			sync_fail_target(run, t, &e);
		} else {
			r->status = SYNC_STATUS_MISSING;
			r->health = SYNC_HEALTH_MISSING;
		}
	}
	return GS_OK;
}

