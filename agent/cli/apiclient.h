/* apiclient.h - the CLI's client for the agent's API (httpd/httpd.h), for CI pipelines
 * that hold an API token but no cluster credentials:
 *
 *     GITSYNC_SERVER=https://gitsync.example.com GITSYNC_AUTH_TOKEN=gst_... \
 *         gitsync app sync web && gitsync app wait web --health
 *
 * Answers come back as mf_node trees (the Application objects as the API
 * server stores them).  Errors: GS_EAUTH for 401/403 (the message says
 * which), GS_ENOTFOUND for 404, GS_ECONFLICT for 409, GS_ENET when the
 * server cannot be reached, GS_ERR otherwise; the server's {"error": ...}
 * text is in the message.  The token never appears in a message.
 *
 * Not thread-safe: one client per thread.
 */
#ifndef GS_APICLIENT_H
#define GS_APICLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "mf-node.h"

struct apiclient;

struct apiclient_opts {
	const char *server;     /* "https://host:port" or "host:port" (https assumed) */
	const char *token;      /* bearer token; borrowed for the client's life */
	const char *ca_file;    /* PEM bundle to trust (GITSYNC_SERVER_CA) */
	bool insecure;          /* skip TLS verification (--insecure) */
	bool plaintext;         /* http:// (--plaintext, or an http:// server URL) */
	const char *ns;         /* Applications' namespace; NULL = the agent's */
};

/* opts strings are borrowed and must outlive the client. */
int apiclient_new(struct apiclient **out, const struct apiclient_opts *opts, struct gs_error *err);
void apiclient_free(struct apiclient *c);

/* GET /api/v1/applications: *out owned, {"items":[...]} */
int apiclient_list(struct apiclient *c, struct mf_node **out, struct gs_error *err);
/* GET one Application; *out owned. */
int apiclient_get(struct apiclient *c, struct mf_node **out, const char *name,
		  struct gs_error *err);

struct apiclient_sync_req {
	const char *revision;
	bool prune;
	const char *const *resources; /* "GROUP:KIND:NAME" */
	size_t n_resources;
	bool dry_run;
	const char *const *sync_options; /* "Key=Value" */
	size_t n_sync_options;
};
/* POST .../sync: records the operation (the agent's leader runs it). */
int apiclient_sync(struct apiclient *c, const char *name, const struct apiclient_sync_req *req,
		   struct gs_error *err);
/* POST .../refresh. */
int apiclient_refresh(struct apiclient *c, const char *name, struct gs_error *err);
/* GET .../operation?wait=W: *out owned {operation, operationState, sync,
 * health, finished}. */
int apiclient_operation(struct apiclient *c, struct mf_node **out, const char *name,
			double wait_s, struct gs_error *err);
/* GET .../diff: the unified diff text appended to out (empty when in sync). */
int apiclient_diff(struct apiclient *c, struct gs_buf *out, const char *name,
		   struct gs_error *err);

/* Any route: METHOD /api/v1/applications + rest (e.g. "/web/history?x=1");
 * body JSON or NULL; the answer's body appended to out. */
int apiclient_call(struct apiclient *c, struct gs_buf *out, const char *method, const char *rest,
		   const char *body, struct gs_error *err);
/* A query-string value, %-escaped (owned). */
char *apiclient_escape(const char *s);

#endif
