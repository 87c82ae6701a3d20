/* test-mf-set.c - the ordered object set and its identity index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mf-set.h"

static struct mf_node *obj(const char *api_version, const char *kind, const char *ns,
			   const char *name, const char *file, unsigned line)
{
	struct mf_node *o = mf_node_new(MF_MAP);
	struct mf_pos pos = { file, line, 1 };

	mf_node_set_str_value(o, "apiVersion", api_version);
	mf_node_set_str_value(o, "kind", kind);
	mf_obj_set_name(o, name);
	if (ns)
		mf_obj_set_namespace(o, ns);
	mf_node_set_pos(o, &pos);
	return o;
}

static void test_mf_set__add_find_keeps_insertion_order(void **state)
{
	struct mf_set *s = mf_set_new();
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(mf_set_add(s, obj("apps/v1", "Deployment", "prod", "web", "a.yaml", 1), &err), 0);
	assert_int_equal(mf_set_add(s, obj("v1", "Service", "prod", "web", "a.yaml", 20), &err), 0);
	assert_int_equal(mf_set_add(s, obj("v1", "Namespace", NULL, "prod", "ns.yaml", 1), &err), 0);
	assert_int_equal(mf_set_len(s), 3);
	assert_string_equal(mf_obj_kind(mf_set_at(s, 0)), "Deployment");
	assert_string_equal(mf_obj_kind(mf_set_at(s, 2)), "Namespace");
	assert_ptr_equal(mf_set_find(s, "apps", "Deployment", "prod", "web"), mf_set_at(s, 0));
	assert_ptr_equal(mf_set_find(s, "", "Service", "prod", "web"), mf_set_at(s, 1));
	assert_ptr_equal(mf_set_find(s, NULL, "Service", "prod", "web"), mf_set_at(s, 1));
	assert_ptr_equal(mf_set_find(s, "", "Namespace", NULL, "prod"), mf_set_at(s, 2));
	assert_null(mf_set_find(s, "extensions", "Deployment", "prod", "web"));
	assert_null(mf_set_find(s, "apps", "Deployment", "dev", "web"));
	assert_null(mf_set_at(s, 3));
	mf_set_free(s);
}

static void test_mf_set__duplicate_rejected_naming_both_positions(void **state)
{
	struct mf_set *s = mf_set_new();
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	assert_int_equal(mf_set_add(s, obj("apps/v1", "Deployment", "prod", "web", "base/deploy.yaml", 3), &err), 0);
	/* another version of the same group is the same object */
	assert_int_equal(mf_set_add(s, obj("apps/v1beta1", "Deployment", "prod", "web", "extra.yaml", 12), &err),
			 GS_ECONFLICT);
	assert_non_null(strstr(err.msg, "may not add resource with an already registered id"));
	assert_non_null(strstr(err.msg, "apps/Deployment prod/web"));
	assert_non_null(strstr(err.msg, "base/deploy.yaml:3"));
	assert_non_null(strstr(err.msg, "extra.yaml:12"));
	assert_string_equal(err.where, "extra.yaml:12");
	assert_int_equal(mf_set_len(s), 1);
	/* same name in another group or namespace is fine */
	assert_int_equal(mf_set_add(s, obj("extensions/v1beta1", "Deployment", "prod", "web", "x", 1), &err), 0);
	assert_int_equal(mf_set_add(s, obj("apps/v1", "Deployment", "dev", "web", "x", 2), &err), 0);
	assert_int_equal(mf_set_len(s), 3);
	/* group NULL finds the first added */
	assert_ptr_equal(mf_set_find(s, NULL, "Deployment", "prod", "web"), mf_set_at(s, 0));
	mf_set_free(s);
}

static void test_mf_set__take_and_reindex_after_rename(void **state)
{
	struct mf_set *s = mf_set_new();
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *o;
	(void)state;

	mf_set_add(s, obj("v1", "ConfigMap", "d", "a", "f", 1), &err);
	mf_set_add(s, obj("v1", "ConfigMap", "d", "b", "f", 2), &err);
	mf_set_add(s, obj("v1", "ConfigMap", "d", "c", "f", 3), &err);
	o = mf_set_take(s, 0);
	assert_string_equal(mf_obj_name(o), "a");
	mf_node_free(o);
	assert_int_equal(mf_set_len(s), 2);
	assert_null(mf_set_find(s, "", "ConfigMap", "d", "a"));
	assert_ptr_equal(mf_set_find(s, "", "ConfigMap", "d", "c"), mf_set_at(s, 1));

	/* a name prefix transformer renames in place, then reindexes */
	mf_obj_set_name(mf_set_at(s, 0), "p-b");
	mf_obj_set_name(mf_set_at(s, 1), "p-c");
	mf_set_reindex(s);
	assert_null(mf_set_find(s, "", "ConfigMap", "d", "b"));
	assert_ptr_equal(mf_set_find(s, "", "ConfigMap", "d", "p-b"), mf_set_at(s, 0));
	assert_ptr_equal(mf_set_find(s, "", "ConfigMap", "d", "p-c"), mf_set_at(s, 1));
	/* after reindex the old names are free again */
	assert_int_equal(mf_set_add(s, obj("v1", "ConfigMap", "d", "b", "f", 9), &err), 0);
	mf_set_free(s);
}

static void test_mf_set__many_objects_all_found(void **state)
{
	struct mf_set *s = mf_set_new();
	struct gs_error err = GS_ERROR_INIT;
	char name[32];
	size_t i;
	(void)state;

	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "cm-%zu", i);
		assert_int_equal(mf_set_add(s, obj("v1", "ConfigMap", "ns", name, "f", (unsigned)i + 1), &err), 0);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "cm-%zu", i);
		assert_ptr_equal(mf_set_find(s, "", "ConfigMap", "ns", name), mf_set_at(s, i));
	}
	assert_int_equal(mf_set_add(s, obj("v1", "ConfigMap", "ns", "cm-4321", "g", 7), &err), GS_ECONFLICT);
	assert_non_null(strstr(err.msg, "f:4322"));
	mf_set_free(s);
	mf_set_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mf_set__add_find_keeps_insertion_order),
		cmocka_unit_test(test_mf_set__duplicate_rejected_naming_both_positions),
		cmocka_unit_test(test_mf_set__take_and_reindex_after_rename),
		cmocka_unit_test(test_mf_set__many_objects_all_found),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
