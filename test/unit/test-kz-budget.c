/* test-kz-budget.c - a whole render runs under a budget (nodes, files,
 * time), target regexes under match limits, JSON patches under a size
 * bound, and plain directories render in linear time: each hostile input of
 * issue 13, over an in-memory tree, failing fast with the limit named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "gs-time.h"
#include "kz-build.h"
#include "mf-object.h"
#include "mf-yaml.h"

static void add(struct kz_fs *fs, const char *path, const char *text)
{
	struct gs_error err = GS_ERROR_INIT;

	assert_int_equal(kz_fs_mem_add(fs, path, text, strlen(text), &err), GS_OK);
}

/* One file of nested aliases: about 530,000 nodes from 600 bytes. */
static char *alias_file(unsigned i)
{
	struct gs_buf b = GS_BUF_INIT;
	unsigned l;

	gs_buf_printf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b%u}\n"
			  "x0: &a0 [1,2,3,4,5,6,7,8,9]\n", i);
	for (l = 1; l <= 4; l++)
		gs_buf_printf(&b, "x%u: &a%u [*a%u,*a%u,*a%u,*a%u,*a%u,*a%u,*a%u,*a%u,*a%u]\n", l, l,
			      l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1, l - 1);
	gs_buf_puts(&b, "data: {k: *a4, l: *a4, m: *a4, n: *a4, o: *a4, p: *a4, q: *a4, r: *a4}\n");
	return gs_buf_detach(&b, NULL);
}

static void test_kz_budget__aliases_spread_over_files_stop_at_the_node_limit(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct kz_cost cost = { 0 };
	char name[32];
	unsigned i;
	(void)state;

	/* 60 files of 400 bytes each: every one is under the per-file alias
	 * limit, together they expand to 32 million nodes */
	for (i = 0; i < 60; i++) {
		char *t = alias_file(i);

		snprintf(name, sizeof(name), "m/b%02u.yaml", i);
		add(fs, name, t);
		free(t);
	}
	assert_int_equal(kz_render_budget(&out, fs, "m", 0, NULL, &cost, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "render-max-nodes"));
	assert_non_null(strstr(err.where, "m/b0"));
	assert_true(cost.files <= 3);
	assert_int_equal(out.docs.n, 0);
	kz_output_release(&out);
	kz_fs_free(fs);
}

static void test_kz_budget__a_raised_budget_lets_a_big_render_through(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct kz_budget b = { 3000000, 0, 0 };
	char *t = alias_file(1);
	(void)state;

	add(fs, "m/a.yaml", t);
	free(t);
	t = alias_file(2);
	add(fs, "m/b.yaml", t);
	free(t);
	assert_int_equal(kz_render(&out, fs, "m", 0, &err), GS_ELIMIT);
	kz_output_release(&out);
	out = (struct kz_output)KZ_OUTPUT_INIT;
	gs_error_clear(&err);
	assert_int_equal(kz_render_budget(&out, fs, "m", 0, &b, NULL, &err), GS_OK);
	assert_int_equal(out.docs.n, 2);
	kz_output_release(&out);
	kz_fs_free(fs);
}

static void test_kz_budget__a_diamond_of_bases_stops_with_the_limit_named(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf cms = GS_BUF_INIT;
	char path[64], text[256];
	unsigned l, j, i;
	(void)state;

	for (i = 0; i < 50; i++)
		gs_buf_printf(&cms, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%u\n"
				    "data: {a: '1', b: '2', c: '3', d: '4', e: '5', f: '6'}\n---\n", i);
	add(fs, "l0/cms.yaml", cms.ptr);
	add(fs, "l0/kustomization.yaml", "resources:\n- cms.yaml\n");
	/* each layer includes the one below four times: 4^7 copies of l0 */
	for (l = 1; l <= 7; l++) {
		snprintf(path, sizeof(path), "l%u/kustomization.yaml", l);
		add(fs, path, "resources:\n- p1\n- p2\n- p3\n- p4\n");
		for (j = 1; j <= 4; j++) {
			snprintf(path, sizeof(path), "l%u/p%u/kustomization.yaml", l, j);
			snprintf(text, sizeof(text), "resources:\n- ../../l%u\nnamePrefix: p%u-\n", l - 1,
				 j);
			add(fs, path, text);
		}
	}
	assert_int_equal(kz_build(&out, fs, "l7", &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "render budget exceeded"));
	assert_non_null(strstr(err.msg, "render-max-nodes"));
	/* the base being copied when the limit came (its directory) */
	assert_int_equal(err.where[0], 'l');
	gs_buf_release(&cms);
	kz_output_release(&out);
	kz_fs_free(fs);
}

/* A diamond of `layers` layers over l0 (n ConfigMaps), each layer
 * including the one below through `width` prefixing directories; shared:
 * every pJ names the same ../../l(L-1); unshared: each path down the tree
 * has its own copy of the layers below (width^layers copies of l0). */
static void diamond(struct kz_fs *fs, const char *top, unsigned layers, unsigned width,
		    unsigned n, bool shared)
{
	struct gs_buf b = GS_BUF_INIT;
	char path[256], text[256];
	unsigned j, i;

	if (!layers) {
		for (i = 0; i < n; i++)
			gs_buf_printf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%u\n"
					  "data: {a: '1'}\n---\n", i);
		snprintf(path, sizeof(path), "%s/cms.yaml", top);
		add(fs, path, b.ptr);
		snprintf(path, sizeof(path), "%s/kustomization.yaml", top);
		add(fs, path, "resources:\n- cms.yaml\ncommonLabels: {layer: '0'}\n");
		gs_buf_release(&b);
		return;
	}
	gs_buf_puts(&b, "resources:\n");
	for (j = 1; j <= width; j++) {
		gs_buf_printf(&b, "- p%u\n", j);
		snprintf(path, sizeof(path), "%s/p%u/kustomization.yaml", top, j);
		if (shared)
			snprintf(text, sizeof(text), "resources:\n- ../../l%u\nnamePrefix: p%u-\n",
				 layers - 1, j);
		else
			snprintf(text, sizeof(text), "resources:\n- below\nnamePrefix: p%u-\n", j);
		add(fs, path, text);
		if (!shared) {
			snprintf(path, sizeof(path), "%s/p%u/below", top, j);
			diamond(fs, path, layers - 1, width, n, false);
		}
	}
	snprintf(path, sizeof(path), "%s/kustomization.yaml", top);
	add(fs, path, b.ptr);
	gs_buf_release(&b);
	if (shared && layers > 1) {
		/* the layer below, shared by this layer's pJ */
		snprintf(path, sizeof(path), "l%u", layers - 1);
		diamond(fs, path, layers - 1, width, n, true);
	} else if (shared) {
		diamond(fs, "l0", 0, width, n, true);
	}
}

static char *render_yaml(struct kz_fs *fs, const char *dir, struct kz_cost *cost)
{
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf b = GS_BUF_INIT;
	size_t i;

	assert_int_equal(kz_render_budget(&out, fs, dir, 0, NULL, cost, &err), GS_OK);
	for (i = 0; i < out.docs.n; i++) {
		gs_buf_puts(&b, "---\n");
		assert_true(mf_yaml_emit(&b, out.docs.docs[i], 0) >= 0);
	}
	kz_output_release(&out);
	return gs_buf_detach(&b, NULL);
}

static void test_kz_budget__a_diamond_reads_each_base_at_most_twice(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_cost cost = { 0 };
	char *y;
	(void)state;

	/* 4^6 = 4096 inclusions of l0: 20,480 objects; without memoized bases
	 * that was 4096 reads of l0 alone and 5,461 kustomizations built */
	diamond(fs, "l6", 6, 4, 5, true);
	y = render_yaml(fs, "l6", &cost);
	assert_non_null(strstr(y, "name: p4-p3-p2-p1-p4-p1-c4\n"));
	/* 7 layers of 5 kustomizations and cms.yaml, each read at most twice */
	assert_true(cost.files <= 2 * (6 * 5 + 2));
	free(y);
	kz_fs_free(fs);
}

static void test_kz_budget__a_shared_base_renders_as_unshared_copies_do(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_cost c1 = { 0 }, c2 = { 0 };
	char *shared, *copies;
	(void)state;

	diamond(fs, "l3", 3, 3, 4, true);
	diamond(fs, "u3", 3, 3, 4, false);
	shared = render_yaml(fs, "l3", &c1);
	copies = render_yaml(fs, "u3", &c2);
	assert_string_equal(shared, copies);
	assert_true(c1.files < c2.files);
	free(shared);
	free(copies);
	kz_fs_free(fs);
}

/* A copy is only as good as the state the base was built in: here c loads
 * a configuration (commonLabels also reach data/x) between the second and
 * the third inclusion of b, so b's own commonLabels must be applied anew
 * for a3, as building b again would. */
static void test_kz_budget__a_base_is_rebuilt_after_a_configuration_is_loaded(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	add(fs, "b/kustomization.yaml", "resources:\n- cm.yaml\ncommonLabels: {l: v}\n");
	add(fs, "b/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n");
	add(fs, "c/kustomization.yaml", "resources:\n- cm.yaml\nconfigurations:\n- c.yaml\n");
	add(fs, "c/c.yaml", "commonLabels:\n- path: data/x\n  kind: ConfigMap\n  create: true\n");
	add(fs, "c/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
	add(fs, "a1/kustomization.yaml", "resources:\n- ../b\nnamePrefix: a1-\n");
	add(fs, "a2/kustomization.yaml", "resources:\n- ../b\nnamePrefix: a2-\n");
	add(fs, "a3/kustomization.yaml", "resources:\n- ../b\nnamePrefix: a3-\n");
	add(fs, "kustomization.yaml", "resources:\n- a1\n- a2\n- c\n- a3\n");
	assert_int_equal(kz_build(&out, fs, "", &err), GS_OK);
	assert_int_equal(out.docs.n, 4);
	/* sorted by name: a1-cm a2-cm a3-cm c */
	assert_string_equal(mf_obj_name(out.docs.docs[0]), "a1-cm");
	assert_string_equal(mf_obj_name(out.docs.docs[2]), "a3-cm");
	assert_null(mf_node_dig(out.docs.docs[0], "data", NULL));
	assert_non_null(mf_node_dig_str(out.docs.docs[2], "data", "x", "l", NULL));
	assert_string_equal(mf_node_dig_str(out.docs.docs[2], "data", "x", "l", NULL), "v");
	kz_output_release(&out);
	kz_fs_free(fs);
}

static void test_kz_budget__json_patch_copies_cannot_double_a_document_unbounded(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf k = GS_BUF_INIT;
	char cm[1200];
	unsigned i;
	(void)state;

	snprintf(cm, sizeof(cm), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
				 "data:\n  a: {x: \"%01000d\"}\n", 0);
	add(fs, "cm.yaml", cm);
	gs_buf_puts(&k, "resources: [cm.yaml]\npatches:\n- target: {kind: ConfigMap}\n  patch: |-\n");
	for (i = 1; i <= 24; i++)
		gs_buf_printf(&k, "    - {op: copy, from: /data/a, path: /data/a/c%u}\n", i);
	add(fs, "kustomization.yaml", k.ptr);
	assert_int_equal(kz_build(&out, fs, "", &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "would exceed 16 MiB"));
	assert_non_null(strstr(err.where, "kustomization.yaml"));
	gs_buf_release(&k);
	kz_output_release(&out);
	kz_fs_free(fs);
}

static void test_kz_budget__catastrophic_target_regex_fails_fast(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	/* the match limit, not a clock, stops it: no timing assertion here */
	add(fs, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
			   "  name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n");
	add(fs, "kustomization.yaml",
	    "resources: [cm.yaml]\npatches:\n- target: {kind: ConfigMap, name: \"(a?){25}a{25}\"}\n"
	    "  patch: |-\n    - {op: add, path: /data, value: {}}\n");
	assert_int_equal(kz_build(&out, fs, "", &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "match limit"));
	kz_output_release(&out);
	kz_fs_free(fs);
}

static void test_kz_budget__target_regexes_are_anchored_like_kustomize(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	add(fs, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-a\n---\n"
			   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: xweb-a\n");
	add(fs, "kustomization.yaml",
	    "resources: [cm.yaml]\npatches:\n- target: {kind: ConfigMap, name: \"web-.*|zzz\"}\n"
	    "  patch: |-\n    - {op: add, path: /data, value: {p: 'yes'}}\n");
	assert_int_equal(kz_build(&out, fs, "", &err), GS_OK);
	assert_int_equal(out.docs.n, 2);
	assert_non_null(mf_node_get(out.docs.docs[0], "data"));
	assert_null(mf_node_get(out.docs.docs[1], "data"));
	kz_output_release(&out);
	kz_fs_free(fs);
	fs = kz_fs_new_mem();
	out = (struct kz_output)KZ_OUTPUT_INIT;
	add(fs, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n");
	add(fs, "kustomization.yaml",
	    "resources: [cm.yaml]\npatches:\n- target: {name: \"(unclosed\"}\n"
	    "  patch: |-\n    - {op: add, path: /data, value: {}}\n");
	assert_int_equal(kz_build(&out, fs, "", &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "invalid name regex"));
	kz_output_release(&out);
	kz_fs_free(fs);
}

/* n plain files in one directory on disk (what the agent renders): seconds
 * to render them. */
static double plain_files(unsigned n)
{
	struct kz_fs *fs = NULL;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char dir[] = "/tmp/gs-kz-budget-XXXXXX", path[96], *cmd;
	double t0;
	unsigned i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/m/c%06u.yaml", dir, i);
		f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%u\ndata:\n  k: v\n", i);
		fclose(f);
	}
	assert_int_equal(kz_fs_new_disk(&fs, dir, &err), GS_OK);
	t0 = gs_time_mono();
	assert_int_equal(kz_render(&out, fs, "m", 0, &err), GS_OK);
	assert_int_equal(out.docs.n, n);
	t0 = gs_time_mono() - t0;
	kz_output_release(&out);
	kz_fs_free(fs);
	cmd = gs_asprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return t0;
}

/* 20,000 plain files render, every one of them (a quadratic listing took
 * 45 s for 100,000).  Linear growth is a figure, not an assertion: see
 * bench/bench-render-large.sh (tests never assert on time). */
static void test_kz_budget__twenty_thousand_plain_files_all_render(void **state)
{
	double t1, t4;
	(void)state;

	t1 = plain_files(5000);
	t4 = plain_files(20000);
	print_message("# 5,000 files %.3f s, 20,000 files %.3f s\n", t1, t4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kz_budget__aliases_spread_over_files_stop_at_the_node_limit),
		cmocka_unit_test(test_kz_budget__a_raised_budget_lets_a_big_render_through),
		cmocka_unit_test(test_kz_budget__a_diamond_of_bases_stops_with_the_limit_named),
		cmocka_unit_test(test_kz_budget__a_diamond_reads_each_base_at_most_twice),
		cmocka_unit_test(test_kz_budget__a_shared_base_renders_as_unshared_copies_do),
		cmocka_unit_test(test_kz_budget__a_base_is_rebuilt_after_a_configuration_is_loaded),
		cmocka_unit_test(test_kz_budget__json_patch_copies_cannot_double_a_document_unbounded),
		cmocka_unit_test(test_kz_budget__catastrophic_target_regex_fails_fast),
		cmocka_unit_test(test_kz_budget__target_regexes_are_anchored_like_kustomize),
		cmocka_unit_test(test_kz_budget__twenty_thousand_plain_files_all_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
