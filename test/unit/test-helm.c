/* test-helm.c - the helm runner: time limit, confinement, scrubbed
 * environment, stderr into the error, memo.  Most cases use a fake `helm`
 * (a shell script) so they test the runner, not helm; the last ones use the
 * real helm when it is installed (scripts/get-helm.sh), else they skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "gs-time.h"
#include "helm/helm.h"

struct fx {
	char dir[64];   /* scratch: repo/, fake helm, tmp/ */
	char *repo;     /* dir/repo: the confinement root */
	char *tmp;      /* dir/tmp: private homes */
};

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void putf(struct fx *fx, const char *rel, const char *text)
{
	char *p = gs_asprintf("%s/%s", fx->repo, rel), *slash;

	for (slash = strchr(p + strlen(fx->repo) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(p, 0755);
		*slash = '/';
	}
	put(p, text, 0644);
	free(p);
}

static int setup(void **state)
{
	struct fx *fx = gs_calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-helm.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->repo = gs_asprintf("%s/repo", fx->dir);
	fx->tmp = gs_asprintf("%s/tmp", fx->dir);
	mkdir(fx->repo, 0755);
	mkdir(fx->tmp, 0755);
	putf(fx, "chart/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n");
	putf(fx, "chart/values.yaml", "replicas: 1\n");
	putf(fx, "chart/templates/cm.yaml",
	     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n"
	     "data:\n  replicas: {{ .Values.replicas | quote }}\n"
	     "  color: {{ .Values.color | default \"none\" | quote }}\n");
	putf(fx, "envs/prod.yaml", "replicas: 3\ncolor: blue\n");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char *cmd = gs_asprintf("rm -rf '%s'", fx->dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(fx->repo);
	free(fx->tmp);
	free(fx);
	return 0;
}

/* A fake helm: script body after "#!/bin/sh\n". */
static struct helm_runner *fake(struct fx *fx, const char *body, double timeout)
{
	char *p = gs_asprintf("%s/fake-helm", fx->dir), *text = gs_asprintf("#!/bin/sh\n%s", body);
	struct helm_runner_opts o = { p, timeout, 0, 0, fx->tmp };
	struct helm_runner *r = NULL;
	struct gs_error err = GS_ERROR_INIT;

	put(p, text, 0755);
	assert_int_equal(helm_runner_new(&r, &o, &err), 0);
	free(p);
	free(text);
	return r;
}

static bool tmp_empty(struct fx *fx)
{
	char *pat = gs_asprintf("%s/*", fx->tmp);
	glob_t g;
	bool empty = glob(pat, 0, NULL, &g) != 0;

	if (!empty)
		globfree(&g);
	free(pat);
	return empty;
}

static void test_helm__not_found_names_how_to_install(void **state)
{
	struct helm_runner_opts o = { "/nonexistent/helm", 0, 0, 0, NULL };
	struct helm_runner *r = NULL;
	struct gs_error err = GS_ERROR_INIT;

	(void)state;
	assert_int_equal(helm_runner_new(&r, &o, &err), GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "GITSYNC_HELM"));
	assert_null(r);
}

static void test_helm__time_limit_stops_helm_and_its_children(void **state)
{
	struct fx *fx = *state;
	char *marker = gs_asprintf("%s/late", fx->dir);
	char *body = gs_asprintf("(sleep 2; touch '%s') &\nsleep 30\n", marker);
	struct helm_runner *r = fake(fx, body, 0.5);
	const char *args[] = { "template", NULL };
	struct gs_error err = GS_ERROR_INIT;
	double t0 = gs_time_mono();

	assert_int_equal(helm_run(NULL, r, fx->repo, args, NULL, &err), GS_ELIMIT);
	assert_true(gs_time_mono() - t0 < 5);
	assert_non_null(strstr(err.msg, "helm-timeout"));
	sleep(3);
	/* the whole process group was killed: the background child never ran on */
	assert_int_not_equal(access(marker, F_OK), 0);
	assert_true(tmp_empty(fx));
	helm_runner_free(r);
	free(body);
	free(marker);
}

static void test_helm__environment_is_scrubbed_to_a_private_home(void **state)
{
	struct fx *fx = *state;
	struct helm_runner *r = fake(fx, "env; test -d \"$HOME\" && echo HOME_EXISTS\n", 0);
	const char *args[] = { "version", NULL };
	const char *env[] = { "HELM_REPO_PASSWORD=chart-secret", NULL };
	struct gs_buf out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;

	setenv("GITSYNC_GIT_PASSWORD", "git-secret", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "aws-secret", 1);
	assert_int_equal(helm_run(&out, r, fx->repo, args, env, &err), 0);
	unsetenv("GITSYNC_GIT_PASSWORD");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_null(strstr(out.ptr, "git-secret"));
	assert_null(strstr(out.ptr, "aws-secret"));
	assert_non_null(strstr(out.ptr, "HELM_REPO_PASSWORD=chart-secret"));
	assert_non_null(strstr(out.ptr, "KUBECONFIG=/dev/null"));
	assert_non_null(strstr(out.ptr, "HOME_EXISTS"));
	{
		char *home = gs_asprintf("HOME=%s/gitsync-helm.", fx->tmp);

		assert_non_null(strstr(out.ptr, home));
		free(home);
	}
	/* the private home is removed afterwards */
	assert_true(tmp_empty(fx));
	gs_buf_release(&out);
	helm_runner_free(r);
}

static void test_helm__stderr_becomes_the_error_with_file_and_line(void **state)
{
	struct fx *fx = *state;
	struct helm_runner *r = fake(fx, "echo 'Error: execution error at "
				     "(demo/templates/cm.yaml:4:15): color is required' >&2\n"
				     "echo >&2; echo 'Use --debug flag to render out invalid YAML' >&2\n"
				     "exit 1\n", 0);
	const char *args[] = { "template", NULL };
	struct gs_error err = GS_ERROR_INIT;

	assert_int_equal(helm_run(NULL, r, fx->repo, args, NULL, &err), GS_ERR);
	assert_string_equal(err.where, "demo/templates/cm.yaml:4");
	assert_non_null(strstr(err.msg, "color is required"));
	assert_null(strstr(err.msg, "--debug"));
	helm_runner_free(r);
}

static void test_helm__value_file_outside_the_repository_is_refused(void **state)
{
	struct fx *fx = *state;
	struct helm_runner *r = fake(fx, "echo ran\n", 0);
	const char *vf[] = { "../envs/prod.yaml", "../../../../../../etc/passwd" };
	struct helm_template_req req = { 0 };
	struct gs_buf out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	unsigned long runs = 9;

	req.root = fx->repo;
	req.chart = "chart";
	req.release_name = "demo";
	req.value_files = vf;
	req.n_value_files = 2;
	assert_int_equal(helm_template(&out, NULL, r, &req, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "resolves outside the repository"));
	assert_non_null(strstr(err.msg, "etc/passwd"));
	helm_runner_stats(r, &runs, NULL);
	assert_int_equal(runs, 0);
	/* "../" inside the repository is fine */
	req.n_value_files = 1;
	err = (struct gs_error)GS_ERROR_INIT;
	assert_int_equal(helm_template(&out, NULL, r, &req, &err), 0);
	gs_buf_release(&out);
	helm_runner_free(r);
}

static void test_helm__symlink_leaving_the_repository_is_refused(void **state)
{
	struct fx *fx = *state;
	struct helm_runner *r = fake(fx, "echo ran\n", 0);
	struct helm_template_req req = { 0 };
	struct gs_buf out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *link = gs_asprintf("%s/chart/files-host", fx->repo);

	assert_int_equal(symlink("/etc", link), 0);
	req.root = fx->repo;
	req.chart = "chart";
	req.release_name = "demo";
	assert_int_equal(helm_template(&out, NULL, r, &req, &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "files-host"));
	assert_non_null(strstr(err.msg, "outside the repository"));
	/* a value file through a symlink that leaves is refused too */
	unlink(link);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	err = (struct gs_error)GS_ERROR_INIT;
	assert_int_equal(helm_template(&out, NULL, r, &req, &err), GS_EINVAL);
	free(link);
	gs_buf_release(&out);
	helm_runner_free(r);
}

static void test_helm__missing_value_file_fails_unless_ignored(void **state)
{
	struct fx *fx = *state;
	struct helm_runner *r = fake(fx, "echo ran\n", 0);
	const char *vf[] = { "values-missing.yaml" };
	struct helm_template_req req = { 0 };
	struct gs_buf out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;

	req.root = fx->repo;
	req.chart = "chart";
	req.release_name = "demo";
	req.value_files = vf;
	req.n_value_files = 1;
	assert_int_equal(helm_template(&out, NULL, r, &req, &err), GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "values-missing.yaml"));
	assert_non_null(strstr(err.msg, "ignoreMissingValueFiles"));
	req.ignore_missing_value_files = true;
	assert_int_equal(helm_template(&out, NULL, r, &req, &err), 0);
	assert_string_equal(out.ptr, "ran\n");
	gs_buf_release(&out);
	helm_runner_free(r);
}

static void test_helm__memo_answers_an_unchanged_chart_without_a_run(void **state)
{
	struct fx *fx = *state;
	struct helm_runner *r = fake(fx, "echo \"$@\"\n", 0);
	const char *vf[] = { "../envs/prod.yaml" };
	struct helm_param p[] = { { "image.tag", "v1", false } };
	struct helm_template_req req = { 0 };
	struct gs_buf out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	unsigned long runs = 0, hits = 0;
	bool hit = true;

	req.root = fx->repo;
	req.chart = "chart";
	req.release_name = "demo";
	req.namespace = "ns";
	req.kube_version = "v1.20.2";
	req.value_files = vf;
	req.n_value_files = 1;
	req.params = p;
	req.n_params = 1;
	assert_int_equal(helm_template(&out, &hit, r, &req, &err), 0);
	assert_false(hit);
	assert_non_null(strstr(out.ptr, "--set image.tag=v1"));
	gs_buf_reset(&out);
	assert_int_equal(helm_template(&out, &hit, r, &req, &err), 0);
	assert_true(hit);
	helm_runner_stats(r, &runs, &hits);
	assert_int_equal(runs, 1);
	assert_int_equal(hits, 1);
	/* a changed value file, template, parameter or kube version is a miss */
	putf(fx, "envs/prod.yaml", "replicas: 4\n");
	assert_int_equal(helm_template(&out, &hit, r, &req, &err), 0);
	assert_false(hit);
	putf(fx, "chart/templates/new.yaml", "# new\n");
	assert_int_equal(helm_template(&out, &hit, r, &req, &err), 0);
	assert_false(hit);
	p[0].value = "v2";
	assert_int_equal(helm_template(&out, &hit, r, &req, &err), 0);
	assert_false(hit);
	req.kube_version = "v1.21.0";
	assert_int_equal(helm_template(&out, &hit, r, &req, &err), 0);
	assert_false(hit);
	helm_runner_stats(r, &runs, &hits);
	assert_int_equal(runs, 5);
	assert_int_equal(hits, 1);
	gs_buf_release(&out);
	helm_runner_free(r);
}

/* `helm dependency build` writes charts/ and Chart.lock: in a private
 * mirror, never into the repository (the commit's export, shared); a
 * dependency elsewhere in the repository (file://../lib) is still found,
 * and a change to it is a memo miss. */
static void test_helm__dependency_build_never_writes_into_the_repository(void **state)
{
	struct fx *fx = *state;
	struct helm_runner *r =
		fake(fx,
		     "if [ \"$1\" = dependency ]; then mkdir -p charts &&\n"
		     "  cat ../lib/version >charts/lib-0.1.0.tgz && echo lock >Chart.lock; exit 0; fi\n"
		     "echo \"$@\"; cat charts/*.tgz\n",
		     0);
	struct helm_template_req req = { 0 };
	struct gs_buf out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct stat st;
	char *p;
	bool hit = true;

	putf(fx, "deps/lib/Chart.yaml", "apiVersion: v2\nname: lib\nversion: 0.1.0\n");
	putf(fx, "deps/lib/version", "lib-v1\n");
	putf(fx, "deps/app/Chart.yaml",
	     "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n"
	     "- name: lib\n  version: 0.1.0\n  repository: file://../lib\n");
	req.root = fx->repo;
	req.chart = "deps/app";
	req.release_name = "app";
	req.dependency_build = true;
	assert_int_equal(helm_template(&out, &hit, r, &req, &err), 0);
	assert_false(hit);
	assert_non_null(strstr(out.ptr, "lib-v1"));
	p = gs_asprintf("%s/deps/app/charts", fx->repo);
	assert_int_not_equal(stat(p, &st), 0);
	free(p);
	p = gs_asprintf("%s/deps/app/Chart.lock", fx->repo);
	assert_int_not_equal(stat(p, &st), 0);
	free(p);
	assert_true(tmp_empty(fx));
	/* the dependency changed, the chart did not: rendered again */
	putf(fx, "deps/lib/version", "lib-v2\n");
	gs_buf_reset(&out);
	assert_int_equal(helm_template(&out, &hit, r, &req, &err), 0);
	assert_false(hit);
	assert_non_null(strstr(out.ptr, "lib-v2"));
	gs_buf_release(&out);
	helm_runner_free(r);
}

/* ---- the real helm ---- */

static char *real_helm(void)
{
	const char *env = getenv("GITSYNC_HELM"), *home = getenv("HOME");
	char *pat;
	glob_t g;
	char *found = NULL;

	if (env && *env && access(env, X_OK) == 0)
		return gs_strdup(env);
	if (!home)
		return NULL;
	pat = gs_asprintf("%s/.cache/gitsync/helm/*/helm", home);
	if (glob(pat, 0, NULL, &g) == 0) {
		if (g.gl_pathc && access(g.gl_pathv[g.gl_pathc - 1], X_OK) == 0)
			found = gs_strdup(g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
	}
	free(pat);
	return found;
}

static void test_helm__real_helm_renders_values_and_parameters(void **state)
{
	struct fx *fx = *state;
	char *bin = real_helm();
	struct helm_runner_opts o = { bin, 0, 0, 0, fx->tmp };
	struct helm_runner *r = NULL;
	const char *vf[] = { "../envs/prod.yaml" };
	struct helm_param p[] = { { "color", "red", false } };
	struct helm_template_req req = { 0 };
	struct gs_buf out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;

	if (!bin)
		skip();
	assert_int_equal(helm_runner_new(&r, &o, &err), 0);
	req.root = fx->repo;
	req.chart = "chart";
	req.release_name = "web";
	req.namespace = "team";
	req.value_files = vf;
	req.n_value_files = 1;
	req.params = p;
	req.n_params = 1;
	req.values = "replicas: 5\n";
	assert_int_equal(helm_template(&out, NULL, r, &req, &err), 0);
	assert_non_null(strstr(out.ptr, "name: web-cm"));
	assert_non_null(strstr(out.ptr, "replicas: \"5\""));  /* values win over files */
	assert_non_null(strstr(out.ptr, "color: \"red\""));   /* --set wins over all */
	/* a template error names the template and its line */
	putf(fx, "chart/templates/bad.yaml", "x: {{ required \"need x\" .Values.x }}\n");
	gs_buf_reset(&out);
	assert_int_equal(helm_template(&out, NULL, r, &req, &err), GS_ERR);
	assert_string_equal(err.where, "demo/templates/bad.yaml:1");
	assert_non_null(strstr(err.msg, "need x"));
	assert_true(tmp_empty(fx));
	gs_buf_release(&out);
	helm_runner_free(r);
	free(bin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helm__not_found_names_how_to_install),
		cmocka_unit_test_setup_teardown(test_helm__time_limit_stops_helm_and_its_children,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_helm__environment_is_scrubbed_to_a_private_home,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_helm__stderr_becomes_the_error_with_file_and_line, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_helm__value_file_outside_the_repository_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_helm__symlink_leaving_the_repository_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helm__missing_value_file_fails_unless_ignored,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_helm__memo_answers_an_unchanged_chart_without_a_run, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_helm__dependency_build_never_writes_into_the_repository, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helm__real_helm_renders_values_and_parameters,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
