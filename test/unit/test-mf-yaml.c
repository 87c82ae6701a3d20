/* test-mf-yaml.c - YAML parsing (scalar rules, anchors, limits, errors) and
 * emitting (kubectl's layout and quoting), plus a round trip over test/unit/data
 * (the conformance corpus outside the repository: test-corpus.c). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-yaml.h"
#include "yaml-walk.h"

/* Parse text that must hold exactly one document. */
static struct mf_node *parse_one(const char *text)
{
	struct mf_docs d = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *n;
	int ret = mf_yaml_parse(&d, text, strlen(text), "t.yaml", NULL, &err);

	if (ret)
		fail_msg("parse failed: %s: %s", err.where, err.msg);
	assert_int_equal(d.n, 1);
	n = mf_docs_take(&d, 0);
	mf_docs_release(&d);
	return n;
}

/* Parse "v: <text>" and return the value's type; *out gets its text. */
static enum mf_type value_type(const char *scalar, char *out, size_t outsize)
{
	char doc[256];
	struct mf_node *n;
	enum mf_type t;

	snprintf(doc, sizeof(doc), "v: %s\n", scalar);
	n = parse_one(doc);
	t = mf_node_type(mf_node_get(n, "v"));
	snprintf(out, outsize, "%s", mf_node_str(mf_node_get(n, "v")) ? mf_node_str(mf_node_get(n, "v")) : "");
	mf_node_free(n);
	return t;
}

static int parse_err(const char *text, const struct mf_yaml_limits *lim, struct gs_error *err)
{
	struct mf_docs d = MF_DOCS_INIT;
	int ret = mf_yaml_parse(&d, text, strlen(text), "bad.yaml", lim, err);

	assert_int_equal(d.n, 0); /* out untouched on error */
	mf_docs_release(&d);
	return ret;
}

static char *emit(const struct mf_node *n, unsigned flags)
{
	struct gs_buf b = GS_BUF_INIT;

	assert_int_equal(mf_yaml_emit(&b, n, flags), GS_OK);
	return gs_buf_detach(&b, NULL);
}

/* ---- scalar resolution (go-yaml v2 / sigs.k8s.io/yaml) ---- */

static void test_mf_yaml__bool_forms_follow_go_yaml_v2_table(void **state)
{
	static const char *const trues[] = { "y", "Y", "yes", "Yes", "YES", "true", "True",
					     "TRUE", "on", "On", "ON" };
	static const char *const falses[] = { "n", "N", "no", "No", "NO", "false", "False",
					      "FALSE", "off", "Off", "OFF" };
	static const char *const strings[] = { "tRUE", "yES", "oN", "nO", "yess", "t", "f" };
	char text[64];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(trues) / sizeof(*trues); i++) {
		struct mf_node *n;
		char doc[64];

		assert_int_equal(value_type(trues[i], text, sizeof(text)), MF_BOOL);
		snprintf(doc, sizeof(doc), "v: %s\n", trues[i]);
		n = parse_one(doc);
		assert_true(mf_node_bool(mf_node_get(n, "v")));
		mf_node_free(n);
	}
	for (i = 0; i < sizeof(falses) / sizeof(*falses); i++) {
		struct mf_node *n;
		char doc[64];

		assert_int_equal(value_type(falses[i], text, sizeof(text)), MF_BOOL);
		snprintf(doc, sizeof(doc), "v: %s\n", falses[i]);
		n = parse_one(doc);
		assert_false(mf_node_bool(mf_node_get(n, "v")));
		mf_node_free(n);
	}
	for (i = 0; i < sizeof(strings) / sizeof(*strings); i++)
		assert_int_equal(value_type(strings[i], text, sizeof(text)), MF_STR);
}

static void test_mf_yaml__null_forms(void **state)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL", "" };
	char text[64];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(nulls) / sizeof(*nulls); i++)
		assert_int_equal(value_type(nulls[i], text, sizeof(text)), MF_NULL);
	assert_int_equal(value_type("nULL", text, sizeof(text)), MF_STR);
	assert_int_equal(value_type("\"null\"", text, sizeof(text)), MF_STR);
	assert_int_equal(value_type("''", text, sizeof(text)), MF_STR);
}

/* kustomize drops `key:` (written as nothing) from patched objects but keeps
 * `key: null` and `key: ~`, so the parser tells them apart */
static void test_mf_yaml__implicit_null_is_marked(void **state)
{
	struct mf_node *n = parse_one("a:\nb: null\nc: ~\nd: !!null\ne: [x, ]\n");
	(void)state;

	assert_true(mf_node_null_implicit(mf_node_get(n, "a")));
	assert_false(mf_node_null_implicit(mf_node_get(n, "b")));
	assert_false(mf_node_null_implicit(mf_node_get(n, "c")));
	assert_false(mf_node_null_implicit(mf_node_get(n, "d")));
	assert_false(mf_node_null_implicit(mf_node_get(n, "e")));
	mf_node_free(n);
}

static void test_mf_yaml__ints_keep_their_text(void **state)
{
	static const char *const ints[] = { "0", "42", "-7", "+7", "0x1F", "0X1f", "-0x10", "0o17",
					    "0O17", "017", "0b101", "1_000", "9223372036854775807",
					    "-9223372036854775808", "18446744073709551615",
					    "123456789012345678901234567890" };
	char text[64];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(ints) / sizeof(*ints); i++) {
		assert_int_equal(value_type(ints[i], text, sizeof(text)), MF_INT);
		assert_string_equal(text, ints[i]);
	}
}

/* mf_node_int reads every spelling the parser types as an int, with the
 * value go-yaml gives it; what does not fit int64 is refused. */
static void test_mf_yaml__int_spellings_read_as_their_value(void **state)
{
	static const struct {
		const char *text;
		int ret;
		long long v;
	} cases[] = {
		{ "42", GS_OK, 42 },
		{ "+7", GS_OK, 7 },
		{ "-7", GS_OK, -7 },
		{ "1_000", GS_OK, 1000 },
		{ "0o17", GS_OK, 15 },
		{ "0O17", GS_OK, 15 },
		{ "017", GS_OK, 15 },
		{ "0x1F", GS_OK, 31 },
		{ "-0x10", GS_OK, -16 },
		{ "0b101", GS_OK, 5 },
		{ "9223372036854775807", GS_OK, INT64_MAX },
		{ "-9223372036854775808", GS_OK, INT64_MIN },
		{ "18446744073709551615", GS_EINVAL, 0 },
		{ "123456789012345678901234567890", GS_EINVAL, 0 },
		{ "\"12\"", GS_EINVAL, 0 },
		{ "1.5", GS_EINVAL, 0 },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char doc[128];
		struct mf_node *n;
		long long v = 0;

		snprintf(doc, sizeof(doc), "v: %s\n", cases[i].text);
		n = parse_one(doc);
		assert_int_equal(mf_node_int(mf_node_get(n, "v"), &v), cases[i].ret);
		if (cases[i].ret == GS_OK)
			assert_true(v == cases[i].v);
		mf_node_free(n);
	}
}

static void test_mf_yaml__floats_and_near_misses(void **state)
{
	static const char *const floats[] = { "1.5", "-1.5", "1e3", "1E+3", "-2.5e-3", ".5", "-.5",
					      "1.", "08", ".inf", "-.Inf", "+.INF", ".nan", ".NaN",
					      "1_000.5" };
	static const char *const strings[] = { "=", "0x", "1e", "1.2.3", "1e999", "inf", "-inf",
					       "nan", "0xG", "2001-12-14", "2001-12-14T21:59:43Z",
					       "1:20", "+", "-x", ".", "_1", "0b", "1__e3x", "1.5Gi",
					       "500m", "v1", "0o8", "<<" };
	char text[64];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(floats) / sizeof(*floats); i++) {
		assert_int_equal(value_type(floats[i], text, sizeof(text)), MF_FLOAT);
		assert_string_equal(text, floats[i]);
	}
	for (i = 0; i < sizeof(strings) / sizeof(*strings); i++) {
		if (value_type(strings[i], text, sizeof(text)) != MF_STR)
			fail_msg("'%s' should be a string", strings[i]);
		assert_string_equal(text, strings[i]);
	}
}

static void test_mf_yaml__quoted_and_str_tagged_scalars_are_strings(void **state)
{
	char text[64];
	(void)state;

	assert_int_equal(value_type("\"true\"", text, sizeof(text)), MF_STR);
	assert_int_equal(value_type("'123'", text, sizeof(text)), MF_STR);
	assert_string_equal(text, "123");
	assert_int_equal(value_type("!!str 123", text, sizeof(text)), MF_STR);
	assert_int_equal(value_type("!!str yes", text, sizeof(text)), MF_STR);
	assert_string_equal(text, "yes");
	assert_int_equal(value_type("! 12", text, sizeof(text)), MF_STR);
	assert_int_equal(value_type("!custom 12", text, sizeof(text)), MF_STR);
	assert_int_equal(value_type("|\n  true\n", text, sizeof(text)), MF_STR);
	assert_string_equal(text, "true\n");
	/* explicit non-string tags resolve the text even when quoted */
	assert_int_equal(value_type("!!int \"12\"", text, sizeof(text)), MF_INT);
	assert_int_equal(value_type("!!float 3", text, sizeof(text)), MF_FLOAT);
	assert_int_equal(value_type("!!bool \"yes\"", text, sizeof(text)), MF_BOOL);
	assert_int_equal(value_type("!!null \"\"", text, sizeof(text)), MF_NULL);
}

static void test_mf_yaml__bad_explicit_tag_is_an_error(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(parse_err("a: 1\nb: !!int abc\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:2");
	assert_non_null(strstr(err.msg, "cannot decode !!str `abc` as a !!int"));
}

static void test_mf_yaml__non_string_keys_become_text_like_sigs_yaml(void **state)
{
	struct mf_node *n = parse_one("1: a\n0x10: b\ntrue: c\n1.5: d\nno: e\n~: f\n\"7\": g\n1e3: h\n");
	(void)state;

	assert_int_equal(mf_node_len(n), 8);
	assert_string_equal(mf_node_key(n, 0), "1");
	assert_string_equal(mf_node_key(n, 1), "16");
	assert_string_equal(mf_node_key(n, 2), "true");
	assert_string_equal(mf_node_key(n, 3), "1.5");
	assert_string_equal(mf_node_key(n, 4), "false");
	assert_string_equal(mf_node_key(n, 5), "null");
	assert_string_equal(mf_node_key(n, 6), "7");
	assert_string_equal(mf_node_key(n, 7), "1000");
	mf_node_free(n);
}

static void test_mf_yaml__collection_key_is_an_error(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(parse_err("a: 1\n? [x, y]\n: v\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:2");
	assert_non_null(strstr(err.msg, "unsupported map key"));
}

/* ---- structure, positions, documents ---- */

static void test_mf_yaml__positions_on_every_node(void **state)
{
	struct mf_node *n = parse_one("# head\nmetadata:\n  name: web\nspec:\n  ports:\n  - 80\n  -   443\n");
	const struct mf_pos *p;
	(void)state;

	p = mf_node_pos(n);
	assert_string_equal(p->file, "t.yaml");
	assert_int_equal(p->line, 2);
	assert_int_equal(p->col, 1);
	p = mf_node_pos(mf_node_dig(n, "metadata", "name", NULL));
	assert_int_equal(p->line, 3);
	assert_int_equal(p->col, 9);
	p = mf_node_pos(mf_node_at(mf_node_dig(n, "spec", "ports", NULL), 1));
	assert_int_equal(p->line, 7);
	assert_int_equal(p->col, 7);
	p = mf_node_pos(mf_node_dig(n, "spec", "ports", NULL));
	assert_int_equal(p->line, 6);
	mf_node_free(n);
}

static void test_mf_yaml__multi_doc_skips_empty_and_comment_docs(void **state)
{
	static const char text[] = "# leading comment\n---\n---\n# only a comment\n---\na: 1\n---\n"
				   "...\n---\nnull\n---\n- x\n---\nplain\n--- # trailing\n";
	struct mf_docs d = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *first;
	(void)state;

	assert_int_equal(mf_yaml_parse(&d, text, strlen(text), "m.yaml", NULL, &err), GS_OK);
	assert_int_equal(d.n, 3);
	assert_int_equal(mf_node_type(d.docs[0]), MF_MAP);
	assert_int_equal(mf_node_type(d.docs[1]), MF_SEQ);
	assert_string_equal(mf_node_str(d.docs[2]), "plain");
	assert_int_equal(mf_node_pos(d.docs[0])->line, 6);
	/* appends to what out already holds */
	assert_int_equal(mf_yaml_parse(&d, "b: 2\n", 5, "n.yaml", NULL, &err), GS_OK);
	assert_int_equal(d.n, 4);
	first = mf_docs_take(&d, 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(mf_node_type(d.docs[0]), MF_SEQ);
	assert_null(mf_docs_take(&d, 3));
	mf_node_free(first);
	mf_docs_release(&d);
	assert_int_equal(d.n, 0);
	/* nothing at all */
	assert_int_equal(mf_yaml_parse(&d, "", 0, "e.yaml", NULL, &err), GS_OK);
	assert_int_equal(mf_yaml_parse(&d, "# x\n", 4, "e.yaml", NULL, &err), GS_OK);
	assert_int_equal(d.n, 0);
	mf_docs_release(&d);
}

static void test_mf_yaml__json_input_parses_through_the_same_path(void **state)
{
	struct mf_node *n = parse_one("{\"a\": [1, 2.5, \"x\", true, null], \"b\": {\"c\": \"\\u00e9\"},\n"
				      "\t\"big\": 12345678901234567890123}\n");
	(void)state;

	assert_int_equal(mf_node_len(mf_node_get(n, "a")), 5);
	assert_int_equal(mf_node_type(mf_node_at(mf_node_get(n, "a"), 1)), MF_FLOAT);
	assert_string_equal(mf_node_dig_str(n, "b", "c", NULL), "\xc3\xa9");
	assert_string_equal(mf_node_str(mf_node_get(n, "big")), "12345678901234567890123");
	mf_node_free(n);

	/* libyaml refuses surrogate pairs; JSON input still parses, like kubectl */
	n = parse_one("  {\"e\": \"\\ud83d\\ude00\",\n \"n\": 1}\n");
	assert_string_equal(mf_node_str(mf_node_get(n, "e")), "\xf0\x9f\x98\x80");
	assert_int_equal(mf_node_pos(mf_node_get(n, "n"))->line, 2);
	mf_node_free(n);
}

static void test_mf_yaml__anchors_are_deep_copies(void **state)
{
	struct mf_node *n = parse_one("a: &x {k: [1, 2]}\nb: *x\nc: &s str\nd: *s\n");
	(void)state;

	assert_true(mf_node_equal(mf_node_get(n, "a"), mf_node_get(n, "b")));
	assert_ptr_not_equal(mf_node_get(n, "a"), mf_node_get(n, "b"));
	mf_node_set_str(mf_node_at(mf_node_dig(n, "b", "k", NULL), 0), "changed");
	assert_string_equal(mf_node_str(mf_node_at(mf_node_dig(n, "a", "k", NULL), 0)), "1");
	assert_string_equal(mf_node_str(mf_node_get(n, "d")), "str");
	mf_node_free(n);
}

static void test_mf_yaml__merge_keys_explicit_keys_win(void **state)
{
	struct mf_node *n = parse_one("base: &b {a: 1, b: 2}\n"
				      "other: &o {b: 20, c: 30}\n"
				      "m1:\n  <<: *b\n  b: 3\n"
				      "m2:\n  b: 3\n  <<: *b\n"
				      "m3:\n  <<: [*b, *o]\n  d: 4\n"
				      "m4:\n  <<: {x: 1}\n  \"<<\": literal\n");
	struct mf_node *m;
	(void)state;

	m = mf_node_get(n, "m1");
	assert_int_equal(mf_node_len(m), 2);
	assert_string_equal(mf_node_str(mf_node_get(m, "a")), "1");
	assert_string_equal(mf_node_str(mf_node_get(m, "b")), "3");
	m = mf_node_get(n, "m2");
	assert_string_equal(mf_node_str(mf_node_get(m, "b")), "3");
	assert_string_equal(mf_node_str(mf_node_get(m, "a")), "1");
	m = mf_node_get(n, "m3"); /* earlier maps in the list win */
	assert_int_equal(mf_node_len(m), 4);
	assert_string_equal(mf_node_str(mf_node_get(m, "b")), "2");
	assert_string_equal(mf_node_str(mf_node_get(m, "c")), "30");
	m = mf_node_get(n, "m4"); /* a quoted "<<" is an ordinary key */
	assert_string_equal(mf_node_str(mf_node_get(m, "x")), "1");
	assert_string_equal(mf_node_str(mf_node_get(m, "<<")), "literal");
	mf_node_free(n);
}

static void test_mf_yaml__merge_of_a_scalar_is_an_error(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(parse_err("a:\n  <<: 3\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:2");
	assert_non_null(strstr(err.msg, "map merge requires map or sequence of maps"));
}

static void test_mf_yaml__unknown_and_recursive_aliases_fail(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(parse_err("a: 1\nb: *nope\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:2");
	assert_non_null(strstr(err.msg, "nope"));
	assert_int_equal(parse_err("a: &x [1, *x]\n", NULL, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "contains itself"));
	/* anchors do not cross documents */
	assert_int_equal(parse_err("a: &x 1\n---\nb: *x\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:3");
}

static void test_mf_yaml__duplicate_key_is_an_error_naming_both_lines(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf big = GS_BUF_INIT;
	int i;
	(void)state;

	assert_int_equal(parse_err("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:5");
	assert_string_equal(err.msg, "mapping key \"x\" already defined at line 3");
	/* the first key's line, not its value's */
	assert_int_equal(parse_err("a:\n  b: 1\nc: 2\na: 3\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:4");
	assert_string_equal(err.msg, "mapping key \"a\" already defined at line 1");

	/* the hashed path for big maps: no false positives, and finds the duplicate */
	for (i = 0; i < 5000; i++)
		gs_buf_printf(&big, "k%d: %d\n", i, i);
	{
		struct mf_node *n = parse_one(big.ptr);
		assert_int_equal(mf_node_len(n), 5000);
		assert_string_equal(mf_node_key(n, 4999), "k4999");
		mf_node_free(n);
	}
	gs_buf_puts(&big, "k2500: again\n");
	assert_int_equal(parse_err(big.ptr, NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:5001");
	assert_string_equal(err.msg, "mapping key \"k2500\" already defined at line 2501");
	gs_buf_release(&big);
}

static void test_mf_yaml__syntax_error_names_file_line_problem_context(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	char buf[1100];
	(void)state;

	assert_int_equal(parse_err("a: 1\nb:\n  c: 2\n d: [1, 2\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:4");
	assert_string_equal(err.msg, "did not find expected key (while parsing a block mapping at line 1)");
	gs_error_str(&err, buf, sizeof(buf));
	assert_string_equal(buf, "bad.yaml:4: did not find expected key (while parsing a block mapping at line 1)");

	assert_int_equal(parse_err("a: \"unterminated\n", NULL, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "found unexpected end of stream"));
	assert_non_null(strstr(err.where, "bad.yaml:"));

	/* invalid UTF-8 is a reader error: the line comes from the byte offset */
	assert_int_equal(parse_err("a: 1\nb: \xff\xfe\n", NULL, &err), GS_EINVAL);
	assert_string_equal(err.where, "bad.yaml:2");
}

/* ---- limits ---- */

static void test_mf_yaml__billion_laughs_hits_alias_limit(void **state)
{
	static const char bomb[] =
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	struct gs_error err = GS_ERROR_INIT;
	struct mf_yaml_limits lim = { .max_alias_nodes = 1000 };
	(void)state;

	assert_int_equal(parse_err(bomb, NULL, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "1000000 nodes"));
	assert_int_equal(parse_err(bomb, &lim, &err), GS_ELIMIT);
	assert_string_equal(err.where, "bad.yaml:4");
	assert_string_equal(err.msg, "alias 'c' expands past the limit of 1000 nodes");
}

static void test_mf_yaml__alias_bytes_are_bounded(void **state)
{
	struct gs_buf text = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_yaml_limits lim = { .max_alias_bytes = 100000 };
	int i;
	(void)state;

	/* few nodes, big strings: the node count alone would not stop this */
	gs_buf_puts(&text, "big: &s ");
	for (i = 0; i < 10000; i++)
		gs_buf_putc(&text, 'x');
	gs_buf_puts(&text, "\ncopies:\n");
	for (i = 0; i < 20; i++)
		gs_buf_puts(&text, "- *s\n");
	assert_int_equal(parse_err(text.ptr, &lim, &err), GS_ELIMIT);
	assert_string_equal(err.where, "bad.yaml:13"); /* the 11th copy */
	assert_non_null(strstr(err.msg, "100000 bytes"));

	/* big keys count too */
	gs_buf_reset(&text);
	gs_buf_puts(&text, "big: &m\n  ? ");
	for (i = 0; i < 10000; i++)
		gs_buf_putc(&text, 'k');
	gs_buf_puts(&text, "\n  : 1\ncopies:\n");
	for (i = 0; i < 20; i++)
		gs_buf_puts(&text, "- *m\n");
	assert_int_equal(parse_err(text.ptr, &lim, &err), GS_ELIMIT);
	assert_string_equal(err.where, "bad.yaml:14"); /* 10 x 10,001 bytes */
	gs_buf_release(&text);
}

static void test_mf_yaml__deep_nesting_hits_depth_limit(void **state)
{
	struct gs_buf text = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_yaml_limits lim = { .max_depth = 10 };
	struct mf_node *n;
	int i;
	(void)state;

	for (i = 0; i < 100000; i++)
		gs_buf_putc(&text, '[');
	assert_int_equal(parse_err(text.ptr, NULL, &err), GS_ELIMIT);
	assert_string_equal(err.where, "bad.yaml:1");
	assert_string_equal(err.msg, "nesting deeper than the limit of 200 levels");

	/* block style, and aliases that would push a copy past the limit */
	assert_int_equal(parse_err("a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h:\n"
				   "        i:\n         j:\n          k: 1\n", &lim, &err),
			 GS_ELIMIT);
	assert_string_equal(err.where, "bad.yaml:11"); /* the 11th level */
	assert_int_equal(parse_err("a: &x [[[[[[1]]]]]]\nb: [[[[*x]]]]\n", &lim, &err), GS_ELIMIT);
	assert_string_equal(err.where, "bad.yaml:2");
	/* JSON input does not escape the limit through the JSON retry */
	assert_int_equal(parse_err("{\"a\": {\"a\": {\"a\": {\"a\": {\"a\": {\"a\": {\"a\": {\"a\": "
				   "{\"a\": {\"a\": {\"a\": 1}}}}}}}}}}}", &lim, &err), GS_ELIMIT);
	n = parse_one("a: [[[[[[[[1]]]]]]]]\n");
	mf_node_free(n);
	gs_buf_release(&text);
}

static void test_mf_yaml__huge_scalar_and_document_limits(void **state)
{
	struct gs_buf text = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_yaml_limits lim = { .max_scalar_bytes = 1000, .max_doc_bytes = 4096 };
	int i;
	(void)state;

	gs_buf_puts(&text, "a: 1\nb: ");
	for (i = 0; i < 2000; i++)
		gs_buf_putc(&text, 'x');
	gs_buf_puts(&text, "\n");
	assert_int_equal(parse_err(text.ptr, &lim, &err), GS_ELIMIT);
	assert_string_equal(err.where, "bad.yaml:2");
	assert_string_equal(err.msg, "scalar of 2000 bytes exceeds the limit of 1000");

	for (i = 0; i < 3000; i++)
		gs_buf_puts(&text, "#");
	assert_int_equal(parse_err(text.ptr, &lim, &err), GS_ELIMIT);
	assert_string_equal(err.where, "bad.yaml");
	assert_string_equal(err.msg, "document of 5009 bytes exceeds the limit of 4096");
	gs_buf_release(&text);
}

/* ---- emitting ---- */

struct quote_case {
	const char *in;
	const char *out; /* the value as emitted after "v:" */
};

static void test_mf_yaml__emit_quotes_only_when_needed(void **state)
{
	static const struct quote_case cases[] = {
		{ "plain", "v: plain\n" },
		{ "two words", "v: two words\n" },
		{ "true", "v: \"true\"\n" },
		{ "yes", "v: \"yes\"\n" },
		{ "y", "v: \"y\"\n" },
		{ "on", "v: \"on\"\n" },
		{ "123", "v: \"123\"\n" },
		{ "0x1F", "v: \"0x1F\"\n" },
		{ "1.5", "v: \"1.5\"\n" },
		{ "1e3", "v: \"1e3\"\n" },
		{ ".inf", "v: \".inf\"\n" },
		{ "null", "v: \"null\"\n" },
		{ "~", "v: \"~\"\n" },
		{ "", "v: \"\"\n" },
		{ "<<", "v: \"<<\"\n" },
		{ "2001-12-14", "v: \"2001-12-14\"\n" },
		{ "1:20", "v: \"1:20\"\n" },
		{ "a: b", "v: 'a: b'\n" },
		{ "a:", "v: 'a:'\n" },
		{ "a:b", "v: a:b\n" },
		{ "http://x/y", "v: http://x/y\n" },
		{ "a #b", "v: 'a #b'\n" },
		{ "a#b", "v: a#b\n" },
		{ "- x", "v: '- x'\n" },
		{ "-", "v: '-'\n" },
		{ "-x", "v: -x\n" },
		{ "*", "v: '*'\n" },
		{ "&a", "v: '&a'\n" },
		{ "!x", "v: '!x'\n" },
		{ "{x}", "v: '{x}'\n" },
		{ "[x]", "v: '[x]'\n" },
		{ "x[0]", "v: x[0]\n" },
		{ "@at", "v: '@at'\n" },
		{ "`cmd`", "v: '`cmd`'\n" },
		{ "%x", "v: '%x'\n" },
		{ "'q'", "v: '''q'''\n" },
		{ "it's", "v: it's\n" },
		{ "\"dq\"", "v: '\"dq\"'\n" },
		{ "? x", "v: '? x'\n" },
		{ "?x", "v: ?x\n" },
		{ "---", "v: '---'\n" },
		{ "...x", "v: '...x'\n" },
		{ " lead", "v: ' lead'\n" },
		{ "trail ", "v: 'trail '\n" },
		{ "tab\there", "v: \"tab\\there\"\n" },
		{ "bell\a", "v: \"bell\\a\"\n" },
		{ "caf\xc3\xa9", "v: caf\xc3\xa9\n" },
		{ "\xf0\x9f\x98\x80", "v: \"\\U0001F600\"\n" },
		{ "=", "v: =\n" },
		{ "500m", "v: 500m\n" },
		{ "\\back", "v: \\back\n" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct mf_node *m = mf_node_new(MF_MAP), *back;
		char *out;

		mf_node_set_str_value(m, "v", cases[i].in);
		out = emit(m, 0);
		if (strcmp(out, cases[i].out))
			fail_msg("'%s': got [%s] want [%s]", cases[i].in, out, cases[i].out);
		back = parse_one(out);
		assert_true(mf_node_equal(m, back));
		free(out);
		mf_node_free(back);
		mf_node_free(m);
	}
}

static void test_mf_yaml__emit_literal_blocks_and_chomping(void **state)
{
	static const struct quote_case cases[] = {
		{ "a\nb", "v: |-\n  a\n  b\n" },
		{ "a\nb\n", "v: |\n  a\n  b\n" },
		{ "a\nb\n\n", "v: |+\n  a\n  b\n\n" },
		{ "\n", "v: |2+\n\n" },
		{ "  indented\nx\n", "v: |2\n    indented\n  x\n" },
		{ "a\n\nb", "v: |-\n  a\n\n  b\n" },
		{ "a\n  more\nb", "v: |-\n  a\n    more\n  b\n" },
		{ "#!/bin/sh\necho \"$x\" # c\n", "v: |\n  #!/bin/sh\n  echo \"$x\" # c\n" },
		/* trailing space on a line, tabs, CR: no literal form reads back the same */
		{ "a \nb", "v: \"a \\nb\"\n" },
		{ "a\n\tb", "v: \"a\\n\\tb\"\n" },
		{ "a\r\nb", "v: \"a\\r\\nb\"\n" },
		{ "a\nb ", "v: \"a\\nb \"\n" },
		{ "a\n  \nb", "v: \"a\\n  \\nb\"\n" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct mf_node *m = mf_node_new(MF_MAP), *back;
		char *out;

		mf_node_set_str_value(m, "v", cases[i].in);
		out = emit(m, 0);
		if (strcmp(out, cases[i].out))
			fail_msg("case %zu: got [%s] want [%s]", i, out, cases[i].out);
		back = parse_one(out);
		assert_true(mf_node_equal(m, back));
		free(out);
		mf_node_free(back);
		mf_node_free(m);
	}
}

/* What `kubectl get -o yaml` prints for this object (keys sorted). */
static void test_mf_yaml__emit_matches_kubectl_layout(void **state)
{
	static const char in[] =
		"{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"web\","
		"\"labels\":{\"app\":\"web\",\"tier\":\"1\"},\"annotations\":{}},\"spec\":{\"replicas\":3,"
		"\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\","
		"\"args\":[\"--port\",\"8080\"],\"env\":[{\"name\":\"DEBUG\",\"value\":\"true\"}],"
		"\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],\"resources\":{}}],"
		"\"volumes\":[],\"nodeSelector\":null}},\"matrix\":[[1,2],[]],\"script\":\"set -e\\nrun\\n\"}}";
	static const char want[] = "apiVersion: apps/v1\n"
				   "kind: Deployment\n"
				   "metadata:\n"
				   "  annotations: {}\n"
				   "  labels:\n"
				   "    app: web\n"
				   "    tier: \"1\"\n"
				   "  name: web\n"
				   "spec:\n"
				   "  matrix:\n"
				   "  - - 1\n"
				   "    - 2\n"
				   "  - []\n"
				   "  replicas: 3\n"
				   "  script: |\n"
				   "    set -e\n"
				   "    run\n"
				   "  template:\n"
				   "    spec:\n"
				   "      containers:\n"
				   "      - args:\n"
				   "        - --port\n"
				   "        - \"8080\"\n"
				   "        env:\n"
				   "        - name: DEBUG\n"
				   "          value: \"true\"\n"
				   "        image: nginx:1.25\n"
				   "        name: web\n"
				   "        ports:\n"
				   "        - containerPort: 8080\n"
				   "          protocol: TCP\n"
				   "        resources: {}\n"
				   "      nodeSelector: null\n"
				   "      volumes: []\n";
	struct mf_node *n = parse_one(in), *back;
	char *out = emit(n, MF_EMIT_SORT_KEYS);
	(void)state;

	assert_string_equal(out, want);
	back = parse_one(out);
	assert_true(mf_node_equal(n, back));
	free(out);
	mf_node_free(back);
	mf_node_free(n);
}

static void test_mf_yaml__emit_keeps_order_unless_sorting_go_style(void **state)
{
	struct mf_node *n = parse_one("b: 1\na10: 2\na9: 3\na_b: 4\naZb: 5\n\"1\": 6\nA: 7\n");
	char *out;
	(void)state;

	out = emit(n, 0);
	assert_string_equal(out, "b: 1\na10: 2\na9: 3\na_b: 4\naZb: 5\n\"1\": 6\nA: 7\n");
	free(out);
	/* go-yaml v2 order: digits by value, non-letters before letters */
	out = emit(n, MF_EMIT_SORT_KEYS);
	assert_string_equal(out, "\"1\": 6\nA: 7\na_b: 4\na9: 3\na10: 2\naZb: 5\nb: 1\n");
	free(out);
	mf_node_free(n);
}

static void test_mf_yaml__emit_scalars_docs_and_odd_keys(void **state)
{
	struct mf_node *docs[3];
	struct gs_buf b = GS_BUF_INIT;
	struct mf_node *m = mf_node_new(MF_MAP), *back;
	char longkey[200];
	char *out;
	(void)state;

	docs[0] = parse_one("a: 1\n");
	docs[1] = parse_one("- x\n");
	docs[2] = mf_node_new_str("top\nlevel");
	assert_int_equal(mf_yaml_emit_docs(&b, docs, 3, 0), GS_OK);
	assert_string_equal(b.ptr, "a: 1\n---\n- x\n---\n|-\n  top\n  level\n");
	gs_buf_reset(&b);
	assert_int_equal(mf_yaml_emit(&b, NULL, 0), GS_OK);
	assert_string_equal(b.ptr, "null\n");
	gs_buf_release(&b);

	/* a float whose text reads as an int stays a float */
	back = parse_one("a: !!float 3\nb: !!float 0x10\nc: !!float \"-1_0\"\n");
	out = emit(back, 0);
	assert_string_equal(out, "a: 3.0\nb: 16.0\nc: -10.0\n");
	free(out);
	mf_node_free(back);

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	mf_node_set_str_value(m, "multi\nline key", "v");
	mf_node_set(m, longkey, parse_one("x: 1\n"));
	mf_node_set(m, "", mf_node_new_null());
	mf_node_set(m, "true", mf_node_new_bool(false));
	out = emit(m, 0);
	back = parse_one(out);
	assert_true(mf_node_equal(m, back));
	assert_non_null(strstr(out, "\"multi\\nline key\": v\n"));
	assert_non_null(strstr(out, "\"\": null\n\"true\": false\n"));
	assert_non_null(strstr(out, "? kkk"));
	free(out);
	mf_node_free(back);
	mf_node_free(m);
	mf_node_free(docs[0]);
	mf_node_free(docs[1]);
	mf_node_free(docs[2]);
}

static void test_mf_yaml__emit_respects_buffer_cap(void **state)
{
	struct gs_buf b = GS_BUF_INIT;
	struct mf_node *n = parse_one("a: 1\nb: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n");
	(void)state;

	gs_buf_puts(&b, "keep");
	b.max = 16;
	assert_int_equal(mf_yaml_emit(&b, n, 0), GS_ELIMIT);
	assert_string_equal(b.ptr, "keep"); /* no half document */
	gs_buf_release(&b);
	mf_node_free(n);
}

static void test_mf_yaml__test_data_round_trips_and_matches_expected(void **state)
{
	const char *data = getenv("GS_DATA");
	struct rt_stats st = { 0 };
	struct gs_buf in = GS_BUF_INIT, want = GS_BUF_INIT, out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_docs d = MF_DOCS_INIT;
	char *dir, *p;
	(void)state;

	if (!data || !*data)
		fail_msg("GS_DATA is not set (run through meson test)");
	dir = gs_asprintf("%s/yaml", data);
	walk(dir, round_trip_file, &st);
	assert_int_equal(st.failures, 0);
	assert_true(st.files >= 2);

	/* kubectl-input.yaml, emitted sorted, must equal kubectl-expected.yaml byte for byte */
	p = gs_asprintf("%s/kubectl-input.yaml", dir);
	assert_int_equal(gs_buf_read_file(&in, p, &err), GS_OK);
	free(p);
	p = gs_asprintf("%s/kubectl-expected.yaml", dir);
	assert_int_equal(gs_buf_read_file(&want, p, &err), GS_OK);
	free(p);
	assert_int_equal(mf_yaml_parse(&d, in.ptr, in.len, "kubectl-input.yaml", NULL, &err), GS_OK);
	assert_int_equal(mf_yaml_emit_docs(&out, d.docs, d.n, MF_EMIT_SORT_KEYS), GS_OK);
	assert_string_equal(out.ptr, want.ptr);
	mf_docs_release(&d);
	gs_buf_release(&in);
	gs_buf_release(&want);
	gs_buf_release(&out);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mf_yaml__bool_forms_follow_go_yaml_v2_table),
		cmocka_unit_test(test_mf_yaml__null_forms),
		cmocka_unit_test(test_mf_yaml__implicit_null_is_marked),
		cmocka_unit_test(test_mf_yaml__ints_keep_their_text),
		cmocka_unit_test(test_mf_yaml__int_spellings_read_as_their_value),
		cmocka_unit_test(test_mf_yaml__floats_and_near_misses),
		cmocka_unit_test(test_mf_yaml__quoted_and_str_tagged_scalars_are_strings),
		cmocka_unit_test(test_mf_yaml__bad_explicit_tag_is_an_error),
		cmocka_unit_test(test_mf_yaml__non_string_keys_become_text_like_sigs_yaml),
		cmocka_unit_test(test_mf_yaml__collection_key_is_an_error),
		cmocka_unit_test(test_mf_yaml__positions_on_every_node),
		cmocka_unit_test(test_mf_yaml__multi_doc_skips_empty_and_comment_docs),
		cmocka_unit_test(test_mf_yaml__json_input_parses_through_the_same_path),
		cmocka_unit_test(test_mf_yaml__anchors_are_deep_copies),
		cmocka_unit_test(test_mf_yaml__merge_keys_explicit_keys_win),
		cmocka_unit_test(test_mf_yaml__merge_of_a_scalar_is_an_error),
		cmocka_unit_test(test_mf_yaml__unknown_and_recursive_aliases_fail),
		cmocka_unit_test(test_mf_yaml__duplicate_key_is_an_error_naming_both_lines),
		cmocka_unit_test(test_mf_yaml__syntax_error_names_file_line_problem_context),
		cmocka_unit_test(test_mf_yaml__billion_laughs_hits_alias_limit),
		cmocka_unit_test(test_mf_yaml__alias_bytes_are_bounded),
		cmocka_unit_test(test_mf_yaml__deep_nesting_hits_depth_limit),
		cmocka_unit_test(test_mf_yaml__huge_scalar_and_document_limits),
		cmocka_unit_test(test_mf_yaml__emit_quotes_only_when_needed),
		cmocka_unit_test(test_mf_yaml__emit_literal_blocks_and_chomping),
		cmocka_unit_test(test_mf_yaml__emit_matches_kubectl_layout),
		cmocka_unit_test(test_mf_yaml__emit_keeps_order_unless_sorting_go_style),
		cmocka_unit_test(test_mf_yaml__emit_scalars_docs_and_odd_keys),
		cmocka_unit_test(test_mf_yaml__emit_respects_buffer_cap),
		cmocka_unit_test(test_mf_yaml__test_data_round_trips_and_matches_expected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
