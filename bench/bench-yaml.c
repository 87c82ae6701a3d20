/* bench-yaml.c - throughput of the YAML parser and emitter.
 *
 * Usage: bench-yaml [-n RUNS] FILE...
 * For the concatenated bytes of the files, prints the median over RUNS of:
 *   libyaml events  yaml_parser_parse() over the stream, nothing built (the ceiling)
 *   mf_yaml_parse   events -> mf_node trees
 *   mf_yaml_emit    trees -> YAML text
 *   parse+emit      both
 *   mf_json_emit / mf_json_parse of the same trees (compact JSON)
 * in MB/s of input YAML (JSON rows: of the JSON bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "gs-buf.h"
#include "mf-json.h"
#include "mf-yaml.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static size_t libyaml_events(const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t n = 0;
	int done = 0;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			fprintf(stderr, "libyaml: %s\n", p.problem);
			exit(1);
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		n++;
	}
	yaml_parser_delete(&p);
	return n;
}

static void report(const char *what, double *t, int runs, size_t bytes)
{
	double m = median(t, runs);
	printf("%-16s %8.1f MB/s  (median %.1f ms over %d runs)\n", what, (double)bytes / m / 1e6,
	       m * 1e3, runs);
}

int main(int argc, char **argv)
{
	struct gs_buf in = GS_BUF_INIT, out = GS_BUF_INIT, json = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	int runs = 7, i, r, a = 1;
	double *t_ev, *t_parse, *t_emit, *t_both, *t_jemit, *t_jparse;
	size_t docs = 0;

	if (argc > 2 && !strcmp(argv[1], "-n")) {
		runs = atoi(argv[2]);
		a = 3;
	}
	if (runs < 1 || a >= argc) {
		fprintf(stderr, "usage: bench-yaml [-n RUNS] FILE...\n");
		return 129;
	}
	/* one stream: documents of every file, separated like kubectl output */
	for (i = a; i < argc; i++) {
		struct gs_buf f = GS_BUF_INIT;

		if (gs_buf_read_file(&f, argv[i], &err)) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		if (in.len)
			gs_buf_puts(&in, "\n---\n");
		gs_buf_add(&in, f.ptr, f.len);
		gs_buf_release(&f);
	}
	t_ev = calloc((size_t)runs, sizeof(double));
	t_parse = calloc((size_t)runs, sizeof(double));
	t_emit = calloc((size_t)runs, sizeof(double));
	t_both = calloc((size_t)runs, sizeof(double));
	t_jemit = calloc((size_t)runs, sizeof(double));
	t_jparse = calloc((size_t)runs, sizeof(double));
	for (r = 0; r < runs; r++) {
		struct mf_docs d = MF_DOCS_INIT;
		double t0, t1, t2;
		size_t k;

		t0 = now();
		libyaml_events(in.ptr, in.len);
		t_ev[r] = now() - t0;

		t0 = now();
		if (mf_yaml_parse(&d, in.ptr, in.len, "bench", NULL, &err)) {
			fprintf(stderr, "%s: %s\n", err.where, err.msg);
			return 1;
		}
		t1 = now();
		gs_buf_reset(&out);
		mf_yaml_emit_docs(&out, d.docs, d.n, 0);
		t2 = now();
		t_parse[r] = t1 - t0;
		t_emit[r] = t2 - t1;
		t_both[r] = t2 - t0;
		docs = d.n;

		gs_buf_reset(&json);
		t0 = now();
		for (k = 0; k < d.n; k++) {
			mf_json_emit(&json, d.docs[k], 0);
			gs_buf_putc(&json, '\n');
		}
		t_jemit[r] = now() - t0;
		mf_docs_release(&d);

		t0 = now();
		{
			/* one JSON value per line */
			const char *p = json.ptr, *end = json.ptr + json.len;
			while (p < end) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				struct mf_node *n = NULL;
				if (mf_json_parse(&n, p, (size_t)(nl - p), "bench.json", &err)) {
					fprintf(stderr, "json: %s\n", err.msg);
					return 1;
				}
				mf_node_free(n);
				p = nl + 1;
			}
		}
		t_jparse[r] = now() - t0;
	}
	printf("input: %zu bytes of YAML, %zu documents; emitted %zu bytes YAML, %zu bytes JSON\n",
	       in.len, docs, out.len, json.len);
	report("libyaml events", t_ev, runs, in.len);
	report("mf_yaml_parse", t_parse, runs, in.len);
	report("mf_yaml_emit", t_emit, runs, in.len);
	report("parse+emit", t_both, runs, in.len);
	report("mf_json_emit", t_jemit, runs, json.len);
	report("mf_json_parse", t_jparse, runs, json.len);
	free(t_ev);
	free(t_parse);
	free(t_emit);
	free(t_both);
	free(t_jemit);
	free(t_jparse);
	gs_buf_release(&in);
	gs_buf_release(&out);
	gs_buf_release(&json);
	return 0;
}
