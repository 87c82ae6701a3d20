/* test-mf-patch.c - JSON patch (RFC 6902), merge patch (RFC 7386) and
 * strategic merge patch.  The strategic cases are files in
 * $GS_DATA/patch/smp/ (original, patch..., expected), one TAP line each. */
#include <dirent.h>
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
#include "mf-patch.h"
#include "mf-yaml.h"

static struct mf_node *parse1(const char *yaml)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *n;

	if (mf_yaml_parse(&docs, yaml, strlen(yaml), "test", NULL, &err) < 0)
		fail_msg("parse: %s: %s", err.where, err.msg);
	if (docs.n == 0 && !strcmp(yaml, "null"))
		return mf_node_new_null(); /* the parser skips a null document */
	assert_int_equal(docs.n, 1);
	n = mf_docs_take(&docs, 0);
	mf_docs_release(&docs);
	return n;
}

static void assert_node_eq(const struct mf_node *got, const struct mf_node *want)
{
	struct gs_buf g = GS_BUF_INIT, w = GS_BUF_INIT;

	if (mf_node_equal(got, want))
		return;
	mf_yaml_emit(&g, got, 0);
	mf_yaml_emit(&w, want, 0);
	print_error("got:\n%s\nwant:\n%s\n", g.ptr, w.ptr);
	gs_buf_release(&g);
	gs_buf_release(&w);
	fail();
}

static void assert_yaml_eq(const struct mf_node *got, const char *want_yaml)
{
	struct mf_node *want = parse1(want_yaml);
	assert_node_eq(got, want);
	mf_node_free(want);
}

/* ---- RFC 6902 ---- */

struct json_case {
	const char *name, *doc, *patch, *want; /* want NULL: must fail */
	int code;
};

/* RFC 6902 Appendix A (A.13, a duplicate "op" key, is a JSON parser matter). */
static const struct json_case rfc6902[] = {
	{ "A.1 add object member", "{\"foo\":\"bar\"}",
	  "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
	  "{\"baz\":\"qux\",\"foo\":\"bar\"}", 0 },
	{ "A.2 add array element", "{\"foo\":[\"bar\",\"baz\"]}",
	  "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
	  "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", 0 },
	{ "A.3 remove object member", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
	  "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}", 0 },
	{ "A.4 remove array element", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
	  "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}", 0 },
	{ "A.5 replace a value", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
	  "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
	  "{\"baz\":\"boo\",\"foo\":\"bar\"}", 0 },
	{ "A.6 move a value", "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
	  "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
	  "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}", 0 },
	{ "A.7 move an array element", "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
	  "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
	  "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", 0 },
	{ "A.8 test success", "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
	  "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
	  "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", 0 },
	{ "A.9 test error", "{\"baz\":\"qux\"}",
	  "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", NULL, GS_EINVAL },
	{ "A.10 add nested member object", "{\"foo\":\"bar\"}",
	  "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
	  "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}", 0 },
	{ "A.11 ignore unrecognized elements", "{\"foo\":\"bar\"}",
	  "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
	  "{\"foo\":\"bar\",\"baz\":\"qux\"}", 0 },
	{ "A.12 add to a nonexistent target", "{\"foo\":\"bar\"}",
	  "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL, GS_ENOTFOUND },
	{ "A.14 ~ escape ordering", "{\"/\":9,\"~1\":10}",
	  "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]", "{\"/\":9,\"~1\":10}", 0 },
	{ "A.15 comparing strings and numbers", "{\"/\":9,\"~1\":10}",
	  "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", NULL, GS_EINVAL },
	{ "A.16 add an array value", "{\"foo\":[\"bar\"]}",
	  "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
	  "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", 0 },
	/* beyond the appendix */
	{ "copy", "{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]",
	  "{\"a\":{\"b\":1},\"c\":{\"b\":1}}", 0 },
	{ "slash escape in key", "{\"metadata\":{\"annotations\":{\"a/b\":\"x\"}}}",
	  "[{\"op\":\"replace\",\"path\":\"/metadata/annotations/a~1b\",\"value\":\"y\"}]",
	  "{\"metadata\":{\"annotations\":{\"a/b\":\"y\"}}}", 0 },
	{ "replace whole document", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]",
	  "[1]", 0 },
	{ "test number 1 equals 1.0", "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.0}]",
	  "{\"a\":1}", 0 },
	{ "remove missing", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", NULL, GS_ENOTFOUND },
	/* kustomize's json-patch adds a missing member of an existing map */
	{ "replace missing member adds it", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]",
	  "{\"a\":1,\"b\":1}", 0 },
	{ "replace under a missing parent", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b/c\",\"value\":1}]",
	  NULL, GS_ENOTFOUND },
	{ "replace past the end of a list", "{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":1}]",
	  NULL, GS_ENOTFOUND },
	{ "index past the end", "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":1}]",
	  NULL, GS_EINVAL },
	{ "leading zero index", "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/01\"}]", NULL,
	  GS_ENOTFOUND },
	{ "move into own child", "{\"a\":{\"b\":1}}",
	  "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", NULL, GS_EINVAL },
	{ "unknown op", "{}", "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", NULL, GS_EINVAL },
	{ "bad escape", "{}", "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]", NULL, GS_EINVAL },
	{ "missing value", "{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL, GS_EINVAL },
};

static void test_mf_patch__json6902_rfc_appendix(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(rfc6902) / sizeof(rfc6902[0]); i++) {
		const struct json_case *c = &rfc6902[i];
		struct mf_node *doc = parse1(c->doc), *patch = parse1(c->patch), *before;
		struct gs_error err = GS_ERROR_INIT;
		int rc = mf_patch_json6902(doc, patch, &err);

		print_message("# %s\n", c->name);
		if (c->want) {
			if (rc != 0)
				fail_msg("%s: %s", c->name, err.msg);
			assert_yaml_eq(doc, c->want);
		} else {
			assert_int_equal(rc, c->code);
			/* on error the target is unchanged */
			before = parse1(c->doc);
			assert_node_eq(doc, before);
			mf_node_free(before);
		}
		mf_node_free(doc);
		mf_node_free(patch);
	}
}

static void test_mf_patch__json6902_error_names_op_index_and_path(void **state)
{
	struct mf_node *doc = parse1("{\"spec\":{\"replicas\":1}}");
	struct mf_node *patch = parse1("- {op: replace, path: /spec/replicas, value: 2}\n"
				       "- {op: remove, path: /spec/template/spec}\n");
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(mf_patch_json6902(doc, patch, &err), GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "operation 1"));
	assert_non_null(strstr(err.msg, "/spec/template/spec"));
	assert_string_equal(err.where, "test:2");
	/* the first operation was rolled back too */
	assert_yaml_eq(doc, "{\"spec\":{\"replicas\":1}}");
	mf_node_free(doc);
	mf_node_free(patch);
}

static void test_mf_patch__json_pointer_split_unescapes(void **state)
{
	char **segs = NULL;
	size_t n = 0;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(mf_json_pointer_split(&segs, &n, "/a~1b/~0c/", &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(segs[0], "a/b");
	assert_string_equal(segs[1], "~c");
	assert_string_equal(segs[2], "");
	mf_json_pointer_free(segs, n);
	assert_int_equal(mf_json_pointer_split(&segs, &n, "", &err), 0);
	assert_int_equal(n, 0);
	mf_json_pointer_free(segs, n);
	assert_int_equal(mf_json_pointer_split(&segs, &n, "a/b", &err), GS_EINVAL);
	assert_null(segs);
}

/* ---- RFC 7386 ---- */

/* RFC 7386 Appendix A, every row. */
static const char *const rfc7386[][3] = {
	{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
	{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
	{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
	{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
	{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
	{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
	{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
	{ "{\"a\":\"foo\"}", "null", "null" },
	{ "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
	{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
	{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
	{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
};

static void test_mf_patch__merge_rfc7386_appendix(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(rfc7386) / sizeof(rfc7386[0]); i++) {
		struct mf_node *doc = parse1(rfc7386[i][0]), *patch = parse1(rfc7386[i][1]);
		struct gs_error err = GS_ERROR_INIT;

		print_message("# row %zu: %s + %s\n", i + 1, rfc7386[i][0], rfc7386[i][1]);
		assert_int_equal(mf_patch_merge(doc, patch, &err), 0);
		assert_yaml_eq(doc, rfc7386[i][2]);
		mf_node_free(doc);
		mf_node_free(patch);
	}
}

/* mf_patch_merge_diff: merging the diff into base gives target, and the
 * diff holds only what changed.  Hand cases (the status writes of an
 * Application), then 2,000 random pairs of nested maps, each target a few
 * edits of its base. */
static const char *const diffs[][3] = {
	/* base, target, diff ("~": none) */
	{ "{\"a\":1,\"b\":{\"c\":2,\"d\":[1,2]}}", "{\"a\":1,\"b\":{\"c\":3,\"d\":[1,2]}}",
	  "{\"b\":{\"c\":3}}" },
	{ "{\"a\":1,\"b\":{\"c\":2}}", "{\"a\":1}", "{\"b\":null}" },
	{ "{\"s\":{\"missing\":1,\"synced\":3}}", "{\"s\":{\"synced\":4}}",
	  "{\"s\":{\"missing\":null,\"synced\":4}}" },
	{ "{\"h\":[{\"r\":\"a\"}]}", "{\"h\":[{\"r\":\"a\"},{\"r\":\"b\"}]}",
	  "{\"h\":[{\"r\":\"a\"},{\"r\":\"b\"}]}" },
	{ "{\"a\":{\"b\":1}}", "{\"a\":\"x\"}", "{\"a\":\"x\"}" },
	{ "{\"a\":\"x\"}", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}" },
	{ "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", "~" },
	{ "{\"a\":null}", "{}", "~" },
	{ "{}", "{\"a\":null}", "~" },
	{ "{\"a\":1}", "{\"a\":null}", "{\"a\":null}" },
	{ "null", "{\"a\":1}", "{\"a\":1}" },
	{ "{\"a\":{}}", "{\"a\":{\"b\":{}}}", "{\"a\":{\"b\":{}}}" },
};

static unsigned long rnd_state = 12345;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(rnd_state >> 33) % n;
}

static struct mf_node *rnd_value(int depth)
{
	static const char *const keys[] = { "a", "b", "c", "d", "e" };
	struct mf_node *n;
	unsigned i, k;
	char buf[16];

	switch (depth > 2 ? rnd(3) : rnd(5)) {
	case 0:
		snprintf(buf, sizeof(buf), "%u", rnd(4));
		return mf_node_new_str(buf);
	case 1:
		return mf_node_new_bool(rnd(2));
	case 2:
		n = mf_node_new(MF_SEQ);
		for (i = rnd(3); i > 0; i--) {
			snprintf(buf, sizeof(buf), "%u", rnd(3));
			mf_node_append(n, mf_node_new_str(buf));
		}
		return n;
	default:
		n = mf_node_new(MF_MAP);
		for (i = rnd(4); i > 0; i--) {
			k = rnd(5);
			mf_node_set(n, keys[k], rnd_value(depth + 1));
		}
		return n;
	}
}

/* a few edits: a value replaced, a key removed, a key added, anywhere */
static void rnd_edit(struct mf_node *n, int depth)
{
	static const char *const keys[] = { "a", "b", "c", "d", "e", "f" };
	size_t i;

	if (mf_node_type(n) != MF_MAP)
		return;
	for (i = 0; i < mf_node_len(n); i++)
		if (mf_node_type(mf_node_at(n, i)) == MF_MAP && rnd(2))
			rnd_edit(mf_node_get(n, mf_node_key(n, i)), depth + 1);
	switch (rnd(4)) {
	case 0:
		if (mf_node_len(n))
			mf_node_remove(n, mf_node_key(n, rnd((unsigned)mf_node_len(n))));
		break;
	case 1:
		mf_node_set(n, keys[rnd(6)], rnd_value(depth + 1));
		break;
	default:
		break;
	}
}

static void test_mf_patch__merge_diff_merges_back_to_target(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(diffs) / sizeof(diffs[0]); i++) {
		struct mf_node *base = parse1(diffs[i][0]), *target = parse1(diffs[i][1]);
		struct mf_node *d = mf_patch_merge_diff(base, target);

		print_message("# case %zu: %s -> %s\n", i + 1, diffs[i][0], diffs[i][1]);
		if (!strcmp(diffs[i][2], "~")) {
			assert_null(d);
		} else {
			assert_non_null(d);
			assert_yaml_eq(d, diffs[i][2]);
			assert_int_equal(mf_patch_merge(base, d, &err), 0);
			if (mf_node_type(target) == MF_MAP) /* nulls in target vanish */
				assert_true(mf_node_equal(base, target) || strstr(diffs[i][1], "null"));
		}
		mf_node_free(d);
		mf_node_free(base);
		mf_node_free(target);
	}
	for (i = 0; i < 2000; i++) {
		struct mf_node *base = mf_node_new(MF_MAP), *target, *d;
		unsigned k;

		for (k = rnd(5) + 1; k > 0; k--)
			mf_node_set(base, (const char *[]){ "a", "b", "c", "d", "e" }[rnd(5)],
				    rnd_value(0));
		target = mf_node_clone(base);
		rnd_edit(target, 0);
		d = mf_patch_merge_diff(base, target);
		if (mf_node_equal(base, target)) {
			assert_null(d);
		} else {
			assert_non_null(d);
			/* no more keys than target and base have together */
			assert_true(mf_node_len(d) <= mf_node_len(base) + mf_node_len(target));
			assert_int_equal(mf_patch_merge(base, d, &err), 0);
			assert_true(mf_node_equal(base, target));
		}
		mf_node_free(d);
		mf_node_free(base);
		mf_node_free(target);
	}
}

static void test_mf_patch__merge_replaces_lists_in_objects(void **state)
{
	/* kubectl patch --type merge: containers are replaced, not merged */
	struct mf_node *doc = parse1("spec:\n  template:\n    spec:\n      containers:\n"
				     "      - {name: a, image: a}\n      - {name: b, image: b}\n");
	struct mf_node *patch = parse1("spec:\n  template:\n    spec:\n      containers:\n"
				       "      - {name: c, image: c}\n");
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(mf_patch_merge(doc, patch, &err), 0);
	assert_yaml_eq(doc, "spec: {template: {spec: {containers: [{name: c, image: c}]}}}");
	mf_node_free(doc);
	mf_node_free(patch);
}

/* ---- strategic merge: error paths ---- */

static void expect_smp_error(const char *orig, const char *patch_yaml, int code, const char *needle)
{
	struct mf_node *doc = parse1(orig), *patch = parse1(patch_yaml), *before = parse1(orig);
	struct gs_error err = GS_ERROR_INIT;

	assert_int_equal(mf_patch_strategic(doc, patch, NULL, &err), code);
	if (!strstr(err.msg, needle))
		fail_msg("message '%s' lacks '%s'", err.msg, needle);
	assert_node_eq(doc, before); /* unchanged on error */
	mf_node_free(doc);
	mf_node_free(patch);
	mf_node_free(before);
}

static const char pod[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
			  "spec:\n  containers:\n  - {name: a, image: a}\n";

static void test_mf_patch__strategic_missing_merge_key_fails(void **state)
{
	(void)state;
	expect_smp_error(pod, "spec:\n  containers:\n  - image: b\n", GS_EINVAL,
			 "cannot merge 'spec/containers': missing merge key 'name'");
}

static void test_mf_patch__strategic_unknown_directive_fails(void **state)
{
	(void)state;
	expect_smp_error(pod, "spec:\n  $patch: frobnicate\n", GS_EINVAL,
			 "unknown $patch directive 'frobnicate'");
	expect_smp_error(pod, "spec:\n  containers:\n  - {name: a, $patch: nope}\n", GS_EINVAL,
			 "unknown $patch directive 'nope'");
}

static void test_mf_patch__strategic_retain_keys_rejects_unlisted_field(void **state)
{
	(void)state;
	expect_smp_error("apiVersion: apps/v1\nkind: Deployment\nspec: {strategy: {type: A}}\n",
			 "spec:\n  strategy:\n    $retainKeys: [type]\n    type: Recreate\n"
			 "    rollingUpdate: {maxSurge: 1}\n",
			 GS_EINVAL, "field 'rollingUpdate' is not listed in $retainKeys");
}

static void test_mf_patch__strategic_rejects_non_maps(void **state)
{
	struct mf_node *doc = parse1("[1]"), *patch = parse1("{a: 1}");
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(mf_patch_strategic(doc, patch, NULL, &err), GS_EINVAL);
	assert_int_equal(mf_patch_strategic(patch, doc, NULL, &err), GS_EINVAL);
	mf_node_free(doc);
	mf_node_free(patch);
}

static void test_mf_patch__strategic_delete_whole_object_leaves_empty_map(void **state)
{
	struct mf_node *doc = parse1(pod), *patch = parse1("$patch: delete\n");
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(mf_patch_strategic(doc, patch, NULL, &err), 0);
	assert_int_equal(mf_node_type(doc), MF_MAP);
	assert_int_equal(mf_node_len(doc), 0);
	mf_node_free(doc);
	mf_node_free(patch);
}

static void test_mf_patch__strategic_schema_add_merges_custom_list(void **state)
{
	struct mf_smp_schema *s = mf_smp_schema_new();
	struct mf_node *doc = parse1("apiVersion: example.com/v1\nkind: Cluster\n"
				     "spec:\n  nodes:\n  - {name: a, size: small}\n");
	struct mf_node *patch = parse1("spec:\n  nodes:\n  - {name: a, size: large}\n"
				       "  - {name: b, size: small}\n");
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	mf_smp_schema_add(s, "example.com", "Cluster", "spec.nodes", "name");
	assert_int_equal(mf_patch_strategic(doc, patch, s, &err), 0);
	assert_yaml_eq(doc, "apiVersion: example.com/v1\nkind: Cluster\n"
			    "spec: {nodes: [{name: a, size: large}, {name: b, size: small}]}\n");
	mf_smp_schema_free(s);
	mf_node_free(doc);
	mf_node_free(patch);
}

/* ---- strategic merge: data-driven cases ---- */

static struct mf_smp_schema *schema_from(const struct mf_node *doc)
{
	const struct mf_node *list = mf_node_get(doc, "smpSchema");
	struct mf_smp_schema *s = mf_smp_schema_new();
	size_t i;

	for (i = 0; i < mf_node_len(list); i++) {
		const struct mf_node *e = mf_node_at(list, i);
		mf_smp_schema_add(s, mf_node_dig_str(e, "group", NULL),
				  mf_node_dig_str(e, "kind", NULL), mf_node_dig_str(e, "path", NULL),
				  mf_node_dig_str(e, "key", NULL));
	}
	return s;
}

static void run_smp_case(void **state)
{
	const char *path = *state;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct gs_buf buf = GS_BUF_INIT;
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_smp_schema *schema = NULL;
	struct mf_node *target;
	size_t first = 0, i;

	if (gs_buf_read_file(&buf, path, &err) < 0)
		fail_msg("%s", err.msg);
	if (mf_yaml_parse(&docs, buf.ptr, buf.len, path, NULL, &err) < 0)
		fail_msg("%s: %s", err.where, err.msg);
	if (docs.n && mf_node_get(docs.docs[0], "smpSchema")) {
		schema = schema_from(docs.docs[0]);
		first = 1;
	}
	if (!strncmp(base, "kustomize-", 10)) {
		if (!schema)
			schema = mf_smp_schema_new();
		mf_smp_schema_set_flags(schema, MF_SMP_KUSTOMIZE);
	}
	assert_true(docs.n >= first + 3);
	target = docs.docs[first];
	for (i = first + 1; i + 1 < docs.n; i++)
		if (mf_patch_strategic(target, docs.docs[i], schema, &err) < 0)
			fail_msg("patch %zu: %s: %s", i - first, err.where, err.msg);
	assert_node_eq(target, docs.docs[docs.n - 1]);
	mf_smp_schema_free(schema);
	mf_docs_release(&docs);
	gs_buf_release(&buf);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_mf_patch__json6902_rfc_appendix),
		cmocka_unit_test(test_mf_patch__json6902_error_names_op_index_and_path),
		cmocka_unit_test(test_mf_patch__json_pointer_split_unescapes),
		cmocka_unit_test(test_mf_patch__merge_rfc7386_appendix),
		cmocka_unit_test(test_mf_patch__merge_replaces_lists_in_objects),
		cmocka_unit_test(test_mf_patch__merge_diff_merges_back_to_target),
		cmocka_unit_test(test_mf_patch__strategic_missing_merge_key_fails),
		cmocka_unit_test(test_mf_patch__strategic_unknown_directive_fails),
		cmocka_unit_test(test_mf_patch__strategic_retain_keys_rejects_unlisted_field),
		cmocka_unit_test(test_mf_patch__strategic_rejects_non_maps),
		cmocka_unit_test(test_mf_patch__strategic_delete_whole_object_leaves_empty_map),
		cmocka_unit_test(test_mf_patch__strategic_schema_add_merges_custom_list),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), n = nfixed, i, nfiles = 0;
	const char *data = getenv("GS_DATA");
	char **files = NULL, **names = NULL;
	struct CMUnitTest *tests;
	DIR *dir = NULL;
	struct dirent *de;
	char dirpath[4096];
	int rc;

	snprintf(dirpath, sizeof(dirpath), "%s/patch/smp", data ? data : "test/unit/data");
	if ((dir = opendir(dirpath)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			size_t len = strlen(de->d_name);
			if (len < 6 || strcmp(de->d_name + len - 5, ".yaml"))
				continue;
			files = gs_realloc(files, (nfiles + 1) * sizeof(*files));
			files[nfiles++] = gs_asprintf("%s/%s", dirpath, de->d_name);
		}
		closedir(dir);
	}
	qsort(files, nfiles, sizeof(*files), cmp_str);
	tests = gs_calloc(nfixed + nfiles + 1, sizeof(*tests));
	names = gs_calloc(nfiles + 1, sizeof(*names));
	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < nfiles; i++) {
		const char *b = strrchr(files[i], '/') + 1;
		names[i] = gs_asprintf("test_mf_patch__strategic_case_%.*s", (int)(strlen(b) - 5), b);
		tests[n].name = names[i];
		tests[n].test_func = run_smp_case;
		tests[n].initial_state = files[i];
		n++;
	}
	if (!nfiles)
		fprintf(stderr, "no strategic merge cases under %s\n", dirpath);
	rc = _cmocka_run_group_tests("mf-patch", tests, n, NULL, NULL);
	for (i = 0; i < nfiles; i++) {
		free(files[i]);
		free(names[i]);
	}
	free(files);
	free(names);
	free(tests);
	return nfiles ? rc : 1;
}
