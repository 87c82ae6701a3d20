/* sync-jq.c - ignoreDifferences jqPathExpressions through libjq.
 *
 * Argo CD removes `del(EXPR)` from both sides of a comparison.  We ask jq
 * for `path(EXPR)` instead: the output is the list of paths EXPR selects,
 * which become JSON pointers that the comparison removes (as del would)
 * and that RespectIgnoreDifferences copies from the live object.
 *
 * A jq program is Turing-complete (`def f: f; f`, `repeat`, `range(1e18)`)
 * and libjq 1.6 has no step counter nor a way to interrupt jq_next().  The
 * expression comes from an Application's author, so it is evaluated in a
 * forked child under a CPU-time limit, an address-space budget and a wall
 * clock the parent enforces (SIGKILL); the child writes the pointers to a
 * pipe and the parent reads at most SYNC_JQ_MAX_OUTPUT bytes and
 * SYNC_JQ_MAX_PATHS paths.  The child only runs jq and _exit()s: it
 * touches no lock another thread of the agent could hold except malloc's,
 * which glibc resets across fork(). */
#include "sync/sync-jq.h"

#include <errno.h>
#include <fcntl.h>
#include <jq.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "gs-hash.h"
#include "gs-buf.h"
#include "gs-time.h"
#include "mf-json.h"

struct child_out {
	int fd;
	struct gs_buf line;
};

static void out_write(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		s += w;
		len -= (size_t)w;
	}
}

/* jq's compile and runtime messages: one "E<msg>" line. */
static void on_jq_error(void *data, jv msg)
{
	struct child_out *o = data;
	const char *s = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "jq error";
	size_t i;

	gs_buf_reset(&o->line);
	gs_buf_putc(&o->line, 'E');
	for (i = 0; s[i] && i < 400; i++)
		gs_buf_putc(&o->line, s[i] == '\n' ? ' ' : s[i]);
	gs_buf_putc(&o->line, '\n');
	out_write(o->fd, o->line.ptr, o->line.len);
	jv_free(msg);
}

/* One jq path (an array of keys and indexes) as "P/json/pointer\n". */
static void write_path(struct child_out *o, jv path)
{
	int i, n = jv_array_length(jv_copy(path));

	gs_buf_reset(&o->line);
	gs_buf_putc(&o->line, 'P');
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(path), i);

		if (jv_get_kind(e) == JV_KIND_STRING) {
			const char *s = jv_string_value(e);

			gs_buf_putc(&o->line, '/');
			for (; *s; s++) {
				if (*s == '~')
					gs_buf_puts(&o->line, "~0");
				else if (*s == '/')
					gs_buf_puts(&o->line, "~1");
				else if (*s == '\n')
					gs_buf_puts(&o->line, "\\n"); /* cannot match a key */
				else
					gs_buf_putc(&o->line, *s);
			}
		} else if (jv_get_kind(e) == JV_KIND_NUMBER && jv_number_value(e) >= 0 &&
			   jv_number_value(e) < 1e9) {
			gs_buf_printf(&o->line, "/%d", (int)jv_number_value(e));
		} else {
			/* a slice or a negative index: not a field we can name */
			jv_free(e);
			jv_free(path);
			return;
		}
		jv_free(e);
	}
	jv_free(path);
	if (n == 0)
		return; /* the whole object: ignoring everything is not meant */
	gs_buf_putc(&o->line, '\n');
	out_write(o->fd, o->line.ptr, o->line.len);
}

static void child_main(int fd, const char *json, const char *const *exprs, size_t n)
{
	struct child_out o = { fd, GS_BUF_INIT };
	struct rlimit cpu = { SYNC_JQ_CPU_S, SYNC_JQ_CPU_S };
	struct rlimit as;
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	size_t i;

	/* room for jq on top of what the agent's image already maps */
	if (f && fscanf(f, "%lu", &pages) == 1) {
		as.rlim_cur = as.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
					    (rlim_t)SYNC_JQ_MAX_MEMORY;
		setrlimit(RLIMIT_AS, &as);
	}
	if (f)
		fclose(f);
	setrlimit(RLIMIT_CPU, &cpu);
	for (i = 0; i < n; i++) {
		jq_state *jq = jq_init();
		char *prog = gs_asprintf("path(%s)", exprs[i]);
		jv input, r;

		if (!jq)
			_exit(4);
		jq_set_error_cb(jq, on_jq_error, &o);
		gs_buf_reset(&o.line);
		gs_buf_printf(&o.line, "X%zu\n", i);
		out_write(fd, o.line.ptr, o.line.len);
		if (!jq_compile(jq, prog)) {
			out_write(fd, "F\n", 2);
			_exit(0);
		}
		if (!json) { /* sync_jq_validate: compiling is the whole check */
			jq_teardown(&jq);
			free(prog);
			continue;
		}
		input = jv_parse(json);
		jq_start(jq, input, 0);
		while (jv_is_valid(r = jq_next(jq)))
			write_path(&o, r);
		if (jv_invalid_has_msg(jv_copy(r))) {
			jv msg = jv_invalid_get_msg(r);

			on_jq_error(&o, jv_get_kind(msg) == JV_KIND_STRING
						? msg
						: jv_dump_string(msg, 0));
			out_write(fd, "F\n", 2);
			_exit(0);
		}
		jv_free(r);
		jq_teardown(&jq);
		free(prog);
	}
	out_write(fd, "D\n", 2);
	_exit(0);
}

static void free_ptrs(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Read the child's lines into pointers; err set from an E line. */
static int parse_output(char ***out, size_t *n_out, const char *text,
			const char *const *exprs, struct gs_error *err)
{
	char **v = NULL;
	size_t n = 0, at = 0;
	const char *p = text, *msg = NULL;
	size_t msglen = 0;
	bool done = false, failed = false;
	int rc = GS_OK;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (!nl)
			break; /* a truncated last line */
		switch (p[0]) {
		case 'X':
			at = strtoul(p + 1, NULL, 10);
			break;
		case 'P':
			if (n == SYNC_JQ_MAX_PATHS) {
				rc = gs_error_set(err, GS_ELIMIT,
						  "jqPathExpressions '%s' selects more than %d paths "
						  "(narrow the expression)",
						  exprs[at], SYNC_JQ_MAX_PATHS);
				goto cleanup;
			}
			v = gs_realloc(v, (n + 1) * sizeof(*v));
			v[n++] = gs_strndup(p + 1, len - 1);
			break;
		case 'E':
			if (!msg) {
				msg = p + 1;
				msglen = len - 1;
			}
			break;
		case 'F':
			failed = true;
			break;
		case 'D':
			done = true;
			break;
		default:
			break;
		}
		p = nl + 1;
	}
	while (msg && msglen && (msg[msglen - 1] == ' ' || msg[msglen - 1] == '\t'))
		msglen--; /* jq pads its message with the source line's spaces */
	if (failed || msg) {
		rc = gs_error_set(err, GS_EINVAL, "jqPathExpressions '%s': %.*s", exprs[at],
				  (int)(msglen > 500 ? 500 : msglen), msg ? msg : "failed");
		goto cleanup;
	}
	if (!done) {
		rc = gs_error_set(err, GS_ELIMIT,
				  "jqPathExpressions '%s' did not finish within %d s of CPU, %d MiB "
				  "and %d KiB of output (simplify the expression)",
				  exprs[at], SYNC_JQ_CPU_S, SYNC_JQ_MAX_MEMORY >> 20,
				  SYNC_JQ_MAX_OUTPUT >> 10);
		goto cleanup;
	}
	*out = v;
	*n_out = n;
	v = NULL;
	n = 0;
cleanup:
	free_ptrs(v, n);
	return rc;
}

int sync_jq_check(const char *const *exprs, size_t n, struct gs_error *err)
{
	size_t i;

	if (n > SYNC_JQ_MAX_EXPRS)
		return gs_error_set(err, GS_ELIMIT,
				    "%zu jqPathExpressions in one ignoreDifferences entry, at most %d",
				    n, SYNC_JQ_MAX_EXPRS);
	for (i = 0; i < n; i++) {
		size_t len = exprs[i] ? strlen(exprs[i]) : 0;

		if (!len)
			return gs_error_set(err, GS_EINVAL, "jqPathExpressions[%zu] is empty", i);
		if (len > SYNC_JQ_MAX_EXPR_LEN)
			return gs_error_set(err, GS_ELIMIT,
					    "jqPathExpressions[%zu] is %zu bytes long, at most %d",
					    i, len, SYNC_JQ_MAX_EXPR_LEN);
	}
	return GS_OK;
}

/* Run exprs in a bounded child over json (NULL: compile only) and parse
 * what it printed. */
static int run_child(char ***ptrs_out, size_t *n_out, const char *json,
		     const char *const *exprs, size_t n, struct gs_error *err)
{
	struct gs_buf got = GS_BUF_INIT;
	int fds[2] = { -1, -1 }, status = 0, rc;
	double deadline;
	pid_t pid = -1;
	bool killed = false, eof = false;

	if (pipe2(fds, O_CLOEXEC)) {
		rc = gs_error_set(err, GS_EIO, "jqPathExpressions: pipe: %s", strerror(errno));
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		rc = gs_error_set(err, GS_EIO, "jqPathExpressions: fork: %s", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(fds[1], json, exprs, n);
	}
	close(fds[1]);
	fds[1] = -1;
	got.max = SYNC_JQ_MAX_OUTPUT;
	deadline = gs_time_mono() + SYNC_JQ_WALL_S;
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		double left = deadline - gs_time_mono();
		char buf[4096];
		ssize_t r;
		int pr;

		if (left <= 0)
			break;
		pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		r = read(fds[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			eof = true; /* the child is exiting */
			break;
		}
		if (r < 0 || gs_buf_add(&got, buf, (size_t)r))
			break; /* over SYNC_JQ_MAX_OUTPUT: the parse says so */
	}
	if (!eof) {
		kill(pid, SIGKILL);
		killed = true;
	}
	waitpid(pid, &status, 0);
	pid = -1;
	rc = parse_output(ptrs_out, n_out, got.ptr, exprs, err);
	if (!rc && (killed || !WIFEXITED(status) || WEXITSTATUS(status)))
		rc = gs_error_set(err, GS_ELIMIT,
				  "jqPathExpressions: evaluation stopped (limits: %d s, %d MiB)",
				  SYNC_JQ_CPU_S, SYNC_JQ_MAX_MEMORY >> 20);
	if (rc) {
		free_ptrs(*ptrs_out, *n_out);
		*ptrs_out = NULL;
		*n_out = 0;
	}
cleanup:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	gs_buf_release(&got);
	return rc;
}

int sync_jq_paths(char ***ptrs_out, size_t *n_out, const struct mf_node *obj,
		  const char *const *exprs, size_t n, struct gs_error *err)
{
	struct gs_buf json = GS_BUF_INIT;
	int rc;

	*ptrs_out = NULL;
	*n_out = 0;
	if (!n)
		return GS_OK;
	if ((rc = sync_jq_check(exprs, n, err)))
		return rc;
	if ((rc = mf_json_emit(&json, obj, 0)))
		return gs_error_set(err, rc, "jqPathExpressions: cannot serialize the object");
	rc = run_child(ptrs_out, n_out, json.ptr, exprs, n, err);
	gs_buf_release(&json);
	return rc;
}

#define JQ_MEMO_SLOTS 64

struct sync_jq_memo {
	uint64_t valid[JQ_MEMO_SLOTS]; /* FNV-1a of a set that compiled; 0 = free */
	size_t next;                   /* ring: the oldest is replaced */
	size_t children;
};

struct sync_jq_memo *sync_jq_memo_new(void)
{
	return gs_calloc(1, sizeof(struct sync_jq_memo));
}

void sync_jq_memo_free(struct sync_jq_memo *m)
{
	free(m);
}

size_t sync_jq_memo_children(const struct sync_jq_memo *m)
{
	return m ? m->children : 0;
}

int sync_jq_validate(struct sync_jq_memo *memo, const char *const *exprs, size_t n,
		     struct gs_error *err)
{
	char **ptrs = NULL;
	size_t np = 0, i;
	uint64_t h = GS_FNV1A_INIT;
	int rc;

	if (!n)
		return GS_OK;
	if ((rc = sync_jq_check(exprs, n, err)))
		return rc;
	for (i = 0; i < n; i++)
		h = gs_fnv1a_field(h, exprs[i]);
	h = h ? h : 1;
	for (i = 0; memo && i < JQ_MEMO_SLOTS; i++)
		if (memo->valid[i] == h)
			return GS_OK;
	if (memo)
		memo->children++;
	rc = run_child(&ptrs, &np, NULL, exprs, n, err);
	free_ptrs(ptrs, np);
	if (rc == GS_OK && memo) {
		memo->valid[memo->next] = h;
		memo->next = (memo->next + 1) % JQ_MEMO_SLOTS;
	}
	return rc;
}

void sync_jq_paths_free(char **ptrs, size_t n)
{
	free_ptrs(ptrs, n);
}
