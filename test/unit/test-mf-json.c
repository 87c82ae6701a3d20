/* test-mf-json.c - JSON parsing (number text kept, escapes, errors) and
 * emitting (compact, and kubectl's 4-space `-o json`). */
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
#include "mf-json.h"
#include "mf-yaml.h"
#include "yaml-walk.h"

static struct mf_node *jparse(const char *text)
{
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *n = NULL;

	if (mf_json_parse(&n, text, strlen(text), "t.json", &err))
		fail_msg("parse failed: %s: %s", err.where, err.msg);
	return n;
}

static char *jemit(const struct mf_node *n, unsigned flags)
{
	struct gs_buf b = GS_BUF_INIT;

	assert_int_equal(mf_json_emit(&b, n, flags), GS_OK);
	return gs_buf_detach(&b, NULL);
}

static void test_mf_json__numbers_keep_their_text(void **state)
{
	struct mf_node *n = jparse("[0, -0, 42, 9223372036854775807, 123456789012345678901234567890,"
				   " 1.5, -2.5e-3, 1E10, 0.1]");
	static const char *const want[] = { "0", "-0", "42", "9223372036854775807",
					    "123456789012345678901234567890", "1.5", "-2.5e-3",
					    "1E10", "0.1" };
	size_t i;
	char *out;
	(void)state;

	assert_int_equal(mf_node_len(n), 9);
	for (i = 0; i < 9; i++) {
		assert_int_equal(mf_node_type(mf_node_at(n, i)), i < 5 ? MF_INT : MF_FLOAT);
		assert_string_equal(mf_node_str(mf_node_at(n, i)), want[i]);
	}
	out = jemit(n, 0);
	assert_string_equal(out, "[0,-0,42,9223372036854775807,123456789012345678901234567890,"
				 "1.5,-2.5e-3,1E10,0.1]");
	free(out);
	mf_node_free(n);
}

static void test_mf_json__strings_unescape_and_escape_like_go(void **state)
{
	struct mf_node *n = jparse("{\"s\": \"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 \\u0001\","
				   " \"html\": \"<a href='x'>&</a>\", \"ls\": \"\\u2028\"}");
	char *out;
	(void)state;

	assert_string_equal(mf_node_str(mf_node_get(n, "s")),
			    "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xf0\x9f\x98\x80 \x01");
	out = jemit(n, 0);
	assert_string_equal(out, "{\"s\":\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \xc3\xa9 \xf0\x9f\x98\x80 \\u0001\","
				 "\"html\":\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\",\"ls\":\"\\u2028\"}");
	free(out);
	mf_node_free(n);

	/* invalid UTF-8 in the input decodes to U+FFFD per byte, like Go's decoder */
	n = jparse("[\"a\xa8\x9a" "b\", \"\xed\xa0\x80\"]");
	assert_string_equal(mf_node_str(mf_node_at(n, 0)), "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	assert_string_equal(mf_node_str(mf_node_at(n, 1)), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	mf_node_free(n);

	/* invalid UTF-8 from elsewhere becomes U+FFFD, as Go writes it */
	n = mf_node_new_strn("a\xff" "b", 3);
	out = jemit(n, 0);
	assert_string_equal(out, "\"a\\ufffdb\"");
	free(out);
	mf_node_free(n);
}

static void test_mf_json__pretty_matches_kubectl_o_json(void **state)
{
	struct mf_node *n = jparse("{\"kind\":\"List\",\"items\":[{\"a\":1,\"b\":[],\"c\":{}},null,true],"
				   "\"apiVersion\":\"v1\"}");
	char *out;
	(void)state;

	out = jemit(n, MF_JSON_PRETTY);
	assert_string_equal(out, "{\n"
				 "    \"kind\": \"List\",\n"
				 "    \"items\": [\n"
				 "        {\n"
				 "            \"a\": 1,\n"
				 "            \"b\": [],\n"
				 "            \"c\": {}\n"
				 "        },\n"
				 "        null,\n"
				 "        true\n"
				 "    ],\n"
				 "    \"apiVersion\": \"v1\"\n"
				 "}");
	free(out);
	out = jemit(n, MF_JSON_SORT_KEYS);
	assert_string_equal(out, "{\"apiVersion\":\"v1\",\"items\":[{\"a\":1,\"b\":[],\"c\":{}},null,true],"
				 "\"kind\":\"List\"}");
	free(out);
	mf_node_free(n);
}

static void test_mf_json__yaml_number_spellings_become_json(void **state)
{
	struct mf_docs d = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	static const char y[] = "[0x1F, 0o17, 017, 1_000, +5, .5, 1., 08, .inf, -.inf, .nan, 1e3, -0x10,"
				" 0b101, -0b101, -1_000, 1_0.5]\n";
	char *out;
	(void)state;

	assert_int_equal(mf_yaml_parse(&d, y, strlen(y), "n.yaml", NULL, &err), GS_OK);
	out = jemit(d.docs[0], 0);
	/* what sigs.k8s.io/yaml's YAMLToJSON (go-yaml v2, YAML 1.1 ints with Go's
	 * ParseInt base 0: '_' separators, 0o/0b prefixes, a sign before 0b)
	 * gives; .inf/.nan have no JSON form */
	assert_string_equal(out, "[31,15,15,1000,5,0.5,1,8,null,null,null,1e3,-16,5,-5,-1000,10.5]");
	free(out);
	mf_docs_release(&d);
}

static void test_mf_json__duplicate_keys_last_wins(void **state)
{
	struct gs_buf text = GS_BUF_INIT;
	struct mf_node *n;
	int i;
	(void)state;

	n = jparse("{\"a\": 1, \"b\": 2, \"a\": 3}");
	assert_int_equal(mf_node_len(n), 2);
	assert_string_equal(mf_node_str(mf_node_get(n, "a")), "3");
	mf_node_free(n);

	/* big objects use the hashed index */
	gs_buf_puts(&text, "{");
	for (i = 0; i < 3000; i++)
		gs_buf_printf(&text, "\"k%d\": %d,", i, i);
	gs_buf_puts(&text, "\"k1500\": \"again\"}");
	n = jparse(text.ptr);
	assert_int_equal(mf_node_len(n), 3000);
	assert_string_equal(mf_node_str(mf_node_get(n, "k1500")), "again");
	mf_node_free(n);
	gs_buf_release(&text);
}

static void test_mf_json__errors_name_line_and_column(void **state)
{
	static const struct {
		const char *in, *where, *msg;
	} cases[] = {
		{ "{\"a\": 1,\n \"b\" 2}", "t.json:2", "invalid JSON: expected ':' after object key at column 6" },
		{ "[1, 2", "t.json:1", "invalid JSON: unexpected end of input (expected ',' or ']' after array element)" },
		{ "{\"a\": tru}", "t.json:1", "invalid JSON: unexpected character at column 7" },
		{ "[01]", "t.json:1", "invalid JSON: expected ',' or ']' after array element at column 3" },
		{ "\"a\nb\"", "t.json:1", "invalid JSON: control character in string at column 3" },
		{ "{} x", "t.json:1", "invalid JSON: unexpected data after the top-level value at column 4" },
		{ "", "t.json:1", "invalid JSON: unexpected end of input (expected a value)" },
		{ "[1.]", "t.json:1", "invalid JSON: invalid number at column 4" },
		{ "\"\\x\"", "t.json:1", "invalid JSON: invalid escape in string at column 3" },
		{ "[1, 1e400]", "t.json:1", "invalid JSON: number out of range at column 5" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct gs_error err = GS_ERROR_INIT;
		struct mf_node *n = NULL;

		assert_int_equal(mf_json_parse(&n, cases[i].in, strlen(cases[i].in), "t.json", &err),
				 GS_EINVAL);
		assert_null(n);
		assert_string_equal(err.where, cases[i].where);
		assert_string_equal(err.msg, cases[i].msg);
	}
}

static void test_mf_json__depth_is_limited(void **state)
{
	struct gs_buf text = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *n = NULL;
	int i;
	(void)state;

	for (i = 0; i < 100000; i++)
		gs_buf_putc(&text, '[');
	assert_int_equal(mf_json_parse(&n, text.ptr, text.len, "deep.json", &err), GS_ELIMIT);
	assert_string_equal(err.msg, "nesting deeper than the limit of 200 levels");
	gs_buf_release(&text);
}

static void test_mf_json__positions_are_line_and_column(void **state)
{
	struct mf_node *n = jparse("{\n  \"a\": {\n    \"b\": [1,\n      2]\n  }\n}");
	const struct mf_pos *p;
	(void)state;

	p = mf_node_pos(mf_node_dig(n, "a", "b", NULL));
	assert_string_equal(p->file, "t.json");
	assert_int_equal(p->line, 3);
	assert_int_equal(p->col, 10);
	p = mf_node_pos(mf_node_at(mf_node_dig(n, "a", "b", NULL), 1));
	assert_int_equal(p->line, 4);
	assert_int_equal(p->col, 7);
	mf_node_free(n);
}

static void test_mf_json__test_data_json_files_agree_with_yaml_parser(void **state)
{
	const char *data = getenv("GS_DATA");
	char *dir;
	int files = 0, failures = 0;
	(void)state;

	if (!data || !*data)
		fail_msg("GS_DATA is not set (run through meson test)");
	dir = gs_asprintf("%s/yaml", data);
	check_json_dir(dir, &files, &failures);
	free(dir);
	print_message("# %d JSON files\n", files);
	assert_int_equal(failures, 0);
	assert_true(files >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mf_json__numbers_keep_their_text),
		cmocka_unit_test(test_mf_json__strings_unescape_and_escape_like_go),
		cmocka_unit_test(test_mf_json__pretty_matches_kubectl_o_json),
		cmocka_unit_test(test_mf_json__yaml_number_spellings_become_json),
		cmocka_unit_test(test_mf_json__duplicate_keys_last_wins),
		cmocka_unit_test(test_mf_json__errors_name_line_and_column),
		cmocka_unit_test(test_mf_json__depth_is_limited),
		cmocka_unit_test(test_mf_json__positions_are_line_and_column),
		cmocka_unit_test(test_mf_json__test_data_json_files_agree_with_yaml_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
