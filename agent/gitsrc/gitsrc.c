/* gitsrc.c - the Git source cache: ls-remote, fetch, resolve, export.
 *
 * One bare repository per remote URL and credentials in <cache>/repos;
 * commit trees exported to <cache>/trees/<key>/<sha>.  See gitsrc.h for the layout and the error codes.
 */
#include "gitsrc/gitsrc.h"
#include "gitsrc/gitsrc-private.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <openssl/evp.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "gs-time.h"

#define DEFAULT_MAX_BYTES ((size_t)256 << 20)
/* One file: checked from the object header, before the blob is inflated
 * (a 2.4 MB repository of compressed zeros inflated to 513 MB in memory);
 * the renderer reads no file over 64 MiB and real manifests are far smaller. */
#define GITSRC_MAX_BLOB ((size_t)16 << 20)
#define DEFAULT_MAX_FILES ((size_t)200000)
/* known_hosts files past this are not known_hosts files */
#define MAX_KNOWN_HOSTS ((size_t)4 << 20)

struct gitsrc {
	char *cache_dir;
	size_t max_bytes, max_files;
	struct gitsrc_share *share; /* borrowed, NULL: every call asks the remote */
	double max_age_s;
};

/* State shared with the libgit2 callbacks of one remote operation. */
struct remote_ctx {
	const struct gitsrc_auth *auth;
	const struct gitsrc_url *url;
	char *display_url; /* redacted */
	bool gave_userpass, gave_key, gave_user;
	bool auth_failed;   /* we had nothing (more) to offer */
	bool no_credentials;
	struct gs_error cert_err; /* set when we refused a certificate or host key */
	char *tmp_key_path;       /* key text written to a 0600 file for libssh2 */
};

static const struct gitsrc_auth no_auth;

/* Branches as remote-tracking refs (the force-push check reads them), tags as tags. */
static char refspec_heads[] = "+refs/heads/*:refs/remotes/origin/*";
static char refspec_tags[] = "+refs/tags/*:refs/tags/*";
static char *fetch_refspec_strs[] = { refspec_heads, refspec_tags };
static const git_strarray fetch_refspecs = { fetch_refspec_strs, 2 };

static int git_fail(struct gs_error *err, int code, struct remote_ctx *rc, const char *what)
{
	const git_error *e = git_error_last();
	const char *msg = e && e->message ? e->message : "unknown error";
	const char *url = rc ? rc->display_url : "";

	if (rc && rc->cert_err.code)
		return gs_error_set(err, GS_EAUTH, "%s '%s': %s", what, url, rc->cert_err.msg);
	if (rc && rc->no_credentials)
		return gs_error_set(err, GS_EAUTH,
				    "%s '%s': the repository requires authentication and no "
				    "credentials were given",
				    what, url);
	if ((rc && rc->auth_failed) || code == GIT_EAUTH || strstr(msg, "authentication") ||
	    strstr(msg, " 401") || strstr(msg, "Unauthorized"))
		return gs_error_set(err, GS_EAUTH,
				    "%s '%s': authentication failed (check the credentials)", what,
				    url);
	if (code == GIT_ECERTIFICATE)
		return gs_error_set(err, GS_EAUTH, "%s '%s': %s", what, url, msg);
	/* an https:// read that our stream timed out: mbedTLS replaced the
	 * stream's message with its text for the code (gitsrc-stream.c) */
	if (rc && strstr(msg, "SSL - The operation timed out"))
		return gs_error_set(err, GS_ENET,
				    "%s '%s': no data for %d s over TLS (the server stalled)", what,
				    url, gitsrc_stream_idle_timeout());
	if (rc)
		return gs_error_set(err, GS_ENET, "%s '%s': %s", what, url, msg);
	return gs_error_set(err, code == GIT_ENOTFOUND ? GS_ENOTFOUND : GS_ERR, "%s: %s", what,
			    msg);
}

/* --- callbacks ---------------------------------------------------------- */

static int write_key_file(struct remote_ctx *rc, const char *key)
{
	char tmpl[] = "/tmp/gitsync-key-XXXXXX";
	int fd = mkstemp(tmpl); /* mode 0600 */
	size_t len = strlen(key), off = 0;

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, key + off, len - off);
		if (w <= 0) {
			close(fd);
			unlink(tmpl);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	rc->tmp_key_path = gs_strdup(tmpl);
	return 0;
}

static int credential_cb(git_credential **out, const char *url GS_UNUSED,
			 const char *username_from_url, unsigned int allowed, void *payload)
{
	struct remote_ctx *rc = payload;
	const struct gitsrc_auth *a = rc->auth;
	const char *user = a->username ? a->username
			   : rc->url->username ? rc->url->username
			   : username_from_url ? username_from_url : "git";
	const char *pass = a->password ? a->password : rc->url->password;

	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		if (!pass) {
			rc->no_credentials = true;
			git_error_set_str(GIT_ERROR_NET, "no credentials");
			return GIT_EAUTH;
		}
		if (rc->gave_userpass) { /* the server refused them once: do not loop */
			rc->auth_failed = true;
			git_error_set_str(GIT_ERROR_NET, "authentication failed");
			return GIT_EAUTH;
		}
		rc->gave_userpass = true;
		return git_credential_userpass_plaintext_new(out, a->username ? a->username
								: rc->url->username ? rc->url->username
								: "git",
							    pass);
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		const char *file = a->ssh_key_file;

		if (rc->gave_key || (!a->ssh_key && !a->ssh_key_file)) {
			if (!rc->gave_key)
				rc->no_credentials = true;
			else
				rc->auth_failed = true;
			git_error_set_str(GIT_ERROR_NET, "authentication failed");
			return GIT_EAUTH;
		}
		rc->gave_key = true;
		if (!file) {
			if (!rc->tmp_key_path && write_key_file(rc, a->ssh_key) < 0) {
				git_error_set_str(GIT_ERROR_OS, "cannot write the SSH key");
				return -1;
			}
			file = rc->tmp_key_path;
		}
		return git_credential_ssh_key_new(out, user, NULL, file, a->ssh_passphrase);
	}
	if (allowed & GIT_CREDENTIAL_USERNAME) {
		if (rc->gave_user) {
			rc->auth_failed = true;
			return GIT_EAUTH;
		}
		rc->gave_user = true;
		return git_credential_username_new(out, user);
	}
	rc->no_credentials = true;
	git_error_set_str(GIT_ERROR_NET, "no usable credential type");
	return GIT_EAUTH;
}

static char *read_known_hosts(const struct gitsrc_auth *a)
{
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error e = GS_ERROR_INIT;
	char *path = NULL;
	const char *home = getenv("HOME");

	if (a->known_hosts)
		return gs_strdup(a->known_hosts);
	if (a->known_hosts_file)
		path = gs_strdup(a->known_hosts_file);
	else if (home)
		path = gs_asprintf("%s/.ssh/known_hosts", home);
	b.max = MAX_KNOWN_HOSTS;
	if (!path || gs_buf_read_file(&b, path, &e) < 0) {
		free(path);
		gs_buf_release(&b);
		return NULL;
	}
	free(path);
	return gs_buf_detach(&b, NULL);
}

static int certificate_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct remote_ctx *rc = payload;
	const struct gitsrc_auth *a = rc->auth;

	if (cert->cert_type == GIT_CERT_X509) {
		const git_cert_x509 *x = (const git_cert_x509 *)cert;

		if (a->insecure_skip_tls_verify)
			return 0;
		if (a->ca_bundle || a->ca_file) {
			if (gitsrc_verify_x509(x->data, x->len, host, a->ca_bundle, a->ca_file,
					       &rc->cert_err) == GS_OK)
				return 0;
			return GIT_ECERTIFICATE;
		}
		if (valid)
			return 0;
		gs_error_set(&rc->cert_err, GS_EAUTH,
			     "TLS: the server certificate of '%s' is not trusted (give a CA bundle)",
			     host);
		return GIT_ECERTIFICATE;
	}
	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
		const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
		char *kh;
		int r;

		if (a->insecure_ignore_host_key)
			return 0;
		if (!(hk->type & GIT_CERT_SSH_RAW)) {
			gs_error_set(&rc->cert_err, GS_EAUTH, "SSH: no raw host key to check");
			return GIT_ECERTIFICATE;
		}
		kh = read_known_hosts(a);
		r = gitsrc_known_hosts_check(kh, host, rc->url->port,
					     (const unsigned char *)hk->hostkey, hk->hostkey_len);
		free(kh);
		if (r == 1)
			return 0;
		if (r < 0)
			gs_error_set(&rc->cert_err, GS_EAUTH,
				     "SSH: the host key of '%s' does not match known_hosts "
				     "(changed key or man-in-the-middle)",
				     host);
		else
			gs_error_set(&rc->cert_err, GS_EAUTH,
				     "SSH: host '%s' is not in known_hosts (add its key)", host);
		return GIT_ECERTIFICATE;
	}
	return valid ? 0 : GIT_PASSTHROUGH;
}

static void remote_ctx_init(struct remote_ctx *rc, const struct gitsrc_url *u,
			    const struct gitsrc_auth *auth, const char *url)
{
	memset(rc, 0, sizeof(*rc));
	rc->auth = auth ? auth : &no_auth;
	rc->url = u;
	rc->display_url = gitsrc_url_redact(url);
}

static void remote_ctx_release(struct remote_ctx *rc)
{
	if (rc->tmp_key_path) {
		unlink(rc->tmp_key_path);
		free(rc->tmp_key_path);
	}
	free(rc->display_url);
}

static void set_callbacks(git_remote_callbacks *cb, struct remote_ctx *rc)
{
	cb->credentials = credential_cb;
	cb->certificate_check = certificate_cb;
	cb->payload = rc;
}

/* --- resolving ----------------------------------------------------------- */

static const git_remote_head *find_head(const git_remote_head **heads, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(heads[i]->name, name))
			return heads[i];
	return NULL;
}

/* Resolve revision against the advertised refs.  GS_ENOTFOUND when it is
 * not a ref name (nor a full commit id). */
static int resolve_advertised(struct gitsrc_rev *out, const git_remote_head **heads, size_t n,
			      const char *revision)
{
	const git_remote_head *h = NULL;
	char name[300], peeled[310];
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!revision || !*revision || !strcmp(revision, "HEAD")) {
		h = find_head(heads, n, "HEAD");
		if (!h)
			return GS_ENOTFOUND;
		git_oid_tostr(out->sha, sizeof(out->sha), &h->oid);
		if (h->symref_target)
			snprintf(out->ref, sizeof(out->ref), "%s", h->symref_target);
		else /* no symref capability: find the branch at the same commit */
			for (i = 0; i < n; i++)
				if (!strncmp(heads[i]->name, "refs/heads/", 11) &&
				    git_oid_equal(&heads[i]->oid, &h->oid)) {
					snprintf(out->ref, sizeof(out->ref), "%s", heads[i]->name);
					break;
				}
		return GS_OK;
	}
	{
		const char *prefixes[] = { "", "refs/heads/", "refs/tags/" };

		for (i = 0; i < 3 && !h; i++) {
			if (i == 0 && strncmp(revision, "refs/", 5))
				continue;
			snprintf(name, sizeof(name), "%s%s", prefixes[i], revision);
			h = find_head(heads, n, name);
		}
	}
	if (h) {
		const git_remote_head *p;

		/* an annotated tag: the commit is the peeled "^{}" entry */
		snprintf(peeled, sizeof(peeled), "%s^{}", h->name);
		p = find_head(heads, n, peeled);
		git_oid_tostr(out->sha, sizeof(out->sha), p ? &p->oid : &h->oid);
		snprintf(out->ref, sizeof(out->ref), "%s", h->name);
		return GS_OK;
	}
	if (gitsrc_is_sha(revision)) {
		for (i = 0; i < 40; i++)
			out->sha[i] = (char)((revision[i] >= 'A' && revision[i] <= 'F')
						     ? revision[i] - 'A' + 'a'
						     : revision[i]);
		out->sha[40] = '\0';
		return GS_OK;
	}
	return GS_ENOTFOUND;
}

static int connect_and_list(const git_remote_head ***heads, size_t *n, git_remote *remote,
			    struct remote_ctx *rc, struct gs_error *err)
{
	git_remote_callbacks cb = GIT_REMOTE_CALLBACKS_INIT;
	int r;

	set_callbacks(&cb, rc);
	git_error_clear();
	r = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, NULL, NULL);
	if (r < 0)
		return git_fail(err, r, rc, "cannot reach repository");
	r = git_remote_ls(heads, n, remote);
	if (r < 0)
		return git_fail(err, r, rc, "cannot list refs of");
	return GS_OK;
}

int gitsrc_ls_remote(struct gitsrc_rev *out, struct gitsrc *src GS_UNUSED, const char *url,
		     const char *revision, const struct gitsrc_auth *auth, struct gs_error *err)
{
	struct gitsrc_url u = GITSRC_URL_INIT;
	struct remote_ctx rc;
	git_remote *remote = NULL;
	const git_remote_head **heads = NULL;
	size_t n = 0;
	int r;

	if ((r = gitsrc_url_parse(&u, url, err)) < 0)
		return r;
	remote_ctx_init(&rc, &u, auth, url);
	if (git_remote_create_detached(&remote, u.clean) < 0) {
		r = git_fail(err, GIT_ERROR, &rc, "invalid repository URL");
		goto cleanup;
	}
	if ((r = connect_and_list(&heads, &n, remote, &rc, err)) < 0)
		goto cleanup;
	r = resolve_advertised(out, heads, n, revision);
	if (r == GS_ENOTFOUND)
		gs_error_set(err, GS_ENOTFOUND,
			     "revision '%s' not found in '%s' (no such branch or tag)",
			     revision && *revision ? revision : "HEAD", rc.display_url);
cleanup:
	if (remote)
		git_remote_disconnect(remote);
	git_remote_free(remote);
	remote_ctx_release(&rc);
	gitsrc_url_release(&u);
	return r;
}

/* --- the cache ----------------------------------------------------------- */

static int mkdir_p(const char *path, struct gs_error *err)
{
	char *tmp = gs_strdup(path);
	char *p;
	int rc = GS_OK;

	for (p = tmp + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
				rc = gs_error_set(err, GS_EIO, "cannot create directory '%s': %s", tmp,
						  strerror(errno));
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(tmp);
	return rc;
}

const char *gitsrc_cache_dir(const struct gitsrc *src)
{
	return src->cache_dir;
}

int gitsrc_new(struct gitsrc **out, const char *cache_dir, struct gs_error *err)
{
	struct gitsrc *src;
	char *repos, *trees;
	int rc;

	if (!cache_dir || !*cache_dir)
		return gs_error_set(err, GS_EINVAL, "no Git cache directory");
	repos = gs_asprintf("%s/repos", cache_dir);
	trees = gs_asprintf("%s/trees", cache_dir);
	rc = mkdir_p(repos, err);
	if (!rc)
		rc = mkdir_p(trees, err);
	free(repos);
	free(trees);
	if (rc)
		return rc;
	git_libgit2_init();
	rc = gitsrc_stream_register(err);
	if (rc) {
		git_libgit2_shutdown();
		return rc;
	}
	src = gs_calloc(1, sizeof(*src));
	src->cache_dir = gs_strdup(cache_dir);
	src->max_bytes = DEFAULT_MAX_BYTES;
	src->max_files = DEFAULT_MAX_FILES;
	*out = src;
	return GS_OK;
}

void gitsrc_free(struct gitsrc *src)
{
	if (!src)
		return;
	free(src->cache_dir);
	free(src);
	git_libgit2_shutdown();
}

void gitsrc_set_share(struct gitsrc *src, struct gitsrc_share *sh)
{
	src->share = sh;
}

void gitsrc_set_max_age(struct gitsrc *src, double max_age_s)
{
	src->max_age_s = max_age_s;
}

void gitsrc_set_export_limits(struct gitsrc *src, size_t max_bytes, size_t max_files)
{
	src->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
	src->max_files = max_files ? max_files : DEFAULT_MAX_FILES;
}

static void digest_field(EVP_MD_CTX *md, const char *v)
{
	/* a length prefix keeps ("ab","c") and ("a","bc") apart */
	char len[24];

	snprintf(len, sizeof(len), "%zu:", v ? strlen(v) : (size_t)0);
	EVP_DigestUpdate(md, len, strlen(len));
	if (v)
		EVP_DigestUpdate(md, v, strlen(v));
}

/* The cache key of a repository as read with some credentials: 32 hex
 * digits of SHA-256 over the URL without credentials and every credential
 * (owned).  Two apps share a clone and its exports only when they name the
 * same repository with the same credentials, so an app can never be served
 * a commit that another app's credentials fetched: a pinned commit id in
 * the cache is not a way around authentication. */
static char *cache_key(const struct gitsrc_url *u, const struct gitsrc_auth *auth)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char hex[33];
	unsigned i;

	if (!auth)
		auth = &no_auth;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	digest_field(md, "gitsync cache 2");
	digest_field(md, u->clean);
	digest_field(md, u->username);
	digest_field(md, u->password);
	digest_field(md, auth->username);
	digest_field(md, auth->password);
	digest_field(md, auth->ssh_key);
	digest_field(md, auth->ssh_key_file);
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
	return gs_strdup(hex);
}

const char *gitsrc_cache_path(const struct gitsrc *src)
{
	return src->cache_dir;
}

/* <cache>/repos/<key> (no suffix). */
static char *repo_base(const struct gitsrc *src, const char *key)
{
	return gs_asprintf("%s/repos/%s", src->cache_dir, key);
}

static int lock_repo(int *fd_out, const char *base, struct gs_error *err)
{
	char *path = gs_asprintf("%s.lock", base);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		gs_error_set(err, GS_EIO, "cannot lock '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return GS_EIO;
	}
	free(path);
	*fd_out = fd;
	return GS_OK;
}

static void unlock_repo(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

/* Open (or create) the bare cache repository for url and its "origin". */
static int open_cache_repo(git_repository **repo_out, git_remote **remote_out, const char *base,
			   const char *clean_url, struct gs_error *err)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	char *path = gs_asprintf("%s.git", base);
	int r;

	r = git_repository_open_bare(&repo, path);
	if (r == GIT_ENOTFOUND)
		r = git_repository_init(&repo, path, 1);
	if (r < 0) {
		r = git_fail(err, r, NULL, "cannot open the Git cache");
		goto cleanup;
	}
	/* An anonymous remote with explicit refspecs (fetch_refspecs): nothing
	 * in the cache's config to keep in step with the URL, and libgit2 1.5's
	 * config lookups of remotes (url.*.insteadOf) leak regex match data on
	 * every call: skip them, a cache repository has no such config. */
	{
		git_remote_create_options ro = GIT_REMOTE_CREATE_OPTIONS_INIT;

		ro.repository = repo;
		ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
			   GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
		r = git_remote_create_with_opts(&remote, clean_url, &ro);
	}
	if (r < 0) {
		r = git_fail(err, r, NULL, "cannot set up the Git cache remote");
		goto cleanup;
	}
	*repo_out = repo;
	repo = NULL;
	*remote_out = remote;
	remote = NULL;
	r = GS_OK;
cleanup:
	git_remote_free(remote);
	git_repository_free(repo);
	free(path);
	return r;
}

static bool have_commit(git_repository *repo, const char *sha)
{
	git_oid oid;
	git_commit *c = NULL;

	if (!gitsrc_is_sha(sha) || git_oid_fromstr(&oid, sha) < 0)
		return false;
	if (git_commit_lookup(&c, repo, &oid) < 0)
		return false;
	git_commit_free(c);
	return true;
}

/* The remote-tracking ref for a branch ref, or "" when ref is not a branch. */
static void tracking_ref(char *buf, size_t n, const char *ref)
{
	if (!strncmp(ref, "refs/heads/", 11))
		snprintf(buf, n, "refs/remotes/origin/%.200s", ref + 11);
	else
		buf[0] = '\0';
}

static void read_ref_sha(char out[41], git_repository *repo, const char *name)
{
	git_oid oid;

	out[0] = '\0';
	if (*name && git_reference_name_to_id(&oid, repo, name) == 0)
		git_oid_tostr(out, 41, &oid);
}

void gitsrc_result_release(struct gitsrc_result *res)
{
	free(res->dir);
	*res = (struct gitsrc_result)GITSRC_RESULT_INIT;
}

static int export_locked(char **dir_out, struct gitsrc *src, git_repository *repo,
			 const char *key, const char *clean_url, const char *sha,
			 const char *base_sha, bool replace, struct gs_error *err, bool *exported);

int gitsrc_get(struct gitsrc_result *res, struct gitsrc *src, const char *url,
	       const char *revision, const struct gitsrc_auth *auth, unsigned flags,
	       struct gs_error *err)
{
	struct gitsrc_url u = GITSRC_URL_INIT;
	struct gitsrc_result out = GITSRC_RESULT_INIT;
	struct remote_ctx rc;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	const git_remote_head **heads = NULL;
	size_t n = 0;
	char *key = NULL, *base = NULL;
	char track[300] = "";
	char *mkey = NULL;
	int lock_fd = -1, r;
	unsigned share_gen = 0;
	bool resolved = false;
	const char *rev_text = revision && *revision ? revision : "HEAD";
	double t0 = gs_time_mono(), t_export = 0;

	*res = (struct gitsrc_result)GITSRC_RESULT_INIT;
	if ((r = gitsrc_url_parse(&u, url, err)) < 0)
		return r;
	remote_ctx_init(&rc, &u, auth, url);
	key = cache_key(&u, auth);
	base = repo_base(src, key);
	if (src->share && !(flags & (GITSRC_FETCH_ALWAYS | GITSRC_REEXPORT))) {
		/* keyed as the cache is: the same clone, the same answer */
		mkey = gs_asprintf("%s\n%s\n%u", key, rev_text, flags & GITSRC_NO_EXPORT);
		if (gitsrc_share_begin(src->share, mkey, u.clean, src->max_age_s, res,
				       &share_gen)) {
			free(mkey);
			mkey = NULL; /* answered: nothing to hand back */
			r = GS_OK;
			goto cleanup;
		}
	}
	if ((r = lock_repo(&lock_fd, base, err)) < 0)
		goto cleanup;
	if ((r = open_cache_repo(&repo, &remote, base, u.clean, err)) < 0)
		goto cleanup;

	/* A pinned commit we already hold needs no network at all. */
	if (gitsrc_is_sha(revision) && !(flags & GITSRC_FETCH_ALWAYS) && have_commit(repo, revision)) {
		resolve_advertised(&out.rev, NULL, 0, revision);
		resolved = true;
	} else {
		if (src->share)
			gitsrc_share_count(src->share, true, false);
		if ((r = connect_and_list(&heads, &n, remote, &rc, err)) < 0)
			goto cleanup;
		resolved = resolve_advertised(&out.rev, heads, n, revision) == GS_OK;
		if (resolved) {
			tracking_ref(track, sizeof(track), out.rev.ref);
			read_ref_sha(out.previous_sha, repo, track);
		}
		if (!resolved || (flags & GITSRC_FETCH_ALWAYS) || !have_commit(repo, out.rev.sha)) {
			git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;

			set_callbacks(&fo.callbacks, &rc);
			if (src->share)
				gitsrc_share_count(src->share, false, true);
			fo.prune = GIT_FETCH_PRUNE;
			fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
			git_error_clear();
			r = git_remote_fetch(remote, &fetch_refspecs, &fo, "gitsync: fetch");
			if (r < 0) {
				r = git_fail(err, r, &rc, "cannot fetch from");
				goto cleanup;
			}
			out.fetched = true;
		} else if (*track && strcmp(out.previous_sha, out.rev.sha)) {
			/* The branch moved to a commit we already hold (fetched
			 * through another ref): move the tracking ref ourselves so
			 * the next force-push check compares against it. */
			git_oid oid;
			git_reference *ref = NULL;

			git_oid_fromstr(&oid, out.rev.sha);
			if (git_reference_create(&ref, repo, track, &oid, 1, "gitsync: ls-remote") == 0)
				git_reference_free(ref);
		}
	}

	if (!resolved && !gitsrc_is_sha(revision) && revision && strlen(revision) >= 4 &&
	    strspn(revision, "0123456789abcdefABCDEF") == strlen(revision)) {
		git_object *obj = NULL;

		/* an abbreviated commit id: only the fetched objects can tell */
		if (git_revparse_single(&obj, repo, revision) == 0) {
			git_object *commit = NULL;

			if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) == 0) {
				git_oid_tostr(out.rev.sha, sizeof(out.rev.sha), git_object_id(commit));
				out.rev.ref[0] = '\0';
				resolved = true;
				git_object_free(commit);
			}
			git_object_free(obj);
		}
	}
	if (!resolved) {
		r = gs_error_set(err, GS_ENOTFOUND,
				 "revision '%s' not found in '%s' (no such branch, tag or commit)",
				 rev_text, rc.display_url);
		goto cleanup;
	}
	if (!have_commit(repo, out.rev.sha)) {
		r = gs_error_set(err, GS_ENOTFOUND,
				 "commit %s not found in '%s' (not reachable from any branch or tag)",
				 out.rev.sha, rc.display_url);
		goto cleanup;
	}
	if (*out.previous_sha && strcmp(out.previous_sha, out.rev.sha)) {
		git_oid now, before;

		git_oid_fromstr(&now, out.rev.sha);
		git_oid_fromstr(&before, out.previous_sha);
		/* the old commit stays in the cache's odb after a forced update */
		if (git_graph_descendant_of(repo, &now, &before) != 1)
			out.force_pushed = true;
	}
	t_export = gs_time_mono();
	out.fetch_s = t_export - t0;
	if (!(flags & GITSRC_NO_EXPORT) &&
	    (r = export_locked(&out.dir, src, repo, key, u.clean, out.rev.sha, out.previous_sha,
			       (flags & GITSRC_REEXPORT) != 0, err, &out.exported)) < 0)
		goto cleanup;
	out.export_s = gs_time_mono() - t_export;
	*res = out;
	out = (struct gitsrc_result)GITSRC_RESULT_INIT; /* now owned by res */
	r = GS_OK;
cleanup:
	if (mkey) {
		gitsrc_share_end(src->share, mkey, r == GS_OK ? res : NULL, share_gen);
		free(mkey);
	}
	if (remote)
		git_remote_disconnect(remote);
	git_remote_free(remote);
	git_repository_free(repo);
	unlock_repo(lock_fd);
	free(base);
	free(key);
	gitsrc_result_release(&out);
	remote_ctx_release(&rc);
	gitsrc_url_release(&u);
	return r;
}

/* --- export ------------------------------------------------------------ */

struct export_ctx {
	git_repository *repo;
	const char *sha;
	size_t bytes, files, max_bytes, max_files;
	size_t linked; /* files hard-linked from the base export */
	struct gs_error *err;
};

/* Is name safe to create in an export directory?  The same rules as git
 * fsck's (verify_path, hasDot/hasDotdot/hasDotgit, fullPathname): a tree
 * entry named "", ".", "..", ".git" (in any case, and its NTFS spellings
 * "git~1" and ".git" with trailing dots or spaces), or holding a '/' would
 * be written outside the export or into a place git itself refuses.  git
 * never creates such entries; a crafted repository (git hash-object
 * --literally, libgit2 with validation off) can.  A NUL cannot reach us:
 * tree entry names end at the first NUL. */
static const char *unsafe_name(const char *name)
{
	size_t n = strlen(name);

	if (!n)
		return "an empty name";
	if (strchr(name, '/'))
		return name[0] == '/' ? "an absolute path" : "a name holding '/'";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "a '.' or '..' entry";
	while (n && (name[n - 1] == '.' || name[n - 1] == ' '))
		n--;
	if ((n == 4 && !strncasecmp(name, ".git", 4)) || (n == 5 && !strncasecmp(name, "git~1", 5)))
		return "a '.git' entry";
	return NULL;
}

/* Hard-link name from base_fd (the same directory of an earlier export,
 * holding the same blob with the same mode) into dir_fd instead of writing
 * it again: a new commit usually changes a few files of thousands, and
 * link(2) costs a fraction of open+write+close.  Only a regular file still
 * read-only is taken (an export someone made writable may have been
 * edited: write it afresh); linkat without AT_SYMLINK_FOLLOW never follows
 * a symlink.  *size_out gets its size.  False (write it then) on any
 * failure: base removed meanwhile, EMLINK, another file system. */
static bool link_from_base(int base_fd, int dir_fd, const char *name, size_t *size_out)
{
	struct stat st;

	if (base_fd < 0 || fstatat(base_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || (st.st_mode & 0222) || linkat(base_fd, name, dir_fd, name, 0) < 0)
		return false;
	*size_out = (size_t)st.st_size;
	return true;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Would a symlink at depth `depth` (directories below the root) pointing at
 * target stay inside the export?  The renderer is root-confined too; this
 * keeps the export itself from holding a way out. */
static bool link_stays_inside(const char *target, int depth)
{
	const char *p = target;

	if (*target == '/' || !*target)
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "..", 2)) {
			if (--depth < 0)
				return false;
		} else if (!(n == 1 && *p == '.') && n) {
			depth++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

/* Open a directory below dir_fd without following a symlink. */
static int open_dir_at(int dir_fd, const char *name)
{
	return openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The blob's size from its header (no inflating) against the per-file and
 * per-commit limits; path is its path in the commit. */
static int check_blob_size(struct export_ctx *x, const git_tree_entry *e, const char *path)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t size = 0;
	const char *rel = path;
	int rc = GS_OK;

	if (git_repository_odb(&odb, x->repo) < 0 ||
	    git_odb_read_header(&size, &type, odb, git_tree_entry_id(e)) < 0) {
		git_odb_free(odb);
		return GS_OK; /* reading the blob reports the real error */
	}
	git_odb_free(odb);
	if (size > GITSRC_MAX_BLOB)
		rc = gs_error_set(x->err, GS_ELIMIT,
				  "export: '%s' is %zu bytes, more than the %zu MiB a file may have "
				  "(checked before inflating it)",
				  rel, size, GITSRC_MAX_BLOB >> 20);
	else if (x->bytes + size > x->max_bytes)
		rc = gs_error_set(x->err, GS_ELIMIT,
				  "export: the commit holds more than %zu bytes (at '%s')",
				  x->max_bytes, rel);
	return rc;
}

/* Write tree into the directory dir_fd; rel is its path in the commit ("" at
 * the root) for messages.  base (may be NULL) is the same directory in an
 * earlier export, open as base_fd (-1: none): files whose blob and mode did
 * not change are hard-linked from it.  Every call is relative to dir_fd, no
 * name is followed through a symlink, and every name is checked first: a
 * crafted entry cannot write outside the export. */
static int export_tree(struct export_ctx *x, const git_tree *tree, int dir_fd, const char *rel,
		       int depth, const git_tree *base, int base_fd)
{
	size_t i, count = git_tree_entrycount(tree);
	int rc = GS_OK;

	for (i = 0; i < count && rc == GS_OK; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		const git_tree_entry *be = base ? git_tree_entry_byname(base, name) : NULL;
		char *path = gs_asprintf("%s%s%s", rel, *rel ? "/" : "", name);
		const char *why = unsafe_name(name);
		git_object *obj = NULL, *base_obj = NULL;
		int sub_fd = -1, sub_base_fd = -1;

		if (why) {
			rc = gs_error_set(x->err, GS_EINVAL,
					  "commit %.12s holds the tree entry '%s', %s, which is never "
					  "written (git fsck rejects it too): refusing the commit "
					  "(remove the entry from the repository)",
					  x->sha, path, why);
			goto next;
		}
		if (++x->files > x->max_files) {
			rc = gs_error_set(x->err, GS_ELIMIT,
					  "export: more than %zu files in the commit", x->max_files);
			goto next;
		}
		if (mode == GIT_FILEMODE_TREE) {
			if (mkdirat(dir_fd, name, 0755) < 0 || (sub_fd = open_dir_at(dir_fd, name)) < 0) {
				rc = gs_error_set(x->err, GS_EIO, "export: mkdir '%s': %s", path,
						  strerror(errno));
				goto next;
			}
			if (git_tree_entry_to_object(&obj, x->repo, e) < 0) {
				rc = git_fail(x->err, -1, NULL, "export: read tree");
				goto next;
			}
			if (be && git_tree_entry_filemode(be) == GIT_FILEMODE_TREE && base_fd >= 0 &&
			    (git_tree_entry_to_object(&base_obj, x->repo, be) < 0 ||
			     (sub_base_fd = open_dir_at(base_fd, name)) < 0)) {
				git_object_free(base_obj);
				base_obj = NULL; /* no base for this subtree: write it */
			}
			rc = export_tree(x, (const git_tree *)obj, sub_fd, path, depth + 1,
					 (const git_tree *)base_obj, sub_base_fd);
		} else if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
			   mode == GIT_FILEMODE_LINK) {
			const git_blob *blob;
			size_t size;

			if (mode != GIT_FILEMODE_LINK && be && git_tree_entry_filemode(be) == mode &&
			    git_oid_equal(git_tree_entry_id(be), git_tree_entry_id(e)) &&
			    link_from_base(base_fd, dir_fd, name, &size)) {
				x->linked++;
				if (!gs_size_add(&x->bytes, x->bytes, size) || x->bytes > x->max_bytes)
					rc = gs_error_set(x->err, GS_ELIMIT,
							  "export: the commit holds more than %zu bytes",
							  x->max_bytes);
				goto next;
			}
			if ((rc = check_blob_size(x, e, path)) < 0)
				goto next;
			if (git_tree_entry_to_object(&obj, x->repo, e) < 0) {
				rc = git_fail(x->err, -1, NULL, "export: read blob");
				goto next;
			}
			blob = (const git_blob *)obj;
			size = (size_t)git_blob_rawsize(blob);
			if (!gs_size_add(&x->bytes, x->bytes, size) || x->bytes > x->max_bytes) {
				rc = gs_error_set(x->err, GS_ELIMIT,
						  "export: the commit holds more than %zu bytes",
						  x->max_bytes);
				goto next;
			}
			if (mode == GIT_FILEMODE_LINK) {
				char *target = gs_strndup(git_blob_rawcontent(blob), size);

				/* a link leading out of the tree is dropped, not followed */
				if (strlen(target) == size && link_stays_inside(target, depth) &&
				    symlinkat(target, dir_fd, name) < 0)
					rc = gs_error_set(x->err, GS_EIO, "export: symlink '%s': %s",
							  path, strerror(errno));
				free(target);
			} else {
				/* read-only: an export is never a working copy; O_EXCL and
				 * O_NOFOLLOW: never into something already there */
				int fd = openat(dir_fd, name,
						O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
						mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0555 : 0444);

				if (fd < 0 || write_all(fd, git_blob_rawcontent(blob), size) < 0)
					rc = gs_error_set(x->err, GS_EIO, "export: write '%s': %s",
							  path, strerror(errno));
				if (fd >= 0 && close(fd) < 0 && rc == GS_OK)
					rc = gs_error_set(x->err, GS_EIO, "export: write '%s': %s",
							  path, strerror(errno));
			}
		}
		/* GIT_FILEMODE_COMMIT (a submodule) is not exported: we never fetch submodules */
next:
		if (sub_fd >= 0)
			close(sub_fd);
		if (sub_base_fd >= 0)
			close(sub_base_fd);
		git_object_free(base_obj);
		git_object_free(obj);
		free(path);
	}
	return rc;
}

static int rm_entry(const char *path, const struct stat *sb GS_UNUSED, int type,
		    struct FTW *ftw GS_UNUSED)
{
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Put the complete export tmp in place of final, which exists: swap the two
 * atomically (renameat2 RENAME_EXCHANGE), so a reader of final sees either
 * the old tree or the new one, never a missing directory; then tmp holds the
 * old tree.  Where the file system cannot exchange, move the old one aside
 * first (a short window without final). */
static int replace_export(const char *tmp, const char *final, struct gs_error *err)
{
	char *old;
	int rc = GS_OK;

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0)
		return GS_OK;
	if (errno != EINVAL && errno != ENOSYS)
		return gs_error_set(err, GS_EIO, "export: replace '%s': %s", final,
				    strerror(errno));
	old = gs_asprintf("%s.old", tmp);
	if (rename(final, old) < 0 || rename(tmp, final) < 0)
		rc = gs_error_set(err, GS_EIO, "export: replace '%s': %s", final, strerror(errno));
	else if (rename(old, tmp) < 0)
		rm_rf(old);
	free(old);
	return rc;
}

/* The marker that says trees/<key>/<sha> is complete, for that commit, from
 * that repository: written by us after the export is in place, and the
 * only thing that makes an existing export reusable.  A directory without
 * it (a crash, or anything not written by us) is written again. */
static char *marker_text(const char *clean_url, const char *sha)
{
	return gs_asprintf("gitsync export 1\nrepository %s\ncommit %s\n", clean_url, sha);
}

static bool export_complete(int key_fd, const char *clean_url, const char *sha)
{
	char *want = marker_text(clean_url, sha), *name = gs_asprintf("%s.done", sha);
	char buf[4096];
	struct stat st;
	ssize_t n = -1;
	int fd;

	if (fstatat(key_fd, sha, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	    (fd = openat(key_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n >= 0)
		buf[n] = '\0';
	n = n >= 0 && !strcmp(buf, want);
	free(want);
	free(name);
	return n;
}

static int write_marker(int key_fd, const char *key_dir, const char *clean_url, const char *sha,
			struct gs_error *err)
{
	char *text = marker_text(clean_url, sha), *name = gs_asprintf("%s.done", sha);
	char *tmp = gs_asprintf(".%s.done.tmp", sha);
	int fd, rc = GS_OK;

	unlinkat(key_fd, tmp, 0);
	fd = openat(key_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0 ||
	    renameat(key_fd, tmp, key_fd, name) < 0)
		rc = gs_error_set(err, GS_EIO, "export: cannot write '%s/%s': %s", key_dir, name,
				  strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc != GS_OK)
		unlinkat(key_fd, tmp, 0);
	free(text);
	free(name);
	free(tmp);
	return rc;
}

/* The tree of base_sha and its export directory open (*base_fd), to link
 * unchanged files from; false when there is none to trust. */
static bool export_base(git_tree **tree_out, int *base_fd, int key_fd, git_repository *repo,
			const char *clean_url, const char *base_sha)
{
	git_commit *commit = NULL;
	git_oid oid;
	int fd;

	if (!base_sha || !gitsrc_is_sha(base_sha) || !export_complete(key_fd, clean_url, base_sha))
		return false;
	if (git_oid_fromstr(&oid, base_sha) < 0 || git_commit_lookup(&commit, repo, &oid) < 0 ||
	    (fd = open_dir_at(key_fd, base_sha)) < 0) {
		git_commit_free(commit);
		return false;
	}
	if (git_commit_tree(tree_out, commit) < 0) {
		close(fd);
		git_commit_free(commit);
		return false;
	}
	git_commit_free(commit);
	*base_fd = fd;
	return true;
}

/* Export commit sha of repo to trees/<key>/<sha>, where key names the
 * repository and the credentials it was read with (cache_key), so one
 * repository can never place or find another's export. */
static int export_locked(char **dir_out, struct gitsrc *src, git_repository *repo,
			 const char *key, const char *clean_url, const char *sha,
			 const char *base_sha, bool replace, struct gs_error *err, bool *exported)
{
	char *key_dir = gs_asprintf("%s/trees/%s", src->cache_dir, key);
	char *final = gs_asprintf("%s/%s", key_dir, sha);
	char *tmp = gs_asprintf("%s/.tmp-%s-XXXXXX", key_dir, sha);
	char *marker = gs_asprintf("%s.done", sha);
	git_commit *commit = NULL;
	git_tree *tree = NULL, *base_tree = NULL;
	struct export_ctx x = { repo, sha, 0, 0, src->max_bytes, src->max_files, 0, err };
	struct stat st;
	git_oid oid;
	int key_fd = -1, tmp_fd = -1, base_fd = -1, rc;
	bool made_tmp = false;

	if (exported)
		*exported = false;
	if ((mkdir(key_dir, 0755) < 0 && errno != EEXIST) ||
	    (key_fd = open(key_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = gs_error_set(err, GS_EIO, "export: cannot open '%s': %s", key_dir,
				  strerror(errno));
		goto cleanup;
	}
	if (!replace && export_complete(key_fd, clean_url, sha)) {
		rc = GS_OK;
		goto cleanup;
	}
	if (git_oid_fromstr(&oid, sha) < 0 || git_commit_lookup(&commit, repo, &oid) < 0) {
		rc = gs_error_set(err, GS_ENOTFOUND, "commit %s is not in the Git cache", sha);
		goto cleanup;
	}
	if (git_commit_tree(&tree, commit) < 0) {
		rc = git_fail(err, -1, NULL, "export: read the commit's tree");
		goto cleanup;
	}
	if (!mkdtemp(tmp)) {
		rc = gs_error_set(err, GS_EIO, "export: cannot create '%s': %s", tmp, strerror(errno));
		goto cleanup;
	}
	made_tmp = true;
	tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmp_fd < 0) {
		rc = gs_error_set(err, GS_EIO, "export: cannot open '%s': %s", tmp, strerror(errno));
		goto cleanup;
	}
	fchmod(tmp_fd, 0755);
	/* A hard refresh (replace) distrusts every export on disk: no base. */
	if (!replace && base_sha && strcmp(base_sha, sha))
		export_base(&base_tree, &base_fd, key_fd, repo, clean_url, base_sha);
	if ((rc = export_tree(&x, tree, tmp_fd, "", 0, base_tree, base_fd)) < 0)
		goto cleanup;
	/* Exports of one key are serialised by the repository's lock, so what
	 * is at final is an old or unfinished export of ours, or something we
	 * did not write: swap ours in, never reuse it. */
	unlinkat(key_fd, marker, 0);
	if (fstatat(key_fd, sha, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(st.st_mode) && unlinkat(key_fd, sha, 0) < 0) {
			rc = gs_error_set(err, GS_EIO, "export: remove '%s': %s", final,
					  strerror(errno));
			goto cleanup;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = replace_export(tmp, final, err);
			goto placed; /* tmp now holds the old tree (or ours on failure) */
		}
	}
	if (rename(tmp, final) < 0)
		rc = gs_error_set(err, GS_EIO, "export: rename to '%s': %s", final,
				  strerror(errno));
	else
		made_tmp = false;
placed:
	if (rc == GS_OK)
		rc = write_marker(key_fd, key_dir, clean_url, sha, err);
	if (rc == GS_OK && exported)
		*exported = true;
cleanup:
	if (tmp_fd >= 0)
		close(tmp_fd);
	if (made_tmp)
		rm_rf(tmp);
	if (base_fd >= 0)
		close(base_fd);
	if (key_fd >= 0)
		close(key_fd);
	git_tree_free(base_tree);
	git_tree_free(tree);
	git_commit_free(commit);
	free(tmp);
	free(marker);
	free(key_dir);
	if (rc == GS_OK)
		*dir_out = final;
	else
		free(final);
	return rc;
}

