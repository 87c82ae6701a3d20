/* helm.c - run the real helm in a confined child, memoize `helm template`
 * (see helm.h). */
#include "helm/helm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "gs-time.h"
#include "mf-node.h"
#include "mf-yaml.h"

/* A chart is small; these bound what hashing one may read. */
#define CHART_MAX_FILES 20000u
#define CHART_MAX_BYTES ((size_t)256 << 20)
#define STDERR_KEEP 4096u

struct memo_entry {
	unsigned char key[32];
	char *out;
	size_t len;
	unsigned long used; /* tick of the last use, for eviction */
};

struct helm_runner {
	char *helm;
	double timeout_s;
	size_t max_output, memo_bytes, memo_used;
	char *tmp_dir;
	pthread_mutex_t lock; /* memo and counters */
	struct memo_entry *memo;
	size_t nmemo, amemo;
	unsigned long tick, runs, hits;
};

/* ---- finding the binary ---- */

static bool is_exec(const char *p)
{
	struct stat st;

	return p && *p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

char *helm_find_binary(const char *flag)
{
	const char *env = getenv("GITSYNC_HELM"), *path = getenv("PATH"), *p;

	if (flag && *flag)
		return gs_strdup(flag);
	if (env && *env)
		return gs_strdup(env);
	for (p = path; p && *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		char *cand = gs_asprintf("%.*s/helm", (int)n, n ? p : ".");

		if (n && is_exec(cand))
			return cand;
		free(cand);
		p = colon ? colon + 1 : p + n;
	}
	return NULL;
}

int helm_runner_new(struct helm_runner **out, const struct helm_runner_opts *opts,
		    struct gs_error *err)
{
	struct helm_runner *r;
	char *bin = helm_find_binary(opts ? opts->helm : NULL);
	const char *tmp = opts && opts->tmp_dir ? opts->tmp_dir : getenv("TMPDIR");

	if (!bin)
		return gs_error_set(err, GS_ENOTFOUND,
				    "helm not found: install it (scripts/get-helm.sh) and give its "
				    "path with --helm or GITSYNC_HELM, or put it on PATH");
	if (!is_exec(bin)) {
		gs_error_set(err, GS_ENOTFOUND,
			     "helm '%s' is not an executable file (give the helm binary's path "
			     "with --helm or GITSYNC_HELM)", bin);
		free(bin);
		return GS_ENOTFOUND;
	}
	r = gs_calloc(1, sizeof(*r));
	r->helm = bin;
	r->timeout_s = opts && opts->timeout_s > 0 ? opts->timeout_s : HELM_DEFAULT_TIMEOUT;
	r->max_output = opts && opts->max_output ? opts->max_output : HELM_DEFAULT_MAX_OUTPUT;
	r->memo_bytes = opts && opts->memo_bytes ? opts->memo_bytes : HELM_DEFAULT_MEMO_BYTES;
	r->tmp_dir = gs_strdup(tmp && *tmp ? tmp : "/tmp");
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return GS_OK;
}

void helm_runner_free(struct helm_runner *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nmemo; i++)
		free(r->memo[i].out);
	free(r->memo);
	pthread_mutex_destroy(&r->lock);
	free(r->helm);
	free(r->tmp_dir);
	free(r);
}

const char *helm_runner_binary(const struct helm_runner *r)
{
	return r->helm;
}

void helm_runner_stats(const struct helm_runner *r, unsigned long *runs, unsigned long *memo_hits)
{
	pthread_mutex_lock((pthread_mutex_t *)&r->lock);
	if (runs)
		*runs = r->runs;
	if (memo_hits)
		*memo_hits = r->hits;
	pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
}

/* ---- the child ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool env_has(char *const *e, size_t n, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < n; i++)
		if (!strncmp(e[i], key, kl) && e[i][kl] == '=')
			return true;
	return false;
}

/* The environment: env's entries first (Go's os.Getenv takes the first of
 * duplicates, and we skip defaults env sets anyway), then the defaults. */
static char **build_env(const char *home, const char *const *env)
{
	static const char *const homes[][2] = {
		{ "HOME", "" },		  { "XDG_CACHE_HOME", "/cache" },
		{ "XDG_CONFIG_HOME", "/config" }, { "XDG_DATA_HOME", "/data" },
		{ "HELM_CACHE_HOME", "/cache/helm" }, { "HELM_CONFIG_HOME", "/config/helm" },
		{ "HELM_DATA_HOME", "/data/helm" },   { "TMPDIR", "/tmp" },
	};
	size_t n = 0, i, cap = 16;
	char **e;

	for (i = 0; env && env[i]; i++)
		cap++;
	e = gs_calloc(cap, sizeof(*e));
	for (i = 0; env && env[i]; i++)
		if (strchr(env[i], '='))
			e[n++] = gs_strdup(env[i]);
	if (!env_has(e, n, "PATH"))
		e[n++] = gs_strdup("PATH=/usr/local/bin:/usr/bin:/bin");
	if (!env_has(e, n, "KUBECONFIG"))
		e[n++] = gs_strdup("KUBECONFIG=/dev/null");
	if (!env_has(e, n, "HELM_NO_PLUGINS"))
		e[n++] = gs_strdup("HELM_NO_PLUGINS=1");
	for (i = 0; i < sizeof(homes) / sizeof(homes[0]); i++)
		if (!env_has(e, n, homes[i][0]))
			e[n++] = gs_asprintf("%s=%s%s", homes[i][0], home, homes[i][1]);
	e[n] = NULL;
	return e;
}

static void free_strv(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* helm's messages name a template as "chart/templates/x.yaml:12:3" (in
 * "template: ..." and "execution error at (...)") or "YAML parse error on
 * chart/templates/x.yaml: ... line 4:": the file:line into err->where. */
static void stderr_where(struct gs_error *err, const char *msg)
{
	const char *p, *q;
	char file[200];
	long line = 0;

	if (!err)
		return;
	if ((p = strstr(msg, "execution error at (")))
		p += strlen("execution error at (");
	else if ((p = strstr(msg, "template: ")))
		p += strlen("template: ");
	else if ((p = strstr(msg, "YAML parse error on ")))
		p += strlen("YAML parse error on ");
	else
		return;
	q = p + strcspn(p, ": )\n");
	if (q == p || (size_t)(q - p) >= sizeof(file))
		return;
	snprintf(file, sizeof(file), "%.*s", (int)(q - p), p);
	if (*q == ':' && q[1] >= '0' && q[1] <= '9') {
		line = strtol(q + 1, NULL, 10);
	} else {
		const char *l = strstr(q, "line ");

		if (l)
			line = strtol(l + 5, NULL, 10);
	}
	if (line > 0)
		snprintf(err->where, sizeof(err->where), "%s:%ld", file, line);
	else
		snprintf(err->where, sizeof(err->where), "%s", file);
}

/* helm's stderr as one line: "Error: " dropped, the --debug hint dropped,
 * newlines folded. */
static void tidy_stderr(struct gs_buf *eb)
{
	char *hint = strstr(eb->ptr, "Use --debug flag");
	char *p = eb->ptr;
	size_t i, j = 0;

	if (hint) {
		*hint = '\0';
		eb->len = (size_t)(hint - eb->ptr);
	}
	if (!strncmp(p, "Error: ", 7)) {
		memmove(p, p + 7, eb->len - 7 + 1);
		eb->len -= 7;
	}
	for (i = 0; i < eb->len; i++) {
		char c = p[i] == '\n' ? ' ' : p[i];

		if (c == ' ' && (j == 0 || p[j - 1] == ' '))
			continue;
		p[j++] = c;
	}
	while (j && p[j - 1] == ' ')
		j--;
	p[j] = '\0';
	eb->len = j;
}

int helm_run(struct gs_buf *out, struct helm_runner *r, const char *cwd,
	     const char *const *args, const char *const *env, struct gs_error *err)
{
	int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 };
	struct gs_buf ob = GS_BUF_INIT, eb = GS_BUF_INIT;
	char *home = NULL, **envp = NULL;
	const char **argv = NULL;
	size_t nargs = 0, i;
	double deadline;
	bool killed = false, too_big = false;
	pid_t pid = -1;
	int status = 0, rc = GS_OK;

	home = gs_asprintf("%s/gitsync-helm.XXXXXX", r->tmp_dir);
	if (!mkdtemp(home)) {
		rc = gs_error_set(err, GS_EIO, "helm: cannot make a private home in '%s': %s",
				  r->tmp_dir, strerror(errno));
		free(home);
		home = NULL;
		goto cleanup;
	}
	{
		static const char *const sub[] = { "/cache", "/config", "/data", "/tmp" };

		for (i = 0; i < 4; i++) {
			char *d = gs_asprintf("%s%s", home, sub[i]);

			mkdir(d, 0700);
			free(d);
		}
	}
	envp = build_env(home, env);
	while (args[nargs])
		nargs++;
	argv = gs_calloc(nargs + 2, sizeof(*argv));
	argv[0] = r->helm;
	memcpy(argv + 1, args, nargs * sizeof(*argv));
	if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0) {
		rc = gs_error_set(err, GS_EIO, "helm: cannot create a pipe: %s", strerror(errno));
		goto cleanup;
	}
	pthread_mutex_lock(&r->lock);
	r->runs++;
	pthread_mutex_unlock(&r->lock);
	pid = fork();
	if (pid < 0) {
		rc = gs_error_set(err, GS_EIO, "helm: cannot start '%s': %s", r->helm,
				  strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		/* only async-signal-safe calls until exec: the agent has threads.
		 * Own process group, so a timeout kills whatever helm started. */
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(opipe[1], 1);
		dup2(epipe[1], 2);
		if (chdir(cwd) < 0)
			_exit(126);
		execve(r->helm, (char *const *)argv, envp);
		_exit(127);
	}
	close(opipe[1]);
	close(epipe[1]);
	opipe[1] = epipe[1] = -1;
	ob.max = r->max_output;
	deadline = gs_time_mono() + r->timeout_s;
	while (opipe[0] >= 0 || epipe[0] >= 0) {
		struct pollfd pf[2] = { { opipe[0], POLLIN, 0 }, { epipe[0], POLLIN, 0 } };
		double left = deadline - gs_time_mono();
		char chunk[65536];
		int k;

		if (left <= 0) {
			killed = true;
			break;
		}
		if (poll(pf, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			break;
		for (k = 0; k < 2; k++) {
			int *fd = k ? &epipe[0] : &opipe[0];
			ssize_t n;

			if (*fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(*fd, chunk, sizeof(chunk));
			if (n <= 0) {
				close(*fd);
				*fd = -1;
			} else if (k == 1) {
				if (eb.len < STDERR_KEEP)
					gs_buf_add(&eb, chunk, (size_t)n);
			} else if (gs_buf_add(&ob, chunk, (size_t)n) < 0) {
				too_big = true;
				close(*fd);
				*fd = -1;
			}
		}
		if (too_big)
			break;
	}
	if (killed || too_big)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (killed) {
		rc = gs_error_set(err, GS_ELIMIT,
				  "helm took more than %g s and was stopped (helm-timeout; raise "
				  "it with `gitsync agent --helm-timeout`)", r->timeout_s);
	} else if (too_big) {
		rc = gs_error_set(err, GS_ELIMIT,
				  "helm's output exceeds %zu bytes and was stopped (helm-max-output)",
				  r->max_output);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 126) {
		rc = gs_error_set(err, GS_EIO, "helm: cannot enter directory '%s'", cwd);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !eb.len) {
		rc = gs_error_set(err, GS_EIO, "helm: cannot execute '%s'", r->helm);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tidy_stderr(&eb);
		rc = gs_error_set(err, GS_ERR, "helm %s failed: %s", args[0] ? args[0] : "",
				  eb.len ? eb.ptr : "(no message)");
		stderr_where(err, eb.ptr);
	} else if (out && gs_buf_add(out, ob.ptr, ob.len) < 0) {
		rc = gs_error_set(err, GS_ELIMIT, "helm's output exceeds the caller's limit");
	}
cleanup:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	for (i = 0; i < 2; i++) {
		if (opipe[i] >= 0)
			close(opipe[i]);
		if (epipe[i] >= 0)
			close(epipe[i]);
	}
	if (home) {
		rm_tree(home);
		free(home);
	}
	free_strv(envp);
	free(argv);
	gs_buf_release(&ob);
	gs_buf_release(&eb);
	return rc;
}

/* ---- confinement ---- */

static bool under(const char *path, const char *root)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	return !strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/' ||
					   (n == 1 && root[0] == '/'));
}

/* Resolve "." and ".." in the absolute path p in place, as written. */
static void lexical_clean(char *p)
{
	char *out = p, *in = p;

	while (*in) {
		size_t n;

		while (*in == '/')
			in++;
		n = strcspn(in, "/");
		if (n == 0)
			break;
		if (n == 1 && in[0] == '.') {
			/* skip */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, n);
			out += n;
		}
		in += n;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

int helm_path_confine(char **out, const char *root, const char *base_dir, const char *rel,
		      const char *what, struct gs_error *err)
{
	char rroot[PATH_MAX], res[PATH_MAX];
	char *joined;

	if (!realpath(root, rroot))
		return gs_error_set(err, GS_ENOTFOUND, "%s: root '%s' does not exist", what, root);
	joined = rel[0] == '/' ? gs_strdup(rel) : gs_asprintf("%s/%s", base_dir, rel);
	lexical_clean(joined);
	/* refused as written, before asking whether it exists: never tell
	 * what exists outside the root */
	if (!under(joined, rroot)) {
		free(joined);
		return gs_error_set(err, GS_EINVAL,
				    "%s '%s' resolves outside the repository: only files inside it "
				    "may be used (use a path within the repository)",
				    what, rel);
	}
	if (!realpath(joined, res)) {
		int e = errno;

		free(joined);
		if (e == ENOENT)
			return gs_error_set(err, GS_ENOTFOUND, "%s '%s' not found", what, rel);
		return gs_error_set(err, GS_EINVAL, "%s '%s': %s", what, rel, strerror(e));
	}
	free(joined);
	if (!under(res, rroot))
		return gs_error_set(err, GS_EINVAL,
				    "%s '%s' resolves outside the repository: only files inside it "
				    "may be used (use a path within the repository)",
				    what, rel);
	*out = gs_strdup(res);
	return GS_OK;
}

/* ---- chart digest ---- */

struct walk {
	EVP_MD_CTX *md;
	const char *rroot;
	size_t files, bytes;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hash dir (absolute) recursively in name order; refuse symlinks that
 * resolve outside the root (helm follows links: .Files.Get of one would
 * read any file of the agent's host). */
static int hash_dir(struct walk *w, const char *dir, const char *rel, struct gs_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, a = 0, i;
	int rc = GS_OK;

	if (!d)
		return gs_error_set(err, GS_EIO, "cannot read chart directory '%s': %s", rel,
				    strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		GS_ALLOC_GROW(names, n + 1, a);
		names[n++] = gs_strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && rc == GS_OK; i++) {
		char *full = gs_asprintf("%s/%s", dir, names[i]);
		char *r2 = gs_asprintf("%s%s%s", rel, *rel ? "/" : "", names[i]);
		struct stat st;

		if (++w->files > CHART_MAX_FILES) {
			rc = gs_error_set(err, GS_ELIMIT, "chart has more than %u files",
					  CHART_MAX_FILES);
		} else if (lstat(full, &st) < 0) {
			rc = gs_error_set(err, GS_EIO, "chart file '%s': %s", r2, strerror(errno));
		} else if (S_ISLNK(st.st_mode)) {
			char res[PATH_MAX];

			if (!realpath(full, res) || !under(res, w->rroot))
				rc = gs_error_set(err, GS_EINVAL,
						  "chart file '%s' is a symlink that resolves "
						  "outside the repository: refused (helm would "
						  "read it)", r2);
			else
				EVP_DigestUpdate(w->md, r2, strlen(r2) + 1);
			if (rc == GS_OK && stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
				struct gs_buf b = GS_BUF_INIT;

				if (gs_buf_read_file(&b, full, err) < 0)
					rc = GS_EIO;
				else
					EVP_DigestUpdate(w->md, b.ptr, b.len);
				gs_buf_release(&b);
			}
		} else if (S_ISDIR(st.st_mode)) {
			EVP_DigestUpdate(w->md, "d", 1);
			EVP_DigestUpdate(w->md, r2, strlen(r2) + 1);
			rc = hash_dir(w, full, r2, err);
		} else if (S_ISREG(st.st_mode)) {
			struct gs_buf b = GS_BUF_INIT;

			w->bytes += (size_t)st.st_size;
			if (w->bytes > CHART_MAX_BYTES) {
				rc = gs_error_set(err, GS_ELIMIT, "chart is larger than %zu MiB",
						  CHART_MAX_BYTES >> 20);
			} else if (gs_buf_read_file(&b, full, err) < 0) {
				rc = GS_EIO;
			} else {
				char len[32];

				snprintf(len, sizeof(len), "f%zu", b.len);
				EVP_DigestUpdate(w->md, len, strlen(len) + 1);
				EVP_DigestUpdate(w->md, r2, strlen(r2) + 1);
				EVP_DigestUpdate(w->md, b.ptr, b.len);
			}
			gs_buf_release(&b);
		}
		free(full);
		free(r2);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Add one length-prefixed field to the memo key. */
static void key_add(EVP_MD_CTX *md, const char *tag, const char *s)
{
	char len[40];

	snprintf(len, sizeof(len), "%s%zu:", tag, s ? strlen(s) : (size_t)-1);
	EVP_DigestUpdate(md, len, strlen(len));
	if (s)
		EVP_DigestUpdate(md, s, strlen(s));
}

static int key_add_file(EVP_MD_CTX *md, const char *tag, const char *path, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	int rc;

	b.max = CHART_MAX_BYTES;
	if ((rc = gs_buf_read_file(&b, path, err)) == GS_OK)
		key_add(md, tag, b.ptr);
	gs_buf_release(&b);
	return rc;
}

/* ---- memo ---- */

static bool memo_get(struct helm_runner *r, const unsigned char key[32], struct gs_buf *out)
{
	size_t i;
	bool hit = false;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nmemo; i++)
		if (!memcmp(r->memo[i].key, key, 32)) {
			r->memo[i].used = ++r->tick;
			hit = gs_buf_add(out, r->memo[i].out, r->memo[i].len) == 0;
			if (hit)
				r->hits++;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return hit;
}

static void memo_put(struct helm_runner *r, const unsigned char key[32], const char *s, size_t len)
{
	if (r->memo_bytes == (size_t)-1 || len > r->memo_bytes / 2)
		return;
	pthread_mutex_lock(&r->lock);
	/* evict the least recently used until it fits */
	while (r->nmemo && r->memo_used + len > r->memo_bytes) {
		size_t i, old = 0;

		for (i = 1; i < r->nmemo; i++)
			if (r->memo[i].used < r->memo[old].used)
				old = i;
		r->memo_used -= r->memo[old].len;
		free(r->memo[old].out);
		r->memo[old] = r->memo[--r->nmemo];
	}
	GS_ALLOC_GROW(r->memo, r->nmemo + 1, r->amemo);
	memcpy(r->memo[r->nmemo].key, key, 32);
	r->memo[r->nmemo].out = gs_strndup(s, len);
	r->memo[r->nmemo].len = len;
	r->memo[r->nmemo].used = ++r->tick;
	r->nmemo++;
	r->memo_used += len;
	pthread_mutex_unlock(&r->lock);
}

/* ---- helm template ---- */

bool helm_is_chart_dir(const char *dir)
{
	char *p = gs_asprintf("%s/Chart.yaml", dir);
	struct stat st;
	bool ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return ok;
}

/* Does the chart at dir list dependencies that charts/ does not hold yet
 * (neither charts/<name>/ nor charts/<name>-*.tgz)? */
static bool needs_dependency_build(const char *dir)
{
	char *p = gs_asprintf("%s/Chart.yaml", dir);
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error perr = GS_ERROR_INIT;
	struct mf_docs docs = MF_DOCS_INIT;
	const struct mf_node *deps;
	bool need = false;
	size_t i;

	b.max = 1 << 20;
	if (gs_buf_read_file(&b, p, &perr) < 0 ||
	    mf_yaml_parse(&docs, b.ptr, b.len, p, NULL, &perr) < 0 ||
	    !docs.n)
		goto out;
	deps = mf_node_get(docs.docs[0], "dependencies");
	for (i = 0; i < mf_node_len(deps) && !need; i++) {
		const char *name = mf_node_dig_str(mf_node_at(deps, i), "name", NULL);
		char *sub;
		struct stat st;
		DIR *d;
		struct dirent *de;
		bool have = false;

		if (!name)
			continue;
		sub = gs_asprintf("%s/charts/%s", dir, name);
		have = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
		free(sub);
		sub = gs_asprintf("%s/charts", dir);
		if (!have && (d = opendir(sub))) {
			size_t nl = strlen(name);

			while ((de = readdir(d)))
				if (!strncmp(de->d_name, name, nl) && de->d_name[nl] == '-' &&
				    strstr(de->d_name, ".tgz"))
					have = true;
			closedir(d);
		}
		free(sub);
		need = !have;
	}
out:
	mf_docs_release(&docs);
	gs_buf_release(&b);
	free(p);
	return need;
}

/* Copy the regular files and directories of src into dst (made here); a
 * symlink becomes one to the file it resolves to, which must lie under
 * rroot (the repository), as helm_template's own check wants. */
static int copy_tree(const char *src, const char *dst, const char *rroot, struct gs_error *err)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int rc = GS_OK;

	if (!d || mkdir(dst, 0700) < 0) {
		rc = gs_error_set(err, GS_EIO, "cannot copy chart '%s': %s", src, strerror(errno));
		goto out;
	}
	while (rc == GS_OK && (de = readdir(d))) {
		char *s, *t;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		s = gs_asprintf("%s/%s", src, de->d_name);
		t = gs_asprintf("%s/%s", dst, de->d_name);
		if (lstat(s, &st) < 0) {
			rc = gs_error_set(err, GS_EIO, "cannot copy '%s': %s", s, strerror(errno));
		} else if (S_ISLNK(st.st_mode)) {
			char res[PATH_MAX];

			if (!realpath(s, res) || !under(res, rroot))
				rc = gs_error_set(err, GS_EINVAL,
						  "chart file '%s' is a symlink that resolves outside "
						  "the repository: refused (helm would read it)", s);
			else if (symlink(res, t) < 0)
				rc = gs_error_set(err, GS_EIO, "cannot copy '%s': %s", s,
						  strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = copy_tree(s, t, rroot, err);
		} else if (S_ISREG(st.st_mode)) {
			struct gs_buf b = GS_BUF_INIT;
			int fd = -1;

			if (gs_buf_read_file(&b, s, err) < 0 ||
			    (fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
			    write(fd, b.ptr, b.len) != (ssize_t)b.len)
				rc = err->code ? err->code
					       : gs_error_set(err, GS_EIO, "cannot copy '%s': %s", s,
							      strerror(errno));
			if (fd >= 0)
				close(fd);
			gs_buf_release(&b);
		}
		free(s);
		free(t);
	}
out:
	if (d)
		closedir(d);
	return rc;
}

/* `helm dependency build` writes charts/ and Chart.lock into the chart:
 * never into the commit's export, which other apps and workers read at the
 * same time.  Build in a mirror instead: under a private directory, the
 * chart's ancestors (up to the repository root) are real directories whose
 * other entries are symlinks to the export's (so `file://../lib` still
 * finds its sibling), and the chart itself is a copy.  *dir_out is the
 * copy, *mirror_out the directory to remove afterwards. */
static int dependency_mirror(char **mirror_out, char **dir_out, const char *tmp_dir,
			     const char *rroot, const char *chart_dir, struct gs_error *err)
{
	char *mirror = gs_asprintf("%s/gitsync-helmdeps.XXXXXX", tmp_dir);
	char *rel = gs_strdup(chart_dir + strlen(rroot) + (chart_dir[strlen(rroot)] == '/'));
	char *cur_src = gs_strdup(rroot), *cur_dst = NULL, *part, *save = NULL;
	int rc = GS_OK;

	*mirror_out = *dir_out = NULL;
	if (!mkdtemp(mirror)) {
		rc = gs_error_set(err, GS_EIO, "helm: cannot make a directory in '%s': %s", tmp_dir,
				  strerror(errno));
		free(mirror);
		mirror = NULL;
		goto out;
	}
	cur_dst = gs_asprintf("%s/r", mirror);
	if (!*rel) { /* the chart is the repository's root */
		rc = copy_tree(cur_src, cur_dst, rroot, err);
		goto out;
	}
	if (mkdir(cur_dst, 0700) < 0) {
		rc = gs_error_set(err, GS_EIO, "helm: mkdir '%s': %s", cur_dst, strerror(errno));
		goto out;
	}
	for (part = strtok_r(rel, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		DIR *d = opendir(cur_src);
		struct dirent *de;
		char *next_src, *next_dst;
		bool last;

		if (!d) {
			rc = gs_error_set(err, GS_EIO, "helm: cannot read '%s': %s", cur_src,
					  strerror(errno));
			goto out;
		}
		while ((de = readdir(d))) {
			char *s, *t;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			    !strcmp(de->d_name, part))
				continue;
			s = gs_asprintf("%s/%s", cur_src, de->d_name);
			t = gs_asprintf("%s/%s", cur_dst, de->d_name);
			if (symlink(s, t) < 0 && rc == GS_OK)
				rc = gs_error_set(err, GS_EIO, "helm: symlink '%s': %s", t,
						  strerror(errno));
			free(s);
			free(t);
		}
		closedir(d);
		if (rc < 0)
			goto out;
		next_src = gs_asprintf("%s/%s", cur_src, part);
		next_dst = gs_asprintf("%s/%s", cur_dst, part);
		free(cur_src);
		free(cur_dst);
		cur_src = next_src;
		cur_dst = next_dst;
		last = !strcmp(cur_src, chart_dir);
		if (last) {
			rc = copy_tree(cur_src, cur_dst, rroot, err);
			goto out;
		}
		if (mkdir(cur_dst, 0700) < 0) {
			rc = gs_error_set(err, GS_EIO, "helm: mkdir '%s': %s", cur_dst,
					  strerror(errno));
			goto out;
		}
	}
out:
	if (rc < 0 && mirror) {
		rm_tree(mirror);
		free(mirror);
		mirror = NULL;
	}
	if (rc == GS_OK) {
		*mirror_out = mirror;
		*dir_out = cur_dst;
		cur_dst = NULL;
	}
	free(cur_src);
	free(cur_dst);
	free(rel);
	return rc;
}

struct argv_b {
	char **v;
	size_t n, a;
	EVP_MD_CTX *md; /* the memo key sees each argument in its key form */
};

/* Append s; the key sees keyform (NULL: s) so that absolute paths, which
 * change with each exported commit, do not make every commit a miss
 * (their files' contents are in the key instead). */
static void arg_k(struct argv_b *a, const char *s, const char *keyform)
{
	GS_ALLOC_GROW(a->v, a->n + 2, a->a);
	a->v[a->n++] = gs_strdup(s);
	a->v[a->n] = NULL;
	key_add(a->md, "A", keyform ? keyform : s);
}

static void arg(struct argv_b *a, const char *s)
{
	arg_k(a, s, NULL);
}

int helm_template(struct gs_buf *out, bool *memo_hit, struct helm_runner *r,
		  const struct helm_template_req *req, struct gs_error *err)
{
	struct argv_b a = { NULL, 0, 0, NULL };
	char *chart = NULL, *chart_dir = NULL, *vals_path = NULL, *tmp = NULL;
	char *run_dir = NULL, *mirror = NULL; /* where helm runs; a dependency build's copy */
	char rroot[PATH_MAX], croot[PATH_MAX];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char key[32];
	unsigned int klen = 0;
	struct gs_buf res = GS_BUF_INIT;
	struct stat st;
	size_t i;
	int rc = GS_OK;

	if (memo_hit)
		*memo_hit = false;
	if (!realpath(req->root, rroot)) {
		rc = gs_error_set(err, GS_ENOTFOUND, "repository directory '%s' does not exist",
				  req->root);
		goto cleanup;
	}
	if (req->chart_root && *req->chart_root && !realpath(req->chart_root, croot)) {
		rc = gs_error_set(err, GS_ENOTFOUND, "chart directory '%s' does not exist",
				  req->chart_root);
		goto cleanup;
	}
	if (!req->chart_root || !*req->chart_root)
		memcpy(croot, rroot, sizeof(croot));
	if ((rc = helm_path_confine(&chart, croot, croot, *req->chart ? req->chart : ".",
				    "chart", err)) < 0)
		goto cleanup;
	if (stat(chart, &st) == 0 && S_ISDIR(st.st_mode)) {
		chart_dir = gs_strdup(chart);
		if (!helm_is_chart_dir(chart_dir)) {
			rc = gs_error_set(err, GS_ENOTFOUND, "'%s' holds no Chart.yaml",
					  *req->chart ? req->chart : ".");
			goto cleanup;
		}
	} else {
		char *slash = strrchr(chart, '/');

		chart_dir = gs_strndup(chart, (size_t)(slash - chart));
	}

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	a.md = md;
	run_dir = gs_strdup(chart_dir);
	if (req->dependency_build && S_ISDIR(st.st_mode) && needs_dependency_build(chart_dir)) {
		const char *dargs[] = { "dependency", "build", ".", "--skip-refresh", NULL };

		free(run_dir);
		run_dir = NULL;
		if ((rc = dependency_mirror(&mirror, &run_dir, r->tmp_dir, croot, chart_dir,
					    err)) < 0 ||
		    (rc = helm_run(NULL, r, run_dir, dargs, req->env, err)) < 0)
			goto cleanup;
	}
	if (req->chart_digest) {
		key_add(md, "D", req->chart_digest);
	} else if (S_ISDIR(st.st_mode)) {
		/* after a dependency build the key sees the built charts/ too:
		 * a dependency changed elsewhere in the repository is a miss */
		struct walk w = { md, croot, 0, 0 };

		if ((rc = hash_dir(&w, run_dir, "", err)) < 0)
			goto cleanup;
	} else if ((rc = key_add_file(md, "T", chart, err)) < 0) {
		goto cleanup;
	}

	arg(&a, "template");
	if (req->release_name && *req->release_name)
		arg(&a, req->release_name);
	else
		arg(&a, "--generate-name");
	arg_k(&a, S_ISDIR(st.st_mode) ? "." : chart, "<chart>");
	if (req->namespace && *req->namespace) {
		arg(&a, "--namespace");
		arg(&a, req->namespace);
	}
	if (req->kube_version && *req->kube_version) {
		arg(&a, "--kube-version");
		arg(&a, req->kube_version);
	}
	for (i = 0; i < req->n_api_versions; i++) {
		arg(&a, "--api-versions");
		arg(&a, req->api_versions[i]);
	}
	/* pass 0 and 2: the inline values (first or last); pass 1: the files */
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 1) {
			for (i = 0; i < req->n_value_files; i++) {
				char *vf = NULL;
				int r2 = helm_path_confine(&vf, rroot, chart_dir, req->value_files[i],
							   "value file", err);

				if (r2 == GS_ENOTFOUND && req->ignore_missing_value_files)
					continue;
				if (r2 < 0) {
					rc = r2;
					if (r2 == GS_ENOTFOUND)
						gs_error_wrap(err, "(set ignoreMissingValueFiles to skip it)");
					goto cleanup;
				}
				if ((rc = key_add_file(md, "V", vf, err)) < 0) {
					free(vf);
					goto cleanup;
				}
				arg(&a, "--values");
				arg_k(&a, vf, req->value_files[i]);
				free(vf);
			}
			continue;
		}
		if ((pass == 0) != req->values_first)
			continue;
		if (req->values && *req->values) {
			int fd;

			tmp = gs_asprintf("%s/gitsync-values.XXXXXX", r->tmp_dir);
			fd = mkstemp(tmp);
			if (fd < 0 || write(fd, req->values, strlen(req->values)) !=
					      (ssize_t)strlen(req->values)) {
				rc = gs_error_set(err, GS_EIO, "cannot write the values to '%s': %s", tmp,
						  strerror(errno));
				if (fd >= 0)
					close(fd);
				goto cleanup;
			}
			close(fd);
			vals_path = tmp;
			tmp = NULL;
			arg(&a, "--values");
			arg_k(&a, vals_path, "<values>");
			key_add(md, "I", req->values);
		}
	}
	for (i = 0; i < req->n_params; i++) {
		char *kv = gs_asprintf("%s=%s", req->params[i].name, req->params[i].value);

		arg(&a, req->params[i].force_string ? "--set-string" : "--set");
		arg(&a, kv);
		free(kv);
	}
	for (i = 0; i < req->n_file_params; i++) {
		char *fp = NULL, *kv;

		if ((rc = helm_path_confine(&fp, rroot, chart_dir, req->file_params[i].value,
					    "file parameter", err)) < 0)
			goto cleanup;
		if ((rc = key_add_file(md, "F", fp, err)) < 0) {
			free(fp);
			goto cleanup;
		}
		kv = gs_asprintf("%s=%s", req->file_params[i].name, fp);
		arg(&a, "--set-file");
		arg_k(&a, kv, req->file_params[i].name);
		free(kv);
		free(fp);
	}
	if (req->include_crds)
		arg(&a, "--include-crds");
	if (req->skip_tests)
		arg(&a, "--skip-tests");
	if (req->no_hooks)
		arg(&a, "--no-hooks");
	for (i = 0; req->extra_args && req->extra_args[i]; i++)
		arg(&a, req->extra_args[i]);
	for (i = 0; req->env && req->env[i]; i++)
		key_add(md, "E", req->env[i]);
	EVP_DigestFinal_ex(md, key, &klen);

	if (memo_get(r, key, out)) {
		if (memo_hit)
			*memo_hit = true;
		goto cleanup;
	}
	if ((rc = helm_run(&res, r, run_dir, (const char *const *)a.v, req->env, err)) < 0)
		goto cleanup;
	memo_put(r, key, res.ptr, res.len);
	if (gs_buf_add(out, res.ptr, res.len) < 0)
		rc = gs_error_set(err, GS_ELIMIT, "helm's output exceeds the caller's limit");
cleanup:
	if (rc < 0)
		gs_error_wrap(err, "helm chart '%s'", *req->chart ? req->chart : ".");
	for (i = 0; i < a.n; i++)
		free(a.v[i]);
	free(a.v);
	if (vals_path) {
		unlink(vals_path);
		free(vals_path);
	}
	free(tmp);
	free(chart);
	free(chart_dir);
	free(run_dir);
	if (mirror) {
		rm_tree(mirror);
		free(mirror);
	}
	gs_buf_release(&res);
	EVP_MD_CTX_free(md);
	return rc;
}
