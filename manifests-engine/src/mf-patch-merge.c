/* mf-patch-merge.c - JSON merge patch (RFC 7386). */
#include "gs-alloc.h"
#include "mf-patch.h"

/* Copy a patch value as the RFC's MergePatch({}, value) would: nulls
 * inside maps vanish.  Returns owned. */
static struct mf_node *clean_copy(const struct mf_node *patch)
{
	struct mf_node *out;
	size_t i;

	if (mf_node_type(patch) != MF_MAP)
		return mf_node_clone(patch);
	out = mf_node_new(MF_MAP);
	mf_node_set_pos(out, mf_node_pos(patch));
	for (i = 0; i < mf_node_len(patch); i++) {
		const struct mf_node *v = mf_node_at(patch, i);
		if (mf_node_type(v) != MF_NULL)
			mf_node_set(out, mf_node_key(patch, i), clean_copy(v));
	}
	return out;
}

/* The RFC's MergePatch(target, patch) on a map target, in place. */
static void merge_map(struct mf_node *target, const struct mf_node *patch)
{
	size_t i;

	for (i = 0; i < mf_node_len(patch); i++) {
		const char *k = mf_node_key(patch, i);
		const struct mf_node *pv = mf_node_at(patch, i);
		struct mf_node *tv;

		if (mf_node_type(pv) == MF_NULL) {
			mf_node_remove(target, k);
			continue;
		}
		tv = mf_node_get(target, k);
		if (mf_node_type(pv) == MF_MAP && mf_node_type(tv) == MF_MAP)
			merge_map(tv, pv);
		else
			mf_node_set(target, k, clean_copy(pv));
	}
}

int mf_patch_merge(struct mf_node *target, const struct mf_node *patch, struct gs_error *err)
{
	(void)err; /* a merge patch cannot fail: any JSON value is a valid patch */
	if (mf_node_type(patch) != MF_MAP) {
		mf_node_move(target, clean_copy(patch));
		return GS_OK;
	}
	if (mf_node_type(target) != MF_MAP)
		mf_node_move(target, mf_node_new(MF_MAP));
	merge_map(target, patch);
	return GS_OK;
}

struct mf_node *mf_patch_merge_diff(const struct mf_node *base, const struct mf_node *target)
{
	struct mf_node *patch;
	size_t i;

	if (mf_node_type(base) != MF_MAP || mf_node_type(target) != MF_MAP)
		return mf_node_equal(base, target) ? NULL : mf_node_clone(target);
	patch = mf_node_new(MF_MAP);
	for (i = 0; i < mf_node_len(target); i++) {
		const char *k = mf_node_key(target, i);
		const struct mf_node *v = mf_node_at(target, i);
		struct mf_node *d;

		if (mf_node_index(base, k) < 0) {
			if (mf_node_type(v) != MF_NULL) /* a null deletes nothing there */
				mf_node_set(patch, k, mf_node_clone(v));
		} else if ((d = mf_patch_merge_diff(mf_node_get(base, k), v))) {
			mf_node_set(patch, k, d);
		}
	}
	for (i = 0; i < mf_node_len(base); i++)
		if (mf_node_index(target, mf_node_key(base, i)) < 0 &&
		    mf_node_type(mf_node_at(base, i)) != MF_NULL)
			mf_node_set(patch, mf_node_key(base, i), mf_node_new_null());
	if (!mf_node_len(patch)) {
		mf_node_free(patch);
		return NULL;
	}
	return patch;
}
