/* app-helm.h - render an Application's Helm chart (a source path holding
 * Chart.yaml) with the real helm and spec.source.helm: valueFiles (inside
 * the repository; missing ones an error unless ignoreMissingValueFiles),
 * values / valuesObject, parameters (forceString), fileParameters,
 * releaseName (default: the app's name), namespace (default: the
 * destination's), skipCrds, skipTests, kubeVersion / apiVersions (default:
 * the live cluster's, from discovery).  Used by app_source_load. */
#ifndef GS_APP_HELM_H
#define GS_APP_HELM_H

#include <stdbool.h>

#include "app/app.h"
#include "gs-error.h"
#include "kz-build.h"
#include "mf-node.h"

/* Does root/path hold a chart (Chart.yaml)? */
bool app_helm_is_chart(const char *root, const char *path);

/* Render the chart at root/path (root absolute: the repository's export,
 * which confines every path helm gets) for app (borrowed) into out
 * (objects appended, positioned at their templates; appended only on
 * success).  env->helm is the runner (NULL: a one-off runner, no memo).
 * Errors: helm's (helm.h), wrapped with the chart's path. */
int app_helm_render(struct kz_output *out, struct app_env *env, const struct mf_node *app,
		    const char *root, const char *path, struct gs_error *err);

#endif
