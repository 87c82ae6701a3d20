/* mf-node.c - the object model (see mf-node.h). */
#include "mf-node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-yaml-private.h"

struct mf_node {
	enum mf_type type;
	bool b;
	struct mf_pos pos;
	char *s;      /* scalar text (STR/INT/FLOAT), owned, NUL-terminated */
	size_t slen;
	size_t n, alloc;
	struct mf_node **items; /* seq items / map values */
	char **keys;            /* map keys, parallel to items */
};

struct mf_node *mf_node_new(enum mf_type type)
{
	struct mf_node *n = gs_calloc(1, sizeof(*n));

	n->type = type;
	if (type == MF_STR || type == MF_INT || type == MF_FLOAT) {
		n->s = gs_strdup(type == MF_STR ? "" : "0");
		n->slen = strlen(n->s);
	}
	return n;
}

struct mf_node *mf_node_new_null(void)
{
	return mf_node_new(MF_NULL);
}

struct mf_node *mf_node_new_bool(bool v)
{
	struct mf_node *n = mf_node_new(MF_BOOL);
	n->b = v;
	return n;
}

struct mf_node *mf_node_new_strn(const char *s, size_t len)
{
	struct mf_node *n = gs_calloc(1, sizeof(*n));

	n->type = MF_STR;
	n->s = gs_strndup(s, len);
	n->slen = len;
	return n;
}

struct mf_node *mf_node_new_str(const char *s)
{
	return mf_node_new_strn(s, strlen(s));
}

struct mf_node *mf_node_new_number(enum mf_type type, const char *text, size_t len)
{
	struct mf_node *n = mf_node_new_strn(text, len);
	n->type = type;
	return n;
}

struct mf_node *mf_node_new_int(long long v)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%lld", v);
	return mf_node_new_number(MF_INT, tmp, (size_t)len);
}

void mf_node_free(struct mf_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++) {
		mf_node_free(n->items[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->s);
	free(n);
}

struct mf_node *mf_node_clone(const struct mf_node *n)
{
	struct mf_node *c;
	size_t i;

	if (!n)
		return NULL;
	c = gs_calloc(1, sizeof(*c));
	c->type = n->type;
	c->b = n->b;
	c->pos = n->pos;
	if (n->s) {
		c->s = gs_strndup(n->s, n->slen);
		c->slen = n->slen;
	}
	if (n->n) {
		c->alloc = c->n = n->n;
		c->items = gs_malloc(n->n * sizeof(*c->items));
		if (n->type == MF_MAP)
			c->keys = gs_malloc(n->n * sizeof(*c->keys));
		for (i = 0; i < n->n; i++) {
			c->items[i] = mf_node_clone(n->items[i]);
			if (c->keys)
				c->keys[i] = gs_strdup(n->keys[i]);
		}
	}
	return c;
}

enum mf_type mf_node_type(const struct mf_node *n)
{
	return n ? n->type : MF_NULL;
}

const char *mf_node_type_name(enum mf_type t)
{
	switch (t) {
	case MF_NULL: return "null";
	case MF_BOOL: return "boolean";
	case MF_INT: return "integer";
	case MF_FLOAT: return "number";
	case MF_STR: return "string";
	case MF_SEQ: return "list";
	case MF_MAP: return "map";
	}
	return "unknown";
}

bool mf_node_is_scalar(const struct mf_node *n)
{
	return n && n->type != MF_SEQ && n->type != MF_MAP;
}

static const struct mf_pos no_pos = { NULL, 0, 0 };

const struct mf_pos *mf_node_pos(const struct mf_node *n)
{
	return n ? &n->pos : &no_pos;
}

void mf_node_set_pos(struct mf_node *n, const struct mf_pos *pos)
{
	if (n && pos)
		n->pos = *pos;
}

void mf_node_set_pos_deep(struct mf_node *n, const struct mf_pos *pos)
{
	size_t i;

	if (!n || !pos)
		return;
	if (!n->pos.file && !n->pos.line)
		n->pos = *pos;
	for (i = 0; i < n->n; i++)
		mf_node_set_pos_deep(n->items[i], pos);
}

const char *mf_node_str(const struct mf_node *n)
{
	if (!n)
		return NULL;
	switch (n->type) {
	case MF_STR:
	case MF_INT:
	case MF_FLOAT:
		return n->s;
	case MF_BOOL:
		return n->b ? "true" : "false";
	default:
		return NULL;
	}
}

size_t mf_node_strlen(const struct mf_node *n)
{
	const char *s = mf_node_str(n);
	if (!s)
		return 0;
	return n->s ? n->slen : strlen(s);
}

bool mf_node_bool(const struct mf_node *n)
{
	return n && n->type == MF_BOOL && n->b;
}

int mf_node_int(const struct mf_node *n, long long *out)
{
	char buf[32], *end;
	long long v;

	if (!n || n->type != MF_INT)
		return GS_EINVAL;
	/* the parser accepts go-yaml's spellings (1_000, 0o17, 0b101, +5):
	 * read the canonical decimal, not what strtoll happens to know */
	if (!mf_yaml_int_canonical(n->s, n->slen, buf, sizeof(buf)))
		return GS_EINVAL;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || *end)
		return GS_EINVAL;
	*out = v;
	return GS_OK;
}

void mf_node_set_strn(struct mf_node *n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n->n; i++) {
		mf_node_free(n->items[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	n->items = NULL;
	n->keys = NULL;
	n->n = n->alloc = 0;
	char *c = gs_strndup(s, len); /* s may point into n->s */
	free(n->s);
	n->s = c;
	n->slen = len;
	n->type = MF_STR;
}

void mf_node_set_str(struct mf_node *n, const char *s)
{
	mf_node_set_strn(n, s, strlen(s));
}

size_t mf_node_len(const struct mf_node *n)
{
	return (n && (n->type == MF_SEQ || n->type == MF_MAP)) ? n->n : 0;
}

struct mf_node *mf_node_at(const struct mf_node *n, size_t i)
{
	return (n && i < n->n) ? n->items[i] : NULL;
}

const char *mf_node_key(const struct mf_node *n, size_t i)
{
	return (n && n->type == MF_MAP && i < n->n) ? n->keys[i] : NULL;
}

ptrdiff_t mf_node_index(const struct mf_node *map, const char *key)
{
	size_t i;

	if (!map || map->type != MF_MAP)
		return -1;
	for (i = 0; i < map->n; i++)
		if (!strcmp(map->keys[i], key))
			return (ptrdiff_t)i;
	return -1;
}

struct mf_node *mf_node_get(const struct mf_node *map, const char *key)
{
	ptrdiff_t i = mf_node_index(map, key);
	return i < 0 ? NULL : map->items[i];
}

static struct mf_node *dig_va(const struct mf_node *n, va_list ap)
{
	const char *k;

	while (n && (k = va_arg(ap, const char *)) != NULL)
		n = mf_node_get(n, k);
	return (struct mf_node *)n;
}

struct mf_node *mf_node_dig(const struct mf_node *n, ...)
{
	va_list ap;
	struct mf_node *r;

	va_start(ap, n);
	r = dig_va(n, ap);
	va_end(ap);
	return r;
}

const char *mf_node_dig_str(const struct mf_node *n, ...)
{
	va_list ap;
	struct mf_node *r;

	va_start(ap, n);
	r = dig_va(n, ap);
	va_end(ap);
	return (r && r->type == MF_STR) ? r->s : NULL;
}

static void make_room(struct mf_node *n, size_t need)
{
	if (need <= n->alloc)
		return;
	size_t na = n->alloc < 4 ? 4 : n->alloc * 2;
	if (na < need)
		na = need;
	n->items = gs_realloc(n->items, na * sizeof(*n->items));
	if (n->type == MF_MAP)
		n->keys = gs_realloc(n->keys, na * sizeof(*n->keys));
	n->alloc = na;
}

void mf_node_insert_kv(struct mf_node *map, size_t i, const char *key, struct mf_node *val)
{
	if (i > map->n)
		i = map->n;
	make_room(map, map->n + 1);
	memmove(map->items + i + 1, map->items + i, (map->n - i) * sizeof(*map->items));
	memmove(map->keys + i + 1, map->keys + i, (map->n - i) * sizeof(*map->keys));
	map->items[i] = val;
	map->keys[i] = gs_strdup(key);
	map->n++;
}

void mf_node_set(struct mf_node *map, const char *key, struct mf_node *val)
{
	ptrdiff_t i = mf_node_index(map, key);

	if (i >= 0) {
		mf_node_free(map->items[i]);
		map->items[i] = val;
		return;
	}
	mf_node_insert_kv(map, map->n, key, val);
}

void mf_node_set_str_value(struct mf_node *map, const char *key, const char *s)
{
	mf_node_set(map, key, mf_node_new_str(s));
}

struct mf_node *mf_node_ensure(struct mf_node *map, const char *key, enum mf_type type)
{
	struct mf_node *c = mf_node_get(map, key);

	if (c && c->type == type)
		return c;
	c = mf_node_new(type);
	mf_node_set(map, key, c);
	return c;
}

bool mf_node_remove(struct mf_node *map, const char *key)
{
	ptrdiff_t i = mf_node_index(map, key);

	if (i < 0)
		return false;
	mf_node_remove_at(map, (size_t)i);
	return true;
}

void mf_node_rename_key(struct mf_node *map, size_t i, const char *key)
{
	char *k = gs_strdup(key);
	free(map->keys[i]);
	map->keys[i] = k;
}

void mf_node_insert(struct mf_node *seq, size_t i, struct mf_node *item)
{
	if (i > seq->n)
		i = seq->n;
	make_room(seq, seq->n + 1);
	memmove(seq->items + i + 1, seq->items + i, (seq->n - i) * sizeof(*seq->items));
	seq->items[i] = item;
	seq->n++;
}

void mf_node_append(struct mf_node *seq, struct mf_node *item)
{
	mf_node_insert(seq, seq->n, item);
}

void mf_node_replace_at(struct mf_node *n, size_t i, struct mf_node *item)
{
	mf_node_free(n->items[i]);
	n->items[i] = item;
}

struct mf_node *mf_node_take_at(struct mf_node *n, size_t i)
{
	struct mf_node *item = n->items[i];

	if (n->keys) {
		free(n->keys[i]);
		memmove(n->keys + i, n->keys + i + 1, (n->n - i - 1) * sizeof(*n->keys));
	}
	memmove(n->items + i, n->items + i + 1, (n->n - i - 1) * sizeof(*n->items));
	n->n--;
	return item;
}

void mf_node_remove_at(struct mf_node *n, size_t i)
{
	mf_node_free(mf_node_take_at(n, i));
}

void mf_node_clear(struct mf_node *n)
{
	size_t i;

	for (i = 0; i < n->n; i++) {
		mf_node_free(n->items[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	n->n = 0;
	if (n->s) {
		n->s[0] = '\0';
		n->slen = 0;
	}
}

void mf_node_move(struct mf_node *dst, struct mf_node *src)
{
	struct mf_node tmp = *dst;

	*dst = *src;
	*src = tmp; /* src now holds dst's old content; free it */
	mf_node_free(src);
}

bool mf_node_equal(const struct mf_node *a, const struct mf_node *b)
{
	size_t i;

	if (!a || !b)
		return a == b || mf_node_type(a) == mf_node_type(b);
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case MF_NULL:
		return true;
	case MF_BOOL:
		return a->b == b->b;
	case MF_STR:
	case MF_INT:
	case MF_FLOAT:
		if (a->slen == b->slen && !memcmp(a->s, b->s, a->slen))
			return true;
		if (a->type == MF_FLOAT)
			return strtod(a->s, NULL) == strtod(b->s, NULL);
		return false;
	case MF_SEQ:
		if (a->n != b->n)
			return false;
		for (i = 0; i < a->n; i++)
			if (!mf_node_equal(a->items[i], b->items[i]))
				return false;
		return true;
	case MF_MAP:
		if (a->n != b->n)
			return false;
		for (i = 0; i < a->n; i++) {
			/* fast path: same order */
			const struct mf_node *bv = (!strcmp(a->keys[i], b->keys[i]))
							   ? b->items[i]
							   : mf_node_get(b, a->keys[i]);
			if (!bv && mf_node_index(b, a->keys[i]) < 0)
				return false;
			if (!mf_node_equal(a->items[i], bv))
				return false;
		}
		return true;
	}
	return false;
}

static int key_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

void mf_node_sort_keys(struct mf_node *n, bool deep)
{
	size_t i;

	if (!n)
		return;
	if (n->type == MF_MAP && n->n > 1) {
		/* sort pairs: build an index array of (key,item) */
		struct pair { char *k; struct mf_node *v; } *p = gs_malloc(n->n * sizeof(*p));
		for (i = 0; i < n->n; i++) {
			p[i].k = n->keys[i];
			p[i].v = n->items[i];
		}
		qsort(p, n->n, sizeof(*p), key_cmp);
		for (i = 0; i < n->n; i++) {
			n->keys[i] = p[i].k;
			n->items[i] = p[i].v;
		}
		free(p);
	}
	if (deep)
		for (i = 0; i < n->n; i++)
			mf_node_sort_keys(n->items[i], true);
}
