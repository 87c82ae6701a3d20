/* test-metrics.c - the Prometheus metrics registry and its text format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "httpd/metrics.h"

static char *render(struct metrics_registry *r)
{
	struct gs_buf b = GS_BUF_INIT;

	assert_int_equal(metrics_render(r, &b), 0);
	return gs_buf_detach(&b, NULL);
}

static void test_metrics__counter_with_labels_renders_help_type_and_series(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	struct metrics_family *f =
		metrics_counter(r, "gitsync_webhook_events_total", "Webhook deliveries.", "forge,result");
	char *s;
	(void)state;

	metrics_add(f, 1, "github", "refreshed");
	metrics_add(f, 2, "github", "refreshed");
	metrics_add(f, 1, "gitlab", "unauthorized");
	metrics_add(f, -5, "github", "refreshed"); /* counters never go down */
	assert_true(metrics_value(f, "github", "refreshed") == 3);
	assert_true(metrics_value(f, "gitea", "refreshed") == 0);
	s = render(r);
	assert_non_null(strstr(s, "# HELP gitsync_webhook_events_total Webhook deliveries.\n"
				  "# TYPE gitsync_webhook_events_total counter\n"
				  "gitsync_webhook_events_total{forge=\"github\",result=\"refreshed\"} 3\n"
				  "gitsync_webhook_events_total{forge=\"gitlab\",result=\"unauthorized\"} 1\n"));
	free(s);
	metrics_registry_free(r);
}

static void test_metrics__gauge_set_add_reset_and_fractional_values(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	struct metrics_family *g = metrics_gauge(r, "gitsync_apps", "Apps.", "sync_status");
	char *s;
	(void)state;

	metrics_set(g, 4, "Synced");
	metrics_add(g, -1, "Synced");
	metrics_set(g, 0.25, "OutOfSync");
	assert_true(metrics_value(g, "Synced") == 3);
	s = render(r);
	assert_non_null(strstr(s, "gitsync_apps{sync_status=\"Synced\"} 3\n"));
	assert_non_null(strstr(s, "gitsync_apps{sync_status=\"OutOfSync\"} 0.25\n"));
	free(s);
	metrics_family_reset(g);
	s = render(r);
	assert_null(strstr(s, "gitsync_apps{"));
	assert_non_null(strstr(s, "# TYPE gitsync_apps gauge\n"));
	free(s);
	metrics_registry_free(r);
}

static void test_metrics__histogram_buckets_are_cumulative_with_inf_sum_count(void **state)
{
	static const double bounds[] = { 0.1, 1 };
	struct metrics_registry *r = metrics_registry_new();
	struct metrics_family *h =
		metrics_histogram(r, "gitsync_reconcile_duration_seconds", "Reconcile time.", "",
				  bounds, 2);
	char *s;
	(void)state;

	metrics_observe(h, 0.05);
	metrics_observe(h, 0.5);
	metrics_observe(h, 0.5);
	metrics_observe(h, 7);
	assert_true(metrics_value(h) == 4);
	s = render(r);
	assert_non_null(strstr(s, "# TYPE gitsync_reconcile_duration_seconds histogram\n"
				  "gitsync_reconcile_duration_seconds_bucket{le=\"0.1\"} 1\n"
				  "gitsync_reconcile_duration_seconds_bucket{le=\"1\"} 3\n"
				  "gitsync_reconcile_duration_seconds_bucket{le=\"+Inf\"} 4\n"
				  "gitsync_reconcile_duration_seconds_sum 8.05\n"
				  "gitsync_reconcile_duration_seconds_count 4\n"));
	free(s);
	metrics_registry_free(r);
}

static void test_metrics__label_values_and_help_are_escaped(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	struct metrics_family *f = metrics_counter(r, "x_total", "a \\ b\nc \"q\"", "v");
	char *s;
	(void)state;

	metrics_add(f, 1, "q\"b\\s\nn");
	metrics_add(f, 1, (const char *)NULL);
	s = render(r);
	assert_non_null(strstr(s, "# HELP x_total a \\\\ b\\nc \"q\"\n"));
	assert_non_null(strstr(s, "x_total{v=\"q\\\"b\\\\s\\nn\"} 1\n"));
	assert_non_null(strstr(s, "x_total{v=\"\"} 1\n"));
	free(s);
	metrics_registry_free(r);
}

static void test_metrics__same_name_returns_same_family_and_wrong_type_ops_ignored(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	struct metrics_family *a = metrics_counter(r, "c_total", "c", NULL);
	struct metrics_family *b = metrics_counter(r, "c_total", "c", NULL);
	(void)state;

	assert_ptr_equal(a, b);
	metrics_set(a, 10);      /* set on a counter: ignored */
	metrics_observe(a, 10);  /* observe on a counter: ignored */
	metrics_add(a, 2);
	assert_true(metrics_value(a) == 2);
	metrics_registry_free(r);
}

static void test_metrics__series_limit_bounds_memory(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	struct metrics_family *f = metrics_counter(r, "codes_total", "c", "code");
	char v[16], *s;
	int i;
	(void)state;

	for (i = 0; i < METRICS_MAX_SERIES + 10; i++) {
		snprintf(v, sizeof(v), "%d", i);
		metrics_add(f, 1, v);
	}
	assert_true(metrics_value(f, "0") == 1);
	snprintf(v, sizeof(v), "%d", METRICS_MAX_SERIES + 5);
	assert_true(metrics_value(f, v) == 0);
	s = render(r);
	assert_non_null(strstr(s, "gitsync_metrics_dropped_series_total 10\n"));
	free(s);
	metrics_registry_free(r);
}

static void collect(struct metrics_registry *r, void *payload)
{
	int *calls = payload;

	(*calls)++;
	metrics_set(metrics_gauge(r, "cache_objects", "Objects.", NULL), (double)*calls * 10);
}

static void test_metrics__collect_hook_refreshes_gauges_before_render(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	int calls = 0;
	char *s;
	(void)state;

	metrics_registry_on_collect(r, collect, &calls);
	s = render(r);
	assert_non_null(strstr(s, "cache_objects 10\n"));
	free(s);
	s = render(r);
	assert_non_null(strstr(s, "cache_objects 20\n"));
	free(s);
	metrics_registry_free(r);
}

/* Every line is a comment (# HELP/# TYPE) or `name[{labels}] value`; the
 * integration tests run a full Prometheus parser on the live endpoint. */
static void test_metrics__every_line_has_the_text_format_shape(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	char *s, *line, *save = NULL;
	(void)state;

	metrics_add(metrics_counter(r, "a_total", "A.", "x,y"), 1, "1", "2");
	metrics_observe(metrics_histogram(r, "b_seconds", "B.", "k", NULL, 0), 0.3, "v");
	metrics_set(metrics_gauge(r, "c", "C.", NULL), -1.5);
	s = render(r);
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *sp;
		if (line[0] == '#') {
			assert_true(!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7));
			continue;
		}
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		assert_true(sp[1] != '\0');
		{
			char *end = NULL;
			double v = strtod(sp + 1, &end);
			(void)v;
			assert_true(*end == '\0');
		}
	}
	free(s);
	metrics_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics__counter_with_labels_renders_help_type_and_series),
		cmocka_unit_test(test_metrics__gauge_set_add_reset_and_fractional_values),
		cmocka_unit_test(test_metrics__histogram_buckets_are_cumulative_with_inf_sum_count),
		cmocka_unit_test(test_metrics__label_values_and_help_are_escaped),
		cmocka_unit_test(test_metrics__same_name_returns_same_family_and_wrong_type_ops_ignored),
		cmocka_unit_test(test_metrics__series_limit_bounds_memory),
		cmocka_unit_test(test_metrics__collect_hook_refreshes_gauges_before_render),
		cmocka_unit_test(test_metrics__every_line_has_the_text_format_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
