/* cmd-render.c - `gitsync render PATH [--recurse] [-o yaml|json]`: print what
 * `kubectl kustomize PATH` prints (or the objects of a plain manifests
 * directory / file).  On error nothing reaches stdout: the whole output is
 * built in memory first. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "kz-build.h"
#include "mf-json.h"
#include "mf-yaml.h"

static void render_usage(FILE *f)
{
	fprintf(f, "usage: gitsync render PATH [--recurse] [-o yaml|json]\n\n"
		   "Render a kustomization directory (like `kubectl kustomize PATH`), a directory\n"
		   "of plain manifests (*.yaml, *.yml, *.json; --recurse descends) or one file.\n\n"
		   "  -o, --output FORMAT   yaml (default: a --- separated stream) or json (a List)\n"
		   "  --recurse             descend into subdirectories of a plain manifests directory\n"
		   "  --root DIR            files may not be read outside DIR (default: the enclosing Git\n"
		   "                        checkout, else PATH itself; .git is never read)\n");
}

int cmd_render(int argc, char **argv)
{
	const char *path = NULL, *format = "yaml", *root_opt = NULL;
	unsigned flags = 0;
	struct gs_error err = GS_ERROR_INIT;
	struct kz_output out = KZ_OUTPUT_INIT;
	struct kz_fs *fs = NULL;
	struct gs_buf buf = GS_BUF_INIT;
	char *abs = NULL, *root = NULL, *rel = NULL;
	int i, ret = CLI_EXIT_ERROR;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			render_usage(stdout);
			return CLI_EXIT_OK;
		} else if (!strcmp(a, "--recurse")) {
			flags |= KZ_RENDER_RECURSE;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (++i >= argc)
				return cli_usage_error("render", "%s needs a value", a);
			format = argv[i];
		} else if (!strncmp(a, "--output=", 9)) {
			format = a + 9;
		} else if (!strncmp(a, "-o", 2) && a[2]) {
			format = a + 2;
		} else if (!strcmp(a, "--root")) {
			if (++i >= argc)
				return cli_usage_error("render", "--root needs a value");
			root_opt = argv[i];
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error("render", "unknown option '%s'", a);
		} else if (path) {
			return cli_usage_error("render", "only one PATH is accepted");
		} else {
			path = a;
		}
	}
	if (!path)
		return cli_usage_error("render", "PATH is required");
	if (strcmp(format, "yaml") && strcmp(format, "json"))
		return cli_usage_error("render", "unknown output format '%s' (yaml or json)", format);

	abs = realpath(path, NULL);
	if (!abs) {
		gs_error_set(&err, GS_ENOTFOUND, "'%s': no such file or directory", path);
		goto cleanup;
	}
	root = root_opt ? realpath(root_opt, NULL) : cli_confinement_root(abs);
	if (!root) {
		gs_error_set(&err, GS_ENOTFOUND, "root '%s': no such directory", root_opt);
		goto cleanup;
	}
	if (strcmp(root, "/") &&
	    (strncmp(abs, root, strlen(root)) || (abs[strlen(root)] && abs[strlen(root)] != '/'))) {
		gs_error_set(&err, GS_EINVAL, "'%s' is outside the root '%s'", path, root);
		goto cleanup;
	}
	rel = gs_strdup(abs + (strcmp(root, "/") ? strlen(root) : 0) + (abs[strlen(root)] == '/' || !strcmp(root, "/") ? 1 : 0));
	if (kz_fs_new_disk(&fs, root, &err) < 0)
		goto cleanup;
	if (kz_render(&out, fs, rel, flags, &err) < 0) {
		size_t l = strlen(err.msg);

		/* outside a checkout the root is PATH itself: say how to widen it */
		char *dotgit = gs_asprintf("%s/.git", root);
		struct stat st;
		bool checkout = lstat(dotgit, &st) == 0;

		free(dotgit);
		if (err.code == GS_EINVAL && !root_opt && !checkout && strstr(err.msg, "root"))
			snprintf(err.msg + l, sizeof(err.msg) - l,
				 " (not in a Git checkout: the root is '%s'; give --root DIR to "
				 "allow more)", path);
		goto cleanup;
	}
	if (!strcmp(format, "json")) {
		struct mf_node *list = mf_node_new(MF_MAP), *items = mf_node_new(MF_SEQ);
		size_t k;

		mf_node_set_str_value(list, "apiVersion", "v1");
		mf_node_set(list, "items", items);
		mf_node_set_str_value(list, "kind", "List");
		mf_node_set(list, "metadata", mf_node_new(MF_MAP));
		for (k = 0; k < out.docs.n; k++) {
			mf_node_append(items, out.docs.docs[k]);
			out.docs.docs[k] = NULL;
		}
		out.docs.n = 0;
		mf_node_sort_keys(list, true);
		if (mf_json_emit(&buf, list, MF_JSON_PRETTY) < 0) {
			mf_node_free(list);
			gs_error_set(&err, GS_ERR, "cannot encode the output as JSON");
			goto cleanup;
		}
		mf_node_free(list);
		gs_buf_putc(&buf, '\n');
	} else {
		size_t k;

		/* one document at a time, freed as soon as it is written: the
		 * rendered set never exists twice (tree and text) in memory */
		for (k = 0; k < out.docs.n; k++) {
			gs_buf_reset(&buf);
			if (k)
				gs_buf_puts(&buf, "---\n");
			if (mf_yaml_emit(&buf, out.docs.docs[k], MF_EMIT_SORT_KEYS) < 0) {
				gs_error_set(&err, GS_ERR, "cannot encode the output as YAML");
				goto cleanup;
			}
			mf_node_free(out.docs.docs[k]);
			out.docs.docs[k] = NULL;
			if (fwrite(buf.ptr, 1, buf.len, stdout) != buf.len) {
				gs_error_set(&err, GS_EIO, "cannot write the output");
				goto cleanup;
			}
		}
		gs_buf_reset(&buf);
	}
	if (fwrite(buf.ptr, 1, buf.len, stdout) != buf.len || fflush(stdout) != 0) {
		gs_error_set(&err, GS_EIO, "cannot write the output");
		goto cleanup;
	}
	ret = CLI_EXIT_OK;
cleanup:
	if (ret != CLI_EXIT_OK)
		cli_error(&err);
	gs_buf_release(&buf);
	kz_output_release(&out);
	kz_fs_free(fs);
	free(abs);
	free(root);
	free(rel);
	return ret;
}
