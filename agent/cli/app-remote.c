/* app-remote.c - the agent-API backend of `gitsync app` (app.h), for CI jobs
 * that hold an API token and no kubeconfig (Argo CD's ARGOCD_SERVER /
 * ARGOCD_AUTH_TOKEN pattern):
 *
 *     GITSYNC_SERVER=gitsync.example.com GITSYNC_AUTH_TOKEN=gst_... \
 *         gitsync app sync web && gitsync app wait web --health
 *
 * Every option of a subcommand travels in the request (docs/cli.md lists the
 * token scope each route needs); the agent runs what this process would run
 * with a kubeconfig, so both print the same. */
#include "cli/app.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/apiclient.h"
#include "cli/cli.h"
#include "gs-alloc.h"
#include "mf-json.h"
#include "mf-object.h"

struct remote {
	struct app_be be;
	struct apiclient_opts o;
	struct apiclient *c;
};

static struct remote *R(struct app_be *b)
{
	return (struct remote *)b;
}

static int call_json(struct remote *r, struct mf_node **out, const char *method, const char *rest,
		     const char *body, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	int rc = apiclient_call(r->c, &b, method, rest, body, err);

	if (!rc && out) {
		rc = mf_json_parse(out, b.ptr, b.len, "API answer", err);
		if (rc)
			gs_error_wrap(err, "%s /api/v1/applications%s", method, rest);
	}
	gs_buf_release(&b);
	return rc;
}

/* "?a=1&b=x" from npairs name/value pairs; a pair whose name or value is
 * NULL is left out (owned). */
static char *query(int npairs, ...)
{
	struct gs_buf q = GS_BUF_INIT;
	va_list ap;
	int i;

	va_start(ap, npairs);
	for (i = 0; i < npairs; i++) {
		const char *k = va_arg(ap, const char *), *v = va_arg(ap, const char *);
		char *e;

		if (!k || !v)
			continue;
		e = apiclient_escape(v);
		gs_buf_printf(&q, "%c%s=%s", q.len ? '&' : '?', k, e);
		free(e);
	}
	va_end(ap);
	return gs_buf_detach(&q, NULL);
}

static int remote_list(struct app_be *b, struct mf_node **out, struct gs_error *err)
{
	struct mf_node *l = NULL;
	struct mf_node *items;
	size_t k;
	int rc;

	if ((rc = call_json(R(b), &l, "GET", "", NULL, err)))
		return rc;
	items = mf_node_get(l, "items");
	*out = items ? mf_node_clone(items) : mf_node_new(MF_SEQ);
	for (k = 0; k < mf_node_len(*out); k++)
		app_redact(mf_node_at(*out, k));
	mf_node_free(l);
	return GS_OK;
}

static int remote_get(struct app_be *b, struct mf_node **out, const char *name,
		      struct gs_error *err)
{
	char *rest = gs_asprintf("/%s", name);
	int rc = call_json(R(b), out, "GET", rest, NULL, err);

	free(rest);
	if (!rc)
		app_redact(*out);
	return rc;
}

static char *dup_str(const struct mf_node *n, const char *key)
{
	const char *s = mf_node_dig_str(n, key, NULL);

	return s ? gs_strdup(s) : NULL;
}

/* GET .../resources (the comparison, computed by the agent as this process
 * would) or, with want_diff, GET .../diff. */
static int remote_compare(struct app_be *b, struct app_view *out, const char *name,
			  const struct app_compare_args *a, struct gs_error *err)
{
	struct remote *r = R(b);
	struct mf_node *res = NULL;
	char *q, *rest;
	int rc;

	if (a->local_dir)
		return gs_error_set(err, GS_EINVAL,
				    "--local renders a directory of this machine: it needs a "
				    "kubeconfig, not GITSYNC_SERVER");
	if ((rc = remote_get(b, &out->app, name, err)))
		return rc;
	if (a->orphaned && a->want_diff)
		return gs_error_set(err, GS_EINVAL, "orphaned resources come with a comparison, "
						    "not a diff");
	q = query(5, a->want_diff ? "format" : NULL, "json", "revision", a->revision, "refresh",
		  a->hard_refresh ? "hard" : a->refresh ? "normal" : NULL, "recorded",
		  a->at_recorded && !a->revision ? "true" : NULL, "orphaned",
		  a->orphaned ? "true" : NULL);
	rest = gs_asprintf("/%s/%s%s", name, a->want_diff ? "diff" : "resources", q);
	rc = call_json(r, &res, "GET", rest, NULL, err);
	free(rest);
	free(q);
	if (rc || !res)
		return rc;
	if (mf_node_get(res, "resources"))
		out->resources = mf_node_clone(mf_node_get(res, "resources"));
	if (mf_node_get(res, "diffs"))
		out->diffs = mf_node_clone(mf_node_get(res, "diffs"));
	if (mf_node_get(res, "orphaned"))
		out->orphans = mf_node_clone(mf_node_get(res, "orphaned"));
	out->revision = dup_str(res, "revision");
	out->sync = dup_str(res, "sync");
	out->health = dup_str(res, "health");
	out->different = a->want_diff ? mf_node_len(out->diffs) > 0
				       : out->sync && strcmp(out->sync, "Synced");
	if (a->refresh) {
		/* the agent recorded the comparison: show the fresh object */
		mf_node_free(out->app);
		out->app = NULL;
		rc = remote_get(b, &out->app, name, err);
	}
	mf_node_free(res);
	return rc;
}

static int remote_create(struct app_be *b, const struct mf_node *app, bool upsert,
			 struct gs_error *err)
{
	struct gs_buf body = GS_BUF_INIT;
	char *rest = gs_asprintf("%s", upsert ? "?upsert=true" : "");
	int rc;

	mf_json_emit(&body, app, 0);
	rc = call_json(R(b), NULL, "POST", rest, body.ptr, err);
	gs_buf_release(&body);
	free(rest);
	return rc;
}

static int remote_remove(struct app_be *b, const char *name, bool cascade, struct gs_error *err)
{
	char *rest = gs_asprintf("/%s%s", name, cascade ? "" : "?cascade=false");
	int rc = call_json(R(b), NULL, "DELETE", rest, NULL, err);

	free(rest);
	return rc;
}

static int remote_set(struct app_be *b, const char *name, const struct mf_node *patch,
		      struct gs_error *err)
{
	struct gs_buf body = GS_BUF_INIT;
	char *rest = gs_asprintf("/%s", name);
	int rc;

	mf_json_emit(&body, patch, 0);
	rc = call_json(R(b), NULL, "PATCH", rest, body.ptr, err);
	gs_buf_release(&body);
	free(rest);
	return rc;
}

static int remote_sync(struct app_be *b, const char *name, const struct app_op_args *a,
		       int *exit_here, struct gs_error *err)
{
	struct mf_node *body = mf_node_new(MF_MAP);
	struct gs_buf text = GS_BUF_INIT;
	char *rest;
	size_t k;
	int rc;

	*exit_here = -1;
	if (a->revision)
		mf_node_set_str_value(body, "revision", a->revision);
	mf_node_set(body, "prune", mf_node_new_bool(a->prune));
	if (a->allow_empty)
		mf_node_set(body, "allowEmpty", mf_node_new_bool(true));
	if (a->dry_run)
		mf_node_set(body, "dryRun", mf_node_new_bool(true));
	if (a->force)
		mf_node_set(body, "force", mf_node_new_bool(true));
	if (a->n_resources) {
		struct mf_node *rs = mf_node_ensure(body, "resources", MF_SEQ);

		for (k = 0; k < a->n_resources; k++)
			mf_node_append(rs, mf_node_new_str(a->resources[k]));
	}
	if (a->n_sync_options) {
		struct mf_node *so = mf_node_ensure(body, "syncOptions", MF_SEQ);

		for (k = 0; k < a->n_sync_options; k++)
			mf_node_append(so, mf_node_new_str(a->sync_options[k]));
	}
	if (a->rollback_id > 0) {
		mf_node_set(body, "id", mf_node_new_int(a->rollback_id));
		rest = gs_asprintf("/%s/rollback", name);
	} else {
		rest = gs_asprintf("/%s/sync", name);
	}
	mf_json_emit(&text, body, 0);
	rc = call_json(R(b), NULL, "POST", rest, text.ptr, err);
	gs_buf_release(&text);
	mf_node_free(body);
	free(rest);
	return rc;
}

static int remote_operation(struct app_be *b, struct mf_node **out, const char *name,
			    double wait_s, struct gs_error *err)
{
	/* the server caps one long poll at 60 s; the caller loops */
	char *rest = wait_s > 0 ? gs_asprintf("/%s/operation?wait=%.0fs", name,
					      wait_s > 30 ? 30 : wait_s < 1 ? 1 : wait_s)
				: gs_asprintf("/%s/operation", name);
	int rc = call_json(R(b), out, "GET", rest, NULL, err);

	free(rest);
	return rc;
}

static bool remote_agent_running(struct app_be *b)
{
	(void)b;
	return true; /* it answers */
}

static int remote_manifests(struct app_be *b, struct gs_buf *out, const char *name,
			    const char *revision, bool hard_refresh, struct gs_error *err)
{
	char *q = query(2, "revision", revision, "refresh", hard_refresh ? "hard" : NULL);
	char *rest = gs_asprintf("/%s/manifests%s", name, q);
	int rc = apiclient_call(R(b)->c, out, "GET", rest, NULL, err);

	free(rest);
	free(q);
	return rc;
}

static int remote_terminate(struct app_be *b, const char *name, struct gs_error *err)
{
	char *rest = gs_asprintf("/%s/terminate-op", name);
	int rc = call_json(R(b), NULL, "POST", rest, NULL, err);

	free(rest);
	return rc;
}

static void remote_free(struct app_be *b)
{
	struct remote *r = R(b);

	apiclient_free(r->c);
	free(r);
}

static const struct app_be_ops remote_ops = {
	"api", remote_list, remote_get, remote_compare, remote_create, remote_remove,
	remote_set, remote_sync, remote_operation, remote_agent_running, remote_manifests,
	remote_terminate, remote_free,
};

static bool env_true(const char *name)
{
	const char *e = getenv(name);

	return e && !strcmp(e, "true");
}

int app_be_remote_new(struct app_be **out, const struct cli_args *a, struct gs_error *err)
{
	struct remote *r = gs_calloc(1, sizeof(*r));
	const char *e;
	int rc;

	r->be.ops = &remote_ops;
	r->o.server = cli_args_str(a, "server");
	if (!r->o.server)
		r->o.server = getenv("GITSYNC_SERVER");
	r->o.token = cli_args_str(a, "auth-token");
	if (!r->o.token)
		r->o.token = getenv("GITSYNC_AUTH_TOKEN");
	r->o.ca_file = cli_args_str(a, "server-ca");
	if (!r->o.ca_file)
		r->o.ca_file = getenv("GITSYNC_SERVER_CA");
	r->o.insecure = cli_args_bool(a, "insecure") || env_true("GITSYNC_INSECURE");
	r->o.plaintext = cli_args_bool(a, "plaintext") || env_true("GITSYNC_PLAINTEXT");
	r->o.ns = cli_args_str(a, "app-namespace");
	if (!r->o.ns && (e = getenv("GITSYNC_APP_NAMESPACE")) && *e)
		r->o.ns = e;
	r->be.server = r->o.server;
	if ((rc = apiclient_new(&r->c, &r->o, err))) {
		free(r);
		return rc;
	}
	*out = &r->be;
	return GS_OK;
}
