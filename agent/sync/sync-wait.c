/* sync-wait.c - waits: health of a wave (or of the whole app), CRDs
 * Established before their custom resources are resolved and dry-run. */
#include "sync/sync-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs-alloc.h"
#include "gs-time.h"
#include "mf-object.h"

struct health_ctx {
	struct run *run;
	bool changed;
};

static int on_health_item(const struct mf_node *item, void *payload)
{
	struct health_ctx *hc = payload;
	struct run *run = hc->run;
	struct mf_id id = MF_ID_INIT;
	char *key;
	size_t *ti;

	mf_id_from_object(&id, item);
	key = sync_key(id.group, id.kind, id.ns, id.name);
	ti = gs_strmap_get(&run->idx, key);
	if (ti) {
		struct sync_resource *r = &run->rep->v[run->t[*ti].ri];
		enum sync_health before = r->health;

		sync_set_health(run, run->t[*ti].ri, item);
		if (r->health != before) {
			hc->changed = true;
			sync_progress(run, run->t[*ti].ri);
		}
	}
	free(key);
	mf_id_release(&id);
	return 0;
}

static int refresh_health(struct run *run, const bool *which, struct gs_error *err)
{
	struct health_ctx hc = { run, false };
	const struct kube_resource **done = NULL;
	size_t ndone = 0, adone = 0, i, j;
	char *sel = gs_asprintf("%s=%s", SYNC_LABEL_APP, run->opts->app);
	int rc = GS_OK;

	for (i = 0; i < run->nt && rc == GS_OK; i++) {
		const struct kube_resource *res = run->t[i].res;
		bool seen = false;

		if (!which[i] || !res)
			continue;
		for (j = 0; j < ndone; j++)
			seen |= done[j] == res;
		if (seen)
			continue;
		GS_ALLOC_GROW(done, ndone + 1, adone);
		done[ndone++] = res;
		rc = kube_client_list(run->kc, res, NULL, sel, on_health_item, &hc, NULL, err);
	}
	free(done);
	free(sel);
	return rc;
}

static bool settled(enum sync_health h)
{
	return h == SYNC_HEALTH_NONE || h == SYNC_HEALTH_HEALTHY || h == SYNC_HEALTH_SUSPENDED;
}

/* Wait until every target in `which` is healthy; GS_OK with *ok false on
 * timeout or when a hook/object turns Degraded and fail_degraded. */
int sync_wait_healthy(struct run *run, const bool *which, double timeout_s, bool fail_degraded,
			bool *ok, struct gs_error *err)
{
	double deadline = gs_time_mono() + timeout_s;
	size_t i;
	int rc;

	*ok = false;
	for (;;) {
		bool all = true, degraded = false;

		for (i = 0; i < run->nt; i++) {
			enum sync_health h = run->rep->v[run->t[i].ri].health;

			if (!which[i])
				continue;
			if (!settled(h))
				all = false;
			if (h == SYNC_HEALTH_DEGRADED)
				degraded = true;
		}
		if (all) {
			*ok = true;
			return GS_OK;
		}
		if ((degraded && fail_degraded) || gs_time_mono() >= deadline)
			return GS_OK;
		if (run->opts->cancelled && run->opts->cancelled(run->opts->cancel_payload)) {
			run->terminated = true;
			return GS_OK;
		}
		sync_sleep_ms(POLL_MS);
		if ((rc = refresh_health(run, which, err)) < 0)
			return rc;
	}
}

void sync_unhealthy_message(struct run *run, const bool *which, const char *what)
{
	struct gs_buf b = GS_BUF_INIT;
	size_t i, shown = 0;

	gs_buf_printf(&b, "%s", what);
	for (i = 0; i < run->nt; i++) {
		const struct sync_resource *r = &run->rep->v[run->t[i].ri];

		if (!which[i] || settled(r->health))
			continue;
		if (shown++ < 5)
			gs_buf_printf(&b, "%s %s %s%s%s is %s%s%s", shown > 1 ? ";" : ":", r->kind,
				      r->ns, r->ns[0] ? "/" : "", r->name,
				      sync_health_str(r->health), r->health_msg ? ": " : "",
				      r->health_msg ? r->health_msg : "");
	}
	if (shown > 5)
		gs_buf_printf(&b, "; and %zu more", shown - 5);
	free(run->rep->message);
	run->rep->message = gs_buf_detach(&b, NULL);
}

/* After a CRD is applied: wait Established, then resolve and dry-run the
 * custom resources of its kind. */
int sync_crd_established(struct run *run, struct target *crd, struct gs_error *err)
{
	const char *group = mf_node_dig_str(crd->obj, "spec", "group", NULL);
	const char *kind = mf_node_dig_str(crd->obj, "spec", "names", "kind", NULL);
	double deadline = gs_time_mono() + CRD_WAIT_S;
	struct sync_resource *cr = &run->rep->v[crd->ri];
	size_t i;
	int rc;

	while (cr->health != SYNC_HEALTH_HEALTHY) {
		struct mf_node *live = NULL;
		struct gs_error e = GS_ERROR_INIT;

		if (gs_time_mono() >= deadline) {
			e.code = GS_ERR;
			snprintf(e.msg, sizeof(e.msg), "CRD not Established after %.0f s",
				 CRD_WAIT_S);
			sync_fail_target(run, crd, &e);
			return GS_OK;
		}
		sync_sleep_ms(200);
		rc = kube_client_get(run->kc, &live, crd->res, "", cr->name, &e);
		if (rc < 0 && rc != GS_ENOTFOUND) {
			*err = e;
			return rc;
		}
		sync_set_health(run, crd->ri, live);
		mf_node_free(live);
	}
	sync_progress(run, crd->ri);
	if (!group || !kind)
		return GS_OK;
	kube_client_invalidate(run->kc, group, NULL);
	for (i = 0; i < run->nt; i++) {
		struct target *t = &run->t[i];
		struct sync_resource *r = &run->rep->v[t->ri];
		struct gs_error e = GS_ERROR_INIT;

		if (!t->deferred || strcmp(r->group, group) || strcmp(r->kind, kind))
			continue;
		t->deferred = false;
		rc = kube_client_resource(run->kc, &t->res, r->group, r->version, r->kind, &e);
		/* the server's discovery can lag a moment behind Established */
		while (rc == GS_ENOTFOUND && gs_time_mono() < deadline) {
			sync_sleep_ms(200);
			kube_client_invalidate(run->kc, group, NULL);
			gs_error_clear(&e);
			rc = kube_client_resource(run->kc, &t->res, r->group, r->version, r->kind,
						  &e);
		}
		if (rc == GS_ENET || rc == GS_EAUTH) {
			*err = e;
			return rc;
		}
		if (rc < 0) {
			sync_fail_target(run, t, &e);
			continue;
		}
		/* namespaced CRs without a namespace get the destination */
		if (t->res->namespaced && !mf_obj_namespace(t->obj)) {
			mf_obj_set_namespace(t->obj, run->opts->ns && run->opts->ns[0]
							     ? run->opts->ns
							     : "default");
			sync_target_set_json(t, t->obj);
			free(r->ns);
			r->ns = gs_strdup(mf_obj_namespace(t->obj));
		}
		sync_queue_dry_run(run, t);
	}
	return sync_run_batch(run, err);
}
