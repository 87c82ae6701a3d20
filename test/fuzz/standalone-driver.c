/* standalone-driver.c - replay fuzz inputs without libFuzzer (libgit2's
 * tests/fuzz/standalone_driver.c idea).
 *
 * Usage: fuzz-<name>-replay FILE|DIR...  Every file (directories are read one
 * level deep) goes through LLVMFuzzerTestOneInput once, so each corpus entry
 * and each crash ever found stays a regression test under gcc.  A crash or an
 * abort() in the target fails the run; the exit status is 0 otherwise.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	uint8_t *copy;

	if (gs_buf_read_file(&b, path, &err)) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		return 1;
	}
	/* an exact-size heap copy so ASan sees reads past the end */
	copy = malloc(b.len ? b.len : 1);
	if (!copy)
		abort();
	memcpy(copy, b.ptr, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	gs_buf_release(&b);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	int i, failed = 0, count = 0;

	for (i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, alloc = 0, k;

		if (!d) {
			failed |= run_file(argv[i]);
			count++;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				names = realloc(names, alloc * sizeof(*names));
				if (!names)
					abort();
			}
			size_t sz = strlen(argv[i]) + strlen(de->d_name) + 2;
			names[n] = malloc(sz);
			if (!names[n])
				abort();
			snprintf(names[n], sz, "%s/%s", argv[i], de->d_name);
			n++;
		}
		closedir(d);
		qsort(names, n, sizeof(*names), cmp_str); /* stable order in logs */
		for (k = 0; k < n; k++) {
			failed |= run_file(names[k]);
			count++;
			free(names[k]);
		}
		free(names);
	}
	printf("replayed %d input%s\n", count, count == 1 ? "" : "s");
	return failed;
}
