/* kube-api.c - discovery and typed operations on objects. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "gs-alloc.h"
#include "kube/kube-client.h"
#include "kube/kube-private.h"
#include "mf-json.h"
#include "mf-object.h"



static char *gv_path(const char *group, const char *version)
{
	if (!group || !group[0])
		return gs_asprintf("/api/%s", version);
	return gs_asprintf("/apis/%s/%s", group, version);
}

static unsigned parse_verbs(const cJSON *verbs)
{
	static const struct { const char *name; unsigned bit; } table[] = {
		{ "get", KUBE_VERB_GET }, { "list", KUBE_VERB_LIST },
		{ "watch", KUBE_VERB_WATCH }, { "patch", KUBE_VERB_PATCH },
		{ "delete", KUBE_VERB_DELETE }, { "create", KUBE_VERB_CREATE },
	};
	const cJSON *v;
	unsigned bits = 0;
	size_t i;

	cJSON_ArrayForEach(v, verbs)
		for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (cJSON_IsString(v) && !strcmp(v->valuestring, table[i].name))
				bits |= table[i].bit;
	return bits;
}

static int load_gv(struct kube_client *kc, struct kube_gv_entry **out, const char *group,
		   const char *version, struct gs_error *err)
{
	struct kube_disc *d = kube_client_disc(kc);
	struct kube_response r = KUBE_RESPONSE_INIT;
	struct kube_gv_entry *gv;
	char *path = NULL;
	cJSON *j = NULL;
	const cJSON *it;
	size_t i;
	int rc;

	for (i = 0; i < d->ngv; i++)
		if (!strcmp(d->gvs[i].group, group) && !strcmp(d->gvs[i].version, version)) {
			*out = &d->gvs[i];
			return GS_OK;
		}
	path = gv_path(group, version);
	rc = kube_client_request(kc, "GET", path, NULL, NULL, 0, &r, err);
	kube_client_stats_mut(kc)->discovery++;
	if (rc < 0)
		goto cleanup;
	if (r.status != 200 && r.status != 404) {
		rc = kube_status_error(&r, err);
		gs_error_wrap(err, "discovery of %s", path);
		goto cleanup;
	}
	GS_ALLOC_GROW(d->gvs, d->ngv + 1, d->agv);
	gv = &d->gvs[d->ngv++];
	memset(gv, 0, sizeof(*gv));
	gv->group = gs_strdup(group);
	gv->version = gs_strdup(version);
	gv->missing = r.status == 404;
	if (!gv->missing) {
		j = cJSON_ParseWithLength(r.body.ptr, r.body.len);
		it = cJSON_GetObjectItemCaseSensitive(j, "resources");
		gv->res = gs_calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(*gv->res));
		cJSON_ArrayForEach(it, it) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
			const cJSON *kind = cJSON_GetObjectItemCaseSensitive(it, "kind");
			struct kube_resource *res;

			/* subresources (deployments/status, pods/log) are not kinds */
			if (!cJSON_IsString(name) || !cJSON_IsString(kind) ||
			    strchr(name->valuestring, '/'))
				continue;
			res = &gv->res[gv->n++];
			res->group = gs_strdup(group);
			res->version = gs_strdup(version);
			res->kind = gs_strdup(kind->valuestring);
			res->plural = gs_strdup(name->valuestring);
			res->namespaced = cJSON_IsTrue(
				cJSON_GetObjectItemCaseSensitive(it, "namespaced"));
			res->verbs = parse_verbs(cJSON_GetObjectItemCaseSensitive(it, "verbs"));
		}
	}
	*out = gv;
cleanup:
	cJSON_Delete(j);
	kube_response_release(&r);
	free(path);
	return rc;
}

int kube_client_resource(struct kube_client *kc, const struct kube_resource **out,
			 const char *group, const char *version, const char *kind,
			 struct gs_error *err)
{
	struct kube_gv_entry *gv = NULL;
	const char *g = group ? group : "";
	size_t i;
	int rc;

	if ((rc = load_gv(kc, &gv, g, version, err)) < 0)
		return rc;
	if (gv->missing)
		return gs_error_set(err, GS_ENOTFOUND,
				    "the server does not serve %s%s%s (no kind '%s' there: is its "
				    "CRD installed, or was the API version removed?)",
				    g, g[0] ? "/" : "", version, kind);
	for (i = 0; i < gv->n; i++)
		if (!strcmp(gv->res[i].kind, kind)) {
			*out = &gv->res[i];
			return GS_OK;
		}
	return gs_error_set(err, GS_ENOTFOUND, "the server has no kind '%s' in %s%s%s", kind, g,
			    g[0] ? "/" : "", version);
}

static int load_groups(struct kube_client *kc, struct gs_error *err)
{
	struct kube_disc *d = kube_client_disc(kc);
	struct kube_response r = KUBE_RESPONSE_INIT;
	cJSON *j = NULL;
	const cJSON *it;
	int rc;
	size_t alloc = 0;

	if (d->groups_loaded)
		return GS_OK;
	GS_ALLOC_GROW(d->preferred, 1, alloc);
	d->preferred[d->npreferred++] = gs_strdup("v1");
	rc = kube_client_request(kc, "GET", "/apis", NULL, NULL, 0, &r, err);
	kube_client_stats_mut(kc)->discovery++;
	if (rc < 0)
		goto cleanup;
	if (r.status != 200) {
		rc = kube_status_error(&r, err);
		gs_error_wrap(err, "discovery of /apis");
		goto cleanup;
	}
	j = cJSON_ParseWithLength(r.body.ptr, r.body.len);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "groups")) {
		const cJSON *pv = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(it, "preferredVersion"), "groupVersion");

		if (!cJSON_IsString(pv))
			continue;
		GS_ALLOC_GROW(d->preferred, d->npreferred + 1, alloc);
		d->preferred[d->npreferred++] = gs_strdup(pv->valuestring);
	}
	d->groups_loaded = true;
cleanup:
	cJSON_Delete(j);
	kube_response_release(&r);
	return rc;
}

int kube_client_all_resources(struct kube_client *kc, const struct kube_resource ***out,
			      size_t *n_out, struct gs_error *err)
{
	struct kube_disc *d = kube_client_disc(kc);
	size_t i, j, alloc = 0;
	int rc;

	if (!d->all) {
		if ((rc = load_groups(kc, err)) < 0)
			return rc;
		for (i = 0; i < d->npreferred; i++) {
			char *group = NULL, *version = NULL;
			struct kube_gv_entry *gv = NULL;

			mf_split_api_version(d->preferred[i], &group, &version);
			rc = load_gv(kc, &gv, group, version, err);
			free(group);
			free(version);
			/* an aggregated API that is down (503) must not stop a
			 * scan of everything else, as kubectl only warns */
			if (rc < 0 && rc != GS_ENET && rc != GS_EAUTH) {
				gs_error_clear(err);
				continue;
			}
			if (rc < 0)
				return rc;
			for (j = 0; j < gv->n; j++) {
				GS_ALLOC_GROW(d->all, d->nall + 1, alloc);
				d->all[d->nall++] = &gv->res[j];
			}
		}
		/* load_gv may have moved d->gvs while growing: rebuild pointers */
		d->nall = 0;
		for (i = 0; i < d->ngv; i++)
			for (j = 0; j < d->gvs[i].n; j++) {
				char *gvs = d->gvs[i].group[0]
						    ? gs_asprintf("%s/%s", d->gvs[i].group,
								  d->gvs[i].version)
						    : gs_strdup(d->gvs[i].version);
				size_t k;
				bool pref = false;

				for (k = 0; k < d->npreferred && !pref; k++)
					pref = !strcmp(d->preferred[k], gvs);
				free(gvs);
				if (pref)
					d->all[d->nall++] = &d->gvs[i].res[j];
			}
	}
	*out = d->all;
	*n_out = d->nall;
	return GS_OK;
}

char *kube_resource_path(const struct kube_resource *res, const char *ns, const char *name)
{
	char *base = gv_path(res->group, res->version), *p;
	char *ens = NULL, *ename = NULL;

	if (ns && ns[0] && res->namespaced)
		ens = curl_easy_escape(NULL, ns, 0);
	if (name)
		ename = curl_easy_escape(NULL, name, 0);
	p = gs_asprintf("%s%s%s/%s%s%s", base, ens ? "/namespaces/" : "", ens ? ens : "",
			res->plural, ename ? "/" : "", ename ? ename : "");
	curl_free(ens);
	curl_free(ename);
	free(base);
	return p;
}

int kube_parse_object(struct mf_node **out, const struct kube_response *r, struct gs_error *err)
{
	cJSON *j = cJSON_ParseWithLength(r->body.ptr, r->body.len);

	if (!j)
		return gs_error_set(err, GS_ERR, "server sent invalid JSON");
	*out = kube_json_to_node(j);
	cJSON_Delete(j);
	return GS_OK;
}

const char *kube_obj_id(const struct kube_resource *res, const char *ns, const char *name,
			char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s %s%s%s", res->group, res->group[0] ? "/" : "", res->kind,
		 ns && ns[0] && res->namespaced ? ns : "", ns && ns[0] && res->namespaced ? "/" : "",
		 name ? name : "");
	return buf;
}

int kube_client_get(struct kube_client *kc, struct mf_node **out, const struct kube_resource *res,
		    const char *ns, const char *name, struct gs_error *err)
{
	return kube_client_get_at(kc, out, res, ns, name, NULL, err);
}

#define RV_CHARS "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

int kube_client_get_at(struct kube_client *kc, struct mf_node **out,
		       const struct kube_resource *res, const char *ns, const char *name,
		       const char *min_rv, struct gs_error *err)
{
	struct kube_response r = KUBE_RESPONSE_INIT;
	char *path = kube_resource_path(res, ns, name);
	char idb[512];
	int rc;

	/* a resourceVersion is opaque: one of digits and letters goes into
	 * the query as it is, any other is not used (etcd answers) */
	if (min_rv && *min_rv && min_rv[strspn(min_rv, RV_CHARS)] == '\0') {
		char *p = gs_asprintf("%s?resourceVersion=%s", path, min_rv);

		free(path);
		path = p;
		kube_client_stats_mut(kc)->get_cache++;
	}

	kube_client_stats_mut(kc)->get++;
	rc = kube_client_request(kc, "GET", path, NULL, NULL, 0, &r, err);
	if (rc == GS_OK && r.status != 200) {
		rc = kube_status_error(&r, err);
		gs_error_where(err, "%s", kube_obj_id(res, ns, name, idb, sizeof(idb)));
	}
	if (rc == GS_OK)
		rc = kube_parse_object(out, &r, err);
	kube_response_release(&r);
	free(path);
	return rc;
}

struct list_walk {
	const struct kube_resource *res;
	kube_item_fn fn;
	void *payload;
	bool bad;
};

static int on_list_item(const char *json, size_t len, void *payload)
{
	struct list_walk *w = payload;
	const struct kube_resource *res = w->res;
	cJSON *j = cJSON_ParseWithLength(json, len);
	struct mf_node *item;
	int rc;

	if (!j) {
		w->bad = true;
		return GS_ERR;
	}
	item = kube_json_to_node(j);
	cJSON_Delete(j);
	/* LIST items carry no apiVersion/kind: restore them so items look
	 * like GET results */
	if (res->group[0]) {
		char *av = gs_asprintf("%s/%s", res->group, res->version);

		if (!mf_node_get(item, "apiVersion"))
			mf_node_insert_kv(item, 0, "apiVersion", mf_node_new_str(av));
		else
			mf_node_set_str_value(item, "apiVersion", av);
		free(av);
	} else if (!mf_node_get(item, "apiVersion")) {
		mf_node_insert_kv(item, 0, "apiVersion", mf_node_new_str(res->version));
	}
	if (!mf_node_get(item, "kind"))
		mf_node_insert_kv(item, 1, "kind", mf_node_new_str(res->kind));
	rc = w->fn ? w->fn(item, w->payload) : 0;
	mf_node_free(item);
	return rc;
}

int kube_client_list(struct kube_client *kc, const struct kube_resource *res, const char *ns,
		     const char *label_selector, kube_item_fn fn, void *payload, char **rv_out,
		     struct gs_error *err)
{
	struct kube_response r = KUBE_RESPONSE_INIT;
	struct list_walk w = { res, fn, payload, false };
	char *base = kube_resource_path(res, ns, NULL), *sel = NULL, *cont = NULL;
	int rc = GS_OK;

	if (label_selector && label_selector[0])
		sel = curl_easy_escape(NULL, label_selector, 0);
	for (;;) {
		char *path, *econt = cont ? curl_easy_escape(NULL, cont, 0) : NULL, *rv = NULL;

		path = gs_asprintf("%s?limit=500%s%s%s%s", base, sel ? "&labelSelector=" : "",
				   sel ? sel : "", econt ? "&continue=" : "", econt ? econt : "");
		curl_free(econt);
		kube_client_stats_mut(kc)->list++;
		rc = kube_client_request(kc, "GET", path, NULL, NULL, 0, &r, err);
		free(path);
		if (rc < 0)
			break;
		if (r.status != 200) {
			rc = kube_status_error(&r, err);
			gs_error_wrap(err, "list %s", res->plural);
			break;
		}
		free(cont);
		cont = NULL;
		/* item by item: the page never exists as one tree */
		rc = kube_list_scan(r.body.ptr, r.body.len, on_list_item, &w, &cont, &rv, err);
		gs_buf_release(&r.body);
		if (rc < 0 && (w.bad || rc == GS_ERR) && !err->msg[0])
			gs_error_set(err, GS_ERR, "list %s: invalid JSON", res->plural);
		if (rv_out && rc == GS_OK) {
			free(*rv_out);
			*rv_out = rv;
			rv = NULL;
		}
		free(rv);
		if (rc || !cont)
			break;
	}
	curl_free(sel);
	free(cont);
	free(base);
	kube_response_release(&r);
	return rc;
}

/* kube-apiserver v1.20 panics on server-side apply of APIServices
 * ("FieldManager must be installed to run apply"): write those with
 * create/update instead. */
bool kube_ssa_broken(const struct kube_resource *res)
{
	return !strcmp(res->group, "apiregistration.k8s.io");
}

static int put_or_create(struct kube_client *kc, struct mf_node **out,
			 const struct kube_resource *res, const struct mf_node *obj,
			 const char *manager, unsigned flags, struct gs_error *err)
{
	struct kube_response r = KUBE_RESPONSE_INIT;
	struct gs_buf body = GS_BUF_INIT;
	const char *ns = mf_obj_namespace(obj), *name = mf_obj_name(obj);
	struct mf_node *live = NULL, *copy = NULL;
	char *path = NULL, *base = NULL, *mgr = NULL, idb[512];
	const char *rv;
	int rc;

	rc = kube_client_get(kc, &live, res, ns, name, err);
	if (rc < 0 && rc != GS_ENOTFOUND)
		return rc;
	gs_error_clear(err);
	copy = mf_node_clone(obj);
	rv = mf_node_dig_str(live, "metadata", "resourceVersion", NULL);
	if (rv)
		mf_node_set_str_value(mf_node_ensure(copy, "metadata", MF_MAP), "resourceVersion",
				      rv);
	mf_json_emit(&body, copy, 0);
	mgr = curl_easy_escape(NULL, manager ? manager : "gitsync", 0);
	base = kube_resource_path(res, ns, live ? name : NULL);
	path = gs_asprintf("%s?fieldManager=%s%s", base, mgr,
			   flags & KUBE_APPLY_DRY_RUN ? "&dryRun=All" : "");
	rc = kube_client_request(kc, live ? "PUT" : "POST", path, "application/json", body.ptr,
				 body.len, &r, err);
	if (rc == GS_OK && r.status != 200 && r.status != 201) {
		rc = kube_status_error(&r, err);
		gs_error_where(err, "%s", kube_obj_id(res, ns, name, idb, sizeof(idb)));
	}
	if (rc == GS_OK && out)
		rc = kube_parse_object(out, &r, err);
	curl_free(mgr);
	free(base);
	free(path);
	mf_node_free(live);
	mf_node_free(copy);
	gs_buf_release(&body);
	kube_response_release(&r);
	return rc;
}

char *kube_apply_path(const struct kube_resource *res, const char *ns, const char *name,
		      const char *manager, unsigned flags)
{
	char *base = kube_resource_path(res, ns, name);
	char *mgr = curl_easy_escape(NULL, manager ? manager : "gitsync", 0);
	char *path = gs_asprintf("%s?fieldManager=%s%s%s", base, mgr,
				 flags & KUBE_APPLY_FORCE ? "&force=true" : "",
				 flags & KUBE_APPLY_DRY_RUN ? "&dryRun=All" : "");

	curl_free(mgr);
	free(base);
	return path;
}

void kube_apply_request(char **path_out, struct gs_buf *body, const struct kube_resource *res,
			const struct mf_node *obj, const char *manager, unsigned flags)
{
	*path_out = kube_apply_path(res, mf_obj_namespace(obj), mf_obj_name(obj), manager, flags);
	mf_json_emit(body, obj, 0);
}

int kube_client_apply(struct kube_client *kc, struct mf_node **out,
		      const struct kube_resource *res, const struct mf_node *obj,
		      const char *manager, unsigned flags, struct gs_error *err)
{
	struct kube_response r = KUBE_RESPONSE_INIT;
	struct gs_buf body = GS_BUF_INIT;
	const char *ns = mf_obj_namespace(obj), *name = mf_obj_name(obj);
	char *path = NULL;
	char idb[512];
	int rc;

	if (kube_ssa_broken(res))
		return put_or_create(kc, out, res, obj, manager, flags, err);
	kube_apply_request(&path, &body, res, obj, manager, flags);
	kube_client_stats_mut(kc)->patch++;
	rc = kube_client_request(kc, "PATCH", path, "application/apply-patch+yaml", body.ptr,
				 body.len, &r, err);
	if (rc == GS_OK && r.status != 200 && r.status != 201) {
		rc = kube_status_error(&r, err);
		gs_error_where(err, "%s", kube_obj_id(res, ns, name, idb, sizeof(idb)));
	}
	if (rc == GS_OK && out)
		rc = kube_parse_object(out, &r, err);
	kube_response_release(&r);
	gs_buf_release(&body);
	free(path);
	return rc;
}

int kube_client_create(struct kube_client *kc, struct mf_node **out,
		       const struct kube_resource *res, const struct mf_node *obj,
		       struct gs_error *err)
{
	struct kube_response r = KUBE_RESPONSE_INIT;
	struct gs_buf body = GS_BUF_INIT;
	const char *ns = mf_obj_namespace(obj);
	char *path = kube_resource_path(res, ns, NULL);
	char idb[512];
	int rc;

	mf_json_emit(&body, obj, 0);
	kube_client_stats_mut(kc)->post++;
	rc = kube_client_request(kc, "POST", path, "application/json", body.ptr, body.len, &r,
				 err);
	if (rc == GS_OK && r.status != 200 && r.status != 201) {
		rc = kube_status_error(&r, err);
		gs_error_where(err, "%s",
			       kube_obj_id(res, ns, mf_obj_name(obj), idb, sizeof(idb)));
	}
	if (rc == GS_OK && out)
		rc = kube_parse_object(out, &r, err);
	kube_response_release(&r);
	gs_buf_release(&body);
	free(path);
	return rc;
}

int kube_client_delete(struct kube_client *kc, const struct kube_resource *res, const char *ns,
		       const char *name, const char *propagation, struct gs_error *err)
{
	struct kube_response r = KUBE_RESPONSE_INIT;
	char *base = kube_resource_path(res, ns, name);
	char *path = gs_asprintf("%s?propagationPolicy=%s", base,
				 propagation ? propagation : "Background");
	char idb[512];
	int rc;

	kube_client_stats_mut(kc)->del++;
	rc = kube_client_request(kc, "DELETE", path, NULL, NULL, 0, &r, err);
	if (rc == GS_OK && r.status != 200 && r.status != 202) {
		rc = kube_status_error(&r, err);
		gs_error_where(err, "%s", kube_obj_id(res, ns, name, idb, sizeof(idb)));
	}
	kube_response_release(&r);
	free(base);
	free(path);
	return rc;
}
