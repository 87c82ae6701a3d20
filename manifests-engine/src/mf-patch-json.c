/* mf-patch-json.c - JSON pointers (RFC 6901) and JSON patch (RFC 6902). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-patch-private.h"
#include "mf-patch.h"

void mf_json_pointer_free(char **segs, size_t n)
{
	size_t i;

	if (!segs)
		return;
	for (i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
}

int mf_json_pointer_split(char ***segs_out, size_t *n_out, const char *ptr, struct gs_error *err)
{
	char **segs = NULL;
	size_t n = 0, alloc = 0;
	const char *p = ptr;
	struct gs_buf seg = GS_BUF_INIT;
	int rc = GS_OK;

	*segs_out = NULL;
	*n_out = 0;
	if (!ptr)
		return gs_error_set(err, GS_EINVAL, "missing json pointer");
	if (*p && *p != '/')
		return gs_error_set(err, GS_EINVAL, "invalid json pointer '%s': must start with '/'", ptr);
	while (*p == '/') {
		p++;
		gs_buf_reset(&seg);
		while (*p && *p != '/') {
			if (*p == '~') {
				/* RFC 6901: only ~0 and ~1 are escapes */
				if (p[1] == '0')
					gs_buf_putc(&seg, '~');
				else if (p[1] == '1')
					gs_buf_putc(&seg, '/');
				else {
					rc = gs_error_set(err, GS_EINVAL,
							  "invalid json pointer '%s': bad escape '~%c'",
							  ptr, p[1] ? p[1] : ' ');
					goto cleanup;
				}
				p += 2;
				continue;
			}
			gs_buf_putc(&seg, *p++);
		}
		GS_ALLOC_GROW(segs, n + 1, alloc);
		segs[n++] = gs_strndup(seg.ptr, seg.len);
	}
	*segs_out = segs;
	*n_out = n;
	segs = NULL;
cleanup:
	if (segs)
		mf_json_pointer_free(segs, n);
	gs_buf_release(&seg);
	return rc;
}

void mf_json_pointer_append(struct gs_buf *b, const char *seg)
{
	gs_buf_putc(b, '/');
	for (; *seg; seg++) {
		if (*seg == '~')
			gs_buf_puts(b, "~0");
		else if (*seg == '/')
			gs_buf_puts(b, "~1");
		else
			gs_buf_putc(b, *seg);
	}
}

bool mf_json_equal(const struct mf_node *a, const struct mf_node *b)
{
	enum mf_type ta = mf_node_type(a), tb = mf_node_type(b);
	size_t i, n;

	if ((ta == MF_INT || ta == MF_FLOAT) && (tb == MF_INT || tb == MF_FLOAT)) {
		if (ta == tb && mf_node_equal(a, b))
			return true;
		/* "1" vs "1.0": compare the values */
		return strtod(mf_node_str(a), NULL) == strtod(mf_node_str(b), NULL);
	}
	if (ta != tb)
		return false;
	if (ta == MF_SEQ) {
		n = mf_node_len(a);
		if (n != mf_node_len(b))
			return false;
		for (i = 0; i < n; i++)
			if (!mf_json_equal(mf_node_at(a, i), mf_node_at(b, i)))
				return false;
		return true;
	}
	if (ta == MF_MAP) {
		n = mf_node_len(a);
		if (n != mf_node_len(b))
			return false;
		for (i = 0; i < n; i++) {
			ptrdiff_t j = mf_node_index(b, mf_node_key(a, i));
			if (j < 0 || !mf_json_equal(mf_node_at(a, i), mf_node_at(b, (size_t)j)))
				return false;
		}
		return true;
	}
	return mf_node_equal(a, b);
}

/* An array index per RFC 6901: "0" or digits without a leading zero. */
static bool parse_index(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || (s[0] == '0' && s[1]) || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > (unsigned long long)SIZE_MAX)
		return false;
	*out = (size_t)v;
	return true;
}

struct op_ctx {
	size_t index;     /* operation number, for messages */
	const char *op;
	const char *path; /* the op's path, for messages */
	const struct mf_pos *pos;
	struct gs_error *err;
};

GS_PRINTF(3, 4) static int op_fail(struct op_ctx *c, enum gs_code code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gs_error_at(c->err, code, c->pos, "json patch operation %zu (%s '%s'): %s", c->index,
			   c->op, c->path, msg);
}

/* Walk segs[0..n) from root; NULL when a step is missing. */
static struct mf_node *resolve(struct mf_node *root, char **segs, size_t n)
{
	struct mf_node *cur = root;
	size_t i, idx;

	for (i = 0; i < n && cur; i++) {
		if (mf_node_type(cur) == MF_MAP)
			cur = mf_node_get(cur, segs[i]);
		else if (mf_node_type(cur) == MF_SEQ && parse_index(segs[i], &idx) &&
			 idx < mf_node_len(cur))
			cur = mf_node_at(cur, idx);
		else
			cur = NULL;
	}
	return cur;
}

/* Add (takes val): the RFC 6902 "add" semantics at a split path. */
static int do_add(struct op_ctx *c, struct mf_node *root, char **segs, size_t n,
		  struct mf_node *val)
{
	struct mf_node *parent;
	const char *last;
	size_t idx;

	if (n == 0) {
		mf_node_move(root, val); /* replace the whole document */
		return GS_OK;
	}
	parent = resolve(root, segs, n - 1);
	last = segs[n - 1];
	if (mf_node_type(parent) == MF_MAP) {
		mf_node_set(parent, last, val);
		return GS_OK;
	}
	if (mf_node_type(parent) == MF_SEQ) {
		if (!strcmp(last, "-")) {
			mf_node_append(parent, val);
			return GS_OK;
		}
		if (parse_index(last, &idx) && idx <= mf_node_len(parent)) {
			mf_node_insert(parent, idx, val);
			return GS_OK;
		}
		mf_node_free(val);
		return op_fail(c, GS_EINVAL, "index '%s' out of range (list has %zu items)", last,
			       mf_node_len(parent));
	}
	mf_node_free(val);
	if (!parent)
		return op_fail(c, GS_ENOTFOUND, "parent path does not exist");
	return op_fail(c, GS_EINVAL, "parent is a %s, not a map or list",
		       mf_node_type_name(mf_node_type(parent)));
}

/* Detach the value at path and return it owned (NULL + error if absent). */
static struct mf_node *do_take(struct op_ctx *c, struct mf_node *root, char **segs, size_t n,
			       const char *what, int *rc)
{
	struct mf_node *parent;
	ptrdiff_t i;
	size_t idx;

	if (n == 0) {
		*rc = op_fail(c, GS_EINVAL, "cannot %s the whole document", what);
		return NULL;
	}
	parent = resolve(root, segs, n - 1);
	if (mf_node_type(parent) == MF_MAP) {
		i = mf_node_index(parent, segs[n - 1]);
		if (i >= 0)
			return mf_node_take_at(parent, (size_t)i);
	} else if (mf_node_type(parent) == MF_SEQ && parse_index(segs[n - 1], &idx) &&
		   idx < mf_node_len(parent)) {
		return mf_node_take_at(parent, idx);
	}
	*rc = op_fail(c, GS_ENOTFOUND, "path does not exist");
	return NULL;
}

static bool is_prefix(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	if (na > nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static int apply_op(struct mf_node *doc, const struct mf_node *opn, size_t index,
		    struct gs_error *err)
{
	struct op_ctx c = { index, "?", "", mf_node_pos(opn), err };
	char **segs = NULL, **from_segs = NULL;
	size_t n = 0, from_n = 0;
	const char *from = NULL;
	const struct mf_node *value = NULL;
	struct mf_node *v = NULL, *cur;
	ptrdiff_t vi;
	int rc = GS_OK;

	if (mf_node_type(opn) != MF_MAP)
		return gs_error_at(err, GS_EINVAL, c.pos, "json patch operation %zu: not a map",
				   index);
	c.op = mf_node_dig_str(opn, "op", NULL);
	c.path = mf_node_dig_str(opn, "path", NULL);
	if (!c.op)
		return gs_error_at(err, GS_EINVAL, c.pos,
				   "json patch operation %zu: missing 'op'", index);
	if (!c.path) {
		c.path = "";
		return op_fail(&c, GS_EINVAL, "missing 'path'");
	}
	vi = mf_node_index(opn, "value");
	if (vi >= 0)
		value = mf_node_at(opn, (size_t)vi);
	from = mf_node_dig_str(opn, "from", NULL);

	if ((rc = mf_json_pointer_split(&segs, &n, c.path, err)) < 0) {
		op_fail(&c, rc, "%s", err ? err->msg : "invalid path");
		goto cleanup;
	}

	if (!strcmp(c.op, "add") || !strcmp(c.op, "replace") || !strcmp(c.op, "test")) {
		if (vi < 0) {
			rc = op_fail(&c, GS_EINVAL, "missing 'value'");
			goto cleanup;
		}
	}
	if (!strcmp(c.op, "move") || !strcmp(c.op, "copy")) {
		if (!from) {
			rc = op_fail(&c, GS_EINVAL, "missing 'from'");
			goto cleanup;
		}
		if ((rc = mf_json_pointer_split(&from_segs, &from_n, from, err)) < 0) {
			op_fail(&c, rc, "%s", err ? err->msg : "invalid from");
			goto cleanup;
		}
	}

	if (!strcmp(c.op, "add")) {
		rc = do_add(&c, doc, segs, n, mf_node_clone(value));
	} else if (!strcmp(c.op, "remove")) {
		v = do_take(&c, doc, segs, n, "remove", &rc);
	} else if (!strcmp(c.op, "replace")) {
		if (n == 0) {
			mf_node_move(doc, mf_node_clone(value));
		} else if (!resolve(doc, segs, n)) {
			/* as kustomize's json-patch: a missing member of an existing
			 * map is added; anything else missing is an error */
			struct mf_node *parent = resolve(doc, segs, n - 1);

			if (mf_node_type(parent) == MF_MAP)
				mf_node_set(parent, segs[n - 1], mf_node_clone(value));
			else
				rc = op_fail(&c, GS_ENOTFOUND, "path does not exist");
		} else {
			/* replace in place: a map key keeps its position */
			struct mf_node *parent = resolve(doc, segs, n - 1);
			size_t idx;
			if (mf_node_type(parent) == MF_MAP)
				mf_node_set(parent, segs[n - 1], mf_node_clone(value));
			else if (parse_index(segs[n - 1], &idx))
				mf_node_replace_at(parent, idx, mf_node_clone(value));
		}
	} else if (!strcmp(c.op, "move")) {
		if (is_prefix(from_segs, from_n, segs, n) && from_n != n) {
			rc = op_fail(&c, GS_EINVAL, "cannot move '%s' into one of its children",
				     from);
		} else if (from_n == n && is_prefix(from_segs, from_n, segs, n)) {
			if (!resolve(doc, from_segs, from_n))
				rc = op_fail(&c, GS_ENOTFOUND, "from '%s' does not exist", from);
			/* moving a value onto itself is a no-op */
		} else {
			struct mf_node *moved = do_take(&c, doc, from_segs, from_n, "move", &rc);
			if (moved)
				rc = do_add(&c, doc, segs, n, moved);
		}
	} else if (!strcmp(c.op, "copy")) {
		cur = resolve(doc, from_segs, from_n);
		if (!cur)
			rc = op_fail(&c, GS_ENOTFOUND, "from '%s' does not exist", from);
		else
			rc = do_add(&c, doc, segs, n, mf_node_clone(cur));
	} else if (!strcmp(c.op, "test")) {
		cur = resolve(doc, segs, n);
		if (!cur)
			rc = op_fail(&c, GS_ENOTFOUND, "path does not exist");
		else if (!mf_json_equal(cur, value))
			rc = op_fail(&c, GS_EINVAL, "test failed: value differs");
	} else {
		rc = op_fail(&c, GS_EINVAL, "unknown operation");
	}
cleanup:
	mf_node_free(v);
	mf_json_pointer_free(segs, n);
	mf_json_pointer_free(from_segs, from_n);
	return rc;
}

int mf_patch_json6902(struct mf_node *target, const struct mf_node *patch, struct gs_error *err)
{
	struct mf_node *work = NULL;
	size_t i;
	int rc = GS_OK;

	if (mf_node_type(patch) != MF_SEQ)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(patch),
				   "json patch must be a list of operations, not a %s",
				   mf_node_type_name(mf_node_type(patch)));
	/* work on a copy so that a failing operation leaves target unchanged */
	work = mf_node_clone(target);
	for (i = 0; i < mf_node_len(patch); i++)
		if ((rc = apply_op(work, mf_node_at(patch, i), i, err)) < 0)
			goto cleanup;
	mf_node_move(target, work);
	work = NULL; /* freed by mf_node_move */
cleanup:
	mf_node_free(work);
	return rc;
}
