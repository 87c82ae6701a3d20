/* test-httpd-server.c - the HTTP server end to end over loopback: probes,
 * metrics, webhook verification and limits, API authentication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "httpd/apiclient.h"
#include "httpd/httpd.h"

#define SYNC_TOKEN "gst_sync-token-for-tests"
#define READ_TOKEN "gst_read-token-for-tests"
#define GH_SECRET "gh-secret"

struct fixture {
	struct httpd *h;
	struct metrics_registry *m;
	struct httpd_ops ops;
	struct httpd_config cfg;
	bool ready;
	pthread_mutex_t lock;
	unsigned refreshes;     /* pushes that matched our app */
	char last_body[256];   /* body of the last API call */
	char last_token[64];
};

static const char *app_repo = "https://github.com/acme/deploy.git";

static bool fx_ready(void *payload)
{
	struct fixture *fx = payload;

	return fx->ready;
}

static int fx_push(void *payload, const struct webhook_push *push, size_t *matched,
		   struct gs_error *err)
{
	struct fixture *fx = payload;
	(void)err;

	*matched = webhook_push_matches(push, app_repo, "main") ? 1 : 0;
	pthread_mutex_lock(&fx->lock);
	fx->refreshes += (unsigned)*matched;
	pthread_mutex_unlock(&fx->lock);
	return 0;
}

static int fx_api(void *payload, const struct httpd_api_request *req,
		  struct httpd_api_response *resp, struct gs_error *err)
{
	struct fixture *fx = payload;

	pthread_mutex_lock(&fx->lock);
	snprintf(fx->last_body, sizeof(fx->last_body), "%s", req->body);
	snprintf(fx->last_token, sizeof(fx->last_token), "%s", req->token_name);
	pthread_mutex_unlock(&fx->lock);
	if (req->name && !strcmp(req->name, "missing"))
		return gs_error_set(err, GS_ENOTFOUND, "application 'missing' not found");
	if (req->action && !strcmp(req->action, "sync")) {
		resp->status = 202;
		gs_buf_printf(&resp->body, "{\"operation\":\"sync\",\"app\":\"%s\",\"ns\":\"%s\"}",
			      req->name, req->namespace ? req->namespace : "");
		return 0;
	}
	gs_buf_printf(&resp->body, "{\"items\":[],\"name\":\"%s\",\"action\":\"%s\"}",
		      req->name ? req->name : "", req->action ? req->action : "");
	return 0;
}

/* The agent's routes (loop/api.c), all answered by fx_api. */
static const struct httpd_api_route fx_routes[] = {
	{ "GET", false, NULL, APITOKEN_READ, fx_api },
	{ "GET", true, NULL, APITOKEN_READ, fx_api },
	{ "GET", true, "diff", APITOKEN_READ, fx_api },
	{ "GET", true, "operation", APITOKEN_READ, fx_api },
	{ "POST", true, "sync", APITOKEN_SYNC, fx_api },
	{ "POST", true, "refresh", APITOKEN_SYNC, fx_api },
};

static struct apitoken_table *tokens(void)
{
	char h1[65], h2[65], *text;
	struct apitoken_table *t = NULL;

	apitoken_sha256_hex(h1, SYNC_TOKEN, strlen(SYNC_TOKEN));
	apitoken_sha256_hex(h2, READ_TOKEN, strlen(READ_TOKEN));
	text = gs_asprintf("ci sync sha256:%s\nviewer read sha256:%s\n", h1, h2);
	assert_int_equal(apitoken_table_parse(&t, text, strlen(text), NULL), 0);
	free(text);
	return t;
}

static int setup(void **state)
{
	struct fixture *fx = gs_calloc(1, sizeof(*fx));
	struct httpd_secrets s = { .github = GH_SECRET, .gitlab = "gl-token" };
	struct gs_error err = GS_ERROR_INIT;

	pthread_mutex_init(&fx->lock, NULL);
	fx->m = metrics_registry_new();
	fx->ops = (struct httpd_ops){ fx_ready, fx_push, fx_routes,
				      sizeof(fx_routes) / sizeof(fx_routes[0]), fx };
	fx->cfg.listen = "127.0.0.1:0";
	fx->cfg.webhook_max_bytes = 4096;
	if (httpd_start(&fx->h, &fx->cfg, &fx->ops, fx->m, &err)) {
		fprintf(stderr, "httpd_start: %s\n", err.msg);
		return -1;
	}
	httpd_set_secrets(fx->h, &s, tokens());
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	httpd_stop(fx->h);
	metrics_registry_free(fx->m);
	pthread_mutex_destroy(&fx->lock);
	free(fx);
	return 0;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	gs_buf_add(ud, p, sz * n);
	return sz * n;
}

struct chunked {
	size_t left;
};

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
	struct chunked *c = ud;
	size_t k = sz * n < c->left ? sz * n : c->left;

	memset(p, 'x', k);
	c->left -= k;
	return k;
}

/* One request; returns the status and fills out with the body. */
static long http(struct fixture *fx, const char *method, const char *path, const char *const *hdrs,
		 const char *body, long chunked_len, struct gs_buf *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *list = NULL;
	struct chunked ch = { (size_t)(chunked_len > 0 ? chunked_len : 0) };
	char url[256];
	long code = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", httpd_port(fx->h), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	for (; hdrs && *hdrs; hdrs++)
		list = curl_slist_append(list, *hdrs);
	list = curl_slist_append(list, "Expect:");
	if (chunked_len > 0) {
		list = curl_slist_append(list, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &ch);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(list);
	curl_easy_cleanup(c);
	return code;
}

static const char push_body[] =
	"{\"ref\":\"refs/heads/main\",\"after\":\"1111111111111111111111111111111111111111\","
	"\"repository\":{\"clone_url\":\"https://github.com/Acme/Deploy.git\","
	"\"ssh_url\":\"git@github.com:Acme/Deploy.git\",\"default_branch\":\"main\"}}";

static unsigned refreshes(struct fixture *fx)
{
	unsigned n;

	pthread_mutex_lock(&fx->lock);
	n = fx->refreshes;
	pthread_mutex_unlock(&fx->lock);
	return n;
}

static void test_httpd__probes_follow_readiness(void **state)
{
	struct fixture *fx = *state;
	struct gs_buf b = GS_BUF_INIT;

	assert_int_equal(http(fx, "GET", "/healthz", NULL, NULL, 0, &b), 200);
	assert_int_equal(http(fx, "GET", "/readyz", NULL, NULL, 0, &b), 503);
	fx->ready = true;
	assert_int_equal(http(fx, "GET", "/readyz", NULL, NULL, 0, &b), 200);
	assert_int_equal(http(fx, "GET", "/nope", NULL, NULL, 0, &b), 404);
	gs_buf_release(&b);
}

static void test_httpd__signed_github_push_refreshes_once_and_replay_is_dropped(void **state)
{
	struct fixture *fx = *state;
	struct gs_buf b = GS_BUF_INIT;
	char hex[65], sig[100];
	const char *hdrs[] = { "X-GitHub-Event: push", sig, "X-GitHub-Delivery: d-1",
			       "Content-Type: application/json", NULL };

	webhook_hmac_sha256_hex(hex, GH_SECRET, strlen(GH_SECRET), push_body, strlen(push_body));
	snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hex);
	assert_int_equal(http(fx, "POST", "/api/webhook", hdrs, push_body, 0, &b), 200);
	assert_string_equal(b.ptr, "{\"matched\":1}\n");
	assert_int_equal(refreshes(fx), 1);
	gs_buf_reset(&b);
	/* the same delivery again: acknowledged, not acted on */
	assert_int_equal(http(fx, "POST", "/api/webhook", hdrs, push_body, 0, &b), 200);
	assert_non_null(strstr(b.ptr, "duplicate"));
	assert_int_equal(refreshes(fx), 1);
	gs_buf_release(&b);
	b = (struct gs_buf)GS_BUF_INIT;
	assert_int_equal(http(fx, "GET", "/metrics", NULL, NULL, 0, &b), 200);
	assert_non_null(strstr(b.ptr, "gitsync_webhook_events_total{forge=\"github\",result=\"refreshed\"} 1\n"));
	assert_non_null(strstr(b.ptr, "gitsync_webhook_events_total{forge=\"github\",result=\"duplicate\"} 1\n"));
	gs_buf_release(&b);
}

static void test_httpd__unsigned_or_wrongly_signed_webhook_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct gs_buf b = GS_BUF_INIT;
	const char *unsigned_hdrs[] = { "X-GitHub-Event: push", NULL };
	const char *wrong[] = { "X-GitHub-Event: push",
				"X-Hub-Signature-256: sha256=0000000000000000000000000000000000000000000000000000000000000000",
				NULL };
	const char *gitea_unconfigured[] = { "X-Gitea-Event: push", "X-Gitea-Signature: 00", NULL };
	const char *none[] = { "X-Something: 1", NULL };

	assert_int_equal(http(fx, "POST", "/api/webhook", unsigned_hdrs, push_body, 0, &b), 401);
	assert_int_equal(http(fx, "POST", "/api/webhook", wrong, push_body, 0, &b), 401);
	assert_int_equal(http(fx, "POST", "/api/webhook", gitea_unconfigured, push_body, 0, &b), 401);
	assert_int_equal(http(fx, "POST", "/api/webhook", none, push_body, 0, &b), 400);
	assert_int_equal(http(fx, "GET", "/api/webhook", unsigned_hdrs, NULL, 0, &b), 405);
	assert_int_equal(refreshes(fx), 0);
	gs_buf_release(&b);
}

static void test_httpd__gitlab_token_ping_and_malformed_signed_body(void **state)
{
	struct fixture *fx = *state;
	struct gs_buf b = GS_BUF_INIT;
	const char *gl_push[] = { "X-Gitlab-Event: Push Hook", "X-Gitlab-Token: gl-token", NULL };
	const char *gl_issue[] = { "X-Gitlab-Event: Issue Hook", "X-Gitlab-Token: gl-token", NULL };
	const char *gl_body = "{\"ref\":\"refs/heads/main\",\"project\":{\"git_ssh_url\":"
			      "\"git@github.com:acme/deploy.git\"}}";

	assert_int_equal(http(fx, "POST", "/api/webhook", gl_push, gl_body, 0, &b), 200);
	assert_int_equal(refreshes(fx), 1);
	gs_buf_reset(&b);
	assert_int_equal(http(fx, "POST", "/api/webhook", gl_issue, "{}", 0, &b), 200);
	assert_non_null(strstr(b.ptr, "ignored"));
	assert_int_equal(http(fx, "POST", "/api/webhook", gl_push, "{\"ref\":", 0, &b), 400);
	assert_int_equal(refreshes(fx), 1);
	gs_buf_release(&b);
}

static void test_httpd__oversized_webhook_gets_413_declared_or_chunked(void **state)
{
	struct fixture *fx = *state;
	struct gs_buf b = GS_BUF_INIT;
	const char *hdrs[] = { "X-GitHub-Event: push", "X-Hub-Signature-256: sha256=00", NULL };
	char *big = gs_malloc(5000);

	memset(big, 'a', 4999);
	big[4999] = '\0';
	assert_int_equal(http(fx, "POST", "/api/webhook", hdrs, big, 0, &b), 413);
	assert_int_equal(http(fx, "POST", "/api/webhook", hdrs, NULL, 100000, &b), 413);
	/* the server still serves after draining */
	assert_int_equal(http(fx, "GET", "/healthz", NULL, NULL, 0, &b), 200);
	free(big);
	gs_buf_release(&b);
}

static void test_httpd__api_needs_a_token_and_the_sync_scope_to_sync(void **state)
{
	struct fixture *fx = *state;
	struct gs_buf b = GS_BUF_INIT;
	const char *rd[] = { "Authorization: Bearer " READ_TOKEN, NULL };
	const char *sy[] = { "Authorization: Bearer " SYNC_TOKEN, NULL };
	const char *bad[] = { "Authorization: Bearer gst_wrong", NULL };
	const char *basic[] = { "Authorization: Basic Y2k6eA==", NULL };

	assert_int_equal(http(fx, "GET", "/api/v1/applications", NULL, NULL, 0, &b), 401);
	assert_int_equal(http(fx, "GET", "/api/v1/applications", bad, NULL, 0, &b), 401);
	assert_int_equal(http(fx, "GET", "/api/v1/applications", basic, NULL, 0, &b), 401);
	gs_buf_reset(&b);
	assert_int_equal(http(fx, "GET", "/api/v1/applications", rd, NULL, 0, &b), 200);
	assert_non_null(strstr(b.ptr, "\"items\""));
	assert_int_equal(http(fx, "GET", "/api/v1/applications/web/diff", rd, NULL, 0, &b), 200);
	assert_int_equal(http(fx, "POST", "/api/v1/applications/web/sync", rd, "{}", 0, &b), 403);
	gs_buf_reset(&b);
	assert_int_equal(http(fx, "POST", "/api/v1/applications/web/sync?namespace=team-a", sy,
			      "{\"prune\":true}", 0, &b), 202);
	assert_string_equal(b.ptr, "{\"operation\":\"sync\",\"app\":\"web\",\"ns\":\"team-a\"}");
	assert_string_equal(fx->last_body, "{\"prune\":true}");
	assert_string_equal(fx->last_token, "ci");
	assert_int_equal(http(fx, "GET", "/api/v1/applications/missing", rd, NULL, 0, &b), 404);
	assert_int_equal(http(fx, "GET", "/api/v1/applications/Bad_Name", rd, NULL, 0, &b), 400);
	assert_int_equal(http(fx, "GET", "/api/v1/applications/web?namespace=x_y", rd, NULL, 0, &b), 400);
	/* "." and ".." are never a name or a namespace */
	assert_int_equal(http(fx, "GET", "/api/v1/applications/web?namespace=..", rd, NULL, 0, &b), 400);
	assert_int_equal(http(fx, "GET", "/api/v1/applications/web?namespace=.", rd, NULL, 0, &b), 400);
	assert_int_equal(http(fx, "GET", "/api/v1/applications/a..b", rd, NULL, 0, &b), 400);
	assert_int_equal(http(fx, "GET", "/api/v1/applications/.web", rd, NULL, 0, &b), 400);
	assert_int_equal(http(fx, "GET", "/api/v1/applications/web-?namespace=a.b", rd, NULL, 0, &b), 400);
	assert_int_equal(http(fx, "GET", "/api/v1/applications/web/delete", rd, NULL, 0, &b), 404);
	assert_int_equal(http(fx, "GET", "/api/v1/applications/web/sync", sy, NULL, 0, &b), 405);
	assert_int_equal(http(fx, "DELETE", "/api/v1/applications/web", sy, NULL, 0, &b), 405);
	gs_buf_release(&b);
}

static void test_httpd__new_secrets_replace_old_tokens(void **state)
{
	struct fixture *fx = *state;
	struct gs_buf b = GS_BUF_INIT;
	const char *sy[] = { "Authorization: Bearer " SYNC_TOKEN, NULL };
	struct httpd_secrets s = { .github = "rotated" };

	assert_int_equal(http(fx, "GET", "/api/v1/applications", sy, NULL, 0, &b), 200);
	httpd_set_secrets(fx->h, &s, NULL);
	assert_int_equal(http(fx, "GET", "/api/v1/applications", sy, NULL, 0, &b), 401);
	gs_buf_release(&b);
}

static void test_httpd__api_client_round_trip_and_errors(void **state)
{
	struct fixture *fx = *state;
	struct gs_error err = GS_ERROR_INIT;
	struct apiclient *c = NULL, *bad = NULL;
	struct mf_node *l = NULL;
	char server[64];
	struct apiclient_opts o = { .server = server, .token = SYNC_TOKEN, .plaintext = true,
				    .ns = "team-a" };
	struct apiclient_opts ob = { .server = server, .token = "gst_wrong", .plaintext = true };
	const char *res[] = { "apps:Deployment:web" };
	struct apiclient_sync_req req = { "v2", true, res, 1 };

	snprintf(server, sizeof(server), "127.0.0.1:%u", httpd_port(fx->h));
	assert_int_equal(apiclient_new(&c, &o, &err), 0);
	assert_int_equal(apiclient_list(c, &l, &err), 0);
	assert_non_null(mf_node_get(l, "items"));
	mf_node_free(l);
	assert_int_equal(apiclient_sync(c, "web", &req, &err), 0);
	assert_string_equal(fx->last_body,
			    "{\"revision\":\"v2\",\"prune\":true,\"resources\":[\"apps:Deployment:web\"]}");
	assert_int_equal(apiclient_get(c, &l, "missing", &err), GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "not found"));
	assert_int_equal(apiclient_new(&bad, &ob, &err), 0);
	assert_int_equal(apiclient_sync(bad, "web", &req, &err), GS_EAUTH);
	assert_non_null(strstr(err.msg, "401"));
	assert_null(strstr(err.msg, "gst_wrong"));
	apiclient_free(bad);
	apiclient_free(c);
}

/* A throwaway self-signed EC certificate for 127.0.0.1 into dir. */
static void make_cert(const char *cert_path, const char *key_path)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	FILE *f;

	assert_non_null(pk);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
				   -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	f = fopen(cert_path, "w");
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key_path, "w");
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void test_httpd__tls_when_given_a_certificate(void **state)
{
	struct httpd_ops ops = { NULL, NULL, NULL, 0, NULL };
	struct httpd_config cfg = { 0 };
	struct gs_error err = GS_ERROR_INIT;
	struct httpd *h = NULL;
	char dir[] = "/tmp/gs-httpd-tls.XXXXXX", cert[64], key[64], url[64];
	CURL *c;
	CURLcode cc;
	long code = 0;
	struct gs_buf b = GS_BUF_INIT;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/tls.crt", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	make_cert(cert, key);
	cfg.listen = "127.0.0.1:0";
	cfg.tls_cert_file = cert;
	cfg.tls_key_file = key;
	assert_int_equal(httpd_start(&h, &cfg, &ops, NULL, &err), 0);

	c = curl_easy_init();
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/healthz", httpd_port(h));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, cert);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L); /* CN only, no SAN */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(c);
	assert_int_equal(cc, CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 200);
	/* plain HTTP to the TLS port gets no HTTP answer */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", httpd_port(h));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	code = 0;
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_true(code != 200);
	curl_easy_cleanup(c);
	httpd_stop(h);
	/* a missing key file is a clear error */
	cfg.tls_key_file = "/nonexistent/tls.key";
	assert_int_not_equal(httpd_start(&h, &cfg, &ops, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "TLS"));
	unlink(cert);
	unlink(key);
	rmdir(dir);
	gs_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_httpd__probes_follow_readiness, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_httpd__signed_github_push_refreshes_once_and_replay_is_dropped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_httpd__unsigned_or_wrongly_signed_webhook_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_httpd__gitlab_token_ping_and_malformed_signed_body,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_httpd__oversized_webhook_gets_413_declared_or_chunked,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_httpd__api_needs_a_token_and_the_sync_scope_to_sync,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_httpd__new_secrets_replace_old_tokens, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_httpd__api_client_round_trip_and_errors, setup,
						teardown),
		cmocka_unit_test(test_httpd__tls_when_given_a_certificate),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
