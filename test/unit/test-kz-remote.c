/* test-kz-remote.c - remote resources in kustomizations: kustomize v5's
 * remote target syntax, the load through the caller's loader (here a fake
 * one serving directories of a temporary tree), confinement of a hostile
 * remote, the bounds (count, nesting, time) and errors naming the entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "kz-build.h"
#include "mf-object.h"

/* ---- the parser ---- */

struct parse_case {
	const char *entry, *repo, *ref, *path;
};

static void test_kz_remote__parses_kustomize_remote_targets(void **state)
{
	static const struct parse_case cases[] = {
		{ "https://host/org/repo//path/to?ref=v1.2.3", "https://host/org/repo", "v1.2.3",
		  "path/to" },
		{ "https://host/org/repo.git/path?ref=main", "https://host/org/repo.git", "main",
		  "path" },
		{ "git@host:org/repo//path?ref=v1", "git@host:org/repo", "v1", "path" },
		{ "git@host:org/repo.git", "git@host:org/repo.git", "", "" },
		{ "github.com/org/repo/path/sub?ref=v2", "https://github.com/org/repo", "v2",
		  "path/sub" },
		{ "github.com:org/repo?version=v3", "https://github.com/org/repo", "v3", "" },
		{ "git@github.com:org/repo/dir", "git@github.com:org/repo", "", "dir" },
		{ "ssh://git@github.com/org/repo//dir", "git@github.com:org/repo", "", "dir" },
		{ "git::https://host/org/repo.git//dir/?ref=x&version=y", "https://host/org/repo.git",
		  "x", "dir" },
		{ "https://dev.azure.com/org/proj/_git/repo/dir", "https://dev.azure.com/org/proj/_git/repo",
		  "", "dir" },
		{ "git://127.0.0.1:9418/repo.git//base?ref=v1%2Erc1", "git://127.0.0.1:9418/repo.git",
		  "v1.rc1", "base" },
		{ "file:///srv/git/repo.git//base", "file:///srv/git/repo.git", "", "base" },
	};
	static const char *const local[] = { "base", "../base", "gitlab.com/org/repo",
					     "bitbucket.org/org/repo/x", "/abs/path", "x@y",
					     "file:///srv/repo", "https://host" };
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *repo = NULL, *ref = NULL, *path = NULL;
		double timeout = 0;
		bool sub = false;

		if (!kz_remote_parse(cases[i].entry, &repo, &ref, &path, &timeout, &sub))
			fail_msg("%s: not parsed as remote", cases[i].entry);
		if (strcmp(repo, cases[i].repo) || strcmp(ref, cases[i].ref) ||
		    strcmp(path, cases[i].path))
			fail_msg("%s: got repo '%s' ref '%s' path '%s'", cases[i].entry, repo, ref,
				 path);
		assert_true(timeout == KZ_REMOTE_DEFAULT_TIMEOUT);
		assert_true(sub);
		free(repo);
		free(ref);
		free(path);
	}
	for (i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		char *repo = NULL, *ref = NULL, *path = NULL;
		double timeout;
		bool sub;

		if (kz_remote_parse(local[i], &repo, &ref, &path, &timeout, &sub))
			fail_msg("%s: parsed as remote (repo '%s')", local[i], repo);
	}
	{
		char *repo = NULL, *ref = NULL, *path = NULL;
		double timeout;
		bool sub;

		assert_true(kz_remote_parse("https://h/o/r//d?timeout=1m30s&submodules=false", &repo,
					    &ref, &path, &timeout, &sub));
		assert_true(timeout == 90.0);
		assert_false(sub);
		free(repo);
		free(ref);
		free(path);
		assert_true(kz_remote_parse("https://h/o/r?timeout=5", &repo, &ref, &path, &timeout,
					    &sub));
		assert_true(timeout == 5.0);
		free(repo);
		free(ref);
		free(path);
	}
}

/* ---- builds through a fake loader ---- */

struct fake {
	char *top;      /* temporary directory: top/<name>/ is a "clone" */
	unsigned calls;
	char last_url[256], last_ref[64];
	double last_timeout;
	const char *refuse; /* repo_url refused with GS_EAUTH */
};

static void put(const char *dir, const char *rel, const char *text)
{
	char *p = gs_asprintf("%s/%s", dir, rel), *slash;
	FILE *f;

	for (slash = strchr(p + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(p, 0755);
		*slash = '/';
	}
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* repo_url "git://fake/<name>" is served from top/<name>. */
static int fake_loader(void *arg, const struct kz_remote *rem, char **dir_out,
		       struct gs_error *err)
{
	struct fake *f = arg;
	const char *name = strrchr(rem->repo_url, '/');

	f->calls++;
	snprintf(f->last_url, sizeof(f->last_url), "%s", rem->repo_url);
	snprintf(f->last_ref, sizeof(f->last_ref), "%s", rem->ref);
	f->last_timeout = rem->timeout;
	if (f->refuse && !strcmp(f->refuse, rem->repo_url))
		return gs_error_set(err, GS_EAUTH,
				    "repository %s is not allowed by project 'p' (sourceRepos)",
				    rem->repo_url);
	if (strncmp(rem->repo_url, "git://fake/x/", 13) || !name)
		return gs_error_set(err, GS_ENET, "cannot reach %s", rem->repo_url);
	*dir_out = gs_asprintf("%s/%s", f->top, name + 1);
	return GS_OK;
}

static void fake_init(struct fake *f)
{
	char tmpl[] = "/tmp/test-kz-remote-XXXXXX";

	memset(f, 0, sizeof(*f));
	assert_non_null(mkdtemp(tmpl));
	f->top = gs_strdup(tmpl);
}

static void fake_release(struct fake *f)
{
	char *cmd = gs_asprintf("rm -rf '%s'", f->top);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->top);
}

static int render(struct kz_output *out, struct fake *f, const char *local_dir,
		  const struct kz_budget *b, struct gs_error *err)
{
	struct kz_fs *fs = NULL;
	struct kz_hooks hooks = { fake_loader, f, 0, 0 };
	int rc;

	assert_int_equal(kz_fs_new_disk(&fs, local_dir, err), GS_OK);
	rc = kz_render_hooks(out, fs, "", 0, b, f ? &hooks : NULL, NULL, err);
	kz_fs_free(fs);
	return rc;
}

static const char *const base_kust = "resources:\n- cm.yaml\n- ../shared\n";
static const char *const base_cm =
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"1\"\n";
static const char *const shared_svc =
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: 80\n";

static void test_kz_remote__a_remote_base_builds_with_its_own_root(void **state)
{
	struct fake f;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *local;
	(void)state;

	fake_init(&f);
	put(f.top, "repo/base/kustomization.yaml", base_kust);
	put(f.top, "repo/base/cm.yaml", base_cm);
	put(f.top, "repo/shared/kustomization.yaml", "resources:\n- svc.yaml\n");
	put(f.top, "repo/shared/svc.yaml", shared_svc);
	/* the local checkout also has a "base": it must not be confused with
	 * the remote's (cycle detection, file names) */
	put(f.top, "local/kustomization.yaml",
	    "namePrefix: p-\nresources:\n- git://fake/x/repo//base?ref=v1.2.3&timeout=7\n"
	    "- base\n");
	put(f.top, "local/base/kustomization.yaml", "resources:\n- d.yaml\n");
	put(f.top, "local/base/d.yaml",
	    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n");
	local = gs_asprintf("%s/local", f.top);
	if (render(&out, &f, local, NULL, &err) != GS_OK)
		fail_msg("%s: %s", err.where, err.msg);
	assert_int_equal(out.docs.n, 3);
	assert_string_equal(f.last_url, "git://fake/x/repo");
	assert_string_equal(f.last_ref, "v1.2.3");
	assert_true(f.last_timeout > 6.9 && f.last_timeout <= 7.0);
	assert_int_equal(f.calls, 1);
	{
		size_t i;
		bool cm = false, svc = false;

		for (i = 0; i < out.docs.n; i++) {
			const char *n = mf_obj_name(out.docs.docs[i]);
			const char *file = mf_node_pos(out.docs.docs[i])->file;

			if (!strcmp(n, "p-cm")) {
				cm = true;
				/* named by URL and ref, not by the cache directory */
				assert_string_equal(file, "git://fake/x/repo@v1.2.3/base/cm.yaml");
			}
			svc = svc || !strcmp(n, "p-svc");
		}
		assert_true(cm && svc);
	}
	kz_output_release(&out);
	free(local);
	fake_release(&f);
}

static void test_kz_remote__refused_without_a_loader_naming_file_and_entry(void **state)
{
	struct fake f;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *local;
	(void)state;

	fake_init(&f);
	put(f.top, "local/kustomization.yaml",
	    "resources:\n- cm.yaml\n- https://tok:secret@host/org/repo//base?ref=v1\n");
	put(f.top, "local/cm.yaml", base_cm);
	local = gs_asprintf("%s/local", f.top);
	assert_int_equal(render(&out, NULL, local, NULL, &err), GS_EINVAL);
	assert_non_null(strstr(err.where, "local/kustomization.yaml:3"));
	assert_non_null(strstr(err.msg, "https://***@host/org/repo//base?ref=v1"));
	assert_null(strstr(err.msg, "secret"));
	assert_non_null(strstr(err.msg, "not allowed"));
	assert_int_equal(out.docs.n, 0);
	kz_output_release(&out);
	free(local);
	fake_release(&f);
}

static void test_kz_remote__a_loader_refusal_names_file_and_entry(void **state)
{
	struct fake f;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *local;
	(void)state;

	fake_init(&f);
	f.refuse = "git://fake/x/other";
	put(f.top, "local/kustomization.yaml", "resources:\n- git://fake/x/other//x?ref=v1\n");
	local = gs_asprintf("%s/local", f.top);
	assert_int_equal(render(&out, &f, local, NULL, &err), GS_EAUTH);
	assert_non_null(strstr(err.where, "local/kustomization.yaml:2"));
	assert_non_null(strstr(err.msg, "git://fake/x/other//x?ref=v1"));
	assert_non_null(strstr(err.msg, "sourceRepos"));
	kz_output_release(&out);
	free(local);
	fake_release(&f);
}

static void test_kz_remote__a_hostile_remote_stays_confined(void **state)
{
	static const struct {
		const char *entry, *want;
	} cases[] = {
		/* a file symlinked out of the clone */
		{ "git://fake/x/evil//leak", "'s.yaml': no such file" },
		/* ../ climbing out of the clone from a base inside it */
		{ "git://fake/x/evil//climb", "escapes" },
		/* the path itself climbs out */
		{ "git://fake/x/evil//../repo/base", "not a directory inside the repository" },
		/* the path is a symlink to a directory outside the clone */
		{ "git://fake/x/evil//outdir", "not a directory inside the repository" },
		/* a kustomization symlinked from outside */
		{ "git://fake/x/evil//kfile", "unable to find" },
	};
	struct fake f;
	char *local, *target;
	size_t i;
	(void)state;

	fake_init(&f);
	put(f.top, "secret/kustomization.yaml", "resources:\n- s.yaml\n");
	put(f.top, "secret/s.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n");
	put(f.top, "evil/leak/kustomization.yaml", "resources:\n- s.yaml\n");
	target = gs_asprintf("%s/secret/s.yaml", f.top);
	{
		char *l = gs_asprintf("%s/evil/leak/s.yaml", f.top);

		assert_int_equal(symlink(target, l), 0);
		free(l);
	}
	put(f.top, "evil/climb/kustomization.yaml", "resources:\n- ../../secret\n");
	{
		char *t = gs_asprintf("%s/secret", f.top), *l = gs_asprintf("%s/evil/outdir", f.top);

		assert_int_equal(symlink(t, l), 0);
		free(t);
		free(l);
	}
	put(f.top, "evil/kfile/x.yaml", "");
	{
		char *t = gs_asprintf("%s/secret/kustomization.yaml", f.top);
		char *l = gs_asprintf("%s/evil/kfile/kustomization.yaml", f.top);

		assert_int_equal(symlink(t, l), 0);
		free(t);
		free(l);
	}
	free(target);
	local = gs_asprintf("%s/local", f.top);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kz_output out = KZ_OUTPUT_INIT;
		struct gs_error err = GS_ERROR_INIT;
		char *k = gs_asprintf("resources:\n- %s\n", cases[i].entry);

		put(f.top, "local/kustomization.yaml", k);
		free(k);
		if (render(&out, &f, local, NULL, &err) == GS_OK)
			fail_msg("%s: rendered %zu objects", cases[i].entry, out.docs.n);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("%s: '%s: %s' lacks '%s'", cases[i].entry, err.where, err.msg,
				 cases[i].want);
		assert_int_equal(out.docs.n, 0);
		kz_output_release(&out);
	}
	free(local);
	fake_release(&f);
}

static void test_kz_remote__bounded_in_nesting_count_and_time(void **state)
{
	struct fake f;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct kz_budget b = { 0, 0, 0 };
	char *local, name[64], text[128];
	unsigned i;
	(void)state;

	fake_init(&f);
	/* a chain of 20 remotes, each including the next */
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "r%u/kustomization.yaml", i);
		snprintf(text, sizeof(text), "resources:\n- git://fake/x/r%u?ref=v1\n", i + 1);
		put(f.top, name, text);
	}
	put(f.top, "local/kustomization.yaml", "resources:\n- git://fake/x/r0?ref=v1\n");
	local = gs_asprintf("%s/local", f.top);
	assert_int_equal(render(&out, &f, local, NULL, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "nested more than 8 deep"));
	assert_int_equal(f.calls, 8);

	/* a remote including itself: a cycle, fetched once */
	f.calls = 0;
	put(f.top, "self/kustomization.yaml", "resources:\n- git://fake/x/self?ref=v1\n");
	put(f.top, "local/kustomization.yaml", "resources:\n- git://fake/x/self?ref=v1\n");
	assert_int_equal(render(&out, &f, local, NULL, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "cycle"));
	assert_int_equal(f.calls, 1);

	/* 40 distinct remotes side by side: the count limit */
	{
		struct gs_buf k = GS_BUF_INIT;

		gs_buf_puts(&k, "resources:\n");
		for (i = 0; i < 40; i++) {
			snprintf(name, sizeof(name), "w%u/kustomization.yaml", i);
			snprintf(text, sizeof(text),
				 "resources:\n- c.yaml\nnameSuffix: \"-%u\"\n", i);
			put(f.top, name, text);
			snprintf(name, sizeof(name), "w%u/c.yaml", i);
			put(f.top, name, base_cm);
			gs_buf_printf(&k, "- git://fake/x/w%u?ref=v1\n", i);
		}
		put(f.top, "local/kustomization.yaml", k.ptr);
		gs_buf_release(&k);
	}
	f.calls = 0;
	assert_int_equal(render(&out, &f, local, NULL, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "more than 32 remote repositories"));
	assert_int_equal(f.calls, 32);

	/* the fetch gets no more time than the render has left */
	put(f.top, "local/kustomization.yaml", "resources:\n- git://fake/x/w0?ref=v1&timeout=600\n");
	b.max_seconds = 5;
	assert_int_equal(render(&out, &f, local, &b, &err), GS_OK);
	assert_true(f.last_timeout <= 5.0 && f.last_timeout > 4.0);
	kz_output_release(&out);
	free(local);
	fake_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kz_remote__parses_kustomize_remote_targets),
		cmocka_unit_test(test_kz_remote__a_remote_base_builds_with_its_own_root),
		cmocka_unit_test(test_kz_remote__refused_without_a_loader_naming_file_and_entry),
		cmocka_unit_test(test_kz_remote__a_loader_refusal_names_file_and_entry),
		cmocka_unit_test(test_kz_remote__a_hostile_remote_stays_confined),
		cmocka_unit_test(test_kz_remote__bounded_in_nesting_count_and_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
