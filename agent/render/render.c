/* render.c - render under a budget, in a child process (see render.h). */
#include "render/render.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "gs-time.h"
#include "kz-fs.h"
#include "mf-json.h"

char *render_default_exe(void)
{
	char self[PATH_MAX], *slash, *cand;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	cand = gs_asprintf("%.*s/gitsync", (int)(slash - self), self);
	if (access(cand, X_OK) == 0)
		return cand;
	free(cand);
	return gs_strdup(self);
}

/* ---- the child's side ---- */

void render_child_limits(size_t max_mem, double cpu_s)
{
	struct rlimit as = { max_mem, max_mem }, cur;
	rlim_t cpu = (rlim_t)cpu_s;
	struct rlimit cl = { cpu, cpu + 2 };

	/* never raise: an agent started under a lower limit keeps it */
	if (max_mem) {
		if (getrlimit(RLIMIT_AS, &cur) == 0 && cur.rlim_cur != RLIM_INFINITY &&
		    cur.rlim_cur < as.rlim_cur)
			as.rlim_cur = as.rlim_max = cur.rlim_cur;
		setrlimit(RLIMIT_AS, &as);
	}
	if (cpu) {
		if (getrlimit(RLIMIT_CPU, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
		    cur.rlim_max < cl.rlim_max) {
			cl.rlim_max = cur.rlim_max;
			cl.rlim_cur = cur.rlim_cur < cpu ? cur.rlim_cur : cpu;
		}
		setrlimit(RLIMIT_CPU, &cl);
	}
}

static void put_line(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '\n' ? ' ' : *s, f);
	fputc('\n', f);
}

int render_write_framed(void *stream, struct kz_output *out, size_t max_output,
			const struct kz_cost *cost, struct gs_error *err)
{
	FILE *f = stream;
	struct gs_buf b = GS_BUF_INIT;
	size_t i, total = 0;
	int rc = GS_OK;

	if (!max_output)
		max_output = RENDER_DEFAULT_OUTPUT;
	for (i = 0; i < out->docs.n; i++) {
		const struct mf_pos *pos = mf_node_pos(out->docs.docs[i]);

		gs_buf_reset(&b);
		if (mf_json_emit(&b, out->docs.docs[i], 0) < 0) {
			rc = gs_error_at(err, GS_ERR, pos, "cannot encode the object as JSON");
			break;
		}
		total += b.len + 1;
		if (total > max_output) {
			rc = gs_error_at(err, GS_ELIMIT, pos,
					 "render budget exceeded: the rendered objects exceed %zu bytes "
					 "(render-max-output); raise it with `gitsync agent "
					 "--render-max-output` or the Application annotation "
					 "gitsync.io/render-max-output if this repository really needs it",
					 max_output);
			break;
		}
		fprintf(f, "D %u ", pos->line);
		put_line(f, pos->file ? pos->file : "");
		fwrite(b.ptr, 1, b.len, f);
		fputc('\n', f);
		/* the tree is not needed once written: peak memory stays one tree */
		mf_node_free(out->docs.docs[i]);
		out->docs.docs[i] = NULL;
	}
	gs_buf_release(&b);
	if (rc < 0) {
		render_write_framed_error(f, err);
	} else {
		fprintf(f, "C %zu %zu %.3f\n", cost->nodes, cost->files, cost->seconds);
	}
	return fflush(f) == 0 ? rc : GS_EIO;
}

void render_write_framed_error(void *stream, const struct gs_error *err)
{
	FILE *f = stream;

	fprintf(f, "E %d\n", (int)err->code);
	put_line(f, err->where);
	put_line(f, err->msg);
	fflush(f);
}

/* Remote resources: the child writes a request on stdout
 *   R <timeout>\n<repo_url>\n<ref>\n<path>\n<entry>\n
 * (before any document: documents are written once the render is done)
 * and reads the parent's answer on stdin:
 *   O <dir>\n                  the export to load, or
 *   E <code>\n<where>\n<msg>\n  the fetch failed or was refused. */
static bool read_line(FILE *f, char *buf, size_t n)
{
	size_t l;

	if (!fgets(buf, (int)n, f))
		return false;
	l = strlen(buf);
	if (l && buf[l - 1] == '\n')
		buf[--l] = '\0';
	return true;
}

int render_child_remote(void *arg, const struct kz_remote *rem, char **dir_out,
			struct gs_error *err)
{
	char line[PATH_MAX + 16], where[sizeof(err->where)], msg[sizeof(err->msg)];
	int code = GS_ERR;

	(void)arg;
	printf("R %.3f\n", rem->timeout);
	put_line(stdout, rem->repo_url);
	put_line(stdout, rem->ref);
	put_line(stdout, rem->path);
	put_line(stdout, rem->entry);
	if (fflush(stdout) != 0 || !read_line(stdin, line, sizeof(line)))
		return gs_error_set(err, GS_ERR, "the agent did not answer the request for %s",
				    rem->repo_url);
	if (line[0] == 'O' && line[1] == ' ' && line[2] == '/') {
		*dir_out = gs_strdup(line + 2);
		return GS_OK;
	}
	sscanf(line, "E %d", &code);
	if (!read_line(stdin, where, sizeof(where)) || !read_line(stdin, msg, sizeof(msg)))
		return gs_error_set(err, GS_ERR, "the agent's answer for %s is truncated",
				    rem->repo_url);
	gs_error_set(err, code < 0 && code >= GS_EAUTH ? (enum gs_code)code : GS_ERR, "%s", msg);
	if (err)
		snprintf(err->where, sizeof(err->where), "%s", where);
	return code < 0 && code >= GS_EAUTH ? code : GS_ERR;
}

/* helmCharts: the child writes
 *   H <len>\n<len bytes: the fields of kz_helm_chart as netstrings "N:bytes,">
 * and reads "O <len>\n<helm's output>" or the E answer above. */
static void put_ns(struct gs_buf *b, const char *s)
{
	s = s ? s : "";
	gs_buf_printf(b, "%zu:", strlen(s));
	gs_buf_puts(b, s);
	gs_buf_putc(b, ',');
}

int render_child_helm(void *arg, const struct kz_helm_chart *c, struct gs_buf *out,
		      struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	char line[64], where[sizeof(err->where)], msg[sizeof(err->msg)], num[32];
	size_t i, len = 0;
	int code = GS_ERR, rc = GS_OK;

	(void)arg;
	put_ns(&b, c->kustomization);
	put_ns(&b, c->root);
	put_ns(&b, c->chart_dir);
	put_ns(&b, c->chart_root);
	put_ns(&b, c->name);
	put_ns(&b, c->version);
	put_ns(&b, c->repo);
	put_ns(&b, c->release_name);
	put_ns(&b, c->namespace);
	put_ns(&b, c->name_template);
	put_ns(&b, c->values);
	put_ns(&b, c->kube_version);
	put_ns(&b, c->config_home);
	snprintf(num, sizeof(num), "%d%d%d", c->include_crds, c->skip_tests, c->skip_hooks);
	put_ns(&b, num);
	snprintf(num, sizeof(num), "%zu", c->n_values_files);
	put_ns(&b, num);
	for (i = 0; i < c->n_values_files; i++)
		put_ns(&b, c->values_files[i]);
	snprintf(num, sizeof(num), "%zu", c->n_api_versions);
	put_ns(&b, num);
	for (i = 0; i < c->n_api_versions; i++)
		put_ns(&b, c->api_versions[i]);
	printf("H %zu\n", b.len);
	fwrite(b.ptr, 1, b.len, stdout);
	gs_buf_release(&b);
	if (fflush(stdout) != 0 || !read_line(stdin, line, sizeof(line)))
		return gs_error_set(err, GS_ERR, "the agent did not answer the helm request");
	if (sscanf(line, "O %zu", &len) == 1) {
		char chunk[65536];

		while (len) {
			size_t want = len < sizeof(chunk) ? len : sizeof(chunk);
			size_t got = fread(chunk, 1, want, stdin);

			if (!got)
				return gs_error_set(err, GS_ERR, "the agent's helm answer is truncated");
			if (rc == GS_OK && gs_buf_add(out, chunk, got) < 0)
				rc = gs_error_set(err, GS_ELIMIT, "helm's output is too large");
			len -= got;
		}
		return rc;
	}
	sscanf(line, "E %d", &code);
	if (!read_line(stdin, where, sizeof(where)) || !read_line(stdin, msg, sizeof(msg)))
		return gs_error_set(err, GS_ERR, "the agent's helm answer is truncated");
	code = code < 0 && code >= GS_EAUTH ? code : GS_ERR;
	gs_error_set(err, (enum gs_code)code, "%s", msg);
	if (err)
		snprintf(err->where, sizeof(err->where), "%s", where);
	return code;
}

/* Charts to pull: the child writes
 *   P <len>\n<netstrings: kustomization, name, repo, version>
 * and reads "O <root>\n<chart>\n" or the E answer above. */
int render_child_pull(void *arg, const struct kz_chart_pull *req, char **root_out,
		      char **chart_out, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	char line[PATH_MAX + 16], chart[PATH_MAX + 16], where[sizeof(err->where)],
		msg[sizeof(err->msg)];
	int code = GS_ERR;

	(void)arg;
	put_ns(&b, req->kustomization);
	put_ns(&b, req->name);
	put_ns(&b, req->repo);
	put_ns(&b, req->version);
	printf("P %zu\n", b.len);
	fwrite(b.ptr, 1, b.len, stdout);
	gs_buf_release(&b);
	if (fflush(stdout) != 0 || !read_line(stdin, line, sizeof(line)))
		return gs_error_set(err, GS_ERR, "the agent did not answer the pull of %s",
				    req->name);
	if (line[0] == 'O' && line[1] == ' ' && line[2] == '/') {
		if (!read_line(stdin, chart, sizeof(chart)) || !*chart)
			return gs_error_set(err, GS_ERR, "the agent's answer for %s is truncated",
					    req->name);
		*root_out = gs_strdup(line + 2);
		*chart_out = gs_strdup(chart);
		return GS_OK;
	}
	sscanf(line, "E %d", &code);
	if (!read_line(stdin, where, sizeof(where)) || !read_line(stdin, msg, sizeof(msg)))
		return gs_error_set(err, GS_ERR, "the agent's answer for %s is truncated",
				    req->name);
	code = code < 0 && code >= GS_EAUTH ? code : GS_ERR;
	gs_error_set(err, (enum gs_code)code, "%s", msg);
	if (err)
		snprintf(err->where, sizeof(err->where), "%s", where);
	return code;
}

/* ---- the agent's side ---- */

/* Next netstring of [*p, end) into *s (NUL-terminated in place). */
static bool get_ns(char **p, char *end, const char **s)
{
	char *colon, *e;
	unsigned long long n;

	colon = memchr(*p, ':', (size_t)(end - *p));
	if (!colon)
		return false;
	n = strtoull(*p, &e, 10);
	if (e != colon || n > (unsigned long long)(end - colon - 1) - 1 || colon[1 + n] != ',')
		return false;
	colon[1 + n] = '\0';
	*s = colon + 1;
	*p = colon + 2 + n;
	return true;
}

static bool get_list(char **p, char *end, const char ***v, size_t *n)
{
	const char *num;
	char *e;
	size_t i;

	if (!get_ns(p, end, &num))
		return false;
	*n = (size_t)strtoull(num, &e, 10);
	if (*e || *n > 4096)
		return false;
	*v = gs_calloc(*n + 1, sizeof(**v));
	for (i = 0; i < *n; i++)
		if (!get_ns(p, end, &(*v)[i]))
			return false;
	return true;
}

static void reply_error(struct gs_buf *reply, const struct gs_error *err)
{
	size_t i;

	gs_buf_printf(reply, "E %d\n", (int)err->code);
	for (i = 0; err->where[i]; i++)
		gs_buf_putc(reply, err->where[i] == '\n' ? ' ' : err->where[i]);
	gs_buf_putc(reply, '\n');
	for (i = 0; err->msg[i]; i++)
		gs_buf_putc(reply, err->msg[i] == '\n' ? ' ' : err->msg[i]);
	gs_buf_putc(reply, '\n');
}

/* One pull request (payload of len bytes at p, modified): the answer. */
static void serve_pull(struct gs_buf *reply, char *p, size_t len,
		       const struct render_limits *lim)
{
	struct kz_chart_pull req;
	struct gs_error err = GS_ERROR_INIT;
	char *end = p + len, *root = NULL, *chart = NULL;
	int rc;

	memset(&req, 0, sizeof(req));
	if (!get_ns(&p, end, &req.kustomization) || !get_ns(&p, end, &req.name) ||
	    !get_ns(&p, end, &req.repo) || !get_ns(&p, end, &req.version))
		rc = gs_error_set(&err, GS_ERR, "malformed pull request from the renderer");
	else if (!lim->pull)
		rc = gs_error_set(&err, GS_EINVAL, "charts are not pulled here");
	else
		rc = lim->pull(lim->pull_arg, &req, &root, &chart, &err);
	if (rc == GS_OK && (!root || root[0] != '/' || strchr(root, '\n') || !chart || !*chart ||
			    strchr(chart, '\n')))
		rc = gs_error_set(&err, GS_ERR, "the chart puller gave no directory");
	if (rc == GS_OK)
		gs_buf_printf(reply, "O %s\n%s\n", root, chart);
	else
		reply_error(reply, &err);
	free(root);
	free(chart);
}

/* One helm request (payload of len bytes at p, modified): the answer. */
static void serve_helm(struct gs_buf *reply, char *p, size_t len,
		       const struct render_limits *lim)
{
	struct kz_helm_chart c;
	struct gs_error err = GS_ERROR_INIT;
	struct gs_buf out = GS_BUF_INIT;
	const char *flags = NULL, **files = NULL, **apis = NULL;
	char *end = p + len;
	int rc;

	memset(&c, 0, sizeof(c));
	if (!get_ns(&p, end, &c.kustomization) || !get_ns(&p, end, &c.root) ||
	    !get_ns(&p, end, &c.chart_dir) || !get_ns(&p, end, &c.chart_root) ||
	    !get_ns(&p, end, &c.name) ||
	    !get_ns(&p, end, &c.version) || !get_ns(&p, end, &c.repo) ||
	    !get_ns(&p, end, &c.release_name) || !get_ns(&p, end, &c.namespace) ||
	    !get_ns(&p, end, &c.name_template) || !get_ns(&p, end, &c.values) ||
	    !get_ns(&p, end, &c.kube_version) || !get_ns(&p, end, &c.config_home) ||
	    !get_ns(&p, end, &flags) || strlen(flags) != 3 ||
	    !get_list(&p, end, &files, &c.n_values_files) ||
	    !get_list(&p, end, &apis, &c.n_api_versions)) {
		rc = gs_error_set(&err, GS_ERR, "malformed helm request from the renderer");
	} else if (!lim->helm) {
		rc = gs_error_set(&err, GS_EINVAL, "helm is not enabled here");
	} else {
		c.values_files = files;
		c.api_versions = apis;
		c.include_crds = flags[0] == '1';
		c.skip_tests = flags[1] == '1';
		c.skip_hooks = flags[2] == '1';
		rc = lim->helm(lim->helm_arg, &c, &out, &err);
	}
	if (rc == GS_OK) {
		gs_buf_printf(reply, "O %zu\n", out.len);
		gs_buf_add(reply, out.ptr, out.len);
	} else {
		reply_error(reply, &err);
	}
	gs_buf_release(&out);
	free(files);
	free(apis);
}

/* Write all of b to fd (the child's stdin), never dying of SIGPIPE when the
 * child is gone: the signal is blocked and a pending one consumed. */
static void write_child(int fd, const char *p, size_t n)
{
	sigset_t pipe_set, old;
	bool failed = false;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			failed = true;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	if (failed && !sigismember(&old, SIGPIPE)) {
		struct timespec zero = { 0, 0 };

		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Answer the child's complete requests at the start of ob (removed from
 * it); a request not complete yet stays for the next read. */
static void serve_requests(struct gs_buf *ob, const struct render_limits *lim, int fd,
			   bool *asked)
{
	/* H (helm) and P (pull) are length-framed; the child waits for each
	 * answer, so at most one request is pending at a time */
	while (ob->len > 2 && (ob->ptr[0] == 'H' || ob->ptr[0] == 'P') && ob->ptr[1] == ' ') {
		char *nl = memchr(ob->ptr, '\n', ob->len), *e;
		unsigned long long n;
		size_t used;
		struct gs_buf reply = GS_BUF_INIT;

		if (!nl)
			return;
		n = strtoull(ob->ptr + 2, &e, 10);
		if (e != nl || n > ob->len - (size_t)(nl + 1 - ob->ptr))
			return; /* not complete yet (a malformed one: the child waits, times out) */
		used = (size_t)(nl + 1 - ob->ptr) + (size_t)n;
		/* helm's output also follows the cluster's version, and a pull
		 * without a version the repository's index: such a render is not
		 * kept (the helm runner has its own memo) */
		*asked = true;
		if (ob->ptr[0] == 'H')
			serve_helm(&reply, nl + 1, (size_t)n, lim);
		else
			serve_pull(&reply, nl + 1, (size_t)n, lim);
		if (fd >= 0)
			write_child(fd, reply.ptr, reply.len);
		gs_buf_release(&reply);
		memmove(ob->ptr, ob->ptr + used, ob->len - used);
		ob->len -= used;
		ob->ptr[ob->len] = '\0';
	}
	while (ob->len > 2 && ob->ptr[0] == 'R' && ob->ptr[1] == ' ') {
		char *f[5], *p = ob->ptr, *end = ob->ptr + ob->len;
		struct kz_remote rem;
		struct gs_error err = GS_ERROR_INIT;
		struct gs_buf reply = GS_BUF_INIT;
		char *dir = NULL;
		size_t i, used;
		int rc;

		/* complete only once all five lines are in */
		for (i = 0; i < 5; i++) {
			char *nl = memchr(p, '\n', (size_t)(end - p));

			if (!nl)
				return;
			f[i] = p;
			p = nl + 1;
		}
		used = (size_t)(p - ob->ptr);
		*asked = true;
		for (i = 0; i < 5; i++)
			*strchr(f[i], '\n') = '\0';
		f[0] += 2;
		memset(&rem, 0, sizeof(rem));
		rem.timeout = strtod(f[0], NULL);
		rem.repo_url = f[1];
		rem.ref = f[2];
		rem.path = f[3];
		rem.entry = f[4];
		if (lim->remote)
			rc = lim->remote(lim->remote_arg, &rem, &dir, &err);
		else
			rc = gs_error_set(&err, GS_EINVAL,
					  "remote resources are not allowed here");
		if (rc == GS_OK && dir && dir[0] == '/' && !strchr(dir, '\n')) {
			gs_buf_printf(&reply, "O %s\n", dir);
		} else {
			if (rc == GS_OK)
				gs_error_set(&err, GS_ERR, "the remote loader gave no directory");
			gs_buf_printf(&reply, "E %d\n", (int)err.code);
			for (i = 0; err.where[i]; i++)
				gs_buf_putc(&reply, err.where[i] == '\n' ? ' ' : err.where[i]);
			gs_buf_putc(&reply, '\n');
			for (i = 0; err.msg[i]; i++)
				gs_buf_putc(&reply, err.msg[i] == '\n' ? ' ' : err.msg[i]);
			gs_buf_putc(&reply, '\n');
		}
		if (fd >= 0)
			write_child(fd, reply.ptr, reply.len);
		gs_buf_release(&reply);
		free(dir);
		memmove(ob->ptr, ob->ptr + used, ob->len - used);
		ob->len -= used;
		ob->ptr[ob->len] = '\0';
	}
}

static int render_in_process(struct kz_output *out, const struct render_limits *lim,
			     const char *root, const char *path, bool recurse, struct kz_cost *cost,
			     struct gs_error *err)
{
	struct kz_fs *fs = NULL;
	int rc;

	struct kz_hooks hooks = { lim ? lim->remote : NULL, lim ? lim->remote_arg : NULL, 0, 0,
				  lim ? lim->helm : NULL, lim ? lim->helm_arg : NULL,
				  lim ? lim->pull : NULL, lim ? lim->pull_arg : NULL };

	if ((rc = kz_fs_new_disk(&fs, root, err)) < 0)
		return rc;
	rc = kz_render_hooks(out, fs, path, recurse ? KZ_RENDER_RECURSE : 0,
			     lim ? &lim->budget : NULL, &hooks, cost, err);
	kz_fs_free(fs);
	return rc;
}

/* Parse the child's framed output into out (documents appended). */
/* from, to (both or neither): the file names were written under root
 * from (a memo entry keyed by content, rendered in another commit's
 * export): they are named under to. */
static int parse_framed(struct kz_output *out, char *p, char *end, struct kz_cost *cost,
			struct gs_error *err, const char *from, const char *to)
{
	size_t fl = from ? strlen(from) : 0;
	size_t first = out->docs.n;
	int rc = GS_OK;

	while (p < end && rc == GS_OK) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *nl2, *file, *moved = NULL;
		unsigned line;
		struct mf_node *doc = NULL;
		struct mf_pos pos;

		if (!nl)
			break;
		*nl = '\0';
		if (p[0] == 'C') {
			if (cost)
				sscanf(p, "C %zu %zu %lf", &cost->nodes, &cost->files, &cost->seconds);
			return GS_OK;
		}
		if (p[0] == 'E') {
			int code = GS_ERR;
			char *w = nl + 1, *wn = memchr(w, '\n', (size_t)(end - w)), *m, *mn;

			sscanf(p, "E %d", &code);
			if (!wn)
				break;
			*wn = '\0';
			m = wn + 1;
			mn = memchr(m, '\n', (size_t)(end - m));
			if (mn)
				*mn = '\0';
			gs_error_set(err, code < 0 && code >= GS_EAUTH ? (enum gs_code)code : GS_ERR,
				     "%s", m);
			if (err)
				snprintf(err->where, sizeof(err->where), "%s", w);
			rc = code < 0 ? code : GS_ERR;
			break;
		}
		if (p[0] != 'D' || sscanf(p, "D %u ", &line) != 1 || !(file = strchr(p + 2, ' ')))
			break;
		file++;
		p = nl + 1;
		if (from && !strncmp(file, from, fl) && (file[fl] == '/' || !file[fl]) &&
		    strcmp(from, to))
			file = moved = gs_asprintf("%s%s", to, file + fl); /* interned below */
		nl2 = memchr(p, '\n', (size_t)(end - p));
		if (!nl2) {
			free(moved);
			break;
		}
		pos.file = NULL;
		{
			/* intern the file name in out, which owns the names */
			size_t i;

			for (i = out->nfiles; i-- > 0 && out->nfiles - i <= 8;)
				if (!strcmp(out->files[i], file))
					pos.file = out->files[i];
			if (!pos.file) {
				GS_ALLOC_GROW(out->files, out->nfiles + 1, out->afiles);
				out->files[out->nfiles++] = gs_strdup(file);
				pos.file = out->files[out->nfiles - 1];
			}
			free(moved);
		}
		pos.line = line;
		pos.col = 0;
		if ((rc = mf_json_parse(&doc, p, (size_t)(nl2 - p), pos.file, err)) < 0)
			break;
		/* nested positions are the document's: file:line of the object */
		mf_node_set_pos_deep(doc, &pos);
		GS_ALLOC_GROW(out->docs.docs, out->docs.n + 1, out->docs.alloc);
		out->docs.docs[out->docs.n++] = doc;
		p = nl2 + 1;
	}
	if (rc == GS_OK)
		rc = gs_error_set(err, GS_ERR, "the renderer's output is truncated");
	while (out->docs.n > first)
		mf_node_free(out->docs.docs[--out->docs.n]);
	return rc;
}

/* ---- the memo of child renders ---- */

struct memo_entry {
	uint64_t hash;  /* of key */
	char *key;      /* root, path and every limit the child was given */
	char *data;     /* the child's framed output (requests removed) */
	size_t len;
	uint64_t used;  /* tick of the last use */
};

struct render_memo {
	pthread_mutex_t lock;
	struct memo_entry *v;
	size_t n, alloc, bytes, max_entries, max_bytes;
	uint64_t tick;
};

struct render_memo *render_memo_new(size_t max_entries, size_t max_bytes)
{
	struct render_memo *m = gs_calloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	m->max_entries = max_entries;
	m->max_bytes = max_bytes;
	return m;
}

void render_memo_free(struct render_memo *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].data);
	}
	free(m->v);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct memo_entry *memo_find(struct render_memo *m, const char *key, uint64_t h)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->v[i].hash == h && !strcmp(m->v[i].key, key))
			return &m->v[i];
	return NULL;
}

static void memo_drop(struct render_memo *m, size_t i)
{
	m->bytes -= m->v[i].len + strlen(m->v[i].key);
	free(m->v[i].key);
	free(m->v[i].data);
	m->v[i] = m->v[--m->n];
}

/* A copy of key's output (owned, NUL-terminated), or NULL. */
static char *memo_get(struct render_memo *m, const char *key, size_t *len)
{
	uint64_t h = fnv1a(key);
	struct memo_entry *e;
	char *copy = NULL;

	pthread_mutex_lock(&m->lock);
	if ((e = memo_find(m, key, h))) {
		e->used = ++m->tick;
		copy = gs_malloc(e->len + 1);
		memcpy(copy, e->data, e->len);
		copy[e->len] = '\0';
		*len = e->len;
	}
	pthread_mutex_unlock(&m->lock);
	return copy;
}

static void memo_put(struct render_memo *m, const char *key, const char *data, size_t len)
{
	uint64_t h = fnv1a(key);
	size_t cost = len + strlen(key), i, old;
	struct memo_entry *e;

	if (cost > m->max_bytes / 4 || !m->max_entries)
		return;
	pthread_mutex_lock(&m->lock);
	if ((e = memo_find(m, key, h)))
		memo_drop(m, (size_t)(e - m->v));
	/* least recently used first, until the new set fits */
	while (m->n && (m->n >= m->max_entries || m->bytes + cost > m->max_bytes)) {
		for (old = 0, i = 1; i < m->n; i++)
			if (m->v[i].used < m->v[old].used)
				old = i;
		memo_drop(m, old);
	}
	GS_ALLOC_GROW(m->v, m->n + 1, m->alloc);
	e = &m->v[m->n++];
	e->hash = h;
	e->key = gs_strdup(key);
	e->data = gs_malloc(len ? len : 1);
	memcpy(e->data, data, len);
	e->len = len;
	e->used = ++m->tick;
	m->bytes += cost;
	pthread_mutex_unlock(&m->lock);
}

static void fmt_size(char *buf, size_t n, const struct render_limits *lim, size_t def)
{
	snprintf(buf, n, "%zu", lim && lim->max_output ? lim->max_output : def);
}

int render_run(struct kz_output *out, const struct render_limits *lim, const char *root,
	       const char *path, bool recurse, struct kz_cost *cost, struct gs_error *err)
{
	int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 }, ipipe[2] = { -1, -1 };
	struct gs_buf ob = GS_BUF_INIT, eb = GS_BUF_INIT;
	char *full = NULL, nodes[32], files[32], secs[32], outmax[32];
	size_t max_mem = lim && lim->max_memory ? lim->max_memory : RENDER_DEFAULT_MEMORY;
	double timeout = lim && lim->budget.max_seconds > 0 ? lim->budget.max_seconds
							    : KZ_BUDGET_DEFAULT_SECONDS;
	double deadline;
	bool killed = false, too_big = false, asked_parent = false;
	char *memo_key = NULL, *kept = NULL;
	size_t kept_len = 0;
	pid_t pid = -1;
	int status = 0, rc = GS_OK;

	if (lim && lim->memo_hit)
		*lim->memo_hit = false;
	if (!lim || !lim->exe)
		return render_in_process(out, lim, root, path, recurse, cost, err);
	full = gs_asprintf("%s%s%s", root, *path ? "/" : "", path);
	snprintf(nodes, sizeof(nodes), "%zu", lim->budget.max_nodes);
	snprintf(files, sizeof(files), "%zu", lim->budget.max_files);
	snprintf(secs, sizeof(secs), "%g", timeout);
	fmt_size(outmax, sizeof(outmax), lim, RENDER_DEFAULT_OUTPUT);
	if (lim->memo) {
		size_t len = 0;

		char hex[65];

		/* everything the child is given, so the same key means the
		 * same child output: the root (a commit's export), or what the
		 * render reads there (a plain directory: unchanged from one
		 * commit to the next, it runs no child) */
		if (lim->content_key && lim->content_key(hex, full, recurse))
			memo_key = gs_asprintf("content %s\n%s\n%d %s %s %s %s %zu %s", hex, path,
					       recurse, nodes, files, secs, outmax, max_mem,
					       lim->exe);
		else
			memo_key = gs_asprintf("%s\n%s\n%d %s %s %s %s %zu %s", root, path, recurse,
					       nodes, files, secs, outmax, max_mem, lim->exe);
		if (!lim->memo_refresh && (kept = memo_get(lim->memo, memo_key, &len))) {
			/* "R <root it was rendered under>\n", then the output */
			char *nl = memchr(kept, '\n', len);

			if (nl && !strncmp(kept, "R ", 2)) {
				*nl = '\0';
				rc = parse_framed(out, nl + 1, kept + len, cost, err, kept + 2, root);
			} else {
				rc = gs_error_set(err, GS_ERR, "render memo: bad entry");
			}
			if (rc == GS_OK) {
				if (lim->memo_hit)
					*lim->memo_hit = true;
				goto cleanup;
			}
			/* cannot happen (it parsed before): render afresh */
			gs_error_clear(err);
			rc = GS_OK;
		}
	}
	if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0 ||
	    pipe2(ipipe, O_CLOEXEC) < 0) {
		rc = gs_error_set(err, GS_ERR, "render: cannot create a pipe: %s", strerror(errno));
		goto cleanup;
	}
	{
		/* posix_spawn, not fork: glibc's clones the agent's address
		 * space without copying its page tables (CLONE_VM|CLONE_VFORK).
		 * A fork made every page of the agent copy-on-write while its
		 * other threads ran: the faults and TLB shootdowns were half the
		 * agent's CPU in a first sync of 300 apps (perf, issue 20).
		 * posix_spawn cannot set the child's limits, so the child sets
		 * them first thing (--rlimit-as, --rlimit-cpu), before it reads
		 * anything of the repository. */
		char asb[32], cpub[32];
		const char *argv[] = { lim->exe, "render", "--framed", "--root", root,
				       "--rlimit-as", asb, "--rlimit-cpu", cpub,
				       recurse ? "--recurse" : "--framed",
				       lim->helm ? "--enable-helm" : "--framed",
				       lim->helm && lim->pull ? "--pull-charts" : "--framed",
				       "--max-nodes", nodes,
				       "--max-files", files, "--timeout", secs, "--max-output",
				       outmax, full, NULL };
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t at;
		sigset_t none, all;
		int e;

		/* 0: no limit (beyond 1e15 bytes is none anyway) */
		snprintf(asb, sizeof(asb), "%zu", max_mem > (size_t)1e15 ? (size_t)0 : max_mem);
		snprintf(cpub, sizeof(cpub), "%.0f", timeout + 1);
		sigemptyset(&none);
		sigfillset(&all);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, ipipe[0], 0);
		posix_spawn_file_actions_adddup2(&fa, opipe[1], 1);
		posix_spawn_file_actions_adddup2(&fa, epipe[1], 2);
		posix_spawnattr_init(&at);
		/* the child starts with no signal blocked and none handled the
		 * agent's way */
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setsigdefault(&at, &all);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		e = posix_spawn(&pid, lim->exe, &fa, &at, (char *const *)argv, environ);
		posix_spawnattr_destroy(&at);
		posix_spawn_file_actions_destroy(&fa);
		if (e) {
			pid = -1;
			rc = gs_error_set(err, GS_ERR, "render: cannot start the renderer %s: %s",
					  lim->exe, strerror(e));
			goto cleanup;
		}
	}
	close(opipe[1]);
	close(epipe[1]);
	close(ipipe[0]);
	opipe[1] = epipe[1] = ipipe[0] = -1;
	/* framing and JSON add a little to the objects' bytes */
	ob.max = (lim->max_output ? lim->max_output : RENDER_DEFAULT_OUTPUT) + (4u << 20);
	deadline = gs_time_mono() + timeout + 5;
	while (opipe[0] >= 0 || epipe[0] >= 0) {
		struct pollfd pf[2] = { { opipe[0], POLLIN, 0 }, { epipe[0], POLLIN, 0 } };
		double left = deadline - gs_time_mono();
		char chunk[65536];
		int i;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (poll(pf, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			ssize_t n;
			int *fd = i ? &epipe[0] : &opipe[0];

			if (*fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(*fd, chunk, sizeof(chunk));
			if (n <= 0) {
				close(*fd);
				*fd = -1;
			} else if (i == 1) {
				if (eb.len < 4096)
					gs_buf_add(&eb, chunk, (size_t)n);
			} else if (gs_buf_add(&ob, chunk, (size_t)n) < 0) {
				too_big = true;
				kill(pid, SIGKILL);
				close(*fd);
				*fd = -1;
			} else {
				/* a remote resource: fetched here, the child waits */
				serve_requests(&ob, lim, ipipe[1], &asked_parent);
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (killed || (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU ||
					      WTERMSIG(status) == SIGKILL) && !too_big)) {
		rc = gs_error_set(err, GS_ELIMIT,
				  "render budget exceeded: rendering took more than %g s "
				  "(render-timeout; the renderer was stopped)",
				  timeout);
	} else if (too_big) {
		rc = gs_error_set(err, GS_ELIMIT,
				  "render budget exceeded: the rendered objects exceed %s bytes "
				  "(render-max-output)", outmax);
	} else if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 1)) {
		if (strstr(eb.ptr, "out of memory") || (WIFSIGNALED(status) &&
							WTERMSIG(status) == SIGABRT))
			rc = gs_error_set(err, GS_ELIMIT,
					  "render budget exceeded: the renderer ran out of memory "
					  "(render-max-memory: %zu MiB of address space); raise it "
					  "with `gitsync agent --render-max-memory` if this "
					  "repository really needs it",
					  max_mem >> 20);
		else
			rc = gs_error_set(err, GS_ERR, "render: the renderer %s failed (%s %d): %.300s",
					  lim->exe, WIFSIGNALED(status) ? "signal" : "exit",
					  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
					  eb.ptr);
	} else {
		/* parsing writes into ob: keep a copy first */
		free(kept);
		kept = NULL;
		if (memo_key && !asked_parent && ob.len) {
			size_t rl = strlen(root);

			/* the root first: an entry keyed by content may serve a
			 * render under another root (parse_framed renames) */
			kept_len = rl + 3 + ob.len;
			kept = gs_malloc(kept_len);
			memcpy(kept, "R ", 2);
			memcpy(kept + 2, root, rl);
			kept[rl + 2] = '\n';
			memcpy(kept + rl + 3, ob.ptr, ob.len);
		}
		rc = parse_framed(out, ob.ptr, ob.ptr + ob.len, cost, err, NULL, NULL);
		if (rc == GS_OK && kept)
			memo_put(lim->memo, memo_key, kept, kept_len);
	}
cleanup:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (opipe[0] >= 0)
		close(opipe[0]);
	if (opipe[1] >= 0)
		close(opipe[1]);
	if (epipe[0] >= 0)
		close(epipe[0]);
	if (epipe[1] >= 0)
		close(epipe[1]);
	if (ipipe[0] >= 0)
		close(ipipe[0]);
	if (ipipe[1] >= 0)
		close(ipipe[1]);
	gs_buf_release(&ob);
	gs_buf_release(&eb);
	free(full);
	free(memo_key);
	free(kept);
	return rc;
}
