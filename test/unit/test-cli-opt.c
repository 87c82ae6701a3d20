/* test-cli-opt.c - the CLI's one option parser: every spelling of an option,
 * the same usage error (129) for the same mistake, and help from the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli-opt.h"
#include "cli/cli.h"

static bool valid_number(const char *v)
{
	char *end = NULL;

	strtol(v, &end, 10);
	return *v && !*end;
}

static const struct cli_opt opts[] = {
	{ "revision", 0, CLI_OPT_STRING, "R", "branch, tag or commit", NULL, NULL, NULL },
	{ "resource", 0, CLI_OPT_LIST, "G:K:N", "only these objects;\nrepeatable", NULL, NULL, NULL },
	{ "prune", 0, CLI_OPT_BOOL, NULL, "delete what left Git", NULL, NULL, NULL },
	{ "cascade", 0, CLI_OPT_BOOL, NULL, "delete the objects too", "true", NULL, NULL },
	{ "output", 'o', CLI_OPT_STRING, "FORMAT", "json or yaml", NULL, "json|yaml|wide", NULL },
	{ "count", 0, CLI_OPT_STRING, "N", "a number", "3", NULL, valid_number },
	{ "yes", 'y', CLI_OPT_BOOL, NULL, "never asks", NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_opt common[] = {
	{ "app-namespace", 'N', CLI_OPT_STRING, "NS", "namespace of the apps", NULL, NULL, NULL },
	CLI_OPT_END,
};

static const struct cli_cmd cmd = {
	"app test", "NAME [options]", "Test command.\n", opts, "common options", common,
	"\nexamples:\n  gitsync app test x\n", 1, 1,
};

/* argv from a NULL-terminated list; argv[0] is the command */
static int parse(struct cli_args *a, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"test";
	va_start(ap, a);
	for (char *s; (s = va_arg(ap, char *));)
		argv[argc++] = s;
	va_end(ap);
	return cli_opt_parse(a, &cmd, argc, argv);
}

static void test_cli_opt__long_short_and_equals_spellings(void **state)
{
	struct cli_args a = CLI_ARGS_INIT;
	(void)state;

	assert_int_equal(parse(&a, "web", "--revision", "main", "-o", "yaml", "-N", "ns1", NULL), 0);
	assert_string_equal(cli_args_str(&a, "revision"), "main");
	assert_string_equal(cli_args_str(&a, "output"), "yaml");
	assert_string_equal(cli_args_str(&a, "app-namespace"), "ns1");
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "web");
	cli_args_release(&a);

	assert_int_equal(parse(&a, "--revision=v2", "-ojson", "-N=x", "web", NULL), 0);
	assert_string_equal(cli_args_str(&a, "revision"), "v2");
	assert_string_equal(cli_args_str(&a, "output"), "json");
	assert_string_equal(cli_args_str(&a, "app-namespace"), "x");
	cli_args_release(&a);
}

static void test_cli_opt__defaults_and_bools(void **state)
{
	struct cli_args a = CLI_ARGS_INIT;
	(void)state;

	assert_int_equal(parse(&a, "web", NULL), 0);
	assert_null(cli_args_str(&a, "revision"));
	assert_string_equal(cli_args_str(&a, "count"), "3");
	assert_false(cli_args_bool(&a, "prune"));
	assert_true(cli_args_bool(&a, "cascade"));
	assert_false(cli_args_given(&a, "cascade"));
	cli_args_release(&a);

	assert_int_equal(parse(&a, "web", "--prune", "--cascade=false", "-y", NULL), 0);
	assert_true(cli_args_bool(&a, "prune"));
	assert_false(cli_args_bool(&a, "cascade"));
	assert_true(cli_args_given(&a, "cascade"));
	assert_true(cli_args_bool(&a, "yes"));
	cli_args_release(&a);
}

static void test_cli_opt__lists_keep_every_value_in_order(void **state)
{
	struct cli_args a = CLI_ARGS_INIT;
	const char *const *l;
	size_t n;
	(void)state;

	assert_int_equal(parse(&a, "--resource", ":ConfigMap:a", "web", "--resource=apps:Deployment:b",
			       NULL), 0);
	l = cli_args_list(&a, "resource", &n);
	assert_int_equal(n, 2);
	assert_string_equal(l[0], ":ConfigMap:a");
	assert_string_equal(l[1], "apps:Deployment:b");
	cli_args_release(&a);
}

/* the same mistake is the same usage error, whatever the option */
static void test_cli_opt__mistakes_are_usage_errors(void **state)
{
	struct cli_args a = CLI_ARGS_INIT;
	(void)state;

	assert_int_equal(parse(&a, "web", "--revision", NULL), CLI_EXIT_USAGE);
	cli_args_release(&a);
	assert_int_equal(parse(&a, "web", "-o", NULL), CLI_EXIT_USAGE);
	cli_args_release(&a);
	assert_int_equal(parse(&a, "web", "--output", "anything", NULL), CLI_EXIT_USAGE);
	cli_args_release(&a);
	assert_int_equal(parse(&a, "web", "--nope", NULL), CLI_EXIT_USAGE);
	cli_args_release(&a);
	assert_int_equal(parse(&a, "web", "-x", NULL), CLI_EXIT_USAGE);
	cli_args_release(&a);
	assert_int_equal(parse(&a, "web", "--prune=maybe", NULL), CLI_EXIT_USAGE);
	cli_args_release(&a);
	assert_int_equal(parse(&a, "web", "--count", "three", NULL), CLI_EXIT_USAGE);
	cli_args_release(&a);
	assert_int_equal(parse(&a, NULL), CLI_EXIT_USAGE); /* NAME missing */
	cli_args_release(&a);
	assert_int_equal(parse(&a, "a", "b", NULL), CLI_EXIT_USAGE);
	cli_args_release(&a);
	/* a value is taken as given, even one that starts with '-' */
	assert_int_equal(parse(&a, "web", "--revision", "-x", NULL), 0);
	assert_string_equal(cli_args_str(&a, "revision"), "-x");
	cli_args_release(&a);
}

static void test_cli_opt__double_dash_ends_options(void **state)
{
	struct cli_args a = CLI_ARGS_INIT;
	(void)state;

	assert_int_equal(parse(&a, "--", "--web", NULL), 0);
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "--web");
	cli_args_release(&a);
}

static void test_cli_opt__help_is_generated_from_the_table(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	(void)state;

	cli_opt_help(f, &cmd);
	fclose(f);
	assert_non_null(strstr(text, "usage: gitsync app test NAME [options]\n\nTest command.\n"));
	assert_non_null(strstr(text, "\noptions:\n  --revision R             branch, tag or commit\n"));
	assert_non_null(strstr(text, "  --resource G:K:N         only these objects;\n"
				     "                           repeatable\n"));
	assert_non_null(strstr(text, "  -o, --output FORMAT      json or yaml\n"));
	assert_non_null(strstr(text, "  --count N                a number (default 3)\n"));
	assert_non_null(strstr(text, "\ncommon options:\n  -N, --app-namespace NS   namespace"));
	assert_non_null(strstr(text, "examples:\n  gitsync app test x\n"));
	free(text);
}

static void test_cli_opt__help_option_prints_and_stops(void **state)
{
	struct cli_args a = CLI_ARGS_INIT;
	FILE *saved = stdout;
	(void)state;

	stdout = fopen("/dev/null", "w");
	assert_int_equal(parse(&a, "--nope", "--help", NULL), 0);
	assert_true(a.help);
	fclose(stdout);
	stdout = saved;
	cli_args_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_opt__long_short_and_equals_spellings),
		cmocka_unit_test(test_cli_opt__defaults_and_bools),
		cmocka_unit_test(test_cli_opt__lists_keep_every_value_in_order),
		cmocka_unit_test(test_cli_opt__mistakes_are_usage_errors),
		cmocka_unit_test(test_cli_opt__double_dash_ends_options),
		cmocka_unit_test(test_cli_opt__help_is_generated_from_the_table),
		cmocka_unit_test(test_cli_opt__help_option_prints_and_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
