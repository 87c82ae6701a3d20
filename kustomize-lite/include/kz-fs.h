/* kz-fs.h - the root-confined file reader every kustomize-lite load goes
 * through.
 *
 * A kz_fs is either a directory on disk (the checkout) or an in-memory tree
 * (tests, the fuzzer).  Every path given to it is relative to its root and
 * is normalised first: a path that is absolute, or whose ".." climbs above
 * the root, is rejected with GS_EINVAL; on disk a symlink whose target lies
 * outside the root is rejected the same way.  Nothing here is thread-safe on
 * a shared kz_fs (the memory tree may be read concurrently once built).
 */
#ifndef KZ_FS_H
#define KZ_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"

struct kz_fs;

/* Open a directory on disk as the root.  *out is owned by the caller
 * (kz_fs_free).  Errors: GS_ENOTFOUND when root is not a directory. */
int kz_fs_new_disk(struct kz_fs **out, const char *root, struct gs_error *err);

/* An empty in-memory tree.  Never fails. */
struct kz_fs *kz_fs_new_mem(void);

/* Add a file (data copied) to a memory tree; parent directories appear
 * implicitly.  Errors: GS_EINVAL for a path that escapes the root or a
 * disk-backed fs. */
int kz_fs_mem_add(struct kz_fs *fs, const char *path, const char *data, size_t len,
		  struct gs_error *err);

void kz_fs_free(struct kz_fs *fs);

/* Root path on disk ("" for memory trees); borrowed. */
const char *kz_fs_root(const struct kz_fs *fs);

enum kz_fs_kind { KZ_FS_NONE = 0, KZ_FS_FILE, KZ_FS_DIR };

/* What is at path (already normalised, see kz_path_join)?  KZ_FS_NONE when
 * missing, unreadable or outside the root. */
enum kz_fs_kind kz_fs_stat(const struct kz_fs *fs, const char *path);

/* Is path in or below dir, both as written and once symlinks are followed
 * (kustomize's load restrictor resolves links before its check)? */
bool kz_fs_within(const struct kz_fs *fs, const char *path, const char *dir);

/* Append the whole file at path to out (out->max applies).  Errors:
 * GS_ENOTFOUND (missing), GS_EINVAL (escapes root), GS_EIO, GS_ELIMIT. */
int kz_fs_read(const struct kz_fs *fs, const char *path, struct gs_buf *out,
	       struct gs_error *err);

/* Entries of directory path, sorted by byte order.  *names_out is an owned
 * array of owned strings (kz_fs_list_free); is_dir_out (may be NULL) an
 * owned parallel array.  Errors: GS_ENOTFOUND, GS_EIO. */
int kz_fs_list(const struct kz_fs *fs, const char *path, char ***names_out, bool **is_dir_out,
	       size_t *n_out, struct gs_error *err);
void kz_fs_list_free(char **names, bool *is_dir, size_t n);

/* Join rel onto dir (both root-relative) and normalise "." and "..".
 * *out is owned; "" names the root.  Errors: GS_EINVAL when rel is
 * absolute or the result climbs above the root. */
int kz_path_join(char **out, const char *dir, const char *rel, struct gs_error *err);

/* True when path is dir itself or lies below it (both normalised). */
bool kz_path_within(const char *path, const char *dir);

#endif
