/* kz-fieldspec.c - kustomize field specs: "which field of which kinds" and
 * the walk that reaches those fields (sequences traversed implicitly). */
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"
#include "mf-object.h"

static char *dup_or_null(const char *s)
{
	return s && *s ? gs_strdup(s) : NULL;
}

void kz_fslist_add(struct kz_fslist *l, const char *group, const char *version, const char *kind,
		   const char *path, bool create)
{
	struct kz_fieldspec *f;

	GS_ALLOC_GROW(l->v, l->n + 1, l->alloc);
	f = &l->v[l->n++];
	f->group = dup_or_null(group);
	f->version = dup_or_null(version);
	f->kind = dup_or_null(kind);
	f->path = gs_strdup(path);
	f->create = create;
}

void kz_fslist_release(struct kz_fslist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].group);
		free(l->v[i].version);
		free(l->v[i].kind);
		free(l->v[i].path);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int kz_fslist_add_node(struct kz_fslist *l, const struct mf_node *seq, struct gs_error *err)
{
	size_t i;

	if (mf_node_type(seq) == MF_NULL)
		return GS_OK;
	if (mf_node_type(seq) != MF_SEQ)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(seq), "field specs must be a list");
	for (i = 0; i < mf_node_len(seq); i++) {
		const struct mf_node *e = mf_node_at(seq, i);
		const char *path = mf_node_str(mf_node_get(e, "path"));

		if (mf_node_type(e) != MF_MAP || !path)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(e),
					   "field spec needs a 'path'");
		kz_fslist_add(l, mf_node_str(mf_node_get(e, "group")),
			      mf_node_str(mf_node_get(e, "version")),
			      mf_node_str(mf_node_get(e, "kind")), path,
			      mf_node_bool(mf_node_get(e, "create")));
	}
	return GS_OK;
}

bool kz_fieldspec_matches(const struct kz_fieldspec *fs, const struct mf_node *obj)
{
	const char *av, *slash;

	if (fs->kind && strcmp(fs->kind, mf_obj_kind(obj) ? mf_obj_kind(obj) : ""))
		return false;
	if (!fs->group && !fs->version)
		return true;
	av = mf_obj_api_version(obj);
	if (!av)
		av = "";
	slash = strchr(av, '/');
	if (fs->group) {
		size_t gl = slash ? (size_t)(slash - av) : 0;
		if (strlen(fs->group) != gl || strncmp(fs->group, av, gl))
			return false;
	}
	if (fs->version && strcmp(fs->version, slash ? slash + 1 : av))
		return false;
	return true;
}

/* Split a path on unescaped '/', dropping "[]" list markers. */
static char **split_path(const char *path, size_t *n_out)
{
	char **segs = NULL;
	size_t n = 0, alloc = 0;
	struct gs_buf b = GS_BUF_INIT;
	const char *p;

	for (p = path;; p++) {
		if (*p == '\\' && p[1] == '/') {
			gs_buf_putc(&b, '/');
			p++;
			continue;
		}
		if (*p == '/' || *p == '\0') {
			if (b.len >= 2 && !strcmp(b.ptr + b.len - 2, "[]")) {
				/* "x[]" names a list: keep a marker so the walk never creates it */
				b.ptr[b.len - 2] = '\x01';
				b.len -= 1;
				b.ptr[b.len] = '\0';
			}
			GS_ALLOC_GROW(segs, n + 1, alloc);
			segs[n++] = gs_buf_detach(&b, NULL);
			if (!*p)
				break;
			continue;
		}
		gs_buf_putc(&b, *p);
	}
	*n_out = n;
	return segs;
}

struct walk {
	char **segs;
	size_t n;
	bool create;
	enum mf_type final_type;
	kz_field_cb cb;
	void *payload;
};

static int walk_map(struct walk *w, struct mf_node *map, size_t i, struct gs_error *err);

static int walk_value(struct walk *w, struct mf_node *v, size_t i, struct gs_error *err)
{
	size_t j;
	int rc;

	if (mf_node_type(v) == MF_SEQ) {
		for (j = 0; j < mf_node_len(v); j++)
			if ((rc = walk_value(w, mf_node_at(v, j), i, err)) < 0)
				return rc;
		return GS_OK;
	}
	if (mf_node_type(v) == MF_MAP)
		return walk_map(w, v, i, err);
	return GS_OK;
}

static int walk_map(struct walk *w, struct mf_node *map, size_t i, struct gs_error *err)
{
	char *key = w->segs[i];
	size_t kl = strlen(key);
	bool is_list = kl && key[kl - 1] == '\x01';
	struct mf_node *child;
	bool last = i + 1 == w->n;

	if (is_list) {
		char *k = gs_strndup(key, kl - 1);
		int rc;

		child = mf_node_get(map, k);
		free(k);
		if (!child || mf_node_type(child) != MF_SEQ)
			return GS_OK;
		rc = last ? w->cb(map, key, child, w->payload, err) : walk_value(w, child, i + 1, err);
		return rc;
	}
	child = mf_node_get(map, key);

	if (last) {
		if ((!child || mf_node_type(child) == MF_NULL) && w->create &&
		    w->final_type != MF_NULL) {
			mf_node_set(map, key, mf_node_new(w->final_type));
			child = mf_node_get(map, key);
		}
		if (!child)
			return GS_OK;
		return w->cb(map, key, child, w->payload, err);
	}
	if (!child || mf_node_type(child) == MF_NULL) {
		if (!w->create)
			return GS_OK;
		mf_node_set(map, key, mf_node_new(MF_MAP));
		child = mf_node_get(map, key);
	}
	return walk_value(w, child, i + 1, err);
}

int kz_fieldspec_apply(const struct kz_fieldspec *fs, struct mf_node *obj, enum mf_type final_type,
		       kz_field_cb cb, void *payload, struct gs_error *err)
{
	struct walk w;
	size_t i;
	int rc;

	w.segs = split_path(fs->path, &w.n);
	w.create = fs->create;
	w.final_type = final_type;
	w.cb = cb;
	w.payload = payload;
	rc = w.n ? walk_map(&w, obj, 0, err) : GS_OK;
	for (i = 0; i < w.n; i++)
		free(w.segs[i]);
	free(w.segs);
	return rc;
}
