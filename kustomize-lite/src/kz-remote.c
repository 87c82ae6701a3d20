/* kz-remote.c - remote resources: kustomize's remote target syntax, and
 * the load of a remote base through the caller's loader (kz-build.h).
 *
 * The parser follows kustomize v5 (api/internal/git/repospec.go): an entry
 * is remote only when it has a scheme (https, http, ssh, git, file), an SCP
 * user (git@host:org/repo) or starts with github.com; anything else is a
 * local path.  The repository ends at "//", else at the "_git/<name>"
 * segment, else at the first segment ending in ".git", else after two
 * segments (org/repo); the rest is the kustomization's directory. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "kz-private.h"

/* %XX and '+' of a query value (url.ParseQuery); owned. */
static char *query_unescape(const char *s, size_t n)
{
	struct gs_buf b = GS_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], '\0' };

			gs_buf_putc(&b, (char)strtol(hex, NULL, 16));
			i += 2;
		} else {
			gs_buf_putc(&b, s[i] == '+' ? ' ' : s[i]);
		}
	}
	gs_buf_putc(&b, '\0');
	b.len--;
	return gs_buf_detach(&b, NULL);
}

/* Go's time.ParseDuration for the units a timeout uses (h, m, s, ms);
 * <= 0 when malformed. */
static double parse_duration(const char *s)
{
	double total = 0;

	if (!*s)
		return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);

		if (end == s || v < 0)
			return -1;
		s = end;
		if (!strncmp(s, "ms", 2)) {
			total += v / 1000;
			s += 2;
		} else if (*s == 'h') {
			total += v * 3600;
			s++;
		} else if (*s == 'm') {
			total += v * 60;
			s++;
		} else if (*s == 's') {
			total += v;
			s++;
		} else {
			return -1;
		}
	}
	return total;
}

static bool parse_gobool(const char *v, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (!strcmp(v, t[i]) || !strcmp(v, f[i])) {
			*out = !strcmp(v, t[i]);
			return true;
		}
	}
	return false;
}

static void parse_query(const char *q, char **ref, double *timeout, bool *submodules)
{
	char *version = NULL, *r = NULL, *tmo = NULL, *sub = NULL;

	while (q && *q) {
		size_t n = strcspn(q, "&"), kn = strcspn(q, "=");
		char **slot = NULL;

		if (kn > n)
			kn = n;
		if (kn == 3 && !strncmp(q, "ref", 3))
			slot = &r;
		else if (kn == 7 && !strncmp(q, "version", 7))
			slot = &version;
		else if (kn == 7 && !strncmp(q, "timeout", 7))
			slot = &tmo;
		else if (kn == 10 && !strncmp(q, "submodules", 10))
			slot = &sub;
		/* url.Values.Get: the first value of a key */
		if (slot && !*slot)
			*slot = query_unescape(q + kn + (kn < n), n - kn - (kn < n));
		q += n + (q[n] == '&');
	}
	*ref = gs_strdup(r && *r ? r : version ? version : "");
	*timeout = KZ_REMOTE_DEFAULT_TIMEOUT;
	if (tmo && *tmo) {
		char *end;
		long secs = strtol(tmo, &end, 10);
		double d;

		if (!*end && secs > 0)
			*timeout = (double)secs;
		else if ((d = parse_duration(tmo)) > 0)
			*timeout = d;
	}
	*submodules = true;
	if (sub && *sub)
		parse_gobool(sub, submodules);
	free(version);
	free(r);
	free(tmo);
	free(sub);
}

static const char *trim_prefix_ci(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncasecmp(s, prefix, n) ? NULL : s + n;
}

static char *join_segments(char **seg, size_t from, size_t to)
{
	struct gs_buf b = GS_BUF_INIT;
	size_t i;

	for (i = from; i < to; i++) {
		if (i > from)
			gs_buf_putc(&b, '/');
		gs_buf_puts(&b, seg[i]);
	}
	gs_buf_putc(&b, '\0');
	b.len--;
	return gs_buf_detach(&b, NULL);
}

/* Split rest into the repository path and the directory inside it.
 * default_len: segments of the repository path when nothing marks its end
 * (2, org/repo; -1 for file:// where it must be marked). */
static bool split_path(const char *rest, int default_len, char **repo, char **dir)
{
	const char *dsep = strstr(rest, "//");
	char *copy, **seg = NULL, *p;
	size_t n = 0, alloc = 0, i, cut = 0;
	bool ok = false;

	if (dsep) {
		*repo = gs_strndup(rest, (size_t)(dsep - rest));
		*dir = gs_strdup(dsep + 2);
		return true;
	}
	copy = gs_strdup(rest);
	for (p = copy;;) {
		char *slash = strchr(p, '/');

		GS_ALLOC_GROW(seg, n + 1, alloc);
		seg[n++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	for (i = 0; i < n && !cut; i++)
		if (!strcmp(seg[i], "_git") && i + 1 < n)
			cut = i + 2;
	for (i = 0; i < n && !cut; i++) {
		size_t l = strlen(seg[i]);

		if (l > 4 && !strcmp(seg[i] + l - 4, ".git"))
			cut = i + 1;
	}
	if (!cut && default_len > 0 && n >= (size_t)default_len)
		cut = (size_t)default_len;
	if (cut) {
		*repo = join_segments(seg, 0, cut);
		*dir = join_segments(seg, cut, n);
		ok = true;
	}
	free(seg);
	free(copy);
	return ok;
}

/* Trim leading and trailing '/' in place. */
static void trim_slashes(char *s)
{
	size_t n, lead = strspn(s, "/");

	memmove(s, s + lead, strlen(s + lead) + 1);
	n = strlen(s);
	while (n && s[n - 1] == '/')
		s[--n] = '\0';
}

bool kz_remote_parse(const char *entry, char **repo_url, char **ref, char **path,
		     double *timeout, bool *submodules)
{
	static const char *const schemes[] = { "ssh://", "https://", "http://", "file://",
					       "git://" };
	const char *s, *scheme = "", *q, *t;
	char *base, *username = NULL, *host = NULL, *rest = NULL, *repo = NULL, *dir = NULL;
	size_t i, un = 0;
	bool github, scp, ok = false;

	if (!entry || !*entry || entry[0] == '/')
		return false;
	q = strchr(entry, '?');
	base = q ? gs_strndup(entry, (size_t)(q - entry)) : gs_strdup(entry);
	s = (t = trim_prefix_ci(base, "git::")) ? t : base;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if ((t = trim_prefix_ci(s, schemes[i]))) {
			scheme = schemes[i];
			s = t;
			break;
		}
	if (isalpha((unsigned char)s[0])) {
		un = 1;
		while (isalnum((unsigned char)s[un]) || s[un] == '-')
			un++;
		un = s[un] == '@' ? un + 1 : 0;
	}
	username = gs_strndup(s, un);
	s += un;
	github = !strncasecmp(s, "github.com/", 11) || !strncasecmp(s, "github.com:", 11);
	scp = !*scheme && (un || github);
	if (!*scheme && !scp)
		goto cleanup; /* a local path */
	if (!strcmp(scheme, "file://")) {
		host = gs_strdup("");
		rest = gs_asprintf("%s%s", username, s);
		username[0] = '\0';
	} else {
		const char *slash = strchr(s, '/'), *colon = strchr(s, ':');
		const char *sep = slash;

		if (scp && (!slash || (colon && colon > s && colon < slash)))
			sep = colon;
		host = sep ? gs_strndup(s, (size_t)(sep - s) + 1) : gs_strdup(s);
		rest = gs_strdup(sep ? sep + 1 : "");
		if (github) {
			free(host);
			if (!strncmp(scheme, "ssh://", 6) || un) {
				scheme = "";
				host = gs_strdup("github.com:");
			} else {
				scheme = "https://";
				username[0] = '\0';
				host = gs_strdup("github.com/");
			}
		}
		if (!*host)
			goto cleanup;
	}
	if (!split_path(rest, strcmp(scheme, "file://") ? 2 : -1, &repo, &dir))
		goto cleanup;
	{
		size_t rl = strlen(repo);

		while (rl && repo[rl - 1] == '/')
			repo[--rl] = '\0';
		if (!rl)
			goto cleanup;
	}
	trim_slashes(dir);
	*repo_url = gs_asprintf("%s%s%s%s", scheme, username, host, repo);
	*path = dir;
	dir = NULL;
	parse_query(q ? q + 1 : NULL, ref, timeout, submodules);
	ok = true;
cleanup:
	free(base);
	free(username);
	free(host);
	free(rest);
	free(repo);
	free(dir);
	return ok;
}

/* The URL as shown in messages and file names: the password (or a token
 * given as the user) of an http(s) URL is never shown. */
static char *display_url(const char *url)
{
	const char *p = strstr(url, "://"), *at, *slash;

	if (!p || strncasecmp(url, "http", 4))
		return gs_strdup(url);
	p += 3;
	slash = p + strcspn(p, "/");
	at = memchr(p, '@', (size_t)(slash - p));
	if (!at)
		return gs_strdup(url);
	return gs_asprintf("%.*s***%s", (int)(p - url), url, at);
}

/* What kustomize fetches over plain HTTP rather than Git: an http(s) URL
 * to a file, with nothing marking a repository. */
static bool looks_like_http_file(const char *entry)
{
	size_t n = strcspn(entry, "?");

	if (strncasecmp(entry, "http://", 7) && strncasecmp(entry, "https://", 8))
		return false;
	if (strstr(entry, "//") != strstr(entry, "://") + 1 ||
	    strstr(strstr(entry, "://") + 3, "//"))
		return false;
	return (n > 5 && !strncmp(entry + n - 5, ".yaml", 5)) ||
	       (n > 4 && !strncmp(entry + n - 4, ".yml", 4)) ||
	       (n > 5 && !strncmp(entry + n - 5, ".json", 5));
}

/* Name the kustomization entry in err: where = its file:line (fetch
 * errors: the loader's where is a URL at best), message prefixed. */
static void wrap_entry(struct gs_error *err, const struct mf_node *entry, bool set_where,
		       const char *shown)
{
	const struct mf_pos *pos = mf_node_pos(entry);

	if (!err)
		return;
	gs_error_wrap(err, "accumulating resources from '%s'", shown);
	if ((set_where || !err->where[0]) && pos && pos->file) {
		if (pos->line)
			snprintf(err->where, sizeof(err->where), "%s:%u", pos->file, pos->line);
		else
			snprintf(err->where, sizeof(err->where), "%s", pos->file);
	}
}

void kz_remote_release(struct kz_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nremote; i++) {
		free(ctx->remote[i].key);
		free(ctx->remote[i].dir);
	}
	free(ctx->remote);
}

/* Fetch (once per render per repository and ref) through the caller's
 * loader; *dir borrowed from ctx. */
static int remote_fetch(struct kz_ctx *ctx, const struct kz_remote *rem, const char **dir,
			struct gs_error *err)
{
	char *key = gs_asprintf("%s\n%s", rem->repo_url, rem->ref);
	unsigned max = ctx->hooks.max_remotes ? ctx->hooks.max_remotes : KZ_REMOTE_DEFAULT_MAX;
	char *out = NULL;
	size_t i;
	int rc;

	for (i = 0; i < ctx->nremote; i++)
		if (!strcmp(ctx->remote[i].key, key)) {
			free(key);
			*dir = ctx->remote[i].dir;
			return GS_OK;
		}
	if (ctx->nremote >= max) {
		free(key);
		return gs_error_set(err, GS_ELIMIT,
				    "more than %u remote repositories in one render (a remote base "
				    "that includes others without end?)",
				    max);
	}
	if ((rc = ctx->hooks.remote(ctx->hooks.remote_arg, rem, &out, err)) < 0) {
		free(key);
		return rc;
	}
	if (!out || out[0] != '/') {
		free(key);
		free(out);
		return gs_error_set(err, GS_ERR, "the remote loader gave no absolute directory");
	}
	GS_ALLOC_GROW(ctx->remote, ctx->nremote + 1, ctx->aremote);
	ctx->remote[ctx->nremote].key = key;
	ctx->remote[ctx->nremote].dir = out;
	*dir = ctx->remote[ctx->nremote++].dir;
	return GS_OK;
}

int kz_remote_accumulate(struct kz_ctx *ctx, const char *entry_str, const struct mf_node *entry,
			 struct kz_resmap *ra, struct gs_error *err)
{
	char *repo_url = NULL, *ref = NULL, *path = NULL, *shown = NULL, *display = NULL;
	struct kz_remote rem;
	struct kz_fs *fs = NULL;
	const struct kz_fs *saved_fs = ctx->fs;
	const char *saved_display = ctx->display_root, *dir = NULL;
	unsigned max_depth = ctx->hooks.max_remote_depth ? ctx->hooks.max_remote_depth
							 : KZ_REMOTE_DEFAULT_DEPTH;
	double left;
	int rc;

	memset(&rem, 0, sizeof(rem));
	if (!kz_remote_parse(entry_str, &repo_url, &ref, &path, &rem.timeout, &rem.submodules))
		return gs_error_at(err, GS_EINVAL, mf_node_pos(entry),
				   "accumulating resources: '%s' is not a remote target", entry_str);
	shown = display_url(entry_str);
	if (looks_like_http_file(entry_str)) {
		rc = gs_error_at(err, GS_EINVAL, mf_node_pos(entry),
				 "accumulating resources from '%s': remote files fetched over "
				 "plain HTTP are not supported (only Git repositories, "
				 "https://host/org/repo//dir?ref=TAG); copy the file into the repository",
				 shown);
		goto cleanup;
	}
	if (!ctx->hooks.remote) {
		rc = gs_error_at(err, GS_EINVAL, mf_node_pos(entry),
				 "accumulating resources from '%s': remote resources are not "
				 "allowed here (`gitsync render` fetches them unless --no-remote is "
				 "given; the agent only from repositories the Application's project "
				 "lists in sourceRepos)",
				 shown);
		goto cleanup;
	}
	if (ctx->remote_depth >= max_depth) {
		rc = gs_error_at(err, GS_ELIMIT, mf_node_pos(entry),
				 "accumulating resources from '%s': remote bases nested more than "
				 "%u deep",
				 shown, max_depth);
		goto cleanup;
	}
	/* the fetch counts against the render's time like everything else */
	left = ctx->budget.max_seconds - kz_budget_elapsed(ctx);
	if (left <= 0) {
		rc = gs_error_at(err, GS_ELIMIT, mf_node_pos(entry),
				 "render budget exceeded: rendering took more than %g s before "
				 "fetching '%s' (render-timeout)",
				 ctx->budget.max_seconds, shown);
		goto cleanup;
	}
	if (rem.timeout > left)
		rem.timeout = left;
	rem.entry = entry_str;
	rem.repo_url = repo_url;
	rem.ref = ref;
	rem.path = path;
	if ((rc = remote_fetch(ctx, &rem, &dir, err)) < 0) {
		wrap_entry(err, entry, true, shown);
		goto cleanup;
	}
	if ((rc = kz_fs_new_disk(&fs, dir, err)) < 0)
		goto cleanup;
	/* kustomize: the path must be a directory inside the clone, once
	 * symlinks are followed */
	if (kz_fs_stat(fs, path) != KZ_FS_DIR) {
		char *p = NULL;
		bool inside = kz_path_join(&p, "", path, NULL) == GS_OK;

		free(p);
		rc = gs_error_at(err, inside ? GS_ENOTFOUND : GS_EINVAL, mf_node_pos(entry),
				 "accumulating resources from '%s': '%s' is not a directory inside "
				 "the repository at %s%s",
				 shown, *path ? path : ".", *ref ? "ref " : "its default branch",
				 ref);
		goto cleanup;
	}
	{
		char *url = display_url(repo_url);

		display = *ref ? gs_asprintf("%s@%s", url, ref) : gs_strdup(url);
		free(url);
	}
	ctx->fs = fs;
	ctx->display_root = display;
	ctx->remote_depth++;
	{
		char *norm = NULL;

		rc = kz_path_join(&norm, "", path, err);
		if (rc == GS_OK)
			rc = kz_build_dir(ctx, norm, ra, err);
		free(norm);
	}
	ctx->remote_depth--;
	ctx->fs = saved_fs;
	ctx->display_root = saved_display;
	if (rc < 0 && !ctx->budget_hit)
		wrap_entry(err, entry, false, shown);
cleanup:
	kz_fs_free(fs);
	free(repo_url);
	free(ref);
	free(path);
	free(shown);
	free(display);
	return rc;
}
