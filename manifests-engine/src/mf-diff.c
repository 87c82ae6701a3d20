/* mf-diff.c - structured diff, Secret masking and unified text diff.
 *
 * The text diff is Myers' O(ND) algorithm in its linear-space form (middle
 * snake, divide and conquer), so objects of thousands of lines with a few
 * changes cost little time and O(N) memory.  Output follows `diff -u`:
 * "---"/"+++" labels, "@@ -l,s +l,s @@" hunks, 3 lines of context.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-diff.h"
#include "mf-object.h"
#include "mf-patch-private.h"
#include "mf-yaml.h"

#define DIFF_CONTEXT 3

/* ---- structured diff ---- */

void mf_changes_release(struct mf_changes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	c->v = NULL;
	c->n = c->alloc = 0;
}

static void add_change(struct mf_changes *out, enum mf_change_op op, const struct gs_buf *path,
		       const struct mf_node *a, const struct mf_node *b)
{
	struct mf_change *ch;

	GS_ALLOC_GROW(out->v, out->n + 1, out->alloc);
	ch = &out->v[out->n++];
	ch->op = op;
	ch->path = gs_strndup(path->ptr, path->len);
	ch->old_v = a;
	ch->new_v = b;
}

static void diff_rec(struct mf_changes *out, struct gs_buf *path, const struct mf_node *a,
		     const struct mf_node *b)
{
	enum mf_type ta = mf_node_type(a), tb = mf_node_type(b);
	size_t i, old = path->len, na = mf_node_len(a), nb = mf_node_len(b);
	char idx[32];

	if (ta == MF_MAP && tb == MF_MAP) {
		for (i = 0; i < na; i++) {
			const char *k = mf_node_key(a, i);
			ptrdiff_t j = mf_node_index(b, k);
			mf_json_pointer_append(path, k);
			if (j < 0)
				add_change(out, MF_CHANGE_REMOVE, path, mf_node_at(a, i), NULL);
			else
				diff_rec(out, path, mf_node_at(a, i), mf_node_at(b, (size_t)j));
			path->len = old;
			path->ptr[old] = '\0';
		}
		for (i = 0; i < nb; i++) {
			const char *k = mf_node_key(b, i);
			if (mf_node_index(a, k) >= 0)
				continue;
			mf_json_pointer_append(path, k);
			add_change(out, MF_CHANGE_ADD, path, NULL, mf_node_at(b, i));
			path->len = old;
			path->ptr[old] = '\0';
		}
		return;
	}
	if (ta == MF_SEQ && tb == MF_SEQ) {
		for (i = 0; i < na || i < nb; i++) {
			snprintf(idx, sizeof(idx), "%zu", i);
			mf_json_pointer_append(path, idx);
			if (i >= nb)
				add_change(out, MF_CHANGE_REMOVE, path, mf_node_at(a, i), NULL);
			else if (i >= na)
				add_change(out, MF_CHANGE_ADD, path, NULL, mf_node_at(b, i));
			else
				diff_rec(out, path, mf_node_at(a, i), mf_node_at(b, i));
			path->len = old;
			path->ptr[old] = '\0';
		}
		return;
	}
	if (!mf_node_equal(a, b))
		add_change(out, MF_CHANGE_MODIFY, path, a, b);
}

void mf_diff(struct mf_changes *out, const struct mf_node *a, const struct mf_node *b)
{
	struct gs_buf path = GS_BUF_INIT;

	if (!a && !b)
		return;
	if (!a)
		add_change(out, MF_CHANGE_ADD, &path, NULL, b);
	else if (!b)
		add_change(out, MF_CHANGE_REMOVE, &path, a, NULL);
	else
		diff_rec(out, &path, a, b);
	gs_buf_release(&path);
}

/* ---- Secret masking (like Argo CD's HideSecretData) ---- */

static const char *const secret_fields[] = { "data", "stringData" };

static bool is_secret(const struct mf_node *obj)
{
	const char *av = mf_obj_api_version(obj), *kind = mf_obj_kind(obj);
	return av && kind && !strcmp(av, "v1") && !strcmp(kind, "Secret");
}

/* Mask the values of a pair of Secrets (either may be NULL) in place: per
 * key, the first distinct value seen becomes "++++++++" and the next one
 * four '+' longer, so equal values mask equal and a change stays visible. */
static void mask_pair(struct mf_node *a, struct mf_node *b)
{
	static const char mask1[] = "++++++++", mask2[] = "++++++++++++";
	size_t f, i;

	for (f = 0; f < sizeof(secret_fields) / sizeof(secret_fields[0]); f++) {
		struct mf_node *ma = mf_node_get(a, secret_fields[f]);
		struct mf_node *mb = mf_node_get(b, secret_fields[f]);

		/* b first, while a still holds its real values */
		if (mf_node_type(mb) == MF_MAP) {
			for (i = 0; i < mf_node_len(mb); i++) {
				struct mf_node *v = mf_node_at(mb, i);
				ptrdiff_t j = mf_node_type(ma) == MF_MAP
						      ? mf_node_index(ma, mf_node_key(mb, i))
						      : -1;
				bool changed = j >= 0 && !mf_node_equal(mf_node_at(ma, (size_t)j), v);
				mf_node_set_str(v, changed ? mask2 : mask1);
			}
		}
		if (mf_node_type(ma) == MF_MAP)
			for (i = 0; i < mf_node_len(ma); i++)
				mf_node_set_str(mf_node_at(ma, i), mask1);
	}
}

struct mf_node *mf_diff_mask_secret(const struct mf_node *obj)
{
	struct mf_node *c = mf_node_clone(obj);

	if (is_secret(c))
		mask_pair(c, NULL);
	return c;
}

/* ---- lines and Myers' diff ---- */

struct lines {
	const char **p;
	size_t *len; /* without the '\n' */
	uint64_t *h;
	size_t n;
	bool no_eol; /* last line lacks its '\n' */
};

static void lines_split(struct lines *l, const char *s, size_t len)
{
	size_t i, start = 0, alloc = 0;

	memset(l, 0, sizeof(*l));
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '\n')
			continue;
		if (i == len && start == len)
			break; /* nothing after the last '\n' */
		if (l->n + 1 > alloc) {
			alloc = alloc ? alloc * 2 : 64;
			l->p = gs_realloc(l->p, alloc * sizeof(*l->p));
			l->len = gs_realloc(l->len, alloc * sizeof(*l->len));
			l->h = gs_realloc(l->h, alloc * sizeof(*l->h));
		}
		l->p[l->n] = s + start;
		l->len[l->n] = i - start;
		l->h[l->n] = 14695981039346656037ULL;
		for (size_t k = start; k < i; k++)
			l->h[l->n] = (l->h[l->n] ^ (unsigned char)s[k]) * 1099511628211ULL;
		l->n++;
		if (i == len)
			l->no_eol = true;
		start = i + 1;
	}
}

static void lines_release(struct lines *l)
{
	free(l->p);
	free(l->len);
	free(l->h);
}

struct myers {
	const struct lines *a, *b;
	long *vf, *vb; /* furthest x per diagonal k, at index k + off */
	long off;
	bool *del, *add; /* result: a line removed / b line added */
};

static bool line_eq(const struct myers *m, long i, long j)
{
	/* "x" at the end of the text differs from "x\n", as in diff(1) */
	bool eol_a = !(m->a->no_eol && (size_t)i + 1 == m->a->n);
	bool eol_b = !(m->b->no_eol && (size_t)j + 1 == m->b->n);

	return m->a->h[i] == m->b->h[j] && m->a->len[i] == m->b->len[j] && eol_a == eol_b &&
	       !memcmp(m->a->p[i], m->b->p[j], m->a->len[i]);
}

/* Find the middle snake of a[a0, a0+n) vs b[b0, b0+m): the edit path splits
 * there into two halves of about D/2 each.  Returns it as (x,y)-(u,v),
 * relative to (a0, b0). */
static void middle_snake(struct myers *mm, long a0, long n, long b0, long m, long *x_out,
			 long *y_out, long *u_out, long *v_out)
{
	long *vf = mm->vf + mm->off, *vb = mm->vb + mm->off;
	long delta = n - m, maxd = (n + m + 1) / 2, d, k, x, y;
	bool odd = delta & 1;

	vf[1] = 0;
	vb[delta + 1] = n + 1;
	for (d = 0; d <= maxd; d++) {
		for (k = -d; k <= d; k += 2) {
			long sx, sy;
			if (k == -d || (k != d && vf[k - 1] < vf[k + 1]))
				x = vf[k + 1];
			else
				x = vf[k - 1] + 1;
			y = x - k;
			sx = x;
			sy = y;
			while (x < n && y < m && line_eq(mm, a0 + x, b0 + y)) {
				x++;
				y++;
			}
			vf[k] = x;
			if (odd && k >= delta - (d - 1) && k <= delta + (d - 1) && vf[k] >= vb[k]) {
				*x_out = sx;
				*y_out = sy;
				*u_out = x;
				*v_out = y;
				return;
			}
		}
		for (long j = -d; j <= d; j += 2) {
			long ex, ey;
			k = delta + j;
			if (j == -d || (j != d && vb[k + 1] - 1 < vb[k - 1]))
				x = vb[k + 1] - 1;
			else
				x = vb[k - 1];
			y = x - k;
			ex = x;
			ey = y;
			while (x > 0 && y > 0 && line_eq(mm, a0 + x - 1, b0 + y - 1)) {
				x--;
				y--;
			}
			vb[k] = x;
			if (!odd && k >= -d && k <= d && vb[k] <= vf[k]) {
				*x_out = x;
				*y_out = y;
				*u_out = ex;
				*v_out = ey;
				return;
			}
		}
	}
	/* unreachable for consistent input; fall back to "all changed" */
	*x_out = *y_out = 0;
	*u_out = n;
	*v_out = m;
}

static void myers_rec(struct myers *mm, long a0, long a1, long b0, long b1)
{
	long x, y, u, v, i;

	while (a0 < a1 && b0 < b1 && line_eq(mm, a0, b0)) {
		a0++;
		b0++;
	}
	while (a0 < a1 && b0 < b1 && line_eq(mm, a1 - 1, b1 - 1)) {
		a1--;
		b1--;
	}
	if (a0 == a1 || b0 == b1) {
		for (i = a0; i < a1; i++)
			mm->del[i] = true;
		for (i = b0; i < b1; i++)
			mm->add[i] = true;
		return;
	}
	middle_snake(mm, a0, a1 - a0, b0, b1 - b0, &x, &y, &u, &v);
	if ((x == 0 && y == 0 && u == a1 - a0 && v == b1 - b0) ||
	    (u == 0 && v == 0) || (x == a1 - a0 && y == b1 - b0)) {
		/* no progress: cannot happen after trimming, but never loop */
		for (i = a0; i < a1; i++)
			mm->del[i] = true;
		for (i = b0; i < b1; i++)
			mm->add[i] = true;
		return;
	}
	myers_rec(mm, a0, a0 + x, b0, b0 + y);
	myers_rec(mm, a0 + u, a1, b0 + v, b1);
}

/* ---- unified output ---- */

struct edit {
	char op;   /* ' ', '-', '+' */
	size_t ai; /* a lines before this edit */
	size_t bi; /* b lines before this edit */
};

static void put_line(struct gs_buf *out, char op, const struct lines *l, size_t i)
{
	gs_buf_putc(out, op);
	gs_buf_add(out, l->p[i], l->len[i]);
	gs_buf_putc(out, '\n');
	if (i + 1 == l->n && l->no_eol)
		gs_buf_puts(out, "\\ No newline at end of file\n");
}

static void put_range(struct gs_buf *out, size_t before, size_t count)
{
	if (count == 1)
		gs_buf_printf(out, "%zu", before + 1);
	else if (count == 0)
		gs_buf_printf(out, "%zu,0", before); /* the line before the empty range */
	else
		gs_buf_printf(out, "%zu,%zu", before + 1, count);
}

static bool unified(struct gs_buf *out, const struct lines *a, const struct lines *b,
		    const char *label_a, const char *label_b)
{
	struct myers mm = { a, b, NULL, NULL, 0, NULL, NULL };
	struct edit *ed = NULL;
	size_t n_ed = 0, i, ai = 0, bi = 0, total = a->n + b->n;
	bool any = false;

	mm.del = gs_calloc(a->n + 1, sizeof(bool));
	mm.add = gs_calloc(b->n + 1, sizeof(bool));
	mm.off = (long)(2 * total + 4);
	mm.vf = gs_calloc(4 * total + 10, sizeof(long));
	mm.vb = gs_calloc(4 * total + 10, sizeof(long));
	myers_rec(&mm, 0, (long)a->n, 0, (long)b->n);

	ed = gs_malloc((total + 1) * sizeof(*ed));
	while (ai < a->n || bi < b->n) {
		struct edit e = { ' ', ai, bi };
		if (ai < a->n && mm.del[ai]) {
			e.op = '-';
			ai++;
		} else if (bi < b->n && mm.add[bi]) {
			e.op = '+';
			bi++;
		} else {
			ai++;
			bi++;
		}
		if (e.op != ' ')
			any = true;
		ed[n_ed++] = e;
	}
	if (!any)
		goto cleanup;
	gs_buf_printf(out, "--- %s\n+++ %s\n", label_a ? label_a : "a", label_b ? label_b : "b");
	i = 0;
	while (i < n_ed) {
		size_t first, last, start, end, k, ca = 0, cb = 0, gap;

		while (i < n_ed && ed[i].op == ' ')
			i++;
		if (i == n_ed)
			break;
		first = last = i;
		/* extend over changes separated by at most 2*context equal lines */
		for (k = i + 1, gap = 0; k < n_ed; k++) {
			if (ed[k].op == ' ') {
				if (++gap > 2 * DIFF_CONTEXT)
					break;
			} else {
				last = k;
				gap = 0;
			}
		}
		start = first > DIFF_CONTEXT ? first - DIFF_CONTEXT : 0;
		end = last + DIFF_CONTEXT + 1 < n_ed ? last + DIFF_CONTEXT + 1 : n_ed;
		for (k = start; k < end; k++) {
			if (ed[k].op != '+')
				ca++;
			if (ed[k].op != '-')
				cb++;
		}
		gs_buf_puts(out, "@@ -");
		put_range(out, ed[start].ai, ca);
		gs_buf_puts(out, " +");
		put_range(out, ed[start].bi, cb);
		gs_buf_puts(out, " @@\n");
		for (k = start; k < end; k++) {
			if (ed[k].op == '+')
				put_line(out, '+', b, ed[k].bi);
			else
				put_line(out, ed[k].op, a, ed[k].ai);
		}
		i = end;
	}
cleanup:
	free(ed);
	free(mm.del);
	free(mm.add);
	free(mm.vf);
	free(mm.vb);
	return any;
}

bool mf_diff_text(struct gs_buf *out, const struct mf_node *a, const struct mf_node *b,
		  const char *label_a, const char *label_b, unsigned flags)
{
	struct mf_node *ma = NULL, *mb = NULL;
	struct gs_buf ta = GS_BUF_INIT, tb = GS_BUF_INIT;
	struct lines la, lb;
	bool diff;

	if (!(flags & MF_DIFF_SHOW_SECRETS) && (is_secret(a) || is_secret(b))) {
		ma = a ? mf_node_clone(a) : NULL;
		mb = b ? mf_node_clone(b) : NULL;
		mask_pair(is_secret(ma) ? ma : NULL, is_secret(mb) ? mb : NULL);
		a = ma;
		b = mb;
	}
	/* sorted keys: key order is not a difference worth showing */
	if (a)
		mf_yaml_emit(&ta, a, MF_EMIT_SORT_KEYS);
	if (b)
		mf_yaml_emit(&tb, b, MF_EMIT_SORT_KEYS);
	lines_split(&la, ta.ptr, ta.len);
	lines_split(&lb, tb.ptr, tb.len);
	diff = unified(out, &la, &lb, label_a, label_b);
	lines_release(&la);
	lines_release(&lb);
	gs_buf_release(&ta);
	gs_buf_release(&tb);
	mf_node_free(ma);
	mf_node_free(mb);
	return diff;
}

bool mf_diff_lines(struct gs_buf *out, const char *a, size_t alen, const char *b, size_t blen,
		   const char *label_a, const char *label_b)
{
	struct lines la, lb;
	bool diff;

	lines_split(&la, a, alen);
	lines_split(&lb, b, blen);
	diff = unified(out, &la, &lb, label_a, label_b);
	lines_release(&la);
	lines_release(&lb);
	return diff;
}
