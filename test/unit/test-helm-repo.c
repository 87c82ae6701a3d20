/* test-helm-repo.c - chart repositories against registries served on
 * loopback by this test (libmicrohttpd): an index.yaml repository and an
 * OCI registry with a token service.  The archives are opaque bytes here:
 * what is checked is which version is picked, where it is fetched from,
 * with which credentials, and that the digest guards the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <ftw.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "helm/helm-repo.h"

#define MAX_ROUTES 16

struct route {
	char path[256];
	unsigned status;
	char *body;
	const char *need_auth; /* exact Authorization header, or NULL */
	const char *challenge; /* WWW-Authenticate sent with a 401 */
	unsigned hits;
	char last_auth[256]; /* Authorization header of the last request */
};

struct server {
	struct MHD_Daemon *d;
	unsigned port;
	pthread_mutex_t mu;
	struct route routes[MAX_ROUTES];
	size_t n;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	struct MHD_Response *resp;
	struct route *rt = NULL;
	unsigned status = 404;
	const char *body = "not found";
	const char *challenge = NULL;
	enum MHD_Result ret;
	size_t i;

	(void)method, (void)version, (void)upload, (void)upload_size, (void)con_cls;
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->routes[i].path, url))
			rt = &s->routes[i];
	if (rt) {
		rt->hits++;
		snprintf(rt->last_auth, sizeof(rt->last_auth), "%s", auth ? auth : "");
		if (rt->need_auth && (!auth || strcmp(auth, rt->need_auth))) {
			status = 401;
			body = "unauthorized";
			challenge = rt->challenge;
		} else {
			status = rt->status;
			body = rt->body;
		}
	}
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&s->mu);
	if (challenge)
		MHD_add_response_header(resp, "WWW-Authenticate", challenge);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct server *server_start(void)
{
	struct server *s = gs_calloc(1, sizeof(*s));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&s->mu, NULL);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, s,
				MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
	assert_non_null(s->d);
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info->port;
	return s;
}

static void server_stop(struct server *s)
{
	size_t i;

	MHD_stop_daemon(s->d);
	for (i = 0; i < s->n; i++)
		free(s->routes[i].body);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct route *route(struct server *s, const char *path, unsigned status, const char *body)
{
	struct route *r;

	assert_true(s->n < MAX_ROUTES);
	r = &s->routes[s->n++];
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->status = status;
	r->body = gs_strdup(body);
	return r;
}

static void sha256_hex(char out[65], const char *data)
{
	unsigned char md[32];
	unsigned int n = 0;
	size_t i;

	EVP_Digest(data, strlen(data), md, &n, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

struct fixture {
	char dir[64];
	struct helm_repo *repo;
	struct server *srv, *other;
};

static int setup(void **state)
{
	struct fixture *f = gs_calloc(1, sizeof(*f));
	struct gs_error err = GS_ERROR_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-helm-repo-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(helm_repo_new(&f->repo, f->dir, &err), GS_OK);
	f->srv = server_start();
	f->other = server_start();
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	server_stop(f->srv);
	server_stop(f->other);
	helm_repo_free(f->repo);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* An index with web 1.2.0, 1.3.1, 1.10.0-rc.1 and 2.0.0; archives at
 * charts/web-<v>.tgz (relative URLs, as `helm repo index` writes). */
static void serve_index(struct fixture *f, const char *prefix)
{
	static const char *const vs[] = { "1.2.0", "1.3.1", "1.10.0-rc.1", "2.0.0" };
	char body[4096], path[256], content[64], hex[65];
	size_t i, len = 0;

	len += (size_t)snprintf(body + len, sizeof(body) - len, "apiVersion: v1\nentries:\n  web:\n");
	for (i = 0; i < 4; i++) {
		snprintf(content, sizeof(content), "archive of web %s", vs[i]);
		sha256_hex(hex, content);
		len += (size_t)snprintf(body + len, sizeof(body) - len,
					"  - name: web\n    version: %s\n    digest: %s\n"
					"    urls:\n    - charts/web-%s.tgz\n",
					vs[i], hex, vs[i]);
		snprintf(path, sizeof(path), "%s/charts/web-%s.tgz", prefix, vs[i]);
		route(f->srv, path, 200, content);
	}
	snprintf(path, sizeof(path), "%s/index.yaml", prefix);
	route(f->srv, path, 200, body);
}

static char *file_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	char buf[256];
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return gs_strdup(buf);
}

static void test_helm_repo__range_picks_highest_release_and_caches_by_digest(void **state)
{
	struct fixture *f = *state;
	struct helm_chart_pull p = HELM_CHART_PULL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char url[128], hex[65];
	char *text;

	serve_index(f, "/repo");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/repo", f->srv->port);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "^1.2", NULL, &err), GS_OK);
	assert_string_equal(p.version, "1.3.1"); /* not 1.10.0-rc.1: a prerelease */
	assert_true(p.downloaded);
	sha256_hex(hex, "archive of web 1.3.1");
	assert_string_equal(p.digest + 7, hex);
	assert_non_null(strstr(p.path, hex));
	text = file_text(p.path);
	assert_string_equal(text, "archive of web 1.3.1");
	free(text);
	helm_chart_pull_release(&p);

	/* the second pull reads the index, finds the digest cached */
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", ">=1.0.0 <2.0.0", NULL, &err),
			 GS_OK);
	assert_string_equal(p.version, "1.3.1");
	assert_false(p.downloaded);
	assert_int_equal(f->srv->routes[1].hits, 1); /* 1.3.1's archive: fetched once */
	helm_chart_pull_release(&p);

	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "", NULL, &err), GS_OK);
	assert_string_equal(p.version, "2.0.0");
	helm_chart_pull_release(&p);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", ">=1.10.0-0", NULL, &err),
			 GS_OK);
	assert_string_equal(p.version, "2.0.0");
	helm_chart_pull_release(&p);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "~1.10.0-0", NULL, &err), GS_OK);
	assert_string_equal(p.version, "1.10.0-rc.1");
	helm_chart_pull_release(&p);
}

static void test_helm_repo__no_match_and_no_chart_are_named(void **state)
{
	struct fixture *f = *state;
	struct helm_chart_pull p = HELM_CHART_PULL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char url[128];

	serve_index(f, "");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", f->srv->port);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "~3.1", NULL, &err),
			 GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no version matches '~3.1'"));
	assert_non_null(strstr(err.msg, "1.3.1"));
	assert_null(p.path);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "db", "1.0.0", NULL, &err),
			 GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "chart 'db' is not in"));
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "latest", NULL, &err),
			 GS_EINVAL);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "../web", "1.0.0", NULL, &err),
			 GS_EINVAL);
}

static void test_helm_repo__digest_mismatch_is_refused_and_not_cached(void **state)
{
	struct fixture *f = *state;
	struct helm_chart_pull p = HELM_CHART_PULL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char url[128];

	serve_index(f, "/r");
	free(f->srv->routes[1].body); /* web 1.3.1's archive, altered */
	f->srv->routes[1].body = gs_strdup("archive of web 1.3.1 with a backdoor");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/r", f->srv->port);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "1.3.x", NULL, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "digest is sha256:"));
	assert_null(p.path);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "1.3.x", NULL, &err), GS_EINVAL);
	assert_int_equal(f->srv->routes[1].hits, 2); /* nothing was cached */
}

static void test_helm_repo__credentials_go_to_the_repository_host_only(void **state)
{
	struct fixture *f = *state;
	struct helm_chart_pull p = HELM_CHART_PULL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct gitsrc_auth auth;
	struct route *idx;
	char url[128], body[512], hex[65];

	memset(&auth, 0, sizeof(auth));
	sha256_hex(hex, "elsewhere");
	snprintf(body, sizeof(body),
		 "apiVersion: v1\nentries:\n  web:\n  - version: 1.0.0\n    digest: %s\n"
		 "    urls: [\"http://127.0.0.1:%u/dl/web-1.0.0.tgz\"]\n",
		 hex, f->other->port);
	idx = route(f->srv, "/private/index.yaml", 200, body);
	idx->need_auth = "Basic dXNlcjpwYXNz"; /* user:pass */
	route(f->other, "/dl/web-1.0.0.tgz", 200, "elsewhere");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/private", f->srv->port);

	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "1.0.0", NULL, &err), GS_EAUTH);
	assert_non_null(strstr(err.msg, "HTTP 401"));
	auth.username = "user";
	auth.password = "pass";
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "1.0.0", &auth, &err), GS_OK);
	assert_string_equal(idx->last_auth, "Basic dXNlcjpwYXNz");
	/* the archive lives on another host:port: fetched without them */
	assert_int_equal(f->other->routes[0].hits, 1);
	assert_string_equal(f->other->routes[0].last_auth, "");
	helm_chart_pull_release(&p);

	/* passCredentials: the archive's other host gets them too */
	sha256_hex(hex, "elsewhere 2");
	snprintf(body, sizeof(body),
		 "apiVersion: v1\nentries:\n  web:\n  - version: 2.0.0\n    digest: %s\n"
		 "    urls: [\"http://127.0.0.1:%u/dl/web-2.0.0.tgz\"]\n",
		 hex, f->other->port);
	idx = route(f->srv, "/pass/index.yaml", 200, body);
	idx->need_auth = "Basic dXNlcjpwYXNz";
	route(f->other, "/dl/web-2.0.0.tgz", 200, "elsewhere 2");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/pass", f->srv->port);
	helm_repo_set_pass_credentials(f->repo, true);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "2.0.0", &auth, &err), GS_OK);
	assert_int_equal(f->other->routes[1].hits, 1);
	assert_string_equal(f->other->routes[1].last_auth, "Basic dXNlcjpwYXNz");
	helm_repo_set_pass_credentials(f->repo, false);
	helm_chart_pull_release(&p);
}

static void test_helm_repo__oci_tags_token_manifest_blob(void **state)
{
	struct fixture *f = *state;
	struct helm_chart_pull p = HELM_CHART_PULL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct gitsrc_auth auth;
	struct route *rt[4];
	char url[128], body[1024], path[256], hex[65], challenge[256];
	size_t i;

	memset(&auth, 0, sizeof(auth));
	auth.username = "robot";
	auth.password = "s3cret";
	sha256_hex(hex, "oci archive of web 1.4.0+build.2");
	snprintf(challenge, sizeof(challenge),
		 "Bearer realm=\"http://127.0.0.1:%u/token\",service=\"reg\"", f->srv->port);
	rt[0] = route(f->srv, "/v2/charts/web/tags/list", 200,
		      "{\"name\":\"charts/web\",\"tags\":[\"1.2.0\",\"1.4.0_build.2\",\"2.0.0\","
		      "\"1.5.0-rc.1\",\"latest\"]}");
	snprintf(body, sizeof(body),
		 "{\"schemaVersion\":2,\"config\":{\"mediaType\":"
		 "\"application/vnd.cncf.helm.config.v1+json\",\"digest\":\"sha256:%064d\"},"
		 "\"layers\":[{\"mediaType\":"
		 "\"application/vnd.cncf.helm.chart.content.v1.tar+gzip\",\"digest\":"
		 "\"sha256:%s\",\"size\":32}]}",
		 0, hex);
	rt[1] = route(f->srv, "/v2/charts/web/manifests/1.4.0_build.2", 200, body);
	snprintf(path, sizeof(path), "/v2/charts/web/blobs/sha256:%s", hex);
	rt[2] = route(f->srv, path, 200, "oci archive of web 1.4.0+build.2");
	rt[3] = route(f->srv, "/token", 200, "{\"token\":\"tok-123\"}");
	rt[3]->need_auth = "Basic cm9ib3Q6czNjcmV0"; /* robot:s3cret */
	for (i = 0; i < 3; i++) {
		rt[i]->need_auth = "Bearer tok-123";
		rt[i]->challenge = challenge;
	}
	snprintf(url, sizeof(url), "oci://127.0.0.1:%u/charts", f->srv->port);
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "~1.4", &auth, &err), GS_OK);
	assert_string_equal(p.version, "1.4.0+build.2");
	assert_string_equal(p.digest + 7, hex);
	assert_true(p.downloaded);
	assert_int_equal(rt[3]->hits, 1); /* one token, reused */
	helm_chart_pull_release(&p);

	/* cached by the layer's digest: the blob is not fetched again */
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "1.4.0+build.2", &auth, &err),
			 GS_OK);
	assert_false(p.downloaded);
	assert_int_equal(rt[2]->hits, 1);
	helm_chart_pull_release(&p);

	/* without credentials the token service refuses */
	assert_int_equal(helm_repo_pull(&p, f->repo, url, "web", "~1.4", NULL, &err), GS_EAUTH);
}

/* Write a .tgz with python3's tarfile: entries "name=content", "name->target"
 * (a symlink) or "name/" (a directory). */
static char *make_tgz(const char *dir, const char *file, const char *const *entries, size_t n)
{
	char *path = gs_asprintf("%s/%s", dir, file);
	char cmd[4096];
	size_t len, i;

	len = (size_t)snprintf(cmd, sizeof(cmd),
			       "python3 - '%s' <<'PY'\nimport io, sys, tarfile\n"
			       "t = tarfile.open(sys.argv[1], 'w:gz', format=tarfile.PAX_FORMAT)\n"
			       "for e in sys.argv[2:] if False else [",
			       path);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "%s'%s'", i ? "," : "",
					entries[i]);
	snprintf(cmd + len, sizeof(cmd) - len,
		 "]:\n"
		 "    if '->' in e:\n"
		 "        n, tgt = e.split('->'); i = tarfile.TarInfo(n); i.type = tarfile.SYMTYPE; "
		 "i.linkname = tgt; t.addfile(i)\n"
		 "    elif e.endswith('/'):\n"
		 "        i = tarfile.TarInfo(e[:-1]); i.type = tarfile.DIRTYPE; t.addfile(i)\n"
		 "    else:\n"
		 "        n, c = e.split('=', 1); b = c.encode(); i = tarfile.TarInfo(n); "
		 "i.size = len(b); t.addfile(i, io.BytesIO(b))\n"
		 "t.close()\nPY");
	assert_int_equal(system(cmd), 0);
	return path;
}

static void pull_of(struct helm_chart_pull *p, const char *tgz)
{
	FILE *fp = fopen(tgz, "rb");
	char buf[65536];
	size_t n;
	unsigned char md[32];
	unsigned int ml = 0;
	size_t i;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	EVP_Digest(buf, n, md, &ml, EVP_sha256(), NULL);
	strcpy(p->digest, "sha256:");
	for (i = 0; i < 32; i++)
		snprintf(p->digest + 7 + 2 * i, 3, "%02x", md[i]);
	p->path = gs_strdup(tgz);
}

static void test_helm_repo__unpack_writes_files_once_and_refuses_escapes(void **state)
{
	struct fixture *f = *state;
	struct helm_chart_pull p = HELM_CHART_PULL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	static const char *const good[] = {
		"web/", "web/Chart.yaml=name: web", "./web/values.yaml=replicas: 2",
		"web/templates/cm.yaml=kind: ConfigMap", "web/link->/etc/passwd",
		("web/templates/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml=long: name"),
	};
	static const char *const evil[] = { "web/Chart.yaml=name: web", "web/../../evil=x" };
	static const char *const two[] = { "web/Chart.yaml=name: web", "db/Chart.yaml=name: db" };
	char *tgz, *root = NULL, *chart = NULL, *path, *text;
	struct stat st;

	tgz = make_tgz(f->dir, "good.tgz", good, 6);
	pull_of(&p, tgz);
	assert_int_equal(helm_repo_unpack(&root, &chart, f->repo, &p, &err), GS_OK);
	assert_string_equal(chart, "web");
	path = gs_asprintf("%s/web/values.yaml", root);
	text = file_text(path);
	assert_string_equal(text, "replicas: 2");
	free(text);
	free(path);
	path = gs_asprintf("%s/web/link", root); /* symlinks are not written */
	assert_int_not_equal(lstat(path, &st), 0);
	free(path);
	path = gs_asprintf("%s/web/templates/%0135d.yaml", root, 0);
	memset(strrchr(path, '/') + 1, 'a', 135);
	assert_int_equal(stat(path, &st), 0); /* the pax long name */
	free(path);
	free(root);
	free(chart);
	/* the second time: the unpacked tree is reused */
	assert_int_equal(helm_repo_unpack(&root, &chart, f->repo, &p, &err), GS_OK);
	free(root);
	free(chart);
	helm_chart_pull_release(&p);
	free(tgz);

	tgz = make_tgz(f->dir, "evil.tgz", evil, 2);
	pull_of(&p, tgz);
	assert_int_equal(helm_repo_unpack(&root, &chart, f->repo, &p, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "leaves the chart"));
	path = gs_asprintf("%s/evil", f->dir);
	assert_int_not_equal(stat(path, &st), 0);
	free(path);
	helm_chart_pull_release(&p);
	free(tgz);

	tgz = make_tgz(f->dir, "two.tgz", two, 2);
	pull_of(&p, tgz);
	assert_int_equal(helm_repo_unpack(&root, &chart, f->repo, &p, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "outside its chart directory"));
	helm_chart_pull_release(&p);
	free(tgz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_helm_repo__range_picks_highest_release_and_caches_by_digest, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_helm_repo__no_match_and_no_chart_are_named,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_helm_repo__digest_mismatch_is_refused_and_not_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_helm_repo__credentials_go_to_the_repository_host_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helm_repo__oci_tags_token_manifest_blob, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_helm_repo__unpack_writes_files_once_and_refuses_escapes, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
