/* app-deps.c - spec.dependsOn: an app syncs only once the apps it depends
 * on are Synced and Healthy (Flux's Kustomization dependsOn).  Cycles are
 * found by walking the graph from the app, reading each Application once. */
#include "app/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-object.h"

#define DEPS_MAX_APPS 64 /* apps read while looking for a cycle */

struct dep_walk {
	struct kube_client *kc;
	const char *root_ns, *root_name;
	char *seen[DEPS_MAX_APPS]; /* "ns/name" of apps whose edges were followed */
	size_t nseen;
	const char *path[DEPS_MAX_APPS + 1]; /* the current chain, for the message */
	size_t depth;
};

static const char *dep_ns(const struct mf_node *d, const char *app_ns)
{
	const char *ns = mf_node_dig_str(d, "namespace", NULL);

	return ns && *ns ? ns : app_ns;
}

/* Follow the dependsOn edges of app (ns/name); a cycle back to the root is
 * GS_EINVAL with the chain in the message.  Cycles not through the root
 * are the other apps' to report; they end the walk (seen). */
static int walk(struct dep_walk *w, const struct mf_node *app, const char *ns, struct gs_error *err)
{
	const struct mf_node *deps = mf_node_dig(app, "spec", "dependsOn", NULL);
	size_t i, j;
	int rc = GS_OK;

	for (i = 0; i < mf_node_len(deps) && !rc; i++) {
		const struct mf_node *d = mf_node_at(deps, i);
		const char *name = mf_node_dig_str(d, "name", NULL);
		const char *dns = dep_ns(d, ns);
		struct mf_node *next = NULL;
		struct gs_error e = GS_ERROR_INIT;
		char *key;
		bool seen = false;

		if (!name)
			continue;
		if (!strcmp(name, w->root_name) && !strcmp(dns, w->root_ns)) {
			struct gs_buf chain = GS_BUF_INIT;

			for (j = 0; j < w->depth; j++)
				gs_buf_printf(&chain, "%s -> ", w->path[j]);
			gs_buf_printf(&chain, "%s", w->root_name);
			rc = gs_error_set(err, GS_EINVAL,
					  "spec.dependsOn makes a cycle: %s (remove one of these "
					  "dependencies)", chain.ptr);
			gs_buf_release(&chain);
			break;
		}
		key = gs_asprintf("%s/%s", dns, name);
		for (j = 0; j < w->nseen && !seen; j++)
			seen = !strcmp(w->seen[j], key);
		if (seen) {
			free(key);
			continue;
		}
		if (w->nseen == DEPS_MAX_APPS) {
			free(key);
			return gs_error_set(err, GS_ELIMIT,
					    "spec.dependsOn: more than %d apps in the dependency "
					    "graph", DEPS_MAX_APPS);
		}
		w->seen[w->nseen++] = key;
		if (app_get(&next, w->kc, dns, name, &e))
			continue; /* a missing app is reported as not ready, not here */
		w->path[w->depth++] = mf_obj_name(next);
		rc = walk(w, next, dns, err);
		w->depth--;
		mf_node_free(next);
	}
	return rc;
}

int app_depends_wait(char **why_out, struct kube_client *kc, const struct mf_node *app,
		     struct gs_error *err)
{
	const struct mf_node *deps = mf_node_dig(app, "spec", "dependsOn", NULL);
	const char *ns = mf_obj_namespace(app) ? mf_obj_namespace(app) : "";
	struct dep_walk w;
	struct gs_buf why = GS_BUF_INIT;
	size_t i;
	int rc;

	*why_out = NULL;
	if (!mf_node_len(deps))
		return GS_OK;
	if (mf_node_type(deps) != MF_SEQ)
		return gs_error_set(err, GS_EINVAL, "spec.dependsOn must be a list of {name, namespace}");
	memset(&w, 0, sizeof(w));
	w.kc = kc;
	w.root_ns = ns;
	w.root_name = mf_obj_name(app) ? mf_obj_name(app) : "";
	w.path[w.depth++] = w.root_name;
	rc = walk(&w, app, ns, err);
	for (i = 0; i < w.nseen; i++)
		free(w.seen[i]);
	if (rc)
		return rc;
	for (i = 0; i < mf_node_len(deps); i++) {
		const struct mf_node *d = mf_node_at(deps, i);
		const char *name = mf_node_dig_str(d, "name", NULL);
		const char *dns = dep_ns(d, ns);
		struct mf_node *dep = NULL;
		struct gs_error e = GS_ERROR_INIT;
		const char *sync, *health, *phase;

		if (!name) {
			gs_buf_release(&why);
			return gs_error_set(err, GS_EINVAL, "spec.dependsOn[%zu] has no name", i);
		}
		rc = app_get(&dep, kc, dns, name, &e);
		if (rc == GS_ENOTFOUND) {
			gs_buf_printf(&why, "%sapp '%s/%s' (not found)", why.len ? ", " : "", dns, name);
			continue;
		}
		if (rc) {
			gs_buf_release(&why);
			return gs_error_set(err, rc, "spec.dependsOn: %s", e.msg);
		}
		sync = mf_node_dig_str(dep, "status", "sync", "status", NULL);
		health = mf_node_dig_str(dep, "status", "health", "status", NULL);
		phase = mf_node_dig_str(dep, "status", "operationState", "phase", NULL);
		/* Synced is against its current revision: every comparison is */
		if (!sync || strcmp(sync, "Synced") || !health || strcmp(health, "Healthy") ||
		    (phase && !strcmp(phase, "Running")))
			gs_buf_printf(&why, "%sapp '%s/%s' (%s, %s%s)", why.len ? ", " : "", dns, name,
				      sync ? sync : "not compared yet", health ? health : "no health",
				      phase && !strcmp(phase, "Running") ? ", syncing" : "");
		mf_node_free(dep);
	}
	if (why.len)
		*why_out = gs_asprintf("waiting for %s to be Synced and Healthy", why.ptr);
	gs_buf_release(&why);
	return GS_OK;
}
