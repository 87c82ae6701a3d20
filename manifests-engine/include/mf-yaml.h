/* mf-yaml.h - YAML (and JSON) stream in, YAML out.
 *
 * Parsing resolves scalars like sigs.k8s.io/yaml does (YAML 1.1 booleans,
 * ints/floats/strings, null), resolves anchors and aliases under an expansion
 * limit, and records file:line of every node.  Empty and comments-only
 * documents are skipped.  Not thread-safe per call; no globals.
 */
#ifndef MF_YAML_H
#define MF_YAML_H

#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "mf-node.h"

struct mf_yaml_limits {
	size_t max_doc_bytes;    /* whole input; 0 = default 64 MiB */
	unsigned max_depth;      /* nesting depth; 0 = default 200 */
	size_t max_alias_nodes;  /* nodes produced by alias expansion; 0 = default 1,000,000 */
	size_t max_scalar_bytes; /* one scalar; 0 = default 16 MiB */
	size_t max_alias_bytes;  /* scalar bytes copied by alias expansion; 0 = default 256 MiB */
	unsigned flags;          /* enum mf_yaml_parse_flags; 0 = go-yaml v2 (sigs.k8s.io/yaml) */
};

enum mf_yaml_parse_flags {
	/* Resolve like go-yaml v3, which kustomize's kyaml reads resources with:
	 * only true/false (True, TRUE, ...) are booleans, a plain date
	 * (2024-01-15) becomes the string "2024-01-15T00:00:00Z", mapping keys
	 * must be strings (8080:, true:, null: are errors), and a tag on a
	 * document's root or a %YAML directive is an error. */
	MF_YAML_KYAML = 1 << 0,
	/* A duplicate mapping key keeps its last value, as sigs.k8s.io/yaml
	 * does, instead of being an error: for objects as a cluster gave them
	 * (`gitsync health`), never for Git input. */
	MF_YAML_DUP_KEEP_LAST = 1 << 1,
};

/* A parsed stream: docs[i] owned by the stream. */
struct mf_docs {
	struct mf_node **docs;
	size_t n, alloc;
};
#define MF_DOCS_INIT { NULL, 0, 0 }
void mf_docs_release(struct mf_docs *docs); /* frees every doc */
/* Remove doc i and return it owned. */
struct mf_node *mf_docs_take(struct mf_docs *docs, size_t i);

/* Parse a YAML (or JSON, YAML being its superset) stream.  file is borrowed
 * and must outlive the nodes (it is stored in every mf_pos).  limits may be
 * NULL for the defaults.  Appends documents to out; on error out is
 * left unchanged.
 * Map keys are converted to strings as sigs.k8s.io/yaml does (1 -> "1",
 * yes -> "true"); a duplicate key is an error; merge keys (<<) follow the
 * YAML spec (explicit keys win).  Input starting with '{' that libyaml
 * rejects is retried with mf_json_parse() (libyaml refuses JSON's surrogate
 * pair escapes).  See docs/internals/node.md for the scalar table.
 * Errors: GS_EINVAL (syntax, duplicate key, bad tag, with file:line in
 * err->where), GS_ELIMIT (a limit, named with its value in the message). */
int mf_yaml_parse(struct mf_docs *out, const char *buf, size_t len, const char *file,
		  const struct mf_yaml_limits *limits, struct gs_error *err);

enum mf_emit_flags {
	MF_EMIT_SORT_KEYS = 1 << 0, /* sort map keys in go-yaml's order (kubectl's) */
};

/* Append n as one YAML document (no leading "---") in kubectl's layout:
 * 2-space indent, block style, sequences not indented under their key,
 * strings quoted only when needed to read back identical, multi-line strings
 * as literal blocks.  n is borrowed (NULL prints "null").  Returns GS_OK, or
 * GS_ELIMIT when out->max would be exceeded (out then unchanged). */
int mf_yaml_emit(struct gs_buf *out, const struct mf_node *n, unsigned flags);
/* Emit documents separated by "---\n" like kubectl kustomize. */
int mf_yaml_emit_docs(struct gs_buf *out, struct mf_node *const *docs, size_t n, unsigned flags);

#endif
