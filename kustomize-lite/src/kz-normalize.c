/* kz-normalize.c - the scalar normalisation of kustomize's output.
 *
 * kubectl kustomize round-trips every object through JSON (Go float64 and
 * int64) and YAML again, so `0x1f` comes out as 31, `1.0` as 1, `1e20` as
 * 1e+20 and 0.000001 as 1e-06.  This reproduces that: an integral number
 * that fits int64/uint64 becomes an integer, any other number is printed
 * the way Go's strconv.FormatFloat(v, 'g', -1, 64) prints it. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "kz-private.h"

/* Go's shortest 'g' formatting of a float64. */
static void go_format_float(char *out, size_t size, double v)
{
	char tmp[64], digits[32];
	int prec, exp10 = 0;
	size_t nd = 0, i;
	const char *p;
	bool neg = v < 0;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* tmp = "[-]d.ddde[+-]XX": collect digits and exponent */
	for (p = tmp; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < sizeof(digits) - 1)
			digits[nd++] = *p;
	digits[nd] = '\0';
	if (*p == 'e')
		exp10 = (int)strtol(p + 1, NULL, 10); /* printf's own exponent */
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	if (exp10 < -4 || exp10 >= 6) {
		int n = snprintf(out, size, "%s%c", neg ? "-" : "", digits[0]);
		if (nd > 1)
			n += snprintf(out + n, size - (size_t)n, ".%s", digits + 1);
		snprintf(out + n, size - (size_t)n, "e%c%02d", exp10 < 0 ? '-' : '+',
			 exp10 < 0 ? -exp10 : exp10);
		return;
	}
	{
		struct gs_buf b = GS_BUF_INIT;

		if (neg)
			gs_buf_putc(&b, '-');
		if (exp10 < 0) {
			gs_buf_puts(&b, "0.");
			for (i = 0; i < (size_t)(-exp10 - 1); i++)
				gs_buf_putc(&b, '0');
			gs_buf_puts(&b, digits);
		} else {
			for (i = 0; i <= (size_t)exp10; i++)
				gs_buf_putc(&b, i < nd ? digits[i] : '0');
			if (nd > (size_t)exp10 + 1) {
				gs_buf_putc(&b, '.');
				gs_buf_puts(&b, digits + exp10 + 1);
			}
		}
		snprintf(out, size, "%s", b.ptr);
		gs_buf_release(&b);
	}
}

static void set_float(struct mf_node *n, double v)
{
	char buf[64];
	struct mf_node *fresh;

	if (v == floor(v) && fabs(v) < 18446744073709551616.0 &&
	    (v >= 0 || v >= -9223372036854775808.0)) {
		if (v >= 0)
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
		else
			snprintf(buf, sizeof(buf), "%lld", (long long)v);
		fresh = mf_node_new_number(MF_INT, buf, strlen(buf));
	} else {
		go_format_float(buf, sizeof(buf), v);
		fresh = mf_node_new_number(MF_FLOAT, buf, strlen(buf));
	}
	mf_node_set_pos(fresh, mf_node_pos(n));
	mf_node_move(n, fresh);
}

static int normalize_int(struct mf_node *n, struct gs_error *err)
{
	const char *s = mf_node_str(n);
	char clean[128], buf[64];
	size_t j = 0;
	bool neg = false;
	int base = 10;
	const char *p = s;
	unsigned long long u;
	char *end;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p && j < sizeof(clean) - 1; p++)
		if (*p != '_')
			clean[j++] = *p;
	clean[j] = '\0';
	p = clean;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1]) {
		/* YAML 1.1 octal, when the digits allow it */
		base = strspn(p, "01234567") == strlen(p) ? 8 : 10;
	}
	errno = 0;
	u = strtoull(p, &end, base);
	if (*end || end == p) {
		double d = strtod(clean, &end);
		if (*end)
			return gs_error_at(err, GS_EINVAL, mf_node_pos(n), "invalid number '%s'", s);
		set_float(n, neg ? -d : d);
		return GS_OK;
	}
	if (errno == ERANGE || (neg && u > 9223372036854775808ull)) {
		double d = strtod(clean, NULL);
		set_float(n, neg ? -d : d);
		return GS_OK;
	}
	if (neg && u)
		snprintf(buf, sizeof(buf), "-%llu", u);
	else
		snprintf(buf, sizeof(buf), "%llu", u);
	if (strcmp(buf, s)) {
		struct mf_node *fresh = mf_node_new_number(MF_INT, buf, strlen(buf));
		mf_node_set_pos(fresh, mf_node_pos(n));
		mf_node_move(n, fresh);
	}
	return GS_OK;
}

static int normalize_float(struct mf_node *n, struct gs_error *err)
{
	const char *s = mf_node_str(n);
	char clean[128];
	size_t j = 0;
	const char *p;
	char *end;
	double v;

	for (p = s; *p && j < sizeof(clean) - 1; p++)
		if (*p != '_')
			clean[j++] = *p;
	clean[j] = '\0';
	if (strchr(clean, 'n') || strchr(clean, 'N') || strchr(clean, 'i') || strchr(clean, 'I'))
		return gs_error_at(err, GS_EINVAL, mf_node_pos(n),
				   "json: unsupported value: %s (infinity and NaN have no JSON form)", s);
	v = strtod(clean, &end);
	if (*end)
		return gs_error_at(err, GS_EINVAL, mf_node_pos(n), "invalid number '%s'", s);
	set_float(n, v);
	return GS_OK;
}

int kz_normalize(struct mf_node *n, struct gs_error *err)
{
	size_t i;
	int rc;

	switch (mf_node_type(n)) {
	case MF_INT:
		return normalize_int(n, err);
	case MF_FLOAT:
		return normalize_float(n, err);
	case MF_SEQ:
	case MF_MAP:
		for (i = 0; i < mf_node_len(n); i++)
			if ((rc = kz_normalize(mf_node_at(n, i), err)) < 0)
				return rc;
		return GS_OK;
	default:
		return GS_OK;
	}
}
