/* test-kz-helm.c - helmCharts in kustomizations, kustomize-lite's side:
 * what the helm hook is asked (chart directory under helmGlobals.chartHome,
 * the values file kustomize hands helm, additional values files), where the
 * chart's objects land (after the ConfigMap/Secret generators, before the
 * transformers), confinement, and the errors.  The hook is a fake returning
 * canned YAML; the real helm is compared with kubectl in t-render-helm.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "kz-build.h"
#include "mf-object.h"

/* What the fake hook saw, and what it answers. */
struct fake_helm {
	unsigned calls;
	char chart_dir[256], chart_root[256], release[64], ns[64], values[1024], files[256],
		apis[256];
	bool crds, tests, hooks;
	const char *answer; /* NULL: fail */
};

static int fake_helm(void *arg, const struct kz_helm_chart *c, struct gs_buf *out,
		     struct gs_error *err)
{
	struct fake_helm *f = arg;
	size_t i;

	f->calls++;
	snprintf(f->chart_dir, sizeof(f->chart_dir), "%s", c->chart_dir);
	snprintf(f->chart_root, sizeof(f->chart_root), "%s", c->chart_root);
	snprintf(f->release, sizeof(f->release), "%s", c->release_name);
	snprintf(f->ns, sizeof(f->ns), "%s", c->namespace);
	snprintf(f->values, sizeof(f->values), "%s", c->values);
	f->files[0] = f->apis[0] = '\0';
	for (i = 0; i < c->n_values_files; i++)
		snprintf(f->files + strlen(f->files), sizeof(f->files) - strlen(f->files), "%s;",
			 c->values_files[i]);
	for (i = 0; i < c->n_api_versions; i++)
		snprintf(f->apis + strlen(f->apis), sizeof(f->apis) - strlen(f->apis), "%s;",
			 c->api_versions[i]);
	f->crds = c->include_crds;
	f->tests = c->skip_tests;
	f->hooks = c->skip_hooks;
	if (!f->answer)
		return gs_error_set(err, GS_ERR, "template: demo/templates/x.yaml:3: boom");
	gs_buf_puts(out, f->answer);
	return GS_OK;
}

static const char chart_yaml[] = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
static const char chart_values[] = "replicas: 1\nimage: nginx\nlabels:\n  tier: web\n";
static const char answer[] =
	"---\n# Source: demo/templates/svc.yaml\napiVersion: v1\nkind: Service\n"
	"metadata:\n  name: rel-svc\n---\n# Source: demo/templates/empty.yaml\n"
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: rel-web\n";

static int render(struct kz_output *out, struct fake_helm *f, const char *const *files,
		  const char *path, struct gs_error *err)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_hooks hooks = { NULL, NULL, 0, 0, f ? fake_helm : NULL, f };
	int rc;

	for (; *files; files += 2)
		assert_int_equal(kz_fs_mem_add(fs, files[0], files[1], strlen(files[1]), err),
				 GS_OK);
	rc = kz_render_hooks(out, fs, path, 0, NULL, &hooks, NULL, err);
	kz_fs_free(fs);
	return rc;
}

static void test_kz_helm__objects_follow_the_generators_in_fifo_order(void **state)
{
	static const char *const files[] = {
		"app/kustomization.yaml",
		"sortOptions:\n  order: fifo\nnamePrefix: p-\nresources:\n- plain.yaml\n"
		"configMapGenerator:\n- name: gen\n  literals: [a=b]\n"
		"helmCharts:\n- name: demo\n  releaseName: rel\n  namespace: ns1\n"
		"  includeCRDs: true\n  skipTests: true\n  skipHooks: true\n"
		"  apiVersions: [example.com/v1]\n",
		"app/plain.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
		"app/charts/demo/Chart.yaml", chart_yaml,
		"app/charts/demo/values.yaml", chart_values, NULL,
	};
	static const char *const want[] = { "p-plain", "p-gen-4h2mbtbbt6", "p-rel-svc",
					    "p-rel-web" };
	struct fake_helm f = { .answer = answer };
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	size_t i;
	(void)state;

	if (render(&out, &f, files, "app", &err) < 0)
		fail_msg("%s: %s", err.where, err.msg);
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.chart_dir, "app/charts/demo");
	assert_string_equal(f.release, "rel");
	assert_string_equal(f.ns, "ns1");
	/* no valuesInline: the chart's values.yaml as it is */
	assert_string_equal(f.values, chart_values);
	assert_string_equal(f.apis, "example.com/v1;");
	assert_true(f.crds && f.tests && f.hooks);
	/* the empty document of helm's output is skipped */
	assert_int_equal(out.docs.n, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(mf_obj_name(out.docs.docs[i]), want[i]);
	kz_output_release(&out);
}

static void test_kz_helm__chart_home_and_versioned_layout(void **state)
{
	static const char *const files[] = {
		"kustomization.yaml",
		"helmGlobals:\n  chartHome: vendor/charts\nhelmCharts:\n- name: demo\n"
		"- name: demo\n  repo: https://charts.example.com\n  version: 1.2.3\n"
		"  releaseName: two\n",
		"vendor/charts/demo/Chart.yaml", chart_yaml,
		"vendor/charts/demo/values.yaml", chart_values,
		"vendor/charts/demo-1.2.3/demo/Chart.yaml", chart_yaml,
		"vendor/charts/demo-1.2.3/demo/values.yaml", "image: pinned\n", NULL,
	};
	struct fake_helm f = { .answer = "" };
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	if (render(&out, &f, files, "", &err) < 0)
		fail_msg("%s: %s", err.where, err.msg);
	assert_int_equal(f.calls, 2);
	/* repo and version: kustomize's <chartHome>/<name>-<version>/<name> */
	assert_string_equal(f.chart_dir, "vendor/charts/demo-1.2.3/demo");
	assert_string_equal(f.values, "image: pinned\n");
	assert_string_equal(f.release, "two");
	assert_int_equal(out.docs.n, 0);
	kz_output_release(&out);
}

static void test_kz_helm__values_inline_merge_modes(void **state)
{
	static const char kust_fmt[] =
		"helmCharts:\n- name: demo\n  valuesFile: v.yaml\n"
		"  additionalValuesFiles: [more/a.yaml]\n%s"
		"  valuesInline:\n    replicas: 3\n    labels: {extra: x, tier: null}\n"
		"    list: [9]\n";
	static const char vfile[] = "replicas: 1\nimage: nginx\nlabels:\n  tier: web\n"
				    "list: [1, 2]\n";
	static const struct {
		const char *merge, *want;
	} cases[] = {
		/* override (the default): valuesInline wins, null deletes, lists replace */
		{ "", "image: nginx\nlabels:\n  extra: x\nlist:\n- 9\nreplicas: 3\n" },
		{ "  valuesMerge: override\n",
		  "image: nginx\nlabels:\n  extra: x\nlist:\n- 9\nreplicas: 3\n" },
		/* merge: the file wins, valuesInline fills gaps */
		{ "  valuesMerge: merge\n",
		  "image: nginx\nlabels:\n  extra: x\n  tier: web\nlist:\n- 1\n- 2\nreplicas: 1\n" },
		/* replace: valuesInline alone */
		{ "  valuesMerge: replace\n",
		  "labels:\n  extra: x\n  tier: null\nlist:\n- 9\nreplicas: 3\n" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *kust = gs_asprintf(kust_fmt, cases[i].merge);
		const char *files[] = {
			"kustomization.yaml", kust, "v.yaml", vfile, "more/a.yaml", "port: 1\n",
			"charts/demo/Chart.yaml", chart_yaml, "charts/demo/values.yaml",
			chart_values, NULL,
		};
		struct fake_helm f = { .answer = "" };
		struct kz_output out = KZ_OUTPUT_INIT;
		struct gs_error err = GS_ERROR_INIT;

		if (render(&out, &f, files, "", &err) < 0)
			fail_msg("case %zu: %s: %s", i, err.where, err.msg);
		if (strcmp(f.values, cases[i].want))
			fail_msg("case %zu (%s): values\n%s\nwant\n%s", i, cases[i].merge, f.values,
				 cases[i].want);
		assert_string_equal(f.files, "more/a.yaml;");
		kz_output_release(&out);
		free(kust);
	}
}

/* One kustomization that must fail: the message must hold each of want. */
static void expect_error(const char *const *files, const char *path, struct fake_helm *f,
			 const char *where, const char *const *want)
{
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;

	if (render(&out, f, files, path, &err) == GS_OK)
		fail_msg("rendered; expected an error with '%s'", want[0]);
	if (where && strcmp(err.where, where))
		fail_msg("error at '%s', want '%s' (%s)", err.where, where, err.msg);
	for (; *want; want++)
		if (!strstr(err.msg, *want))
			fail_msg("error '%s' lacks '%s'", err.msg, *want);
	assert_int_equal(out.docs.n, 0);
	kz_output_release(&out);
}

static void test_kz_helm__without_hook_says_to_enable_helm(void **state)
{
	static const char *const files[] = {
		"app/kustomization.yaml", "resources: []\nhelmCharts:\n- name: demo\n",
		"app/charts/demo/Chart.yaml", chart_yaml, NULL,
	};
	static const char *const want[] = { "--enable-helm", "GITSYNC_HELM", NULL };
	(void)state;

	expect_error(files, "app", NULL, "app/kustomization.yaml:3", want);
}

static void test_kz_helm__chart_outside_the_kustomization_is_refused(void **state)
{
	static const char *const escape[] = {
		"app/kustomization.yaml", "helmGlobals:\n  chartHome: ../charts\nhelmCharts:\n"
		"- name: demo\n",
		"charts/demo/Chart.yaml", chart_yaml, "charts/demo/values.yaml", chart_values, NULL,
	};
	static const char *const want1[] = { "chartHome '../charts' is not in or below", NULL };
	static const char *const dots[] = {
		"app/kustomization.yaml", "helmCharts:\n- name: ../../charts/demo\n",
		"charts/demo/Chart.yaml", chart_yaml, NULL,
	};
	static const char *const want2[] = { "security", "not in or below", NULL };
	static const char *const vfile[] = {
		"app/kustomization.yaml", "helmCharts:\n- name: demo\n  valuesFile: ../secret.yaml\n",
		"app/charts/demo/Chart.yaml", chart_yaml, "secret.yaml", "a: 1\n", NULL,
	};
	static const char *const want3[] = { "security; file '../secret.yaml'", NULL };
	static const char *const addv[] = {
		"app/kustomization.yaml",
		"helmCharts:\n- name: demo\n  additionalValuesFiles: [../secret.yaml]\n",
		"app/charts/demo/Chart.yaml", chart_yaml, "app/charts/demo/values.yaml", "",
		"secret.yaml", "a: 1\n", NULL,
	};
	struct fake_helm f = { .answer = "" };
	(void)state;

	expect_error(escape, "app", &f, "app/kustomization.yaml:2", want1);
	expect_error(dots, "app", &f, "app/kustomization.yaml:2", want2);
	expect_error(vfile, "app", &f, "app/kustomization.yaml:3", want3);
	expect_error(addv, "app", &f, NULL, want3);
	assert_int_equal(f.calls, 0);
}

static void test_kz_helm__missing_chart_and_helm_failure_name_the_chart(void **state)
{
	static const char *const missing[] = {
		"kustomization.yaml", "helmCharts:\n- name: demo\n", NULL,
	};
	static const char *const want1[] = { "no repo specified for pull, no chart found at "
					     "'charts/demo'", NULL };
	static const char *const remote[] = {
		"kustomization.yaml",
		"helmCharts:\n- name: demo\n  repo: https://charts.example.com\n  version: 2.0.0\n",
		NULL,
	};
	static const char *const want2[] = { "does not pull charts", "helm pull --untar", NULL };
	static const char *const fails[] = {
		"kustomization.yaml", "namePrefix: x-\nhelmCharts:\n- name: demo\n",
		"charts/demo/Chart.yaml", chart_yaml, "charts/demo/values.yaml", chart_values, NULL,
	};
	static const char *const want3[] = { "helmCharts 'demo' (charts/demo)", "boom", NULL };
	static const char *const merge[] = {
		"kustomization.yaml", "helmCharts:\n- name: demo\n  valuesMerge: deep\n"
		"  valuesInline: {a: 1}\n",
		"charts/demo/Chart.yaml", chart_yaml, "charts/demo/values.yaml", chart_values, NULL,
	};
	static const char *const want4[] = { "valuesMerge must be one of [merge override replace]",
					     NULL };
	static const char *const novalues[] = {
		"kustomization.yaml", "helmCharts:\n- name: demo\n",
		"charts/demo/Chart.yaml", chart_yaml, NULL,
	};
	static const char *const want5[] = { "values file 'charts/demo/values.yaml' not found",
					     NULL };
	static const char *const typo[] = {
		"kustomization.yaml", "helmCharts:\n- name: demo\n  valueInline: {a: 1}\n",
		"charts/demo/Chart.yaml", chart_yaml, "charts/demo/values.yaml", chart_values, NULL,
	};
	static const char *const want6[] = { "unknown field \"valueInline\"", NULL };
	struct fake_helm f = { .answer = NULL };
	(void)state;

	/* kustomize decodes entries strictly: a typo is no silent default */
	expect_error(typo, "", &f, "kustomization.yaml:3", want6);
	assert_int_equal(f.calls, 0);
	expect_error(missing, "", &f, "kustomization.yaml:2", want1);
	expect_error(remote, "", &f, "kustomization.yaml:2", want2);
	expect_error(fails, "", &f, "kustomization.yaml:3", want3);
	expect_error(merge, "", &f, "kustomization.yaml:3", want4);
	expect_error(novalues, "", &f, "kustomization.yaml:2", want5);
}

/* A fake chart puller: a chart "unpacked" in a temporary directory. */
struct fake_pull {
	unsigned calls;
	char dir[64], name[64], repo[128], version[64];
	const char *fail; /* non-NULL: fail with this message */
};

static int fake_pull(void *arg, const struct kz_chart_pull *req, char **root_out,
		     char **chart_out, struct gs_error *err)
{
	struct fake_pull *p = arg;

	p->calls++;
	snprintf(p->name, sizeof(p->name), "%s", req->name);
	snprintf(p->repo, sizeof(p->repo), "%s", req->repo);
	snprintf(p->version, sizeof(p->version), "%s", req->version);
	if (p->fail)
		return gs_error_set(err, GS_ENOTFOUND, "%s", p->fail);
	*root_out = gs_strdup(p->dir);
	*chart_out = gs_strdup("demo");
	return GS_OK;
}

static void put_file(const char *dir, const char *rel, const char *text)
{
	char *path = gs_asprintf("%s/%s", dir, rel);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static int render_pull(struct kz_output *out, struct fake_helm *f, struct fake_pull *p,
		       const char *const *files, struct gs_error *err)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_hooks hooks = { NULL, NULL, 0, 0, fake_helm, f, fake_pull, p };
	int rc;

	for (; *files; files += 2)
		assert_int_equal(kz_fs_mem_add(fs, files[0], files[1], strlen(files[1]), err),
				 GS_OK);
	rc = kz_render_hooks(out, fs, "", 0, NULL, &hooks, NULL, err);
	kz_fs_free(fs);
	return rc;
}

static void test_kz_helm__missing_chart_with_repo_is_pulled(void **state)
{
	static const char *const pulled[] = {
		"kustomization.yaml",
		"helmCharts:\n- name: demo\n  repo: https://charts.example.com\n  version: 1.2.3\n"
		"  valuesInline: {extra: 1}\n",
		NULL,
	};
	static const char *const vendored[] = {
		"kustomization.yaml",
		"helmCharts:\n- name: demo\n  repo: https://charts.example.com\n  version: 1.2.3\n",
		"charts/demo-1.2.3/demo/Chart.yaml", chart_yaml,
		"charts/demo-1.2.3/demo/values.yaml", "image: vendored\n", NULL,
	};
	struct fake_helm f = { .answer = answer };
	struct fake_pull p = { .fail = NULL };
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *sub, *link;
	(void)state;

	snprintf(p.dir, sizeof(p.dir), "/tmp/test-kz-helm-XXXXXX");
	assert_non_null(mkdtemp(p.dir));
	sub = gs_asprintf("%s/demo", p.dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_file(p.dir, "demo/Chart.yaml", chart_yaml);
	put_file(p.dir, "demo/values.yaml", "image: pulled\nreplicas: 2\n");

	/* not in the tree, repo set: pulled, its directory and values used */
	if (render_pull(&out, &f, &p, pulled, &err) < 0)
		fail_msg("%s: %s", err.where, err.msg);
	assert_int_equal(p.calls, 1);
	assert_string_equal(p.name, "demo");
	assert_string_equal(p.repo, "https://charts.example.com");
	assert_string_equal(p.version, "1.2.3");
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.chart_root, p.dir);
	assert_string_equal(f.chart_dir, "demo");
	assert_string_equal(f.values, "extra: 1\nimage: pulled\nreplicas: 2\n");
	assert_int_equal(out.docs.n, 2);
	kz_output_release(&out);

	/* vendored in the tree: never pulled */
	out = (struct kz_output)KZ_OUTPUT_INIT;
	if (render_pull(&out, &f, &p, vendored, &err) < 0)
		fail_msg("%s: %s", err.where, err.msg);
	assert_int_equal(p.calls, 1);
	assert_int_equal(f.calls, 2);
	assert_string_equal(f.chart_root, "");
	assert_string_equal(f.chart_dir, "charts/demo-1.2.3/demo");
	assert_string_equal(f.values, "image: vendored\n");
	kz_output_release(&out);

	/* a values.yaml linking out of the pulled chart is refused */
	link = gs_asprintf("%s/demo/values.yaml", p.dir);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	out = (struct kz_output)KZ_OUTPUT_INIT;
	assert_int_equal(render_pull(&out, &f, &p, pulled, &err), GS_EINVAL);
	if (!strstr(err.msg, "leads outside the root"))
		fail_msg("%s", err.msg);
	assert_int_equal(f.calls, 2);
	kz_output_release(&out);
	unlink(link);

	/* a failed pull names the kustomization, the chart, the repo, the version */
	p.fail = "GET https://charts.example.com/index.yaml: HTTP 404";
	gs_error_clear(&err);
	out = (struct kz_output)KZ_OUTPUT_INIT;
	assert_int_equal(render_pull(&out, &f, &p, pulled, &err), GS_ENOTFOUND);
	assert_string_equal(err.where, "kustomization.yaml:2");
	assert_non_null(strstr(err.msg, "helmCharts 'demo'"));
	assert_non_null(strstr(err.msg, "repo 'https://charts.example.com' version 1.2.3"));
	assert_non_null(strstr(err.msg, "HTTP 404"));
	kz_output_release(&out);

	put_file(p.dir, "demo/values.yaml", "");
	unlink(link);
	free(link);
	link = gs_asprintf("%s/demo/Chart.yaml", p.dir);
	unlink(link);
	free(link);
	rmdir(sub);
	rmdir(p.dir);
	free(sub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kz_helm__objects_follow_the_generators_in_fifo_order),
		cmocka_unit_test(test_kz_helm__chart_home_and_versioned_layout),
		cmocka_unit_test(test_kz_helm__values_inline_merge_modes),
		cmocka_unit_test(test_kz_helm__without_hook_says_to_enable_helm),
		cmocka_unit_test(test_kz_helm__chart_outside_the_kustomization_is_refused),
		cmocka_unit_test(test_kz_helm__missing_chart_and_helm_failure_name_the_chart),
		cmocka_unit_test(test_kz_helm__missing_chart_with_repo_is_pulled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
