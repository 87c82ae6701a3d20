/* webhook.c - forge push webhooks (see webhook.h). */
#include "httpd/webhook.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gs-alloc.h"
#include "gs-base64.h"
#include "gs-buf.h"

#define MAX_URLS 8
#define MAX_REFS 64
#define MAX_PATHS 4096 /* beyond that, treat the list as incomplete */

const char *webhook_forge_name(enum webhook_forge f)
{
	switch (f) {
	case WEBHOOK_GITHUB:
		return "github";
	case WEBHOOK_GITLAB:
		return "gitlab";
	case WEBHOOK_GITEA:
		return "gitea";
	case WEBHOOK_BITBUCKET_SERVER:
		return "bitbucketserver";
	case WEBHOOK_UNKNOWN:
		break;
	}
	return "unknown";
}

enum webhook_forge webhook_detect(webhook_header_fn header, void *payload)
{
	if (header(payload, "X-Gitea-Event") || header(payload, "X-Forgejo-Event"))
		return WEBHOOK_GITEA;
	if (header(payload, "X-Gitlab-Event"))
		return WEBHOOK_GITLAB;
	if (header(payload, "X-GitHub-Event"))
		return WEBHOOK_GITHUB;
	if (header(payload, "X-Event-Key"))
		return WEBHOOK_BITBUCKET_SERVER;
	return WEBHOOK_UNKNOWN;
}

const char *webhook_event(enum webhook_forge forge, webhook_header_fn header, void *payload)
{
	const char *v = NULL;

	switch (forge) {
	case WEBHOOK_GITHUB:
		return header(payload, "X-GitHub-Event");
	case WEBHOOK_GITLAB:
		return header(payload, "X-Gitlab-Event");
	case WEBHOOK_GITEA:
		v = header(payload, "X-Gitea-Event");
		return v ? v : header(payload, "X-Forgejo-Event");
	case WEBHOOK_BITBUCKET_SERVER:
		return header(payload, "X-Event-Key");
	case WEBHOOK_UNKNOWN:
		break;
	}
	return NULL;
}

const char *webhook_delivery(enum webhook_forge forge, webhook_header_fn header, void *payload)
{
	const char *v = NULL;

	switch (forge) {
	case WEBHOOK_GITHUB:
		return header(payload, "X-GitHub-Delivery");
	case WEBHOOK_GITLAB:
		v = header(payload, "X-Gitlab-Event-UUID");
		return v ? v : header(payload, "Idempotency-Key");
	case WEBHOOK_GITEA:
		v = header(payload, "X-Gitea-Delivery");
		return v ? v : header(payload, "X-Forgejo-Delivery");
	case WEBHOOK_BITBUCKET_SERVER:
		return header(payload, "X-Request-Id");
	case WEBHOOK_UNKNOWN:
		break;
	}
	return NULL;
}

void webhook_hmac_sha256_hex(char hex[65], const char *key, size_t keylen, const void *data,
			     size_t len)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &n);
	for (i = 0; i < 32 && i < n; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[64] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* Compare a received hex signature with ours: lower-case it into a fixed
 * buffer first so the comparison is over 64 bytes whatever was sent. */
static int sig_equal(const char *got, const char *want_hex)
{
	char norm[64];
	size_t i, n = strlen(got);

	if (n != 64)
		return 0;
	for (i = 0; i < 64; i++)
		norm[i] = (char)tolower((unsigned char)got[i]);
	return CRYPTO_memcmp(norm, want_hex, 64) == 0;
}

int webhook_verify(enum webhook_forge forge, const char *secret, webhook_header_fn header,
		   void *payload, const char *body, size_t len, struct gs_error *err)
{
	const char *hname = NULL, *got = NULL, *prefix = NULL;
	char want[65];
	int ok;

	if (forge == WEBHOOK_UNKNOWN)
		return gs_error_set(err, GS_EAUTH, "unknown webhook sender (no forge event header)");
	if (!secret || !*secret)
		return gs_error_set(err, GS_EAUTH,
				    "no webhook secret configured for %s "
				    "(set webhook.%s.secret in the Secret gitsync-secret)",
				    webhook_forge_name(forge), webhook_forge_name(forge));
	switch (forge) {
	case WEBHOOK_GITHUB:
		hname = "X-Hub-Signature-256";
		prefix = "sha256=";
		break;
	case WEBHOOK_BITBUCKET_SERVER:
		hname = "X-Hub-Signature";
		prefix = "sha256=";
		break;
	case WEBHOOK_GITEA:
		hname = "X-Gitea-Signature";
		if (!header(payload, hname) && header(payload, "X-Forgejo-Signature"))
			hname = "X-Forgejo-Signature";
		break;
	case WEBHOOK_GITLAB:
		hname = "X-Gitlab-Token";
		break;
	case WEBHOOK_UNKNOWN:
		break;
	}
	got = header(payload, hname);
	if (!got)
		return gs_error_set(err, GS_EAUTH, "missing %s header", hname);

	if (forge == WEBHOOK_GITLAB) {
		/* GitLab sends the secret itself.  Hash both sides so the
		 * comparison runs over equal lengths and reveals no length. */
		char a[65], b[65];
		webhook_hmac_sha256_hex(a, "gitlab", 6, got, strlen(got));
		webhook_hmac_sha256_hex(b, "gitlab", 6, secret, strlen(secret));
		ok = CRYPTO_memcmp(a, b, 64) == 0;
		if (!ok)
			return gs_error_set(err, GS_EAUTH, "%s does not match", hname);
		return 0;
	}
	if (prefix) {
		if (strncasecmp(got, prefix, strlen(prefix)))
			return gs_error_set(err, GS_EAUTH, "%s is not a sha256= signature", hname);
		got += strlen(prefix);
	}
	webhook_hmac_sha256_hex(want, secret, strlen(secret), body, len);
	ok = sig_equal(got, want);
	OPENSSL_cleanse(want, sizeof(want));
	if (!ok)
		return gs_error_set(err, GS_EAUTH, "%s does not match the body", hname);
	return 0;
}

/* ---- repository URLs ---- */

char *webhook_repo_url_normalize(const char *url)
{
	struct gs_buf b = GS_BUF_INIT;
	const char *p, *host, *hend, *path, *s;
	size_t n;

	if (!url)
		return NULL;
	while (*url == ' ' || *url == '\t')
		url++;
	/* Local repositories (file:///srv/git/x.git, /srv/git/x.git): the
	 * test servers and single-node setups use them; key them by path. */
	if (!strncasecmp(url, "file://", 7) || url[0] == '/') {
		path = url[0] == '/' ? url : url + 7;
		n = strlen(path);
		while (n && path[n - 1] == '/')
			n--;
		if (n >= 4 && !strncasecmp(path + n - 4, ".git", 4))
			n -= 4;
		while (n && path[n - 1] == '/')
			n--;
		if (!n || path[0] != '/')
			return NULL;
		gs_buf_puts(&b, "file:");
		gs_buf_add(&b, path, n);
		return gs_buf_detach(&b, NULL);
	}
	p = strstr(url, "://");
	if (p) {
		host = p + 3;
		hend = host + strcspn(host, "/");
		path = hend;
		/* user info */
		for (s = host; s < hend; s++)
			if (*s == '@')
				host = s + 1;
		/* port (not inside an IPv6 literal) */
		if (host < hend && host[0] == '[') {
			s = memchr(host, ']', (size_t)(hend - host));
			if (s)
				hend = s + 1;
		} else if ((s = memchr(host, ':', (size_t)(hend - host)))) {
			hend = s;
		}
	} else {
		/* scp-like: [user@]host:path; a bare path has no host */
		const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
		if (!colon || (slash && slash < colon))
			return NULL;
		host = url;
		hend = colon;
		for (s = host; s < hend; s++)
			if (*s == '@')
				host = s + 1;
		path = colon + 1;
	}
	if (hend <= host)
		return NULL;
	for (s = host; s < hend; s++)
		gs_buf_putc(&b, (char)tolower((unsigned char)*s));
	while (*path == '/')
		path++;
	n = strcspn(path, "?#");
	while (n && path[n - 1] == '/')
		n--;
	if (n >= 4 && !strncasecmp(path + n - 4, ".git", 4))
		n -= 4;
	while (n && path[n - 1] == '/')
		n--;
	if (!n) {
		gs_buf_release(&b);
		return NULL;
	}
	gs_buf_putc(&b, '/');
	for (s = path; s < path + n; s++)
		gs_buf_putc(&b, (char)tolower((unsigned char)*s));
	return gs_buf_detach(&b, NULL);
}

bool webhook_repo_url_match(const char *a, const char *b)
{
	char *na = webhook_repo_url_normalize(a), *nb = webhook_repo_url_normalize(b);
	bool eq = na && nb && !strcmp(na, nb);

	/* Bitbucket Server serves https clones under /scm/PROJECT/repo and
	 * ssh under /project/repo: treat a leading "scm/" as optional. */
	if (!eq && na && nb) {
		const char *pa = strchr(na, '/'), *pb = strchr(nb, '/');
		size_t ha = (size_t)(pa - na), hb = (size_t)(pb - nb);
		if (ha == hb && !strncmp(na, nb, ha)) {
			if (!strncmp(pa, "/scm/", 5))
				pa += 4;
			if (!strncmp(pb, "/scm/", 5))
				pb += 4;
			eq = !strcmp(pa, pb);
		}
	}
	free(na);
	free(nb);
	return eq;
}

/* ---- payloads ---- */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static void add_url(struct webhook_push *p, const char *url)
{
	size_t i;

	if (!url || p->nurls >= MAX_URLS)
		return;
	for (i = 0; i < p->nurls; i++)
		if (!strcmp(p->repo_urls[i], url))
			return;
	p->repo_urls[p->nurls++] = gs_strdup(url);
}

static void add_ref(struct webhook_push *p, const char *ref, const char *after)
{
	struct webhook_ref *r;

	if (!ref || p->nrefs >= MAX_REFS)
		return;
	r = &p->refs[p->nrefs];
	memset(r, 0, sizeof(*r));
	if (!strncmp(ref, "refs/heads/", 11) && ref[11])
		r->branch = gs_strdup(ref + 11);
	else if (!strncmp(ref, "refs/tags/", 10) && ref[10])
		r->tag = gs_strdup(ref + 10);
	else
		return;
	/* An all-zero "after" means the ref was deleted: nothing to follow,
	 * but a refresh still reports the missing revision. */
	r->after = after ? gs_strdup(after) : NULL;
	p->nrefs++;
}

static void add_path(struct webhook_push *p, const char *path)
{
	size_t i;

	if (!path || !*path)
		return;
	if (p->npaths >= MAX_PATHS) {
		p->paths_complete = false;
		return;
	}
	for (i = 0; i < p->npaths; i++)
		if (!strcmp(p->paths[i], path))
			return;
	GS_ALLOC_GROW(p->paths, p->npaths + 1, p->paths_alloc_);
	p->paths[p->npaths++] = gs_strdup(path);
}

/* commits[].added/modified/removed.  Complete only when every commit of the
 * push is listed: GitLab says how many there were (total_commits_count);
 * GitHub and Gitea list at most 20 in a delivery, so 20 or more may be cut. */
static void collect_paths(struct webhook_push *p, const cJSON *root)
{
	static const char *const kinds[] = { "added", "modified", "removed" };
	const cJSON *commits = cJSON_GetObjectItemCaseSensitive(root, "commits");
	const cJSON *total = cJSON_GetObjectItemCaseSensitive(root, "total_commits_count");
	const cJSON *forced = cJSON_GetObjectItemCaseSensitive(root, "forced");
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(root, "created");
	const cJSON *c;
	int n = cJSON_GetArraySize(commits);
	size_t k;

	if (!cJSON_IsArray(commits) || n == 0 || cJSON_IsTrue(forced) || cJSON_IsTrue(created))
		return;
	if (cJSON_IsNumber(total) ? total->valuedouble != n : n >= 20)
		return;
	p->paths_complete = true;
	cJSON_ArrayForEach(c, commits)
	{
		for (k = 0; k < 3; k++) {
			const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c, kinds[k]), *f;
			if (!cJSON_IsArray(arr)) {
				p->paths_complete = false;
				return;
			}
			cJSON_ArrayForEach(f, arr)
			{
				if (!cJSON_IsString(f)) {
					p->paths_complete = false;
					return;
				}
				add_path(p, f->valuestring);
			}
		}
	}
}

bool webhook_push_touches(const struct webhook_push *p, const char *const *prefixes, size_t n)
{
	size_t i, j;

	if (!p->paths_complete)
		return true;
	for (j = 0; j < n; j++) {
		const char *pre = prefixes[j];
		size_t len;
		while (*pre == '/')
			pre++;
		while (pre[0] == '.' && (pre[1] == '/' || !pre[1]))
			pre += pre[1] ? 2 : 1;
		len = strlen(pre);
		while (len && pre[len - 1] == '/')
			len--;
		if (!len)
			return true;
		for (i = 0; i < p->npaths; i++)
			if (!strncmp(p->paths[i], pre, len) &&
			    (p->paths[i][len] == '/' || !p->paths[i][len]))
				return true;
	}
	return false;
}

static int is_push_event(enum webhook_forge forge, const char *event)
{
	if (!event)
		return 0;
	switch (forge) {
	case WEBHOOK_GITHUB:
	case WEBHOOK_GITEA:
		return !strcmp(event, "push");
	case WEBHOOK_GITLAB:
		return !strcmp(event, "Push Hook") || !strcmp(event, "Tag Push Hook") ||
		       !strcmp(event, "System Hook");
	case WEBHOOK_BITBUCKET_SERVER:
		return !strcmp(event, "repo:refs_changed");
	case WEBHOOK_UNKNOWN:
		break;
	}
	return 0;
}

/* GitHub's "application/x-www-form-urlencoded" delivery: payload=<urlencoded JSON>. */
static char *form_payload(const char *body, size_t len, size_t *out_len)
{
	const char *p = body, *end = body + len;
	char *out, *o;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *fe = amp ? amp : end;
		if ((size_t)(fe - p) >= 8 && !memcmp(p, "payload=", 8)) {
			p += 8;
			o = out = gs_malloc((size_t)(fe - p) + 1);
			while (p < fe) {
				if (*p == '+') {
					*o++ = ' ';
					p++;
				} else if (*p == '%' && fe - p >= 3 && gs_hex_digit(p[1]) >= 0 &&
					   gs_hex_digit(p[2]) >= 0) {
					*o++ = (char)(gs_hex_digit(p[1]) << 4 | gs_hex_digit(p[2]));
					p += 3;
				} else {
					*o++ = *p++;
				}
			}
			*o = '\0';
			*out_len = (size_t)(o - out);
			return out;
		}
		p = amp ? amp + 1 : end;
	}
	return NULL;
}

int webhook_parse_push(struct webhook_push **out, enum webhook_forge forge, const char *event,
		       const char *body, size_t len, struct gs_error *err)
{
	struct webhook_push *p = NULL;
	cJSON *root = NULL;
	const cJSON *repo, *proj, *it;
	char *decoded = NULL;
	size_t dlen = 0;
	int rc = 0;

	*out = NULL;
	if (!is_push_event(forge, event))
		return 0;
	if (len && body[0] == 'p' && (decoded = form_payload(body, len, &dlen))) {
		body = decoded;
		len = dlen;
	}
	root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		rc = gs_error_set(err, GS_EINVAL, "%s push event: body is not a JSON object",
				  webhook_forge_name(forge));
		goto cleanup;
	}
	p = gs_calloc(1, sizeof(*p));
	p->forge = forge;
	p->repo_urls = gs_calloc(MAX_URLS, sizeof(char *));
	p->refs = gs_calloc(MAX_REFS, sizeof(struct webhook_ref));

	switch (forge) {
	case WEBHOOK_GITHUB:
	case WEBHOOK_GITEA:
		repo = cJSON_GetObjectItemCaseSensitive(root, "repository");
		add_url(p, jstr(repo, "clone_url"));
		add_url(p, jstr(repo, "ssh_url"));
		add_url(p, jstr(repo, "html_url"));
		add_url(p, jstr(repo, "git_url"));
		/* GitHub's "url" is the API URL for Gitea but the web URL for
		 * GitHub push events; both are harmless extra candidates. */
		add_url(p, jstr(repo, "url"));
		if (jstr(repo, "default_branch"))
			p->default_branch = gs_strdup(jstr(repo, "default_branch"));
		add_ref(p, jstr(root, "ref"), jstr(root, "after"));
		collect_paths(p, root);
		break;
	case WEBHOOK_GITLAB:
		proj = cJSON_GetObjectItemCaseSensitive(root, "project");
		repo = cJSON_GetObjectItemCaseSensitive(root, "repository");
		add_url(p, jstr(proj, "git_http_url"));
		add_url(p, jstr(proj, "git_ssh_url"));
		add_url(p, jstr(proj, "web_url"));
		add_url(p, jstr(repo, "git_http_url"));
		add_url(p, jstr(repo, "git_ssh_url"));
		add_url(p, jstr(repo, "homepage"));
		if (jstr(proj, "default_branch"))
			p->default_branch = gs_strdup(jstr(proj, "default_branch"));
		add_ref(p, jstr(root, "ref"), jstr(root, "after"));
		collect_paths(p, root);
		break;
	case WEBHOOK_BITBUCKET_SERVER:
		repo = cJSON_GetObjectItemCaseSensitive(root, "repository");
		it = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(repo, "links"), "clone");
		if (cJSON_IsArray(it)) {
			const cJSON *c;
			cJSON_ArrayForEach(c, it) add_url(p, jstr(c, "href"));
		}
		it = cJSON_GetObjectItemCaseSensitive(root, "changes");
		if (cJSON_IsArray(it)) {
			const cJSON *c;
			cJSON_ArrayForEach(c, it)
			{
				const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c, "ref");
				add_ref(p, jstr(ref, "id") ? jstr(ref, "id") : jstr(c, "refId"),
					jstr(c, "toHash"));
			}
		}
		break;
	case WEBHOOK_UNKNOWN:
		break;
	}
	if (!p->nurls) {
		rc = gs_error_set(err, GS_EINVAL, "%s push event: no repository URL in the payload",
				  webhook_forge_name(forge));
		goto cleanup;
	}
	*out = p;
	p = NULL;
cleanup:
	webhook_push_free(p);
	cJSON_Delete(root);
	free(decoded);
	return rc;
}

void webhook_push_free(struct webhook_push *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nurls; i++)
		free(p->repo_urls[i]);
	for (i = 0; i < p->nrefs; i++) {
		free(p->refs[i].branch);
		free(p->refs[i].tag);
		free(p->refs[i].after);
	}
	for (i = 0; i < p->npaths; i++)
		free(p->paths[i]);
	free(p->paths);
	free(p->repo_urls);
	free(p->refs);
	free(p->default_branch);
	free(p);
}

static int is_commit_id(const char *s)
{
	size_t n = strlen(s), i;

	if (n != 40 && n != 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

bool webhook_push_matches(const struct webhook_push *p, const char *repo_url,
			  const char *target_revision)
{
	const char *t = target_revision ? target_revision : "";
	bool url = false;
	size_t i;

	for (i = 0; i < p->nurls && !url; i++)
		url = webhook_repo_url_match(p->repo_urls[i], repo_url);
	if (!url)
		return false;
	if (!*t || !strcmp(t, "HEAD")) {
		for (i = 0; i < p->nrefs; i++)
			if (p->refs[i].branch &&
			    (!p->default_branch || !strcmp(p->refs[i].branch, p->default_branch)))
				return true;
		return false;
	}
	if (is_commit_id(t))
		return false;
	for (i = 0; i < p->nrefs; i++) {
		const struct webhook_ref *r = &p->refs[i];
		if (r->branch && (!strcmp(t, r->branch) ||
				  (!strncmp(t, "refs/heads/", 11) && !strcmp(t + 11, r->branch))))
			return true;
		if (r->tag && (!strcmp(t, r->tag) ||
			       (!strncmp(t, "refs/tags/", 10) && !strcmp(t + 10, r->tag))))
			return true;
	}
	return false;
}

/* ---- replay filter ---- */

struct webhook_replay {
	pthread_mutex_t lock;
	char **ids;
	size_t cap, next;
};

struct webhook_replay *webhook_replay_new(size_t capacity)
{
	struct webhook_replay *r = gs_calloc(1, sizeof(*r));

	pthread_mutex_init(&r->lock, NULL);
	r->cap = capacity ? capacity : 256;
	r->ids = gs_calloc(r->cap, sizeof(char *));
	return r;
}

void webhook_replay_free(struct webhook_replay *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->cap; i++)
		free(r->ids[i]);
	free(r->ids);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

bool webhook_replay_seen(struct webhook_replay *r, enum webhook_forge forge, const char *id)
{
	return webhook_replay_check(r, forge, id, true);
}

bool webhook_replay_check(struct webhook_replay *r, enum webhook_forge forge, const char *id,
			  bool record)
{
	char *key;
	size_t i;
	bool seen = false;

	if (!r || !id || !*id || strlen(id) > 200)
		return false;
	key = gs_asprintf("%s/%s", webhook_forge_name(forge), id);
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->cap && !seen; i++)
		seen = r->ids[i] && !strcmp(r->ids[i], key);
	if (!seen && record) {
		free(r->ids[r->next]);
		r->ids[r->next] = key;
		key = NULL; /* now owned by the ring */
		r->next = (r->next + 1) % r->cap;
	}
	pthread_mutex_unlock(&r->lock);
	free(key);
	return seen;
}
