/* kz-fs.c - root-confined file access (see kz-fs.h). */
#include "kz-fs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "gs-alloc.h"

struct kz_mem_file {
	char *path;
	char *data;
	size_t len;
};

struct kz_fs {
	char *root; /* realpath of the root directory; NULL for a memory tree */
	struct kz_mem_file *files;
	size_t n, alloc;
};

int kz_fs_new_disk(struct kz_fs **out, const char *root, struct gs_error *err)
{
	char *real = realpath(root, NULL);
	struct stat st;
	struct kz_fs *fs;

	if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(real);
		return gs_error_set(err, GS_ENOTFOUND, "'%s' is not a directory", root);
	}
	fs = gs_calloc(1, sizeof(*fs));
	fs->root = real;
	*out = fs;
	return GS_OK;
}

struct kz_fs *kz_fs_new_mem(void)
{
	return gs_calloc(1, sizeof(struct kz_fs));
}

void kz_fs_free(struct kz_fs *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->n; i++) {
		free(fs->files[i].path);
		free(fs->files[i].data);
	}
	free(fs->files);
	free(fs->root);
	free(fs);
}

const char *kz_fs_root(const struct kz_fs *fs)
{
	return fs->root ? fs->root : "";
}

int kz_path_join(char **out, const char *dir, const char *rel, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	const char *parts[2] = { dir ? dir : "", rel ? rel : "" };
	int i;

	if (rel && rel[0] == '/')
		return gs_error_set(err, GS_EINVAL, "absolute path '%s' is not allowed", rel);
	for (i = 0; i < 2; i++) {
		const char *p = parts[i];

		while (*p) {
			const char *e = strchr(p, '/');
			size_t len = e ? (size_t)(e - p) : strlen(p);

			if (len == 0 || (len == 1 && p[0] == '.')) {
				/* skip empty and "." segments */
			} else if (len == 2 && p[0] == '.' && p[1] == '.') {
				char *slash;

				if (b.len == 0) {
					gs_buf_release(&b);
					return gs_error_set(err, GS_EINVAL,
							    "path '%s' escapes the root", rel);
				}
				slash = strrchr(b.ptr, '/');
				b.len = slash ? (size_t)(slash - b.ptr) : 0;
				b.ptr[b.len] = '\0';
			} else {
				if (b.len)
					gs_buf_putc(&b, '/');
				gs_buf_add(&b, p, len);
			}
			p += len;
			if (*p == '/')
				p++;
		}
	}
	*out = gs_buf_detach(&b, NULL);
	return GS_OK;
}

bool kz_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return true;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

int kz_fs_mem_add(struct kz_fs *fs, const char *path, const char *data, size_t len,
		  struct gs_error *err)
{
	char *norm = NULL;
	int rc;

	if (fs->root)
		return gs_error_set(err, GS_EINVAL, "not a memory tree");
	if ((rc = kz_path_join(&norm, "", path, err)) < 0)
		return rc;
	GS_ALLOC_GROW(fs->files, fs->n + 1, fs->alloc);
	fs->files[fs->n].path = norm;
	fs->files[fs->n].data = gs_malloc(len + 1);
	if (len)
		memcpy(fs->files[fs->n].data, data, len);
	fs->files[fs->n].data[len] = '\0';
	fs->files[fs->n].len = len;
	fs->n++;
	return GS_OK;
}

/* Does rel (below the root) pass through a directory git owns?  ".git" in
 * any case: a checkout's .git/config may hold a CI token. */
static bool through_dotgit(const char *rel)
{
	while (*rel) {
		size_t n = strcspn(rel, "/");

		if (n == 4 && !strncasecmp(rel, ".git", 4))
			return true;
		rel += n;
		rel += *rel == '/';
	}
	return false;
}

/* Resolve path on disk, following symlinks, and insist the result stays
 * inside the root and out of .git: this is what stops a checkout's symlink
 * from reading /etc/passwd or .git/config (kubectl kustomize's
 * LoadRestrictionsRootOnly).  Returns an owned absolute path or NULL. */
static char *disk_resolve(const struct kz_fs *fs, const char *path, bool *escapes)
{
	char *abs = gs_asprintf("%s/%s", fs->root, path);
	char *real = realpath(abs, NULL);
	size_t rl = strcmp(fs->root, "/") ? strlen(fs->root) : 0;

	free(abs);
	*escapes = false;
	if (!real)
		return NULL;
	if (!kz_path_within(real, strcmp(fs->root, "/") ? fs->root : "") ||
	    through_dotgit(real + rl)) {
		*escapes = true;
		free(real);
		return NULL;
	}
	return real;
}

/* Root-relative path of what path names once symlinks are followed; owned,
 * NULL when missing or outside the root.  A memory tree has no links. */
static char *fs_real(const struct kz_fs *fs, const char *path)
{
	bool escapes;
	char *real, *rel;
	size_t n;

	if (!fs->root)
		return gs_strdup(path);
	if (!(real = disk_resolve(fs, path, &escapes)))
		return NULL;
	n = strcmp(fs->root, "/") ? strlen(fs->root) : 0;
	rel = gs_strdup(real[n] == '/' ? real + n + 1 : real + n);
	free(real);
	return rel;
}

bool kz_fs_within(const struct kz_fs *fs, const char *path, const char *dir)
{
	char *rp, *rd;
	bool ok;

	if (!kz_path_within(path, dir))
		return false;
	rp = fs_real(fs, path);
	rd = fs_real(fs, dir);
	/* missing: the read that follows reports it */
	ok = !rp || !rd || kz_path_within(rp, rd);
	free(rp);
	free(rd);
	return ok;
}

enum kz_fs_kind kz_fs_stat(const struct kz_fs *fs, const char *path)
{
	size_t i, n = strlen(path);

	if (fs->root) {
		bool escapes;
		char *real = disk_resolve(fs, path, &escapes);
		struct stat st;
		enum kz_fs_kind k = KZ_FS_NONE;

		if (real && stat(real, &st) == 0)
			k = S_ISDIR(st.st_mode) ? KZ_FS_DIR : S_ISREG(st.st_mode) ? KZ_FS_FILE : KZ_FS_NONE;
		free(real);
		return k;
	}
	if (n == 0)
		return KZ_FS_DIR;
	for (i = 0; i < fs->n; i++) {
		if (!strcmp(fs->files[i].path, path))
			return KZ_FS_FILE;
		if (!strncmp(fs->files[i].path, path, n) && fs->files[i].path[n] == '/')
			return KZ_FS_DIR;
	}
	return KZ_FS_NONE;
}

int kz_fs_read(const struct kz_fs *fs, const char *path, struct gs_buf *out,
	       struct gs_error *err)
{
	size_t i;

	if (fs->root) {
		bool escapes;
		char *real = disk_resolve(fs, path, &escapes);
		int rc;

		if (!real)
			return escapes ? gs_error_set(err, GS_EINVAL,
						      "'%s' leads outside the root or into .git "
						      "(a symlink?), which is never read", path)
				       : gs_error_set(err, GS_ENOTFOUND, "'%s': no such file", path);
		rc = gs_buf_read_file(out, real, err);
		free(real);
		return rc;
	}
	for (i = 0; i < fs->n; i++)
		if (!strcmp(fs->files[i].path, path))
			return gs_buf_add(out, fs->files[i].data, fs->files[i].len) < 0
				       ? gs_error_set(err, GS_ELIMIT, "'%s' is too large", path)
				       : GS_OK;
	return gs_error_set(err, GS_ENOTFOUND, "'%s': no such file", path);
}

struct entry {
	char *name;
	bool dir;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void add_entry(struct entry **v, size_t *n, size_t *alloc, const char *name, size_t len,
		      bool dir)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strlen((*v)[i].name) == len && !strncmp((*v)[i].name, name, len))
			return;
	GS_ALLOC_GROW(*v, *n + 1, *alloc);
	(*v)[*n].name = gs_strndup(name, len);
	(*v)[*n].dir = dir;
	(*n)++;
}

int kz_fs_list(const struct kz_fs *fs, const char *path, char ***names_out, bool **is_dir_out,
	       size_t *n_out, struct gs_error *err)
{
	struct entry *v = NULL;
	size_t n = 0, alloc = 0, i, plen = strlen(path);
	char **names;
	bool *dirs;

	if (kz_fs_stat(fs, path) != KZ_FS_DIR)
		return gs_error_set(err, GS_ENOTFOUND, "'%s' is not a directory", path);
	if (fs->root) {
		bool escapes;
		char *real = disk_resolve(fs, path, &escapes);
		DIR *d = real ? opendir(real) : NULL;
		struct dirent *de;

		if (!d) {
			free(real);
			return gs_error_set(err, GS_EIO, "cannot open directory '%s': %s", path,
					    strerror(errno));
		}
		while ((de = readdir(d)) != NULL) {
			char *child;
			struct stat st;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			child = gs_asprintf("%s/%s", real, de->d_name);
			if (stat(child, &st) == 0)
				add_entry(&v, &n, &alloc, de->d_name, strlen(de->d_name),
					  S_ISDIR(st.st_mode));
			free(child);
		}
		closedir(d);
		free(real);
	} else {
		for (i = 0; i < fs->n; i++) {
			const char *p = fs->files[i].path, *rest, *slash;

			if (plen && (strncmp(p, path, plen) || p[plen] != '/'))
				continue;
			rest = plen ? p + plen + 1 : p;
			slash = strchr(rest, '/');
			add_entry(&v, &n, &alloc, rest, slash ? (size_t)(slash - rest) : strlen(rest),
				  slash != NULL);
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), entry_cmp);
	names = gs_calloc(n + 1, sizeof(*names));
	dirs = gs_calloc(n + 1, sizeof(*dirs));
	for (i = 0; i < n; i++) {
		names[i] = v[i].name;
		dirs[i] = v[i].dir;
	}
	free(v);
	*names_out = names;
	if (is_dir_out)
		*is_dir_out = dirs;
	else
		free(dirs);
	*n_out = n;
	return GS_OK;
}

void kz_fs_list_free(char **names, bool *is_dir, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	free(is_dir);
}
