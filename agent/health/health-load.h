/* health-load.h - the agent's users' health checks: --lua-dir, then the
 * ConfigMap gitsync-health of the agent's namespace (which wins for the same
 * group/kind).  Read once at startup. */
#ifndef HEALTH_LOAD_H
#define HEALTH_LOAD_H

#include "gs-error.h"
#include "health/health-lua.h"
#include "kube/kube-client.h"

#define HL_CONFIGMAP_NAME "gitsync-health"

/* Fill *out (owned, never NULL on GS_OK) from lua_dir (may be NULL) and
 * the ConfigMap HL_CONFIGMAP_NAME in ns, read with kc (borrowed).  A
 * lua_dir that is missing or holds a script that does not compile is an
 * error (the operator asked for it).  A missing ConfigMap is no scripts; a
 * ConfigMap that cannot be read or holds a broken script leaves all of its
 * scripts out and says why in *warning_out (owned, NULL when none): the
 * agent still starts, with the built-in rules for those kinds. */
int hl_set_load_agent(struct hl_set **out, struct kube_client *kc, const char *ns,
		      const char *lua_dir, char **warning_out, struct gs_error *err);

#endif
