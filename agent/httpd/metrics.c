/* metrics.c - Prometheus metrics registry (see metrics.h). */
#include "httpd/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"

static const double default_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					  1,     2.5,  5,     10,   30,  60 };

struct metrics_series {
	char *values[METRICS_MAX_LABELS];
	double value;      /* counter, gauge */
	uint64_t *buckets; /* histogram: per bound, not cumulative */
	double sum;
	uint64_t count;
};

struct metrics_family {
	struct metrics_registry *reg;
	enum metrics_type type;
	char *name, *help;
	char *labels[METRICS_MAX_LABELS];
	size_t nlabels;
	double *bounds;
	size_t nbounds;
	struct metrics_series *series;
	size_t nr, alloc;
};

struct metrics_registry {
	pthread_mutex_t lock;
	struct metrics_family **fams;
	size_t nr, alloc;
	metrics_collect_fn collect;
	void *collect_payload;
	double dropped; /* series refused by METRICS_MAX_SERIES */
};

struct metrics_registry *metrics_registry_new(void)
{
	struct metrics_registry *r = gs_calloc(1, sizeof(*r));

	pthread_mutex_init(&r->lock, NULL);
	return r;
}

static void series_release(struct metrics_series *s, size_t nlabels)
{
	size_t i;

	for (i = 0; i < nlabels; i++)
		free(s->values[i]);
	free(s->buckets);
}

static void family_free(struct metrics_family *f)
{
	size_t i;

	for (i = 0; i < f->nr; i++)
		series_release(&f->series[i], f->nlabels);
	for (i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->series);
	free(f->bounds);
	free(f->name);
	free(f->help);
	free(f);
}

void metrics_registry_free(struct metrics_registry *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nr; i++)
		family_free(r->fams[i]);
	free(r->fams);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void metrics_registry_on_collect(struct metrics_registry *r, metrics_collect_fn fn, void *payload)
{
	pthread_mutex_lock(&r->lock);
	r->collect = fn;
	r->collect_payload = payload;
	pthread_mutex_unlock(&r->lock);
}

static int valid_name(const char *s, int colon_ok)
{
	size_t i;

	if (!s || !*s)
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			    (colon_ok && c == ':');
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

static struct metrics_family *family_new(struct metrics_registry *r, enum metrics_type type,
					 const char *name, const char *help, const char *labels,
					 const double *bounds, size_t nbounds)
{
	struct metrics_family *f;
	size_t i;

	if (!valid_name(name, 1)) {
		fprintf(stderr, "gitsync: bug: invalid metric name '%s'\n", name ? name : "");
		abort();
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nr; i++) {
		if (!strcmp(r->fams[i]->name, name)) {
			f = r->fams[i];
			pthread_mutex_unlock(&r->lock);
			return f;
		}
	}
	f = gs_calloc(1, sizeof(*f));
	f->reg = r;
	f->type = type;
	f->name = gs_strdup(name);
	f->help = gs_strdup(help ? help : "");
	if (labels && *labels) {
		const char *p = labels;
		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (f->nlabels == METRICS_MAX_LABELS) {
				fprintf(stderr, "gitsync: bug: too many labels for '%s'\n", name);
				abort();
			}
			f->labels[f->nlabels] = gs_strndup(p, n);
			if (!valid_name(f->labels[f->nlabels], 0) ||
			    !strcmp(f->labels[f->nlabels], "le")) {
				fprintf(stderr, "gitsync: bug: invalid label '%s' on '%s'\n",
					f->labels[f->nlabels], name);
				abort();
			}
			f->nlabels++;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	if (type == METRICS_HISTOGRAM) {
		if (!bounds || !nbounds) {
			bounds = default_bounds;
			nbounds = sizeof(default_bounds) / sizeof(default_bounds[0]);
		}
		f->bounds = gs_calloc(nbounds, sizeof(double));
		memcpy(f->bounds, bounds, nbounds * sizeof(double));
		f->nbounds = nbounds;
	}
	GS_ALLOC_GROW(r->fams, r->nr + 1, r->alloc);
	r->fams[r->nr++] = f;
	pthread_mutex_unlock(&r->lock);
	return f;
}

struct metrics_family *metrics_counter(struct metrics_registry *r, const char *name,
				       const char *help, const char *labels)
{
	return family_new(r, METRICS_COUNTER, name, help, labels, NULL, 0);
}

struct metrics_family *metrics_gauge(struct metrics_registry *r, const char *name, const char *help,
				     const char *labels)
{
	return family_new(r, METRICS_GAUGE, name, help, labels, NULL, 0);
}

struct metrics_family *metrics_histogram(struct metrics_registry *r, const char *name,
					 const char *help, const char *labels, const double *bounds,
					 size_t nbounds)
{
	return family_new(r, METRICS_HISTOGRAM, name, help, labels, bounds, nbounds);
}

/* Find (or, when create, add) the series of these label values.  Called with
 * the lock held.  NULL when the family is full. */
static struct metrics_series *series_get(struct metrics_family *f, const char **vals, int create)
{
	struct metrics_series *s;
	size_t i, j;

	for (i = 0; i < f->nr; i++) {
		for (j = 0; j < f->nlabels; j++)
			if (strcmp(f->series[i].values[j], vals[j]))
				break;
		if (j == f->nlabels)
			return &f->series[i];
	}
	if (!create)
		return NULL;
	if (f->nr >= METRICS_MAX_SERIES) {
		f->reg->dropped += 1;
		return NULL;
	}
	GS_ALLOC_GROW(f->series, f->nr + 1, f->alloc);
	s = &f->series[f->nr++];
	memset(s, 0, sizeof(*s));
	for (j = 0; j < f->nlabels; j++)
		s->values[j] = gs_strdup(vals[j]);
	if (f->type == METRICS_HISTOGRAM)
		s->buckets = gs_calloc(f->nbounds, sizeof(uint64_t));
	return s;
}

static void collect_labels(const struct metrics_family *f, const char **vals, va_list ap)
{
	size_t i;

	for (i = 0; i < f->nlabels; i++) {
		const char *v = va_arg(ap, const char *);
		vals[i] = v ? v : "";
	}
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static void update(struct metrics_family *f, enum op op, double v, va_list ap)
{
	const char *vals[METRICS_MAX_LABELS];
	struct metrics_series *s;
	size_t i;

	if (!f)
		return;
	if ((op == OP_OBSERVE) != (f->type == METRICS_HISTOGRAM))
		return;
	if (op == OP_SET && f->type != METRICS_GAUGE)
		return;
	/* Counters only go up: a negative add would break rate(). */
	if (op == OP_ADD && f->type == METRICS_COUNTER && !(v >= 0))
		return;
	collect_labels(f, vals, ap);
	pthread_mutex_lock(&f->reg->lock);
	s = series_get(f, vals, 1);
	if (s) {
		switch (op) {
		case OP_ADD:
			s->value += v;
			break;
		case OP_SET:
			s->value = v;
			break;
		case OP_OBSERVE:
			for (i = 0; i < f->nbounds; i++)
				if (v <= f->bounds[i])
					break;
			if (i < f->nbounds)
				s->buckets[i]++;
			s->sum += v;
			s->count++;
			break;
		}
	}
	pthread_mutex_unlock(&f->reg->lock);
}

void metrics_add(struct metrics_family *f, double v, ...)
{
	va_list ap;

	va_start(ap, v);
	update(f, OP_ADD, v, ap);
	va_end(ap);
}

void metrics_set(struct metrics_family *f, double v, ...)
{
	va_list ap;

	va_start(ap, v);
	update(f, OP_SET, v, ap);
	va_end(ap);
}

void metrics_observe(struct metrics_family *f, double v, ...)
{
	va_list ap;

	va_start(ap, v);
	update(f, OP_OBSERVE, v, ap);
	va_end(ap);
}

void metrics_family_reset(struct metrics_family *f)
{
	size_t i;

	if (!f)
		return;
	pthread_mutex_lock(&f->reg->lock);
	for (i = 0; i < f->nr; i++)
		series_release(&f->series[i], f->nlabels);
	f->nr = 0;
	pthread_mutex_unlock(&f->reg->lock);
}

double metrics_value(struct metrics_family *f, ...)
{
	const char *vals[METRICS_MAX_LABELS];
	struct metrics_series *s;
	double v = 0;
	va_list ap;

	if (!f)
		return 0;
	va_start(ap, f);
	collect_labels(f, vals, ap);
	va_end(ap);
	pthread_mutex_lock(&f->reg->lock);
	s = series_get(f, vals, 0);
	if (s)
		v = f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&f->reg->lock);
	return v;
}

/* Go's strconv.ParseFloat reads what this writes: integers without a
 * fraction, otherwise the shortest of %.15g/%.17g that round-trips. */
static int put_value(struct gs_buf *out, double v)
{
	char tmp[64];

	if (isnan(v))
		return gs_buf_puts(out, "NaN");
	if (isinf(v))
		return gs_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	if (v == floor(v) && fabs(v) < 1e15)
		return gs_buf_printf(out, "%.0f", v);
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	return gs_buf_puts(out, tmp);
}

/* Label values escape backslash, double quote and newline; HELP text escapes
 * backslash and newline only (the format's two escaping rules). */
static int put_escaped(struct gs_buf *out, const char *s, int quote)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		if (*s == '\\')
			rc = gs_buf_puts(out, "\\\\");
		else if (*s == '\n')
			rc = gs_buf_puts(out, "\\n");
		else if (quote && *s == '"')
			rc = gs_buf_puts(out, "\\\"");
		else
			rc = gs_buf_putc(out, *s);
	}
	return rc;
}

/* name{l1="v1",...[,le="x"]} */
static int put_series_name(struct gs_buf *out, const struct metrics_family *f,
			   const struct metrics_series *s, const char *suffix, const double *le)
{
	size_t i;
	int rc = gs_buf_puts(out, f->name);

	if (!rc && suffix)
		rc = gs_buf_puts(out, suffix);
	if (rc || (!f->nlabels && !le))
		return rc;
	rc = gs_buf_putc(out, '{');
	for (i = 0; i < f->nlabels && !rc; i++) {
		rc = gs_buf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
		if (!rc)
			rc = put_escaped(out, s->values[i], 1);
		if (!rc)
			rc = gs_buf_putc(out, '"');
	}
	if (!rc && le) {
		rc = gs_buf_printf(out, "%sle=\"", f->nlabels ? "," : "");
		if (!rc)
			rc = put_value(out, *le);
		if (!rc)
			rc = gs_buf_putc(out, '"');
	}
	if (!rc)
		rc = gs_buf_putc(out, '}');
	return rc;
}

static int render_family(struct gs_buf *out, const struct metrics_family *f)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };
	static const double inf = INFINITY;
	size_t i, b;
	int rc;

	rc = gs_buf_printf(out, "# HELP %s ", f->name);
	if (!rc)
		rc = put_escaped(out, f->help, 0);
	if (!rc)
		rc = gs_buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
	for (i = 0; i < f->nr && !rc; i++) {
		const struct metrics_series *s = &f->series[i];
		if (f->type != METRICS_HISTOGRAM) {
			rc = put_series_name(out, f, s, NULL, NULL);
			if (!rc)
				rc = gs_buf_putc(out, ' ');
			if (!rc)
				rc = put_value(out, s->value);
			if (!rc)
				rc = gs_buf_putc(out, '\n');
			continue;
		}
		uint64_t cum = 0;
		for (b = 0; b <= f->nbounds && !rc; b++) {
			cum += b < f->nbounds ? s->buckets[b] : 0;
			rc = put_series_name(out, f, s, "_bucket",
					     b < f->nbounds ? &f->bounds[b] : &inf);
			if (!rc)
				rc = gs_buf_printf(out, " %llu\n",
						   (unsigned long long)(b < f->nbounds ? cum : s->count));
		}
		if (!rc)
			rc = put_series_name(out, f, s, "_sum", NULL);
		if (!rc)
			rc = gs_buf_putc(out, ' ');
		if (!rc)
			rc = put_value(out, s->sum);
		if (!rc)
			rc = gs_buf_putc(out, '\n');
		if (!rc)
			rc = put_series_name(out, f, s, "_count", NULL);
		if (!rc)
			rc = gs_buf_printf(out, " %llu\n", (unsigned long long)s->count);
	}
	return rc;
}

int metrics_render(struct metrics_registry *r, struct gs_buf *out)
{
	metrics_collect_fn fn;
	void *payload;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	fn = r->collect;
	payload = r->collect_payload;
	pthread_mutex_unlock(&r->lock);
	if (fn)
		fn(r, payload);

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nr && !rc; i++)
		rc = render_family(out, r->fams[i]);
	if (!rc)
		rc = gs_buf_printf(out,
				   "# HELP gitsync_metrics_dropped_series_total Metric updates "
				   "dropped because a family reached its series limit.\n"
				   "# TYPE gitsync_metrics_dropped_series_total counter\n"
				   "gitsync_metrics_dropped_series_total %.0f\n",
				   r->dropped);
	pthread_mutex_unlock(&r->lock);
	return rc;
}
