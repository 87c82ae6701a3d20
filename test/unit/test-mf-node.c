/* test-mf-node.c - the object model and object helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mf-node.h"
#include "mf-object.h"

static void test_mf_node__map_set_get_remove_keeps_order(void **state)
{
	struct mf_node *m = mf_node_new(MF_MAP);
	(void)state;

	mf_node_set_str_value(m, "b", "1");
	mf_node_set_str_value(m, "a", "2");
	mf_node_set_str_value(m, "b", "3");
	assert_int_equal(mf_node_len(m), 2);
	assert_string_equal(mf_node_key(m, 0), "b");
	assert_string_equal(mf_node_str(mf_node_get(m, "b")), "3");
	assert_true(mf_node_remove(m, "b"));
	assert_false(mf_node_remove(m, "b"));
	assert_string_equal(mf_node_key(m, 0), "a");
	mf_node_free(m);
}

static void test_mf_node__equal_ignores_key_order_and_clone_is_deep(void **state)
{
	struct mf_node *a = mf_node_new(MF_MAP), *b = mf_node_new(MF_MAP), *c;
	(void)state;

	mf_node_set_str_value(a, "x", "1");
	mf_node_set(a, "y", mf_node_new_int(2));
	mf_node_set(b, "y", mf_node_new_int(2));
	mf_node_set_str_value(b, "x", "1");
	assert_true(mf_node_equal(a, b));
	c = mf_node_clone(a);
	mf_node_set_str(mf_node_get(a, "x"), "changed");
	assert_false(mf_node_equal(a, c));
	assert_true(mf_node_equal(b, c));
	/* a string "2" is not the integer 2 */
	mf_node_set_str_value(b, "y", "2");
	assert_false(mf_node_equal(b, c));
	mf_node_free(a);
	mf_node_free(b);
	mf_node_free(c);
}

static void test_mf_object__identity_and_metadata(void **state)
{
	struct mf_node *o = mf_node_new(MF_MAP);
	struct mf_id id = MF_ID_INIT;
	char *s;
	(void)state;

	mf_node_set_str_value(o, "apiVersion", "apps/v1");
	mf_node_set_str_value(o, "kind", "Deployment");
	mf_obj_set_name(o, "web");
	mf_obj_set_namespace(o, "prod");
	mf_obj_set_label(o, "app", "web");
	assert_true(mf_obj_is_object(o));
	assert_string_equal(mf_obj_label(o, "app"), "web");
	mf_id_from_object(&id, o);
	assert_string_equal(id.group, "apps");
	assert_string_equal(id.version, "v1");
	s = mf_id_str(&id);
	assert_string_equal(s, "apps/Deployment prod/web");
	free(s);
	mf_id_release(&id);
	assert_true(mf_kind_is_cluster_scoped("rbac.authorization.k8s.io", "ClusterRole"));
	assert_false(mf_kind_is_cluster_scoped("apps", "Deployment"));
	mf_node_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mf_node__map_set_get_remove_keeps_order),
		cmocka_unit_test(test_mf_node__equal_ignores_key_order_and_clone_is_deep),
		cmocka_unit_test(test_mf_object__identity_and_metadata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
