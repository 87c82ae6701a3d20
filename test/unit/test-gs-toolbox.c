/* test-gs-toolbox.c - the shared base helpers: base64 (gs-base64.h), clocks,
 * RFC 3339 and durations (gs-time.h), FNV-1a and the hash index
 * (gs-hash.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "gs-base64.h"
#include "gs-buf.h"
#include "gs-hash.h"
#include "gs-time.h"

static char *enc(const char *s, size_t n, unsigned flags)
{
	struct gs_buf b = GS_BUF_INIT;

	assert_int_equal(gs_base64_encode(&b, s, n, flags), GS_OK);
	return gs_buf_detach(&b, NULL);
}

static int dec(struct gs_buf *b, const char *s, unsigned flags)
{
	struct gs_error err = GS_ERROR_INIT;

	gs_buf_reset(b);
	return gs_base64_decode(b, s, strlen(s), flags, &err);
}

static void test_gs_base64__rfc4648_vectors_both_ways(void **state)
{
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *b64[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	struct gs_buf b = GS_BUF_INIT;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(plain) / sizeof(*plain); i++) {
		char *e = enc(plain[i], strlen(plain[i]), 0);

		assert_string_equal(e, b64[i]);
		free(e);
		assert_int_equal(dec(&b, b64[i], 0), GS_OK);
		assert_int_equal(b.len, strlen(plain[i]));
		assert_string_equal(b.ptr, plain[i]);
	}
	gs_buf_release(&b);
}

static void test_gs_base64__binary_and_url_alphabet(void **state)
{
	const char bin[] = { (char)0xfb, (char)0xff, (char)0xbf, 0, 1 };
	struct gs_buf b = GS_BUF_INIT;
	char *e;
	(void)state;

	e = enc(bin, sizeof(bin), 0);
	assert_string_equal(e, "+/+/AAE=");
	free(e);
	e = enc(bin, sizeof(bin), GS_BASE64_URL);
	assert_string_equal(e, "-_-_AAE"); /* no padding */
	free(e);
	assert_int_equal(dec(&b, "-_-_AAE", GS_BASE64_URL | GS_BASE64_LENIENT), GS_OK);
	assert_int_equal(b.len, sizeof(bin));
	assert_memory_equal(b.ptr, bin, sizeof(bin)); /* NUL bytes kept, length exact */
	gs_buf_release(&b);
}

static void test_gs_base64__strict_rejects_what_lenient_allows(void **state)
{
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	/* kubeconfig certificate data: wrapped lines, padding dropped */
	assert_int_equal(dec(&b, "Zm9v\nYmE", GS_BASE64_LENIENT), GS_OK);
	assert_string_equal(b.ptr, "fooba");
	assert_int_equal(dec(&b, "Zm9v\nYmE=", 0), GS_EINVAL);
	assert_int_equal(dec(&b, "Zm9vYmE", 0), GS_EINVAL);
	/* always wrong */
	assert_int_equal(dec(&b, "Zm9v!", GS_BASE64_LENIENT), GS_EINVAL);
	assert_int_equal(dec(&b, "Zg==Zg==", GS_BASE64_LENIENT), GS_EINVAL);
	assert_int_equal(dec(&b, "Z", GS_BASE64_LENIENT), GS_EINVAL);
	assert_int_equal(dec(&b, "Zg===", GS_BASE64_LENIENT), GS_EINVAL);
	assert_int_equal(dec(&b, "-_-_", 0), GS_EINVAL); /* URL alphabet only with the flag */
	/* the error says where, and the buffer is left as it was */
	gs_buf_reset(&b);
	gs_buf_puts(&b, "keep");
	assert_int_equal(gs_base64_decode(&b, "Zm9v*m9v", 8, 0, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "offset 4"));
	assert_string_equal(b.ptr, "keep");
	gs_buf_release(&b);
}

static void test_gs_base64__respects_buffer_cap(void **state)
{
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	(void)state;

	b.max = 4;
	assert_int_equal(gs_base64_encode(&b, "foobar", 6, 0), GS_ELIMIT);
	assert_int_equal(b.len, 0);
	assert_int_equal(gs_base64_decode(&b, "Zm9vYmFy", 8, 0, &err), GS_ELIMIT);
	assert_int_equal(b.len, 0);
	gs_buf_release(&b);
}

static void test_gs_hex__digits_either_case_and_nothing_else(void **state)
{
	(void)state;
	assert_int_equal(gs_hex_digit('0'), 0);
	assert_int_equal(gs_hex_digit('9'), 9);
	assert_int_equal(gs_hex_digit('a'), 10);
	assert_int_equal(gs_hex_digit('F'), 15);
	assert_int_equal(gs_hex_digit('g'), -1);
	assert_int_equal(gs_hex_digit('%'), -1);
	assert_int_equal(gs_hex_digit((char)0xe9), -1); /* a negative char */
}

static void test_gs_time__clocks_are_distinct_and_move_forward(void **state)
{
	double m0 = gs_time_mono(), w = gs_time_wall(), m1;
	struct timespec ts = { 0, 2000000 };
	(void)state;

	nanosleep(&ts, NULL);
	m1 = gs_time_mono();
	assert_true(m1 - m0 >= 0.0019 && m1 - m0 < 5);
	/* the wall clock is epoch-based (after 2020), the monotonic one is not */
	assert_true(w > 1577836800.0);
	assert_true(w - (double)time(NULL) < 2 && (double)time(NULL) - w < 2);
}

static void test_gs_time__rfc3339_round_trip_offsets_and_fractions(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	char buf[GS_TIME_RFC3339_SIZE];
	double t;
	(void)state;

	assert_string_equal(gs_time_rfc3339(buf, 1136214245.75), "2006-01-02T15:04:05Z");
	assert_int_equal(gs_time_parse_rfc3339(&t, "2006-01-02T15:04:05Z", &err), GS_OK);
	assert_true(t == 1136214245.0);
	/* the same instant with an offset, and a Lease's MicroTime */
	assert_int_equal(gs_time_parse_rfc3339(&t, "2006-01-02T17:04:05+02:00", &err), GS_OK);
	assert_true(t == 1136214245.0);
	assert_int_equal(gs_time_parse_rfc3339(&t, "2006-01-02T10:04:05-05:00", &err), GS_OK);
	assert_true(t == 1136214245.0);
	assert_int_equal(gs_time_parse_rfc3339(&t, "2006-01-02T15:04:05.250000Z", &err), GS_OK);
	assert_true(t == 1136214245.25);
	/* not RFC 3339 */
	assert_int_equal(gs_time_parse_rfc3339(&t, "2006-01-02 15:04:05Z", &err), GS_EINVAL);
	assert_int_equal(gs_time_parse_rfc3339(&t, "2006-01-02T15:04:05", &err), GS_EINVAL);
	assert_int_equal(gs_time_parse_rfc3339(&t, "2006-13-02T15:04:05Z", &err), GS_EINVAL);
	assert_int_equal(gs_time_parse_rfc3339(&t, "2006-01-02T15:04:05Zjunk", &err), GS_EINVAL);
	assert_int_equal(gs_time_parse_rfc3339(&t, NULL, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "RFC 3339"));
}

static void test_gs_time__durations_go_style_or_seconds(void **state)
{
	(void)state;
	assert_true(gs_time_parse_duration("90s") == 90);
	assert_true(gs_time_parse_duration("3m") == 180);
	assert_true(gs_time_parse_duration("1h30m") == 5400);
	assert_true(gs_time_parse_duration("500ms") == 0.5);
	assert_true(gs_time_parse_duration("2") == 2);
	assert_true(gs_time_parse_duration("1.5s") == 1.5);
	assert_true(gs_time_parse_duration("") < 0);
	assert_true(gs_time_parse_duration("5x") < 0);
	assert_true(gs_time_parse_duration("-1s") < 0);
	assert_true(gs_time_parse_duration(NULL) < 0);
}

static void test_gs_hash__fnv1a_known_values_and_fields(void **state)
{
	(void)state;
	/* reference values of FNV-1a 64 */
	assert_true(gs_fnv1a(GS_FNV1A_INIT, "", 0) == 0xcbf29ce484222325ULL);
	assert_true(gs_fnv1a(GS_FNV1A_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(gs_fnv1a(GS_FNV1A_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
	/* field separators tell ("ab","c") from ("a","bc") */
	assert_true(gs_fnv1a_field(gs_fnv1a_field(GS_FNV1A_INIT, "ab"), "c") !=
		    gs_fnv1a_field(gs_fnv1a_field(GS_FNV1A_INIT, "a"), "bc"));
	assert_true(gs_fnv1a_field(GS_FNV1A_INIT, NULL) == gs_fnv1a_field(GS_FNV1A_INIT, ""));
	assert_true(gs_fnv1a_field_n(GS_FNV1A_INIT, "apps/v1", 4) == gs_fnv1a_field(GS_FNV1A_INIT, "apps"));
}

static void test_gs_hash__index_finds_every_position_under_collisions(void **state)
{
	struct gs_hidx x = GS_HIDX_INIT;
	size_t i, it, pos, seen;
	(void)state;

	assert_true(gs_hidx_next(&x, 1, &(size_t){ 0 }) == SIZE_MAX); /* empty */
	for (i = 0; i < 1000; i++)
		gs_hidx_put(&x, i % 10 == 0 ? 42 : i * 7919, i); /* 100 share hash 42 */
	assert_true(x.cap >= 2000);
	for (seen = 0, it = 0; (pos = gs_hidx_next(&x, 42, &it)) != SIZE_MAX; seen++)
		assert_true(pos % 10 == 0);
	assert_int_equal(seen, 100);
	it = 0;
	assert_int_equal(gs_hidx_next(&x, 13 * 7919, &it), 13);
	gs_hidx_clear(&x);
	it = 0;
	assert_true(gs_hidx_next(&x, 42, &it) == SIZE_MAX);
	gs_hidx_release(&x);
}

static void test_gs_hash__strmap_put_get_replace(void **state)
{
	struct gs_strmap m = GS_STRMAP_INIT;
	char key[32];
	size_t i;
	(void)state;

	assert_null(gs_strmap_get(&m, "nothing"));
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "apps/Deployment:ns/%zu", i);
		gs_strmap_put(&m, key, i);
	}
	gs_strmap_put(&m, "apps/Deployment:ns/7", 7000);
	assert_int_equal(m.n, 500);
	assert_int_equal(*gs_strmap_get(&m, "apps/Deployment:ns/7"), 7000);
	assert_int_equal(*gs_strmap_get(&m, "apps/Deployment:ns/499"), 499);
	assert_null(gs_strmap_get(&m, "apps/Deployment:ns/500"));
	gs_strmap_release(&m);
	assert_null(gs_strmap_get(&m, "apps/Deployment:ns/1")); /* released = empty */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gs_base64__rfc4648_vectors_both_ways),
		cmocka_unit_test(test_gs_base64__binary_and_url_alphabet),
		cmocka_unit_test(test_gs_base64__strict_rejects_what_lenient_allows),
		cmocka_unit_test(test_gs_base64__respects_buffer_cap),
		cmocka_unit_test(test_gs_hex__digits_either_case_and_nothing_else),
		cmocka_unit_test(test_gs_time__clocks_are_distinct_and_move_forward),
		cmocka_unit_test(test_gs_time__rfc3339_round_trip_offsets_and_fractions),
		cmocka_unit_test(test_gs_time__durations_go_style_or_seconds),
		cmocka_unit_test(test_gs_hash__fnv1a_known_values_and_fields),
		cmocka_unit_test(test_gs_hash__index_finds_every_position_under_collisions),
		cmocka_unit_test(test_gs_hash__strmap_put_get_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
