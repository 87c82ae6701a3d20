/* app-project.h - Projects (projects.gitsync.io): what the Applications of a
 * tenant may deploy, from where, and as whom.
 *
 * Shaped like Argo CD's AppProject where they overlap:
 *
 *   spec.sourceRepos                 URL globs an app's repoURL must match
 *   spec.sourceNamespaces            namespace globs where Applications may
 *                                    use this project (the agent's own
 *                                    namespace always may)
 *   spec.destinations[]              {namespace: glob, server: reserved};
 *                                    namespaced objects and the app's
 *                                    destination namespace must match one
 *   spec.clusterResourceWhitelist[]  {group, kind} globs: the cluster-scoped
 *   spec.clusterResourceBlacklist[]  kinds allowed (none when empty) / refused
 *   spec.namespaceResourceWhitelist[] namespaced kinds allowed (all when
 *   spec.namespaceResourceBlacklist[] empty) / refused
 *   spec.destinationServiceAccounts[] {namespace: glob, defaultServiceAccount:
 *                                    NAME or NS:NAME}: who applies
 *
 * A glob is fnmatch(3) without flags ('*' also crosses '/'); a leading '!'
 * denies, and a deny wins over any allow.  `server` is reserved: only empty,
 * "*" and https://kubernetes.default.svc (this cluster) match.
 *
 * Everything here but app_project_get() is pure (no I/O): an object plus a
 * project in, allowed or an error naming the rule out.  Thread-safe.
 */
#ifndef GS_APP_PROJECT_H
#define GS_APP_PROJECT_H

#include <stdbool.h>

#include "gs-error.h"
#include "kube/kube-client.h"
#include "mf-node.h"

#define APP_PROJECT_KIND "Project"
#define APP_PROJECT_DEFAULT "default"

/* The Project CRD manifest (YAML, static). */
const char *app_project_crd_yaml(void);
/* The `default` project `gitsync install` creates in ns (YAML, owned):
 * every repository, namespace and kind, as Argo CD's default project. */
char *app_project_default_yaml(const char *ns);

/* spec.project of an Application, "default" when unset (borrowed). */
const char *app_project_name(const struct mf_node *app);

/* fnmatch(3) of s against pattern (no flags). */
bool app_glob_match(const char *pattern, const char *s);
/* s against a list of globs (a sequence of strings; '!' denies). */
bool app_glob_list_match(const struct mf_node *globs, const char *s);

/* GET the Project name in ns; *out owned.  GS_ENOTFOUND "project 'x' not
 * found in namespace 'ns'" with a hint. */
int app_project_get(struct mf_node **out, struct kube_client *kc, const char *ns,
		    const char *name, struct gs_error *err);

/* Create the `default` project in ns unless a project of that name exists
 * (an administrator's edits are never overwritten).  *created_out (may be
 * NULL) says whether it was made.  GS_ENOTFOUND when the CRD is missing. */
int app_project_ensure_default(struct kube_client *kc, const char *ns, bool *created_out,
			       struct gs_error *err);

/* May app (its namespace, repoURL and destination namespace) use project?
 * agent_ns: where Projects live; Applications there may use any project.
 * GS_EAUTH with a message naming the field to change. */
int app_project_check_app(const struct mf_node *project, const struct mf_node *app,
			  const char *agent_ns, struct gs_error *err);

/* May the app write (create, change or prune) the object group/kind name
 * in ns ("" = cluster-scoped)?  A Namespace (also the one CreateNamespace=true
 * makes) must be in clusterResourceWhitelist and its name a destination.
 * GS_EAUTH naming the project's rule. */
int app_project_check_object(const struct mf_node *project, const char *group, const char *kind,
			     const char *ns, const char *name, struct gs_error *err);

/* The user the app's writes impersonate, "system:serviceaccount:NS:NAME"
 * (owned), or NULL for the agent's own identity.  First the project's
 * destinationServiceAccounts entry for the app's destination namespace
 * (NAME alone is in that namespace), else the app's
 * spec.destination.serviceAccountName, else default_sa (may be NULL);
 * both of the latter are names in the Application's own namespace, so a
 * tenant can only name accounts of its own namespace.  project may be NULL. */
char *app_project_impersonation(const struct mf_node *project, const struct mf_node *app,
				const char *default_sa);

#endif
