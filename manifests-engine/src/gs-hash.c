/* gs-hash.c - FNV-1a, gs_hidx and gs_strmap (gs-hash.h). */
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-hash.h"

uint64_t gs_fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t gs_fnv1a_field_n(uint64_t h, const char *s, size_t len)
{
	return (gs_fnv1a(h, s, len) ^ 0xff) * 1099511628211ULL;
}

uint64_t gs_fnv1a_field(uint64_t h, const char *s)
{
	return gs_fnv1a_field_n(h, s ? s : "", s ? strlen(s) : 0);
}

void gs_hidx_release(struct gs_hidx *x)
{
	free(x->hash);
	free(x->pos);
	memset(x, 0, sizeof(*x));
}

void gs_hidx_clear(struct gs_hidx *x)
{
	size_t i;

	for (i = 0; i < x->cap; i++)
		x->pos[i] = SIZE_MAX;
	x->used = 0;
}

static void insert(struct gs_hidx *x, uint64_t h, size_t pos)
{
	size_t i = (size_t)h & (x->cap - 1);

	while (x->pos[i] != SIZE_MAX)
		i = (i + 1) & (x->cap - 1);
	x->hash[i] = h;
	x->pos[i] = pos;
	x->used++;
}

void gs_hidx_put(struct gs_hidx *x, uint64_t h, size_t pos)
{
	if (2 * (x->used + 1) > x->cap) {
		struct gs_hidx old = *x;
		size_t i;

		x->cap = old.cap ? old.cap * 2 : 64;
		x->hash = gs_malloc(x->cap * sizeof(*x->hash));
		x->pos = gs_malloc(x->cap * sizeof(*x->pos));
		gs_hidx_clear(x);
		for (i = 0; i < old.cap; i++)
			if (old.pos[i] != SIZE_MAX)
				insert(x, old.hash[i], old.pos[i]);
		free(old.hash);
		free(old.pos);
	}
	insert(x, h, pos);
}

size_t gs_hidx_next(const struct gs_hidx *x, uint64_t h, size_t *it)
{
	size_t mask = x->cap - 1, i;

	if (!x->cap)
		return SIZE_MAX;
	/* *it counts the slots already probed from h's home slot */
	for (i = ((size_t)h + *it) & mask; x->pos[i] != SIZE_MAX && *it < x->cap;
	     i = (i + 1) & mask) {
		++*it;
		if (x->hash[i] == h)
			return x->pos[i];
	}
	return SIZE_MAX;
}

void gs_strmap_release(struct gs_strmap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	gs_hidx_release(&m->idx);
	memset(m, 0, sizeof(*m));
}

size_t *gs_strmap_get(const struct gs_strmap *m, const char *key)
{
	uint64_t h = gs_fnv1a(GS_FNV1A_INIT, key, strlen(key));
	size_t it = 0, pos;

	while ((pos = gs_hidx_next(&m->idx, h, &it)) != SIZE_MAX)
		if (!strcmp(m->keys[pos], key))
			return &m->vals[pos];
	return NULL;
}

void gs_strmap_put(struct gs_strmap *m, const char *key, size_t val)
{
	size_t *v = gs_strmap_get(m, key);

	if (v) {
		*v = val;
		return;
	}
	GS_ALLOC_GROW(m->keys, m->n + 1, m->alloc);
	m->vals = gs_realloc(m->vals, m->alloc * sizeof(*m->vals));
	m->keys[m->n] = gs_strdup(key);
	m->vals[m->n] = val;
	gs_hidx_put(&m->idx, gs_fnv1a(GS_FNV1A_INIT, key, strlen(key)), m->n);
	m->n++;
}
