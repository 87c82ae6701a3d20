/* helm-semver.c - Masterminds/semver v3 versions and constraints (see
 * helm-semver.h).  Each constraint keeps the library's "dirty" flags: a
 * wildcard or missing minor/patch widens what =, >, <=, ~ and ^ accept, and
 * the per-operator rules below follow the library's constraint functions
 * one for one, so a range picks the same chart version Helm would. */
#include "helm/helm-semver.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"

enum op { OP_TILDE_OR_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_TILDE, OP_CARET };

struct constraint {
	enum op op;
	struct helm_semver con;
	bool dirty, minor_dirty, patch_dirty;
};

struct and_group {
	struct constraint *c;
	size_t n;
};

struct helm_semver_range {
	struct and_group *ors;
	size_t n;
};

static bool is_x(const char *s, size_t n)
{
	return n == 1 && (*s == 'x' || *s == 'X' || *s == '*');
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '-';
}

/* dot-separated identifiers of [0-9A-Za-z-], none empty */
static bool valid_idents(const char *s, size_t n)
{
	size_t i, run = 0;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (!run)
				return false;
			run = 0;
		} else if (ident_char(s[i])) {
			run++;
		} else {
			return false;
		}
	}
	return run > 0;
}

static int parse_u64(uint64_t *out, const char *s, size_t n)
{
	char tmp[24];
	char *end = NULL;
	size_t i;

	if (!n || n >= sizeof(tmp))
		return GS_EINVAL;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return GS_EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	*out = strtoull(tmp, &end, 10);
	return errno || *end ? GS_EINVAL : GS_OK;
}

/* The parts of "v1.2.x-pre+meta": spans into the text; absent parts have
 * n == 0 and p == NULL. */
struct cv {
	const char *p[3];
	size_t n[3];
	const char *pre;
	size_t pre_n;
};

/* Split a version (wildcards allowed when wild) into its parts. */
static int cv_split(struct cv *cv, const char *s, size_t n, bool wild)
{
	size_t i = 0, k;

	memset(cv, 0, sizeof(*cv));
	if (i < n && (s[i] == 'v' || s[i] == 'V'))
		i++;
	for (k = 0; k < 3; k++) {
		size_t start;

		if (k > 0) {
			if (i >= n || s[i] != '.')
				break;
			i++;
		}
		start = i;
		while (i < n && (isdigit((unsigned char)s[i]) ||
				 (wild && (s[i] == 'x' || s[i] == 'X' || s[i] == '*'))))
			i++;
		if (i == start)
			return GS_EINVAL;
		cv->p[k] = s + start;
		cv->n[k] = i - start;
	}
	if (i < n && s[i] == '-') {
		size_t start = ++i;

		while (i < n && s[i] != '+')
			i++;
		if (!valid_idents(s + start, i - start))
			return GS_EINVAL;
		cv->pre = s + start;
		cv->pre_n = i - start;
	}
	if (i < n && s[i] == '+') {
		i++;
		if (!valid_idents(s + i, n - i))
			return GS_EINVAL;
		i = n;
	}
	return i == n ? GS_OK : GS_EINVAL;
}

static int set_pre(struct helm_semver *v, const char *pre, size_t n)
{
	if (n >= sizeof(v->pre))
		return GS_EINVAL;
	memcpy(v->pre, pre ? pre : "", n);
	v->pre[n] = '\0';
	return GS_OK;
}

int helm_semver_parse(struct helm_semver *out, const char *s)
{
	struct cv cv;
	uint64_t *num[3] = { &out->major, &out->minor, &out->patch };
	size_t k;

	memset(out, 0, sizeof(*out));
	if (!s || cv_split(&cv, s, strlen(s), false) < 0)
		return GS_EINVAL;
	for (k = 0; k < 3; k++)
		if (cv.n[k] && parse_u64(num[k], cv.p[k], cv.n[k]) < 0)
			return GS_EINVAL;
	return set_pre(out, cv.pre, cv.pre_n);
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0 && n < 20;
}

/* One prerelease identifier against another: numbers below words, numbers
 * numerically, words by bytes; an absent part sorts below a present one. */
static int pre_part_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	bool ad = all_digits(a, an), bd = all_digits(b, bn);

	if (an == bn && !memcmp(a, b, an))
		return 0;
	if (!an)
		return -1;
	if (!bn)
		return 1;
	if (ad && bd) {
		uint64_t x = strtoull(a, NULL, 10), y = strtoull(b, NULL, 10);

		return x > y ? 1 : -1;
	}
	if (ad)
		return -1;
	if (bd)
		return 1;
	{
		int c = memcmp(a, b, an < bn ? an : bn);

		if (c)
			return c > 0 ? 1 : -1;
		return an > bn ? 1 : -1;
	}
}

static int pre_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		size_t an = strcspn(a, "."), bn = strcspn(b, ".");
		int c = pre_part_cmp(a, an, b, bn);

		if (c)
			return c;
		a += an + (a[an] == '.');
		b += bn + (b[bn] == '.');
	}
	return 0;
}

static int u64_cmp(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

int helm_semver_compare(const struct helm_semver *a, const struct helm_semver *b)
{
	int c;

	if ((c = u64_cmp(a->major, b->major)) || (c = u64_cmp(a->minor, b->minor)) ||
	    (c = u64_cmp(a->patch, b->patch)))
		return c;
	if (!*a->pre && !*b->pre)
		return 0;
	if (!*a->pre)
		return 1;
	if (!*b->pre)
		return -1;
	return pre_cmp(a->pre, b->pre);
}

/* ~: >= con, same major, and same minor unless the minor was a wildcard;
 * ~0.0.0 (and ~*) accepts everything. */
static bool match_tilde(const struct helm_semver *v, const struct constraint *c)
{
	if (helm_semver_compare(v, &c->con) < 0)
		return false;
	if (!c->con.major && !c->con.minor && !c->con.patch && !c->minor_dirty &&
	    !c->patch_dirty)
		return true;
	if (v->major != c->con.major)
		return false;
	return v->minor == c->con.minor || c->minor_dirty;
}

static bool match_caret(const struct helm_semver *v, const struct constraint *c)
{
	if (helm_semver_compare(v, &c->con) < 0)
		return false;
	if (c->con.major > 0 || c->minor_dirty)
		return v->major == c->con.major;
	if (v->major > 0)
		return false;
	if (c->con.minor > 0 || c->patch_dirty)
		return v->minor == c->con.minor;
	if (v->minor > 0)
		return false;
	return v->patch == c->con.patch;
}

static bool match_ne(const struct helm_semver *v, const struct constraint *c)
{
	if (c->dirty) {
		if (*v->pre && !*c->con.pre)
			return false;
		if (c->con.major != v->major)
			return true;
		if (c->minor_dirty)
			return false;
		if (c->con.minor != v->minor)
			return true;
		if (!c->patch_dirty && c->con.patch != v->patch)
			return true;
		if (c->patch_dirty)
			return (*v->pre || *c->con.pre) && pre_cmp(v->pre, c->con.pre) != 0;
	}
	return helm_semver_compare(v, &c->con) != 0;
}

static bool match_one(const struct helm_semver *v, const struct constraint *c)
{
	int cmp;

	if (c->op == OP_NE)
		return match_ne(v, c);
	/* prereleases only when the constraint asks for them (Masterminds
	 * issue 21) */
	if (*v->pre && !*c->con.pre)
		return false;
	cmp = helm_semver_compare(v, &c->con);
	switch (c->op) {
	case OP_TILDE_OR_EQ:
		return c->dirty ? match_tilde(v, c) : cmp == 0;
	case OP_GT:
		if (!c->dirty)
			return cmp > 0;
		if (v->major != c->con.major)
			return v->major > c->con.major;
		if (c->minor_dirty)
			return false; /* >11 wants 12 or higher */
		if (c->patch_dirty)
			return v->minor > c->con.minor; /* >11.1 wants 11.2 */
		return cmp > 0;
	case OP_LT:
		return cmp < 0;
	case OP_GE:
		return cmp >= 0;
	case OP_LE:
		if (!c->dirty)
			return cmp <= 0;
		if (v->major > c->con.major)
			return false;
		return !(v->major == c->con.major && v->minor > c->con.minor && !c->minor_dirty);
	case OP_TILDE:
		return match_tilde(v, c);
	case OP_CARET:
		return match_caret(v, c);
	case OP_NE:
		break;
	}
	return false;
}

bool helm_semver_range_match(const struct helm_semver_range *r, const struct helm_semver *v)
{
	size_t i, j;

	for (i = 0; i < r->n; i++) {
		bool all = true;

		for (j = 0; j < r->ors[i].n && all; j++)
			all = match_one(v, &r->ors[i].c[j]);
		if (all)
			return true;
	}
	return false;
}

/* Build a constraint from op and a version with wildcards, as the
 * library's parseConstraint: a wildcard or missing part makes the
 * constraint dirty from that part on; the prerelease is kept. */
static int constraint_make(struct constraint *c, enum op op, const char *s, size_t n)
{
	struct cv cv;
	uint64_t *num[3] = { &c->con.major, &c->con.minor, &c->con.patch };
	size_t k;

	memset(c, 0, sizeof(*c));
	c->op = op;
	if (cv_split(&cv, s, n, true) < 0)
		return GS_EINVAL;
	if (is_x(cv.p[0], cv.n[0])) {
		c->dirty = true; /* "*": 0.0.0, prerelease dropped as the library does */
		return GS_OK;
	}
	if (!cv.n[1] || is_x(cv.p[1], cv.n[1])) {
		c->dirty = c->minor_dirty = true;
		cv.n[1] = cv.n[2] = 0;
	} else if (!cv.n[2] || is_x(cv.p[2], cv.n[2])) {
		c->dirty = c->patch_dirty = true;
		cv.n[2] = 0;
	}
	for (k = 0; k < 3; k++)
		if (cv.n[k] && parse_u64(num[k], cv.p[k], cv.n[k]) < 0)
			return GS_EINVAL; /* a wildcard after a number: 1.x.3 is not a version */
	return set_pre(&c->con, cv.pre, cv.pre_n);
}

static bool version_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '+' || c == '*';
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

static enum op read_op(const char **pp, const char *end)
{
	static const struct {
		const char *text;
		enum op op;
	} ops[] = { { "!=", OP_NE }, { ">=", OP_GE }, { "=>", OP_GE }, { "<=", OP_LE },
		    { "=<", OP_LE }, { "~>", OP_TILDE }, { ">", OP_GT },  { "<", OP_LT },
		    { "=", OP_TILDE_OR_EQ }, { "~", OP_TILDE }, { "^", OP_CARET } };
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].text);

		if ((size_t)(end - *pp) >= n && !memcmp(*pp, ops[i].text, n)) {
			*pp += n;
			return ops[i].op;
		}
	}
	return OP_TILDE_OR_EQ;
}

static void group_add(struct and_group *g, const struct constraint *c)
{
	g->c = gs_realloc(g->c, (g->n + 1) * sizeof(*g->c));
	g->c[g->n++] = *c;
}

/* One "||" alternative: constraints separated by spaces or commas; a
 * hyphen range "A - B" (spaces around the hyphen) is >=A, <=B. */
static int parse_group(struct and_group *g, const char *p, const char *end, struct gs_error *err)
{
	const char *whole = p;

	p = skip_space(p, end);
	if (p == end)
		goto bad;
	while (p < end) {
		struct constraint c, hi;
		const char *op_at = p, *v, *q;
		enum op op = read_op(&p, end);

		p = skip_space(p, end);
		v = p;
		while (p < end && version_char(*p))
			p++;
		if (p == v || constraint_make(&c, op, v, (size_t)(p - v)) < 0)
			goto bad;
		q = skip_space(p, end);
		if (op_at == v && q > p && q + 1 < end && *q == '-' &&
		    isspace((unsigned char)q[1])) {
			const char *w = skip_space(q + 1, end);

			p = w;
			while (p < end && version_char(*p))
				p++;
			if (p == w || constraint_make(&hi, OP_LE, w, (size_t)(p - w)) < 0)
				goto bad;
			c.op = OP_GE;
			group_add(g, &c);
			group_add(g, &hi);
		} else {
			group_add(g, &c);
		}
		p = skip_space(p, end);
		if (p < end && *p == ',')
			p = skip_space(p + 1, end);
	}
	return GS_OK;
bad:
	return gs_error_set(err, GS_EINVAL,
			    "'%.*s' is not a version range (use 1.2.3, ^1.2, ~1.2.0, >=1.0 <2, 1.x)",
			    (int)(end - whole > 200 ? 200 : end - whole), whole);
}

void helm_semver_range_free(struct helm_semver_range *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		free(r->ors[i].c);
	free(r->ors);
	free(r);
}

int helm_semver_range_new(struct helm_semver_range **out, const char *text, struct gs_error *err)
{
	struct helm_semver_range *r = gs_calloc(1, sizeof(*r));
	const char *p = text ? text : "";
	int rc;

	*out = NULL;
	for (;;) {
		const char *bar = strstr(p, "||");
		const char *end = bar ? bar : p + strlen(p);

		r->ors = gs_realloc(r->ors, (r->n + 1) * sizeof(*r->ors));
		memset(&r->ors[r->n], 0, sizeof(r->ors[r->n]));
		r->n++;
		if ((rc = parse_group(&r->ors[r->n - 1], p, end, err)) < 0) {
			helm_semver_range_free(r);
			return rc;
		}
		if (!bar)
			break;
		p = bar + 2;
	}
	*out = r;
	return GS_OK;
}

bool helm_semver_is_exact(const char *text)
{
	struct helm_semver v;

	return text && helm_semver_parse(&v, text) == GS_OK;
}
