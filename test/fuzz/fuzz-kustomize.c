/* fuzz-kustomize.c - the kustomization loader over an in-memory kz_fs.
 *
 * The input is a small file tree: sections that start with a line
 * "=== <path>" give each file's content (the first section without a header
 * is kustomization.yaml).  The root is rendered like `gitsync render .`; a
 * success must emit as YAML, an error must carry a message.  Paths that
 * escape the root are rejected by kz_fs_mem_add itself, and the build's own
 * limits (nesting, kustomization count) keep cycles and diamonds finite.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-build.h"
#include "mf-yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kz_fs *fs = kz_fs_new_mem();
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	const char *p = (const char *)data, *end = p + size;
	char *path = gs_strdup("kustomization.yaml");
	unsigned nfiles = 0;

	if (size > 256 * 1024)
		goto done;
	while (p <= end && nfiles < 64) {
		const char *sec = p, *next = NULL, *q;
		size_t len;

		/* find the next "\n=== " header */
		for (q = p; q + 5 <= end; q++)
			if ((q == (const char *)data || q[-1] == '\n') && !memcmp(q, "=== ", 4) && q != sec) {
				next = q;
				break;
			}
		if (sec + 4 <= end && !memcmp(sec, "=== ", 4)) {
			const char *nl = memchr(sec, '\n', (size_t)(end - sec));
			free(path);
			path = gs_strndup(sec + 4, (size_t)((nl ? nl : end) - sec - 4));
			sec = nl ? nl + 1 : end;
			for (q = sec; q + 5 <= end; q++)
				if (q[-1] == '\n' && !memcmp(q, "=== ", 4)) {
					next = q;
					break;
				}
		}
		len = (size_t)((next ? next : end) - sec);
		if (*path)
			kz_fs_mem_add(fs, path, sec, len, &err); /* escaping paths are refused */
		nfiles++;
		if (!next)
			break;
		p = next;
	}
	gs_error_clear(&err);
	if (kz_render(&out, fs, "", 0, &err) == GS_OK) {
		struct gs_buf b = GS_BUF_INIT;

		if (mf_yaml_emit_docs(&b, out.docs.docs, out.docs.n, MF_EMIT_SORT_KEYS) < 0)
			abort();
		gs_buf_release(&b);
	} else if (!err.msg[0]) {
		fprintf(stderr, "error without a message\n");
		abort();
	} else if (out.docs.n) {
		fprintf(stderr, "partial output on error: %s\n", err.msg);
		abort();
	}
	kz_output_release(&out);
done:
	free(path);
	kz_fs_free(fs);
	return 0;
}
