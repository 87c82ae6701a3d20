/* kube-batch.c - many requests in flight on the client's multi handle.
 *
 * Requests start in the order queued, at most max_inflight at once (HTTP/2
 * streams, or HTTP/1.1 connections through a proxy), each taking a token
 * from the client's rate limiter when it starts and when it is retried.  A
 * request to retry waits its backoff outside the multi handle, so the others
 * keep going.  The per-request state (URL, headers, body) exists only while
 * a request runs: a batch of thousands of applies holds a few dozen bodies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gs-time.h"
#include "gs-alloc.h"
#include "kube/kube-client.h"
#include "kube/kube-private.h"
#include "mf-json.h"
#include "mf-object.h"

enum item_kind { ITEM_APPLY, ITEM_GET };

struct item {
	enum item_kind kind;
	const struct kube_resource *res;
	const struct mf_node *obj; /* APPLY: borrowed, or NULL with json */
	const char *json;          /* APPLY: borrowed */
	size_t json_len;
	char *ns, *name;           /* GET, APPLY with json */
	char *manager;
	unsigned flags;
	kube_batch_fn fn;
	void *payload;
	/* while it runs */
	char *path;
	struct gs_buf body;
	struct kube_xfer *x;
	CURL *easy;
	double not_before;         /* waiting for a retry until then */
};

struct kube_batch {
	struct kube_client *kc;
	struct item **q;           /* queued, in order */
	size_t nq, aq, next;       /* next: first item never started */
	size_t *wait;              /* indexes of items waiting for a retry */
	size_t nwait, await;
	size_t running;            /* on the multi handle */
	int stop;                  /* first non-zero callback return */
};

struct kube_batch *kube_batch_new(struct kube_client *kc)
{
	struct kube_batch *b = gs_calloc(1, sizeof(*b));

	b->kc = kc;
	return b;
}

static void item_free(struct kube_batch *b, struct item *it)
{
	if (!it)
		return;
	if (it->easy)
		kube_client_easy_put(b->kc, it->easy);
	if (it->x) {
		kube_xfer_release(it->x);
		free(it->x);
	}
	gs_buf_release(&it->body);
	free(it->path);
	free(it->ns);
	free(it->name);
	free(it->manager);
	free(it);
}

static void batch_clear(struct kube_batch *b)
{
	CURLM *m = kube_client_multi(b->kc);
	size_t i;

	for (i = 0; i < b->nq; i++) {
		if (b->q[i] && b->q[i]->easy && m)
			curl_multi_remove_handle(m, b->q[i]->easy);
		item_free(b, b->q[i]);
	}
	b->nq = b->next = b->nwait = b->running = 0;
	b->stop = 0;
}

void kube_batch_free(struct kube_batch *b)
{
	if (!b)
		return;
	batch_clear(b);
	free(b->q);
	free(b->wait);
	free(b);
}

static struct item *queue(struct kube_batch *b, enum item_kind kind,
			  const struct kube_resource *res, kube_batch_fn fn, void *payload)
{
	struct item *it = gs_calloc(1, sizeof(*it));

	it->kind = kind;
	it->res = res;
	it->fn = fn;
	it->payload = payload;
	it->body = (struct gs_buf)GS_BUF_INIT;
	GS_ALLOC_GROW(b->q, b->nq + 1, b->aq);
	b->q[b->nq++] = it;
	return it;
}

void kube_batch_apply_json(struct kube_batch *b, const struct kube_resource *res,
			   const char *ns, const char *name, const char *json, size_t len,
			   const char *manager, unsigned flags, kube_batch_fn fn, void *payload)
{
	struct item *it = queue(b, ITEM_APPLY, res, fn, payload);

	it->ns = gs_strdup(ns ? ns : "");
	it->name = gs_strdup(name);
	it->json = json;
	it->json_len = len;
	it->manager = gs_strdup(manager ? manager : "gitsync");
	it->flags = flags;
}

/* The synchronous apply, for the kinds v1.20 cannot server-side apply. */
static int apply_in_line(struct kube_client *kc, struct mf_node **out, const struct item *it,
			 struct gs_error *err)
{
	struct mf_node *obj = NULL;
	int rc;

	if (it->obj)
		return kube_client_apply(kc, out, it->res, it->obj, it->manager, it->flags, err);
	if ((rc = mf_json_parse(&obj, it->json, it->json_len, "", err)) < 0)
		return rc;
	rc = kube_client_apply(kc, out, it->res, obj, it->manager, it->flags, err);
	mf_node_free(obj);
	return rc;
}

void kube_batch_get(struct kube_batch *b, const struct kube_resource *res, const char *ns,
		    const char *name, kube_batch_fn fn, void *payload)
{
	struct item *it = queue(b, ITEM_GET, res, fn, payload);

	it->ns = gs_strdup(ns ? ns : "");
	it->name = gs_strdup(name);
}

static void call(struct kube_batch *b, struct item *it, int rc, struct mf_node *obj,
		 const struct gs_error *e)
{
	int ret = 0;

	if (it->fn)
		ret = it->fn(rc, obj, e, it->payload);
	else
		mf_node_free(obj);
	if (ret && !b->stop)
		b->stop = ret;
}

/* The request is over: hand its result to the callback, free its state. */
static void complete(struct kube_batch *b, size_t qi, int rc, struct gs_error *e)
{
	struct item *it = b->q[qi];
	struct mf_node *obj = NULL;
	char idb[512];

	if (rc == GS_OK) {
		const struct kube_response *r = &it->x->resp;
		const char *ns = it->obj ? mf_obj_namespace(it->obj) : it->ns;
		const char *name = it->obj ? mf_obj_name(it->obj) : it->name;

		if (r->status != 200 && r->status != 201) {
			rc = kube_status_error(r, e);
			gs_error_where(e, "%s", kube_obj_id(it->res, ns, name, idb, sizeof(idb)));
		} else {
			rc = kube_parse_object(&obj, r, e);
		}
	}
	b->q[qi] = NULL;
	/* free the request's memory before the callback adds its own */
	if (it->easy) {
		kube_client_easy_put(b->kc, it->easy);
		it->easy = NULL;
	}
	kube_xfer_release(it->x);
	free(it->x);
	it->x = NULL;
	gs_buf_release(&it->body);
	call(b, it, rc, obj, rc ? e : NULL);
	item_free(b, it);
}

/* Start (or restart after a backoff) item qi.  false when it completed at
 * once (an error before sending, or a synchronous fallback). */
static bool start(struct kube_batch *b, CURLM *m, size_t qi)
{
	struct item *it = b->q[qi];
	struct gs_error e = GS_ERROR_INIT;
	int rc;

	if (!it->x) {
		struct kube_client_stats *st = kube_client_stats_mut(b->kc);

		if (it->kind == ITEM_APPLY && kube_ssa_broken(it->res)) {
			/* GET + PUT/POST: rare (APIServices), done in line */
			struct mf_node *out = NULL;

			b->q[qi] = NULL;
			rc = apply_in_line(b->kc, &out, it, &e);
			call(b, it, rc, out, rc ? &e : NULL);
			item_free(b, it);
			return false;
		}
		it->x = gs_calloc(1, sizeof(*it->x));
		if (it->kind == ITEM_APPLY && it->json) {
			it->path = kube_apply_path(it->res, it->ns, it->name, it->manager,
						   it->flags);
			kube_xfer_init(it->x, "PATCH", it->path, "application/apply-patch+yaml",
				       it->json, it->json_len);
			st->patch++;
		} else if (it->kind == ITEM_APPLY) {
			kube_apply_request(&it->path, &it->body, it->res, it->obj, it->manager,
					   it->flags);
			kube_xfer_init(it->x, "PATCH", it->path, "application/apply-patch+yaml",
				       it->body.ptr, it->body.len);
			st->patch++;
		} else {
			it->path = kube_resource_path(it->res, it->ns, it->name);
			kube_xfer_init(it->x, "GET", it->path, NULL, NULL, 0);
			st->get++;
		}
	}
	if (!it->easy)
		it->easy = kube_client_easy_get(b->kc);
	if (!it->easy) {
		gs_error_set(&e, GS_ERR, "cannot initialise libcurl");
		complete(b, qi, GS_ERR, &e);
		return false;
	}
	if ((rc = kube_xfer_setup(b->kc, it->x, it->easy, &e)) < 0) {
		complete(b, qi, rc, &e);
		return false;
	}
	/* CURLOPT_PRIVATE points at the xfer; find the item by index */
	curl_easy_setopt(it->easy, CURLOPT_PRIVATE, (void *)(uintptr_t)qi);
	curl_multi_add_handle(m, it->easy);
	b->running++;
	return true;
}

/* Start what may start now; *wake_ms: when to look again at the latest. */
static void start_ready(struct kube_batch *b, CURLM *m, double *wake_ms)
{
	size_t max = kube_client_max_inflight(b->kc), i, j;
	double now = gs_time_mono() * 1000, wait;

	/* retries first: they were started before anything still queued */
	for (i = 0, j = 0; i < b->nwait; i++) {
		size_t qi = b->wait[i];
		struct item *it = b->q[qi];

		if (it->not_before > now || b->running >= max) {
			if (it->not_before > now && it->not_before - now < *wake_ms)
				*wake_ms = it->not_before - now;
			b->wait[j++] = b->wait[i];
			continue;
		}
		if (!kube_client_rate_take(b->kc, &wait)) {
			if (wait < *wake_ms)
				*wake_ms = wait;
			b->wait[j++] = b->wait[i];
			continue;
		}
		start(b, m, qi);
	}
	b->nwait = j;
	while (!b->stop && b->next < b->nq && b->running < max) {
		if (!kube_client_rate_take(b->kc, &wait)) {
			if (wait < *wake_ms)
				*wake_ms = wait;
			break;
		}
		start(b, m, b->next++);
	}
}

/* Collect finished transfers; returns how many. */
static size_t drain(struct kube_batch *b, CURLM *m)
{
	CURLMsg *msg;
	int left;
	size_t n = 0;

	while ((msg = curl_multi_info_read(m, &left))) {
		struct gs_error e = GS_ERROR_INIT;
		void *priv = NULL;
		size_t qi;
		struct item *it;
		double delay;
		int rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		qi = (size_t)(uintptr_t)priv;
		it = b->q[qi];
		curl_multi_remove_handle(m, it->easy);
		b->running--;
		n++;
		if (kube_xfer_finish(b->kc, it->x, it->easy, msg->data.result, &delay, &rc, &e) ==
		    KUBE_XFER_DONE) {
			complete(b, qi, rc, &e);
			continue;
		}
		it->not_before = gs_time_mono() * 1000 + delay;
		GS_ALLOC_GROW(b->wait, b->nwait + 1, b->await);
		b->wait[b->nwait++] = qi;
	}
	return n;
}

/* Without a multi handle: one request after the other. */
static int run_serial(struct kube_batch *b)
{
	size_t qi;

	for (qi = 0; qi < b->nq && !b->stop; qi++) {
		struct item *it = b->q[qi];
		struct gs_error e = GS_ERROR_INIT;
		struct mf_node *out = NULL;
		int rc;

		b->q[qi] = NULL;
		if (it->kind == ITEM_APPLY)
			rc = apply_in_line(b->kc, &out, it, &e);
		else
			rc = kube_client_get(b->kc, &out, it->res, it->ns, it->name, &e);
		call(b, it, rc, out, rc ? &e : NULL);
		item_free(b, it);
	}
	return b->stop;
}

int kube_batch_run(struct kube_batch *b)
{
	CURLM *m = kube_client_multi(b->kc);
	int ret, still;

	if (!m) {
		ret = run_serial(b);
		batch_clear(b);
		return ret;
	}
	for (;;) {
		double wake = 1000;

		start_ready(b, m, &wake);
		if (!b->running && !b->nwait && (b->stop || b->next == b->nq))
			break;
		curl_multi_perform(m, &still);
		if (drain(b, m))
			continue;
		if (wake < 1)
			wake = 1;
		curl_multi_poll(m, NULL, 0, (int)wake, NULL);
	}
	ret = b->stop;
	batch_clear(b);
	return ret;
}
