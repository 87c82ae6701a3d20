/* mf-json.c - JSON in and out (see mf-json.h).
 *
 * A small recursive-descent parser instead of cJSON: cJSON turns every number
 * into a double, and Kubernetes objects carry int64 values (resourceVersion
 * is a string, but generation, replicas, memory quantities in bytes and
 * status counters are not) that a double would round.  Here numbers keep
 * their text.  Duplicate keys: the last wins, like Go's encoding/json.
 *
 * The emitter escapes like Go's encoding/json (HTML-safe <, >, &, U+2028,
 * U+2029), so `-o json` output matches kubectl's.
 */
#include "mf-json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-yaml-private.h"

#define JSON_MAX_DEPTH 200
#define MAP_SCAN_MAX 16

struct jparser {
	const char *s;
	size_t len, i;
	unsigned line;
	size_t line_start;
	const char *file;
	struct gs_buf tmp; /* string decoding scratch */
	struct gs_error *err;
};

static struct mf_pos jpos(const struct jparser *p)
{
	struct mf_pos pos = { p->file, p->line, (unsigned)(p->i - p->line_start) + 1 };
	return pos;
}

static int jerror(struct jparser *p, const char *what)
{
	struct mf_pos pos = jpos(p);

	if (p->i >= p->len)
		return gs_error_at(p->err, GS_EINVAL, &pos, "invalid JSON: unexpected end of input (%s)",
				   what);
	return gs_error_at(p->err, GS_EINVAL, &pos, "invalid JSON: %s at column %u", what, pos.col);
}

static void skip_ws(struct jparser *p)
{
	while (p->i < p->len) {
		char c = p->s[p->i];

		if (c == '\n') {
			p->line++;
			p->line_start = p->i + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		p->i++;
	}
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char c = s[k];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct gs_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	gs_buf_add(b, u, n);
}

/* Length of the valid UTF-8 sequence at s (not ASCII), 0 if invalid:
 * overlong forms, surrogates and code points past U+10FFFF included. */
static size_t utf8_valid_len(const unsigned char *s, size_t avail)
{
	unsigned cp;
	size_t need, k;

	if ((s[0] & 0xE0) == 0xC0) {
		need = 1;
		cp = s[0] & 0x1Fu;
	} else if ((s[0] & 0xF0) == 0xE0) {
		need = 2;
		cp = s[0] & 0x0Fu;
	} else if ((s[0] & 0xF8) == 0xF0) {
		need = 3;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (need >= avail)
		return 0;
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3Fu);
	}
	if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
		return 0;
	return need + 1;
}

/* Decodes the string at p->i (on the opening quote) into p->tmp. */
static int parse_string(struct jparser *p)
{
	size_t start;

	gs_buf_reset(&p->tmp);
	p->i++;
	start = p->i;
	while (p->i < p->len) {
		unsigned char c = (unsigned char)p->s[p->i];

		if (c == '"') {
			gs_buf_add(&p->tmp, p->s + start, p->i - start);
			p->i++;
			return GS_OK;
		}
		if (c < 0x20)
			return jerror(p, "control character in string");
		if (c >= 0x80) {
			size_t w = utf8_valid_len((const unsigned char *)p->s + p->i, p->len - p->i);

			if (w) {
				p->i += w;
				continue;
			}
			/* Go's decoder turns each invalid byte into U+FFFD */
			gs_buf_add(&p->tmp, p->s + start, p->i - start);
			gs_buf_add(&p->tmp, "\xEF\xBF\xBD", 3);
			start = ++p->i;
			continue;
		}
		if (c != '\\') {
			p->i++;
			continue;
		}
		gs_buf_add(&p->tmp, p->s + start, p->i - start);
		if (++p->i >= p->len)
			break;
		switch (p->s[p->i]) {
		case '"': gs_buf_putc(&p->tmp, '"'); break;
		case '\\': gs_buf_putc(&p->tmp, '\\'); break;
		case '/': gs_buf_putc(&p->tmp, '/'); break;
		case 'b': gs_buf_putc(&p->tmp, '\b'); break;
		case 'f': gs_buf_putc(&p->tmp, '\f'); break;
		case 'n': gs_buf_putc(&p->tmp, '\n'); break;
		case 'r': gs_buf_putc(&p->tmp, '\r'); break;
		case 't': gs_buf_putc(&p->tmp, '\t'); break;
		case 'u': {
			unsigned cp, lo;

			if (p->i + 4 >= p->len || hex4(p->s + p->i + 1, &cp))
				return jerror(p, "invalid \\u escape");
			p->i += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && p->i + 6 < p->len && p->s[p->i + 1] == '\\' &&
			    p->s[p->i + 2] == 'u' && !hex4(p->s + p->i + 3, &lo) && lo >= 0xDC00 &&
			    lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p->i += 6;
			} else if (cp >= 0xD800 && cp < 0xE000) {
				cp = 0xFFFD; /* lone surrogate: Go decodes it as U+FFFD */
			}
			put_utf8(&p->tmp, cp);
			break;
		}
		default:
			return jerror(p, "invalid escape in string");
		}
		p->i++;
		start = p->i;
	}
	return jerror(p, "unterminated string");
}

static bool scan_digits(struct jparser *p)
{
	size_t s = p->i;

	while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i > s;
}

static int parse_number(struct jparser *p, struct mf_node **out)
{
	size_t start = p->i;
	enum mf_type t = MF_INT;

	if (p->s[p->i] == '-')
		p->i++;
	if (p->i < p->len && p->s[p->i] == '0')
		p->i++;
	else if (!scan_digits(p))
		return jerror(p, "invalid number");
	if (p->i < p->len && p->s[p->i] == '.') {
		p->i++;
		t = MF_FLOAT;
		if (!scan_digits(p))
			return jerror(p, "invalid number");
	}
	if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		t = MF_FLOAT;
		if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!scan_digits(p))
			return jerror(p, "invalid number");
	}
	if (t == MF_FLOAT) {
		/* Go's decoder refuses a float that overflows float64 (and so does
		 * YAML's resolver, which makes it a string): no tree holds an
		 * infinite number spelt with digits */
		char *tmp = gs_strndup(p->s + start, p->i - start);
		double d;

		errno = 0;
		d = strtod(tmp, NULL);
		free(tmp);
		if (errno == ERANGE && isinf(d)) {
			p->i = start;
			return jerror(p, "number out of range");
		}
	}
	*out = mf_node_new_number(t, p->s + start, p->i - start);
	return GS_OK;
}

static bool take_word(struct jparser *p, const char *w)
{
	size_t n = strlen(w);

	if (p->len - p->i < n || memcmp(p->s + p->i, w, n))
		return false;
	p->i += n;
	return true;
}

static const char *jkey_at(const void *ctx, size_t idx)
{
	return mf_node_key(ctx, idx);
}

static int parse_value(struct jparser *p, struct mf_node **out, unsigned depth);

static int parse_object(struct jparser *p, struct mf_node *map, unsigned depth)
{
	struct mf_strtab index = { 0 };
	int ret = GS_OK;

	p->i++;
	skip_ws(p);
	if (p->i < p->len && p->s[p->i] == '}') {
		p->i++;
		return GS_OK;
	}
	for (;;) {
		struct mf_node *val = NULL;
		char *key;
		ptrdiff_t at;
		size_t n;

		skip_ws(p);
		if (p->i >= p->len || p->s[p->i] != '"') {
			ret = jerror(p, "expected string key");
			break;
		}
		if ((ret = parse_string(p)))
			break;
		skip_ws(p);
		if (p->i >= p->len || p->s[p->i] != ':') {
			ret = jerror(p, "expected ':' after object key");
			break;
		}
		p->i++;
		key = gs_strndup(p->tmp.ptr, p->tmp.len);
		ret = parse_value(p, &val, depth + 1);
		if (ret) {
			free(key);
			break;
		}
		n = mf_node_len(map);
		if (n > MAP_SCAN_MAX) {
			if (!index.cap)
				for (size_t i = 0; i < n; i++)
					mf_strtab_put(&index, mf_node_key(map, i), i, jkey_at, map);
			at = mf_strtab_get(&index, key, jkey_at, map);
		} else {
			at = mf_node_index(map, key);
		}
		if (at >= 0) {
			mf_node_replace_at(map, (size_t)at, val);
		} else {
			mf_node_insert_kv(map, n, key, val);
			if (index.cap)
				mf_strtab_put(&index, mf_node_key(map, n), n, jkey_at, map);
		}
		free(key);
		skip_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == '}') {
			p->i++;
			break;
		}
		ret = jerror(p, "expected ',' or '}' after object member");
		break;
	}
	mf_strtab_release(&index);
	return ret;
}

static int parse_array(struct jparser *p, struct mf_node *seq, unsigned depth)
{
	p->i++;
	skip_ws(p);
	if (p->i < p->len && p->s[p->i] == ']') {
		p->i++;
		return GS_OK;
	}
	for (;;) {
		struct mf_node *val = NULL;
		int ret = parse_value(p, &val, depth + 1);

		if (ret)
			return ret;
		mf_node_append(seq, val);
		skip_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == ']') {
			p->i++;
			return GS_OK;
		}
		return jerror(p, "expected ',' or ']' after array element");
	}
}

static int parse_value(struct jparser *p, struct mf_node **out, unsigned depth)
{
	struct mf_node *n = NULL;
	struct mf_pos pos;
	int ret = GS_OK;

	skip_ws(p);
	pos = jpos(p);
	if (depth > JSON_MAX_DEPTH)
		return gs_error_at(p->err, GS_ELIMIT, &pos, "nesting deeper than the limit of %u levels",
				   JSON_MAX_DEPTH);
	if (p->i >= p->len)
		return jerror(p, "expected a value");
	switch (p->s[p->i]) {
	case '{':
		n = mf_node_new(MF_MAP);
		mf_node_set_pos(n, &pos);
		ret = parse_object(p, n, depth);
		break;
	case '[':
		n = mf_node_new(MF_SEQ);
		mf_node_set_pos(n, &pos);
		ret = parse_array(p, n, depth);
		break;
	case '"':
		ret = parse_string(p);
		if (!ret)
			n = mf_node_new_strn(p->tmp.ptr, p->tmp.len);
		break;
	case 't':
		if (take_word(p, "true"))
			n = mf_node_new_bool(true);
		break;
	case 'f':
		if (take_word(p, "false"))
			n = mf_node_new_bool(false);
		break;
	case 'n':
		if (take_word(p, "null"))
			n = mf_node_new_null();
		break;
	default:
		if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9'))
			ret = parse_number(p, &n);
		break;
	}
	if (!ret && !n)
		ret = jerror(p, "unexpected character");
	if (ret) {
		mf_node_free(n);
		return ret;
	}
	mf_node_set_pos(n, &pos);
	*out = n;
	return GS_OK;
}

int mf_json_parse(struct mf_node **out, const char *buf, size_t len, const char *file,
		  struct gs_error *err)
{
	struct jparser p = { buf, len, 0, 1, 0, file, GS_BUF_INIT, err };
	struct mf_node *n = NULL;
	int ret;

	/* a UTF-8 byte order mark is tolerated, as kubectl does */
	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		p.i = 3;
	ret = parse_value(&p, &n, 1);
	if (!ret) {
		skip_ws(&p);
		if (p.i < p.len)
			ret = jerror(&p, "unexpected data after the top-level value");
	}
	gs_buf_release(&p.tmp);
	if (ret) {
		mf_node_free(n);
		return ret;
	}
	*out = n;
	return GS_OK;
}

/* ---- output ---- */

struct jemitter {
	struct gs_buf *out;
	unsigned flags;
	int ret;
};

static void jput(struct jemitter *e, const char *s, size_t len)
{
	if (!e->ret)
		e->ret = gs_buf_add(e->out, s, len);
}

static void jindent(struct jemitter *e, unsigned depth)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)depth * 4;

	jput(e, "\n", 1);
	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		jput(e, spaces, k);
		n -= k;
	}
}

/* Go's encoding/json string escaping (HTMLEscape on, invalid UTF-8 -> U+FFFD). */
static void write_json_string(struct jemitter *e, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, start = 0;

	jput(e, "\"", 1);
	while (i < len) {
		unsigned char c = s[i];
		char esc[8];
		size_t n = 0, w = 1;

		if (c >= 0x80) {
			/* Go's encoder replaces invalid bytes by U+FFFD and escapes
			 * U+2028/U+2029 (JSONP safety) */
			w = utf8_valid_len(s + i, len - i);
			if (w == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] & 0xFE) == 0xA8) {
				jput(e, str + start, i - start);
				jput(e, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
			} else if (!w) {
				jput(e, str + start, i - start);
				jput(e, "\\ufffd", 6);
				w = 1;
			} else {
				i += w;
				continue;
			}
			i += w;
			start = i;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
			i++;
			continue;
		}
		jput(e, str + start, i - start);
		esc[n++] = '\\';
		switch (c) {
		case '"': esc[n++] = '"'; break;
		case '\\': esc[n++] = '\\'; break;
		case '\n': esc[n++] = 'n'; break;
		case '\r': esc[n++] = 'r'; break;
		case '\t': esc[n++] = 't'; break;
		case '\b': esc[n++] = 'b'; break;
		case '\f': esc[n++] = 'f'; break;
		default:
			esc[n++] = 'u';
			esc[n++] = '0';
			esc[n++] = '0';
			esc[n++] = hex[c >> 4];
			esc[n++] = hex[c & 0xF];
		}
		jput(e, esc, n);
		i++;
		start = i;
	}
	jput(e, str + start, len - start);
	jput(e, "\"", 1);
}

static bool is_json_number(const char *s, size_t len)
{
	size_t i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	return i == len;
}

/* Numbers keep their text when it is valid JSON.  YAML-only spellings (0x1F,
 * 0o17, 1_000, +5, .5, 1.) are converted the way sigs.k8s.io/yaml's
 * YAMLToJSON would; .inf and .nan have no JSON form and become null. */
static void write_json_number(struct jemitter *e, const struct mf_node *n)
{
	const char *t = mf_node_str(n);
	size_t len = mf_node_strlen(n);
	char buf[64], *end;
	double d;
	int prec;

	if (is_json_number(t, len)) {
		jput(e, t, len);
		return;
	}
	if (mf_node_type(n) == MF_INT && mf_yaml_int_canonical(t, len, buf, sizeof(buf)) &&
	    is_json_number(buf, strlen(buf))) {
		jput(e, buf, strlen(buf));
		return;
	}
	{
		char *plain = gs_malloc(len + 1);
		size_t i, k = 0;

		for (i = 0; i < len; i++)
			if (t[i] != '_')
				plain[k++] = t[i];
		plain[k] = '\0';
		errno = 0;
		d = strtod(plain, &end);
		if (end == plain || *end)
			d = NAN; /* .inf, .nan: strtod does not read YAML's spelling */
		free(plain);
	}
	if (isnan(d) || isinf(d)) {
		jput(e, "null", 4);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	jput(e, buf, strlen(buf));
}

struct jkey {
	const char *key;
	size_t i;
};

static int jkey_cmp(const void *x, const void *y)
{
	const struct jkey *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	return c ? c : (a->i < b->i ? -1 : 1);
}

static void emit_json(struct jemitter *e, const struct mf_node *n, unsigned depth)
{
	bool pretty = e->flags & MF_JSON_PRETTY;
	size_t i, len = mf_node_len(n);

	switch (mf_node_type(n)) {
	case MF_NULL:
		jput(e, "null", 4);
		return;
	case MF_BOOL:
		jput(e, mf_node_bool(n) ? "true" : "false", mf_node_bool(n) ? 4 : 5);
		return;
	case MF_INT:
	case MF_FLOAT:
		write_json_number(e, n);
		return;
	case MF_STR:
		write_json_string(e, mf_node_str(n), mf_node_strlen(n));
		return;
	case MF_SEQ:
		jput(e, "[", 1);
		for (i = 0; i < len && !e->ret; i++) {
			if (i)
				jput(e, ",", 1);
			if (pretty)
				jindent(e, depth + 1);
			emit_json(e, mf_node_at(n, i), depth + 1);
		}
		if (pretty && len)
			jindent(e, depth);
		jput(e, "]", 1);
		return;
	case MF_MAP: {
		struct jkey *order = NULL;

		if ((e->flags & MF_JSON_SORT_KEYS) && len > 1) {
			order = gs_malloc(len * sizeof(*order));
			for (i = 0; i < len; i++) {
				order[i].key = mf_node_key(n, i);
				order[i].i = i;
			}
			qsort(order, len, sizeof(*order), jkey_cmp);
		}
		jput(e, "{", 1);
		for (i = 0; i < len && !e->ret; i++) {
			size_t j = order ? order[i].i : i;
			const char *k = mf_node_key(n, j);

			if (i)
				jput(e, ",", 1);
			if (pretty)
				jindent(e, depth + 1);
			write_json_string(e, k, strlen(k));
			jput(e, pretty ? ": " : ":", pretty ? 2 : 1);
			emit_json(e, mf_node_at(n, j), depth + 1);
		}
		if (pretty && len)
			jindent(e, depth);
		jput(e, "}", 1);
		free(order);
		return;
	}
	}
}

int mf_json_emit(struct gs_buf *out, const struct mf_node *n, unsigned flags)
{
	struct jemitter e = { out, flags, GS_OK };
	size_t mark = out->len;

	emit_json(&e, n, 0);
	if (e.ret) {
		out->len = mark;
		out->ptr[mark] = '\0';
	}
	return e.ret;
}
