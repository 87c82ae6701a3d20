/* mf-node.c - the object model (see mf-node.h). */
#include "mf-node.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-yaml-private.h"

/* 48 bytes: a parsed document is mostly nodes, so their size is most of a
 * render's memory.  Scalars and containers share the storage after the
 * header; n and alloc stay 0 for scalars so child loops need no type test.
 * A scalar made from text carries it right after the struct (inl), one
 * allocation instead of two. */
struct mf_node {
	struct mf_pos pos;
	unsigned char type; /* enum mf_type */
	bool b;
	bool inl; /* s points just past this struct, in the same allocation */
	unsigned n, alloc;
	union {
		struct {
			char *s; /* scalar text (STR/INT/FLOAT), NUL-terminated */
			size_t slen;
		} sc;
		struct {
			struct mf_node **items; /* seq items / map values */
			char **keys;            /* map keys, parallel to items */
		} c;
	} u;
};

#define N_S(n) ((n)->u.sc.s)
#define N_SLEN(n) ((n)->u.sc.slen)
#define N_ITEMS(n) ((n)->u.c.items)
#define N_KEYS(n) ((n)->u.c.keys)

static bool has_text(enum mf_type t)
{
	return t == MF_STR || t == MF_INT || t == MF_FLOAT;
}

/* A scalar node with its text inline. */
static struct mf_node *new_text(enum mf_type type, const char *text, size_t len)
{
	struct mf_node *n;
	size_t size;

	if (!gs_size_add(&size, sizeof(*n), len) || !gs_size_add(&size, size, 1))
		abort(); /* like gs_malloc: no size fits */
	n = gs_malloc(size);
	memset(n, 0, sizeof(*n));
	n->type = (unsigned char)type;
	n->inl = true;
	N_S(n) = (char *)(n + 1);
	memcpy(N_S(n), text, len);
	N_S(n)[len] = '\0';
	N_SLEN(n) = len;
	return n;
}

/* Free what a node owns besides itself (children, arrays, heap text). */
static void release_content(struct mf_node *n)
{
	size_t i;

	for (i = 0; i < n->n; i++) {
		mf_node_free(N_ITEMS(n)[i]);
		if (N_KEYS(n))
			free(N_KEYS(n)[i]);
	}
	if (n->type == MF_SEQ || n->type == MF_MAP) {
		free(N_ITEMS(n));
		free(N_KEYS(n));
	} else if (!n->inl) {
		free(N_S(n));
	}
}

struct mf_node *mf_node_new(enum mf_type type)
{
	struct mf_node *n;

	if (has_text(type))
		return new_text(type, type == MF_STR ? "" : "0", type == MF_STR ? 0 : 1);
	n = gs_calloc(1, sizeof(*n));
	n->type = (unsigned char)type;
	return n;
}

struct mf_node *mf_node_new_null(void)
{
	return mf_node_new(MF_NULL);
}

void mf_node_set_null_implicit(struct mf_node *n, bool implicit)
{
	if (n && n->type == MF_NULL)
		n->b = implicit; /* b is unused by nulls otherwise */
}

bool mf_node_null_implicit(const struct mf_node *n)
{
	return n && n->type == MF_NULL && n->b;
}

struct mf_node *mf_node_new_bool(bool v)
{
	struct mf_node *n = mf_node_new(MF_BOOL);
	n->b = v;
	return n;
}

struct mf_node *mf_node_new_strn(const char *s, size_t len)
{
	return new_text(MF_STR, s, len);
}

struct mf_node *mf_node_new_str(const char *s)
{
	return mf_node_new_strn(s, strlen(s));
}

struct mf_node *mf_node_new_number(enum mf_type type, const char *text, size_t len)
{
	return new_text(type, text, len);
}

struct mf_node *mf_node_new_int(long long v)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%lld", v);
	return mf_node_new_number(MF_INT, tmp, (size_t)len);
}

void mf_node_free(struct mf_node *n)
{
	if (!n)
		return;
	release_content(n);
	free(n);
}

struct mf_node *mf_node_clone(const struct mf_node *n)
{
	struct mf_node *c;
	size_t i;

	if (!n)
		return NULL;
	if (has_text(n->type)) {
		c = new_text(n->type, N_S(n), N_SLEN(n));
		c->pos = n->pos;
		return c;
	}
	c = gs_calloc(1, sizeof(*c));
	c->type = n->type;
	c->b = n->b;
	c->pos = n->pos;
	if (n->n) {
		c->alloc = c->n = n->n;
		N_ITEMS(c) = gs_malloc(n->n * sizeof(*N_ITEMS(c)));
		if (n->type == MF_MAP)
			N_KEYS(c) = gs_malloc(n->n * sizeof(*N_KEYS(c)));
		for (i = 0; i < n->n; i++) {
			N_ITEMS(c)[i] = mf_node_clone(N_ITEMS(n)[i]);
			if (N_KEYS(c))
				N_KEYS(c)[i] = gs_strdup(N_KEYS(n)[i]);
		}
	}
	return c;
}

enum mf_type mf_node_type(const struct mf_node *n)
{
	return n ? (enum mf_type)n->type : MF_NULL;
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
		mf_node_set_pos_deep(N_ITEMS(n)[i], pos);
}

const char *mf_node_str(const struct mf_node *n)
{
	if (!n)
		return NULL;
	switch (n->type) {
	case MF_STR:
	case MF_INT:
	case MF_FLOAT:
		return N_S(n);
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
	return has_text(n->type) ? N_SLEN(n) : strlen(s);
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
	if (!mf_yaml_int_canonical(N_S(n), N_SLEN(n), buf, sizeof(buf)))
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
	char *c = NULL;

	if (has_text(n->type) && n->inl && len <= N_SLEN(n)) {
		/* fits where the old text was; s may overlap it */
		memmove(N_S(n), s, len);
		N_S(n)[len] = '\0';
		N_SLEN(n) = len;
		n->type = MF_STR;
		return;
	}
	c = gs_strndup(s, len); /* s may point into n's text or children */
	release_content(n);
	n->n = n->alloc = 0;
	n->inl = false;
	N_S(n) = c;
	N_SLEN(n) = len;
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
	return (n && i < n->n) ? N_ITEMS(n)[i] : NULL;
}

const char *mf_node_key(const struct mf_node *n, size_t i)
{
	return (n && n->type == MF_MAP && i < n->n) ? N_KEYS(n)[i] : NULL;
}

ptrdiff_t mf_node_index(const struct mf_node *map, const char *key)
{
	size_t i;

	if (!map || map->type != MF_MAP)
		return -1;
	for (i = 0; i < map->n; i++)
		if (!strcmp(N_KEYS(map)[i], key))
			return (ptrdiff_t)i;
	return -1;
}

struct mf_node *mf_node_get(const struct mf_node *map, const char *key)
{
	ptrdiff_t i = mf_node_index(map, key);
	return i < 0 ? NULL : N_ITEMS(map)[i];
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
	return (r && r->type == MF_STR) ? N_S(r) : NULL;
}

static void make_room(struct mf_node *n, size_t need)
{
	size_t na;

	if (need <= n->alloc)
		return;
	if (need > UINT_MAX)
		abort(); /* the parser's limits keep containers far below this */
	na = n->alloc < 4 ? 4 : (size_t)n->alloc * 2;
	if (na < need || na > UINT_MAX)
		na = need;
	N_ITEMS(n) = gs_realloc(N_ITEMS(n), na * sizeof(*N_ITEMS(n)));
	if (n->type == MF_MAP)
		N_KEYS(n) = gs_realloc(N_KEYS(n), na * sizeof(*N_KEYS(n)));
	n->alloc = (unsigned)na;
}

void mf_node_insert_kv(struct mf_node *map, size_t i, const char *key, struct mf_node *val)
{
	if (i > map->n)
		i = map->n;
	make_room(map, (size_t)map->n + 1);
	memmove(N_ITEMS(map) + i + 1, N_ITEMS(map) + i, (map->n - i) * sizeof(*N_ITEMS(map)));
	memmove(N_KEYS(map) + i + 1, N_KEYS(map) + i, (map->n - i) * sizeof(*N_KEYS(map)));
	N_ITEMS(map)[i] = val;
	N_KEYS(map)[i] = gs_strdup(key);
	map->n++;
}

void mf_node_set(struct mf_node *map, const char *key, struct mf_node *val)
{
	ptrdiff_t i = mf_node_index(map, key);

	if (i >= 0) {
		mf_node_free(N_ITEMS(map)[i]);
		N_ITEMS(map)[i] = val;
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
	free(N_KEYS(map)[i]);
	N_KEYS(map)[i] = k;
}

void mf_node_insert(struct mf_node *seq, size_t i, struct mf_node *item)
{
	if (i > seq->n)
		i = seq->n;
	make_room(seq, (size_t)seq->n + 1);
	memmove(N_ITEMS(seq) + i + 1, N_ITEMS(seq) + i, (seq->n - i) * sizeof(*N_ITEMS(seq)));
	N_ITEMS(seq)[i] = item;
	seq->n++;
}

void mf_node_append(struct mf_node *seq, struct mf_node *item)
{
	mf_node_insert(seq, seq->n, item);
}

void mf_node_replace_at(struct mf_node *n, size_t i, struct mf_node *item)
{
	mf_node_free(N_ITEMS(n)[i]);
	N_ITEMS(n)[i] = item;
}

struct mf_node *mf_node_take_at(struct mf_node *n, size_t i)
{
	struct mf_node *item = N_ITEMS(n)[i];

	if (N_KEYS(n)) {
		free(N_KEYS(n)[i]);
		memmove(N_KEYS(n) + i, N_KEYS(n) + i + 1, (n->n - i - 1) * sizeof(*N_KEYS(n)));
	}
	memmove(N_ITEMS(n) + i, N_ITEMS(n) + i + 1, (n->n - i - 1) * sizeof(*N_ITEMS(n)));
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
		mf_node_free(N_ITEMS(n)[i]);
		if (N_KEYS(n))
			free(N_KEYS(n)[i]);
	}
	n->n = 0;
	if (has_text(n->type)) {
		N_S(n)[0] = '\0';
		N_SLEN(n) = 0;
	}
}

void mf_node_move(struct mf_node *dst, struct mf_node *src)
{
	struct mf_node tmp;

	/* inline text stays with its allocation: give dst its own copy */
	if (has_text(src->type) && src->inl) {
		N_S(src) = gs_strndup(N_S(src), N_SLEN(src));
		src->inl = false;
	}
	tmp = *dst;
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
		if (N_SLEN(a) == N_SLEN(b) && !memcmp(N_S(a), N_S(b), N_SLEN(a)))
			return true;
		if (a->type == MF_FLOAT)
			return strtod(N_S(a), NULL) == strtod(N_S(b), NULL);
		return false;
	case MF_SEQ:
		if (a->n != b->n)
			return false;
		for (i = 0; i < a->n; i++)
			if (!mf_node_equal(N_ITEMS(a)[i], N_ITEMS(b)[i]))
				return false;
		return true;
	case MF_MAP:
		if (a->n != b->n)
			return false;
		for (i = 0; i < a->n; i++) {
			/* fast path: same order */
			const struct mf_node *bv = (!strcmp(N_KEYS(a)[i], N_KEYS(b)[i]))
							   ? N_ITEMS(b)[i]
							   : mf_node_get(b, N_KEYS(a)[i]);
			if (!bv && mf_node_index(b, N_KEYS(a)[i]) < 0)
				return false;
			if (!mf_node_equal(N_ITEMS(a)[i], bv))
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
			p[i].k = N_KEYS(n)[i];
			p[i].v = N_ITEMS(n)[i];
		}
		qsort(p, n->n, sizeof(*p), key_cmp);
		for (i = 0; i < n->n; i++) {
			N_KEYS(n)[i] = p[i].k;
			N_ITEMS(n)[i] = p[i].v;
		}
		free(p);
	}
	if (deep)
		for (i = 0; i < n->n; i++)
			mf_node_sort_keys(N_ITEMS(n)[i], true);
}
