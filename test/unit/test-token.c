/* test-token.c - API bearer tokens: the api.tokens format, checks, generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gs-alloc.h"
#include "httpd/apitoken.h"

static char *line_for(const char *name, const char *scope, const char *token)
{
	char hex[65];

	apitoken_sha256_hex(hex, token, strlen(token));
	return gs_asprintf("%s %s sha256:%s", name, scope, hex);
}

static void test_token__parse_and_check_scopes(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct apitoken_table *t = NULL;
	char *l1 = line_for("ci", "sync", "secret-one"), *l2 = line_for("viewer", "read", "two");
	char *text = gs_asprintf("# tokens\n\n  %s\r\n%s", l1, l2);
	const char *name = NULL;
	(void)state;

	assert_int_equal(apitoken_table_parse(&t, text, strlen(text), &err), 0);
	assert_int_equal(apitoken_table_count(t), 2);
	assert_int_equal(apitoken_table_check(t, "secret-one", 10, &name), APITOKEN_SYNC);
	assert_string_equal(name, "ci");
	assert_int_equal(apitoken_table_check(t, "two", 3, &name), APITOKEN_READ);
	assert_string_equal(name, "viewer");
	assert_int_equal(apitoken_table_check(t, "secret-onE", 10, &name), APITOKEN_NONE);
	assert_null(name);
	assert_int_equal(apitoken_table_check(t, "", 0, NULL), APITOKEN_NONE);
	assert_int_equal(apitoken_table_check(NULL, "two", 3, NULL), APITOKEN_NONE);
	apitoken_table_free(t);
	free(l1);
	free(l2);
	free(text);
}

static void test_token__malformed_lines_name_the_line_and_never_echo_it(void **state)
{
	static const char *bad[] = {
		"ci sync",
		"ci admin sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"ci sync gst_plaintext-token-pasted-here",
		"ci sync sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0",
		"ci sync sha256:zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"c/i sync sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"ci sync sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 x",
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gs_error err = GS_ERROR_INIT;
		struct apitoken_table *t = NULL;
		char *text = gs_asprintf("# c\n%s\n", bad[i]);
		assert_int_equal(apitoken_table_parse(&t, text, strlen(text), &err), GS_EINVAL);
		assert_null(t);
		assert_non_null(strstr(err.msg, "line 2"));
		assert_null(strstr(err.msg, "plaintext"));
		free(text);
	}
}

static void test_token__generate_gives_unique_token_whose_line_checks(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct apitoken_table *t = NULL;
	char *tok = NULL, *line = NULL, *tok2 = NULL, *line2 = NULL;
	(void)state;

	assert_int_equal(apitoken_generate(&tok, &line, "ci-prod", APITOKEN_SYNC, &err), 0);
	assert_int_equal(apitoken_generate(&tok2, &line2, "ci-prod", APITOKEN_SYNC, &err), 0);
	assert_true(!strncmp(tok, "gst_", 4));
	assert_int_equal(strlen(tok), 4 + 43);
	assert_string_not_equal(tok, tok2);
	assert_true(!strncmp(line, "ci-prod sync sha256:", 20));
	assert_null(strstr(line, tok + 4)); /* the line holds only the hash */
	assert_int_equal(apitoken_table_parse(&t, line, strlen(line), &err), 0);
	assert_int_equal(apitoken_table_check(t, tok, strlen(tok), NULL), APITOKEN_SYNC);
	assert_int_equal(apitoken_table_check(t, tok2, strlen(tok2), NULL), APITOKEN_NONE);
	apitoken_table_free(t);
	free(tok);
	free(line);
	free(tok2);
	free(line2);
}

static void test_token__project_list_limits_a_token_two_fields_reach_all(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct apitoken_table *t = NULL;
	char *l1 = line_for("team-a-ci", "sync team-a,shared", "tok-a");
	char *l2 = line_for("admin", "read", "tok-admin");
	char *text = gs_asprintf("%s\n%s\n", l1, l2);
	const char *name = NULL, *projects = NULL;
	(void)state;

	assert_int_equal(apitoken_table_parse(&t, text, strlen(text), &err), 0);
	assert_int_equal(apitoken_table_lookup(t, "tok-a", 5, &name, &projects), APITOKEN_SYNC);
	assert_string_equal(name, "team-a-ci");
	assert_string_equal(projects, "team-a,shared");
	assert_true(apitoken_projects_allow(projects, "team-a"));
	assert_true(apitoken_projects_allow(projects, "shared"));
	assert_false(apitoken_projects_allow(projects, "team-b"));
	assert_false(apitoken_projects_allow(projects, "team"));
	assert_false(apitoken_projects_allow(projects, "team-a,shared"));
	/* the two-field form (before projects existed): every project */
	assert_int_equal(apitoken_table_lookup(t, "tok-admin", 9, &name, &projects), APITOKEN_READ);
	assert_null(projects);
	assert_true(apitoken_projects_allow(projects, "team-b"));
	apitoken_table_free(t);
	free(text);
	free(l1);

	/* a malformed list is refused, naming the line */
	l1 = line_for("x", "read team a", "tok");
	assert_int_equal(apitoken_table_parse(&t, l1, strlen(l1), &err), GS_EINVAL);
	free(l1);
	l1 = line_for("x", "read team/a", "tok");
	assert_int_equal(apitoken_table_parse(&t, l1, strlen(l1), &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "line 1: bad project list"));
	free(l1);
	free(l2);
}

static void test_token__generate_rejects_bad_name_and_scope(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	char *tok = NULL, *line = NULL;
	(void)state;

	assert_int_equal(apitoken_generate(&tok, &line, "bad name", APITOKEN_READ, &err), GS_EINVAL);
	assert_null(tok);
	assert_int_equal(apitoken_generate(&tok, &line, "ok", APITOKEN_NONE, &err), GS_EINVAL);
	assert_int_equal(apitoken_scope_parse("sync"), APITOKEN_SYNC);
	assert_int_equal(apitoken_scope_parse("admin"), APITOKEN_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token__parse_and_check_scopes),
		cmocka_unit_test(test_token__malformed_lines_name_the_line_and_never_echo_it),
		cmocka_unit_test(test_token__generate_gives_unique_token_whose_line_checks),
		cmocka_unit_test(test_token__generate_rejects_bad_name_and_scope),
		cmocka_unit_test(test_token__project_list_limits_a_token_two_fields_reach_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
