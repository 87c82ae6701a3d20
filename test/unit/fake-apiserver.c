/* fake-apiserver.c - see fake-apiserver.h. */
#include "fake-apiserver.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "gs-alloc.h"
#include "gs-buf.h"
#include "mf-yaml.h"

struct fake_kind {
	const char *prefix, *plural, *kind;
	bool namespaced;
};

static const struct fake_kind kinds[] = {
	{ "/api/v1", "namespaces", "Namespace", false },
	{ "/api/v1", "configmaps", "ConfigMap", true },
	{ "/api/v1", "secrets", "Secret", true },
	{ "/api/v1", "serviceaccounts", "ServiceAccount", true },
	{ "/apis/batch/v1", "jobs", "Job", true },
	{ "/apis/apps/v1", "deployments", "Deployment", true },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct fake_obj {
	char *path;   /* canonical: prefix[/namespaces/NS]/plural/name */
	const struct fake_kind *k;
	char *ns;     /* "" when cluster-scoped */
	cJSON *obj;
};

struct fake_apiserver {
	pthread_mutex_t lock;
	struct MHD_Daemon *d;
	unsigned port;
	struct fake_obj *objs;
	size_t nobjs, aobjs;
	unsigned long rv;
	struct gs_buf log;
	fake_apiserver_handler_fn handler;
	void *handler_payload;
	fake_apiserver_store_fn on_store;
	void *on_store_payload;
};

struct upload {
	struct gs_buf body;
};

/* A parsed request path. */
struct fake_path {
	const struct fake_kind *k;
	char ns[128], name[256];
};

static bool parse_path(struct fake_path *p, const char *url)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < NKINDS; i++) {
		size_t n = strlen(kinds[i].prefix);
		const char *rest = url + n, *s;
		char plural[64] = "";

		if (strncmp(url, kinds[i].prefix, n) || rest[0] != '/')
			continue;
		rest++;
		if (!strncmp(rest, "namespaces/", 11) && (s = strchr(rest + 11, '/'))) {
			snprintf(p->ns, sizeof(p->ns), "%.*s", (int)(s - rest - 11), rest + 11);
			rest = s + 1;
		}
		s = strchr(rest, '/');
		snprintf(plural, sizeof(plural), "%.*s", (int)(s ? (size_t)(s - rest) : strlen(rest)),
			 rest);
		if (s)
			snprintf(p->name, sizeof(p->name), "%s", s + 1);
		if (strcmp(plural, kinds[i].plural))
			continue;
		p->k = &kinds[i];
		return true;
	}
	return false;
}

static char *obj_path(const struct fake_kind *k, const char *ns, const char *name)
{
	if (k->namespaced && ns && ns[0])
		return gs_asprintf("%s/namespaces/%s/%s/%s", k->prefix, ns, k->plural, name);
	return gs_asprintf("%s/%s/%s", k->prefix, k->plural, name);
}

static struct fake_obj *find(struct fake_apiserver *fs, const char *path)
{
	size_t i;

	for (i = 0; i < fs->nobjs; i++)
		if (!strcmp(fs->objs[i].path, path))
			return &fs->objs[i];
	return NULL;
}

static void drop(struct fake_apiserver *fs, struct fake_obj *o)
{
	free(o->path);
	free(o->ns);
	cJSON_Delete(o->obj);
	*o = fs->objs[--fs->nobjs];
}

static cJSON *meta(cJSON *obj)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	if (!cJSON_IsObject(m)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
		m = cJSON_AddObjectToObject(obj, "metadata");
	}
	return m;
}

static void set_str(cJSON *o, const char *key, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	cJSON_AddStringToObject(o, key, v);
}

/* Store obj (taken) at the path of p's kind; returns the stored copy. */
static struct fake_obj *store(struct fake_apiserver *fs, const struct fake_kind *k,
			      const char *ns, cJSON *obj)
{
	const char *name = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(meta(obj), "name"));
	char *path = obj_path(k, ns, name ? name : "");
	struct fake_obj *o = find(fs, path);
	char rv[32];

	snprintf(rv, sizeof(rv), "%lu", ++fs->rv);
	set_str(meta(obj), "resourceVersion", rv);
	if (k->namespaced && ns && ns[0])
		set_str(meta(obj), "namespace", ns);
	if (o) {
		const char *uid = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(meta(o->obj), "uid"));

		set_str(meta(obj), "uid", uid ? uid : "u");
		cJSON_Delete(o->obj);
		free(path);
	} else {
		char uid[32];

		snprintf(uid, sizeof(uid), "uid-%lu", fs->rv);
		set_str(meta(obj), "uid", uid);
		GS_ALLOC_GROW(fs->objs, fs->nobjs + 1, fs->aobjs);
		o = &fs->objs[fs->nobjs++];
		o->path = path;
		o->k = k;
		o->ns = gs_strdup(k->namespaced && ns ? ns : "");
	}
	o->obj = obj;
	if (fs->on_store)
		fs->on_store(obj, k->plural, fs->on_store_payload);
	return o;
}

enum MHD_Result fake_apiserver_reply(struct MHD_Connection *conn, unsigned status,
				     const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status,
				  const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	enum MHD_Result ret = fake_apiserver_reply(conn, status, s);

	free(s);
	return ret;
}

static enum MHD_Result status(struct MHD_Connection *conn, unsigned code, const char *reason,
			      const char *msg)
{
	char *body = gs_asprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
				 "\"code\":%u,\"reason\":\"%s\",\"message\":\"%s\"}",
				 code, reason, msg);
	enum MHD_Result ret = fake_apiserver_reply(conn, code, body);

	free(body);
	return ret;
}

static enum MHD_Result discovery(struct MHD_Connection *conn, const char *url)
{
	struct gs_buf b = GS_BUF_INIT;
	enum MHD_Result ret;
	size_t i, n = 0;

	if (!strcmp(url, "/apis"))
		return fake_apiserver_reply(conn, 200, "{\"kind\":\"APIGroupList\",\"groups\":[{\"name\":\"batch\","
					"\"versions\":[{\"groupVersion\":\"batch/v1\",\"version\":\"v1\"}],"
					"\"preferredVersion\":{\"groupVersion\":\"batch/v1\","
					"\"version\":\"v1\"}}]}");
	if (!strcmp(url, "/api"))
		return fake_apiserver_reply(conn, 200, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}");
	gs_buf_printf(&b, "{\"kind\":\"APIResourceList\",\"groupVersion\":\"%s\",\"resources\":[",
		      url + (strncmp(url, "/apis/", 6) ? 5 : 6));
	for (i = 0; i < NKINDS; i++) {
		if (strcmp(kinds[i].prefix, url))
			continue;
		gs_buf_printf(&b, "%s{\"name\":\"%s\",\"namespaced\":%s,\"kind\":\"%s\","
				  "\"verbs\":[\"get\",\"list\",\"watch\",\"patch\",\"delete\","
				  "\"create\",\"update\"]}",
			      n++ ? "," : "", kinds[i].plural, kinds[i].namespaced ? "true" : "false",
			      kinds[i].kind);
	}
	gs_buf_puts(&b, "]}");
	ret = n ? fake_apiserver_reply(conn, 200, b.ptr) : status(conn, 404, "NotFound", "no such group");
	gs_buf_release(&b);
	return ret;
}

static bool label_matches(const cJSON *obj, const char *sel)
{
	const char *eq = sel ? strchr(sel, '=') : NULL;
	const cJSON *labels;
	const char *v;
	char key[256];

	if (!sel || !sel[0])
		return true;
	if (!eq)
		return false;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - sel), sel);
	labels = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key));
	return v && !strcmp(v, eq + 1);
}

static enum MHD_Result serve(struct fake_apiserver *fs, struct MHD_Connection *conn,
			     const char *method, const char *url, const char *body, size_t len)
{
	const char *dry = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "dryRun");
	struct fake_path p;
	struct fake_obj *o;
	enum MHD_Result ret;
	char *path;
	cJSON *in;

	if (!strcmp(url, "/api") || !strcmp(url, "/apis") || !strcmp(url, "/api/v1") ||
	    (!strncmp(url, "/apis/", 6) && strchr(url + 6, '/') &&
	     !strchr(strchr(url + 6, '/') + 1, '/')))
		return discovery(conn, url);
	if (!parse_path(&p, url))
		return status(conn, 404, "NotFound", "no such resource");
	if (!p.name[0] && !strcmp(method, "GET")) {
		const char *sel = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
							      "labelSelector");
		char rv[32];
		cJSON *list = cJSON_CreateObject(), *items;
		size_t i;

		snprintf(rv, sizeof(rv), "%lu", fs->rv);
		cJSON_AddStringToObject(list, "kind", "List");
		cJSON_AddStringToObject(list, "apiVersion", "v1");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(list, "metadata"), "resourceVersion",
					rv);
		items = cJSON_AddArrayToObject(list, "items");
		for (i = 0; i < fs->nobjs; i++)
			if (fs->objs[i].k == p.k && (!p.ns[0] || !strcmp(fs->objs[i].ns, p.ns)) &&
			    label_matches(fs->objs[i].obj, sel))
				cJSON_AddItemToArray(items, cJSON_Duplicate(fs->objs[i].obj, true));
		ret = reply_json(conn, 200, list);
		cJSON_Delete(list);
		return ret;
	}
	if (!p.name[0] && !strcmp(method, "POST")) {
		const char *name;

		if (!(in = cJSON_ParseWithLength(body, len)))
			return status(conn, 400, "BadRequest", "not JSON");
		name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta(in), "name"));
		path = obj_path(p.k, p.ns, name ? name : "");
		o = find(fs, path);
		free(path);
		if (o) {
			cJSON_Delete(in);
			return status(conn, 409, "AlreadyExists", "already exists");
		}
		if (dry) {
			ret = reply_json(conn, 201, in);
			cJSON_Delete(in);
			return ret;
		}
		return reply_json(conn, 201, store(fs, p.k, p.ns, in)->obj);
	}
	path = obj_path(p.k, p.ns, p.name);
	o = find(fs, path);
	free(path);
	if (!strcmp(method, "GET"))
		return o ? reply_json(conn, 200, o->obj) : status(conn, 404, "NotFound", "not found");
	if (!strcmp(method, "DELETE")) {
		if (!o)
			return status(conn, 404, "NotFound", "not found");
		drop(fs, o);
		return fake_apiserver_reply(conn, 200, "{\"kind\":\"Status\",\"status\":\"Success\"}");
	}
	if (!strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
		if (!o && !strcmp(method, "PUT"))
			return status(conn, 404, "NotFound", "not found");
		if (!(in = cJSON_ParseWithLength(body, len)))
			return status(conn, 400, "BadRequest", "not JSON (this fake takes JSON only)");
		if (dry) {
			/* as the real server: a dry-run of an existing object
			 * answers with its uid and resourceVersion, of a new
			 * one with no resourceVersion (sync's probe relies on it) */
			if (o) {
				set_str(meta(in), "uid", cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(meta(o->obj), "uid")));
				set_str(meta(in), "resourceVersion",
					cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
						meta(o->obj), "resourceVersion")));
			}
			ret = reply_json(conn, o ? 200 : 201, in);
			cJSON_Delete(in);
			return ret;
		}
		return reply_json(conn, o ? 200 : 201, store(fs, p.k, p.ns, in)->obj);
	}
	return status(conn, 405, "MethodNotAllowed", "method not allowed");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct fake_apiserver *fs = cls;
	struct upload *u = *con_cls;
	enum MHD_Result ret;
	const char *dry;
	char *body;
	size_t len;

	(void)version;
	if (!u) {
		u = gs_calloc(1, sizeof(*u));
		u->body = (struct gs_buf)GS_BUF_INIT;
		*con_cls = u;
		return MHD_YES;
	}
	if (*data_size) {
		gs_buf_add(&u->body, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	body = gs_buf_detach(&u->body, &len);
	dry = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "dryRun");
	pthread_mutex_lock(&fs->lock);
	gs_buf_printf(&fs->log, "%s %s%s\n", method, url, dry ? " dry" : "");
	pthread_mutex_unlock(&fs->lock);
	if (fs->handler && fs->handler(conn, method, url, body, len, &ret, fs->handler_payload)) {
		free(body);
		return ret;
	}
	pthread_mutex_lock(&fs->lock);
	ret = serve(fs, conn, method, url, body, len);
	pthread_mutex_unlock(&fs->lock);
	free(body);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (u) {
		gs_buf_release(&u->body);
		free(u);
		*con_cls = NULL;
	}
}

struct fake_apiserver *fake_apiserver_start(void)
{
	struct fake_apiserver *fs = gs_calloc(1, sizeof(*fs));
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&fs->lock, NULL);
	fs->log = (struct gs_buf)GS_BUF_INIT;
	fs->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				 0, NULL, NULL, handler, fs, MHD_OPTION_SOCK_ADDR, &sa,
				 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (!fs->d) {
		free(fs);
		return NULL;
	}
	info = MHD_get_daemon_info(fs->d, MHD_DAEMON_INFO_BIND_PORT);
	fs->port = info->port;
	return fs;
}

void fake_apiserver_stop(struct fake_apiserver *fs)
{
	if (!fs)
		return;
	MHD_stop_daemon(fs->d);
	while (fs->nobjs)
		drop(fs, &fs->objs[0]);
	free(fs->objs);
	gs_buf_release(&fs->log);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

unsigned fake_apiserver_port(const struct fake_apiserver *fs)
{
	return fs->port;
}

int fake_apiserver_client(struct fake_apiserver *fs, const struct kube_client_opts *opts,
			  struct kube_config **cfg_out, struct kube_client **kc_out,
			  struct gs_error *err)
{
	struct mf_docs docs = MF_DOCS_INIT;
	struct kube_config *cfg = NULL;
	char *yaml = gs_asprintf("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
				 "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:%u'}}]\n"
				 "users: [{name: u, user: {token: t0k}}]\n"
				 "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
				 fs->port);
	int rc;

	*cfg_out = NULL;
	*kc_out = NULL;
	rc = mf_yaml_parse(&docs, yaml, strlen(yaml), "kubeconfig", NULL, err);
	if (rc == GS_OK)
		rc = kube_config_from_node(&cfg, docs.docs[0], NULL, NULL, err);
	if (rc == GS_OK)
		rc = kube_client_new(kc_out, cfg, opts, err);
	if (rc == GS_OK) {
		*cfg_out = cfg;
		cfg = NULL;
	}
	kube_config_free(cfg);
	mf_docs_release(&docs);
	free(yaml);
	return rc;
}

void fake_apiserver_set_handler(struct fake_apiserver *fs, fake_apiserver_handler_fn fn,
				void *payload)
{
	fs->handler = fn;
	fs->handler_payload = payload;
}

void fake_apiserver_on_store(struct fake_apiserver *fs, fake_apiserver_store_fn fn,
			     void *payload)
{
	pthread_mutex_lock(&fs->lock);
	fs->on_store = fn;
	fs->on_store_payload = payload;
	pthread_mutex_unlock(&fs->lock);
}

void fake_apiserver_put(struct fake_apiserver *fs, const char *path, const char *json)
{
	struct fake_path p;
	cJSON *in = cJSON_Parse(json);

	if (!in || !parse_path(&p, path)) {
		cJSON_Delete(in);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	store(fs, p.k, p.ns, in);
	pthread_mutex_unlock(&fs->lock);
}

char *fake_apiserver_get(struct fake_apiserver *fs, const char *path)
{
	struct fake_obj *o;
	char *s = NULL;

	pthread_mutex_lock(&fs->lock);
	if ((o = find(fs, path)))
		s = cJSON_PrintUnformatted(o->obj);
	pthread_mutex_unlock(&fs->lock);
	return s;
}

char *fake_apiserver_log(struct fake_apiserver *fs)
{
	char *s;

	pthread_mutex_lock(&fs->lock);
	s = gs_strdup(fs->log.ptr);
	pthread_mutex_unlock(&fs->lock);
	return s;
}

void fake_apiserver_log_clear(struct fake_apiserver *fs)
{
	pthread_mutex_lock(&fs->lock);
	gs_buf_release(&fs->log);
	fs->log = (struct gs_buf)GS_BUF_INIT;
	pthread_mutex_unlock(&fs->lock);
}

static long log_scan(struct fake_apiserver *fs, const char *prefix, size_t *count)
{
	char *log = fake_apiserver_log(fs), *line = log, *nl;
	long first = -1, i = 0;

	*count = 0;
	for (; *line; line = nl + 1, i++) {
		nl = strchr(line, '\n');
		if (!strncmp(line, prefix, strlen(prefix))) {
			if (first < 0)
				first = i;
			(*count)++;
		}
		if (!nl)
			break;
	}
	free(log);
	return first;
}

long fake_apiserver_log_find(struct fake_apiserver *fs, const char *prefix)
{
	size_t n;

	return log_scan(fs, prefix, &n);
}

size_t fake_apiserver_log_count(struct fake_apiserver *fs, const char *prefix)
{
	size_t n;

	log_scan(fs, prefix, &n);
	return n;
}
