/* kube-watch.c - LIST+WATCH caches (see kube-watch.h for the contract). */
#include "kube/kube-watch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "gs-hash.h"
#include "gs-time.h"
#include "gs-alloc.h"
#include "kube/kube-private.h"
#include "mf-object.h"

#define WATCH_TIMEOUT_S 300   /* the server ends a watch after this; we resume */
#define LINE_MAX_BYTES (64u << 20) /* one event: an object is at most ~1.5 MiB in etcd */
#define BACKOFF_BASE_MS 250.0
#define BACKOFF_MAX_MS 10000.0

/* One object: its strings in one block "ns\0name\0uid\0rv\0". */
struct centry {
	char *s;
	unsigned short name_off, uid_off, rv_off;
	bool seen;               /* relist: still there */
	long long generation;
	uint64_t user;
};

struct kube_cache {
	struct kube_watcher *w;
	const struct kube_resource *res;
	char *ns, *selector;
	kube_cache_fn fn;
	void *payload;
	struct centry *v;
	size_t n, alloc;
	size_t *slots;           /* open addressing: entry index + 1, 0 = empty */
	size_t cap;
	char *rv;                /* newest resourceVersion seen */
	unsigned long revision;
	bool synced, need_relist, running;
	unsigned failures;
	double next_ms;          /* (re)start not before */
	CURL *easy;
	struct kube_xfer x;
	char *path;
	struct gs_buf line;      /* the event being received */
	struct kube_cache_stats stats;
};

struct kube_watcher {
	struct kube_client *kc;
	CURLM *multi;
	pthread_mutex_t lock;
	struct kube_cache **c;
	size_t nc, ac;
	unsigned rng;
	bool auth_failed;
	struct gs_error auth_err;
	atomic_bool woken; /* kube_watcher_wake: end the running poll */
};

/* ---- the entry index ---- */

static const char *e_ns(const struct centry *e) { return e->s; }
static const char *e_name(const struct centry *e) { return e->s + e->name_off; }
static const char *e_uid(const struct centry *e) { return e->s + e->uid_off; }
static const char *e_rv(const struct centry *e) { return e->s + e->rv_off; }

static size_t key_hash(const char *ns, const char *name)
{
	return (size_t)gs_fnv1a_field(gs_fnv1a_field(GS_FNV1A_INIT, ns), name);
}

/* Slot of ns/name: the one holding it, or the empty one where it goes. */
static size_t find_slot(const struct kube_cache *c, const char *ns, const char *name)
{
	size_t i = key_hash(ns, name) & (c->cap - 1);

	while (c->slots[i]) {
		const struct centry *e = &c->v[c->slots[i] - 1];

		if (!strcmp(e_name(e), name) && !strcmp(e_ns(e), ns))
			return i;
		i = (i + 1) & (c->cap - 1);
	}
	return i;
}

static struct centry *find(const struct kube_cache *c, const char *ns, const char *name)
{
	size_t i;

	if (!c->cap)
		return NULL;
	i = find_slot(c, ns, name);
	return c->slots[i] ? &c->v[c->slots[i] - 1] : NULL;
}

static void reindex(struct kube_cache *c, size_t cap)
{
	size_t i;

	free(c->slots);
	c->cap = cap;
	c->slots = gs_calloc(cap, sizeof(*c->slots));
	for (i = 0; i < c->n; i++)
		c->slots[find_slot(c, e_ns(&c->v[i]), e_name(&c->v[i]))] = i + 1;
}

static void set_strings(struct centry *e, const char *ns, const char *name, const char *uid,
			const char *rv)
{
	size_t a = strlen(ns) + 1, b = strlen(name) + 1, u = strlen(uid) + 1, r = strlen(rv) + 1;
	char *s = gs_malloc(a + b + u + r);

	memcpy(s, ns, a);
	memcpy(s + a, name, b);
	memcpy(s + a + b, uid, u);
	memcpy(s + a + b + u, rv, r);
	free(e->s);
	e->s = s;
	/* names are DNS names (<= 253), namespaces <= 63, uids 36: fits */
	e->name_off = (unsigned short)a;
	e->uid_off = (unsigned short)(a + b);
	e->rv_off = (unsigned short)(a + b + u);
}

static struct centry *add(struct kube_cache *c, const char *ns, const char *name)
{
	struct centry *e;

	if ((c->n + 1) * 2 > c->cap)
		reindex(c, c->cap ? c->cap * 2 : 64);
	GS_ALLOC_GROW(c->v, c->n + 1, c->alloc);
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	set_strings(e, ns, name, "", "");
	c->slots[find_slot(c, ns, name)] = c->n;
	return e;
}

/* Remove entry e (linear probing: shift the following run back). */
static void del(struct kube_cache *c, struct centry *e)
{
	size_t idx = (size_t)(e - c->v), i, j, last = c->n - 1;

	i = find_slot(c, e_ns(e), e_name(e));
	c->slots[i] = 0;
	for (j = (i + 1) & (c->cap - 1); c->slots[j]; j = (j + 1) & (c->cap - 1)) {
		size_t k = c->slots[j];
		const struct centry *m = &c->v[k - 1];

		c->slots[j] = 0;
		c->slots[find_slot(c, e_ns(m), e_name(m))] = k;
	}
	free(e->s);
	if (idx != last) {
		/* the last entry takes its place */
		c->v[idx] = c->v[last];
		c->slots[find_slot(c, e_ns(&c->v[idx]), e_name(&c->v[idx]))] = idx + 1;
	}
	c->n--;
}

static void to_public(struct kube_cache_entry *out, const struct centry *e)
{
	out->ns = e_ns(e);
	out->name = e_name(e);
	out->uid = e_uid(e);
	out->rv = e_rv(e);
	out->generation = e->generation;
	out->user = e->user;
}

/* ---- applying what the server says ---- */

static void upsert(struct kube_cache *c, const struct mf_node *obj)
{
	const char *ns = mf_obj_namespace(obj), *name = mf_obj_name(obj);
	const char *rv = mf_node_dig_str(obj, "metadata", "resourceVersion", NULL);
	const char *uid = mf_node_dig_str(obj, "metadata", "uid", NULL);
	const char *gen = mf_node_dig_str(obj, "metadata", "generation", NULL);
	struct centry *e;
	struct kube_cache_entry prev;
	enum kube_event ev;

	if (!name)
		return;
	ns = ns ? ns : "";
	rv = rv ? rv : "";
	uid = uid ? uid : "";
	e = find(c, ns, name);
	if (e && !strcmp(e_rv(e), rv) && !strcmp(e_uid(e), uid)) {
		e->seen = true; /* a relist found it unchanged */
		return;
	}
	if (e) {
		ev = KUBE_EVENT_MODIFIED;
		to_public(&prev, e);
		e->user = c->fn ? c->fn(ev, obj, &prev, c->payload) : 0;
	} else {
		ev = KUBE_EVENT_ADDED;
		e = add(c, ns, name);
		e->user = c->fn ? c->fn(ev, obj, NULL, c->payload) : 0;
	}
	set_strings(e, ns, name, uid, rv);
	e->generation = gen ? strtoll(gen, NULL, 10) : 0;
	e->seen = true;
	c->revision++;
}

static void removed(struct kube_cache *c, const struct mf_node *obj, struct centry *e)
{
	struct kube_cache_entry prev;

	to_public(&prev, e);
	if (c->fn)
		c->fn(KUBE_EVENT_DELETED, obj, &prev, c->payload);
	del(c, e);
	c->revision++;
}

static int on_list_item(const struct mf_node *item, void *payload)
{
	upsert(payload, item);
	return 0;
}

static double backoff(struct kube_cache *c)
{
	double cap = BACKOFF_BASE_MS * (double)(1u << (c->failures < 8 ? c->failures : 8));

	if (cap > BACKOFF_MAX_MS)
		cap = BACKOFF_MAX_MS;
	c->failures++;
	return cap / 2 + cap / 2 * ((double)(rand_r(&c->w->rng) % 1000) / 1000.0);
}

/* LIST, then drop what the list no longer has. */
static int relist(struct kube_cache *c, struct gs_error *err)
{
	char *rv = NULL;
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++)
		c->v[i].seen = false;
	c->stats.lists++;
	rc = kube_client_list(c->w->kc, c->res, c->ns, c->selector, on_list_item, c, &rv, err);
	if (rc < 0) {
		free(rv);
		c->synced = false;
		c->need_relist = true;
		c->next_ms = gs_time_mono() * 1000 + backoff(c);
		return rc;
	}
	for (i = c->n; i-- > 0;)
		if (!c->v[i].seen)
			removed(c, NULL, &c->v[i]);
	free(c->rv);
	c->rv = rv;
	c->need_relist = false;
	c->synced = true;
	c->failures = 0;
	return GS_OK;
}

static void on_event(struct kube_cache *c, const char *text, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(text, len);
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "type"));
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "object");
	const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "resourceVersion"));
	struct mf_node *obj = NULL;

	if (!type || !cJSON_IsObject(o)) {
		/* not an event: resynchronise from a LIST */
		c->need_relist = true;
		goto done;
	}
	if (!strcmp(type, "ERROR")) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "code");

		if (cJSON_IsNumber(code) && code->valueint == 410)
			c->stats.gone++;
		/* 410 Gone (compacted) or anything else: start over */
		c->need_relist = true;
		goto done;
	}
	if (rv) {
		free(c->rv);
		c->rv = gs_strdup(rv);
	}
	if (!strcmp(type, "BOOKMARK"))
		goto done;
	obj = kube_json_to_node(o);
	c->stats.events++;
	if (!strcmp(type, "DELETED")) {
		const char *ns = mf_obj_namespace(obj), *name = mf_obj_name(obj);
		struct centry *e = name ? find(c, ns ? ns : "", name) : NULL;

		if (e)
			removed(c, obj, e);
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		upsert(c, obj);
	}
done:
	mf_node_free(obj);
	cJSON_Delete(j);
}

static size_t on_watch_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct kube_cache *c = userdata;
	size_t n = size * nmemb, start = 0, i;
	long status = 0;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		/* a Status body: read at the end */
		return gs_buf_add(&c->line, data, n) < 0 ? 0 : n;
	}
	for (i = 0; i < n; i++) {
		if (data[i] != '\n')
			continue;
		if (gs_buf_add(&c->line, data + start, i - start) < 0)
			return 0;
		if (c->line.len)
			on_event(c, c->line.ptr, c->line.len);
		gs_buf_reset(&c->line);
		start = i + 1;
		if (c->need_relist)
			return 0; /* end this watch: a LIST comes next */
	}
	if (gs_buf_add(&c->line, data + start, n - start) < 0)
		return 0;
	return n;
}

static int start_watch(struct kube_cache *c, struct gs_error *err)
{
	char *base = kube_resource_path(c->res, c->ns, NULL);
	char *sel = c->selector ? curl_easy_escape(NULL, c->selector, 0) : NULL;
	char *erv = curl_easy_escape(NULL, c->rv ? c->rv : "", 0);
	int rc;

	kube_xfer_release(&c->x);
	free(c->path);
	/* the timeout is spread so that many watches do not all end at once */
	c->path = gs_asprintf("%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
			      "&timeoutSeconds=%u%s%s",
			      base, erv, WATCH_TIMEOUT_S + (unsigned)(rand_r(&c->w->rng) % 60),
			      sel ? "&labelSelector=" : "", sel ? sel : "");
	curl_free(sel);
	curl_free(erv);
	free(base);
	kube_xfer_init(&c->x, "GET", c->path, NULL, NULL, 0);
	if (!c->easy)
		c->easy = kube_client_easy_get(c->w->kc);
	if (!c->easy)
		return gs_error_set(err, GS_ERR, "cannot initialise libcurl");
	if ((rc = kube_xfer_setup(c->w->kc, &c->x, c->easy, err)) < 0)
		return rc;
	gs_buf_reset(&c->line);
	c->line.max = LINE_MAX_BYTES;
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_watch_data);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
	/* the client's whole-request timeout would cut the stream: the
	 * server's timeoutSeconds ends it, this only guards a dead peer */
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)(WATCH_TIMEOUT_S + 120) * 1000);
	curl_multi_add_handle(c->w->multi, c->easy);
	c->running = true;
	c->stats.watches++;
	return GS_OK;
}

/* A watch ended: resume, relist or back off. */
static void watch_done(struct kube_cache *c, CURLcode cc)
{
	struct kube_watcher *w = c->w;
	long status = 0;

	curl_multi_remove_handle(w->multi, c->easy);
	c->running = false;
	if (cc == CURLE_OK || cc == CURLE_WRITE_ERROR)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_WRITE_ERROR && c->need_relist) {
		c->next_ms = gs_time_mono() * 1000; /* we stopped it for a relist */
		return;
	}
	if (cc == CURLE_OK && status == 200) {
		/* the server's timeout: resume from the last version at once */
		c->failures = 0;
		c->next_ms = gs_time_mono() * 1000;
		return;
	}
	if (status == 410) {
		c->stats.gone++;
		c->need_relist = true;
		c->next_ms = gs_time_mono() * 1000;
		return;
	}
	if (status == 401 || status == 403) {
		struct kube_response r = { status, c->line };

		kube_status_error(&r, &w->auth_err);
		w->auth_err.code = GS_EAUTH;
		w->auth_failed = true;
	}
	/* dropped, refused, 5xx: the cache is stale until the watch resumes
	 * (from its version, so nothing is missed unless it is too old) */
	c->synced = false;
	c->next_ms = gs_time_mono() * 1000 + backoff(c);
	if (c->failures > 3)
		c->need_relist = true;
}

/* ---- the watcher ---- */

int kube_watcher_new(struct kube_watcher **out, struct kube_client *kc, struct gs_error *err)
{
	struct kube_watcher *w = gs_calloc(1, sizeof(*w));

	w->kc = kc;
	w->multi = curl_multi_init();
	if (!w->multi) {
		free(w);
		return gs_error_set(err, GS_ERR, "cannot initialise libcurl");
	}
	curl_multi_setopt(w->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	pthread_mutex_init(&w->lock, NULL);
	atomic_init(&w->woken, false);
	w->rng = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)w;
	*out = w;
	return GS_OK;
}

static void cache_free(struct kube_cache *c)
{
	size_t i;

	if (c->easy) {
		if (c->running)
			curl_multi_remove_handle(c->w->multi, c->easy);
		curl_easy_cleanup(c->easy); /* not back to the pool: it had a
					     * write callback of ours */
	}
	kube_xfer_release(&c->x);
	for (i = 0; i < c->n; i++)
		free(c->v[i].s);
	free(c->v);
	free(c->slots);
	free(c->rv);
	free(c->ns);
	free(c->selector);
	free(c->path);
	gs_buf_release(&c->line);
	free(c);
}

void kube_watcher_free(struct kube_watcher *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->nc; i++)
		cache_free(w->c[i]);
	free(w->c);
	curl_multi_cleanup(w->multi);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int kube_cache_new(struct kube_cache **out, struct kube_watcher *w,
		   const struct kube_resource *res, const char *ns, const char *selector,
		   kube_cache_fn fn, void *payload, struct gs_error *err)
{
	struct kube_cache *c = gs_calloc(1, sizeof(*c));
	int rc;

	c->w = w;
	c->res = res;
	c->ns = ns && ns[0] ? gs_strdup(ns) : NULL;
	c->selector = selector && selector[0] ? gs_strdup(selector) : NULL;
	c->fn = fn;
	c->payload = payload;
	c->line = (struct gs_buf)GS_BUF_INIT;
	kube_xfer_init(&c->x, "GET", "", NULL, NULL, 0);
	pthread_mutex_lock(&w->lock);
	rc = relist(c, err);
	if (rc == GS_OK) {
		GS_ALLOC_GROW(w->c, w->nc + 1, w->ac);
		w->c[w->nc++] = c;
		c->next_ms = gs_time_mono() * 1000;
	}
	pthread_mutex_unlock(&w->lock);
	if (rc < 0) {
		cache_free(c);
		return rc;
	}
	*out = c;
	return GS_OK;
}

/* Start, resume or relist what is due; *wait_ms: until the next one. */
static void start_due(struct kube_watcher *w, double *wait_ms)
{
	double now = gs_time_mono() * 1000;
	size_t i;

	for (i = 0; i < w->nc; i++) {
		struct kube_cache *c = w->c[i];
		struct gs_error e = GS_ERROR_INIT;

		if (c->running)
			continue;
		if (c->next_ms > now) {
			if (c->next_ms - now < *wait_ms)
				*wait_ms = c->next_ms - now;
			continue;
		}
		if (c->need_relist && relist(c, &e) < 0) {
			if (e.code == GS_EAUTH) {
				w->auth_err = e;
				w->auth_failed = true;
			}
			continue;
		}
		if (start_watch(c, &e) < 0) {
			c->synced = false;
			c->next_ms = now + backoff(c);
		}
	}
}

static void drain(struct kube_watcher *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(w->multi, &left))) {
		void *priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		watch_done(priv, msg->data.result);
	}
}

int kube_watcher_poll(struct kube_watcher *w, int timeout_ms, struct gs_error *err)
{
	double deadline = gs_time_mono() * 1000 + (timeout_ms > 0 ? timeout_ms : 0);
	int still, rc = GS_OK;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		double wait = deadline - gs_time_mono() * 1000;

		start_due(w, &wait);
		curl_multi_perform(w->multi, &still);
		drain(w);
		if (w->auth_failed) {
			w->auth_failed = false;
			*err = w->auth_err;
			rc = GS_EAUTH;
			break;
		}
		if (wait <= 0 || gs_time_mono() * 1000 >= deadline ||
		    atomic_exchange(&w->woken, false))
			break;
		pthread_mutex_unlock(&w->lock);
		curl_multi_poll(w->multi, NULL, 0, (int)wait + 1, NULL);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void kube_watcher_wake(struct kube_watcher *w)
{
	atomic_store(&w->woken, true);
	curl_multi_wakeup(w->multi);
}

/* ---- readers ---- */

unsigned long kube_cache_revision(struct kube_cache *c)
{
	unsigned long r;

	pthread_mutex_lock(&c->w->lock);
	r = c->revision;
	pthread_mutex_unlock(&c->w->lock);
	return r;
}

bool kube_cache_synced(struct kube_cache *c)
{
	bool s;

	pthread_mutex_lock(&c->w->lock);
	s = c->synced && !c->need_relist;
	pthread_mutex_unlock(&c->w->lock);
	return s;
}

size_t kube_cache_len(struct kube_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->w->lock);
	n = c->n;
	pthread_mutex_unlock(&c->w->lock);
	return n;
}

bool kube_cache_lookup(struct kube_cache *c, const char *ns, const char *name,
		       struct kube_cache_entry *out, char *buf, size_t bufsize)
{
	const struct centry *e;
	bool found = false;

	pthread_mutex_lock(&c->w->lock);
	e = find(c, ns ? ns : "", name);
	if (e) {
		size_t u = strlen(e_uid(e)) + 1, r = strlen(e_rv(e)) + 1;

		found = true;
		out->ns = ns ? ns : "";
		out->name = name;
		out->generation = e->generation;
		out->user = e->user;
		out->uid = out->rv = "";
		if (buf && u + r <= bufsize) {
			memcpy(buf, e_uid(e), u);
			memcpy(buf + u, e_rv(e), r);
			out->uid = buf;
			out->rv = buf + u;
		}
	}
	pthread_mutex_unlock(&c->w->lock);
	return found;
}

int kube_cache_foreach(struct kube_cache *c,
		       int (*fn)(const struct kube_cache_entry *e, void *payload), void *payload)
{
	struct kube_cache_entry pub;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&c->w->lock);
	for (i = 0; i < c->n && !rc; i++) {
		to_public(&pub, &c->v[i]);
		rc = fn(&pub, payload);
	}
	pthread_mutex_unlock(&c->w->lock);
	return rc;
}

void kube_cache_stats(struct kube_cache *c, struct kube_cache_stats *out)
{
	pthread_mutex_lock(&c->w->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->w->lock);
}
