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
	assert_non_null(strstr(err.where, "l0/"));
	gs_buf_release(&cms);
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
		cmocka_unit_test(test_kz_budget__json_patch_copies_cannot_double_a_document_unbounded),
		cmocka_unit_test(test_kz_budget__catastrophic_target_regex_fails_fast),
		cmocka_unit_test(test_kz_budget__target_regexes_are_anchored_like_kustomize),
		cmocka_unit_test(test_kz_budget__twenty_thousand_plain_files_all_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
