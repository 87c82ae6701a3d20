/* test-webhook.c - forge detection, signatures, push payloads, URL matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "gs-alloc.h"
#include "httpd/webhook.h"

/* A request's headers as a NULL-terminated name/value list. */
struct hdrs {
	const char *kv[16];
};

static const char *hdr(void *payload, const char *name)
{
	struct hdrs *h = payload;
	size_t i;

	for (i = 0; h->kv[i]; i += 2)
		if (!strcasecmp(h->kv[i], name))
			return h->kv[i + 1];
	return NULL;
}

static const char github_push[] =
	"{\"ref\":\"refs/heads/main\",\"before\":\"0000000000000000000000000000000000000000\","
	"\"after\":\"90ad8c7a1b2c3d4e5f60718293a4b5c6d7e8f901\",\"repository\":{"
	"\"full_name\":\"Acme/Deploy\",\"html_url\":\"https://github.com/Acme/Deploy\","
	"\"clone_url\":\"https://github.com/Acme/Deploy.git\","
	"\"ssh_url\":\"git@github.com:Acme/Deploy.git\",\"default_branch\":\"main\"},"
	"\"commits\":[]}";

static void test_webhook__hmac_matches_github_documented_vector(void **state)
{
	char hex[65];
	(void)state;

	/* The example in GitHub's "Validating webhook deliveries". */
	webhook_hmac_sha256_hex(hex, "It's a Secret to Everybody", 26, "Hello, World!", 13);
	assert_string_equal(hex, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

static void test_webhook__detect_prefers_gitea_over_its_github_compat_header(void **state)
{
	struct hdrs gitea = { { "X-GitHub-Event", "push", "X-Gitea-Event", "push", NULL } };
	struct hdrs forgejo = { { "X-Forgejo-Event", "push", NULL } };
	struct hdrs gh = { { "X-GitHub-Event", "push", NULL } };
	struct hdrs gl = { { "X-Gitlab-Event", "Push Hook", NULL } };
	struct hdrs bb = { { "X-Event-Key", "repo:refs_changed", NULL } };
	struct hdrs none = { { "User-Agent", "curl", NULL } };
	(void)state;

	assert_int_equal(webhook_detect(hdr, &gitea), WEBHOOK_GITEA);
	assert_int_equal(webhook_detect(hdr, &forgejo), WEBHOOK_GITEA);
	assert_int_equal(webhook_detect(hdr, &gh), WEBHOOK_GITHUB);
	assert_int_equal(webhook_detect(hdr, &gl), WEBHOOK_GITLAB);
	assert_int_equal(webhook_detect(hdr, &bb), WEBHOOK_BITBUCKET_SERVER);
	assert_int_equal(webhook_detect(hdr, &none), WEBHOOK_UNKNOWN);
	assert_string_equal(webhook_event(WEBHOOK_GITEA, hdr, &forgejo), "push");
}

static void test_webhook__github_signature_right_wrong_missing(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	char hex[65], sig[80], upper[80];
	struct hdrs ok = { { "X-GitHub-Event", "push", "X-Hub-Signature-256", sig, NULL } };
	struct hdrs up = { { "X-GitHub-Event", "push", "X-Hub-Signature-256", upper, NULL } };
	struct hdrs sha1 = { { "X-GitHub-Event", "push", "X-Hub-Signature",
			       "sha1=0000000000000000000000000000000000000000", NULL } };
	size_t i;
	(void)state;

	webhook_hmac_sha256_hex(hex, "s3cret", 6, github_push, strlen(github_push));
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	for (i = 0; sig[i]; i++)
		upper[i] = (char)(i >= 7 && sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
	upper[i] = '\0';
	assert_int_equal(webhook_verify(WEBHOOK_GITHUB, "s3cret", hdr, &ok, github_push,
					strlen(github_push), &err), 0);
	assert_int_equal(webhook_verify(WEBHOOK_GITHUB, "s3cret", hdr, &up, github_push,
					strlen(github_push), &err), 0);
	/* wrong secret, tampered body, truncated signature */
	assert_int_equal(webhook_verify(WEBHOOK_GITHUB, "other", hdr, &ok, github_push,
					strlen(github_push), &err), GS_EAUTH);
	assert_null(strstr(err.msg, hex)); /* never says what was expected */
	assert_int_equal(webhook_verify(WEBHOOK_GITHUB, "s3cret", hdr, &ok, github_push,
					strlen(github_push) - 1, &err), GS_EAUTH);
	sig[40] = '\0';
	assert_int_equal(webhook_verify(WEBHOOK_GITHUB, "s3cret", hdr, &ok, github_push,
					strlen(github_push), &err), GS_EAUTH);
	/* only the old SHA-1 header: missing */
	assert_int_equal(webhook_verify(WEBHOOK_GITHUB, "s3cret", hdr, &sha1, github_push,
					strlen(github_push), &err), GS_EAUTH);
	assert_non_null(strstr(err.msg, "missing X-Hub-Signature-256"));
	/* no secret configured: refused, not trusted */
	assert_int_equal(webhook_verify(WEBHOOK_GITHUB, "", hdr, &ok, github_push,
					strlen(github_push), &err), GS_EAUTH);
	assert_int_equal(webhook_verify(WEBHOOK_GITHUB, NULL, hdr, &ok, github_push,
					strlen(github_push), &err), GS_EAUTH);
}

static void test_webhook__gitlab_gitea_bitbucket_signatures(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	const char *body = "{}";
	char hex[65], bbsig[80];
	struct hdrs gl = { { "X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", "tok", NULL } };
	struct hdrs gl_bad = { { "X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", "tok2", NULL } };
	struct hdrs gl_none = { { "X-Gitlab-Event", "Push Hook", NULL } };
	struct hdrs gt = { { "X-Gitea-Event", "push", "X-Gitea-Signature", hex, NULL } };
	struct hdrs fj = { { "X-Forgejo-Event", "push", "X-Forgejo-Signature", hex, NULL } };
	struct hdrs gt_prefixed = { { "X-Gitea-Event", "push", "X-Gitea-Signature", bbsig, NULL } };
	struct hdrs bb = { { "X-Event-Key", "repo:refs_changed", "X-Hub-Signature", bbsig, NULL } };
	struct hdrs bb_hex = { { "X-Event-Key", "repo:refs_changed", "X-Hub-Signature", hex, NULL } };
	(void)state;

	assert_int_equal(webhook_verify(WEBHOOK_GITLAB, "tok", hdr, &gl, body, 2, &err), 0);
	assert_int_equal(webhook_verify(WEBHOOK_GITLAB, "tok", hdr, &gl_bad, body, 2, &err), GS_EAUTH);
	assert_int_equal(webhook_verify(WEBHOOK_GITLAB, "tok", hdr, &gl_none, body, 2, &err),
			 GS_EAUTH);
	webhook_hmac_sha256_hex(hex, "k", 1, body, 2);
	snprintf(bbsig, sizeof(bbsig), "sha256=%s", hex);
	assert_int_equal(webhook_verify(WEBHOOK_GITEA, "k", hdr, &gt, body, 2, &err), 0);
	assert_int_equal(webhook_verify(WEBHOOK_GITEA, "k", hdr, &fj, body, 2, &err), 0);
	/* Gitea signs bare hex; a prefixed value is not its format */
	assert_int_equal(webhook_verify(WEBHOOK_GITEA, "k", hdr, &gt_prefixed, body, 2, &err),
			 GS_EAUTH);
	assert_int_equal(webhook_verify(WEBHOOK_GITEA, "x", hdr, &gt, body, 2, &err), GS_EAUTH);
	assert_int_equal(webhook_verify(WEBHOOK_BITBUCKET_SERVER, "k", hdr, &bb, body, 2, &err), 0);
	assert_int_equal(webhook_verify(WEBHOOK_BITBUCKET_SERVER, "k", hdr, &bb_hex, body, 2, &err),
			 GS_EAUTH);
}

static void test_webhook__github_push_payload_and_form_encoding(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct webhook_push *p = NULL;
	const char *form = "payload=%7B%22ref%22%3A%22refs%2Ftags%2Fv1.2%22%2C%22repository%22%3A"
			   "%7B%22clone_url%22%3A%22https%3A%2F%2Fgithub.com%2Fa%2Fb.git%22%7D%7D";
	(void)state;

	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITHUB, "push", github_push,
					    strlen(github_push), &err), 0);
	assert_non_null(p);
	assert_int_equal(p->nurls, 3);
	assert_string_equal(p->default_branch, "main");
	assert_int_equal(p->nrefs, 1);
	assert_string_equal(p->refs[0].branch, "main");
	assert_string_equal(p->refs[0].after, "90ad8c7a1b2c3d4e5f60718293a4b5c6d7e8f901");
	webhook_push_free(p);

	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITHUB, "push", form, strlen(form), &err), 0);
	assert_non_null(p);
	assert_string_equal(p->repo_urls[0], "https://github.com/a/b.git");
	assert_string_equal(p->refs[0].tag, "v1.2");
	assert_null(p->refs[0].branch);
	webhook_push_free(p);
}

static void test_webhook__non_push_event_is_ignored_and_malformed_json_rejected(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct webhook_push *p = (struct webhook_push *)1;
	static const char *bad[] = { "{", "[]", "\"x\"", "{\"ref\":\"refs/heads/main\"}",
				     "{\"repository\":{\"clone_url\":7}}", "" };
	size_t i;
	(void)state;

	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITHUB, "ping", "{\"zen\":1}", 9, &err), 0);
	assert_null(p);
	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITHUB, NULL, "{", 1, &err), 0);
	assert_null(p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITHUB, "push", bad[i],
						    strlen(bad[i]), &err),
				 GS_EINVAL);
		assert_null(p);
	}
}

static void test_webhook__gitlab_and_bitbucket_server_payloads(void **state)
{
	static const char gl[] =
		"{\"object_kind\":\"push\",\"ref\":\"refs/heads/dev\",\"after\":\"abc\","
		"\"project\":{\"git_http_url\":\"https://gitlab.example.com/grp/sub/app.git\","
		"\"git_ssh_url\":\"git@gitlab.example.com:grp/sub/app.git\",\"default_branch\":\"main\"}}";
	static const char bb[] =
		"{\"eventKey\":\"repo:refs_changed\",\"repository\":{\"slug\":\"app\",\"links\":{\"clone\":["
		"{\"href\":\"ssh://git@bitbucket.example.com:7999/proj/app.git\",\"name\":\"ssh\"},"
		"{\"href\":\"https://bitbucket.example.com/scm/proj/app.git\",\"name\":\"http\"}]}},"
		"\"changes\":[{\"ref\":{\"id\":\"refs/heads/master\",\"type\":\"BRANCH\"},\"toHash\":\"f00\"},"
		"{\"ref\":{\"id\":\"refs/tags/v2\",\"type\":\"TAG\"},\"toHash\":\"f01\"}]}";
	struct gs_error err = GS_ERROR_INIT;
	struct webhook_push *p = NULL;
	(void)state;

	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITLAB, "Push Hook", gl, strlen(gl), &err), 0);
	assert_int_equal(p->nurls, 2);
	assert_true(webhook_push_matches(p, "https://GitLab.example.com/grp/sub/app", "dev"));
	assert_true(webhook_push_matches(p, "ssh://git@gitlab.example.com/grp/sub/app.git",
					 "refs/heads/dev"));
	assert_false(webhook_push_matches(p, "https://gitlab.example.com/grp/sub/app", "main"));
	assert_false(webhook_push_matches(p, "https://gitlab.example.com/grp/sub/app", "HEAD"));
	assert_false(webhook_push_matches(p, "https://gitlab.example.com/grp/app", "dev"));
	webhook_push_free(p);

	assert_int_equal(webhook_parse_push(&p, WEBHOOK_BITBUCKET_SERVER, "repo:refs_changed", bb,
					    strlen(bb), &err), 0);
	assert_int_equal(p->nrefs, 2);
	assert_true(webhook_push_matches(p, "https://bitbucket.example.com/scm/PROJ/app.git", "master"));
	assert_true(webhook_push_matches(p, "ssh://git@bitbucket.example.com:7999/proj/app", "v2"));
	/* no default branch in the payload: HEAD follows any branch push */
	assert_true(webhook_push_matches(p, "https://bitbucket.example.com/proj/app", ""));
	webhook_push_free(p);
}

static void test_webhook__repo_url_normalisation(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "https://github.com/Acme/Deploy.git", "github.com/acme/deploy" },
		{ "https://GITHUB.com/acme/deploy/", "github.com/acme/deploy" },
		{ "https://user:pw@github.com:443/acme/deploy.git/", "github.com/acme/deploy" },
		{ "git@github.com:acme/deploy.git", "github.com/acme/deploy" },
		{ "ssh://git@github.com:22/acme/deploy", "github.com/acme/deploy" },
		{ "git://github.com/acme/deploy.git", "github.com/acme/deploy" },
		{ "http://127.0.0.1:8080/repo.git", "127.0.0.1/repo" },
		{ "https://[::1]:8443/a/b", "[::1]/a/b" },
		{ "https://host/a/b?x=1", "host/a/b" },
		{ "file:///srv/git/Repo.git/", "file:/srv/git/Repo" },
		{ "/srv/git/Repo.git", "file:/srv/git/Repo" },
	};
	static const char *invalid[] = { "", "https://host/", "https:///x", "relative/path:x",
					 "file://relative", "/" };
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = webhook_repo_url_normalize(cases[i].in);
		assert_non_null(n);
		assert_string_equal(n, cases[i].want);
		free(n);
	}
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		assert_null(webhook_repo_url_normalize(invalid[i]));
	assert_true(webhook_repo_url_match("git@github.com:Acme/Deploy", "https://github.com/acme/deploy.git"));
	assert_false(webhook_repo_url_match("https://github.com/acme/deploy", "https://github.com/acme/deploy2"));
	assert_false(webhook_repo_url_match("https://github.com/acme/deploy", "https://gitlab.com/acme/deploy"));
	assert_true(webhook_repo_url_match("/srv/a.git", "file:///srv/a"));
	assert_false(webhook_repo_url_match("/srv/a", "/srv/b"));
}

static void test_webhook__target_revision_matching(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct webhook_push *p = NULL;
	const char *url = "https://github.com/acme/deploy";
	(void)state;

	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITHUB, "push", github_push,
					    strlen(github_push), &err), 0);
	assert_true(webhook_push_matches(p, url, "main"));
	assert_true(webhook_push_matches(p, url, "HEAD"));  /* main is the default branch */
	assert_true(webhook_push_matches(p, url, NULL));
	assert_true(webhook_push_matches(p, url, "refs/heads/main"));
	assert_false(webhook_push_matches(p, url, "dev"));
	assert_false(webhook_push_matches(p, url, "90ad8c7a1b2c3d4e5f60718293a4b5c6d7e8f901"));
	free(p->default_branch);
	p->default_branch = gs_strdup("trunk");
	assert_false(webhook_push_matches(p, url, "HEAD")); /* a push to a non-default branch */
	webhook_push_free(p);
}

static void test_webhook__changed_paths_filter_monorepo_refreshes(void **state)
{
	static const char gh[] =
		"{\"ref\":\"refs/heads/main\",\"repository\":{\"clone_url\":\"https://h/o/r\"},"
		"\"commits\":[{\"added\":[\"apps/web/new.yaml\"],\"modified\":[\"README.md\"],"
		"\"removed\":[]},{\"added\":[],\"modified\":[\"base/cm.yaml\"],\"removed\":[]}]}";
	static const char forced[] =
		"{\"ref\":\"refs/heads/main\",\"forced\":true,\"repository\":{\"clone_url\":\"https://h/o/r\"},"
		"\"commits\":[{\"added\":[],\"modified\":[\"README.md\"],\"removed\":[]}]}";
	static const char gl_cut[] =
		"{\"ref\":\"refs/heads/main\",\"total_commits_count\":30,\"project\":{\"git_http_url\":\"https://h/o/r\"},"
		"\"commits\":[{\"added\":[],\"modified\":[\"README.md\"],\"removed\":[]}]}";
	const char *web[] = { "apps/web" }, *db[] = { "/apps/db/", "./docs" }, *all[] = { "." };
	const char *webish[] = { "apps/we" };
	struct gs_error err = GS_ERROR_INIT;
	struct webhook_push *p = NULL;
	(void)state;

	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITHUB, "push", gh, strlen(gh), &err), 0);
	assert_true(p->paths_complete);
	assert_int_equal(p->npaths, 3);
	assert_true(webhook_push_touches(p, web, 1));
	assert_false(webhook_push_touches(p, db, 2));
	assert_false(webhook_push_touches(p, webish, 1)); /* a prefix is a directory */
	assert_true(webhook_push_touches(p, all, 1));
	webhook_push_free(p);
	/* forced pushes and cut commit lists never filter */
	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITHUB, "push", forced, strlen(forced), &err), 0);
	assert_true(webhook_push_touches(p, db, 2));
	webhook_push_free(p);
	assert_int_equal(webhook_parse_push(&p, WEBHOOK_GITLAB, "Push Hook", gl_cut, strlen(gl_cut), &err), 0);
	assert_true(webhook_push_touches(p, db, 2));
	webhook_push_free(p);
}

static void test_webhook__replay_filter_drops_repeated_delivery_ids(void **state)
{
	struct webhook_replay *r = webhook_replay_new(2);
	(void)state;

	assert_false(webhook_replay_seen(r, WEBHOOK_GITHUB, "d1"));
	assert_true(webhook_replay_seen(r, WEBHOOK_GITHUB, "d1"));
	assert_false(webhook_replay_seen(r, WEBHOOK_GITLAB, "d1")); /* per forge */
	assert_false(webhook_replay_seen(r, WEBHOOK_GITHUB, NULL));
	assert_false(webhook_replay_seen(r, WEBHOOK_GITHUB, NULL));
	assert_false(webhook_replay_seen(r, WEBHOOK_GITHUB, "d2")); /* evicts github/d1 */
	assert_false(webhook_replay_seen(r, WEBHOOK_GITHUB, "d1"));
	webhook_replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook__hmac_matches_github_documented_vector),
		cmocka_unit_test(test_webhook__detect_prefers_gitea_over_its_github_compat_header),
		cmocka_unit_test(test_webhook__github_signature_right_wrong_missing),
		cmocka_unit_test(test_webhook__gitlab_gitea_bitbucket_signatures),
		cmocka_unit_test(test_webhook__github_push_payload_and_form_encoding),
		cmocka_unit_test(test_webhook__non_push_event_is_ignored_and_malformed_json_rejected),
		cmocka_unit_test(test_webhook__gitlab_and_bitbucket_server_payloads),
		cmocka_unit_test(test_webhook__repo_url_normalisation),
		cmocka_unit_test(test_webhook__target_revision_matching),
		cmocka_unit_test(test_webhook__changed_paths_filter_monorepo_refreshes),
		cmocka_unit_test(test_webhook__replay_filter_drops_repeated_delivery_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
