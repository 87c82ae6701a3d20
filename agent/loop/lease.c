/* lease.c - Lease-based leader election (see lease.h). */
#include "loop/lease.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "gs-alloc.h"
#include "loop/workq.h"

struct lease {
	struct kube_client *kc;
	struct lease_config cfg;
	char *path, *collection;
	/* what we last observed */
	char *observed_rv;
	char *holder;
	char *acquire_time;
	long long transitions;
	double observed_at; /* monotonic time the record last changed */
	double renewed_at;  /* monotonic time of our last successful write; < 0 never */
};

struct lease *lease_new(struct kube_client *kc, const struct lease_config *cfg)
{
	struct lease *l = gs_calloc(1, sizeof(*l));

	l->kc = kc;
	l->cfg = *cfg;
	if (l->cfg.lease_s <= 0)
		l->cfg.lease_s = 15;
	if (l->cfg.renew_s <= 0)
		l->cfg.renew_s = 10;
	if (l->cfg.retry_s <= 0)
		l->cfg.retry_s = 2;
	l->collection = gs_asprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", cfg->ns);
	l->path = gs_asprintf("%s/%s", l->collection, cfg->name);
	l->holder = gs_strdup("");
	l->renewed_at = -1;
	return l;
}

void lease_free(struct lease *l)
{
	if (!l)
		return;
	free(l->path);
	free(l->collection);
	free(l->observed_rv);
	free(l->holder);
	free(l->acquire_time);
	free(l);
}

const char *lease_holder(const struct lease *l)
{
	return l->holder;
}

bool lease_is_leader(const struct lease *l, double now)
{
	return l->renewed_at >= 0 && now - l->renewed_at < l->cfg.renew_s &&
	       !strcmp(l->holder, l->cfg.identity);
}

double lease_leader_until(const struct lease *l)
{
	if (l->renewed_at < 0 || strcmp(l->holder, l->cfg.identity))
		return -1;
	return l->renewed_at + l->cfg.renew_s;
}

/* MicroTime, as the API server wants it. */
static void micro_time(char *buf, size_t n)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Record what the server holds; the observation clock restarts whenever
 * the record changes (client-go compares the whole record; the
 * resourceVersion changes with any write). */
static void observe(struct lease *l, const cJSON *obj, double now)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const char *rv = jstr(meta, "resourceVersion");
	const char *holder = jstr(spec, "holderIdentity");
	const char *acq = jstr(spec, "acquireTime");
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");

	if (!l->observed_rv || !rv || strcmp(l->observed_rv, rv))
		l->observed_at = now;
	free(l->observed_rv);
	l->observed_rv = rv ? gs_strdup(rv) : NULL;
	free(l->holder);
	l->holder = gs_strdup(holder ? holder : "");
	free(l->acquire_time);
	l->acquire_time = acq ? gs_strdup(acq) : NULL;
	l->transitions = cJSON_IsNumber(tr) ? (long long)tr->valuedouble : 0;
}

static char *lease_body(struct lease *l, const char *holder, bool with_rv, double duration,
			bool new_holder)
{
	cJSON *o = cJSON_CreateObject(), *meta, *spec;
	char now[128], *s, *ret;

	micro_time(now, sizeof(now));
	cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "Lease");
	meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "name", l->cfg.name);
	cJSON_AddStringToObject(meta, "namespace", l->cfg.ns);
	if (with_rv && l->observed_rv)
		cJSON_AddStringToObject(meta, "resourceVersion", l->observed_rv);
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "holderIdentity", holder);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", duration);
	cJSON_AddStringToObject(spec, "acquireTime",
				new_holder || !l->acquire_time ? now : l->acquire_time);
	cJSON_AddStringToObject(spec, "renewTime", now);
	cJSON_AddNumberToObject(spec, "leaseTransitions",
				(double)(l->transitions + (new_holder && *l->holder ? 1 : 0)));
	s = cJSON_PrintUnformatted(o);
	ret = gs_strdup(s);
	cJSON_free(s);
	cJSON_Delete(o);
	return ret;
}

/* Send body with method; on 2xx observe the answer. */
static int write_lease(struct lease *l, const char *method, const char *path, const char *body,
		       double now, struct gs_error *err)
{
	struct kube_response r = KUBE_RESPONSE_INIT;
	cJSON *obj = NULL;
	int rc;

	rc = kube_client_request(l->kc, method, path, "application/json", body, strlen(body), &r,
				 err);
	if (rc)
		goto cleanup;
	if (r.status < 200 || r.status >= 300) {
		rc = kube_status_error(&r, err);
		goto cleanup;
	}
	obj = cJSON_ParseWithLength(r.body.ptr, r.body.len);
	if (obj)
		observe(l, obj, now);
cleanup:
	cJSON_Delete(obj);
	kube_response_release(&r);
	return rc;
}

bool lease_try(struct lease *l, double now, struct gs_error *err)
{
	struct kube_response r = KUBE_RESPONSE_INIT;
	cJSON *obj = NULL;
	const cJSON *dur;
	char *body = NULL;
	double lease_s = l->cfg.lease_s;
	bool mine, held = false;
	int rc;

	rc = kube_client_request(l->kc, "GET", l->path, NULL, NULL, 0, &r, err);
	if (rc)
		goto cleanup;
	if (r.status == 404) {
		/* No Lease yet: create it; a racing candidate gets 409. */
		free(l->observed_rv);
		l->observed_rv = NULL;
		free(l->holder);
		l->holder = gs_strdup("");
		body = lease_body(l, l->cfg.identity, false, lease_s, true);
		if (write_lease(l, "POST", l->collection, body, now, err) == 0) {
			l->renewed_at = now;
			held = true;
		}
		goto cleanup;
	}
	if (r.status != 200) {
		kube_status_error(&r, err);
		goto cleanup;
	}
	obj = cJSON_ParseWithLength(r.body.ptr, r.body.len);
	if (!obj) {
		gs_error_set(err, GS_ERR, "lease %s/%s: malformed answer", l->cfg.ns, l->cfg.name);
		goto cleanup;
	}
	observe(l, obj, now);
	dur = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"),
					       "leaseDurationSeconds");
	if (cJSON_IsNumber(dur) && dur->valuedouble > 0)
		lease_s = dur->valuedouble;
	mine = !strcmp(l->holder, l->cfg.identity);
	/* Someone else holds a lease that is still fresh on our clock. */
	if (!mine && *l->holder && now - l->observed_at < lease_s)
		goto cleanup;
	body = lease_body(l, l->cfg.identity, true, l->cfg.lease_s, !mine);
	if (write_lease(l, "PUT", l->path, body, now, err) == 0 &&
	    !strcmp(l->holder, l->cfg.identity)) {
		l->renewed_at = now;
		held = true;
	}
cleanup:
	if (!held && strcmp(l->holder, l->cfg.identity))
		l->renewed_at = -1;
	free(body);
	cJSON_Delete(obj);
	kube_response_release(&r);
	return held;
}

int lease_release(struct lease *l, struct gs_error *err)
{
	char *body;
	int rc;

	if (strcmp(l->holder, l->cfg.identity) || !l->observed_rv)
		return 0;
	/* client-go's ReleaseOnCancel: empty holder and a 1 s duration. */
	body = lease_body(l, "", true, 1, false);
	rc = write_lease(l, "PUT", l->path, body, workq_now(), err);
	free(body);
	l->renewed_at = -1;
	return rc;
}
