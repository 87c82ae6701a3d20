/* httpd.h - the agent's HTTP server (libmicrohttpd): probes, metrics, the
 * API for CI pipelines and forge webhooks.
 *
 *   GET  /healthz                    200 "ok" while the process serves
 *   GET  /readyz                     200 once ops->ready() says so, else 503
 *   GET  /metrics                    Prometheus text format (metrics.h)
 *   POST /api/webhook                forge push events (webhook.h)
 *   GET  /api/v1/applications        \
 *   GET  /api/v1/applications/NAME    |  bearer token (apitoken.h): read scope;
 *   GET  /api/v1/applications/NAME/diff        |  POST .../sync and .../refresh
 *   GET  /api/v1/applications/NAME/operation   |  need the sync scope.
 *   POST /api/v1/applications/NAME/sync        |  ?namespace=NS selects the
 *   POST /api/v1/applications/NAME/refresh    /   Application's namespace.
 *
 * The API routes are a table the agent passes in (agent/loop/api.c).  The
 * server knows nothing about Applications: it authenticates, limits and
 * routes, and hands verified requests to the callbacks in struct httpd_ops,
 * which the agent implements.  Callbacks run on the server's connection
 * threads (one per connection, capped) and must be thread-safe; a slow one
 * delays only its own connection, never /healthz.
 *
 * Answers are JSON ({"error": "..."} on failure) except probes and metrics.
 * Nothing a client sends is echoed into logs except the method and path.
 */
#ifndef GS_HTTPD_H
#define GS_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "gs-buf.h"
#include "gs-error.h"
#include "httpd/apitoken.h"
#include "httpd/metrics.h"
#include "httpd/webhook.h"

#define HTTPD_WEBHOOK_MAX_DEFAULT (2u << 20) /* 2 MiB: a push of many commits */
#define HTTPD_API_MAX_BODY (64u << 10)

/* A verified API request, as handed to ops->api. */
struct httpd_api_request {
	const char *method;    /* "GET", "POST" */
	const char *namespace; /* ?namespace=, NULL when absent */
	const char *name;      /* NULL for the list */
	const char *action;    /* NULL or the route's action */
	const char *query_wait; /* ?wait=DURATION for long polls, or NULL */
	const char *body;      /* request body (NUL-terminated), "" when none */
	size_t body_len;
	enum apitoken_scope scope;
	const char *token_name; /* which token authenticated (for logs) */
	const char *projects;   /* the token's projects ("a,b"), NULL = all (see
				 * apitoken_projects_allow) */
};

/* What ops->api answers: status (200, 202, 400, 404, 409 ...), a body and
 * its content type (NULL = application/json).  body is caller-initialised. */
struct httpd_api_response {
	unsigned status;
	const char *content_type;
	struct gs_buf body;
};

/* One API endpoint: METHOD /api/v1/applications[/NAME[/ACTION]].  The
 * server finds the route by path (404 when none), then checks the method
 * (405), the token (401) and its scope (403) before calling handle.
 * handle returns 0 with resp filled in, or an error: GS_ENOTFOUND → 404,
 * GS_EINVAL → 400, GS_EAUTH → 403, GS_ECONFLICT → 409, anything else →
 * 500 with the error's message.  It runs on a connection thread. */
struct httpd_api_route {
	const char *method;        /* "GET", "POST" */
	bool named;                /* .../NAME[/ACTION]; false = the collection */
	const char *action;        /* NULL or "diff", "sync", ... (at most 15 chars) */
	enum apitoken_scope scope; /* least scope the token needs */
	int (*handle)(void *payload, const struct httpd_api_request *req,
		      struct httpd_api_response *resp, struct gs_error *err);
};

struct httpd_ops {
	/* True once caches are synced (readiness).  NULL = always ready. */
	bool (*ready)(void *payload);
	/* A verified push: refresh every matching Application; *matched_out
	 * = how many.  Errors become 500 (the forge retries). */
	int (*push)(void *payload, const struct webhook_push *push, size_t *matched_out,
		    struct gs_error *err);
	/* The API: n_routes entries (borrowed; none = every path is 404). */
	const struct httpd_api_route *routes;
	size_t n_routes;
	void *payload;
};

struct httpd_config {
	const char *listen;        /* "ADDR:PORT", ":PORT" (all interfaces), "[::1]:PORT"; port 0 = any */
	const char *tls_cert_file; /* PEM; both set = HTTPS */
	const char *tls_key_file;
	size_t webhook_max_bytes; /* 0 = HTTPD_WEBHOOK_MAX_DEFAULT */
	unsigned max_connections; /* 0 = 64 */
};

struct httpd;

/* Start serving.  config, ops and metrics are borrowed and must outlive the
 * server (metrics may be NULL: /metrics answers 404).  Registers the
 * webhook counter gitsync_webhook_events_total{forge,result}.
 * GS_EIO when the address cannot be bound, GS_EINVAL on a bad address or
 * TLS files. */
int httpd_start(struct httpd **out, const struct httpd_config *config, const struct httpd_ops *ops,
		struct metrics_registry *metrics, struct gs_error *err);
/* Stop accepting, finish requests in flight, free.  NULL is a no-op. */
void httpd_stop(struct httpd *h);
/* The port actually bound (useful with port 0). */
unsigned httpd_port(const struct httpd *h);

/* Replace the secrets (after the Secret changed).  Copies; thread-safe.
 * tokens is taken (may be NULL = no API access); the old table is freed
 * once no request uses it. */
struct httpd_secrets {
	const char *github, *gitlab, *gitea, *bitbucketserver;
};
void httpd_set_secrets(struct httpd *h, const struct httpd_secrets *webhook_secrets,
		       struct apitoken_table *tokens);

/* JSON helpers for ops->api implementations: {"error":"msg"}. */
void httpd_json_error(struct gs_buf *out, const char *msg);

#endif
