/* mf-patch-strategic.c - Kubernetes strategic merge patch.
 *
 * Follows k8s.io/apimachinery/pkg/util/strategicpatch (StrategicMergeMapPatch):
 * maps merge, null deletes, lists merge by the key of the schema table
 * (mf-smp-schema.c) or are replaced, and the directives $patch,
 * $retainKeys, $setElementOrder/<f> and $deleteFromPrimitiveList/<f> work as
 * there.  MF_SMP_KUSTOMIZE switches the few places where kustomize (kyaml
 * merge2) differs.  docs/internals/strategic-merge.md has the details.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-object.h"
#include "mf-patch-private.h"
#include "mf-patch.h"

#define SMP_DELETE 1 /* merge_map result: the map asked to be deleted */
#define SMP_MAX_DEPTH 512

static const char DIRECTIVE[] = "$patch";
static const char RETAIN_KEYS[] = "$retainKeys";
static const char SET_ORDER_PREFIX[] = "$setElementOrder/";
static const char DELETE_PRIMITIVE_PREFIX[] = "$deleteFromPrimitiveList/";

struct smp_ctx {
	const struct mf_smp_schema *schema;
	const char *group, *kind;
	unsigned flags;
	struct gs_buf path; /* '/'-joined keys of the current position */
	unsigned depth;
	struct gs_error *err;
};

static int merge_map(struct smp_ctx *c, struct mf_node *orig, const struct mf_node *patch);
static int clean_value(struct smp_ctx *c, const struct mf_node *pv, struct mf_node **out);

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static size_t path_push(struct smp_ctx *c, const char *key)
{
	size_t old = c->path.len;

	if (old)
		gs_buf_putc(&c->path, '/');
	gs_buf_puts(&c->path, key);
	return old;
}

static void path_pop(struct smp_ctx *c, size_t old)
{
	c->path.len = old;
	c->path.ptr[old] = '\0';
}

static const char *path_str(const struct smp_ctx *c)
{
	return c->path.len ? c->path.ptr : "(root)";
}

GS_PRINTF(4, 5) static int fail(struct smp_ctx *c, enum gs_code code, const struct mf_node *at,
				const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gs_error_at(c->err, code, mf_node_pos(at), "strategic merge patch: %s", msg);
}

static const char *directive_of(const struct mf_node *n)
{
	return mf_node_type(n) == MF_MAP ? mf_node_dig_str(n, DIRECTIVE, NULL) : NULL;
}

static bool has_directive(const struct mf_node *n)
{
	return mf_node_type(n) == MF_MAP && mf_node_index(n, DIRECTIVE) >= 0;
}

/* The identity of a list item: its merge key value, or itself for scalars. */
static const struct mf_node *item_key(const struct mf_node *item, const char *key)
{
	if (!key)
		return item;
	if (mf_node_type(item) != MF_MAP)
		return NULL;
	return mf_node_get(item, key);
}

static bool key_equal(const struct mf_node *a, const struct mf_node *b)
{
	return a && b && mf_node_equal(a, b);
}

/* A copy of a list that the schema does not merge: the patch list wins,
 * directive-only items dropped and maps cleaned of directives and nulls. */
static int replace_list(struct smp_ctx *c, const struct mf_node *patch, struct mf_node **out)
{
	struct mf_node *seq = mf_node_new(MF_SEQ), *v = NULL;
	size_t i;
	int rc = GS_OK;

	mf_node_set_pos(seq, mf_node_pos(patch));
	for (i = 0; i < mf_node_len(patch); i++) {
		const struct mf_node *item = mf_node_at(patch, i);
		if (has_directive(item))
			continue;
		if ((rc = clean_value(c, item, &v)) < 0)
			goto cleanup;
		if (v)
			mf_node_append(seq, v);
		v = NULL;
	}
	*out = seq;
	seq = NULL;
cleanup:
	mf_node_free(seq);
	return rc;
}

/* Reorder `list` in place.  rank[i] >= 0: item i belongs to the patch, in
 * that order; rank -1: a server-only item.  server[i]: index in the original
 * (server) list, or -1 for an item the patch added. */
static void reorder(struct mf_node *list, const long *rank, const long *server, bool patch_first)
{
	size_t n = mf_node_len(list), i, j, k, np = 0, ns = 0;
	size_t *pidx = NULL, *sidx = NULL, *out = NULL;
	struct mf_node **items = NULL;

	if (n < 2)
		return;
	pidx = gs_malloc(n * sizeof(*pidx));
	sidx = gs_malloc(n * sizeof(*sidx));
	out = gs_malloc(n * sizeof(*out));
	for (i = 0; i < n; i++) {
		if (rank[i] >= 0)
			pidx[np++] = i;
		else
			sidx[ns++] = i;
	}
	/* patch items by rank (stable insertion sort: lists are short) */
	for (i = 1; i < np; i++) {
		size_t x = pidx[i];
		for (j = i; j > 0 && rank[pidx[j - 1]] > rank[x]; j--)
			pidx[j] = pidx[j - 1];
		pidx[j] = x;
	}
	/* server-only items keep server order; additions without a server index last */
	for (i = 1; i < ns; i++) {
		size_t x = sidx[i];
		long sx = server[x] < 0 ? (long)n + (long)x : server[x];
		for (j = i; j > 0; j--) {
			size_t y = sidx[j - 1];
			long sy = server[y] < 0 ? (long)n + (long)y : server[y];
			if (sy <= sx)
				break;
			sidx[j] = y;
		}
		sidx[j] = x;
	}
	if (patch_first) {
		/* kyaml merge2 with ListIncreaseDirection=Prepend */
		memcpy(out, pidx, np * sizeof(*out));
		memcpy(out + np, sidx, ns * sizeof(*out));
	} else {
		/* apimachinery mergeSortedSlice: a server-only item goes before a
		 * patch item only when both are in the server list and it was
		 * before it there; so new items follow the patch item before them */
		for (i = 0, j = 0, k = 0; k < n; k++) {
			if (i < ns && j < np) {
				long ls = server[sidx[i]], rs = server[pidx[j]];
				if (ls >= 0 && rs >= 0 && ls < rs)
					out[k] = sidx[i++];
				else
					out[k] = pidx[j++];
			} else if (i < ns) {
				out[k] = sidx[i++];
			} else {
				out[k] = pidx[j++];
			}
		}
	}
	items = gs_malloc(n * sizeof(*items));
	for (i = 0; i < n; i++)
		items[i] = mf_node_at(list, i);
	for (i = n; i > 0; i--)
		(void)mf_node_take_at(list, i - 1); /* ownership kept in items[] */
	for (i = 0; i < n; i++)
		mf_node_append(list, items[out[i]]);
	free(items);
	free(pidx);
	free(sidx);
	free(out);
}

/* kyaml compares ports by (containerPort|port, protocol) and, when only one
 * side names the protocol, drops the patch item (kustomize 5 behaviour). */
enum match2 { M2_NONE, M2_MATCH, M2_DROP };

static enum match2 match_secondary(const struct mf_node *o, const struct mf_node *p,
				   const char *key2)
{
	const struct mf_node *o2 = mf_node_get(o, key2), *p2 = mf_node_get(p, key2);

	if (!o2 && !p2)
		return M2_MATCH;
	if (o2 && p2)
		return mf_node_equal(o2, p2) ? M2_MATCH : M2_NONE;
	return M2_DROP;
}

/* Merge patch list into orig (a list with merge strategy).  order: the
 * $setElementOrder list, or NULL. */
static int merge_list(struct smp_ctx *c, struct mf_node *orig, const struct mf_node *patch,
		      const struct mf_node *order, const struct mf_smp_list_meta *meta)
{
	const char *key = meta->key;
	bool kyaml = c->flags & MF_SMP_KUSTOMIZE;
	long *rank = NULL, *server = NULL;
	size_t i, j, n_server, alloc = 0, cap;
	struct mf_node *v = NULL;
	int rc = GS_OK;

	if (key) {
		/* $patch: replace anywhere in the list replaces the whole list */
		for (i = 0; i < mf_node_len(patch); i++) {
			const char *d = directive_of(mf_node_at(patch, i));
			if (d && !strcmp(d, "replace")) {
				if ((rc = replace_list(c, patch, &v)) < 0)
					return rc;
				mf_node_move(orig, v);
				return GS_OK;
			}
		}
		/* $patch: delete removes every item with that key */
		for (i = 0; i < mf_node_len(patch); i++) {
			const struct mf_node *item = mf_node_at(patch, i), *kv;
			const char *d = directive_of(item);
			if (!has_directive(item))
				continue;
			if (!d || (strcmp(d, "delete") && strcmp(d, "merge")))
				return fail(c, GS_EINVAL, item, "'%s': unknown $patch directive '%s'",
					    path_str(c), d ? d : "(not a string)");
			if (strcmp(d, "delete"))
				continue;
			if (!(kv = mf_node_get(item, key)))
				return fail(c, GS_EINVAL, item,
					    "cannot delete from '%s': missing merge key '%s'",
					    path_str(c), key);
			for (j = mf_node_len(orig); j > 0; j--) {
				const struct mf_node *o = mf_node_at(orig, j - 1);

				if (!key_equal(item_key(o, key), kv))
					continue;
				/* kyaml keys ports by port and protocol: a delete
				 * without the protocol names no port that has one */
				if (kyaml && meta->key2 &&
				    match_secondary(o, item, meta->key2) != M2_MATCH)
					continue;
				mf_node_remove_at(orig, j - 1);
			}
		}
	}

	n_server = mf_node_len(orig);
	cap = n_server + mf_node_len(patch);
	GS_ALLOC_GROW(rank, cap + 1, alloc);
	server = gs_malloc((cap + 1) * sizeof(*server));
	for (i = 0; i < n_server; i++) {
		rank[i] = -1;
		server[i] = (long)i;
	}
	if (!key) {
		/* a list of scalars: union, first occurrence kept */
		for (i = n_server; i > 1; i--)
			for (j = 0; j < i - 1; j++)
				if (mf_node_equal(mf_node_at(orig, i - 1), mf_node_at(orig, j))) {
					mf_node_remove_at(orig, i - 1);
					break;
				}
		n_server = mf_node_len(orig);
		for (i = 0; i < n_server; i++) {
			rank[i] = -1;
			server[i] = (long)i;
		}
	}

	for (i = 0; i < mf_node_len(patch); i++) {
		const struct mf_node *item = mf_node_at(patch, i), *kv;
		struct mf_node *target = NULL;
		size_t at = 0;
		bool drop = false;

		if (key && has_directive(item)) {
			const char *d = directive_of(item);
			if (strcmp(d, "merge"))
				continue; /* delete, handled above */
		}
		if (key) {
			if (mf_node_type(item) != MF_MAP) {
				rc = fail(c, GS_EINVAL, item,
					  "cannot merge '%s': list item is a %s, not a map",
					  path_str(c), mf_node_type_name(mf_node_type(item)));
				goto cleanup;
			}
			if (!(kv = mf_node_get(item, key))) {
				rc = fail(c, GS_EINVAL, item,
					  "cannot merge '%s': missing merge key '%s'", path_str(c),
					  key);
				goto cleanup;
			}
		} else {
			kv = item;
		}
		if (kyaml && key) {
			/* kyaml merges the first patch item of a key only */
			bool seen = false;

			for (j = 0; j < i && !seen; j++) {
				const struct mf_node *q = mf_node_at(patch, j);

				seen = !has_directive(q) && key_equal(item_key(q, key), kv) &&
				       (!meta->key2 || match_secondary(q, item, meta->key2) == M2_MATCH);
			}
			if (seen)
				continue;
		}
		for (j = 0; j < mf_node_len(orig); j++) {
			struct mf_node *o = mf_node_at(orig, j);
			if (!key_equal(item_key(o, key), kv))
				continue;
			if (kyaml && key && meta->key2) {
				enum match2 m = match_secondary(o, item, meta->key2);
				if (m == M2_NONE)
					continue;
				if (m == M2_DROP) {
					drop = true;
					break;
				}
			}
			target = o;
			at = j;
			break;
		}
		if (drop)
			continue;
		if (target) {
			if (key && (rc = merge_map(c, target, item)) < 0)
				goto cleanup;
			if (rank[at] < 0)
				rank[at] = (long)i;
			continue;
		}
		if ((rc = clean_value(c, item, &v)) < 0)
			goto cleanup;
		if (!v)
			continue;
		mf_node_append(orig, v);
		v = NULL; /* now owned by orig */
		rank[mf_node_len(orig) - 1] = (long)i;
		server[mf_node_len(orig) - 1] = -1;
	}

	if (order) {
		/* $setElementOrder: the rank is the position in the order list */
		for (j = 0; j < mf_node_len(orig); j++) {
			const struct mf_node *kv = item_key(mf_node_at(orig, j), key);
			rank[j] = -1;
			for (i = 0; i < mf_node_len(order); i++)
				if (key_equal(item_key(mf_node_at(order, i), key), kv)) {
					rank[j] = (long)i;
					break;
				}
		}
	}
	reorder(orig, rank, server, kyaml && !order);
cleanup:
	mf_node_free(v);
	free(rank);
	free(server);
	return rc;
}

/* Copy a patch value that has nothing to merge with.  *out NULL when the
 * value deletes itself ($patch: delete on a map). */
static int clean_value(struct smp_ctx *c, const struct mf_node *pv, struct mf_node **out)
{
	struct mf_node *n = NULL;
	struct mf_smp_list_meta meta;
	int rc = GS_OK;

	*out = NULL;
	switch (mf_node_type(pv)) {
	case MF_MAP:
		n = mf_node_new(MF_MAP);
		mf_node_set_pos(n, mf_node_pos(pv));
		rc = merge_map(c, n, pv);
		if (rc == SMP_DELETE) {
			rc = GS_OK;
			goto cleanup;
		}
		break;
	case MF_SEQ:
		mf_smp_schema_lookup(&meta, c->schema, c->group, c->kind, c->path.ptr);
		if (!meta.merge)
			return replace_list(c, pv, out);
		n = mf_node_new(MF_SEQ);
		mf_node_set_pos(n, mf_node_pos(pv));
		rc = merge_list(c, n, pv, NULL, &meta);
		break;
	default:
		n = mf_node_clone(pv);
		break;
	}
	if (rc < 0)
		goto cleanup;
	*out = n;
	n = NULL;
cleanup:
	mf_node_free(n);
	return rc;
}

/* Merge one key of patch into orig (path already names the key). */
static int merge_field(struct smp_ctx *c, struct mf_node *orig, const char *k,
		       const struct mf_node *pv)
{
	struct mf_node *ov = mf_node_get(orig, k), *nv = NULL;
	struct mf_smp_list_meta meta;
	int rc;

	if (mf_node_type(pv) == MF_NULL) {
		mf_node_remove(orig, k);
		return GS_OK;
	}
	if (mf_node_type(ov) == MF_MAP && mf_node_type(pv) == MF_MAP) {
		rc = merge_map(c, ov, pv);
		if (rc == SMP_DELETE) {
			mf_node_remove(orig, k);
			rc = GS_OK;
		}
		return rc;
	}
	if (mf_node_type(ov) == MF_SEQ && mf_node_type(pv) == MF_SEQ) {
		mf_smp_schema_lookup(&meta, c->schema, c->group, c->kind, c->path.ptr);
		if (meta.merge)
			return merge_list(c, ov, pv, NULL, &meta);
	}
	/* absent, of another type, a scalar, or a list the patch replaces */
	if ((rc = clean_value(c, pv, &nv)) < 0)
		return rc;
	if (nv)
		mf_node_set(orig, k, nv);
	else
		mf_node_remove(orig, k);
	return GS_OK;
}

/* $setElementOrder/<field>: merge the field's list (if the patch has one)
 * and put the result in the given order. */
static int merge_ordered(struct smp_ctx *c, struct mf_node *orig, const char *field,
			 const struct mf_node *order, const struct mf_node *plist)
{
	struct mf_node *ov = mf_node_get(orig, field), *empty = NULL;
	struct mf_smp_list_meta meta;
	int rc = GS_OK;

	if (mf_node_type(order) != MF_SEQ)
		return fail(c, GS_EINVAL, order, "'%s%s' must be a list", SET_ORDER_PREFIX, field);
	if (plist && mf_node_type(plist) == MF_NULL) {
		mf_node_remove(orig, field);
		return GS_OK;
	}
	if (plist && mf_node_type(plist) != MF_SEQ)
		return merge_field(c, orig, field, plist);
	mf_smp_schema_lookup(&meta, c->schema, c->group, c->kind, c->path.ptr);
	if (!meta.merge) {
		/* a replaced list is already in the patch's order */
		return plist ? merge_field(c, orig, field, plist) : GS_OK;
	}
	if (mf_node_type(ov) != MF_SEQ) {
		if (!plist)
			return GS_OK;
		ov = mf_node_new(MF_SEQ);
		mf_node_set(orig, field, ov);
	}
	if (!plist)
		plist = empty = mf_node_new(MF_SEQ);
	rc = merge_list(c, ov, plist, order, &meta);
	mf_node_free(empty);
	return rc;
}

static bool in_string_list(const struct mf_node *list, const char *s)
{
	size_t i;

	for (i = 0; i < mf_node_len(list); i++) {
		const char *x = mf_node_str(mf_node_at(list, i));
		if (x && !strcmp(x, s))
			return true;
	}
	return false;
}

static int apply_retain_keys(struct smp_ctx *c, struct mf_node *orig, const struct mf_node *patch,
			     const struct mf_node *keys)
{
	size_t i;

	if (mf_node_type(keys) != MF_SEQ)
		return fail(c, GS_EINVAL, keys, "'%s': $retainKeys must be a list", path_str(c));
	for (i = 0; i < mf_node_len(patch); i++) {
		const char *k = mf_node_key(patch, i);
		if (k[0] == '$' || mf_node_type(mf_node_at(patch, i)) == MF_NULL)
			continue;
		if (!in_string_list(keys, k))
			return fail(c, GS_EINVAL, mf_node_at(patch, i),
				    "'%s': field '%s' is not listed in $retainKeys", path_str(c), k);
	}
	for (i = mf_node_len(orig); i > 0; i--)
		if (!in_string_list(keys, mf_node_key(orig, i - 1)))
			mf_node_remove_at(orig, i - 1);
	return GS_OK;
}

static void delete_from_primitive_list(struct mf_node *orig, const char *field,
				       const struct mf_node *del)
{
	struct mf_node *list = mf_node_get(orig, field);
	size_t i, j;

	if (mf_node_type(list) != MF_SEQ || mf_node_type(del) != MF_SEQ)
		return;
	for (i = mf_node_len(list); i > 0; i--)
		for (j = 0; j < mf_node_len(del); j++)
			if (mf_node_equal(mf_node_at(list, i - 1), mf_node_at(del, j))) {
				mf_node_remove_at(list, i - 1);
				break;
			}
}

static int merge_map(struct smp_ctx *c, struct mf_node *orig, const struct mf_node *patch)
{
	bool kyaml = c->flags & MF_SMP_KUSTOMIZE;
	const struct mf_node *d;
	size_t i, old;
	int rc = GS_OK;

	if (++c->depth > SMP_MAX_DEPTH) {
		rc = fail(c, GS_ELIMIT, patch, "'%s': nested too deeply", path_str(c));
		goto out;
	}
	if ((d = mf_node_get(patch, DIRECTIVE)) != NULL) {
		const char *s = mf_node_str(d);
		if (s && !strcmp(s, "delete")) {
			rc = SMP_DELETE;
			goto out;
		} else if (s && !strcmp(s, "replace")) {
			mf_node_clear(orig); /* then merge into nothing */
		} else if (!s || strcmp(s, "merge")) {
			rc = fail(c, GS_EINVAL, d, "'%s': unknown $patch directive '%s'",
				  path_str(c), s ? s : "(not a string)");
			goto out;
		}
	}
	if (!kyaml && (d = mf_node_get(patch, RETAIN_KEYS)) != NULL &&
	    (rc = apply_retain_keys(c, orig, patch, d)) < 0)
		goto out;

	/* deletions from scalar lists first, so that an explicit add wins */
	for (i = 0; i < mf_node_len(patch); i++) {
		const char *k = mf_node_key(patch, i);
		if (starts_with(k, DELETE_PRIMITIVE_PREFIX))
			delete_from_primitive_list(orig, k + strlen(DELETE_PRIMITIVE_PREFIX),
						   mf_node_at(patch, i));
	}
	for (i = 0; i < mf_node_len(patch); i++) {
		const char *k = mf_node_key(patch, i);
		const char *field;
		if (!starts_with(k, SET_ORDER_PREFIX))
			continue;
		field = k + strlen(SET_ORDER_PREFIX);
		old = path_push(c, field);
		rc = merge_ordered(c, orig, field, mf_node_at(patch, i), mf_node_get(patch, field));
		path_pop(c, old);
		if (rc < 0)
			goto out;
	}
	for (i = 0; i < mf_node_len(patch); i++) {
		const char *k = mf_node_key(patch, i);
		char *order_key;
		bool ordered;

		if (!strcmp(k, DIRECTIVE) || starts_with(k, SET_ORDER_PREFIX) ||
		    starts_with(k, DELETE_PRIMITIVE_PREFIX) || (!kyaml && !strcmp(k, RETAIN_KEYS)))
			continue;
		order_key = gs_asprintf("%s%s", SET_ORDER_PREFIX, k);
		ordered = mf_node_index(patch, order_key) >= 0;
		free(order_key);
		if (ordered)
			continue; /* merged with its $setElementOrder above */
		old = path_push(c, k);
		rc = merge_field(c, orig, k, mf_node_at(patch, i));
		path_pop(c, old);
		if (rc < 0)
			goto out;
	}
out:
	c->depth--;
	return rc;
}

/* kyaml merge2 walks every map of the patched object and every list it
 * merges by key, not only what the patch names; on the way it drops
 * fields written as nothing (`key:`), items without their merge key, and
 * repeated keys: the last item of a key takes the place of the first
 * (kyaml's appendListNode), so a patch merged into the first is lost. */
static bool same_item_key(const struct mf_node *a, const struct mf_node *b,
			  const struct mf_smp_list_meta *meta)
{
	if (!key_equal(item_key(a, meta->key), item_key(b, meta->key)))
		return false;
	return !meta->key2 || match_secondary(a, b, meta->key2) == M2_MATCH;
}

static void kyaml_tidy(struct smp_ctx *c, struct mf_node *n)
{
	struct mf_smp_list_meta meta;
	size_t i, j, old;

	if (c->depth > SMP_MAX_DEPTH)
		return; /* as deep as merge_map goes; leave the rest as it is */
	if (mf_node_type(n) == MF_MAP) {
		for (i = mf_node_len(n); i > 0; i--)
			if (mf_node_null_implicit(mf_node_at(n, i - 1)))
				mf_node_remove(n, mf_node_key(n, i - 1));
		c->depth++;
		for (i = 0; i < mf_node_len(n); i++) {
			old = path_push(c, mf_node_key(n, i));
			kyaml_tidy(c, mf_node_at(n, i));
			path_pop(c, old);
		}
		c->depth--;
		return;
	}
	if (mf_node_type(n) != MF_SEQ)
		return;
	mf_smp_schema_lookup(&meta, c->schema, c->group, c->kind, c->path.ptr);
	if (!meta.merge || !meta.key)
		return;
	for (i = mf_node_len(n); i > 0; i--) {
		const struct mf_node *kv = item_key(mf_node_at(n, i - 1), meta.key);

		if (mf_node_type(mf_node_at(n, i - 1)) == MF_MAP &&
		    (!kv || mf_node_type(kv) == MF_NULL))
			mf_node_remove_at(n, i - 1);
	}
	for (i = 0; i < mf_node_len(n); i++) {
		size_t last = i;

		for (j = i + 1; j < mf_node_len(n); j++)
			if (same_item_key(mf_node_at(n, i), mf_node_at(n, j), &meta))
				last = j;
		if (last == i)
			continue;
		mf_node_replace_at(n, i, mf_node_take_at(n, last));
		for (j = mf_node_len(n); j > i + 1; j--)
			if (same_item_key(mf_node_at(n, i), mf_node_at(n, j - 1), &meta))
				mf_node_remove_at(n, j - 1);
	}
	c->depth++;
	for (i = 0; i < mf_node_len(n); i++)
		kyaml_tidy(c, mf_node_at(n, i));
	c->depth--;
}

int mf_patch_strategic(struct mf_node *target, const struct mf_node *patch,
		       const struct mf_smp_schema *schema, struct gs_error *err)
{
	struct smp_ctx c = { schema, NULL, NULL, mf_smp_schema_flags(schema), GS_BUF_INIT, 0, err };
	const struct mf_node *typed = mf_obj_kind(target) ? target : patch;
	char *group = NULL, *version = NULL;
	struct mf_node *work = NULL;
	int rc;

	if (mf_node_type(target) != MF_MAP)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(target),
				   "strategic merge patch: target is a %s, not a map",
				   mf_node_type_name(mf_node_type(target)));
	if (mf_node_type(patch) != MF_MAP)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(patch),
				   "strategic merge patch: patch is a %s, not a map",
				   mf_node_type_name(mf_node_type(patch)));
	mf_split_api_version(mf_obj_api_version(typed), &group, &version);
	c.group = group;
	c.kind = mf_obj_kind(typed);
	/* work on a copy so that an error leaves target unchanged */
	work = mf_node_clone(target);
	rc = merge_map(&c, work, patch);
	if (rc == SMP_DELETE) {
		mf_node_clear(work); /* "$patch: delete" on the whole object */
		rc = GS_OK;
	}
	if (rc < 0)
		goto cleanup;
	if (c.flags & MF_SMP_KUSTOMIZE)
		kyaml_tidy(&c, work);
	mf_node_move(target, work);
	work = NULL; /* freed by mf_node_move */
cleanup:
	mf_node_free(work);
	free(group);
	free(version);
	gs_buf_release(&c.path);
	return rc;
}
