/* mf-yaml-parse.c - YAML stream to mf_node trees (see mf-yaml.h).
 *
 * libyaml's event parser feeds a stack of open containers; nodes are built
 * directly, never through libyaml's document API (which would hold a second
 * copy of every scalar).  Scalars resolve like go-yaml v2, the YAML library
 * behind sigs.k8s.io/yaml: what `kubectl apply` and the API server accept.
 *
 * Memory that input can drive is bounded: the whole input (max_doc_bytes),
 * nesting (max_depth), one scalar (max_scalar_bytes), and what aliases may
 * copy (max_alias_nodes, max_alias_bytes: the "billion laughs" defence).
 */
#include "mf-yaml.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "gs-alloc.h"
#include "gs-base64.h"
#include "mf-json.h"
#include "mf-yaml-private.h"

#define DEFAULT_MAX_DOC_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_DEPTH 200u
#define DEFAULT_MAX_ALIAS_NODES ((size_t)1000000)
#define DEFAULT_MAX_SCALAR_BYTES ((size_t)16 << 20)
#define DEFAULT_MAX_ALIAS_BYTES ((size_t)256 << 20)

/* Maps up to this size find duplicate keys by scanning; larger ones get a
 * hash index so a 10,000-key ConfigMap stays linear. */
#define MAP_SCAN_MAX 16

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- scalar resolution (go-yaml v2 resolve.go) ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool str_is(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && !memcmp(s, lit, len);
}

static bool str_in(const char *s, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (str_is(s, len, *list))
			return true;
	return false;
}

static const char *const bool_true[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					  "on", "On", "ON", NULL };
static const char *const bool_false[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					   "off", "Off", "OFF", NULL };
static const char *const null_words[] = { "~", "null", "Null", "NULL", NULL };
static const char *const float_words[] = { ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
					    "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
					    NULL };

/* 99 for a non-digit: above every base, so "digit_val(c) < base" tests both */
static int digit_val(char c)
{
	int v = gs_hex_digit(c);

	return v < 0 ? 99 : v;
}

/* Go's strconv.ParseInt(s, 0, 64) then ParseUint(s, 0, 64), on text whose
 * '_' were already removed.  Returns 1 when it fits (value in *mag, sign in
 * *neg), 0 when syntactically an integer but too big, -1 when not an int.
 * *decimal says whether it was plain decimal digits. */
static int parse_go_int(const char *s, size_t len, bool *neg, unsigned long long *mag,
			bool *decimal)
{
	size_t i = 0;
	unsigned base = 10;
	unsigned long long v = 0;
	bool overflow = false, sign = false;

	*neg = false;
	*decimal = false;
	if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = true;
		*neg = s[i] == '-';
		i++;
	}
	if (i >= len)
		return -1;
	if (s[i] == '0' && i + 1 < len) {
		char p = s[i + 1];
		if (p == 'x' || p == 'X') {
			base = 16;
			i += 2;
		} else if (p == 'o' || p == 'O') {
			base = 8;
			i += 2;
		} else if (p == 'b' || p == 'B') {
			base = 2;
			i += 2;
		} else {
			base = 8;
			i += 1;
		}
		if (i >= len)
			return -1;
	} else {
		*decimal = true;
	}
	for (; i < len; i++) {
		int d = digit_val(s[i]);
		if (d >= (int)base)
			return -1;
		if (v > (ULLONG_MAX - (unsigned)d) / base)
			overflow = true;
		else
			v = v * base + (unsigned)d;
	}
	if (overflow)
		return 0;
	/* ParseInt: |v| within int64; ParseUint (no sign) within uint64. */
	if (*neg ? v > (unsigned long long)INT64_MAX + 1 : (sign && v > (unsigned long long)INT64_MAX))
		return 0;
	*mag = v;
	return 1;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_style_float(const char *s, size_t len)
{
	size_t i = 0, d;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < len && s[i] == '.') {
		i++;
		for (d = i; i < len && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	} else {
		for (d = i; i < len && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
		if (i < len && s[i] == '.')
			for (i++; i < len && is_digit(s[i]); i++)
				;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	}
	return i == len;
}

/* strconv.ParseFloat fails (ErrRange) on overflow: go-yaml then falls
 * through to string.  Underflow to zero is accepted. */
static bool float_in_range(const char *s, size_t len)
{
	char tmp[128], *heap = NULL;
	const char *p = tmp;
	double v;

	if (len < sizeof(tmp)) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
	} else {
		heap = gs_strndup(s, len);
		p = heap;
	}
	errno = 0;
	v = strtod(p, NULL);
	free(heap);
	return !(errno == ERANGE && isinf(v));
}

static size_t strip_underscores(const char *s, size_t len, char *out, size_t outsize)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < outsize; i++)
		if (s[i] != '_')
			out[n++] = s[i];
	out[n] = '\0';
	return i == len ? n : (size_t)-1;
}

enum mf_type mf_yaml_resolve_plain(const char *s, size_t len, bool *bool_out)
{
	char c, small[128], *plain = small, *heap = NULL;
	size_t plen;
	enum mf_type t = MF_STR;
	bool neg, decimal;
	unsigned long long mag;
	int r;

	if (len == 0)
		return MF_NULL;
	c = s[0];
	switch (c) {
	case 'y': case 'Y': case 'n': case 'N': case 't': case 'T':
	case 'f': case 'F': case 'o': case 'O': case '~':
		if (str_in(s, len, bool_true) || str_in(s, len, bool_false)) {
			if (bool_out)
				*bool_out = str_in(s, len, bool_true);
			return MF_BOOL;
		}
		return str_in(s, len, null_words) ? MF_NULL : MF_STR;
	case '.':
		if (str_in(s, len, float_words))
			return MF_FLOAT;
		/* ParseFloat on ".5", ".5e3": only decimal forms start with '.' */
		return is_yaml_style_float(s, len) && float_in_range(s, len) ? MF_FLOAT : MF_STR;
	case '+': case '-':
		if (str_in(s, len, float_words))
			return MF_FLOAT;
		break;
	default:
		if (!is_digit(c))
			return MF_STR;
	}
	/* 'D'/'S' hint: int, float (timestamps stay strings, see header). */
	if (len >= sizeof(small))
		plain = heap = gs_malloc(len + 1);
	plen = strip_underscores(s, len, plain, len + 1);
	r = parse_go_int(plain, plen, &neg, &mag, &decimal);
	if (r == 1)
		t = MF_INT;
	else if (r == 0 && decimal)
		t = MF_INT; /* beyond 64 bits: kept as digits (go-yaml would make a float) */
	else if (is_yaml_style_float(plain, plen) && float_in_range(plain, plen))
		t = MF_FLOAT;
	free(heap);
	return t;
}

bool mf_yaml_int_canonical(const char *s, size_t len, char *buf, size_t bufsize)
{
	char small[128];
	size_t plen;
	bool neg, decimal;
	unsigned long long mag;
	int r;

	if (len >= sizeof(small) || bufsize < 2)
		return false;
	plen = strip_underscores(s, len, small, sizeof(small));
	r = parse_go_int(small, plen, &neg, &mag, &decimal);
	if (r == 1) {
		int n = snprintf(buf, bufsize, "%s%llu", neg && mag ? "-" : "", mag);
		return n > 0 && (size_t)n < bufsize;
	}
	if (r == 0 && decimal) {
		const char *p = small;
		size_t i;
		if (*p == '+')
			p++;
		if (strlen(p) >= bufsize)
			return false;
		/* strip leading zeros of the magnitude: JSON forbids them */
		i = (*p == '-') ? 1 : 0;
		memcpy(buf, p, i);
		while (p[i] == '0' && p[i + 1])
			p++;
		memcpy(buf + i, p + i, strlen(p + i) + 1);
		return true;
	}
	return false;
}

/* Reads n digits (min..max of them) at s[*i] into *out. */
static bool take_num(const char *s, size_t len, size_t *i, size_t min, size_t max, int *out)
{
	size_t n = 0;
	int v = 0;

	while (*i < len && n < max && is_digit(s[*i])) {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		n++;
	}
	*out = v;
	return n >= min;
}

static bool valid_date(int y, int m, int d)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return !(m == 2 && d == 29 && !leap);
}

/* Go time.Parse against go-yaml's allowedTimestampFormats:
 * "2006-1-2T15:4:5.999999999Z07:00", the same with 't',
 * "2006-1-2 15:4:5.999999999" and "2006-1-2". */
bool mf_yaml_is_timestamp(const char *s, size_t len)
{
	size_t i = 0;
	int y, mo, d, h, mi, se, zh, zm;
	char sep;

	if (len < 8 || !take_num(s, len, &i, 4, 4, &y) || i >= len || s[i] != '-')
		return false;
	i++;
	if (!take_num(s, len, &i, 1, 2, &mo) || i >= len || s[i] != '-')
		return false;
	i++;
	if (!take_num(s, len, &i, 1, 2, &d) || !valid_date(y, mo, d))
		return false;
	if (i == len)
		return true;
	sep = s[i++];
	if (sep != 'T' && sep != 't' && sep != ' ')
		return false;
	if (!take_num(s, len, &i, 1, 2, &h) || h > 23 || i >= len || s[i++] != ':')
		return false;
	if (!take_num(s, len, &i, 1, 2, &mi) || mi > 59 || i >= len || s[i++] != ':')
		return false;
	if (!take_num(s, len, &i, 1, 2, &se) || se > 59)
		return false;
	if (i + 1 < len && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1]))
		for (i++; i < len && is_digit(s[i]); i++)
			;
	if (i == len)
		return sep == ' ';
	if (sep == ' ')
		return false;
	if (s[i] == 'Z')
		return i + 1 == len;
	if (s[i] != '+' && s[i] != '-')
		return false;
	i++;
	if (!take_num(s, len, &i, 2, 2, &zh) || i >= len || s[i++] != ':' ||
	    !take_num(s, len, &i, 2, 2, &zm))
		return false;
	return i == len && zh < 24 && zm < 60;
}

/* go-yaml: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
bool mf_yaml_is_base60_float(const char *s, size_t len)
{
	size_t i = 0, groups = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= len || !is_digit(s[i]))
		return false;
	while (i < len && (is_digit(s[i]) || s[i] == '_'))
		i++;
	while (i < len && s[i] == ':') {
		size_t d = 0;
		i++;
		while (i < len && is_digit(s[i]) && d < 2) {
			i++;
			d++;
		}
		if (d == 0 || (d == 2 && s[i - 2] > '5'))
			return false;
		groups++;
	}
	if (!groups)
		return false;
	if (i < len && s[i] == '.')
		for (i++; i < len && (is_digit(s[i]) || s[i] == '_'); i++)
			;
	return i == len;
}

/* ---- a small string -> index hash (duplicate keys, anchors) ---- */

static size_t str_hash(const char *s)
{
	size_t h = 14695981039346656037ULL & SIZE_MAX; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
	return h;
}

void mf_strtab_release(struct mf_strtab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

/* Slot for key: either holding it, or the empty slot where it would go. */
static size_t *strtab_slot(const struct mf_strtab *t, const char *key, mf_strtab_key_fn key_at,
			   const void *ctx)
{
	size_t mask = t->cap - 1, i = str_hash(key) & mask;

	while (t->slots[i] && strcmp(key_at(ctx, t->slots[i] - 1), key))
		i = (i + 1) & mask;
	return &t->slots[i];
}

void mf_strtab_put(struct mf_strtab *t, const char *key, size_t idx, mf_strtab_key_fn key_at,
		       const void *ctx)
{
	size_t *slot;

	if ((t->n + 1) * 2 > t->cap) {
		struct mf_strtab bigger = { NULL, t->cap ? t->cap * 2 : 32, 0 };
		size_t i;

		bigger.slots = gs_calloc(bigger.cap, sizeof(*bigger.slots));
		for (i = 0; i < t->cap; i++)
			if (t->slots[i]) {
				size_t *s = strtab_slot(&bigger, key_at(ctx, t->slots[i] - 1), key_at, ctx);
				*s = t->slots[i];
				bigger.n++;
			}
		free(t->slots);
		*t = bigger;
	}
	slot = strtab_slot(t, key, key_at, ctx);
	if (!*slot)
		t->n++;
	*slot = idx + 1;
}

ptrdiff_t mf_strtab_get(const struct mf_strtab *t, const char *key, mf_strtab_key_fn key_at,
			    const void *ctx)
{
	size_t *slot;

	if (!t->cap)
		return -1;
	slot = strtab_slot(t, key, key_at, ctx);
	return *slot ? (ptrdiff_t)(*slot - 1) : -1;
}

/* ---- parser state ---- */

struct anchor {
	char *name;
	const struct mf_node *node; /* NULL while its node is still open */
	size_t count;               /* nodes in the subtree */
	size_t bytes;               /* text bytes in the subtree */
	unsigned height;            /* 1 for a scalar */
};

struct frame {
	struct mf_node *node; /* the open SEQ or MAP */
	size_t count, bytes;  /* subtree totals so far, self included */
	unsigned height;
	ptrdiff_t anchor; /* index in anchors, -1 */
	/* maps only */
	bool have_key;   /* a key was read, its value is next */
	bool merge;      /* that key is "<<" */
	ptrdiff_t slot;  /* index the value goes to (its key is already in place) */
	unsigned *key_lines; /* per key: its line, 0 when brought in by "<<" */
	size_t key_lines_alloc;
	struct mf_strtab index; /* key -> position, once the map outgrows MAP_SCAN_MAX */
};

struct parser {
	const char *file;
	struct mf_yaml_limits lim;
	struct frame *stack;
	size_t depth, stack_alloc;
	struct anchor *anchors;
	size_t nanchors, anchors_alloc;
	struct mf_strtab anchor_index;
	struct mf_node **grave; /* dropped nodes anchors may still point into */
	size_t ngrave, grave_alloc;
	size_t alias_nodes, alias_bytes;
	struct mf_node *root;
	struct mf_docs docs;
	struct gs_error *err;
};

struct built {
	struct mf_node *node;
	size_t count, bytes;
	unsigned height;
	struct mf_pos pos;
};

static const char *anchor_name_at(const void *ctx, size_t idx)
{
	const struct parser *p = ctx;
	return p->anchors[idx].name;
}

static const char *map_key_at(const void *ctx, size_t idx)
{
	return mf_node_key(ctx, idx);
}

static struct mf_pos mark_pos(const struct parser *p, const yaml_mark_t *m)
{
	struct mf_pos pos = { p->file, (unsigned)m->line + 1, (unsigned)m->column + 1 };
	return pos;
}

static void bury(struct parser *p, struct mf_node *n)
{
	if (!n)
		return;
	GS_ALLOC_GROW(p->grave, p->ngrave + 1, p->grave_alloc);
	p->grave[p->ngrave++] = n;
}

static void end_document_scope(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->ngrave; i++)
		mf_node_free(p->grave[i]);
	p->ngrave = 0;
	for (i = 0; i < p->nanchors; i++)
		free(p->anchors[i].name);
	p->nanchors = 0;
	mf_strtab_release(&p->anchor_index);
}

static void frame_release(struct frame *f)
{
	mf_node_free(f->node);
	free(f->key_lines);
	mf_strtab_release(&f->index);
	memset(f, 0, sizeof(*f));
}

static ptrdiff_t add_anchor(struct parser *p, const char *name)
{
	struct anchor *a;

	GS_ALLOC_GROW(p->anchors, p->nanchors + 1, p->anchors_alloc);
	a = &p->anchors[p->nanchors];
	memset(a, 0, sizeof(*a));
	a->name = gs_strdup(name);
	mf_strtab_put(&p->anchor_index, a->name, p->nanchors, anchor_name_at, p);
	return (ptrdiff_t)p->nanchors++;
}

static void finish_anchor(struct parser *p, ptrdiff_t idx, const struct built *b)
{
	struct anchor *a = &p->anchors[idx];

	a->node = b->node;
	a->count = b->count;
	a->bytes = b->bytes;
	a->height = b->height;
}

static void frame_set_key_line(struct frame *f, size_t i, unsigned line)
{
	GS_ALLOC_GROW(f->key_lines, i + 1, f->key_lines_alloc);
	f->key_lines[i] = line;
}

static ptrdiff_t map_find(struct frame *f, const char *key)
{
	size_t i, n = mf_node_len(f->node);

	if (n <= MAP_SCAN_MAX) {
		for (i = 0; i < n; i++)
			if (!strcmp(mf_node_key(f->node, i), key))
				return (ptrdiff_t)i;
		return -1;
	}
	if (!f->index.cap)
		for (i = 0; i < n; i++)
			mf_strtab_put(&f->index, mf_node_key(f->node, i), i, map_key_at, f->node);
	return mf_strtab_get(&f->index, key, map_key_at, f->node);
}

/* Append key with a placeholder value; the value replaces it later. */
static size_t map_append_key(struct frame *f, const char *key)
{
	size_t i = mf_node_len(f->node);

	mf_node_insert_kv(f->node, i, key, NULL);
	if (f->index.cap)
		mf_strtab_put(&f->index, mf_node_key(f->node, i), i, map_key_at, f->node);
	return i;
}

/* Shortest float32 text, like Go's strconv.FormatFloat(v, 'g', -1, 32),
 * which sigs.k8s.io/yaml uses for float map keys. */
static void format_float32_key(char *buf, size_t size, const char *text)
{
	double d = strtod(text, NULL);
	float f = (float)d;
	int prec, exp10;
	char tmp[64];

	if (str_in(text, strlen(text), float_words) || isnan(f) || isinf(f)) {
		snprintf(buf, size, "%s", isnan(f) ? ".nan" : (f < 0 ? "-.inf" : ".inf"));
		return;
	}
	for (prec = 1; prec < 9; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, (double)f);
		if ((float)strtod(tmp, NULL) == f)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, (double)f);
	exp10 = (int)strtol(strchr(tmp, 'e') + 1, NULL, 10); /* printf's own exponent */
	if (exp10 < -4 || exp10 >= 21 || (exp10 >= prec && exp10 >= 6))
		snprintf(buf, size, "%s", tmp);
	else
		snprintf(buf, size, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, (double)f);
}

/* Map key text the way sigs.k8s.io/yaml turns YAML keys into JSON keys. */
static const char *key_text(const struct mf_node *k, char *buf, size_t size)
{
	switch (mf_node_type(k)) {
	case MF_INT:
		if (mf_yaml_int_canonical(mf_node_str(k), mf_node_strlen(k), buf, size))
			return buf;
		return mf_node_str(k);
	case MF_FLOAT:
		format_float32_key(buf, size, mf_node_str(k));
		return buf;
	case MF_NULL:
		return "null";
	case MF_BOOL:
	case MF_STR:
		return mf_node_str(k);
	default:
		return NULL;
	}
}

static int value_done(struct parser *p, struct frame *f, struct built *b);

/* A key was read: decide where its value goes. */
static int key_done(struct parser *p, struct frame *f, const char *key, bool is_merge,
		    const struct mf_pos *pos)
{
	ptrdiff_t i;

	f->have_key = true;
	f->merge = is_merge;
	if (is_merge)
		return GS_OK;
	i = map_find(f, key);
	if (i < 0) {
		f->slot = (ptrdiff_t)map_append_key(f, key);
		frame_set_key_line(f, (size_t)f->slot, pos->line);
	} else if (!f->key_lines[i] || (p->lim.flags & MF_YAML_DUP_KEEP_LAST)) {
		/* an explicit key overrides one brought in by "<<" (and, when
		 * asked, an earlier one) */
		f->slot = i;
		frame_set_key_line(f, (size_t)i, pos->line);
	} else {
		return gs_error_at(p->err, GS_EINVAL, pos, "mapping key \"%s\" already defined at line %u",
				   key, f->key_lines[i]);
	}
	return GS_OK;
}

static int merge_one(struct parser *p, struct frame *f, const struct mf_node *src)
{
	size_t i, n = mf_node_len(src);

	for (i = 0; i < n; i++) {
		const char *k = mf_node_key(src, i);
		struct mf_node *c;

		if (map_find(f, k) >= 0)
			continue; /* explicit keys and earlier merges win */
		c = mf_node_clone(mf_node_at(src, i));
		frame_set_key_line(f, map_append_key(f, k), 0);
		mf_node_replace_at(f->node, mf_node_len(f->node) - 1, c);
	}
	(void)p;
	return GS_OK;
}

static int do_merge(struct parser *p, struct frame *f, struct built *b)
{
	size_t i;
	int ret = GS_OK;

	if (mf_node_type(b->node) == MF_MAP) {
		ret = merge_one(p, f, b->node);
	} else if (mf_node_type(b->node) == MF_SEQ) {
		for (i = 0; i < mf_node_len(b->node) && !ret; i++) {
			if (mf_node_type(mf_node_at(b->node, i)) != MF_MAP)
				ret = gs_error_at(p->err, GS_EINVAL, &b->pos,
						  "map merge requires map or sequence of maps as the value");
			else
				ret = merge_one(p, f, mf_node_at(b->node, i));
		}
	} else {
		ret = gs_error_at(p->err, GS_EINVAL, &b->pos,
				  "map merge requires map or sequence of maps as the value");
	}
	bury(p, b->node);
	b->node = NULL;
	return ret;
}

/* A complete node: hand it to its parent (or make it the document root).
 * Takes b->node in every case. */
static int node_done(struct parser *p, struct built *b, bool plain_merge_key)
{
	struct frame *f;
	char buf[64];
	const char *k;
	int ret;

	if (!p->depth) {
		mf_node_free(p->root);
		p->root = b->node;
		return GS_OK;
	}
	f = &p->stack[p->depth - 1];
	f->count += b->count;
	f->bytes += b->bytes;
	if (b->height + 1 > f->height)
		f->height = b->height + 1;
	if (mf_node_type(f->node) == MF_SEQ) {
		mf_node_append(f->node, b->node);
		return GS_OK;
	}
	if (f->have_key)
		return value_done(p, f, b);
	k = key_text(b->node, buf, sizeof(buf));
	if (!k) {
		ret = gs_error_at(p->err, GS_EINVAL, &b->pos, "unsupported map key: a %s cannot be a key",
				  mf_node_type_name(mf_node_type(b->node)));
		bury(p, b->node);
		return ret;
	}
	ret = key_done(p, f, k, plain_merge_key, &b->pos);
	bury(p, b->node);
	return ret;
}

static int value_done(struct parser *p, struct frame *f, struct built *b)
{
	f->have_key = false;
	if (f->merge)
		return do_merge(p, f, b);
	mf_node_replace_at(f->node, (size_t)f->slot, b->node);
	return GS_OK;
}

static int limit_depth(struct parser *p, const struct mf_pos *pos, size_t depth)
{
	if (depth > p->lim.max_depth)
		return gs_error_at(p->err, GS_ELIMIT, pos,
				   "nesting deeper than the limit of %u levels", p->lim.max_depth);
	return GS_OK;
}

static const char *const kyaml_bools[] = { "true", "True", "TRUE", "false", "False", "FALSE",
					    NULL };

static int resolve_tagged(struct parser *p, const yaml_event_t *ev, const struct mf_pos *pos,
			  enum mf_type *type, bool *bval)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *want;
	enum mf_type t;

	if (!tag) {
		*type = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
				? mf_yaml_resolve_plain(text, len, bval)
				: MF_STR;
		/* go-yaml v3 (kyaml): y/yes/on/n/no/off are strings */
		if ((p->lim.flags & MF_YAML_KYAML) && *type == MF_BOOL &&
		    !str_in(text, len, kyaml_bools))
			*type = MF_STR;
		return GS_OK;
	}
	*type = MF_STR;
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)))
		return GS_OK; /* "!", "!foo": go-yaml keeps the text */
	want = tag + strlen(TAG_PREFIX);
	if (!strcmp(want, "null")) {
		*type = MF_NULL;
		return GS_OK;
	}
	if (strcmp(want, "int") && strcmp(want, "float") && strcmp(want, "bool"))
		return GS_OK; /* str, binary, timestamp, unknown: text */
	t = mf_yaml_resolve_plain(text, len, bval);
	if ((!strcmp(want, "int") && t == MF_INT) || (!strcmp(want, "bool") && t == MF_BOOL) ||
	    (!strcmp(want, "float") && (t == MF_FLOAT || t == MF_INT))) {
		*type = !strcmp(want, "float") ? MF_FLOAT : t;
		return GS_OK;
	}
	return gs_error_at(p->err, GS_EINVAL, pos, "cannot decode !!str `%.40s` as a !!%s", text, want);
}

/* A YAML 1.1 timestamp as Go's time.Time marshals it (RFC 3339, fraction
 * without trailing zeros, "Z" for UTC).  False when the text does not parse. */
static bool kyaml_timestamp(const char *s, size_t len, char *out, size_t size)
{
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, oh = 0, om = 0, n = 0;
	char frac[16] = "", tz[8] = "Z", buf[64];
	const char *p;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return false;
	p = buf + n;
	if (!*p) {
		snprintf(out, size, "%04d-%02d-%02dT00:00:00Z", y, mo, d);
		return true;
	}
	if (*p != 'T' && *p != 't' && *p != ' ' && *p != '\t')
		return false;
	while (*p == ' ' || *p == '\t' || *p == 'T' || *p == 't')
		p++;
	if (sscanf(p, "%2d:%2d:%2d%n", &h, &mi, &se, &n) != 3)
		return false;
	p += n;
	if (*p == '.') {
		size_t k = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (k < 9)
				frac[k++] = *p;
		while (k && frac[k - 1] == '0')
			k--;
		frac[k] = '\0';
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '+' || *p == '-') {
		char sign = *p++;
		if (sscanf(p, "%2d%n", &oh, &n) != 1)
			return false;
		p += n;
		if (*p == ':' && sscanf(p + 1, "%2d%n", &om, &n) == 1)
			p += 1 + n;
		if (oh || om)
			snprintf(tz, sizeof(tz), "%c%02d:%02d", sign, oh, om);
	} else if (*p == 'Z') {
		p++;
	}
	if (*p)
		return false;
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%s%s%s", y, mo, d, h, mi, se,
		 *frac ? "." : "", frac, tz);
	return true;
}

static int on_scalar(struct parser *p, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	struct mf_pos pos = mark_pos(p, &ev->start_mark);
	struct built b = { NULL, 1, len, 1, pos };
	const char *anchor = (const char *)ev->data.scalar.anchor;
	bool bval = false, plain_merge;
	enum mf_type type;
	struct frame *f;
	int ret;

	if (len > p->lim.max_scalar_bytes)
		return gs_error_at(p->err, GS_ELIMIT, &pos, "scalar of %zu bytes exceeds the limit of %zu",
				   len, p->lim.max_scalar_bytes);
	ret = resolve_tagged(p, ev, &pos, &type, &bval);
	if (ret)
		return ret;
	plain_merge = !ev->data.scalar.tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		      len == 2 && !memcmp(text, "<<", 2);
	f = p->depth ? &p->stack[p->depth - 1] : NULL;
	if (f && !anchor && mf_node_type(f->node) == MF_MAP && !f->have_key) {
		/* fast path: a key needs no node of its own */
		char buf[64];
		const char *k = text;
		struct mf_node *tmp = NULL;

		f->bytes += len; /* keys are copied by aliases too */

		if ((p->lim.flags & MF_YAML_KYAML) &&
		    (type != MF_STR || (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
					!ev->data.scalar.tag && mf_yaml_is_timestamp(text, len))))
			return gs_error_at(p->err, GS_EINVAL, &pos,
					   "mapping key '%.40s' is not a string (JSON allows only string keys)",
					   text);
		if (type == MF_BOOL) {
			k = bval ? "true" : "false";
		} else if (type == MF_NULL) {
			k = "null";
		} else if (type != MF_STR) {
			tmp = mf_node_new_number(type, text, len);
			k = key_text(tmp, buf, sizeof(buf));
		}
		ret = key_done(p, f, k, plain_merge, &pos);
		mf_node_free(tmp);
		return ret;
	}
	switch (type) {
	case MF_NULL:
		b.node = mf_node_new_null();
		mf_node_set_null_implicit(b.node, len == 0 && !ev->data.scalar.tag &&
						  ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
		break;
	case MF_BOOL:
		b.node = mf_node_new_bool(bval);
		break;
	case MF_INT:
	case MF_FLOAT:
		b.node = mf_node_new_number(type, text, len);
		break;
	default:
		if ((p->lim.flags & MF_YAML_KYAML) && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    !ev->data.scalar.tag && mf_yaml_is_timestamp(text, len)) {
			/* v3 decodes a plain timestamp as a time; JSON prints it in RFC 3339 */
			char ts[64];
			b.node = kyaml_timestamp(text, len, ts, sizeof(ts)) ? mf_node_new_str(ts)
									    : mf_node_new_strn(text, len);
			break;
		}
		b.node = mf_node_new_strn(text, len);
		break;
	}
	mf_node_set_pos(b.node, &pos);
	if (anchor)
		finish_anchor(p, add_anchor(p, anchor), &b);
	return node_done(p, &b, plain_merge);
}

static int on_start(struct parser *p, const yaml_event_t *ev, enum mf_type type)
{
	struct mf_pos pos = mark_pos(p, &ev->start_mark);
	const yaml_char_t *anchor = type == MF_MAP ? ev->data.mapping_start.anchor
						   : ev->data.sequence_start.anchor;
	struct frame *f;
	int ret = limit_depth(p, &pos, p->depth + 1);
	const yaml_char_t *tag = type == MF_MAP ? ev->data.mapping_start.tag
						: ev->data.sequence_start.tag;

	if (ret)
		return ret;
	if ((p->lim.flags & MF_YAML_KYAML) && p->depth == 0 && tag)
		return gs_error_at(p->err, GS_EINVAL, &pos, "a tag ('%s') on a document is not supported",
				   (const char *)tag);
	GS_ALLOC_GROW(p->stack, p->depth + 1, p->stack_alloc);
	f = &p->stack[p->depth++];
	memset(f, 0, sizeof(*f));
	f->node = mf_node_new(type);
	mf_node_set_pos(f->node, &pos);
	f->count = 1;
	f->height = 1;
	f->anchor = anchor ? add_anchor(p, (const char *)anchor) : -1;
	return GS_OK;
}

static int on_end(struct parser *p)
{
	struct frame *f = &p->stack[p->depth - 1];
	struct built b = { f->node, f->count, f->bytes, f->height, *mf_node_pos(f->node) };

	f->node = NULL; /* now owned by b */
	if (f->anchor >= 0)
		finish_anchor(p, f->anchor, &b);
	frame_release(f);
	p->depth--;
	return node_done(p, &b, false);
}

static int on_alias(struct parser *p, const yaml_event_t *ev)
{
	struct mf_pos pos = mark_pos(p, &ev->start_mark);
	const char *name = (const char *)ev->data.alias.anchor;
	ptrdiff_t i = mf_strtab_get(&p->anchor_index, name, anchor_name_at, p);
	const struct anchor *a;
	struct built b = { NULL, 0, 0, 0, pos };
	int ret;

	if (i < 0)
		return gs_error_at(p->err, GS_EINVAL, &pos, "unknown anchor '%s' referenced", name);
	a = &p->anchors[i];
	if (!a->node)
		return gs_error_at(p->err, GS_EINVAL, &pos, "anchor '%s' value contains itself", name);
	ret = limit_depth(p, &pos, p->depth + a->height);
	if (ret)
		return ret;
	if (!gs_size_add(&p->alias_nodes, p->alias_nodes, a->count) ||
	    p->alias_nodes > p->lim.max_alias_nodes)
		return gs_error_at(p->err, GS_ELIMIT, &pos,
				   "alias '%s' expands past the limit of %zu nodes", name,
				   p->lim.max_alias_nodes);
	if (!gs_size_add(&p->alias_bytes, p->alias_bytes, a->bytes) ||
	    p->alias_bytes > p->lim.max_alias_bytes)
		return gs_error_at(p->err, GS_ELIMIT, &pos,
				   "alias '%s' expands past the limit of %zu bytes", name,
				   p->lim.max_alias_bytes);
	b.node = mf_node_clone(a->node);
	b.count = a->count;
	b.bytes = a->bytes;
	b.height = a->height;
	return node_done(p, &b, false);
}

/* Line of a byte offset, for reader errors (bad UTF-8) that have no mark. */
static unsigned offset_line(const char *buf, size_t len, size_t off)
{
	unsigned line = 1;
	size_t i;

	for (i = 0; i < off && i < len; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

static int syntax_error(struct parser *p, const yaml_parser_t *yp, const char *buf, size_t len)
{
	struct mf_pos pos = { p->file, 0, 0 };
	const char *problem = yp->problem ? yp->problem : "invalid YAML";

	if (yp->error == YAML_READER_ERROR) {
		pos.line = offset_line(buf, len, yp->problem_offset);
		return gs_error_at(p->err, GS_EINVAL, &pos, "%s (byte offset %zu)", problem,
				   yp->problem_offset);
	}
	if (yp->error == YAML_MEMORY_ERROR)
		abort(); /* like gs_malloc: OOM is not handled */
	pos = mark_pos(p, &yp->problem_mark);
	if (yp->context)
		return gs_error_at(p->err, GS_EINVAL, &pos, "%s (%s at line %zu)", problem, yp->context,
				   yp->context_mark.line + 1);
	return gs_error_at(p->err, GS_EINVAL, &pos, "%s", problem);
}

static void set_limits(struct mf_yaml_limits *lim, const struct mf_yaml_limits *in)
{
	static const struct mf_yaml_limits zero;

	*lim = in ? *in : zero;
	if (!lim->max_doc_bytes)
		lim->max_doc_bytes = DEFAULT_MAX_DOC_BYTES;
	if (!lim->max_depth)
		lim->max_depth = DEFAULT_MAX_DEPTH;
	if (!lim->max_alias_nodes)
		lim->max_alias_nodes = DEFAULT_MAX_ALIAS_NODES;
	if (!lim->max_scalar_bytes)
		lim->max_scalar_bytes = DEFAULT_MAX_SCALAR_BYTES;
	if (!lim->max_alias_bytes)
		lim->max_alias_bytes = DEFAULT_MAX_ALIAS_BYTES;
}

static bool looks_like_json(const char *buf, size_t len)
{
	size_t i = 0;

	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && buf[i] == '{';
}

static void docs_push(struct mf_docs *d, struct mf_node *n)
{
	GS_ALLOC_GROW(d->docs, d->n + 1, d->alloc);
	d->docs[d->n++] = n;
}

int mf_yaml_parse(struct mf_docs *out, const char *buf, size_t len, const char *file,
		  const struct mf_yaml_limits *limits, struct gs_error *err)
{
	struct parser p = { 0 };
	yaml_parser_t yp;
	yaml_event_t ev;
	bool done = false, syntax = false;
	size_t i;
	int ret = GS_OK;

	p.file = file;
	p.err = err;
	set_limits(&p.lim, limits);
	if (len > p.lim.max_doc_bytes) {
		struct mf_pos pos = { file, 0, 0 };
		return gs_error_at(err, GS_ELIMIT, &pos, "document of %zu bytes exceeds the limit of %zu",
				   len, p.lim.max_doc_bytes);
	}
	if (!yaml_parser_initialize(&yp))
		abort();
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	while (!done && !ret) {
		if (!yaml_parser_parse(&yp, &ev)) {
			syntax = true; /* not a limit: the JSON retry below may apply */
			ret = syntax_error(&p, &yp, buf, len);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if ((p.lim.flags & MF_YAML_KYAML) && ev.data.document_start.version_directive) {
				struct mf_pos pos = mark_pos(&p, &ev.start_mark);
				ret = gs_error_at(err, GS_EINVAL, &pos, "%%YAML directives are not supported");
			}
			mf_node_free(p.root);
			p.root = NULL;
			break;
		case YAML_DOCUMENT_END_EVENT:
			/* empty and comment-only documents parse as null: skipped like kubectl */
			if (p.root && mf_node_type(p.root) != MF_NULL)
				docs_push(&p.docs, p.root);
			else
				mf_node_free(p.root);
			p.root = NULL;
			end_document_scope(&p);
			break;
		case YAML_SCALAR_EVENT:
			ret = on_scalar(&p, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			ret = on_start(&p, &ev, MF_SEQ);
			break;
		case YAML_MAPPING_START_EVENT:
			ret = on_start(&p, &ev, MF_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			ret = on_end(&p);
			break;
		case YAML_ALIAS_EVENT:
			ret = on_alias(&p, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);

	while (p.depth)
		frame_release(&p.stack[--p.depth]);
	free(p.stack);
	mf_node_free(p.root);
	end_document_scope(&p);
	free(p.grave);
	free(p.anchors);
	if (ret && syntax && looks_like_json(buf, len)) {
		/* libyaml rejects some valid JSON (surrogate pair escapes such as
		 * "\ud83d\ude00"); kubectl decodes input starting with '{' as JSON,
		 * so a JSON parse gets the last word.  The YAML error stays if
		 * that fails too. */
		struct mf_node *n = NULL;
		struct gs_error jerr = GS_ERROR_INIT;

		if (!mf_json_parse(&n, buf, len, file, &jerr)) {
			gs_error_clear(err);
			ret = GS_OK;
			docs_push(&p.docs, n);
		}
	}
	if (!ret) {
		for (i = 0; i < p.docs.n; i++)
			docs_push(out, p.docs.docs[i]);
		p.docs.n = 0; /* now owned by out */
	}
	mf_docs_release(&p.docs);
	return ret;
}

void mf_docs_release(struct mf_docs *docs)
{
	size_t i;

	if (!docs)
		return;
	for (i = 0; i < docs->n; i++)
		mf_node_free(docs->docs[i]);
	free(docs->docs);
	docs->docs = NULL;
	docs->n = docs->alloc = 0;
}

struct mf_node *mf_docs_take(struct mf_docs *docs, size_t i)
{
	struct mf_node *n;

	if (!docs || i >= docs->n)
		return NULL;
	n = docs->docs[i];
	memmove(docs->docs + i, docs->docs + i + 1, (docs->n - i - 1) * sizeof(*docs->docs));
	docs->n--;
	return n;
}
