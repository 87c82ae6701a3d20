/* httpd.c - the agent's HTTP server on libmicrohttpd (see httpd.h). */
#include "httpd/httpd.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gs-alloc.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

#define JSON_TYPE "application/json"
#define HTTP_TOO_LARGE 413 /* MHD renamed its constant across versions */

struct httpd {
	struct MHD_Daemon *daemon;
	const struct httpd_ops *ops;
	struct metrics_registry *metrics;
	struct metrics_family *m_webhook, *m_requests;
	size_t webhook_max;
	unsigned port;
	struct gs_buf tls_cert, tls_key;

	/* Secrets change at run time (the Secret is watched): readers hold the
	 * read lock for as long as they use them. */
	pthread_rwlock_t lock;
	char *secret[5]; /* indexed by enum webhook_forge */
	struct apitoken_table *tokens;
	struct webhook_replay *replay;
};

enum route {
	ROUTE_NOTFOUND,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_METRICS,
	ROUTE_WEBHOOK,
	ROUTE_API,
};

/* Per-request state, kept across the access handler's calls. */
struct request {
	enum route route;
	struct gs_buf body;
	bool too_big;
	bool answered; /* a response was queued before the body was read */
};

static const char *route_label(enum route r)
{
	static const char *const names[] = { "notfound", "healthz", "readyz",
					     "metrics",  "webhook", "api" };
	return names[r];
}

void httpd_json_error(struct gs_buf *out, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(o, "error", msg ? msg : "");
	s = cJSON_PrintUnformatted(o);
	gs_buf_puts(out, s);
	gs_buf_putc(out, '\n');
	cJSON_free(s);
	cJSON_Delete(o);
}

static MHD_RESULT respond(struct httpd *h, struct MHD_Connection *conn, enum route route,
			  unsigned status, const char *type, const char *body, size_t len)
{
	struct MHD_Response *r;
	MHD_RESULT ret;
	char code[16];

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type ? type : JSON_TYPE);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"gitsync\"");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	snprintf(code, sizeof(code), "%u", status);
	metrics_add(h->m_requests, 1, route_label(route), code);
	return ret;
}

static MHD_RESULT respond_json_error(struct httpd *h, struct MHD_Connection *conn,
				     enum route route, unsigned status, const char *msg)
{
	struct gs_buf b = GS_BUF_INIT;
	MHD_RESULT ret;

	httpd_json_error(&b, msg);
	ret = respond(h, conn, route, status, JSON_TYPE, b.ptr, b.len);
	gs_buf_release(&b);
	return ret;
}

static MHD_RESULT respond_text(struct httpd *h, struct MHD_Connection *conn, enum route route,
			       unsigned status, const char *text)
{
	return respond(h, conn, route, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void wipe(char *s)
{
	OPENSSL_cleanse(s, strlen(s));
}

static const char *conn_header(void *payload, const char *name)
{
	return MHD_lookup_connection_value(payload, MHD_HEADER_KIND, name);
}

/* ---- webhook ---- */

static MHD_RESULT webhook_count(struct httpd *h, enum webhook_forge forge, const char *result)
{
	metrics_add(h->m_webhook, 1, webhook_forge_name(forge), result);
	return MHD_YES;
}

static MHD_RESULT handle_webhook(struct httpd *h, struct MHD_Connection *conn, struct request *rq)
{
	struct gs_error err = GS_ERROR_INIT;
	struct webhook_push *push = NULL;
	enum webhook_forge forge = webhook_detect(conn_header, conn);
	const char *event, *delivery;
	size_t matched = 0;
	char msg[128];
	MHD_RESULT ret;
	int rc;

	if (rq->too_big) {
		webhook_count(h, forge, "too_large");
		snprintf(msg, sizeof(msg), "webhook body larger than %zu bytes", h->webhook_max);
		return respond_json_error(h, conn, ROUTE_WEBHOOK, HTTP_TOO_LARGE, msg);
	}
	if (forge == WEBHOOK_UNKNOWN) {
		webhook_count(h, forge, "unknown_forge");
		return respond_json_error(h, conn, ROUTE_WEBHOOK, MHD_HTTP_BAD_REQUEST,
					  "unknown webhook sender (no forge event header)");
	}
	pthread_rwlock_rdlock(&h->lock);
	rc = webhook_verify(forge, h->secret[forge], conn_header, conn, rq->body.ptr, rq->body.len,
			    &err);
	pthread_rwlock_unlock(&h->lock);
	if (rc) {
		webhook_count(h, forge, "unauthorized");
		return respond_json_error(h, conn, ROUTE_WEBHOOK, MHD_HTTP_UNAUTHORIZED, err.msg);
	}
	event = webhook_event(forge, conn_header, conn);
	delivery = webhook_delivery(forge, conn_header, conn);
	if (webhook_replay_seen(h->replay, forge, delivery)) {
		webhook_count(h, forge, "duplicate");
		return respond(h, conn, ROUTE_WEBHOOK, MHD_HTTP_OK, JSON_TYPE,
			       "{\"ignored\":\"duplicate delivery\"}\n", 33);
	}
	rc = webhook_parse_push(&push, forge, event, rq->body.ptr, rq->body.len, &err);
	if (rc) {
		webhook_count(h, forge, "malformed");
		return respond_json_error(h, conn, ROUTE_WEBHOOK, MHD_HTTP_BAD_REQUEST, err.msg);
	}
	if (!push) {
		webhook_count(h, forge, "ignored");
		return respond(h, conn, ROUTE_WEBHOOK, MHD_HTTP_OK, JSON_TYPE,
			       "{\"ignored\":\"not a push event\"}\n", 31);
	}
	if (h->ops->push)
		rc = h->ops->push(h->ops->payload, push, &matched, &err);
	webhook_push_free(push);
	if (rc) {
		webhook_count(h, forge, "error");
		return respond_json_error(h, conn, ROUTE_WEBHOOK, MHD_HTTP_INTERNAL_SERVER_ERROR,
					  err.msg);
	}
	webhook_count(h, forge, matched ? "refreshed" : "unmatched");
	snprintf(msg, sizeof(msg), "{\"matched\":%zu}\n", matched);
	ret = respond(h, conn, ROUTE_WEBHOOK, MHD_HTTP_OK, JSON_TYPE, msg, strlen(msg));
	return ret;
}

/* ---- API ---- */

/* DNS-1123 subdomain, the shape of every Kubernetes object name: labels of
 * [a-z0-9-] that start and end alphanumeric, joined by single dots (so "."
 * and ".." are never a name or a namespace, as in the API server). */
static bool valid_k8s_name(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		bool edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';

		if (!alnum && (c != '-' && c != '.'))
			return false;
		if (!alnum && edge)
			return false;
	}
	return true;
}

/* Authenticate before reading any body: 401 without a known token. */
static enum apitoken_scope authenticate(struct httpd *h, struct MHD_Connection *conn,
					char *name_out, size_t name_size, char **projects_out)
{
	const char *auth = conn_header(conn, "Authorization");
	const char *name = NULL, *projects = NULL;
	enum apitoken_scope s;

	name_out[0] = '\0';
	*projects_out = NULL;
	if (!auth || strncasecmp(auth, "Bearer ", 7))
		return APITOKEN_NONE;
	auth += 7;
	while (*auth == ' ')
		auth++;
	pthread_rwlock_rdlock(&h->lock);
	s = apitoken_table_lookup(h->tokens, auth, strlen(auth), &name, &projects);
	/* The name is borrowed from the table, which a Secret update may free
	 * as soon as the lock is released. */
	if (name)
		snprintf(name_out, name_size, "%s", name);
	if (projects)
		*projects_out = gs_strdup(projects);
	pthread_rwlock_unlock(&h->lock);
	return s;
}

/* The route of (named, action, method); *path_out = a route of that path
 * whatever its method (NULL: no such endpoint). */
static const struct httpd_api_route *find_api_route(const struct httpd_ops *ops, bool named,
						    const char *action, const char *method,
						    const struct httpd_api_route **path_out)
{
	size_t i;

	*path_out = NULL;
	for (i = 0; i < ops->n_routes; i++) {
		const struct httpd_api_route *r = &ops->routes[i];
		if (r->named != named || (!r->action != !action) ||
		    (action && strcmp(r->action, action)))
			continue;
		*path_out = r;
		if (!strcmp(r->method, method))
			return r;
	}
	return NULL;
}

static MHD_RESULT handle_api(struct httpd *h, struct MHD_Connection *conn, const char *method,
			     const char *url, struct request *rq)
{
	struct httpd_api_request req = { 0 };
	struct httpd_api_response resp = { 200, NULL, GS_BUF_INIT };
	struct gs_error err = GS_ERROR_INIT;
	const char *p = url + strlen("/api/v1/applications");
	char name[254] = "", action[16] = "", ns[254] = "", token_name[130];
	const struct httpd_api_route *route, *path_known;
	char *projects = NULL;
	const char *q;
	MHD_RESULT ret;
	unsigned status;
	int rc;

	req.method = method;
	req.body = rq->body.ptr;
	req.body_len = rq->body.len;
	if (*p == '/') {
		const char *n = p + 1, *e = strchr(n, '/');
		size_t len = e ? (size_t)(e - n) : strlen(n);
		if (!valid_k8s_name(n, len))
			return respond_json_error(h, conn, ROUTE_API, MHD_HTTP_BAD_REQUEST,
						  "invalid application name");
		memcpy(name, n, len);
		req.name = name;
		if (e) {
			if (strlen(e + 1) >= sizeof(action) || strchr(e + 1, '/'))
				return respond_json_error(h, conn, ROUTE_API, MHD_HTTP_NOT_FOUND,
							  "no such endpoint");
			memcpy(action, e + 1, strlen(e + 1) + 1); /* length checked above */
			req.action = action;
		}
	} else if (*p) {
		return respond_json_error(h, conn, ROUTE_API, MHD_HTTP_NOT_FOUND, "no such endpoint");
	}
	route = find_api_route(h->ops, req.name != NULL, req.action, method, &path_known);
	if (!path_known)
		return respond_json_error(h, conn, ROUTE_API, MHD_HTTP_NOT_FOUND, "no such endpoint");
	if (!route) {
		char msg[32];
		snprintf(msg, sizeof(msg), "use %s", path_known->method);
		return respond_json_error(h, conn, ROUTE_API, MHD_HTTP_METHOD_NOT_ALLOWED, msg);
	}
	q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "namespace");
	if (q && *q) {
		if (!valid_k8s_name(q, strlen(q)) || strlen(q) > 63)
			return respond_json_error(h, conn, ROUTE_API, MHD_HTTP_BAD_REQUEST,
						  "invalid namespace");
		memcpy(ns, q, strlen(q));
		req.namespace = ns;
	}
	req.query_wait = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "wait");

	req.scope = authenticate(h, conn, token_name, sizeof(token_name), &projects);
	req.token_name = token_name;
	req.projects = projects;
	if (req.scope == APITOKEN_NONE) {
		ret = respond_json_error(h, conn, ROUTE_API, MHD_HTTP_UNAUTHORIZED,
					 "missing or invalid bearer token");
		goto out;
	}
	if (req.scope < route->scope) {
		char msg[64];
		snprintf(msg, sizeof(msg), "token is read-only (scope '%s' needed)",
			 apitoken_scope_name(route->scope));
		ret = respond_json_error(h, conn, ROUTE_API, MHD_HTTP_FORBIDDEN, msg);
		goto out;
	}
	if (rq->too_big) {
		ret = respond_json_error(h, conn, ROUTE_API, HTTP_TOO_LARGE,
					 "request body too large");
		goto out;
	}
	rc = route->handle(h->ops->payload, &req, &resp, &err);
	if (rc) {
		char buf[1100];
		status = rc == GS_ENOTFOUND ? MHD_HTTP_NOT_FOUND
			 : rc == GS_EINVAL  ? MHD_HTTP_BAD_REQUEST
			 : rc == GS_ECONFLICT ? MHD_HTTP_CONFLICT
			 : rc == GS_EAUTH   ? MHD_HTTP_FORBIDDEN
					    : MHD_HTTP_INTERNAL_SERVER_ERROR;
		gs_buf_release(&resp.body);
		ret = respond_json_error(h, conn, ROUTE_API, status,
					 gs_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	ret = respond(h, conn, ROUTE_API, resp.status ? resp.status : 200, resp.content_type,
		      resp.body.ptr, resp.body.len);
	gs_buf_release(&resp.body);
out:
	free(projects);
	return ret;
}

/* ---- dispatch ---- */

static enum route route_of(const char *url)
{
	if (!strcmp(url, "/healthz"))
		return ROUTE_HEALTHZ;
	if (!strcmp(url, "/readyz"))
		return ROUTE_READYZ;
	if (!strcmp(url, "/metrics"))
		return ROUTE_METRICS;
	if (!strcmp(url, "/api/webhook"))
		return ROUTE_WEBHOOK;
	if (!strncmp(url, "/api/v1/applications", 20) && (url[20] == '\0' || url[20] == '/'))
		return ROUTE_API;
	return ROUTE_NOTFOUND;
}

static MHD_RESULT handler(void *cls, struct MHD_Connection *conn, const char *url,
			  const char *method, const char *version, const char *upload_data,
			  size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct request *rq = *con_cls;
	(void)version;

	if (!rq) {
		const char *cl;
		size_t limit;

		rq = gs_calloc(1, sizeof(*rq));
		rq->route = route_of(url);
		gs_buf_init(&rq->body, 0);
		limit = rq->route == ROUTE_WEBHOOK ? h->webhook_max : HTTPD_API_MAX_BODY;
		rq->body.max = limit;
		*con_cls = rq;
		/* Refuse a declared oversize body before reading a byte of it. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl) {
			char *end = NULL;
			unsigned long long n = strtoull(cl, &end, 10);
			if (end && !*end && n > limit) {
				rq->answered = true;
				if (rq->route == ROUTE_WEBHOOK)
					webhook_count(h, webhook_detect(conn_header, conn),
						      "too_large");
				return respond_json_error(h, conn, rq->route,
							  HTTP_TOO_LARGE,
							  "request body too large");
			}
		}
		return MHD_YES;
	}
	if (rq->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rq->too_big && gs_buf_add(&rq->body, upload_data, *upload_data_size))
			rq->too_big = true; /* keep draining, answer 413 at the end */
		*upload_data_size = 0;
		return MHD_YES;
	}

	switch (rq->route) {
	case ROUTE_HEALTHZ:
		return respond_text(h, conn, rq->route, MHD_HTTP_OK, "ok\n");
	case ROUTE_READYZ:
		if (h->ops->ready && !h->ops->ready(h->ops->payload))
			return respond_text(h, conn, rq->route, MHD_HTTP_SERVICE_UNAVAILABLE,
					    "not ready: caches syncing\n");
		return respond_text(h, conn, rq->route, MHD_HTTP_OK, "ok\n");
	case ROUTE_METRICS: {
		struct gs_buf b = GS_BUF_INIT;
		MHD_RESULT ret;
		if (!h->metrics)
			return respond_text(h, conn, rq->route, MHD_HTTP_NOT_FOUND, "no metrics\n");
		metrics_render(h->metrics, &b);
		ret = respond(h, conn, rq->route, MHD_HTTP_OK, METRICS_CONTENT_TYPE, b.ptr, b.len);
		gs_buf_release(&b);
		return ret;
	}
	case ROUTE_WEBHOOK:
		if (strcmp(method, "POST"))
			return respond_json_error(h, conn, rq->route, MHD_HTTP_METHOD_NOT_ALLOWED,
						  "use POST");
		return handle_webhook(h, conn, rq);
	case ROUTE_API:
		return handle_api(h, conn, method, url, rq);
	case ROUTE_NOTFOUND:
		break;
	}
	return respond_json_error(h, conn, rq->route, MHD_HTTP_NOT_FOUND, "not found");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;

	if (!rq)
		return;
	gs_buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* MHD's own messages (bad requests from clients) are not ours to print. */
static void quiet_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

static int parse_listen(struct sockaddr_storage *ss, bool *v6, const char *listen,
			struct gs_error *err)
{
	const char *colon = strrchr(listen, ':');
	char host[64];
	size_t hlen;
	unsigned long port;
	char *end = NULL;

	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (!colon)
		return gs_error_set(err, GS_EINVAL, "invalid listen address '%s' (want ADDR:PORT)",
				    listen);
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535)
		return gs_error_set(err, GS_EINVAL, "invalid port in listen address '%s'", listen);
	hlen = (size_t)(colon - listen);
	if (hlen >= sizeof(host))
		return gs_error_set(err, GS_EINVAL, "invalid listen address '%s'", listen);
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		host[hlen - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return gs_error_set(err, GS_EINVAL, "invalid IPv6 address in '%s'", listen);
		*v6 = true;
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (!*host || !strcmp(host, "0.0.0.0"))
		a->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (!strcmp(host, "localhost"))
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return gs_error_set(err, GS_EINVAL, "invalid IPv4 address in '%s'", listen);
	return 0;
}

int httpd_start(struct httpd **out, const struct httpd_config *config, const struct httpd_ops *ops,
		struct metrics_registry *metrics, struct gs_error *err)
{
	struct httpd *h = gs_calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ERROR_LOG;
	bool v6 = false;
	bool tls = config->tls_cert_file && config->tls_key_file;
	int rc;

	*out = NULL;
	pthread_rwlock_init(&h->lock, NULL);
	h->ops = ops;
	h->metrics = metrics;
	h->webhook_max = config->webhook_max_bytes ? config->webhook_max_bytes
						   : HTTPD_WEBHOOK_MAX_DEFAULT;
	h->replay = webhook_replay_new(512);
	if (metrics) {
		h->m_webhook = metrics_counter(metrics, "gitsync_webhook_events_total",
					       "Webhook deliveries by forge and result.",
					       "forge,result");
		h->m_requests = metrics_counter(metrics, "gitsync_http_requests_total",
						"HTTP requests served by handler and status code.",
						"handler,code");
	}
	rc = parse_listen(&ss, &v6, config->listen ? config->listen : ":8080", err);
	if (rc)
		goto cleanup;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (tls) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			rc = gs_error_set(err, GS_EINVAL, "this libmicrohttpd has no TLS support");
			goto cleanup;
		}
		h->tls_cert.max = h->tls_key.max = 1u << 20;
		rc = gs_buf_read_file(&h->tls_cert, config->tls_cert_file, err);
		if (!rc)
			rc = gs_buf_read_file(&h->tls_key, config->tls_key_file, err);
		if (rc) {
			gs_error_wrap(err, "TLS");
			goto cleanup;
		}
		flags |= MHD_USE_TLS;
	}
	h->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(config->max_connections ? config->max_connections : 64),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_THREAD_STACK_SIZE,
		(size_t)(256u << 10), MHD_OPTION_NOTIFY_COMPLETED, completed, h,
		MHD_OPTION_EXTERNAL_LOGGER, quiet_logger, h,
		tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert.ptr,
		MHD_OPTION_HTTPS_MEM_KEY, h->tls_key.ptr, MHD_OPTION_END);
	if (!h->daemon) {
		rc = gs_error_set(err, GS_EIO, "cannot listen on '%s'%s",
				  config->listen ? config->listen : ":8080",
				  tls ? " (or bad TLS certificate/key)" : "");
		goto cleanup;
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
	h = NULL;
cleanup:
	httpd_stop(h);
	return rc;
}

void httpd_stop(struct httpd *h)
{
	size_t i;

	if (!h)
		return;
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	for (i = 0; i < sizeof(h->secret) / sizeof(h->secret[0]); i++) {
		if (h->secret[i])
			wipe(h->secret[i]);
		free(h->secret[i]);
	}
	apitoken_table_free(h->tokens);
	webhook_replay_free(h->replay);
	gs_buf_release(&h->tls_cert);
	if (h->tls_key.len)
		memset(h->tls_key.ptr, 0, h->tls_key.len);
	gs_buf_release(&h->tls_key);
	pthread_rwlock_destroy(&h->lock);
	free(h);
}

unsigned httpd_port(const struct httpd *h)
{
	return h ? h->port : 0;
}

void httpd_set_secrets(struct httpd *h, const struct httpd_secrets *s, struct apitoken_table *tokens)
{
	const char *v[5] = { NULL };
	char *old[5];
	struct apitoken_table *old_tokens;
	size_t i;

	if (s) {
		v[WEBHOOK_GITHUB] = s->github;
		v[WEBHOOK_GITLAB] = s->gitlab;
		v[WEBHOOK_GITEA] = s->gitea;
		v[WEBHOOK_BITBUCKET_SERVER] = s->bitbucketserver;
	}
	pthread_rwlock_wrlock(&h->lock);
	for (i = 0; i < 5; i++) {
		old[i] = h->secret[i];
		h->secret[i] = v[i] && *v[i] ? gs_strdup(v[i]) : NULL;
	}
	old_tokens = h->tokens;
	h->tokens = tokens;
	pthread_rwlock_unlock(&h->lock);
	for (i = 0; i < 5; i++) {
		if (old[i])
			wipe(old[i]);
		free(old[i]);
	}
	apitoken_table_free(old_tokens);
}
