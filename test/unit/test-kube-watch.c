/* test-kube-watch.c - LIST bodies item by item, batches of requests in
 * flight, and LIST+WATCH caches, against the fake API server of
 * fake-apiserver.c with a handler of this test's own (watch streams,
 * failures, requests in flight counted). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake-apiserver.h"
#include "gs-alloc.h"
#include "kube/kube-client.h"
#include "kube/kube-config.h"
#include "kube/kube-private.h"
#include "kube/kube-watch.h"
#include "mf-object.h"
#include "mf-yaml.h"
#include "sync/sync.h"

/* ---- the fake API server ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fake_apiserver *fs;
	/* LIST */
	char *list_items; /* JSON array text */
	char *list_rv;
	unsigned lists;
	/* WATCH: lines to stream, the current watch ends when `end_watch` */
	char *events[64];
	size_t nevents, sent;
	bool end_watch, shutdown;
	unsigned watches;      /* the newest watch gets the events; older ones end */
	char last_watch_query[512];
	/* PATCH (answers the body it got: what a dry-run of it would store) */
	unsigned patches, fail_first, inflight, max_inflight;
	/* GET of one object: name -> JSON */
	char *objs[8][2];
	size_t nobjs;
	unsigned gets;
} fk;

static void put_obj(const char *name, const char *json)
{
	size_t i;

	pthread_mutex_lock(&fk.lock);
	for (i = 0; i < fk.nobjs && strcmp(fk.objs[i][0], name); i++)
		;
	if (i == fk.nobjs) {
		fk.objs[i][0] = gs_strdup(name);
		fk.nobjs++;
	} else {
		free(fk.objs[i][1]);
	}
	fk.objs[i][1] = gs_strdup(json);
	pthread_mutex_unlock(&fk.lock);
}

static void set_list(const char *items, const char *rv)
{
	pthread_mutex_lock(&fk.lock);
	free(fk.list_items);
	free(fk.list_rv);
	fk.list_items = gs_strdup(items);
	fk.list_rv = gs_strdup(rv);
	pthread_mutex_unlock(&fk.lock);
}

static void push_event(const char *line)
{
	pthread_mutex_lock(&fk.lock);
	fk.events[fk.nevents++] = gs_asprintf("%s\n", line);
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct timespec ts;
	ssize_t n = 0;

	unsigned gen = (unsigned)(uintptr_t)cls;

	(void)pos;
	pthread_mutex_lock(&fk.lock);
	while (fk.sent == fk.nevents && !fk.end_watch && !fk.shutdown && gen == fk.watches) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&fk.cond, &fk.lock, &ts);
	}
	if (fk.sent < fk.nevents && !fk.shutdown && gen == fk.watches) {
		const char *line = fk.events[fk.sent];

		n = (ssize_t)strlen(line);
		if ((size_t)n > max)
			n = (ssize_t)max; /* lines are short in this test */
		memcpy(buf, line, (size_t)n);
		fk.sent++;
	} else {
		if (gen == fk.watches)
			fk.end_watch = false;
		n = MHD_CONTENT_READER_END_OF_STREAM;
	}
	pthread_mutex_unlock(&fk.lock);
	return n;
}

static bool handler(struct MHD_Connection *conn, const char *method, const char *url,
		    const char *body, size_t len, enum MHD_Result *ret_out, void *payload)
{
	const char *watch = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "watch");
	enum MHD_Result ret;

	(void)payload;
	(void)len;
	if (!strcmp(method, "PATCH")) {
		const char *name = strrchr(url, '/') + 1;
		unsigned n;
		bool fail;

		pthread_mutex_lock(&fk.lock);
		n = ++fk.patches;
		fail = n <= fk.fail_first;
		if (++fk.inflight > fk.max_inflight)
			fk.max_inflight = fk.inflight;
		pthread_mutex_unlock(&fk.lock);
		usleep(20000); /* long enough for the others to arrive */
		pthread_mutex_lock(&fk.lock);
		fk.inflight--;
		pthread_mutex_unlock(&fk.lock);
		if (fail)
			ret = fake_apiserver_reply(conn, 500, "{\"kind\":\"Status\",\"message\":\"try again\"}");
		else if (!strcmp(name, "bad"))
			ret = fake_apiserver_reply(conn, 422, "{\"kind\":\"Status\",\"code\":422,"
					       "\"message\":\"data: Invalid value\"}");
		else
			ret = fake_apiserver_reply(conn, 200, body);
		*ret_out = ret;
		return true;
	}
	if (!strcmp(url, "/api/v1")) {
		*ret_out = fake_apiserver_reply(conn, 200, "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\","
					"\"resources\":[{\"name\":\"configmaps\",\"namespaced\":true,"
					"\"kind\":\"ConfigMap\",\"verbs\":[\"get\",\"list\",\"watch\","
					"\"patch\",\"delete\",\"create\"]}]}");
		return true;
	}
	if (!watch && strlen(url) > 11 && strcmp(url + strlen(url) - 11, "/configmaps")) {
		const char *name = strrchr(url, '/') + 1;
		char *out = NULL;
		size_t i;

		pthread_mutex_lock(&fk.lock);
		fk.gets++;
		for (i = 0; i < fk.nobjs; i++)
			if (!strcmp(fk.objs[i][0], name))
				out = gs_strdup(fk.objs[i][1]);
		pthread_mutex_unlock(&fk.lock);
		ret = out ? fake_apiserver_reply(conn, 200, out)
			   : fake_apiserver_reply(conn, 404, "{\"kind\":\"Status\",\"code\":404,"
					      "\"message\":\"not found\"}");
		free(out);
		*ret_out = ret;
		return true;
	}
	if (watch) {
		struct MHD_Response *r;
		const char *rv = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
							     "resourceVersion");

		unsigned gen;

		pthread_mutex_lock(&fk.lock);
		gen = ++fk.watches;
		snprintf(fk.last_watch_query, sizeof(fk.last_watch_query), "%s", rv ? rv : "");
		pthread_mutex_unlock(&fk.lock);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, watch_reader,
						      (void *)(uintptr_t)gen, NULL);
		MHD_add_response_header(r, "Content-Type", "application/json");
		ret = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
		*ret_out = ret;
		return true;
	}
	{
		char *out;

		pthread_mutex_lock(&fk.lock);
		fk.lists++;
		out = gs_asprintf("{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":"
				   "{\"resourceVersion\":\"%s\"},\"items\":%s}",
				   fk.list_rv, fk.list_items);
		pthread_mutex_unlock(&fk.lock);
		ret = fake_apiserver_reply(conn, 200, out);
		free(out);
		*ret_out = ret;
		return true;
	}
}

static struct kube_config *cfg;
static struct kube_client *kc;
static char g_empty[] = "", g_v1[] = "v1", g_kind[] = "ConfigMap", g_plural[] = "configmaps";
static struct kube_resource cm_res = { g_empty, g_v1, g_kind, g_plural, true,
				       KUBE_VERB_LIST | KUBE_VERB_WATCH | KUBE_VERB_PATCH };

static int setup(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct kube_client_opts o = { 0 };

	(void)state;
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.lock, NULL);
	pthread_cond_init(&fk.cond, NULL);
	set_list("[]", "1");
	if (!(fk.fs = fake_apiserver_start()))
		return -1;
	fake_apiserver_set_handler(fk.fs, handler, NULL);
	o.max_inflight = 8;
	o.backoff_base_ms = 20;
	if (fake_apiserver_client(fk.fs, &o, &cfg, &kc, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	size_t i;

	(void)state;
	pthread_mutex_lock(&fk.lock);
	fk.shutdown = true;
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
	kube_client_free(kc);
	kube_config_free(cfg);
	fake_apiserver_stop(fk.fs);
	for (i = 0; i < fk.nevents; i++)
		free(fk.events[i]);
	for (i = 0; i < fk.nobjs; i++) {
		free(fk.objs[i][0]);
		free(fk.objs[i][1]);
	}
	free(fk.list_items);
	free(fk.list_rv);
	return 0;
}

/* The handler runs on the server's threads: the test reads and writes
 * what they share under the lock (ThreadSanitizer sees no order through
 * sockets). */
#define FK_LOCKED(stmt)                          \
	do {                                     \
		pthread_mutex_lock(&fk.lock);    \
		stmt;                            \
		pthread_mutex_unlock(&fk.lock);  \
	} while (0)

static unsigned fk_u(const unsigned *p)
{
	unsigned v;

	FK_LOCKED(v = *p);
	return v;
}

static const char *fk_query(void)
{
	static char copy[sizeof(fk.last_watch_query)];

	FK_LOCKED(memcpy(copy, fk.last_watch_query, sizeof(copy)));
	return copy;
}

/* ---- LIST bodies ---- */

struct seen {
	char names[8][32];
	size_t n;
};

static int on_item_text(const char *json, size_t len, void *payload)
{
	struct seen *s = payload;
	cJSON *j = cJSON_ParseWithLength(json, len);
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "metadata"), "name"));

	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", name ? name : "?");
	cJSON_Delete(j);
	return 0;
}

static void test_kube_watch__list_scan_walks_items_one_by_one(void **state)
{
	/* braces, brackets and quotes inside strings; metadata after items */
	static const char body[] =
		"{\"kind\":\"ConfigMapList\",\"items\":[ {\"metadata\":{\"name\":\"a\"},"
		"\"data\":{\"k\":\"}]\\\"{[\",\"e\":\"x\\\\\"}} , {\"metadata\":{\"name\":\"b\"},"
		"\"x\":[1,[2,{}]]}],"
		"\"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"tok\"}}";
	struct gs_error err = GS_ERROR_INIT;
	struct seen s = { .n = 0 };
	char *cont = NULL, *rv = NULL;

	(void)state;
	assert_int_equal(kube_list_scan(body, strlen(body), on_item_text, &s, &cont, &rv, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[0], "a");
	assert_string_equal(s.names[1], "b");
	assert_string_equal(cont, "tok");
	assert_string_equal(rv, "42");
	free(cont);
	free(rv);
	/* an escaped backslash before a closing quote, a stray brace in the
	 * array, a truncated body: errors, never a crash or a loop */
	s.n = 0;
	assert_int_not_equal(kube_list_scan("{\"items\":[}]}", 13, on_item_text, &s, &cont, &rv,
					    &err), 0);
	free(cont);
	free(rv);
	s.n = 0;
	assert_int_not_equal(kube_list_scan(body, 60, on_item_text, &s, &cont, &rv, &err), 0);
	free(cont);
	free(rv);
}

/* ---- batches ---- */

struct result {
	int ok, failed;
	char msg[sizeof(((struct gs_error *)0)->msg)];
};

static int on_done(int rc, struct mf_node *obj, const struct gs_error *e, void *payload)
{
	struct result *r = payload;

	if (rc == GS_OK) {
		assert_non_null(mf_obj_name(obj));
		r->ok++;
	} else {
		r->failed++;
		snprintf(r->msg, sizeof(r->msg), "%s", e->msg);
	}
	mf_node_free(obj);
	return 0;
}

static void test_kube_watch__batch_runs_requests_at_once_and_retries(void **state)
{
	struct kube_batch *b = kube_batch_new(kc);
	struct result res = { 0, 0, "" };
	char *json[40];
	char name[32];
	size_t i;

	(void)state;
	FK_LOCKED(fk.patches = 0);
	FK_LOCKED(fk.max_inflight = 0);
	FK_LOCKED(fk.fail_first = 3); /* 500s: retried */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), i == 39 ? "bad" : "cm-%zu", i);
		json[i] = gs_asprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
				      "\"metadata\":{\"name\":\"%s\",\"namespace\":\"t\"}}", name);
		kube_batch_apply_json(b, &cm_res, "t", name, json[i], strlen(json[i]), "gitsync",
				      KUBE_APPLY_FORCE, on_done, &res);
	}
	assert_int_equal(kube_batch_run(b), 0);
	assert_int_equal(res.ok, 39);
	assert_int_equal(res.failed, 1);
	assert_non_null(strstr(res.msg, "data: Invalid value"));
	assert_int_equal(fk_u(&fk.patches), 43);           /* 40 + 3 retried */
	assert_true(fk_u(&fk.max_inflight) > 1);           /* they overlapped */
	assert_true(fk_u(&fk.max_inflight) <= 8);          /* within max_inflight */
	assert_int_equal(kube_client_stats(kc)->retries, 3);
	for (i = 0; i < 40; i++)
		free(json[i]);
	kube_batch_free(b);
	FK_LOCKED(fk.fail_first = 0);
}

static int stop_at_first_failure(int rc, struct mf_node *obj, const struct gs_error *e,
				 void *payload)
{
	int *calls = payload;

	(void)e;
	(*calls)++;
	mf_node_free(obj);
	return rc < 0 ? 1 : 0;
}

static void test_kube_watch__batch_stops_starting_after_a_failure(void **state)
{
	struct kube_batch *b = kube_batch_new(kc);
	const char *json = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}";
	char name[32];
	int calls = 0;
	size_t i;

	(void)state;
	FK_LOCKED(fk.patches = 0);
	kube_batch_apply_json(b, &cm_res, "t", "bad", json, strlen(json), "gitsync", 0,
			      stop_at_first_failure, &calls);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "later-%zu", i);
		kube_batch_apply_json(b, &cm_res, "t", name, json, strlen(json), "gitsync", 0,
				      stop_at_first_failure, &calls);
	}
	assert_int_equal(kube_batch_run(b), 1);
	/* the first wave was in flight; nothing after it started */
	assert_true(calls < 200);
	assert_int_equal((unsigned)calls, fk_u(&fk.patches));
	kube_batch_free(b);
}

/* ---- caches ---- */

struct events {
	int added, modified, deleted, deleted_null;
};

static uint64_t on_event(enum kube_event ev, const struct mf_node *obj,
			 const struct kube_cache_entry *prev, void *payload)
{
	struct events *e = payload;

	switch (ev) {
	case KUBE_EVENT_ADDED:
		e->added++;
		assert_null(prev);
		break;
	case KUBE_EVENT_MODIFIED:
		e->modified++;
		assert_non_null(prev);
		break;
	case KUBE_EVENT_DELETED:
		e->deleted++;
		e->deleted_null += !obj;
		break;
	}
	/* what the owner keeps: here the length of the name */
	return obj ? strlen(mf_obj_name(obj)) : 0;
}

#define CM(name, rv) "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"t\",\"uid\":\"u-" name \
		     "\",\"resourceVersion\":\"" rv "\"}}"
#define EV(type, name, rv) "{\"type\":\"" type "\",\"object\":{\"apiVersion\":\"v1\",\"kind\":" \
			   "\"ConfigMap\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"t\"," \
			   "\"uid\":\"u-" name "\",\"resourceVersion\":\"" rv "\"}}}"

/* Poll until cond holds (the watch is asynchronous); bounded. */
#define POLL_UNTIL(w, cond)                                                   \
	do {                                                                  \
		struct gs_error pe = GS_ERROR_INIT;                           \
		int tries_;                                                   \
		for (tries_ = 0; tries_ < 400 && !(cond); tries_++)           \
			assert_int_equal(kube_watcher_poll(w, 50, &pe), 0);   \
		assert_true(cond);                                            \
	} while (0)

static void test_kube_watch__cache_follows_watch_and_relists_on_410(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct kube_watcher *w = NULL;
	struct kube_cache *c = NULL;
	struct kube_cache_entry e;
	struct kube_cache_stats st;
	struct events ev = { 0, 0, 0, 0 };
	unsigned long rev0;
	char buf[128];

	(void)state;
	set_list("[" CM("a", "5") "," CM("bb", "6") "]", "10");
	assert_int_equal(kube_watcher_new(&w, kc, &err), 0);
	assert_int_equal(kube_cache_new(&c, w, &cm_res, "t", "gitsync.io/app=x", on_event, &ev,
					&err), 0);
	assert_int_equal(ev.added, 2);
	assert_int_equal(kube_cache_len(c), 2);
	assert_true(kube_cache_synced(c));
	assert_true(kube_cache_lookup(c, "t", "bb", &e, buf, sizeof(buf)));
	assert_string_equal(e.rv, "6");
	assert_int_equal(e.user, 2);
	rev0 = kube_cache_revision(c);

	/* the watch starts from the list's version and applies events */
	push_event(EV("MODIFIED", "a", "11"));
	push_event(EV("ADDED", "ccc", "12"));
	push_event(EV("DELETED", "bb", "13"));
	push_event("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":"
		   "{\"resourceVersion\":\"14\"}}}");
	POLL_UNTIL(w, kube_cache_revision(c) == rev0 + 3);
	assert_string_equal(fk_query(), "10");
	assert_int_equal(ev.modified, 1);
	assert_int_equal(ev.added, 3);
	assert_int_equal(ev.deleted, 1);
	assert_int_equal(kube_cache_len(c), 2);
	assert_true(kube_cache_lookup(c, "t", "a", &e, buf, sizeof(buf)));
	assert_string_equal(e.rv, "11");
	assert_false(kube_cache_lookup(c, "t", "bb", &e, buf, sizeof(buf)));
	assert_true(kube_cache_lookup(c, "t", "ccc", &e, buf, sizeof(buf)));
	assert_int_equal(e.user, 3);

	/* the server ends the watch: it resumes from the newest version */
	pthread_mutex_lock(&fk.lock);
	fk.end_watch = true;
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
	POLL_UNTIL(w, fk_u(&fk.watches) >= 2);
	assert_string_equal(fk_query(), "14");
	kube_cache_stats(c, &st);
	assert_int_equal(st.lists, 1);

	/* 410 Gone: list again; what vanished meanwhile is reported deleted */
	set_list("[" CM("a", "11") "," CM("dddd", "20") "]", "21");
	push_event("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
		   "\"reason\":\"Expired\",\"message\":\"too old resource version\"}}");
	POLL_UNTIL(w, fk_u(&fk.watches) >= 3);
	kube_cache_stats(c, &st);
	assert_int_equal(st.gone, 1);
	assert_int_equal(st.lists, 2);
	assert_true(kube_cache_synced(c));
	assert_string_equal(fk_query(), "21");
	assert_int_equal(kube_cache_len(c), 2);
	assert_false(kube_cache_lookup(c, "t", "ccc", &e, buf, sizeof(buf)));
	assert_true(kube_cache_lookup(c, "t", "dddd", &e, buf, sizeof(buf)));
	assert_int_equal(ev.deleted, 2);
	assert_int_equal(ev.deleted_null, 1); /* known only from the relist */
	assert_int_equal(ev.modified, 1);     /* "a" unchanged: no event */

	pthread_mutex_lock(&fk.lock);
	fk.end_watch = true;
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
	kube_watcher_free(w);
}

/* ---- the sync engine on a warm cache ---- */

#define LIVE(name, rv, val) "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":" \
	"{\"name\":\"" name "\",\"namespace\":\"t\",\"uid\":\"u-" name "\",\"resourceVersion\":\"" \
	rv "\",\"labels\":{\"gitsync.io/app\":\"x\"},\"annotations\":{\"gitsync.io/tracking-id\":" \
	"\"x:/ConfigMap:t/" name "\"}},\"data\":{\"k\":\"" val "\"}}"

static struct kube_cache *the_cache;

static struct kube_cache *lookup_cache(const struct kube_resource *res, bool needed,
				       void *payload)
{
	(void)needed;
	(void)payload;
	return !strcmp(res->kind, "ConfigMap") ? the_cache : NULL;
}

static const struct sync_resource *row(const struct sync_report *rep, const char *name)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (!strcmp(rep->v[i].name, name))
			return &rep->v[i];
	fail_msg("no row for %s", name);
	return NULL;
}

static void test_kube_watch__sync_decides_from_cache_without_requests(void **state)
{
	static const char *desired_yaml =
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: t}\n"
		"data: {k: v}\n---\n"
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: t}\n"
		"data: {k: v}\n";
	struct gs_error err = GS_ERROR_INIT;
	struct kube_watcher *w = NULL;
	struct mf_docs docs = MF_DOCS_INIT;
	struct sync_engine *se = sync_engine_new(kc);
	struct sync_report rep = SYNC_REPORT_INIT;
	struct sync_options so;
	unsigned long rev;

	(void)state;
	set_list("[" LIVE("a", "5", "v") "," LIVE("b", "6", "v") "]", "30");
	put_obj("a", LIVE("a", "5", "v"));
	put_obj("b", LIVE("b", "6", "v"));
	assert_int_equal(kube_watcher_new(&w, kc, &err), 0);
	assert_int_equal(kube_cache_new(&the_cache, w, &cm_res, NULL, "gitsync.io/app=x",
					sync_cache_fn, NULL, &err), 0);
	assert_int_equal(mf_yaml_parse(&docs, desired_yaml, strlen(desired_yaml), "d.yaml", NULL,
				       &err), 0);
	memset(&so, 0, sizeof(so));
	so.app = "x";
	so.ns = "t";
	so.live_cache = lookup_cache;

	/* first comparison: the memo is empty, each object is fetched (and
	 * dry-run when the local check cannot decide) */
	FK_LOCKED(fk.gets = fk.patches = 0);
	assert_int_equal(sync_compare(se, &rep, docs.docs, docs.n, &so, &err), 0);
	assert_int_equal(row(&rep, "a")->status, SYNC_STATUS_SYNCED);
	assert_int_equal(row(&rep, "b")->status, SYNC_STATUS_SYNCED);
	assert_int_equal(fk_u(&fk.gets), 2);
	assert_true(fk_u(&fk.patches) <= 2);
	sync_report_release(&rep);

	/* nothing moved: decided without a single request */
	assert_int_equal(sync_compare(se, &rep, docs.docs, docs.n, &so, &err), 0);
	assert_int_equal(rep.requests, 0);
	assert_int_equal(row(&rep, "a")->status, SYNC_STATUS_SYNCED);
	assert_int_equal(row(&rep, "b")->status, SYNC_STATUS_SYNCED);
	assert_int_equal(row(&rep, "b")->health, SYNC_HEALTH_NONE);
	sync_report_release(&rep);

	/* a hand edit of "a" and a stray object of ours arrive by the watch:
	 * only those two are fetched */
	rev = kube_cache_revision(the_cache);
	put_obj("a", LIVE("a", "31", "by-hand"));
	put_obj("stray", LIVE("stray", "32", "v"));
	push_event("{\"type\":\"MODIFIED\",\"object\":" LIVE("a", "31", "by-hand") "}");
	push_event("{\"type\":\"ADDED\",\"object\":" LIVE("stray", "32", "v") "}");
	POLL_UNTIL(w, kube_cache_revision(the_cache) == rev + 2);
	FK_LOCKED(fk.gets = fk.patches = 0);
	assert_int_equal(sync_compare(se, &rep, docs.docs, docs.n, &so, &err), 0);
	assert_int_equal(row(&rep, "a")->status, SYNC_STATUS_OUT_OF_SYNC);
	assert_int_equal(row(&rep, "b")->status, SYNC_STATUS_SYNCED);
	assert_int_equal(row(&rep, "stray")->status, SYNC_STATUS_PRUNE);
	assert_int_equal(fk_u(&fk.gets), 2);    /* a and stray */
	assert_int_equal(fk_u(&fk.patches), 1); /* a's dry-run */
	sync_report_release(&rep);

	pthread_mutex_lock(&fk.lock);
	fk.end_watch = true;
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
	mf_docs_release(&docs);
	sync_engine_free(se);
	kube_watcher_free(w);
}

static void *wake_later(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	kube_watcher_wake(arg);
	return NULL;
}

/* A poll asked to run for a minute ends when another thread wakes the
 * watcher (agent_live_cache: a kind to watch now, not at the next turn),
 * and a wake sent while no poll runs ends the next one at once.  The bound
 * is only there so that a wake that does nothing fails instead of waiting
 * for meson's timeout. */
static void test_kube_watch__wake_ends_a_poll_from_another_thread(void **state)
{
	struct gs_error err = GS_ERROR_INIT;
	struct kube_watcher *w = NULL;
	pthread_t t;
	time_t t0;

	(void)state;
	assert_int_equal(kube_watcher_new(&w, kc, &err), 0);
	t0 = time(NULL);
	assert_int_equal(pthread_create(&t, NULL, wake_later, w), 0);
	assert_int_equal(kube_watcher_poll(w, 60000, &err), 0);
	pthread_join(t, NULL);
	assert_true(time(NULL) - t0 < 30);
	kube_watcher_wake(w);
	t0 = time(NULL);
	assert_int_equal(kube_watcher_poll(w, 60000, &err), 0);
	assert_true(time(NULL) - t0 < 30);
	kube_watcher_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_watch__list_scan_walks_items_one_by_one),
		cmocka_unit_test(test_kube_watch__batch_runs_requests_at_once_and_retries),
		cmocka_unit_test(test_kube_watch__batch_stops_starting_after_a_failure),
		cmocka_unit_test(test_kube_watch__cache_follows_watch_and_relists_on_410),
		cmocka_unit_test(test_kube_watch__sync_decides_from_cache_without_requests),
		cmocka_unit_test(test_kube_watch__wake_ends_a_poll_from_another_thread),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
