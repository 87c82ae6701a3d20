/* helm-repo.c - chart repositories (see helm-repo.h): an index.yaml over
 * HTTP(S) or an OCI registry's tags, manifest and blob, through libcurl;
 * archives verified against their digest and cached under it. */
#include "helm/helm-repo.h"
#include "helm/helm-semver.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-json.h"
#include "mf-node.h"
#include "mf-yaml.h"

#define DEFAULT_MAX_INDEX ((size_t)64 << 20)
#define DEFAULT_MAX_CHART ((size_t)32 << 20)
#define DEFAULT_TIMEOUT 60.0
#define HELM_LAYER "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

struct helm_repo {
	char *charts; /* <cache>/charts */
	size_t max_index, max_chart;
	double timeout_s;
	bool pass_credentials; /* spec.source.helm.passCredentials */
};

int helm_repo_new(struct helm_repo **out, const char *cache_dir, struct gs_error *err)
{
	struct helm_repo *r;
	char *charts = gs_asprintf("%s/charts", cache_dir);

	*out = NULL;
	if ((mkdir(cache_dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(charts, 0700) < 0 && errno != EEXIST)) {
		int e = errno;

		free(charts);
		return gs_error_set(err, GS_EIO, "chart cache '%s': %s", cache_dir, strerror(e));
	}
	r = gs_calloc(1, sizeof(*r));
	r->charts = charts;
	r->max_index = DEFAULT_MAX_INDEX;
	r->max_chart = DEFAULT_MAX_CHART;
	r->timeout_s = DEFAULT_TIMEOUT;
	*out = r;
	return GS_OK;
}

void helm_repo_free(struct helm_repo *r)
{
	if (!r)
		return;
	free(r->charts);
	free(r);
}

void helm_repo_set_limits(struct helm_repo *r, size_t max_index, size_t max_chart,
			  double timeout_s)
{
	if (max_index)
		r->max_index = max_index;
	if (max_chart)
		r->max_chart = max_chart;
	if (timeout_s > 0)
		r->timeout_s = timeout_s;
}

void helm_repo_set_pass_credentials(struct helm_repo *r, bool pass)
{
	r->pass_credentials = pass;
}

void helm_chart_pull_release(struct helm_chart_pull *p)
{
	free(p->path);
	*p = (struct helm_chart_pull)HELM_CHART_PULL_INIT;
}

bool helm_repo_is_oci(const char *url)
{
	return url && !strncasecmp(url, "oci://", 6);
}

/* ---- version picking ---- */

int helm_repo_pick(size_t *out, const char *const *versions, size_t n, const char *request,
		   struct gs_error *err)
{
	struct helm_semver_range *range = NULL;
	struct helm_semver best, v;
	struct gs_buf seen = GS_BUF_INIT;
	size_t i, shown = 0;
	ptrdiff_t pick = -1;
	int rc;

	if (!request || !*request)
		request = "*";
	/* an exact spelling wins, even one that is not a semantic version */
	for (i = 0; i < n; i++) {
		if (versions[i] && !strcmp(versions[i], request)) {
			*out = i;
			return GS_OK;
		}
	}
	if ((rc = helm_semver_range_new(&range, request, err)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (!versions[i] || helm_semver_parse(&v, versions[i]) < 0)
			continue; /* Helm skips what it cannot read */
		if (helm_semver_range_match(range, &v) &&
		    (pick < 0 || helm_semver_compare(&v, &best) > 0)) {
			best = v;
			pick = (ptrdiff_t)i;
		}
	}
	helm_semver_range_free(range);
	if (pick >= 0) {
		*out = (size_t)pick;
		return GS_OK;
	}
	for (i = 0; i < n && shown < 8; i++) {
		if (!versions[i])
			continue;
		gs_buf_printf(&seen, "%s%s", shown ? ", " : "", versions[i]);
		shown++;
	}
	rc = gs_error_set(err, GS_ENOTFOUND, "no version matches '%s' (%s%s%s)", request,
			  n ? "versions: " : "no versions", seen.ptr, n > shown ? ", ..." : "");
	gs_buf_release(&seen);
	return rc;
}

/* ---- HTTP ---- */

struct http_req {
	const char *url;
	const struct gitsrc_auth *auth; /* TLS settings (always) */
	bool send_basic;                /* send auth's username/password */
	const char *bearer;             /* "Authorization: Bearer" token, or NULL */
	const char *accept;
	size_t max;
	/* results */
	long status;
	char *www_auth; /* owned: the WWW-Authenticate header of a 401 */
	struct gs_buf body;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *payload)
{
	struct http_req *q = payload;

	if (gs_buf_add(&q->body, p, size * n) < 0) {
		q->too_big = true;
		return 0;
	}
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *payload)
{
	struct http_req *q = payload;
	size_t len = size * n;
	static const char name[] = "www-authenticate:";

	if (len > sizeof(name) - 1 && !strncasecmp(p, name, sizeof(name) - 1)) {
		const char *v = p + sizeof(name) - 1;
		size_t vl = len - (sizeof(name) - 1);

		while (vl && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		free(q->www_auth);
		q->www_auth = gs_strndup(v, vl);
	}
	return len;
}

static void http_req_release(struct http_req *q)
{
	free(q->www_auth);
	q->www_auth = NULL;
	gs_buf_release(&q->body);
}

static bool tls_error(CURLcode c)
{
	return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE ||
	       c == CURLE_SSL_CONNECT_ERROR || c == CURLE_SSL_CERTPROBLEM ||
	       c == CURLE_SSL_ISSUER_ERROR;
}

/* One GET.  A status >= 400 is not an error here (the caller decides);
 * transport failures are, as is a body above q->max. */
static int http_get(struct http_req *q, const struct helm_repo *r, struct gs_error *err)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *shown = gitsrc_url_redact(q->url);
	CURLcode cc;
	int rc = GS_OK;

	if (!c) {
		rc = gs_error_set(err, GS_ERR, "GET %s: cannot start libcurl", shown);
		goto cleanup;
	}
	gs_buf_reset(&q->body);
	q->body.max = q->max;
	q->status = 0;
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "gitsync-helm");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (q->accept)
		hdrs = curl_slist_append(hdrs, q->accept);
	if (q->bearer) {
		char *h = gs_asprintf("Authorization: Bearer %s", q->bearer);

		hdrs = curl_slist_append(hdrs, h);
		memset(h, 0, strlen(h));
		free(h);
	} else if (q->send_basic && q->auth && (q->auth->username || q->auth->password)) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, q->auth->username ? q->auth->username : "");
		curl_easy_setopt(c, CURLOPT_PASSWORD, q->auth->password ? q->auth->password : "");
		/* redirects to another host go without them (curl's default,
		 * stated: CURLOPT_UNRESTRICTED_AUTH stays off) */
		curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (q->auth) {
		struct curl_blob blob;

		if (q->auth->ca_bundle && *q->auth->ca_bundle) {
			blob.data = (void *)q->auth->ca_bundle;
			blob.len = strlen(q->auth->ca_bundle);
			blob.flags = CURL_BLOB_COPY;
			curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
		} else if (q->auth->ca_file && *q->auth->ca_file) {
			curl_easy_setopt(c, CURLOPT_CAINFO, q->auth->ca_file);
		}
		if (q->auth->insecure_skip_tls_verify) {
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
	if (q->too_big) {
		rc = gs_error_set(err, GS_ELIMIT, "GET %s: response larger than %zu bytes", shown,
				  q->max);
	} else if (cc != CURLE_OK) {
		rc = gs_error_set(err, tls_error(cc) ? GS_EAUTH : GS_ENET, "GET %s: %s", shown,
				  *errbuf ? errbuf : curl_easy_strerror(cc));
	}
cleanup:
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	free(shown);
	return rc;
}

/* An HTTP status as our error code and a message naming the URL. */
static int http_status_error(const struct http_req *q, const char *what, struct gs_error *err)
{
	char *shown = gitsrc_url_redact(q->url);
	int code = q->status == 401 || q->status == 403 ? GS_EAUTH
		   : q->status == 404			 ? GS_ENOTFOUND
							 : GS_ENET;
	int rc = gs_error_set(err, code, "%s: GET %s: HTTP %ld%s", what, shown, q->status,
			      code == GS_EAUTH ? " (check the repository's credentials Secret)"
					       : "");

	free(shown);
	return rc;
}

/* scheme://host:port of a URL (owned) or NULL; with CURLU so that both
 * sides are normalised the same way. */
static char *url_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		o = gs_asprintf("%s://%s:%s", scheme, host, port);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return o;
}

/* ref resolved against base (owned), or NULL. */
static char *url_resolve(const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *s = NULL, *o = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
		o = gs_strdup(s);
	curl_free(s);
	curl_url_cleanup(u);
	return o;
}

/* ---- the cache ---- */

static void hex_of(char out[65], const unsigned char *md)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = '\0';
}

static bool is_sha256_hex(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* The cached archive for hex, if there (owned path), else NULL. */
static char *cached(const struct helm_repo *r, const char *hex)
{
	char *p = gs_asprintf("%s/%s.tgz", r->charts, hex);
	struct stat st;

	if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
		return p;
	free(p);
	return NULL;
}

/* Verify body against want_hex ("" when the source gave none) and store it
 * under its digest.  out->digest and out->path set. */
static int store(struct helm_chart_pull *out, const struct helm_repo *r, const struct gs_buf *body,
		 const char *want_hex, const char *what, struct gs_error *err)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[65];
	char *tmp = NULL, *path = NULL;
	int fd = -1, rc = GS_OK;

	EVP_Digest(body->ptr, body->len, md, &mdlen, EVP_sha256(), NULL);
	hex_of(hex, md);
	if (*want_hex && strcmp(hex, want_hex)) {
		return gs_error_set(err, GS_EINVAL,
				    "%s: digest is sha256:%s, the repository says sha256:%s "
				    "(the archive was altered or the index is stale)",
				    what, hex, want_hex);
	}
	path = gs_asprintf("%s/%s.tgz", r->charts, hex);
	tmp = gs_asprintf("%s/.%s.%ld.tmp", r->charts, hex, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0 || write(fd, body->ptr, body->len) != (ssize_t)body->len || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		rc = gs_error_set(err, GS_EIO, "%s: cannot write '%s': %s", what, path,
				  strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		goto cleanup;
	}
	snprintf(out->digest, sizeof(out->digest), "sha256:%s", hex);
	out->path = path;
	path = NULL; /* now owned by out */
	out->downloaded = true;
cleanup:
	free(tmp);
	free(path);
	return rc;
}

/* ---- HTTP chart repositories ---- */

static int pull_http(struct helm_chart_pull *out, struct helm_repo *r, const char *repo_url,
		     const char *chart, const char *version, const struct gitsrc_auth *auth,
		     struct gs_error *err)
{
	struct http_req q = { 0 };
	struct mf_docs docs = MF_DOCS_INIT;
	const struct mf_node *entries, *entry;
	const char **versions = NULL;
	char *base = NULL, *index_url = NULL, *chart_url = NULL, *o1 = NULL, *o2 = NULL;
	char *shown = gitsrc_url_redact(repo_url);
	const char *digest, *ref;
	size_t i, n, pick;
	int rc;

	q.body = (struct gs_buf)GS_BUF_INIT;
	base = gs_asprintf("%s%s", repo_url, repo_url[strlen(repo_url) - 1] == '/' ? "" : "/");
	index_url = gs_asprintf("%sindex.yaml", base);
	q.url = index_url;
	q.auth = auth;
	q.send_basic = true;
	q.max = r->max_index;
	if ((rc = http_get(&q, r, err)) < 0)
		goto cleanup;
	if (q.status >= 400) {
		rc = http_status_error(&q, "read chart repository index", err);
		goto cleanup;
	}
	if ((rc = mf_yaml_parse(&docs, q.body.ptr, q.body.len, "index.yaml", NULL, err)) < 0) {
		gs_error_wrap(err, "chart repository %s", shown);
		goto cleanup;
	}
	entries = docs.n ? mf_node_dig(docs.docs[0], "entries", chart, NULL) : NULL;
	n = mf_node_len(entries);
	if (mf_node_type(entries) != MF_SEQ || !n) {
		rc = gs_error_set(err, GS_ENOTFOUND,
				  "chart '%s' is not in %sindex.yaml (check spec.source.chart)",
				  chart, shown);
		goto cleanup;
	}
	versions = gs_calloc(n, sizeof(*versions));
	for (i = 0; i < n; i++)
		versions[i] = mf_node_dig_str(mf_node_at(entries, i), "version", NULL);
	if ((rc = helm_repo_pick(&pick, versions, n, version, err)) < 0) {
		gs_error_wrap(err, "chart '%s' in %s", chart, shown);
		goto cleanup;
	}
	entry = mf_node_at(entries, pick);
	snprintf(out->version, sizeof(out->version), "%s", versions[pick]);
	digest = mf_node_dig_str(entry, "digest", NULL);
	if (digest && !strncmp(digest, "sha256:", 7))
		digest += 7;
	if (digest && !is_sha256_hex(digest))
		digest = NULL;
	if (digest && (out->path = cached(r, digest))) {
		snprintf(out->digest, sizeof(out->digest), "sha256:%s", digest);
		rc = GS_OK;
		goto cleanup;
	}
	ref = mf_node_str(mf_node_at(mf_node_get(entry, "urls"), 0));
	if (!ref || !(chart_url = url_resolve(base, ref))) {
		rc = gs_error_set(err, GS_EINVAL, "chart '%s' %s in %sindex.yaml has no usable URL",
				  chart, out->version, shown);
		goto cleanup;
	}
	/* credentials only to the repository's own scheme, host and port,
	 * unless passCredentials (Helm's --pass-credentials) */
	o1 = url_origin(base);
	o2 = url_origin(chart_url);
	q.url = chart_url;
	q.send_basic = r->pass_credentials || (o1 && o2 && !strcmp(o1, o2));
	q.max = r->max_chart;
	if ((rc = http_get(&q, r, err)) < 0)
		goto cleanup;
	if (q.status >= 400) {
		rc = http_status_error(&q, "download chart", err);
		goto cleanup;
	}
	{
		char what[320];

		snprintf(what, sizeof(what), "chart '%s' %s", chart, out->version);
		rc = store(out, r, &q.body, digest ? digest : "", what, err);
	}
cleanup:
	if (rc < 0)
		helm_chart_pull_release(out);
	http_req_release(&q);
	mf_docs_release(&docs);
	free(versions);
	free(base);
	free(index_url);
	free(chart_url);
	free(o1);
	free(o2);
	free(shown);
	return rc;
}

/* ---- OCI registries ---- */

struct oci {
	char *scheme_host; /* "https://host:port" */
	char *name;        /* repository: "path/chart" */
	char *token;       /* bearer token once obtained */
};

static bool loopback_host(const char *h, size_t n)
{
	return (n == 9 && !strncasecmp(h, "localhost", 9)) || (n >= 4 && !strncmp(h, "127.", 4)) ||
	       (n == 5 && !strncmp(h, "[::1]", 5));
}

static int oci_parse(struct oci *o, const char *url, const char *chart, struct gs_error *err)
{
	const char *h = url + 6, *slash = strchr(h, '/'), *path;
	size_t hl = slash ? (size_t)(slash - h) : strlen(h);
	size_t host_only = hl;
	const char *colon = memchr(h, ':', hl);

	if (memchr(h, '@', hl))
		return gs_error_set(err, GS_EINVAL,
				    "oci URL: give credentials in a Secret, not in the URL");
	if (colon && *h != '[')
		host_only = (size_t)(colon - h);
	if (!hl)
		return gs_error_set(err, GS_EINVAL, "'%s' names no registry host", url);
	path = slash ? slash + 1 : "";
	while (*path == '/')
		path++;
	o->scheme_host = gs_asprintf("%s://%.*s", loopback_host(h, host_only) ? "http" : "https",
				     (int)hl, h);
	{
		size_t pl = strlen(path);

		while (pl && path[pl - 1] == '/')
			pl--;
		/* Argo CD form: repoURL oci://host/path + chart; a repoURL
		 * that already ends in the chart's name is taken as is */
		if (pl >= strlen(chart) && !strcmp(path + pl - strlen(chart), chart) &&
		    (pl == strlen(chart) || path[pl - strlen(chart) - 1] == '/'))
			o->name = gs_strndup(path, pl);
		else
			o->name = gs_asprintf("%.*s%s%s", (int)pl, path, pl ? "/" : "", chart);
	}
	return GS_OK;
}

static void oci_release(struct oci *o)
{
	free(o->scheme_host);
	free(o->name);
	if (o->token)
		memset(o->token, 0, strlen(o->token));
	free(o->token);
}

/* The value of key in a challenge 'Bearer realm="...",service="..."' (owned). */
static char *challenge_param(const char *ch, const char *key)
{
	size_t kl = strlen(key);
	const char *p = ch;

	while ((p = strstr(p, key))) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[kl] == '=' && p[kl + 1] == '"') {
			const char *v = p + kl + 2, *e = strchr(v, '"');

			return e ? gs_strndup(v, (size_t)(e - v)) : NULL;
		}
		p += kl;
	}
	return NULL;
}

/* Answer a Bearer challenge: ask the realm for a token (with the
 * credentials, if any), as `docker login`/helm do. */
static int oci_token(struct oci *o, const struct helm_repo *r, const char *challenge,
		     const struct gitsrc_auth *auth, struct gs_error *err)
{
	struct http_req q = { 0 };
	struct mf_node *doc = NULL;
	char *realm = challenge_param(challenge, "realm");
	char *service = challenge_param(challenge, "service");
	char *scope = challenge_param(challenge, "scope");
	char *url = NULL, *es = NULL, *esc = NULL;
	const char *tok;
	int rc;

	q.body = (struct gs_buf)GS_BUF_INIT;
	if (!realm) {
		rc = gs_error_set(err, GS_EAUTH, "registry %s asks for a token without a realm",
				  o->scheme_host);
		goto cleanup;
	}
	es = curl_easy_escape(NULL, service ? service : "", 0);
	esc = scope ? curl_easy_escape(NULL, scope, 0)
		    : NULL;
	url = esc ? gs_asprintf("%s?service=%s&scope=%s", realm, es, esc)
		  : gs_asprintf("%s?service=%s&scope=repository:%s:pull", realm, es, o->name);
	q.url = url;
	q.auth = auth;
	q.send_basic = true;
	q.max = 1 << 20;
	if ((rc = http_get(&q, r, err)) < 0)
		goto cleanup;
	if (q.status >= 400) {
		rc = http_status_error(&q, "registry token", err);
		goto cleanup;
	}
	if ((rc = mf_json_parse(&doc, q.body.ptr, q.body.len, "token", err)) < 0)
		goto cleanup;
	tok = mf_node_dig_str(doc, "token", NULL);
	if (!tok)
		tok = mf_node_dig_str(doc, "access_token", NULL);
	if (!tok) {
		rc = gs_error_set(err, GS_EAUTH, "registry token service %s gave no token", realm);
		goto cleanup;
	}
	free(o->token);
	o->token = gs_strdup(tok);
	rc = GS_OK;
cleanup:
	mf_node_free(doc);
	http_req_release(&q);
	curl_free(es);
	curl_free(esc);
	free(url);
	free(realm);
	free(service);
	free(scope);
	return rc;
}

/* GET path on the registry, answering one Bearer challenge if needed. */
static int oci_get(struct http_req *q, struct oci *o, const struct helm_repo *r, const char *path,
		   const char *accept, size_t max, const struct gitsrc_auth *auth, const char *what,
		   struct gs_error *err)
{
	char *url = gs_asprintf("%s/v2/%s", o->scheme_host, path);
	int rc, tries;

	q->url = url;
	q->auth = auth;
	q->accept = accept;
	q->max = max;
	for (tries = 0; tries < 2; tries++) {
		q->bearer = o->token;
		q->send_basic = !o->token;
		if ((rc = http_get(q, r, err)) < 0)
			goto cleanup;
		if (q->status == 401 && !o->token && q->www_auth &&
		    !strncasecmp(q->www_auth, "Bearer ", 7)) {
			if ((rc = oci_token(o, r, q->www_auth, auth, err)) < 0)
				goto cleanup;
			continue;
		}
		break;
	}
	rc = q->status >= 400 ? http_status_error(q, what, err) : GS_OK;
cleanup:
	q->url = NULL;
	free(url);
	return rc;
}

static int pull_oci(struct helm_chart_pull *out, struct helm_repo *r, const char *repo_url,
		    const char *chart, const char *version, const struct gitsrc_auth *auth,
		    struct gs_error *err)
{
	struct oci o = { 0 };
	struct http_req q = { 0 };
	struct mf_node *doc = NULL;
	const char **versions = NULL;
	char **owned = NULL;
	char *path = NULL, *tag = NULL;
	const struct mf_node *layers, *tags;
	const char *digest = NULL;
	size_t i, n = 0, pick;
	char what[320];
	int rc;

	q.body = (struct gs_buf)GS_BUF_INIT;
	if ((rc = oci_parse(&o, repo_url, chart, err)) < 0)
		goto cleanup;
	if (version && *version && helm_semver_is_exact(version)) {
		snprintf(out->version, sizeof(out->version), "%s", version);
	} else {
		path = gs_asprintf("%s/tags/list?n=10000", o.name);
		if ((rc = oci_get(&q, &o, r, path, "Accept: application/json", 4 << 20, auth,
				  "list chart versions", err)) < 0)
			goto cleanup;
		if ((rc = mf_json_parse(&doc, q.body.ptr, q.body.len, "tags/list", err)) < 0)
			goto cleanup;
		tags = mf_node_get(doc, "tags");
		n = mf_node_len(tags);
		versions = gs_calloc(n ? n : 1, sizeof(*versions));
		owned = gs_calloc(n ? n : 1, sizeof(*owned));
		for (i = 0; i < n; i++) {
			const char *t = mf_node_str(mf_node_at(tags, i));
			char *p;

			if (!t)
				continue;
			owned[i] = gs_strdup(t);
			for (p = owned[i]; *p; p++)
				if (*p == '_')
					*p = '+'; /* OCI tags cannot hold '+' */
			versions[i] = owned[i];
		}
		if ((rc = helm_repo_pick(&pick, versions, n, version, err)) < 0) {
			gs_error_wrap(err, "chart %s/%s", o.scheme_host, o.name);
			goto cleanup;
		}
		snprintf(out->version, sizeof(out->version), "%s", versions[pick]);
		mf_node_free(doc);
		doc = NULL;
	}
	tag = gs_strdup(out->version);
	for (i = 0; tag[i]; i++)
		if (tag[i] == '+')
			tag[i] = '_';
	free(path);
	path = gs_asprintf("%s/manifests/%s", o.name, tag);
	snprintf(what, sizeof(what), "chart '%s' %s", chart, out->version);
	if ((rc = oci_get(&q, &o, r, path, "Accept: application/vnd.oci.image.manifest.v1+json",
			  4 << 20, auth, what, err)) < 0)
		goto cleanup;
	if ((rc = mf_json_parse(&doc, q.body.ptr, q.body.len, "manifest", err)) < 0)
		goto cleanup;
	layers = mf_node_get(doc, "layers");
	for (i = 0; i < mf_node_len(layers); i++) {
		const struct mf_node *l = mf_node_at(layers, i);
		const char *mt = mf_node_dig_str(l, "mediaType", NULL);

		if (mt && !strcmp(mt, HELM_LAYER))
			digest = mf_node_dig_str(l, "digest", NULL);
	}
	if (!digest || strncmp(digest, "sha256:", 7) || !is_sha256_hex(digest + 7)) {
		rc = gs_error_set(err, GS_EINVAL,
				  "%s: %s/%s:%s is not a Helm chart (no %s layer with a sha256 digest)",
				  what, o.scheme_host, o.name, tag, HELM_LAYER);
		goto cleanup;
	}
	if ((out->path = cached(r, digest + 7))) {
		snprintf(out->digest, sizeof(out->digest), "%s", digest);
		rc = GS_OK;
		goto cleanup;
	}
	free(path);
	path = gs_asprintf("%s/blobs/%s", o.name, digest);
	if ((rc = oci_get(&q, &o, r, path, NULL, r->max_chart, auth, what, err)) < 0)
		goto cleanup;
	rc = store(out, r, &q.body, digest + 7, what, err);
cleanup:
	if (rc < 0)
		helm_chart_pull_release(out);
	if (owned)
		for (i = 0; i < n; i++)
			free(owned[i]);
	free(owned);
	free(versions);
	mf_node_free(doc);
	http_req_release(&q);
	oci_release(&o);
	free(path);
	free(tag);
	return rc;
}

int helm_repo_pull(struct helm_chart_pull *out, struct helm_repo *r, const char *repo_url,
		   const char *chart, const char *version, const struct gitsrc_auth *auth,
		   struct gs_error *err)
{
	*out = (struct helm_chart_pull)HELM_CHART_PULL_INIT;
	if (!repo_url || !*repo_url)
		return gs_error_set(err, GS_EINVAL, "chart '%s': no repoURL", chart ? chart : "");
	if (!chart || !*chart || strchr(chart, '/') || !strcmp(chart, "..") ||
	    !strcmp(chart, "."))
		return gs_error_set(err, GS_EINVAL,
				    "spec.source.chart '%s' is not a chart name (a name such as "
				    "'redis'; the repository goes in repoURL)",
				    chart ? chart : "");
	if (helm_repo_is_oci(repo_url))
		return pull_oci(out, r, repo_url, chart, version, auth, err);
	if (strncasecmp(repo_url, "http://", 7) && strncasecmp(repo_url, "https://", 8))
		return gs_error_set(err, GS_EINVAL,
				    "chart repository '%s' is neither http(s):// nor oci://",
				    repo_url);
	return pull_http(out, r, repo_url, chart, version, auth, err);
}

/* ---- unpacking (tar in gzip, as `helm package` writes it) ---- */

#define MAX_UNPACKED ((uint64_t)100 << 20) /* Helm's MaxDecompressedChartSize */
#define MAX_FILE ((uint64_t)5 << 20)       /* Helm's MaxDecompressedFileSize */

static uint64_t tar_octal(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\0'))
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	return v;
}

/* Read exactly n bytes (n == 0 allowed); false at end of stream. */
static bool gz_read_all(gzFile gz, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		int k = gzread(gz, (char *)buf + got, (unsigned)(n - got > (1u << 30) ? (1u << 30)
										: n - got));

		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

/* A relative path made only of normal components, "./" prefixes dropped;
 * NULL (refused) for absolute paths and "..". Owned. */
static char *clean_entry(const char *name)
{
	const char *p = name;
	char *out, *c;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (*p == '/' || !*p)
		return NULL;
	out = gs_strdup(p);
	for (c = out; *c;) {
		size_t n = strcspn(c, "/");

		if ((n == 2 && c[0] == '.' && c[1] == '.') || (n == 1 && c[0] == '.') || n == 0) {
			if (n == 0 && c[n] == '\0')
				break; /* a trailing '/' */
			free(out);
			return NULL;
		}
		c += n;
		if (*c == '/')
			c++;
	}
	{
		size_t l = strlen(out);

		while (l && out[l - 1] == '/')
			out[--l] = '\0';
	}
	return out;
}

/* mkdir -p of the directories of rel under base. */
static int make_parents(const char *base, const char *rel)
{
	char *p = gs_asprintf("%s/%s", base, rel);
	char *s = p + strlen(base) + 1;
	int rc = 0;

	while ((s = strchr(s, '/'))) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
		s++;
	}
	free(p);
	return rc;
}

/* The pax "path" record of an extended header, if any (owned). */
static char *pax_path(const char *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		char *end = NULL;
		unsigned long len = strtoul(buf + i, &end, 10);
		const char *kv = end ? end + 1 : NULL;

		if (!len || !end || *end != ' ' || i + len > n)
			return NULL;
		if ((size_t)(buf + i + len - kv) > 5 && !strncmp(kv, "path=", 5))
			return gs_strndup(kv + 5, (size_t)(buf + i + len - kv - 5 - 1));
		i += len;
	}
	return NULL;
}

static int unpack_to(const char *dir, const char *archive, char **chart_out,
		     struct gs_error *err)
{
	gzFile gz = gzopen(archive, "rb");
	unsigned char h[512];
	char *long_name = NULL, *name = NULL, *top = NULL, *data = NULL;
	uint64_t total = 0;
	int rc = GS_OK;

	if (!gz)
		return gs_error_set(err, GS_EIO, "cannot open chart archive '%s'", archive);
	while (gz_read_all(gz, h, sizeof(h))) {
		uint64_t size = tar_octal(h + 124, 12), padded;
		char type = (char)h[156];
		char raw[256 + 2];
		size_t i;

		for (i = 0; i < 512 && !h[i]; i++)
			;
		if (i == 512)
			break; /* end of archive */
		padded = (size + 511) & ~(uint64_t)511;
		if (size > MAX_FILE || total + size > MAX_UNPACKED) {
			rc = gs_error_set(err, GS_ELIMIT,
					  "chart archive '%s' unpacks beyond Helm's limits "
					  "(5 MiB per file, 100 MiB in all)",
					  archive);
			goto cleanup;
		}
		total += size;
		free(data);
		data = gs_malloc((size_t)padded + 1);
		if (!gz_read_all(gz, data, (size_t)padded)) {
			rc = gs_error_set(err, GS_EINVAL, "chart archive '%s' is truncated", archive);
			goto cleanup;
		}
		data[size] = '\0';
		if (type == 'x' || type == 'L') {
			free(long_name);
			long_name = type == 'x' ? pax_path(data, (size_t)size)
						: gs_strndup(data, (size_t)size);
			continue;
		}
		if (type == 'g')
			continue;
		if (long_name) {
			free(name);
			name = long_name;
			long_name = NULL;
		} else {
			/* ustar: prefix "/" name */
			if (!memcmp(h + 257, "ustar", 5) && h[345])
				snprintf(raw, sizeof(raw), "%.155s/%.100s", (const char *)h + 345,
					 (const char *)h + 0);
			else
				snprintf(raw, sizeof(raw), "%.100s", (const char *)h);
			free(name);
			name = gs_strdup(raw);
		}
		if (type != '0' && type != '\0' && type != '5' && type != '7')
			continue; /* links, devices: Helm's loader reads regular files only */
		{
			char *rel = clean_entry(name);
			size_t tl;

			if (!rel) {
				rc = gs_error_set(err, GS_EINVAL,
						  "chart archive '%s': entry '%.200s' leaves the chart "
						  "(absolute or '..')",
						  archive, name);
				goto cleanup;
			}
			tl = strcspn(rel, "/");
			if (!top)
				top = gs_strndup(rel, tl);
			if (strlen(top) != tl || strncmp(top, rel, tl)) {
				rc = gs_error_set(err, GS_EINVAL,
						  "chart archive '%s': entry '%.200s' is outside its "
						  "chart directory '%s'",
						  archive, rel, top);
				free(rel);
				goto cleanup;
			}
			if (make_parents(dir, rel) < 0) {
				rc = gs_error_set(err, GS_EIO, "unpack '%s': %s", rel, strerror(errno));
				free(rel);
				goto cleanup;
			}
			if (type == '5') {
				char *p = gs_asprintf("%s/%s", dir, rel);

				if (mkdir(p, 0755) < 0 && errno != EEXIST)
					rc = gs_error_set(err, GS_EIO, "unpack '%s': %s", rel,
							  strerror(errno));
				free(p);
			} else {
				char *p = gs_asprintf("%s/%s", dir, rel);
				int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					      0444);

				/* a duplicate entry: the last one wins, as in Helm */
				if (fd < 0 && errno == EEXIST && unlink(p) == 0)
					fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
							     O_CLOEXEC,
						  0444);
				if (fd < 0 || write(fd, data, (size_t)size) != (ssize_t)size ||
				    close(fd) < 0)
					rc = gs_error_set(err, GS_EIO, "unpack '%s': %s", rel,
							  strerror(errno));
				free(p);
			}
			free(rel);
			if (rc < 0)
				goto cleanup;
		}
	}
	{
		char *cy = top ? gs_asprintf("%s/%s/Chart.yaml", dir, top) : NULL;
		struct stat st;

		if (!cy || stat(cy, &st) < 0)
			rc = gs_error_set(err, GS_EINVAL, "chart archive '%s' holds no Chart.yaml",
					  archive);
		free(cy);
	}
	if (rc == GS_OK) {
		*chart_out = top;
		top = NULL;
	}
cleanup:
	gzclose(gz);
	free(long_name);
	free(name);
	free(top);
	free(data);
	return rc;
}

static int rm_tree_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

/* The single directory inside dir (owned), or NULL. */
static char *only_subdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *name = NULL;

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		free(name);
		name = gs_strdup(e->d_name);
	}
	closedir(d);
	return name;
}

int helm_repo_unpack(char **root_out, char **chart_out, struct helm_repo *r,
		     const struct helm_chart_pull *pull, struct gs_error *err)
{
	const char *hex = pull->digest + 7;
	char *root = gs_asprintf("%s/%s.d", r->charts, hex);
	char *tmp = NULL, *chart = NULL;
	struct stat st;
	int rc = GS_OK;

	*root_out = *chart_out = NULL;
	if (strncmp(pull->digest, "sha256:", 7) || !is_sha256_hex(hex) || !pull->path) {
		rc = gs_error_set(err, GS_EINVAL, "unpack: no pulled chart");
		goto cleanup;
	}
	if (stat(root, &st) == 0 && S_ISDIR(st.st_mode) && (chart = only_subdir(root)))
		goto done;
	tmp = gs_asprintf("%s/.%s.%ld.d", r->charts, hex, (long)getpid());
	nftw(tmp, rm_tree_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(tmp, 0755) < 0) {
		rc = gs_error_set(err, GS_EIO, "unpack chart: mkdir '%s': %s", tmp, strerror(errno));
		goto cleanup;
	}
	if ((rc = unpack_to(tmp, pull->path, &chart, err)) < 0)
		goto cleanup;
	if (rename(tmp, root) < 0 && errno != ENOTEMPTY && errno != EEXIST) {
		rc = gs_error_set(err, GS_EIO, "unpack chart: rename to '%s': %s", root,
				  strerror(errno));
		goto cleanup;
	}
done:
	*root_out = root;
	root = NULL; /* now the caller's */
	*chart_out = chart;
	chart = NULL;
cleanup:
	if (tmp) {
		nftw(tmp, rm_tree_one, 16, FTW_DEPTH | FTW_PHYS); /* gone when renamed */
		free(tmp);
	}
	free(root);
	free(chart);
	return rc;
}
