/* fuzz-json.c - the JSON parser, and both emitters on trees it builds.
 *
 * JSON strings can hold what YAML input never yields (NUL, control
 * characters, lone surrogates decoded to U+FFFD), so this is also the
 * stress test for the YAML emitter's quoting: every tree must survive
 * emit -> parse unchanged, in JSON (compact and pretty) and in YAML.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mf-json.h"
#include "mf-yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_equal(const struct mf_node *a, const struct mf_node *b, const char *what,
		       const char *text)
{
	if (!mf_node_equal(a, b)) {
		fprintf(stderr, "%s round trip changed the tree\n%s\n", what, text);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf out = GS_BUF_INIT;
	struct mf_node *n = NULL, *again = NULL;
	struct mf_docs docs = MF_DOCS_INIT;
	unsigned flags;

	if (size > (1 << 20) || mf_json_parse(&n, (const char *)data, size, "fuzz.json", &err))
		return 0;
	for (flags = 0; flags < 2; flags++) {
		gs_buf_reset(&out);
		if (mf_json_emit(&out, n, flags ? MF_JSON_PRETTY : 0) ||
		    mf_json_parse(&again, out.ptr, out.len, "emitted.json", &err)) {
			fprintf(stderr, "emitted JSON does not parse: %s: %s\n%s\n", err.where, err.msg,
				out.ptr);
			abort();
		}
		must_equal(n, again, "JSON", out.ptr);
		mf_node_free(again);
		again = NULL;
	}
	gs_buf_reset(&out);
	if (mf_yaml_emit(&out, n, 0) ||
	    mf_yaml_parse(&docs, out.ptr, out.len, "emitted.yaml", NULL, &err)) {
		fprintf(stderr, "emitted YAML does not parse: %s: %s\n%s\n", err.where, err.msg, out.ptr);
		abort();
	}
	/* a null document is skipped by the parser */
	if (mf_node_type(n) != MF_NULL)
		must_equal(n, docs.n == 1 ? docs.docs[0] : NULL, "YAML", out.ptr);
	mf_docs_release(&docs);
	mf_node_free(n);
	gs_buf_release(&out);
	return 0;
}
