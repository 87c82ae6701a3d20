/* app-view.c - comparisons as plain data (app-view.h). */
#include "app/app-view.h"

#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-diff.h"
#include "mf-json.h"

/* ---- drift attribution: who set a drifted field (managedFields) ---- */

/* The fieldsV1 key ("k:{...}" or "v:...") of list element el under fv, or
 * NULL: a key whose JSON object's entries all equal el's (merge keys). */
static const char *list_key(const struct mf_node *fv, const struct mf_node *el)
{
	size_t i, j;

	for (i = 0; i < mf_node_len(fv); i++) {
		const char *k = mf_node_key(fv, i);
		struct gs_error err = GS_ERROR_INIT;
		struct mf_node *keys = NULL;
		bool match = false;

		if (!k || (strncmp(k, "k:", 2) && strncmp(k, "v:", 2)))
			continue;
		if (mf_json_parse(&keys, k + 2, strlen(k + 2), "managedFields", &err) == GS_OK) {
			if (k[0] == 'v') {
				match = mf_node_equal(keys, el);
			} else if (mf_node_type(keys) == MF_MAP && mf_node_type(el) == MF_MAP) {
				match = true;
				for (j = 0; j < mf_node_len(keys) && match; j++)
					match = mf_node_equal(mf_node_at(keys, j),
							      mf_node_get(el, mf_node_key(keys, j)));
			}
		}
		mf_node_free(keys);
		if (match)
			return k;
	}
	return NULL;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

struct drift_walk {
	const struct mf_node *managed; /* metadata.managedFields */
	struct mf_node *out;           /* seq of {path, value, manager, time} */
	const char *fkeys[64];         /* fieldsV1 path of the current node */
	size_t depth;
};

/* The manager owning the current fieldsV1 path (the deepest owner of a
 * prefix when none owns the whole: an atomic map or list). */
static const struct mf_node *owner(const struct drift_walk *w)
{
	const struct mf_node *best = NULL;
	size_t i, d, best_d = 0;

	for (i = 0; i < mf_node_len(w->managed); i++) {
		const struct mf_node *e = mf_node_at(w->managed, i);
		const struct mf_node *fv = mf_node_get(e, "fieldsV1");

		for (d = 0; d < w->depth && fv; d++)
			fv = mf_node_get(fv, w->fkeys[d]);
		if (!fv)
			continue;
		if (d == w->depth && (!best || d >= best_d)) {
			best = e;
			best_d = d;
		}
	}
	return best;
}

static void drift_leaf(struct drift_walk *w, const char *path, const struct mf_node *live)
{
	const struct mf_node *e = owner(w);
	struct mf_node *m = mf_node_new(MF_MAP);
	struct gs_buf v = GS_BUF_INIT;

	mf_json_emit(&v, live, 0);
	mf_node_set_str_value(m, "path", path);
	mf_node_set_str_value(m, "value", v.ptr ? v.ptr : "");
	mf_node_set_str_value(m, "manager", e ? or_empty(mf_node_dig_str(e, "manager", NULL))
					      : "");
	mf_node_set_str_value(m, "time", e ? or_empty(mf_node_dig_str(e, "time", NULL)) : "");
	mf_node_append(w->out, m);
	gs_buf_release(&v);
}

/* Walk desired and live together; each leaf where they differ is a drift. */
static void drift_walk(struct drift_walk *w, const struct mf_node *want, const struct mf_node *live,
		       const char *path)
{
	size_t i, j;

	if (!live || mf_node_equal(want, live) || w->depth >= 63)
		return;
	if (mf_node_type(want) == MF_MAP && mf_node_type(live) == MF_MAP) {
		for (i = 0; i < mf_node_len(want); i++) {
			const char *k = mf_node_key(want, i);
			char *fk = k ? gs_asprintf("f:%s", k) : NULL;
			char *sub;

			if (!fk || (!w->depth && !strcmp(k, "status"))) {
				free(fk);
				continue;
			}
			sub = *path ? gs_asprintf("%s.%s", path, k) : gs_strdup(k);
			w->fkeys[w->depth++] = fk;
			drift_walk(w, mf_node_at(want, i), mf_node_get(live, k), sub);
			w->depth--;
			free(fk);
			free(sub);
		}
		return;
	}
	if (mf_node_type(want) == MF_SEQ && mf_node_type(live) == MF_SEQ) {
		/* elements by their merge keys, as managedFields name them */
		bool keyed = mf_node_len(want) > 0;
		const struct mf_node *fv = NULL;

		for (i = 0; i < mf_node_len(w->managed) && !fv; i++) {
			const struct mf_node *f = mf_node_get(mf_node_at(w->managed, i), "fieldsV1");

			for (j = 0; j < w->depth && f; j++)
				f = mf_node_get(f, w->fkeys[j]);
			for (j = 0; f && j < mf_node_len(want); j++)
				if (!list_key(f, mf_node_at(want, j)))
					f = NULL;
			fv = f;
		}
		keyed = keyed && fv;
		for (i = 0; keyed && i < mf_node_len(want); i++) {
			const struct mf_node *el = mf_node_at(want, i);
			const char *k = list_key(fv, el);
			const struct mf_node *lel = NULL;
			char *sub;

			for (j = 0; j < mf_node_len(live) && !lel; j++)
				if (list_key(fv, mf_node_at(live, j)) == k)
					lel = mf_node_at(live, j);
			sub = gs_asprintf("%s[%s]", path,
					  mf_node_dig_str(el, "name", NULL) ? mf_node_dig_str(el, "name", NULL)
									    : k + 2);
			w->fkeys[w->depth++] = k;
			drift_walk(w, el, lel, sub);
			w->depth--;
			free(sub);
		}
		if (keyed)
			return;
	}
	drift_leaf(w, path, live);
}

/* [{path, value, manager, time}] of the fields of r that differ from
 * desired (NULL when r has no managedFields). */
static struct mf_node *drift_of(const struct sync_resource *r)
{
	struct drift_walk w;

	if (!r->managed_fields || !r->live || !r->target || r->status == SYNC_STATUS_PRUNE)
		return NULL;
	memset(&w, 0, sizeof(w));
	w.managed = r->managed_fields;
	w.out = mf_node_new(MF_SEQ);
	drift_walk(&w, r->target, r->live, "");
	if (!strcmp(r->kind, "Secret")) {
		size_t i;

		for (i = 0; i < mf_node_len(w.out); i++) /* as the diff masks them */
			mf_node_set_str_value(mf_node_at(w.out, i), "value", "(masked)");
	}
	return w.out;
}

static struct mf_node *identity(const struct sync_resource *r)
{
	struct mf_node *m = mf_node_new(MF_MAP);

	mf_node_set_str_value(m, "group", r->group);
	mf_node_set_str_value(m, "version", r->version);
	mf_node_set_str_value(m, "kind", r->kind);
	mf_node_set_str_value(m, "namespace", r->ns);
	mf_node_set_str_value(m, "name", r->name);
	mf_node_set_str_value(m, "status", sync_status_str(r->status));
	return m;
}

struct mf_node *app_view_rows(const struct sync_report *rep)
{
	struct mf_node *rows = mf_node_new(MF_SEQ);
	size_t k;

	for (k = 0; k < rep->n; k++) {
		const struct sync_resource *r = &rep->v[k];
		struct mf_node *m = identity(r);

		mf_node_set_str_value(m, "health", sync_health_str(r->health));
		mf_node_set_str_value(m, "hook", sync_hook_str(r->hook));
		mf_node_set_str_value(m, "message", r->message ? r->message : "");
		mf_node_append(rows, m);
	}
	return rows;
}

struct mf_node *app_view_diffs(const struct sync_report *rep)
{
	struct mf_node *diffs = mf_node_new(MF_SEQ);
	size_t k;

	for (k = 0; k < rep->n; k++) {
		const struct sync_resource *r = &rep->v[k];
		struct gs_buf text = GS_BUF_INIT;
		struct mf_node *m;

		if (r->status == SYNC_STATUS_SYNCED || r->hook)
			continue;
		m = identity(r);
		mf_diff_text(&text, r->live, r->status == SYNC_STATUS_PRUNE ? NULL : r->target, "live",
			     "desired", 0);
		mf_node_set_str_value(m, "diff", text.ptr);
		gs_buf_release(&text);
		{
			struct mf_node *drift = drift_of(r);

			if (mf_node_len(drift))
				mf_node_set(m, "drift", drift);
			else
				mf_node_free(drift);
		}
		mf_node_append(diffs, m);
	}
	return diffs;
}

struct mf_node *app_view_comparison(const struct sync_report *rep, const char *revision)
{
	struct mf_node *c = mf_node_new(MF_MAP);

	if (revision)
		mf_node_set_str_value(c, "revision", revision);
	mf_node_set_str_value(c, "sync", app_sync_status_str(rep->status));
	mf_node_set_str_value(c, "health", app_health_str(rep->health));
	mf_node_set(c, "resources", app_view_rows(rep));
	return c;
}
