/* test-cli-table.c - the resource table of `gitsync diff` and `gitsync sync`
 * takes its column widths from content, like the `gitsync app` tables: a
 * name longer than any fixed width keeps every row in line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli-sync.h"
#include "gs-alloc.h"

static void add_row(struct sync_report *rep, const char *group, const char *kind, const char *ns,
		    const char *name, const char *msg)
{
	struct sync_resource *r;

	rep->v = realloc(rep->v, (rep->n + 1) * sizeof(*rep->v));
	r = &rep->v[rep->n++];
	memset(r, 0, sizeof(*r));
	r->group = gs_strdup(group);
	r->version = gs_strdup("v1");
	r->kind = gs_strdup(kind);
	r->ns = gs_strdup(ns);
	r->name = gs_strdup(name);
	r->message = gs_strdup(msg);
	r->status = SYNC_STATUS_OUT_OF_SYNC;
}

/* The column where `word` starts on each line of text (-1 when absent). */
static long column_of(const char *line, const char *word)
{
	const char *p = strstr(line, word);

	return p ? (long)(p - line) : -1;
}

static void test_cli_table__resource_table_widths_come_from_content(void **state)
{
	struct sync_report rep = SYNC_REPORT_INIT;
	char *text = NULL, *l1, *l2, *l3;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	const char *longname = "a-configmap-name-much-longer-than-thirty-six-characters";

	(void)state;
	add_row(&rep, "", "ConfigMap", "default", longname, "m1");
	add_row(&rep, "apps", "Deployment", "default", "web", "m2");
	cli_print_resource_table(f, &rep);
	fclose(f);
	l1 = text;
	l2 = strchr(l1, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	/* STATUS starts at the same column on every row */
	assert_true(column_of(l1, "STATUS") > column_of(l1, "NAME"));
	assert_int_equal(column_of(l2, "OutOfSync"), column_of(l1, "STATUS"));
	assert_int_equal(column_of(l3, "OutOfSync"), column_of(l1, "STATUS"));
	/* and the short table is not padded to fixed widths: GROUP is as wide
	 * as "GROUP", plus the gap */
	assert_true(column_of(l1, "KIND") < 10);
	free(text);
	sync_report_release(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_table__resource_table_widths_come_from_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
