/* test-app-project.c - Projects: source namespaces, repositories,
 * destinations, kinds and the impersonated service account. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/app-project.h"
#include "app/app.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-yaml.h"

static struct mf_node *yaml(const char *text)
{
	struct mf_docs d = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *n;

	assert_int_equal(mf_yaml_parse(&d, text, strlen(text), "test.yaml", NULL, &err), 0);
	n = mf_docs_take(&d, 0);
	mf_docs_release(&d);
	return n;
}

static const char team_a[] =
	"apiVersion: gitsync.io/v1alpha1\n"
	"kind: Project\n"
	"metadata: {name: team-a, namespace: gitsync}\n"
	"spec:\n"
	"  sourceRepos: ['https://git.example.com/team-a/*', '!https://git.example.com/team-a/secret*']\n"
	"  sourceNamespaces: [team-a, 'team-a-*']\n"
	"  destinations:\n"
	"  - {namespace: 'team-a*', server: '*'}\n"
	"  - {namespace: shared, server: 'https://other.example.com'}\n"
	"  clusterResourceWhitelist:\n"
	"  - {group: '', kind: Namespace}\n"
	"  namespaceResourceBlacklist:\n"
	"  - {group: '', kind: ResourceQuota}\n"
	"  - {group: 'rbac.authorization.k8s.io', kind: '*'}\n"
	"  destinationServiceAccounts:\n"
	"  - {namespace: team-a, defaultServiceAccount: deployer}\n"
	"  - {namespace: 'team-a-*', defaultServiceAccount: 'team-a:deployer'}\n";

static struct mf_node *app(const char *ns, const char *repo, const char *dest, const char *extra)
{
	char *text = gs_asprintf("apiVersion: gitsync.io/v1alpha1\nkind: Application\n"
				 "metadata: {name: web, namespace: %s}\n"
				 "spec:\n  project: team-a\n"
				 "  source: {repoURL: '%s', path: app}\n"
				 "  destination: {namespace: '%s'%s}\n",
				 ns, repo, dest, extra ? extra : "");
	struct mf_node *n = yaml(text);

	free(text);
	return n;
}

static void test_app_project__source_namespace_repo_and_destination(void **state)
{
	struct mf_node *p = yaml(team_a), *a;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	a = app("team-a", "https://git.example.com/team-a/web.git", "team-a", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), 0);
	assert_string_equal(app_project_name(a), "team-a");
	mf_node_free(a);

	/* an Application in a namespace the project does not list */
	a = app("team-b", "https://git.example.com/team-a/web.git", "team-a", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), GS_EAUTH);
	assert_non_null(strstr(err.msg, "sourceNamespaces"));
	mf_node_free(a);
	/* the agent's own namespace may use any project */
	a = app("gitsync", "https://git.example.com/team-a/web.git", "team-a-dev", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), 0);
	mf_node_free(a);

	/* another team's repository; a denied one inside the allowed glob */
	a = app("team-a", "https://git.example.com/team-b/web.git", "team-a", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), GS_EAUTH);
	assert_non_null(strstr(err.msg, "sourceRepos"));
	mf_node_free(a);
	a = app("team-a", "https://git.example.com/team-a/secrets.git", "team-a", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), GS_EAUTH);
	mf_node_free(a);

	/* a destination outside the globs; one listed only for another server */
	a = app("team-a", "https://git.example.com/team-a/web.git", "kube-system", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), GS_EAUTH);
	assert_non_null(strstr(err.msg, "'kube-system'"));
	mf_node_free(a);
	a = app("team-a", "https://git.example.com/team-a/web.git", "shared", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), GS_EAUTH);
	mf_node_free(a);
	a = app("team-a", "https://git.example.com/team-a/web.git", "team-a",
		", server: 'https://elsewhere:6443'");
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), GS_EAUTH);
	assert_non_null(strstr(err.msg, "server"));
	mf_node_free(a);
	mf_node_free(p);
}

static void test_app_project__objects_by_kind_and_namespace(void **state)
{
	struct mf_node *p = yaml(team_a);
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(app_project_check_object(p, "apps", "Deployment", "team-a", NULL, &err), 0);
	assert_int_equal(app_project_check_object(p, "", "ConfigMap", "team-a-dev", NULL, &err), 0);
	assert_int_equal(app_project_check_object(p, "apps", "Deployment", "team-b", NULL, &err),
			 GS_EAUTH);
	assert_string_equal(err.msg, "namespace 'team-b' is not a destination of project 'team-a' "
				     "(see the project's spec.destinations)");
	/* cluster-scoped: the whitelist; a Namespace's name is also bounded by the
	 * destinations (changing team-b's namespace, or making kube-foo) */
	assert_int_equal(app_project_check_object(p, "", "Namespace", "", NULL, &err), 0);
	assert_int_equal(app_project_check_object(p, "", "Namespace", "", "team-a-new", &err), 0);
	assert_int_equal(app_project_check_object(p, "", "Namespace", "", "team-b", &err), GS_EAUTH);
	assert_string_equal(err.msg, "Namespace 'team-b' is not a destination of project 'team-a' "
				     "(see the project's spec.destinations)");
	assert_int_equal(app_project_check_object(p, "", "Namespace", "", "shared", &err), GS_EAUTH);
	assert_int_equal(app_project_check_object(p, "rbac.authorization.k8s.io", "ClusterRole", "",
						  NULL, &err),
			 GS_EAUTH);
	assert_non_null(strstr(err.msg, "clusterResourceWhitelist"));
	/* blacklisted namespaced kinds, exact and by glob */
	assert_int_equal(app_project_check_object(p, "", "ResourceQuota", "team-a", NULL, &err), GS_EAUTH);
	assert_non_null(strstr(err.msg, "core/ResourceQuota"));
	assert_int_equal(app_project_check_object(p, "rbac.authorization.k8s.io", "RoleBinding",
						  "team-a", NULL, &err),
			 GS_EAUTH);
	mf_node_free(p);

	/* a project without any list: no cluster-scoped kind, no namespace */
	p = yaml("kind: Project\nmetadata: {name: empty}\nspec: {}\n");
	assert_int_equal(app_project_check_object(p, "", "Namespace", "", NULL, &err), GS_EAUTH);
	assert_int_equal(app_project_check_object(p, "", "ConfigMap", "default", NULL, &err), GS_EAUTH);
	mf_node_free(p);
}

static void test_app_project__default_project_allows_everything(void **state)
{
	char *text = app_project_default_yaml("gitsync");
	struct mf_node *p = yaml(text), *a;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_string_equal(mf_node_dig_str(p, "metadata", "name", NULL), "default");
	a = app("gitsync", "ssh://git@host/any.git", "anywhere", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), 0);
	assert_int_equal(app_project_check_object(p, "rbac.authorization.k8s.io", "ClusterRole", "",
						  NULL, &err),
			 0);
	assert_int_equal(app_project_check_object(p, "", "Secret", "kube-system", NULL, &err), 0);
	/* ... but not to Applications of other namespaces: sourceNamespaces is empty */
	mf_node_free(a);
	a = app("team-a", "ssh://git@host/any.git", "team-a", NULL);
	assert_int_equal(app_project_check_app(p, a, "gitsync", &err), GS_EAUTH);
	mf_node_free(a);
	mf_node_free(p);
	free(text);
}

static void test_app_project__impersonated_service_account(void **state)
{
	struct mf_node *p = yaml(team_a), *a;
	char *u;
	(void)state;

	/* the project's entry for the destination namespace: NAME there */
	a = app("team-a", "r", "team-a", ", serviceAccountName: admin");
	u = app_project_impersonation(p, a, "fallback");
	assert_string_equal(u, "system:serviceaccount:team-a:deployer");
	free(u);
	mf_node_free(a);
	/* NS:NAME */
	a = app("team-a", "r", "team-a-dev", NULL);
	u = app_project_impersonation(p, a, NULL);
	assert_string_equal(u, "system:serviceaccount:team-a:deployer");
	free(u);
	mf_node_free(a);
	/* no project entry: the app's own account, in the app's namespace */
	a = app("team-a", "r", "other", ", serviceAccountName: kube-system:admin");
	u = app_project_impersonation(p, a, NULL);
	assert_string_equal(u, "system:serviceaccount:team-a:kube-system:admin");
	free(u);
	mf_node_free(a);
	/* the lockdown default, then none */
	a = app("team-b", "r", "team-b", NULL);
	u = app_project_impersonation(p, a, "gitsync-apply");
	assert_string_equal(u, "system:serviceaccount:team-b:gitsync-apply");
	free(u);
	assert_null(app_project_impersonation(p, a, NULL));
	assert_null(app_project_impersonation(NULL, a, NULL));
	mf_node_free(a);
	mf_node_free(p);
}

static void test_app_project__embedded_crd_matches_examples_deploy(void **state)
{
	const char *root = getenv("GS_SOURCE_ROOT");
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *path;

	(void)state;
	if (!root)
		skip();
	path = gs_asprintf("%s/examples/deploy/crd-project.yaml", root);
	assert_int_equal(gs_buf_read_file(&b, path, &err), 0);
	assert_string_equal(b.ptr, app_project_crd_yaml());
	gs_buf_release(&b);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_project__source_namespace_repo_and_destination),
		cmocka_unit_test(test_app_project__objects_by_kind_and_namespace),
		cmocka_unit_test(test_app_project__default_project_allows_everything),
		cmocka_unit_test(test_app_project__impersonated_service_account),
		cmocka_unit_test(test_app_project__embedded_crd_matches_examples_deploy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
