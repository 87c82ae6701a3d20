/* mf-set.c - ordered set of objects with O(1) identity lookup.
 *
 * Objects sit in an array in insertion order; a gs_hidx (gs-hash.h) maps
 * the hash of (kind, namespace, name) to array positions.  The group is left out
 * of the hash so that mf_set_find(group NULL) is a lookup too; entries that
 * differ only by group share a probe chain and are told apart by a compare.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-hash.h"
#include "mf-set.h"

struct item {
	struct mf_node *obj;
	struct mf_id id;
	uint64_t hash;
};

struct mf_set {
	struct item *v;
	size_t n, alloc;
	struct gs_hidx idx;
};

static uint64_t id_hash(const char *kind, const char *ns, const char *name)
{
	return gs_fnv1a_field(gs_fnv1a_field(gs_fnv1a_field(GS_FNV1A_INIT, kind), ns), name);
}

struct mf_set *mf_set_new(void)
{
	return gs_calloc(1, sizeof(struct mf_set));
}

void mf_set_free(struct mf_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		mf_node_free(s->v[i].obj);
		mf_id_release(&s->v[i].id);
	}
	free(s->v);
	gs_hidx_release(&s->idx);
	free(s);
}

size_t mf_set_len(const struct mf_set *s)
{
	return s ? s->n : 0;
}

struct mf_node *mf_set_at(const struct mf_set *s, size_t i)
{
	return (s && i < s->n) ? s->v[i].obj : NULL;
}

/* positions shifted or ids changed: index every item again */
static void rebuild(struct mf_set *s)
{
	size_t i;

	gs_hidx_clear(&s->idx);
	for (i = 0; i < s->n; i++)
		gs_hidx_put(&s->idx, s->v[i].hash, i);
}

/* Index of the first item with this identity (group NULL: any), or -1. */
static ptrdiff_t lookup(const struct mf_set *s, const char *group, const char *kind,
			const char *ns, const char *name)
{
	size_t it = 0, pos, best = SIZE_MAX;
	uint64_t h = id_hash(kind, ns, name);

	while ((pos = gs_hidx_next(&s->idx, h, &it)) != SIZE_MAX) {
		const struct item *e = &s->v[pos];

		if (strcmp(e->id.kind, kind) || strcmp(e->id.ns, ns) || strcmp(e->id.name, name) ||
		    (group && strcmp(e->id.group, group)))
			continue;
		/* several groups may match a NULL group: the first added wins */
		if (pos < best)
			best = pos;
	}
	return best == SIZE_MAX ? -1 : (ptrdiff_t)best;
}

static void pos_str(char *buf, size_t n, const struct mf_node *obj)
{
	const struct mf_pos *p = mf_node_pos(obj);

	if (p->file && p->line)
		snprintf(buf, n, "%s:%u", p->file, p->line);
	else if (p->file)
		snprintf(buf, n, "%s", p->file);
	else
		snprintf(buf, n, "(unknown)");
}

int mf_set_add(struct mf_set *s, struct mf_node *obj, struct gs_error *err)
{
	struct item it = { obj, MF_ID_INIT, 0 };
	ptrdiff_t dup;
	int rc = GS_OK;

	mf_id_from_object(&it.id, obj);
	dup = lookup(s, it.id.group, it.id.kind, it.id.ns, it.id.name);
	if (dup >= 0) {
		char first[300], second[300];
		char *ids = mf_id_str(&it.id);

		pos_str(first, sizeof(first), s->v[dup].obj);
		pos_str(second, sizeof(second), obj);
		rc = gs_error_at(err, GS_ECONFLICT, mf_node_pos(obj),
				 "may not add resource with an already registered id: %s "
				 "(first at %s, again at %s)",
				 ids, first, second);
		free(ids);
		mf_id_release(&it.id);
		mf_node_free(obj);
		return rc;
	}
	it.hash = id_hash(it.id.kind, it.id.ns, it.id.name);
	GS_ALLOC_GROW(s->v, s->n + 1, s->alloc);
	s->v[s->n++] = it;
	gs_hidx_put(&s->idx, it.hash, s->n - 1);
	return GS_OK;
}

struct mf_node *mf_set_find(const struct mf_set *s, const char *group, const char *kind,
			    const char *ns, const char *name)
{
	ptrdiff_t i;

	if (!s || !kind)
		return NULL;
	i = lookup(s, group, kind, ns ? ns : "", name ? name : "");
	return i < 0 ? NULL : s->v[i].obj;
}

struct mf_node *mf_set_take(struct mf_set *s, size_t i)
{
	struct mf_node *obj;

	if (!s || i >= s->n)
		return NULL;
	obj = s->v[i].obj;
	mf_id_release(&s->v[i].id);
	memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
	s->n--;
	/* the index holds array positions, which just shifted */
	rebuild(s);
	return obj;
}

void mf_set_reindex(struct mf_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		mf_id_release(&s->v[i].id);
		mf_id_from_object(&s->v[i].id, s->v[i].obj);
		s->v[i].hash = id_hash(s->v[i].id.kind, s->v[i].id.ns, s->v[i].id.name);
	}
	rebuild(s);
}
