/* mf-yaml-emit.c - mf_node trees to YAML in kubectl's layout (see mf-yaml.h).
 *
 * Written directly rather than through libyaml's emitter so the layout is
 * exactly go-yaml v2's (what `kubectl get -o yaml` and `kubectl kustomize`
 * print): sequences not indented under their key, `{}`/`[]` for empty
 * containers, literal blocks for multi-line strings.  Scalar styles follow
 * go-yaml's encoder plus libyaml's yaml_emitter_analyze_scalar(), which
 * go-yaml ports line by line:
 *   - a string that would read back as something else (true, 123, null, "",
 *     a timestamp, "1:20", "<<") is double-quoted;
 *   - a string containing "\n" is a literal block when the content allows;
 *   - otherwise plain, unless an indicator or leading/trailing space forbids
 *     it: then single-quoted, or double-quoted when escapes are needed.
 * Lines are never folded (long strings stay on one line).
 */
#include "mf-yaml.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-yaml-private.h"

/* libyaml's limit for an implicit ("simple") key; longer keys use "? ". */
#define SIMPLE_KEY_MAX 128

enum style { STYLE_PLAIN, STYLE_SINGLE, STYLE_DOUBLE, STYLE_LITERAL };

enum place {
	PLACE_TOP,     /* document root */
	PLACE_MAPVAL,  /* right after "key:" */
	PLACE_SEQITEM, /* right after "- " */
};

struct emitter {
	struct gs_buf *out;
	unsigned flags;
	int ret; /* first error (GS_ELIMIT from a capped buffer) */
};

static void put(struct emitter *e, const char *s, size_t len)
{
	struct gs_buf *b = e->out;

	/* inline fast path: most pieces are a few bytes and fit */
	if (b->cap - b->len > len && !e->ret && (!b->max || b->len + len <= b->max)) {
		memcpy(b->ptr + b->len, s, len);
		b->len += len;
		b->ptr[b->len] = '\0';
		return;
	}
	if (!e->ret)
		e->ret = gs_buf_add(e->out, s, len);
}

static void indent(struct emitter *e, unsigned n)
{
	static const char spaces[] = "                                                                ";

	while (n > sizeof(spaces) - 1) {
		put(e, spaces, sizeof(spaces) - 1);
		n -= (unsigned)(sizeof(spaces) - 1);
	}
	put(e, spaces, n);
}

/* One UTF-8 character at s[i]: its code point and width; invalid bytes are
 * returned as themselves with width 1 (they get escaped). */
static unsigned utf8_next(const unsigned char *s, size_t len, size_t i, unsigned *width)
{
	unsigned c = s[i], need, cp, k;

	if (c < 0x80) {
		*width = 1;
		return c;
	}
	if ((c & 0xE0) == 0xC0) {
		need = 1;
		cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		need = 2;
		cp = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		need = 3;
		cp = c & 0x07;
	} else {
		*width = 1;
		return c;
	}
	for (k = 1; k <= need; k++) {
		if (i + k >= len || (s[i + k] & 0xC0) != 0x80) {
			*width = 1;
			return c;
		}
		cp = (cp << 6) | (s[i + k] & 0x3F);
	}
	*width = need + 1;
	return cp;
}

/* libyaml's IS_PRINTABLE, on code points. */
static bool printable(unsigned c)
{
	return c == 0x0A || (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF);
}

static bool is_break(unsigned c)
{
	return c == '\r' || c == '\n' || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static bool is_blankz(const unsigned char *s, size_t len, size_t i)
{
	if (i >= len)
		return true;
	return s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == '\0' ||
	       (s[i] == 0xC2 && i + 1 < len && s[i + 1] == 0x85) ||
	       (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 && (s[i + 2] & 0xFE) == 0xA8);
}

/* What each byte means to the style analysis: most bytes of most strings are
 * B_NONE and cost one table lookup. */
enum byte_kind { B_NONE = 0, B_NL, B_COLON, B_HASH, B_CTRL, B_HIGH };

#define B_ROW_CTRL B_CTRL, B_CTRL, B_CTRL, B_CTRL, B_CTRL, B_CTRL, B_CTRL, B_CTRL
#define B_ROW_HIGH B_HIGH, B_HIGH, B_HIGH, B_HIGH, B_HIGH, B_HIGH, B_HIGH, B_HIGH
#define B_ROW_NONE B_NONE, B_NONE, B_NONE, B_NONE, B_NONE, B_NONE, B_NONE, B_NONE
static const unsigned char byte_kind[256] = {
	/* 0x00 */ B_ROW_CTRL,
	/* 0x08 */ B_CTRL, B_CTRL, B_NL, B_CTRL, B_CTRL, B_CTRL, B_CTRL, B_CTRL,
	/* 0x10 */ B_ROW_CTRL, B_ROW_CTRL,
	/* 0x20 */ B_NONE, B_NONE, B_NONE, B_HASH, B_NONE, B_NONE, B_NONE, B_NONE,
	/* 0x28 */ B_ROW_NONE,
	/* 0x30 */ B_ROW_NONE,
	/* 0x38 */ B_NONE, B_NONE, B_COLON, B_NONE, B_NONE, B_NONE, B_NONE, B_NONE,
	/* 0x40 */ B_ROW_NONE, B_ROW_NONE, B_ROW_NONE, B_ROW_NONE,
	/* 0x60 */ B_ROW_NONE, B_ROW_NONE, B_ROW_NONE,
	/* 0x78 */ B_NONE, B_NONE, B_NONE, B_NONE, B_NONE, B_NONE, B_NONE, B_CTRL,
	/* 0x80 */ B_ROW_HIGH, B_ROW_HIGH, B_ROW_HIGH, B_ROW_HIGH,
	/* 0xA0 */ B_ROW_HIGH, B_ROW_HIGH, B_ROW_HIGH, B_ROW_HIGH,
	/* 0xC0 */ B_ROW_HIGH, B_ROW_HIGH, B_ROW_HIGH, B_ROW_HIGH,
	/* 0xE0 */ B_ROW_HIGH, B_ROW_HIGH, B_ROW_HIGH, B_ROW_HIGH,
};

/* Is the character before s[i] whitespace for libyaml's '#' rule (space,
 * tab, a line break or NUL)? */
static bool preceded_by_ws(const unsigned char *s, size_t i)
{
	unsigned char p = s[i - 1];

	if (p == ' ' || p == '\t' || p == '\n' || p == '\r' || p == '\0')
		return true;
	if (p == 0x85)
		return i >= 2 && s[i - 2] == 0xC2;
	return (p == 0xA8 || p == 0xA9) && i >= 3 && s[i - 3] == 0xE2 && s[i - 2] == 0x80;
}

/* go-yaml encoder's stringv() then libyaml's yaml_emitter_analyze_scalar()
 * and select_scalar_style() for block context, in one pass over the bytes.
 * Only line breaks, ':', '#', control and non-ASCII bytes need a look: the
 * space rules are checked from the breaks next to them. */
static enum style choose_style(const char *str, size_t len, bool key)
{
	const unsigned char *s = (const unsigned char *)str;
	bool block_ind = false, special = false, line_breaks = false, odd_breaks = false;
	bool has_nl = false, leading_break = false, trailing_break = false;
	bool break_space = false, space_break = false, plain_allowed, single_allowed;
	bool block_allowed;
	unsigned c0, w0 = 1;
	size_t i;
	enum style st;

	if (!len)
		return STYLE_DOUBLE; /* "" reads back as null */
	c0 = s[0] < 0x80 ? s[0] : utf8_next(s, len, 0, &w0);
	switch (c0) {
	case '#': case ',': case '[': case ']': case '{': case '}': case '&':
	case '*': case '!': case '|': case '>': case '\'': case '"': case '%':
	case '@': case '`':
		block_ind = true;
		break;
	case '?': case ':': case '-':
		if (is_blankz(s, len, w0))
			block_ind = true;
		break;
	default:
		break;
	}
	if (len >= 3 && ((s[0] == '-' && s[1] == '-' && s[2] == '-') ||
			 (s[0] == '.' && s[1] == '.' && s[2] == '.')))
		block_ind = true;
	for (i = 0; i < len; i++) {
		unsigned c, w = 1;

		switch ((enum byte_kind)byte_kind[s[i]]) {
		case B_NONE:
			continue;
		case B_COLON:
			if (i > 0 && is_blankz(s, len, i + 1))
				block_ind = true;
			continue;
		case B_HASH:
			if (i > 0 && preceded_by_ws(s, i))
				block_ind = true;
			continue;
		case B_NL:
			has_nl = true;
			c = '\n';
			break;
		case B_CTRL:
			special = true;
			if (s[i] != '\r')
				continue;
			c = '\r';
			break;
		case B_HIGH:
			c = utf8_next(s, len, i, &w);
			if (w == 1 || !printable(c))
				special = true; /* invalid UTF-8, or U+0080..U+009F, U+FEFF... */
			if (c != 0x85 && c != 0x2028 && c != 0x2029) {
				i += w - 1;
				continue;
			}
			break;
		default:
			continue;
		}
		/* a line break of width w at i */
		line_breaks = true;
		if (c != '\n')
			odd_breaks = true;
		if (i == 0)
			leading_break = true;
		if (i + w == len)
			trailing_break = true;
		if (i > 0 && s[i - 1] == ' ')
			space_break = true;
		if (i + w < len && s[i + w] == ' ')
			break_space = true;
		i += w - 1;
	}
	plain_allowed = !(s[0] == ' ' || leading_break || s[len - 1] == ' ' || trailing_break ||
			  break_space || space_break || special || line_breaks || block_ind);
	single_allowed = !(break_space || space_break || special);
	block_allowed = !(s[len - 1] == ' ' || space_break || special);

	if (has_nl && !key)
		st = STYLE_LITERAL;
	else if (mf_yaml_resolve_plain(str, len, NULL) != MF_STR ||
		 mf_yaml_is_base60_float(str, len) || mf_yaml_is_timestamp(str, len) ||
		 (len == 2 && !memcmp(str, "<<", 2)))
		return STYLE_DOUBLE;
	else
		st = STYLE_PLAIN;
	if (st == STYLE_PLAIN && !plain_allowed)
		st = STYLE_SINGLE;
	if (st == STYLE_SINGLE && (!single_allowed || line_breaks))
		st = STYLE_DOUBLE; /* single quotes would fold the line breaks */
	if (st == STYLE_LITERAL && (!block_allowed || key || odd_breaks))
		st = STYLE_DOUBLE;
	return st;
}

static void write_single(struct emitter *e, const char *s, size_t len)
{
	size_t i, start = 0;

	put(e, "'", 1);
	for (i = 0; i < len; i++)
		if (s[i] == '\'') {
			put(e, s + start, i + 1 - start);
			put(e, "'", 1);
			start = i + 1;
		}
	put(e, s + start, len - start);
	put(e, "'", 1);
}

static void write_double(struct emitter *e, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, start = 0;
	unsigned w;

	put(e, "\"", 1);
	while (i < len) {
		unsigned c = utf8_next(s, len, i, &w);
		char esc[12];
		size_t n = 0;
		bool bad = w == 1 && c >= 0x80;

		if (printable(c) && !bad && !is_break(c) && c != '"' && c != '\\') {
			i += w;
			continue;
		}
		put(e, str + start, i - start);
		esc[n++] = '\\';
		switch (c) {
		case 0: esc[n++] = '0'; break;
		case 0x07: esc[n++] = 'a'; break;
		case 0x08: esc[n++] = 'b'; break;
		case 0x09: esc[n++] = 't'; break;
		case 0x0A: esc[n++] = 'n'; break;
		case 0x0B: esc[n++] = 'v'; break;
		case 0x0C: esc[n++] = 'f'; break;
		case 0x0D: esc[n++] = 'r'; break;
		case 0x1B: esc[n++] = 'e'; break;
		case '"': esc[n++] = '"'; break;
		case '\\': esc[n++] = '\\'; break;
		case 0x85: esc[n++] = 'N'; break;
		case 0xA0: esc[n++] = '_'; break;
		case 0x2028: esc[n++] = 'L'; break;
		case 0x2029: esc[n++] = 'P'; break;
		default: {
			/* a stray byte of invalid UTF-8 cannot be written back as a
			 * byte; \xNN is the closest (it reads as U+00NN) */
			int digits = c <= 0xFF ? 2 : c <= 0xFFFF ? 4 : 8;
			esc[n++] = digits == 2 ? 'x' : digits == 4 ? 'u' : 'U';
			while (digits--)
				esc[n++] = hex[(c >> (4 * digits)) & 0xF];
		}
		}
		put(e, esc, n);
		i += w;
		start = i;
	}
	put(e, str + start, len - start);
	put(e, "\"", 1);
}

/* Block literal; content lines at `ind` spaces. */
static void write_literal(struct emitter *e, const char *s, size_t len, unsigned ind)
{
	size_t i = 0;

	put(e, "|", 1);
	if (s[0] == ' ' || s[0] == '\n')
		put(e, "2", 1); /* content starts with spaces: say how much is indentation */
	if (s[len - 1] != '\n')
		put(e, "-", 1);
	else if (len == 1 || s[len - 2] == '\n')
		put(e, "+", 1);
	put(e, "\n", 1);
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;

		if (end > i) {
			indent(e, ind);
			put(e, s + i, end - i);
		}
		put(e, "\n", 1);
		i = end + 1;
	}
}

static void write_styled(struct emitter *e, enum style st, const char *s, size_t len,
			 unsigned ind)
{
	switch (st) {
	case STYLE_PLAIN:
		put(e, s, len);
		break;
	case STYLE_SINGLE:
		write_single(e, s, len);
		break;
	case STYLE_DOUBLE:
		write_double(e, s, len);
		break;
	case STYLE_LITERAL:
		write_literal(e, s, len, ind);
		return; /* ends with its own newline */
	}
}

/* ---- go-yaml v2 key order (keyList.Less): kubectl's sorted output ---- */

static bool key_is_letter(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xAA;
}

static bool key_is_digit(unsigned c)
{
	return c >= '0' && c <= '9';
}

/* go-yaml's keyList.Less on two string keys, walking UTF-8 in place.  The
 * strings share a prefix up to the first difference, so byte offsets and
 * rune offsets agree there; digits are ASCII, so the digit runs are scanned
 * bytewise. */
static int golang_key_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t xl = strlen(a), yl = strlen(b), i = 0;

	while (i < xl && i < yl) {
		unsigned wa, wb, ca, cb;
		bool al, bl;
		size_t ai, bi, j;
		unsigned long long an = 0, bn = 0;

		ca = utf8_next(x, xl, i, &wa);
		cb = utf8_next(y, yl, i, &wb);
		if (ca == cb) {
			i += wa;
			continue;
		}
		al = key_is_letter(ca);
		bl = key_is_letter(cb);
		if (al && bl)
			return ca < cb ? -1 : 1;
		if (al || bl)
			return bl ? -1 : 1; /* non-letters first */
		if (ca == '0' || cb == '0') {
			for (j = i; j-- > 0 && key_is_digit(x[j]);)
				if (x[j] != '0') {
					an = bn = 1;
					break;
				}
		}
		for (ai = i; ai < xl && key_is_digit(x[ai]); ai++)
			an = an * 10 + (x[ai] - '0');
		for (bi = i; bi < yl && key_is_digit(y[bi]); bi++)
			bn = bn * 10 + (y[bi] - '0');
		if (an != bn)
			return an < bn ? -1 : 1;
		if (ai != bi)
			return ai < bi ? -1 : 1;
		return ca < cb ? -1 : 1;
	}
	return xl < yl ? -1 : xl > yl ? 1 : 0;
}

struct keyref {
	const char *key;
	size_t i;
};

static int keyref_cmp(const void *x, const void *y)
{
	const struct keyref *a = x, *b = y;
	int c = golang_key_cmp(a->key, b->key);

	if (!c)
		c = strcmp(a->key, b->key);
	return c ? c : (a->i < b->i ? -1 : 1);
}

/* ---- layout ---- */

static void emit_value(struct emitter *e, const struct mf_node *n, unsigned ind,
		       enum place place);

/* A float whose text would read back as something else ("!!float 3" keeps
 * the text "3"): write a plain float of the same value so it stays a float. */
static void float_text(char *buf, size_t size, const char *text, size_t len)
{
	char tmp[64];
	double d;
	int prec;

	if (mf_yaml_resolve_plain(text, len, NULL) == MF_INT &&
	    mf_yaml_int_canonical(text, len, buf, size - 2)) {
		memcpy(buf + strlen(buf), ".0", 3);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(len < 63 ? len : 63), text);
	d = strtod(tmp, NULL);
	if (isnan(d)) {
		snprintf(buf, size, ".nan");
		return;
	}
	if (isinf(d)) {
		snprintf(buf, size, d < 0 ? "-.inf" : ".inf");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".e") && strlen(buf) + 3 <= size)
		memcpy(buf + strlen(buf), ".0", 3);
}

static void emit_scalar(struct emitter *e, const struct mf_node *n, unsigned ind,
			enum place place)
{
	const char *text = "null";
	size_t len = 4;
	bool literal = false;
	char fbuf[64];

	switch (mf_node_type(n)) {
	case MF_STR:
		text = mf_node_str(n);
		len = mf_node_strlen(n);
		break;
	case MF_FLOAT:
		text = mf_node_str(n);
		len = mf_node_strlen(n);
		if (mf_yaml_resolve_plain(text, len, NULL) != MF_FLOAT) {
			float_text(fbuf, sizeof(fbuf), text, len);
			text = fbuf;
			len = strlen(fbuf);
		}
		break;
	case MF_INT:
	case MF_BOOL:
		text = mf_node_str(n);
		len = mf_node_strlen(n);
		break;
	case MF_MAP:
		text = "{}";
		len = 2;
		break;
	case MF_SEQ:
		text = "[]";
		len = 2;
		break;
	default:
		break;
	}
	if (place == PLACE_MAPVAL)
		put(e, " ", 1);
	if (mf_node_type(n) == MF_STR) {
		enum style st = choose_style(text, len, false);

		literal = st == STYLE_LITERAL;
		/* literal content sits 2 deeper than the key or dash owning it */
		write_styled(e, st, text, len, place == PLACE_TOP ? 2 : ind + 2);
	} else {
		put(e, text, len);
	}
	if (!literal)
		put(e, "\n", 1);
}

static void emit_key(struct emitter *e, const char *k, unsigned ind)
{
	size_t len = strlen(k);

	if (len > SIMPLE_KEY_MAX) {
		/* libyaml's emitter writes long keys as explicit "? " keys */
		put(e, "? ", 2);
		if (choose_style(k, len, true) == STYLE_PLAIN)
			put(e, k, len);
		else
			write_double(e, k, len);
		put(e, "\n", 1);
		indent(e, ind);
		put(e, ":", 1);
		return;
	}
	write_styled(e, choose_style(k, len, true), k, len, ind);
	put(e, ":", 1);
}

static void emit_map(struct emitter *e, const struct mf_node *n, unsigned ind, bool first_inline)
{
	size_t i, len = mf_node_len(n);
	struct keyref *order = NULL;

	if ((e->flags & MF_EMIT_SORT_KEYS) && len > 1) {
		order = gs_malloc(len * sizeof(*order));
		for (i = 0; i < len; i++) {
			order[i].key = mf_node_key(n, i);
			order[i].i = i;
		}
		qsort(order, len, sizeof(*order), keyref_cmp);
	}
	for (i = 0; i < len && !e->ret; i++) {
		size_t j = order ? order[i].i : i;

		if (i || !first_inline)
			indent(e, ind);
		emit_key(e, mf_node_key(n, j), ind);
		emit_value(e, mf_node_at(n, j), ind, PLACE_MAPVAL);
	}
	free(order);
}

static void emit_seq(struct emitter *e, const struct mf_node *n, unsigned ind, bool first_inline)
{
	size_t i, len = mf_node_len(n);

	for (i = 0; i < len && !e->ret; i++) {
		if (i || !first_inline)
			indent(e, ind);
		put(e, "- ", 2);
		emit_value(e, mf_node_at(n, i), ind, PLACE_SEQITEM);
	}
}

static void emit_value(struct emitter *e, const struct mf_node *n, unsigned ind,
		       enum place place)
{
	enum mf_type t = mf_node_type(n);

	if ((t != MF_MAP && t != MF_SEQ) || !mf_node_len(n)) {
		emit_scalar(e, n, ind, place);
		return;
	}
	switch (place) {
	case PLACE_TOP:
		if (t == MF_MAP)
			emit_map(e, n, 0, false);
		else
			emit_seq(e, n, 0, false);
		break;
	case PLACE_MAPVAL:
		put(e, "\n", 1);
		if (t == MF_MAP)
			emit_map(e, n, ind + 2, false);
		else
			emit_seq(e, n, ind, false); /* "- " level with the key */
		break;
	case PLACE_SEQITEM:
		if (t == MF_MAP)
			emit_map(e, n, ind + 2, true);
		else
			emit_seq(e, n, ind + 2, true);
		break;
	}
}

int mf_yaml_emit(struct gs_buf *out, const struct mf_node *n, unsigned flags)
{
	struct emitter e = { out, flags, GS_OK };
	size_t mark = out->len;

	emit_value(&e, n, 0, PLACE_TOP);
	if (e.ret) {
		out->len = mark; /* no half document */
		out->ptr[mark] = '\0';
	}
	return e.ret;
}

int mf_yaml_emit_docs(struct gs_buf *out, struct mf_node *const *docs, size_t n, unsigned flags)
{
	size_t i, mark = out->len;
	int ret = GS_OK;

	for (i = 0; i < n && !ret; i++) {
		if (i)
			ret = gs_buf_puts(out, "---\n");
		if (!ret)
			ret = mf_yaml_emit(out, docs[i], flags);
	}
	if (ret && out->len > mark) {
		out->len = mark;
		out->ptr[mark] = '\0';
	}
	return ret;
}
