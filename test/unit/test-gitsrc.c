/* test-gitsrc.c - the Git source cache against fixture repositories built
 * at test time with libgit2 in mkdtemp directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gitsrc/gitsrc-private.h"
#include "gitsrc/gitsrc.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-node.h"

struct fixture {
	char root[64];
	char *origin;  /* bare repository path */
	char *cache;
	git_repository *repo;
	struct gitsrc *src;
};

struct file {
	const char *path;
	const char *content;
	unsigned mode; /* 0 = regular */
};

/* Commit files (replacing the whole tree) on refs/heads/<branch>; parent is
 * the branch's current commit unless orphan.  Returns the commit id. */
static git_oid commit_files(git_repository *repo, const char *branch, const struct file *files,
			    size_t n, const char *message, bool orphan)
{
	git_index *idx = NULL;
	git_oid tree_oid, commit_oid, parent_oid;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	char ref[128];
	size_t i;

	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	assert_int_equal(git_index_new(&idx), 0);
	for (i = 0; i < n; i++) {
		git_index_entry e;

		memset(&e, 0, sizeof(e));
		e.path = files[i].path;
		e.mode = files[i].mode ? files[i].mode : GIT_FILEMODE_BLOB;
		assert_int_equal(git_blob_create_from_buffer(&e.id, repo, files[i].content,
							     strlen(files[i].content)), 0);
		assert_int_equal(git_index_add(idx, &e), 0);
	}
	assert_int_equal(git_index_write_tree_to(&tree_oid, idx, repo), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &tree_oid), 0);
	assert_int_equal(git_signature_new(&sig, "Test", "test@example.com", 1700000000, 0), 0);
	if (!orphan && git_reference_name_to_id(&parent_oid, repo, ref) == 0)
		assert_int_equal(git_commit_lookup(&parent, repo, &parent_oid), 0);
	if (orphan) {
		/* a force-push: move the branch to an unrelated commit */
		assert_int_equal(git_commit_create_v(&commit_oid, repo, NULL, sig, sig, NULL, message,
						     tree, 0), 0);
		git_reference *r = NULL;
		assert_int_equal(git_reference_create(&r, repo, ref, &commit_oid, 1, "force"), 0);
		git_reference_free(r);
	} else {
		assert_int_equal(git_commit_create_v(&commit_oid, repo, ref, sig, sig, NULL, message,
						     tree, parent ? 1 : 0, parent), 0);
	}
	git_commit_free(parent);
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	return commit_oid;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static const struct file base_files[] = {
	{ "kustomization.yaml", "resources:\n- cm.yaml\n", 0 },
	{ "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  k: v1\n", 0 },
	{ "sub/dir/deep.yaml", "a: 1\n", 0 },
	{ "run.sh", "#!/bin/sh\n", GIT_FILEMODE_BLOB_EXECUTABLE },
	{ "sub/link.yaml", "dir/deep.yaml", GIT_FILEMODE_LINK },
	{ "sub/escape.yaml", "../../../etc/passwd", GIT_FILEMODE_LINK },
};

static int setup(void **state)
{
	struct fixture *f = gs_calloc(1, sizeof(*f));
	struct gs_error err = GS_ERROR_INIT;
	git_repository *repo = NULL;

	git_libgit2_init();
	snprintf(f->root, sizeof(f->root), "/tmp/gs-gitsrc-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->origin = gs_asprintf("%s/origin.git", f->root);
	f->cache = gs_asprintf("%s/cache", f->root);
	assert_int_equal(git_repository_init(&repo, f->origin, 1), 0);
	/* the remote's HEAD names main, as a forge's default branch */
	assert_int_equal(git_repository_set_head(repo, "refs/heads/main"), 0);
	commit_files(repo, "main", base_files, sizeof(base_files) / sizeof(base_files[0]),
		     "first", false);
	f->repo = repo;
	assert_int_equal(gitsrc_new(&f->src, f->cache, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	gitsrc_free(f->src);
	git_repository_free(f->repo);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->origin);
	free(f->cache);
	free(f);
	git_libgit2_shutdown();
	return 0;
}

static char *slurp(const char *dir, const char *rel)
{
	struct gs_buf b = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *path = gs_asprintf("%s/%s", dir, rel);

	if (gs_buf_read_file(&b, path, &err) < 0) {
		free(path);
		gs_buf_release(&b);
		return NULL;
	}
	free(path);
	return gs_buf_detach(&b, NULL);
}

static void head_sha(char out[41], git_repository *repo, const char *ref)
{
	git_oid oid;

	assert_int_equal(git_reference_name_to_id(&oid, repo, ref), 0);
	git_oid_tostr(out, 41, &oid);
}

static void test_gitsrc__clones_and_exports_a_clean_read_only_tree(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char sha[41], *s;
	struct stat st;
	char *p;

	head_sha(sha, f->repo, "refs/heads/main");
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_string_equal(res.rev.sha, sha);
	assert_string_equal(res.rev.ref, "refs/heads/main");
	assert_true(res.fetched);
	assert_true(res.exported);
	assert_false(res.force_pushed);
	assert_non_null(strstr(res.dir, sha));

	s = slurp(res.dir, "cm.yaml");
	assert_non_null(s);
	assert_non_null(strstr(s, "k: v1"));
	free(s);
	s = slurp(res.dir, "sub/dir/deep.yaml");
	assert_string_equal(s, "a: 1\n");
	free(s);
	/* a link inside the tree is kept, one leading out of it is dropped */
	s = slurp(res.dir, "sub/link.yaml");
	assert_string_equal(s, "a: 1\n");
	free(s);
	p = gs_asprintf("%s/sub/escape.yaml", res.dir);
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	/* files are read-only, executables keep their bit, no .git anywhere */
	p = gs_asprintf("%s/cm.yaml", res.dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	free(p);
	p = gs_asprintf("%s/run.sh", res.dir);
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_mode & 0100);
	free(p);
	p = gs_asprintf("%s/.git", res.dir);
	assert_int_equal(stat(p, &st), -1);
	free(p);
	gitsrc_result_release(&res);
}

static void test_gitsrc__unchanged_revision_is_not_fetched_again(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result a = GITSRC_RESULT_INIT, b = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;

	assert_int_equal(gitsrc_get(&a, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_int_equal(gitsrc_get(&b, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_false(b.fetched);
	assert_false(b.exported);
	assert_string_equal(a.dir, b.dir);
	assert_string_equal(a.rev.sha, b.rev.sha);
	gitsrc_result_release(&a);
	gitsrc_result_release(&b);
}

static void test_gitsrc__hard_refresh_fetches_and_rewrites_an_altered_export(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result a = GITSRC_RESULT_INIT, b = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *p, *s, *trees;
	FILE *fp;

	assert_int_equal(gitsrc_get(&a, f->src, f->origin, "main", NULL, 0, &err), 0);
	/* someone alters the cached export (it is read-only, not immutable) */
	p = gs_asprintf("%s/cm.yaml", a.dir);
	assert_int_equal(chmod(p, 0644), 0);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("kind: ConfigMap\ndata:\n  k: tampered\n", fp);
	fclose(fp);
	free(p);
	p = gs_asprintf("%s/extra.yaml", a.dir);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	free(p);

	assert_int_equal(gitsrc_get(&b, f->src, f->origin, "main", NULL,
				    GITSRC_FETCH_ALWAYS | GITSRC_REEXPORT, &err), 0);
	assert_true(b.fetched);
	assert_true(b.exported);
	assert_string_equal(a.dir, b.dir);
	s = slurp(b.dir, "cm.yaml");
	assert_non_null(strstr(s, "k: v1"));
	free(s);
	assert_null(slurp(b.dir, "extra.yaml"));
	/* the old tree was removed, no temporary directory is left */
	trees = gs_asprintf("%s/trees", f->cache);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", trees);
		assert_int_equal(system(cmd), 0);
	}
	free(trees);
	gitsrc_result_release(&a);
	gitsrc_result_release(&b);
}

static ino_t inode_of(const char *dir, const char *rel)
{
	char *p = gs_asprintf("%s/%s", dir, rel);
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st.st_ino;
}

static void test_gitsrc__new_commit_links_unchanged_files_from_the_previous_export(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result a = GITSRC_RESULT_INIT, b = GITSRC_RESULT_INIT;
	struct gitsrc_result c = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct file next[sizeof(base_files) / sizeof(base_files[0])];
	size_t n = sizeof(next) / sizeof(next[0]), i;
	char *p, *s;
	FILE *fp;

	assert_int_equal(gitsrc_get(&a, f->src, f->origin, "main", NULL, 0, &err), 0);
	memcpy(next, base_files, sizeof(next));
	for (i = 0; i < n; i++)
		if (!strcmp(next[i].path, "cm.yaml"))
			next[i].content = "kind: ConfigMap\ndata:\n  k: v2\n";
	/* someone made deep.yaml of the first export writable and edited it */
	p = gs_asprintf("%s/sub/dir/deep.yaml", a.dir);
	assert_int_equal(chmod(p, 0644), 0);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("a: tampered\n", fp);
	fclose(fp);
	free(p);
	commit_files(f->repo, "main", next, n, "second", false);

	assert_int_equal(gitsrc_get(&b, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_true(b.exported);
	/* unchanged, read-only files are the same inodes; changed ones are new */
	assert_true(inode_of(a.dir, "kustomization.yaml") == inode_of(b.dir, "kustomization.yaml"));
	assert_true(inode_of(a.dir, "run.sh") == inode_of(b.dir, "run.sh"));
	assert_true(inode_of(a.dir, "cm.yaml") != inode_of(b.dir, "cm.yaml"));
	s = slurp(b.dir, "cm.yaml");
	assert_non_null(strstr(s, "k: v2"));
	free(s);
	/* the edited file is not trusted: written again from Git */
	assert_true(inode_of(a.dir, "sub/dir/deep.yaml") != inode_of(b.dir, "sub/dir/deep.yaml"));
	s = slurp(b.dir, "sub/dir/deep.yaml");
	assert_string_equal(s, "a: 1\n");
	free(s);
	s = slurp(b.dir, "sub/link.yaml");
	assert_string_equal(s, "a: 1\n");
	free(s);

	/* a hard refresh links nothing */
	assert_int_equal(gitsrc_get(&c, f->src, f->origin, "main", NULL,
				    GITSRC_FETCH_ALWAYS | GITSRC_REEXPORT, &err), 0);
	assert_true(inode_of(a.dir, "kustomization.yaml") != inode_of(c.dir, "kustomization.yaml"));
	gitsrc_result_release(&a);
	gitsrc_result_release(&b);
	gitsrc_result_release(&c);
}

static void test_gitsrc__new_commit_is_seen_by_ls_remote_then_fetched(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result a = GITSRC_RESULT_INIT, b = GITSRC_RESULT_INIT;
	struct gitsrc_rev rev;
	struct gs_error err = GS_ERROR_INIT;
	struct file changed[] = { { "cm.yaml", "kind: ConfigMap\ndata:\n  k: v2\n", 0 } };
	char sha2[41], *s;
	git_oid oid;

	assert_int_equal(gitsrc_get(&a, f->src, f->origin, "main", NULL, 0, &err), 0);
	oid = commit_files(f->repo, "main", changed, 1, "second", false);
	git_oid_tostr(sha2, sizeof(sha2), &oid);

	assert_int_equal(gitsrc_ls_remote(&rev, f->src, f->origin, "main", NULL, &err), 0);
	assert_string_equal(rev.sha, sha2);

	assert_int_equal(gitsrc_get(&b, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_true(b.fetched);
	assert_true(b.exported);
	assert_false(b.force_pushed);
	assert_string_equal(b.previous_sha, a.rev.sha);
	assert_string_equal(b.rev.sha, sha2);
	assert_string_not_equal(a.dir, b.dir);
	s = slurp(b.dir, "cm.yaml");
	assert_non_null(strstr(s, "k: v2"));
	free(s);
	/* the tree is replaced, not merged: the old files are gone there */
	s = slurp(b.dir, "kustomization.yaml");
	assert_null(s);
	/* and the old export is untouched */
	s = slurp(a.dir, "cm.yaml");
	assert_non_null(strstr(s, "k: v1"));
	free(s);
	gitsrc_result_release(&a);
	gitsrc_result_release(&b);
}

static void test_gitsrc__resolves_head_tags_and_commit_ids(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char first[41], second[41], abbrev[9], upper[41];
	struct file changed[] = { { "cm.yaml", "x: 2\n", 0 } };
	git_object *target = NULL;
	git_signature *sig = NULL;
	git_oid oid, tag_oid;
	size_t i;

	head_sha(first, f->repo, "refs/heads/main");
	assert_int_equal(git_revparse_single(&target, f->repo, "main"), 0);
	assert_int_equal(git_signature_new(&sig, "T", "t@example.com", 1700000000, 0), 0);
	assert_int_equal(git_tag_create(&tag_oid, f->repo, "v1.0", target, sig, "release", 0), 0);
	assert_int_equal(git_tag_create_lightweight(&tag_oid, f->repo, "light", target, 0), 0);
	git_signature_free(sig);
	git_object_free(target);
	oid = commit_files(f->repo, "main", changed, 1, "second", false);
	git_oid_tostr(second, sizeof(second), &oid);

	/* default: the remote's HEAD */
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, NULL, NULL, 0, &err), 0);
	assert_string_equal(res.rev.sha, second);
	assert_string_equal(res.rev.ref, "refs/heads/main");
	gitsrc_result_release(&res);
	/* an annotated tag resolves to its commit, not to the tag object */
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "v1.0", NULL, 0, &err), 0);
	assert_string_equal(res.rev.sha, first);
	assert_string_equal(res.rev.ref, "refs/tags/v1.0");
	gitsrc_result_release(&res);
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "light", NULL, 0, &err), 0);
	assert_string_equal(res.rev.sha, first);
	gitsrc_result_release(&res);
	/* a full commit id, in any case, and an abbreviated one */
	for (i = 0; i < 41; i++)
		upper[i] = (char)((first[i] >= 'a' && first[i] <= 'f') ? first[i] - 32 : first[i]);
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, upper, NULL, 0, &err), 0);
	assert_string_equal(res.rev.sha, first);
	assert_string_equal(res.rev.ref, "");
	gitsrc_result_release(&res);
	memcpy(abbrev, first, 8);
	abbrev[8] = '\0';
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, abbrev, NULL, 0, &err), 0);
	assert_string_equal(res.rev.sha, first);
	gitsrc_result_release(&res);
	/* file:// works like a path */
	{
		char *url = gs_asprintf("file://%s", f->origin);

		assert_int_equal(gitsrc_get(&res, f->src, url, "refs/heads/main", NULL, 0, &err), 0);
		assert_string_equal(res.rev.sha, second);
		gitsrc_result_release(&res);
		free(url);
	}
}

static void test_gitsrc__missing_revision_is_a_clear_not_found(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gitsrc_rev rev;
	struct gs_error err = GS_ERROR_INIT;

	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "no-such-branch", NULL, 0, &err),
			 GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "revision 'no-such-branch' not found"));
	assert_null(res.dir);
	gs_error_clear(&err);
	assert_int_equal(gitsrc_get(&res, f->src, f->origin,
				    "0123456789012345678901234567890123456789", NULL, 0, &err),
			 GS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "commit 0123456789012345678901234567890123456789 not found"));
	gs_error_clear(&err);
	assert_int_equal(gitsrc_ls_remote(&rev, f->src, f->origin, "nope", NULL, &err),
			 GS_ENOTFOUND);
}

static void test_gitsrc__unreachable_repository_is_a_network_error(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *missing = gs_asprintf("%s/does-not-exist.git", f->root);

	assert_int_equal(gitsrc_get(&res, f->src, missing, "main", NULL, 0, &err), GS_ENET);
	assert_non_null(strstr(err.msg, "cannot reach repository"));
	assert_non_null(strstr(err.msg, "does-not-exist.git"));
	free(missing);
}

/* A loopback server that accepts and then stalls: with answer_headers it
 * first reads the request and answers 200 with the start of a ref
 * advertisement, then sends nothing more.  It holds every connection open
 * until stall_server_stop (a hang here is what the harness timeout is for). */
struct stall_server {
	int lfd, stop[2];
	bool answer_headers;
	pthread_t th;
	int port;
};

static void *stall_main(void *arg)
{
	struct stall_server *sv = arg;
	int conns[16], n = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = sv->lfd, .events = POLLIN },
				       { .fd = sv->stop[0], .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			int c = accept(sv->lfd, NULL, NULL);

			if (c < 0)
				continue;
			if (sv->answer_headers) {
				static const char hdr[] =
					"HTTP/1.1 200 OK\r\n"
					"Content-Type: application/x-git-upload-pack-advertisement\r\n"
					"Content-Length: 4000\r\n\r\n"
					"001e# service=git-upload-pack\n0000";
				char req[4096];
				size_t got = 0;

				/* the request's headers (a GET: no body) */
				while (got < sizeof(req) - 1) {
					ssize_t r = read(c, req + got, sizeof(req) - 1 - got);

					if (r <= 0)
						break;
					got += (size_t)r;
					req[got] = 0;
					if (strstr(req, "\r\n\r\n"))
						break;
				}
				assert_int_equal(write(c, hdr, sizeof(hdr) - 1), sizeof(hdr) - 1);
			}
			if (n < 16)
				conns[n++] = c;
			else
				close(c);
		}
	}
	while (n)
		close(conns[--n]);
	return NULL;
}

static void stall_server_start(struct stall_server *sv, bool answer_headers)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sv->answer_headers = answer_headers;
	sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(sv->lfd >= 0);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(sv->lfd, 8), 0);
	assert_int_equal(getsockname(sv->lfd, (struct sockaddr *)&a, &len), 0);
	sv->port = ntohs(a.sin_port);
	assert_int_equal(pipe(sv->stop), 0);
	assert_int_equal(pthread_create(&sv->th, NULL, stall_main, sv), 0);
}

static void stall_server_stop(struct stall_server *sv)
{
	assert_int_equal(write(sv->stop[1], "x", 1), 1);
	pthread_join(sv->th, NULL);
	close(sv->stop[0]);
	close(sv->stop[1]);
	close(sv->lfd);
}

/* main() sets GITSYNC_GIT_IO_TIMEOUT=1 before the first gitsrc_new. */
static void expect_stall_error(struct fixture *f, const char *scheme, bool answer_headers)
{
	struct stall_server sv;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *url, *hostport;

	stall_server_start(&sv, answer_headers);
	url = gs_asprintf("%s://127.0.0.1:%d/x.git", scheme, sv.port);
	hostport = gs_asprintf("127.0.0.1:%d", sv.port);
	/* returning at all is the point: libgit2 alone would wait forever */
	assert_int_equal(gitsrc_get(&res, f->src, url, "main", NULL, 0, &err), GS_ENET);
	print_message("%s\n", err.msg);
	assert_non_null(strstr(err.msg, "no data for 1 s"));
	assert_non_null(strstr(err.msg, hostport));
	stall_server_stop(&sv);
	free(hostport);
	free(url);
}

static void test_gitsrc__server_that_accepts_and_stalls_times_out(void **state)
{
	expect_stall_error(*state, "http", false);
}

static void test_gitsrc__server_that_stalls_mid_body_times_out(void **state)
{
	expect_stall_error(*state, "http", true);
}

static void test_gitsrc__tls_server_that_stalls_in_the_handshake_times_out(void **state)
{
	expect_stall_error(*state, "https", false);
}

static void test_gitsrc__credentials_never_appear_in_errors(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gitsrc_auth auth = { .password = "hunter2-token" };
	struct gs_error err = GS_ERROR_INIT;
	char buf[1200];

	/* port 1 on loopback: refused at once */
	assert_true(gitsrc_get(&res, f->src, "http://alice:s3cr%40t@127.0.0.1:1/repo.git", "main",
			       NULL, 0, &err) < 0);
	gs_error_str(&err, buf, sizeof(buf));
	assert_null(strstr(buf, "s3cr"));
	assert_non_null(strstr(buf, "127.0.0.1:1"));
	gs_error_clear(&err);
	assert_true(gitsrc_get(&res, f->src, "http://127.0.0.1:1/repo.git", "main", &auth, 0,
			       &err) < 0);
	gs_error_str(&err, buf, sizeof(buf));
	assert_null(strstr(buf, "hunter2"));
}

static void test_gitsrc__force_push_is_reported(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result a = GITSRC_RESULT_INIT, b = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct file rewritten[] = { { "cm.yaml", "rewritten: true\n", 0 } };

	assert_int_equal(gitsrc_get(&a, f->src, f->origin, "main", NULL, 0, &err), 0);
	commit_files(f->repo, "main", rewritten, 1, "rewritten history", true);
	assert_int_equal(gitsrc_get(&b, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_true(b.force_pushed);
	assert_string_equal(b.previous_sha, a.rev.sha);
	assert_string_not_equal(b.rev.sha, a.rev.sha);
	gitsrc_result_release(&a);
	gitsrc_result_release(&b);
}

static void test_gitsrc__export_limits_leave_nothing_behind(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *trees = gs_asprintf("%s/trees", f->cache);
	struct stat st;
	int entries = 0;
	char cmd[300];
	FILE *p;

	gitsrc_set_export_limits(f->src, 0, 2);
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "main", NULL, 0, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "more than 2 files"));
	/* trees/<key>/ may stay, empty */
	snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 2 | wc -l", trees);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &entries), 1);
	pclose(p);
	assert_int_equal(entries, 0);
	assert_int_equal(stat(trees, &st), 0);
	free(trees);
}

/* A commit on refs/heads/<branch> whose root tree holds one raw entry
 * (name, mode, id) written byte for byte: libgit2's tree builder refuses
 * such names, a crafted repository does not. */
static void commit_raw_entry(git_repository *repo, const char *branch, const char *name,
			     const char *mode, const git_oid *id)
{
	git_odb *odb = NULL;
	git_oid tree_oid, commit_oid;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	char raw[512], ref[128];
	size_t n;

	n = (size_t)snprintf(raw, sizeof(raw), "%s %s", mode, name) + 1; /* with the NUL */
	memcpy(raw + n, id->id, GIT_OID_RAWSZ);
	n += GIT_OID_RAWSZ;
	assert_int_equal(git_repository_odb(&odb, repo), 0);
	assert_int_equal(git_odb_write(&tree_oid, odb, raw, n, GIT_OBJECT_TREE), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &tree_oid), 0);
	assert_int_equal(git_signature_new(&sig, "Test", "test@example.com", 1700000000, 0), 0);
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	assert_int_equal(git_commit_create_v(&commit_oid, repo, ref, sig, sig, NULL, "hostile",
					     tree, 0), 0);
	git_signature_free(sig);
	git_tree_free(tree);
	git_odb_free(odb);
}

static void test_gitsrc__hostile_tree_entries_are_refused_and_never_written(void **state)
{
	static const char *const names[] = { "..", ".", ".git", ".GIT", "Git~1", ".git. ",
					     "../../../escaped", "a/b", "/abs" };
	/* (an empty name: libgit2 refuses to parse the tree at all) */
	struct fixture *f = *state;
	git_oid blob, tree;
	char sha[41], cmd[600];
	size_t i;

	assert_int_equal(git_blob_create_from_buffer(&blob, f->repo, "x: 1\n", 5), 0);
	head_sha(sha, f->repo, "refs/heads/main");
	{
		git_commit *c = NULL;

		git_oid_fromstr(&tree, sha);
		assert_int_equal(git_commit_lookup(&c, f->repo, &tree), 0);
		tree = *git_commit_tree_id(c);
		git_commit_free(c);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct gitsrc_result res = GITSRC_RESULT_INIT;
		struct gs_error err = GS_ERROR_INIT;
		char branch[32];
		bool dir = i % 2 == 0; /* as a directory and as a file */

		snprintf(branch, sizeof(branch), "hostile%zu", i);
		commit_raw_entry(f->repo, branch, names[i], dir ? "40000" : "100644",
				 dir ? &tree : &blob);
		assert_int_equal(gitsrc_get(&res, f->src, f->origin, branch, NULL, 0, &err),
				 GS_EINVAL);
		assert_non_null(strstr(err.msg, "refusing the commit"));
		if (*names[i]) {
			char *quoted = gs_asprintf("'%s'", names[i]);

			assert_non_null(strstr(err.msg, quoted));
			free(quoted);
		}
		assert_null(res.dir);
	}
	/* nothing was written anywhere: no file named escaped, no export at all */
	snprintf(cmd, sizeof(cmd), "test -z \"$(find '%s' -name escaped)\" && "
		 "test -z \"$(find '%s/trees' -mindepth 2)\"", f->root, f->cache);
	assert_int_equal(system(cmd), 0);
}

static void test_gitsrc__export_without_our_marker_is_never_reused(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result a = GITSRC_RESULT_INIT, b = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *p, *s;
	FILE *fp;

	assert_int_equal(gitsrc_get(&a, f->src, f->origin, "main", NULL, 0, &err), 0);
	/* someone else placed this directory (the old cache poisoning: an entry
	 * "../<sha>" of another repository): it has no marker of ours */
	p = gs_asprintf("%s.done", a.dir);
	assert_int_equal(unlink(p), 0);
	free(p);
	p = gs_asprintf("%s/cm.yaml", a.dir);
	assert_int_equal(chmod(p, 0644), 0);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("kind: ConfigMap\ndata:\n  k: poisoned\n", fp);
	fclose(fp);
	free(p);
	assert_int_equal(gitsrc_get(&b, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_true(b.exported);
	s = slurp(b.dir, "cm.yaml");
	assert_non_null(strstr(s, "k: v1"));
	free(s);
	/* a marker for another repository does not count either */
	p = gs_asprintf("%s.done", b.dir);
	assert_int_equal(chmod(p, 0644), 0);
	fp = fopen(p, "w");
	fprintf(fp, "gitsync export 1\nrepository /elsewhere.git\ncommit %s\n", b.rev.sha);
	fclose(fp);
	free(p);
	gitsrc_result_release(&a);
	assert_int_equal(gitsrc_get(&a, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_true(a.exported);
	gitsrc_result_release(&a);
	gitsrc_result_release(&b);
}

static void test_gitsrc__credentials_select_the_cache(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result a = GITSRC_RESULT_INIT, b = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct gitsrc_auth other;

	memset(&other, 0, sizeof(other));
	other.username = "team-b";
	other.password = "other";
	assert_int_equal(gitsrc_get(&a, f->src, f->origin, "main", NULL, 0, &err), 0);
	/* the same pinned commit with other credentials is fetched with them,
	 * never served from what the first credentials fetched */
	assert_int_equal(gitsrc_get(&b, f->src, f->origin, a.rev.sha, &other, 0, &err), 0);
	assert_true(b.fetched);
	assert_string_not_equal(a.dir, b.dir);
	gitsrc_result_release(&a);
	gitsrc_result_release(&b);
}

static void test_gitsrc__booleans_are_strict(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	bool b = true;

	(void)state;
	assert_int_equal(gitsrc_parse_bool(&b, "X", "false", &err), 0);
	assert_false(b);
	assert_int_equal(gitsrc_parse_bool(&b, "X", NULL, &err), 0);
	assert_false(b);
	assert_int_equal(gitsrc_parse_bool(&b, "X", "true", &err), 0);
	assert_true(b);
	assert_int_equal(gitsrc_parse_bool(&b, "X", "1", &err), 0);
	assert_true(b);
	assert_int_equal(gitsrc_parse_bool(&b, "X", "False", &err), GS_EINVAL);
	assert_int_equal(gitsrc_parse_bool(&b, "X", "yes please", &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "not a boolean"));
}

static void test_gitsrc__global_credentials_only_for_their_hosts(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct gitsrc_auth a;

	(void)state;
	setenv("GITSYNC_GIT_USERNAME", "bot", 1);
	setenv("GITSYNC_GIT_PASSWORD", "global-pass", 1);
	setenv("GITSYNC_GIT_INSECURE_IGNORE_HOST_KEY", "false", 1);
	unsetenv("GITSYNC_GIT_HOSTS");
	/* no host configured: sent nowhere */
	assert_int_equal(gitsrc_auth_from_env(&a, "https://git.example.com/r.git", &err), 0);
	assert_null(a.password);
	/* "false" keeps host keys checked */
	assert_false(a.insecure_ignore_host_key);
	setenv("GITSYNC_GIT_HOSTS", "git.example.com, other.example:8443", 1);
	assert_int_equal(gitsrc_auth_from_env(&a, "https://GIT.example.com/r.git", &err), 0);
	assert_string_equal(a.password, "global-pass");
	assert_int_equal(gitsrc_auth_from_env(&a, "https://attacker.example/r.git", &err), 0);
	assert_null(a.password);
	assert_null(a.username);
	assert_int_equal(gitsrc_auth_from_env(&a, "https://other.example:8443/r.git", &err), 0);
	assert_non_null(a.password);
	assert_int_equal(gitsrc_auth_from_env(&a, "https://other.example:9443/r.git", &err), 0);
	assert_null(a.password);
	/* a password in the URL is never replaced */
	assert_int_equal(gitsrc_auth_from_env(&a, "https://me:mine@git.example.com/r.git", &err), 0);
	assert_null(a.password);
	setenv("GITSYNC_GIT_INSECURE_IGNORE_HOST_KEY", "flase", 1);
	assert_int_equal(gitsrc_auth_from_env(&a, "https://git.example.com/r.git", &err), GS_EINVAL);
	assert_non_null(strstr(err.msg, "GITSYNC_GIT_INSECURE_IGNORE_HOST_KEY"));
	unsetenv("GITSYNC_GIT_INSECURE_IGNORE_HOST_KEY");
	unsetenv("GITSYNC_GIT_USERNAME");
	unsetenv("GITSYNC_GIT_PASSWORD");
	unsetenv("GITSYNC_GIT_HOSTS");
}

static void test_gitsrc__credential_template_prefixes(void **state)
{
	(void)state;
	assert_true(gitsrc_url_prefix_match("https://git.example.com/team-a/app.git",
					    "https://git.example.com/team-a") > 0);
	assert_true(gitsrc_url_prefix_match("https://git.example.com/team-a/app.git",
					    "https://git.example.com/team-a/") > 0);
	/* a URL with its own password keeps it */
	assert_int_equal(gitsrc_url_prefix_match("https://u:p@git.example.com/team-a/app.git",
						 "https://git.example.com/team-a/"), 0);
	assert_int_equal(gitsrc_url_prefix_match("https://git.example.com/team-abc/app.git",
						 "https://git.example.com/team-a"), 0);
	assert_int_equal(gitsrc_url_prefix_match("https://git.example.com.evil/x.git",
						 "https://git.example.com"), 0);
	assert_true(gitsrc_url_prefix_match("https://git.example.com/team-a/app.git",
					    "https://git.example.com/team-a") >
		    gitsrc_url_prefix_match("https://git.example.com/team-a/app.git",
					    "https://git.example.com"));
}

static void test_gitsrc__text_redaction_hides_passwords_and_url_tokens(void **state)
{
	static const char *const cases[][2] = {
		{ "cannot fetch from 'https://bot:s3cr3t@git.example.com/r.git': 401",
		  "cannot fetch from 'https://bot:***@git.example.com/r.git': 401" },
		{ "https://ghp_T0KEN@github.com/o/r.git", "https://***@github.com/o/r.git" },
		{ "a http://u:p@h/x and HTTPS://tok@h2/y", "a http://u:***@h/x and HTTPS://***@h2/y" },
		{ "ssh://git@host/r.git", "ssh://git@host/r.git" },
		{ "ssh://git:pw@host/r.git", "ssh://git:***@host/r.git" },
		{ "git@github.com:o/r.git", "git@github.com:o/r.git" },
		{ "https://host/path@v1", "https://host/path@v1" },
		{ "mail me@example.com", "mail me@example.com" },
	};
	struct mf_node *app = mf_node_new(MF_MAP), *hist = mf_node_new(MF_SEQ), *e;
	size_t i;
	char *r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = gitsrc_text_redact(cases[i][0]);
		assert_string_equal(r, cases[i][1]);
		free(r);
	}
	/* a whole Application: spec and status alike */
	mf_node_set_str_value(mf_node_ensure(mf_node_ensure(app, "spec", MF_MAP), "source", MF_MAP),
			      "repoURL", "https://TOKEN123@h/r.git");
	e = mf_node_new(MF_MAP);
	mf_node_set_str_value(e, "message", "fetch https://u:PASS456@h/r.git failed");
	mf_node_append(hist, e);
	mf_node_set(mf_node_ensure(app, "status", MF_MAP), "conditions", hist);
	gitsrc_node_redact(app);
	assert_string_equal(mf_node_dig_str(app, "spec", "source", "repoURL", NULL),
			    "https://***@h/r.git");
	assert_string_equal(mf_node_str(mf_node_get(mf_node_at(hist, 0), "message")),
			    "fetch https://u:***@h/r.git failed");
	mf_node_free(app);
}

static void test_gitsrc__oversized_blob_is_refused_from_its_header(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	size_t n = (size_t)20 << 20;
	char *big = gs_malloc(n + 1);
	struct file files[] = { { "ok.yaml", "a: 1\n", 0 }, { "data/zeros.yaml", big, 0 } };

	/* 20 MiB that compress to a few KiB: the limit is checked from the
	 * object's header, before the blob is inflated */
	memset(big, 'x', n);
	big[n] = '\0';
	commit_files(f->repo, "main", files, 2, "big", false);
	free(big);
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "main", NULL, 0, &err), GS_ELIMIT);
	assert_non_null(strstr(err.msg, "'data/zeros.yaml' is 20971520 bytes"));
	assert_non_null(strstr(err.msg, "before inflating"));
	gitsrc_result_release(&res);
}

static void test_gitsrc__gc_removes_only_what_no_application_uses(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_result res = GITSRC_RESULT_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct gitsrc_gc_stats st;
	struct file v2[] = { { "cm.yaml", "k: v2\n", 0 } };
	char first[41], *dir1;
	const char *shas[1];
	uint64_t before, after;
	struct stat sb;

	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "main", NULL, 0, &err), 0);
	snprintf(first, sizeof(first), "%s", res.rev.sha);
	dir1 = gs_strdup(res.dir);
	gitsrc_result_release(&res);
	commit_files(f->repo, "main", v2, 1, "second", false);
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "main", NULL, 0, &err), 0);
	shas[0] = res.rev.sha;
	/* in use: the current commit's export and the app's repository stay */
	assert_int_equal(gitsrc_gc(&st, f->src, shas, 1, 0, &err), 0);
	assert_int_equal(st.exports_removed, 1); /* the first commit's */
	assert_int_equal(st.repos_removed, 0);
	assert_true(stat(dir1, &sb) < 0);
	assert_int_equal(stat(res.dir, &sb), 0);
	/* too young: kept */
	assert_int_equal(gitsrc_gc(&st, f->src, NULL, 0, 3600, &err), 0);
	assert_int_equal(st.exports_removed + st.repos_removed, 0);
	/* no Application any more: everything goes, the size shrinks */
	before = gitsrc_cache_bytes(f->src);
	assert_int_equal(gitsrc_gc(&st, f->src, NULL, 0, 0, &err), 0);
	assert_int_equal(st.exports_removed, 1);
	assert_int_equal(st.repos_removed, 1);
	after = gitsrc_cache_bytes(f->src);
	assert_true(after < before);
	assert_true(st.bytes_freed > 0);
	/* and the cache still works afterwards */
	gitsrc_result_release(&res);
	assert_int_equal(gitsrc_get(&res, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_string_not_equal(res.rev.sha, first);
	gitsrc_result_release(&res);
	free(dir1);
}

static void test_gitsrc__url_parse_and_redact(void **state)
{
	struct gitsrc_url u = GITSRC_URL_INIT;
	struct gs_error err = GS_ERROR_INIT;
	char *r;

	(void)state;
	assert_int_equal(gitsrc_url_parse(&u, "https://bob:p%40ss@git.example.com:8443/x/y.git", &err), 0);
	assert_string_equal(u.clean, "https://git.example.com:8443/x/y.git");
	assert_string_equal(u.username, "bob");
	assert_string_equal(u.password, "p@ss");
	assert_string_equal(u.host, "git.example.com");
	assert_int_equal(u.port, 8443);
	gitsrc_url_release(&u);
	assert_int_equal(gitsrc_url_parse(&u, "git@github.com:org/repo.git", &err), 0);
	assert_string_equal(u.host, "github.com");
	assert_string_equal(u.username, "git");
	assert_false(u.local);
	gitsrc_url_release(&u);
	assert_int_equal(gitsrc_url_parse(&u, "ssh://git@[::1]:2222/r.git", &err), 0);
	assert_string_equal(u.clean, "ssh://git@[::1]:2222/r.git");
	assert_int_equal(u.port, 2222);
	gitsrc_url_release(&u);
	assert_int_equal(gitsrc_url_parse(&u, "/srv/git/r.git", &err), 0);
	assert_true(u.local);
	gitsrc_url_release(&u);
	assert_int_equal(gitsrc_url_parse(&u, "ftp://h/r", &err), GS_EINVAL);

	r = gitsrc_url_redact("https://deploy:glpat-XYZ@gitlab.com/g/r.git");
	assert_string_equal(r, "https://deploy:***@gitlab.com/g/r.git");
	free(r);
	r = gitsrc_url_redact("https://gitlab.com/g/r.git");
	assert_string_equal(r, "https://gitlab.com/g/r.git");
	free(r);
	assert_true(gitsrc_is_sha("90ad8c7aed92c6430bcb36ab23228a2d57c2715d"));
	assert_false(gitsrc_is_sha("90ad8c7"));
}

static char *b64(const unsigned char *d, size_t n)
{
	char *out = gs_malloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, d, (int)n);
	return out;
}

static void test_gitsrc__known_hosts_match_mismatch_hashed_and_ports(void **state)
{
	const unsigned char key[] = "\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
				    "0123456789abcdef0123456789abcdef";
	const unsigned char other[] = "\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
				      "ffffffffffffffffffffffffffffffff";
	size_t klen = sizeof(key) - 1;
	char *kb = b64(key, klen), *ob = b64(other, klen);
	unsigned char salt[20] = "saltsaltsaltsaltsalt", mac[64];
	unsigned int mac_len = 0;
	char *sb, *hb, *kh;

	(void)state;
	HMAC(EVP_sha1(), salt, 20, (const unsigned char *)"hashed.example", 14, mac, &mac_len);
	sb = b64(salt, 20);
	hb = b64(mac, mac_len);
	kh = gs_asprintf("# comment\n"
			 "git.example.com,10.0.0.1 ssh-ed25519 %s\n"
			 "changed.example ssh-ed25519 %s\n"
			 "[port.example]:2222 ssh-ed25519 %s comment\n"
			 "|1|%s|%s ssh-ed25519 %s\n"
			 "@revoked revoked.example ssh-ed25519 %s\n"
			 "revoked.example ssh-ed25519 %s\n",
			 kb, ob, kb, sb, hb, kb, kb, kb);
	assert_int_equal(gitsrc_known_hosts_check(kh, "git.example.com", 0, key, klen), 1);
	assert_int_equal(gitsrc_known_hosts_check(kh, "GIT.example.com", 22, key, klen), 1);
	assert_int_equal(gitsrc_known_hosts_check(kh, "10.0.0.1", 0, key, klen), 1);
	assert_int_equal(gitsrc_known_hosts_check(kh, "changed.example", 0, key, klen), -1);
	assert_int_equal(gitsrc_known_hosts_check(kh, "unknown.example", 0, key, klen), 0);
	assert_int_equal(gitsrc_known_hosts_check(kh, "port.example", 2222, key, klen), 1);
	assert_int_equal(gitsrc_known_hosts_check(kh, "port.example", 22, key, klen), 0);
	assert_int_equal(gitsrc_known_hosts_check(kh, "hashed.example", 0, key, klen), 1);
	assert_int_equal(gitsrc_known_hosts_check(kh, "hashed.example", 0, other, klen), -1);
	assert_int_equal(gitsrc_known_hosts_check(kh, "revoked.example", 0, key, klen), -1);
	assert_int_equal(gitsrc_known_hosts_check(NULL, "git.example.com", 0, key, klen), 0);
	/* @revoked counts wherever its line is, after the accepting line too */
	free(kh);
	kh = gs_asprintf("revoked.example ssh-ed25519 %s\n"
			 "other.example ssh-ed25519 %s\n"
			 "@revoked revoked.example ssh-ed25519 %s\n", kb, kb, kb);
	assert_int_equal(gitsrc_known_hosts_check(kh, "revoked.example", 0, key, klen), -1);
	assert_int_equal(gitsrc_known_hosts_check(kh, "other.example", 0, key, klen), 1);
	free(kb);
	free(ob);
	free(sb);
	free(hb);
	free(kh);
}

/* Issue 20: N apps reading one repository.  Each "app" is a gitsrc_get
 * from one of 8 threads (the agent's workers), sharing one gitsrc_share. */
struct share_thread {
	struct fixture *f;
	struct gitsrc_share *sh;
	char sha[41];
	bool all_same, ok;
};

static void *share_worker(void *arg)
{
	struct share_thread *t = arg;
	struct gitsrc *src = NULL;
	struct gs_error err = GS_ERROR_INIT;
	int i;

	t->ok = gitsrc_new(&src, t->f->cache, &err) == 0;
	t->all_same = true;
	if (!t->ok)
		return NULL;
	gitsrc_set_share(src, t->sh);
	gitsrc_set_max_age(src, 3600);
	for (i = 0; i < 25; i++) {
		struct gitsrc_result r = GITSRC_RESULT_INIT;

		if (gitsrc_get(&r, src, t->f->origin, "main", NULL, 0, &err)) {
			t->ok = false;
			break;
		}
		if (i == 0)
			memcpy(t->sha, r.rev.sha, 41);
		else if (strcmp(t->sha, r.rev.sha))
			t->all_same = false;
		if (!r.dir || access(r.dir, R_OK))
			t->ok = false;
		gitsrc_result_release(&r);
	}
	gitsrc_free(src);
	return NULL;
}

static void run_share_threads(struct fixture *f, struct gitsrc_share *sh, const char *want)
{
	struct share_thread t[8];
	pthread_t th[8];
	int i;

	for (i = 0; i < 8; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].f = f;
		t[i].sh = sh;
		assert_int_equal(pthread_create(&th[i], NULL, share_worker, &t[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_true(t[i].ok);
		assert_true(t[i].all_same);
		assert_string_equal(t[i].sha, want);
	}
}

static void test_gitsrc__apps_of_one_repository_share_one_ls_remote_and_fetch(void **state)
{
	struct fixture *f = *state;
	struct gitsrc_share *sh = gitsrc_share_new();
	struct gitsrc_share_stats st;
	struct gitsrc_result r = GITSRC_RESULT_INIT;
	struct gitsrc_auth other;
	struct gs_error err = GS_ERROR_INIT;
	char sha[41];
	git_oid oid;

	head_sha(sha, f->repo, "refs/heads/main");
	run_share_threads(f, sh, sha);
	gitsrc_share_stats(sh, &st);
	/* 200 reads: one ls-remote, one clone, 199 answers from the share */
	assert_int_equal(st.remote_checks, 1);
	assert_int_equal(st.fetches, 1);
	assert_int_equal(st.shared, 199);

	/* a push: without an invalidation the share keeps the old answer ... */
	oid = commit_files(f->repo, "main", base_files, 2, "second", false);
	gitsrc_set_share(f->src, sh);
	gitsrc_set_max_age(f->src, 3600);
	assert_int_equal(gitsrc_get(&r, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_string_equal(r.rev.sha, sha);
	assert_true(r.shared);
	gitsrc_result_release(&r);
	/* ... a webhook invalidates it: once more one ls-remote and one fetch */
	gitsrc_share_invalidate(sh, f->origin);
	git_oid_tostr(sha, sizeof(sha), &oid);
	run_share_threads(f, sh, sha);
	gitsrc_share_stats(sh, &st);
	assert_int_equal(st.remote_checks, 2);
	assert_int_equal(st.fetches, 2);
	assert_int_equal(st.shared, 199 + 1 + 199);

	/* other credentials are another clone: never served this answer */
	memset(&other, 0, sizeof(other));
	other.password = "other";
	assert_int_equal(gitsrc_get(&r, f->src, f->origin, "main", &other, 0, &err), 0);
	assert_false(r.shared);
	gitsrc_result_release(&r);
	gitsrc_share_stats(sh, &st);
	assert_int_equal(st.remote_checks, 3);
	/* max age 0 (a refresh) asks the remote, a hard refresh too */
	gitsrc_set_max_age(f->src, 0);
	assert_int_equal(gitsrc_get(&r, f->src, f->origin, "main", NULL, 0, &err), 0);
	assert_false(r.shared);
	gitsrc_result_release(&r);
	gitsrc_share_stats(sh, &st);
	assert_int_equal(st.remote_checks, 4);
	gitsrc_set_max_age(f->src, 3600);
	assert_int_equal(gitsrc_get(&r, f->src, f->origin, "main", NULL,
				    GITSRC_FETCH_ALWAYS | GITSRC_REEXPORT, &err), 0);
	assert_false(r.shared);
	gitsrc_result_release(&r);
	gitsrc_set_share(f->src, NULL);
	gitsrc_share_free(sh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gitsrc__clones_and_exports_a_clean_read_only_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__unchanged_revision_is_not_fetched_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__hard_refresh_fetches_and_rewrites_an_altered_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__new_commit_is_seen_by_ls_remote_then_fetched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__new_commit_links_unchanged_files_from_the_previous_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__resolves_head_tags_and_commit_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__missing_revision_is_a_clear_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__unreachable_repository_is_a_network_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__credentials_never_appear_in_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__server_that_accepts_and_stalls_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__server_that_stalls_mid_body_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__tls_server_that_stalls_in_the_handshake_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__force_push_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__export_limits_leave_nothing_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__hostile_tree_entries_are_refused_and_never_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__export_without_our_marker_is_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__credentials_select_the_cache, setup, teardown),
		cmocka_unit_test(test_gitsrc__booleans_are_strict),
		cmocka_unit_test(test_gitsrc__global_credentials_only_for_their_hosts),
		cmocka_unit_test(test_gitsrc__credential_template_prefixes),
		cmocka_unit_test(test_gitsrc__text_redaction_hides_passwords_and_url_tokens),
		cmocka_unit_test_setup_teardown(test_gitsrc__oversized_blob_is_refused_from_its_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitsrc__gc_removes_only_what_no_application_uses, setup, teardown),
		cmocka_unit_test(test_gitsrc__url_parse_and_redact),
		cmocka_unit_test_setup_teardown(test_gitsrc__apps_of_one_repository_share_one_ls_remote_and_fetch, setup, teardown),
		cmocka_unit_test(test_gitsrc__known_hosts_match_mismatch_hashed_and_ports),
	};

	/* read once, at the first gitsrc_new: the stall tests wait 1 s, not 120 */
	setenv("GITSYNC_GIT_IO_TIMEOUT", "1", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
