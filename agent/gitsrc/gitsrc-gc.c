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
	return du(gitsrc_cache_path(src));
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

/* The commit an entry of trees/<key>/ belongs to: "<sha>", "<sha>.done",
 * ".<sha>.done.tmp" or a crashed write's ".tmp-<sha>-XXXXXX"; NULL for
 * anything else (removed too: we wrote nothing else there). */
static const char *entry_sha(const char *name)
{
	if (!strncmp(name, ".tmp-", 5))
		name += 5;
	else if (name[0] == '.')
		name++;
	return strlen(name) >= 40 && strspn(name, "0123456789abcdef") >= 40 ? name : NULL;
}

/* Collect trees/<key>: remove what no listed commit uses; *in_use tells
 * whether a listed commit's export is there (then the key's clone stays). */
static void gc_key(struct gitsrc_gc_stats *st, const char *kdir, const char *const *shas,
		   size_t n_shas, double min_age_s, bool *in_use)
{
	DIR *d = opendir(kdir);
	struct dirent *de;

	*in_use = false;
	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *sha = entry_sha(de->d_name);
		char *path;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (sha && listed(sha, 40, shas, n_shas)) {
			*in_use = true;
			continue;
		}
		path = gs_asprintf("%s/%s", kdir, de->d_name);
		/* young entries may be an export being written or rendered now */
		if (old_enough(path, min_age_s)) {
			struct stat sb;
			bool dir = lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);

			st->bytes_freed += du(path);
			rm_rf(path);
			if (dir && de->d_name[0] != '.')
				st->exports_removed++;
		}
		free(path);
	}
	closedir(d);
}

int gitsrc_gc(struct gitsrc_gc_stats *stats, struct gitsrc *src, const char *const *shas,
	      size_t n_shas, double min_age_s, struct gs_error *err)
{
	const char *cache = gitsrc_cache_path(src);
	char *dir = NULL, **keep = NULL;
	size_t n_keep = 0, cap_keep = 0;
	struct gitsrc_gc_stats st = { 0 };
	DIR *d = NULL;
	struct dirent *de;
	size_t i;
	int rc = GS_OK;

	/* exports: trees/<key>/<sha>, key = repository + credentials */
	dir = gs_asprintf("%s/trees", cache);
	if (!(d = opendir(dir))) {
		rc = gs_error_set(err, GS_EIO, "gc: cannot open '%s': %s", dir, strerror(errno));
		goto cleanup;
	}
	while ((de = readdir(d))) {
		char *kdir;
		bool in_use;

		if (de->d_name[0] == '.')
			continue;
		kdir = gs_asprintf("%s/%s", dir, de->d_name);
		gc_key(&st, kdir, shas, n_shas, min_age_s, &in_use);
		if (in_use) {
			if (n_keep == cap_keep) {
				cap_keep = cap_keep ? 2 * cap_keep : 8;
				keep = gs_realloc(keep, cap_keep * sizeof(*keep));
			}
			keep[n_keep++] = gs_strdup(de->d_name);
		} else if (old_enough(kdir, min_age_s)) {
			rmdir(kdir); /* empty now, or kept young entries */
		}
		free(kdir);
	}
	closedir(d);
	d = NULL;
	free(dir);
	/* repositories: repos/<key>.git and repos/<key>.lock; a clone stays
	 * while a listed commit is exported from it (a URL alone cannot name
	 * it: the key covers the credentials too) */
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
		    listed(de->d_name, 32, (const char *const *)keep, n_keep))
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
	for (i = 0; i < n_keep; i++)
		free(keep[i]);
	free(keep);
	if (stats)
		*stats = st;
	return rc;
}
