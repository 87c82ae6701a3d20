/* fuzz-smp.c - strategic merge patch of two YAML documents.
 *
 * Input: target YAML, a 0x00 byte, patch YAML (no 0x00: the input is the
 * target and patches itself).  Both are parsed and, when both are maps, the
 * patch is applied four ways: strategic with the built-in table, strategic
 * in kustomize mode with a custom merge key, JSON merge patch, and, when the
 * patch is a list, as a JSON patch.  The result is diffed against the
 * original and hashed, so the differ and hasher see every patched shape.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs-buf.h"
#include "mf-diff.h"
#include "mf-hash.h"
#include "mf-patch.h"
#include "mf-yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mf_node *parse_first(const char *buf, size_t len)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct mf_yaml_limits lim = { 1 << 20, 64, 10000, 1 << 16, 1 << 20 };
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *n = NULL;

	if (mf_yaml_parse(&docs, buf, len, "fuzz", &lim, &err) == 0 && docs.n > 0)
		n = mf_docs_take(&docs, 0);
	mf_docs_release(&docs);
	return n;
}

static void check(const struct mf_node *orig, struct mf_node *work)
{
	struct mf_changes ch = MF_CHANGES_INIT;
	struct gs_buf out = GS_BUF_INIT;
	char hex[MF_HASH_HEX_SIZE];

	mf_diff(&ch, orig, work);
	mf_changes_release(&ch);
	mf_diff_text(&out, orig, work, "a", "b", 0);
	gs_buf_release(&out);
	mf_hash_node_hex(hex, work);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	const char *sep = memchr(buf, '\0', size);
	size_t tlen = sep ? (size_t)(sep - buf) : size;
	struct mf_node *target = parse_first(buf, tlen);
	struct mf_node *patch = sep ? parse_first(sep + 1, size - tlen - 1) : mf_node_clone(target);
	struct mf_smp_schema *schema = mf_smp_schema_new();
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *work;

	if (!target || !patch)
		goto cleanup;
	mf_smp_schema_add(schema, NULL, "Thing", "spec/items", "name");
	mf_smp_schema_set_flags(schema, MF_SMP_KUSTOMIZE);

	work = mf_node_clone(target);
	if (mf_patch_strategic(work, patch, NULL, &err) == 0)
		check(target, work);
	mf_node_free(work);

	work = mf_node_clone(target);
	if (mf_patch_strategic(work, patch, schema, &err) == 0)
		check(target, work);
	mf_node_free(work);

	work = mf_node_clone(target);
	if (mf_patch_merge(work, patch, &err) == 0)
		check(target, work);
	mf_node_free(work);

	if (mf_node_type(patch) == MF_SEQ) {
		work = mf_node_clone(target);
		if (mf_patch_json6902(work, patch, &err) == 0)
			check(target, work);
		mf_node_free(work);
	}
cleanup:
	mf_smp_schema_free(schema);
	mf_node_free(target);
	mf_node_free(patch);
	return 0;
}
