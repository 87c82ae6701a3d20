/* test-sync-helm.c - what a rendered Helm chart asks of the sync engine:
 * helm.sh/hook-weight orders hooks (and objects) like a sync wave, and
 * helm.sh/resource-policy: keep is never pruned.  Against the in-memory
 * API server of fake-apiserver.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake-apiserver.h"
#include "gs-alloc.h"
#include "kube/kube-client.h"
#include "mf-yaml.h"
#include "sync/sync.h"

/* Jobs complete as soon as they are stored. */
static void complete_jobs(cJSON *obj, const char *plural, void *payload)
{
	cJSON *st, *conds, *c;

	(void)payload;
	if (strcmp(plural, "jobs"))
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
	st = cJSON_AddObjectToObject(obj, "status");
	conds = cJSON_AddArrayToObject(st, "conditions");
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", "Complete");
	cJSON_AddStringToObject(c, "status", "True");
	cJSON_AddItemToArray(conds, c);
	cJSON_AddNumberToObject(st, "succeeded", 1);
}

struct fixture {
	struct fake_apiserver *fs;
	struct kube_config *cfg;
	struct kube_client *kc;
	struct sync_engine *se;
	struct mf_docs docs;
	struct sync_report rep;
	struct sync_options so;
};

static int setup(void **state)
{
	struct fixture *f = gs_calloc(1, sizeof(*f));
	struct gs_error err = GS_ERROR_INIT;

	*state = f;
	f->docs = (struct mf_docs)MF_DOCS_INIT;
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	if (!(f->fs = fake_apiserver_start()))
		return -1;
	fake_apiserver_on_store(f->fs, complete_jobs, NULL);
	if (fake_apiserver_client(f->fs, NULL, &f->cfg, &f->kc, &err) < 0)
		return -1;
	f->se = sync_engine_new(f->kc);
	f->so.app = "app";
	f->so.ns = "t";
	f->so.timeout_s = 10;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sync_report_release(&f->rep);
	mf_docs_release(&f->docs);
	sync_engine_free(f->se);
	kube_client_free(f->kc);
	kube_config_free(f->cfg);
	fake_apiserver_stop(f->fs);
	free(f);
	return 0;
}

static int sync_yaml(struct fixture *f, const char *yaml)
{
	struct gs_error err = GS_ERROR_INIT;
	int rc;

	mf_docs_release(&f->docs);
	f->docs = (struct mf_docs)MF_DOCS_INIT;
	assert_int_equal(mf_yaml_parse(&f->docs, yaml, strlen(yaml), "chart.yaml", NULL, &err), 0);
	sync_report_release(&f->rep);
	f->rep = (struct sync_report)SYNC_REPORT_INIT;
	rc = sync_run(f->se, &f->rep, f->docs.docs, f->docs.n, &f->so, &err);
	if (rc < 0)
		fprintf(stderr, "sync_run: %s\n", err.msg);
	return rc;
}

/* Line of the fake server's log that first applies (not dry-runs) path. */
static long applied_at(struct fake_apiserver *fs, const char *path)
{
	char *log = fake_apiserver_log(fs), *line = log, *nl;
	size_t n = strlen(path);
	long i = 0, found = -1;

	for (; (nl = strchr(line, '\n')); line = nl + 1, i++) {
		*nl = '\0';
		if (!strncmp(line, "PATCH ", 6) && !strncmp(line + 6, path, n) &&
		    (line[6 + n] == '\0' || line[6 + n] == ' ') && !strstr(line, " dry")) {
			found = i;
			break;
		}
	}
	free(log);
	return found;
}

static bool stored(struct fake_apiserver *fs, const char *path)
{
	char *json = fake_apiserver_get(fs, path);
	bool found = json != NULL;

	free(json);
	return found;
}

#define HELM_JOB(name, hook, weight) \
	"---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: " name ", annotations: " \
	"{helm.sh/hook: " hook ", helm.sh/hook-weight: '" weight "'}}\nspec: {template: " \
	"{spec: {containers: [{name: c, image: busybox}], restartPolicy: Never}}}\n"
#define CM(name, ann) \
	"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: " name ann "}\ndata: {k: v}\n"

static void test_sync_helm__hook_weight_orders_hooks_within_their_phase(void **state)
{
	struct fixture *f = *state;
	long heavy, light, neg, cm, post5, post1;

	/* written in the reverse of helm's order: ascending weight */
	assert_int_equal(sync_yaml(f, HELM_JOB("post-5", "post-install", "5")
				   HELM_JOB("post-1", "post-install,post-upgrade", "1")
				   CM("a", "")
				   HELM_JOB("pre-heavy", "pre-install", "10")
				   HELM_JOB("pre-light", "pre-install", "2")
				   HELM_JOB("pre-neg", "pre-upgrade", "-5")),
			 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	heavy = applied_at(f->fs, "/apis/batch/v1/namespaces/t/jobs/pre-heavy");
	light = applied_at(f->fs, "/apis/batch/v1/namespaces/t/jobs/pre-light");
	neg = applied_at(f->fs, "/apis/batch/v1/namespaces/t/jobs/pre-neg");
	cm = applied_at(f->fs, "/api/v1/namespaces/t/configmaps/a");
	post5 = applied_at(f->fs, "/apis/batch/v1/namespaces/t/jobs/post-5");
	post1 = applied_at(f->fs, "/apis/batch/v1/namespaces/t/jobs/post-1");
	assert_true(neg >= 0 && light >= 0 && heavy >= 0 && cm >= 0 && post1 >= 0 && post5 >= 0);
	assert_true(neg < light);
	assert_true(light < heavy);
	assert_true(heavy < cm);
	assert_true(cm < post1);
	assert_true(post1 < post5);
}

static void test_sync_helm__sync_wave_wins_over_hook_weight(void **state)
{
	struct fixture *f = *state;

	/* Argo's annotation, when both are set, is the wave (gitops-engine) */
	assert_int_equal(sync_yaml(f, CM("late", ", annotations: {helm.sh/hook-weight: '-9', "
					   "argocd.argoproj.io/sync-wave: '3'}")
				   CM("early", ", annotations: {helm.sh/hook-weight: '1'}")),
			 0);
	assert_true(applied_at(f->fs, "/api/v1/namespaces/t/configmaps/early") <
		    applied_at(f->fs, "/api/v1/namespaces/t/configmaps/late"));
}

#define LIVE_CM(name, annotations) \
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" name "\"," \
	"\"namespace\":\"t\",\"labels\":{\"gitsync.io/app\":\"app\"},\"annotations\":{" \
	"\"gitsync.io/tracking-id\":\"app:/ConfigMap:t/" name "\"" annotations "}}," \
	"\"data\":{\"k\":\"v\"}}"

static void test_sync_helm__resource_policy_keep_is_never_pruned(void **state)
{
	struct fixture *f = *state;
	size_t i;
	bool seen = false;

	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/gone", LIVE_CM("gone", ""));
	fake_apiserver_put(f->fs, "/api/v1/namespaces/t/configmaps/kept",
			   LIVE_CM("kept", ",\"helm.sh/resource-policy\":\"keep\""));
	f->so.flags |= SYNC_PRUNE;
	assert_int_equal(sync_yaml(f, CM("a", "")), 0);
	assert_int_equal(f->rep.phase, SYNC_PHASE_SUCCEEDED);
	assert_false(stored(f->fs, "/api/v1/namespaces/t/configmaps/gone"));
	assert_true(stored(f->fs, "/api/v1/namespaces/t/configmaps/kept"));
	for (i = 0; i < f->rep.n; i++) {
		const struct sync_resource *r = &f->rep.v[i];

		if (strcmp(r->name, "kept"))
			continue;
		seen = true;
		assert_true(r->prune_disabled);
		assert_int_equal(r->result, SYNC_RESULT_PRUNE_SKIPPED);
		assert_non_null(strstr(r->message, "helm.sh/resource-policy"));
	}
	assert_true(seen);
	assert_int_equal(fake_apiserver_log_count(f->fs, "DELETE /api/v1/namespaces/t/configmaps/kept"),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_sync_helm__hook_weight_orders_hooks_within_their_phase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_helm__sync_wave_wins_over_hook_weight,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_helm__resource_policy_keep_is_never_pruned,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
