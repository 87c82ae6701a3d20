/* gitsrc-gc.c - garbage collection of the Git cache: exports and cache
 * repositories that no Application uses any more, and the cache's size
 * (the gitsync_git_cache_bytes gauge).  Without it the cache only grew:
 * one export per commit ever synced, one clone per URL ever named. */
#include "gitsrc/gitsrc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gitsrc/gitsrc-private.h"
#include "gs-alloc.h"

static __thread uint64_t du_total; /* nftw has no payload: per thread */

static int du_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)path;
	(void)type;
	(void)ftw;
	du_total += (uint64_t)sb->st_blocks * 512u;
	return 0;
}

static uint64_t du(const char *path)
{
	du_total = 0;
	nftw(path, du_entry, 16, FTW_PHYS);
	return du_total;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

uint64_t gitsrc_cache_bytes(const struct gitsrc *src)
{
	return du(gitsrc_cache_dir(src));
}

/* The name of url's cache repository under repos/ (as gitsrc.c names it:
 * the first 16 bytes of sha256(clean url) in hex), or "" when url does
 * not parse. */
static void repo_name(char hex[33], const char *url)
{
	struct gitsrc_url u = GITSRC_URL_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	hex[0] = '\0';
	if (gitsrc_url_parse(&u, url, NULL) < 0)
		return;
	EVP_Digest(u.clean, strlen(u.clean), md, &len, EVP_sha256(), NULL);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	gitsrc_url_release(&u);
}

static bool listed(const char *name, size_t len, const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] && strlen(v[i]) == len && !strncmp(v[i], name, len))
			return true;
	return false;
}

static bool old_enough(const char *path, double min_age_s)
{
	struct stat st;

	return lstat(path, &st) == 0 && difftime(time(NULL), st.st_mtime) >= min_age_s;
}

int gitsrc_gc(struct gitsrc_gc_stats *stats, struct gitsrc *src, const char *const *urls,
	      size_t n_urls, const char *const *shas, size_t n_shas, double min_age_s,
	      struct gs_error *err)
{
	const char *cache = gitsrc_cache_dir(src);
	char *dir = NULL, **keep = NULL;
	struct gitsrc_gc_stats st = { 0 };
	DIR *d = NULL;
	struct dirent *de;
	size_t i;
	int rc = GS_OK;

	keep = gs_calloc(n_urls + 1, sizeof(*keep));
	for (i = 0; i < n_urls; i++) {
		keep[i] = gs_malloc(33);
		repo_name(keep[i], urls[i]);
	}
	/* exports: trees/<sha> (and leftovers .tmp-<sha>-XXXXXX of a crash) */
	dir = gs_asprintf("%s/trees", cache);
	if (!(d = opendir(dir))) {
		rc = gs_error_set(err, GS_EIO, "gc: cannot open '%s': %s", dir, strerror(errno));
		goto cleanup;
	}
	while ((de = readdir(d))) {
		char *path;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (gitsrc_is_sha(de->d_name) && listed(de->d_name, 40, shas, n_shas))
			continue;
		path = gs_asprintf("%s/%s", dir, de->d_name);
		/* young entries may be an export being written or rendered now */
		if (old_enough(path, min_age_s)) {
			st.bytes_freed += du(path);
			rm_rf(path);
			st.exports_removed++;
		}
		free(path);
	}
	closedir(d);
	d = NULL;
	free(dir);
	/* repositories: repos/<name>.git and repos/<name>.lock */
	dir = gs_asprintf("%s/repos", cache);
	if (!(d = opendir(dir))) {
		rc = gs_error_set(err, GS_EIO, "gc: cannot open '%s': %s", dir, strerror(errno));
		goto cleanup;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *path, *lock;
		int fd;

		if (len != 36 || strcmp(de->d_name + 32, ".git") ||
		    listed(de->d_name, 32, (const char *const *)keep, n_urls))
			continue;
		path = gs_asprintf("%s/%s", dir, de->d_name);
		lock = gs_asprintf("%s/%.32s.lock", dir, de->d_name);
		/* the same lock a fetch holds: a repository in use is skipped */
		fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && old_enough(path, min_age_s)) {
			st.bytes_freed += du(path);
			rm_rf(path);
			unlink(lock);
			st.repos_removed++;
		}
		if (fd >= 0)
			close(fd); /* releases the lock */
		free(path);
		free(lock);
	}
cleanup:
	if (d)
		closedir(d);
	free(dir);
	for (i = 0; i < n_urls; i++)
		free(keep[i]);
	free(keep);
	if (stats)
		*stats = st;
	return rc;
}
