/* yaml-walk.h - round-trip checks over a directory of YAML/JSON files, shared by
 * test-mf-yaml.c, test-mf-json.c (test/unit/data) and test-corpus.c (the
 * conformance corpus outside the repository).  Header-only: each test is one
 * binary built from one file (test/unit/meson.build). */
#ifndef YAML_WALK_H
#define YAML_WALK_H

#include <dirent.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-json.h"
#include "mf-yaml.h"

static inline bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static inline void walk(const char *dir, void (*fn)(const char *path, void *payload), void *payload)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char *path;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		path = gs_asprintf("%s/%s", dir, de->d_name);
		if (!stat(path, &st) && S_ISDIR(st.st_mode))
			walk(path, fn, payload);
		else if (has_suffix(path, ".yaml") || has_suffix(path, ".yml") || has_suffix(path, ".json"))
			fn(path, payload);
		free(path);
	}
	closedir(d);
}

struct rt_stats {
	size_t files, docs, negative;
	int failures;
};

/* Known negative fixtures (corpus/repos/README.md): files that must not parse. */
static inline bool is_known_negative(const char *path)
{
	return strstr(path, "/negative/") != NULL;
}

static inline void round_trip_file(const char *path, void *payload)
{
	struct rt_stats *st = payload;
	struct gs_buf in = GS_BUF_INIT, out = GS_BUF_INIT;
	struct gs_error err = GS_ERROR_INIT;
	struct mf_docs d = MF_DOCS_INIT, again = MF_DOCS_INIT;
	size_t i;

	st->files++;
	if (gs_buf_read_file(&in, path, &err)) {
		print_error("%s: %s\n", path, err.msg);
		st->failures++;
		goto cleanup;
	}
	if (mf_yaml_parse(&d, in.ptr, in.len, path, NULL, &err)) {
		if (is_known_negative(path)) {
			st->negative++;
		} else {
			print_error("%s: %s\n", err.where, err.msg);
			st->failures++;
		}
		goto cleanup;
	}
	st->docs += d.n;
	mf_yaml_emit_docs(&out, d.docs, d.n, 0);
	if (mf_yaml_parse(&again, out.ptr, out.len, "emitted", NULL, &err)) {
		print_error("%s: emitted YAML fails: %s: %s\n", path, err.where, err.msg);
		st->failures++;
		goto cleanup;
	}
	if (again.n != d.n) {
		print_error("%s: %zu docs became %zu\n", path, d.n, again.n);
		st->failures++;
		goto cleanup;
	}
	for (i = 0; i < d.n; i++)
		if (!mf_node_equal(d.docs[i], again.docs[i])) {
			print_error("%s: document %zu differs after round trip\n", path, i);
			st->failures++;
			break;
		}
cleanup:
	mf_docs_release(&d);
	mf_docs_release(&again);
	gs_buf_release(&in);
	gs_buf_release(&out);
}

/* Every .json file under dir: same tree as the YAML parser gives, and
 * emit -> parse is the identity. */
static inline void check_json_dir(const char *dir, int *files, int *failures)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = gs_asprintf("%s/%s", dir, de->d_name);
		if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
			check_json_dir(path, files, failures);
		} else if (strlen(path) > 5 && !strcmp(path + strlen(path) - 5, ".json")) {
			struct gs_buf in = GS_BUF_INIT, out = GS_BUF_INIT;
			struct gs_error err = GS_ERROR_INIT;
			struct mf_docs y = MF_DOCS_INIT;
			struct mf_node *j = NULL, *again = NULL;

			(*files)++;
			if (gs_buf_read_file(&in, path, &err) ||
			    mf_json_parse(&j, in.ptr, in.len, path, &err) ||
			    mf_yaml_parse(&y, in.ptr, in.len, path, NULL, &err)) {
				print_error("%s: %s\n", err.where, err.msg);
				(*failures)++;
			} else if (y.n != 1 || !mf_node_equal(j, y.docs[0])) {
				print_error("%s: JSON and YAML parsers disagree\n", path);
				(*failures)++;
			} else if (mf_json_emit(&out, j, MF_JSON_PRETTY) ||
				   mf_json_parse(&again, out.ptr, out.len, "out", &err) ||
				   !mf_node_equal(j, again)) {
				print_error("%s: JSON round trip differs\n", path);
				(*failures)++;
			}
			mf_node_free(j);
			mf_node_free(again);
			mf_docs_release(&y);
			gs_buf_release(&in);
			gs_buf_release(&out);
		}
		free(path);
	}
	closedir(d);
}

#endif
