/* mf-json.h - JSON in and out (cJSON underneath), keeping number text. */
#ifndef MF_JSON_H
#define MF_JSON_H

#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "mf-node.h"

/* Parse one JSON value into *out (returned owned).  file borrowed, stored in
 * every node's position (line and column).  Numbers keep their text;
 * duplicate keys keep the last value and invalid UTF-8 becomes U+FFFD, like
 * Go's encoding/json.  Nesting is capped at 200 levels.
 * Errors: GS_EINVAL (syntax, with file:line and column), GS_ELIMIT (depth). */
int mf_json_parse(struct mf_node **out, const char *buf, size_t len, const char *file,
		  struct gs_error *err);

enum mf_json_flags {
	MF_JSON_PRETTY = 1 << 0, /* 4-space indent like kubectl -o json; else compact */
	MF_JSON_SORT_KEYS = 1 << 1,
};
/* Append n (borrowed) as JSON, no trailing newline.  Numbers are written
 * from their text (YAML spellings such as 0x1F converted; .inf/.nan become
 * null); strings escaped like Go (<, >, & as \u003c...).  Returns GS_OK or
 * GS_ELIMIT when out->max would be exceeded (out then unchanged). */
int mf_json_emit(struct gs_buf *out, const struct mf_node *n, unsigned flags);

#endif
