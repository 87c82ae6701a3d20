/* health-load.c - the agent's sources of Lua health checks (health-load.h). */
#include <stdlib.h>

#include "gs-alloc.h"
#include "health/health-load.h"

int hl_set_load_agent(struct hl_set **out, struct kube_client *kc, const char *ns,
		      const char *lua_dir, char **warning_out, struct gs_error *err)
{
	const struct kube_resource *res = NULL;
	struct hl_set *set = hl_set_new(NULL), *probe = NULL;
	struct gs_error e = GS_ERROR_INIT;
	struct mf_node *cm = NULL;
	int rc;

	*out = NULL;
	*warning_out = NULL;
	if (lua_dir && (rc = hl_set_load_dir(set, lua_dir, err)) < 0) {
		gs_error_wrap(err, "--lua-dir");
		goto cleanup;
	}
	rc = kube_client_resource(kc, &res, "", "v1", "ConfigMap", &e);
	if (!rc)
		rc = kube_client_get(kc, &cm, res, ns, HL_CONFIGMAP_NAME, &e);
	if (rc == GS_ENOTFOUND) {
		rc = GS_OK;
		goto done;
	}
	if (rc < 0) {
		*warning_out = gs_asprintf("cannot read ConfigMap %s/%s, its health checks are not "
					   "used: %s", ns, HL_CONFIGMAP_NAME, e.msg);
		rc = GS_OK;
		goto done;
	}
	/* all of the ConfigMap or none of it: try it on a scratch set first */
	probe = hl_set_new(NULL);
	if (hl_set_load_configmap(probe, cm, &e) < 0) {
		*warning_out = gs_asprintf("ConfigMap %s/%s: %s; none of its health checks are used "
					   "until it is fixed (restart the agent after the fix)",
					   ns, HL_CONFIGMAP_NAME, e.msg);
		goto done;
	}
	if ((rc = hl_set_load_configmap(set, cm, err)) < 0)
		goto cleanup;
done:
	*out = set;
	set = NULL; /* now the caller's */
	rc = GS_OK;
cleanup:
	hl_set_free(set);
	hl_set_free(probe);
	mf_node_free(cm);
	return rc;
}
