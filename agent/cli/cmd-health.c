/* cmd-health.c - `gitsync health [--lua-dir DIR] [-o table|json|yaml] FILE...`:
 * the health of each object in the files, with the rule that decided and
 * its message, without a cluster: the way to try a Lua check (or to see
 * what gitsync makes of an object from `kubectl get -o yaml`) before
 * deploying it.  Argo CD's counterpart is `argocd admin settings
 * resource-overrides health`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gs-alloc.h"
#include "gs-buf.h"
#include "health/health-lua.h"
#include "mf-json.h"
#include "mf-object.h"
#include "mf-yaml.h"
#include "sync/sync.h"

/* Largest input file: objects dumped from a cluster, not a cluster dump. */
#define HEALTH_FILE_MAX (64u << 20)

static void health_usage(FILE *f)
{
	fprintf(f, "usage: gitsync health [--lua-dir DIR]... [--lua-configmap FILE] [-o table|json|yaml] FILE...\n\n"
		   "Print the health of each object in the files (YAML streams, JSON objects,\n"
		   "kind: List; - reads stdin) as the agent would judge it, with the rule used\n"
		   "and its message. No cluster is needed: use it to try a Lua health check on\n"
		   "objects saved with `kubectl get -o yaml`.\n\n"
		   "  --lua-dir DIR         Lua health checks in Argo CD's folder layout:\n"
		   "                        DIR/<group>/<kind>/health.lua, DIR/<kind>/health.lua\n"
		   "                        for core kinds (`_` stands for `*`); repeatable, a\n"
		   "                        later directory wins\n"
		   "  --lua-configmap FILE  the checks of a gitsync-health ConfigMap saved in FILE\n"
		   "                        (keys <group>_<kind>, as the agent reads them); they\n"
		   "                        win over --lua-dir scripts for the same group/kind\n"
		   "  -o, --output FORMAT   table (default), json or yaml: a list of {group,\n"
		   "                        version, kind, namespace, name, health, message, rule}\n\n"
		   "health is \"\" (table: -) for kinds without health (ConfigMap, ...). rule is the\n"
		   "built-in rule (Deployment, Pod, generic, ...) or lua:<where the script came from>.\n"
		   "The files are read as live objects: a duplicate key keeps its last value, as\n"
		   "kubectl (sigs.k8s.io/yaml) and the API server's JSON do (manifests in Git\n"
		   "refuse duplicate keys).\n");
}

/* Append the objects of one file's documents to objs (a List's items one
 * by one). */
static void add_objects(struct mf_node *objs, struct mf_node *doc)
{
	const char *kind = mf_obj_kind(doc);
	struct mf_node *items = mf_node_get(doc, "items");

	if (kind && strlen(kind) >= 4 && !strcmp(kind + strlen(kind) - 4, "List") &&
	    mf_node_type(items) == MF_SEQ) {
		while (mf_node_len(items))
			add_objects(objs, mf_node_take_at(items, 0));
		mf_node_free(doc);
		return;
	}
	if (mf_node_type(doc) == MF_MAP)
		mf_node_append(objs, doc);
	else
		mf_node_free(doc);
}

static int read_objects(struct mf_node *objs, const char *path, struct gs_error *err)
{
	struct gs_buf buf = GS_BUF_INIT;
	struct mf_docs docs = MF_DOCS_INIT;
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	size_t i;
	int rc;

	buf.max = HEALTH_FILE_MAX;
	if (!strcmp(path, "-")) {
		char chunk[65536];
		size_t n;

		rc = GS_OK;
		while (rc == GS_OK && (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			if (gs_buf_add(&buf, chunk, n) < 0)
				rc = gs_error_set(err, GS_ELIMIT, "<stdin>: more than %u bytes",
						  HEALTH_FILE_MAX);
	} else {
		rc = gs_buf_read_file(&buf, path, err);
	}
	if (rc < 0)
		goto cleanup;
	i = strspn(buf.ptr, " \t\r\n");
	if (buf.ptr[i] == '{' || buf.ptr[i] == '[') {
		/* JSON as the API server gives it: duplicate keys keep the last */
		struct mf_node *doc = NULL;

		if ((rc = mf_json_parse(&doc, buf.ptr, buf.len, name, err)) < 0)
			goto cleanup;
		if (mf_node_type(doc) == MF_SEQ) {
			while (mf_node_len(doc))
				add_objects(objs, mf_node_take_at(doc, 0));
			mf_node_free(doc);
		} else {
			add_objects(objs, doc);
		}
	} else {
		/* objects as a cluster or a fixture gave them: a duplicate key
		 * keeps its last value, as kubectl's sigs.k8s.io/yaml does */
		struct mf_yaml_limits lim = { .flags = MF_YAML_DUP_KEEP_LAST };

		if ((rc = mf_yaml_parse(&docs, buf.ptr, buf.len, name, &lim, err)) < 0)
			goto cleanup;
		while (docs.n)
			add_objects(objs, mf_docs_take(&docs, 0));
	}
	rc = GS_OK;
cleanup:
	mf_docs_release(&docs);
	gs_buf_release(&buf);
	return rc;
}

static int load_configmap(struct hl_set *set, const char *path, struct gs_error *err)
{
	struct mf_node *objs = mf_node_new(MF_SEQ);
	size_t i;
	int rc;

	if ((rc = read_objects(objs, path, err)) < 0)
		goto cleanup;
	for (i = 0; i < mf_node_len(objs); i++) {
		const char *kind = mf_obj_kind(mf_node_at(objs, i));

		if (!kind || strcmp(kind, "ConfigMap")) {
			rc = gs_error_set(err, GS_EINVAL, "%s: document %zu is a %s, not a ConfigMap",
					  path, i + 1, kind ? kind : "document without kind");
			goto cleanup;
		}
		if ((rc = hl_set_load_configmap(set, mf_node_at(objs, i), err)) < 0) {
			gs_error_wrap(err, "%s", path);
			goto cleanup;
		}
	}
cleanup:
	mf_node_free(objs);
	return rc;
}

static struct mf_node *row(const struct mf_node *obj, enum sync_health h, const char *msg,
			   const char *rule)
{
	struct mf_node *r = mf_node_new(MF_MAP);
	char *group = NULL, *version = NULL;

	mf_split_api_version(mf_obj_api_version(obj), &group, &version);
	mf_node_set_str_value(r, "group", group ? group : "");
	mf_node_set_str_value(r, "version", version ? version : "");
	mf_node_set_str_value(r, "kind", mf_obj_kind(obj) ? mf_obj_kind(obj) : "");
	mf_node_set_str_value(r, "namespace", mf_obj_namespace(obj) ? mf_obj_namespace(obj) : "");
	mf_node_set_str_value(r, "name", mf_obj_name(obj) ? mf_obj_name(obj) : "");
	mf_node_set_str_value(r, "health", sync_health_str(h));
	mf_node_set_str_value(r, "message", msg ? msg : "");
	mf_node_set_str_value(r, "rule", rule ? rule : "");
	free(group);
	free(version);
	return r;
}

static void table(struct gs_buf *out, const struct mf_node *rows)
{
	static const char *const cols[] = { "GROUP", "KIND", "NAMESPACE", "NAME", "HEALTH", "RULE",
					    "MESSAGE" };
	static const char *const keys[] = { "group", "kind", "namespace", "name", "health", "rule",
					    "message" };
	size_t w[7], i, c;

	for (c = 0; c < 7; c++)
		w[c] = strlen(cols[c]);
	for (i = 0; i < mf_node_len(rows); i++)
		for (c = 0; c < 6; c++) {
			size_t l = strlen(mf_node_dig_str(mf_node_at(rows, i), keys[c], NULL));

			if (l > w[c])
				w[c] = l;
		}
	for (c = 0; c < 7; c++)
		if (c < 6)
			gs_buf_printf(out, "%-*s  ", (int)w[c], cols[c]);
		else
			gs_buf_printf(out, "%s\n", cols[c]);
	for (i = 0; i < mf_node_len(rows); i++)
		for (c = 0; c < 7; c++) {
			const char *v = mf_node_dig_str(mf_node_at(rows, i), keys[c], NULL);

			if (!*v && c < 6)
				v = "-";
			if (c < 6)
				gs_buf_printf(out, "%-*s  ", (int)w[c], v);
			else
				gs_buf_printf(out, "%s\n", v);
		}
}

int cmd_health(int argc, char **argv)
{
	const char *format = "table", *cm_file = NULL;
	struct gs_error err = GS_ERROR_INIT;
	struct hl_set *set = hl_set_new(NULL);
	struct mf_node *objs = mf_node_new(MF_SEQ), *rows = mf_node_new(MF_SEQ);
	struct gs_buf out = GS_BUF_INIT;
	const char **dirs = gs_calloc((size_t)argc + 1, sizeof(*dirs));
	const char **files = gs_calloc((size_t)argc + 1, sizeof(*files));
	size_t ndirs = 0, nfiles = 0, i;
	int ret = CLI_EXIT_ERROR, a;

	for (a = 1; a < argc; a++) {
		const char *s = argv[a];

		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			health_usage(stdout);
			ret = CLI_EXIT_OK;
			goto done;
		} else if (!strcmp(s, "--lua-dir") || !strcmp(s, "--lua-configmap") ||
			   !strcmp(s, "-o") || !strcmp(s, "--output")) {
			if (++a >= argc) {
				ret = cli_usage_error("health", "%s needs a value", s);
				goto done;
			}
			if (!strcmp(s, "--lua-dir"))
				dirs[ndirs++] = argv[a];
			else if (!strcmp(s, "--lua-configmap"))
				cm_file = argv[a];
			else
				format = argv[a];
		} else if (!strncmp(s, "--lua-dir=", 10)) {
			dirs[ndirs++] = s + 10;
		} else if (!strncmp(s, "--output=", 9)) {
			format = s + 9;
		} else if (!strncmp(s, "-o", 2) && s[2]) {
			format = s + 2;
		} else if (s[0] == '-' && s[1]) {
			ret = cli_usage_error("health", "unknown option '%s'", s);
			goto done;
		} else {
			files[nfiles++] = s;
		}
	}
	if (!nfiles) {
		ret = cli_usage_error("health", "FILE is required");
		goto done;
	}
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "yaml")) {
		ret = cli_usage_error("health", "unknown output format '%s' (table, json or yaml)",
				      format);
		goto done;
	}
	/* the ConfigMap last: as in the agent, it overrides a directory's
	 * script for the same group/kind */
	for (i = 0; i < ndirs; i++)
		if (hl_set_load_dir(set, dirs[i], &err) < 0)
			goto done;
	if (cm_file && load_configmap(set, cm_file, &err) < 0)
		goto done;
	for (i = 0; i < nfiles; i++)
		if (read_objects(objs, files[i], &err) < 0)
			goto done;
	for (i = 0; i < mf_node_len(objs); i++) {
		const struct mf_node *obj = mf_node_at(objs, i);
		const char *rule = NULL;
		char *msg = NULL;
		enum sync_health h = hl_health_of(set, obj, &msg, &rule);

		mf_node_append(rows, row(obj, h, msg, rule));
		free(msg);
	}
	if (!strcmp(format, "json")) {
		mf_json_emit(&out, rows, MF_JSON_PRETTY);
		gs_buf_putc(&out, '\n');
	} else if (!strcmp(format, "yaml")) {
		mf_yaml_emit(&out, rows, 0);
	} else {
		table(&out, rows);
	}
	if (fwrite(out.ptr, 1, out.len, stdout) != out.len || fflush(stdout)) {
		gs_error_set(&err, GS_EIO, "cannot write the output");
		goto done;
	}
	ret = CLI_EXIT_OK;
done:
	if (ret == CLI_EXIT_ERROR)
		cli_error(&err);
	gs_buf_release(&out);
	mf_node_free(objs);
	mf_node_free(rows);
	hl_set_free(set);
	free(dirs);
	free(files);
	return ret;
}
