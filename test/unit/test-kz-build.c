/* test-kz-build.c - kustomization builds over an in-memory tree.  Expected
 * names and hashes come from the real kubectl kustomize (v1.35 / kustomize
 * v5.7.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kz-build.h"
#include "mf-object.h"

static struct kz_fs *tree(const char *const *files)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct gs_error err = GS_ERROR_INIT;

	for (; *files; files += 2)
		assert_int_equal(kz_fs_mem_add(fs, files[0], files[1], strlen(files[1]), &err), GS_OK);
	return fs;
}

static int build(struct kz_output *out, const char *const *files, const char *dir,
		 struct gs_error *err)
{
	struct kz_fs *fs = tree(files);
	int rc = kz_build(out, fs, dir, err);

	kz_fs_free(fs);
	return rc;
}

static const struct mf_node *find(const struct kz_output *out, const char *kind)
{
	size_t i;

	for (i = 0; i < out->docs.n; i++)
		if (!strcmp(mf_obj_kind(out->docs.docs[i]), kind))
			return out->docs.docs[i];
	return NULL;
}

static const char deploy[] =
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n"
	"    spec:\n      containers:\n      - name: app\n        image: app:1\n"
	"        envFrom:\n        - configMapRef:\n            name: app-config\n";

static void test_kz_build__generator_hash_and_reference_match_kubectl(void **state)
{
	/* cases/057 of the shared corpus: kubectl names it app-config-h8fck52bmt */
	static const char *const files[] = {
		"kustomization.yaml",
		"configMapGenerator:\n- name: app-config\n  literals:\n  - LOG_LEVEL=info\n"
		"  - MAX_CONNECTIONS=100\n  - FEATURE_X=true\n  - EMPTY=\n  - WITH_EQUALS=a=b=c\n"
		"  - QUOTED=\"double quoted\"\n  - SINGLE='single quoted'\n  - SPACES=  padded value  \n"
		"resources:\n- deploy.yaml\n",
		"deploy.yaml", deploy, NULL,
	};
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	const struct mf_node *cm, *d;
	(void)state;

	assert_int_equal(build(&out, files, "", &err), GS_OK);
	assert_int_equal(out.docs.n, 2);
	cm = out.docs.docs[0]; /* legacy order: ConfigMap before Deployment */
	assert_string_equal(mf_obj_kind(cm), "ConfigMap");
	assert_string_equal(mf_obj_name(cm), "app-config-h8fck52bmt");
	assert_string_equal(mf_node_dig_str(cm, "data", "QUOTED", NULL), "double quoted");
	d = find(&out, "Deployment");
	assert_string_equal(mf_node_str(mf_node_dig(mf_node_at(mf_node_dig(mf_node_at(mf_node_dig(d, "spec", "template", "spec", "containers", NULL), 0), "envFrom", NULL), 0), "configMapRef", "name", NULL)),
			    "app-config-h8fck52bmt");
	kz_output_release(&out);
}

static void test_kz_build__secret_hash_with_wrapped_base64_matches_kubectl(void **state)
{
	/* cases/200 of the shared corpus: kubectl names this Secret wrap-dt2g57t228
	 * (values of 52+ bytes are base64 wrapped every 70 characters) */
	char lit[4][300];
	const char *files[] = { "kustomization.yaml", NULL, NULL };
	char k[1400];
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	const size_t lens[4] = { 51, 52, 105, 204 }; /* as in the corpus case */
	const char fill[4] = { 'a', 'b', 'c', 'd' };
	struct mf_node *s;
	char h[11];
	size_t i;
	(void)state;

	for (i = 0; i < 4; i++) {
		memset(lit[i], fill[i], lens[i]);
		lit[i][lens[i]] = '\0';
	}
	snprintf(k, sizeof(k),
		 "secretGenerator:\n- name: wrap\n  literals:\n  - len51=%s\n  - len52=%s\n"
		 "  - len105=%s\n  - len200=%s\n  - empty=\n",
		 lit[0], lit[1], lit[2], lit[3]);
	files[1] = k;
	assert_int_equal(build(&out, files, "", &err), GS_OK);
	assert_int_equal(out.docs.n, 1);
	assert_string_equal(mf_obj_name(out.docs.docs[0]), "wrap-dt2g57t228");
	/* kz_hash_object hashes the content only: rename does not matter */
	s = mf_node_clone(out.docs.docs[0]);
	mf_obj_set_name(s, "other");
	assert_int_equal(kz_hash_object(h, s, &err), GS_OK);
	assert_string_equal(h, "dt2g57t228");
	mf_node_set_str_value(s, "kind", "Deployment");
	assert_int_equal(kz_hash_object(h, s, &err), GS_EINVAL);
	mf_node_free(s);
	kz_output_release(&out);
}

static void test_kz_build__overlay_namespace_prefix_and_cluster_scope(void **state)
{
	static const char *const files[] = {
		"base/kustomization.yaml", "resources:\n- r.yaml\n",
		"base/r.yaml",
		"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n---\n"
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr\n---\n"
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: crb\n"
		"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cr\n"
		"subjects:\n- kind: ServiceAccount\n  name: sa\n  namespace: default\n",
		"prod/kustomization.yaml", "namespace: prod\nnamePrefix: p-\nresources:\n- ../base\n",
		NULL,
	};
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	const struct mf_node *sa, *cr, *crb, *sub;
	(void)state;

	assert_int_equal(build(&out, files, "prod", &err), GS_OK);
	sa = find(&out, "ServiceAccount");
	cr = find(&out, "ClusterRole");
	crb = find(&out, "ClusterRoleBinding");
	assert_string_equal(mf_obj_name(sa), "p-sa");
	assert_string_equal(mf_obj_namespace(sa), "prod");
	assert_string_equal(mf_obj_name(cr), "p-cr");
	assert_null(mf_obj_namespace(cr));
	assert_string_equal(mf_node_dig_str(crb, "roleRef", "name", NULL), "p-cr");
	sub = mf_node_at(mf_node_get(crb, "subjects"), 0);
	assert_string_equal(mf_node_dig_str(sub, "name", NULL), "p-sa");
	assert_string_equal(mf_node_dig_str(sub, "namespace", NULL), "prod");
	kz_output_release(&out);
}

static void test_kz_build__errors_name_file_and_line(void **state)
{
	static const char *const unknown[] = {
		"kustomization.yaml", "resources: []\nnamePrefixx: x-\n", NULL,
	};
	static const char *const escape[] = {
		"app/kustomization.yaml", "resources:\n- ../secret.yaml\n",
		"secret.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", NULL,
	};
	static const char *const cycle[] = {
		"a/kustomization.yaml", "resources: [../b]\n",
		"b/kustomization.yaml", "resources: [../a]\n", NULL,
	};
	static const char *const dup[] = {
		"kustomization.yaml", "resources: [a.yaml, b.yaml]\n",
		"a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", NULL,
	};
	static const char *const nopatch[] = {
		"kustomization.yaml", "resources: [a.yaml]\npatches:\n- path: p.yaml\n",
		"a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n", NULL,
	};
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(build(&out, unknown, "", &err), GS_EINVAL);
	assert_string_equal(err.where, "kustomization.yaml:2");
	assert_non_null(strstr(err.msg, "unknown field \"namePrefixx\""));
	assert_int_equal(build(&out, escape, "app", &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "not in or below"));
	assert_int_equal(build(&out, cycle, "a", &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "cycle"));
	assert_int_equal(build(&out, dup, "", &err), GS_ECONFLICT);
	assert_int_equal(build(&out, nopatch, "", &err), GS_EINVAL);
	assert_int_equal(out.docs.n, 0); /* never partial output */
	kz_output_release(&out);
}

static void test_kz_build__render_plain_directory(void **state)
{
	static const char *const files[] = {
		"m/b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
		"m/a.json", "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"apiVersion\":\"v1\","
			    "\"kind\":\"Secret\",\"metadata\":{\"name\":\"a\"}}]}",
		"m/values.yaml", "replicas: 3\n",
		"m/sub/c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", NULL,
	};
	struct kz_fs *fs = tree(files);
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(kz_render(&out, fs, "m", 0, &err), GS_OK);
	assert_int_equal(out.docs.n, 2);
	assert_string_equal(mf_obj_name(out.docs.docs[0]), "a");
	assert_string_equal(mf_obj_name(out.docs.docs[1]), "b");
	kz_output_release(&out);
	assert_int_equal(kz_render(&out, fs, "m", KZ_RENDER_RECURSE, &err), GS_OK);
	assert_int_equal(out.docs.n, 3);
	kz_output_release(&out);
	kz_fs_free(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kz_build__generator_hash_and_reference_match_kubectl),
		cmocka_unit_test(test_kz_build__secret_hash_with_wrapped_base64_matches_kubectl),
		cmocka_unit_test(test_kz_build__overlay_namespace_prefix_and_cluster_scope),
		cmocka_unit_test(test_kz_build__errors_name_file_and_line),
		cmocka_unit_test(test_kz_build__render_plain_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
