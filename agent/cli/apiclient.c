/* apiclient.c - client of the agent's API (see apiclient.h). */
#include "cli/apiclient.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "mf-json.h"

#define MAX_ANSWER (64u << 20)

struct apiclient {
	CURL *curl;
	char *base;
	char *auth; /* "Authorization: Bearer ..." */
	struct apiclient_opts o;
	char errbuf[CURL_ERROR_SIZE];
};

int apiclient_new(struct apiclient **out, const struct apiclient_opts *opts, struct gs_error *err)
{
	struct apiclient *c;
	const char *s = opts->server;
	size_t n;

	*out = NULL;
	if (!s || !*s)
		return gs_error_set(err, GS_EINVAL, "no API server given (--server or GITSYNC_SERVER)");
	if (!opts->token || !*opts->token)
		return gs_error_set(err, GS_EINVAL,
				    "no API token given (--auth-token or GITSYNC_AUTH_TOKEN)");
	c = gs_calloc(1, sizeof(*c));
	c->o = *opts;
	if (strstr(s, "://"))
		c->base = gs_strdup(s);
	else
		c->base = gs_asprintf("%s://%s", opts->plaintext ? "http" : "https", s);
	n = strlen(c->base);
	while (n && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->auth = gs_asprintf("Authorization: Bearer %s", opts->token);
	c->curl = curl_easy_init();
	if (!c->curl) {
		apiclient_free(c);
		return gs_error_set(err, GS_ERR, "cannot initialise libcurl");
	}
	*out = c;
	return 0;
}

void apiclient_free(struct apiclient *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base);
	if (c->auth) {
		memset(c->auth, 0, strlen(c->auth));
		free(c->auth);
	}
	free(c);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	return gs_buf_add(ud, p, sz * n) ? 0 : sz * n;
}

/* The server's {"error": "..."} text, or the raw body's first line. */
static void server_message(char *buf, size_t n, const struct gs_buf *body)
{
	cJSON *j = cJSON_ParseWithLength(body->ptr, body->len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

	if (cJSON_IsString(e))
		snprintf(buf, n, "%s", e->valuestring);
	else
		snprintf(buf, n, "%.*s", (int)strcspn(body->ptr, "\n"), body->ptr);
	cJSON_Delete(j);
}

static int request(struct apiclient *c, const char *method, const char *path, const char *body,
		   struct gs_buf *out, struct gs_error *err)
{
	struct curl_slist *h = NULL;
	char *url;
	CURLcode cc;
	long code = 0;
	char msg[512];
	int rc = 0;

	if (c->o.ns)
		url = gs_asprintf("%s%s%cnamespace=%s", c->base, path, strchr(path, '?') ? '&' : '?',
				  c->o.ns);
	else
		url = gs_asprintf("%s%s", c->base, path);
	out->max = MAX_ANSWER;
	curl_easy_reset(c->curl);
	h = curl_slist_append(h, c->auth);
	h = curl_slist_append(h, "Accept: application/json");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "gitsync/" GITSYNC_VERSION);
	if (c->o.ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->o.ca_file);
	if (c->o.insecure) {
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	c->errbuf[0] = '\0';
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		rc = gs_error_set(err, GS_ENET, "cannot reach the gitsync API at %s: %s", c->base,
				  c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
		goto cleanup;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		goto cleanup;
	server_message(msg, sizeof(msg), out);
	switch (code) {
	case 401:
		rc = gs_error_set(err, GS_EAUTH, "401 Unauthorized: %s (check GITSYNC_AUTH_TOKEN)", msg);
		break;
	case 403:
		rc = gs_error_set(err, GS_EAUTH, "403 Forbidden: %s", msg);
		break;
	case 400: /* the agent's own words, as a kubeconfig run prints them */
		rc = gs_error_set(err, GS_EINVAL, "%s", msg);
		break;
	case 404:
		rc = gs_error_set(err, GS_ENOTFOUND, "%s", msg);
		break;
	case 409:
		rc = gs_error_set(err, GS_ECONFLICT, "%s", msg);
		break;
	default:
		rc = gs_error_set(err, GS_ERR, "API answered %ld: %s", code, msg);
		break;
	}
cleanup:
	curl_slist_free_all(h);
	free(url);
	return rc;
}

static int request_json(struct apiclient *c, struct mf_node **out, const char *method,
			const char *path, const char *body, struct gs_error *err)
{
	struct gs_buf b = GS_BUF_INIT;
	int rc = request(c, method, path, body, &b, err);

	if (!rc && out) {
		rc = mf_json_parse(out, b.ptr, b.len, "API answer", err);
		if (rc)
			gs_error_wrap(err, "%s %s", method, path);
	}
	gs_buf_release(&b);
	return rc;
}

int apiclient_list(struct apiclient *c, struct mf_node **out, struct gs_error *err)
{
	return request_json(c, out, "GET", "/api/v1/applications", NULL, err);
}

int apiclient_get(struct apiclient *c, struct mf_node **out, const char *name,
		  struct gs_error *err)
{
	char *p = gs_asprintf("/api/v1/applications/%s", name);
	int rc = request_json(c, out, "GET", p, NULL, err);

	free(p);
	return rc;
}

int apiclient_sync(struct apiclient *c, const char *name, const struct apiclient_sync_req *req,
		   struct gs_error *err)
{
	cJSON *o = cJSON_CreateObject(), *res;
	char *p = gs_asprintf("/api/v1/applications/%s/sync", name), *body;
	size_t i;
	int rc;

	if (req->revision)
		cJSON_AddStringToObject(o, "revision", req->revision);
	cJSON_AddBoolToObject(o, "prune", req->prune);
	if (req->dry_run)
		cJSON_AddBoolToObject(o, "dryRun", true);
	if (req->n_sync_options) {
		res = cJSON_AddArrayToObject(o, "syncOptions");
		for (i = 0; i < req->n_sync_options; i++)
			cJSON_AddItemToArray(res, cJSON_CreateString(req->sync_options[i]));
	}
	if (req->n_resources) {
		res = cJSON_AddArrayToObject(o, "resources");
		for (i = 0; i < req->n_resources; i++)
			cJSON_AddItemToArray(res, cJSON_CreateString(req->resources[i]));
	}
	body = cJSON_PrintUnformatted(o);
	rc = request_json(c, NULL, "POST", p, body, err);
	cJSON_free(body);
	cJSON_Delete(o);
	free(p);
	return rc;
}

int apiclient_refresh(struct apiclient *c, const char *name, struct gs_error *err)
{
	char *p = gs_asprintf("/api/v1/applications/%s/refresh", name);
	int rc = request_json(c, NULL, "POST", p, "{}", err);

	free(p);
	return rc;
}

int apiclient_operation(struct apiclient *c, struct mf_node **out, const char *name,
			double wait_s, struct gs_error *err)
{
	char *p = wait_s > 0 ? gs_asprintf("/api/v1/applications/%s/operation?wait=%.0fs", name,
					   wait_s)
			     : gs_asprintf("/api/v1/applications/%s/operation", name);
	int rc = request_json(c, out, "GET", p, NULL, err);

	free(p);
	return rc;
}

int apiclient_diff(struct apiclient *c, struct gs_buf *out, const char *name,
		   struct gs_error *err)
{
	char *p = gs_asprintf("/api/v1/applications/%s/diff", name);
	int rc = request(c, "GET", p, NULL, out, err);

	free(p);
	return rc;
}

int apiclient_call(struct apiclient *c, struct gs_buf *out, const char *method, const char *rest,
		   const char *body, struct gs_error *err)
{
	char *p = gs_asprintf("/api/v1/applications%s", rest);
	int rc = request(c, method, p, body, out, err);

	free(p);
	return rc;
}

char *apiclient_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = gs_malloc(strlen(s) * 3 + 1), *o = out;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch)) {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}
