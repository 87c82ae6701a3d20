/* test-mf-diff.c - structured diff, unified text diff, Secret masking and
 * the node hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-diff.h"
#include "mf-hash.h"
#include "mf-yaml.h"

static struct mf_node *parse1(const char *yaml)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *n;

	if (mf_yaml_parse(&docs, yaml, strlen(yaml), "test", NULL, &err) < 0)
		fail_msg("parse: %s: %s", err.where, err.msg);
	assert_int_equal(docs.n, 1);
	n = mf_docs_take(&docs, 0);
	mf_docs_release(&docs);
	return n;
}

/* ---- structured ---- */

static void test_mf_diff__structured_paths_for_maps_and_lists(void **state)
{
	struct mf_node *a = parse1("metadata:\n  labels: {app: web, gone: x}\n"
				   "  annotations: {a/b: \"1\"}\n"
				   "spec:\n  ports: [80, 443]\n  replicas: 1\n");
	struct mf_node *b = parse1("metadata:\n  labels: {app: web, new: y}\n"
				   "  annotations: {a/b: \"2\"}\n"
				   "spec:\n  ports: [80, 8443, 9000]\n  replicas: 1\n");
	struct mf_changes ch = MF_CHANGES_INIT;
	(void)state;

	mf_diff(&ch, a, b);
	assert_int_equal(ch.n, 5);
	assert_int_equal(ch.v[0].op, MF_CHANGE_REMOVE);
	assert_string_equal(ch.v[0].path, "/metadata/labels/gone");
	assert_string_equal(mf_node_str(ch.v[0].old_v), "x");
	assert_null(ch.v[0].new_v);
	assert_int_equal(ch.v[1].op, MF_CHANGE_ADD);
	assert_string_equal(ch.v[1].path, "/metadata/labels/new");
	assert_int_equal(ch.v[2].op, MF_CHANGE_MODIFY);
	assert_string_equal(ch.v[2].path, "/metadata/annotations/a~1b");
	assert_string_equal(mf_node_str(ch.v[2].old_v), "1");
	assert_string_equal(mf_node_str(ch.v[2].new_v), "2");
	assert_int_equal(ch.v[3].op, MF_CHANGE_MODIFY);
	assert_string_equal(ch.v[3].path, "/spec/ports/1");
	assert_int_equal(ch.v[4].op, MF_CHANGE_ADD);
	assert_string_equal(ch.v[4].path, "/spec/ports/2");
	mf_changes_release(&ch);

	/* equal trees (key order aside) give no change */
	mf_diff(&ch, a, a);
	assert_int_equal(ch.n, 0);
	/* created and deleted objects are one change at the root */
	mf_diff(&ch, NULL, b);
	assert_int_equal(ch.n, 1);
	assert_int_equal(ch.v[0].op, MF_CHANGE_ADD);
	assert_string_equal(ch.v[0].path, "");
	mf_changes_release(&ch);
	mf_node_free(a);
	mf_node_free(b);
}

static void test_mf_diff__structured_type_change_is_modify(void **state)
{
	struct mf_node *a = parse1("{x: {y: 1}}"), *b = parse1("{x: [1]}");
	struct mf_changes ch = MF_CHANGES_INIT;
	(void)state;

	mf_diff(&ch, a, b);
	assert_int_equal(ch.n, 1);
	assert_int_equal(ch.v[0].op, MF_CHANGE_MODIFY);
	assert_string_equal(ch.v[0].path, "/x");
	mf_changes_release(&ch);
	mf_node_free(a);
	mf_node_free(b);
}

/* ---- text ---- */

static void expect_lines(const char *a, const char *b, const char *want)
{
	struct gs_buf out = GS_BUF_INIT;
	bool diff = mf_diff_lines(&out, a, strlen(a), b, strlen(b), "a", "b");

	assert_int_equal(diff, want[0] != '\0');
	assert_string_equal(out.ptr, want);
	gs_buf_release(&out);
}

static void test_mf_diff__lines_equal_appends_nothing(void **state)
{
	(void)state;
	expect_lines("x\ny\n", "x\ny\n", "");
	expect_lines("", "", "");
}

static void test_mf_diff__lines_one_change_three_context_lines(void **state)
{
	(void)state;
	expect_lines("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
		     "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
}

static void test_mf_diff__lines_far_changes_make_two_hunks(void **state)
{
	(void)state;
	expect_lines("a\n1\n2\n3\n4\n5\n6\n7\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\nB\n",
		     "--- a\n+++ b\n"
		     "@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n"
		     "@@ -6,4 +6,4 @@\n 5\n 6\n 7\n-b\n+B\n");
	/* six equal lines between two changes still make one hunk */
	expect_lines("a\n1\n2\n3\n4\n5\n6\nb\n", "A\n1\n2\n3\n4\n5\n6\nB\n",
		     "--- a\n+++ b\n@@ -1,8 +1,8 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n 6\n-b\n+B\n");
}

static void test_mf_diff__lines_empty_side_and_single_line_ranges(void **state)
{
	(void)state;
	expect_lines("", "x\ny\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n");
	expect_lines("x\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n");
	expect_lines("x\n", "y\n", "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n");
	expect_lines("x", "x\n", "--- a\n+++ b\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n");
}

/* Apply a unified diff (as produced above) to a's lines; returns the text. */
static char *apply_unified(const char *a, const char *diff)
{
	struct gs_buf out = GS_BUF_INIT;
	const char *la[128];
	size_t na = 0, ai = 0, i;
	const char *p = a, *d = diff;

	while (*p) {
		la[na++] = p;
		p = strchr(p, '\n') + 1;
	}
	/* skip the two label lines */
	d = strchr(d, '\n') + 1;
	d = strchr(d, '\n') + 1;
	while (*d) {
		const char *eol = strchr(d, '\n');
		if (d[0] == '@') {
			unsigned long start = strtoul(d + 4, NULL, 10);
			size_t upto = start ? start - 1 : 0;
			/* copy untouched lines before the hunk */
			if (strchr(d, ',') && strchr(d, ',') < strchr(d + 4, ' ') &&
			    strtoul(strchr(d, ',') + 1, NULL, 10) == 0)
				upto = start;
			for (; ai < upto; ai++)
				gs_buf_add(&out, la[ai], (size_t)(strchr(la[ai], '\n') - la[ai] + 1));
		} else if (d[0] == ' ') {
			gs_buf_add(&out, d + 1, (size_t)(eol - d));
			ai++;
		} else if (d[0] == '-') {
			ai++;
		} else if (d[0] == '+') {
			gs_buf_add(&out, d + 1, (size_t)(eol - d));
		}
		d = eol + 1;
	}
	for (i = ai; i < na; i++)
		gs_buf_add(&out, la[i], (size_t)(strchr(la[i], '\n') - la[i] + 1));
	return gs_buf_detach(&out, NULL);
}

static size_t lcs_len(const char *const *x, size_t n, const char *const *y, size_t m)
{
	static size_t t[65][65];
	size_t i, j;

	for (i = 0; i <= n; i++)
		for (j = 0; j <= m; j++) {
			if (!i || !j)
				t[i][j] = 0;
			else if (!strcmp(x[i - 1], y[j - 1]))
				t[i][j] = t[i - 1][j - 1] + 1;
			else
				t[i][j] = t[i - 1][j] > t[i][j - 1] ? t[i - 1][j] : t[i][j - 1];
		}
	return t[n][m];
}

static void test_mf_diff__lines_random_inputs_are_minimal_and_apply(void **state)
{
	static const char *const alphabet[] = { "a", "b", "c", "d" };
	unsigned seed = 12345;
	int iter;
	(void)state;

	for (iter = 0; iter < 2000; iter++) {
		const char *x[64], *y[64];
		size_t n, m, i, minus = 0, plus = 0, l;
		struct gs_buf ta = GS_BUF_INIT, tb = GS_BUF_INIT, out = GS_BUF_INIT;
		char *applied;
		const char *p;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 40;
		seed = seed * 1103515245u + 12345u;
		m = (seed >> 16) % 40;
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			x[i] = alphabet[(seed >> 16) % (iter % 2 ? 2 : 4)];
			gs_buf_printf(&ta, "%s\n", x[i]);
		}
		for (i = 0; i < m; i++) {
			seed = seed * 1103515245u + 12345u;
			y[i] = alphabet[(seed >> 16) % (iter % 2 ? 2 : 4)];
			gs_buf_printf(&tb, "%s\n", y[i]);
		}
		mf_diff_lines(&out, ta.ptr, ta.len, tb.ptr, tb.len, "a", "b");
		/* count edit lines (the "---"/"+++" labels excluded) */
		for (p = out.ptr; *p; p = strchr(p, '\n') + 1) {
			if (!strncmp(p, "--- ", 4) || !strncmp(p, "+++ ", 4))
				continue;
			minus += *p == '-';
			plus += *p == '+';
		}
		l = lcs_len(x, n, y, m);
		assert_int_equal(minus, n - l);
		assert_int_equal(plus, m - l);
		if (out.len) {
			applied = apply_unified(ta.ptr, out.ptr);
			assert_string_equal(applied, tb.ptr);
			free(applied);
		}
		gs_buf_release(&ta);
		gs_buf_release(&tb);
		gs_buf_release(&out);
	}
}

static void test_mf_diff__lines_large_input_is_fast_enough_to_finish(void **state)
{
	struct gs_buf a = GS_BUF_INIT, b = GS_BUF_INIT, out = GS_BUF_INIT;
	size_t i;
	(void)state;

	/* 20000 lines with a change every 1000: O(ND), not O(NM) memory */
	for (i = 0; i < 20000; i++) {
		gs_buf_printf(&a, "line %zu\n", i);
		gs_buf_printf(&b, i % 1000 == 500 ? "changed %zu\n" : "line %zu\n", i);
	}
	assert_true(mf_diff_lines(&out, a.ptr, a.len, b.ptr, b.len, "a", "b"));
	assert_non_null(strstr(out.ptr, "@@ -498,7 +498,7 @@\n"));
	assert_non_null(strstr(out.ptr, "-line 19500\n+changed 19500\n"));
	gs_buf_release(&a);
	gs_buf_release(&b);
	gs_buf_release(&out);
}

static const char deploy_a[] = "apiVersion: apps/v1\nkind: Deployment\n"
			       "metadata:\n  name: web\nspec:\n  replicas: 1\n";

static void test_mf_diff__text_of_objects_is_unified_diff_of_yaml(void **state)
{
	struct mf_node *a = parse1(deploy_a);
	/* key order differs: not a difference */
	struct mf_node *b = parse1("kind: Deployment\napiVersion: apps/v1\n"
				   "spec:\n  replicas: 3\nmetadata:\n  name: web\n");
	struct gs_buf out = GS_BUF_INIT;
	(void)state;

	assert_true(mf_diff_text(&out, a, b, "live/web", "desired/web", 0));
	assert_string_equal(out.ptr, "--- live/web\n+++ desired/web\n@@ -3,4 +3,4 @@\n"
				     " metadata:\n   name: web\n spec:\n-  replicas: 1\n+  replicas: 3\n");
	gs_buf_release(&out);
	assert_false(mf_diff_text(&out, a, a, "x", "y", 0));
	assert_int_equal(out.len, 0);
	/* a created object: everything added */
	assert_true(mf_diff_text(&out, NULL, a, "/dev/null", "desired", 0));
	assert_string_equal(out.ptr, "--- /dev/null\n+++ desired\n@@ -0,0 +1,6 @@\n"
				     "+apiVersion: apps/v1\n+kind: Deployment\n+metadata:\n"
				     "+  name: web\n+spec:\n+  replicas: 1\n");
	gs_buf_release(&out);
	mf_node_free(a);
	mf_node_free(b);
}

static const char secret_a[] = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
			       "data:\n  password: b2xk\n  user: YWRtaW4=\n"
			       "stringData:\n  token: abc\n";
static const char secret_b[] = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
			       "data:\n  password: bmV3\n  user: YWRtaW4=\n"
			       "stringData:\n  token: abc\n";

static void test_mf_diff__secret_values_masked_change_still_visible(void **state)
{
	struct mf_node *a = parse1(secret_a), *b = parse1(secret_b);
	struct gs_buf out = GS_BUF_INIT;
	(void)state;

	assert_true(mf_diff_text(&out, a, b, "live", "desired", 0));
	assert_string_equal(out.ptr, "--- live\n+++ desired\n@@ -1,6 +1,6 @@\n"
				     " apiVersion: v1\n data:\n-  password: ++++++++\n"
				     "+  password: ++++++++++++\n   user: ++++++++\n kind: Secret\n"
				     " metadata:\n");
	assert_null(strstr(out.ptr, "b2xk"));
	assert_null(strstr(out.ptr, "bmV3"));
	gs_buf_release(&out);
	/* the caller's objects are untouched */
	assert_string_equal(mf_node_dig_str(a, "data", "password", NULL), "b2xk");

	assert_true(mf_diff_text(&out, a, b, "live", "desired", MF_DIFF_SHOW_SECRETS));
	assert_non_null(strstr(out.ptr, "-  password: b2xk\n+  password: bmV3\n"));
	gs_buf_release(&out);
	mf_node_free(a);
	mf_node_free(b);
}

static void test_mf_diff__secret_same_values_no_diff_and_mask_copy(void **state)
{
	struct mf_node *a = parse1(secret_a), *m;
	struct mf_node *cm = parse1("apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n");
	struct gs_buf out = GS_BUF_INIT;
	(void)state;

	assert_false(mf_diff_text(&out, a, a, "x", "y", 0));
	m = mf_diff_mask_secret(a);
	assert_string_equal(mf_node_dig_str(m, "data", "password", NULL), "++++++++");
	assert_string_equal(mf_node_dig_str(m, "stringData", "token", NULL), "++++++++");
	assert_string_equal(mf_node_dig_str(m, "metadata", "name", NULL), "s");
	mf_node_free(m);
	/* not a Secret: nothing masked */
	m = mf_diff_mask_secret(cm);
	assert_string_equal(mf_node_dig_str(m, "data", "k", NULL), "v");
	mf_node_free(m);
	/* a created Secret shows masks only */
	assert_true(mf_diff_text(&out, NULL, a, "a", "b", 0));
	assert_null(strstr(out.ptr, "YWRtaW4="));
	assert_non_null(strstr(out.ptr, "+  user: ++++++++\n"));
	gs_buf_release(&out);
	mf_node_free(a);
	mf_node_free(cm);
}

/* ---- hash ---- */

static void test_mf_hash__key_order_ignored_types_and_values_count(void **state)
{
	struct mf_node *a = parse1("{b: 1, a: [x, {d: 2, c: null}]}");
	struct mf_node *b = parse1("{a: [x, {c: null, d: 2}], b: 1}");
	struct mf_node *c = parse1("{a: [x, {c: null, d: 2}], b: \"1\"}");
	struct mf_node *d = parse1("{a: [{c: null, d: 2}, x], b: 1}");
	struct mf_node *n = mf_node_new_null();
	char ha[MF_HASH_HEX_SIZE], hb[MF_HASH_HEX_SIZE], hc[MF_HASH_HEX_SIZE],
		hd[MF_HASH_HEX_SIZE];
	(void)state;

	mf_hash_node_hex(ha, a);
	mf_hash_node_hex(hb, b);
	mf_hash_node_hex(hc, c);
	mf_hash_node_hex(hd, d);
	assert_int_equal(strlen(ha), 64);
	assert_string_equal(ha, hb);
	assert_string_not_equal(ha, hc); /* 1 vs "1" */
	assert_string_not_equal(ha, hd); /* list order counts */
	/* a null node is serialized as the single tag byte "0" */
	assert_string_equal(mf_hash_node_hex(ha, n),
			    "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9");
	mf_node_free(a);
	mf_node_free(b);
	mf_node_free(c);
	mf_node_free(d);
	mf_node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mf_diff__structured_paths_for_maps_and_lists),
		cmocka_unit_test(test_mf_diff__structured_type_change_is_modify),
		cmocka_unit_test(test_mf_diff__lines_equal_appends_nothing),
		cmocka_unit_test(test_mf_diff__lines_one_change_three_context_lines),
		cmocka_unit_test(test_mf_diff__lines_far_changes_make_two_hunks),
		cmocka_unit_test(test_mf_diff__lines_empty_side_and_single_line_ranges),
		cmocka_unit_test(test_mf_diff__lines_random_inputs_are_minimal_and_apply),
		cmocka_unit_test(test_mf_diff__lines_large_input_is_fast_enough_to_finish),
		cmocka_unit_test(test_mf_diff__text_of_objects_is_unified_diff_of_yaml),
		cmocka_unit_test(test_mf_diff__secret_values_masked_change_still_visible),
		cmocka_unit_test(test_mf_diff__secret_same_values_no_diff_and_mask_copy),
		cmocka_unit_test(test_mf_hash__key_order_ignored_types_and_values_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
