/* kube-config.c - kubeconfig loading, merging and in-cluster config. */
#include "kube/kube-config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gs-alloc.h"
#include "gs-base64.h"
#include "gs-buf.h"
#include "kube/kube-private.h"
#include "mf-yaml.h"

#define SA_ROOT "/var/run/secrets/kubernetes.io/serviceaccount"
/* a kubeconfig is small; bound what a bad path can make us read */
#define KUBECONFIG_MAX (16u << 20)

void kube_config_free(struct kube_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	free(cfg->context);
	free(cfg->server);
	free(cfg->namespace);
	free(cfg->ca_data);
	free(cfg->ca_file);
	free(cfg->tls_server_name);
	free(cfg->connect_to);
	free(cfg->token);
	free(cfg->token_file);
	free(cfg->cert_data);
	free(cfg->key_data);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->username);
	free(cfg->password);
	free(cfg->proxy_url);
	if (cfg->exec) {
		free(cfg->exec->api_version);
		free(cfg->exec->command);
		for (i = 0; cfg->exec->args && cfg->exec->args[i]; i++)
			free(cfg->exec->args[i]);
		free(cfg->exec->args);
		for (i = 0; cfg->exec->env && cfg->exec->env[i]; i++)
			free(cfg->exec->env[i]);
		free(cfg->exec->env);
		free(cfg->exec);
	}
	free(cfg);
}

/* kubeconfig *-data fields: base64 as kubectl writes it, or wrapped like PEM */
int kube_base64_decode(char **out, size_t *len_out, const char *in, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	int rc = gs_base64_decode(&b, in, strlen(in), GS_BASE64_LENIENT, err);

	if (rc < 0) {
		gs_buf_release(&b);
		return rc;
	}
	*out = gs_buf_detach(&b, len_out);
	return GS_OK;
}

/* Resolve p against dir unless absolute; owned result. */
static char *resolve_path(const char *p, const char *dir)
{
	if (!p)
		return NULL;
	if (p[0] == '/' || !dir || !dir[0])
		return gs_strdup(p);
	if (p[0] == '~' && p[1] == '/' && getenv("HOME"))
		return gs_asprintf("%s/%s", getenv("HOME"), p + 2);
	return gs_asprintf("%s/%s", dir, p);
}

static char *dup_opt(const char *s)
{
	return s && s[0] ? gs_strdup(s) : NULL;
}

/* Find the entry named name in seq (clusters/users/contexts). */
static const struct mf_node *named(const struct mf_node *doc, const char *list, const char *name)
{
	const struct mf_node *seq = mf_node_get(doc, list);
	size_t i;

	for (i = 0; i < mf_node_len(seq); i++) {
		const struct mf_node *e = mf_node_at(seq, i);
		const char *n = mf_node_dig_str(e, "name", NULL);

		if (n && !strcmp(n, name))
			return e;
	}
	return NULL;
}

/* Every entry may carry its own base dir (set by the merge in "gs-dir"). */
static const char *entry_dir(const struct mf_node *e, const char *dflt)
{
	const char *d = mf_node_dig_str(e, "gs-dir", NULL);

	return d ? d : dflt;
}

static char **string_list(const struct mf_node *seq)
{
	size_t i, n = mf_node_len(seq);
	char **v = gs_calloc(n + 1, sizeof(*v));

	for (i = 0; i < n; i++)
		v[i] = gs_strdup(mf_node_str(mf_node_at(seq, i)) ? mf_node_str(mf_node_at(seq, i)) : "");
	return v;
}

/* tls-server-name (kubectl: the name TLS asks for and verifies, while the
 * connection goes to server): rewrite server to that name and keep the real
 * address for CONNECT_TO. */
static int apply_tls_server_name(struct kube_config *cfg, struct gs_error *err)
{
	const char *s = cfg->server, *host, *end, *path;
	char *real_host, *port;
	bool v6;

	if (strncmp(s, "https://", 8))
		return gs_error_set(err, GS_EINVAL, "tls-server-name needs an https server, not '%s'",
				    s);
	host = s + 8;
	v6 = *host == '[';
	end = v6 ? strchr(host, ']') : host + strcspn(host, ":/");
	if (!end)
		return gs_error_set(err, GS_EINVAL, "server '%s': bad address", s);
	if (v6)
		end++;
	real_host = gs_strndup(host, (size_t)(end - host));
	path = end + strcspn(end, "/");
	port = *end == ':' ? gs_strndup(end + 1, (size_t)(path - end - 1)) : gs_strdup("443");
	cfg->connect_to = gs_asprintf("%s:%s:%s:%s", cfg->tls_server_name, port, real_host, port);
	{
		char *server = gs_asprintf("https://%s:%s%s", cfg->tls_server_name, port, path);

		free(cfg->server); /* path points into it: free it only now */
		cfg->server = server;
	}
	free(real_host);
	free(port);
	return GS_OK;
}

static int load_exec(struct kube_config *cfg, const struct mf_node *ex, const char *dir,
		     struct gs_error *err)
{
	const char *cmd = mf_node_dig_str(ex, "command", NULL);
	const struct mf_node *env = mf_node_get(ex, "env");
	size_t i, n = mf_node_len(env);

	if (!cmd || !cmd[0])
		return gs_error_set(err, GS_EINVAL, "exec credential plugin without a command");
	cfg->exec = gs_calloc(1, sizeof(*cfg->exec));
	cfg->exec->api_version = gs_strdup(mf_node_dig_str(ex, "apiVersion", NULL)
						   ? mf_node_dig_str(ex, "apiVersion", NULL)
						   : "client.authentication.k8s.io/v1");
	/* kubectl resolves a relative command containing a '/' against the
	 * kubeconfig's directory, and looks a bare name up in PATH */
	cfg->exec->command = strchr(cmd, '/') ? resolve_path(cmd, dir) : gs_strdup(cmd);
	cfg->exec->args = string_list(mf_node_get(ex, "args"));
	cfg->exec->timeout_s = 30;
	cfg->exec->env = gs_calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		const char *k = mf_node_dig_str(mf_node_at(env, i), "name", NULL);
		const char *v = mf_node_dig_str(mf_node_at(env, i), "value", NULL);

		cfg->exec->env[i] = gs_asprintf("%s=%s", k ? k : "", v ? v : "");
	}
	return GS_OK;
}

int kube_config_from_node(struct kube_config **out, const struct mf_node *doc, const char *dir,
			  const char *context, struct gs_error *err)
{
	struct kube_config *cfg = gs_calloc(1, sizeof(*cfg));
	const struct mf_node *ctx, *cl, *us, *c, *u;
	const char *ctx_name = context, *cl_name, *us_name, *s;
	int rc = GS_OK;

	if (!ctx_name || !ctx_name[0])
		ctx_name = mf_node_dig_str(doc, "current-context", NULL);
	if (!ctx_name || !ctx_name[0]) {
		rc = gs_error_set(err, GS_ENOTFOUND,
				  "kubeconfig has no current-context (use --context)");
		goto cleanup;
	}
	ctx = named(doc, "contexts", ctx_name);
	if (!ctx) {
		rc = gs_error_set(err, GS_ENOTFOUND, "context '%s' not found in kubeconfig",
				  ctx_name);
		goto cleanup;
	}
	cfg->context = gs_strdup(ctx_name);
	cl_name = mf_node_dig_str(ctx, "context", "cluster", NULL);
	us_name = mf_node_dig_str(ctx, "context", "user", NULL);
	s = mf_node_dig_str(ctx, "context", "namespace", NULL);
	cfg->namespace = gs_strdup(s && s[0] ? s : "default");

	cl = cl_name ? named(doc, "clusters", cl_name) : NULL;
	if (!cl) {
		rc = gs_error_set(err, GS_ENOTFOUND, "context '%s': cluster '%s' not found",
				  ctx_name, cl_name ? cl_name : "");
		goto cleanup;
	}
	c = mf_node_get(cl, "cluster");
	s = mf_node_dig_str(c, "server", NULL);
	if (!s || !s[0]) {
		rc = gs_error_set(err, GS_EINVAL, "cluster '%s' has no server", cl_name);
		goto cleanup;
	}
	cfg->server = gs_strdup(s);
	while (strlen(cfg->server) > 0 && cfg->server[strlen(cfg->server) - 1] == '/')
		cfg->server[strlen(cfg->server) - 1] = '\0';
	if ((s = mf_node_dig_str(c, "certificate-authority-data", NULL)) && s[0]) {
		if ((rc = kube_base64_decode(&cfg->ca_data, &cfg->ca_len, s, err)) < 0) {
			gs_error_wrap(err, "cluster '%s': certificate-authority-data", cl_name);
			goto cleanup;
		}
	}
	if ((s = mf_node_dig_str(c, "certificate-authority", NULL)) && s[0])
		cfg->ca_file = resolve_path(s, entry_dir(cl, dir));
	cfg->insecure = mf_node_bool(mf_node_get(c, "insecure-skip-tls-verify"));
	cfg->tls_server_name = dup_opt(mf_node_dig_str(c, "tls-server-name", NULL));
	if (cfg->tls_server_name && (rc = apply_tls_server_name(cfg, err)) < 0) {
		gs_error_wrap(err, "cluster '%s'", cl_name);
		goto cleanup;
	}
	cfg->proxy_url = dup_opt(mf_node_dig_str(c, "proxy-url", NULL));

	/* a context may name no user (anonymous) */
	us = us_name && us_name[0] ? named(doc, "users", us_name) : NULL;
	if (us_name && us_name[0] && !us) {
		rc = gs_error_set(err, GS_ENOTFOUND, "context '%s': user '%s' not found",
				  ctx_name, us_name);
		goto cleanup;
	}
	u = mf_node_get(us, "user");
	cfg->token = dup_opt(mf_node_dig_str(u, "token", NULL));
	if ((s = mf_node_dig_str(u, "tokenFile", NULL)) && s[0])
		cfg->token_file = resolve_path(s, entry_dir(us, dir));
	if ((s = mf_node_dig_str(u, "client-certificate-data", NULL)) && s[0] &&
	    (rc = kube_base64_decode(&cfg->cert_data, &cfg->cert_len, s, err)) < 0) {
		gs_error_wrap(err, "user '%s': client-certificate-data", us_name);
		goto cleanup;
	}
	if ((s = mf_node_dig_str(u, "client-key-data", NULL)) && s[0] &&
	    (rc = kube_base64_decode(&cfg->key_data, &cfg->key_len, s, err)) < 0) {
		gs_error_wrap(err, "user '%s': client-key-data", us_name);
		goto cleanup;
	}
	if ((s = mf_node_dig_str(u, "client-certificate", NULL)) && s[0])
		cfg->cert_file = resolve_path(s, entry_dir(us, dir));
	if ((s = mf_node_dig_str(u, "client-key", NULL)) && s[0])
		cfg->key_file = resolve_path(s, entry_dir(us, dir));
	cfg->username = dup_opt(mf_node_dig_str(u, "username", NULL));
	cfg->password = dup_opt(mf_node_dig_str(u, "password", NULL));
	if (mf_node_get(u, "exec") && mf_node_type(mf_node_get(u, "exec")) == MF_MAP &&
	    (rc = load_exec(cfg, mf_node_get(u, "exec"), entry_dir(us, dir), err)) < 0) {
		gs_error_wrap(err, "user '%s'", us_name);
		goto cleanup;
	}
	if (mf_node_get(u, "auth-provider")) {
		rc = gs_error_set(err, GS_EINVAL,
				  "user '%s': auth-provider plugins are not supported (use an exec "
				  "credential plugin)", us_name);
		goto cleanup;
	}
	if ((cfg->cert_data || cfg->cert_file) != (cfg->key_data || cfg->key_file)) {
		rc = gs_error_set(err, GS_EINVAL,
				  "user '%s': client certificate and key must be given together",
				  us_name);
		goto cleanup;
	}
	*out = cfg;
	cfg = NULL;
cleanup:
	kube_config_free(cfg);
	return rc;
}

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX];

	if (!slash) {
		if (getcwd(cwd, sizeof(cwd)))
			return gs_strdup(cwd);
		return gs_strdup(".");
	}
	if (slash == path)
		return gs_strdup("/");
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		return gs_asprintf("%s/%.*s", cwd, (int)(slash - path), path);
	return gs_strndup(path, (size_t)(slash - path));
}

/* Append to merged[list] the entries of doc[list] whose names are new,
 * tagged with the directory of the file they came from. */
static void merge_list(struct mf_node *merged, const struct mf_node *doc, const char *list,
		       const char *dir)
{
	const struct mf_node *seq = mf_node_get(doc, list);
	struct mf_node *dst = mf_node_ensure(merged, list, MF_SEQ);
	size_t i;

	for (i = 0; i < mf_node_len(seq); i++) {
		const struct mf_node *e = mf_node_at(seq, i);
		const char *n = mf_node_dig_str(e, "name", NULL);
		struct mf_node *copy;

		if (!n || named(merged, list, n))
			continue;
		copy = mf_node_clone(e);
		if (mf_node_type(copy) == MF_MAP)
			mf_node_set_str_value(copy, "gs-dir", dir);
		mf_node_append(dst, copy);
	}
}

static int parse_file(struct mf_docs *docs, struct gs_buf *text, const char *path,
		      struct gs_error *err)
{
	text->max = KUBECONFIG_MAX;
	if (gs_buf_read_file(text, path, err) < 0)
		return err ? err->code : GS_EIO;
	return mf_yaml_parse(docs, text->ptr, text->len, path, NULL, err);
}

int kube_config_load(struct kube_config **out, const struct kube_config_opts *opts,
		     struct gs_error *err)
{
	struct mf_node *merged = mf_node_new(MF_MAP);
	char *list = NULL, *home_cfg = NULL, *dir = NULL;
	const char *env = getenv("KUBECONFIG");
	struct gs_buf *texts = NULL;
	struct mf_docs *docs = NULL;
	size_t nfiles = 0, i;
	char *save = NULL, *p;
	int rc = GS_OK;
	char **files = NULL;

	if (opts && opts->prefer_in_cluster && getenv("KUBERNETES_SERVICE_HOST")) {
		rc = kube_config_in_cluster(out, NULL, err);
		if (rc != GS_ENOTFOUND)
			goto cleanup;
		gs_error_clear(err);
	}
	if (opts && opts->kubeconfig && opts->kubeconfig[0])
		list = gs_strdup(opts->kubeconfig);
	else if (env && env[0])
		list = gs_strdup(env);
	else if (getenv("HOME")) {
		home_cfg = gs_asprintf("%s/.kube/config", getenv("HOME"));
		if (access(home_cfg, F_OK) == 0)
			list = gs_strdup(home_cfg);
	}
	if (!list) {
		rc = kube_config_in_cluster(out, NULL, err);
		if (rc == GS_ENOTFOUND)
			rc = gs_error_set(err, GS_ENOTFOUND,
					  "no kubeconfig found (set --kubeconfig or KUBECONFIG, or "
					  "create ~/.kube/config) and not running in a cluster");
		goto cleanup;
	}
	files = gs_calloc(strlen(list) + 1, sizeof(*files));
	for (p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		/* KUBECONFIG may name files that do not exist: kubectl skips them,
		 * but an explicit --kubeconfig must exist */
		if (!(opts && opts->kubeconfig) && access(p, F_OK) != 0)
			continue;
		files[nfiles++] = p;
	}
	if (!nfiles) {
		rc = gs_error_set(err, GS_ENOTFOUND, "none of the KUBECONFIG files exist: %s", env);
		goto cleanup;
	}
	texts = gs_calloc(nfiles, sizeof(*texts));
	docs = gs_calloc(nfiles, sizeof(*docs));
	for (i = 0; i < nfiles; i++) {
		const struct mf_node *doc;
		const char *cc;

		texts[i] = (struct gs_buf)GS_BUF_INIT;
		docs[i] = (struct mf_docs)MF_DOCS_INIT;
		if ((rc = parse_file(&docs[i], &texts[i], files[i], err)) < 0) {
			gs_error_wrap(err, "kubeconfig '%s'", files[i]);
			goto cleanup;
		}
		if (!docs[i].n)
			continue;
		doc = docs[i].docs[0];
		free(dir);
		dir = dirname_of(files[i]);
		merge_list(merged, doc, "clusters", dir);
		merge_list(merged, doc, "users", dir);
		merge_list(merged, doc, "contexts", dir);
		cc = mf_node_dig_str(doc, "current-context", NULL);
		if (cc && cc[0] && !mf_node_get(merged, "current-context"))
			mf_node_set_str_value(merged, "current-context", cc);
	}
	rc = kube_config_from_node(out, merged, NULL, opts ? opts->context : NULL, err);
	if (rc < 0 && nfiles == 1)
		gs_error_wrap(err, "kubeconfig '%s'", files[0]);
cleanup:
	for (i = 0; docs && i < nfiles; i++) {
		mf_docs_release(&docs[i]);
		gs_buf_release(&texts[i]);
	}
	free(docs);
	free(texts);
	free(files);
	free(list);
	free(home_cfg);
	free(dir);
	mf_node_free(merged);
	return rc;
}

int kube_config_in_cluster(struct kube_config **out, const char *root, struct gs_error *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_config *cfg = NULL;
	struct gs_buf ns = GS_BUF_INIT;
	struct gs_error ignored = GS_ERROR_INIT;

	if (!root)
		root = SA_ROOT;
	if (!host || !host[0])
		return gs_error_set(err, GS_ENOTFOUND, "not running in a cluster "
				    "(KUBERNETES_SERVICE_HOST is not set)");
	cfg = gs_calloc(1, sizeof(*cfg));
	cfg->context = gs_strdup("");
	/* IPv6 service hosts need brackets in a URL */
	cfg->server = gs_asprintf(strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
				  port && port[0] ? port : "443");
	/* the token rotates (bound service account tokens): keep the file */
	cfg->token_file = gs_asprintf("%s/token", root);
	cfg->ca_file = gs_asprintf("%s/ca.crt", root);
	ns.max = 4096;
	{
		char *nsf = gs_asprintf("%s/namespace", root);

		if (gs_buf_read_file(&ns, nsf, &ignored) == GS_OK) {
			while (ns.len && (ns.ptr[ns.len - 1] == '\n' || ns.ptr[ns.len - 1] == ' '))
				ns.ptr[--ns.len] = '\0';
		}
		free(nsf);
	}
	cfg->namespace = gs_strdup(ns.len ? ns.ptr : "default");
	gs_buf_release(&ns);
	if (access(cfg->token_file, R_OK) != 0) {
		int rc = gs_error_set(err, GS_ENOTFOUND, "in-cluster token '%s' not readable: %s",
				      cfg->token_file, strerror(errno));
		kube_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return GS_OK;
}
