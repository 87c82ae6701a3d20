/* app-project.c - Projects: the policy checks (pure) and the CRD. */
#include "app/app-project.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "gs-alloc.h"
#include "mf-object.h"
#include "mf-yaml.h"

#define IN_CLUSTER_SERVER "https://kubernetes.default.svc"

static const char crd_yaml[] =
	"# The Project custom resource of gitsync (printed by `gitsync install --dry-run`).\n"
	"apiVersion: apiextensions.k8s.io/v1\n"
	"kind: CustomResourceDefinition\n"
	"metadata:\n"
	"  name: projects.gitsync.io\n"
	"  labels:\n"
	"    app.kubernetes.io/part-of: gitsync\n"
	"spec:\n"
	"  group: gitsync.io\n"
	"  names:\n"
	"    kind: Project\n"
	"    listKind: ProjectList\n"
	"    plural: projects\n"
	"    singular: project\n"
	"    shortNames:\n"
	"    - gsproj\n"
	"    categories:\n"
	"    - gitsync\n"
	"  scope: Namespaced\n"
	"  versions:\n"
	"  - name: v1alpha1\n"
	"    served: true\n"
	"    storage: true\n"
	"    schema:\n"
	"      openAPIV3Schema:\n"
	"        type: object\n"
	"        properties:\n"
	"          apiVersion:\n"
	"            type: string\n"
	"          kind:\n"
	"            type: string\n"
	"          metadata:\n"
	"            type: object\n"
	"          spec:\n"
	"            type: object\n"
	"            properties:\n"
	"              description:\n"
	"                type: string\n"
	"              sourceRepos:\n"
	"                description: repoURL globs; a leading '!' denies\n"
	"                type: array\n"
	"                items:\n"
	"                  type: string\n"
	"              sourceNamespaces:\n"
	"                description: namespaces (globs) whose Applications may use this project\n"
	"                type: array\n"
	"                items:\n"
	"                  type: string\n"
	"              destinations:\n"
	"                type: array\n"
	"                items:\n"
	"                  type: object\n"
	"                  properties:\n"
	"                    namespace:\n"
	"                      type: string\n"
	"                    server:\n"
	"                      description: reserved; only this cluster is supported\n"
	"                      type: string\n"
	"                    name:\n"
	"                      type: string\n"
	"              clusterResourceWhitelist:\n"
	"                type: array\n"
	"                items: {type: object, properties: {group: {type: string}, kind: {type: string}}}\n"
	"              clusterResourceBlacklist:\n"
	"                type: array\n"
	"                items: {type: object, properties: {group: {type: string}, kind: {type: string}}}\n"
	"              namespaceResourceWhitelist:\n"
	"                type: array\n"
	"                items: {type: object, properties: {group: {type: string}, kind: {type: string}}}\n"
	"              namespaceResourceBlacklist:\n"
	"                type: array\n"
	"                items: {type: object, properties: {group: {type: string}, kind: {type: string}}}\n"
	"              destinationServiceAccounts:\n"
	"                type: array\n"
	"                items:\n"
	"                  type: object\n"
	"                  properties:\n"
	"                    server:\n"
	"                      type: string\n"
	"                    namespace:\n"
	"                      type: string\n"
	"                    defaultServiceAccount:\n"
	"                      description: NAME (in the destination namespace) or NAMESPACE:NAME\n"
	"                      type: string\n";

const char *app_project_crd_yaml(void)
{
	return crd_yaml;
}

char *app_project_default_yaml(const char *ns)
{
	return gs_asprintf("apiVersion: %s\n"
			   "kind: %s\n"
			   "metadata:\n"
			   "  name: %s\n"
			   "  namespace: %s\n"
			   "  labels:\n"
			   "    app.kubernetes.io/part-of: gitsync\n"
			   "spec:\n"
			   "  description: every repository, namespace and kind (as Argo CD's default)\n"
			   "  sourceRepos: ['*']\n"
			   "  destinations:\n"
			   "  - namespace: '*'\n"
			   "    server: '*'\n"
			   "  clusterResourceWhitelist:\n"
			   "  - group: '*'\n"
			   "    kind: '*'\n",
			   APP_API_VERSION, APP_PROJECT_KIND, APP_PROJECT_DEFAULT, ns);
}

const char *app_project_name(const struct mf_node *app)
{
	const char *p = mf_node_dig_str(app, "spec", "project", NULL);

	return p && *p ? p : APP_PROJECT_DEFAULT;
}

bool app_glob_match(const char *pattern, const char *s)
{
	return pattern && s && fnmatch(pattern, s, 0) == 0;
}

bool app_glob_list_match(const struct mf_node *globs, const char *s)
{
	bool allowed = false;
	size_t i;

	for (i = 0; i < mf_node_len(globs); i++) {
		const char *g = mf_node_str(mf_node_at(globs, i));

		if (!g)
			continue;
		if (g[0] == '!') {
			if (app_glob_match(g + 1, s))
				return false; /* a deny wins */
		} else if (app_glob_match(g, s)) {
			allowed = true;
		}
	}
	return allowed;
}

static bool server_matches(const char *server)
{
	return !server || !*server || !strcmp(server, "*") || !strcmp(server, IN_CLUSTER_SERVER);
}

static const char *project_id(const struct mf_node *project)
{
	return mf_obj_name(project) ? mf_obj_name(project) : "?";
}

static bool destination_allowed(const struct mf_node *project, const char *ns)
{
	const struct mf_node *d = mf_node_dig(project, "spec", "destinations", NULL);
	bool allowed = false;
	size_t i;

	for (i = 0; i < mf_node_len(d); i++) {
		const struct mf_node *e = mf_node_at(d, i);
		const char *g = mf_node_dig_str(e, "namespace", NULL);

		if (!g || !server_matches(mf_node_dig_str(e, "server", NULL)))
			continue;
		if (g[0] == '!') {
			if (app_glob_match(g + 1, ns))
				return false;
		} else if (app_glob_match(g, ns)) {
			allowed = true;
		}
	}
	return allowed;
}

/* Does a {group, kind} list hold a match?  Globs in both fields. */
static bool kind_listed(const struct mf_node *list, const char *group, const char *kind)
{
	size_t i;

	for (i = 0; i < mf_node_len(list); i++) {
		const struct mf_node *e = mf_node_at(list, i);
		const char *g = mf_node_dig_str(e, "group", NULL);
		const char *k = mf_node_dig_str(e, "kind", NULL);

		if (app_glob_match(g ? g : "", group) && app_glob_match(k ? k : "", kind))
			return true;
	}
	return false;
}

int app_project_check_app(const struct mf_node *project, const struct mf_node *app,
			  const char *agent_ns, struct gs_error *err)
{
	const char *app_ns = mf_obj_namespace(app) ? mf_obj_namespace(app) : "";
	const char *repo = app_repo(app) ? app_repo(app) : "";
	const char *dest = app_dest_namespace(app);
	const char *server = mf_node_dig_str(app, "spec", "destination", "server", NULL);

	if (strcmp(app_ns, agent_ns) &&
	    !app_glob_list_match(mf_node_dig(project, "spec", "sourceNamespaces", NULL), app_ns))
		return gs_error_set(err, GS_EAUTH,
				    "project '%s' does not allow Applications in namespace '%s' "
				    "(add it to the project's spec.sourceNamespaces)",
				    project_id(project), app_ns);
	if (!app_glob_list_match(mf_node_dig(project, "spec", "sourceRepos", NULL), repo))
		return gs_error_set(err, GS_EAUTH,
				    "repository '%s' is not permitted in project '%s' (see the "
				    "project's spec.sourceRepos)",
				    repo, project_id(project));
	if (!server_matches(server))
		return gs_error_set(err, GS_EAUTH,
				    "destination server '%s' is not supported: gitsync deploys to the "
				    "cluster it runs in (leave spec.destination.server empty)",
				    server);
	if (dest && *dest && !destination_allowed(project, dest))
		return gs_error_set(err, GS_EAUTH,
				    "destination namespace '%s' is not permitted in project '%s' (see "
				    "the project's spec.destinations)",
				    dest, project_id(project));
	return GS_OK;
}

int app_project_check_object(const struct mf_node *project, const char *group, const char *kind,
			     const char *ns, const char *name, struct gs_error *err)
{
	const struct mf_node *spec = mf_node_get(project, "spec");
	const char *gk_group = *group ? group : "core";

	if (!ns || !*ns) {
		if (!kind_listed(mf_node_get(spec, "clusterResourceWhitelist"), group, kind))
			return gs_error_set(err, GS_EAUTH,
					    "cluster-scoped %s/%s is not permitted in project '%s' "
					    "(not in its clusterResourceWhitelist)",
					    gk_group, kind, project_id(project));
		if (kind_listed(mf_node_get(spec, "clusterResourceBlacklist"), group, kind))
			return gs_error_set(err, GS_EAUTH,
					    "cluster-scoped %s/%s is not permitted in project '%s' "
					    "(in its clusterResourceBlacklist)",
					    gk_group, kind, project_id(project));
		/* a Namespace is where a tenant's objects go: creating or changing
		 * one (labels such as pod-security, another team's namespace) is
		 * bounded by the destinations as its contents are */
		if (!*group && !strcmp(kind, "Namespace") && name && *name &&
		    !destination_allowed(project, name))
			return gs_error_set(err, GS_EAUTH,
					    "Namespace '%s' is not a destination of project '%s' "
					    "(see the project's spec.destinations)",
					    name, project_id(project));
		return GS_OK;
	}
	if (mf_node_len(mf_node_get(spec, "namespaceResourceWhitelist")) &&
	    !kind_listed(mf_node_get(spec, "namespaceResourceWhitelist"), group, kind))
		return gs_error_set(err, GS_EAUTH,
				    "%s/%s is not permitted in project '%s' (not in its "
				    "namespaceResourceWhitelist)",
				    gk_group, kind, project_id(project));
	if (kind_listed(mf_node_get(spec, "namespaceResourceBlacklist"), group, kind))
		return gs_error_set(err, GS_EAUTH,
				    "%s/%s is not permitted in project '%s' (in its "
				    "namespaceResourceBlacklist)",
				    gk_group, kind, project_id(project));
	if (!destination_allowed(project, ns))
		return gs_error_set(err, GS_EAUTH,
				    "namespace '%s' is not a destination of project '%s' (see the "
				    "project's spec.destinations)",
				    ns, project_id(project));
	return GS_OK;
}

char *app_project_impersonation(const struct mf_node *project, const struct mf_node *app,
				const char *default_sa)
{
	const struct mf_node *d = mf_node_dig(project, "spec", "destinationServiceAccounts", NULL);
	const char *dest = app_dest_namespace(app);
	const char *app_ns = mf_obj_namespace(app) ? mf_obj_namespace(app) : "";
	const char *name;
	size_t i;

	if (!dest || !*dest)
		dest = app_ns;
	for (i = 0; i < mf_node_len(d); i++) {
		const struct mf_node *e = mf_node_at(d, i);
		const char *sa = mf_node_dig_str(e, "defaultServiceAccount", NULL);
		const char *colon;

		if (!sa || !*sa || !server_matches(mf_node_dig_str(e, "server", NULL)) ||
		    !app_glob_match(mf_node_dig_str(e, "namespace", NULL), dest))
			continue;
		colon = strchr(sa, ':');
		if (colon)
			return gs_asprintf("system:serviceaccount:%.*s:%s", (int)(colon - sa), sa,
					   colon + 1);
		return gs_asprintf("system:serviceaccount:%s:%s", dest, sa);
	}
	name = mf_node_dig_str(app, "spec", "destination", "serviceAccountName", NULL);
	if (!name || !*name)
		name = default_sa;
	if (!name || !*name)
		return NULL;
	return gs_asprintf("system:serviceaccount:%s:%s", app_ns, name);
}

int app_project_get(struct mf_node **out, struct kube_client *kc, const char *ns,
		    const char *name, struct gs_error *err)
{
	const struct kube_resource *res;
	int rc;

	rc = kube_client_resource(kc, &res, APP_GROUP, APP_VERSION, APP_PROJECT_KIND, err);
	if (rc == GS_ENOTFOUND)
		return gs_error_set(err, GS_ENOTFOUND,
				    "the Project resource is not installed (run `gitsync install`)");
	if (rc)
		return rc;
	rc = kube_client_get(kc, out, res, ns, name, err);
	if (rc == GS_ENOTFOUND)
		return gs_error_set(err, GS_ENOTFOUND,
				    "project '%s' not found in namespace '%s' (create it, or set "
				    "spec.project to an existing one)",
				    name, ns);
	return rc;
}

int app_project_ensure_default(struct kube_client *kc, const char *ns, bool *created_out,
			       struct gs_error *err)
{
	struct mf_docs d = MF_DOCS_INIT;
	struct mf_node *live = NULL;
	const struct kube_resource *res;
	char *text = NULL;
	int rc;

	if (created_out)
		*created_out = false;
	rc = kube_client_resource(kc, &res, APP_GROUP, APP_VERSION, APP_PROJECT_KIND, err);
	if (rc)
		return rc;
	rc = kube_client_get(kc, &live, res, ns, APP_PROJECT_DEFAULT, err);
	mf_node_free(live);
	if (rc != GS_ENOTFOUND)
		return rc;
	gs_error_clear(err);
	text = app_project_default_yaml(ns);
	rc = mf_yaml_parse(&d, text, strlen(text), "default-project.yaml", NULL, err);
	if (!rc)
		rc = kube_client_create(kc, NULL, res, d.docs[0], err);
	if (rc == GS_ECONFLICT) /* made by someone else meanwhile */
		rc = GS_OK;
	else if (!rc && created_out)
		*created_out = true;
	mf_docs_release(&d);
	free(text);
	return rc;
}
