/* metrics.h - a small Prometheus metrics registry: counters, gauges and
 * histograms with labels, rendered in the text exposition format 0.0.4.
 *
 * Thread-safe: every call takes the registry's mutex, so the reconcile
 * workers, the kube client and the HTTP threads may all update metrics while
 * /metrics renders them.  Families are created at start and live as long as
 * the registry; a family pointer is borrowed from the registry.
 *
 * Memory is bounded: a family holds at most METRICS_MAX_SERIES label
 * combinations; updates of further combinations are dropped (and counted in
 * gitsync_metrics_dropped_series_total) rather than growing without limit
 * when a label takes values from the outside (a status code, a forge).
 */
#ifndef GS_METRICS_H
#define GS_METRICS_H

#include <stddef.h>

#include "gs-buf.h"

#define METRICS_MAX_SERIES 512
#define METRICS_MAX_LABELS 4

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics_registry;
struct metrics_family;

/* Called at the start of every render, under no lock: the place to refresh
 * gauges computed from caches (objects in the watch cache, apps by status). */
typedef void (*metrics_collect_fn)(struct metrics_registry *r, void *payload);

struct metrics_registry *metrics_registry_new(void);
/* Frees every family.  NULL is a no-op. */
void metrics_registry_free(struct metrics_registry *r);
/* Set (or clear, with NULL) the collect hook.  payload borrowed. */
void metrics_registry_on_collect(struct metrics_registry *r, metrics_collect_fn fn, void *payload);

/* Register a family, or return the existing one of that name (same type and
 * labels expected).  name must match [a-zA-Z_:][a-zA-Z0-9_:]*; labels is a
 * comma-separated list of label names ("forge,result") or NULL/"" for none,
 * at most METRICS_MAX_LABELS.  Invalid names abort: they are constants in
 * the code, so this is a programming error.  Strings are copied. */
struct metrics_family *metrics_counter(struct metrics_registry *r, const char *name,
				       const char *help, const char *labels);
struct metrics_family *metrics_gauge(struct metrics_registry *r, const char *name, const char *help,
				     const char *labels);
/* bounds: increasing upper bounds (without +Inf); copied.  NULL/0 = the
 * default duration buckets (5 ms ... 60 s). */
struct metrics_family *metrics_histogram(struct metrics_registry *r, const char *name,
					 const char *help, const char *labels, const double *bounds,
					 size_t nbounds);

/* Updates.  The variadic arguments are the label values (const char *, one
 * per label of the family, in order; NULL is taken as "").  A family of the
 * wrong type for the call is left unchanged. */
void metrics_add(struct metrics_family *f, double v, ...);     /* counter (v >= 0) or gauge */
void metrics_set(struct metrics_family *f, double v, ...);     /* gauge */
void metrics_observe(struct metrics_family *f, double v, ...); /* histogram */
/* Remove every series of the family (a gauge recomputed from scratch). */
void metrics_family_reset(struct metrics_family *f);

/* Current value of a counter/gauge series, or the observation count of a
 * histogram series; 0 when the series does not exist.  For tests. */
double metrics_value(struct metrics_family *f, ...);

/* Append the whole registry in text format 0.0.4.  Returns GS_OK or
 * GS_ELIMIT when out->max is exceeded. */
int metrics_render(struct metrics_registry *r, struct gs_buf *out);

/* The content type of metrics_render()'s output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
