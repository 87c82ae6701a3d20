/* mf-patch-private.h - internals shared by the patch, diff and set modules. */
#ifndef MF_PATCH_PRIVATE_H
#define MF_PATCH_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-buf.h"
#include "mf-node.h"

/* How a list field merges under strategic merge patch. */
struct mf_smp_list_meta {
	bool merge;           /* false: the patch list replaces the original */
	const char *key;      /* merge key; NULL for a list of scalars */
	const char *key2;     /* secondary list-map key (ports: "protocol"), or NULL */
};

/* Look up the list at `path` ('/'-joined map keys from the object root,
 * list indices left out) in an object of group/kind.  schema may be NULL
 * (built-in table only).  Returned strings are static or owned by schema. */
struct mf_smp_schema;
void mf_smp_schema_lookup(struct mf_smp_list_meta *out, const struct mf_smp_schema *schema,
			  const char *group, const char *kind, const char *path);
unsigned mf_smp_schema_flags(const struct mf_smp_schema *schema);

/* JSON equality as RFC 6902 "test" defines it: numbers compare by value
 * (1 == 1.0), everything else like mf_node_equal. */
bool mf_json_equal(const struct mf_node *a, const struct mf_node *b);

/* Append a JSON-pointer-escaped segment ("~" -> "~0", "/" -> "~1") to b. */
void mf_json_pointer_append(struct gs_buf *b, const char *seg);

#endif
