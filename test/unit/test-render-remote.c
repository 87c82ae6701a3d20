/* test-render-remote.c - remote resources in the agent's renders: the
 * render child (`gitsync render --framed`) asks the agent for each remote
 * over a pipe and the agent's loader decides and fetches; a project allows
 * a remote base only when its sourceRepos list the repository. */
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

#include "app/app.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-object.h"
#include "mf-yaml.h"
#include "render/render.h"

struct fake {
	char *top;
	unsigned calls;
	bool refuse;
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

static int fake_loader(void *arg, const struct kz_remote *rem, char **dir_out,
		       struct gs_error *err)
{
	struct fake *f = arg;

	f->calls++;
	if (strcmp(rem->repo_url, "https://git.example/org/repo") || strcmp(rem->ref, "v1.2.3") ||
	    strcmp(rem->path, "base"))
		return gs_error_set(err, GS_ENOTFOUND, "unexpected request %s %s %s", rem->repo_url,
				    rem->ref, rem->path);
	if (f->refuse)
		return gs_error_set(err, GS_EAUTH, "remote base repository '%s' is not permitted",
				    rem->repo_url);
	*dir_out = gs_asprintf("%s/repo", f->top);
	return GS_OK;
}

static void setup_tree(struct fake *f)
{
	char tmpl[] = "/tmp/test-render-remote-XXXXXX";

	memset(f, 0, sizeof(*f));
	assert_non_null(mkdtemp(tmpl));
	f->top = gs_strdup(tmpl);
	put(f->top, "repo/base/kustomization.yaml", "resources:\n- cm.yaml\n");
	put(f->top, "repo/base/cm.yaml",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"1\"\n");
	put(f->top, "app/kustomization.yaml",
	    "namePrefix: p-\nresources:\n- https://git.example/org/repo//base?ref=v1.2.3\n");
}

static void teardown_tree(struct fake *f)
{
	char *cmd = gs_asprintf("rm -rf '%s'", f->top);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->top);
}

static void test_render_remote__the_child_asks_the_agent(void **state)
{
	const char *exe = getenv("GITSYNC");
	struct fake f;
	struct render_limits lim;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *root;
	int pass;
	(void)state;

	if (!exe || access(exe, X_OK) != 0)
		skip();
	setup_tree(&f);
	root = gs_asprintf("%s/app", f.top);
	/* in a child, then in process: the same answers */
	for (pass = 0; pass < 2; pass++) {
		memset(&lim, 0, sizeof(lim));
		lim.exe = pass ? NULL : exe;
		/* no address-space limit: a sanitizer build reserves terabytes */
		lim.max_memory = SIZE_MAX;
		lim.remote = fake_loader;
		lim.remote_arg = &f;
		f.refuse = false;
		f.calls = 0;
		if (render_run(&out, &lim, root, "", false, NULL, &err) != GS_OK)
			fail_msg("pass %d: %s: %s", pass, err.where, err.msg);
		assert_int_equal(out.docs.n, 1);
		assert_string_equal(mf_obj_name(out.docs.docs[0]), "p-cm");
		assert_int_equal(f.calls, 1);
		kz_output_release(&out);

		/* refused: the agent's message, at the kustomization's entry */
		f.refuse = true;
		assert_int_equal(render_run(&out, &lim, root, "", false, NULL, &err), GS_EAUTH);
		assert_non_null(strstr(err.msg, "not permitted"));
		assert_non_null(strstr(err.msg, "https://git.example/org/repo//base?ref=v1.2.3"));
		assert_non_null(strstr(err.where, "app/kustomization.yaml:3"));
		assert_int_equal(out.docs.n, 0);

		/* no loader: refused */
		lim.remote = NULL;
		assert_int_equal(render_run(&out, &lim, root, "", false, NULL, &err), GS_EINVAL);
		assert_non_null(strstr(err.msg, "not allowed"));
		kz_output_release(&out);
	}
	free(root);
	teardown_tree(&f);
}

/* helmCharts: the render child asks the agent, which runs the helm hook;
 * every field crosses the pipe intact and a large answer arrives whole. */
struct fake_helm {
	unsigned calls;
	bool fail;
	struct gs_buf answer;
};

static int fake_helm(void *arg, const struct kz_helm_chart *c, struct gs_buf *out,
		     struct gs_error *err)
{
	struct fake_helm *f = arg;

	f->calls++;
	assert_string_equal(c->chart_dir, "charts/demo");
	assert_string_equal(c->name, "demo");
	assert_string_equal(c->release_name, "rel");
	assert_string_equal(c->namespace, "");
	assert_string_equal(c->values, "a: 1\nb:\n  c: two words\n");
	assert_int_equal(c->n_values_files, 2);
	assert_string_equal(c->values_files[0], "v1.yaml");
	assert_string_equal(c->values_files[1], "sub/v2.yaml");
	assert_int_equal(c->n_api_versions, 1);
	assert_string_equal(c->api_versions[0], "x.io/v1");
	assert_string_equal(c->kube_version, "1.30.0");
	assert_true(c->include_crds && !c->skip_tests && c->skip_hooks);
	assert_non_null(strstr(c->kustomization, "kustomization.yaml"));
	assert_true(c->root[0] == '/');
	if (f->fail)
		return gs_error_set(err, GS_ERR, "helm: template: demo/templates/a.yaml:1: boom");
	gs_buf_add(out, f->answer.ptr, f->answer.len);
	return GS_OK;
}

static void test_render_remote__helm_charts_go_through_the_agent(void **state)
{
	const char *exe = getenv("GITSYNC");
	struct fake_helm f = { 0, false, GS_BUF_INIT };
	struct render_limits lim;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char tmpl[] = "/tmp/test-render-helm-XXXXXX", *cmd;
	int pass, i;
	(void)state;

	if (!exe || access(exe, X_OK) != 0)
		skip();
	assert_non_null(mkdtemp(tmpl));
	put(tmpl, "kustomization.yaml",
	    "namePrefix: p-\nhelmCharts:\n- name: demo\n  releaseName: rel\n"
	    "  additionalValuesFiles: [v1.yaml, sub/v2.yaml]\n  apiVersions: [x.io/v1]\n"
	    "  kubeVersion: 1.30.0\n  includeCRDs: true\n  skipHooks: true\n");
	put(tmpl, "v1.yaml", "x: 1\n");
	put(tmpl, "sub/v2.yaml", "y: 1\n");
	put(tmpl, "charts/demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 1.0.0\n");
	put(tmpl, "charts/demo/values.yaml", "a: 1\nb:\n  c: two words\n");
	/* more than a pipe's buffer */
	for (i = 0; i < 3000; i++)
		gs_buf_printf(&f.answer, "---\n# Source: demo/templates/cm.yaml\napiVersion: v1\n"
					 "kind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  k: v\n", i);
	for (pass = 0; pass < 2; pass++) {
		memset(&lim, 0, sizeof(lim));
		lim.exe = pass ? NULL : exe;
		lim.max_memory = SIZE_MAX;
		lim.helm = fake_helm;
		lim.helm_arg = &f;
		f.calls = 0;
		f.fail = false;
		if (render_run(&out, &lim, tmpl, "", false, NULL, &err) != GS_OK)
			fail_msg("pass %d: %s: %s", pass, err.where, err.msg);
		assert_int_equal(f.calls, 1);
		assert_int_equal(out.docs.n, 3000);
		assert_string_equal(mf_obj_name(out.docs.docs[0]), "p-cm-0");
		kz_output_release(&out);

		/* helm fails: its message, the chart and the kustomization's line */
		f.fail = true;
		assert_int_equal(render_run(&out, &lim, tmpl, "", false, NULL, &err), GS_ERR);
		assert_non_null(strstr(err.msg, "helmCharts 'demo'"));
		assert_non_null(strstr(err.msg, "boom"));
		assert_non_null(strstr(err.where, "kustomization.yaml:3"));
		assert_int_equal(out.docs.n, 0);

		/* no helm in the agent: refused, saying how to enable it */
		lim.helm = NULL;
		assert_int_equal(render_run(&out, &lim, tmpl, "", false, NULL, &err), GS_EINVAL);
		assert_non_null(strstr(err.msg, "--enable-helm"));
		kz_output_release(&out);
	}
	gs_buf_release(&f.answer);
	cmd = gs_asprintf("rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* helmCharts with a repo and no chart in the tree: the render child asks
 * the agent to pull ('P'), then to render the chart from the directory the
 * agent gave; the chart's values.yaml is read from there. */
struct fake_pull {
	unsigned calls;
	char *dir;
	bool fail;
};

static int fake_pull(void *arg, const struct kz_chart_pull *req, char **root_out,
		     char **chart_out, struct gs_error *err)
{
	struct fake_pull *p = arg;

	p->calls++;
	assert_string_equal(req->name, "demo");
	assert_string_equal(req->repo, "https://charts.example.com");
	assert_string_equal(req->version, "^1.0");
	assert_non_null(strstr(req->kustomization, "kustomization.yaml"));
	if (p->fail)
		return gs_error_set(err, GS_ENOTFOUND, "GET https://charts.example.com/index.yaml: "
						       "HTTP 404");
	*root_out = gs_strdup(p->dir);
	*chart_out = gs_strdup("demo");
	return GS_OK;
}

struct pulled_helm {
	unsigned calls;
	const char *root;
};

static int pulled_helm(void *arg, const struct kz_helm_chart *c, struct gs_buf *out,
		       struct gs_error *err)
{
	struct pulled_helm *h = arg;

	(void)err;
	h->calls++;
	assert_string_equal(c->chart_root, h->root);
	assert_string_equal(c->chart_dir, "demo");
	assert_string_equal(c->values, "pulled: true\n");
	gs_buf_puts(out, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pulled\n");
	return GS_OK;
}

static void test_render_remote__charts_are_pulled_by_the_agent(void **state)
{
	const char *exe = getenv("GITSYNC");
	struct fake_pull p = { 0, NULL, false };
	struct pulled_helm h = { 0, NULL };
	struct render_limits lim;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char tree[] = "/tmp/test-render-pull-XXXXXX", cache[] = "/tmp/test-render-cache-XXXXXX";
	char *cmd;
	int pass;
	(void)state;

	if (!exe || access(exe, X_OK) != 0)
		skip();
	assert_non_null(mkdtemp(tree));
	assert_non_null(mkdtemp(cache));
	p.dir = cache;
	h.root = cache;
	put(tree, "kustomization.yaml",
	    "helmCharts:\n- name: demo\n  repo: https://charts.example.com\n  version: ^1.0\n");
	put(cache, "demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 1.2.0\n");
	put(cache, "demo/values.yaml", "pulled: true\n");
	for (pass = 0; pass < 2; pass++) {
		memset(&lim, 0, sizeof(lim));
		lim.exe = pass ? NULL : exe;
		lim.max_memory = SIZE_MAX;
		lim.helm = pulled_helm;
		lim.helm_arg = &h;
		lim.pull = fake_pull;
		lim.pull_arg = &p;
		p.calls = h.calls = 0;
		p.fail = false;
		if (render_run(&out, &lim, tree, "", false, NULL, &err) != GS_OK)
			fail_msg("pass %d: %s: %s", pass, err.where, err.msg);
		assert_int_equal(p.calls, 1);
		assert_int_equal(h.calls, 1);
		assert_int_equal(out.docs.n, 1);
		assert_string_equal(mf_obj_name(out.docs.docs[0]), "pulled");
		kz_output_release(&out);

		/* the pull fails: the kustomization, chart, repo and status */
		p.fail = true;
		assert_int_equal(render_run(&out, &lim, tree, "", false, NULL, &err),
				 GS_ENOTFOUND);
		assert_non_null(strstr(err.msg, "helmCharts 'demo': pull from repo "
						"'https://charts.example.com' version ^1.0"));
		assert_non_null(strstr(err.msg, "HTTP 404"));
		assert_non_null(strstr(err.where, "kustomization.yaml:2"));
		assert_int_equal(h.calls, 1);

		/* no puller: the chart must be vendored, as before */
		lim.pull = NULL;
		assert_int_equal(render_run(&out, &lim, tree, "", false, NULL, &err),
				 GS_ENOTFOUND);
		assert_non_null(strstr(err.msg, "does not pull charts"));
		kz_output_release(&out);
	}
	cmd = gs_asprintf("rm -rf '%s' '%s'", tree, cache);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void test_render_remote__projects_allow_listed_repositories_only(void **state)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct gs_error err = GS_ERROR_INIT;
	const char *y = "apiVersion: gitsync.io/v1alpha1\nkind: Project\n"
			"metadata: {name: team-a, namespace: gitsync}\n"
			"spec:\n  sourceRepos:\n  - https://git.example/team-a/*\n"
			"  - '!https://git.example/team-a/secret*'\n";
	(void)state;

	assert_int_equal(mf_yaml_parse(&docs, y, strlen(y), "p.yaml", NULL, &err), GS_OK);
	assert_int_equal(app_remote_allowed(docs.docs[0], "https://git.example/team-a/bases", &err),
			 GS_OK);
	assert_int_equal(app_remote_allowed(docs.docs[0], "https://git.example/team-b/bases", &err),
			 GS_EAUTH);
	assert_non_null(strstr(err.msg, "project 'team-a'"));
	assert_non_null(strstr(err.msg, "sourceRepos"));
	assert_int_equal(app_remote_allowed(docs.docs[0], "https://git.example/team-a/secrets",
					    &err),
			 GS_EAUTH);
	/* credentials in the URL never reach the message */
	assert_int_equal(app_remote_allowed(docs.docs[0], "https://u:hunter2@git.example/x/y", &err),
			 GS_EAUTH);
	assert_null(strstr(err.msg, "hunter2"));
	mf_docs_release(&docs);
}

/* The memo of child renders (issue 20): the same root, path and limits are
 * answered from the kept output, with the same objects and positions; a
 * refresh, other limits or a render that fetched a remote run a child; the
 * least recently used set is dropped at the bound. */
static void test_render_remote__memo_runs_one_child_per_root(void **state)
{
	const char *exe = getenv("GITSYNC");
	struct fake f;
	struct render_limits lim;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct render_memo *memo = render_memo_new(2, 1 << 20);
	char *root, *app, *other;
	bool hit = false;
	unsigned line = 0;
	int i;
	(void)state;

	if (!exe || access(exe, X_OK) != 0) {
		render_memo_free(memo);
		skip();
	}
	setup_tree(&f);
	put(f.top, "plain/cm.yaml",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: \"1\"\n"
	    "---\n"
	    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n");
	put(f.top, "other/cm.yaml",
	    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n");
	root = gs_asprintf("%s/plain", f.top);
	app = gs_asprintf("%s/app", f.top);
	other = gs_asprintf("%s/other", f.top);
	memset(&lim, 0, sizeof(lim));
	lim.exe = exe;
	lim.max_memory = SIZE_MAX;
	lim.remote = fake_loader;
	lim.remote_arg = &f;
	lim.memo = memo;
	lim.memo_hit = &hit;
	for (i = 0; i < 2; i++) {
		if (render_run(&out, &lim, root, "", false, NULL, &err) != GS_OK)
			fail_msg("render %d: %s", i, err.msg);
		assert_int_equal(hit, i == 1);
		assert_int_equal(out.docs.n, 2);
		assert_string_equal(mf_obj_name(out.docs.docs[1]), "second");
		/* the memo's answer carries the child's positions */
		if (i == 0)
			line = mf_node_pos(out.docs.docs[1])->line;
		assert_int_equal(mf_node_pos(out.docs.docs[1])->line, line);
		assert_non_null(strstr(mf_node_pos(out.docs.docs[1])->file, "cm.yaml"));
		kz_output_release(&out);
	}
	/* a refresh renders afresh */
	lim.memo_refresh = true;
	assert_int_equal(render_run(&out, &lim, root, "", false, NULL, &err), GS_OK);
	assert_false(hit);
	kz_output_release(&out);
	lim.memo_refresh = false;
	/* other limits are another render */
	lim.budget.max_nodes = 12345;
	assert_int_equal(render_run(&out, &lim, root, "", false, NULL, &err), GS_OK);
	assert_false(hit);
	kz_output_release(&out);
	lim.budget.max_nodes = 0;
	/* a render that asked for a remote is never kept: the loader decides
	 * (and a remote ref may move) every time */
	for (i = 0; i < 2; i++) {
		f.calls = 0;
		assert_int_equal(render_run(&out, &lim, app, "", false, NULL, &err), GS_OK);
		assert_false(hit);
		assert_int_equal(f.calls, 1);
		kz_output_release(&out);
	}
	/* bound 2 sets: root (limits 0) and root (12345) are kept; other
	 * drops the least recently used, root (limits 0) */
	assert_int_equal(render_run(&out, &lim, other, "", false, NULL, &err), GS_OK);
	assert_false(hit);
	kz_output_release(&out);
	assert_int_equal(render_run(&out, &lim, other, "", false, NULL, &err), GS_OK);
	assert_true(hit);
	kz_output_release(&out);
	assert_int_equal(render_run(&out, &lim, root, "", false, NULL, &err), GS_OK);
	assert_false(hit);
	kz_output_release(&out);
	/* a failed render is not kept */
	put(f.top, "bad/cm.yaml", "apiVersion: v1\nkind: [\n");
	free(other);
	other = gs_asprintf("%s/bad", f.top);
	for (i = 0; i < 2; i++) {
		assert_true(render_run(&out, &lim, other, "", false, NULL, &err) < 0);
		assert_false(hit);
		assert_int_equal(out.docs.n, 0);
	}
	render_memo_free(memo);
	free(root);
	free(app);
	free(other);
	teardown_tree(&f);
}

/* A sanitizer's runtime reserves terabytes of address space: under one, an
 * address-space limit stops any child at its start. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

/* The child is started with posix_spawn and sets its own address-space
 * limit before reading anything: a render that needs more than
 * --render-max-memory fails with the limit named, and the same render
 * without the limit passes (the limit, not the input, stopped it). */
static void test_render_remote__the_child_holds_its_memory_limit(void **state)
{
	(void)state;
#ifdef UNDER_SANITIZER
	/* not skip(): meson counts cmocka's "not ok # SKIP" as a failure */
	print_message("# not run under a sanitizer (its address-space reservation)\n");
#else
	{
		const char *exe = getenv("GITSYNC");
		struct fake f;
		struct render_limits lim;
		struct kz_output out = KZ_OUTPUT_INIT;
		struct gs_error err = GS_ERROR_INIT;
		struct gs_buf big = GS_BUF_INIT;
		size_t i;

		if (!exe || access(exe, X_OK) != 0)
			skip();
		setup_tree(&f);
		/* 60,000 ConfigMaps, 20 MB of YAML: more than 96 MiB to render,
		 * against a limit of 24 MiB */
		for (i = 0; i < 60000; i++)
			gs_buf_printf(&big, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "
					    "cm-%zu\ndata:\n  v: \"%0200zu\"\n", i, i);
		put(f.top, "c/app/big.yaml", big.ptr);
		gs_buf_release(&big);
		memset(&lim, 0, sizeof(lim));
		lim.exe = exe;
		lim.max_memory = 24u << 20;
		{
			char *root = gs_asprintf("%s/c", f.top);

			assert_int_equal(render_run(&out, &lim, root, "app", false, NULL, &err), GS_ELIMIT);
			assert_non_null(strstr(err.msg, "render-max-memory"));
			kz_output_release(&out);
			gs_error_clear(&err);
			lim.max_memory = SIZE_MAX;
			if (render_run(&out, &lim, root, "app", false, NULL, &err))
				fail_msg("%s", err.msg);
			assert_int_equal(out.docs.n, 60000);
			kz_output_release(&out);
			free(root);
		}
		teardown_tree(&f);
	}
#endif
}

/* Issue 20: a plain directory is memoized by what its render reads, so
 * the same files in the next commit's export run no child, named under
 * the new export; a changed file, a symlink or a kustomization (which may
 * read outside the directory) does not share a render across roots. */
static void test_render_remote__memo_by_content_serves_the_next_commit(void **state)
{
	const char *exe = getenv("GITSYNC");
	struct fake f;
	struct render_limits lim;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct render_memo *memo = render_memo_new(64, 1 << 20);
	char k1[65], k2[65], *c1, *c2, *c3, *link;
	bool hit = false;
	(void)state;

	if (!exe || access(exe, X_OK) != 0) {
		render_memo_free(memo);
		skip();
	}
	setup_tree(&f);
	/* three commits' exports of one path; c3 changed a value */
	put(f.top, "c1/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n");
	put(f.top, "c1/app/sub/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
	put(f.top, "c2/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n");
	put(f.top, "c2/app/sub/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n");
	put(f.top, "c3/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n");
	c1 = gs_asprintf("%s/c1", f.top);
	c2 = gs_asprintf("%s/c2", f.top);
	c3 = gs_asprintf("%s/c3", f.top);

	/* the key: same files, same key; a subdirectory counts only with recurse */
	{
		char *d1 = gs_asprintf("%s/app", c1), *d2 = gs_asprintf("%s/app", c2);

		assert_true(render_content_key(k1, d1, false));
		assert_true(render_content_key(k2, d2, false));
		assert_string_equal(k1, k2);
		assert_true(render_content_key(k1, d1, true));
		assert_true(render_content_key(k2, d2, true));
		assert_string_not_equal(k1, k2);
		free(d1);
		free(d2);
	}

	memset(&lim, 0, sizeof(lim));
	lim.exe = exe;
	lim.max_memory = SIZE_MAX;
	lim.memo = memo;
	lim.memo_hit = &hit;
	lim.content_key = render_content_key;
	assert_int_equal(render_run(&out, &lim, c1, "app", false, NULL, &err), GS_OK);
	assert_false(hit);
	kz_output_release(&out);
	/* the next commit, same files: no child, the objects named in c2 */
	assert_int_equal(render_run(&out, &lim, c2, "app", false, NULL, &err), GS_OK);
	assert_true(hit);
	assert_int_equal(out.docs.n, 1);
	assert_string_equal(mf_obj_name(out.docs.docs[0]), "a");
	assert_true(strncmp(mf_node_pos(out.docs.docs[0])->file, c2, strlen(c2)) == 0);
	assert_non_null(strstr(mf_node_pos(out.docs.docs[0])->file, "/app/cm.yaml"));
	kz_output_release(&out);
	/* recursing reads sub/: c1 and c2 differ there */
	assert_int_equal(render_run(&out, &lim, c1, "app", true, NULL, &err), GS_OK);
	assert_false(hit);
	kz_output_release(&out);
	assert_int_equal(render_run(&out, &lim, c2, "app", true, NULL, &err), GS_OK);
	assert_false(hit);
	assert_int_equal(out.docs.n, 2);
	kz_output_release(&out);
	/* a changed file: rendered afresh, its new value */
	assert_int_equal(render_run(&out, &lim, c3, "app", false, NULL, &err), GS_OK);
	assert_false(hit);
	assert_string_equal(mf_obj_name(out.docs.docs[0]), "b");
	kz_output_release(&out);
	/* a symlink (it may point anywhere in the export) or a kustomization:
	 * no content key, so each root renders */
	link = gs_asprintf("%s/c3/app/link.yaml", f.top);
	assert_int_equal(symlink("cm.yaml", link), 0);
	free(link);
	link = gs_asprintf("%s/c3/app", f.top);
	assert_false(render_content_key(k1, link, false));
	free(link);
	put(f.top, "c1/k/kustomization.yaml", "resources:\n- cm.yaml\n");
	put(f.top, "c1/k/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: k\n");
	put(f.top, "c2/k/kustomization.yaml", "resources:\n- cm.yaml\n");
	put(f.top, "c2/k/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: k\n");
	assert_int_equal(render_run(&out, &lim, c1, "k", false, NULL, &err), GS_OK);
	kz_output_release(&out);
	assert_int_equal(render_run(&out, &lim, c2, "k", false, NULL, &err), GS_OK);
	assert_false(hit);
	kz_output_release(&out);
	render_memo_free(memo);
	free(c1);
	free(c2);
	free(c3);
	teardown_tree(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_remote__the_child_asks_the_agent),
		cmocka_unit_test(test_render_remote__memo_by_content_serves_the_next_commit),
		cmocka_unit_test(test_render_remote__helm_charts_go_through_the_agent),
		cmocka_unit_test(test_render_remote__charts_are_pulled_by_the_agent),
		cmocka_unit_test(test_render_remote__projects_allow_listed_repositories_only),
		cmocka_unit_test(test_render_remote__memo_runs_one_child_per_root),
		cmocka_unit_test(test_render_remote__the_child_holds_its_memory_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
