/* test-kz-fs.c - the root-confined file reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gs-buf.h"
#include "kz-fs.h"

static void test_kz_fs__join_normalises_and_rejects_escapes(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	char *p = NULL;
	(void)state;

	assert_int_equal(kz_path_join(&p, "overlays/prod", "../../base/./x.yaml", &err), GS_OK);
	assert_string_equal(p, "base/x.yaml");
	free(p);
	assert_int_equal(kz_path_join(&p, "", ".", &err), GS_OK);
	assert_string_equal(p, "");
	free(p);
	assert_int_equal(kz_path_join(&p, "a", "../../etc/passwd", &err), GS_EINVAL);
	assert_int_equal(kz_path_join(&p, "a", "/etc/passwd", &err), GS_EINVAL);
	assert_true(kz_path_within("a/b/c", "a/b"));
	assert_false(kz_path_within("a/bc", "a/b"));
	assert_true(kz_path_within("x", ""));
}

static void test_kz_fs__memory_tree_reads_lists_and_stats(void **state)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf b = GS_BUF_INIT;
	char **names = NULL;
	bool *dirs = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(kz_fs_mem_add(fs, "d/b.yaml", "B", 1, &err), GS_OK);
	assert_int_equal(kz_fs_mem_add(fs, "d/a.yaml", "A", 1, &err), GS_OK);
	assert_int_equal(kz_fs_mem_add(fs, "d/sub/c.yaml", "C", 1, &err), GS_OK);
	assert_int_equal(kz_fs_mem_add(fs, "../x", "X", 1, &err), GS_EINVAL);
	assert_int_equal(kz_fs_stat(fs, "d"), KZ_FS_DIR);
	assert_int_equal(kz_fs_stat(fs, "d/a.yaml"), KZ_FS_FILE);
	assert_int_equal(kz_fs_stat(fs, "d/zz"), KZ_FS_NONE);
	assert_int_equal(kz_fs_read(fs, "d/b.yaml", &b, &err), GS_OK);
	assert_string_equal(b.ptr, "B");
	assert_int_equal(kz_fs_read(fs, "d/none", &b, &err), GS_ENOTFOUND);
	assert_int_equal(kz_fs_list(fs, "d", &names, &dirs, &n, &err), GS_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a.yaml");
	assert_string_equal(names[1], "b.yaml");
	assert_string_equal(names[2], "sub");
	assert_true(dirs[2]);
	assert_false(dirs[0]);
	kz_fs_list_free(names, dirs, n);
	gs_buf_release(&b);
	kz_fs_free(fs);
}

static void test_kz_fs__disk_rejects_symlink_leaving_root(void **state)
{
	char tmpl[] = "/tmp/kz-fs-XXXXXX";
	char *dir = mkdtemp(tmpl), path[512];
	struct kz_fs *fs = NULL;
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf b = GS_BUF_INIT;
	FILE *f;
	(void)state;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/in.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("a: 1\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/out", dir);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	snprintf(path, sizeof(path), "%s/ok", dir);
	assert_int_equal(symlink("in.yaml", path), 0);

	assert_int_equal(kz_fs_new_disk(&fs, dir, &err), GS_OK);
	assert_int_equal(kz_fs_read(fs, "in.yaml", &b, &err), GS_OK);
	assert_string_equal(b.ptr, "a: 1\n");
	gs_buf_reset(&b);
	assert_int_equal(kz_fs_read(fs, "ok", &b, &err), GS_OK);
	assert_int_equal(kz_fs_read(fs, "out", &b, &err), GS_EINVAL);
	assert_int_equal(kz_fs_stat(fs, "out"), KZ_FS_NONE);
	kz_fs_free(fs);
	gs_buf_release(&b);

	snprintf(path, sizeof(path), "%s/out", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ok", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/in.yaml", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kz_fs__join_normalises_and_rejects_escapes),
		cmocka_unit_test(test_kz_fs__memory_tree_reads_lists_and_stats),
		cmocka_unit_test(test_kz_fs__disk_rejects_symlink_leaving_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
