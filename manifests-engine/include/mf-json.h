/* mf-json.h - JSON in and out (cJSON underneath), keeping number text. */
#ifndef MF_JSON_H
#define MF_JSON_H

#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "mf-node.h"

/* Parse one JSON value.  file borrowed (for positions; lines best effort). */
int mf_json_parse(struct mf_node **out, const char *buf, size_t len, const char *file,
		  struct gs_error *err);

enum mf_json_flags {
	MF_JSON_PRETTY = 1 << 0, /* 4-space indent like kubectl -o json; else compact */
	MF_JSON_SORT_KEYS = 1 << 1,
};
/* Append n as JSON (numbers emitted from their text). */
int mf_json_emit(struct gs_buf *out, const struct mf_node *n, unsigned flags);

#endif
