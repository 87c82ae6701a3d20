/* fuzz-yaml.c - the YAML parser and both emitters.
 *
 * Every input that parses must emit YAML that parses back to an equal tree
 * (mf_node_equal), and emit JSON that mf_json_parse accepts; any difference is
 * a bug in quoting or layout, so it aborts.  The input also goes through
 * mf_json_parse directly.  Limits are small so alias bombs end fast.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mf-json.h"
#include "mf-yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct mf_docs *docs)
{
	struct gs_buf out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_docs again = MF_DOCS_INIT;
	size_t i;

	if (mf_yaml_emit_docs(&out, docs->docs, docs->n, 0))
		abort();
	if (mf_yaml_parse(&again, out.ptr, out.len, "emitted", NULL, &err)) {
		fprintf(stderr, "emitted YAML does not parse: %s: %s\n---\n%s", err.where, err.msg,
			out.ptr);
		abort();
	}
	if (again.n != docs->n) {
		fprintf(stderr, "%zu documents became %zu\n---\n%s", docs->n, again.n, out.ptr);
		abort();
	}
	for (i = 0; i < docs->n; i++) {
		struct mf_node *j = NULL;

		if (!mf_node_equal(docs->docs[i], again.docs[i])) {
			fprintf(stderr, "document %zu changed on round trip\n---\n%s", i, out.ptr);
			abort();
		}
		gs_buf_reset(&out);
		if (mf_json_emit(&out, docs->docs[i], i % 2 ? MF_JSON_PRETTY : 0))
			abort();
		if (mf_json_parse(&j, out.ptr, out.len, "emitted.json", &err)) {
			fprintf(stderr, "emitted JSON does not parse: %s: %s\n%s\n", err.where, err.msg,
				out.ptr);
			abort();
		}
		mf_node_free(j);
	}
	mf_docs_release(&again);
	gs_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mf_yaml_limits lim = {
		.max_doc_bytes = 1 << 20,
		.max_depth = 64,
		.max_alias_nodes = 10000,
		.max_scalar_bytes = 1 << 16,
		.max_alias_bytes = 1 << 20,
	};
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_node *j = NULL;

	if (!mf_yaml_parse(&docs, (const char *)data, size, "fuzz.yaml", &lim, &err))
		check_round_trip(&docs);
	mf_docs_release(&docs);
	if (!mf_json_parse(&j, (const char *)data, size, "fuzz.json", &err))
		mf_node_free(j);
	return 0;
}
