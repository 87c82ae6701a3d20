/* test-helm-semver.c - chart version ranges with Helm's semantics
 * (Masterminds/semver v3): the cases below are the library's own
 * constraint table, so a range picks what `helm pull --version` picks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "helm/helm-semver.h"

struct rcase {
	const char *range, *version;
	bool match;
};

static void check_cases(const struct rcase *cs, size_t n)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		struct helm_semver_range *r = NULL;
		struct helm_semver v;
		struct gs_error err = GS_ERROR_INIT;

		if (helm_semver_range_new(&r, cs[i].range, &err) < 0) {
			print_error("range '%s' refused: %s\n", cs[i].range, err.msg);
			bad++;
			continue;
		}
		assert_int_equal(helm_semver_parse(&v, cs[i].version), GS_OK);
		if (helm_semver_range_match(r, &v) != cs[i].match) {
			print_error("'%s' against '%s': expected %s\n", cs[i].version,
				    cs[i].range, cs[i].match ? "match" : "no match");
			bad++;
		}
		helm_semver_range_free(r);
	}
	assert_int_equal(bad, 0);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_helm_semver__comparisons_and_wildcards(void **state)
{
	static const struct rcase cs[] = {
		{ "=2.0.0", "1.2.3", false }, { "=2.0.0", "2.0.0", true },
		{ "=2.0", "1.2.3", false },   { "=2.0", "2.0.0", true },
		{ "=2.0", "2.0.1", true },    { "4.1", "4.1.0", true },
		{ "!=4.1.0", "4.1.0", false }, { "!=4.1.0", "4.1.1", true },
		{ "!=4.1", "4.1.0", false },  { "!=4.1", "4.1.1", false },
		{ "!=4.1", "5.1.0-alpha.1", false }, { "!=4.1-alpha", "4.1.0", true },
		{ "!=4.1", "5.1.0", true },   { "<11", "0.1.0", true },
		{ "<11", "11.1.0", false },   { "<1.1", "0.1.0", true },
		{ "<1.1", "1.1.0", false },   { "<1.1", "1.1.1", false },
		{ "<=11", "1.2.3", true },    { "<=11", "12.2.3", false },
		{ "<=11", "11.2.3", true },   { "<=1.1", "1.2.3", false },
		{ "<=1.1", "0.1.0", true },   { "<=1.1", "1.1.0", true },
		{ "<=1.1", "1.1.1", true },   { ">1.1", "4.1.0", true },
		{ ">1.1", "1.1.0", false },   { ">0", "0", false },
		{ ">0", "1", true },          { ">0", "0.0.1-alpha", false },
		{ ">0.0", "0.0.1-alpha", false }, { ">0.0.0-0", "0.0.0-alpha", true },
		{ ">1.2.3-alpha.1", "1.2.3-alpha.2", true },
		{ ">1.2.3-alpha.1", "1.3.3-alpha.2", true },
		{ ">11", "11.1.0", false },   { ">11.1", "11.1.0", false },
		{ ">11.1", "11.1.1", false }, { ">11.1", "11.2.1", true },
		{ ">=11", "11.1.2", true },   { ">=11.1", "11.1.2", true },
		{ ">=11.1", "11.0.2", false }, { ">=1.1", "4.1.0", true },
		{ ">=1.1", "1.1.0", true },   { ">=1.1", "0.0.9", false },
		{ ">=0", "0.0.1-alpha", false }, { ">=0.0", "0.0.1-alpha", false },
		{ ">=0.0.0-0", "0.0.0-alpha", true }, { ">=0.0.0-0", "1.2.3", true },
		{ ">=0.0.0-0", "3.4.5-beta.1", true }, { ">=0", "0", true },
		{ "=0", "1", false },         { "*", "1", true },
		{ "*", "4.5.6", true },       { "*", "1.2.3-alpha.1", false },
		{ "2.*", "1", false },        { "2.*", "3.4.5", false },
		{ "2.*", "2.1.1", true },     { "2.1.*", "2.1.1", true },
		{ "2.1.*", "2.2.1", false },  { "2", "1", false },
		{ "2", "3.4.5", false },      { "2", "2.1.1", true },
		{ "2.1", "2.1.1", true },     { "2.1", "2.2.1", false },
		{ "1.x", "1.9.0", true },     { "1.X.x", "2.0.0", false },
		{ "v1.2.3", "1.2.3", true },  { "1.2.3", "1.2.3+build.7", true },
		{ "1.x.3", "1.9.0", true }, /* the library reads it as 1.x */
	};

	(void)state;
	check_cases(cs, N(cs));
}

static void test_helm_semver__tilde_and_caret(void **state)
{
	static const struct rcase cs[] = {
		{ "~1.2.3", "1.2.4", true },  { "~1.2.3", "1.3.4", false },
		{ "~1.2", "1.2.4", true },    { "~1.2", "1.3.4", false },
		{ "~1", "1.2.4", true },      { "~1", "2.3.4", false },
		{ "~0.2.3", "0.2.5", true },  { "~0.2.3", "0.3.5", false },
		{ "~>1.2.3", "1.2.9", true }, { "~1.2.3", "1.2.2", false },
		{ "~1.2.3-beta.2", "1.2.3-beta.4", true },
		{ "~1.2.3-beta.2", "1.2.4-beta.2", true },
		{ "~1.2.3-beta.2", "1.3.4-beta.2", false },
		{ "^1.2.3", "1.8.9", true },  { "^1.2.3", "2.8.9", false },
		{ "^1.2.3", "1.2.1", false }, { "^1.1.0", "2.1.0", false },
		{ "^1.2.0", "2.2.1", false }, { "^1.2.0", "1.2.1-alpha.1", false },
		{ "^1.2.0-alpha.0", "1.2.1-alpha.1", true },
		{ "^1.2.0-alpha.0", "1.2.1-alpha.0", true },
		{ "^1.2.0-alpha.2", "1.2.0-alpha.1", false },
		{ "^1.2", "1.8.9", true },    { "^1.2", "2.8.9", false },
		{ "^1", "1.8.9", true },      { "^1", "2.8.9", false },
		{ "^0.2.3", "0.2.5", true },  { "^0.2.3", "0.5.6", false },
		{ "^0.2", "0.2.5", true },    { "^0.2", "0.5.6", false },
		{ "^0.0.3", "0.0.3", true },  { "^0.0.3", "0.0.4", false },
		{ "^0.0", "0.0.3", true },    { "^0.0", "0.1.4", false },
		{ "^0.0", "1.0.4", false },   { "^0", "0.2.3", true },
		{ "^0", "1.1.4", false },     { "^0.2.3-beta.2", "0.2.3-beta.4", true },
		{ "^0.2.3-beta.2", "0.2.4-beta.2", true },
		{ "^0.2.3-beta.2", "0.3.4-beta.2", false },
		{ "^0.2.3-beta.2", "0.2.3-beta.2", true },
	};

	(void)state;
	check_cases(cs, N(cs));
}

static void test_helm_semver__and_or_and_hyphen_ranges(void **state)
{
	static const struct rcase cs[] = {
		{ ">1.1 <2", "1.1.1", false }, { ">1.1 <2", "1.2.1", true },
		{ ">1.1, <3", "4.3.2", false }, { ">=1.1 <2 !=1.2.3", "1.2.3", false },
		{ ">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true },
		{ ">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false },
		{ ">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true },
		{ ">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false },
		{ ">=1.1, <2, !=1.2.3 || > 3", "1.2.4", true },
		{ "1.1 - 2", "1.1.1", true }, { "1.1 - 2", "2.9.9", true },
		{ "1.1 - 3", "4.3.2", false }, { "1.2.3 - 1.4.5", "1.4.6", false },
		{ "1.2.3 - 1.4.5", "1.2.2", false }, { "^1.1 || ^3", "3.1.2", true },
		{ "^1.1 || ^3", "2.1.2", false }, { ">= 1.0.0, < 2.0.0", "1.5.0", true },
		/* every constraint of an AND must name a prerelease to admit one */
		{ ">=1.2.0-0 <2", "1.2.0-rc.1", false }, { ">=1.2.0-0 <2.0.0-0", "1.2.0-rc.1", true },
	};

	(void)state;
	check_cases(cs, N(cs));
}

static void test_helm_semver__precedence(void **state)
{
	static const char *const order[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0",
		"2.0.0",
	};
	size_t i;

	(void)state;
	for (i = 0; i + 1 < N(order); i++) {
		struct helm_semver a, b;

		assert_int_equal(helm_semver_parse(&a, order[i]), GS_OK);
		assert_int_equal(helm_semver_parse(&b, order[i + 1]), GS_OK);
		if (helm_semver_compare(&a, &b) >= 0)
			fail_msg("%s should sort before %s", order[i], order[i + 1]);
		assert_true(helm_semver_compare(&b, &a) > 0);
		assert_int_equal(helm_semver_compare(&a, &a), 0);
	}
}

static void test_helm_semver__refuses_what_is_not_a_range(void **state)
{
	static const char *const bad[] = { "", "  ", "latest", ">=", "1.2.3.4",
					   ">=1.0 ||", "main", "1..2" };
	size_t i;

	(void)state;
	for (i = 0; i < N(bad); i++) {
		struct helm_semver_range *r = NULL;
		struct gs_error err = GS_ERROR_INIT;

		if (helm_semver_range_new(&r, bad[i], &err) != GS_EINVAL)
			fail_msg("'%s' was accepted as a range", bad[i]);
		assert_null(r);
		assert_non_null(strstr(err.msg, "is not a version range"));
	}
	assert_false(helm_semver_is_exact("^1.2"));
	assert_true(helm_semver_is_exact("1.2.3"));
	assert_false(helm_semver_is_exact("1.2.3 || 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helm_semver__comparisons_and_wildcards),
		cmocka_unit_test(test_helm_semver__tilde_and_caret),
		cmocka_unit_test(test_helm_semver__and_or_and_hyphen_ranges),
		cmocka_unit_test(test_helm_semver__precedence),
		cmocka_unit_test(test_helm_semver__refuses_what_is_not_a_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
