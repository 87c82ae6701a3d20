/* test-app-tenancy.c - a Project as the sync's policy, and impersonation,
 * against the in-memory API server (fake-apiserver.c): an object outside
 * the project fails before any write and nothing is applied; writes (and
 * only writes) carry Impersonate-User; a 403 for the impersonated account
 * fails that object with the server's message instead of the run. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/app-project.h"
#include "fake-apiserver.h"
#include "gs-alloc.h"
#include "kube/kube-client.h"
#include "mf-yaml.h"
#include "sync/sync.h"

struct fixture {
	struct fake_apiserver *fs;
	struct kube_config *cfg;
	struct kube_client *kc;
	struct sync_engine *se;
	struct mf_docs docs, proj;
	struct sync_report rep;
	struct sync_options so;
	pthread_mutex_t lock;
	unsigned reads_impersonated, writes, writes_impersonated;
	const char *deny_secrets_for; /* answer 403 to Secret writes as this user */
};

/* Count who asked what; refuse Secret writes for deny_secrets_for. */
static bool watch_headers(struct MHD_Connection *conn, const char *method, const char *url,
			  const char *body, size_t len, enum MHD_Result *ret, void *payload)
{
	struct fixture *f = payload;
	const char *who = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Impersonate-User");
	bool write = strcmp(method, "GET") != 0;
	(void)body;
	(void)len;

	pthread_mutex_lock(&f->lock);
	if (write) {
		f->writes++;
		f->writes_impersonated += who != NULL;
	} else {
		f->reads_impersonated += who != NULL;
	}
	pthread_mutex_unlock(&f->lock);
	if (write && who && f->deny_secrets_for && !strcmp(who, f->deny_secrets_for) &&
	    strstr(url, "/secrets/")) {
		static const char msg[] =
			"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
			"\"message\":\"secrets \\\"s\\\" is forbidden: User "
			"\\\"system:serviceaccount:t:deployer\\\" cannot patch resource "
			"\\\"secrets\\\" in API group \\\"\\\" in the namespace \\\"t\\\"\","
			"\"reason\":\"Forbidden\",\"code\":403}";
		struct MHD_Response *r = MHD_create_response_from_buffer(
			sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_MUST_COPY);
		MHD_add_response_header(r, "Content-Type", "application/json");
		*ret = MHD_queue_response(conn, 403, r);
		MHD_destroy_response(r);
		return true;
	}
	return false;
}

static int setup(void **state)
{
	struct fixture *f = gs_calloc(1, sizeof(*f));
	struct gs_error err = GS_ERROR_INIT;
	static const char project[] = "kind: Project\nmetadata: {name: team}\nspec:\n"
				      "  destinations: [{namespace: t}]\n";

	*state = f;
	f->docs = (struct mf_docs)MF_DOCS_INIT;
	f->proj = (struct mf_docs)MF_DOCS_INIT;
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	pthread_mutex_init(&f->lock, NULL);
	if (!(f->fs = fake_apiserver_start()))
		return -1;
	fake_apiserver_set_handler(f->fs, watch_headers, f);
	if (fake_apiserver_client(f->fs, NULL, &f->cfg, &f->kc, &err) < 0)
		return -1;
	f->se = sync_engine_new(f->kc);
	f->so.app = "app";
	f->so.ns = "t";
	f->so.timeout_s = 10;
	if (mf_yaml_parse(&f->proj, project, strlen(project), "project.yaml", NULL, &err) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sync_report_release(&f->rep);
	mf_docs_release(&f->docs);
	mf_docs_release(&f->proj);
	sync_engine_free(f->se);
	kube_client_free(f->kc);
	kube_config_free(f->cfg);
	fake_apiserver_stop(f->fs);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

static int policy(const struct sync_resource *r, bool prune, void *payload, struct gs_error *err)
{
	int rc = app_project_check_object(payload, r->group, r->kind, r->ns, r->name, err);

	if (rc && prune)
		gs_error_wrap(err, "cannot prune");
	return rc;
}

static int run(struct fixture *f, const char *yaml)
{
	struct gs_error err = GS_ERROR_INIT;

	mf_docs_release(&f->docs);
	f->docs = (struct mf_docs)MF_DOCS_INIT;
	assert_int_equal(mf_yaml_parse(&f->docs, yaml, strlen(yaml), "src.yaml", NULL, &err), 0);
	sync_report_release(&f->rep);
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	f->so.policy = policy;
	f->so.policy_payload = f->proj.docs[0];
	return sync_run(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err);
}

/* Is an object stored at path?  (fake_apiserver_get's copy freed) */
static bool stored(struct fake_apiserver *fs, const char *path)
{
	char *s = fake_apiserver_get(fs, path);
	bool found = s != NULL;

	free(s);
	return found;
}

static const struct sync_resource *row(const struct sync_report *rep, const char *name)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (!strcmp(rep->v[i].name, name))
			return &rep->v[i];
	fail_msg("no row for %s", name);
	return NULL;
}

#define SECRET "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n"
#define CM(name, ns) \
	"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: " name ns "}\ndata: {k: v}\n"

static void test_app_tenancy__object_outside_the_project_fails_and_nothing_is_written(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, CM("a", "") CM("b", ", namespace: other")
				"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"),
			 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_FAILED);
	assert_int_equal(row(&f->rep, "b")->result, SYNC_RESULT_FAILED);
	assert_string_equal(row(&f->rep, "b")->message,
			    "namespace 'other' is not a destination of project 'team' (see the "
			    "project's spec.destinations)");
	assert_int_equal(row(&f->rep, "x")->result, SYNC_RESULT_FAILED);
	assert_non_null(strstr(row(&f->rep, "x")->message, "clusterResourceWhitelist"));
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/a"));
	/* refused before asking: no request at all about the refused objects */
	assert_int_equal(fake_apiserver_log_count(f->fs, "PATCH /api/v1/namespaces/other/"), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "PATCH /api/v1/namespaces/x"), 0);
	assert_int_equal(fake_apiserver_log_count(f->fs, "PATCH /api/v1/namespaces/t/configmaps/a"),
			 1); /* its dry-run only */

	/* within bounds it syncs */
	assert_int_equal(run(f, CM("a", "")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_true(stored(f->fs, "/api/v1/namespaces/t/configmaps/a"));
}

static void test_app_tenancy__prune_outside_the_project_is_refused(void **state)
{
	struct fixture *f = *state;

	fake_apiserver_put(f->fs, "/api/v1/namespaces/other/configmaps/old",
			   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			   "\"old\",\"namespace\":\"other\",\"labels\":{\"gitsync.io/app\":\"app\"},"
			   "\"annotations\":{\"gitsync.io/tracking-id\":"
			   "\"app:/ConfigMap:other/old\"}}}");
	f->so.flags = SYNC_PRUNE;
	assert_int_equal(run(f, CM("a", "")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_FAILED);
	assert_int_equal(row(&f->rep, "old")->result, SYNC_RESULT_FAILED);
	assert_non_null(strstr(row(&f->rep, "old")->message, "cannot prune: namespace 'other'"));
	assert_true(stored(f->fs, "/api/v1/namespaces/other/configmaps/old"));
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/a"));
	assert_int_equal(fake_apiserver_log_count(f->fs, "DELETE"), 0);
}

static void test_app_tenancy__writes_impersonate_and_a_403_fails_the_object(void **state)
{
	struct fixture *f = *state;

	kube_client_set_impersonation(f->kc, "system:serviceaccount:t:deployer");
	assert_string_equal(kube_client_impersonation(f->kc), "system:serviceaccount:t:deployer");
	assert_int_equal(run(f, CM("a", "")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_true(f->writes >= 2); /* dry-run and apply */
	assert_int_equal(f->writes_impersonated, f->writes);
	assert_int_equal(f->reads_impersonated, 0);

	/* the account may not write Secrets: that object fails with the
	 * server's words, the run ends Failed, nothing is applied */
	f->deny_secrets_for = "system:serviceaccount:t:deployer";
	assert_int_equal(run(f, CM("c", "") SECRET), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_FAILED);
	assert_int_equal(row(&f->rep, "s")->result, SYNC_RESULT_FAILED);
	assert_non_null(strstr(row(&f->rep, "s")->message,
			       "is forbidden: User \"system:serviceaccount:t:deployer\""));
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/c"));

	/* turned off: no header any more */
	kube_client_set_impersonation(f->kc, NULL);
	f->writes = f->writes_impersonated = 0;
	assert_int_equal(run(f, CM("a", "")), 0);
	assert_int_equal(f->writes_impersonated, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_app_tenancy__object_outside_the_project_fails_and_nothing_is_written,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_tenancy__prune_outside_the_project_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_app_tenancy__writes_impersonate_and_a_403_fails_the_object, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
