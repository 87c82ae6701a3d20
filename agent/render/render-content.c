/* render-content.c - what a plain directory's render reads, as one digest
 * (see render_content_key in render.h).  Not in the front binary: it needs
 * libcrypto, and only the agent's memo asks. */
#include "render/render.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gs-alloc.h"

#define CONTENT_MAX_FILES 1000
#define CONTENT_MAX_BYTES ((size_t)4 << 20)
#define CONTENT_MAX_DEPTH 16

struct walk {
	EVP_MD_CTX *md;
	size_t files, bytes;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A field: its length, then its bytes, so "ab"+"c" never hashes as "a"+"bc". */
static void field(struct walk *w, const char *v, size_t len)
{
	char n[32];

	snprintf(n, sizeof(n), "%zu:", len);
	EVP_DigestUpdate(w->md, n, strlen(n));
	EVP_DigestUpdate(w->md, v, len);
}

static bool is_kustomization(const char *name)
{
	return !strcmp(name, "kustomization.yaml") || !strcmp(name, "kustomization.yml") ||
	       !strcmp(name, "Kustomization");
}

static bool hash_file(struct walk *w, int dfd, const char *name, off_t size)
{
	char buf[65536], n[32];
	size_t total = 0;
	ssize_t r;
	int fd;

	if (++w->files > CONTENT_MAX_FILES || (w->bytes += (size_t)size) > CONTENT_MAX_BYTES)
		return false;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	field(w, "f", 1);
	field(w, name, strlen(name));
	/* the size before the bytes (as field does): the stream decodes one
	 * way only; a file that changed size while read gives no key */
	snprintf(n, sizeof(n), "%lld:", (long long)size);
	EVP_DigestUpdate(w->md, n, strlen(n));
	while ((r = read(fd, buf, sizeof(buf))) > 0 && total + (size_t)r <= (size_t)size) {
		EVP_DigestUpdate(w->md, buf, (size_t)r);
		total += (size_t)r;
	}
	close(fd);
	return r == 0 && total == (size_t)size;
}

static bool walk_dir(struct walk *w, int dfd, bool recurse, int depth)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	bool ok = true;
	int fd = dup(dfd);

	if (fd < 0 || depth > CONTENT_MAX_DEPTH || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		GS_ALLOC_GROW(names, n + 1, alloc);
		names[n++] = gs_strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n && ok; i++) {
		struct stat st;

		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISLNK(st.st_mode) ||
		    is_kustomization(names[i])) {
			ok = false; /* a link or a kustomization may read outside */
		} else if (S_ISREG(st.st_mode)) {
			ok = hash_file(w, dfd, names[i], st.st_size);
		} else if (S_ISDIR(st.st_mode)) {
			int sub;

			if (!recurse)
				continue; /* not read */
			sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			field(w, "d", 1);
			field(w, names[i], strlen(names[i]));
			ok = sub >= 0 && walk_dir(w, sub, recurse, depth + 1);
			if (sub >= 0)
				close(sub);
			field(w, "e", 1);
		} else {
			ok = false;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ok;
}

bool render_content_key(char hex[65], const char *dir, bool recurse)
{
	struct walk w = { NULL, 0, 0 };
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	bool ok;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0)
		return false;
	w.md = EVP_MD_CTX_new();
	ok = w.md && EVP_DigestInit_ex(w.md, EVP_sha256(), NULL) == 1 &&
	     walk_dir(&w, dfd, recurse, 0) && EVP_DigestFinal_ex(w.md, out, &len) == 1 &&
	     len == 32;
	EVP_MD_CTX_free(w.md);
	close(dfd);
	if (!ok)
		return false;
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
	return true;
}
